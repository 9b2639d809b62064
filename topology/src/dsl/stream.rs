//! `Stream<K, V>`: an unbounded sequence of keyed records and its stateless operators.

use super::builder::{Attach, Sink, Source, TopologyBuilder};
use super::grouped::Grouped;
use super::table::Table;
use crate::data::{Data, Key};
use crate::graph::{NodeArgs, NodeFactory, NodeRole, NodeSpec};
use crate::ops::branch::{branch_port, Branch};
use crate::ops::filter::Filter;
use crate::ops::flat_map::FlatMap;
use crate::ops::join::StreamTableJoin;
use crate::ops::map::{Map, MapValues};
use crate::ops::peek::{PassThrough, Peek};
use crate::ops::record_sink::{RecordSink, SharedSink, SinkProcessor, SinkSupplier};
use crate::processor::Processor;
use crate::runtime::endpoints::SinkNode;
use crate::runtime::node::Node;
use crate::serde::BincodeSerde;
use crate::stores::type_pair;
use crate::time::TimestampExtractor;
use std::marker::PhantomData;
use std::sync::Arc;

/// One predicate of [`Stream::branch`].
pub type BranchPredicate<K, V> = Box<dyn Fn(&K, &V) -> bool + Send + Sync>;

/// A stream of `Record<K, V>` in a topology under construction.
pub struct Stream<K, V> {
    pub(crate) builder: TopologyBuilder,
    pub(crate) node: usize,
    pub(crate) port: Option<String>,
    /// Set when the key was changed since the source: grouping must repartition.
    pub(crate) key_changed: bool,
    _types: PhantomData<fn() -> (K, V)>,
}

impl<K, V> Clone for Stream<K, V> {
    fn clone(&self) -> Self {
        Self {
            builder: self.builder.clone(),
            node: self.node,
            port: self.port.clone(),
            key_changed: self.key_changed,
            _types: PhantomData,
        }
    }
}

impl<K: Data, V: Data> Stream<K, V> {
    pub(crate) fn new(builder: TopologyBuilder, node: usize) -> Self {
        Self {
            builder,
            node,
            port: None,
            key_changed: false,
            _types: PhantomData,
        }
    }

    fn child<K2: Data, V2: Data>(&self, node: usize, key_changed: bool) -> Stream<K2, V2> {
        Stream {
            builder: self.builder.clone(),
            node,
            port: None,
            key_changed,
            _types: PhantomData,
        }
    }

    fn attach(&self, operator: &'static str, terminal: bool) -> Attach<'static> {
        Attach {
            operator,
            name: None,
            parents: vec![(self.node, self.port.clone())],
            stores: &[],
            terminal,
        }
    }

    /// Renames the node that produces this stream (names must be unique).
    pub fn named(self, name: impl Into<String>) -> Self {
        if let Some(n) = self.builder.inner.borrow_mut().nodes.get_mut(self.node) {
            n.name = name.into();
        }
        self
    }

    /// Keeps the records for which `predicate` is true.
    pub fn filter(&self, predicate: impl Fn(&K, &V) -> bool + Send + Sync + 'static) -> Self {
        let predicate: crate::ops::filter::Predicate<K, V> = Arc::new(predicate);
        let node = self.builder.add_processor::<K, V, K, V, _, _>(
            self.attach("FILTER", false),
            move || Filter {
                predicate: predicate.clone(),
                keep_matching: true,
            },
        );
        self.child(node, self.key_changed)
    }

    /// Drops the records for which `predicate` is true.
    pub fn filter_not(&self, predicate: impl Fn(&K, &V) -> bool + Send + Sync + 'static) -> Self {
        let predicate: crate::ops::filter::Predicate<K, V> = Arc::new(predicate);
        let node = self.builder.add_processor::<K, V, K, V, _, _>(
            self.attach("FILTER-NOT", false),
            move || Filter {
                predicate: predicate.clone(),
                keep_matching: false,
            },
        );
        self.child(node, self.key_changed)
    }

    /// Replaces key and value.
    pub fn map<K2: Data, V2: Data>(
        &self,
        f: impl Fn(K, V) -> (K2, V2) + Send + Sync + 'static,
    ) -> Stream<K2, V2> {
        let f: crate::ops::map::MapFn<K, V, K2, V2> = Arc::new(f);
        let node = self
            .builder
            .add_processor::<K, V, K2, V2, _, _>(self.attach("MAP", false), move || Map {
                f: f.clone(),
            });
        self.child(node, true)
    }

    /// Replaces the value; the key stays (no repartition needed downstream).
    pub fn map_values<V2: Data>(
        &self,
        f: impl Fn(V) -> V2 + Send + Sync + 'static,
    ) -> Stream<K, V2> {
        self.map_values_with_key(move |_, v| f(v))
    }

    /// Replaces the value, looking at the key too.
    pub fn map_values_with_key<V2: Data>(
        &self,
        f: impl Fn(&K, V) -> V2 + Send + Sync + 'static,
    ) -> Stream<K, V2> {
        let f: crate::ops::map::MapValuesFn<K, V, V2> = Arc::new(f);
        let node = self
            .builder
            .add_processor::<K, V, K, V2, _, _>(self.attach("MAP-VALUES", false), move || {
                MapValues { f: f.clone() }
            });
        self.child(node, self.key_changed)
    }

    /// Replaces each record by any number of records.
    pub fn flat_map<K2: Data, V2: Data, I>(
        &self,
        f: impl Fn(K, V) -> I + Send + Sync + 'static,
    ) -> Stream<K2, V2>
    where
        I: IntoIterator<Item = (K2, V2)>,
    {
        let f: crate::ops::flat_map::FlatMapFn<K, V, K2, V2> =
            Arc::new(move |k, v| f(k, v).into_iter().collect());
        let node = self
            .builder
            .add_processor::<K, V, K2, V2, _, _>(self.attach("FLAT-MAP", false), move || FlatMap {
                f: f.clone(),
            });
        self.child(node, true)
    }

    /// Replaces each value by any number of values under the same key.
    pub fn flat_map_values<V2: Data, I>(
        &self,
        f: impl Fn(V) -> I + Send + Sync + 'static,
    ) -> Stream<K, V2>
    where
        I: IntoIterator<Item = V2>,
    {
        let f: crate::ops::flat_map::FlatMapFn<K, V, K, V2> =
            Arc::new(move |k: K, v| f(v).into_iter().map(|v2| (k.clone(), v2)).collect());
        let node = self
            .builder
            .add_processor::<K, V, K, V2, _, _>(self.attach("FLAT-MAP-VALUES", false), move || {
                FlatMap { f: f.clone() }
            });
        self.child(node, self.key_changed)
    }

    /// Sets a new key computed from key and value.
    pub fn select_key<K2: Data>(
        &self,
        f: impl Fn(&K, &V) -> K2 + Send + Sync + 'static,
    ) -> Stream<K2, V> {
        let f: crate::ops::map::MapFn<K, V, K2, V> = Arc::new(move |k, v| (f(&k, &v), v));
        let node = self
            .builder
            .add_processor::<K, V, K2, V, _, _>(self.attach("SELECT-KEY", false), move || Map {
                f: f.clone(),
            });
        self.child(node, true)
    }

    /// Calls `action` on each record and passes it on.
    pub fn peek(&self, action: impl Fn(&K, &V) + Send + Sync + 'static) -> Self {
        let action: crate::ops::peek::Action<K, V> = Arc::new(action);
        let node =
            self.builder
                .add_processor::<K, V, K, V, _, _>(self.attach("PEEK", false), move || Peek {
                    action: action.clone(),
                    pass_on: true,
                });
        self.child(node, self.key_changed)
    }

    /// Calls `action` on each record; the end of this branch.
    pub fn foreach(&self, action: impl Fn(&K, &V) + Send + Sync + 'static) {
        let action: crate::ops::peek::Action<K, V> = Arc::new(action);
        self.builder
            .add_processor::<K, V, K, V, _, _>(self.attach("FOREACH", true), move || Peek {
                action: action.clone(),
                pass_on: false,
            });
    }

    /// Splits the stream: each record goes to the first branch whose predicate holds (or nowhere).
    pub fn branch(&self, predicates: Vec<BranchPredicate<K, V>>) -> Vec<Stream<K, V>> {
        let n = predicates.len();
        let predicates: Vec<crate::ops::filter::Predicate<K, V>> =
            predicates.into_iter().map(Arc::from).collect();
        let ports: Vec<String> = (0..n).map(branch_port).collect();
        let p2 = ports.clone();
        let node = self.builder.add_processor::<K, V, K, V, _, _>(
            self.attach("BRANCH", false),
            move || Branch {
                predicates: predicates.clone(),
                ports: p2.clone(),
            },
        );
        ports
            .into_iter()
            .map(|port| {
                let mut s: Stream<K, V> = self.child(node, self.key_changed);
                s.port = Some(port);
                // A branch needs a node of its own so that what follows attaches to its port.
                let pass = s
                    .builder
                    .add_processor::<K, V, K, V, _, _>(s.attach("BRANCH-OUT", false), || {
                        PassThrough
                    });
                self.child(pass, self.key_changed)
            })
            .collect()
    }

    /// The records of both streams, interleaved as they arrive.
    pub fn merge(&self, other: &Stream<K, V>) -> Self {
        let node = self.builder.add_processor::<K, V, K, V, _, _>(
            Attach {
                operator: "MERGE",
                name: None,
                parents: vec![
                    (self.node, self.port.clone()),
                    (other.node, other.port.clone()),
                ],
                stores: &[],
                terminal: false,
            },
            || PassThrough,
        );
        self.child(node, self.key_changed || other.key_changed)
    }

    /// Runs a custom processor (one instance per task from `supplier`) with access to `stores`
    /// (added with `TopologyBuilder::add_store` or by an aggregation).
    pub fn process<K2: Data, V2: Data, P>(
        &self,
        supplier: impl Fn() -> P + Send + Sync + 'static,
        stores: &[&str],
    ) -> Stream<K2, V2>
    where
        P: Processor<K, V, K2, V2>,
    {
        let mut at = self.attach("PROCESS", true);
        at.stores = stores;
        let node = self
            .builder
            .add_processor::<K, V, K2, V2, _, _>(at, supplier);
        self.child(node, true)
    }

    /// Like `process`, for processors that keep each record's key and only change its value
    /// (enrichment, inference): downstream grouping then needs no repartition. The processor
    /// must forward records with the key it received.
    pub fn process_values<V2: Data, P>(
        &self,
        supplier: impl Fn() -> P + Send + Sync + 'static,
        stores: &[&str],
    ) -> Stream<K, V2>
    where
        P: Processor<K, V, K, V2>,
    {
        let mut at = self.attach("PROCESS-VALUES", true);
        at.stores = stores;
        let node = self
            .builder
            .add_processor::<K, V, K, V2, _, _>(at, supplier);
        self.child(node, self.key_changed)
    }

    /// Writes the stream to a topic or connector.
    pub fn to(&self, sink: Sink<K, V>) {
        self.add_sink(sink, false);
    }

    pub(crate) fn add_sink(&self, sink: Sink<K, V>, internal: bool) -> usize {
        let name = sink
            .name
            .clone()
            .unwrap_or_else(|| self.builder.auto_name("sink"));
        let (ks, vs) = (sink.key_serde.clone(), sink.value_serde.clone());
        let node_name = name.clone();
        let factory: NodeFactory = Arc::new(move |args: NodeArgs| {
            Box::new(SinkNode::<K, V> {
                name: node_name.clone(),
                outbox: args.outbox,
                key_serde: ks.clone(),
                value_serde: vs.clone(),
                keyless: Default::default(),
            }) as Box<dyn Node>
        });
        self.builder.push_node(NodeSpec {
            name,
            operator: "SINK",
            role: NodeRole::Sink {
                endpoint: sink.endpoint,
                types: type_pair::<K, V>(),
                internal,
            },
            parents: vec![(self.node, self.port.clone())],
            stores: Vec::new(),
            terminal: true,
            factory,
        })
    }

    /// Writes the stream to a typed sink (files, charts, console); `supplier` makes one per
    /// task, and may fail: `|| ConsoleSink::new("> ")` or `move || ParquetSink::new(&dir, opts)`
    /// (a `Result`). A supplier's error, or one from the sink's `open_task`, stops the
    /// application with [`TopologyError::SinkOpen`](crate::TopologyError::SinkOpen), which
    /// names the node `name` and keeps the cause.
    pub fn sink<M, F: SinkSupplier<K, V, M>>(&self, name: &str, supplier: F) {
        let mut at = self.attach("RECORD-SINK", true);
        at.name = Some(name.to_string());
        self.builder
            .add_processor::<K, V, K, V, _, _>(at, move || SinkProcessor::new(supplier.make()));
    }

    /// Writes the stream to one sink instance shared by every task (a chart, a dashboard
    /// series): see [`SharedSink`] for what its calls mean. Keep a clone of `sink` to use it
    /// after the run.
    pub fn shared_sink<S: RecordSink<K, V>>(&self, name: &str, sink: &SharedSink<S>) {
        let shared = sink.clone();
        self.sink(name, move || shared.handle());
    }

    /// Groups by the current key, for aggregations. Repartitions first when an operator upstream
    /// changed the key.
    pub fn group_by_key(&self) -> Grouped<K, V>
    where
        K: Key,
    {
        Grouped::new(self.clone())
    }

    /// Groups by a new key computed from key and value (the stream is repartitioned by it).
    pub fn group_by<K2: Key>(
        &self,
        f: impl Fn(&K, &V) -> K2 + Send + Sync + 'static,
    ) -> Grouped<K2, V> {
        Grouped::new(self.select_key(f))
    }

    /// Groups by a new key WITHOUT repartitioning: each task aggregates the keys of its own
    /// partitions. Correct when all records of a key arrive in one partition (a single-partition
    /// input, or an input already partitioned by this key); otherwise use `group_by`.
    pub fn group_by_local<K2: Key>(
        &self,
        f: impl Fn(&K, &V) -> K2 + Send + Sync + 'static,
    ) -> Grouped<K2, V> {
        let mut keyed = self.select_key(f);
        keyed.key_changed = false;
        Grouped::new(keyed)
    }

    /// Joins each record with the table's current value for its key; records whose key is not
    /// in the table are dropped (inner join). The table must be materialized.
    pub fn join<VT: Data, VR: Data>(
        &self,
        table: &Table<K, VT>,
        joiner: impl Fn(&V, &VT) -> VR + Send + Sync + 'static,
    ) -> Stream<K, VR> {
        self.join_with(
            table,
            "JOIN",
            Arc::new(move |_, v, t| t.map(|t| joiner(&v, &t))),
        )
    }

    /// Like `join`, but keeps records whose key is not in the table (`None` is passed).
    pub fn left_join<VT: Data, VR: Data>(
        &self,
        table: &Table<K, VT>,
        joiner: impl Fn(&V, Option<&VT>) -> VR + Send + Sync + 'static,
    ) -> Stream<K, VR> {
        self.join_with(
            table,
            "LEFT-JOIN",
            Arc::new(move |_, v, t| Some(joiner(&v, t.as_ref()))),
        )
    }

    fn join_with<VT: Data, VR: Data>(
        &self,
        table: &Table<K, VT>,
        operator: &'static str,
        joiner: crate::ops::join::Joiner<K, V, VT, VR>,
    ) -> Stream<K, VR> {
        let Some(store) = table.store.clone() else {
            self.builder.defer_error(crate::TopologyError::config(
                operator,
                "the table is not materialized: join a table from `TopologyBuilder::table` or an aggregation",
            ));
            return self.child(self.node, self.key_changed);
        };
        let stores = [store.as_str()];
        let mut at = self.attach(operator, false);
        at.stores = &stores;
        let store_name = store.clone();
        let node = self
            .builder
            .add_processor::<K, V, K, VR, _, _>(at, move || StreamTableJoin {
                store_name: store_name.clone(),
                joiner: joiner.clone(),
                store: None,
            });
        self.child(node, self.key_changed)
    }

    /// Writes the stream to an internal topic and reads it back, so records with equal keys
    /// meet in the same task. `name` names the topic `<name>-repartition`.
    pub(crate) fn repartition(&self, name: &str) -> Stream<K, V>
    where
        K: Key,
    {
        let topic = format!("{name}-repartition");
        let sink = Sink::topic(
            topic.clone(),
            BincodeSerde::<K>::new(),
            BincodeSerde::<V>::new(),
        )
        .named(format!("{topic}-sink"));
        self.add_sink(sink, true);
        let source = Source::topic(
            topic.clone(),
            BincodeSerde::<K>::new(),
            BincodeSerde::<V>::new(),
        )
        .timestamps(TimestampExtractor::RecordTime)
        .named(format!("{topic}-source"));
        let node = self.builder.add_source(source, true);
        self.child(node, false)
    }
}
