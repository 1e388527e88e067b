//! What a webhook payload needs to know about its room before an event: the
//! room's workspace, name and template, the open session, the peers present.
//!
//! A [`RoomContext`] is a fold of one room stream, nothing else, so the consumer
//! can rebuild it at any revision by reading that stream (no snapshot needed,
//! and a replay of an old event sees exactly the context it had).

use std::collections::BTreeMap;

use caucus_domain::{
    PeerId, RoleName, RoomEvent, RoomId, SessionId, TemplateId, Timestamp, UserId, WorkspaceId,
};

/// A peer present in the session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerContext {
    pub user_id: UserId,
    pub name: String,
    pub metadata: String,
    pub role: RoleName,
    pub joined_at: Timestamp,
    /// Track id → (kind, source) as 100ms names them (`audio`, `regular`).
    pub tracks: BTreeMap<String, (&'static str, &'static str)>,
}

/// One room, as far as webhooks care.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RoomContext {
    pub room_id: Option<RoomId>,
    pub workspace_id: Option<WorkspaceId>,
    pub name: String,
    pub template_id: Option<TemplateId>,
    /// The open session and when it started.
    pub session: Option<(SessionId, Timestamp)>,
    pub peers: BTreeMap<PeerId, PeerContext>,
    /// The revision the next event of this stream will have.
    pub next_revision: u64,
}

fn track_kind(k: caucus_domain::room::TrackKind) -> &'static str {
    use caucus_domain::room::TrackKind;
    match k {
        TrackKind::Audio => "audio",
        TrackKind::Video => "video",
    }
}

fn track_source(s: caucus_domain::room::TrackSource) -> &'static str {
    use caucus_domain::room::TrackSource;
    match s {
        TrackSource::Regular => "regular",
        TrackSource::Screen => "screen",
        TrackSource::AudioPlaylist => "audioplaylist",
        TrackSource::VideoPlaylist => "videoplaylist",
    }
}

impl RoomContext {
    /// Applies one event of the room's stream. Infallible, like `evolve`.
    pub fn apply(&mut self, event: &RoomEvent) {
        self.next_revision += 1;
        match event {
            RoomEvent::RoomCreated(e) => {
                self.room_id = Some(e.room_id.clone());
                self.workspace_id = Some(e.workspace_id.clone());
                self.name = e.name.clone();
                self.template_id = Some(e.template_id.clone());
            }
            RoomEvent::RoomUpdated(e) => {
                if let Some(name) = &e.name {
                    self.name = name.clone();
                }
                if let Some(t) = &e.template {
                    self.template_id = Some(t.template_id.clone());
                }
            }
            RoomEvent::SessionOpened(e) => {
                self.session = Some((e.session_id.clone(), e.at));
                self.template_id = Some(e.template_id.clone());
            }
            RoomEvent::SessionClosed(_) => {
                self.session = None;
                self.peers.clear();
            }
            RoomEvent::PeerJoined(e) => {
                self.peers.insert(
                    e.peer_id.clone(),
                    PeerContext {
                        user_id: e.user_id.clone(),
                        name: e.name.clone(),
                        metadata: e.metadata.clone(),
                        role: e.role.clone(),
                        joined_at: e.at,
                        tracks: BTreeMap::new(),
                    },
                );
            }
            RoomEvent::PeerLeft(e) => {
                self.peers.remove(&e.peer_id);
            }
            RoomEvent::PeerUpdated(e) => {
                if let Some(p) = self.peers.get_mut(&e.peer_id) {
                    if let Some(n) = &e.name {
                        p.name = n.clone();
                    }
                    if let Some(m) = &e.metadata {
                        p.metadata = m.clone();
                    }
                }
            }
            RoomEvent::RoleChanged(e) => {
                if let Some(p) = self.peers.get_mut(&e.peer_id) {
                    p.role = e.to.clone();
                }
            }
            RoomEvent::TrackPublished(e) => {
                if let Some(p) = self.peers.get_mut(&e.peer_id) {
                    p.tracks.insert(
                        e.track_id.to_string(),
                        (track_kind(e.kind), track_source(e.source)),
                    );
                }
            }
            RoomEvent::TrackUnpublished(e) => {
                if let Some(p) = self.peers.get_mut(&e.peer_id) {
                    p.tracks.remove(e.track_id.as_str());
                }
            }
            RoomEvent::RoomEnabled(_)
            | RoomEvent::RoomDisabled(_)
            | RoomEvent::TrackMuted(_)
            | RoomEvent::TrackUnmuted(_)
            | RoomEvent::TrackUnmuteRequested(_)
            | RoomEvent::RoleChangeRequested(_)
            | RoomEvent::RoomEnded(_)
            | RoomEvent::MessageBroadcast(_)
            | RoomEvent::PeerJoinFailed(_)
            | RoomEvent::RoleChangeFailed(_) => {}
        }
    }

    /// True when nothing is happening in the room: the context can be dropped
    /// from a cache and rebuilt from the stream when the room wakes up.
    pub fn is_idle(&self) -> bool {
        self.session.is_none() && self.peers.is_empty()
    }
}
