//! The rooms and peers of `caucus load`: a template with a `publisher` and a
//! `subscriber` role, rooms on it (created, or reused by name), app tokens
//! (minted with the workspace secret, or exchanged for room codes through the
//! API), and SDK peers with their counters.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use anyhow::Context;
use caucus_api::Workspace;
use caucus_api::auth::{self, AppGrant};
use caucus_sdk::{Client, Event, JoinOptions};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::bench_api::Target;

/// The template every load room uses.
const TEMPLATE: &str = "caucus-load";
pub const PUBLISHER: &str = "publisher";
pub const SUBSCRIBER: &str = "subscriber";

/// Publishers send audio and video and receive nothing; subscribers receive
/// every publisher. So each published packet is forwarded once per
/// subscriber of its room.
fn roles() -> Value {
    json!({
        PUBLISHER: {
            "publishParams": { "allowed": ["audio", "video"] },
            "subscribeParams": { "subscribeToRoles": [] },
        },
        SUBSCRIBER: {
            "publishParams": { "allowed": [] },
            "subscribeParams": { "subscribeToRoles": [PUBLISHER] },
        },
    })
}

/// Where app tokens come from.
pub enum Tokens {
    /// Minted here with the workspace's secret (`--data`).
    Minted(Workspace),
    /// Exchanged for the rooms' codes (`POST /v2/token`).
    Codes,
}

/// A room of the load.
#[derive(Clone, Debug)]
pub struct LoadRoom {
    pub id: String,
    /// Each role's room code (with [`Tokens::Codes`]).
    codes: HashMap<String, String>,
}

/// Creates (or finds) the template and `count` rooms named `<prefix>-<n>`.
pub async fn rooms(
    api: &Target,
    prefix: &str,
    count: usize,
    tokens: &Tokens,
) -> anyhow::Result<Vec<LoadRoom>> {
    let template = template(api).await?;
    let mut out = Vec::with_capacity(count);
    for n in 0..count {
        let name = format!("{prefix}-{n}");
        let id = match find_room(api, &name).await? {
            Some((id, t)) => {
                anyhow::ensure!(
                    t == template,
                    "room {name} exists on another template ({t}); pick another --room-prefix"
                );
                id
            }
            None => {
                let body = json!({ "name": name, "template_id": template });
                let room = call(api, "POST", "/v2/rooms", Some(body)).await?;
                room["id"].as_str().context("room id")?.to_owned()
            }
        };
        let mut codes = HashMap::new();
        if matches!(tokens, Tokens::Codes) {
            let list = call(api, "POST", &format!("/v2/room-codes/room/{id}"), None).await?;
            for c in list["data"].as_array().into_iter().flatten() {
                if let (Some(role), Some(code), true) = (
                    c["role"].as_str(),
                    c["code"].as_str(),
                    c["enabled"].as_bool().unwrap_or(true),
                ) {
                    codes.insert(role.to_owned(), code.to_owned());
                }
            }
        }
        out.push(LoadRoom { id, codes });
    }
    Ok(out)
}

/// An app token for `user` in `room` as `role`.
pub async fn app_token(
    api: &Target,
    tokens: &Tokens,
    room: &LoadRoom,
    role: &str,
    user: &str,
) -> anyhow::Result<String> {
    match tokens {
        Tokens::Minted(ws) => {
            let grant = AppGrant {
                room_id: room.id.clone(),
                role: role.to_owned(),
                user_id: user.to_owned(),
            };
            Ok(auth::mint_app(ws, grant, auth::now_unix(), 86_400)?)
        }
        Tokens::Codes => {
            let code = room
                .codes
                .get(role)
                .with_context(|| format!("room {} has no code for role {role}", room.id))?;
            let body = json!({ "code": code, "user_id": user });
            let reply = call(api, "POST", "/v2/token", Some(body)).await?;
            Ok(reply["token"].as_str().context("token")?.to_owned())
        }
    }
}

/// The load template's id: created, or found by name.
async fn template(api: &Target) -> anyhow::Result<String> {
    let body = json!({ "name": TEMPLATE, "roles": roles() });
    let (status, reply) = api
        .request("POST", "/v2/templates", Some(body.to_string()))
        .await?;
    if status == 200 {
        let t: Value = serde_json::from_slice(&reply)?;
        return Ok(t["id"].as_str().context("template id")?.to_owned());
    }
    anyhow::ensure!(
        status == 409,
        "POST /v2/templates: HTTP {status}: {}",
        String::from_utf8_lossy(&reply)
    );
    let mut start = String::new();
    loop {
        let page = call(api, "GET", &format!("/v2/templates?limit=100{start}"), None).await?;
        let data = page["data"].as_array().cloned().unwrap_or_default();
        if let Some(t) = data.iter().find(|t| t["name"] == TEMPLATE) {
            return Ok(t["id"].as_str().context("template id")?.to_owned());
        }
        match page["last"].as_str() {
            Some(last) if !data.is_empty() => start = format!("&start={last}"),
            _ => anyhow::bail!("template {TEMPLATE} is taken but not listed"),
        }
    }
}

/// The enabled room named `name`: its id and template id.
async fn find_room(api: &Target, name: &str) -> anyhow::Result<Option<(String, String)>> {
    let page = call(api, "GET", &format!("/v2/rooms?name={name}"), None).await?;
    let found = page["data"].as_array().and_then(|d| {
        d.iter().find(|r| r["name"] == name).map(|r| {
            (
                r["id"].as_str().unwrap_or_default().to_owned(),
                r["template_id"].as_str().unwrap_or_default().to_owned(),
            )
        })
    });
    Ok(found)
}

/// A REST call that must answer 200 with JSON.
async fn call(
    api: &Target,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> anyhow::Result<Value> {
    let (status, reply) = api
        .request(method, path, body.map(|b| b.to_string()))
        .await?;
    anyhow::ensure!(
        status == 200,
        "{method} {path}: HTTP {status}: {}",
        String::from_utf8_lossy(&reply)
    );
    Ok(serde_json::from_slice(&reply)?)
}

/// A joined peer of the load.
pub struct Peer {
    pub client: Client,
    /// Index of its room.
    pub room: usize,
    /// The moment its token was in hand (just before `join`).
    pub started: Instant,
    /// When its first media packet arrived ([`Event::FirstPacket`]).
    pub first_packet: Arc<OnceLock<Instant>>,
    /// Its signalling socket closed before the end.
    pub closed: Arc<AtomicBool>,
    /// Published track ids (publishers).
    pub tracks: Vec<String>,
}

impl Peer {
    /// Joins `room` with `token`; a publisher then publishes audio and video.
    pub async fn join(
        base_url: &str,
        token: String,
        room: usize,
        name: String,
        publish: bool,
    ) -> anyhow::Result<Self> {
        let started = Instant::now();
        let mut opts = JoinOptions::new(base_url, token);
        opts.name = name;
        let (client, events) = Client::join(opts).await.context("join")?;
        let first_packet = Arc::new(OnceLock::new());
        let closed = Arc::new(AtomicBool::new(false));
        tokio::spawn(follow(events, first_packet.clone(), closed.clone()));
        let mut tracks = Vec::new();
        if publish {
            tracks.push(client.publish_audio().await.context("publishing audio")?);
            tracks.push(client.publish_video().await.context("publishing video")?);
        }
        Ok(Self {
            client,
            room,
            started,
            first_packet,
            closed,
            tracks,
        })
    }

    /// Packets received so far on each of `tracks`.
    pub fn received(&self, tracks: &[String]) -> Vec<u64> {
        tracks
            .iter()
            .map(|t| self.client.remote_track_stats(t).map_or(0, |s| s.packets))
            .collect()
    }

    /// Token in hand → the last of `tracks` delivered its first packet.
    pub fn all_tracks_after(&self, tracks: &[String]) -> Option<std::time::Duration> {
        let mut last = self.started;
        for t in tracks {
            last = last.max(self.client.remote_track_stats(t)?.first_packet_at?);
        }
        Some(last - self.started)
    }
}

/// Drains a client's events (so none are dropped with a warning), noting the
/// first media packet and the socket's close.
async fn follow(
    mut events: mpsc::Receiver<Event>,
    first_packet: Arc<OnceLock<Instant>>,
    closed: Arc<AtomicBool>,
) {
    while let Some(event) = events.recv().await {
        match event {
            Event::FirstPacket { at, .. } => {
                let _ = first_packet.set(at);
            }
            Event::Closed { .. } => closed.store(true, Ordering::Relaxed),
            _ => {}
        }
    }
}
