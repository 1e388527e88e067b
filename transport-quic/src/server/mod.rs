//! The QUIC server: the quinn endpoint ([`endpoint`]), native and
//! WebTransport connections as one session type ([`session`]), the media transport
//! the signalling drives ([`transport`]), the sans-IO fan-out core
//! ([`fanout`]) and its per-subscriber stream writers ([`writer`]).

pub mod endpoint;
pub mod fanout;
pub mod session;
mod state;
pub mod transport;
mod writer;

pub use endpoint::{ControlChannel, QuicServer, ServerError, server_config};
pub use transport::QuicTransport;
