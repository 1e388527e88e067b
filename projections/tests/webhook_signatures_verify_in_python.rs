//! Signatures verify with the `standardwebhooks` reference library from PyPI,
//! in a Python receiver; during a rotation overlap both secrets verify, after
//! it only the new one. Needs `CAUCUS_PYTHON` (set by scripts/setup.d/20-python.sh).

mod webhook_support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use caucus_eventlog::MemoryLog;
use caucus_projections::webhooks::Webhooks;
use serde_json::Value;
use webhook_support::*;

struct Python(std::process::Child);

impl Drop for Python {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn results(base: &str, n: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let bytes = reqwest::get(format!("{base}/_results"))
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        let r: Vec<Value> = serde_json::from_slice(&bytes).unwrap();
        if r.len() >= n {
            return r;
        }
        assert!(
            Instant::now() < deadline,
            "python receiver got {} of {n}",
            r.len()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn set_secrets(base: &str, secrets: &[&str]) {
    let r = reqwest::Client::new()
        .put(format!("{base}/_secrets"))
        .header("content-type", "application/json")
        .body(serde_json::to_vec(secrets).unwrap())
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
}

#[tokio::test]
async fn standard_webhooks_verifies_signatures_through_a_rotation() {
    let python = std::env::var("CAUCUS_PYTHON").expect(
        "CAUCUS_PYTHON is not set: run scripts/setup.d/20-python.sh (scripts/test does) and export what it prints",
    );
    // Found at run time (cargo sets CARGO_MANIFEST_DIR when it runs a test),
    // so a binary built in another checkout reads this checkout's script.
    let script = std::path::Path::new(&std::env::var("CARGO_MANIFEST_DIR").unwrap())
        .join("tests/webhook_support/receiver.py");
    let mut child = Command::new(&python)
        .arg(script)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {python}: {e}"));
    let stdout = child.stdout.take().unwrap();
    let _guard = Python(child);
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let port: u16 = line
        .trim()
        .strip_prefix("PORT ")
        .expect("PORT line")
        .parse()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");

    let log = MemoryLog::new();
    let hooks = Webhooks::start(log.clone(), None, fast_config(Duration::from_secs(10)))
        .await
        .unwrap();
    let ws = workspace(1);
    let (endpoint, first) = hooks
        .create(&ws, spec(&format!("{base}/hook")))
        .await
        .unwrap();
    set_secrets(&base, &[first.expose()]).await;

    append_script(log.as_ref(), 0, &room_script(&ws, 0, 1)).await;
    let r = results(&base, 4).await;
    assert!(
        r.iter().all(|x| x["verified_by"] == serde_json::json!([0])),
        "{r:?}"
    );
    assert!(r.iter().all(|x| x["id"] == x["webhook_id"]));

    // Rotation with an hour of overlap: both secrets verify.
    let second = hooks.rotate(&ws, &endpoint.id, 3600).unwrap();
    set_secrets(&base, &[first.expose(), second.expose()]).await;
    append_script(log.as_ref(), 1, &room_script(&ws, 1, 1)).await;
    let r = results(&base, 8).await;
    assert!(
        r[4..]
            .iter()
            .all(|x| x["verified_by"] == serde_json::json!([0, 1])),
        "{r:?}"
    );

    // Rotation with no overlap: only the newest verifies.
    let third = hooks.rotate(&ws, &endpoint.id, 0).unwrap();
    set_secrets(&base, &[first.expose(), second.expose(), third.expose()]).await;
    append_script(log.as_ref(), 2, &room_script(&ws, 2, 1)).await;
    let r = results(&base, 12).await;
    assert!(
        r[8..]
            .iter()
            .all(|x| x["verified_by"] == serde_json::json!([2])),
        "{r:?}"
    );
}
