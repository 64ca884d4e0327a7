//! Property tests of the codecs: arbitrary [`Value`]s and [`Message`]s of every kind survive
//! every serializer and every transcoding between serializers; arbitrary and mangled bytes
//! never panic a decoder; [`DecodeLimits`] are enforced exactly.
//!
//! Runs are deterministic (a fixed seed): CI tests the same cases every time and a failure
//! reproduces; exploring new inputs is the fuzzers' job (`fuzz/`). `PROPTEST_CASES` multiplies
//! nothing here: raise the counts below to search harder locally. Each test prints its case
//! count.

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};
use wamp_proto::error::DecodeError;
use wamp_proto::id::{MAX_ID, PublicationId, RegistrationId, RequestId, SessionId, SubscriptionId};
use wamp_proto::message::{
    Abort, Authenticate, Call, CallResult, Cancel, Challenge, Error, Event, EventReceived, Goodbye,
    Hello, Interrupt, Invocation, Publish, Published, Register, Registered, Subscribe, Subscribed,
    Unregister, Unregistered, Unsubscribe, Unsubscribed, Welcome, Yield,
};
use wamp_proto::{DecodeLimits, Dict, Message, MessageKind, Payload, Serializer, Uri, Value};

/// Cases per property (chosen to keep this file at a few seconds in the test profile on the
/// 2-core machine).
const ROUND_TRIP_CASES: u32 = 6000;
const TRANSCODE_CASES: u32 = 3000;
const ARBITRARY_BYTES_CASES: u32 = 20000;
const MANGLED_CASES: u32 = 10000;
const LIMIT_CASES: u32 = 1000;

/// Runs one property with a fixed seed and prints its case count.
fn check<S: Strategy>(
    name: &str,
    cases: u32,
    strategy: S,
    test: impl Fn(S::Value) -> Result<(), TestCaseError>,
) {
    let config = Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    };
    let rng = TestRng::deterministic_rng(RngAlgorithm::ChaCha);
    let mut runner = TestRunner::new_with_rng(config, rng);
    let result = runner.run(&strategy, test);
    eprintln!("proptest {name}: {cases} cases");
    if let Err(e) = result {
        panic!("property {name} failed: {e}");
    }
}

// ---------------------------------------------------------------------------------------------
// Strategies
// ---------------------------------------------------------------------------------------------

/// What the target serializers can carry: JSON cannot carry non-finite floats, nor text that
/// starts with U+0000 (that marks bytes in its binary convention).
#[derive(Clone, Copy, Debug)]
struct Carry {
    json: bool,
}

fn arb_float(c: Carry) -> BoxedStrategy<f64> {
    use proptest::num::f64 as f;
    if c.json {
        (f::POSITIVE | f::NEGATIVE | f::NORMAL | f::SUBNORMAL | f::ZERO).boxed()
    } else {
        prop_oneof![
            4 => f::ANY,
            1 => Just(f64::NAN),
            1 => Just(f64::INFINITY),
            1 => Just(f64::NEG_INFINITY),
            1 => Just(-0.0),
        ]
        .boxed()
    }
}

/// Text: any characters (control characters, U+0000, astral planes), short.
fn arb_text(c: Carry) -> BoxedStrategy<String> {
    let any_text = vec(any::<char>(), 0..10).prop_map(String::from_iter);
    let ascii = "[a-z0-9_.]{0,12}";
    prop_oneof![any_text, ascii]
        .prop_map(move |s| {
            if c.json && s.starts_with('\0') {
                format!("_{s}")
            } else {
                s
            }
        })
        .boxed()
}

/// Integers as a decoder produces them (negative: `Int`, otherwise `UInt`) and as a user may
/// build them (`Int` of a non-negative value compares and encodes like the `UInt`).
fn arb_int() -> BoxedStrategy<Value> {
    prop_oneof![
        any::<u64>().prop_map(Value::UInt),
        any::<i64>().prop_map(Value::Int),
        (0u64..300).prop_map(Value::UInt),
        (-300i64..0).prop_map(Value::Int),
        Just(Value::UInt(u64::MAX)),
        Just(Value::Int(i64::MIN)),
    ]
    .boxed()
}

fn arb_value(c: Carry) -> BoxedStrategy<Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        arb_int(),
        arb_float(c).prop_map(Value::Float),
        arb_text(c).prop_map(Value::Str),
        vec(any::<u8>(), 0..24).prop_map(Value::Bytes),
    ];
    leaf.prop_recursive(4, 64, 6, move |inner| {
        prop_oneof![
            vec(inner.clone(), 0..6).prop_map(Value::List),
            arb_dict_of(inner).prop_map(Value::Dict),
        ]
    })
    .boxed()
}

/// A dict with arbitrary (unique) keys.
fn arb_dict_of(values: BoxedStrategy<Value>) -> BoxedStrategy<Dict> {
    // Keys never start with U+0000 trouble: keys are always text, in JSON too.
    let key = prop_oneof![
        vec(any::<char>(), 0..8).prop_map(String::from_iter),
        "[a-e]{1,2}"
    ];
    vec((key, values), 0..6)
        .prop_map(|kv| kv.into_iter().collect::<Dict>())
        .boxed()
}

fn arb_dict(c: Carry) -> BoxedStrategy<Dict> {
    arb_dict_of(arb_value(c))
}

/// An options/details dict: well-typed predefined keys of `kind` and extra custom keys (which
/// the decoder keeps and ignores; `k_` is the prefix of no predefined key).
fn arb_options(kind: MessageKind, c: Carry) -> BoxedStrategy<Dict> {
    let b = || any::<bool>().prop_map(Value::Bool).boxed();
    let uint = || any::<u64>().prop_map(Value::UInt).boxed();
    let id = || arb_id().prop_map(Value::UInt).boxed();
    let text = || "[a-z.]{0,10}".prop_map(Value::Str).boxed();
    let ids = || {
        vec(arb_id().prop_map(Value::UInt), 0..4)
            .prop_map(Value::List)
            .boxed()
    };
    let texts = || {
        vec("[a-z]{1,6}".prop_map(Value::Str), 0..4)
            .prop_map(Value::List)
            .boxed()
    };
    let one_of = |xs: &'static [&'static str]| {
        proptest::sample::select(xs)
            .prop_map(|s| Value::Str(s.to_owned()))
            .boxed()
    };
    let forward_for = || {
        vec(
            (arb_id(), "[a-z]{1,6}", "[a-z]{1,6}").prop_map(|(s, id, role)| {
                Value::Dict(
                    Dict::new()
                        .with("session", s)
                        .with("authid", id)
                        .with("authrole", role),
                )
            }),
            0..3,
        )
        .prop_map(Value::List)
        .boxed()
    };
    let matching = &["exact", "prefix", "wildcard"];
    let mut known: Vec<(&'static str, BoxedStrategy<Value>)> = match kind {
        MessageKind::Publish => vec![
            ("acknowledge", b()),
            ("exclude_me", b()),
            ("exclude", ids()),
            ("eligible", ids()),
            ("exclude_authid", texts()),
            ("exclude_authrole", texts()),
            ("eligible_authid", texts()),
            ("eligible_authrole", texts()),
            ("disclose_me", b()),
            ("retain", b()),
        ],
        MessageKind::Event => vec![
            ("publisher", id()),
            ("publisher_authid", text()),
            ("publisher_authrole", text()),
            ("topic", text()),
            ("retained", b()),
            ("trustlevel", uint()),
            ("x_acknowledged_delivery", b()),
        ],
        MessageKind::Subscribe => vec![("match", one_of(matching)), ("get_retained", b())],
        MessageKind::Call => vec![
            ("receive_progress", b()),
            ("progress", b()),
            ("timeout", uint()),
            ("disclose_me", b()),
        ],
        MessageKind::Cancel => vec![("mode", one_of(&["skip", "kill", "killnowait"]))],
        MessageKind::Result | MessageKind::Yield => vec![("progress", b())],
        MessageKind::Register => vec![
            ("match", one_of(matching)),
            (
                "invoke",
                one_of(&["single", "roundrobin", "random", "first", "last"]),
            ),
            ("disclose_caller", b()),
            ("forward_timeout", b()),
        ],
        MessageKind::Invocation => vec![
            ("receive_progress", b()),
            ("progress", b()),
            ("timeout", uint()),
            ("caller", id()),
            ("caller_authid", text()),
            ("caller_authrole", text()),
            ("procedure", text()),
            ("trustlevel", uint()),
        ],
        MessageKind::Interrupt => vec![("mode", one_of(&["kill", "killnowait"]))],
        _ => vec![],
    };
    if !known.is_empty() || kind == MessageKind::Error {
        known.push(("forward_for", forward_for()));
        known.push(("transaction_hash", text()));
    }
    let known: Vec<BoxedStrategy<Option<(String, Value)>>> = known
        .into_iter()
        .map(|(k, s)| {
            proptest::option::weighted(0.3, s.prop_map(move |v| (k.to_owned(), v))).boxed()
        })
        .collect();
    let custom = vec(("k_[a-z0-9]{0,6}", arb_value(c)), 0..3);
    (known, custom)
        .prop_map(|(known, custom)| known.into_iter().flatten().chain(custom).collect::<Dict>())
        .boxed()
}

/// IDs in [1, 2^53], with the edges.
fn arb_id() -> BoxedStrategy<u64> {
    prop_oneof![
        Just(1u64),
        Just(MAX_ID),
        1u64..=MAX_ID,
        1u64..1000,
        (1u64 << 31)..(1u64 << 33),
    ]
    .boxed()
}

fn arb_uri(c: Carry) -> BoxedStrategy<Uri> {
    prop_oneof![
        3 => "[a-z][a-z0-9_]{0,6}(\\.[a-z0-9_]{1,6}){0,3}",
        1 => "([a-z]{0,3}\\.){0,3}[a-z]{0,3}",
        1 => arb_text(c),
    ]
    .prop_map(|s| Uri::from_wire(&s))
    .boxed()
}

fn arb_payload(c: Carry) -> BoxedStrategy<Payload> {
    let args = move || vec(arb_value(c), 0..4);
    prop_oneof![
        Just(Payload::empty()),
        args().prop_map(Payload::args),
        (args(), arb_dict(c)).prop_map(|(a, k)| Payload::new(a, k)),
        arb_dict(c).prop_map(|k| Payload::new(vec![], k)),
        vec(any::<u8>(), 0..32).prop_map(Payload::Transparent),
    ]
    .boxed()
}

fn req() -> BoxedStrategy<RequestId> {
    arb_id().prop_map(|v| RequestId::new(v).unwrap()).boxed()
}

fn arb_message(c: Carry) -> BoxedStrategy<Message> {
    use MessageKind as K;
    let opts = move |k| arb_options(k, c);
    let error_kinds: Vec<MessageKind> = MessageKind::ALL
        .into_iter()
        .filter(|k| k.has_error_flow())
        .collect();
    let revocation = move || {
        prop_oneof![
            (req(), Just(Dict::new())).prop_map(|(r, d)| (Some(r), d)),
            (req(), arb_dict(c)).prop_map(|(r, d)| (Some(r), d)),
            arb_dict(c).prop_map(|d| (None, d)),
        ]
    };
    let text = move || arb_text(c);
    prop_oneof![
        (arb_uri(c), arb_dict(c)).prop_map(|(realm, details)| Hello { realm, details }.into()),
        (arb_id(), arb_dict(c)).prop_map(|(s, details)| Welcome {
            session: SessionId::new(s).unwrap(),
            details
        }
        .into()),
        (arb_dict(c), arb_uri(c), arb_payload(c)).prop_map(|(details, reason, payload)| Abort {
            details,
            reason,
            payload
        }
        .into()),
        (text(), arb_dict(c))
            .prop_map(|(auth_method, extra)| Challenge { auth_method, extra }.into()),
        (text(), arb_dict(c))
            .prop_map(|(signature, extra)| Authenticate { signature, extra }.into()),
        (arb_dict(c), arb_uri(c)).prop_map(|(details, reason)| Goodbye { details, reason }.into()),
        (
            proptest::sample::select(error_kinds),
            req(),
            opts(K::Error),
            arb_uri(c),
            arb_payload(c)
        )
            .prop_map(|(request_type, request, details, error, payload)| Error {
                request_type,
                request,
                details,
                error,
                payload
            }
            .into()),
        (req(), opts(K::Publish), arb_uri(c), arb_payload(c)).prop_map(
            |(request, options, topic, payload)| Publish {
                request,
                options,
                topic,
                payload
            }
            .into()
        ),
        (req(), arb_id()).prop_map(|(request, p)| Published {
            request,
            publication: PublicationId::new(p).unwrap()
        }
        .into()),
        (req(), opts(K::Subscribe), arb_uri(c)).prop_map(|(request, options, topic)| Subscribe {
            request,
            options,
            topic
        }
        .into()),
        (req(), arb_id()).prop_map(|(request, s)| Subscribed {
            request,
            subscription: SubscriptionId::new(s).unwrap()
        }
        .into()),
        (req(), arb_id()).prop_map(|(request, s)| Unsubscribe {
            request,
            subscription: SubscriptionId::new(s).unwrap()
        }
        .into()),
        revocation().prop_map(|(request, details)| Unsubscribed { request, details }.into()),
        (arb_id(), arb_id(), opts(K::Event), arb_payload(c)).prop_map(
            |(s, p, details, payload)| Event {
                subscription: SubscriptionId::new(s).unwrap(),
                publication: PublicationId::new(p).unwrap(),
                details,
                payload
            }
            .into()
        ),
        (req(), opts(K::Call), arb_uri(c), arb_payload(c)).prop_map(
            |(request, options, procedure, payload)| Call {
                request,
                options,
                procedure,
                payload
            }
            .into()
        ),
        (req(), opts(K::Cancel)).prop_map(|(request, options)| Cancel { request, options }.into()),
        (req(), opts(K::Result), arb_payload(c)).prop_map(|(request, details, payload)| {
            CallResult {
                request,
                details,
                payload,
            }
            .into()
        }),
        (req(), opts(K::Register), arb_uri(c)).prop_map(|(request, options, procedure)| {
            Register {
                request,
                options,
                procedure,
            }
            .into()
        }),
        (req(), arb_id()).prop_map(|(request, r)| Registered {
            request,
            registration: RegistrationId::new(r).unwrap()
        }
        .into()),
        (req(), arb_id()).prop_map(|(request, r)| Unregister {
            request,
            registration: RegistrationId::new(r).unwrap()
        }
        .into()),
        revocation().prop_map(|(request, details)| Unregistered { request, details }.into()),
        (req(), arb_id(), opts(K::Invocation), arb_payload(c)).prop_map(
            |(request, r, details, payload)| Invocation {
                request,
                registration: RegistrationId::new(r).unwrap(),
                details,
                payload
            }
            .into()
        ),
        (req(), opts(K::Interrupt))
            .prop_map(|(request, options)| Interrupt { request, options }.into()),
        (req(), opts(K::Yield), arb_payload(c)).prop_map(|(request, options, payload)| Yield {
            request,
            options,
            payload
        }
        .into()),
        arb_id().prop_map(|p| EventReceived {
            publication: PublicationId::new(p).unwrap()
        }
        .into()),
    ]
    .boxed()
}

const JSON_SAFE: Carry = Carry { json: true };
const ANY: Carry = Carry { json: false };

/// The serializers that can carry everything `c` generates.
fn carriers(c: Carry) -> Vec<Serializer> {
    Serializer::ALL
        .into_iter()
        .filter(|s| c.json || *s != Serializer::Json)
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------------

fn round_trip(c: Carry, m: Message) -> Result<(), TestCaseError> {
    for s in carriers(c) {
        let bytes = s
            .encode_to_vec(&m)
            .map_err(|e| TestCaseError::fail(format!("{s:?} encode: {e}")))?;
        let back = s
            .decode(&bytes)
            .map_err(|e| TestCaseError::fail(format!("{s:?} decode: {e}")))?;
        prop_assert_eq!(&back, &m, "{:?}", s);
        // Message::from_value is the inverse of to_value.
        prop_assert_eq!(&Message::from_value(&m.to_value()).unwrap(), &m);
    }
    Ok(())
}

#[test]
fn every_message_round_trips_json_safe() {
    check(
        "round trip (JSON-safe values, all serializers)",
        ROUND_TRIP_CASES,
        arb_message(JSON_SAFE),
        |m| round_trip(JSON_SAFE, m),
    );
}

#[test]
fn every_message_round_trips_binary() {
    check(
        "round trip (all values incl. NaN/inf, binary serializers)",
        ROUND_TRIP_CASES,
        arb_message(ANY),
        |m| round_trip(ANY, m),
    );
}

/// Decode in one serializer, encode the result in another, decode again: nothing changes.
fn transcode(c: Carry, m: Message) -> Result<(), TestCaseError> {
    let ser = carriers(c);
    for &a in &ser {
        let in_a = a.decode(&a.encode_to_vec(&m).unwrap()).unwrap();
        for &b in &ser {
            let bytes = b
                .encode_to_vec(&in_a)
                .map_err(|e| TestCaseError::fail(format!("{a:?} -> {b:?} encode: {e}")))?;
            let in_b = b
                .decode(&bytes)
                .map_err(|e| TestCaseError::fail(format!("{a:?} -> {b:?} decode: {e}")))?;
            prop_assert_eq!(&in_b, &m, "{:?} -> {:?}", a, b);
            // And back again.
            let back = a.decode(&a.encode_to_vec(&in_b).unwrap()).unwrap();
            prop_assert_eq!(&back, &m, "{:?} -> {:?} -> {:?}", a, b, a);
        }
    }
    Ok(())
}

#[test]
fn transcoding_keeps_values_json_safe() {
    check(
        "transcoding (JSON-safe values, all serializer pairs)",
        TRANSCODE_CASES,
        arb_message(JSON_SAFE),
        |m| transcode(JSON_SAFE, m),
    );
}

#[test]
fn transcoding_keeps_values_binary() {
    check(
        "transcoding (all values, binary serializer pairs)",
        TRANSCODE_CASES,
        arb_message(ANY),
        |m| transcode(ANY, m),
    );
}

#[test]
fn json_refuses_what_it_cannot_carry() {
    let nan = Message::from(Call {
        request: RequestId::new(1).unwrap(),
        options: Dict::new(),
        procedure: "a".into(),
        payload: Payload::args(vec![Value::Float(f64::NAN)]),
    });
    assert!(Serializer::Json.encode_to_vec(&nan).is_err());
    for s in carriers(ANY) {
        assert_eq!(s.decode(&s.encode_to_vec(&nan).unwrap()).unwrap(), nan);
    }
}

#[test]
fn arbitrary_bytes_never_panic() {
    let bytes = prop_oneof![
        vec(any::<u8>(), 0..64),
        vec(any::<u8>(), 0..512),
        // Mostly structure bytes: JSON punctuation and the msgpack/CBOR container markers.
        vec(
            proptest::sample::select(
                &b"[]{},:\"0123456789-.eE \\u0000tfn\x90\x91\x93\x9f\x80\x81\x82\x83\x84\x85\
                   \xa0\xa1\xbf\xc0\xc2\xc3\xca\xcb\xcc\xcd\xce\xcf\xd0\xd9\xdc\xdd\xde\xdf\
                   \x18\x19\x1a\x1b\x40\x60\x5f\x7f\xf9\xfa\xfb\xff"[..]
            ),
            0..128
        ),
    ];
    check(
        "arbitrary bytes never panic",
        ARBITRARY_BYTES_CASES,
        bytes,
        |b| {
            for s in Serializer::ALL {
                wamp_proto::fuzzing::fuzz_decode(s, &b);
            }
            Ok(())
        },
    );
}

/// Valid encodings with a few bytes overwritten, inserted, removed or cut off: decoders see
/// inputs close to valid, where bugs live.
#[test]
fn mangled_encodings_never_panic() {
    #[derive(Clone, Debug)]
    enum Edit {
        Set(usize, u8),
        Insert(usize, u8),
        Remove(usize),
        Truncate(usize),
    }
    let edit = prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Edit::Set(i, b)),
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Edit::Insert(i, b)),
        any::<usize>().prop_map(Edit::Remove),
        any::<usize>().prop_map(Edit::Truncate),
    ];
    let strategy = proptest::sample::select(Serializer::ALL.to_vec()).prop_flat_map(move |s| {
        let c = if s == Serializer::Json {
            JSON_SAFE
        } else {
            ANY
        };
        (Just(s), arb_message(c), vec(edit.clone(), 1..4))
    });
    check(
        "mangled encodings never panic",
        MANGLED_CASES,
        strategy,
        |(s, m, edits)| {
            let mut b = s.encode_to_vec(&m).unwrap();
            for e in edits {
                let n = b.len().max(1);
                match e {
                    Edit::Set(i, x) if !b.is_empty() => b[i % n] = x,
                    Edit::Insert(i, x) => b.insert(i % (b.len() + 1), x),
                    Edit::Remove(i) if !b.is_empty() => {
                        b.remove(i % n);
                    }
                    Edit::Truncate(i) => b.truncate(i % n),
                    _ => {}
                }
            }
            wamp_proto::fuzzing::fuzz_decode(s, &b);
            Ok(())
        },
    );
}

// ---------------------------------------------------------------------------------------------
// Limits
// ---------------------------------------------------------------------------------------------

/// A value nested `levels` containers deep (alternating lists and dicts), or a plain integer.
fn nested(levels: usize) -> Value {
    let mut v = Value::UInt(7);
    for i in 0..levels {
        v = if i % 2 == 0 {
            Value::List(vec![v])
        } else {
            Value::Dict(Dict::new().with("k", v))
        };
    }
    v
}

/// A CALL whose single argument is `nested(levels)`: the message list is level 1, the
/// argument list level 2, so the deepest container is at level `2 + levels`.
fn deep_call(levels: usize) -> Message {
    Call {
        request: RequestId::new(1).unwrap(),
        options: Dict::new(),
        procedure: "com.example.deep".into(),
        payload: Payload::args(vec![nested(levels)]),
    }
    .into()
}

/// Values in a tree, as [`DecodeLimits::max_elements`] counts them: every list element, dict
/// key and dict value, and the containers themselves.
fn count(v: &Value) -> usize {
    1 + match v {
        Value::List(l) => l.iter().map(count).sum(),
        Value::Dict(d) => d.iter().map(|(_, v)| 1 + count(v)).sum(),
        _ => 0,
    }
}

#[test]
fn depth_limit_is_exact() {
    // Nesting up to 120 levels (deepest container at level 122): serde_json's own recursion
    // guard (128) is beyond that, the others follow our limit.
    let strategy = (0usize..=120, 2usize..=124);
    check(
        "depth limit is exact",
        LIMIT_CASES,
        strategy,
        |(levels, max_depth)| {
            let m = deep_call(levels);
            let limits = DecodeLimits {
                max_depth,
                ..DecodeLimits::default()
            };
            let deepest = 2 + levels;
            for s in Serializer::ALL {
                let bytes = s.encode_to_vec(&m).unwrap();
                let r = s.decode_with_limits(&bytes, limits);
                if deepest <= max_depth {
                    prop_assert_eq!(r, Ok(m.clone()), "{:?} depth {}", s, deepest);
                } else {
                    prop_assert_eq!(r, Err(DecodeError::TooDeep), "{:?} depth {}", s, deepest);
                }
            }
            Ok(())
        },
    );
}

#[test]
fn element_limit_is_exact() {
    let strategy = arb_message(JSON_SAFE);
    check("element limit is exact", LIMIT_CASES, strategy, |m| {
        let n = count(&m.to_value());
        for s in Serializer::ALL {
            let bytes = s.encode_to_vec(&m).unwrap();
            let at = |max_elements| {
                s.decode_with_limits(
                    &bytes,
                    DecodeLimits {
                        max_elements,
                        ..DecodeLimits::default()
                    },
                )
            };
            prop_assert_eq!(at(n), Ok(m.clone()), "{:?} with {} elements", s, n);
            prop_assert_eq!(at(n - 1), Err(DecodeError::TooManyElements), "{:?}", s);
        }
        Ok(())
    });
}

/// Far deeper than any limit: an error, never a stack overflow.
#[test]
fn very_deep_input_is_rejected() {
    let depth = 100_000;
    let json = format!(
        "[48,1,{{}},\"a\",{}{}]",
        "[".repeat(depth),
        "]".repeat(depth)
    );
    let msgpack: Vec<u8> = [
        &[0x95, 0x30, 0x01, 0x80, 0xa1, b'a'][..],
        &vec![0x91; depth],
        &[0xc0],
    ]
    .concat();
    let cbor: Vec<u8> = [
        &[0x85, 0x18, 0x30, 0x01, 0xa0, 0x61, b'a'][..],
        &vec![0x81; depth],
        &[0xf6],
    ]
    .concat();
    let ubjson: Vec<u8> = [
        &b"[U\x30U\x01{}SU\x01a"[..],
        &vec![b'['; depth],
        b"Z",
        &vec![b']'; depth],
        b"]",
    ]
    .concat();
    for (s, bytes) in [
        (Serializer::Json, json.into_bytes()),
        (Serializer::MsgPack, msgpack),
        (Serializer::Cbor, cbor),
        (Serializer::Ubjson, ubjson),
    ] {
        let r = s.decode(&bytes);
        assert!(r.is_err(), "{s:?} accepted {depth} levels");
        assert_eq!(r, Err(DecodeError::TooDeep), "{s:?}");
    }
    // Within the serializers' own recursion guards our limit answers.
    let m = deep_call(70);
    for s in Serializer::ALL {
        let bytes = s.encode_to_vec(&m).unwrap();
        assert_eq!(s.decode(&bytes), Err(DecodeError::TooDeep), "{s:?}");
    }
}
