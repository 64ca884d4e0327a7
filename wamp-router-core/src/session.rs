//! The router's record of one joined session, and the client's announced roles and features.

use std::collections::VecDeque;
use std::sync::Arc;

use wamp_proto::id::{IdSequence, RegistrationId, SessionId, SubscriptionId};
use wamp_proto::{Dict, Message, Payload, Uri, Value};

use crate::action::ConnId;
use crate::decision::{Action, AuthzDecision, DecisionTicket};
use crate::error::ProtocolViolation;

/// Client roles and the advanced features the router looks at, as announced in HELLO.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ClientFeatures(u32);

impl ClientFeatures {
    /// Role `publisher`.
    pub const PUBLISHER: Self = Self(1 << 0);
    /// Role `subscriber`.
    pub const SUBSCRIBER: Self = Self(1 << 1);
    /// Role `caller`.
    pub const CALLER: Self = Self(1 << 2);
    /// Role `callee`.
    pub const CALLEE: Self = Self(1 << 3);
    /// `callee.features.call_canceling`.
    pub const CALLEE_CALL_CANCELING: Self = Self(1 << 4);
    /// `callee.features.progressive_call_results`.
    pub const CALLEE_PROGRESSIVE_RESULTS: Self = Self(1 << 5);
    /// `callee.features.progressive_call_invocations`.
    pub const CALLEE_PROGRESSIVE_INVOCATIONS: Self = Self(1 << 6);
    /// `callee.features.call_timeout`.
    pub const CALLEE_CALL_TIMEOUT: Self = Self(1 << 7);
    /// `callee.features.registration_revocation`.
    pub const CALLEE_REGISTRATION_REVOCATION: Self = Self(1 << 8);
    /// `caller.features.progressive_call_invocations`.
    pub const CALLER_PROGRESSIVE_INVOCATIONS: Self = Self(1 << 9);
    /// `subscriber.features.subscription_revocation`.
    pub const SUBSCRIBER_SUBSCRIPTION_REVOCATION: Self = Self(1 << 10);

    /// No role, no feature.
    pub const fn empty() -> Self {
        Self(0)
    }
    /// Whether all of `other` is announced.
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }
    /// Union.
    #[must_use]
    pub const fn with(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }

    /// Reads `HELLO.Details.roles`. A missing or empty `roles`, no known role, a role or
    /// `features` that is not a dict, or a known feature that is not a bool is a protocol
    /// violation (as Autobahn checks); unknown roles and features are ignored.
    pub fn from_hello(details: &Dict) -> Result<Self, ProtocolViolation> {
        let roles = details
            .get_dict("roles")
            .ok_or(ProtocolViolation::MalformedHello)?;
        let mut f = Self::empty();
        type Features = &'static [(&'static str, ClientFeatures)];
        const ROLES: [(&str, ClientFeatures, Features); 4] = [
            ("publisher", ClientFeatures::PUBLISHER, &[]),
            (
                "subscriber",
                ClientFeatures::SUBSCRIBER,
                &[(
                    "subscription_revocation",
                    ClientFeatures::SUBSCRIBER_SUBSCRIPTION_REVOCATION,
                )],
            ),
            (
                "caller",
                ClientFeatures::CALLER,
                &[(
                    "progressive_call_invocations",
                    ClientFeatures::CALLER_PROGRESSIVE_INVOCATIONS,
                )],
            ),
            (
                "callee",
                ClientFeatures::CALLEE,
                &[
                    ("call_canceling", ClientFeatures::CALLEE_CALL_CANCELING),
                    (
                        "progressive_call_results",
                        ClientFeatures::CALLEE_PROGRESSIVE_RESULTS,
                    ),
                    (
                        "progressive_call_invocations",
                        ClientFeatures::CALLEE_PROGRESSIVE_INVOCATIONS,
                    ),
                    ("call_timeout", ClientFeatures::CALLEE_CALL_TIMEOUT),
                    (
                        "registration_revocation",
                        ClientFeatures::CALLEE_REGISTRATION_REVOCATION,
                    ),
                ],
            ),
        ];
        for (name, role, features) in ROLES {
            let Some(v) = roles.get(name) else { continue };
            let role_dict = v.as_dict().ok_or(ProtocolViolation::MalformedHello)?;
            f = f.with(role);
            let Some(fv) = role_dict.get("features") else {
                continue;
            };
            let fd = fv.as_dict().ok_or(ProtocolViolation::MalformedHello)?;
            for (key, flag) in features {
                match fd.get(key) {
                    None => {}
                    Some(Value::Bool(true)) => f = f.with(*flag),
                    Some(Value::Bool(false)) => {}
                    Some(_) => return Err(ProtocolViolation::MalformedHello),
                }
            }
        }
        if f.0 & 0b1111 == 0 {
            return Err(ProtocolViolation::MalformedHello);
        }
        Ok(f)
    }
}

/// Who a session is, as authentication established it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    /// `authid`.
    pub authid: Arc<str>,
    /// `authrole`.
    pub authrole: Arc<str>,
    /// `authmethod`.
    pub authmethod: Arc<str>,
    /// `authprovider`.
    pub authprovider: Arc<str>,
}

/// The authorizations a message needs — its own, and the extra one of
/// `wamp.subscription.get_events` (subscribe on the subscription's URI) or
/// `wamp.session.add_testament` (publish on the testament's topic) — with the answers so far.
#[derive(Debug, Default)]
pub(crate) struct Needs {
    pub(crate) items: [Option<(Action, Uri)>; 2],
    pub(crate) granted: [Option<AuthzDecision>; 2],
}

impl Needs {
    /// The first authorization still unanswered.
    pub(crate) fn next(&self) -> Option<(usize, Action, &Uri)> {
        self.items
            .iter()
            .zip(&self.granted)
            .enumerate()
            .find_map(|(i, (n, g))| match (n, g) {
                (Some((a, u)), None) => Some((i, *a, u)),
                _ => None,
            })
    }
}

/// A request waiting for dynamic authorization.
#[derive(Debug)]
pub(crate) struct Parked {
    pub(crate) msg: Message,
    pub(crate) ticket: DecisionTicket,
    pub(crate) needs: Needs,
}

/// A testament: published when the session goes.
#[derive(Debug, Clone)]
pub(crate) struct Testament {
    pub(crate) topic: Uri,
    pub(crate) options: Dict,
    pub(crate) payload: Payload,
    pub(crate) disclose: bool,
}

/// One joined session.
#[derive(Debug)]
pub(crate) struct Session {
    pub(crate) conn: ConnId,
    pub(crate) identity: Identity,
    /// `WELCOME.Details.authextra` (for the session meta API).
    pub(crate) authextra: Dict,
    pub(crate) features: ClientFeatures,
    /// Highest client request ID seen (the watermark of the request-ID check).
    pub(crate) last_request: u64,
    /// Router-to-callee INVOCATION request IDs.
    pub(crate) invocations: IdSequence,
    pub(crate) subscriptions: Vec<SubscriptionId>,
    pub(crate) registrations: Vec<RegistrationId>,
    pub(crate) pending_calls: usize,
    pub(crate) pending_invocations: usize,
    /// The request waiting for a dynamic authorization, if any.
    pub(crate) parked: Option<Box<Parked>>,
    /// Messages that arrived while a request was parked (bounded).
    pub(crate) queue: VecDeque<Message>,
    /// Testaments: `[detached, destroyed]`.
    pub(crate) testaments: [Vec<Testament>; 2],
    /// The transport's details (session meta API).
    pub(crate) transport: Option<std::sync::Arc<crate::TransportInfo>>,
}

impl Session {
    pub(crate) fn new(conn: ConnId, identity: Identity, features: ClientFeatures) -> Self {
        Session {
            conn,
            identity,
            authextra: Dict::new(),
            features,
            parked: None,
            queue: VecDeque::new(),
            testaments: [Vec::new(), Vec::new()],
            transport: None,
            last_request: 0,
            invocations: IdSequence::new(),
            subscriptions: Vec::new(),
            registrations: Vec::new(),
            pending_calls: 0,
            pending_invocations: 0,
        }
    }
}

/// The sessions of one realm.
/// Boxed: a session is about 280 octets and the table keeps up to twice as many buckets as
/// sessions, so unboxed the table alone would cost up to 600 octets per session.
pub(crate) type Sessions = crate::index::FastMap<SessionId, Box<Session>>;

#[cfg(test)]
mod tests {
    use super::*;

    fn hello(roles: Dict) -> Dict {
        Dict::new().with("roles", roles)
    }

    #[test]
    fn roles_and_features() {
        let d = hello(
            Dict::new()
                .with(
                    "callee",
                    Dict::new().with(
                        "features",
                        Dict::new()
                            .with("call_canceling", true)
                            .with("progressive_call_results", false)
                            .with("unknown_feature", 7u8),
                    ),
                )
                .with("publisher", Dict::new())
                .with("unknown_role", 3u8),
        );
        let f = ClientFeatures::from_hello(&d).unwrap();
        assert!(f.contains(ClientFeatures::CALLEE.with(ClientFeatures::PUBLISHER)));
        assert!(f.contains(ClientFeatures::CALLEE_CALL_CANCELING));
        assert!(!f.contains(ClientFeatures::CALLEE_PROGRESSIVE_RESULTS));
        assert!(!f.contains(ClientFeatures::CALLER));
    }

    #[test]
    fn malformed_roles() {
        assert!(ClientFeatures::from_hello(&Dict::new()).is_err());
        assert!(ClientFeatures::from_hello(&hello(Dict::new())).is_err());
        assert!(ClientFeatures::from_hello(&hello(Dict::new().with("caller", 1u8))).is_err());
        assert!(ClientFeatures::from_hello(&hello(Dict::new().with("x", Dict::new()))).is_err());
        let bad_feature = Dict::new().with(
            "callee",
            Dict::new().with("features", Dict::new().with("call_canceling", 1u8)),
        );
        assert!(ClientFeatures::from_hello(&hello(bad_feature)).is_err());
    }
}
