//! What the server needs from the router core, through its public API: shutdown (GOODBYE
//! `wamp.close.system_shutdown` to every session, then close every connection), realm-wide
//! caller and publisher disclosure, and the transport close reasons.

use std::time::Instant;

use wamp_proto::id::RequestId;
use wamp_proto::message::{Call, Hello, Publish, Register, Subscribe};
use wamp_proto::websocket::CloseReason as Ws;
use wamp_proto::{Dict, Message, Payload, SeededEntropy};
use wamp_router_core::{CloseReason, ConnId, Router, RouterAction, RouterConfig};

fn req(n: u64) -> RequestId {
    RequestId::new(n).unwrap()
}

fn drain(r: &mut Router) -> Vec<RouterAction> {
    std::iter::from_fn(|| r.poll_action()).collect()
}

fn join(r: &mut Router, now: Instant) -> ConnId {
    let c = r.open_connection(now).unwrap();
    let roles = Dict::new()
        .with("caller", Dict::new())
        .with("callee", Dict::new())
        .with("publisher", Dict::new())
        .with("subscriber", Dict::new());
    r.handle_message(
        now,
        c,
        Hello {
            realm: "realm1".into(),
            details: Dict::new().with("roles", roles),
        }
        .into(),
    );
    assert!(matches!(
        &drain(r)[..],
        [RouterAction::Send {
            msg: Message::Welcome(_),
            ..
        }]
    ));
    c
}

#[test]
fn shutdown_says_goodbye_then_closes_every_connection() {
    let now = Instant::now();
    let mut r = Router::new(
        RouterConfig::with_realm("realm1"),
        Box::new(SeededEntropy::new(1)),
    );
    let a = join(&mut r, now);
    let b = join(&mut r, now);
    let idle = r.open_connection(now).unwrap();
    r.shutdown(now);
    let actions = drain(&mut r);
    let mut goodbyes = Vec::new();
    let mut closes = Vec::new();
    for action in actions {
        match action {
            RouterAction::Send {
                to,
                msg: Message::Goodbye(g),
            } => {
                assert_eq!(g.reason.as_str(), "wamp.close.system_shutdown");
                assert!(!closes.contains(&to), "GOODBYE before Close");
                goodbyes.push(to);
            }
            RouterAction::Close { conn, reason } => {
                assert_eq!(reason, CloseReason::Shutdown);
                closes.push(conn);
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(goodbyes, [a, b]);
    assert_eq!(closes, [a, b, idle]);
    assert_eq!(r.stats().sessions, 0);
    for c in [a, b, idle] {
        r.close_connection(now, c);
    }
    let s = r.stats();
    assert_eq!((s.connections, s.timers, s.queued_actions), (0, 0, 0));
}

fn disclosure(caller: bool, publisher: bool) -> (Dict, Dict) {
    let now = Instant::now();
    let mut config = RouterConfig::with_realm("realm1");
    config.disclose_caller = caller;
    config.disclose_publisher = publisher;
    let mut r = Router::new(config, Box::new(SeededEntropy::new(2)));
    let callee = join(&mut r, now);
    let caller_conn = join(&mut r, now);
    r.handle_message(
        now,
        callee,
        Register {
            request: req(1),
            options: Dict::new(),
            procedure: "com.p".into(),
        }
        .into(),
    );
    r.handle_message(
        now,
        callee,
        Subscribe {
            request: req(2),
            options: Dict::new(),
            topic: "com.t".into(),
        }
        .into(),
    );
    drain(&mut r);
    r.handle_message(
        now,
        caller_conn,
        Call {
            request: req(1),
            options: Dict::new(),
            procedure: "com.p".into(),
            payload: Payload::empty(),
        }
        .into(),
    );
    let inv = match &drain(&mut r)[..] {
        [
            RouterAction::Send {
                msg: Message::Invocation(i),
                ..
            },
        ] => i.details.clone(),
        other => panic!("{other:?}"),
    };
    r.handle_message(
        now,
        caller_conn,
        Publish {
            request: req(2),
            options: Dict::new(),
            topic: "com.t".into(),
            payload: Payload::empty(),
        }
        .into(),
    );
    let ev = match &drain(&mut r)[..] {
        [
            RouterAction::Send {
                msg: Message::Event(e),
                ..
            },
        ] => e.details.clone(),
        [RouterAction::Broadcast { msg, .. }] => match &**msg {
            Message::Event(e) => e.details.clone(),
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    };
    (inv, ev)
}

#[test]
fn realm_wide_disclosure_flags() {
    let (inv, ev) = disclosure(false, false);
    assert!(inv.get("caller").is_none() && ev.get("publisher").is_none());
    let (inv, ev) = disclosure(true, false);
    assert!(inv.get("caller").is_some() && inv.get("caller_authrole").is_some());
    assert!(ev.get("publisher").is_none());
    let (inv, ev) = disclosure(false, true);
    assert!(inv.get("caller").is_none());
    assert!(ev.get("publisher").is_some() && ev.get("publisher_authid").is_some());
}

#[test]
fn close_reasons_map_to_websocket_codes() {
    assert_eq!(
        CloseReason::ProtocolViolation.transport(),
        Ws::ProtocolError
    );
    assert_eq!(CloseReason::MessageTooLarge.transport(), Ws::MessageTooBig);
    assert_eq!(CloseReason::HelloTimeout.transport(), Ws::PolicyViolation);
    assert_eq!(CloseReason::Capacity.transport(), Ws::PolicyViolation);
    assert_eq!(CloseReason::Shutdown.transport().websocket_code(), 1001);
}
