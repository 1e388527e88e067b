//! What a signalling session reads from and writes to: a stream of incoming
//! JSON-RPC texts and a sink of outgoing ones. The WebSocket ([`WsLink`]) and
//! the QUIC control stream (wired by the server) both implement [`Link`], so
//! one session loop serves both.

use async_trait::async_trait;
use axum::extract::ws::{Message, WebSocket};
use caucus_domain::PeerId;

/// One message from the client.
#[derive(Debug)]
pub enum Inbound {
    Text(String),
    /// A frame the protocol does not take (a WebSocket binary frame).
    Binary,
    /// Link-level traffic (WebSocket ping/pong): the client is alive.
    Alive,
}

/// Why the session ends the link.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Close {
    /// The peer left, was removed or the room ended (after the notification).
    Left,
    /// A newer link of the same peer took over.
    Replaced,
    /// Nothing arrived for the idle timeout.
    Idle,
    /// The link broke or the client closed it; nothing more can be sent.
    Dropped,
    /// The token was refused (QUIC `hello`).
    Unauthorized,
    /// The room or role was refused (QUIC `hello`).
    Forbidden,
    /// The client broke the protocol (QUIC: first message not `hello`).
    ProtocolViolation,
}

/// A session's connection to its client.
#[async_trait]
pub trait Link: Send {
    /// The next message; `None` once the link is closed, broken or the
    /// client sent something too large. Cancel-safe.
    async fn recv(&mut self) -> Option<Inbound>;
    /// Sends one JSON text; `false` when the link is broken.
    async fn send(&mut self, text: String) -> bool;
    /// Ends the link after what was sent.
    async fn close(&mut self, why: Close);
    /// The link now speaks for `peer` (QUIC binds its connection's media to
    /// the peer). Called once the peer is admitted, before any media call.
    fn bind(&mut self, _peer: &PeerId) {}
}

/// The WebSocket of docs/signalling.md §2.
#[derive(Debug)]
pub struct WsLink(pub WebSocket);

#[async_trait]
impl Link for WsLink {
    async fn recv(&mut self) -> Option<Inbound> {
        match self.0.recv().await {
            Some(Ok(Message::Text(t))) => Some(Inbound::Text(t.as_str().to_owned())),
            Some(Ok(Message::Binary(_))) => Some(Inbound::Binary),
            Some(Ok(_)) => Some(Inbound::Alive),
            // Closed, broken, or oversized (the library closes with 1009).
            Some(Err(_)) | None => None,
        }
    }

    async fn send(&mut self, text: String) -> bool {
        self.0.send(Message::Text(text.into())).await.is_ok()
    }

    async fn close(&mut self, why: Close) {
        // A socket that broke or idled is dropped without a close frame, as
        // before the transports shared this loop.
        if matches!(why, Close::Left | Close::Replaced) {
            let _ = self.0.send(Message::Close(None)).await;
        }
    }
}
