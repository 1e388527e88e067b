//! Why a template command or a template value is refused.

use crate::ids::{RoleName, TemplateId};

/// A refused template command, or an invalid template value.
///
/// Validation variants name the field by its 100ms path
/// (`roles.host.publishParams.video.frameRate`), so the API can return them as a
/// 400 as they are. State variants (`NotFound`, `AlreadyExists`, `RoleNotFound`)
/// map to 404/409.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum TemplateError {
    /// A number outside its allowed range.
    #[error("{field} must be in {min}..={max}, got {value}")]
    OutOfRange {
        field: String,
        min: i64,
        max: i64,
        value: i64,
    },
    /// A value of the wrong shape (bad name, unknown codec, bad layer order, …).
    #[error("{field} is invalid: {reason}")]
    Invalid { field: String, reason: String },
    /// The template stream has no template yet.
    #[error("template not found")]
    NotFound,
    /// Create on a stream that already has a template.
    #[error("template {0} already exists")]
    AlreadyExists(TemplateId),
    /// Get/delete of a role the template does not have (a repeated delete).
    #[error("role {0} not found in the template")]
    RoleNotFound(RoleName),
}

impl TemplateError {
    pub(crate) fn range(field: impl Into<String>, min: i64, max: i64, value: i64) -> Self {
        Self::OutOfRange {
            field: field.into(),
            min,
            max,
            value,
        }
    }

    pub(crate) fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Invalid {
            field: field.into(),
            reason: reason.into(),
        }
    }
}
