//! The scenarios: setup, load tasks, measurement window, drain, teardown.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::{Notify, watch};
use tokio::task::{JoinError, JoinSet};
use tokio::time::{Instant, sleep, sleep_until, timeout_at};
use wamp_proto::id::RequestId;
use wamp_proto::message::{Call, Payload, Publish, Register, Subscribe, Yield};
use wamp_proto::{Dict, Message, MessageKind, Uri, Value};

use crate::conn::{Conn, ConnOptions, Received};
use crate::hist::Histogram;
use crate::procfs::{self, Sample};
use crate::wire::Template;
use crate::{
    BenchError, Config, CpuUse, IdleMemory, Latency, RouterTarget, Scenario, ScenarioResult,
};

const RESULT: u64 = MessageKind::Result.code();
const INVOCATION: u64 = MessageKind::Invocation.code();
const EVENT: u64 = MessageKind::Event.code();
const PUBLISHED: u64 = MessageKind::Published.code();

/// Connections opened at once during setup.
const SETUP_CONCURRENCY: usize = 32;

/// Read buffer of idle sessions (they receive nothing but the WELCOME and GOODBYE).
const IDLE_READ_BUFFER: usize = 4 * 1024;

/// Everything one scenario run needs.
struct Ctx<'a> {
    config: &'a Config,
    target: &'a RouterTarget,
    /// Unique prefix of the procedure and topic URIs of this run.
    prefix: String,
    opts: ConnOptions,
    /// No task outlives this.
    deadline: Instant,
}

impl Ctx<'_> {
    fn payload(&self) -> Payload {
        if self.config.payload_size == 0 {
            Payload::default()
        } else {
            Payload::args(vec![Value::from("x".repeat(self.config.payload_size))])
        }
    }

    async fn open(&self, opts: ConnOptions) -> Result<Conn, BenchError> {
        Conn::open(
            &self.target.target,
            self.config.serializer,
            &self.config.realm,
            opts,
        )
        .await
    }

    /// Opens `n` sessions, [`SETUP_CONCURRENCY`] at a time.
    async fn open_many(&self, n: usize, opts: ConnOptions) -> Result<Vec<Conn>, BenchError> {
        let mut set = JoinSet::new();
        let mut conns = Vec::with_capacity(n);
        let mut started = 0;
        while conns.len() < n {
            while started < n && set.len() < SETUP_CONCURRENCY {
                let (target, ser, realm) = (
                    self.target.target.clone(),
                    self.config.serializer,
                    self.config.realm.clone(),
                );
                set.spawn(async move { Conn::open(&target, ser, &realm, opts).await });
                started += 1;
            }
            match set.join_next().await {
                Some(r) => conns.push(flatten(r)?),
                None => break,
            }
        }
        Ok(conns)
    }
}

fn flatten<T>(r: Result<Result<T, BenchError>, JoinError>) -> Result<T, BenchError> {
    r.map_err(|_| BenchError::Task)?
}

/// A per-process sequence for unique URIs.
static RUN: AtomicU64 = AtomicU64::new(0);

pub(crate) async fn run(
    config: &Config,
    target: &RouterTarget,
    scenario: Scenario,
) -> Result<ScenarioResult, BenchError> {
    let run = RUN.fetch_add(1, Ordering::Relaxed);
    let opts = ConnOptions {
        setup_timeout: config.drain_timeout.max(Duration::from_secs(1)),
        ..ConnOptions::default()
    };
    // Setup of every connection, warm-up, window, two drains, closing: all bounded.
    let setup = opts.setup_timeout * 4;
    let deadline = Instant::now()
        + setup
        + config.warmup
        + config.duration
        + config.drain_timeout * 3
        + config.settle * 2
        + Duration::from_secs(10);
    let ctx = Ctx {
        config,
        target,
        prefix: format!("bench.{}.{}.{}", std::process::id(), run, scenario.name()),
        opts,
        deadline,
    };
    match scenario {
        Scenario::Rpc => rpc(&ctx, config.callers, config.in_flight).await,
        Scenario::Latency => rpc(&ctx, 1, 1).await,
        Scenario::PubSub => pubsub(&ctx, config.subscribers).await,
        Scenario::Fanout => pubsub(&ctx, config.fanout_subscribers).await,
        Scenario::Idle => idle(&ctx).await,
    }
}

// ---------------------------------------------------------------------------------------------
// Measurement
// ---------------------------------------------------------------------------------------------

/// State shared by the load tasks and the measuring task.
#[derive(Debug, Default)]
struct Shared {
    /// Calls completed or events received so far.
    ops: AtomicU64,
    /// Inside the measurement window (latencies are recorded only then).
    measuring: AtomicBool,
    /// The window is over: stop issuing new requests and drain.
    stop: AtomicBool,
    /// Events received by each subscriber (pubsub).
    received: Vec<AtomicU64>,
    /// Subscribers made progress, or the window ended: wakes the publisher.
    progress: Notify,
}

impl Shared {
    fn with_subscribers(n: usize) -> Self {
        Shared {
            received: (0..n).map(|_| AtomicU64::new(0)).collect(),
            ..Shared::default()
        }
    }

    /// Events the slowest subscriber received (`u64::MAX` without subscribers).
    fn delivered(&self) -> u64 {
        self.received
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .min()
            .unwrap_or(u64::MAX)
    }
}

/// CPU samples at the start of a window.
struct Meter {
    pid: Option<u32>,
    start: std::time::Instant,
    router: Option<Sample>,
    me: Sample,
}

/// What a window measured.
struct Window {
    elapsed: Duration,
    router_cpu: Option<CpuUse>,
    bench_cpu: CpuUse,
}

fn sample_router(pid: Option<u32>) -> Result<Option<Sample>, BenchError> {
    pid.map(procfs::sample_tree)
        .transpose()
        .map_err(BenchError::Proc)
}

fn cpu_use(cpu: Duration, wall: Duration) -> CpuUse {
    let w = wall.as_secs_f64();
    CpuUse {
        cpu,
        percent: if w > 0.0 {
            cpu.as_secs_f64() / w * 100.0
        } else {
            0.0
        },
    }
}

impl Meter {
    fn start(pid: Option<u32>) -> Result<Meter, BenchError> {
        let router = sample_router(pid)?;
        let me = procfs::sample_self()?;
        Ok(Meter {
            pid,
            start: std::time::Instant::now(),
            router,
            me,
        })
    }

    fn finish(self) -> Result<Window, BenchError> {
        let elapsed = self.start.elapsed();
        let me = procfs::sample_self()?;
        let router = sample_router(self.pid)?;
        Ok(Window {
            elapsed,
            router_cpu: match (self.router, router) {
                (Some(a), Some(b)) => Some(cpu_use(b.cpu_since(&a), elapsed)),
                _ => None,
            },
            bench_cpu: cpu_use(me.cpu_since(&self.me), elapsed),
        })
    }
}

/// Warm-up, then the window; always leaves `shared.stop` set.
async fn measure(ctx: &Ctx<'_>, shared: &Shared) -> Result<(Window, u64), BenchError> {
    let r = async {
        sleep(ctx.config.warmup).await;
        let meter = Meter::start(ctx.target.pid)?;
        let ops0 = shared.ops.load(Ordering::Relaxed);
        shared.measuring.store(true, Ordering::Relaxed);
        sleep(ctx.config.duration).await;
        shared.measuring.store(false, Ordering::Relaxed);
        let ops1 = shared.ops.load(Ordering::Relaxed);
        let w = meter.finish()?;
        Ok((w, ops1 - ops0))
    }
    .await;
    shared.stop.store(true, Ordering::Relaxed);
    shared.progress.notify_one();
    r
}

// ---------------------------------------------------------------------------------------------
// Setup helpers
// ---------------------------------------------------------------------------------------------

/// Whether `m` is an ERROR answering a request of `kind`.
fn is_error_for(m: &Message, kind: MessageKind) -> bool {
    matches!(m, Message::Error(e) if e.request_type == kind)
}

fn request(id: u64) -> Result<RequestId, BenchError> {
    RequestId::new(id).ok_or(BenchError::Protocol("request ID out of range"))
}

async fn register(conn: &mut Conn, procedure: &str, within: Duration) -> Result<(), BenchError> {
    let msg: Message = Register {
        request: request(1)?,
        options: Dict::new(),
        procedure: Uri::from_wire(procedure),
    }
    .into();
    conn.send(&msg)?;
    conn.flush().await?;
    match conn.expect_message(within, "REGISTERED").await? {
        Message::Registered(_) => Ok(()),
        Message::Error(e) => Err(BenchError::Refused {
            request: "REGISTER",
            error: e.error.to_string(),
        }),
        _ => Err(BenchError::Protocol("expected REGISTERED")),
    }
}

async fn subscribe_all(
    conns: &mut [Conn],
    topic: &str,
    within: Duration,
) -> Result<(), BenchError> {
    let msg: Message = Subscribe {
        request: request(1)?,
        options: Dict::new(),
        topic: Uri::from_wire(topic),
    }
    .into();
    for c in conns.iter_mut() {
        c.send(&msg)?;
        c.flush().await?;
    }
    for c in conns.iter_mut() {
        match c.expect_message(within, "SUBSCRIBED").await? {
            Message::Subscribed(_) => {}
            Message::Error(e) => {
                return Err(BenchError::Refused {
                    request: "SUBSCRIBE",
                    error: e.error.to_string(),
                });
            }
            _ => return Err(BenchError::Protocol("expected SUBSCRIBED")),
        }
    }
    Ok(())
}

/// Closes every connection, [`SETUP_CONCURRENCY`] at a time.
async fn close_all(conns: Vec<Conn>, within: Duration) -> Result<(), BenchError> {
    let mut set = JoinSet::new();
    let mut first_err = None;
    for c in conns {
        if set.len() >= SETUP_CONCURRENCY {
            if let Some(r) = set.join_next().await {
                if let Err(e) = flatten(r) {
                    first_err.get_or_insert(e);
                }
            }
        }
        set.spawn(c.close(within));
    }
    while let Some(r) = set.join_next().await {
        if let Err(e) = flatten(r) {
            first_err.get_or_insert(e);
        }
    }
    first_err.map_or(Ok(()), Err)
}

// ---------------------------------------------------------------------------------------------
// RPC and latency
// ---------------------------------------------------------------------------------------------

async fn rpc(
    ctx: &Ctx<'_>,
    callers: usize,
    in_flight: usize,
) -> Result<ScenarioResult, BenchError> {
    let ser = ctx.config.serializer;
    let procedure = format!("{}.echo", ctx.prefix);
    let mut callee = ctx.open(ctx.opts).await?;
    register(&mut callee, &procedure, ctx.opts.setup_timeout).await?;
    let callers = ctx.open_many(callers, ctx.opts).await?;
    let connections = callers.len() + 1;

    let call = Arc::new(Template::new(
        ser,
        &Call {
            request: request(1)?,
            options: Dict::new(),
            procedure: Uri::from_wire(&procedure),
            payload: ctx.payload(),
        }
        .into(),
    )?);
    let yield_t = Arc::new(Template::new(
        ser,
        &Yield {
            request: request(1)?,
            options: Dict::new(),
            payload: ctx.payload(),
        }
        .into(),
    )?);

    let shared = Arc::new(Shared::default());
    let (stop_tx, stop_rx) = watch::channel(false);
    let callee_task = tokio::spawn(callee_loop(
        callee,
        yield_t,
        stop_rx,
        ctx.deadline,
        ctx.opts.setup_timeout,
    ));
    let mut tasks = JoinSet::new();
    for c in callers {
        tasks.spawn(caller_loop(
            c,
            call.clone(),
            in_flight,
            shared.clone(),
            ctx.config.drain_timeout,
            ctx.deadline,
        ));
    }
    let window = measure(ctx, &shared).await;

    let mut hist = Histogram::new();
    let mut errors = 0;
    let mut total = 0;
    let mut first_err = None;
    while let Some(r) = tasks.join_next().await {
        match flatten(r) {
            Ok(s) => {
                hist.merge(&s.hist);
                errors += s.errors;
                total += s.completed;
            }
            Err(e) => {
                first_err.get_or_insert(e);
            }
        }
    }
    let _ = stop_tx.send(true);
    let callee_result = flatten(callee_task.await);
    let (window, completed) = window?;
    if let Some(e) = first_err {
        return Err(e);
    }
    callee_result?;
    let d = Duration::from_nanos;
    Ok(ScenarioResult {
        elapsed: window.elapsed,
        completed,
        total,
        published: None,
        lost: None,
        errors,
        latency: Some(Latency {
            count: hist.count(),
            p50: d(hist.percentile(50.0)),
            p90: d(hist.percentile(90.0)),
            p99: d(hist.percentile(99.0)),
            max: d(hist.max()),
        }),
        idle: None,
        router_cpu: window.router_cpu,
        bench_cpu: window.bench_cpu,
        connections,
    })
}

struct CallerStats {
    completed: u64,
    errors: u64,
    hist: Histogram,
}

/// Keeps `k` calls in flight until `shared.stop`, then waits for the outstanding ones and
/// leaves.
async fn caller_loop(
    mut conn: Conn,
    call: Arc<Template>,
    k: usize,
    shared: Arc<Shared>,
    drain: Duration,
    deadline: Instant,
) -> Result<CallerStats, BenchError> {
    // Send times by request ID modulo a power of two above 2k (tagged with the ID, so a very
    // late reply whose slot was reused is simply not timed).
    let mask = (2 * k).next_power_of_two() as u64 - 1;
    let now = Instant::now();
    let mut sent_at: Vec<(u64, Instant)> = vec![(0, now); mask as usize + 1];
    let mut next_id = 1u64;
    let mut outstanding = 0usize;
    let mut stats = CallerStats {
        completed: 0,
        errors: 0,
        hist: Histogram::new(),
    };
    let send = |conn: &mut Conn,
                sent_at: &mut [(u64, Instant)],
                now: Instant,
                next_id: &mut u64|
     -> Result<(), BenchError> {
        let id = *next_id;
        *next_id += 1;
        conn.send_template(&call, id)?;
        sent_at[(id & mask) as usize] = (id, now);
        Ok(())
    };
    for _ in 0..k {
        send(&mut conn, &mut sent_at, now, &mut next_id)?;
        outstanding += 1;
    }
    conn.flush().await?;
    let mut batch = Vec::with_capacity(1024);
    let mut stop_by = deadline;
    let mut stopping = false;
    loop {
        if !stopping && shared.stop.load(Ordering::Relaxed) {
            stopping = true;
            stop_by = deadline.min(Instant::now() + drain);
        }
        if stopping && outstanding == 0 {
            break;
        }
        timeout_at(stop_by, conn.recv(&mut batch))
            .await
            .map_err(|_| BenchError::Timeout("RESULT"))??;
        let now = Instant::now();
        let measuring = shared.measuring.load(Ordering::Relaxed);
        let mut done = 0;
        for m in batch.drain(..) {
            let failed = match m {
                Received::Hot { code: RESULT, id } => {
                    if measuring {
                        let (tag, at) = sent_at[(id & mask) as usize];
                        if tag == id {
                            stats.hist.record(now.duration_since(at).as_nanos() as u64);
                        }
                    }
                    false
                }
                Received::Msg(m) if is_error_for(&m, MessageKind::Call) => true,
                Received::Msg(m) if matches!(*m, Message::Goodbye(_) | Message::Abort(_)) => {
                    return Err(BenchError::Closed);
                }
                _ => continue,
            };
            outstanding = outstanding.saturating_sub(1);
            if failed {
                stats.errors += 1;
            } else {
                done += 1;
            }
            if !stopping {
                send(&mut conn, &mut sent_at, now, &mut next_id)?;
                outstanding += 1;
            }
        }
        stats.completed += done;
        shared.ops.fetch_add(done, Ordering::Relaxed);
        if conn.has_queued() {
            conn.flush().await?;
        }
    }
    conn.close(drain).await?;
    Ok(stats)
}

/// Answers every INVOCATION with the YIELD template until told to stop; then leaves.
async fn callee_loop(
    mut conn: Conn,
    yield_t: Arc<Template>,
    mut stop: watch::Receiver<bool>,
    deadline: Instant,
    close_within: Duration,
) -> Result<(), BenchError> {
    let mut batch = Vec::with_capacity(1024);
    loop {
        tokio::select! {
            biased;
            _ = stop.changed() => break,
            _ = sleep_until(deadline) => return Err(BenchError::Timeout("the end of the run")),
            r = conn.recv(&mut batch) => r?,
        }
        for m in batch.drain(..) {
            match m {
                Received::Hot {
                    code: INVOCATION,
                    id,
                } => conn.send_template(&yield_t, id)?,
                Received::Msg(m) if matches!(*m, Message::Goodbye(_) | Message::Abort(_)) => {
                    return Err(BenchError::Closed);
                }
                _ => {}
            }
        }
        if conn.has_queued() {
            conn.flush().await?;
        }
    }
    conn.close(close_within).await
}

// ---------------------------------------------------------------------------------------------
// PubSub and fan-out
// ---------------------------------------------------------------------------------------------

async fn pubsub(ctx: &Ctx<'_>, subscribers: usize) -> Result<ScenarioResult, BenchError> {
    let ser = ctx.config.serializer;
    let topic = format!("{}.topic", ctx.prefix);
    let mut subs = ctx.open_many(subscribers, ctx.opts).await?;
    subscribe_all(&mut subs, &topic, ctx.opts.setup_timeout).await?;
    let publisher = ctx.open(ctx.opts).await?;
    let connections = subs.len() + 1;
    let publish = Arc::new(Template::new(
        ser,
        &Publish {
            request: request(1)?,
            options: Dict::new().with("acknowledge", true),
            topic: Uri::from_wire(&topic),
            payload: ctx.payload(),
        }
        .into(),
    )?);

    let shared = Arc::new(Shared::with_subscribers(subs.len()));
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut sub_tasks = JoinSet::new();
    for (i, c) in subs.into_iter().enumerate() {
        sub_tasks.spawn(subscriber_loop(
            i,
            c,
            shared.clone(),
            stop_rx.clone(),
            ctx.deadline,
            ctx.opts.setup_timeout,
        ));
    }
    let pub_task = tokio::spawn(publisher_loop(
        publisher,
        publish,
        ctx.config.window,
        shared.clone(),
        ctx.config.drain_timeout,
        ctx.deadline,
    ));
    let window = measure(ctx, &shared).await;
    let published = flatten(pub_task.await);

    // Let the events of every acknowledged publish arrive (bounded by the drain timeout).
    let expected = match &published {
        Ok(p) => p.acked * subscribers as u64,
        Err(_) => 0,
    };
    let drain_end = Instant::now() + ctx.config.drain_timeout;
    while shared.ops.load(Ordering::Relaxed) < expected && Instant::now() < drain_end {
        sleep(Duration::from_millis(5)).await;
    }
    let _ = stop_tx.send(true);
    let mut received = 0;
    let mut first_err = None;
    while let Some(r) = sub_tasks.join_next().await {
        match flatten(r) {
            Ok(n) => received += n,
            Err(e) => {
                first_err.get_or_insert(e);
            }
        }
    }
    let (window, completed) = window?;
    let published = published?;
    if let Some(e) = first_err {
        return Err(e);
    }
    Ok(ScenarioResult {
        elapsed: window.elapsed,
        completed,
        total: received,
        published: Some(published.acked),
        lost: Some(expected.saturating_sub(received)),
        errors: published.errors,
        latency: None,
        idle: None,
        router_cpu: window.router_cpu,
        bench_cpu: window.bench_cpu,
        connections,
    })
}

struct PublisherStats {
    acked: u64,
    errors: u64,
}

/// Keeps at most `window` publishes in flight (not yet acknowledged, or not yet delivered to
/// every subscriber) until `shared.stop`, then waits for the outstanding acknowledgements and
/// leaves. Bounding delivery too keeps the router's queues short: a publisher running ahead of
/// its subscribers would only measure how fast the router's queues fill (and a router may
/// rightly disconnect a subscriber whose queue overflows).
async fn publisher_loop(
    mut conn: Conn,
    publish: Arc<Template>,
    window: usize,
    shared: Arc<Shared>,
    drain: Duration,
    deadline: Instant,
) -> Result<PublisherStats, BenchError> {
    let window = window as u64;
    let mut sent = 0u64;
    let mut outstanding = 0u64;
    let mut stats = PublisherStats {
        acked: 0,
        errors: 0,
    };
    let mut batch = Vec::with_capacity(1024);
    let mut stop_by = deadline;
    let mut stopping = false;
    loop {
        if !stopping && shared.stop.load(Ordering::Relaxed) {
            stopping = true;
            stop_by = deadline.min(Instant::now() + drain);
        }
        if stopping && outstanding == 0 {
            break;
        }
        if !stopping {
            let delivered = shared.delivered();
            while outstanding < window && sent.saturating_sub(delivered) < window {
                sent += 1;
                conn.send_template(&publish, sent)?;
                outstanding += 1;
            }
        }
        if conn.has_queued() {
            conn.flush().await?;
        }
        tokio::select! {
            r = timeout_at(stop_by, conn.recv(&mut batch)) => {
                r.map_err(|_| BenchError::Timeout("PUBLISHED"))??;
            }
            _ = shared.progress.notified() => {}
            _ = sleep_until(stop_by) => return Err(BenchError::Timeout("event delivery")),
        }
        for m in batch.drain(..) {
            match m {
                Received::Hot {
                    code: PUBLISHED, ..
                } => stats.acked += 1,
                Received::Msg(m) if is_error_for(&m, MessageKind::Publish) => stats.errors += 1,
                Received::Msg(m) if matches!(*m, Message::Goodbye(_) | Message::Abort(_)) => {
                    return Err(BenchError::Closed);
                }
                _ => continue,
            }
            outstanding = outstanding.saturating_sub(1);
        }
    }
    conn.close(drain).await?;
    Ok(stats)
}

/// Counts EVENTs until told to stop; then leaves. Returns the events received.
async fn subscriber_loop(
    index: usize,
    mut conn: Conn,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
    deadline: Instant,
    close_within: Duration,
) -> Result<u64, BenchError> {
    let mut batch = Vec::with_capacity(1024);
    let mut received = 0;
    loop {
        tokio::select! {
            biased;
            _ = stop.changed() => break,
            _ = sleep_until(deadline) => return Err(BenchError::Timeout("the end of the run")),
            r = conn.recv(&mut batch) => r?,
        }
        let mut n = 0;
        for m in batch.drain(..) {
            match m {
                Received::Hot { code: EVENT, .. } => n += 1,
                Received::Msg(m) if matches!(*m, Message::Goodbye(_) | Message::Abort(_)) => {
                    return Err(BenchError::Closed);
                }
                _ => {}
            }
        }
        if n > 0 {
            received += n;
            shared.ops.fetch_add(n, Ordering::Relaxed);
            if let Some(c) = shared.received.get(index) {
                c.fetch_add(n, Ordering::Relaxed);
            }
            shared.progress.notify_one();
        }
        if conn.has_queued() {
            conn.flush().await?;
        }
    }
    conn.close(close_within).await?;
    Ok(received)
}

// ---------------------------------------------------------------------------------------------
// Idle sessions
// ---------------------------------------------------------------------------------------------

async fn idle(ctx: &Ctx<'_>) -> Result<ScenarioResult, BenchError> {
    let pid = ctx.target.pid;
    let n = ctx.config.sessions;
    let small = ConnOptions {
        read_buffer: IDLE_READ_BUFFER,
        ..ctx.opts
    };
    let base = sample_router(pid)?;
    let meter = Meter::start(pid)?;
    let conns = ctx.open_many(n, small).await?;
    let window = meter.finish()?;
    sleep(ctx.config.settle).await;
    let joined = sample_router(pid)?;
    close_all(conns, ctx.config.drain_timeout).await?;
    sleep(ctx.config.settle).await;
    let closed = sample_router(pid)?;
    // A second round: does the memory kept after the close serve new sessions?
    let mut rejoined = None;
    if pid.is_some() {
        let conns = ctx.open_many(n, small).await?;
        sleep(ctx.config.settle).await;
        rejoined = sample_router(pid)?;
        close_all(conns, ctx.config.drain_timeout).await?;
    }
    let idle = match (base, joined, closed, rejoined) {
        (Some(b), Some(j), Some(c), Some(r)) => Some(IdleMemory {
            sessions: n as u64,
            base_kib: b.rss_kib,
            joined_kib: j.rss_kib,
            closed_kib: c.rss_kib,
            rejoined_kib: r.rss_kib,
        }),
        _ => None,
    };
    Ok(ScenarioResult {
        elapsed: window.elapsed,
        completed: n as u64,
        total: n as u64,
        published: None,
        lost: None,
        errors: 0,
        latency: None,
        idle,
        router_cpu: window.router_cpu,
        bench_cpu: window.bench_cpu,
        connections: n,
    })
}
