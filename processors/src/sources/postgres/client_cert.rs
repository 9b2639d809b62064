//! libpq's client certificate, `sslcert` and `sslkey` (PEM files): both or neither, read and
//! checked against each other when the source is built, then offered by rustls to a server that
//! asks for one (`cert` authentication or `clientcert=verify-ca|verify-full` in `pg_hba.conf`).

use super::error::PostgresError;
use crate::tls;
use rustls::client::WantsClientCert;
use rustls::{ClientConfig, ConfigBuilder};
use std::path::PathBuf;

/// The certificate (chain) and private key the source proves who it is with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ClientCert {
    /// `sslcert`: the client's certificate first, then any intermediates.
    pub(crate) cert: PathBuf,
    /// `sslkey`: its unencrypted private key (PKCS#8, PKCS#1 or SEC1).
    pub(crate) key: PathBuf,
}

impl ClientCert {
    /// Both files or neither; one without the other is an error naming the one that is set.
    pub(crate) fn pair(
        cert: Option<PathBuf>,
        key: Option<PathBuf>,
    ) -> Result<Option<Self>, PostgresError> {
        match (cert, key) {
            (Some(cert), Some(key)) => Ok(Some(Self { cert, key })),
            (None, None) => Ok(None),
            (Some(cert), None) => Err(PostgresError::config(
                "sslkey",
                format!(
                    "not set, but sslcert is (`{}`): set both the certificate and its key, or \
                     neither",
                    cert.display()
                ),
            )),
            (None, Some(key)) => Err(PostgresError::config(
                "sslcert",
                format!(
                    "not set, but sslkey is (`{}`): set both the certificate and its key, or \
                     neither",
                    key.display()
                ),
            )),
        }
    }

    /// Reads both files and finishes `builder` with them; errors name the setting and the file
    /// (a key that is not the certificate's names both).
    pub(crate) fn configure(
        &self,
        builder: ConfigBuilder<ClientConfig, WantsClientCert>,
    ) -> Result<ClientConfig, PostgresError> {
        let chain =
            tls::read_certificates(&self.cert).map_err(|e| PostgresError::config("sslcert", e))?;
        let key =
            tls::read_private_key(&self.key).map_err(|e| PostgresError::config("sslkey", e))?;
        builder.with_client_auth_cert(chain, key).map_err(|e| {
            let why = match e {
                rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch) => {
                    "is not the private key of the certificate".to_string()
                }
                e => format!("cannot be used with the certificate ({e})"),
            };
            PostgresError::config(
                "sslkey",
                format!(
                    "`{}` {why} `{}` (sslcert)",
                    self.key.display(),
                    self.cert.display()
                ),
            )
        })
    }
}

/// Whether a TLS alert from the server says that it refused the client's certificate, or
/// wanted one (with TLS 1.3 the server checks it after the client's handshake is over, so the
/// alert comes with the server's first answer).
pub(crate) fn is_refusal(alert: &rustls::AlertDescription) -> bool {
    use rustls::AlertDescription as A;
    matches!(
        alert,
        A::BadCertificate
            | A::UnsupportedCertificate
            | A::CertificateRevoked
            | A::CertificateExpired
            | A::CertificateUnknown
            | A::UnknownCA
            | A::AccessDenied
            | A::CertificateRequired
    )
}

/// What to say about a refusal ([`is_refusal`]) by the server, with or without a certificate.
pub(crate) fn refusal_hint(
    identity: Option<&ClientCert>,
    alert: &rustls::AlertDescription,
) -> String {
    match identity {
        Some(identity) => format!(
            "the server refused the client certificate `{}` (sslcert; alert {alert:?}): is it \
             signed by a CA of the server's ssl_ca_file, and still valid?",
            identity.cert.display()
        ),
        None => format!(
            "the server wants a client certificate (alert {alert:?}): set sslcert and sslkey"
        ),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::sources::postgres::PostgresConfig;

    fn scratch() -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "weir-pg-client-cert-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// A self-signed certificate for `name` and its key, written as `name.pem` / `name.key`.
    fn identity(dir: &std::path::Path, name: &str) -> (PathBuf, PathBuf) {
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec![name.to_string()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        let (cert_path, key_path) = (
            dir.join(format!("{name}.pem")),
            dir.join(format!("{name}.key")),
        );
        std::fs::write(&cert_path, cert.pem()).unwrap();
        std::fs::write(&key_path, key.serialize_pem()).unwrap();
        (cert_path, key_path)
    }

    /// The setting and reason of `build()`'s config error for `url` with `f`.
    fn refused(
        url: &str,
        f: impl FnOnce(
            crate::sources::postgres::PostgresConfigBuilder,
        ) -> crate::sources::postgres::PostgresConfigBuilder,
    ) -> (&'static str, String) {
        match f(PostgresConfig::builder(url).table("t").bulk()).build() {
            Err(PostgresError::Config { setting, reason }) => (setting, reason),
            other => panic!("expected a config error, got {other:?}"),
        }
    }

    #[test]
    fn one_file_without_the_other_is_refused_naming_it() {
        let url = "postgres://u@h/db?sslmode=require";
        let (key, why) = refused(&format!("{url}&sslcert=/etc/c.pem"), |b| b);
        assert_eq!(key, "sslkey");
        assert!(why.contains("/etc/c.pem") && why.contains("both"), "{why}");
        let (key, why) = refused(url, |b| b.ssl_key("/etc/c.key"));
        assert_eq!(key, "sslcert");
        assert!(why.contains("/etc/c.key"), "{why}");
        let (key, why) = refused(&format!("{url}&sslcert=/a.pem&sslkey=/a.key"), |b| {
            b.ssl_mode(crate::sources::postgres::SslMode::Disable)
        });
        assert_eq!(key, "sslcert");
        assert!(why.contains("disable"), "{why}");
    }

    #[test]
    fn unreadable_invalid_or_mismatched_files_are_config_errors_naming_the_file() {
        let dir = scratch();
        let (cert, key) = identity(&dir, "client");
        let (_, other_key) = identity(&dir, "other");
        let text = dir.join("text.pem");
        std::fs::write(&text, "no pem here\n").unwrap();
        let missing = dir.join("missing.pem");
        let url = "postgres://u@h/db?sslmode=require";
        let with = |c: &PathBuf, k: &PathBuf| {
            let (c, k) = (c.clone(), k.clone());
            move |b: crate::sources::postgres::PostgresConfigBuilder| b.ssl_cert(c).ssl_key(k)
        };
        let (setting, why) = refused(url, with(&missing, &key));
        assert_eq!(setting, "sslcert");
        assert!(
            why.contains("cannot read") && why.contains("missing.pem"),
            "{why}"
        );
        let (setting, why) = refused(url, with(&text, &key));
        assert_eq!(setting, "sslcert");
        assert!(
            why.contains("no PEM certificate") && why.contains("text.pem"),
            "{why}"
        );
        let (setting, why) = refused(url, with(&cert, &missing));
        assert_eq!(setting, "sslkey");
        assert!(
            why.contains("cannot read") && why.contains("missing.pem"),
            "{why}"
        );
        // A certificate is not a key.
        let (setting, why) = refused(url, with(&cert, &cert));
        assert_eq!(setting, "sslkey");
        assert!(
            why.contains("no unencrypted PEM private key") && why.contains("client.pem"),
            "{why}"
        );
        let (setting, why) = refused(url, with(&cert, &other_key));
        assert_eq!(setting, "sslkey");
        assert!(
            why.contains("is not the private key of the certificate")
                && why.contains("other.key")
                && why.contains("client.pem"),
            "{why}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_matching_pair_from_the_string_or_the_builder_builds_and_the_builder_wins() {
        let dir = scratch();
        let (cert, key) = identity(&dir, "client");
        let (good, bad) = (cert.display(), dir.join("missing.key"));
        let url = format!(
            "postgres://u@h/db?sslmode=require&sslcert={good}&sslkey={}",
            key.display()
        );
        assert!(PostgresConfig::builder(&url)
            .table("t")
            .bulk()
            .build()
            .is_ok());
        let pairs = format!(
            "host=h user=u sslmode=verify-ca sslrootcert='{good}' sslcert='{good}' sslkey='{}'",
            key.display()
        );
        assert!(PostgresConfig::builder(pairs)
            .table("t")
            .bulk()
            .build()
            .is_ok());
        // The builder's key replaces the string's, and its error names the builder's file.
        let (setting, why) = refused(&url, |b| b.ssl_key(&bad));
        assert_eq!(setting, "sslkey");
        assert!(why.contains("missing.key"), "{why}");
        let url = "postgres://u@h/db?sslmode=require&sslcert=/x.pem&sslkey=/x.key";
        assert!(PostgresConfig::builder(url)
            .ssl_cert(&cert)
            .ssl_key(&key)
            .table("t")
            .bulk()
            .build()
            .is_ok());
        // A Unix socket: the files are still checked, though TLS is not used there.
        let unix = format!("host=/run/postgresql user=u sslcert='{good}' sslkey=/x.key");
        let (setting, _) = refused(&unix, |b| b);
        assert_eq!(setting, "sslkey");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
