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
