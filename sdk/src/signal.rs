//! The signalling socket's driver: one task reads frames and routes replies
//! to the waiting callers and notifications to the client's router; one task
//! writes. [`Signal`] is the handle both sides of the client share.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use crate::error::{RpcError, SdkError};
use crate::rpc::{self, Incoming, Outcome};

/// How the socket ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CloseInfo {
    /// The close frame's code, when the server sent one.
    pub code: Option<u16>,
    pub reason: String,
}

impl std::fmt::Display for CloseInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.code {
            Some(code) => write!(f, "closed with {code}: {}", self.reason),
            None => f.write_str(&self.reason),
        }
    }
}

type Pending = Arc<Mutex<HashMap<String, oneshot::Sender<Outcome>>>>;

/// A notification for the client's router.
pub(crate) type Notified = (String, Value);

/// The handle on an open signalling socket.
#[derive(Debug)]
pub(crate) struct Signal {
    out: mpsc::UnboundedSender<Message>,
    pending: Pending,
    next_id: AtomicU64,
    closed: watch::Receiver<Option<CloseInfo>>,
    call_timeout: Duration,
    tasks: Vec<JoinHandle<()>>,
}

impl Signal {
    /// Opens `url` and starts the reader and writer tasks. Notifications
    /// arrive on the returned receiver, which ends when the socket does.
    pub(crate) async fn connect(
        url: &str,
        call_timeout: Duration,
    ) -> Result<(Self, mpsc::UnboundedReceiver<Notified>), SdkError> {
        let (ws, _response) = tokio_tungstenite::connect_async(url)
            .await
            .map_err(|e| handshake_error(&e))?;
        let (mut sink, mut stream) = ws.split();
        let (out_tx, mut out_rx) = mpsc::unbounded_channel::<Message>();
        let (notif_tx, notif_rx) = mpsc::unbounded_channel();
        let (closed_tx, closed_rx) = watch::channel(None);
        let pending: Pending = Arc::default();

        let writer = tokio::spawn(async move {
            while let Some(msg) = out_rx.recv().await {
                let is_close = matches!(msg, Message::Close(_));
                if let Err(e) = sink.send(msg).await {
                    tracing::debug!(error = %e, "signalling write failed");
                    break;
                }
                if is_close {
                    break;
                }
            }
            let _ = sink.close().await;
        });

        let reader_pending = pending.clone();
        let reader_out = out_tx.clone();
        let reader = tokio::spawn(async move {
            let info = loop {
                let Some(frame) = stream.next().await else {
                    break CloseInfo {
                        code: None,
                        reason: "the connection ended without a close frame".into(),
                    };
                };
                match frame {
                    Ok(Message::Text(text)) => match rpc::parse_incoming(text.as_str()) {
                        Ok(Incoming::Reply { id, outcome }) => {
                            let waiter = reader_pending.lock().ok().and_then(|mut p| p.remove(&id));
                            match waiter {
                                Some(w) => {
                                    let _ = w.send(outcome);
                                }
                                None => tracing::debug!(%id, "reply to no pending request"),
                            }
                        }
                        Ok(Incoming::Notification { method, params }) => {
                            let _ = notif_tx.send((method, params));
                        }
                        Err(bad) => {
                            tracing::warn!(frame = %text.as_str(), "ignoring a bad signalling frame: {}", bad.0)
                        }
                    },
                    Ok(Message::Ping(p)) => {
                        let _ = reader_out.send(Message::Pong(p));
                    }
                    Ok(Message::Close(frame)) => {
                        break match frame {
                            Some(f) => CloseInfo {
                                code: Some(u16::from(f.code)),
                                reason: f.reason.to_string(),
                            },
                            None => CloseInfo {
                                code: None,
                                reason: "closed by the server".into(),
                            },
                        };
                    }
                    Ok(Message::Binary(_)) => tracing::warn!("ignoring a binary signalling frame"),
                    Ok(_) => {}
                    Err(e) => {
                        break CloseInfo {
                            code: None,
                            reason: e.to_string(),
                        };
                    }
                }
            };
            tracing::debug!(%info, "signalling socket ended");
            let _ = closed_tx.send(Some(info));
            // Dropping the waiters wakes every pending call with "closed".
            if let Ok(mut p) = reader_pending.lock() {
                p.clear();
            }
        });

        Ok((
            Self {
                out: out_tx,
                pending,
                next_id: AtomicU64::new(1),
                closed: closed_rx,
                call_timeout,
                tasks: vec![reader, writer],
            },
            notif_rx,
        ))
    }

    /// How the socket closed, once it has.
    pub(crate) fn close_info(&self) -> Option<CloseInfo> {
        self.closed.borrow().clone()
    }

    /// Resolves when the socket has closed.
    pub(crate) async fn closed(&self) -> CloseInfo {
        let mut rx = self.closed.clone();
        loop {
            if let Some(info) = rx.borrow_and_update().clone() {
                return info;
            }
            if rx.changed().await.is_err() {
                return CloseInfo {
                    code: None,
                    reason: "the reader task ended".into(),
                };
            }
        }
    }

    fn closed_error(&self, method: &str) -> RpcError {
        RpcError::Closed {
            method: method.to_owned(),
            reason: self
                .close_info()
                .map(|i| i.to_string())
                .unwrap_or_else(|| "the socket is closed".into()),
        }
    }

    /// Sends a request and waits for its reply (at most the call timeout).
    pub(crate) async fn call(&self, method: &str, params: Value) -> Result<Value, RpcError> {
        self.call_with_timeout(method, params, self.call_timeout)
            .await
    }

    pub(crate) async fn call_with_timeout(
        &self,
        method: &str,
        params: Value,
        timeout: Duration,
    ) -> Result<Value, RpcError> {
        if self.close_info().is_some() {
            return Err(self.closed_error(method));
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed).to_string();
        let (tx, rx) = oneshot::channel();
        if let Ok(mut p) = self.pending.lock() {
            p.insert(id.clone(), tx);
        }
        if self
            .out
            .send(Message::text(rpc::request(&id, method, &params)))
            .is_err()
        {
            self.forget(&id);
            return Err(self.closed_error(method));
        }
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(outcome)) => outcome.into_result(method),
            Ok(Err(_)) => Err(self.closed_error(method)),
            Err(_) => {
                self.forget(&id);
                Err(RpcError::Timeout {
                    method: method.to_owned(),
                    millis: timeout.as_millis() as u64,
                })
            }
        }
    }

    fn forget(&self, id: &str) {
        if let Ok(mut p) = self.pending.lock() {
            p.remove(id);
        }
    }

    /// Sends a notification (no reply). Fails only when the socket is gone.
    pub(crate) fn notify(&self, method: &str, params: &Value) -> Result<(), RpcError> {
        if self.close_info().is_some() {
            return Err(self.closed_error(method));
        }
        self.out
            .send(Message::text(rpc::notification(method, params)))
            .map_err(|_| self.closed_error(method))
    }

    /// Sends any text frame, even one that is not JSON-RPC (tests of the
    /// server's handling of bad input use it).
    pub(crate) fn send_raw(&self, text: String) -> Result<(), RpcError> {
        self.out
            .send(Message::text(text))
            .map_err(|_| self.closed_error("<raw frame>"))
    }

    /// Sends a normal close frame; the reader then sees the server's close.
    pub(crate) fn close(&self, reason: &str) {
        let _ = self.out.send(Message::Close(Some(CloseFrame {
            code: CloseCode::Normal,
            reason: reason.to_owned().into(),
        })));
    }
}

impl Drop for Signal {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

fn handshake_error(e: &tokio_tungstenite::tungstenite::Error) -> SdkError {
    use tokio_tungstenite::tungstenite::Error as WsError;
    match e {
        WsError::Http(resp) => {
            let body = resp
                .body()
                .as_ref()
                .map(|b| String::from_utf8_lossy(b).into_owned())
                .unwrap_or_default();
            SdkError::WebSocket {
                code: Some(resp.status().as_u16()),
                reason: format!("upgrade refused with HTTP {}: {body}", resp.status()),
            }
        }
        other => SdkError::WebSocket {
            code: None,
            reason: other.to_string(),
        },
    }
}
