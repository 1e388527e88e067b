//! The fan-out index a transport keeps on its packet path.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use caucus_domain::{PeerId, RoomId, TrackId};

use crate::plan::{ForwardingPlan, PlannedTrack};

/// Where packets of one published track go right now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    pub room: RoomId,
    pub track: PlannedTrack,
    /// `track.subscribers` as a vector, for the hot loop.
    pub subscribers: Vec<PeerId>,
}

impl Route {
    /// The peers that receive a packet now: nobody while the track is muted.
    pub fn targets(&self) -> &[PeerId] {
        if self.track.muted {
            &[]
        } else {
            &self.subscribers
        }
    }
}

/// What changed for one peer between two plans of its room.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerDiff {
    pub peer: PeerId,
    /// Tracks the peer now receives and did not before.
    pub added: Vec<(TrackId, PlannedTrack)>,
    /// Tracks the peer no longer receives.
    pub removed: Vec<TrackId>,
}

/// Plans per room and a (publisher, track) → route index. Sans-IO.
#[derive(Debug, Default)]
pub struct Router {
    plans: HashMap<RoomId, ForwardingPlan>,
    routes: HashMap<(PeerId, TrackId), Arc<Route>>,
}

impl Router {
    pub fn new() -> Self {
        Self::default()
    }

    /// Replaces the room's plan; returns, per peer whose received set changed,
    /// what to add and remove, in peer order.
    pub fn set_plan(&mut self, room: &RoomId, plan: ForwardingPlan) -> Vec<PeerDiff> {
        let old = self.plans.remove(room).unwrap_or_default();
        for (id, t) in &old.tracks {
            self.routes.remove(&(t.publisher.clone(), id.clone()));
        }
        for (id, t) in &plan.tracks {
            self.routes.insert(
                (t.publisher.clone(), id.clone()),
                Arc::new(Route {
                    room: room.clone(),
                    track: t.clone(),
                    subscribers: t.subscribers.iter().cloned().collect(),
                }),
            );
        }
        let diffs = diff(&old, &plan);
        if plan.tracks.is_empty() {
            self.plans.remove(room);
        } else {
            self.plans.insert(room.clone(), plan);
        }
        diffs
    }

    /// The route of a publisher's track, if the plan has it.
    pub fn route(&self, publisher: &PeerId, track: &TrackId) -> Option<&Arc<Route>> {
        self.routes.get(&(publisher.clone(), track.clone()))
    }

    /// The room's current plan.
    pub fn plan(&self, room: &RoomId) -> Option<&ForwardingPlan> {
        self.plans.get(room)
    }
}

/// Per-peer difference between two plans of one room.
pub fn diff(old: &ForwardingPlan, new: &ForwardingPlan) -> Vec<PeerDiff> {
    let mut out: BTreeMap<PeerId, PeerDiff> = BTreeMap::new();
    for (id, t) in &new.tracks {
        let before = receivers(old, id, &t.publisher);
        for p in t.subscribers.iter().filter(|p| !before.contains(p)) {
            entry(&mut out, p).added.push((id.clone(), t.clone()));
        }
    }
    for (id, t) in &old.tracks {
        let after = receivers(new, id, &t.publisher);
        for p in t.subscribers.iter().filter(|p| !after.contains(p)) {
            entry(&mut out, p).removed.push(id.clone());
        }
    }
    out.into_values().collect()
}

/// Who receives `track` of `publisher` in `plan` (a reused track id under
/// another publisher is another track).
fn receivers<'a>(
    plan: &'a ForwardingPlan,
    track: &TrackId,
    publisher: &PeerId,
) -> BTreeSet<&'a PeerId> {
    plan.tracks
        .get(track)
        .filter(|t| &t.publisher == publisher)
        .map(|t| t.subscribers.iter().collect())
        .unwrap_or_default()
}

fn entry<'a>(out: &'a mut BTreeMap<PeerId, PeerDiff>, p: &PeerId) -> &'a mut PeerDiff {
    out.entry(p.clone()).or_insert_with(|| PeerDiff {
        peer: p.clone(),
        added: Vec::new(),
        removed: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use caucus_domain::room::model::{TrackKind, TrackSource};
    use caucus_domain::{PeerId, RoomId, StreamId, TrackId};

    use super::*;

    fn p(n: u8) -> PeerId {
        PeerId::new(format!("00000000-0000-4000-8000-0000000000{n:02x}")).unwrap()
    }

    fn plan(tracks: &[(&str, u8, &[u8], bool)]) -> ForwardingPlan {
        ForwardingPlan {
            tracks: tracks
                .iter()
                .map(|(id, publisher, subs, muted)| {
                    (
                        TrackId::new(*id).unwrap(),
                        PlannedTrack {
                            publisher: p(*publisher),
                            stream_id: StreamId::new("s").unwrap(),
                            kind: TrackKind::Video,
                            source: TrackSource::Regular,
                            muted: *muted,
                            subscribers: subs.iter().map(|n| p(*n)).collect::<BTreeSet<_>>(),
                        },
                    )
                })
                .collect(),
        }
    }

    #[test]
    fn routes_follow_the_plan_and_diffs_name_what_each_peer_gains_and_loses() {
        let room = RoomId::new("65f0c2a1b2c3d4e5f6a7b8c0").unwrap();
        let mut r = Router::new();
        let d = r.set_plan(&room, plan(&[("v", 1, &[2, 3], false)]));
        assert_eq!(d.len(), 2);
        assert!(d.iter().all(|d| d.added.len() == 1 && d.removed.is_empty()));
        let t = TrackId::new("v").unwrap();
        assert_eq!(r.route(&p(1), &t).unwrap().targets(), [p(2), p(3)]);
        assert!(
            r.route(&p(2), &t).is_none(),
            "the key is (publisher, track)"
        );

        // Muting keeps the receivers but sends to nobody; no renegotiation.
        let d = r.set_plan(&room, plan(&[("v", 1, &[2, 3], true)]));
        assert!(d.is_empty());
        assert!(r.route(&p(1), &t).unwrap().targets().is_empty());

        // Peer 3 loses the track, peer 4 gains it.
        let d = r.set_plan(&room, plan(&[("v", 1, &[2, 4], false)]));
        assert_eq!(
            d,
            [
                PeerDiff {
                    peer: p(3),
                    added: vec![],
                    removed: vec![t.clone()]
                },
                PeerDiff {
                    peer: p(4),
                    added: vec![(
                        t.clone(),
                        plan(&[("v", 1, &[2, 4], false)]).tracks[&t].clone()
                    )],
                    removed: vec![]
                },
            ]
        );

        // An empty plan removes everything and forgets the room.
        let d = r.set_plan(&room, ForwardingPlan::default());
        assert_eq!(d.len(), 2);
        assert!(r.route(&p(1), &t).is_none());
        assert!(r.plan(&room).is_none());
    }
}
