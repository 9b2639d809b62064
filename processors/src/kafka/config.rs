//! `KafkaConfig`: how to reach, read and write a Kafka cluster, and how hard to retry.

use super::error::KafkaError;
use super::security::SecurityConfig;
use std::time::Duration;

/// How long the connector keeps trying when the broker is down, restarting or moving leaders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryConfig {
    /// The first wait after a failure; each further wait doubles. Default 100 ms.
    pub initial_backoff: Duration,
    /// The longest wait between two attempts. Default 2 s.
    pub max_backoff: Duration,
    /// A call that keeps failing transiently for this long fails for good. Default 60 s.
    pub deadline: Duration,
    /// One attempt without an answer for this long counts as a transient failure (a fetch adds
    /// its own wait time). Default 30 s.
    pub request_timeout: Duration,
}

impl Default for RetryConfig {
    fn default() -> Self {
        Self {
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(2),
            deadline: Duration::from_secs(60),
            request_timeout: Duration::from_secs(30),
        }
    }
}

/// Kafka's `auto.offset.reset` (defined in `weir_topology`, shared with the in-memory broker).
pub use weir_topology::OffsetReset;

/// How the sink compresses its record batches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SinkCompression {
    /// Uncompressed.
    #[default]
    None,
    /// gzip.
    Gzip,
    /// LZ4 (frame format).
    Lz4,
    /// Snappy.
    Snappy,
    /// Zstandard.
    Zstd,
}

impl SinkCompression {
    /// Parses `none`, `gzip`, `lz4`, `snappy` or `zstd`.
    pub fn parse(s: &str) -> Result<Self, KafkaError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "none" | "" => Ok(Self::None),
            "gzip" => Ok(Self::Gzip),
            "lz4" => Ok(Self::Lz4),
            "snappy" => Ok(Self::Snappy),
            "zstd" => Ok(Self::Zstd),
            other => Err(KafkaError::config(
                "compression",
                format!("unknown codec `{other}` (none, gzip, lz4, snappy, zstd)"),
            )),
        }
    }
}

/// Parses an offset reset: `earliest`, `latest` or `none`.
pub(crate) fn parse_offset_reset(s: &str) -> Result<OffsetReset, KafkaError> {
    s.parse()
        .map_err(|e: String| KafkaError::config("offset_reset", e))
}

/// How to reach, read and write a Kafka cluster.
#[derive(Debug, Clone)]
pub struct KafkaConfig {
    /// Bootstrap brokers, `host:port`.
    pub brokers: Vec<String>,
    /// The client id sent to the brokers.
    pub client_id: String,
    /// Most bytes fetched per request and partition.
    pub fetch_max_bytes: i32,
    /// Largest response accepted from a broker. Some brokers (noida-db 0.2.3) ignore a fetch's
    /// byte limit and answer with everything after the offset: raise this to read a long
    /// backlog from them. Default 100 MiB.
    pub max_response_bytes: usize,
    /// Replication factor of topics weir creates.
    pub replication_factor: i16,
    /// Most bytes per produce request (brokers refuse batches above their message size limit).
    /// A partition's queued records are sent as soon as they reach this size.
    pub produce_max_bytes: usize,
    /// How long a sink's first queued record for a partition waits for more before the batch
    /// is sent (Kafka's `linger.ms`). Default 5 ms. A commit sends at once, whatever the linger.
    pub linger: Duration,
    /// Most bytes of sink records queued and not yet acknowledged, over all partitions (Kafka's
    /// `buffer.memory`): a sink that gets ahead waits for the broker. Default 32 MiB.
    pub send_buffer_bytes: usize,
    /// How produced batches are compressed.
    pub compression: SinkCompression,
    /// Kafka's `auto.offset.reset`: where a source starts when the application has no
    /// committed position (unless the source says otherwise, see `Source::start_from`), and
    /// where a reader goes when its position is out of range. Default earliest.
    pub offset_reset: OffsetReset,
    /// Backoff and deadline for transient failures.
    pub retry: RetryConfig,
    /// TLS and SASL (default: plaintext, no authentication).
    pub security: SecurityConfig,
}

impl KafkaConfig {
    /// Settings for the cluster at `brokers` (comma-separated `host:port` list).
    pub fn new(brokers: &str) -> Self {
        Self {
            brokers: split_brokers(brokers),
            client_id: "weir".into(),
            fetch_max_bytes: 4 << 20,
            max_response_bytes: 100 << 20,
            replication_factor: 1,
            produce_max_bytes: 512 * 1024,
            linger: Duration::from_millis(5),
            send_buffer_bytes: 32 << 20,
            compression: SinkCompression::None,
            offset_reset: OffsetReset::Earliest,
            retry: RetryConfig::default(),
            security: SecurityConfig::default(),
        }
    }

    /// Sets the sink's compression codec.
    pub fn compression(mut self, c: SinkCompression) -> Self {
        self.compression = c;
        self
    }

    /// Sets the retry policy.
    pub fn retry(mut self, r: RetryConfig) -> Self {
        self.retry = r;
        self
    }

    /// Sets Kafka's `auto.offset.reset` (see [`KafkaConfig::offset_reset`]).
    pub fn offset_reset(mut self, o: OffsetReset) -> Self {
        self.offset_reset = o;
        self
    }

    /// Sets TLS and SASL (see [`SecurityConfig`]).
    pub fn security(mut self, s: SecurityConfig) -> Self {
        self.security = s;
        self
    }

    /// Sets the sink linger (see [`KafkaConfig::linger`]).
    pub fn linger(mut self, d: Duration) -> Self {
        self.linger = d;
        self
    }

    /// Checks the settings.
    pub fn validate(&self) -> Result<(), KafkaError> {
        if self.brokers.is_empty() {
            return Err(KafkaError::config("brokers", "no bootstrap broker given"));
        }
        if let Some(b) = self.brokers.iter().find(|b| !looks_like_host_port(b)) {
            return Err(KafkaError::config(
                "brokers",
                format!("`{b}` is not host:port"),
            ));
        }
        if self.client_id.is_empty() {
            return Err(KafkaError::config("client_id", "must not be empty"));
        }
        if self.fetch_max_bytes < 1024 {
            return Err(KafkaError::config(
                "fetch_max_bytes",
                "must be at least 1024",
            ));
        }
        if self.max_response_bytes < 1 << 20 {
            return Err(KafkaError::config(
                "max_response_bytes",
                "must be at least 1 MiB",
            ));
        }
        if self.produce_max_bytes < 1024 {
            return Err(KafkaError::config(
                "produce_max_bytes",
                "must be at least 1024",
            ));
        }
        if self.send_buffer_bytes < self.produce_max_bytes {
            return Err(KafkaError::config(
                "send_buffer_bytes",
                "must be at least produce_max_bytes",
            ));
        }
        if self.replication_factor < 1 {
            return Err(KafkaError::config(
                "replication_factor",
                "must be at least 1",
            ));
        }
        let r = &self.retry;
        if r.initial_backoff.is_zero() || r.max_backoff < r.initial_backoff {
            return Err(KafkaError::config(
                "retry",
                "need 0 < initial_backoff <= max_backoff",
            ));
        }
        if r.request_timeout.is_zero() {
            return Err(KafkaError::config("request_timeout", "must be positive"));
        }
        self.security.validate()
    }
}

pub(crate) fn split_brokers(brokers: &str) -> Vec<String> {
    brokers
        .split(',')
        .map(|b| b.trim().to_string())
        .filter(|b| !b.is_empty())
        .collect()
}

fn looks_like_host_port(b: &str) -> bool {
    match b.rsplit_once(':') {
        Some((host, port)) => !host.is_empty() && port.parse::<u16>().is_ok(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_brokers_are_split() {
        let c = KafkaConfig::new(" a:9092, b:9093 ,");
        assert_eq!(c.brokers, vec!["a:9092", "b:9093"]);
        assert!(c.validate().is_ok());
        assert_eq!(c.compression, SinkCompression::None);
        assert_eq!(c.offset_reset, OffsetReset::Earliest);
    }

    #[test]
    fn bad_settings_are_named() {
        let key = |c: &KafkaConfig| match c.validate() {
            Err(KafkaError::Config { key, .. }) => key,
            other => format!("{other:?}"),
        };
        assert_eq!(key(&KafkaConfig::new("")), "brokers");
        assert_eq!(key(&KafkaConfig::new("localhost")), "brokers");
        assert_eq!(key(&KafkaConfig::new("h:99999")), "brokers");
        let mut c = KafkaConfig::new("h:1");
        c.fetch_max_bytes = 10;
        assert_eq!(key(&c), "fetch_max_bytes");
        let mut c = KafkaConfig::new("h:1");
        c.retry.max_backoff = Duration::from_millis(1);
        assert_eq!(key(&c), "retry");
    }

    #[test]
    fn codecs_and_resets_parse() {
        assert_eq!(
            SinkCompression::parse("ZSTD").ok(),
            Some(SinkCompression::Zstd)
        );
        assert_eq!(
            SinkCompression::parse("lz4").ok(),
            Some(SinkCompression::Lz4)
        );
        assert!(SinkCompression::parse("brotli").is_err());
        assert_eq!(parse_offset_reset("latest").ok(), Some(OffsetReset::Latest));
        assert!(parse_offset_reset("middle").is_err());
    }
}
