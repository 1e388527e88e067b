//! On shutdown the projections store a snapshot and their checkpoint; the next
//! start resumes from them (no rebuild) and equals a rebuild from position 0.

mod common;

use caucus_domain::room::TrackKind;
use caucus_eventlog::Metadata;
use caucus_projections::{Engine, LiveRooms, Projected, SessionHistory, SnapshotDir, rebuild};
use common::*;

#[tokio::test]
async fn shutdown_writes_snapshots_and_a_restart_resumes_from_them() {
    let (log, dir) = store();
    let snapshots = dir.path().join("snapshots");
    let engine = Engine::start(log.clone(), Some(snapshots.clone()))
        .await
        .unwrap();
    let id = room_id(1).to_string();
    for cmd in [
        create_room(1),
        join(1, "host", 1, 1),
        publish(1, "mic-1", TrackKind::Audio, 2),
        join(2, "guest", 1, 3),
    ] {
        engine
            .rooms
            .execute(&id, cmd, Metadata::default())
            .await
            .unwrap();
    }
    let head = (*log.head().borrow()).expect("events");
    engine.live.wait_for(head).await.unwrap();
    engine.history.wait_for(head).await.unwrap();
    engine.shutdown().await;

    assert_eq!(log.load_checkpoint("live-rooms").await.unwrap(), Some(head));
    assert_eq!(
        log.load_checkpoint("session-history").await.unwrap(),
        Some(head)
    );
    assert!(snapshots.join("live-rooms.json").is_file());
    assert!(snapshots.join("session-history.json").is_file());

    let live = Projected::<LiveRooms>::start(log.clone(), Some(SnapshotDir(snapshots.clone())))
        .await
        .unwrap();
    assert_eq!(
        live.progress().position,
        Some(head),
        "starts from the snapshot, not from 0"
    );
    live.wait_caught_up().await.unwrap();
    assert_eq!(
        live.read(|l| l.clone()),
        rebuild::<LiveRooms>(&log, None).await.unwrap()
    );
    let history = Projected::<SessionHistory>::start(log.clone(), Some(SnapshotDir(snapshots)))
        .await
        .unwrap();
    history.wait_caught_up().await.unwrap();
    assert_eq!(
        history.read(|h| h.clone()),
        rebuild::<SessionHistory>(&log, None).await.unwrap()
    );
}

#[tokio::test]
async fn a_snapshot_without_a_matching_checkpoint_is_not_trusted() {
    let (log, dir) = store();
    let snapshots = dir.path().join("snapshots");
    let engine = Engine::start(log.clone(), Some(snapshots.clone()))
        .await
        .unwrap();
    let id = room_id(2).to_string();
    engine
        .rooms
        .execute(&id, create_room(2), Metadata::default())
        .await
        .unwrap();
    engine.shutdown().await;
    // A snapshot claiming a different state at the same position, as a crash
    // between writing a snapshot and its checkpoint could leave behind.
    let forged = serde_json::json!({ "position": 99, "state": LiveRooms::default() });
    std::fs::write(
        snapshots.join("live-rooms.json"),
        serde_json::to_vec(&forged).unwrap(),
    )
    .unwrap();

    let live = Projected::<LiveRooms>::start(log.clone(), Some(SnapshotDir(snapshots)))
        .await
        .unwrap();
    live.wait_caught_up().await.unwrap();
    assert!(
        live.read(|l| l.room(&room_id(2)).is_some()),
        "rebuilt from the log instead"
    );
}
