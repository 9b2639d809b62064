//! Grouped streams with windows: [`WindowedGrouped`] (tumbling, hopping and sliding windows) and
//! [`SessionWindowedGrouped`], and their `count`, `reduce` and `aggregate` per key and window.

use super::builder::{Attach, TopologyBuilder};
use super::grouped::{aggregate_adder, count_adder, input_for, reduce_adder};
use super::stream::Stream;
use super::table::{OldValues, Table};
use crate::change::Change;
use crate::data::{Data, Key};
use crate::ops::aggregate::Adder;
use crate::ops::session_aggregate::{Merger, SessionWindowLogic};
use crate::ops::sliding_aggregate::SlidingWindowLogic;
use crate::ops::window_aggregate::TimeWindowLogic;
use crate::ops::window_core::WindowedAggregate;
use crate::stores::StoreSpec;
use crate::windows::{EmitStrategy, SessionWindows, WindowKind, Windowed, Windows};
use crate::TopologyError;
use std::sync::Arc;
use std::time::Duration;

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

/// A windowing that [`Grouped::windowed_by`](crate::Grouped::windowed_by) accepts: [`Windows`] (tumbling, hopping, sliding)
/// or [`SessionWindows`]. Sealed.
pub trait Windowing: sealed::Sealed {}

impl Windowing for Windows {}
impl Windowing for SessionWindows {}

/// A grouped stream with a windowing, ready to aggregate into a table keyed by [`Windowed`].
/// `W` is [`Windows`] for time windows and [`SessionWindows`] for sessions
/// ([`SessionWindowedGrouped`]).
pub struct WindowedGrouped<K, V, W = Windows> {
    pub(super) stream: Stream<K, V>,
    pub(super) windows: W,
    pub(super) emit: EmitStrategy,
    pub(super) retention: Option<i64>,
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
        let old_values = OldValues::default();
        let asked = old_values.clone();
        let node = match w.kind {
            WindowKind::Time { size_ms, .. } => {
                let retention = self
                    .retention
                    .unwrap_or(0)
                    .max(size_ms.saturating_add(grace));
                builder.add_store(StoreSpec::window::<K, A>(name, size_ms, retention));
                builder.add_processor::<K, V, Windowed<K>, Change<A>, _, _>(at, move || {
                    let logic = TimeWindowLogic::new(store.clone(), w, retention, adder.clone());
                    WindowedAggregate::new(logic, emit).with_old_values(asked.wanted())
                })
            }
            WindowKind::Sliding { difference_ms } => {
                let retention = difference_ms.saturating_add(grace);
                builder.add_store(StoreSpec::window::<K, Vec<V>>(name, 1, retention));
                builder.add_processor::<K, V, Windowed<K>, Change<A>, _, _>(at, move || {
                    let (d, a) = (difference_ms, adder.clone());
                    WindowedAggregate::new(
                        SlidingWindowLogic::new(store.clone(), d, grace, a),
                        emit,
                    )
                    .with_old_values(asked.wanted())
                })
            }
        };
        Table::windowed(builder, node, Some(name.to_string()), old_values)
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
    /// Its table forwards changes like any table: a merge deletes the sessions it replaces.
    ///
    /// ```
    /// # use weir_topology::prelude::*;
    /// # use weir_topology::testing::TopologyTestDriver;
    /// use std::time::Duration;
    /// use weir_topology::Nullable;
    /// let builder = TopologyBuilder::new();
    /// builder
    ///     .stream(Source::topic("clicks", StringSerde, StringSerde))
    ///     .group_by_key()
    ///     .windowed_by(SessionWindows::with_gap(Duration::from_secs(300)).grace(Duration::from_secs(600)))
    ///     .emit(EmitStrategy::OnEveryRecord)
    ///     .aggregate("pages", || 0u64, |_, _, n| n + 1, |_, a, b| a + b)
    ///     .to_changelog_stream()
    ///     .map(|w, n| (format!("{}@{}-{}", w.key, w.window.start, w.window.end), n))
    ///     .to(Sink::topic("sessions", StringSerde, Nullable::new(JsonSerde::<u64>::new())));
    /// let driver = TopologyTestDriver::new(builder.build()?)?;
    /// let clicks = driver.input_topic("clicks", StringSerde, StringSerde);
    /// clicks.pipe("ann".into(), "home".into(), 0)?;
    /// clicks.pipe("ann".into(), "cart".into(), 600_000)?; // 10 minutes later: a new session
    /// clicks.pipe("ann".into(), "faq".into(), 300_000)?; // late but within grace, and within
    ///                                                   // the gap of both: merges them
    /// let sessions = driver.output_topic("sessions", StringSerde, Nullable::new(JsonSerde::<u64>::new()));
    /// let changes = sessions.read_key_values()?;
    /// let expected = [("ann@0-0", Some(1)), ("ann@600000-600000", Some(1)), // two sessions
    ///     ("ann@0-0", None), ("ann@600000-600000", None), ("ann@0-600000", Some(3))]; // merged
    /// assert_eq!(changes, expected.map(|(k, n)| (k.to_string(), n)));
    /// # Ok::<(), weir_topology::TopologyError>(())
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
        let old_values = OldValues::default();
        let asked = old_values.clone();
        let node = builder.add_processor::<K, V, Windowed<K>, Change<A>, _, _>(
            attach(&input, name, &stores),
            move || {
                let (a, m) = (adder.clone(), merger.clone());
                let logic = SessionWindowLogic::new(store.clone(), w, retention, a, m);
                WindowedAggregate::new(logic, emit).with_old_values(asked.wanted())
            },
        );
        Table::windowed(builder, node, Some(name.to_string()), old_values)
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
