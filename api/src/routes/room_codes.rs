//! `/v2/room-codes`: create for every role or one role, list, enable/disable;
//! and `POST /v2/token`, which exchanges a code for an app token.

use std::collections::BTreeSet;

use caucus_domain::RoleName;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{self, AppGrant};
use crate::codes::{CodeCommand, NewCode, RoomCode};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{Body, Caller, Path, Query};
use crate::ids;
use crate::pagination::{self, Page};
use crate::routes::{rooms, templates};
use crate::state::AppState;
use crate::timefmt::rfc3339;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_codes, list_codes))
        .routes(routes!(create_code_for_role))
        .routes(routes!(set_code_enabled))
        .routes(routes!(exchange_code))
}

/// A room code.
#[derive(Debug, Serialize, ToSchema)]
pub struct RoomCodeObject {
    /// `xxx-xxxx-xxx`.
    pub code: String,
    pub room_id: String,
    pub role: String,
    pub enabled: bool,
    pub created_at: String,
    pub updated_at: String,
}

impl From<&RoomCode> for RoomCodeObject {
    fn from(c: &RoomCode) -> Self {
        Self {
            code: c.code.clone(),
            room_id: c.room_id.to_string(),
            role: c.role.to_string(),
            enabled: c.enabled,
            created_at: rfc3339(c.created_at),
            updated_at: rfc3339(c.updated_at),
        }
    }
}

/// `{data: [...]}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct RoomCodeList {
    pub data: Vec<RoomCodeObject>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CodeFilters {
    pub role: Option<String>,
    pub enabled: Option<bool>,
    /// 10–100, default 10.
    #[param(minimum = 10, maximum = 100)]
    pub limit: Option<u32>,
    pub start: Option<String>,
}

/// Enable or disable a code. Any other field is refused.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CodeUpdate {
    pub code: String,
    pub enabled: bool,
}

/// Exchange a room code for an app token.
#[derive(Debug, Deserialize, ToSchema)]
pub struct TokenRequest {
    pub code: String,
    /// The user's id in the token; a random UUID when omitted.
    pub user_id: Option<String>,
}

/// `{token}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenResponse {
    pub token: String,
}

/// The room's current roles: its template's, or its own snapshot if the
/// template is gone.
fn current_roles(state: &AppState, room: &caucus_domain::room::RoomInfo) -> BTreeSet<RoleName> {
    state
        .engine()
        .live
        .read(|l| {
            l.template(&room.template_id)
                .map(|t| t.roles.keys().cloned().collect())
        })
        .unwrap_or_else(|| room.roles.keys().cloned().collect())
}

fn enabled_room(
    state: &AppState,
    caller: &Caller,
    id: &str,
) -> ApiResult<caucus_domain::room::RoomInfo> {
    let room = rooms::find(state, &caller.workspace_id, id)?;
    if !room.enabled {
        return Err(ApiError::Forbidden("room is disabled".into()));
    }
    Ok(room)
}

/// Create codes for every role of the room. Roles that already have an enabled
/// code keep it; codes of roles no longer in the template are disabled.
#[utoipa::path(post, path = "/v2/room-codes/room/{room_id}", tag = "room-codes",
    params(("room_id" = String, Path)),
    responses((status = 200, body = RoomCodeList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_codes(
    state: axum::extract::State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<RoomCodeList>> {
    let room = enabled_room(&state, &caller, &id)?;
    let roles = current_roles(&state, &room);
    let existing = state.code_index().read(|i| i.codes_of(&room.id));
    let covered: BTreeSet<&RoleName> = existing
        .iter()
        .filter(|c| c.enabled)
        .map(|c| &c.role)
        .collect();
    let codes = roles
        .iter()
        .filter(|r| !covered.contains(r))
        .map(|r| NewCode {
            code: ids::room_code(),
            role: r.clone(),
        })
        .collect();
    let disable_roles = existing
        .iter()
        .filter(|c| c.enabled && !roles.contains(&c.role))
        .map(|c| c.role.clone())
        .collect();
    let cmd = CodeCommand::Create {
        room_id: room.id.clone(),
        workspace_id: caller.workspace_id.clone(),
        codes,
        disable_roles,
        at: state.now(),
    };
    state
        .code_command(&caller.actor(), room.id.as_str(), cmd)
        .await?;
    let data = state.code_index().read(|i| {
        i.codes_of(&room.id)
            .iter()
            .filter(|c| c.enabled && roles.contains(&c.role))
            .map(RoomCodeObject::from)
            .collect()
    });
    Ok(axum::Json(RoomCodeList { data }))
}

/// Create a code for one role.
#[utoipa::path(post, path = "/v2/room-codes/room/{room_id}/role/{role}", tag = "room-codes",
    params(("room_id" = String, Path), ("role" = String, Path)),
    responses((status = 200, body = RoomCodeObject), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_code_for_role(
    state: axum::extract::State<AppState>,
    caller: Caller,
    Path((id, role)): Path<(String, String)>,
) -> ApiResult<axum::Json<RoomCodeObject>> {
    let room = enabled_room(&state, &caller, &id)?;
    let role = templates::role_name(&role).map_err(|_| ApiError::not_found("role"))?;
    if !current_roles(&state, &room).contains(&role) {
        return Err(ApiError::not_found("role"));
    }
    let code = ids::room_code();
    let cmd = CodeCommand::Create {
        room_id: room.id.clone(),
        workspace_id: caller.workspace_id.clone(),
        codes: vec![NewCode {
            code: code.clone(),
            role,
        }],
        disable_roles: vec![],
        at: state.now(),
    };
    state
        .code_command(&caller.actor(), room.id.as_str(), cmd)
        .await?;
    state
        .code_index()
        .read(|i| i.code(&code).map(RoomCodeObject::from))
        .map(axum::Json)
        .ok_or_else(|| ApiError::Internal("created code missing".into()))
}

/// List a room's codes.
#[utoipa::path(get, path = "/v2/room-codes/room/{room_id}", tag = "room-codes",
    params(("room_id" = String, Path), CodeFilters),
    responses((status = 200, body = Page<RoomCodeObject>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_codes(
    state: axum::extract::State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(q): Query<CodeFilters>,
) -> ApiResult<axum::Json<Page<RoomCodeObject>>> {
    let limit = pagination::limit(q.limit)?;
    let room = rooms::find(&state, &caller.workspace_id, &id)?;
    let codes = state.code_index().read(|i| i.codes_of(&room.id));
    let items = codes
        .iter()
        .filter(|c| q.role.as_ref().is_none_or(|r| c.role.as_str() == r))
        .filter(|c| q.enabled.is_none_or(|e| c.enabled == e))
        .map(|c| (c.code.clone(), RoomCodeObject::from(c)));
    Ok(axum::Json(pagination::paginate(
        items,
        limit,
        q.start.as_deref(),
    )))
}

/// Enable or disable a code.
#[utoipa::path(post, path = "/v2/room-codes/code", tag = "room-codes", request_body = CodeUpdate,
    responses((status = 200, body = RoomCodeObject), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn set_code_enabled(
    state: axum::extract::State<AppState>,
    caller: Caller,
    Body(body): Body<CodeUpdate>,
) -> ApiResult<axum::Json<RoomCodeObject>> {
    let code = state
        .code_index()
        .read(|i| i.code(&body.code).cloned())
        .filter(|c| c.workspace_id == caller.workspace_id)
        .ok_or_else(|| ApiError::not_found("room code"))?;
    let cmd = CodeCommand::SetEnabled {
        code: code.code.clone(),
        enabled: body.enabled,
        at: state.now(),
    };
    state
        .code_command(&caller.actor(), code.room_id.as_str(), cmd)
        .await?;
    state
        .code_index()
        .read(|i| i.code(&code.code).map(RoomCodeObject::from))
        .map(axum::Json)
        .ok_or_else(|| ApiError::Internal("updated code missing".into()))
}

/// Exchange a room code for an app token of its room and role. Needs no
/// authorization header: the code is the credential.
#[utoipa::path(post, path = "/v2/token", tag = "room-codes", request_body = TokenRequest,
    responses((status = 200, body = TokenResponse), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn exchange_code(
    state: axum::extract::State<AppState>,
    Body(body): Body<TokenRequest>,
) -> ApiResult<axum::Json<TokenResponse>> {
    let code = state
        .code_index()
        .read(|i| i.code(&body.code).cloned())
        .ok_or_else(|| ApiError::not_found("room code"))?;
    if !code.enabled {
        return Err(ApiError::Forbidden("room code is disabled".into()));
    }
    let room_enabled = state.engine().live.read(|l| {
        l.room(&code.room_id)
            .and_then(|r| r.room.as_ref())
            .map(|r| r.enabled)
    });
    match room_enabled {
        None => return Err(ApiError::not_found("room")),
        Some(false) => return Err(ApiError::Forbidden("room is disabled".into())),
        Some(true) => {}
    }
    let user_id = match body.user_id {
        Some(u) => caucus_domain::UserId::new(u)
            .map_err(|e| ApiError::invalid("invalid body", e.to_string()))?
            .into_string(),
        None => uuid::Uuid::new_v4().to_string(),
    };
    let workspace = state
        .workspaces()
        .list()
        .into_iter()
        .find(|w| w.id == code.workspace_id.as_str())
        .ok_or_else(|| ApiError::not_found("room code"))?;
    let now = state.now().unix_micros().div_euclid(1_000_000);
    let grant = AppGrant {
        room_id: code.room_id.to_string(),
        role: code.role.to_string(),
        user_id,
    };
    let token = auth::mint_app(&workspace, grant, now, auth::DEFAULT_APP_TTL)
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(axum::Json(TokenResponse { token }))
}
