//! The URIs the router sends.

/// ABORT reason for any message illegal in the session's state.
pub const PROTOCOL_VIOLATION: &str = "wamp.error.protocol_violation";
/// ABORT reason for a HELLO naming a realm that does not exist.
pub const NO_SUCH_REALM: &str = "wamp.error.no_such_realm";
/// ERROR for a malformed URI in a request.
pub const INVALID_URI: &str = "wamp.error.invalid_uri";
/// ERROR for an option value the router does not accept.
pub const INVALID_ARGUMENT: &str = "wamp.error.invalid_argument";
/// ERROR for a request that is not allowed (also: a per-session limit is reached).
pub const NOT_AUTHORIZED: &str = "wamp.error.not_authorized";
/// ERROR(34) for an unknown subscription.
pub const NO_SUCH_SUBSCRIPTION: &str = "wamp.error.no_such_subscription";
/// ERROR(66) for an unknown registration.
pub const NO_SUCH_REGISTRATION: &str = "wamp.error.no_such_registration";
/// ERROR(48) when no registration matches.
pub const NO_SUCH_PROCEDURE: &str = "wamp.error.no_such_procedure";
/// ERROR(64) when the procedure is registered already (or by `single` policy).
pub const PROCEDURE_ALREADY_EXISTS: &str = "wamp.error.procedure_already_exists";
/// ERROR(64) when joining a shared registration with another invocation policy (Crossbar's URI).
pub const PROCEDURE_EXISTS_WITH_DIFFERENT_INVOCATION_POLICY: &str =
    "wamp.error.procedure_exists_with_different_invocation_policy";
/// ERROR(48) for a canceled call, and for calls whose callee left.
pub const CANCELED: &str = "wamp.error.canceled";
/// ERROR(48) for a call the router timed out; INTERRUPT reason too.
pub const TIMEOUT: &str = "wamp.error.timeout";
/// ERROR(48) when the callee lacks a feature the call needs.
pub const FEATURE_NOT_SUPPORTED: &str = "wamp.error.feature_not_supported";
/// ERROR(48) when the chosen callee has too many invocations pending.
pub const NO_AVAILABLE_CALLEE: &str = "wamp.error.no_available_callee";
/// ABORT reason for an oversize message.
pub const PAYLOAD_SIZE_EXCEEDED: &str = "wamp.error.payload_size_exceeded";
/// GOODBYE reply reason.
pub const GOODBYE_AND_OUT: &str = "wamp.close.goodbye_and_out";
/// Default revocation reason (Crossbar's).
pub const UNREGISTERED: &str = "wamp.error.unregistered";
/// Default subscription revocation reason.
pub const UNSUBSCRIBED: &str = "wamp.error.unsubscribed";
/// ABORT reason when none of the client's authentication methods is available.
pub const NO_MATCHING_AUTH_METHOD: &str = "wamp.error.no_matching_auth_method";
/// GOODBYE reason when the router shuts down.
pub const SYSTEM_SHUTDOWN: &str = "wamp.close.system_shutdown";
/// ABORT reason when none of the client's authentication methods is offered (Autobahn's and
/// Crossbar's URI).
pub const NO_AUTH_METHOD: &str = "wamp.error.no_auth_method";
/// ABORT reason for any failed authentication (unknown authid, wrong secret or key, bad
/// signature, denied, timed out).
pub const AUTHENTICATION_FAILED: &str = "wamp.error.authentication_failed";
/// ABORT reason when the authenticated role does not exist in the realm.
pub const NO_SUCH_ROLE: &str = "wamp.error.no_such_role";
/// ERROR when the dynamic authorizer did not answer (in time), or too many decisions are
/// pending.
pub const AUTHORIZATION_FAILED: &str = "wamp.error.authorization_failed";
/// ERROR of the session meta API for an unknown session (and for killing one's own).
pub const NO_SUCH_SESSION: &str = "wamp.error.no_such_session";
/// Default GOODBYE reason of the meta API's kill procedures.
pub const KILLED: &str = "wamp.close.killed";
/// ERROR of `wamp.session.add_testament` / `flush_testaments` (bad scope, too many).
pub const TESTAMENT_ERROR: &str = "wamp.error.testament_error";
/// ERROR of `wamp.subscription.get_events` when the subscription keeps no history
/// (Crossbar's URI).
pub const HISTORY_UNAVAILABLE: &str = "wamp.error.history_unavailable";
