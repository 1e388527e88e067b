//! What `caucus load` reads from outside its own peers: the server's SFU
//! counters (`/metrics`) and CPU time (`/proc/<pid>/stat`), and its own CPU
//! time (`/proc/self/stat`).

use std::time::Instant;

use crate::bench_api::Target;

/// Clock ticks per second of `/proc/*/stat` times (`USER_HZ`, 100 on every
/// Linux architecture Caucus builds for).
const USER_HZ: f64 = 100.0;

/// The name the WebRTC transport gives its driver thread.
const SFU_THREAD: &str = "caucus-webrtc";

/// Reads a server's counters.
pub struct ServerProbe {
    metrics: Target,
    pid: Option<u32>,
}

/// One reading of the server.
#[derive(Clone, Copy, Debug)]
pub struct ServerSample {
    pub at: Instant,
    /// `None` when `/metrics` has no SFU counters (an older server).
    pub sfu: Option<SfuCounters>,
    /// CPU seconds (user + system) of the whole server process.
    pub cpu_s: Option<f64>,
    /// CPU seconds of the SFU's driver thread alone.
    pub sfu_thread_cpu_s: Option<f64>,
}

/// The server's `caucus_sfu_*_total` counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SfuCounters {
    pub received_packets: u64,
    pub forwarded_packets: u64,
    pub forwarded_bytes: u64,
}

impl ServerProbe {
    /// A probe of the server at `url`; with `pid`, its CPU time as well.
    pub fn new(url: &str, pid: Option<u32>) -> Self {
        Self {
            metrics: Target::new(url, String::new()),
            pid,
        }
    }

    pub async fn sample(&self) -> anyhow::Result<ServerSample> {
        let (cpu_s, sfu_thread_cpu_s) = match self.pid {
            Some(pid) => (
                Some(cpu_seconds(&format!("/proc/{pid}/stat"))?),
                thread_cpu_seconds(pid, SFU_THREAD),
            ),
            None => (None, None),
        };
        let (status, body) = self.metrics.request("GET", "/metrics", None).await?;
        anyhow::ensure!(status == 200, "GET /metrics: HTTP {status}");
        let text = String::from_utf8_lossy(&body);
        Ok(ServerSample {
            at: Instant::now(),
            sfu: parse_sfu(&text),
            cpu_s,
            sfu_thread_cpu_s,
        })
    }
}

/// This process's CPU seconds (user + system).
pub fn own_cpu_seconds() -> anyhow::Result<f64> {
    cpu_seconds("/proc/self/stat")
}

/// UDP datagrams this machine dropped because a socket's receive buffer
/// was full (`RcvbufErrors` of `/proc/net/snmp`: every process, not only
/// the load and its server).
pub fn udp_rcvbuf_errors() -> Option<u64> {
    let snmp = std::fs::read_to_string("/proc/net/snmp").ok()?;
    let mut udp = snmp.lines().filter(|l| l.starts_with("Udp: "));
    let names = udp.next()?.split_whitespace();
    let values = udp.next()?.split_whitespace();
    names
        .zip(values)
        .find(|(n, _)| *n == "RcvbufErrors")
        .and_then(|(_, v)| v.parse().ok())
}

/// User + system CPU seconds from a `/proc/…/stat` file.
fn cpu_seconds(path: &str) -> anyhow::Result<f64> {
    let text = std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("reading {path}: {e}"))?;
    stat_cpu_seconds(&text).ok_or_else(|| anyhow::anyhow!("cannot parse {path}"))
}

/// Fields 14 and 15 (`utime`, `stime`) of a stat line. The command name
/// (field 2) may hold spaces and parentheses, so count from its last `)`.
fn stat_cpu_seconds(stat: &str) -> Option<f64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some((utime + stime) as f64 / USER_HZ)
}

/// CPU seconds of the threads of `pid` named `name`.
fn thread_cpu_seconds(pid: u32, name: &str) -> Option<f64> {
    let mut total = None;
    for task in std::fs::read_dir(format!("/proc/{pid}/task"))
        .ok()?
        .flatten()
    {
        let dir = task.path();
        let comm = std::fs::read_to_string(dir.join("comm")).unwrap_or_default();
        if comm.trim() == name {
            let s = std::fs::read_to_string(dir.join("stat")).ok()?;
            *total.get_or_insert(0.0) += stat_cpu_seconds(&s)?;
        }
    }
    total
}

/// The SFU counters of an OpenMetrics exposition.
fn parse_sfu(text: &str) -> Option<SfuCounters> {
    let value = |name: &str| {
        text.lines().find_map(|l| {
            let (k, v) = l.split_once(' ')?;
            (k == name).then(|| v.trim().parse::<u64>().ok()).flatten()
        })
    };
    Some(SfuCounters {
        received_packets: value("caucus_sfu_received_packets_total")?,
        forwarded_packets: value("caucus_sfu_forwarded_packets_total")?,
        forwarded_bytes: value("caucus_sfu_forwarded_bytes_total")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_times_are_read_after_the_command_name() {
        let line = "4242 (caucus (x) y) S 1 2 3 4 5 6 7 8 9 10 250 130 0 0 20 0 9 0 1 2 3";
        assert_eq!(stat_cpu_seconds(line), Some(3.8));
    }

    #[test]
    fn sfu_counters_come_from_the_exposition() {
        let text = "# HELP caucus_sfu_forwarded_packets RTP\n\
                    caucus_sfu_received_packets_total 10\n\
                    caucus_sfu_forwarded_packets_total 40\n\
                    caucus_sfu_forwarded_bytes_total 4000\n# EOF\n";
        assert_eq!(
            parse_sfu(text),
            Some(SfuCounters {
                received_packets: 10,
                forwarded_packets: 40,
                forwarded_bytes: 4000
            })
        );
        assert_eq!(parse_sfu("caucus_live_rooms 1\n"), None);
    }
}
