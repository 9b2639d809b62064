//! `Stream<K, V>`: an unbounded sequence of keyed records, and its record-by-record operators
//! (filter, map, flat map, select key). The other operators are in `stream_flow` (peek,
//! branch, merge, process), `stream_keyed` (grouping, joins) and `stream_out` (sinks).

use super::builder::{Attach, TopologyBuilder};
use crate::data::Data;
use crate::ops::filter::Filter;
use crate::ops::flat_map::FlatMap;
use crate::ops::map::{Map, MapValues};
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

    pub(super) fn child<K2: Data, V2: Data>(
        &self,
        node: usize,
        key_changed: bool,
    ) -> Stream<K2, V2> {
        Stream {
            builder: self.builder.clone(),
            node,
            port: None,
            key_changed,
            _types: PhantomData,
        }
    }

    pub(super) fn attach(&self, operator: &'static str, terminal: bool) -> Attach<'static> {
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
}
