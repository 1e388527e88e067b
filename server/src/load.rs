//! `caucus load`: Rust SDK peers in rooms of a running server.
//!
//! ```text
//! rooms (REST, management token) → publishers join, publish audio + video
//!   → subscribers join (token in hand → first media packet = join latency)
//!   → every subscriber receives every track → window: server counters,
//!     CPU, sent and received packets → mute all → drain → counts again → leave
//! ```
//!
//! Loss: for each published track, the packets its publisher sent in the
//! window times the subscribers of its room, against what those subscribers
//! received of it. The window's end is exact (publishers stop, then in-flight
//! packets drain); at its start a packet in flight is counted as received but
//! not sent, so the estimate errs low by at most the packets in flight then
//! (it is clamped at 0).
//!
//! Layout: this module (arguments, the run, the report), `load_peers` (rooms,
//! tokens, peers), `load_probe` (the server's `/metrics` and `/proc`).

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use serde::Serialize;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::bench_api::Target;
use crate::load_peers::{self, LoadRoom, PUBLISHER, Peer, SUBSCRIBER, Tokens};
use crate::load_probe::{ServerProbe, ServerSample, own_cpu_seconds, udp_rcvbuf_errors};

#[derive(Debug, Args)]
pub struct LoadArgs {
    /// The server: `http://host:port`.
    #[arg(long)]
    pub url: String,
    /// A management token for the REST API (app tokens then come from room codes).
    #[arg(long, env = "CAUCUS_MGMT_TOKEN", hide_env_values = true)]
    pub mgmt_token: Option<String>,
    /// A file holding a management token.
    #[arg(long)]
    pub token_file: Option<PathBuf>,
    /// Mint every token from this data directory's workspace, as `caucus token` does.
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// With `--data`: the workspace's name or access key (default: the first).
    #[arg(long, requires = "data")]
    pub workspace: Option<String>,
    /// The server's process id: report its CPU time over the window.
    #[arg(long)]
    pub server_pid: Option<u32>,
    #[command(flatten)]
    pub shape: Shape,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// How big the load is.
#[derive(Clone, Debug, Args)]
pub struct Shape {
    /// Rooms (created, or reused by name).
    #[arg(long, default_value_t = 2)]
    pub rooms: usize,
    /// Publishers per room, each sending synthetic Opus (50 packets/s) and VP8 (≈ 54 packets/s).
    #[arg(long, default_value_t = 3)]
    pub publishers: usize,
    /// Subscribers per room, each receiving every publisher of its room.
    #[arg(long, default_value_t = 8)]
    pub subscribers: usize,
    /// Seconds of the measurement window.
    #[arg(long, default_value_t = 20)]
    pub duration: u64,
    /// Joins in flight at once.
    #[arg(long, default_value_t = 4)]
    pub join_concurrency: usize,
    /// Rooms are named `<prefix>-<n>`.
    #[arg(long, default_value = "caucus-load")]
    pub room_prefix: String,
}

/// Where the load goes and how it authenticates.
pub struct Plan {
    pub url: String,
    pub mgmt_token: String,
    pub tokens: Tokens,
    pub server_pid: Option<u32>,
    pub shape: Shape,
}

impl Plan {
    /// The plan `caucus load`'s arguments describe.
    pub fn from_args(args: &LoadArgs) -> anyhow::Result<Self> {
        let sources = [
            args.mgmt_token.is_some(),
            args.token_file.is_some(),
            args.data.is_some(),
        ];
        anyhow::ensure!(
            sources.iter().filter(|s| **s).count() == 1,
            "give exactly one of --mgmt-token, --token-file and --data"
        );
        let (mgmt_token, tokens) = match (&args.data, &args.token_file, &args.mgmt_token) {
            (Some(data), _, _) => {
                let ws = crate::token_cli::find_workspace(data, args.workspace.as_deref())?;
                let token =
                    caucus_api::auth::mint_management(&ws, caucus_api::auth::now_unix(), 86_400)?;
                (token, Tokens::Minted(ws))
            }
            (_, Some(file), _) => {
                let token = std::fs::read_to_string(file)
                    .with_context(|| format!("reading {}", file.display()))?;
                (token.trim().to_owned(), Tokens::Codes)
            }
            (_, _, Some(token)) => (token.clone(), Tokens::Codes),
            (None, None, None) => unreachable!("checked above"),
        };
        Ok(Self {
            url: args.url.trim_end_matches('/').to_owned(),
            mgmt_token,
            tokens,
            server_pid: args.server_pid,
            shape: args.shape.clone(),
        })
    }
}

/// What a load run measured. Rates are over the window; `null` when the
/// server does not expose them (no SFU counters on `/metrics`, no `--server-pid`).
#[derive(Clone, Debug, Serialize)]
pub struct LoadReport {
    pub rooms: usize,
    pub publishers_per_room: usize,
    pub subscribers_per_room: usize,
    pub window_s: f64,
    /// RTP packets/s the SFU forwarded to subscribers (its own counter).
    pub forwarded_pps: Option<f64>,
    /// Their RTP payload in Mbit/s (headers, SRTP tags and UDP/IP not counted).
    pub forwarded_mbps: Option<f64>,
    /// RTP packets/s the publishers sent, and the SFU received from them.
    pub sent_pps: f64,
    pub ingress_pps: Option<f64>,
    /// Datagrams the machine dropped for full socket receive buffers in the
    /// window (all sockets of the machine).
    pub udp_rcvbuf_errors: Option<u64>,
    /// The server process's CPU use, in cores.
    pub server_cpu_cores: Option<f64>,
    /// The SFU's driver thread's CPU use, in cores (it is one thread).
    pub sfu_thread_cpu_cores: Option<f64>,
    /// The load's own CPU use (every SDK peer), in cores.
    pub client_cpu_cores: f64,
    /// Packets/s the subscribers counted.
    pub received_pps: f64,
    /// Packets the publishers sent in the window, times their room's subscribers.
    pub expected_packets: u64,
    pub received_packets: u64,
    /// `expected - received` (negative: duplicates or in-flight at the start).
    pub lost_packets: i64,
    pub loss_pct: f64,
    /// (track, subscriber) pairs, and those that received fewer packets than sent.
    pub pairs: usize,
    pub lossy_pairs: usize,
    /// Token in hand → first media packet, over subscribers that got one.
    pub join_p50_ms: f64,
    pub join_p99_ms: f64,
    pub join_max_ms: f64,
    /// Token in hand → a first packet on every track of the room.
    pub all_tracks_p50_ms: f64,
    pub all_tracks_p99_ms: f64,
    /// Subscribers that got no media before the window, and peers whose socket closed.
    pub subscribers_without_media: usize,
    pub disconnected: usize,
}

pub async fn run_cli(args: LoadArgs) -> anyhow::Result<()> {
    let plan = Plan::from_args(&args)?;
    let progress = std::io::stdout().is_terminal() && !args.json;
    let report = run(&plan, progress).await?;
    crate::bench::print(&report, args.json)
}

/// Runs the load of `plan` and measures it.
pub async fn run(plan: &Plan, progress: bool) -> anyhow::Result<LoadReport> {
    let shape = &plan.shape;
    anyhow::ensure!(
        shape.rooms > 0 && shape.publishers > 0 && shape.subscribers > 0 && shape.duration > 0,
        "--rooms, --publishers, --subscribers and --duration must be positive"
    );
    let api = Arc::new(Target::new(&plan.url, plan.mgmt_token.clone()));
    let probe = ServerProbe::new(&plan.url, plan.server_pid);
    let rooms = load_peers::rooms(&api, &shape.room_prefix, shape.rooms, &plan.tokens).await?;

    // Publishers first, so a subscriber's first packet measures its own join.
    let publishers = join_all(plan, &api, &rooms, PUBLISHER, shape.publishers, progress).await?;
    let tracks: Vec<Vec<String>> = (0..rooms.len())
        .map(|r| {
            publishers
                .iter()
                .filter(|p| p.room == r)
                .flat_map(|p| p.tracks.iter().cloned())
                .collect()
        })
        .collect();
    let subscribers = join_all(plan, &api, &rooms, SUBSCRIBER, shape.subscribers, progress).await?;
    settle(&subscribers, &tracks).await;

    // The window.
    let start = Window::read(&probe, &publishers, &subscribers, &tracks).await?;
    sleep_with_bar(Duration::from_secs(shape.duration), progress).await;
    let end_server = probe.sample().await?;
    let end_cpu = own_cpu_seconds()?;
    let mut mutes = JoinSet::new();
    for p in &publishers {
        for t in &p.tracks {
            let (client, track) = (p.client.clone(), t.clone());
            mutes.spawn(async move { client.set_muted(&track, true).await });
        }
    }
    while let Some(r) = mutes.join_next().await {
        r?.context("muting a track at the end")?;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let end = Window::read(&probe, &publishers, &subscribers, &tracks).await?;

    let report = report(
        shape,
        &start,
        &end_server,
        end_cpu,
        &end,
        &publishers,
        &subscribers,
        &tracks,
    );
    let mut leaves = JoinSet::new();
    for p in publishers.into_iter().chain(subscribers) {
        leaves.spawn(async move { p.client.leave().await });
    }
    while leaves.join_next().await.is_some() {}
    Ok(report)
}

/// Joins `per_room` peers of `role` to every room, `join_concurrency` at a time.
async fn join_all(
    plan: &Plan,
    api: &Arc<Target>,
    rooms: &[LoadRoom],
    role: &'static str,
    per_room: usize,
    progress: bool,
) -> anyhow::Result<Vec<Peer>> {
    let total = rooms.len() * per_room;
    let bar = progress.then(|| {
        indicatif::ProgressBar::new(total as u64).with_message(format!("joining {role}s"))
    });
    let limit = Arc::new(Semaphore::new(plan.shape.join_concurrency.max(1)));
    let mut joins = JoinSet::new();
    for (r, room) in rooms.iter().enumerate() {
        for n in 0..per_room {
            let user = format!("{role}-{r}-{n}");
            let token = load_peers::app_token(api, &plan.tokens, room, role, &user).await?;
            let (url, limit) = (plan.url.clone(), limit.clone());
            joins.spawn(async move {
                let _permit = limit.acquire_owned().await?;
                Peer::join(&url, token, r, user, role == PUBLISHER).await
            });
        }
    }
    let mut peers = Vec::with_capacity(total);
    while let Some(joined) = joins.join_next().await {
        peers.push(joined?.with_context(|| format!("a {role} could not join"))?);
        if let Some(b) = &bar {
            b.inc(1);
        }
    }
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    Ok(peers)
}

/// Waits (at most 30 s) until every subscriber receives every track of its room.
async fn settle(subscribers: &[Peer], tracks: &[Vec<String>]) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        let done = subscribers
            .iter()
            .all(|s| s.received(&tracks[s.room]).iter().all(|n| *n > 0));
        if done {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Let the joins' negotiation and keyframe bursts pass.
    tokio::time::sleep(Duration::from_secs(1)).await;
}

async fn sleep_with_bar(d: Duration, progress: bool) {
    let Some(bar) = progress
        .then(|| indicatif::ProgressBar::new(d.as_secs()).with_message("measuring (seconds)"))
    else {
        tokio::time::sleep(d).await;
        return;
    };
    for _ in 0..d.as_secs() {
        tokio::time::sleep(Duration::from_secs(1)).await;
        bar.inc(1);
    }
    bar.finish_and_clear();
}

/// Counters at one edge of the window.
struct Window {
    server: ServerSample,
    client_cpu_s: f64,
    udp_rcvbuf_errors: Option<u64>,
    /// Per publisher, per published track: packets sent.
    sent: Vec<Vec<u64>>,
    /// Per subscriber, per track of its room: packets received.
    received: Vec<Vec<u64>>,
}

impl Window {
    /// Reads publishers before subscribers, so no packet counts as received
    /// without having been sent (but see the module doc on in-flight ones).
    async fn read(
        probe: &ServerProbe,
        publishers: &[Peer],
        subscribers: &[Peer],
        tracks: &[Vec<String>],
    ) -> anyhow::Result<Self> {
        let server = probe.sample().await?;
        let client_cpu_s = own_cpu_seconds()?;
        let udp_rcvbuf_errors = udp_rcvbuf_errors();
        let mut sent = Vec::with_capacity(publishers.len());
        for p in publishers {
            let mut v = Vec::with_capacity(p.tracks.len());
            for t in &p.tracks {
                v.push(p.client.send_stats(t).await.map_or(0, |s| s.packets));
            }
            sent.push(v);
        }
        let received = subscribers
            .iter()
            .map(|s| s.received(&tracks[s.room]))
            .collect();
        Ok(Self {
            server,
            client_cpu_s,
            udp_rcvbuf_errors,
            sent,
            received,
        })
    }
}

#[allow(clippy::too_many_arguments)]
fn report(
    shape: &Shape,
    start: &Window,
    end_server: &ServerSample,
    end_cpu: f64,
    end: &Window,
    publishers: &[Peer],
    subscribers: &[Peer],
    tracks: &[Vec<String>],
) -> LoadReport {
    let window = (end_server.at - start.server.at).as_secs_f64();
    let rate = |a: Option<f64>, b: Option<f64>| Some((b? - a?) / window);
    let (s0, s1) = (start.server.sfu, end_server.sfu);
    let forwarded_pps = rate(
        s0.map(|c| c.forwarded_packets as f64),
        s1.map(|c| c.forwarded_packets as f64),
    );
    let forwarded_mbps = rate(
        s0.map(|c| c.forwarded_bytes as f64 * 8e-6),
        s1.map(|c| c.forwarded_bytes as f64 * 8e-6),
    );
    let ingress_pps = rate(
        s0.map(|c| c.received_packets as f64),
        s1.map(|c| c.received_packets as f64),
    );

    // Sent per track id, in the window.
    let mut sent = std::collections::HashMap::new();
    for (i, p) in publishers.iter().enumerate() {
        for (j, t) in p.tracks.iter().enumerate() {
            sent.insert(t.as_str(), end.sent[i][j].saturating_sub(start.sent[i][j]));
        }
    }
    let sent_pps = sent.values().sum::<u64>() as f64 / window;
    let (mut expected, mut received, mut pairs, mut lossy) = (0u64, 0u64, 0, 0);
    for (i, s) in subscribers.iter().enumerate() {
        for (j, t) in tracks[s.room].iter().enumerate() {
            let want = sent.get(t.as_str()).copied().unwrap_or(0);
            let got = end.received[i][j].saturating_sub(start.received[i][j]);
            expected += want;
            received += got;
            pairs += 1;
            lossy += usize::from(got < want);
        }
    }
    let lost = expected as i64 - received as i64;
    let loss_pct = if expected == 0 {
        0.0
    } else {
        (lost.max(0) as f64 * 100.0 / expected as f64).min(100.0)
    };

    let mut join: Vec<f64> = subscribers
        .iter()
        .filter_map(|s| s.first_packet.get().map(|at| ms(*at - s.started)))
        .collect();
    let mut all: Vec<f64> = subscribers
        .iter()
        .filter_map(|s| s.all_tracks_after(&tracks[s.room]).map(ms))
        .collect();
    let without_media = subscribers.len() - join.len();
    let disconnected = publishers
        .iter()
        .chain(subscribers)
        .filter(|p| p.closed.load(std::sync::atomic::Ordering::Relaxed))
        .count();
    LoadReport {
        rooms: shape.rooms,
        publishers_per_room: shape.publishers,
        subscribers_per_room: shape.subscribers,
        window_s: window,
        forwarded_pps,
        forwarded_mbps,
        sent_pps,
        ingress_pps,
        udp_rcvbuf_errors: end
            .udp_rcvbuf_errors
            .zip(start.udp_rcvbuf_errors)
            .map(|(b, a)| b.saturating_sub(a)),
        server_cpu_cores: rate(start.server.cpu_s, end_server.cpu_s),
        sfu_thread_cpu_cores: rate(start.server.sfu_thread_cpu_s, end_server.sfu_thread_cpu_s),
        client_cpu_cores: (end_cpu - start.client_cpu_s) / window,
        received_pps: received as f64 / window,
        expected_packets: expected,
        received_packets: received,
        lost_packets: lost,
        loss_pct,
        pairs,
        lossy_pairs: lossy,
        join_p50_ms: percentile(&mut join, 0.50),
        join_p99_ms: percentile(&mut join, 0.99),
        join_max_ms: percentile(&mut join, 1.0),
        all_tracks_p50_ms: percentile(&mut all, 0.50),
        all_tracks_p99_ms: percentile(&mut all, 0.99),
        subscribers_without_media: without_media,
        disconnected,
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Nearest-rank percentile (`q` in 0..=1); 0 for no samples.
pub(crate) fn percentile(v: &mut [f64], q: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    let rank = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len());
    v[rank - 1]
}

#[cfg(test)]
mod tests {
    use super::percentile;

    #[test]
    fn percentiles_are_nearest_rank() {
        let mut v: Vec<f64> = (1..=100).rev().map(f64::from).collect();
        assert_eq!(percentile(&mut v, 0.5), 50.0);
        assert_eq!(percentile(&mut v, 0.99), 99.0);
        assert_eq!(percentile(&mut v, 1.0), 100.0);
        assert_eq!(percentile(&mut [], 0.5), 0.0);
    }
}
