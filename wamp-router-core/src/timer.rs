//! [`TimerQueue`]: every deadline of the router in one ordered map.

use std::collections::BTreeMap;
use std::time::Instant;

/// Identifies one armed timer (to disarm it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TimerKey {
    deadline: Instant,
    seq: u64,
}

impl TimerKey {
    /// When the timer fires.
    pub fn deadline(self) -> Instant {
        self.deadline
    }
}

/// Deadlines ordered by time, then by arming order (so that timers due at the same instant
/// fire in the order they were armed: deterministic).
#[derive(Debug)]
pub struct TimerQueue<T> {
    map: BTreeMap<TimerKey, T>,
    seq: u64,
}

impl<T> Default for TimerQueue<T> {
    fn default() -> Self {
        TimerQueue {
            map: BTreeMap::new(),
            seq: 0,
        }
    }
}

impl<T> TimerQueue<T> {
    /// An empty queue.
    pub fn new() -> Self {
        Self::default()
    }
    /// Arms a timer.
    pub fn insert(&mut self, deadline: Instant, value: T) -> TimerKey {
        self.seq += 1;
        let key = TimerKey {
            deadline,
            seq: self.seq,
        };
        self.map.insert(key, value);
        key
    }
    /// Disarms a timer; returns its value if it was still armed.
    pub fn remove(&mut self, key: TimerKey) -> Option<T> {
        self.map.remove(&key)
    }
    /// The earliest deadline.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.map.first_key_value().map(|(k, _)| k.deadline)
    }
    /// Removes and returns the earliest timer if it is due at `now`.
    pub fn pop_due(&mut self, now: Instant) -> Option<(TimerKey, T)> {
        match self.map.first_key_value() {
            Some((k, _)) if k.deadline <= now => self.map.pop_first(),
            _ => None,
        }
    }
    /// Number of armed timers.
    pub fn len(&self) -> usize {
        self.map.len()
    }
    /// Whether no timer is armed.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    #[allow(clippy::disallowed_methods)] // the test's virtual clock origin
    fn ordered_by_deadline_then_arming() {
        let t0 = Instant::now();
        let mut q = TimerQueue::new();
        let a = q.insert(t0 + Duration::from_secs(2), "a");
        q.insert(t0 + Duration::from_secs(1), "b");
        q.insert(t0 + Duration::from_secs(1), "c");
        assert_eq!(q.next_deadline(), Some(t0 + Duration::from_secs(1)));
        assert!(q.pop_due(t0).is_none());
        assert_eq!(
            q.pop_due(t0 + Duration::from_secs(5)).map(|x| x.1),
            Some("b")
        );
        assert_eq!(q.remove(a), Some("a"));
        assert_eq!(
            q.pop_due(t0 + Duration::from_secs(5)).map(|x| x.1),
            Some("c")
        );
        assert!(q.is_empty());
        assert_eq!(q.next_deadline(), None);
    }
}
