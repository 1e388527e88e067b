//! Standard Webhooks signatures.
//!
//! ```text
//! webhook-id: <id>
//! webhook-timestamp: <unix seconds>
//! webhook-signature: v1,<base64 HMAC-SHA256(key, "<id>.<timestamp>.<body>")> [v1,<…> …]
//! ```
//!
//! Secrets are `whsec_<base64 key>`; during a rotation overlap the request is
//! signed with every valid secret, signatures separated by spaces.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{Hmac, Mac};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// The prefix of every signing secret.
pub const PREFIX: &str = "whsec_";

/// A signing secret (`whsec_…`). `Debug` and `Display` print `[redacted]`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SigningSecret(String);

/// A secret that is not `whsec_<base64>`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a signing secret is \"whsec_\" followed by base64")]
pub struct BadSecret;

impl SigningSecret {
    /// A new secret of 32 random bytes from the OS-seeded CSPRNG.
    pub fn generate() -> Self {
        let mut key = [0u8; 32];
        rand::rng().fill_bytes(&mut key);
        Self(format!("{PREFIX}{}", B64.encode(key)))
    }

    /// Checks and wraps a `whsec_…` string.
    pub fn parse(s: impl Into<String>) -> Result<Self, BadSecret> {
        let s = s.into();
        let key = s.strip_prefix(PREFIX).ok_or(BadSecret)?;
        match B64.decode(key) {
            Ok(k) if !k.is_empty() => Ok(Self(s)),
            _ => Err(BadSecret),
        }
    }

    /// The secret itself, for the one response that shows it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    fn key(&self) -> Vec<u8> {
        B64.decode(&self.0[PREFIX.len()..]).unwrap_or_default()
    }

    /// `v1,<base64 signature>` of `id.timestamp.body`.
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.key()).expect("HMAC takes keys of any length");
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        format!("v1,{}", B64.encode(mac.finalize().into_bytes()))
    }
}

impl fmt::Debug for SigningSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for SigningSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// The `webhook-signature` header value: one `v1,…` per secret, space-separated.
pub fn signature_header<'a>(
    secrets: impl IntoIterator<Item = &'a SigningSecret>,
    id: &str,
    timestamp: i64,
    body: &[u8],
) -> String {
    secrets
        .into_iter()
        .map(|s| s.sign(id, timestamp, body))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Whether any `v1,` signature of `header` matches `secret` (for tests and tools;
/// receivers use their own library).
pub fn verify(secret: &SigningSecret, header: &str, id: &str, timestamp: i64, body: &[u8]) -> bool {
    let expected = secret.sign(id, timestamp, body);
    header.split(' ').any(|s| s == expected)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_standard_webhooks_test_vector() {
        // The reference libraries' own test vector.
        let secret = SigningSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let body = br#"{"test": 2432232314}"#;
        let sig = secret.sign("msg_p5jXN8AQM9LWM0D4loKWxJek", 1_614_265_330, body);
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn rotation_signs_with_every_secret() {
        let old = SigningSecret::generate();
        let new = SigningSecret::generate();
        let header = signature_header([&new, &old], "id", 5, b"{}");
        assert_eq!(header.split(' ').count(), 2);
        assert!(verify(&old, &header, "id", 5, b"{}"));
        assert!(verify(&new, &header, "id", 5, b"{}"));
        assert!(!verify(&SigningSecret::generate(), &header, "id", 5, b"{}"));
        assert!(!verify(&new, &header, "id", 6, b"{}"));
    }

    #[test]
    fn secrets_are_redacted_and_checked() {
        let s = SigningSecret::generate();
        assert!(s.expose().starts_with("whsec_"));
        assert_eq!(format!("{s:?} {s}"), "[redacted] [redacted]");
        assert!(SigningSecret::parse("nope").is_err());
        assert!(SigningSecret::parse("whsec_!!").is_err());
        assert!(SigningSecret::parse(s.expose()).is_ok());
    }
}
