//! Our router server built from a TOML configuration (`FileConfig` -> `ServerConfig` ->
//! `Server`), joined by our async client with every authentication method the file
//! configures; wrong secrets refused, roles enforced. Also the example
//! `wamp-tokio/examples/router-auth.toml`, served as written (but on a free port), with the
//! sample credentials its comments list.

use std::net::SocketAddr;
use std::path::Path;

use wamp_tokio::client::{
    Authenticator, CallError, CallOptions, Client, ConnectOptions, CryptosignKey, Error,
    JoinOptions, Payload, PublishOptions, RegisterOptions, ScramProfile, SessionDetails,
    SubscribeOptions, Uri, Value,
};
use wamp_tokio::config::FileConfig;
use wamp_tokio::server::{Endpoint, ListenerConfig, ServerConfig};

use crate::aclient_scenarios::runtime;
use crate::aclient_scenarios::step;
use crate::server_harness::TestServer;

/// The seed 0x01 * 32's public key (the `dev` principal).
const DEV_PUBKEY: &str = "8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c";
/// The router key seed 0x2a * 32's public key.
const ROUTER_PUBKEY: &str = "197f6b23e16c8532c6abc838facd5ea789be0c76b2920334039bfa8b3d368d61";

const CONFIG: &str = r#"
[[listeners]]
address = "127.0.0.1:0"

[router]
seed = 5

[[realms]]
name = "realm1"

[realms.auth]
methods = ["ticket", "wampcra", "cryptosign", "scram", "anonymous"]
anonymous_role = "guest"
cryptosign_router_key = "2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a"

[[realms.auth.principals]]
authid = "joe"
role = "user"
ticket = "joe-ticket"
authextra = { team = "blue" }

[[realms.auth.principals]]
authid = "cra"
role = "user"
wampcra = { secret = "cra-secret" }

[[realms.auth.principals]]
authid = "salty"
role = "user"
wampcra = { password = "salty-secret", salt = "salt123", iterations = 1000, keylen = 32 }

[[realms.auth.principals]]
authid = "dev"
role = "device"
cryptosign_keys = ["8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c"]

# Argon2id at a low cost: the test stays cheap.
[[realms.auth.principals]]
authid = "sam"
role = "user"
scram = { password = "sam-password", salt = "73616d2d73616c742d31366279746573", kdf = "argon2id13", iterations = 16, memory = 512 }

[[realms.roles]]
name = "user"
[[realms.roles.permissions]]
uri = "com.example."
match = "prefix"
allow = ["call", "register", "publish", "subscribe"]
[[realms.roles.permissions]]
uri = "com.example.secret"
allow = []

[[realms.roles]]
name = "device"
[[realms.roles.permissions]]
uri = "com.example.device."
match = "prefix"
allow = { publish = true, register = true }

[[realms.roles]]
name = "guest"
[[realms.roles.permissions]]
uri = "com.example.news"
allow = ["subscribe"]
"#;

fn server_from(text: &str, base: &Path) -> ServerConfig {
    FileConfig::parse(text)
        .and_then(|f| f.to_server_config(base))
        .unwrap_or_else(|e| panic!("configuration: {e}"))
}

fn start() -> (TestServer, String) {
    let server = TestServer::start(server_from(CONFIG, Path::new(".")));
    let url = format!("ws://127.0.0.1:{}/ws", server.port());
    (server, url)
}

fn seed_key(b: u8) -> CryptosignKey {
    CryptosignKey::from_seed(&[b; 32])
}

fn scram(password: &str) -> Authenticator {
    Authenticator::Scram {
        profile: ScramProfile::Autobahn,
        password: password.to_owned(),
    }
}

fn opts() -> JoinOptions {
    JoinOptions::anonymous(Uri::from("realm1"))
}

async fn try_join(url: &str, join: JoinOptions) -> (Client, Result<SessionDetails, Error>) {
    let client = step("connect", Client::connect(url, ConnectOptions::default()))
        .await
        .unwrap();
    let r = step("join", client.join(join)).await;
    (client, r)
}

async fn join(url: &str, join: JoinOptions) -> (Client, SessionDetails) {
    let (c, r) = try_join(url, join).await;
    let d = r.unwrap_or_else(|e| panic!("join failed: {e}"));
    (c, d)
}

fn identity(d: &SessionDetails) -> (&str, &str, &str, &str) {
    (
        d.authid.as_deref().unwrap_or_default(),
        d.authrole.as_deref().unwrap_or_default(),
        d.authmethod.as_deref().unwrap_or_default(),
        d.authprovider.as_deref().unwrap_or_default(),
    )
}

async fn refused(url: &str, j: JoinOptions) -> String {
    match try_join(url, j).await.1 {
        Err(Error::JoinFailed(info)) => info.reason.as_str().to_owned(),
        other => panic!("expected a refused join, got {other:?}"),
    }
}

#[test]
fn every_configured_method_joins_our_client() {
    let (server, url) = start();
    runtime().block_on(async {
        let (c, d) = join(
            &url,
            opts()
                .authid("joe")
                .with(Authenticator::Ticket("joe-ticket".into())),
        )
        .await;
        assert_eq!(identity(&d), ("joe", "user", "ticket", "static"));
        assert_eq!(
            d.authextra().and_then(|e| e.get_str("team")),
            Some("blue"),
            "authextra from the file: {:?}",
            d.details
        );
        c.leave().await.unwrap();

        let (c, d) = join(
            &url,
            opts()
                .authid("cra")
                .with(Authenticator::WampCra("cra-secret".into())),
        )
        .await;
        assert_eq!(identity(&d), ("cra", "user", "wampcra", "static"));
        c.leave().await.unwrap();

        // Salted: the client derives the key from the password with the CHALLENGE's salt.
        let (c, d) = join(
            &url,
            opts()
                .authid("salty")
                .with(Authenticator::WampCra("salty-secret".into())),
        )
        .await;
        assert_eq!(identity(&d), ("salty", "user", "wampcra", "static"));
        c.leave().await.unwrap();

        // Cryptosign, the key naming the principal, the router proving its own key.
        let mut j = opts().with(Authenticator::Cryptosign(seed_key(1)));
        j.cryptosign_router_key = Some(hex32(ROUTER_PUBKEY));
        let (c, d) = join(&url, j).await;
        assert_eq!(identity(&d), ("dev", "device", "cryptosign", "static"));
        assert_eq!(seed_key(1).public_key_hex(), DEV_PUBKEY);
        c.leave().await.unwrap();

        let (c, d) = join(&url, opts().authid("sam").with(scram("sam-password"))).await;
        assert_eq!(identity(&d), ("sam", "user", "scram", "static"));
        c.leave().await.unwrap();

        let (c, d) = join(&url, opts()).await;
        let (_, role, method, _) = identity(&d);
        assert_eq!((role, method), ("guest", "anonymous"));
        c.leave().await.unwrap();
    });
    server.wait_for("all sessions gone", |_, r| r.sessions == 0);
}

#[test]
fn wrong_secrets_are_refused() {
    let (_server, url) = start();
    runtime().block_on(async {
        let failed = "wamp.error.authentication_failed";
        let cases = [
            opts()
                .authid("joe")
                .with(Authenticator::Ticket("guess".into())),
            opts()
                .authid("nobody")
                .with(Authenticator::Ticket("joe-ticket".into())),
            opts()
                .authid("cra")
                .with(Authenticator::WampCra("wrong".into())),
            opts()
                .authid("salty")
                .with(Authenticator::WampCra("wrong".into())),
            opts()
                .authid("dev")
                .with(Authenticator::Cryptosign(seed_key(2))),
            opts().authid("sam").with(scram("wrong")),
            // A right secret for a principal of another method.
            opts()
                .authid("joe")
                .with(Authenticator::WampCra("joe-ticket".into())),
        ];
        for (i, j) in cases.into_iter().enumerate() {
            assert_eq!(refused(&url, j).await, failed, "case {i}");
        }
        // A router key that is not the configured one: our client refuses the router.
        let mut j = opts().with(Authenticator::Cryptosign(seed_key(1)));
        j.cryptosign_router_key = Some(hex32(DEV_PUBKEY));
        assert_eq!(refused(&url, j).await, "wamp.error.cannot_authenticate");
    });
}

#[test]
fn roles_from_the_file_permit_and_deny() {
    let (_server, url) = start();
    runtime().block_on(async {
        let not_authorized = Some(Uri::from("wamp.error.not_authorized"));
        let (user, _) = join(
            &url,
            opts()
                .authid("joe")
                .with(Authenticator::Ticket("joe-ticket".into())),
        )
        .await;
        let (device, _) = join(&url, opts().with(Authenticator::Cryptosign(seed_key(1)))).await;
        let (guest, _) = join(&url, opts()).await;

        // The device registers under its prefix; users may call it.
        let _reg = step(
            "register",
            device.register_fn(
                Uri::from("com.example.device.status"),
                RegisterOptions::default(),
                |_inv| async move {
                    Ok::<_, CallError>(Payload::new(vec![Value::from("ok")], Default::default()))
                },
            ),
        )
        .await
        .unwrap();
        let out = step(
            "user call",
            user.call(
                Uri::from("com.example.device.status"),
                Payload::default(),
                CallOptions::default(),
            ),
        )
        .await
        .unwrap();
        assert_eq!(out.payload.arguments(), [Value::from("ok")]);

        // The device may not call (its rule allows publish and register only).
        let e = step(
            "device call",
            device.call(
                Uri::from("com.example.device.status"),
                Payload::default(),
                CallOptions::default(),
            ),
        )
        .await
        .unwrap_err();
        assert_eq!(e.wamp_error(), not_authorized.as_ref(), "{e}");
        // The exact rule beats the prefix rule: users may not register the secret one.
        let e = step(
            "user register secret",
            user.register(Uri::from("com.example.secret"), RegisterOptions::default()),
        )
        .await
        .unwrap_err();
        assert_eq!(e.wamp_error(), not_authorized.as_ref(), "{e}");
        // Guests subscribe to the news and nothing else.
        step(
            "guest subscribe",
            guest.subscribe(Uri::from("com.example.news"), SubscribeOptions::default()),
        )
        .await
        .unwrap();
        let e = step(
            "guest publish",
            guest.publish(
                Uri::from("com.example.news"),
                Payload::default(),
                PublishOptions {
                    acknowledge: true,
                    ..PublishOptions::default()
                },
            ),
        )
        .await
        .unwrap_err();
        assert_eq!(e.wamp_error(), not_authorized.as_ref(), "{e}");
        let e = step(
            "guest subscribe elsewhere",
            guest.subscribe(Uri::from("com.example.other"), SubscribeOptions::default()),
        )
        .await
        .unwrap_err();
        assert_eq!(e.wamp_error(), not_authorized.as_ref(), "{e}");
    });
}

#[test]
fn router_auth_example_serves_its_sample_credentials() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("wamp-tokio")
        .join("examples");
    let file = FileConfig::load(&dir.join("router-auth.toml")).unwrap();
    let mut config = file.to_server_config(&dir).unwrap();
    // As written, but on a free loopback port (and without the Unix socket).
    config.listeners = vec![ListenerConfig::new(Endpoint::Tcp(SocketAddr::from((
        [127, 0, 0, 1],
        0,
    ))))];
    let server = TestServer::start(config);
    let url = format!("ws://127.0.0.1:{}/ws", server.port());
    runtime().block_on(async {
        let ticket = |a: &str, s: &str| opts().authid(a).with(Authenticator::Ticket(s.into()));
        let cra = |a: &str, s: &str| opts().authid(a).with(Authenticator::WampCra(s.into()));
        let samples = [
            (ticket("joe", "joe-ticket"), "joe", "user"),
            (cra("cra", "cra-secret"), "cra", "user"),
            (cra("salty", "salty-secret"), "salty", "user"),
            (cra("pepper", "pepper-secret"), "pepper", "user"),
            (
                opts().with(Authenticator::Cryptosign(seed_key(1))),
                "dev",
                "device",
            ),
            (
                opts().authid("sam").with(scram("sam-password")),
                "sam",
                "user",
            ),
            (
                opts().authid("sam").with(Authenticator::Scram {
                    profile: ScramProfile::Spec,
                    password: "sam-password".into(),
                }),
                "sam",
                "user",
            ),
            (
                opts().authid("alice").with(scram("alice-password")),
                "alice",
                "admin",
            ),
        ];
        for (j, authid, role) in samples {
            let (c, d) = join(&url, j).await;
            assert_eq!((identity(&d).0, identity(&d).1), (authid, role));
            c.leave().await.unwrap();
        }
        let (c, d) = join(&url, opts()).await;
        assert_eq!(identity(&d).1, "public");
        c.leave().await.unwrap();
    });
}

fn hex32(s: &str) -> [u8; 32] {
    let mut out = [0u8; 32];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap();
    }
    out
}

/// A listener's `auth_methods` restricts the realm's methods on its connections: ticket only
/// on one listener, anonymous only on the other.
///
/// Needs `ListenerConfig::auth_methods` handed to the core per connection
/// (`TransportInfo::auth_methods`, set in `server/conn.rs`): the lead wires it when merging
/// the `config` branch, then removes the `ignore`.
#[test]
fn listener_auth_methods_restrict_the_realms_methods() {
    let text = r#"
        [[listeners]]
        address = "127.0.0.1:0"
        auth_methods = ["ticket"]
        [[listeners]]
        address = "127.0.0.1:0"
        auth_methods = ["anonymous"]
        [[realms]]
        name = "realm1"
        [realms.auth]
        methods = ["anonymous", "ticket"]
        [[realms.auth.principals]]
        authid = "joe"
        role = "user"
        ticket = "joe-ticket"
    "#;
    let server = TestServer::start(server_from(text, Path::new(".")));
    let ports: Vec<u16> = server
        .endpoints()
        .iter()
        .map(|e| match e {
            Endpoint::Tcp(a) => a.port(),
            Endpoint::Unix(_) => unreachable!("TCP listeners only"),
        })
        .collect();
    let (ticket_only, anonymous_only) = (
        format!("ws://127.0.0.1:{}/ws", ports[0]),
        format!("ws://127.0.0.1:{}/ws", ports[1]),
    );
    runtime().block_on(async {
        let ticket = || {
            opts()
                .authid("joe")
                .with(Authenticator::Ticket("joe-ticket".into()))
        };
        let no_method = "wamp.error.no_auth_method";
        let (c, d) = join(&ticket_only, ticket()).await;
        assert_eq!(identity(&d).2, "ticket");
        c.leave().await.unwrap();
        assert_eq!(refused(&ticket_only, opts()).await, no_method);
        // A client offering both gets the one the listener allows.
        let both = opts()
            .authid("joe")
            .with(Authenticator::Anonymous)
            .with(Authenticator::Ticket("joe-ticket".into()));
        let (c, d) = join(&ticket_only, both).await;
        assert_eq!(identity(&d).2, "ticket");
        c.leave().await.unwrap();
        let (c, d) = join(&anonymous_only, opts()).await;
        assert_eq!(identity(&d).2, "anonymous");
        c.leave().await.unwrap();
        assert_eq!(refused(&anonymous_only, ticket()).await, no_method);
    });
}
