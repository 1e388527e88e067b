//! Every kind of bad token gets 401 with the documented body and changes nothing.

mod common;

use axum::http::Method;
use caucus_api::auth;
use common::*;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;

fn signed(ws: &caucus_api::Workspace, alg: Algorithm, claims: serde_json::Value) -> String {
    jsonwebtoken::encode(
        &Header::new(alg),
        &claims,
        &EncodingKey::from_secret(ws.secret.expose().as_bytes()),
    )
    .unwrap()
}

fn claims(ws: &caucus_api::Workspace, iat: i64, exp: i64) -> serde_json::Value {
    json!({"access_key": ws.access_key, "type": "management", "version": 2,
           "iat": iat, "nbf": iat, "exp": exp, "jti": "j"})
}

#[tokio::test]
async fn bad_tokens_are_refused_and_nothing_is_appended() {
    let app = app().await;
    let now = now();
    let mut forged_ws = app.a.clone();
    forged_ws.secret = caucus_api::Secret::new("not-the-secret-at-all-0000");
    let none_token = format!(
        "{}.{}.",
        b64(br#"{"alg":"none","typ":"JWT"}"#),
        b64(claims(&app.a, now, now + 60).to_string().as_bytes())
    );
    let rs_token = format!(
        "{}.{}.c2ln",
        b64(br#"{"alg":"RS256","typ":"JWT"}"#),
        b64(claims(&app.a, now, now + 60).to_string().as_bytes())
    );
    let stranger = caucus_api::Workspace::generate("stranger");
    let cases: Vec<(&str, Option<String>)> = vec![
        ("missing", None),
        ("garbage", Some("abc.def".into())),
        (
            "forged",
            Some(auth::mint_management(&forged_ws, now, 60).unwrap()),
        ),
        (
            "expired",
            Some(signed(
                &app.a,
                Algorithm::HS256,
                claims(&app.a, now - 7200, now - 3600),
            )),
        ),
        (
            "not yet valid",
            Some(signed(
                &app.a,
                Algorithm::HS256,
                claims(&app.a, now + 3600, now + 7200),
            )),
        ),
        ("alg none", Some(none_token)),
        (
            "HS512",
            Some(signed(
                &app.a,
                Algorithm::HS512,
                claims(&app.a, now, now + 60),
            )),
        ),
        ("RS256", Some(rs_token)),
        (
            "unknown workspace",
            Some(auth::mint_management(&stranger, now, 60).unwrap()),
        ),
        (
            "app token on the REST API",
            Some(app_token(&app.a, "65f0c2a1b2c3d4e5f6a7b8c9")),
        ),
    ];
    for (name, token) in cases {
        let r = app
            .call(
                Method::POST,
                "/v2/rooms",
                token.as_deref(),
                Some(json!({"name": "x"})),
            )
            .await;
        let v = r.assert_error(401);
        assert_eq!(v["message"], "Token validation error", "{name}");
        assert_eq!(v["details"].as_array().unwrap().len(), 1, "{name}");
        let r = app
            .call(Method::GET, "/v2/rooms", token.as_deref(), None)
            .await;
        r.assert_error(401);
    }
    assert_eq!(app.events().await, 0);
}

#[tokio::test]
async fn skew_within_thirty_seconds_is_tolerated() {
    let app = app().await;
    let now = now();
    let barely_expired = signed(
        &app.a,
        Algorithm::HS256,
        claims(&app.a, now - 100, now - 10),
    );
    app.call(Method::GET, "/v2/rooms", Some(&barely_expired), None)
        .await
        .ok();
    let barely_future = signed(
        &app.a,
        Algorithm::HS256,
        claims(&app.a, now + 10, now + 100),
    );
    app.call(Method::GET, "/v2/rooms", Some(&barely_future), None)
        .await
        .ok();
}

#[tokio::test]
async fn a_token_of_another_workspace_sees_404_not_the_object() {
    let app = app().await;
    let room = app.room("mine").await;
    let id = room["id"].as_str().unwrap();
    let theirs = mgmt(&app.b);
    let before = app.events().await;
    for path in [
        format!("/v2/rooms/{id}"),
        format!("/v2/active-rooms/{id}/peers"),
        format!("/v2/room-codes/room/{id}"),
        format!("/v2/templates/{}", room["template_id"].as_str().unwrap()),
    ] {
        app.call(Method::GET, &path, Some(&theirs), None)
            .await
            .assert_error(404);
    }
    app.call(
        Method::POST,
        &format!("/v2/rooms/{id}"),
        Some(&theirs),
        Some(json!({"enabled": false})),
    )
    .await
    .assert_error(404);
    app.call(
        Method::POST,
        &format!("/v2/room-codes/room/{id}"),
        Some(&theirs),
        Some(json!({})),
    )
    .await
    .assert_error(404);
    assert_eq!(app.events().await, before);
    // And b's lists do not show a's objects.
    let list = app
        .call(Method::GET, "/v2/rooms", Some(&theirs), None)
        .await
        .ok();
    assert_eq!(list["data"].as_array().unwrap().len(), 0);
    let list = app
        .call(Method::GET, "/v2/templates", Some(&theirs), None)
        .await
        .ok();
    assert_eq!(list["data"].as_array().unwrap().len(), 0);
}
