//! [`ProtocolViolation`]: a well-formed message at the wrong moment.

/// Why a session was aborted with `wamp.error.protocol_violation`. The text goes into
/// `ABORT.Details.message`; it never contains peer-supplied data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProtocolViolation {
    /// The first message of a session was not HELLO.
    #[error("expected HELLO")]
    ExpectedHello,
    /// Something other than AUTHENTICATE (or ABORT) while authenticating, or AUTHENTICATE
    /// when no CHALLENGE is waiting for it.
    #[error("expected AUTHENTICATE")]
    ExpectedAuthenticate,
    /// HELLO without a valid `roles` dict, or with a non-bool known feature.
    #[error("malformed HELLO")]
    MalformedHello,
    /// HELLO with a realm that is not a valid URI.
    #[error("invalid realm URI")]
    InvalidRealm,
    /// HELLO, WELCOME, CHALLENGE or AUTHENTICATE inside an established session.
    #[error("session already established")]
    AlreadyEstablished,
    /// A message only a router sends (WELCOME, EVENT, RESULT, ...).
    #[error("message not allowed from a client")]
    RouterMessage,
    /// An ERROR for a request type other than INVOCATION.
    #[error("ERROR must answer an INVOCATION")]
    InvalidErrorType,
    /// A YIELD or ERROR for an INVOCATION that was never sent.
    #[error("reply to an unknown INVOCATION")]
    UnknownInvocation,
    /// A request ID out of sequence (strict request IDs).
    #[error("request ID out of sequence")]
    RequestIdSequence,
    /// A new CALL reusing the ID of a call still pending.
    #[error("request ID of a pending call reused")]
    DuplicateRequestId,
    /// A progressive CALL from a caller that did not announce progressive call invocations.
    #[error("progressive call invocations not announced")]
    ProgressNotAnnounced,
    /// A progressive CALL continuation naming another procedure.
    #[error("progressive CALL continuation for another procedure")]
    ProgressProcedureMismatch,
    /// The message could not be decoded.
    #[error("malformed message")]
    Malformed,
}
