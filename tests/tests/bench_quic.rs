//! `caucus bench quic` runs end to end at a tiny size and prints the keys
//! issue 8 names. Behaviour only: no figure is held to a target here.

use caucus_tests::{caucus_json, json_number};

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
        "--trials",
        "2",
    ];
    let report = caucus_json(&args);
    let number = |key: &str| json_number(&report, key);
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
    let ratios = report["trial_ratios"].as_array().expect("trial_ratios");
    assert_eq!(ratios.len(), 2, "one ratio per trial: {report}");
    assert!(
        ratios.iter().all(|r| r.as_f64().is_some_and(|r| r > 0.0)),
        "{report}"
    );
}
