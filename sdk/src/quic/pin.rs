//! Certificate pinning: the QUIC client accepts exactly the certificate
//! whose SHA-256 `/init` named (a development server's self-signed one),
//! and still checks that the server holds its key (TLS 1.3 signatures).

use std::sync::Arc;

use caucus_transport_quic::cert::fingerprint;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

#[derive(Debug)]
pub(crate) struct Pinned {
    sha256: String,
    provider: Arc<CryptoProvider>,
}

impl Pinned {
    pub(crate) fn new(sha256: &str, provider: Arc<CryptoProvider>) -> Self {
        Self {
            sha256: sha256.to_ascii_lowercase(),
            provider,
        }
    }
}

impl ServerCertVerifier for Pinned {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if fingerprint(end_entity) == self.sha256 {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::General(
                "the server certificate is not the one /init named".into(),
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Err(rustls::Error::General("QUIC uses TLS 1.3 only".into()))
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use caucus_transport_quic::cert::DevCert;

    use super::*;

    #[test]
    fn only_the_pinned_certificate_is_accepted() {
        let day = Duration::from_secs(86_400);
        let mine = DevCert::generate(&["127.0.0.1".into()], day).unwrap();
        let other = DevCert::generate(&["127.0.0.1".into()], day).unwrap();
        let v = Pinned::new(
            &mine.sha256_hex().to_uppercase(),
            Arc::new(rustls::crypto::ring::default_provider()),
        );
        let name = ServerName::try_from("localhost").unwrap();
        let now = UnixTime::now();
        assert!(
            v.verify_server_cert(&mine.cert, &[], &name, &[], now)
                .is_ok()
        );
        assert!(
            v.verify_server_cert(&other.cert, &[], &name, &[], now)
                .is_err()
        );
    }
}
