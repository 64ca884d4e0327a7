//! Unit tests of the session, state by state.

use std::time::{Duration, Instant};

use super::*;
use crate::auth::base64_encode;
use crate::auth::cryptosign::{CryptosignKey, hex32};
use crate::auth::scram::ScramProfile;
use crate::id::{PublicationId, SessionId};
use crate::message::{
    CallResult, Challenge, Event, Invocation, Published, Registered, Subscribed, Welcome,
};
use crate::{SeededEntropy, Serializer};

pub(super) struct H {
    pub(super) s: Session,
    pub(super) t0: Instant,
}

pub(super) fn all_features() -> Dict {
    let f = |names: &[&str]| -> Value {
        Dict::new()
            .with(
                "features",
                names.iter().map(|n| (*n, true)).collect::<Dict>(),
            )
            .into()
    };
    Dict::new()
        .with(
            "broker",
            f(&[
                "pattern_based_subscription",
                "publisher_exclusion",
                "publisher_identification",
                "subscriber_blackwhite_listing",
                "subscription_revocation",
                "event_retention",
                "payload_passthru_mode",
            ]),
        )
        .with(
            "dealer",
            f(&[
                "call_canceling",
                "call_timeout",
                "caller_identification",
                "progressive_call_results",
                "progressive_call_invocations",
                "pattern_based_registration",
                "shared_registration",
                "registration_revocation",
                "payload_passthru_mode",
            ]),
        )
}

pub(super) fn welcome(details: Dict) -> Message {
    let details = if details.contains_key("roles") {
        details
    } else {
        details.with("roles", all_features())
    };
    Welcome {
        session: SessionId::new(77).unwrap(),
        details,
    }
    .into()
}

impl H {
    // The virtual clock's origin: the one real instant a test reads.
    #[allow(clippy::disallowed_methods)]
    pub(super) fn new() -> Self {
        H {
            s: Session::new(ClientConfig::default(), Box::new(SeededEntropy::new(5))),
            t0: Instant::now(),
        }
    }
    pub(super) fn drain(&mut self) -> Vec<ClientAction> {
        std::iter::from_fn(|| self.s.poll_action()).collect()
    }
    pub(super) fn sent(&mut self) -> Vec<Message> {
        self.drain()
            .into_iter()
            .filter_map(|a| match a {
                ClientAction::Send(m) => Some(m),
                _ => None,
            })
            .collect()
    }
    pub(super) fn events(&mut self) -> Vec<ClientEvent> {
        self.drain()
            .into_iter()
            .filter_map(|a| match a {
                ClientAction::Event(e) => Some(e),
                _ => None,
            })
            .collect()
    }
    pub(super) fn joined() -> Self {
        let mut h = H::new();
        h.s.join(h.t0, JoinOptions::anonymous("realm1")).unwrap();
        h.s.handle_message(h.t0, welcome(Dict::new()));
        h.drain();
        assert_eq!(h.s.state(), SessionState::Established);
        h
    }
    pub(super) fn feed(&mut self, m: impl Into<Message>) {
        self.s.handle_message(self.t0, m.into());
    }
    /// Asserts the session aborted with a protocol violation.
    pub(super) fn assert_violation(&mut self) {
        let actions = self.drain();
        match &actions[0] {
            ClientAction::Send(Message::Abort(a)) => assert_eq!(a.reason, PROTOCOL_VIOLATION),
            other => panic!("expected ABORT, got {other:?}"),
        }
        assert!(
            matches!(
                actions.last(),
                Some(ClientAction::Close(CloseCause::ProtocolViolation(_)))
            ),
            "{actions:?}"
        );
        assert_eq!(self.s.state(), SessionState::Closed);
    }
}

fn id(n: u64) -> RequestId {
    RequestId::new(n).unwrap()
}

fn json(m: &Message) -> String {
    String::from_utf8(Serializer::Json.encode_to_vec(m).unwrap()).unwrap()
}

// ---------------------------------------------------------------------------------------------
// Idle
// ---------------------------------------------------------------------------------------------

#[test]
fn idle_rejects_commands_and_messages() {
    let mut h = H::new();
    assert_eq!(h.s.state(), SessionState::Idle);
    assert_eq!(
        h.s.call(h.t0, "a.b".into(), Payload::empty(), CallOptions::default()),
        Err(UsageError::InvalidState(SessionState::Idle))
    );
    assert_eq!(
        h.s.leave(h.t0, None),
        Err(UsageError::InvalidState(SessionState::Idle))
    );
    assert_eq!(h.s.poll_timeout(), None);
    h.feed(welcome(Dict::new()));
    h.assert_violation();
}

#[test]
fn join_validates_options() {
    let mut h = H::new();
    assert_eq!(
        h.s.join(h.t0, JoinOptions::anonymous("bad realm")),
        Err(UsageError::InvalidUri)
    );
    assert_eq!(
        h.s.join(
            h.t0,
            JoinOptions::anonymous("realm1").with(Authenticator::Ticket("t".into()))
        ),
        Err(UsageError::MissingAuthid)
    );
    assert_eq!(
        h.s.join(
            h.t0,
            JoinOptions::anonymous("realm1")
                .with(Authenticator::Anonymous)
                .with(Authenticator::Anonymous)
        ),
        Err(UsageError::DuplicateAuthMethod)
    );
    let mut o = JoinOptions::anonymous("realm1").with(Authenticator::Cryptosign(
        CryptosignKey::from_seed(&[1; 32]),
    ));
    o.channel_binding = Some(ChannelBindingData {
        kind: ChannelBinding::TlsUnique,
        data: vec![1; 31],
    });
    assert_eq!(h.s.join(h.t0, o), Err(UsageError::InvalidChannelBinding));
    assert_eq!(h.s.state(), SessionState::Idle);
    assert!(h.drain().is_empty());
}

// ---------------------------------------------------------------------------------------------
// HelloSent
// ---------------------------------------------------------------------------------------------

#[test]
fn hello_announces_roles_features_and_auth() {
    let mut h = H::new();
    let key = CryptosignKey::from_seed(&[9; 32]);
    let mut opts = JoinOptions::anonymous("realm1")
        .authid("joe")
        .with(Authenticator::Cryptosign(key.clone()))
        .with(Authenticator::Ticket("tkt".into()));
    opts.authrole = Some("user".into());
    opts.authextra.insert("x_custom", 1u8);
    h.s.join(h.t0, opts).unwrap();
    assert_eq!(h.s.state(), SessionState::HelloSent);
    let sent = h.sent();
    let Message::Hello(hello) = &sent[0] else {
        panic!("{sent:?}")
    };
    assert_eq!(hello.realm, "realm1");
    let d = &hello.details;
    let roles = d.get_dict("roles").unwrap();
    for (role, feats) in [
        ("caller", CALLER_FEATURES),
        ("callee", CALLEE_FEATURES),
        ("publisher", PUBLISHER_FEATURES),
        ("subscriber", SUBSCRIBER_FEATURES),
    ] {
        let f = roles.get_dict(role).unwrap().get_dict("features").unwrap();
        for name in feats {
            assert_eq!(f.get_bool(name), Some(true), "{role}.{name}");
        }
    }
    assert!(d.get_str("agent").unwrap().starts_with("wamp-rs-"));
    assert_eq!(
        d.get_list("authmethods").unwrap(),
        &vec![Value::from("cryptosign"), Value::from("ticket")]
    );
    assert_eq!(d.get_str("authid"), Some("joe"));
    assert_eq!(d.get_str("authrole"), Some("user"));
    let ae = d.get_dict("authextra").unwrap();
    assert_eq!(ae.get_str("pubkey"), Some(key.public_key_hex().as_str()));
    assert_eq!(ae.get_u64("x_custom"), Some(1));
    // No authmethods for a plain anonymous join.
    let mut h = H::new();
    h.s.join(h.t0, JoinOptions::anonymous("realm1")).unwrap();
    let sent = h.sent();
    let Message::Hello(hello) = &sent[0] else {
        panic!()
    };
    assert!(!hello.details.contains_key("authmethods"));
    assert!(!hello.details.contains_key("authextra"));
}

#[test]
fn welcome_establishes() {
    let mut h = H::new();
    h.s.join(h.t0, JoinOptions::anonymous("realm1")).unwrap();
    h.drain();
    h.feed(welcome(
        Dict::new()
            .with("authid", "anon-1")
            .with("authrole", "anonymous")
            .with("authmethod", "anonymous")
            .with("authprovider", "static"),
    ));
    let ev = h.events();
    let ClientEvent::Joined(d) = &ev[0] else {
        panic!("{ev:?}")
    };
    assert_eq!(d.session.get(), 77);
    assert_eq!(d.realm, "realm1");
    assert_eq!(d.authid.as_deref(), Some("anon-1"));
    assert_eq!(d.authrole.as_deref(), Some("anonymous"));
    assert!(d.router.dealer(Feature::CallCanceling));
    assert_eq!(h.s.details().unwrap().session.get(), 77);
    assert_eq!(h.s.poll_timeout(), None, "join timer cancelled");
}

#[test]
fn welcome_without_roles_is_a_violation() {
    let mut h = H::new();
    h.s.join(h.t0, JoinOptions::anonymous("realm1")).unwrap();
    h.drain();
    h.feed(welcome(Dict::new().with("roles", Dict::new())));
    h.assert_violation();
}

#[test]
fn abort_while_joining() {
    let mut h = H::new();
    h.s.join(h.t0, JoinOptions::anonymous("realm1")).unwrap();
    h.drain();
    h.feed(Abort {
        details: Dict::new().with("message", "no"),
        reason: "wamp.error.no_such_realm".into(),
        payload: Payload::empty(),
    });
    let a = h.drain();
    assert!(
        !a.iter().any(|a| matches!(a, ClientAction::Send(_))),
        "ABORT is never answered"
    );
    match &a[0] {
        ClientAction::Event(ClientEvent::Closed(c)) => {
            assert_eq!(c.cause, CloseCause::Aborted);
            assert_eq!(c.reason, "wamp.error.no_such_realm");
            assert_eq!(c.details.get_str("message"), Some("no"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(a[1], ClientAction::Close(CloseCause::Aborted));
    assert_eq!(h.s.state(), SessionState::Closed);
}

#[test]
fn unexpected_message_while_joining() {
    let mut h = H::new();
    h.s.join(h.t0, JoinOptions::anonymous("realm1")).unwrap();
    h.drain();
    h.feed(CallResult {
        request: id(1),
        details: Dict::new(),
        payload: Payload::empty(),
    });
    h.assert_violation();
}

#[test]
fn join_timeout() {
    let mut h = H::new();
    h.s.join(h.t0, JoinOptions::anonymous("realm1")).unwrap();
    h.drain();
    let t = h.s.poll_timeout().unwrap();
    assert_eq!(t, h.t0 + Duration::from_secs(30));
    h.s.handle_timeout(t - Duration::from_millis(1));
    assert!(h.drain().is_empty());
    h.s.handle_timeout(t);
    let a = h.drain();
    match &a[0] {
        ClientAction::Send(Message::Abort(m)) => assert_eq!(m.reason, TIMEOUT),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        a.last(),
        Some(&ClientAction::Close(CloseCause::JoinTimeout))
    );
    assert_eq!(h.s.poll_timeout(), None);
}

#[test]
fn leave_while_joining_aborts() {
    let mut h = H::new();
    h.s.join(h.t0, JoinOptions::anonymous("realm1")).unwrap();
    h.drain();
    h.s.leave(h.t0, None).unwrap();
    let a = h.drain();
    assert!(matches!(&a[0], ClientAction::Send(Message::Abort(m)) if m.reason == CLOSE_NORMAL));
    assert_eq!(
        a.last(),
        Some(&ClientAction::Close(CloseCause::JoinCancelled))
    );
}

#[test]
fn malformed_bytes_are_a_violation() {
    let mut h = H::joined();
    h.s.handle_malformed(h.t0, DecodeError::Empty);
    h.assert_violation();
}

// ---------------------------------------------------------------------------------------------
// Challenged: every method
// ---------------------------------------------------------------------------------------------

fn challenge(method: &str, extra: Dict) -> Message {
    Challenge {
        auth_method: method.into(),
        extra,
    }
    .into()
}

fn join_with(h: &mut H, opts: JoinOptions) -> Dict {
    h.s.join(h.t0, opts).unwrap();
    let sent = h.sent();
    let Message::Hello(hello) = &sent[0] else {
        panic!()
    };
    hello.details.clone()
}

fn authenticate_sent(h: &mut H) -> crate::message::Authenticate {
    let sent = h.sent();
    match &sent[..] {
        [Message::Authenticate(a)] => a.clone(),
        other => panic!("{other:?}"),
    }
}

#[test]
fn ticket_challenge() {
    let mut h = H::new();
    join_with(
        &mut h,
        JoinOptions::anonymous("realm1")
            .authid("joe")
            .with(Authenticator::Ticket("s3cret".into())),
    );
    h.feed(challenge("ticket", Dict::new()));
    assert_eq!(h.s.state(), SessionState::Challenged);
    let a = authenticate_sent(&mut h);
    assert_eq!(a.signature, "s3cret");
    assert!(a.extra.is_empty());
    h.feed(welcome(Dict::new().with("authmethod", "ticket")));
    assert_eq!(h.s.state(), SessionState::Established);
}

#[test]
fn wampcra_challenge_plain_and_salted() {
    let ch = r#"{"authid":"joe","nonce":"abc"}"#;
    for salted in [false, true] {
        let mut h = H::new();
        join_with(
            &mut h,
            JoinOptions::anonymous("realm1")
                .authid("joe")
                .with(Authenticator::WampCra("secret".into())),
        );
        let mut extra = Dict::new().with("challenge", ch);
        let key = if salted {
            let p = wampcra::SaltParams {
                salt: "salt123".into(),
                iterations: 100,
                keylen: 32,
            };
            p.write_into(&mut extra);
            wampcra::derive_key("secret", &p, &crate::auth::KdfLimits::default()).unwrap()
        } else {
            "secret".to_owned()
        };
        h.feed(challenge("wampcra", extra));
        let a = authenticate_sent(&mut h);
        assert!(wampcra::verify(key.as_bytes(), ch, &a.signature));
    }
}

#[test]
fn wampcra_kdf_limits_abort() {
    let mut h = H::new();
    join_with(
        &mut h,
        JoinOptions::anonymous("realm1")
            .authid("joe")
            .with(Authenticator::WampCra("secret".into())),
    );
    let extra = Dict::new()
        .with("challenge", "x")
        .with("salt", "s")
        .with("iterations", 1_000_000_000u64)
        .with("keylen", 32u8);
    h.feed(challenge("wampcra", extra));
    let a = h.drain();
    assert!(
        matches!(&a[0], ClientAction::Send(Message::Abort(m)) if m.reason == CANNOT_AUTHENTICATE)
    );
    assert!(matches!(
        a.last(),
        Some(ClientAction::Close(CloseCause::AuthenticationFailed(Some(
            AuthError::KdfLimit("iterations")
        ))))
    ));
}

#[test]
fn cryptosign_challenge_with_and_without_channel_binding() {
    let key = CryptosignKey::from_seed(&[3; 32]);
    let challenge_hex = "0e9192bc08512c8198da159c1ae600ba91729215f35d56102ee318558e773537";
    let ch = hex32(challenge_hex).unwrap();
    let cid = [0x5a; 32];
    // Without binding.
    let mut h = H::new();
    join_with(
        &mut h,
        JoinOptions::anonymous("realm1").with(Authenticator::Cryptosign(key.clone())),
    );
    h.feed(challenge(
        "cryptosign",
        Dict::new()
            .with("challenge", challenge_hex)
            .with("channel_binding", Value::Null),
    ));
    let a = authenticate_sent(&mut h);
    crate::auth::cryptosign::verify_signature(&key.public_key(), &ch, None, &a.signature).unwrap();
    // With binding.
    let mut h = H::new();
    let mut o = JoinOptions::anonymous("realm1").with(Authenticator::Cryptosign(key.clone()));
    o.channel_binding = Some(ChannelBindingData {
        kind: ChannelBinding::TlsUnique,
        data: cid.to_vec(),
    });
    let hello = join_with(&mut h, o.clone());
    assert_eq!(
        hello
            .get_dict("authextra")
            .unwrap()
            .get_str("channel_binding"),
        Some("tls-unique")
    );
    h.feed(challenge(
        "cryptosign",
        Dict::new()
            .with("challenge", challenge_hex)
            .with("channel_binding", "tls-unique"),
    ));
    let a = authenticate_sent(&mut h);
    crate::auth::cryptosign::verify_signature(&key.public_key(), &ch, Some(&cid), &a.signature)
        .unwrap();
    // A binding we did not ask for fails.
    let mut h = H::new();
    join_with(&mut h, o);
    h.feed(challenge(
        "cryptosign",
        Dict::new()
            .with("challenge", challenge_hex)
            .with("channel_binding", "tls-exporter"),
    ));
    assert!(matches!(
        h.drain().last(),
        Some(ClientAction::Close(CloseCause::AuthenticationFailed(Some(
            AuthError::ChannelBindingMismatch
        ))))
    ));
}

fn scram_round(
    profile: ScramProfile,
    kdf: crate::auth::scram::Kdf,
    good_signature: bool,
) -> Vec<ClientAction> {
    let mut h = H::new();
    let hello = join_with(
        &mut h,
        JoinOptions::anonymous("realm1")
            .authid("user")
            .with(Authenticator::Scram {
                profile,
                password: "pencil".into(),
            }),
    );
    assert_eq!(
        hello.get_list("authmethods").unwrap(),
        &vec![Value::from(profile.method())]
    );
    let nonce = hello
        .get_dict("authextra")
        .unwrap()
        .get_str("nonce")
        .unwrap()
        .to_owned();
    let salt = base64_encode(b"0123456789abcdef");
    let mut extra = Dict::new()
        .with("nonce", format!("{nonce}SERVER"))
        .with("salt", salt.as_str())
        .with("kdf", kdf.name(profile))
        .with("iterations", kdf.iterations());
    if let crate::auth::scram::Kdf::Argon2id13 { memory_kib, .. } = kdf {
        extra.insert("memory", memory_kib);
    }
    h.feed(challenge(profile.method(), extra));
    let a = authenticate_sent(&mut h);
    // The router's view.
    let cred =
        crate::auth::scram::derive_credential(profile, "pencil", b"0123456789abcdef", kdf).unwrap();
    let server_nonce = format!("{nonce}SERVER");
    let am = crate::auth::scram::auth_message(
        profile,
        &crate::auth::scram::AuthMessageParts {
            authid: "user",
            client_nonce: &nonce,
            nonce: &server_nonce,
            salt: &salt,
            iterations: kdf.iterations(),
            channel_binding: None,
            cbind_data: None,
        },
    )
    .unwrap();
    let proof = crate::auth::base64_decode(&a.signature).unwrap();
    assert!(crate::auth::scram::verify_client_proof(
        &cred.keys.stored_key,
        &am,
        &proof
    ));
    let sig = if good_signature {
        crate::auth::scram::server_signature(&cred.keys.server_key, &am)
    } else {
        [0; 32]
    };
    let key = match profile {
        ScramProfile::Spec => "verifier",
        ScramProfile::Autobahn => "scram_server_signature",
    };
    h.feed(welcome(
        Dict::new()
            .with("authmethod", profile.method())
            .with("authextra", Dict::new().with(key, base64_encode(&sig))),
    ));
    h.drain()
}

#[test]
fn scram_challenge_both_profiles() {
    use crate::auth::scram::Kdf;
    let kdfs = [
        Kdf::Pbkdf2 { iterations: 4096 },
        Kdf::Argon2id13 {
            iterations: 2,
            memory_kib: 64,
        },
    ];
    for (profile, kdf) in [ScramProfile::Spec, ScramProfile::Autobahn]
        .into_iter()
        .flat_map(|p| kdfs.map(|k| (p, k)))
    {
        let a = scram_round(profile, kdf, true);
        assert!(
            matches!(&a[0], ClientAction::Event(ClientEvent::Joined(_))),
            "{profile:?}: {a:?}"
        );
        let a = scram_round(profile, kdf, false);
        assert!(
            matches!(&a[0], ClientAction::Send(Message::Abort(m)) if m.reason == CANNOT_AUTHENTICATE)
        );
        assert!(matches!(
            a.last(),
            Some(ClientAction::Close(CloseCause::AuthenticationFailed(Some(
                AuthError::BadSignature
            ))))
        ));
    }
}

#[test]
fn external_challenge_path() {
    let mut h = H::new();
    join_with(
        &mut h,
        JoinOptions::anonymous("realm1")
            .authid("joe")
            .with(Authenticator::External("wampcra".into())),
    );
    assert_eq!(
        h.s.authenticate(h.t0, "x".into(), Dict::new()),
        Err(UsageError::NoChallengePending)
    );
    h.feed(challenge("wampcra", Dict::new().with("challenge", "c")));
    let ev = h.events();
    assert_eq!(
        ev,
        vec![ClientEvent::Challenge(AuthChallenge {
            method: "wampcra".into(),
            extra: Dict::new().with("challenge", "c")
        })]
    );
    assert_eq!(h.s.state(), SessionState::Challenged);
    // A second CHALLENGE before the application answered is a violation... but first answer.
    h.s.authenticate(h.t0, wampcra::sign(b"k", "c"), Dict::new())
        .unwrap();
    let a = authenticate_sent(&mut h);
    assert_eq!(a.signature, wampcra::sign(b"k", "c"));
    assert_eq!(
        h.s.authenticate(h.t0, "again".into(), Dict::new()),
        Err(UsageError::NoChallengePending)
    );
    h.feed(welcome(Dict::new()));
    assert_eq!(h.s.state(), SessionState::Established);
}

#[test]
fn challenge_for_unannounced_method_fails() {
    let mut h = H::new();
    join_with(&mut h, JoinOptions::anonymous("realm1"));
    h.feed(challenge("ticket", Dict::new()));
    let a = h.drain();
    assert!(
        matches!(&a[0], ClientAction::Send(Message::Abort(m)) if m.reason == CANNOT_AUTHENTICATE)
    );
}

#[test]
fn too_many_challenges() {
    let mut h = H::new();
    join_with(
        &mut h,
        JoinOptions::anonymous("realm1")
            .authid("a")
            .with(Authenticator::Ticket("t".into())),
    );
    for _ in 0..MAX_CHALLENGES {
        h.feed(challenge("ticket", Dict::new()));
        authenticate_sent(&mut h);
    }
    h.feed(challenge("ticket", Dict::new()));
    h.assert_violation();
}

// ---------------------------------------------------------------------------------------------
// Established, GoodbyeSent, Closed
// ---------------------------------------------------------------------------------------------

#[test]
fn established_rejects_session_messages() {
    for m in [
        welcome(Dict::new()),
        challenge("ticket", Dict::new()),
        Hello {
            realm: "r".into(),
            details: Dict::new(),
        }
        .into(),
        Call {
            request: id(1),
            options: Dict::new(),
            procedure: "a".into(),
            payload: Payload::empty(),
        }
        .into(),
    ] {
        let mut h = H::joined();
        h.feed(m);
        h.assert_violation();
    }
}

#[test]
fn router_goodbye_is_answered() {
    let mut h = H::joined();
    let call =
        h.s.call(h.t0, "a.b".into(), Payload::empty(), CallOptions::default())
            .unwrap();
    h.drain();
    h.feed(Goodbye {
        details: Dict::new().with("message", "bye"),
        reason: "wamp.close.killed".into(),
    });
    let a = h.drain();
    assert_eq!(
        json(match &a[0] {
            ClientAction::Send(m) => m,
            other => panic!("{other:?}"),
        }),
        r#"[6,{},"wamp.close.goodbye_and_out"]"#
    );
    assert_eq!(
        a[1],
        ClientAction::Event(ClientEvent::Lost {
            request: call,
            kind: RequestKind::Call
        })
    );
    assert!(matches!(&a[2], ClientAction::Event(ClientEvent::Closed(c))
        if c.cause == CloseCause::GoodbyeFromRouter && c.reason == "wamp.close.killed"));
    assert_eq!(a[3], ClientAction::Close(CloseCause::GoodbyeFromRouter));
}

#[test]
fn leave_and_goodbye_reply() {
    let mut h = H::joined();
    h.s.leave(h.t0, Some("wamp.close.system_shutdown".into()))
        .unwrap();
    assert_eq!(
        h.sent().iter().map(json).collect::<Vec<_>>(),
        [r#"[6,{},"wamp.close.system_shutdown"]"#]
    );
    assert_eq!(h.s.state(), SessionState::GoodbyeSent);
    assert_eq!(
        h.s.call(h.t0, "a.b".into(), Payload::empty(), CallOptions::default()),
        Err(UsageError::InvalidState(SessionState::GoodbyeSent))
    );
    // Anything but GOODBYE is ignored now, even nonsense.
    h.feed(CallResult {
        request: id(99),
        details: Dict::new(),
        payload: Payload::empty(),
    });
    h.s.handle_malformed(h.t0, DecodeError::Empty);
    assert!(h.drain().is_empty());
    // Any reply reason is accepted.
    h.feed(Goodbye {
        details: Dict::new(),
        reason: "wamp.error.goodbye_and_out".into(),
    });
    let a = h.drain();
    assert!(
        matches!(&a[0], ClientAction::Event(ClientEvent::Closed(c)) if c.cause == CloseCause::Left)
    );
    assert_eq!(a[1], ClientAction::Close(CloseCause::Left));
    assert_eq!(h.s.state(), SessionState::Closed);
    // Closed ignores everything and can join again.
    h.feed(welcome(Dict::new()));
    assert!(h.drain().is_empty());
    h.s.join(h.t0, JoinOptions::anonymous("realm2")).unwrap();
    assert_eq!(h.s.state(), SessionState::HelloSent);
}

#[test]
fn goodbye_timeout() {
    let mut h = H::joined();
    h.s.leave(h.t0, None).unwrap();
    h.drain();
    let t = h.s.poll_timeout().unwrap();
    assert_eq!(t, h.t0 + Duration::from_secs(10));
    h.s.handle_timeout(t);
    let a = h.drain();
    assert_eq!(
        a.last(),
        Some(&ClientAction::Close(CloseCause::GoodbyeTimeout))
    );
}

#[test]
fn transport_closed_loses_requests() {
    let mut h = H::joined();
    let s =
        h.s.subscribe(h.t0, "a.b".into(), SubscribeOptions::default())
            .unwrap();
    h.drain();
    h.s.handle_transport_closed(h.t0);
    let a = h.drain();
    assert_eq!(
        a[0],
        ClientAction::Event(ClientEvent::Lost {
            request: s,
            kind: RequestKind::Subscribe
        })
    );
    assert!(
        matches!(&a[1], ClientAction::Event(ClientEvent::Closed(c)) if c.cause == CloseCause::TransportClosed)
    );
    assert_eq!(a.len(), 2, "no Close action: the transport is gone");
}

#[test]
fn abort_while_established() {
    let mut h = H::joined();
    h.feed(Abort {
        details: Dict::new(),
        reason: "wamp.error.system_shutdown".into(),
        payload: Payload::empty(),
    });
    let a = h.drain();
    assert!(!a.iter().any(|a| matches!(a, ClientAction::Send(_))));
    assert_eq!(a.last(), Some(&ClientAction::Close(CloseCause::Aborted)));
}

#[test]
fn queue_bound_applies_to_commands() {
    let mut h = H::new();
    h.s = Session::new(
        ClientConfig {
            max_queued_actions: 3,
            max_pending_requests: 2,
            ..ClientConfig::default()
        },
        Box::new(SeededEntropy::new(1)),
    );
    h.s.join(h.t0, JoinOptions::anonymous("realm1")).unwrap();
    h.feed(welcome(Dict::new()));
    h.drain();
    let pubo = PublishOptions::default();
    for _ in 0..3 {
        h.s.publish(h.t0, "a.b".into(), Payload::empty(), pubo.clone())
            .unwrap();
    }
    assert_eq!(
        h.s.publish(h.t0, "a.b".into(), Payload::empty(), pubo.clone()),
        Err(UsageError::QueueFull)
    );
    h.drain();
    h.s.call(h.t0, "a.b".into(), Payload::empty(), CallOptions::default())
        .unwrap();
    h.s.call(h.t0, "a.b".into(), Payload::empty(), CallOptions::default())
        .unwrap();
    assert_eq!(
        h.s.call(h.t0, "a.b".into(), Payload::empty(), CallOptions::default()),
        Err(UsageError::TooManyPending)
    );
    assert_eq!(h.s.pending_requests(), 2);
}

#[test]
fn invocation_limit_answers_unavailable() {
    let mut h = H::new();
    h.s = Session::new(
        ClientConfig {
            max_pending_invocations: 1,
            ..ClientConfig::default()
        },
        Box::new(SeededEntropy::new(1)),
    );
    h.s.join(h.t0, JoinOptions::anonymous("realm1")).unwrap();
    h.feed(welcome(Dict::new()));
    let r =
        h.s.register(h.t0, "a.b".into(), RegisterOptions::default())
            .unwrap();
    h.feed(Registered {
        request: r,
        registration: RegistrationId::new(5).unwrap(),
    });
    h.drain();
    for n in 1..=2 {
        h.feed(Invocation {
            request: id(n),
            registration: RegistrationId::new(5).unwrap(),
            details: Dict::new(),
            payload: Payload::empty(),
        });
    }
    let sent = h.sent();
    assert_eq!(
        sent.iter().map(json).collect::<Vec<_>>(),
        [r#"[8,68,2,{},"wamp.error.unavailable"]"#]
    );
    assert_eq!(h.s.pending_invocations(), 1);
}

#[test]
fn replies_in_established_flow() {
    // A compact walk through every reply type; details in tests/it/client_session.rs.
    let mut h = H::joined();
    let sub =
        h.s.subscribe(h.t0, "a.b".into(), SubscribeOptions::default())
            .unwrap();
    let publ =
        h.s.publish(
            h.t0,
            "a.b".into(),
            Payload::empty(),
            PublishOptions {
                acknowledge: true,
                ..PublishOptions::default()
            },
        )
        .unwrap();
    h.drain();
    h.feed(Subscribed {
        request: sub,
        subscription: SubscriptionId::new(9).unwrap(),
    });
    h.feed(Published {
        request: publ,
        publication: PublicationId::new(10).unwrap(),
    });
    h.feed(Event {
        subscription: SubscriptionId::new(9).unwrap(),
        publication: PublicationId::new(10).unwrap(),
        details: Dict::new(),
        payload: Payload::empty(),
    });
    let ev = h.events();
    assert_eq!(ev.len(), 3);
    assert!(matches!(&ev[2], ClientEvent::Event(e) if e.topic == "a.b"));
    // EVENT for an unknown subscription.
    h.feed(Event {
        subscription: SubscriptionId::new(8).unwrap(),
        publication: PublicationId::new(10).unwrap(),
        details: Dict::new(),
        payload: Payload::empty(),
    });
    h.assert_violation();
}

#[test]
fn cryptosign_router_authentication() {
    let client_key = CryptosignKey::from_seed(&[3; 32]);
    let router_key = CryptosignKey::from_seed(&[4; 32]);
    let challenge_hex = "0e9192bc08512c8198da159c1ae600ba91729215f35d56102ee318558e773537";
    for (signer, announced, ok) in [
        (&router_key, &router_key, true),
        (&client_key, &client_key, false), // not the key we trust
        (&client_key, &router_key, false), // signed by someone else
    ] {
        let mut h = H::new();
        let mut o =
            JoinOptions::anonymous("realm1").with(Authenticator::Cryptosign(client_key.clone()));
        o.cryptosign_router_key = Some(router_key.public_key());
        let hello = join_with(&mut h, o);
        let ours = hello
            .get_dict("authextra")
            .unwrap()
            .get_str("challenge")
            .unwrap()
            .to_owned();
        let sig = signer.sign_challenge(&ours, None).unwrap();
        h.feed(challenge(
            "cryptosign",
            Dict::new()
                .with("challenge", challenge_hex)
                .with("pubkey", announced.public_key_hex())
                .with("signature", sig),
        ));
        let sent = h.sent();
        if ok {
            assert!(matches!(&sent[..], [Message::Authenticate(_)]), "{sent:?}");
        } else {
            assert!(
                matches!(&sent[..], [Message::Abort(a)] if a.reason == CANNOT_AUTHENTICATE),
                "{sent:?}"
            );
        }
    }
}
