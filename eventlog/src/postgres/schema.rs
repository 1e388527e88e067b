//! Versioned schema migrations, embedded in the binary.
//!
//! [`migrate`] applies the missing ones in one transaction under an advisory
//! lock, so two nodes starting together never race, and refuses a database whose
//! schema is newer than this build knows.

use tokio_postgres::Client;

use crate::error::OpenError;

/// One schema step. Released migrations are never edited: add a new one.
#[derive(Debug)]
struct Migration {
    version: u32,
    name: &'static str,
    sql: &'static str,
}

const MIGRATIONS: &[Migration] = &[Migration {
    version: 1,
    name: "log",
    sql: include_str!("migrations/0001_log.sql"),
}];

/// The newest schema version this build knows.
pub const SCHEMA_VERSION: u32 = 1;

/// Key of the advisory lock that serialises migrations (`caucus` in ASCII).
const MIGRATION_LOCK: i64 = 0x6361_7563_7573;

const BOOKKEEPING: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (
    version    integer     PRIMARY KEY,
    name       text        NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)";

/// Brings the schema up to [`SCHEMA_VERSION`]; returns the versions applied.
pub(crate) async fn migrate(client: &mut Client) -> Result<Vec<u32>, OpenError> {
    let db = |e: tokio_postgres::Error| {
        OpenError::Other(format!("migration failed: {}", super::describe(&e)))
    };
    let tx = client.transaction().await.map_err(db)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await
        .map_err(db)?;
    // `IF NOT EXISTS` would otherwise log a NOTICE on every start.
    tx.batch_execute("SET LOCAL client_min_messages = warning")
        .await
        .map_err(db)?;
    tx.batch_execute(BOOKKEEPING).await.map_err(db)?;
    let found: Option<i32> = tx
        .query_one("SELECT max(version) FROM schema_migrations", &[])
        .await
        .map_err(db)?
        .get(0);
    let found = found.map_or(0, |v| u32::try_from(v).unwrap_or(0));
    if found > SCHEMA_VERSION {
        return Err(OpenError::UnsupportedVersion {
            found,
            supported: SCHEMA_VERSION,
        });
    }
    let mut applied = Vec::new();
    for m in MIGRATIONS.iter().filter(|m| m.version > found) {
        tx.batch_execute(m.sql).await.map_err(|e| {
            OpenError::Other(format!(
                "migration {} ({}) failed: {}",
                m.version,
                m.name,
                super::describe(&e)
            ))
        })?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
            &[&(m.version as i32), &m.name],
        )
        .await
        .map_err(db)?;
        applied.push(m.version);
    }
    tx.commit().await.map_err(db)?;
    Ok(applied)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_numbered_densely_up_to_the_schema_version() {
        for (i, m) in MIGRATIONS.iter().enumerate() {
            assert_eq!(m.version as usize, i + 1, "migration {}", m.name);
        }
        assert_eq!(MIGRATIONS.last().map(|m| m.version), Some(SCHEMA_VERSION));
    }
}
