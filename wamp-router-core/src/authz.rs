//! Authorization: per-realm roles with permission rules ([`RoleConfig`], [`Permission`]), or a
//! dynamic authorizer per role, with a bounded cache of its answers.
//!
//! A request (CALL, REGISTER, PUBLISH, SUBSCRIBE) is authorized on (realm, authrole, action,
//! URI). For a static role, the **most specific** permission whose URI pattern matches the
//! request's URI decides: an exact rule over the longest matching prefix rule over the
//! best-ranked wildcard rule (the same precedence as call routing). No matching rule: denied.
//! Denied requests get ERROR `wamp.error.not_authorized` (a PUBLISH only if it asked for an
//! acknowledgement). A realm without roles allows everything to everyone and discloses
//! nothing it was not asked to (the default).
//!
//! Permissions also say whether the caller (for `call`) or the publisher (for `publish`) is
//! disclosed to the other side, as Crossbar's `disclose: {caller, publisher}` does.
//!
//! Patterns are matched like the requests' URIs: for a REGISTER or SUBSCRIBE with a pattern,
//! the pattern itself (as a string) is what is authorized.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use wamp_proto::{MatchPolicy, Uri, UriRules};

use crate::auth::ConfigError;
use crate::decision::{Action, AuthzDecision};
use crate::index::{HashSeed, UriIndex};

/// Which actions a permission allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Allow {
    /// CALL.
    pub call: bool,
    /// REGISTER.
    pub register: bool,
    /// PUBLISH.
    pub publish: bool,
    /// SUBSCRIBE.
    pub subscribe: bool,
}

impl Allow {
    /// Every action.
    pub const fn all() -> Self {
        Allow {
            call: true,
            register: true,
            publish: true,
            subscribe: true,
        }
    }
    /// No action.
    pub const fn none() -> Self {
        Allow {
            call: false,
            register: false,
            publish: false,
            subscribe: false,
        }
    }
    /// Whether `action` is allowed.
    pub const fn allows(self, action: Action) -> bool {
        match action {
            Action::Call => self.call,
            Action::Register => self.register,
            Action::Publish => self.publish,
            Action::Subscribe => self.subscribe,
        }
    }
}

/// What a permission discloses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Disclose {
    /// Calls under this permission carry the caller's identity to the callee
    /// (`INVOCATION.Details.caller`, `caller_authid`, `caller_authrole`).
    pub caller: bool,
    /// Publications under this permission carry the publisher's identity to subscribers
    /// (`EVENT.Details.publisher`, `publisher_authid`, `publisher_authrole`).
    pub publisher: bool,
}

/// One permission rule of a role.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Permission {
    /// The URI pattern. With [`MatchPolicy::Prefix`] an empty URI matches everything (Crossbar
    /// writes that rule as `"uri": ""` with `"match": "prefix"`).
    pub uri: String,
    /// How `uri` matches. Default: exact.
    pub match_policy: MatchPolicy,
    /// Allowed actions. Default: none.
    pub allow: Allow,
    /// Disclosure. Default: none.
    pub disclose: Disclose,
}

impl Permission {
    /// A rule for `uri` with `match_policy` allowing `allow`, disclosing nothing.
    pub fn new(uri: impl Into<String>, match_policy: MatchPolicy, allow: Allow) -> Self {
        Permission {
            uri: uri.into(),
            match_policy,
            allow,
            disclose: Disclose::default(),
        }
    }
    /// The same rule, with `disclose`.
    #[must_use]
    pub fn disclosing(mut self, disclose: Disclose) -> Self {
        self.disclose = disclose;
        self
    }
}

/// A role of a realm.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct RoleConfig {
    /// The role name (an `authrole`).
    pub name: String,
    /// The rules (ignored when `dynamic`).
    pub permissions: Vec<Permission>,
    /// Whether this role's requests are authorized by the embedder
    /// ([`crate::DecisionRequest::Authorize`]) instead of `permissions`. Default: `false`.
    pub dynamic: bool,
}

impl RoleConfig {
    /// A static role with `permissions`.
    pub fn new(name: impl Into<String>, permissions: Vec<Permission>) -> Self {
        RoleConfig {
            name: name.into(),
            permissions,
            dynamic: false,
        }
    }
    /// A role authorized by the embedder.
    pub fn dynamic(name: impl Into<String>) -> Self {
        RoleConfig {
            name: name.into(),
            permissions: Vec::new(),
            dynamic: true,
        }
    }
}

pub(crate) fn validate_roles(realm: usize, roles: &[RoleConfig]) -> Result<(), ConfigError> {
    for (ri, r) in roles.iter().enumerate() {
        if roles[..ri].iter().any(|x| x.name == r.name) {
            return Err(ConfigError::DuplicateRole { realm, role: ri });
        }
        for (pi, p) in r.permissions.iter().enumerate() {
            if !pattern_ok(&p.uri, p.match_policy) {
                return Err(ConfigError::PermissionUri {
                    realm,
                    role: ri,
                    permission: pi,
                });
            }
        }
    }
    Ok(())
}

fn pattern_ok(uri: &str, policy: MatchPolicy) -> bool {
    (policy == MatchPolicy::Prefix && uri.is_empty())
        || Uri::from_wire(uri).is_valid_pattern(policy, UriRules::Loose)
}

#[derive(Debug)]
struct Role {
    permissions: Vec<Permission>,
    index: UriIndex<usize>,
    dynamic: bool,
}

/// What the authorizer says about one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Allowed (with disclosure) or denied: decided.
    Decided(AuthzDecision),
    /// Ask the embedder (and maybe cache the answer).
    Ask,
}

/// A realm's compiled roles and the cache of dynamic answers.
#[derive(Debug)]
pub(crate) struct Authorizer {
    /// `None`: no roles configured, everything allowed.
    roles: Option<BTreeMap<Arc<str>, Role>>,
    cache: BTreeMap<(Arc<str>, Action, Uri), AuthzDecision>,
    order: VecDeque<(Arc<str>, Action, Uri)>,
}

impl Authorizer {
    pub(crate) fn new(roles: &[RoleConfig], seed: HashSeed) -> Self {
        if roles.is_empty() {
            return Authorizer {
                roles: None,
                cache: BTreeMap::new(),
                order: VecDeque::new(),
            };
        }
        let mut map = BTreeMap::new();
        for r in roles {
            let mut index = UriIndex::new(seed);
            let mut permissions = Vec::new();
            for p in &r.permissions {
                if !pattern_ok(&p.uri, p.match_policy) {
                    continue;
                }
                // The first rule for a pattern wins (a duplicate is ignored).
                if index.get(p.match_policy, &p.uri).is_none() {
                    index.insert(p.match_policy, Uri::from_wire(&p.uri), permissions.len());
                    permissions.push(p.clone());
                }
            }
            map.entry(Arc::from(r.name.as_str())).or_insert(Role {
                permissions,
                index,
                dynamic: r.dynamic,
            });
        }
        Authorizer {
            roles: Some(map),
            cache: BTreeMap::new(),
            order: VecDeque::new(),
        }
    }

    /// Whether the realm has no roles: everything is allowed, nothing disclosed.
    pub(crate) fn allows_all(&self) -> bool {
        self.roles.is_none()
    }

    /// Whether sessions may join with `authrole` (roles configured: it must be one of them).
    pub(crate) fn has_role(&self, authrole: &str) -> bool {
        self.roles.as_ref().is_none_or(|r| r.contains_key(authrole))
    }

    /// Authorizes `action` on `uri` for `authrole`.
    pub(crate) fn check(&self, authrole: &Arc<str>, action: Action, uri: &Uri) -> Verdict {
        let Some(roles) = &self.roles else {
            return Verdict::Decided(AuthzDecision::allow());
        };
        let Some(role) = roles.get(&**authrole) else {
            return Verdict::Decided(AuthzDecision::deny());
        };
        if role.dynamic {
            return match self.cache.get(&(authrole.clone(), action, uri.clone())) {
                Some(d) => Verdict::Decided(*d),
                None => Verdict::Ask,
            };
        }
        let decision = role
            .index
            .best_match(uri.as_str())
            .and_then(|(i, _)| role.permissions.get(i))
            .map_or(AuthzDecision::deny(), |p| {
                let allow = p.allow.allows(action);
                let disclose = match action {
                    Action::Call => p.disclose.caller,
                    Action::Publish => p.disclose.publisher,
                    Action::Register | Action::Subscribe => false,
                };
                AuthzDecision {
                    allow,
                    disclose: allow && disclose,
                    cache: false,
                }
            });
        Verdict::Decided(decision)
    }

    /// Remembers a dynamic answer (bounded: the oldest entry goes first).
    pub(crate) fn remember(
        &mut self,
        max: usize,
        authrole: &Arc<str>,
        action: Action,
        uri: &Uri,
        d: AuthzDecision,
    ) {
        if max == 0 {
            return;
        }
        let key = (authrole.clone(), action, uri.clone());
        if self.cache.insert(key.clone(), d).is_none() {
            self.order.push_back(key);
        }
        while self.cache.len() > max {
            let Some(old) = self.order.pop_front() else {
                break;
            };
            self.cache.remove(&old);
        }
    }

    /// Forgets cached answers (all, or one role's).
    pub(crate) fn invalidate(&mut self, authrole: Option<&str>) {
        match authrole {
            None => {
                self.cache.clear();
                self.order.clear();
            }
            Some(role) => {
                self.cache.retain(|k, _| &*k.0 != role);
                self.order.retain(|k| &*k.0 != role);
            }
        }
    }

    /// Cached answers.
    pub(crate) fn cached(&self) -> usize {
        self.cache.len()
    }
}
