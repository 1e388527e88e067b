//! `caucus migrate --store postgres://…`: applies the PostgreSQL log's schema
//! migrations explicitly (the server also applies them when it connects).

use anyhow::{Context, bail};
use caucus_eventlog::postgres::{self, SCHEMA_VERSION};

/// Brings the schema of the database at `url` up to this build's version.
/// Refuses a database whose schema is newer than this build knows.
pub async fn run(url: &str) -> anyhow::Result<()> {
    if !is_postgres(url) {
        bail!(
            "caucus migrate applies to PostgreSQL stores (postgres://user@host:port/db); \
             the embedded store upgrades itself when it opens"
        );
    }
    let applied = postgres::migrate(url)
        .await
        .context("cannot migrate the PostgreSQL log")?;
    if applied.is_empty() {
        println!("schema is up to date (version {SCHEMA_VERSION})");
    } else {
        let list: Vec<String> = applied.iter().map(u32::to_string).collect();
        println!(
            "applied migration{} {}; schema is at version {SCHEMA_VERSION}",
            if applied.len() == 1 { "" } else { "s" },
            list.join(", ")
        );
    }
    Ok(())
}

/// Whether a `--store`/`--from`/`--to` value names a PostgreSQL database.
pub fn is_postgres(spec: &str) -> bool {
    spec.starts_with("postgres://") || spec.starts_with("postgresql://")
}
