//! The forwarding core, sans-IO: which subscriber gets which object, when a
//! subscriber's group stream starts, the per-track cache of the current
//! video group for late joiners (docs/quic-protocol.md §6–7). The driver
//! passes the plan's targets and the time in and carries [`Step`]s out.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use bytes::Bytes;
use caucus_domain::room::model::TrackKind;
use caucus_domain::{PeerId, TrackId};

use crate::codec::{PRIORITY_AUDIO, PRIORITY_VIDEO};

/// A cached group older than this asks the publisher for a keyframe.
pub const STALE_GROUP: Duration = Duration::from_secs(2);
/// The most objects cached per track (a very long group stops being cached
/// and late joiners wait for the next keyframe).
const MAX_CACHED: usize = 1024;

/// What to do on one subscriber's stream of a track.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// Finish the current group stream, open a new one with this header,
    /// and write these (encoded) objects.
    StartGroup {
        alias: u64,
        group: u64,
        priority: u8,
        objects: Vec<Bytes>,
    },
    /// Write one more encoded object on the current group stream.
    Object(Bytes),
}

#[derive(Debug)]
struct Cache {
    kind: TrackKind,
    group: Option<u64>,
    /// The current group's objects from its keyframe (video only).
    objects: Vec<Bytes>,
    started: Option<Instant>,
}

#[derive(Debug)]
struct Sub {
    alias: u64,
    /// The group the subscriber's stream carries now; `None`: waiting for a
    /// place to start (a group's first object, or the cached keyframe group).
    group: Option<u64>,
}

type Key = (PeerId, TrackId);

/// Fan-out state of one server.
#[derive(Debug, Default)]
pub struct Fanout {
    tracks: HashMap<Key, Cache>,
    subs: HashMap<(PeerId, Key), Sub>,
}

impl Fanout {
    pub fn new() -> Self {
        Self::default()
    }

    /// A publisher's track exists (its objects may now arrive).
    pub fn declare(&mut self, publisher: &PeerId, track: &TrackId, kind: TrackKind) {
        self.tracks
            .entry((publisher.clone(), track.clone()))
            .or_insert(Cache {
                kind,
                group: None,
                objects: Vec::new(),
                started: None,
            });
    }

    /// A publisher's track is gone.
    pub fn forget_track(&mut self, publisher: &PeerId, track: &TrackId) {
        let key = (publisher.clone(), track.clone());
        self.tracks.remove(&key);
        self.subs.retain(|(_, k), _| k != &key);
    }

    /// `sub` receives the track under `alias` from now on.
    pub fn subscribe(&mut self, sub: &PeerId, publisher: &PeerId, track: &TrackId, alias: u64) {
        self.subs.insert(
            (sub.clone(), (publisher.clone(), track.clone())),
            Sub { alias, group: None },
        );
    }

    pub fn unsubscribe(&mut self, sub: &PeerId, publisher: &PeerId, track: &TrackId) {
        self.subs
            .remove(&(sub.clone(), (publisher.clone(), track.clone())));
    }

    /// Everything of a peer that left: its tracks and its subscriptions.
    pub fn forget_peer(&mut self, peer: &PeerId) {
        self.tracks.retain(|(p, _), _| p != peer);
        self.subs.retain(|(s, (p, _)), _| s != peer && p != peer);
    }

    /// The subscriber's stream broke or fell behind: it waits for the next
    /// place to start, and the group in flight is dropped for it.
    pub fn restart(&mut self, sub: &PeerId, publisher: &PeerId, track: &TrackId) {
        if let Some(s) = self
            .subs
            .get_mut(&(sub.clone(), (publisher.clone(), track.clone())))
        {
            s.group = None;
        }
    }

    /// Whether a new subscriber of this video track needs the publisher to
    /// send a keyframe (nothing cached, or the cached group is stale).
    pub fn needs_keyframe(&self, publisher: &PeerId, track: &TrackId, now: Instant) -> bool {
        self.tracks
            .get(&(publisher.clone(), track.clone()))
            .is_some_and(|c| {
                c.kind == TrackKind::Video
                    && (c.objects.is_empty()
                        || c.started
                            .is_none_or(|t| now.saturating_duration_since(t) > STALE_GROUP))
            })
    }

    /// Whether one of `targets` waits for a place to start on this video
    /// track that only a new keyframe can give (nothing fresh is cached):
    /// the publisher should be asked for one.
    pub fn starved(
        &self,
        publisher: &PeerId,
        track: &TrackId,
        targets: &[PeerId],
        now: Instant,
    ) -> bool {
        let key = (publisher.clone(), track.clone());
        self.needs_keyframe(publisher, track, now)
            && targets.iter().any(|t| {
                self.subs
                    .get(&(t.clone(), key.clone()))
                    .is_some_and(|s| s.group.is_none())
            })
    }

    /// Object `index` of `group` of a publisher's track arrived, encoded
    /// once; `targets` are the plan's receivers now (none while muted).
    /// Returns what each target's stream does with it.
    #[allow(clippy::too_many_arguments)]
    pub fn on_object(
        &mut self,
        publisher: &PeerId,
        track: &TrackId,
        group: u64,
        index: u64,
        keyframe: bool,
        encoded: Bytes,
        targets: &[PeerId],
        now: Instant,
    ) -> Vec<(PeerId, Step)> {
        let key = (publisher.clone(), track.clone());
        let Some(cache) = self.tracks.get_mut(&key) else {
            return Vec::new();
        };
        let video = cache.kind == TrackKind::Video;
        if index == 0 {
            cache.group = Some(group);
            cache.objects.clear();
            cache.started = keyframe.then_some(now);
        }
        let cached = video
            && cache.group == Some(group)
            && cache.objects.len() as u64 == index
            && (index > 0 || keyframe)
            && cache.objects.len() < MAX_CACHED;
        if cached {
            cache.objects.push(encoded.clone());
        } else if video && cache.group == Some(group) {
            cache.objects.clear();
        }
        let (priority, replay) = if video {
            let whole = cache.objects.len() as u64 == index + 1;
            // A group older than STALE_GROUP is not replayed: the waiting
            // subscriber gets the next keyframe instead (§7).
            let fresh = cache
                .started
                .is_some_and(|t| now.saturating_duration_since(t) <= STALE_GROUP);
            (
                PRIORITY_VIDEO,
                (whole && fresh).then(|| cache.objects.clone()),
            )
        } else {
            (PRIORITY_AUDIO, Some(vec![encoded.clone()]))
        };
        // Subscribers the plan skips now (the track is muted) restart at a
        // keyframe when it flows to them again, never mid-group.
        for ((sub, k), state) in &mut self.subs {
            if k == &key && !targets.contains(sub) {
                state.group = None;
            }
        }
        let mut out = Vec::new();
        for t in targets {
            let Some(sub) = self.subs.get_mut(&(t.clone(), key.clone())) else {
                continue;
            };
            if sub.group == Some(group) {
                out.push((t.clone(), Step::Object(encoded.clone())));
                continue;
            }
            // A new place to start: a group's first object (audio: any
            // object; video: a keyframe), or the cached group so far.
            let objects = if index == 0 && (keyframe || !video) {
                Some(vec![encoded.clone()])
            } else {
                replay.clone()
            };
            if let Some(objects) = objects {
                sub.group = Some(group);
                out.push((
                    t.clone(),
                    Step::StartGroup {
                        alias: sub.alias,
                        group,
                        priority,
                        objects,
                    },
                ));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(n: u8) -> PeerId {
        PeerId::new(format!("00000000-0000-4000-8000-0000000000{n:02x}")).unwrap()
    }

    fn b(s: &str) -> Bytes {
        Bytes::from(s.to_owned())
    }

    fn setup(kind: TrackKind) -> (Fanout, TrackId, Instant) {
        let mut f = Fanout::new();
        let t = TrackId::new("t").unwrap();
        f.declare(&p(1), &t, kind);
        (f, t, Instant::now())
    }

    #[test]
    fn a_late_joiner_starts_with_the_cached_keyframe_group() {
        let (mut f, t, now) = setup(TrackKind::Video);
        f.subscribe(&p(2), &p(1), &t, 7);
        assert!(f.needs_keyframe(&p(1), &t, now));
        let two = [p(2)];
        f.on_object(&p(1), &t, 5, 0, true, b("k"), &two, now);
        f.on_object(&p(1), &t, 5, 1, false, b("d1"), &two, now);
        f.subscribe(&p(3), &p(1), &t, 9);
        let out = f.on_object(&p(1), &t, 5, 2, false, b("d2"), &[p(2), p(3)], now);
        assert_eq!(
            out,
            [
                (p(2), Step::Object(b("d2"))),
                (
                    p(3),
                    Step::StartGroup {
                        alias: 9,
                        group: 5,
                        priority: PRIORITY_VIDEO,
                        objects: vec![b("k"), b("d1"), b("d2")]
                    }
                ),
            ]
        );
        assert!(!f.needs_keyframe(&p(1), &t, now));
        assert!(f.needs_keyframe(&p(1), &t, now + STALE_GROUP + Duration::from_millis(1)));
    }

    #[test]
    fn without_a_cached_keyframe_a_subscriber_waits_for_the_next_group() {
        let (mut f, t, now) = setup(TrackKind::Video);
        f.subscribe(&p(2), &p(1), &t, 1);
        // The group's keyframe was never seen (subscribed mid-group, nothing cached).
        assert!(
            f.on_object(&p(1), &t, 3, 4, false, b("d"), &[p(2)], now)
                .is_empty()
        );
        let out = f.on_object(&p(1), &t, 4, 0, true, b("k"), &[p(2)], now);
        assert!(matches!(&out[..], [(_, Step::StartGroup { group: 4, .. })]));
    }

    #[test]
    fn a_restarted_subscriber_restarts_from_the_cached_keyframe_and_audio_starts_anywhere() {
        let (mut f, t, now) = setup(TrackKind::Video);
        f.subscribe(&p(2), &p(1), &t, 1);
        f.on_object(&p(1), &t, 0, 0, true, b("k"), &[p(2)], now);
        f.restart(&p(2), &p(1), &t);
        // The cached group is replayed whole: the stream restarts cleanly.
        let out = f.on_object(&p(1), &t, 0, 1, false, b("d"), &[p(2)], now);
        assert!(matches!(&out[..], [(_, Step::StartGroup { objects, .. })] if objects.len() == 2));

        let (mut f, a, now) = setup(TrackKind::Audio);
        f.subscribe(&p(2), &p(1), &a, 4);
        let out = f.on_object(&p(1), &a, 9, 3, false, b("o"), &[p(2)], now);
        assert_eq!(
            out,
            [(
                p(2),
                Step::StartGroup {
                    alias: 4,
                    group: 9,
                    priority: PRIORITY_AUDIO,
                    objects: vec![b("o")]
                }
            )]
        );
        assert!(!f.needs_keyframe(&p(1), &a, now));
    }

    #[test]
    fn after_a_pause_a_subscriber_restarts_at_the_cached_keyframe_not_mid_group() {
        let (mut f, t, now) = setup(TrackKind::Video);
        f.subscribe(&p(2), &p(1), &t, 1);
        f.on_object(&p(1), &t, 0, 0, true, b("k"), &[p(2)], now);
        // Muted: not targeted for one object.
        assert!(
            f.on_object(&p(1), &t, 0, 1, false, b("d1"), &[], now)
                .is_empty()
        );
        let out = f.on_object(&p(1), &t, 0, 2, false, b("d2"), &[p(2)], now);
        assert_eq!(
            out,
            [(
                p(2),
                Step::StartGroup {
                    alias: 1,
                    group: 0,
                    priority: PRIORITY_VIDEO,
                    objects: vec![b("k"), b("d1"), b("d2")]
                }
            )]
        );
    }

    #[test]
    fn a_stale_group_is_not_replayed_and_the_waiting_subscriber_asks_for_a_keyframe() {
        let (mut f, t, now) = setup(TrackKind::Video);
        f.subscribe(&p(2), &p(1), &t, 1);
        f.on_object(&p(1), &t, 0, 0, true, b("k"), &[p(2)], now);
        assert!(!f.starved(&p(1), &t, &[p(2)], now), "it receives the group");
        let late = now + STALE_GROUP + Duration::from_millis(1);
        f.subscribe(&p(3), &p(1), &t, 1);
        let out = f.on_object(&p(1), &t, 0, 1, false, b("d"), &[p(2), p(3)], late);
        assert_eq!(
            out,
            [(p(2), Step::Object(b("d")))],
            "p3 gets no stale replay"
        );
        assert!(f.starved(&p(1), &t, &[p(2), p(3)], late));
        let out = f.on_object(&p(1), &t, 1, 0, true, b("k2"), &[p(2), p(3)], late);
        assert_eq!(out.len(), 2);
        assert!(!f.starved(&p(1), &t, &[p(2), p(3)], late));
    }

    #[test]
    fn nobody_targeted_gets_nothing_and_unknown_tracks_are_ignored() {
        let (mut f, t, now) = setup(TrackKind::Video);
        f.subscribe(&p(2), &p(1), &t, 1);
        assert!(
            f.on_object(&p(1), &t, 0, 0, true, b("k"), &[], now)
                .is_empty()
        );
        let other = TrackId::new("x").unwrap();
        assert!(
            f.on_object(&p(1), &other, 0, 0, true, b("k"), &[p(2)], now)
                .is_empty()
        );
        f.forget_peer(&p(1));
        assert!(
            f.on_object(&p(1), &t, 1, 0, true, b("k"), &[p(2)], now)
                .is_empty()
        );
    }
}
