//! `/v2/templates`: create (same name overwrites), list, get, update (whole
//! object), roles, settings and destinations.

use axum::http::StatusCode;
use caucus_domain::template::{
    CreateTemplate, DeleteRole, JsonText, Permissions, PublishKind, Role, Roles, TemplateCommand,
    TemplateInfo, TemplateSettings, UpdateDestinations, UpdateSettings, UpdateTemplate, UpsertRole,
};
use caucus_domain::{RoleName, TemplateId, WorkspaceId};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{Body, Caller, Path, Query};
use crate::pagination::{self, Page};
use crate::state::AppState;
use crate::timefmt::rfc3339;

/// The name of the template rooms get when created without `template_id`.
pub const DEFAULT_TEMPLATE_NAME: &str = "default";

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_template, list_templates))
        .routes(routes!(get_template, update_template))
        .routes(routes!(get_role, upsert_role, delete_role))
        .routes(routes!(get_settings, update_settings))
        .routes(routes!(get_destinations, update_destinations))
}

/// A template ("policy").
#[derive(Debug, Serialize, ToSchema)]
pub struct TemplateObject {
    pub id: String,
    pub name: String,
    /// The workspace.
    pub customer_id: String,
    /// Role name → role object (100ms field names: `publishParams`, …).
    #[schema(value_type = crate::schemas::RolesSchema)]
    pub roles: Roles,
    #[schema(value_type = crate::schemas::TemplateSettingsSchema)]
    pub settings: TemplateSettings,
    #[schema(value_type = Object)]
    pub destinations: Value,
    #[schema(value_type = Object)]
    pub plugins: Value,
    pub created_at: String,
    pub updated_at: String,
}

impl TemplateObject {
    pub fn from_info(t: &TemplateInfo) -> Self {
        Self {
            id: t.id.to_string(),
            name: t.name.clone(),
            customer_id: t.workspace_id.to_string(),
            roles: t.roles.clone(),
            settings: t.settings.clone(),
            destinations: serde_json::from_str(&t.destinations.0)
                .unwrap_or_else(|_| Value::Object(Default::default())),
            plugins: Value::Object(Default::default()),
            created_at: rfc3339(t.created_at),
            updated_at: rfc3339(t.updated_at),
        }
    }
}

/// The body of a template create or update.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct TemplateBody {
    /// a-z A-Z 0-9 space `-` `.` `_` `:`; generated when omitted on create.
    pub name: Option<String>,
    /// Role name → role object. Required on update; defaults to `host` and
    /// `guest` on create.
    #[schema(value_type = Option<crate::schemas::RolesSchema>)]
    pub roles: Option<Value>,
    /// Required on update.
    #[schema(value_type = Option<crate::schemas::TemplateSettingsSchema>)]
    pub settings: Option<Value>,
    #[schema(value_type = Option<Object>)]
    pub destinations: Option<Value>,
    /// Accepted for compatibility; plugins are not implemented.
    #[schema(value_type = Option<Object>)]
    pub plugins: Option<Value>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// 10–100, default 10.
    #[param(minimum = 10, maximum = 100)]
    pub limit: Option<u32>,
    /// The `last` of the previous page.
    pub start: Option<String>,
}

/// Parses a roles map; a role object without `name` takes its key.
pub fn parse_roles(v: Value) -> ApiResult<Roles> {
    let Value::Object(map) = v else {
        return Err(ApiError::invalid(
            "invalid template",
            "roles must be an object",
        ));
    };
    let mut roles = Roles::new();
    for (key, role) in map {
        let name = role_name(&key)?;
        roles.insert(name.clone(), parse_role(role, &name)?);
    }
    Ok(roles)
}

/// Parses a role object; `name` defaults to (and must equal) `name`.
pub fn parse_role(v: Value, name: &RoleName) -> ApiResult<Role> {
    let Value::Object(mut map) = v else {
        return Err(ApiError::invalid(
            "invalid role",
            format!("roles.{name} must be an object"),
        ));
    };
    match map.get("name") {
        None | Some(Value::Null) => {
            map.insert("name".into(), Value::String(name.to_string()));
        }
        Some(Value::String(n)) if n == name.as_str() => {}
        Some(_) => {
            return Err(ApiError::invalid(
                "invalid role",
                format!("roles.{name}.name must equal {name:?}"),
            ));
        }
    }
    serde_json::from_value(Value::Object(map))
        .map_err(|e| ApiError::invalid("invalid role", format!("roles.{name}: {e}")))
}

fn parse_settings(v: Value) -> ApiResult<TemplateSettings> {
    serde_json::from_value(v).map_err(|e| ApiError::invalid("invalid settings", e.to_string()))
}

fn parse_destinations(v: Value) -> ApiResult<JsonText> {
    if !v.is_object() {
        return Err(ApiError::invalid(
            "invalid destinations",
            "destinations must be an object",
        ));
    }
    Ok(JsonText(v.to_string()))
}

pub fn role_name(s: &str) -> ApiResult<RoleName> {
    RoleName::new(s).map_err(|e| ApiError::invalid("invalid role name", e.to_string()))
}

fn template_id(s: &str) -> ApiResult<TemplateId> {
    // A malformed id cannot name a template: 404, as for any unknown id.
    TemplateId::new(s).map_err(|_| ApiError::not_found("template"))
}

/// The roles a template gets when its creator names none.
pub fn default_roles() -> Roles {
    let host = role_name("host").expect("valid");
    let guest = role_name("guest").expect("valid");
    let mut roles = Roles::new();
    let mut h = Role::new(host.clone());
    h.publish_params.allowed = vec![PublishKind::Audio, PublishKind::Video, PublishKind::Screen];
    h.subscribe_params.subscribe_to_roles = vec![host.clone(), guest.clone()];
    h.permissions = Permissions {
        end_room: true,
        remove_others: true,
        mute: true,
        unmute: true,
        change_role: true,
        ..Permissions::default()
    };
    let mut g = Role::new(guest.clone());
    g.publish_params.allowed = vec![PublishKind::Audio, PublishKind::Video];
    g.subscribe_params.subscribe_to_roles = vec![host.clone(), guest.clone()];
    roles.insert(host, h);
    roles.insert(guest, g);
    roles
}

/// The template in the caller's workspace, or 404.
pub fn find(state: &AppState, ws: &WorkspaceId, id: &str) -> ApiResult<TemplateInfo> {
    let id = template_id(id)?;
    state
        .engine()
        .live
        .read(|l| l.template_in(ws, &id).cloned())
        .ok_or_else(|| ApiError::not_found("template"))
}

/// The workspace's default template, created when missing.
pub async fn default_template(state: &AppState, caller: &Caller) -> ApiResult<TemplateInfo> {
    let ws = &caller.workspace_id;
    let _name = state
        .name_lock("template", ws, Some(DEFAULT_TEMPLATE_NAME))
        .await;
    if let Some(t) = state
        .engine()
        .live
        .read(|l| l.template_named(ws, DEFAULT_TEMPLATE_NAME).cloned())
    {
        return Ok(t);
    }
    let body = TemplateBody {
        name: Some(DEFAULT_TEMPLATE_NAME.into()),
        ..TemplateBody::default()
    };
    create_or_overwrite(state, caller, body).await
}

async fn create_or_overwrite(
    state: &AppState,
    caller: &Caller,
    body: TemplateBody,
) -> ApiResult<TemplateInfo> {
    let ws = &caller.workspace_id;
    let now = state.now();
    let roles = body.roles.map(parse_roles).transpose()?;
    let settings = body.settings.map(parse_settings).transpose()?;
    let destinations = body.destinations.map(parse_destinations).transpose()?;
    let existing = match &body.name {
        Some(name) => state
            .engine()
            .live
            .read(|l| l.template_named(ws, name).cloned()),
        None => None,
    };
    let (id, cmd) = match existing {
        // Same name: 100ms overwrites the existing template.
        Some(t) => (
            t.id.to_string(),
            TemplateCommand::Update(UpdateTemplate {
                name: None,
                roles: roles.unwrap_or(t.roles),
                settings: settings.unwrap_or(t.settings),
                destinations,
                at: now,
            }),
        ),
        None => {
            let id = state.new_id();
            let cmd = TemplateCommand::Create(CreateTemplate {
                id: template_id(&id)?,
                workspace_id: ws.clone(),
                name: body.name.unwrap_or_else(|| format!("template-{id}")),
                roles: roles.unwrap_or_else(default_roles),
                settings: settings.unwrap_or_default(),
                destinations: destinations.unwrap_or_default(),
                at: now,
            });
            (id, cmd)
        }
    };
    state.template_command(caller, &id, cmd).await?;
    find(state, ws, &id)
}

/// Create a template. An existing template with the same name is overwritten.
#[utoipa::path(post, path = "/v2/templates", tag = "templates",
    request_body = TemplateBody,
    responses((status = 200, body = TemplateObject), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_template(
    state: axum::extract::State<AppState>,
    caller: Caller,
    Body(body): Body<TemplateBody>,
) -> ApiResult<axum::Json<TemplateObject>> {
    let _name = state
        .name_lock("template", &caller.workspace_id, body.name.as_deref())
        .await;
    let t = create_or_overwrite(&state, &caller, body).await?;
    Ok(axum::Json(TemplateObject::from_info(&t)))
}

/// List templates.
#[utoipa::path(get, path = "/v2/templates", tag = "templates", params(ListParams),
    responses((status = 200, body = Page<TemplateObject>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_templates(
    state: axum::extract::State<AppState>,
    caller: Caller,
    Query(q): Query<ListParams>,
) -> ApiResult<axum::Json<Page<TemplateObject>>> {
    let limit = pagination::limit(q.limit)?;
    let page = state.engine().live.read(|l| {
        let items = l
            .templates_in(&caller.workspace_id)
            .map(|t| (t.id.to_string(), TemplateObject::from_info(t)));
        pagination::paginate(items, limit, q.start.as_deref())
    });
    Ok(axum::Json(page))
}

/// Get a template.
#[utoipa::path(get, path = "/v2/templates/{template_id}", tag = "templates",
    params(("template_id" = String, Path)),
    responses((status = 200, body = TemplateObject), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get_template(
    state: axum::extract::State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<TemplateObject>> {
    let t = find(&state, &caller.workspace_id, &id)?;
    Ok(axum::Json(TemplateObject::from_info(&t)))
}

/// Update a template: the whole object (`roles` and `settings` are required).
#[utoipa::path(post, path = "/v2/templates/{template_id}", tag = "templates",
    params(("template_id" = String, Path)), request_body = TemplateBody,
    responses((status = 200, body = TemplateObject), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn update_template(
    state: axum::extract::State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Body(body): Body<TemplateBody>,
) -> ApiResult<axum::Json<TemplateObject>> {
    let ws = &caller.workspace_id;
    let _name = state.name_lock("template", ws, body.name.as_deref()).await;
    let t = find(&state, ws, &id)?;
    let roles = parse_roles(
        body.roles
            .ok_or_else(|| ApiError::invalid("invalid template", "roles is required"))?,
    )?;
    let settings = parse_settings(
        body.settings
            .ok_or_else(|| ApiError::invalid("invalid template", "settings is required"))?,
    )?;
    let destinations = body.destinations.map(parse_destinations).transpose()?;
    if let Some(name) = &body.name {
        let taken = state
            .engine()
            .live
            .read(|l| l.template_named(ws, name).is_some_and(|o| o.id != t.id));
        if taken {
            return Err(ApiError::Conflict(format!(
                "a template named {name:?} already exists"
            )));
        }
    }
    let cmd = TemplateCommand::Update(UpdateTemplate {
        name: body.name,
        roles,
        settings,
        destinations,
        at: state.now(),
    });
    state.template_command(&caller, &id, cmd).await?;
    Ok(axum::Json(TemplateObject::from_info(&find(
        &state, ws, &id,
    )?)))
}

/// Get one role of a template.
#[utoipa::path(get, path = "/v2/templates/{template_id}/roles/{role_name}", tag = "templates",
    params(("template_id" = String, Path), ("role_name" = String, Path)),
    responses((status = 200, body = crate::schemas::RoleSchema), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get_role(
    state: axum::extract::State<AppState>,
    caller: Caller,
    Path((id, role)): Path<(String, String)>,
) -> ApiResult<axum::Json<Role>> {
    let t = find(&state, &caller.workspace_id, &id)?;
    let name = role_name(&role)?;
    t.roles
        .get(&name)
        .cloned()
        .map(axum::Json)
        .ok_or_else(|| ApiError::not_found("role"))
}

/// Create or replace one role of a template.
#[utoipa::path(post, path = "/v2/templates/{template_id}/roles/{role_name}", tag = "templates",
    params(("template_id" = String, Path), ("role_name" = String, Path)), request_body = crate::schemas::RoleSchema,
    responses((status = 200, body = crate::schemas::RoleSchema), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn upsert_role(
    state: axum::extract::State<AppState>,
    caller: Caller,
    Path((id, role)): Path<(String, String)>,
    Body(body): Body<Value>,
) -> ApiResult<axum::Json<Role>> {
    find(&state, &caller.workspace_id, &id)?;
    let name = role_name(&role)?;
    let role = parse_role(body, &name)?;
    let cmd = TemplateCommand::UpsertRole(UpsertRole {
        role,
        at: state.now(),
    });
    state.template_command(&caller, &id, cmd).await?;
    let role = find(&state, &caller.workspace_id, &id)?
        .roles
        .get(&name)
        .cloned()
        .ok_or_else(|| ApiError::Internal("upserted role missing".into()))?;
    Ok(axum::Json(role))
}

/// Delete one role of a template. Deleting it again is a 404.
#[utoipa::path(delete, path = "/v2/templates/{template_id}/roles/{role_name}", tag = "templates",
    params(("template_id" = String, Path), ("role_name" = String, Path)),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn delete_role(
    state: axum::extract::State<AppState>,
    caller: Caller,
    Path((id, role)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    find(&state, &caller.workspace_id, &id)?;
    let name = role_name(&role)?;
    let cmd = TemplateCommand::DeleteRole(DeleteRole {
        role: name,
        at: state.now(),
    });
    state.template_command(&caller, &id, cmd).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Get a template's settings.
#[utoipa::path(get, path = "/v2/templates/{template_id}/settings", tag = "templates",
    params(("template_id" = String, Path)),
    responses((status = 200, body = crate::schemas::TemplateSettingsSchema), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get_settings(
    state: axum::extract::State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<TemplateSettings>> {
    Ok(axum::Json(
        find(&state, &caller.workspace_id, &id)?.settings,
    ))
}

/// Replace a template's settings.
#[utoipa::path(post, path = "/v2/templates/{template_id}/settings", tag = "templates",
    params(("template_id" = String, Path)), request_body = crate::schemas::TemplateSettingsSchema,
    responses((status = 200, body = crate::schemas::TemplateSettingsSchema), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn update_settings(
    state: axum::extract::State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Body(body): Body<Value>,
) -> ApiResult<axum::Json<TemplateSettings>> {
    find(&state, &caller.workspace_id, &id)?;
    let settings = parse_settings(body)?;
    let cmd = TemplateCommand::UpdateSettings(UpdateSettings {
        settings,
        at: state.now(),
    });
    state.template_command(&caller, &id, cmd).await?;
    Ok(axum::Json(
        find(&state, &caller.workspace_id, &id)?.settings,
    ))
}

/// Get a template's destinations.
#[utoipa::path(get, path = "/v2/templates/{template_id}/destinations", tag = "templates",
    params(("template_id" = String, Path)),
    responses((status = 200, body = Object), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get_destinations(
    state: axum::extract::State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<Value>> {
    let t = find(&state, &caller.workspace_id, &id)?;
    Ok(axum::Json(TemplateObject::from_info(&t).destinations))
}

/// Replace a template's destinations.
#[utoipa::path(post, path = "/v2/templates/{template_id}/destinations", tag = "templates",
    params(("template_id" = String, Path)), request_body = Object,
    responses((status = 200, body = Object), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn update_destinations(
    state: axum::extract::State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Body(body): Body<Value>,
) -> ApiResult<axum::Json<Value>> {
    find(&state, &caller.workspace_id, &id)?;
    let destinations = parse_destinations(body)?;
    let cmd = TemplateCommand::UpdateDestinations(UpdateDestinations {
        destinations,
        at: state.now(),
    });
    state.template_command(&caller, &id, cmd).await?;
    let t = find(&state, &caller.workspace_id, &id)?;
    Ok(axum::Json(TemplateObject::from_info(&t).destinations))
}
