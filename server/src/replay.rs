//! `caucus replay`: a room's state at a moment, and its event history.
//!
//! Reads the room's stream, folds the events whose moment (`at`) is not after
//! `--at` with the domain's `evolve`, and prints the state plus every event up
//! to then — as one JSON document, or as CSV rows (one per event) for
//! spreadsheets.

use anyhow::Context;
use caucus_domain::{Aggregate, DomainEvent, Room, RoomEvent, RoomId, Timestamp};
use caucus_eventlog::{RecordedEvent, StreamName};
use serde::Serialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::cli::{ReplayArgs, ReplayFormat};

/// One event of the history, as printed.
#[derive(Debug, Serialize)]
struct HistoryEntry {
    position: u64,
    revision: u64,
    /// When the fact happened.
    at: String,
    /// When the log committed it.
    recorded_at: String,
    #[serde(rename = "type")]
    event_type: String,
    schema_version: u16,
    actor: Option<String>,
    data: serde_json::Value,
}

pub async fn run(args: ReplayArgs) -> anyhow::Result<()> {
    let room: RoomId = args.room.parse().context("--room")?;
    let until = args
        .at
        .as_deref()
        .map(parse_rfc3339)
        .transpose()
        .context("--at")?;
    let store = crate::store::open(&args.store).await?;
    let stream = StreamName::of(Room::CATEGORY, room.as_ref())?;
    let recorded = read_stream(store.log.as_ref(), &stream).await?;
    store.close().await;
    if recorded.is_empty() {
        anyhow::bail!("room {room} not found in the log");
    }

    let mut state = <Room as Aggregate>::State::default();
    let mut history = Vec::new();
    for r in &recorded {
        let event: RoomEvent = caucus_projections::decode_event(r)?;
        if until.is_some_and(|u| event.at() > u) {
            break;
        }
        state = Room::evolve(state, &event);
        history.push(entry(r, &event)?);
    }

    let mut out = std::io::stdout().lock();
    match args.format {
        ReplayFormat::Json => {
            let at = until.map_or_else(|| "latest".to_owned(), format_ts);
            let doc = serde_json::json!({ "room_id": room, "at": at, "state": state, "history": history });
            serde_json::to_writer_pretty(&mut out, &doc)?;
            use std::io::Write;
            writeln!(out)?;
        }
        ReplayFormat::Csv => write_csv(&mut out, &history)?,
    }
    Ok(())
}

async fn read_stream(
    log: &dyn caucus_eventlog::EventLog,
    stream: &StreamName,
) -> anyhow::Result<Vec<RecordedEvent>> {
    let mut all = Vec::new();
    loop {
        let page = log.read_stream(stream, all.len() as u64, 4096).await?;
        let n = page.len();
        all.extend(page);
        if n < 4096 {
            return Ok(all);
        }
    }
}

fn entry(r: &RecordedEvent, event: &RoomEvent) -> anyhow::Result<HistoryEntry> {
    let data = match serde_json::to_value(event)? {
        serde_json::Value::Object(mut m) => m.remove("data").unwrap_or_default(),
        other => other,
    };
    Ok(HistoryEntry {
        position: r.position.0,
        revision: r.revision,
        at: format_ts(event.at()),
        recorded_at: format_ts(Timestamp::from_unix_micros(r.recorded_at_us)),
        event_type: event.event_type().to_owned(),
        schema_version: event.schema_version(),
        actor: r.metadata.actor.clone(),
        data,
    })
}

fn write_csv(out: &mut impl std::io::Write, history: &[HistoryEntry]) -> anyhow::Result<()> {
    writeln!(
        out,
        "position,revision,at,recorded_at,type,schema_version,actor,data"
    )?;
    for h in history {
        let fields = [
            h.position.to_string(),
            h.revision.to_string(),
            h.at.clone(),
            h.recorded_at.clone(),
            h.event_type.clone(),
            h.schema_version.to_string(),
            h.actor.clone().unwrap_or_default(),
            h.data.to_string(),
        ];
        let row: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        writeln!(out, "{}", row.join(","))?;
    }
    Ok(())
}

/// Quotes a CSV field when it needs it (RFC 4180).
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

pub fn parse_rfc3339(s: &str) -> anyhow::Result<Timestamp> {
    let t = OffsetDateTime::parse(s, &Rfc3339)
        .with_context(|| format!("{s:?} is not an RFC3339 time"))?;
    let us = t.unix_timestamp_nanos() / 1000;
    Ok(Timestamp::from_unix_micros(i64::try_from(us)?))
}

pub fn format_ts(t: Timestamp) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(t.unix_micros()) * 1000)
        .ok()
        .and_then(|d| d.format(&Rfc3339).ok())
        .unwrap_or_else(|| t.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_only_when_needed() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
    }

    #[test]
    fn rfc3339_round_trips_through_timestamps() {
        let t = parse_rfc3339("2026-11-22T01:02:03.456789Z").unwrap();
        assert_eq!(format_ts(t), "2026-11-22T01:02:03.456789Z");
        assert!(parse_rfc3339("yesterday").is_err());
    }
}
