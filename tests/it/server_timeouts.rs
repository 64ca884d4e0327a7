//! The server's timeouts through real sockets: opening handshake, HELLO, idle, and keepalive
//! pings that keep a live peer connected. (Only outcomes are asserted, never durations.)

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use wamp_proto::Serializer;
use wamp_proto::websocket::Subprotocol;
use wamp_tokio::server::ServerConfig;

use crate::server_harness::{TestServer, interop_config};
use crate::server_peer::{Gone, Peer, WAIT, rt, tcp};

fn short(f: impl FnOnce(&mut ServerConfig)) -> ServerConfig {
    let mut c = interop_config();
    f(&mut c);
    c
}

/// Reads until the server closes; `true` if it did within [`WAIT`].
async fn closed_by_server(s: &mut Box<dyn crate::server_peer::Stream>) -> bool {
    let mut sink = Vec::new();
    matches!(
        tokio::time::timeout(WAIT, s.read_to_end(&mut sink)).await,
        Ok(Ok(_)) | Ok(Err(_))
    )
}

#[test]
fn silent_or_stalled_handshakes_time_out() {
    let server = TestServer::start(short(|c| {
        c.connection.handshake_timeout = Duration::from_millis(200);
    }));
    let port = server.port();
    rt().block_on(async {
        // Nothing at all; half a RawSocket handshake; half an HTTP request.
        let mut silent = tcp(port).await;
        let mut half_rs = tcp(port).await;
        half_rs.write_all(&[0x7F, 0xF1]).await.unwrap();
        let mut half_http = tcp(port).await;
        half_http
            .write_all(b"GET /ws HTTP/1.1\r\nHost: x\r\n")
            .await
            .unwrap();
        for s in [&mut silent, &mut half_rs, &mut half_http] {
            assert!(closed_by_server(s).await);
        }
    });
    server.wait_for("three handshake timeouts", |s, r| {
        s.handshake_timeouts == 3 && s.open_connections == 0 && r.connections == 0
    });
}

#[test]
fn a_connection_without_hello_is_closed_and_a_session_is_not() {
    let server = TestServer::start(short(|c| {
        c.router.hello_timeout = Some(Duration::from_secs(2));
    }));
    let port = server.port();
    rt().block_on(async {
        let mut joined = Peer::connect(port, None, Serializer::Json).await;
        joined.join().await;
        let mut idle = Peer::connect(
            port,
            Some(Subprotocol::new(Serializer::Json, false)),
            Serializer::Json,
        )
        .await;
        // The router closes the connection that never said HELLO (policy violation, 1008).
        assert_eq!(idle.closed().await, Gone::Closed(Some(1008)));
        // The joined session stays (it has no HELLO deadline).
        joined.send(&crate::server_peer::goodbye()).await;
        assert!(matches!(
            joined.recv().await,
            Ok(wamp_proto::Message::Goodbye(_))
        ));
    });
}

#[test]
fn pings_keep_live_peers_and_idle_peers_are_dropped() {
    let server = TestServer::start(short(|c| {
        c.connection.ping_interval = Some(Duration::from_millis(150));
        c.connection.idle_timeout = Some(Duration::from_secs(1));
    }));
    let port = server.port();
    rt().block_on(async {
        // Live peers answer PINGs (tungstenite does on WebSocket, our peer on RawSocket) and
        // are still connected after many idle periods: the wait for a message times out.
        let mut ws = Peer::connect(
            port,
            Some(Subprotocol::new(Serializer::Cbor, false)),
            Serializer::Cbor,
        )
        .await;
        ws.join().await;
        let mut rs = Peer::connect(port, None, Serializer::Cbor).await;
        rs.join().await;
        let (a, b) = tokio::join!(
            tokio::time::timeout(Duration::from_secs(3), ws.recv()),
            tokio::time::timeout(Duration::from_secs(3), rs.recv()),
        );
        assert!(a.is_err() && b.is_err(), "{a:?} {b:?}");
        drop((ws, rs));
        // A RawSocket peer that does not read (so never answers) is dropped as idle.
        let mut deaf = tcp(port).await;
        deaf.write_all(&[0x7F, 0xF1, 0, 0]).await.unwrap();
        let mut reply = [0u8; 4];
        deaf.read_exact(&mut reply).await.unwrap();
        assert!(closed_by_server(&mut deaf).await);
    });
    let s = server.stats();
    assert!(s.idle_timeouts >= 1, "{s:?}");
}
