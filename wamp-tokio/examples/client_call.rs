//! A caller: a plain call, a call with progressive results, a cancelled call, and a call
//! with a timeout. Run `client_register` first.
//!
//! ```text
//! cargo run -p wamp-tokio --example client_call -- ws://127.0.0.1:8080/ws realm1 msgpack
//! ```

use std::time::Duration;

use wamp_tokio::client::{
    CallOptions, CallUpdate, CancelMode, Client, ConnectOptions, Error, JoinOptions, Payload,
    Serializer, Uri,
};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let url = args
        .next()
        .unwrap_or_else(|| "ws://127.0.0.1:8080/ws".into());
    let realm = args.next().unwrap_or_else(|| "realm1".into());
    let serializer = match args.next().as_deref() {
        Some("msgpack") => Serializer::MsgPack,
        Some("cbor") => Serializer::Cbor,
        Some("ubjson") => Serializer::Ubjson,
        _ => Serializer::Json,
    };

    let (client, details) = Client::connect_and_join(
        &url,
        ConnectOptions::default().serializer(serializer),
        JoinOptions::anonymous(Uri::new(&realm)?),
    )
    .await?;
    println!("joined as session {}", details.session);

    // A plain call.
    let sum = client
        .call(
            "com.example.add",
            Payload::args(vec![2.into(), 3.into()]),
            CallOptions::default(),
        )
        .await?;
    println!("add(2, 3) = {:?}", sum.payload.arguments());

    // An application error comes back as `Error::Wamp`, with the URI and payload.
    match client
        .call(
            "com.example.add",
            Payload::args(vec!["x".into()]),
            CallOptions::default(),
        )
        .await
    {
        Err(Error::Wamp(e)) => println!("add(\"x\") failed: {} {:?}", e.error, e.payload),
        other => println!("add(\"x\"): {other:?}"),
    }

    // Progressive results, as a stream.
    let progressive = CallOptions {
        receive_progress: true,
        ..CallOptions::default()
    };
    let mut call = client
        .call_with(
            "com.example.countdown",
            Payload::args(vec![3u64.into()]),
            progressive.clone(),
        )
        .await?;
    while let Some(update) = call.next().await {
        match update? {
            CallUpdate::Progress(p) => println!("progress {:?}", p.payload.arguments()),
            CallUpdate::Final(f) => println!("final {:?}", f.payload.arguments()),
        }
    }

    // Cancel explicitly (the callee is interrupted) ...
    let call = client
        .call_with(
            "com.example.countdown",
            Payload::args(vec![10u64.into()]),
            progressive,
        )
        .await?;
    tokio::time::sleep(Duration::from_millis(700)).await;
    call.cancel(CancelMode::Kill).await?;
    println!(
        "cancelled: {:?}",
        call.result().await.map_err(|e| e.to_string())
    );

    // ... or by dropping the call (here: a local timeout), which cancels it too.
    let r = tokio::time::timeout(
        Duration::from_millis(700),
        client.call(
            "com.example.countdown",
            Payload::args(vec![10u64.into()]),
            CallOptions::default(),
        ),
    )
    .await;
    println!("timed out locally: {}", r.is_err());

    // A dealer-side timeout.
    let with_timeout = CallOptions {
        timeout: Some(Duration::from_millis(300)),
        ..CallOptions::default()
    };
    let r = client
        .call(
            "com.example.countdown",
            Payload::args(vec![10u64.into()]),
            with_timeout,
        )
        .await;
    println!("dealer timeout: {:?}", r.map_err(|e| e.to_string()));

    client.leave().await?;
    Ok(())
}
