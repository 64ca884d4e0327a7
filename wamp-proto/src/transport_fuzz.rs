//! Bodies of the transport fuzz entry points (RawSocket handshakes and framer, [`Link`]).
//!
//! `crate::fuzzing` exposes them to the fuzz targets with the `fuzzing` feature; the unit
//! proptests run them too. They must not panic on any input; their assertions check properties
//! that hold for every input, so a panic is a bug in this crate.

use crate::link::{Incoming, Link, LinkConfig, Transport};
use crate::rawsocket::{
    ClientHandshake, FrameDecoder, HEADER_LEN, HandshakeError, MAX_PAYLOAD, MaxLength,
    ServerHandshake, encode_frame,
};
use crate::serializer::Serializer;
use crate::websocket::Subprotocol;

/// Payload limits the framer target picks from (first octet, low 3 bits).
const LIMITS: [usize; 8] = [0, 1, 3, 16, 255, 1024, 65536, MAX_PAYLOAD];

/// The first 4 octets go through both handshake sides; then the first octet picks a payload
/// limit and a chunk size and the rest goes through a [`FrameDecoder`] in those chunks. Every
/// decoded frame, encoded again, must reproduce the input octets exactly (the header encoding
/// is canonical).
pub(crate) fn rawsocket_framer(data: &[u8]) {
    if let [a, b, c, d, ..] = *data {
        handshakes([a, b, c, d]);
    }
    let Some((&ctl, rest)) = data.split_first() else {
        return;
    };
    let limit = LIMITS[usize::from(ctl & 7)];
    let chunk = usize::from(ctl >> 3) + 1;
    let mut dec = FrameDecoder::new(limit);
    let mut again = Vec::new();
    let mut failed = false;
    'outer: for part in rest.chunks(chunk) {
        let mut input = part;
        loop {
            match dec.decode(input) {
                Err(_) => {
                    failed = true;
                    break 'outer;
                }
                Ok((used, frame)) => {
                    assert!(used <= input.len());
                    input = &input[used..];
                    let Some(f) = frame else {
                        assert!(input.is_empty());
                        break;
                    };
                    assert!(f.payload.len() <= limit);
                    if encode_frame(f.kind, f.payload, &mut again).is_err() {
                        panic!("a decoded frame cannot be encoded");
                    }
                }
            }
        }
        assert!(dec.buffered() <= limit + HEADER_LEN);
    }
    assert!(rest.starts_with(&again), "re-encoded frames differ");
    if !failed {
        assert_eq!(again.len() + dec.buffered(), rest.len());
    }
}

fn handshakes(req: [u8; 4]) {
    let json_only = [Serializer::Json];
    for supported in [&Serializer::ALL[..], &json_only[..]] {
        let server = ServerHandshake::new(supported, MaxLength::at_most(usize::from(req[1]) << 9));
        match server.handle_request(req) {
            Ok((n, reply)) => {
                // Only a canonical request is accepted, and a client agrees with the reply.
                let client = ClientHandshake::new(n.serializer, n.max_send);
                assert_eq!(client.request(), req);
                assert_eq!(
                    client.handle_reply(reply).map(|c| c.max_send),
                    Ok(n.max_receive)
                );
            }
            Err(rej) => {
                assert_eq!(rej.reply.is_none(), rej.error == HandshakeError::BadMagic);
                if let Some(reply) = rej.reply {
                    let client = ClientHandshake::new(Serializer::Json, MaxLength::MAX);
                    assert!(matches!(
                        client.handle_reply(reply),
                        Err(HandshakeError::Refused(_))
                    ));
                }
            }
        }
    }
    let client = ClientHandshake::new(Serializer::Json, MaxLength::MAX);
    if let Ok(n) = client.handle_reply(req) {
        assert_eq!(req[1] & 0x0F, Serializer::Json.rawsocket_id());
        assert_eq!(n.max_send.exponent(), req[1] >> 4);
    }
}

/// The first octet picks the serializer, the transport (RawSocket, WebSocket, batched
/// WebSocket) and the size limit, the second a chunk size (RawSocket) or message size
/// (WebSocket); the rest is input. Every decoded message must go out again through a link with
/// the same configuration and come back equal.
pub(crate) fn link(data: &[u8]) {
    let [ctl, size, rest @ ..] = data else {
        return;
    };
    let serializer = Serializer::ALL[usize::from(*ctl) % Serializer::ALL.len()];
    let transport = match (ctl >> 3) % 3 {
        0 => Transport::RawSocket,
        1 => Transport::WebSocket { batched: false },
        _ => Transport::WebSocket { batched: true },
    };
    let mut config = match transport {
        Transport::RawSocket => LinkConfig::rawsocket(crate::rawsocket::Negotiated {
            serializer,
            max_receive: MaxLength::MAX,
            max_send: MaxLength::MAX,
        }),
        Transport::WebSocket { batched } => {
            LinkConfig::websocket(Subprotocol::new(serializer, batched))
        }
    };
    if ctl & 0x80 != 0 {
        config.max_incoming = 64;
        config.max_pending_pongs = 16;
    }
    let size = usize::from(*size) + 1;
    let mut link = Link::new(config);
    let mut received = Vec::new();
    match transport {
        Transport::RawSocket => {
            'outer: for part in rest.chunks(size) {
                let mut input = part;
                loop {
                    match link.receive_rawsocket(&mut input) {
                        Err(_) => break 'outer,
                        Ok(None) => {
                            assert!(input.is_empty());
                            break;
                        }
                        Ok(Some(Incoming::Pong(p))) => assert!(p.len() <= config.max_incoming),
                        Ok(Some(Incoming::Message(m))) => received.push(m),
                    }
                }
            }
            let mut pongs = Vec::new();
            link.take_pongs(&mut pongs);
            assert!(!link.has_pending_pongs());
            assert!(
                pongs.len()
                    <= config
                        .max_pending_pongs
                        .max(config.max_incoming + HEADER_LEN)
            );
        }
        Transport::WebSocket { .. } => {
            'ws: for ws_message in rest.chunks(size) {
                let Ok(messages) = link.receive_websocket(ws_message) else {
                    break;
                };
                for m in messages {
                    match m {
                        Ok(m) => received.push(m),
                        Err(_) => break 'ws,
                    }
                }
            }
        }
    }
    // Whatever was accepted goes out and back unchanged.
    for m in received {
        let mut wire = Vec::new();
        if link.encode(&m, &mut wire).is_err() {
            continue;
        }
        let mut rx = Link::new(LinkConfig {
            max_incoming: usize::MAX,
            ..config
        });
        let back = match transport {
            Transport::RawSocket => {
                let mut input: &[u8] = &wire;
                match rx.receive_rawsocket(&mut input) {
                    Ok(Some(Incoming::Message(b))) => Some(b),
                    _ => None,
                }
            }
            Transport::WebSocket { .. } => rx
                .receive_websocket(&wire)
                .ok()
                .and_then(|mut it| it.next())
                .and_then(Result::ok),
        };
        assert_eq!(
            back.as_ref(),
            Some(&m),
            "a message did not survive its own link"
        );
    }
}
