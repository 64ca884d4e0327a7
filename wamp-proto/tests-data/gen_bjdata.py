#!/usr/bin/env python3
"""Generates tests-data/bjdata_vectors.rs: byte strings written by bjdata 0.6.6 (the backend of
autobahn-python 26.10.2's "ubjson" serializer) and the values they stand for, as Rust constants.

Run with the interop venv (see ubjson.rs):
    python3 -m venv /tmp/abvenv
    /tmp/abvenv/bin/pip install 'autobahn[serialization]==26.10.2' 'numpy<2' \
        -c <shared>/third-party/python-constraints.txt
    /tmp/abvenv/bin/python wamp-proto/tests-data/gen_bjdata.py > wamp-proto/tests-data/bjdata_vectors.rs

The unit tests in src/ubjson.rs include the output; they do not need Python.
"""
import math
import struct

import bjdata
import numpy as np
import txaio

txaio.use_asyncio()
from autobahn.wamp import message as m
from autobahn.wamp import role
from autobahn.wamp.serializer import UBJSONSerializer


def rust_value(v):
    """A Rust expression building the wamp_proto Value for a decoded Python value."""
    if v is None:
        return "Value::Null"
    if v is True or v is False:
        return f"Value::Bool({str(v).lower()})"
    if isinstance(v, (int, np.integer)):
        v = int(v)
        return f"Value::UInt({v})" if v >= 0 else f"Value::Int({v})"
    if isinstance(v, (float, np.floating)):
        bits = struct.unpack("<Q", struct.pack("<d", float(v)))[0]
        return f"Value::Float(f64::from_bits({bits:#018x}))"
    if isinstance(v, str):
        return f"Value::Str({rust_str(v)}.to_owned())"
    if isinstance(v, (bytes, bytearray)):
        return f'Value::Bytes(hex("{bytes(v).hex()}"))'
    if isinstance(v, np.ndarray):
        return rust_value(v.tolist())
    if isinstance(v, (list, tuple)):
        return "Value::List(vec![" + ", ".join(rust_value(x) for x in v) + "])"
    if isinstance(v, dict):
        entries = ", ".join(f"({rust_str(k)}, {rust_value(x)})" for k, x in v.items())
        return f"dict(vec![{entries}])"
    raise TypeError(type(v))


def rust_str(s):
    out = '"'
    for ch in s:
        if ch in '"\\':
            out += "\\" + ch
        elif 0x20 <= ord(ch) < 0x7F:
            out += ch
        else:
            out += "\\u{%x}" % ord(ch)
    return out + '"'


def emit(name, data, value_expr, doc):
    print("    // " + doc.replace("\n", " "))
    print(f'    ("{name}", "{data.hex()}", {value_expr}),')


# Values bjdata writes with autobahn's defaults: decode AND encode byte for byte.
EXACT = [
    ("zero", 0), ("u8_max", 255), ("u16_min", 256), ("u16_max", 65535), ("u32_min", 65536),
    ("u32_max", 2**32 - 1), ("u64_min", 2**32), ("i64_max", 2**63 - 1), ("u64_big", 2**63),
    ("u64_max", 2**64 - 1), ("neg1", -1), ("i8_min", -128), ("i16_edge", -129),
    ("i16_min", -32768), ("i32_edge", -32769), ("i32_min", -2**31), ("i64_edge", -2**31 - 1),
    ("i64_min", -2**63),
    ("float", 1.5), ("float_neg", -2.25), ("float_zero", 0.0), ("float_neg_zero", -0.0),
    ("float_big", 1e300), ("float_small", 1e-40), ("float_pi", math.pi),
    ("float_inf", float("inf")), ("float_neg_inf", float("-inf")), ("float_nan", float("nan")),
    ("str_empty", ""), ("str_char", "a"), ("str_ab", "ab"), ("str_e_acute", "\u00e9"),
    ("str_cjk", "\u65e5\u672c"), ("str_emoji", "\U0001F600 ok"), ("str_300", "x" * 300),
    ("str_nul", "\x00bin"),
    ("bytes_empty", b""), ("bytes_small", b"\x00\x01\xff"), ("bytes_300", bytes(range(256)) + b"y" * 44),
    ("list_empty", []), ("dict_empty", {}), ("bools_null", [True, False, None]),
    ("dict_small", {"a": 1}), ("dict_empty_key", {"": None}), ("dict_key_300", {"k" * 300: 1}),
    ("nested", {"outer": {"inner": [1, -1, "x", {"deep": []}], "b": b"\x01"}, "list": [[], [[]], {}]}),
    ("mixed", [0, 1.0, "s", b"b", None, True, [1, 2], {"k": "v"}]),
]

# What bjdata reads but does not write by default: decode only.
DECODE_ONLY = [
    ("counted_list", bjdata.dumpb([1, "two", None], container_count=True), [1, "two", None]),
    ("counted_dict", bjdata.dumpb({"a": 1, "b": [True]}, container_count=True), {"a": 1, "b": [True]}),
    ("counted_empty", bjdata.dumpb([], container_count=True), []),
    ("float32", bjdata.dumpb(1.5, no_float32=False), 1.5),
    ("uint8_array", bjdata.dumpb(np.array([1, 2, 250], dtype=np.uint8)), [1, 2, 250]),
    ("int32_array", bjdata.dumpb(np.array([-1, 70000], dtype=np.int32)), [-1, 70000]),
    ("f64_array", bjdata.dumpb(np.array([0.5, -1.0], dtype=np.float64)), [0.5, -1.0]),
    ("f16_array", bjdata.dumpb(np.array([1.5, -0.0], dtype=np.float16)), [1.5, -0.0]),
    ("u16_array_empty", bjdata.dumpb(np.array([], dtype=np.uint16)), []),
    ("f16_scalar", bjdata.dumpb(np.float16(1.5)), 1.5),
    ("u64_scalar", bjdata.dumpb(np.uint64(2**64 - 1)), 2**64 - 1),
    ("high_prec_int", bjdata.dumpb(2**64), None),
    ("high_prec_neg_int", bjdata.dumpb(-2**63 - 1), None),
    ("high_prec_small_int", b"HU\x03-42", -42),
    ("high_prec_float", b"HU\x041E+2", 100.0),
    ("high_prec_subnormal", bjdata.dumpb(5e-324), 5e-324),
    ("noop", b"[N" + bjdata.dumpb(1) + b"NN" + bjdata.dumpb("x") + b"]", [1, "x"]),
    ("typed_str", b"[$S#U\x02U\x01aU\x02bc", ["a", "bc"]),
    ("typed_null", b"[$Z#U\x03", [None, None, None]),
    ("typed_dict", b"{$U#U\x02U\x01a\x05U\x01b\x06", {"a": 5, "b": 6}),
    ("uint8_bytes_draft2", b"[$U#U\x02\x01\x02", [1, 2]),
    ("counted_noop", b"[#U\x02NU\x01NU\x02", [1, 2]),
    ("char_array", b"[$C#U\x02hi", ["h", "i"]),
    ("typed_lists", b"[$[#U\x02U\x01]]", [[1], []]),
    ("typed_bool_dict", b"{$T#U\x02U\x01aU\x01b", {"a": True, "b": True}),
]


def main():
    print("// Generated by tests-data/gen_bjdata.py from bjdata", bjdata.__version__,
          "(C extension: %s) and autobahn-python; do not edit." % bool(getattr(bjdata, "EXTENSION_ENABLED", False)))
    print("// (name, hex of the bjdata bytes, the value they stand for)")
    print("pub(super) fn exact() -> Vec<(&'static str, &'static str, Value)> {")
    print("    vec![")
    for name, v in EXACT:
        data = bjdata.dumpb(v)
        assert bjdata.loadb(data) == v or (isinstance(v, float) and math.isnan(v)), name
        emit(name, data, rust_value(v), repr(v)[:60])
    print("    ]")
    print("}")
    print()
    print("/// Decoded by bjdata as given; `None` marks a value that decodes to a numpy array or")
    print("/// Decimal in Python, described by the tests instead.")
    print("pub(super) fn decode_only() -> Vec<(&'static str, &'static str, Option<Value>)> {")
    print("    vec![")
    for name, data, v in DECODE_ONLY:
        try:
            loaded = repr(bjdata.loadb(data))[:60]
        except Exception as e:  # valid Draft 4 that bjdata's own decoder cannot load
            loaded = "bjdata cannot load this: %s" % e
        expr = "None" if v is None else "Some(" + rust_value(v) + ")"
        emit(name, data, expr, loaded)
    print("    ]")
    print("}")
    print()
    # Whole WAMP messages as autobahn-python serializes them: (name, hex, message as a Value list).
    ser = UBJSONSerializer()
    msgs = [
        ("call_tricky", m.Call(
            7814135, "com.example.tricky",
            args=[b"\x00\x01\xfe\xff", 2**64 - 1, -2**63, -129, 3.25, "\u00fcml\u00e4ut \u2713", [], {}, None, True],
            kwargs={"nested": {"a": [1, {"b": b""}], "empty": {}}, "x": "y"},
            timeout=5000, receive_progress=True)),
        ("event_bytes", m.Event(5512315355, 4429313566, args=[b"\xff" * 300], publisher=3335656)),
        ("hello", m.Hello("realm1", {"subscriber": role.RoleSubscriberFeatures(), "caller": role.RoleCallerFeatures(progressive_call_results=True)},
                          authmethods=["ticket"], authid="joe")),
        ("result_empty", m.Result(1, args=[], kwargs=None)),
        ("error_kwargs", m.Error(48, 12, "com.example.error.failed", args=["bad"], kwargs={"code": -3})),
        ("publish_ack", m.Publish(239714735, "com.myapp.mytopic1", args=["Hello"], acknowledge=True, exclude_me=False)),
    ]
    print("/// (name, hex of the bytes autobahn-python writes, the message as its `Value` list)")
    print("pub(super) fn messages() -> Vec<(&'static str, &'static str, Value)> {")
    print("    vec![")
    for name, msg in msgs:
        data, _binary = ser.serialize(msg)
        emit(name, data, rust_value(msg.marshal()), type(msg).__name__)
    print("    ]")
    print("}")


if __name__ == "__main__":
    main()
