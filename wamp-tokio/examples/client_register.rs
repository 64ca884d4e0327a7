//! A callee: registers procedures two ways and serves them until Ctrl-C.
//!
//! * `com.example.add` with a handler (`register_fn`): each invocation runs in its own task.
//! * `com.example.countdown` as a stream of invocations (`register`): sends progressive
//!   results when the caller asked for them, and stops early when the caller cancels
//!   (INTERRUPT).
//!
//! ```text
//! cargo run -p wamp-tokio --example client_register -- ws://127.0.0.1:8080/ws realm1
//! ```
//! URLs: `ws://`, `wss://`, `rs://host:port`, `rss://host:port`, `unix:///path`.

use std::time::Duration;

use wamp_tokio::client::{
    CallError, Client, ConnectOptions, Interrupted, JoinOptions, Payload, RegisterOptions, Uri,
    Value,
};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let url = args
        .next()
        .unwrap_or_else(|| "ws://127.0.0.1:8080/ws".into());
    let realm = args.next().unwrap_or_else(|| "realm1".into());

    let client = Client::connect(&url, ConnectOptions::default()).await?;
    let details = client
        .join(JoinOptions::anonymous(Uri::new(&realm)?))
        .await?;
    println!("joined {} as session {}", details.realm, details.session);

    // A handler: `Ok` becomes the YIELD, `Err` the ERROR.
    let _add = client
        .register_fn(
            "com.example.add",
            RegisterOptions::default(),
            |inv| async move {
                let mut sum = 0i64;
                for v in inv.args() {
                    match v {
                        Value::Int(i) => sum += i,
                        Value::UInt(u) => sum += i64::try_from(*u).unwrap_or(i64::MAX),
                        _ => {
                            return Err(CallError::new(
                                "com.example.error.not_a_number",
                                Payload::args(vec![v.clone()]),
                            ));
                        }
                    }
                }
                Ok(Payload::args(vec![sum.into()]))
            },
        )
        .await?;
    println!("registered com.example.add");

    // A stream of invocations, answered by hand.
    let mut countdown = client
        .register("com.example.countdown", RegisterOptions::default())
        .await?;
    println!("registered com.example.countdown");
    let serve = async {
        while let Some(inv) = countdown.next().await {
            tokio::spawn(async move {
                let from = match inv.args().first() {
                    Some(Value::UInt(n)) => *n,
                    _ => 3,
                };
                for i in (1..=from).rev() {
                    // Stop early when the caller cancels.
                    tokio::select! {
                        why = inv.interrupted() => {
                            println!("invocation {} stopped: {why:?}", inv.request);
                            if matches!(why, Interrupted::Interrupt { .. }) {
                                let _ = inv.error("wamp.error.canceled", Payload::empty()).await;
                            }
                            return;
                        }
                        () = tokio::time::sleep(Duration::from_millis(500)) => {}
                    }
                    if inv.receive_progress() {
                        let _ = inv.progress(Payload::args(vec![i.into()])).await;
                    }
                }
                let _ = inv.yield_(Payload::args(vec!["liftoff".into()])).await;
            });
        }
    };
    tokio::select! {
        () = serve => println!("registration ended: {:?}", countdown.end_reason()),
        _ = tokio::signal::ctrl_c() => {}
    }
    let info = client.leave().await?;
    println!("left: {}", info.reason);
    Ok(())
}
