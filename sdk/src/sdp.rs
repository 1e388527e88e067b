//! The little SDP reading the client needs, as pure functions: which track
//! each m-line carries (`a=msid`), and the loopback-only candidate policy.

use std::net::IpAddr;

/// One `m=` section of a description.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct MediaSection {
    /// `audio`, `video` or `application`.
    pub kind: String,
    /// `a=mid`.
    pub mid: Option<String>,
    /// `sendrecv`, `sendonly`, `recvonly` or `inactive`, when written.
    pub direction: Option<String>,
    /// The MediaStream id of `a=msid` (or of `a=ssrc:… msid:`).
    pub stream_id: Option<String>,
    /// The track id of `a=msid` (or of `a=ssrc:… msid:`).
    pub track_id: Option<String>,
    /// The m-line's port is 0 (a rejected or stopped section).
    pub rejected: bool,
}

/// Every `m=` section of `sdp`, in order. Lines it does not understand are
/// skipped; it never fails.
pub fn media_sections(sdp: &str) -> Vec<MediaSection> {
    let mut out: Vec<MediaSection> = Vec::new();
    for line in sdp.lines().map(str::trim_end) {
        if let Some(m) = line.strip_prefix("m=") {
            let mut parts = m.split_whitespace();
            let kind = parts.next().unwrap_or_default().to_owned();
            let rejected = parts.next() == Some("0");
            out.push(MediaSection {
                kind,
                rejected,
                ..MediaSection::default()
            });
            continue;
        }
        let Some(section) = out.last_mut() else {
            continue;
        };
        let Some(attr) = line.strip_prefix("a=") else {
            continue;
        };
        if let Some(mid) = attr.strip_prefix("mid:") {
            section.mid = Some(mid.trim().to_owned());
        } else if let Some(msid) = attr.strip_prefix("msid:") {
            if let Some((s, t)) = two_words(msid) {
                section.stream_id = Some(s);
                section.track_id = Some(t);
            }
        } else if let Some(ssrc) = attr.strip_prefix("ssrc:") {
            // `a=ssrc:<ssrc> msid:<stream> <track>` (Plan B style, still written
            // by some stacks); `a=msid` wins when both are present.
            if section.track_id.is_none()
                && let Some(rest) = ssrc.split_once(' ').map(|(_, r)| r)
                && let Some(msid) = rest.strip_prefix("msid:")
                && let Some((s, t)) = two_words(msid)
            {
                section.stream_id = Some(s);
                section.track_id = Some(t);
            }
        } else if matches!(attr, "sendrecv" | "sendonly" | "recvonly" | "inactive") {
            section.direction = Some(attr.to_owned());
        }
    }
    out
}

fn two_words(s: &str) -> Option<(String, String)> {
    let mut it = s.split_whitespace();
    let a = it.next()?;
    let b = it.next()?;
    Some((a.to_owned(), b.to_owned()))
}

/// The `(stream_id, track_id)` of every audio/video section that names one.
pub fn msid_tracks(sdp: &str) -> Vec<(String, String)> {
    media_sections(sdp)
        .into_iter()
        .filter(|m| m.kind == "audio" || m.kind == "video")
        .filter_map(|m| Some((m.stream_id?, m.track_id?)))
        .collect()
}

/// The connection address of an ICE candidate attribute
/// (`candidate:<foundation> <component> <transport> <priority> <address> <port> typ …`,
/// with or without a leading `a=`).
pub fn candidate_address(candidate: &str) -> Option<&str> {
    let c = candidate.trim();
    let c = c.strip_prefix("a=").unwrap_or(c);
    let c = c.strip_prefix("candidate:")?;
    c.split_whitespace().nth(4)
}

/// Whether a candidate's address is a loopback IP (127.0.0.0/8 or ::1).
/// Host names (mDNS `.local`) and every other address are not.
pub fn is_loopback_candidate(candidate: &str) -> bool {
    candidate_address(candidate)
        .and_then(|a| a.parse::<IpAddr>().ok())
        .is_some_and(|ip| ip.is_loopback())
}

/// `sdp` without the `a=candidate` lines whose address is not loopback, so
/// that ICE never sends a check anywhere else. Returns the description and
/// how many candidates were dropped.
pub fn retain_loopback_candidates(sdp: &str) -> (String, usize) {
    let mut dropped = 0;
    let mut out = String::with_capacity(sdp.len());
    for line in sdp.split_inclusive('\n') {
        let bare = line.trim_end();
        if bare.starts_with("a=candidate:") && !is_loopback_candidate(bare) {
            dropped += 1;
            continue;
        }
        out.push_str(line);
    }
    (out, dropped)
}

#[cfg(test)]
mod tests {
    use super::*;

    const OFFER: &str = "v=0\r\n\
o=- 1 2 IN IP4 127.0.0.1\r\n\
s=-\r\n\
t=0 0\r\n\
a=group:BUNDLE 0 1 2\r\n\
m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n\
c=IN IP4 0.0.0.0\r\n\
a=mid:0\r\n\
a=sendonly\r\n\
a=msid:stream-a track-a\r\n\
a=candidate:1 1 udp 2130706431 127.0.0.1 50000 typ host\r\n\
a=candidate:2 1 udp 2130706431 192.168.1.4 50001 typ host\r\n\
a=candidate:3 1 udp 2130706431 abcd.local 50002 typ host\r\n\
a=candidate:4 1 udp 2130706431 ::1 50003 typ host\r\n\
m=video 9 UDP/TLS/RTP/SAVPF 96\r\n\
a=mid:1\r\n\
a=recvonly\r\n\
a=ssrc:1234 cname:x\r\n\
a=ssrc:1234 msid:stream-v track-v\r\n\
m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n\
a=mid:2\r\n\
m=video 0 UDP/TLS/RTP/SAVPF 96\r\n\
a=mid:3\r\n\
a=inactive\r\n";

    #[test]
    fn sections_carry_mid_direction_and_msid() {
        let s = media_sections(OFFER);
        assert_eq!(s.len(), 4);
        assert_eq!(s[0].kind, "audio");
        assert_eq!(s[0].mid.as_deref(), Some("0"));
        assert_eq!(s[0].direction.as_deref(), Some("sendonly"));
        assert_eq!(s[0].stream_id.as_deref(), Some("stream-a"));
        assert_eq!(s[0].track_id.as_deref(), Some("track-a"));
        assert_eq!(
            s[1].track_id.as_deref(),
            Some("track-v"),
            "from a=ssrc msid"
        );
        assert_eq!(s[2].kind, "application");
        assert_eq!(s[2].track_id, None);
        assert!(s[3].rejected && !s[0].rejected);
        assert_eq!(
            msid_tracks(OFFER),
            vec![
                ("stream-a".to_owned(), "track-a".to_owned()),
                ("stream-v".to_owned(), "track-v".to_owned())
            ]
        );
    }

    #[test]
    fn msid_line_wins_over_ssrc_msid_and_dash_streams_are_kept() {
        let sdp = "m=video 9 X 96\na=ssrc:1 msid:old-s old-t\na=msid:- t\n";
        let s = media_sections(sdp);
        assert_eq!(s[0].stream_id.as_deref(), Some("-"));
        assert_eq!(s[0].track_id.as_deref(), Some("t"));
        assert!(media_sections("garbage\n\nm=\na=msid:\n").len() == 1);
        assert!(media_sections("").is_empty());
    }

    #[test]
    fn only_loopback_candidates_are_kept() {
        assert!(is_loopback_candidate(
            "candidate:1 1 udp 2130706431 127.0.0.1 50000 typ host"
        ));
        assert!(is_loopback_candidate(
            "a=candidate:1 1 udp 1 127.3.4.5 1 typ host"
        ));
        assert!(!is_loopback_candidate(
            "candidate:1 1 udp 1 10.0.0.1 1 typ host"
        ));
        assert!(!is_loopback_candidate(
            "candidate:1 1 udp 1 x.local 1 typ host"
        ));
        assert!(!is_loopback_candidate(""));
        assert!(!is_loopback_candidate("candidate:short"));
        let (kept, dropped) = retain_loopback_candidates(OFFER);
        assert_eq!(dropped, 2);
        assert!(kept.contains("127.0.0.1 50000"));
        assert!(kept.contains("::1 50003"));
        assert!(!kept.contains("192.168.1.4"));
        assert!(!kept.contains(".local"));
        assert!(kept.ends_with("a=inactive\r\n"));
    }
}
