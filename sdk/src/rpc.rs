//! JSON-RPC 2.0 framing of the signalling socket, as pure functions: what the
//! client writes and how a received text frame is classified.

use serde_json::{Value, json};

/// One text frame from the server, classified.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Incoming {
    /// The reply to one of our requests. `id` is normalised to a string (we
    /// only ever send string ids; a number is accepted all the same).
    Reply { id: String, outcome: Outcome },
    /// A notification (`method`, no `id`). Server-initiated requests (with an
    /// `id`) are not in the protocol; they are surfaced the same way.
    Notification { method: String, params: Value },
}

/// How the server answered a request.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Outcome {
    Result(Value),
    Error {
        code: i64,
        message: String,
        data: Option<Value>,
    },
}

impl Outcome {
    /// The answer to `method` as the caller sees it: the result, or the
    /// server's refusal.
    pub(crate) fn into_result(self, method: &str) -> Result<Value, crate::error::RpcError> {
        match self {
            Outcome::Result(v) => Ok(v),
            Outcome::Error {
                code,
                message,
                data,
            } => Err(crate::error::RpcError::Server {
                method: method.to_owned(),
                code,
                message,
                data,
            }),
        }
    }
}

/// Why a received frame could not be classified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BadFrame(pub String);

/// Serialises a request.
pub(crate) fn request(id: &str, method: &str, params: &Value) -> String {
    json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params }).to_string()
}

/// Serialises a notification.
pub(crate) fn notification(method: &str, params: &Value) -> String {
    json!({ "jsonrpc": "2.0", "method": method, "params": params }).to_string()
}

/// Classifies one received text frame. Never panics on any input.
pub(crate) fn parse_incoming(text: &str) -> Result<Incoming, BadFrame> {
    let value: Value =
        serde_json::from_str(text).map_err(|e| BadFrame(format!("not JSON: {e}")))?;
    let Value::Object(mut obj) = value else {
        return Err(BadFrame("not a JSON object".into()));
    };
    if let Some(Value::String(method)) = obj.get("method") {
        let method = method.clone();
        let params = obj.remove("params").unwrap_or(Value::Null);
        return Ok(Incoming::Notification { method, params });
    }
    let id = match obj.get("id") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => return Err(BadFrame("neither a method nor an id".into())),
    };
    if let Some(err) = obj.remove("error") {
        return Ok(Incoming::Reply {
            id,
            outcome: parse_error(err),
        });
    }
    match obj.remove("result") {
        Some(result) => Ok(Incoming::Reply {
            id,
            outcome: Outcome::Result(result),
        }),
        None => Err(BadFrame(format!("reply {id} has neither result nor error"))),
    }
}

fn parse_error(err: Value) -> Outcome {
    let obj = match err {
        Value::Object(obj) => obj,
        other => {
            return Outcome::Error {
                code: 0,
                message: other.to_string(),
                data: None,
            };
        }
    };
    let code = obj.get("code").and_then(code_of).unwrap_or(0);
    let message = match obj.get("message") {
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => String::new(),
    };
    Outcome::Error {
        code,
        message,
        data: obj.get("data").cloned(),
    }
}

/// Error codes are integers, but a server may send `"400"` or `400.0`.
fn code_of(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_and_notifications_are_json_rpc_2() {
        let r: Value =
            serde_json::from_str(&request("7", "ping", &json!({"timestamp": 1}))).unwrap();
        assert_eq!(
            r,
            json!({"jsonrpc": "2.0", "id": "7", "method": "ping", "params": {"timestamp": 1}})
        );
        let n: Value = serde_json::from_str(&notification("leave", &json!({}))).unwrap();
        assert_eq!(
            n,
            json!({"jsonrpc": "2.0", "method": "leave", "params": {}})
        );
        assert!(n.get("id").is_none());
    }

    #[test]
    fn replies_are_classified() {
        assert_eq!(
            parse_incoming(r#"{"jsonrpc":"2.0","id":"3","result":{"a":1}}"#).unwrap(),
            Incoming::Reply {
                id: "3".into(),
                outcome: Outcome::Result(json!({"a": 1}))
            }
        );
        assert_eq!(
            parse_incoming(r#"{"id":4,"error":{"code":403,"message":"no"}}"#).unwrap(),
            Incoming::Reply {
                id: "4".into(),
                outcome: Outcome::Error {
                    code: 403,
                    message: "no".into(),
                    data: None
                }
            }
        );
        assert_eq!(
            parse_incoming(r#"{"id":"5","error":{"code":"400","message":7,"data":[1]}}"#).unwrap(),
            Incoming::Reply {
                id: "5".into(),
                outcome: Outcome::Error {
                    code: 400,
                    message: "7".into(),
                    data: Some(json!([1]))
                }
            }
        );
    }

    #[test]
    fn notifications_are_classified() {
        assert_eq!(
            parse_incoming(r#"{"jsonrpc":"2.0","method":"on-peer-join","params":{"peer_id":"p"}}"#)
                .unwrap(),
            Incoming::Notification {
                method: "on-peer-join".into(),
                params: json!({"peer_id": "p"})
            }
        );
        assert_eq!(
            parse_incoming(r#"{"method":"x"}"#).unwrap(),
            Incoming::Notification {
                method: "x".into(),
                params: Value::Null
            }
        );
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for bad in [
            "",
            "not json",
            "[]",
            "42",
            r#"{"id":null}"#,
            r#"{"id":"1"}"#,
            r#"{"method":3}"#,
            "{\"id\":\"1\",\"result\":",
        ] {
            assert!(parse_incoming(bad).is_err(), "{bad}");
        }
        // An error that is not an object still becomes an error outcome.
        assert!(matches!(
            parse_incoming(r#"{"id":"1","error":"boom"}"#).unwrap(),
            Incoming::Reply {
                outcome: Outcome::Error { code: 0, .. },
                ..
            }
        ));
    }
}
