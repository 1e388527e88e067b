//! Who asks for a change.

use serde::{Deserialize, Serialize};

use crate::ids::PeerId;

/// The origin of a command that needs a permission.
///
/// `Peer` actors are checked against their role's permissions and must be joined.
/// `Server` (the REST API with a management token, or the system itself) bypasses
/// permission checks, but never the room's rules (role limits, room size, …).
#[derive(
    Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, bincode::Encode, bincode::Decode,
)]
pub enum Actor {
    /// A joined peer, acting through signalling.
    Peer(PeerId),
    /// The REST server API or the system.
    Server,
}

impl Actor {
    /// The peer, if a peer acts.
    pub fn peer(&self) -> Option<&PeerId> {
        match self {
            Self::Peer(p) => Some(p),
            Self::Server => None,
        }
    }
}
