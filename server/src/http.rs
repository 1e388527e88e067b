//! The HTTP listener of `caucus serve`: the REST API, the room-code token
//! exchange, the webhook endpoints, the OpenAPI document, health, readiness
//! and metrics.
//!
//! ```text
//! let http = http::start(&args.store.data, args.http, store.log.clone(), store.snapshots.clone()).await?;
//! let engine = http.engine.clone();          // the engine the API drives
//! shutdown_signal().await;
//! http.shutdown().await;                     // stop accepting, finish in-flight requests
//! store.close().await;                       // then flush the log
//! ```

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use caucus_api::signal::{QuicEndpoint, SignalConfig, Signalling};
use caucus_api::{AppState, MeteredLog, Metrics};
use caucus_eventlog::EventLog;
use caucus_media::Transport;
use caucus_projections::Engine;
use caucus_projections::webhooks::{ClientConfig, DeliveryConfig, UrlPolicy, Webhooks};
use caucus_transport_quic::server::QuicServer;
use caucus_transport_webrtc::{WebRtcConfig, WebRtcTransport};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::cli::MediaArgs;

/// A running HTTP listener and the engine behind it.
#[derive(Debug)]
pub struct Http {
    /// The engine, over the log wrapped to time appends for `/metrics`.
    pub engine: Arc<Engine>,
    pub addr: SocketAddr,
    /// The WebRTC SFU (its UDP address and forwarding counters).
    pub webrtc: Arc<WebRtcTransport>,
    /// The QUIC endpoint.
    pub quic: Arc<QuicServer>,
    /// The API's own projection (room codes), snapshotted on shutdown.
    codes: caucus_projections::Projected<caucus_api::codes::CodeIndex>,
    stop: oneshot::Sender<()>,
    task: JoinHandle<std::io::Result<()>>,
}

/// Opens the workspaces of `data` (creating the default workspace on first
/// start), starts the engine, the API's projections and the webhook service
/// (endpoints and delivery logs in `data/webhooks`) on `log`, and serves on
/// `addr`. In `dev` mode webhooks may target private and loopback addresses.
pub async fn start(
    data: &Path,
    addr: SocketAddr,
    log: Arc<dyn EventLog>,
    snapshots: Option<PathBuf>,
    dev: bool,
    media: &MediaArgs,
) -> anyhow::Result<Http> {
    let workspaces = crate::workspace_cli::ensure_default(data)?;
    let metrics = Metrics::new();
    let log = MeteredLog::wrap(log, metrics.clone());
    let engine = Engine::start(log.clone(), snapshots.clone()).await?;
    // Webhooks to private and loopback addresses only in dev mode.
    let delivery = DeliveryConfig {
        client: ClientConfig {
            policy: UrlPolicy { allow_private: dev },
            ..ClientConfig::default()
        },
        ..DeliveryConfig::default()
    };
    let hooks = Webhooks::start(log, Some(data.join("webhooks")), delivery)
        .await
        .context("starting the webhook service")?;
    let state = AppState::new(engine.clone(), workspaces, metrics.clone(), snapshots).await?;
    let codes = state.code_index().clone();
    let (signalling, webrtc, quic) = start_media(state.clone(), media).await?;
    let sfu = webrtc.clone();
    metrics.set_media_source(move || {
        let s = sfu.stats();
        caucus_api::metrics::MediaCounters {
            packets_received: s.packets_received,
            bytes_received: s.bytes_received,
            packets_forwarded: s.packets_forwarded,
            bytes_forwarded: s.bytes_forwarded,
        }
    });
    let app = caucus_api::app(state)
        .merge(signalling.router())
        .layer(caucus_api::routes::webhooks::layer(hooks));
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("listening on {addr}"))?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(caucus_api::serve_app(listener, app, async {
        let _ = stopped.await;
    }));
    tracing::info!(%addr, "HTTP API listening");
    println!("REST API on http://{addr}/v2 (OpenAPI: http://{addr}/v2/openapi.json)");
    println!(
        "Mint a management token: caucus token management --data {}",
        data.display()
    );
    Ok(Http {
        engine,
        addr,
        webrtc,
        quic,
        codes,
        stop,
        task,
    })
}

/// Starts the WebRTC SFU, the QUIC endpoint and the signalling over both.
async fn start_media(
    state: AppState,
    media: &MediaArgs,
) -> anyhow::Result<(Arc<Signalling>, Arc<WebRtcTransport>, Arc<QuicServer>)> {
    let advertise = if media.webrtc_advertise.is_empty() {
        anyhow::ensure!(
            !media.webrtc_udp.ip().is_unspecified(),
            "--webrtc-udp {} binds every address: say which to advertise with --webrtc-advertise",
            media.webrtc_udp
        );
        vec![media.webrtc_udp.ip()]
    } else {
        media.webrtc_advertise.clone()
    };
    let webrtc = WebRtcTransport::start(WebRtcConfig::new(media.webrtc_udp, advertise))
        .with_context(|| format!("binding the WebRTC UDP socket {}", media.webrtc_udp))?;
    let (quic, channels) = crate::quic::start(media.quic, media.quic_cert_rotate)?;
    let quic_addr = quic.local_addr()?;
    let config = SignalConfig {
        grace: Duration::from_secs(media.reconnect_grace),
        public_ws_url: media.public_ws_url.clone(),
        quic: Some(QuicEndpoint {
            url: format!("quic://{quic_addr}"),
            certificate_sha256: quic.fingerprints(),
            datagrams: true,
            webtransport: Some(format!(
                "https://{quic_addr}{}",
                caucus_transport_quic::server::session::WT_PATH
            )),
        }),
        ..SignalConfig::default()
    };
    // Media across the two transports (docs/quic-protocol.md §9).
    let quic_transport = quic.transport();
    webrtc.set_bridge(quic_transport.bridge_inlet()).await;
    quic_transport.set_bridge(webrtc.bridge_inlet());
    let transport: Arc<dyn Transport> = webrtc.clone();
    let quic_media: Arc<dyn Transport> = quic_transport;
    let signalling = Signalling::start_with_quic(state, transport, Some(quic_media), config)
        .await
        .map_err(|e| anyhow::anyhow!("starting signalling: {e}"))?;
    tokio::spawn(crate::quic::serve(signalling.clone(), channels));
    tracing::info!(udp = %webrtc.local_addr(), "WebRTC SFU listening");
    tracing::info!(udp = %quic_addr, sha256 = %quic.certificate_sha256(), "QUIC listening");
    println!(
        "QUIC media on quic://{quic_addr}, WebTransport on https://{quic_addr}/wt \
         (certificate SHA-256 {}).",
        quic.certificate_sha256()
    );
    let quic = Arc::new(quic);
    tokio::spawn(crate::quic::rotate(
        quic.clone(),
        media.quic,
        media.quic_cert_rotate,
    ));
    Ok((signalling, webrtc, quic))
}

impl Http {
    /// Stops accepting connections, waits for the requests in flight, then
    /// snapshots the room-code projection.
    pub async fn shutdown(self) {
        let _ = self.stop.send(());
        self.quic.close();
        match self.task.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "HTTP server stopped with an error"),
            Err(e) => tracing::warn!(error = %e, "HTTP server task failed"),
        }
        self.codes.shutdown().await;
    }
}
