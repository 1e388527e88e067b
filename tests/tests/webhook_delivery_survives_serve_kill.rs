//! kill -9 a real `caucus serve --dev` in the middle of webhook deliveries,
//! restart it on the same data directory: every webhook the log calls for is
//! delivered at least once, none is missing, none is invented, and per room
//! the first deliveries come in the room's order.
//!
//! Peers join and leave rooms through the Rust SDK (the real client
//! protocol). The receiver, a small HTTP/1.1 server in this process, answers
//! the first `ANSWER_BEFORE_KILL` requests and then drops every connection
//! without an answer, so at the kill some webhooks are delivered, some are in
//! retry and the rest are queued. After the restart it answers everything.
//! What was expected is read from the log itself once the server has stopped.
//! The first room has a Room API webhook override (to another path of the
//! same receiver): its webhooks go there, and only there, across the kill.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use caucus_sdk::{Client, JoinOptions};
use caucus_tests::served::Served;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

const ROOMS: usize = 5;
const CYCLES: usize = 3;
const ANSWER_BEFORE_KILL: usize = 12;
/// The room events that become standard webhooks (an endpoint's default filter).
const WEBHOOK_EVENTS: &[&str] = &[
    "SessionOpened",
    "SessionClosed",
    "PeerJoined",
    "PeerLeft",
    "RoleChanged",
    "RoomEnded",
    "PeerJoinFailed",
    "RoleChangeFailed",
];

/// The receiver's shared state.
#[derive(Default)]
struct Receiver {
    /// Bodies of the requests answered 200, in answer order, each with the
    /// request's path under `"path"`.
    answered: Mutex<Vec<Value>>,
    /// While set, requests beyond the quota are dropped unanswered.
    holding: AtomicBool,
}

impl Receiver {
    fn answered(&self) -> Vec<Value> {
        self.answered.lock().unwrap().clone()
    }
}

/// Serves HTTP/1.1 with keep-alive on 127.0.0.1; returns the hook URL.
async fn receiver(state: Arc<Receiver>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move {
        loop {
            let Ok((socket, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(connection(socket, state.clone()));
        }
    });
    url
}

async fn connection(socket: tokio::net::TcpStream, state: Arc<Receiver>) {
    let (read, mut write) = socket.into_split();
    let mut read = BufReader::new(read);
    loop {
        let mut length = 0usize;
        let mut line = String::new();
        let mut path = None;
        let mut x_room = None;
        loop {
            line.clear();
            if read.read_line(&mut line).await.unwrap_or(0) == 0 {
                return; // the sender closed (or died)
            }
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            if path.is_none() {
                path = l.split_whitespace().nth(1).map(str::to_owned);
            }
            if let Some((k, v)) = l.split_once(':') {
                if k.eq_ignore_ascii_case("content-length") {
                    length = v.trim().parse().unwrap_or(0);
                } else if k.eq_ignore_ascii_case("x-room") {
                    x_room = Some(v.trim().to_owned());
                }
            }
        }
        let mut body = vec![0u8; length];
        if read.read_exact(&mut body).await.is_err() {
            return;
        }
        let Ok(mut value) = serde_json::from_slice::<Value>(&body) else {
            return;
        };
        value["path"] = json!(path);
        value["x_room"] = json!(x_room);
        {
            let mut answered = state.answered.lock().unwrap();
            if state.holding.load(Ordering::SeqCst) && answered.len() >= ANSWER_BEFORE_KILL {
                return; // drop the connection: the sender sees a failed attempt
            }
            answered.push(value);
        }
        let reply = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";
        if write.write_all(reply).await.is_err() {
            return;
        }
    }
}

async fn until(what: &str, limit: Duration, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// One peer joins the room alone and leaves: session open, join, leave,
/// session close.
async fn visit(base: String, token: String, user: String) {
    let mut opts = JoinOptions::new(base, token);
    opts.name = user;
    let (client, _events) = Client::join(opts).await.expect("join");
    client.leave().await.expect("leave");
}

/// `(log position, webhook type)` of an answered body.
fn key(v: &Value) -> (u64, String) {
    (
        v["caucus"]["log_position"].as_u64().expect("log_position"),
        v["type"].as_str().expect("type").to_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_webhook_arrives_in_room_order_after_kill_9() {
    let state = Arc::new(Receiver::default());
    state.holding.store(true, Ordering::SeqCst);
    let url = receiver(state.clone()).await;

    let mut server = Served::start(&[]);
    let (status, endpoint) = server.call(
        "POST",
        "/v2/webhooks/endpoints",
        Some(&json!({ "url": url })),
    );
    assert_eq!(status, 200, "endpoint: {endpoint}");
    let endpoint_id = endpoint["id"].as_str().unwrap().to_owned();
    let override_url = url.replace("/hook", "/room-override");
    let rooms: Vec<String> = (0..ROOMS)
        .map(|i| {
            let mut body = json!({ "name": format!("kill-{i}") });
            if i == 0 {
                body["webhook"] = json!({ "url": override_url, "headers": { "X-Room": "zero" } });
            }
            let (status, room) = server.call("POST", "/v2/rooms", Some(&body));
            assert_eq!(status, 200, "room: {room}");
            room["id"].as_str().unwrap().to_owned()
        })
        .collect();

    // Rooms in parallel, visits in each room one after another.
    let mut tasks = Vec::new();
    for (i, room) in rooms.iter().enumerate() {
        let tokens: Vec<String> = (0..CYCLES)
            .map(|c| server.app_token(room, "host", &format!("u{i}-{c}")))
            .collect();
        let base = server.base_url();
        tasks.push(tokio::spawn(async move {
            for (c, token) in tokens.into_iter().enumerate() {
                visit(base.clone(), token, format!("u{i}-{c}")).await;
            }
        }));
    }
    for t in tasks {
        t.await.expect("visits");
    }
    let per_run = ROOMS * CYCLES * 4;
    until(
        "the quota of answered webhooks",
        Duration::from_secs(30),
        || state.answered().len() >= ANSWER_BEFORE_KILL,
    )
    .await;
    server.kill_9();
    let before = state.answered();
    assert_eq!(before.len(), ANSWER_BEFORE_KILL);
    assert!(before.len() < per_run, "the kill came before the end");

    // Restart on the same data directory; the receiver now answers all.
    state.holding.store(false, Ordering::SeqCst);
    server.restart(&[]);
    // Live traffic after the restart is delivered too.
    let token = server.app_token(&rooms[0], "host", "after");
    visit(server.base_url(), token, "after".into()).await;
    let total = per_run + 4;
    until(
        "every webhook after the restart",
        Duration::from_secs(60),
        || {
            state
                .answered()
                .iter()
                .map(key)
                .collect::<BTreeSet<_>>()
                .len()
                >= total
        },
    )
    .await;
    // The consumer's checkpoint catches up too (nothing left in flight).
    until("the checkpoint", Duration::from_secs(10), || {
        let (_, e) = server.call(
            "GET",
            &format!("/v2/webhooks/endpoints/{endpoint_id}"),
            None,
        );
        let max = state.answered().iter().map(|v| key(v).0).max().unwrap();
        e["consumer"]["checkpoint"]
            .as_u64()
            .is_some_and(|c| c >= max)
    })
    .await;

    let log = server.log_events();
    let answered = state.answered();
    // Expected: every room event that maps to a standard webhook.
    let expected: BTreeMap<u64, (String, u64)> = log
        .iter()
        .filter(|e| e.stream.as_str().starts_with("room-"))
        .filter(|e| WEBHOOK_EVENTS.contains(&e.event_type.as_str()))
        .map(|e| (e.position.0, (e.stream.as_str().to_owned(), e.revision)))
        .collect();
    assert_eq!(expected.len(), total, "the log holds what the peers did");
    let delivered: BTreeSet<u64> = answered.iter().map(|v| key(v).0).collect();
    let missing: Vec<_> = expected.keys().filter(|p| !delivered.contains(p)).collect();
    assert!(missing.is_empty(), "never delivered: positions {missing:?}");
    let invented: Vec<_> = delivered
        .iter()
        .filter(|p| !expected.contains_key(p))
        .collect();
    assert!(
        invented.is_empty(),
        "not in the log: positions {invented:?}"
    );
    // Every body agrees with the log about its room and sequence.
    for v in &answered {
        let (stream, revision) = &expected[&key(v).0];
        assert_eq!(v["caucus"]["room_sequence"].as_u64(), Some(*revision));
        assert_eq!(
            format!("room-{}", v["data"]["room_id"].as_str().unwrap()),
            *stream
        );
    }
    // The overridden room's webhooks went to its override only.
    for v in &answered {
        let overridden = v["data"]["room_id"] == rooms[0].as_str();
        let want = if overridden {
            "/room-override"
        } else {
            "/hook"
        };
        assert_eq!(v["path"], want, "{}", v["data"]["room_id"]);
        // The override's custom header came with it, and only with it.
        let header = if overridden {
            json!("zero")
        } else {
            Value::Null
        };
        assert_eq!(v["x_room"], header);
    }
    // Per room, first deliveries come in room order.
    let mut seen = BTreeSet::new();
    let mut last: BTreeMap<String, u64> = BTreeMap::new();
    for v in &answered {
        let k = key(v);
        if !seen.insert(k.clone()) {
            continue; // a redelivery after the restart (at-least-once)
        }
        let (stream, revision) = &expected[&k.0];
        if let Some(prev) = last.insert(stream.clone(), *revision) {
            assert!(
                prev < *revision,
                "{stream}: {revision} delivered after {prev}"
            );
        }
    }
    let duplicates = answered.len() - seen.len();
    println!(
        "{} webhooks expected, {} requests answered ({} before the kill, {duplicates} redelivered)",
        total,
        answered.len(),
        before.len()
    );
}
