//! Codec benchmarks: encode and decode per serializer, for a small CALL and for 64 KiB payloads.
//!
//! Run: `cargo bench -p wamp-proto --bench codec -- --warm-up-time 1 --measurement-time 3`.
//! The machine is shared: compare ratios within one run, not absolute numbers across runs.
//!
//! With `WAMP_BENCH_CLOCK=cpu` the benches measure the CPU time of the benchmark thread
//! (`CLOCK_THREAD_CPUTIME_ID`) instead of wall-clock time, so that time spent descheduled on a
//! loaded machine does not count. Criterion still prints the figures as "time".

use std::hint::black_box;
use std::time::Duration;

use criterion::measurement::{Measurement, ValueFormatter, WallTime};
use criterion::{BenchmarkId, Criterion, Throughput};
use wamp_proto::id::{PublicationId, RequestId, SubscriptionId};
use wamp_proto::message::{Call, Event, Payload};
use wamp_proto::{Dict, Message, Serializer, Value};

fn id<T>(v: Option<T>) -> T {
    match v {
        Some(v) => v,
        None => panic!("benchmark IDs are valid"),
    }
}

/// `[48, 7814135, {"timeout": 5000}, "com.example.add", [1, "two", 3.5]]`: 11 values.
fn small_call() -> Message {
    Call {
        request: id(RequestId::new(7_814_135)),
        options: Dict::new().with("timeout", 5000u32),
        procedure: "com.example.add".into(),
        payload: Payload::args(vec![1u8.into(), "two".into(), 3.5f64.into()]),
    }
    .into()
}

/// A CALL whose only argument is 64 KiB of bytes.
fn call_bytes_64k() -> Message {
    let blob: Vec<u8> = (0..64 * 1024u32)
        .map(|i| (i.wrapping_mul(31) >> 3) as u8)
        .collect();
    Call {
        request: id(RequestId::new(7_814_135)),
        options: Dict::new(),
        procedure: "com.example.upload".into(),
        payload: Payload::args(vec![Value::Bytes(blob)]),
    }
    .into()
}

/// An EVENT whose only argument is a list of 1024 strings of 64 bytes (64 KiB of text).
fn event_strs_64k() -> Message {
    let list: Vec<Value> = (0..1024u32)
        .map(|i| {
            Value::Str(format!(
                "{i:08}-abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-"
            ))
        })
        .collect();
    Event {
        subscription: id(SubscriptionId::new(5_512_315_355)),
        publication: id(PublicationId::new(4_429_313_566)),
        details: Dict::new(),
        payload: Payload::args(vec![Value::List(list)]),
    }
    .into()
}

fn serializers() -> [Serializer; 4] {
    [
        Serializer::Json,
        Serializer::MsgPack,
        Serializer::Cbor,
        Serializer::Ubjson,
    ]
}

/// CPU time consumed by the calling thread.
struct ThreadCpuTime {
    wall: WallTime,
}

fn thread_cpu_now() -> Duration {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    Duration::new(
        u64::try_from(t.tv_sec).unwrap_or(0),
        u32::try_from(t.tv_nsec).unwrap_or(0),
    )
}

impl Measurement for ThreadCpuTime {
    type Intermediate = Duration;
    type Value = Duration;
    fn start(&self) -> Duration {
        thread_cpu_now()
    }
    fn end(&self, start: Duration) -> Duration {
        thread_cpu_now().saturating_sub(start)
    }
    fn add(&self, a: &Duration, b: &Duration) -> Duration {
        *a + *b
    }
    fn zero(&self) -> Duration {
        Duration::ZERO
    }
    fn to_f64(&self, value: &Duration) -> f64 {
        value.as_nanos() as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        self.wall.formatter()
    }
}

fn bench_case<M: Measurement>(
    c: &mut Criterion<M>,
    name: &str,
    msg: &Message,
    bytes_throughput: bool,
) {
    let mut group = c.benchmark_group(name);
    for s in serializers() {
        let encoded = match s.encode_to_vec(msg) {
            Ok(b) => b,
            Err(e) => panic!("{s:?} cannot encode the {name} case: {e}"),
        };
        assert_eq!(s.decode(&encoded).as_ref(), Ok(msg), "{s:?} round trip");
        if bytes_throughput {
            group.throughput(Throughput::Bytes(encoded.len() as u64));
        } else {
            group.throughput(Throughput::Elements(1));
        }
        let mut buf = Vec::with_capacity(encoded.len() * 2);
        group.bench_with_input(BenchmarkId::new("encode", s.name()), msg, |b, m| {
            b.iter(|| {
                buf.clear();
                let r = s.encode(black_box(m), &mut buf);
                black_box((r, buf.len()))
            })
        });
        group.bench_with_input(
            BenchmarkId::new("decode", s.name()),
            encoded.as_slice(),
            |b, bytes| b.iter(|| black_box(s.decode(black_box(bytes)))),
        );
    }
    group.finish();
}

fn run<M: Measurement>(mut c: Criterion<M>) {
    bench_case(&mut c, "small_call", &small_call(), false);
    bench_case(&mut c, "call_bytes_64k", &call_bytes_64k(), true);
    bench_case(&mut c, "event_strs_64k", &event_strs_64k(), true);
    c.final_summary();
}

fn main() {
    if std::env::var("WAMP_BENCH_CLOCK").is_ok_and(|v| v == "cpu") {
        run(Criterion::default()
            .with_measurement(ThreadCpuTime { wall: WallTime })
            .configure_from_args());
    } else {
        run(Criterion::default().configure_from_args());
    }
}
