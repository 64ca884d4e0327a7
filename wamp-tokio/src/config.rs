//! The `wamp-router` configuration file (TOML) and its translation to a [`ServerConfig`].
//!
//! Every key is optional; an empty file means the defaults of `wamp-router` without
//! arguments (realm `realm1`, anonymous, WebSocket and RawSocket on `127.0.0.1:8080`).
//! Unknown keys are errors. `wamp-tokio/examples/router.toml` documents every key;
//! `wamp-tokio/examples/router-auth.toml` configures every authentication method.
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
//!
//! # Authentication and authorization
//!
//! Each realm lists its methods in `[realms.auth]`: a name means static principals (listed
//! in `[[realms.auth.principals]]`, checked by the router core); a table
//! `{ method = "...", provider = "dynamic" }` means the embedder's decider answers (a
//! `wamp-router` started from the file alone has none, so such requests are denied). Roles
//! map to the core's [`RoleConfig`] with Crossbar's permission shape.
//!
//! ```
//! use wamp_tokio::config::FileConfig;
//!
//! let file = FileConfig::parse(r#"
//!     [[listeners]]
//!     address = "127.0.0.1:0"
//!     auth_methods = ["ticket"]              # this listener: ticket only
//!
//!     [[realms]]
//!     name = "realm1"
//!     [realms.auth]
//!     methods = ["ticket", "wampcra", { method = "cryptosign", provider = "dynamic" }]
//!     [[realms.auth.principals]]
//!     authid = "joe"
//!     role = "user"
//!     ticket = "joe-ticket"                  # or ticket_file = "..." / ticket_env = "..."
//!     wampcra = { secret = "joe-secret" }    # or { password = "...", salt = "..." }
//!
//!     [[realms.roles]]
//!     name = "user"
//!     [[realms.roles.permissions]]
//!     uri = "com.example."
//!     match = "prefix"
//!     allow = ["call", "subscribe"]          # or { call = true, subscribe = true }
//!     disclose = { caller = true }
//! "#).unwrap();
//! let server = file.to_server_config(std::path::Path::new(".")).unwrap();
//! let realm = &server.router.realms[0];
//! assert_eq!(realm.auth.principals[0].ticket.as_deref(), Some("joe-ticket"));
//! assert!(realm.roles[0].permissions[0].allow.call);
//! ```
//!
//! The mapping checks what the core cannot see, each error naming its key:
//! - a method offered with static principals that no principal can use (`ticket` listed,
//!   no principal has a `ticket`) is an **error**, not a warning: such a configuration can
//!   never authenticate anyone with it, which is always a mistake;
//! - so is a principal's credential for a method the realm does not offer statically (the
//!   credential would be dead);
//! - with roles, every principal's `role` and the anonymous role (when anonymous is offered
//!   statically) must be a listed role (else those sessions would be refused with
//!   `wamp.error.no_such_role`);
//! - hex keys and seeds, KDF costs (within the range clients accept, see
//!   [`KdfLimits`]), salts, method and action names;
//! - a listener's `auth_methods` must each be offered by some realm.
//!
//! Then [`RouterConfig::validate`] runs (duplicate authids, invalid public keys, URI
//! patterns), its errors turned into [`ConfigError`]s with the same key names. Slow key
//! derivations (salted WAMP-CRA `password`, SCRAM `password`) run while mapping, once.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
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
    /// Keep the WebSocket opening request's headers in the sessions' transport details
    /// (`http_headers_received`, for dynamic authenticators and the meta API). Default
    /// `false`.
    pub http_headers: Option<bool>,
    /// Give freed memory back to the system after many connections closed (glibc
    /// `malloc_trim`). Default `true`.
    pub release_memory: Option<bool>,
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
    /// WebSocket read buffer per connection, octets. Default 1024.
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
        if let Some(v) = r.release_memory {
            sc.release_memory = v;
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
        if let Some(v) = self.router.http_headers {
            conn.http_headers = v;
        }
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
                .map(|(i, fl)| listener(i, fl, &router, base_dir))
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
    router: &RouterConfig,
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
            // Auto-created realms offer anonymous only.
            let auto = router.auto_create_realms && m == AuthMethod::Anonymous;
            if !auto
                && !router
                    .realms
                    .iter()
                    .any(|r| r.auth.methods.iter().any(|c| c.method == m))
            {
                return Err(ConfigError::new(
                    k,
                    format!(
                        "no realm offers `{}` (see realms[].auth.methods)",
                        m.as_str()
                    ),
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
            ConfigError::new(key, format!("`{s}` is not `exact`, `prefix` or `wildcard`"))
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
            let v = std::env::var(var)
                .map_err(|e| ConfigError::new(&k, format!("environment variable `{var}`: {e}")))?;
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

/// Whether `p` has the credential method `m` needs (anonymous needs none: `false`).
fn has_credential(m: AuthMethod, p: &Principal) -> bool {
    match m {
        AuthMethod::Ticket => p.ticket.is_some(),
        AuthMethod::WampCra => p.wampcra.is_some(),
        AuthMethod::Cryptosign => !p.cryptosign_keys.is_empty(),
        AuthMethod::Scram => p.scram.is_some(),
        _ => false,
    }
}

/// The methods that need a credential, with the principal key that holds it.
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
        out.principals
            .push(principal(&format!("{key}.principals[{j}]"), p, base_dir)?);
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
    let has_role = |r: &str| roles.is_empty() || roles.iter().any(|x| x.name == r);
    for (j, p) in a.principals.iter().enumerate() {
        let pk = format!("{key}.principals[{j}]");
        let mut any = false;
        for (m, cred) in CREDENTIALS {
            if !has_credential(m, p) {
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
    for (j, c) in a.methods.iter().enumerate() {
        if c.provider != AuthProvider::Static {
            continue;
        }
        let Some((_, cred)) = CREDENTIALS.iter().find(|(m, _)| *m == c.method) else {
            continue;
        };
        if !a.principals.iter().any(|p| has_credential(c.method, p)) {
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
    let disclose = p
        .disclose
        .as_ref()
        .map_or(Disclose::default(), |d| Disclose {
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
    use wamp_proto::auth::cryptosign::CryptosignKey;

    fn map(text: &str) -> Result<ServerConfig, ConfigError> {
        FileConfig::parse(text).and_then(|c| c.to_server_config(Path::new(".")))
    }

    fn realm0(text: &str) -> RealmConfig {
        let mut c = map(text).unwrap_or_else(|e| panic!("{text}\n{e}"));
        c.router.realms.remove(0)
    }

    fn err(text: &str) -> ConfigError {
        match map(text) {
            Ok(_) => panic!("no error for:\n{text}"),
            Err(e) => e,
        }
    }

    fn key_of(seed: u8) -> String {
        CryptosignKey::from_seed(&[seed; 32]).public_key_hex()
    }

    const PRINCIPAL_TICKET: &str =
        "[[realms.auth.principals]]\nauthid = \"joe\"\nrole = \"user\"\nticket = \"t\"\n";

    #[test]
    fn empty_file_is_the_default() {
        let c = map("").unwrap();
        assert_eq!(c.router.realms, vec![RealmConfig::from("realm1")]);
        assert_eq!(c.listeners.len(), 1);
        assert_eq!(
            c.listeners[0].endpoint,
            Endpoint::Tcp("127.0.0.1:8080".parse().unwrap())
        );
        assert!(c.listeners[0].websocket && c.listeners[0].rawsocket);
        assert_eq!(c.listeners[0].auth_methods, None);
        // An empty [realms.auth] table is the core's default too.
        assert_eq!(
            realm0("[[realms]]\nname = \"realm1\"\n[realms.auth]"),
            RealmConfig::from("realm1")
        );
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
            ("[[listeners]]\ntransports = []", "listeners[0].address"),
            ("[[realms]]\nname = \"a..b\"", "realms[0].name"),
            (
                "[[realms]]\nname = \"a\"\n[[realms]]\nname = \"a\"",
                "realms[1].name",
            ),
            ("[limits]\nmax_message_size = 10", "limits.max_message_size"),
            ("[limits]\nmax_sessions = 0", "limits.max_sessions"),
            ("[timeouts]\nidle = -1", "timeouts.idle"),
            ("[router]\nuri_rules = \"lax\"", "router.uri_rules"),
            ("[router]\ndisclose_caller = \"yes\"", "line 2"),
        ];
        for (text, key) in cases {
            let e = err(text);
            assert!(e.to_string().contains(key), "{text:?}: {e}");
        }
    }

    /// Cases of `[[realms]]` errors: (realm body after `name = "realm1"`, key named).
    const REALM_ERRORS: &[(&str, &str)] = &[
        // methods
        (
            "[realms.auth]\nmethods = [\"kerberos\"]",
            "realms[0].auth.methods[0]",
        ),
        ("[realms.auth]\nmethods = []", "realms[0].auth.methods"),
        (
            "[realms.auth]\nmethods = [\"anonymous\", \"anonymous\"]",
            "realms[0].auth.methods[1]",
        ),
        (
            "[realms.auth]\nmethods = [\"anonymous\", { method = \"ticket\", provider = \"ldap\" }]",
            "realms[0].auth.methods[1].provider",
        ),
        (
            "[realms.auth]\nmethods = [{ method = \"nope\" }]",
            "realms[0].auth.methods[0]",
        ),
        // a static method nobody can use
        (
            "[realms.auth]\nmethods = [\"anonymous\", \"ticket\"]",
            "realms[0].auth.methods[1]",
        ),
        (
            "[realms.auth]\nmethods = [\"ticket\", \"wampcra\"]\n[[realms.auth.principals]]\nauthid = \"joe\"\nrole = \"user\"\nticket = \"t\"",
            "realms[0].auth.methods[1]",
        ),
        // a credential for a method not offered statically
        (
            "[realms.auth]\nmethods = [\"anonymous\"]\n[[realms.auth.principals]]\nauthid = \"joe\"\nrole = \"user\"\nticket = \"t\"",
            "realms[0].auth.principals[0].ticket",
        ),
        (
            "[realms.auth]\nmethods = [{ method = \"ticket\", provider = \"dynamic\" }]\n[[realms.auth.principals]]\nauthid = \"joe\"\nrole = \"user\"\nticket = \"t\"",
            "realms[0].auth.principals[0].ticket",
        ),
        // principals
        (
            "[realms.auth]\nmethods = [\"ticket\"]\n[[realms.auth.principals]]\nrole = \"user\"\nticket = \"t\"",
            "realms[0].auth.principals[0].authid",
        ),
        (
            "[realms.auth]\nmethods = [\"ticket\"]\n[[realms.auth.principals]]\nauthid = \"joe\"\nticket = \"t\"",
            "realms[0].auth.principals[0].role",
        ),
        (
            "[realms.auth]\nmethods = [\"ticket\"]\n[[realms.auth.principals]]\nauthid = \"\"\nrole = \"user\"\nticket = \"t\"",
            "realms[0].auth.principals[0].authid",
        ),
        (
            "[realms.auth]\nmethods = [\"ticket\"]\n[[realms.auth.principals]]\nauthid = \"joe\"\nrole = \"user\"",
            "realms[0].auth.principals[0]: no credential",
        ),
        (
            "[realms.auth]\nmethods = [\"ticket\"]\n[[realms.auth.principals]]\nauthid = \"joe\"\nrole = \"user\"\nticket = \"t\"\nticket_env = \"X\"",
            "realms[0].auth.principals[0].ticket",
        ),
        (
            "[realms.auth]\nmethods = [\"ticket\"]\n[[realms.auth.principals]]\nauthid = \"joe\"\nrole = \"user\"\nticket = \"\"",
            "realms[0].auth.principals[0].ticket",
        ),
        (
            "[realms.auth]\nmethods = [\"ticket\"]\n[[realms.auth.principals]]\nauthid = \"joe\"\nrole = \"user\"\nticket_env = \"WAMP_CONFIG_TEST_SURELY_UNSET_1\"",
            "realms[0].auth.principals[0].ticket_env",
        ),
        (
            "[realms.auth]\nmethods = [\"ticket\"]\n[[realms.auth.principals]]\nauthid = \"joe\"\nrole = \"user\"\nticket_file = \"no/such/file\"",
            "realms[0].auth.principals[0].ticket_file",
        ),
        (
            "[realms.auth]\nmethods = [\"ticket\"]\n[[realms.auth.principals]]\nauthid = \"joe\"\nrole = \"user\"\nticket = \"t\"\n[[realms.auth.principals]]\nauthid = \"joe\"\nrole = \"user\"\nticket = \"u\"",
            "realms[0].auth.principals[1].authid",
        ),
        // wampcra
        (
            "[realms.auth]\nmethods = [\"wampcra\"]\n[[realms.auth.principals]]\nauthid = \"joe\"\nrole = \"user\"\nwampcra = {}",
            "realms[0].auth.principals[0].wampcra.secret",
        ),
        (
            "[realms.auth]\nmethods = [\"wampcra\"]\n[[realms.auth.principals]]\nauthid = \"joe\"\nrole = \"user\"\nwampcra = { secret = \"s\", password = \"p\", salt = \"x\" }",
            "realms[0].auth.principals[0].wampcra.password",
        ),
        (
            "[realms.auth]\nmethods = [\"wampcra\"]\n[[realms.auth.principals]]\nauthid = \"joe\"\nrole = \"user\"\nwampcra = { password = \"p\" }",
            "realms[0].auth.principals[0].wampcra.salt",
        ),
        (
            "[realms.auth]\nmethods = [\"wampcra\"]\n[[realms.auth.principals]]\nauthid = \"joe\"\nrole = \"user\"\nwampcra = { secret = \"s\", iterations = 10 }",
            "realms[0].auth.principals[0].wampcra.iterations",
        ),
        (
            "[realms.auth]\nmethods = [\"wampcra\"]\n[[realms.auth.principals]]\nauthid = \"joe\"\nrole = \"user\"\nwampcra = { password = \"p\", salt = \"s\", iterations = 0 }",
            "realms[0].auth.principals[0].wampcra.iterations",
        ),
        (
            "[realms.auth]\nmethods = [\"wampcra\"]\n[[realms.auth.principals]]\nauthid = \"joe\"\nrole = \"user\"\nwampcra = { password = \"p\", salt = \"s\", keylen = 100000 }",
            "realms[0].auth.principals[0].wampcra.keylen",
        ),
        (
            "[realms.auth]\nmethods = [\"wampcra\"]\n[[realms.auth.principals]]\nauthid = \"joe\"\nrole = \"user\"\nwampcra = { password = \"p\", salt = \"\" }",
            "realms[0].auth.principals[0].wampcra.salt",
        ),
        // cryptosign
        (
            "[realms.auth]\nmethods = [\"cryptosign\"]\n[[realms.auth.principals]]\nauthid = \"dev\"\nrole = \"user\"\ncryptosign_keys = [\"00\", \"zz\"]",
            "realms[0].auth.principals[0].cryptosign_keys[0]",
        ),
        (
            "[realms.auth]\nmethods = [\"cryptosign\"]\n[[realms.auth.principals]]\nauthid = \"dev\"\nrole = \"user\"\ncryptosign_keys = []",
            "realms[0].auth.principals[0].cryptosign_keys",
        ),
        (
            "[realms.auth]\ncryptosign_router_key = \"abc\"",
            "realms[0].auth.cryptosign_router_key",
        ),
        (
            "[realms.auth]\ncryptosign_router_key_env = \"WAMP_CONFIG_TEST_SURELY_UNSET_2\"",
            "realms[0].auth.cryptosign_router_key_env",
        ),
        // scram
        (
            "[realms.auth]\nmethods = [\"scram\"]\n[[realms.auth.principals]]\nauthid = \"sam\"\nrole = \"user\"\nscram = { salt = \"0011223344556677\" }",
            "realms[0].auth.principals[0].scram.password",
        ),
        (
            "[realms.auth]\nmethods = [\"scram\"]\n[[realms.auth.principals]]\nauthid = \"sam\"\nrole = \"user\"\nscram = { password = \"p\" }",
            "realms[0].auth.principals[0].scram.salt",
        ),
        (
            "[realms.auth]\nmethods = [\"scram\"]\n[[realms.auth.principals]]\nauthid = \"sam\"\nrole = \"user\"\nscram = { password = \"p\", salt = \"xyz\" }",
            "realms[0].auth.principals[0].scram.salt",
        ),
        (
            "[realms.auth]\nmethods = [\"scram\"]\n[[realms.auth.principals]]\nauthid = \"sam\"\nrole = \"user\"\nscram = { password = \"p\", salt = \"0011\" }",
            "realms[0].auth.principals[0].scram.salt",
        ),
        (
            "[realms.auth]\nmethods = [\"scram\"]\n[[realms.auth.principals]]\nauthid = \"sam\"\nrole = \"user\"\nscram = { password = \"p\", salt = \"0011223344556677\", kdf = \"scrypt\" }",
            "realms[0].auth.principals[0].scram.kdf",
        ),
        (
            "[realms.auth]\nmethods = [\"scram\"]\n[[realms.auth.principals]]\nauthid = \"sam\"\nrole = \"user\"\nscram = { password = \"p\", salt = \"0011223344556677\", kdf = \"pbkdf2\", iterations = 10 }",
            "realms[0].auth.principals[0].scram.iterations",
        ),
        (
            "[realms.auth]\nmethods = [\"scram\"]\n[[realms.auth.principals]]\nauthid = \"sam\"\nrole = \"user\"\nscram = { password = \"p\", salt = \"0011223344556677\", kdf = \"pbkdf2\", memory = 512 }",
            "realms[0].auth.principals[0].scram.memory",
        ),
        (
            "[realms.auth]\nmethods = [\"scram\"]\n[[realms.auth.principals]]\nauthid = \"sam\"\nrole = \"user\"\nscram = { password = \"p\", salt = \"0011223344556677\", memory = 4 }",
            "realms[0].auth.principals[0].scram.memory",
        ),
        (
            "[realms.auth]\nmethods = [\"scram\"]\n[[realms.auth.principals]]\nauthid = \"sam\"\nrole = \"user\"\nscram = { password = \"p\", salt = \"0011223344556677\", iterations = 100000 }",
            "realms[0].auth.principals[0].scram.iterations",
        ),
        (
            "[realms.auth]\nmethods = [\"scram\"]\n[[realms.auth.principals]]\nauthid = \"sam\"\nrole = \"user\"\nscram = { password = \"p\", salt = \"0011223344556677\", profile = \"crossbar\" }",
            "realms[0].auth.principals[0].scram.profile",
        ),
        (
            "[realms.auth]\nmethods = [\"scram\"]\n[[realms.auth.principals]]\nauthid = \"sam\"\nrole = \"user\"\nscram = { salt = \"0011223344556677\", stored_key = \"00\" }",
            "realms[0].auth.principals[0].scram.server_key",
        ),
        (
            "[realms.auth]\nmethods = [\"scram\"]\n[[realms.auth.principals]]\nauthid = \"sam\"\nrole = \"user\"\nscram = { salt = \"0011223344556677\", stored_key = \"00\", server_key = \"00\" }",
            "realms[0].auth.principals[0].scram.stored_key",
        ),
        (
            "[realms.auth]\nmethods = [\"scram\"]\n[[realms.auth.principals]]\nauthid = \"sam\"\nrole = \"user\"\nscram = { password = \"p\", salt = \"0011223344556677\", stored_key = \"00\", server_key = \"00\" }",
            "realms[0].auth.principals[0].scram.password",
        ),
        (
            "[realms.auth.scram_mock_kdf]\nkdf = \"pbkdf2\"\niterations = 1",
            "realms[0].auth.scram_mock_kdf.iterations",
        ),
        // roles
        (
            "[[realms.roles]]\nname = \"user\"",
            "realms[0].auth.anonymous_role",
        ),
        (
            "[realms.auth]\nanonymous_role = \"\"",
            "realms[0].auth.anonymous_role",
        ),
        (
            "[[realms.roles]]\ndynamic = true",
            "realms[0].roles[0].name",
        ),
        (
            "[[realms.roles]]\nname = \"anonymous\"\n[[realms.roles]]\nname = \"anonymous\"",
            "realms[0].roles[1].name",
        ),
        (
            "[[realms.roles]]\nname = \"anonymous\"\ndynamic = true\n[[realms.roles.permissions]]\nuri = \"a\"",
            "realms[0].roles[0].permissions",
        ),
        (
            "[[realms.roles]]\nname = \"anonymous\"\n[[realms.roles.permissions]]\nmatch = \"prefix\"",
            "realms[0].roles[0].permissions[0].uri",
        ),
        (
            "[[realms.roles]]\nname = \"anonymous\"\n[[realms.roles.permissions]]\nuri = \"a\"\nmatch = \"regex\"",
            "realms[0].roles[0].permissions[0].match",
        ),
        (
            "[[realms.roles]]\nname = \"anonymous\"\n[[realms.roles.permissions]]\nuri = \"a\"\nallow = [\"call\", \"delete\"]",
            "realms[0].roles[0].permissions[0].allow[1]",
        ),
        (
            "[[realms.roles]]\nname = \"anonymous\"\n[[realms.roles.permissions]]\nuri = \"a..b\"",
            "realms[0].roles[0].permissions[0].uri",
        ),
        // event history
        (
            "[[realms.event_history]]\nlimit = 3",
            "realms[0].event_history[0].uri",
        ),
        (
            "[[realms.event_history]]\nuri = \"a\"\nlimit = 0",
            "realms[0].event_history[0].limit",
        ),
        (
            "[[realms.event_history]]\nuri = \"a\"\nmatch = \"fuzzy\"",
            "realms[0].event_history[0].match",
        ),
        (
            "[[realms.event_history]]\nuri = \"a..b\"",
            "realms[0].event_history[0].uri",
        ),
    ];

    #[test]
    fn realm_errors_name_the_key() {
        for (body, key) in REALM_ERRORS {
            let text = format!("[[realms]]\nname = \"realm1\"\n{body}");
            let e = err(&text);
            assert!(
                e.to_string().starts_with(key),
                "expected `{key}` for\n{text}\ngot: {e}"
            );
        }
    }

    #[test]
    fn principal_role_must_be_a_listed_role() {
        let text = format!(
            "[[realms]]\nname = \"realm1\"\n[realms.auth]\nmethods = [\"ticket\"]\n\
             {PRINCIPAL_TICKET}[[realms.roles]]\nname = \"admin\""
        );
        let e = err(&text);
        assert_eq!(e.key, "realms[0].auth.principals[0].role");
        assert!(e.message.contains("`user`"), "{e}");
        // Without anonymous, the anonymous role need not exist; with the role it joins.
        let text = text.replace("name = \"admin\"", "name = \"user\"");
        assert_eq!(realm0(&text).roles[0].name, "user");
    }

    #[test]
    fn invalid_cryptosign_point_is_reported_by_the_core_validation() {
        // 64 hex characters, but not a point of the curve: the core's validation finds it.
        let bad = format!("{}{}", "02", "00".repeat(31));
        let text = format!(
            "[[realms]]\nname = \"realm1\"\n[realms.auth]\nmethods = [\"cryptosign\"]\n\
             [[realms.auth.principals]]\nauthid = \"d\"\nrole = \"r\"\ncryptosign_keys = [\"{bad}\"]"
        );
        let e = err(&text);
        assert_eq!(e.key, "realms[0].auth.principals[0].cryptosign_keys", "{e}");
    }

    #[test]
    fn listener_auth_methods() {
        let base = "[[realms]]\nname = \"realm1\"\n[realms.auth]\n\
                    methods = [\"anonymous\", \"ticket\"]\n";
        let text = format!(
            "[[listeners]]\naddress = \"127.0.0.1:1\"\nauth_methods = [\"ticket\", \"ticket\"]\n\
             [[listeners]]\naddress = \"127.0.0.1:2\"\n{base}{PRINCIPAL_TICKET}"
        );
        let c = map(&text).unwrap();
        assert_eq!(c.listeners[0].auth_methods, Some(vec![AuthMethod::Ticket]));
        assert_eq!(c.listeners[1].auth_methods, None);
        for (methods, key) in [
            (
                "[\"ticket\", \"telepathy\"]",
                "listeners[0].auth_methods[1]",
            ),
            ("[\"wampcra\"]", "listeners[0].auth_methods[0]"),
            ("[]", "listeners[0].auth_methods"),
        ] {
            let text = format!(
                "[[listeners]]\naddress = \"127.0.0.1:1\"\nauth_methods = {methods}\n\
                 {base}{PRINCIPAL_TICKET}"
            );
            assert_eq!(err(&text).key, key, "{methods}");
        }
        // Auto-created realms offer anonymous.
        let text = format!(
            "[router]\nauto_create_realms = true\n[[listeners]]\naddress = \"127.0.0.1:1\"\n\
             auth_methods = [\"anonymous\"]\n[[realms]]\nname = \"realm1\"\n[realms.auth]\n\
             methods = [\"ticket\"]\n{PRINCIPAL_TICKET}"
        );
        assert_eq!(
            map(&text).unwrap().listeners[0].auth_methods,
            Some(vec![AuthMethod::Anonymous])
        );
        let text = text.replace("auto_create_realms = true", "auto_create_realms = false");
        assert_eq!(err(&text).key, "listeners[0].auth_methods[0]");
        // `wamp-scram` names the same method as `scram`.
        assert_eq!(
            parse_method("k", "wamp-scram").unwrap(),
            parse_method("k", "scram").unwrap()
        );
    }

    #[test]
    fn methods_and_providers() {
        let r = realm0(
            "[[realms]]\nname = \"realm1\"\n[realms.auth]\n\
             methods = [\"ticket\", { method = \"wampcra\", provider = \"dynamic\" }, \
             { method = \"anonymous\", provider = \"static\" }, { method = \"wamp-scram\", provider = \"dynamic\" }]\n\
             anonymous_role = \"guest\"\n\
             [realms.auth.scram_mock_kdf]\nkdf = \"pbkdf2\"\niterations = 5000\n\
             [[realms.auth.principals]]\nauthid = \"joe\"\nrole = \"user\"\nticket = \"t\"",
        );
        assert_eq!(
            r.auth.methods,
            vec![
                MethodConfig::static_(AuthMethod::Ticket),
                MethodConfig::dynamic(AuthMethod::WampCra),
                MethodConfig::static_(AuthMethod::Anonymous),
                MethodConfig::dynamic(AuthMethod::Scram),
            ]
        );
        assert_eq!(r.auth.anonymous_role, "guest");
        assert_eq!(r.auth.scram_mock_kdf, Kdf::Pbkdf2 { iterations: 5000 });
        assert_eq!(r.auth.cryptosign_router_key, None);
        // A dynamic method needs no principal.
        let r = realm0(
            "[[realms]]\nname = \"realm1\"\n[realms.auth]\n\
             methods = [{ method = \"ticket\", provider = \"dynamic\" }]",
        );
        assert!(r.auth.principals.is_empty());
        // The mock KDF default is the core's.
        let r = realm0("[[realms]]\nname = \"realm1\"\n[realms.auth.scram_mock_kdf]");
        assert_eq!(r.auth.scram_mock_kdf, AuthConfig::default().scram_mock_kdf);
        // A wrong shape of a methods entry is a parse error on its line.
        let e = err("[[realms]]\nname = \"realm1\"\n[realms.auth]\nmethods = [3]");
        assert!(e.key.starts_with("line 4"), "{e}");
        let e = err("[[realms]]\nname = \"realm1\"\n[realms.auth]\n\
             methods = [{ method = \"ticket\", provder = \"dynamic\" }]");
        assert!(e.message.contains("provder"), "{e}");
    }

    #[test]
    fn principals_with_every_credential() {
        let dev = key_of(1);
        let dev2 = key_of(2);
        let r = realm0(&format!(
            "[[realms]]\nname = \"realm1\"\non_leave_with_identity = true\n[realms.auth]\n\
             methods = [\"ticket\", \"wampcra\", \"cryptosign\", \"scram\"]\n\
             cryptosign_router_key = \"{router}\"\n\
             [[realms.auth.principals]]\nauthid = \"joe\"\nrole = \"user\"\nticket = \"joe-ticket\"\n\
             wampcra = {{ secret = \"joe-secret\" }}\n\
             cryptosign_keys = [\"{dev}\", \"{dev2}\"]\n\
             authextra = {{ a = \"x\", n = 3, neg = -1, f = 1.5, b = true, l = [1, \"two\"], t = {{ k = \"v\" }}, d = 1979-05-27T07:32:00Z }}\n\
             [[realms.auth.principals]]\nauthid = \"salty\"\nrole = \"user\"\n\
             wampcra = {{ password = \"pw\", salt = \"salt123\", iterations = 100, keylen = 16 }}\n\
             [[realms.auth.principals]]\nauthid = \"crossbar\"\nrole = \"user\"\n\
             wampcra = {{ secret = \"derived\", salt = \"salt123\" }}\n\
             [[realms.auth.principals]]\nauthid = \"sam\"\nrole = \"user\"\n\
             [realms.auth.principals.scram]\npassword = \"sam-pw\"\nsalt = \"0011223344556677\"\n\
             kdf = \"argon2id-13\"\niterations = 2\nmemory = 64\nprofile = \"spec\"\n\
             [[realms.auth.principals]]\nauthid = \"pb\"\nrole = \"user\"\n\
             [realms.auth.principals.scram]\npassword = \"pb-pw\"\nsalt = \"00\"\nkdf = \"pbkdf2\"\n\
             [[realms.auth.principals]]\nauthid = \"alice\"\nrole = \"admin\"\n\
             [realms.auth.principals.scram]\nsalt = \"0011223344556677\"\n\
             stored-key = \"{k1}\"\nserver_key = \"{k2}\"\n",
            router = "2a".repeat(32),
            k1 = "11".repeat(32),
            k2 = "22".repeat(32),
        ));
        assert!(r.on_leave_with_identity);
        assert_eq!(
            r.auth.cryptosign_router_key.as_deref(),
            Some("2a".repeat(32).as_str())
        );
        let p = &r.auth.principals;
        assert_eq!(p.len(), 6);
        assert_eq!(
            (p[0].authid.as_str(), p[0].authrole.as_str()),
            ("joe", "user")
        );
        assert_eq!(p[0].ticket.as_deref(), Some("joe-ticket"));
        assert_eq!(p[0].wampcra, Some(CraCredential::plain("joe-secret")));
        assert_eq!(p[0].cryptosign_keys, vec![dev, dev2]);
        let extra = &p[0].authextra;
        assert_eq!(extra.get_str("a"), Some("x"));
        assert_eq!(extra.get("n"), Some(&Value::UInt(3)));
        assert_eq!(extra.get("neg"), Some(&Value::Int(-1)));
        assert_eq!(extra.get("f"), Some(&Value::Float(1.5)));
        assert_eq!(extra.get("b"), Some(&Value::Bool(true)));
        assert_eq!(
            extra.get("l"),
            Some(&Value::List(vec![Value::UInt(1), Value::from("two")]))
        );
        assert_eq!(extra.get_dict("t").and_then(|t| t.get_str("k")), Some("v"));
        assert_eq!(extra.get_str("d"), Some("1979-05-27T07:32:00Z"));
        let salt = SaltParams {
            salt: "salt123".into(),
            iterations: 100,
            keylen: 16,
        };
        assert_eq!(
            p[1].wampcra,
            Some(CraCredential::salted("pw", salt).unwrap())
        );
        // Crossbar's form: the secret is the derived key, the salt parameters default.
        assert_eq!(
            p[2].wampcra,
            Some(CraCredential {
                secret: "derived".into(),
                salt: Some(SaltParams {
                    salt: "salt123".into(),
                    iterations: 1000,
                    keylen: 32,
                }),
            })
        );
        let argon = Kdf::Argon2id13 {
            iterations: 2,
            memory_kib: 64,
        };
        let salt8 = hex::decode("0011223344556677").unwrap();
        assert_eq!(
            p[3].scram,
            Some(ScramSecret::derive(ScramProfile::Spec, "sam-pw", &salt8, argon).unwrap())
        );
        assert_eq!(
            p[4].scram,
            Some(
                ScramSecret::derive(
                    ScramProfile::Autobahn,
                    "pb-pw",
                    &[0],
                    Kdf::Pbkdf2 { iterations: 4096 }
                )
                .unwrap()
            )
        );
        assert_eq!(
            p[5].scram,
            Some(ScramSecret {
                profile: ScramProfile::Autobahn,
                kdf: Kdf::Argon2id13 {
                    iterations: 4096,
                    memory_kib: 512
                },
                salt: salt8,
                stored_key: [0x11; 32],
                server_key: [0x22; 32],
            })
        );
        assert_eq!(p[5].authrole, "admin");
    }

    #[test]
    fn secrets_from_files_and_environment() {
        let dir = std::env::temp_dir().join(format!("wamp-config-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("joe.ticket"), "from-a-file\r\n").unwrap();
        std::fs::write(dir.join("cra.secret"), "cra-from-file\n").unwrap();
        std::fs::write(dir.join("router.key"), format!("{}\n", "2a".repeat(32))).unwrap();
        std::fs::write(dir.join("empty"), "\n").unwrap();
        // PATH is set in any test environment; variables cannot be set here (no unsafe).
        let path = std::env::var("PATH").unwrap();
        let text = "[[realms]]\nname = \"realm1\"\n[realms.auth]\n\
             methods = [\"ticket\", \"wampcra\", \"scram\"]\n\
             cryptosign_router_key_file = \"router.key\"\n\
             [[realms.auth.principals]]\nauthid = \"joe\"\nrole = \"user\"\n\
             ticket_file = \"joe.ticket\"\nwampcra = { secret_file = \"cra.secret\" }\n\
             [[realms.auth.principals]]\nauthid = \"env\"\nrole = \"user\"\n\
             ticket_env = \"PATH\"\nwampcra = { password_env = \"PATH\", salt = \"s\" }\n\
             scram = { password_file = \"joe.ticket\", salt = \"00\", kdf = \"pbkdf2\" }\n";
        let c = FileConfig::parse(text)
            .unwrap()
            .to_server_config(&dir)
            .unwrap();
        let a = &c.router.realms[0].auth;
        assert_eq!(
            a.cryptosign_router_key.as_deref(),
            Some("2a".repeat(32).as_str())
        );
        let p = &a.principals;
        assert_eq!(p[0].ticket.as_deref(), Some("from-a-file"));
        assert_eq!(p[0].wampcra, Some(CraCredential::plain("cra-from-file")));
        assert_eq!(p[1].ticket.as_deref(), Some(path.as_str()));
        let salt = SaltParams {
            salt: "s".into(),
            iterations: 1000,
            keylen: 32,
        };
        assert_eq!(
            p[1].wampcra,
            Some(CraCredential::salted(&path, salt).unwrap())
        );
        let kdf = Kdf::Pbkdf2 { iterations: 4096 };
        assert_eq!(
            p[1].scram,
            Some(ScramSecret::derive(ScramProfile::Autobahn, "from-a-file", &[0], kdf).unwrap())
        );
        // An empty file is an empty secret: an error naming the key.
        let e = FileConfig::parse(&text.replace("joe.ticket\"\nwampcra", "empty\"\nwampcra"))
            .unwrap()
            .to_server_config(&dir)
            .unwrap_err();
        assert_eq!(e.key, "realms[0].auth.principals[0].ticket_file");
        // Relative paths are resolved against the given folder, not the working directory.
        let e = FileConfig::parse(text)
            .unwrap()
            .to_server_config(Path::new("/nonexistent"))
            .unwrap_err();
        assert_eq!(e.key, "realms[0].auth.cryptosign_router_key_file");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn roles_permissions_and_history() {
        let r = realm0(
            "[[realms]]\nname = \"realm1\"\n\
             [[realms.roles]]\nname = \"anonymous\"\n\
             [[realms.roles.permissions]]\nuri = \"\"\nmatch = \"prefix\"\n\
             allow = [\"call\", \"subscribe\"]\n\
             [[realms.roles.permissions]]\nuri = \"com.a\"\n\
             allow = { register = true, publish = true }\n\
             disclose = { caller = true, publisher = true }\n\
             [[realms.roles.permissions]]\nuri = \"com..x\"\nmatch = \"wildcard\"\n\
             [[realms.roles]]\nname = \"ext\"\ndynamic = true\n\
             [[realms.event_history]]\nuri = \"com.h\"\n\
             [[realms.event_history]]\nuri = \"com.p.\"\nmatch = \"prefix\"\nlimit = 7\n",
        );
        let all_but = |f: fn(&mut Allow)| {
            let mut a = Allow::none();
            f(&mut a);
            a
        };
        assert_eq!(
            r.roles,
            vec![
                RoleConfig::new(
                    "anonymous",
                    vec![
                        Permission::new(
                            "",
                            MatchPolicy::Prefix,
                            all_but(|a| {
                                a.call = true;
                                a.subscribe = true;
                            })
                        ),
                        Permission::new(
                            "com.a",
                            MatchPolicy::Exact,
                            all_but(|a| {
                                a.register = true;
                                a.publish = true;
                            })
                        )
                        .disclosing(Disclose {
                            caller: true,
                            publisher: true
                        }),
                        Permission::new("com..x", MatchPolicy::Wildcard, Allow::none()),
                    ]
                ),
                RoleConfig::dynamic("ext"),
            ]
        );
        let mut h2 = HistoryConfig::new("com.p.");
        h2.match_policy = MatchPolicy::Prefix;
        h2.limit = 7;
        assert_eq!(r.event_history, vec![HistoryConfig::new("com.h"), h2]);
    }

    #[test]
    fn realm_override_keeps_configured_realms() {
        let text = format!(
            "[[realms]]\nname = \"secure\"\n[realms.auth]\nmethods = [\"ticket\"]\n\
             {PRINCIPAL_TICKET}[[realms]]\nname = \"other\""
        );
        let mut c = map(&text).unwrap();
        let secure = c.router.realms[0].clone();
        select_realms(
            &mut c.router,
            &["new.one".into(), "secure".into(), "secure".into()],
        )
        .unwrap();
        assert_eq!(c.router.realms, vec![RealmConfig::from("new.one"), secure]);
        let e = select_realms(&mut c.router, &["a..b".into()]).unwrap_err();
        assert_eq!(e.key, "--realm");
    }

    /// The fields a table accepts, from the parser's unknown-field error.
    fn fields_of(snippet: &str) -> Vec<String> {
        let e = FileConfig::parse(snippet).unwrap_err();
        let msg = e.message;
        assert!(msg.contains("zz_bogus"), "{snippet}: {msg}");
        let mut out: Vec<String> = msg
            .split('`')
            .skip(1)
            .step_by(2)
            .filter(|w| *w != "zz_bogus")
            .map(str::to_owned)
            .collect();
        out.sort();
        assert!(!out.is_empty(), "{snippet}: {msg}");
        out
    }

    #[test]
    fn router_toml_documents_every_key() {
        let example = include_str!("../examples/router.toml");
        let r = "[[realms]]\nname = \"r\"\n";
        let p = "[[realms.auth.principals]]\n";
        let perm = "[[realms.roles]]\n[[realms.roles.permissions]]\n";
        let tables = [
            "zz_bogus = 1".to_owned(),
            "[[listeners]]\nzz_bogus = 1".to_owned(),
            "[[listeners]]\n[listeners.tls]\nzz_bogus = 1".to_owned(),
            format!("{r}zz_bogus = 1"),
            format!("{r}[realms.auth]\nzz_bogus = 1"),
            format!("{r}[realms.auth]\nmethods = [{{ zz_bogus = 1 }}]"),
            format!("{r}[realms.auth.scram_mock_kdf]\nzz_bogus = 1"),
            format!("{r}{p}zz_bogus = 1"),
            format!("{r}{p}[realms.auth.principals.wampcra]\nzz_bogus = 1"),
            format!("{r}{p}[realms.auth.principals.scram]\nzz_bogus = 1"),
            format!("{r}[[realms.roles]]\nzz_bogus = 1"),
            format!("{r}{perm}zz_bogus = 1"),
            format!("{r}{perm}allow = {{ zz_bogus = true }}"),
            format!("{r}{perm}disclose = {{ zz_bogus = true }}"),
            format!("{r}[[realms.event_history]]\nzz_bogus = 1"),
            "[router]\nzz_bogus = 1".to_owned(),
            "[limits]\nzz_bogus = 1".to_owned(),
            "[timeouts]\nzz_bogus = 1".to_owned(),
        ];
        let mut checked = 0;
        for t in &tables {
            for field in fields_of(t) {
                if field.contains('-') {
                    continue; // an alias (`stored-key`) of a documented key
                }
                let documented = example.contains(&format!("{field} ="))
                    || example.contains(&format!(".{field}]"))
                    || example.contains(&format!("[{field}]"))
                    || example.contains(&format!("[[{field}]]"));
                assert!(documented, "key `{field}` of\n{t}\nis not in router.toml");
                checked += 1;
            }
        }
        assert!(checked > 90, "{checked}");
    }

    #[test]
    fn http_headers_are_kept_only_when_asked() {
        let map = |text: &str| {
            FileConfig::parse(text)
                .unwrap()
                .to_server_config(Path::new("."))
                .unwrap()
        };
        assert!(!map("").connection.http_headers);
        assert!(map("[router]\nhttp_headers = true").connection.http_headers);
        assert!(map("").release_memory);
        assert!(!map("[router]\nrelease_memory = false").release_memory);
        assert_eq!(map("").connection.websocket_read_buffer, 1024);
    }

    #[test]
    fn router_toml_sets_the_defaults() {
        let text = include_str!("../examples/router.toml");
        let example = FileConfig::parse(text)
            .unwrap()
            .to_server_config(Path::new("."))
            .unwrap();
        let default = FileConfig::default()
            .to_server_config(Path::new("."))
            .unwrap();
        assert_eq!(format!("{example:?}"), format!("{default:?}"));
    }

    #[test]
    fn router_toml_commented_keys_parse_when_uncommented() {
        // Convention of the example: `# key = value` and `# [table]` are samples to enable,
        // `# # key = value` their alternatives. With every sample enabled the file must still
        // parse: documented keys exist, with values of the right type.
        let text = include_str!("../examples/router.toml");
        let mut out = String::new();
        let mut enabled = 0;
        for line in text.lines() {
            let sample = line.strip_prefix("# ").filter(|rest| {
                let header = rest.starts_with('[') && rest.ends_with(']') && !rest.contains(' ');
                let key = rest
                    .split_once(" = ")
                    .is_some_and(|(k, _)| !k.is_empty() && !k.contains(' ') && k != "#");
                header || key
            });
            if sample.is_some() {
                enabled += 1;
            }
            out.push_str(sample.unwrap_or(line));
            out.push('\n');
        }
        assert!(enabled >= 30, "{enabled}");
        let file = FileConfig::parse(&out).unwrap_or_else(|e| panic!("{e}\n{out}"));
        assert_eq!(file.listeners.len(), 2);
        let realm = &file.realms[0];
        let auth = realm.auth.as_ref().unwrap();
        assert_eq!(auth.principals.len(), 1);
        assert!(auth.principals[0].scram.is_some() && auth.principals[0].wampcra.is_some());
        assert_eq!(realm.roles[0].permissions.len(), 1);
        assert_eq!(realm.event_history.len(), 1);
    }

    #[test]
    fn every_example_file_maps() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
        let mut n = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().and_then(|e| e.to_str()) != Some("toml") {
                continue;
            }
            FileConfig::load(&path)
                .and_then(|f| f.to_server_config(&dir))
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            n += 1;
        }
        assert!(n >= 2, "{n} example files");
    }

    #[test]
    fn router_auth_example_configures_every_method() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
        let c = FileConfig::load(&dir.join("router-auth.toml"))
            .unwrap()
            .to_server_config(&dir)
            .unwrap();
        let r = &c.router.realms[0];
        let methods: Vec<AuthMethod> = r.auth.methods.iter().map(|m| m.method).collect();
        assert_eq!(
            methods,
            [
                AuthMethod::Anonymous,
                AuthMethod::Ticket,
                AuthMethod::WampCra,
                AuthMethod::Cryptosign,
                AuthMethod::Scram
            ]
        );
        assert_eq!(r.auth.principals.len(), 7);
        // The Crossbar-style salted secret is what the password derives to.
        let salt = SaltParams {
            salt: "pepper".into(),
            iterations: 1000,
            keylen: 32,
        };
        assert_eq!(
            r.auth.principals[3].wampcra,
            Some(CraCredential::salted("pepper-secret", salt).unwrap())
        );
        // The precomputed Crossbar credential is what the password derives to.
        let kdf = Kdf::Argon2id13 {
            iterations: 4096,
            memory_kib: 512,
        };
        let alice = r.auth.principals[6].scram.clone().unwrap();
        assert_eq!(alice.kdf, kdf);
        assert_eq!(alice.salt, b"alice-salt-16byt");
        assert_eq!(
            c.listeners[1].auth_methods,
            Some(vec![AuthMethod::Cryptosign])
        );
        // The router key's public key is the one the comment names.
        let key = CryptosignKey::from_hex(r.auth.cryptosign_router_key.as_deref().unwrap());
        assert_eq!(
            key.unwrap().public_key_hex(),
            "197f6b23e16c8532c6abc838facd5ea789be0c76b2920334039bfa8b3d368d61"
        );
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
