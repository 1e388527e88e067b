//! The 100ms payloads the client writes and reads (field names as the 100ms
//! web SDK sends them: snake_case, `type` for the kind).

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use caucus_media::SessionDescription;

/// A track's kind on the wire (`TrackState.type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TrackKind {
    Audio,
    Video,
}

/// Where a track comes from (`TrackState.source`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TrackSource {
    Regular,
    Screen,
    AudioPlaylist,
    VideoPlaylist,
}

/// 100ms `TrackState`: one entry of the `tracks` map of `offer`,
/// `track-update` and the track notifications.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackState {
    pub track_id: String,
    pub stream_id: String,
    pub mute: bool,
    #[serde(rename = "type")]
    pub kind: TrackKind,
    pub source: TrackSource,
    #[serde(default)]
    pub description: String,
}

impl TrackState {
    /// The `publishParams.allowed` entry this track needs: `screen` for
    /// anything from the screen, else `audio` or `video`.
    pub fn publish_kind(&self) -> &'static str {
        match (self.kind, self.source) {
            (_, TrackSource::Screen) => "screen",
            (TrackKind::Audio, _) => "audio",
            (TrackKind::Video, _) => "video",
        }
    }
}

/// What `GET /init` answers (the fields the SDK uses; the whole reply is kept
/// in [`InitReply::raw`]).
#[derive(Clone, Debug, PartialEq)]
pub struct InitReply {
    /// The WebSocket URL to open.
    pub endpoint: String,
    /// Milliseconds of ping silence after which the 100ms SDK gives up.
    pub ping_timeout_ms: Option<u64>,
    /// The whole JSON reply (`policy`, `config`, `rtcConfiguration`, …).
    pub raw: Value,
}

impl InitReply {
    /// Reads the reply body; `None` when it has no string `endpoint`.
    pub fn from_json(raw: Value) -> Option<Self> {
        let endpoint = raw.get("endpoint")?.as_str()?.to_owned();
        let ping_timeout_ms = raw.get("pingTimeout").and_then(Value::as_u64);
        Some(Self {
            endpoint,
            ping_timeout_ms,
            raw,
        })
    }
}

/// The `{code, message}` body of a refused `/init`.
pub(crate) fn init_refusal(body: &str) -> (Option<i64>, String) {
    match serde_json::from_str::<Value>(body) {
        Ok(v) => {
            let code = v.get("code").and_then(Value::as_i64);
            let message = v
                .get("message")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .unwrap_or_else(|| body.to_owned());
            (code, message)
        }
        Err(_) => (None, body.to_owned()),
    }
}

/// `join` params (`offer` is the publish connection's offer).
pub(crate) fn join_params(name: &str, metadata: &str, offer: &SessionDescription) -> Value {
    json!({
        "name": name,
        "data": metadata,
        "offer": offer,
        "disableVidAutoSub": false,
        "server_sub_degrade": false,
        "simulcast": false,
        "onDemandTracks": false,
    })
}

/// `offer` params: the renegotiated publish description and every track this
/// client publishes.
pub(crate) fn offer_params<'a>(
    offer: &SessionDescription,
    tracks: impl IntoIterator<Item = &'a TrackState>,
) -> Value {
    json!({ "desc": offer, "tracks": tracks_map(tracks) })
}

/// `track-update` params.
pub(crate) fn track_update_params<'a>(tracks: impl IntoIterator<Item = &'a TrackState>) -> Value {
    json!({ "tracks": tracks_map(tracks) })
}

fn tracks_map<'a>(tracks: impl IntoIterator<Item = &'a TrackState>) -> Value {
    let map: serde_json::Map<String, Value> = tracks
        .into_iter()
        .map(|t| {
            (
                t.track_id.clone(),
                serde_json::to_value(t).unwrap_or(Value::Null),
            )
        })
        .collect();
    Value::Object(map)
}

/// Reads a `{type, sdp}` description out of a reply or notification: the
/// `join`/`offer` result and the server's `offer` notification carry it at
/// the top level; some servers nest it under `desc`.
pub(crate) fn description(v: &Value, want_kind: &str) -> Option<SessionDescription> {
    let d = v.get("desc").unwrap_or(v);
    let sdp = d.get("sdp")?.as_str()?;
    let kind = d.get("type").and_then(Value::as_str).unwrap_or(want_kind);
    (kind == want_kind).then(|| SessionDescription {
        kind: kind.to_owned(),
        sdp: sdp.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn track_state_has_the_100ms_shape() {
        let t = TrackState {
            track_id: "t1".into(),
            stream_id: "s1".into(),
            mute: false,
            kind: TrackKind::Video,
            source: TrackSource::Regular,
            description: String::new(),
        };
        let v = serde_json::to_value(&t).unwrap();
        assert_eq!(
            v,
            json!({"track_id": "t1", "stream_id": "s1", "mute": false, "type": "video",
                   "source": "regular", "description": ""})
        );
        assert_eq!(serde_json::from_value::<TrackState>(v).unwrap(), t);
        let p = offer_params(&SessionDescription::offer("v=0"), [&t]);
        assert_eq!(p["desc"], json!({"type": "offer", "sdp": "v=0"}));
        assert_eq!(p["tracks"]["t1"]["type"], "video");
        assert_eq!(track_update_params([&t])["tracks"]["t1"]["mute"], false);
        assert_eq!(
            serde_json::to_value(TrackSource::AudioPlaylist).unwrap(),
            "audioplaylist"
        );
    }

    #[test]
    fn join_carries_the_offer_and_the_flags() {
        let p = join_params("ann", "{}", &SessionDescription::offer("v=0"));
        assert_eq!(p["name"], "ann");
        assert_eq!(p["data"], "{}");
        assert_eq!(p["offer"]["type"], "offer");
        assert_eq!(p["disableVidAutoSub"], false);
        assert!(p.get("server_sub_degrade").is_some());
    }

    #[test]
    fn descriptions_are_read_flat_or_nested() {
        let flat = json!({"type": "answer", "sdp": "x", "sfu_node_id": "n"});
        assert_eq!(description(&flat, "answer").unwrap().sdp, "x");
        let nested = json!({"desc": {"type": "offer", "sdp": "y"}});
        assert_eq!(description(&nested, "offer").unwrap().sdp, "y");
        assert!(description(&nested, "answer").is_none());
        assert!(description(&json!({"type": "answer"}), "answer").is_none());
        assert!(description(&json!(null), "answer").is_none());
    }

    #[test]
    fn init_replies_and_refusals_are_read() {
        let r =
            InitReply::from_json(json!({"endpoint": "ws://h/ws", "pingTimeout": 12000})).unwrap();
        assert_eq!(r.endpoint, "ws://h/ws");
        assert_eq!(r.ping_timeout_ms, Some(12000));
        assert!(InitReply::from_json(json!({"endpoint": 3})).is_none());
        assert_eq!(
            init_refusal(r#"{"code":401,"message":"token expired"}"#),
            (Some(401), "token expired".to_owned())
        );
        assert_eq!(init_refusal("oops"), (None, "oops".to_owned()));
    }
}
