//! The PostgreSQL store, for several nodes sharing one log.
//!
//! ```text
//! let log = PostgresLog::connect("postgres://caucus@db/caucus").await?; // migrates
//! log.append(&stream, ExpectedRevision::Exact(3), events).await?;       // committed
//! ```
//!
//! Positions come from a counter row (`log_partitions`) that each append
//! transaction locks last, just before inserting, and holds until COMMIT: they
//! are dense, in commit order, and a rollback leaves no gap, so a reader of
//! `position > cursor` never skips an event. NOTIFY only wakes readers. One
//! writer task per log coalesces concurrent appends into one transaction
//! (group commit). See `docs/postgres-log.md`.
//!
//! Layout: [`schema`] (embedded migrations), `sql` (statements and row
//! decoding), `append` (the append protocol inside one transaction), `writer`
//! (group commit), `listener` (LISTEN and polling drive [`EventLog::head`]).

mod append;
mod listener;
pub mod schema;
mod sql;
mod writer;

use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use tokio::sync::{mpsc, oneshot, watch};
use tokio_postgres::NoTls;

#[doc(hidden)]
pub use append::{AppendStatements, begin_append};
#[doc(hidden)]
pub use writer::PreCommitHook;

use crate::error::{AppendError, OpenError, ReadError};
use crate::log::EventLog;
use crate::rules;
use crate::types::{
    AppendOutcome, ExpectedRevision, NewEvent, Position, RecordedEvent, StreamName,
};

pub use schema::SCHEMA_VERSION;

/// Connections in the pool: the writer holds one per group, readers the rest.
const POOL_SIZE: usize = 16;
/// How long a fresh connection may take, unless the URL sets `connect_timeout`.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Appends waiting for the writer before `append` waits for room.
const QUEUE: usize = 4096;

/// The PostgreSQL [`EventLog`]. Open it with [`PostgresLog::connect`].
pub struct PostgresLog {
    pool: Pool,
    jobs: mpsc::Sender<writer::Job>,
    head: Arc<watch::Sender<Option<Position>>>,
    hook: Arc<Mutex<Option<PreCommitHook>>>,
    _stop_listener: oneshot::Sender<()>,
}

impl std::fmt::Debug for PostgresLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresLog")
            .field("head", &*self.head.borrow())
            .finish_non_exhaustive()
    }
}

/// Parses a `postgres://` URL (or key=value string) and applies our defaults.
fn parse_url(url: &str) -> Result<tokio_postgres::Config, OpenError> {
    let mut config = tokio_postgres::Config::from_str(url).map_err(|e| {
        OpenError::Other(format!(
            "invalid PostgreSQL URL (expected postgres://user@host:port/database): {e}"
        ))
    })?;
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(CONNECT_TIMEOUT);
    }
    if config.get_application_name().is_none() {
        config.application_name("caucus");
    }
    Ok(config)
}

/// Where a config points, for messages (never the password).
fn target(config: &tokio_postgres::Config) -> String {
    let host = match config.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
        #[cfg(unix)]
        Some(tokio_postgres::config::Host::Unix(p)) => p.display().to_string(),
        None => "localhost".into(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let db = config
        .get_dbname()
        .or(config.get_user())
        .unwrap_or("postgres");
    format!("{host}:{port}/{db}")
}

/// Opens a plain connection and drives it on a task.
async fn connect_one(config: &tokio_postgres::Config) -> Result<tokio_postgres::Client, OpenError> {
    let (client, connection) = config
        .connect(NoTls)
        .await
        .map_err(|e| OpenError::Connect(format!("{}: {}", target(config), describe(&e))))?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::debug!(error = %e, "postgres connection ended");
        }
    });
    Ok(client)
}

/// Applies the schema migrations this build knows to the database at `url`;
/// returns the versions applied (empty when it was up to date). Refuses a
/// database with a newer schema ([`OpenError::UnsupportedVersion`]).
pub async fn migrate(url: &str) -> Result<Vec<u32>, OpenError> {
    let config = parse_url(url)?;
    let mut client = connect_one(&config).await?;
    schema::migrate(&mut client).await
}

impl PostgresLog {
    /// Connects to the database at `url`, brings its schema up to date and
    /// starts the writer and the head listener. Must run inside a tokio runtime.
    ///
    /// Errors: a malformed URL ([`OpenError::Other`]); a server that is down,
    /// refuses us or lacks the database ([`OpenError::Connect`], within the
    /// connect timeout, 5 s unless the URL sets one); a schema written by a
    /// newer Caucus ([`OpenError::UnsupportedVersion`], nothing changed).
    pub async fn connect(url: &str) -> Result<Arc<Self>, OpenError> {
        let config = parse_url(url)?;
        {
            let mut client = connect_one(&config).await?;
            schema::migrate(&mut client).await?;
        }
        let manager = Manager::from_config(
            config.clone(),
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(Runtime::Tokio1)
            .create_timeout(Some(CONNECT_TIMEOUT))
            .wait_timeout(Some(Duration::from_secs(30)))
            .build()
            .map_err(|e| OpenError::Other(format!("cannot build the connection pool: {e}")))?;
        let next: i64 = {
            let client = pool
                .get()
                .await
                .map_err(|e| OpenError::Connect(format!("{}: {e}", target(&config))))?;
            client
                .query_one(sql::HEAD, &[])
                .await
                .map_err(|e| {
                    OpenError::Other(format!("cannot read the log head: {}", describe(&e)))
                })?
                .get(0)
        };
        let head = Arc::new(watch::channel(sql::head_from_next(next)).0);
        let hook = Arc::new(Mutex::new(None));
        let (jobs, rx) = mpsc::channel(QUEUE);
        tokio::spawn(
            writer::Writer {
                pool: pool.clone(),
                head: head.clone(),
                hook: hook.clone(),
            }
            .run(rx),
        );
        let (stop, stopped) = oneshot::channel();
        tokio::spawn(
            listener::Listener {
                config,
                pool: pool.clone(),
                head: head.clone(),
            }
            .run(stopped),
        );
        Ok(Arc::new(Self {
            pool,
            jobs,
            head,
            hook,
            _stop_listener: stop,
        }))
    }

    /// Installs a hook the writer awaits just before each COMMIT (tests only).
    #[doc(hidden)]
    pub fn set_pre_commit_hook(&self, hook: Option<PreCommitHook>) {
        if let Ok(mut h) = self.hook.lock() {
            *h = hook;
        }
    }

    async fn client(&self) -> Result<deadpool_postgres::Object, ReadError> {
        self.pool
            .get()
            .await
            .map_err(|e| ReadError::Unavailable(format!("no database connection: {e}")))
    }
}

/// An error with its cause: tokio-postgres shows only "db error" for the
/// server's own errors.
fn describe(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{} {}: {}", db.severity(), db.code().code(), db.message()),
        None => match std::error::Error::source(e) {
            Some(cause) => format!("{e}: {cause}"),
            None => e.to_string(),
        },
    }
}

fn read_err(e: tokio_postgres::Error) -> ReadError {
    ReadError::Unavailable(describe(&e))
}

fn clamp(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

#[async_trait]
impl EventLog for PostgresLog {
    async fn append(
        &self,
        stream: &StreamName,
        expected: ExpectedRevision,
        events: Vec<NewEvent>,
    ) -> Result<AppendOutcome, AppendError> {
        rules::validate_batch(&events, &rules::Limits::default())?;
        let (reply, answer) = oneshot::channel();
        let job = writer::Job {
            request: append::Request {
                stream: stream.clone(),
                expected,
                events,
            },
            reply,
        };
        self.jobs.send(job).await.map_err(|_| AppendError::Closed)?;
        answer.await.map_err(|_| AppendError::Closed)?
    }

    async fn read_stream(
        &self,
        stream: &StreamName,
        from_revision: u64,
        max: usize,
    ) -> Result<Vec<RecordedEvent>, ReadError> {
        if max == 0 {
            return Ok(Vec::new());
        }
        let client = self.client().await?;
        let st = client
            .prepare_cached(&sql::read_stream())
            .await
            .map_err(read_err)?;
        let from = i64::try_from(from_revision).unwrap_or(i64::MAX);
        let until = from.saturating_add(clamp(max));
        let rows = client
            .query(&st, &[&stream.as_str(), &from, &until])
            .await
            .map_err(read_err)?;
        rows.iter().map(sql::decode).collect()
    }

    async fn read_all(
        &self,
        after: Option<Position>,
        max: usize,
    ) -> Result<Vec<RecordedEvent>, ReadError> {
        if max == 0 {
            return Ok(Vec::new());
        }
        let client = self.client().await?;
        let st = client
            .prepare_cached(&sql::read_all())
            .await
            .map_err(read_err)?;
        let after = after.map_or(-1, |p| i64::try_from(p.0).unwrap_or(i64::MAX));
        let until = after.saturating_add(clamp(max));
        let rows = client
            .query(&st, &[&after, &until])
            .await
            .map_err(read_err)?;
        rows.iter().map(sql::decode).collect()
    }

    async fn stream_revision(&self, stream: &StreamName) -> Result<Option<u64>, ReadError> {
        let client = self.client().await?;
        let st = client
            .prepare_cached(sql::STREAM_REVISION)
            .await
            .map_err(read_err)?;
        let row = client
            .query_opt(&st, &[&stream.as_str()])
            .await
            .map_err(read_err)?;
        Ok(row.and_then(|r| u64::try_from(r.get::<_, i64>(0)).ok()))
    }

    fn head(&self) -> watch::Receiver<Option<Position>> {
        self.head.subscribe()
    }

    async fn load_checkpoint(&self, consumer: &str) -> Result<Option<Position>, ReadError> {
        let client = self.client().await?;
        let row = client
            .query_opt(sql::LOAD_CHECKPOINT, &[&consumer])
            .await
            .map_err(read_err)?;
        match row {
            None => Ok(None),
            Some(r) => {
                let p: i64 = r.get(0);
                u64::try_from(p)
                    .map(|p| Some(Position(p)))
                    .map_err(|_| ReadError::Corrupt(format!("checkpoint {consumer}: {p}")))
            }
        }
    }

    async fn checkpoints(&self) -> Result<Vec<(String, Position)>, ReadError> {
        let client = self.client().await?;
        let rows = client
            .query(sql::LIST_CHECKPOINTS, &[])
            .await
            .map_err(read_err)?;
        rows.iter()
            .map(|r| {
                let (name, p): (String, i64) = (r.get(0), r.get(1));
                u64::try_from(p)
                    .map(|p| (name.clone(), Position(p)))
                    .map_err(|_| ReadError::Corrupt(format!("checkpoint {name}: {p}")))
            })
            .collect()
    }

    async fn save_checkpoint(&self, consumer: &str, position: Position) -> Result<(), AppendError> {
        let client = self
            .pool
            .get()
            .await
            .map_err(|e| AppendError::Unavailable(format!("no database connection: {e}")))?;
        let p = i64::try_from(position.0)
            .map_err(|_| AppendError::Invalid(format!("position {position} out of range")))?;
        client
            .execute(sql::SAVE_CHECKPOINT, &[&consumer, &p])
            .await
            .map_err(|e| AppendError::Unavailable(describe(&e)))?;
        Ok(())
    }
}
