//! TLS (rustls, self-signed certificate made at test time) and Unix domain sockets, each
//! serving WebSocket and RawSocket on one socket.

use std::net::SocketAddr;
use std::sync::Arc;

use rustls::pki_types::ServerName;
use wamp_proto::Serializer;
use wamp_proto::websocket::Subprotocol;
use wamp_tokio::server::{Endpoint, ListenerConfig};

use crate::server_harness::{TestServer, interop_config};
use crate::server_peer::{Peer, Stream, rt};

fn client_config(
    cert_der: rustls::pki_types::CertificateDer<'static>,
) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert_der).unwrap();
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    Arc::new(config)
}

#[test]
fn tls_serves_websocket_and_rawsocket_on_one_port() {
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let server_tls = wamp_tokio::config::tls_server_config(
        cert.cert.pem().as_bytes(),
        cert.signing_key.serialize_pem().as_bytes(),
    )
    .unwrap();
    let mut config = interop_config();
    let mut l = ListenerConfig::new(Endpoint::Tcp(SocketAddr::from(([127, 0, 0, 1], 0))));
    l.tls = Some(server_tls);
    config.listeners = vec![l];
    let server = TestServer::start(config);
    let port = server.port();
    let connector = tokio_rustls::TlsConnector::from(client_config(cert.cert.der().clone()));
    rt().block_on(async {
        let tls = |connector: tokio_rustls::TlsConnector| async move {
            let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .unwrap();
            let name = ServerName::try_from("localhost").unwrap();
            let s: Box<dyn Stream> = Box::new(connector.connect(name, tcp).await.unwrap());
            s
        };
        let mut a = Peer::websocket(
            tls(connector.clone()).await,
            port,
            Subprotocol::new(Serializer::MsgPack, false),
        )
        .await;
        assert!(a.join().await >= 1);
        let mut b = Peer::rawsocket(tls(connector.clone()).await, Serializer::Cbor).await;
        assert!(b.join().await >= 1);
        // A plain-text client cannot talk to the TLS listener.
        let plain = crate::server_peer::tcp(port).await;
        let mut refused = Box::pin(Peer::try_rawsocket(plain, Serializer::Json));
        assert!(refused.as_mut().await.is_none());
    });
    server.wait_for("TLS failure counted", |s, _| s.handshake_failures == 1);
}

#[test]
fn unix_socket_serves_websocket_and_rawsocket() {
    let path = std::env::temp_dir().join(format!("wamp-test-{}.sock", std::process::id()));
    // A stale socket file from an earlier run is replaced.
    let _stale = std::os::unix::net::UnixListener::bind(&path);
    let mut config = interop_config();
    config.listeners = vec![ListenerConfig::new(Endpoint::Unix(path.clone()))];
    let server = TestServer::start(config);
    assert_eq!(server.endpoints(), [Endpoint::Unix(path.clone())]);
    rt().block_on(async {
        let unix = || async {
            let s: Box<dyn Stream> =
                Box::new(tokio::net::UnixStream::connect(&path).await.unwrap());
            s
        };
        let mut a =
            Peer::websocket(unix().await, 0, Subprotocol::new(Serializer::Json, true)).await;
        assert!(a.join().await >= 1);
        let mut b = Peer::rawsocket(unix().await, Serializer::Ubjson).await;
        assert!(b.join().await >= 1);
    });
    server.stop();
    assert!(!path.exists(), "the socket file is removed on shutdown");
}
