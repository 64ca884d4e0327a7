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

use std::fmt;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use wamp_proto::auth::scram::{Kdf, ScramProfile};
use wamp_proto::auth::wampcra::{self, SaltParams};
use wamp_proto::auth::{AuthError, KdfLimits};
use wamp_proto::{Dict, MatchPolicy, Serializer, Uri, UriRules, Value};
use wamp_router_core::{
    Allow, AuthConfig, AuthMethod, AuthProvider, CraCredential, Disclose, HistoryConfig,
    MethodConfig, Permission, Principal, RealmConfig, RoleConfig, RouterConfig, ScramSecret,
};

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
    /// The authentication methods sessions on this listener may use, out of their realm's
    /// (`anonymous`, `ticket`, `wampcra`, `cryptosign`, `scram`): e.g. ticket only on the
    /// TLS listener. Default: every method of the realm.
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
    /// `[realms.auth]`: how sessions authenticate. Default: anonymous only, role
    /// `anonymous`.
    pub auth: Option<FileAuth>,
    /// `[[realms.roles]]`: roles and their permissions. Default: none, which allows every
    /// session everything. With roles, every role a session can get (principals' roles, the
    /// anonymous role) must be listed.
    #[serde(default)]
    pub roles: Vec<FileRole>,
    /// `[[realms.event_history]]`: topics whose events are kept for
    /// `wamp.subscription.get_events`. Default: none.
    #[serde(default)]
    pub event_history: Vec<FileHistory>,
    /// `wamp.session.on_leave` arguments: `false` (default, Crossbar) `[session]`, `true`
    /// the spec's `[session, authid, authrole]`.
    pub on_leave_with_identity: Option<bool>,
}

/// `[realms.auth]`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct FileAuth {
    /// The methods offered, in the router's order of preference (the client's order wins:
    /// the first of the client's methods found here is used). Default `["anonymous"]`.
    pub methods: Option<Vec<FileMethod>>,
    /// The role of anonymous sessions. Default `anonymous`.
    pub anonymous_role: Option<String>,
    /// Cryptosign router authentication: the router's Ed25519 key seed, 64 hex characters.
    /// At most one of `cryptosign_router_key`, `_file`, `_env`.
    pub cryptosign_router_key: Option<String>,
    /// The seed read from this file (relative to the configuration file's folder).
    pub cryptosign_router_key_file: Option<PathBuf>,
    /// The seed read from this environment variable.
    pub cryptosign_router_key_env: Option<String>,
    /// Cost of the mock SCRAM challenges sent for unknown authids when no principal has a
    /// SCRAM credential to imitate. Default Argon2id, 4096 iterations, 512 KiB.
    pub scram_mock_kdf: Option<FileKdf>,
    /// `[[realms.auth.principals]]`: the static principals.
    #[serde(default)]
    pub principals: Vec<FilePrincipal>,
}

/// One entry of `realms.auth.methods`: a name (`"ticket"`: static principals) or a table
/// (`{ method = "ticket", provider = "dynamic" }`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FileMethod {
    /// `anonymous`, `ticket`, `wampcra`, `cryptosign` or `scram`, with static principals.
    Name(String),
    /// A method with its provider.
    Table(FileMethodTable),
}

/// `{ method = "...", provider = "static" | "dynamic" }`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct FileMethodTable {
    /// The method name.
    pub method: String,
    /// `static` (default: the principals below) or `dynamic` (the embedder's
    /// `Decider` answers; `wamp-router` alone has none and denies).
    pub provider: Option<String>,
}

impl<'de> Deserialize<'de> for FileMethod {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = FileMethod;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a method name or a table { method, provider }")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<FileMethod, E> {
                Ok(FileMethod::Name(v.to_owned()))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<FileMethod, A::Error> {
                FileMethodTable::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(FileMethod::Table)
            }
        }
        d.deserialize_any(V)
    }
}

/// A key derivation function with its cost: `{ kdf = "argon2id13", iterations = 4096,
/// memory = 512 }`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct FileKdf {
    /// `argon2id13` (also spelled `argon2id-13`; the default) or `pbkdf2`.
    pub kdf: Option<String>,
    /// Argon2 time cost or PBKDF2 iterations. Default 4096.
    pub iterations: Option<u32>,
    /// Argon2 memory in KiB (not for PBKDF2). Default 512.
    pub memory: Option<u32>,
}

/// `[[realms.auth.principals]]`: who may authenticate, as what role, with which credentials.
/// Every secret can be given in the file (`ticket`), read from a file relative to the
/// configuration file's folder (`ticket_file`; one trailing newline is dropped) or from an
/// environment variable (`ticket_env`): at most one of the three.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct FilePrincipal {
    /// The authid (unique in the realm). Required.
    pub authid: Option<String>,
    /// The role its sessions get. Required.
    pub role: Option<String>,
    /// `ticket`: the ticket.
    pub ticket: Option<String>,
    /// The ticket, from a file.
    pub ticket_file: Option<PathBuf>,
    /// The ticket, from an environment variable.
    pub ticket_env: Option<String>,
    /// `wampcra`: the secret (plain or salted).
    pub wampcra: Option<FileWampCra>,
    /// `cryptosign`: the authorized Ed25519 public keys, 64 hex characters each.
    pub cryptosign_keys: Option<Vec<String>>,
    /// `scram`: the password (derived when the configuration is loaded) or the stored keys.
    pub scram: Option<FileScram>,
    /// Extra entries for `WELCOME.Details.authextra` (any TOML values; datetimes become
    /// strings).
    pub authextra: Option<toml::Table>,
}

/// `[realms.auth.principals.wampcra]`: exactly one of `secret`, `secret_file`, `secret_env`,
/// `password`, `password_file`, `password_env`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct FileWampCra {
    /// The HMAC key: the shared secret, or — with `salt` — the derived key as Crossbar stores
    /// it (the base64 text Autobahn's `auth.derive_key(password, salt, iterations, keylen)`
    /// returns).
    pub secret: Option<String>,
    /// The secret, from a file.
    pub secret_file: Option<PathBuf>,
    /// The secret, from an environment variable.
    pub secret_env: Option<String>,
    /// The password of a salted credential (needs `salt`): the key is derived (PBKDF2) when
    /// the configuration is loaded.
    pub password: Option<String>,
    /// The password, from a file.
    pub password_file: Option<PathBuf>,
    /// The password, from an environment variable.
    pub password_env: Option<String>,
    /// Salted WAMP-CRA: the salt (text, sent in the CHALLENGE). Default: none (plain).
    pub salt: Option<String>,
    /// PBKDF2 iterations (only with `salt`). Default 1000 (Autobahn's).
    pub iterations: Option<u32>,
    /// Derived key length in octets (only with `salt`). Default 32.
    pub keylen: Option<u32>,
}

/// `[realms.auth.principals.scram]`: a password (`password`, `password_file` or
/// `password_env`), or the precomputed `stored_key` and `server_key` (as Autobahn's
/// `derive_scram_credential` prints them for Crossbar; `stored-key` and `server-key` are
/// accepted too).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct FileScram {
    /// The password (derived when the configuration is loaded: Argon2 is slow on purpose).
    pub password: Option<String>,
    /// The password, from a file.
    pub password_file: Option<PathBuf>,
    /// The password, from an environment variable.
    pub password_env: Option<String>,
    /// The salt, hex (as Crossbar). Required; at least 8 octets for Argon2.
    pub salt: Option<String>,
    /// `argon2id13` (default; `argon2id-13` too) or `pbkdf2`.
    pub kdf: Option<String>,
    /// Argon2 time cost or PBKDF2 iterations. Default 4096.
    pub iterations: Option<u32>,
    /// Argon2 memory in KiB. Default 512.
    pub memory: Option<u32>,
    /// The dialect: `autobahn` (default; authmethod `scram`, as Autobahn and Crossbar) or
    /// `spec` (authmethod `wamp-scram`). A PBKDF2 credential serves both.
    pub profile: Option<String>,
    /// Precomputed `StoredKey`, 64 hex characters.
    #[serde(alias = "stored-key")]
    pub stored_key: Option<String>,
    /// Precomputed `ServerKey`, 64 hex characters.
    #[serde(alias = "server-key")]
    pub server_key: Option<String>,
}

/// `[[realms.roles]]`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct FileRole {
    /// The role name (an authrole). Required.
    pub name: Option<String>,
    /// The rules. For a request the most specific matching rule decides (exact over the
    /// longest prefix over wildcard); no matching rule: denied.
    #[serde(default)]
    pub permissions: Vec<FilePermission>,
    /// Authorize this role's requests by the embedder's `Decider` instead of rules (no
    /// `permissions` then). Default `false`.
    pub dynamic: Option<bool>,
}

/// `[[realms.roles.permissions]]`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct FilePermission {
    /// The URI or pattern. Required; `""` with `match = "prefix"` matches everything.
    pub uri: Option<String>,
    /// `exact` (default), `prefix` or `wildcard`.
    #[serde(rename = "match")]
    pub match_policy: Option<String>,
    /// Allowed actions: a list (`["call", "subscribe"]`) or a table (`{ call = true, ... }`).
    /// Default: none.
    pub allow: Option<FileAllow>,
    /// Disclose the caller / publisher under this rule. Default: neither.
    pub disclose: Option<FileDisclose>,
}

/// `allow` of a permission.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FileAllow {
    /// `["call", "register", "publish", "subscribe"]` (any subset).
    Actions(Vec<String>),
    /// `{ call = true, register = false, ... }` (missing entries are `false`).
    Table(FileAllowTable),
}

/// `allow = { call, register, publish, subscribe }`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct FileAllowTable {
    /// CALL.
    pub call: Option<bool>,
    /// REGISTER.
    pub register: Option<bool>,
    /// PUBLISH.
    pub publish: Option<bool>,
    /// SUBSCRIBE.
    pub subscribe: Option<bool>,
}

impl<'de> Deserialize<'de> for FileAllow {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = FileAllow;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list of actions or a table { call, register, publish, subscribe }")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<FileAllow, A::Error> {
                Vec::<String>::deserialize(de::value::SeqAccessDeserializer::new(seq))
                    .map(FileAllow::Actions)
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<FileAllow, A::Error> {
                FileAllowTable::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(FileAllow::Table)
            }
        }
        d.deserialize_any(V)
    }
}

/// `disclose = { caller, publisher }`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct FileDisclose {
    /// Calls under this rule carry the caller's identity to the callee. Default `false`.
    pub caller: Option<bool>,
    /// Publications under this rule carry the publisher's identity. Default `false`.
    pub publisher: Option<bool>,
}

/// `[[realms.event_history]]`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct FileHistory {
    /// The topic or pattern. Required.
    pub uri: Option<String>,
    /// `exact` (default), `prefix` or `wildcard`.
    #[serde(rename = "match")]
    pub match_policy: Option<String>,
    /// Most events kept (the oldest goes first). Default 100.
    pub limit: Option<usize>,
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
            for (i, realm_cfg) in self.realms.iter().enumerate() {
                let uri = Uri::from_wire(&realm_cfg.name);
                if !uri.is_valid(router.uri_rules) {
                    return Err(ConfigError::new(
                        format!("realms[{i}].name"),
                        format!("`{}` is not a valid URI", realm_cfg.name),
                    ));
                }
                if realms.iter().any(|r: &RealmConfig| r.name == uri) {
                    return Err(ConfigError::new(
                        format!("realms[{i}].name"),
                        format!("realm `{}` is listed twice", realm_cfg.name),
                    ));
                }
                realms.push(realm(i, realm_cfg, uri, base_dir)?);
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
                .map(|(i, fl)| listener(i, fl, &router.realms, base_dir))
                .collect::<Result<_, _>>()?;
        }
        router.validate().map_err(|e| core_error(&e))?;
        sc.router = router;
        sc.connection = conn;
        Ok(sc)
    }
}

fn listener(
    i: usize,
    fl: &FileListener,
    realms: &[RealmConfig],
    base_dir: &Path,
) -> Result<ListenerConfig, ConfigError> {
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
        if methods.is_empty() {
            return Err(ConfigError::new(
                key("auth_methods"),
                "list at least one method (leave the key out for every method of the realm)",
            ));
        }
        let mut list = Vec::with_capacity(methods.len());
        for (j, name) in methods.iter().enumerate() {
            let k = key(&format!("auth_methods[{j}]"));
            let m = parse_method(&k, name)?;
            if !realms
                .iter()
                .any(|r| r.auth.methods.iter().any(|c| c.method == m))
            {
                return Err(ConfigError::new(
                    k,
                    format!("no realm offers `{}` (see realms[].auth.methods)", m.as_str()),
                ));
            }
            if !list.contains(&m) {
                list.push(m);
            }
        }
        l.auth_methods = Some(list);
    }
    if let Some(tls) = &fl.tls {
        l.tls = Some(load_tls(&key("tls"), tls, base_dir)?);
    }
    Ok(l)
}

// ------------------------------------------------------------------------------------------
// Realms: authentication, roles, event history
// ------------------------------------------------------------------------------------------

/// The method names accepted in `methods` and `auth_methods`.
const METHOD_NAMES: &str = "anonymous, ticket, wampcra, cryptosign, scram";

fn parse_method(key: &str, name: &str) -> Result<AuthMethod, ConfigError> {
    AuthMethod::from_wire(name).map(|(m, _)| m).ok_or_else(|| {
        ConfigError::new(
            key,
            format!("`{name}` is not an authentication method ({METHOD_NAMES})"),
        )
    })
}

fn parse_match(key: &str, v: Option<&str>) -> Result<MatchPolicy, ConfigError> {
    match v {
        None => Ok(MatchPolicy::Exact),
        Some(s) => MatchPolicy::parse(s).ok_or_else(|| {
            ConfigError::new(
                key,
                format!("`{s}` is not `exact`, `prefix` or `wildcard`"),
            )
        }),
    }
}

fn required<'a>(key: &str, v: Option<&'a String>) -> Result<&'a str, ConfigError> {
    match v {
        None => Err(ConfigError::new(key, "missing")),
        Some(s) if s.is_empty() => Err(ConfigError::new(key, "must not be empty")),
        Some(s) => Ok(s),
    }
}

/// A secret given inline, as a file or as an environment variable (at most one of them).
struct SecretSource<'a> {
    /// The key prefix (`realms[0].auth.principals[1]`).
    key: &'a str,
    /// The key's name (`ticket`).
    name: &'a str,
    inline: Option<&'a String>,
    file: Option<&'a PathBuf>,
    env: Option<&'a String>,
}

impl SecretSource<'_> {
    fn given(&self) -> bool {
        self.inline.is_some() || self.file.is_some() || self.env.is_some()
    }

    /// The secret, if one of the three is given.
    fn read(&self, base_dir: &Path) -> Result<Option<String>, ConfigError> {
        let (key, name) = (self.key, self.name);
        let count = [
            self.inline.is_some(),
            self.file.is_some(),
            self.env.is_some(),
        ]
        .iter()
        .filter(|x| **x)
        .count();
        if count > 1 {
            return Err(ConfigError::new(
                format!("{key}.{name}"),
                format!("give only one of `{name}`, `{name}_file`, `{name}_env`"),
            ));
        }
        let (k, value) = if let Some(v) = self.inline {
            (format!("{key}.{name}"), v.clone())
        } else if let Some(p) = self.file {
            let k = format!("{key}.{name}_file");
            let full = base_dir.join(p);
            let text = std::fs::read_to_string(&full)
                .map_err(|e| ConfigError::new(&k, format!("{}: {e}", full.display())))?;
            let text = text
                .strip_suffix('\n')
                .map(|t| t.strip_suffix('\r').unwrap_or(t))
                .unwrap_or(&text)
                .to_owned();
            (k, text)
        } else if let Some(var) = self.env {
            let k = format!("{key}.{name}_env");
            let v = std::env::var(var).map_err(|e| {
                ConfigError::new(&k, format!("environment variable `{var}`: {e}"))
            })?;
            (k, v)
        } else {
            return Ok(None);
        };
        if value.is_empty() {
            return Err(ConfigError::new(k, "the secret is empty"));
        }
        Ok(Some(value))
    }
}

fn toml_value(v: &toml::Value) -> Value {
    match v {
        toml::Value::String(s) => Value::from(s.as_str()),
        toml::Value::Integer(i) => Value::from(*i),
        toml::Value::Float(f) => Value::from(*f),
        toml::Value::Boolean(b) => Value::from(*b),
        toml::Value::Datetime(d) => Value::from(d.to_string()),
        toml::Value::Array(a) => Value::List(a.iter().map(toml_value).collect()),
        toml::Value::Table(t) => Value::Dict(toml_dict(t)),
    }
}

fn toml_dict(t: &toml::Table) -> Dict {
    let mut d = Dict::with_capacity(t.len());
    for (k, v) in t {
        d.insert(k.as_str(), toml_value(v));
    }
    d
}

/// A KDF from its name and costs (`key`: the prefix of `kdf`, `iterations`, `memory`),
/// checked against the limits our client accepts.
fn kdf(
    key: &str,
    name: Option<&String>,
    iterations: Option<u32>,
    memory: Option<u32>,
) -> Result<Kdf, ConfigError> {
    let iterations_v = iterations.unwrap_or(4096);
    let k = match name.map(String::as_str) {
        None | Some("argon2id13" | "argon2id-13") => Kdf::Argon2id13 {
            iterations: iterations_v,
            memory_kib: memory.unwrap_or(512),
        },
        Some("pbkdf2") => {
            if memory.is_some() {
                return Err(ConfigError::new(
                    format!("{key}.memory"),
                    "only for argon2id13 (PBKDF2 has no memory cost)",
                ));
            }
            Kdf::Pbkdf2 {
                iterations: iterations_v,
            }
        }
        Some(other) => {
            return Err(ConfigError::new(
                format!("{key}.kdf"),
                format!("`{other}` is not `argon2id13` or `pbkdf2`"),
            ));
        }
    };
    let limits = KdfLimits::default();
    k.check(&limits).map_err(|e| {
        let (what, range) = match (e, k) {
            (AuthError::KdfLimit("memory"), _) => (
                "memory",
                format!("8 to {} KiB", limits.max_argon2_memory_kib),
            ),
            (_, Kdf::Argon2id13 { .. }) => (
                "iterations",
                format!("1 to {}", limits.max_argon2_iterations),
            ),
            (_, Kdf::Pbkdf2 { .. }) => (
                "iterations",
                format!(
                    "{} to {}",
                    limits.min_scram_pbkdf2_iterations, limits.max_pbkdf2_iterations
                ),
            ),
        };
        ConfigError::new(
            format!("{key}.{what}"),
            format!("must be {range} (what clients accept)"),
        )
    })?;
    Ok(k)
}

fn hex_bytes(key: &str, text: &str) -> Result<Vec<u8>, ConfigError> {
    hex::decode(text).map_err(|_| ConfigError::new(key, "not hex (an even number of 0-9a-f)"))
}

fn hex32(key: &str, text: &str) -> Result<[u8; 32], ConfigError> {
    let bytes = hex_bytes(key, text)?;
    bytes
        .try_into()
        .map_err(|_| ConfigError::new(key, "must be 64 hex characters (32 octets)"))
}

fn wampcra(key: &str, w: &FileWampCra, base_dir: &Path) -> Result<CraCredential, ConfigError> {
    let secret = SecretSource {
        key,
        name: "secret",
        inline: w.secret.as_ref(),
        file: w.secret_file.as_ref(),
        env: w.secret_env.as_ref(),
    };
    let password = SecretSource {
        key,
        name: "password",
        inline: w.password.as_ref(),
        file: w.password_file.as_ref(),
        env: w.password_env.as_ref(),
    };
    if secret.given() && password.given() {
        return Err(ConfigError::new(
            format!("{key}.password"),
            "give either a `secret` or a `password`, not both",
        ));
    }
    let salt = match &w.salt {
        Some(s) if s.is_empty() => {
            return Err(ConfigError::new(format!("{key}.salt"), "must not be empty"));
        }
        Some(s) => {
            let iterations = w.iterations.unwrap_or(wampcra::DEFAULT_ITERATIONS);
            let keylen = w.keylen.unwrap_or(wampcra::DEFAULT_KEYLEN);
            let limits = KdfLimits::default();
            if iterations == 0 || iterations > limits.max_pbkdf2_iterations {
                return Err(ConfigError::new(
                    format!("{key}.iterations"),
                    format!("must be 1 to {}", limits.max_pbkdf2_iterations),
                ));
            }
            if keylen == 0 || keylen > limits.max_keylen {
                return Err(ConfigError::new(
                    format!("{key}.keylen"),
                    format!("must be 1 to {}", limits.max_keylen),
                ));
            }
            Some(SaltParams {
                salt: s.clone(),
                iterations,
                keylen,
            })
        }
        None => {
            for (name, v) in [("iterations", w.iterations), ("keylen", w.keylen)] {
                if v.is_some() {
                    return Err(ConfigError::new(
                        format!("{key}.{name}"),
                        "only for salted WAMP-CRA (set `salt`)",
                    ));
                }
            }
            None
        }
    };
    if let Some(p) = password.read(base_dir)? {
        let Some(salt) = salt else {
            return Err(ConfigError::new(
                format!("{key}.salt"),
                "a `password` needs a `salt` (or give the plain `secret`)",
            ));
        };
        return CraCredential::salted(&p, salt)
            .map_err(|e| ConfigError::new(format!("{key}.password"), e.to_string()));
    }
    match secret.read(base_dir)? {
        Some(s) => Ok(CraCredential { secret: s, salt }),
        None => Err(ConfigError::new(
            format!("{key}.secret"),
            "missing: give `secret` (or `password` with `salt`)",
        )),
    }
}

fn scram(key: &str, s: &FileScram, base_dir: &Path) -> Result<ScramSecret, ConfigError> {
    let profile = match s.profile.as_deref() {
        None | Some("autobahn") => ScramProfile::Autobahn,
        Some("spec") => ScramProfile::Spec,
        Some(other) => {
            return Err(ConfigError::new(
                format!("{key}.profile"),
                format!("`{other}` is not `autobahn` or `spec`"),
            ));
        }
    };
    let kdf = kdf(key, s.kdf.as_ref(), s.iterations, s.memory)?;
    let salt_key = format!("{key}.salt");
    let salt = hex_bytes(&salt_key, required(&salt_key, s.salt.as_ref())?)?;
    if matches!(kdf, Kdf::Argon2id13 { .. }) && salt.len() < 8 {
        return Err(ConfigError::new(
            salt_key,
            "Argon2 needs at least 8 octets (16 hex characters)",
        ));
    }
    let password = SecretSource {
        key,
        name: "password",
        inline: s.password.as_ref(),
        file: s.password_file.as_ref(),
        env: s.password_env.as_ref(),
    };
    match (password.given(), &s.stored_key, &s.server_key) {
        (true, None, None) => {
            let p = password.read(base_dir)?.unwrap_or_default();
            ScramSecret::derive(profile, &p, &salt, kdf)
                .map_err(|e| ConfigError::new(format!("{key}.password"), e.to_string()))
        }
        (false, Some(stored), Some(server)) => Ok(ScramSecret {
            profile,
            kdf,
            salt,
            stored_key: hex32(&format!("{key}.stored_key"), stored)?,
            server_key: hex32(&format!("{key}.server_key"), server)?,
        }),
        (true, _, _) => Err(ConfigError::new(
            format!("{key}.password"),
            "give either a `password` or `stored_key` and `server_key`, not both",
        )),
        (false, None, None) => Err(ConfigError::new(
            format!("{key}.password"),
            "missing: give `password` (or `stored_key` and `server_key`)",
        )),
        (false, None, Some(_)) => Err(ConfigError::new(
            format!("{key}.stored_key"),
            "missing (`server_key` is given)",
        )),
        (false, Some(_), None) => Err(ConfigError::new(
            format!("{key}.server_key"),
            "missing (`stored_key` is given)",
        )),
    }
}

fn principal(key: &str, p: &FilePrincipal, base_dir: &Path) -> Result<Principal, ConfigError> {
    let authid = required(&format!("{key}.authid"), p.authid.as_ref())?;
    let role = required(&format!("{key}.role"), p.role.as_ref())?;
    let mut out = Principal::new(authid, role);
    out.ticket = SecretSource {
        key,
        name: "ticket",
        inline: p.ticket.as_ref(),
        file: p.ticket_file.as_ref(),
        env: p.ticket_env.as_ref(),
    }
    .read(base_dir)?;
    if let Some(w) = &p.wampcra {
        out.wampcra = Some(wampcra(&format!("{key}.wampcra"), w, base_dir)?);
    }
    if let Some(keys) = &p.cryptosign_keys {
        if keys.is_empty() {
            return Err(ConfigError::new(
                format!("{key}.cryptosign_keys"),
                "list at least one public key (or leave the key out)",
            ));
        }
        for (j, k) in keys.iter().enumerate() {
            hex32(&format!("{key}.cryptosign_keys[{j}]"), k)?;
        }
        out.cryptosign_keys = keys.clone();
    }
    if let Some(s) = &p.scram {
        out.scram = Some(scram(&format!("{key}.scram"), s, base_dir)?);
    }
    if let Some(extra) = &p.authextra {
        out.authextra = toml_dict(extra);
    }
    Ok(out)
}

/// Which credential of a principal a method uses, and its key name.
fn credential_of(m: AuthMethod, p: &Principal) -> Option<bool> {
    Some(match m {
        AuthMethod::Ticket => p.ticket.is_some(),
        AuthMethod::WampCra => p.wampcra.is_some(),
        AuthMethod::Cryptosign => !p.cryptosign_keys.is_empty(),
        AuthMethod::Scram => p.scram.is_some(),
        _ => return None,
    })
}

const CREDENTIALS: [(AuthMethod, &str); 4] = [
    (AuthMethod::Ticket, "ticket"),
    (AuthMethod::WampCra, "wampcra"),
    (AuthMethod::Cryptosign, "cryptosign_keys"),
    (AuthMethod::Scram, "scram"),
];

fn auth(
    key: &str,
    a: &FileAuth,
    roles: &[RoleConfig],
    roles_key: &str,
    base_dir: &Path,
) -> Result<AuthConfig, ConfigError> {
    let mut out = AuthConfig::default();
    if let Some(methods) = &a.methods {
        if methods.is_empty() {
            return Err(ConfigError::new(
                format!("{key}.methods"),
                "list at least one method (no method: nobody can join)",
            ));
        }
        out.methods.clear();
        for (j, m) in methods.iter().enumerate() {
            let mk = format!("{key}.methods[{j}]");
            let (name, provider) = match m {
                FileMethod::Name(n) => (n, None),
                FileMethod::Table(t) => (&t.method, t.provider.as_deref()),
            };
            let method = parse_method(&mk, name)?;
            let provider = match provider {
                None | Some("static") => AuthProvider::Static,
                Some("dynamic") => AuthProvider::Dynamic,
                Some(other) => {
                    return Err(ConfigError::new(
                        format!("{mk}.provider"),
                        format!("`{other}` is not `static` or `dynamic`"),
                    ));
                }
            };
            if out.methods.iter().any(|x| x.method == method) {
                return Err(ConfigError::new(
                    mk,
                    format!("`{}` is listed twice", method.as_str()),
                ));
            }
            out.methods.push(MethodConfig { method, provider });
        }
    }
    if let Some(r) = &a.anonymous_role {
        required(&format!("{key}.anonymous_role"), Some(r))?;
        out.anonymous_role = r.clone();
    }
    out.cryptosign_router_key = SecretSource {
        key,
        name: "cryptosign_router_key",
        inline: a.cryptosign_router_key.as_ref(),
        file: a.cryptosign_router_key_file.as_ref(),
        env: a.cryptosign_router_key_env.as_ref(),
    }
    .read(base_dir)?
    .map(|k| k.trim().to_owned());
    if let Some(k) = &out.cryptosign_router_key {
        let name = if a.cryptosign_router_key_file.is_some() {
            "cryptosign_router_key_file"
        } else if a.cryptosign_router_key_env.is_some() {
            "cryptosign_router_key_env"
        } else {
            "cryptosign_router_key"
        };
        hex32(&format!("{key}.{name}"), k)?;
    }
    if let Some(k) = &a.scram_mock_kdf {
        out.scram_mock_kdf = kdf(
            &format!("{key}.scram_mock_kdf"),
            k.kdf.as_ref(),
            k.iterations,
            k.memory,
        )?;
    }
    for (j, p) in a.principals.iter().enumerate() {
        out.principals.push(principal(
            &format!("{key}.principals[{j}]"),
            p,
            base_dir,
        )?);
    }
    check_auth(key, &out, roles, roles_key)?;
    Ok(out)
}

/// The cross-checks: methods without principals, credentials for methods not offered, roles
/// that do not exist.
fn check_auth(
    key: &str,
    a: &AuthConfig,
    roles: &[RoleConfig],
    roles_key: &str,
) -> Result<(), ConfigError> {
    let static_ = |m: AuthMethod| {
        a.methods
            .iter()
            .any(|c| c.method == m && c.provider == AuthProvider::Static)
    };
    for (j, c) in a.methods.iter().enumerate() {
        if c.provider != AuthProvider::Static {
            continue;
        }
        let Some((_, cred)) = CREDENTIALS.iter().find(|(m, _)| *m == c.method) else {
            continue;
        };
        if !a
            .principals
            .iter()
            .any(|p| credential_of(c.method, p) == Some(true))
        {
            return Err(ConfigError::new(
                format!("{key}.methods[{j}]"),
                format!(
                    "`{}` is offered with static principals, but no principal in \
                     {key}.principals has `{cred}`",
                    c.method.as_str()
                ),
            ));
        }
    }
    let has_role = |r: &str| roles.is_empty() || roles.iter().any(|x| x.name == r);
    for (j, p) in a.principals.iter().enumerate() {
        let pk = format!("{key}.principals[{j}]");
        let mut any = false;
        for (m, cred) in CREDENTIALS {
            if credential_of(m, p) != Some(true) {
                continue;
            }
            any = true;
            if !static_(m) {
                return Err(ConfigError::new(
                    format!("{pk}.{cred}"),
                    format!(
                        "the realm does not offer `{}` with static principals (add it to \
                         {key}.methods)",
                        m.as_str()
                    ),
                ));
            }
        }
        if !any {
            return Err(ConfigError::new(
                pk,
                "no credential: give `ticket`, `wampcra`, `cryptosign_keys` or `scram`",
            ));
        }
        if !has_role(&p.authrole) {
            return Err(ConfigError::new(
                format!("{pk}.role"),
                format!("role `{}` is not in {roles_key}", p.authrole),
            ));
        }
    }
    if static_(AuthMethod::Anonymous) && !has_role(&a.anonymous_role) {
        return Err(ConfigError::new(
            format!("{key}.anonymous_role"),
            format!(
                "anonymous sessions get role `{}`, which is not in {roles_key}",
                a.anonymous_role
            ),
        ));
    }
    Ok(())
}

fn permission(key: &str, p: &FilePermission) -> Result<Permission, ConfigError> {
    let uri = p
        .uri
        .as_ref()
        .ok_or_else(|| ConfigError::new(format!("{key}.uri"), "missing"))?;
    let policy = parse_match(&format!("{key}.match"), p.match_policy.as_deref())?;
    let allow = match &p.allow {
        None => Allow::none(),
        Some(FileAllow::Table(t)) => Allow {
            call: t.call.unwrap_or(false),
            register: t.register.unwrap_or(false),
            publish: t.publish.unwrap_or(false),
            subscribe: t.subscribe.unwrap_or(false),
        },
        Some(FileAllow::Actions(list)) => {
            let mut a = Allow::none();
            for (j, action) in list.iter().enumerate() {
                match action.as_str() {
                    "call" => a.call = true,
                    "register" => a.register = true,
                    "publish" => a.publish = true,
                    "subscribe" => a.subscribe = true,
                    other => {
                        return Err(ConfigError::new(
                            format!("{key}.allow[{j}]"),
                            format!(
                                "`{other}` is not `call`, `register`, `publish` or `subscribe`"
                            ),
                        ));
                    }
                }
            }
            a
        }
    };
    let disclose = p.disclose.as_ref().map_or(Disclose::default(), |d| Disclose {
        caller: d.caller.unwrap_or(false),
        publisher: d.publisher.unwrap_or(false),
    });
    Ok(Permission::new(uri.clone(), policy, allow).disclosing(disclose))
}

fn role(key: &str, r: &FileRole) -> Result<RoleConfig, ConfigError> {
    let name = required(&format!("{key}.name"), r.name.as_ref())?;
    if r.dynamic == Some(true) {
        if !r.permissions.is_empty() {
            return Err(ConfigError::new(
                format!("{key}.permissions"),
                "a dynamic role has no permissions (the embedder's decider authorizes)",
            ));
        }
        return Ok(RoleConfig::dynamic(name));
    }
    let permissions = r
        .permissions
        .iter()
        .enumerate()
        .map(|(j, p)| permission(&format!("{key}.permissions[{j}]"), p))
        .collect::<Result<_, _>>()?;
    Ok(RoleConfig::new(name, permissions))
}

fn history(key: &str, h: &FileHistory) -> Result<HistoryConfig, ConfigError> {
    let uri = required(&format!("{key}.uri"), h.uri.as_ref())?;
    let mut out = HistoryConfig::new(uri);
    out.match_policy = parse_match(&format!("{key}.match"), h.match_policy.as_deref())?;
    if let Some(l) = h.limit {
        out.limit = positive(&format!("{key}.limit"), Some(l), out.limit)?;
    }
    Ok(out)
}

fn realm(i: usize, r: &FileRealm, uri: Uri, base_dir: &Path) -> Result<RealmConfig, ConfigError> {
    let key = format!("realms[{i}]");
    let mut out = RealmConfig::new(uri);
    out.roles = r
        .roles
        .iter()
        .enumerate()
        .map(|(j, x)| role(&format!("{key}.roles[{j}]"), x))
        .collect::<Result<_, _>>()?;
    let roles_key = format!("{key}.roles");
    out.auth = match &r.auth {
        Some(a) => auth(&format!("{key}.auth"), a, &out.roles, &roles_key, base_dir)?,
        None => {
            let a = AuthConfig::default();
            check_auth(&format!("{key}.auth"), &a, &out.roles, &roles_key)?;
            a
        }
    };
    out.event_history = r
        .event_history
        .iter()
        .enumerate()
        .map(|(j, h)| history(&format!("{key}.event_history[{j}]"), h))
        .collect::<Result<_, _>>()?;
    if let Some(v) = r.on_leave_with_identity {
        out.on_leave_with_identity = v;
    }
    Ok(out)
}

/// Turns the core's validation error (`realms[0].auth.principals[1].authid: duplicate
/// authid`) into ours.
fn core_error(e: &wamp_router_core::ConfigError) -> ConfigError {
    let text = e.to_string();
    match text.split_once(": ") {
        Some((k, m)) => ConfigError::new(k, m),
        None => ConfigError::new("realms", text),
    }
}

/// Replaces the realms by those named (`wamp-router --realm`): a name the file configures
/// keeps its configuration (authentication, roles, history), any other is a default realm
/// (anonymous, everything allowed).
pub fn select_realms(router: &mut RouterConfig, names: &[String]) -> Result<(), ConfigError> {
    let mut realms: Vec<RealmConfig> = Vec::with_capacity(names.len());
    for name in names {
        let uri = Uri::from_wire(name);
        if !uri.is_valid(router.uri_rules) {
            return Err(ConfigError::new(
                "--realm",
                format!("`{name}` is not a valid URI"),
            ));
        }
        if realms.iter().any(|r| r.name == uri) {
            continue;
        }
        let configured = router.realms.iter().find(|r| r.name == uri).cloned();
        realms.push(configured.unwrap_or_else(|| RealmConfig::from(uri)));
    }
    router.realms = realms;
    Ok(())
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
