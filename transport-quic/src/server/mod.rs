//! The QUIC server: the quinn endpoint ([`endpoint`]), the media transport
//! the signalling drives ([`transport`]), the sans-IO fan-out core
//! ([`fanout`]) and its per-subscriber stream writers ([`writer`]).

pub mod endpoint;
pub mod fanout;
mod state;
pub mod transport;
mod writer;

pub use endpoint::{ControlChannel, QuicServer, ServerError, server_config};
pub use transport::QuicTransport;
