//! Rust SDK peers in rooms of a real `caucus serve`, over real sockets on
//! 127.0.0.1: media flows by the forwarding plan, every request is checked
//! against the role on the server, and the log holds exactly what happened.

use std::time::{Duration, Instant};

use caucus_sdk::{Client, JoinOptions};
use caucus_tests::notifications::Notifications;
use caucus_tests::served::{Served, http};
use serde_json::{Value, json};

fn roles() -> Value {
    let all = json!({
        "endRoom": true, "removeOthers": true, "mute": true, "unmute": true, "changeRole": true
    });
    json!({
        "host": {
            "publishParams": { "allowed": ["audio", "video", "screen"] },
            "subscribeParams": { "subscribeToRoles": ["host", "guest"] },
            "permissions": all,
            "maxPeerCount": 1,
        },
        "guest": {
            "publishParams": { "allowed": ["audio", "video"] },
            "subscribeParams": { "subscribeToRoles": ["host", "guest"] },
        },
        "viewer": {
            "publishParams": { "allowed": [] },
            "subscribeParams": { "subscribeToRoles": ["host", "guest"] },
        },
    })
}

struct Peer {
    client: Client,
    told: Notifications,
}

async fn join(server: &Served, room: &str, role: &str, user: &str) -> Peer {
    let token = server.app_token(room, role, user);
    let mut opts = JoinOptions::new(server.base_url(), token);
    opts.name = user.to_owned();
    let (client, events) = Client::join(opts).await.expect("join");
    Peer {
        client,
        told: Notifications::new(events),
    }
}

impl Peer {
    fn packets(&self, track: &str) -> u64 {
        self.client
            .remote_track_stats(track)
            .map_or(0, |s| s.packets)
    }

    /// Waits (≤ 10 s) until `track`'s received packet count reaches `n`.
    async fn receives(&self, track: &str, n: u64) {
        caucus_tests::count_reaches(track, "packets", n, Duration::from_millis(50), || {
            self.packets(track)
        })
        .await;
    }

    fn id(&self) -> String {
        self.client.peer_id().to_owned()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_publisher_reaches_a_subscriber_and_mute_stops_its_packets() {
    let mut server = Served::start(&[]);
    let room = server.room_with_roles("media", roles());
    let a = join(&server, &room, "host", "alice").await;
    let audio = a.client.publish_audio().await.expect("publish audio");
    let video = a.client.publish_video().await.expect("publish video");
    let mut b = join(&server, &room, "guest", "bob").await;

    let list = b.told.notified("peer-list", |_| true).await;
    assert!(
        list["peers"][a.id()]["tracks"][&video].is_object(),
        "{list}"
    );
    b.receives(&audio, 20).await;
    b.receives(&video, 20).await;

    a.client.set_muted(&video, true).await.expect("mute");
    b.told
        .notified("on-track-update", |p| p["tracks"][&video]["mute"] == true)
        .await;
    // Packets in flight may still land; after that the count stands still.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let muted_at = b.packets(&video);
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(b.packets(&video), muted_at, "a muted track sends nothing");
    let audio_now = b.packets(&audio);
    b.receives(&audio, audio_now + 10).await;

    a.client.set_muted(&video, false).await.expect("unmute");
    b.told
        .notified("on-track-update", |p| p["tracks"][&video]["mute"] == false)
        .await;
    b.receives(&video, muted_at + 20).await;

    b.client.leave().await.expect("leave");
    a.client.leave().await.expect("leave");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        server.room_events(&room),
        [
            "RoomCreated",
            "SessionOpened",
            "PeerJoined",
            "TrackPublished",
            "TrackPublished",
            "PeerJoined",
            "TrackMuted",
            "TrackUnmuted",
            "PeerLeft",
            "PeerLeft",
            "SessionClosed",
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permissions_are_checked_on_the_server() {
    let mut server = Served::start(&[]);
    let room = server.room_with_roles("perms", roles());
    let host = join(&server, &room, "host", "host").await;
    let mut guest = join(&server, &room, "guest", "guest").await;
    let viewer = join(&server, &room, "viewer", "viewer").await;

    // A role that may not publish is refused.
    let e = viewer
        .client
        .publish_audio()
        .await
        .expect_err("viewer publishes");
    assert_eq!(e.rpc_code(), Some(403), "{e}");

    // Remote mute without the permission: refused; with it: applied.
    let mic = guest.client.publish_audio().await.expect("guest publishes");
    let host_mic = host.client.publish_audio().await.expect("host publishes");
    let e = guest
        .client
        .request_track_mute(&host.id(), &host_mic, "x", true)
        .await
        .expect_err("guest mutes host");
    assert_eq!(e.code(), Some(403), "{e}");
    host.client
        .request_track_mute(&guest.id(), &mic, "x", true)
        .await
        .expect("host mutes guest");
    guest
        .told
        .notified("on-track-update-request", |p| {
            p["mute"] == true && p["track_id"] == mic.as_str()
        })
        .await;
    // Without `endRoom`, `removeOthers`, `changeRole`: refused, nothing changes.
    for (method, params) in [
        ("end-room", json!({ "lock": false, "reason": "x" })),
        (
            "peer-leave-request",
            json!({ "requested_for": host.id(), "reason": "x" }),
        ),
        (
            "role-change-request",
            json!({ "requested_for": host.id(), "role": "viewer", "force": true }),
        ),
    ] {
        let e = guest.client.call(method, params).await.expect_err(method);
        assert_eq!(e.code(), Some(403), "{method}: {e}");
    }
    drop((host, guest, viewer));
    let events = server.room_events(&room);
    assert_eq!(
        events[..8],
        [
            "RoomCreated",
            "SessionOpened",
            "PeerJoined",
            "PeerJoined",
            "PeerJoined",
            "TrackPublished",
            "TrackPublished",
            "TrackMuted",
        ]
    );
    // The refused role change is on record (role.change.failure).
    assert_eq!(events[8], "RoleChangeFailed", "{events:?}");
    assert!(
        !events[9..]
            .iter()
            .any(|e| e != "PeerLeft" && e != "SessionClosed"),
        "{events:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_accept_of_a_role_change_is_on_record() {
    let mut server = Served::start(&[]);
    let room = server.room_with_roles("accept", roles());
    let host = join(&server, &room, "host", "host").await;
    let mut guest = join(&server, &room, "guest", "guest").await;
    // A request does not check the role's room; the accept does, and the
    // host role (maxPeerCount 1) is full.
    host.client
        .request_role_change(&guest.id(), "host", false)
        .await
        .expect("request");
    let req = guest
        .told
        .notified("on-role-change-request", |_| true)
        .await;
    let e = guest
        .client
        .accept_role_change(req["token"].as_str().unwrap(), "host")
        .await
        .expect_err("accept into a full role");
    assert!(e.code().is_some_and(|c| c >= 400), "{e}");
    // A token the room never issued is refused too, with nothing to record.
    let e = guest
        .client
        .accept_role_change(&uuid(), "host")
        .await
        .expect_err("accept of an unknown request");
    assert_eq!(e.code(), Some(404), "{e}");
    drop((host, guest));
    let events = server.room_events(&room);
    let roles: Vec<_> = events.iter().filter(|e| e.starts_with("Role")).collect();
    assert_eq!(
        roles,
        ["RoleChangeRequested", "RoleChangeFailed"],
        "{events:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn role_changes_by_request_and_by_force_replan_media() {
    let mut server = Served::start(&[]);
    let room = server.room_with_roles("roles", roles());
    let host = join(&server, &room, "host", "host").await;
    let mut guest = join(&server, &room, "guest", "guest").await;
    let guest_mic = guest.client.publish_audio().await.expect("publish");
    let mut host = host;
    host.receives(&guest_mic, 10).await;

    host.client
        .request_role_change(&guest.id(), "viewer", false)
        .await
        .expect("request");
    let req = guest
        .told
        .notified("on-role-change-request", |_| true)
        .await;
    assert_eq!(req["role"], "viewer");
    assert_eq!(req["requested_by"], host.id());
    guest
        .client
        .accept_role_change(req["token"].as_str().unwrap(), "viewer")
        .await
        .expect("accept");
    host.told
        .notified("on-peer-update", |p| p["role"] == "viewer")
        .await;
    // A viewer publishes nothing: its track is gone and its packets stop.
    host.told
        .notified("on-track-remove", |p| p["tracks"][&guest_mic].is_object())
        .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let stopped = host.packets(&guest_mic);
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(host.packets(&guest_mic), stopped);
    // As 100ms's SDK does on losing publish rights, the client dropped its
    // track (and stopped its sender) by itself.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !guest.client.published_tracks().await.is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the demoted client still publishes {:?}",
            guest.client.published_tracks().await
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(guest.client.send_stats(&guest_mic).await.is_none());

    host.client
        .request_role_change(&guest.id(), "guest", true)
        .await
        .expect("force");
    let gid = guest.id();
    guest
        .told
        .notified("on-peer-update", |p| {
            p["role"] == "guest" && p["peer_id"] == gid.as_str()
        })
        .await;
    // Publish rights are back; the first track after the change starts muted
    // (100ms's rule): the owner is told, and media flows once it unmutes.
    let mic = guest.client.publish_audio().await.expect("publish again");
    guest
        .told
        .notified("on-track-update-request", |p| {
            p["mute"] == true && p["track_id"] == mic.as_str()
        })
        .await;
    host.told
        .notified("on-track-add", |p| p["tracks"][&mic]["mute"] == true)
        .await;
    guest.client.set_muted(&mic, false).await.expect("unmute");
    host.receives(&mic, 10).await;
    drop((host, guest));
    let events = server.room_events(&room);
    let changes: Vec<_> = events
        .iter()
        .filter(|e| {
            e.starts_with("Role") || e.starts_with("Track") && e.as_str() != "TrackPublished"
        })
        .collect();
    assert_eq!(
        changes,
        [
            "RoleChangeRequested",
            "TrackUnpublished",
            "RoleChanged",
            "RoleChanged",
            "TrackUnmuted"
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removal_and_end_of_room_disconnect_peers() {
    let mut server = Served::start(&[]);
    let room = server.room_with_roles("ending", roles());
    let mut host = join(&server, &room, "host", "host").await;
    let mut guest = join(&server, &room, "guest", "guest").await;
    let mut other = join(&server, &room, "guest", "other").await;

    host.client
        .remove_peer(&guest.id(), "bye")
        .await
        .expect("remove");
    let req = guest.told.notified("on-peer-leave-request", |_| true).await;
    assert_eq!(
        (req["reason"].as_str(), req["room_end"].as_bool()),
        (Some("bye"), Some(false))
    );
    guest.told.closed().await;
    host.told
        .notified("on-peer-leave", |p| p["peer_id"] == guest.id())
        .await;

    host.client.end_room(true, "done").await.expect("end room");
    let req = other.told.notified("on-peer-leave-request", |_| true).await;
    assert_eq!(req["room_end"], true);
    other.told.closed().await;
    host.told.closed().await;

    // The room is locked: a new join is refused before the socket opens.
    let token = server.app_token(&room, "guest", "late");
    let (status, body) = http(&server.addr, "GET", "/init", Some(&token), None);
    assert_eq!(status, 403, "{body}");
    let events = server.room_events(&room);
    assert_eq!(
        events[5..],
        [
            "PeerLeft",
            "RoomEnded",
            "PeerLeft",
            "PeerLeft",
            "SessionClosed",
            "RoomDisabled"
        ][..events.len() - 5]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vanished_peer_leaves_after_the_grace_period() {
    let mut server = Served::start(&["--reconnect-grace", "2"]);
    let room = server.room_with_roles("grace", roles());
    let mut host = join(&server, &room, "host", "host").await;
    let guest = join(&server, &room, "guest", "guest").await;
    let gid = guest.id();
    drop(guest);
    let left = Instant::now();
    host.told
        .notified("on-peer-leave", |p| p["peer_id"] == gid.as_str())
        .await;
    assert!(
        left.elapsed() >= Duration::from_millis(1500),
        "left after {:?}",
        left.elapsed()
    );
    host.client.leave().await.expect("leave");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        server.room_events(&room),
        [
            "RoomCreated",
            "SessionOpened",
            "PeerJoined",
            "PeerJoined",
            "PeerLeft",
            "PeerLeft",
            "SessionClosed"
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_errors_and_changes_nothing() {
    let mut server = Served::start(&["--reconnect-grace", "1"]);
    let room = server.room_with_roles("bad", roles());

    // /init: no token, a forged token.
    let (status, body) = http(&server.addr, "GET", "/init", None, None);
    assert_eq!(status, 401, "{body}");
    let good = server.app_token(&room, "host", "u");
    let forged = format!("{}x", &good[..good.len() - 1]);
    let (status, body) = http(&server.addr, "GET", "/init", Some(&forged), None);
    assert_eq!((status, body["code"].as_u64()), (401, Some(401)), "{body}");
    let expired = server.expired_app_token(&room, "host");
    let (status, body) = http(&server.addr, "GET", "/init", Some(&expired), None);
    assert_eq!(status, 401, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("expired"),
        "{body}"
    );
    let mut opts = JoinOptions::new(server.base_url(), expired);
    opts.timeout = Duration::from_secs(5);
    let refused = Client::join(opts)
        .await
        .expect_err("an expired token joins");
    assert!(refused.to_string().contains("401"), "{refused}");
    let (status, init) = http(&server.addr, "GET", "/init", Some(&good), None);
    assert_eq!(status, 200, "{init}");
    assert!(
        init["endpoint"]
            .as_str()
            .unwrap()
            .starts_with("ws://127.0.0.1:")
    );
    assert!(
        init["policy"]["known_roles"]["viewer"].is_object(),
        "{init}"
    );

    let mut peer = join(&server, &room, "host", "host").await;
    // The host role holds one peer: a second host is refused, and on record.
    let second = Client::join(JoinOptions::new(
        server.base_url(),
        server.app_token(&room, "host", "second"),
    ))
    .await
    .expect_err("a second host joins");
    assert_eq!(second.rpc_code(), Some(409), "{second}");
    let c = peer.client.clone();
    let c = &c;
    let code = |r: Result<Value, caucus_sdk::RpcError>| r.expect_err("an error").code();
    assert_eq!(
        code(c.call("no-such-method", json!({})).await),
        Some(-32601)
    );
    assert_eq!(
        code(
            c.call(
                "offer",
                json!({ "desc": { "type": "offer", "sdp": "garbage" }, "tracks": {} })
            )
            .await
        ),
        Some(400)
    );
    assert_eq!(
        code(c.call("offer", json!({ "tracks": 5 })).await),
        Some(400)
    );
    assert_eq!(
        code(c.call("join", json!({ "name": "again" })).await),
        Some(409)
    );
    assert_eq!(
        code(
            c.call(
                "track-update-request",
                json!({ "requested_for": "not-a-peer", "track_id": "t", "mute": true })
            )
            .await
        ),
        Some(400)
    );
    assert_eq!(
        code(
            c.call(
                "peer-leave-request",
                json!({ "requested_for": uuid(), "reason": "" })
            )
            .await
        ),
        Some(404)
    );
    assert_eq!(
        code(
            c.call(
                "broadcast",
                json!({ "info": { "message": "x".repeat(5000), "type": "chat" } })
            )
            .await
        ),
        Some(400)
    );
    c.send_raw("{not json").expect("send");
    c.send_raw(r#"{"id":"z"}"#).expect("send");
    // The socket stays open and the room is unchanged.
    assert!(c.call("ping", json!({ "timestamp": 1 })).await.is_ok());
    // A frame over the limit (1 MiB) closes that socket, and only that one.
    let other = join(&server, &room, "guest", "other").await;
    other
        .client
        .send_raw(format!(
            r#"{{"method":"x","params":"{}"}}"#,
            "a".repeat(2 << 20)
        ))
        .expect("send");
    let mut other = other;
    other.told.closed().await;
    // It was a dropped socket, not a leave: the peer goes after the grace period.
    let oid = other.id();
    peer.told
        .notified("on-peer-leave", |p| p["peer_id"] == oid.as_str())
        .await;
    assert!(c.call("ping", json!({ "timestamp": 1 })).await.is_ok());
    c.broadcast_chat("hello").await;
    c.leave().await.expect("leave");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let events = server.room_events(&room);
    assert_eq!(
        events,
        [
            "RoomCreated",
            "SessionOpened",
            "PeerJoined",
            "PeerJoinFailed",
            "PeerJoined",
            "PeerLeft",
            "MessageBroadcast",
            "PeerLeft",
            "SessionClosed"
        ]
    );
}

fn uuid() -> String {
    "6f1c1e9e-3b7a-4c39-9d7e-2b9a51f0c001".into()
}

trait Chat {
    async fn broadcast_chat(&self, text: &str);
}

impl Chat for Client {
    async fn broadcast_chat(&self, text: &str) {
        self.call(
            "broadcast",
            json!({ "info": { "message": text, "type": "chat" } }),
        )
        .await
        .expect("broadcast");
    }
}
