//! The forwarding plan of one room, derived from its live state.

use std::collections::{BTreeMap, BTreeSet};

use caucus_domain::room::model::{TrackKind, TrackSource};
use caucus_domain::{PeerId, RoomState, StreamId, TrackId};

/// Which published track flows to which peers, for one room.
///
/// Every published track is listed, muted or not: a subscriber keeps its
/// receiver for a muted track (so an unmute resumes without renegotiation),
/// but no packet of a muted track is forwarded.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ForwardingPlan {
    pub tracks: BTreeMap<TrackId, PlannedTrack>,
}

/// One published track and where it goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlannedTrack {
    pub publisher: PeerId,
    pub stream_id: StreamId,
    pub kind: TrackKind,
    pub source: TrackSource,
    pub muted: bool,
    /// Joined peers, never the publisher, whose role subscribes to the
    /// publisher's role.
    pub subscribers: BTreeSet<PeerId>,
}

impl ForwardingPlan {
    /// The plan the room's state implies. No session (or no room) → empty.
    pub fn from_room(state: &RoomState) -> Self {
        let mut tracks = BTreeMap::new();
        for publisher in state.peers.values() {
            if publisher.tracks.is_empty() {
                continue;
            }
            let subscribers: BTreeSet<PeerId> = state
                .peers
                .values()
                .filter(|p| p.id != publisher.id)
                .filter(|p| {
                    state.role(&p.role).is_some_and(|r| {
                        r.subscribe_params
                            .subscribe_to_roles
                            .contains(&publisher.role)
                    })
                })
                .map(|p| p.id.clone())
                .collect();
            for track in publisher.tracks.values() {
                tracks.insert(
                    track.id.clone(),
                    PlannedTrack {
                        publisher: publisher.id.clone(),
                        stream_id: track.stream_id.clone(),
                        kind: track.kind,
                        source: track.source,
                        muted: track.muted,
                        subscribers: subscribers.clone(),
                    },
                );
            }
        }
        Self { tracks }
    }

    /// The tracks `peer` receives, in track-id order.
    pub fn received_by<'a>(
        &'a self,
        peer: &'a PeerId,
    ) -> impl Iterator<Item = (&'a TrackId, &'a PlannedTrack)> + 'a {
        self.tracks
            .iter()
            .filter(move |(_, t)| t.subscribers.contains(peer))
    }

    /// Every peer that publishes or receives something.
    pub fn peers(&self) -> BTreeSet<&PeerId> {
        let mut peers = BTreeSet::new();
        for t in self.tracks.values() {
            peers.insert(&t.publisher);
            peers.extend(t.subscribers.iter());
        }
        peers
    }
}
