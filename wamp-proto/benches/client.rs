//! Client session benchmarks: incoming RESULT (progressive, so one call serves every message)
//! and EVENT messages, decoded `Message` in, application event out. The messages are built
//! outside the timed region; the timed region is `handle_message` plus draining
//! `poll_action`. Before the criterion runs, an allocation count over the same path is printed
//! (expected: 0 allocations per message; the payload was allocated by the decoder).

#![allow(missing_docs, clippy::unwrap_used)] // criterion's macros; setup code may panic

use std::hint::black_box;
use std::time::Instant;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};
use wamp_proto::client::{
    CallOptions, ClientAction, ClientConfig, JoinOptions, Session, SubscribeOptions,
};
use wamp_proto::id::{PublicationId, SessionId, SubscriptionId};
use wamp_proto::message::{CallResult, Event, Subscribed, Welcome};
use wamp_proto::{Dict, Message, Payload, SeededEntropy, Value};

#[global_allocator]
static GLOBAL: &StatsAlloc<std::alloc::System> = &INSTRUMENTED_SYSTEM;

const BATCH: usize = 1000;

fn joined(now: Instant) -> Session {
    let mut s = Session::new(ClientConfig::default(), Box::new(SeededEntropy::new(1)));
    s.join(now, JoinOptions::anonymous("realm1")).unwrap();
    let roles = Dict::new()
        .with("broker", Dict::new())
        .with("dealer", Dict::new());
    let session = SessionId::new(1).unwrap();
    s.handle_message(
        now,
        Welcome {
            session,
            details: Dict::new().with("roles", roles),
        }
        .into(),
    );
    while s.poll_action().is_some() {}
    s
}

/// A joined session with one call that accepts progressive results, and the RESULTs for it.
fn result_setup(now: Instant) -> (Session, impl Fn() -> Vec<Message>) {
    let mut s = joined(now);
    let opts = CallOptions {
        receive_progress: true,
        ..CallOptions::default()
    };
    let request = s
        .call(now, "com.example.f".into(), Payload::empty(), opts)
        .unwrap();
    while s.poll_action().is_some() {}
    let make = move || {
        (0..BATCH)
            .map(|i| {
                CallResult {
                    request,
                    details: Dict::new().with("progress", true),
                    payload: Payload::args(vec![Value::UInt(i as u64)]),
                }
                .into()
            })
            .collect()
    };
    (s, make)
}

/// A joined session with one exact subscription, and EVENTs for it.
fn event_setup(now: Instant) -> (Session, impl Fn() -> Vec<Message>) {
    let mut s = joined(now);
    let request = s
        .subscribe(now, "com.example.t".into(), SubscribeOptions::default())
        .unwrap();
    let subscription = SubscriptionId::new(5).unwrap();
    s.handle_message(
        now,
        Subscribed {
            request,
            subscription,
        }
        .into(),
    );
    while s.poll_action().is_some() {}
    let make = move || {
        (0..BATCH)
            .map(|i| {
                Event {
                    subscription,
                    publication: PublicationId::new(i as u64 + 1).unwrap(),
                    details: Dict::new(),
                    payload: Payload::args(vec![Value::UInt(i as u64)]),
                }
                .into()
            })
            .collect()
    };
    (s, make)
}

fn run(s: &mut Session, now: Instant, msgs: Vec<Message>) -> usize {
    let mut n = 0;
    for m in msgs {
        s.handle_message(now, m);
        while let Some(a) = s.poll_action() {
            if let ClientAction::Event(e) = a {
                black_box(&e);
                n += 1;
            }
        }
    }
    n
}

fn allocations(name: &str, s: &mut Session, now: Instant, make: &dyn Fn() -> Vec<Message>) {
    // Warm up (queue capacity), then count.
    run(s, now, make());
    let msgs = make();
    let region = Region::new(GLOBAL);
    let n = run(s, now, msgs);
    let stats = region.change();
    // Dropping the events frees the payloads; only allocations count.
    println!(
        "{name}: {n} events, {} allocations ({:.3} per message)",
        stats.allocations,
        stats.allocations as f64 / n.max(1) as f64
    );
}

fn bench(c: &mut Criterion) {
    // The benchmark's clock origin (a constant for the session: the core never reads clocks).
    #[allow(clippy::disallowed_methods)]
    let now = Instant::now();

    let (mut s, make) = result_setup(now);
    allocations("progressive RESULT", &mut s, now, &make);
    let mut g = c.benchmark_group("client");
    g.throughput(Throughput::Elements(BATCH as u64));
    g.bench_function("result_in_event_out", |b| {
        b.iter_batched(&make, |msgs| run(&mut s, now, msgs), BatchSize::LargeInput)
    });

    let (mut s, make) = event_setup(now);
    allocations("EVENT", &mut s, now, &make);
    g.bench_function("event_in_event_out", |b| {
        b.iter_batched(&make, |msgs| run(&mut s, now, msgs), BatchSize::LargeInput)
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
