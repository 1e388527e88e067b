//! The `ion-sfu` data channel's requests (100ms web SDK): a subscriber's
//! preferred simulcast layer of a video track, or whether it wants a track
//! at all. Pure: parsing requests and writing replies.
//!
//! ```text
//! → {"id":"…","jsonrpc":"2.0","method":"prefer-video-track-state","params":{"track_id":"…","max_spatial_layer":"high"|"medium"|"low"|"none"}}
//! → {"id":"…","jsonrpc":"2.0","method":"prefer-audio-track-state","params":{"track_id":"…","subscribed":true}}
//! ← {"jsonrpc":"2.0","id":"…","result":{}}   or   {"jsonrpc":"2.0","id":"…","error":{"code":404,"message":"…"}}
//! ```

use serde::Deserialize;
use serde_json::{Value, json};

use crate::forward::layer_rank;

/// What a subscriber asked for one track.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Want {
    /// Video up to this layer rank (3 = `f`, 2 = `h`, 1 = `q`).
    Layer(u8),
    /// Nothing of this track (video `none`, audio not subscribed).
    Paused,
    /// Audio again.
    Audio,
}

/// One request of the channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub id: Value,
    pub track: String,
    pub want: Want,
}

/// Reads a channel message; `Err` carries the reply to send (malformed or
/// unknown requests), `Ok(None)` is a message that needs no reply.
pub fn parse(text: &[u8]) -> Result<Option<Request>, String> {
    #[derive(Deserialize)]
    struct Msg {
        #[serde(default)]
        id: Value,
        method: Option<String>,
        #[serde(default)]
        params: Params,
    }
    #[derive(Deserialize, Default)]
    struct Params {
        track_id: Option<String>,
        max_spatial_layer: Option<String>,
        subscribed: Option<bool>,
    }
    let Ok(msg) = serde_json::from_slice::<Msg>(text) else {
        return Err(error(&Value::Null, -32700, "not JSON"));
    };
    let Some(method) = msg.method else {
        return Ok(None);
    };
    let track = || {
        msg.params
            .track_id
            .clone()
            .ok_or_else(|| error(&msg.id, 400, "track_id is required"))
    };
    let want = match method.as_str() {
        "prefer-video-track-state" => match msg.params.max_spatial_layer.as_deref() {
            Some("high") => Want::Layer(layer_rank(Some("f".into()))),
            Some("medium") => Want::Layer(layer_rank(Some("h".into()))),
            Some("low") => Want::Layer(layer_rank(Some("q".into()))),
            Some("none") => Want::Paused,
            _ => {
                return Err(error(
                    &msg.id,
                    400,
                    "max_spatial_layer must be high, medium, low or none",
                ));
            }
        },
        "prefer-audio-track-state" => match msg.params.subscribed {
            Some(true) => Want::Audio,
            Some(false) => Want::Paused,
            None => return Err(error(&msg.id, 400, "subscribed is required")),
        },
        m => return Err(error(&msg.id, -32601, &format!("unknown method {m}"))),
    };
    Ok(Some(Request {
        id: msg.id.clone(),
        track: track()?,
        want,
    }))
}

/// A success reply.
pub fn ok(id: &Value) -> String {
    json!({ "jsonrpc": "2.0", "id": id, "result": {} }).to_string()
}

/// An error reply.
pub fn error(id: &Value, code: i64, message: &str) -> String {
    json!({ "jsonrpc": "2.0", "id": id, "error": { "code": code, "message": message } }).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_layer_and_audio_requests() {
        let r = parse(br#"{"id":"a","jsonrpc":"2.0","method":"prefer-video-track-state","params":{"max_spatial_layer":"medium","track_id":"t1"}}"#)
            .unwrap()
            .unwrap();
        assert_eq!(r.want, Want::Layer(2));
        assert_eq!(r.track, "t1");
        let r = parse(br#"{"id":"b","method":"prefer-audio-track-state","params":{"subscribed":false,"track_id":"t2"}}"#)
            .unwrap()
            .unwrap();
        assert_eq!(r.want, Want::Paused);
        assert!(ok(&r.id).contains("\"result\":{}"));
    }

    #[test]
    fn refuses_what_it_does_not_know() {
        assert!(parse(b"nonsense").is_err());
        let e = parse(br#"{"id":"c","method":"prefer-video-track-state","params":{"max_spatial_layer":"huge","track_id":"t"}}"#).unwrap_err();
        assert!(e.contains("400") && e.contains("\"c\""));
        assert!(
            parse(br#"{"id":"d","method":"dance","params":{}}"#)
                .unwrap_err()
                .contains("-32601")
        );
        assert_eq!(parse(br#"{"id":"e","result":{}}"#).unwrap(), None);
    }
}
