//! Caucus over QUIC (docs/quic-protocol.md).
//!
//! Layout: [`codec`] is the sans-IO wire codec (varints, control framing,
//! group streams, objects, datagrams, error codes), shared with the SDK.
//! `cert` makes development certificates; `server` is the quinn endpoint.

pub mod codec;

/// The ALPN of protocol major version 1.
pub const ALPN: &[u8] = b"caucus/1";
