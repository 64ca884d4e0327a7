//! Errors, typed by who is to blame.
//!
//! [`DecodeError`]: the peer's bytes are malformed. [`EncodeError`]: a local message cannot be
//! written with the chosen serializer. Neither ever carries attacker-controlled text.

use crate::message::MessageKind;

/// The peer sent bytes that are not a valid WAMP message.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The bytes are not valid for the serializer (syntax error, truncated, trailing bytes,
    /// invalid UTF-8, unsupported type marker).
    #[error("malformed {0} data")]
    Syntax(&'static str),
    /// The message is not a list.
    #[error("a WAMP message must be a list")]
    NotAList,
    /// The message list is empty.
    #[error("empty message list")]
    Empty,
    /// The first element is not a non-negative integer.
    #[error("message type must be an integer")]
    InvalidMessageType,
    /// The message type code is not one we know.
    #[error("unknown message type {0}")]
    UnknownMessageType(u64),
    /// The message has a number of elements its type does not allow.
    #[error("{kind:?} cannot have {len} elements")]
    WrongArity {
        /// The message type.
        kind: MessageKind,
        /// The number of elements received.
        len: usize,
    },
    /// An element has the wrong type.
    #[error("{kind:?} element {index} must be {expected}")]
    InvalidElement {
        /// The message type.
        kind: MessageKind,
        /// Position of the element in the message list (0 is the type code).
        index: usize,
        /// What the element must be.
        expected: &'static str,
    },
    /// An ID outside [1, 2^53].
    #[error("{kind:?} element {index} is not an ID in [1, 2^53]")]
    InvalidId {
        /// The message type.
        kind: MessageKind,
        /// Position of the element.
        index: usize,
    },
    /// A predefined option or detail key carries a value of the wrong type.
    #[error("{kind:?} option {key} must be {expected}")]
    InvalidOption {
        /// The message type.
        kind: MessageKind,
        /// The (predefined, static) key.
        key: &'static str,
        /// What the value must be.
        expected: &'static str,
    },
    /// ERROR names a request type that has no error flow.
    #[error("ERROR for request type {0} is not allowed")]
    InvalidErrorRequestType(u64),
    /// A dictionary key is not a string.
    #[error("dictionary keys must be strings")]
    NonStringKey,
    /// A dictionary holds the same key twice.
    #[error("duplicate dictionary key")]
    DuplicateKey,
    /// Nesting deeper than the configured limit.
    #[error("nesting too deep")]
    TooDeep,
    /// More values than the configured limit.
    #[error("too many elements")]
    TooManyElements,
    /// An integer outside the i64/u64 range.
    #[error("integer out of range")]
    IntegerOutOfRange,
    /// A JSON string with the binary prefix U+0000 whose rest is not valid base64.
    #[error("invalid base64 after the binary prefix")]
    InvalidBinaryString,
    /// The message is larger than the configured maximum.
    #[error("message of {size} bytes exceeds the limit of {limit}")]
    TooLarge {
        /// Size received.
        size: usize,
        /// Configured limit.
        limit: usize,
    },
    /// A batched transport message is malformed (empty batch, bad length prefix).
    #[error("malformed batch")]
    InvalidBatch,
}

/// A message cannot be written with the chosen serializer.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// JSON cannot carry the message: a NaN or infinite float, or a text string that starts
    /// with U+0000 (JSON's binary convention reserves that prefix for bytes). A router drops
    /// such a message for a JSON peer; MessagePack, CBOR and UBJSON carry both.
    #[error("JSON cannot carry a non-finite float or a text string starting with U+0000")]
    JsonUnrepresentable,
    /// The encoded message is larger than the peer accepts.
    #[error("encoded message of {size} bytes exceeds the limit of {limit}")]
    TooLarge {
        /// Encoded size.
        size: usize,
        /// The peer's limit.
        limit: usize,
    },
    /// Any other serializer failure (should not happen for valid messages).
    #[error("{0} encoder failed")]
    Serializer(&'static str),
}
