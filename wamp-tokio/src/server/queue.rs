//! A connection's outgoing queue: bounded, single producer (the router task), single consumer
//! (the connection task), with the router's "kill" signal in the same allocation.
//!
//! Why not `tokio::sync::mpsc`: a bounded tokio channel allocates its shared state and a first
//! block of 32 slots up front, about 1.1 KiB per connection whether or not anything is ever
//! queued. This queue is one small allocation; its `VecDeque` grows only while messages wait
//! and is released again once the connection has caught up, so an idle connection holds a
//! few dozen octets here.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::Notify;

/// Capacity kept after the queue empties; anything larger is released.
const KEEP: usize = 16;

struct State<T> {
    items: VecDeque<T>,
    /// The consumer is gone.
    rx_closed: bool,
    /// The producer is gone.
    tx_closed: bool,
}

struct Shared<T> {
    state: Mutex<State<T>>,
    bound: usize,
    /// Wakes the consumer: an item, or the producer went away.
    ready: Notify,
    /// Set by [`Sender::kill`].
    killed: AtomicBool,
    /// Wakes whoever waits in [`Receiver::killed`].
    kill: Notify,
}

impl<T> Shared<T> {
    fn lock(&self) -> MutexGuard<'_, State<T>> {
        // Nothing panics while holding the lock; a poisoned lock still holds a valid queue.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A bounded queue of at most `bound` items (at least 1).
pub(crate) fn channel<T>(bound: usize) -> (Sender<T>, Receiver<T>) {
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            items: VecDeque::new(),
            rx_closed: false,
            tx_closed: false,
        }),
        bound: bound.max(1),
        ready: Notify::new(),
        killed: AtomicBool::new(false),
        kill: Notify::new(),
    });
    (
        Sender {
            shared: shared.clone(),
        },
        Receiver { shared },
    )
}

/// Why [`Sender::try_send`] failed; the item comes back.
#[derive(Debug)]
pub(crate) enum TrySendError<T> {
    /// `bound` items are waiting already.
    Full(T),
    /// The receiver is gone.
    Closed(T),
}

/// The router task's end.
pub(crate) struct Sender<T> {
    shared: Arc<Shared<T>>,
}

impl<T> Sender<T> {
    /// Queues `item` unless the queue is full or the receiver is gone.
    pub(crate) fn try_send(&self, item: T) -> Result<(), TrySendError<T>> {
        {
            let mut st = self.shared.lock();
            if st.rx_closed {
                return Err(TrySendError::Closed(item));
            }
            if st.items.len() >= self.shared.bound {
                return Err(TrySendError::Full(item));
            }
            st.items.push_back(item);
        }
        self.shared.ready.notify_one();
        Ok(())
    }

    /// Tells the connection to drop its transport at once (it is a slow consumer).
    pub(crate) fn kill(&self) {
        self.shared.killed.store(true, Ordering::Release);
        self.shared.kill.notify_waiters();
        // A connection not waiting on `killed` right now sees the flag the next time.
        self.shared.kill.notify_one();
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        self.shared.lock().tx_closed = true;
        self.shared.ready.notify_one();
    }
}

/// The connection task's end.
pub(crate) struct Receiver<T> {
    shared: Arc<Shared<T>>,
}

impl<T> Receiver<T> {
    /// The next item; `None` once the sender is gone and the queue is empty.
    pub(crate) async fn recv(&self) -> Option<T> {
        loop {
            {
                let mut st = self.shared.lock();
                if let Some(item) = pop(&mut st) {
                    return Some(item);
                }
                if st.tx_closed {
                    return None;
                }
            }
            // `notify_one` stores a permit when nobody waits, so an item pushed between the
            // check above and this await is not missed.
            self.shared.ready.notified().await;
        }
    }

    /// The next item if one is queued.
    pub(crate) fn try_recv(&self) -> Option<T> {
        pop(&mut self.shared.lock())
    }

    /// Resolves once [`Sender::kill`] was called (at once if it was already).
    pub(crate) async fn killed(&self) {
        loop {
            let notified = self.shared.kill.notified();
            if self.shared.killed.load(Ordering::Acquire) {
                return;
            }
            notified.await;
        }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let mut st = self.shared.lock();
        st.rx_closed = true;
        // Queued messages are for a connection that is gone.
        st.items = VecDeque::new();
    }
}

fn pop<T>(st: &mut State<T>) -> Option<T> {
    let item = st.items.pop_front();
    if st.items.is_empty() && st.items.capacity() > KEEP {
        st.items = VecDeque::new();
    }
    item
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn bounded_fifo_and_closing() {
        let (tx, rx) = channel::<u32>(2);
        tx.try_send(1).unwrap();
        tx.try_send(2).unwrap();
        assert!(matches!(tx.try_send(3), Err(TrySendError::Full(3))));
        assert_eq!(rx.recv().await, Some(1));
        assert_eq!(rx.try_recv(), Some(2));
        assert_eq!(rx.try_recv(), None);
        tx.try_send(4).unwrap();
        drop(tx);
        // Items queued before the sender went away are still delivered.
        assert_eq!(rx.recv().await, Some(4));
        assert_eq!(rx.recv().await, None);

        let (tx, rx) = channel::<u32>(1);
        drop(rx);
        assert!(matches!(tx.try_send(1), Err(TrySendError::Closed(1))));
    }

    #[tokio::test]
    async fn recv_wakes_on_send_and_kill_is_sticky() {
        let (tx, rx) = channel::<u32>(8);
        let t = tokio::spawn(async move {
            let v = rx.recv().await;
            rx.killed().await;
            (v, rx)
        });
        tokio::task::yield_now().await;
        tx.try_send(7).unwrap();
        tx.kill();
        let (v, rx) = t.await.unwrap();
        assert_eq!(v, Some(7));
        // Already killed: resolves at once, again.
        rx.killed().await;
    }

    #[test]
    fn capacity_is_released_once_drained() {
        let (tx, rx) = channel::<u64>(1000);
        for i in 0..100 {
            tx.try_send(i).unwrap();
        }
        while rx.try_recv().is_some() {}
        assert_eq!(rx.shared.lock().items.capacity(), 0);
    }
}
