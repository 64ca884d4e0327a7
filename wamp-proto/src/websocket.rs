//! WebSocket subprotocol negotiation and close codes, as pure functions for both adapters.
//!
//! WAMP over WebSocket is negotiated with the `Sec-WebSocket-Protocol` header: the client offers
//! a list of identifiers in its order of preference, the server echoes exactly one of them or
//! refuses the handshake. The identifiers are `wamp.2.<serializer>` and
//! `wamp.2.<serializer>.batched` for every [`Serializer`] (`json`, `msgpack`, `cbor`, `ubjson`).
//! JSON travels in text frames, every binary serializer in binary frames.
//!
//! Server side ([`select`], [`negotiate`]): the first identifier in the **client's** order that the
//! server enables wins; no overlap means no subprotocol, and the adapter refuses the handshake
//! (HTTP 400), as Autobahn and Crossbar do with their default strict negotiation. Client side
//! ([`client_offer`], [`validate_echo`]): build the header value, then check the server's echo
//! names exactly one of the offered identifiers.
//!
//! ```
//! use wamp_proto::Serializer;
//! use wamp_proto::websocket::{negotiate, client_offer, validate_echo, FrameType, Subprotocol};
//!
//! let offer = [Subprotocol::new(Serializer::Cbor, false), Subprotocol::new(Serializer::Json, false)];
//! let header = client_offer(&offer);
//! assert_eq!(header, "wamp.2.cbor, wamp.2.json");
//!
//! // The server enables JSON and MessagePack only: CBOR is skipped, JSON is chosen.
//! let enabled = [Subprotocol::new(Serializer::MsgPack, false), Subprotocol::new(Serializer::Json, false)];
//! let chosen = negotiate(&enabled, [header.as_str()]).unwrap();
//! assert_eq!(chosen.name(), "wamp.2.json");
//! assert_eq!(chosen.frame_type(), FrameType::Text);
//!
//! // The client checks the echo.
//! assert_eq!(validate_echo(&offer, Some(chosen.name())), Ok(chosen));
//! ```

use std::fmt;

use crate::serializer::Serializer;

/// A negotiated WAMP-over-WebSocket framing: a serializer, batched or not.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Subprotocol {
    /// The serializer of every WAMP message on the connection.
    pub serializer: Serializer,
    /// Whether WebSocket messages carry batches (`wamp.2.<serializer>.batched`, see
    /// [`crate::batch`]) rather than exactly one WAMP message each.
    pub batched: bool,
}

/// The WebSocket data frame type a subprotocol uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FrameType {
    /// Text frames (UTF-8): JSON.
    Text,
    /// Binary frames: MessagePack, CBOR, UBJSON and every batched binary serializer.
    Binary,
}

impl Subprotocol {
    /// A subprotocol.
    pub const fn new(serializer: Serializer, batched: bool) -> Self {
        Subprotocol {
            serializer,
            batched,
        }
    }

    /// Every subprotocol: each serializer in [`Serializer::ALL`] order, unbatched then batched.
    pub fn all() -> impl Iterator<Item = Subprotocol> {
        Serializer::ALL
            .into_iter()
            .flat_map(|s| [Subprotocol::new(s, false), Subprotocol::new(s, true)])
    }

    /// Every unbatched subprotocol in [`Serializer::ALL`] order (the default client offer).
    pub fn unbatched() -> impl Iterator<Item = Subprotocol> {
        Serializer::ALL
            .into_iter()
            .map(|s| Subprotocol::new(s, false))
    }

    /// The identifier (`wamp.2.json`, `wamp.2.cbor.batched`, ...).
    pub fn name(self) -> &'static str {
        if self.batched {
            self.serializer.batched_subprotocol()
        } else {
            self.serializer.subprotocol()
        }
    }

    /// The subprotocol with this identifier. Identifiers are tokens and compared exactly
    /// (case-sensitive, RFC 6455 section 4.1); surrounding spaces and tabs are ignored.
    pub fn parse(name: &str) -> Option<Subprotocol> {
        let name = name.trim_matches([' ', '\t']);
        Subprotocol::all().find(|p| p.name() == name)
    }

    /// Text for JSON, binary for every binary serializer.
    pub fn frame_type(self) -> FrameType {
        if self.serializer.is_binary() {
            FrameType::Binary
        } else {
            FrameType::Text
        }
    }
}

impl fmt::Display for Subprotocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Splits one `Sec-WebSocket-Protocol` header value into its identifiers: comma-separated,
/// optional spaces and tabs around each, empty items skipped. Does not allocate.
pub fn parse_offer(header_value: &str) -> impl Iterator<Item = &str> {
    header_value
        .split(',')
        .map(|t| t.trim_matches([' ', '\t']))
        .filter(|t| !t.is_empty())
}

/// Server side: picks the first identifier of `offered` (the client's order of preference)
/// that names a subprotocol in `enabled`. Unknown identifiers are skipped. `None` means no
/// overlap: refuse the handshake.
pub fn select<'o>(
    enabled: &[Subprotocol],
    offered: impl IntoIterator<Item = &'o str>,
) -> Option<Subprotocol> {
    offered
        .into_iter()
        .filter_map(Subprotocol::parse)
        .find(|p| enabled.contains(p))
}

/// Server side: [`select`] over every `Sec-WebSocket-Protocol` header value of the request (the
/// header may appear several times; their lists are concatenated in order).
pub fn negotiate<'h>(
    enabled: &[Subprotocol],
    header_values: impl IntoIterator<Item = &'h str>,
) -> Option<Subprotocol> {
    select(enabled, header_values.into_iter().flat_map(parse_offer))
}

/// Client side: the `Sec-WebSocket-Protocol` header value offering `offer` in order.
pub fn client_offer(offer: &[Subprotocol]) -> String {
    let mut out = String::with_capacity(offer.len() * 24);
    for (i, p) in offer.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(p.name());
    }
    out
}

/// The server's `Sec-WebSocket-Protocol` answer is not acceptable: fail the connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NegotiationError {
    /// The server chose no subprotocol (a server without strict negotiation; we do not assume
    /// JSON).
    #[error("the server did not choose a WAMP subprotocol")]
    NoSubprotocol,
    /// The server's answer is not one of the identifiers we offered (or is several).
    #[error("the server chose a subprotocol that was not offered")]
    NotOffered,
}

/// Client side: checks the server's echoed `Sec-WebSocket-Protocol` value (`None` when the
/// header is absent) against what we offered.
pub fn validate_echo(
    offer: &[Subprotocol],
    echoed: Option<&str>,
) -> Result<Subprotocol, NegotiationError> {
    let echoed = echoed.ok_or(NegotiationError::NoSubprotocol)?;
    let p = Subprotocol::parse(echoed).ok_or(NegotiationError::NotOffered)?;
    if offer.contains(&p) {
        Ok(p)
    } else {
        Err(NegotiationError::NotOffered)
    }
}

/// Why a connection is closed, for the WebSocket close frame (RawSocket simply closes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CloseReason {
    /// The session ended normally (GOODBYE exchanged, or the client is done). Code 1000.
    Normal,
    /// The endpoint is going away (router shutdown). Code 1001.
    GoingAway,
    /// The peer broke the protocol: malformed message or frame, wrong framing, a message
    /// out of order. Code 1002 (what Autobahn-Python and Crossbar send).
    ProtocolError,
    /// The peer broke a policy (e.g. it reads too slowly and its queue overflowed). Code 1008.
    PolicyViolation,
    /// The peer sent a message larger than our limit. Code 1009.
    MessageTooBig,
    /// We hit an internal error. Code 1011.
    Internal,
}

impl CloseReason {
    /// The WebSocket close code (RFC 6455 section 7.4.1).
    pub const fn websocket_code(self) -> u16 {
        match self {
            CloseReason::Normal => 1000,
            CloseReason::GoingAway => 1001,
            CloseReason::ProtocolError => 1002,
            CloseReason::PolicyViolation => 1008,
            CloseReason::MessageTooBig => 1009,
            CloseReason::Internal => 1011,
        }
    }
}

/// The longest WebSocket frame header a server writes (RFC 6455 section 5.2: 2 octets, 8 of
/// extended length, no mask).
pub const MAX_SERVER_HEADER_LEN: usize = 10;

/// An empty, final, unmasked ping frame: the keepalive a server sends (RFC 6455 section 5.5.2).
pub const SERVER_PING_FRAME: [u8; 2] = [0x89, 0x00];

/// The header of one final, unmasked WebSocket frame carrying a whole message of `len`
/// octets: what a server writes (RFC 6455 section 5.2; a client masks, a server must not).
/// Returns the header buffer and how many of its octets to send.
///
/// A server that writes its data frames itself (rather than through its WebSocket library's
/// write buffer) uses this; `text` selects opcode 1 (the payload must be UTF-8), otherwise
/// opcode 2.
///
/// ```
/// use wamp_proto::websocket::{FrameType, server_frame_header};
///
/// let (h, n) = server_frame_header(FrameType::Text, 5);
/// assert_eq!(&h[..n], &[0x81, 0x05]);
/// let (h, n) = server_frame_header(FrameType::Binary, 256);
/// assert_eq!(&h[..n], &[0x82, 0x7E, 0x01, 0x00]);
/// ```
pub const fn server_frame_header(
    frame: FrameType,
    len: usize,
) -> ([u8; MAX_SERVER_HEADER_LEN], usize) {
    let mut h = [0u8; MAX_SERVER_HEADER_LEN];
    h[0] = match frame {
        FrameType::Text => 0x81,
        FrameType::Binary => 0x82,
    };
    if len < 126 {
        h[1] = len as u8;
        (h, 2)
    } else if len <= 0xFFFF {
        h[1] = 126;
        h[2] = (len >> 8) as u8;
        h[3] = len as u8;
        (h, 4)
    } else {
        h[1] = 127;
        let b = (len as u64).to_be_bytes();
        let mut i = 0;
        while i < 8 {
            h[2 + i] = b[i];
            i += 1;
        }
        (h, 10)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_frame_headers_follow_rfc_6455() {
        // RFC 6455 section 5.7: a single-frame unmasked text message "Hello".
        let (h, n) = server_frame_header(FrameType::Text, 5);
        assert_eq!(&h[..n], &[0x81, 0x05]);
        let (h, n) = server_frame_header(FrameType::Binary, 125);
        assert_eq!(&h[..n], &[0x82, 125]);
        // 256 octets: 16-bit extended length.
        let (h, n) = server_frame_header(FrameType::Binary, 256);
        assert_eq!(&h[..n], &[0x82, 0x7E, 0x01, 0x00]);
        let (h, n) = server_frame_header(FrameType::Binary, 0xFFFF);
        assert_eq!(&h[..n], &[0x82, 0x7E, 0xFF, 0xFF]);
        // 64 KiB: 64-bit extended length.
        let (h, n) = server_frame_header(FrameType::Binary, 65536);
        assert_eq!(&h[..n], &[0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0]);
        // FIN + opcode 9 (ping), unmasked, no payload.
        assert_eq!(SERVER_PING_FRAME, [0x80 | 0x9, 0]);
    }

    const JSON: Subprotocol = Subprotocol::new(Serializer::Json, false);
    const JSON_B: Subprotocol = Subprotocol::new(Serializer::Json, true);
    const MSGPACK: Subprotocol = Subprotocol::new(Serializer::MsgPack, false);
    const MSGPACK_B: Subprotocol = Subprotocol::new(Serializer::MsgPack, true);
    const CBOR: Subprotocol = Subprotocol::new(Serializer::Cbor, false);
    const CBOR_B: Subprotocol = Subprotocol::new(Serializer::Cbor, true);

    #[test]
    fn names_round_trip_for_every_serializer() {
        let mut n = 0;
        for p in Subprotocol::all() {
            assert_eq!(Subprotocol::parse(p.name()), Some(p));
            assert_eq!(p.to_string(), p.name());
            assert!(p.name().starts_with("wamp.2."));
            assert_eq!(p.name().ends_with(".batched"), p.batched);
            n += 1;
        }
        assert_eq!(n, 2 * Serializer::ALL.len());
        assert_eq!(JSON.name(), "wamp.2.json");
        assert_eq!(JSON_B.name(), "wamp.2.json.batched");
        assert_eq!(MSGPACK.name(), "wamp.2.msgpack");
        assert_eq!(MSGPACK_B.name(), "wamp.2.msgpack.batched");
        assert_eq!(CBOR.name(), "wamp.2.cbor");
        assert_eq!(CBOR_B.name(), "wamp.2.cbor.batched");
        assert_eq!(Subprotocol::unbatched().count(), Serializer::ALL.len());
    }

    #[test]
    fn parse_is_exact() {
        assert_eq!(Subprotocol::parse(" wamp.2.json\t"), Some(JSON));
        for bad in [
            "",
            "wamp",
            "wamp.2",
            "WAMP.2.JSON",
            "wamp.2.json.",
            "wamp.2.json.batched.x",
            "wamp.2.jso",
            "wamp.1.json",
            "wamp.2.flatbuffers",
        ] {
            assert_eq!(Subprotocol::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn frame_types() {
        assert_eq!(JSON.frame_type(), FrameType::Text);
        assert_eq!(JSON_B.frame_type(), FrameType::Text);
        for p in Subprotocol::all().filter(|p| p.serializer != Serializer::Json) {
            assert_eq!(p.frame_type(), FrameType::Binary, "{p}");
        }
    }

    #[test]
    fn offer_parsing() {
        let v: Vec<&str> = parse_offer(" wamp.2.json ,wamp.2.cbor,, \t,x ").collect();
        assert_eq!(v, ["wamp.2.json", "wamp.2.cbor", "x"]);
        assert_eq!(parse_offer("").count(), 0);
    }

    #[test]
    fn server_follows_client_preference() {
        let enabled = [JSON, MSGPACK, CBOR];
        // The client's order wins over the server's.
        assert_eq!(
            negotiate(&enabled, ["wamp.2.cbor, wamp.2.json"]),
            Some(CBOR)
        );
        assert_eq!(
            negotiate(&enabled, ["wamp.2.json, wamp.2.cbor"]),
            Some(JSON)
        );
        // Unknown and disabled identifiers are skipped.
        assert_eq!(
            negotiate(
                &enabled,
                [
                    "chat, wamp.2.msgpack.batched, wamp.2.flatbuffers",
                    "wamp.2.msgpack"
                ]
            ),
            Some(MSGPACK)
        );
        // Several header lines are concatenated in order.
        assert_eq!(
            negotiate(&enabled, ["foo", "wamp.2.cbor", "wamp.2.json"]),
            Some(CBOR)
        );
        // Batched only if enabled.
        assert_eq!(
            negotiate(&[JSON, JSON_B], ["wamp.2.json.batched, wamp.2.json"]),
            Some(JSON_B)
        );
        // No overlap: refuse.
        assert_eq!(negotiate(&[JSON], ["wamp.2.cbor, wamp.2.msgpack"]), None);
        assert_eq!(negotiate(&enabled, [""]), None);
        assert_eq!(negotiate(&enabled, Vec::<&str>::new()), None);
        assert_eq!(negotiate(&[], ["wamp.2.json"]), None);
        // Case-sensitive tokens.
        assert_eq!(negotiate(&enabled, ["WAMP.2.JSON"]), None);
        // select() over pre-split tokens.
        assert_eq!(select(&enabled, ["x", "wamp.2.json"]), Some(JSON));
    }

    #[test]
    fn client_offer_and_echo() {
        let offer = [MSGPACK, JSON_B, JSON];
        assert_eq!(
            client_offer(&offer),
            "wamp.2.msgpack, wamp.2.json.batched, wamp.2.json"
        );
        assert_eq!(client_offer(&[]), "");
        assert_eq!(validate_echo(&offer, Some("wamp.2.json")), Ok(JSON));
        assert_eq!(
            validate_echo(&offer, Some("wamp.2.json.batched")),
            Ok(JSON_B)
        );
        assert_eq!(
            validate_echo(&offer, None),
            Err(NegotiationError::NoSubprotocol)
        );
        assert_eq!(
            validate_echo(&offer, Some("wamp.2.cbor")),
            Err(NegotiationError::NotOffered)
        );
        assert_eq!(
            validate_echo(&offer, Some("wamp.2.json, wamp.2.msgpack")),
            Err(NegotiationError::NotOffered)
        );
        assert_eq!(
            validate_echo(&offer, Some("")),
            Err(NegotiationError::NotOffered)
        );
        // A round trip through our own server function.
        let all: Vec<Subprotocol> = Subprotocol::all().collect();
        let chosen = negotiate(&all, [client_offer(&offer).as_str()]);
        assert_eq!(chosen, Some(MSGPACK));
    }

    #[test]
    fn close_codes() {
        assert_eq!(CloseReason::Normal.websocket_code(), 1000);
        assert_eq!(CloseReason::GoingAway.websocket_code(), 1001);
        assert_eq!(CloseReason::ProtocolError.websocket_code(), 1002);
        assert_eq!(CloseReason::PolicyViolation.websocket_code(), 1008);
        assert_eq!(CloseReason::MessageTooBig.websocket_code(), 1009);
        assert_eq!(CloseReason::Internal.websocket_code(), 1011);
    }
}
