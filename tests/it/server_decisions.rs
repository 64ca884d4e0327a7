//! The router server feeds the core what it asks for, through the public API only: dynamic
//! authentication and authorization answered by a `Decider` off the routing task (slow,
//! panicking, absent), the wall clock (`created` timestamps), transport details in the
//! session meta API, and TLS `tls-exporter` channel binding checked by cryptosign.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use wamp_proto::MatchPolicy;
use wamp_router_core::{
    Action, Allow, AuthDecision, AuthMethod, AuthzDecision, Decision, DecisionRequest,
    MethodConfig, Permission, Principal, RealmConfig, RoleConfig, RouterConfig,
};
use wamp_tokio::client::{
    Authenticator, CallError, CallOptions, Client, ConnectOptions, CryptosignKey, Dict, Error,
    JoinOptions, Payload, RegisterOptions, Serializer, Value,
};
use wamp_tokio::server::{Endpoint, ListenerConfig, ServerConfig, decider_fn};

use crate::aclient_scenarios::runtime;
use crate::aclient_scenarios::{step, tls_trusting};
use crate::server_harness::TestServer;

fn tcp_listener() -> ListenerConfig {
    ListenerConfig::new(Endpoint::Tcp(SocketAddr::from(([127, 0, 0, 1], 0))))
}

/// `realm1`: ticket authentication by the decider (role `dyn`, authorized by the decider),
/// and anonymous sessions (role `anonymous`, allowed everything, for the meta API).
fn dynamic_realm() -> RealmConfig {
    let mut r = RealmConfig::new("realm1");
    r.auth.methods = vec![
        MethodConfig::dynamic(AuthMethod::Ticket),
        MethodConfig::static_(AuthMethod::Anonymous),
    ];
    r.roles = vec![
        RoleConfig::dynamic("dyn"),
        RoleConfig::new(
            "anonymous",
            vec![Permission::new("", MatchPolicy::Prefix, Allow::all())],
        ),
    ];
    r
}

/// What the test decider shares with the test: a signal when the slow decision has started,
/// and the permit that lets it finish.
struct Gate {
    started: tokio::sync::mpsc::UnboundedSender<()>,
    release: tokio::sync::Semaphore,
}

fn authenticate(a: &wamp_router_core::AuthRequest) -> Decision {
    // The transport details reach the authenticator; the HTTP headers only when the server
    // keeps them (`ConnectionConfig::http_headers`, off by default).
    assert_eq!(a.transport.get_str("type"), Some("websocket"));
    assert!(a.transport.get("http_headers_received").is_none());
    match a.ticket.as_deref() {
        Some("good") => {
            let authid = a.authid.clone().unwrap_or_else(|| "nobody".to_owned());
            Decision::Authenticate(AuthDecision::accept(Principal::new(authid, "dyn")))
        }
        Some("panic") => panic!("test decider: panicking on purpose (authentication)"),
        _ => Decision::Authenticate(AuthDecision::Deny),
    }
}

/// A server whose decider accepts ticket `good` (role `dyn`), denies other tickets, panics
/// on ticket `panic`; allows `dyn` sessions everything on `com.a.*` and nothing else, waits
/// for the gate on a call of `com.a.slow`, panics on a call of `com.a.panic`, never answers
/// a call of `com.a.hang`. The core gives up on a decision after `decision_timeout`.
fn server_with_decider(
    decision_timeout: Duration,
) -> (
    TestServer,
    Arc<Gate>,
    tokio::sync::mpsc::UnboundedReceiver<()>,
) {
    let (started, started_rx) = tokio::sync::mpsc::unbounded_channel();
    let gate = Arc::new(Gate {
        started,
        release: tokio::sync::Semaphore::new(0),
    });
    let g = gate.clone();
    let mut config = ServerConfig::default();
    config.router = RouterConfig::with_realm(dynamic_realm());
    config.router.decision_timeout = decision_timeout;
    config.listeners = vec![tcp_listener()];
    config.seed = Some(11);
    config.decider = Some(Arc::new(decider_fn(move |request: DecisionRequest| {
        let gate = g.clone();
        async move {
            match request {
                DecisionRequest::Authenticate(a) => authenticate(&a),
                DecisionRequest::Authorize(q) => {
                    assert_eq!(q.authrole, "dyn");
                    let uri = q.uri.as_str();
                    if q.action == Action::Call && uri == "com.a.slow" {
                        gate.started.send(()).unwrap();
                        gate.release.acquire().await.unwrap().forget();
                    }
                    if q.action == Action::Call && uri == "com.a.hang" {
                        std::future::pending::<()>().await;
                    }
                    if q.action == Action::Call && uri == "com.a.panic" {
                        panic!("test decider: panicking on purpose (authorization)");
                    }
                    if uri.starts_with("com.a.") {
                        Decision::Authorize(AuthzDecision::allow())
                    } else {
                        Decision::Authorize(AuthzDecision::deny())
                    }
                }
                _ => unreachable!("no other questions"),
            }
        }
    })));
    (TestServer::start(config), gate, started_rx)
}

fn ws_url(server: &TestServer) -> String {
    format!("ws://127.0.0.1:{}/ws", server.port())
}

async fn join_ticket(url: &str, authid: &str, ticket: &str) -> Result<Client, Error> {
    let client = step("connect", Client::connect(url, ConnectOptions::default()))
        .await
        .unwrap();
    let opts = JoinOptions::anonymous("realm1")
        .authid(authid)
        .with(Authenticator::Ticket(ticket.to_owned()));
    step("join", client.join(opts)).await.map(|_| client)
}

fn join_failure(r: Result<Client, Error>) -> String {
    match r {
        Err(Error::JoinFailed(info)) => info.reason.as_str().to_owned(),
        Err(other) => panic!("expected a failed join, got {other}"),
        Ok(_) => panic!("expected a failed join, the session was welcomed"),
    }
}

fn wamp_error<T: std::fmt::Debug>(r: Result<T, Error>) -> String {
    match r {
        Err(e) => e
            .wamp_error()
            .unwrap_or_else(|| panic!("not a WAMP error: {e}"))
            .as_str()
            .to_owned(),
        Ok(v) => panic!("expected a WAMP error, got {v:?}"),
    }
}

async fn echo(client: &Client, procedure: &'static str, n: u64) -> Result<u64, Error> {
    let out = client
        .call(
            procedure,
            Payload::args(vec![Value::from(n)]),
            CallOptions::default(),
        )
        .await?;
    Ok(out.payload.arguments()[0].as_u64().unwrap())
}

async fn register_echo(
    client: &Client,
    procedure: &'static str,
) -> Result<wamp_tokio::client::HandlerRegistration, Error> {
    client
        .register_fn(procedure, RegisterOptions::default(), |inv| async move {
            Ok::<_, CallError>(Payload::args(inv.payload.arguments().to_vec()))
        })
        .await
}

#[test]
fn decider_authenticates_by_ticket() {
    let (server, _gate, _started) = server_with_decider(Duration::from_secs(30));
    let url = ws_url(&server);
    runtime().block_on(async {
        let alice = join_ticket(&url, "alice", "good").await.unwrap();
        let details = alice.session_details().unwrap();
        assert_eq!(details.authid.as_deref(), Some("alice"));
        assert_eq!(details.authrole.as_deref(), Some("dyn"));
        assert_eq!(
            join_failure(join_ticket(&url, "mallory", "bad").await),
            "wamp.error.authentication_failed"
        );
        // A panicking decider denies; the router carries on.
        assert_eq!(
            join_failure(join_ticket(&url, "pan", "panic").await),
            "wamp.error.authentication_failed"
        );
        let bob = join_ticket(&url, "bob", "good").await.unwrap();
        assert_eq!(
            bob.session_details().unwrap().authid.as_deref(),
            Some("bob")
        );
    });
}

#[test]
fn decider_authorizes_a_dynamic_role() {
    let (server, _gate, _started) = server_with_decider(Duration::from_secs(30));
    let url = ws_url(&server);
    runtime().block_on(async {
        let callee = join_ticket(&url, "callee", "good").await.unwrap();
        let caller = join_ticket(&url, "caller", "good").await.unwrap();
        let _echo = step("register", register_echo(&callee, "com.a.echo"))
            .await
            .unwrap();
        assert_eq!(
            wamp_error(step("register denied", register_echo(&callee, "com.b.echo")).await),
            "wamp.error.not_authorized"
        );
        assert_eq!(
            step("call", echo(&caller, "com.a.echo", 5)).await.unwrap(),
            5
        );
        assert_eq!(
            wamp_error(step("call denied", echo(&caller, "com.b.echo", 5)).await),
            "wamp.error.not_authorized"
        );
        // A panicking decider denies the request; the session and the router carry on.
        assert_eq!(
            wamp_error(step("call panics", echo(&caller, "com.a.panic", 1)).await),
            "wamp.error.not_authorized"
        );
        assert_eq!(
            step("call after panic", echo(&caller, "com.a.echo", 6))
                .await
                .unwrap(),
            6
        );
    });
}

#[test]
fn router_serves_others_while_a_decision_is_pending() {
    let (server, gate, mut started) = server_with_decider(Duration::from_secs(30));
    let url = ws_url(&server);
    runtime().block_on(async {
        let callee = join_ticket(&url, "callee", "good").await.unwrap();
        let _echo = step("register echo", register_echo(&callee, "com.a.echo"))
            .await
            .unwrap();
        let _slow = step("register slow", register_echo(&callee, "com.a.slow"))
            .await
            .unwrap();
        let waiting = join_ticket(&url, "waiting", "good").await.unwrap();
        let other = join_ticket(&url, "other", "good").await.unwrap();
        let slow = tokio::spawn(async move { echo(&waiting, "com.a.slow", 1).await });
        // The decider holds the slow call's authorization ...
        step("slow decision started", started.recv()).await.unwrap();
        // ... while another session's call is authorized (by the same decider) and routed.
        assert_eq!(
            step("call while pending", echo(&other, "com.a.echo", 2))
                .await
                .unwrap(),
            2
        );
        let anon = step(
            "anonymous join while pending",
            Client::connect_and_join(
                &url,
                ConnectOptions::default(),
                JoinOptions::anonymous("realm1"),
            ),
        )
        .await
        .unwrap()
        .0;
        assert_eq!(
            step("anonymous call while pending", echo(&anon, "com.a.echo", 3))
                .await
                .unwrap(),
            3
        );
        assert!(!slow.is_finished(), "the slow call waits for its decision");
        gate.release.add_permits(1);
        assert_eq!(step("slow call", slow).await.unwrap().unwrap(), 1);
    });
}

#[test]
fn without_a_decider_questions_are_denied_at_once() {
    let mut realm = dynamic_realm();
    // A static ticket principal in a dynamically authorized role.
    realm.name = "realm2".into();
    realm.auth.methods = vec![MethodConfig::static_(AuthMethod::Ticket)];
    realm.auth.principals = vec![Principal::new("carol", "dyn").with_ticket("t0")];
    let mut router = RouterConfig::with_realm(dynamic_realm());
    router.realms.push(realm);
    // Were a question left to the core's deadline, the test would hang (and fail by the
    // step guard): the server must deny at once.
    router.decision_timeout = Duration::from_secs(24 * 3600);
    let mut config = ServerConfig::default();
    config.router = router;
    config.listeners = vec![tcp_listener()];
    config.seed = Some(12);
    let server = TestServer::start(config);
    let url = ws_url(&server);
    runtime().block_on(async {
        for _ in 0..2 {
            assert_eq!(
                join_failure(join_ticket(&url, "alice", "good").await),
                "wamp.error.authentication_failed"
            );
        }
        let client = step("connect", Client::connect(&url, ConnectOptions::default()))
            .await
            .unwrap();
        let opts = JoinOptions::anonymous("realm2")
            .authid("carol")
            .with(Authenticator::Ticket("t0".to_owned()));
        step("join realm2", client.join(opts)).await.unwrap();
        assert_eq!(
            wamp_error(step("call", echo(&client, "com.a.echo", 1)).await),
            "wamp.error.not_authorized"
        );
    });
}

/// The year of a meta API timestamp (`2025-01-02T03:04:05.678Z`).
fn year(ts: &str) -> u32 {
    ts.get(..4)
        .and_then(|y| y.parse().ok())
        .unwrap_or_else(|| panic!("not a timestamp: {ts}"))
}

async fn session_transport(meta: &Client, session: &Client) -> Dict {
    let sid = session.session_id().unwrap();
    let out = step(
        "wamp.session.get",
        meta.call(
            "wamp.session.get",
            Payload::args(vec![Value::from(sid.get())]),
            CallOptions::default(),
        ),
    )
    .await
    .unwrap();
    out.payload.arguments()[0]
        .as_dict()
        .unwrap()
        .get_dict("transport")
        .unwrap()
        .clone()
}

#[test]
fn session_meta_shows_transport_details_and_real_timestamps() {
    let dir = std::env::temp_dir().join(format!("wamp-decisions-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let sock = dir.join("router.sock");
    let mut config = ServerConfig::default();
    config.router = RouterConfig::with_realm("realm1");
    config.listeners = vec![
        tcp_listener(),
        ListenerConfig::new(Endpoint::Unix(sock.clone())),
    ];
    config.seed = Some(13);
    config.connection.http_headers = true;
    let server = TestServer::start(config);
    let port = server.port();
    runtime().block_on(async {
        let connect = |url: String, serializer: Serializer| async move {
            step(
                "connect and join",
                Client::connect_and_join(
                    &url,
                    ConnectOptions::default().serializer(serializer),
                    JoinOptions::anonymous("realm1"),
                ),
            )
            .await
            .unwrap_or_else(|e| panic!("{url}: {e}"))
            .0
        };
        let ws = connect(format!("ws://127.0.0.1:{port}/ws"), Serializer::Json).await;
        let rs = connect(format!("rs://127.0.0.1:{port}"), Serializer::Cbor).await;
        let unix = connect(format!("unix://{}", sock.display()), Serializer::MsgPack).await;

        let t = session_transport(&ws, &ws).await;
        assert_eq!(t.get_str("type"), Some("websocket"));
        assert_eq!(t.get_str("protocol"), Some("wamp.2.json"));
        assert_eq!(t.get_str("websocket_protocol"), Some("wamp.2.json"));
        assert_eq!(t.get_str("channel_framing"), Some("websocket"));
        assert_eq!(t.get_str("channel_serializer"), Some("json"));
        assert_eq!(t.get_str("channel_type"), Some("tcp"));
        assert_eq!(t.get_bool("is_secure"), Some(false));
        assert_eq!(t.get_bool("is_server"), Some(true));
        assert!(t.get("channel_id").is_none());
        let peer = t.get_str("peer").unwrap();
        let peer_port: u16 = peer
            .strip_prefix("tcp4:127.0.0.1:")
            .unwrap_or_else(|| panic!("peer {peer}"))
            .parse()
            .unwrap();
        assert_ne!(peer_port, port, "the client's port, not the listener's");
        let headers = t.get_dict("http_headers_received").unwrap();
        assert_eq!(
            headers.get_str("host"),
            Some(format!("127.0.0.1:{port}").as_str())
        );
        assert_eq!(
            headers.get_str("sec-websocket-protocol"),
            Some("wamp.2.json")
        );
        assert_eq!(
            headers.get_str("upgrade").map(str::to_lowercase),
            Some("websocket".into())
        );

        let t = session_transport(&ws, &rs).await;
        assert_eq!(t.get_str("type"), Some("rawsocket"));
        assert_eq!(t.get_str("protocol"), Some("cbor"));
        assert_eq!(t.get_str("channel_serializer"), Some("cbor"));
        assert!(t.get_str("peer").unwrap().starts_with("tcp4:127.0.0.1:"));
        assert!(t.get("http_headers_received").is_none());
        assert!(t.get("websocket_protocol").is_none());

        let t = session_transport(&ws, &unix).await;
        assert_eq!(t.get_str("type"), Some("rawsocket"));
        assert_eq!(t.get_str("protocol"), Some("msgpack"));
        assert_eq!(t.get_str("peer"), Some("unix"));
        assert_eq!(t.get_bool("is_secure"), Some(false));

        // The router's wall clock is the system's: `created` is a real date.
        let reg = step("register", register_echo(&rs, "com.example.clock"))
            .await
            .unwrap();
        let out = step(
            "wamp.registration.get",
            ws.call(
                "wamp.registration.get",
                Payload::args(vec![Value::from(reg.id().get())]),
                CallOptions::default(),
            ),
        )
        .await
        .unwrap();
        let created = out.payload.arguments()[0]
            .as_dict()
            .unwrap()
            .get_str("created")
            .unwrap()
            .to_owned();
        assert!(year(&created) >= 2025, "created {created}");
    });
    server.stop();
    let _ = std::fs::remove_dir_all(&dir);
}

/// A rustls server configuration for `localhost` and `127.0.0.1` (self-signed), and the
/// certificate to trust.
fn tls_server(require_ems: bool) -> (Vec<u8>, Arc<rustls::ServerConfig>) {
    let cert =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .unwrap();
    let key = rustls::pki_types::PrivateKeyDer::try_from(cert.signing_key.serialize_der()).unwrap();
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![cert.cert.der().clone()], key)
    .unwrap();
    config.require_ems = require_ems;
    (cert.cert.der().to_vec(), Arc::new(config))
}

/// A client configuration trusting `cert`, limited to TLS 1.2.
fn tls12_trusting(cert: &[u8]) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(rustls::pki_types::CertificateDer::from(cert.to_vec()))
        .unwrap();
    Arc::new(
        rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_protocol_versions(&[&rustls::version::TLS12])
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth(),
    )
}

const SEED: [u8; 32] = [0x42; 32];

/// Connects to `url` and joins as `joe` with cryptosign, bound to the channel (`tamper`:
/// with one octet of the binding changed, as a man in the middle would have it).
async fn cryptosign_join(
    url: &str,
    opts: ConnectOptions,
    tamper: bool,
) -> (Client, Result<(), Error>) {
    let client = step("connect", Client::connect(url, opts))
        .await
        .unwrap_or_else(|e| panic!("{url}: {e}"));
    let mut binding = client
        .tls_channel_binding()
        .expect("the client computes tls-exporter on TLS");
    assert_eq!(binding.data.len(), 32);
    if tamper {
        binding.data[0] ^= 1;
    }
    let mut join = JoinOptions::anonymous("realm1")
        .authid("joe")
        .with(Authenticator::Cryptosign(CryptosignKey::from_seed(&SEED)));
    join.channel_binding = Some(binding);
    let r = step("join", client.join(join)).await.map(|_| ());
    (client, r)
}

#[test]
fn tls_exporter_channel_binding_with_cryptosign() {
    let mut realm = RealmConfig::new("realm1");
    realm.auth.methods = vec![
        MethodConfig::static_(AuthMethod::Cryptosign),
        MethodConfig::static_(AuthMethod::Anonymous),
    ];
    realm.auth.principals = vec![
        Principal::new("joe", "user")
            .with_cryptosign_key(CryptosignKey::from_seed(&SEED).public_key_hex()),
    ];
    let (cert, tls) = tls_server(false);
    let (cert_ems, tls_ems) = tls_server(true);
    let mut plain_ems = tcp_listener();
    plain_ems.tls = Some(tls_ems);
    let mut secure = tcp_listener();
    secure.tls = Some(tls);
    let mut config = ServerConfig::default();
    config.router = RouterConfig::with_realm(realm);
    config.listeners = vec![secure, plain_ems];
    config.seed = Some(14);
    let server = TestServer::start(config);
    let ports: Vec<u16> = server
        .endpoints()
        .iter()
        .map(|e| match e {
            Endpoint::Tcp(a) => a.port(),
            Endpoint::Unix(_) => unreachable!(),
        })
        .collect();
    let (port, port_ems) = (ports[0], ports[1]);
    runtime().block_on(async {
        let opts = ConnectOptions::default().tls(tls_trusting(&cert));
        // TLS 1.3, WebSocket and RawSocket: the router binds to the same channel ID.
        let (wss, r) =
            cryptosign_join(&format!("wss://localhost:{port}/ws"), opts.clone(), false).await;
        r.unwrap();
        let (rss, r) =
            cryptosign_join(&format!("rss://127.0.0.1:{port}"), opts.clone(), false).await;
        r.unwrap();
        assert_eq!(
            rss.session_details().unwrap().authid.as_deref(),
            Some("joe")
        );
        // The session meta API shows the secure transport and its channel ID, the one the
        // client computed.
        let t = session_transport(&wss, &wss).await;
        assert_eq!(t.get_bool("is_secure"), Some(true));
        assert_eq!(t.get_str("channel_type"), Some("tls"));
        assert_eq!(
            t.get_dict("channel_id")
                .unwrap()
                .get("tls-exporter")
                .and_then(Value::as_bytes),
            Some(&wss.tls_channel_binding().unwrap().data[..])
        );
        // A client bound to another channel fails.
        let (_c, r) =
            cryptosign_join(&format!("wss://localhost:{port}/ws"), opts.clone(), true).await;
        match r {
            Err(Error::JoinFailed(info)) => {
                assert_eq!(info.reason.as_str(), "wamp.error.authentication_failed");
            }
            other => panic!("a tampered binding must fail: {other:?}"),
        }
        // TLS 1.2 without a required extended master secret: no binding is offered, so a
        // client asking for one fails ...
        let opts12 = ConnectOptions::default().tls(tls12_trusting(&cert));
        let (c12, r) =
            cryptosign_join(&format!("rss://127.0.0.1:{port}"), opts12.clone(), false).await;
        assert!(matches!(r, Err(Error::JoinFailed(_))), "{r:?}");
        drop(c12);
        // ... and with it required, the binding is offered and checked.
        let opts12 = ConnectOptions::default().tls(tls12_trusting(&cert_ems));
        let (c12, r) = cryptosign_join(&format!("rss://127.0.0.1:{port_ems}"), opts12, false).await;
        r.unwrap();
        let t = session_transport(&wss, &c12).await;
        assert_eq!(t.get_str("channel_type"), Some("tls"));
        assert!(t.get_dict("channel_id").is_some());
    });
}

#[test]
fn an_unanswered_decision_fails_at_the_core_deadline() {
    let (server, _gate, _started) = server_with_decider(Duration::from_secs(2));
    let url = ws_url(&server);
    runtime().block_on(async {
        let callee = join_ticket(&url, "callee", "good").await.unwrap();
        let _echo = step("register", register_echo(&callee, "com.a.echo"))
            .await
            .unwrap();
        let caller = join_ticket(&url, "caller", "good").await.unwrap();
        // The decider never answers: the core's deadline does (and the decider's future is
        // dropped); the session's later requests then go on in order.
        let hang = caller.call("com.a.hang", Payload::empty(), CallOptions::default());
        let next = echo(&caller, "com.a.echo", 7);
        let (hang, next) = step("deadline", async { tokio::join!(hang, next) }).await;
        assert_eq!(wamp_error(hang), "wamp.error.authorization_failed");
        assert_eq!(next.unwrap(), 7);
    });
}
