//! `caucus bench quic` runs end to end at a tiny size and prints the keys
//! issue 8 names. Behaviour only: no figure is held to a target here.

use caucus_tests::caucus;
use serde_json::Value;

#[test]
fn bench_quic_prints_raw_fanout_cpu_and_join_figures() {
    let args = [
        "bench",
        "quic",
        "--json",
        "--subscribers",
        "2",
        "--duration",
        "1",
        "--joins",
        "3",
        "--raw-mib",
        "32",
        "--object-bytes",
        "4000",
    ];
    let out = caucus(&args).output().expect("run caucus");
    assert!(
        out.status.success(),
        "caucus {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).expect("utf-8");
    let line = stdout.lines().last().expect("a JSON line");
    let report: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    let number = |key: &str| {
        report[key]
            .as_f64()
            .unwrap_or_else(|| panic!("{key} missing or not a number in {report}"))
    };
    for key in [
        "raw_quinn_mbps",
        "fanout_mbps",
        "fanout_ratio",
        "frames_per_s",
    ] {
        assert!(number(key) > 0.0, "{key}: {report}");
    }
    assert!(number("server_cpu_s_per_gbit") >= 0.0, "{report}");
    let (p50, p99) = (number("join_p50_ms"), number("join_p99_ms"));
    assert!(p50 > 0.0 && p50 <= p99, "{report}");
}
