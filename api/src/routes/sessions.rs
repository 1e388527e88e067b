//! `/v2/sessions`: past and live sessions with each peer's join and leave.

use std::collections::BTreeMap;

use caucus_domain::SessionId;
use caucus_projections::{PeerRecord, SessionRecord};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{Caller, Path, Query};
use crate::pagination::{self, Page};
use crate::state::AppState;
use crate::timefmt::{self, rfc3339};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_sessions))
        .routes(routes!(get_session))
}

/// A peer's time in a session.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionPeer {
    pub id: String,
    pub session_id: String,
    pub name: String,
    /// The role it held last.
    pub role: String,
    pub user_id: String,
    pub joined_at: String,
    /// `null` while the peer is in the session.
    pub left_at: Option<String>,
}

/// A session.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionObject {
    pub id: String,
    pub room_id: String,
    pub customer_id: String,
    pub app_id: String,
    pub active: bool,
    pub peers: BTreeMap<String, SessionPeer>,
    pub created_at: String,
    pub updated_at: String,
}

impl SessionObject {
    pub fn from_record(s: &SessionRecord) -> Self {
        let peer = |p: &PeerRecord| SessionPeer {
            id: p.id.to_string(),
            session_id: s.id.to_string(),
            name: p.name.clone(),
            role: p.role().to_string(),
            user_id: p.user_id.to_string(),
            joined_at: rfc3339(p.joined_at),
            left_at: p.left_at.map(rfc3339),
        };
        Self {
            id: s.id.to_string(),
            room_id: s.room_id.to_string(),
            customer_id: s.workspace_id.to_string(),
            app_id: s.workspace_id.to_string(),
            active: s.active(),
            peers: s
                .peers
                .values()
                .map(|p| (p.id.to_string(), peer(p)))
                .collect(),
            created_at: rfc3339(s.started_at),
            updated_at: rfc3339(s.updated_at),
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SessionFilters {
    pub room_id: Option<String>,
    /// Only live (`true`) or only ended (`false`) sessions; both when omitted.
    pub active: Option<bool>,
    /// Started after this RFC3339 time.
    pub after: Option<String>,
    /// Started before this RFC3339 time.
    pub before: Option<String>,
    /// 10–100, default 10.
    #[param(minimum = 10, maximum = 100)]
    pub limit: Option<u32>,
    pub start: Option<String>,
}

fn time(s: &Option<String>, name: &str) -> ApiResult<Option<caucus_domain::Timestamp>> {
    s.as_deref()
        .map(|v| {
            timefmt::parse(v).ok_or_else(|| {
                ApiError::invalid(
                    "invalid query parameter",
                    format!("{name} must be an RFC3339 time"),
                )
            })
        })
        .transpose()
}

/// List sessions, in id order.
#[utoipa::path(get, path = "/v2/sessions", tag = "sessions", params(SessionFilters),
    responses((status = 200, body = Page<SessionObject>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_sessions(
    state: axum::extract::State<AppState>,
    caller: Caller,
    Query(q): Query<SessionFilters>,
) -> ApiResult<axum::Json<Page<SessionObject>>> {
    let limit = pagination::limit(q.limit)?;
    let after = time(&q.after, "after")?;
    let before = time(&q.before, "before")?;
    let page = state.engine().history.read(|h| {
        let items = h
            .sessions_in(&caller.workspace_id)
            .filter(|s| q.room_id.as_ref().is_none_or(|r| s.room_id.as_str() == r))
            .filter(|s| q.active.is_none_or(|a| s.active() == a))
            .filter(|s| after.is_none_or(|a| s.started_at > a))
            .filter(|s| before.is_none_or(|b| s.started_at < b))
            .map(|s| (s.id.to_string(), SessionObject::from_record(s)));
        pagination::paginate(items, limit, q.start.as_deref())
    });
    Ok(axum::Json(page))
}

/// Get a session with its peers.
#[utoipa::path(get, path = "/v2/sessions/{session_id}", tag = "sessions",
    params(("session_id" = String, Path)),
    responses((status = 200, body = SessionObject), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get_session(
    state: axum::extract::State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<SessionObject>> {
    let id = SessionId::new(id).map_err(|_| ApiError::not_found("session"))?;
    state
        .engine()
        .history
        .read(|h| {
            h.session_in(&caller.workspace_id, &id)
                .map(SessionObject::from_record)
        })
        .map(axum::Json)
        .ok_or_else(|| ApiError::not_found("session"))
}
