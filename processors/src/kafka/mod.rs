//! Kafka through the pure-Rust client rskafka: a [`weir_topology::Broker`] over a real cluster.
//!
//! rskafka has no consumer groups: weir assigns partitions statically and keeps its own
//! committed offsets, so a reader is simply a partition client and a position. Every broker call
//! is retried with capped exponential backoff while the broker is down or restarting, up to a
//! deadline ([`RetryConfig`]); then it fails with [`KafkaError::RetriesExhausted`].
//!
//! # TLS and SASL
//!
//! [`SecurityConfig`] (the `security` field of [`KafkaConfig`]) takes Kafka's names. In a TOML
//! file (top level or under `[kafka]`), or as `WEIR_KAFKA_<KEY>` environment variables:
//!
//! ```toml
//! [kafka]
//! brokers = ["kafka-1.example.com:9093", "kafka-2.example.com:9093"]
//! security_protocol = "sasl_ssl"        # plaintext (default) | ssl | sasl_plaintext | sasl_ssl
//! ssl_ca_file = "/etc/weir/kafka-ca.pem" # PEM CA bundle; unset: the system's trust store
//! # ssl_certificate_file = "/etc/weir/client.pem"  # mutual TLS: PEM chain, leaf first
//! # ssl_key_file = "/etc/weir/client.key"          # and its unencrypted PEM key
//! sasl_mechanism = "SCRAM-SHA-512"      # PLAIN (default) | SCRAM-SHA-256 | SCRAM-SHA-512
//! sasl_username = "weir"
//! sasl_password = "..."                 # better from WEIR_KAFKA_SASL_PASSWORD
//! ```
//!
//! i.e. `WEIR_KAFKA_SECURITY_PROTOCOL=sasl_ssl`, `WEIR_KAFKA_SSL_CA_FILE=...`,
//! `WEIR_KAFKA_SASL_MECHANISM=...`, `WEIR_KAFKA_SASL_USERNAME=...`,
//! `WEIR_KAFKA_SASL_PASSWORD=...`; an empty variable counts as not set. TLS is rustls with the
//! *ring* provider; the brokers' certificates must name the host as written in `brokers` and as
//! the brokers advertise it (DNS name or IP address). Settings that do not fit together (SASL
//! without credentials, `ssl_*` files with a non-TLS protocol...) and unreadable PEM files fail
//! [`KafkaBroker::connect`] before any connection, naming the key and the file. A refused SASL
//! login or an untrusted broker certificate fails it at once (no retry), as
//! [`KafkaError::Fatal`]. `Debug` output never shows the password.

mod admin;
mod admin_connection;
mod broker;
mod config;
mod error;
mod producer;
mod reader;
mod request;
mod retry;
mod security;
mod settings;

pub use broker::KafkaBroker;
pub use config::{KafkaConfig, OffsetReset, RetryConfig, SinkCompression};
pub use error::KafkaError;
pub use security::{ClientSecurity, SaslMechanism, SecurityConfig, SecurityProtocol};
pub use settings::KEYS as KAFKA_CONFIG_KEYS;
