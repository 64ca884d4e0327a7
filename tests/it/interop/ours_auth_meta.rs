//! Our router (in-process) against autobahn-python's authenticators (ticket, WAMP-CRA plain
//! and salted, cryptosign, SCRAM) and its use of the meta API (session, registration and
//! subscription meta events and procedures, kill, testaments, event history):
//! `tests/interop/ab_auth_meta.py`. The router is configured in Rust, and once more from the
//! TOML file `tests/interop/ab_auth_meta.toml` (as `wamp-router --config` would read it).
//!
//! The same realm serves autobahn-js (`tests/interop/abjs_auth_meta.js`, run by
//! `ours_autobahn_js_auth`): it adds the `guest` principal and the roles its authorization
//! check needs.

use std::net::SocketAddr;

use wamp_proto::MatchPolicy;
use wamp_proto::auth::cryptosign::CryptosignKey;
use wamp_proto::auth::scram::{Kdf, ScramProfile};
use wamp_proto::auth::wampcra::SaltParams;
use wamp_router_core::{
    Allow, AuthConfig, AuthMethod, CraCredential, HistoryConfig, MethodConfig, Permission,
    Principal, RealmConfig, RoleConfig, RouterConfig, ScramSecret,
};
use wamp_tokio::config::FileConfig;
use wamp_tokio::server::{Endpoint, ListenerConfig, ServerConfig};

use super::*;
use crate::server_harness::TestServer;

const CHECKS: &[&str] = &[
    "auth_ticket",
    "auth_wampcra",
    "auth_wampcra_salted",
    "auth_cryptosign",
    "auth_scram",
    "auth_anonymous",
    "meta_session_events_and_procedures",
    "meta_kill",
    "meta_registrations_and_subscriptions",
    "meta_testament",
    "meta_event_history",
];

/// The realm `ab_auth_meta.py` and `abjs_auth_meta.js` expect. Roles `anonymous`, `user` and
/// `device` may do everything; `guest` (principal `guest`, ticket `guest-ticket`) may
/// subscribe and publish anything but call only `com.interop.public` (no meta procedures, no
/// registrations).
fn realm() -> RealmConfig {
    let salted = CraCredential::salted(
        "salty-secret",
        SaltParams {
            salt: "salt123".into(),
            iterations: 1000,
            keylen: 32,
        },
    )
    .unwrap();
    let scram = ScramSecret::derive(
        ScramProfile::Autobahn,
        "sam-password",
        b"sam-salt-16bytes",
        Kdf::Argon2id13 {
            iterations: 16,
            memory_kib: 512,
        },
    )
    .unwrap();
    let dev = CryptosignKey::from_seed(&[1; 32]);
    let mut r = RealmConfig::new("realm1");
    r.auth = AuthConfig {
        methods: [
            AuthMethod::Anonymous,
            AuthMethod::Ticket,
            AuthMethod::WampCra,
            AuthMethod::Cryptosign,
            AuthMethod::Scram,
        ]
        .into_iter()
        .map(MethodConfig::static_)
        .collect(),
        principals: vec![
            Principal::new("joe", "user").with_ticket("joe-ticket"),
            Principal::new("cra", "user").with_wampcra(CraCredential::plain("cra-secret")),
            Principal::new("salty", "user").with_wampcra(salted),
            Principal::new("dev", "device").with_cryptosign_key(dev.public_key_hex()),
            Principal::new("sam", "user").with_scram(scram),
            Principal::new("guest", "guest").with_ticket("guest-ticket"),
        ],
        ..AuthConfig::default()
    };
    let everything = || vec![Permission::new("", MatchPolicy::Prefix, Allow::all())];
    r.roles = vec![
        RoleConfig::new("anonymous", everything()),
        RoleConfig::new("user", everything()),
        RoleConfig::new("device", everything()),
        RoleConfig::new(
            "guest",
            vec![
                Permission::new(
                    "",
                    MatchPolicy::Prefix,
                    Allow {
                        publish: true,
                        subscribe: true,
                        ..Allow::none()
                    },
                ),
                Permission::new(
                    "com.interop.public",
                    MatchPolicy::Exact,
                    Allow {
                        call: true,
                        ..Allow::none()
                    },
                ),
            ],
        ),
    ];
    r.event_history = vec![HistoryConfig::new("com.interop.hist")];
    r
}

pub(super) fn config() -> ServerConfig {
    let router = RouterConfig::with_realm(realm());
    router.validate().unwrap();
    let mut c = ServerConfig::default();
    c.router = router;
    c.listeners = vec![ListenerConfig::new(Endpoint::Tcp(SocketAddr::from((
        [127, 0, 0, 1],
        0,
    ))))];
    c.seed = Some(11);
    c
}

/// Every check over WebSocket with `serializer`, against a server built from `config`.
fn all_checks_over_websocket(config: ServerConfig, serializer: &str) {
    let server = TestServer::start(config);
    let url = format!("ws://127.0.0.1:{}/ws", server.port());
    autobahn_python_script("ab_auth_meta.py", &url, "realm1", serializer, CHECKS)
        .assert_all_passed(CHECKS.len());
    server.wait_for("all sessions gone", |_, r| r.sessions == 0);
}

#[test]
fn autobahn_python_auth_and_meta_websocket_json() {
    all_checks_over_websocket(config(), "json");
}

#[test]
fn autobahn_python_auth_rawsocket_msgpack() {
    let server = TestServer::start(config());
    let url = format!("rs://127.0.0.1:{}", server.port());
    let only = &["auth_wampcra", "auth_cryptosign", "auth_scram", "meta_kill"];
    autobahn_python_script("ab_auth_meta.py", &url, "realm1", "msgpack", only)
        .assert_all_passed(only.len());
}

/// The same router, from `tests/interop/ab_auth_meta.toml`.
fn toml_config() -> ServerConfig {
    let dir = scripts_dir();
    FileConfig::load(&dir.join("ab_auth_meta.toml"))
        .and_then(|f| f.to_server_config(&dir))
        .unwrap_or_else(|e| panic!("ab_auth_meta.toml: {e}"))
}

#[test]
fn toml_configuration_is_the_rust_one() {
    let from_file = toml_config();
    assert_eq!(from_file.router.realms, vec![realm()]);
    assert_eq!(from_file.seed, Some(11));
}

#[test]
fn autobahn_python_auth_and_meta_from_toml_config_websocket_cbor() {
    all_checks_over_websocket(toml_config(), "cbor");
}

#[test]
fn autobahn_python_auth_from_toml_config_rawsocket_json() {
    let server = TestServer::start(toml_config());
    let url = format!("rs://127.0.0.1:{}", server.port());
    let only = &[
        "auth_ticket",
        "auth_wampcra",
        "auth_wampcra_salted",
        "auth_cryptosign",
        "auth_scram",
        "auth_anonymous",
    ];
    autobahn_python_script("ab_auth_meta.py", &url, "realm1", "json", only)
        .assert_all_passed(only.len());
}
