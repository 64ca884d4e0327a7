//! `wamp-bench`: loads WAMP routers on loopback and reports calls/s, events/s, latency,
//! memory per idle session and CPU use. Run `wamp-bench --help`.

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use wamp_bench::{Config, RouterTarget, Scenario, Target, load_average, parse_duration, report};
use wamp_proto::Serializer;

/// Loads WAMP routers on loopback (WebSocket or RawSocket) and reports throughput, latency,
/// memory per idle session and CPU use.
#[derive(Debug, Parser)]
#[command(name = "wamp-bench", version)]
struct Args {
    /// Router URL, ws://HOST[:PORT]/PATH or rs://HOST:PORT; loopback only. Repeat to load
    /// several routers in one run (scenario by scenario).
    #[arg(long = "url", required = true)]
    urls: Vec<String>,
    /// Router process ID (CPU and memory from /proc, descendants included), one per --url in
    /// order.
    #[arg(long = "router-pid")]
    router_pids: Vec<u32>,
    /// Name of each router in the report, one per --url in order.
    #[arg(long = "label")]
    labels: Vec<String>,
    /// Realm to join (anonymously).
    #[arg(long, default_value = "realm1")]
    realm: String,
    /// Serializer: json, msgpack, cbor or ubjson.
    #[arg(long, default_value = "msgpack")]
    serializer: String,
    /// Scenarios: rpc, pubsub, fanout, latency, idle or all (comma-separated or repeated).
    #[arg(long = "scenario", default_value = "all", value_delimiter = ',')]
    scenarios: Vec<String>,
    /// Measurement window of each scenario (5, 2.5s, 300ms).
    #[arg(long, default_value = "5")]
    duration: String,
    /// Load before each window.
    #[arg(long, default_value = "1")]
    warmup: String,
    /// RPC callers.
    #[arg(long, default_value_t = 2)]
    callers: usize,
    /// Calls in flight per caller.
    #[arg(long = "in-flight", default_value_t = 64)]
    in_flight: usize,
    /// PubSub subscribers.
    #[arg(long, default_value_t = 4)]
    subscribers: usize,
    /// Fan-out subscribers.
    #[arg(long = "fanout-subscribers", default_value_t = 100)]
    fanout_subscribers: usize,
    /// Acknowledged publishes in flight.
    #[arg(long, default_value_t = 64)]
    window: usize,
    /// Idle sessions.
    #[arg(long, default_value_t = 1000)]
    sessions: usize,
    /// Octets of the string argument of each CALL, YIELD and PUBLISH.
    #[arg(long = "payload-size", default_value_t = 16)]
    payload_size: usize,
    /// Runtime threads of the bench (1: a current-thread runtime).
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Longest wait for outstanding replies and events, and for each setup step.
    #[arg(long = "drain-timeout", default_value = "5")]
    drain_timeout: String,
    /// Pause before each memory sample of the idle scenario.
    #[arg(long, default_value = "500ms")]
    settle: String,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

fn duration(what: &str, s: &str) -> Result<Duration, String> {
    parse_duration(s).ok_or_else(|| format!("invalid {what}: {s:?}"))
}

fn config(args: &Args) -> Result<Config, String> {
    let serializer = Serializer::ALL
        .into_iter()
        .find(|s| s.name() == args.serializer)
        .ok_or_else(|| format!("unknown serializer {:?}", args.serializer))?;
    let mut scenarios = Vec::new();
    for name in &args.scenarios {
        if name == "all" {
            scenarios.extend(Scenario::ALL);
        } else {
            scenarios
                .push(Scenario::parse(name).ok_or_else(|| format!("unknown scenario {name:?}"))?);
        }
    }
    if args.router_pids.len() > args.urls.len() || args.labels.len() > args.urls.len() {
        return Err("more --router-pid or --label than --url".into());
    }
    let mut targets = Vec::new();
    for (i, url) in args.urls.iter().enumerate() {
        let target = Target::parse(url).map_err(|e| format!("{url}: {e}"))?;
        targets.push(RouterTarget {
            label: args
                .labels
                .get(i)
                .cloned()
                .unwrap_or_else(|| format!("router{}", i + 1)),
            target,
            pid: args.router_pids.get(i).copied(),
        });
    }
    Ok(Config {
        targets,
        realm: args.realm.clone(),
        serializer,
        scenarios,
        duration: duration("duration", &args.duration)?,
        warmup: duration("warmup", &args.warmup)?,
        callers: args.callers,
        in_flight: args.in_flight,
        subscribers: args.subscribers,
        fanout_subscribers: args.fanout_subscribers,
        window: args.window,
        sessions: args.sessions,
        payload_size: args.payload_size,
        threads: args.threads,
        drain_timeout: duration("drain timeout", &args.drain_timeout)?,
        settle: duration("settle", &args.settle)?,
    })
}

fn main() -> ExitCode {
    let args = Args::parse();
    let config = match config(&args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("wamp-bench: {e}");
            return ExitCode::from(2);
        }
    };
    let load_before = load_average();
    let outcomes = match wamp_bench::run(&config) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("wamp-bench: {e}");
            return ExitCode::from(2);
        }
    };
    let load_after = load_average();
    let failed = outcomes.iter().any(|o| o.result.is_err());
    if args.json {
        let doc = serde_json::json!({
            "loadavg_before": load_before,
            "loadavg_after": load_after,
            "duration_s": config.duration.as_secs_f64(),
            "callers": config.callers,
            "in_flight": config.in_flight,
            "subscribers": config.subscribers,
            "fanout_subscribers": config.fanout_subscribers,
            "window": config.window,
            "sessions": config.sessions,
            "payload_size": config.payload_size,
            "results": report::json(&outcomes),
        });
        println!("{doc:#}");
    } else {
        println!(
            "wamp-bench: load average {} before, {} after; window {:?}, {} callers x {} in flight, {} subscribers (fan-out {}), window {}, {} idle sessions",
            load_before.as_deref().unwrap_or("n/a"),
            load_after.as_deref().unwrap_or("n/a"),
            config.duration,
            config.callers,
            config.in_flight,
            config.subscribers,
            config.fanout_subscribers,
            config.window,
            config.sessions
        );
        print!("{}", report::text(&outcomes));
    }
    if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
