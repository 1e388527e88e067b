//! Rooms: create (idempotent by name), list with filters, get, update,
//! enable/disable.

mod common;

use common::*;
use serde_json::json;

#[tokio::test]
async fn create_returns_the_room_and_an_existing_name_returns_it_again() {
    let app = app().await;
    let r = app
        .post(
            "/v2/rooms",
            json!({"name": "standup", "description": "daily"}),
        )
        .await
        .ok();
    let id = r["id"].as_str().unwrap();
    assert_eq!(id.len(), 24);
    assert_eq!(r["name"], "standup");
    assert_eq!(r["description"], "daily");
    assert_eq!(r["enabled"], true);
    assert_eq!(r["customer_id"], app.a.id);
    assert_eq!(r["template"], "default");
    assert_eq!(r["max_duration_seconds"], 43200);
    assert!(r["created_at"].as_str().unwrap().ends_with('Z'));
    let events = app.events().await;
    // Names are case-insensitive.
    let again = app.post("/v2/rooms", json!({"name": "STANDUP"})).await.ok();
    assert_eq!(again["id"], r["id"]);
    assert_eq!(app.events().await, events);
    let got = app.get(&format!("/v2/rooms/{id}")).await.ok();
    assert_eq!(got["id"], r["id"]);
}

#[tokio::test]
async fn create_without_name_generates_one_and_uses_the_default_template() {
    let app = app().await;
    let r1 = app.post("/v2/rooms", json!({})).await.ok();
    let r2 = app.post("/v2/rooms", json!({})).await.ok();
    assert_ne!(r1["id"], r2["id"]);
    assert_eq!(r1["template_id"], r2["template_id"]);
    let t = app
        .get(&format!(
            "/v2/templates/{}",
            r1["template_id"].as_str().unwrap()
        ))
        .await
        .ok();
    assert_eq!(t["name"], "default");
    assert!(t["roles"]["host"].is_object());
}

#[tokio::test]
async fn create_refuses_bad_values_and_appends_nothing() {
    let app = app().await;
    for body in [
        json!({"name": "bad name!"}),
        json!({"name": "a", "max_duration_seconds": 60}),
        json!({"name": "a", "max_duration_seconds": 50000}),
        json!({"name": "a", "size": 3000}),
        json!({"name": "a", "template": "x"}),
        json!({"name": "a", "template_id": "65f0c2a1b2c3d4e5f6a7b8c9"}),
        json!({"name": "a", "recording_info": {"enabled": true}}),
        json!({"name": "a", "webhook": {"url": 5}}),
        json!({"name": "a", "region": "mars"}),
        json!({"name": 5}),
    ] {
        let r = app.post("/v2/rooms", body.clone()).await;
        r.assert_error(400);
        assert_eq!(app.events().await, 0, "{body}");
    }
}

#[tokio::test]
async fn update_changes_fields_and_enabled_toggles() {
    let app = app().await;
    let r = app.room("one").await;
    let id = r["id"].as_str().unwrap();
    let u = app
        .post(
            &format!("/v2/rooms/{id}"),
            json!({"name": "uno", "description": "d", "max_duration_seconds": 600, "region": "eu"}),
        )
        .await
        .ok();
    assert_eq!(u["name"], "uno");
    assert_eq!(u["description"], "d");
    assert_eq!(u["max_duration_seconds"], 600);
    assert_eq!(u["region"], "eu");
    let d = app
        .post(&format!("/v2/rooms/{id}"), json!({"enabled": false}))
        .await
        .ok();
    assert_eq!(d["enabled"], false);
    let e = app
        .post(&format!("/v2/rooms/{id}"), json!({"enabled": true}))
        .await
        .ok();
    assert_eq!(e["enabled"], true);
    app.post(
        &format!("/v2/rooms/{id}"),
        json!({"max_duration_seconds": 1}),
    )
    .await
    .assert_error(400);
    app.post(
        "/v2/rooms/65f0c2a1b2c3d4e5f6a7b8c9",
        json!({"enabled": false}),
    )
    .await
    .assert_error(404);
    app.post("/v2/rooms/not-an-id", json!({"enabled": false}))
        .await
        .assert_error(404);
    // Renaming onto another room's name conflicts.
    app.room("two").await;
    app.post(&format!("/v2/rooms/{id}"), json!({"name": "TWO"}))
        .await
        .assert_error(409);
}

#[tokio::test]
async fn list_filters_and_paginates() {
    let app = app().await;
    let mut ids = Vec::new();
    for i in 0..23 {
        ids.push(
            app.room(&format!("room-{i:02}")).await["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let first = app.get("/v2/rooms").await.ok();
    assert_eq!(first["limit"], 10);
    assert_eq!(first["data"].as_array().unwrap().len(), 10);
    let mut seen = Vec::new();
    let mut start: Option<String> = None;
    loop {
        let path = match &start {
            Some(s) => format!("/v2/rooms?limit=10&start={s}"),
            None => "/v2/rooms?limit=10".into(),
        };
        let page = app.get(&path).await.ok();
        let data = page["data"].as_array().unwrap();
        seen.extend(data.iter().map(|r| r["id"].as_str().unwrap().to_owned()));
        if data.len() < 10 {
            break;
        }
        start = Some(page["last"].as_str().unwrap().to_owned());
    }
    assert_eq!(seen, ids);
    app.post(&format!("/v2/rooms/{}", ids[0]), json!({"enabled": false}))
        .await
        .ok();
    let enabled = app.get("/v2/rooms?limit=100").await.ok();
    assert_eq!(enabled["data"].as_array().unwrap().len(), 22);
    let disabled = app.get("/v2/rooms?enabled=false").await.ok();
    assert_eq!(disabled["data"][0]["id"], ids[0].as_str());
    let named = app.get("/v2/rooms?name=ROOM-05").await.ok();
    assert_eq!(named["data"].as_array().unwrap().len(), 1);
    let created = named["data"][0]["created_at"].as_str().unwrap().to_owned();
    let after = app
        .get(&format!("/v2/rooms?limit=100&after={created}"))
        .await
        .ok();
    assert!(after["data"].as_array().unwrap().len() < 22);
    let template = named["data"][0]["template_id"].as_str().unwrap().to_owned();
    let by_t = app
        .get(&format!("/v2/rooms?limit=100&template_id={template}"))
        .await
        .ok();
    assert_eq!(by_t["data"].as_array().unwrap().len(), 22);
    app.get("/v2/rooms?limit=5").await.assert_error(400);
    app.get("/v2/rooms?limit=101").await.assert_error(400);
    app.get("/v2/rooms?limit=abc").await.assert_error(400);
    app.get("/v2/rooms?after=yesterday").await.assert_error(400);
    app.get("/v2/rooms?enabled=maybe").await.assert_error(400);
}

#[tokio::test]
async fn concurrent_creates_of_one_name_make_one_room() {
    let app = std::sync::Arc::new(app().await);
    let mut tasks = Vec::new();
    for i in 0..40 {
        let app = app.clone();
        tasks.push(tokio::spawn(async move {
            // Half claim the same name (in varying case), half a name of their own.
            let name = if i % 2 == 0 {
                (if i % 4 == 0 { "same" } else { "SAME" }).to_owned()
            } else {
                format!("own-{i}")
            };
            app.post("/v2/rooms", json!({ "name": name })).await.ok()
        }));
    }
    let mut same = std::collections::BTreeSet::new();
    let mut own = std::collections::BTreeSet::new();
    for (i, t) in tasks.into_iter().enumerate() {
        let r = t.await.unwrap();
        if i % 2 == 0 {
            same.insert(r["id"].as_str().unwrap().to_owned());
        } else {
            own.insert(r["id"].as_str().unwrap().to_owned());
        }
    }
    assert_eq!(same.len(), 1);
    assert_eq!(own.len(), 20);
    let all = app.get("/v2/rooms?limit=100").await.ok();
    assert_eq!(all["data"].as_array().unwrap().len(), 21);
    // One default template, however many rooms raced to create it.
    let templates = app.get("/v2/templates").await.ok();
    assert_eq!(templates["data"].as_array().unwrap().len(), 1);
}
