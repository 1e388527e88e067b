//! The per-room webhook override (`webhook: {url, headers}` on the Room API):
//! a real receiver on 127.0.0.1 gets the overridden room's events at the
//! override URL, with its headers and a signature by the secret returned once;
//! the workspace endpoint gets them no longer, and gets them again once the
//! override is removed. Bad override input is a 400 that changes nothing, and
//! the header values reach neither the log nor GET room.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{HeaderMap, Method};
use caucus_projections::webhooks::signer::verify;
use caucus_projections::webhooks::{SigningSecret, Webhooks};
use common::hooked::{call_hooked, hooks};
use common::*;
use serde_json::{Value, json};

async fn call(
    app: &TestApp,
    hooks: Option<&Webhooks>,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> Resp {
    call_hooked(app, hooks, method, path, &app.a, body).await
}

/// What the receiver got: (path, headers, body).
type Got = Arc<Mutex<Vec<(String, HeaderMap, Value)>>>;

/// A receiver on 127.0.0.1 answering 200 on any path; returns its base URL.
async fn receiver() -> (String, Got) {
    let got: Got = Arc::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let sink = got.clone();
    let app = axum::Router::new().fallback(
        move |uri: axum::http::Uri, headers: HeaderMap, body: Bytes| {
            let sink = sink.clone();
            async move {
                let v: Value = serde_json::from_slice(&body).unwrap();
                sink.lock()
                    .unwrap()
                    .push((uri.path().to_owned(), headers, v));
                "ok"
            }
        },
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    (base, got)
}

/// The webhooks received at `path` for room `room_id`, as (type, headers, body).
fn at(got: &Got, path: &str, room_id: &str) -> Vec<(String, HeaderMap, Value)> {
    got.lock()
        .unwrap()
        .iter()
        .filter(|(p, _, b)| p == path && b["data"]["room_id"] == room_id)
        .map(|(_, h, b)| (b["type"].as_str().unwrap().to_owned(), h.clone(), b.clone()))
        .collect()
}

async fn until(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_room_override_takes_the_rooms_webhooks_until_removed() {
    let app = app().await;
    let h = hooks(&app, true).await;
    let (base, got) = receiver().await;
    call(
        &app,
        Some(&h),
        Method::POST,
        "/v2/webhooks/endpoints",
        Some(json!({"url": format!("{base}/workspace")})),
    )
    .await
    .ok();

    // Room A is created with an override; room B is not.
    let a = call(
        &app,
        Some(&h),
        Method::POST,
        "/v2/rooms",
        Some(json!({"name": "overridden", "webhook": {
            "url": format!("{base}/room"), "headers": {"X-Room-Key": "s3cret-value"}}})),
    )
    .await
    .ok();
    let a_id = a["id"].as_str().unwrap().to_owned();
    assert_eq!(a["webhook"]["url"], format!("{base}/room"));
    assert_eq!(a["webhook"]["headers"]["X-Room-Key"], "[redacted]");
    let secret = SigningSecret::parse(a["webhook"]["secret"].as_str().unwrap()).unwrap();
    let endpoint_id = a["webhook"]["endpoint_id"].as_str().unwrap().to_owned();
    let b = app.room("plain").await;
    let b_id = b["id"].as_str().unwrap().to_owned();

    join(&app, &a_id, "host", "alice").await;
    join(&app, &b_id, "host", "bob").await;
    until("room A at the override and room B at the workspace", || {
        at(&got, "/room", &a_id).len() >= 2 && at(&got, "/workspace", &b_id).len() >= 2
    })
    .await;
    let room_hooks = at(&got, "/room", &a_id);
    let types: Vec<&str> = room_hooks.iter().map(|(t, _, _)| t.as_str()).collect();
    assert_eq!(types, ["session.open.success", "peer.join.success"]);
    for (_, headers, body) in &room_hooks {
        assert_eq!(headers["x-room-key"], "s3cret-value");
        let id = headers["webhook-id"].to_str().unwrap();
        let ts: i64 = headers["webhook-timestamp"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        let sig = headers["webhook-signature"].to_str().unwrap();
        assert_eq!(body["id"], id);
        // The body as sent: re-serializing the parsed JSON keeps serde's order.
        let raw = serde_json::to_vec(body).unwrap();
        assert!(
            verify(&secret, sig, id, ts, &raw),
            "signed with the returned secret"
        );
    }
    // B went to the workspace endpoint and A did not; nothing of B at /room.
    assert!(at(&got, "/workspace", &a_id).is_empty());
    assert!(at(&got, "/room", &b_id).is_empty());

    // GET room shows the override without header values or secret; the
    // endpoint API lists it with its room, redacted too.
    let shown = call(
        &app,
        Some(&h),
        Method::GET,
        &format!("/v2/rooms/{a_id}"),
        None,
    )
    .await;
    let v = shown.ok();
    assert_eq!(v["webhook"]["headers"]["X-Room-Key"], "[redacted]");
    assert!(v["webhook"].get("secret").is_none());
    assert!(!shown.text.contains("s3cret-value"));
    assert!(!shown.text.contains(secret.expose()));
    let list = call(&app, Some(&h), Method::GET, "/v2/webhooks/endpoints", None).await;
    assert!(!list.text.contains("s3cret-value"));
    let list = list.ok();
    let listed = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["id"] == endpoint_id.as_str())
        .expect("the override is listed")
        .clone();
    assert_eq!(listed["room_id"], a_id.as_str());
    // It is changed through the Room API only.
    call(
        &app,
        Some(&h),
        Method::DELETE,
        &format!("/v2/webhooks/endpoints/{endpoint_id}"),
        None,
    )
    .await
    .assert_error(409);
    // The header value never reached the log.
    let all = app.log.read_all(None, usize::MAX).await.unwrap();
    for e in &all {
        let text = format!("{e:?}");
        assert!(!text.contains("s3cret-value"), "a header value in the log");
        assert!(!e.payload.windows(12).any(|w| w == b"s3cret-value"));
    }

    // A second update keeps the endpoint and its secret (none shown again).
    let up = call(
        &app,
        Some(&h),
        Method::POST,
        &format!("/v2/rooms/{a_id}"),
        Some(json!({"webhook": {"url": format!("{base}/room2"), "headers": {"X-Room-Key": "v2"}}})),
    )
    .await
    .ok();
    assert_eq!(up["webhook"]["endpoint_id"], endpoint_id.as_str());
    assert!(up["webhook"].get("secret").is_none());
    join(&app, &a_id, "guest", "carol").await;
    until("the updated override", || {
        !at(&got, "/room2", &a_id).is_empty()
    })
    .await;
    assert_eq!(at(&got, "/room2", &a_id)[0].1["x-room-key"], "v2");

    // Removing it sends the room back to the workspace endpoints.
    let removed = call(
        &app,
        Some(&h),
        Method::POST,
        &format!("/v2/rooms/{a_id}"),
        Some(json!({"webhook": null})),
    )
    .await
    .ok();
    assert!(removed.get("webhook").is_none());
    join(&app, &a_id, "guest", "dave").await;
    until("room A back at the workspace", || {
        !at(&got, "/workspace", &a_id).is_empty()
    })
    .await;
    let back = at(&got, "/workspace", &a_id);
    assert_eq!(back.len(), 1, "only what follows the removal");
    assert_eq!(back[0].0, "peer.join.success");
    assert_eq!(back[0].2["data"]["user_id"], "dave");
    let overrides = at(&got, "/room", &a_id).len() + at(&got, "/room2", &a_id).len();
    assert_eq!(overrides, 3, "nothing after the removal at the override");
    // The removed override is hidden at once; its consumer then finishes and
    // the endpoint is scrubbed of url, headers and secrets.
    assert_eq!(h.endpoints().list(&app.a.id.parse().unwrap()).len(), 1);
    until("the removed override to be scrubbed", || {
        h.endpoints()
            .by_id(&endpoint_id)
            .is_some_and(|e| e.headers.is_empty() && e.secrets.is_empty() && e.url.is_empty())
    })
    .await;
}

#[tokio::test]
async fn bad_overrides_are_400_and_change_nothing() {
    let app = app().await;
    let strict = hooks(&app, false).await;
    let many: serde_json::Map<String, Value> =
        (0..40).map(|i| (format!("X-{i}"), json!("v"))).collect();
    let room = call(
        &app,
        Some(&strict),
        Method::POST,
        "/v2/rooms",
        Some(json!({"name": "kept", "webhook": {"url": "https://hooks.example.com/a"}})),
    )
    .await
    .ok();
    let id = room["id"].as_str().unwrap().to_owned();
    let before_events = app.events().await;
    for bad in [
        json!({"url": "ftp://example.com/x"}),
        json!({"url": "not a url"}),
        json!({"url": "http://127.0.0.1:9/hook"}),
        json!({"url": "http://10.0.0.1/hook"}),
        json!({"url": "http://localhost/hook"}),
        json!({"url": "https://example.com", "headers": many}),
        json!({"url": "https://example.com", "headers": {"webhook-signature": "x"}}),
        json!({"url": "https://example.com", "headers": {"X-Key": "[redacted]"}}),
        json!({"url": "https://example.com", "surprise": 1}),
        json!({"headers": {}}),
        json!("https://example.com"),
    ] {
        // On update, with another change beside it: nothing is applied.
        call(
            &app,
            Some(&strict),
            Method::POST,
            &format!("/v2/rooms/{id}"),
            Some(json!({"description": "changed", "webhook": bad.clone()})),
        )
        .await
        .assert_error(400);
        // On create: no room is made.
        call(
            &app,
            Some(&strict),
            Method::POST,
            "/v2/rooms",
            Some(json!({"name": "never-made", "webhook": bad.clone()})),
        )
        .await
        .assert_error(400);
    }
    assert_eq!(app.events().await, before_events, "nothing appended");
    let now = call(
        &app,
        Some(&strict),
        Method::GET,
        &format!("/v2/rooms/{id}"),
        None,
    )
    .await
    .ok();
    assert_eq!(now["description"], "");
    assert_eq!(now["webhook"]["url"], "https://hooks.example.com/a");
    let list = call(
        &app,
        Some(&strict),
        Method::GET,
        "/v2/rooms?name=never-made",
        None,
    )
    .await
    .ok();
    assert!(list["data"].as_array().unwrap().is_empty());
    assert_eq!(strict.endpoints().all().len(), 1);

    // Create with the name of an existing room returns that room and applies
    // the override given (a change: no new secret).
    let again = call(
        &app,
        Some(&strict),
        Method::POST,
        "/v2/rooms",
        Some(json!({"name": "kept", "webhook": {"url": "https://hooks.example.com/c"}})),
    )
    .await
    .ok();
    assert_eq!(again["id"], id.as_str());
    assert_eq!(again["webhook"]["url"], "https://hooks.example.com/c");
    assert!(again["webhook"].get("secret").is_none());
    assert_eq!(strict.endpoints().all().len(), 1);

    // Without the webhook service, asking for an override is a 503; other
    // room calls work.
    call(
        &app,
        None,
        Method::POST,
        &format!("/v2/rooms/{id}"),
        Some(json!({"webhook": {"url": "https://hooks.example.com/b"}})),
    )
    .await
    .assert_error(503);
    call(&app, None, Method::GET, &format!("/v2/rooms/{id}"), None)
        .await
        .ok();

    // The field is in the OpenAPI document.
    let doc = serde_json::to_value(caucus_api::openapi::document()).unwrap();
    let schemas = &doc["components"]["schemas"];
    assert!(schemas["RoomBody"]["properties"].get("webhook").is_some());
    assert!(schemas["RoomObject"]["properties"].get("webhook").is_some());
    assert!(schemas.get("RoomWebhookBody").is_some());
}
