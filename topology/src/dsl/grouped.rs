//! Grouped streams and their aggregations: `count`, `reduce`, `aggregate`, with or without windows.

use super::builder::{Attach, TopologyBuilder};
use super::stream::Stream;
use super::table::Table;
use crate::data::{Data, Key};
use crate::ops::aggregate::{Adder, KeyedAggregate};
use crate::ops::session_aggregate::{Merger, SessionWindowLogic};
use crate::ops::sliding_aggregate::SlidingWindowLogic;
use crate::ops::window_aggregate::TimeWindowLogic;
use crate::ops::window_core::WindowedAggregate;
use crate::stores::StoreSpec;
use crate::windows::{EmitStrategy, SessionWindows, WindowKind, Windowed, Windows};
use crate::TopologyError;
use std::sync::Arc;
use std::time::Duration;

/// A stream grouped by key, ready to aggregate into a [`Table`].
pub struct Grouped<K, V> {
    stream: Stream<K, V>,
    emit: EmitStrategy,
}

fn count_adder<K, V>() -> Adder<K, V, u64> {
    Arc::new(|_, _, old| old.unwrap_or(0) + 1)
}

fn reduce_adder<K, V: 'static>(f: Arc<dyn Fn(V, V) -> V + Send + Sync>) -> Adder<K, V, V> {
    Arc::new(move |_, v, old| match old {
        Some(acc) => f(acc, v),
        None => v,
    })
}

fn aggregate_adder<K, V: 'static, A: 'static>(
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
    /// [`SessionWindows`] give a [`SessionWindowedGrouped`], whose `aggregate` also takes the
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
        let node = input.builder.add_processor::<K, V, K, A, _, _>(
            Attach {
                operator: "AGGREGATE",
                name: Some(name.to_string()),
                parents: vec![(input.node, input.port.clone())],
                stores: &stores,
                terminal: true,
            },
            move || KeyedAggregate::new(store.clone(), adder.clone(), emit),
        );
        Table::new(input.builder.clone(), node, Some(name.to_string()))
    }
}

/// The stream to aggregate: repartitioned through `<name>-repartition` when its key changed.
fn input_for<K: Key, V: Data>(stream: &Stream<K, V>, name: &str) -> Stream<K, V> {
    if stream.key_changed {
        stream.repartition(name)
    } else {
        stream.clone()
    }
}

mod sealed {
    use super::{Adder, Data, Key, Late, Merger, Table, Windowed, WindowedGrouped};

    /// How a windowing materializes an aggregation; `merger` serves session windows only.
    pub trait Sealed: Copy + Send + Sync + 'static {
        fn materialize<K: Key, V: Data, A: Data>(
            grouped: &WindowedGrouped<K, V, Self>,
            name: &str,
            adder: Adder<K, V, A>,
            merger: Merger<K, A>,
        ) -> Table<Windowed<K>, A, Late<K, V>>;
    }
}

/// A windowing that [`Grouped::windowed_by`] accepts: [`Windows`] (tumbling, hopping, sliding)
/// or [`SessionWindows`]. Sealed.
pub trait Windowing: sealed::Sealed {}

impl Windowing for Windows {}
impl Windowing for SessionWindows {}

/// A grouped stream with a windowing, ready to aggregate into a table keyed by [`Windowed`].
/// `W` is [`Windows`] for time windows and [`SessionWindows`] for sessions
/// ([`SessionWindowedGrouped`]).
pub struct WindowedGrouped<K, V, W = Windows> {
    stream: Stream<K, V>,
    windows: W,
    emit: EmitStrategy,
    retention: Option<i64>,
}

/// A grouped stream with session windows: its `aggregate` needs a merger.
pub type SessionWindowedGrouped<K, V> = WindowedGrouped<K, V, SessionWindows>;

/// The late-record type of a windowed table: the input key and value.
pub type Late<K, V> = (K, V);

impl<K: Key, V: Data, W: Windowing> WindowedGrouped<K, V, W> {
    /// When results go downstream (default: on update, once per commit).
    ///
    /// ```
    /// # use weir_topology::prelude::*;
    /// # use weir_topology::testing::TopologyTestDriver;
    /// # use std::time::Duration;
    /// let builder = TopologyBuilder::new();
    /// builder
    ///     .stream(Source::topic("clicks", StringSerde, StringSerde))
    ///     .group_by_key()
    ///     .windowed_by(TumblingWindows::of(Duration::from_secs(60)).grace(Duration::from_secs(10)))
    ///     .emit(EmitStrategy::OnWindowClose) // one final count per window
    ///     .count("clicks-per-minute")
    ///     .to_stream()
    ///     .map(|w, n| (format!("{}@{}", w.key, w.window.start), n))
    ///     .to(Sink::topic("final", StringSerde, JsonSerde::<u64>::new()));
    /// let driver = TopologyTestDriver::new(builder.build()?)?;
    /// let clicks = driver.input_topic("clicks", StringSerde, StringSerde);
    /// clicks.pipe("ann".into(), "a".into(), 1_000)?;
    /// clicks.pipe("ann".into(), "b".into(), 30_000)?;
    /// let out = driver.output_topic("final", StringSerde, JsonSerde::<u64>::new());
    /// assert!(out.read_values()?.is_empty()); // still open
    /// clicks.pipe("bob".into(), "c".into(), 75_000)?; // stream time passes 60 s + 10 s grace
    /// assert_eq!(out.read_key_values()?, [("ann@0".to_string(), 2)]);
    /// # Ok::<(), weir_topology::TopologyError>(())
    /// ```
    pub fn emit(mut self, emit: EmitStrategy) -> Self {
        self.emit = emit;
        self
    }

    /// Keeps windows in the store at least this long after they start (for queries; sliding
    /// windows keep what their results need).
    pub fn retention(mut self, retention: Duration) -> Self {
        self.retention = Some(i64::try_from(retention.as_millis()).unwrap_or(i64::MAX));
        self
    }

    /// The records per key and window, in the window store `name`.
    ///
    /// ```
    /// # use weir_topology::prelude::*;
    /// # use weir_topology::testing::TopologyTestDriver;
    /// # use std::time::Duration;
    /// let builder = TopologyBuilder::new();
    /// builder
    ///     .stream(Source::topic("clicks", StringSerde, StringSerde))
    ///     .group_by_key()
    ///     .windowed_by(HoppingWindows::of(Duration::from_secs(60), Duration::from_secs(30)))
    ///     .count("clicks-per-minute");
    /// let driver = TopologyTestDriver::new(builder.build()?)?;
    /// let clicks = driver.input_topic("clicks", StringSerde, StringSerde);
    /// clicks.pipe("ann".into(), "a".into(), 40_000)?; // in [0, 60 s) and [30 s, 90 s)
    /// let counts: Vec<(String, i64, u64)> = driver.window_entries("clicks-per-minute")?;
    /// assert_eq!(counts, [("ann".to_string(), 0, 1), ("ann".to_string(), 30_000, 1)]);
    /// # Ok::<(), weir_topology::TopologyError>(())
    /// ```
    pub fn count(&self, name: &str) -> Table<Windowed<K>, u64, Late<K, V>> {
        let merger: Merger<K, u64> = Arc::new(|_, a, b| a + b);
        W::materialize(self, name, count_adder(), merger)
    }

    /// Combines the values of each key and window with `f` (which also merges sessions).
    ///
    /// ```
    /// # use weir_topology::prelude::*;
    /// # use weir_topology::testing::TopologyTestDriver;
    /// # use std::time::Duration;
    /// let builder = TopologyBuilder::new();
    /// builder
    ///     .stream(Source::topic("temperatures", StringSerde, JsonSerde::<i32>::new()))
    ///     .group_by_key()
    ///     .windowed_by(TumblingWindows::of(Duration::from_secs(3600)))
    ///     .reduce("hourly-high", |a, b| a.max(b));
    /// let driver = TopologyTestDriver::new(builder.build()?)?;
    /// let input = driver.input_topic("temperatures", StringSerde, JsonSerde::<i32>::new());
    /// input.pipe_all([("oslo".into(), 3, 0), ("oslo".into(), 9, 60_000), ("oslo".into(), 4, 3_600_000)])?;
    /// let highs: Vec<(String, i64, i32)> = driver.window_entries("hourly-high")?;
    /// assert_eq!(highs, [("oslo".to_string(), 0, 9), ("oslo".to_string(), 3_600_000, 4)]);
    /// # Ok::<(), weir_topology::TopologyError>(())
    /// ```
    pub fn reduce(
        &self,
        name: &str,
        f: impl Fn(V, V) -> V + Send + Sync + 'static,
    ) -> Table<Windowed<K>, V, Late<K, V>> {
        let f: Arc<dyn Fn(V, V) -> V + Send + Sync> = Arc::new(f);
        let f2 = f.clone();
        let merger: Merger<K, V> = Arc::new(move |_, a, b| f2(a, b));
        W::materialize(self, name, reduce_adder(f), merger)
    }

    /// The stream to aggregate, its builder with `name`'s validation error deferred if any,
    /// and the node attachment.
    fn input(&self, name: &str, check: Result<(), String>) -> (Stream<K, V>, TopologyBuilder) {
        let input = input_for(&self.stream, name);
        let builder = input.builder.clone();
        if let Err(reason) = check {
            builder.defer_error(TopologyError::config(name, reason));
        }
        (input, builder)
    }
}

/// Where a windowed aggregation node attaches.
fn attach<'a, K, V>(input: &Stream<K, V>, name: &str, stores: &'a [&'a str]) -> Attach<'a> {
    Attach {
        operator: "WINDOW-AGGREGATE",
        name: Some(name.to_string()),
        parents: vec![(input.node, input.port.clone())],
        stores,
        terminal: true,
    }
}

impl<K: Key, V: Data> WindowedGrouped<K, V, Windows> {
    /// Folds the values of each key and window into an `A`, starting from `init()`.
    pub fn aggregate<A: Data>(
        &self,
        name: &str,
        init: impl Fn() -> A + Send + Sync + 'static,
        adder: impl Fn(&K, &V, A) -> A + Send + Sync + 'static,
    ) -> Table<Windowed<K>, A, Late<K, V>> {
        self.materialize_time(name, aggregate_adder(init, adder))
    }

    fn materialize_time<A: Data>(
        &self,
        name: &str,
        adder: Adder<K, V, A>,
    ) -> Table<Windowed<K>, A, Late<K, V>> {
        let (input, builder) = self.input(name, self.windows.validate());
        let w = self.windows;
        let (store, emit, grace) = (name.to_string(), self.emit, w.grace_ms);
        let stores = [name];
        let at = attach(&input, name, &stores);
        let node = match w.kind {
            WindowKind::Time { size_ms, .. } => {
                let retention = self
                    .retention
                    .unwrap_or(0)
                    .max(size_ms.saturating_add(grace));
                builder.add_store(StoreSpec::window::<K, A>(name, size_ms, retention));
                builder.add_processor::<K, V, Windowed<K>, A, _, _>(at, move || {
                    let logic = TimeWindowLogic::new(store.clone(), w, retention, adder.clone());
                    WindowedAggregate::new(logic, emit)
                })
            }
            WindowKind::Sliding { difference_ms } => {
                let retention = difference_ms.saturating_add(grace);
                builder.add_store(StoreSpec::window::<K, Vec<V>>(name, 1, retention));
                builder.add_processor::<K, V, Windowed<K>, A, _, _>(at, move || {
                    let (d, a) = (difference_ms, adder.clone());
                    WindowedAggregate::new(
                        SlidingWindowLogic::new(store.clone(), d, grace, a),
                        emit,
                    )
                })
            }
        };
        Table::new(builder, node, Some(name.to_string()))
    }
}

impl<K: Key, V: Data> SessionWindowedGrouped<K, V> {
    /// Folds the values of each key and session into an `A`, starting from `init()`;
    /// `merger` combines the results of two sessions that a record joins together.
    ///
    /// ```
    /// use std::time::Duration;
    /// use weir_topology::prelude::*;
    ///
    /// let builder = TopologyBuilder::new();
    /// builder
    ///     .stream(Source::topic("clicks", StringSerde, JsonSerde::<u32>::new()))
    ///     .group_by_key()
    ///     .windowed_by(SessionWindows::with_gap(Duration::from_secs(300)))
    ///     .aggregate("pages", || 0u64, |_, _, n| n + 1, |_, a, b| a + b)
    ///     .to_stream()
    ///     .to(Sink::topic("sessions", JsonSerde::new(), JsonSerde::<u64>::new()));
    /// assert!(builder.build().is_ok());
    /// ```
    ///
    /// Without the merger, it does not compile:
    ///
    /// ```compile_fail
    /// use std::time::Duration;
    /// use weir_topology::prelude::*;
    ///
    /// let builder = TopologyBuilder::new();
    /// builder
    ///     .stream(Source::topic("clicks", StringSerde, JsonSerde::<u32>::new()))
    ///     .group_by_key()
    ///     .windowed_by(SessionWindows::with_gap(Duration::from_secs(300)))
    ///     .aggregate("pages", || 0u64, |_, _, n| n + 1);
    /// ```
    pub fn aggregate<A: Data>(
        &self,
        name: &str,
        init: impl Fn() -> A + Send + Sync + 'static,
        adder: impl Fn(&K, &V, A) -> A + Send + Sync + 'static,
        merger: impl Fn(&K, A, A) -> A + Send + Sync + 'static,
    ) -> Table<Windowed<K>, A, Late<K, V>> {
        let adder = aggregate_adder(init, adder);
        self.materialize_sessions(name, adder, Arc::new(merger))
    }

    fn materialize_sessions<A: Data>(
        &self,
        name: &str,
        adder: Adder<K, V, A>,
        merger: Merger<K, A>,
    ) -> Table<Windowed<K>, A, Late<K, V>> {
        let (input, builder) = self.input(name, self.windows.validate());
        let w = self.windows;
        let retention = self
            .retention
            .unwrap_or(0)
            .max(w.gap_ms.saturating_add(w.grace_ms));
        let (store, emit) = (name.to_string(), self.emit);
        let stores = [name];
        builder.add_store(StoreSpec::session::<K, A>(name, retention));
        let node = builder.add_processor::<K, V, Windowed<K>, A, _, _>(
            attach(&input, name, &stores),
            move || {
                let (a, m) = (adder.clone(), merger.clone());
                let logic = SessionWindowLogic::new(store.clone(), w, retention, a, m);
                WindowedAggregate::new(logic, emit)
            },
        );
        Table::new(builder, node, Some(name.to_string()))
    }
}

impl sealed::Sealed for Windows {
    fn materialize<K: Key, V: Data, A: Data>(
        grouped: &WindowedGrouped<K, V, Self>,
        name: &str,
        adder: Adder<K, V, A>,
        _merger: Merger<K, A>,
    ) -> Table<Windowed<K>, A, Late<K, V>> {
        grouped.materialize_time(name, adder)
    }
}

impl sealed::Sealed for SessionWindows {
    fn materialize<K: Key, V: Data, A: Data>(
        grouped: &WindowedGrouped<K, V, Self>,
        name: &str,
        adder: Adder<K, V, A>,
        merger: Merger<K, A>,
    ) -> Table<Windowed<K>, A, Late<K, V>> {
        grouped.materialize_sessions(name, adder, merger)
    }
}
