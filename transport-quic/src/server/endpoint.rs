//! The quinn endpoint: TLS with the development certificate, ALPNs
//! `caucus/1` and `h3` on one port, per connection (a native or a
//! WebTransport [`Session`], see [`super::session`]) the control stream pump
//! ([`ControlChannel`]) and the readers of the publisher's group streams.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use caucus_domain::PeerId;
use tokio::sync::mpsc;
use web_transport_quinn::{RecvStream, SendStream, Session, SessionError, WebTransportError};

use super::session::{self, H3_ALPN};
use super::transport::QuicTransport;
use crate::ALPN;
use crate::cert::DevCert;
use crate::codec::{
    CodecError, ControlDecoder, Datagram, ErrorCode, GroupDecoder, GroupItem, Object,
    encode_message,
};

/// How long a client may take to open its control stream.
const CONTROL_WAIT: Duration = Duration::from_secs(10);
/// Idle connections close after this (the client pings every 3 s).
const IDLE: Duration = Duration::from_secs(30);
/// Unidirectional streams a client may have open at once (§5.2).
const MAX_UNI: u32 = 256;
const READ_CHUNK: usize = 64 * 1024;
/// Bytes of received datagrams buffered per connection (§5.3).
const DATAGRAM_BUFFER: usize = 256 * 1024;

/// Why the endpoint could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("TLS configuration: {0}")]
    Tls(#[from] rustls::Error),
    #[error("QUIC configuration: {0}")]
    Quic(String),
    #[error("binding {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// The server's QUIC endpoint.
#[derive(Debug)]
pub struct QuicServer {
    endpoint: quinn::Endpoint,
    transport: Arc<QuicTransport>,
    /// The current certificate's SHA-256 (changes on rotation).
    fingerprint: tokio::sync::watch::Sender<String>,
}

impl QuicServer {
    /// Binds `addr` and starts accepting connections; each one whose client
    /// opens its control stream arrives on the returned receiver.
    pub fn start(
        addr: SocketAddr,
        cert: &DevCert,
    ) -> Result<(Self, mpsc::Receiver<ControlChannel>), ServerError> {
        let config = server_config(cert)?;
        let endpoint = quinn::Endpoint::server(config, addr)
            .map_err(|source| ServerError::Bind { addr, source })?;
        let transport = Arc::new(QuicTransport::new());
        let (ready, channels) = mpsc::channel(64);
        tokio::spawn(accept(endpoint.clone(), transport.clone(), ready));
        Ok((
            Self {
                endpoint,
                transport,
                fingerprint: tokio::sync::watch::Sender::new(cert.sha256_hex()),
            },
            channels,
        ))
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.endpoint.local_addr()
    }

    pub fn transport(&self) -> Arc<QuicTransport> {
        self.transport.clone()
    }

    /// The current certificate's lowercase hex SHA-256.
    pub fn certificate_sha256(&self) -> String {
        self.fingerprint.borrow().clone()
    }

    /// The certificate's hash now and after every rotation.
    pub fn fingerprints(&self) -> tokio::sync::watch::Receiver<String> {
        self.fingerprint.subscribe()
    }

    /// New connections get `cert` from now on; open ones keep theirs.
    pub fn rotate(&self, cert: &DevCert) -> Result<(), ServerError> {
        self.endpoint.set_server_config(Some(server_config(cert)?));
        self.fingerprint.send_replace(cert.sha256_hex());
        Ok(())
    }

    /// Closes every connection and stops accepting.
    pub fn close(&self) {
        self.endpoint
            .close(ErrorCode::NoError.value().into(), b"server shutting down");
    }
}

/// The endpoint's configuration: TLS 1.3 (ring) with `cert`, ALPNs
/// `caucus/1` and `h3` (WebTransport), the stream limits of §5.2 and the
/// idle timeout.
pub fn server_config(cert: &DevCert) -> Result<quinn::ServerConfig, ServerError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut tls = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .with_no_client_auth()
        .with_single_cert(vec![cert.cert.clone()], cert.key_der())?;
    tls.alpn_protocols = vec![ALPN.to_vec(), H3_ALPN.to_vec()];
    let crypto = quinn::crypto::rustls::QuicServerConfig::try_from(tls)
        .map_err(|e| ServerError::Quic(e.to_string()))?;
    let mut config = quinn::ServerConfig::with_crypto(Arc::new(crypto));
    let mut t = quinn::TransportConfig::default();
    t.max_concurrent_uni_streams(MAX_UNI.into())
        .max_concurrent_bidi_streams(1u32.into())
        .datagram_receive_buffer_size(Some(DATAGRAM_BUFFER))
        .max_idle_timeout(Some(
            quinn::IdleTimeout::try_from(IDLE).map_err(|e| ServerError::Quic(e.to_string()))?,
        ));
    config.transport_config(Arc::new(t));
    Ok(config)
}

async fn accept(
    endpoint: quinn::Endpoint,
    transport: Arc<QuicTransport>,
    ready: mpsc::Sender<ControlChannel>,
) {
    while let Some(incoming) = endpoint.accept().await {
        tokio::spawn(connection(incoming, transport.clone(), ready.clone()));
    }
}

fn close(conn: &Session, code: ErrorCode, reason: &str) {
    conn.close(code.value(), reason.as_bytes());
}

async fn connection(
    incoming: quinn::Incoming,
    transport: Arc<QuicTransport>,
    ready: mpsc::Sender<ControlChannel>,
) {
    let conn = match incoming.await {
        Ok(c) => c,
        Err(e) => {
            tracing::debug!(error = %e, "QUIC handshake failed");
            return;
        }
    };
    let conn = match session::open(conn, CONTROL_WAIT).await {
        Ok(s) => s,
        Err(e) => {
            tracing::debug!(error = %e, "no session opened");
            return;
        }
    };
    let bound: Arc<Mutex<Option<PeerId>>> = Arc::default();
    tokio::spawn(accept_groups(
        conn.clone(),
        transport.clone(),
        bound.clone(),
    ));
    tokio::spawn(read_datagrams(
        conn.clone(),
        transport.clone(),
        bound.clone(),
    ));
    let (send, recv) = match tokio::time::timeout(CONTROL_WAIT, conn.accept_bi()).await {
        Ok(Ok(s)) => s,
        Ok(Err(_)) => return,
        Err(_) => return close(&conn, ErrorCode::ProtocolViolation, "no control stream"),
    };
    let (in_tx, in_rx) = mpsc::channel(64);
    let (out_tx, out_rx) = mpsc::channel(256);
    tokio::spawn(read_control(recv, in_tx, conn.clone()));
    tokio::spawn(write_control(send, out_rx, conn.clone()));
    let channel = ControlChannel {
        incoming: in_rx,
        outgoing: out_tx,
        conn: conn.clone(),
        bound: bound.clone(),
        transport: transport.clone(),
    };
    if ready.send(channel).await.is_err() {
        return close(&conn, ErrorCode::Internal, "server shutting down");
    }
    conn.closed().await;
    let peer = bound.lock().unwrap_or_else(|p| p.into_inner()).clone();
    if let Some(peer) = peer {
        transport.unbind(&peer, &conn);
    }
}

/// Control messages in: framing errors close the connection with their code.
async fn read_control(mut recv: RecvStream, tx: mpsc::Sender<String>, conn: Session) {
    let mut dec = ControlDecoder::new();
    let fail = |e: CodecError| close(&conn, e.code(), &e.to_string());
    loop {
        match recv.read_chunk(READ_CHUNK, true).await {
            Ok(Some(chunk)) => {
                dec.push(&chunk.bytes);
                loop {
                    match dec.next_message() {
                        Ok(Some(m)) => {
                            if tx.send(m).await.is_err() {
                                return;
                            }
                        }
                        Ok(None) => break,
                        Err(e) => return fail(e),
                    }
                }
            }
            Ok(None) => {
                if let Err(e) = dec.finish() {
                    fail(e);
                }
                return;
            }
            Err(_) => return,
        }
    }
}

/// What the session sends on its control stream.
#[derive(Debug)]
enum Out {
    Text(String),
    Close(ErrorCode, String),
}

/// How long a closing connection waits for its last messages to arrive.
const LINGER: Duration = Duration::from_secs(2);

async fn write_control(mut send: SendStream, mut rx: mpsc::Receiver<Out>, conn: Session) {
    while let Some(out) = rx.recv().await {
        match out {
            Out::Text(t) => {
                let mut buf = Vec::with_capacity(t.len() + 8);
                if encode_message(&t, &mut buf).is_err() || send.write_all(&buf).await.is_err() {
                    return close(&conn, ErrorCode::Internal, "control message not sent");
                }
            }
            Out::Close(code, reason) => {
                let _ = send.finish();
                let _ = tokio::time::timeout(LINGER, send.stopped()).await;
                return close(&conn, code, &reason);
            }
        }
    }
}

/// One connection's control stream, for the signalling session.
#[derive(Debug)]
pub struct ControlChannel {
    incoming: mpsc::Receiver<String>,
    outgoing: mpsc::Sender<Out>,
    conn: Session,
    bound: Arc<Mutex<Option<PeerId>>>,
    transport: Arc<QuicTransport>,
}

impl ControlChannel {
    /// The next JSON-RPC text; `None` once the stream or connection ended
    /// (a framing error has closed the connection with its code).
    pub async fn recv(&mut self) -> Option<String> {
        self.incoming.recv().await
    }

    /// Queues one JSON-RPC text; `false` once the stream is gone.
    pub async fn send(&self, text: String) -> bool {
        self.outgoing.send(Out::Text(text)).await.is_ok()
    }

    /// Sends what is queued, then closes the connection with `code`.
    pub async fn close(&self, code: ErrorCode, reason: &str) {
        if self
            .outgoing
            .send(Out::Close(code, reason.to_owned()))
            .await
            .is_err()
        {
            close(&self.conn, code, reason);
        }
    }

    /// The connection speaks for `peer`: its group streams are that peer's
    /// media and the peer's subscriptions are written to it.
    pub fn bind(&self, peer: &PeerId) {
        *self.bound.lock().unwrap_or_else(|p| p.into_inner()) = Some(peer.clone());
        self.transport.bind(peer, self.conn.clone());
    }

    pub fn remote_address(&self) -> SocketAddr {
        self.conn.remote_address()
    }
}

async fn accept_groups(
    conn: Session,
    transport: Arc<QuicTransport>,
    bound: Arc<Mutex<Option<PeerId>>>,
) {
    while let Ok(recv) = conn.accept_uni().await {
        let peer = bound.lock().unwrap_or_else(|p| p.into_inner()).clone();
        tokio::spawn(ingest(recv, peer, conn.clone(), transport.clone()));
    }
}

/// Audio objects a publisher sends as datagrams (§5.3). A malformed one
/// closes the connection; one for an undeclared alias is dropped.
async fn read_datagrams(
    conn: Session,
    transport: Arc<QuicTransport>,
    bound: Arc<Mutex<Option<PeerId>>>,
) {
    loop {
        let bytes = match conn.read_datagram().await {
            Ok(b) => b,
            // A WebTransport datagram of another session id: not ours.
            Err(SessionError::WebTransportError(WebTransportError::UnknownSession)) => continue,
            Err(_) => return,
        };
        let d = match Datagram::decode(bytes) {
            Ok(d) => d,
            Err(e) => return close(&conn, e.code(), &e.to_string()),
        };
        let peer = bound.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let Some(peer) = peer else { continue };
        if let Some(track) = transport.track_of(&peer, d.alias) {
            let object = Object {
                timestamp: d.timestamp,
                keyframe: false,
                payload: d.payload,
            };
            transport.forward(&peer, &track, d.group, d.object, object);
        }
    }
}

/// Reads one group stream of a publisher and fans its objects out.
async fn ingest(
    mut recv: RecvStream,
    peer: Option<PeerId>,
    conn: Session,
    transport: Arc<QuicTransport>,
) {
    let mut dec = GroupDecoder::new();
    let mut at: Option<(caucus_domain::TrackId, u64)> = None;
    let mut index = 0u64;
    let fail = |recv: &mut RecvStream, e: CodecError| {
        let code = e.code();
        if code.closes_connection() {
            close(&conn, code, &e.to_string());
        } else {
            let _ = recv.stop(code.value());
        }
    };
    loop {
        let chunk = match recv.read_chunk(READ_CHUNK, true).await {
            Ok(Some(c)) => c.bytes,
            Ok(None) => {
                if let Err(e) = dec.finish() {
                    fail(&mut recv, e);
                }
                return;
            }
            Err(_) => return,
        };
        dec.push(&chunk);
        loop {
            match dec.next_item() {
                Ok(None) => break,
                Ok(Some(GroupItem::Header(h))) => {
                    let track = peer.as_ref().and_then(|p| transport.track_of(p, h.alias));
                    match track {
                        Some(t) => at = Some((t, h.group)),
                        None => {
                            let _ = recv.stop(ErrorCode::UnknownTrack.value());
                            return;
                        }
                    }
                }
                Ok(Some(GroupItem::Object(o))) => {
                    let (Some(peer), Some((track, group))) = (&peer, &at) else {
                        return;
                    };
                    transport.forward(peer, track, *group, index, o);
                    index += 1;
                }
                Err(e) => return fail(&mut recv, e),
            }
        }
    }
}
