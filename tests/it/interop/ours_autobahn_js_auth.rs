//! Our router (in-process, the realm of `ours_auth_meta`) against autobahn-js's
//! authenticators (ticket, WAMP-CRA plain and salted, cryptosign; autobahn-js has no SCRAM),
//! role-based authorization and its use of the meta API: `tests/interop/abjs_auth_meta.js`,
//! over WebSocket with JSON, MessagePack and CBOR and over RawSocket (JSON, the only serializer
//! autobahn-js speaks there).

use super::ours_auth_meta::config;
use super::*;
use crate::server_harness::TestServer;

/// The checks of `abjs_auth_meta.js`; each run must pass all of them.
const JS_AUTH_META_CHECKS: usize = 13;

/// Runs the suite; every check passes and exactly [`JS_AUTH_META_CHECKS`] ran.
fn run_all(url: &str, serializer: &str) {
    let report = autobahn_js_script("abjs_auth_meta.js", url, "realm1", serializer, &[]);
    report.assert_all_passed(JS_AUTH_META_CHECKS);
    assert_eq!(
        report.passed,
        JS_AUTH_META_CHECKS,
        "{serializer}: checks run\n{}",
        report.lines.join("\n")
    );
}

#[test]
fn autobahn_js_auth_and_meta_websocket_all_serializers() {
    let server = TestServer::start(config());
    let url = format!("ws://127.0.0.1:{}/ws", server.port());
    for ser in ["json", "msgpack", "cbor"] {
        run_all(&url, ser);
    }
    assert_clean(&server);
}

#[test]
fn autobahn_js_auth_and_meta_rawsocket_json() {
    let server = TestServer::start(config());
    let url = format!("tcp://127.0.0.1:{}", server.port());
    run_all(&url, "json");
    assert_clean(&server);
}
