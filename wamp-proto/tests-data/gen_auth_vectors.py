#!/usr/bin/env python3
"""Prints authentication test vectors computed by Autobahn-Python's own code, as JSON.

The Rust tests (wamp-proto/src/auth, tests/it/client_auth_vectors.rs) compare our results with
the committed output, auth_vectors.json; they never run Python. Regenerate with:

    python3 -m venv /tmp/abvenv
    /tmp/abvenv/bin/pip install 'autobahn[serialization,encryption,scram]==26.10.2' 'numpy<2' \
        -c ../../../shared/third-party/python-constraints.txt
    /tmp/abvenv/bin/python gen_auth_vectors.py > auth_vectors.json

Every input is fixed, so the output is reproducible (Ed25519 signatures are deterministic).
"""

import asyncio
import base64
import binascii
import hashlib
import hmac
import json

import txaio

txaio.use_asyncio()
LOOP = asyncio.new_event_loop()
asyncio.set_event_loop(LOOP)
txaio.config.loop = LOOP

import autobahn  # noqa: E402
from autobahn.wamp import auth  # noqa: E402
from autobahn.wamp.cryptosign import CryptosignKey  # noqa: E402
from autobahn.wamp.types import Challenge  # noqa: E402


def resolve(value):
    """Cryptosign signing returns a txaio (asyncio) future: run the loop until it resolves."""
    if txaio.is_future(value):
        return LOOP.run_until_complete(value)
    return value


CHALLENGE_JSON = (
    '{"authid": "client1", "authrole": "frontend", "authmethod": "wampcra", '
    '"authprovider": "static", "session": 5140915082691617, '
    '"nonce": "4YoonXhegaqWtY4JLJrEzvgiVCtWsnaDPgDCxzsbkFOcWJi3z/nRMyhKOj/vas0R", '
    '"timestamp": "2020-08-18T20:47:37.395Z"}'
)


def ticket_vectors():
    out = []
    for t in ["secret!!!", "s p a c e", "\u00fcml\u00e4ut"]:
        a = auth.AuthTicket(authid="joe", ticket=t)
        out.append({"ticket": t, "signature": a.on_challenge(None, Challenge("ticket", {}))})
    return out


def wampcra_vectors():
    out = []
    for secret, challenge in [
        ("secret123", CHALLENGE_JSON),
        ("prq7+YkJ1/KlW1X0YczMHw==", CHALLENGE_JSON),
        ("\u00fcml\u00e4ut \u2603", "any string is signed verbatim, even when it is not JSON"),
    ]:
        a = auth.AuthWampCra(authid="client1", secret=secret)
        sig = a.on_challenge(None, Challenge("wampcra", {"challenge": challenge}))
        assert sig == auth.compute_wcs(secret.encode("utf8"), challenge.encode("utf8")).decode()
        out.append({"secret": secret, "challenge": challenge, "signature": sig})
    return out


def wampcra_salted_vectors():
    out = []
    for secret, salt, iterations, keylen in [
        ("secret123", "salt123", 1000, 32),
        ("secret123", "salt123", 100, 16),
        ("\u00fcml\u00e4ut", "s\u00e4lt", 2000, 64),
    ]:
        extra = {"challenge": CHALLENGE_JSON, "salt": salt, "iterations": iterations, "keylen": keylen}
        a = auth.AuthWampCra(authid="client1", secret=secret)
        sig = a.on_challenge(None, Challenge("wampcra", extra))
        derived = auth.derive_key(secret, salt, iterations, keylen).decode("ascii")
        out.append(
            {
                "secret": secret,
                "salt": salt,
                "iterations": iterations,
                "keylen": keylen,
                "challenge": CHALLENGE_JSON,
                "derived_key": derived,
                "signature": sig,
            }
        )
    return out


def cryptosign_vectors():
    out = []
    seeds = [
        "4d57d97a68f555696620a6d849c0ce582568518d729eb753dc7c732de2804510",
        "0101010101010101010101010101010101010101010101010101010101010101",
    ]
    challenges = [
        "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
        "0e9192bc08512c8198da159c1ae600ba91729215f35d56102ee318558e773537",
    ]
    channel_id = "62e935ae755f3d48f80d4d59f6121358c435722a67e859cc0caa8b539027f2ff"
    for seed in seeds:
        key = CryptosignKey.from_bytes(binascii.a2b_hex(seed))
        for ch in challenges:
            for cid in [None, channel_id]:
                c = Challenge("cryptosign", {"challenge": ch})
                if cid is None:
                    sig = resolve(key.sign_challenge(c))
                else:
                    sig = resolve(
                        key.sign_challenge(c, channel_id=binascii.a2b_hex(cid), channel_id_type="tls-unique")
                    )
                out.append(
                    {
                        "private_key": seed,
                        "public_key": key.public_key(),
                        "challenge": ch,
                        "channel_id": cid,
                        "signature": sig,
                    }
                )
    return out


class _FakeSession:
    """on_welcome only logs through the session."""

    log = txaio.make_logger()


def scram_vector(authid, password, client_nonce_raw, server_nonce_raw, salt_raw, kdf, iterations, memory):
    """Runs Autobahn's AuthScram client against a challenge shaped as Crossbar sends it."""
    a = auth.AuthScram(authid=authid, password=password)
    a._client_nonce = base64.b64encode(client_nonce_raw).decode("ascii")
    nonce = base64.b64encode(client_nonce_raw + server_nonce_raw).decode("ascii")
    extra = {
        "nonce": nonce,
        "kdf": kdf,
        "salt": base64.b64encode(salt_raw).decode("ascii"),
        "iterations": iterations,
    }
    if memory is not None:  # Autobahn's client cannot take "memory": null
        extra["memory"] = memory
    proof = a.on_challenge(None, Challenge("scram", extra)).decode("ascii")
    server_key = hmac.new(a._salted_password, b"Server Key", hashlib.sha256).digest()
    server_sig = base64.b64encode(hmac.new(server_key, a._auth_message, hashlib.sha256).digest()).decode()
    assert a.on_welcome(_FakeSession(), {"scram_server_signature": server_sig}) is None
    assert a.on_welcome(_FakeSession(), {"scram_server_signature": base64.b64encode(b"x" * 32)}) is not None
    client_key = hmac.new(a._salted_password, b"Client Key", hashlib.sha256).digest()
    return {
        "authid": authid,
        "password": password,
        "client_nonce": a._client_nonce,
        "challenge": extra,
        "auth_message": a._auth_message.decode("ascii"),
        "salted_password_b64": base64.b64encode(a._salted_password).decode("ascii"),
        "stored_key": hashlib.sha256(client_key).hexdigest(),
        "server_key": server_key.hex(),
        "signature": proof,
        "scram_server_signature": server_sig,
    }


def scram_argon2_vectors():
    return [
        scram_vector("user1", "secret123", bytes(range(16)), bytes(range(100, 116)),
                     bytes(range(200, 216)), "argon2id-13", 3, 64),
        scram_vector("user,2=x", "p\u00e4ssw\u00f6rd \u2603", b"\x42" * 16, b"\x17" * 16,
                     b"saltsaltsaltsalt", "argon2id-13", 8, 512),
    ]


def scram_pbkdf2_vectors():
    # Autobahn 26.10.2 passes the salt *text* to its pbkdf2(), which requires bytes and raises
    # ValueError. We run its client with that one helper fixed to use the decoded salt, which is
    # what its argon2 branch does; everything else (AuthMessage, proof) is Autobahn's own code.
    original = auth._hash_pbkdf2_secret
    auth._hash_pbkdf2_secret = lambda pw, salt, it: auth.pbkdf2(pw, base64.b64decode(salt), it, keylen=32)
    try:
        return [
            scram_vector("user1", "secret123", bytes(range(16)), bytes(range(100, 116)),
                         bytes(range(200, 216)), "pbkdf2", 4096, None),
        ]
    finally:
        auth._hash_pbkdf2_secret = original


def crossbar_credential():
    # derive_scram_credential: the argon2id-13 credential Crossbar's config takes (t=4096, m=512).
    c = auth.derive_scram_credential("user1@example.com", "secret123", salt=bytes(range(16)))
    return {"email": "user1@example.com", "password": "secret123", "credential": c}


def main():
    vectors = {
        "generator": "gen_auth_vectors.py with autobahn " + autobahn.__version__,
        "ticket": ticket_vectors(),
        "wampcra": wampcra_vectors(),
        "wampcra_salted": wampcra_salted_vectors(),
        "cryptosign": cryptosign_vectors(),
        "scram_argon2": scram_argon2_vectors(),
        "scram_pbkdf2": scram_pbkdf2_vectors(),
        "scram_credential": crossbar_credential(),
    }
    print(json.dumps(vectors, indent=2, ensure_ascii=True))


if __name__ == "__main__":
    main()
