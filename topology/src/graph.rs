//! The logical graph: nodes, edges, stores, sub-topologies, validation and `describe()`.

use crate::error::{Result, TopologyError};
use crate::runtime::io::broker::{SinkConnector, SourceConnector};
use crate::runtime::io::position::Reading;
use crate::runtime::io::topic_config::TopicConfig;
use crate::runtime::task::node::{Node, Ports};
use crate::stores::{StoreKind, StoreSpec};
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::sync::Arc;

/// What the runtime gives a node factory when it instantiates a node for one task.
pub(crate) struct NodeArgs {
    pub ports: Ports,
    pub outbox: usize,
}

pub(crate) type NodeFactory = Arc<dyn Fn(NodeArgs) -> Box<dyn Node> + Send + Sync>;

/// Where a source or sink node reads or writes.
pub(crate) enum Endpoint<C: ?Sized> {
    /// A topic of the broker the application runs against.
    Topic(String),
    /// A connector given in code (files, custom).
    Connector(Arc<C>),
    /// Every topic of the broker whose whole name matches the expression (sources only).
    Pattern(String),
    /// The topic each record names (sinks only: `Sink::topic_per_record`).
    PerRecord,
}

impl<C: ?Sized> Clone for Endpoint<C> {
    fn clone(&self) -> Self {
        match self {
            Self::Topic(t) => Self::Topic(t.clone()),
            Self::Connector(c) => Self::Connector(c.clone()),
            Self::Pattern(p) => Self::Pattern(p.clone()),
            Self::PerRecord => Self::PerRecord,
        }
    }
}

#[derive(Clone)]
pub(crate) enum NodeRole {
    Source {
        endpoint: Endpoint<dyn SourceConnector>,
        types: String,
        internal: bool,
        /// A global table's source: every task reads every partition, and catches up with the
        /// end offsets it had at the start before it processes anything else.
        global: bool,
        /// Where it starts and when it ends.
        reading: Reading,
    },
    Processor,
    Sink {
        endpoint: Endpoint<dyn SinkConnector>,
        types: String,
        internal: bool,
        /// The settings of the topics it creates (the user's; internal topics get
        /// [`TopicConfig::internal`] when planned).
        config: TopicConfig,
    },
}

#[derive(Clone)]
pub(crate) struct NodeSpec {
    pub name: String,
    pub operator: &'static str,
    pub role: NodeRole,
    pub parents: Vec<(usize, Option<String>)>,
    pub stores: Vec<String>,
    pub terminal: bool,
    pub factory: NodeFactory,
}

impl NodeSpec {
    pub fn topic(&self) -> Option<&str> {
        match &self.role {
            NodeRole::Source {
                endpoint: Endpoint::Topic(t),
                ..
            }
            | NodeRole::Sink {
                endpoint: Endpoint::Topic(t),
                ..
            } => Some(t),
            _ => None,
        }
    }
}

/// A connected part of the topology: its nodes run together in one task per input partition.
#[derive(Debug, Clone)]
pub struct SubTopology {
    /// The index shown by `describe()`.
    pub id: usize,
    /// Node ids, in topological order.
    pub(crate) nodes: Vec<usize>,
    /// Store names used by its nodes.
    pub(crate) stores: Vec<String>,
}

/// A built, validated topology: what [`crate::Streams`] and [`crate::testing::TopologyTestDriver`] run.
#[derive(Clone)]
pub struct Topology {
    pub(crate) nodes: Vec<NodeSpec>,
    pub(crate) stores: Vec<StoreSpec>,
    pub(crate) subtopologies: Vec<SubTopology>,
    /// Groups of nodes whose upstream source topics must be co-partitioned (join inputs).
    pub(crate) copartitioned: Vec<Vec<usize>>,
}

impl Topology {
    /// Names every internal (repartition) topic `<application_id>-<name>`, as Kafka Streams
    /// does, so that applications sharing a cluster never share one. The application does this
    /// when it starts; `describe()` and the test driver keep the short names.
    pub(crate) fn prefix_internal_topics(&mut self, application_id: &str) {
        for node in &mut self.nodes {
            match &mut node.role {
                NodeRole::Source {
                    endpoint: Endpoint::Topic(t),
                    internal: true,
                    ..
                } => *t = format!("{application_id}-{t}"),
                NodeRole::Sink {
                    endpoint: Endpoint::Topic(t),
                    internal: true,
                    ..
                } => *t = format!("{application_id}-{t}"),
                _ => {}
            }
        }
    }

    /// Validates the graph; fails with every problem found, `errors` (the DSL's) first.
    pub(crate) fn new(
        nodes: Vec<NodeSpec>,
        stores: Vec<StoreSpec>,
        mut errors: Vec<TopologyError>,
    ) -> Result<Self> {
        errors.extend(crate::validate::validate(&nodes, &stores));
        if let Some(e) = TopologyError::all(errors) {
            return Err(e);
        }
        let subtopologies = split(&nodes);
        Ok(Self {
            nodes,
            stores,
            subtopologies,
            copartitioned: Vec::new(),
        })
    }

    /// The sub-topologies, in `describe()` order.
    pub fn subtopologies(&self) -> &[SubTopology] {
        &self.subtopologies
    }

    /// The names of the stores the topology defines.
    pub fn store_names(&self) -> Vec<&str> {
        self.stores.iter().map(|s| s.name()).collect()
    }

    /// The topics the topology reads (internal repartition topics included).
    pub fn source_topics(&self) -> Vec<&str> {
        self.nodes
            .iter()
            .filter(|n| matches!(n.role, NodeRole::Source { .. }))
            .filter_map(|n| n.topic())
            .collect()
    }

    /// The topics the topology writes.
    pub fn sink_topics(&self) -> Vec<&str> {
        self.nodes
            .iter()
            .filter(|n| matches!(n.role, NodeRole::Sink { .. }))
            .filter_map(|n| n.topic())
            .collect()
    }

    pub(crate) fn store(&self, name: &str) -> Option<&StoreSpec> {
        self.stores.iter().find(|s| s.name() == name)
    }

    pub(crate) fn children(&self, node: usize) -> Ports {
        let mut ports = Ports::default();
        for (i, n) in self.nodes.iter().enumerate() {
            for (p, port) in &n.parents {
                if *p != node {
                    continue;
                }
                match port {
                    None => ports.main.push(i),
                    Some(name) => match ports.named.iter_mut().find(|(n, _)| n == name) {
                        Some((_, c)) => c.push(i),
                        None => ports.named.push((name.clone(), vec![i])),
                    },
                }
            }
        }
        ports
    }

    /// A text description of the graph, in the spirit of Kafka Streams' `Topology#describe()`.
    pub fn describe(&self) -> String {
        let mut out = String::from("Topologies:\n");
        for sub in &self.subtopologies {
            let _ = writeln!(out, "   Sub-topology: {}", sub.id);
            for &i in &sub.nodes {
                let n = &self.nodes[i];
                let head = match &n.role {
                    NodeRole::Source { endpoint, .. } => {
                        format!("Source: {} (topics: [{}])", n.name, endpoint_name(endpoint))
                    }
                    NodeRole::Sink { endpoint, .. } => {
                        format!("Sink: {} (topic: {})", n.name, endpoint_name(endpoint))
                    }
                    NodeRole::Processor => format!(
                        "Processor: {} ({}) (stores: [{}])",
                        n.name,
                        n.operator,
                        n.stores.join(", ")
                    ),
                };
                let _ = writeln!(out, "    {head}");
                let ports = self.children(i);
                let mut kids: Vec<String> = ports
                    .main
                    .iter()
                    .map(|c| self.nodes[*c].name.clone())
                    .collect();
                for (port, cs) in &ports.named {
                    kids.extend(
                        cs.iter()
                            .map(|c| format!("{} [{port}]", self.nodes[*c].name)),
                    );
                }
                if !kids.is_empty() {
                    let _ = writeln!(out, "      --> {}", kids.join(", "));
                }
                let parents: Vec<&str> = n
                    .parents
                    .iter()
                    .map(|(p, _)| self.nodes[*p].name.as_str())
                    .collect();
                if !parents.is_empty() {
                    let _ = writeln!(out, "      <-- {}", parents.join(", "));
                }
            }
            for s in &sub.stores {
                if let Some(spec) = self.store(s) {
                    let kind = match spec.kind() {
                        StoreKind::KeyValue => "key-value".to_string(),
                        StoreKind::Window {
                            size_ms,
                            retention_ms,
                        } => format!("window, size {size_ms} ms, retention {retention_ms} ms"),
                        StoreKind::Session { retention_ms } => {
                            format!("session, retention {retention_ms} ms")
                        }
                    };
                    let _ = writeln!(out, "    Store: {s} ({kind}) {}", spec.types);
                }
            }
            out.push('\n');
        }
        out
    }
}

impl std::fmt::Debug for Topology {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

pub(crate) fn endpoint_name<C: ?Sized + ConnectorName>(e: &Endpoint<C>) -> String {
    match e {
        Endpoint::Topic(t) => t.clone(),
        Endpoint::Connector(c) => c.connector_name(),
        Endpoint::Pattern(p) => format!("pattern {p}"),
        Endpoint::PerRecord => "chosen per record".to_string(),
    }
}

pub(crate) trait ConnectorName {
    fn connector_name(&self) -> String;
}
impl ConnectorName for dyn SourceConnector {
    fn connector_name(&self) -> String {
        self.name()
    }
}
impl ConnectorName for dyn SinkConnector {
    fn connector_name(&self) -> String {
        self.name()
    }
}

/// Groups nodes linked by edges or shared stores; each group keeps its nodes in id order, which
/// is topological because a node is always added after its parents.
fn split(nodes: &[NodeSpec]) -> Vec<SubTopology> {
    let mut parent: Vec<usize> = (0..nodes.len()).collect();
    fn find(p: &mut [usize], mut x: usize) -> usize {
        while p[x] != x {
            p[x] = p[p[x]];
            x = p[x];
        }
        x
    }
    let mut by_store: HashMap<&str, usize> = HashMap::new();
    for (i, n) in nodes.iter().enumerate() {
        for (q, _) in &n.parents {
            let (a, b) = (find(&mut parent, i), find(&mut parent, *q));
            parent[a] = b;
        }
        for s in &n.stores {
            if let Some(&other) = by_store.get(s.as_str()) {
                let (a, b) = (find(&mut parent, i), find(&mut parent, other));
                parent[a] = b;
            } else {
                by_store.insert(s, i);
            }
        }
    }
    let mut groups: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for i in 0..nodes.len() {
        let root = find(&mut parent, i);
        groups.entry(root).or_default().push(i);
    }
    let mut subs: Vec<Vec<usize>> = groups.into_values().collect();
    subs.sort_by_key(|g| g.first().copied().unwrap_or(0));
    subs.into_iter()
        .enumerate()
        .map(|(id, nodes_of)| {
            let mut stores: Vec<String> = nodes_of
                .iter()
                .flat_map(|i| nodes[*i].stores.iter().cloned())
                .collect();
            stores.sort();
            stores.dedup();
            SubTopology {
                id,
                nodes: nodes_of,
                stores,
            }
        })
        .collect()
}
