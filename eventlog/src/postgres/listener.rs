//! Drives the head watch: LISTEN on a dedicated connection, plus polling.
//!
//! A NOTIFY carries the last position of a committed group; it is only a hint.
//! The head row is the truth: it is read when listening starts (so nothing
//! committed before LISTEN is missed), every [`SAFETY_POLL`] while listening,
//! and with a growing backoff while the listening connection is down.

use std::sync::Arc;
use std::time::Duration;

use deadpool_postgres::Pool;
use futures::StreamExt;
use tokio::sync::{mpsc, oneshot, watch};
use tokio_postgres::{AsyncMessage, NoTls};

use super::sql;
use crate::types::Position;

/// How often the head row is read while LISTEN works.
const SAFETY_POLL: Duration = Duration::from_secs(1);
/// First and longest wait between polls while LISTEN does not work.
const BACKOFF_MIN: Duration = Duration::from_millis(20);
const BACKOFF_MAX: Duration = Duration::from_secs(1);

pub(crate) struct Listener {
    pub config: tokio_postgres::Config,
    pub pool: Pool,
    pub head: Arc<watch::Sender<Option<Position>>>,
}

impl Listener {
    /// Runs until `stop` fires or its sender is dropped.
    pub(crate) async fn run(self, mut stop: oneshot::Receiver<()>) {
        let mut backoff = BACKOFF_MIN;
        loop {
            match self.listen().await {
                Ok((client, mut hints)) => {
                    backoff = BACKOFF_MIN;
                    self.poll().await;
                    let mut tick = tokio::time::interval(SAFETY_POLL);
                    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                    loop {
                        tokio::select! {
                            _ = &mut stop => return,
                            hint = hints.recv() => match hint {
                                Some(p) => self.advance(Some(p)),
                                None => break,
                            },
                            _ = tick.tick() => self.poll().await,
                        }
                    }
                    drop(client);
                    tracing::warn!("lost the LISTEN connection; polling until it is back");
                }
                Err(e) => {
                    tracing::debug!(error = %e, "cannot LISTEN; polling");
                    self.poll().await;
                    tokio::select! {
                        _ = &mut stop => return,
                        _ = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(BACKOFF_MAX);
                }
            }
        }
    }

    /// Opens the dedicated connection and subscribes to the channel. Hints
    /// arrive on the receiver, which closes when the connection dies.
    async fn listen(
        &self,
    ) -> Result<(tokio_postgres::Client, mpsc::UnboundedReceiver<Position>), tokio_postgres::Error>
    {
        let (client, mut connection) = self.config.connect(NoTls).await?;
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut messages = futures::stream::poll_fn(move |cx| connection.poll_message(cx));
            while let Some(message) = messages.next().await {
                match message {
                    Ok(AsyncMessage::Notification(n)) => {
                        if let Ok(p) = n.payload().parse::<u64>()
                            && tx.send(Position(p)).is_err()
                        {
                            return;
                        }
                    }
                    Ok(_) => {}
                    Err(_) => return,
                }
            }
        });
        client
            .batch_execute(&format!("LISTEN {}", sql::CHANNEL))
            .await?;
        Ok((client, rx))
    }

    /// Reads the head row and publishes it.
    async fn poll(&self) {
        let Ok(client) = self.pool.get().await else {
            return;
        };
        if let Ok(row) = client.query_one(sql::HEAD, &[]).await {
            self.advance(sql::head_from_next(row.get(0)));
        }
    }

    fn advance(&self, to: Option<Position>) {
        self.head.send_if_modified(|h| {
            let moved = *h < to;
            if moved {
                *h = to;
            }
            moved
        });
    }
}
