//! Webhook helpers shared by the webhook router tests: the delivery service
//! over a test app's log, and requests through the router with it attached.

use axum::body::Body;
use axum::http::{Method, Request, header};
use caucus_api::routes::webhooks::layer;
use caucus_projections::webhooks::{ClientConfig, DeliveryConfig, UrlPolicy, Webhooks};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

use super::{Resp, TestApp, mgmt};

/// One request as workspace `ws`, through the router with `hooks` attached
/// (without it, the webhook routes answer as on a server with no service).
pub async fn call_hooked(
    app: &TestApp,
    hooks: Option<&Webhooks>,
    method: Method,
    path: &str,
    ws: &caucus_api::Workspace,
    body: Option<Value>,
) -> Resp {
    let mut router = caucus_api::app(app.state.clone());
    if let Some(h) = hooks {
        router = router.layer(layer(h.clone()));
    }
    let b = Request::builder()
        .method(method)
        .uri(path)
        .header(header::AUTHORIZATION, format!("Bearer {}", mgmt(ws)));
    let req = match body {
        Some(v) => b
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(v.to_string())),
        None => b.body(Body::empty()),
    }
    .unwrap();
    let res = router.oneshot(req).await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    Resp {
        status,
        headers,
        text: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

/// The webhook service over the app's log; `allow_private` lets it deliver
/// to 127.0.0.1 receivers.
pub async fn hooks(app: &TestApp, allow_private: bool) -> Webhooks {
    let config = DeliveryConfig {
        client: ClientConfig {
            policy: UrlPolicy { allow_private },
            ..ClientConfig::default()
        },
        ..DeliveryConfig::default()
    };
    Webhooks::start(app.log.clone(), None, config)
        .await
        .unwrap()
}
