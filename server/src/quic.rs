//! `caucus serve`'s QUIC endpoint: the development certificate, the quinn
//! server, and its control streams served by the signalling (the same
//! session as the WebSocket, behind a [`Link`]).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use async_trait::async_trait;
use caucus_api::signal::Signalling;
use caucus_api::signal::link::{Close, Inbound, Link};
use caucus_domain::PeerId;
use caucus_transport_quic::cert::{DevCert, MAX_VALIDITY};
use caucus_transport_quic::codec::ErrorCode;
use caucus_transport_quic::server::{ControlChannel, QuicServer};
use tokio::sync::mpsc;

/// A QUIC control stream as a signalling [`Link`].
#[derive(Debug)]
struct QuicLink(ControlChannel);

#[async_trait]
impl Link for QuicLink {
    async fn recv(&mut self) -> Option<Inbound> {
        self.0.recv().await.map(Inbound::Text)
    }

    async fn send(&mut self, text: String) -> bool {
        self.0.send(text).await
    }

    async fn close(&mut self, why: Close) {
        let (code, reason) = match why {
            Close::Left => (ErrorCode::NoError, "left"),
            Close::Dropped => (ErrorCode::NoError, "closed"),
            Close::Replaced => (ErrorCode::Replaced, "a newer connection took over"),
            Close::Idle => (ErrorCode::Idle, "no message for 30 s"),
            Close::Unauthorized => (ErrorCode::Unauthorized, "token refused"),
            Close::Forbidden => (ErrorCode::Forbidden, "room or role refused"),
            Close::ProtocolViolation => (ErrorCode::ProtocolViolation, "expected hello"),
        };
        self.0.close(code, reason).await;
    }

    fn bind(&mut self, peer: &PeerId) {
        self.0.bind(peer);
    }
}

/// Binds the endpoint on `addr` with a fresh development certificate.
pub fn start(addr: SocketAddr) -> anyhow::Result<(QuicServer, mpsc::Receiver<ControlChannel>)> {
    let names = vec![addr.ip().to_string(), "localhost".to_owned()];
    // A day short of the limit, so a long-running server's clients see it
    // valid; rotation while running is not implemented yet.
    let validity = MAX_VALIDITY - Duration::from_secs(24 * 3600);
    let cert = DevCert::generate(&names, validity).context("making the QUIC certificate")?;
    QuicServer::start(addr, &cert).with_context(|| format!("binding QUIC on udp {addr}"))
}

/// Serves every control stream the endpoint accepts.
pub async fn serve(sig: Arc<Signalling>, mut channels: mpsc::Receiver<ControlChannel>) {
    while let Some(c) = channels.recv().await {
        tokio::spawn(caucus_api::signal::quic::serve(sig.clone(), QuicLink(c)));
    }
}
