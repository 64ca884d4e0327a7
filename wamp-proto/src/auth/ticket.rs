//! Ticket authentication (`ticket`): the client sends a shared secret ("ticket") in clear in
//! `AUTHENTICATE.Signature`, after a `CHALLENGE` with an empty `Extra`. Use it only over TLS.

/// The authmethod name.
pub const METHOD: &str = "ticket";

/// The `AUTHENTICATE.Signature` for a ticket: the ticket itself, verbatim.
pub fn signature(ticket: &str) -> String {
    ticket.to_owned()
}

/// Router side: whether the received signature equals the expected ticket (constant time
/// for equal lengths).
pub fn verify(expected: &str, received: &str) -> bool {
    super::constant_time_eq(expected.as_bytes(), received.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticket_round_trip() {
        let s = signature("secret!");
        assert!(verify("secret!", &s));
        assert!(!verify("secret?", &s));
    }
}
