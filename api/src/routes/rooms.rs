//! `/v2/rooms`: create (an existing name returns that room), list with filters,
//! get, update, enable/disable.

use caucus_domain::room::{
    CreateRoom, DisableRoom, EnableRoom, MAX_LARGE_ROOM_SIZE, MAX_ROOM_SIZE, MAX_SESSION_SECONDS,
    MIN_SESSION_SECONDS, RoomInfo, RoomSettings, TemplateSnapshot, UpdateRoom,
};
use caucus_domain::template::Region;
use std::collections::BTreeMap;

use caucus_domain::{RoomId, WorkspaceId};
use caucus_projections::webhooks::endpoint::{REDACTED, check_room_hook};
use caucus_projections::webhooks::{Endpoint, RoomHook, SigningSecret, Webhooks};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{Body, Caller, Path, Query};
use crate::pagination::{self, Page};
use crate::routes::templates;
use crate::routes::webhooks::{MaybeHooks, double_option};
use crate::state::AppState;
use crate::timefmt::{self, rfc3339};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_room, list_rooms))
        .routes(routes!(get_room, update_room))
}

/// `recording_info`: SFU recording is not offered, so always disabled.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RecordingInfo {
    pub enabled: bool,
}

/// A room.
#[derive(Debug, Serialize, ToSchema)]
pub struct RoomObject {
    pub id: String,
    pub name: String,
    pub enabled: bool,
    pub description: String,
    /// The workspace.
    pub customer_id: String,
    /// The workspace (100ms app id).
    pub app_id: String,
    /// Deprecated alias of `customer_id`.
    pub customer: String,
    pub recording_info: RecordingInfo,
    pub template_id: String,
    /// The template's name (deprecated in 100ms).
    pub template: String,
    /// `in`, `us`, `eu` or `auto`.
    pub region: String,
    pub size: u32,
    pub max_duration_seconds: u32,
    pub large_room: bool,
    /// The room's webhook override, when set. Header values are shown as
    /// `[redacted]` (they often carry credentials).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhook: Option<RoomWebhookObject>,
    pub created_at: String,
    pub updated_at: String,
}

/// A room's webhook override as the Room API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct RoomWebhookObject {
    pub url: String,
    /// Header names; every value reads `[redacted]`.
    pub headers: BTreeMap<String, String>,
    /// Caucus extension: the room-scoped webhook endpoint behind the override
    /// (its deliveries, dead letters, redelivery and secret rotation are under
    /// `/v2/webhooks/endpoints/{endpoint_id}`).
    pub endpoint_id: String,
    /// Caucus extension: the `whsec_…` signing secret, only in the answer of
    /// the create/update call that set the override first. Rotate it through
    /// the endpoint API to get a new one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

impl std::fmt::Debug for RoomWebhookBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RoomWebhookBody")
            .field("url", &self.url)
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl RoomWebhookObject {
    fn new(e: &Endpoint, secret: Option<&SigningSecret>) -> Self {
        Self {
            url: e.url.clone(),
            headers: e
                .headers
                .keys()
                .map(|k| (k.clone(), REDACTED.to_owned()))
                .collect(),
            endpoint_id: e.id.clone(),
            secret: secret.map(|s| s.expose().to_owned()),
        }
    }
}

/// The `webhook` field of a room create or update: 100ms's per-room override.
/// `Debug` shows header names only (values are often credentials).
#[derive(Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoomWebhookBody {
    /// `http` or `https`; private and loopback hosts only when the operator
    /// allows them (dev mode).
    pub url: String,
    /// Sent as-is with every request (at most 32, 8 KiB); a value may not be
    /// `[redacted]`.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
}
fn region_name(r: Region) -> String {
    match r {
        Region::In => "in",
        Region::Us => "us",
        Region::Eu => "eu",
        Region::Auto => "auto",
    }
    .to_owned()
}

impl RoomObject {
    pub fn from_info(r: &RoomInfo, template_name: String) -> Self {
        Self {
            id: r.id.to_string(),
            name: r.name.clone(),
            enabled: r.enabled,
            description: r.description.clone(),
            customer_id: r.workspace_id.to_string(),
            app_id: r.workspace_id.to_string(),
            customer: r.workspace_id.to_string(),
            recording_info: RecordingInfo { enabled: false },
            template_id: r.template_id.to_string(),
            template: template_name,
            region: region_name(r.settings.region),
            size: r.settings.size,
            max_duration_seconds: r.settings.max_duration_seconds,
            large_room: r.settings.large_room,
            webhook: None,
            created_at: rfc3339(r.created_at),
            updated_at: rfc3339(r.updated_at),
        }
    }
}

/// The body of a room create or update.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct RoomBody {
    /// 1–100 of a-z A-Z 0-9 `.` `-` `:` `_`; case-insensitive; generated when
    /// omitted on create.
    pub name: Option<String>,
    pub description: Option<String>,
    /// The template; the workspace's `default` template when omitted.
    pub template_id: Option<String>,
    /// Refused: use `template_id`.
    #[schema(value_type = Option<String>)]
    pub template: Option<Value>,
    #[schema(value_type = Option<String>)]
    pub region: Option<Region>,
    /// 0–2500, or 0–20000 with `large_room`.
    pub size: Option<u32>,
    /// 120–43200.
    pub max_duration_seconds: Option<u32>,
    pub large_room: Option<bool>,
    /// Only `{"enabled": false}` is accepted: recording is not offered.
    #[schema(value_type = Option<Object>)]
    pub recording_info: Option<Value>,
    /// The room's webhook override: its events go to this URL instead of the
    /// workspace's endpoints. On update, `null` removes it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<RoomWebhookBody>, nullable)]
    pub webhook: Option<Option<RoomWebhookBody>>,
    /// Refused unless empty: polls are not offered.
    pub polls: Option<Vec<String>>,
    /// Update only: enable or disable the room.
    pub enabled: Option<bool>,
}

impl RoomBody {
    fn check_unsupported(&self) -> ApiResult<()> {
        if self.template.is_some() {
            return Err(ApiError::bad_request(
                "Invalid body param: template. Use template_id",
            ));
        }
        if let Some(r) = &self.recording_info {
            let disabled = r.as_object().is_some_and(|o| {
                o.iter()
                    .all(|(k, v)| k == "enabled" && v == &Value::Bool(false))
            });
            if !disabled {
                return Err(ApiError::invalid(
                    "Invalid upload configuration",
                    "recording is not supported by this server",
                ));
            }
        }
        if self.polls.as_ref().is_some_and(|p| !p.is_empty()) {
            return Err(ApiError::invalid(
                "invalid body",
                "polls are not supported by this server",
            ));
        }
        Ok(())
    }

    /// The room's own rules, checked before anything is appended (the decider
    /// checks them again): a refused create must not leave a default template.
    fn check_values(&self, base: &RoomSettings) -> ApiResult<()> {
        if let Some(n) = &self.name {
            let ok = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '_');
            if n.is_empty() || n.chars().count() > 100 || !n.chars().all(ok) {
                return Err(ApiError::invalid(
                    "invalid request",
                    "name is invalid: use 1-100 characters of a-z A-Z 0-9 . - : _",
                ));
            }
        }
        let st = self.settings(base.clone());
        if !(MIN_SESSION_SECONDS..=MAX_SESSION_SECONDS).contains(&st.max_duration_seconds) {
            return Err(ApiError::invalid(
                "invalid request",
                format!(
                    "max_duration_seconds must be in {MIN_SESSION_SECONDS}..={MAX_SESSION_SECONDS}, got {}",
                    st.max_duration_seconds
                ),
            ));
        }
        let max = if st.large_room {
            MAX_LARGE_ROOM_SIZE
        } else {
            MAX_ROOM_SIZE
        };
        if st.size > max {
            return Err(ApiError::invalid(
                "invalid request",
                format!("size must be in 0..={max}, got {}", st.size),
            ));
        }
        Ok(())
    }

    /// The webhook change asked for, checked (service present, URL and
    /// headers valid) before anything is written.
    fn check_webhook(&self, hooks: &MaybeHooks) -> ApiResult<Option<Option<RoomHook>>> {
        let Some(change) = &self.webhook else {
            return Ok(None);
        };
        let service = hooks.required()?;
        let Some(body) = change else {
            return Ok(Some(None));
        };
        let hook = RoomHook {
            url: body.url.clone(),
            headers: body.headers.clone(),
        };
        check_room_hook(&hook, service.policy())
            .map_err(|e| ApiError::invalid("invalid webhook", e.to_string()))?;
        Ok(Some(Some(hook)))
    }

    fn settings(&self, base: RoomSettings) -> RoomSettings {
        RoomSettings {
            size: self.size.unwrap_or(base.size),
            max_duration_seconds: self
                .max_duration_seconds
                .unwrap_or(base.max_duration_seconds),
            large_room: self.large_room.unwrap_or(base.large_room),
            region: self.region.unwrap_or(base.region),
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RoomFilters {
    /// Default `true`: only enabled rooms.
    pub enabled: Option<bool>,
    /// Created after this RFC3339 time.
    pub after: Option<String>,
    /// Created before this RFC3339 time.
    pub before: Option<String>,
    /// Exact name, case-insensitive.
    pub name: Option<String>,
    pub template_id: Option<String>,
    /// 10–100, default 10.
    #[param(minimum = 10, maximum = 100)]
    pub limit: Option<u32>,
    pub start: Option<String>,
}

pub fn room_id(s: &str) -> ApiResult<RoomId> {
    RoomId::new(s).map_err(|_| ApiError::not_found("room"))
}

/// The room in the caller's workspace, or 404.
pub fn find(state: &AppState, ws: &WorkspaceId, id: &str) -> ApiResult<RoomInfo> {
    let id = room_id(id)?;
    state
        .engine()
        .live
        .read(|l| l.room_in(ws, &id).and_then(|r| r.room.clone()))
        .ok_or_else(|| ApiError::not_found("room"))
}

fn object(state: &AppState, hooks: &MaybeHooks, r: &RoomInfo) -> RoomObject {
    let template = state
        .engine()
        .live
        .read(|l| l.template(&r.template_id).map(|t| t.name.clone()))
        .unwrap_or_default();
    let mut o = RoomObject::from_info(r, template);
    o.webhook = hooks
        .0
        .as_ref()
        .and_then(|h| h.endpoints().room_override(&r.workspace_id, &r.id))
        .map(|e| RoomWebhookObject::new(&e, None));
    o
}

/// Applies a checked webhook change; the answer's `webhook`, with the secret
/// when the override was just made.
async fn apply_webhook(
    hooks: &Webhooks,
    r: &RoomInfo,
    change: Option<RoomHook>,
) -> ApiResult<Option<RoomWebhookObject>> {
    match change {
        Some(hook) => {
            let (e, secret) = hooks
                .set_room_override(&r.workspace_id, &r.id, hook)
                .await?;
            Ok(Some(RoomWebhookObject::new(&e, secret.as_ref())))
        }
        None => {
            hooks.remove_room_override(&r.workspace_id, &r.id)?;
            Ok(None)
        }
    }
}

/// The room object answered after a change: with the webhook just applied
/// (so a new secret shows once).
async fn answer(
    state: &AppState,
    hooks: &MaybeHooks,
    r: &RoomInfo,
    change: Option<Option<RoomHook>>,
) -> ApiResult<axum::Json<RoomObject>> {
    let mut o = object(state, hooks, r);
    if let (Some(change), Some(h)) = (change, &hooks.0) {
        o.webhook = apply_webhook(h, r, change).await?;
    }
    Ok(axum::Json(o))
}

fn time_filter(s: &Option<String>, name: &str) -> ApiResult<Option<caucus_domain::Timestamp>> {
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

/// Create a room. If a room with this name exists, that room is returned.
#[utoipa::path(post, path = "/v2/rooms", tag = "rooms", request_body = RoomBody,
    responses((status = 200, body = RoomObject), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 503, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_room(
    state: axum::extract::State<AppState>,
    caller: Caller,
    hooks: MaybeHooks,
    Body(body): Body<RoomBody>,
) -> ApiResult<axum::Json<RoomObject>> {
    body.check_unsupported()?;
    body.check_values(&RoomSettings::default())?;
    let webhook = body.check_webhook(&hooks)?;
    let ws = &caller.workspace_id;
    let _name = state.name_lock("room", ws, body.name.as_deref()).await;
    if let Some(name) = &body.name {
        let existing = state
            .engine()
            .live
            .read(|l| l.room_named(ws, name).and_then(|r| r.room.clone()));
        if let Some(r) = existing {
            return answer(&state, &hooks, &r, webhook).await;
        }
    }
    let template = match &body.template_id {
        Some(id) => templates::find(&state, ws, id)
            .map_err(|_| ApiError::bad_request("template not found"))?,
        None => templates::default_template(&state, &caller).await?,
    };
    let id = state.new_id();
    let cmd = CreateRoom {
        room_id: room_id(&id)?,
        workspace_id: ws.clone(),
        name: body.name.clone().unwrap_or_else(|| format!("room-{id}")),
        description: body.description.clone().unwrap_or_default(),
        template_id: template.id.clone(),
        roles: template.roles.clone(),
        settings: body.settings(RoomSettings::default()),
        at: state.now(),
    };
    state.room_command(&caller, &id, cmd).await?;
    let mut room = find(&state, ws, &id)?;
    if body.enabled == Some(false) {
        state
            .room_command(&caller, &id, DisableRoom { at: state.now() })
            .await?;
        room = find(&state, ws, &id)?;
    }
    answer(&state, &hooks, &room, webhook).await
}

/// List rooms, in creation order.
#[utoipa::path(get, path = "/v2/rooms", tag = "rooms", params(RoomFilters),
    responses((status = 200, body = Page<RoomObject>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_rooms(
    state: axum::extract::State<AppState>,
    caller: Caller,
    hooks: MaybeHooks,
    Query(q): Query<RoomFilters>,
) -> ApiResult<axum::Json<Page<RoomObject>>> {
    let limit = pagination::limit(q.limit)?;
    let after = time_filter(&q.after, "after")?;
    let before = time_filter(&q.before, "before")?;
    let enabled = q.enabled.unwrap_or(true);
    let rooms: Vec<RoomInfo> = state.engine().live.read(|l| {
        l.rooms_in(&caller.workspace_id)
            .filter_map(|r| r.room.clone())
            .filter(|r| r.enabled == enabled)
            .filter(|r| after.is_none_or(|a| r.created_at > a))
            .filter(|r| before.is_none_or(|b| r.created_at < b))
            .filter(|r| {
                q.name
                    .as_ref()
                    .is_none_or(|n| r.name.eq_ignore_ascii_case(n))
            })
            .filter(|r| {
                q.template_id
                    .as_ref()
                    .is_none_or(|t| r.template_id.as_str() == t)
            })
            .collect()
    });
    let items = rooms
        .iter()
        .map(|r| (r.id.to_string(), object(&state, &hooks, r)));
    Ok(axum::Json(pagination::paginate(
        items,
        limit,
        q.start.as_deref(),
    )))
}

/// Get a room.
#[utoipa::path(get, path = "/v2/rooms/{room_id}", tag = "rooms", params(("room_id" = String, Path)),
    responses((status = 200, body = RoomObject), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get_room(
    state: axum::extract::State<AppState>,
    caller: Caller,
    hooks: MaybeHooks,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<RoomObject>> {
    let r = find(&state, &caller.workspace_id, &id)?;
    Ok(axum::Json(object(&state, &hooks, &r)))
}

/// Update a room; `{"enabled": false}` disables it (the session goes on, new
/// joins are refused) and `{"enabled": true}` enables it.
#[utoipa::path(post, path = "/v2/rooms/{room_id}", tag = "rooms", params(("room_id" = String, Path)),
    request_body = RoomBody,
    responses((status = 200, body = RoomObject), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 503, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn update_room(
    state: axum::extract::State<AppState>,
    caller: Caller,
    hooks: MaybeHooks,
    Path(id): Path<String>,
    Body(body): Body<RoomBody>,
) -> ApiResult<axum::Json<RoomObject>> {
    body.check_unsupported()?;
    let webhook = body.check_webhook(&hooks)?;
    let ws = &caller.workspace_id;
    let _name = state.name_lock("room", ws, body.name.as_deref()).await;
    let current = find(&state, ws, &id)?;
    body.check_values(&current.settings)?;
    if let Some(name) = &body.name {
        let taken = state.engine().live.read(|l| {
            l.room_named(ws, name)
                .and_then(|r| r.room.as_ref())
                .is_some_and(|r| r.id != current.id)
        });
        if taken {
            return Err(ApiError::Conflict(format!(
                "a room named {name:?} already exists"
            )));
        }
    }
    let template = match &body.template_id {
        Some(t) => {
            let t = templates::find(&state, ws, t)
                .map_err(|_| ApiError::bad_request("template not found"))?;
            Some(TemplateSnapshot {
                template_id: t.id,
                roles: t.roles,
            })
        }
        None => None,
    };
    let changes = body.name.is_some()
        || body.description.is_some()
        || template.is_some()
        || body.size.is_some()
        || body.max_duration_seconds.is_some()
        || body.large_room.is_some()
        || body.region.is_some();
    if changes {
        let cmd = UpdateRoom {
            name: body.name.clone(),
            description: body.description.clone(),
            template,
            settings: Some(body.settings(current.settings.clone())),
            at: state.now(),
        };
        state.room_command(&caller, &id, cmd).await?;
    }
    match body.enabled {
        Some(true) => {
            state
                .room_command(&caller, &id, EnableRoom { at: state.now() })
                .await?;
        }
        Some(false) => {
            state
                .room_command(&caller, &id, DisableRoom { at: state.now() })
                .await?;
        }
        None => {}
    }
    let r = find(&state, ws, &id)?;
    answer(&state, &hooks, &r, webhook).await
}
