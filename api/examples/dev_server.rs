//! A throwaway API server on an in-memory log, for trying the API (and running
//! the Node SDK and schemathesis suites) without the `caucus` binary:
//!
//! ```text
//! CAUCUS_ACCESS_KEY=key CAUCUS_SECRET=0123456789abcdef0123 \
//!   cargo run -p caucus-api --example dev_server -- --http 127.0.0.1:8080
//! ```
//!
//! It takes `--http ADDR` like `caucus serve` (and ignores other arguments), so
//! `tests/node/run.sh` and `tests/schemathesis/run.sh` can run against either.
//!
//! Without the two variables a workspace is generated and printed. Nothing
//! survives a restart.

use std::sync::Arc;

use caucus_api::{AppState, MeteredLog, Metrics, Secret, Workspace, WorkspaceStore};
use caucus_eventlog::{EventLog, MemoryLog};
use caucus_projections::Engine;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let addr = args
        .iter()
        .position(|a| a == "--http")
        .and_then(|i| args.get(i + 1).cloned())
        .unwrap_or_else(|| "127.0.0.1:8080".into());
    let mut ws = Workspace::generate("default");
    match (
        std::env::var("CAUCUS_ACCESS_KEY"),
        std::env::var("CAUCUS_SECRET"),
    ) {
        (Ok(k), Ok(s)) => {
            ws.access_key = k;
            ws.secret = Secret::new(s);
        }
        _ => println!(
            "access key: {}\nsecret:     {}",
            ws.access_key,
            ws.secret.expose()
        ),
    }
    let metrics = Metrics::new();
    let log: Arc<dyn EventLog> = MemoryLog::new();
    let log = MeteredLog::wrap(log, metrics.clone());
    let engine = Engine::start(log, None).await?;
    let workspaces = Arc::new(WorkspaceStore::in_memory(vec![ws]));
    let state = AppState::new(engine, workspaces, metrics, None).await?;
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("listening on http://{}", listener.local_addr()?);
    caucus_api::serve(listener, state, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(())
}
