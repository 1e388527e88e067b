//! Caucus over QUIC (docs/quic-protocol.md).
//!
//! The server side runs as: [`server::QuicServer::start`] binds the
//! endpoint and yields a [`server::ControlChannel`] per connection whose
//! client opened its control stream; the signalling reads its `hello`,
//! [`binds`](server::ControlChannel::bind) it to the peer and drives
//! [`server::QuicTransport`] (a `caucus_media::Transport`) as for WebRTC;
//! the transport fans publishers' group streams out by the room's plan.
//!
//! Layout: [`codec`] is the sans-IO wire codec (varints, control framing,
//! group streams, objects, datagrams, error codes), shared with the SDK;
//! [`cert`] makes development certificates; [`server`] is the quinn side.

pub mod cert;
pub mod codec;
pub mod server;

/// The ALPN of protocol major version 1.
pub const ALPN: &[u8] = b"caucus/1";
