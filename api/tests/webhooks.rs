//! `/v2/webhooks/…`: endpoint management per workspace, bad input, and one
//! webhook from a REST-created room to a receiver on 127.0.0.1.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::Method;
use common::hooked::{call_hooked as call, hooks};
use common::*;
use serde_json::{Value, json};

#[tokio::test]
async fn endpoints_are_managed_per_workspace_and_secrets_shown_once() {
    let app = app().await;
    let h = hooks(&app, false).await;
    let created = call(&app, Some(&h), Method::POST, "/v2/webhooks/endpoints", &app.a,
        Some(json!({"url": "https://hooks.example.com/caucus", "headers": {"X-Token": "t"}, "events": ["peer.join.success"]})))
        .await
        .ok();
    let id = created["id"].as_str().unwrap().to_owned();
    let secret = created["secret"].as_str().unwrap();
    assert!(secret.starts_with("whsec_"));
    assert_eq!(created["events"], json!(["peer.join.success"]));

    let got = call(
        &app,
        Some(&h),
        Method::GET,
        &format!("/v2/webhooks/endpoints/{id}"),
        &app.a,
        None,
    )
    .await
    .ok();
    assert!(got.get("secret").is_none());
    assert!(
        !got.to_string().contains(secret),
        "the secret is shown once"
    );
    assert_eq!(got["headers"]["X-Token"], "t");
    let list = call(
        &app,
        Some(&h),
        Method::GET,
        "/v2/webhooks/endpoints",
        &app.a,
        None,
    )
    .await
    .ok();
    assert_eq!(list["data"].as_array().unwrap().len(), 1);

    // Another workspace sees nothing and can touch nothing.
    let list_b = call(
        &app,
        Some(&h),
        Method::GET,
        "/v2/webhooks/endpoints",
        &app.b,
        None,
    )
    .await
    .ok();
    assert!(list_b["data"].as_array().unwrap().is_empty());
    for (m, p) in [
        (Method::GET, format!("/v2/webhooks/endpoints/{id}")),
        (Method::DELETE, format!("/v2/webhooks/endpoints/{id}")),
        (
            Method::GET,
            format!("/v2/webhooks/endpoints/{id}/deliveries"),
        ),
        (
            Method::GET,
            format!("/v2/webhooks/endpoints/{id}/dead-letters"),
        ),
    ] {
        call(&app, Some(&h), m, &p, &app.b, None)
            .await
            .assert_error(404);
    }

    // Update: clear the filter back to the standard types.
    let up = call(
        &app,
        Some(&h),
        Method::POST,
        &format!("/v2/webhooks/endpoints/{id}"),
        &app.a,
        Some(json!({"events": null, "description": "prod"})),
    )
    .await
    .ok();
    assert_eq!(up["events"], Value::Null);
    assert_eq!(up["description"], "prod");
    assert_eq!(up["url"], "https://hooks.example.com/caucus");

    // Rotation: a new secret, the old one kept for the overlap.
    let rotated = call(
        &app,
        Some(&h),
        Method::POST,
        &format!("/v2/webhooks/endpoints/{id}/rotate-secret"),
        &app.a,
        Some(json!({"overlap_seconds": 60})),
    )
    .await
    .ok();
    assert_ne!(rotated["secret"], secret);
    let got = call(
        &app,
        Some(&h),
        Method::GET,
        &format!("/v2/webhooks/endpoints/{id}"),
        &app.a,
        None,
    )
    .await
    .ok();
    assert_eq!(got["secrets"].as_array().unwrap().len(), 2);
    assert!(got["secrets"][1]["expires_at"].is_string());

    // Redelivery bodies must name one selection.
    call(
        &app,
        Some(&h),
        Method::POST,
        &format!("/v2/webhooks/endpoints/{id}/redeliver"),
        &app.a,
        Some(json!({"position": 1, "dead_letters": true})),
    )
    .await
    .assert_error(400);
    let q = call(
        &app,
        Some(&h),
        Method::POST,
        &format!("/v2/webhooks/endpoints/{id}/redeliver"),
        &app.a,
        Some(json!({"dead_letters": true})),
    )
    .await
    .ok();
    assert_eq!(q["queued"], 0);

    let r = call(
        &app,
        Some(&h),
        Method::DELETE,
        &format!("/v2/webhooks/endpoints/{id}"),
        &app.a,
        None,
    )
    .await;
    assert_eq!(r.status.as_u16(), 204);
    call(
        &app,
        Some(&h),
        Method::GET,
        &format!("/v2/webhooks/endpoints/{id}"),
        &app.a,
        None,
    )
    .await
    .assert_error(404);
}

#[tokio::test]
async fn bad_endpoints_get_clear_errors() {
    let app = app().await;
    let h = hooks(&app, false).await;
    let many: serde_json::Map<String, Value> =
        (0..40).map(|i| (format!("X-{i}"), json!("v"))).collect();
    for body in [
        json!({"url": "ftp://example.com/x"}),
        json!({"url": "not a url"}),
        json!({"url": "http://127.0.0.1:8080/hook"}),
        json!({"url": "http://10.0.0.1/hook"}),
        json!({"url": "http://localhost/hook"}),
        json!({"url": "https://example.com", "headers": many}),
        json!({"url": "https://example.com", "headers": {"webhook-signature": "x"}}),
        json!({"url": "https://example.com", "events": ["peer.join.succes"]}),
        json!({"headers": {}}),
        json!({"url": "https://example.com", "surprise": 1}),
    ] {
        let r = call(
            &app,
            Some(&h),
            Method::POST,
            "/v2/webhooks/endpoints",
            &app.a,
            Some(body.clone()),
        )
        .await;
        let e = r.assert_error(400);
        assert!(
            !e["details"].as_array().unwrap().is_empty() || e["message"] != "",
            "{body}"
        );
    }
    // Without the service the routes say so.
    call(
        &app,
        None,
        Method::GET,
        "/v2/webhooks/endpoints",
        &app.a,
        None,
    )
    .await
    .assert_error(503);
    // And they are in the OpenAPI document.
    let doc = serde_json::to_value(caucus_api::openapi::document()).unwrap();
    for p in [
        "/v2/webhooks/endpoints",
        "/v2/webhooks/endpoints/{endpoint_id}/redeliver",
    ] {
        assert!(
            doc["paths"].get(p).is_some(),
            "{p} missing from the OpenAPI document"
        );
    }
}

#[tokio::test]
async fn a_rest_created_room_sends_signed_100ms_webhooks() {
    let app = app().await;
    let h = hooks(&app, true).await;
    let got: Arc<Mutex<Vec<(axum::http::HeaderMap, Bytes)>>> = Arc::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let sink = got.clone();
    let receiver = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: axum::http::HeaderMap, body: Bytes| {
            let sink = sink.clone();
            async move {
                sink.lock().unwrap().push((headers, body));
                "ok"
            }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, receiver).await });

    let created = call(
        &app,
        Some(&h),
        Method::POST,
        "/v2/webhooks/endpoints",
        &app.a,
        Some(json!({"url": url})),
    )
    .await
    .ok();
    let id = created["id"].as_str().unwrap().to_owned();
    let room = app.room("webhook-room").await;
    let room_id = room["id"].as_str().unwrap();
    let peer = join(&app, room_id, "host", "alice").await;

    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while got.lock().unwrap().len() < 2 {
        assert!(std::time::Instant::now() < deadline, "no webhooks");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let got = got.lock().unwrap().clone();
    let bodies: Vec<Value> = got
        .iter()
        .map(|(_, b)| serde_json::from_slice(b).unwrap())
        .collect();
    assert_eq!(bodies[0]["type"], "session.open.success");
    assert_eq!(bodies[1]["type"], "peer.join.success");
    assert_eq!(bodies[1]["data"]["peer_id"], peer);
    assert_eq!(bodies[1]["data"]["room_name"], "webhook-room");
    assert_eq!(bodies[1]["account_id"], app.a.id);
    for (headers, _) in &got {
        assert!(
            headers["webhook-signature"]
                .to_str()
                .unwrap()
                .starts_with("v1,")
        );
        assert!(headers.contains_key("webhook-id"));
        assert!(headers.contains_key("webhook-timestamp"));
    }
    let log = call(
        &app,
        Some(&h),
        Method::GET,
        &format!("/v2/webhooks/endpoints/{id}/deliveries?status=success"),
        &app.a,
        None,
    )
    .await
    .ok();
    assert_eq!(log["data"].as_array().unwrap().len(), 2);
    assert_eq!(log["data"][0]["status_code"], 200);
}
