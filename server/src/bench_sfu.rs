//! `caucus bench sfu`: forwarding rate, the server's CPU per forwarded
//! packet, join latency and loss, with SDK peers.
//!
//! It starts `caucus serve` (this same binary) as a child process on
//! loopback over a temporary data directory, runs `caucus load` against it
//! from this process, and reads the server's own CPU time from
//! `/proc/<child>/stat` and its forwarded-packet counters from `/metrics`:
//! the clients' CPU (webrtc-rs, in this process) is measured apart, so the
//! per-core figure divides by the server's cores only.
//!
//! Output keys (`--json`): `forwarded_pps`, `forwarded_mbps`,
//! `server_cpu_cores`, `forwarded_pps_per_core`, `join_p50_ms`,
//! `join_p99_ms`, `loss_pct`, and the rest of `caucus load`'s report.

use std::io::IsTerminal;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use serde::Serialize;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::load::{LoadReport, Plan, Shape};
use crate::load_peers::Tokens;

#[derive(Debug, Args)]
pub struct BenchSfuArgs {
    #[command(flatten)]
    pub shape: Shape,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// The benchmark's figures: the load's report plus the per-core figures.
#[derive(Debug, Serialize)]
pub struct SfuBench {
    pub machine: String,
    /// Forwarded packets/s divided by the server's CPU cores in use.
    pub forwarded_pps_per_core: f64,
    /// Server CPU seconds per million forwarded packets.
    pub server_cpu_s_per_mpkt: f64,
    #[serde(flatten)]
    pub load: LoadReport,
}

pub async fn run(args: BenchSfuArgs) -> anyhow::Result<()> {
    let progress = std::io::stdout().is_terminal() && !args.json;
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("data");
    let mut server = Server::start(&data).await?;
    let ws = crate::token_cli::find_workspace(&data, None)?;
    let plan = Plan {
        url: format!("http://{}", server.addr),
        mgmt_token: caucus_api::auth::mint_management(&ws, caucus_api::auth::now_unix(), 86_400)?,
        tokens: Tokens::Minted(ws),
        server_pid: server.child.id(),
        shape: args.shape,
    };
    let load = crate::load::run(&plan, progress).await;
    server.stop().await;
    let load = load?;
    let pps = load
        .forwarded_pps
        .context("the server has no SFU counters")?;
    let cores = load.server_cpu_cores.context("no server CPU time")?;
    let report = SfuBench {
        machine: crate::bench::machine_line(),
        forwarded_pps_per_core: if cores > 0.0 { pps / cores } else { 0.0 },
        server_cpu_s_per_mpkt: if pps > 0.0 { cores / pps * 1e6 } else { 0.0 },
        load,
    };
    crate::bench::print(&report, args.json)
}

/// `caucus serve` as a child process (also `caucus bench quic`'s).
pub(crate) struct Server {
    pub(crate) child: Child,
    pub(crate) addr: String,
}

impl Server {
    /// Starts it on loopback over `data` and waits for its banner.
    pub(crate) async fn start(data: &Path) -> anyhow::Result<Self> {
        let exe = std::env::current_exe().context("locating the caucus binary")?;
        let mut child = Command::new(exe)
            .arg("serve")
            .arg("--data")
            .arg(data)
            .args(["--http", "127.0.0.1:0", "--webrtc-udp", "127.0.0.1:0"])
            // Only the flags above decide where it listens and what it stores.
            .env_remove("CAUCUS_CONFIG")
            .env_remove("CAUCUS_STORE")
            .env_remove("CAUCUS_WEBRTC_ADVERTISE")
            .env_remove("CAUCUS_PUBLIC_WS_URL")
            .env(
                "CAUCUS_LOG",
                std::env::var("CAUCUS_LOG").unwrap_or("warn".into()),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .context("starting caucus serve")?;
        let stdout = child.stdout.take().context("serve's stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let addr = tokio::time::timeout(Duration::from_secs(30), async {
            while let Some(line) = lines.next_line().await? {
                if line.contains("Caucus is running") {
                    let addr = line.rsplit("http://").next().unwrap_or_default();
                    return Ok(addr.trim().trim_end_matches('.').to_owned());
                }
            }
            anyhow::bail!("caucus serve exited before it started")
        })
        .await
        .context("caucus serve did not start within 30 s")??;
        // Keep reading, so the server never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok(Self { child, addr })
    }

    /// SIGTERM, then (after 10 s) SIGKILL.
    pub(crate) async fn stop(&mut self) {
        if let Some(pid) = self.child.id() {
            let _ = Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status()
                .await;
        }
        if tokio::time::timeout(Duration::from_secs(10), self.child.wait())
            .await
            .is_err()
        {
            let _ = self.child.kill().await;
        }
    }
}
