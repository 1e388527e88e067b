//! The Rust client of Caucus: joins a room over the 100ms client protocol
//! (`docs/signalling.md`) with webrtc-rs, publishes synthetic audio and
//! video, counts what it receives, and sends any signalling request. Tests,
//! the load generator and bots use it.
//!
//! # The call sequence
//!
//! ```no_run
//! # async fn demo() -> Result<(), caucus_sdk::SdkError> {
//! use caucus_sdk::{Client, Event, JoinOptions};
//!
//! let (client, mut events) =
//!     Client::join(JoinOptions::new("http://127.0.0.1:7880", "<app token>")).await?;
//! let audio = client.publish_audio().await?;      // offer {tracks} → answer → RTP
//! client.set_muted(&audio, true).await?;          // track-update
//! while let Some(event) = events.recv().await {
//!     match event {
//!         Event::FirstPacket { track_id, .. } => {
//!             println!("{track_id}: {:?}", client.remote_track_stats(&track_id));
//!         }
//!         Event::Closed { reason } => { println!("closed: {reason}"); break; }
//!         _ => {}
//!     }
//! }
//! client.leave().await?;
//! # Ok(()) }
//! ```
//!
//! `join` does: `GET /init` (bearer token) → open `endpoint?peer=…&token=…`
//! → wait for `on-policy-change` → build the publish and subscribe
//! connections → `join` with the publish offer → apply the answer. From
//! then on a router task follows the server: it applies each `offer`
//! notification to the subscribe connection and replies with an `answer`
//! notification, adds `trickle`d candidates (queued until the connection has
//! a remote description), trickles local candidates with their target (held
//! until `join` is answered), counts every received track, and reports every
//! notification as an [`Event`]. A keep-alive task sends `ping` every 3 s.
//!
//! # Design
//!
//! - **One owner per state.** The router task alone reacts to the server
//!   and the connections; `Client` methods reach the shared parts through
//!   handles. Publish renegotiations are serialised by the lock on the
//!   published-track list, which is never held across anything but the
//!   offer/answer round it protects.
//! - **Pure parts are sans-IO and tested alone:** JSON-RPC framing
//!   ([`rpc`](crate::rpc) is private), the 100ms payloads ([`messages`]), SDP
//!   reading and the loopback candidate policy ([`sdp`]), and the payload
//!   generators ([`synth`]), which take no clock: the sender task paces them.
//! - **Loopback only.** Each connection binds one UDP socket on 127.0.0.1
//!   (a concrete address is bound as given, so it is the only host
//!   candidate), mDNS is off (W1 in `shared/reference/webrtc-interop.md`),
//!   no STUN/TURN servers are used, and remote candidates that are not
//!   loopback are removed from server descriptions and trickles: nothing is
//!   ever sent beyond this machine.
//! - **Events never block the client.** The event channel is bounded; a
//!   reader that falls behind loses events (counted), not the connection.
//!
//! # Layout
//!
//! [`client`] (the API and `join`), `router` (the task that follows the
//! server), `signal` (the WebSocket driver), `connection` (building
//! webrtc-rs connections; candidate queues), [`publish`] (local tracks and
//! their sender tasks), [`subscribe`] (remote tracks and counters),
//! [`events`], [`messages`], [`sdp`], [`synth`], [`error`]; [`quic`] is the
//! QUIC client (docs/quic-protocol.md), which shares `/init`, the JSON-RPC
//! framing, the errors and the events with the WebRTC client.

pub mod client;
mod connection;
pub mod error;
pub mod events;
pub mod messages;
pub mod publish;
pub mod quic;
mod router;
mod rpc;
pub mod sdp;
mod signal;
pub mod subscribe;
pub mod synth;

#[cfg(test)]
mod loopback_tests;

pub use caucus_media::{IceCandidate, SessionDescription, Target};
pub use client::{BroadcastTo, Client, JoinOptions, PublishTrack, TrackMuteFilter};
pub use error::{RpcError, SdkError};
pub use events::Event;
pub use messages::{InitReply, TrackKind, TrackSource, TrackState};
pub use publish::SendStats;
pub use quic::QuicClient;
pub use quic::media::QuicTrackStats;
pub use subscribe::{AnnouncedTrack, TrackStats};
