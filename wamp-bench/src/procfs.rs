//! CPU time and resident memory of a process (and its descendants) from Linux `/proc`.
//!
//! CPU is `utime + stime` of `/proc/PID/stat` (every thread of the process, in clock ticks of
//! [`TICKS_PER_SECOND`]); memory is `VmRSS` of `/proc/PID/status`. A router may run as several
//! processes (Crossbar: a controller and a router worker), so [`sample_tree`] adds up a process
//! and all its descendants.

use std::collections::BTreeMap;
use std::io;
use std::time::Duration;

/// Clock ticks per second of `/proc/PID/stat` times (`USER_HZ`, 100 on every Linux ABI the
/// bench runs on).
pub const TICKS_PER_SECOND: u64 = 100;

/// The fields of `/proc/PID/stat` the bench uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stat {
    /// Parent process ID.
    pub ppid: u32,
    /// User CPU time in ticks.
    pub utime: u64,
    /// System CPU time in ticks.
    pub stime: u64,
}

/// Parses the text of `/proc/PID/stat`. The command name (field 2) may hold spaces and
/// parentheses, so fields are counted after its last `)`.
pub fn parse_stat(text: &str) -> Option<Stat> {
    let after = &text[text.rfind(')')? + 1..];
    // Fields from 3 (state) on; ppid is field 4, utime 14, stime 15.
    let fields: Vec<&str> = after.split_ascii_whitespace().collect();
    let field = |n: usize| fields.get(n - 3).copied();
    Some(Stat {
        ppid: field(4)?.parse().ok()?,
        utime: field(14)?.parse().ok()?,
        stime: field(15)?.parse().ok()?,
    })
}

/// Parses `VmRSS` (in KiB) from the text of `/proc/PID/status`; `None` when absent (a process
/// without memory of its own, e.g. a zombie).
pub fn parse_rss_kib(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let mut parts = line["VmRSS:".len()..].split_ascii_whitespace();
    let v: u64 = parts.next()?.parse().ok()?;
    match parts.next() {
        Some("kB") | None => Some(v),
        Some(_) => None,
    }
}

/// CPU time and resident memory at one moment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sample {
    /// User + system CPU time in ticks.
    pub cpu_ticks: u64,
    /// Resident set size in KiB.
    pub rss_kib: u64,
    /// Number of processes added up.
    pub processes: usize,
}

impl Sample {
    /// CPU time between `earlier` and `self`.
    pub fn cpu_since(&self, earlier: &Sample) -> Duration {
        let ticks = self.cpu_ticks.saturating_sub(earlier.cpu_ticks);
        Duration::from_millis(ticks * 1000 / TICKS_PER_SECOND)
    }
}

fn read_proc(pid: &str) -> io::Result<(Stat, u64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    let stat = parse_stat(&stat)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "unexpected /proc stat"))?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    Ok((stat, parse_rss_kib(&status).unwrap_or(0)))
}

/// One process.
pub fn sample_process(pid: u32) -> io::Result<Sample> {
    let (stat, rss) = read_proc(&pid.to_string())?;
    Ok(Sample {
        cpu_ticks: stat.utime + stat.stime,
        rss_kib: rss,
        processes: 1,
    })
}

/// This process.
pub fn sample_self() -> io::Result<Sample> {
    let (stat, rss) = read_proc("self")?;
    Ok(Sample {
        cpu_ticks: stat.utime + stat.stime,
        rss_kib: rss,
        processes: 1,
    })
}

/// `pid` and every process descending from it, added up. Fails if `pid` itself is gone;
/// descendants that exit while being read are skipped.
pub fn sample_tree(pid: u32) -> io::Result<Sample> {
    let root = sample_process(pid)?;
    let mut children: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
    for entry in std::fs::read_dir("/proc")? {
        let Ok(entry) = entry else { continue };
        let name = entry.file_name();
        let Some(child) = name.to_str().and_then(|n| n.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(text) = std::fs::read_to_string(format!("/proc/{child}/stat")) else {
            continue;
        };
        if let Some(stat) = parse_stat(&text) {
            children.entry(stat.ppid).or_default().push(child);
        }
    }
    let mut total = root;
    let mut todo: Vec<u32> = children.get(&pid).cloned().unwrap_or_default();
    // A process tree has no cycles, but bound the walk anyway.
    let mut budget = 100_000;
    while let Some(p) = todo.pop() {
        budget -= 1;
        if budget == 0 {
            break;
        }
        if let Ok(s) = sample_process(p) {
            total.cpu_ticks += s.cpu_ticks;
            total.rss_kib += s.rss_kib;
            total.processes += 1;
        }
        if let Some(c) = children.get(&p) {
            todo.extend(c.iter().copied());
        }
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn parses_stat_with_awkward_command_names() {
        let text = "4242 (a) b (c)) S 17 4242 4242 0 -1 4194560 100 0 0 0 250 31 0 0 20 0 3 0 \
                    12345 1000000 200 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0";
        assert_eq!(
            parse_stat(text),
            Some(Stat {
                ppid: 17,
                utime: 250,
                stime: 31
            })
        );
        assert_eq!(parse_stat("12 (x) S 1 2"), None);
        assert_eq!(parse_stat("no parenthesis"), None);
    }

    #[test]
    fn parses_rss() {
        let status = "Name:\tcat\nVmPeak:\t  9000 kB\nVmRSS:\t    1234 kB\nThreads:\t1\n";
        assert_eq!(parse_rss_kib(status), Some(1234));
        assert_eq!(parse_rss_kib("Name:\tkthreadd\n"), None);
        assert_eq!(parse_rss_kib("VmRSS:\t12 MB\n"), None);
    }

    #[test]
    fn samples_this_process() {
        let me = std::process::id();
        let a = sample_process(me).unwrap();
        assert!(a.rss_kib > 0);
        assert_eq!(a.processes, 1);
        // Some work between the samples; CPU time never goes backwards.
        let mut x = 0u64;
        for i in 0..1_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        assert_ne!(x, 1);
        let b = sample_self().unwrap();
        assert!(b.cpu_ticks >= a.cpu_ticks);
        assert!(b.rss_kib > 0);
    }

    #[test]
    fn tree_includes_children() {
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let me = std::process::id();
        let tree = sample_tree(me).unwrap();
        let _ = child.kill();
        let _ = child.wait();
        assert!(tree.processes >= 2, "{tree:?}");
        assert!(tree.rss_kib >= sample_process(me).unwrap().rss_kib / 2);
        assert!(sample_tree(u32::MAX).is_err());
    }
}
