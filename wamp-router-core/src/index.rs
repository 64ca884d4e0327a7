//! URI indexes shared by the broker and the dealer: exact map, prefix map (with the set of
//! prefix lengths in use) and a wildcard trie. No lookup scans all entries.

use std::collections::BTreeMap;

use foldhash::fast::FixedState;
use wamp_proto::{MatchPolicy, Uri};

/// A hash map whose hasher is seeded from the router's entropy (keys come from peers). Never
/// iterated where the order could be observed.
pub(crate) type FastMap<K, V> = hashbrown::HashMap<K, V, FixedState>;

/// The per-router hash seed.
#[derive(Clone, Copy, Debug)]
pub(crate) struct HashSeed(pub(crate) u64);

impl HashSeed {
    pub(crate) fn map<K, V>(self) -> FastMap<K, V> {
        FastMap::with_hasher(FixedState::with_seed(self.0))
    }
}

/// Shrinks a map that became mostly empty, so that memory follows the live entries.
pub(crate) fn maybe_shrink<K: std::hash::Hash + Eq, V>(m: &mut FastMap<K, V>) {
    if m.capacity() > 64 && m.len() * 4 < m.capacity() {
        m.shrink_to(m.len() * 2);
    }
}

/// One node of the wildcard trie (arena-allocated; iterative algorithms only, so that a URI
/// with very many components cannot exhaust the stack).
#[derive(Debug)]
struct WildNode<V> {
    parent: u32,
    /// The component leading here from the parent; `None` for the wildcard edge.
    edge: Option<Box<str>>,
    children: FastMap<Box<str>, u32>,
    any: Option<u32>,
    value: Option<V>,
}

/// An index from URI patterns (exact, prefix, wildcard) to values.
#[derive(Debug)]
pub(crate) struct UriIndex<V> {
    seed: HashSeed,
    exact: FastMap<Uri, V>,
    prefix: FastMap<Uri, V>,
    /// Prefix length (bytes) -> number of prefix patterns of that length.
    prefix_lens: BTreeMap<usize, usize>,
    nodes: Vec<Option<WildNode<V>>>,
    free_nodes: Vec<u32>,
    wildcards: usize,
}

const ROOT: u32 = 0;

impl<V: Copy> UriIndex<V> {
    pub(crate) fn new(seed: HashSeed) -> Self {
        UriIndex {
            seed,
            exact: seed.map(),
            prefix: seed.map(),
            prefix_lens: BTreeMap::new(),
            nodes: vec![Some(WildNode {
                parent: ROOT,
                edge: None,
                children: seed.map(),
                any: None,
                value: None,
            })],
            free_nodes: Vec::new(),
            wildcards: 0,
        }
    }

    /// Number of patterns.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.exact.len() + self.prefix.len() + self.wildcards
    }

    fn node(&self, i: u32) -> Option<&WildNode<V>> {
        self.nodes.get(i as usize).and_then(Option::as_ref)
    }

    fn node_mut(&mut self, i: u32) -> Option<&mut WildNode<V>> {
        self.nodes.get_mut(i as usize).and_then(Option::as_mut)
    }

    /// The wildcard trie node for `pattern`, if it exists.
    fn find_wild(&self, pattern: &str) -> Option<u32> {
        let mut cur = ROOT;
        for comp in pattern.split('.') {
            let n = self.node(cur)?;
            cur = if comp.is_empty() {
                n.any?
            } else {
                *n.children.get(comp)?
            };
        }
        Some(cur)
    }

    /// The value stored for exactly this pattern and policy.
    pub(crate) fn get(&self, policy: MatchPolicy, pattern: &str) -> Option<V> {
        match policy {
            MatchPolicy::Exact => self.exact.get(pattern).copied(),
            MatchPolicy::Prefix => self.prefix.get(pattern).copied(),
            MatchPolicy::Wildcard => self
                .find_wild(pattern)
                .and_then(|i| self.node(i))
                .and_then(|n| n.value),
        }
    }

    fn alloc_node(&mut self, parent: u32, edge: Option<Box<str>>) -> u32 {
        let node = WildNode {
            parent,
            edge,
            children: self.seed.map(),
            any: None,
            value: None,
        };
        if let Some(i) = self.free_nodes.pop() {
            if let Some(slot) = self.nodes.get_mut(i as usize) {
                *slot = Some(node);
                return i;
            }
        }
        self.nodes.push(Some(node));
        // The trie holds at most one node per component of the stored patterns; patterns
        // are bounded by the per-session limits, so the count fits in u32.
        u32::try_from(self.nodes.len() - 1).unwrap_or(u32::MAX)
    }

    /// Stores `value` for `pattern` (replacing an existing value).
    pub(crate) fn insert(&mut self, policy: MatchPolicy, pattern: Uri, value: V) {
        match policy {
            MatchPolicy::Exact => {
                self.exact.insert(pattern, value);
            }
            MatchPolicy::Prefix => {
                let len = pattern.as_str().len();
                if self.prefix.insert(pattern, value).is_none() {
                    *self.prefix_lens.entry(len).or_insert(0) += 1;
                }
            }
            MatchPolicy::Wildcard => {
                let mut cur = ROOT;
                for comp in pattern.as_str().split('.') {
                    let existing = self.node(cur).and_then(|n| {
                        if comp.is_empty() {
                            n.any
                        } else {
                            n.children.get(comp).copied()
                        }
                    });
                    cur = match existing {
                        Some(next) => next,
                        None => {
                            let edge = (!comp.is_empty()).then(|| Box::<str>::from(comp));
                            let next = self.alloc_node(cur, edge.clone());
                            if let Some(n) = self.node_mut(cur) {
                                match edge {
                                    Some(e) => {
                                        n.children.insert(e, next);
                                    }
                                    None => n.any = Some(next),
                                }
                            }
                            next
                        }
                    };
                }
                if let Some(n) = self.node_mut(cur) {
                    if n.value.replace(value).is_none() {
                        self.wildcards += 1;
                    }
                }
            }
        }
    }

    /// Removes the pattern; returns its value.
    pub(crate) fn remove(&mut self, policy: MatchPolicy, pattern: &str) -> Option<V> {
        match policy {
            MatchPolicy::Exact => {
                let v = self.exact.remove(pattern);
                maybe_shrink(&mut self.exact);
                v
            }
            MatchPolicy::Prefix => {
                let v = self.prefix.remove(pattern)?;
                let len = pattern.len();
                if let Some(c) = self.prefix_lens.get_mut(&len) {
                    *c -= 1;
                    if *c == 0 {
                        self.prefix_lens.remove(&len);
                    }
                }
                maybe_shrink(&mut self.prefix);
                Some(v)
            }
            MatchPolicy::Wildcard => {
                let mut cur = self.find_wild(pattern)?;
                let v = self.node_mut(cur)?.value.take()?;
                self.wildcards -= 1;
                // Prune empty nodes upwards.
                while cur != ROOT {
                    let (parent, edge) = match self.node(cur) {
                        Some(n)
                            if n.value.is_none() && n.children.is_empty() && n.any.is_none() =>
                        {
                            (n.parent, n.edge.clone())
                        }
                        _ => break,
                    };
                    if let Some(p) = self.node_mut(parent) {
                        match edge {
                            Some(e) => {
                                p.children.remove(&*e);
                                maybe_shrink(&mut p.children);
                            }
                            None => p.any = None,
                        }
                    }
                    if let Some(slot) = self.nodes.get_mut(cur as usize) {
                        *slot = None;
                    }
                    self.free_nodes.push(cur);
                    cur = parent;
                }
                if self.wildcards == 0 {
                    // Everything below the root is gone: release the arena.
                    self.nodes.truncate(1);
                    self.nodes.shrink_to_fit();
                    self.free_nodes = Vec::new();
                }
                Some(v)
            }
        }
    }

    /// Every value matching the concrete `uri`, in a deterministic order: the exact match,
    /// then prefix matches from shortest to longest, then wildcard matches (best-ranked first).
    pub(crate) fn matches(&self, uri: &str, out: &mut Vec<V>) {
        if let Some(v) = self.exact.get(uri) {
            out.push(*v);
        }
        if !self.prefix.is_empty() {
            for &len in self.prefix_lens.keys() {
                if len > uri.len() {
                    break;
                }
                if let Some(p) = uri.get(..len) {
                    if let Some(v) = self.prefix.get(p) {
                        out.push(*v);
                    }
                }
            }
        }
        if self.wildcards > 0 {
            self.wild_matches(uri, out, false);
        }
    }

    /// The best match for a call (spec's precedence): exact, else the longest prefix, else
    /// the best-ranked wildcard (concrete components win over wildcards, left to right).
    pub(crate) fn best_match(&self, uri: &str) -> Option<(V, MatchPolicy)> {
        if let Some(v) = self.exact.get(uri) {
            return Some((*v, MatchPolicy::Exact));
        }
        if !self.prefix.is_empty() {
            for &len in self.prefix_lens.keys().rev() {
                if len > uri.len() {
                    continue;
                }
                if let Some(v) = uri.get(..len).and_then(|p| self.prefix.get(p)) {
                    return Some((*v, MatchPolicy::Prefix));
                }
            }
        }
        if self.wildcards > 0 {
            let mut out = Vec::with_capacity(1);
            self.wild_matches(uri, &mut out, true);
            return out.first().map(|v| (*v, MatchPolicy::Wildcard));
        }
        None
    }

    /// Depth-first over the trie, the concrete edge before the wildcard edge at each level,
    /// so matches come out best-ranked first.
    fn wild_matches(&self, uri: &str, out: &mut Vec<V>, first_only: bool) {
        let comps: Vec<&str> = uri.split('.').collect();
        let mut stack: Vec<(u32, usize)> = vec![(ROOT, 0)];
        while let Some((node, depth)) = stack.pop() {
            let Some(n) = self.node(node) else { continue };
            if depth == comps.len() {
                if let Some(v) = n.value {
                    out.push(v);
                    if first_only {
                        return;
                    }
                }
                continue;
            }
            // Pushed in reverse: the wildcard edge first so the concrete edge pops first.
            if let Some(a) = n.any {
                stack.push((a, depth + 1));
            }
            if let Some(c) = comps.get(depth).and_then(|c| n.children.get(*c)) {
                stack.push((*c, depth + 1));
            }
        }
    }

    #[cfg(test)]
    fn node_count(&self) -> usize {
        self.nodes.iter().filter(|n| n.is_some()).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn idx() -> UriIndex<u32> {
        UriIndex::new(HashSeed(42))
    }

    fn all(i: &UriIndex<u32>, uri: &str) -> Vec<u32> {
        let mut v = Vec::new();
        i.matches(uri, &mut v);
        v
    }

    #[test]
    fn exact_prefix_wildcard_matches() {
        let mut i = idx();
        i.insert(MatchPolicy::Exact, Uri::from("com.a.b"), 1);
        i.insert(MatchPolicy::Prefix, Uri::from("com.a"), 2);
        i.insert(MatchPolicy::Prefix, Uri::from("com."), 3);
        i.insert(MatchPolicy::Wildcard, Uri::from("com..b"), 4);
        i.insert(MatchPolicy::Wildcard, Uri::from("..b"), 5);
        i.insert(MatchPolicy::Wildcard, Uri::from("com.a."), 6);
        assert_eq!(all(&i, "com.a.b"), vec![1, 3, 2, 6, 4, 5]);
        assert_eq!(all(&i, "com.ab"), vec![3, 2]);
        assert_eq!(all(&i, "org.x.b"), vec![5]);
        assert_eq!(all(&i, "com.a.b.c"), vec![3, 2]);
        assert_eq!(i.len(), 6);
        assert_eq!(i.get(MatchPolicy::Wildcard, "com..b"), Some(4));
        assert_eq!(i.get(MatchPolicy::Prefix, "com.a"), Some(2));
        assert_eq!(i.get(MatchPolicy::Exact, "com.a"), None);
    }

    #[test]
    fn best_match_precedence() {
        let mut i = idx();
        i.insert(MatchPolicy::Wildcard, Uri::from("com..b"), 4);
        i.insert(MatchPolicy::Wildcard, Uri::from("com.a."), 6);
        assert_eq!(i.best_match("com.a.b"), Some((6, MatchPolicy::Wildcard)));
        assert_eq!(i.best_match("com.x.b"), Some((4, MatchPolicy::Wildcard)));
        i.insert(MatchPolicy::Prefix, Uri::from("com."), 3);
        assert_eq!(i.best_match("com.a.b"), Some((3, MatchPolicy::Prefix)));
        i.insert(MatchPolicy::Prefix, Uri::from("com.a"), 2);
        assert_eq!(i.best_match("com.a.b"), Some((2, MatchPolicy::Prefix)));
        i.insert(MatchPolicy::Exact, Uri::from("com.a.b"), 1);
        assert_eq!(i.best_match("com.a.b"), Some((1, MatchPolicy::Exact)));
        assert_eq!(i.best_match("org"), None);
    }

    #[test]
    fn spec_wildcard_ranking() {
        // From the pattern-based registration section: a.b.c.d.e
        let mut i = idx();
        i.insert(MatchPolicy::Wildcard, Uri::from("a..c.d.e"), 1);
        i.insert(MatchPolicy::Wildcard, Uri::from("a.b..d.e"), 2);
        i.insert(MatchPolicy::Wildcard, Uri::from("a.b.c..e"), 3);
        i.insert(MatchPolicy::Wildcard, Uri::from("a.b...e"), 4);
        assert_eq!(i.best_match("a.b.c.d.e").map(|x| x.0), Some(3));
        i.remove(MatchPolicy::Wildcard, "a.b.c..e");
        assert_eq!(i.best_match("a.b.c.d.e").map(|x| x.0), Some(2));
        assert_eq!(i.best_match("a.b.x.d.e").map(|x| x.0), Some(2));
        assert_eq!(i.best_match("a.b.x.y.e").map(|x| x.0), Some(4));
        assert_eq!(i.best_match("a.x.c.d.e").map(|x| x.0), Some(1));
    }

    #[test]
    fn removal_prunes_everything() {
        let mut i = idx();
        for (n, p) in ["a..c", "a.b.", "..", "a.b.c", "x"].iter().enumerate() {
            i.insert(MatchPolicy::Wildcard, Uri::from_wire(p), n as u32);
            i.insert(MatchPolicy::Prefix, Uri::from_wire(p), n as u32);
            i.insert(MatchPolicy::Exact, Uri::from_wire(p), n as u32);
        }
        for p in ["a..c", "a.b.", "..", "a.b.c", "x"] {
            assert!(i.remove(MatchPolicy::Wildcard, p).is_some());
            assert!(i.remove(MatchPolicy::Prefix, p).is_some());
            assert!(i.remove(MatchPolicy::Exact, p).is_some());
            assert!(i.remove(MatchPolicy::Exact, p).is_none());
        }
        assert_eq!(i.len(), 0);
        assert_eq!(i.node_count(), 1);
        assert!(i.prefix_lens.is_empty());
        assert!(all(&i, "a.b.c").is_empty());
    }

    #[test]
    fn deep_uri_does_not_overflow() {
        let mut i = idx();
        let deep = "a.".repeat(200_000) + "a";
        let pat = ".".repeat(200_000);
        i.insert(MatchPolicy::Wildcard, Uri::from_wire(&pat), 9);
        assert_eq!(all(&i, &deep), vec![9]);
        assert_eq!(i.remove(MatchPolicy::Wildcard, &pat), Some(9));
        assert_eq!(i.node_count(), 1);
    }
}
