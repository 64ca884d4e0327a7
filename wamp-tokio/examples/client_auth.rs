//! Joining with each authentication method.
//!
//! ```text
//! cargo run -p wamp-tokio --example client_auth -- <url> <realm> <method> [authid] [secret]
//! ```
//! `method` is one of `anonymous`, `ticket`, `wampcra`, `cryptosign` (secret: the hex seed
//! of the Ed25519 key), `scram` (Crossbar/Autobahn dialect), `wamp-scram` (the spec's
//! dialect), `external-ticket` (the application answers the challenge itself).
//! Over TLS (`wss://`, `rss://`), cryptosign can bind to the channel: set `CHANNEL_BINDING=1`
//! (`tls-exporter`; the router must support it).

use wamp_tokio::client::{
    Authenticator, Client, ConnectOptions, CryptosignKey, Dict, JoinOptions, ScramProfile, Uri,
};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize, d: &str| args.get(i).cloned().unwrap_or_else(|| d.to_owned());
    let (url, realm, method) = (
        arg(0, "ws://127.0.0.1:8080/ws"),
        arg(1, "realm1"),
        arg(2, "anonymous"),
    );
    let (authid, secret) = (arg(3, "joe"), arg(4, "secret"));

    let client = Client::connect(&url, ConnectOptions::default()).await?;
    let mut join = JoinOptions::anonymous(Uri::new(&realm)?);
    if method != "anonymous" && method != "cryptosign" {
        join = join.authid(authid.clone());
    }
    let join = match method.as_str() {
        "anonymous" => join,
        "ticket" => join.with(Authenticator::Ticket(secret.clone())),
        "wampcra" => join.with(Authenticator::WampCra(secret.clone())),
        "cryptosign" => {
            let mut j = join.with(Authenticator::Cryptosign(CryptosignKey::from_hex(&secret)?));
            if std::env::var_os("CHANNEL_BINDING").is_some() {
                j.channel_binding = client.tls_channel_binding();
            }
            j
        }
        "scram" => join.with(Authenticator::Scram {
            profile: ScramProfile::Autobahn,
            password: secret.clone(),
        }),
        "wamp-scram" => join.with(Authenticator::Scram {
            profile: ScramProfile::Spec,
            password: secret.clone(),
        }),
        "external-ticket" => join.with(Authenticator::External("ticket".into())),
        other => return Err(format!("unknown method {other}").into()),
    };

    // Built-in methods are answered by the session; `External` ones by this closure, which
    // runs on our task (slow key derivations here do not hold up the connection).
    let details = client
        .join_with(join, |challenge| {
            let secret = secret.clone();
            async move {
                println!("challenge for {}: {:?}", challenge.method, challenge.extra);
                (challenge.method == "ticket").then(|| (secret, Dict::new()))
            }
        })
        .await?;
    println!(
        "joined {} as {:?} (role {:?}, method {:?})",
        details.realm, details.authid, details.authrole, details.authmethod
    );
    client.leave().await?;
    Ok(())
}
