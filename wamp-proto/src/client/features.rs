//! Role and feature announcement (HELLO) and the router's features (WELCOME).

use crate::{Dict, Value};

/// Which client roles a session announces in HELLO.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Roles {
    /// Caller (CALL, CANCEL).
    pub caller: bool,
    /// Callee (REGISTER, YIELD).
    pub callee: bool,
    /// Publisher (PUBLISH).
    pub publisher: bool,
    /// Subscriber (SUBSCRIBE).
    pub subscriber: bool,
}

impl Default for Roles {
    /// All four roles.
    fn default() -> Self {
        Roles {
            caller: true,
            callee: true,
            publisher: true,
            subscriber: true,
        }
    }
}

/// The features we implement, per role, as announced in `HELLO.Details.roles.<role>.features`.
/// `payload_transparency` is Autobahn's name for `payload_passthru_mode`; both are announced.
pub const CALLER_FEATURES: &[&str] = &[
    "call_canceling",
    "call_timeout",
    "caller_identification",
    "payload_passthru_mode",
    "payload_transparency",
    "progressive_call_invocations",
    "progressive_call_results",
];
/// Callee features we announce.
pub const CALLEE_FEATURES: &[&str] = &[
    "call_canceling",
    "call_timeout",
    "call_trustlevels",
    "caller_identification",
    "pattern_based_registration",
    "payload_passthru_mode",
    "payload_transparency",
    "progressive_call_invocations",
    "progressive_call_results",
    "registration_revocation",
    "shared_registration",
];
/// Publisher features we announce.
pub const PUBLISHER_FEATURES: &[&str] = &[
    "payload_passthru_mode",
    "payload_transparency",
    "publisher_exclusion",
    "publisher_identification",
    "subscriber_blackwhite_listing",
];
/// Subscriber features we announce.
pub const SUBSCRIBER_FEATURES: &[&str] = &[
    "pattern_based_subscription",
    "payload_passthru_mode",
    "payload_transparency",
    "publication_trustlevels",
    "publisher_identification",
    "subscription_revocation",
];

fn role(features: &[&str]) -> Value {
    let f: Dict = features.iter().map(|f| (*f, true)).collect();
    Dict::new().with("features", f).into()
}

/// `HELLO.Details.roles` for `roles`.
pub(crate) fn hello_roles(roles: Roles) -> Dict {
    let mut d = Dict::with_capacity(4);
    if roles.caller {
        d.insert("caller", role(CALLER_FEATURES));
    }
    if roles.callee {
        d.insert("callee", role(CALLEE_FEATURES));
    }
    if roles.publisher {
        d.insert("publisher", role(PUBLISHER_FEATURES));
    }
    if roles.subscriber {
        d.insert("subscriber", role(SUBSCRIBER_FEATURES));
    }
    d
}

/// A router feature the client may need to know about before using it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Feature {
    /// Dealer: CANCEL / INTERRUPT.
    CallCanceling,
    /// Dealer: `CALL.Options.timeout`.
    CallTimeout,
    /// Dealer: `disclose_me` / `disclose_caller`.
    CallerIdentification,
    /// Dealer: `RESULT.Details.progress`.
    ProgressiveCallResults,
    /// Dealer: `CALL.Options.progress`.
    ProgressiveCallInvocations,
    /// Dealer: prefix and wildcard registrations.
    PatternBasedRegistration,
    /// Dealer: `invoke` policies.
    SharedRegistration,
    /// Dealer: router-initiated UNREGISTERED.
    RegistrationRevocation,
    /// Broker: `disclose_me`.
    PublisherIdentification,
    /// Broker: `exclude_me`.
    PublisherExclusion,
    /// Broker: `exclude*` / `eligible*`.
    SubscriberBlackwhiteListing,
    /// Broker: prefix and wildcard subscriptions.
    PatternBasedSubscription,
    /// Broker: router-initiated UNSUBSCRIBED.
    SubscriptionRevocation,
    /// Broker: `retain` / `get_retained`.
    EventRetention,
    /// Either role: `payload_passthru_mode` (or Autobahn's `payload_transparency`).
    PayloadPassthru,
}

impl Feature {
    const ALL: [(Feature, &'static str); 15] = [
        (Feature::CallCanceling, "call_canceling"),
        (Feature::CallTimeout, "call_timeout"),
        (Feature::CallerIdentification, "caller_identification"),
        (Feature::ProgressiveCallResults, "progressive_call_results"),
        (
            Feature::ProgressiveCallInvocations,
            "progressive_call_invocations",
        ),
        (
            Feature::PatternBasedRegistration,
            "pattern_based_registration",
        ),
        (Feature::SharedRegistration, "shared_registration"),
        (Feature::RegistrationRevocation, "registration_revocation"),
        (Feature::PublisherIdentification, "publisher_identification"),
        (Feature::PublisherExclusion, "publisher_exclusion"),
        (
            Feature::SubscriberBlackwhiteListing,
            "subscriber_blackwhite_listing",
        ),
        (
            Feature::PatternBasedSubscription,
            "pattern_based_subscription",
        ),
        (Feature::SubscriptionRevocation, "subscription_revocation"),
        (Feature::EventRetention, "event_retention"),
        (Feature::PayloadPassthru, "payload_passthru_mode"),
    ];

    /// The feature key on the wire.
    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(f, _)| *f == self)
            .map_or("", |(_, n)| n)
    }

    fn bit(self) -> u32 {
        1 << (self as u32)
    }
}

/// The roles and features a router announced in WELCOME.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RouterFeatures {
    broker: Option<u32>,
    dealer: Option<u32>,
}

fn parse_role(d: &Dict) -> u32 {
    let Some(f) = d.get_dict("features") else {
        return 0;
    };
    let mut bits = 0;
    for (feature, name) in Feature::ALL {
        if f.get_bool(name) == Some(true) {
            bits |= feature.bit();
        }
    }
    if f.get_bool("payload_transparency") == Some(true) {
        bits |= Feature::PayloadPassthru.bit();
    }
    bits
}

impl RouterFeatures {
    /// Reads `WELCOME.Details.roles`; `None` unless it is a dict naming `broker` or `dealer`.
    pub fn from_roles(roles: &Dict) -> Option<Self> {
        let broker = roles.get_dict("broker").map(parse_role);
        let dealer = roles.get_dict("dealer").map(parse_role);
        if broker.is_none() && dealer.is_none() {
            return None;
        }
        Some(RouterFeatures { broker, dealer })
    }
    /// Whether the router has the broker role.
    pub fn has_broker(&self) -> bool {
        self.broker.is_some()
    }
    /// Whether the router has the dealer role.
    pub fn has_dealer(&self) -> bool {
        self.dealer.is_some()
    }
    /// Whether the broker announced `f`.
    pub fn broker(&self, f: Feature) -> bool {
        self.broker.is_some_and(|b| b & f.bit() != 0)
    }
    /// Whether the dealer announced `f`.
    pub fn dealer(&self, f: Feature) -> bool {
        self.dealer.is_some_and(|b| b & f.bit() != 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_router_features() {
        let roles = Dict::new()
            .with(
                "dealer",
                Dict::new().with(
                    "features",
                    Dict::new()
                        .with("call_canceling", true)
                        .with("payload_transparency", true)
                        .with("progressive_call_results", 1u8),
                ),
            )
            .with("broker", Dict::new());
        let f = RouterFeatures::from_roles(&roles).unwrap();
        assert!(f.has_broker() && f.has_dealer());
        assert!(f.dealer(Feature::CallCanceling));
        assert!(f.dealer(Feature::PayloadPassthru));
        assert!(
            !f.dealer(Feature::ProgressiveCallResults),
            "non-bool is not announced"
        );
        assert!(!f.broker(Feature::CallCanceling));
        assert!(RouterFeatures::from_roles(&Dict::new()).is_none());
        assert_eq!(Feature::SharedRegistration.name(), "shared_registration");
    }

    #[test]
    fn hello_roles_shape() {
        let r = hello_roles(Roles {
            caller: true,
            callee: false,
            publisher: false,
            subscriber: true,
        });
        assert_eq!(r.keys().collect::<Vec<_>>(), ["caller", "subscriber"]);
        let caller = r.get_dict("caller").unwrap().get_dict("features").unwrap();
        assert_eq!(caller.get_bool("progressive_call_results"), Some(true));
    }
}
