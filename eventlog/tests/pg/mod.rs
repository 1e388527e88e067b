//! Shared by the PostgreSQL tests: a scratch database per test on the server
//! named by `CAUCUS_TEST_PG` (default `postgres://postgres@127.0.0.1:5432/postgres`).
//!
//! A server that cannot be reached fails the test with a message saying how to
//! point the tests at one; these tests never skip.

#![allow(dead_code)]

use std::sync::Arc;

use caucus_eventlog::postgres::PostgresLog;
use caucus_eventlog::{Codec, Metadata, NewEvent};
use tokio_postgres::NoTls;
use uuid::Uuid;

pub const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// The administrative URL the tests use.
pub fn admin_url() -> String {
    std::env::var("CAUCUS_TEST_PG").unwrap_or_else(|_| DEFAULT_URL.to_owned())
}

/// `url` with its database name replaced by `db`.
pub fn with_database(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (url, String::new()),
    };
    let after_scheme = base.find("://").map_or(0, |i| i + 3);
    let base = match base[after_scheme..].find('/') {
        Some(i) => &base[..after_scheme + i],
        None => base,
    };
    format!("{base}/{db}{query}")
}

/// Runs `sql` on the administrative database.
pub async fn admin(sql: &str) -> Result<(), tokio_postgres::Error> {
    let (client, conn) = tokio_postgres::connect(&admin_url(), NoTls).await?;
    let driver = tokio::spawn(conn);
    let r = client.batch_execute(sql).await;
    drop(client);
    let _ = driver.await;
    r
}

/// A database made for one test and dropped (forcibly) when this is dropped.
#[derive(Debug)]
pub struct ScratchDb {
    pub name: String,
    pub url: String,
}

impl ScratchDb {
    pub async fn create() -> Self {
        let name = format!("caucus_test_{}", Uuid::new_v4().simple());
        if let Err(e) = admin(&format!("CREATE DATABASE {name}")).await {
            panic!(
                "cannot create a scratch database on the PostgreSQL at {} ({e}). \
                 These tests need a running PostgreSQL: start it, or set CAUCUS_TEST_PG \
                 to a URL whose user may CREATE DATABASE.",
                admin_url()
            );
        }
        let url = with_database(&admin_url(), &name);
        Self { name, url }
    }

    pub async fn open(&self) -> Arc<PostgresLog> {
        PostgresLog::connect(&self.url)
            .await
            .unwrap_or_else(|e| panic!("cannot open the log in {}: {e}", self.name))
    }

    /// A plain connection to the scratch database, driven on a task.
    pub async fn client(&self) -> tokio_postgres::Client {
        let (client, conn) = tokio_postgres::connect(&self.url, NoTls)
            .await
            .unwrap_or_else(|e| panic!("cannot connect to {}: {e}", self.name));
        tokio::spawn(conn);
        client
    }
}

impl Drop for ScratchDb {
    fn drop(&mut self) {
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        // Drop may run inside a runtime: use a thread with its own.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            rt.block_on(admin(&sql)).ok()
        })
        .join();
    }
}

/// A distinct event of about 300 bytes.
pub fn event(n: u64) -> NewEvent {
    NewEvent {
        event_id: Uuid::now_v7(),
        event_type: "PeerJoined".into(),
        schema_version: 1,
        codec: Codec::Bincode2,
        payload: format!("{n:0>280}").into_bytes(),
        metadata: Metadata {
            actor: Some("peer:test".into()),
            correlation_id: Some(Uuid::new_v4()),
            causation_id: None,
        },
    }
}
