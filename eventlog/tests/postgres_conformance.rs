//! The shared conformance suite against the PostgreSQL store, one scratch
//! database per case (see `pg/mod.rs` for how the server is chosen).

#![cfg(feature = "postgres")]

mod pg;

use std::sync::Arc;

use caucus_eventlog::EventLog;
use caucus_eventlog::conformance::StoreFactory;
use caucus_eventlog::postgres::PostgresLog;

struct Postgres;

#[async_trait::async_trait]
impl StoreFactory for Postgres {
    type Handle = pg::ScratchDb;

    async fn create(&self) -> (Arc<dyn EventLog>, Self::Handle) {
        let db = pg::ScratchDb::create().await;
        let log: Arc<dyn EventLog> = db.open().await;
        (log, db)
    }

    async fn reopen(&self, handle: &mut Self::Handle) -> Arc<dyn EventLog> {
        let log: Arc<PostgresLog> = handle.open().await;
        log
    }
}

caucus_eventlog::conformance_tests!(Postgres);
