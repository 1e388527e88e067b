//! The state of one room stream and the queries `decide` asks of it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::ids::{PeerId, RoleName};
use crate::template::Role;

use super::model::{Peer, RoomInfo, Session};

/// Running totals over the room's life.
#[derive(
    Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode,
)]
pub struct Counters {
    pub sessions_opened: u64,
    pub peers_joined: u64,
    pub messages_sent: u64,
}

/// Everything `decide` needs to know about a room.
///
/// `Default` is "the stream has no events" (`room: None`). Invariants kept by
/// `decide`: `session.is_some()` exactly when `peers` is non-empty; every peer's
/// role is in `room.roles`; per-role counts stay within `maxPeerCount` (checked
/// at join, role change and role snapshot update); every track is one its owner's
/// role may publish.
#[derive(
    Clone, Debug, Default, PartialEq, Serialize, Deserialize, bincode::Encode, bincode::Decode,
)]
pub struct RoomState {
    pub room: Option<RoomInfo>,
    pub session: Option<Session>,
    pub peers: BTreeMap<PeerId, Peer>,
    pub counters: Counters,
}

impl RoomState {
    /// The role definition, from the room's snapshot.
    pub fn role(&self, name: &RoleName) -> Option<&Role> {
        self.room.as_ref()?.roles.get(name)
    }

    /// The role a joined peer holds.
    pub fn role_of(&self, peer: &PeerId) -> Option<&Role> {
        self.role(&self.peers.get(peer)?.role)
    }

    /// How many peers hold `role`.
    pub fn count_in_role(&self, role: &RoleName) -> usize {
        self.peers.values().filter(|p| &p.role == role).count()
    }

    /// Peers per role.
    pub fn role_counts(&self) -> BTreeMap<&RoleName, usize> {
        let mut counts = BTreeMap::new();
        for p in self.peers.values() {
            *counts.entry(&p.role).or_insert(0) += 1;
        }
        counts
    }
}
