//! `TopologyBuilder`: where a topology starts (sources, tables, stores) and ends (`build`).

pub use super::source_sink::{Sink, Source};

use super::stream::Stream;
use super::table::Table;
use crate::change::Change;
use crate::data::{Data, Key};
use crate::error::Result;
use crate::graph::{NodeArgs, NodeFactory, NodeRole, NodeSpec, Topology};
use crate::ops::table_source::TableSource;
use crate::processor::Processor;
use crate::runtime::io::endpoints::SourceNode;
use crate::runtime::task::node::{Node, ProcessorNode};
use crate::serde::Nullable;
use crate::serde::Serde;
use crate::stores::{type_pair, StoreSpec};
use std::any::Any;
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;

#[derive(Default)]
pub(crate) struct GraphBuilder {
    pub nodes: Vec<NodeSpec>,
    pub stores: Vec<StoreSpec>,
    /// Errors found while the DSL was used; `build()` reports the first.
    pub errors: Vec<crate::TopologyError>,
    /// Nodes whose input topics must have equal partition counts (the inputs of a join).
    pub copartitioned: Vec<Vec<usize>>,
    /// The key serde of each source node (an `Arc<dyn Serde<K>>`), so that a repartition
    /// topic feeding a join writes keys as the topic it joins does, and lands in the same
    /// partitions.
    pub source_key_serdes: HashMap<usize, Arc<dyn Any>>,
}

/// Builds a topology with the DSL. Cheap to clone: clones share the graph under construction.
#[derive(Clone, Default)]
pub struct TopologyBuilder {
    pub(crate) inner: Rc<RefCell<GraphBuilder>>,
}

/// How a DSL operator attaches to its parents.
pub(crate) struct Attach<'a> {
    pub operator: &'static str,
    pub name: Option<String>,
    pub parents: Vec<(usize, Option<String>)>,
    pub stores: &'a [&'a str],
    pub terminal: bool,
}

impl TopologyBuilder {
    /// An empty builder.
    ///
    /// ```
    /// # use weir_topology::prelude::*;
    /// # use weir_topology::testing::TopologyTestDriver;
    /// let builder = TopologyBuilder::new();
    /// let clone = builder.clone(); // clones add to the same graph
    /// clone
    ///     .stream(Source::topic("in", StringSerde, StringSerde))
    ///     .to(Sink::topic("out", StringSerde, StringSerde));
    /// let topology = builder.build()?;
    /// assert_eq!(topology.source_topics(), ["in"]);
    /// assert_eq!(topology.sink_topics(), ["out"]);
    /// # Ok::<(), weir_topology::TopologyError>(())
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    pub(crate) fn auto_name(&self, operator: &str) -> String {
        let n = self.inner.borrow().nodes.len();
        format!("{}-{:04}", operator.to_lowercase(), n)
    }

    pub(crate) fn push_node(&self, mut spec: NodeSpec) -> usize {
        let mut g = self.inner.borrow_mut();
        if spec.name.is_empty() {
            spec.name = format!("{}-{:04}", spec.operator.to_lowercase(), g.nodes.len());
        }
        g.nodes.push(spec);
        g.nodes.len() - 1
    }

    /// Adds a processor node built by `supplier` (one instance per task).
    pub(crate) fn add_processor<KIn, VIn, KOut, VOut, P, F>(
        &self,
        at: Attach<'_>,
        supplier: F,
    ) -> usize
    where
        P: Processor<KIn, VIn, KOut, VOut>,
        F: Fn() -> P + Send + Sync + 'static,
        KIn: 'static,
        VIn: 'static,
        KOut: Clone + Send + 'static,
        VOut: Clone + Send + 'static,
    {
        let name = at.name.unwrap_or_else(|| self.auto_name(at.operator));
        let stores: Vec<String> = at.stores.iter().map(|s| s.to_string()).collect();
        let node_name = name.clone();
        let node_stores = stores.clone();
        let factory: NodeFactory = Arc::new(move |args: NodeArgs| {
            Box::new(ProcessorNode::<P, KIn, VIn, KOut, VOut>::new(
                node_name.clone(),
                supplier(),
                args.ports,
                node_stores.clone(),
            )) as Box<dyn Node>
        });
        self.push_node(NodeSpec {
            name,
            operator: at.operator,
            role: NodeRole::Processor,
            parents: at.parents,
            stores,
            terminal: at.terminal,
            factory,
        })
    }

    pub(crate) fn add_source<K: Data, V: Data>(
        &self,
        source: Source<K, V>,
        internal: bool,
    ) -> usize {
        self.add_source_node(source, internal, false)
    }

    /// Adds a source node; a `global` one feeds a global table (every partition in every task,
    /// without moving stream time).
    pub(crate) fn add_source_node<K: Data, V: Data>(
        &self,
        source: Source<K, V>,
        internal: bool,
        global: bool,
    ) -> usize {
        let name = source
            .name
            .clone()
            .unwrap_or_else(|| self.auto_name("source"));
        let node_name = name.clone();
        let key_serde: Arc<dyn Any> = Arc::new(source.key_serde.clone());
        let (ks, vs, ts) = (source.key_serde, source.value_serde, source.timestamps);
        let factory: NodeFactory = Arc::new(move |args: NodeArgs| {
            Box::new(SourceNode::<K, V> {
                name: node_name.clone(),
                key_serde: ks.clone(),
                value_serde: vs.clone(),
                timestamps: ts.clone(),
                ports: args.ports,
                decoded: Default::default(),
                advances_stream_time: !global,
            }) as Box<dyn Node>
        });
        let node = self.push_node(NodeSpec {
            name,
            operator: "SOURCE",
            role: NodeRole::Source {
                endpoint: source.endpoint,
                types: type_pair::<K, V>(),
                internal,
                global,
                reading: source.reading,
            },
            parents: Vec::new(),
            stores: Vec::new(),
            terminal: false,
            factory,
        });
        self.inner
            .borrow_mut()
            .source_key_serdes
            .insert(node, key_serde);
        node
    }

    /// The key serde of the first source upstream of `node`, when it serializes `K`.
    pub(crate) fn upstream_key_serde<K: 'static>(&self, node: usize) -> Option<Arc<dyn Serde<K>>> {
        let g = self.inner.borrow();
        let mut todo = vec![node];
        let mut seen = std::collections::BTreeSet::new();
        while let Some(n) = todo.pop() {
            if !seen.insert(n) {
                continue;
            }
            if let Some(serde) = g.source_key_serdes.get(&n) {
                return serde.downcast_ref::<Arc<dyn Serde<K>>>().cloned();
            }
            if let Some(spec) = g.nodes.get(n) {
                todo.extend(spec.parents.iter().rev().map(|(p, _)| *p));
            }
        }
        None
    }

    /// A stream of the records of `source`.
    ///
    /// ```
    /// # use weir_topology::prelude::*;
    /// # use weir_topology::testing::TopologyTestDriver;
    /// let builder = TopologyBuilder::new();
    /// let words = builder.stream(Source::topic("words", StringSerde, StringSerde));
    /// words
    ///     .map_values(|word| word.to_uppercase())
    ///     .to(Sink::topic("out", StringSerde, StringSerde));
    /// let driver = TopologyTestDriver::new(builder.build()?)?;
    /// let input = driver.input_topic("words", StringSerde, StringSerde);
    /// let output = driver.output_topic("out", StringSerde, StringSerde);
    /// input.pipe("k".into(), "hi".into(), 0)?;
    /// input.pipe("k".into(), "yo".into(), 1)?;
    /// assert_eq!(output.read_values()?, ["HI", "YO"]);
    /// # Ok::<(), weir_topology::TopologyError>(())
    /// ```
    pub fn stream<K: Data, V: Data>(&self, source: Source<K, V>) -> Stream<K, V> {
        let node = self.add_source(source, false);
        Stream::new(self.clone(), node)
    }

    /// A table holding the latest value per key of `source`, materialized in store `store`
    /// (so streams can join it and queries can read it). A null value on the topic (a
    /// tombstone) deletes its key, as in Kafka Streams; other values go through `source`'s serde.
    ///
    /// ```
    /// # use weir_topology::prelude::*;
    /// # use weir_topology::testing::TopologyTestDriver;
    /// let builder = TopologyBuilder::new();
    /// builder.table(Source::topic("prices", StringSerde, JsonSerde::<u32>::new()), "prices");
    /// let driver = TopologyTestDriver::new(builder.build()?)?;
    /// let prices = driver.input_topic("prices", StringSerde, JsonSerde::<u32>::new());
    /// prices.pipe("tea".into(), 3, 0)?;
    /// prices.pipe("jam".into(), 5, 1)?;
    /// prices.pipe("tea".into(), 4, 2)?; // replaces 3
    /// let latest: Vec<(String, u32)> = driver.kv_entries("prices")?;
    /// assert_eq!(latest, [("jam".to_string(), 5), ("tea".to_string(), 4)]);
    /// // A null value (a tombstone) deletes the key, here and in the store's changelog:
    /// let deletes = driver.input_topic("prices", StringSerde, Nullable::new(JsonSerde::<u32>::new()));
    /// deletes.pipe("jam".into(), None, 3)?;
    /// let latest: Vec<(String, u32)> = driver.kv_entries("prices")?;
    /// assert_eq!(latest, [("tea".to_string(), 4)]);
    /// # Ok::<(), weir_topology::TopologyError>(())
    /// ```
    pub fn table<K: Key, V: Data>(&self, source: Source<K, V>, store: &str) -> Table<K, V> {
        let node = self.table_node(source, store, false);
        Table::of_changes(self.clone(), node, Some(store.to_string()))
    }

    /// The source and table-source nodes of a table (a global one when `global`), materialized
    /// in `store`; returns the table-source node.
    pub(crate) fn table_node<K: Key, V: Data>(
        &self,
        source: Source<K, V>,
        store: &str,
        global: bool,
    ) -> usize {
        // The table reads null values (tombstones) as `None`: deletes.
        let source = Source {
            endpoint: source.endpoint,
            key_serde: source.key_serde,
            value_serde: Arc::new(Nullable::shared(source.value_serde)),
            timestamps: source.timestamps.for_nullable(),
            name: source.name,
            reading: source.reading,
        };
        let src = self.add_source_node(source, false, global);
        self.add_store(StoreSpec::key_value::<K, V>(store));
        let store_name = store.to_string();
        self.add_processor::<K, Option<V>, K, Change<V>, _, _>(
            Attach {
                operator: if global {
                    "GLOBAL-TABLE-SOURCE"
                } else {
                    "TABLE-SOURCE"
                },
                name: Some(format!("{store}-table")),
                parents: vec![(src, None)],
                stores: &[store],
                terminal: true,
            },
            move || TableSource::new(store_name.clone(), |v| v),
        )
    }

    /// Adds a store that processors added with `Stream::process` can declare.
    ///
    /// ```
    /// # use weir_topology::prelude::*;
    /// # use weir_topology::testing::TopologyTestDriver;
    /// # use weir_topology::StoreSpec;
    /// struct Total; // keeps the sum of the values per key in store "totals"
    /// impl Processor<String, u32> for Total {
    ///     fn process(&mut self, r: Record<String, u32>, ctx: &mut dyn ProcessorContext<String, u32>) -> weir_topology::Result<()> {
    ///         let store: KvStore<String, u32> = ctx.store("totals")?;
    ///         let mut totals = store.lock();
    ///         let total = totals.get(r.key())?.unwrap_or(0) + r.value();
    ///         Ok(totals.put(r.key().clone(), total)?)
    ///     }
    /// }
    /// let builder = TopologyBuilder::new();
    /// builder.add_store(StoreSpec::key_value::<String, u32>("totals"));
    /// let input = Source::topic("in", StringSerde, JsonSerde::<u32>::new());
    /// builder.stream(input).process::<String, u32, _>(|| Total, &["totals"]);
    /// let driver = TopologyTestDriver::new(builder.build()?)?;
    /// let input = driver.input_topic("in", StringSerde, JsonSerde::<u32>::new());
    /// input.pipe("ann".into(), 2, 0)?;
    /// input.pipe("ann".into(), 3, 1)?;
    /// assert_eq!(driver.kv_entries::<String, u32>("totals")?, [("ann".to_string(), 5)]);
    /// # Ok::<(), weir_topology::TopologyError>(())
    /// ```
    pub fn add_store(&self, spec: StoreSpec) {
        self.inner.borrow_mut().stores.push(spec);
    }

    /// Records a DSL misuse, reported by `build()`.
    pub(crate) fn defer_error(&self, e: crate::TopologyError) {
        self.inner.borrow_mut().errors.push(e);
    }

    /// Requires the source topics upstream of `nodes` (the inputs of a join) to have equal
    /// partition counts; checked when the topology is planned against a broker.
    pub(crate) fn require_copartitioned(&self, nodes: &[usize]) {
        self.inner.borrow_mut().copartitioned.push(nodes.to_vec());
    }

    /// Validates the graph and returns the topology, or a typed error.
    ///
    /// ```
    /// # use weir_topology::prelude::*;
    /// # use weir_topology::testing::TopologyTestDriver;
    /// let builder = TopologyBuilder::new();
    /// let words = builder.stream(Source::topic("in", StringSerde, StringSerde));
    /// words.to(Sink::topic("out", StringSerde, StringSerde));
    /// words.filter(|_, word| !word.is_empty()); // a branch that goes nowhere
    /// let error = builder.build().err().map(|e| e.to_string());
    /// assert!(error.is_some_and(|e| e.contains("goes nowhere")));
    /// # Ok::<(), weir_topology::TopologyError>(())
    /// ```
    pub fn build(self) -> Result<Topology> {
        let g = std::mem::take(&mut *self.inner.borrow_mut());
        let mut topology = Topology::new(g.nodes, g.stores, g.errors)?;
        topology.copartitioned = g.copartitioned;
        Ok(topology)
    }
}
