//! `caucus bench log --store postgres://…`: the PostgreSQL log's figures
//! (targets P1–P3 of the event log reference):
//!
//! - `batch100_p50_ms`: latency of one 100-event append (≈300-byte events), one
//!   writer, committed with `synchronous_commit` as the server has it;
//! - `writers16_events_per_s`: committed events/s with 16 concurrent writers,
//!   each appending single events to its own stream (group commit at work);
//! - `wakeup_p99_ms`: from the start of an append on one node until a
//!   subscription on another node (woken by NOTIFY) hands the event out;
//! - `catchup_events_per_s`: a new subscription reading the whole log from 0.
//!
//! It runs in a scratch database created next to the one the URL names (the
//! user needs CREATEDB) and dropped afterwards, so it never touches a real log.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use caucus_eventlog::postgres::PostgresLog;
use caucus_eventlog::{
    Codec, EventLog, ExpectedRevision, Filter, Metadata, NewEvent, StreamName, Subscription,
    SubscriptionMessage,
};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use tokio_postgres::NoTls;
use uuid::Uuid;

const BATCH: usize = 100;
const BATCH_APPENDS: usize = 300;
const WRITERS: usize = 16;
const APPENDS_PER_WRITER: usize = 2_000;
const WAKEUPS: usize = 300;
const CATCHUP_EVENTS: u64 = 300_000;
const EVENT_BYTES: usize = 300;

/// The figures; `--json` prints them under these keys.
#[derive(Debug, Clone, Serialize)]
pub struct PgBench {
    pub batch100_p50_ms: f64,
    pub batch100_p99_ms: f64,
    pub writers16_events_per_s: f64,
    pub wakeup_p50_ms: f64,
    pub wakeup_p99_ms: f64,
    pub catchup_events_per_s: f64,
    /// The server's own rate of sequential one-row durable commits, measured
    /// in the same run: the ceiling of commits per second, for context.
    pub pg_commits_per_s: f64,
}

impl std::fmt::Display for PgBench {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "PostgreSQL event log                 measured      target"
        )?;
        writeln!(
            f,
            "100-event batch append p50 / p99     {:>6.2} / {:<6.2} ms   p50 <= 5 ms",
            self.batch100_p50_ms, self.batch100_p99_ms
        )?;
        writeln!(
            f,
            "16 writers, single events            {:>10.0} ev/s   >= 10,000",
            self.writers16_events_per_s
        )?;
        writeln!(
            f,
            "subscriber wake-up p50 / p99         {:>6.2} / {:<6.2} ms   p99 <= 50 ms",
            self.wakeup_p50_ms, self.wakeup_p99_ms
        )?;
        writeln!(
            f,
            "catch-up read                        {:>10.0} ev/s   >= 100,000",
            self.catchup_events_per_s
        )?;
        write!(
            f,
            "PostgreSQL one-row commits           {:>10.0} /s",
            self.pg_commits_per_s
        )
    }
}

/// Runs the benchmark in a scratch database on the server `url` names.
pub async fn run(url: &str, progress: bool) -> anyhow::Result<PgBench> {
    let name = format!("caucus_bench_{}", Uuid::new_v4().simple());
    admin(url, &format!("CREATE DATABASE {name}"))
        .await
        .context("cannot create the scratch database (the user needs CREATEDB)")?;
    let result = measure(&with_database(url, &name), progress).await;
    if let Err(e) = admin(url, &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await {
        eprintln!("warning: could not drop the scratch database {name}: {e:#}");
    }
    result
}

async fn measure(url: &str, progress: bool) -> anyhow::Result<PgBench> {
    let writer = PostgresLog::connect(url).await?;
    let reader = PostgresLog::connect(url).await?;
    let pg_commits_per_s = commits(url).await?;

    let bar = phase(progress, "100-event batches", BATCH_APPENDS as u64);
    let stream = StreamName::new("bench-batch")?;
    let mut latencies = Vec::with_capacity(BATCH_APPENDS);
    for i in 0..BATCH_APPENDS {
        let events = (0..BATCH).map(|j| event(i * BATCH + j)).collect();
        let t = Instant::now();
        writer
            .append(&stream, ExpectedRevision::Any, events)
            .await?;
        latencies.push(t.elapsed());
        bar.inc(1);
    }
    bar.finish_and_clear();
    let batch100_p50_ms = ms(percentile(&mut latencies, 0.50));
    let batch100_p99_ms = ms(percentile(&mut latencies, 0.99));

    let bar = phase(
        progress,
        "16 writers",
        (WRITERS * APPENDS_PER_WRITER) as u64,
    );
    let started = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..WRITERS {
        let (log, bar) = (writer.clone(), bar.clone());
        tasks.push(tokio::spawn(async move {
            let stream = StreamName::new(format!("bench-writer{w}"))?;
            for i in 0..APPENDS_PER_WRITER {
                let expected = match i {
                    0 => ExpectedRevision::NoStream,
                    i => ExpectedRevision::Exact(i as u64 - 1),
                };
                log.append(&stream, expected, vec![event(i)]).await?;
                bar.inc(1);
            }
            anyhow::Ok(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    let writers16_events_per_s =
        (WRITERS * APPENDS_PER_WRITER) as f64 / started.elapsed().as_secs_f64();
    bar.finish_and_clear();

    let (wakeup_p50_ms, wakeup_p99_ms) = wakeups(&writer, &reader, progress).await?;
    let catchup_events_per_s = catchup(&writer, url, progress).await?;
    Ok(PgBench {
        batch100_p50_ms,
        batch100_p99_ms,
        writers16_events_per_s,
        wakeup_p50_ms,
        wakeup_p99_ms,
        catchup_events_per_s,
        pg_commits_per_s,
    })
}

/// Sequential one-row autocommit inserts: the server's durable commit rate.
async fn commits(url: &str) -> anyhow::Result<f64> {
    const N: usize = 500;
    let (client, connection) = tokio_postgres::connect(url, NoTls).await?;
    let driver = tokio::spawn(connection);
    client
        .batch_execute("CREATE TABLE bench_commits (n int NOT NULL)")
        .await?;
    let insert = client
        .prepare("INSERT INTO bench_commits (n) VALUES ($1)")
        .await?;
    let started = Instant::now();
    for n in 0..N as i32 {
        client.execute(&insert, &[&n]).await?;
    }
    let rate = N as f64 / started.elapsed().as_secs_f64();
    drop(client);
    let _ = driver.await;
    Ok(rate)
}

/// Appends on `writer`, one event at a time with pauses so each is its own
/// commit, and times until a live subscription on `reader` yields it.
async fn wakeups(
    writer: &Arc<PostgresLog>,
    reader: &Arc<PostgresLog>,
    progress: bool,
) -> anyhow::Result<(f64, f64)> {
    // The writer's head is current: its own commits moved it.
    let after = writer.head().borrow().to_owned();
    let mut sub = Subscription::new(reader.clone(), after, Filter::All);
    match sub.next().await? {
        SubscriptionMessage::CaughtUp => {}
        SubscriptionMessage::Event(_) => bail!("the wake-up subscription started behind"),
    }
    let (seen_tx, mut seen) = tokio::sync::mpsc::unbounded_channel();
    let listener = tokio::spawn(async move {
        while let Ok(SubscriptionMessage::Event(e)) = sub.next().await {
            if seen_tx.send((e.event_id, Instant::now())).is_err() {
                break;
            }
        }
    });
    let bar = phase(progress, "wake-ups", WAKEUPS as u64);
    let stream = StreamName::new("bench-wakeup")?;
    let mut latencies = Vec::with_capacity(WAKEUPS);
    for i in 0..WAKEUPS {
        tokio::time::sleep(Duration::from_millis(2 + (i % 7) as u64)).await;
        let e = event(i);
        let id = e.event_id;
        let t = Instant::now();
        writer
            .append(&stream, ExpectedRevision::Any, vec![e])
            .await?;
        let (got, at) = tokio::time::timeout(Duration::from_secs(10), seen.recv())
            .await
            .context("the subscriber was not woken within 10 s")?
            .context("the subscription ended")?;
        if got != id {
            bail!("the subscriber saw {got}, expected {id}");
        }
        latencies.push(at - t);
        bar.inc(1);
    }
    bar.finish_and_clear();
    listener.abort();
    Ok((
        ms(percentile(&mut latencies, 0.50)),
        ms(percentile(&mut latencies, 0.99)),
    ))
}

/// Fills the log to at least [`CATCHUP_EVENTS`] and reads it all with a new
/// subscription on a fresh node.
async fn catchup(writer: &Arc<PostgresLog>, url: &str, progress: bool) -> anyhow::Result<f64> {
    let have = writer.head().borrow().map_or(0, |p| p.0 + 1);
    let bar = phase(
        progress,
        "filling the log",
        CATCHUP_EVENTS.saturating_sub(have),
    );
    let stream = StreamName::new("bench-fill")?;
    let mut n = have;
    while n < CATCHUP_EVENTS {
        let events = (0..1000).map(|j| event(n as usize + j)).collect();
        writer
            .append(&stream, ExpectedRevision::Any, events)
            .await?;
        n += 1000;
        bar.inc(1000);
    }
    bar.finish_and_clear();

    let fresh = PostgresLog::connect(url).await?;
    let bar = phase(progress, "catch-up read", n);
    let started = Instant::now();
    let mut sub = Subscription::new(fresh, None, Filter::All);
    let mut read = 0u64;
    while let SubscriptionMessage::Event(_) = sub.next().await? {
        read += 1;
        if read.is_multiple_of(4096) {
            bar.set_position(read);
        }
    }
    let rate = read as f64 / started.elapsed().as_secs_f64();
    bar.finish_and_clear();
    if read < n {
        bail!("the catch-up read {read} events of {n}");
    }
    Ok(rate)
}

fn event(n: usize) -> NewEvent {
    NewEvent {
        event_id: Uuid::now_v7(),
        event_type: "PeerJoined".into(),
        schema_version: 1,
        codec: Codec::Bincode2,
        payload: format!("{n:0>EVENT_BYTES$}").into_bytes(),
        metadata: Metadata {
            actor: Some("bench".into()),
            correlation_id: None,
            causation_id: None,
        },
    }
}

fn phase(progress: bool, what: &str, len: u64) -> ProgressBar {
    if !progress {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len);
    bar.set_style(
        ProgressStyle::with_template("{msg:>18} [{elapsed_precise}] {wide_bar} {pos}/{len}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_message(what.to_owned());
    bar
}

fn percentile(samples: &mut [Duration], q: f64) -> Duration {
    samples.sort_unstable();
    let i = ((samples.len() as f64 * q).ceil() as usize).clamp(1, samples.len().max(1)) - 1;
    samples.get(i).copied().unwrap_or_default()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Runs one statement on the database `url` names.
async fn admin(url: &str, sql: &str) -> anyhow::Result<()> {
    let (client, connection) = tokio_postgres::connect(url, NoTls)
        .await
        .with_context(|| "cannot connect to PostgreSQL".to_owned())?;
    let driver = tokio::spawn(connection);
    client.batch_execute(sql).await?;
    drop(client);
    let _ = driver.await;
    Ok(())
}

/// `url` pointing at database `db` instead (URL or key=value form).
fn with_database(url: &str, db: &str) -> String {
    if !url.contains("://") {
        return format!("{url} dbname={db}");
    }
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (url, String::new()),
    };
    let after_scheme = base.find("://").map_or(0, |i| i + 3);
    let base = match base[after_scheme..].find('/') {
        Some(i) => &base[..after_scheme + i],
        None => base,
    };
    format!("{base}/{db}{query}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn with_database_replaces_only_the_database() {
        assert_eq!(
            with_database("postgres://u@h:5432/postgres?connect_timeout=2", "x"),
            "postgres://u@h:5432/x?connect_timeout=2"
        );
        assert_eq!(with_database("postgres://u@h", "x"), "postgres://u@h/x");
        assert_eq!(
            with_database("host=h user=u", "x"),
            "host=h user=u dbname=x"
        );
    }
}
