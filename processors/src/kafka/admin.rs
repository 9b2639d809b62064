//! `KafkaAdmin`: creates topics with their configurations (rskafka's `create_topic` sends
//! none) and describes a topic's configuration, through [`AdminConnection`]s to the cluster's
//! controller and bootstrap brokers, retried through outages like every other broker call.

use super::admin_connection::{
    error_name, retriable, AdminConnection, AdminFailure, AdminSecurity,
};
use super::config::RetryConfig;
use super::error::KafkaError;
use super::retry::backoff;
use kafka_protocol::messages::create_topics_request::{CreatableTopic, CreatableTopicConfig};
use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::{
    CreateTopicsRequest, DescribeConfigsRequest, MetadataRequest, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use std::future::Future;
use std::time::Instant;
use weir_topology::TopicConfig;

/// DescribeConfigs' resource type of a topic.
const TOPIC_RESOURCE: i8 = 2;
/// `TOPIC_ALREADY_EXISTS`.
const TOPIC_ALREADY_EXISTS: i16 = 36;
/// `UNKNOWN_TOPIC_OR_PARTITION`.
const UNKNOWN_TOPIC_OR_PARTITION: i16 = 3;

/// What [`KafkaAdmin::create_topic`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Created {
    /// The topic was created with the configuration.
    New,
    /// It existed already (created by another instance, or by an attempt whose answer was lost).
    Existed,
}

/// Topic administration for one cluster.
pub(crate) struct KafkaAdmin {
    bootstrap: Vec<String>,
    how: AdminSecurity,
    retry: RetryConfig,
}

impl KafkaAdmin {
    pub fn new(bootstrap: Vec<String>, how: AdminSecurity, retry: RetryConfig) -> Self {
        Self {
            bootstrap,
            how,
            retry,
        }
    }

    /// Creates `topic` with `partitions` partitions, `replication_factor` replicas and
    /// `config`, on the controller.
    pub async fn create_topic(
        &self,
        topic: &str,
        partitions: i32,
        replication_factor: i16,
        config: &TopicConfig,
    ) -> Result<Created, KafkaError> {
        let configs: Vec<CreatableTopicConfig> = config
            .entries()
            .map(|(name, value)| {
                CreatableTopicConfig::default()
                    .with_name(StrBytes::from_string(name.to_string()))
                    .with_value(Some(StrBytes::from_string(value.to_string())))
            })
            .collect();
        let request = CreateTopicsRequest::default()
            .with_topics(vec![CreatableTopic::default()
                .with_name(TopicName(StrBytes::from_string(topic.to_string())))
                .with_num_partitions(partitions)
                .with_replication_factor(replication_factor)
                .with_configs(configs)])
            .with_timeout_ms(timeout_ms(&self.how));
        let op = format!("create topic {topic} ({config})");
        self.with_retries(&op, || async {
            let mut conn = self.controller().await?;
            let answer = conn.send(&request).await?;
            let Some(result) = answer.topics.first() else {
                return Err(AdminFailure::Fatal(format!(
                    "{}: an empty answer",
                    conn.addr()
                )));
            };
            match result.error_code {
                0 => Ok(Created::New),
                TOPIC_ALREADY_EXISTS => Ok(Created::Existed),
                code => {
                    let message = result.error_message.as_ref().map(|m| m.to_string());
                    let why = format!("{} {}", error_name(code), message.unwrap_or_default());
                    Err(match retriable(code) {
                        true => AdminFailure::Transient(why),
                        false => AdminFailure::Fatal(why),
                    })
                }
            }
        })
        .await
    }

    /// The configuration of `topic` as the cluster describes it (defaults included), or `None`
    /// when the topic does not exist.
    pub async fn describe_topic(&self, topic: &str) -> Result<Option<TopicConfig>, KafkaError> {
        let request = DescribeConfigsRequest::default().with_resources(vec![
            DescribeConfigsResource::default()
                .with_resource_type(TOPIC_RESOURCE)
                .with_resource_name(StrBytes::from_string(topic.to_string()))
                .with_configuration_keys(None),
        ]);
        let op = format!("describe the configuration of topic {topic}");
        self.with_retries(&op, || async {
            let mut conn = self.any_broker().await?;
            let answer = conn.send(&request).await?;
            let Some(result) = answer.results.first() else {
                return Err(AdminFailure::Fatal(format!(
                    "{}: an empty answer",
                    conn.addr()
                )));
            };
            match result.error_code {
                0 => Ok(Some(
                    result
                        .configs
                        .iter()
                        .filter_map(|c| Some((c.name.to_string(), c.value.as_ref()?.to_string())))
                        .collect(),
                )),
                UNKNOWN_TOPIC_OR_PARTITION => Ok(None),
                code => {
                    let message = result.error_message.as_ref().map(|m| m.to_string());
                    Err(AdminFailure::Fatal(format!(
                        "{} {}",
                        error_name(code),
                        message.unwrap_or_default()
                    )))
                }
            }
        })
        .await
    }

    /// A connection to the first bootstrap broker that answers.
    async fn any_broker(&self) -> Result<AdminConnection, AdminFailure> {
        let mut last = AdminFailure::Fatal("no bootstrap broker is configured".into());
        for addr in &self.bootstrap {
            match AdminConnection::open(addr, &self.how).await {
                Ok(conn) => return Ok(conn),
                Err(e @ AdminFailure::Fatal(_)) => return Err(e),
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    /// A connection to the controller (topics are created there); the bootstrap broker when
    /// the metadata names none (a KRaft cluster forwards the request itself).
    async fn controller(&self) -> Result<AdminConnection, AdminFailure> {
        let mut conn = self.any_broker().await?;
        let metadata = conn
            .send(&MetadataRequest::default().with_topics(Some(Vec::new())))
            .await?;
        let controller = metadata
            .brokers
            .iter()
            .find(|b| b.node_id == metadata.controller_id);
        match controller {
            Some(b) => {
                let addr = format!("{}:{}", b.host.as_str(), b.port);
                if addr == conn.addr() {
                    Ok(conn)
                } else {
                    AdminConnection::open(&addr, &self.how).await
                }
            }
            None => Ok(conn),
        }
    }

    /// Runs `call` until it succeeds, fails for good, or transient failures outlast the
    /// retry deadline.
    async fn with_retries<T, F, Fut>(&self, op: &str, mut call: F) -> Result<T, KafkaError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, AdminFailure>>,
    {
        let started = Instant::now();
        let mut attempts = 0u32;
        loop {
            attempts += 1;
            let last = match call().await {
                Ok(v) => return Ok(v),
                Err(AdminFailure::Fatal(reason)) => {
                    return Err(KafkaError::Fatal {
                        operation: op.to_string(),
                        reason,
                    })
                }
                Err(AdminFailure::Transient(why)) => why,
            };
            let elapsed = started.elapsed();
            if elapsed >= self.retry.deadline {
                return Err(KafkaError::RetriesExhausted {
                    operation: op.to_string(),
                    attempts,
                    elapsed,
                    deadline: self.retry.deadline,
                    last,
                });
            }
            tracing::debug!(operation = op, attempts, error = %last, "kafka admin: retrying");
            tokio::time::sleep(
                backoff(&self.retry, attempts - 1).min(self.retry.deadline - elapsed),
            )
            .await;
        }
    }
}

/// How long the controller may take to create a topic, in the request's own field.
fn timeout_ms(how: &AdminSecurity) -> i32 {
    i32::try_from(how.timeout.as_millis()).unwrap_or(i32::MAX)
}
