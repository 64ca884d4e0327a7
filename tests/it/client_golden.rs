//! Golden-trace determinism test of the client session: one scripted scenario (SCRAM join,
//! RPC in both directions with progress, cancel, timeouts, PubSub, leave) with seeded entropy
//! and a virtual clock. The trace must be the same on every run and equal to the committed
//! `golden/client_trace.txt` (set `UPDATE_GOLDEN=1` to rewrite it after an intended change).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use wamp_proto::auth::scram::{self, Kdf, ScramProfile};
use wamp_proto::auth::{base64_decode, base64_encode};
use wamp_proto::client::*;
use wamp_proto::{Dict, Message, SeededEntropy, Serializer};

use crate::client_session::{BROKER, DEALER, json, router_roles};

const GOLDEN: &str = "it/golden/client_trace.txt";

struct Trace {
    s: Session,
    t0: Instant,
    now: Instant,
    out: String,
    sent: Vec<Message>,
}

impl Trace {
    fn step(&mut self, label: &str) {
        writeln!(
            self.out,
            "== {label} @{}ms",
            (self.now - self.t0).as_millis()
        )
        .unwrap();
        while let Some(a) = self.s.poll_action() {
            match a {
                ClientAction::Send(m) => {
                    writeln!(self.out, "send {}", json(&m)).unwrap();
                    self.sent.push(m);
                }
                ClientAction::Event(e) => writeln!(self.out, "event {e:?}").unwrap(),
                ClientAction::Close(c) => writeln!(self.out, "close {c:?}").unwrap(),
            }
        }
        let next = self.s.poll_timeout().map(|t| (t - self.t0).as_millis());
        writeln!(self.out, "state {:?} next_timeout {next:?}", self.s.state()).unwrap();
    }

    fn router(&mut self, text: &str) {
        let m = Serializer::Json.decode(text.as_bytes()).unwrap();
        self.s.handle_message(self.now, m);
        self.step(&format!("router {text}"));
    }

    fn advance(&mut self, ms: u64) {
        self.now += Duration::from_millis(ms);
        self.s.handle_timeout(self.now);
        self.step(&format!("timeout +{ms}ms"));
    }

    fn last_sent(&self) -> &Message {
        self.sent.last().unwrap()
    }
}

fn scenario(t0: Instant) -> String {
    let mut t = Trace {
        s: Session::new(ClientConfig::default(), Box::new(SeededEntropy::new(42))),
        t0,
        now: t0,
        out: String::new(),
        sent: Vec::new(),
    };
    let opts = JoinOptions::anonymous("realm1")
        .authid("user1")
        .with(Authenticator::Scram {
            profile: ScramProfile::Autobahn,
            password: "secret123".into(),
        });
    t.s.join(t.now, opts).unwrap();
    t.step("join");

    // The router side of SCRAM, as Crossbar computes it.
    let Message::Hello(hello) = t.last_sent().clone() else {
        panic!()
    };
    let client_nonce = hello
        .details
        .get_dict("authextra")
        .unwrap()
        .get_str("nonce")
        .unwrap()
        .to_owned();
    let mut nonce_bytes = base64_decode(&client_nonce).unwrap();
    nonce_bytes.extend_from_slice(&[7u8; 16]);
    let nonce = base64_encode(&nonce_bytes);
    let salt = [9u8; 16];
    let kdf = Kdf::Pbkdf2 { iterations: 4096 };
    let cred = scram::derive_credential(ScramProfile::Autobahn, "secret123", &salt, kdf).unwrap();
    let salt_b64 = base64_encode(&salt);
    t.router(&format!(
        r#"[4,"scram",{{"nonce":"{nonce}","kdf":"pbkdf2","salt":"{salt_b64}","iterations":4096}}]"#
    ));
    let am = scram::auth_message(
        ScramProfile::Autobahn,
        &scram::AuthMessageParts {
            authid: "user1",
            client_nonce: &client_nonce,
            nonce: &nonce,
            salt: &salt_b64,
            iterations: 4096,
            channel_binding: None,
            cbind_data: None,
        },
    )
    .unwrap();
    let Message::Authenticate(auth) = t.last_sent().clone() else {
        panic!()
    };
    assert!(scram::verify_client_proof(
        &cred.keys.stored_key,
        &am,
        &base64_decode(&auth.signature).unwrap()
    ));
    let server_sig = base64_encode(&scram::server_signature(&cred.keys.server_key, &am));
    let roles = json(&Message::from(wamp_proto::message::Welcome {
        session: wamp_proto::id::SessionId::new(1).unwrap(),
        details: Dict::new().with("roles", router_roles(DEALER, BROKER)),
    }));
    let roles = roles
        .strip_prefix(r#"[2,1,{"roles":"#)
        .and_then(|r| r.strip_suffix("}]"))
        .unwrap()
        .to_owned();
    t.now += Duration::from_millis(5);
    t.router(&format!(
        r#"[2,3251278072152162,{{"authid":"user1","authrole":"user","authmethod":"scram","authprovider":"static","authextra":{{"scram_server_signature":"{server_sig}"}},"roles":{roles}}}]"#
    ));

    // Caller: progressive results, cancel, error.
    let call =
        t.s.call(
            t.now,
            "com.example.stream".into(),
            wamp_proto::Payload::args(vec![10.into()]),
            CallOptions {
                receive_progress: true,
                timeout: Some(Duration::from_secs(2)),
                ..CallOptions::default()
            },
        )
        .unwrap();
    t.step("call");
    t.router(&format!(r#"[50,{call},{{"progress":true}},[1]]"#));
    t.router(&format!(r#"[50,{call},{{}},[2]]"#));
    let c2 =
        t.s.call(
            t.now,
            "com.example.slow".into(),
            wamp_proto::Payload::empty(),
            CallOptions::default(),
        )
        .unwrap();
    t.s.cancel(t.now, c2, CancelMode::KillNoWait).unwrap();
    t.step("call + cancel");
    t.router(&format!(r#"[8,48,{c2},{{}},"wamp.error.canceled"]"#));

    // Callee: invocation with a forwarded timeout, progressive yield, interrupt.
    let reg =
        t.s.register(
            t.now,
            "com.example.".into(),
            RegisterOptions {
                match_policy: wamp_proto::MatchPolicy::Prefix,
                invoke: InvokePolicy::RoundRobin,
                disclose_caller: true,
                forward_timeout: true,
                ..RegisterOptions::default()
            },
        )
        .unwrap();
    t.step("register");
    t.router(&format!("[65,{reg},777]"));
    t.router(r#"[68,1,777,{"procedure":"com.example.a","receive_progress":true,"caller":5,"timeout":300},[1]]"#);
    t.router(r#"[68,2,777,{"procedure":"com.example.b","timeout":100}]"#);
    t.s.yield_(
        t.now,
        wamp_proto::id::RequestId::new(1).unwrap(),
        wamp_proto::Payload::args(vec!["partial".into()]),
        YieldOptions {
            progress: true,
            ..YieldOptions::default()
        },
    )
    .unwrap();
    t.step("progressive yield");
    t.advance(100);
    t.router(r#"[69,1,{"mode":"kill"}]"#);
    t.s.invocation_error(
        t.now,
        wamp_proto::id::RequestId::new(1).unwrap(),
        "wamp.error.canceled".into(),
        Dict::new(),
        wamp_proto::Payload::empty(),
    )
    .unwrap();
    t.step("answer interrupt");

    // PubSub.
    let sub =
        t.s.subscribe(
            t.now,
            "com.example..t".into(),
            SubscribeOptions {
                match_policy: wamp_proto::MatchPolicy::Wildcard,
                get_retained: true,
                ..SubscribeOptions::default()
            },
        )
        .unwrap();
    let publ =
        t.s.publish(
            t.now,
            "com.example.x.t".into(),
            wamp_proto::Payload::args(vec!["hello".into()]),
            PublishOptions {
                acknowledge: true,
                exclude_me: Some(false),
                disclose_me: true,
                ..PublishOptions::default()
            },
        )
        .unwrap();
    t.step("subscribe + publish");
    t.router(&format!("[33,{sub},888]"));
    t.router(&format!("[17,{publ},4503599627370496]"));
    t.router(r#"[36,888,4503599627370496,{"topic":"com.example.x.t","publisher":3251278072152162},["hello"]]"#);
    t.router(r#"[35,0,{"subscription":888,"reason":"gone"}]"#);

    // Leave.
    t.s.leave(t.now, None).unwrap();
    t.step("leave");
    t.router(r#"[6,{},"wamp.close.goodbye_and_out"]"#);
    t.out
}

#[test]
fn client_trace_is_deterministic_and_matches_golden() {
    // The virtual clock's origin: the one real instant the test reads.
    #[allow(clippy::disallowed_methods)]
    let t0 = Instant::now();
    let a = scenario(t0);
    let b = scenario(t0 + Duration::from_secs(1000));
    assert_eq!(a, b, "same seed and inputs must give the same trace");
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(GOLDEN);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, &a).unwrap();
    }
    let golden = std::fs::read_to_string(&path).unwrap();
    assert_eq!(
        a, golden,
        "trace differs from {GOLDEN}; rerun with UPDATE_GOLDEN=1 if intended"
    );
}
