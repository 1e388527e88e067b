//! Building the two webrtc-rs connections (publish and subscribe) with the
//! client's policy: loopback only, no mDNS (W1), default codecs and
//! interceptors; and the event handler that turns webrtc-rs callbacks into
//! [`ConnEvent`]s for the client's router.

use std::sync::{Arc, Mutex};

use caucus_media::{IceCandidate, Target};
use rtc::ice::mdns::MulticastDnsMode;
use rtc::ice::network_type::NetworkType;
use tokio::sync::mpsc;
use webrtc::data_channel::DataChannel;
use webrtc::media_stream::track_remote::TrackRemote;
use webrtc::peer_connection::{
    MediaEngine, PeerConnection, PeerConnectionBuilder, PeerConnectionEventHandler,
    RTCConfigurationBuilder, RTCIceCandidateInit, RTCPeerConnectionIceEvent,
    RTCPeerConnectionState, RTCSessionDescription, Registry, SettingEngineBuilder,
    register_default_interceptors,
};

use crate::error::SdkError;
use crate::sdp;

/// Time between ICE connectivity checks while a connection comes up.
const ICE_CHECK_INTERVAL: std::time::Duration = std::time::Duration::from_millis(20);

/// What a connection reports.
pub(crate) enum ConnEvent {
    Candidate(Target, IceCandidate),
    State(Target, RTCPeerConnectionState),
    Track(Arc<dyn TrackRemote>),
    DataChannel(Arc<dyn DataChannel>),
}

struct Handler {
    target: Target,
    tx: mpsc::UnboundedSender<ConnEvent>,
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Handler {
    async fn on_ice_candidate(&self, event: RTCPeerConnectionIceEvent) {
        let Ok(init) = event.candidate.to_json() else {
            return;
        };
        if init.candidate.is_empty() {
            return; // end of candidates: the protocol does not carry it
        }
        let _ = self.tx.send(ConnEvent::Candidate(
            self.target,
            IceCandidate {
                candidate: init.candidate,
                // webrtc-rs 0.21 writes `sdpMid: ""`; leave it out instead
                // (BUNDLE: every candidate belongs to the first m-line).
                sdp_mid: init.sdp_mid.filter(|m| !m.is_empty()),
                sdp_mline_index: init.sdp_mline_index,
                username_fragment: init.username_fragment,
            },
        ));
    }

    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        let _ = self.tx.send(ConnEvent::State(self.target, state));
    }

    async fn on_track(&self, track: Arc<dyn TrackRemote>) {
        let _ = self.tx.send(ConnEvent::Track(track));
    }

    async fn on_data_channel(&self, dc: Arc<dyn DataChannel>) {
        let _ = self.tx.send(ConnEvent::DataChannel(dc));
    }
}

/// One of the client's two connections, with the remote candidates that
/// arrived before its remote description (they cannot be added before it).
pub(crate) struct Conn {
    pub(crate) target: Target,
    pub(crate) pc: Arc<dyn PeerConnection>,
    /// `Some` until the first remote description is applied.
    early_candidates: Mutex<Option<Vec<RTCIceCandidateInit>>>,
}

impl std::fmt::Debug for Conn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Conn")
            .field("target", &self.target)
            .finish()
    }
}

/// Builds one connection bound to 127.0.0.1 only.
pub(crate) async fn build(
    target: Target,
    tx: mpsc::UnboundedSender<ConnEvent>,
) -> Result<Conn, SdkError> {
    let mut media = MediaEngine::default();
    media
        .register_default_codecs()
        .map_err(|e| SdkError::webrtc("registering codecs", e))?;
    let registry = register_default_interceptors(Registry::new(), &mut media)
        .map_err(|e| SdkError::webrtc("registering interceptors", e))?;
    // W1: mDNS binds 224.0.0.251:5353, which fails in a loopback-only
    // namespace (and would send beyond loopback anyway). UDP over IPv4 only.
    let settings = SettingEngineBuilder::new()
        .with_multicast_dns_mode(MulticastDnsMode::Disabled)
        .with_network_types(vec![NetworkType::Udp4])
        .with_include_loopback_candidate(true)
        // Connectivity checks every 20 ms (default 200 ms), 70 attempts per
        // pair (the same 1.4 s as the default 7 × 200 ms). The client's
        // driver also flushes queued datagrams (the DTLS ClientHello sent
        // once ICE connects) on the agent's timer, so the default let a join
        // wait up to two 200 ms ticks before the first media packet.
        .with_ice_connection_attempts(Some(ICE_CHECK_INTERVAL), Some(70))
        .build();
    // No ICE servers: a STUN or TURN server is never on loopback, and the
    // server's candidates are host candidates (docs/signalling.md §5).
    let config = RTCConfigurationBuilder::new().build();
    let pc = PeerConnectionBuilder::new()
        .with_configuration(config)
        .with_media_engine(media)
        .with_interceptor_registry(registry)
        .with_setting_engine(settings)
        .with_handler(Arc::new(Handler { target, tx }))
        // A concrete address is bound as given (a wildcard would expand to
        // every non-loopback interface): the only host candidate is loopback.
        .with_udp_addrs(vec!["127.0.0.1:0".to_owned()])
        .build()
        .await
        .map_err(|e| SdkError::webrtc("building a peer connection", e))?;
    Ok(Conn {
        target,
        pc: Arc::new(pc),
        early_candidates: Mutex::new(Some(Vec::new())),
    })
}

impl Conn {
    /// Applies a remote description (non-loopback candidates removed), then
    /// the candidates that were waiting for it.
    pub(crate) async fn set_remote(&self, desc: RTCSessionDescription) -> Result<(), SdkError> {
        self.pc
            .set_remote_description(desc)
            .await
            .map_err(|e| SdkError::webrtc("applying the remote description", e))?;
        let early = self
            .early_candidates
            .lock()
            .ok()
            .and_then(|mut g| g.take())
            .unwrap_or_default();
        for c in early {
            if let Err(e) = self.pc.add_ice_candidate(c).await {
                tracing::warn!(target = ?self.target, error = %e, "a queued remote candidate was refused");
            }
        }
        Ok(())
    }

    /// Adds a remote candidate, or queues it until the remote description.
    /// Candidates that are not loopback are dropped (nothing is ever sent
    /// beyond this machine).
    pub(crate) async fn add_remote_candidate(&self, c: IceCandidate) {
        if c.candidate.is_empty() {
            return;
        }
        if !sdp::is_loopback_candidate(&c.candidate) {
            tracing::debug!(candidate = %c.candidate, "dropping a remote candidate that is not loopback");
            return;
        }
        let init = RTCIceCandidateInit {
            candidate: c.candidate,
            sdp_mid: c.sdp_mid,
            sdp_mline_index: c.sdp_mline_index,
            username_fragment: c.username_fragment,
            url: None,
        };
        let init = {
            let Ok(mut early) = self.early_candidates.lock() else {
                return;
            };
            match early.as_mut() {
                Some(queue) => {
                    queue.push(init);
                    return;
                }
                None => init,
            }
        };
        if let Err(e) = self.pc.add_ice_candidate(init).await {
            tracing::warn!(target = ?self.target, error = %e, "a remote candidate was refused");
        }
    }
}

/// A server description as webrtc-rs takes it, with candidates that are not
/// loopback removed.
pub(crate) fn remote_description(
    desc: &caucus_media::SessionDescription,
) -> Result<RTCSessionDescription, SdkError> {
    let (sdp, dropped) = sdp::retain_loopback_candidates(&desc.sdp);
    if dropped > 0 {
        tracing::debug!(dropped, "removed candidates that are not loopback");
    }
    match desc.kind.as_str() {
        "offer" => RTCSessionDescription::offer(sdp),
        "answer" => RTCSessionDescription::answer(sdp),
        other => {
            return Err(SdkError::Protocol(format!(
                "a description of type {other:?}"
            )));
        }
    }
    .map_err(|e| SdkError::webrtc("parsing the remote description", e))
}
