//! `caucus bench sfu` and `caucus load` run end to end at a tiny size and
//! print their figures. Behaviour only: no figure is held to a target here.

use caucus_tests::served::Served;
use caucus_tests::{caucus, caucus_json as run_json, json_number as number};

#[test]
fn bench_sfu_prints_forwarding_cpu_join_and_loss_figures() {
    let report = run_json(&[
        "bench",
        "sfu",
        "--json",
        "--rooms",
        "1",
        "--publishers",
        "1",
        "--subscribers",
        "1",
        "--duration",
        "2",
    ]);
    assert!(number(&report, "forwarded_pps") > 0.0, "{report}");
    assert!(number(&report, "forwarded_mbps") > 0.0, "{report}");
    assert!(number(&report, "server_cpu_cores") >= 0.0, "{report}");
    assert!(number(&report, "forwarded_pps_per_core") >= 0.0, "{report}");
    let (p50, p99) = (
        number(&report, "join_p50_ms"),
        number(&report, "join_p99_ms"),
    );
    assert!(p50 > 0.0 && p50 <= p99, "{report}");
    let loss = number(&report, "loss_pct");
    assert!((0.0..=100.0).contains(&loss), "{report}");
    assert_eq!(report["subscribers_without_media"], 0, "{report}");
}

#[test]
fn load_runs_against_a_served_room_with_only_a_management_token() {
    let server = Served::start(&[]);
    let data = server.data();
    let mgmt = caucus(&[
        "token",
        "management",
        "--data",
        data.to_str().expect("utf-8"),
    ])
    .output()
    .expect("mint");
    let mgmt = String::from_utf8(mgmt.stdout).expect("utf-8");
    let url = server.base_url();
    // Twice: the second run reuses the template and the room by name.
    for _ in 0..2 {
        let report = run_json(&[
            "load",
            "--json",
            "--url",
            &url,
            "--mgmt-token",
            mgmt.trim(),
            "--rooms",
            "1",
            "--publishers",
            "1",
            "--subscribers",
            "1",
            "--duration",
            "1",
        ]);
        assert!(number(&report, "received_packets") > 0.0, "{report}");
        assert!(number(&report, "forwarded_pps") > 0.0, "{report}");
        assert!(report["server_cpu_cores"].is_null(), "{report}");
        let loss = number(&report, "loss_pct");
        assert!((0.0..=100.0).contains(&loss), "{report}");
    }
}
