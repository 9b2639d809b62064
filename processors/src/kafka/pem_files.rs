//! Reading the PEM files of the TLS settings: certificates and a private key, with errors that
//! name the setting and the file.

use super::error::KafkaError;
use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::path::Path;

fn pem_error(key: &str, path: &Path, e: pem::Error) -> KafkaError {
    match e {
        pem::Error::Io(e) => {
            KafkaError::config(key, format!("cannot read `{}`: {e}", path.display()))
        }
        e => KafkaError::config(
            key,
            format!("`{}` is not a valid PEM file: {e}", path.display()),
        ),
    }
}

/// Every `CERTIFICATE` section of a PEM file (at least one).
pub(super) fn read_certificates(
    key: &str,
    path: &Path,
) -> Result<Vec<CertificateDer<'static>>, KafkaError> {
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| pem_error(key, path, e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| pem_error(key, path, e))?;
    if certs.is_empty() {
        return Err(KafkaError::config(
            key,
            format!(
                "`{}` holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
                path.display()
            ),
        ));
    }
    Ok(certs)
}

/// The first private key of a PEM file.
pub(super) fn read_private_key(path: &Path) -> Result<PrivateKeyDer<'static>, KafkaError> {
    PrivateKeyDer::from_pem_file(path).map_err(|e| match e {
        pem::Error::NoItemsFound => KafkaError::config(
            "ssl_key_file",
            format!(
                "`{}` holds no unencrypted PEM private key (PKCS#8, PKCS#1 or SEC1; encrypted \
                 keys are not supported)",
                path.display()
            ),
        ),
        e => pem_error("ssl_key_file", path, e),
    })
}
