//! One accepted QUIC connection as a [`Session`]: a native `caucus/1`
//! connection wrapped as is ([`Session::raw`], no stream or datagram
//! prefixes, codes unmapped), or an HTTP/3 connection whose extended
//! CONNECT to [`WT_PATH`] opened a WebTransport session. Everything after
//! this point (control stream, group streams, datagrams, close codes) is
//! the same code for both (docs/quic-protocol.md §1).

use std::time::Duration;

use web_transport_quinn::http::StatusCode;
use web_transport_quinn::{Request, Session};

use crate::ALPN;

/// The path browsers open their WebTransport session on.
pub const WT_PATH: &str = "/wt";
/// The ALPN of HTTP/3, which carries WebTransport.
pub const H3_ALPN: &[u8] = b"h3";
/// Bidirectional streams of a WebTransport connection: the CONNECT stream
/// and the control stream (§5.2).
const WT_BIDI: u32 = 2;
/// How long a refused CONNECT's connection stays open for the `404` to
/// arrive (the client closes it sooner).
const REFUSED_LINGER: Duration = Duration::from_secs(2);

/// How a connection is served, by its negotiated ALPN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// `caucus/1`: the protocol directly on QUIC.
    Native,
    /// `h3`: WebTransport over HTTP/3.
    WebTransport,
}

impl Flavor {
    /// The flavor of a negotiated ALPN; `None` for anything else (the TLS
    /// handshake already refuses other ALPNs).
    pub fn of_alpn(alpn: Option<&[u8]>) -> Option<Self> {
        match alpn? {
            a if a == ALPN => Some(Self::Native),
            a if a == H3_ALPN => Some(Self::WebTransport),
            _ => None,
        }
    }
}

/// Why a connection did not become a session.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("no known ALPN negotiated")]
    Alpn,
    #[error("WebTransport handshake: {0}")]
    Handshake(#[from] web_transport_quinn::ServerError),
    #[error("WebTransport handshake timed out")]
    Timeout,
    #[error("CONNECT to {0} refused with 404")]
    WrongPath(String),
}

/// The ALPN `conn`'s handshake negotiated.
fn alpn(conn: &quinn::Connection) -> Option<Vec<u8>> {
    conn.handshake_data()?
        .downcast::<quinn::crypto::rustls::HandshakeData>()
        .ok()?
        .protocol
}

/// Turns an established connection into a session: native connections at
/// once, HTTP/3 ones after a CONNECT to [`WT_PATH`] (any other path gets
/// `404` and nothing else), within `wait`.
pub async fn open(conn: quinn::Connection, wait: Duration) -> Result<Session, OpenError> {
    match Flavor::of_alpn(alpn(&conn).as_deref()).ok_or(OpenError::Alpn)? {
        Flavor::Native => Ok(Session::raw(conn)),
        Flavor::WebTransport => {
            conn.set_max_concurrent_bi_streams(WT_BIDI.into());
            let request = tokio::time::timeout(wait, Request::accept(conn.clone()))
                .await
                .map_err(|_| OpenError::Timeout)??;
            let path = request.url.path().to_owned();
            if path != WT_PATH {
                request.reject(StatusCode::NOT_FOUND).await?;
                let _ = tokio::time::timeout(REFUSED_LINGER, conn.closed()).await;
                return Err(OpenError::WrongPath(path));
            }
            Ok(request.ok().await?)
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use bytes::Bytes;

    use super::*;
    use crate::cert::DevCert;
    use crate::codec::ErrorCode;
    use crate::server::server_config;

    /// A plain quinn client (ALPN `caucus/1`) connected to a server endpoint
    /// of ours, and the server's side opened as a session.
    async fn native_pair() -> (quinn::Connection, Session, [quinn::Endpoint; 2]) {
        let cert = DevCert::generate(&["localhost".into()], Duration::from_secs(3600)).unwrap();
        let server = quinn::Endpoint::server(
            server_config(&cert).unwrap(),
            "127.0.0.1:0".parse().unwrap(),
        )
        .unwrap();
        let mut roots = rustls::RootCertStore::empty();
        roots.add(cert.cert.clone()).unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13])
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        tls.alpn_protocols = vec![ALPN.to_vec()];
        let crypto = quinn::crypto::rustls::QuicClientConfig::try_from(tls).unwrap();
        let client = quinn::Endpoint::client("127.0.0.1:0".parse().unwrap()).unwrap();
        let connecting = client
            .connect_with(
                quinn::ClientConfig::new(Arc::new(crypto)),
                server.local_addr().unwrap(),
                "localhost",
            )
            .unwrap();
        let (conn, accepted) = tokio::join!(connecting, async {
            server.accept().await.unwrap().await.unwrap()
        });
        let session = open(accepted, Duration::from_secs(5)).await.unwrap();
        (conn.unwrap(), session, [client, server])
    }

    /// Native clients see exactly the protocol's bytes and codes: the
    /// session type shared with WebTransport adds no stream or datagram
    /// prefix and maps no code on a `caucus/1` connection.
    #[tokio::test]
    async fn a_native_session_adds_nothing_to_the_wire() {
        let (conn, session, _endpoints) = native_pair().await;
        assert_eq!(session.protocol(), Some("caucus/1"));

        let mut s = session.open_uni().await.unwrap();
        s.write_all(b"\x10group").await.unwrap();
        s.finish().unwrap();
        let mut r = conn.accept_uni().await.unwrap();
        assert_eq!(r.read_to_end(64).await.unwrap(), b"\x10group");

        session.send_datagram(Bytes::from_static(b"audio")).unwrap();
        assert_eq!(conn.read_datagram().await.unwrap(), &b"audio"[..]);

        let mut s = session.open_uni().await.unwrap();
        s.write_all(b"x").await.unwrap();
        s.reset(ErrorCode::Superseded.value()).unwrap();
        let mut r = conn.accept_uni().await.unwrap();
        let reset = loop {
            match r.read_chunk(64, true).await {
                Ok(Some(_)) => continue,
                other => break other,
            }
        };
        assert!(
            matches!(reset, Err(quinn::ReadError::Reset(c)) if c.into_inner() == 0x1),
            "{reset:?}"
        );

        session.close(ErrorCode::Unauthorized.value(), b"token refused");
        match conn.closed().await {
            quinn::ConnectionError::ApplicationClosed(c) => {
                assert_eq!(c.error_code.into_inner(), 0x12);
                assert_eq!(&c.reason[..], b"token refused");
            }
            e => panic!("{e}"),
        }
    }

    #[test]
    fn connections_are_served_by_their_alpn() {
        assert_eq!(Flavor::of_alpn(Some(b"caucus/1")), Some(Flavor::Native));
        assert_eq!(Flavor::of_alpn(Some(b"h3")), Some(Flavor::WebTransport));
        assert_eq!(Flavor::of_alpn(Some(b"caucus/2")), None);
        assert_eq!(Flavor::of_alpn(None), None);
    }
}
