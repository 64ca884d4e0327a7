//! A publisher: publishes with and without acknowledgement, with options.
//!
//! ```text
//! cargo run -p wamp-tokio --example client_publish -- ws://127.0.0.1:8080/ws realm1
//! ```

use wamp_tokio::client::{Client, ConnectOptions, Dict, JoinOptions, Payload, PublishOptions, Uri};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let url = args
        .next()
        .unwrap_or_else(|| "ws://127.0.0.1:8080/ws".into());
    let realm = args.next().unwrap_or_else(|| "realm1".into());

    let (client, _) = Client::connect_and_join(
        &url,
        ConnectOptions::default(),
        JoinOptions::anonymous(Uri::new(&realm)?),
    )
    .await?;

    // Fire and forget: returns once the PUBLISH is queued.
    client
        .publish(
            "com.example.hello",
            Payload::args(vec!["hi".into()]),
            PublishOptions::default(),
        )
        .await?;

    // Acknowledged: the broker answers with the publication ID (or an error).
    let mut kwargs = Dict::new();
    kwargs.insert("n", 42u64);
    let ack = PublishOptions {
        acknowledge: true,
        disclose_me: true,
        // Deliver to ourselves too (the broker excludes the publisher by default).
        exclude_me: Some(false),
        ..PublishOptions::default()
    };
    let id = client
        .publish("com.example.answer", Payload::new(vec![], kwargs), ack)
        .await?;
    println!("published {id:?}");

    client.leave().await?;
    Ok(())
}
