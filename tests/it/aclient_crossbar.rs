//! Our async client against Crossbar (installed by the interop harness, one shared instance
//! started on first use): joining with every authentication method Crossbar offers, RPC,
//! PubSub, progressive results and cancellation, over every transport and serializer.

use wamp_tokio::client::{
    Authenticator, Client, CloseCause, ConnectOptions, CryptosignKey, Error, JoinOptions,
    ScramProfile, Serializer,
};

use crate::aclient_scenarios::runtime;
use crate::aclient_scenarios::{self as sc, step};
use crate::interop::crossbar_auth::{self as cb, CrossbarAuth, shared_crossbar_auth};

fn ws(c: &CrossbarAuth) -> String {
    format!("ws://127.0.0.1:{}/", c.ws_port)
}

fn tls_options(c: &CrossbarAuth) -> ConnectOptions {
    ConnectOptions::default().tls(sc::tls_trusting(&c.ca_der))
}

/// Every URL form of the shared Crossbar.
fn every_url(c: &CrossbarAuth) -> Vec<String> {
    vec![
        ws(c),
        format!("rs://127.0.0.1:{}", c.rs_port),
        format!("wss://localhost:{}/", c.wss_port),
        format!("rss://127.0.0.1:{}", c.rss_port),
        format!("unix://{}", c.unix_path.display()),
    ]
}

/// The authentication cases: (label, join options, expected authid, expected authrole).
fn auth_cases() -> Vec<(
    &'static str,
    JoinOptions,
    Option<&'static str>,
    &'static str,
)> {
    let realm = cb::REALM;
    let key = CryptosignKey::from_hex(cb::CRYPTOSIGN_USER.1).unwrap();
    vec![
        (
            "anonymous",
            JoinOptions::anonymous(realm),
            None,
            "anonymous",
        ),
        (
            "ticket",
            JoinOptions::anonymous(realm)
                .authid(cb::TICKET_USER.0)
                .with(Authenticator::Ticket(cb::TICKET_USER.1.into())),
            Some(cb::TICKET_USER.0),
            "user",
        ),
        (
            "wampcra",
            JoinOptions::anonymous(realm)
                .authid(cb::CRA_USER.0)
                .with(Authenticator::WampCra(cb::CRA_USER.1.into())),
            Some(cb::CRA_USER.0),
            "user",
        ),
        (
            "wampcra",
            JoinOptions::anonymous(realm)
                .authid(cb::CRA_SALTED_USER.0)
                .with(Authenticator::WampCra(cb::CRA_SALTED_USER.1.into())),
            Some(cb::CRA_SALTED_USER.0),
            "user",
        ),
        (
            "cryptosign",
            JoinOptions::anonymous(realm)
                .authid(cb::CRYPTOSIGN_USER.0)
                .with(Authenticator::Cryptosign(key.clone())),
            Some(cb::CRYPTOSIGN_USER.0),
            "user",
        ),
        (
            // No authid: Crossbar finds the principal from the public key.
            "cryptosign",
            JoinOptions::anonymous(realm).with(Authenticator::Cryptosign(key)),
            Some(cb::CRYPTOSIGN_USER.0),
            "user",
        ),
        (
            "scram",
            JoinOptions::anonymous(realm)
                .authid(cb::SCRAM_ARGON_USER.0)
                .with(Authenticator::Scram {
                    profile: ScramProfile::Autobahn,
                    password: cb::SCRAM_ARGON_USER.1.into(),
                }),
            Some(cb::SCRAM_ARGON_USER.0),
            "user",
        ),
        (
            "scram",
            JoinOptions::anonymous(realm)
                .authid(cb::SCRAM_PBKDF2_USER.0)
                .with(Authenticator::Scram {
                    profile: ScramProfile::Autobahn,
                    password: cb::SCRAM_PBKDF2_USER.1.into(),
                }),
            Some(cb::SCRAM_PBKDF2_USER.0),
            "user",
        ),
        (
            // Several methods: Crossbar picks the first it has a principal for.
            "ticket",
            JoinOptions::anonymous(realm)
                .authid(cb::TICKET_USER.0)
                .with(Authenticator::Ticket(cb::TICKET_USER.1.into()))
                .with(Authenticator::WampCra("unused".into())),
            Some(cb::TICKET_USER.0),
            "user",
        ),
    ]
}

#[test]
fn crossbar_join_with_every_auth_method() {
    let c = shared_crossbar_auth();
    runtime().block_on(async {
        for (url, serializer) in [
            (ws(c), Serializer::Json),
            (format!("rs://127.0.0.1:{}", c.rs_port), Serializer::Cbor),
        ] {
            let opts = ConnectOptions::default().serializer(serializer);
            for (method, join, authid, role) in auth_cases() {
                let client = step("connect", Client::connect(&url, opts.clone()))
                    .await
                    .unwrap();
                let details = step("join", client.join(join)).await.unwrap_or_else(|e| {
                    panic!("{method} over {url}: {e}\n{}", c.process.log_tail())
                });
                assert_eq!(details.authmethod.as_deref(), Some(method), "{details:?}");
                assert_eq!(details.authrole.as_deref(), Some(role), "{details:?}");
                if let Some(id) = authid {
                    assert_eq!(details.authid.as_deref(), Some(id), "{details:?}");
                }
                assert_eq!(client.session_id(), Some(details.session));
                let info = step("leave", client.leave()).await.unwrap();
                assert_eq!(info.cause, CloseCause::Left);
            }
        }
    });
}

#[test]
fn crossbar_rejects_wrong_credentials() {
    let c = shared_crossbar_auth();
    runtime().block_on(async {
        let realm = cb::REALM;
        let wrong = [
            JoinOptions::anonymous(realm)
                .authid(cb::TICKET_USER.0)
                .with(Authenticator::Ticket("wrong".into())),
            JoinOptions::anonymous(realm)
                .authid(cb::CRA_USER.0)
                .with(Authenticator::WampCra("wrong".into())),
            JoinOptions::anonymous(realm)
                .authid(cb::CRA_SALTED_USER.0)
                .with(Authenticator::WampCra("wrong".into())),
            JoinOptions::anonymous(realm)
                .authid(cb::CRYPTOSIGN_USER.0)
                .with(Authenticator::Cryptosign(CryptosignKey::from_seed(
                    &[7; 32],
                ))),
            JoinOptions::anonymous(realm)
                .authid(cb::SCRAM_PBKDF2_USER.0)
                .with(Authenticator::Scram {
                    profile: ScramProfile::Autobahn,
                    password: "wrong".into(),
                }),
            JoinOptions::anonymous(realm)
                .authid("nobody")
                .with(Authenticator::Ticket("x".into())),
            JoinOptions::anonymous("no.such.realm"),
        ];
        for join in wrong {
            let client = step(
                "connect",
                Client::connect(&ws(c), ConnectOptions::default()),
            )
            .await
            .unwrap();
            let label = format!("{:?} {:?}", join.authid, join.realm);
            match step("join", client.join(join)).await {
                Err(Error::JoinFailed(info)) => {
                    assert_eq!(info.cause, CloseCause::Aborted, "{label}: {info:?}");
                    assert!(
                        info.reason.as_str().starts_with("wamp.error."),
                        "{label}: {info:?}"
                    );
                }
                other => panic!("{label}: expected a failed join, got {other:?}"),
            }
            // The connection is gone with the session.
            let ended = step("ended", client.ended()).await;
            assert!(ended.close.is_some());
            assert!(matches!(
                client.leave().await,
                Err(Error::Closed | Error::Usage(_))
            ));
        }
    });
}

#[test]
fn crossbar_rpc_and_pubsub_over_every_transport_and_serializer() {
    let c = shared_crossbar_auth();
    runtime().block_on(sc::every_transport(
        &every_url(c),
        &[
            Serializer::Json,
            Serializer::MsgPack,
            Serializer::Cbor,
            Serializer::Ubjson,
        ],
        &tls_options(c),
        cb::REALM,
    ));
}

#[test]
fn crossbar_rpc_and_pubsub_over_batched_websocket() {
    let c = shared_crossbar_auth();
    let opts = ConnectOptions {
        websocket_batched: true,
        ..tls_options(c)
    };
    let ws = vec![ws(c), format!("wss://localhost:{}/", c.wss_port)];
    runtime().block_on(sc::every_transport(
        &ws,
        &[
            Serializer::Json,
            Serializer::MsgPack,
            Serializer::Cbor,
            Serializer::Ubjson,
        ],
        &opts,
        cb::REALM,
    ));
}

#[test]
fn crossbar_progressive_results() {
    let c = shared_crossbar_auth();
    runtime().block_on(async {
        sc::progressive_results(&ws(c), &ConnectOptions::default(), cb::REALM).await;
        let rs = format!("rs://127.0.0.1:{}", c.rs_port);
        let opts = ConnectOptions::default().serializer(Serializer::MsgPack);
        sc::progressive_results(&rs, &opts, cb::REALM).await;
    });
}

#[test]
fn crossbar_cancel() {
    let c = shared_crossbar_auth();
    runtime().block_on(async {
        sc::cancel(&ws(c), &ConnectOptions::default(), cb::REALM, false).await;
        let rs = format!("rs://127.0.0.1:{}", c.rs_port);
        let opts = ConnectOptions::default().serializer(Serializer::Cbor);
        sc::cancel(&rs, &opts, cb::REALM, false).await;
    });
}

#[test]
fn crossbar_queue_policies() {
    let c = shared_crossbar_auth();
    runtime().block_on(sc::queue_policies(
        &ws(c),
        &ConnectOptions::default(),
        cb::REALM,
    ));
}

#[test]
fn crossbar_drop_semantics() {
    let c = shared_crossbar_auth();
    runtime().block_on(sc::drop_semantics(
        &ws(c),
        &ConnectOptions::default(),
        cb::REALM,
    ));
}

#[test]
fn crossbar_usage_errors() {
    let c = shared_crossbar_auth();
    runtime().block_on(sc::usage_errors(
        &ws(c),
        &ConnectOptions::default(),
        cb::REALM,
    ));
}

/// `Authenticator::External`: the application answers the CHALLENGE (here a ticket), or
/// refuses and the join is aborted.
#[test]
fn crossbar_external_authenticator() {
    let c = shared_crossbar_auth();
    runtime().block_on(async {
        let join = || {
            JoinOptions::anonymous(cb::REALM)
                .authid(cb::TICKET_USER.0)
                .with(Authenticator::External("ticket".into()))
        };
        let client = step(
            "connect",
            Client::connect(&ws(c), ConnectOptions::default()),
        )
        .await
        .unwrap();
        let mut seen = Vec::new();
        let details = step(
            "join",
            client.join_with(join(), |ch| {
                seen.push(ch.method.clone());
                async {
                    Some((
                        cb::TICKET_USER.1.to_owned(),
                        wamp_tokio::client::Dict::new(),
                    ))
                }
            }),
        )
        .await
        .unwrap();
        assert_eq!(seen, ["ticket"]);
        assert_eq!(details.authmethod.as_deref(), Some("ticket"));
        assert_eq!(details.authid.as_deref(), Some(cb::TICKET_USER.0));
        step("leave", client.leave()).await.unwrap();

        // Refusing aborts the join.
        let client = step(
            "connect",
            Client::connect(&ws(c), ConnectOptions::default()),
        )
        .await
        .unwrap();
        let r = step("join", client.join_with(join(), |_| async { None })).await;
        assert!(matches!(r, Err(Error::AuthenticationRefused)), "{r:?}");
        let ended = step("ended", client.ended()).await;
        assert_eq!(
            ended.close.as_ref().map(|i| i.cause.clone()),
            Some(CloseCause::JoinCancelled)
        );
        // `join` (without a handler) refuses an external challenge too.
        let client = step(
            "connect",
            Client::connect(&ws(c), ConnectOptions::default()),
        )
        .await
        .unwrap();
        let r = step("join", client.join(join())).await;
        assert!(matches!(r, Err(Error::AuthenticationRefused)), "{r:?}");
    });
}

/// TLS connections expose the `tls-exporter` channel binding; plain ones do not.
#[test]
fn crossbar_tls_channel_binding_data() {
    let c = shared_crossbar_auth();
    runtime().block_on(async {
        let tls = step(
            "connect wss",
            Client::connect(&format!("wss://localhost:{}/", c.wss_port), tls_options(c)),
        )
        .await
        .unwrap();
        let cb_data = tls.tls_channel_binding().unwrap();
        assert_eq!(cb_data.data.len(), 32);
        let other = step(
            "connect rss",
            Client::connect(&format!("rss://127.0.0.1:{}", c.rss_port), tls_options(c)),
        )
        .await
        .unwrap();
        assert_ne!(other.tls_channel_binding().unwrap().data, cb_data.data);
        let plain = step(
            "connect ws",
            Client::connect(&ws(c), ConnectOptions::default()),
        )
        .await
        .unwrap();
        assert!(plain.tls_channel_binding().is_none());
        // Without the CA the certificate is refused.
        let r = Client::connect(
            &format!("wss://localhost:{}/", c.wss_port),
            ConnectOptions::default(),
        )
        .await;
        assert!(
            matches!(
                r,
                Err(Error::Tls(rustls::Error::InvalidCertificate(
                    rustls::CertificateError::UnknownIssuer
                )))
            ),
            "{r:?}"
        );
    });
}

/// Dropping the last local handle of a subscription unsubscribes (seen through Crossbar's
/// `wamp.subscription.lookup` meta procedure).
#[test]
fn crossbar_subscription_drop_unsubscribes() {
    let c = shared_crossbar_auth();
    runtime().block_on(async {
        let url = ws(c);
        let client = sc::join(&url, &ConnectOptions::default(), cb::REALM).await;
        let topic = sc::unique("com.test.lookup");
        let lookup = |client: Client, topic: wamp_tokio::client::Uri| async move {
            let out = client
                .call(
                    "wamp.subscription.lookup",
                    wamp_tokio::client::Payload::args(vec![topic.as_str().into()]),
                    wamp_tokio::client::CallOptions::default(),
                )
                .await
                .unwrap();
            out.payload.arguments().first().and_then(|v| v.as_u64())
        };
        let a = step(
            "subscribe",
            client.subscribe(
                topic.clone(),
                wamp_tokio::client::SubscribeOptions::default(),
            ),
        )
        .await
        .unwrap();
        let b = step(
            "subscribe again",
            client.subscribe(
                topic.clone(),
                wamp_tokio::client::SubscribeOptions::default(),
            ),
        )
        .await
        .unwrap();
        assert_eq!(
            step("lookup", lookup(client.clone(), topic.clone())).await,
            Some(a.id().get())
        );
        drop(a);
        // Another local handle remains: still subscribed.
        step(
            "round trip",
            client.publish(
                topic.clone(),
                wamp_tokio::client::Payload::empty(),
                wamp_tokio::client::PublishOptions {
                    acknowledge: true,
                    ..Default::default()
                },
            ),
        )
        .await
        .unwrap();
        assert_eq!(
            step("lookup", lookup(client.clone(), topic.clone())).await,
            Some(b.id().get())
        );
        drop(b);
        sc::eventually("unsubscribed after the last drop", || {
            let f = lookup(client.clone(), topic.clone());
            async move { f.await.is_none() }
        })
        .await;
        step("leave", client.leave()).await.unwrap();
    });
}
