//! Health, readiness, metrics and the OpenAPI document.

mod common;

use axum::http::Method;
use common::*;

#[tokio::test]
async fn health_and_readiness_answer_without_a_token() {
    let app = app().await;
    let r = app.call(Method::GET, "/healthz", None, None).await.ok();
    assert_eq!(r["status"], "ok");
    let r = app.call(Method::GET, "/readyz", None, None).await.ok();
    assert_eq!(r["status"], "ready");
}

#[tokio::test]
async fn metrics_count_requests_appends_and_live_state() {
    let app = app().await;
    let room = app.room("m").await;
    join(&app, room["id"].as_str().unwrap(), "host", "u").await;
    app.get("/v2/rooms/65f0c2a1b2c3d4e5f6a7b8c9")
        .await
        .assert_error(404);
    let r = app.call(Method::GET, "/metrics", None, None).await;
    assert!(r.status.is_success());
    assert!(
        r.headers["content-type"]
            .to_str()
            .unwrap()
            .contains("openmetrics")
    );
    let text = r.text;
    assert!(
        text.contains(
            r#"caucus_http_requests_total{method="POST",route="/v2/rooms",status="200"} 1"#
        ),
        "{text}"
    );
    assert!(
        text.contains(r#"route="/v2/rooms/{room_id}",status="404""#),
        "{text}"
    );
    assert!(
        text.contains("caucus_eventlog_append_duration_seconds_count"),
        "{text}"
    );
    assert!(text.contains("caucus_live_rooms 1"), "{text}");
    assert!(text.contains("caucus_live_sessions 1"), "{text}");
    assert!(text.contains("caucus_live_peers 1"), "{text}");
    assert!(text.contains("# EOF"));
}

#[tokio::test]
async fn the_openapi_document_is_3_1_and_covers_every_operation() {
    let app = app().await;
    let doc = app
        .call(Method::GET, "/v2/openapi.json", None, None)
        .await
        .ok();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    let paths = doc["paths"].as_object().unwrap();
    let expect = [
        ("/v2/templates", &["get", "post"][..]),
        ("/v2/templates/{template_id}", &["get", "post"]),
        (
            "/v2/templates/{template_id}/roles/{role_name}",
            &["get", "post", "delete"],
        ),
        ("/v2/templates/{template_id}/settings", &["get", "post"]),
        ("/v2/templates/{template_id}/destinations", &["get", "post"]),
        ("/v2/rooms", &["get", "post"]),
        ("/v2/rooms/{room_id}", &["get", "post"]),
        ("/v2/room-codes/room/{room_id}", &["get", "post"]),
        ("/v2/room-codes/room/{room_id}/role/{role}", &["post"]),
        ("/v2/room-codes/code", &["post"]),
        ("/v2/token", &["post"]),
        ("/v2/active-rooms/{room_id}", &["get"]),
        ("/v2/active-rooms/{room_id}/peers", &["get"]),
        (
            "/v2/active-rooms/{room_id}/peers/{peer_id}",
            &["get", "post"],
        ),
        ("/v2/active-rooms/{room_id}/send-message", &["post"]),
        ("/v2/active-rooms/{room_id}/remove-peers", &["post"]),
        ("/v2/active-rooms/{room_id}/end-room", &["post"]),
        ("/v2/sessions", &["get"]),
        ("/v2/sessions/{session_id}", &["get"]),
        ("/healthz", &["get"]),
        ("/readyz", &["get"]),
        ("/metrics", &["get"]),
    ];
    for (path, methods) in expect {
        let item = paths.get(path).unwrap_or_else(|| panic!("{path} missing"));
        for m in methods {
            assert!(item.get(*m).is_some(), "{m} {path} missing");
        }
    }
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
    assert!(doc["components"]["schemas"]["ErrorBody"].is_object());
}

/// The hand-written schemas of the domain's template types name exactly the
/// fields the API sends, so the document cannot drift from the domain.
#[tokio::test]
async fn template_schemas_match_the_objects_sent() {
    let app = app().await;
    let doc = app
        .call(Method::GET, "/v2/openapi.json", None, None)
        .await
        .ok();
    let schemas = &doc["components"]["schemas"];
    let room = app.room("r").await;
    let t = app
        .get(&format!(
            "/v2/templates/{}",
            room["template_id"].as_str().unwrap()
        ))
        .await
        .ok();
    let host = &t["roles"]["host"];
    let cases = [
        ("Role", host),
        ("PublishParams", &host["publishParams"]),
        ("AudioParams", &host["publishParams"]["audio"]),
        ("VideoParams", &host["publishParams"]["video"]),
        ("VideoParams", &host["publishParams"]["screen"]),
        ("SubscribeParams", &host["subscribeParams"]),
        ("Permissions", &host["permissions"]),
        ("TemplateSettings", &t["settings"]),
        ("RoomStateSettings", &t["settings"]["roomState"]),
        ("RecordingSettings", &t["settings"]["recording"]),
    ];
    for (name, object) in cases {
        let mut sent: Vec<&String> = object.as_object().unwrap().keys().collect();
        let mut documented: Vec<&String> = schemas[name]["properties"]
            .as_object()
            .unwrap_or_else(|| panic!("schema {name} missing"))
            .keys()
            .collect();
        sent.sort();
        documented.sort();
        assert_eq!(sent, documented, "{name}");
    }
}
