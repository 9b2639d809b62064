//! Cycles of internal topics between sub-topologies (a foreign-key join's subscription and
//! response topics run from the left table's tasks to the right table's and back): in a
//! bounded run, such a topic cannot end when its writers finish, since its writers wait for
//! it; [`super::quiesce`] ends it once the cycle is quiet.

use crate::graph::{Endpoint, NodeRole, Topology};
use std::collections::BTreeSet;

/// The sub-topologies of one strongly connected component of the graph whose edges are
/// internal topics (from the sub-topology writing one to those reading it), with a cycle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Cycle {
    /// The sub-topologies on the cycle, in index order.
    pub subs: Vec<usize>,
    /// The internal topics that one of them writes and one of them reads, sorted.
    pub topics: Vec<String>,
}

/// The internal topics sub-topology `sub` reads (`read`) or writes (`!read`).
pub(crate) fn internal_topics(topology: &Topology, sub: usize, read: bool) -> Vec<&str> {
    let Some(subt) = topology.subtopologies.get(sub) else {
        return Vec::new();
    };
    subt.nodes
        .iter()
        .filter_map(|&n| match (&topology.nodes[n].role, read) {
            (
                NodeRole::Source {
                    endpoint: Endpoint::Topic(t),
                    internal: true,
                    ..
                },
                true,
            )
            | (
                NodeRole::Sink {
                    endpoint: Endpoint::Topic(t),
                    internal: true,
                    ..
                },
                false,
            ) => Some(t.as_str()),
            _ => None,
        })
        .collect()
}

/// The cycles of `topology`'s internal topics, in the order of their first sub-topology.
pub(crate) fn cycles(topology: &Topology) -> Vec<Cycle> {
    let n = topology.subtopologies.len();
    let reads: Vec<Vec<&str>> = (0..n).map(|s| internal_topics(topology, s, true)).collect();
    let writes: Vec<Vec<&str>> = (0..n)
        .map(|s| internal_topics(topology, s, false))
        .collect();
    let edge = |from: usize, to: usize| writes[from].iter().any(|t| reads[to].contains(t));
    // reach[i][j]: a path of one edge or more leads from i to j.
    let reach: Vec<Vec<bool>> = (0..n)
        .map(|from| {
            let mut reached = vec![false; n];
            let mut next: Vec<usize> = (0..n).filter(|&j| edge(from, j)).collect();
            while let Some(j) = next.pop() {
                if !std::mem::replace(&mut reached[j], true) {
                    next.extend((0..n).filter(|&k| edge(j, k)));
                }
            }
            reached
        })
        .collect();
    let mut seen = BTreeSet::new();
    let mut found = Vec::new();
    for i in (0..n).filter(|&i| reach[i][i]) {
        if seen.contains(&i) {
            continue;
        }
        let subs: Vec<usize> = (0..n).filter(|&j| reach[i][j] && reach[j][i]).collect();
        seen.extend(subs.iter().copied());
        let topics: BTreeSet<String> = subs
            .iter()
            .flat_map(|&w| writes[w].iter())
            .filter(|t| subs.iter().any(|&r| reads[r].contains(t)))
            .map(|t| t.to_string())
            .collect();
        found.push(Cycle {
            subs,
            topics: topics.into_iter().collect(),
        });
    }
    found
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::prelude::*;

    #[test]
    fn a_foreign_key_join_makes_one_cycle_of_its_two_internal_topics() {
        let b = TopologyBuilder::new();
        let left = b.table(Source::topic("l", StringSerde, StringSerde), "l");
        let right = b.table(Source::topic("r", StringSerde, StringSerde), "r");
        let joined = left.join_on(&right, |v: &String| v.clone(), |a, b| format!("{a}{b}"));
        // A repartition after the join is internal too, but on no cycle.
        joined
            .to_changelog_stream()
            .group_by(|k: &String, _| k.clone())
            .count("counts");
        let topology = b.build().unwrap();
        let found = cycles(&topology);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].subs.len(), 2);
        assert_eq!(found[0].topics.len(), 2);
        assert!(found[0].topics[0].ends_with("-response-repartition"));
        assert!(found[0].topics[1].ends_with("-subscription-repartition"));
        // Every internal topic is written and read by some sub-topology.
        let all: BTreeSet<&str> = (0..topology.subtopologies.len())
            .flat_map(|s| internal_topics(&topology, s, false))
            .collect();
        assert_eq!(all.len(), 3, "{all:?}");
    }

    #[test]
    fn repartitions_without_a_cycle_make_none() {
        let b = TopologyBuilder::new();
        b.stream(Source::topic("in", StringSerde, StringSerde))
            .group_by(|k: &String, _| k.clone())
            .count("counts");
        let topology = b.build().unwrap();
        assert_eq!(internal_topics(&topology, 0, false).len(), 1);
        assert!(cycles(&topology).is_empty());
    }
}
