//! How the transport is set up.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// Settings of a [`WebRtcTransport`](crate::WebRtcTransport).
#[derive(Clone, Debug)]
pub struct WebRtcConfig {
    /// Where the one UDP socket binds (`127.0.0.1:0` in tests).
    pub bind: SocketAddr,
    /// The addresses advertised as host candidates, each with the bound
    /// port. Empty: the bind address itself (which must then be specific).
    pub advertise: Vec<IpAddr>,
    /// How long a connection may stay ICE-disconnected before it is reported
    /// as [`Failed`](caucus_media::PeerEvent::Failed).
    pub disconnect_timeout: Duration,
    /// At most one keyframe request per published track (and layer) goes
    /// upstream in this interval, however many subscribers ask.
    pub keyframe_interval: Duration,
    /// Capacity of each peer's event channel; events beyond it are dropped
    /// (with a warning) rather than stalling the media loop.
    pub event_capacity: usize,
    /// The receive and send buffer asked for on the UDP socket. Every peer's
    /// packets queue in the one socket while the driver is busy, so the
    /// kernel default (about 200 KiB) drops bursts of a few hundred packets;
    /// the kernel caps the request at `net.core.rmem_max`/`wmem_max`.
    pub socket_buffer: usize,
}

impl WebRtcConfig {
    /// Bind `bind` and advertise `advertise`; other settings by default.
    pub fn new(bind: SocketAddr, advertise: Vec<IpAddr>) -> Self {
        Self {
            bind,
            advertise,
            disconnect_timeout: Duration::from_secs(5),
            keyframe_interval: Duration::from_millis(500),
            event_capacity: 256,
            socket_buffer: 4 << 20,
        }
    }

    /// Loopback only: `127.0.0.1:0`, advertised as 127.0.0.1 (tests).
    pub fn loopback() -> Self {
        Self::new(
            SocketAddr::from(([127, 0, 0, 1], 0)),
            vec![IpAddr::from([127, 0, 0, 1])],
        )
    }
}
