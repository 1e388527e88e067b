//! Command-line arguments. Every flag of `serve` can also come from the
//! environment (`CAUCUS_…`).

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "caucus",
    version,
    about = "Self-hostable live audio/video rooms on an event-sourced engine"
)]
pub struct Cli {
    /// A TOML file whose keys (`data`, `http`, `store`, `dev`, `log_format`, `log`,
    /// `access_key`, `secret`) fill in `CAUCUS_…` variables that are not set.
    #[arg(long, global = true, env = "CAUCUS_CONFIG")]
    pub config: Option<std::path::PathBuf>,
    /// Log output: human-readable or one JSON object per line.
    #[arg(
        long,
        global = true,
        value_enum,
        default_value = "human",
        env = "CAUCUS_LOG_FORMAT"
    )]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum LogFormat {
    Human,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start Caucus: the engine on the embedded store (default) or PostgreSQL.
    Serve(ServeArgs),
    /// Print a room's state at a moment and its event history.
    Replay(ReplayArgs),
    /// Benchmark programs; figures go in docs/benchmarks.md.
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Apply the PostgreSQL log's schema migrations.
    Migrate(MigrateArgs),
    /// Work on a whole log.
    #[command(subcommand)]
    Log(LogCommand),
    /// Create and list workspaces (each has its own access key and secret).
    #[command(subcommand)]
    Workspace(crate::workspace_cli::WorkspaceCommand),
    /// Mint tokens for local use.
    #[command(subcommand)]
    Token(crate::token_cli::TokenCommand),
    /// Run SDK peers (publishers and subscribers) in rooms of a running server
    /// and report received packets, loss and join latency.
    Load(crate::load::LoadArgs),
}

#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// The PostgreSQL log: `postgres://user@host:port/db`.
    #[arg(long, env = "CAUCUS_STORE")]
    pub store: String,
}

#[derive(Debug, Subcommand)]
pub enum LogCommand {
    /// Copy a log between stores, preserving event ids, revisions and order.
    Copy(LogCopyArgs),
}

#[derive(Debug, Args)]
pub struct LogCopyArgs {
    /// Source: a data directory or `postgres://…`.
    #[arg(long)]
    pub from: String,
    /// Target (must be empty): a data directory or `postgres://…`.
    #[arg(long)]
    pub to: String,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Where the log lives.
#[derive(Clone, Debug, Args)]
pub struct StoreArgs {
    /// Data directory of the embedded store.
    #[arg(long, env = "CAUCUS_DATA", default_value = "caucus-data")]
    pub data: PathBuf,
    /// Use another store instead of the embedded one: `postgres://user@host/db`.
    #[arg(long, env = "CAUCUS_STORE")]
    pub store: Option<String>,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// Address of the HTTP listener (REST API, signalling, metrics).
    #[arg(long, env = "CAUCUS_HTTP", default_value = "127.0.0.1:8080")]
    pub http: SocketAddr,
    /// Development mode: webhooks may target private and loopback addresses.
    #[arg(long, env = "CAUCUS_DEV")]
    pub dev: bool,
    #[command(flatten)]
    pub media: MediaArgs,
}

/// The media transports and signalling.
#[derive(Clone, Debug, Args)]
pub struct MediaArgs {
    /// The one UDP socket of the WebRTC SFU (all peers share it). The default
    /// takes a free port on loopback; a deployment names its address and port
    /// (e.g. 0.0.0.0:7881 with --webrtc-advertise).
    #[arg(long, env = "CAUCUS_WEBRTC_UDP", default_value = "127.0.0.1:0")]
    pub webrtc_udp: SocketAddr,
    /// Addresses advertised to clients as ICE host candidates (comma
    /// separated); default: the UDP socket's own address.
    #[arg(long, env = "CAUCUS_WEBRTC_ADVERTISE", value_delimiter = ',')]
    pub webrtc_advertise: Vec<std::net::IpAddr>,
    /// Seconds a peer whose WebSocket or media connection dropped is kept
    /// for it to reconnect.
    #[arg(long, env = "CAUCUS_RECONNECT_GRACE", default_value_t = 60)]
    pub reconnect_grace: u64,
    /// The WebSocket URL `/init` hands out (behind a proxy); default
    /// `ws://<Host header>/ws`.
    #[arg(long, env = "CAUCUS_PUBLIC_WS_URL")]
    pub public_ws_url: Option<String>,
    /// The UDP address of the QUIC endpoint (docs/quic-protocol.md); the
    /// default takes a free port on loopback.
    #[arg(long, env = "CAUCUS_QUIC", default_value = "127.0.0.1:0")]
    pub quic: SocketAddr,
    /// Seconds between rotations of the QUIC development certificate (each is
    /// valid one day longer, at most 14 days). Default: 12 days.
    #[arg(long, env = "CAUCUS_QUIC_CERT_ROTATE", default_value_t = 12 * 24 * 3600)]
    pub quic_cert_rotate: u64,
}

#[derive(Debug, Args)]
pub struct ReplayArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// The room's id.
    #[arg(long)]
    pub room: String,
    /// Show the state as of this moment (RFC3339); default: now.
    #[arg(long)]
    pub at: Option<String>,
    #[arg(long, value_enum, default_value = "json")]
    pub format: ReplayFormat,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum ReplayFormat {
    Json,
    Csv,
}

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Event log: fdatasync rate, concurrent and batched durable appends, replay.
    Log(BenchLogArgs),
    /// REST API: room-create and peer-list requests/s with 100 connections.
    Api(crate::bench_api::BenchApiArgs),
    /// Webhooks: deliveries/s to a local receiver with 1,000 rooms, and lag.
    Webhooks(JsonArg),
    /// SFU: forwarded packets/s per server core, join latency and loss, with
    /// SDK peers against a `caucus serve` child process.
    Sfu(crate::bench_sfu::BenchSfuArgs),
    /// QUIC: raw quinn throughput, then 1 publisher → N QUIC subscribers
    /// through a `caucus serve` child: Mbit/s, frames/s, CPU, join latency.
    Quic(crate::bench_quic::BenchQuicArgs),
}

#[derive(Debug, Args)]
pub struct JsonArg {
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct BenchLogArgs {
    /// Directory to benchmark in (default: a temporary directory).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Benchmark a PostgreSQL log instead: `postgres://…`.
    #[arg(long)]
    pub store: Option<String>,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
}
