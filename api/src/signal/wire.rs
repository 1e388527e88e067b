//! The payload shapes of the 100ms client protocol, built from room state
//! (docs/signalling.md §3–4). Pure.

use caucus_domain::room::model::{Peer, Track, TrackKind, TrackSource};
use caucus_domain::{RoleName, RoomState, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

/// A track as the protocol writes it (`TrackState`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackState {
    pub track_id: String,
    pub stream_id: String,
    #[serde(default)]
    pub mute: bool,
    #[serde(rename = "type")]
    pub kind: TrackKind,
    #[serde(default = "regular")]
    pub source: TrackSource,
    #[serde(default)]
    pub description: String,
}

fn regular() -> TrackSource {
    TrackSource::Regular
}

impl From<&Track> for TrackState {
    fn from(t: &Track) -> Self {
        Self {
            track_id: t.id.to_string(),
            stream_id: t.stream_id.to_string(),
            mute: t.muted,
            kind: t.kind,
            source: t.source,
            description: t.description.clone(),
        }
    }
}

/// Milliseconds since the epoch, as the SDK's `new Date(ms)` reads it.
pub fn millis(t: Timestamp) -> i64 {
    t.unix_micros().div_euclid(1_000)
}

/// `PeerInfo`: `{peer_id, role, groups, realtime, info: {name, data, user_id,
/// type}}`. `realtime: true` says the peer is connected now (the 100ms web
/// SDK drops a peer from its store on an `on-peer-update` without it).
pub fn peer_info(p: &Peer) -> Value {
    json!({
        "peer_id": p.id.as_str(),
        "role": p.role.as_str(),
        "groups": [],
        "realtime": true,
        "info": {
            "name": p.name,
            "data": p.metadata,
            "user_id": p.user_id.as_str(),
            "type": "regular",
        },
    })
}

/// `{track_id: TrackState}` for the given tracks.
pub fn tracks<'a>(ts: impl IntoIterator<Item = &'a Track>) -> Value {
    let mut map = Map::new();
    for t in ts {
        map.insert(
            t.id.to_string(),
            serde_json::to_value(TrackState::from(t)).unwrap_or(Value::Null),
        );
    }
    Value::Object(map)
}

/// `Peer`: `PeerInfo` plus `joined_at` and `tracks`.
pub fn peer(p: &Peer) -> Value {
    let mut v = peer_info(p);
    if let Value::Object(m) = &mut v {
        m.insert("joined_at".into(), json!(millis(p.joined_at)));
        m.insert("tracks".into(), tracks(p.tracks.values()));
    }
    v
}

/// `{peer: PeerInfo, tracks: {…}}` for track notifications.
pub fn track_notification<'a>(p: &Peer, ts: impl IntoIterator<Item = &'a Track>) -> Value {
    json!({ "peer": peer_info(p), "tracks": tracks(ts) })
}

/// `peer-list`: every peer and the room.
pub fn peer_list(state: &RoomState) -> Value {
    let mut peers = Map::new();
    for p in state.peers.values() {
        peers.insert(p.id.to_string(), peer(p));
    }
    let off = json!({ "enabled": false, "state": "none" });
    let mut room = json!({
        "name": state.room.as_ref().map(|r| r.name.as_str()).unwrap_or_default(),
        "recording": { "sfu": off, "browser": off, "hls": off },
        "streaming": {
            "enabled": false,
            "rtmp": { "enabled": false, "state": "none" },
            "hls": { "enabled": false },
        },
    });
    if let (Some(s), Value::Object(m)) = (&state.session, &mut room) {
        m.insert("session_id".into(), json!(s.id.as_str()));
        m.insert("started_at".into(), json!(millis(s.started_at)));
    }
    json!({ "peers": peers, "room": room })
}

/// `on-policy-change` for a peer of `role`: the room's roles in the client's
/// shape. `name` is the receiving peer's role (the 100ms web SDK reads its
/// own publish settings, simulcast layers among them, as
/// `known_roles[name]`).
pub fn policy(state: &RoomState, role: &RoleName) -> Value {
    let Some(room) = &state.room else {
        return json!({ "name": role.as_str(), "known_roles": {}, "plugins": {}, "template_id": "" });
    };
    let mut roles = Map::new();
    for (name, role) in room.roles.iter() {
        roles.insert(
            name.to_string(),
            serde_json::to_value(role).unwrap_or(Value::Null),
        );
    }
    json!({
        "name": role.as_str(),
        "known_roles": roles,
        "plugins": {},
        "template_id": room.template_id.as_str(),
        "app_data": {},
    })
}
