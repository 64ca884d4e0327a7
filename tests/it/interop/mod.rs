//! Interop harness: third-party WAMP software (autobahn-python, autobahn-js, Crossbar) installed
//! by the tests themselves into `target/tmp/interop`, pinned by `tests/interop/requirements.txt`
//! with `python-constraints.txt`, and by `tests/interop/package.json` with `package-lock.json`.
//! Installed once, then reused while the pins are unchanged. A missing tool is a test failure,
//! never a skip.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

pub(crate) mod crossbar_auth;
mod crossbar_reference;
mod ours_auth_meta;
mod ours_autobahn;
mod ours_autobahn_js_auth;

/// The folder of the committed interop scripts and pins.
pub(crate) fn scripts_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("interop")
}

fn work_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("interop")
}

fn run(cmd: &mut Command, what: &str) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot start: {e}"));
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A stamp of the pin files: reinstall when it changes.
fn stamp(files: &[&str]) -> String {
    let mut s = String::new();
    for f in files {
        let text = std::fs::read_to_string(scripts_dir().join(f))
            .unwrap_or_else(|e| panic!("reading tests/interop/{f}: {e}"));
        s.push_str(&text);
    }
    s
}

/// The Python interpreter of the interop virtual environment (autobahn-python + Crossbar).
pub(crate) fn python() -> PathBuf {
    static ONCE: OnceLock<PathBuf> = OnceLock::new();
    ONCE.get_or_init(|| {
        let venv = work_dir().join("venv");
        let py = venv.join("bin").join("python");
        let marker = venv.join(".installed");
        let want = stamp(&["requirements.txt", "python-constraints.txt"]);
        if std::fs::read_to_string(&marker).ok().as_deref() == Some(want.as_str()) && py.exists() {
            return py;
        }
        std::fs::create_dir_all(work_dir()).expect("create target/tmp/interop");
        let _ = std::fs::remove_dir_all(&venv);
        run(
            Command::new("python3").args(["-m", "venv"]).arg(&venv),
            "python3 -m venv (install python3 with the venv module)",
        );
        run(
            Command::new(&py)
                .args([
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                    "-r",
                ])
                .arg(scripts_dir().join("requirements.txt"))
                .arg("-c")
                .arg(scripts_dir().join("python-constraints.txt")),
            "pip install of autobahn-python and crossbar",
        );
        std::fs::write(&marker, want).expect("write venv marker");
        py
    })
    .clone()
}

/// The `node_modules` folder holding autobahn-js and ws.
pub(crate) fn node_modules() -> PathBuf {
    static ONCE: OnceLock<PathBuf> = OnceLock::new();
    ONCE.get_or_init(|| {
        let dir = work_dir().join("node");
        let marker = dir.join(".installed");
        let want = stamp(&["package.json", "package-lock.json"]);
        let nm = dir.join("node_modules");
        if std::fs::read_to_string(&marker).ok().as_deref() == Some(want.as_str()) && nm.exists() {
            return nm;
        }
        std::fs::create_dir_all(&dir).expect("create target/tmp/interop/node");
        for f in ["package.json", "package-lock.json"] {
            std::fs::copy(scripts_dir().join(f), dir.join(f)).expect("copy npm pins");
        }
        run(
            Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
                .current_dir(&dir),
            "npm ci of autobahn-js (install node and npm)",
        );
        std::fs::write(&marker, want).expect("write node marker");
        nm
    })
    .clone()
}

/// A free TCP port on the loopback interface.
pub(crate) fn free_port() -> u16 {
    // Serialize port picking inside this process so two tests never get the same one.
    static LOCK: Mutex<()> = Mutex::new(());
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let l = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    l.local_addr().expect("local addr").port()
}

/// Waits until something accepts TCP connections on `port`.
pub(crate) fn wait_for_port(port: u16, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

/// A child process killed on drop.
pub(crate) struct ChildGuard(pub Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The outcome of one interop suite run.
#[derive(Debug)]
pub(crate) struct SuiteReport {
    /// `PASS`/`FAIL` lines and the summary.
    pub(crate) lines: Vec<String>,
    /// Checks passed.
    pub(crate) passed: usize,
    /// Checks failed.
    pub(crate) failed: usize,
    /// Everything the process wrote to stderr (for diagnosis).
    pub(crate) stderr: String,
}

impl SuiteReport {
    /// Panics with the whole report unless every check passed (and at least `min` ran).
    pub(crate) fn assert_all_passed(&self, min: usize) {
        assert!(
            self.failed == 0 && self.passed >= min,
            "interop suite: {} passed, {} failed (expected >= {min} passed)\n{}\n--- stderr (tail) ---\n{}",
            self.passed,
            self.failed,
            self.lines.join("\n"),
            tail(&self.stderr, 4000)
        );
    }
}

fn tail(s: &str, n: usize) -> &str {
    let start = s.len().saturating_sub(n);
    let mut i = start;
    while !s.is_char_boundary(i) {
        i += 1;
    }
    &s[i..]
}

fn run_suite(mut cmd: Command) -> SuiteReport {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot start interop suite: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<String> = stdout
        .lines()
        .filter(|l| l.starts_with("PASS") || l.starts_with("FAIL") || l.contains(" passed, "))
        .map(str::to_owned)
        .collect();
    let passed = lines.iter().filter(|l| l.starts_with("PASS")).count();
    let failed = lines.iter().filter(|l| l.starts_with("FAIL")).count();
    let summary = lines.iter().any(|l| l.contains(" passed, "));
    let mut failed = failed;
    if !summary || (!out.status.success() && failed == 0) {
        failed += 1; // the suite crashed or printed no summary
    }
    eprintln!("{}", lines.join("\n"));
    SuiteReport {
        lines,
        passed,
        failed,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// After a suite against our router: every session has left, nothing is pending, no
/// connection was a slow consumer and every message could be encoded.
pub(crate) fn assert_clean(server: &crate::server_harness::TestServer) {
    server.wait_for("all sessions gone", |s, r| {
        s.established == 0 && r.sessions == 0 && r.pending_calls == 0 && r.connections == 0
    });
    let s = server.stats();
    assert_eq!(s.slow_consumers, 0, "{s:?}");
    assert_eq!(s.encode_failures, 0, "{s:?}");
}

/// Runs the autobahn-python suite (`tests/interop/ab_suite.py`).
pub(crate) fn autobahn_python(
    url: &str,
    realm: &str,
    serializer: &str,
    only: &[&str],
) -> SuiteReport {
    let mut cmd = Command::new(python());
    cmd.arg(scripts_dir().join("ab_suite.py"))
        .args([url, realm, serializer])
        .args(only);
    run_suite(cmd)
}

/// Runs another autobahn-python script of `tests/interop` (same arguments and output as
/// `ab_suite.py`).
pub(crate) fn autobahn_python_script(
    script: &str,
    url: &str,
    realm: &str,
    serializer: &str,
    only: &[&str],
) -> SuiteReport {
    let mut cmd = Command::new(python());
    cmd.arg(scripts_dir().join(script))
        .args([url, realm, serializer])
        .args(only);
    run_suite(cmd)
}

/// Runs the autobahn-js suite (`tests/interop/abjs_suite.js`).
pub(crate) fn autobahn_js(url: &str, realm: &str, serializer: &str, only: &[&str]) -> SuiteReport {
    autobahn_js_script("abjs_suite.js", url, realm, serializer, only)
}

/// Runs another autobahn-js script of `tests/interop` (same arguments and output as
/// `abjs_suite.js`).
pub(crate) fn autobahn_js_script(
    script: &str,
    url: &str,
    realm: &str,
    serializer: &str,
    only: &[&str],
) -> SuiteReport {
    let mut cmd = Command::new("node");
    cmd.arg(scripts_dir().join(script))
        .args([url, realm, serializer])
        .args(only)
        .env("NODE_PATH", node_modules());
    run_suite(cmd)
}

/// A running Crossbar router on loopback ports chosen by the harness.
pub(crate) struct Crossbar {
    _child: ChildGuard,
    /// WebSocket port (all four serializers).
    pub(crate) ws_port: u16,
    /// RawSocket port (all four serializers).
    pub(crate) rs_port: u16,
    _dir: PathBuf,
}

impl Crossbar {
    /// The process ID of the Crossbar node (its router worker is a child process).
    pub(crate) fn pid(&self) -> u32 {
        self._child.0.id()
    }
}

/// Starts Crossbar with `realm1` (anonymous role: everything allowed, caller and publisher
/// disclosed), a WebSocket and a RawSocket transport, and waits until it serves.
pub(crate) fn start_crossbar(name: &str) -> Crossbar {
    let py = python();
    let crossbar = py.with_file_name("crossbar");
    let dir = work_dir().join(format!("crossbar-{name}-{}", std::process::id()));
    let cbdir = dir.join(".crossbar");
    std::fs::create_dir_all(&cbdir).expect("create crossbar dir");
    let (ws_port, rs_port) = (free_port(), free_port());
    let config = serde_json::json!({
        "version": 2,
        "controller": {},
        "workers": [{
            "type": "router",
            "realms": [{"name": "realm1", "roles": [{"name": "anonymous", "permissions": [{
                "uri": "", "match": "prefix",
                "allow": {"call": true, "register": true, "publish": true, "subscribe": true},
                "disclose": {"caller": true, "publisher": true}, "cache": true}]}]}],
            "transports": [
                {"type": "websocket",
                 "endpoint": {"type": "tcp", "port": ws_port, "interface": "127.0.0.1"},
                 "serializers": ["json", "msgpack", "cbor", "ubjson"]},
                {"type": "rawsocket",
                 "endpoint": {"type": "tcp", "port": rs_port, "interface": "127.0.0.1"},
                 "serializers": ["json", "msgpack", "cbor", "ubjson"]}
            ]
        }]
    });
    std::fs::write(cbdir.join("config.json"), config.to_string()).expect("write crossbar config");
    let log = std::fs::File::create(dir.join("crossbar.log")).expect("crossbar log");
    let child = Command::new(&crossbar)
        .args(["start", "--cbdir"])
        .arg(&cbdir)
        .current_dir(&dir)
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("log"))
        .stderr(log)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start crossbar ({}): {e}", crossbar.display()));
    let guard = ChildGuard(child);
    let up = wait_for_port(ws_port, Duration::from_secs(90))
        && wait_for_port(rs_port, Duration::from_secs(30));
    if !up {
        let log = std::fs::read_to_string(dir.join("crossbar.log")).unwrap_or_default();
        panic!("crossbar did not come up:\n{}", tail(&log, 4000));
    }
    Crossbar {
        _child: guard,
        ws_port,
        rs_port,
        _dir: dir,
    }
}
