//! What an endpoint may point at and send: the URL policy (http/https only;
//! private and loopback addresses only when the operator allows them) and the
//! custom header rules.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Longest accepted URL, in bytes.
pub const MAX_URL_BYTES: usize = 2048;
/// Most custom headers per endpoint.
pub const MAX_HEADERS: usize = 32;
/// Largest custom header set (names + values), in bytes.
pub const MAX_HEADER_BYTES: usize = 8 * 1024;
/// Header names Caucus sets itself.
pub const RESERVED_HEADERS: &[&str] = &[
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
    "content-type",
    "content-length",
    "host",
    "connection",
    "transfer-encoding",
    "user-agent",
];

/// A URL or header set that an endpoint may not use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error("invalid url: {0}")]
    BadUrl(String),
    #[error("url scheme must be http or https, not {0:?}")]
    Scheme(String),
    #[error("{0} is a private, loopback or link-local address; the operator has not allowed those")]
    PrivateAddress(String),
    #[error("invalid header: {0}")]
    BadHeader(String),
    #[error("too many headers: at most {MAX_HEADERS}, {MAX_HEADER_BYTES} bytes in all")]
    TooManyHeaders,
}

/// Whether delivery may reach private addresses.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UrlPolicy {
    /// Allow loopback, RFC 1918, link-local, unique-local … (dev mode: true).
    pub allow_private: bool,
}

impl UrlPolicy {
    /// Checks a URL at creation time: scheme, host, and the host itself when it
    /// is an IP literal or `localhost`. Names are checked again, per resolved
    /// address, at delivery time (see `client`).
    pub fn check_url(&self, url: &str) -> Result<reqwest::Url, PolicyError> {
        if url.len() > MAX_URL_BYTES {
            return Err(PolicyError::BadUrl(format!(
                "longer than {MAX_URL_BYTES} bytes"
            )));
        }
        let parsed = reqwest::Url::parse(url).map_err(|e| PolicyError::BadUrl(e.to_string()))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(PolicyError::Scheme(parsed.scheme().to_owned()));
        }
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(PolicyError::BadUrl("user info is not allowed".into()));
        }
        let host = parsed
            .host_str()
            .ok_or_else(|| PolicyError::BadUrl("no host".into()))?;
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        let Ok(host) = bare.parse::<IpAddr>() else {
            let d = bare.trim_end_matches('.').to_ascii_lowercase();
            if !self.allow_private && (d == "localhost" || d.ends_with(".localhost")) {
                return Err(PolicyError::PrivateAddress(d));
            }
            return Ok(parsed);
        };
        self.check_ip(host)?;
        Ok(parsed)
    }

    /// Refuses a private address unless allowed.
    pub fn check_ip(&self, ip: IpAddr) -> Result<(), PolicyError> {
        if !self.allow_private && is_private(ip) {
            return Err(PolicyError::PrivateAddress(ip.to_string()));
        }
        Ok(())
    }
}

/// Loopback, private, link-local, CGNAT, unique-local, unspecified, multicast,
/// broadcast or documentation addresses.
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(a) => is_private_v4(a),
        IpAddr::V6(a) => {
            if let Some(v4) = a.to_ipv4_mapped() {
                return is_private_v4(v4);
            }
            is_private_v6(a)
        }
    }
}

fn is_private_v4(a: Ipv4Addr) -> bool {
    let o = a.octets();
    a.is_loopback()
        || a.is_private()
        || a.is_link_local()
        || a.is_unspecified()
        || a.is_multicast()
        || a.is_broadcast()
        || a.is_documentation()
        || o[0] == 0
        || (o[0] == 100 && (o[1] & 0xc0) == 64) // 100.64.0.0/10 CGNAT
        || (o[0] == 192 && o[1] == 0 && o[2] == 0) // 192.0.0.0/24
        || (o[0] == 198 && (o[1] & 0xfe) == 18) // 198.18.0.0/15 benchmarking
        || o[0] >= 240
}

fn is_private_v6(a: Ipv6Addr) -> bool {
    let s = a.segments();
    a.is_loopback()
        || a.is_unspecified()
        || a.is_multicast()
        || (s[0] & 0xfe00) == 0xfc00 // unique local
        || (s[0] & 0xffc0) == 0xfe80 // link local
        || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
        || (s[0] == 0x64 && s[1] == 0xff9b) // NAT64 may reach private v4
}

/// Checks a custom header set: names are HTTP tokens and not reserved, values
/// visible ASCII (and spaces), and the set is small.
pub fn check_headers(headers: &BTreeMap<String, String>) -> Result<(), PolicyError> {
    let bytes: usize = headers.iter().map(|(k, v)| k.len() + v.len()).sum();
    if headers.len() > MAX_HEADERS || bytes > MAX_HEADER_BYTES {
        return Err(PolicyError::TooManyHeaders);
    }
    for (name, value) in headers {
        let token = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
        if name.is_empty() || !name.bytes().all(token) {
            return Err(PolicyError::BadHeader(format!(
                "{name:?} is not a header name"
            )));
        }
        if RESERVED_HEADERS.contains(&name.to_ascii_lowercase().as_str()) {
            return Err(PolicyError::BadHeader(format!("{name} is set by Caucus")));
        }
        if !value
            .bytes()
            .all(|b| b == b' ' || b == b'\t' || b.is_ascii_graphic())
        {
            return Err(PolicyError::BadHeader(format!(
                "the value of {name} must be visible ASCII"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_must_be_http_and_public_unless_allowed() {
        let strict = UrlPolicy::default();
        let dev = UrlPolicy {
            allow_private: true,
        };
        assert!(strict.check_url("https://hooks.example.com/x").is_ok());
        assert!(matches!(
            strict.check_url("ftp://example.com"),
            Err(PolicyError::Scheme(_))
        ));
        assert!(matches!(
            strict.check_url("not a url"),
            Err(PolicyError::BadUrl(_))
        ));
        assert!(matches!(
            strict.check_url("https://u:p@example.com"),
            Err(PolicyError::BadUrl(_))
        ));
        for private in [
            "http://127.0.0.1:9/",
            "http://10.1.2.3/",
            "http://192.168.0.1/",
            "http://172.16.0.1/",
            "http://169.254.169.254/latest",
            "http://[::1]/",
            "http://[fd00::1]/",
            "http://[::ffff:127.0.0.1]/",
            "http://100.64.0.1/",
            "http://0.0.0.0/",
            "http://localhost:8080/",
        ] {
            assert!(
                matches!(
                    strict.check_url(private),
                    Err(PolicyError::PrivateAddress(_))
                ),
                "{private}"
            );
            assert!(dev.check_url(private).is_ok(), "{private}");
        }
        assert!(
            strict
                .check_url(&format!("https://e.com/{}", "a".repeat(MAX_URL_BYTES)))
                .is_err()
        );
    }

    #[test]
    fn header_sets_are_small_valid_and_not_reserved() {
        let h = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        assert!(check_headers(&h(&[("X-Secret", "abc 123")])).is_ok());
        assert!(check_headers(&h(&[("Webhook-Signature", "x")])).is_err());
        assert!(check_headers(&h(&[("bad name", "x")])).is_err());
        assert!(check_headers(&h(&[("X-A", "line\nbreak")])).is_err());
        let many: BTreeMap<_, _> = (0..40)
            .map(|i| (format!("X-{i}"), "v".to_string()))
            .collect();
        assert_eq!(check_headers(&many), Err(PolicyError::TooManyHeaders));
        assert_eq!(
            check_headers(&h(&[("X-Big", &"v".repeat(MAX_HEADER_BYTES))])),
            Err(PolicyError::TooManyHeaders)
        );
    }
}
