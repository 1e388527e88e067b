//! `evolve`: the room state after one event. No rules, no failures.
//!
//! Events are trusted to come from `decide` on the state they are applied to;
//! an event that does not fit (a peer that is not there) changes nothing rather
//! than panicking, so a replay can never crash.

use std::collections::BTreeMap;

use super::events::RoomEvent;
use super::model::{Peer, RoomInfo, Session, Track, publish_kind};
use super::state::RoomState;

/// Applies one event, consuming and returning the state.
pub fn evolve(mut s: RoomState, event: &RoomEvent) -> RoomState {
    apply(&mut s, event);
    s
}

/// Applies one event in place (same as [`evolve`]).
pub fn apply(s: &mut RoomState, event: &RoomEvent) {
    match event {
        RoomEvent::RoomCreated(e) => {
            s.room = Some(RoomInfo {
                id: e.room_id.clone(),
                workspace_id: e.workspace_id.clone(),
                name: e.name.clone(),
                description: e.description.clone(),
                enabled: true,
                template_id: e.template_id.clone(),
                roles: e.roles.clone(),
                settings: e.settings.clone(),
                created_at: e.at,
                updated_at: e.at,
            });
        }
        RoomEvent::RoomUpdated(e) => {
            if let Some(r) = s.room.as_mut() {
                if let Some(n) = &e.name {
                    r.name = n.clone();
                }
                if let Some(d) = &e.description {
                    r.description = d.clone();
                }
                if let Some(t) = &e.template {
                    r.template_id = t.template_id.clone();
                    r.roles = t.roles.clone();
                }
                if let Some(st) = &e.settings {
                    r.settings = st.clone();
                }
                r.updated_at = e.at;
            }
        }
        RoomEvent::RoomEnabled(e) => set_enabled(s, true, e.at),
        RoomEvent::RoomDisabled(e) => set_enabled(s, false, e.at),
        RoomEvent::SessionOpened(e) => {
            s.session = Some(Session {
                id: e.session_id.clone(),
                started_at: e.at,
            });
            if let Some(r) = s.room.as_mut() {
                r.template_id = e.template_id.clone();
                r.roles = e.roles.clone();
            }
            s.counters.sessions_opened += 1;
        }
        RoomEvent::SessionClosed(_) => {
            s.session = None;
            s.peers.clear();
        }
        RoomEvent::PeerJoined(e) => {
            s.peers.insert(
                e.peer_id.clone(),
                Peer {
                    id: e.peer_id.clone(),
                    user_id: e.user_id.clone(),
                    name: e.name.clone(),
                    metadata: e.metadata.clone(),
                    role: e.role.clone(),
                    joined_at: e.at,
                    tracks: BTreeMap::new(),
                    role_change_requests: BTreeMap::new(),
                    start_muted: Vec::new(),
                },
            );
            s.counters.peers_joined += 1;
        }
        RoomEvent::PeerLeft(e) => {
            s.peers.remove(&e.peer_id);
        }
        RoomEvent::PeerUpdated(e) => {
            if let Some(p) = s.peers.get_mut(&e.peer_id) {
                if let Some(n) = &e.name {
                    p.name = n.clone();
                }
                if let Some(m) = &e.metadata {
                    p.metadata = m.clone();
                }
            }
        }
        RoomEvent::TrackPublished(e) => {
            if let Some(p) = s.peers.get_mut(&e.peer_id) {
                let kind = publish_kind(e.kind, e.source);
                p.start_muted.retain(|k| *k != kind);
                p.tracks.insert(
                    e.track_id.clone(),
                    Track {
                        id: e.track_id.clone(),
                        stream_id: e.stream_id.clone(),
                        kind: e.kind,
                        source: e.source,
                        muted: e.muted,
                        description: e.description.clone(),
                        published_at: e.at,
                    },
                );
            }
        }
        RoomEvent::TrackUnpublished(e) => {
            if let Some(p) = s.peers.get_mut(&e.peer_id) {
                p.tracks.remove(&e.track_id);
            }
        }
        RoomEvent::TrackMuted(e) => set_muted(s, &e.peer_id, &e.track_id, true),
        RoomEvent::TrackUnmuted(e) => set_muted(s, &e.peer_id, &e.track_id, false),
        RoomEvent::TrackUnmuteRequested(_) => {}
        RoomEvent::RoleChangeRequested(e) => {
            if let Some(p) = s.peers.get_mut(&e.peer_id) {
                p.role_change_requests.insert(
                    e.token.clone(),
                    super::model::RoleChangeRequest {
                        token: e.token.clone(),
                        role: e.role.clone(),
                        requested_by: e.by.clone(),
                        requested_at: e.at,
                    },
                );
            }
        }
        RoomEvent::RoleChanged(e) => {
            if let Some(p) = s.peers.get_mut(&e.peer_id) {
                p.role = e.to.clone();
                p.role_change_requests.clear();
                p.start_muted = e.start_muted.clone();
            }
        }
        RoomEvent::RoomEnded(_) => {}
        RoomEvent::MessageBroadcast(_) => s.counters.messages_sent += 1,
        // Records of refusals: nothing changed.
        RoomEvent::PeerJoinFailed(_) | RoomEvent::RoleChangeFailed(_) => {}
    }
}

fn set_enabled(s: &mut RoomState, enabled: bool, at: crate::time::Timestamp) {
    if let Some(r) = s.room.as_mut() {
        r.enabled = enabled;
        r.updated_at = at;
    }
}

fn set_muted(
    s: &mut RoomState,
    peer: &crate::ids::PeerId,
    track: &crate::ids::TrackId,
    muted: bool,
) {
    if let Some(t) = s.peers.get_mut(peer).and_then(|p| p.tracks.get_mut(track)) {
        t.muted = muted;
    }
}
