//! QUIC media of the client: the sender task of a published track (one
//! group stream per group, a keyframe opening each video group) and the
//! reader of received group streams with per-track counters.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use caucus_transport_quic::codec::{
    GroupDecoder, GroupHeader, GroupItem, Object, PRIORITY_AUDIO, PRIORITY_VIDEO,
};

use crate::messages::TrackKind;

/// What a client counted of one received track.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct QuicTrackStats {
    pub objects: u64,
    pub bytes: u64,
    /// Group streams received.
    pub groups: u64,
    /// Video groups whose first object was not a keyframe (should stay 0).
    pub groups_without_keyframe: u64,
    pub first_at: Option<Instant>,
    pub last_at: Option<Instant>,
}

/// Track ids by the server's alias (from `media-track`), and counters.
#[derive(Debug, Default)]
pub(crate) struct Received {
    pub aliases: HashMap<u64, (String, TrackKind)>,
    pub stats: HashMap<String, QuicTrackStats>,
}

pub(crate) type SharedReceived = Arc<Mutex<Received>>;

pub(crate) fn lock(r: &SharedReceived) -> std::sync::MutexGuard<'_, Received> {
    r.lock().unwrap_or_else(|p| p.into_inner())
}

/// How long a group for an alias not yet announced waits for `media-track`.
const ALIAS_WAIT: Duration = Duration::from_secs(2);

/// Reads every group stream the server opens.
pub(crate) async fn receive(conn: quinn::Connection, received: SharedReceived) {
    while let Ok(recv) = conn.accept_uni().await {
        tokio::spawn(read_group(recv, received.clone()));
    }
}

async fn read_group(mut recv: quinn::RecvStream, received: SharedReceived) {
    let mut dec = GroupDecoder::new();
    let mut track: Option<(String, TrackKind)> = None;
    let mut first = true;
    loop {
        let chunk = match recv.read_chunk(64 * 1024, true).await {
            Ok(Some(c)) => c.bytes,
            _ => return,
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
                    if let Some((id, _)) = &track {
                        lock(&received).stats.entry(id.clone()).or_default().groups += 1;
                    }
                }
                Ok(Some(GroupItem::Object(o))) => {
                    let Some((id, kind)) = &track else { return };
                    let now = Instant::now();
                    let mut r = lock(&received);
                    let s = r.stats.entry(id.clone()).or_default();
                    if first && *kind == TrackKind::Video && !o.keyframe {
                        s.groups_without_keyframe += 1;
                    }
                    first = false;
                    s.objects += 1;
                    s.bytes += o.payload.len() as u64;
                    s.first_at.get_or_insert(now);
                    s.last_at = Some(now);
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

/// Frames per second and payload bytes of the synthetic tracks.
const VIDEO_FPS: u64 = 30;
const VIDEO_GOP: u64 = 30;
const VIDEO_BYTES: usize = 1200;
const AUDIO_FPS: u64 = 50;
const AUDIO_BYTES: usize = 120;

impl Sender {
    pub(crate) fn spawn(conn: quinn::Connection, alias: u64, kind: TrackKind) -> Self {
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
        ));
        s
    }
}

async fn send_frames(
    conn: quinn::Connection,
    alias: u64,
    kind: TrackKind,
    keyframe_wanted: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
) {
    let video = kind == TrackKind::Video;
    let fps = if video { VIDEO_FPS } else { AUDIO_FPS };
    let mut tick = tokio::time::interval(Duration::from_micros(1_000_000 / fps));
    let mut group = 0u64;
    let mut in_group = 0u64;
    let mut stream: Option<quinn::SendStream> = None;
    for frame in 0u64.. {
        tick.tick().await;
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let new_group = !video
            || stream.is_none()
            || in_group >= VIDEO_GOP
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
        let size = if video { VIDEO_BYTES } else { AUDIO_BYTES };
        let ts = if video { frame * 3000 } else { frame * 960 };
        let o = Object {
            timestamp: ts,
            keyframe: video && in_group == 0,
            payload: Bytes::from(vec![(frame % 251) as u8; size]),
        };
        let mut buf = Vec::with_capacity(size + 12);
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
