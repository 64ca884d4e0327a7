//! A subscriber: prints the events of `com.example.` (a prefix subscription) until Ctrl-C,
//! then unsubscribes and leaves. Run `client_publish` to send some.
//!
//! ```text
//! cargo run -p wamp-tokio --example client_subscribe -- rs://127.0.0.1:8080 realm1
//! ```

use wamp_tokio::client::{Client, ConnectOptions, JoinOptions, MatchPolicy, SubscribeOptions, Uri};

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
    let opts = SubscribeOptions {
        match_policy: MatchPolicy::Prefix,
        ..SubscribeOptions::default()
    };
    let mut events = client.subscribe("com.example.", opts).await?;
    println!("subscribed (subscription {})", events.id());
    loop {
        tokio::select! {
            ev = events.next() => match ev {
                Some(ev) => println!(
                    "{} from {:?}: {:?} {:?} (missed so far: {})",
                    ev.topic,
                    ev.publisher(),
                    ev.payload.arguments(),
                    ev.payload.keyword_arguments(),
                    events.missed()
                ),
                None => {
                    println!("subscription ended: {:?}", events.end_reason());
                    break;
                }
            },
            _ = tokio::signal::ctrl_c() => {
                events.unsubscribe().await?;
                break;
            }
        }
    }
    client.leave().await?;
    Ok(())
}
