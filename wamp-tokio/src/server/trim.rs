//! Giving memory back to the system after many connections closed.
//!
//! glibc's `malloc` keeps what `free` returns: after a thousand sessions leave, the process
//! keeps their pages, to be reused by the next thousand. `malloc_trim(0)` hands every whole
//! free page back (`madvise`), in every arena. The server calls it, off the runtime's worker
//! threads, once the number of open connections has fallen well below its last peak and
//! stayed there for a moment ([`ServerConfig::release_memory`](super::ServerConfig)).
//! Measured with `wamp-bench --scenario idle` on a fresh router: 1000 RawSocket sessions
//! raise the RSS by 4.2 KiB each, of which 1.7 KiB remain after they close (2.2 of 6.1 KiB
//! for WebSocket) instead of all of it.
//!
//! Other platforms and allocators: nothing is done.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use super::Metrics;

/// How often the connection count is looked at.
const TICK: Duration = Duration::from_secs(1);

/// Trim once the count fell by this many connections (and [`FRACTION`] of the peak).
const MIN_DROP: u64 = 64;

/// ... and by at least 1/FRACTION of the peak.
const FRACTION: u64 = 8;

/// Whether a trim is due: the count fell by at least [`MIN_DROP`] and a [`FRACTION`] of the
/// peak since the last trim, and did not change during the last tick (the closing is over).
pub(crate) fn due(peak: u64, previous: u64, now: u64) -> bool {
    let fell = peak.saturating_sub(now);
    fell >= MIN_DROP && fell >= peak / FRACTION && previous == now
}

/// Watches the open-connection count until the server ends (the task is aborted).
pub(crate) async fn watch(metrics: Arc<Metrics>) {
    let mut peak = 0u64;
    let mut previous = 0u64;
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let now = metrics.open_connections.load(Ordering::Relaxed);
        if due(peak, previous, now) {
            // It walks the whole heap: not on a worker thread.
            let _ = tokio::task::spawn_blocking(release).await;
            peak = now;
        }
        peak = peak.max(now);
        previous = now;
    }
}

/// Returns free memory to the system, where the allocator can.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn release() {
    unsafe extern "C" {
        /// glibc: releases free memory at the top of the heap and every whole free page
        /// inside it, in every arena; returns 1 if it released any.
        fn malloc_trim(pad: usize) -> std::ffi::c_int;
    }
    // SAFETY: `malloc_trim` has no preconditions; it takes the allocator's own locks and is
    // safe to call from any thread at any time.
    let released = unsafe { malloc_trim(0) };
    tracing::debug!(released, "malloc_trim after connections closed");
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn release() {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_after_a_large_settled_drop_only() {
        // Growing, or steady: never.
        assert!(!due(0, 0, 0));
        assert!(!due(1000, 1000, 1000));
        // A small drop: not worth it.
        assert!(!due(1000, 990, 990));
        assert!(!due(100, 50, 50));
        // A large drop still under way: wait.
        assert!(!due(1000, 600, 400));
        // A large drop that settled: trim.
        assert!(due(1000, 400, 400));
        assert!(due(1000, 0, 0));
        // Large in absolute terms but small against the peak: not yet.
        assert!(!due(100_000, 99_900, 99_900));
    }

    #[test]
    fn release_can_be_called_any_time() {
        let v: Vec<Vec<u8>> = (0..1000).map(|i| vec![0; 1000 + i]).collect();
        drop(v);
        release();
        release();
    }
}
