//! The router server's transports through real sockets: WebSocket subprotocol negotiation,
//! RawSocket handshakes, both on one port, shutdown.

use wamp_proto::id::RequestId;
use wamp_proto::message::{Call, Register, Subscribe};
use wamp_proto::websocket::Subprotocol;
use wamp_proto::{Dict, Message, Payload, Serializer, Value};

use crate::server_harness::{TestServer, interop_config};
use crate::server_peer::{Gone, Peer, goodbye, rt, tcp, ws_raw};

fn req(n: u64) -> RequestId {
    RequestId::new(n).unwrap()
}

/// A call through the router between two peers, the callee answering by hand.
async fn call_round_trip(callee: &mut Peer, caller: &mut Peer, procedure: &str) {
    callee
        .send(
            &Register {
                request: req(1),
                options: Dict::new(),
                procedure: wamp_proto::Uri::from_wire(procedure),
            }
            .into(),
        )
        .await;
    assert!(matches!(callee.recv().await, Ok(Message::Registered(_))));
    caller
        .send(
            &Call {
                request: req(7),
                options: Dict::new(),
                procedure: wamp_proto::Uri::from_wire(procedure),
                payload: Payload::args(vec![Value::from("ping"), Value::Bytes(vec![0, 1, 255])]),
            }
            .into(),
        )
        .await;
    let inv = match callee.recv().await {
        Ok(Message::Invocation(i)) => i,
        other => panic!("expected INVOCATION, got {other:?}"),
    };
    assert_eq!(
        inv.payload,
        Payload::args(vec![Value::from("ping"), Value::Bytes(vec![0, 1, 255])])
    );
    callee
        .send(
            &wamp_proto::message::Yield {
                request: inv.request,
                options: Dict::new(),
                payload: Payload::args(vec![Value::from("pong")]),
            }
            .into(),
        )
        .await;
    match caller.recv().await {
        Ok(Message::Result(r)) => {
            assert_eq!(r.request, req(7));
            assert_eq!(r.payload, Payload::args(vec![Value::from("pong")]));
        }
        other => panic!("expected RESULT, got {other:?}"),
    }
}

#[test]
fn every_websocket_subprotocol_and_rawsocket_serializer_routes_calls() {
    let server = TestServer::start(interop_config());
    let port = server.port();
    rt().block_on(async {
        // The callee speaks RawSocket CBOR, callers every WebSocket subprotocol and every
        // RawSocket serializer: the router transcodes between them.
        let mut callee = Peer::connect(port, None, Serializer::Cbor).await;
        callee.join().await;
        let mut n = 0;
        for p in Subprotocol::all() {
            let mut caller = Peer::connect(port, Some(p), p.serializer).await;
            caller.join().await;
            call_round_trip(&mut callee, &mut caller, &format!("com.test.p{n}")).await;
            n += 1;
            caller.send(&goodbye()).await;
            assert!(matches!(caller.recv().await, Ok(Message::Goodbye(g)) if g.reason.as_str() == "wamp.close.goodbye_and_out"));
        }
        for s in Serializer::ALL {
            let mut caller = Peer::connect(port, None, s).await;
            caller.join().await;
            call_round_trip(&mut callee, &mut caller, &format!("com.test.p{n}")).await;
            n += 1;
        }
    });
    server.wait_for("connections closed", |s, r| {
        s.established == 0 && r.connections == 0
    });
}

#[test]
fn websocket_offer_negotiation() {
    let server = TestServer::start(interop_config());
    let port = server.port();
    rt().block_on(async {
        // The first identifier we support, in the client's order; unknown ones skipped.
        let (_, resp) = ws_raw(
            tcp(port).await,
            port,
            "/",
            Some("wamp.2.foo, wamp.2.cbor.batched, wamp.2.json"),
        )
        .await
        .unwrap();
        assert_eq!(
            resp.headers().get("sec-websocket-protocol").unwrap(),
            "wamp.2.cbor.batched"
        );
        // Only unknown identifiers, or none: refused with 400, no upgrade.
        for offer in [Some("wamp.2.foo, mqtt"), None] {
            match ws_raw(tcp(port).await, port, "/ws", offer).await {
                Err(tokio_tungstenite::tungstenite::Error::Http(r)) => {
                    assert_eq!(r.status(), 400);
                }
                other => panic!("expected HTTP 400, got {:?}", other.map(|_| ())),
            }
        }
        // Another path: 404.
        match ws_raw(tcp(port).await, port, "/other", Some("wamp.2.json")).await {
            Err(tokio_tungstenite::tungstenite::Error::Http(r)) => assert_eq!(r.status(), 404),
            other => panic!("expected HTTP 404, got {:?}", other.map(|_| ())),
        }
    });
    server.wait_for("three refused handshakes", |s, _| {
        s.handshake_failures == 3 && s.open_connections == 0
    });
}

#[test]
fn rawsocket_handshake_errors_get_the_spec_reply() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let server = TestServer::start(interop_config());
    let port = server.port();
    rt().block_on(async {
        for (request, reply) in [
            // Serializer 0 and an unknown serializer: error 1.
            ([0x7F, 0xF0, 0, 0], [0x7F, 0x10, 0, 0]),
            ([0x7F, 0xF9, 0, 0], [0x7F, 0x10, 0, 0]),
            // Reserved octets used: error 3.
            ([0x7F, 0xF1, 0, 1], [0x7F, 0x30, 0, 0]),
        ] {
            let mut s = tcp(port).await;
            s.write_all(&request).await.unwrap();
            let mut got = Vec::new();
            tokio::time::timeout(crate::server_peer::WAIT, s.read_to_end(&mut got))
                .await
                .unwrap()
                .unwrap();
            assert_eq!(got, reply, "request {request:x?}");
        }
        // A good request gets our maximum (16 MiB = L 15 by default) and the serializer.
        let mut s = tcp(port).await;
        s.write_all(&[0x7F, 0x22, 0, 0]).await.unwrap();
        let mut got = [0u8; 4];
        s.read_exact(&mut got).await.unwrap();
        assert_eq!(got, [0x7F, 0xF2, 0, 0]);
    });
}

#[test]
fn shutdown_says_goodbye_to_every_session() {
    let server = TestServer::start(interop_config());
    let port = server.port();
    let runtime = rt();
    let (mut a, mut b, mut idle) = runtime.block_on(async {
        let mut a = Peer::connect(
            port,
            Some(Subprotocol::new(Serializer::Json, false)),
            Serializer::Json,
        )
        .await;
        a.join().await;
        let mut b = Peer::connect(port, None, Serializer::MsgPack).await;
        b.join().await;
        b.send(
            &Subscribe {
                request: req(1),
                options: Dict::new(),
                topic: "com.test.t".into(),
            }
            .into(),
        )
        .await;
        assert!(matches!(b.recv().await, Ok(Message::Subscribed(_))));
        // A connection without a session is closed without GOODBYE.
        let idle = Peer::connect(port, None, Serializer::Json).await;
        (a, b, idle)
    });
    server.wait_for("three connections", |s, _| s.established == 3);
    server.stop();
    runtime.block_on(async {
        for p in [&mut a, &mut b] {
            match p.recv().await {
                Ok(Message::Goodbye(g)) => {
                    assert_eq!(g.reason.as_str(), "wamp.close.system_shutdown");
                }
                other => panic!("expected GOODBYE, got {other:?}"),
            }
        }
        assert_eq!(a.closed().await, Gone::Closed(Some(1001)));
        assert_eq!(b.closed().await, Gone::Eof);
        assert_eq!(idle.closed().await, Gone::Eof);
        // The listener is gone.
        let refused = tokio::net::TcpStream::connect(("127.0.0.1", port)).await;
        assert!(refused.is_err());
    });
}

/// Frames of every length class (7-bit, 16-bit and 64-bit lengths), several per burst, on
/// every WebSocket subprotocol: the server writes its WebSocket frames itself, and real
/// decoders must read them back intact (batched links split their batches at the limit).
#[test]
fn websocket_frames_of_every_length_class_arrive_intact() {
    let server = TestServer::start(interop_config());
    let port = server.port();
    rt().block_on(async {
        let mut publisher = Peer::connect(port, None, Serializer::MsgPack).await;
        publisher.join().await;
        let sizes = [0usize, 100, 125, 126, 300, 65_535, 70_000];
        for (n, p) in Subprotocol::all().enumerate() {
            let topic = format!("com.test.frames{n}");
            let mut sub = Peer::connect(port, Some(p), p.serializer).await;
            sub.join().await;
            sub.send(
                &Subscribe {
                    request: req(1),
                    options: Dict::new(),
                    topic: wamp_proto::Uri::from_wire(&topic),
                }
                .into(),
            )
            .await;
            assert!(matches!(sub.recv().await, Ok(Message::Subscribed(_))));
            // Published back to back, so that the router writes several per burst.
            for (i, size) in sizes.iter().enumerate() {
                publisher
                    .send(
                        &wamp_proto::message::Publish {
                            request: req(100 + i as u64),
                            options: Dict::new(),
                            topic: wamp_proto::Uri::from_wire(&topic),
                            payload: Payload::args(vec![Value::from("x".repeat(*size))]),
                        }
                        .into(),
                    )
                    .await;
            }
            for size in sizes {
                match sub.recv().await {
                    Ok(Message::Event(e)) => assert_eq!(
                        e.payload,
                        Payload::args(vec![Value::from("x".repeat(size))]),
                        "{p}: event of {size} octets"
                    ),
                    other => panic!("{p}: expected EVENT, got {other:?}"),
                }
            }
        }
    });
}
