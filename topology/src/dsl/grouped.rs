//! Grouped streams and their aggregations: `count`, `reduce`, `aggregate` per key (the windowed
//! groupings are in `grouped_windowed.rs`).

use super::builder::Attach;
use super::grouped_windowed::{WindowedGrouped, Windowing};
use super::stream::Stream;
use super::table::Table;
use crate::change::Change;
use crate::data::{Data, Key};
use crate::ops::aggregate::{Adder, KeyedAggregate};
use crate::stores::StoreSpec;
use crate::windows::EmitStrategy;
use std::sync::Arc;

/// A stream grouped by key, ready to aggregate into a [`Table`].
pub struct Grouped<K, V> {
    pub(super) stream: Stream<K, V>,
    pub(super) emit: EmitStrategy,
}

pub(super) fn count_adder<K, V>() -> Adder<K, V, u64> {
    Arc::new(|_, _, old| old.unwrap_or(0) + 1)
}

pub(super) fn reduce_adder<K, V: 'static>(
    f: Arc<dyn Fn(V, V) -> V + Send + Sync>,
) -> Adder<K, V, V> {
    Arc::new(move |_, v, old| match old {
        Some(acc) => f(acc, v),
        None => v,
    })
}

pub(super) fn aggregate_adder<K, V: 'static, A: 'static>(
    init: impl Fn() -> A + Send + Sync + 'static,
    adder: impl Fn(&K, &V, A) -> A + Send + Sync + 'static,
) -> Adder<K, V, A> {
    Arc::new(move |k, v, old| adder(k, &v, old.unwrap_or_else(&init)))
}

impl<K: Key, V: Data> Grouped<K, V> {
    pub(crate) fn new(stream: Stream<K, V>) -> Self {
        Self {
            stream,
            emit: EmitStrategy::OnUpdate,
        }
    }

    /// When results go downstream (default: on update, once per commit).
    ///
    /// ```
    /// # use weir_topology::prelude::*;
    /// # use weir_topology::testing::TopologyTestDriver;
    /// let builder = TopologyBuilder::new();
    /// builder
    ///     .stream(Source::topic("clicks", StringSerde, StringSerde))
    ///     .group_by_key()
    ///     .emit(EmitStrategy::OnEveryRecord) // every intermediate count, not the latest per commit
    ///     .count("clicks-per-user")
    ///     .to_stream()
    ///     .to(Sink::topic("counts", StringSerde, JsonSerde::<u64>::new()));
    /// let driver = TopologyTestDriver::new(builder.build()?)?;
    /// let clicks = driver.input_topic("clicks", StringSerde, StringSerde);
    /// for page in ["home", "cart", "pay"] {
    ///     clicks.pipe("ann".into(), page.into(), 0)?;
    /// }
    /// let counts = driver.output_topic("counts", StringSerde, JsonSerde::<u64>::new());
    /// assert_eq!(counts.read_values()?, [1, 2, 3]);
    /// # Ok::<(), weir_topology::TopologyError>(())
    /// ```
    pub fn emit(mut self, emit: EmitStrategy) -> Self {
        self.emit = emit;
        self
    }

    /// The records per key since the start, in the key-value store `name`.
    ///
    /// ```
    /// # use weir_topology::prelude::*;
    /// # use weir_topology::testing::TopologyTestDriver;
    /// let builder = TopologyBuilder::new();
    /// builder
    ///     .stream(Source::topic("clicks", StringSerde, StringSerde))
    ///     .group_by_key()
    ///     .count("clicks-per-user");
    /// let driver = TopologyTestDriver::new(builder.build()?)?;
    /// let clicks = driver.input_topic("clicks", StringSerde, StringSerde);
    /// clicks.pipe_all([("ann".into(), "home".into(), 0), ("bob".into(), "home".into(), 1), ("ann".into(), "pay".into(), 2)])?;
    /// let counts: Vec<(String, u64)> = driver.kv_entries("clicks-per-user")?;
    /// assert_eq!(counts, [("ann".to_string(), 2), ("bob".to_string(), 1)]);
    /// # Ok::<(), weir_topology::TopologyError>(())
    /// ```
    pub fn count(&self, name: &str) -> Table<K, u64> {
        self.materialize(name, count_adder())
    }

    /// Combines the values of each key with `f`, in the key-value store `name`.
    ///
    /// ```
    /// # use weir_topology::prelude::*;
    /// # use weir_topology::testing::TopologyTestDriver;
    /// let builder = TopologyBuilder::new();
    /// builder
    ///     .stream(Source::topic("temperatures", StringSerde, JsonSerde::<i32>::new()))
    ///     .group_by_key()
    ///     .reduce("highest", |a, b| a.max(b));
    /// let driver = TopologyTestDriver::new(builder.build()?)?;
    /// let input = driver.input_topic("temperatures", StringSerde, JsonSerde::<i32>::new());
    /// input.pipe_all([("oslo".into(), 3, 0), ("oslo".into(), 7, 1), ("oslo".into(), 5, 2)])?;
    /// let highest: Vec<(String, i32)> = driver.kv_entries("highest")?;
    /// assert_eq!(highest, [("oslo".to_string(), 7)]);
    /// # Ok::<(), weir_topology::TopologyError>(())
    /// ```
    pub fn reduce(&self, name: &str, f: impl Fn(V, V) -> V + Send + Sync + 'static) -> Table<K, V> {
        self.materialize(name, reduce_adder(Arc::new(f)))
    }

    /// Folds the values of each key into an `A`, starting from `init()`, in the key-value store
    /// `name`.
    ///
    /// ```
    /// # use weir_topology::prelude::*;
    /// # use weir_topology::testing::TopologyTestDriver;
    /// let builder = TopologyBuilder::new();
    /// builder
    ///     .stream(Source::topic("orders", StringSerde, JsonSerde::<u64>::new()))
    ///     .group_by_key()
    ///     .aggregate("order-stats", || (0u64, 0u64), |_, amount, (n, total)| (n + 1, total + amount));
    /// let driver = TopologyTestDriver::new(builder.build()?)?;
    /// let orders = driver.input_topic("orders", StringSerde, JsonSerde::<u64>::new());
    /// orders.pipe_all([("ann".into(), 30, 0), ("ann".into(), 12, 1)])?;
    /// let stats: Vec<(String, (u64, u64))> = driver.kv_entries("order-stats")?;
    /// assert_eq!(stats, [("ann".to_string(), (2, 42))]); // (orders, total)
    /// # Ok::<(), weir_topology::TopologyError>(())
    /// ```
    pub fn aggregate<A: Data>(
        &self,
        name: &str,
        init: impl Fn() -> A + Send + Sync + 'static,
        adder: impl Fn(&K, &V, A) -> A + Send + Sync + 'static,
    ) -> Table<K, A> {
        self.materialize(name, aggregate_adder(init, adder))
    }

    /// Aggregates per key and window. Time windows ([`crate::TumblingWindows`],
    /// [`crate::HoppingWindows`], [`crate::SlidingWindows`]) give a [`WindowedGrouped`];
    /// [`SessionWindows`](crate::SessionWindows) give a [`SessionWindowedGrouped`](crate::SessionWindowedGrouped), whose `aggregate` also takes the
    /// merger of two sessions (as Kafka Streams' `windowedBy(SessionWindows)`).
    ///
    /// ```
    /// # use weir_topology::prelude::*;
    /// # use weir_topology::testing::TopologyTestDriver;
    /// # use std::time::Duration;
    /// let builder = TopologyBuilder::new();
    /// builder
    ///     .stream(Source::topic("clicks", StringSerde, StringSerde))
    ///     .group_by_key()
    ///     .windowed_by(TumblingWindows::of(Duration::from_secs(60)))
    ///     .retention(Duration::from_secs(3600)) // keep closed windows an hour, for queries
    ///     .count("clicks-per-minute");
    /// let driver = TopologyTestDriver::new(builder.build()?)?;
    /// let clicks = driver.input_topic("clicks", StringSerde, StringSerde);
    /// clicks.pipe_all([("ann".into(), "a".into(), 1_000), ("ann".into(), "b".into(), 59_000), ("ann".into(), "c".into(), 61_000)])?;
    /// let per_minute: Vec<(String, i64, u64)> = driver.window_entries("clicks-per-minute")?;
    /// assert_eq!(per_minute, [("ann".to_string(), 0, 2), ("ann".to_string(), 60_000, 1)]);
    /// # Ok::<(), weir_topology::TopologyError>(())
    /// ```
    pub fn windowed_by<W: Windowing>(&self, windows: W) -> WindowedGrouped<K, V, W> {
        WindowedGrouped {
            stream: self.stream.clone(),
            windows,
            emit: self.emit,
            retention: None,
        }
    }

    fn materialize<A: Data>(&self, name: &str, adder: Adder<K, V, A>) -> Table<K, A> {
        let input = input_for(&self.stream, name);
        input.builder.add_store(StoreSpec::key_value::<K, A>(name));
        let (store, emit) = (name.to_string(), self.emit);
        let stores = [name];
        let node = input.builder.add_processor::<K, V, K, Change<A>, _, _>(
            Attach {
                operator: "AGGREGATE",
                name: Some(name.to_string()),
                parents: vec![(input.node, input.port.clone())],
                stores: &stores,
                terminal: true,
            },
            move || KeyedAggregate::new(store.clone(), adder.clone(), emit),
        );
        Table::of_changes(input.builder.clone(), node, Some(name.to_string()))
    }
}

/// The stream to aggregate: repartitioned through `<name>-repartition` when its key changed.
pub(super) fn input_for<K: Key, V: Data>(stream: &Stream<K, V>, name: &str) -> Stream<K, V> {
    if stream.key_changed {
        stream.repartition(name)
    } else {
        stream.clone()
    }
}
