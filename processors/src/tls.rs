//! The rustls pieces the Kafka client and the PostgreSQL source share: the *ring* provider (given
//! to each client configuration; no process-wide default is installed), PEM certificate and key
//! files, and the trust roots (a PEM CA bundle or the system's store). Errors are reasons without
//! the setting's name: each connector puts its own key in front.

use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::CertificateDer;
use rustls::{ClientConfig, ConfigBuilder, RootCertStore, WantsVerifier};
use std::path::Path;
use std::sync::Arc;

/// The crypto provider of every TLS connection weir makes.
pub(crate) fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A client configuration builder with the *ring* provider and rustls's safe protocol versions
/// (TLS 1.2 and 1.3), waiting for a certificate verifier.
pub(crate) fn client_builder() -> Result<ConfigBuilder<ClientConfig, WantsVerifier>, String> {
    ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup: {e}"))
}

fn pem_error(path: &Path, e: pem::Error) -> String {
    match e {
        pem::Error::Io(e) => format!("cannot read `{}`: {e}", path.display()),
        e => format!("`{}` is not a valid PEM file: {e}", path.display()),
    }
}

/// Every `CERTIFICATE` section of a PEM file (at least one).
pub(crate) fn read_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| pem_error(path, e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| pem_error(path, e))?;
    if certs.is_empty() {
        return Err(format!(
            "`{}` holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
            path.display()
        ));
    }
    Ok(certs)
}

/// The first private key of a PEM file.
pub(crate) fn read_private_key(
    path: &Path,
) -> Result<rustls::pki_types::PrivateKeyDer<'static>, String> {
    rustls::pki_types::PrivateKeyDer::from_pem_file(path).map_err(|e| match e {
        pem::Error::NoItemsFound => format!(
            "`{}` holds no unencrypted PEM private key (PKCS#8, PKCS#1 or SEC1; encrypted keys \
             are not supported)",
            path.display()
        ),
        e => pem_error(path, e),
    })
}

/// The CA certificates of a PEM bundle, each one checked.
pub(crate) fn roots_from_file(path: &Path) -> Result<RootCertStore, String> {
    let mut roots = RootCertStore::empty();
    for (i, cert) in read_certificates(path)?.into_iter().enumerate() {
        roots.add(cert).map_err(|e| {
            format!(
                "certificate #{} of `{}` is not a usable CA certificate: {e}",
                i + 1,
                path.display()
            )
        })?;
    }
    Ok(roots)
}

/// The system's CA certificates, as `rustls-native-certs` finds them (`SSL_CERT_FILE` /
/// `SSL_CERT_DIR` or the distribution's bundle). None usable is an error saying why.
pub(crate) fn system_roots() -> Result<RootCertStore, String> {
    let found = rustls_native_certs::load_native_certs();
    let mut roots = RootCertStore::empty();
    let (added, _) = roots.add_parsable_certificates(found.certs);
    if added == 0 {
        let errors: Vec<String> = found.errors.iter().map(|e| e.to_string()).collect();
        return Err(format!(
            "the system's trust store has no CA certificate{}",
            if errors.is_empty() {
                String::new()
            } else {
                format!(" ({})", errors.join("; "))
            }
        ));
    }
    Ok(roots)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "weir-tls-{name}-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn bad_pem_files_are_told_apart_and_named() {
        let dir = scratch("pem");
        let why = roots_from_file(&dir.join("missing.pem")).unwrap_err();
        assert!(
            why.contains("cannot read") && why.contains("missing.pem"),
            "{why}"
        );
        let text = dir.join("text.pem");
        std::fs::write(&text, "no pem here\n").unwrap();
        let why = roots_from_file(&text).unwrap_err();
        assert!(why.contains("no PEM certificate"), "{why}");
        #[cfg(feature = "kafka")]
        {
            let why = read_private_key(&text).unwrap_err();
            assert!(why.contains("no unencrypted PEM private key"), "{why}");
        }

        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let ca = params.self_signed(&ca_key).unwrap();
        let good = dir.join("ca.pem");
        std::fs::write(&good, format!("{}{}", ca.pem(), ca.pem())).unwrap();
        assert_eq!(roots_from_file(&good).unwrap().len(), 2);
        #[cfg(feature = "kafka")]
        {
            let key = dir.join("ca.key");
            std::fs::write(&key, ca_key.serialize_pem()).unwrap();
            assert!(read_private_key(&key).is_ok());
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
