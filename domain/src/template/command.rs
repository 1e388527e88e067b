//! What can be asked of a template stream.

use crate::ids::{RoleName, TemplateId, WorkspaceId};
use crate::time::Timestamp;

use super::role::Role;
use super::settings::{JsonText, Roles, TemplateSettings};

/// A command on one template stream (`template-<id>`).
#[derive(Clone, Debug, PartialEq)]
pub enum TemplateCommand {
    Create(CreateTemplate),
    /// Whole-object overwrite, as 100ms's `POST /v2/templates/<id>`.
    Update(UpdateTemplate),
    UpsertRole(UpsertRole),
    /// Unknown role → [`TemplateError::RoleNotFound`](super::TemplateError::RoleNotFound),
    /// so a repeated delete is a not-found.
    DeleteRole(DeleteRole),
    UpdateSettings(UpdateSettings),
    UpdateDestinations(UpdateDestinations),
}

/// Creates the template. Name uniqueness within a workspace is the API's job
/// (it spans streams); the decider checks the name's shape.
#[derive(Clone, Debug, PartialEq)]
pub struct CreateTemplate {
    pub id: TemplateId,
    pub workspace_id: WorkspaceId,
    pub name: String,
    pub roles: Roles,
    pub settings: TemplateSettings,
    pub destinations: JsonText,
    pub at: Timestamp,
}

/// Replaces roles and settings; `name` and `destinations` stay when `None`.
#[derive(Clone, Debug, PartialEq)]
pub struct UpdateTemplate {
    pub name: Option<String>,
    pub roles: Roles,
    pub settings: TemplateSettings,
    pub destinations: Option<JsonText>,
    pub at: Timestamp,
}

/// Creates or replaces the role named `role.name`.
#[derive(Clone, Debug, PartialEq)]
pub struct UpsertRole {
    pub role: Role,
    pub at: Timestamp,
}

/// Deletes a role.
#[derive(Clone, Debug, PartialEq)]
pub struct DeleteRole {
    pub role: RoleName,
    pub at: Timestamp,
}

/// Replaces the settings object.
#[derive(Clone, Debug, PartialEq)]
pub struct UpdateSettings {
    pub settings: TemplateSettings,
    pub at: Timestamp,
}

/// Replaces the destinations object (opaque JSON checked by the API).
#[derive(Clone, Debug, PartialEq)]
pub struct UpdateDestinations {
    pub destinations: JsonText,
    pub at: Timestamp,
}
