//! `/v2/webhooks/…` (a Caucus extension; 100ms has no webhook API): endpoints
//! per workspace, secret rotation, the delivery log, dead letters and
//! redelivery. The contract is `docs/webhooks.md`.
//!
//! The handlers reach the webhook service through a request extension, so the
//! server enables them by layering it on the app:
//!
//! ```text
//! let hooks = Webhooks::start(log, Some(data.join("webhooks")), config).await?;
//! let app = caucus_api::app(state).layer(caucus_api::routes::webhooks::layer(hooks));
//! ```
//!
//! Without it every route answers 503 "webhooks are not enabled on this server".

use std::collections::BTreeMap;

use axum::Extension;
use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use caucus_projections::webhooks::endpoint::{DEFAULT_OVERLAP_SECONDS, EndpointError, REDACTED};
use caucus_projections::webhooks::replay::RedeliverError;
use caucus_projections::webhooks::{
    AttemptRecord, DeadLetter, Endpoint, EndpointSpec, Selection, WebhookError, Webhooks,
};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{Body, Caller, OptionalBody, Path, Query};
use crate::state::AppState;
use crate::timefmt::{self, rfc3339};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_endpoint, list_endpoints))
        .routes(routes!(get_endpoint, update_endpoint, delete_endpoint))
        .routes(routes!(rotate_secret))
        .routes(routes!(list_deliveries))
        .routes(routes!(list_dead_letters))
        .routes(routes!(redeliver))
}

/// The layer that enables these routes on an app.
pub fn layer(hooks: Webhooks) -> Extension<Webhooks> {
    Extension(hooks)
}

/// The webhook service of the request, or 503.
#[derive(Debug, Clone)]
pub struct Hooks(pub Webhooks);

impl<S: Send + Sync> FromRequestParts<S> for Hooks {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Webhooks>()
            .cloned()
            .map(Hooks)
            .ok_or_else(|| ApiError::Unavailable("webhooks are not enabled on this server".into()))
    }
}

/// The webhook service when the server has one (room routes use it for the
/// per-room override and answer 503 only when an override is asked for).
#[derive(Debug, Clone)]
pub struct MaybeHooks(pub Option<Webhooks>);

impl<S: Send + Sync> FromRequestParts<S> for MaybeHooks {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(parts.extensions.get::<Webhooks>().cloned()))
    }
}

impl MaybeHooks {
    /// The service, or 503.
    pub fn required(&self) -> ApiResult<&Webhooks> {
        self.0
            .as_ref()
            .ok_or_else(|| ApiError::Unavailable("webhooks are not enabled on this server".into()))
    }
}

impl From<WebhookError> for ApiError {
    fn from(e: WebhookError) -> Self {
        let text = e.to_string();
        match e {
            WebhookError::Endpoint(EndpointError::NotFound) => {
                ApiError::not_found("webhook endpoint")
            }
            WebhookError::Endpoint(
                EndpointError::Policy(_)
                | EndpointError::UnknownType(_)
                | EndpointError::MissingUrl
                | EndpointError::RedactedValue(_),
            ) => ApiError::invalid("invalid webhook endpoint", text),
            WebhookError::Endpoint(EndpointError::TooMany | EndpointError::RoomOverride) => {
                ApiError::Conflict(text)
            }
            WebhookError::Redeliver(RedeliverError::TooMany | RedeliverError::BadRange(_)) => {
                ApiError::invalid("invalid redelivery", text)
            }
            WebhookError::Log(_) => ApiError::Unavailable(text),
            _ => ApiError::Internal(text),
        }
    }
}

/// When a signing secret was made and until when it signs.
#[derive(Debug, Serialize, ToSchema)]
pub struct SecretInfo {
    pub created_at: String,
    /// `null` for the current secret.
    pub expires_at: Option<String>,
}

/// How far the endpoint's consumer got.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConsumerInfo {
    /// Every event up to this log position is delivered or dead-lettered.
    pub checkpoint: Option<u64>,
    pub caught_up: bool,
    pub failed: Option<String>,
}

/// A webhook endpoint. Secrets are never shown here.
#[derive(Debug, Serialize, ToSchema)]
pub struct EndpointObject {
    pub id: String,
    pub url: String,
    pub description: String,
    /// Sent as-is with every request.
    pub headers: BTreeMap<String, String>,
    /// `null` = every standard 100ms type.
    pub events: Option<Vec<String>>,
    pub secrets: Vec<SecretInfo>,
    pub consumer: Option<ConsumerInfo>,
    /// Set when this endpoint is a room's webhook override (Room API
    /// `webhook`); it is changed and removed through the Room API (409 here).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub room_id: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl EndpointObject {
    fn new(e: &Endpoint, hooks: &Webhooks) -> Self {
        Self {
            id: e.id.clone(),
            url: e.url.clone(),
            description: e.description.clone(),
            // A room override's header values are redacted as in GET room:
            // they were given to the Room API, which never shows them again.
            headers: match &e.room {
                None => e.headers.clone(),
                Some(_) => e
                    .headers
                    .keys()
                    .map(|k| (k.clone(), REDACTED.to_owned()))
                    .collect(),
            },
            events: e.events.clone(),
            secrets: e
                .secrets
                .iter()
                .map(|s| SecretInfo {
                    created_at: rfc3339(s.created_at),
                    expires_at: s.expires_at.map(rfc3339),
                })
                .collect(),
            consumer: hooks.progress(&e.id).map(|p| ConsumerInfo {
                checkpoint: p.checkpoint.map(|c| c.0),
                caught_up: p.caught_up,
                failed: p.failed,
            }),
            room_id: e.room.as_ref().map(|r| r.room_id.to_string()),
            created_at: rfc3339(e.created_at),
            updated_at: rfc3339(e.updated_at),
        }
    }
}

/// The endpoint just created, with its signing secret (shown this once).
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedEndpoint {
    #[serde(flatten)]
    pub endpoint: EndpointObject,
    /// `whsec_…`: store it now, it is not shown again.
    pub secret: String,
}

pub(crate) fn double_option<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// Endpoint fields; on update, absent = unchanged.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EndpointBody {
    /// `http` or `https`; required on create.
    pub url: Option<String>,
    pub description: Option<String>,
    /// Custom headers, sent as-is (at most 32, 8 KiB).
    pub headers: Option<BTreeMap<String, String>>,
    /// Webhook types to send; `null` = every standard 100ms type. `caucus.*`
    /// types are opt-in.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<Vec<String>>, nullable)]
    pub events: Option<Option<Vec<String>>>,
}

impl From<EndpointBody> for EndpointSpec {
    fn from(b: EndpointBody) -> Self {
        EndpointSpec {
            url: b.url,
            description: b.description,
            headers: b.headers,
            events: b.events,
        }
    }
}

/// A list of endpoints.
#[derive(Debug, Serialize, ToSchema)]
pub struct EndpointList {
    pub data: Vec<EndpointObject>,
}

/// Create an endpoint (Caucus extension). The answer holds the signing secret, once.
#[utoipa::path(post, path = "/v2/webhooks/endpoints", tag = "webhooks", request_body = EndpointBody,
    responses((status = 200, body = CreatedEndpoint), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 409, body = ErrorBody), (status = 503, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_endpoint(
    caller: Caller,
    Hooks(hooks): Hooks,
    Body(body): Body<EndpointBody>,
) -> ApiResult<axum::Json<CreatedEndpoint>> {
    let (endpoint, secret) = hooks.create(&caller.workspace_id, body.into()).await?;
    Ok(axum::Json(CreatedEndpoint {
        endpoint: EndpointObject::new(&endpoint, &hooks),
        secret: secret.expose().to_owned(),
    }))
}

/// List the workspace's endpoints.
#[utoipa::path(get, path = "/v2/webhooks/endpoints", tag = "webhooks",
    responses((status = 200, body = EndpointList), (status = 401, body = ErrorBody), (status = 503, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_endpoints(
    caller: Caller,
    Hooks(hooks): Hooks,
) -> ApiResult<axum::Json<EndpointList>> {
    let data = hooks
        .endpoints()
        .list(&caller.workspace_id)
        .iter()
        .map(|e| EndpointObject::new(e, &hooks))
        .collect();
    Ok(axum::Json(EndpointList { data }))
}

/// Get an endpoint.
#[utoipa::path(get, path = "/v2/webhooks/endpoints/{endpoint_id}", tag = "webhooks",
    params(("endpoint_id" = String, Path)),
    responses((status = 200, body = EndpointObject), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 503, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get_endpoint(
    caller: Caller,
    Hooks(hooks): Hooks,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<EndpointObject>> {
    let e = hooks
        .endpoints()
        .get(&caller.workspace_id, &id)
        .ok_or_else(|| ApiError::not_found("webhook endpoint"))?;
    Ok(axum::Json(EndpointObject::new(&e, &hooks)))
}

/// Update an endpoint; deliveries use the change from their next attempt.
#[utoipa::path(post, path = "/v2/webhooks/endpoints/{endpoint_id}", tag = "webhooks",
    params(("endpoint_id" = String, Path)), request_body = EndpointBody,
    responses((status = 200, body = EndpointObject), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 503, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn update_endpoint(
    caller: Caller,
    Hooks(hooks): Hooks,
    Path(id): Path<String>,
    Body(body): Body<EndpointBody>,
) -> ApiResult<axum::Json<EndpointObject>> {
    let e = hooks.update(&caller.workspace_id, &id, body.into())?;
    Ok(axum::Json(EndpointObject::new(&e, &hooks)))
}

/// Delete an endpoint: its consumer stops and its delivery log is removed.
#[utoipa::path(delete, path = "/v2/webhooks/endpoints/{endpoint_id}", tag = "webhooks",
    params(("endpoint_id" = String, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 503, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn delete_endpoint(
    caller: Caller,
    Hooks(hooks): Hooks,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    hooks.delete(&caller.workspace_id, &id)?;
    Ok(StatusCode::NO_CONTENT)
}

/// Secret rotation options.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateBody {
    /// How long the current secrets keep signing (default 86400).
    pub overlap_seconds: Option<i64>,
}

/// The new signing secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct RotatedSecret {
    /// `whsec_…`: store it now, it is not shown again.
    pub secret: String,
}

/// Rotate the signing secret; during the overlap requests carry both signatures.
#[utoipa::path(post, path = "/v2/webhooks/endpoints/{endpoint_id}/rotate-secret", tag = "webhooks",
    params(("endpoint_id" = String, Path)), request_body = RotateBody,
    responses((status = 200, body = RotatedSecret), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 503, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn rotate_secret(
    caller: Caller,
    Hooks(hooks): Hooks,
    Path(id): Path<String>,
    OptionalBody(body): OptionalBody<RotateBody>,
) -> ApiResult<axum::Json<RotatedSecret>> {
    let overlap = body.overlap_seconds.unwrap_or(DEFAULT_OVERLAP_SECONDS);
    if !(0..=30 * 86_400).contains(&overlap) {
        return Err(ApiError::invalid(
            "invalid body",
            "overlap_seconds must be 0-2592000",
        ));
    }
    let secret = hooks.rotate(&caller.workspace_id, &id, overlap)?;
    Ok(axum::Json(RotatedSecret {
        secret: secret.expose().to_owned(),
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeliveryFilters {
    /// 1–1000, default 100.
    pub limit: Option<usize>,
    /// `success` or `failure`; both when omitted.
    pub status: Option<String>,
}

/// One delivery attempt.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttemptObject {
    pub at: String,
    /// The envelope `id` (`webhook-id`).
    pub id: String,
    #[serde(rename = "type")]
    pub webhook_type: String,
    pub room: String,
    pub log_position: u64,
    pub attempt: u32,
    pub status_code: Option<u16>,
    pub error: Option<String>,
    pub latency_ms: f64,
    pub success: bool,
    pub redelivery: bool,
}

impl From<AttemptRecord> for AttemptObject {
    fn from(a: AttemptRecord) -> Self {
        Self {
            at: rfc3339(caucus_domain::Timestamp::from_unix_micros(a.at_us)),
            id: a.envelope_id.to_string(),
            webhook_type: a.webhook_type,
            room: a.room,
            log_position: a.position,
            attempt: a.attempt,
            status_code: a.status,
            error: a.error,
            latency_ms: a.latency_ms,
            success: a.success,
            redelivery: a.redelivery,
        }
    }
}

/// Attempts, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttemptList {
    pub data: Vec<AttemptObject>,
}

/// The delivery log: attempts with status codes and latency, newest first.
#[utoipa::path(get, path = "/v2/webhooks/endpoints/{endpoint_id}/deliveries", tag = "webhooks",
    params(("endpoint_id" = String, Path), DeliveryFilters),
    responses((status = 200, body = AttemptList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 503, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_deliveries(
    caller: Caller,
    Hooks(hooks): Hooks,
    Path(id): Path<String>,
    Query(q): Query<DeliveryFilters>,
) -> ApiResult<axum::Json<AttemptList>> {
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::invalid(
            "invalid query parameter",
            "limit must be 1-1000",
        ));
    }
    let success = match q.status.as_deref() {
        None => None,
        Some("success") => Some(true),
        Some("failure") => Some(false),
        Some(_) => {
            return Err(ApiError::invalid(
                "invalid query parameter",
                "status must be success or failure",
            ));
        }
    };
    let data = hooks
        .deliveries(&caller.workspace_id, &id, limit, success)?
        .into_iter()
        .map(AttemptObject::from)
        .collect();
    Ok(axum::Json(AttemptList { data }))
}

/// A webhook that exhausted its retries.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeadLetterObject {
    pub id: String,
    #[serde(rename = "type")]
    pub webhook_type: String,
    pub room: String,
    pub log_position: u64,
    pub attempts: u32,
    pub last_status_code: Option<u16>,
    pub last_error: Option<String>,
    pub dead_at: String,
}

impl From<DeadLetter> for DeadLetterObject {
    fn from(d: DeadLetter) -> Self {
        Self {
            id: d.envelope_id.to_string(),
            webhook_type: d.webhook_type,
            room: d.room,
            log_position: d.position,
            attempts: d.attempts,
            last_status_code: d.last_status,
            last_error: d.last_error,
            dead_at: rfc3339(caucus_domain::Timestamp::from_unix_micros(d.dead_at_us)),
        }
    }
}

/// Dead letters, by log position.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeadLetterList {
    pub data: Vec<DeadLetterObject>,
}

/// The dead-letter list.
#[utoipa::path(get, path = "/v2/webhooks/endpoints/{endpoint_id}/dead-letters", tag = "webhooks",
    params(("endpoint_id" = String, Path)),
    responses((status = 200, body = DeadLetterList), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 503, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_dead_letters(
    caller: Caller,
    Hooks(hooks): Hooks,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<DeadLetterList>> {
    let data = hooks
        .dead_letters(&caller.workspace_id, &id)?
        .into_iter()
        .map(DeadLetterObject::from)
        .collect();
    Ok(axum::Json(DeadLetterList { data }))
}

/// What to redeliver: exactly one of `position`, `dead_letters: true`,
/// `from_position` + `to_position`, or `after` + `before` (RFC3339).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RedeliverBody {
    pub position: Option<u64>,
    pub dead_letters: Option<bool>,
    pub from_position: Option<u64>,
    pub to_position: Option<u64>,
    pub after: Option<String>,
    pub before: Option<String>,
}

/// How many webhooks were queued.
#[derive(Debug, Serialize, ToSchema)]
pub struct Queued {
    pub queued: usize,
}

fn selection(b: RedeliverBody) -> ApiResult<Selection> {
    let bad = |d: &str| ApiError::invalid("invalid redelivery", d);
    let time = |s: &str, name: &str| {
        timefmt::parse(s).ok_or_else(|| bad(&format!("{name} must be an RFC3339 time")))
    };
    match b {
        RedeliverBody {
            position: Some(p),
            dead_letters: None,
            from_position: None,
            to_position: None,
            after: None,
            before: None,
        } => Ok(Selection::Position(p)),
        RedeliverBody {
            position: None,
            dead_letters: Some(true),
            from_position: None,
            to_position: None,
            after: None,
            before: None,
        } => Ok(Selection::DeadLetters),
        RedeliverBody {
            position: None,
            dead_letters: None,
            from_position: Some(from),
            to_position: Some(to),
            after: None,
            before: None,
        } => Ok(Selection::Positions { from, to }),
        RedeliverBody {
            position: None,
            dead_letters: None,
            from_position: None,
            to_position: None,
            after: Some(a),
            before: Some(b),
        } => Ok(Selection::Time {
            after: time(&a, "after")?,
            before: time(&b, "before")?,
        }),
        _ => Err(bad(
            "give exactly one of: position; dead_letters: true; from_position and to_position; after and before",
        )),
    }
}

/// Redeliver one event, every dead letter, or a position or time range, with
/// the original ids and bodies, in position order.
#[utoipa::path(post, path = "/v2/webhooks/endpoints/{endpoint_id}/redeliver", tag = "webhooks",
    params(("endpoint_id" = String, Path)), request_body = RedeliverBody,
    responses((status = 200, body = Queued), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 503, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn redeliver(
    caller: Caller,
    Hooks(hooks): Hooks,
    Path(id): Path<String>,
    Body(body): Body<RedeliverBody>,
) -> ApiResult<axum::Json<Queued>> {
    let queued = hooks
        .redeliver(&caller.workspace_id, &id, selection(body)?)
        .await?;
    Ok(axum::Json(Queued { queued }))
}
