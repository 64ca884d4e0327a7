//! Routing benchmarks of the router core (one core, no IO, no encoding):
//! - `call_roundtrip/<n>`: CALL -> INVOCATION and YIELD -> RESULT (2 routed messages per
//!   iteration) with `n` registrations present;
//! - `publish_one/<n>`: PUBLISH -> EVENT to one subscriber with `n` subscriptions present;
//! - `fanout/<n>`: PUBLISH to `n` subscribers of one topic (one broadcast action);
//! - `idle_session_memory`: resident memory per joined idle session (printed, not timed).

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use wamp_proto::id::RequestId;
use wamp_proto::message::{Call, Hello, Publish, Register, Subscribe, Yield};
use wamp_proto::{Dict, Message, Payload, SeededEntropy, Uri, Value};
use wamp_router_core::{ConnId, Router, RouterAction, RouterConfig};

fn config() -> RouterConfig {
    let mut c = RouterConfig::with_realm("realm1");
    c.max_registrations_per_session = 100_000;
    c.max_subscriptions_per_session = 100_000;
    c.max_sessions = 1_000_000;
    c.max_connections = 1_000_000;
    c
}

fn drain(r: &mut Router) -> usize {
    let mut n = 0;
    while let Some(a) = r.poll_action() {
        black_box(&a);
        n += 1;
    }
    n
}

fn join(r: &mut Router, now: Instant) -> ConnId {
    let c = r.open_connection(now).unwrap();
    let roles = Dict::new()
        .with("caller", Dict::new())
        .with("callee", Dict::new())
        .with("publisher", Dict::new())
        .with("subscriber", Dict::new());
    r.handle_message(
        now,
        c,
        Hello {
            realm: "realm1".into(),
            details: Dict::new().with("roles", roles),
        }
        .into(),
    );
    drain(r);
    c
}

fn req(n: u64) -> RequestId {
    RequestId::new(n).unwrap()
}

fn call_roundtrip(c: &mut Criterion) {
    let mut g = c.benchmark_group("call_roundtrip");
    g.throughput(Throughput::Elements(2));
    for n in [10u64, 10_000] {
        #[allow(clippy::disallowed_methods)]
        let now = Instant::now();
        let mut r = Router::new(config(), Box::new(SeededEntropy::new(1)));
        let callee = join(&mut r, now);
        let caller = join(&mut r, now);
        for i in 1..=n {
            let m = Register {
                request: req(i),
                options: Dict::new(),
                procedure: Uri::from_wire(&format!("com.example.proc{i}")),
            };
            r.handle_message(now, callee, m.into());
        }
        drain(&mut r);
        let call = Call {
            request: req(1),
            options: Dict::new(),
            procedure: "com.example.proc7".into(),
            payload: Payload::args(vec![Value::from(1u8), Value::from("x")]),
        };
        let mut request = 0u64;
        g.bench_function(BenchmarkId::from_parameter(n), |b| {
            b.iter(|| {
                request += 1;
                let mut m = call.clone();
                m.request = req(request);
                r.handle_message(now, caller, m.into());
                let inv = match r.poll_action() {
                    Some(RouterAction::Send {
                        msg: Message::Invocation(inv),
                        ..
                    }) => inv,
                    other => panic!("{other:?}"),
                };
                let y = Yield {
                    request: inv.request,
                    options: Dict::new(),
                    payload: inv.payload,
                };
                r.handle_message(now, callee, y.into());
                drain(&mut r)
            })
        });
    }
    g.finish();
}

fn publish_one(c: &mut Criterion) {
    let mut g = c.benchmark_group("publish_one");
    g.throughput(Throughput::Elements(1));
    for n in [10u64, 10_000] {
        #[allow(clippy::disallowed_methods)]
        let now = Instant::now();
        let mut r = Router::new(config(), Box::new(SeededEntropy::new(1)));
        let sub = join(&mut r, now);
        let publisher = join(&mut r, now);
        for i in 1..=n {
            let (topic, options) = match i % 3 {
                0 => (format!("com.example.topic{i}"), Dict::new()),
                1 => (
                    format!("org.example{i}."),
                    Dict::new().with("match", "prefix"),
                ),
                _ => (format!("net..t{i}"), Dict::new().with("match", "wildcard")),
            };
            let m = Subscribe {
                request: req(i),
                options,
                topic: Uri::from_wire(&topic),
            };
            r.handle_message(now, sub, m.into());
        }
        let m = Subscribe {
            request: req(n + 1),
            options: Dict::new(),
            topic: "com.example.hot".into(),
        };
        r.handle_message(now, sub, m.into());
        drain(&mut r);
        let publish = Publish {
            request: req(1),
            options: Dict::new(),
            topic: "com.example.hot".into(),
            payload: Payload::args(vec![Value::from(1u8), Value::from("x")]),
        };
        let mut request = 0u64;
        g.bench_function(BenchmarkId::from_parameter(n), |b| {
            b.iter(|| {
                request += 1;
                let mut m = publish.clone();
                m.request = req(request);
                r.handle_message(now, publisher, m.into());
                drain(&mut r)
            })
        });
    }
    g.finish();
}

fn fanout(c: &mut Criterion) {
    let mut g = c.benchmark_group("fanout");
    for n in [1usize, 100, 10_000] {
        #[allow(clippy::disallowed_methods)]
        let now = Instant::now();
        let mut r = Router::new(config(), Box::new(SeededEntropy::new(1)));
        for _ in 0..n {
            let s = join(&mut r, now);
            let m = Subscribe {
                request: req(1),
                options: Dict::new(),
                topic: "com.example.fan".into(),
            };
            r.handle_message(now, s, m.into());
        }
        let publisher = join(&mut r, now);
        drain(&mut r);
        let publish = Publish {
            request: req(1),
            options: Dict::new(),
            topic: "com.example.fan".into(),
            payload: Payload::args(vec![Value::from(1u8)]),
        };
        g.throughput(Throughput::Elements(n as u64));
        g.bench_function(BenchmarkId::from_parameter(n), |b| {
            b.iter(|| {
                r.handle_message(now, publisher, publish.clone().into());
                let actions = drain(&mut r);
                assert_eq!(actions, 1);
                actions
            })
        });
    }
    g.finish();
}

fn rss_bytes() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = s.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

fn idle_session_memory(_c: &mut Criterion) {
    const N: usize = 100_000;
    #[allow(clippy::disallowed_methods)]
    let now = Instant::now();
    let mut r = Router::new(config(), Box::new(SeededEntropy::new(1)));
    // Warm up allocator pools with a first wave, then measure a second one.
    let mut conns = Vec::with_capacity(N);
    let before = rss_bytes();
    for _ in 0..N {
        conns.push(join(&mut r, now));
    }
    let after = rss_bytes();
    if let (Some(b), Some(a)) = (before, after) {
        println!(
            "idle_session_memory: {} sessions, RSS +{} KiB, {} bytes per joined idle session",
            N,
            (a.saturating_sub(b)) / 1024,
            a.saturating_sub(b) / N as u64
        );
    }
    for c in conns {
        r.close_connection(now + Duration::from_secs(1), c);
    }
    let s = r.stats();
    assert_eq!((s.sessions, s.connections), (0, 0));
}

criterion_group!(
    benches,
    call_roundtrip,
    publish_one,
    fanout,
    idle_session_memory
);
criterion_main!(benches);
