//! Authentication maths against values computed by Autobahn-Python's own implementation
//! (wamp-proto/tests-data/gen_auth_vectors.py, output committed as auth_vectors.json).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::Value as J;
use wamp_proto::auth::{
    KdfLimits, base64_decode, base64_encode,
    cryptosign::{self, CryptosignKey},
    scram::{self, Kdf, ScramClient, ScramKeys, ScramProfile},
    ticket, wampcra,
};
use wamp_proto::{Dict, Value};

const VECTORS: &str = include_str!("../../wamp-proto/tests-data/auth_vectors.json");

fn vectors() -> J {
    serde_json::from_str(VECTORS).unwrap()
}

fn s<'a>(v: &'a J, k: &str) -> &'a str {
    v[k].as_str().unwrap_or_else(|| panic!("field {k}"))
}

fn to_dict(v: &J) -> Dict {
    let mut d = Dict::new();
    for (k, v) in v.as_object().unwrap() {
        let val = match v {
            J::String(x) => Value::from(x.as_str()),
            J::Number(n) => Value::from(n.as_u64().unwrap()),
            J::Null => Value::Null,
            other => panic!("unexpected {other}"),
        };
        d.insert(k.as_str(), val);
    }
    d
}

#[test]
fn ticket_vectors() {
    let v = vectors();
    let list = v["ticket"].as_array().unwrap();
    assert!(!list.is_empty());
    for t in list {
        assert_eq!(ticket::signature(s(t, "ticket")), s(t, "signature"));
        assert!(ticket::verify(s(t, "ticket"), s(t, "signature")));
    }
}

#[test]
fn wampcra_vectors() {
    let v = vectors();
    let list = v["wampcra"].as_array().unwrap();
    assert_eq!(list.len(), 3);
    for t in list {
        let extra = Dict::new().with("challenge", s(t, "challenge"));
        let sig =
            wampcra::compute_signature(s(t, "secret"), &extra, &KdfLimits::default()).unwrap();
        assert_eq!(sig, s(t, "signature"));
        assert!(wampcra::verify(
            s(t, "secret").as_bytes(),
            s(t, "challenge"),
            &sig
        ));
        assert!(!wampcra::verify(b"wrong", s(t, "challenge"), &sig));
    }
}

#[test]
fn wampcra_salted_vectors() {
    let v = vectors();
    let list = v["wampcra_salted"].as_array().unwrap();
    assert_eq!(list.len(), 3);
    for t in list {
        let mut extra = Dict::new().with("challenge", s(t, "challenge"));
        let params = wampcra::SaltParams {
            salt: s(t, "salt").to_owned(),
            iterations: t["iterations"].as_u64().unwrap() as u32,
            keylen: t["keylen"].as_u64().unwrap() as u32,
        };
        params.write_into(&mut extra);
        let key = wampcra::derive_key(s(t, "secret"), &params, &KdfLimits::default()).unwrap();
        assert_eq!(key, s(t, "derived_key"));
        let sig =
            wampcra::compute_signature(s(t, "secret"), &extra, &KdfLimits::default()).unwrap();
        assert_eq!(sig, s(t, "signature"));
        assert!(wampcra::verify(key.as_bytes(), s(t, "challenge"), &sig));
    }
}

#[test]
fn cryptosign_vectors() {
    let v = vectors();
    let list = v["cryptosign"].as_array().unwrap();
    assert_eq!(list.len(), 8);
    for t in list {
        let key = CryptosignKey::from_hex(s(t, "private_key")).unwrap();
        assert_eq!(key.public_key_hex(), s(t, "public_key"));
        let cid = t["channel_id"]
            .as_str()
            .map(|c| cryptosign::hex32(c).unwrap());
        let sig = key.sign_challenge(s(t, "challenge"), cid.as_ref()).unwrap();
        assert_eq!(sig, s(t, "signature"));
        let ch = cryptosign::hex32(s(t, "challenge")).unwrap();
        cryptosign::verify_signature(&key.public_key(), &ch, cid.as_ref(), &sig).unwrap();
    }
}

fn check_scram(t: &J) {
    let client = ScramClient::with_nonce(
        ScramProfile::Autobahn,
        s(t, "authid"),
        s(t, "password"),
        s(t, "client_nonce").to_owned(),
    );
    let extra = to_dict(&t["challenge"]);
    let r = client.respond(&extra, &KdfLimits::default()).unwrap();
    assert_eq!(r.signature, s(t, "signature"));
    assert!(
        r.extra.is_empty(),
        "Autobahn sends an empty AUTHENTICATE extra"
    );
    assert_eq!(
        base64_encode(&r.server_signature),
        s(t, "scram_server_signature")
    );
    let welcome = Dict::new().with("scram_server_signature", s(t, "scram_server_signature"));
    r.verify_welcome(Some(&welcome)).unwrap();

    // The pieces, one by one, as a router would use them.
    let kdf = Kdf::from_extra(&extra).unwrap();
    let salt = base64_decode(s(&t["challenge"], "salt")).unwrap();
    let sp = scram::salted_password(
        ScramProfile::Autobahn,
        s(t, "password"),
        &salt,
        kdf,
        &KdfLimits::default(),
    )
    .unwrap();
    assert_eq!(base64_encode(&sp), s(t, "salted_password_b64"));
    let keys = ScramKeys::from_salted_password(&sp);
    assert_eq!(hex::encode(keys.stored_key), s(t, "stored_key"));
    assert_eq!(hex::encode(keys.server_key), s(t, "server_key"));
    let am = scram::auth_message(
        ScramProfile::Autobahn,
        &scram::AuthMessageParts {
            authid: s(t, "authid"),
            client_nonce: s(t, "client_nonce"),
            nonce: s(&t["challenge"], "nonce"),
            salt: s(&t["challenge"], "salt"),
            iterations: kdf.iterations(),
            channel_binding: None,
            cbind_data: None,
        },
    )
    .unwrap();
    assert_eq!(am, s(t, "auth_message"));
    let proof = base64_decode(s(t, "signature")).unwrap();
    assert!(scram::verify_client_proof(&keys.stored_key, &am, &proof));
}

#[test]
fn scram_argon2_vectors() {
    let v = vectors();
    let list = v["scram_argon2"].as_array().unwrap();
    assert_eq!(list.len(), 2);
    list.iter().for_each(check_scram);
}

#[test]
fn scram_pbkdf2_vectors() {
    let v = vectors();
    let list = v["scram_pbkdf2"].as_array().unwrap();
    assert_eq!(list.len(), 1);
    list.iter().for_each(check_scram);
}

/// Crossbar's configuration format for SCRAM principals, as Autobahn's
/// `derive_scram_credential` produces it (argon2id-13, t=4096, m=512).
#[test]
fn scram_crossbar_credential() {
    let v = vectors();
    let c = &v["scram_credential"];
    let cred = &c["credential"];
    assert_eq!(s(cred, "kdf"), "argon2id-13");
    let kdf = Kdf::Argon2id13 {
        iterations: cred["iterations"].as_u64().unwrap() as u32,
        memory_kib: cred["memory"].as_u64().unwrap() as u32,
    };
    assert_eq!(kdf.name(ScramProfile::Autobahn), "argon2id-13");
    let salt = hex::decode(s(cred, "salt")).unwrap();
    let derived =
        scram::derive_credential(ScramProfile::Autobahn, s(c, "password"), &salt, kdf).unwrap();
    assert_eq!(hex::encode(derived.keys.stored_key), s(cred, "stored-key"));
    assert_eq!(hex::encode(derived.keys.server_key), s(cred, "server-key"));
}
