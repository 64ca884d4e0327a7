//! ID helpers: constants and the router-scope allocator.

use wamp_proto::id::{MAX_ID, PublicationId, RequestId, SessionId};

/// The smallest request ID (range bounds).
pub(crate) const REQUEST_MIN: RequestId = match RequestId::new(1) {
    Some(id) => id,
    None => panic!("1 is a valid ID"),
};
/// The largest request ID (range bounds).
pub(crate) const REQUEST_MAX: RequestId = match RequestId::new(MAX_ID) {
    Some(id) => id,
    None => panic!("2^53 is a valid ID"),
};
/// A valid publication ID, used where a random draw cannot fail anyway.
pub(crate) const PUBLICATION_ONE: PublicationId = match PublicationId::new(1) {
    Some(id) => id,
    None => panic!("1 is a valid ID"),
};
/// A valid session ID, used where a random draw cannot fail anyway.
pub(crate) const SESSION_ONE: SessionId = match SessionId::new(1) {
    Some(id) => id,
    None => panic!("1 is a valid ID"),
};

/// The next router-scope ID after `counter` that is not in use (sequential, wrapping).
pub(crate) fn next_id<T>(counter: &mut u64, in_use: impl Fn(T) -> bool) -> T
where
    T: TryFrom<u64> + Copy,
{
    loop {
        *counter = if *counter >= MAX_ID { 1 } else { *counter + 1 };
        if let Ok(id) = T::try_from(*counter) {
            if !in_use(id) {
                return id;
            }
        }
    }
}
