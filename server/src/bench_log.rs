//! `caucus bench log`: the embedded log's durable append figures (targets
//! E1–E3 of the event log reference), all measured in one run on one disk:
//!
//! - `fsync_per_s`, `fsync_p50_us`: the device itself — write 300 bytes to a
//!   plain file and `fdatasync`, in a loop;
//! - `append_p50_us`, `append_p99_us`: one writer appending one event at a
//!   time (every append waits for its own fdatasync);
//! - `concurrent_append_events_per_s`: 64 concurrent appenders, one event per
//!   append, each to its own stream (group commit at work), with their
//!   latencies as `concurrent_append_p50_us` / `_p99_us`;
//! - `batch_append_events_per_s`: 100-event batches of 300-byte events from
//!   16 concurrent appenders; `batch_append_1writer_events_per_s` from one.
//!
//! Every figure counts only acknowledged (durable) appends.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use caucus_eventlog::embedded::EmbeddedLog;
use caucus_eventlog::{Codec, EventLog, ExpectedRevision, Metadata, NewEvent, StreamName};
use serde::Serialize;
use uuid::Uuid;

const EVENT_BYTES: usize = 300;
const FSYNC_TIME: Duration = Duration::from_secs(2);
const SINGLE_APPENDS: usize = 2_000;
const CONCURRENT: usize = 64;
const CONCURRENT_TIME: Duration = Duration::from_secs(3);
const BATCH: usize = 100;
const BATCH_WRITERS: usize = 16;
const BATCH_TIME: Duration = Duration::from_secs(3);

/// The figures; `--json` prints them under these keys.
#[derive(Debug, Clone, Serialize)]
pub struct LogBench {
    pub fsync_per_s: f64,
    pub fsync_p50_us: f64,
    pub concurrent_append_events_per_s: f64,
    pub concurrent_append_p50_us: f64,
    pub concurrent_append_p99_us: f64,
    pub batch_append_events_per_s: f64,
    pub batch_append_1writer_events_per_s: f64,
    pub append_p50_us: f64,
    pub append_p99_us: f64,
}

impl std::fmt::Display for LogBench {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "embedded event log                         measured   target"
        )?;
        writeln!(
            f,
            "device fdatasync                     {:>10.0} /s   (p50 {:.0} µs)",
            self.fsync_per_s, self.fsync_p50_us
        )?;
        writeln!(
            f,
            "1 writer, 1 event: p50 / p99         {:>6.0} / {:<6.0} µs   p50 <= 1.3 x fdatasync p50",
            self.append_p50_us, self.append_p99_us
        )?;
        writeln!(
            f,
            "64 appenders, 1 event each           {:>10.0} ev/s   >= 50,000 and >= 10 x fdatasync ({:.1} x)",
            self.concurrent_append_events_per_s,
            self.concurrent_append_events_per_s / self.fsync_per_s.max(1.0)
        )?;
        write!(
            f,
            "100-event batches, 16 / 1 appenders  {:>10.0} / {:.0} ev/s   >= 500,000",
            self.batch_append_events_per_s, self.batch_append_1writer_events_per_s
        )
    }
}

/// Runs every measurement in `dir` (created if needed; each phase uses its
/// own subdirectory, removed afterwards).
pub async fn run(dir: &Path, progress: bool) -> anyhow::Result<LogBench> {
    std::fs::create_dir_all(dir)?;
    let say = |what: &str| {
        if progress {
            eprintln!("bench log: {what}…");
        }
    };

    say("device fdatasync");
    let probe = dir.join("fsync-probe");
    let (fsync_per_s, fsync_p50_us) =
        tokio::task::spawn_blocking(move || fsync_rate(&probe)).await??;

    say("1 writer, 1 event per append");
    let (append_p50_us, append_p99_us) = {
        let (log, sub) = open(dir, "single")?;
        let s = stream("room-single")?;
        let mut lat = Vec::with_capacity(SINGLE_APPENDS);
        for i in 0..SINGLE_APPENDS {
            let e = event(0, i as u64);
            let t = Instant::now();
            log.append(&s, ExpectedRevision::Any, vec![e]).await?;
            lat.push(t.elapsed());
        }
        close(log, &sub).await;
        (percentile_us(&mut lat, 0.50), percentile_us(&mut lat, 0.99))
    };

    say("64 concurrent appenders");
    let (concurrent_append_events_per_s, concurrent_append_p50_us, concurrent_append_p99_us) = {
        let (log, sub) = open(dir, "concurrent")?;
        let (events, secs, mut lat) = timed_appenders(&log, CONCURRENT, 1, CONCURRENT_TIME).await?;
        close(log, &sub).await;
        let p50 = percentile_us(&mut lat, 0.50);
        (events as f64 / secs, p50, percentile_us(&mut lat, 0.99))
    };

    say("100-event batches, 16 appenders");
    let batch_append_events_per_s = {
        let (log, sub) = open(dir, "batch")?;
        let (events, secs, _) = timed_appenders(&log, BATCH_WRITERS, BATCH, BATCH_TIME).await?;
        close(log, &sub).await;
        events as f64 / secs
    };

    say("100-event batches, 1 appender");
    let batch_append_1writer_events_per_s = {
        let (log, sub) = open(dir, "batch1")?;
        let (events, secs, _) = timed_appenders(&log, 1, BATCH, BATCH_TIME).await?;
        close(log, &sub).await;
        events as f64 / secs
    };

    Ok(LogBench {
        fsync_per_s,
        fsync_p50_us,
        concurrent_append_events_per_s,
        concurrent_append_p50_us,
        concurrent_append_p99_us,
        batch_append_events_per_s,
        batch_append_1writer_events_per_s,
        append_p50_us,
        append_p99_us,
    })
}

/// Writes 300 bytes and fdatasyncs, in a loop: syncs per second and p50.
fn fsync_rate(path: &Path) -> anyhow::Result<(f64, f64)> {
    let mut file = OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .open(path)?;
    let record = [0x5au8; EVENT_BYTES];
    let mut lat = Vec::new();
    let started = Instant::now();
    while started.elapsed() < FSYNC_TIME {
        let t = Instant::now();
        file.write_all(&record)?;
        file.sync_data()?;
        lat.push(t.elapsed());
    }
    let secs = started.elapsed().as_secs_f64();
    drop(file);
    std::fs::remove_file(path)?;
    let n = lat.len();
    Ok((n as f64 / secs, percentile_us(&mut lat, 0.50)))
}

/// `writers` tasks, each appending `batch`-event batches to its own stream
/// until `time` has passed. Returns acknowledged events, seconds, latencies.
async fn timed_appenders(
    log: &Arc<EmbeddedLog>,
    writers: usize,
    batch: usize,
    time: Duration,
) -> anyhow::Result<(u64, f64, Vec<Duration>)> {
    let started = Instant::now();
    let deadline = started + time;
    let mut tasks = Vec::with_capacity(writers);
    for w in 0..writers {
        let log = log.clone();
        tasks.push(tokio::spawn(async move {
            let s = stream(&format!("room-w{w}"))?;
            let mut lat = Vec::new();
            let mut n = 0u64;
            while Instant::now() < deadline {
                let events = (0..batch).map(|i| event(w as u64, n + i as u64)).collect();
                let t = Instant::now();
                log.append(&s, ExpectedRevision::Any, events).await?;
                lat.push(t.elapsed());
                n += batch as u64;
            }
            anyhow::Ok((n, lat))
        }));
    }
    let mut total = 0;
    let mut lat = Vec::new();
    for t in tasks {
        let (n, l) = t.await??;
        total += n;
        lat.extend(l);
    }
    Ok((total, started.elapsed().as_secs_f64(), lat))
}

fn open(dir: &Path, name: &str) -> anyhow::Result<(Arc<EmbeddedLog>, std::path::PathBuf)> {
    let sub = dir.join(name);
    if sub.exists() {
        std::fs::remove_dir_all(&sub)?;
    }
    Ok((EmbeddedLog::open(&sub)?, sub))
}

async fn close(log: Arc<EmbeddedLog>, dir: &Path) {
    log.close().await;
    drop(log);
    let _ = std::fs::remove_dir_all(dir);
}

fn stream(name: &str) -> anyhow::Result<StreamName> {
    Ok(StreamName::new(name)?)
}

/// A ~300-byte event with a cheap unique id.
fn event(writer: u64, n: u64) -> NewEvent {
    NewEvent {
        event_id: Uuid::from_u64_pair(writer + 1, n),
        event_type: "PeerJoined".into(),
        schema_version: 1,
        codec: Codec::Bincode2,
        payload: vec![0xab; EVENT_BYTES - 60],
        metadata: Metadata {
            actor: Some("bench".into()),
            correlation_id: Some(Uuid::from_u64_pair(n, writer)),
            causation_id: None,
        },
    }
}

fn percentile_us(samples: &mut [Duration], q: f64) -> f64 {
    if samples.is_empty() {
        return 0.0;
    }
    samples.sort_unstable();
    let i = ((samples.len() - 1) as f64 * q).round() as usize;
    samples[i].as_secs_f64() * 1e6
}
