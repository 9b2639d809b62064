//! Resolves a topology's sources and sinks against a broker: partition counts, connectors,
//! internal topics. Shared by the application and the test driver.

use super::error_handler::ErrorHandler;
use crate::error::{Result, TopologyError};
use crate::graph::{Endpoint, NodeRole, Topology};
use crate::runtime::io::broker::{Broker, SinkConnector, SourceConnector, TopicSink, TopicSource};
use crate::runtime::task::{Sinks, Sources};
use std::collections::HashMap;
use std::sync::Arc;

pub(crate) struct SubPlan {
    pub partitions: u32,
    pub sources: Sources,
    pub sinks: Sinks,
    /// Internal topics this sub-topology writes (closed when all its tasks finish).
    pub internal_outputs: Vec<String>,
}

pub(crate) struct Plan {
    pub subs: Vec<SubPlan>,
    pub dead_letter: Option<Arc<dyn SinkConnector>>,
}

pub(crate) async fn plan(
    topology: &Topology,
    broker: &Arc<dyn Broker>,
    error_handler: &ErrorHandler,
) -> Result<Plan> {
    let mut internal_counts: HashMap<String, u32> = HashMap::new();
    let mut subs = Vec::new();
    for sub in &topology.subtopologies {
        let mut partitions = 0u32;
        let mut sources: Sources = HashMap::new();
        for &g in &sub.nodes {
            let node = &topology.nodes[g];
            let NodeRole::Source {
                endpoint, internal, ..
            } = &node.role
            else {
                continue;
            };
            let (conn, count): (Arc<dyn SourceConnector>, u32) = match endpoint {
                Endpoint::Topic(t) => {
                    let count = if *internal {
                        let n = internal_counts.get(t).copied().unwrap_or(1);
                        broker.ensure_topic(t, n).await?;
                        n
                    } else {
                        broker.partitions(t).await?.ok_or_else(|| {
                            TopologyError::connector(
                                t,
                                format!("source topic `{t}` does not exist on {}", broker.name()),
                            )
                        })?
                    };
                    (Arc::new(TopicSource::new(broker.clone(), t.clone())), count)
                }
                Endpoint::Connector(c) => (c.clone(), c.partitions().await?),
            };
            partitions = partitions.max(count);
            sources.insert(g, conn);
        }
        let partitions = partitions.max(1);
        let mut sinks: Sinks = HashMap::new();
        let mut internal_outputs = Vec::new();
        for &g in &sub.nodes {
            let node = &topology.nodes[g];
            let NodeRole::Sink {
                endpoint, internal, ..
            } = &node.role
            else {
                continue;
            };
            let resolved: (Arc<dyn SinkConnector>, u32) = match endpoint {
                Endpoint::Topic(t) => {
                    let count = match broker.partitions(t).await? {
                        Some(n) => n,
                        None => {
                            broker.ensure_topic(t, partitions).await?;
                            partitions
                        }
                    };
                    if *internal {
                        internal_counts.insert(t.clone(), count);
                        internal_outputs.push(t.clone());
                    }
                    (Arc::new(TopicSink::new(broker.clone(), t.clone())), count)
                }
                Endpoint::Connector(c) => (c.clone(), c.partitions().await?.max(1)),
            };
            sinks.insert(g, resolved);
        }
        subs.push(SubPlan {
            partitions,
            sources,
            sinks,
            internal_outputs,
        });
    }
    let dead_letter: Option<Arc<dyn SinkConnector>> = match error_handler {
        ErrorHandler::DeadLetter(topic) => {
            if broker.partitions(topic).await?.is_none() {
                broker.ensure_topic(topic, 1).await?;
            }
            Some(Arc::new(TopicSink::new(broker.clone(), topic.clone())))
        }
        _ => None,
    };
    Ok(Plan { subs, dead_letter })
}
