//! JSON-RPC 2.0 framing as the 100ms SDK uses it: requests carry `id`,
//! notifications do not, `jsonrpc` may be missing. Pure.

use serde_json::{Value, json};

/// A parsed client message.
#[derive(Clone, Debug, PartialEq)]
pub enum Incoming {
    Request {
        id: Value,
        method: String,
        params: Value,
    },
    Notification {
        method: String,
        params: Value,
    },
}

/// A JSON-RPC error (docs/signalling.md §2 lists the codes).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct RpcError {
    pub code: i64,
    pub message: String,
}

impl RpcError {
    pub fn new(code: i64, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
    pub fn parse() -> Self {
        Self::new(-32700, "parse error: the frame is not JSON")
    }
    pub fn invalid_request(why: &str) -> Self {
        Self::new(-32600, format!("invalid request: {why}"))
    }
    pub fn unknown_method(m: &str) -> Self {
        Self::new(-32601, format!("method not found: {m}"))
    }
    pub fn invalid_params(why: impl std::fmt::Display) -> Self {
        Self::new(400, format!("invalid params: {why}"))
    }
    pub fn not_joined() -> Self {
        Self::new(421, "join first")
    }
    pub fn internal(why: impl std::fmt::Display) -> Self {
        Self::new(500, why.to_string())
    }
}

/// Parses one text frame. An error carries the request id when one could be
/// read, so the reply can name it.
pub fn parse(text: &str) -> Result<Incoming, (Value, RpcError)> {
    let v: Value = serde_json::from_str(text).map_err(|_| (Value::Null, RpcError::parse()))?;
    let Value::Object(mut m) = v else {
        return Err((Value::Null, RpcError::invalid_request("not an object")));
    };
    let id = m.remove("id").filter(|i| !i.is_null());
    if let Some(i) = &id
        && !(i.is_string() || i.is_number())
    {
        return Err((
            Value::Null,
            RpcError::invalid_request("id must be a string or a number"),
        ));
    }
    let method = match m.remove("method") {
        Some(Value::String(s)) => s,
        _ => {
            return Err((
                id.unwrap_or(Value::Null),
                RpcError::invalid_request("no method"),
            ));
        }
    };
    let params = m.remove("params").unwrap_or(json!({}));
    Ok(match id {
        Some(id) => Incoming::Request { id, method, params },
        None => Incoming::Notification { method, params },
    })
}

/// A success reply; `result` must be truthy for the 100ms SDK, so `null`
/// becomes `{}`.
pub fn reply(id: &Value, result: Value) -> String {
    let result = if result.is_null() { json!({}) } else { result };
    json!({ "jsonrpc": "2.0", "id": id, "result": result }).to_string()
}

pub fn error(id: &Value, e: &RpcError) -> String {
    json!({ "jsonrpc": "2.0", "id": id, "error": { "code": e.code, "message": e.message } })
        .to_string()
}

pub fn notification(method: &str, params: &Value) -> String {
    json!({ "jsonrpc": "2.0", "method": method, "params": params }).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_notifications_and_errors() {
        assert_eq!(
            parse(r#"{"jsonrpc":"2.0","id":"a","method":"ping","params":{"timestamp":1}}"#),
            Ok(Incoming::Request {
                id: json!("a"),
                method: "ping".into(),
                params: json!({"timestamp": 1})
            })
        );
        assert_eq!(
            parse(r#"{"method":"leave","params":{}}"#),
            Ok(Incoming::Notification {
                method: "leave".into(),
                params: json!({})
            })
        );
        assert_eq!(parse("{").unwrap_err().1.code, -32700);
        assert_eq!(parse("[1]").unwrap_err().1.code, -32600);
        let (id, e) = parse(r#"{"id":7}"#).unwrap_err();
        assert_eq!((id, e.code), (json!(7), -32600));
        assert_eq!(
            parse(r#"{"id":{},"method":"x"}"#).unwrap_err().1.code,
            -32600
        );
        assert!(reply(&json!(1), Value::Null).contains(r#""result":{}"#));
    }
}
