//! Sessions: list with filters and pagination, get one with its peers.

mod common;

use common::*;
use serde_json::json;

#[tokio::test]
async fn sessions_are_listed_filtered_and_read() {
    let app = app().await;
    let r1 = app.room("one").await;
    let r2 = app.room("two").await;
    let id1 = r1["id"].as_str().unwrap();
    let id2 = r2["id"].as_str().unwrap();
    let alice = join(&app, id1, "host", "alice").await;
    app.post(&format!("/v2/active-rooms/{id1}/end-room"), json!({}))
        .await
        .ok();
    join(&app, id1, "host", "alice").await;
    join(&app, id2, "guest", "bob").await;
    let all = app.get("/v2/sessions").await.ok();
    assert_eq!(all["data"].as_array().unwrap().len(), 3);
    let active = app.get("/v2/sessions?active=true").await.ok();
    assert_eq!(active["data"].as_array().unwrap().len(), 2);
    let ended = app.get("/v2/sessions?active=false").await.ok();
    let ended = &ended["data"][0];
    assert_eq!(ended["room_id"], id1);
    assert_eq!(ended["active"], false);
    assert_eq!(ended["customer_id"], app.a.id);
    let p = &ended["peers"][&alice];
    assert_eq!(p["user_id"], "alice");
    assert_eq!(p["role"], "host");
    assert_eq!(p["session_id"], ended["id"]);
    assert!(p["left_at"].is_string());
    let of_room = app.get(&format!("/v2/sessions?room_id={id2}")).await.ok();
    assert_eq!(of_room["data"].as_array().unwrap().len(), 1);
    let sid = ended["id"].as_str().unwrap();
    let one = app.get(&format!("/v2/sessions/{sid}")).await.ok();
    assert_eq!(one["id"], sid);
    let future = app
        .get("/v2/sessions?after=2999-01-01T00:00:00Z")
        .await
        .ok();
    assert_eq!(future["data"].as_array().unwrap().len(), 0);
    let past = app
        .get("/v2/sessions?before=2000-01-01T00:00:00Z")
        .await
        .ok();
    assert_eq!(past["data"].as_array().unwrap().len(), 0);
    app.get("/v2/sessions/65f0c2a1b2c3d4e5f6a7b8c9")
        .await
        .assert_error(404);
    app.get("/v2/sessions/nope").await.assert_error(404);
    app.get("/v2/sessions?active=sometimes")
        .await
        .assert_error(400);
    app.get("/v2/sessions?limit=1000").await.assert_error(400);
    // Another workspace sees none of them.
    let theirs = mgmt(&app.b);
    let r = app
        .call(
            axum::http::Method::GET,
            &format!("/v2/sessions/{sid}"),
            Some(&theirs),
            None,
        )
        .await;
    r.assert_error(404);
}

#[tokio::test]
async fn session_pages_follow_the_cursor() {
    let app = app().await;
    let room = app.room("busy").await;
    let id = room["id"].as_str().unwrap();
    for _ in 0..12 {
        join(&app, id, "host", "u").await;
        app.post(&format!("/v2/active-rooms/{id}/end-room"), json!({}))
            .await
            .ok();
    }
    let p1 = app.get("/v2/sessions").await.ok();
    assert_eq!(p1["data"].as_array().unwrap().len(), 10);
    let last = p1["last"].as_str().unwrap();
    let p2 = app.get(&format!("/v2/sessions?start={last}")).await.ok();
    assert_eq!(p2["data"].as_array().unwrap().len(), 2);
}
