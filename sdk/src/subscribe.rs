//! Received tracks: one task per webrtc-rs `TrackRemote` counts its packets;
//! the registry maps the track ids of the subscribe connection's `a=msid`
//! lines to what `on-track-add` / `peer-list` announced.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use rtc::rtp_transceiver::rtp_sender::RtpCodecKind;
use serde_json::Value;
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};

use crate::events::{Event, EventSink};
use crate::messages::{TrackKind, TrackState};
use crate::synth::vp8;

/// What one remote track has received so far.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrackStats {
    /// The publisher's track id (from `a=msid`, as `on-track-add` names it).
    pub track_id: String,
    pub stream_id: String,
    pub kind: TrackKind,
    /// The publishing peer, once `on-track-add` or `peer-list` named it.
    pub peer_id: Option<String>,
    /// RTP packets (RTX repairs included: webrtc-rs unwraps them, W5).
    pub packets: u64,
    /// Payload bytes.
    pub bytes: u64,
    /// VP8 packets that start a keyframe.
    pub keyframes: u64,
    pub first_packet_at: Option<Instant>,
    pub last_packet_at: Option<Instant>,
    /// webrtc-rs reported the track ended.
    pub ended: bool,
}

#[derive(Debug)]
struct Counters {
    stream_id: String,
    kind: TrackKind,
    packets: AtomicU64,
    bytes: AtomicU64,
    keyframes: AtomicU64,
    times: Mutex<(Option<Instant>, Option<Instant>)>,
    ended: std::sync::atomic::AtomicBool,
}

/// A track announced by the server: who publishes it and its state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AnnouncedTrack {
    pub peer_id: String,
    pub state: TrackState,
}

/// The client's view of remote tracks.
#[derive(Debug, Default)]
pub(crate) struct Remote {
    received: Mutex<HashMap<String, Arc<Counters>>>,
    announced: Mutex<HashMap<String, AnnouncedTrack>>,
}

impl Remote {
    pub(crate) fn stats(&self, track_id: &str) -> Option<TrackStats> {
        let c = self.received.lock().ok()?.get(track_id).cloned()?;
        Some(self.snapshot(track_id, &c))
    }

    pub(crate) fn all_stats(&self) -> Vec<TrackStats> {
        let all: Vec<(String, Arc<Counters>)> = match self.received.lock() {
            Ok(g) => g.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            Err(_) => return Vec::new(),
        };
        let mut out: Vec<TrackStats> = all.iter().map(|(id, c)| self.snapshot(id, c)).collect();
        out.sort_by(|a, b| a.track_id.cmp(&b.track_id));
        out
    }

    pub(crate) fn announced(&self) -> Vec<AnnouncedTrack> {
        let mut v: Vec<AnnouncedTrack> = self
            .announced
            .lock()
            .map(|g| g.values().cloned().collect())
            .unwrap_or_default();
        v.sort_by(|a, b| a.state.track_id.cmp(&b.state.track_id));
        v
    }

    fn snapshot(&self, track_id: &str, c: &Counters) -> TrackStats {
        let (first, last) = c.times.lock().map(|t| *t).unwrap_or_default();
        let peer_id = self
            .announced
            .lock()
            .ok()
            .and_then(|a| a.get(track_id).map(|t| t.peer_id.clone()));
        TrackStats {
            track_id: track_id.to_owned(),
            stream_id: c.stream_id.clone(),
            kind: c.kind,
            peer_id,
            packets: c.packets.load(Ordering::Relaxed),
            bytes: c.bytes.load(Ordering::Relaxed),
            keyframes: c.keyframes.load(Ordering::Relaxed),
            first_packet_at: first,
            last_packet_at: last,
            ended: c.ended.load(Ordering::Relaxed),
        }
    }

    /// Records what a notification says about remote tracks: `on-track-add`,
    /// `on-track-update` and `peer-list` add or update, `on-track-remove`
    /// removes. Malformed entries are skipped.
    pub(crate) fn observe(&self, method: &str, params: &Value) {
        let Ok(mut announced) = self.announced.lock() else {
            return;
        };
        match method {
            "on-track-add" | "on-track-update" | "on-track-remove" => {
                let Some(peer_id) = params.pointer("/peer/peer_id").and_then(Value::as_str) else {
                    return;
                };
                for state in tracks_of(params.get("tracks")) {
                    if method == "on-track-remove" {
                        announced.remove(&state.track_id);
                    } else {
                        announced.insert(
                            state.track_id.clone(),
                            AnnouncedTrack {
                                peer_id: peer_id.to_owned(),
                                state,
                            },
                        );
                    }
                }
            }
            "peer-list" => {
                let Some(peers) = params.get("peers").and_then(Value::as_object) else {
                    return;
                };
                for (key, peer) in peers {
                    let peer_id = peer.get("peer_id").and_then(Value::as_str).unwrap_or(key);
                    for state in tracks_of(peer.get("tracks")) {
                        announced.insert(
                            state.track_id.clone(),
                            AnnouncedTrack {
                                peer_id: peer_id.to_owned(),
                                state,
                            },
                        );
                    }
                }
            }
            "on-peer-leave" => {
                if let Some(peer_id) = params.get("peer_id").and_then(Value::as_str) {
                    announced.retain(|_, t| t.peer_id != peer_id);
                }
            }
            _ => {}
        }
    }

    /// Counts a remote track's packets until it ends.
    pub(crate) async fn receive(self: Arc<Self>, track: Arc<dyn TrackRemote>, events: EventSink) {
        let track_id = track.track_id().await;
        let stream_id = track.stream_id().await;
        let kind = match track.kind().await {
            RtpCodecKind::Audio => TrackKind::Audio,
            _ => TrackKind::Video,
        };
        let counters = Arc::new(Counters {
            stream_id: stream_id.clone(),
            kind,
            packets: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            keyframes: AtomicU64::new(0),
            times: Mutex::new((None, None)),
            ended: Default::default(),
        });
        if let Ok(mut r) = self.received.lock() {
            r.insert(track_id.clone(), counters.clone());
        }
        events.emit(Event::TrackReceived {
            track_id: track_id.clone(),
            stream_id,
            kind,
        });
        let mut is_vp8 = None;
        while let Some(event) = track.poll().await {
            match event {
                TrackRemoteEvent::OnRtpPacket(p) => {
                    let now = Instant::now();
                    let first = counters.packets.fetch_add(1, Ordering::Relaxed) == 0;
                    counters
                        .bytes
                        .fetch_add(p.payload.len() as u64, Ordering::Relaxed);
                    if let Ok(mut t) = counters.times.lock() {
                        t.0.get_or_insert(now);
                        t.1 = Some(now);
                    }
                    if first {
                        events.emit(Event::FirstPacket {
                            track_id: track_id.clone(),
                            at: now,
                        });
                    }
                    if kind == TrackKind::Video {
                        let vp8 = match is_vp8 {
                            Some(v) => v,
                            None => {
                                let v = track
                                    .codec(p.header.ssrc)
                                    .await
                                    .is_some_and(|c| c.mime_type.eq_ignore_ascii_case("video/vp8"));
                                *is_vp8.insert(v)
                            }
                        };
                        if vp8 && vp8::is_keyframe_start(&p.payload) {
                            counters.keyframes.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
                TrackRemoteEvent::OnEnded => break,
                _ => {}
            }
        }
        counters.ended.store(true, Ordering::Relaxed);
    }
}

pub(crate) fn tracks_of(v: Option<&Value>) -> Vec<TrackState> {
    v.and_then(Value::as_object)
        .map(|m| {
            m.values()
                .filter_map(|t| serde_json::from_value(t.clone()).ok())
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn track(id: &str) -> Value {
        json!({"track_id": id, "stream_id": "s", "mute": false, "type": "audio",
               "source": "regular", "description": ""})
    }

    #[test]
    fn notifications_maintain_the_announced_tracks() {
        let r = Remote::default();
        r.observe(
            "peer-list",
            &json!({"peers": {"p1": {"peer_id": "p1", "tracks": {"t1": track("t1")}}}, "room": {}}),
        );
        r.observe(
            "on-track-add",
            &json!({"peer": {"peer_id": "p2"}, "tracks": {"t2": track("t2"), "bad": {"x": 1}}}),
        );
        let ids: Vec<(String, String)> = r
            .announced()
            .into_iter()
            .map(|t| (t.peer_id, t.state.track_id))
            .collect();
        assert_eq!(
            ids,
            vec![("p1".into(), "t1".into()), ("p2".into(), "t2".into())]
        );
        let mut muted = track("t2");
        muted["mute"] = json!(true);
        r.observe(
            "on-track-update",
            &json!({"peer": {"peer_id": "p2"}, "tracks": {"t2": muted}}),
        );
        assert!(r.announced()[1].state.mute);
        r.observe(
            "on-track-remove",
            &json!({"peer": {"peer_id": "p2"}, "tracks": {"t2": track("t2")}}),
        );
        assert_eq!(r.announced().len(), 1);
        r.observe("on-peer-leave", &json!({"peer_id": "p1"}));
        assert!(r.announced().is_empty());
        // Malformed notifications change nothing and do not panic.
        r.observe("on-track-add", &json!(null));
        r.observe("peer-list", &json!({"peers": 3}));
        assert!(r.announced().is_empty());
    }
}
