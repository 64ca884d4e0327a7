//! The coverage matrix (DESIGN.md, "Tests"): every message kind, in each direction, in every
//! session state, is either handled as documented or rejected with the spec's error.
//!
//! Two tables, one per receiver, written from the spec and not from the code:
//! * [`CLIENT_TABLE`]: a message arriving at `wamp_proto::client::Session` in each
//!   [`SessionState`] (router-to-client kinds and, misdirected, client-to-router kinds);
//! * [`ROUTER_TABLE`]: a message a client sends to `wamp_router_core::Router` before HELLO,
//!   in an established session, after its GOODBYE was answered, and after the router aborted.
//!
//! Sources (all under `../shared/wamp-spec/`):
//! * `rfc/basic/sessions.md`, state chart: 1 sent HELLO, 2 received WELCOME, 3 sent GOODBYE,
//!   4/5 received GOODBYE, 6 sent GOODBYE, 7 invalid HELLO / ABORT, 8 "Received HELLO or
//!   AUTHENTICATE" (established -> failed), 9/13 "Received other" (establishing/challenging ->
//!   failed), 14 "Received other / ignore" (shutting down);
//! * `rfc/basic/building_blocks.md` "Protocol Errors": WELCOME, HELLO, CHALLENGE after
//!   establishment; GOODBYE, ERROR, SUBSCRIBED, UNSUBSCRIBED, PUBLISHED, RESULT, REGISTERED,
//!   UNREGISTERED, INVOCATION before establishment; ERROR with an invalid REQUEST.Type; YIELD
//!   with an invalid INVOCATION.Request; each answered with ABORT `wamp.error.protocol_violation`,
//!   the session disposed "without waiting for or processing any messages subsequently received
//!   from the peer", and the transport SHOULD be dropped;
//! * `FEATURE-MAP.md` 1.2 (direction of each message), 2.5 (lifecycle), 2.8 (ABORT vs ERROR).
//!
//! Every sample message is first checked to survive every serializer unchanged, so each cell
//! is about a well-formed message at some moment, not about decoding.
//!
//! Cells where the code disagrees with a table are listed, with the spec text, in
//! [`CLIENT_DISAGREEMENTS`] and [`ROUTER_DISAGREEMENTS`]; the tests fail if a listed cell
//! starts to agree (so the lists stay true) or an unlisted one disagrees.

use std::collections::BTreeSet;
use std::fmt::Debug;

use wamp_proto::client::{
    Authenticator, CallOptions, ClientAction, ClientEvent, JoinOptions, PublishOptions,
    RegisterOptions, SessionState, SubscribeOptions,
};
use wamp_proto::id::{PublicationId, RegistrationId, RequestId, SessionId, SubscriptionId};
use wamp_proto::message::*;
use wamp_proto::{Dict, Message, Payload, Serializer, Uri};

use crate::client_session::{BROKER, Client, DEALER, router_roles};
use crate::sim::Sim;

use MessageKind as K;

const PROTOCOL_VIOLATION: &str = "wamp.error.protocol_violation";

fn rid(n: u64) -> RequestId {
    RequestId::new(n).unwrap()
}
fn sub(n: u64) -> SubscriptionId {
    SubscriptionId::new(n).unwrap()
}
fn reg(n: u64) -> RegistrationId {
    RegistrationId::new(n).unwrap()
}
fn publication(n: u64) -> PublicationId {
    PublicationId::new(n).unwrap()
}

/// The first word of a `Debug` rendering: the variant name.
fn variant<T: Debug>(x: &T) -> String {
    let s = format!("{x:?}");
    let end = s.find(['(', ' ', '{']).unwrap_or(s.len());
    s[..end].to_owned()
}

/// A message as the tables name it: its kind, and the URI of ABORT, GOODBYE and ERROR.
fn label(m: &Message) -> String {
    match m {
        Message::Abort(a) => format!("ABORT {}", a.reason),
        Message::Goodbye(g) => format!("GOODBYE {}", g.reason),
        Message::Error(e) => format!("ERROR {}", e.error),
        other => other.kind().name().to_owned(),
    }
}

/// Checks that `m` is well-formed: every serializer encodes it and decodes it back unchanged.
fn well_formed(m: &Message) {
    for s in [
        Serializer::Json,
        Serializer::MsgPack,
        Serializer::Cbor,
        Serializer::Ubjson,
    ] {
        let bytes = s
            .encode_to_vec(m)
            .unwrap_or_else(|e| panic!("{s:?} encodes {m:?}: {e}"));
        assert_eq!(s.decode(&bytes).as_ref(), Ok(m), "{s:?} round trip");
    }
}

/// Every kind appears exactly once in a table.
fn assert_every_kind_once(kinds: impl Iterator<Item = MessageKind>) {
    let listed: Vec<MessageKind> = kinds.collect();
    let set: BTreeSet<MessageKind> = listed.iter().copied().collect();
    assert_eq!(set.len(), listed.len(), "a kind is listed twice");
    let all: BTreeSet<MessageKind> = MessageKind::ALL.into_iter().collect();
    assert_eq!(set, all, "the table must list every message kind");
}

/// Compares the mismatching cells with the expected-failure list; fails on any difference.
fn check_disagreements<C: Ord + Copy + Debug>(
    mismatches: &[(C, MessageKind, String)],
    known: &[(C, MessageKind, &str)],
) {
    let found: BTreeSet<(C, MessageKind)> = mismatches.iter().map(|(c, k, _)| (*c, *k)).collect();
    let listed: BTreeSet<(C, MessageKind)> = known.iter().map(|(c, k, _)| (*c, *k)).collect();
    let report: String = mismatches
        .iter()
        .map(|(_, _, m)| format!("{m}\n"))
        .collect();
    assert!(
        found.is_subset(&listed),
        "cells disagreeing with the table (not in the expected-failure list):\n{report}"
    );
    let fixed: Vec<_> = listed.difference(&found).collect();
    assert!(
        fixed.is_empty(),
        "listed as disagreeing but now agreeing (remove them from the list): {fixed:?}"
    );
}

// =============================================================================================
// Client: router-to-client direction (and misdirected client-to-router kinds)
// =============================================================================================

/// What a client session does with one message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum C {
    /// ABORT `wamp.error.protocol_violation`, every pending request `Lost`, `Closed`, then
    /// `Close` of the transport; state `Closed`.
    Violation,
    /// Nothing at all; the state is unchanged.
    Ignored,
    /// Exactly this one event (by variant name), nothing sent, state unchanged.
    Event(&'static str),
    /// WELCOME accepted: `Joined`, state `Established`.
    Joined,
    /// CHALLENGE answered: AUTHENTICATE sent, state `Challenged`.
    Answer,
    /// ABORT from the router: never answered; pending requests `Lost`, `Closed`, `Close`.
    Aborted,
    /// GOODBYE from the router: GOODBYE `wamp.close.goodbye_and_out` in reply, pending
    /// requests `Lost`, `Closed`, `Close`.
    GoodbyeReply,
    /// The reply to our GOODBYE: nothing sent, pending requests `Lost`, `Closed`, `Close`.
    Left,
}

use C::{Aborted, Answer, GoodbyeReply, Ignored, Joined, Left, Violation as V};

/// The client's states, in the order of the table's columns.
const CLIENT_STATES: [SessionState; 6] = [
    SessionState::Idle,
    SessionState::HelloSent,
    SessionState::Challenged,
    SessionState::Established,
    SessionState::GoodbyeSent,
    SessionState::Closed,
];

/// The client table. Columns: Idle (nothing sent yet), HelloSent, Challenged (AUTHENTICATE
/// sent), Established, GoodbyeSent, Closed (after the GOODBYE exchange).
///
/// * Idle: HELLO "MUST be the very first message"; the router speaks only in response
///   (FEATURE-MAP 2.5), so anything it sends first is a protocol error (building_blocks.md
///   lists each router message "before session was established"). ABORT is "never replied
///   to" (sessions.md "ABORT") and there is no session to end: ignored.
/// * HelloSent / Challenged: WELCOME, CHALLENGE, ABORT allowed (FEATURE-MAP 2.5 "Allowed
///   before WELCOME"); anything else is chart transition 9 / 13 "Received other" -> failed.
///   The CHALLENGE samples name `ticket`, which the fixture offers, so they are answered
///   (authentication.md allows more than one round).
/// * Established: every router-to-client message of the four roles is handled; WELCOME,
///   CHALLENGE (building_blocks.md "after session was established") and every client-to-router
///   kind (FEATURE-MAP 1.2: wrong direction) are protocol errors; GOODBYE "MUST be answered
///   with GOODBYE" (transition 5, 6); ABORT ends the session unanswered.
/// * GoodbyeSent: transition 4 (the GOODBYE reply ends the session) and 14 ("Received other /
///   ignore"). ABORT ends the session here too (it is never answered, and the router closes).
/// * Closed: "without waiting for or processing any messages subsequently received" (Protocol
///   Errors, 2.): late messages still in flight are ignored.
#[rustfmt::skip]
const CLIENT_TABLE: [(MessageKind, [C; 6]); 25] = [
    //                 Idle       HelloSent     Challenged    Established                   GoodbyeSent  Closed
    (K::Hello,        [V,        V,            V,            V,                            Ignored,     Ignored]),
    (K::Welcome,      [V,        Joined,       Joined,       V,                            Ignored,     Ignored]),
    (K::Abort,        [Ignored,  Aborted,      Aborted,      Aborted,                      Aborted,     Ignored]),
    (K::Challenge,    [V,        Answer,       Answer,       V,                            Ignored,     Ignored]),
    (K::Authenticate, [V,        V,            V,            V,                            Ignored,     Ignored]),
    (K::Goodbye,      [V,        V,            V,            GoodbyeReply,                 Left,        Ignored]),
    (K::Error,        [V,        V,            V,            C::Event("Error"),            Ignored,     Ignored]),
    (K::Publish,      [V,        V,            V,            V,                            Ignored,     Ignored]),
    (K::Published,    [V,        V,            V,            C::Event("Published"),        Ignored,     Ignored]),
    (K::Subscribe,    [V,        V,            V,            V,                            Ignored,     Ignored]),
    (K::Subscribed,   [V,        V,            V,            C::Event("Subscribed"),       Ignored,     Ignored]),
    (K::Unsubscribe,  [V,        V,            V,            V,                            Ignored,     Ignored]),
    (K::Unsubscribed, [V,        V,            V,            C::Event("Unsubscribed"),     Ignored,     Ignored]),
    (K::Event,        [V,        V,            V,            C::Event("Event"),            Ignored,     Ignored]),
    (K::Call,         [V,        V,            V,            V,                            Ignored,     Ignored]),
    (K::Cancel,       [V,        V,            V,            V,                            Ignored,     Ignored]),
    (K::Result,       [V,        V,            V,            C::Event("Result"),           Ignored,     Ignored]),
    (K::Register,     [V,        V,            V,            V,                            Ignored,     Ignored]),
    (K::Registered,   [V,        V,            V,            C::Event("Registered"),       Ignored,     Ignored]),
    (K::Unregister,   [V,        V,            V,            V,                            Ignored,     Ignored]),
    (K::Unregistered, [V,        V,            V,            C::Event("Unregistered"),     Ignored,     Ignored]),
    (K::Invocation,   [V,        V,            V,            C::Event("Invocation"),       Ignored,     Ignored]),
    (K::Interrupt,    [V,        V,            V,            C::Event("Interrupt"),        Ignored,     Ignored]),
    (K::Yield,        [V,        V,            V,            V,                            Ignored,     Ignored]),
    (K::EventReceived,[V,        V,            V,            V,                            Ignored,     Ignored]),
];

/// Client cells where the code disagrees with [`CLIENT_TABLE`], with the spec text. Empty:
/// the one found (an ABORT in Idle was answered with an ABORT) was fixed in the client.
const CLIENT_DISAGREEMENTS: &[(SessionState, MessageKind, &str)] = &[];

// Request and resource IDs of the client fixture (see `client_in`).
const SUB_KEPT: u64 = 100;
const SUB_LEAVING: u64 = 101;
const REG_KEPT: u64 = 200;
const REG_LEAVING: u64 = 201;
const INVOCATION: u64 = 300;
const CALL_REQ: u64 = 5;
const PUBLISH_REQ: u64 = 6;
const SUBSCRIBE_REQ: u64 = 7;
const UNSUBSCRIBE_REQ: u64 = 8;
const REGISTER_REQ: u64 = 9;
const UNREGISTER_REQ: u64 = 10;

fn welcome() -> Message {
    Welcome {
        session: SessionId::new(4242).unwrap(),
        details: Dict::new().with("roles", router_roles(DEALER, BROKER)),
    }
    .into()
}

fn ticket_challenge() -> Message {
    Challenge {
        auth_method: "ticket".into(),
        extra: Dict::new(),
    }
    .into()
}

/// The sample message of each kind, as a router would send it to the client fixture: replies
/// name the fixture's pending requests, EVENT and INVOCATION its subscription and
/// registration, INTERRUPT its pending invocation. Client-to-router kinds are plain requests.
fn to_client(kind: MessageKind) -> Message {
    let none = Dict::new;
    match kind {
        K::Hello => Hello {
            realm: "realm1".into(),
            details: none().with("roles", none().with("caller", none())),
        }
        .into(),
        K::Welcome => welcome(),
        K::Abort => Abort {
            details: none().with("message", "shutting down"),
            reason: "wamp.close.system_shutdown".into(),
            payload: Payload::empty(),
        }
        .into(),
        K::Challenge => ticket_challenge(),
        K::Authenticate => Authenticate {
            signature: "secret".into(),
            extra: none(),
        }
        .into(),
        K::Goodbye => Goodbye {
            details: none(),
            reason: "wamp.close.system_shutdown".into(),
        }
        .into(),
        K::Error => Error {
            request_type: K::Call,
            request: rid(CALL_REQ),
            details: none(),
            error: "wamp.error.no_such_procedure".into(),
            payload: Payload::empty(),
        }
        .into(),
        K::Publish => Publish {
            request: rid(1),
            options: none(),
            topic: "com.example.topic".into(),
            payload: Payload::args(vec![1.into()]),
        }
        .into(),
        K::Published => Published {
            request: rid(PUBLISH_REQ),
            publication: publication(77),
        }
        .into(),
        K::Subscribe => Subscribe {
            request: rid(1),
            options: none(),
            topic: "com.example.topic".into(),
        }
        .into(),
        K::Subscribed => Subscribed {
            request: rid(SUBSCRIBE_REQ),
            subscription: sub(102),
        }
        .into(),
        K::Unsubscribe => Unsubscribe {
            request: rid(1),
            subscription: sub(SUB_KEPT),
        }
        .into(),
        K::Unsubscribed => Unsubscribed {
            request: Some(rid(UNSUBSCRIBE_REQ)),
            details: none(),
        }
        .into(),
        K::Event => Event {
            subscription: sub(SUB_KEPT),
            publication: publication(78),
            details: none(),
            payload: Payload::args(vec!["hello".into()]),
        }
        .into(),
        K::Call => Call {
            request: rid(1),
            options: none(),
            procedure: "com.example.f".into(),
            payload: Payload::empty(),
        }
        .into(),
        K::Cancel => Cancel {
            request: rid(1),
            options: none(),
        }
        .into(),
        K::Result => CallResult {
            request: rid(CALL_REQ),
            details: none(),
            payload: Payload::args(vec![5.into()]),
        }
        .into(),
        K::Register => Register {
            request: rid(1),
            options: none(),
            procedure: "com.example.f".into(),
        }
        .into(),
        K::Registered => Registered {
            request: rid(REGISTER_REQ),
            registration: reg(202),
        }
        .into(),
        K::Unregister => Unregister {
            request: rid(1),
            registration: reg(REG_KEPT),
        }
        .into(),
        K::Unregistered => Unregistered {
            request: Some(rid(UNREGISTER_REQ)),
            details: none(),
        }
        .into(),
        K::Invocation => Invocation {
            request: rid(INVOCATION + 1),
            registration: reg(REG_KEPT),
            details: none(),
            payload: Payload::args(vec![2.into()]),
        }
        .into(),
        K::Interrupt => Interrupt {
            request: rid(INVOCATION),
            options: none().with("mode", "kill"),
        }
        .into(),
        K::Yield => Yield {
            request: rid(INVOCATION),
            options: none(),
            payload: Payload::empty(),
        }
        .into(),
        K::EventReceived => EventReceived {
            publication: publication(78),
        }
        .into(),
        other => panic!("no sample message for {other}"),
    }
}

/// Drains the session during fixture set-up; fails on anything that ends it.
fn settle(c: &mut Client) -> Vec<ClientAction> {
    let actions = c.drain();
    assert!(
        !actions.iter().any(|a| matches!(a, ClientAction::Close(_))),
        "fixture set-up closed the session: {actions:?}"
    );
    actions
}

/// A client in `state`. Joining offers `ticket` authentication (so a CHALLENGE can be
/// answered). Once established it has: subscription 100, registration 200, invocation 300
/// pending, and one pending request of each kind (CALL 5, acknowledged PUBLISH 6, SUBSCRIBE 7,
/// UNSUBSCRIBE 8 of subscription 101, REGISTER 9, UNREGISTER 10 of registration 201).
/// GoodbyeSent leaves from there; Closed completes the GOODBYE exchange.
fn client_in(state: SessionState) -> Client {
    let mut c = Client::new(3);
    if state == SessionState::Idle {
        return c;
    }
    let opts = JoinOptions::anonymous("realm1")
        .authid("joe")
        .with(Authenticator::Ticket("secret".into()));
    c.s.join(c.t0, opts).unwrap();
    settle(&mut c);
    if state == SessionState::Challenged {
        c.feed(ticket_challenge());
        let sent = settle(&mut c);
        assert!(
            matches!(&sent[..], [ClientAction::Send(Message::Authenticate(_))]),
            "{sent:?}"
        );
    }
    if matches!(state, SessionState::HelloSent | SessionState::Challenged) {
        assert_eq!(c.s.state(), state);
        return c;
    }

    c.feed(welcome());
    settle(&mut c);
    let t0 = c.t0;
    let uri = Uri::from_wire;
    // Subscriptions 100 and 101, registrations 200 and 201.
    for (topic, id) in [("t.kept", SUB_KEPT), ("t.leaving", SUB_LEAVING)] {
        let r =
            c.s.subscribe(t0, uri(topic), SubscribeOptions::default())
                .unwrap();
        c.feed(Subscribed {
            request: r,
            subscription: sub(id),
        });
    }
    for (procedure, id) in [("p.kept", REG_KEPT), ("p.leaving", REG_LEAVING)] {
        let r =
            c.s.register(t0, uri(procedure), RegisterOptions::default())
                .unwrap();
        c.feed(Registered {
            request: r,
            registration: reg(id),
        });
    }
    c.feed(Invocation {
        request: rid(INVOCATION),
        registration: reg(REG_KEPT),
        details: Dict::new(),
        payload: Payload::empty(),
    });
    settle(&mut c);
    // One pending request of each kind.
    let pending = [
        c.s.call(t0, uri("f"), Payload::empty(), CallOptions::default()),
        c.s.publish(
            t0,
            uri("t.kept"),
            Payload::empty(),
            PublishOptions {
                acknowledge: true,
                ..PublishOptions::default()
            },
        ),
        c.s.subscribe(t0, uri("t.new"), SubscribeOptions::default()),
        c.s.unsubscribe(t0, sub(SUB_LEAVING)),
        c.s.register(t0, uri("p.new"), RegisterOptions::default()),
        c.s.unregister(t0, reg(REG_LEAVING)),
    ];
    let ids: Vec<RequestId> = pending.into_iter().map(Result::unwrap).collect();
    let want: Vec<RequestId> = [
        CALL_REQ,
        PUBLISH_REQ,
        SUBSCRIBE_REQ,
        UNSUBSCRIBE_REQ,
        REGISTER_REQ,
        UNREGISTER_REQ,
    ]
    .into_iter()
    .map(rid)
    .collect();
    assert_eq!(ids, want);
    settle(&mut c);
    assert_eq!(c.s.pending_requests(), 6);
    assert_eq!(c.s.pending_invocations(), 1);
    if state == SessionState::Established {
        return c;
    }

    c.s.leave(t0, None).unwrap();
    settle(&mut c);
    if state == SessionState::GoodbyeSent {
        return c;
    }
    c.feed(Goodbye {
        details: Dict::new(),
        reason: "wamp.close.goodbye_and_out".into(),
    });
    c.drain();
    assert_eq!(c.s.state(), SessionState::Closed);
    c
}

/// What a client did with one message, in the terms of the table.
#[derive(Debug, PartialEq, Eq)]
struct ClientSeen {
    sent: Vec<String>,
    /// Event variant names (`Closed(<cause>)`), without `Lost`.
    events: Vec<String>,
    lost: usize,
    close: Option<String>,
    state: SessionState,
}

fn client_seen(actions: Vec<ClientAction>, state: SessionState) -> ClientSeen {
    let mut seen = ClientSeen {
        sent: Vec::new(),
        events: Vec::new(),
        lost: 0,
        close: None,
        state,
    };
    for a in actions {
        assert!(seen.close.is_none(), "an action after Close: {a:?}");
        match a {
            ClientAction::Send(m) => seen.sent.push(label(&m)),
            ClientAction::Event(ClientEvent::Lost { .. }) => seen.lost += 1,
            ClientAction::Event(ClientEvent::Closed(info)) => seen
                .events
                .push(format!("Closed({})", variant(&info.cause))),
            ClientAction::Event(e) => seen.events.push(variant(&e)),
            ClientAction::Close(cause) => seen.close = Some(variant(&cause)),
        }
    }
    seen
}

/// What the table's outcome `expect` looks like for a client that was in `before` with
/// `pending` requests outstanding.
fn client_expected(expect: C, before: SessionState, pending: usize) -> ClientSeen {
    let mut seen = ClientSeen {
        sent: Vec::new(),
        events: Vec::new(),
        lost: 0,
        close: None,
        state: before,
    };
    let end = |seen: &mut ClientSeen, cause: &str| {
        seen.events.push(format!("Closed({cause})"));
        seen.lost = pending;
        seen.close = Some(cause.to_owned());
        seen.state = SessionState::Closed;
    };
    match expect {
        C::Violation => {
            seen.sent.push(format!("ABORT {PROTOCOL_VIOLATION}"));
            end(&mut seen, "ProtocolViolation");
        }
        C::Ignored => {}
        C::Event(name) => seen.events.push(name.to_owned()),
        C::Joined => {
            seen.events.push("Joined".into());
            seen.state = SessionState::Established;
        }
        C::Answer => {
            seen.sent.push("AUTHENTICATE".into());
            seen.state = SessionState::Challenged;
        }
        C::Aborted => end(&mut seen, "Aborted"),
        C::GoodbyeReply => {
            seen.sent.push("GOODBYE wamp.close.goodbye_and_out".into());
            end(&mut seen, "GoodbyeFromRouter");
        }
        C::Left => end(&mut seen, "Left"),
    }
    seen
}

/// Feeds `msg` to a fresh client in `state` and compares with `expect`; `Err` describes a
/// mismatch.
fn client_cell(state: SessionState, msg: Message, expect: C) -> Result<(), String> {
    well_formed(&msg);
    let mut c = client_in(state);
    let pending = c.s.pending_requests();
    let what = label(&msg);
    c.feed(msg);
    let seen = client_seen(c.drain(), c.s.state());
    let want = client_expected(expect, state, pending);
    if seen == want {
        Ok(())
    } else {
        Err(format!(
            "client {state:?} <- {what}: table says {expect:?}\n  want {want:?}\n  got  {seen:?}"
        ))
    }
}

#[test]
fn client_matrix_every_kind_in_every_state() {
    assert_every_kind_once(CLIENT_TABLE.iter().map(|(k, _)| *k));
    let mut mismatches = Vec::new();
    let mut cells = 0;
    for (kind, row) in CLIENT_TABLE {
        for (state, expect) in CLIENT_STATES.into_iter().zip(row) {
            let msg = to_client(kind);
            assert_eq!(msg.kind(), kind);
            cells += 1;
            if let Err(e) = client_cell(state, msg, expect) {
                mismatches.push((state, kind, e));
            }
        }
    }
    assert_eq!(cells, 25 * 6);
    check_disagreements(&mismatches, CLIENT_DISAGREEMENTS);
}

/// Established, with messages that refer to nothing the session knows (or to the wrong
/// kind of request). The spec makes some of them protocol errors ("ERROR with invalid
/// REQUEST.Type"); for the others the client follows Autobahn-JS (FEATURE-MAP 2.8, de facto):
/// a reply to no pending request, an EVENT for an unknown subscription and an INVOCATION for
/// an unknown registration are protocol violations, while an INTERRUPT for an unknown
/// invocation (it races with our YIELD) and a revocation of an unknown subscription or
/// registration are ignored (the client module's documented choices).
#[test]
fn client_matrix_established_unsolicited() {
    let none = Dict::new;
    let error = |request_type, request| -> Message {
        Error {
            request_type,
            request: rid(request),
            details: none(),
            error: "wamp.error.not_authorized".into(),
            payload: Payload::empty(),
        }
        .into()
    };
    let cases: Vec<(&str, Message, C)> = vec![
        ("ERROR for no request", error(K::Call, 99), V),
        (
            "ERROR whose type is not the pending request's",
            error(K::Subscribe, CALL_REQ),
            V,
        ),
        (
            "ERROR for an INVOCATION (only a callee sends those)",
            error(K::Invocation, INVOCATION),
            V,
        ),
        (
            "PUBLISHED for no request",
            Published {
                request: rid(99),
                publication: publication(1),
            }
            .into(),
            V,
        ),
        (
            "SUBSCRIBED for a CALL",
            Subscribed {
                request: rid(CALL_REQ),
                subscription: sub(5),
            }
            .into(),
            V,
        ),
        (
            "UNSUBSCRIBED for no request",
            Unsubscribed {
                request: Some(rid(99)),
                details: none(),
            }
            .into(),
            V,
        ),
        (
            "EVENT for an unknown subscription",
            Event {
                subscription: sub(999),
                publication: publication(1),
                details: none(),
                payload: Payload::empty(),
            }
            .into(),
            V,
        ),
        (
            "RESULT for no request",
            CallResult {
                request: rid(99),
                details: none(),
                payload: Payload::empty(),
            }
            .into(),
            V,
        ),
        (
            "progressive RESULT not asked for",
            CallResult {
                request: rid(CALL_REQ),
                details: none().with("progress", true),
                payload: Payload::empty(),
            }
            .into(),
            V,
        ),
        (
            "REGISTERED for no request",
            Registered {
                request: rid(99),
                registration: reg(5),
            }
            .into(),
            V,
        ),
        (
            "UNREGISTERED for no request",
            Unregistered {
                request: Some(rid(99)),
                details: none(),
            }
            .into(),
            V,
        ),
        (
            "INVOCATION for an unknown registration",
            Invocation {
                request: rid(301),
                registration: reg(999),
                details: none(),
                payload: Payload::empty(),
            }
            .into(),
            V,
        ),
        (
            "INTERRUPT for an unknown invocation",
            Interrupt {
                request: rid(999),
                options: none(),
            }
            .into(),
            Ignored,
        ),
        (
            "subscription revocation",
            Unsubscribed {
                request: None,
                details: none().with("subscription", SUB_KEPT),
            }
            .into(),
            C::Event("SubscriptionRevoked"),
        ),
        (
            "revocation of an unknown subscription",
            Unsubscribed {
                request: None,
                details: none().with("subscription", 999u64),
            }
            .into(),
            Ignored,
        ),
        (
            "registration revocation",
            Unregistered {
                request: None,
                details: none().with("registration", REG_KEPT),
            }
            .into(),
            C::Event("RegistrationRevoked"),
        ),
        (
            "revocation of an unknown registration",
            Unregistered {
                request: None,
                details: none().with("registration", 999u64),
            }
            .into(),
            Ignored,
        ),
    ];
    let failures: Vec<String> = cases
        .into_iter()
        .filter_map(|(name, msg, expect)| {
            client_cell(SessionState::Established, msg, expect)
                .err()
                .map(|e| format!("{name}: {e}"))
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

// =============================================================================================
// Router: client-to-router direction (and misdirected router-to-client kinds)
// =============================================================================================

/// Where the sending connection is in its life, as the router sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Phase {
    /// Transport open, no HELLO yet.
    Fresh,
    /// A session is established.
    Established,
    /// The client sent GOODBYE and the router answered: no session, transport kept.
    AfterGoodbye,
    /// The router sent ABORT and asked for the transport to be closed.
    Aborted,
    /// The router shut down ([`wamp_router_core::Router::shutdown`]): it sent GOODBYE
    /// `wamp.close.system_shutdown` and asked for the transport to be closed.
    ShutDown,
}

const PHASES: [Phase; 5] = [
    Phase::Fresh,
    Phase::Established,
    Phase::AfterGoodbye,
    Phase::Aborted,
    Phase::ShutDown,
];

/// What the router does with one message from the client `S` (another client `P` is joined
/// in the same realm and takes part in S's calls).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum R {
    /// S gets ABORT `wamp.error.protocol_violation` and its transport is closed; its session,
    /// if any, ends (P sees the consequences of S leaving).
    Violation,
    /// Nobody gets anything; nothing changes.
    Ignored,
    /// S gets WELCOME: a session starts.
    Welcome,
    /// S gets exactly this message (label), P nothing.
    Reply(&'static str),
    /// P gets exactly this message, S nothing.
    Forward(&'static str),
    /// S gets the first, P the second.
    Both(&'static str, &'static str),
    /// S gets GOODBYE `wamp.close.goodbye_and_out`; its session ends, the transport stays.
    GoodbyeReply,
    /// The session ends unanswered (an ABORT from the client); the transport stays.
    Ended,
}

/// The router table. Columns: Fresh, Established, AfterGoodbye, Aborted, ShutDown.
///
/// * Fresh and AfterGoodbye (a closed session on a kept transport, which building_blocks.md
///   "Transport and Session Lifetime" allows): HELLO "MUST be the very first message"
///   (FEATURE-MAP 2.5); AUTHENTICATE only answers a CHALLENGE (chart 9 "Received other");
///   GOODBYE, ERROR and the router-only kinds "before session was established" are protocol
///   errors (building_blocks.md). ABORT is "never replied to" and there is no session to end:
///   ignored.
/// * Established: chart 8 ("Received HELLO or AUTHENTICATE" -> failed); every router-to-client
///   kind (WELCOME, CHALLENGE, PUBLISHED, SUBSCRIBED, ... INTERRUPT) is in the wrong direction
///   (FEATURE-MAP 1.2) and a protocol violation; GOODBYE is answered (chart 5, 6); requests are
///   routed. ERROR from a client may only answer an INVOCATION (FEATURE-MAP 1.2); the sample
///   answers S's pending invocation and reaches the caller P. EVENT_RECEIVED (provisional,
///   acknowledged event delivery) is not announced by the router: ignored (the router's
///   documented choice).
/// * Aborted: "without waiting for or processing any messages subsequently received from the
///   peer" (Protocol Errors, 2.): everything is ignored until the transport is gone.
/// * ShutDown: the router sent GOODBYE, so its side is "shutting down": chart 14 "Received
///   other / ignore"; the GOODBYE reply (chart 4) closes the session, which the router already
///   disposed of, so it needs nothing either: everything is ignored.
#[rustfmt::skip]
const ROUTER_TABLE: [(MessageKind, [R; 5]); 25] = [
    //                 Fresh           Established                                        AfterGoodbye    Aborted     ShutDown
    (K::Hello,        [R::Welcome,    R::Violation,                                      R::Welcome,     R::Ignored, R::Ignored]),
    (K::Welcome,      [R::Violation,  R::Violation,                                      R::Violation,   R::Ignored, R::Ignored]),
    (K::Abort,        [R::Ignored,    R::Ended,                                          R::Ignored,     R::Ignored, R::Ignored]),
    (K::Challenge,    [R::Violation,  R::Violation,                                      R::Violation,   R::Ignored, R::Ignored]),
    (K::Authenticate, [R::Violation,  R::Violation,                                      R::Violation,   R::Ignored, R::Ignored]),
    (K::Goodbye,      [R::Violation,  R::GoodbyeReply,                                   R::Violation,   R::Ignored, R::Ignored]),
    (K::Error,        [R::Violation,  R::Forward("ERROR com.example.failed"),            R::Violation,   R::Ignored, R::Ignored]),
    (K::Publish,      [R::Violation,  R::Reply("PUBLISHED"),                             R::Violation,   R::Ignored, R::Ignored]),
    (K::Published,    [R::Violation,  R::Violation,                                      R::Violation,   R::Ignored, R::Ignored]),
    (K::Subscribe,    [R::Violation,  R::Reply("SUBSCRIBED"),                            R::Violation,   R::Ignored, R::Ignored]),
    (K::Subscribed,   [R::Violation,  R::Violation,                                      R::Violation,   R::Ignored, R::Ignored]),
    (K::Unsubscribe,  [R::Violation,  R::Reply("UNSUBSCRIBED"),                          R::Violation,   R::Ignored, R::Ignored]),
    (K::Unsubscribed, [R::Violation,  R::Violation,                                      R::Violation,   R::Ignored, R::Ignored]),
    (K::Event,        [R::Violation,  R::Violation,                                      R::Violation,   R::Ignored, R::Ignored]),
    (K::Call,         [R::Violation,  R::Forward("INVOCATION"),                          R::Violation,   R::Ignored, R::Ignored]),
    (K::Cancel,       [R::Violation,  R::Both("ERROR wamp.error.canceled", "INTERRUPT"), R::Violation,   R::Ignored, R::Ignored]),
    (K::Result,       [R::Violation,  R::Violation,                                      R::Violation,   R::Ignored, R::Ignored]),
    (K::Register,     [R::Violation,  R::Reply("REGISTERED"),                            R::Violation,   R::Ignored, R::Ignored]),
    (K::Registered,   [R::Violation,  R::Violation,                                      R::Violation,   R::Ignored, R::Ignored]),
    (K::Unregister,   [R::Violation,  R::Reply("UNREGISTERED"),                          R::Violation,   R::Ignored, R::Ignored]),
    (K::Unregistered, [R::Violation,  R::Violation,                                      R::Violation,   R::Ignored, R::Ignored]),
    (K::Invocation,   [R::Violation,  R::Violation,                                      R::Violation,   R::Ignored, R::Ignored]),
    (K::Interrupt,    [R::Violation,  R::Violation,                                      R::Violation,   R::Ignored, R::Ignored]),
    (K::Yield,        [R::Violation,  R::Forward("RESULT"),                              R::Violation,   R::Ignored, R::Ignored]),
    (K::EventReceived,[R::Violation,  R::Ignored,                                        R::Violation,   R::Ignored, R::Ignored]),
];

/// Router cells where the code disagrees with [`ROUTER_TABLE`], with the spec text.
/// (The router is another helper's; disagreements are reported, not fixed here.)
const ROUTER_DISAGREEMENTS: &[(Phase, MessageKind, &str)] = &[];

/// What P sees when S's established session ends in the fixture: its CALL to S's procedure
/// fails, and the invocation S's CALL started at P is interrupted (P announced call
/// canceling). Sorted.
const PEER_ON_LEAVE: &[&str] = &["ERROR wamp.error.canceled", "INTERRUPT"];

/// The router fixture: `s` sends the cell's message; `p` is a joined peer.
struct RouterFx {
    sim: Sim,
    s: usize,
    p: usize,
    /// S's pending INVOCATION (P's CALL of `s.proc`).
    invocation: RequestId,
    /// S's subscription to `s.topic`.
    subscription: SubscriptionId,
    /// S's registration of `s.other` (no call pending on it).
    registration: RegistrationId,
    /// S's pending CALL of `p.proc`.
    call: RequestId,
    /// P's registration of `p.proc`.
    peer_registration: RegistrationId,
}

fn register(sim: &mut Sim, i: usize, procedure: &str) -> RegistrationId {
    let request = sim.next_req(i);
    sim.send(
        i,
        Register {
            request,
            options: Dict::new(),
            procedure: Uri::from_wire(procedure),
        },
    );
    match sim.recv(i) {
        Message::Registered(r) => r.registration,
        other => panic!("{other:?}"),
    }
}

fn call(sim: &mut Sim, i: usize, procedure: &str) -> RequestId {
    let request = sim.next_req(i);
    sim.send(
        i,
        Call {
            request,
            options: Dict::new(),
            procedure: Uri::from_wire(procedure),
            payload: Payload::empty(),
        },
    );
    request
}

fn invocation_at(sim: &mut Sim, i: usize) -> RequestId {
    match sim.recv(i) {
        Message::Invocation(inv) => inv.request,
        other => panic!("{other:?}"),
    }
}

fn router_in(phase: Phase) -> RouterFx {
    let mut sim = Sim::realm1(7);
    let p = sim.join(Serializer::Json);
    let one = rid(1);
    if phase == Phase::Fresh {
        let s = sim.connect(Serializer::MsgPack);
        return RouterFx {
            sim,
            s,
            p,
            invocation: one,
            subscription: sub(1),
            registration: reg(1),
            call: one,
            peer_registration: reg(1),
        };
    }
    let s = sim.join(Serializer::MsgPack);
    let peer_registration = register(&mut sim, p, "p.proc");
    register(&mut sim, s, "s.proc");
    let registration = register(&mut sim, s, "s.other");
    let request = sim.next_req(s);
    sim.send(
        s,
        Subscribe {
            request,
            options: Dict::new(),
            topic: "s.topic".into(),
        },
    );
    let subscription = match sim.recv(s) {
        Message::Subscribed(m) => m.subscription,
        other => panic!("{other:?}"),
    };
    call(&mut sim, p, "s.proc");
    let invocation = invocation_at(&mut sim, s);
    let call = call(&mut sim, s, "p.proc");
    invocation_at(&mut sim, p);
    sim.assert_quiet(s);
    sim.assert_quiet(p);
    let mut fx = RouterFx {
        sim,
        s,
        p,
        invocation,
        subscription,
        registration,
        call,
        peer_registration,
    };
    match phase {
        Phase::Fresh | Phase::Established => {}
        Phase::AfterGoodbye => {
            let reply = fx.sim.goodbye(s);
            assert_eq!(label(&reply), "GOODBYE wamp.close.goodbye_and_out");
            fx.sim.recv_all(p);
            assert_eq!(fx.sim.router.session_of(fx.sim.clients[s].conn), None);
        }
        Phase::Aborted => {
            // A WELCOME from a client: a protocol violation.
            fx.sim.send(s, welcome());
            let got: Vec<String> = fx.sim.recv_all(s).iter().map(label).collect();
            assert_eq!(got, [format!("ABORT {PROTOCOL_VIOLATION}")]);
            assert!(fx.sim.clients[s].closed_by_router);
            fx.sim.recv_all(p);
        }
        Phase::ShutDown => {
            let now = fx.sim.now;
            fx.sim.router.shutdown(now);
            fx.sim.pump();
            // P is shut down first: S may first get what P's leaving causes.
            let got: Vec<String> = fx.sim.recv_all(s).iter().map(label).collect();
            assert_eq!(
                got.last().map(String::as_str),
                Some("GOODBYE wamp.close.system_shutdown"),
                "{got:?}"
            );
            assert!(fx.sim.clients[s].closed_by_router);
            assert!(fx.sim.clients[p].closed_by_router);
            fx.sim.recv_all(p);
        }
    }
    fx
}

/// The sample message of each kind, as client S sends it in the fixture: requests are new
/// (fresh request IDs) and name S's own resources; YIELD and ERROR answer S's pending
/// invocation; CANCEL (`killnowait`) names S's pending call. Router-to-client kinds are
/// plausible router messages.
fn to_router(kind: MessageKind, fx: &mut RouterFx) -> Message {
    let none = Dict::new;
    let s = fx.s;
    match kind {
        K::Hello => Hello {
            realm: "realm1".into(),
            details: none().with("roles", crate::sim::full_roles()),
        }
        .into(),
        K::Welcome => welcome(),
        K::Abort => Abort {
            details: none(),
            reason: "wamp.close.system_shutdown".into(),
            payload: Payload::empty(),
        }
        .into(),
        K::Challenge => ticket_challenge(),
        K::Authenticate => Authenticate {
            signature: "secret".into(),
            extra: none(),
        }
        .into(),
        K::Goodbye => Goodbye {
            details: none(),
            reason: "wamp.close.close_realm".into(),
        }
        .into(),
        K::Error => Error {
            request_type: K::Invocation,
            request: fx.invocation,
            details: none(),
            error: "com.example.failed".into(),
            payload: Payload::empty(),
        }
        .into(),
        K::Publish => Publish {
            request: fx.sim.next_req(s),
            options: none().with("acknowledge", true),
            topic: "x.topic".into(),
            payload: Payload::args(vec![1.into()]),
        }
        .into(),
        K::Published => Published {
            request: fx.call,
            publication: publication(5),
        }
        .into(),
        K::Subscribe => Subscribe {
            request: fx.sim.next_req(s),
            options: none(),
            topic: "x.topic".into(),
        }
        .into(),
        K::Subscribed => Subscribed {
            request: fx.call,
            subscription: sub(5),
        }
        .into(),
        K::Unsubscribe => Unsubscribe {
            request: fx.sim.next_req(s),
            subscription: fx.subscription,
        }
        .into(),
        K::Unsubscribed => Unsubscribed {
            request: Some(fx.call),
            details: none(),
        }
        .into(),
        K::Event => Event {
            subscription: fx.subscription,
            publication: publication(5),
            details: none(),
            payload: Payload::empty(),
        }
        .into(),
        K::Call => Call {
            request: fx.sim.next_req(s),
            options: none(),
            procedure: "p.proc".into(),
            payload: Payload::empty(),
        }
        .into(),
        K::Cancel => Cancel {
            request: fx.call,
            options: none().with("mode", "killnowait"),
        }
        .into(),
        K::Result => CallResult {
            request: fx.call,
            details: none(),
            payload: Payload::empty(),
        }
        .into(),
        K::Register => Register {
            request: fx.sim.next_req(s),
            options: none(),
            procedure: "x.proc".into(),
        }
        .into(),
        K::Registered => Registered {
            request: fx.call,
            registration: reg(5),
        }
        .into(),
        K::Unregister => Unregister {
            request: fx.sim.next_req(s),
            registration: fx.registration,
        }
        .into(),
        K::Unregistered => Unregistered {
            request: Some(fx.call),
            details: none(),
        }
        .into(),
        K::Invocation => Invocation {
            request: fx.call,
            registration: fx.registration,
            details: none(),
            payload: Payload::empty(),
        }
        .into(),
        K::Interrupt => Interrupt {
            request: fx.call,
            options: none(),
        }
        .into(),
        K::Yield => Yield {
            request: fx.invocation,
            options: none(),
            payload: Payload::args(vec![3.into()]),
        }
        .into(),
        K::EventReceived => EventReceived {
            publication: publication(5),
        }
        .into(),
        other => panic!("no sample message for {other}"),
    }
}

/// What the router did with one message from S, in the terms of the table.
#[derive(Debug, PartialEq, Eq)]
struct RouterSeen {
    to_s: Vec<String>,
    /// Sorted.
    to_p: Vec<String>,
    close: Option<String>,
    joined: bool,
}

fn router_expected(expect: R, phase: Phase, joined_before: bool) -> RouterSeen {
    let leave = || -> Vec<String> {
        if phase == Phase::Established {
            PEER_ON_LEAVE.iter().map(|s| (*s).to_owned()).collect()
        } else {
            Vec::new()
        }
    };
    let own = |s: &str| vec![s.to_owned()];
    let mut seen = RouterSeen {
        to_s: Vec::new(),
        to_p: Vec::new(),
        close: None,
        joined: joined_before,
    };
    match expect {
        R::Violation => {
            seen.to_s = own(&format!("ABORT {PROTOCOL_VIOLATION}"));
            seen.to_p = leave();
            seen.close = Some("ProtocolViolation".into());
            seen.joined = false;
        }
        R::Ignored => {}
        R::Welcome => {
            seen.to_s = own("WELCOME");
            seen.joined = true;
        }
        R::Reply(m) => seen.to_s = own(m),
        R::Forward(m) => seen.to_p = own(m),
        R::Both(a, b) => {
            seen.to_s = own(a);
            seen.to_p = own(b);
        }
        R::GoodbyeReply => {
            seen.to_s = own("GOODBYE wamp.close.goodbye_and_out");
            seen.to_p = leave();
            seen.joined = false;
        }
        R::Ended => {
            seen.to_p = leave();
            seen.joined = false;
        }
    }
    seen
}

/// Sends `msg` from S in a fresh fixture of `phase` and compares with `expect`.
fn router_cell(
    phase: Phase,
    make: impl FnOnce(&mut RouterFx) -> Message,
    expect: R,
) -> Result<(), String> {
    let mut fx = router_in(phase);
    let msg = make(&mut fx);
    well_formed(&msg);
    let what = label(&msg);
    let s = fx.s;
    let conn = fx.sim.clients[s].conn;
    let joined_before = fx.sim.router.session_of(conn).is_some();
    let closed_before = fx.sim.clients[s].closed_by_router;
    let trace_before = fx.sim.trace.len();
    fx.sim.send(s, msg);
    let mut to_p: Vec<String> = fx.sim.recv_all(fx.p).iter().map(label).collect();
    to_p.sort();
    let close_line = format!(" close c{s} ");
    let close = if !closed_before && fx.sim.clients[s].closed_by_router {
        fx.sim.trace[trace_before..]
            .iter()
            .find_map(|l| l.split_once(&close_line).map(|(_, r)| r.to_owned()))
    } else {
        None
    };
    let seen = RouterSeen {
        to_s: fx.sim.recv_all(s).iter().map(label).collect(),
        to_p,
        close,
        joined: fx.sim.router.session_of(conn).is_some(),
    };
    let want = router_expected(expect, phase, joined_before);
    if seen == want {
        Ok(())
    } else {
        Err(format!(
            "router {phase:?} <- {what}: table says {expect:?}\n  want {want:?}\n  got  {seen:?}"
        ))
    }
}

#[test]
fn router_matrix_every_kind_in_every_phase() {
    assert_every_kind_once(ROUTER_TABLE.iter().map(|(k, _)| *k));
    let mut mismatches = Vec::new();
    let mut cells = 0;
    for (kind, row) in ROUTER_TABLE {
        for (phase, expect) in PHASES.into_iter().zip(row) {
            cells += 1;
            let make = |fx: &mut RouterFx| {
                let m = to_router(kind, fx);
                assert_eq!(m.kind(), kind);
                m
            };
            if let Err(e) = router_cell(phase, make, expect) {
                mismatches.push((phase, kind, e));
            }
        }
    }
    assert_eq!(cells, 25 * 5);
    check_disagreements(&mismatches, ROUTER_DISAGREEMENTS);
}

/// Established, with requests that name nothing S owns or answer nothing pending:
/// well-formed requests that fail get an ERROR with the spec's URI (FEATURE-MAP 2.8 decision
/// table); replies to invocations that do not exist, and ERRORs of a type a client may not
/// send, are protocol violations ("YIELD message with invalid INVOCATION.Request", "ERROR
/// message with invalid REQUEST.Type"); a CANCEL of a call that is not pending is ignored
/// (FEATURE-MAP 3.3: unspecified, ignore it), as is an unacknowledged PUBLISH nobody receives.
#[test]
fn router_matrix_established_unsolicited() {
    type Make = fn(&mut RouterFx) -> Message;
    let cases: Vec<(&str, Make, R)> = vec![
        (
            "UNSUBSCRIBE of an unknown subscription",
            |fx| {
                Unsubscribe {
                    request: fx.sim.next_req(fx.s),
                    subscription: sub(999),
                }
                .into()
            },
            R::Reply("ERROR wamp.error.no_such_subscription"),
        ),
        (
            "UNREGISTER of an unknown registration",
            |fx| {
                Unregister {
                    request: fx.sim.next_req(fx.s),
                    registration: reg(999),
                }
                .into()
            },
            R::Reply("ERROR wamp.error.no_such_registration"),
        ),
        (
            "UNREGISTER of another session's registration",
            |fx| {
                Unregister {
                    request: fx.sim.next_req(fx.s),
                    registration: fx.peer_registration,
                }
                .into()
            },
            R::Reply("ERROR wamp.error.no_such_registration"),
        ),
        (
            "CALL of an unknown procedure",
            |fx| {
                Call {
                    request: fx.sim.next_req(fx.s),
                    options: Dict::new(),
                    procedure: "no.such.proc".into(),
                    payload: Payload::empty(),
                }
                .into()
            },
            R::Reply("ERROR wamp.error.no_such_procedure"),
        ),
        (
            "REGISTER of a procedure already registered",
            |fx| {
                Register {
                    request: fx.sim.next_req(fx.s),
                    options: Dict::new(),
                    procedure: "p.proc".into(),
                }
                .into()
            },
            R::Reply("ERROR wamp.error.procedure_already_exists"),
        ),
        (
            "SUBSCRIBE to an invalid URI",
            |fx| {
                Subscribe {
                    request: fx.sim.next_req(fx.s),
                    options: Dict::new(),
                    topic: "bad..uri".into(),
                }
                .into()
            },
            R::Reply("ERROR wamp.error.invalid_uri"),
        ),
        (
            "unacknowledged PUBLISH",
            |fx| {
                Publish {
                    request: fx.sim.next_req(fx.s),
                    options: Dict::new(),
                    topic: "x.topic".into(),
                    payload: Payload::empty(),
                }
                .into()
            },
            R::Ignored,
        ),
        (
            "CANCEL of a call that is not pending",
            |_| {
                Cancel {
                    request: rid(999),
                    options: Dict::new(),
                }
                .into()
            },
            R::Ignored,
        ),
        (
            "YIELD for an unknown invocation",
            |_| {
                Yield {
                    request: rid(999),
                    options: Dict::new(),
                    payload: Payload::empty(),
                }
                .into()
            },
            R::Violation,
        ),
        (
            "ERROR for an unknown invocation",
            |_| {
                Error {
                    request_type: K::Invocation,
                    request: rid(999),
                    details: Dict::new(),
                    error: "com.example.failed".into(),
                    payload: Payload::empty(),
                }
                .into()
            },
            R::Violation,
        ),
        (
            "ERROR with REQUEST.Type CALL",
            |fx| {
                Error {
                    request_type: K::Call,
                    request: fx.invocation,
                    details: Dict::new(),
                    error: "com.example.failed".into(),
                    payload: Payload::empty(),
                }
                .into()
            },
            R::Violation,
        ),
    ];
    let failures: Vec<String> = cases
        .into_iter()
        .filter_map(|(name, make, expect)| {
            router_cell(Phase::Established, make, expect)
                .err()
                .map(|e| format!("{name}: {e}"))
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
