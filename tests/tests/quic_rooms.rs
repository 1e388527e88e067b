//! Rust SDK peers in rooms of a real `caucus serve` over QUIC
//! (docs/quic-protocol.md), on 127.0.0.1: media flows by the forwarding
//! plan as group streams, the control stream runs the same signalling as
//! the WebSocket (permissions, mute, role changes), and bad input is
//! refused with the documented codes while the room carries on.

use std::time::{Duration, Instant};

use caucus_sdk::quic::{QuicInit, close_code, connect, connect_alpn};
use caucus_sdk::{JoinOptions, QuicClient, TrackKind};
use caucus_tests::notifications::Notifications;
use caucus_tests::served::{Served, http};
use caucus_transport_quic::codec::{GroupHeader, Object, encode_message, varint};
use serde_json::{Value, json};

fn roles() -> Value {
    let all = json!({
        "endRoom": true, "removeOthers": true, "mute": true, "unmute": true, "changeRole": true
    });
    json!({
        "host": {
            "publishParams": { "allowed": ["audio", "video"] },
            "subscribeParams": { "subscribeToRoles": ["host", "guest"] },
            "permissions": all,
        },
        "guest": {
            "publishParams": { "allowed": ["audio", "video"] },
            "subscribeParams": { "subscribeToRoles": ["host", "guest"] },
        },
        "viewer": {
            "publishParams": { "allowed": [] },
            "subscribeParams": { "subscribeToRoles": ["host", "guest"] },
        },
        "blind": {
            "publishParams": { "allowed": [] },
            "subscribeParams": { "subscribeToRoles": [] },
        },
    })
}

struct Peer {
    client: QuicClient,
    told: Notifications,
}

async fn join(server: &Served, room: &str, role: &str, user: &str) -> Peer {
    let token = server.app_token(room, role, user);
    let mut opts = JoinOptions::new(server.base_url(), token);
    opts.name = user.to_owned();
    let (client, events) = QuicClient::join(opts).await.expect("join over QUIC");
    Peer {
        client,
        told: Notifications::new(events),
    }
}

impl Peer {
    fn objects(&self, track: &str) -> u64 {
        self.client.track_stats(track).map_or(0, |s| s.objects)
    }

    /// Waits (≤ 10 s) until `track`'s received object count reaches `n`.
    async fn receives(&self, track: &str, n: u64) {
        caucus_tests::count_reaches(track, "objects", n, Duration::from_millis(20), || {
            self.objects(track)
        })
        .await;
    }

    /// Asserts the count stands still (after what was in flight landed).
    async fn stopped(&self, track: &str) -> u64 {
        tokio::time::sleep(Duration::from_millis(400)).await;
        let at = self.objects(track);
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert_eq!(self.objects(track), at, "track {track} still flows");
        at
    }

    fn id(&self) -> String {
        self.client.peer_id().to_owned()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_quic_peers_exchange_media_and_mute_stops_it() {
    let mut server = Server::new();
    let room = server.0.room_with_roles("quic-media", roles());
    let a = join(&server.0, &room, "host", "alice").await;
    let audio = a
        .client
        .publish(TrackKind::Audio)
        .await
        .expect("publish audio");
    let video = a
        .client
        .publish(TrackKind::Video)
        .await
        .expect("publish video");
    // Bob joins late: his first video group must start at a keyframe.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let joined = Instant::now();
    let mut b = join(&server.0, &room, "guest", "bob").await;
    let list = b.told.notified("peer-list", |_| true).await;
    assert!(
        list["peers"][a.id()]["tracks"][&video].is_object(),
        "{list}"
    );
    b.told
        .notified("media-track", |p| {
            p["track_id"] == video.as_str() && p["codec"] == "vp8"
        })
        .await;
    b.receives(&video, 1).await;
    println!("join → first video object: {:?}", joined.elapsed());
    b.receives(&audio, 25).await;
    b.receives(&video, 30).await;
    // Audio travels as datagrams (both sides take them), video on streams.
    let heard = b.client.track_stats(&audio).expect("audio stats");
    assert_eq!(heard.datagrams, heard.objects, "{heard:?}");
    assert_eq!(b.client.track_stats(&video).expect("video").datagrams, 0);
    let stats = b.client.track_stats(&video).expect("video stats");
    assert_eq!(stats.groups_without_keyframe, 0, "{stats:?}");

    // And the other way.
    let mic = b
        .client
        .publish(TrackKind::Audio)
        .await
        .expect("bob publishes");
    a.receives(&mic, 25).await;

    a.client.set_muted(&video, true).await.expect("mute");
    b.told
        .notified("on-track-update", |p| p["tracks"][&video]["mute"] == true)
        .await;
    let muted_at = b.stopped(&video).await;
    let audio_now = b.objects(&audio);
    b.receives(&audio, audio_now + 10).await;

    a.client.set_muted(&video, false).await.expect("unmute");
    b.told
        .notified("on-track-update", |p| p["tracks"][&video]["mute"] == false)
        .await;
    b.receives(&video, muted_at + 20).await;
    let stats = b.client.track_stats(&video).expect("video stats");
    assert_eq!(stats.groups_without_keyframe, 0, "{stats:?}");

    b.client.leave().await;
    a.client.leave().await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        server.0.room_events(&room),
        [
            "RoomCreated",
            "SessionOpened",
            "PeerJoined",
            "TrackPublished",
            "TrackPublished",
            "PeerJoined",
            "TrackPublished",
            "TrackMuted",
            "TrackUnmuted",
            "PeerLeft",
            "PeerLeft",
            "SessionClosed",
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permissions_and_role_changes_apply_as_on_webrtc() {
    let server = Server::new();
    let room = server.0.room_with_roles("quic-perms", roles());
    let host = join(&server.0, &room, "host", "host").await;
    let guest = join(&server.0, &room, "guest", "guest").await;
    let mut viewer = join(&server.0, &room, "viewer", "viewer").await;

    // A role that may not publish is refused; SDP methods do not exist here.
    let e = viewer
        .client
        .publish(TrackKind::Audio)
        .await
        .expect_err("viewer publishes");
    assert_eq!(e.rpc_code(), Some(403), "{e}");
    for m in ["offer", "hello"] {
        let e = guest.client.call(m, json!({})).await.expect_err(m);
        assert_eq!(e.code(), Some(-32601), "{m}: {e}");
    }
    // Without `endRoom`, `removeOthers`, `changeRole`: refused.
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

    // A role change re-plans at once: the viewer made blind stops receiving.
    let video = host
        .client
        .publish(TrackKind::Video)
        .await
        .expect("host publishes");
    viewer.receives(&video, 10).await;
    host.client
        .call(
            "role-change-request",
            json!({ "requested_for": viewer.id(), "role": "blind", "force": true }),
        )
        .await
        .expect("host changes the viewer's role");
    viewer.told.notified("media-track-end", |_| true).await;
    viewer.stopped(&video).await;
    // The guest still receives.
    let n = guest.objects(&video);
    guest.receives(&video, n + 10).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_refused_with_its_code_and_the_room_carries_on() {
    let server = Server::new();
    let room = server.0.room_with_roles("quic-bad", roles());
    let a = join(&server.0, &room, "host", "alice").await;
    let video = a.client.publish(TrackKind::Video).await.expect("publish");
    let b = join(&server.0, &room, "guest", "bob").await;
    b.receives(&video, 10).await;
    let c = join(&server.0, &room, "guest", "carol").await;
    let conn = c.client.connection().clone();

    // Stream-level errors reset the stream; the connection stays.
    let mut header = Vec::new();
    GroupHeader {
        alias: 99,
        group: 0,
        priority: 128,
    }
    .encode(&mut header)
    .unwrap();
    let mut huge = Vec::new();
    let mine = c
        .client
        .publish(TrackKind::Video)
        .await
        .expect("carol publishes");
    let _ = mine;
    GroupHeader {
        alias: 0,
        group: 0,
        priority: 128,
    }
    .encode(&mut huge)
    .unwrap();
    varint::encode(5 << 20, &mut huge).unwrap();
    for (what, bytes, code) in [
        ("unknown stream type", vec![0x11, 0, 0, 0], 0x2),
        ("undeclared alias", header, 0x3),
        ("oversized object", huge, 0x4),
    ] {
        let mut s = conn.open_uni().await.expect("open");
        s.write_all(&bytes).await.expect("write");
        let stopped = tokio::time::timeout(Duration::from_secs(5), s.stopped())
            .await
            .unwrap_or_else(|_| panic!("{what}: not stopped"))
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(stopped.map(|c| c.into_inner()), Some(code), "{what}");
    }
    // JSON-RPC errors do not close the connection.
    let e = c
        .client
        .call("no-such-method", json!({}))
        .await
        .expect_err("unknown");
    assert_eq!(e.code(), Some(-32601));
    assert!(c.client.send_raw("{not json".into()).await);
    let e = c.client.call("ping", json!({ "timestamp": 1 })).await;
    assert!(e.is_ok(), "the connection survives bad JSON: {e:?}");

    // A truncated object closes the connection with PROTOCOL_VIOLATION.
    let mut s = conn.open_uni().await.expect("open");
    let mut bytes = Vec::new();
    GroupHeader {
        alias: 0,
        group: 1,
        priority: 128,
    }
    .encode(&mut bytes)
    .unwrap();
    Object {
        timestamp: 0,
        keyframe: true,
        payload: vec![1; 10].into(),
    }
    .encode(&mut bytes)
    .unwrap();
    bytes.truncate(bytes.len() - 3);
    s.write_all(&bytes).await.expect("write");
    s.finish().expect("finish");
    let why = tokio::time::timeout(Duration::from_secs(5), conn.closed())
        .await
        .expect("closed");
    assert_eq!(close_code(&why), Some(0x10), "{why}");

    // Through all of it Bob kept receiving Alice.
    let n = b.objects(&video);
    b.receives(&video, n + 20).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_connections_and_stream_floods_leave_the_room_healthy() {
    let server = Server::new();
    let room = server.0.room_with_roles("quic-refusals", roles());
    let a = join(&server.0, &room, "host", "alice").await;
    let video = a.client.publish(TrackKind::Video).await.expect("publish");
    let b = join(&server.0, &room, "guest", "bob").await;
    b.receives(&video, 10).await;

    // Connection-level refusals.
    let init = quic_init(&server.0, &room);
    let first_not_hello = raw(
        &init,
        &[r#"{"jsonrpc":"2.0","id":1,"method":"join","params":{}}"#
            .as_bytes()
            .to_vec()],
    )
    .await;
    assert_eq!(first_not_hello, Some(0x10));
    let mut big = Vec::new();
    varint::encode((1 << 20) + 1, &mut big).unwrap();
    assert_eq!(raw(&init, &[big]).await, Some(0x11));
    let mut forged = Vec::new();
    let hello = json!({ "jsonrpc": "2.0", "id": 1, "method": "hello", "params": {
        "protocol": "caucus", "version": 1, "token": "not.a.token",
        "peer": "00000000-0000-4000-8000-000000000001" } });
    encode_message(&hello.to_string(), &mut forged).unwrap();
    assert_eq!(raw(&init, &[forged]).await, Some(0x12));

    let mut expired = Vec::new();
    let hello = json!({ "jsonrpc": "2.0", "id": 1, "method": "hello", "params": {
        "protocol": "caucus", "version": 1, "token": server.0.expired_app_token(&room, "guest"),
        "peer": "00000000-0000-4000-8000-000000000002" } });
    encode_message(&hello.to_string(), &mut expired).unwrap();
    assert_eq!(raw(&init, &[expired]).await, Some(0x12));
    // Another major version: no ALPN in common, no connection.
    assert!(connect_alpn(&init, b"caucus/2").await.is_err());

    // A client that opens far more group streams than allowed is held back
    // by flow control (256 at once), not served without bound; the room
    // carries on.
    let c = join(&server.0, &room, "guest", "carol").await;
    let conn = c.client.connection().clone();
    let mut opened = Vec::new();
    let flood = async {
        for _ in 0..2_000 {
            opened.push(conn.open_uni().await.expect("open"));
        }
    };
    let blocked = tokio::time::timeout(Duration::from_secs(2), flood).await;
    assert!(blocked.is_err(), "2,000 streams opened at once");
    assert!(opened.len() <= 256, "{} streams opened", opened.len());

    // A malformed datagram (a varint cut short) closes the connection.
    let d = join(&server.0, &room, "guest", "dave").await;
    let conn = d.client.connection().clone();
    conn.send_datagram(vec![0x40].into())
        .expect("send a datagram");
    let why = tokio::time::timeout(Duration::from_secs(5), conn.closed())
        .await
        .expect("closed");
    assert_eq!(close_code(&why), Some(0x10), "{why}");

    let n = b.objects(&video);
    b.receives(&video, n + 20).await;
}

/// Opens a connection, writes `chunks` on its control stream, and returns
/// the server's close code.
async fn raw(init: &QuicInit, chunks: &[Vec<u8>]) -> Option<u64> {
    let (_endpoint, conn, mut send, _recv) = connect(init).await.expect("connect");
    for c in chunks {
        if c.first().is_some_and(|b| *b == b'{') {
            let mut framed = Vec::new();
            encode_message(std::str::from_utf8(c).unwrap(), &mut framed).unwrap();
            let _ = send.write_all(&framed).await;
        } else {
            let _ = send.write_all(c).await;
        }
    }
    let why = tokio::time::timeout(Duration::from_secs(5), conn.closed())
        .await
        .expect("the server closes the connection");
    close_code(&why)
}

fn quic_init(server: &Served, room: &str) -> QuicInit {
    let token = server.app_token(room, "guest", "mallory");
    let addr = server.base_url().trim_start_matches("http://").to_owned();
    let (status, init) = http(&addr, "GET", "/init?peer_id=x", Some(&token), None);
    assert_eq!(status, 200, "{init}");
    QuicInit::from_init(&init).expect("quic in /init")
}

/// A served binary (`--quic` on a free loopback port, the default).
struct Server(Served);

impl Server {
    fn new() -> Self {
        Self(Served::start(&["--quic", "127.0.0.1:0"]))
    }
}
