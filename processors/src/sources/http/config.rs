//! [`HttpSourceConfig`]: where the HTTP ingest server listens, which topics it serves and its
//! limits (body size, requests in flight, how long a request waits for its acknowledgement),
//! with an optional bearer token and, for Avro bodies, a schema registry.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;
use weir_topology::{Result, TopologyError};

/// The port the server listens on when none is given (the REST proxy's).
pub const DEFAULT_PORT: u16 = 8082;
/// The largest request body accepted by default, bytes.
pub const DEFAULT_MAX_BODY_BYTES: usize = 8 * 1024 * 1024;
/// Produce requests handled at once by default; more are answered 429.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 256;
/// Records an [`super::HttpSource`] holds uncommitted by default; requests beyond are 429.
pub const DEFAULT_MAX_HELD_RECORDS: usize = 1_000_000;

/// Where an HTTP ingest server ([`super::HttpSource`] or [`super::HttpForwarder`]) listens
/// and how it protects itself.
#[derive(Clone)]
pub struct HttpSourceConfig {
    /// The socket address; `127.0.0.1:8082` by default (loopback only).
    pub addr: SocketAddr,
    /// The topics a [`super::HttpSource`] serves, with their partition counts. (A
    /// [`super::HttpForwarder`] serves the broker's topics and ignores this.)
    pub topics: BTreeMap<String, u32>,
    /// Bodies larger than this are refused with 413; [`DEFAULT_MAX_BODY_BYTES`].
    pub max_body_bytes: usize,
    /// Produce requests handled at once (received and not yet answered); a request beyond
    /// them is answered 429 at once. [`DEFAULT_MAX_IN_FLIGHT`].
    pub max_in_flight: usize,
    /// Records an [`super::HttpSource`] holds (received, not yet committed by the task) over
    /// all its topics; a request that would go beyond is answered 429.
    /// [`DEFAULT_MAX_HELD_RECORDS`].
    pub max_held_records: usize,
    /// How long a request waits for its records to be durable before it is answered 500
    /// (error code 50003: the records may still be committed later); 30 s by default.
    pub ack_timeout: Duration,
    /// How long a client may take to send a request's headers (also closes idle keep-alive
    /// connections), and then its body (408 after that); 30 s by default.
    pub header_read_timeout: Duration,
    /// When set, every request must carry `Authorization: Bearer TOKEN` (else 401).
    pub token: Option<String>,
    /// The schema registry Avro bodies' schemas are registered in and looked up from.
    #[cfg(feature = "avro")]
    pub schema_registry: Option<crate::avro::SchemaRegistry>,
}

impl std::fmt::Debug for HttpSourceConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpSourceConfig")
            .field("addr", &self.addr)
            .field("topics", &self.topics)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("max_in_flight", &self.max_in_flight)
            .field("max_held_records", &self.max_held_records)
            .field("ack_timeout", &self.ack_timeout)
            .field("token", &self.token.as_ref().map(|_| "<set>"))
            .finish_non_exhaustive()
    }
}

impl Default for HttpSourceConfig {
    fn default() -> Self {
        Self {
            addr: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), DEFAULT_PORT),
            topics: BTreeMap::new(),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
            max_held_records: DEFAULT_MAX_HELD_RECORDS,
            ack_timeout: Duration::from_secs(30),
            header_read_timeout: Duration::from_secs(30),
            token: None,
            #[cfg(feature = "avro")]
            schema_registry: None,
        }
    }
}

impl HttpSourceConfig {
    /// `127.0.0.1:8082`, no topics, the default limits.
    pub fn new() -> Self {
        Self::default()
    }

    /// Listens on `port` (0: any free port) of the same host.
    pub fn port(mut self, port: u16) -> Self {
        self.addr.set_port(port);
        self
    }

    /// Listens on `addr`.
    pub fn addr(mut self, addr: SocketAddr) -> Self {
        self.addr = addr;
        self
    }

    /// Serves `POST /topics/{name}` with `partitions` partitions (at least 1).
    pub fn topic(mut self, name: impl Into<String>, partitions: u32) -> Self {
        self.topics.insert(name.into(), partitions.max(1));
        self
    }

    /// Sets [`HttpSourceConfig::max_body_bytes`].
    pub fn max_body_bytes(mut self, bytes: usize) -> Self {
        self.max_body_bytes = bytes;
        self
    }

    /// Sets [`HttpSourceConfig::max_in_flight`] (at least 1).
    pub fn max_in_flight(mut self, requests: usize) -> Self {
        self.max_in_flight = requests.max(1);
        self
    }

    /// Sets [`HttpSourceConfig::max_held_records`] (at least 1).
    pub fn max_held_records(mut self, records: usize) -> Self {
        self.max_held_records = records.max(1);
        self
    }

    /// Sets [`HttpSourceConfig::ack_timeout`].
    pub fn ack_timeout(mut self, timeout: Duration) -> Self {
        self.ack_timeout = timeout;
        self
    }

    /// Sets [`HttpSourceConfig::header_read_timeout`].
    pub fn header_read_timeout(mut self, timeout: Duration) -> Self {
        self.header_read_timeout = timeout;
        self
    }

    /// Requires `Authorization: Bearer TOKEN` on every request.
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// Accepts `application/vnd.kafka.avro.v2+json` bodies, with their schemas registered in
    /// (or looked up from) `registry`.
    #[cfg(feature = "avro")]
    pub fn schema_registry(mut self, registry: crate::avro::SchemaRegistry) -> Self {
        self.schema_registry = Some(registry);
        self
    }

    /// Checks the settings: a topic name the REST proxy would accept, a usable token and
    /// non-zero limits.
    pub fn validate(&self) -> Result<()> {
        for name in self.topics.keys() {
            if !valid_topic_name(name) {
                return Err(TopologyError::config(
                    "http.topics",
                    format!("{name:?} is not a valid topic name (1-249 of [a-zA-Z0-9._-])"),
                ));
            }
        }
        if let Some(token) = &self.token {
            if token.is_empty() || token.chars().any(|c| c.is_whitespace() || c.is_control()) {
                return Err(TopologyError::config(
                    "http.token",
                    "the token must be non-empty, without spaces or control characters",
                ));
            }
        }
        if self.max_body_bytes == 0 {
            return Err(TopologyError::config(
                "http.max_body_bytes",
                "must be above 0",
            ));
        }
        Ok(())
    }
}

/// Kafka's rule for topic names: 1 to 249 characters of ASCII letters, digits, `.`, `_`, `-`.
pub(crate) fn valid_topic_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 249
        && name != "."
        && name != ".."
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn defaults_listen_on_loopback_with_the_rest_proxy_port() {
        let c = HttpSourceConfig::new();
        assert!(c.addr.ip().is_loopback());
        assert_eq!(c.addr.port(), DEFAULT_PORT);
        assert_eq!(c.max_body_bytes, DEFAULT_MAX_BODY_BYTES);
        assert!(c.validate().is_ok());
    }

    #[test]
    fn topics_get_at_least_one_partition_and_valid_names() {
        let c = HttpSourceConfig::new()
            .topic("orders", 0)
            .topic("a.b-c_d", 3);
        assert_eq!(c.topics["orders"], 1);
        assert_eq!(c.topics["a.b-c_d"], 3);
        assert!(c.validate().is_ok());
        let bad = HttpSourceConfig::new().topic("no/slash", 1);
        assert!(bad.validate().unwrap_err().to_string().contains("no/slash"));
        assert!(!valid_topic_name(""));
        assert!(!valid_topic_name(".."));
        assert!(!valid_topic_name(&"x".repeat(250)));
    }

    #[test]
    fn a_token_with_spaces_or_a_zero_body_limit_is_refused() {
        assert!(HttpSourceConfig::new().token("a b").validate().is_err());
        assert!(HttpSourceConfig::new().token("").validate().is_err());
        assert!(HttpSourceConfig::new().token("s3cret").validate().is_ok());
        assert!(HttpSourceConfig::new()
            .max_body_bytes(0)
            .validate()
            .is_err());
        let debug = format!("{:?}", HttpSourceConfig::new().token("s3cret"));
        assert!(
            !debug.contains("s3cret"),
            "the token stays out of logs: {debug}"
        );
    }
}
