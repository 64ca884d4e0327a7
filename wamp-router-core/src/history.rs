//! Event history: bounded in-memory logs of the events published to configured topics (or
//! patterns), served by `wamp.subscription.get_events`.
//!
//! Each configured entry (URI, match policy, limit) keeps the last `limit` events whose topic
//! it matches, in the broker's receive order. A subscription is served the log of the entry
//! with its own URI and match policy. Events published with session-ID based black/white
//! lists (`exclude`, `eligible`) are not stored (spec); authid/authrole based lists are
//! stored and re-applied to whoever asks. Timestamps are the router's wall clock
//! ([`crate::Router::set_wall_clock`]).

use std::collections::VecDeque;

use wamp_proto::auth::wampcra::utc_timestamp;
use wamp_proto::id::{PublicationId, SessionId, SubscriptionId};
use wamp_proto::{Dict, MatchPolicy, Payload, Uri, Value};

use crate::broker::Filter;
use crate::config::HistoryConfig;
use crate::index::{HashSeed, UriIndex};
use crate::session::Identity;
use crate::uris;

#[derive(Debug)]
struct Stored {
    millis: u64,
    publication: PublicationId,
    topic: Uri,
    details: Dict,
    payload: Payload,
    filter: Option<Box<Filter>>,
}

#[derive(Debug)]
struct Entry {
    limit: usize,
    events: VecDeque<Stored>,
}

/// The histories of one realm.
#[derive(Debug)]
pub(crate) struct History {
    index: UriIndex<usize>,
    entries: Vec<Entry>,
    scratch: Vec<usize>,
}

/// Parses an RFC 3339 UTC timestamp (`2024-05-06T07:08:09Z`, optional fraction, `Z` or an
/// offset) into milliseconds since the Unix epoch.
pub(crate) fn parse_rfc3339(s: &str) -> Option<u64> {
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let t = s.get(r)?;
        if t.is_empty() || !t.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        t.parse().ok()
    };
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let mut i = 19;
    let mut ms = 0i64;
    if b.get(i) == Some(&b'.') {
        let start = i + 1;
        i = start;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == start {
            return None;
        }
        let frac = s.get(start..i)?;
        let digits: String = frac.chars().chain("000".chars()).take(3).collect();
        ms = digits.parse().ok()?;
    }
    let offset_min = match b.get(i)? {
        b'Z' | b'z' if i + 1 == b.len() => 0,
        c @ (b'+' | b'-') if i + 6 == b.len() && b[i + 3] == b':' => {
            let m = num(i + 1..i + 3)? * 60 + num(i + 4..i + 6)?;
            if *c == b'+' { m } else { -m }
        }
        _ => return None,
    };
    // Days from the civil date (H. Hinnant's algorithm).
    let y = if mo <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + h * 3600 + mi * 60 + sec - offset_min * 60;
    u64::try_from(secs * 1000 + ms).ok()
}

/// The filters of a `get_events` call.
#[derive(Debug, Default)]
struct Query {
    reverse: bool,
    limit: Option<usize>,
    from_time: Option<u64>,
    after_time: Option<u64>,
    before_time: Option<u64>,
    until_time: Option<u64>,
    topic: Option<String>,
    from_publication: Option<u64>,
    after_publication: Option<u64>,
    before_publication: Option<u64>,
    until_publication: Option<u64>,
}

impl Query {
    /// Reads the spec's keyword arguments (and Crossbar's positional `limit`).
    fn parse(args: &[Value], kwargs: &Dict) -> Option<Query> {
        let time = |k: &str| -> Option<Option<u64>> {
            match kwargs.get(k) {
                None | Some(Value::Null) => Some(None),
                Some(v) => Some(Some(parse_rfc3339(v.as_str()?)?)),
            }
        };
        let id = |k: &str| -> Option<Option<u64>> {
            match kwargs.get(k) {
                None | Some(Value::Null) => Some(None),
                Some(v) => Some(Some(v.as_u64()?)),
            }
        };
        let limit = match kwargs.get("limit").or(args.get(1)) {
            None | Some(Value::Null) => None,
            Some(v) => Some(usize::try_from(v.as_u64()?).ok()?),
        };
        let reverse = match kwargs.get("reverse") {
            None | Some(Value::Null) => false,
            Some(v) => v.as_bool()?,
        };
        let topic = match kwargs.get("topic") {
            None | Some(Value::Null) => None,
            Some(v) => Some(v.as_str()?.to_owned()),
        };
        Some(Query {
            reverse,
            limit,
            from_time: time("from_time")?,
            after_time: time("after_time")?,
            before_time: time("before_time")?,
            until_time: time("until_time")?,
            topic,
            from_publication: id("from_publication")?,
            after_publication: id("after_publication")?,
            before_publication: id("before_publication")?,
            until_publication: id("until_publication")?,
        })
    }
}

impl History {
    pub(crate) fn new(config: &[HistoryConfig], seed: HashSeed) -> Self {
        let mut index = UriIndex::new(seed);
        let mut entries = Vec::new();
        for h in config {
            let uri = Uri::from_wire(&h.uri);
            if h.limit == 0 || index.get(h.match_policy, uri.as_str()).is_some() {
                continue;
            }
            index.insert(h.match_policy, uri, entries.len());
            entries.push(Entry {
                limit: h.limit,
                events: VecDeque::new(),
            });
        }
        History {
            index,
            entries,
            scratch: Vec::new(),
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Stored events over all entries.
    pub(crate) fn len(&self) -> usize {
        self.entries.iter().map(|e| e.events.len()).sum()
    }

    /// Records a publication in every entry matching `topic`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn record(
        &mut self,
        millis: u64,
        publication: PublicationId,
        topic: &Uri,
        details: &Dict,
        payload: &Payload,
        filter: Option<&Filter>,
    ) {
        if filter.is_some_and(Filter::by_session) {
            return;
        }
        let mut m = std::mem::take(&mut self.scratch);
        m.clear();
        self.index.matches(topic.as_str(), &mut m);
        for i in &m {
            let Some(e) = self.entries.get_mut(*i) else {
                continue;
            };
            if e.events.len() >= e.limit {
                e.events.pop_front();
            }
            e.events.push_back(Stored {
                millis,
                publication,
                topic: topic.clone(),
                details: details.clone(),
                payload: payload.clone(),
                filter: filter.map(|f| Box::new(f.clone())),
            });
        }
        self.scratch = m;
    }

    /// `wamp.subscription.get_events` for subscription `id` on `uri`/`policy`, asked by
    /// `requester`: the event objects, or an error URI.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn events(
        &self,
        id: SubscriptionId,
        uri: &Uri,
        policy: MatchPolicy,
        requester: SessionId,
        identity: &Identity,
        args: &[Value],
        kwargs: &Dict,
    ) -> Result<Vec<Value>, &'static str> {
        let entry = self
            .index
            .get(policy, uri.as_str())
            .and_then(|i| self.entries.get(i))
            .ok_or(uris::HISTORY_UNAVAILABLE)?;
        let q = Query::parse(args, kwargs).ok_or(uris::INVALID_ARGUMENT)?;
        let all: Vec<&Stored> = entry.events.iter().collect();
        let pos = |p: u64| all.iter().position(|s| s.publication.get() == p);
        // Publication bounds are positions in the log; an unknown publication selects nothing.
        let mut lo = 0usize;
        let mut hi = all.len();
        let none = |_: ()| (0usize, 0usize);
        let bounds: Result<(usize, usize), ()> = (|| {
            if let Some(p) = q.from_publication {
                lo = lo.max(pos(p).ok_or(())?);
            }
            if let Some(p) = q.after_publication {
                lo = lo.max(pos(p).ok_or(())? + 1);
            }
            if let Some(p) = q.before_publication {
                hi = hi.min(pos(p).ok_or(())?);
            }
            if let Some(p) = q.until_publication {
                hi = hi.min(pos(p).ok_or(())? + 1);
            }
            Ok((lo, hi))
        })();
        let (lo, hi) = bounds.unwrap_or_else(none);
        let mut picked: Vec<&Stored> = all
            .get(lo..hi.max(lo))
            .unwrap_or_default()
            .iter()
            .copied()
            .filter(|s| {
                q.from_time.is_none_or(|t| s.millis >= t)
                    && q.after_time.is_none_or(|t| s.millis > t)
                    && q.before_time.is_none_or(|t| s.millis < t)
                    && q.until_time.is_none_or(|t| s.millis <= t)
                    && q.topic.as_deref().is_none_or(|t| s.topic.as_str() == t)
                    && s.filter
                        .as_ref()
                        .is_none_or(|f| f.admits(requester, Some(identity)))
            })
            .collect();
        let lower_bound = q.from_time.is_some()
            || q.after_time.is_some()
            || q.from_publication.is_some()
            || q.after_publication.is_some();
        if q.reverse {
            picked.reverse();
        }
        if let Some(limit) = q.limit {
            if picked.len() > limit {
                // Without a lower bound the most recent events are the interesting ones.
                if !q.reverse && !lower_bound {
                    picked.drain(..picked.len() - limit);
                } else {
                    picked.truncate(limit);
                }
            }
        }
        Ok(picked
            .into_iter()
            .map(|s| {
                let mut o = Dict::with_capacity(7);
                o.insert("timestamp", utc_timestamp(s.millis));
                o.insert("subscription", id);
                o.insert("publication", s.publication);
                o.insert("topic", s.topic.as_str());
                o.insert("details", s.details.clone());
                match &s.payload {
                    Payload::Args { args, kwargs } => {
                        if !args.is_empty() {
                            o.insert("args", Value::List(args.clone()));
                        }
                        if !kwargs.is_empty() {
                            o.insert("kwargs", kwargs.clone());
                        }
                    }
                    Payload::Transparent(b) => {
                        o.insert("payload", Value::Bytes(b.clone()));
                    }
                }
                Value::Dict(o)
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_rfc3339("2014-06-22T16:51:41.643Z"),
            Some(1_403_455_901_643)
        );
        assert_eq!(
            parse_rfc3339("2014-06-22T18:51:41.6+02:00"),
            Some(1_403_455_901_600)
        );
        assert_eq!(
            parse_rfc3339("2000-02-29T00:00:00.000Z"),
            Some(951_782_400_000)
        );
        assert_eq!(parse_rfc3339("2000-02-29"), None);
        assert_eq!(parse_rfc3339("2000-13-01T00:00:00Z"), None);
        assert_eq!(parse_rfc3339("2000-01-01T00:00:00.Z"), None);
        assert_eq!(parse_rfc3339("2000-01-01T00:00:00Zjunk"), None);
        assert_eq!(parse_rfc3339("1969-12-31T23:59:59Z"), None);
        for ms in [0u64, 1, 999, 86_399_999, 1_700_000_000_123] {
            assert_eq!(parse_rfc3339(&utc_timestamp(ms)), Some(ms));
        }
    }
}
