//! A Crossbar router with principals for every authentication method it offers (anonymous,
//! ticket, WAMP-CRA plain and salted, cryptosign, SCRAM with Argon2id and PBKDF2), on every
//! transport our client speaks: WebSocket and RawSocket over TCP, both over TLS (a CA made by
//! the test), and RawSocket over a Unix socket. [`shared_crossbar_auth`] starts one instance
//! per test binary, lazily; it stops when the test process exits.

use std::process::{ChildStdin, Command, Stdio};
use std::sync::OnceLock;

use wamp_proto::auth::cryptosign::CryptosignKey;
use wamp_proto::auth::scram::{Kdf, ScramProfile, derive_credential};

use super::*;

/// The realm with the authenticated principals (role `user`, everything allowed; anonymous
/// sessions get role `anonymous`, everything allowed too).
pub(crate) const REALM: &str = "realm1";
/// Ticket principal.
pub(crate) const TICKET_USER: (&str, &str) = ("ticket-user", "t1cket-s3cret");
/// WAMP-CRA principal with a plain secret.
pub(crate) const CRA_USER: (&str, &str) = ("cra-user", "cra-s3cret");
/// WAMP-CRA principal with a salted secret (PBKDF2 parameters in the challenge).
pub(crate) const CRA_SALTED_USER: (&str, &str) = ("cra-salted", "salted-s3cret");
/// Cryptosign principal and its private key seed (hex).
pub(crate) const CRYPTOSIGN_USER: (&str, &str) = (
    "cs-user",
    "4d57d97a68f555696620a6d849c0ce582568518d729eb753dc7c732de2804510",
);
/// SCRAM principal with Argon2id.
pub(crate) const SCRAM_ARGON_USER: (&str, &str) = ("scram-argon", "sc4am-argon");
/// SCRAM principal with PBKDF2.
pub(crate) const SCRAM_PBKDF2_USER: (&str, &str) = ("scram-pbkdf2", "sc4am-pbkdf2");
/// Argon2id cost the SCRAM principal is stored with.
pub(crate) const SCRAM_ARGON_KDF: Kdf = Kdf::Argon2id13 {
    iterations: 2,
    memory_kib: 1024,
};
/// PBKDF2 cost the SCRAM principal is stored with.
pub(crate) const SCRAM_PBKDF2_KDF: Kdf = Kdf::Pbkdf2 { iterations: 4096 };

/// A Crossbar process that stops when this value is dropped or the test process exits: it
/// runs under a shell that kills it once its stdin (a pipe from us) closes.
pub(crate) struct CrossbarProcess {
    stdin: Option<ChildStdin>,
    child: Option<Child>,
    /// The Crossbar directory (config, log, TLS files).
    pub(crate) dir: PathBuf,
}

impl Drop for CrossbarProcess {
    fn drop(&mut self) {
        drop(self.stdin.take());
        if let Some(mut c) = self.child.take() {
            let _ = c.wait();
        }
    }
}

impl CrossbarProcess {
    /// The tail of Crossbar's log.
    pub(crate) fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.dir.join("crossbar.log")).unwrap_or_default();
        tail(&log, 4000).to_owned()
    }
}

/// Starts Crossbar with `config` in a fresh directory (files in `extra_files` are written
/// next to the config) and waits until every port in `ports` accepts connections.
pub(crate) fn spawn_crossbar(
    name: &str,
    config: &serde_json::Value,
    extra_files: &[(&str, &[u8])],
    ports: &[u16],
) -> CrossbarProcess {
    let py = python();
    let crossbar = py.with_file_name("crossbar");
    let dir = work_dir().join(format!("crossbar-{name}-{}", std::process::id()));
    let cbdir = dir.join(".crossbar");
    std::fs::create_dir_all(&cbdir).expect("create crossbar dir");
    std::fs::write(cbdir.join("config.json"), config.to_string()).expect("write crossbar config");
    for (file, bytes) in extra_files {
        std::fs::write(cbdir.join(file), bytes).expect("write crossbar file");
    }
    let log = std::fs::File::create(dir.join("crossbar.log")).expect("crossbar log");
    // `cat` returns when our end of the pipe closes (drop, or this process exiting).
    let script =
        r#""$0" start --cbdir "$1" </dev/null & p=$!; cat >/dev/null; kill -TERM $p; wait $p"#;
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(script)
        .arg(&crossbar)
        .arg(&cbdir)
        .current_dir(&dir)
        .stdin(Stdio::piped())
        .stdout(log.try_clone().expect("log"))
        .stderr(log)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start crossbar ({}): {e}", crossbar.display()));
    let stdin = child.stdin.take();
    let process = CrossbarProcess {
        stdin,
        child: Some(child),
        dir,
    };
    let mut timeout = Duration::from_secs(90);
    for &port in ports {
        if !wait_for_port(port, timeout) {
            panic!(
                "crossbar did not come up on port {port}:\n{}",
                process.log_tail()
            );
        }
        timeout = Duration::from_secs(30);
    }
    process
}

/// A running Crossbar with every authentication method and transport.
pub(crate) struct CrossbarAuth {
    /// WebSocket over TCP.
    pub(crate) ws_port: u16,
    /// RawSocket over TCP.
    pub(crate) rs_port: u16,
    /// WebSocket over TLS.
    pub(crate) wss_port: u16,
    /// RawSocket over TLS.
    pub(crate) rss_port: u16,
    /// RawSocket over a Unix socket.
    pub(crate) unix_path: PathBuf,
    /// The DER certificate of the CA that signed the router's certificate (for `localhost`
    /// and `127.0.0.1`).
    pub(crate) ca_der: Vec<u8>,
    /// The process.
    pub(crate) process: CrossbarProcess,
}

/// A CA and a server certificate for `localhost` / `127.0.0.1`: (CA DER, server cert PEM,
/// server key PEM).
fn make_tls_files() -> (Vec<u8>, String, String) {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().expect("CA key"))
        .expect("CA certificate");
    let params = CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
        .expect("server params");
    let key = KeyPair::generate().expect("server key");
    let cert = params.signed_by(&key, &ca).expect("server certificate");
    (ca.der().to_vec(), cert.pem(), key.serialize_pem())
}

fn scram_principal(user: (&str, &str), kdf: Kdf) -> serde_json::Value {
    let salt = format!("salt-of-{}", user.0).into_bytes();
    let c =
        derive_credential(ScramProfile::Autobahn, user.1, &salt, kdf).expect("SCRAM credential");
    let memory = match kdf {
        Kdf::Argon2id13 { memory_kib, .. } => memory_kib,
        Kdf::Pbkdf2 { .. } => 0,
    };
    serde_json::json!({
        "kdf": kdf.name(ScramProfile::Autobahn),
        "iterations": kdf.iterations(),
        "memory": memory,
        "salt": hex::encode(&salt),
        "stored-key": hex::encode(c.keys.stored_key),
        "server-key": hex::encode(c.keys.server_key),
        "role": "user",
    })
}

/// Starts a Crossbar with every authentication method (see the module docs).
pub(crate) fn start_crossbar_auth(name: &str) -> CrossbarAuth {
    let (ws_port, rs_port, wss_port, rss_port) =
        (free_port(), free_port(), free_port(), free_port());
    let cs_key = CryptosignKey::from_hex(CRYPTOSIGN_USER.1).expect("cryptosign seed");
    let allow_all = serde_json::json!([{
        "uri": "", "match": "prefix",
        "allow": {"call": true, "register": true, "publish": true, "subscribe": true},
        "disclose": {"caller": true, "publisher": true}, "cache": true}]);
    let auth = serde_json::json!({
        "anonymous": {"type": "static", "role": "anonymous"},
        "ticket": {"type": "static", "principals": {
            TICKET_USER.0: {"ticket": TICKET_USER.1, "role": "user"}}},
        "wampcra": {"type": "static", "users": {
            CRA_USER.0: {"secret": CRA_USER.1, "role": "user"},
            CRA_SALTED_USER.0: {"secret": CRA_SALTED_USER.1, "role": "user",
                "salt": "cra-salt-123", "iterations": 1000, "keylen": 32}}},
        "cryptosign": {"type": "static", "principals": {
            CRYPTOSIGN_USER.0: {"authorized_keys": [cs_key.public_key_hex()], "role": "user",
                "realm": REALM}}},
        "scram": {"type": "static", "principals": {
            SCRAM_ARGON_USER.0: scram_principal(SCRAM_ARGON_USER, SCRAM_ARGON_KDF),
            SCRAM_PBKDF2_USER.0: scram_principal(SCRAM_PBKDF2_USER, SCRAM_PBKDF2_KDF)}},
    });
    let serializers = serde_json::json!(["json", "msgpack", "cbor", "ubjson"]);
    let tls = serde_json::json!({"key": "server.key", "certificate": "server.crt"});
    let tcp = |port: u16, tls: Option<&serde_json::Value>| {
        let mut e = serde_json::json!({"type": "tcp", "port": port, "interface": "127.0.0.1"});
        if let Some(t) = tls {
            e["tls"] = t.clone();
        }
        e
    };
    let dir = work_dir().join(format!("crossbar-{name}-{}", std::process::id()));
    let unix_path = dir.join("rs.sock");
    let _ = std::fs::remove_file(&unix_path);
    let config = serde_json::json!({
        "version": 2,
        "controller": {},
        "workers": [{
            "type": "router",
            "realms": [{"name": REALM, "roles": [
                {"name": "anonymous", "permissions": allow_all},
                {"name": "user", "permissions": allow_all}]}],
            "transports": [
                {"type": "websocket", "endpoint": tcp(ws_port, None), "serializers": serializers, "auth": auth},
                {"type": "rawsocket", "endpoint": tcp(rs_port, None), "serializers": serializers, "auth": auth},
                {"type": "websocket", "endpoint": tcp(wss_port, Some(&tls)), "serializers": serializers, "auth": auth},
                {"type": "rawsocket", "endpoint": tcp(rss_port, Some(&tls)), "serializers": serializers, "auth": auth},
                {"type": "rawsocket", "endpoint": {"type": "unix", "path": unix_path.to_string_lossy()},
                 "serializers": serializers, "auth": auth}
            ]
        }]
    });
    let (ca_der, cert_pem, key_pem) = make_tls_files();
    let process = spawn_crossbar(
        name,
        &config,
        &[
            ("server.crt", cert_pem.as_bytes()),
            ("server.key", key_pem.as_bytes()),
        ],
        &[ws_port, rs_port, wss_port, rss_port],
    );
    // The Unix listener comes up with the others; give it a moment if it lags.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !unix_path.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    CrossbarAuth {
        ws_port,
        rs_port,
        wss_port,
        rss_port,
        unix_path,
        ca_der,
        process,
    }
}

/// One [`CrossbarAuth`] per test binary, started on first use.
pub(crate) fn shared_crossbar_auth() -> &'static CrossbarAuth {
    static CB: OnceLock<CrossbarAuth> = OnceLock::new();
    CB.get_or_init(|| start_crossbar_auth("auth"))
}
