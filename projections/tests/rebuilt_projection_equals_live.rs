//! A projection rebuilt from position 0 equals the one kept live by its
//! subscription, and one restarted from its snapshot equals both — for random
//! command sequences over several rooms, refused commands included.

mod common;

use std::sync::Arc;

use caucus_domain::Actor;
use caucus_domain::room::{
    EndRoom, ForceRoleChange, MuteTrack, RemovePeer, TrackKind, UnmuteTrack, UpdatePeer,
};
use caucus_eventlog::{EventLog, Metadata};
use caucus_projections::{Engine, LiveRooms, Projected, SessionHistory, SnapshotDir, rebuild};
use common::*;
use proptest::prelude::*;

#[derive(Clone, Debug)]
enum Step {
    Join {
        room: u64,
        peer: u64,
        host: bool,
    },
    Leave {
        room: u64,
        peer: u64,
    },
    Publish {
        room: u64,
        peer: u64,
        video: bool,
    },
    Mute {
        room: u64,
        peer: u64,
        video: bool,
        on: bool,
    },
    Rename {
        room: u64,
        peer: u64,
    },
    Promote {
        room: u64,
        peer: u64,
    },
    Kick {
        room: u64,
        by: u64,
        peer: u64,
    },
    End {
        room: u64,
        by: u64,
    },
}

fn step() -> impl Strategy<Value = Step> {
    let room = 0u64..3;
    let peer = 0u64..6;
    prop_oneof![
        4 => (room.clone(), peer.clone(), any::<bool>()).prop_map(|(room, peer, host)| Step::Join { room, peer, host }),
        2 => (room.clone(), peer.clone()).prop_map(|(room, peer)| Step::Leave { room, peer }),
        3 => (room.clone(), peer.clone(), any::<bool>()).prop_map(|(room, peer, video)| Step::Publish { room, peer, video }),
        2 => (room.clone(), peer.clone(), any::<bool>(), any::<bool>()).prop_map(|(room, peer, video, on)| Step::Mute { room, peer, video, on }),
        1 => (room.clone(), peer.clone()).prop_map(|(room, peer)| Step::Rename { room, peer }),
        1 => (room.clone(), peer.clone()).prop_map(|(room, peer)| Step::Promote { room, peer }),
        1 => (room.clone(), peer.clone(), peer.clone()).prop_map(|(room, by, peer)| Step::Kick { room, by, peer }),
        1 => (room, peer).prop_map(|(room, by)| Step::End { room, by }),
    ]
}

fn command(s: &Step, t: i64, session: u64) -> (u64, caucus_domain::RoomCommand) {
    let track = |peer: u64, video: bool| {
        format!("{}-{peer}", if video { "cam" } else { "mic" })
            .parse()
            .unwrap()
    };
    match *s {
        Step::Join { room, peer, host } => (
            room,
            join(peer, if host { "host" } else { "guest" }, session, t),
        ),
        Step::Leave { room, peer } => (room, leave(peer, t)),
        Step::Publish { room, peer, video } => {
            let kind = if video {
                TrackKind::Video
            } else {
                TrackKind::Audio
            };
            (
                room,
                publish(
                    peer,
                    &format!("{}-{peer}", if video { "cam" } else { "mic" }),
                    kind,
                    t,
                ),
            )
        }
        Step::Mute {
            room,
            peer,
            video,
            on: true,
        } => (
            room,
            MuteTrack {
                peer_id: peer_id(peer),
                track_id: track(peer, video),
                at: at(t),
            }
            .into(),
        ),
        Step::Mute {
            room,
            peer,
            video,
            on: false,
        } => (
            room,
            UnmuteTrack {
                peer_id: peer_id(peer),
                track_id: track(peer, video),
                at: at(t),
            }
            .into(),
        ),
        Step::Rename { room, peer } => (
            room,
            UpdatePeer {
                actor: Actor::Peer(peer_id(peer)),
                peer_id: peer_id(peer),
                name: Some(format!("renamed {t}")),
                metadata: None,
                at: at(t),
            }
            .into(),
        ),
        Step::Promote { room, peer } => (
            room,
            ForceRoleChange {
                actor: Actor::Server,
                peer_id: peer_id(peer),
                role: role("host"),
                at: at(t),
            }
            .into(),
        ),
        Step::Kick { room, by, peer } => (
            room,
            RemovePeer {
                actor: Actor::Peer(peer_id(by)),
                peer_id: peer_id(peer),
                message: "bye".into(),
                at: at(t),
            }
            .into(),
        ),
        Step::End { room, by } => (
            room,
            EndRoom {
                actor: Actor::Peer(peer_id(by)),
                lock: false,
                reason: "done".into(),
                at: at(t),
            }
            .into(),
        ),
    }
}

async fn run(steps: Vec<Step>) {
    let (log, dir) = store();
    let snapshots = dir.path().join("snapshots");
    let engine = Engine::start(log.clone(), Some(snapshots.clone()))
        .await
        .unwrap();
    for room in 0..3 {
        engine
            .rooms
            .execute(
                room_id(room).as_ref(),
                create_room(room),
                Metadata::default(),
            )
            .await
            .unwrap();
    }
    for (i, s) in steps.iter().enumerate() {
        let (room, cmd) = command(s, i as i64 + 1, i as u64);
        // Refusals are part of the sequence: they must change nothing.
        let _ = engine
            .rooms
            .execute(room_id(room).as_ref(), cmd, Metadata::default())
            .await;
    }
    let head = *log.head().borrow();
    if let Some(head) = head {
        engine.live.wait_for(head).await.unwrap();
        engine.history.wait_for(head).await.unwrap();
    }

    let live = engine.live.read(|l| l.clone());
    let history = engine.history.read(|h| h.clone());
    assert_eq!(rebuild::<LiveRooms>(&log, None).await.unwrap(), live);
    assert_eq!(
        rebuild::<SessionHistory>(&log, None).await.unwrap(),
        history
    );

    // Every room's live state equals folding its own stream with the decider's
    // evolve, as the executor sees it.
    for room in 0..3 {
        let (state, _) = engine.rooms.load(room_id(room).as_ref()).await.unwrap();
        assert_eq!(live.room(&room_id(room)), Some(&state));
    }

    // Restart from a snapshot taken at the head: same state again.
    drop(engine);
    write_snapshot(&log, &snapshots, &live).await;
    let restarted = Projected::<LiveRooms>::start(log.clone(), Some(SnapshotDir(snapshots)))
        .await
        .unwrap();
    restarted.wait_caught_up().await.unwrap();
    assert_eq!(restarted.read(|l| l.clone()), live);
}

/// Stores a snapshot and its checkpoint as the runner does on shutdown.
async fn write_snapshot(log: &Arc<dyn EventLog>, dir: &std::path::Path, live: &LiveRooms) {
    let head = (*log.head().borrow()).expect("events");
    let json = serde_json::json!({ "position": head.0, "state": live });
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(
        dir.join("live-rooms.json"),
        serde_json::to_vec(&json).unwrap(),
    )
    .unwrap();
    log.save_checkpoint("live-rooms", head).await.unwrap();
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn rebuild_equals_live(steps in proptest::collection::vec(step(), 1..60)) {
        tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(run(steps));
    }
}
