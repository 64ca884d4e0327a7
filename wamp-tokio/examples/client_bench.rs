//! Measures the client against a running router: sequential call round trips, pipelined
//! calls from many tasks, and publish-to-event throughput.
//!
//! ```text
//! cargo run --release -p wamp-tokio --example client_bench -- ws://127.0.0.1:8080/ws realm1 json
//! ```
//! Prints one line per measurement (operations per second of this run; compare runs made
//! on the same machine, not absolute numbers).

use std::sync::Arc;
use std::time::Instant;

use wamp_tokio::client::{
    CallOptions, Client, ConnectOptions, JoinOptions, Payload, PublishOptions, RegisterOptions,
    Serializer, SubscribeOptions, Uri,
};

const SEQUENTIAL: u32 = 5_000;
const TASKS: u32 = 64;
const PER_TASK: u32 = 500;
const EVENTS: u32 = 100_000;
const WINDOW: u32 = 500;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let url = args
        .next()
        .unwrap_or_else(|| "ws://127.0.0.1:8080/ws".into());
    let realm = Uri::new(args.next().unwrap_or_else(|| "realm1".into()))?;
    let serializer = match args.next().as_deref() {
        Some("msgpack") => Serializer::MsgPack,
        Some("cbor") => Serializer::Cbor,
        Some("ubjson") => Serializer::Ubjson,
        _ => Serializer::Json,
    };
    let opts = ConnectOptions {
        serializer,
        ..ConnectOptions::default()
    };
    let (callee, _) =
        Client::connect_and_join(&url, opts.clone(), JoinOptions::anonymous(realm.clone())).await?;
    let (caller, _) =
        Client::connect_and_join(&url, opts.clone(), JoinOptions::anonymous(realm.clone())).await?;
    let procedure = Uri::new(format!("bench.echo.{}", std::process::id()))?;
    let _reg = callee
        .register_fn(
            procedure.clone(),
            RegisterOptions::default(),
            |inv| async move { Ok(inv.payload) },
        )
        .await?;
    let payload = || Payload::args(vec![1.into(), "hello".into()]);

    let t = Instant::now();
    for _ in 0..SEQUENTIAL {
        caller
            .call(procedure.clone(), payload(), CallOptions::default())
            .await?;
    }
    let secs = t.elapsed().as_secs_f64();
    println!(
        "{serializer:?} sequential calls: {:.0}/s ({:.1} us per round trip)",
        f64::from(SEQUENTIAL) / secs,
        secs * 1e6 / f64::from(SEQUENTIAL)
    );

    let caller = Arc::new(caller);
    let t = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..TASKS {
        let (c, p) = (caller.clone(), procedure.clone());
        tasks.push(tokio::spawn(async move {
            for _ in 0..PER_TASK {
                c.call(
                    p.clone(),
                    Payload::args(vec![1.into(), "hello".into()]),
                    CallOptions::default(),
                )
                .await?;
            }
            Ok::<_, wamp_tokio::client::Error>(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    let n = TASKS * PER_TASK;
    println!(
        "{serializer:?} pipelined calls ({TASKS} tasks): {:.0}/s",
        f64::from(n) / t.elapsed().as_secs_f64()
    );

    // Publish in windows of WINDOW events and receive each window before the next: the
    // router closes a subscriber whose queue overflows (1024 messages by default), so an
    // unbounded flood would measure that policy instead.
    let topic = Uri::new(format!("bench.topic.{}", std::process::id()))?;
    let mut sub = callee
        .subscribe(topic.clone(), SubscribeOptions::default())
        .await?;
    let t = Instant::now();
    let mut got = 0u32;
    for w in 0..EVENTS / WINDOW {
        for i in 0..WINDOW {
            caller
                .publish(
                    topic.clone(),
                    Payload::args(vec![(w * WINDOW + i).into()]),
                    PublishOptions::default(),
                )
                .await?;
        }
        for _ in 0..WINDOW {
            if sub.next().await.is_none() {
                return Err(format!("subscription ended: {:?}", sub.end_reason()).into());
            }
            got += 1;
        }
    }
    println!(
        "{serializer:?} publish -> event (windows of {WINDOW}): {:.0}/s",
        f64::from(got) / t.elapsed().as_secs_f64(),
    );
    caller.leave().await?;
    callee.leave().await?;
    Ok(())
}
