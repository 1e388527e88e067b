//! One subscriber's group streams of one track: a task that owns the
//! current send stream and follows the fan-out core's [`Step`]s.

use std::time::Duration;

use bytes::Bytes;
use tokio::sync::mpsc;
use web_transport_quinn::{SendStream, Session};

use super::fanout::Step;
use crate::codec::{ErrorCode, GroupHeader};

/// How many steps may wait for a slow stream before the subscriber is
/// restarted at the next group (docs/quic-protocol.md §6).
const QUEUE: usize = 256;

/// The handle the fan-out path sends steps to.
#[derive(Debug)]
pub struct Writer {
    tx: mpsc::Sender<Step>,
}

/// Why a step was not queued.
#[derive(Debug, PartialEq, Eq)]
pub enum Backpressure {
    /// The stream is behind: skip to the next group.
    Full,
    /// The writer ended (the connection or stream is gone).
    Gone,
}

impl Writer {
    /// Starts the writer task on `conn`.
    pub fn spawn(conn: Session) -> Self {
        let (tx, rx) = mpsc::channel(QUEUE);
        tokio::spawn(run(conn, rx));
        Self { tx }
    }

    pub fn push(&self, step: Step) -> Result<(), Backpressure> {
        self.tx.try_send(step).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => Backpressure::Full,
            mpsc::error::TrySendError::Closed(_) => Backpressure::Gone,
        })
    }
}

/// QUIC stream priority: audio before video, newer groups before older.
fn priority(header: u8, group: u64) -> i32 {
    (i32::from(255 - header) << 22) | (group & 0x3F_FFFF) as i32
}

/// The most queued objects written in one call.
const BATCH: usize = 64;

async fn run(conn: Session, mut rx: mpsc::Receiver<Step>) {
    let mut stream: Option<SendStream> = None;
    let mut next: Option<Step> = None;
    loop {
        let step = match next.take() {
            Some(s) => s,
            None => match rx.recv().await {
                Some(s) => s,
                None => break,
            },
        };
        let ok = match step {
            Step::StartGroup {
                alias,
                group,
                priority: p,
                objects,
            } => {
                if let Some(old) = stream.take() {
                    supersede(old);
                }
                let mut head = Vec::new();
                let h = GroupHeader {
                    alias,
                    group,
                    priority: p,
                };
                if h.encode(&mut head).is_err() {
                    break;
                }
                match conn.open_uni().await {
                    Ok(mut s) => {
                        let _ = s.set_priority(priority(p, group));
                        let mut chunks = Vec::with_capacity(objects.len() + 1);
                        chunks.push(Bytes::from(head));
                        chunks.extend(objects);
                        let ok = write_or_reset(&mut s, &mut chunks).await;
                        stream = Some(s);
                        ok
                    }
                    Err(_) => break,
                }
            }
            Step::Object(o) => {
                // Objects queued behind this one go in the same write: the
                // stream takes them without a copy.
                let mut chunks = vec![o];
                while chunks.len() < BATCH {
                    match rx.try_recv() {
                        Ok(Step::Object(o)) => chunks.push(o),
                        Ok(other) => {
                            next = Some(other);
                            break;
                        }
                        Err(_) => break,
                    }
                }
                match stream.as_mut() {
                    Some(s) => write_or_reset(s, &mut chunks).await,
                    None => true,
                }
            }
        };
        if !ok {
            // The receiver stopped this group or it was reset as too far
            // behind; the next StartGroup opens a new stream.
            stream = None;
        }
    }
    if let Some(mut s) = stream {
        let _ = s.finish();
    }
}

/// How far a group may fall behind before it is reset (§6).
const BEHIND: Duration = Duration::from_millis(500);

/// Writes, or resets the stream with `SUPERSEDED` when the receiver's flow
/// control holds the write back longer than [`BEHIND`]: the subscriber
/// then waits for the next group instead of building latency.
async fn write_or_reset(s: &mut SendStream, chunks: &mut [Bytes]) -> bool {
    match tokio::time::timeout(BEHIND, s.write_all_chunks(chunks)).await {
        Ok(r) => r.is_ok(),
        Err(_) => {
            let _ = s.reset(ErrorCode::Superseded.value());
            false
        }
    }
}

/// Finishes a group a newer one replaced; resets it with `SUPERSEDED` if the
/// receiver has not taken all of it within [`BEHIND`].
fn supersede(mut old: SendStream) {
    let _ = old.finish();
    tokio::spawn(async move {
        if tokio::time::timeout(BEHIND, old.stopped()).await.is_err() {
            let _ = old.reset(ErrorCode::Superseded.value());
        }
    });
}

#[cfg(test)]
mod tests {
    use super::priority;

    #[test]
    fn audio_outranks_video_and_newer_groups_outrank_older() {
        assert!(priority(0, 1) > priority(128, 1_000));
        assert!(priority(128, 8) > priority(128, 7));
    }
}
