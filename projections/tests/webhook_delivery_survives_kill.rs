//! kill -9 in the middle of appends and deliveries, then restart: every
//! webhook is delivered at least once, none is missing, and per room the first
//! deliveries come in room order.
//!
//! The process killed here is this test binary re-run as a child
//! (`child_process` below): the embedded store in a data directory, the
//! webhook service over it, and a writer appending room scripts with
//! deterministic event ids (a rerun re-appends idempotently and finishes what
//! the killed one left), so the kill also lands in the middle of appends, at
//! a scale (60 rooms) the real server test does not reach. The same promise
//! for the real binary, killed while deliveries are failing and with a room
//! override, is `tests/tests/webhook_delivery_survives_serve_kill.rs`.

mod webhook_support;

use std::collections::{BTreeMap, HashSet};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use caucus_eventlog::{EmbeddedLog, MemoryLog};
use caucus_projections::webhooks::Webhooks;
use webhook_support::*;

const ROOMS: u64 = 60;
const PEERS: u64 = 3;
const CHILD_ENV: &str = "CAUCUS_WEBHOOK_CHILD_DIR";

/// The child: appends the scripts and delivers, until killed.
#[test]
fn child_process() {
    let Ok(dir) = std::env::var(CHILD_ENV) else {
        return; // an ordinary test run: nothing to do
    };
    let url = std::env::var("CAUCUS_WEBHOOK_CHILD_URL").unwrap();
    let dir = std::path::PathBuf::from(dir);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let log = EmbeddedLog::open(dir.join("log")).unwrap();
        let hooks = Webhooks::start(
            log.clone(),
            Some(dir.join("webhooks")),
            fast_config(Duration::from_secs(120)),
        )
        .await
        .unwrap();
        let ws = workspace(1);
        if hooks.endpoints().list(&ws).is_empty() {
            hooks.create(&ws, spec(&url)).await.unwrap();
        }
        println!("READY");
        // Interleave the rooms, as live traffic does.
        let scripts: Vec<_> = (0..ROOMS).map(|r| room_script(&ws, r, PEERS)).collect();
        for rev in 0..scripts[0].len() {
            for (room, script) in scripts.iter().enumerate() {
                append_one(log.as_ref(), room as u64, rev as u64, &script[rev]).await;
            }
        }
        println!("APPENDED");
        loop {
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    });
}

/// The child process; killed (SIGKILL) when dropped, so a failing test leaves
/// no process behind.
struct Killed(Child);

impl Killed {
    fn kill_9(&mut self) {
        self.0.kill().unwrap(); // SIGKILL
        self.0.wait().unwrap();
    }
}

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn_child(dir: &std::path::Path, url: &str) -> Killed {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "child_process",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, dir)
        .env("CAUCUS_WEBHOOK_CHILD_URL", url)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    // libtest prints "test child_process ... " before the child's own output.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if line.trim_end().ends_with("READY") {
                let _ = tx.send(());
            }
        }
    });
    if rx.recv_timeout(Duration::from_secs(60)).is_err() {
        let _ = child.kill();
        panic!("the child did not start");
    }
    Killed(child)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_webhook_arrives_after_a_kill_9_and_restart() {
    if std::env::var(CHILD_ENV).is_ok() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let receiver = Receiver::start(Mode::Ok).await;
    receiver.set_delay(Duration::from_millis(15));

    // What must arrive: the same scripts mapped in memory (ids depend only on
    // the event ids and types, not on positions).
    let ws = workspace(1);
    let reference = MemoryLog::new();
    for room in 0..ROOMS {
        append_script(reference.as_ref(), room, &room_script(&ws, room, PEERS)).await;
    }
    let expected: HashSet<String> = expected_payloads(reference.as_ref())
        .await
        .iter()
        .map(|p| p.id.to_string())
        .collect();
    assert_eq!(expected.len() as u64, ROOMS * (2 + 2 * PEERS));

    let mut child = spawn_child(dir.path(), &receiver.url);
    receiver
        .wait_until(Duration::from_secs(60), |a| a.len() >= 100)
        .await;
    child.kill_9();
    let before = receiver.accepted().len();
    assert!(
        before < expected.len(),
        "the kill came after everything was delivered ({before})"
    );

    let mut child = spawn_child(dir.path(), &receiver.url);
    let result = tokio::time::timeout(Duration::from_secs(120), async {
        loop {
            let got: HashSet<String> = receiver.accepted().into_iter().map(|r| r.id).collect();
            if expected.is_subset(&got) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    child.kill_9();
    let accepted = receiver.accepted();
    let got: HashSet<String> = accepted.iter().map(|r| r.id.clone()).collect();
    let missing = expected.difference(&got).count();
    assert!(result.is_ok() && missing == 0, "{missing} webhooks missing");
    assert!(got.is_subset(&expected), "unexpected webhooks");

    // Per room, first arrivals are in room order.
    let mut seen = HashSet::new();
    let mut last: BTreeMap<String, u64> = BTreeMap::new();
    for r in &accepted {
        if !seen.insert(r.id.clone()) {
            continue; // a redelivery after the restart
        }
        let seq = r.seq();
        if let Some(prev) = last.insert(r.room(), seq) {
            assert!(
                prev < seq,
                "room {} got sequence {seq} after {prev}",
                r.room()
            );
        }
    }
    let duplicates = accepted.len() - expected.len();
    eprintln!(
        "kill -9 after {before} deliveries; {} in all, {duplicates} redelivered after the restart",
        accepted.len()
    );
}
