//! Crash safety: a child process appends in a loop and prints every
//! acknowledged event; the parent kills it with SIGKILL at a random moment,
//! reopens the directory and checks that every acknowledged event is there
//! exactly once, at the position its ack named, that positions and revisions
//! are dense, and that every stored payload is intact. Repeated for many
//! cycles over one growing directory.
//!
//! `CAUCUS_CRASH_CYCLES` sets the number of cycles (default 60).
//! `crash_child` is the child's entry point: it does nothing unless the parent
//! started it with `CAUCUS_CRASH_CHILD_DIR` set.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use caucus_eventlog::embedded::{EmbeddedLog, Options};
use caucus_eventlog::{
    AppendError, Codec, EventLog, ExpectedRevision, Metadata, NewEvent, Position, StreamName,
};
use uuid::Uuid;

const CHILD_ENV: &str = "CAUCUS_CRASH_CHILD_DIR";

fn options() -> Options {
    Options {
        // Small segments, so kills also land around segment rolls.
        segment_bytes: 256 << 10,
        cache_bytes: 1 << 20,
        ..Options::default()
    }
}

/// The payload is a function of the event id, so the parent can check it.
fn payload_of(id: &Uuid, len: usize) -> Vec<u8> {
    id.as_bytes().iter().copied().cycle().take(len).collect()
}

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn seeded() -> Self {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64);
        Self((t ^ (u64::from(std::process::id()) << 32)) | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_child() {
    let Ok(dir) = std::env::var(CHILD_ENV) else {
        return;
    };
    let log = EmbeddedLog::open_with(&dir, options()).expect("child: open");
    // libtest may print "test crash_child ... " before this on the same line.
    println!("child-ready");
    let mut tasks = Vec::new();
    for t in 0..8u64 {
        let log = log.clone();
        tasks.push(tokio::spawn(async move { child_appender(log, t).await }));
    }
    for t in tasks {
        t.await.expect("child task");
    }
}

async fn child_appender(log: Arc<EmbeddedLog>, task: u64) {
    let mut rng = Rng::seeded();
    rng.0 ^= task.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    let mut retry: Option<(StreamName, Vec<NewEvent>, Position)> = None;
    loop {
        let stream = StreamName::new(format!("room-{}", rng.below(40))).expect("name");
        // Now and then retry an acknowledged batch: it must come back in place.
        if rng.below(10) == 0
            && let Some((s, batch, first)) = retry.take()
        {
            let out = log.append(&s, ExpectedRevision::Any, batch).await;
            let out = out.expect("child: idempotent retry");
            assert!(
                out.already_appended && out.first_position == first,
                "child: retry moved"
            );
            continue;
        }
        let n = 1 + rng.below(4) as usize;
        let batch: Vec<NewEvent> = (0..n)
            .map(|_| {
                let id = Uuid::new_v4();
                let max_len = if rng.below(20) == 0 { 20_000 } else { 400 };
                let len = rng.below(max_len) as usize;
                NewEvent {
                    event_id: id,
                    event_type: "CrashTested".into(),
                    schema_version: 1,
                    codec: Codec::Bincode2,
                    payload: payload_of(&id, len),
                    metadata: Metadata {
                        actor: Some(format!("task:{task}")),
                        ..Metadata::default()
                    },
                }
            })
            .collect();
        let expected = match log.stream_revision(&stream).await.expect("child: revision") {
            Some(r) if rng.below(2) == 0 => ExpectedRevision::Exact(r),
            _ => ExpectedRevision::Any,
        };
        match log.append(&stream, expected, batch.clone()).await {
            Ok(out) => {
                let mut line = String::new();
                for (i, e) in batch.iter().enumerate() {
                    line.push_str(&format!(
                        "ack {} {} {} {} {}\n",
                        e.event_id,
                        out.first_position.0 + i as u64,
                        stream,
                        out.first_revision + i as u64,
                        e.payload.len(),
                    ));
                }
                let mut stdout = std::io::stdout().lock();
                stdout.write_all(line.as_bytes()).expect("child: stdout");
                stdout.flush().expect("child: flush");
                retry = Some((stream, batch, out.first_position));
            }
            Err(AppendError::WrongExpectedRevision { .. }) => {}
            Err(e) => panic!("child: append failed: {e}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Acked {
    position: u64,
    stream: String,
    revision: u64,
    payload_len: usize,
}

/// Runs one child, kills it `run_for` after it opened the store (after it
/// started when `early`, so some kills land during recovery), and returns its
/// acknowledged events.
fn run_child(dir: &Path, run_for: Duration, early: bool) -> HashMap<Uuid, Acked> {
    let exe = std::env::current_exe().expect("test binary path");
    let mut child = Command::new(exe)
        .args(["crash_child", "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn child");
    let stdout = child.stdout.take().expect("child stdout");
    let (ready_tx, ready) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut acked = HashMap::new();
        let mut lines = BufReader::new(stdout);
        let mut line = String::new();
        loop {
            line.clear();
            match lines.read_line(&mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
            // A line cut by the kill has no newline: not acknowledged output.
            if !line.ends_with('\n') {
                break;
            }
            if line.ends_with("child-ready\n") {
                let _ = ready_tx.send(());
            }
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() == 6 && f[0] == "ack" {
                let id: Uuid = f[1].parse().expect("ack id");
                let a = Acked {
                    position: f[2].parse().expect("ack position"),
                    stream: f[3].to_owned(),
                    revision: f[4].parse().expect("ack revision"),
                    payload_len: f[5].parse().expect("ack payload length"),
                };
                let fresh = acked.insert(id, a).is_none();
                assert!(fresh, "event {id} acknowledged twice");
            }
        }
        acked
    });
    if !early {
        let opened = ready.recv_timeout(Duration::from_secs(60));
        assert!(opened.is_ok(), "the child opened the store within a minute");
    }
    std::thread::sleep(run_for);
    child.kill().expect("SIGKILL the child");
    let status = child.wait().expect("reap the child");
    assert!(!status.success(), "the child was killed, not finished");
    reader.join().expect("reader thread")
}

/// Opens the directory and checks it against everything acknowledged so far.
async fn verify(dir: &Path, acked: &HashMap<Uuid, Acked>, cycle: u32) -> u64 {
    let log = EmbeddedLog::open_with(dir, options())
        .unwrap_or_else(|e| panic!("cycle {cycle}: reopen failed: {e}"));
    let mut seen: HashMap<Uuid, u64> = HashMap::new();
    let mut revisions: HashMap<StreamName, u64> = HashMap::new();
    let mut next = 0u64;
    let mut after = None;
    loop {
        let page = log
            .read_all(after, 2000)
            .await
            .unwrap_or_else(|e| panic!("cycle {cycle}: read failed: {e}"));
        let Some(last) = page.last() else { break };
        after = Some(last.position);
        for e in page {
            assert_eq!(e.position.0, next, "cycle {cycle}: positions are dense");
            next += 1;
            let rev = revisions.entry(e.stream.clone()).or_insert(0);
            assert_eq!(
                e.revision, *rev,
                "cycle {cycle}: revisions of {} are dense",
                e.stream
            );
            *rev += 1;
            assert!(
                seen.insert(e.event_id, e.position.0).is_none(),
                "cycle {cycle}: event {} stored twice",
                e.event_id
            );
            assert_eq!(
                e.payload,
                payload_of(&e.event_id, e.payload.len()),
                "cycle {cycle}: payload of {} is intact",
                e.event_id
            );
            if let Some(a) = acked.get(&e.event_id) {
                assert_eq!(
                    (e.position.0, e.stream.as_str(), e.revision, e.payload.len()),
                    (a.position, a.stream.as_str(), a.revision, a.payload_len),
                    "cycle {cycle}: event {} is where its ack said",
                    e.event_id
                );
            }
        }
    }
    let lost: Vec<&Uuid> = acked.keys().filter(|id| !seen.contains_key(id)).collect();
    assert!(
        lost.is_empty(),
        "cycle {cycle}: {} acknowledged events lost, e.g. {:?}",
        lost.len(),
        lost.first()
    );
    assert_eq!(*log.head().borrow(), next.checked_sub(1).map(Position));
    log.close().await;
    next
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_events_survive_sigkill() {
    if std::env::var(CHILD_ENV).is_ok() {
        return;
    }
    let cycles: u32 = std::env::var("CAUCUS_CRASH_CYCLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(60);
    let dir = tempfile::tempdir().expect("temp dir");
    let mut rng = Rng::seeded();
    let mut acked: HashMap<Uuid, Acked> = HashMap::new();
    let started = Instant::now();
    let mut stored = 0;
    let mut acked_per_cycle = Vec::new();
    for cycle in 0..cycles {
        let early = cycle % 5 == 4;
        let run_for = Duration::from_millis(rng.below(if early { 300 } else { 150 }));
        let new = run_child(dir.path(), run_for, early);
        acked_per_cycle.push(new.len());
        for (id, a) in new {
            assert!(
                acked.insert(id, a).is_none(),
                "cycle {cycle}: {id} acknowledged twice"
            );
        }
        stored = verify(dir.path(), &acked, cycle).await;
    }
    let cycles_with_acks = acked_per_cycle.iter().filter(|&&n| n > 0).count();
    eprintln!(
        "{cycles} kill -9 cycles in {:?}: {} acknowledged events, {stored} stored, 0 lost",
        started.elapsed(),
        acked.len()
    );
    assert!(
        cycles_with_acks * 3 >= cycles as usize,
        "most children got to append before the kill ({cycles_with_acks} of {cycles})"
    );
}
