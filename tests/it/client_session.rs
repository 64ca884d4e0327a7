//! The client session driven through its public API: every option of every role, checked on
//! the wire (JSON) and in the events the application sees.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use wamp_proto::client::*;
use wamp_proto::id::{PublicationId, RegistrationId, RequestId, SessionId, SubscriptionId};
use wamp_proto::message::*;
use wamp_proto::{Dict, MatchPolicy, Message, Payload, SeededEntropy, Serializer, Uri, Value};

pub(crate) struct Client {
    pub(crate) s: Session,
    pub(crate) t0: Instant,
}

pub(crate) fn router_roles(dealer: &[&str], broker: &[&str]) -> Dict {
    let f = |names: &[&str]| -> Value {
        Dict::new()
            .with(
                "features",
                names.iter().map(|n| (*n, true)).collect::<Dict>(),
            )
            .into()
    };
    Dict::new()
        .with("broker", f(broker))
        .with("dealer", f(dealer))
}

pub(crate) const DEALER: &[&str] = &[
    "call_canceling",
    "call_timeout",
    "caller_identification",
    "progressive_call_results",
    "progressive_call_invocations",
    "pattern_based_registration",
    "shared_registration",
    "registration_revocation",
    "payload_passthru_mode",
];
pub(crate) const BROKER: &[&str] = &[
    "pattern_based_subscription",
    "publisher_exclusion",
    "publisher_identification",
    "subscriber_blackwhite_listing",
    "subscription_revocation",
    "event_retention",
    "payload_passthru_mode",
];

pub(crate) fn json(m: &Message) -> String {
    String::from_utf8(Serializer::Json.encode_to_vec(m).unwrap()).unwrap()
}

pub(crate) fn rid(n: u64) -> RequestId {
    RequestId::new(n).unwrap()
}

impl Client {
    // The virtual clock's origin: the one real instant the test reads.
    #[allow(clippy::disallowed_methods)]
    pub(crate) fn new(seed: u64) -> Self {
        Client {
            s: Session::new(ClientConfig::default(), Box::new(SeededEntropy::new(seed))),
            t0: Instant::now(),
        }
    }

    pub(crate) fn joined_with(roles: Dict) -> Self {
        let mut c = Client::new(1);
        c.s.join(c.t0, JoinOptions::anonymous("realm1")).unwrap();
        c.feed(Welcome {
            session: SessionId::new(4242).unwrap(),
            details: Dict::new().with("roles", roles),
        });
        c.drain();
        c
    }

    pub(crate) fn joined() -> Self {
        Self::joined_with(router_roles(DEALER, BROKER))
    }

    pub(crate) fn drain(&mut self) -> Vec<ClientAction> {
        std::iter::from_fn(|| self.s.poll_action()).collect()
    }

    /// The JSON of the messages sent since the last drain (events are dropped).
    pub(crate) fn wire(&mut self) -> Vec<String> {
        self.drain()
            .iter()
            .filter_map(|a| match a {
                ClientAction::Send(m) => Some(json(m)),
                _ => None,
            })
            .collect()
    }

    pub(crate) fn events(&mut self) -> Vec<ClientEvent> {
        self.drain()
            .into_iter()
            .filter_map(|a| match a {
                ClientAction::Event(e) => Some(e),
                _ => None,
            })
            .collect()
    }

    pub(crate) fn feed(&mut self, m: impl Into<Message>) {
        self.s.handle_message(self.t0, m.into());
    }

    /// Feeds a message given as JSON text, as the router would send it.
    pub(crate) fn feed_json(&mut self, text: &str) {
        let m = Serializer::Json.decode(text.as_bytes()).unwrap();
        self.feed(m);
    }

    fn assert_violation(&mut self) {
        let a = self.drain();
        assert!(
            matches!(&a[0], ClientAction::Send(Message::Abort(m)) if m.reason == "wamp.error.protocol_violation"),
            "{a:?}"
        );
        assert!(matches!(
            a.last(),
            Some(ClientAction::Close(CloseCause::ProtocolViolation(_)))
        ));
    }

    fn register(&mut self, uri: &str, opts: RegisterOptions, reg: u64) -> RegistrationId {
        let r = self.s.register(self.t0, Uri::from_wire(uri), opts).unwrap();
        self.drain();
        let registration = RegistrationId::new(reg).unwrap();
        self.feed(Registered {
            request: r,
            registration,
        });
        self.drain();
        registration
    }

    fn subscribe(&mut self, uri: &str, opts: SubscribeOptions, sub: u64) -> SubscriptionId {
        let r = self
            .s
            .subscribe(self.t0, Uri::from_wire(uri), opts)
            .unwrap();
        self.drain();
        let subscription = SubscriptionId::new(sub).unwrap();
        self.feed(Subscribed {
            request: r,
            subscription,
        });
        self.drain();
        subscription
    }
}

fn one<T: std::fmt::Debug>(mut v: Vec<T>) -> T {
    assert_eq!(v.len(), 1, "{v:?}");
    v.remove(0)
}

// =============================================================================================
// Caller
// =============================================================================================

#[test]
fn call_with_every_option() {
    let mut c = Client::joined();
    let opts = CallOptions {
        timeout: Some(Duration::from_millis(1500)),
        receive_progress: true,
        disclose_me: true,
        progress: false,
        passthru: Some(Passthru {
            scheme: "mqtt".into(),
            serializer: Some("native".into()),
            cipher: Some("xsalsa20poly1305".into()),
            keyid: Some("key1".into()),
        }),
        extra: Dict::new().with("_x_custom", "v"),
    };
    let r =
        c.s.call(
            c.t0,
            "com.example.f".into(),
            Payload::Transparent(vec![1, 2]),
            opts,
        )
        .unwrap();
    assert_eq!(r, rid(1));
    assert_eq!(
        c.wire(),
        [concat!(
            r#"[48,1,{"_x_custom":"v","timeout":1500,"receive_progress":true,"disclose_me":true,"#,
            r#""ppt_scheme":"mqtt","ppt_serializer":"native","ppt_cipher":"xsalsa20poly1305","ppt_keyid":"key1"},"#,
            r#""com.example.f","\u0000AQI="]"#
        )]
    );
}

#[test]
fn progressive_and_final_results() {
    let mut c = Client::joined();
    let opts = CallOptions {
        receive_progress: true,
        ..CallOptions::default()
    };
    let r = c.s.call(c.t0, "f".into(), Payload::empty(), opts).unwrap();
    c.drain();
    c.feed_json(r#"[50,1,{"progress":true},[1]]"#);
    c.feed_json(r#"[50,1,{"progress":true},[2]]"#);
    c.feed_json(r#"[50,1,{},[3],{"k":"v"}]"#);
    let ev = c.events();
    assert_eq!(ev.len(), 3);
    for (e, n) in ev[..2].iter().zip([1u64, 2]) {
        match e {
            ClientEvent::Progress(o) => {
                assert_eq!(o.request, r);
                assert_eq!(o.payload.arguments(), &[Value::from(n)]);
            }
            other => panic!("{other:?}"),
        }
    }
    match &ev[2] {
        ClientEvent::Result(o) => {
            assert_eq!(
                o.payload.keyword_arguments().unwrap().get_str("k"),
                Some("v")
            )
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(c.s.pending_requests(), 0);
    // A second final RESULT is a reply to nothing.
    c.feed_json(r#"[50,1,{}]"#);
    c.assert_violation();
}

#[test]
fn unrequested_progress_is_a_violation() {
    let mut c = Client::joined();
    c.s.call(c.t0, "f".into(), Payload::empty(), CallOptions::default())
        .unwrap();
    c.drain();
    c.feed_json(r#"[50,1,{"progress":true}]"#);
    c.assert_violation();
}

#[test]
fn call_error() {
    let mut c = Client::joined();
    let r =
        c.s.call(c.t0, "f".into(), Payload::empty(), CallOptions::default())
            .unwrap();
    c.drain();
    c.feed_json(r#"[8,48,1,{"x":1},"com.example.oops",["why"]]"#);
    match one(c.events()) {
        ClientEvent::Error(e) => {
            assert_eq!(e.request, r);
            assert_eq!(e.kind, RequestKind::Call);
            assert_eq!(e.error, "com.example.oops");
            assert_eq!(e.details.get_u64("x"), Some(1));
            assert_eq!(e.payload.arguments(), &[Value::from("why")]);
        }
        other => panic!("{other:?}"),
    }
    // ERROR with the wrong request type for a pending request is a violation.
    c.s.call(c.t0, "f".into(), Payload::empty(), CallOptions::default())
        .unwrap();
    c.drain();
    c.feed_json(r#"[8,32,2,{},"wamp.error.not_authorized"]"#);
    c.assert_violation();
}

#[test]
fn cancel_every_mode() {
    for (mode, wire) in [
        (CancelMode::Skip, "skip"),
        (CancelMode::Kill, "kill"),
        (CancelMode::KillNoWait, "killnowait"),
    ] {
        let mut c = Client::joined();
        let r =
            c.s.call(c.t0, "f".into(), Payload::empty(), CallOptions::default())
                .unwrap();
        c.drain();
        c.s.cancel(c.t0, r, mode).unwrap();
        assert_eq!(c.wire(), [format!(r#"[49,1,{{"mode":"{wire}"}}]"#)]);
        assert_eq!(c.s.cancel(c.t0, r, mode), Err(UsageError::AlreadyCancelled));
        if mode == CancelMode::Kill {
            // The callee may still answer; the caller gets that.
            c.feed_json(r#"[50,1,{},["late but fine"]]"#);
            assert!(matches!(one(c.events()), ClientEvent::Result(_)));
        } else {
            c.feed_json(r#"[8,48,1,{},"wamp.error.canceled"]"#);
            match one(c.events()) {
                ClientEvent::Error(e) => assert_eq!(e.error, "wamp.error.canceled"),
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(c.s.pending_requests(), 0);
        assert_eq!(
            c.s.cancel(c.t0, r, mode),
            Err(UsageError::UnknownRequest(r))
        );
    }
}

#[test]
fn cancel_needs_router_support() {
    let mut c = Client::joined_with(router_roles(&[], &[]));
    let r =
        c.s.call(c.t0, "f".into(), Payload::empty(), CallOptions::default())
            .unwrap();
    assert_eq!(
        c.s.cancel(c.t0, r, CancelMode::Skip),
        Err(UsageError::FeatureNotSupported("call_canceling"))
    );
    let opts = CallOptions {
        progress: true,
        ..CallOptions::default()
    };
    assert_eq!(
        c.s.call(c.t0, "f".into(), Payload::empty(), opts),
        Err(UsageError::FeatureNotSupported(
            "progressive_call_invocations"
        ))
    );
    let opts = CallOptions {
        passthru: Some(Passthru {
            scheme: "x_mine".into(),
            ..Passthru::default()
        }),
        ..CallOptions::default()
    };
    assert_eq!(
        c.s.call(c.t0, "f".into(), Payload::empty(), opts),
        Err(UsageError::FeatureNotSupported("payload_passthru_mode"))
    );
}

#[test]
fn progressive_call_invocations_as_caller() {
    let mut c = Client::joined();
    let opts = CallOptions {
        progress: true,
        receive_progress: true,
        ..CallOptions::default()
    };
    let r =
        c.s.call(c.t0, "f".into(), Payload::args(vec![1.into()]), opts)
            .unwrap();
    c.s.call_progress(c.t0, r, Payload::args(vec![2.into()]), true)
        .unwrap();
    c.s.call_progress(c.t0, r, Payload::args(vec![3.into()]), false)
        .unwrap();
    assert_eq!(
        c.s.call_progress(c.t0, r, Payload::empty(), false),
        Err(UsageError::CallInputClosed)
    );
    assert_eq!(
        c.wire(),
        [
            r#"[48,1,{"receive_progress":true,"progress":true},"f",[1]]"#,
            r#"[48,1,{"progress":true},"f",[2]]"#,
            r#"[48,1,{},"f",[3]]"#,
        ]
    );
    c.feed_json(r#"[50,1,{},[6]]"#);
    assert!(matches!(one(c.events()), ClientEvent::Result(_)));
    // A call without `progress` takes no chunks.
    let r =
        c.s.call(c.t0, "f".into(), Payload::empty(), CallOptions::default())
            .unwrap();
    assert_eq!(
        c.s.call_progress(c.t0, r, Payload::empty(), true),
        Err(UsageError::CallInputClosed)
    );
}

#[test]
fn call_uri_checked_and_unknown_reply() {
    let mut c = Client::joined();
    assert_eq!(
        c.s.call(
            c.t0,
            Uri::from_wire("a..b"),
            Payload::empty(),
            CallOptions::default()
        ),
        Err(UsageError::InvalidUri)
    );
    c.feed_json(r#"[50,77,{}]"#);
    c.assert_violation();
}

// =============================================================================================
// Callee
// =============================================================================================

#[test]
fn register_with_every_option() {
    let mut c = Client::joined();
    let cases = [
        (MatchPolicy::Exact, InvokePolicy::Single, r#"{}"#),
        (
            MatchPolicy::Prefix,
            InvokePolicy::First,
            r#"{"match":"prefix","invoke":"first"}"#,
        ),
        (
            MatchPolicy::Wildcard,
            InvokePolicy::Last,
            r#"{"match":"wildcard","invoke":"last"}"#,
        ),
        (
            MatchPolicy::Exact,
            InvokePolicy::RoundRobin,
            r#"{"invoke":"roundrobin"}"#,
        ),
        (
            MatchPolicy::Exact,
            InvokePolicy::Random,
            r#"{"invoke":"random"}"#,
        ),
    ];
    for (n, (m, i, wire)) in cases.into_iter().enumerate() {
        let uri = match m {
            MatchPolicy::Wildcard => "com..f",
            MatchPolicy::Prefix => "com.",
            MatchPolicy::Exact => "com.f",
        };
        c.s.register(
            c.t0,
            Uri::from_wire(uri),
            RegisterOptions {
                match_policy: m,
                invoke: i,
                ..RegisterOptions::default()
            },
        )
        .unwrap();
        assert_eq!(c.wire(), [format!(r#"[64,{},{wire},"{uri}"]"#, n + 1)]);
    }
    c.s.register(
        c.t0,
        "com.g".into(),
        RegisterOptions {
            disclose_caller: true,
            forward_timeout: true,
            ..RegisterOptions::default()
        },
    )
    .unwrap();
    assert_eq!(
        c.wire(),
        [r#"[64,6,{"disclose_caller":true,"forward_timeout":true},"com.g"]"#]
    );
    // Patterns are checked for their policy.
    assert_eq!(
        c.s.register(c.t0, Uri::from_wire("com..f"), RegisterOptions::default()),
        Err(UsageError::InvalidUri)
    );
    c.feed_json("[65,1,100]");
    assert_eq!(
        one(c.events()),
        ClientEvent::Registered {
            request: rid(1),
            registration: RegistrationId::new(100).unwrap()
        }
    );
    c.feed_json(r#"[8,64,2,{},"wamp.error.procedure_already_exists"]"#);
    assert!(matches!(one(c.events()), ClientEvent::Error(e)
        if e.kind == RequestKind::Register && e.error == "wamp.error.procedure_already_exists"));
}

#[test]
fn unregister_and_revocation() {
    let mut c = Client::joined();
    let reg = c.register("com.f", RegisterOptions::default(), 100);
    let reg2 = c.register("com.g", RegisterOptions::default(), 200);
    let r = c.s.unregister(c.t0, reg).unwrap();
    assert_eq!(c.wire(), [format!("[66,{r},100]")]);
    assert_eq!(
        c.s.unregister(c.t0, reg),
        Err(UsageError::UnknownRegistration(reg))
    );
    // Invocations still arrive until UNREGISTERED.
    c.feed_json("[68,1,100,{}]");
    assert!(matches!(one(c.events()), ClientEvent::Invocation(_)));
    c.feed_json(&format!("[67,{r}]"));
    assert_eq!(
        one(c.events()),
        ClientEvent::Unregistered {
            request: r,
            registration: reg
        }
    );
    // Router-initiated revocation.
    c.feed_json(r#"[67,0,{"registration":200,"reason":"wamp.error.unregistered"}]"#);
    assert_eq!(
        one(c.events()),
        ClientEvent::RegistrationRevoked {
            registration: reg2,
            reason: Some("wamp.error.unregistered".into())
        }
    );
    // Now invocations for either are violations.
    c.feed_json("[68,2,200,{}]");
    c.assert_violation();
}

#[test]
fn invocation_with_caller_details_and_pattern_procedure() {
    let mut c = Client::joined();
    let reg = c.register(
        "com.",
        RegisterOptions {
            match_policy: MatchPolicy::Prefix,
            disclose_caller: true,
            ..RegisterOptions::default()
        },
        100,
    );
    c.feed_json(concat!(
        r#"[68,1,100,{"caller":555,"caller_authid":"joe","caller_authrole":"admin","#,
        r#""procedure":"com.x.y","trustlevel":2},[1],{"a":true}]"#
    ));
    let ClientEvent::Invocation(inv) = one(c.events()) else {
        panic!()
    };
    assert_eq!(inv.request, rid(1));
    assert_eq!(inv.registration, reg);
    assert_eq!(inv.procedure, "com.x.y");
    assert_eq!(inv.caller(), SessionId::new(555));
    assert_eq!(inv.caller_authid(), Some("joe"));
    assert_eq!(inv.caller_authrole(), Some("admin"));
    assert_eq!(inv.trustlevel(), Some(2));
    assert!(!inv.receive_progress() && !inv.progress && !inv.continuation);
    assert_eq!(inv.payload.arguments(), &[Value::from(1)]);
    // Exact registrations report their own URI.
    c.register("com.exact", RegisterOptions::default(), 101);
    c.feed_json("[68,2,101,{}]");
    let ClientEvent::Invocation(inv) = one(c.events()) else {
        panic!()
    };
    assert_eq!(inv.procedure, "com.exact");
}

#[test]
fn yield_progressive_and_final_and_error() {
    let mut c = Client::joined();
    c.register("com.f", RegisterOptions::default(), 100);
    c.feed_json(r#"[68,1,100,{"receive_progress":true}]"#);
    c.feed_json(r#"[68,2,100,{}]"#);
    c.drain();
    let p = YieldOptions {
        progress: true,
        ..YieldOptions::default()
    };
    c.s.yield_(c.t0, rid(1), Payload::args(vec![1.into()]), p.clone())
        .unwrap();
    c.s.yield_(
        c.t0,
        rid(1),
        Payload::args(vec![2.into()]),
        YieldOptions::default(),
    )
    .unwrap();
    assert_eq!(
        c.s.yield_(c.t0, rid(2), Payload::empty(), p),
        Err(UsageError::ProgressNotRequested)
    );
    c.s.invocation_error(
        c.t0,
        rid(2),
        "com.example.bad".into(),
        Dict::new(),
        Payload::args(vec!["no".into()]),
    )
    .unwrap();
    assert_eq!(
        c.wire(),
        [
            r#"[70,1,{"progress":true},[1]]"#,
            r#"[70,1,{},[2]]"#,
            r#"[8,68,2,{},"com.example.bad",["no"]]"#,
        ]
    );
    assert_eq!(c.s.pending_invocations(), 0);
    assert_eq!(
        c.s.yield_(c.t0, rid(9), Payload::empty(), YieldOptions::default()),
        Err(UsageError::UnknownInvocation(rid(9)))
    );
}

#[test]
fn progressive_invocations_as_callee() {
    let mut c = Client::joined();
    c.register("com.f", RegisterOptions::default(), 100);
    c.feed_json(r#"[68,1,100,{"progress":true},[1]]"#);
    c.feed_json(r#"[68,1,100,{"progress":true},[2]]"#);
    c.feed_json(r#"[68,1,100,{},[3]]"#);
    let ev = c.events();
    let flags: Vec<_> = ev
        .iter()
        .map(|e| match e {
            ClientEvent::Invocation(i) => (i.progress, i.continuation),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(flags, [(true, false), (true, true), (false, true)]);
    c.s.yield_(c.t0, rid(1), Payload::empty(), YieldOptions::default())
        .unwrap();
    c.drain();
    // A late chunk of the ended invocation is dropped silently.
    c.feed_json(r#"[68,1,100,{"progress":true},[4]]"#);
    assert!(c.drain().is_empty());
    // A chunk for a pending non-progressive invocation is a violation.
    c.feed_json(r#"[68,2,100,{}]"#);
    c.drain();
    c.feed_json(r#"[68,2,100,{}]"#);
    c.assert_violation();
}

#[test]
fn interrupt_kill_and_killnowait() {
    let mut c = Client::joined();
    c.register("com.f", RegisterOptions::default(), 100);
    c.feed_json("[68,1,100,{}]");
    c.feed_json("[68,2,100,{}]");
    c.feed_json("[68,3,100,{}]");
    c.drain();
    c.feed_json(r#"[69,1,{"mode":"kill"}]"#);
    c.feed_json(r#"[69,2,{"mode":"killnowait","reason":"wamp.error.canceled"}]"#);
    c.feed_json(r#"[69,3,{}]"#);
    c.feed_json(r#"[69,99,{"mode":"kill"}]"#); // unknown: ignored
    assert_eq!(
        c.events(),
        [
            ClientEvent::Interrupt {
                request: rid(1),
                mode: InterruptMode::Kill,
                reason: None
            },
            ClientEvent::Interrupt {
                request: rid(2),
                mode: InterruptMode::KillNoWait,
                reason: Some("wamp.error.canceled".into())
            },
            ClientEvent::Interrupt {
                request: rid(3),
                mode: InterruptMode::Kill,
                reason: None
            },
        ]
    );
    assert_eq!(c.s.state(), SessionState::Established);
    // kill: the dealer waits for our answer.
    c.s.invocation_error(
        c.t0,
        rid(1),
        "wamp.error.canceled".into(),
        Dict::new(),
        Payload::empty(),
    )
    .unwrap();
    // killnowait: the invocation is gone; an answer racing with it is dropped silently.
    c.s.yield_(c.t0, rid(2), Payload::empty(), YieldOptions::default())
        .unwrap();
    assert_eq!(c.wire(), [r#"[8,68,1,{},"wamp.error.canceled"]"#]);
}

#[test]
fn forwarded_timeout_answers_timeout_error() {
    let mut c = Client::joined();
    c.register(
        "com.f",
        RegisterOptions {
            forward_timeout: true,
            ..RegisterOptions::default()
        },
        100,
    );
    c.feed_json(r#"[68,1,100,{"timeout":250}]"#);
    c.feed_json(r#"[68,2,100,{"timeout":1000}]"#);
    let ev = c.events();
    assert!(matches!(&ev[0], ClientEvent::Invocation(i) if i.timeout_ms() == Some(250)));
    let t = c.s.poll_timeout().unwrap();
    assert_eq!(t, c.t0 + Duration::from_millis(250));
    c.s.handle_timeout(t);
    let a = c.drain();
    assert!(
        matches!(&a[0], ClientAction::Send(m) if json(m) == r#"[8,68,1,{},"wamp.error.timeout"]"#)
    );
    assert_eq!(
        a[1],
        ClientAction::Event(ClientEvent::InvocationTimedOut { request: rid(1) })
    );
    // Answering the second one in time cancels its timer.
    c.s.yield_(c.t0, rid(2), Payload::empty(), YieldOptions::default())
        .unwrap();
    assert_eq!(c.s.poll_timeout(), None);
    // A late answer to the timed-out invocation is dropped.
    c.s.yield_(c.t0, rid(1), Payload::empty(), YieldOptions::default())
        .unwrap();
    assert_eq!(c.wire(), [r#"[70,2,{}]"#]);
}

// =============================================================================================
// Publisher
// =============================================================================================

#[test]
fn publish_with_every_option() {
    let mut c = Client::joined();
    let opts = PublishOptions {
        acknowledge: true,
        exclude_me: Some(false),
        exclude: vec![SessionId::new(1).unwrap()],
        exclude_authid: vec!["bob".into()],
        exclude_authrole: vec!["guest".into()],
        eligible: Some(vec![SessionId::new(2).unwrap(), SessionId::new(3).unwrap()]),
        eligible_authid: Some(vec!["alice".into()]),
        eligible_authrole: Some(vec!["user".into()]),
        disclose_me: true,
        retain: true,
        passthru: Some(Passthru {
            scheme: "wamp".into(),
            serializer: Some("cbor".into()),
            ..Passthru::default()
        }),
        extra: Dict::new(),
    };
    let r =
        c.s.publish(c.t0, "com.t".into(), Payload::Transparent(vec![0xff]), opts)
            .unwrap();
    assert_eq!(
        c.wire(),
        [concat!(
            r#"[16,1,{"acknowledge":true,"exclude_me":false,"exclude":[1],"exclude_authid":["bob"],"#,
            r#""exclude_authrole":["guest"],"eligible":[2,3],"eligible_authid":["alice"],"#,
            r#""eligible_authrole":["user"],"disclose_me":true,"retain":true,"ppt_scheme":"wamp","#,
            r#""ppt_serializer":"cbor"},"com.t","\u0000/w=="]"#
        )]
    );
    c.feed_json("[17,1,9007199254740992]");
    assert_eq!(
        one(c.events()),
        ClientEvent::Published {
            request: r,
            publication: PublicationId::new(1 << 53).unwrap()
        }
    );
    // An empty eligible list is sent (it selects nobody).
    let opts = PublishOptions {
        eligible: Some(vec![]),
        ..PublishOptions::default()
    };
    c.s.publish(c.t0, "com.t".into(), Payload::empty(), opts)
        .unwrap();
    assert_eq!(c.wire(), [r#"[16,2,{"eligible":[]},"com.t"]"#]);
}

#[test]
fn publish_unacknowledged_has_no_outcome() {
    let mut c = Client::joined();
    let r =
        c.s.publish(
            c.t0,
            "com.t".into(),
            Payload::empty(),
            PublishOptions::default(),
        )
        .unwrap();
    assert_eq!(c.wire(), [r#"[16,1,{},"com.t"]"#]);
    assert_eq!(c.s.pending_requests(), 0);
    // So a PUBLISHED for it is a violation.
    c.feed_json(&format!("[17,{r},5]"));
    c.assert_violation();
}

#[test]
fn publish_error_when_acknowledged() {
    let mut c = Client::joined();
    let opts = PublishOptions {
        acknowledge: true,
        ..PublishOptions::default()
    };
    c.s.publish(c.t0, "com.t".into(), Payload::empty(), opts)
        .unwrap();
    c.drain();
    c.feed_json(r#"[8,16,1,{},"wamp.error.not_authorized"]"#);
    assert!(matches!(one(c.events()), ClientEvent::Error(e)
        if e.kind == RequestKind::Publish && e.error == "wamp.error.not_authorized"));
}

// =============================================================================================
// Subscriber
// =============================================================================================

#[test]
fn subscribe_with_every_option() {
    let mut c = Client::joined();
    for (m, uri, wire) in [
        (MatchPolicy::Exact, "com.t", r#"{}"#),
        (MatchPolicy::Prefix, "com.", r#"{"match":"prefix"}"#),
        (MatchPolicy::Wildcard, "com..t", r#"{"match":"wildcard"}"#),
    ] {
        c.s.subscribe(
            c.t0,
            Uri::from_wire(uri),
            SubscribeOptions {
                match_policy: m,
                ..SubscribeOptions::default()
            },
        )
        .unwrap();
        let w = c.wire();
        assert_eq!(w.len(), 1);
        assert!(w[0].ends_with(&format!(r#",{wire},"{uri}"]"#)), "{w:?}");
    }
    c.s.subscribe(
        c.t0,
        "com.r".into(),
        SubscribeOptions {
            get_retained: true,
            ..SubscribeOptions::default()
        },
    )
    .unwrap();
    assert_eq!(c.wire(), [r#"[32,4,{"get_retained":true},"com.r"]"#]);
    c.feed_json("[33,1,10]");
    c.feed_json(r#"[8,32,2,{},"wamp.error.not_authorized"]"#);
    let ev = c.events();
    assert_eq!(
        ev[0],
        ClientEvent::Subscribed {
            request: rid(1),
            subscription: SubscriptionId::new(10).unwrap()
        }
    );
    assert!(matches!(&ev[1], ClientEvent::Error(e) if e.kind == RequestKind::Subscribe));
    assert_eq!(
        c.s.subscribe(c.t0, Uri::from_wire("com..t"), SubscribeOptions::default()),
        Err(UsageError::InvalidUri)
    );
}

#[test]
fn events_with_publisher_details_topic_and_retained() {
    let mut c = Client::joined();
    let exact = c.subscribe("com.t", SubscribeOptions::default(), 10);
    let prefix = c.subscribe(
        "com.",
        SubscribeOptions {
            match_policy: MatchPolicy::Prefix,
            get_retained: true,
            ..SubscribeOptions::default()
        },
        11,
    );
    c.feed_json(concat!(
        r#"[36,10,5,{"publisher":99,"publisher_authid":"joe","publisher_authrole":"user","#,
        r#""trustlevel":1},["hi"],{"k":1}]"#
    ));
    c.feed_json(r#"[36,11,5,{"topic":"com.t","retained":true},["hi"]]"#);
    let ev = c.events();
    let ClientEvent::Event(e) = &ev[0] else {
        panic!()
    };
    assert_eq!(e.subscription, exact);
    assert_eq!(e.publication, PublicationId::new(5).unwrap());
    assert_eq!(e.topic, "com.t");
    assert_eq!(e.publisher(), SessionId::new(99));
    assert_eq!(e.publisher_authid(), Some("joe"));
    assert_eq!(e.publisher_authrole(), Some("user"));
    assert_eq!(e.trustlevel(), Some(1));
    assert!(!e.retained());
    let ClientEvent::Event(e) = &ev[1] else {
        panic!()
    };
    assert_eq!(e.subscription, prefix);
    assert_eq!(e.topic, "com.t", "concrete topic of a pattern subscription");
    assert!(e.retained());
}

#[test]
fn unsubscribe_and_revocation() {
    let mut c = Client::joined();
    let a = c.subscribe("com.a", SubscribeOptions::default(), 10);
    let b = c.subscribe("com.b", SubscribeOptions::default(), 11);
    let r = c.s.unsubscribe(c.t0, a).unwrap();
    assert_eq!(c.wire(), [format!("[34,{r},10]")]);
    assert_eq!(
        c.s.unsubscribe(c.t0, a),
        Err(UsageError::UnknownSubscription(a))
    );
    c.feed_json("[36,10,1,{}]");
    assert!(matches!(one(c.events()), ClientEvent::Event(_)));
    c.feed_json(&format!("[35,{r}]"));
    assert_eq!(
        one(c.events()),
        ClientEvent::Unsubscribed {
            request: r,
            subscription: a
        }
    );
    c.feed_json(r#"[35,0,{"subscription":11,"reason":"gone"}]"#);
    assert_eq!(
        one(c.events()),
        ClientEvent::SubscriptionRevoked {
            subscription: b,
            reason: Some("gone".into())
        }
    );
    c.feed_json("[36,11,2,{}]");
    c.assert_violation();
}

#[test]
fn unsubscribe_error_keeps_the_subscription() {
    let mut c = Client::joined();
    let a = c.subscribe("com.a", SubscribeOptions::default(), 10);
    c.s.unsubscribe(c.t0, a).unwrap();
    c.drain();
    c.feed_json(r#"[8,34,2,{},"wamp.error.no_such_subscription"]"#);
    assert!(matches!(one(c.events()), ClientEvent::Error(e) if e.kind == RequestKind::Unsubscribe));
    c.s.unsubscribe(c.t0, a).unwrap();
}
