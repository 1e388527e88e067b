//! Active rooms: the live session, peers with tracks, and the server's controls,
//! with peers joined through the executor as signalling will join them.

mod common;

use common::*;
use serde_json::json;

#[tokio::test]
async fn a_room_without_a_session_has_no_active_room_and_no_peers() {
    let app = app().await;
    let room = app.room("quiet").await;
    let id = room["id"].as_str().unwrap();
    app.get(&format!("/v2/active-rooms/{id}"))
        .await
        .assert_error(404);
    let peers = app.get(&format!("/v2/active-rooms/{id}/peers")).await.ok();
    assert_eq!(peers, json!({"peers": {}}));
    app.post(&format!("/v2/active-rooms/{id}/end-room"), json!({}))
        .await
        .assert_error(404);
    app.post(
        &format!("/v2/active-rooms/{id}/send-message"),
        json!({"message": "hi"}),
    )
    .await
    .assert_error(404);
    // With lock, ending a quiet room still disables it.
    let r = app
        .post(
            &format!("/v2/active-rooms/{id}/end-room"),
            json!({"lock": true}),
        )
        .await
        .ok();
    assert_eq!(r["message"], "session is ending");
    assert_eq!(
        app.get(&format!("/v2/rooms/{id}")).await.ok()["enabled"],
        false
    );
    app.get("/v2/active-rooms/65f0c2a1b2c3d4e5f6a7b8c9/peers")
        .await
        .assert_error(404);
}

#[tokio::test]
async fn live_room_peers_and_tracks_are_shown() {
    let app = app().await;
    let room = app.room("live").await;
    let id = room["id"].as_str().unwrap();
    let alice = join(&app, id, "host", "alice").await;
    let bob = join(&app, id, "guest", "bob").await;
    let track = publish_audio(&app, id, &alice).await;
    let live = app.get(&format!("/v2/active-rooms/{id}")).await.ok();
    assert_eq!(live["id"], id);
    assert_eq!(live["name"], "live");
    assert_eq!(live["customer_id"], app.a.id);
    assert_eq!(live["session"]["id"].as_str().unwrap().len(), 24);
    assert_eq!(live["session"]["peers"].as_array().unwrap().len(), 2);
    let peers = app.get(&format!("/v2/active-rooms/{id}/peers")).await.ok();
    assert_eq!(peers["peers"].as_object().unwrap().len(), 2);
    assert_eq!(peers["peers"][&alice]["user_id"], "alice");
    assert_eq!(peers["peers"][&alice]["role"], "host");
    assert_eq!(peers["peers"][&bob]["name"], "bob-name");
    let hosts = app
        .get(&format!("/v2/active-rooms/{id}/peers?role=host"))
        .await
        .ok();
    assert_eq!(hosts["peers"].as_object().unwrap().len(), 1);
    let bobs = app
        .get(&format!("/v2/active-rooms/{id}/peers?user_id=bob"))
        .await
        .ok();
    assert!(bobs["peers"].get(&bob).is_some());
    let p = app
        .get(&format!("/v2/active-rooms/{id}/peers/{alice}"))
        .await
        .ok();
    assert_eq!(p["id"], alice.as_str());
    assert_eq!(p["tracks"][&track]["type"], "audio");
    assert_eq!(p["tracks"][&track]["source"], "regular");
    assert_eq!(p["tracks"][&track]["mute"], false);
    assert_eq!(p["tracks"][&track]["stream_id"], "stream-1");
    app.get(&format!(
        "/v2/active-rooms/{id}/peers/{}",
        uuid::Uuid::new_v4()
    ))
    .await
    .assert_error(404);
    app.get(&format!("/v2/active-rooms/{id}/peers/not-a-uuid"))
        .await
        .assert_error(404);
}

#[tokio::test]
async fn peers_are_updated_and_role_changes_are_forced() {
    let app = app().await;
    let room = app.room("live").await;
    let id = room["id"].as_str().unwrap();
    let bob = join(&app, id, "guest", "bob").await;
    let path = format!("/v2/active-rooms/{id}/peers/{bob}");
    let p = app
        .post(&path, json!({"name": "Bob", "metadata": "{\"hand\":true}"}))
        .await
        .ok();
    assert_eq!(p["name"], "Bob");
    assert_eq!(p["metadata"], "{\"hand\":true}");
    let p = app.post(&path, json!({"role": "host"})).await.ok();
    assert_eq!(p["role"], "host");
    let before = app.events().await;
    app.post(&path, json!({})).await.assert_error(400);
    app.post(&path, json!({"role": "nobody"}))
        .await
        .assert_error(400);
    app.post(&path, json!({"color": "red"}))
        .await
        .assert_error(400);
    app.post(
        &format!("/v2/active-rooms/{id}/peers/{}", uuid::Uuid::new_v4()),
        json!({"name": "x"}),
    )
    .await
    .assert_error(404);
    assert_eq!(app.events().await, before);
    let session = app.get(&format!("/v2/sessions?room_id={id}")).await.ok();
    let peer = &session["data"][0]["peers"][&bob];
    assert_eq!(peer["role"], "host");
    assert_eq!(peer["name"], "Bob");
}

#[tokio::test]
async fn messages_go_to_everyone_a_peer_or_a_role() {
    let app = app().await;
    let room = app.room("live").await;
    let id = room["id"].as_str().unwrap();
    let alice = join(&app, id, "host", "alice").await;
    let path = format!("/v2/active-rooms/{id}/send-message");
    for body in [
        json!({"message": "all"}),
        json!({"message": "one", "peer_id": alice}),
        json!({"message": "one", "peerId": alice}),
        json!({"message": "hosts", "role": "host", "type": "emoji"}),
    ] {
        let r = app.post(&path, body).await.ok();
        assert_eq!(r["message"], "message sent");
    }
    let before = app.events().await;
    app.post(&path, json!({})).await.assert_error(400);
    app.post(&path, json!({"message": "x".repeat(5000)}))
        .await
        .assert_error(400);
    app.post(
        &path,
        json!({"message": "x", "peer_id": uuid::Uuid::new_v4().to_string()}),
    )
    .await
    .assert_error(404);
    assert_eq!(app.events().await, before);
}

#[tokio::test]
async fn peers_are_removed_by_id_or_role_and_the_room_ends_with_lock() {
    let app = app().await;
    let room = app.room("live").await;
    let id = room["id"].as_str().unwrap();
    let alice = join(&app, id, "host", "alice").await;
    join(&app, id, "guest", "bob").await;
    join(&app, id, "guest", "carol").await;
    let path = format!("/v2/active-rooms/{id}/remove-peers");
    app.post(&path, json!({"reason": "x"}))
        .await
        .assert_error(400);
    let r = app
        .post(&path, json!({"role": "guest", "reason": "bye"}))
        .await
        .ok();
    assert_eq!(r["message"], "peer remove request submitted");
    let peers = app.get(&format!("/v2/active-rooms/{id}/peers")).await.ok();
    assert_eq!(peers["peers"].as_object().unwrap().len(), 1);
    let dave = join(&app, id, "guest", "dave").await;
    app.post(&path, json!({"peer_id": dave})).await.ok();
    app.post(&path, json!({"peer_id": dave}))
        .await
        .assert_error(404);
    let r = app
        .post(
            &format!("/v2/active-rooms/{id}/end-room"),
            json!({"reason": "done", "lock": true}),
        )
        .await
        .ok();
    assert_eq!(r["message"], "session is ending");
    app.get(&format!("/v2/active-rooms/{id}"))
        .await
        .assert_error(404);
    assert_eq!(
        app.get(&format!("/v2/rooms/{id}")).await.ok()["enabled"],
        false
    );
    let sessions = app.get(&format!("/v2/sessions?room_id={id}")).await.ok();
    let s = &sessions["data"][0];
    assert_eq!(s["active"], false);
    assert!(s["peers"][&alice]["left_at"].is_string());
}
