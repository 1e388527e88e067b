//! `caucus serve` rotates its QUIC development certificate: `/init` hands
//! out the new hash at once, new connections get the new certificate (a
//! client pinning the old hash is refused), and open connections keep
//! working.

use std::time::{Duration, Instant};

use caucus_sdk::quic::{QuicInit, connect};
use caucus_sdk::{JoinOptions, QuicClient, TrackKind};
use caucus_tests::served::{Served, http};
use serde_json::json;

fn quic_init(server: &Served, room: &str) -> QuicInit {
    let token = server.app_token(room, "host", "probe");
    let addr = server.base_url().trim_start_matches("http://").to_owned();
    let (status, init) = http(&addr, "GET", "/init?peer_id=x", Some(&token), None);
    assert_eq!(status, 200, "{init}");
    QuicInit::from_init(&init).expect("quic in /init")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_certificate_rotates_and_open_connections_keep_working() {
    let server = Served::start(&["--quic-cert-rotate", "2"]);
    let roles = json!({
        "host": {
            "publishParams": { "allowed": ["audio", "video"] },
            "subscribeParams": { "subscribeToRoles": ["host"] },
        },
    });
    let room = server.room_with_roles("quic-rotation", roles);
    let join = |user: &str| {
        let mut opts = JoinOptions::new(server.base_url(), server.app_token(&room, "host", user));
        opts.name = user.to_owned();
        QuicClient::join(opts)
    };
    let before = quic_init(&server, &room);
    let (a, _) = join("alice").await.expect("alice joins");

    let start = Instant::now();
    let after = loop {
        let now = quic_init(&server, &room);
        if now.certificate_sha256 != before.certificate_sha256 {
            break now;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "no rotation in 10 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(after.addr, before.addr);
    assert!(
        connect(&before).await.is_err(),
        "the old certificate is still served"
    );
    assert!(
        connect(&after).await.is_ok(),
        "the new certificate is refused"
    );

    // Alice's connection predates the rotation and still carries media.
    let (b, _) = join("bob").await.expect("bob joins with the new hash");
    let mic = a.publish(TrackKind::Audio).await.expect("alice publishes");
    let start = Instant::now();
    while b.track_stats(&mic).is_none_or(|s| s.objects < 20) {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "bob got no audio"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
