//! The live-rooms and session-history projections follow the log: after
//! `wait_for(position)` they show what the executor appended.

mod common;

use caucus_domain::TemplateId;
use caucus_domain::room::TrackKind;
use caucus_eventlog::Metadata;
use caucus_projections::Engine;
use common::*;

#[tokio::test]
async fn live_rooms_show_peers_tracks_and_sessions() {
    let (log, _dir) = store();
    let engine = Engine::start(log, None).await.unwrap();
    let id = room_id(7).to_string();
    for cmd in [
        create_room(7),
        join(1, "host", 1, 1),
        join(2, "guest", 1, 2),
        publish(1, "mic-1", TrackKind::Audio, 3),
    ] {
        let done = engine
            .rooms
            .execute(&id, cmd, Metadata::default())
            .await
            .unwrap();
        engine
            .live
            .wait_for(done.outcome.unwrap().last_position)
            .await
            .unwrap();
    }

    let room = engine
        .live
        .read(|l| l.room_in(&workspace(), &room_id(7)).cloned())
        .expect("room");
    assert_eq!(room.peers.len(), 2);
    assert_eq!(room.peers[&peer_id(1)].tracks.len(), 1);
    assert!(room.session.is_some());
    let named = engine.live.read(|l| {
        l.room_named(&workspace(), "ROOM-7")
            .map(|r| r.room.as_ref().unwrap().id.clone())
    });
    assert_eq!(named, Some(room_id(7)), "names are case-insensitive");
    let other: caucus_domain::WorkspaceId = object_id(0xDEF).parse().unwrap();
    assert!(
        engine
            .live
            .read(|l| l.room_in(&other, &room_id(7)).is_none()),
        "another workspace does not see it"
    );
    let totals = engine.live.read(|l| l.totals());
    assert_eq!(
        (
            totals.rooms,
            totals.active_sessions,
            totals.peers,
            totals.tracks
        ),
        (1, 1, 2, 1)
    );
    assert!(engine.live.read(|l| {
        l.template(&"00000000000000000000dead".parse::<TemplateId>().unwrap())
            .is_none()
    }));
}

#[tokio::test]
async fn session_history_keeps_joins_leaves_roles_and_tracks() {
    let (log, _dir) = store();
    let engine = Engine::start(log, None).await.unwrap();
    let id = room_id(3).to_string();
    let force = caucus_domain::room::ForceRoleChange {
        actor: caucus_domain::Actor::Server,
        peer_id: peer_id(2),
        role: role("host"),
        at: at(5),
    };
    let mut last = None;
    for cmd in [
        create_room(3),
        join(1, "host", 1, 1),
        publish(1, "cam-1", TrackKind::Video, 2),
        join(2, "guest", 1, 3),
        force.into(),
        leave(1, 8),
        leave(2, 9),
        join(3, "guest", 2, 20),
    ] {
        last = engine
            .rooms
            .execute(&id, cmd, Metadata::default())
            .await
            .unwrap()
            .outcome
            .or(last);
    }
    engine
        .history
        .wait_for(last.unwrap().last_position)
        .await
        .unwrap();

    let sessions: Vec<_> = engine
        .history
        .read(|h| h.sessions_of_room(&room_id(3)).cloned().collect());
    assert_eq!(sessions.len(), 2);
    let first = &sessions[0];
    assert_eq!((first.started_at, first.ended_at), (at(1), Some(at(9))));
    let p1 = &first.peers[&peer_id(1)];
    assert_eq!((p1.joined_at, p1.left_at), (at(1), Some(at(8))));
    let cam = &p1.tracks[&"cam-1".parse().unwrap()];
    assert_eq!(
        (cam.published_at, cam.unpublished_at),
        (at(2), Some(at(8))),
        "a leaving peer's tracks end with it"
    );
    let p2 = &first.peers[&peer_id(2)];
    let roles: Vec<_> = p2
        .roles
        .iter()
        .map(|r| (r.role.to_string(), r.since, r.forced))
        .collect();
    assert_eq!(
        roles,
        [
            ("guest".to_string(), at(3), false),
            ("host".to_string(), at(5), true)
        ]
    );
    assert!(sessions[1].active());
    assert_eq!(sessions[1].peers.len(), 1);
}
