//! The one error type of the API and its one mapping to HTTP.
//!
//! Every response that is not a success has the body 100ms documents:
//! `{"code": <status>, "message": "...", "details": ["..."]}`. Internal errors
//! are logged here with their cause and shown to the client as a generic
//! message.

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use caucus_domain::{RoomError, TemplateError};
use caucus_projections::ExecuteError;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::AuthError;

/// The error body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    /// The HTTP status code, repeated.
    pub code: u16,
    pub message: String,
    pub details: Vec<String>,
}

/// Why a request failed; see [`IntoResponse`] for the status of each case.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the request is malformed or a value is out of range.
    #[error("{message}")]
    BadRequest {
        message: String,
        details: Vec<String>,
    },
    /// 401: no valid token.
    #[error("Token validation error")]
    Unauthorized(#[from] AuthError),
    /// 403: the action is not allowed in this state (e.g. a disabled room).
    #[error("{0}")]
    Forbidden(String),
    /// 404: no such object in the caller's workspace.
    #[error("{0}")]
    NotFound(String),
    /// 409: the request conflicts with the current state.
    #[error("{0}")]
    Conflict(String),
    /// 413: the body is larger than the limit.
    #[error("request body too large")]
    PayloadTooLarge,
    /// 503: the log is unavailable or overloaded; retry later.
    #[error("{0}")]
    Unavailable(String),
    /// 500: a bug or a broken store. The cause is logged, never shown.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::BadRequest {
            message: message.into(),
            details: Vec::new(),
        }
    }

    pub fn invalid(message: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::BadRequest {
            message: message.into(),
            details: vec![detail.into()],
        }
    }

    pub fn not_found(what: &str) -> Self {
        Self::NotFound(format!("{what} not found"))
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest { .. } => StatusCode::BAD_REQUEST,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The body sent to the client.
    pub fn body(&self) -> ErrorBody {
        let code = self.status().as_u16();
        let (message, details) = match self {
            Self::BadRequest { message, details } => (message.clone(), details.clone()),
            Self::Unauthorized(e) => ("Token validation error".to_owned(), vec![e.to_string()]),
            Self::Internal(_) => ("internal server error".to_owned(), Vec::new()),
            other => (other.to_string(), Vec::new()),
        };
        ErrorBody {
            code,
            message,
            details,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match &self {
            Self::Internal(cause) => tracing::error!(%cause, "request failed"),
            Self::Unavailable(cause) => tracing::warn!(%cause, "request failed"),
            _ => {}
        }
        (self.status(), Json(self.body())).into_response()
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        match r {
            JsonRejection::BytesRejection(b) if b.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                Self::PayloadTooLarge
            }
            JsonRejection::MissingJsonContentType(_) => {
                Self::invalid("invalid body", "expected Content-Type: application/json")
            }
            other => Self::invalid("invalid body", other.body_text()),
        }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> Self {
        Self::invalid("invalid query parameter", r.body_text())
    }
}

impl From<PathRejection> for ApiError {
    fn from(r: PathRejection) -> Self {
        Self::invalid("invalid path parameter", r.body_text())
    }
}

impl From<RoomError> for ApiError {
    fn from(e: RoomError) -> Self {
        use RoomError as E;
        let text = e.to_string();
        match e {
            E::RoomNotFound => Self::not_found("room"),
            E::PeerNotFound(_) | E::TrackNotFound(_) | E::RoleChangeRequestNotFound(_) => {
                Self::NotFound(text)
            }
            E::NoActiveSession => Self::NotFound(text),
            E::RoomDisabled
            | E::PermissionDenied { .. }
            | E::ActorNotInRoom(_)
            | E::NotOwnPeer
            | E::NotAllowedToPublish { .. } => Self::Forbidden(text),
            E::RoomAlreadyExists(_) | E::DuplicatePeer(_) | E::DuplicateTrack(_) => {
                Self::Conflict(text)
            }
            E::RoleFull { .. } | E::RoomFull { .. } | E::RoleInUse { .. } => Self::Conflict(text),
            E::OutOfRange { .. }
            | E::Invalid { .. }
            | E::UnknownRole(_)
            | E::MessageTooLarge { .. } => Self::invalid("invalid request", text),
        }
    }
}

impl From<TemplateError> for ApiError {
    fn from(e: TemplateError) -> Self {
        use TemplateError as E;
        let text = e.to_string();
        match e {
            E::NotFound => Self::not_found("template"),
            E::RoleNotFound(_) => Self::NotFound(text),
            E::AlreadyExists(_) => Self::Conflict(text),
            E::OutOfRange { .. } | E::Invalid { .. } => Self::invalid("invalid template", text),
        }
    }
}

impl<E> From<ExecuteError<E>> for ApiError
where
    E: std::error::Error + Into<ApiError> + 'static,
{
    fn from(e: ExecuteError<E>) -> Self {
        match e {
            ExecuteError::Rejected(e) => e.into(),
            ExecuteError::Contention(_) => Self::Unavailable(e.to_string()),
            ExecuteError::Append(caucus_eventlog::AppendError::Unavailable(_))
            | ExecuteError::Read(caucus_eventlog::ReadError::Unavailable(_))
            | ExecuteError::Closed => Self::Unavailable("the event log is unavailable".into()),
            other => Self::Internal(other.to_string()),
        }
    }
}

impl From<caucus_projections::ProjectionError> for ApiError {
    fn from(e: caucus_projections::ProjectionError) -> Self {
        Self::Internal(e.to_string())
    }
}

/// The error responses every authenticated operation can give, for OpenAPI.
pub type ApiResult<T> = Result<T, ApiError>;
