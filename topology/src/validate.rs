//! Validation of a topology's graph: every problem found, not only the first.

use crate::error::TopologyError;
use crate::graph::{Endpoint, NodeRole, NodeSpec};
use crate::stores::StoreSpec;
use std::collections::{BTreeSet, HashMap};

/// Every problem of the graph, not only the first: no source, duplicate names, undeclared
/// stores, dangling nodes, topics used with different types, and invalid topic patterns.
pub(crate) fn validate(nodes: &[NodeSpec], stores: &[StoreSpec]) -> Vec<TopologyError> {
    let mut errors = Vec::new();
    if !nodes
        .iter()
        .any(|n| matches!(n.role, NodeRole::Source { .. }))
    {
        errors.push(TopologyError::Empty);
    }
    check_unique_names(nodes, stores, &mut errors);
    check_stores_declared(nodes, stores, &mut errors);
    check_nothing_dangles(nodes, &mut errors);
    check_topic_types(nodes, &mut errors);
    check_patterns(nodes, &mut errors);
    errors
}

/// Every pattern source's expression compiles.
fn check_patterns(nodes: &[NodeSpec], errors: &mut Vec<TopologyError>) {
    for n in nodes {
        if let NodeRole::Source {
            endpoint: Endpoint::Pattern(p),
            ..
        } = &n.role
        {
            if let Err(e) = crate::runtime::io::pattern::TopicPattern::new(p) {
                errors.push(e);
            }
        }
    }
}

fn check_unique_names(nodes: &[NodeSpec], stores: &[StoreSpec], errors: &mut Vec<TopologyError>) {
    let mut names = BTreeSet::new();
    for n in nodes {
        if !names.insert(n.name.as_str()) {
            errors.push(TopologyError::DuplicateName {
                name: n.name.clone(),
                what: "node",
            });
        }
    }
    let mut store_names = BTreeSet::new();
    for s in stores {
        if !store_names.insert(s.name()) {
            errors.push(TopologyError::DuplicateName {
                name: s.name().to_string(),
                what: "store",
            });
        }
    }
}

fn check_stores_declared(
    nodes: &[NodeSpec],
    stores: &[StoreSpec],
    errors: &mut Vec<TopologyError>,
) {
    let store_names: BTreeSet<&str> = stores.iter().map(StoreSpec::name).collect();
    for n in nodes {
        for s in &n.stores {
            if !store_names.contains(s.as_str()) {
                errors.push(TopologyError::MissingStore {
                    node: n.name.clone(),
                    store: s.clone(),
                });
            }
        }
    }
}

fn check_nothing_dangles(nodes: &[NodeSpec], errors: &mut Vec<TopologyError>) {
    let mut has_children = vec![false; nodes.len()];
    for n in nodes {
        for (p, _) in &n.parents {
            if let Some(h) = has_children.get_mut(*p) {
                *h = true;
            }
        }
    }
    for (i, n) in nodes.iter().enumerate() {
        if !has_children[i] && !n.terminal {
            errors.push(TopologyError::Dangling {
                node: n.name.clone(),
                reason: format!(
                    "its output ({}) goes nowhere; add a sink, `foreach`, or an aggregation",
                    n.operator
                ),
            });
        }
    }
}

fn check_topic_types(nodes: &[NodeSpec], errors: &mut Vec<TopologyError>) {
    let mut topic_types: HashMap<&str, &str> = HashMap::new();
    for n in nodes {
        let (topic, types) = match &n.role {
            NodeRole::Source {
                endpoint: Endpoint::Topic(t),
                types,
                ..
            }
            | NodeRole::Sink {
                endpoint: Endpoint::Topic(t),
                types,
                ..
            } => (t.as_str(), types.as_str()),
            _ => continue,
        };
        match topic_types.get(topic) {
            Some(first) if *first != types => errors.push(TopologyError::TypeMismatch {
                topic: topic.to_string(),
                first: first.to_string(),
                second: types.to_string(),
            }),
            _ => {
                topic_types.insert(topic, types);
            }
        }
    }
}
