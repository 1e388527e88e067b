//! Published tracks: a webrtc-rs `TrackLocalStaticRTP` fed by a sender task
//! that paces a [`Synth`] generator in real time and wraps its payloads in
//! RTP. Mute stops the packets (the track stays negotiated); unmute resumes
//! with a keyframe.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use rtc::media_stream::MediaStreamTrack;
use rtc::rtp;
use rtc::rtp_transceiver::rtp_sender::{
    RTCRtpCodec, RTCRtpCodingParameters, RTCRtpEncodingParameters, RtpCodecKind,
};
use rtc::rtp_transceiver::{RTCRtpTransceiverDirection, RTCRtpTransceiverInit};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use webrtc::media_stream::track_local::TrackLocal;
use webrtc::media_stream::track_local::static_rtp::TrackLocalStaticRTP;
use webrtc::rtp_transceiver::RtpSender;

use crate::connection::Conn;
use crate::error::SdkError;
use crate::messages::{TrackKind, TrackState};
use crate::synth::Synth;

/// What a sender task shares with the client.
#[derive(Debug, Default)]
pub(crate) struct SendControl {
    pub(crate) muted: AtomicBool,
    keyframe: AtomicBool,
    packets: AtomicU64,
    bytes: AtomicU64,
    frames: AtomicU64,
    write_errors: AtomicU64,
}

impl SendControl {
    pub(crate) fn set_muted(&self, muted: bool) {
        let was = self.muted.swap(muted, Ordering::Relaxed);
        if was && !muted {
            self.keyframe.store(true, Ordering::Relaxed);
        }
    }

    pub(crate) fn stats(&self) -> SendStats {
        SendStats {
            packets: self.packets.load(Ordering::Relaxed),
            bytes: self.bytes.load(Ordering::Relaxed),
            frames: self.frames.load(Ordering::Relaxed),
            write_errors: self.write_errors.load(Ordering::Relaxed),
        }
    }
}

/// What one published track has sent so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SendStats {
    /// RTP packets handed to webrtc-rs.
    pub packets: u64,
    /// Payload bytes in them.
    pub bytes: u64,
    pub frames: u64,
    /// Writes webrtc-rs refused (before the track is bound by negotiation).
    /// Note W3: some refusals happen inside webrtc-rs's driver and are only
    /// logged, so a zero here does not prove every packet left.
    pub write_errors: u64,
}

/// A track this client publishes.
pub(crate) struct LocalTrack {
    pub(crate) state: TrackState,
    pub(crate) sender: Arc<dyn RtpSender>,
    pub(crate) control: Arc<SendControl>,
    pub(crate) task: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for LocalTrack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalTrack")
            .field("state", &self.state)
            .finish()
    }
}

impl Drop for LocalTrack {
    fn drop(&mut self) {
        if let Some(t) = self.task.take() {
            t.abort();
        }
    }
}

/// The codec a track of `kind` is sent with: the same parameters as
/// webrtc-rs's default Opus (PT 111) and VP8 (PT 96) registrations, so the
/// fuzzy codec match picks them.
pub(crate) fn codec_for(kind: TrackKind) -> RTCRtpCodec {
    use rtc::peer_connection::configuration::media_engine::{MIME_TYPE_OPUS, MIME_TYPE_VP8};
    match kind {
        TrackKind::Audio => RTCRtpCodec {
            mime_type: MIME_TYPE_OPUS.to_owned(),
            clock_rate: 48_000,
            channels: 2,
            sdp_fmtp_line: "minptime=10;useinbandfec=1".to_owned(),
            rtcp_feedback: vec![],
        },
        TrackKind::Video => RTCRtpCodec {
            mime_type: MIME_TYPE_VP8.to_owned(),
            clock_rate: 90_000,
            channels: 0,
            sdp_fmtp_line: String::new(),
            rtcp_feedback: vec![],
        },
    }
}

/// Adds a send-only track of `kind` to the publish connection, with
/// `a=msid:<stream_id> <track_id>`. Returns the track, its sender, its SSRC
/// and the MIME type it is sent as.
pub(crate) async fn add_track(
    conn: &Conn,
    kind: TrackKind,
    stream_id: &str,
    track_id: &str,
) -> Result<(Arc<TrackLocalStaticRTP>, Arc<dyn RtpSender>, u32, String), SdkError> {
    let ssrc: u32 = rand::random();
    let codec = codec_for(kind);
    let mime = codec.mime_type.clone();
    let rtc_kind = match kind {
        TrackKind::Audio => RtpCodecKind::Audio,
        TrackKind::Video => RtpCodecKind::Video,
    };
    let track = Arc::new(TrackLocalStaticRTP::new(MediaStreamTrack::new(
        stream_id.to_owned(),
        track_id.to_owned(),
        format!("caucus-sdk {kind:?}"),
        rtc_kind,
        vec![RTCRtpEncodingParameters {
            rtp_coding_parameters: RTCRtpCodingParameters {
                ssrc: Some(ssrc),
                ..Default::default()
            },
            active: true,
            codec,
            ..Default::default()
        }],
    )));
    let transceiver = conn
        .pc
        .add_transceiver_from_track(
            Arc::clone(&track) as Arc<dyn TrackLocal>,
            Some(RTCRtpTransceiverInit {
                direction: RTCRtpTransceiverDirection::Sendonly,
                streams: vec![stream_id.to_owned()],
                send_encodings: vec![],
            }),
        )
        .await
        .map_err(|e| SdkError::webrtc("adding a track", e))?;
    let sender = transceiver
        .sender()
        .await
        .ok()
        .flatten()
        .ok_or_else(|| SdkError::webrtc("adding a track", "the transceiver has no sender"))?;
    Ok((track, sender, ssrc, mime))
}

/// Starts the sender task of a negotiated track.
pub(crate) fn spawn_sender(
    track: Arc<TrackLocalStaticRTP>,
    sender: Arc<dyn RtpSender>,
    synth: Box<dyn Synth>,
    control: Arc<SendControl>,
    ssrc: u32,
    mime: String,
    connected: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(run_sender(
        track, sender, synth, control, ssrc, mime, connected,
    ))
}

async fn run_sender(
    track: Arc<TrackLocalStaticRTP>,
    sender: Arc<dyn RtpSender>,
    mut synth: Box<dyn Synth>,
    control: Arc<SendControl>,
    ssrc: u32,
    mime: String,
    connected: watch::Receiver<bool>,
) {
    let clock_rate = u64::from(synth.clock_rate());
    let mut ticker = tokio::time::interval(synth.frame_interval());
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut seq: u16 = rand::random();
    let ts_base: u32 = rand::random();
    let start = Instant::now();
    let mut payload_type = None;
    loop {
        ticker.tick().await;
        // Before DTLS completes webrtc-rs drops packets with only a log line
        // ("local_srtp_context is not set yet"), so nothing is sent until the
        // publish connection is connected, and nothing while it is not.
        if control.muted.load(Ordering::Relaxed) || !*connected.borrow() {
            continue;
        }
        let pt = match payload_type {
            Some(pt) => pt,
            None => match negotiated_payload_type(&sender, &mime).await {
                Some(pt) => *payload_type.insert(pt),
                None => continue, // not negotiated yet
            },
        };
        if control.keyframe.swap(false, Ordering::Relaxed) {
            synth.request_keyframe();
        }
        let frame = synth.next_frame();
        // The RTP clock follows wall time, so a mute gap shows as a gap.
        let timestamp = ts_base.wrapping_add(rtp_ticks(start.elapsed(), clock_rate));
        for p in frame.payloads {
            let len = p.data.len() as u64;
            let packet = rtp::Packet {
                header: rtp::header::Header {
                    version: 2,
                    marker: p.marker,
                    payload_type: pt,
                    sequence_number: seq,
                    timestamp,
                    ssrc,
                    ..Default::default()
                },
                payload: Bytes::clone(&p.data),
            };
            seq = seq.wrapping_add(1);
            match track.write_rtp(packet).await {
                Ok(()) => {
                    control.packets.fetch_add(1, Ordering::Relaxed);
                    control.bytes.fetch_add(len, Ordering::Relaxed);
                }
                Err(e) => {
                    control.write_errors.fetch_add(1, Ordering::Relaxed);
                    tracing::trace!(error = %e, "write_rtp refused");
                }
            }
        }
        control.frames.fetch_add(1, Ordering::Relaxed);
    }
}

fn rtp_ticks(elapsed: Duration, clock_rate: u64) -> u32 {
    (elapsed.as_micros() as u64 * clock_rate / 1_000_000) as u32
}

/// The payload type negotiated for `mime` on this sender (W3: a packet with
/// another PT is dropped inside webrtc-rs with only a log line).
async fn negotiated_payload_type(sender: &Arc<dyn RtpSender>, mime: &str) -> Option<u8> {
    let params = sender.get_parameters().await.ok()?;
    params
        .rtp_parameters
        .codecs
        .iter()
        .find(|c| c.rtp_codec.mime_type.eq_ignore_ascii_case(mime))
        .map(|c| c.payload_type)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rtp_clock_follows_elapsed_time() {
        assert_eq!(rtp_ticks(Duration::from_millis(20), 48_000), 960);
        assert_eq!(rtp_ticks(Duration::from_millis(40), 90_000), 3600);
    }

    #[test]
    fn unmute_asks_for_a_keyframe() {
        let c = SendControl::default();
        c.set_muted(true);
        assert!(!c.keyframe.load(Ordering::Relaxed));
        c.set_muted(false);
        assert!(c.keyframe.load(Ordering::Relaxed));
    }
}
