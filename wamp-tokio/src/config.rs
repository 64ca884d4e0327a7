//! The `wamp-router` configuration file (TOML) and its translation to a [`ServerConfig`].
//!
//! Every key is optional; an empty file means the defaults of `wamp-router` without
//! arguments (realm `realm1`, anonymous, WebSocket and RawSocket on `127.0.0.1:8080`).
//! Unknown keys are errors. `wamp-tokio/examples/router.toml` documents every key.
//!
//! ```
//! use wamp_tokio::config::FileConfig;
//!
//! let file = FileConfig::parse(r#"
//!     log = "debug"
//!     [[listeners]]
//!     address = "0.0.0.0:9000"
//!     transports = ["rawsocket"]
//!     serializers = ["msgpack", "cbor"]
//!     [[realms]]
//!     name = "com.example"
//! "#).unwrap();
//! let server = file.to_server_config(std::path::Path::new(".")).unwrap();
//! assert_eq!(server.listeners.len(), 1);
//! assert!(!server.listeners[0].websocket);
//! assert_eq!(server.router.realms[0].name.as_str(), "com.example");
//!
//! let err = FileConfig::parse("[limits]\nmax_sesions = 3").unwrap_err();
//! assert!(err.to_string().contains("max_sesions"));
//! ```

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use wamp_proto::{Serializer, Uri, UriRules};
use wamp_router_core::{RealmConfig, RouterConfig};

use crate::server::{ConnectionConfig, Endpoint, ListenerConfig, ServerConfig};

/// A configuration error, naming the key at fault.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {message}")]
pub struct ConfigError {
    /// The key (`listeners[0].address`), or the file for syntax errors.
    pub key: String,
    /// What is wrong.
    pub message: String,
}

impl ConfigError {
    fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigError {
            key: key.into(),
            message: message.into(),
        }
    }
}

/// The whole file. See the module docs and `examples/router.toml`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct FileConfig {
    /// Log filter (tracing `EnvFilter` syntax: `info`, `wamp_tokio=debug,warn`). Default
    /// `info`; the `RUST_LOG` environment variable wins over the file, `--log` over both.
    pub log: Option<String>,
    /// Listening sockets. Default: one on `127.0.0.1:8080` with everything enabled.
    #[serde(default)]
    pub listeners: Vec<FileListener>,
    /// Realms. Default: `realm1`.
    #[serde(default)]
    pub realms: Vec<FileRealm>,
    /// Router behaviour.
    #[serde(default)]
    pub router: FileRouter,
    /// Limits.
    #[serde(default)]
    pub limits: FileLimits,
    /// Timeouts, in seconds (fractions allowed; 0 disables the optional ones).
    #[serde(default)]
    pub timeouts: FileTimeouts,
}

/// `[[listeners]]`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct FileListener {
    /// TCP address `host:port` (IPv6 as `[::1]:8080`). Exactly one of `address`, `path`.
    pub address: Option<String>,
    /// Unix domain socket path.
    pub path: Option<PathBuf>,
    /// `websocket`, `rawsocket` (both by default).
    pub transports: Option<Vec<String>>,
    /// `json`, `msgpack`, `cbor`, `ubjson` (all by default).
    pub serializers: Option<Vec<String>>,
    /// Offer the batched WebSocket subprotocols too. Default `true`.
    pub batched: Option<bool>,
    /// HTTP paths accepting WebSocket upgrades. Default `["/ws", "/"]`; `[]` means any.
    pub websocket_paths: Option<Vec<String>>,
    /// TLS for this listener.
    pub tls: Option<FileTls>,
    /// Authentication methods offered on this listener. Only `anonymous` is available until
    /// the router core authenticates.
    pub auth_methods: Option<Vec<String>>,
}

/// `[listeners.tls]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct FileTls {
    /// PEM certificate chain (leaf first), relative to the config file's folder.
    pub cert: PathBuf,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1), relative to the config file's folder.
    pub key: PathBuf,
}

/// `[[realms]]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct FileRealm {
    /// The realm URI.
    pub name: String,
}

/// `[router]`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct FileRouter {
    /// Create a realm on the first HELLO naming it. Default `false`.
    pub auto_create_realms: Option<bool>,
    /// Require sequential request IDs. Default `false` (Crossbar does not check).
    pub strict_request_ids: Option<bool>,
    /// `loose` (default) or `strict` URI checking.
    pub uri_rules: Option<String>,
    /// Disclose every caller to its callees. Default `false`.
    pub disclose_caller: Option<bool>,
    /// Disclose every publisher to its subscribers. Default `false`.
    pub disclose_publisher: Option<bool>,
    /// `WELCOME.Details.agent`.
    pub agent: Option<String>,
    /// Seed of a deterministic, not cryptographically secure random source (tests and
    /// reproducible runs only). Default: the operating system's CSPRNG.
    pub seed: Option<u64>,
}

/// `[limits]`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct FileLimits {
    /// Most realms. Default 1024.
    pub max_realms: Option<usize>,
    /// Most open connections. Default 100000.
    pub max_connections: Option<usize>,
    /// Most joined sessions. Default 100000.
    pub max_sessions: Option<usize>,
    /// Per session. Default 1000.
    pub max_subscriptions_per_session: Option<usize>,
    /// Per session. Default 1000.
    pub max_registrations_per_session: Option<usize>,
    /// Per session. Default 1000.
    pub max_pending_calls_per_session: Option<usize>,
    /// Per callee session. Default 1000.
    pub max_pending_invocations_per_session: Option<usize>,
    /// Per realm. Default 10000.
    pub max_retained_events: Option<usize>,
    /// Largest WAMP message in octets, both directions. Default 16 MiB.
    pub max_message_size: Option<usize>,
    /// Messages queued per connection before it counts as a slow consumer. Default 1024.
    pub outgoing_queue: Option<usize>,
    /// Items queued from all connections to the router. Default 1024.
    pub router_queue: Option<usize>,
    /// WebSocket read buffer per connection, octets. Default 4096.
    pub websocket_read_buffer: Option<usize>,
    /// WebSocket write buffer target per connection, octets. Default 16384.
    pub websocket_write_buffer: Option<usize>,
}

/// `[timeouts]`, in seconds.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct FileTimeouts {
    /// TLS + WebSocket/RawSocket opening handshake. Default 10.
    pub handshake: Option<f64>,
    /// From connection (or the end of a session) to HELLO. Default 30; 0 disables.
    pub hello: Option<f64>,
    /// Close a connection that sent nothing for this long. Default 300; 0 disables.
    pub idle: Option<f64>,
    /// Send a PING after this long without traffic. Default 30; 0 disables.
    pub ping_interval: Option<f64>,
    /// Longest single write to a peer. Default 30.
    pub write: Option<f64>,
    /// How long shutdown waits for connections to close. Default 5.
    pub shutdown_grace: Option<f64>,
}

fn secs(key: &str, v: f64) -> Result<Duration, ConfigError> {
    Duration::try_from_secs_f64(v)
        .map_err(|_| ConfigError::new(key, format!("{v} is not a valid number of seconds")))
}

fn optional_secs(
    key: &str,
    v: Option<f64>,
    default: Option<Duration>,
) -> Result<Option<Duration>, ConfigError> {
    match v {
        None => Ok(default),
        Some(0.0) => Ok(None),
        Some(x) => secs(key, x).map(Some),
    }
}

fn positive(key: &str, v: Option<usize>, default: usize) -> Result<usize, ConfigError> {
    match v {
        None => Ok(default),
        Some(0) => Err(ConfigError::new(key, "must be at least 1")),
        Some(n) => Ok(n),
    }
}

/// Parses a serializer name (`json`, `msgpack`, `cbor`, `ubjson`).
pub fn parse_serializer(name: &str) -> Option<Serializer> {
    Serializer::ALL.into_iter().find(|s| s.name() == name)
}

/// Parses a `--listen` value: `host:port` or `unix:/path`.
pub fn parse_endpoint(s: &str) -> Result<Endpoint, String> {
    if let Some(path) = s.strip_prefix("unix:") {
        if path.is_empty() {
            return Err("empty Unix socket path".to_owned());
        }
        return Ok(Endpoint::Unix(PathBuf::from(path)));
    }
    s.parse::<SocketAddr>()
        .map(Endpoint::Tcp)
        .map_err(|_| format!("`{s}` is neither host:port (an IP address) nor unix:/path"))
}

impl FileConfig {
    /// Parses TOML text.
    pub fn parse(text: &str) -> Result<FileConfig, ConfigError> {
        toml::from_str(text).map_err(|e| {
            let msg = e.message().to_owned();
            let key = match e.span() {
                Some(span) => {
                    let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
                    format!("line {line}")
                }
                None => "config".to_owned(),
            };
            ConfigError::new(key, msg)
        })
    }

    /// Reads and parses a file.
    pub fn load(path: &Path) -> Result<FileConfig, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError::new(path.display().to_string(), e.to_string()))?;
        FileConfig::parse(&text).map_err(|e| ConfigError {
            key: format!("{}: {}", path.display(), e.key),
            message: e.message,
        })
    }

    /// The server configuration; relative TLS file paths are resolved against `base_dir`
    /// (the config file's folder).
    pub fn to_server_config(&self, base_dir: &Path) -> Result<ServerConfig, ConfigError> {
        let mut router = RouterConfig::default();
        let mut sc = ServerConfig::default();
        let r = &self.router;
        if let Some(v) = r.auto_create_realms {
            router.auto_create_realms = v;
        }
        if let Some(v) = r.strict_request_ids {
            router.strict_request_ids = v;
        }
        if let Some(v) = &r.uri_rules {
            router.uri_rules = match v.as_str() {
                "loose" => UriRules::Loose,
                "strict" => UriRules::Strict,
                other => {
                    return Err(ConfigError::new(
                        "router.uri_rules",
                        format!("`{other}` is not `loose` or `strict`"),
                    ));
                }
            };
        }
        if let Some(v) = r.disclose_caller {
            router.disclose_caller = v;
        }
        if let Some(v) = r.disclose_publisher {
            router.disclose_publisher = v;
        }
        if let Some(v) = &r.agent {
            router.agent = v.clone();
        }
        sc.seed = r.seed;

        router.realms = if self.realms.is_empty() {
            vec![RealmConfig::from("realm1")]
        } else {
            let mut realms = Vec::new();
            for (i, realm) in self.realms.iter().enumerate() {
                let uri = Uri::from_wire(&realm.name);
                if !uri.is_valid(router.uri_rules) {
                    return Err(ConfigError::new(
                        format!("realms[{i}].name"),
                        format!("`{}` is not a valid URI", realm.name),
                    ));
                }
                if realms.iter().any(|r: &RealmConfig| r.name == uri) {
                    return Err(ConfigError::new(
                        format!("realms[{i}].name"),
                        format!("realm `{}` is listed twice", realm.name),
                    ));
                }
                realms.push(RealmConfig::from(uri));
            }
            realms
        };

        let l = &self.limits;
        router.max_realms = positive("limits.max_realms", l.max_realms, router.max_realms)?;
        router.max_connections = positive(
            "limits.max_connections",
            l.max_connections,
            router.max_connections,
        )?;
        router.max_sessions = positive("limits.max_sessions", l.max_sessions, router.max_sessions)?;
        router.max_subscriptions_per_session = positive(
            "limits.max_subscriptions_per_session",
            l.max_subscriptions_per_session,
            router.max_subscriptions_per_session,
        )?;
        router.max_registrations_per_session = positive(
            "limits.max_registrations_per_session",
            l.max_registrations_per_session,
            router.max_registrations_per_session,
        )?;
        router.max_pending_calls_per_session = positive(
            "limits.max_pending_calls_per_session",
            l.max_pending_calls_per_session,
            router.max_pending_calls_per_session,
        )?;
        router.max_pending_invocations_per_session = positive(
            "limits.max_pending_invocations_per_session",
            l.max_pending_invocations_per_session,
            router.max_pending_invocations_per_session,
        )?;
        if let Some(v) = l.max_retained_events {
            router.max_retained_events = v;
        }
        let max_msg = positive(
            "limits.max_message_size",
            l.max_message_size,
            router.max_message_size,
        )?;
        if !(512..=wamp_proto::rawsocket::MAX_PAYLOAD).contains(&max_msg) {
            return Err(ConfigError::new(
                "limits.max_message_size",
                "must be between 512 and 16777216 octets",
            ));
        }
        router.max_message_size = max_msg;
        let mut conn = ConnectionConfig::default();
        conn.max_message_size = max_msg;
        conn.outgoing_queue = positive(
            "limits.outgoing_queue",
            l.outgoing_queue,
            conn.outgoing_queue,
        )?;
        sc.router_queue = positive("limits.router_queue", l.router_queue, sc.router_queue)?;
        conn.websocket_read_buffer = positive(
            "limits.websocket_read_buffer",
            l.websocket_read_buffer,
            conn.websocket_read_buffer,
        )?;
        if let Some(v) = l.websocket_write_buffer {
            conn.websocket_write_buffer = v;
        }

        let t = &self.timeouts;
        if let Some(v) = t.handshake {
            conn.handshake_timeout = secs("timeouts.handshake", v)?;
        }
        router.hello_timeout = optional_secs("timeouts.hello", t.hello, router.hello_timeout)?;
        conn.idle_timeout = optional_secs("timeouts.idle", t.idle, conn.idle_timeout)?;
        conn.ping_interval = optional_secs(
            "timeouts.ping_interval",
            t.ping_interval,
            conn.ping_interval,
        )?;
        if let Some(v) = t.write {
            conn.write_timeout = secs("timeouts.write", v)?;
        }
        if let Some(v) = t.shutdown_grace {
            sc.shutdown_grace = secs("timeouts.shutdown_grace", v)?;
        }

        if !self.listeners.is_empty() {
            sc.listeners = self
                .listeners
                .iter()
                .enumerate()
                .map(|(i, fl)| listener(i, fl, base_dir))
                .collect::<Result<_, _>>()?;
        }
        sc.router = router;
        sc.connection = conn;
        Ok(sc)
    }
}

fn listener(i: usize, fl: &FileListener, base_dir: &Path) -> Result<ListenerConfig, ConfigError> {
    let key = |k: &str| format!("listeners[{i}].{k}");
    let endpoint = match (&fl.address, &fl.path) {
        (Some(a), None) => Endpoint::Tcp(a.parse().map_err(|_| {
            ConfigError::new(
                key("address"),
                format!("`{a}` is not host:port with an IP address"),
            )
        })?),
        (None, Some(p)) => Endpoint::Unix(p.clone()),
        (Some(_), Some(_)) => {
            return Err(ConfigError::new(
                key("address"),
                "give either `address` or `path`, not both",
            ));
        }
        (None, None) => {
            return Err(ConfigError::new(
                key("address"),
                "missing: give `address` (TCP) or `path` (Unix socket)",
            ));
        }
    };
    let mut l = ListenerConfig::new(endpoint);
    if let Some(ts) = &fl.transports {
        l.websocket = false;
        l.rawsocket = false;
        for t in ts {
            match t.as_str() {
                "websocket" => l.websocket = true,
                "rawsocket" => l.rawsocket = true,
                other => {
                    return Err(ConfigError::new(
                        key("transports"),
                        format!("`{other}` is not `websocket` or `rawsocket`"),
                    ));
                }
            }
        }
        if !l.websocket && !l.rawsocket {
            return Err(ConfigError::new(
                key("transports"),
                "enable at least one transport",
            ));
        }
    }
    if let Some(ss) = &fl.serializers {
        let mut list = Vec::new();
        for s in ss {
            let ser = parse_serializer(s).ok_or_else(|| {
                ConfigError::new(
                    key("serializers"),
                    format!("`{s}` is not one of json, msgpack, cbor, ubjson"),
                )
            })?;
            if !list.contains(&ser) {
                list.push(ser);
            }
        }
        if list.is_empty() {
            return Err(ConfigError::new(
                key("serializers"),
                "enable at least one serializer",
            ));
        }
        l.serializers = list;
    }
    if let Some(b) = fl.batched {
        l.batched = b;
    }
    if let Some(p) = &fl.websocket_paths {
        if let Some(bad) = p.iter().find(|p| !p.starts_with('/')) {
            return Err(ConfigError::new(
                key("websocket_paths"),
                format!("`{bad}` does not start with `/`"),
            ));
        }
        l.websocket_paths = p.clone();
    }
    if let Some(methods) = &fl.auth_methods {
        if let Some(m) = methods.iter().find(|m| m.as_str() != "anonymous") {
            return Err(ConfigError::new(
                key("auth_methods"),
                format!("`{m}` is not available yet (only `anonymous`)"),
            ));
        }
    }
    if let Some(tls) = &fl.tls {
        l.tls = Some(load_tls(&key("tls"), tls, base_dir)?);
    }
    Ok(l)
}

/// Builds a rustls server configuration (ring provider) from PEM files.
pub fn tls_server_config(
    cert_pem: &[u8],
    key_pem: &[u8],
) -> Result<Arc<rustls::ServerConfig>, String> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert_pem)
        .collect::<Result<_, _>>()
        .map_err(|e| format!("certificate: {e}"))?;
    if certs.is_empty() {
        return Err("certificate: no certificate in the file".to_owned());
    }
    let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| format!("key: {e}"))?;
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| e.to_string())?
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .map_err(|e| e.to_string())?;
    Ok(Arc::new(config))
}

fn load_tls(
    key: &str,
    tls: &FileTls,
    base_dir: &Path,
) -> Result<Arc<rustls::ServerConfig>, ConfigError> {
    let read = |what: &str, p: &Path| {
        let full = base_dir.join(p);
        std::fs::read(&full).map_err(|e| {
            ConfigError::new(format!("{key}.{what}"), format!("{}: {e}", full.display()))
        })
    };
    let cert = read("cert", &tls.cert)?;
    let pem_key = read("key", &tls.key)?;
    tls_server_config(&cert, &pem_key).map_err(|e| ConfigError::new(key, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_is_the_default() {
        let c = FileConfig::parse("")
            .unwrap()
            .to_server_config(Path::new("."))
            .unwrap();
        assert_eq!(c.router.realms, vec![RealmConfig::from("realm1")]);
        assert_eq!(c.listeners.len(), 1);
        assert_eq!(
            c.listeners[0].endpoint,
            Endpoint::Tcp("127.0.0.1:8080".parse().unwrap())
        );
        assert!(c.listeners[0].websocket && c.listeners[0].rawsocket);
    }

    #[test]
    fn errors_name_the_key() {
        let cases = [
            ("bogus = 1", "bogus"),
            ("[[listeners]]\naddress = \"nope\"", "listeners[0].address"),
            (
                "[[listeners]]\npath = \"/x\"\nserializers = [\"xml\"]",
                "listeners[0].serializers",
            ),
            (
                "[[listeners]]\naddress = \"127.0.0.1:1\"\ntransports = [\"mqtt\"]",
                "listeners[0].transports",
            ),
            (
                "[[listeners]]\naddress = \"127.0.0.1:1\"\nauth_methods = [\"ticket\"]",
                "listeners[0].auth_methods",
            ),
            ("[[listeners]]\ntransports = []", "listeners[0].address"),
            ("[[realms]]\nname = \"a..b\"", "realms[0].name"),
            ("[limits]\nmax_message_size = 10", "limits.max_message_size"),
            ("[limits]\nmax_sessions = 0", "limits.max_sessions"),
            ("[timeouts]\nidle = -1", "timeouts.idle"),
            ("[router]\nuri_rules = \"lax\"", "router.uri_rules"),
            ("[router]\ndisclose_caller = \"yes\"", "line 2"),
        ];
        for (text, key) in cases {
            let err = FileConfig::parse(text)
                .and_then(|c| c.to_server_config(Path::new(".")))
                .unwrap_err();
            assert!(err.to_string().contains(key), "{text:?}: {err}");
        }
    }

    #[test]
    fn example_file_documents_every_key_with_its_default() {
        let text = include_str!("../examples/router.toml");
        let file = FileConfig::parse(text).unwrap();
        // Every key is set except the commented-out ones: path, tls, agent, seed.
        let debug = format!("{file:?}");
        assert_eq!(debug.matches("None").count(), 4, "{debug}");
        let example = file.to_server_config(Path::new(".")).unwrap();
        let default = FileConfig::default()
            .to_server_config(Path::new("."))
            .unwrap();
        assert_eq!(format!("{example:?}"), format!("{default:?}"));
    }

    #[test]
    fn endpoints_parse() {
        assert_eq!(
            parse_endpoint("unix:/tmp/x.sock"),
            Ok(Endpoint::Unix("/tmp/x.sock".into()))
        );
        assert_eq!(
            parse_endpoint("[::1]:80"),
            Ok(Endpoint::Tcp("[::1]:80".parse().unwrap()))
        );
        assert!(parse_endpoint("localhost:80").is_err());
        assert!(parse_endpoint("unix:").is_err());
    }
}
