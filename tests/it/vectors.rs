//! The official WAMP test vectors (`shared/wamp-spec/testsuite`, see its README and section 10
//! of `FEATURE-MAP.md`).
//!
//! For every single-message vector file and every sample:
//!
//! * **serialization samples**, for every serializer we implement (every member of
//!   [`Serializer::ALL`], matched to the vector's serializer key by [`Serializer::name`], so a
//!   new serializer is picked up without touching this file): every listed byte variant is
//!   decoded (`bytes_hex`, else `bytes_base64`, else `bytes`, and where several are given they
//!   must agree); every variant must decode, except one the vector documents as another dialect
//!   of the serializer ([`OTHER_DIALECTS`]), which is skipped unless its bytes equal a variant
//!   of ours; at least one must remain; all decoded messages must be equal, and the message
//!   must carry the sample's `expected_attributes` (projected by name, the names differ per
//!   file). Our own encoding must equal at least one listed variant of our dialect byte for
//!   byte, and must decode back to the same message.
//! * **validation samples** (`wmsg`): the JSON array goes through [`Message::from_value`]; with
//!   `expected_error` the decode must fail with a message containing the `contains` text,
//!   otherwise it must succeed (and the message then round-trips through every serializer).
//!   Samples that test Autobahn extensions we do not implement are listed in
//!   [`SKIPPED_SAMPLES`] with the reason.
//!
//! The folder walk must find exactly the files of [`EXPECTED_FILES`] with exactly the listed
//! sample counts: a new vector file or sample fails this test until it is looked at.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde::Deserialize;
use serde_json::Value as Json;
use wamp_proto::message::Payload;
use wamp_proto::{Dict, Message, Serializer, Value};

/// What a vector file holds and how this file handles it.
enum Expect {
    /// A single-message file tested here: (serialization samples, validation samples).
    Single(usize, usize),
    /// A file tested elsewhere; the reason says where.
    Elsewhere(&'static str),
}

/// Every vector file of the testsuite (path relative to `testsuite/`) with its sample counts.
const EXPECTED_FILES: &[(&str, Expect)] = &[
    ("singlemessage/basic/hello.json", Expect::Single(1, 0)),
    ("singlemessage/basic/welcome.json", Expect::Single(1, 0)),
    ("singlemessage/basic/abort.json", Expect::Single(1, 0)),
    ("singlemessage/basic/challenge.json", Expect::Single(1, 0)),
    (
        "singlemessage/basic/authenticate.json",
        Expect::Single(1, 0),
    ),
    ("singlemessage/basic/goodbye.json", Expect::Single(1, 0)),
    ("singlemessage/basic/error.json", Expect::Single(1, 0)),
    ("singlemessage/basic/publish.json", Expect::Single(7, 35)),
    ("singlemessage/basic/published.json", Expect::Single(1, 0)),
    ("singlemessage/basic/subscribe.json", Expect::Single(1, 11)),
    ("singlemessage/basic/subscribed.json", Expect::Single(1, 0)),
    ("singlemessage/basic/unsubscribe.json", Expect::Single(1, 0)),
    (
        "singlemessage/basic/unsubscribed.json",
        Expect::Single(1, 0),
    ),
    ("singlemessage/basic/event.json", Expect::Single(4, 21)),
    ("singlemessage/basic/call.json", Expect::Single(1, 0)),
    ("singlemessage/basic/result.json", Expect::Single(1, 0)),
    ("singlemessage/basic/register.json", Expect::Single(1, 0)),
    ("singlemessage/basic/registered.json", Expect::Single(1, 0)),
    ("singlemessage/basic/unregister.json", Expect::Single(1, 0)),
    (
        "singlemessage/basic/unregistered.json",
        Expect::Single(1, 0),
    ),
    ("singlemessage/basic/invocation.json", Expect::Single(1, 0)),
    ("singlemessage/basic/yield.json", Expect::Single(1, 0)),
    ("singlemessage/advanced/cancel.json", Expect::Single(1, 0)),
    (
        "singlemessage/advanced/interrupt.json",
        Expect::Single(1, 0),
    ),
    (
        "singlemessage/advanced/eventreceived.json",
        Expect::Single(1, 0),
    ),
    (
        "singlemessage/advanced/publish_with_publisher_exclusion_disabled.json",
        Expect::Single(1, 0),
    ),
    // Multi-session vectors drive a router with several sessions: `router_vectors.rs` replays
    // them through the router simulation; here they only have to be known so the walk passes.
    (
        "multisession/advanced/publisher_exclusion_disabled.json",
        Expect::Elsewhere(
            "multi-session: replayed through the router by tests/it/router_vectors.rs",
        ),
    ),
];

/// Files in the testsuite folder that are not vectors.
const NOT_VECTORS: &[&str] = &["SCHEMA.json"];

/// Serializer keys of the vectors that name no serializer we implement, with the reason.
/// Every other key must be the [`Serializer::name`] of a member of [`Serializer::ALL`]
/// (`json`, `msgpack`, `cbor`, `ubjson`), and is tested; an unknown key fails the test.
const NOT_IMPLEMENTED_SERIALIZERS: &[(&str, &str)] = &[(
    "flatbuffers",
    "Autobahn's own FlatBuffers schema, not part of the spec",
)];

/// Byte variants that document another dialect of a serializer we implement: (serializer key,
/// text in the variant's `note`). Such a variant may fail to decode or decode to something
/// else (the two UBJSON dialects read the same bytes as different integers); a variant whose
/// bytes equal a variant of our dialect is tested like any other.
const OTHER_DIALECTS: &[(&str, &str)] = &[
    // We speak BJData (what autobahn-python >= 26.6 and Crossbar send as "ubjson"), not the
    // legacy big-endian py-ubjson encoding.
    ("ubjson", "py-ubjson"),
];

/// Validation samples we skip: (file, sample index, reason).
const SKIPPED_SAMPLES: &[(&str, usize, &str)] = &[
    (
        "singlemessage/basic/publish.json",
        39,
        "Autobahn E2E encryption: `enc_algo` with a plain-string payload element",
    ),
    (
        "singlemessage/basic/publish.json",
        40,
        "Autobahn E2E encryption: checks `enc_algo` values (not implemented), plain-string payload",
    ),
    (
        "singlemessage/basic/publish.json",
        41,
        "Autobahn E2E encryption: `enc_serializer` with a plain-string payload element",
    ),
    (
        "singlemessage/basic/event.json",
        22,
        "Autobahn E2E encryption: `enc_algo` with a plain-string payload element",
    ),
    (
        "singlemessage/basic/event.json",
        23,
        "Autobahn E2E encryption: checks `enc_algo` values (not implemented), plain-string payload",
    ),
    (
        "singlemessage/basic/event.json",
        24,
        "Autobahn E2E encryption: `enc_serializer` with a plain-string payload element",
    ),
];

#[derive(Deserialize)]
struct VectorFile {
    #[allow(dead_code)]
    description: String,
    wamp_message_type: String,
    wamp_message_code: u64,
    samples: Vec<Sample>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Sample {
    Serialization {
        description: String,
        serializers: BTreeMap<String, Vec<Variant>>,
        expected_attributes: serde_json::Map<String, Json>,
    },
    Validation {
        description: String,
        wmsg: Json,
        expected_error: Option<ExpectedError>,
    },
}

#[derive(Deserialize)]
struct Variant {
    bytes: Option<String>,
    bytes_hex: Option<String>,
    bytes_base64: Option<String>,
    note: Option<String>,
}

#[derive(Deserialize)]
struct ExpectedError {
    #[serde(rename = "type")]
    kind: String,
    contains: String,
}

/// Tallies for the summary line.
#[derive(Default)]
struct Tally {
    files: usize,
    serialization_samples: usize,
    validation_samples: usize,
    skipped_samples: usize,
    variants_decoded: usize,
    variants_other_dialect: usize,
    encodings_matched: usize,
    serializer_keys_not_implemented: BTreeMap<String, usize>,
    elsewhere: Vec<String>,
}

/// The testsuite folder: `shared/wamp-spec/testsuite` beside the repository root (CI places a
/// copy of `shared/` there). From a git worktree nested deeper the nearest ancestor holding
/// `shared/` is used.
pub(crate) fn testsuite_dir() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut tried = Vec::new();
    for dir in manifest.ancestors().skip(1) {
        let candidate = dir.join("shared/wamp-spec/testsuite");
        if candidate.is_dir() {
            return candidate;
        }
        tried.push(candidate);
    }
    panic!(
        "the WAMP testsuite is missing: expected `shared/wamp-spec/testsuite` beside the \
         repository root; tried {tried:#?}"
    );
}

/// Every `.json` file under `dir`, as paths relative to `root` with `/` separators.
fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("read {dir:?}: {e}"));
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() {
            walk(root, &path, out);
        } else if path.extension().is_some_and(|e| e == "json") {
            let rel = path.strip_prefix(root).unwrap();
            let rel: Vec<_> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect();
            out.push(rel.join("/"));
        }
    }
}

#[test]
fn official_vectors() {
    let root = testsuite_dir();
    let mut found = Vec::new();
    walk(&root, &root, &mut found);
    found.retain(|f| !NOT_VECTORS.contains(&f.as_str()));
    found.sort();
    let mut expected: Vec<String> = EXPECTED_FILES.iter().map(|(f, _)| f.to_string()).collect();
    expected.sort();
    assert_eq!(
        found, expected,
        "the testsuite's vector files differ from EXPECTED_FILES: add new files there (with \
         their sample counts) and make sure they are tested"
    );

    let mut tally = Tally::default();
    let mut failures = Vec::new();
    for (file, expect) in EXPECTED_FILES {
        let (serialization, validation) = match expect {
            Expect::Single(s, v) => (s, v),
            Expect::Elsewhere(reason) => {
                tally.elsewhere.push(format!("{file}: {reason}"));
                continue;
            }
        };
        let text = std::fs::read_to_string(root.join(file)).unwrap();
        let vf: VectorFile =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{file}: not a vector: {e}"));
        tally.files += 1;
        let counts = vf.samples.iter().fold((0, 0), |(s, v), x| match x {
            Sample::Serialization { .. } => (s + 1, v),
            Sample::Validation { .. } => (s, v + 1),
        });
        assert_eq!(
            counts,
            (*serialization, *validation),
            "{file}: (serialization, validation) sample counts changed: update EXPECTED_FILES"
        );
        for (index, sample) in vf.samples.iter().enumerate() {
            let r = match sample {
                Sample::Serialization {
                    description,
                    serializers,
                    expected_attributes,
                } => {
                    tally.serialization_samples += 1;
                    check_serialization(&vf, serializers, expected_attributes, &mut tally)
                        .map_err(|e| format!("{file} sample {index} ({description}): {e}"))
                }
                Sample::Validation {
                    description,
                    wmsg,
                    expected_error,
                } => {
                    if let Some((_, _, _reason)) = SKIPPED_SAMPLES
                        .iter()
                        .find(|(f, i, _)| f == file && *i == index)
                    {
                        tally.skipped_samples += 1;
                        continue;
                    }
                    tally.validation_samples += 1;
                    check_validation(wmsg, expected_error.as_ref())
                        .map_err(|e| format!("{file} sample {index} ({description}): {e}"))
                }
            };
            if let Err(e) = r {
                failures.push(e);
            }
        }
    }
    // Every skip entry must still name a validation sample (a stale entry hides nothing).
    for (file, index, reason) in SKIPPED_SAMPLES {
        let text = std::fs::read_to_string(root.join(file)).unwrap();
        let vf: VectorFile = serde_json::from_str(&text).unwrap();
        assert!(
            matches!(vf.samples.get(*index), Some(Sample::Validation { .. })),
            "stale SKIPPED_SAMPLES entry {file} #{index} ({reason})"
        );
    }

    eprintln!(
        "vectors: {} files, {} serialization + {} validation samples ({} skipped), {} variants \
         decoded, {} other-dialect variants skipped, {} encodings matched byte for byte; \
         serializer keys not implemented: {:?}; tested elsewhere: {:?}",
        tally.files,
        tally.serialization_samples,
        tally.validation_samples,
        tally.skipped_samples,
        tally.variants_decoded,
        tally.variants_other_dialect,
        tally.encodings_matched,
        tally.serializer_keys_not_implemented,
        tally.elsewhere,
    );
    assert!(
        failures.is_empty(),
        "{} vector failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // Sanity: the run did test something with every serializer.
    assert!(tally.encodings_matched >= Serializer::ALL.len() * tally.serialization_samples);
}

/// The bytes of a variant: `bytes_hex` is authoritative, then `bytes_base64`, then `bytes`.
/// Where several are given they must agree.
fn variant_bytes(v: &Variant) -> Result<Vec<u8>, String> {
    let hex = v
        .bytes_hex
        .as_deref()
        .map(|h| hex::decode(h).map_err(|e| format!("bad bytes_hex: {e}")))
        .transpose()?;
    let b64 = v
        .bytes_base64
        .as_deref()
        .map(|b| {
            base64::engine::general_purpose::STANDARD
                .decode(b)
                .map_err(|e| format!("bad bytes_base64: {e}"))
        })
        .transpose()?;
    let text = v.bytes.as_deref().map(|t| t.as_bytes().to_vec());
    let all: Vec<&Vec<u8>> = [&hex, &b64, &text].into_iter().flatten().collect();
    let first = all.first().ok_or("variant without bytes")?;
    if all.iter().any(|b| b != first) {
        return Err("variant's bytes_hex / bytes_base64 / bytes disagree".into());
    }
    Ok((*first).clone())
}

fn is_other_dialect(key: &str, v: &Variant) -> bool {
    OTHER_DIALECTS
        .iter()
        .any(|(k, note)| *k == key && v.note.as_deref().is_some_and(|n| n.contains(note)))
}

fn serializer_for(key: &str) -> Option<Serializer> {
    Serializer::ALL.into_iter().find(|s| s.name() == key)
}

fn check_serialization(
    vf: &VectorFile,
    serializers: &BTreeMap<String, Vec<Variant>>,
    expected: &serde_json::Map<String, Json>,
    tally: &mut Tally,
) -> Result<(), String> {
    for s in Serializer::ALL {
        if !serializers.contains_key(s.name()) {
            return Err(format!(
                "no `{}` variants for a serializer we implement",
                s.name()
            ));
        }
    }
    for (key, variants) in serializers {
        let Some(ser) = serializer_for(key) else {
            if !NOT_IMPLEMENTED_SERIALIZERS.iter().any(|(k, _)| k == key) {
                return Err(format!("unknown serializer key `{key}`"));
            }
            *tally
                .serializer_keys_not_implemented
                .entry(key.clone())
                .or_default() += 1;
            continue;
        };
        let mut ours: Vec<Vec<u8>> = Vec::new();
        let mut decoded: Vec<Message> = Vec::new();
        let mut lenient: Vec<Vec<u8>> = Vec::new();
        for (i, v) in variants.iter().enumerate() {
            let bytes = variant_bytes(v).map_err(|e| format!("{key} variant {i}: {e}"))?;
            if is_other_dialect(key, v) {
                lenient.push(bytes);
                continue;
            }
            let m = ser
                .decode(&bytes)
                .map_err(|e| format!("{key} variant {i} does not decode: {e}"))?;
            tally.variants_decoded += 1;
            decoded.push(m);
            ours.push(bytes);
        }
        for bytes in lenient {
            if ours.contains(&bytes) {
                // Identical to a variant of our dialect: already decoded and checked.
                tally.variants_decoded += 1;
            } else {
                // Another dialect: it must not panic, whatever it decodes to.
                let _ = ser.decode(&bytes);
                tally.variants_other_dialect += 1;
            }
        }
        let Some(first) = decoded.first() else {
            return Err(format!("no {key} variant of our dialect"));
        };
        if let Some(other) = decoded.iter().find(|m| *m != first) {
            return Err(format!(
                "{key} variants decode differently:\n  {first:?}\n  {other:?}"
            ));
        }
        if first.kind().code() != vf.wamp_message_code
            || first.kind().name() != vf.wamp_message_type
        {
            return Err(format!(
                "{key}: decoded a {} ({}), the file is about {} ({})",
                first.kind().name(),
                first.kind().code(),
                vf.wamp_message_type,
                vf.wamp_message_code
            ));
        }
        check_attributes(first, expected).map_err(|e| format!("{key}: {e}"))?;
        let encoded = ser
            .encode_to_vec(first)
            .map_err(|e| format!("{key}: cannot encode: {e}"))?;
        if !ours.contains(&encoded) {
            return Err(format!(
                "{key}: our encoding matches no listed variant:\n  ours   {}\n  listed {:?}",
                hex::encode(&encoded),
                ours.iter().map(hex::encode).collect::<Vec<_>>()
            ));
        }
        tally.encodings_matched += 1;
        let again = ser
            .decode(&encoded)
            .map_err(|e| format!("{key}: our encoding does not decode: {e}"))?;
        if &again != first {
            return Err(format!("{key}: decode(encode(m)) != m"));
        }
    }
    Ok(())
}

/// Compares a decoded message with `expected_attributes` (dicts compared without regard to
/// key order; `null` means "element absent").
fn check_attributes(m: &Message, expected: &serde_json::Map<String, Json>) -> Result<(), String> {
    if !expected.contains_key("message_type") {
        return Err("expected_attributes without message_type".into());
    }
    for (name, want) in expected {
        let got = attribute(m, name)?;
        let want = if name == "payload" {
            match want {
                Json::Null => None,
                Json::String(h) => Some(Value::Bytes(
                    hex::decode(h).map_err(|e| format!("payload is not hex: {e}"))?,
                )),
                other => return Err(format!("payload must be hex or null, is {other}")),
            }
        } else if want.is_null() {
            None
        } else {
            Some(json_to_value(want))
        };
        if got.as_ref().map(canonical) != want.as_ref().map(canonical) {
            return Err(format!(
                "attribute `{name}`: decoded {got:?}, expected {want:?}"
            ));
        }
    }
    Ok(())
}

/// One named attribute of a message, as the vector files name them (section 10.3 of
/// FEATURE-MAP.md: names differ per file, so the common spellings are all accepted).
/// `None` means the element is absent.
fn attribute(m: &Message, name: &str) -> Result<Option<Value>, String> {
    let id = |v: u64| Some(Value::UInt(v));
    let dict = |d: &Dict| Some(Value::Dict(d.clone()));
    let text = |s: &str| Some(Value::Str(s.to_owned()));
    if name == "message_type" {
        return Ok(id(m.kind().code()));
    }
    if let Some(p) = payload_of(m)
        && let Some(v) = payload_attribute(p, name)
    {
        return Ok(v);
    }
    let v = match (m, name) {
        (Message::Hello(h), "realm") => text(h.realm.as_str()),
        (Message::Hello(h), "details") => dict(&h.details),
        (Message::Hello(h), "roles") => h.details.get("roles").cloned(),
        (Message::Welcome(w), "session" | "session_id") => id(w.session.get()),
        (Message::Welcome(w), "details") => dict(&w.details),
        (Message::Welcome(w), "roles") => w.details.get("roles").cloned(),
        (Message::Abort(a), "details") => dict(&a.details),
        (Message::Abort(a), "reason") => text(a.reason.as_str()),
        (Message::Challenge(c), "method" | "auth_method" | "authmethod") => text(&c.auth_method),
        (Message::Challenge(c), "extra") => dict(&c.extra),
        (Message::Authenticate(a), "signature") => text(&a.signature),
        (Message::Authenticate(a), "extra") => dict(&a.extra),
        (Message::Goodbye(g), "details") => dict(&g.details),
        (Message::Goodbye(g), "reason") => text(g.reason.as_str()),
        (Message::Error(e), "request_type") => id(e.request_type.code()),
        (Message::Error(e), "request" | "request_id") => id(e.request.get()),
        (Message::Error(e), "details") => dict(&e.details),
        (Message::Error(e), "error") => text(e.error.as_str()),
        (Message::Publish(p), "request" | "request_id") => id(p.request.get()),
        (Message::Publish(p), "options") => dict(&p.options),
        (Message::Publish(p), "topic") => text(p.topic.as_str()),
        (Message::Published(p), "request" | "request_id") => id(p.request.get()),
        (Message::Published(p), "publication" | "publication_id") => id(p.publication.get()),
        (Message::Subscribe(s), "request" | "request_id") => id(s.request.get()),
        (Message::Subscribe(s), "options") => dict(&s.options),
        (Message::Subscribe(s), "topic") => text(s.topic.as_str()),
        (Message::Subscribed(s), "request" | "request_id") => id(s.request.get()),
        (Message::Subscribed(s), "subscription" | "subscription_id") => id(s.subscription.get()),
        (Message::Unsubscribe(u), "request" | "request_id") => id(u.request.get()),
        (Message::Unsubscribe(u), "subscription" | "subscription_id") => id(u.subscription.get()),
        (Message::Unsubscribed(u), "request" | "request_id") => {
            id(u.request.map_or(0, |r| r.get()))
        }
        (Message::Unsubscribed(u), "details") => dict(&u.details),
        (Message::Event(e), "subscription" | "subscription_id") => id(e.subscription.get()),
        (Message::Event(e), "publication" | "publication_id") => id(e.publication.get()),
        (Message::Event(e), "details") => dict(&e.details),
        (Message::Call(c), "request" | "request_id") => id(c.request.get()),
        (Message::Call(c), "options") => dict(&c.options),
        (Message::Call(c), "procedure") => text(c.procedure.as_str()),
        (Message::Cancel(c), "request" | "request_id") => id(c.request.get()),
        (Message::Cancel(c), "options") => dict(&c.options),
        (Message::Result(r), "request" | "request_id") => id(r.request.get()),
        (Message::Result(r), "details") => dict(&r.details),
        (Message::Register(r), "request" | "request_id") => id(r.request.get()),
        (Message::Register(r), "options") => dict(&r.options),
        (Message::Register(r), "procedure") => text(r.procedure.as_str()),
        (Message::Registered(r), "request" | "request_id") => id(r.request.get()),
        (Message::Registered(r), "registration" | "registration_id") => id(r.registration.get()),
        (Message::Unregister(u), "request" | "request_id") => id(u.request.get()),
        (Message::Unregister(u), "registration" | "registration_id") => id(u.registration.get()),
        (Message::Unregistered(u), "request" | "request_id") => {
            id(u.request.map_or(0, |r| r.get()))
        }
        (Message::Unregistered(u), "details") => dict(&u.details),
        (Message::Invocation(i), "request" | "request_id") => id(i.request.get()),
        (Message::Invocation(i), "registration" | "registration_id") => id(i.registration.get()),
        (Message::Invocation(i), "details") => dict(&i.details),
        (Message::Interrupt(i), "request" | "request_id") => id(i.request.get()),
        (Message::Interrupt(i), "options") => dict(&i.options),
        (Message::Yield(y), "request" | "request_id") => id(y.request.get()),
        (Message::Yield(y), "options") => dict(&y.options),
        (Message::EventReceived(e), "publication" | "publication_id") => id(e.publication.get()),
        (m, name) => {
            return Err(format!(
                "expected_attributes names `{name}`, which this test cannot read from a {}: \
                 teach `attribute` the new name",
                m.kind().name()
            ));
        }
    };
    Ok(v)
}

/// The payload of the messages that carry one.
fn payload_of(m: &Message) -> Option<&Payload> {
    match m {
        Message::Abort(x) => Some(&x.payload),
        Message::Error(x) => Some(&x.payload),
        Message::Publish(x) => Some(&x.payload),
        Message::Event(x) => Some(&x.payload),
        Message::Call(x) => Some(&x.payload),
        Message::Result(x) => Some(&x.payload),
        Message::Invocation(x) => Some(&x.payload),
        Message::Yield(x) => Some(&x.payload),
        _ => None,
    }
}

/// `args`, `kwargs` and `payload` (the opaque binary element) of a payload. The `args` element
/// is present when there are positional arguments or keyword arguments (it precedes them).
fn payload_attribute(p: &Payload, name: &str) -> Option<Option<Value>> {
    let v = match (p, name) {
        (Payload::Transparent(b), "payload") => Some(Value::Bytes(b.clone())),
        (Payload::Transparent(_), "args" | "kwargs") => None,
        (Payload::Args { .. }, "payload") => None,
        (Payload::Args { args, kwargs }, "args") => {
            (!args.is_empty() || !kwargs.is_empty()).then(|| Value::List(args.clone()))
        }
        (Payload::Args { kwargs, .. }, "kwargs") => {
            (!kwargs.is_empty()).then(|| Value::Dict(kwargs.clone()))
        }
        _ => return None,
    };
    Some(v)
}

/// A copy with every dict's keys sorted, so that comparisons ignore key order.
fn canonical(v: &Value) -> Value {
    match v {
        Value::List(l) => Value::List(l.iter().map(canonical).collect()),
        Value::Dict(d) => {
            let mut entries: Vec<(&str, &Value)> = d.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            Value::Dict(
                entries
                    .into_iter()
                    .map(|(k, v)| (k, canonical(v)))
                    .collect(),
            )
        }
        other => other.clone(),
    }
}

/// Converts a JSON value into a [`Value`] as our JSON decoder would: non-negative integers as
/// `UInt`, negative ones as `Int`, other numbers as `Float`, and strings that start with
/// U+0000 as base64 bytes (the spec's binary convention).
pub(crate) fn json_to_value(j: &Json) -> Value {
    match j {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Bool(*b),
        Json::Number(n) => {
            if let Some(u) = n.as_u64() {
                Value::UInt(u)
            } else if let Some(i) = n.as_i64() {
                Value::Int(i)
            } else {
                Value::Float(n.as_f64().unwrap_or(f64::NAN))
            }
        }
        Json::String(s) => match s.strip_prefix('\0') {
            Some(b64) => Value::Bytes(
                base64::engine::general_purpose::STANDARD
                    .decode(b64)
                    .unwrap_or_else(|e| panic!("bad binary string in a vector: {e}")),
            ),
            None => Value::Str(s.clone()),
        },
        Json::Array(a) => Value::List(a.iter().map(json_to_value).collect()),
        Json::Object(o) => Value::Dict(
            o.iter()
                .map(|(k, v)| (k.as_str(), json_to_value(v)))
                .collect(),
        ),
    }
}

fn check_validation(wmsg: &Json, expected_error: Option<&ExpectedError>) -> Result<(), String> {
    let r = Message::from_value(&json_to_value(wmsg));
    match (expected_error, r) {
        (None, Ok(m)) => {
            for s in Serializer::ALL {
                let bytes = s
                    .encode_to_vec(&m)
                    .map_err(|e| format!("{}: cannot encode: {e}", s.name()))?;
                let again = s
                    .decode(&bytes)
                    .map_err(|e| format!("{}: our encoding does not decode: {e}", s.name()))?;
                if again != m {
                    return Err(format!("{}: decode(encode(m)) != m", s.name()));
                }
            }
            Ok(())
        }
        (None, Err(e)) => Err(format!("a valid message is rejected: {e}")),
        (Some(want), Ok(m)) => Err(format!(
            "accepted a message that must fail with a {} about `{}`: {m:?}",
            want.kind, want.contains
        )),
        (Some(want), Err(e)) => {
            if want.kind != "protocol_violation" {
                return Err(format!("unknown expected_error type `{}`", want.kind));
            }
            let text = e.to_string();
            if text.contains(&want.contains) {
                Ok(())
            } else {
                Err(format!(
                    "rejected, but the error `{text}` does not mention `{}`",
                    want.contains
                ))
            }
        }
    }
}

/// The vectors' byte variants of one serializer, of our dialect, for the fuzz corpus seeds
/// and other tests: (file, sample index, bytes).
pub(crate) fn serialized_variants(key: &str) -> Vec<(String, usize, Vec<u8>)> {
    let root = testsuite_dir();
    let mut out = Vec::new();
    for (file, expect) in EXPECTED_FILES {
        if !matches!(expect, Expect::Single(..)) {
            continue;
        }
        let text = std::fs::read_to_string(root.join(file)).unwrap();
        let vf: VectorFile = serde_json::from_str(&text).unwrap();
        for (index, sample) in vf.samples.iter().enumerate() {
            if let Sample::Serialization { serializers, .. } = sample {
                for v in serializers.get(key).into_iter().flatten() {
                    if !is_other_dialect(key, v) {
                        out.push((file.to_string(), index, variant_bytes(v).unwrap()));
                    }
                }
            }
        }
    }
    out
}

#[test]
fn json_converter_follows_the_json_decoder() {
    let j: Json =
        serde_json::from_str(r#"[1, -2, 2.5, "a", "\u0000AQI=", {"k": [true, null]}]"#).unwrap();
    let want = Value::List(vec![
        Value::UInt(1),
        Value::Int(-2),
        Value::Float(2.5),
        Value::Str("a".into()),
        Value::Bytes(vec![1, 2]),
        Value::Dict(Dict::new().with("k", Value::List(vec![true.into(), Value::Null]))),
    ]);
    assert_eq!(json_to_value(&j), want);
}
