//! Co-partitioning of join inputs, as Kafka Streams checks it: the topics read upstream of the
//! inputs of one join must have the same partition count, so that records with equal keys land
//! in the same task. Repartition topics in such a group are created with the count of the
//! group's other topics, so a repartitioned stream always matches the table or stream it joins.

use crate::error::{Result, TopologyError};
use crate::graph::{Endpoint, NodeRole, Topology};
use crate::runtime::io::broker::Broker;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

/// The topics read upstream of `node` (through its parents), each with whether it is internal.
fn upstream_topics(topology: &Topology, node: usize) -> BTreeMap<String, bool> {
    let mut topics = BTreeMap::new();
    let mut seen = BTreeSet::new();
    let mut todo = vec![node];
    while let Some(n) = todo.pop() {
        if !seen.insert(n) {
            continue;
        }
        let Some(spec) = topology.nodes.get(n) else {
            continue;
        };
        if let NodeRole::Source {
            endpoint: Endpoint::Topic(t),
            internal,
            ..
        } = &spec.role
        {
            topics.insert(t.clone(), *internal);
        }
        todo.extend(spec.parents.iter().map(|(p, _)| *p));
    }
    topics
}

/// Every co-partitioned group's topics, with whether each is internal.
fn groups(topology: &Topology) -> Vec<BTreeMap<String, bool>> {
    topology
        .copartitioned
        .iter()
        .map(|nodes| {
            let mut topics = BTreeMap::new();
            for &n in nodes {
                topics.extend(upstream_topics(topology, n));
            }
            topics
        })
        .collect()
}

/// The partition counts the repartition topics of join inputs must be created with: the count
/// of the group's existing (non-internal) topics.
pub(crate) async fn repartition_counts(
    topology: &Topology,
    broker: &Arc<dyn Broker>,
) -> Result<HashMap<String, u32>> {
    let mut counts = HashMap::new();
    for group in groups(topology) {
        let mut external = None;
        for (topic, internal) in &group {
            if !internal {
                if let Some(n) = broker.partitions(topic).await? {
                    external = Some(external.map_or(n, |e: u32| e.max(n)));
                }
            }
        }
        if let Some(n) = external {
            for (topic, internal) in &group {
                if *internal {
                    counts.insert(topic.clone(), n);
                }
            }
        }
    }
    Ok(counts)
}

/// Fails when the topics of a join's inputs have different partition counts; `internal` holds
/// the counts of the internal topics as planned.
pub(crate) async fn check(
    topology: &Topology,
    broker: &Arc<dyn Broker>,
    internal: &HashMap<String, u32>,
) -> Result<()> {
    for group in groups(topology) {
        let mut first: Option<(String, u32)> = None;
        for (topic, is_internal) in group {
            let count = if is_internal {
                internal.get(&topic).copied()
            } else {
                broker.partitions(&topic).await?
            };
            let Some(count) = count else { continue };
            match &first {
                None => first = Some((topic, count)),
                Some((t, n)) if *n != count => {
                    return Err(TopologyError::NotCopartitioned {
                        first: t.clone(),
                        first_partitions: *n,
                        second: topic,
                        second_partitions: count,
                    })
                }
                Some(_) => {}
            }
        }
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::prelude::*;

    /// A stream-table join; the stream re-keyed (so repartitioned) when `rekey`.
    fn topology(rekey: bool) -> Topology {
        let b = TopologyBuilder::new();
        let table = b.table(Source::topic("t", StringSerde, StringSerde), "t");
        let mut s = b.stream(Source::topic("s", StringSerde, StringSerde));
        if rekey {
            s = s.select_key(|k, _| k.clone());
        }
        s.join(&table, |a, b| format!("{a}{b}"))
            .to(Sink::topic("out", StringSerde, StringSerde));
        b.build().unwrap()
    }

    fn broker(t: u32, s: u32) -> Arc<dyn Broker> {
        let b = MemoryBroker::new(1);
        b.create_topic("t", t);
        b.create_topic("s", s);
        Arc::new(b)
    }

    #[tokio::test]
    async fn unequal_counts_fail_and_equal_ones_pass() {
        let none = HashMap::new();
        let err = check(&topology(false), &broker(3, 2), &none)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("`s` has 2"), "{err}");
        check(&topology(false), &broker(2, 2), &none).await.unwrap();
    }

    #[tokio::test]
    async fn a_repartition_topic_takes_the_count_of_the_topic_it_joins() {
        let topology = topology(true);
        let counts = repartition_counts(&topology, &broker(3, 2)).await.unwrap();
        let (topic, n) = counts.iter().next().unwrap();
        assert!(topic.ends_with("-repartition"));
        assert_eq!((counts.len(), *n), (1, 3));
        check(&topology, &broker(3, 2), &counts).await.unwrap();
    }
}
