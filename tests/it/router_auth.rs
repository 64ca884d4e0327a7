//! Router authentication through the public API: every method with static principals and
//! with a dynamic authenticator, against our client `Session` where it fits and raw messages
//! where a misbehaving client is needed.

use std::time::Duration;

use wamp_proto::auth::cryptosign::{ChannelBinding, CryptosignKey};
use wamp_proto::auth::scram::{Kdf, ScramProfile};
use wamp_proto::auth::wampcra::{self, SaltParams};
use wamp_proto::auth::{KdfLimits, base64_decode};
use wamp_proto::client::{
    Authenticator, CallOptions, ChannelBindingData, ClientEvent, CloseCause, JoinOptions,
    PublishOptions, SubscribeOptions,
};
use wamp_proto::message::{Authenticate, Call, Hello};
use wamp_proto::{Dict, Message, Payload, Serializer, Uri, Value};
use wamp_router_core::{
    AuthConfig, AuthDecision, AuthMethod, CloseReason, CraCredential, Decision, DecisionRequest,
    MethodConfig, Principal, RealmConfig, RoleConfig, RouterConfig, ScramSecret, TransportInfo,
    uris,
};

use crate::router_peer::{Peer, pump_all};
use crate::sim::{Sim, basic_roles, req};

const WALL: u64 = 1_403_455_901_643; // 2014-06-22T16:51:41.643Z

fn realm(methods: Vec<MethodConfig>, principals: Vec<Principal>) -> RealmConfig {
    let mut r = RealmConfig::new("realm1");
    r.auth = AuthConfig {
        methods,
        principals,
        ..AuthConfig::default()
    };
    r
}

fn sim_with(r: RealmConfig, seed: u64) -> Sim {
    let config = RouterConfig::with_realm(r);
    config.validate().unwrap();
    let mut sim = Sim::new(config, seed);
    let now = sim.now;
    sim.router.set_wall_clock(now, WALL);
    sim
}

fn st(m: AuthMethod) -> MethodConfig {
    MethodConfig::static_(m)
}

fn dy(m: AuthMethod) -> MethodConfig {
    MethodConfig::dynamic(m)
}

fn opts() -> JoinOptions {
    JoinOptions::anonymous("realm1")
}

fn joined(p: &Peer) -> (String, String, String, String) {
    let d = p
        .details()
        .unwrap_or_else(|| panic!("not joined: {:?}", p.events));
    (
        d.authid.clone().unwrap(),
        d.authrole.clone().unwrap(),
        d.authmethod.clone().unwrap(),
        d.authprovider.clone().unwrap(),
    )
}

fn s(x: &str) -> String {
    x.to_owned()
}

/// A raw HELLO with authentication details.
fn raw_hello(sim: &mut Sim, c: usize, methods: &[&str], authid: Option<&str>, extra: Dict) {
    let mut details = Dict::new().with("roles", basic_roles()).with(
        "authmethods",
        Value::List(methods.iter().map(|m| Value::from(*m)).collect()),
    );
    if let Some(a) = authid {
        details.insert("authid", a);
    }
    if !extra.is_empty() {
        details.insert("authextra", extra);
    }
    sim.send(
        c,
        Hello {
            realm: "realm1".into(),
            details,
        },
    );
}

fn abort_reason(m: &Message) -> &str {
    match m {
        Message::Abort(a) => a.reason.as_str(),
        other => panic!("expected ABORT, got {other:?}"),
    }
}

// ------------------------------------------------------------------------------------------
// Method choice
// ------------------------------------------------------------------------------------------

#[test]
fn first_offered_method_the_realm_supports_wins() {
    let r = realm(
        vec![st(AuthMethod::Ticket), st(AuthMethod::Anonymous)],
        vec![Principal::new("joe", "user").with_ticket("secret")],
    );
    let mut sim = sim_with(r, 1);
    // Unknown names are skipped (unlike Crossbar, which refuses at the first unknown one).
    let p = Peer::join(
        &mut sim,
        1,
        opts()
            .authid("joe")
            .with(Authenticator::External("x-unknown".into()))
            .with(Authenticator::Ticket("secret".into()))
            .with(Authenticator::Anonymous),
    );
    assert_eq!(joined(&p), (s("joe"), s("user"), s("ticket"), s("static")));
    let p = Peer::join(
        &mut sim,
        2,
        opts()
            .authid("joe")
            .with(Authenticator::Anonymous)
            .with(Authenticator::Ticket("secret".into())),
    );
    let (authid, role, method, provider) = joined(&p);
    assert_eq!(
        (role, method, provider),
        (s("anonymous"), s("anonymous"), s("static"))
    );
    // Anonymous sessions get the session ID as authid, whatever they asked for.
    assert_eq!(authid, p.details().unwrap().session.to_string());
}

#[test]
fn no_acceptable_method_aborts_with_no_auth_method() {
    let r = realm(vec![st(AuthMethod::Ticket)], vec![]);
    let mut sim = sim_with(r, 2);
    // No authmethods at all means anonymous, which this realm does not offer.
    let p = Peer::join(&mut sim, 1, opts());
    assert_eq!(p.abort_reason(), uris::NO_AUTH_METHOD);
    let key = CryptosignKey::from_seed(&[7; 32]);
    let p = Peer::join(
        &mut sim,
        2,
        opts()
            .authid("joe")
            .with(Authenticator::Cryptosign(key))
            .with(Authenticator::WampCra("x".into())),
    );
    assert_eq!(p.abort_reason(), uris::NO_AUTH_METHOD);
    // The connection stays usable: a HELLO with an offered method goes on.
    let c = p.c;
    raw_hello(&mut sim, c, &["ticket"], Some("joe"), Dict::new());
    assert!(matches!(sim.recv(c), Message::Challenge(ch) if ch.auth_method == "ticket"));
    assert_eq!(sim.router.stats().authenticating, 1);
}

#[test]
fn connection_auth_methods_restrict_the_realms_methods() {
    let r = realm(
        vec![st(AuthMethod::Anonymous), st(AuthMethod::Ticket)],
        vec![Principal::new("joe", "user").with_ticket("secret")],
    );
    let mut sim = sim_with(r, 3);
    let restrict = |sim: &mut Sim, p: &Peer, methods: Option<Vec<AuthMethod>>| {
        assert!(sim.router.set_transport_info(
            sim.clients[p.c].conn,
            TransportInfo {
                auth_methods: methods.map(Into::into),
                ..TransportInfo::default()
            },
        ));
    };
    let ticket = || {
        opts()
            .authid("joe")
            .with(Authenticator::Ticket("secret".into()))
    };
    // Ticket only on this connection: a ticket client joins...
    let mut p = Peer::connect(&mut sim, Serializer::Json, 1);
    restrict(&mut sim, &p, Some(vec![AuthMethod::Ticket]));
    p.s.join(sim.now, ticket()).unwrap();
    p.pump(&mut sim);
    assert_eq!(joined(&p), (s("joe"), s("user"), s("ticket"), s("static")));
    // ... an anonymous one gets the ABORT of a method the realm lacks ...
    let mut p = Peer::connect(&mut sim, Serializer::Json, 2);
    restrict(&mut sim, &p, Some(vec![AuthMethod::Ticket]));
    p.s.join(sim.now, opts()).unwrap();
    p.pump(&mut sim);
    assert_eq!(p.abort_reason(), uris::NO_AUTH_METHOD);
    // ... and a client offering both is taken on the allowed one, whatever its order.
    let mut p = Peer::connect(&mut sim, Serializer::Json, 3);
    restrict(&mut sim, &p, Some(vec![AuthMethod::Ticket]));
    let both = opts()
        .authid("joe")
        .with(Authenticator::Anonymous)
        .with(Authenticator::Ticket("secret".into()));
    p.s.join(sim.now, both).unwrap();
    p.pump(&mut sim);
    assert_eq!(joined(&p).2, "ticket");
    // Anonymous only: the ticket client is refused.
    let mut p = Peer::connect(&mut sim, Serializer::Json, 4);
    restrict(&mut sim, &p, Some(vec![AuthMethod::Anonymous]));
    p.s.join(sim.now, ticket()).unwrap();
    p.pump(&mut sim);
    assert_eq!(p.abort_reason(), uris::NO_AUTH_METHOD);
    // A method the connection allows but the realm lacks does not help.
    let mut p = Peer::connect(&mut sim, Serializer::Json, 5);
    restrict(&mut sim, &p, Some(vec![AuthMethod::WampCra]));
    p.s.join(
        sim.now,
        opts()
            .authid("joe")
            .with(Authenticator::WampCra("secret".into())),
    )
    .unwrap();
    p.pump(&mut sim);
    assert_eq!(p.abort_reason(), uris::NO_AUTH_METHOD);
    // An empty list allows nothing; `None` (the default) everything the realm offers.
    let mut p = Peer::connect(&mut sim, Serializer::Json, 6);
    restrict(&mut sim, &p, Some(vec![]));
    p.s.join(sim.now, opts()).unwrap();
    p.pump(&mut sim);
    assert_eq!(p.abort_reason(), uris::NO_AUTH_METHOD);
    let mut p = Peer::connect(&mut sim, Serializer::Json, 7);
    restrict(&mut sim, &p, None);
    p.s.join(sim.now, ticket()).unwrap();
    p.pump(&mut sim);
    assert_eq!(joined(&p).2, "ticket");
}

// ------------------------------------------------------------------------------------------
// Ticket
// ------------------------------------------------------------------------------------------

fn ticket_sim() -> Sim {
    sim_with(
        realm(
            vec![st(AuthMethod::Ticket)],
            vec![Principal::new("joe", "user").with_ticket("s3cret")],
        ),
        3,
    )
}

#[test]
fn ticket_success() {
    let mut sim = ticket_sim();
    let p = Peer::join(
        &mut sim,
        1,
        opts()
            .authid("joe")
            .with(Authenticator::Ticket("s3cret".into())),
    );
    assert_eq!(joined(&p), (s("joe"), s("user"), s("ticket"), s("static")));
    assert_eq!(sim.router.stats().authenticating, 0);
}

#[test]
fn ticket_wrong_secret_and_unknown_authid_look_the_same() {
    let mut sim = ticket_sim();
    let wrong = Peer::join(
        &mut sim,
        1,
        opts()
            .authid("joe")
            .with(Authenticator::Ticket("guess".into())),
    );
    let unknown = Peer::join(
        &mut sim,
        2,
        opts()
            .authid("bob")
            .with(Authenticator::Ticket("s3cret".into())),
    );
    for p in [&wrong, &unknown] {
        assert_eq!(p.abort_reason(), uris::AUTHENTICATION_FAILED);
        assert!(matches!(p.close_info().unwrap().cause, CloseCause::Aborted));
    }
    assert_eq!(
        wrong.close_info().unwrap().details,
        unknown.close_info().unwrap().details,
        "no detail helps a guesser"
    );
    // A HELLO without authid fails at once.
    let c = sim.connect(Serializer::Json);
    raw_hello(&mut sim, c, &["ticket"], None, Dict::new());
    assert_eq!(abort_reason(&sim.recv(c)), uris::AUTHENTICATION_FAILED);
    assert_eq!(sim.router.stats().authenticating, 0);
    assert_eq!(sim.router.stats().sessions, 0);
}

// ------------------------------------------------------------------------------------------
// WAMP-CRA
// ------------------------------------------------------------------------------------------

fn cra_sim() -> Sim {
    let salted = CraCredential::salted(
        "pw2",
        SaltParams {
            salt: "salt123".into(),
            iterations: 100,
            keylen: 32,
        },
    )
    .unwrap();
    sim_with(
        realm(
            vec![st(AuthMethod::WampCra)],
            vec![
                Principal::new("joe", "user").with_wampcra(CraCredential::plain("pw1")),
                Principal::new("ann", "admin").with_wampcra(salted),
            ],
        ),
        4,
    )
}

#[test]
fn wampcra_plain_success_and_challenge_layout() {
    let mut sim = cra_sim();
    let c = sim.connect(Serializer::Json);
    raw_hello(&mut sim, c, &["wampcra"], Some("joe"), Dict::new());
    let Message::Challenge(ch) = sim.recv(c) else {
        panic!()
    };
    assert_eq!(ch.auth_method, "wampcra");
    assert_eq!(ch.extra.keys().collect::<Vec<_>>(), ["challenge"]);
    let text = ch.extra.get_str("challenge").unwrap().to_owned();
    let parsed: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&text).unwrap();
    assert_eq!(
        parsed.keys().collect::<Vec<_>>(),
        [
            "authid",
            "authrole",
            "authmethod",
            "authprovider",
            "session",
            "nonce",
            "timestamp"
        ]
    );
    assert_eq!(parsed["authid"], "joe");
    assert_eq!(parsed["authrole"], "user");
    assert_eq!(parsed["authmethod"], "wampcra");
    assert_eq!(parsed["authprovider"], "static");
    // The wall clock is an input, not a clock read.
    assert_eq!(parsed["timestamp"], "2014-06-22T16:51:41.643Z");
    let signature = wampcra::sign(b"pw1", &text);
    sim.send(
        c,
        Authenticate {
            signature,
            extra: Dict::new(),
        },
    );
    let Message::Welcome(w) = sim.recv(c) else {
        panic!()
    };
    // The challenge named the session ID the session got.
    assert_eq!(parsed["session"].as_u64(), Some(w.session.get()));
    assert_eq!(w.details.get_str("authmethod"), Some("wampcra"));
    assert_eq!(w.details.get_str("authrole"), Some("user"));
}

#[test]
fn wampcra_salted_success_with_client_session() {
    let mut sim = cra_sim();
    let p = Peer::join(
        &mut sim,
        1,
        opts()
            .authid("ann")
            .with(Authenticator::WampCra("pw2".into())),
    );
    assert_eq!(
        joined(&p),
        (s("ann"), s("admin"), s("wampcra"), s("static"))
    );
    // The challenge carried the salting parameters.
    let salted = sim
        .trace
        .iter()
        .any(|l| l.contains("\"salt\":\"salt123\"") && l.contains("\"iterations\":100"));
    assert!(salted, "{:#?}", sim.trace);
}

#[test]
fn wampcra_wrong_secret_and_unknown_authid() {
    let mut sim = cra_sim();
    let wrong = Peer::join(
        &mut sim,
        1,
        opts()
            .authid("joe")
            .with(Authenticator::WampCra("nope".into())),
    );
    assert_eq!(wrong.abort_reason(), uris::AUTHENTICATION_FAILED);
    // Unknown authid: a mock challenge (salted, like the real salted ones), then failure.
    let c = sim.connect(Serializer::Json);
    raw_hello(&mut sim, c, &["wampcra"], Some("mallory"), Dict::new());
    let Message::Challenge(ch) = sim.recv(c) else {
        panic!("unknown authids are challenged too")
    };
    assert!(ch.extra.get_str("salt").is_some());
    let key = wampcra::derive_key(
        "x",
        &SaltParams::from_extra(&ch.extra).unwrap().unwrap(),
        &KdfLimits::default(),
    )
    .unwrap();
    let sig = wampcra::sign(key.as_bytes(), ch.extra.get_str("challenge").unwrap());
    sim.send(
        c,
        Authenticate {
            signature: sig,
            extra: Dict::new(),
        },
    );
    assert_eq!(abort_reason(&sim.recv(c)), uris::AUTHENTICATION_FAILED);
    // The same authid gets the same fake salt (stable), another authid another one.
    let salt_of = |sim: &mut Sim, authid: &str| {
        let c = sim.connect(Serializer::Json);
        raw_hello(sim, c, &["wampcra"], Some(authid), Dict::new());
        match sim.recv(c) {
            Message::Challenge(ch) => ch.extra.get_str("salt").unwrap().to_owned(),
            other => panic!("{other:?}"),
        }
    };
    let a = salt_of(&mut sim, "mallory");
    assert_eq!(a, ch.extra.get_str("salt").unwrap());
    assert_ne!(a, salt_of(&mut sim, "trudy"));
    // A signature that is not base64 fails the same way.
    let c = sim.connect(Serializer::Json);
    raw_hello(&mut sim, c, &["wampcra"], Some("joe"), Dict::new());
    sim.recv(c);
    sim.send(
        c,
        Authenticate {
            signature: "%%%".into(),
            extra: Dict::new(),
        },
    );
    assert_eq!(abort_reason(&sim.recv(c)), uris::AUTHENTICATION_FAILED);
}

// ------------------------------------------------------------------------------------------
// Cryptosign
// ------------------------------------------------------------------------------------------

fn key(n: u8) -> CryptosignKey {
    CryptosignKey::from_seed(&[n; 32])
}

fn cs_realm() -> RealmConfig {
    realm(
        vec![st(AuthMethod::Cryptosign)],
        vec![
            Principal::new("joe", "user")
                .with_cryptosign_key(key(1).public_key_hex())
                .with_cryptosign_key(key(2).public_key_hex()),
            Principal::new("ann", "admin").with_cryptosign_key(key(3).public_key_hex()),
        ],
    )
}

#[test]
fn cryptosign_success_by_authid_and_by_key() {
    let mut sim = sim_with(cs_realm(), 5);
    let p = Peer::join(
        &mut sim,
        1,
        opts().authid("joe").with(Authenticator::Cryptosign(key(2))),
    );
    assert_eq!(
        joined(&p),
        (s("joe"), s("user"), s("cryptosign"), s("static"))
    );
    // Without authid the key names the principal.
    let p = Peer::join(&mut sim, 2, opts().with(Authenticator::Cryptosign(key(3))));
    assert_eq!(
        joined(&p),
        (s("ann"), s("admin"), s("cryptosign"), s("static"))
    );
}

#[test]
fn cryptosign_wrong_key_and_unknown_authid() {
    let mut sim = sim_with(cs_realm(), 6);
    // joe's principal does not list key 3.
    let p = Peer::join(
        &mut sim,
        1,
        opts().authid("joe").with(Authenticator::Cryptosign(key(3))),
    );
    assert_eq!(p.abort_reason(), uris::AUTHENTICATION_FAILED);
    let p = Peer::join(&mut sim, 2, opts().with(Authenticator::Cryptosign(key(9))));
    assert_eq!(p.abort_reason(), uris::AUTHENTICATION_FAILED);
    let p = Peer::join(
        &mut sim,
        3,
        opts()
            .authid("nobody")
            .with(Authenticator::Cryptosign(key(1))),
    );
    assert_eq!(p.abort_reason(), uris::AUTHENTICATION_FAILED);
    // No or a malformed pubkey.
    let c = sim.connect(Serializer::Json);
    raw_hello(&mut sim, c, &["cryptosign"], Some("joe"), Dict::new());
    assert_eq!(abort_reason(&sim.recv(c)), uris::AUTHENTICATION_FAILED);
    raw_hello(
        &mut sim,
        c,
        &["cryptosign"],
        Some("joe"),
        Dict::new().with("pubkey", "zz"),
    );
    assert_eq!(abort_reason(&sim.recv(c)), uris::AUTHENTICATION_FAILED);
}

#[test]
fn cryptosign_bad_signatures() {
    let mut sim = sim_with(cs_realm(), 7);
    let challenge = |sim: &mut Sim| {
        let c = sim.connect(Serializer::MsgPack);
        raw_hello(
            sim,
            c,
            &["cryptosign"],
            Some("joe"),
            Dict::new().with("pubkey", key(1).public_key_hex()),
        );
        match sim.recv(c) {
            Message::Challenge(ch) => {
                assert_eq!(ch.extra.get("channel_binding"), Some(&Value::Null));
                (c, ch.extra.get_str("challenge").unwrap().to_owned())
            }
            other => panic!("{other:?}"),
        }
    };
    type Forge = Box<dyn Fn(&str) -> String>;
    let bad: Vec<Forge> = vec![
        // Signed by another key.
        Box::new(|ch| key(2).sign_challenge(ch, None).unwrap()),
        // One bit flipped in the signature.
        Box::new(|ch| {
            let mut raw = hex::decode(key(1).sign_challenge(ch, None).unwrap()).unwrap();
            raw[5] ^= 1;
            hex::encode(raw)
        }),
        // A valid signature of another message.
        Box::new(|_| key(1).sign_message(&[0x42; 32])),
        // Truncated, not hex, empty.
        Box::new(|ch| key(1).sign_challenge(ch, None).unwrap()[..190].to_owned()),
        Box::new(|_| "x".repeat(192)),
        Box::new(|_| String::new()),
    ];
    for f in &bad {
        let (c, ch) = challenge(&mut sim);
        sim.send(
            c,
            Authenticate {
                signature: f(&ch),
                extra: Dict::new(),
            },
        );
        assert_eq!(abort_reason(&sim.recv(c)), uris::AUTHENTICATION_FAILED);
    }
    let (c, ch) = challenge(&mut sim);
    sim.send(
        c,
        Authenticate {
            signature: key(1).sign_challenge(&ch, None).unwrap(),
            extra: Dict::new(),
        },
    );
    assert!(matches!(sim.recv(c), Message::Welcome(_)));
}

#[test]
fn cryptosign_channel_binding() {
    let mut sim = sim_with(cs_realm(), 8);
    let channel_id = [0x5a; 32];
    let binding = |data: Vec<u8>| ChannelBindingData {
        kind: ChannelBinding::TlsUnique,
        data,
    };
    let with_binding = |data: Vec<u8>| {
        let mut o = opts().authid("joe").with(Authenticator::Cryptosign(key(1)));
        o.channel_binding = Some(binding(data));
        o
    };
    // The transport knows the channel ID: the signature must cover challenge XOR channel ID.
    let mut p = Peer::connect(&mut sim, Serializer::Cbor, 1);
    assert!(sim.router.set_transport_info(
        sim.clients[p.c].conn,
        TransportInfo {
            channel_binding: Some((ChannelBinding::TlsUnique, channel_id.to_vec())),
            details: Dict::new().with("peer", "tcp4:127.0.0.1:5000"),
            ..TransportInfo::default()
        },
    ));
    p.s.join(sim.now, with_binding(channel_id.to_vec()))
        .unwrap();
    p.pump(&mut sim);
    assert_eq!(joined(&p).0, "joe");
    // A client bound to another channel (a man in the middle) fails.
    let mut p = Peer::connect(&mut sim, Serializer::Json, 2);
    sim.router.set_transport_info(
        sim.clients[p.c].conn,
        TransportInfo {
            channel_binding: Some((ChannelBinding::TlsUnique, channel_id.to_vec())),
            details: Dict::new(),
            ..TransportInfo::default()
        },
    );
    p.s.join(sim.now, with_binding(vec![0x11; 32])).unwrap();
    p.pump(&mut sim);
    assert_eq!(p.abort_reason(), uris::AUTHENTICATION_FAILED);
    // Binding asked for, but the transport has none (no TLS): refused, as Crossbar does.
    let p = Peer::join(&mut sim, 3, with_binding(channel_id.to_vec()));
    assert_eq!(p.abort_reason(), uris::AUTHENTICATION_FAILED);
}

#[test]
fn cryptosign_router_authentication() {
    let mut r = cs_realm();
    let router_key = CryptosignKey::from_seed(&[0x77; 32]);
    r.auth.cryptosign_router_key = Some(hex::encode([0x77u8; 32]));
    let mut sim = sim_with(r, 9);
    let mut o = opts().authid("joe").with(Authenticator::Cryptosign(key(1)));
    o.cryptosign_router_key = Some(router_key.public_key());
    let p = Peer::join(&mut sim, 1, o);
    assert_eq!(joined(&p).0, "joe");
    // A client expecting another router key refuses the router.
    let mut o = opts().authid("joe").with(Authenticator::Cryptosign(key(1)));
    o.cryptosign_router_key = Some(key(5).public_key());
    let p = Peer::join(&mut sim, 2, o);
    assert!(matches!(
        p.close_info().unwrap().cause,
        CloseCause::AuthenticationFailed(_)
    ));
}

// ------------------------------------------------------------------------------------------
// WAMP-SCRAM
// ------------------------------------------------------------------------------------------

const ARGON: Kdf = Kdf::Argon2id13 {
    iterations: 2,
    memory_kib: 64,
};
const PBKDF2: Kdf = Kdf::Pbkdf2 { iterations: 4096 };

fn scram_sim() -> Sim {
    let ab =
        ScramSecret::derive(ScramProfile::Autobahn, "pencil", b"salt-of-joe-1234", ARGON).unwrap();
    let spec =
        ScramSecret::derive(ScramProfile::Spec, "p\u{e9}ncil", b"salt-of-ann", ARGON).unwrap();
    let pb = ScramSecret::derive(ScramProfile::Spec, "hunter2", b"salt-of-bob", PBKDF2).unwrap();
    sim_with(
        realm(
            vec![st(AuthMethod::Scram)],
            vec![
                Principal::new("joe", "user").with_scram(ab),
                Principal::new("ann", "admin").with_scram(spec),
                Principal::new("bob", "user").with_scram(pb),
            ],
        ),
        10,
    )
}

fn scram(profile: ScramProfile, password: &str) -> Authenticator {
    Authenticator::Scram {
        profile,
        password: password.into(),
    }
}

#[test]
fn scram_autobahn_profile_argon2() {
    let mut sim = scram_sim();
    let p = Peer::join(
        &mut sim,
        1,
        opts()
            .authid("joe")
            .with(scram(ScramProfile::Autobahn, "pencil")),
    );
    // The client checked the server signature in WELCOME (it aborts otherwise).
    assert_eq!(joined(&p), (s("joe"), s("user"), s("scram"), s("static")));
    let extra = p.details().unwrap().authextra().unwrap();
    assert!(extra.get_str("scram_server_signature").is_some());
    // The challenge is what Autobahn's client accepts: only its known keys.
    let line = sim
        .trace
        .iter()
        .find(|l| l.contains("router -> c0: [4,"))
        .unwrap();
    assert!(line.contains("\"kdf\":\"argon2id-13\""), "{line}");
    assert!(!line.contains("channel_binding"), "{line}");
}

#[test]
fn scram_spec_profile_argon2_and_pbkdf2() {
    let mut sim = scram_sim();
    let p = Peer::join(
        &mut sim,
        1,
        opts()
            .authid("ann")
            .with(scram(ScramProfile::Spec, "p\u{e9}ncil")),
    );
    assert_eq!(
        joined(&p),
        (s("ann"), s("admin"), s("wamp-scram"), s("static"))
    );
    assert!(
        p.details()
            .unwrap()
            .authextra()
            .unwrap()
            .get_str("verifier")
            .is_some()
    );
    // PBKDF2 credentials serve both dialects.
    for (seed, profile) in [(2, ScramProfile::Spec), (3, ScramProfile::Autobahn)] {
        let p = Peer::join(
            &mut sim,
            seed,
            opts().authid("bob").with(scram(profile, "hunter2")),
        );
        assert_eq!(joined(&p).0, "bob");
    }
    // An Argon2 credential of the other dialect does not verify.
    let p = Peer::join(
        &mut sim,
        4,
        opts()
            .authid("joe")
            .with(scram(ScramProfile::Spec, "pencil")),
    );
    assert_eq!(p.abort_reason(), uris::AUTHENTICATION_FAILED);
}

#[test]
fn scram_wrong_password_unknown_authid_and_missing_nonce() {
    let mut sim = scram_sim();
    let p = Peer::join(
        &mut sim,
        1,
        opts()
            .authid("joe")
            .with(scram(ScramProfile::Autobahn, "pencil!")),
    );
    assert_eq!(p.abort_reason(), uris::AUTHENTICATION_FAILED);
    // Unknown authid: a mock challenge (imitating the configured KDF), then failure.
    let p = Peer::join(
        &mut sim,
        2,
        opts()
            .authid("eve")
            .with(scram(ScramProfile::Autobahn, "pencil")),
    );
    assert_eq!(p.abort_reason(), uris::AUTHENTICATION_FAILED);
    let mock = sim
        .trace
        .iter()
        .filter(|l| l.contains("router -> c1: [4,\"scram\""))
        .count();
    assert_eq!(
        mock, 1,
        "the unknown authid was challenged: {:#?}",
        sim.trace
    );
    // HELLO without the client nonce, or with one that is not base64.
    let c = sim.connect(Serializer::Json);
    raw_hello(&mut sim, c, &["scram"], Some("joe"), Dict::new());
    assert_eq!(abort_reason(&sim.recv(c)), uris::AUTHENTICATION_FAILED);
    raw_hello(
        &mut sim,
        c,
        &["scram"],
        Some("joe"),
        Dict::new().with("nonce", "***"),
    );
    assert_eq!(abort_reason(&sim.recv(c)), uris::AUTHENTICATION_FAILED);
}

#[test]
fn scram_spec_nonce_must_be_repeated() {
    let mut sim = scram_sim();
    let c = sim.connect(Serializer::Json);
    raw_hello(
        &mut sim,
        c,
        &["wamp-scram"],
        Some("bob"),
        Dict::new()
            .with("nonce", "AAAAAAAAAAAAAAAAAAAAAA==")
            .with("channel_binding", Value::Null),
    );
    let Message::Challenge(ch) = sim.recv(c) else {
        panic!()
    };
    assert_eq!(ch.extra.get("memory"), Some(&Value::Null));
    assert!(
        ch.extra
            .get_str("nonce")
            .unwrap()
            .starts_with("AAAAAAAAAAAAAAAAAAAAAA==")
    );
    let client = wamp_proto::auth::scram::ScramClient::with_nonce(
        ScramProfile::Spec,
        "bob",
        "hunter2",
        "AAAAAAAAAAAAAAAAAAAAAA==".into(),
    );
    let r = client.respond(&ch.extra, &KdfLimits::default()).unwrap();
    let mut extra = r.extra.clone();
    extra.insert("nonce", "tampered");
    sim.send(
        c,
        Authenticate {
            signature: r.signature.clone(),
            extra,
        },
    );
    assert_eq!(abort_reason(&sim.recv(c)), uris::AUTHENTICATION_FAILED);
    // And the proof itself must verify (base64 of 32 bytes).
    assert_eq!(base64_decode(&r.signature).map(|b| b.len()), Some(32));
}

// ------------------------------------------------------------------------------------------
// Roles, state violations, timeouts
// ------------------------------------------------------------------------------------------

#[test]
fn unknown_role_is_refused_with_no_such_role() {
    let mut r = realm(
        vec![st(AuthMethod::Ticket), st(AuthMethod::Anonymous)],
        vec![Principal::new("joe", "ghost").with_ticket("t")],
    );
    r.roles = vec![RoleConfig::new("anonymous", vec![])];
    let mut sim = sim_with(r, 11);
    let p = Peer::join(
        &mut sim,
        1,
        opts().authid("joe").with(Authenticator::Ticket("t".into())),
    );
    assert_eq!(p.abort_reason(), uris::NO_SUCH_ROLE);
    let p = Peer::join(&mut sim, 2, opts());
    assert_eq!(joined(&p).1, "anonymous");
}

#[test]
fn messages_out_of_place_while_authenticating() {
    let mut sim = ticket_sim();
    // A CALL instead of AUTHENTICATE: protocol violation, close.
    let c = sim.connect(Serializer::Json);
    raw_hello(&mut sim, c, &["ticket"], Some("joe"), Dict::new());
    sim.recv(c);
    sim.send(
        c,
        Call {
            request: req(1),
            options: Dict::new(),
            procedure: "p".into(),
            payload: Payload::empty(),
        },
    );
    assert_eq!(abort_reason(&sim.recv(c)), uris::PROTOCOL_VIOLATION);
    assert!(sim.clients[c].closed_by_router);
    // ABORT from the client: the connection may start over.
    let c = sim.connect(Serializer::Json);
    raw_hello(&mut sim, c, &["ticket"], Some("joe"), Dict::new());
    sim.recv(c);
    sim.send(
        c,
        wamp_proto::message::Abort {
            details: Dict::new(),
            reason: "wamp.error.cannot_authenticate".into(),
            payload: Payload::empty(),
        },
    );
    sim.assert_quiet(c);
    raw_hello(&mut sim, c, &["ticket"], Some("joe"), Dict::new());
    sim.recv(c);
    sim.send(
        c,
        Authenticate {
            signature: "s3cret".into(),
            extra: Dict::new(),
        },
    );
    assert!(matches!(sim.recv(c), Message::Welcome(_)));
    // AUTHENTICATE after the session is established: protocol violation.
    sim.send(
        c,
        Authenticate {
            signature: "s3cret".into(),
            extra: Dict::new(),
        },
    );
    assert_eq!(abort_reason(&sim.recv(c)), uris::PROTOCOL_VIOLATION);
    // AUTHENTICATE without HELLO.
    let c = sim.connect(Serializer::Json);
    sim.send(
        c,
        Authenticate {
            signature: "s3cret".into(),
            extra: Dict::new(),
        },
    );
    assert_eq!(abort_reason(&sim.recv(c)), uris::PROTOCOL_VIOLATION);
    let st = sim.router.stats();
    assert_eq!((st.authenticating, st.sessions), (0, 0));
}

#[test]
fn unanswered_challenge_times_out_with_the_hello_timeout() {
    let mut sim = ticket_sim();
    let c = sim.connect(Serializer::Json);
    raw_hello(&mut sim, c, &["ticket"], Some("joe"), Dict::new());
    sim.recv(c);
    sim.advance(Duration::from_secs(29));
    assert!(!sim.clients[c].closed_by_router);
    sim.advance(Duration::from_secs(2));
    assert!(sim.clients[c].closed_by_router);
    assert!(
        sim.trace
            .last()
            .unwrap()
            .contains(&format!("{:?}", CloseReason::HelloTimeout))
    );
    sim.disconnect(c);
    assert_eq!(sim.router.stats().authenticating, 0);
    assert_eq!(sim.router.stats().timers, 0);
}

// ------------------------------------------------------------------------------------------
// Dynamic authenticators
// ------------------------------------------------------------------------------------------

fn dyn_sim(seed: u64) -> Sim {
    sim_with(
        realm(
            vec![
                dy(AuthMethod::Ticket),
                dy(AuthMethod::WampCra),
                dy(AuthMethod::Cryptosign),
                dy(AuthMethod::Scram),
                dy(AuthMethod::Anonymous),
            ],
            vec![],
        ),
        seed,
    )
}

fn auth_request(
    sim: &mut Sim,
) -> (
    wamp_router_core::DecisionTicket,
    wamp_router_core::AuthRequest,
) {
    match sim.next_decision() {
        (t, DecisionRequest::Authenticate(r)) => (t, r),
        other => panic!("{other:?}"),
    }
}

fn accept(p: Principal) -> Decision {
    Decision::Authenticate(AuthDecision::accept(p))
}

#[test]
fn dynamic_ticket() {
    let mut sim = dyn_sim(12);
    let mut p = Peer::join(
        &mut sim,
        1,
        opts()
            .authid("joe")
            .with(Authenticator::Ticket("tkt".into())),
    );
    let (t, r) = auth_request(&mut sim);
    assert_eq!(r.method, AuthMethod::Ticket);
    assert_eq!(r.authid.as_deref(), Some("joe"));
    assert_eq!(r.ticket.as_deref(), Some("tkt"));
    assert_eq!(r.realm, Uri::from("realm1"));
    // The embedder checked the ticket itself (the principal carries none).
    assert!(sim.decide(t, accept(Principal::new("", "user"))));
    p.pump(&mut sim);
    assert_eq!(joined(&p), (s("joe"), s("user"), s("ticket"), s("dynamic")));
    // Or it hands the expected ticket back and the router compares.
    let mut p = Peer::join(
        &mut sim,
        2,
        opts()
            .authid("joe")
            .with(Authenticator::Ticket("tkt".into())),
    );
    let (t, _) = auth_request(&mut sim);
    sim.decide(
        t,
        accept(Principal::new("joe", "user").with_ticket("other")),
    );
    p.pump(&mut sim);
    assert_eq!(p.abort_reason(), uris::AUTHENTICATION_FAILED);
    // Denied.
    let mut p = Peer::join(
        &mut sim,
        3,
        opts()
            .authid("joe")
            .with(Authenticator::Ticket("tkt".into())),
    );
    let (t, _) = auth_request(&mut sim);
    sim.decide(t, Decision::Authenticate(AuthDecision::Deny));
    p.pump(&mut sim);
    assert_eq!(p.abort_reason(), uris::AUTHENTICATION_FAILED);
}

#[test]
fn dynamic_wampcra_cryptosign_scram_and_anonymous() {
    let mut sim = dyn_sim(13);
    // WAMP-CRA: the authenticator returns the secret, the router challenges with it.
    let mut p = Peer::join(
        &mut sim,
        1,
        opts()
            .authid("joe")
            .with(Authenticator::WampCra("pw".into())),
    );
    let (t, r) = auth_request(&mut sim);
    assert_eq!((r.method, r.ticket), (AuthMethod::WampCra, None));
    sim.decide(
        t,
        accept(Principal::new("joe", "user").with_wampcra(CraCredential::plain("pw"))),
    );
    p.pump(&mut sim);
    assert_eq!(
        joined(&p),
        (s("joe"), s("user"), s("wampcra"), s("dynamic"))
    );
    // Cryptosign: the request carries the public key.
    let mut p = Peer::join(&mut sim, 2, opts().with(Authenticator::Cryptosign(key(4))));
    let (t, r) = auth_request(&mut sim);
    assert_eq!(
        r.authextra.get_str("pubkey"),
        Some(key(4).public_key_hex().as_str())
    );
    let mut principal =
        Principal::new("device-4", "device").with_cryptosign_key(key(4).public_key_hex());
    principal.authextra.insert("site", "lab");
    sim.decide(t, accept(principal));
    p.pump(&mut sim);
    assert_eq!(
        joined(&p),
        (s("device-4"), s("device"), s("cryptosign"), s("dynamic"))
    );
    assert_eq!(
        p.details().unwrap().authextra().unwrap().get_str("site"),
        Some("lab")
    );
    // SCRAM: the authenticator returns the stored keys (derived wherever it likes).
    let mut p = Peer::join(
        &mut sim,
        3,
        opts()
            .authid("zed")
            .with(scram(ScramProfile::Autobahn, "pw")),
    );
    let (t, r) = auth_request(&mut sim);
    assert!(r.authextra.get_str("nonce").is_some());
    let secret = ScramSecret::derive(ScramProfile::Autobahn, "pw", b"saltsaltsalt", ARGON).unwrap();
    sim.decide(t, accept(Principal::new("zed", "user").with_scram(secret)));
    p.pump(&mut sim);
    assert_eq!(joined(&p).2, "scram");
    // A principal without the credential the method needs fails.
    let mut p = Peer::join(
        &mut sim,
        4,
        opts()
            .authid("joe")
            .with(Authenticator::WampCra("pw".into())),
    );
    let (t, _) = auth_request(&mut sim);
    sim.decide(t, accept(Principal::new("joe", "user")));
    p.pump(&mut sim);
    assert_eq!(p.abort_reason(), uris::AUTHENTICATION_FAILED);
    // Anonymous, dynamic: the authenticator picks the role.
    let mut p = Peer::join(&mut sim, 5, opts());
    let (t, r) = auth_request(&mut sim);
    assert_eq!(r.method, AuthMethod::Anonymous);
    sim.decide(t, accept(Principal::new("", "guest")));
    p.pump(&mut sim);
    let (authid, role, _, provider) = joined(&p);
    assert_eq!((role, provider), (s("guest"), s("dynamic")));
    assert_eq!(authid, p.details().unwrap().session.to_string());
    assert_eq!(sim.router.stats().pending_decisions, 0);
}

#[test]
fn dynamic_authenticator_deadline_answers_for_it() {
    let mut sim = dyn_sim(14);
    let mut p = Peer::join(
        &mut sim,
        1,
        opts()
            .authid("joe")
            .with(Authenticator::Ticket("tkt".into())),
    );
    let (t, _) = auth_request(&mut sim);
    assert_eq!(sim.router.stats().pending_decisions, 1);
    sim.advance(Duration::from_secs(10));
    p.pump(&mut sim);
    assert_eq!(p.abort_reason(), uris::AUTHENTICATION_FAILED);
    // A late answer is ignored.
    assert!(!sim.decide(t, accept(Principal::new("joe", "user"))));
    sim.assert_quiet(p.c);
    // An answer of the wrong kind counts as a refusal.
    let mut p = Peer::join(&mut sim, 2, opts());
    let (t, _) = auth_request(&mut sim);
    sim.decide(
        t,
        Decision::Authorize(wamp_router_core::AuthzDecision::allow()),
    );
    p.pump(&mut sim);
    assert_eq!(p.abort_reason(), uris::AUTHENTICATION_FAILED);
    // A connection that goes away abandons its decision.
    let p = Peer::join(&mut sim, 3, opts());
    let (t, _) = auth_request(&mut sim);
    sim.disconnect(p.c);
    let st = sim.router.stats();
    assert_eq!((st.pending_decisions, st.authenticating), (0, 0));
    assert!(!sim.decide(t, accept(Principal::new("", "guest"))));
}

#[test]
fn slow_authenticator_does_not_block_other_sessions() {
    let r = realm(
        vec![dy(AuthMethod::Ticket), st(AuthMethod::Anonymous)],
        vec![],
    );
    let mut sim = sim_with(r, 15);
    // Two established sessions talk while a third waits for its authenticator.
    let mut sub = Peer::join(&mut sim, 1, opts());
    let mut publ = Peer::join(&mut sim, 2, opts());
    let mut slow = Peer::join(
        &mut sim,
        3,
        opts().authid("joe").with(Authenticator::Ticket("t".into())),
    );
    let (t, _) = auth_request(&mut sim);
    let now = sim.now;
    sub.s
        .subscribe(now, "com.topic".into(), SubscribeOptions::default())
        .unwrap();
    pump_all(&mut sim, &mut [&mut sub]);
    for i in 0..100u64 {
        publ.s
            .publish(
                now,
                "com.topic".into(),
                Payload::args(vec![Value::from(i)]),
                PublishOptions::default(),
            )
            .unwrap();
    }
    pump_all(&mut sim, &mut [&mut sub, &mut publ, &mut slow]);
    let events = sub
        .take()
        .into_iter()
        .filter(|e| matches!(e, ClientEvent::Event(_)))
        .count();
    assert_eq!(events, 100);
    assert!(slow.details().is_none());
    // Calls to a missing procedure are answered too.
    publ.s
        .call(
            now,
            "com.nothing".into(),
            Payload::empty(),
            CallOptions::default(),
        )
        .unwrap();
    publ.pump(&mut sim);
    assert!(
        publ.take()
            .iter()
            .any(|e| matches!(e, ClientEvent::Error(_)))
    );
    // The authenticator answers much later.
    sim.advance(Duration::from_secs(5));
    assert!(sim.decide(t, accept(Principal::new("", "user"))));
    slow.pump(&mut sim);
    assert_eq!(joined(&slow).0, "joe");
}

#[test]
fn pending_decision_limit() {
    let r = realm(vec![dy(AuthMethod::Anonymous)], vec![]);
    let mut config = RouterConfig::with_realm(r);
    config.max_pending_decisions = 2;
    let mut sim = Sim::new(config, 16);
    let mut peers: Vec<Peer> = (0..3).map(|i| Peer::join(&mut sim, i, opts())).collect();
    assert_eq!(sim.decisions.len(), 2);
    peers[2].pump(&mut sim);
    assert_eq!(peers[2].abort_reason(), uris::AUTHENTICATION_FAILED);
    let (t, _) = auth_request(&mut sim);
    sim.decide(t, accept(Principal::new("", "anonymous")));
    peers[0].pump(&mut sim);
    assert!(peers[0].details().is_some());
}

#[test]
fn config_validation_names_the_key() {
    let r = realm(
        vec![st(AuthMethod::Ticket)],
        vec![
            Principal::new("joe", "user").with_ticket("a"),
            Principal::new("joe", "user").with_ticket("b"),
        ],
    );
    let err = RouterConfig::with_realm(r).validate().unwrap_err();
    assert_eq!(
        err.to_string(),
        "realms[0].auth.principals[1].authid: duplicate authid"
    );
    let bad_key = realm(
        vec![st(AuthMethod::Cryptosign)],
        vec![Principal::new("joe", "user").with_cryptosign_key("00")],
    );
    assert_eq!(
        RouterConfig::with_realm(bad_key)
            .validate()
            .unwrap_err()
            .to_string(),
        "realms[0].auth.principals[0].cryptosign_keys: invalid public key"
    );
}

#[test]
fn authentication_traces_are_deterministic() {
    let run = || {
        let mut sim = dyn_sim(99);
        let mut p = Peer::join(
            &mut sim,
            1,
            opts()
                .authid("joe")
                .with(Authenticator::WampCra("pw".into())),
        );
        let (t, _) = auth_request(&mut sim);
        sim.decide(
            t,
            accept(Principal::new("joe", "user").with_wampcra(CraCredential::plain("pw"))),
        );
        p.pump(&mut sim);
        let mut q = Peer::join(&mut sim, 2, opts().with(Authenticator::Cryptosign(key(4))));
        let (t, _) = auth_request(&mut sim);
        sim.decide(
            t,
            accept(Principal::new("d", "device").with_cryptosign_key(key(4).public_key_hex())),
        );
        q.pump(&mut sim);
        sim.trace
    };
    let a = run();
    assert!(a.iter().any(|l| l.contains("\"challenge\"")));
    assert_eq!(a, run());
}
