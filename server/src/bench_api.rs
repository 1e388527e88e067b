//! `caucus bench api`: room-create and peer-list requests per second and
//! latency percentiles over real HTTP with 100 concurrent connections.
//!
//! By default it starts the API in this process on a loopback port, over the
//! embedded store in a temporary directory (every room create is a durable
//! append), and joins a few peers to the peer-list room through the executor.
//! With `--url` it measures a running server instead (its room has no peers
//! until signalling joins some).
//!
//! Output keys (`--json`): `requests_per_s`, `p50_ms`, `p99_ms` over all
//! requests, and the same per workload under `room_create` and `peer_list`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use caucus_api::auth;
use caucus_api::{AppState, MeteredLog, Metrics, Workspace, WorkspaceStore};
use caucus_eventlog::EventLog;
use caucus_projections::Engine;
use clap::Args;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde::Serialize;

#[derive(Debug, Args)]
pub struct BenchApiArgs {
    /// Concurrent connections.
    #[arg(long, default_value_t = 100)]
    pub connections: usize,
    /// Requests per workload.
    #[arg(long, default_value_t = 5_000)]
    pub requests: usize,
    /// Peers joined to the peer-list room (in-process server only).
    #[arg(long, default_value_t = 20)]
    pub peers: usize,
    /// Measure a running server (`http://host:port`) instead of an in-process one.
    #[arg(long, requires_all = ["access_key", "secret"])]
    pub url: Option<String>,
    /// The running server's workspace access key.
    #[arg(long, env = "CAUCUS_ACCESS_KEY")]
    pub access_key: Option<String>,
    /// The running server's workspace secret.
    #[arg(long, env = "CAUCUS_SECRET", hide_env_values = true)]
    pub secret: Option<String>,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Throughput and latency of one workload (or all of them).
#[derive(Clone, Debug, Serialize)]
pub struct Figures {
    pub requests: usize,
    pub requests_per_s: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

/// The benchmark's result.
#[derive(Clone, Debug, Serialize)]
pub struct ApiBench {
    pub requests_per_s: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub connections: usize,
    pub room_create: Figures,
    pub peer_list: Figures,
}

type HttpClient = Client<HttpConnector, Full<Bytes>>;

/// A server's REST API, called with one bearer token (also used by `caucus load`).
pub(crate) struct Target {
    base: String,
    token: String,
    client: HttpClient,
}

impl Target {
    /// Calls `base` (`http://host:port`) with `token`.
    pub(crate) fn new(base: &str, token: String) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        Self {
            base: base.trim_end_matches('/').to_owned(),
            token,
            client: Client::builder(TokioExecutor::new()).build(connector),
        }
    }

    /// One request; returns the status and the body.
    pub(crate) async fn request(
        &self,
        method: &str,
        path: &str,
        body: Option<String>,
    ) -> anyhow::Result<(u16, Bytes)> {
        let req = hyper::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base))
            .header("authorization", format!("Bearer {}", self.token))
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body.unwrap_or_default())))?;
        let res = self.client.request(req).await?;
        let status = res.status().as_u16();
        let bytes = res.into_body().collect().await?.to_bytes();
        Ok((status, bytes))
    }
}

/// Runs the benchmark and prints its figures.
pub async fn run(args: BenchApiArgs) -> anyhow::Result<ApiBench> {
    anyhow::ensure!(
        args.connections > 0 && args.requests > 0,
        "--connections and --requests must be positive"
    );
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    let client: HttpClient = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(args.connections)
        .build(connector);

    let mut local = None;
    let target = match &args.url {
        Some(url) => {
            let ws = Workspace {
                access_key: args.access_key.clone().unwrap_or_default(),
                secret: caucus_api::Secret::new(args.secret.clone().unwrap_or_default()),
                ..Workspace::generate("bench")
            };
            Target {
                base: url.trim_end_matches('/').to_owned(),
                token: auth::mint_management(&ws, auth::now_unix(), 3600)?,
                client,
            }
        }
        None => {
            let server = LocalServer::start().await?;
            let target = Target {
                base: format!("http://{}", server.addr),
                token: auth::mint_management(&server.workspace, auth::now_unix(), 3600)?,
                client,
            };
            local = Some(server);
            target
        }
    };
    let target = Arc::new(target);

    // Room creates: every request a new name, so every one is an append.
    let run_id = uuid::Uuid::new_v4().simple().to_string();
    let create = measure(&target, args.connections, args.requests, move |i| {
        (
            "POST",
            "/v2/rooms".to_owned(),
            Some(format!(r#"{{"name":"bench-{}-{i}"}}"#, &run_id[..8])),
        )
    })
    .await?;

    // Peer lists of one room.
    let (status, body) = target
        .request(
            "POST",
            "/v2/rooms",
            Some(r#"{"name":"bench-peer-list"}"#.into()),
        )
        .await?;
    anyhow::ensure!(status == 200, "creating the peer-list room: HTTP {status}");
    let room: serde_json::Value = serde_json::from_slice(&body)?;
    let room_id = room["id"].as_str().context("room id")?.to_owned();
    if let Some(server) = &local {
        server.join_peers(&room_id, args.peers).await?;
    }
    let path = format!("/v2/active-rooms/{room_id}/peers");
    let list = measure(&target, args.connections, args.requests, move |_| {
        ("GET", path.clone(), None)
    })
    .await?;

    if let Some(server) = local {
        server.stop().await;
    }
    let all = combine(&create, &list);
    let result = ApiBench {
        requests_per_s: all.requests_per_s,
        p50_ms: all.p50_ms,
        p99_ms: all.p99_ms,
        connections: args.connections,
        room_create: create.figures,
        peer_list: list.figures,
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&result)?);
    } else {
        println!(
            "{:<12} {:>10} {:>14} {:>10} {:>10}",
            "workload", "requests", "requests/s", "p50 ms", "p99 ms"
        );
        for (name, f) in [
            ("room create", &result.room_create),
            ("peer list", &result.peer_list),
        ] {
            println!(
                "{name:<12} {:>10} {:>14.0} {:>10.2} {:>10.2}",
                f.requests, f.requests_per_s, f.p50_ms, f.p99_ms
            );
        }
        println!(
            "{:<12} {:>10} {:>14.0} {:>10.2} {:>10.2}",
            "all", all.requests, all.requests_per_s, all.p50_ms, all.p99_ms
        );
    }
    Ok(result)
}

struct Measured {
    figures: Figures,
    latencies: Vec<Duration>,
    elapsed: Duration,
}

/// Sends `total` requests from `connections` workers, each waiting for its
/// response before the next request, and measures each round trip. Any non-2xx
/// answer fails the benchmark.
async fn measure<F>(
    target: &Arc<Target>,
    connections: usize,
    total: usize,
    make: F,
) -> anyhow::Result<Measured>
where
    F: Fn(usize) -> (&'static str, String, Option<String>) + Send + Sync + 'static,
{
    let make = Arc::new(make);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let mut workers = Vec::with_capacity(connections);
    for _ in 0..connections {
        let target = target.clone();
        let make = make.clone();
        let next = next.clone();
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= total {
                    return Ok::<_, anyhow::Error>(latencies);
                }
                let (method, path, body) = make(i);
                let t = Instant::now();
                let (status, bytes) = target.request(method, &path, body).await?;
                latencies.push(t.elapsed());
                anyhow::ensure!(
                    (200..300).contains(&status),
                    "{method} {path}: HTTP {status}: {}",
                    String::from_utf8_lossy(&bytes)
                );
            }
        }));
    }
    let mut latencies = Vec::with_capacity(total);
    for w in workers {
        latencies.extend(w.await??);
    }
    let elapsed = started.elapsed();
    latencies.sort_unstable();
    Ok(Measured {
        figures: figures(&latencies, elapsed),
        latencies,
        elapsed,
    })
}

fn figures(sorted: &[Duration], elapsed: Duration) -> Figures {
    let pct = |p: f64| {
        if sorted.is_empty() {
            return 0.0;
        }
        let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
        sorted[i].as_secs_f64() * 1000.0
    };
    Figures {
        requests: sorted.len(),
        requests_per_s: sorted.len() as f64 / elapsed.as_secs_f64().max(1e-9),
        p50_ms: pct(0.50),
        p99_ms: pct(0.99),
    }
}

fn combine(a: &Measured, b: &Measured) -> Figures {
    let mut all: Vec<Duration> = a.latencies.iter().chain(&b.latencies).copied().collect();
    all.sort_unstable();
    figures(&all, a.elapsed + b.elapsed)
}

/// The API served from this process over the embedded store in a temporary
/// directory.
struct LocalServer {
    addr: std::net::SocketAddr,
    workspace: Workspace,
    state: AppState,
    embedded: Arc<caucus_eventlog::EmbeddedLog>,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    _dir: tempfile::TempDir,
}

impl LocalServer {
    async fn start() -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let log_dir = dir.path().join("log");
        let embedded =
            tokio::task::spawn_blocking(move || caucus_eventlog::EmbeddedLog::open(&log_dir))
                .await??;
        let metrics = Metrics::new();
        let log: Arc<dyn EventLog> = embedded.clone();
        let log = MeteredLog::wrap(log, metrics.clone());
        let engine = Engine::start(log, None).await?;
        let workspace = Workspace::generate("bench");
        let workspaces = Arc::new(WorkspaceStore::in_memory(vec![workspace.clone()]));
        let state = AppState::new(engine, workspaces, metrics, None).await?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(caucus_api::serve(listener, state.clone(), async {
            let _ = stopped.await;
        }));
        Ok(Self {
            addr,
            workspace,
            state,
            embedded,
            stop,
            task,
            _dir: dir,
        })
    }

    async fn join_peers(&self, room_id: &str, n: usize) -> anyhow::Result<()> {
        use caucus_domain::room::JoinPeer;
        use caucus_domain::{PeerId, RoleName, SessionId, UserId};
        for i in 0..n {
            let cmd = JoinPeer {
                peer_id: PeerId::new(uuid::Uuid::new_v4().to_string())?,
                user_id: UserId::new(format!("user-{i}"))?,
                name: format!("peer {i}"),
                metadata: String::new(),
                role: RoleName::new(if i == 0 { "host" } else { "guest" })?,
                session_id: SessionId::new(self.state.new_id())?,
                roles: None,
                at: self.state.now(),
            };
            let done = self
                .state
                .engine()
                .rooms
                .execute(room_id, cmd.into(), caucus_eventlog::Metadata::default())
                .await?;
            if let Some(o) = done.outcome {
                self.state.engine().live.wait_for(o.last_position).await?;
            }
        }
        Ok(())
    }

    async fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
        drop(self.state);
        self.embedded.close().await;
    }
}
