//! A receiver that hangs costs one timeout per attempt; one that answers with
//! a huge body is read only up to the limit; neither loses the webhook.

mod webhook_support;

use std::time::{Duration, Instant};

use caucus_eventlog::MemoryLog;
use caucus_projections::webhooks::Webhooks;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use webhook_support::*;

/// Accepts connections; `hang` of them never answer, then every request gets
/// 200 with a `body_bytes` body.
async fn raw_receiver(hang: usize, body_bytes: usize) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let mut n = 0;
        while let Ok((mut sock, _)) = listener.accept().await {
            n += 1;
            let hangs = n <= hang;
            tokio::spawn(async move {
                let mut buf = [0u8; 65536];
                let _ = sock.read(&mut buf).await;
                if hangs {
                    tokio::time::sleep(Duration::from_secs(3600)).await;
                }
                let head = format!("HTTP/1.1 200 OK\r\ncontent-length: {body_bytes}\r\n\r\n");
                let _ = sock.write_all(head.as_bytes()).await;
                let chunk = vec![b'x'; 1 << 16];
                let mut left = body_bytes;
                while left > 0 {
                    let k = left.min(chunk.len());
                    if sock.write_all(&chunk[..k]).await.is_err() {
                        return;
                    }
                    left -= k;
                }
            });
        }
    });
    url
}

#[tokio::test]
async fn hanging_and_huge_receivers_cost_bounded_time_and_memory() {
    let log = MemoryLog::new();
    let mut config = fast_config(Duration::from_secs(30));
    config.client.timeout = Duration::from_millis(300);
    let hooks = Webhooks::start(log.clone(), None, config).await.unwrap();
    let ws = workspace(1);
    // Two hanging connections, then 1 GiB answers.
    let url = raw_receiver(2, 1 << 30).await;
    let (endpoint, _) = hooks.create(&ws, spec(&url)).await.unwrap();
    append_script(log.as_ref(), 0, &room_script(&ws, 0, 1)).await;
    let started = Instant::now();
    loop {
        let ok = hooks
            .deliveries(&ws, &endpoint.id, 100, Some(true))
            .unwrap()
            .len();
        if ok >= 4 {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "not delivered");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let all = hooks.deliveries(&ws, &endpoint.id, 100, None).unwrap();
    let timeouts: Vec<_> = all.iter().filter(|a| !a.success).collect();
    assert_eq!(timeouts.len(), 2, "{all:?}");
    assert!(
        timeouts
            .iter()
            .all(|a| a.error.as_deref().unwrap_or("").contains("timeout"))
    );
    assert!(timeouts.iter().all(|a| a.latency_ms < 2_000.0));
    // 1 GiB bodies were not read: each success took far less than reading it would.
    assert!(
        all.iter()
            .filter(|a| a.success)
            .all(|a| a.latency_ms < 2_000.0)
    );
    assert!(hooks.dead_letters(&ws, &endpoint.id).unwrap().is_empty());
}
