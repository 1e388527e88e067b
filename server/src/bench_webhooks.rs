//! `caucus bench webhooks`: webhook deliveries per second to a local receiver
//! with 1,000 rooms active, and the lag from a durable append to the
//! receiver's read of the request (p50/p99).
//!
//! Method: an embedded store in a temporary directory, one endpoint on a
//! minimal HTTP/1.1 receiver on 127.0.0.1 (answers 200 at once, keeps
//! connections alive). Phase 1 (throughput): 1,000 room tasks append their
//! sessions as fast as the log takes them while the consumer delivers; the
//! rate is webhooks delivered / time from the first append to the last
//! delivery. Phase 2 (lag): the same rooms append at a paced total rate the
//! receiver keeps up with; the lag of each webhook is receipt time − the
//! moment its append was acknowledged.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use caucus_domain::room::{
    LeaveReason, PeerJoined, PeerLeft, RoomCreated, RoomSettings, SessionOpened,
};
use caucus_domain::{
    DomainEvent, PeerId, RoomEvent, SessionId, TemplateId, Timestamp, WorkspaceId,
};
use caucus_eventlog::{Codec, EventLog, ExpectedRevision, Metadata, NewEvent, StreamName};
use caucus_projections::webhooks::{
    ClientConfig, DeliveryConfig, EndpointSpec, UrlPolicy, Webhooks,
};
use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const ROOMS: u64 = 1_000;
/// Join/leave pairs per room in the throughput phase (2 webhooks each).
const THROUGHPUT_PAIRS: u64 = 10;
/// Events per second appended in the lag phase, over all rooms.
const LAG_RATE: u64 = 2_000;
const LAG_SECONDS: u64 = 5;

/// The figures; `--json` prints these keys.
#[derive(Debug, Clone, Serialize)]
pub struct WebhookBench {
    pub deliveries_per_s: f64,
    pub lag_p50_ms: f64,
    pub lag_p99_ms: f64,
    pub rooms: u64,
    /// Appends acknowledged per second during the throughput phase (the
    /// deliveries cannot outrun them).
    pub appends_per_s: f64,
    pub throughput_deliveries: usize,
    pub lag_deliveries: usize,
    pub lag_append_rate_per_s: u64,
}

/// Append acknowledgements (by log position) and receipts (by position).
#[derive(Default)]
struct Clock {
    appended: HashMap<u64, Instant>,
    received: Vec<(u64, Instant)>,
}

type Shared = Arc<Mutex<Clock>>;

fn lock(c: &Shared) -> std::sync::MutexGuard<'_, Clock> {
    c.lock().unwrap_or_else(|p| p.into_inner())
}

pub async fn run(progress: bool) -> anyhow::Result<WebhookBench> {
    let dir = tempfile::tempdir()?;
    let log = caucus_eventlog::EmbeddedLog::open(dir.path().join("log"))?;
    let clock: Shared = Arc::default();
    let url = receiver(clock.clone()).await?;
    let config = DeliveryConfig {
        client: ClientConfig {
            policy: UrlPolicy {
                allow_private: true,
            },
            ..ClientConfig::default()
        },
        max_concurrency: 128,
        ..DeliveryConfig::default()
    };
    let hooks = Webhooks::start(log.clone(), Some(dir.path().join("webhooks")), config).await?;
    let ws: WorkspaceId = format!("{:024x}", 0xBE7C).parse()?;
    hooks
        .create(
            &ws,
            EndpointSpec {
                url: Some(url),
                ..EndpointSpec::default()
            },
        )
        .await?;

    let bar = progress.then(|| {
        let b = indicatif::ProgressBar::new_spinner();
        b.enable_steady_tick(Duration::from_millis(100));
        b
    });
    let say = |m: String| {
        if let Some(b) = &bar {
            b.set_message(m);
        }
    };

    // Phase 1: throughput.
    say(format!(
        "throughput: {ROOMS} rooms appending as fast as the log takes them"
    ));
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for room in 0..ROOMS {
        let (log, clock, ws) = (log.clone(), clock.clone(), ws.clone());
        tasks.spawn(async move {
            let mut r = RoomWriter::new(log, clock, ws, room);
            r.open().await?;
            for _ in 0..THROUGHPUT_PAIRS {
                r.join_leave().await?;
            }
            anyhow::Ok(r)
        });
    }
    let mut writers = Vec::new();
    while let Some(r) = tasks.join_next().await {
        writers.push(r??);
    }
    let appends_per_s =
        (ROOMS * (2 + 2 * THROUGHPUT_PAIRS)) as f64 / started.elapsed().as_secs_f64();
    // SessionOpened + 2 per pair, per room.
    let phase1 = (ROOMS * (1 + 2 * THROUGHPUT_PAIRS)) as usize;
    wait_for(&clock, phase1, Duration::from_secs(300), |n| {
        say(format!("throughput: {n}/{phase1} delivered"))
    })
    .await?;
    let last = lock(&clock)
        .received
        .last()
        .map(|r| r.1)
        .unwrap_or_else(Instant::now);
    let deliveries_per_s = phase1 as f64 / last.duration_since(started).as_secs_f64();

    // Phase 2: lag at a paced rate.
    lock(&clock).received.clear();
    say(format!("lag: {LAG_RATE} events/s for {LAG_SECONDS} s"));
    let per_room_gap = Duration::from_secs_f64(ROOMS as f64 / LAG_RATE as f64);
    let rounds = (LAG_RATE * LAG_SECONDS / ROOMS / 2).max(1);
    let mut tasks = tokio::task::JoinSet::new();
    for (i, mut r) in writers.into_iter().enumerate() {
        tasks.spawn(async move {
            // Spread the rooms over the interval.
            tokio::time::sleep(per_room_gap.mul_f64(i as f64 / ROOMS as f64)).await;
            let mut tick = tokio::time::interval(per_room_gap);
            for _ in 0..rounds {
                tick.tick().await;
                r.join().await?;
                tick.tick().await;
                r.leave().await?;
            }
            anyhow::Ok(())
        });
    }
    while let Some(r) = tasks.join_next().await {
        r??;
    }
    let phase2 = (ROOMS * rounds * 2) as usize;
    wait_for(&clock, phase2, Duration::from_secs(120), |n| {
        say(format!("lag: {n}/{phase2} delivered"))
    })
    .await?;
    let mut lags: Vec<f64> = {
        let c = lock(&clock);
        c.received
            .iter()
            .filter_map(|(pos, at)| {
                c.appended
                    .get(pos)
                    .map(|a| at.duration_since(*a).as_secs_f64() * 1e3)
            })
            .collect()
    };
    lags.sort_by(f64::total_cmp);
    let pct = |q: f64| {
        lags.get(((lags.len() as f64 - 1.0) * q).round() as usize)
            .copied()
            .unwrap_or(0.0)
    };
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    drop(hooks);
    log.close().await;
    Ok(WebhookBench {
        deliveries_per_s,
        lag_p50_ms: pct(0.50),
        lag_p99_ms: pct(0.99),
        rooms: ROOMS,
        appends_per_s,
        throughput_deliveries: phase1,
        lag_deliveries: lags.len(),
        lag_append_rate_per_s: LAG_RATE,
    })
}

async fn wait_for(
    clock: &Shared,
    n: usize,
    timeout: Duration,
    mut report: impl FnMut(usize),
) -> anyhow::Result<()> {
    let deadline = Instant::now() + timeout;
    loop {
        let got = lock(clock).received.len();
        report(got);
        if got >= n {
            return Ok(());
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "only {got} of {n} webhooks delivered in {timeout:?}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// One room's writer: appends its events one at a time and notes when each
/// append was acknowledged.
struct RoomWriter {
    log: Arc<caucus_eventlog::EmbeddedLog>,
    clock: Shared,
    ws: WorkspaceId,
    room: u64,
    stream: StreamName,
    session: SessionId,
    peers: u64,
}

impl RoomWriter {
    fn new(
        log: Arc<caucus_eventlog::EmbeddedLog>,
        clock: Shared,
        ws: WorkspaceId,
        room: u64,
    ) -> Self {
        Self {
            log,
            clock,
            ws,
            room,
            stream: StreamName::of("room", &format!("{:024x}", 0x1000 + room)).expect("stream"),
            session: format!("{:024x}", 0x2000 + room)
                .parse()
                .expect("session id"),
            peers: 0,
        }
    }

    fn peer(&self) -> PeerId {
        format!(
            "00000000-0000-4000-8000-{:06x}{:06x}",
            self.room, self.peers
        )
        .parse()
        .expect("peer id")
    }

    async fn append(&self, event: RoomEvent) -> anyhow::Result<()> {
        let e = NewEvent {
            event_id: uuid::Uuid::now_v7(),
            event_type: event.event_type().to_owned(),
            schema_version: event.schema_version(),
            codec: Codec::Bincode2,
            payload: event.encode(),
            metadata: Metadata::default(),
        };
        let out = self
            .log
            .append(&self.stream, ExpectedRevision::Any, vec![e])
            .await?;
        lock(&self.clock)
            .appended
            .insert(out.first_position.0, Instant::now());
        Ok(())
    }

    async fn open(&mut self) -> anyhow::Result<()> {
        let template: TemplateId = format!("{:024x}", 0x7e).parse()?;
        self.append(RoomEvent::RoomCreated(RoomCreated {
            room_id: format!("{:024x}", 0x1000 + self.room).parse()?,
            workspace_id: self.ws.clone(),
            name: format!("bench-{}", self.room),
            description: String::new(),
            template_id: template.clone(),
            roles: Default::default(),
            settings: RoomSettings::default(),
            at: now(),
        }))
        .await?;
        // A host stays for the whole benchmark, so the session never closes.
        self.append(RoomEvent::SessionOpened(SessionOpened {
            session_id: self.session.clone(),
            template_id: template,
            roles: Default::default(),
            at: now(),
        }))
        .await
    }

    async fn join(&mut self) -> anyhow::Result<()> {
        self.peers += 1;
        let peer_id = self.peer();
        self.append(RoomEvent::PeerJoined(PeerJoined {
            peer_id,
            session_id: self.session.clone(),
            user_id: format!("user-{}", self.peers).parse()?,
            name: format!("Peer {}", self.peers),
            metadata: String::new(),
            role: "guest".parse()?,
            at: now(),
        }))
        .await
    }

    async fn leave(&mut self) -> anyhow::Result<()> {
        let peer_id = self.peer();
        self.append(RoomEvent::PeerLeft(PeerLeft {
            peer_id,
            session_id: self.session.clone(),
            reason: LeaveReason::ClientRequest,
            message: None,
            removed_by: None,
            at: now(),
        }))
        .await
    }

    async fn join_leave(&mut self) -> anyhow::Result<()> {
        self.join().await?;
        self.leave().await
    }
}

fn now() -> Timestamp {
    let us = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX));
    Timestamp::from_unix_micros(us)
}

/// A minimal HTTP/1.1 receiver: reads each request (headers, then
/// `content-length` bytes), notes its `log_position` and the time, answers
/// 200 with an empty body, keeps the connection.
async fn receiver(clock: Shared) -> anyhow::Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/hook", listener.local_addr()?);
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let clock = clock.clone();
            tokio::spawn(async move {
                let mut buf = Vec::with_capacity(8192);
                let mut chunk = [0u8; 8192];
                loop {
                    let Some(end) = find(&buf, b"\r\n\r\n") else {
                        match sock.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                        continue;
                    };
                    let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
                    let len: usize = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .and_then(|v| v.trim().parse().ok())
                        .unwrap_or(0);
                    while buf.len() < end + 4 + len {
                        match sock.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    let body = &buf[end + 4..end + 4 + len];
                    if let Some(pos) = log_position(body) {
                        lock(&clock).received.push((pos, Instant::now()));
                    }
                    buf.drain(..end + 4 + len);
                    if sock
                        .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
                        .await
                        .is_err()
                    {
                        return;
                    }
                }
            });
        }
    });
    Ok(url)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn log_position(body: &[u8]) -> Option<u64> {
    let key = b"\"log_position\":";
    let at = find(body, key)? + key.len();
    let digits: String = body[at..]
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .map(|b| *b as char)
        .collect();
    digits.parse().ok()
}
