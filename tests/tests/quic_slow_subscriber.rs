//! A QUIC subscriber behind a slow, shallow-buffered link (a userspace UDP
//! relay on loopback that paces the server → client direction below the
//! video's bitrate and drops what overflows its queue) skips to newer
//! groups instead of building latency: newer groups go first (stream
//! priorities) and the server resets the ones that fell behind with
//! SUPERSEDED (without the reset this test fails: stalled groups stay
//! buffered on the server); a subscriber on a clean path is unaffected.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use caucus_sdk::quic::media::FrameShape;
use caucus_sdk::{JoinOptions, QuicClient, TrackKind};
use caucus_tests::served::Served;
use serde_json::json;
use tokio::net::UdpSocket;

/// Bits per second the relay lets through towards the client.
const DOWN_BPS: f64 = 1_000_000.0;
/// Bytes the relay queues towards the client before dropping.
const QUEUE: usize = 48 * 1024;

/// Starts a relay in front of `server`; returns the address clients use.
async fn relay(server: SocketAddr) -> SocketAddr {
    let front = Arc::new(UdpSocket::bind("127.0.0.1:0").await.expect("bind"));
    let back = Arc::new(UdpSocket::bind("127.0.0.1:0").await.expect("bind"));
    back.connect(server).await.expect("connect");
    let addr = front.local_addr().expect("addr");
    let client: Arc<Mutex<Option<SocketAddr>>> = Arc::default();
    let queue: Arc<Mutex<(VecDeque<Vec<u8>>, usize)>> = Arc::default();
    // Client → server: as is.
    let (f, b, c) = (front.clone(), back.clone(), client.clone());
    tokio::spawn(async move {
        let mut buf = vec![0u8; 65_536];
        while let Ok((n, from)) = f.recv_from(&mut buf).await {
            *c.lock().unwrap() = Some(from);
            let _ = b.send(&buf[..n]).await;
        }
    });
    // Server → queue (drop-tail).
    let (b, q) = (back.clone(), queue.clone());
    tokio::spawn(async move {
        let mut buf = vec![0u8; 65_536];
        while let Ok(n) = b.recv(&mut buf).await {
            let mut q = q.lock().unwrap();
            if q.1 + n <= QUEUE {
                q.1 += n;
                q.0.push_back(buf[..n].to_vec());
            }
        }
    });
    // Queue → client, paced.
    tokio::spawn(async move {
        loop {
            let next = {
                let mut q = queue.lock().unwrap();
                let p = q.0.pop_front();
                if let Some(p) = &p {
                    q.1 -= p.len();
                }
                p
            };
            let to = *client.lock().unwrap();
            match (next, to) {
                (Some(p), Some(to)) => {
                    let _ = front.send_to(&p, to).await;
                    let secs = p.len() as f64 * 8.0 / DOWN_BPS;
                    tokio::time::sleep(Duration::from_secs_f64(secs)).await;
                }
                _ => tokio::time::sleep(Duration::from_millis(1)).await,
            }
        }
    });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_subscriber_skips_groups_instead_of_building_latency() {
    let server = Served::start(&[]);
    let roles = json!({
        "host": {
            "publishParams": { "allowed": ["audio", "video"] },
            "subscribeParams": { "subscribeToRoles": ["host"] },
        },
    });
    let room = server.room_with_roles("quic-slow", roles);
    let join = |user: &str, via: Option<SocketAddr>| {
        let mut opts = JoinOptions::new(server.base_url(), server.app_token(&room, "host", user));
        opts.name = user.to_owned();
        QuicClient::join_via(opts, via)
    };
    let (a, _) = join("alice", None).await.expect("alice joins");
    // About 2.9 Mbit/s of video: three times what the slow link carries.
    let shape = FrameShape {
        fps: 30,
        bytes: 12_000,
        gop: 15,
    };
    let video = a
        .publish_shaped(TrackKind::Video, shape)
        .await
        .expect("publish");

    let init = {
        let token = server.app_token(&room, "host", "probe");
        let addr = server.base_url().trim_start_matches("http://").to_owned();
        let (status, v) =
            caucus_tests::served::http(&addr, "GET", "/init?peer_id=x", Some(&token), None);
        assert_eq!(status, 200, "{v}");
        caucus_sdk::quic::QuicInit::from_init(&v).expect("quic")
    };
    let via = relay(init.addr).await;
    let (slow, _) = join("slow", Some(via)).await.expect("slow joins");
    let (fast, _) = join("fast", None).await.expect("fast joins");

    let start = Instant::now();
    tokio::time::sleep(Duration::from_secs(12)).await;
    let s = slow
        .track_stats(&video)
        .expect("the slow subscriber received");
    let f = fast
        .track_stats(&video)
        .expect("the fast subscriber received");
    println!("after {:?}: slow {s:?}\nfast {f:?}", start.elapsed());

    // The clean path gets (nearly) everything, on time.
    assert!(f.objects > 300, "{f:?}");
    assert!(f.lag_ms < 1_000.0, "{f:?}");
    assert_eq!(f.groups_without_keyframe, 0, "{f:?}");
    // The slow path gets far less, still current: groups that fell behind
    // were reset, and what arrives is not seconds old.
    assert!(s.objects > 0 && s.objects < f.objects, "{s:?}");
    assert!(s.groups_reset > 0, "no group was reset: {s:?}");
    assert!(s.lag_ms < 3_000.0, "latency built up: {s:?}");
    assert!(
        s.last_at
            .is_some_and(|t| t.elapsed() < Duration::from_secs(2)),
        "the slow subscriber stopped receiving: {s:?}"
    );
    assert_eq!(s.groups_without_keyframe, 0, "{s:?}");
}
