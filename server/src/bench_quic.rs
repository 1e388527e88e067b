//! `caucus bench quic`: QUIC media throughput, in one run.
//!
//! 1. The limit: raw quinn stream throughput between two endpoints of this
//!    process on loopback (the same TLS and transport settings as the
//!    server), `raw_quinn_mbps`.
//! 2. Fan-out: `caucus serve` as a child process, one QUIC SDK publisher
//!    sending video objects as fast as the server takes them, N QUIC SDK
//!    subscribers counting what they receive: `fanout_mbps` (what the
//!    subscribers received), `frames_per_s`, the server's CPU seconds per
//!    forwarded Gbit (`/proc/<child>/stat`), and `fanout_ratio` against
//!    the raw figure.
//! 3. Joins while the room streams: connect + hello + join + first frame,
//!    `join_p50_ms` / `join_p99_ms` (each probe joins, waits for the first
//!    object, leaves).
//!
//! Steps 1–2 run `--trials` times (default 3), each trial on a fresh
//! server; throughput figures are medians and `fanout_ratio` is the median
//! of the trials' own ratios (`trial_ratios`). The joins are timed in the
//! last trial.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use caucus_sdk::quic::QuicInit;
use caucus_sdk::quic::media::FrameShape;
use caucus_sdk::{JoinOptions, QuicClient, TrackKind};
use caucus_transport_quic::cert::DevCert;
use clap::Args;
use serde::Serialize;

use crate::bench_api::Target;
use crate::load_peers::{self, PUBLISHER, SUBSCRIBER, Tokens};
use crate::load_probe::ServerProbe;

#[derive(Debug, Args)]
pub struct BenchQuicArgs {
    /// QUIC subscribers of the one publisher.
    #[arg(long, default_value_t = 8)]
    pub subscribers: usize,
    /// Seconds of fan-out measured.
    #[arg(long, default_value_t = 10)]
    pub duration: u64,
    /// Payload bytes per video object.
    #[arg(long, default_value_t = 16_000)]
    pub object_bytes: usize,
    /// Timed joins (connect + join + first frame).
    #[arg(long, default_value_t = 30)]
    pub joins: usize,
    /// MiB sent in the raw quinn measurement.
    #[arg(long, default_value_t = 512)]
    pub raw_mib: usize,
    /// Trials of (raw, fan-out), each on a fresh server; the report gives
    /// medians, the ratio being the median of each trial's own ratio.
    #[arg(long, default_value_t = 3)]
    pub trials: usize,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Serialize)]
struct QuicBench {
    machine: String,
    raw_quinn_mbps: f64,
    fanout_mbps: f64,
    fanout_ratio: f64,
    frames_per_s: f64,
    server_cpu_s_per_gbit: f64,
    join_p50_ms: f64,
    join_p99_ms: f64,
    subscribers: usize,
    object_bytes: usize,
    /// What the publisher's objects amount to (received by one subscriber).
    per_subscriber_mbps: f64,
    trials: usize,
    /// Each trial's fan-out / raw, in order.
    trial_ratios: Vec<f64>,
}

pub async fn run(args: BenchQuicArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.subscribers > 0 && args.duration > 0 && args.raw_mib > 0 && args.trials > 0,
        "--subscribers, --duration, --raw-mib and --trials must be positive"
    );
    // Loopback throughput on a small VM swings from run to run; each trial
    // measures the limit and the fan-out back to back, so a trial's ratio
    // compares like with like, and the medians damp the swings.
    let (mut raws, mut fans, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    let (mut frames, mut cpus) = (Vec::new(), Vec::new());
    let mut last = None;
    for trial in 0..args.trials {
        let raw = raw_quinn(args.raw_mib)
            .await
            .context("raw quinn throughput")?;
        let dir = tempfile::tempdir()?;
        let data = dir.path().join("data");
        let mut server = crate::bench_sfu::Server::start(&data).await?;
        // Joins are timed in the last trial only.
        let joins = if trial + 1 == args.trials {
            args.joins
        } else {
            0
        };
        let fan = fanout(&args, joins, &data, &server).await;
        server.stop().await;
        let fan = fan?;
        raws.push(raw);
        fans.push(fan.mbps);
        frames.push(fan.frames_per_s);
        cpus.push(fan.cpu_s_per_gbit);
        ratios.push(if raw > 0.0 { fan.mbps / raw } else { 0.0 });
        last = Some(fan);
    }
    let fan = last.context("no trial ran")?;
    let median = |v: &[f64]| crate::load::percentile(&mut v.to_vec(), 0.50);
    let fanout_mbps = median(&fans);
    let report = QuicBench {
        machine: crate::bench::machine_line(),
        raw_quinn_mbps: median(&raws),
        fanout_mbps,
        fanout_ratio: median(&ratios),
        frames_per_s: median(&frames),
        server_cpu_s_per_gbit: median(&cpus),
        join_p50_ms: crate::load::percentile(&mut fan.joins_ms.clone(), 0.50),
        join_p99_ms: crate::load::percentile(&mut fan.joins_ms.clone(), 0.99),
        subscribers: args.subscribers,
        object_bytes: args.object_bytes,
        per_subscriber_mbps: fanout_mbps / args.subscribers as f64,
        trials: args.trials,
        trial_ratios: ratios,
    };
    crate::bench::print(&report, args.json)
}

/// Mbit/s of `mib` MiB over quinn streams (16 MiB each) on loopback.
async fn raw_quinn(mib: usize) -> anyhow::Result<f64> {
    let cert = DevCert::generate(&["127.0.0.1".into()], Duration::from_secs(86_400))?;
    let config = caucus_transport_quic::server::server_config(&cert)?;
    let endpoint = quinn::Endpoint::server(config, "127.0.0.1:0".parse()?)?;
    let init = QuicInit {
        addr: endpoint.local_addr()?,
        certificate_sha256: cert.sha256_hex(),
        webtransport: None,
    };
    let got = Arc::new(AtomicU64::new(0));
    let counter = got.clone();
    let server = endpoint.clone();
    tokio::spawn(async move {
        let Some(incoming) = server.accept().await else {
            return;
        };
        let Ok(conn) = incoming.await else { return };
        while let Ok(mut s) = conn.accept_uni().await {
            let counter = counter.clone();
            tokio::spawn(async move {
                while let Ok(Some(c)) = s.read_chunk(1 << 20, false).await {
                    counter.fetch_add(c.bytes.len() as u64, Ordering::Relaxed);
                }
            });
        }
    });
    let (client, conn, _send, _recv) = caucus_sdk::quic::connect(&init).await?;
    let chunk = vec![0xa5u8; 64 * 1024];
    let start = Instant::now();
    let streams = mib.div_ceil(16);
    for _ in 0..streams {
        let mut s = conn.open_uni().await?;
        for _ in 0..(16 * 1024 * 1024 / chunk.len()) {
            s.write_all(&chunk).await?;
        }
        s.finish()?;
    }
    let sent = (streams as u64) * (16 << 20);
    while got.load(Ordering::Relaxed) < sent {
        anyhow::ensure!(
            start.elapsed() < Duration::from_secs(120),
            "the raw transfer did not finish in 120 s"
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let secs = start.elapsed().as_secs_f64();
    conn.close(0u32.into(), b"done");
    client.wait_idle().await;
    endpoint.close(0u32.into(), b"done");
    Ok(sent as f64 * 8.0 / secs / 1e6)
}

struct Fanout {
    mbps: f64,
    frames_per_s: f64,
    cpu_s_per_gbit: f64,
    joins_ms: Vec<f64>,
}

async fn fanout(
    args: &BenchQuicArgs,
    joins: usize,
    data: &std::path::Path,
    server: &crate::bench_sfu::Server,
) -> anyhow::Result<Fanout> {
    let ws = crate::token_cli::find_workspace(data, None)?;
    let url = format!("http://{}", server.addr);
    let now = caucus_api::auth::now_unix();
    let api = Target::new(&url, caucus_api::auth::mint_management(&ws, now, 86_400)?);
    let tokens = Tokens::Minted(ws);
    let rooms = load_peers::rooms(&api, "bench-quic", 1, &tokens).await?;
    let room = rooms.first().context("no room")?;
    let join = |role: &'static str, user: String| {
        let (api, tokens, url) = (&api, &tokens, url.clone());
        async move {
            let token = load_peers::app_token(api, tokens, room, role, &user).await?;
            let mut opts = JoinOptions::new(url, token);
            opts.name = user;
            let (client, _events) = QuicClient::join(opts).await?;
            anyhow::Ok(client)
        }
    };
    let publisher = join(PUBLISHER, "publisher".into()).await?;
    let shape = FrameShape {
        fps: 0,
        bytes: args.object_bytes,
        gop: 60,
    };
    let track = publisher.publish_shaped(TrackKind::Video, shape).await?;
    let mut subs = Vec::with_capacity(args.subscribers);
    for n in 0..args.subscribers {
        subs.push(join(SUBSCRIBER, format!("subscriber-{n}")).await?);
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let probe = ServerProbe::new(&url, server.child.id());
    let totals = |subs: &[QuicClient]| {
        subs.iter()
            .filter_map(|s| s.track_stats(&track))
            .fold((0u64, 0u64), |(b, o), s| (b + s.bytes, o + s.objects))
    };
    let before = probe.sample().await?;
    let (bytes0, objects0) = totals(&subs);
    let start = Instant::now();
    tokio::time::sleep(Duration::from_secs(args.duration)).await;
    let (bytes1, objects1) = totals(&subs);
    let secs = start.elapsed().as_secs_f64();
    let after = probe.sample().await?;
    let bits = (bytes1 - bytes0) as f64 * 8.0;
    let cpu = match (before.cpu_s, after.cpu_s) {
        (Some(a), Some(b)) => b - a,
        _ => 0.0,
    };
    let mut joins_ms = Vec::with_capacity(joins);
    for n in 0..joins {
        let t0 = Instant::now();
        let c = join(SUBSCRIBER, format!("probe-{n}")).await?;
        while c.track_stats(&track).is_none_or(|s| s.objects == 0) {
            anyhow::ensure!(
                t0.elapsed() < Duration::from_secs(10),
                "probe {n} got no frame in 10 s"
            );
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
        joins_ms.push(t0.elapsed().as_secs_f64() * 1e3);
        c.leave().await;
    }
    for s in subs {
        s.leave().await;
    }
    publisher.leave().await;
    Ok(Fanout {
        mbps: bits / secs / 1e6,
        frames_per_s: (objects1 - objects0) as f64 / secs,
        cpu_s_per_gbit: if bits > 0.0 { cpu / (bits / 1e9) } else { 0.0 },
        joins_ms,
    })
}
