//! Per-packet forwarding decisions, pure: payload-type mapping between two
//! connections, which simulcast layer a subscriber gets, and the sequence
//! number / timestamp rewriting that keeps each outgoing stream continuous.

use std::time::Instant;

use str0m::format::{CodecConfig, CodecSpec, PayloadParams};
use str0m::media::{Mid, Pt, Rid};
use str0m::rtp::{ExtensionValues, SeqNo};

/// The outgoing PT on `to` (among the media's negotiated `to_pts`) for
/// packets of the codec `spec` (the publisher's, or that of media from
/// another transport): same codec and clock rate, identical format
/// parameters preferred.
pub fn map_spec(spec: &CodecSpec, to: &CodecConfig, to_pts: &[Pt]) -> Option<Pt> {
    let candidates = || {
        to.params()
            .iter()
            .filter(|p| to_pts.contains(&p.pt()))
            .filter(move |p: &&PayloadParams| {
                let s = p.spec();
                s.codec == spec.codec && s.clock_rate == spec.clock_rate
            })
    };
    candidates()
        .find(|p| p.spec().format == spec.format)
        .or_else(|| candidates().next())
        .map(|p| p.pt())
}

/// Header extension values carried over to subscribers; str0m writes its own
/// mid and transport-wide sequence numbers.
pub fn carried_extensions(ext: &ExtensionValues) -> ExtensionValues {
    ExtensionValues {
        audio_level: ext.audio_level,
        voice_activity: ext.voice_activity,
        video_orientation: ext.video_orientation,
        ..Default::default()
    }
}

/// Rank of a simulcast layer by its conventional rid (`f` > `h` > `q`);
/// other rids rank below, a non-simulcast stream is the only layer.
pub fn layer_rank(rid: Option<Rid>) -> u8 {
    match rid.as_deref() {
        None => 4,
        Some("f") => 3,
        Some("h") => 2,
        Some("q") => 1,
        Some(_) => 0,
    }
}

/// The layers of one published track seen so far.
#[derive(Debug, Default, Clone)]
pub struct Layers {
    seen: Vec<Option<Rid>>,
}

impl Layers {
    /// Records a layer; true when it is new.
    pub fn saw(&mut self, rid: Option<Rid>) -> bool {
        if self.seen.contains(&rid) {
            false
        } else {
            self.seen.push(rid);
            true
        }
    }
}

/// The layer a subscriber should receive among those seen: the highest at
/// or below its preference (`max_rank`, see [`layer_rank`]), else the lowest
/// seen. A non-simulcast track has one layer, `None`.
pub fn target_layer(layers: &Layers, max_rank: u8) -> Option<Option<Rid>> {
    let rank = |r: &&Option<Rid>| layer_rank(**r);
    if layers.seen.contains(&None) {
        return Some(None);
    }
    layers
        .seen
        .iter()
        .filter(|r| layer_rank(**r) <= max_rank)
        .max_by_key(rank)
        .or_else(|| layers.seen.iter().min_by_key(rank))
        .copied()
}

/// What to do with one packet for one subscriber.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Admit {
    /// Send it (rewritten).
    pub forward: bool,
    /// Ask the publisher for a keyframe of this layer (throttled by the
    /// caller): a switch to it waits for one.
    pub keyframe: Option<Option<Rid>>,
}

/// One subscriber's view of one track: the layer it receives, the layer it
/// is switching to, its preference, and the rewriting that keeps its
/// sequence numbers (starting with rollover 0, so a late joiner's SRTP index
/// matches) and timestamps continuous across layer switches.
#[derive(Debug, Clone)]
pub struct Forwarding {
    /// The layer forwarded now (`None` until the first packet).
    pub layer: Option<Option<Rid>>,
    /// A layer to switch to at its next keyframe.
    pub pending: Option<Option<Rid>>,
    /// The highest layer the subscriber asked for (`prefer-video-track-state`).
    pub max_rank: u8,
    /// The subscriber asked for nothing of this track (`none` / audio off).
    pub paused: bool,
    /// The subscribe m-line's PT for each publisher PT, learnt lazily.
    pub pts: Vec<(Pt, Pt)>,
    rewrite: Option<Rewrite>,
    /// Set when the layer changed: the next packet starts a new offset.
    switched: bool,
}

impl Default for Forwarding {
    fn default() -> Self {
        Self {
            layer: None,
            pending: None,
            max_rank: layer_rank(Some(Rid::from("f"))),
            paused: false,
            pts: Vec::new(),
            rewrite: None,
            switched: false,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Rewrite {
    seq_offset: i64,
    ts_offset: u32,
    last_seq: u64,
    last_ts: u32,
    last_at: Instant,
}

/// RTP clock of video, used to space the first frame after a layer switch.
const VIDEO_CLOCK: f64 = 90_000.0;

impl Forwarding {
    /// Decides for a packet of layer `rid` when the subscriber should get
    /// `want`. The first layer starts at once; a later switch waits for a
    /// packet of the new layer that starts a keyframe (`keyframe` is only
    /// asked then), and the old layer flows until it arrives.
    pub fn admit(
        &mut self,
        rid: Option<Rid>,
        want: Option<Rid>,
        keyframe: impl FnOnce() -> bool,
    ) -> Admit {
        let Some(current) = self.layer else {
            self.layer = Some(want);
            self.pending = None;
            return Admit {
                forward: rid == want,
                keyframe: None,
            };
        };
        if current == want {
            self.pending = None;
            return Admit {
                forward: rid == current,
                keyframe: None,
            };
        }
        self.pending = Some(want);
        if rid == want {
            if keyframe() {
                self.layer = Some(want);
                self.pending = None;
                self.switched = true;
                return Admit {
                    forward: true,
                    keyframe: None,
                };
            }
            return Admit {
                forward: false,
                keyframe: Some(want),
            };
        }
        Admit {
            forward: rid == current,
            keyframe: None,
        }
    }

    /// Packets flow again after a pause: the layer is chosen anew and the
    /// sequence continues where it stopped (no gap for the receiver to NACK).
    pub fn resume(&mut self) {
        self.paused = false;
        self.layer = None;
        self.pending = None;
        self.switched = self.rewrite.is_some();
    }

    /// The outgoing (sequence number, RTP timestamp) of an incoming packet
    /// of the forwarded layer, which arrived at `at`. After a switch the new
    /// layer continues the sequence, and its timestamps continue from the
    /// last one sent, advanced by the time that passed.
    pub fn rewrite(&mut self, seq: SeqNo, ts: u32, at: Instant) -> (SeqNo, u32) {
        let seq = *seq as i64;
        let r = match self.rewrite {
            None => Rewrite {
                // Keep the low 16 bits; drop the rollover count.
                seq_offset: (seq & 0xffff) - seq,
                ts_offset: 0,
                last_seq: 0,
                last_ts: 0,
                last_at: at,
            },
            Some(r) if self.switched => {
                let elapsed = at.saturating_duration_since(r.last_at).as_secs_f64();
                let ticks = ((elapsed * VIDEO_CLOCK) as u32).max(1);
                Rewrite {
                    seq_offset: r.last_seq as i64 + 1 - seq,
                    ts_offset: r.last_ts.wrapping_add(ticks).wrapping_sub(ts),
                    ..r
                }
            }
            Some(r) => r,
        };
        let out_seq = (seq + r.seq_offset).max(0) as u64;
        let out_ts = ts.wrapping_add(r.ts_offset);
        let fresh = self.rewrite.is_none() || self.switched;
        self.switched = false;
        let newer = fresh || out_seq > r.last_seq;
        self.rewrite = Some(Rewrite {
            last_seq: if newer { out_seq } else { r.last_seq },
            last_ts: if newer { out_ts } else { r.last_ts },
            last_at: if newer { at } else { r.last_at },
            ..r
        });
        (out_seq.into(), out_ts)
    }
}

/// The mid and rid an incoming packet belongs to on a publish connection.
pub type MidRid = (Mid, Option<Rid>);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_highest_layer_by_default() {
        let mut l = Layers::default();
        assert!(l.saw(Some("q".into())));
        assert!(!l.saw(Some("q".into())));
        l.saw(Some("f".into()));
        l.saw(Some("h".into()));
        assert_eq!(
            target_layer(&l, Forwarding::default().max_rank),
            Some(Some("f".into()))
        );
    }

    fn rid(r: &str) -> Option<Rid> {
        Some(r.into())
    }

    #[test]
    fn the_preferred_layer_or_the_next_below_or_the_lowest() {
        let mut l = Layers::default();
        l.saw(rid("h"));
        l.saw(rid("q"));
        assert_eq!(target_layer(&l, 3), Some(rid("h")));
        assert_eq!(target_layer(&l, 1), Some(rid("q")));
        assert_eq!(target_layer(&l, 0), Some(rid("q")));
        let mut single = Layers::default();
        single.saw(None);
        assert_eq!(target_layer(&single, 1), Some(None));
        assert_eq!(target_layer(&Layers::default(), 3), None);
    }

    #[test]
    fn a_switch_waits_for_a_keyframe_of_the_new_layer() {
        let mut f = Forwarding::default();
        assert!(f.admit(rid("q"), rid("q"), || unreachable!()).forward);
        // Wanting h: q keeps flowing, h's delta frames are held back and a
        // keyframe of h is asked for.
        assert!(f.admit(rid("q"), rid("h"), || unreachable!()).forward);
        let held = f.admit(rid("h"), rid("h"), || false);
        assert_eq!(
            held,
            Admit {
                forward: false,
                keyframe: Some(rid("h"))
            }
        );
        assert_eq!(f.pending, Some(rid("h")));
        // h's keyframe: switched; q stops.
        assert!(f.admit(rid("h"), rid("h"), || true).forward);
        assert_eq!(f.layer, Some(rid("h")));
        assert!(!f.admit(rid("q"), rid("h"), || unreachable!()).forward);
    }

    #[test]
    fn sequence_starts_at_rollover_zero_and_continues_across_a_switch() {
        let t0 = Instant::now();
        let mut f = Forwarding::default();
        f.admit(rid("q"), rid("q"), || true);
        let (s, t) = f.rewrite(SeqNo::from(70_000), 1000, t0);
        assert_eq!(*s, 70_000 - 65_536);
        assert_eq!(t, 1000);
        let (s2, _) = f.rewrite(SeqNo::from(70_001), 1000, t0);
        assert_eq!(*s2, *s + 1);
        assert!(f.admit(rid("f"), rid("f"), || true).forward);
        // 50 ms later: 4500 ticks of the 90 kHz clock.
        let later = t0 + std::time::Duration::from_millis(50);
        let (s3, t3) = f.rewrite(SeqNo::from(5), 90_000, later);
        assert_eq!(*s3, *s2 + 1);
        assert_eq!(t3, 1000 + 4500);
        let (s4, t4) = f.rewrite(SeqNo::from(6), 93_000, later);
        assert_eq!(*s4, *s3 + 1);
        assert_eq!(t4, 1000 + 4500 + 3000);
    }
}
