//! The SDK's errors, one type per boundary: [`RpcError`] for one JSON-RPC
//! request, [`SdkError`] for everything else a [`Client`](crate::Client) does.

use serde_json::Value;

/// Why one JSON-RPC request ([`Client::call`](crate::Client::call) and the
/// typed helpers) did not get a result.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RpcError {
    /// The server answered with a JSON-RPC error (see `docs/signalling.md` for
    /// the codes: `-32601` unknown method, `400` bad params, `403` permission,
    /// `404` unknown target, `409` refused, `410` ended, `421` not joined).
    /// Nothing changed on the server; retrying the same request fails the same
    /// way unless the room changed.
    #[error("the server refused {method}: {code} {message}")]
    Server {
        method: String,
        code: i64,
        message: String,
        data: Option<Value>,
    },
    /// No reply came in time. The request may or may not have taken effect.
    #[error("no reply to {method} within {millis} ms")]
    Timeout { method: String, millis: u64 },
    /// The socket closed before the reply came (or was already closed). The
    /// client is finished; join again with a new [`Client`](crate::Client).
    #[error("the signalling socket closed before {method} was answered: {reason}")]
    Closed { method: String, reason: String },
    /// The reply was not valid JSON-RPC for this request (e.g. a `result` that
    /// is not an object, or a typed helper's reply missing a field).
    #[error("malformed reply to {method}: {detail}")]
    InvalidReply { method: String, detail: String },
}

impl RpcError {
    /// The server's error code, when the server answered with an error.
    pub fn code(&self) -> Option<i64> {
        match self {
            Self::Server { code, .. } => Some(*code),
            _ => None,
        }
    }
}

/// Why a [`Client`](crate::Client) operation failed.
#[derive(Debug, thiserror::Error)]
pub enum SdkError {
    /// `base_url` is not an `http://` or `https://` URL, or the init reply's
    /// `endpoint` is not a `ws://`/`wss://` URL.
    #[error("invalid URL {url}: {reason}")]
    InvalidUrl { url: String, reason: String },
    /// `GET /init` answered with a non-2xx status. `code` and `message` are
    /// the server's `{code, message}` body when it sent one (401: bad token,
    /// 403: room or role refused); otherwise `message` is the raw body.
    #[error("GET /init refused with HTTP {status}: {message}")]
    Init {
        status: u16,
        code: Option<i64>,
        message: String,
    },
    /// The HTTP request itself failed (connection refused, bad reply body).
    #[error("GET /init failed: {0}")]
    Http(String),
    /// The WebSocket could not be opened, or broke. A refused upgrade or a
    /// close during the handshake carries the close code (4401 token, 4403
    /// room or role) when the server sent one.
    #[error("signalling WebSocket: {reason}")]
    WebSocket { code: Option<u16>, reason: String },
    /// A JSON-RPC request failed (see [`RpcError`]).
    #[error(transparent)]
    Rpc(#[from] RpcError),
    /// webrtc-rs refused an operation (building a connection, applying or
    /// creating a description, adding a track).
    #[error("WebRTC {context}: {detail}")]
    WebRtc {
        context: &'static str,
        detail: String,
    },
    /// Something the SDK waits for did not happen in time.
    #[error("timed out waiting for {0}")]
    Timeout(&'static str),
    /// The server sent something the protocol does not allow here (e.g. an
    /// answer without `sdp`). The message names what was wrong.
    #[error("protocol violation: {0}")]
    Protocol(String),
    /// The track id is not one this client published.
    #[error("no published track {0}")]
    UnknownTrack(String),
    /// The client has left or its socket closed.
    #[error("the client is closed: {0}")]
    Closed(String),
    /// The QUIC connection could not be made or broke; `code` is the
    /// server's close code (docs/quic-protocol.md §8) when it closed it.
    #[error("QUIC: {reason}")]
    Quic { code: Option<u64>, reason: String },
    /// The server answered the WebTransport CONNECT with this HTTP status
    /// instead of 200 (`404`: not the `/wt` path).
    #[error("WebTransport CONNECT refused with HTTP {status}")]
    WebTransportRefused { status: u16 },
}

impl SdkError {
    pub(crate) fn webrtc(context: &'static str, err: impl std::fmt::Display) -> Self {
        Self::WebRtc {
            context,
            detail: err.to_string(),
        }
    }

    /// The JSON-RPC error code when this is a server refusal of a request.
    pub fn rpc_code(&self) -> Option<i64> {
        match self {
            Self::Rpc(e) => e.code(),
            _ => None,
        }
    }
}
