//! Two peers in one room against a running server: A publishes audio and
//! video, B receives both; A mutes its video, then leaves.
//!
//! ```sh
//! caucus serve --dev &
//! A=$(caucus token app --room <room> --role host --user a)
//! B=$(caucus token app --room <room> --role host --user b)
//! cargo run -p caucus-sdk --example two_peers -- http://127.0.0.1:8080 "$A" "$B"
//! ```

use std::time::Duration;

use anyhow::{Context, bail};
use caucus_sdk::{Client, Event, JoinOptions};
use tokio::sync::mpsc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "warn,caucus_sdk=info".into()),
        )
        .init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [base, token_a, token_b] = args.as_slice() else {
        bail!("usage: two_peers <base url> <token a> <token b>");
    };

    let (a, mut a_events) = Client::join(JoinOptions {
        name: "a".into(),
        ..JoinOptions::new(base, token_a)
    })
    .await
    .context("A joins")?;
    println!("A joined as {}", a.peer_id());
    let audio = a.publish_audio().await.context("A publishes audio")?;
    let video = a.publish_video().await.context("A publishes video")?;
    println!("A publishes audio {audio} and video {video}");
    tokio::spawn(async move {
        while let Some(e) = a_events.recv().await {
            if let Event::Notification { method, .. } = &e {
                println!("A <- {method}");
            } else {
                println!("A <- {e:?}");
            }
        }
    });

    let (b, mut b_events) = Client::join(JoinOptions {
        name: "b".into(),
        ..JoinOptions::new(base, token_b)
    })
    .await
    .context("B joins")?;
    println!("B joined as {}", b.peer_id());

    let mut first = Vec::new();
    wait(&mut b_events, Duration::from_secs(15), |e| {
        if let Event::FirstPacket { track_id, .. } = e {
            first.push(track_id.clone());
        }
        first.contains(&audio) && first.contains(&video)
    })
    .await
    .context("B receives A's audio and video")?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    for s in b.remote_tracks() {
        println!(
            "B receives {} {:?} from {:?}: {} packets, {} bytes, {} keyframes",
            s.track_id, s.kind, s.peer_id, s.packets, s.bytes, s.keyframes
        );
    }

    a.set_muted(&video, true).await?;
    wait(
        &mut b_events,
        Duration::from_secs(5),
        |e| matches!(e, Event::Notification { method, .. } if method == "on-track-update"),
    )
    .await
    .context("B hears of the mute")?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = b.remote_track_stats(&video).map(|s| s.packets);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after = b.remote_track_stats(&video).map(|s| s.packets);
    println!("B's video packets over 1 s while muted: {before:?} -> {after:?}");
    if before != after {
        bail!("video kept flowing while muted");
    }
    let keys_before = b.remote_track_stats(&video).map_or(0, |s| s.keyframes);
    a.set_muted(&video, false).await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let unmuted = b.remote_track_stats(&video).context("video stats")?;
    println!(
        "B's video after unmute: {} packets, keyframes {keys_before} -> {}",
        unmuted.packets, unmuted.keyframes
    );
    if unmuted.packets <= after.unwrap_or(0) || unmuted.keyframes <= keys_before {
        bail!("video did not resume with a keyframe after unmute");
    }

    a.leave().await?;
    wait(
        &mut b_events,
        Duration::from_secs(5),
        |e| matches!(e, Event::Notification { method, .. } if method == "on-peer-leave"),
    )
    .await
    .context("B hears A leave")?;
    println!("B saw A leave");
    b.leave().await?;
    Ok(())
}

async fn wait(
    events: &mut mpsc::Receiver<Event>,
    within: Duration,
    mut done: impl FnMut(&Event) -> bool,
) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let e = tokio::time::timeout_at(deadline, events.recv())
            .await
            .context("timed out")?
            .context("event channel ended")?;
        match &e {
            Event::Notification { method, .. } => println!("B <- {method}"),
            other => println!("B <- {other:?}"),
        }
        if done(&e) {
            return Ok(());
        }
    }
}
