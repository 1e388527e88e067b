//! The REST server API in the shape of 100ms's Server API v2, with tokens,
//! workspaces, the OpenAPI document and the operations endpoints.
//!
//! ```text
//! let metrics = Metrics::new();
//! let log = MeteredLog::wrap(log, metrics.clone());
//! let engine = Engine::start(log, Some(snapshots.clone())).await?;
//! let workspaces = Arc::new(WorkspaceStore::open(&data_dir)?);
//! let state = AppState::new(engine, workspaces, metrics, Some(snapshots)).await?;
//! caucus_api::serve(listener, state, shutdown_signal()).await?;
//! ```
//!
//! Every change is a command through an executor (rooms, templates, room
//! codes), appended to the log before the response; every read comes from a
//! projection, after waiting for it to include the request's own writes.
//!
//! Layout: [`auth`] (tokens), [`workspaces`] (tenants and their secrets),
//! [`error`] (the one error type and its HTTP mapping), [`extract`] (request
//! extractors, the management-token check), [`pagination`], [`timefmt`],
//! [`ids`], [`codes`] (the room-code aggregate and projection), [`state`],
//! [`metrics`], [`routes`] (one module per resource), [`openapi`] and
//! [`schemas`] (OpenAPI schemas of the domain types the API sends).

pub mod auth;
pub mod codes;
pub mod error;
pub mod extract;
pub mod ids;
pub mod metrics;
pub mod openapi;
pub mod pagination;
pub mod routes;
pub mod schemas;
pub mod signal;
pub mod state;
pub mod timefmt;
pub mod workspaces;

use std::future::Future;
use std::time::Instant;

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use tower_http::trace::{DefaultMakeSpan, DefaultOnResponse, TraceLayer};
use tracing::Level;

pub use error::{ApiError, ErrorBody};
pub use metrics::{MeteredLog, Metrics};
pub use state::AppState;
pub use workspaces::{Secret, Workspace, WorkspaceStore};

/// The whole HTTP application: REST API, token exchange, OpenAPI document,
/// health, readiness and metrics.
pub fn app(state: AppState) -> Router {
    let (router, doc) = openapi::router().split_for_parts();
    let doc = std::sync::Arc::new(doc);
    router
        .route(
            "/v2/openapi.json",
            axum::routing::get(move || {
                let doc = doc.clone();
                async move { axum::Json(doc.as_ref().clone()) }
            }),
        )
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(state::BODY_LIMIT))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            record_request,
        ))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(DefaultMakeSpan::new().level(Level::INFO))
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        )
        .with_state(state)
}

async fn not_found() -> Response {
    ApiError::NotFound("no such route".into()).into_response()
}

async fn method_not_allowed() -> Response {
    let e = ApiError::bad_request("method not allowed");
    let mut body = e.body();
    body.code = 405;
    (axum::http::StatusCode::METHOD_NOT_ALLOWED, axum::Json(body)).into_response()
}

/// Counts every request by method, route pattern and status.
async fn record_request(
    axum::extract::State(state): axum::extract::State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let method = req.method().as_str().to_owned();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |m| m.as_str().to_owned());
    let response = next.run(req).await;
    state.metrics().record_request(
        &method,
        &route,
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    response
}

/// Serves [`app`] on `listener` until `shutdown` completes, then stops
/// accepting connections and finishes the requests in flight.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_app(listener, app(state), shutdown).await
}

/// [`serve`] for an [`app`] with extra layers (e.g. the webhook service,
/// `app(state).layer(routes::webhooks::layer(hooks))`).
pub async fn serve_app(
    listener: tokio::net::TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}
