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

/// How long a certificate rotated every `rotate` seconds is valid: a day
/// longer (open connections and clients holding the old hash keep working),
/// at most 14 days.
fn validity(rotate: u64) -> Duration {
    (Duration::from_secs(rotate) + Duration::from_secs(24 * 3600)).min(MAX_VALIDITY)
}

fn cert(addr: SocketAddr, rotate: u64) -> anyhow::Result<DevCert> {
    let names = vec![addr.ip().to_string(), "localhost".to_owned()];
    DevCert::generate(&names, validity(rotate)).context("making the QUIC certificate")
}

/// Binds the endpoint on `addr` with a fresh development certificate.
pub fn start(
    addr: SocketAddr,
    rotate: u64,
) -> anyhow::Result<(QuicServer, mpsc::Receiver<ControlChannel>)> {
    anyhow::ensure!(rotate > 0, "--quic-cert-rotate must be positive");
    QuicServer::start(addr, &cert(addr, rotate)?)
        .with_context(|| format!("binding QUIC on udp {addr}"))
}

/// Replaces the certificate every `rotate` seconds; `/init` hands out the
/// new hash at once.
pub async fn rotate(server: Arc<QuicServer>, addr: SocketAddr, rotate: u64) {
    let mut tick = tokio::time::interval(Duration::from_secs(rotate));
    tick.tick().await;
    loop {
        tick.tick().await;
        match cert(addr, rotate).and_then(|c| Ok(server.rotate(&c)?)) {
            Ok(()) => {
                tracing::info!(sha256 = %server.certificate_sha256(), "QUIC certificate rotated")
            }
            Err(e) => tracing::error!(error = %e, "rotating the QUIC certificate failed"),
        }
    }
}

/// Serves every control stream the endpoint accepts.
pub async fn serve(sig: Arc<Signalling>, mut channels: mpsc::Receiver<ControlChannel>) {
    while let Some(c) = channels.recv().await {
        tokio::spawn(caucus_api::signal::quic::serve(sig.clone(), QuicLink(c)));
    }
}
