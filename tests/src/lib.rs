//! Helpers for the end-to-end tests in `tests/tests/`: find the `caucus` binary
//! that `scripts/test` built, run it, and stop it.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The `caucus` binary: `$CAUCUS_BIN`, or `caucus` next to the test's own
/// target directory. Panics with instructions when it has not been built.
pub fn caucus_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("CAUCUS_BIN") {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().expect("test executable path");
    // target/debug/deps/<test> → target/debug/caucus
    let bin = exe
        .parent()
        .and_then(|d| d.parent())
        .map(|d| d.join("caucus"))
        .expect("target dir");
    assert!(
        bin.exists(),
        "{} is missing: run `cargo build --bin caucus` first (scripts/test does)",
        bin.display()
    );
    bin
}

/// `caucus ARGS…`, with output captured.
pub fn caucus(args: &[&str]) -> Command {
    let mut c = Command::new(caucus_bin());
    c.args(args).env("CAUCUS_LOG", "warn").stdin(Stdio::null());
    c
}

/// Runs `caucus ARGS…`, which must succeed, and parses the last line it
/// prints as JSON (the `--json` report of `bench` and `load`).
pub fn caucus_json(args: &[&str]) -> serde_json::Value {
    let out = caucus(args).output().expect("run caucus");
    assert!(
        out.status.success(),
        "caucus {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).expect("utf-8");
    let line = stdout.lines().last().expect("a JSON line");
    serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

/// The number under `key` in a report; panics when it is missing.
pub fn json_number(report: &serde_json::Value, key: &str) -> f64 {
    report[key]
        .as_f64()
        .unwrap_or_else(|| panic!("{key} missing or not a number in {report}"))
}

/// Sends SIGTERM to a child.
pub fn terminate(child: &Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success(), "kill -TERM failed");
}

/// Reads `caucus serve`'s stdout up to its "Caucus is running" line and
/// returns everything read; panics (naming what it printed) if serve exits
/// first.
pub fn read_banner(stdout: &mut impl std::io::BufRead) -> String {
    let mut banner = String::new();
    while !banner.contains("Caucus is running") {
        let mut line = String::new();
        let n = stdout.read_line(&mut line).expect("read serve's stdout");
        assert!(n > 0, "serve exited before starting; it printed {banner:?}");
        banner.push_str(&line);
    }
    banner
}

/// Waits for a child to exit, at most `limit`.
pub fn wait_exit(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

pub mod notifications;
pub mod served;

/// Waits (≤ 10 s) until `count()` — what a peer received of `track`, in
/// `unit`s — reaches `n`, polling every `every`; fails naming the count.
pub async fn count_reaches(
    track: &str,
    unit: &str,
    n: u64,
    every: Duration,
    count: impl Fn() -> u64,
) {
    let start = Instant::now();
    while count() < n {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "track {track}: {} {unit} after 10 s, wanted {n}",
            count()
        );
        tokio::time::sleep(every).await;
    }
}
