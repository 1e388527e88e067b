//! QUIC media of the client: the sender task of a published track (one
//! group stream per group, a keyframe opening each video group) and the
//! reader of received group streams with per-track counters.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use caucus_transport_quic::codec::{
    Datagram, GroupDecoder, GroupHeader, GroupItem, Object, PRIORITY_AUDIO, PRIORITY_VIDEO,
};
use web_transport_quinn::{ReadError, RecvStream, SendStream, Session};

use crate::messages::TrackKind;

/// What a client counted of one received track.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct QuicTrackStats {
    pub objects: u64,
    pub bytes: u64,
    /// Group streams received.
    pub groups: u64,
    /// Video groups whose first object was not a keyframe (should stay 0).
    pub groups_without_keyframe: u64,
    pub first_at: Option<Instant>,
    pub last_at: Option<Instant>,
    /// Group streams the sender reset (e.g. `SUPERSEDED`: fell behind).
    pub groups_reset: u64,
    /// Objects that arrived as datagrams (audio, §5.3).
    pub datagrams: u64,
    /// How late the latest object arrived, in ms, against the earliest
    /// arrival seen (arrival time minus presentation time, minimum taken
    /// as zero): latency that builds up shows here.
    pub lag_ms: f64,
    /// The smallest arrival-minus-presentation offset so far, in seconds.
    offset_s: Option<f64>,
}

/// Track ids by the server's alias (from `media-track`), and counters.
#[derive(Debug, Default)]
pub(crate) struct Received {
    /// Track id, kind and timescale by alias.
    pub aliases: HashMap<u64, (String, TrackKind, u64)>,
    pub stats: HashMap<String, QuicTrackStats>,
}

pub(crate) type SharedReceived = Arc<Mutex<Received>>;

pub(crate) fn lock(r: &SharedReceived) -> std::sync::MutexGuard<'_, Received> {
    r.lock().unwrap_or_else(|p| p.into_inner())
}

/// How long a group for an alias not yet announced waits for `media-track`.
const ALIAS_WAIT: Duration = Duration::from_secs(2);

/// Reads every group stream the server opens.
pub(crate) async fn receive(conn: Session, received: SharedReceived) {
    let epoch = Instant::now();
    tokio::spawn(receive_datagrams(conn.clone(), received.clone(), epoch));
    while let Ok(recv) = conn.accept_uni().await {
        tokio::spawn(read_group(recv, received.clone(), epoch));
    }
}

/// Audio objects the server sends as datagrams; those of an alias not (yet)
/// announced are dropped, as a lost datagram would be.
async fn receive_datagrams(conn: Session, received: SharedReceived, epoch: Instant) {
    while let Ok(bytes) = conn.read_datagram().await {
        let Ok(d) = Datagram::decode(bytes) else {
            continue;
        };
        let now = Instant::now();
        let mut r = lock(&received);
        let Some((id, _, timescale)) = r.aliases.get(&d.alias).cloned() else {
            continue;
        };
        let s = r.stats.entry(id).or_default();
        s.datagrams += 1;
        s.count(d.payload.len(), d.timestamp, timescale, now, epoch);
    }
}

impl QuicTrackStats {
    fn count(
        &mut self,
        bytes: usize,
        timestamp: u64,
        timescale: u64,
        now: Instant,
        epoch: Instant,
    ) {
        self.objects += 1;
        self.bytes += bytes as u64;
        self.first_at.get_or_insert(now);
        self.last_at = Some(now);
        let offset = now.duration_since(epoch).as_secs_f64() - timestamp as f64 / timescale as f64;
        let min = self.offset_s.map_or(offset, |m| m.min(offset));
        self.offset_s = Some(min);
        self.lag_ms = (offset - min) * 1e3;
    }
}

async fn read_group(mut recv: RecvStream, received: SharedReceived, epoch: Instant) {
    let mut dec = GroupDecoder::new();
    let mut track: Option<(String, TrackKind, u64)> = None;
    let mut first = true;
    loop {
        let chunk = match recv.read_chunk(64 * 1024, true).await {
            Ok(Some(c)) => c.bytes,
            Ok(None) => return,
            Err(e) => {
                if let (ReadError::Reset(_), Some((id, _, _))) = (&e, &track) {
                    lock(&received)
                        .stats
                        .entry(id.clone())
                        .or_default()
                        .groups_reset += 1;
                }
                return;
            }
        };
        dec.push(&chunk);
        loop {
            match dec.next_item() {
                Ok(Some(GroupItem::Header(h))) => {
                    let deadline = Instant::now() + ALIAS_WAIT;
                    loop {
                        if let Some(t) = lock(&received).aliases.get(&h.alias) {
                            track = Some(t.clone());
                            break;
                        }
                        if Instant::now() > deadline {
                            return;
                        }
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                    if let Some((id, _, _)) = &track {
                        lock(&received).stats.entry(id.clone()).or_default().groups += 1;
                    }
                }
                Ok(Some(GroupItem::Object(o))) => {
                    let Some((id, kind, timescale)) = &track else {
                        return;
                    };
                    let now = Instant::now();
                    let mut r = lock(&received);
                    let s = r.stats.entry(id.clone()).or_default();
                    if first && *kind == TrackKind::Video && !o.keyframe {
                        s.groups_without_keyframe += 1;
                    }
                    first = false;
                    s.count(o.payload.len(), o.timestamp, *timescale, now, epoch);
                }
                Ok(None) => break,
                Err(_) => return,
            }
        }
    }
}

/// A published track's sender: paces synthetic frames onto group streams.
#[derive(Debug)]
pub(crate) struct Sender {
    pub alias: u64,
    pub kind: TrackKind,
    /// Set by a `keyframe-request`: the next video frame opens a group.
    pub keyframe_wanted: Arc<AtomicBool>,
    pub stop: Arc<AtomicBool>,
}

/// The pace and size of a synthetic track's frames.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameShape {
    /// Frames per second; 0 sends as fast as the connection takes them.
    pub fps: u32,
    /// Payload bytes per frame.
    pub bytes: usize,
    /// Video frames per group (a keyframe opens each); audio groups hold one.
    pub gop: u32,
}

impl FrameShape {
    /// 30 fps video of 1,200-byte frames, a keyframe every second; 50 fps
    /// audio of 120-byte frames.
    pub fn default_for(kind: TrackKind) -> Self {
        match kind {
            TrackKind::Video => Self {
                fps: 30,
                bytes: 1200,
                gop: 30,
            },
            TrackKind::Audio => Self {
                fps: 50,
                bytes: 120,
                gop: 1,
            },
        }
    }
}

impl Sender {
    /// `datagrams`: audio frames go as datagrams (the server offered them).
    pub(crate) fn spawn(
        conn: Session,
        alias: u64,
        kind: TrackKind,
        shape: FrameShape,
        datagrams: bool,
    ) -> Self {
        let s = Self {
            alias,
            kind,
            keyframe_wanted: Arc::default(),
            stop: Arc::default(),
        };
        tokio::spawn(send_frames(
            conn,
            alias,
            kind,
            s.keyframe_wanted.clone(),
            s.stop.clone(),
            shape,
            datagrams && kind == TrackKind::Audio,
        ));
        s
    }
}

async fn send_frames(
    conn: Session,
    alias: u64,
    kind: TrackKind,
    keyframe_wanted: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    shape: FrameShape,
    datagrams: bool,
) {
    let video = kind == TrackKind::Video;
    let mut tick = (shape.fps > 0)
        .then(|| tokio::time::interval(Duration::from_micros(1_000_000 / u64::from(shape.fps))));
    let payload = Bytes::from(vec![0x5a; shape.bytes]);
    // Video objects start with a VP8 frame tag whose lowest bit (P) is 0 on
    // a keyframe and 1 on a delta frame, as a real encoder's do, so that a
    // receiver on either transport can tell them apart.
    let vp8 = |tag: u8| {
        let mut v = vec![0x5a; shape.bytes.max(1)];
        v[0] = tag;
        Bytes::from(v)
    };
    let (key_payload, delta_payload) = (vp8(0x10), vp8(0x11));
    let mut group = 0u64;
    let mut in_group = 0u64;
    let mut stream: Option<SendStream> = None;
    for frame in 0u64.. {
        match tick.as_mut() {
            Some(t) => {
                t.tick().await;
            }
            None => tokio::task::yield_now().await,
        }
        if stop.load(Ordering::Relaxed) {
            break;
        }
        if datagrams {
            let d = Datagram {
                alias,
                group: frame,
                object: 0,
                timestamp: frame * 960,
                payload: payload.clone(),
            };
            let mut buf = Vec::with_capacity(shape.bytes + 16);
            if d.encode(&mut buf).is_ok() {
                // Too big or no room in the congestion window: dropped.
                let _ = conn.send_datagram(buf.into());
            }
            continue;
        }
        let new_group = !video
            || stream.is_none()
            || in_group >= u64::from(shape.gop.max(1))
            || keyframe_wanted.swap(false, Ordering::Relaxed);
        if new_group {
            if let Some(mut s) = stream.take() {
                let _ = s.finish();
                group += 1;
            }
            in_group = 0;
            let Ok(mut s) = conn.open_uni().await else {
                break;
            };
            let mut head = Vec::new();
            let priority = if video {
                PRIORITY_VIDEO
            } else {
                PRIORITY_AUDIO
            };
            let _ = GroupHeader {
                alias,
                group,
                priority,
            }
            .encode(&mut head);
            if s.write_all(&head).await.is_err() {
                continue;
            }
            stream = Some(s);
        }
        let ts = if video { frame * 3000 } else { frame * 960 };
        let keyframe = video && in_group == 0;
        let o = Object {
            timestamp: ts,
            keyframe,
            payload: match (video, keyframe) {
                (false, _) => payload.clone(),
                (true, true) => key_payload.clone(),
                (true, false) => delta_payload.clone(),
            },
        };
        let mut buf = Vec::with_capacity(shape.bytes + 12);
        if o.encode(&mut buf).is_err() {
            break;
        }
        in_group += 1;
        if let Some(s) = stream.as_mut()
            && s.write_all(&buf).await.is_err()
        {
            stream = None;
        }
    }
    if let Some(mut s) = stream {
        let _ = s.finish();
    }
}
