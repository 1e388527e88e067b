//! The little SDP and candidate reading str0m does not expose: which track
//! (by `a=msid`) each m-line of a client's offer carries.

use std::collections::HashMap;

use caucus_media::TransportError;
use str0m::Candidate;

/// `mid` → the track id of the m-line's `a=msid:<stream> <track>`.
/// M-lines without a mid or an msid (data channels, recvonly) are left out.
pub fn msid_tracks(sdp: &str) -> HashMap<String, String> {
    let mut out = HashMap::new();
    let mut mid: Option<&str> = None;
    let mut track: Option<&str> = None;
    let mut flush = |mid: &mut Option<&str>, track: &mut Option<&str>| {
        if let (Some(m), Some(t)) = (mid.take(), track.take()) {
            out.insert(m.to_owned(), t.to_owned());
        }
    };
    for line in sdp.lines() {
        let line = line.trim_end();
        if line.starts_with("m=") {
            flush(&mut mid, &mut track);
        } else if let Some(v) = line.strip_prefix("a=mid:") {
            mid = Some(v.trim());
        } else if let Some(v) = line.strip_prefix("a=msid:") {
            // `<stream id> <track id>`; a lone stream id has no track.
            let mut parts = v.split_whitespace();
            let _stream = parts.next();
            if let Some(t) = parts.next() {
                track = Some(t);
            }
        }
    }
    flush(&mut mid, &mut track);
    out
}

/// Parses a browser's `candidate:…` string (an `a=` prefix is tolerated).
/// `Ok(None)` is the end-of-candidates marker (an empty string).
pub fn parse_candidate(s: &str) -> Result<Option<Candidate>, TransportError> {
    let s = s.trim();
    let s = s.strip_prefix("a=").unwrap_or(s);
    if s.is_empty() {
        return Ok(None);
    }
    if !s.starts_with("candidate:") {
        return Err(TransportError::InvalidCandidate(format!(
            "expected `candidate:…`, got {s:?}"
        )));
    }
    Candidate::from_sdp_string(s)
        .map(Some)
        .map_err(|e| TransportError::InvalidCandidate(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_track_id_of_each_mid() {
        let sdp = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n\
            m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=msid:s1 a1\r\n\
            m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=msid:s1 v1\r\na=mid:1\r\n\
            m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:2\r\n\
            m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:3\r\na=msid:- \r\n";
        let m = msid_tracks(sdp);
        assert_eq!(m.len(), 2);
        assert_eq!(m["0"], "a1");
        assert_eq!(m["1"], "v1");
    }

    #[test]
    fn candidates_are_checked() {
        assert_eq!(parse_candidate("").unwrap(), None);
        assert!(parse_candidate("nonsense").is_err());
        assert!(parse_candidate("candidate:1 1 udp").is_err());
        let c = parse_candidate("candidate:1 1 udp 2113929471 127.0.0.1 10100 typ host")
            .unwrap()
            .unwrap();
        assert_eq!(c.addr().port(), 10100);
    }
}
