//! The load generator against Crossbar and against our router: every scenario over RawSocket
//! and WebSocket for a short, bounded time, and RPC and PubSub with every serializer. Asserts
//! sane numbers only (work was done, nothing lost, percentiles ordered), never speed.

use std::time::Duration;

use wamp_bench::{Config, Outcome, RouterTarget, Scenario, Target};
use wamp_proto::Serializer;

use crate::interop::start_crossbar;
use crate::server_harness::{TestServer, interop_config};

fn short_config(targets: Vec<RouterTarget>) -> Config {
    Config {
        targets,
        duration: Duration::from_millis(200),
        warmup: Duration::from_millis(50),
        callers: 2,
        in_flight: 8,
        subscribers: 3,
        fanout_subscribers: 20,
        window: 16,
        sessions: 20,
        settle: Duration::from_millis(100),
        ..Config::default()
    }
}

fn check(o: &Outcome) {
    let what = format!("{} on {} ({:?})", o.scenario, o.label, o.serializer);
    let r = match &o.result {
        Ok(r) => r,
        Err(e) => panic!("{what}: {e}"),
    };
    // The whole run, not the window: a loaded machine can stall Crossbar for a short window.
    assert!(r.total > 0, "{what}: nothing completed: {r:?}");
    assert!(r.completed <= r.total, "{what}: {r:?}");
    assert!(r.elapsed > Duration::ZERO, "{what}");
    assert_eq!(r.errors, 0, "{what}: errors: {r:?}");
    assert!(r.bench_cpu.percent >= 0.0, "{what}");
    match o.scenario {
        Scenario::Rpc | Scenario::Latency => {
            let l = r.latency.as_ref().expect("latency figures");
            // Calls are timed inside the window only (which a stalled router may leave empty).
            assert!(l.count <= r.total, "{what}: {l:?}");
            if r.completed > 0 {
                assert!(l.count > 0, "{what}: no call timed");
                assert!(l.p50 > Duration::ZERO, "{what}: {l:?}");
            }
            assert!(
                l.p50 <= l.p90 && l.p90 <= l.p99 && l.p99 <= l.max,
                "{what}: percentiles out of order: {l:?}"
            );
        }
        Scenario::PubSub | Scenario::Fanout => {
            assert!(r.published.is_some_and(|p| p > 0), "{what}: {r:?}");
            assert_eq!(r.lost, Some(0), "{what}: lost events: {r:?}");
        }
        Scenario::Idle => {
            assert_eq!(r.completed, 20, "{what}");
            assert_eq!(r.connections, 20, "{what}");
            let m = r.idle.as_ref().expect("memory figures with a router PID");
            assert!(
                m.base_kib > 0 && m.joined_kib > 0 && m.closed_kib > 0 && m.rejoined_kib > 0,
                "{what}: {m:?}"
            );
        }
    }
    let cpu = r.router_cpu.expect("router CPU with a router PID");
    assert!(cpu.percent >= 0.0, "{what}");
}

#[test]
fn every_scenario_against_crossbar() {
    let cb = start_crossbar("bench");
    let pid = Some(cb.pid());
    let targets = vec![
        RouterTarget {
            label: "crossbar-rs".into(),
            target: Target::parse(&format!("rs://127.0.0.1:{}", cb.rs_port)).unwrap(),
            pid,
        },
        RouterTarget {
            label: "crossbar-ws".into(),
            target: Target::parse(&format!("ws://127.0.0.1:{}/", cb.ws_port)).unwrap(),
            pid,
        },
    ];
    let config = short_config(targets.clone());
    let outcomes = wamp_bench::run(&config).unwrap();
    assert_eq!(outcomes.len(), Scenario::ALL.len() * 2);
    for o in &outcomes {
        eprintln!("{}", wamp_bench::report::text_line(o));
        check(o);
    }
    // Every serializer on both transports (exercises the peeking of each wire format).
    for serializer in [Serializer::Json, Serializer::Cbor, Serializer::Ubjson] {
        let config = Config {
            serializer,
            scenarios: vec![Scenario::Rpc, Scenario::PubSub],
            duration: Duration::from_millis(100),
            ..short_config(targets.clone())
        };
        for o in &wamp_bench::run(&config).unwrap() {
            eprintln!("{}", wamp_bench::report::text_line(o));
            check(o);
        }
    }
    // The report renders every outcome, in text and JSON.
    let text = wamp_bench::report::text(&outcomes);
    assert_eq!(text.lines().filter(|l| l.contains("crossbar-")).count(), 10);
    let json = wamp_bench::report::json(&outcomes);
    assert_eq!(json.as_array().map(Vec::len), Some(10));
}

#[test]
fn refuses_non_loopback_and_missing_targets() {
    assert!(Target::parse("ws://192.0.2.1:8080/ws").is_err());
    let mut config = short_config(Vec::new());
    config.scenarios = vec![Scenario::Rpc];
    assert!(
        wamp_bench::run(&config).is_err(),
        "no target must be refused"
    );
}

#[test]
fn every_scenario_against_our_router() {
    let server = TestServer::start(interop_config());
    let port = server.port();
    // The router runs in this process: its CPU and memory figures include the bench's.
    let pid = Some(std::process::id());
    let targets = vec![
        RouterTarget {
            label: "ours-rs".into(),
            target: Target::parse(&format!("rs://127.0.0.1:{port}")).unwrap(),
            pid,
        },
        RouterTarget {
            label: "ours-ws".into(),
            target: Target::parse(&format!("ws://127.0.0.1:{port}/ws")).unwrap(),
            pid,
        },
    ];
    let outcomes = wamp_bench::run(&short_config(targets.clone())).unwrap();
    assert_eq!(outcomes.len(), Scenario::ALL.len() * 2);
    for o in &outcomes {
        eprintln!("{}", wamp_bench::report::text_line(o));
        check(o);
    }
    for serializer in [Serializer::Json, Serializer::Cbor, Serializer::Ubjson] {
        let config = Config {
            serializer,
            scenarios: vec![Scenario::Rpc, Scenario::PubSub],
            duration: Duration::from_millis(100),
            ..short_config(targets.clone())
        };
        for o in &wamp_bench::run(&config).unwrap() {
            eprintln!("{}", wamp_bench::report::text_line(o));
            check(o);
        }
    }
}

/// A scripted peer on loopback answering the bench's connection: RawSocket or WebSocket
/// handshake, then: read HELLO, PING, expect the PONG, send WELCOME.
mod pings {
    use futures_util::{SinkExt, StreamExt};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};
    use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
    use tokio_tungstenite::tungstenite::http::HeaderValue;
    use tokio_tungstenite::tungstenite::{Bytes, Message as WsMessage};
    use wamp_bench::conn::{Conn, ConnOptions};
    use wamp_proto::id::SessionId;
    use wamp_proto::message::Welcome;
    use wamp_proto::{Dict, Message, MessageKind, Serializer};

    use super::*;

    fn welcome() -> Vec<u8> {
        let w: Message = Welcome {
            session: SessionId::new(4242).unwrap(),
            details: Dict::new(),
        }
        .into();
        Serializer::MsgPack.encode_to_vec(&w).unwrap()
    }

    async fn read_frame(s: &mut TcpStream) -> (u8, Vec<u8>) {
        let mut h = [0u8; 4];
        s.read_exact(&mut h).await.unwrap();
        let len = u32::from_be_bytes([0, h[1], h[2], h[3]]) as usize;
        let mut p = vec![0; len];
        s.read_exact(&mut p).await.unwrap();
        (h[0] & 0x07, p)
    }

    async fn write_frame(s: &mut TcpStream, kind: u8, payload: &[u8]) {
        let len = (payload.len() as u32).to_be_bytes();
        s.write_all(&[kind, len[1], len[2], len[3]]).await.unwrap();
        s.write_all(payload).await.unwrap();
    }

    async fn rawsocket_peer(l: TcpListener) {
        let (mut s, _) = l.accept().await.unwrap();
        let mut hs = [0u8; 4];
        s.read_exact(&mut hs).await.unwrap();
        assert_eq!(hs[0], 0x7F);
        assert_eq!(hs[1] & 0x0F, 2, "MessagePack");
        s.write_all(&[0x7F, 0xF2, 0, 0]).await.unwrap();
        let (kind, hello) = read_frame(&mut s).await;
        assert_eq!(kind, 0);
        let hello = Serializer::MsgPack.decode(&hello).unwrap();
        assert_eq!(hello.kind(), MessageKind::Hello);
        write_frame(&mut s, 1, b"ping?").await;
        assert_eq!(read_frame(&mut s).await, (2, b"ping?".to_vec()), "PONG");
        write_frame(&mut s, 0, &welcome()).await;
        // Keep the connection until the client is done.
        let mut rest = Vec::new();
        let _ = s.read_to_end(&mut rest).await;
    }

    // The handshake callback's error type is tungstenite's HTTP response.
    #[allow(clippy::result_large_err)]
    async fn websocket_peer(l: TcpListener) {
        let (s, _) = l.accept().await.unwrap();
        let callback = |req: &Request, mut resp: Response| {
            let offered = req
                .headers()
                .get("Sec-WebSocket-Protocol")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            assert_eq!(offered, "wamp.2.msgpack");
            resp.headers_mut().insert(
                "Sec-WebSocket-Protocol",
                HeaderValue::from_static("wamp.2.msgpack"),
            );
            Ok(resp)
        };
        let mut ws = tokio_tungstenite::accept_hdr_async(s, callback)
            .await
            .unwrap();
        let hello = match ws.next().await.unwrap().unwrap() {
            WsMessage::Binary(b) => Serializer::MsgPack.decode(&b).unwrap(),
            other => panic!("expected a binary HELLO, got {other:?}"),
        };
        assert_eq!(hello.kind(), MessageKind::Hello);
        ws.send(WsMessage::Ping(Bytes::from_static(b"ping?")))
            .await
            .unwrap();
        match ws.next().await.unwrap().unwrap() {
            WsMessage::Pong(p) => assert_eq!(&p[..], b"ping?"),
            other => panic!("expected the PONG, got {other:?}"),
        }
        ws.send(WsMessage::Binary(welcome().into())).await.unwrap();
        while let Some(Ok(_)) = ws.next().await {}
    }

    #[test]
    fn conn_answers_pings_while_joining() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            for websocket in [false, true] {
                let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
                let port = l.local_addr().unwrap().port();
                let peer = if websocket {
                    tokio::spawn(websocket_peer(l))
                } else {
                    tokio::spawn(rawsocket_peer(l))
                };
                let url = if websocket {
                    format!("ws://127.0.0.1:{port}/ws")
                } else {
                    format!("rs://127.0.0.1:{port}")
                };
                let target = Target::parse(&url).unwrap();
                let opts = ConnOptions {
                    setup_timeout: Duration::from_secs(10),
                    ..ConnOptions::default()
                };
                let conn = Conn::open(&target, Serializer::MsgPack, "realm1", opts)
                    .await
                    .unwrap_or_else(|e| panic!("{url}: {e}"));
                assert_eq!(conn.session().map(SessionId::get), Some(4242), "{url}");
                drop(conn);
                tokio::time::timeout(Duration::from_secs(10), peer)
                    .await
                    .unwrap()
                    .unwrap();
            }
        });
    }
}
