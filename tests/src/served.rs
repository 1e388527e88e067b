//! A `caucus serve` process on a scratch data directory, with tokens and REST
//! calls for the end-to-end tests, and the room's log once it has stopped.

use std::io::{BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::{caucus, read_banner, terminate, wait_exit};

/// A running server; stopped (SIGTERM) on drop.
#[derive(Debug)]
pub struct Served {
    child: Option<Child>,
    /// `127.0.0.1:PORT` of the HTTP listener.
    pub addr: String,
    pub dir: tempfile::TempDir,
    mgmt: String,
}

impl Served {
    /// Starts `caucus serve --dev` on loopback with `extra` flags.
    pub fn start(extra: &[&str]) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let data = dir.path().join("data");
        let (child, addr) = spawn(&data, extra);
        let data = data.to_str().expect("utf-8 path").to_owned();
        let mgmt = token(&["token", "management", "--data", &data]);
        Self {
            child: Some(child),
            addr,
            dir,
            mgmt,
        }
    }

    /// Kills the server with SIGKILL (no shutdown, no flush) and reaps it.
    pub fn kill_9(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().expect("SIGKILL"); // std's kill is SIGKILL on Unix
            child.wait().expect("reap");
        }
    }

    /// Starts the server again on the same data directory (after
    /// [`Self::kill_9`] or [`Self::stop`]); `addr` is the new listener's.
    pub fn restart(&mut self, extra: &[&str]) {
        assert!(self.child.is_none(), "stop or kill the server first");
        let (child, addr) = spawn(&self.data(), extra);
        self.child = Some(child);
        self.addr = addr;
    }

    pub fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// An app token for `room` as `role` and `user`.
    pub fn app_token(&self, room: &str, role: &str, user: &str) -> String {
        let data = self.data();
        let data = data.to_str().expect("utf-8 path");
        token(&[
            "token", "app", "--data", data, "--room", room, "--role", role, "--user", user,
        ])
    }

    /// An app token for `room` and `role` that expired an hour ago, signed
    /// with the default workspace's secret.
    pub fn expired_app_token(&self, room: &str, role: &str) -> String {
        let store = caucus_api::WorkspaceStore::open(self.data()).expect("workspaces");
        let ws = store.list().into_iter().next().expect("default workspace");
        let grant = caucus_api::auth::AppGrant {
            room_id: room.into(),
            role: role.into(),
            user_id: "late".into(),
        };
        let now = caucus_api::auth::now_unix();
        caucus_api::auth::mint_app(&ws, grant, now - 7_200, 3_600).expect("mint")
    }

    /// `METHOD path` with the management token; returns (status, JSON body).
    pub fn call(&self, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
        http(&self.addr, method, path, Some(&self.mgmt), body)
    }

    /// Creates a template with `roles` (100ms's shape) and a room on it;
    /// returns the room id.
    pub fn room_with_roles(&self, name: &str, roles: Value) -> String {
        let (status, t) = self.call(
            "POST",
            "/v2/templates",
            Some(&serde_json::json!({ "name": format!("{name}-template"), "roles": roles })),
        );
        assert_eq!(status, 200, "template: {t}");
        let (status, room) = self.call(
            "POST",
            "/v2/rooms",
            Some(&serde_json::json!({ "name": name, "template_id": t["id"] })),
        );
        assert_eq!(status, 200, "room: {room}");
        room["id"].as_str().expect("room id").to_owned()
    }

    /// Stops the server (SIGTERM) and waits for it to exit cleanly.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            terminate(&child);
            let status = wait_exit(&mut child, Duration::from_secs(30)).expect("serve exits");
            assert!(status.success(), "serve exit status {status:?}");
        }
    }

    /// Stops the server and returns every event of its log, in position order.
    pub fn log_events(&mut self) -> Vec<caucus_eventlog::RecordedEvent> {
        self.stop();
        let data = self.data().join("log");
        // On its own thread: the caller may be inside a tokio runtime.
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let log = caucus_eventlog::EmbeddedLog::open(&data).expect("open log");
                let events = caucus_eventlog::EventLog::read_all(log.as_ref(), None, usize::MAX)
                    .await
                    .expect("read");
                log.close().await;
                events
            })
        })
        .join()
        .expect("read the log")
    }

    /// Stops the server and returns the room stream's event types, in order.
    pub fn room_events(&mut self, room: &str) -> Vec<String> {
        let stream = format!("room-{room}");
        self.log_events()
            .into_iter()
            .filter(|e| e.stream.as_str() == stream)
            .map(|e| e.event_type)
            .collect()
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Spawns `caucus serve --dev --data <data> --http 127.0.0.1:0 <extra>` and
/// reads its banner; returns the child and its HTTP address.
fn spawn(data: &std::path::Path, extra: &[&str]) -> (Child, String) {
    let data = data.to_str().expect("utf-8 path");
    let mut args = vec!["serve", "--dev", "--data", data, "--http", "127.0.0.1:0"];
    args.extend_from_slice(extra);
    let mut child = caucus(&args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn caucus serve");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let banner = read_banner(&mut stdout);
    // Keep draining stdout so the server never blocks on a full pipe.
    std::thread::spawn(move || {
        let mut sink = String::new();
        let _ = stdout.read_to_string(&mut sink);
    });
    let line = banner
        .lines()
        .find(|l| l.contains("Caucus is running"))
        .expect("banner line");
    let addr = line
        .rsplit("http://")
        .next()
        .expect("address")
        .trim()
        .trim_end_matches('.')
        .to_owned();
    (child, addr)
}

fn token(args: &[&str]) -> String {
    let out = caucus(args).output().expect("caucus token");
    assert!(
        out.status.success(),
        "caucus {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("utf-8")
        .trim()
        .to_owned()
}

/// One HTTP/1.1 request over a plain socket; returns (status, JSON body).
pub fn http(
    addr: &str,
    method: &str,
    path: &str,
    bearer: Option<&str>,
    body: Option<&Value>,
) -> (u16, Value) {
    let mut stream = std::net::TcpStream::connect(addr).expect("connect");
    let body = body.map(Value::to_string).unwrap_or_default();
    let auth = bearer
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Content-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("write");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("read");
    let status = answer
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status");
    let body = answer.split_once("\r\n\r\n").map(|x| x.1).unwrap_or("");
    // Chunked bodies: take the JSON between the first '{' and the last '}'.
    let json = match (body.find('{'), body.rfind('}')) {
        (Some(a), Some(b)) if b >= a => serde_json::from_str(&body[a..=b]).unwrap_or(Value::Null),
        _ => Value::Null,
    };
    (status, json)
}
