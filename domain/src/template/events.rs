//! Facts about a template, each a payload struct with its own schema version.

use serde::{Deserialize, Serialize};

use crate::codec::{DecodeError, event_enum, unknown};
use crate::ids::{RoleName, TemplateId, WorkspaceId};
use crate::time::Timestamp;

use super::role::Role;
use super::settings::{JsonText, Roles, TemplateSettings};

event_enum! {
    /// An event of a template stream. Type names are the variant names. Its
    /// serde form (`{"type": …, "data": …}`) is for people and exports; the log
    /// stores each payload on its own (see [`crate::codec`]).
    #[derive(Clone, Debug, PartialEq, Serialize)]
    #[serde(tag = "type", content = "data")]
    pub enum TemplateEvent {
        TemplateCreated(TemplateCreated) = 1,
        TemplateUpdated(TemplateUpdated) = 1,
        RoleUpserted(RoleUpserted) = 1,
        RoleDeleted(RoleDeleted) = 1,
        SettingsUpdated(SettingsUpdated) = 1,
        DestinationsUpdated(DestinationsUpdated) = 1,
    }
}

impl TemplateEvent {
    /// Old schema versions → current variants. None exist yet: when a payload
    /// gets a v2, keep the v1 struct in a `v1` module and convert it here.
    fn upcast(event_type: &str, version: u16, _bytes: &[u8]) -> Result<Self, DecodeError> {
        Err(unknown(Self::TYPES, event_type, version))
    }

    /// When the fact happened (the command's `at`).
    pub fn at(&self) -> Timestamp {
        match self {
            Self::TemplateCreated(e) => e.at,
            Self::TemplateUpdated(e) => e.at,
            Self::RoleUpserted(e) => e.at,
            Self::RoleDeleted(e) => e.at,
            Self::SettingsUpdated(e) => e.at,
            Self::DestinationsUpdated(e) => e.at,
        }
    }
}

/// The template was created.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
pub struct TemplateCreated {
    pub id: TemplateId,
    pub workspace_id: WorkspaceId,
    pub name: String,
    pub roles: Roles,
    pub settings: TemplateSettings,
    pub destinations: JsonText,
    pub at: Timestamp,
}

/// The whole template was overwritten; fields hold the resulting values.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
pub struct TemplateUpdated {
    pub name: String,
    pub roles: Roles,
    pub settings: TemplateSettings,
    pub destinations: JsonText,
    pub at: Timestamp,
}

/// A role was created or replaced.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
pub struct RoleUpserted {
    pub role: Role,
    pub at: Timestamp,
}

/// A role was deleted.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
pub struct RoleDeleted {
    pub role: RoleName,
    pub at: Timestamp,
}

/// The settings were replaced.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
pub struct SettingsUpdated {
    pub settings: TemplateSettings,
    pub at: Timestamp,
}

/// The destinations were replaced.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
pub struct DestinationsUpdated {
    pub destinations: JsonText,
    pub at: Timestamp,
}
