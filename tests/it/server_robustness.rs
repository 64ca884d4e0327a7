//! Robustness of the router server through real sockets: garbage, broken handshakes and
//! frames, oversize messages, a peer that floods without reading, peers dropping mid-call.
//! Each misbehaving peer gets the spec's answer (or is disconnected), the others carry on, and
//! the router's state returns to its baseline.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use wamp_proto::id::RequestId;
use wamp_proto::message::{Call, Publish, Register, Subscribe, Yield};
use wamp_proto::websocket::Subprotocol;
use wamp_proto::{Dict, Message, Payload, Serializer, Uri, Value};
use wamp_router_core::RouterStats;
use wamp_tokio::server::ServerConfig;

use crate::server_harness::{TestServer, interop_config};
use crate::server_peer::{Gone, Peer, WAIT, rt, tcp};

fn req(n: u64) -> RequestId {
    RequestId::new(n).unwrap()
}

fn small_config() -> ServerConfig {
    let mut c = interop_config();
    c.connection.max_message_size = 64 * 1024;
    c.router.max_message_size = 64 * 1024;
    c.connection.outgoing_queue = 128;
    // A peer that floods without reading blocks our writes to it; it is disconnected when
    // its queue overflows or when one write takes this long.
    c.connection.write_timeout = Duration::from_secs(2);
    c
}

/// A callee of `procedure` that echoes: registers and returns the peer.
async fn echo_callee(port: u16, procedure: &'static str) -> Peer {
    let mut p = Peer::connect(port, None, Serializer::MsgPack).await;
    p.join().await;
    p.send(
        &Register {
            request: req(1),
            options: Dict::new(),
            procedure: procedure.into(),
        }
        .into(),
    )
    .await;
    assert!(matches!(p.recv().await, Ok(Message::Registered(_))));
    p
}

/// One call from a fresh caller to `callee` (which answers by hand): the router still works.
async fn still_routes(port: u16, callee: &mut Peer, procedure: &'static str) {
    let mut caller = Peer::connect(
        port,
        Some(Subprotocol::new(Serializer::Json, false)),
        Serializer::Json,
    )
    .await;
    caller.join().await;
    caller
        .send(
            &Call {
                request: req(1),
                options: Dict::new(),
                procedure: procedure.into(),
                payload: Payload::args(vec![Value::from(42)]),
            }
            .into(),
        )
        .await;
    let inv = loop {
        match callee.recv().await {
            Ok(Message::Invocation(i)) => break i,
            Ok(Message::Interrupt(_)) => continue,
            other => panic!("expected INVOCATION, got {other:?}"),
        }
    };
    callee
        .send(
            &Yield {
                request: inv.request,
                options: Dict::new(),
                payload: inv.payload,
            }
            .into(),
        )
        .await;
    match caller.recv().await {
        Ok(Message::Result(r)) => assert_eq!(r.payload, Payload::args(vec![Value::from(42)])),
        other => panic!("expected RESULT, got {other:?}"),
    }
}

fn abort_reason(m: Result<Message, Gone>) -> String {
    match m {
        Ok(Message::Abort(a)) => a.reason.as_str().to_owned(),
        other => panic!("expected ABORT, got {other:?}"),
    }
}

/// Only the long-lived callee is left: the baseline.
fn assert_baseline(server: &TestServer, sessions: usize) -> RouterStats {
    let (_, r) = server.wait_for("baseline", |s, r| {
        s.established as usize == sessions
            && r.connections == sessions
            && r.sessions == sessions
            && r.pending_calls == 0
            && r.queued_actions == 0
            && r.timers == 0
    });
    r
}

#[test]
fn garbage_and_broken_handshakes_are_closed() {
    let server = TestServer::start(small_config());
    let port = server.port();
    let runtime = rt();
    let _callee = runtime.block_on(async {
        let mut callee = echo_callee(port, "com.test.echo").await;
        // Not HTTP, not RawSocket.
        for garbage in [
            &b"\x00\x01\x02garbage\r\n\r\n"[..],
            b"GET / HTTP/1.1\r\n\r\n",
            b"\xff\xfe",
        ] {
            let mut s = tcp(port).await;
            s.write_all(garbage).await.unwrap();
            let mut rest = Vec::new();
            let r = tokio::time::timeout(WAIT, s.read_to_end(&mut rest)).await;
            assert!(r.is_ok(), "closed in time");
        }
        // RawSocket magic, then a truncated handshake and silence: the handshake times out
        // (not waited for here); the rest of the router carries on.
        let mut half = tcp(port).await;
        half.write_all(&[0x7F, 0x21]).await.unwrap();
        still_routes(port, &mut callee, "com.test.echo").await;
        drop(half);
        callee
    });
    assert_baseline(&server, 1);
    server.wait_for("garbage counted", |s, _| s.handshake_failures >= 3);
}

#[test]
fn malformed_messages_get_abort_protocol_violation() {
    let server = TestServer::start(small_config());
    let port = server.port();
    let runtime = rt();
    let _callee = runtime.block_on(async {
        let mut callee = echo_callee(port, "com.test.echo2").await;
        // RawSocket: a well-framed message that is not WAMP.
        let mut p = Peer::connect(port, None, Serializer::Json).await;
        p.join().await;
        assert!(
            p.send_raw(&[0, 0, 0, 5, b'[', b'1', b'x', b']', b' '])
                .await
        );
        assert_eq!(
            abort_reason(p.recv().await),
            "wamp.error.protocol_violation"
        );
        assert_eq!(p.closed().await, Gone::Eof);
        // RawSocket: a reserved frame type breaks the framing: closed without ABORT.
        let mut p = Peer::connect(port, None, Serializer::Json).await;
        assert!(p.send_raw(&[7, 0, 0, 0]).await);
        assert_eq!(p.recv().await.err(), Some(Gone::Eof));
        // WebSocket: garbage in a binary message of a MessagePack session.
        let mut p = Peer::connect(
            port,
            Some(Subprotocol::new(Serializer::MsgPack, false)),
            Serializer::MsgPack,
        )
        .await;
        p.join().await;
        assert!(p.send_raw(&[0xc1, 0xc1]).await);
        assert_eq!(
            abort_reason(p.recv().await),
            "wamp.error.protocol_violation"
        );
        assert_eq!(p.closed().await, Gone::Closed(Some(1002)));
        // A message before HELLO.
        let mut p = Peer::connect(port, None, Serializer::Cbor).await;
        p.send(
            &Publish {
                request: req(1),
                options: Dict::new(),
                topic: "com.test".into(),
                payload: Payload::empty(),
            }
            .into(),
        )
        .await;
        assert_eq!(
            abort_reason(p.recv().await),
            "wamp.error.protocol_violation"
        );
        still_routes(port, &mut callee, "com.test.echo2").await;
        callee
    });
    assert_baseline(&server, 1);
}

#[test]
fn oversize_messages_get_payload_size_exceeded() {
    let server = TestServer::start(small_config());
    let port = server.port();
    let runtime = rt();
    let _callee = runtime.block_on(async {
        let mut callee = echo_callee(port, "com.test.echo3").await;
        // RawSocket announced 64 KiB: a header claiming 1 MiB is refused before its payload.
        let mut p = Peer::connect(port, None, Serializer::MsgPack).await;
        p.join().await;
        assert!(p.send_raw(&[0, 0x10, 0, 0]).await);
        assert_eq!(
            abort_reason(p.recv().await),
            "wamp.error.payload_size_exceeded"
        );
        assert_eq!(p.closed().await, Gone::Eof);
        // WebSocket: one 100 KiB message.
        let mut p = Peer::connect(
            port,
            Some(Subprotocol::new(Serializer::Cbor, false)),
            Serializer::Cbor,
        )
        .await;
        p.join().await;
        p.send_raw(&vec![0x80; 100 * 1024]).await;
        assert_eq!(
            abort_reason(p.recv().await),
            "wamp.error.payload_size_exceeded"
        );
        assert_eq!(p.closed().await, Gone::Closed(Some(1009)));
        still_routes(port, &mut callee, "com.test.echo3").await;
        callee
    });
    assert_baseline(&server, 1);
}

#[test]
fn a_peer_flooding_without_reading_is_disconnected_and_others_carry_on() {
    let server = TestServer::start(small_config());
    let port = server.port();
    let runtime = rt();
    let _callee = runtime.block_on(async {
        let mut callee = echo_callee(port, "com.test.echo4").await;
        for ws in [None, Some(Subprotocol::new(Serializer::MsgPack, false))] {
            // Subscribes to its own topic and publishes big events to it without ever reading:
            // its outgoing queue fills and it is disconnected as a slow consumer.
            let mut flood = Peer::connect(port, ws, Serializer::MsgPack).await;
            flood.join().await;
            flood
                .send(
                    &Subscribe {
                        request: req(1),
                        options: Dict::new(),
                        topic: "com.test.flood".into(),
                    }
                    .into(),
                )
                .await;
            assert!(matches!(flood.recv().await, Ok(Message::Subscribed(_))));
            let event: Message = Publish {
                request: req(2),
                options: Dict::new().with("exclude_me", false),
                topic: "com.test.flood".into(),
                payload: Payload::args(vec![Value::Bytes(vec![7; 32 * 1024])]),
            }
            .into();
            let sent = tokio::time::timeout(Duration::from_secs(30), async {
                let mut n = 0u32;
                while n < 100_000 && flood.try_send(&event).await {
                    n += 1;
                }
                n
            })
            .await
            .expect("the router disconnects the flooding peer");
            assert!(sent > 32, "sent {sent}");
            still_routes(port, &mut callee, "com.test.echo4").await;
        }
        callee
    });
    let r = assert_baseline(&server, 1);
    assert_eq!(r.subscriptions, 0);
    let s = server.stats();
    assert!(s.slow_consumers + s.write_timeouts >= 2, "{s:?}");
}

#[test]
fn fifty_callers_dropping_mid_call_interrupt_the_callee() {
    let server = TestServer::start(small_config());
    let port = server.port();
    let runtime = rt();
    let _callee = runtime.block_on(async {
        let mut callee = echo_callee(port, "com.test.slow").await;
        let mut callers = Vec::new();
        for i in 0..50u64 {
            let ws = (i % 2 == 0).then(|| Subprotocol::new(Serializer::Json, false));
            let mut c = Peer::connect(port, ws, Serializer::Cbor).await;
            c.join().await;
            c.send(
                &Call {
                    request: req(1),
                    options: Dict::new(),
                    procedure: "com.test.slow".into(),
                    payload: Payload::args(vec![Value::from(i)]),
                }
                .into(),
            )
            .await;
            callers.push(c);
        }
        let mut invocations = Vec::new();
        while invocations.len() < 50 {
            match callee.recv().await {
                Ok(Message::Invocation(inv)) => invocations.push(inv.request),
                other => panic!("expected INVOCATION, got {other:?}"),
            }
        }
        // Every caller drops its TCP connection without GOODBYE.
        drop(callers);
        let mut interrupted = Vec::new();
        while interrupted.len() < 50 {
            match callee.recv().await {
                Ok(Message::Interrupt(i)) => interrupted.push(i.request),
                other => panic!("expected INTERRUPT, got {other:?}"),
            }
        }
        interrupted.sort();
        invocations.sort();
        assert_eq!(interrupted, invocations);
        // The callee may still answer: the answers go nowhere.
        for r in invocations {
            callee
                .send(
                    &wamp_proto::message::Error {
                        request_type: wamp_proto::MessageKind::Invocation,
                        request: r,
                        details: Dict::new(),
                        error: Uri::from("wamp.error.canceled"),
                        payload: Payload::empty(),
                    }
                    .into(),
                )
                .await;
        }
        still_routes(port, &mut callee, "com.test.slow").await;
        callee
    });
    let r = assert_baseline(&server, 1);
    assert_eq!(r.registrations, 1);
}

#[test]
fn a_subscriber_that_stops_reading_is_disconnected_at_its_queue_bound() {
    let mut config = small_config();
    config.connection.write_timeout = Duration::from_secs(60);
    let server = TestServer::start(config);
    let port = server.port();
    let runtime = rt();
    let _callee = runtime.block_on(async {
        let mut callee = echo_callee(port, "com.test.echo5").await;
        let mut sleeper = Peer::connect(port, None, Serializer::MsgPack).await;
        sleeper.join().await;
        sleeper
            .send(
                &Subscribe {
                    request: req(1),
                    options: Dict::new(),
                    topic: "com.test.firehose".into(),
                }
                .into(),
            )
            .await;
        assert!(matches!(sleeper.recv().await, Ok(Message::Subscribed(_))));
        // The publisher is never answered (no acknowledge), so it can keep writing; the
        // sleeper never reads again.
        let mut publisher = Peer::connect(port, None, Serializer::Cbor).await;
        publisher.join().await;
        let event: Message = Publish {
            request: req(1),
            options: Dict::new(),
            topic: "com.test.firehose".into(),
            payload: Payload::args(vec![Value::Bytes(vec![1; 32 * 1024])]),
        }
        .into();
        let mut n = 0;
        while server.stats().slow_consumers == 0 {
            assert!(n < 20_000, "no slow consumer after {n} events");
            assert!(publisher.try_send(&event).await);
            n += 1;
        }
        // The publisher carries on, and so does everyone else.
        let ack: Message = Publish {
            request: req(2),
            options: Dict::new().with("acknowledge", true),
            topic: "com.test.firehose".into(),
            payload: Payload::empty(),
        }
        .into();
        publisher.send(&ack).await;
        assert!(matches!(publisher.recv().await, Ok(Message::Published(_))));
        still_routes(port, &mut callee, "com.test.echo5").await;
        drop(sleeper);
        callee
    });
    let r = assert_baseline(&server, 1);
    assert_eq!(r.subscriptions, 0);
    let s = server.stats();
    assert_eq!((s.slow_consumers, s.write_timeouts), (1, 0), "{s:?}");
}
