//! Our router (in-process, `realm1`, callers and publishers disclosed) driven by
//! autobahn-python and autobahn-js over every serializer and both transports.
//!
//! To cap the run time the full python suite runs on WebSocket JSON and MessagePack and on
//! RawSocket MessagePack; a subset runs on CBOR, UBJSON and the batched subprotocols. The JS
//! suite runs on WebSocket JSON, MessagePack and CBOR and on RawSocket (JSON, the only
//! serializer autobahn-js speaks there). Authentication, authorization and meta API checks:
//! `ours_auth_meta` (autobahn-python) and `ours_autobahn_js_auth` (autobahn-js).

use super::*;
use crate::server_harness::{TestServer, interop_config};

/// Every check of `ab_suite.py` (all pass against our router, including the
/// router-enforced call timeout Crossbar lacks).
const PY_ALL: &[&str] = &[
    "join_and_leave",
    "rpc_args_kwargs",
    "rpc_application_error",
    "rpc_no_such_procedure",
    "rpc_procedure_already_exists",
    "rpc_progressive_results",
    "rpc_cancel_kill",
    "rpc_call_timeout",
    "rpc_caller_disclosure",
    "rpc_shared_roundrobin",
    "rpc_prefix_registration",
    "pubsub_basic_ack",
    "pubsub_exclude_me_and_disclose",
    "pubsub_wildcard_topic_detail",
    "pubsub_eligible",
    "pubsub_unsubscribe",
];

/// The subset for the remaining serializers and framings.
const PY_SUBSET: &[&str] = &["join_and_leave", "rpc_args_kwargs", "pubsub_basic_ack"];

const JS_CHECKS: usize = 8;

fn ws(server: &TestServer) -> String {
    format!("ws://127.0.0.1:{}/ws", server.port())
}

fn rs(server: &TestServer) -> String {
    format!("rs://127.0.0.1:{}", server.port())
}

#[test]
fn autobahn_python_full_suite_websocket_json() {
    let server = TestServer::start(interop_config());
    autobahn_python(&ws(&server), "realm1", "json", PY_ALL).assert_all_passed(PY_ALL.len());
    assert_clean(&server);
}

#[test]
fn autobahn_python_full_suite_websocket_msgpack() {
    let server = TestServer::start(interop_config());
    autobahn_python(&ws(&server), "realm1", "msgpack", PY_ALL).assert_all_passed(PY_ALL.len());
    assert_clean(&server);
}

#[test]
fn autobahn_python_full_suite_rawsocket_msgpack() {
    let server = TestServer::start(interop_config());
    autobahn_python(&rs(&server), "realm1", "msgpack", PY_ALL).assert_all_passed(PY_ALL.len());
    assert_clean(&server);
}

#[test]
fn autobahn_python_subset_other_serializers_and_batched() {
    let server = TestServer::start(interop_config());
    for ser in [
        "cbor",
        "ubjson",
        "json.batched",
        "msgpack.batched",
        "cbor.batched",
        "ubjson.batched",
    ] {
        autobahn_python(&ws(&server), "realm1", ser, PY_SUBSET).assert_all_passed(PY_SUBSET.len());
    }
    for ser in ["json", "cbor", "ubjson"] {
        autobahn_python(&rs(&server), "realm1", ser, PY_SUBSET).assert_all_passed(PY_SUBSET.len());
    }
    assert_clean(&server);
}

#[test]
fn autobahn_js_suite() {
    let server = TestServer::start(interop_config());
    for ser in ["json", "msgpack", "cbor"] {
        autobahn_js(&ws(&server), "realm1", ser, &[]).assert_all_passed(JS_CHECKS);
    }
    let tcp = format!("tcp://127.0.0.1:{}", server.port());
    autobahn_js(&tcp, "realm1", "json", &[]).assert_all_passed(JS_CHECKS);
    assert_clean(&server);
}
