//! A Rust SDK peer for the browser tests: joins with an app token, publishes
//! synthetic audio and VP8 video, and prints one JSON line per second with
//! what it receives, until stdin closes or `seconds` pass; then leaves.
//!
//! ```sh
//! sdk_peer http://127.0.0.1:PORT <app token> <name> [seconds]
//! ```

use std::io::Write;
use std::time::Duration;

use caucus_sdk::{Client, JoinOptions};
use serde_json::json;
use tokio::io::AsyncReadExt;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (base, token, name) = match args.as_slice() {
        [b, t, n, ..] => (b.clone(), t.clone(), n.clone()),
        _ => {
            eprintln!("usage: sdk_peer <base url> <app token> <name> [seconds]");
            std::process::exit(2);
        }
    };
    let seconds: u64 = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(60);
    let say = |v: serde_json::Value| {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{v}");
        let _ = out.flush();
    };
    let opts = JoinOptions {
        name,
        ..JoinOptions::new(base, token)
    };
    let (client, mut events) = match Client::join(opts).await {
        Ok(c) => c,
        Err(e) => {
            say(json!({ "error": e.to_string() }));
            std::process::exit(1);
        }
    };
    tokio::spawn(async move { while events.recv().await.is_some() {} });
    let audio = client.publish_audio().await;
    let video = client.publish_video().await;
    say(json!({
        "joined": client.peer_id(),
        "audio": audio.as_ref().map_err(|e| e.to_string()).ok(),
        "video": video.as_ref().map_err(|e| e.to_string()).ok(),
    }));
    let mut stdin = tokio::io::stdin();
    let mut buf = [0u8; 64];
    let stop = async {
        // Closed stdin (or a line) ends the run.
        let _ = stdin.read(&mut buf).await;
    };
    tokio::pin!(stop);
    let deadline = tokio::time::sleep(Duration::from_secs(seconds));
    tokio::pin!(deadline);
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            _ = &mut stop => break,
            _ = &mut deadline => break,
            _ = tick.tick() => {
                let remote: Vec<_> = client
                    .remote_tracks()
                    .into_iter()
                    .map(|s| json!({
                        "track_id": s.track_id,
                        "peer_id": s.peer_id,
                        "kind": format!("{:?}", s.kind).to_lowercase(),
                        "packets": s.packets,
                        "bytes": s.bytes,
                        "keyframes": s.keyframes,
                    }))
                    .collect();
                say(json!({ "remote": remote }));
            }
        }
    }
    let _ = client.leave().await;
    say(json!({ "left": true }));
}
