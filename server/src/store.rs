//! Opens the log that `--data` / `--store` name.

use std::sync::Arc;

use anyhow::Context;
use caucus_eventlog::EventLog;

use crate::cli::StoreArgs;

/// An opened log and how to shut it down cleanly.
pub struct OpenedStore {
    pub log: Arc<dyn EventLog>,
    /// Where projection snapshots go (embedded store only; PostgreSQL-backed
    /// nodes rebuild from the shared log).
    pub snapshots: Option<std::path::PathBuf>,
    pub description: String,
    closer: Closer,
}

enum Closer {
    Embedded(Arc<caucus_eventlog::embedded::EmbeddedLog>),
    Postgres,
}

impl OpenedStore {
    /// Flushes and closes the store.
    pub async fn close(self) {
        drop(self.log);
        match self.closer {
            Closer::Embedded(log) => log.close().await,
            Closer::Postgres => {}
        }
    }
}

/// Opens the store: PostgreSQL when `--store postgres://…`, otherwise the
/// embedded store in `--data`.
pub async fn open(args: &StoreArgs) -> anyhow::Result<OpenedStore> {
    match &args.store {
        Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            let log = caucus_eventlog::postgres::PostgresLog::connect(url)
                .await
                .with_context(|| format!("opening the PostgreSQL log at {}", redact(url)))?;
            Ok(OpenedStore {
                log,
                snapshots: None,
                description: format!("PostgreSQL {}", redact(url)),
                closer: Closer::Postgres,
            })
        }
        Some(other) => anyhow::bail!(
            "unsupported --store {other:?}: use postgres://… or leave it out for the embedded store"
        ),
        None => open_embedded(&args.data).await,
    }
}

pub async fn open_embedded(dir: &std::path::Path) -> anyhow::Result<OpenedStore> {
    let log_dir = dir.join("log");
    let opening = log_dir.clone();
    // Opening scans and checks the segments: blocking file I/O.
    let log =
        tokio::task::spawn_blocking(move || caucus_eventlog::embedded::EmbeddedLog::open(&opening))
            .await?
            .with_context(|| format!("opening the embedded log in {}", log_dir.display()))?;
    Ok(OpenedStore {
        log: log.clone(),
        snapshots: Some(dir.join("projections")),
        description: format!("embedded store in {}", dir.display()),
        closer: Closer::Embedded(log),
    })
}

/// The URL without its password, for messages and logs.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let userinfo = &url[s + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..s + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}
