//! The multisession vectors of `shared/wamp-spec/testsuite/multisession`: each sequence is
//! played through the router in the simulation harness. Client-to-router steps are sent as
//! given; router-to-client steps must arrive with the listed fields. Router-assigned IDs
//! (subscription, registration, publication) are matched symbolically: the vector's number
//! stands for whatever the router chose, consistently across steps.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value as Json;
use wamp_proto::id::{RequestId, SubscriptionId};
use wamp_proto::message::{Call, Publish, Register, Subscribe, Unsubscribe, Yield};
use wamp_proto::{Dict, Message, Payload, Serializer, Uri, Value};
use wamp_router_core::RouterConfig;

use crate::sim::{Sim, full_roles};

fn multisession_dir() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    for dir in manifest.ancestors().skip(1) {
        let candidate = dir.join("shared/wamp-spec/testsuite/multisession");
        if candidate.is_dir() {
            return candidate;
        }
    }
    panic!("shared/wamp-spec/testsuite/multisession not found beside the repository root");
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            files(&p, out);
        } else if p.extension().is_some_and(|x| x == "json") {
            out.push(p);
        }
    }
}

fn value(j: &Json) -> Value {
    match j {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Bool(*b),
        Json::Number(n) => n
            .as_u64()
            .map(Value::UInt)
            .or_else(|| n.as_i64().map(Value::Int))
            .unwrap_or_else(|| Value::Float(n.as_f64().unwrap())),
        Json::String(s) => Value::from(s.as_str()),
        Json::Array(a) => Value::List(a.iter().map(value).collect()),
        Json::Object(o) => Value::Dict(o.iter().map(|(k, v)| (k.clone(), value(v))).collect()),
    }
}

fn dict(m: &Json, key: &str) -> Dict {
    match m.get(key).map(value) {
        Some(Value::Dict(d)) => d,
        _ => Dict::new(),
    }
}

fn payload(m: &Json) -> Payload {
    let args = match m.get("args").map(value) {
        Some(Value::List(l)) => l,
        _ => Vec::new(),
    };
    Payload::new(args, dict(m, "kwargs"))
}

fn req(m: &Json) -> RequestId {
    RequestId::new(m["request_id"].as_u64().unwrap()).unwrap()
}

/// Builds a client message from the vector's description.
fn client_message(m: &Json, ids: &Ids) -> Message {
    let uri = |k: &str| Uri::from_wire(m[k].as_str().unwrap());
    match m["type"].as_str().unwrap() {
        "SUBSCRIBE" => Subscribe {
            request: req(m),
            options: dict(m, "options"),
            topic: uri("topic"),
        }
        .into(),
        "UNSUBSCRIBE" => Unsubscribe {
            request: req(m),
            subscription: SubscriptionId::new(ids.actual("subscription_id", &m["subscription_id"]))
                .unwrap(),
        }
        .into(),
        "PUBLISH" => Publish {
            request: req(m),
            options: dict(m, "options"),
            topic: uri("topic"),
            payload: payload(m),
        }
        .into(),
        "REGISTER" => Register {
            request: req(m),
            options: dict(m, "options"),
            procedure: uri("procedure"),
        }
        .into(),
        "CALL" => Call {
            request: req(m),
            options: dict(m, "options"),
            procedure: uri("procedure"),
            payload: payload(m),
        }
        .into(),
        "YIELD" => Yield {
            request: req(m),
            options: dict(m, "options"),
            payload: payload(m),
        }
        .into(),
        other => panic!("client message {other} not supported by the vector runner"),
    }
}

/// Vector number -> the router's actual ID, per field name.
#[derive(Default)]
struct Ids(BTreeMap<(String, u64), u64>);

impl Ids {
    fn actual(&self, field: &str, v: &Json) -> u64 {
        let n = v.as_u64().unwrap();
        *self.0.get(&(field.to_owned(), n)).unwrap_or(&n)
    }
    /// Binds (or checks) the symbolic ID.
    fn bind(&mut self, field: &str, v: &Json, actual: u64) {
        let n = v.as_u64().unwrap();
        let prev = self.0.entry((field.to_owned(), n)).or_insert(actual);
        assert_eq!(
            *prev, actual,
            "{field} {n} stands for two different router IDs"
        );
    }
}

/// Checks a received message against the vector's description.
fn check(expected: &Json, got: &Message, ids: &mut Ids) {
    assert_eq!(
        got.kind().name(),
        expected["type"].as_str().unwrap(),
        "{got:?}"
    );
    let e = expected;
    match got {
        Message::Subscribed(s) => {
            assert_eq!(s.request, req(e));
            ids.bind(
                "subscription_id",
                &e["subscription_id"],
                s.subscription.get(),
            );
        }
        Message::Unsubscribed(u) => assert_eq!(u.request, Some(req(e))),
        Message::Published(p) => {
            assert_eq!(p.request, req(e));
            ids.bind("publication_id", &e["publication_id"], p.publication.get());
        }
        Message::Event(ev) => {
            ids.bind(
                "subscription_id",
                &e["subscription_id"],
                ev.subscription.get(),
            );
            ids.bind("publication_id", &e["publication_id"], ev.publication.get());
            assert_eq!(ev.details, dict(e, "details"));
            assert_eq!(ev.payload, payload(e));
        }
        Message::Registered(r) => {
            assert_eq!(r.request, req(e));
            ids.bind(
                "registration_id",
                &e["registration_id"],
                r.registration.get(),
            );
        }
        Message::Result(r) => {
            assert_eq!(r.request, req(e));
            assert_eq!(r.payload, payload(e));
        }
        Message::Invocation(inv) => {
            ids.bind(
                "registration_id",
                &e["registration_id"],
                inv.registration.get(),
            );
            assert_eq!(inv.payload, payload(e));
        }
        other => panic!("router message {other:?} not supported by the vector runner"),
    }
}

#[test]
fn multisession_vectors() {
    let mut paths = Vec::new();
    files(&multisession_dir(), &mut paths);
    paths.sort();
    assert!(!paths.is_empty());
    for path in &paths {
        let v: Json = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        for serializer in [Serializer::Json, Serializer::MsgPack, Serializer::Cbor] {
            let mut sim = Sim::new(RouterConfig::with_realm("realm1"), 1);
            let mut clients = BTreeMap::new();
            for s in v["sessions"].as_array().unwrap() {
                let realm = s.get("realm").and_then(Json::as_str).unwrap_or("realm1");
                sim.router.add_realm(Uri::from_wire(realm));
                let c = sim.connect(serializer);
                assert!(matches!(
                    sim.hello(c, realm, full_roles()),
                    Message::Welcome(_)
                ));
                clients.insert(s["session_id"].as_str().unwrap().to_owned(), c);
            }
            let mut ids = Ids::default();
            for step in v["sequence"].as_array().unwrap() {
                let (from, to) = (step["from"].as_str().unwrap(), step["to"].as_str().unwrap());
                if to == "router" {
                    let c = clients[from];
                    let msg = client_message(&step["message"], &ids);
                    sim.send(c, msg);
                } else {
                    let c = clients[to];
                    let got = sim.recv(c);
                    check(&step["message"], &got, &mut ids);
                }
            }
            for (name, c) in &clients {
                let rest = sim.recv_all(*c);
                assert!(
                    rest.is_empty(),
                    "{path:?}: {name} got more than the vector lists: {rest:?}"
                );
            }
            if let Some(n) = v["expected_outcome"]
                .get("event_count")
                .and_then(Json::as_u64)
            {
                let events = sim
                    .trace
                    .iter()
                    .filter(|l| l.contains("router -> ") && l.contains(": [36,"))
                    .count();
                assert_eq!(events as u64, n, "{path:?}");
            }
        }
    }
}
