//! Live rooms: every room and template as its stream says now.
//!
//! This is the read model behind the REST API's room, template and active-room
//! views and the forwarding plan of the media transports. It folds room streams
//! with the domain's own `evolve`, so it cannot disagree with the decider.

use std::collections::BTreeMap;

use caucus_domain::template::TemplateInfo;
use caucus_domain::{
    Aggregate, PeerId, Room, RoomEvent, RoomId, RoomState, Template, TemplateEvent, TemplateId,
    TemplateState, WorkspaceId,
};
use caucus_eventlog::RecordedEvent;
use serde::{Deserialize, Serialize};

use crate::codec::{DecodeFailure, decode_event, entity_id};
use crate::runner::Projection;

/// Every room and template, current.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LiveRooms {
    rooms: BTreeMap<RoomId, RoomState>,
    templates: BTreeMap<TemplateId, TemplateInfo>,
}

/// A decoded event of a stream live rooms follows.
#[derive(Debug)]
pub enum LiveEvent {
    Room(RoomId, RoomEvent),
    Template(TemplateId, TemplateEvent),
}

impl Projection for LiveRooms {
    const NAME: &'static str = "live-rooms";
    type Decoded = LiveEvent;

    fn decode(recorded: &RecordedEvent) -> Result<Option<LiveEvent>, DecodeFailure> {
        Ok(match recorded.stream.category() {
            c if c == Room::CATEGORY => {
                let event: RoomEvent = decode_event(recorded)?;
                entity_id::<RoomId>(recorded).map(|id| LiveEvent::Room(id, event))
            }
            c if c == Template::CATEGORY => {
                let event: TemplateEvent = decode_event(recorded)?;
                entity_id::<TemplateId>(recorded).map(|id| LiveEvent::Template(id, event))
            }
            _ => None,
        })
    }

    fn fold(&mut self, decoded: LiveEvent) {
        match decoded {
            LiveEvent::Room(id, event) => {
                Room::apply(self.rooms.entry(id).or_default(), &event);
            }
            LiveEvent::Template(id, event) => fold_template(&mut self.templates, id, &event),
        }
    }

    /// Looks a room up once per run of its events rather than once per event:
    /// one append is one run, and a replay's pages hold long ones.
    fn fold_all(&mut self, decoded: Vec<LiveEvent>) {
        let mut current: Option<(RoomId, &mut RoomState)> = None;
        for d in decoded {
            match d {
                LiveEvent::Room(id, event) => {
                    if current.as_ref().is_none_or(|(at, _)| *at != id) {
                        current = Some((id.clone(), self.rooms.entry(id).or_default()));
                    }
                    if let Some((_, state)) = current.as_mut() {
                        Room::apply(state, &event);
                    }
                }
                LiveEvent::Template(id, event) => fold_template(&mut self.templates, id, &event),
            }
        }
    }
}

fn fold_template(
    templates: &mut BTreeMap<TemplateId, TemplateInfo>,
    id: TemplateId,
    event: &TemplateEvent,
) {
    let state = TemplateState {
        template: templates.remove(&id),
    };
    if let Some(t) = Template::evolve(state, event).template {
        templates.insert(id, t);
    }
}

/// Totals for metrics and health.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct LiveTotals {
    pub rooms: usize,
    pub active_sessions: usize,
    pub peers: usize,
    pub tracks: usize,
}

impl LiveRooms {
    pub fn room(&self, id: &RoomId) -> Option<&RoomState> {
        self.rooms.get(id).filter(|r| r.room.is_some())
    }

    /// A room of this workspace (another workspace's room reads as absent).
    pub fn room_in(&self, workspace: &WorkspaceId, id: &RoomId) -> Option<&RoomState> {
        self.room(id).filter(|r| {
            r.room
                .as_ref()
                .is_some_and(|i| &i.workspace_id == workspace)
        })
    }

    /// The workspace's rooms, in id order (ids grow with creation time).
    pub fn rooms_in<'a>(
        &'a self,
        workspace: &'a WorkspaceId,
    ) -> impl Iterator<Item = &'a RoomState> + 'a {
        self.rooms.values().filter(move |r| {
            r.room
                .as_ref()
                .is_some_and(|i| &i.workspace_id == workspace)
        })
    }

    /// The workspace's room with this name (names are case-insensitive).
    pub fn room_named<'a>(
        &'a self,
        workspace: &'a WorkspaceId,
        name: &str,
    ) -> Option<&'a RoomState> {
        self.rooms_in(workspace).find(|r| {
            r.room
                .as_ref()
                .is_some_and(|i| i.name.eq_ignore_ascii_case(name))
        })
    }

    /// Rooms with an open session.
    pub fn active_rooms(&self) -> impl Iterator<Item = &RoomState> {
        self.rooms.values().filter(|r| r.session.is_some())
    }

    /// The room a peer is in, if any.
    pub fn room_of_peer(&self, peer: &PeerId) -> Option<&RoomState> {
        self.active_rooms().find(|r| r.peers.contains_key(peer))
    }

    pub fn template(&self, id: &TemplateId) -> Option<&TemplateInfo> {
        self.templates.get(id)
    }

    pub fn template_in(&self, workspace: &WorkspaceId, id: &TemplateId) -> Option<&TemplateInfo> {
        self.template(id).filter(|t| &t.workspace_id == workspace)
    }

    pub fn templates_in<'a>(
        &'a self,
        workspace: &'a WorkspaceId,
    ) -> impl Iterator<Item = &'a TemplateInfo> + 'a {
        self.templates
            .values()
            .filter(move |t| &t.workspace_id == workspace)
    }

    pub fn template_named<'a>(
        &'a self,
        workspace: &'a WorkspaceId,
        name: &str,
    ) -> Option<&'a TemplateInfo> {
        self.templates_in(workspace).find(|t| t.name == name)
    }

    pub fn totals(&self) -> LiveTotals {
        let mut t = LiveTotals {
            rooms: self.rooms.len(),
            ..LiveTotals::default()
        };
        for r in self.active_rooms() {
            t.active_sessions += 1;
            t.peers += r.peers.len();
            t.tracks += r.peers.values().map(|p| p.tracks.len()).sum::<usize>();
        }
        t
    }
}
