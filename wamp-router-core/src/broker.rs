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
use crate::ids;
use crate::index::{FastMap, HashSeed, UriIndex, maybe_shrink};
use crate::realm::{Action, authorize};
use crate::session::{ClientFeatures, Identity, Sessions};
use crate::uris;

/// One subscription: a topic pattern with its match policy and every subscribed session.
#[derive(Debug)]
struct Subscription {
    uri: Uri,
    policy: MatchPolicy,
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
struct Filter {
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

    fn needs_identity(&self) -> bool {
        !self.exclude_authid.is_empty()
            || !self.exclude_authrole.is_empty()
            || self.eligible_authid.is_some()
            || self.eligible_authrole.is_some()
    }

    fn admits(&self, session: SessionId, identity: Option<&Identity>) -> bool {
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
}

fn policy_of(options: &Dict) -> Option<MatchPolicy> {
    match options.get("match") {
        None => Some(MatchPolicy::Exact),
        Some(v) => v.as_str().and_then(MatchPolicy::parse),
    }
}

impl Broker {
    pub(crate) fn new(seed: HashSeed) -> Self {
        Broker {
            index: UriIndex::new(seed),
            subs: seed.map(),
            retained: BTreeMap::new(),
            retained_order: BTreeMap::new(),
            retain_seq: 0,
            subscribers: 0,
            scratch: Vec::new(),
        }
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
        if !authorize(&session.identity, Action::Subscribe, &msg.topic) {
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
                        subscribers: BTreeMap::new(),
                        snapshot: None,
                    },
                );
                self.index.insert(policy, msg.topic.clone(), id);
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
        if !self.remove_subscriber(msg.subscription, sid) {
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
    fn remove_subscriber(&mut self, id: SubscriptionId, sid: SessionId) -> bool {
        let Some(sub) = self.subs.get_mut(&id) else {
            return false;
        };
        if sub.subscribers.remove(&sid).is_none() {
            return false;
        }
        self.subscribers -= 1;
        sub.snapshot = None;
        if sub.subscribers.is_empty() {
            let (policy, uri) = (sub.policy, sub.uri.clone());
            self.index.remove(policy, uri.as_str());
            self.subs.remove(&id);
            maybe_shrink(&mut self.subs);
        }
        true
    }

    /// A leaving session's subscriptions.
    pub(crate) fn remove_session(&mut self, sid: SessionId, subscriptions: &[SubscriptionId]) {
        for id in subscriptions {
            self.remove_subscriber(*id, sid);
        }
    }

    /// PUBLISH.
    pub(crate) fn publish(
        &mut self,
        ctx: &mut Ctx<'_>,
        sessions: &Sessions,
        sid: SessionId,
        msg: Publish,
    ) {
        let Some(session) = sessions.get(&sid) else {
            return;
        };
        let conn = session.conn;
        let ack = msg.options.get_bool("acknowledge") == Some(true);
        let kind = MessageKind::Publish;
        if !msg.topic.is_valid(ctx.config.uri_rules) || msg.topic.is_reserved() {
            if ack {
                ctx.error(conn, kind, msg.request, uris::INVALID_URI, None);
            }
            return;
        }
        if !authorize(&session.identity, Action::Publish, &msg.topic) {
            if ack {
                ctx.error(conn, kind, msg.request, uris::NOT_AUTHORIZED, None);
            }
            return;
        }
        let publication =
            PublicationId::new(random_id(&mut *ctx.entropy)).unwrap_or(ids::PUBLICATION_ONE);
        let exclude_me = msg.options.get_bool("exclude_me") != Some(false);
        let filter = Filter::from_options(&msg.options);
        let mut details = Dict::new();
        if msg.options.get_bool("disclose_me") == Some(true) {
            details.insert("publisher", sid);
            details.insert("publisher_authid", &*session.identity.authid);
            details.insert("publisher_authrole", &*session.identity.authrole);
        }
        let retain = msg.options.get_bool("retain") == Some(true);
        let mut payload = Some(msg.payload);

        let mut matches = std::mem::take(&mut self.scratch);
        matches.clear();
        self.index.matches(msg.topic.as_str(), &mut matches);
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
                d.insert("topic", msg.topic.as_str());
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
                msg.topic,
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
            self.remove_subscriber(id, *sid);
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
