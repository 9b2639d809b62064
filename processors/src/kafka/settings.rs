//! `KafkaConfig` from a TOML file or from `WEIR_KAFKA_*` environment variables: one setter per
//! key, shared by both, so a key means the same in each; unknown keys and bad values are errors.

use super::config::{parse_offset_reset, split_brokers, KafkaConfig, SinkCompression};
use super::error::KafkaError;
use super::security::{SaslMechanism, SecurityProtocol};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The keys, as written in TOML; the environment variable is `WEIR_KAFKA_` + the key upper-cased.
pub const KEYS: &[&str] = &[
    "brokers",
    "client_id",
    "fetch_max_bytes",
    "max_response_bytes",
    "produce_max_bytes",
    "linger_ms",
    "send_buffer_bytes",
    "replication_factor",
    "compression",
    "offset_reset",
    "retry_initial_backoff_ms",
    "retry_max_backoff_ms",
    "retry_deadline_ms",
    "request_timeout_ms",
    "security_protocol",
    "ssl_ca_file",
    "ssl_certificate_file",
    "ssl_key_file",
    "sasl_mechanism",
    "sasl_username",
    "sasl_password",
];

fn number<T: std::str::FromStr>(key: &str, v: &str) -> Result<T, KafkaError> {
    v.trim()
        .parse()
        .map_err(|_| KafkaError::config(key, format!("`{v}` is not a valid number")))
}

fn millis(key: &str, v: &str) -> Result<Duration, KafkaError> {
    Ok(Duration::from_millis(number::<u64>(key, v)?))
}

/// An optional path: empty (or blank) means not set.
fn path(v: &str) -> Option<PathBuf> {
    let v = v.trim();
    (!v.is_empty()).then(|| PathBuf::from(v))
}

/// An optional text: empty means not set. Passwords are taken as written (not trimmed).
fn text(v: &str) -> Option<String> {
    (!v.is_empty()).then(|| v.to_string())
}

impl KafkaConfig {
    /// Sets one setting by name from its text form (see [`KEYS`]).
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), KafkaError> {
        match key {
            "brokers" => self.brokers = split_brokers(value),
            "client_id" => self.client_id = value.trim().to_string(),
            "fetch_max_bytes" => self.fetch_max_bytes = number(key, value)?,
            "max_response_bytes" => self.max_response_bytes = number(key, value)?,
            "produce_max_bytes" => self.produce_max_bytes = number(key, value)?,
            "linger_ms" => self.linger = millis(key, value)?,
            "send_buffer_bytes" => self.send_buffer_bytes = number(key, value)?,
            "replication_factor" => self.replication_factor = number(key, value)?,
            "compression" => self.compression = SinkCompression::parse(value)?,
            "offset_reset" => self.offset_reset = parse_offset_reset(value)?,
            "retry_initial_backoff_ms" => self.retry.initial_backoff = millis(key, value)?,
            "retry_max_backoff_ms" => self.retry.max_backoff = millis(key, value)?,
            "retry_deadline_ms" => self.retry.deadline = millis(key, value)?,
            "request_timeout_ms" => self.retry.request_timeout = millis(key, value)?,
            "security_protocol" => self.security.protocol = SecurityProtocol::parse(value)?,
            "ssl_ca_file" => self.security.ssl_ca_file = path(value),
            "ssl_certificate_file" => self.security.ssl_certificate_file = path(value),
            "ssl_key_file" => self.security.ssl_key_file = path(value),
            "sasl_mechanism" => {
                self.security.sasl_mechanism = match value.trim() {
                    "" => None,
                    v => Some(SaslMechanism::parse(v)?),
                }
            }
            "sasl_username" => self.security.sasl_username = text(value.trim()),
            "sasl_password" => self.security.sasl_password = text(value),
            other => {
                return Err(KafkaError::config(
                    other,
                    format!("unknown setting (known: {})", KEYS.join(", ")),
                ))
            }
        }
        Ok(())
    }

    /// Settings from the environment: `WEIR_KAFKA_BROKERS` (required, comma-separated) and any
    /// other `WEIR_KAFKA_<KEY>` of [`KEYS`]; the rest keep their defaults.
    pub fn from_env() -> Result<Self, KafkaError> {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    /// [`KafkaConfig::from_env`] over any variable lookup.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Self, KafkaError> {
        KafkaConfig::new("").overridden_by_vars(var)
    }

    /// Settings for the cluster at `brokers` (a `--brokers` flag) with every other
    /// `WEIR_KAFKA_<KEY>` variable applied (TLS, SASL, linger...): the flag wins over
    /// `WEIR_KAFKA_BROKERS`.
    pub fn for_brokers(brokers: &str) -> Result<Self, KafkaError> {
        Self::for_brokers_with_vars(brokers, |name| std::env::var(name).ok())
    }

    /// [`KafkaConfig::for_brokers`] over any variable lookup.
    pub fn for_brokers_with_vars(
        brokers: &str,
        var: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, KafkaError> {
        let mut config = KafkaConfig::new(brokers).overridden_by_vars(var)?;
        config.brokers = KafkaConfig::new(brokers).brokers;
        Ok(config)
    }

    /// These settings with every `WEIR_KAFKA_<KEY>` variable that is set applied on top: a
    /// TOML file for the layout, the environment for secrets such as `WEIR_KAFKA_SASL_PASSWORD`.
    pub fn overridden_by_env(self) -> Result<Self, KafkaError> {
        self.overridden_by_vars(|name| std::env::var(name).ok())
    }

    /// [`KafkaConfig::overridden_by_env`] over any variable lookup.
    pub fn overridden_by_vars(
        mut self,
        var: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, KafkaError> {
        for key in KEYS {
            let name = format!("WEIR_KAFKA_{}", key.to_ascii_uppercase());
            if let Some(v) = var(&name) {
                self.set(key, &v).map_err(|e| rename(e, &name))?;
            }
        }
        self.validate()?;
        Ok(self)
    }

    /// Settings from a TOML file: top-level keys of [`KEYS`] (`brokers` as a string or an array
    /// of strings), or the same keys under a `[kafka]` table.
    pub fn from_toml_file(path: impl AsRef<Path>) -> Result<Self, KafkaError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .map_err(|e| KafkaError::config(path.display().to_string(), e))?;
        Self::from_toml_str(&text)
    }

    /// [`KafkaConfig::from_toml_file`] over text.
    pub fn from_toml_str(text: &str) -> Result<Self, KafkaError> {
        let doc: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| KafkaError::config("(toml)", e.message()))?;
        let table = match doc.get("kafka") {
            Some(toml::Value::Table(t)) => t.clone(),
            Some(_) => return Err(KafkaError::config("kafka", "must be a table")),
            None => doc,
        };
        let mut c = KafkaConfig::new("");
        for (key, value) in &table {
            let text = match value {
                toml::Value::String(s) => s.clone(),
                toml::Value::Integer(i) => i.to_string(),
                toml::Value::Array(items) if key == "brokers" => {
                    let mut hosts = Vec::new();
                    for item in items {
                        match item {
                            toml::Value::String(s) => hosts.push(s.clone()),
                            _ => return Err(KafkaError::config(key, "must hold strings")),
                        }
                    }
                    hosts.join(",")
                }
                other => {
                    return Err(KafkaError::config(
                        key,
                        format!("unexpected {} value", other.type_str()),
                    ))
                }
            };
            c.set(key, &text)?;
        }
        c.validate()?;
        Ok(c)
    }
}

fn rename(e: KafkaError, name: &str) -> KafkaError {
    match e {
        KafkaError::Config { reason, .. } => KafkaError::Config {
            key: name.to_string(),
            reason,
        },
        e => e,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::kafka::security::SecurityConfig;
    use std::collections::HashMap;

    fn key_of(r: Result<KafkaConfig, KafkaError>) -> String {
        match r {
            Err(KafkaError::Config { key, .. }) => key,
            other => format!("{other:?}"),
        }
    }

    #[test]
    fn toml_sets_every_key() {
        let c = KafkaConfig::from_toml_str(
            r#"
            [kafka]
            brokers = ["a:9092", "b:9093"]
            client_id = "flights"
            fetch_max_bytes = 65536
            produce_max_bytes = 131072
            linger_ms = 20
            send_buffer_bytes = 1048576
            replication_factor = 3
            compression = "zstd"
            offset_reset = "latest"
            retry_initial_backoff_ms = 20
            retry_max_backoff_ms = 1000
            retry_deadline_ms = 5000
            request_timeout_ms = 700
            "#,
        )
        .unwrap();
        assert_eq!(c.brokers, vec!["a:9092", "b:9093"]);
        assert_eq!(c.client_id, "flights");
        assert_eq!((c.fetch_max_bytes, c.produce_max_bytes), (65536, 131072));
        assert_eq!(c.replication_factor, 3);
        assert_eq!(c.linger, Duration::from_millis(20));
        assert_eq!(c.send_buffer_bytes, 1 << 20);
        assert_eq!(c.compression, SinkCompression::Zstd);
        assert_eq!(c.offset_reset, crate::OffsetReset::Latest);
        assert_eq!(c.retry.initial_backoff, Duration::from_millis(20));
        assert_eq!(c.retry.max_backoff, Duration::from_secs(1));
        assert_eq!(c.retry.deadline, Duration::from_secs(5));
        assert_eq!(c.retry.request_timeout, Duration::from_millis(700));
        // Top level works too; a string broker list is split.
        let c = KafkaConfig::from_toml_str("brokers = \"h:1,h:2\"").unwrap();
        assert_eq!(c.brokers, vec!["h:1", "h:2"]);
    }

    #[test]
    fn a_brokers_flag_wins_over_the_environment_and_keeps_the_rest() {
        let vars: HashMap<&str, &str> = [
            ("WEIR_KAFKA_BROKERS", "env:1"),
            ("WEIR_KAFKA_CLIENT_ID", "from-env"),
        ]
        .into_iter()
        .collect();
        let c = KafkaConfig::for_brokers_with_vars("flag:1,flag:2", |n| {
            vars.get(n).map(|v| v.to_string())
        })
        .unwrap();
        assert_eq!(c.brokers, vec!["flag:1", "flag:2"]);
        assert_eq!(c.client_id, "from-env");
        let bad = KafkaConfig::for_brokers_with_vars("h:1", |n| {
            (n == "WEIR_KAFKA_LINGER_MS").then(|| "soon".to_string())
        });
        assert_eq!(key_of(bad), "WEIR_KAFKA_LINGER_MS");
    }

    #[test]
    fn toml_errors_name_the_key() {
        assert_eq!(
            key_of(KafkaConfig::from_toml_str("brokers = 'h:1'\nlinger = 5")),
            "linger"
        );
        assert_eq!(
            key_of(KafkaConfig::from_toml_str(
                "brokers = 'h:1'\ncompression = 'brotli'"
            )),
            "compression"
        );
        assert_eq!(
            key_of(KafkaConfig::from_toml_str(
                "brokers = 'h:1'\nfetch_max_bytes = true"
            )),
            "fetch_max_bytes"
        );
        assert_eq!(
            key_of(KafkaConfig::from_toml_str("client_id = 'x'")),
            "brokers"
        );
        assert_eq!(key_of(KafkaConfig::from_toml_str("brokers = [")), "(toml)");
        let missing = KafkaConfig::from_toml_file("/nonexistent/weir-kafka.toml");
        assert!(key_of(missing).contains("weir-kafka.toml"));
    }

    #[test]
    fn environment_variables_set_keys_and_bad_values_name_the_variable() {
        let vars: HashMap<&str, &str> = [
            ("WEIR_KAFKA_BROKERS", "k1:9092,k2:9092"),
            ("WEIR_KAFKA_CLIENT_ID", "app-7"),
            ("WEIR_KAFKA_COMPRESSION", "lz4"),
            ("WEIR_KAFKA_RETRY_DEADLINE_MS", "1500"),
        ]
        .into();
        let c = KafkaConfig::from_vars(|n| vars.get(n).map(|v| v.to_string())).unwrap();
        assert_eq!(c.brokers, vec!["k1:9092", "k2:9092"]);
        assert_eq!(c.client_id, "app-7");
        assert_eq!(c.compression, SinkCompression::Lz4);
        assert_eq!(c.retry.deadline, Duration::from_millis(1500));

        let bad: HashMap<&str, &str> = [
            ("WEIR_KAFKA_BROKERS", "k1:9092"),
            ("WEIR_KAFKA_FETCH_MAX_BYTES", "lots"),
        ]
        .into();
        let r = KafkaConfig::from_vars(|n| bad.get(n).map(|v| v.to_string()));
        assert_eq!(key_of(r), "WEIR_KAFKA_FETCH_MAX_BYTES");
        assert_eq!(key_of(KafkaConfig::from_vars(|_| None)), "brokers");
    }

    #[test]
    fn the_environment_overrides_a_file() {
        let file = KafkaConfig::from_toml_str("brokers = 'f:1'\nclient_id = 'from-file'").unwrap();
        let vars: HashMap<&str, &str> = [("WEIR_KAFKA_CLIENT_ID", "from-env")].into();
        let c = file
            .overridden_by_vars(|n| vars.get(n).map(|v| v.to_string()))
            .unwrap();
        assert_eq!(
            (c.brokers[0].as_str(), c.client_id.as_str()),
            ("f:1", "from-env")
        );
    }

    #[test]
    fn toml_and_environment_set_the_security_keys() {
        let c = KafkaConfig::from_toml_str(
            r#"
            [kafka]
            brokers = "kafka-1.example.com:9093"
            security_protocol = "SASL_SSL"
            ssl_ca_file = "/etc/weir/ca.pem"
            ssl_certificate_file = "/etc/weir/client.pem"
            ssl_key_file = "/etc/weir/client.key"
            sasl_mechanism = "scram-sha-512"
            sasl_username = "flights"
            sasl_password = " pass word "
            "#,
        )
        .unwrap();
        let s = &c.security;
        assert_eq!(s.protocol, SecurityProtocol::SaslSsl);
        assert_eq!(s.ssl_ca_file, Some(PathBuf::from("/etc/weir/ca.pem")));
        assert_eq!(
            s.ssl_certificate_file,
            Some(PathBuf::from("/etc/weir/client.pem"))
        );
        assert_eq!(s.ssl_key_file, Some(PathBuf::from("/etc/weir/client.key")));
        assert_eq!(s.sasl_mechanism, Some(SaslMechanism::ScramSha512));
        assert_eq!(s.sasl_username.as_deref(), Some("flights"));
        assert_eq!(s.sasl_password.as_deref(), Some(" pass word "));
        let shown = format!("{c:?}");
        assert!(!shown.contains("pass word"), "{shown}");

        let vars: HashMap<&str, &str> = [
            ("WEIR_KAFKA_BROKERS", "k1:9092"),
            ("WEIR_KAFKA_SECURITY_PROTOCOL", "sasl_plaintext"),
            ("WEIR_KAFKA_SASL_MECHANISM", "PLAIN"),
            ("WEIR_KAFKA_SASL_USERNAME", "app"),
            ("WEIR_KAFKA_SASL_PASSWORD", "hunter2"),
            // Empty means not set.
            ("WEIR_KAFKA_SSL_CA_FILE", ""),
        ]
        .into();
        let c = KafkaConfig::from_vars(|n| vars.get(n).map(|v| v.to_string())).unwrap();
        assert_eq!(
            c.security,
            SecurityConfig::default().with_sasl(SaslMechanism::Plain, "app", "hunter2")
        );
        // The default stays plaintext.
        let c = KafkaConfig::from_toml_str("brokers = 'h:1'").unwrap();
        assert_eq!(c.security, SecurityConfig::default());
    }

    #[test]
    fn bad_security_settings_name_the_key_or_variable() {
        assert_eq!(
            key_of(KafkaConfig::from_toml_str(
                "brokers = 'h:1'\nsecurity_protocol = 'tls'"
            )),
            "security_protocol"
        );
        assert_eq!(
            key_of(KafkaConfig::from_toml_str(
                "brokers = 'h:1'\nsecurity_protocol = 'sasl_ssl'\nsasl_mechanism = 'GSSAPI'"
            )),
            "sasl_mechanism"
        );
        // Consistency checks run on load: SASL without credentials, TLS files without TLS.
        assert_eq!(
            key_of(KafkaConfig::from_toml_str(
                "brokers = 'h:1'\nsecurity_protocol = 'sasl_plaintext'"
            )),
            "sasl_username"
        );
        assert_eq!(
            key_of(KafkaConfig::from_toml_str(
                "brokers = 'h:1'\nssl_ca_file = '/ca.pem'"
            )),
            "ssl_ca_file"
        );
        let bad: HashMap<&str, &str> = [
            ("WEIR_KAFKA_BROKERS", "k1:9092"),
            ("WEIR_KAFKA_SECURITY_PROTOCOL", "kerberos"),
        ]
        .into();
        let r = KafkaConfig::from_vars(|n| bad.get(n).map(|v| v.to_string()));
        assert_eq!(key_of(r), "WEIR_KAFKA_SECURITY_PROTOCOL");
    }
}
