#!/usr/bin/env python3
"""Writes the committed seed corpus of the decoder fuzz targets (fuzz/corpus/<target>/).

Seeds: one byte variant of every serialization sample of the official vectors
(shared/wamp-spec/testsuite, beside the repository root), plus hand-made malformed inputs
(truncation, huge claimed lengths, deep nesting, bad UTF-8, bad base64, duplicate keys, IDs out
of range, odd number encodings). Deterministic: running it twice writes the same files.
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


TARGETS = {
    "decode_json": ("json", json_malformed),
    "decode_msgpack": ("msgpack", msgpack_malformed),
    "decode_cbor": ("cbor", cbor_malformed),
}


def main():
    for target, (key, malformed) in TARGETS.items():
        d = HERE / "corpus" / target
        if d.exists():
            shutil.rmtree(d)
        d.mkdir(parents=True)
        seeds = vector_seeds(key) + [(f"malformed-{n}", b) for n, b in malformed()]
        names = set()
        for name, b in seeds:
            assert name not in names, name
            names.add(name)
            (d / name).write_bytes(b)
        print(f"{target}: {len(seeds)} files")


if __name__ == "__main__":
    main()
