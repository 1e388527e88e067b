//! Template-level settings and destinations.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::ids::RoleName;

use super::role::Role;

/// The roles of a template or of a room's snapshot, keyed by name.
pub type Roles = BTreeMap<RoleName, Role>;

/// A media region. `auto` lets the platform choose (for a room: the template's).
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    bincode::Encode,
    bincode::Decode,
)]
#[serde(rename_all = "lowercase")]
pub enum Region {
    In,
    Us,
    Eu,
    #[default]
    Auto,
}

/// `settings` of a template.
#[derive(
    Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode,
)]
#[serde(rename_all = "camelCase")]
pub struct TemplateSettings {
    #[serde(default)]
    pub region: Region,
    #[serde(default)]
    pub recording: RecordingSettings,
    #[serde(default)]
    pub room_state: RoomStateSettings,
}

/// `settings.recording`, minimal and secret-free.
///
/// 100ms puts upload `credentials` here. Secrets never enter the event log, so
/// the domain has no field for them: the API keeps credentials in its secret
/// store and shows them write-only.
#[derive(
    Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode,
)]
#[serde(rename_all = "camelCase")]
pub struct RecordingSettings {
    /// Deprecated in 100ms (SFU composite recording); kept for compatibility.
    #[serde(default)]
    pub enabled: bool,
    #[serde(default)]
    pub upload: Option<UploadTarget>,
}

/// Where recordings go, without credentials.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
pub struct UploadTarget {
    /// `s3`, `gs`, `oss` or `azure`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The bucket.
    pub location: String,
    #[serde(default)]
    pub prefix: String,
    #[serde(default)]
    pub region: String,
}

/// `settings.roomState`: periodic room-state messages to peers with `sendRoomState`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
#[serde(rename_all = "camelCase")]
pub struct RoomStateSettings {
    /// Seconds, a multiple of 5 in 5–3600 (default 5).
    #[serde(default = "RoomStateSettings::default_interval")]
    pub message_interval: u32,
    /// False: send only the peer count.
    #[serde(default)]
    pub send_peer_list: bool,
    /// Seen in 100ms samples, undocumented.
    #[serde(default)]
    pub stop_room_state_on_join: bool,
    #[serde(default)]
    pub enabled: bool,
}

impl RoomStateSettings {
    fn default_interval() -> u32 {
        5
    }
}

impl Default for RoomStateSettings {
    fn default() -> Self {
        Self {
            message_interval: Self::default_interval(),
            send_peer_list: false,
            stop_room_state_on_join: false,
            enabled: false,
        }
    }
}

/// Opaque JSON text for parts the engine does not interpret (`destinations`,
/// `plugins`). The domain has no JSON dependency at run time: the API parses and
/// validates the text, and the domain only stores it. Serializes as a string.
#[derive(
    Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, bincode::Encode, bincode::Decode,
)]
#[serde(transparent)]
pub struct JsonText(pub String);

impl Default for JsonText {
    fn default() -> Self {
        Self("{}".into())
    }
}
