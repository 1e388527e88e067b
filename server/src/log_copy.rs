//! `caucus log copy --from DIR|postgres://… --to DIR|postgres://…`: moves a log
//! between stores, keeping event ids, stream revisions and the global order.
//!
//! The source is read in position order and appended to the (empty) target
//! run by run, a run being consecutive events of one stream, with the exact
//! expected revision. One append at a time, so the target assigns the same
//! positions; every outcome is checked against the source, and a mismatch stops
//! the copy. Then every consumer checkpoint is copied as it is (positions are
//! kept, so they stay valid; a webhook consumer thus does not deliver the
//! copied history again). `recorded_at` is the target's commit time: an append
//! cannot carry the original one (see `docs/postgres-log.md`).

use std::collections::HashSet;
use std::path::Path;
use std::time::Instant;

use anyhow::{Context, bail, ensure};
use caucus_eventlog::rules::{Limits, event_size};
use caucus_eventlog::{EventLog, ExpectedRevision, NewEvent, Position, RecordedEvent};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use crate::migrate::is_postgres;

/// Events read from the source per page.
const PAGE: usize = 4096;

/// What a copy moved.
#[derive(Debug, Clone, Serialize)]
pub struct CopyReport {
    pub events: u64,
    pub streams: u64,
    pub appends: u64,
    pub checkpoints: u64,
    pub seconds: f64,
}

impl std::fmt::Display for CopyReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "copied {} events of {} streams in {} appends and {} consumer checkpoints, {:.1} s",
            self.events, self.streams, self.appends, self.checkpoints, self.seconds
        )
    }
}

/// Opens both stores and copies `from` into `to`.
pub async fn run(from: &str, to: &str, progress: bool) -> anyhow::Result<CopyReport> {
    let source = open(from)
        .await
        .with_context(|| format!("cannot open the source {from}"))?;
    let target = open(to)
        .await
        .with_context(|| format!("cannot open the target {to}"))?;
    let report = copy(source.log.as_ref(), target.log.as_ref(), progress).await;
    source.close().await;
    target.close().await;
    report
}

/// Opens the store a `--from`/`--to` value names: a PostgreSQL URL, or the data
/// directory of an embedded store (the same `--data` directory `caucus serve` uses).
pub async fn open(spec: &str) -> anyhow::Result<crate::store::OpenedStore> {
    let args = crate::cli::StoreArgs {
        data: Path::new(spec).to_owned(),
        store: is_postgres(spec).then(|| spec.to_owned()),
    };
    crate::store::open(&args).await
}

/// Copies every event of `from` into the empty `to`, in position order.
pub async fn copy(
    from: &dyn EventLog,
    to: &dyn EventLog,
    progress: bool,
) -> anyhow::Result<CopyReport> {
    ensure!(
        to.read_all(None, 1).await?.is_empty(),
        "the target log is not empty; copy only into a new store"
    );
    let started = Instant::now();
    let total = from.head().borrow().map_or(0, |p| p.0 + 1);
    let bar = if progress {
        ProgressBar::new(total)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} events ({per_sec}, eta {eta})",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );

    let limits = Limits::default();
    let mut streams = HashSet::new();
    let (mut events, mut appends) = (0u64, 0u64);
    let mut cursor = None;
    loop {
        let page = from.read_all(cursor, PAGE).await?;
        let Some(last) = page.last() else { break };
        cursor = Some(last.position);
        for run in runs(&page, &limits) {
            append_run(to, run).await?;
            streams.insert(run[0].stream.clone());
            events += run.len() as u64;
            appends += 1;
            bar.inc(run.len() as u64);
        }
        if bar.length().is_some_and(|len| len < events) {
            bar.set_length(events);
        }
    }
    bar.finish_and_clear();
    let checkpoints = copy_checkpoints(from, to, cursor).await?;
    Ok(CopyReport {
        events,
        streams: streams.len() as u64,
        appends,
        checkpoints,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Copies every consumer checkpoint of `from` into `to`. A checkpoint past the
/// last copied event (`last`) stops the copy: the source moved on while it ran.
async fn copy_checkpoints(
    from: &dyn EventLog,
    to: &dyn EventLog,
    last: Option<Position>,
) -> anyhow::Result<u64> {
    let checkpoints = from
        .checkpoints()
        .await
        .context("cannot list the source's consumer checkpoints")?;
    for (name, position) in &checkpoints {
        ensure!(
            Some(*position) <= last,
            "the source's checkpoint {name} is at {position}, past the last copied event; \
             was the source in use during the copy? Discard the target and copy again"
        );
        to.save_checkpoint(name, *position)
            .await
            .with_context(|| format!("cannot save the checkpoint {name} in the target"))?;
    }
    Ok(checkpoints.len() as u64)
}

/// Splits a page into runs of consecutive events of one stream that fit in one
/// append.
fn runs<'a>(page: &'a [RecordedEvent], limits: &Limits) -> Vec<&'a [RecordedEvent]> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut bytes = 0;
    for (i, e) in page.iter().enumerate() {
        let size = event_size(&new_event(e));
        let same = i > start
            && e.stream == page[start].stream
            && e.revision == page[i - 1].revision + 1
            && i - start < limits.max_batch_events
            && bytes + size <= limits.max_batch_bytes;
        if i > start && !same {
            out.push(&page[start..i]);
            start = i;
            bytes = 0;
        }
        bytes += size;
    }
    if start < page.len() {
        out.push(&page[start..]);
    }
    out
}

fn new_event(e: &RecordedEvent) -> NewEvent {
    NewEvent {
        event_id: e.event_id,
        event_type: e.event_type.clone(),
        schema_version: e.schema_version,
        codec: e.codec,
        payload: e.payload.clone(),
        metadata: e.metadata.clone(),
    }
}

async fn append_run(to: &dyn EventLog, run: &[RecordedEvent]) -> anyhow::Result<()> {
    let (first, last) = (&run[0], &run[run.len() - 1]);
    let expected = match first.revision {
        0 => ExpectedRevision::NoStream,
        r => ExpectedRevision::Exact(r - 1),
    };
    let outcome = to
        .append(&first.stream, expected, run.iter().map(new_event).collect())
        .await
        .with_context(|| {
            format!(
                "cannot append {} at position {}",
                first.stream, first.position
            )
        })?;
    if outcome.already_appended
        || outcome.first_position != first.position
        || outcome.last_position != last.position
        || outcome.first_revision != first.revision
    {
        bail!(
            "the target placed {} revisions {}..={} at positions {}..={} (already appended: {}), \
             the source has them at {}..={}; the target is not a faithful copy, discard it",
            first.stream,
            outcome.first_revision,
            outcome.last_revision,
            outcome.first_position,
            outcome.last_position,
            outcome.already_appended,
            first.position,
            last.position
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use caucus_eventlog::{Codec, MemoryLog, Metadata, StreamName};
    use uuid::Uuid;

    use super::*;

    fn event(n: u32) -> NewEvent {
        NewEvent {
            event_id: Uuid::new_v4(),
            event_type: "PeerJoined".into(),
            schema_version: 1,
            codec: Codec::Bincode2,
            payload: n.to_le_bytes().to_vec(),
            metadata: Metadata::default(),
        }
    }

    #[tokio::test]
    async fn copy_keeps_ids_revisions_and_positions_and_refuses_a_non_empty_target() {
        let from = MemoryLog::new();
        let rooms: Vec<StreamName> = (0..3)
            .map(|i| StreamName::new(format!("room-{i}")).unwrap())
            .collect();
        for n in 0..60u32 {
            let room = &rooms[(n * 7 % 3) as usize];
            let batch = (0..1 + n % 3).map(|k| event(n * 10 + k)).collect();
            from.append(room, ExpectedRevision::Any, batch)
                .await
                .unwrap();
        }
        from.save_checkpoint("live-rooms", Position(17))
            .await
            .unwrap();
        from.save_checkpoint("webhook-ep1", Position(3))
            .await
            .unwrap();
        let to = MemoryLog::new();
        let report = copy(from.as_ref(), to.as_ref(), false).await.unwrap();
        assert_eq!(report.checkpoints, 2);
        assert_eq!(
            to.checkpoints().await.unwrap(),
            from.checkpoints().await.unwrap()
        );
        let (a, b) = (
            from.read_all(None, usize::MAX).await.unwrap(),
            to.read_all(None, usize::MAX).await.unwrap(),
        );
        assert_eq!(report.events, a.len() as u64);
        assert_eq!(report.streams, 3);
        let key = |e: &RecordedEvent| (e.event_id, e.stream.clone(), e.revision, e.position);
        assert_eq!(
            a.iter().map(key).collect::<Vec<_>>(),
            b.iter().map(key).collect::<Vec<_>>()
        );
        assert!(a.iter().zip(&b).all(|(x, y)| new_event(x).same_content(y)));

        let err = copy(from.as_ref(), to.as_ref(), false).await.unwrap_err();
        assert!(err.to_string().contains("not empty"), "{err}");
    }
}
