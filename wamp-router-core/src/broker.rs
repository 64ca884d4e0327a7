//! The broker: subscriptions (exact, prefix, wildcard; one ID per topic+match shared by all
//! subscribers), publication fan-out with exclusion and black/white listing, publisher
//! disclosure, event retention and subscription revocation.

use std::collections::BTreeMap;
use std::sync::Arc;

use wamp_proto::id::{PublicationId, SessionId, SubscriptionId, random_id};
use wamp_proto::message::{
    Event, Publish, Published, Subscribe, Subscribed, Unsubscribe, Unsubscribed,
};
use wamp_proto::{Dict, MatchPolicy, Message, MessageKind, Payload, Uri, Value};

use crate::action::{ConnId, Recipients, RouterAction};
use crate::ctx::Ctx;
use crate::decision::AuthzDecision;
use crate::history::History;
use crate::ids;
use crate::index::{FastMap, HashSeed, UriIndex, maybe_shrink};
use crate::meta::MetaEvent;
use crate::session::{ClientFeatures, Identity, Sessions};
use crate::uris;

/// One subscription: a topic pattern with its match policy and every subscribed session.
#[derive(Debug)]
struct Subscription {
    uri: Uri,
    policy: MatchPolicy,
    /// Wall-clock creation time (ms since the Unix epoch).
    created: u64,
    /// Ordered by session ID: the fan-out order is deterministic.
    subscribers: BTreeMap<SessionId, ConnId>,
    /// The subscribers' connections, built on first use and dropped on every change.
    snapshot: Option<Arc<[ConnId]>>,
}

impl Subscription {
    fn snapshot(&mut self) -> Arc<[ConnId]> {
        if let Some(s) = &self.snapshot {
            return s.clone();
        }
        let s: Arc<[ConnId]> = self.subscribers.values().copied().collect();
        self.snapshot = Some(s.clone());
        s
    }
}

/// Subscriber black/white lists of one publication (all conditions ANDed).
#[derive(Debug, Default, Clone)]
pub(crate) struct Filter {
    exclude: Vec<u64>,
    eligible: Option<Vec<u64>>,
    exclude_authid: Vec<String>,
    exclude_authrole: Vec<String>,
    eligible_authid: Option<Vec<String>>,
    eligible_authrole: Option<Vec<String>>,
}

fn id_list(o: &Dict, key: &str) -> Option<Vec<u64>> {
    let mut v: Vec<u64> = o.get_list(key)?.iter().filter_map(Value::as_u64).collect();
    v.sort_unstable();
    Some(v)
}

fn str_list(o: &Dict, key: &str) -> Option<Vec<String>> {
    Some(
        o.get_list(key)?
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
    )
}

impl Filter {
    fn from_options(o: &Dict) -> Option<Box<Filter>> {
        let f = Filter {
            exclude: id_list(o, "exclude").unwrap_or_default(),
            eligible: id_list(o, "eligible"),
            exclude_authid: str_list(o, "exclude_authid").unwrap_or_default(),
            exclude_authrole: str_list(o, "exclude_authrole").unwrap_or_default(),
            eligible_authid: str_list(o, "eligible_authid"),
            eligible_authrole: str_list(o, "eligible_authrole"),
        };
        let trivial = f.exclude.is_empty()
            && f.eligible.is_none()
            && f.exclude_authid.is_empty()
            && f.exclude_authrole.is_empty()
            && f.eligible_authid.is_none()
            && f.eligible_authrole.is_none();
        (!trivial).then(|| Box::new(f))
    }

    /// Whether the filter names session IDs (such events are not kept in a history).
    pub(crate) fn by_session(&self) -> bool {
        !self.exclude.is_empty() || self.eligible.is_some()
    }

    fn needs_identity(&self) -> bool {
        !self.exclude_authid.is_empty()
            || !self.exclude_authrole.is_empty()
            || self.eligible_authid.is_some()
            || self.eligible_authrole.is_some()
    }

    pub(crate) fn admits(&self, session: SessionId, identity: Option<&Identity>) -> bool {
        let sid = session.get();
        if self.exclude.binary_search(&sid).is_ok() {
            return false;
        }
        if let Some(el) = &self.eligible {
            if el.binary_search(&sid).is_err() {
                return false;
            }
        }
        if !self.needs_identity() {
            return true;
        }
        let Some(id) = identity else { return false };
        let has = |list: &[String], s: &str| list.iter().any(|x| x == s);
        !(has(&self.exclude_authid, &id.authid)
            || has(&self.exclude_authrole, &id.authrole)
            || self
                .eligible_authid
                .as_ref()
                .is_some_and(|l| !has(l, &id.authid))
            || self
                .eligible_authrole
                .as_ref()
                .is_some_and(|l| !has(l, &id.authrole)))
    }
}

/// The last retained event of a topic.
#[derive(Debug)]
struct Retained {
    seq: u64,
    publication: PublicationId,
    publisher: SessionId,
    exclude_me: bool,
    filter: Option<Box<Filter>>,
    /// Publisher disclosure details (empty unless disclosed).
    details: Dict,
    payload: Payload,
}

impl Retained {
    fn eligible(&self, session: SessionId, identity: Option<&Identity>) -> bool {
        if self.exclude_me && session == self.publisher {
            return false;
        }
        self.filter
            .as_ref()
            .is_none_or(|f| f.admits(session, identity))
    }
}

/// Statistics of one broker.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BrokerStats {
    /// Subscriptions (distinct topic+match).
    pub subscriptions: usize,
    /// Subscriber entries over all subscriptions.
    pub subscribers: usize,
    /// Retained events.
    pub retained: usize,
}

/// The broker of one realm.
#[derive(Debug)]
pub(crate) struct Broker {
    index: UriIndex<SubscriptionId>,
    subs: FastMap<SubscriptionId, Subscription>,
    retained: BTreeMap<Uri, Retained>,
    retained_order: BTreeMap<u64, Uri>,
    retain_seq: u64,
    subscribers: usize,
    scratch: Vec<SubscriptionId>,
    pub(crate) history: History,
}

/// Who publishes: a session (with its identity, disclosed or not), or the router itself
/// (meta events).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Publisher<'a> {
    pub(crate) session: Option<SessionId>,
    pub(crate) identity: Option<&'a Identity>,
    /// Disclose the publisher (role permission, or `disclose_me`).
    pub(crate) disclose: bool,
}

impl Publisher<'_> {
    /// The router (meta events).
    pub(crate) const ROUTER: Publisher<'static> = Publisher {
        session: None,
        identity: None,
        disclose: false,
    };
}

pub(crate) fn policy_of(options: &Dict) -> Option<MatchPolicy> {
    match options.get("match") {
        None => Some(MatchPolicy::Exact),
        Some(v) => v.as_str().and_then(MatchPolicy::parse),
    }
}

/// Whether a SUBSCRIBE would pass the broker's checks before authorization.
pub(crate) fn subscribe_valid(options: &Dict, topic: &Uri, rules: wamp_proto::UriRules) -> bool {
    policy_of(options).is_some_and(|p| topic.is_valid_pattern(p, rules))
}

/// Whether a PUBLISH would pass the broker's checks before authorization.
pub(crate) fn publish_valid(topic: &Uri, rules: wamp_proto::UriRules) -> bool {
    topic.is_valid(rules) && !topic.is_reserved()
}

/// What the subscription meta API shows of a subscription.
pub(crate) struct SubscriptionInfo {
    pub(crate) uri: Uri,
    pub(crate) policy: MatchPolicy,
    pub(crate) created: u64,
}

impl Broker {
    pub(crate) fn new(seed: HashSeed, history: &[crate::config::HistoryConfig]) -> Self {
        Broker {
            index: UriIndex::new(seed),
            subs: seed.map(),
            retained: BTreeMap::new(),
            retained_order: BTreeMap::new(),
            retain_seq: 0,
            subscribers: 0,
            scratch: Vec::new(),
            history: History::new(history, seed),
        }
    }

    /// The subscription `id`.
    pub(crate) fn info(&self, id: SubscriptionId) -> Option<SubscriptionInfo> {
        self.subs.get(&id).map(|s| SubscriptionInfo {
            uri: s.uri.clone(),
            policy: s.policy,
            created: s.created,
        })
    }

    /// The subscribers of `id`, in session-ID order.
    pub(crate) fn subscribers_of(&self, id: SubscriptionId) -> Option<Vec<SessionId>> {
        self.subs
            .get(&id)
            .map(|s| s.subscribers.keys().copied().collect())
    }

    /// Every subscription ID by match policy (exact, prefix, wildcard), each sorted.
    pub(crate) fn list(&self) -> [Vec<SubscriptionId>; 3] {
        let mut out: [Vec<SubscriptionId>; 3] = Default::default();
        for (id, s) in &self.subs {
            let i = match s.policy {
                MatchPolicy::Exact => 0,
                MatchPolicy::Prefix => 1,
                MatchPolicy::Wildcard => 2,
            };
            out[i].push(*id);
        }
        for v in &mut out {
            v.sort_unstable();
        }
        out
    }

    /// The subscription for exactly this pattern and policy.
    pub(crate) fn lookup(&self, policy: MatchPolicy, uri: &str) -> Option<SubscriptionId> {
        self.index.get(policy, uri)
    }

    /// Every subscription matching the concrete topic `uri`.
    pub(crate) fn matching(&self, uri: &str) -> Vec<SubscriptionId> {
        let mut v = Vec::new();
        self.index.matches(uri, &mut v);
        v
    }

    /// Whether any subscription matches the concrete topic `uri`.
    pub(crate) fn has_match(&mut self, uri: &str) -> bool {
        let mut m = std::mem::take(&mut self.scratch);
        m.clear();
        self.index.matches(uri, &mut m);
        let any = !m.is_empty();
        self.scratch = m;
        any
    }

    pub(crate) fn stats(&self) -> BrokerStats {
        BrokerStats {
            subscriptions: self.subs.len(),
            subscribers: self.subscribers,
            retained: self.retained.len(),
        }
    }

    /// SUBSCRIBE.
    pub(crate) fn subscribe(
        &mut self,
        ctx: &mut Ctx<'_>,
        sessions: &mut Sessions,
        sid: SessionId,
        msg: Subscribe,
        grant: Option<AuthzDecision>,
    ) {
        let Some(session) = sessions.get_mut(&sid) else {
            return;
        };
        let conn = session.conn;
        let kind = MessageKind::Subscribe;
        let Some(policy) = policy_of(&msg.options) else {
            ctx.error(
                conn,
                kind,
                msg.request,
                uris::INVALID_ARGUMENT,
                Some("invalid match policy"),
            );
            return;
        };
        if !msg.topic.is_valid_pattern(policy, ctx.config.uri_rules) {
            ctx.error(conn, kind, msg.request, uris::INVALID_URI, None);
            return;
        }
        if !grant.is_some_and(|g| g.allow) {
            ctx.error(conn, kind, msg.request, uris::NOT_AUTHORIZED, None);
            return;
        }
        let existing = self.index.get(policy, msg.topic.as_str());
        let already = existing
            .and_then(|id| self.subs.get(&id))
            .is_some_and(|s| s.subscribers.contains_key(&sid));
        if !already && session.subscriptions.len() >= ctx.config.max_subscriptions_per_session {
            ctx.error(
                conn,
                kind,
                msg.request,
                uris::NOT_AUTHORIZED,
                Some("subscription limit reached"),
            );
            return;
        }
        let id = match existing {
            Some(id) => id,
            None => {
                let id = ids::next_id(&mut ctx.ids.subscription, |id| self.subs.contains_key(&id));
                self.subs.insert(
                    id,
                    Subscription {
                        uri: msg.topic.clone(),
                        policy,
                        created: ctx.unix_millis,
                        subscribers: BTreeMap::new(),
                        snapshot: None,
                    },
                );
                self.index.insert(policy, msg.topic.clone(), id);
                ctx.meta.push(MetaEvent::SubscriptionCreated {
                    session: sid,
                    id,
                    uri: msg.topic.clone(),
                    policy,
                    created: ctx.unix_millis,
                });
                id
            }
        };
        if !already {
            if let Some(sub) = self.subs.get_mut(&id) {
                sub.subscribers.insert(sid, conn);
                sub.snapshot = None;
                self.subscribers += 1;
            }
            session.subscriptions.push(id);
            ctx.meta.push(MetaEvent::Subscribed { session: sid, id });
        }
        ctx.send(
            conn,
            Subscribed {
                request: msg.request,
                subscription: id,
            },
        );
        if msg.options.get_bool("get_retained") == Some(true) {
            let identity = session.identity.clone();
            self.send_retained(ctx, id, policy, &msg.topic, sid, conn, &identity);
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn send_retained(
        &self,
        ctx: &mut Ctx<'_>,
        id: SubscriptionId,
        policy: MatchPolicy,
        pattern: &Uri,
        sid: SessionId,
        conn: ConnId,
        identity: &Identity,
    ) {
        let mut emit = |topic: &Uri, r: &Retained| {
            if !r.eligible(sid, Some(identity)) {
                return;
            }
            let mut details = r.details.clone();
            if policy != MatchPolicy::Exact {
                details.insert("topic", topic.as_str());
            }
            details.insert("retained", true);
            ctx.send(
                conn,
                Event {
                    subscription: id,
                    publication: r.publication,
                    details,
                    payload: r.payload.clone(),
                },
            );
        };
        match policy {
            MatchPolicy::Exact => {
                if let Some(r) = self.retained.get(pattern.as_str()) {
                    emit(pattern, r);
                }
            }
            MatchPolicy::Prefix => {
                let p = pattern.as_str();
                let start = (std::ops::Bound::Included(p), std::ops::Bound::Unbounded);
                for (topic, r) in self.retained.range::<str, _>(start) {
                    if !topic.as_str().starts_with(p) {
                        break;
                    }
                    emit(topic, r);
                }
            }
            MatchPolicy::Wildcard => {
                // Bounded by `max_retained_events`; runs at subscribe time only.
                for (topic, r) in &self.retained {
                    if pattern.matches(MatchPolicy::Wildcard, topic.as_str()) {
                        emit(topic, r);
                    }
                }
            }
        }
    }

    /// UNSUBSCRIBE.
    pub(crate) fn unsubscribe(
        &mut self,
        ctx: &mut Ctx<'_>,
        sessions: &mut Sessions,
        sid: SessionId,
        msg: Unsubscribe,
    ) {
        let Some(session) = sessions.get_mut(&sid) else {
            return;
        };
        let conn = session.conn;
        if !self.remove_subscriber(ctx.meta, msg.subscription, sid) {
            ctx.error(
                conn,
                MessageKind::Unsubscribe,
                msg.request,
                uris::NO_SUCH_SUBSCRIPTION,
                None,
            );
            return;
        }
        if let Some(pos) = session
            .subscriptions
            .iter()
            .position(|s| *s == msg.subscription)
        {
            session.subscriptions.swap_remove(pos);
        }
        ctx.send(
            conn,
            Unsubscribed {
                request: Some(msg.request),
                details: Dict::new(),
            },
        );
    }

    /// Removes `sid` from subscription `id`, deleting the subscription when it empties.
    /// Returns whether `sid` was subscribed.
    fn remove_subscriber(
        &mut self,
        meta: &mut Vec<MetaEvent>,
        id: SubscriptionId,
        sid: SessionId,
    ) -> bool {
        let Some(sub) = self.subs.get_mut(&id) else {
            return false;
        };
        if sub.subscribers.remove(&sid).is_none() {
            return false;
        }
        self.subscribers -= 1;
        sub.snapshot = None;
        meta.push(MetaEvent::Unsubscribed { session: sid, id });
        if sub.subscribers.is_empty() {
            let (policy, uri) = (sub.policy, sub.uri.clone());
            self.index.remove(policy, uri.as_str());
            self.subs.remove(&id);
            maybe_shrink(&mut self.subs);
            meta.push(MetaEvent::SubscriptionDeleted { session: sid, id });
        }
        true
    }

    /// A leaving session's subscriptions.
    pub(crate) fn remove_session(
        &mut self,
        meta: &mut Vec<MetaEvent>,
        sid: SessionId,
        subscriptions: &[SubscriptionId],
    ) {
        for id in subscriptions {
            self.remove_subscriber(meta, *id, sid);
        }
    }

    /// PUBLISH, authorized by `grant` (`None`: not authorized).
    pub(crate) fn publish(
        &mut self,
        ctx: &mut Ctx<'_>,
        sessions: &Sessions,
        sid: SessionId,
        msg: Publish,
        grant: Option<AuthzDecision>,
    ) {
        let Some(session) = sessions.get(&sid) else {
            return;
        };
        let conn = session.conn;
        let ack = msg.options.get_bool("acknowledge") == Some(true);
        let kind = MessageKind::Publish;
        if !publish_valid(&msg.topic, ctx.config.uri_rules) {
            if ack {
                ctx.error(conn, kind, msg.request, uris::INVALID_URI, None);
            }
            return;
        }
        let Some(grant) = grant.filter(|g| g.allow) else {
            if ack {
                ctx.error(conn, kind, msg.request, uris::NOT_AUTHORIZED, None);
            }
            return;
        };
        let from = Publisher {
            session: Some(sid),
            identity: Some(&session.identity),
            disclose: grant.disclose
                || ctx.config.disclose_publisher
                || msg.options.get_bool("disclose_me") == Some(true),
        };
        let publication =
            self.publish_from(ctx, sessions, from, &msg.topic, &msg.options, msg.payload);
        if ack {
            ctx.send(
                conn,
                Published {
                    request: msg.request,
                    publication,
                },
            );
        }
    }

    /// Publishes `payload` to `topic` with PUBLISH `options` (exclusion, black/white lists,
    /// retention) on behalf of `from`; returns the publication ID. No validation, no
    /// authorization: the caller did both.
    pub(crate) fn publish_from(
        &mut self,
        ctx: &mut Ctx<'_>,
        sessions: &Sessions,
        from: Publisher<'_>,
        topic: &Uri,
        options: &Dict,
        payload: Payload,
    ) -> PublicationId {
        let publication =
            PublicationId::new(random_id(&mut *ctx.entropy)).unwrap_or(ids::PUBLICATION_ONE);
        // Without a publishing session there is nobody to exclude.
        let sid = from.session.unwrap_or(ids::SESSION_ONE);
        let exclude_me = from.session.is_some() && options.get_bool("exclude_me") != Some(false);
        let filter = Filter::from_options(options);
        let mut details = Dict::new();
        if let (true, Some(s), Some(identity)) = (from.disclose, from.session, from.identity) {
            details.insert("publisher", s);
            details.insert("publisher_authid", &*identity.authid);
            details.insert("publisher_authrole", &*identity.authrole);
        }
        let retain = options.get_bool("retain") == Some(true);
        if !self.history.is_empty() {
            self.history.record(
                ctx.unix_millis,
                publication,
                topic,
                &details,
                &payload,
                filter.as_deref(),
            );
        }
        let mut payload = Some(payload);

        let mut matches = std::mem::take(&mut self.scratch);
        matches.clear();
        self.index.matches(topic.as_str(), &mut matches);
        let last = matches.len();
        for (i, id) in matches.iter().enumerate() {
            let Some(sub) = self.subs.get_mut(id) else {
                continue;
            };
            let recipients: Arc<[ConnId]> = match &filter {
                None if !exclude_me || !sub.subscribers.contains_key(&sid) => sub.snapshot(),
                _ => {
                    let v: Vec<ConnId> = sub
                        .subscribers
                        .iter()
                        .filter(|(s, _)| !(exclude_me && **s == sid))
                        .filter(|(s, _)| {
                            filter.as_ref().is_none_or(|f| {
                                let identity = if f.needs_identity() {
                                    sessions.get(*s).map(|x| &x.identity)
                                } else {
                                    None
                                };
                                f.admits(**s, identity)
                            })
                        })
                        .map(|(_, c)| *c)
                        .collect();
                    v.into()
                }
            };
            if recipients.is_empty() {
                continue;
            }
            let mut d = details.clone();
            if sub.policy != MatchPolicy::Exact {
                d.insert("topic", topic.as_str());
            }
            // The last delivery takes the payload, the others clone it.
            let p = if i + 1 == last && !retain {
                payload.take().unwrap_or_default()
            } else {
                payload.clone().unwrap_or_default()
            };
            let event = Event {
                subscription: *id,
                publication,
                details: d,
                payload: p,
            };
            if recipients.len() == 1 {
                ctx.send(recipients[0], event);
            } else {
                ctx.out.push_back(RouterAction::Broadcast {
                    to: Recipients::new(recipients),
                    msg: Arc::new(Message::Event(event)),
                });
            }
        }
        self.scratch = matches;

        if retain {
            self.retain(
                ctx.config.max_retained_events,
                topic.clone(),
                Retained {
                    seq: 0,
                    publication,
                    publisher: sid,
                    exclude_me,
                    filter,
                    details,
                    payload: payload.unwrap_or_default(),
                },
            );
        }
        publication
    }

    fn retain(&mut self, max: usize, topic: Uri, mut r: Retained) {
        if max == 0 {
            return;
        }
        self.retain_seq += 1;
        r.seq = self.retain_seq;
        self.retained_order.insert(r.seq, topic.clone());
        if let Some(old) = self.retained.insert(topic, r) {
            self.retained_order.remove(&old.seq);
        }
        while self.retained.len() > max {
            let Some((_, oldest)) = self.retained_order.pop_first() else {
                break;
            };
            self.retained.remove(&oldest);
        }
    }

    /// Ends subscription `id` for every subscriber (or only `only`); subscribers that announced
    /// `subscription_revocation` get `UNSUBSCRIBED(0, {subscription, reason})`. Returns the
    /// number of subscribers removed, `None` if there is no such subscription.
    pub(crate) fn revoke(
        &mut self,
        ctx: &mut Ctx<'_>,
        sessions: &mut Sessions,
        id: SubscriptionId,
        only: Option<SessionId>,
        reason: &str,
    ) -> Option<usize> {
        let sub = self.subs.get(&id)?;
        let victims: Vec<SessionId> = match only {
            Some(s) if sub.subscribers.contains_key(&s) => vec![s],
            Some(_) => return None,
            None => sub.subscribers.keys().copied().collect(),
        };
        for sid in &victims {
            self.remove_subscriber(ctx.meta, id, *sid);
            let Some(session) = sessions.get_mut(sid) else {
                continue;
            };
            if let Some(pos) = session.subscriptions.iter().position(|s| *s == id) {
                session.subscriptions.swap_remove(pos);
            }
            if session
                .features
                .contains(ClientFeatures::SUBSCRIBER_SUBSCRIPTION_REVOCATION)
            {
                ctx.send(
                    session.conn,
                    Unsubscribed {
                        request: None,
                        details: Dict::new().with("subscription", id).with("reason", reason),
                    },
                );
            }
        }
        Some(victims.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{Fixture, req};
    use wamp_proto::Value;

    const SUB: ClientFeatures = ClientFeatures::SUBSCRIBER.with(ClientFeatures::PUBLISHER);

    fn subscribe(b: &mut Broker, f: &mut Fixture, s: SessionId, r: u64, topic: &str, opts: Dict) {
        f.with(|ctx, ss| {
            b.subscribe(
                ctx,
                ss,
                s,
                Subscribe {
                    request: req(r),
                    options: opts,
                    topic: Uri::from_wire(topic),
                },
                Some(AuthzDecision::allow()),
            )
        });
    }

    fn publish(b: &mut Broker, f: &mut Fixture, s: SessionId, topic: &str, opts: Dict) {
        f.with(|ctx, ss| {
            b.publish(
                ctx,
                ss,
                s,
                Publish {
                    request: req(99),
                    options: opts,
                    topic: Uri::from_wire(topic),
                    payload: Payload::args(vec![Value::from(1u8)]),
                },
                Some(AuthzDecision::allow()),
            )
        });
    }

    fn sub_id(msgs: &[(u64, Message)]) -> SubscriptionId {
        match msgs {
            [(_, Message::Subscribed(s))] => s.subscription,
            other => panic!("{other:?}"),
        }
    }

    fn events(msgs: &[(u64, Message)]) -> Vec<(u64, SubscriptionId, Dict)> {
        msgs.iter()
            .filter_map(|(c, m)| match m {
                Message::Event(e) => Some((*c, e.subscription, e.details.clone())),
                _ => None,
            })
            .collect()
    }

    fn setup(n: u64) -> (Broker, Fixture, Vec<SessionId>) {
        let mut f = Fixture::new();
        let ids = (1..=n)
            .map(|i| {
                f.session(
                    i,
                    SUB,
                    &format!("user{i}"),
                    if i % 2 == 0 { "even" } else { "odd" },
                )
            })
            .collect();
        (Broker::new(Fixture::seed(), &[]), f, ids)
    }

    #[test]
    fn one_subscription_id_per_topic_and_match() {
        let (mut b, mut f, s) = setup(3);
        subscribe(&mut b, &mut f, s[0], 1, "com.t", Dict::new());
        let a = sub_id(&f.drain());
        subscribe(&mut b, &mut f, s[1], 1, "com.t", Dict::new());
        assert_eq!(sub_id(&f.drain()), a);
        // Duplicate SUBSCRIBE: same ID, counted once.
        subscribe(&mut b, &mut f, s[1], 2, "com.t", Dict::new());
        assert_eq!(sub_id(&f.drain()), a);
        subscribe(
            &mut b,
            &mut f,
            s[2],
            1,
            "com.t",
            Dict::new().with("match", "prefix"),
        );
        assert_ne!(sub_id(&f.drain()), a);
        assert_eq!(b.stats().subscriptions, 2);
        assert_eq!(b.stats().subscribers, 3);
    }

    #[test]
    fn fan_out_with_patterns_and_one_broadcast() {
        let (mut b, mut f, s) = setup(4);
        subscribe(&mut b, &mut f, s[0], 1, "com.a.b", Dict::new());
        subscribe(&mut b, &mut f, s[1], 1, "com.a.b", Dict::new());
        subscribe(
            &mut b,
            &mut f,
            s[2],
            1,
            "com.a",
            Dict::new().with("match", "prefix"),
        );
        subscribe(
            &mut b,
            &mut f,
            s[2],
            2,
            "com..b",
            Dict::new().with("match", "wildcard"),
        );
        f.drain();
        publish(&mut b, &mut f, s[3], "com.a.b", Dict::new());
        let ev = events(&f.drain());
        assert_eq!(f.broadcasts, 1, "two exact subscribers share one broadcast");
        assert_eq!(ev.len(), 4);
        assert!(ev[..2].iter().all(|e| e.2.is_empty()));
        assert!(
            ev[2..]
                .iter()
                .all(|e| e.2.get_str("topic") == Some("com.a.b") && e.0 == 3)
        );
        publish(&mut b, &mut f, s[3], "com.x.b", Dict::new());
        assert_eq!(events(&f.drain()).len(), 1);
        publish(&mut b, &mut f, s[3], "org.a.b", Dict::new());
        assert!(f.drain().is_empty());
    }

    #[test]
    fn publisher_exclusion_and_acknowledge() {
        let (mut b, mut f, s) = setup(2);
        subscribe(&mut b, &mut f, s[0], 1, "t", Dict::new());
        subscribe(&mut b, &mut f, s[1], 1, "t", Dict::new());
        f.drain();
        publish(
            &mut b,
            &mut f,
            s[0],
            "t",
            Dict::new().with("acknowledge", true),
        );
        let out = f.drain();
        assert_eq!(
            events(&out).iter().map(|e| e.0).collect::<Vec<_>>(),
            vec![2]
        );
        assert!(matches!(out.last(), Some((1, Message::Published(_)))));
        publish(
            &mut b,
            &mut f,
            s[0],
            "t",
            Dict::new().with("exclude_me", false),
        );
        let mut got: Vec<u64> = events(&f.drain()).iter().map(|e| e.0).collect();
        got.sort();
        assert_eq!(got, vec![1, 2]);
    }

    #[test]
    fn black_and_white_lists() {
        let (mut b, mut f, s) = setup(5);
        for x in &s[..4] {
            subscribe(&mut b, &mut f, *x, 1, "t", Dict::new());
        }
        f.drain();
        let who = |b: &mut Broker, f: &mut Fixture, opts: Dict| {
            publish(b, f, s[4], "t", opts);
            let mut v: Vec<u64> = events(&f.drain()).iter().map(|e| e.0).collect();
            v.sort();
            v
        };
        let ids = |v: &[SessionId]| Value::List(v.iter().map(|x| Value::from(*x)).collect());
        assert_eq!(
            who(&mut b, &mut f, Dict::new().with("exclude", ids(&s[..1]))),
            vec![2, 3, 4]
        );
        assert_eq!(
            who(&mut b, &mut f, Dict::new().with("eligible", ids(&s[1..3]))),
            vec![2, 3]
        );
        assert_eq!(
            who(&mut b, &mut f, Dict::new().with("eligible", ids(&[]))),
            Vec::<u64>::new()
        );
        let strs = |v: &[&str]| Value::List(v.iter().map(|x| Value::from(*x)).collect());
        assert_eq!(
            who(
                &mut b,
                &mut f,
                Dict::new().with("eligible_authrole", strs(&["even"]))
            ),
            vec![2, 4]
        );
        assert_eq!(
            who(
                &mut b,
                &mut f,
                Dict::new().with("exclude_authid", strs(&["user1", "user4"]))
            ),
            vec![2, 3]
        );
        // ANDed: eligible 1..3 and not role odd.
        assert_eq!(
            who(
                &mut b,
                &mut f,
                Dict::new()
                    .with("eligible", ids(&s[..3]))
                    .with("exclude_authrole", strs(&["odd"]))
            ),
            vec![2]
        );
        assert_eq!(
            who(
                &mut b,
                &mut f,
                Dict::new().with("eligible_authid", strs(&["user3"]))
            ),
            vec![3]
        );
    }

    #[test]
    fn publisher_disclosure() {
        let (mut b, mut f, s) = setup(2);
        subscribe(&mut b, &mut f, s[0], 1, "t", Dict::new());
        f.drain();
        publish(
            &mut b,
            &mut f,
            s[1],
            "t",
            Dict::new().with("disclose_me", true),
        );
        let ev = events(&f.drain());
        assert_eq!(ev[0].2.get_u64("publisher"), Some(s[1].get()));
        assert_eq!(ev[0].2.get_str("publisher_authid"), Some("user2"));
        assert_eq!(ev[0].2.get_str("publisher_authrole"), Some("even"));
    }

    #[test]
    fn retention_and_eligibility() {
        let (mut b, mut f, s) = setup(3);
        f.config.max_retained_events = 2;
        publish(
            &mut b,
            &mut f,
            s[0],
            "com.a",
            Dict::new().with("retain", true),
        );
        publish(
            &mut b,
            &mut f,
            s[0],
            "com.b",
            Dict::new()
                .with("retain", true)
                .with("exclude", Value::List(vec![Value::from(s[2])])),
        );
        assert!(f.drain().is_empty());
        assert_eq!(b.stats().retained, 2);
        // Without get_retained: nothing.
        subscribe(&mut b, &mut f, s[1], 1, "com.a", Dict::new());
        assert_eq!(f.drain().len(), 1);
        subscribe(
            &mut b,
            &mut f,
            s[1],
            2,
            "com.",
            Dict::new()
                .with("match", "prefix")
                .with("get_retained", true),
        );
        let out = f.drain();
        assert!(matches!(out[0].1, Message::Subscribed(_)));
        let ev = events(&out);
        assert_eq!(ev.len(), 2);
        assert!(ev.iter().all(|e| e.2.get_bool("retained") == Some(true)));
        assert_eq!(ev[1].2.get_str("topic"), Some("com.b"));
        // Session 3 is excluded from com.b; the publisher is excluded by default.
        subscribe(
            &mut b,
            &mut f,
            s[2],
            1,
            "com..",
            Dict::new()
                .with("match", "wildcard")
                .with("get_retained", true),
        );
        assert_eq!(events(&f.drain()).len(), 0);
        subscribe(
            &mut b,
            &mut f,
            s[2],
            2,
            "com.a",
            Dict::new().with("get_retained", true),
        );
        assert_eq!(events(&f.drain()).len(), 1);
        subscribe(
            &mut b,
            &mut f,
            s[0],
            1,
            "com.a",
            Dict::new().with("get_retained", true),
        );
        assert_eq!(events(&f.drain()).len(), 0);
        // A third topic evicts the oldest.
        publish(
            &mut b,
            &mut f,
            s[0],
            "com.c",
            Dict::new().with("retain", true),
        );
        f.drain();
        assert_eq!(b.stats().retained, 2);
        subscribe(
            &mut b,
            &mut f,
            s[1],
            3,
            "com.a",
            Dict::new().with("get_retained", true),
        );
        assert_eq!(events(&f.drain()).len(), 0);
    }

    #[test]
    fn errors_and_limits() {
        let (mut b, mut f, s) = setup(1);
        f.config.max_subscriptions_per_session = 1;
        subscribe(&mut b, &mut f, s[0], 1, "bad uri", Dict::new());
        subscribe(&mut b, &mut f, s[0], 2, "a", Dict::new());
        subscribe(&mut b, &mut f, s[0], 3, "b", Dict::new());
        subscribe(&mut b, &mut f, s[0], 4, "a", Dict::new());
        let out = f.drain();
        let uris: Vec<String> = out
            .iter()
            .map(|(_, m)| match m {
                Message::Error(e) => e.error.to_string(),
                other => other.kind().name().to_owned(),
            })
            .collect();
        assert_eq!(
            uris,
            vec![
                uris::INVALID_URI,
                "SUBSCRIBED",
                uris::NOT_AUTHORIZED,
                "SUBSCRIBED"
            ]
        );
        // PUBLISH errors only with acknowledge.
        publish(&mut b, &mut f, s[0], "bad uri", Dict::new());
        publish(&mut b, &mut f, s[0], "wamp.session.on_join", Dict::new());
        assert!(f.drain().is_empty());
        publish(
            &mut b,
            &mut f,
            s[0],
            "bad uri",
            Dict::new().with("acknowledge", true),
        );
        assert!(matches!(&f.drain()[..], [(_, Message::Error(e))] if e.error == uris::INVALID_URI));
        // UNSUBSCRIBE.
        let unsub = |b: &mut Broker, f: &mut Fixture, id: SubscriptionId| {
            f.with(|ctx, ss| {
                b.unsubscribe(
                    ctx,
                    ss,
                    s[0],
                    Unsubscribe {
                        request: req(9),
                        subscription: id,
                    },
                )
            });
            f.drain()
        };
        let id = SubscriptionId::new(1).unwrap();
        assert!(matches!(
            &unsub(&mut b, &mut f, id)[..],
            [(_, Message::Unsubscribed(_))]
        ));
        assert!(
            matches!(&unsub(&mut b, &mut f, id)[..], [(_, Message::Error(e))] if e.error == uris::NO_SUCH_SUBSCRIPTION)
        );
        assert_eq!(b.stats(), BrokerStats::default());
        assert!(f.sessions.get(&s[0]).unwrap().subscriptions.is_empty());
    }

    #[test]
    fn revocation_and_session_removal() {
        let mut f = Fixture::new();
        let a = f.session(
            1,
            SUB.with(ClientFeatures::SUBSCRIBER_SUBSCRIPTION_REVOCATION),
            "a",
            "r",
        );
        let c = f.session(2, SUB, "c", "r");
        let mut b = Broker::new(Fixture::seed(), &[]);
        subscribe(&mut b, &mut f, a, 1, "t", Dict::new());
        subscribe(&mut b, &mut f, c, 1, "t", Dict::new());
        subscribe(&mut b, &mut f, c, 2, "u", Dict::new());
        let id = sub_id(&f.drain()[..1]);
        assert_eq!(
            f.with(|ctx, ss| b.revoke(ctx, ss, id, None, "gone")),
            Some(2)
        );
        let out = f.drain();
        assert_eq!(
            out.len(),
            1,
            "only the subscriber that announced revocation is told"
        );
        match &out[0] {
            (1, Message::Unsubscribed(u)) => {
                assert_eq!(u.request, None);
                assert_eq!(u.details.get_u64("subscription"), Some(id.get()));
                assert_eq!(u.details.get_str("reason"), Some("gone"));
            }
            other => panic!("{other:?}"),
        }
        let subs = f.sessions.get(&c).unwrap().subscriptions.clone();
        assert_eq!(subs.len(), 1);
        b.remove_session(&mut f.meta, c, &subs);
        assert_eq!(b.stats(), BrokerStats::default());
    }
}
