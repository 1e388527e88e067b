//! Development certificates (docs/quic-protocol.md §1): self-signed ECDSA
//! P-256, valid at most 14 days, identified by the SHA-256 of their DER,
//! which `/init` hands to clients to pin (and browsers to
//! `serverCertificateHashes`).

use std::time::Duration;

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// The longest validity browsers accept for a hash-pinned certificate.
pub const MAX_VALIDITY: Duration = Duration::from_secs(14 * 24 * 3600);

/// A certificate and its key.
#[derive(Debug)]
pub struct DevCert {
    pub cert: CertificateDer<'static>,
    pub key: PrivatePkcs8KeyDer<'static>,
    /// When it stops being valid.
    pub not_after: time::OffsetDateTime,
}

/// Why a certificate could not be made.
#[derive(Debug, thiserror::Error)]
pub enum CertError {
    #[error("a development certificate may be valid at most 14 days, not {0:?}")]
    TooLong(Duration),
    #[error("generating the certificate: {0}")]
    Generate(#[from] rcgen::Error),
}

impl DevCert {
    /// A fresh certificate for `names` (DNS names or IP addresses), valid
    /// from an hour ago (clock skew) for `validity`.
    pub fn generate(names: &[String], validity: Duration) -> Result<Self, CertError> {
        if validity > MAX_VALIDITY {
            return Err(CertError::TooLong(validity));
        }
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
        let mut params = rcgen::CertificateParams::new(names.to_vec())?;
        let now = time::OffsetDateTime::now_utc();
        // Browsers count the validity from not_before: keep the sum ≤ 14 days.
        params.not_before = now - time::Duration::minutes(5);
        params.not_after = now + validity - time::Duration::minutes(5);
        let cert = params.self_signed(&key)?;
        Ok(Self {
            cert: cert.der().clone(),
            key: PrivatePkcs8KeyDer::from(key.serialize_der()),
            not_after: params.not_after,
        })
    }

    /// Lowercase hex SHA-256 of the DER certificate.
    pub fn sha256_hex(&self) -> String {
        fingerprint(&self.cert)
    }

    pub fn key_der(&self) -> PrivateKeyDer<'static> {
        PrivateKeyDer::Pkcs8(self.key.clone_key())
    }
}

/// Lowercase hex SHA-256 of a DER certificate.
pub fn fingerprint(der: &[u8]) -> String {
    let d = ring::digest::digest(&ring::digest::SHA256, der);
    d.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dev_certificate_is_short_lived_and_its_hash_is_stable() {
        let c = DevCert::generate(&["127.0.0.1".into()], MAX_VALIDITY).unwrap();
        assert_eq!(c.sha256_hex(), fingerprint(&c.cert));
        assert_eq!(c.sha256_hex().len(), 64);
        let left = c.not_after - time::OffsetDateTime::now_utc();
        assert!(left <= time::Duration::days(14) && left > time::Duration::days(13));
        assert!(matches!(
            DevCert::generate(&[], MAX_VALIDITY + Duration::from_secs(1)),
            Err(CertError::TooLong(_))
        ));
    }
}
