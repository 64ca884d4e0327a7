//! Human-readable and JSON reports of a run.

use std::fmt::Write as _;
use std::time::Duration;

use serde_json::{Value as Json, json};

use crate::{Outcome, Scenario, ScenarioResult};

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

/// CPU microseconds per completed operation.
fn cpu_per_op(cpu: Duration, ops: u64) -> Option<f64> {
    (ops > 0).then(|| us(cpu) / ops as f64)
}

/// One line describing an outcome.
pub fn text_line(o: &Outcome) -> String {
    let mut s = format!(
        "{:<8} {:<10} {:<3} {:<8}",
        o.scenario.name(),
        o.label,
        o.target.transport_name(),
        o.serializer.name()
    );
    let r = match &o.result {
        Ok(r) => r,
        Err(e) => {
            let _ = write!(s, " FAILED: {e}");
            return s;
        }
    };
    let _ = write!(s, " {:>10.0} {}/s", r.rate(), o.scenario.unit());
    if let (Some(p), Some(l)) = (r.published, r.lost) {
        let _ = write!(s, "  published {p} lost {l}");
    }
    if r.errors > 0 {
        let _ = write!(s, "  errors {}", r.errors);
    }
    if let Some(l) = &r.latency {
        if l.count > 0 {
            let _ = write!(
                s,
                "  p50 {:.0}us p90 {:.0}us p99 {:.0}us max {:.0}us",
                us(l.p50),
                us(l.p90),
                us(l.p99),
                us(l.max)
            );
        }
    }
    if let Some(m) = &r.idle {
        let _ = write!(
            s,
            "  {:.2} KiB/session idle, {:.2} KiB/session after close, {:.2} KiB/session second round (rss {} -> {} -> {} -> {} KiB)",
            m.kib_per_session(),
            m.kib_per_session_after_close(),
            m.kib_per_session_second_round(),
            m.base_kib,
            m.joined_kib,
            m.closed_kib,
            m.rejoined_kib
        );
    }
    match &r.router_cpu {
        Some(c) => {
            let _ = write!(s, "  router cpu {:.0}%", c.percent);
            if let Some(per) = cpu_per_op(c.cpu, r.completed) {
                let _ = write!(s, " ({per:.2}us/op)");
            }
        }
        None => s.push_str("  router cpu n/a"),
    }
    let _ = write!(s, "  bench cpu {:.0}%", r.bench_cpu.percent);
    if let Some(per) = cpu_per_op(r.bench_cpu.cpu, r.completed) {
        let _ = write!(s, " ({per:.2}us/op)");
    }
    s
}

/// Every outcome, one line each, then for each scenario and transport with several routers the
/// rate of the first router relative to each other one.
pub fn text(outcomes: &[Outcome]) -> String {
    let mut s = String::new();
    for o in outcomes {
        s.push_str(&text_line(o));
        s.push('\n');
    }
    let mut groups: Vec<(Scenario, &str)> = Vec::new();
    for o in outcomes {
        let key = (o.scenario, o.target.transport_name());
        if !groups.contains(&key) {
            groups.push(key);
        }
    }
    for (sc, transport) in groups {
        if sc == Scenario::Idle {
            continue;
        }
        let runs: Vec<(&str, &ScenarioResult)> = outcomes
            .iter()
            .filter(|o| o.scenario == sc && o.target.transport_name() == transport)
            .filter_map(|o| o.result.as_ref().ok().map(|r| (o.label.as_str(), r)))
            .collect();
        let Some(((base_label, base), others)) = runs.split_first() else {
            continue;
        };
        for (label, r) in others {
            if r.rate() > 0.0 {
                let _ = writeln!(
                    s,
                    "{:<8} {transport}: {base_label} / {label} = {:.2}x the {}/s",
                    sc.name(),
                    base.rate() / r.rate(),
                    sc.unit()
                );
            }
        }
    }
    s
}

fn cpu_json(cpu: Option<&crate::CpuUse>, ops: u64) -> Json {
    match cpu {
        Some(c) => json!({
            "percent": c.percent,
            "seconds": c.cpu.as_secs_f64(),
            "us_per_op": cpu_per_op(c.cpu, ops),
        }),
        None => Json::Null,
    }
}

/// One JSON object per outcome.
pub fn json(outcomes: &[Outcome]) -> Json {
    let items: Vec<Json> = outcomes
        .iter()
        .map(|o| {
            let mut obj = json!({
                "scenario": o.scenario.name(),
                "label": o.label,
                "target": o.target.to_string(),
                "transport": o.target.transport_name(),
                "serializer": o.serializer.name(),
            });
            match &o.result {
                Err(e) => {
                    obj["error"] = json!(e.to_string());
                }
                Ok(r) => {
                    obj["seconds"] = json!(r.elapsed.as_secs_f64());
                    obj["completed"] = json!(r.completed);
                    obj["total"] = json!(r.total);
                    obj["unit"] = json!(o.scenario.unit());
                    obj["rate"] = json!(r.rate());
                    obj["published"] = json!(r.published);
                    obj["lost"] = json!(r.lost);
                    obj["errors"] = json!(r.errors);
                    obj["connections"] = json!(r.connections);
                    obj["latency_us"] = match &r.latency {
                        Some(l) => json!({
                            "count": l.count,
                            "p50": us(l.p50),
                            "p90": us(l.p90),
                            "p99": us(l.p99),
                            "max": us(l.max),
                        }),
                        None => Json::Null,
                    };
                    obj["idle"] = match &r.idle {
                        Some(m) => json!({
                            "sessions": m.sessions,
                            "base_kib": m.base_kib,
                            "joined_kib": m.joined_kib,
                            "closed_kib": m.closed_kib,
                            "rejoined_kib": m.rejoined_kib,
                            "kib_per_session": m.kib_per_session(),
                            "kib_per_session_after_close": m.kib_per_session_after_close(),
                            "kib_per_session_second_round": m.kib_per_session_second_round(),
                        }),
                        None => Json::Null,
                    };
                    obj["router_cpu"] = cpu_json(r.router_cpu.as_ref(), r.completed);
                    obj["bench_cpu"] = cpu_json(Some(&r.bench_cpu), r.completed);
                }
            }
            obj
        })
        .collect();
    Json::Array(items)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::{BenchError, CpuUse, Target};
    use wamp_proto::Serializer;

    fn outcome(label: &str, url: &str, completed: u64) -> Outcome {
        Outcome {
            label: label.into(),
            target: Target::parse(url).unwrap(),
            scenario: Scenario::Rpc,
            serializer: Serializer::MsgPack,
            result: Ok(ScenarioResult {
                elapsed: Duration::from_secs(2),
                completed,
                total: completed + 10,
                published: None,
                lost: None,
                errors: 0,
                latency: None,
                idle: None,
                router_cpu: Some(CpuUse {
                    cpu: Duration::from_secs(1),
                    percent: 50.0,
                }),
                bench_cpu: CpuUse {
                    cpu: Duration::from_millis(100),
                    percent: 5.0,
                },
                connections: 3,
            }),
        }
    }

    #[test]
    fn text_compares_routers_on_the_same_transport() {
        let outcomes = vec![
            outcome("ours", "rs://127.0.0.1:1", 200_000),
            outcome("theirs", "rs://127.0.0.1:2", 50_000),
            outcome("ours-ws", "ws://127.0.0.1:1/", 100_000),
            Outcome {
                result: Err(BenchError::Closed),
                ..outcome("broken", "rs://127.0.0.1:3", 0)
            },
        ];
        let text = text(&outcomes);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 5, "{text}");
        assert!(lines[0].contains("100000 calls/s"), "{}", lines[0]);
        assert!(
            lines[0].contains("router cpu 50% (5.00us/op)"),
            "{}",
            lines[0]
        );
        assert!(
            lines[0].contains("bench cpu 5% (0.50us/op)"),
            "{}",
            lines[0]
        );
        assert!(lines[3].contains("FAILED: the router closed the connection"));
        assert_eq!(lines[4], "rpc      rs: ours / theirs = 4.00x the calls/s");

        let json = json(&outcomes);
        assert_eq!(json[0]["rate"], 100_000.0);
        assert_eq!(json[0]["total"], 200_010);
        assert_eq!(json[0]["router_cpu"]["us_per_op"], 5.0);
        assert_eq!(json[3]["error"], "the router closed the connection");
    }
}
