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
use crate::runtime::io::endpoints::SinkNode;
use crate::runtime::task::node::Node;
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
    ///
    /// ```
    /// # use weir_topology::prelude::*;
    /// # use weir_topology::testing::TopologyTestDriver;
    /// let builder = TopologyBuilder::new();
    /// builder
    ///     .stream(Source::topic("in", StringSerde, StringSerde))
    ///     .filter(|_, word| !word.is_empty())
    ///     .named("non-empty")
    ///     .to(Sink::topic("out", StringSerde, StringSerde));
    /// let topology = builder.build()?;
    /// assert!(topology.describe().contains("Processor: non-empty (FILTER)"));
    /// # Ok::<(), weir_topology::TopologyError>(())
    /// ```
    pub fn named(self, name: impl Into<String>) -> Self {
        if let Some(n) = self.builder.inner.borrow_mut().nodes.get_mut(self.node) {
            n.name = name.into();
        }
        self
    }

    /// Keeps the records for which `predicate` is true.
    ///
    /// ```
    /// # use weir_topology::prelude::*;
    /// # use weir_topology::testing::TopologyTestDriver;
    /// let builder = TopologyBuilder::new();
    /// builder
    ///     .stream(Source::topic("in", StringSerde, StringSerde))
    ///     .filter(|_user, page| page != "admin")
    ///     .to(Sink::topic("out", StringSerde, StringSerde));
    /// let driver = TopologyTestDriver::new(builder.build()?)?;
    /// let input = driver.input_topic("in", StringSerde, StringSerde);
    /// let output = driver.output_topic("out", StringSerde, StringSerde);
    /// input.pipe("ann".into(), "home".into(), 0)?;
    /// input.pipe("ann".into(), "admin".into(), 1)?;
    /// assert_eq!(output.read_values()?, ["home"]);
    /// # Ok::<(), weir_topology::TopologyError>(())
    /// ```
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
    ///
    /// ```
    /// # use weir_topology::prelude::*;
    /// # use weir_topology::testing::TopologyTestDriver;
    /// let builder = TopologyBuilder::new();
    /// builder
    ///     .stream(Source::topic("in", StringSerde, StringSerde))
    ///     .filter_not(|_user, page| page == "admin")
    ///     .to(Sink::topic("out", StringSerde, StringSerde));
    /// let driver = TopologyTestDriver::new(builder.build()?)?;
    /// let input = driver.input_topic("in", StringSerde, StringSerde);
    /// let output = driver.output_topic("out", StringSerde, StringSerde);
    /// input.pipe("ann".into(), "home".into(), 0)?;
    /// input.pipe("ann".into(), "admin".into(), 1)?;
    /// assert_eq!(output.read_values()?, ["home"]);
    /// # Ok::<(), weir_topology::TopologyError>(())
    /// ```
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
    ///
    /// ```
    /// # use weir_topology::prelude::*;
    /// # use weir_topology::testing::TopologyTestDriver;
    /// let builder = TopologyBuilder::new();
    /// builder
    ///     .stream(Source::topic("in", StringSerde, StringSerde))
    ///     .map(|user, page| (page, user))
    ///     .to(Sink::topic("out", StringSerde, StringSerde));
    /// let driver = TopologyTestDriver::new(builder.build()?)?;
    /// let input = driver.input_topic("in", StringSerde, StringSerde);
    /// let output = driver.output_topic("out", StringSerde, StringSerde);
    /// input.pipe("ann".into(), "home".into(), 0)?;
    /// assert_eq!(output.read_key_values()?, [("home".to_string(), "ann".to_string())]);
    /// # Ok::<(), weir_topology::TopologyError>(())
    /// ```
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
    ///
    /// ```
    /// # use weir_topology::prelude::*;
    /// # use weir_topology::testing::TopologyTestDriver;
    /// let builder = TopologyBuilder::new();
    /// builder
    ///     .stream(Source::topic("in", StringSerde, StringSerde))
    ///     .map_values(|page| page.len() as u64)
    ///     .to(Sink::topic("out", StringSerde, JsonSerde::<u64>::new()));
    /// let driver = TopologyTestDriver::new(builder.build()?)?;
    /// let input = driver.input_topic("in", StringSerde, StringSerde);
    /// let output = driver.output_topic("out", StringSerde, JsonSerde::<u64>::new());
    /// input.pipe("ann".into(), "home".into(), 0)?;
    /// assert_eq!(output.read_key_values()?, [("ann".to_string(), 4)]);
    /// # Ok::<(), weir_topology::TopologyError>(())
    /// ```
    pub fn map_values<V2: Data>(
        &self,
        f: impl Fn(V) -> V2 + Send + Sync + 'static,
    ) -> Stream<K, V2> {
        self.map_values_with_key(move |_, v| f(v))
    }

    /// Replaces the value, looking at the key too.
    ///
    /// ```
    /// # use weir_topology::prelude::*;
    /// # use weir_topology::testing::TopologyTestDriver;
    /// let builder = TopologyBuilder::new();
    /// builder
    ///     .stream(Source::topic("in", StringSerde, StringSerde))
    ///     .map_values_with_key(|user, page| format!("{user} on {page}"))
    ///     .to(Sink::topic("out", StringSerde, StringSerde));
    /// let driver = TopologyTestDriver::new(builder.build()?)?;
    /// let input = driver.input_topic("in", StringSerde, StringSerde);
    /// let output = driver.output_topic("out", StringSerde, StringSerde);
    /// input.pipe("ann".into(), "home".into(), 0)?;
    /// assert_eq!(output.read_key_values()?, [("ann".to_string(), "ann on home".to_string())]);
    /// # Ok::<(), weir_topology::TopologyError>(())
    /// ```
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
    ///
    /// ```
    /// # use weir_topology::prelude::*;
    /// # use weir_topology::testing::TopologyTestDriver;
    /// let builder = TopologyBuilder::new();
    /// builder
    ///     .stream(Source::topic("in", StringSerde, StringSerde))
    ///     .flat_map(|user, pages| {
    ///         pages.split(',').map(|page| (page.to_string(), user.clone())).collect::<Vec<_>>()
    ///     })
    ///     .to(Sink::topic("out", StringSerde, StringSerde));
    /// let driver = TopologyTestDriver::new(builder.build()?)?;
    /// let input = driver.input_topic("in", StringSerde, StringSerde);
    /// let output = driver.output_topic("out", StringSerde, StringSerde);
    /// input.pipe("ann".into(), "home,cart".into(), 0)?;
    /// assert_eq!(
    ///     output.read_key_values()?,
    ///     [("home".to_string(), "ann".to_string()), ("cart".to_string(), "ann".to_string())]
    /// );
    /// # Ok::<(), weir_topology::TopologyError>(())
    /// ```
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
    ///
    /// ```
    /// # use weir_topology::prelude::*;
    /// # use weir_topology::testing::TopologyTestDriver;
    /// let builder = TopologyBuilder::new();
    /// builder
    ///     .stream(Source::topic("in", StringSerde, StringSerde))
    ///     .flat_map_values(|line| {
    ///         line.split_whitespace().map(String::from).collect::<Vec<_>>()
    ///     })
    ///     .to(Sink::topic("out", StringSerde, StringSerde));
    /// let driver = TopologyTestDriver::new(builder.build()?)?;
    /// let input = driver.input_topic("in", StringSerde, StringSerde);
    /// let output = driver.output_topic("out", StringSerde, StringSerde);
    /// input.pipe("ann".into(), "to be".into(), 0)?;
    /// input.pipe("bob".into(), "".into(), 1)?; // no word: no record
    /// assert_eq!(
    ///     output.read_key_values()?,
    ///     [("ann".to_string(), "to".to_string()), ("ann".to_string(), "be".to_string())]
    /// );
    /// # Ok::<(), weir_topology::TopologyError>(())
    /// ```
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
    ///
    /// ```
    /// # use weir_topology::prelude::*;
    /// # use weir_topology::testing::TopologyTestDriver;
    /// # use weir_topology::testing::DriverConfig;
    /// let builder = TopologyBuilder::new();
    /// builder
    ///     .stream(Source::topic("views", StringSerde, StringSerde)) // user -> page
    ///     .select_key(|_user, page| page.clone())
    ///     .group_by_key() // the key changed: repartitions through "per-page-repartition"
    ///     .count("per-page")
    ///     .to_stream()
    ///     .to(Sink::topic("out", StringSerde, JsonSerde::<u64>::new()));
    /// let config = DriverConfig { partitions: 2, ..Default::default() };
    /// let driver = TopologyTestDriver::with_config(builder.build()?, config)?;
    /// let views = driver.input_topic("views", StringSerde, StringSerde);
    /// views.pipe_to_partition(0, "ann".into(), "home".into(), 0)?;
    /// views.pipe_to_partition(1, "bob".into(), "home".into(), 1)?; // another task
    /// let counts = driver.output_topic("out", StringSerde, JsonSerde::<u64>::new());
    /// assert_eq!(counts.read_values()?, [1, 2]); // both views of "home" met in one task
    /// assert!(driver.topology().source_topics().contains(&"per-page-repartition"));
    /// # Ok::<(), weir_topology::TopologyError>(())
    /// ```
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
    ///
    /// ```
    /// # use weir_topology::prelude::*;
    /// # use weir_topology::testing::TopologyTestDriver;
    /// # use std::sync::{Arc, Mutex};
    /// let seen = Arc::new(Mutex::new(Vec::new()));
    /// let log = seen.clone();
    /// let builder = TopologyBuilder::new();
    /// builder
    ///     .stream(Source::topic("in", StringSerde, StringSerde))
    ///     .peek(move |_, page| log.lock().unwrap().push(page.clone()))
    ///     .to(Sink::topic("out", StringSerde, StringSerde));
    /// let driver = TopologyTestDriver::new(builder.build()?)?;
    /// let input = driver.input_topic("in", StringSerde, StringSerde);
    /// let output = driver.output_topic("out", StringSerde, StringSerde);
    /// input.pipe("ann".into(), "home".into(), 0)?;
    /// assert_eq!(*seen.lock().unwrap(), ["home"]);
    /// assert_eq!(output.read_values()?, ["home"]); // passed on unchanged
    /// # Ok::<(), weir_topology::TopologyError>(())
    /// ```
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
    ///
    /// ```
    /// # use weir_topology::prelude::*;
    /// # use weir_topology::testing::TopologyTestDriver;
    /// # use std::sync::{Arc, Mutex};
    /// let seen = Arc::new(Mutex::new(Vec::new()));
    /// let log = seen.clone();
    /// let builder = TopologyBuilder::new();
    /// builder
    ///     .stream(Source::topic("in", StringSerde, StringSerde))
    ///     .foreach(move |user, page| log.lock().unwrap().push(format!("{user}: {page}")));
    /// let driver = TopologyTestDriver::new(builder.build()?)?;
    /// let input = driver.input_topic("in", StringSerde, StringSerde);
    /// input.pipe("ann".into(), "home".into(), 0)?;
    /// input.pipe("bob".into(), "cart".into(), 1)?;
    /// assert_eq!(*seen.lock().unwrap(), ["ann: home", "bob: cart"]);
    /// # Ok::<(), weir_topology::TopologyError>(())
    /// ```
    pub fn foreach(&self, action: impl Fn(&K, &V) + Send + Sync + 'static) {
        let action: crate::ops::peek::Action<K, V> = Arc::new(action);
        self.builder
            .add_processor::<K, V, K, V, _, _>(self.attach("FOREACH", true), move || Peek {
                action: action.clone(),
                pass_on: false,
            });
    }

    /// Splits the stream: each record goes to the first branch whose predicate holds (or nowhere).
    ///
    /// ```
    /// # use weir_topology::prelude::*;
    /// # use weir_topology::testing::TopologyTestDriver;
    /// let json = JsonSerde::<u32>::new;
    /// let builder = TopologyBuilder::new();
    /// let sizes = builder
    ///     .stream(Source::topic("in", StringSerde, json()))
    ///     .branch(vec![Box::new(|_, n| *n < 10), Box::new(|_, n| *n < 100)]);
    /// sizes[0].to(Sink::topic("small", StringSerde, json()));
    /// sizes[1].to(Sink::topic("medium", StringSerde, json()));
    /// let driver = TopologyTestDriver::new(builder.build()?)?;
    /// let input = driver.input_topic("in", StringSerde, json());
    /// for n in [5, 50, 500] {
    ///     input.pipe("k".into(), n, 0)?; // 5 matches both predicates: the first wins; 500 none
    /// }
    /// assert_eq!(driver.output_topic("small", StringSerde, json()).read_values()?, [5]);
    /// assert_eq!(driver.output_topic("medium", StringSerde, json()).read_values()?, [50]);
    /// # Ok::<(), weir_topology::TopologyError>(())
    /// ```
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
    ///
    /// ```
    /// # use weir_topology::prelude::*;
    /// # use weir_topology::testing::TopologyTestDriver;
    /// let builder = TopologyBuilder::new();
    /// let web = builder.stream(Source::topic("web", StringSerde, StringSerde));
    /// let app = builder.stream(Source::topic("app", StringSerde, StringSerde));
    /// web.merge(&app).to(Sink::topic("all", StringSerde, StringSerde));
    /// let driver = TopologyTestDriver::new(builder.build()?)?;
    /// let web = driver.input_topic("web", StringSerde, StringSerde);
    /// let app = driver.input_topic("app", StringSerde, StringSerde);
    /// web.pipe("ann".into(), "home".into(), 0)?;
    /// app.pipe("bob".into(), "cart".into(), 1)?;
    /// web.pipe("ann".into(), "pay".into(), 2)?;
    /// let all = driver.output_topic("all", StringSerde, StringSerde);
    /// assert_eq!(all.read_values()?, ["home", "cart", "pay"]);
    /// # Ok::<(), weir_topology::TopologyError>(())
    /// ```
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
    ///
    /// ```
    /// # use weir_topology::prelude::*;
    /// # use weir_topology::testing::TopologyTestDriver;
    /// struct Swap; // may change the key: `process` marks the stream for repartitioning
    /// impl Processor<String, String> for Swap {
    ///     fn process(&mut self, r: Record<String, String>, ctx: &mut dyn ProcessorContext<String, String>) -> weir_topology::Result<()> {
    ///         let (user, page, r) = r.take_key_value();
    ///         ctx.forward(r.with_key_value(page, user))
    ///     }
    /// }
    /// let builder = TopologyBuilder::new();
    /// builder
    ///     .stream(Source::topic("in", StringSerde, StringSerde))
    ///     .process(|| Swap, &[])
    ///     .to(Sink::topic("out", StringSerde, StringSerde));
    /// let driver = TopologyTestDriver::new(builder.build()?)?;
    /// driver.input_topic("in", StringSerde, StringSerde).pipe("ann".into(), "home".into(), 0)?;
    /// let output = driver.output_topic("out", StringSerde, StringSerde);
    /// assert_eq!(output.read_key_values()?, [("home".to_string(), "ann".to_string())]);
    /// # Ok::<(), weir_topology::TopologyError>(())
    /// ```
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
    ///
    /// ```
    /// # use weir_topology::prelude::*;
    /// # use weir_topology::testing::TopologyTestDriver;
    /// struct Upper; // keeps the key, changes the value
    /// impl Processor<String, String> for Upper {
    ///     fn process(&mut self, r: Record<String, String>, ctx: &mut dyn ProcessorContext<String, String>) -> weir_topology::Result<()> {
    ///         let upper = r.value().to_uppercase();
    ///         ctx.forward(r.with_value(upper))
    ///     }
    /// }
    /// let builder = TopologyBuilder::new();
    /// let upper = builder
    ///     .stream(Source::topic("in", StringSerde, StringSerde))
    ///     .process_values(|| Upper, &[]);
    /// upper.to(Sink::topic("out", StringSerde, StringSerde));
    /// upper.group_by_key().count("per-user"); // no repartition topic: the key is unchanged
    /// let driver = TopologyTestDriver::new(builder.build()?)?;
    /// driver.input_topic("in", StringSerde, StringSerde).pipe("ann".into(), "home".into(), 0)?;
    /// let output = driver.output_topic("out", StringSerde, StringSerde);
    /// assert_eq!(output.read_key_values()?, [("ann".to_string(), "HOME".to_string())]);
    /// assert_eq!(driver.topology().source_topics(), ["in"]);
    /// # Ok::<(), weir_topology::TopologyError>(())
    /// ```
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
    ///
    /// ```
    /// # use weir_topology::prelude::*;
    /// # use weir_topology::testing::TopologyTestDriver;
    /// let builder = TopologyBuilder::new();
    /// builder
    ///     .stream(Source::topic("views", StringSerde, StringSerde)) // user -> page
    ///     .group_by_key()
    ///     .count("views-per-user");
    /// let driver = TopologyTestDriver::new(builder.build()?)?;
    /// let views = driver.input_topic("views", StringSerde, StringSerde);
    /// views.pipe("ann".into(), "home".into(), 0)?;
    /// views.pipe("bob".into(), "home".into(), 1)?;
    /// views.pipe("ann".into(), "cart".into(), 2)?;
    /// let counts: Vec<(String, u64)> = driver.kv_entries("views-per-user")?;
    /// assert_eq!(counts, [("ann".to_string(), 2), ("bob".to_string(), 1)]);
    /// # Ok::<(), weir_topology::TopologyError>(())
    /// ```
    pub fn group_by_key(&self) -> Grouped<K, V>
    where
        K: Key,
    {
        Grouped::new(self.clone())
    }

    /// Groups by a new key computed from key and value (the stream is repartitioned by it).
    ///
    /// ```
    /// # use weir_topology::prelude::*;
    /// # use weir_topology::testing::TopologyTestDriver;
    /// let builder = TopologyBuilder::new();
    /// builder
    ///     .stream(Source::topic("views", StringSerde, StringSerde)) // user -> page
    ///     .group_by(|_user, page| page.clone())
    ///     .count("views-per-page");
    /// let driver = TopologyTestDriver::new(builder.build()?)?;
    /// let views = driver.input_topic("views", StringSerde, StringSerde);
    /// views.pipe("ann".into(), "home".into(), 0)?;
    /// views.pipe("bob".into(), "home".into(), 1)?;
    /// let counts: Vec<(String, u64)> = driver.kv_entries("views-per-page")?;
    /// assert_eq!(counts, [("home".to_string(), 2)]);
    /// assert!(driver.topology().source_topics().contains(&"views-per-page-repartition"));
    /// # Ok::<(), weir_topology::TopologyError>(())
    /// ```
    pub fn group_by<K2: Key>(
        &self,
        f: impl Fn(&K, &V) -> K2 + Send + Sync + 'static,
    ) -> Grouped<K2, V> {
        Grouped::new(self.select_key(f))
    }

    /// Groups by a new key WITHOUT repartitioning: each task aggregates the keys of its own
    /// partitions. Correct when all records of a key arrive in one partition (a single-partition
    /// input, or an input already partitioned by this key); otherwise use `group_by`.
    ///
    /// ```
    /// # use weir_topology::prelude::*;
    /// # use weir_topology::testing::TopologyTestDriver;
    /// let builder = TopologyBuilder::new();
    /// builder
    ///     .stream(Source::topic("views", StringSerde, StringSerde)) // one partition
    ///     .group_by_local(|_user, page| page.clone())
    ///     .count("views-per-page");
    /// let driver = TopologyTestDriver::new(builder.build()?)?;
    /// let views = driver.input_topic("views", StringSerde, StringSerde);
    /// views.pipe("ann".into(), "home".into(), 0)?;
    /// views.pipe("bob".into(), "home".into(), 1)?;
    /// let counts: Vec<(String, u64)> = driver.kv_entries("views-per-page")?;
    /// assert_eq!(counts, [("home".to_string(), 2)]);
    /// assert_eq!(driver.topology().source_topics(), ["views"]); // no repartition topic
    /// # Ok::<(), weir_topology::TopologyError>(())
    /// ```
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
    ///
    /// ```
    /// # use weir_topology::prelude::*;
    /// # use weir_topology::testing::TopologyTestDriver;
    /// let json = JsonSerde::<u32>::new;
    /// let builder = TopologyBuilder::new();
    /// let prices = builder.table(Source::topic("prices", StringSerde, json()), "prices");
    /// builder
    ///     .stream(Source::topic("orders", StringSerde, json())) // item -> quantity
    ///     .join(&prices, |quantity, price| quantity * price)
    ///     .to(Sink::topic("totals", StringSerde, json()));
    /// let driver = TopologyTestDriver::new(builder.build()?)?;
    /// driver.input_topic("prices", StringSerde, json()).pipe("tea".into(), 3, 0)?;
    /// let orders = driver.input_topic("orders", StringSerde, json());
    /// orders.pipe("tea".into(), 2, 1)?;
    /// orders.pipe("jam".into(), 1, 2)?; // no price for jam: dropped
    /// let totals = driver.output_topic("totals", StringSerde, json());
    /// assert_eq!(totals.read_key_values()?, [("tea".to_string(), 6)]);
    /// # Ok::<(), weir_topology::TopologyError>(())
    /// ```
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
    ///
    /// ```
    /// # use weir_topology::prelude::*;
    /// # use weir_topology::testing::TopologyTestDriver;
    /// let json = JsonSerde::<u32>::new;
    /// let builder = TopologyBuilder::new();
    /// let prices = builder.table(Source::topic("prices", StringSerde, json()), "prices");
    /// builder
    ///     .stream(Source::topic("orders", StringSerde, json())) // item -> quantity
    ///     .left_join(&prices, |quantity, price| price.map_or(0, |p| quantity * p))
    ///     .to(Sink::topic("totals", StringSerde, json()));
    /// let driver = TopologyTestDriver::new(builder.build()?)?;
    /// driver.input_topic("prices", StringSerde, json()).pipe("tea".into(), 3, 0)?;
    /// let orders = driver.input_topic("orders", StringSerde, json());
    /// orders.pipe("tea".into(), 2, 1)?;
    /// orders.pipe("jam".into(), 1, 2)?; // no price for jam: `None`
    /// let totals = driver.output_topic("totals", StringSerde, json());
    /// assert_eq!(totals.read_values()?, [6, 0]);
    /// # Ok::<(), weir_topology::TopologyError>(())
    /// ```
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
