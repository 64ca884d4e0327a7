//! # wamp-bench
//!
//! A load generator for any WAMP v2 router on the loopback interface, over WebSocket or
//! RawSocket, with any of the four serializers. It speaks raw WAMP messages through
//! `wamp-proto` (no client session layer) and batches its IO, so it spends far less CPU per
//! message than the router it measures.
//!
//! Scenarios ([`Scenario`]):
//! * **rpc**: one callee, `callers` callers with `in_flight` calls each outstanding; calls/s
//!   and the latency percentiles under that load.
//! * **pubsub**: one publisher with `window` acknowledged publishes outstanding, `subscribers`
//!   subscribers; events/s delivered, events lost (acknowledged publishes times subscribers,
//!   minus events received once everything drained).
//! * **fanout**: pubsub with `fanout_subscribers` (default 100) subscribers.
//! * **latency**: one caller, one call in flight; median, p90, p99 round trip.
//! * **idle**: `sessions` sessions join and stay idle; the router's resident memory per
//!   session while they are joined, after they all left, and the growth of a second round
//!   (memory kept after a close but reused is not a leak).
//!
//! With a router PID, each scenario reports the router's CPU use over the measurement window
//! (the process and its descendants, from `/proc`) next to the bench's own. Every loop ends by
//! count or by time. The [`Target`] refuses every host that is not loopback.
//!
//! ```no_run
//! use wamp_bench::{Config, RouterTarget, Scenario, target::Target};
//!
//! let mut config = Config::default();
//! config.targets.push(RouterTarget {
//!     label: "ours".into(),
//!     target: Target::parse("rs://127.0.0.1:8080").unwrap(),
//!     pid: None,
//! });
//! config.scenarios = vec![Scenario::Rpc];
//! for outcome in wamp_bench::run(&config).unwrap() {
//!     println!("{}", wamp_bench::report::text_line(&outcome));
//! }
//! ```

use std::fmt;
use std::time::Duration;

use wamp_proto::Serializer;

pub mod conn;
pub mod hist;
pub mod procfs;
pub mod report;
mod scenario;
pub mod target;
pub mod wire;
pub mod ws;

pub use target::Target;

/// What can go wrong while loading a router.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BenchError {
    /// A socket error.
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
    /// A WebSocket handshake or framing error.
    #[error("WebSocket: {0}")]
    Ws(ws::WsError),
    /// The router refused the RawSocket handshake.
    #[error("RawSocket handshake: {0}")]
    RawHandshake(wamp_proto::rawsocket::HandshakeError),
    /// A malformed RawSocket frame from the router.
    #[error("RawSocket framing: {0}")]
    Frame(wamp_proto::rawsocket::FrameError),
    /// An undecodable message from the router.
    #[error("decode: {0}")]
    Decode(wamp_proto::DecodeError),
    /// A message the bench could not encode.
    #[error("encode: {0}")]
    Encode(wamp_proto::EncodeError),
    /// A template message could not be built.
    #[error("{0}")]
    Template(#[from] wire::TemplateError),
    /// The router answered HELLO with ABORT.
    #[error("the router refused the session: {0}")]
    Abort(String),
    /// The router answered a setup request with ERROR.
    #[error("the router refused {request}: {error}")]
    Refused {
        /// What was asked (`REGISTER`, `SUBSCRIBE`).
        request: &'static str,
        /// The error URI.
        error: String,
    },
    /// Something unexpected on the wire.
    #[error("protocol: {0}")]
    Protocol(&'static str),
    /// No answer in time.
    #[error("timed out waiting for {0}")]
    Timeout(&'static str),
    /// The router closed a connection.
    #[error("the router closed the connection")]
    Closed,
    /// `/proc` could not be read for the router PID.
    #[error("cannot read /proc for the router process: {0}")]
    Proc(std::io::Error),
    /// An invalid configuration.
    #[error("configuration: {0}")]
    Config(&'static str),
    /// A worker task failed to run to its end.
    #[error("a worker task panicked or was cancelled")]
    Task,
}

/// A load scenario; see the [crate docs](crate).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scenario {
    /// One callee, C callers x K calls in flight.
    Rpc,
    /// One publisher (windowed acknowledged publishes), S subscribers.
    PubSub,
    /// One publisher, 100 subscribers (by default).
    Fanout,
    /// One call in flight: round-trip percentiles.
    Latency,
    /// Idle sessions: router memory per session.
    Idle,
}

impl Scenario {
    /// Every scenario, in the order `all` runs them.
    pub const ALL: [Scenario; 5] = [
        Scenario::Rpc,
        Scenario::PubSub,
        Scenario::Fanout,
        Scenario::Latency,
        Scenario::Idle,
    ];

    /// The name on the command line and in reports.
    pub const fn name(self) -> &'static str {
        match self {
            Scenario::Rpc => "rpc",
            Scenario::PubSub => "pubsub",
            Scenario::Fanout => "fanout",
            Scenario::Latency => "latency",
            Scenario::Idle => "idle",
        }
    }

    /// The scenario with this name.
    pub fn parse(name: &str) -> Option<Scenario> {
        Scenario::ALL.into_iter().find(|s| s.name() == name)
    }

    /// What the scenario's rate counts.
    pub const fn unit(self) -> &'static str {
        match self {
            Scenario::Rpc | Scenario::Latency => "calls",
            Scenario::PubSub | Scenario::Fanout => "events",
            Scenario::Idle => "joins",
        }
    }
}

impl fmt::Display for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One router to load.
#[derive(Clone, Debug)]
pub struct RouterTarget {
    /// A name for the reports.
    pub label: String,
    /// Where it listens.
    pub target: Target,
    /// Its process ID, for CPU and memory figures (descendant processes included).
    pub pid: Option<u32>,
}

/// Everything a run needs. [`Config::default`] holds the command-line defaults.
#[derive(Clone, Debug)]
pub struct Config {
    /// The routers, loaded one after the other for each scenario.
    pub targets: Vec<RouterTarget>,
    /// The realm to join (anonymous authentication).
    pub realm: String,
    /// The serializer of every connection.
    pub serializer: Serializer,
    /// The scenarios, in order.
    pub scenarios: Vec<Scenario>,
    /// Measurement window of each load scenario.
    pub duration: Duration,
    /// Load before the measurement window starts.
    pub warmup: Duration,
    /// RPC: number of callers (1..=1024).
    pub callers: usize,
    /// RPC: calls each caller keeps in flight (1..=65536).
    pub in_flight: usize,
    /// PubSub: number of subscribers (1..=10000).
    pub subscribers: usize,
    /// Fan-out: number of subscribers (1..=10000).
    pub fanout_subscribers: usize,
    /// PubSub and fan-out: acknowledged publishes in flight (1..=65536).
    pub window: usize,
    /// Idle: number of sessions (1..=100000).
    pub sessions: usize,
    /// Octets of the string argument of every CALL, YIELD and PUBLISH (0..=1 MiB).
    pub payload_size: usize,
    /// Runtime worker threads: 1 is a current-thread runtime (1..=64).
    pub threads: usize,
    /// Longest wait for outstanding replies and events after the window, and for setup steps.
    pub drain_timeout: Duration,
    /// Pause before each memory sample of the idle scenario (lets the router settle).
    pub settle: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            targets: Vec::new(),
            realm: "realm1".into(),
            serializer: Serializer::MsgPack,
            scenarios: Scenario::ALL.to_vec(),
            duration: Duration::from_secs(5),
            warmup: Duration::from_secs(1),
            callers: 2,
            in_flight: 64,
            subscribers: 4,
            fanout_subscribers: 100,
            window: 64,
            sessions: 1000,
            payload_size: 16,
            threads: 1,
            drain_timeout: Duration::from_secs(5),
            settle: Duration::from_millis(500),
        }
    }
}

impl Config {
    /// Checks every bound.
    pub fn validate(&self) -> Result<(), BenchError> {
        let within = |v: usize, lo: usize, hi: usize| (lo..=hi).contains(&v);
        if self.targets.is_empty() {
            return Err(BenchError::Config("no target"));
        }
        if !within(self.callers, 1, 1024) {
            return Err(BenchError::Config("callers must be 1..=1024"));
        }
        if !within(self.in_flight, 1, 65_536) {
            return Err(BenchError::Config("in-flight must be 1..=65536"));
        }
        if !within(self.subscribers, 1, 10_000) || !within(self.fanout_subscribers, 1, 10_000) {
            return Err(BenchError::Config("subscribers must be 1..=10000"));
        }
        if !within(self.window, 1, 65_536) {
            return Err(BenchError::Config("window must be 1..=65536"));
        }
        if !within(self.sessions, 1, 100_000) {
            return Err(BenchError::Config("sessions must be 1..=100000"));
        }
        if self.payload_size > 1 << 20 {
            return Err(BenchError::Config("payload size must be at most 1 MiB"));
        }
        if !within(self.threads, 1, 64) {
            return Err(BenchError::Config("threads must be 1..=64"));
        }
        let hour = Duration::from_secs(3600);
        if self.duration.is_zero() || self.duration > hour || self.warmup > hour {
            return Err(BenchError::Config(
                "duration must be > 0 and at most an hour",
            ));
        }
        if self.drain_timeout > hour || self.settle > hour {
            return Err(BenchError::Config("timeouts must be at most an hour"));
        }
        Ok(())
    }
}

/// CPU used during a measurement window.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CpuUse {
    /// CPU time.
    pub cpu: Duration,
    /// CPU time over wall time, in percent (100 = one core busy).
    pub percent: f64,
}

/// Round-trip percentiles.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Latency {
    /// Calls measured.
    pub count: u64,
    /// Median.
    pub p50: Duration,
    /// 90th percentile.
    pub p90: Duration,
    /// 99th percentile.
    pub p99: Duration,
    /// Largest.
    pub max: Duration,
}

/// Router memory in the idle scenario (KiB of resident memory).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct IdleMemory {
    /// Sessions opened.
    pub sessions: u64,
    /// Before the sessions joined.
    pub base_kib: u64,
    /// With every session joined.
    pub joined_kib: u64,
    /// After every session left and closed.
    pub closed_kib: u64,
    /// With as many sessions joined again (a second round after the close).
    pub rejoined_kib: u64,
}

impl IdleMemory {
    /// Resident memory per joined session.
    pub fn kib_per_session(&self) -> f64 {
        self.joined_kib.saturating_sub(self.base_kib) as f64 / self.sessions.max(1) as f64
    }

    /// Resident memory still held per session after they all closed (0 = all returned).
    pub fn kib_per_session_after_close(&self) -> f64 {
        self.closed_kib.saturating_sub(self.base_kib) as f64 / self.sessions.max(1) as f64
    }

    /// Growth per session of the second round over the state after the first close: about 0
    /// when the memory held after the close is reused (kept by the allocator, not leaked),
    /// about [`IdleMemory::kib_per_session`] when each round costs anew.
    pub fn kib_per_session_second_round(&self) -> f64 {
        self.rejoined_kib.saturating_sub(self.closed_kib) as f64 / self.sessions.max(1) as f64
    }
}

/// The figures of one scenario against one router.
#[derive(Clone, Debug, PartialEq)]
pub struct ScenarioResult {
    /// Length of the measurement window.
    pub elapsed: Duration,
    /// Calls, events or joins completed in the window.
    pub completed: u64,
    /// Calls, events or joins completed over the whole run (warm-up and drain included).
    pub total: u64,
    /// Acknowledged publishes over the whole run (pubsub, fan-out).
    pub published: Option<u64>,
    /// Events lost over the whole run (pubsub, fan-out).
    pub lost: Option<u64>,
    /// ERROR replies to calls or publishes over the whole run.
    pub errors: u64,
    /// Round trips (rpc, latency).
    pub latency: Option<Latency>,
    /// Memory (idle, with a router PID).
    pub idle: Option<IdleMemory>,
    /// The router's CPU in the window (with a router PID).
    pub router_cpu: Option<CpuUse>,
    /// The bench's own CPU in the window.
    pub bench_cpu: CpuUse,
    /// Connections the scenario opened.
    pub connections: usize,
}

impl ScenarioResult {
    /// Completed operations per second of the window.
    pub fn rate(&self) -> f64 {
        let s = self.elapsed.as_secs_f64();
        if s > 0.0 {
            self.completed as f64 / s
        } else {
            0.0
        }
    }
}

/// One scenario run against one router.
#[derive(Debug)]
pub struct Outcome {
    /// The router's label.
    pub label: String,
    /// The router's address.
    pub target: Target,
    /// The scenario.
    pub scenario: Scenario,
    /// The serializer.
    pub serializer: Serializer,
    /// The figures, or what failed.
    pub result: Result<ScenarioResult, BenchError>,
}

/// Runs every scenario of `config` against every target (scenario by scenario, so the routers
/// are measured under the same machine load), on a runtime of `config.threads` threads.
pub fn run(config: &Config) -> Result<Vec<Outcome>, BenchError> {
    config.validate()?;
    let rt = if config.threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(config.threads)
            .enable_all()
            .build()?
    };
    let mut out = Vec::new();
    for &scenario in &config.scenarios {
        for t in &config.targets {
            let result = rt.block_on(scenario::run(config, t, scenario));
            out.push(Outcome {
                label: t.label.clone(),
                target: t.target.clone(),
                scenario,
                serializer: config.serializer,
                result,
            });
        }
    }
    Ok(out)
}

/// Parses a duration: seconds (`5`, `0.25`), or a number with `s`, `ms` or `us`.
pub fn parse_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    let (num, scale) = if let Some(n) = s.strip_suffix("ms") {
        (n, 1e-3)
    } else if let Some(n) = s.strip_suffix("us") {
        (n, 1e-6)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1.0)
    } else {
        (s, 1.0)
    };
    let v: f64 = num.trim().parse().ok()?;
    if !v.is_finite() || v < 0.0 || v * scale > 1e9 {
        return None;
    }
    Some(Duration::from_secs_f64(v * scale))
}

/// The system load averages (the text of `/proc/loadavg`, first three fields), for reports.
pub fn load_average() -> Option<String> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    Some(
        text.split_ascii_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" "),
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("5"), Some(Duration::from_secs(5)));
        assert_eq!(parse_duration("0.25"), Some(Duration::from_millis(250)));
        assert_eq!(parse_duration("2s"), Some(Duration::from_secs(2)));
        assert_eq!(parse_duration("300ms"), Some(Duration::from_millis(300)));
        assert_eq!(parse_duration("50us"), Some(Duration::from_micros(50)));
        assert_eq!(parse_duration("-1"), None);
        assert_eq!(parse_duration("abc"), None);
        assert_eq!(parse_duration("inf"), None);
        assert_eq!(parse_duration("NaN"), None);
    }

    #[test]
    fn scenario_names_round_trip() {
        for s in Scenario::ALL {
            assert_eq!(Scenario::parse(s.name()), Some(s));
        }
        assert_eq!(Scenario::parse("all"), None);
    }

    #[test]
    fn config_bounds() {
        let mut c = Config::default();
        assert!(matches!(c.validate(), Err(BenchError::Config(_))));
        c.targets.push(RouterTarget {
            label: "x".into(),
            target: Target::parse("rs://127.0.0.1:1").unwrap(),
            pid: None,
        });
        assert!(c.validate().is_ok());
        c.in_flight = 0;
        assert!(c.validate().is_err());
        c.in_flight = 1;
        c.duration = Duration::ZERO;
        assert!(c.validate().is_err());
    }

    #[test]
    fn load_average_is_read() {
        let l = load_average().unwrap();
        assert_eq!(l.split(' ').count(), 3);
    }
}
