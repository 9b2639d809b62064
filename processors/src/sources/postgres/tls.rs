//! TLS to the server as libpq's `sslmode`, `sslrootcert` and `sslcert`/`sslkey` say, over rustls (the Kafka client's
//! setup, `crate::tls`) through tokio-postgres-rustls: which certificates are checked in each
//! mode, the rustls client configuration built once per source, and the failures of a handshake
//! told apart (a refused certificate or a server without TLS is final; a connection lost in the
//! middle of a handshake is retried).

use super::client_cert::{self, ClientCert};
use super::error::{describe, Failure, PostgresError};
use crate::tls;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

/// Whether and how the source uses TLS: libpq's `sslmode` (the connection string's
/// `?sslmode=...`, or [`PostgresConfigBuilder::ssl_mode`](super::PostgresConfigBuilder::ssl_mode)).
///
/// Without a root certificate (`sslrootcert`), `prefer` and `require` encrypt without checking
/// the server's certificate at all, as libpq does (they protect against eavesdropping, not
/// against an impostor); with one, they check that a CA of it signed the certificate, as
/// `verify-ca` does. `verify-ca` and `verify-full` use the system's trust store when no root
/// certificate is given (libpq would read `~/.postgresql/root.crt`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SslMode {
    /// Plain TCP.
    Disable,
    /// TLS when the server offers it, plain TCP when it does not (or when the handshake fails).
    /// The default, as in libpq.
    #[default]
    Prefer,
    /// TLS or no connection.
    Require,
    /// TLS with a certificate signed by a trusted CA, whatever host it names.
    VerifyCa,
    /// TLS with a certificate signed by a trusted CA that names the host as written in the
    /// connection string (DNS name or IP address).
    VerifyFull,
}

impl SslMode {
    /// Parses libpq's names: `disable`, `prefer`, `require`, `verify-ca`, `verify-full` (any
    /// case). `allow` is not supported.
    pub fn parse(s: &str) -> Result<Self, PostgresError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "disable" => Ok(Self::Disable),
            "prefer" => Ok(Self::Prefer),
            "require" => Ok(Self::Require),
            "verify-ca" => Ok(Self::VerifyCa),
            "verify-full" => Ok(Self::VerifyFull),
            "allow" => Err(PostgresError::config(
                "sslmode",
                "`allow` is not supported: use `prefer` (TLS when the server offers it) or \
                 `disable`",
            )),
            other => Err(PostgresError::config(
                "sslmode",
                format!(
                    "unknown mode `{other}` (disable, prefer, require, verify-ca, verify-full)"
                ),
            )),
        }
    }

    /// libpq's name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Disable => "disable",
            Self::Prefer => "prefer",
            Self::Require => "require",
            Self::VerifyCa => "verify-ca",
            Self::VerifyFull => "verify-full",
        }
    }

    /// The mode tokio-postgres negotiates: whether TLS is tried, and whether it is a must.
    pub(crate) fn negotiated(self) -> tokio_postgres::config::SslMode {
        use tokio_postgres::config::SslMode as Pg;
        match self {
            Self::Disable => Pg::Disable,
            Self::Prefer => Pg::Prefer,
            Self::Require | Self::VerifyCa | Self::VerifyFull => Pg::Require,
        }
    }
}

impl fmt::Display for SslMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for SslMode {
    type Err = PostgresError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// Where the trusted CA certificates come from (`sslrootcert`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RootCert {
    /// A PEM bundle.
    File(PathBuf),
    /// The system's trust store (`sslrootcert=system`, as in libpq 16).
    System,
}

impl RootCert {
    /// `system` or a path, as libpq reads `sslrootcert`.
    pub(crate) fn parse(value: &str) -> Self {
        if value == "system" {
            Self::System
        } else {
            Self::File(PathBuf::from(value))
        }
    }

    fn describe(&self) -> String {
        match self {
            Self::File(path) => format!("sslrootcert `{}`", path.display()),
            Self::System => "the system's trust store".to_string(),
        }
    }
}

/// The TLS settings of a source, with the rustls configuration they make.
#[derive(Clone)]
pub(crate) struct Tls {
    pub(crate) mode: SslMode,
    /// The CAs the server's certificate is checked against, if any.
    roots: Option<RootCert>,
    /// The certificate and key offered to a server that asks for one.
    identity: Option<ClientCert>,
    /// `None` for `disable`.
    client: Option<Arc<ClientConfig>>,
}

impl fmt::Debug for Tls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tls")
            .field("mode", &self.mode)
            .field("roots", &self.roots)
            .field("identity", &self.identity)
            .finish_non_exhaustive()
    }
}

impl Tls {
    /// Checks that `mode`, `root` and `identity` fit together and loads the CA certificates and
    /// the client's certificate and key (errors name `sslmode`, `sslrootcert`, `sslcert` or
    /// `sslkey`, and the file).
    pub(crate) fn new(
        mode: SslMode,
        root: Option<RootCert>,
        identity: Option<ClientCert>,
    ) -> Result<Self, PostgresError> {
        if mode == SslMode::Disable && identity.is_some() {
            return Err(PostgresError::config(
                "sslcert",
                "is set, but sslmode is `disable` (no TLS): remove it or choose another mode",
            ));
        }
        let roots = match (mode, root) {
            (SslMode::Disable, Some(_)) => {
                return Err(PostgresError::config(
                    "sslrootcert",
                    "is set, but sslmode is `disable` (no TLS): remove it or choose another mode",
                ))
            }
            (SslMode::Disable, None) => {
                return Ok(Self {
                    mode,
                    roots: None,
                    identity: None,
                    client: None,
                })
            }
            (SslMode::Prefer | SslMode::Require | SslMode::VerifyCa, Some(RootCert::System)) => {
                return Err(PostgresError::config(
                    "sslmode",
                    format!(
                        "`{mode}` may not be used with sslrootcert=system, which trusts any \
                         public CA: use `verify-full`"
                    ),
                ))
            }
            (SslMode::VerifyCa | SslMode::VerifyFull, None) => Some(RootCert::System),
            (_, root) => root,
        };
        let store = match &roots {
            Some(RootCert::File(path)) => Some(
                tls::roots_from_file(path).map_err(|e| PostgresError::config("sslrootcert", e))?,
            ),
            Some(RootCert::System) => Some(tls::system_roots().map_err(|e| {
                PostgresError::config(
                    "sslrootcert",
                    format!("not set, and {e}: set it to the PEM file of the server's CA"),
                )
            })?),
            None => None,
        };
        let builder = tls::client_builder().map_err(|e| PostgresError::config("sslmode", e))?;
        let builder = match (mode, store) {
            (SslMode::VerifyFull, Some(store)) => builder.with_root_certificates(store),
            (_, store) => builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(ChainOnly {
                    roots: store.map(Arc::new),
                    algorithms: tls::provider().signature_verification_algorithms,
                })),
        };
        let mut client = match &identity {
            Some(identity) => identity.configure(builder)?,
            None => builder.with_no_client_auth(),
        };
        // As libpq 17 does: needed by servers that take TLS directly (sslnegotiation=direct).
        client.alpn_protocols = vec![b"postgresql".to_vec()];
        Ok(Self {
            mode,
            roots,
            identity,
            client: Some(Arc::new(client)),
        })
    }

    /// The rustls configuration, `None` for `disable`.
    pub(crate) fn client_config(&self) -> Option<&ClientConfig> {
        self.client.as_deref()
    }

    /// The failure a TLS error of tokio-postgres (see [`is_tls_error`]) stands for.
    pub(crate) fn failure(&self, error: tokio_postgres::Error, server: &str) -> Failure {
        let io = std::error::Error::source(&error).and_then(|e| e.downcast_ref::<std::io::Error>());
        let certificate = io
            .and_then(|e| e.get_ref())
            .and_then(|e| e.downcast_ref::<rustls::Error>());
        // The server went away in the middle of the handshake: like any lost connection.
        if io.is_some_and(|e| e.kind() != std::io::ErrorKind::InvalidData) {
            return Failure::Transient(error);
        }
        let roots = || {
            self.roots
                .as_ref()
                .map_or_else(|| "no CA".to_string(), RootCert::describe)
        };
        let hint = match certificate {
            Some(rustls::Error::InvalidCertificate(e)) => match e {
                rustls::CertificateError::UnknownIssuer
                | rustls::CertificateError::BadSignature => format!(
                    "the server's certificate is not signed by a CA of {}",
                    roots()
                ),
                rustls::CertificateError::NotValidForName
                | rustls::CertificateError::NotValidForNameContext { .. } => {
                    "the server's certificate does not name the host as written in the \
                     connection string (verify-full checks it; verify-ca does not)"
                        .to_string()
                }
                rustls::CertificateError::Expired
                | rustls::CertificateError::ExpiredContext { .. } => {
                    "the server's certificate has expired".to_string()
                }
                _ => format!(
                    "the server's certificate was refused (checked against {})",
                    roots()
                ),
            },
            Some(rustls::Error::AlertReceived(alert)) if client_cert::is_refusal(alert) => {
                client_cert::refusal_hint(self.identity.as_ref(), alert)
            }
            Some(_) => "the TLS handshake failed".to_string(),
            None if describe(&error).contains("server does not support TLS") => {
                "the server does not accept TLS connections (ssl = off in its postgresql.conf): \
                 turn ssl on there, or use sslmode prefer or disable"
                    .to_string()
            }
            None => "TLS could not be set up".to_string(),
        };
        Failure::Fatal(PostgresError::Tls {
            server: server.to_string(),
            sslmode: self.mode.name(),
            message: format!("{hint}: {}", describe(&error)),
            source: error,
        })
    }
}

/// Whether tokio-postgres failed in the TLS part of the connection: the SSL request refused
/// while TLS is required, the handshake, or the server's refusal of the client certificate.
pub(crate) fn is_tls_error(error: &tokio_postgres::Error) -> bool {
    let refused = || {
        std::error::Error::source(error)
            .and_then(|e| e.downcast_ref::<std::io::Error>())
            .and_then(|e| e.get_ref())
            .and_then(|e| e.downcast_ref::<rustls::Error>())
            .is_some_and(|e| {
                matches!(e, rustls::Error::AlertReceived(alert) if client_cert::is_refusal(alert))
            })
    };
    error.code().is_none() && (error.to_string() == "error performing TLS handshake" || refused())
}

/// Checks that a trusted CA signed the server's certificate (not which host it names), or,
/// without CAs, nothing: `prefer` and `require` without `sslrootcert`, and `verify-ca`. The
/// handshake's signatures are checked in every case (the server holds the certificate's key).
#[derive(Debug)]
struct ChainOnly {
    roots: Option<Arc<RootCertStore>>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if let Some(roots) = &self.roots {
            let cert = rustls::server::ParsedCertificate::try_from(end_entity)?;
            rustls::client::verify_server_cert_signed_by_trust_anchor(
                &cert,
                roots,
                intermediates,
                now,
                self.algorithms.all,
            )?;
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    fn setting(r: Result<impl fmt::Debug, PostgresError>) -> (&'static str, String) {
        match r {
            Err(PostgresError::Config { setting, reason }) => (setting, reason),
            other => panic!("expected a config error, got {other:?}"),
        }
    }

    #[test]
    fn sslmode_parses_libpq_names_in_any_case() {
        for (text, mode) in [
            ("disable", SslMode::Disable),
            ("Prefer", SslMode::Prefer),
            (" require ", SslMode::Require),
            ("verify-ca", SslMode::VerifyCa),
            ("VERIFY-FULL", SslMode::VerifyFull),
        ] {
            assert_eq!(SslMode::parse(text).unwrap(), mode, "{text}");
            assert_eq!(mode.name().parse::<SslMode>().unwrap(), mode);
        }
        assert_eq!(SslMode::default(), SslMode::Prefer);
        let (key, why) = setting(SslMode::parse("verify_full"));
        assert_eq!(key, "sslmode");
        assert!(
            why.contains("`verify_full`") && why.contains("verify-full"),
            "{why}"
        );
        let (_, why) = setting(SslMode::parse("allow"));
        assert!(why.contains("not supported"), "{why}");
    }

    #[test]
    fn each_mode_negotiates_what_libpq_would() {
        use tokio_postgres::config::SslMode as Pg;
        assert_eq!(SslMode::Disable.negotiated(), Pg::Disable);
        assert_eq!(SslMode::Prefer.negotiated(), Pg::Prefer);
        for mode in [SslMode::Require, SslMode::VerifyCa, SslMode::VerifyFull] {
            assert_eq!(mode.negotiated(), Pg::Require, "{mode}");
        }
    }

    #[test]
    fn modes_and_roots_that_do_not_fit_are_refused() {
        let file = || Some(RootCert::File("/nonexistent/ca.pem".into()));
        let (key, why) = setting(Tls::new(SslMode::Disable, file(), None));
        assert_eq!(key, "sslrootcert");
        assert!(why.contains("disable"), "{why}");
        for weak in [SslMode::Prefer, SslMode::Require, SslMode::VerifyCa] {
            let (key, why) = setting(Tls::new(weak, Some(RootCert::System), None));
            assert_eq!(key, "sslmode");
            assert!(why.contains("verify-full"), "{weak}: {why}");
        }
        for mode in [SslMode::Require, SslMode::VerifyFull] {
            let (key, why) = setting(Tls::new(mode, file(), None));
            assert_eq!(key, "sslrootcert");
            assert!(why.contains("cannot read `/nonexistent/ca.pem`"), "{why}");
        }
        assert!(Tls::new(SslMode::Disable, None, None)
            .unwrap()
            .client_config()
            .is_none());
        let require = Tls::new(SslMode::Require, None, None).unwrap();
        assert!(require.roots.is_none() && require.client_config().is_some());
        assert_eq!(RootCert::parse("system"), RootCert::System);
        assert_eq!(
            RootCert::parse("./system"),
            RootCert::File("./system".into())
        );
    }
}
