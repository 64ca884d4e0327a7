//! Link layer benchmarks: RawSocket and WebSocket framing overhead on top of the serializers,
//! the frame decoder's throughput, and fan-out encoding through `EncodeCache`.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use wamp_proto::id::{PublicationId, RequestId, SubscriptionId};
use wamp_proto::link::{EncodeCache, Incoming, Link};
use wamp_proto::message::{Call, Event, Payload};
use wamp_proto::rawsocket::{FrameDecoder, FrameKind, MaxLength, Negotiated, encode_frame};
use wamp_proto::websocket::Subprotocol;
use wamp_proto::{Dict, Message, Serializer, Value};

fn small_call() -> Message {
    Call {
        request: RequestId::new(42).unwrap(),
        options: Dict::new(),
        procedure: "com.example.add".into(),
        payload: Payload::args(vec![Value::from(1), Value::from("two"), Value::from(3.5)]),
    }
    .into()
}

fn rawsocket(s: Serializer) -> Link {
    Link::rawsocket(Negotiated {
        serializer: s,
        max_receive: MaxLength::MAX,
        max_send: MaxLength::MAX,
    })
}

fn bench_small(c: &mut Criterion) {
    let msg = small_call();
    let mut g = c.benchmark_group("small_call");
    for s in Serializer::ALL {
        let name = s.name();
        let bytes = s.encode_to_vec(&msg).unwrap();
        g.bench_function(format!("{name}/serializer_decode"), |b| {
            b.iter(|| s.decode(black_box(&bytes)).unwrap())
        });
        let mut link = rawsocket(s);
        let mut wire = Vec::new();
        link.encode(&msg, &mut wire).unwrap();
        g.bench_function(format!("{name}/rawsocket_receive"), |b| {
            b.iter(|| {
                let mut input: &[u8] = black_box(&wire);
                match link.receive_rawsocket(&mut input).unwrap() {
                    Some(Incoming::Message(m)) => m,
                    _ => unreachable!(),
                }
            })
        });
        let mut out = Vec::with_capacity(256);
        g.bench_function(format!("{name}/serializer_encode"), |b| {
            b.iter(|| {
                out.clear();
                s.encode(black_box(&msg), &mut out).unwrap();
            })
        });
        g.bench_function(format!("{name}/rawsocket_encode"), |b| {
            b.iter(|| {
                out.clear();
                link.encode(black_box(&msg), &mut out).unwrap();
            })
        });
        let batched = Link::websocket(Subprotocol::new(s, true));
        let mut batch = Vec::new();
        for _ in 0..16 {
            batched.encode(&msg, &mut batch).unwrap();
        }
        g.bench_function(format!("{name}/ws_batch16_receive"), |b| {
            b.iter(|| {
                batched
                    .receive_websocket(black_box(&batch))
                    .unwrap()
                    .map(Result::unwrap)
                    .count()
            })
        });
    }
    g.finish();
}

fn bench_framer(c: &mut Criterion) {
    // 64 KiB frames arriving in 8 KiB reads (copied into the decoder's buffer) and 1 MiB reads
    // (zero-copy for frames inside a read).
    let payload = vec![0xA5u8; 64 * 1024];
    let mut wire = Vec::new();
    for _ in 0..32 {
        encode_frame(FrameKind::Message, &payload, &mut wire).unwrap();
    }
    let mut g = c.benchmark_group("framer_64k");
    g.throughput(Throughput::Bytes(wire.len() as u64));
    for read in [8 * 1024, 1 << 20] {
        let mut dec = FrameDecoder::new(1 << 24);
        g.bench_function(format!("reads_of_{read}"), |b| {
            b.iter(|| {
                let mut n = 0;
                for chunk in wire.chunks(read) {
                    let mut rest = chunk;
                    loop {
                        let (used, frame) = dec.decode(rest).unwrap();
                        rest = &rest[used..];
                        match frame {
                            Some(f) => n += f.payload.len(),
                            None => break,
                        }
                    }
                }
                n
            })
        });
    }
    g.finish();
}

fn bench_fanout(c: &mut Criterion) {
    // One EVENT to 100 links, 4 serializers mixed: 4 encodings, 100 framings.
    let msg: Message = Event {
        subscription: SubscriptionId::new(1).unwrap(),
        publication: PublicationId::new(7).unwrap(),
        details: Dict::new(),
        payload: Payload::args(vec![Value::from("x".repeat(200)), Value::from(17)]),
    }
    .into();
    let links: Vec<Link> = (0..100)
        .map(|i| {
            let s = Serializer::ALL[i % Serializer::ALL.len()];
            if i % 2 == 0 {
                rawsocket(s)
            } else {
                Link::websocket(Subprotocol::new(s, false))
            }
        })
        .collect();
    let mut outs: Vec<Vec<u8>> = links.iter().map(|_| Vec::with_capacity(512)).collect();
    let mut g = c.benchmark_group("fanout_100");
    let mut cache = EncodeCache::new();
    g.bench_function("encode_cache", |b| {
        b.iter(|| {
            let mut enc = cache.begin(black_box(&msg));
            for (link, out) in links.iter().zip(outs.iter_mut()) {
                out.clear();
                enc.write(link, out).unwrap();
            }
        })
    });
    g.bench_function("encode_each", |b| {
        b.iter(|| {
            for (link, out) in links.iter().zip(outs.iter_mut()) {
                out.clear();
                link.encode(black_box(&msg), out).unwrap();
            }
        })
    });
    g.finish();
}

criterion_group!(benches, bench_small, bench_framer, bench_fanout);
criterion_main!(benches);
