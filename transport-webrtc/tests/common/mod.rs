//! A small str0m client for the tests: a publisher that offers Opus + VP8
//! with msid and sends synthetic RTP, and a subscriber that answers the
//! server's subscribe offers. Real UDP sockets on 127.0.0.1.

#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::time::{Duration, Instant};

use caucus_domain::room::model::{TrackKind, TrackSource};
use caucus_domain::{PeerId, RoomId, StreamId, TrackId};
use caucus_media::{
    ForwardingPlan, IceCandidate, PeerEvent, PlannedTrack, SessionDescription, Target, Transport,
};
use caucus_transport_webrtc::{WebRtcConfig, WebRtcTransport};
use str0m::change::{SdpAnswer, SdpOffer, SdpPendingOffer};
use str0m::format::Codec;
use str0m::media::{
    Direction, KeyframeRequestKind, MediaKind, Mid, Pt, Rid, Simulcast, SimulcastLayer,
};
use str0m::net::{Protocol, Receive};
use str0m::rtp::RtpWrite;
use str0m::{Candidate, Event, Input, Output, Rtc};
use tokio::sync::mpsc;

pub const ROOM: &str = "65f0c2a1b2c3d4e5f6a7b8c9";
pub const ALICE: &str = "00000000-0000-4000-8000-00000000000a";
pub const BOB: &str = "00000000-0000-4000-8000-00000000000b";
pub const STREAM: &str = "alice-stream";
pub const AUDIO: &str = "alice-audio";
pub const VIDEO: &str = "alice-video";

pub fn room() -> RoomId {
    RoomId::new(ROOM).unwrap()
}

pub fn peer(s: &str) -> PeerId {
    PeerId::new(s).unwrap()
}

pub fn track(s: &str) -> TrackId {
    TrackId::new(s).unwrap()
}

pub fn start() -> Arc<WebRtcTransport> {
    start_with(|_| {})
}

pub fn start_with(tweak: impl FnOnce(&mut WebRtcConfig)) -> Arc<WebRtcTransport> {
    let mut config = WebRtcConfig::loopback();
    config.keyframe_interval = Duration::from_millis(500);
    tweak(&mut config);
    WebRtcTransport::start(config).unwrap()
}

/// Alice's two tracks, received by `subscribers`, muted or not.
pub fn plan(subscribers: &[&str], muted: bool) -> ForwardingPlan {
    let subs: BTreeSet<PeerId> = subscribers.iter().map(|s| peer(s)).collect();
    let mut tracks = BTreeMap::new();
    for (id, kind) in [(AUDIO, TrackKind::Audio), (VIDEO, TrackKind::Video)] {
        tracks.insert(
            track(id),
            PlannedTrack {
                publisher: peer(ALICE),
                stream_id: StreamId::new(STREAM).unwrap(),
                kind,
                source: TrackSource::Regular,
                muted,
                subscribers: subs.clone(),
            },
        );
    }
    ForwardingPlan { tracks }
}

/// One synthetic outgoing stream.
#[derive(Clone, Copy)]
struct Outgoing {
    mid: Mid,
    rid: Option<Rid>,
    pt: Pt,
    seq: u64,
    ts: u32,
    step: u32,
    /// Second payload byte, telling the receiver which stream it got.
    tag: u8,
}

/// One client connection: an `Rtc` and its socket.
pub struct Client {
    pub rtc: Rtc,
    socket: UdpSocket,
    addr: SocketAddr,
    next_timeout: Instant,
    pub connected: bool,
    /// RTP packets received per mid.
    pub received: HashMap<Mid, u64>,
    pub keyframe_requests: u64,
    /// Outgoing synthetic media.
    sending: Vec<Outgoing>,
    /// Offer video as simulcast f/h/q.
    pub simulcast: bool,
    /// Video packets received per tag (the second payload byte: `v` plain,
    /// or the simulcast rid's letter).
    pub video_tags: HashMap<u8, u64>,
    pub send_media: bool,
    last_send: Instant,
    pending: Option<SdpPendingOffer>,
    /// The publisher's audio and video mids.
    mids: Vec<Mid>,
    /// mid → msid track id of the last subscribe offer.
    pub tracks: HashMap<Mid, String>,
}

impl Client {
    pub fn new() -> Self {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket.set_nonblocking(true).unwrap();
        let addr = socket.local_addr().unwrap();
        let now = Instant::now();
        let mut rtc = Rtc::builder().set_rtp_mode(true).build(now);
        rtc.add_local_candidate(Candidate::host(addr, "udp").unwrap());
        Self {
            rtc,
            socket,
            addr,
            next_timeout: now,
            connected: false,
            received: HashMap::new(),
            keyframe_requests: 0,
            sending: Vec::new(),
            simulcast: false,
            video_tags: HashMap::new(),
            send_media: false,
            last_send: now,
            pending: None,
            mids: Vec::new(),
            tracks: HashMap::new(),
        }
    }

    /// This client's host candidate, as a browser would trickle it.
    pub fn candidate(&self) -> IceCandidate {
        let c = Candidate::host(self.addr, "udp").unwrap();
        IceCandidate {
            candidate: c.to_sdp_string().trim_start_matches("a=").to_owned(),
            sdp_mid: None,
            sdp_mline_index: Some(0),
            username_fragment: None,
        }
    }

    /// The publisher's offer: Opus + VP8, sendonly, with msid.
    pub fn publish_offer(&mut self) -> SessionDescription {
        let mut api = self.rtc.sdp_api();
        let audio = api.add_media(
            MediaKind::Audio,
            Direction::SendOnly,
            Some(STREAM.into()),
            Some(AUDIO.into()),
            None,
        );
        let layers = self.simulcast.then(|| Simulcast {
            send: ["f", "h", "q"].map(SimulcastLayer::new).to_vec(),
            recv: Vec::new(),
        });
        let video = api.add_media(
            MediaKind::Video,
            Direction::SendOnly,
            Some(STREAM.into()),
            Some(VIDEO.into()),
            layers,
        );
        let (offer, pending) = api.apply().unwrap();
        self.pending = Some(pending);
        self.mids = vec![audio, video];
        self.drain();
        SessionDescription::offer(offer.to_sdp_string())
    }

    /// Applies the server's answer and prepares the synthetic streams.
    pub fn accept_answer(&mut self, answer: &SessionDescription) {
        let answer = SdpAnswer::from_sdp_string(&answer.sdp).unwrap();
        let pending = self.pending.take().unwrap();
        self.rtc.sdp_api().accept_answer(pending, answer).unwrap();
        self.drain();
        let mut sending = Vec::new();
        for (codec, step) in [(Codec::Opus, 960), (Codec::Vp8, 4500)] {
            let pt = self
                .rtc
                .codec_config()
                .params()
                .iter()
                .find(|p| p.spec().codec == codec)
                .map(|p| p.pt())
                .unwrap();
            let kind = if codec == Codec::Opus {
                MediaKind::Audio
            } else {
                MediaKind::Video
            };
            let mid = self.mids[usize::from(kind == MediaKind::Video)];
            let rids: Vec<Option<&str>> = if kind == MediaKind::Video && self.simulcast {
                vec![Some("f"), Some("h"), Some("q")]
            } else {
                vec![None]
            };
            for (i, rid) in rids.into_iter().enumerate() {
                let tag = match (kind, rid) {
                    (MediaKind::Audio, _) => b'a',
                    (_, None) => b'v',
                    (_, Some(r)) => r.as_bytes()[0],
                };
                sending.push(Outgoing {
                    mid,
                    rid: rid.map(Rid::from),
                    pt,
                    seq: 1000 + 7000 * i as u64,
                    ts: 0,
                    step,
                    tag,
                });
            }
        }
        self.sending = sending;
    }

    /// Answers a subscribe offer; remembers mid → msid track id.
    pub fn answer(&mut self, offer: &SessionDescription) -> SessionDescription {
        self.tracks = msid_tracks(&offer.sdp);
        let offer = SdpOffer::from_sdp_string(&offer.sdp).unwrap();
        let answer = self.rtc.sdp_api().accept_offer(offer).unwrap();
        self.drain();
        SessionDescription::answer(answer.to_sdp_string())
    }

    /// Packets received for the m-line carrying `track`.
    pub fn received_for(&self, track: &str) -> u64 {
        self.tracks
            .iter()
            .filter(|(_, t)| t.as_str() == track)
            .map(|(m, _)| self.received.get(m).copied().unwrap_or(0))
            .sum()
    }

    /// Sends a PLI for the m-line carrying `track`.
    pub fn request_keyframe(&mut self, track: &str) {
        let mid = self
            .tracks
            .iter()
            .find(|(_, t)| t.as_str() == track)
            .map(|(m, _)| *m)
            .unwrap();
        let mut api = self.rtc.direct_api();
        if let Some(rx) = api.stream_rx_by_mid(mid, None) {
            rx.request_keyframe(KeyframeRequestKind::Pli);
        }
        self.drain();
    }

    fn drain(&mut self) {
        loop {
            match self.rtc.poll_output().unwrap() {
                Output::Timeout(t) => {
                    self.next_timeout = t;
                    break;
                }
                Output::Transmit(t) => {
                    assert!(t.destination.ip().is_loopback());
                    let _ = self.socket.send_to(&t.contents, t.destination);
                }
                Output::Event(e) => match e {
                    Event::Connected => self.connected = true,
                    Event::RtpPacket(p) => {
                        let mid = p.header.ext_vals.mid.or_else(|| {
                            let mut api = self.rtc.direct_api();
                            api.stream_rx(&p.header.ssrc).map(|s| s.mid())
                        });
                        if let Some(mid) = mid {
                            *self.received.entry(mid).or_default() += 1;
                        }
                        if let Some(&tag) = p.payload.get(1)
                            && tag != b'a'
                        {
                            *self.video_tags.entry(tag).or_default() += 1;
                        }
                    }
                    Event::KeyframeRequest(_) => self.keyframe_requests += 1,
                    _ => {}
                },
            }
        }
    }

    /// One step: send due media, read what arrived, feed timeouts.
    pub fn step(&mut self) {
        let now = Instant::now();
        if self.send_media && self.connected && now - self.last_send >= Duration::from_millis(20) {
            self.last_send = now;
            for i in 0..self.sending.len() {
                let o = self.sending[i];
                let mut api = self.rtc.direct_api();
                if let Some(tx) = api.stream_tx_by_mid(o.mid, o.rid) {
                    tx.write_rtp(
                        RtpWrite::new(
                            o.pt,
                            o.seq.into(),
                            o.ts,
                            now,
                            vec![0x90, o.tag, 0, 1, 2, 3, 4, 5],
                        )
                        .marker(true),
                    );
                }
                self.drain();
                self.sending[i].seq += 1;
                self.sending[i].ts = o.ts.wrapping_add(o.step);
            }
        }
        let mut buf = [0u8; 2048];
        while let Ok((n, source)) = self.socket.recv_from(&mut buf) {
            if let Ok(r) = Receive::new(Protocol::Udp, source, self.addr, &buf[..n]) {
                let _ = self.rtc.handle_input(Input::Receive(Instant::now(), r));
                self.drain();
            }
        }
        let now = Instant::now();
        if now >= self.next_timeout {
            let _ = self.rtc.handle_input(Input::Timeout(now));
            self.drain();
        }
    }
}

impl Default for Client {
    fn default() -> Self {
        Self::new()
    }
}

/// Drives clients (blocking the test thread; the server runs on its own)
/// for `dur`, or until `done` holds.
pub fn pump_until(
    clients: &mut [&mut Client],
    dur: Duration,
    mut done: impl FnMut(&[&mut Client]) -> bool,
) -> bool {
    let end = Instant::now() + dur;
    while Instant::now() < end {
        for c in clients.iter_mut() {
            c.step();
        }
        if done(clients) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    false
}

pub fn pump(clients: &mut [&mut Client], dur: Duration) {
    pump_until(clients, dur, |_| false);
}

/// The next event of a kind, waiting up to 5 s.
pub async fn next_offer(events: &mut mpsc::Receiver<PeerEvent>) -> SessionDescription {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match events.try_recv() {
            Ok(PeerEvent::SubscribeOffer(o)) => return o,
            Ok(_) => {}
            Err(_) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(5)).await
            }
            Err(e) => panic!("no subscribe offer: {e:?}"),
        }
    }
}

/// Every event queued now.
pub fn drain_events(events: &mut mpsc::Receiver<PeerEvent>) -> Vec<PeerEvent> {
    let mut out = Vec::new();
    while let Ok(e) = events.try_recv() {
        out.push(e);
    }
    out
}

/// mid → track id of each `a=msid` in an SDP (test-side reading).
pub fn msid_tracks(sdp: &str) -> HashMap<Mid, String> {
    let mut out = HashMap::new();
    let mut mid = None;
    for line in sdp.lines() {
        if line.starts_with("m=") {
            mid = None;
        } else if let Some(m) = line.strip_prefix("a=mid:") {
            mid = Some(Mid::from(m.trim()));
        } else if let Some(v) = line.strip_prefix("a=msid:")
            && let (Some(m), Some(t)) = (mid, v.split_whitespace().nth(1))
        {
            out.insert(m, t.to_owned());
        }
    }
    out
}

/// Alice publishing (connected, sending) and Bob subscribed to her tracks
/// (connected, answered), with their event receivers.
pub struct Room {
    pub transport: Arc<WebRtcTransport>,
    pub alice: Client,
    pub bob: Client,
    pub alice_events: mpsc::Receiver<PeerEvent>,
    pub bob_events: mpsc::Receiver<PeerEvent>,
}

impl Room {
    pub async fn join() -> Self {
        Self::join_on(start()).await
    }

    pub async fn join_on(transport: Arc<WebRtcTransport>) -> Self {
        Self::join_with(transport, Client::new()).await
    }

    /// Joins with a prepared publisher client (e.g. one offering simulcast).
    pub async fn join_with(transport: Arc<WebRtcTransport>, mut alice: Client) -> Self {
        let mut alice_events = transport.attach(&room(), &peer(ALICE)).await.unwrap();
        let mut bob_events = transport.attach(&room(), &peer(BOB)).await.unwrap();
        let mut bob = Client::new();

        // Alice publishes.
        let offer = alice.publish_offer();
        let answer = transport.publish_offer(&peer(ALICE), &offer).await.unwrap();
        alice.accept_answer(&answer);
        transport
            .trickle(&peer(ALICE), Target::Publish, &alice.candidate())
            .await
            .unwrap();
        // Alice's own subscribe offer (data channel only) is answered too.
        let mut alice_sub = Client::new();
        let o = next_offer(&mut alice_events).await;
        let a = alice_sub.answer(&o);
        transport.subscribe_answer(&peer(ALICE), &a).await.unwrap();

        // Bob's first offer (data channel), then the plan adds Alice's tracks.
        let o = next_offer(&mut bob_events).await;
        let a = bob.answer(&o);
        transport.subscribe_answer(&peer(BOB), &a).await.unwrap();
        transport.set_plan(&room(), plan(&[BOB], false)).await;
        let o = next_offer(&mut bob_events).await;
        let a = bob.answer(&o);
        transport.subscribe_answer(&peer(BOB), &a).await.unwrap();
        transport
            .trickle(&peer(BOB), Target::Subscribe, &bob.candidate())
            .await
            .unwrap();

        alice.send_media = true;
        assert!(
            pump_until(&mut [&mut alice, &mut bob], Duration::from_secs(10), |c| {
                c[0].connected && c[1].connected
            }),
            "clients did not connect"
        );
        Self {
            transport,
            alice,
            bob,
            alice_events,
            bob_events,
        }
    }

    pub fn pump(&mut self, dur: Duration) {
        pump(&mut [&mut self.alice, &mut self.bob], dur);
    }
}
