//! URIs: topics, procedures, errors and realms.
//!
//! A [`Uri`] is the string as it travels on the wire; decoding does not validate it, so that a
//! router can answer a bad URI in a request with `ERROR wamp.error.invalid_uri` (as the spec
//! asks) rather than failing the whole message. Validation is explicit:
//! [`Uri::is_valid`] for concrete URIs, [`Uri::is_valid_pattern`] for subscription and
//! registration patterns, each under [`UriRules::Loose`] (MUST) or [`UriRules::Strict`] (SHOULD).

use std::fmt;
use std::sync::Arc;

/// A URI as a cheap-to-clone string.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Uri(Arc<str>);

/// Which URI component rules to apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum UriRules {
    /// Components must not be empty and must not contain `.`, `#` or whitespace (spec: MUST).
    #[default]
    Loose,
    /// Components are made of `[0-9a-z_]` only (spec: SHOULD).
    Strict,
}

/// How a subscription or registration matches URIs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum MatchPolicy {
    /// The URI equals the pattern.
    #[default]
    Exact,
    /// The URI starts with the pattern (a plain string prefix, as Crossbar matches).
    Prefix,
    /// Same number of components; empty pattern components match any component.
    Wildcard,
}

impl MatchPolicy {
    /// The option value on the wire (`"exact"`, `"prefix"`, `"wildcard"`).
    pub fn as_str(self) -> &'static str {
        match self {
            MatchPolicy::Exact => "exact",
            MatchPolicy::Prefix => "prefix",
            MatchPolicy::Wildcard => "wildcard",
        }
    }
    /// Parses the option value.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "exact" => Some(MatchPolicy::Exact),
            "prefix" => Some(MatchPolicy::Prefix),
            "wildcard" => Some(MatchPolicy::Wildcard),
            _ => None,
        }
    }
}

/// A string that is not a valid URI under the chosen rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid URI")]
pub struct InvalidUri;

fn component_ok(c: &str, rules: UriRules) -> bool {
    match rules {
        UriRules::Loose => c
            .chars()
            .all(|ch| ch != '.' && ch != '#' && !ch.is_whitespace()),
        UriRules::Strict => c
            .bytes()
            .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase() || b == b'_'),
    }
}

impl Uri {
    /// A validated URI (loose rules, no empty components).
    pub fn new(s: impl AsRef<str>) -> Result<Self, InvalidUri> {
        let s = s.as_ref();
        if Self::check(s, UriRules::Loose) {
            Ok(Uri(Arc::from(s)))
        } else {
            Err(InvalidUri)
        }
    }

    /// A URI taken as received, without validation (decoders use this).
    pub fn from_wire(s: &str) -> Self {
        Uri(Arc::from(s))
    }

    /// The URI text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn check(s: &str, rules: UriRules) -> bool {
        !s.is_empty()
            && s.split('.')
                .all(|c| !c.is_empty() && component_ok(c, rules))
    }

    /// Whether this is a valid concrete URI under `rules`.
    pub fn is_valid(&self, rules: UriRules) -> bool {
        Self::check(&self.0, rules)
    }

    /// Whether this is a valid pattern for `policy` under `rules`: exact patterns are concrete
    /// URIs; prefix patterns may end with an empty component (`com.app.`); wildcard patterns may
    /// have empty components anywhere (`com..update`).
    pub fn is_valid_pattern(&self, policy: MatchPolicy, rules: UriRules) -> bool {
        let s: &str = &self.0;
        match policy {
            MatchPolicy::Exact => Self::check(s, rules),
            MatchPolicy::Prefix => {
                if s.is_empty() {
                    return false;
                }
                let comps: Vec<&str> = s.split('.').collect();
                let last = comps.len() - 1;
                comps
                    .iter()
                    .enumerate()
                    .all(|(i, c)| (i == last || !c.is_empty()) && component_ok(c, rules))
            }
            MatchPolicy::Wildcard => !s.is_empty() && s.split('.').all(|c| component_ok(c, rules)),
        }
    }

    /// Whether the URI lies in the router-reserved `wamp.` space.
    pub fn is_reserved(&self) -> bool {
        self.0.starts_with("wamp.") || &*self.0 == "wamp"
    }

    /// Whether the concrete URI `uri` matches this pattern under `policy`.
    pub fn matches(&self, policy: MatchPolicy, uri: &str) -> bool {
        match policy {
            MatchPolicy::Exact => &*self.0 == uri,
            MatchPolicy::Prefix => uri.starts_with(&*self.0),
            MatchPolicy::Wildcard => {
                let mut p = self.0.split('.');
                let mut u = uri.split('.');
                loop {
                    match (p.next(), u.next()) {
                        (None, None) => return true,
                        (Some(pc), Some(uc)) if pc.is_empty() || pc == uc => {}
                        _ => return false,
                    }
                }
            }
        }
    }
}

impl fmt::Debug for Uri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl fmt::Display for Uri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for Uri {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl std::borrow::Borrow<str> for Uri {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl PartialEq<str> for Uri {
    fn eq(&self, other: &str) -> bool {
        &*self.0 == other
    }
}

impl PartialEq<&str> for Uri {
    fn eq(&self, other: &&str) -> bool {
        &*self.0 == *other
    }
}

impl From<&'static str> for Uri {
    /// Unchecked, for literals in code; use [`Uri::new`] for untrusted input.
    fn from(s: &'static str) -> Self {
        Uri::from_wire(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loose_and_strict() {
        assert!(Uri::new("com.myapp.topic1").is_ok());
        assert!(Uri::new("com.my app").is_err());
        assert!(Uri::new("com..x").is_err());
        assert!(Uri::new("com.#").is_err());
        assert!(Uri::new("").is_err());
        assert!(Uri::from_wire("Com.App").is_valid(UriRules::Loose));
        assert!(!Uri::from_wire("Com.App").is_valid(UriRules::Strict));
    }

    #[test]
    fn patterns() {
        let p = Uri::from_wire("com.myapp.");
        assert!(p.is_valid_pattern(MatchPolicy::Prefix, UriRules::Strict));
        assert!(!p.is_valid_pattern(MatchPolicy::Exact, UriRules::Loose));
        assert!(!Uri::from_wire("com..x").is_valid_pattern(MatchPolicy::Prefix, UriRules::Loose));
        let w = Uri::from_wire("com..update");
        assert!(w.is_valid_pattern(MatchPolicy::Wildcard, UriRules::Loose));
        assert!(w.matches(MatchPolicy::Wildcard, "com.a.update"));
        assert!(!w.matches(MatchPolicy::Wildcard, "com.a.b.update"));
        assert!(Uri::from_wire("com.my").matches(MatchPolicy::Prefix, "com.myapp"));
        assert!(Uri::from_wire("wamp.session.get").is_reserved());
    }
}
