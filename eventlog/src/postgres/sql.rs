//! The SQL the store runs, and decoding of event rows.

use std::time::{SystemTime, UNIX_EPOCH};

use tokio_postgres::Row;

use crate::error::ReadError;
use crate::types::{Codec, Metadata, Position, RecordedEvent, StreamName};

/// The channel append transactions notify at commit. A wake-up only.
pub(crate) const CHANNEL: &str = "caucus_log";

/// Step 1 of an append group: lock every stream of the group, in name order so
/// two groups never deadlock, creating missing ones at revision -1, and return
/// their last revisions. `ON CONFLICT DO UPDATE` takes the row lock even when
/// the row exists.
pub(crate) const LOCK_STREAMS: &str = "\
INSERT INTO streams (stream_id, category, partition_id, revision)
SELECT s, c, 0, -1 FROM unnest($1::text[], $2::text[]) AS t(s, c) ORDER BY s
ON CONFLICT (stream_id) DO UPDATE SET revision = streams.revision
RETURNING stream_id, revision";

/// The event columns every read selects, in [`decode`]'s order.
const COLUMNS: &str = "event_id, stream_id, revision, position, event_type, schema_version, \
codec, data, actor, correlation_id, causation_id, recorded_at";

/// Step 1 too: what is already stored under the group's event ids.
pub(crate) fn load_ids() -> String {
    format!("SELECT {COLUMNS} FROM events WHERE event_id = ANY($1::uuid[])")
}

/// Step 2: take the partition's head row (last, just before inserting), insert
/// the group's events at consecutive positions, move the streams' revisions,
/// and queue the wake-up, which PostgreSQL delivers only at commit.
/// `$1` is the number of events; returns the first position.
pub(crate) const COMMIT_GROUP: &str = "\
WITH head AS (
  UPDATE log_partitions SET next_position = next_position + $1
  WHERE partition_id = 0
  RETURNING next_position - $1 AS base
), ins AS (
  INSERT INTO events (partition_id, position, stream_id, revision, event_id, event_type,
                      schema_version, codec, data, actor, correlation_id, causation_id)
  SELECT 0, head.base + t.ord - 1, t.stream_id, t.revision, t.event_id, t.event_type,
         t.schema_version, t.codec, t.data, t.actor, t.correlation_id, t.causation_id
  FROM head, unnest($2::text[], $3::int8[], $4::uuid[], $5::text[], $6::int4[], $7::int2[],
                    $8::bytea[], $9::text[], $10::uuid[], $11::uuid[])
       WITH ORDINALITY AS t(stream_id, revision, event_id, event_type, schema_version, codec,
                            data, actor, correlation_id, causation_id, ord)
), upd AS (
  UPDATE streams SET revision = u.revision
  FROM unnest($12::text[], $13::int8[]) AS u(stream_id, revision)
  WHERE streams.stream_id = u.stream_id
)
SELECT base, pg_notify('caucus_log', (base + $1 - 1)::text) FROM head";

/// Events with `$1 < position <= $2`. Positions are dense, so the range holds
/// exactly the next `$2 - $1` events; a bounded range also keeps the planner
/// on the primary key even when its statistics lag behind a growing table.
pub(crate) fn read_all() -> String {
    format!(
        "SELECT {COLUMNS} FROM events WHERE partition_id = 0 AND position > $1 \
         AND position <= $2 ORDER BY position"
    )
}

/// Events of stream `$1` with `$2 <= revision < $3` (dense, like positions).
pub(crate) fn read_stream() -> String {
    format!(
        "SELECT {COLUMNS} FROM events WHERE stream_id = $1 AND revision >= $2 \
         AND revision < $3 ORDER BY revision"
    )
}

pub(crate) const STREAM_REVISION: &str = "SELECT revision FROM streams WHERE stream_id = $1";

/// The committed head: every position below `next_position` is committed.
pub(crate) const HEAD: &str = "SELECT next_position FROM log_partitions WHERE partition_id = 0";

pub(crate) const LOAD_CHECKPOINT: &str =
    "SELECT position FROM subscription_checkpoints WHERE name = $1 AND partition_id = 0";

pub(crate) const LIST_CHECKPOINTS: &str = "SELECT name, position FROM subscription_checkpoints \
WHERE partition_id = 0 ORDER BY name COLLATE \"C\"";

pub(crate) const SAVE_CHECKPOINT: &str = "\
INSERT INTO subscription_checkpoints (name, partition_id, position) VALUES ($1, 0, $2)
ON CONFLICT (name, partition_id) DO UPDATE SET position = EXCLUDED.position";

/// The last committed position from the head row's `next_position`.
pub(crate) fn head_from_next(next: i64) -> Option<Position> {
    u64::try_from(next - 1).ok().map(Position)
}

/// Decodes a row selected with the event columns.
pub(crate) fn decode(row: &Row) -> Result<RecordedEvent, ReadError> {
    let corrupt = |what: String| ReadError::Corrupt(format!("events row: {what}"));
    let get_err = |e: tokio_postgres::Error| corrupt(e.to_string());
    let position: i64 = row.try_get(3).map_err(get_err)?;
    let stream: String = row.try_get(1).map_err(get_err)?;
    let stream = StreamName::new(stream).map_err(|e| corrupt(format!("at {position}: {e}")))?;
    let revision: i64 = row.try_get(2).map_err(get_err)?;
    let schema_version: i32 = row.try_get(5).map_err(get_err)?;
    let codec: i16 = row.try_get(6).map_err(get_err)?;
    let at = |what: &str| corrupt(format!("at {position}: {what}"));
    Ok(RecordedEvent {
        event_id: row.try_get(0).map_err(get_err)?,
        stream,
        revision: u64::try_from(revision).map_err(|_| at("negative revision"))?,
        position: Position(u64::try_from(position).map_err(|_| at("negative position"))?),
        event_type: row.try_get(4).map_err(get_err)?,
        schema_version: u16::try_from(schema_version)
            .map_err(|_| at("schema version out of range"))?,
        codec: u8::try_from(codec)
            .ok()
            .and_then(Codec::from_u8)
            .ok_or_else(|| at("unknown codec"))?,
        payload: row.try_get(7).map_err(get_err)?,
        metadata: Metadata {
            actor: row.try_get(8).map_err(get_err)?,
            correlation_id: row.try_get(9).map_err(get_err)?,
            causation_id: row.try_get(10).map_err(get_err)?,
        },
        recorded_at_us: micros(row.try_get(11).map_err(get_err)?),
    })
}

/// Microseconds since the Unix epoch (negative before it).
fn micros(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_micros()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_micros()).unwrap_or(i64::MAX),
    }
}
