//! One subscriber's group streams of one track: a task that owns the
//! current send stream and follows the fan-out core's [`Step`]s.

use bytes::Bytes;
use tokio::sync::mpsc;

use super::fanout::Step;
use crate::codec::GroupHeader;

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
    pub fn spawn(conn: quinn::Connection) -> Self {
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

async fn run(conn: quinn::Connection, mut rx: mpsc::Receiver<Step>) {
    let mut stream: Option<quinn::SendStream> = None;
    while let Some(step) = rx.recv().await {
        let ok = match step {
            Step::StartGroup {
                alias,
                group,
                priority: p,
                objects,
            } => {
                if let Some(mut old) = stream.take() {
                    let _ = old.finish();
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
                        let mut ok = s.write_all(&head).await.is_ok();
                        for o in &objects {
                            ok = ok && s.write_all(o).await.is_ok();
                        }
                        stream = Some(s);
                        ok
                    }
                    Err(_) => break,
                }
            }
            Step::Object(o) => write(&mut stream, &o).await,
        };
        if !ok {
            // The receiver stopped this group; the next StartGroup opens a
            // new stream.
            stream = None;
        }
    }
    if let Some(mut s) = stream {
        let _ = s.finish();
    }
}

async fn write(stream: &mut Option<quinn::SendStream>, o: &Bytes) -> bool {
    match stream {
        Some(s) => s.write_all(o).await.is_ok(),
        None => true,
    }
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
