//! Room codes: create for all roles or one, list with filters, enable/disable,
//! and the code → token exchange.

mod common;

use axum::http::Method;
use caucus_api::auth::{self, TokenType};
use common::*;
use serde_json::json;

#[tokio::test]
async fn codes_for_every_role_are_created_once_and_listed() {
    let app = app().await;
    let room = app.room("r").await;
    let id = room["id"].as_str().unwrap();
    let created = app
        .post(&format!("/v2/room-codes/room/{id}"), json!({}))
        .await
        .ok();
    let data = created["data"].as_array().unwrap();
    assert_eq!(data.len(), 2);
    let roles: Vec<_> = data.iter().map(|c| c["role"].as_str().unwrap()).collect();
    assert!(roles.contains(&"host") && roles.contains(&"guest"));
    let code = data[0]["code"].as_str().unwrap();
    assert_eq!(code.len(), 12);
    assert_eq!(data[0]["room_id"], id);
    assert_eq!(data[0]["enabled"], true);
    // Again: roles that have a code keep it.
    let events = app.events().await;
    let again = app
        .post(&format!("/v2/room-codes/room/{id}"), json!({}))
        .await
        .ok();
    assert_eq!(again["data"], created["data"]);
    assert_eq!(app.events().await, events);
    let one = app
        .post(&format!("/v2/room-codes/room/{id}/role/guest"), json!({}))
        .await
        .ok();
    assert_eq!(one["role"], "guest");
    let list = app.get(&format!("/v2/room-codes/room/{id}")).await.ok();
    assert_eq!(list["data"].as_array().unwrap().len(), 3);
    let guests = app
        .get(&format!("/v2/room-codes/room/{id}?role=guest"))
        .await
        .ok();
    assert_eq!(guests["data"].as_array().unwrap().len(), 2);
    app.post(&format!("/v2/room-codes/room/{id}/role/nobody"), json!({}))
        .await
        .assert_error(404);
    app.post("/v2/room-codes/room/65f0c2a1b2c3d4e5f6a7b8c9", json!({}))
        .await
        .assert_error(404);
}

#[tokio::test]
async fn codes_are_disabled_and_enabled_with_only_code_and_enabled() {
    let app = app().await;
    let room = app.room("r").await;
    let id = room["id"].as_str().unwrap();
    let code = app
        .post(&format!("/v2/room-codes/room/{id}/role/host"), json!({}))
        .await
        .ok();
    let code = code["code"].as_str().unwrap();
    let before = app.events().await;
    app.post(
        "/v2/room-codes/code",
        json!({"code": code, "enabled": false, "role": "guest"}),
    )
    .await
    .assert_error(400);
    app.post("/v2/room-codes/code", json!({"code": code}))
        .await
        .assert_error(400);
    app.post(
        "/v2/room-codes/code",
        json!({"code": "nop-nope-nop", "enabled": false}),
    )
    .await
    .assert_error(404);
    assert_eq!(app.events().await, before);
    let off = app
        .post(
            "/v2/room-codes/code",
            json!({"code": code, "enabled": false}),
        )
        .await
        .ok();
    assert_eq!(off["enabled"], false);
    let disabled = app
        .get(&format!("/v2/room-codes/room/{id}?enabled=false"))
        .await
        .ok();
    assert_eq!(disabled["data"][0]["code"], code);
    // Disabled: no token.
    app.call(Method::POST, "/v2/token", None, Some(json!({"code": code})))
        .await
        .assert_error(403);
    let on = app
        .post(
            "/v2/room-codes/code",
            json!({"code": code, "enabled": true}),
        )
        .await
        .ok();
    assert_eq!(on["enabled"], true);
    // Another workspace cannot touch it.
    let theirs = mgmt(&app.b);
    app.call(
        Method::POST,
        "/v2/room-codes/code",
        Some(&theirs),
        Some(json!({"code": code, "enabled": false})),
    )
    .await
    .assert_error(404);
}

#[tokio::test]
async fn a_code_exchanges_for_an_app_token_without_authorization() {
    let app = app().await;
    let room = app.room("r").await;
    let id = room["id"].as_str().unwrap();
    let code = app
        .post(&format!("/v2/room-codes/room/{id}/role/guest"), json!({}))
        .await
        .ok();
    let code = code["code"].as_str().unwrap();
    let r = app
        .call(
            Method::POST,
            "/v2/token",
            None,
            Some(json!({"code": code, "user_id": "alice"})),
        )
        .await
        .ok();
    let token = r["token"].as_str().unwrap();
    let (claims, ws) = auth::verify(token, app.state.workspaces(), TokenType::App, now()).unwrap();
    assert_eq!(ws.id, app.a.id);
    assert_eq!(claims.room_id.as_deref(), Some(id));
    assert_eq!(claims.role.as_deref(), Some("guest"));
    assert_eq!(claims.user_id.as_deref(), Some("alice"));
    let r = app
        .call(Method::POST, "/v2/token", None, Some(json!({"code": code})))
        .await
        .ok();
    let (claims, _) = auth::verify(
        r["token"].as_str().unwrap(),
        app.state.workspaces(),
        TokenType::App,
        now(),
    )
    .unwrap();
    assert!(uuid::Uuid::parse_str(claims.user_id.as_deref().unwrap()).is_ok());
    app.call(
        Method::POST,
        "/v2/token",
        None,
        Some(json!({"code": "abc-defg-hij"})),
    )
    .await
    .assert_error(404);
    app.call(
        Method::POST,
        "/v2/token",
        None,
        Some(json!({"user_id": "x"})),
    )
    .await
    .assert_error(400);
    // A disabled room gives no tokens, and no new codes.
    app.post(&format!("/v2/rooms/{id}"), json!({"enabled": false}))
        .await
        .ok();
    app.call(Method::POST, "/v2/token", None, Some(json!({"code": code})))
        .await
        .assert_error(403);
    app.post(&format!("/v2/room-codes/room/{id}"), json!({}))
        .await
        .assert_error(403);
}
