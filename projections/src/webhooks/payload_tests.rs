//! Given a room's events, when one more is mapped, then these payloads.

use caucus_domain::room::{
    LeaveReason, PeerJoinFailed, PeerJoined, PeerLeft, RoleChangeFailed, RoleChanged, RoomCreated,
    RoomEnded, RoomSettings, SessionCloseReason, SessionClosed, SessionOpened, TrackKind,
    TrackMuted, TrackPublished, TrackSource,
};
use caucus_domain::{Actor, DomainEvent, RoomEvent, Timestamp};
use caucus_eventlog::{Codec, Metadata, Position, RecordedEvent, StreamName};
use serde_json::Value;
use uuid::Uuid;

use super::*;

const ROOM: &str = "000000000000000000001001";
const WS: &str = "000000000000000000000abc";
const TEMPLATE: &str = "00000000000000000000007e";
const SESSION: &str = "000000000000000000002001";

fn peer(n: u64) -> caucus_domain::PeerId {
    format!("00000000-0000-4000-8000-{n:012x}").parse().unwrap()
}

fn at(s: i64) -> Timestamp {
    Timestamp::from_unix_seconds(1_800_000_000 + s)
}

fn created() -> RoomEvent {
    RoomEvent::RoomCreated(RoomCreated {
        room_id: ROOM.parse().unwrap(),
        workspace_id: WS.parse().unwrap(),
        name: "standup".into(),
        description: String::new(),
        template_id: TEMPLATE.parse().unwrap(),
        roles: Default::default(),
        settings: RoomSettings::default(),
        at: at(0),
    })
}

fn opened(t: i64) -> RoomEvent {
    RoomEvent::SessionOpened(SessionOpened {
        session_id: SESSION.parse().unwrap(),
        template_id: TEMPLATE.parse().unwrap(),
        roles: Default::default(),
        at: at(t),
    })
}

fn joined(n: u64, role: &str, t: i64) -> RoomEvent {
    RoomEvent::PeerJoined(PeerJoined {
        peer_id: peer(n),
        session_id: SESSION.parse().unwrap(),
        user_id: format!("user-{n}").parse().unwrap(),
        name: format!("Peer {n}"),
        metadata: "{\"a\":1}".into(),
        role: role.parse().unwrap(),
        at: at(t),
    })
}

fn left(n: u64, reason: LeaveReason, message: Option<&str>, t: i64) -> RoomEvent {
    RoomEvent::PeerLeft(PeerLeft {
        peer_id: peer(n),
        session_id: SESSION.parse().unwrap(),
        reason,
        message: message.map(str::to_owned),
        removed_by: None,
        at: at(t),
    })
}

/// Records `events` as revisions 0.. at positions 100.., folds the context,
/// and returns the payloads of the last one.
fn given_then(events: &[RoomEvent]) -> Vec<(Payload, Value)> {
    let mut ctx = RoomContext::default();
    let mut out = Vec::new();
    for (i, e) in events.iter().enumerate() {
        let recorded = record(e, i as u64);
        out = map(&ctx, &recorded, e);
        ctx.apply(e);
    }
    out.into_iter()
        .map(|p| {
            let v = serde_json::from_slice(&p.body).unwrap();
            (p, v)
        })
        .collect()
}

fn record(e: &RoomEvent, revision: u64) -> RecordedEvent {
    RecordedEvent {
        event_id: Uuid::from_u128(0xE000 + u128::from(revision)),
        stream: StreamName::of("room", ROOM).unwrap(),
        revision,
        position: Position(100 + revision),
        event_type: e.event_type().to_owned(),
        schema_version: e.schema_version(),
        codec: Codec::Bincode2,
        payload: e.encode(),
        metadata: Metadata::default(),
        recorded_at_us: 0,
    }
}

fn one(events: &[RoomEvent]) -> Value {
    let mut out = given_then(events);
    assert_eq!(out.len(), 1, "one payload expected");
    out.remove(0).1
}

#[test]
fn session_open_has_the_envelope_and_the_caucus_fields() {
    let v = one(&[created(), opened(10)]);
    assert_eq!(v["version"], "2.0");
    assert_eq!(v["type"], "session.open.success");
    assert_eq!(v["account_id"], WS);
    assert_eq!(v["app_id"], WS);
    assert_eq!(v["template_id"], TEMPLATE);
    assert_eq!(v["timestamp"], "2027-01-15T08:00:10Z");
    assert_eq!(v["data"]["room_id"], ROOM);
    assert_eq!(v["data"]["room_name"], "standup");
    assert_eq!(v["data"]["session_id"], SESSION);
    assert_eq!(v["data"]["session_started_at"], "2027-01-15T08:00:10Z");
    assert_eq!(v["caucus"]["log_position"], 101);
    assert_eq!(v["caucus"]["room_sequence"], 1);
    assert_eq!(v["caucus"]["event_type"], "SessionOpened");
    let id = envelope_id(Uuid::from_u128(0xE001), "session.open.success");
    assert_eq!(v["id"], id.to_string());
}

#[test]
fn the_same_event_maps_to_the_same_bytes_and_id() {
    let a = given_then(&[created(), opened(1), joined(1, "host", 2)]);
    let b = given_then(&[created(), opened(1), joined(1, "host", 2)]);
    assert_eq!(a[0].0, b[0].0);
    // Different types of one event get different ids.
    assert_ne!(
        envelope_id(Uuid::from_u128(1), "peer.join.success"),
        envelope_id(Uuid::from_u128(1), "peer.leave.success")
    );
}

#[test]
fn peer_join_carries_the_peer_and_session() {
    let v = one(&[created(), opened(1), joined(7, "host", 2)]);
    assert_eq!(v["type"], "peer.join.success");
    let d = &v["data"];
    assert_eq!(d["peer_id"], peer(7).as_str());
    assert_eq!(d["user_id"], "user-7");
    assert_eq!(d["user_name"], "Peer 7");
    assert_eq!(d["user_data"], "{\"a\":1}");
    assert_eq!(d["role"], "host");
    assert_eq!(d["joined_at"], "2027-01-15T08:00:02Z");
    assert_eq!(d["session_started_at"], "2027-01-15T08:00:01Z");
    assert_eq!(d["type"], "regular");
}

#[test]
fn peer_leave_has_100ms_reasons_duration_and_message() {
    let v = one(&[
        created(),
        opened(1),
        joined(7, "host", 2),
        left(7, LeaveReason::PeerKicked, Some("be nice"), 65),
    ]);
    assert_eq!(v["type"], "peer.leave.success");
    let d = &v["data"];
    assert_eq!(d["reason"], "peer kicked");
    assert_eq!(d["message"], "be nice");
    assert_eq!(d["duration"], 63);
    assert_eq!(d["left_at"], "2027-01-15T08:01:05Z");
    assert_eq!(d["role"], "host");

    let v = one(&[
        created(),
        opened(1),
        joined(7, "host", 2),
        left(7, LeaveReason::WebsocketClosed, None, 3),
    ]);
    assert_eq!(v["data"]["reason"], "websocket closed");
    assert!(v["data"].get("message").is_none());
}

fn role_changed(by: Actor) -> RoomEvent {
    RoomEvent::RoleChanged(RoleChanged {
        peer_id: peer(2),
        from: "guest".parse().unwrap(),
        to: "host".parse().unwrap(),
        by,
        forced: true,
        start_muted: vec![],
        at: at(9),
    })
}

#[test]
fn role_change_names_the_requester_unless_the_api_did_it() {
    let base = [
        created(),
        opened(1),
        joined(1, "host", 2),
        joined(2, "guest", 3),
    ];
    let mut by_peer = base.to_vec();
    by_peer.push(role_changed(Actor::Peer(peer(1))));
    let v = one(&by_peer);
    assert_eq!(v["type"], "role.change.success");
    assert_eq!(v["data"]["previous_role"], "guest");
    assert_eq!(v["data"]["role"], "host");
    assert_eq!(v["data"]["role_change_requested_by"], peer(1).as_str());
    assert_eq!(v["data"]["role_changed_at"], "2027-01-15T08:00:09Z");

    let mut by_api = base.to_vec();
    by_api.push(role_changed(Actor::Server));
    let v = one(&by_api);
    assert!(v["data"].get("role_change_requested_by").is_none());
}

#[test]
fn room_end_then_leaves_then_session_close() {
    let ended = RoomEvent::RoomEnded(RoomEnded {
        session_id: SESSION.parse().unwrap(),
        by: Actor::Server,
        lock: true,
        reason: "closing time".into(),
        at: at(100),
    });
    let mut events = vec![created(), opened(1), joined(1, "host", 2), ended];
    let v = one(&events);
    assert_eq!(v["type"], "room.end.success");
    assert_eq!(v["data"]["source"], "api");
    assert_eq!(v["data"]["lock_room"], true);
    assert_eq!(v["data"]["reason"], "closing time");
    assert!(v["data"].get("peer_id").is_none());

    events.push(left(
        1,
        LeaveReason::ServerRemovedPeer,
        Some("closing time"),
        100,
    ));
    let v = one(&events);
    assert_eq!(v["data"]["reason"], "server removed peer");
    assert_eq!(v["data"]["message"], "closing time");

    events.push(RoomEvent::SessionClosed(SessionClosed {
        session_id: SESSION.parse().unwrap(),
        reason: SessionCloseReason::RoomEnded,
        started_at: at(1),
        at: at(100),
    }));
    let v = one(&events);
    assert_eq!(v["type"], "session.close.success");
    assert_eq!(v["data"]["session_duration"], 99);
    assert_eq!(v["data"]["session_stopped_at"], "2027-01-15T08:01:40Z");
}

#[test]
fn room_end_by_a_peer_names_it() {
    let ended = RoomEvent::RoomEnded(RoomEnded {
        session_id: SESSION.parse().unwrap(),
        by: Actor::Peer(peer(1)),
        lock: false,
        reason: String::new(),
        at: at(5),
    });
    let v = one(&[created(), opened(1), joined(1, "host", 2), ended]);
    assert_eq!(v["data"]["source"], "peer");
    assert_eq!(v["data"]["peer_id"], peer(1).as_str());
    assert_eq!(v["data"]["user_name"], "Peer 1");
    assert_eq!(v["data"]["role"], "host");
}

#[test]
fn track_events_are_caucus_extensions() {
    let published = RoomEvent::TrackPublished(TrackPublished {
        peer_id: peer(1),
        track_id: "t-1".parse().unwrap(),
        stream_id: "s-1".parse().unwrap(),
        kind: TrackKind::Video,
        source: TrackSource::Screen,
        muted: false,
        description: String::new(),
        at: at(4),
    });
    let mut events = vec![created(), opened(1), joined(1, "host", 2), published];
    let v = one(&events);
    assert_eq!(v["type"], "caucus.track.add.success");
    assert_eq!(v["data"]["track_type"], "video");
    assert_eq!(v["data"]["source"], "screen");
    events.push(RoomEvent::TrackMuted(TrackMuted {
        peer_id: peer(1),
        track_id: "t-1".parse().unwrap(),
        by: Actor::Server,
        at: at(6),
    }));
    let v = one(&events);
    assert_eq!(v["type"], "caucus.track.mute.success");
    assert_eq!(v["data"]["track_type"], "video");
    assert!(v["data"].get("muted_by").is_none());
    assert!(EXTENSION_TYPES.iter().all(|t| t.starts_with("caucus.")));
    assert!(!STANDARD_TYPES.iter().any(|t| t.starts_with("caucus.")));
}

#[test]
fn events_without_a_webhook_or_before_room_created_map_to_nothing() {
    assert!(given_then(&[created()]).is_empty());
    assert!(given_then(&[opened(1)]).is_empty(), "no RoomCreated seen");
    // A leave of an unknown peer (impossible in a valid stream) maps to nothing.
    assert!(
        given_then(&[
            created(),
            opened(1),
            left(9, LeaveReason::ClientRequest, None, 2)
        ])
        .is_empty()
    );
}

#[test]
fn refused_joins_and_role_changes_are_failures_with_the_reason() {
    let mut events = vec![created(), opened(1), joined(1, "host", 2)];
    events.push(RoomEvent::PeerJoinFailed(PeerJoinFailed {
        peer_id: peer(7),
        user_id: "user-7".parse().unwrap(),
        name: "Late".into(),
        metadata: "{}".into(),
        role: "guest".parse().unwrap(),
        reason: "role guest is full (limit 1)".into(),
        at: at(5),
    }));
    let v = one(&events);
    assert_eq!(v["type"], "peer.join.failure");
    assert_eq!(v["data"]["peer_id"], peer(7).as_str());
    assert_eq!(v["data"]["user_id"], "user-7");
    assert_eq!(v["data"]["role"], "guest");
    assert_eq!(v["data"]["error_message"], "role guest is full (limit 1)");
    assert_eq!(v["data"]["room_id"], ROOM);

    let mut events = vec![
        created(),
        opened(1),
        joined(1, "host", 2),
        joined(2, "guest", 3),
    ];
    events.push(RoomEvent::RoleChangeFailed(RoleChangeFailed {
        peer_id: peer(2),
        role: "host".parse().unwrap(),
        by: Actor::Peer(peer(1)),
        reason: "role host is full (limit 1)".into(),
        at: at(6),
    }));
    let v = one(&events);
    assert_eq!(v["type"], "role.change.failure");
    assert_eq!(v["data"]["role"], "host");
    assert_eq!(v["data"]["user_id"], "user-2");
    assert_eq!(v["data"]["role_change_requested_by"], peer(1).as_str());
    assert_eq!(v["data"]["error_message"], "role host is full (limit 1)");
    assert!(v["data"].get("previous_role").is_none());
}

#[test]
fn known_types_cover_the_filters() {
    assert!(is_known_type("peer.join.success"));
    assert!(is_known_type("peer.join.failure"));
    assert!(is_known_type("caucus.track.add.success"));
    assert!(!is_known_type("track.add.success"));
}
