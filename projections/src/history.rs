//! Session history: every session of every room, with each peer's joins, leaves,
//! roles and tracks over time. Behind the sessions API, audits and webhooks.

use std::collections::BTreeMap;

use caucus_domain::room::model::{LeaveReason, SessionCloseReason, TrackKind, TrackSource};
use caucus_domain::{
    Actor, Aggregate, PeerId, RoleName, Room, RoomEvent, RoomId, SessionId, StreamId, Timestamp,
    TrackId, UserId, WorkspaceId,
};
use caucus_eventlog::RecordedEvent;
use serde::{Deserialize, Serialize};

use crate::codec::{DecodeFailure, decode_event, entity_id};
use crate::runner::Projection;

/// One session of a room.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SessionRecord {
    pub id: SessionId,
    pub room_id: RoomId,
    pub workspace_id: WorkspaceId,
    pub started_at: Timestamp,
    /// `None` while the session is open.
    pub ended_at: Option<Timestamp>,
    pub close_reason: Option<SessionCloseReason>,
    pub peers: BTreeMap<PeerId, PeerRecord>,
    /// When anything in the session last changed.
    pub updated_at: Timestamp,
}

impl SessionRecord {
    pub fn active(&self) -> bool {
        self.ended_at.is_none()
    }
}

/// One peer's time in a session.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PeerRecord {
    pub id: PeerId,
    pub user_id: UserId,
    pub name: String,
    pub metadata: String,
    pub joined_at: Timestamp,
    pub left_at: Option<Timestamp>,
    pub leave_reason: Option<LeaveReason>,
    /// The kick or end-room message, when there was one.
    pub leave_message: Option<String>,
    /// Every role it held, in order; the last is the current one.
    pub roles: Vec<RoleSpan>,
    pub tracks: BTreeMap<TrackId, TrackRecord>,
}

impl PeerRecord {
    /// The role it holds now (or held when it left).
    pub fn role(&self) -> &RoleName {
        &self.roles.last().expect("a peer joins with a role").role
    }
}

/// A role held from `since`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RoleSpan {
    pub role: RoleName,
    pub since: Timestamp,
    /// Who changed it to this role (`None` for the role it joined with).
    pub by: Option<Actor>,
    pub forced: bool,
}

/// A track's life.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrackRecord {
    pub id: TrackId,
    pub stream_id: StreamId,
    pub kind: TrackKind,
    pub source: TrackSource,
    pub published_at: Timestamp,
    pub unpublished_at: Option<Timestamp>,
    /// Muted intervals, in order.
    pub mutes: Vec<MuteSpan>,
}

/// A muted interval; `until` is `None` while still muted.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MuteSpan {
    pub from: Timestamp,
    pub until: Option<Timestamp>,
    /// Who muted it; `None` when it was published muted.
    pub by: Option<Actor>,
}

/// Every session, by id, plus what is needed to file room events under them.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SessionHistory {
    sessions: BTreeMap<SessionId, SessionRecord>,
    /// Each room's workspace and open session.
    rooms: BTreeMap<RoomId, RoomCursor>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct RoomCursor {
    workspace_id: WorkspaceId,
    open: Option<SessionId>,
}

impl Projection for SessionHistory {
    const NAME: &'static str = "session-history";
    type Decoded = (RoomId, RoomEvent);

    fn decode(recorded: &RecordedEvent) -> Result<Option<(RoomId, RoomEvent)>, DecodeFailure> {
        if recorded.stream.category() != Room::CATEGORY {
            return Ok(None);
        }
        let Some(room_id) = entity_id::<RoomId>(recorded) else {
            return Ok(None);
        };
        Ok(Some((room_id, decode_event(recorded)?)))
    }

    fn fold(&mut self, (room_id, event): (RoomId, RoomEvent)) {
        self.apply_event(room_id, &event);
    }
}

impl SessionHistory {
    fn apply_event(&mut self, room_id: RoomId, event: &RoomEvent) {
        let at = event.at();
        if let RoomEvent::RoomCreated(e) = event {
            self.rooms.insert(
                room_id,
                RoomCursor {
                    workspace_id: e.workspace_id.clone(),
                    open: None,
                },
            );
            return;
        }
        let Some(cursor) = self.rooms.get_mut(&room_id) else {
            return;
        };
        if let RoomEvent::SessionOpened(e) = event {
            cursor.open = Some(e.session_id.clone());
            let record = SessionRecord {
                id: e.session_id.clone(),
                room_id,
                workspace_id: cursor.workspace_id.clone(),
                started_at: at,
                ended_at: None,
                close_reason: None,
                peers: BTreeMap::new(),
                updated_at: at,
            };
            self.sessions.insert(e.session_id.clone(), record);
            return;
        }
        let Some(session) = cursor
            .open
            .as_ref()
            .and_then(|id| self.sessions.get_mut(id))
        else {
            return;
        };
        session.updated_at = at;
        match event {
            RoomEvent::SessionClosed(e) => {
                session.ended_at = Some(at);
                session.close_reason = Some(e.reason);
                cursor.open = None;
            }
            RoomEvent::PeerJoined(e) => {
                session.peers.insert(
                    e.peer_id.clone(),
                    PeerRecord {
                        id: e.peer_id.clone(),
                        user_id: e.user_id.clone(),
                        name: e.name.clone(),
                        metadata: e.metadata.clone(),
                        joined_at: at,
                        left_at: None,
                        leave_reason: None,
                        leave_message: None,
                        roles: vec![RoleSpan {
                            role: e.role.clone(),
                            since: at,
                            by: None,
                            forced: false,
                        }],
                        tracks: BTreeMap::new(),
                    },
                );
            }
            RoomEvent::PeerLeft(e) => {
                if let Some(p) = session.peers.get_mut(&e.peer_id) {
                    p.left_at = Some(at);
                    p.leave_reason = Some(e.reason);
                    p.leave_message.clone_from(&e.message);
                    for t in p.tracks.values_mut() {
                        end_track(t, at);
                    }
                }
            }
            RoomEvent::PeerUpdated(e) => {
                if let Some(p) = session.peers.get_mut(&e.peer_id) {
                    if let Some(name) = &e.name {
                        p.name.clone_from(name);
                    }
                    if let Some(metadata) = &e.metadata {
                        p.metadata.clone_from(metadata);
                    }
                }
            }
            RoomEvent::RoleChanged(e) => {
                if let Some(p) = session.peers.get_mut(&e.peer_id) {
                    p.roles.push(RoleSpan {
                        role: e.to.clone(),
                        since: at,
                        by: Some(e.by.clone()),
                        forced: e.forced,
                    });
                }
            }
            RoomEvent::TrackPublished(e) => {
                if let Some(p) = session.peers.get_mut(&e.peer_id) {
                    let mutes = if e.muted {
                        vec![MuteSpan {
                            from: at,
                            until: None,
                            by: None,
                        }]
                    } else {
                        Vec::new()
                    };
                    p.tracks.insert(
                        e.track_id.clone(),
                        TrackRecord {
                            id: e.track_id.clone(),
                            stream_id: e.stream_id.clone(),
                            kind: e.kind,
                            source: e.source,
                            published_at: at,
                            unpublished_at: None,
                            mutes,
                        },
                    );
                }
            }
            RoomEvent::TrackUnpublished(e) => {
                if let Some(t) = track(session, &e.peer_id, &e.track_id) {
                    end_track(t, at);
                }
            }
            RoomEvent::TrackMuted(e) => {
                if let Some(t) = track(session, &e.peer_id, &e.track_id) {
                    t.mutes.push(MuteSpan {
                        from: at,
                        until: None,
                        by: Some(e.by.clone()),
                    });
                }
            }
            RoomEvent::TrackUnmuted(e) => {
                if let Some(t) = track(session, &e.peer_id, &e.track_id) {
                    close_mute(t, at);
                }
            }
            _ => {}
        }
    }

    pub fn session(&self, id: &SessionId) -> Option<&SessionRecord> {
        self.sessions.get(id)
    }

    /// A session of this workspace (another workspace's reads as absent).
    pub fn session_in(&self, workspace: &WorkspaceId, id: &SessionId) -> Option<&SessionRecord> {
        self.session(id).filter(|s| &s.workspace_id == workspace)
    }

    /// The workspace's sessions in id order.
    pub fn sessions_in<'a>(
        &'a self,
        workspace: &'a WorkspaceId,
    ) -> impl Iterator<Item = &'a SessionRecord> + 'a {
        self.sessions
            .values()
            .filter(move |s| &s.workspace_id == workspace)
    }

    /// A room's sessions, oldest first.
    pub fn sessions_of_room<'a>(
        &'a self,
        room: &'a RoomId,
    ) -> impl Iterator<Item = &'a SessionRecord> + 'a {
        let mut v: Vec<_> = self
            .sessions
            .values()
            .filter(move |s| &s.room_id == room)
            .collect();
        v.sort_by_key(|s| s.started_at);
        v.into_iter()
    }
}

fn track<'a>(
    session: &'a mut SessionRecord,
    peer: &PeerId,
    track: &TrackId,
) -> Option<&'a mut TrackRecord> {
    session.peers.get_mut(peer)?.tracks.get_mut(track)
}

fn end_track(t: &mut TrackRecord, at: Timestamp) {
    if t.unpublished_at.is_none() {
        t.unpublished_at = Some(at);
        close_mute(t, at);
    }
}

fn close_mute(t: &mut TrackRecord, at: Timestamp) {
    if let Some(m) = t.mutes.last_mut().filter(|m| m.until.is_none()) {
        m.until = Some(at);
    }
}
