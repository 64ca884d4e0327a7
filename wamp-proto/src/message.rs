//! Every WAMP message of the Basic and Advanced Profiles, with typed fields.
//!
//! Decoding dispatches on `(type code, number of elements)` and checks every element's type;
//! the predefined option/detail keys of the messages that carry them are type-checked too
//! (the official test vectors require it). Unknown keys are kept and ignored, as the spec says.
//! Encoding omits an empty `Arguments` list when there is no `ArgumentsKw`, and an empty
//! `ArgumentsKw` always, as the spec recommends.

use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde::ser::SerializeSeq;
use serde::{Deserializer, Serialize, Serializer};

use crate::error::DecodeError;
use crate::id::{MAX_ID, PublicationId, RegistrationId, RequestId, SessionId, SubscriptionId};
use crate::uri::Uri;
use crate::value::{
    DecodeLimits, DecodeState, Dict, List, SliceSer, Value, serialize_bytes, visit_dict, visit_list,
};

/// The type code of each message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum MessageKind {
    /// HELLO (1)
    Hello,
    /// WELCOME (2)
    Welcome,
    /// ABORT (3)
    Abort,
    /// CHALLENGE (4)
    Challenge,
    /// AUTHENTICATE (5)
    Authenticate,
    /// GOODBYE (6)
    Goodbye,
    /// ERROR (8)
    Error,
    /// PUBLISH (16)
    Publish,
    /// PUBLISHED (17)
    Published,
    /// SUBSCRIBE (32)
    Subscribe,
    /// SUBSCRIBED (33)
    Subscribed,
    /// UNSUBSCRIBE (34)
    Unsubscribe,
    /// UNSUBSCRIBED (35)
    Unsubscribed,
    /// EVENT (36)
    Event,
    /// CALL (48)
    Call,
    /// CANCEL (49)
    Cancel,
    /// RESULT (50)
    Result,
    /// REGISTER (64)
    Register,
    /// REGISTERED (65)
    Registered,
    /// UNREGISTER (66)
    Unregister,
    /// UNREGISTERED (67)
    Unregistered,
    /// INVOCATION (68)
    Invocation,
    /// INTERRUPT (69)
    Interrupt,
    /// YIELD (70)
    Yield,
    /// EVENT_RECEIVED (337, provisional: acknowledged event delivery)
    EventReceived,
}

impl MessageKind {
    /// Every kind, in code order.
    pub const ALL: [MessageKind; 25] = [
        MessageKind::Hello,
        MessageKind::Welcome,
        MessageKind::Abort,
        MessageKind::Challenge,
        MessageKind::Authenticate,
        MessageKind::Goodbye,
        MessageKind::Error,
        MessageKind::Publish,
        MessageKind::Published,
        MessageKind::Subscribe,
        MessageKind::Subscribed,
        MessageKind::Unsubscribe,
        MessageKind::Unsubscribed,
        MessageKind::Event,
        MessageKind::Call,
        MessageKind::Cancel,
        MessageKind::Result,
        MessageKind::Register,
        MessageKind::Registered,
        MessageKind::Unregister,
        MessageKind::Unregistered,
        MessageKind::Invocation,
        MessageKind::Interrupt,
        MessageKind::Yield,
        MessageKind::EventReceived,
    ];

    /// The wire code.
    pub const fn code(self) -> u64 {
        match self {
            MessageKind::Hello => 1,
            MessageKind::Welcome => 2,
            MessageKind::Abort => 3,
            MessageKind::Challenge => 4,
            MessageKind::Authenticate => 5,
            MessageKind::Goodbye => 6,
            MessageKind::Error => 8,
            MessageKind::Publish => 16,
            MessageKind::Published => 17,
            MessageKind::Subscribe => 32,
            MessageKind::Subscribed => 33,
            MessageKind::Unsubscribe => 34,
            MessageKind::Unsubscribed => 35,
            MessageKind::Event => 36,
            MessageKind::Call => 48,
            MessageKind::Cancel => 49,
            MessageKind::Result => 50,
            MessageKind::Register => 64,
            MessageKind::Registered => 65,
            MessageKind::Unregister => 66,
            MessageKind::Unregistered => 67,
            MessageKind::Invocation => 68,
            MessageKind::Interrupt => 69,
            MessageKind::Yield => 70,
            MessageKind::EventReceived => 337,
        }
    }

    /// The kind for a wire code.
    pub fn from_code(code: u64) -> Option<Self> {
        Self::ALL.iter().copied().find(|k| k.code() == code)
    }

    /// The spec's upper-case name.
    pub const fn name(self) -> &'static str {
        match self {
            MessageKind::Hello => "HELLO",
            MessageKind::Welcome => "WELCOME",
            MessageKind::Abort => "ABORT",
            MessageKind::Challenge => "CHALLENGE",
            MessageKind::Authenticate => "AUTHENTICATE",
            MessageKind::Goodbye => "GOODBYE",
            MessageKind::Error => "ERROR",
            MessageKind::Publish => "PUBLISH",
            MessageKind::Published => "PUBLISHED",
            MessageKind::Subscribe => "SUBSCRIBE",
            MessageKind::Subscribed => "SUBSCRIBED",
            MessageKind::Unsubscribe => "UNSUBSCRIBE",
            MessageKind::Unsubscribed => "UNSUBSCRIBED",
            MessageKind::Event => "EVENT",
            MessageKind::Call => "CALL",
            MessageKind::Cancel => "CANCEL",
            MessageKind::Result => "RESULT",
            MessageKind::Register => "REGISTER",
            MessageKind::Registered => "REGISTERED",
            MessageKind::Unregister => "UNREGISTER",
            MessageKind::Unregistered => "UNREGISTERED",
            MessageKind::Invocation => "INVOCATION",
            MessageKind::Interrupt => "INTERRUPT",
            MessageKind::Yield => "YIELD",
            MessageKind::EventReceived => "EVENT_RECEIVED",
        }
    }

    /// Whether an ERROR may name this kind as its request type.
    pub const fn has_error_flow(self) -> bool {
        matches!(
            self,
            MessageKind::Subscribe
                | MessageKind::Unsubscribe
                | MessageKind::Publish
                | MessageKind::Register
                | MessageKind::Unregister
                | MessageKind::Call
                | MessageKind::Invocation
        )
    }
}

/// The application payload: positional and keyword arguments, or (payload passthru / Autobahn
/// end-to-end encryption) one opaque binary element in place of the arguments.
#[derive(Clone, Debug, PartialEq)]
pub enum Payload {
    /// `Arguments|list` and `ArgumentsKw|dict` (either may be empty).
    Args {
        /// Positional arguments.
        args: List,
        /// Keyword arguments.
        kwargs: Dict,
    },
    /// An opaque binary payload sent where `Arguments` would be (Autobahn's transparent
    /// payload mode). Routers forward it untouched.
    Transparent(Vec<u8>),
}

impl Default for Payload {
    fn default() -> Self {
        Payload::empty()
    }
}

impl Payload {
    /// No arguments.
    pub const fn empty() -> Self {
        Payload::Args {
            args: Vec::new(),
            kwargs: Dict::new(),
        }
    }
    /// Positional and keyword arguments.
    pub fn new(args: List, kwargs: Dict) -> Self {
        Payload::Args { args, kwargs }
    }
    /// Positional arguments only.
    pub fn args(args: List) -> Self {
        Payload::Args {
            args,
            kwargs: Dict::new(),
        }
    }
    /// Whether nothing would be sent.
    pub fn is_empty(&self) -> bool {
        matches!(self, Payload::Args { args, kwargs } if args.is_empty() && kwargs.is_empty())
    }
    /// The positional arguments (empty for a transparent payload).
    pub fn arguments(&self) -> &[Value] {
        match self {
            Payload::Args { args, .. } => args,
            Payload::Transparent(_) => &[],
        }
    }
    /// The keyword arguments, if this is not a transparent payload.
    pub fn keyword_arguments(&self) -> Option<&Dict> {
        match self {
            Payload::Args { kwargs, .. } => Some(kwargs),
            Payload::Transparent(_) => None,
        }
    }
    /// How many trailing elements the payload adds to a message.
    fn wire_len(&self) -> usize {
        match self {
            Payload::Transparent(_) => 1,
            Payload::Args { kwargs, .. } if !kwargs.is_empty() => 2,
            Payload::Args { args, .. } if !args.is_empty() => 1,
            Payload::Args { .. } => 0,
        }
    }
    fn serialize_into<S: SerializeSeq>(&self, seq: &mut S) -> Result<(), S::Error> {
        match self {
            Payload::Transparent(b) => seq.serialize_element(&BytesSer(b)),
            Payload::Args { args, kwargs } => {
                if !kwargs.is_empty() {
                    seq.serialize_element(&SliceSer(args))?;
                    seq.serialize_element(kwargs)
                } else if !args.is_empty() {
                    seq.serialize_element(&SliceSer(args))
                } else {
                    Ok(())
                }
            }
        }
    }
}

struct BytesSer<'a>(&'a [u8]);
impl Serialize for BytesSer<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serialize_bytes(self.0, s)
    }
}

/// `[HELLO, Realm|uri, Details|dict]`
#[derive(Clone, Debug, PartialEq)]
pub struct Hello {
    /// The realm to join.
    pub realm: Uri,
    /// Roles, features, agent, authentication methods.
    pub details: Dict,
}

/// `[WELCOME, Session|id, Details|dict]`
#[derive(Clone, Debug, PartialEq)]
pub struct Welcome {
    /// The new session's ID.
    pub session: SessionId,
    /// Router roles, features and the authentication outcome.
    pub details: Dict,
}

/// `[ABORT, Details|dict, Reason|uri, Arguments|list?, ArgumentsKw|dict?]`
#[derive(Clone, Debug, PartialEq)]
pub struct Abort {
    /// Details, e.g. `{"message": "..."}`.
    pub details: Dict,
    /// The reason URI.
    pub reason: Uri,
    /// Optional payload.
    pub payload: Payload,
}

/// `[CHALLENGE, AuthMethod|string, Extra|dict]`
#[derive(Clone, Debug, PartialEq)]
pub struct Challenge {
    /// The authentication method.
    pub auth_method: String,
    /// Method-specific data.
    pub extra: Dict,
}

/// `[AUTHENTICATE, Signature|string, Extra|dict]`
#[derive(Clone, Debug, PartialEq)]
pub struct Authenticate {
    /// The signature or ticket.
    pub signature: String,
    /// Method-specific data.
    pub extra: Dict,
}

/// `[GOODBYE, Details|dict, Reason|uri]`
#[derive(Clone, Debug, PartialEq)]
pub struct Goodbye {
    /// Details, e.g. `{"message": "..."}`.
    pub details: Dict,
    /// The reason URI.
    pub reason: Uri,
}

/// `[ERROR, REQUEST.Type|int, REQUEST.Request|id, Details|dict, Error|uri, Arguments?, ArgumentsKw?]`
#[derive(Clone, Debug, PartialEq)]
pub struct Error {
    /// The type of the failed request (one with an error flow).
    pub request_type: MessageKind,
    /// The failed request's ID.
    pub request: RequestId,
    /// Details.
    pub details: Dict,
    /// The error URI.
    pub error: Uri,
    /// Optional payload.
    pub payload: Payload,
}

/// `[PUBLISH, Request|id, Options|dict, Topic|uri, Arguments?, ArgumentsKw?]`
#[derive(Clone, Debug, PartialEq)]
pub struct Publish {
    /// Request ID.
    pub request: RequestId,
    /// Options.
    pub options: Dict,
    /// Topic.
    pub topic: Uri,
    /// Payload.
    pub payload: Payload,
}

/// `[PUBLISHED, PUBLISH.Request|id, Publication|id]`
#[derive(Clone, Debug, PartialEq)]
pub struct Published {
    /// The PUBLISH request ID.
    pub request: RequestId,
    /// The publication ID.
    pub publication: PublicationId,
}

/// `[SUBSCRIBE, Request|id, Options|dict, Topic|uri]`
#[derive(Clone, Debug, PartialEq)]
pub struct Subscribe {
    /// Request ID.
    pub request: RequestId,
    /// Options.
    pub options: Dict,
    /// Topic or pattern.
    pub topic: Uri,
}

/// `[SUBSCRIBED, SUBSCRIBE.Request|id, Subscription|id]`
#[derive(Clone, Debug, PartialEq)]
pub struct Subscribed {
    /// The SUBSCRIBE request ID.
    pub request: RequestId,
    /// The subscription ID.
    pub subscription: SubscriptionId,
}

/// `[UNSUBSCRIBE, Request|id, SUBSCRIBED.Subscription|id]`
#[derive(Clone, Debug, PartialEq)]
pub struct Unsubscribe {
    /// Request ID.
    pub request: RequestId,
    /// The subscription to end.
    pub subscription: SubscriptionId,
}

/// `[UNSUBSCRIBED, UNSUBSCRIBE.Request|id]`, or the router-initiated revocation
/// `[UNSUBSCRIBED, 0, Details|dict]` (`request: None`).
#[derive(Clone, Debug, PartialEq)]
pub struct Unsubscribed {
    /// The UNSUBSCRIBE request ID; `None` for a revocation.
    pub request: Option<RequestId>,
    /// Details (`subscription`, `reason`) for a revocation.
    pub details: Dict,
}

/// `[EVENT, Subscription|id, Publication|id, Details|dict, Arguments?, ArgumentsKw?]`
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    /// The subscription.
    pub subscription: SubscriptionId,
    /// The publication.
    pub publication: PublicationId,
    /// Details.
    pub details: Dict,
    /// Payload.
    pub payload: Payload,
}

/// `[CALL, Request|id, Options|dict, Procedure|uri, Arguments?, ArgumentsKw?]`
#[derive(Clone, Debug, PartialEq)]
pub struct Call {
    /// Request ID.
    pub request: RequestId,
    /// Options.
    pub options: Dict,
    /// Procedure.
    pub procedure: Uri,
    /// Payload.
    pub payload: Payload,
}

/// `[CANCEL, CALL.Request|id, Options|dict]`
#[derive(Clone, Debug, PartialEq)]
pub struct Cancel {
    /// The CALL request ID.
    pub request: RequestId,
    /// Options (`mode`).
    pub options: Dict,
}

/// `[RESULT, CALL.Request|id, Details|dict, Arguments?, ArgumentsKw?]`
#[derive(Clone, Debug, PartialEq)]
pub struct CallResult {
    /// The CALL request ID.
    pub request: RequestId,
    /// Details (`progress`).
    pub details: Dict,
    /// Payload.
    pub payload: Payload,
}

/// `[REGISTER, Request|id, Options|dict, Procedure|uri]`
#[derive(Clone, Debug, PartialEq)]
pub struct Register {
    /// Request ID.
    pub request: RequestId,
    /// Options.
    pub options: Dict,
    /// Procedure or pattern.
    pub procedure: Uri,
}

/// `[REGISTERED, REGISTER.Request|id, Registration|id]`
#[derive(Clone, Debug, PartialEq)]
pub struct Registered {
    /// The REGISTER request ID.
    pub request: RequestId,
    /// The registration ID.
    pub registration: RegistrationId,
}

/// `[UNREGISTER, Request|id, REGISTERED.Registration|id]`
#[derive(Clone, Debug, PartialEq)]
pub struct Unregister {
    /// Request ID.
    pub request: RequestId,
    /// The registration to end.
    pub registration: RegistrationId,
}

/// `[UNREGISTERED, UNREGISTER.Request|id]`, or the router-initiated revocation
/// `[UNREGISTERED, 0, Details|dict]` (`request: None`).
#[derive(Clone, Debug, PartialEq)]
pub struct Unregistered {
    /// The UNREGISTER request ID; `None` for a revocation.
    pub request: Option<RequestId>,
    /// Details (`registration`, `reason`) for a revocation.
    pub details: Dict,
}

/// `[INVOCATION, Request|id, REGISTERED.Registration|id, Details|dict, Arguments?, ArgumentsKw?]`
#[derive(Clone, Debug, PartialEq)]
pub struct Invocation {
    /// Request ID (router to callee sequence).
    pub request: RequestId,
    /// The registration.
    pub registration: RegistrationId,
    /// Details.
    pub details: Dict,
    /// Payload.
    pub payload: Payload,
}

/// `[INTERRUPT, INVOCATION.Request|id, Options|dict]`
#[derive(Clone, Debug, PartialEq)]
pub struct Interrupt {
    /// The INVOCATION request ID.
    pub request: RequestId,
    /// Options (`mode`, `reason`).
    pub options: Dict,
}

/// `[YIELD, INVOCATION.Request|id, Options|dict, Arguments?, ArgumentsKw?]`
#[derive(Clone, Debug, PartialEq)]
pub struct Yield {
    /// The INVOCATION request ID.
    pub request: RequestId,
    /// Options (`progress`).
    pub options: Dict,
    /// Payload.
    pub payload: Payload,
}

/// `[EVENT_RECEIVED, EVENT.Publication|id]` (provisional code 337).
#[derive(Clone, Debug, PartialEq)]
pub struct EventReceived {
    /// The acknowledged publication.
    pub publication: PublicationId,
}

/// One WAMP message.
#[derive(Clone, Debug, PartialEq)]
#[allow(missing_docs)]
pub enum Message {
    Hello(Hello),
    Welcome(Welcome),
    Abort(Abort),
    Challenge(Challenge),
    Authenticate(Authenticate),
    Goodbye(Goodbye),
    Error(Error),
    Publish(Publish),
    Published(Published),
    Subscribe(Subscribe),
    Subscribed(Subscribed),
    Unsubscribe(Unsubscribe),
    Unsubscribed(Unsubscribed),
    Event(Event),
    Call(Call),
    Cancel(Cancel),
    Result(CallResult),
    Register(Register),
    Registered(Registered),
    Unregister(Unregister),
    Unregistered(Unregistered),
    Invocation(Invocation),
    Interrupt(Interrupt),
    Yield(Yield),
    EventReceived(EventReceived),
}

macro_rules! impl_from {
    ($($v:ident),*) => {$(
        impl From<$v> for Message {
            fn from(m: $v) -> Message { Message::$v(m) }
        }
    )*};
}
impl_from!(
    Hello,
    Welcome,
    Abort,
    Challenge,
    Authenticate,
    Goodbye,
    Error,
    Publish,
    Published,
    Subscribe,
    Subscribed,
    Unsubscribe,
    Unsubscribed,
    Event,
    Call,
    Cancel,
    Register,
    Registered,
    Unregister,
    Unregistered,
    Invocation,
    Interrupt,
    Yield,
    EventReceived
);
impl From<CallResult> for Message {
    fn from(m: CallResult) -> Message {
        Message::Result(m)
    }
}

impl Message {
    /// The message's type.
    pub fn kind(&self) -> MessageKind {
        match self {
            Message::Hello(_) => MessageKind::Hello,
            Message::Welcome(_) => MessageKind::Welcome,
            Message::Abort(_) => MessageKind::Abort,
            Message::Challenge(_) => MessageKind::Challenge,
            Message::Authenticate(_) => MessageKind::Authenticate,
            Message::Goodbye(_) => MessageKind::Goodbye,
            Message::Error(_) => MessageKind::Error,
            Message::Publish(_) => MessageKind::Publish,
            Message::Published(_) => MessageKind::Published,
            Message::Subscribe(_) => MessageKind::Subscribe,
            Message::Subscribed(_) => MessageKind::Subscribed,
            Message::Unsubscribe(_) => MessageKind::Unsubscribe,
            Message::Unsubscribed(_) => MessageKind::Unsubscribed,
            Message::Event(_) => MessageKind::Event,
            Message::Call(_) => MessageKind::Call,
            Message::Cancel(_) => MessageKind::Cancel,
            Message::Result(_) => MessageKind::Result,
            Message::Register(_) => MessageKind::Register,
            Message::Registered(_) => MessageKind::Registered,
            Message::Unregister(_) => MessageKind::Unregister,
            Message::Unregistered(_) => MessageKind::Unregistered,
            Message::Invocation(_) => MessageKind::Invocation,
            Message::Interrupt(_) => MessageKind::Interrupt,
            Message::Yield(_) => MessageKind::Yield,
            Message::EventReceived(_) => MessageKind::EventReceived,
        }
    }

    /// The message as a [`Value`] list, as it would be serialized.
    pub fn to_value(&self) -> Value {
        let mut out: List = Vec::with_capacity(7);
        out.push(Value::UInt(self.kind().code()));
        let mut push = |v: Value| out.push(v);
        let payload = |p: &Payload, push: &mut dyn FnMut(Value)| match p {
            Payload::Transparent(b) => push(Value::Bytes(b.clone())),
            Payload::Args { args, kwargs } => {
                if !kwargs.is_empty() {
                    push(Value::List(args.clone()));
                    push(Value::Dict(kwargs.clone()));
                } else if !args.is_empty() {
                    push(Value::List(args.clone()));
                }
            }
        };
        let uri = |u: &Uri| Value::Str(u.as_str().to_owned());
        match self {
            Message::Hello(m) => {
                push(uri(&m.realm));
                push(m.details.clone().into());
            }
            Message::Welcome(m) => {
                push(m.session.into());
                push(m.details.clone().into());
            }
            Message::Abort(m) => {
                push(m.details.clone().into());
                push(uri(&m.reason));
                payload(&m.payload, &mut push);
            }
            Message::Challenge(m) => {
                push(m.auth_method.clone().into());
                push(m.extra.clone().into());
            }
            Message::Authenticate(m) => {
                push(m.signature.clone().into());
                push(m.extra.clone().into());
            }
            Message::Goodbye(m) => {
                push(m.details.clone().into());
                push(uri(&m.reason));
            }
            Message::Error(m) => {
                push(Value::UInt(m.request_type.code()));
                push(m.request.into());
                push(m.details.clone().into());
                push(uri(&m.error));
                payload(&m.payload, &mut push);
            }
            Message::Publish(m) => {
                push(m.request.into());
                push(m.options.clone().into());
                push(uri(&m.topic));
                payload(&m.payload, &mut push);
            }
            Message::Published(m) => {
                push(m.request.into());
                push(m.publication.into());
            }
            Message::Subscribe(m) => {
                push(m.request.into());
                push(m.options.clone().into());
                push(uri(&m.topic));
            }
            Message::Subscribed(m) => {
                push(m.request.into());
                push(m.subscription.into());
            }
            Message::Unsubscribe(m) => {
                push(m.request.into());
                push(m.subscription.into());
            }
            Message::Unsubscribed(m) => revocation_value(m.request, &m.details, &mut push),
            Message::Event(m) => {
                push(m.subscription.into());
                push(m.publication.into());
                push(m.details.clone().into());
                payload(&m.payload, &mut push);
            }
            Message::Call(m) => {
                push(m.request.into());
                push(m.options.clone().into());
                push(uri(&m.procedure));
                payload(&m.payload, &mut push);
            }
            Message::Cancel(m) => {
                push(m.request.into());
                push(m.options.clone().into());
            }
            Message::Result(m) => {
                push(m.request.into());
                push(m.details.clone().into());
                payload(&m.payload, &mut push);
            }
            Message::Register(m) => {
                push(m.request.into());
                push(m.options.clone().into());
                push(uri(&m.procedure));
            }
            Message::Registered(m) => {
                push(m.request.into());
                push(m.registration.into());
            }
            Message::Unregister(m) => {
                push(m.request.into());
                push(m.registration.into());
            }
            Message::Unregistered(m) => revocation_value(m.request, &m.details, &mut push),
            Message::Invocation(m) => {
                push(m.request.into());
                push(m.registration.into());
                push(m.details.clone().into());
                payload(&m.payload, &mut push);
            }
            Message::Interrupt(m) => {
                push(m.request.into());
                push(m.options.clone().into());
            }
            Message::Yield(m) => {
                push(m.request.into());
                push(m.options.clone().into());
                payload(&m.payload, &mut push);
            }
            Message::EventReceived(m) => push(m.publication.into()),
        }
        Value::List(out)
    }

    /// Builds a message from its [`Value`] list form (the inverse of [`Message::to_value`]),
    /// with the same checks as decoding bytes.
    pub fn from_value(v: &Value) -> Result<Message, DecodeError> {
        crate::serializer::decode_with(v, DecodeLimits::default())
    }
}

fn revocation_value(request: Option<RequestId>, details: &Dict, push: &mut dyn FnMut(Value)) {
    match request {
        Some(r) if details.is_empty() => push(r.into()),
        Some(r) => {
            push(r.into());
            push(details.clone().into());
        }
        None => {
            push(Value::UInt(0));
            push(details.clone().into());
        }
    }
}

impl fmt::Display for MessageKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

// ---------------------------------------------------------------------------------------------
// Serialize
// ---------------------------------------------------------------------------------------------

impl Serialize for Message {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (fixed, payload): (usize, Option<&Payload>) = match self {
            Message::Hello(_)
            | Message::Welcome(_)
            | Message::Challenge(_)
            | Message::Authenticate(_)
            | Message::Goodbye(_)
            | Message::Published(_)
            | Message::Subscribed(_)
            | Message::Unsubscribe(_)
            | Message::Cancel(_)
            | Message::Registered(_)
            | Message::Unregister(_)
            | Message::Interrupt(_) => (3, None),
            Message::Subscribe(_) | Message::Register(_) => (4, None),
            Message::EventReceived(_) => (2, None),
            Message::Unsubscribed(m) => (revocation_len(m.request, &m.details), None),
            Message::Unregistered(m) => (revocation_len(m.request, &m.details), None),
            Message::Abort(m) => (3, Some(&m.payload)),
            Message::Error(m) => (5, Some(&m.payload)),
            Message::Publish(m) => (4, Some(&m.payload)),
            Message::Event(m) => (4, Some(&m.payload)),
            Message::Call(m) => (4, Some(&m.payload)),
            Message::Result(m) => (3, Some(&m.payload)),
            Message::Invocation(m) => (4, Some(&m.payload)),
            Message::Yield(m) => (3, Some(&m.payload)),
        };
        let len = fixed + payload.map_or(0, Payload::wire_len);
        let mut seq = s.serialize_seq(Some(len))?;
        seq.serialize_element(&self.kind().code())?;
        match self {
            Message::Hello(m) => {
                seq.serialize_element(m.realm.as_str())?;
                seq.serialize_element(&m.details)?;
            }
            Message::Welcome(m) => {
                seq.serialize_element(&m.session.get())?;
                seq.serialize_element(&m.details)?;
            }
            Message::Abort(m) => {
                seq.serialize_element(&m.details)?;
                seq.serialize_element(m.reason.as_str())?;
            }
            Message::Challenge(m) => {
                seq.serialize_element(&m.auth_method)?;
                seq.serialize_element(&m.extra)?;
            }
            Message::Authenticate(m) => {
                seq.serialize_element(&m.signature)?;
                seq.serialize_element(&m.extra)?;
            }
            Message::Goodbye(m) => {
                seq.serialize_element(&m.details)?;
                seq.serialize_element(m.reason.as_str())?;
            }
            Message::Error(m) => {
                seq.serialize_element(&m.request_type.code())?;
                seq.serialize_element(&m.request.get())?;
                seq.serialize_element(&m.details)?;
                seq.serialize_element(m.error.as_str())?;
            }
            Message::Publish(m) => {
                seq.serialize_element(&m.request.get())?;
                seq.serialize_element(&m.options)?;
                seq.serialize_element(m.topic.as_str())?;
            }
            Message::Published(m) => {
                seq.serialize_element(&m.request.get())?;
                seq.serialize_element(&m.publication.get())?;
            }
            Message::Subscribe(m) => {
                seq.serialize_element(&m.request.get())?;
                seq.serialize_element(&m.options)?;
                seq.serialize_element(m.topic.as_str())?;
            }
            Message::Subscribed(m) => {
                seq.serialize_element(&m.request.get())?;
                seq.serialize_element(&m.subscription.get())?;
            }
            Message::Unsubscribe(m) => {
                seq.serialize_element(&m.request.get())?;
                seq.serialize_element(&m.subscription.get())?;
            }
            Message::Unsubscribed(m) => serialize_revocation(&mut seq, m.request, &m.details)?,
            Message::Event(m) => {
                seq.serialize_element(&m.subscription.get())?;
                seq.serialize_element(&m.publication.get())?;
                seq.serialize_element(&m.details)?;
            }
            Message::Call(m) => {
                seq.serialize_element(&m.request.get())?;
                seq.serialize_element(&m.options)?;
                seq.serialize_element(m.procedure.as_str())?;
            }
            Message::Cancel(m) => {
                seq.serialize_element(&m.request.get())?;
                seq.serialize_element(&m.options)?;
            }
            Message::Result(m) => {
                seq.serialize_element(&m.request.get())?;
                seq.serialize_element(&m.details)?;
            }
            Message::Register(m) => {
                seq.serialize_element(&m.request.get())?;
                seq.serialize_element(&m.options)?;
                seq.serialize_element(m.procedure.as_str())?;
            }
            Message::Registered(m) => {
                seq.serialize_element(&m.request.get())?;
                seq.serialize_element(&m.registration.get())?;
            }
            Message::Unregister(m) => {
                seq.serialize_element(&m.request.get())?;
                seq.serialize_element(&m.registration.get())?;
            }
            Message::Unregistered(m) => serialize_revocation(&mut seq, m.request, &m.details)?,
            Message::Invocation(m) => {
                seq.serialize_element(&m.request.get())?;
                seq.serialize_element(&m.registration.get())?;
                seq.serialize_element(&m.details)?;
            }
            Message::Interrupt(m) => {
                seq.serialize_element(&m.request.get())?;
                seq.serialize_element(&m.options)?;
            }
            Message::Yield(m) => {
                seq.serialize_element(&m.request.get())?;
                seq.serialize_element(&m.options)?;
            }
            Message::EventReceived(m) => seq.serialize_element(&m.publication.get())?,
        }
        if let Some(p) = payload {
            p.serialize_into(&mut seq)?;
        }
        seq.end()
    }
}

fn revocation_len(request: Option<RequestId>, details: &Dict) -> usize {
    if request.is_some() && details.is_empty() {
        2
    } else {
        3
    }
}

fn serialize_revocation<S: SerializeSeq>(
    seq: &mut S,
    request: Option<RequestId>,
    details: &Dict,
) -> Result<(), S::Error> {
    seq.serialize_element(&request.map_or(0, RequestId::get))?;
    if request.is_none() || !details.is_empty() {
        seq.serialize_element(details)?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Deserialize
// ---------------------------------------------------------------------------------------------

/// Deserializes one message with limits; typed errors land in the state.
pub(crate) struct MessageSeed<'s> {
    pub(crate) state: &'s mut DecodeState,
}

impl<'de> DeserializeSeed<'de> for MessageSeed<'_> {
    type Value = Message;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Message, D::Error> {
        let hr = d.is_human_readable();
        d.deserialize_any(MessageVisitor {
            state: self.state,
            hr,
        })
    }
}

struct MessageVisitor<'s> {
    state: &'s mut DecodeState,
    hr: bool,
}

/// Rejects every `visit_*` not listed by the visitor, as a typed element error.
macro_rules! reject {
    ($($m:ident)*) => { $( reject!(@ $m); )* };
    (@ visit_bool) => { fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> { Err(self.wrong()) } };
    (@ visit_i64) => { fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> { Err(self.wrong()) } };
    (@ visit_u64) => { fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> { Err(self.wrong()) } };
    (@ visit_i128) => { fn visit_i128<E: de::Error>(self, _: i128) -> Result<Self::Value, E> { Err(self.wrong()) } };
    (@ visit_u128) => { fn visit_u128<E: de::Error>(self, _: u128) -> Result<Self::Value, E> { Err(self.wrong()) } };
    (@ visit_f64) => { fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> { Err(self.wrong()) } };
    (@ visit_str) => { fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> { Err(self.wrong()) } };
    (@ visit_bytes) => { fn visit_bytes<E: de::Error>(self, _: &[u8]) -> Result<Self::Value, E> { Err(self.wrong()) } };
    (@ visit_unit) => { fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> { Err(self.wrong()) } };
    (@ visit_none) => { fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> { Err(self.wrong()) } };
    (@ visit_seq) => { fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<Self::Value, A::Error> { Err(self.wrong()) } };
    (@ visit_map) => { fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<Self::Value, A::Error> { Err(self.wrong()) } };
}

/// Where an element sits, for error reports.
#[derive(Clone, Copy)]
struct At {
    kind: Option<MessageKind>,
    index: usize,
}

fn element_error(at: At, expected: &'static str) -> DecodeError {
    match at.kind {
        Some(kind) => DecodeError::InvalidElement {
            kind,
            index: at.index,
            expected,
        },
        None => DecodeError::InvalidMessageType,
    }
}

/// A non-negative integer element.
struct U64Seed<'s> {
    state: &'s mut DecodeState,
    at: At,
}
struct U64Visitor<'s> {
    state: &'s mut DecodeState,
    at: At,
}
impl U64Visitor<'_> {
    fn wrong<E: de::Error>(self) -> E {
        self.state
            .fail(element_error(self.at, "a non-negative integer"))
    }
}
impl<'de> DeserializeSeed<'de> for U64Seed<'_> {
    type Value = u64;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<u64, D::Error> {
        self.state.count()?;
        d.deserialize_any(U64Visitor {
            state: self.state,
            at: self.at,
        })
    }
}
impl<'de> Visitor<'de> for U64Visitor<'_> {
    type Value = u64;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a non-negative integer")
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<u64, E> {
        Ok(v)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<u64, E> {
        match u64::try_from(v) {
            Ok(v) => Ok(v),
            Err(_) => Err(self.wrong()),
        }
    }
    reject!(visit_bool visit_i128 visit_u128 visit_f64 visit_str visit_bytes visit_unit visit_none visit_seq visit_map);
}

/// A dictionary element.
struct DictSeed<'s> {
    state: &'s mut DecodeState,
    at: At,
    hr: bool,
}
struct DictVisitor<'s> {
    state: &'s mut DecodeState,
    at: At,
    hr: bool,
}
impl DictVisitor<'_> {
    fn wrong<E: de::Error>(self) -> E {
        self.state.fail(element_error(self.at, "a dict"))
    }
}
impl<'de> DeserializeSeed<'de> for DictSeed<'_> {
    type Value = Dict;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Dict, D::Error> {
        self.state.count()?;
        d.deserialize_any(DictVisitor {
            state: self.state,
            at: self.at,
            hr: self.hr,
        })
    }
}
impl<'de> Visitor<'de> for DictVisitor<'_> {
    type Value = Dict;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a dict")
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Dict, A::Error> {
        visit_dict(self.state, 1, self.hr, map)
    }
    reject!(visit_bool visit_i64 visit_u64 visit_i128 visit_u128 visit_f64 visit_str visit_bytes visit_unit visit_none visit_seq);
}

/// A text element (URI or string); a JSON binary string is not text.
struct StrSeed<'s> {
    state: &'s mut DecodeState,
    at: At,
    hr: bool,
}
struct StrVisitor<'s> {
    state: &'s mut DecodeState,
    at: At,
    hr: bool,
}
impl StrVisitor<'_> {
    fn wrong<E: de::Error>(self) -> E {
        self.state.fail(element_error(self.at, "a string"))
    }
}
impl<'de> DeserializeSeed<'de> for StrSeed<'_> {
    type Value = String;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<String, D::Error> {
        self.state.count()?;
        d.deserialize_any(StrVisitor {
            state: self.state,
            at: self.at,
            hr: self.hr,
        })
    }
}
impl<'de> Visitor<'de> for StrVisitor<'_> {
    type Value = String;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
        if self.hr && v.starts_with('\0') {
            return Err(self.wrong());
        }
        Ok(v.to_owned())
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<String, E> {
        if self.hr && v.starts_with('\0') {
            return Err(self.wrong());
        }
        Ok(v)
    }
    reject!(visit_bool visit_i64 visit_u64 visit_i128 visit_u128 visit_f64 visit_bytes visit_unit visit_none visit_seq visit_map);
}

/// The `Arguments` position: a list, or a bare binary (transparent payload).
enum ArgsElem {
    List(List),
    Bytes(Vec<u8>),
}
struct ArgsSeed<'s> {
    state: &'s mut DecodeState,
    at: At,
    hr: bool,
}
struct ArgsVisitor<'s> {
    state: &'s mut DecodeState,
    at: At,
    hr: bool,
}
impl ArgsVisitor<'_> {
    fn wrong<E: de::Error>(self) -> E {
        self.state
            .fail(element_error(self.at, "a list (or a binary payload)"))
    }
}
impl<'de> DeserializeSeed<'de> for ArgsSeed<'_> {
    type Value = ArgsElem;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<ArgsElem, D::Error> {
        self.state.count()?;
        d.deserialize_any(ArgsVisitor {
            state: self.state,
            at: self.at,
            hr: self.hr,
        })
    }
}
impl<'de> Visitor<'de> for ArgsVisitor<'_> {
    type Value = ArgsElem;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an argument list")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<ArgsElem, A::Error> {
        visit_list(self.state, 1, self.hr, seq).map(ArgsElem::List)
    }
    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<ArgsElem, E> {
        Ok(ArgsElem::Bytes(v.to_vec()))
    }
    fn visit_byte_buf<E: de::Error>(self, v: Vec<u8>) -> Result<ArgsElem, E> {
        Ok(ArgsElem::Bytes(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<ArgsElem, E> {
        use base64::Engine as _;
        match v.strip_prefix('\0') {
            Some(b64) if self.hr => match base64::engine::general_purpose::STANDARD.decode(b64) {
                Ok(b) => Ok(ArgsElem::Bytes(b)),
                Err(_) => Err(self.state.fail(DecodeError::InvalidBinaryString)),
            },
            _ => Err(self.wrong()),
        }
    }
    reject!(visit_bool visit_i64 visit_u64 visit_i128 visit_u128 visit_f64 visit_unit visit_none visit_map);
}

/// Reads the elements of one message in order.
struct Elems<'s, A> {
    seq: A,
    state: &'s mut DecodeState,
    kind: MessageKind,
    index: usize,
    hr: bool,
}

impl<'de, A: SeqAccess<'de>> Elems<'_, A> {
    fn at(&self) -> At {
        At {
            kind: Some(self.kind),
            index: self.index,
        }
    }
    fn missing(&mut self) -> A::Error {
        let e = DecodeError::WrongArity {
            kind: self.kind,
            len: self.index,
        };
        self.state.fail(e)
    }
    fn u64(&mut self) -> Result<u64, A::Error> {
        let at = self.at();
        match self.seq.next_element_seed(U64Seed {
            state: &mut *self.state,
            at,
        })? {
            Some(v) => {
                self.index += 1;
                Ok(v)
            }
            None => Err(self.missing()),
        }
    }
    fn id<T>(&mut self, make: fn(u64) -> Option<T>) -> Result<T, A::Error> {
        let index = self.index;
        let v = self.u64()?;
        match make(v) {
            Some(id) => Ok(id),
            None => Err(self.state.fail(DecodeError::InvalidId {
                kind: self.kind,
                index,
            })),
        }
    }
    fn dict(&mut self) -> Result<Dict, A::Error> {
        let at = self.at();
        match self.seq.next_element_seed(DictSeed {
            state: &mut *self.state,
            at,
            hr: self.hr,
        })? {
            Some(v) => {
                self.index += 1;
                check_known_keys(self.kind, &v).map_err(|e| self.state.fail(e))?;
                Ok(v)
            }
            None => Err(self.missing()),
        }
    }
    fn string(&mut self) -> Result<String, A::Error> {
        let at = self.at();
        match self.seq.next_element_seed(StrSeed {
            state: &mut *self.state,
            at,
            hr: self.hr,
        })? {
            Some(v) => {
                self.index += 1;
                Ok(v)
            }
            None => Err(self.missing()),
        }
    }
    fn uri(&mut self) -> Result<Uri, A::Error> {
        let at = self.at();
        match self.seq.next_element_seed(UriSeed {
            state: &mut *self.state,
            at,
            hr: self.hr,
        })? {
            Some(v) => {
                self.index += 1;
                Ok(v)
            }
            None => Err(self.missing()),
        }
    }
    /// The optional trailing `Arguments` and `ArgumentsKw`, then the end of the list.
    fn payload(&mut self) -> Result<Payload, A::Error> {
        let at = self.at();
        let args = match self.seq.next_element_seed(ArgsSeed {
            state: &mut *self.state,
            at,
            hr: self.hr,
        })? {
            None => return Ok(Payload::empty()),
            Some(a) => a,
        };
        self.index += 1;
        match args {
            ArgsElem::Bytes(b) => {
                self.end()?;
                Ok(Payload::Transparent(b))
            }
            ArgsElem::List(args) => {
                let at = self.at();
                let kwargs = match self.seq.next_element_seed(DictSeed {
                    state: &mut *self.state,
                    at,
                    hr: self.hr,
                })? {
                    None => {
                        return Ok(Payload::Args {
                            args,
                            kwargs: Dict::new(),
                        });
                    }
                    Some(k) => k,
                };
                self.index += 1;
                self.end()?;
                Ok(Payload::Args { args, kwargs })
            }
        }
    }
    /// Requires the end of the list.
    fn end(&mut self) -> Result<(), A::Error> {
        let mut skip = IgnoreSeed {
            state: &mut *self.state,
        };
        if self.seq.next_element_seed(&mut skip)?.is_some() {
            let e = DecodeError::WrongArity {
                kind: self.kind,
                len: self.index + 1,
            };
            return Err(self.state.fail(e));
        }
        Ok(())
    }
}

/// A URI element: a string, kept as received.
struct UriSeed<'s> {
    state: &'s mut DecodeState,
    at: At,
    hr: bool,
}
impl<'de> DeserializeSeed<'de> for UriSeed<'_> {
    type Value = Uri;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Uri, D::Error> {
        self.state.count()?;
        d.deserialize_any(UriVisitor {
            state: self.state,
            at: self.at,
            hr: self.hr,
        })
    }
}
struct UriVisitor<'s> {
    state: &'s mut DecodeState,
    at: At,
    hr: bool,
}
impl UriVisitor<'_> {
    fn wrong<E: de::Error>(self) -> E {
        self.state.fail(element_error(self.at, "a URI string"))
    }
}
impl<'de> Visitor<'de> for UriVisitor<'_> {
    type Value = Uri;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a URI")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Uri, E> {
        if self.hr && v.starts_with('\0') {
            return Err(self.wrong());
        }
        Ok(Uri::from_wire(v))
    }
    reject!(visit_bool visit_i64 visit_u64 visit_i128 visit_u128 visit_f64 visit_bytes visit_unit visit_none visit_seq visit_map);
}

/// Swallows one element (to detect a surplus one) while still counting it against the limits.
struct IgnoreSeed<'s> {
    state: &'s mut DecodeState,
}
impl<'de> DeserializeSeed<'de> for &mut IgnoreSeed<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        crate::value::ValueSeed {
            state: &mut *self.state,
            depth: 1,
            human_readable: false,
        }
        .deserialize(d)
        .map(drop)
    }
}

impl<'de> Visitor<'de> for MessageVisitor<'_> {
    type Value = Message;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a WAMP message list")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Message, A::Error> {
        let state = self.state;
        state.count()?;
        let at = At {
            kind: None,
            index: 0,
        };
        let code = match seq.next_element_seed(U64Seed {
            state: &mut *state,
            at,
        })? {
            Some(c) => c,
            None => return Err(state.fail(DecodeError::Empty)),
        };
        let kind = match MessageKind::from_code(code) {
            Some(k) => k,
            None => return Err(state.fail(DecodeError::UnknownMessageType(code))),
        };
        let mut e = Elems {
            seq,
            state,
            kind,
            index: 1,
            hr: self.hr,
        };
        let msg = parse_elements(&mut e)?;
        Ok(msg)
    }
    fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<Message, A::Error> {
        Err(self.state.fail(DecodeError::NotAList))
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Message, E> {
        Err(self.state.fail(DecodeError::NotAList))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Message, E> {
        Err(self.state.fail(DecodeError::NotAList))
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Message, E> {
        Err(self.state.fail(DecodeError::NotAList))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Message, E> {
        Err(self.state.fail(DecodeError::NotAList))
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Message, E> {
        Err(self.state.fail(DecodeError::NotAList))
    }
    fn visit_bytes<E: de::Error>(self, _: &[u8]) -> Result<Message, E> {
        Err(self.state.fail(DecodeError::NotAList))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Message, E> {
        Err(self.state.fail(DecodeError::NotAList))
    }
    fn visit_none<E: de::Error>(self) -> Result<Message, E> {
        Err(self.state.fail(DecodeError::NotAList))
    }
}

fn parse_elements<'de, A: SeqAccess<'de>>(e: &mut Elems<'_, A>) -> Result<Message, A::Error> {
    let msg: Message = match e.kind {
        MessageKind::Hello => {
            let realm = e.uri()?;
            let details = e.dict()?;
            e.end()?;
            Hello { realm, details }.into()
        }
        MessageKind::Welcome => {
            let session = e.id(SessionId::new)?;
            let details = e.dict()?;
            e.end()?;
            Welcome { session, details }.into()
        }
        MessageKind::Abort => {
            let details = e.dict()?;
            let reason = e.uri()?;
            let payload = e.payload()?;
            Abort {
                details,
                reason,
                payload,
            }
            .into()
        }
        MessageKind::Challenge => {
            let auth_method = e.string()?;
            let extra = e.dict()?;
            e.end()?;
            Challenge { auth_method, extra }.into()
        }
        MessageKind::Authenticate => {
            let signature = e.string()?;
            let extra = e.dict()?;
            e.end()?;
            Authenticate { signature, extra }.into()
        }
        MessageKind::Goodbye => {
            let details = e.dict()?;
            let reason = e.uri()?;
            e.end()?;
            Goodbye { details, reason }.into()
        }
        MessageKind::Error => {
            let code = e.u64()?;
            let request_type = match MessageKind::from_code(code) {
                Some(k) if k.has_error_flow() => k,
                _ => return Err(e.state.fail(DecodeError::InvalidErrorRequestType(code))),
            };
            let request = e.id(RequestId::new)?;
            let details = e.dict()?;
            let error = e.uri()?;
            let payload = e.payload()?;
            Error {
                request_type,
                request,
                details,
                error,
                payload,
            }
            .into()
        }
        MessageKind::Publish => {
            let request = e.id(RequestId::new)?;
            let options = e.dict()?;
            let topic = e.uri()?;
            let payload = e.payload()?;
            Publish {
                request,
                options,
                topic,
                payload,
            }
            .into()
        }
        MessageKind::Published => {
            let request = e.id(RequestId::new)?;
            let publication = e.id(PublicationId::new)?;
            e.end()?;
            Published {
                request,
                publication,
            }
            .into()
        }
        MessageKind::Subscribe => {
            let request = e.id(RequestId::new)?;
            let options = e.dict()?;
            let topic = e.uri()?;
            e.end()?;
            Subscribe {
                request,
                options,
                topic,
            }
            .into()
        }
        MessageKind::Subscribed => {
            let request = e.id(RequestId::new)?;
            let subscription = e.id(SubscriptionId::new)?;
            e.end()?;
            Subscribed {
                request,
                subscription,
            }
            .into()
        }
        MessageKind::Unsubscribe => {
            let request = e.id(RequestId::new)?;
            let subscription = e.id(SubscriptionId::new)?;
            e.end()?;
            Unsubscribe {
                request,
                subscription,
            }
            .into()
        }
        MessageKind::Unsubscribed => {
            let (request, details) = parse_revocation(e)?;
            Unsubscribed { request, details }.into()
        }
        MessageKind::Event => {
            let subscription = e.id(SubscriptionId::new)?;
            let publication = e.id(PublicationId::new)?;
            let details = e.dict()?;
            let payload = e.payload()?;
            Event {
                subscription,
                publication,
                details,
                payload,
            }
            .into()
        }
        MessageKind::Call => {
            let request = e.id(RequestId::new)?;
            let options = e.dict()?;
            let procedure = e.uri()?;
            let payload = e.payload()?;
            Call {
                request,
                options,
                procedure,
                payload,
            }
            .into()
        }
        MessageKind::Cancel => {
            let request = e.id(RequestId::new)?;
            let options = e.dict()?;
            e.end()?;
            Cancel { request, options }.into()
        }
        MessageKind::Result => {
            let request = e.id(RequestId::new)?;
            let details = e.dict()?;
            let payload = e.payload()?;
            CallResult {
                request,
                details,
                payload,
            }
            .into()
        }
        MessageKind::Register => {
            let request = e.id(RequestId::new)?;
            let options = e.dict()?;
            let procedure = e.uri()?;
            e.end()?;
            Register {
                request,
                options,
                procedure,
            }
            .into()
        }
        MessageKind::Registered => {
            let request = e.id(RequestId::new)?;
            let registration = e.id(RegistrationId::new)?;
            e.end()?;
            Registered {
                request,
                registration,
            }
            .into()
        }
        MessageKind::Unregister => {
            let request = e.id(RequestId::new)?;
            let registration = e.id(RegistrationId::new)?;
            e.end()?;
            Unregister {
                request,
                registration,
            }
            .into()
        }
        MessageKind::Unregistered => {
            let (request, details) = parse_revocation(e)?;
            Unregistered { request, details }.into()
        }
        MessageKind::Invocation => {
            let request = e.id(RequestId::new)?;
            let registration = e.id(RegistrationId::new)?;
            let details = e.dict()?;
            let payload = e.payload()?;
            Invocation {
                request,
                registration,
                details,
                payload,
            }
            .into()
        }
        MessageKind::Interrupt => {
            let request = e.id(RequestId::new)?;
            let options = e.dict()?;
            e.end()?;
            Interrupt { request, options }.into()
        }
        MessageKind::Yield => {
            let request = e.id(RequestId::new)?;
            let options = e.dict()?;
            let payload = e.payload()?;
            Yield {
                request,
                options,
                payload,
            }
            .into()
        }
        MessageKind::EventReceived => {
            let publication = e.id(PublicationId::new)?;
            e.end()?;
            EventReceived { publication }.into()
        }
    };
    Ok(msg)
}

/// `[TYPE, Request|id]` or `[TYPE, 0 or Request|id, Details|dict]`.
fn parse_revocation<'de, A: SeqAccess<'de>>(
    e: &mut Elems<'_, A>,
) -> Result<(Option<RequestId>, Dict), A::Error> {
    let index = e.index;
    let raw = e.u64()?;
    if raw > MAX_ID {
        return Err(e.state.fail(DecodeError::InvalidId {
            kind: e.kind,
            index,
        }));
    }
    let request = RequestId::new(raw);
    let at = e.at();
    let details = match e.seq.next_element_seed(DictSeed {
        state: &mut *e.state,
        at,
        hr: e.hr,
    })? {
        Some(d) => {
            e.index += 1;
            e.end()?;
            d
        }
        None if request.is_some() => Dict::new(),
        None => return Err(e.missing()),
    };
    Ok((request, details))
}

// ---------------------------------------------------------------------------------------------
// Known option / detail keys: type checks
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy)]
enum Ty {
    Bool,
    UInt,
    Id,
    Str,
    IdList,
    StrList,
    DictList,
    OneOf(&'static [&'static str]),
}

impl Ty {
    fn expected(self) -> &'static str {
        match self {
            Ty::Bool => "a bool",
            Ty::UInt => "a non-negative integer",
            Ty::Id => "an ID",
            Ty::Str => "a string",
            Ty::IdList => "a list of IDs",
            Ty::StrList => "a list of strings",
            Ty::DictList => "a list of dicts",
            Ty::OneOf(_) => "one of the defined values",
        }
    }
    fn check(self, v: &Value) -> bool {
        let is_id = |v: &Value| v.as_u64().is_some_and(|x| (1..=MAX_ID).contains(&x));
        match self {
            Ty::Bool => matches!(v, Value::Bool(_)),
            Ty::UInt => v.as_u64().is_some(),
            Ty::Id => is_id(v),
            Ty::Str => matches!(v, Value::Str(_)),
            Ty::IdList => v.as_list().is_some_and(|l| l.iter().all(is_id)),
            Ty::StrList => v
                .as_list()
                .is_some_and(|l| l.iter().all(|x| matches!(x, Value::Str(_)))),
            Ty::DictList => v
                .as_list()
                .is_some_and(|l| l.iter().all(|x| matches!(x, Value::Dict(_)))),
            Ty::OneOf(allowed) => v.as_str().is_some_and(|s| allowed.contains(&s)),
        }
    }
}

const MATCH: Ty = Ty::OneOf(&["exact", "prefix", "wildcard"]);
const COMMON: &[(&str, Ty)] = &[("forward_for", Ty::DictList), ("transaction_hash", Ty::Str)];

fn known_keys(kind: MessageKind) -> &'static [(&'static str, Ty)] {
    match kind {
        MessageKind::Publish => &[
            ("acknowledge", Ty::Bool),
            ("exclude_me", Ty::Bool),
            ("exclude", Ty::IdList),
            ("eligible", Ty::IdList),
            ("exclude_authid", Ty::StrList),
            ("exclude_authrole", Ty::StrList),
            ("eligible_authid", Ty::StrList),
            ("eligible_authrole", Ty::StrList),
            ("disclose_me", Ty::Bool),
            ("retain", Ty::Bool),
        ],
        MessageKind::Event => &[
            ("publisher", Ty::Id),
            ("publisher_authid", Ty::Str),
            ("publisher_authrole", Ty::Str),
            ("topic", Ty::Str),
            ("retained", Ty::Bool),
            ("trustlevel", Ty::UInt),
            ("x_acknowledged_delivery", Ty::Bool),
        ],
        MessageKind::Subscribe => &[("match", MATCH), ("get_retained", Ty::Bool)],
        MessageKind::Call => &[
            ("receive_progress", Ty::Bool),
            ("progress", Ty::Bool),
            ("timeout", Ty::UInt),
            ("disclose_me", Ty::Bool),
        ],
        MessageKind::Cancel => &[("mode", Ty::OneOf(&["skip", "kill", "killnowait"]))],
        MessageKind::Result | MessageKind::Yield => &[("progress", Ty::Bool)],
        MessageKind::Register => &[
            ("match", MATCH),
            (
                "invoke",
                Ty::OneOf(&["single", "roundrobin", "random", "first", "last"]),
            ),
            ("disclose_caller", Ty::Bool),
            ("forward_timeout", Ty::Bool),
        ],
        MessageKind::Invocation => &[
            ("receive_progress", Ty::Bool),
            ("progress", Ty::Bool),
            ("timeout", Ty::UInt),
            ("caller", Ty::Id),
            ("caller_authid", Ty::Str),
            ("caller_authrole", Ty::Str),
            ("procedure", Ty::Str),
            ("trustlevel", Ty::UInt),
        ],
        MessageKind::Interrupt => &[("mode", Ty::OneOf(&["kill", "killnowait"]))],
        _ => &[],
    }
}

fn has_common_keys(kind: MessageKind) -> bool {
    matches!(
        kind,
        MessageKind::Publish
            | MessageKind::Subscribe
            | MessageKind::Event
            | MessageKind::Call
            | MessageKind::Cancel
            | MessageKind::Result
            | MessageKind::Register
            | MessageKind::Invocation
            | MessageKind::Interrupt
            | MessageKind::Yield
            | MessageKind::Error
    )
}

/// Type-checks the predefined keys of a message's options or details dict.
fn check_known_keys(kind: MessageKind, d: &Dict) -> Result<(), DecodeError> {
    if d.is_empty() {
        return Ok(());
    }
    let table = known_keys(kind);
    let common = if has_common_keys(kind) { COMMON } else { &[] };
    for (k, v) in d.iter() {
        if let Some((key, ty)) = table.iter().chain(common).find(|(key, _)| *key == k)
            && !ty.check(v)
        {
            return Err(DecodeError::InvalidOption {
                kind,
                key,
                expected: ty.expected(),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for k in MessageKind::ALL {
            assert_eq!(MessageKind::from_code(k.code()), Some(k));
        }
        assert_eq!(MessageKind::from_code(7), None);
    }

    #[test]
    fn payload_wire_len() {
        assert_eq!(Payload::empty().wire_len(), 0);
        assert_eq!(Payload::args(vec![1u8.into()]).wire_len(), 1);
        assert_eq!(
            Payload::new(vec![], Dict::new().with("a", 1u8)).wire_len(),
            2
        );
        assert_eq!(Payload::Transparent(vec![1]).wire_len(), 1);
    }
}
