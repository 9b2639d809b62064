//! [`HttpSource`]: the REST proxy's produce API as a source of a topology. Each request's
//! records join their topic's in-memory log ([`super::log`]), a task reads them through the
//! topic's connector ([`HttpSource::topic`]), and the request is answered, with the offsets,
//! once the task committed past all of them (the reader's `committed` hook,
//! [`super::connector`]).

use super::config::HttpSourceConfig;
use super::connector::HttpTopicSource;
use super::ingest::Ingest;
use super::log::{RoutedRecord, TopicLog};
use super::response::{PartitionOffset, RestError};
use super::server::Server;
use super::stats::{IngestCounts, IngestStats};
use async_trait::async_trait;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use weir_topology::connect::SourceConnector;
use weir_topology::{Result, TopologyError};

/// What the server and the connectors of one source share.
pub(crate) struct SourceShared {
    topics: BTreeMap<String, Arc<TopicLog>>,
    ack_timeout: Duration,
    max_held_records: usize,
}

impl SourceShared {
    fn held(&self) -> usize {
        self.topics.values().map(|t| t.held()).sum()
    }
}

#[async_trait]
impl Ingest for SourceShared {
    async fn partitions(&self, topic: &str) -> std::result::Result<Option<u32>, RestError> {
        Ok(self.topics.get(topic).map(|t| t.partition_count()))
    }

    async fn ingest(
        &self,
        topic: &str,
        records: Vec<RoutedRecord>,
    ) -> std::result::Result<Vec<PartitionOffset>, RestError> {
        let log = self
            .topics
            .get(topic)
            .ok_or_else(RestError::topic_not_found)?;
        let held = self.held();
        if held + records.len() > self.max_held_records {
            return Err(RestError::new(
                axum::http::StatusCode::TOO_MANY_REQUESTS,
                429,
                format!(
                    "Too many requests: {held} records wait for the application to commit them \
                     (limit {}); retry later",
                    self.max_held_records
                ),
            ));
        }
        let answer = log.append(records);
        match tokio::time::timeout(self.ack_timeout, answer).await {
            Ok(Ok(offsets)) => Ok(offsets),
            Ok(Err(_)) => Err(RestError::retriable(
                "the source was dropped before the commit",
            )),
            Err(_) if !log.is_read() => Err(RestError::retriable(format!(
                "records not committed within {:?}: no task reads topic {topic:?} now (no \
                 application runs with Source::connector(http.topic({topic:?})), or its task \
                 failed); retrying may store them twice",
                self.ack_timeout
            ))),
            Err(_) => Err(RestError::retriable(format!(
                "records not committed within {:?}; they may still be, so retrying may store \
                 them twice",
                self.ack_timeout
            ))),
        }
    }
}

/// An HTTP server speaking the Confluent REST Proxy v2 produce API (`POST /topics/{topic}`,
/// JSON or Avro records) whose topics are sources of a topology. A request is answered only
/// once its records are durable: the task that read them committed past them (with its state
/// and outputs). Nothing else is needed in the topology or the `StreamsConfig`: the source's
/// readers learn of each commit. See the [module docs](super) for an example.
pub struct HttpSource {
    shared: Arc<SourceShared>,
    stats: Arc<IngestStats>,
    server: Server,
}

impl HttpSource {
    /// Starts the server on `config.addr` (its own thread), serving `config.topics`.
    pub fn start(config: HttpSourceConfig) -> Result<Self> {
        if config.topics.is_empty() {
            return Err(TopologyError::config(
                "http.topics",
                "an HTTP source needs at least one topic (HttpSourceConfig::topic)",
            ));
        }
        let topics = config
            .topics
            .iter()
            .map(|(name, partitions)| (name.clone(), Arc::new(TopicLog::new(name, *partitions))))
            .collect();
        let shared = Arc::new(SourceShared {
            topics,
            ack_timeout: config.ack_timeout,
            max_held_records: config.max_held_records.max(1),
        });
        let stats = Arc::new(IngestStats::default());
        let server = Server::start(&config, shared.clone(), stats.clone(), "http-source")?;
        Ok(Self {
            shared,
            stats,
            server,
        })
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.server.local_addr()
    }

    /// The server's base URL, e.g. `http://127.0.0.1:8082`.
    pub fn url(&self) -> String {
        format!("http://{}", self.local_addr())
    }

    /// The connector of `topic`, for `Source::connector`.
    pub fn topic(&self, topic: &str) -> Result<Arc<dyn SourceConnector>> {
        let log = self.shared.topics.get(topic).ok_or_else(|| {
            TopologyError::config(
                "http.topics",
                format!("the HTTP source does not serve topic {topic:?}"),
            )
        })?;
        Ok(Arc::new(HttpTopicSource::new(log.clone())))
    }

    /// The server's counters.
    pub fn counts(&self) -> IngestCounts {
        self.stats.snapshot()
    }

    /// Records received and not yet committed.
    pub fn held_records(&self) -> usize {
        self.shared.held()
    }

    /// Stops the server: open requests get a short grace to be answered, then their
    /// connections close (their clients see no answer and retry).
    pub async fn stop(mut self) {
        self.server.stop().await;
    }
}
