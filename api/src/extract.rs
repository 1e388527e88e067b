//! Request extractors whose rejections are [`ApiError`]s, so every bad request
//! gets the documented error body; and [`Caller`], the management-token check.

use axum::extract::{FromRef, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use caucus_domain::WorkspaceId;
use serde::de::DeserializeOwned;

use crate::auth::{self, AuthError, TokenType};
use crate::error::ApiError;
use crate::state::AppState;
use crate::workspaces::Workspace;

/// A JSON body; a malformed, oversized or mistyped body is a 400/413 [`ApiError`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Body<T>(pub T);

impl<T, S> FromRequest<S> for Body<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let axum::Json(v) = axum::Json::<T>::from_request(req, state).await?;
        Ok(Self(v))
    }
}

/// A JSON body that may be absent: an empty body reads as `T::default()`.
/// (The 100ms Node SDK sends `{}` but other clients send nothing.)
#[derive(Debug, Clone, Copy, Default)]
pub struct OptionalBody<T>(pub T);

impl<T, S> FromRequest<S> for OptionalBody<T>
where
    T: DeserializeOwned + Default,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|e| {
                if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::PayloadTooLarge
                } else {
                    ApiError::invalid("invalid body", e.body_text())
                }
            })?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self(T::default()));
        }
        let mut de = serde_json::Deserializer::from_slice(&bytes);
        let v = T::deserialize(&mut de)
            .and_then(|v| de.end().map(|()| v))
            .map_err(|e| ApiError::invalid("invalid body", e.to_string()))?;
        Ok(Self(v))
    }
}

/// Query parameters; a bad one is a 400 [`ApiError`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Query<T>(pub T);

impl<T, S> FromRequestParts<S> for Query<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let axum::extract::Query(v) =
            axum::extract::Query::<T>::from_request_parts(parts, state).await?;
        Ok(Self(v))
    }
}

/// Path parameters; a bad one is a 400 [`ApiError`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Path<T>(pub T);

impl<T, S> FromRequestParts<S> for Path<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let axum::extract::Path(v) =
            axum::extract::Path::<T>::from_request_parts(parts, state).await?;
        Ok(Self(v))
    }
}

/// The workspace a request acts for, from its management token
/// (`Authorization: Bearer <token>`).
#[derive(Debug, Clone)]
pub struct Caller {
    pub workspace: Workspace,
    pub workspace_id: WorkspaceId,
}

impl Caller {
    /// The `actor` recorded in the events this caller causes.
    pub fn actor(&self) -> String {
        format!("api:{}", self.workspace.access_key)
    }
}

/// The bearer token of a request, if any.
pub fn bearer(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(axum::http::header::AUTHORIZATION)?;
    let value = value.to_str().ok()?.trim();
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

impl<S> FromRequestParts<S> for Caller
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = AppState::from_ref(state);
        let token = bearer(parts).ok_or(AuthError::Missing)?;
        let (_, workspace) = auth::verify(
            token,
            state.workspaces(),
            TokenType::Management,
            state.now().unix_micros().div_euclid(1_000_000),
        )?;
        let workspace_id = WorkspaceId::new(workspace.id.clone())
            .map_err(|e| ApiError::Internal(format!("workspace file: {e}")))?;
        Ok(Self {
            workspace,
            workspace_id,
        })
    }
}
