//! Reaching the server's QUIC port: what `/init` names ([`QuicInit`]), the
//! pinned TLS configuration, and the two ways in — native QUIC (ALPN
//! `caucus/1`) or a WebTransport session (ALPN `h3`, CONNECT to `/wt`).
//! Both end in a [`Session`], so the client above does not care which.

use std::net::SocketAddr;
use std::sync::Arc;

use caucus_transport_quic::ALPN;
use caucus_transport_quic::server::session::H3_ALPN;
use serde_json::Value;
use web_transport_quinn::proto::{ConnectError as ProtoError, ConnectRequest};
use web_transport_quinn::{ClientError, ConnectError, Session, SessionError, WebTransportError};

use super::pin;
use crate::error::SdkError;

/// Where `/init` says the QUIC endpoint is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuicInit {
    pub addr: SocketAddr,
    pub certificate_sha256: String,
    /// The WebTransport session URL (`https://…/wt`), if the server names one.
    pub webtransport: Option<String>,
}

impl QuicInit {
    /// Reads `quic {url, certificate_sha256, webtransport}` of an `/init` reply.
    pub fn from_init(raw: &Value) -> Result<Self, SdkError> {
        let q = raw
            .get("quic")
            .ok_or_else(|| SdkError::Protocol("/init has no quic endpoint".into()))?;
        let url = q.get("url").and_then(Value::as_str).unwrap_or_default();
        let addr = url
            .strip_prefix("quic://")
            .and_then(|a| a.parse::<SocketAddr>().ok())
            .ok_or_else(|| SdkError::InvalidUrl {
                url: url.to_owned(),
                reason: "expected quic://<ip>:<port>".into(),
            })?;
        let certificate_sha256 = q
            .get("certificate_sha256")
            .and_then(Value::as_str)
            .ok_or_else(|| SdkError::Protocol("/init quic has no certificate_sha256".into()))?
            .to_owned();
        let webtransport = q
            .get("webtransport")
            .and_then(Value::as_str)
            .map(str::to_owned);
        Ok(Self {
            addr,
            certificate_sha256,
            webtransport,
        })
    }
}

/// How the client reaches the server.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Dial {
    /// QUIC with ALPN `caucus/1` (what native clients use).
    #[default]
    Native,
    /// A WebTransport session at `/init`'s `webtransport` URL (what
    /// browsers use).
    WebTransport,
}

/// A native QUIC connection and its control stream.
pub type Connected = (
    quinn::Endpoint,
    quinn::Connection,
    quinn::SendStream,
    quinn::RecvStream,
);

fn quic(e: &dyn std::fmt::Display) -> SdkError {
    SdkError::Quic {
        code: None,
        reason: e.to_string(),
    }
}

/// Connects to a Caucus QUIC endpoint, pinning its certificate, and opens
/// the control stream. Loopback only: the client binds 127.0.0.1.
pub async fn connect(init: &QuicInit) -> Result<Connected, SdkError> {
    connect_alpn(init, ALPN).await
}

/// [`connect`] offering another ALPN (tests: a version the server does not
/// speak fails the handshake).
pub async fn connect_alpn(init: &QuicInit, alpn: &[u8]) -> Result<Connected, SdkError> {
    let (endpoint, conn) = handshake(init, alpn).await?;
    let (send, recv) = conn.open_bi().await.map_err(|e| quic(&e))?;
    Ok((endpoint, conn, send, recv))
}

/// A QUIC handshake with `init.addr`, accepting exactly the certificate
/// `/init` named.
async fn handshake(
    init: &QuicInit,
    alpn: &[u8],
) -> Result<(quinn::Endpoint, quinn::Connection), SdkError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut tls = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| quic(&e))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(pin::Pinned::new(
            &init.certificate_sha256,
            provider,
        )))
        .with_no_client_auth();
    tls.alpn_protocols = vec![alpn.to_vec()];
    let crypto = quinn::crypto::rustls::QuicClientConfig::try_from(tls).map_err(|e| quic(&e))?;
    let mut endpoint = quinn::Endpoint::client("127.0.0.1:0".parse().map_err(|e| quic(&e))?)
        .map_err(|e| quic(&e))?;
    endpoint.set_default_client_config(quinn::ClientConfig::new(Arc::new(crypto)));
    let conn = endpoint
        .connect(init.addr, "localhost")
        .map_err(|e| quic(&e))?
        .await
        .map_err(|e| quic(&e))?;
    Ok((endpoint, conn))
}

/// Opens a session the way `dial` says: a native connection wrapped as a
/// [`Session`] (no prefixes on its streams), or a WebTransport session at
/// `init.webtransport`.
pub async fn open(init: &QuicInit, dial: Dial) -> Result<(quinn::Endpoint, Session), SdkError> {
    match dial {
        Dial::Native => {
            let (endpoint, conn) = handshake(init, ALPN).await?;
            Ok((endpoint, Session::raw(conn)))
        }
        Dial::WebTransport => {
            let url = init
                .webtransport
                .as_deref()
                .ok_or_else(|| SdkError::Protocol("/init quic has no webtransport URL".into()))?;
            connect_webtransport(init, url).await
        }
    }
}

/// A WebTransport session: HTTP/3 to `init.addr` (the pinned certificate,
/// as a browser's `serverCertificateHashes`), then an extended CONNECT to
/// `url` (tests: another path is refused with `404`).
pub async fn connect_webtransport(
    init: &QuicInit,
    url: &str,
) -> Result<(quinn::Endpoint, Session), SdkError> {
    let parsed = url::Url::parse(url).map_err(|e| SdkError::InvalidUrl {
        url: url.to_owned(),
        reason: e.to_string(),
    })?;
    let (endpoint, conn) = handshake(init, H3_ALPN).await?;
    match Session::connect(conn, ConnectRequest::new(parsed)).await {
        Ok(session) => Ok((endpoint, session)),
        Err(e) => match refused_status(&e) {
            Some(status) => Err(SdkError::WebTransportRefused { status }),
            None => Err(quic(&e)),
        },
    }
}

/// The HTTP status of a CONNECT the server answered with other than 200.
fn refused_status(e: &ClientError) -> Option<u16> {
    match e {
        ClientError::HttpError(ConnectError::ErrorStatus(status))
        | ClientError::HttpError(ConnectError::ProtoError(ProtoError::WrongStatus(Some(status)))) => {
            Some(status.as_u16())
        }
        _ => None,
    }
}

/// The close code of a connection closed by the server, if it closed it.
pub fn close_code(e: &quinn::ConnectionError) -> Option<u64> {
    match e {
        quinn::ConnectionError::ApplicationClosed(c) => Some(c.error_code.into_inner()),
        _ => None,
    }
}

/// The server's close code and reason of a session (native or
/// WebTransport: the same codes, docs/quic-protocol.md §8), if it closed it.
pub fn session_close(e: &SessionError) -> Option<(u32, String)> {
    match e {
        SessionError::WebTransportError(WebTransportError::Closed(code, reason)) => {
            Some((*code, reason.clone()))
        }
        SessionError::ConnectionError(quinn::ConnectionError::ApplicationClosed(c)) => Some((
            u32::try_from(c.error_code.into_inner()).ok()?,
            String::from_utf8_lossy(&c.reason).into_owned(),
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn init_names_the_endpoint_and_its_certificate() {
        let raw = json!({ "quic": { "url": "quic://127.0.0.1:7882", "certificate_sha256": "ab",
            "webtransport": "https://127.0.0.1:7882/wt" } });
        let q = QuicInit::from_init(&raw).unwrap();
        assert_eq!(q.addr, "127.0.0.1:7882".parse::<SocketAddr>().unwrap());
        assert_eq!(q.certificate_sha256, "ab");
        assert_eq!(q.webtransport.as_deref(), Some("https://127.0.0.1:7882/wt"));
        for bad in [
            json!({}),
            json!({ "quic": { "url": "https://x", "certificate_sha256": "ab" } }),
            json!({ "quic": { "url": "quic://127.0.0.1:1" } }),
        ] {
            assert!(QuicInit::from_init(&bad).is_err(), "{bad}");
        }
    }
}
