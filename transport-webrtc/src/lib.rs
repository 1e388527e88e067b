//! The WebRTC SFU of Caucus, on str0m (sans-IO, RTP mode).
//!
//! # Use
//!
//! ```text
//! let t = WebRtcTransport::start(WebRtcConfig::loopback())?;   // Arc<WebRtcTransport>
//! let mut events = t.attach(&room, &peer).await?;  // → SubscribeOffer (ion-sfu channel + planned tracks)
//! let answer = t.publish_offer(&peer, &offer).await?;  // the client's publish offer
//! t.subscribe_answer(&peer, &answer).await?;  // the client's answer to each SubscribeOffer
//! t.trickle(&peer, Target::Publish, &candidate).await?;  // client candidates (queued if early)
//! t.set_plan(&room, plan).await;  // who receives what; re-offers to changed peers
//! t.detach(&peer).await;
//! ```
//!
//! Each peer has two connections (two `Rtc`s): **publish** (the client
//! offers; its m-lines' `a=msid` track ids name the published tracks) and
//! **subscribe** (the server offers one `sendonly` m-line per received track,
//! with the publisher's `a=msid:<stream> <track>`, plus the `ion-sfu` data
//! channel). Server candidates are host candidates on the advertised
//! addresses, in the SDP; the server trickles none.
//!
//! # The driver loop
//!
//! One UDP socket serves every peer. A dedicated thread runs a
//! current-thread tokio runtime with one task, `driver`, which waits on
//! three things — a datagram, a command from a [`WebRtcTransport`] handle
//! (each carrying a oneshot reply), the earliest `Rtc` timeout — and feeds
//! it to the sans-IO core, `core::Sfu`. The core finds the connection
//! that owns a datagram with `Rtc::accepts` (cached by source address),
//! and after every mutation of an `Rtc` drains `poll_output` until
//! `Timeout` (str0m's one invariant); datagrams go to an outbox the driver
//! sends, events to a queue the core handles in order.
//!
//! # The data path
//!
//! An RTP packet of a published track (its SSRC → mid/rid from str0m's
//! receive stream, mid → track id from the offer's msid) is looked up in
//! the media [`Router`](caucus_media::Router) *per packet*: the route's
//! targets (nobody while muted) get it written on their subscribe `Rtc`
//! with `stream_tx_by_mid(..).write_rtp(..)`, with the payload type mapped
//! by codec between the two connections, audio level and video orientation
//! carried over, video marked nackable (str0m answers NACKs with RTX), and
//! sequence numbers rebased per subscriber (`forward::Forwarding`) so
//! every outgoing stream starts at rollover 0 and stays continuous when the
//! simulcast layer changes. A subscriber receives one layer: the highest it
//! asked for (`prefer-video-track-state` on the `ion-sfu` data channel,
//! `high` by default) among those seen, else the lowest seen. A switch is
//! held until a packet of the new layer starts a keyframe (`keyframe`
//! reads VP8, VP9 and H264 payloads); until then the old layer flows and
//! the new one is asked for a keyframe. A paused track (`none`, or audio
//! unsubscribed) gets nothing until it is resumed.
//!
//! # Keyframes, and what is throttled
//!
//! A subscriber's PLI/FIR (`Event::KeyframeRequest`) goes upstream to the
//! publisher's receive stream of the layer that subscriber gets; so does a
//! PLI when a subscriber's connection comes up, when a video m-line is
//! negotiated on a connected subscriber, and when its layer changes. All of
//! them pass one [`KeyframeThrottle`](caucus_media::KeyframeThrottle) keyed
//! by (publisher, track, layer): at most one request per
//! [`WebRtcConfig::keyframe_interval`], however many subscribers ask.
//!
//! # Failure
//!
//! `Connected` is reported when ICE and DTLS are up; `Failed` when str0m
//! closes the connection (DTLS close, error) or ICE stays `Disconnected`
//! for [`WebRtcConfig::disconnect_timeout`] (str0m itself declares a silent
//! peer disconnected after its STUN consent checks fail, about 20 s on
//! loopback). A failed connection is no longer driven; the server detaches
//! the peer.
//!
//! # Not yet
//!
//! Layer choice per subscriber by bandwidth (only by request; the seam is
//! `forward::target_layer`); server-side notice to the client of the layer
//! it gets; a timer wheel instead of a scan of all
//! connections for the next deadline; RTCP sender-report rewriting; ICE
//! restarts.
//!
//! # Layout
//!
//! - `config`: [`WebRtcConfig`].
//! - `transport`: [`WebRtcTransport`], the `Transport` implementation.
//! - `driver`: socket, timer and command loop.
//! - `core`: the sans-IO SFU (peers, signalling, packet path, the data
//!   channel).
//! - `conn`: one `Rtc` and its drain loop and health.
//! - `forward`: PT mapping, layer choice, seq/timestamp rewriting.
//! - `keyframe`: does an RTP payload start a keyframe (VP8, VP9, H264).
//! - `prefer`: the `ion-sfu` data channel's requests and replies.
//! - `sdp`: mid → msid track ids, candidate parsing.
//! - `stats`: lock-free counters ([`StatsSnapshot`]).

pub mod config;
mod conn;
mod core;
mod driver;
mod forward;
mod keyframe;
mod prefer;
mod sdp;
pub mod stats;
pub mod transport;

pub use config::WebRtcConfig;
pub use stats::StatsSnapshot;
pub use transport::WebRtcTransport;
