//! Malformed JSON, wrong content type, oversized bodies, unknown routes and
//! methods: a 4xx with the documented body, and nothing appended.

mod common;

use axum::body::Body;
use axum::http::{Request, header};
use common::*;

fn raw(token: &str, path: &str, content_type: Option<&str>, body: Vec<u8>) -> Request<Body> {
    let mut b = Request::builder()
        .method("POST")
        .uri(path)
        .header(header::AUTHORIZATION, format!("Bearer {token}"));
    if let Some(ct) = content_type {
        b = b.header(header::CONTENT_TYPE, ct);
    }
    b.body(Body::from(body)).unwrap()
}

#[tokio::test]
async fn malformed_and_oversized_bodies_are_refused() {
    let app = app().await;
    let t = mgmt(&app.a);
    let json = Some("application/json");
    for path in ["/v2/rooms", "/v2/templates", "/v2/room-codes/code"] {
        app.send(raw(&t, path, json, b"{not json".to_vec()))
            .await
            .assert_error(400);
        app.send(raw(&t, path, json, b"".to_vec()))
            .await
            .assert_error(400);
        app.send(raw(&t, path, json, b"[1,2]".to_vec()))
            .await
            .assert_error(400);
        app.send(raw(&t, path, Some("text/plain"), b"{}".to_vec()))
            .await
            .assert_error(400);
        app.send(raw(&t, path, None, b"{}".to_vec()))
            .await
            .assert_error(400);
        let big = format!("{{\"name\":\"{}\"}}", "a".repeat(100 * 1024)).into_bytes();
        app.send(raw(&t, path, json, big)).await.assert_error(413);
    }
    app.send(raw(
        &t,
        "/v2/active-rooms/65f0c2a1b2c3d4e5f6a7b8c9/end-room",
        json,
        b"{".to_vec(),
    ))
    .await
    .assert_error(400);
    assert_eq!(app.events().await, 0);
}

#[tokio::test]
async fn unknown_routes_and_methods_get_the_error_body() {
    let app = app().await;
    app.get("/v2/nothing-here").await.assert_error(404);
    app.delete("/v2/rooms").await.assert_error(405);
    app.call(
        axum::http::Method::PUT,
        "/v2/rooms/65f0c2a1b2c3d4e5f6a7b8c9",
        Some(&mgmt(&app.a)),
        None,
    )
    .await
    .assert_error(405);
    assert_eq!(app.events().await, 0);
}
