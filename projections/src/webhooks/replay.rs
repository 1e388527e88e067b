//! Redelivery: read selected events back from the log, rebuild their payloads
//! (same ids, same bytes) and deliver them in position order.

use caucus_domain::Timestamp;
use caucus_eventlog::{EventLog, Position};

use super::delivery::{ConsumerError, Contexts, select};
use super::endpoint::{Endpoint, EndpointStore};
use super::journal::DeadLetter;
use super::payload::Payload;

/// Most payloads one redelivery request may select (100ms: 50 000).
pub const MAX_REDELIVERY: usize = 50_000;

/// What to redeliver.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Selection {
    /// The webhooks of the event at this position.
    Position(u64),
    /// Every dead letter.
    DeadLetters,
    /// Events with `from <= position <= to`.
    Positions { from: u64, to: u64 },
    /// Events recorded with `after <= time < before`.
    Time { after: Timestamp, before: Timestamp },
}

/// Why a redelivery request was refused.
#[derive(Debug, thiserror::Error)]
pub enum RedeliverError {
    #[error("the selection holds more than {MAX_REDELIVERY} webhooks; narrow it")]
    TooMany,
    #[error("invalid range: {0}")]
    BadRange(String),
    #[error(transparent)]
    Consumer(#[from] ConsumerError),
}

/// The payloads `selection` names for `endpoint`, in position order.
pub(crate) async fn collect(
    log: &dyn EventLog,
    store: &EndpointStore,
    endpoint: &Endpoint,
    selection: &Selection,
    dead: &[DeadLetter],
) -> Result<Vec<Payload>, RedeliverError> {
    let mut ctx = Contexts::default();
    let mut out = Vec::new();
    match selection {
        Selection::Position(p) => {
            out = one(log, &mut ctx, store, endpoint, *p).await?;
        }
        Selection::DeadLetters => {
            // A dead letter is redelivered even if the endpoint's filter changed.
            for d in dead {
                if let Some(e) = read_at(log, d.position).await? {
                    let payloads = ctx.payloads(log, &e).await?;
                    out.extend(payloads.into_iter().filter(|p| {
                        p.webhook_type == d.webhook_type && p.workspace_id == endpoint.workspace_id
                    }));
                }
            }
            out.sort_by_key(|p| p.position);
        }
        Selection::Positions { from, to } => {
            if from > to {
                return Err(RedeliverError::BadRange(
                    "from_position > to_position".into(),
                ));
            }
            scan(
                log,
                &mut ctx,
                store,
                endpoint,
                from.checked_sub(1).map(Position),
                |e| {
                    if e.position.0 > *to {
                        Scan::Stop
                    } else {
                        Scan::Take
                    }
                },
                &mut out,
            )
            .await?;
        }
        Selection::Time { after, before } => {
            if after >= before {
                return Err(RedeliverError::BadRange(
                    "after must be before `before`".into(),
                ));
            }
            let (a, b) = (after.unix_micros(), before.unix_micros());
            scan(
                log,
                &mut ctx,
                store,
                endpoint,
                None,
                |e| {
                    // Recorded times follow positions closely but not strictly: read on
                    // a minute past the end.
                    if e.recorded_at_us >= b.saturating_add(60_000_000) {
                        Scan::Stop
                    } else if e.recorded_at_us >= a && e.recorded_at_us < b {
                        Scan::Take
                    } else {
                        Scan::Skip
                    }
                },
                &mut out,
            )
            .await?;
        }
    }
    Ok(out)
}

enum Scan {
    Take,
    Skip,
    Stop,
}

async fn scan(
    log: &dyn EventLog,
    ctx: &mut Contexts,
    store: &EndpointStore,
    endpoint: &Endpoint,
    mut after: Option<Position>,
    decide: impl Fn(&caucus_eventlog::RecordedEvent) -> Scan,
    out: &mut Vec<Payload>,
) -> Result<(), RedeliverError> {
    loop {
        let page = log
            .read_all(after, 1024)
            .await
            .map_err(ConsumerError::from)?;
        if page.is_empty() {
            return Ok(());
        }
        for e in &page {
            after = Some(e.position);
            match decide(e) {
                Scan::Stop => return Ok(()),
                Scan::Skip => {}
                Scan::Take => {
                    out.extend(select(store, endpoint, ctx.payloads(log, e).await?));
                    if out.len() > MAX_REDELIVERY {
                        return Err(RedeliverError::TooMany);
                    }
                }
            }
        }
    }
}

async fn read_at(
    log: &dyn EventLog,
    position: u64,
) -> Result<Option<caucus_eventlog::RecordedEvent>, ConsumerError> {
    let page = log
        .read_all(position.checked_sub(1).map(Position), 1)
        .await?;
    Ok(page.into_iter().next().filter(|e| e.position.0 == position))
}

async fn one(
    log: &dyn EventLog,
    ctx: &mut Contexts,
    store: &EndpointStore,
    endpoint: &Endpoint,
    position: u64,
) -> Result<Vec<Payload>, RedeliverError> {
    let Some(e) = read_at(log, position).await? else {
        return Ok(Vec::new());
    };
    Ok(select(store, endpoint, ctx.payloads(log, &e).await?))
}
