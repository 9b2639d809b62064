//! Resolves a topology's sources and sinks against a broker: partition counts, connectors,
//! internal topics. Shared by the application and the test driver.

use super::config::StreamsConfig;
use super::copartition;
use super::error_handler::ErrorHandler;
use super::topic_setup::ensure_topic;
use crate::error::{Result, TopologyError};
use crate::graph::{Endpoint, NodeRole, SubTopology, Topology};
use crate::runtime::io::broker::{Broker, SinkConnector, SourceConnector, TopicSink, TopicSource};
use crate::runtime::io::pattern::{PatternSubscription, TopicPattern};
use crate::runtime::io::router::TopicRouter;
use crate::runtime::io::topic_config::TopicConfig;
use crate::runtime::task::{Patterns, Sinks, Sources};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

pub(crate) struct SubPlan {
    pub partitions: u32,
    pub sources: Sources,
    /// The source nodes that subscribe by pattern.
    pub patterns: Patterns,
    pub sinks: Sinks,
    /// Internal topics this sub-topology writes (closed when all its tasks finish).
    pub internal_outputs: Vec<String>,
}

pub(crate) struct Plan {
    pub subs: Vec<SubPlan>,
    pub dead_letter: Option<Arc<dyn SinkConnector>>,
}

impl Plan {
    /// The sub-topologies in an order where each comes after those writing the internal
    /// topics it reads (a table declared before the stream that joins it puts the join's
    /// sub-topology first in `describe()` order, before the one writing its repartition
    /// topic); the rest keep their order. `Streams::run` collects the sub-topologies' results
    /// in this order (all run at once), so an upstream failure is the one reported.
    pub fn writers_first(&self, topology: &Topology) -> Vec<usize> {
        let reads = |i: usize| -> Vec<&str> {
            topology.subtopologies[i]
                .nodes
                .iter()
                .filter_map(|&n| match &topology.nodes[n].role {
                    NodeRole::Source {
                        endpoint: Endpoint::Topic(t),
                        internal: true,
                        ..
                    } => Some(t.as_str()),
                    _ => None,
                })
                .collect()
        };
        let mut order: Vec<usize> = Vec::with_capacity(self.subs.len());
        while order.len() < self.subs.len() {
            let ready = (0..self.subs.len())
                .filter(|i| !order.contains(i))
                .find(|&i| {
                    reads(i).iter().all(|t| {
                        (0..self.subs.len())
                            .filter(|w| *w != i && !order.contains(w))
                            .all(|w| !self.subs[w].internal_outputs.iter().any(|o| o == t))
                    })
                });
            // A cycle (a foreign-key join's topics) keeps the remaining order.
            let next = ready.or_else(|| (0..self.subs.len()).find(|i| !order.contains(i)));
            match next {
                Some(i) => order.push(i),
                None => break,
            }
        }
        order
    }
}

/// Resolves every source and sink of `topology` against `broker`, creating internal topics
/// (with the partition count of the sub-topology writing them) and the dead-letter topic.
pub(crate) async fn plan(
    topology: &Topology,
    broker: &Arc<dyn Broker>,
    config: &StreamsConfig,
) -> Result<Plan> {
    let error_handler = &config.error_handler;
    let purge_every = config.repartition_purge_interval;
    // Partition counts of the internal topics, known once the sub-topology writing them is planned.
    let mut internal_counts: HashMap<String, u32> = HashMap::new();
    // Repartition topics feeding a join take the partition count of the join's other inputs.
    let join_counts = copartition::repartition_counts(topology, broker).await?;
    let mut subs = Vec::new();
    for sub in &topology.subtopologies {
        let known = |t: &str| internal_counts.get(t).or(join_counts.get(t)).copied();
        let (sources, patterns, partitions) =
            plan_sources(topology, sub, broker, known, purge_every).await?;
        let (sinks, internal) = plan_sinks(topology, sub, broker, partitions, &join_counts).await?;
        internal_counts.extend(internal.iter().cloned());
        subs.push(SubPlan {
            partitions,
            sources,
            patterns,
            sinks,
            internal_outputs: internal.into_iter().map(|(topic, _)| topic).collect(),
        });
    }
    copartition::check(topology, broker, &internal_counts).await?;
    let dead_letter: Option<Arc<dyn SinkConnector>> = match error_handler {
        ErrorHandler::DeadLetter(topic) => {
            // Dead letters keep their records' timestamps, which may be years old in a replay:
            // a time-based retention would delete them as they arrive. A topic the user made
            // keeps its settings.
            if broker.partitions(topic).await?.is_none() {
                broker
                    .ensure_topic_with(topic, 1, &TopicConfig::kept_forever())
                    .await?;
            }
            Some(Arc::new(TopicSink::new(broker.clone(), topic.clone())))
        }
        _ => None,
    };
    Ok(Plan { subs, dead_letter })
}

/// The source connectors and pattern subscriptions of `sub` and its task count (the most
/// partitions of any input); `internal_count` gives the partition count of an internal topic
/// when it is already known.
async fn plan_sources(
    topology: &Topology,
    sub: &SubTopology,
    broker: &Arc<dyn Broker>,
    internal_count: impl Fn(&str) -> Option<u32>,
    purge_every: Option<Duration>,
) -> Result<(Sources, Patterns, u32)> {
    let mut partitions = 0u32;
    let mut sources: Sources = HashMap::new();
    let mut patterns: Patterns = HashMap::new();
    for &g in &sub.nodes {
        let node = &topology.nodes[g];
        let NodeRole::Source {
            endpoint,
            internal,
            global,
            ..
        } = &node.role
        else {
            continue;
        };
        let (conn, count): (Arc<dyn SourceConnector>, u32) = match endpoint {
            Endpoint::Topic(t) if *internal => {
                let n = internal_count(t).unwrap_or(1);
                ensure_topic(&**broker, t, n, &TopicConfig::internal(), "internal").await?;
                let source = TopicSource::internal(broker.clone(), t.clone(), purge_every);
                (Arc::new(source), n)
            }
            Endpoint::Topic(t) => {
                let count = broker.partitions(t).await?.ok_or_else(|| {
                    TopologyError::connector(
                        t,
                        format!("source topic `{t}` does not exist on {}", broker.name()),
                    )
                })?;
                (Arc::new(TopicSource::new(broker.clone(), t.clone())), count)
            }
            Endpoint::Connector(c) => (c.clone(), c.partitions().await?),
            Endpoint::PerRecord => {
                return Err(TopologyError::config(
                    &node.name,
                    "a source reads named topics or a pattern, not topics chosen per record",
                ))
            }
            Endpoint::Pattern(p) => {
                let subscription = PatternSubscription {
                    pattern: TopicPattern::new(p)?,
                    broker: broker.clone(),
                };
                let matching = subscription.matching().await?;
                let most = matching.iter().map(|(_, n)| *n).max().unwrap_or(1);
                partitions = partitions.max(most);
                patterns.insert(g, Arc::new(subscription));
                continue;
            }
        };
        // A global table's topic is read whole by every task: it does not set the task count.
        if !*global {
            partitions = partitions.max(count);
        }
        sources.insert(g, conn);
    }
    Ok((sources, patterns, partitions.max(1)))
}

/// The sink connectors of `sub` with their partition counts (a missing topic is created with
/// the sub-topology's `partitions`, a repartition topic feeding a join with its count in
/// `join_counts`), and the internal topics it writes with theirs.
async fn plan_sinks(
    topology: &Topology,
    sub: &SubTopology,
    broker: &Arc<dyn Broker>,
    partitions: u32,
    join_counts: &HashMap<String, u32>,
) -> Result<(Sinks, Vec<(String, u32)>)> {
    let mut sinks: Sinks = HashMap::new();
    let mut internal_outputs = Vec::new();
    for &g in &sub.nodes {
        let node = &topology.nodes[g];
        let NodeRole::Sink {
            endpoint,
            internal,
            config,
            ..
        } = &node.role
        else {
            continue;
        };
        let resolved: (Arc<dyn SinkConnector>, u32) = match endpoint {
            Endpoint::Topic(t) => {
                let (wanted, role) = match internal {
                    true => (TopicConfig::internal(), "internal"),
                    false => (config.clone(), "sink"),
                };
                let count = match broker.partitions(t).await? {
                    Some(n) => n,
                    None => join_counts.get(t).copied().unwrap_or(partitions),
                };
                ensure_topic(&**broker, t, count, &wanted, role).await?;
                if *internal {
                    internal_outputs.push((t.clone(), count));
                }
                (Arc::new(TopicSink::new(broker.clone(), t.clone())), count)
            }
            Endpoint::Connector(c) => (c.clone(), c.partitions().await?.max(1)),
            Endpoint::Pattern(p) => {
                return Err(TopologyError::config(
                    &node.name,
                    format!("a sink writes to a topic, not to a pattern (`{p}`)"),
                ))
            }
            // Missing topics are created with the sub-topology's partition count.
            Endpoint::PerRecord => (
                Arc::new(TopicRouter::new(broker.clone(), partitions, config.clone())),
                partitions,
            ),
        };
        sinks.insert(g, resolved);
    }
    Ok((sinks, internal_outputs))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::prelude::*;
    use crate::runtime::io::memory::MemoryBroker;
    use crate::runtime::io::topic_config::RETENTION_MS;

    fn topology() -> Topology {
        let builder = TopologyBuilder::new();
        builder
            .stream(Source::topic("in", StringSerde, StringSerde))
            .to(Sink::topic("out", StringSerde, StringSerde));
        builder.build().unwrap()
    }

    #[tokio::test]
    async fn creates_a_missing_dead_letter_topic_that_keeps_its_records() {
        let memory = MemoryBroker::new(1);
        memory.create_topic("in", 1);
        let broker: Arc<dyn Broker> = Arc::new(memory.clone());
        let config =
            StreamsConfig::new("plan").error_handler(ErrorHandler::DeadLetter("dead".into()));
        let plan = plan(&topology(), &broker, &config).await.unwrap();
        assert!(plan.dead_letter.is_some());
        let created = memory.topic_config_of("dead").unwrap();
        assert_eq!(created.get(RETENTION_MS), Some("-1"));
    }

    #[tokio::test]
    async fn leaves_an_existing_dead_letter_topic_as_it_is() {
        let memory = MemoryBroker::new(1);
        memory.create_topic("in", 1);
        memory.create_topic("dead", 3);
        let broker: Arc<dyn Broker> = Arc::new(memory.clone());
        let config =
            StreamsConfig::new("plan").error_handler(ErrorHandler::DeadLetter("dead".into()));
        plan(&topology(), &broker, &config).await.unwrap();
        let kept = memory.topic_config_of("dead").unwrap_or_default();
        assert_eq!(kept.get(RETENTION_MS), None);
        assert_eq!(broker.partitions("dead").await.unwrap(), Some(3));
    }
}
