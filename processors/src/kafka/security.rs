//! `SecurityConfig`: TLS (rustls) and SASL (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512) to the brokers.
//!
//! Kafka's `security.protocol` names: `plaintext` (the default), `ssl`, `sasl_plaintext` and
//! `sasl_ssl`. TLS uses rustls with the *ring* provider, given to the client configuration itself
//! (no process-wide default provider is installed). The brokers' certificates are checked against
//! `ssl_ca_file` (a PEM bundle) or, when it is not set, the system's trust store (as
//! `rustls-native-certs` finds it: `SSL_CERT_FILE` / `SSL_CERT_DIR` or the distribution's bundle).
//! A certificate must name the host as it appears in `brokers` *and* as the brokers advertise
//! it in their metadata (rskafka connects to the advertised addresses after bootstrapping), by DNS
//! name or IP address. `ssl_certificate_file` + `ssl_key_file` (PEM; the key unencrypted: PKCS#8,
//! PKCS#1 or SEC1) give a client certificate for brokers that require one (mutual TLS).

use super::error::KafkaError;
use crate::tls;
use rskafka::client::{ClientBuilder, Credentials, SaslConfig};
use std::path::PathBuf;
use std::sync::Arc;

/// How the connection to a broker is secured (Kafka's `security.protocol`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SecurityProtocol {
    /// Plain TCP, no authentication.
    #[default]
    Plaintext,
    /// TLS, no SASL (a client certificate may authenticate).
    Ssl,
    /// SASL over plain TCP (the credentials travel in clear with PLAIN).
    SaslPlaintext,
    /// SASL over TLS.
    SaslSsl,
}

impl SecurityProtocol {
    /// Parses `plaintext`, `ssl`, `sasl_plaintext` or `sasl_ssl` (any case).
    pub fn parse(s: &str) -> Result<Self, KafkaError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "plaintext" | "" => Ok(Self::Plaintext),
            "ssl" => Ok(Self::Ssl),
            "sasl_plaintext" => Ok(Self::SaslPlaintext),
            "sasl_ssl" => Ok(Self::SaslSsl),
            other => Err(KafkaError::config(
                "security_protocol",
                format!("unknown protocol `{other}` (plaintext, ssl, sasl_plaintext, sasl_ssl)"),
            )),
        }
    }

    /// The Kafka name, lower case.
    pub fn name(self) -> &'static str {
        match self {
            Self::Plaintext => "plaintext",
            Self::Ssl => "ssl",
            Self::SaslPlaintext => "sasl_plaintext",
            Self::SaslSsl => "sasl_ssl",
        }
    }

    /// Whether connections use TLS.
    pub fn uses_tls(self) -> bool {
        matches!(self, Self::Ssl | Self::SaslSsl)
    }

    /// Whether connections authenticate with SASL.
    pub fn uses_sasl(self) -> bool {
        matches!(self, Self::SaslPlaintext | Self::SaslSsl)
    }
}

/// The SASL mechanism (Kafka's `sasl.mechanism`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SaslMechanism {
    /// `PLAIN`: the password itself is sent (use it over `sasl_ssl`).
    #[default]
    Plain,
    /// `SCRAM-SHA-256`.
    ScramSha256,
    /// `SCRAM-SHA-512`.
    ScramSha512,
}

impl SaslMechanism {
    /// Parses `PLAIN`, `SCRAM-SHA-256` or `SCRAM-SHA-512` (any case).
    pub fn parse(s: &str) -> Result<Self, KafkaError> {
        match s.trim().to_ascii_uppercase().as_str() {
            "PLAIN" => Ok(Self::Plain),
            "SCRAM-SHA-256" => Ok(Self::ScramSha256),
            "SCRAM-SHA-512" => Ok(Self::ScramSha512),
            other => Err(KafkaError::config(
                "sasl_mechanism",
                format!(
                    "unsupported mechanism `{other}` (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512; \
                     GSSAPI and OAUTHBEARER are not available)"
                ),
            )),
        }
    }

    /// The mechanism's SASL name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Plain => "PLAIN",
            Self::ScramSha256 => "SCRAM-SHA-256",
            Self::ScramSha512 => "SCRAM-SHA-512",
        }
    }
}

/// TLS and SASL settings. The default is `plaintext` with nothing else set.
///
/// `Debug` never shows the password.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SecurityConfig {
    /// Plain TCP or TLS, with or without SASL (`security_protocol`).
    pub protocol: SecurityProtocol,
    /// PEM bundle of the CA certificates to trust (`ssl_ca_file`); without it, the system's.
    pub ssl_ca_file: Option<PathBuf>,
    /// PEM client certificate chain, leaf first (`ssl_certificate_file`), for mutual TLS.
    pub ssl_certificate_file: Option<PathBuf>,
    /// PEM private key of the client certificate, unencrypted (`ssl_key_file`).
    pub ssl_key_file: Option<PathBuf>,
    /// The SASL mechanism (`sasl_mechanism`); `PLAIN` when not set.
    pub sasl_mechanism: Option<SaslMechanism>,
    /// The SASL user name (`sasl_username`).
    pub sasl_username: Option<String>,
    /// The SASL password (`sasl_password`).
    pub sasl_password: Option<String>,
}

impl std::fmt::Debug for SecurityConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecurityConfig")
            .field("protocol", &self.protocol)
            .field("ssl_ca_file", &self.ssl_ca_file)
            .field("ssl_certificate_file", &self.ssl_certificate_file)
            .field("ssl_key_file", &self.ssl_key_file)
            .field("sasl_mechanism", &self.sasl_mechanism)
            .field("sasl_username", &self.sasl_username)
            .field(
                "sasl_password",
                &self.sasl_password.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

impl SecurityConfig {
    /// TLS, trusting the CA certificates in the PEM file `ca_file`.
    pub fn ssl(ca_file: impl Into<PathBuf>) -> Self {
        Self {
            protocol: SecurityProtocol::Ssl,
            ssl_ca_file: Some(ca_file.into()),
            ..Self::default()
        }
    }

    /// Adds SASL credentials: `plaintext` becomes `sasl_plaintext`, `ssl` becomes `sasl_ssl`.
    pub fn with_sasl(
        mut self,
        mechanism: SaslMechanism,
        username: impl Into<String>,
        password: impl Into<String>,
    ) -> Self {
        self.protocol = match self.protocol {
            SecurityProtocol::Plaintext | SecurityProtocol::SaslPlaintext => {
                SecurityProtocol::SaslPlaintext
            }
            SecurityProtocol::Ssl | SecurityProtocol::SaslSsl => SecurityProtocol::SaslSsl,
        };
        self.sasl_mechanism = Some(mechanism);
        self.sasl_username = Some(username.into());
        self.sasl_password = Some(password.into());
        self
    }

    /// Adds a client certificate (PEM chain and unencrypted PEM key) for mutual TLS.
    pub fn with_client_certificate(
        mut self,
        certificate_file: impl Into<PathBuf>,
        key_file: impl Into<PathBuf>,
    ) -> Self {
        self.ssl_certificate_file = Some(certificate_file.into());
        self.ssl_key_file = Some(key_file.into());
        self
    }

    /// Checks that the settings fit together (without reading the files: see
    /// [`SecurityConfig::prepare`]).
    pub fn validate(&self) -> Result<(), KafkaError> {
        let protocol = self.protocol;
        if !protocol.uses_tls() {
            let ssl_keys = [
                ("ssl_ca_file", &self.ssl_ca_file),
                ("ssl_certificate_file", &self.ssl_certificate_file),
                ("ssl_key_file", &self.ssl_key_file),
            ];
            if let Some((key, _)) = ssl_keys.iter().find(|(_, v)| v.is_some()) {
                return Err(KafkaError::config(
                    *key,
                    format!(
                        "is set, but security_protocol is `{}` (no TLS): use `ssl` or \
                         `sasl_ssl`, or remove it",
                        protocol.name()
                    ),
                ));
            }
        }
        match (&self.ssl_certificate_file, &self.ssl_key_file) {
            (Some(_), None) => {
                return Err(KafkaError::config(
                    "ssl_key_file",
                    "is required with ssl_certificate_file (the client certificate's key)",
                ))
            }
            (None, Some(_)) => {
                return Err(KafkaError::config(
                    "ssl_certificate_file",
                    "is required with ssl_key_file (the client certificate)",
                ))
            }
            _ => {}
        }
        if protocol.uses_sasl() {
            if self.sasl_username.as_deref().is_none_or(str::is_empty) {
                return Err(KafkaError::config(
                    "sasl_username",
                    format!("is required with security_protocol `{}`", protocol.name()),
                ));
            }
            if self.sasl_password.as_deref().is_none_or(str::is_empty) {
                return Err(KafkaError::config(
                    "sasl_password",
                    format!("is required with security_protocol `{}`", protocol.name()),
                ));
            }
        } else {
            let sasl_set = [
                ("sasl_mechanism", self.sasl_mechanism.is_some()),
                ("sasl_username", self.sasl_username.is_some()),
                ("sasl_password", self.sasl_password.is_some()),
            ];
            if let Some((key, _)) = sasl_set.iter().find(|(_, set)| *set) {
                return Err(KafkaError::config(
                    *key,
                    format!(
                        "is set, but security_protocol is `{}` (no SASL): use `sasl_plaintext` \
                         or `sasl_ssl`, or remove it",
                        protocol.name()
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Validates the settings and loads the PEM files: what [`ClientSecurity::apply`] needs.
    /// Errors name the setting and the file.
    pub fn prepare(&self) -> Result<ClientSecurity, KafkaError> {
        self.validate()?;
        let tls = if self.protocol.uses_tls() {
            Some(Arc::new(self.tls_client_config()?))
        } else {
            None
        };
        let sasl = match (&self.sasl_username, &self.sasl_password) {
            (Some(user), Some(password)) if self.protocol.uses_sasl() => {
                let credentials = Credentials::new(user.clone(), password.clone());
                Some(match self.sasl_mechanism.unwrap_or_default() {
                    SaslMechanism::Plain => SaslConfig::Plain(credentials),
                    SaslMechanism::ScramSha256 => SaslConfig::ScramSha256(credentials),
                    SaslMechanism::ScramSha512 => SaslConfig::ScramSha512(credentials),
                })
            }
            _ => None,
        };
        Ok(ClientSecurity { tls, sasl })
    }

    fn tls_client_config(&self) -> Result<rustls::ClientConfig, KafkaError> {
        let roots = match &self.ssl_ca_file {
            Some(path) => {
                tls::roots_from_file(path).map_err(|e| KafkaError::config("ssl_ca_file", e))?
            }
            None => tls::system_roots().map_err(|e| {
                KafkaError::config(
                    "ssl_ca_file",
                    format!("not set, and {e}: set it to the PEM bundle of the brokers' CA"),
                )
            })?,
        };
        let builder = tls::client_builder()
            .map_err(|e| KafkaError::config("security_protocol", e))?
            .with_root_certificates(roots);
        match (&self.ssl_certificate_file, &self.ssl_key_file) {
            (Some(cert_path), Some(key_path)) => {
                let chain = tls::read_certificates(cert_path)
                    .map_err(|e| KafkaError::config("ssl_certificate_file", e))?;
                let key = tls::read_private_key(key_path)
                    .map_err(|e| KafkaError::config("ssl_key_file", e))?;
                builder.with_client_auth_cert(chain, key).map_err(|e| {
                    KafkaError::config(
                        "ssl_key_file",
                        format!(
                            "`{}` cannot be used with the certificate `{}`: {e}",
                            key_path.display(),
                            cert_path.display()
                        ),
                    )
                })
            }
            _ => Ok(builder.with_no_client_auth()),
        }
    }
}

/// Loaded security settings, ready to be applied to any number of rskafka client builders.
#[derive(Clone, Default)]
pub struct ClientSecurity {
    tls: Option<Arc<rustls::ClientConfig>>,
    sasl: Option<SaslConfig>,
}

impl std::fmt::Debug for ClientSecurity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sasl = self.sasl.as_ref().map(|s| match s {
            SaslConfig::Plain(_) => "PLAIN",
            SaslConfig::ScramSha256(_) => "SCRAM-SHA-256",
            SaslConfig::ScramSha512(_) => "SCRAM-SHA-512",
            SaslConfig::Oauthbearer(_) => "OAUTHBEARER",
        });
        f.debug_struct("ClientSecurity")
            .field("tls", &self.tls.is_some())
            .field("sasl", &sasl)
            .finish()
    }
}

impl ClientSecurity {
    /// Sets the builder's TLS configuration and SASL credentials (nothing for `plaintext`).
    pub fn apply(&self, mut builder: ClientBuilder) -> ClientBuilder {
        if let Some(tls) = &self.tls {
            builder = builder.tls_config(tls.clone());
        }
        if let Some(sasl) = &self.sasl {
            builder = builder.sasl_config(sasl.clone());
        }
        builder
    }

    /// The TLS client configuration, for connections of weir's own (topic administration).
    pub(crate) fn tls_config(&self) -> Option<Arc<rustls::ClientConfig>> {
        self.tls.clone()
    }

    /// Whether connections use TLS.
    pub fn uses_tls(&self) -> bool {
        self.tls.is_some()
    }

    /// The SASL mechanism connections authenticate with, if any.
    pub fn sasl_mechanism(&self) -> Option<SaslMechanism> {
        self.sasl.as_ref().and_then(|s| match s {
            SaslConfig::Plain(_) => Some(SaslMechanism::Plain),
            SaslConfig::ScramSha256(_) => Some(SaslMechanism::ScramSha256),
            SaslConfig::ScramSha512(_) => Some(SaslMechanism::ScramSha512),
            SaslConfig::Oauthbearer(_) => None,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn reason(r: Result<impl std::fmt::Debug, KafkaError>) -> (String, String) {
        match r {
            Err(KafkaError::Config { key, reason }) => (key, reason),
            other => panic!("expected a config error, got {other:?}"),
        }
    }

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "weir-security-{name}-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// A self-signed CA, and a certificate for `localhost` signed by it: (ca, cert, key) PEM.
    fn ca_and_leaf() -> (String, String, String) {
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let ca = ca.self_signed(&ca_key).unwrap();
        let key = rcgen::KeyPair::generate().unwrap();
        let leaf = rcgen::CertificateParams::new(vec!["localhost".to_string()])
            .unwrap()
            .signed_by(&key, &ca, &ca_key)
            .unwrap();
        (ca.pem(), leaf.pem(), key.serialize_pem())
    }

    #[test]
    fn protocols_and_mechanisms_parse_in_any_case() {
        assert_eq!(
            SecurityProtocol::parse("SASL_SSL").ok(),
            Some(SecurityProtocol::SaslSsl)
        );
        assert_eq!(
            SecurityProtocol::parse(" ssl ").ok(),
            Some(SecurityProtocol::Ssl)
        );
        assert_eq!(
            SecurityProtocol::parse("Sasl_Plaintext").ok(),
            Some(SecurityProtocol::SaslPlaintext)
        );
        assert_eq!(
            SecurityProtocol::parse("PLAINTEXT").ok(),
            Some(SecurityProtocol::Plaintext)
        );
        let (key, why) = reason(SecurityProtocol::parse("tls"));
        assert_eq!(key, "security_protocol");
        assert!(why.contains("`tls`") && why.contains("sasl_ssl"), "{why}");

        assert_eq!(
            SaslMechanism::parse("scram-sha-512").ok(),
            Some(SaslMechanism::ScramSha512)
        );
        assert_eq!(
            SaslMechanism::parse("SCRAM-SHA-256").ok(),
            Some(SaslMechanism::ScramSha256)
        );
        assert_eq!(
            SaslMechanism::parse("plain").ok(),
            Some(SaslMechanism::Plain)
        );
        let (key, why) = reason(SaslMechanism::parse("GSSAPI"));
        assert_eq!(key, "sasl_mechanism");
        assert!(why.contains("`GSSAPI`"), "{why}");
    }

    #[test]
    fn settings_that_do_not_fit_together_are_named() {
        let key = |s: SecurityConfig| reason(s.validate()).0;
        assert!(SecurityConfig::default().validate().is_ok());
        // SSL files without TLS.
        let s = SecurityConfig {
            ssl_ca_file: Some("ca.pem".into()),
            ..SecurityConfig::default()
        };
        assert_eq!(key(s.clone()), "ssl_ca_file");
        let s = SecurityConfig {
            protocol: SecurityProtocol::SaslPlaintext,
            ..s
        }
        .with_sasl(SaslMechanism::Plain, "u", "p");
        assert_eq!(s.protocol, SecurityProtocol::SaslPlaintext);
        let (k, why) = reason(s.validate());
        assert_eq!(k, "ssl_ca_file");
        assert!(why.contains("sasl_plaintext"), "{why}");
        // A certificate without its key, and the reverse.
        let s = SecurityConfig::ssl("ca.pem");
        assert!(s.validate().is_ok());
        let mut half = s.clone();
        half.ssl_certificate_file = Some("c.pem".into());
        assert_eq!(key(half), "ssl_key_file");
        let mut half = s.clone();
        half.ssl_key_file = Some("k.pem".into());
        assert_eq!(key(half), "ssl_certificate_file");
        // SASL without credentials, or credentials without SASL.
        let sasl = SecurityConfig {
            protocol: SecurityProtocol::SaslSsl,
            ..SecurityConfig::default()
        };
        assert_eq!(key(sasl.clone()), "sasl_username");
        let mut no_password = sasl.clone();
        no_password.sasl_username = Some("alice".into());
        assert_eq!(key(no_password.clone()), "sasl_password");
        no_password.sasl_password = Some(String::new());
        assert_eq!(key(no_password), "sasl_password");
        let stray = SecurityConfig {
            sasl_mechanism: Some(SaslMechanism::ScramSha256),
            ..SecurityConfig::ssl("ca.pem")
        };
        let (k, why) = reason(stray.validate());
        assert_eq!(k, "sasl_mechanism");
        assert!(why.contains("`ssl`"), "{why}");
        let ok = SecurityConfig::ssl("ca.pem").with_sasl(SaslMechanism::ScramSha512, "u", "p");
        assert_eq!(ok.protocol, SecurityProtocol::SaslSsl);
        assert!(ok.validate().is_ok());
    }

    #[test]
    fn debug_redacts_the_password() {
        let s = SecurityConfig::default().with_sasl(SaslMechanism::Plain, "alice", "s3cr3t-pw");
        let shown = format!("{s:?}");
        assert!(!shown.contains("s3cr3t-pw"), "{shown}");
        assert!(
            shown.contains("alice") && shown.contains("<redacted>"),
            "{shown}"
        );
        let prepared = s.prepare().unwrap();
        let shown = format!("{prepared:?}");
        assert!(!shown.contains("s3cr3t-pw"), "{shown}");
        assert_eq!(prepared.sasl_mechanism(), Some(SaslMechanism::Plain));
        assert!(!prepared.uses_tls());
    }

    #[test]
    fn unreadable_or_invalid_pem_files_name_the_key_and_the_path() {
        let dir = scratch("pem");
        let missing = dir.join("missing-ca.pem");
        let (k, why) = reason(SecurityConfig::ssl(&missing).prepare());
        assert_eq!(k, "ssl_ca_file");
        assert!(
            why.contains("cannot read") && why.contains("missing-ca.pem"),
            "{why}"
        );

        let empty = dir.join("empty.pem");
        std::fs::write(&empty, "no pem here\n").unwrap();
        let (k, why) = reason(SecurityConfig::ssl(&empty).prepare());
        assert_eq!(k, "ssl_ca_file");
        assert!(
            why.contains("no PEM certificate") && why.contains("empty.pem"),
            "{why}"
        );

        let torn = dir.join("torn.pem");
        std::fs::write(&torn, "-----BEGIN CERTIFICATE-----\nMIIB\n").unwrap();
        let (k, why) = reason(SecurityConfig::ssl(&torn).prepare());
        assert_eq!(k, "ssl_ca_file");
        assert!(
            why.contains("not a valid PEM file") && why.contains("torn.pem"),
            "{why}"
        );

        let garbage = dir.join("garbage.pem");
        std::fs::write(
            &garbage,
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        let (k, why) = reason(SecurityConfig::ssl(&garbage).prepare());
        assert_eq!(k, "ssl_ca_file");
        assert!(
            why.contains("not a usable CA certificate") && why.contains("garbage.pem"),
            "{why}"
        );

        // A usable CA; then client certificates with a missing or mismatched key.
        let (ca, leaf, key) = ca_and_leaf();
        let ca_file = dir.join("ca.pem");
        std::fs::write(&ca_file, &ca).unwrap();
        let prepared = SecurityConfig::ssl(&ca_file).prepare().unwrap();
        assert!(prepared.uses_tls() && prepared.sasl_mechanism().is_none());
        let (cert_file, key_file) = (dir.join("client.pem"), dir.join("client.key"));
        std::fs::write(&cert_file, &leaf).unwrap();
        std::fs::write(&key_file, &key).unwrap();
        let mtls = SecurityConfig::ssl(&ca_file).with_client_certificate(&cert_file, &key_file);
        assert!(mtls.prepare().unwrap().uses_tls());

        let no_key = SecurityConfig::ssl(&ca_file).with_client_certificate(&cert_file, &cert_file);
        let (k, why) = reason(no_key.prepare());
        assert_eq!(k, "ssl_key_file");
        assert!(
            why.contains("no unencrypted PEM private key") && why.contains("client.pem"),
            "{why}"
        );
        let other_key = dir.join("other.key");
        std::fs::write(
            &other_key,
            rcgen::KeyPair::generate().unwrap().serialize_pem(),
        )
        .unwrap();
        let mismatched =
            SecurityConfig::ssl(&ca_file).with_client_certificate(&cert_file, &other_key);
        let (k, why) = reason(mismatched.prepare());
        assert_eq!(k, "ssl_key_file");
        assert!(why.contains("other.key"), "{why}");
        let missing_cert =
            SecurityConfig::ssl(&ca_file).with_client_certificate(dir.join("nope.pem"), &key_file);
        let (k, why) = reason(missing_cert.prepare());
        assert_eq!(k, "ssl_certificate_file");
        assert!(why.contains("nope.pem"), "{why}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
