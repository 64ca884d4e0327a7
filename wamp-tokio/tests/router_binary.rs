//! The `wamp-router` binary: start-up message, configuration errors (exit code 2), and
//! SIGTERM / SIGINT shutdown (GOODBYE `wamp.close.system_shutdown`, exit code 0).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use wamp_proto::link::{Incoming, Link};
use wamp_proto::message::Hello;
use wamp_proto::rawsocket::{ClientHandshake, MaxLength};
use wamp_proto::{Dict, Message, Serializer};

fn router() -> Command {
    Command::new(env!("CARGO_BIN_EXE_wamp-router"))
}

struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the router with `args`, returns it and its first stdout line.
fn start(args: &[&str]) -> (Running, String) {
    let mut child = router()
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start wamp-router");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    (Running(child), line)
}

/// The port in "... on 127.0.0.1:PORT: ...".
fn port_of(line: &str) -> u16 {
    let after = line
        .split(" on 127.0.0.1:")
        .nth(1)
        .expect("address in the start line");
    after.split(':').next().unwrap().parse().unwrap()
}

/// A RawSocket session (JSON) on `port`; returns the link and stream after WELCOME.
fn join(port: u16, realm: &'static str) -> (Link, TcpStream) {
    let (link, s, reply) = hello(port, realm);
    match reply {
        Some(Message::Welcome(_)) => {}
        other => panic!("expected WELCOME, got {other:?}"),
    }
    (link, s)
}

/// Sends an anonymous HELLO for `realm` over RawSocket (JSON); returns the router's reply.
fn hello(port: u16, realm: &'static str) -> (Link, TcpStream, Option<Message>) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let hs = ClientHandshake::new(Serializer::Json, MaxLength::MAX);
    s.write_all(&hs.request()).unwrap();
    let mut reply = [0; 4];
    s.read_exact(&mut reply).unwrap();
    let mut link = Link::rawsocket(hs.handle_reply(reply).unwrap());
    let hello: Message = Hello {
        realm: realm.into(),
        details: Dict::new().with("roles", Dict::new().with("subscriber", Dict::new())),
    }
    .into();
    let mut out = Vec::new();
    link.encode(&hello, &mut out).unwrap();
    s.write_all(&out).unwrap();
    let reply = next(&mut link, &mut s);
    (link, s, reply)
}

fn next(link: &mut Link, s: &mut TcpStream) -> Option<Message> {
    let mut buf = [0u8; 4096];
    loop {
        let n = s.read(&mut buf).ok()?;
        if n == 0 {
            return None;
        }
        let mut input = &buf[..n];
        while let Some(item) = link.receive_rawsocket(&mut input).unwrap() {
            if let Incoming::Message(m) = item {
                return Some(m);
            }
        }
    }
}

fn signal(child: &Child, sig: &str) {
    let ok = Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill {sig}");
}

#[test]
fn sigterm_and_sigint_say_goodbye_and_exit_zero() {
    for sig in ["-TERM", "-INT"] {
        let (mut r, line) = start(&["--listen", "127.0.0.1:0", "--realm", "com.test"]);
        assert!(
            line.starts_with("wamp-router: serving realm com.test on 127.0.0.1:"),
            "{line}"
        );
        assert!(
            line.contains("RawSocket") && line.contains("WebSocket"),
            "{line}"
        );
        let port = port_of(&line);
        let (mut link, mut s) = join(port, "com.test");
        signal(&r.0, sig);
        match next(&mut link, &mut s) {
            Some(Message::Goodbye(g)) => {
                assert_eq!(g.reason.as_str(), "wamp.close.system_shutdown");
            }
            other => panic!("expected GOODBYE, got {other:?}"),
        }
        assert_eq!(next(&mut link, &mut s), None);
        let status = r.0.wait().unwrap();
        assert_eq!(status.code(), Some(0), "{sig}");
    }
}

#[test]
fn bad_configuration_exits_with_code_2_naming_the_key() {
    let dir = std::env::temp_dir().join(format!("wamp-router-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cases = [
        ("[limits]\nmax_sesions = 3\n", "max_sesions"),
        (
            "[[listeners]]\naddress = \"localhost\"\n",
            "listeners[0].address",
        ),
        (
            "[[listeners]]\naddress = \"127.0.0.1:0\"\n[listeners.tls]\ncert = \"missing.pem\"\nkey = \"missing.pem\"\n",
            "listeners[0].tls.cert",
        ),
        ("log = \"info\"\n[router]\nuri_rules = 3\n", "line 3"),
        (
            "[[realms]]\nname = \"realm1\"\n[realms.auth]\nmethods = [\"ticket\"]\n",
            "realms[0].auth.methods[0]",
        ),
        (
            "[[realms]]\nname = \"realm1\"\n[realms.auth]\nmethods = [\"cryptosign\"]\n\
             [[realms.auth.principals]]\nauthid = \"d\"\nrole = \"r\"\ncryptosign_keys = [\"xyz\"]\n",
            "realms[0].auth.principals[0].cryptosign_keys[0]",
        ),
    ];
    for (i, (text, key)) in cases.into_iter().enumerate() {
        let path = dir.join(format!("bad{i}.toml"));
        std::fs::write(&path, text).unwrap();
        let out = router().arg("--config").arg(&path).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{text}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("configuration error") && err.contains(key),
            "{text}: {err}"
        );
    }
    let out = router()
        .args(["--config", "/nonexistent/x.toml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = router().args(["--realm", "bad realm"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = router().args(["--listen", "nowhere"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn example_config_serves() {
    // The example, moved to a free port (its listener is 127.0.0.1:8080).
    let text = include_str!("../examples/router.toml")
        .replace("address = \"127.0.0.1:8080\"", "address = \"127.0.0.1:0\"");
    let dir = std::env::temp_dir().join(format!("wamp-router-example-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("router.toml");
    std::fs::write(&path, text).unwrap();
    let (r, line) = start(&["--config", path.to_str().unwrap()]);
    let port = port_of(&line);
    let (_link, _s) = join(port, "realm1");
    drop(r);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn realm_override_keeps_the_files_authentication() {
    let dir = std::env::temp_dir().join(format!("wamp-router-realms-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("auth.toml");
    std::fs::write(
        &path,
        "[[realms]]\nname = \"com.secure\"\n[realms.auth]\nmethods = [\"ticket\"]\n\
         [[realms.auth.principals]]\nauthid = \"joe\"\nrole = \"user\"\nticket = \"t\"\n\
         [[realms]]\nname = \"com.dropped\"\n",
    )
    .unwrap();
    let mut child = router()
        .args(["--config", path.to_str().unwrap()])
        .args([
            "--listen",
            "127.0.0.1:0",
            "--realm",
            "com.secure",
            "--realm",
            "com.open",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start wamp-router");
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut lines = Vec::new();
    for _ in 0..3 {
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        lines.push(line);
    }
    let r = Running(child);
    assert!(
        lines[0].starts_with("wamp-router: serving realm com.secure, com.open on"),
        "{lines:?}"
    );
    assert!(
        lines[1].contains("realm com.secure: ticket (1 static principals)"),
        "{lines:?}"
    );
    assert!(lines[2].contains("realm com.open: anonymous"), "{lines:?}");
    let port = port_of(&lines[0]);
    // The file's realm keeps its authentication: no anonymous sessions there.
    match hello(port, "com.secure").2 {
        Some(Message::Abort(a)) => assert_eq!(a.reason.as_str(), "wamp.error.no_auth_method"),
        other => panic!("expected ABORT, got {other:?}"),
    }
    // A realm only named on the command line is anonymous; one not named is gone.
    let (_link, _s) = join(port, "com.open");
    match hello(port, "com.dropped").2 {
        Some(Message::Abort(a)) => assert_eq!(a.reason.as_str(), "wamp.error.no_such_realm"),
        other => panic!("expected ABORT, got {other:?}"),
    }
    drop(r);
    let _ = std::fs::remove_dir_all(&dir);
}
