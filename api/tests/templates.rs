//! Templates: create (same name overwrites), list, get, whole-object update,
//! roles, settings and destinations.

mod common;

use common::*;
use serde_json::json;

fn role(name: &str) -> serde_json::Value {
    json!({
        "name": name,
        "publishParams": {"allowed": ["audio", "video"], "audio": {"bitRate": 32, "codec": "opus"}},
        "subscribeParams": {"subscribeToRoles": [name], "maxSubsBitRate": 3200},
        "permissions": {"endRoom": true},
        "priority": 1,
        "maxPeerCount": 0
    })
}

#[tokio::test]
async fn create_get_list_and_same_name_overwrites() {
    let app = app().await;
    let t = app
        .post(
            "/v2/templates",
            json!({"name": "webinar", "roles": {"speaker": role("speaker")}}),
        )
        .await
        .ok();
    let id = t["id"].as_str().unwrap();
    assert_eq!(id.len(), 24);
    assert_eq!(t["name"], "webinar");
    assert_eq!(t["customer_id"], app.a.id);
    assert_eq!(
        t["roles"]["speaker"]["publishParams"]["allowed"],
        json!(["audio", "video"])
    );
    assert_eq!(t["roles"]["speaker"]["permissions"]["endRoom"], true);
    assert_eq!(t["settings"]["region"], "auto");
    let again = app
        .post(
            "/v2/templates",
            json!({"name": "webinar", "roles": {"viewer": {}}}),
        )
        .await
        .ok();
    assert_eq!(again["id"], t["id"]);
    assert!(again["roles"]["viewer"].is_object());
    assert!(again["roles"].get("speaker").is_none());
    let got = app.get(&format!("/v2/templates/{id}")).await.ok();
    assert_eq!(got["roles"], again["roles"]);
    let list = app.get("/v2/templates").await.ok();
    assert_eq!(list["data"].as_array().unwrap().len(), 1);
    assert_eq!(list["last"], t["id"]);
    app.get("/v2/templates/65f0c2a1b2c3d4e5f6a7b8c9")
        .await
        .assert_error(404);
}

#[tokio::test]
async fn update_needs_the_whole_object_and_refuses_a_taken_name() {
    let app = app().await;
    let t = app.post("/v2/templates", json!({"name": "a"})).await.ok();
    app.post("/v2/templates", json!({"name": "b"})).await.ok();
    let id = t["id"].as_str().unwrap();
    let before = app.events().await;
    app.post(&format!("/v2/templates/{id}"), json!({"roles": {}}))
        .await
        .assert_error(400);
    app.post(&format!("/v2/templates/{id}"), json!({"settings": {}}))
        .await
        .assert_error(400);
    app.post(
        &format!("/v2/templates/{id}"),
        json!({"name": "b", "roles": {}, "settings": {}}),
    )
    .await
    .assert_error(409);
    assert_eq!(app.events().await, before);
    let u = app
        .post(&format!("/v2/templates/{id}"), json!({"name": "a2", "roles": {"x": role("x")}, "settings": {"region": "eu"}, "destinations": {"rtmpDestinations": {}}}))
        .await
        .ok();
    assert_eq!(u["name"], "a2");
    assert_eq!(u["settings"]["region"], "eu");
    assert_eq!(u["destinations"], json!({"rtmpDestinations": {}}));
    assert_eq!(u["roles"].as_object().unwrap().len(), 1);
}

#[tokio::test]
async fn out_of_range_role_values_are_refused_with_their_path() {
    let app = app().await;
    let mut bad = role("host");
    bad["publishParams"]["video"] = json!({"frameRate": 60});
    let r = app
        .post(
            "/v2/templates",
            json!({"name": "x", "roles": {"host": bad}}),
        )
        .await;
    let v = r.assert_error(400);
    assert!(
        v["details"][0].as_str().unwrap().contains("frameRate"),
        "{v}"
    );
    let mut mismatched = role("host");
    mismatched["name"] = json!("guest");
    app.post(
        "/v2/templates",
        json!({"name": "x", "roles": {"host": mismatched}}),
    )
    .await
    .assert_error(400);
    app.post("/v2/templates", json!({"name": "bad/name"}))
        .await
        .assert_error(400);
    app.post("/v2/templates", json!({"roles": []}))
        .await
        .assert_error(400);
    assert_eq!(app.events().await, 0);
}

#[tokio::test]
async fn roles_are_read_upserted_and_deleted() {
    let app = app().await;
    let t = app.post("/v2/templates", json!({"name": "t"})).await.ok();
    let id = t["id"].as_str().unwrap();
    let host = app
        .get(&format!("/v2/templates/{id}/roles/host"))
        .await
        .ok();
    assert_eq!(host["name"], "host");
    let r = app
        .post(&format!("/v2/templates/{id}/roles/stage"), role("stage"))
        .await
        .ok();
    assert_eq!(r["name"], "stage");
    assert_eq!(r["subscribeParams"]["maxSubsBitRate"], 3200);
    // A body without a name takes the path's.
    let r = app
        .post(
            &format!("/v2/templates/{id}/roles/backstage"),
            json!({"priority": 2}),
        )
        .await
        .ok();
    assert_eq!(r["priority"], 2);
    app.post(
        &format!("/v2/templates/{id}/roles/stage"),
        json!({"name": "other"}),
    )
    .await
    .assert_error(400);
    app.post(
        &format!("/v2/templates/{id}/roles/stage"),
        json!({"priority": 9}),
    )
    .await
    .assert_error(400);
    app.post(&format!("/v2/templates/{id}/roles/bad%20name"), json!({}))
        .await
        .assert_error(400);
    let d = app.delete(&format!("/v2/templates/{id}/roles/stage")).await;
    assert_eq!(d.status.as_u16(), 204);
    app.delete(&format!("/v2/templates/{id}/roles/stage"))
        .await
        .assert_error(404);
    app.get(&format!("/v2/templates/{id}/roles/stage"))
        .await
        .assert_error(404);
}

#[tokio::test]
async fn settings_and_destinations_are_read_and_replaced() {
    let app = app().await;
    let t = app.post("/v2/templates", json!({"name": "t"})).await.ok();
    let id = t["id"].as_str().unwrap();
    let s = app.get(&format!("/v2/templates/{id}/settings")).await.ok();
    assert_eq!(s["roomState"]["messageInterval"], 5);
    let s = app
        .post(
            &format!("/v2/templates/{id}/settings"),
            json!({"region": "us", "roomState": {"messageInterval": 10, "enabled": true}}),
        )
        .await
        .ok();
    assert_eq!(s["region"], "us");
    assert_eq!(s["roomState"]["messageInterval"], 10);
    app.post(
        &format!("/v2/templates/{id}/settings"),
        json!({"roomState": {"messageInterval": 7}}),
    )
    .await
    .assert_error(400);
    let d = app
        .get(&format!("/v2/templates/{id}/destinations"))
        .await
        .ok();
    assert_eq!(d, json!({}));
    let d = app
        .post(
            &format!("/v2/templates/{id}/destinations"),
            json!({"hlsDestinations": {"h": {"name": "h"}}}),
        )
        .await
        .ok();
    assert_eq!(d["hlsDestinations"]["h"]["name"], "h");
    app.post(&format!("/v2/templates/{id}/destinations"), json!([1]))
        .await
        .assert_error(400);
}
