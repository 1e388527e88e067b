//! Tokens: HS256 JWTs with 100ms's claims, signed with a workspace's secret.
//!
//! ```text
//! let token = mint_management(&ws, now, DEFAULT_MANAGEMENT_TTL)?;
//! let token = mint_app(&ws, AppGrant { room_id, role, user_id }, now, ttl)?;
//! let (claims, ws) = verify(&token, &store, TokenType::Management, now)?;
//! ```
//!
//! Verification pins the algorithm to HS256 (a `none`, HS384/512 or asymmetric
//! token is refused before any key is looked up), finds the workspace by the
//! `access_key` claim, checks the signature with that workspace's secret, then
//! checks `type`, `exp` and `nbf` against `now` with [`CLOCK_SKEW`] of slack.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::workspaces::{Workspace, WorkspaceStore};

/// Slack allowed on `exp` and `nbf` for clocks that disagree, in seconds.
pub const CLOCK_SKEW: i64 = 30;
/// Lifetime of a management token minted by `caucus token management`.
pub const DEFAULT_MANAGEMENT_TTL: i64 = 24 * 3600;
/// Lifetime of an app token minted by `caucus token app` and by room codes.
pub const DEFAULT_APP_TTL: i64 = 24 * 3600;
/// Backdating of `iat`/`nbf` on minted tokens, as the 100ms Node SDK does.
const BACKDATE: i64 = 10;
/// The `version` claim 100ms tokens carry.
pub const TOKEN_VERSION: u32 = 2;

/// The `type` claim.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenType {
    /// Joins a room as a peer (`room_id`, `role`, `user_id`).
    App,
    /// Calls the REST API.
    Management,
}

impl std::fmt::Display for TokenType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TokenType::App => "app",
            TokenType::Management => "management",
        })
    }
}

/// 100ms's token claims.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub access_key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub room_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    #[serde(rename = "type")]
    pub token_type: TokenType,
    pub version: u32,
    pub iat: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    pub exp: i64,
    #[serde(default)]
    pub jti: String,
}

/// What an app token grants.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppGrant {
    pub room_id: String,
    pub role: String,
    pub user_id: String,
}

/// Why a token was refused. Every case answers 401 with the message
/// "Token validation error" and this error's text in `details`.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AuthError {
    #[error("no bearer token")]
    Missing,
    #[error("malformed token")]
    Malformed,
    #[error("algorithm not allowed: only HS256 is accepted")]
    Algorithm,
    #[error("unknown access key")]
    UnknownAccessKey,
    #[error("invalid signature")]
    Signature,
    #[error("token expired")]
    Expired,
    #[error("token not yet valid")]
    NotYetValid,
    #[error("wrong token type: expected {expected}, got {got}")]
    WrongType { expected: TokenType, got: TokenType },
    #[error("unsupported token version {0}")]
    Version(u32),
    #[error("app token without {0}")]
    MissingClaim(&'static str),
}

/// Why a token could not be minted.
#[derive(Debug, thiserror::Error)]
#[error("cannot sign token: {0}")]
pub struct MintError(String);

fn sign(ws: &Workspace, claims: &Claims) -> Result<String, MintError> {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(ws.secret.expose().as_bytes()),
    )
    .map_err(|e| MintError(e.to_string()))
}

fn base_claims(ws: &Workspace, token_type: TokenType, now: i64, ttl: i64) -> Claims {
    let iat = now - BACKDATE;
    Claims {
        access_key: ws.access_key.clone(),
        room_id: None,
        user_id: None,
        role: None,
        token_type,
        version: TOKEN_VERSION,
        iat,
        nbf: Some(iat),
        exp: now + ttl,
        jti: uuid::Uuid::new_v4().to_string(),
    }
}

/// A management token of `ws`, valid for `ttl` seconds from `now` (Unix seconds).
pub fn mint_management(ws: &Workspace, now: i64, ttl: i64) -> Result<String, MintError> {
    sign(ws, &base_claims(ws, TokenType::Management, now, ttl))
}

/// An app token of `ws` for one room, role and user.
pub fn mint_app(ws: &Workspace, grant: AppGrant, now: i64, ttl: i64) -> Result<String, MintError> {
    let mut claims = base_claims(ws, TokenType::App, now, ttl);
    claims.room_id = Some(grant.room_id);
    claims.role = Some(grant.role);
    claims.user_id = Some(grant.user_id);
    sign(ws, &claims)
}

/// The current time in Unix seconds.
pub fn now_unix() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// Checks `token` (without the `Bearer ` prefix); see the module docs for the order.
pub fn verify(
    token: &str,
    workspaces: &WorkspaceStore,
    expected: TokenType,
    now: i64,
) -> Result<(Claims, Workspace), AuthError> {
    // An unknown `alg` (such as `none`) fails to parse here.
    let header = jsonwebtoken::decode_header(token).map_err(|_| AuthError::Malformed)?;
    if header.alg != Algorithm::HS256 {
        return Err(AuthError::Algorithm);
    }
    #[derive(Deserialize)]
    struct KeyOnly {
        access_key: String,
    }
    // Only to pick the key; nothing from it is trusted until the signature checks.
    let unverified: KeyOnly =
        jsonwebtoken::dangerous::insecure_decode_claims(token).map_err(|_| AuthError::Malformed)?;
    let ws = workspaces
        .by_access_key(&unverified.access_key)
        .ok_or(AuthError::UnknownAccessKey)?;

    let mut validation = Validation::new(Algorithm::HS256);
    // Time is checked below against the caller's clock, with our skew.
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    let data = jsonwebtoken::decode::<Claims>(
        token,
        &DecodingKey::from_secret(ws.secret.expose().as_bytes()),
        &validation,
    )
    .map_err(|e| match e.kind() {
        jsonwebtoken::errors::ErrorKind::InvalidSignature => AuthError::Signature,
        jsonwebtoken::errors::ErrorKind::InvalidAlgorithm => AuthError::Algorithm,
        _ => AuthError::Malformed,
    })?;
    let claims = data.claims;
    if claims.access_key != ws.access_key {
        return Err(AuthError::UnknownAccessKey);
    }
    if claims.exp + CLOCK_SKEW < now {
        return Err(AuthError::Expired);
    }
    if claims.nbf.unwrap_or(claims.iat) - CLOCK_SKEW > now {
        return Err(AuthError::NotYetValid);
    }
    if claims.token_type != expected {
        return Err(AuthError::WrongType {
            expected,
            got: claims.token_type,
        });
    }
    if claims.version != TOKEN_VERSION {
        return Err(AuthError::Version(claims.version));
    }
    if claims.token_type == TokenType::App {
        if claims.room_id.is_none() {
            return Err(AuthError::MissingClaim("room_id"));
        }
        if claims.role.is_none() {
            return Err(AuthError::MissingClaim("role"));
        }
    }
    Ok((claims, ws))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workspaces::Secret;

    const NOW: i64 = 1_800_000_000;

    fn store() -> (WorkspaceStore, Workspace, Workspace) {
        let a = Workspace::generate("a");
        let b = Workspace::generate("b");
        (WorkspaceStore::in_memory(vec![a.clone(), b.clone()]), a, b)
    }

    fn custom(ws: &Workspace, alg: Algorithm, claims: serde_json::Value) -> String {
        jsonwebtoken::encode(
            &Header::new(alg),
            &claims,
            &EncodingKey::from_secret(ws.secret.expose().as_bytes()),
        )
        .unwrap()
    }

    #[test]
    fn minted_tokens_verify_with_their_claims() {
        let (store, a, _) = store();
        let t = mint_management(&a, NOW, 3600).unwrap();
        let (c, ws) = verify(&t, &store, TokenType::Management, NOW).unwrap();
        assert_eq!(ws, a);
        assert_eq!(c.token_type, TokenType::Management);
        assert_eq!(c.version, 2);
        assert_eq!(c.iat, NOW - 10);
        assert_eq!(c.nbf, Some(NOW - 10));
        assert_eq!(c.exp, NOW + 3600);
        assert!(uuid::Uuid::parse_str(&c.jti).is_ok());

        let grant = AppGrant {
            room_id: "r".into(),
            role: "host".into(),
            user_id: "u".into(),
        };
        let t = mint_app(&a, grant, NOW, 60).unwrap();
        let (c, _) = verify(&t, &store, TokenType::App, NOW).unwrap();
        assert_eq!(c.room_id.as_deref(), Some("r"));
        assert_eq!(c.role.as_deref(), Some("host"));
        assert_eq!(c.user_id.as_deref(), Some("u"));
    }

    #[test]
    fn expiry_and_not_before_allow_only_the_skew() {
        let (store, a, _) = store();
        let t = mint_management(&a, NOW, 100).unwrap();
        assert!(verify(&t, &store, TokenType::Management, NOW + 100 + CLOCK_SKEW).is_ok());
        assert_eq!(
            verify(&t, &store, TokenType::Management, NOW + 101 + CLOCK_SKEW).unwrap_err(),
            AuthError::Expired
        );
        // nbf = NOW - 10
        assert!(verify(&t, &store, TokenType::Management, NOW - 10 - CLOCK_SKEW).is_ok());
        assert_eq!(
            verify(&t, &store, TokenType::Management, NOW - 11 - CLOCK_SKEW).unwrap_err(),
            AuthError::NotYetValid
        );
    }

    #[test]
    fn other_algorithms_are_refused() {
        let (store, a, _) = store();
        let claims = serde_json::json!({"access_key": a.access_key, "type": "management",
            "version": 2, "iat": NOW, "nbf": NOW, "exp": NOW + 60, "jti": "x"});
        for alg in [Algorithm::HS384, Algorithm::HS512] {
            let t = custom(&a, alg, claims.clone());
            assert_eq!(
                verify(&t, &store, TokenType::Management, NOW).unwrap_err(),
                AuthError::Algorithm
            );
        }
        // alg none, no signature.
        let b64 = |s: &str| base64url(s.as_bytes());
        let t = format!(
            "{}.{}.",
            b64(r#"{"alg":"none","typ":"JWT"}"#),
            b64(&claims.to_string())
        );
        assert!(verify(&t, &store, TokenType::Management, NOW).is_err());
        let t = format!(
            "{}.{}.",
            b64(r#"{"alg":"RS256","typ":"JWT"}"#),
            b64(&claims.to_string())
        );
        assert_eq!(
            verify(&t, &store, TokenType::Management, NOW).unwrap_err(),
            AuthError::Algorithm
        );
    }

    #[test]
    fn forged_unknown_and_wrong_type_tokens_are_refused() {
        let (store, a, b) = store();
        // Signed with b's secret but claiming a's access key.
        let mut forged = a.clone();
        forged.secret = b.secret.clone();
        let t = mint_management(&forged, NOW, 60).unwrap();
        assert_eq!(
            verify(&t, &store, TokenType::Management, NOW).unwrap_err(),
            AuthError::Signature
        );
        let stranger = Workspace {
            secret: Secret::new("0123456789abcdef0123"),
            ..Workspace::generate("x")
        };
        let t = mint_management(&stranger, NOW, 60).unwrap();
        assert_eq!(
            verify(&t, &store, TokenType::Management, NOW).unwrap_err(),
            AuthError::UnknownAccessKey
        );
        let t = mint_management(&a, NOW, 60).unwrap();
        assert!(matches!(
            verify(&t, &store, TokenType::App, NOW).unwrap_err(),
            AuthError::WrongType { .. }
        ));
        assert_eq!(
            verify("garbage", &store, TokenType::Management, NOW).unwrap_err(),
            AuthError::Malformed
        );
    }

    fn base64url(bytes: &[u8]) -> String {
        const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let mut out = String::new();
        for chunk in bytes.chunks(3) {
            let n =
                chunk.iter().fold(0u32, |acc, &b| (acc << 8) | b as u32) << (8 * (3 - chunk.len()));
            for i in 0..=chunk.len() {
                out.push(T[((n >> (18 - 6 * i)) & 63) as usize] as char);
            }
        }
        out
    }
}
