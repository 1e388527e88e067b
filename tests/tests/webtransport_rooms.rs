//! WebTransport peers (the Rust SDK dialling like a browser: HTTP/3, an
//! extended CONNECT to `/wt`, the certificate pinned by its hash) in rooms
//! of a real `caucus serve`, on the same UDP port as native QUIC
//! (docs/quic-protocol.md §1): a WebTransport peer and a native peer
//! exchange audio and video, a CONNECT to another path gets 404, and a bad
//! token closes the session with UNAUTHORIZED.

use std::time::Duration;

use caucus_sdk::error::SdkError;
use caucus_sdk::quic::{Dial, QuicInit, connect_webtransport, session_close};
use caucus_sdk::{JoinOptions, QuicClient, TrackKind};
use caucus_tests::notifications::Notifications;
use caucus_tests::served::{Served, http};
use caucus_transport_quic::codec::encode_message;
use serde_json::{Value, json};

fn roles() -> Value {
    let both = json!({
        "publishParams": { "allowed": ["audio", "video"] },
        "subscribeParams": { "subscribeToRoles": ["guest"] },
    });
    json!({ "guest": both })
}

fn server() -> Served {
    Served::start(&["--quic", "127.0.0.1:0"])
}

/// `/init`'s quic object for a guest of `room`.
fn init(server: &Served, room: &str) -> (Value, QuicInit) {
    let token = server.app_token(room, "guest", "mallory");
    let addr = server.base_url().trim_start_matches("http://").to_owned();
    let (status, init) = http(&addr, "GET", "/init?peer_id=x", Some(&token), None);
    assert_eq!(status, 200, "{init}");
    let q = QuicInit::from_init(&init).expect("quic in /init");
    (init, q)
}

struct Peer {
    client: QuicClient,
    _told: Notifications,
}

async fn join(server: &Served, room: &str, user: &str, dial: Dial) -> Peer {
    let mut opts = JoinOptions::new(server.base_url(), server.app_token(room, "guest", user));
    opts.name = user.to_owned();
    let (client, events) = QuicClient::join_dial(opts, None, dial)
        .await
        .unwrap_or_else(|e| panic!("{user} joins over {dial:?}: {e}"));
    Peer {
        client,
        _told: Notifications::new(events),
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
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webtransport_and_native_peers_exchange_audio_and_video() {
    let server = server();
    let room = server.room_with_roles("wt-media", roles());
    let (raw, q) = init(&server, &room);
    assert_eq!(
        raw["quic"]["webtransport"],
        format!("https://{}/wt", q.addr),
        "/init names the session URL on the QUIC port: {raw}"
    );

    let native = join(&server, &room, "alice", Dial::Native).await;
    let web = join(&server, &room, "bob", Dial::WebTransport).await;
    assert_eq!(web.client.hello["datagrams"], true, "{}", web.client.hello);
    let n_audio = native
        .client
        .publish(TrackKind::Audio)
        .await
        .expect("audio");
    let n_video = native
        .client
        .publish(TrackKind::Video)
        .await
        .expect("video");
    let w_audio = web.client.publish(TrackKind::Audio).await.expect("audio");
    let w_video = web.client.publish(TrackKind::Video).await.expect("video");

    web.receives(&n_audio, 25).await;
    web.receives(&n_video, 30).await;
    native.receives(&w_audio, 25).await;
    native.receives(&w_video, 30).await;
    // Audio travels as datagrams both ways (inside WebTransport with its
    // session prefix), video as group streams starting at keyframes.
    for (who, audio, video) in [(&web, &n_audio, &n_video), (&native, &w_audio, &w_video)] {
        let heard = who.client.track_stats(audio).expect("audio stats");
        assert!(heard.datagrams > 0, "{heard:?}");
        let seen = who.client.track_stats(video).expect("video stats");
        assert_eq!(seen.datagrams, 0, "{seen:?}");
        assert!(seen.groups > 0, "{seen:?}");
        assert_eq!(seen.groups_without_keyframe, 0, "{seen:?}");
    }

    web.client.leave().await;
    native.client.leave().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connect_to_another_path_gets_404_and_wt_still_serves() {
    let server = server();
    let room = server.room_with_roles("wt-404", roles());
    let (_, q) = init(&server, &room);
    for path in ["/", "/other", "/wt/x", "/ws"] {
        let url = format!("https://{}{path}", q.addr);
        match connect_webtransport(&q, &url).await {
            Err(SdkError::WebTransportRefused { status }) => assert_eq!(status, 404, "{path}"),
            Err(e) => panic!("{path}: {e}"),
            Ok(_) => panic!("{path}: a session opened"),
        }
    }
    let peer = join(&server, &room, "carol", Dial::WebTransport).await;
    assert_eq!(peer.client.hello["version"], 1);
    peer.client.leave().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_token_over_webtransport_closes_with_unauthorized() {
    let server = server();
    let room = server.room_with_roles("wt-token", roles());
    let (_, q) = init(&server, &room);
    for (what, token) in [
        ("forged", "not.a.token".to_owned()),
        ("expired", server.expired_app_token(&room, "guest")),
    ] {
        let url = q.webtransport.clone().expect("webtransport in /init");
        let (_endpoint, session) = connect_webtransport(&q, &url).await.expect("session");
        let (mut send, _recv) = session.open_bi().await.expect("control stream");
        let hello = json!({ "jsonrpc": "2.0", "id": 1, "method": "hello", "params": {
            "protocol": "caucus", "version": 1, "token": token,
            "peer": "00000000-0000-4000-8000-000000000001" } });
        let mut framed = Vec::new();
        encode_message(&hello.to_string(), &mut framed).unwrap();
        send.write_all(&framed).await.expect("write hello");
        let why = tokio::time::timeout(Duration::from_secs(5), session.closed())
            .await
            .unwrap_or_else(|_| panic!("{what}: the server closes the session"));
        let code = session_close(&why).map(|(c, _)| c);
        assert_eq!(code, Some(0x12), "{what}: {why}");
    }
}
