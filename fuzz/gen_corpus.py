#!/usr/bin/env python3
"""Writes the committed seed corpus of the fuzz targets (fuzz/corpus/<target>/).

Decoder targets: one byte variant of every serialization sample of the official vectors
(shared/wamp-spec/testsuite, beside the repository root), plus hand-made malformed inputs
(truncation, huge claimed lengths, deep nesting, bad UTF-8, bad base64, duplicate keys, IDs out
of range, odd number encodings). Transport targets (rawsocket_framer, link): handshakes, frame
sequences and (batched) WebSocket messages built from the same vectors, valid and broken, laid
out as the targets read their control octets. Deterministic: running it twice writes the same
files.
Standard library only.

    python3 fuzz/gen_corpus.py
"""

import json
import pathlib
import shutil
import sys

HERE = pathlib.Path(__file__).resolve().parent


def testsuite():
    for d in HERE.parents:
        t = d / "shared" / "wamp-spec" / "testsuite"
        if t.is_dir():
            return t
    sys.exit("shared/wamp-spec/testsuite not found beside the repository root")


def vector_seeds(key):
    """(name, bytes) of the first variant of our dialect of every serialization sample."""
    root = testsuite()
    out = []
    for path in sorted(root.glob("singlemessage/**/*.json")):
        vf = json.loads(path.read_text())
        for i, sample in enumerate(vf["samples"]):
            variants = sample.get("serializers", {}).get(key, [])
            # The legacy py-ubjson variant is another dialect than ours (BJData).
            variants = [v for v in variants if "py-ubjson" not in (v.get("note") or "")]
            if not variants:
                continue
            v = variants[-1]
            if "bytes_hex" in v:
                b = bytes.fromhex(v["bytes_hex"])
            else:
                b = v["bytes"].encode()
            out.append((f"vector-{path.stem}-{i}", b))
    return out


DEEP = 200


def json_malformed():
    call = b'[48,1,{},"com.example.add",[2,3],{"k":1}]'
    return [
        ("empty", b""),
        ("truncated", call[:17]),
        ("trailing-bytes", call + b" x"),
        ("not-a-list", b'{"a":1}'),
        ("empty-list", b"[]"),
        ("unknown-type", b"[7]"),
        ("float-type", b"[48.0,1,{},\"a\"]"),
        ("id-zero", b'[48,0,{},"a"]'),
        ("id-above-2-53", b'[48,9007199254740993,{},"a"]'),
        ("id-negative", b'[48,-1,{},"a"]'),
        ("too-many-elements", b'[48,1,{},"a",[],{},1]'),
        ("duplicate-key", b'[48,1,{},"a",[],{"k":1,"k":2}]'),
        ("bad-option-type", b'[16,1,{"acknowledge":1},"t"]'),
        ("bad-base64", b'[48,1,{},"a",["\\u0000!!!"]]'),
        ("binary-uri", b'[48,1,{},"\\u0000AAAA"]'),
        ("transparent-payload", b'[16,1,{},"t","\\u0000gqVj"]'),
        ("float-overflow", b'[48,1,{},"a",[1e999]]'),
        ("int-beyond-u64", b'[48,1,{},"a",[18446744073709551616]]'),
        ("int-below-i64", b'[48,1,{},"a",[-9223372036854775809]]'),
        ("lone-surrogate", b'[1,"\\ud800",{}]'),
        ("invalid-utf8", b'[1,"\xff\xfe",{}]'),
        ("deep-nesting", b'[48,1,{},"a",' + b"[" * DEEP + b"]" * DEEP + b"]"),
        ("revocation", b'[67,0,{"registration":5,"reason":"wamp.error.x"}]'),
        ("error-bad-request-type", b'[8,1,1,{},"wamp.error.x"]'),
    ]


def msgpack_malformed():
    # [48, 1, {}, "a", [2, 3], {"k": 1}]
    call = bytes.fromhex("963001" "80" "a161" "920203" "81a16b01")
    return [
        ("empty", b""),
        ("truncated", call[:5]),
        ("trailing-bytes", call + b"\x00"),
        ("array32-huge-length", b"\xdd\xff\xff\xff\xff\x30"),
        ("map32-huge-length", bytes.fromhex("943001") + b"\xdf\xff\xff\xff\xff"),
        ("bin32-huge-length", bytes.fromhex("953001" "80" "a161") + b"\xc6\xff\xff\xff\xff"),
        ("str32-huge-length", bytes.fromhex("9301") + b"\xdb\xff\xff\xff\xff"),
        ("invalid-utf8", bytes.fromhex("9301a2fffe80")),
        ("ext-type", bytes.fromhex("953001" "80" "a161" "91d40100")),
        ("reserved-c1", bytes.fromhex("953001" "80" "a161" "91c1")),
        ("int-key", bytes.fromhex("9301a161" "810102")),
        ("duplicate-key", bytes.fromhex("963001" "80" "a161" "90" "82a16b01a16b02")),
        ("u64-max-id", bytes.fromhex("9302cfffffffffffffffff80")),
        ("nan-arg", bytes.fromhex("953001" "80" "a161" "91cb7ff8000000000000")),
        ("f32-arg", bytes.fromhex("953001" "80" "a161" "91ca3fc00000")),
        ("transparent-payload", bytes.fromhex("951001" "80" "a174" "c403010203")),
        ("deep-nesting", bytes.fromhex("953001" "80" "a161") + b"\x91" * DEEP + b"\xc0"),
    ]


def cbor_malformed():
    # [48, 1, {}, "a", [2, 3], {"k": 1}]
    call = bytes.fromhex("86183001" "a0" "6161" "820203" "a1616b01")
    return [
        ("empty", b""),
        ("truncated", call[:6]),
        ("trailing-bytes", call + b"\x00"),
        ("lone-break", b"\xff"),
        ("indefinite-unterminated", b"\x9f\x18\x30\x01"),
        ("indefinite-message", bytes.fromhex("9f183001" "bfff" "6161" "9f0203ff" "ff")),
        ("array-huge-length", b"\x9b" + b"\xff" * 8),
        ("map-huge-length", bytes.fromhex("83183001") + b"\xbb" + b"\xff" * 8),
        ("bytes-huge-length", bytes.fromhex("85183001a06161") + b"\x5b" + b"\xff" * 8),
        ("text-chunks", bytes.fromhex("83017f6261626163ff" "a0")),
        ("text-chunk-wrong-type", bytes.fromhex("83017f4161ff" "a0")),
        ("invalid-utf8", bytes.fromhex("830162fffea0")),
        ("tagged-values", bytes.fromhex("c18301" "c06161" "a0")),
        ("half-float-nan", bytes.fromhex("85183001a06161" "81f97e00")),
        ("half-float-subnormal", bytes.fromhex("85183001a06161" "81f90001")),
        ("undefined-and-simple", bytes.fromhex("85183001a06161" "82f7f820")),
        ("negative-beyond-i64", bytes.fromhex("85183001a06161" "813bffffffffffffffff")),
        ("u64-max-id", bytes.fromhex("83021bffffffffffffffffa0")),
        ("int-key", bytes.fromhex("830161" "61a10102")),
        ("duplicate-key", bytes.fromhex("86183001a06161" "80" "a2616b01616b02")),
        ("transparent-payload", bytes.fromhex("85101a00000001a06174" "43010203")),
        ("deep-nesting", bytes.fromhex("85183001a06161") + b"\x81" * DEEP + b"\xf6"),
    ]


def ubjson_malformed():
    # BJData: [48, 1, {}, "a", [2, 3]] with U (uint8) integers and S (string) markers.
    call = b"[U\x30U\x01{}SU\x01a[U\x02U\x03]]"
    return [
        ("empty", b""),
        ("truncated", call[:9]),
        ("trailing-bytes", call + b"Z"),
        ("no-op-markers", b"[NU\x30NU\x01{}SU\x01a]"),
        ("optimized-count-huge", b"[$U#L" + b"\xff" * 8),
        ("optimized-bytes", b"[U\x30U\x01{}SU\x01a[[$U#U\x03\x01\x02\x03]]"),
        ("transparent-payload", b"[U\x10U\x01{}SU\x01t[$U#U\x03\x01\x02\x03]"),
        ("string-huge-length", b"[U\x01SL" + b"\x7f" + b"\xff" * 7),
        ("invalid-utf8", b"[U\x01SU\x02\xff\xfe{}]"),
        ("char-marker", b"[U\x01Ca{}]"),
        ("high-precision", b"[U\x30U\x01{}SU\x01a[HU\x0212]]"),
        ("unsigned-widths", b"[U\x30m\x01\x00\x00\x00{}SU\x01a[M\xff\xff\xff\xff\xff\xff\xff\xffu\x01\x00]]"),
        ("floats", b"[U\x30U\x01{}SU\x01a[h\x00\x7eD\x00\x00\x00\x00\x00\x00\xf8\x7fd\x00\x00\xc0\x3f]]"),
        ("big-endian-legacy-int", b"[U\x02l\x00\x00\x01\x00{}]"),
        ("duplicate-key", b"[U\x30U\x01{}SU\x01a[]{U\x01kU\x01U\x01kU\x02}]"),
        ("unknown-marker", b"[U\x01\x01{}]"),
        ("deep-nesting", b"[U\x30U\x01{}SU\x01a" + b"[" * DEEP + b"]" * DEEP + b"]"),
    ]


def frame(kind, payload, reserved=0):
    """A RawSocket frame: RRRR XTTT + 24-bit big-endian length."""
    n = len(payload)
    return bytes([(reserved << 4) | kind, (n >> 16) & 0xFF, (n >> 8) & 0xFF, n & 0xFF]) + payload


def rawsocket_framer_seeds():
    """First octet: payload limit (low 3 bits, index into the target's table) and chunk size
    (high 5 bits + 1); the first 4 octets also go through both handshake sides."""
    call = b'[48,1,{},"com.example.add",[2,3]]'
    big_limit = 0x06  # 64 KiB, chunk 1
    whole = 0xF8 | 0x07  # largest limit, chunks of 32
    return [
        ("handshake-json-max", b"\x7f\xf1\x00\x00"),
        ("handshake-msgpack-512", b"\x7f\x02\x00\x00"),
        ("handshake-cbor-16m", b"\x7f\xf3\x00\x00"),
        ("handshake-ubjson", b"\x7f\x74\x00\x00"),
        ("handshake-unknown-serializer", b"\x7f\xf9\x00\x00"),
        ("handshake-reserved-set", b"\x7f\xf1\x01\x00"),
        ("handshake-error-reply", b"\x7f\x10\x00\x00"),
        ("handshake-bad-magic", b"\x7e\xf1\x00\x00"),
        ("frames-message", bytes([whole]) + frame(0, call)),
        ("frames-ping-pong", bytes([whole]) + frame(1, b"hi") + frame(2, b"hi") + frame(0, call)),
        ("frames-empty-payloads", bytes([whole]) + frame(0, b"") + frame(1, b"") + frame(2, b"")),
        ("frames-byte-by-byte", bytes([big_limit]) + frame(0, call) + frame(1, b"x")),
        ("frames-over-limit", bytes([0x03]) + frame(0, call)),
        ("frames-zero-limit", bytes([0x00]) + frame(0, b"") + frame(0, b"a")),
        ("frames-reserved-bits", bytes([whole]) + frame(0, call, reserved=1)),
        ("frames-unknown-type", bytes([whole]) + frame(3, b"x") + frame(7, b"")),
        ("frames-x-bit-16m", bytes([whole]) + b"\x08\x00\x00\x00" + call),
        ("frames-x-bit-nonzero-length", bytes([whole]) + b"\x08\x00\x00\x01x"),
        ("frames-length-claims-16m", bytes([whole]) + b"\x00\xff\xff\xff" + call),
        ("frames-truncated-header", bytes([whole]) + frame(0, call) + b"\x00\x00"),
        ("frames-truncated-payload", bytes([whole]) + frame(0, call)[:-3]),
    ]


# Serializer::ALL order in wamp-proto (the link target picks ALL[ctl % 4]).
ALL = ["msgpack", "cbor", "json", "ubjson"]


def link_seeds():
    """First octet: serializer (ALL[ctl % 4]), transport ((ctl >> 3) % 3: RawSocket,
    WebSocket, batched WebSocket), bit 7 small limits; second octet: chunk size (RawSocket) or
    WebSocket message size, minus one; the rest is input."""
    seeds = []
    wanted = ["call", "event", "hello", "publish", "result"]
    for si, key in enumerate(ALL):
        msgs = {}
        for name, b in vector_seeds(key):
            stem = name.split("-")[1]
            if stem in wanted and stem not in msgs:
                msgs[stem] = b
        msgs = [msgs[w] for w in wanted if w in msgs]
        # RawSocket: every message in one frame, fed in chunks of 7.
        rs = b"".join(frame(0, m) for m in msgs) + frame(1, b"ping") + frame(2, b"")
        seeds.append((f"{key}-rawsocket", bytes([si | (0 << 3), 6]) + rs))
        # Bit 7 set and still RawSocket: (ctl >> 3) % 3 == 0 with ctl >> 3 == 18.
        seeds.append((f"{key}-rawsocket-small-limits", bytes([(18 << 3) | si, 0]) + rs))
        # WebSocket: one message per WebSocket message (size = the message's length).
        m = msgs[0]
        if len(m) <= 256:
            seeds.append((f"{key}-websocket", bytes([si | (1 << 3), len(m) - 1]) + m))
        # Batched WebSocket: the whole batch as one WebSocket message.
        if key == "json":
            batch = b"".join(x + b"\x18" for x in msgs[:2]) + msgs[2] + b"\x1e"
        else:
            batch = b"".join(len(x).to_bytes(4, "big") + x for x in msgs[:3])
        if len(batch) <= 256:
            seeds.append((f"{key}-websocket-batched", bytes([si | (2 << 3), len(batch) - 1]) + batch))
        seeds.append((f"{key}-websocket-batched-empty", bytes([si | (2 << 3), 0]) + b"\x00\x00\x00\x00"))
    return seeds


def decoder(key, malformed):
    return lambda: vector_seeds(key) + [(f"malformed-{n}", b) for n, b in malformed()]


TARGETS = {
    "decode_json": decoder("json", json_malformed),
    "decode_msgpack": decoder("msgpack", msgpack_malformed),
    "decode_cbor": decoder("cbor", cbor_malformed),
    "decode_ubjson": decoder("ubjson", ubjson_malformed),
    "rawsocket_framer": rawsocket_framer_seeds,
    "link": link_seeds,
}


def main():
    for target, seeds in TARGETS.items():
        d = HERE / "corpus" / target
        if d.exists():
            shutil.rmtree(d)
        d.mkdir(parents=True)
        seeds = seeds()
        names = set()
        for name, b in seeds:
            assert name not in names, name
            names.add(name)
            (d / name).write_bytes(b)
        print(f"{target}: {len(seeds)} files")


if __name__ == "__main__":
    main()
