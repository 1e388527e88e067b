//! QUIC control streams (docs/quic-protocol.md §3): the first message must
//! be `hello`, which authenticates the link with the same app token as the
//! WebSocket; then the link runs the same [`session`] as a WebSocket, with
//! `publish` in place of SDP.

use std::sync::Arc;

use caucus_domain::PeerId;
use serde::Deserialize;
use serde_json::json;

use super::link::{Close, Inbound, Link};
use super::rpc::{self, Incoming, RpcError};
use super::session::{self, Flavor};
use super::{AdmitError, MAX_FRAME, Signalling, requests};

/// The protocol version this server speaks.
pub const VERSION: u64 = 1;

/// Serves one QUIC control stream until it closes.
pub async fn serve<L: Link>(sig: Arc<Signalling>, mut link: L) {
    let Some(transport) = sig.quic.clone() else {
        link.close(Close::ProtocolViolation).await;
        return;
    };
    let text = match tokio::time::timeout(sig.config.idle, link.recv()).await {
        Ok(Some(Inbound::Text(t))) => t,
        Ok(Some(_)) => return link.close(Close::ProtocolViolation).await,
        Ok(None) => return link.close(Close::Dropped).await,
        Err(_) => return link.close(Close::Idle).await,
    };
    let (id, params) = match rpc::parse(&text) {
        Ok(Incoming::Request { id, method, params }) if method == "hello" => (id, params),
        _ => return link.close(Close::ProtocolViolation).await,
    };
    #[derive(Deserialize)]
    struct Hello {
        protocol: String,
        version: u64,
        token: String,
        peer: String,
    }
    let refuse = |e: RpcError| rpc::error(&id, &e);
    let hello: Hello = match requests::params(&params) {
        Ok(h) => h,
        Err(e) => {
            link.send(refuse(e)).await;
            return link.close(Close::ProtocolViolation).await;
        }
    };
    if hello.protocol != "caucus" || hello.version != VERSION {
        link.send(refuse(RpcError::invalid_params(format!(
            "this server speaks caucus version {VERSION}"
        ))))
        .await;
        return link.close(Close::ProtocolViolation).await;
    }
    let admitted = PeerId::parse_str(&hello.peer)
        .map_err(|e| AdmitError::Forbidden(format!("peer: {e}")))
        .and_then(|peer| sig.admit(&hello.token).map(|a| (a, peer)));
    let (adm, peer) = match admitted {
        Ok(a) => a,
        Err(e) => {
            link.send(refuse(RpcError::new(
                i64::from(e.status().as_u16()),
                e.to_string(),
            )))
            .await;
            let why = match e {
                AdmitError::Token(_) => Close::Unauthorized,
                AdmitError::Forbidden(_) => Close::Forbidden,
            };
            return link.close(why).await;
        }
    };
    let datagrams = sig.config.quic.as_ref().is_some_and(|q| q.datagrams);
    let reply = json!({ "version": VERSION, "max_message": MAX_FRAME, "datagrams": datagrams });
    if !link.send(rpc::reply(&id, reply)).await {
        return link.close(Close::Dropped).await;
    }
    session::run(sig, &mut link, transport, Flavor::Quic, adm, peer).await;
}
