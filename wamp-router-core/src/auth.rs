//! Authentication: what a realm accepts ([`AuthConfig`], [`Principal`]) and the state machine
//! that takes one connection from HELLO to WELCOME or ABORT.
//!
//! Methods: `anonymous`, `ticket`, `wampcra` (plain and salted), `cryptosign` (Ed25519, with
//! optional TLS channel binding and router authentication) and WAMP-SCRAM in both dialects
//! (`scram` as Autobahn and Crossbar run it, `wamp-scram` as the spec writes it), each with
//! static principals from the configuration or a dynamic authenticator (the embedder answers
//! a [`crate::DecisionRequest::Authenticate`]).
//!
//! The router picks the **first** method of the client's `HELLO.Details.authmethods` that the
//! realm offers and the connection may use ([`crate::TransportInfo::auth_methods`]; no
//! `authmethods`, or an empty list, means `anonymous`). None: ABORT
//! `wamp.error.no_auth_method` (Autobahn's and Crossbar's URI; the spec's
//! `wamp.error.no_matching_auth_method` is not used). Any failure — unknown authid, wrong
//! secret, wrong key, bad signature, missing field, denied by the dynamic authenticator,
//! timeout — is the same ABORT `wamp.error.authentication_failed` with the same details, so a
//! guesser learns nothing from it; for unknown authids `wampcra` and SCRAM even send a mock
//! CHALLENGE (stable fake salt per authid) and fail only after AUTHENTICATE. Secrets and
//! signatures are compared in constant time.
//!
//! The core never runs a slow key derivation: salted WAMP-CRA principals carry the derived key
//! and SCRAM principals the stored and server keys; derive them when the configuration is
//! loaded ([`CraCredential::salted`], [`ScramSecret::derive`]), or in a dynamic authenticator.

use std::collections::BTreeMap;
use std::sync::Arc;

use wamp_proto::auth::cryptosign::{self, ChannelBinding, CryptosignKey};
use wamp_proto::auth::scram::{self, Kdf, ScramProfile};
use wamp_proto::auth::wampcra::{self, SaltParams};
use wamp_proto::auth::{
    AuthError, KdfLimits, base64_decode, base64_encode, constant_time_eq, hmac_sha256,
};
use wamp_proto::id::SessionId;
use wamp_proto::message::{Authenticate, Challenge};
use wamp_proto::{Dict, Entropy, Uri, Value};

use crate::decision::{AuthDecision, AuthRequest};
use crate::session::{ClientFeatures, Identity};
use crate::uris;

/// An authentication method the router runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum AuthMethod {
    /// `anonymous`: WELCOME at once; authid = the session ID, role = the realm's
    /// [`AuthConfig::anonymous_role`] (or the dynamic authenticator's answer).
    Anonymous,
    /// `ticket`: a shared secret sent in clear (use TLS).
    Ticket,
    /// `wampcra`: HMAC-SHA256 challenge-response, plain or salted (PBKDF2).
    WampCra,
    /// `cryptosign`: Ed25519 public keys.
    Cryptosign,
    /// WAMP-SCRAM: serves both `scram` (Autobahn, Crossbar) and `wamp-scram` (spec).
    Scram,
}

impl AuthMethod {
    /// The method a client's `authmethods` entry names (and the SCRAM dialect).
    pub fn from_wire(name: &str) -> Option<(AuthMethod, Option<ScramProfile>)> {
        Some(match name {
            "anonymous" => (AuthMethod::Anonymous, None),
            "ticket" => (AuthMethod::Ticket, None),
            "wampcra" => (AuthMethod::WampCra, None),
            "cryptosign" => (AuthMethod::Cryptosign, None),
            scram::METHOD_AUTOBAHN => (AuthMethod::Scram, Some(ScramProfile::Autobahn)),
            scram::METHOD_SPEC => (AuthMethod::Scram, Some(ScramProfile::Spec)),
            _ => return None,
        })
    }

    /// The wire name (`scram` for SCRAM; the session reports the dialect the client used).
    pub const fn as_str(self) -> &'static str {
        match self {
            AuthMethod::Anonymous => "anonymous",
            AuthMethod::Ticket => "ticket",
            AuthMethod::WampCra => "wampcra",
            AuthMethod::Cryptosign => "cryptosign",
            AuthMethod::Scram => scram::METHOD_AUTOBAHN,
        }
    }
}

/// Where a method finds its principals.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum AuthProvider {
    /// [`AuthConfig::principals`], checked synchronously by the core (`authprovider`
    /// `static`). Nothing to implement for the embedder.
    #[default]
    Static,
    /// The embedder, through [`crate::RouterAction::NeedDecision`] (`authprovider`
    /// `dynamic`).
    Dynamic,
}

impl AuthProvider {
    /// `"static"` or `"dynamic"` (`WELCOME.Details.authprovider`).
    pub const fn as_str(self) -> &'static str {
        match self {
            AuthProvider::Static => "static",
            AuthProvider::Dynamic => "dynamic",
        }
    }
}

/// One method a realm offers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MethodConfig {
    /// The method.
    pub method: AuthMethod,
    /// Static principals or a dynamic authenticator.
    pub provider: AuthProvider,
}

impl MethodConfig {
    /// `method` with static principals.
    pub const fn static_(method: AuthMethod) -> Self {
        MethodConfig {
            method,
            provider: AuthProvider::Static,
        }
    }
    /// `method` with a dynamic authenticator.
    pub const fn dynamic(method: AuthMethod) -> Self {
        MethodConfig {
            method,
            provider: AuthProvider::Dynamic,
        }
    }
}

/// A WAMP-CRA credential.
#[derive(Clone, PartialEq, Eq)]
pub struct CraCredential {
    /// The HMAC key: the shared secret, or — when `salt` is set — the salted key, i.e. the
    /// base64 text [`wampcra::derive_key`] returns for the password (see
    /// [`CraCredential::salted`]).
    pub secret: String,
    /// Salting parameters sent in the CHALLENGE (`salt`, `iterations`, `keylen`). Default:
    /// none (plain WAMP-CRA).
    pub salt: Option<SaltParams>,
}

impl std::fmt::Debug for CraCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CraCredential")
            .field("salt", &self.salt)
            .finish_non_exhaustive()
    }
}

impl CraCredential {
    /// A plain (unsalted) secret.
    pub fn plain(secret: impl Into<String>) -> Self {
        CraCredential {
            secret: secret.into(),
            salt: None,
        }
    }

    /// A salted credential from the password, as Crossbar derives it (PBKDF2-HMAC-SHA256;
    /// slow on purpose: call it when loading the configuration, not on the routing loop).
    pub fn salted(password: &str, salt: SaltParams) -> Result<Self, AuthError> {
        let key = wampcra::derive_key(password, &salt, &KdfLimits::unbounded())?;
        Ok(CraCredential {
            secret: key,
            salt: Some(salt),
        })
    }
}

/// A WAMP-SCRAM credential: what the router stores (never the password, never the client
/// key).
#[derive(Clone, PartialEq, Eq)]
pub struct ScramSecret {
    /// The dialect the keys were derived for. With PBKDF2 both dialects derive the same keys
    /// (for SASLprep-stable passwords) and the credential serves both; with Argon2 it serves
    /// only its own dialect.
    pub profile: ScramProfile,
    /// The KDF and its cost parameters (sent in the CHALLENGE).
    pub kdf: Kdf,
    /// The raw salt (sent base64-encoded).
    pub salt: Vec<u8>,
    /// `StoredKey = SHA256(HMAC(SaltedPassword, "Client Key"))`.
    pub stored_key: [u8; 32],
    /// `ServerKey = HMAC(SaltedPassword, "Server Key")`.
    pub server_key: [u8; 32],
}

impl std::fmt::Debug for ScramSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScramSecret")
            .field("profile", &self.profile)
            .field("kdf", &self.kdf)
            .finish_non_exhaustive()
    }
}

impl ScramSecret {
    /// Derives the credential from a password (runs the KDF: slow on purpose, call it when
    /// loading the configuration or in a dynamic authenticator, not on the routing loop).
    pub fn derive(
        profile: ScramProfile,
        password: &str,
        salt: &[u8],
        kdf: Kdf,
    ) -> Result<Self, AuthError> {
        let c = scram::derive_credential(profile, password, salt, kdf)?;
        Ok(ScramSecret {
            profile,
            kdf,
            salt: c.salt,
            stored_key: c.keys.stored_key,
            server_key: c.keys.server_key,
        })
    }

    fn serves(&self, profile: ScramProfile) -> bool {
        self.profile == profile || matches!(self.kdf, Kdf::Pbkdf2 { .. })
    }
}

/// Who a client may authenticate as: an authid with its role and credentials. Used for the
/// static principals of [`AuthConfig::principals`] and in a dynamic authenticator's answer
/// ([`AuthDecision::Accept`]).
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Principal {
    /// The authid (unique within a realm's static principals).
    pub authid: String,
    /// The role sessions of this principal get.
    pub authrole: String,
    /// `ticket`: the ticket.
    pub ticket: Option<String>,
    /// `wampcra`: the secret.
    pub wampcra: Option<CraCredential>,
    /// `cryptosign`: the authorized Ed25519 public keys, 64 hex characters each.
    pub cryptosign_keys: Vec<String>,
    /// WAMP-SCRAM: the stored keys.
    pub scram: Option<ScramSecret>,
    /// Extra entries for `WELCOME.Details.authextra` (and the session meta API).
    pub authextra: Dict,
}

impl Principal {
    /// A principal with `authid` and `authrole` and no credential yet.
    pub fn new(authid: impl Into<String>, authrole: impl Into<String>) -> Self {
        Principal {
            authid: authid.into(),
            authrole: authrole.into(),
            ..Principal::default()
        }
    }
    /// With a ticket.
    #[must_use]
    pub fn with_ticket(mut self, ticket: impl Into<String>) -> Self {
        self.ticket = Some(ticket.into());
        self
    }
    /// With a WAMP-CRA credential.
    #[must_use]
    pub fn with_wampcra(mut self, c: CraCredential) -> Self {
        self.wampcra = Some(c);
        self
    }
    /// With one more authorized cryptosign public key (hex).
    #[must_use]
    pub fn with_cryptosign_key(mut self, pubkey_hex: impl Into<String>) -> Self {
        self.cryptosign_keys.push(pubkey_hex.into());
        self
    }
    /// With a SCRAM credential.
    #[must_use]
    pub fn with_scram(mut self, s: ScramSecret) -> Self {
        self.scram = Some(s);
        self
    }
}

/// How a realm authenticates.
#[derive(Clone, Debug, PartialEq)]
pub struct AuthConfig {
    /// The methods offered. Default: `anonymous` (static) only.
    pub methods: Vec<MethodConfig>,
    /// The role of statically authenticated anonymous sessions. Default: `"anonymous"`.
    pub anonymous_role: String,
    /// Static principals. Default: none.
    pub principals: Vec<Principal>,
    /// Cryptosign router authentication: the router's Ed25519 key seed (64 hex characters).
    /// When set and a client sends `authextra.challenge`, the CHALLENGE carries the router's
    /// `pubkey` and its `signature` of that challenge. Default: none (such clients then fail
    /// their own check).
    pub cryptosign_router_key: Option<String>,
    /// Cost parameters of mock SCRAM challenges for unknown authids when no static principal
    /// has a SCRAM credential to imitate. Default: Argon2id, 4096 iterations, 512 KiB (what
    /// Crossbar's examples use).
    pub scram_mock_kdf: Kdf,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            methods: vec![MethodConfig::static_(AuthMethod::Anonymous)],
            anonymous_role: "anonymous".to_owned(),
            principals: Vec::new(),
            cryptosign_router_key: None,
            scram_mock_kdf: Kdf::Argon2id13 {
                iterations: 4096,
                memory_kib: 512,
            },
        }
    }
}

/// A configuration error: which key is wrong. Carries no configured text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A realm name is not a valid URI.
    #[error("realms[{0}].name: invalid realm URI")]
    RealmName(usize),
    /// Two realms share a name.
    #[error("realms[{0}].name: duplicate realm")]
    DuplicateRealm(usize),
    /// A static principal's authid appears twice in a realm.
    #[error("realms[{realm}].auth.principals[{principal}].authid: duplicate authid")]
    DuplicatePrincipal {
        /// Realm index.
        realm: usize,
        /// Principal index.
        principal: usize,
    },
    /// A cryptosign public key is not 64 hex characters of a valid Ed25519 point.
    #[error("realms[{realm}].auth.principals[{principal}].cryptosign_keys: invalid public key")]
    CryptosignKey {
        /// Realm index.
        realm: usize,
        /// Principal index.
        principal: usize,
    },
    /// The router's cryptosign key is not 64 hex characters.
    #[error("realms[{0}].auth.cryptosign_router_key: invalid key seed")]
    RouterKey(usize),
    /// A method is listed twice.
    #[error("realms[{0}].auth.methods: method listed twice")]
    DuplicateMethod(usize),
    /// A permission URI is not valid for its match policy.
    #[error("realms[{realm}].roles[{role}].permissions[{permission}].uri: invalid URI pattern")]
    PermissionUri {
        /// Realm index.
        realm: usize,
        /// Role index.
        role: usize,
        /// Permission index.
        permission: usize,
    },
    /// A role name appears twice in a realm.
    #[error("realms[{realm}].roles[{role}].name: duplicate role")]
    DuplicateRole {
        /// Realm index.
        realm: usize,
        /// Role index.
        role: usize,
    },
    /// An event history URI is not valid for its match policy.
    #[error("realms[{realm}].event_history[{entry}].uri: invalid URI pattern")]
    HistoryUri {
        /// Realm index.
        realm: usize,
        /// Entry index.
        entry: usize,
    },
}

fn valid_pubkey(hex: &str) -> Option<[u8; 32]> {
    let k = cryptosign::hex32(hex)?;
    // The key must be a valid point: verifying with it must be possible.
    ed25519_point_ok(&k).then_some(k)
}

fn ed25519_point_ok(k: &[u8; 32]) -> bool {
    // A signature check with a wrong-length field fails before the key is parsed, so try a
    // well-formed dummy: an invalid key yields `InvalidKey`, a valid one `BadSignature`.
    let dummy = "00".repeat(96);
    !matches!(
        cryptosign::verify_signature(k, &[0u8; 32], None, &dummy),
        Err(AuthError::InvalidKey)
    )
}

impl AuthConfig {
    pub(crate) fn validate(&self, realm: usize) -> Result<(), ConfigError> {
        let mut seen = BTreeMap::new();
        for (i, p) in self.principals.iter().enumerate() {
            if seen.insert(p.authid.as_str(), i).is_some() {
                return Err(ConfigError::DuplicatePrincipal {
                    realm,
                    principal: i,
                });
            }
            if p.cryptosign_keys.iter().any(|k| valid_pubkey(k).is_none()) {
                return Err(ConfigError::CryptosignKey {
                    realm,
                    principal: i,
                });
            }
        }
        if let Some(k) = &self.cryptosign_router_key {
            if cryptosign::hex32(k).is_none() {
                return Err(ConfigError::RouterKey(realm));
            }
        }
        for (i, m) in self.methods.iter().enumerate() {
            if self.methods[..i].iter().any(|x| x.method == m.method) {
                return Err(ConfigError::DuplicateMethod(realm));
            }
        }
        Ok(())
    }
}

/// A realm's authentication configuration, indexed.
#[derive(Debug)]
pub(crate) struct RealmAuth {
    config: AuthConfig,
    by_authid: BTreeMap<String, usize>,
    /// Public key -> principal (`None`: several principals list it, so it names nobody).
    by_pubkey: BTreeMap<[u8; 32], Option<usize>>,
    router_key: Option<CryptosignKey>,
    /// Key of the mock challenges' fake salts (random per router).
    mock_key: [u8; 32],
}

impl RealmAuth {
    /// Indexes `config`. Invalid entries (see [`AuthConfig::validate`]) are skipped.
    pub(crate) fn new(config: AuthConfig, entropy: &mut dyn Entropy) -> Self {
        let mut by_authid = BTreeMap::new();
        let mut by_pubkey: BTreeMap<[u8; 32], Option<usize>> = BTreeMap::new();
        for (i, p) in config.principals.iter().enumerate() {
            by_authid.entry(p.authid.clone()).or_insert(i);
            for k in p.cryptosign_keys.iter().filter_map(|k| valid_pubkey(k)) {
                by_pubkey
                    .entry(k)
                    .and_modify(|e| {
                        if *e != Some(i) {
                            *e = None;
                        }
                    })
                    .or_insert(Some(i));
            }
        }
        let router_key = config
            .cryptosign_router_key
            .as_deref()
            .and_then(|k| CryptosignKey::from_hex(k).ok());
        let mut mock_key = [0u8; 32];
        entropy.fill_bytes(&mut mock_key);
        RealmAuth {
            config,
            by_authid,
            by_pubkey,
            router_key,
            mock_key,
        }
    }

    fn method(&self, m: AuthMethod) -> Option<AuthProvider> {
        self.config
            .methods
            .iter()
            .find(|c| c.method == m)
            .map(|c| c.provider)
    }

    fn principal(&self, authid: &str) -> Option<&Principal> {
        self.by_authid
            .get(authid)
            .and_then(|i| self.config.principals.get(*i))
    }

    fn mock_salt(&self, label: &str, authid: &str) -> [u8; 16] {
        let mut msg = Vec::with_capacity(label.len() + 1 + authid.len());
        msg.extend_from_slice(label.as_bytes());
        msg.push(0);
        msg.extend_from_slice(authid.as_bytes());
        let h = hmac_sha256(&self.mock_key, &msg);
        let mut out = [0u8; 16];
        out.copy_from_slice(&h[..16]);
        out
    }
}

/// Channel binding data the transport offers (see [`crate::TransportInfo`]).
pub(crate) type Binding<'a> = Option<(ChannelBinding, &'a [u8])>;

/// What the machine needs from the router for one step.
pub(crate) struct Env<'a> {
    pub(crate) realm_name: &'a Uri,
    pub(crate) auth: &'a RealmAuth,
    pub(crate) entropy: &'a mut dyn Entropy,
    pub(crate) unix_millis: u64,
    pub(crate) binding: Binding<'a>,
    pub(crate) transport: Option<&'a crate::TransportInfo>,
}

/// The outcome of a step.
#[derive(Debug)]
pub(crate) enum Step {
    /// Send this CHALLENGE and wait for AUTHENTICATE.
    Challenge(Challenge),
    /// Authenticated.
    Welcome(Box<Welcomed>),
    /// Ask the embedder.
    Ask(Box<AuthRequest>),
    /// ABORT with this reason.
    Fail(&'static str),
}

/// A successful authentication.
#[derive(Debug)]
pub(crate) struct Welcomed {
    pub(crate) identity: Identity,
    pub(crate) authextra: Dict,
}

#[derive(Debug)]
enum Stage {
    /// Waiting for the dynamic authenticator's principal (after HELLO).
    Lookup,
    /// CHALLENGE sent: waiting for AUTHENTICATE.
    Challenged,
    /// Ticket received: waiting for the dynamic authenticator's verdict.
    Verdict,
}

/// What the CHALLENGE committed to.
#[derive(Debug)]
enum Issued {
    None,
    Ticket {
        ticket: Option<String>,
    },
    Cra {
        challenge: String,
        key: Option<Vec<u8>>,
    },
    Cryptosign {
        challenge: [u8; 32],
        pubkey: [u8; 32],
        channel_id: Option<[u8; 32]>,
    },
    Scram {
        nonce: String,
        salt: String,
        iterations: u32,
        keys: Option<([u8; 32], [u8; 32])>,
        binding: Option<(ChannelBinding, Vec<u8>)>,
    },
}

/// One connection's authentication in progress.
#[derive(Debug)]
pub(crate) struct PendingAuth {
    pub(crate) realm: usize,
    pub(crate) sid: SessionId,
    pub(crate) features: ClientFeatures,
    /// The decision being waited for, if any.
    pub(crate) ticket: Option<crate::DecisionTicket>,
    method: AuthMethod,
    wire: &'static str,
    profile: ScramProfile,
    provider: AuthProvider,
    authid: Option<String>,
    authrole: Option<String>,
    authextra: Dict,
    stage: Stage,
    issued: Issued,
    principal: Option<Principal>,
}

fn str_list(v: &[Value]) -> impl Iterator<Item = &str> {
    v.iter().filter_map(Value::as_str)
}

/// Picks the first of the client's methods the realm offers (and the connection may use:
/// `allowed`, `None` = any).
pub(crate) fn choose(
    auth: &RealmAuth,
    details: &Dict,
    allowed: Option<&[AuthMethod]>,
) -> Option<(AuthMethod, &'static str, ScramProfile)> {
    let listed = details.get_list("authmethods").filter(|l| !l.is_empty());
    let anonymous = [Value::from("anonymous")];
    let names = listed.map_or(&anonymous[..], |l| &l[..]);
    for name in str_list(names) {
        let Some((m, profile)) = AuthMethod::from_wire(name) else {
            continue;
        };
        if auth.method(m).is_some() && allowed.is_none_or(|a| a.contains(&m)) {
            let wire = match profile {
                Some(ScramProfile::Spec) => scram::METHOD_SPEC,
                _ => m.as_str(),
            };
            return Some((m, wire, profile.unwrap_or_default()));
        }
    }
    None
}

impl PendingAuth {
    /// Starts authenticating a HELLO with `method` (from [`choose`]).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn start(
        env: &mut Env<'_>,
        realm: usize,
        sid: SessionId,
        features: ClientFeatures,
        details: &Dict,
        chosen: (AuthMethod, &'static str, ScramProfile),
    ) -> (Box<PendingAuth>, Step) {
        let (method, wire, profile) = chosen;
        let provider = env.auth.method(method).unwrap_or_default();
        let mut p = Box::new(PendingAuth {
            realm,
            sid,
            features,
            ticket: None,
            method,
            wire,
            profile,
            provider,
            authid: details.get_str("authid").map(str::to_owned),
            authrole: details.get_str("authrole").map(str::to_owned),
            authextra: details.get_dict("authextra").cloned().unwrap_or_default(),
            stage: Stage::Lookup,
            issued: Issued::None,
            principal: None,
        });
        let step = p.begin(env);
        (p, step)
    }

    fn request(&self, env: &Env<'_>, ticket: Option<String>) -> Step {
        Step::Ask(Box::new(AuthRequest {
            realm: env.realm_name.clone(),
            session: self.sid,
            method: self.method,
            authmethod: self.wire.to_owned(),
            authid: self.authid.clone(),
            authrole: self.authrole.clone(),
            authextra: self.authextra.clone(),
            ticket,
            transport: env
                .transport
                .map(crate::TransportInfo::all_details)
                .unwrap_or_default(),
        }))
    }

    fn begin(&mut self, env: &mut Env<'_>) -> Step {
        // Method preconditions that need no principal.
        match self.method {
            AuthMethod::Anonymous => {}
            AuthMethod::Ticket => {
                if self.authid.is_none() {
                    return Step::Fail(uris::AUTHENTICATION_FAILED);
                }
                self.stage = Stage::Challenged;
                self.issued = Issued::Ticket { ticket: None };
                return Step::Challenge(Challenge {
                    auth_method: self.wire.to_owned(),
                    extra: Dict::new(),
                });
            }
            AuthMethod::WampCra => {
                if self.authid.is_none() {
                    return Step::Fail(uris::AUTHENTICATION_FAILED);
                }
            }
            AuthMethod::Cryptosign => {
                let Some(pk) = self.authextra.get_str("pubkey").and_then(valid_pubkey) else {
                    return Step::Fail(uris::AUTHENTICATION_FAILED);
                };
                let _ = pk;
                if self.cryptosign_binding(env).is_err() {
                    return Step::Fail(uris::AUTHENTICATION_FAILED);
                }
            }
            AuthMethod::Scram => {
                if self.authid.is_none()
                    || self
                        .authextra
                        .get_str("nonce")
                        .and_then(base64_decode)
                        .is_none_or(|n| n.is_empty())
                    || self.scram_binding(env).is_err()
                {
                    return Step::Fail(uris::AUTHENTICATION_FAILED);
                }
            }
        }
        match self.provider {
            AuthProvider::Dynamic => {
                self.stage = Stage::Lookup;
                self.request(env, None)
            }
            AuthProvider::Static => {
                let principal = match self.method {
                    AuthMethod::Anonymous => None,
                    AuthMethod::Cryptosign => self.static_cryptosign(env.auth).cloned(),
                    _ => self
                        .authid
                        .as_deref()
                        .and_then(|a| env.auth.principal(a))
                        .cloned(),
                };
                self.with_principal(env, principal)
            }
        }
    }

    /// The static cryptosign principal: by authid (its keys must list the client's key), or
    /// by the key alone.
    fn static_cryptosign<'a>(&self, auth: &'a RealmAuth) -> Option<&'a Principal> {
        let pk = self.authextra.get_str("pubkey").and_then(valid_pubkey)?;
        match &self.authid {
            Some(a) => auth.principal(a),
            None => {
                let i = (*auth.by_pubkey.get(&pk)?)?;
                auth.config.principals.get(i)
            }
        }
    }

    /// Continues with the principal (static lookup or dynamic answer; `None`: unknown).
    fn with_principal(&mut self, env: &mut Env<'_>, principal: Option<Principal>) -> Step {
        match self.method {
            AuthMethod::Anonymous => {
                let (authid, role, extra) = match principal {
                    Some(p) => (p.authid, p.authrole, p.authextra),
                    None if self.provider == AuthProvider::Static => (
                        String::new(),
                        env.auth.config.anonymous_role.clone(),
                        Dict::new(),
                    ),
                    None => return Step::Fail(uris::AUTHENTICATION_FAILED),
                };
                let authid = if authid.is_empty() {
                    self.sid.to_string()
                } else {
                    authid
                };
                self.welcome(authid, role, extra)
            }
            AuthMethod::Ticket => Step::Fail(uris::AUTHENTICATION_FAILED),
            AuthMethod::WampCra => self.cra_challenge(env, principal),
            AuthMethod::Cryptosign => self.cryptosign_challenge(env, principal),
            AuthMethod::Scram => self.scram_challenge(env, principal),
        }
    }

    fn welcome(&mut self, authid: String, authrole: String, authextra: Dict) -> Step {
        Step::Welcome(Box::new(Welcomed {
            identity: Identity {
                authid: Arc::from(authid),
                authrole: Arc::from(authrole),
                authmethod: Arc::from(self.wire),
                authprovider: Arc::from(self.provider.as_str()),
            },
            authextra,
        }))
    }

    fn principal_authid(&self, p: &Principal) -> String {
        if p.authid.is_empty() {
            self.authid.clone().unwrap_or_default()
        } else {
            p.authid.clone()
        }
    }

    fn cra_challenge(&mut self, env: &mut Env<'_>, principal: Option<Principal>) -> Step {
        let authid = self.authid.clone().unwrap_or_default();
        let cred = principal.as_ref().and_then(|p| p.wampcra.clone());
        let (role, salt, key) = match (&principal, cred) {
            (Some(p), Some(c)) => (p.authrole.clone(), c.salt, Some(c.secret.into_bytes())),
            _ if self.provider == AuthProvider::Dynamic => {
                return Step::Fail(uris::AUTHENTICATION_FAILED);
            }
            _ => {
                // Unknown authid: a mock challenge shaped like the real ones.
                let salted = env
                    .auth
                    .config
                    .principals
                    .iter()
                    .find_map(|p| p.wampcra.as_ref().and_then(|c| c.salt.clone()));
                let salt = salted.map(|s| SaltParams {
                    salt: base64_encode(&env.auth.mock_salt("wampcra", &authid)),
                    ..s
                });
                (env.auth.config.anonymous_role.clone(), salt, None)
            }
        };
        let nonce = wamp_proto::auth::random_nonce(env.entropy, 16);
        let timestamp = wampcra::utc_timestamp(env.unix_millis);
        let challenge = wampcra::challenge_string(&wampcra::ChallengeInfo {
            authid: &authid,
            authrole: &role,
            authprovider: self.provider.as_str(),
            session: self.sid,
            nonce: &nonce,
            timestamp: &timestamp,
        });
        let mut extra = Dict::with_capacity(4);
        extra.insert("challenge", challenge.as_str());
        if let Some(s) = &salt {
            s.write_into(&mut extra);
        }
        self.principal = principal;
        self.stage = Stage::Challenged;
        self.issued = Issued::Cra { challenge, key };
        Step::Challenge(Challenge {
            auth_method: self.wire.to_owned(),
            extra,
        })
    }

    /// The channel binding cryptosign will use: `Err` if the client asks for one the transport
    /// cannot provide (Crossbar denies then).
    fn cryptosign_binding(&self, env: &Env<'_>) -> Result<Option<(ChannelBinding, [u8; 32])>, ()> {
        match self.authextra.get("channel_binding") {
            None | Some(Value::Null) => Ok(None),
            Some(v) => {
                let kind = v.as_str().and_then(ChannelBinding::parse).ok_or(())?;
                match env.binding {
                    Some((k, data)) if k == kind => {
                        let id: [u8; 32] = data.try_into().map_err(|_| ())?;
                        Ok(Some((kind, id)))
                    }
                    _ => Err(()),
                }
            }
        }
    }

    fn cryptosign_challenge(&mut self, env: &mut Env<'_>, principal: Option<Principal>) -> Step {
        let Some(pubkey) = self.authextra.get_str("pubkey").and_then(valid_pubkey) else {
            return Step::Fail(uris::AUTHENTICATION_FAILED);
        };
        let Some(p) = principal else {
            return Step::Fail(uris::AUTHENTICATION_FAILED);
        };
        let listed = p
            .cryptosign_keys
            .iter()
            .filter_map(|k| cryptosign::hex32(k))
            .any(|k| constant_time_eq(&k, &pubkey));
        if !listed {
            return Step::Fail(uris::AUTHENTICATION_FAILED);
        }
        let Ok(binding) = self.cryptosign_binding(env) else {
            return Step::Fail(uris::AUTHENTICATION_FAILED);
        };
        let (challenge, hex) = cryptosign::new_challenge(env.entropy);
        let mut extra = Dict::with_capacity(4);
        extra.insert("challenge", hex);
        extra.insert(
            "channel_binding",
            binding.map_or(Value::Null, |(k, _)| Value::from(k.as_str())),
        );
        let channel_id = binding.map(|(_, id)| id);
        if let (Some(key), Some(client_challenge)) = (
            &env.auth.router_key,
            self.authextra
                .get_str("challenge")
                .and_then(cryptosign::hex32),
        ) {
            let msg = cryptosign::message_to_sign(&client_challenge, channel_id.as_ref());
            extra.insert("pubkey", key.public_key_hex());
            extra.insert("signature", key.sign_message(&msg));
        }
        self.principal = Some(p);
        self.stage = Stage::Challenged;
        self.issued = Issued::Cryptosign {
            challenge,
            pubkey,
            channel_id,
        };
        Step::Challenge(Challenge {
            auth_method: self.wire.to_owned(),
            extra,
        })
    }

    /// SCRAM channel binding: only the spec dialect binds; `Err` if the client asks for a
    /// binding the transport cannot provide (the spec's MUST ABORT).
    fn scram_binding(&self, env: &Env<'_>) -> Result<Option<(ChannelBinding, Vec<u8>)>, ()> {
        if self.profile != ScramProfile::Spec {
            return Ok(None);
        }
        match self.authextra.get("channel_binding") {
            None | Some(Value::Null) => Ok(None),
            Some(v) => {
                let kind = v.as_str().and_then(ChannelBinding::parse).ok_or(())?;
                match env.binding {
                    Some((k, data)) if k == kind => Ok(Some((kind, data.to_vec()))),
                    _ => Err(()),
                }
            }
        }
    }

    fn scram_challenge(&mut self, env: &mut Env<'_>, principal: Option<Principal>) -> Step {
        let authid = self.authid.clone().unwrap_or_default();
        let cred = principal
            .as_ref()
            .and_then(|p| p.scram.clone())
            .filter(|s| s.serves(self.profile));
        let (kdf, salt, keys) = match cred {
            Some(s) => (s.kdf, s.salt, Some((s.stored_key, s.server_key))),
            None if self.provider == AuthProvider::Dynamic => {
                return Step::Fail(uris::AUTHENTICATION_FAILED);
            }
            None => {
                let kdf = env
                    .auth
                    .config
                    .principals
                    .iter()
                    .find_map(|p| p.scram.as_ref().map(|s| s.kdf))
                    .unwrap_or(env.auth.config.scram_mock_kdf);
                (kdf, env.auth.mock_salt("scram", &authid).to_vec(), None)
            }
        };
        let Ok(binding) = self.scram_binding(env) else {
            return Step::Fail(uris::AUTHENTICATION_FAILED);
        };
        let client_nonce = self.authextra.get_str("nonce").unwrap_or_default();
        let mut server = [0u8; 16];
        env.entropy.fill_bytes(&mut server);
        let nonce = match self.profile {
            // Crossbar: base64(client nonce bytes || server nonce bytes).
            ScramProfile::Autobahn => {
                let mut n = base64_decode(client_nonce).unwrap_or_default();
                n.extend_from_slice(&server);
                base64_encode(&n)
            }
            // The spec: the client nonce text followed by the server nonce.
            ScramProfile::Spec => format!("{client_nonce}{}", base64_encode(&server)),
        };
        let salt_text = base64_encode(&salt);
        let mut extra = Dict::with_capacity(5);
        extra.insert("nonce", nonce.as_str());
        extra.insert("salt", salt_text.as_str());
        extra.insert("kdf", kdf.name(self.profile));
        extra.insert("iterations", kdf.iterations());
        match (kdf, self.profile) {
            (Kdf::Argon2id13 { memory_kib, .. }, _) => {
                extra.insert("memory", memory_kib);
            }
            // Autobahn's client reads `memory` as an integer: leave it out for PBKDF2.
            (Kdf::Pbkdf2 { .. }, ScramProfile::Autobahn) => {}
            (Kdf::Pbkdf2 { .. }, ScramProfile::Spec) => {
                extra.insert("memory", Value::Null);
            }
        }
        if self.profile == ScramProfile::Spec {
            extra.insert(
                "channel_binding",
                binding
                    .as_ref()
                    .map_or(Value::Null, |(k, _)| Value::from(k.as_str())),
            );
        }
        self.principal = principal;
        self.stage = Stage::Challenged;
        self.issued = Issued::Scram {
            nonce,
            salt: salt_text,
            iterations: kdf.iterations(),
            keys,
            binding,
        };
        Step::Challenge(Challenge {
            auth_method: self.wire.to_owned(),
            extra,
        })
    }

    /// Whether the machine waits for AUTHENTICATE (anything else from the client is a
    /// protocol violation).
    pub(crate) fn expects_authenticate(&self) -> bool {
        matches!(self.stage, Stage::Challenged)
    }

    /// The client's AUTHENTICATE.
    pub(crate) fn authenticate(&mut self, env: &mut Env<'_>, msg: Authenticate) -> Step {
        let issued = std::mem::replace(&mut self.issued, Issued::None);
        let principal = self.principal.take();
        let fail = Step::Fail(uris::AUTHENTICATION_FAILED);
        match issued {
            Issued::None => fail,
            Issued::Ticket { .. } => {
                if self.provider == AuthProvider::Dynamic {
                    self.stage = Stage::Verdict;
                    self.issued = Issued::Ticket {
                        ticket: Some(msg.signature.clone()),
                    };
                    return self.request(env, Some(msg.signature));
                }
                let expected = self
                    .authid
                    .as_deref()
                    .and_then(|a| env.auth.principal(a))
                    .and_then(|p| p.ticket.as_deref().map(|t| (p, t)));
                match expected {
                    Some((p, t)) if wamp_proto::auth::ticket::verify(t, &msg.signature) => {
                        let (id, role, extra) = (
                            self.principal_authid(p),
                            p.authrole.clone(),
                            p.authextra.clone(),
                        );
                        self.welcome(id, role, extra)
                    }
                    Some(_) => fail,
                    None => {
                        // Same work as a real comparison.
                        let _ =
                            constant_time_eq(msg.signature.as_bytes(), msg.signature.as_bytes());
                        fail
                    }
                }
            }
            Issued::Cra { challenge, key } => match (key, principal) {
                (Some(key), Some(p)) if wampcra::verify(&key, &challenge, &msg.signature) => {
                    let (id, role, extra) = (self.principal_authid(&p), p.authrole, p.authextra);
                    self.welcome(id, role, extra)
                }
                (key, _) => {
                    if key.is_none() {
                        let _ = wampcra::verify(b"mock", &challenge, &msg.signature);
                    }
                    fail
                }
            },
            Issued::Cryptosign {
                challenge,
                pubkey,
                channel_id,
            } => match principal {
                Some(p)
                    if cryptosign::verify_signature(
                        &pubkey,
                        &challenge,
                        channel_id.as_ref(),
                        &msg.signature,
                    )
                    .is_ok() =>
                {
                    let (id, role, extra) = (self.principal_authid(&p), p.authrole, p.authextra);
                    self.welcome(id, role, extra)
                }
                _ => fail,
            },
            Issued::Scram {
                nonce,
                salt,
                iterations,
                keys,
                binding,
            } => {
                let verified = self.scram_verify(&msg, &nonce, &salt, iterations, keys, &binding);
                match (verified, principal) {
                    (Some(server_signature), Some(p)) => {
                        let mut extra = p.authextra.clone();
                        let sig = base64_encode(&server_signature);
                        match self.profile {
                            ScramProfile::Autobahn => {
                                extra.insert("scram_server_signature", sig);
                            }
                            ScramProfile::Spec => {
                                extra.insert("verifier", sig);
                            }
                        }
                        let (id, role) = (self.principal_authid(&p), p.authrole);
                        self.welcome(id, role, extra)
                    }
                    _ => fail,
                }
            }
        }
    }

    /// Checks a SCRAM AUTHENTICATE; returns the server signature if the proof is right.
    fn scram_verify(
        &self,
        msg: &Authenticate,
        nonce: &str,
        salt: &str,
        iterations: u32,
        keys: Option<([u8; 32], [u8; 32])>,
        binding: &Option<(ChannelBinding, Vec<u8>)>,
    ) -> Option<[u8; 32]> {
        if self.profile == ScramProfile::Spec {
            // The spec's AUTHENTICATE.Extra repeats the nonce and the channel binding.
            if msg.extra.get_str("nonce") != Some(nonce) {
                return None;
            }
            let kind = binding.as_ref().map(|(k, _)| k.as_str());
            match (msg.extra.get("channel_binding"), kind) {
                (None | Some(Value::Null), None) => {}
                (Some(Value::Str(s)), Some(k)) if s == k => {}
                _ => return None,
            }
            if let Some((_, data)) = binding {
                let sent = msg.extra.get_str("cbind_data").and_then(base64_decode)?;
                if !constant_time_eq(&sent, data) {
                    return None;
                }
            }
        }
        let proof = base64_decode(&msg.signature)?;
        let am = scram::auth_message(
            self.profile,
            &scram::AuthMessageParts {
                authid: self.authid.as_deref().unwrap_or_default(),
                client_nonce: self.authextra.get_str("nonce").unwrap_or_default(),
                nonce,
                salt,
                iterations,
                channel_binding: binding.as_ref().map(|(k, _)| k.as_str()),
                cbind_data: binding.as_ref().map(|(_, d)| d.as_slice()),
            },
        )
        .ok()?;
        let (stored, server) = keys.unwrap_or(([0u8; 32], [0u8; 32]));
        let ok = scram::verify_client_proof(&stored, &am, &proof);
        (ok && keys.is_some()).then(|| scram::server_signature(&server, &am))
    }

    /// The dynamic authenticator answered.
    pub(crate) fn decided(&mut self, env: &mut Env<'_>, decision: Option<AuthDecision>) -> Step {
        self.ticket = None;
        let principal = match decision {
            Some(AuthDecision::Accept(p)) => *p,
            _ => return Step::Fail(uris::AUTHENTICATION_FAILED),
        };
        match self.stage {
            Stage::Lookup => self.with_principal(env, Some(principal)),
            Stage::Verdict => {
                let received = match std::mem::replace(&mut self.issued, Issued::None) {
                    Issued::Ticket { ticket: Some(t) } => t,
                    _ => return Step::Fail(uris::AUTHENTICATION_FAILED),
                };
                if let Some(t) = &principal.ticket {
                    if !wamp_proto::auth::ticket::verify(t, &received) {
                        return Step::Fail(uris::AUTHENTICATION_FAILED);
                    }
                }
                let id = self.principal_authid(&principal);
                self.welcome(id, principal.authrole, principal.authextra)
            }
            Stage::Challenged => Step::Fail(uris::AUTHENTICATION_FAILED),
        }
    }
}
