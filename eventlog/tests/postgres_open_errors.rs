//! Opening the PostgreSQL store fails fast with a typed error on bad input: a
//! malformed URL, a port nobody listens on, a missing database, a schema
//! written by a newer Caucus. Migrating twice is a no-op.

#![cfg(feature = "postgres")]

mod pg;

use std::time::{Duration, Instant};

use caucus_eventlog::OpenError;
use caucus_eventlog::postgres::{self, PostgresLog, SCHEMA_VERSION};

#[tokio::test]
async fn malformed_url_is_refused() {
    let err = PostgresLog::connect("postgres://user@host:notaport/db")
        .await
        .expect_err("a malformed URL must not open");
    assert!(
        matches!(&err, OpenError::Other(m) if m.contains("invalid PostgreSQL URL")),
        "{err:?}"
    );
}

#[tokio::test]
async fn unreachable_port_fails_fast() {
    let started = Instant::now();
    let err = PostgresLog::connect("postgres://postgres@127.0.0.1:1/postgres")
        .await
        .expect_err("nothing listens on port 1");
    assert!(
        matches!(&err, OpenError::Connect(m) if m.contains("127.0.0.1:1")),
        "{err:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "took {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn missing_database_is_a_connect_error() {
    let url = pg::with_database(&pg::admin_url(), "caucus_no_such_database");
    let err = PostgresLog::connect(&url)
        .await
        .expect_err("no such database");
    assert!(
        matches!(&err, OpenError::Connect(m) if m.contains("caucus_no_such_database")),
        "{err:?}"
    );
}

#[tokio::test]
async fn newer_schema_is_refused_and_left_alone() {
    let db = pg::ScratchDb::create().await;
    assert_eq!(postgres::migrate(&db.url).await.unwrap(), vec![1]);
    assert_eq!(postgres::migrate(&db.url).await.unwrap(), Vec::<u32>::new());

    let client = db.client().await;
    client
        .batch_execute(
            "INSERT INTO schema_migrations (version, name) VALUES (99, 'from the future')",
        )
        .await
        .unwrap();

    for err in [
        PostgresLog::connect(&db.url)
            .await
            .expect_err("newer schema"),
        postgres::migrate(&db.url).await.expect_err("newer schema"),
    ] {
        assert!(
            matches!(err, OpenError::UnsupportedVersion { found: 99, supported } if supported == SCHEMA_VERSION),
            "{err:?}"
        );
    }
    let versions: Vec<i32> = client
        .query(
            "SELECT version FROM schema_migrations ORDER BY version",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(versions, vec![1, 99]);
}
