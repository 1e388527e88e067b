//! Shared helpers for the projection tests: a real store in a temporary
//! directory, ids, a template with a host and a guest role, and command builders.
#![allow(dead_code)]

use std::sync::Arc;

use caucus_domain::room::{
    CreateRoom, JoinPeer, LeavePeer, LeaveReason, PublishTrack, RoomSettings, TrackKind,
    TrackSource,
};
use caucus_domain::template::{PublishKind, Role, Roles};
use caucus_domain::{
    PeerId, RoleName, RoomCommand, RoomId, SessionId, StreamId, TemplateId, Timestamp, TrackId,
    UserId, WorkspaceId,
};
use caucus_eventlog::EventLog;

/// A fresh store of the kind Caucus runs by default.
pub fn store() -> (Arc<dyn EventLog>, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let log: Arc<dyn EventLog> =
        caucus_eventlog::embedded::EmbeddedLog::open(dir.path().join("log")).expect("open store");
    (log, dir)
}

pub fn object_id(n: u64) -> String {
    format!("{n:024x}")
}

pub fn room_id(n: u64) -> RoomId {
    object_id(0x1000 + n).parse().expect("room id")
}

pub fn session_id(n: u64) -> SessionId {
    object_id(0x2000 + n).parse().expect("session id")
}

pub fn workspace() -> WorkspaceId {
    object_id(0xABC).parse().expect("workspace id")
}

pub fn template_id() -> TemplateId {
    object_id(0x7E).parse().expect("template id")
}

pub fn peer_id(n: u64) -> PeerId {
    format!("00000000-0000-4000-8000-{n:012x}")
        .parse()
        .expect("peer id")
}

pub fn role(name: &str) -> RoleName {
    name.parse().expect("role name")
}

pub fn at(s: i64) -> Timestamp {
    Timestamp::from_unix_seconds(1_800_000_000 + s)
}

/// `host` publishes audio and video and may do everything; `guest` may only
/// subscribe and is limited to `guest_limit` peers.
pub fn roles(guest_limit: i32) -> Roles {
    let mut host = Role::new(role("host"));
    host.publish_params.allowed = vec![PublishKind::Audio, PublishKind::Video];
    host.permissions.end_room = true;
    host.permissions.remove_others = true;
    host.permissions.mute = true;
    host.permissions.unmute = true;
    host.permissions.change_role = true;
    host.subscribe_params.subscribe_to_roles = vec![role("host"), role("guest")];
    let mut guest = Role::new(role("guest"));
    guest.max_peer_count = guest_limit;
    guest.subscribe_params.subscribe_to_roles = vec![role("host")];
    [(role("host"), host), (role("guest"), guest)]
        .into_iter()
        .collect()
}

pub fn create_room(n: u64) -> RoomCommand {
    CreateRoom {
        room_id: room_id(n),
        workspace_id: workspace(),
        name: format!("room-{n}"),
        description: String::new(),
        template_id: template_id(),
        roles: roles(0),
        settings: RoomSettings::default(),
        at: at(0),
    }
    .into()
}

pub fn join(peer: u64, role_name: &str, session: u64, t: i64) -> RoomCommand {
    JoinPeer {
        peer_id: peer_id(peer),
        user_id: UserId::new(format!("user-{peer}")).expect("user id"),
        name: format!("Peer {peer}"),
        metadata: "{}".into(),
        role: role(role_name),
        session_id: session_id(session),
        roles: None,
        at: at(t),
    }
    .into()
}

pub fn leave(peer: u64, t: i64) -> RoomCommand {
    LeavePeer {
        peer_id: peer_id(peer),
        reason: LeaveReason::ClientRequest,
        at: at(t),
    }
    .into()
}

pub fn publish(peer: u64, track: &str, kind: TrackKind, t: i64) -> RoomCommand {
    PublishTrack {
        peer_id: peer_id(peer),
        track_id: TrackId::new(track).expect("track id"),
        stream_id: StreamId::new(format!("stream-{peer}")).expect("stream id"),
        kind,
        source: TrackSource::Regular,
        muted: false,
        description: String::new(),
        at: at(t),
    }
    .into()
}
