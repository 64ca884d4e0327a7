//! Our async client against our router server (in-process, `server_harness`): RPC and PubSub
//! over every transport (WebSocket and RawSocket over TCP, TLS and a Unix socket) and every
//! serializer, progressive results and cancellation.

use std::net::SocketAddr;
use std::sync::Arc;

use wamp_tokio::client::{ConnectOptions, Serializer};
use wamp_tokio::server::{Endpoint, ListenerConfig};

use crate::aclient_scenarios as sc;
use crate::aclient_scenarios::runtime;
use crate::server_harness::{TestServer, interop_config};

/// A CA and a rustls server configuration for `localhost` / `127.0.0.1` signed by it.
fn tls_server() -> (Vec<u8>, Arc<rustls::ServerConfig>) {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
        .unwrap()
        .signed_by(&key, &ca)
        .unwrap();
    let key_der = rustls::pki_types::PrivateKeyDer::try_from(key.serialize_der()).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![cert.der().clone()], key_der)
    .unwrap();
    (ca.der().to_vec(), Arc::new(config))
}

/// Our router with a plain TCP listener, a TLS listener and a Unix socket listener; returns
/// the server, every client URL and the client options (trusting the test CA).
fn start() -> (TestServer, Vec<String>, ConnectOptions, tempdir::Dir) {
    let dir = tempdir::Dir::new();
    let sock = dir.path().join("router.sock");
    let (ca, tls) = tls_server();
    let mut config = interop_config();
    let mut tls_listener =
        ListenerConfig::new(Endpoint::Tcp(SocketAddr::from(([127, 0, 0, 1], 0))));
    tls_listener.tls = Some(tls);
    config.listeners.push(tls_listener);
    config
        .listeners
        .push(ListenerConfig::new(Endpoint::Unix(sock.clone())));
    let server = TestServer::start(config);
    let tcp: Vec<u16> = server
        .endpoints()
        .iter()
        .filter_map(|e| match e {
            Endpoint::Tcp(a) => Some(a.port()),
            Endpoint::Unix(_) => None,
        })
        .collect();
    let (plain, secure) = (tcp[0], tcp[1]);
    let urls = vec![
        format!("ws://127.0.0.1:{plain}/ws"),
        format!("rs://127.0.0.1:{plain}"),
        format!("wss://localhost:{secure}/"),
        format!("rss://127.0.0.1:{secure}"),
        format!("unix://{}", sock.display()),
        format!("ws+unix://{}", sock.display()),
    ];
    let opts = ConnectOptions::default().tls(sc::tls_trusting(&ca));
    (server, urls, opts, dir)
}

/// A temporary directory removed on drop (no extra crate needed).
mod tempdir {
    use std::path::{Path, PathBuf};

    pub(crate) struct Dir(PathBuf);

    impl Dir {
        pub(crate) fn new() -> Dir {
            let p = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
                "aclient-{}-{}",
                std::process::id(),
                crate::aclient_scenarios::unique("d").as_str()
            ));
            std::fs::create_dir_all(&p).unwrap();
            Dir(p)
        }
        pub(crate) fn path(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

#[test]
fn ours_rpc_and_pubsub_over_every_transport_and_serializer() {
    let (_server, urls, opts, _dir) = start();
    runtime().block_on(sc::every_transport(
        &urls,
        &[
            Serializer::Json,
            Serializer::MsgPack,
            Serializer::Cbor,
            Serializer::Ubjson,
        ],
        &opts,
        "realm1",
    ));
}

#[test]
fn ours_rpc_and_pubsub_over_batched_websocket() {
    let (_server, urls, opts, _dir) = start();
    let ws: Vec<String> = urls.into_iter().filter(|u| u.starts_with("ws")).collect();
    let opts = ConnectOptions {
        websocket_batched: true,
        ..opts
    };
    runtime().block_on(sc::every_transport(
        &ws,
        &[
            Serializer::Json,
            Serializer::MsgPack,
            Serializer::Cbor,
            Serializer::Ubjson,
        ],
        &opts,
        "realm1",
    ));
}

#[test]
fn ours_progressive_results() {
    let (_server, urls, opts, _dir) = start();
    runtime().block_on(async {
        sc::progressive_results(&urls[0], &opts, "realm1").await;
        let opts = ConnectOptions {
            serializer: Serializer::Cbor,
            ..opts
        };
        sc::progressive_results(&urls[1], &opts, "realm1").await;
    });
}

#[test]
fn ours_cancel() {
    let (_server, urls, opts, _dir) = start();
    runtime().block_on(async {
        sc::cancel(&urls[0], &opts, "realm1", true).await;
        let opts = ConnectOptions {
            serializer: Serializer::MsgPack,
            ..opts
        };
        sc::cancel(&urls[1], &opts, "realm1", true).await;
    });
}

#[test]
fn ours_queue_policies() {
    let (_server, urls, opts, _dir) = start();
    runtime().block_on(sc::queue_policies(&urls[1], &opts, "realm1"));
}

#[test]
fn ours_drop_semantics() {
    let (_server, urls, opts, _dir) = start();
    runtime().block_on(sc::drop_semantics(&urls[0], &opts, "realm1"));
}

#[test]
fn ours_usage_errors() {
    let (_server, urls, opts, _dir) = start();
    runtime().block_on(sc::usage_errors(&urls[0], &opts, "realm1"));
}

#[test]
fn ours_progressive_call_invocations() {
    let (_server, urls, opts, _dir) = start();
    runtime().block_on(sc::progressive_call_invocations(&urls[0], &opts, "realm1"));
}
