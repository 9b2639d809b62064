//! Grouped streams and their aggregations: `count`, `reduce`, `aggregate`, with or without windows.

use super::builder::Attach;
use super::stream::Stream;
use super::table::Table;
use crate::data::{Data, Key};
use crate::ops::aggregate::{Adder, KeyedAggregate};
use crate::ops::session_aggregate::{Merger, SessionAggregate};
use crate::ops::sliding_aggregate::SlidingAggregate;
use crate::ops::window_aggregate::TimeWindowAggregate;
use crate::stores::StoreSpec;
use crate::windows::{EmitStrategy, WindowKind, Windowed, Windows};
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
    pub fn emit(mut self, emit: EmitStrategy) -> Self {
        self.emit = emit;
        self
    }

    /// The records per key since the start.
    pub fn count(&self, name: &str) -> Table<K, u64> {
        self.materialize(name, count_adder())
    }

    /// Combines the values of each key with `f`.
    pub fn reduce(&self, name: &str, f: impl Fn(V, V) -> V + Send + Sync + 'static) -> Table<K, V> {
        self.materialize(name, reduce_adder(Arc::new(f)))
    }

    /// Folds the values of each key into an `A`, starting from `init()`.
    pub fn aggregate<A: Data>(
        &self,
        name: &str,
        init: impl Fn() -> A + Send + Sync + 'static,
        adder: impl Fn(&K, &V, A) -> A + Send + Sync + 'static,
    ) -> Table<K, A> {
        self.materialize(name, aggregate_adder(init, adder))
    }

    /// Aggregates per key and window.
    pub fn windowed_by(&self, windows: Windows) -> WindowedGrouped<K, V> {
        WindowedGrouped {
            stream: self.stream.clone(),
            windows,
            emit: self.emit,
            retention: None,
            merger: None,
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

/// A grouped stream with a windowing, ready to aggregate into a table keyed by [`Windowed`].
pub struct WindowedGrouped<K, V> {
    stream: Stream<K, V>,
    windows: Windows,
    emit: EmitStrategy,
    retention: Option<i64>,
    merger: Option<Merger<K, V>>,
}

/// The late-record type of a windowed table: the input key and value.
pub type Late<K, V> = (K, V);

impl<K: Key, V: Data> WindowedGrouped<K, V> {
    /// When results go downstream (default: on update, once per commit).
    pub fn emit(mut self, emit: EmitStrategy) -> Self {
        self.emit = emit;
        self
    }

    /// Keeps windows in the store at least this long after they start (for queries).
    pub fn retention(mut self, retention: Duration) -> Self {
        self.retention = Some(i64::try_from(retention.as_millis()).unwrap_or(i64::MAX));
        self
    }

    /// The records per key and window.
    pub fn count(&self, name: &str) -> Table<Windowed<K>, u64, Late<K, V>> {
        let merger: Merger<K, u64> = Arc::new(|_, a, b| a + b);
        self.materialize(name, count_adder(), Some(merger))
    }

    /// Combines the values of each key and window with `f` (which also merges sessions).
    pub fn reduce(
        &self,
        name: &str,
        f: impl Fn(V, V) -> V + Send + Sync + 'static,
    ) -> Table<Windowed<K>, V, Late<K, V>> {
        let f: Arc<dyn Fn(V, V) -> V + Send + Sync> = Arc::new(f);
        let f2 = f.clone();
        let merger: Merger<K, V> = Arc::new(move |_, a, b| f2(a, b));
        self.materialize(name, reduce_adder(f), Some(merger))
    }

    /// Folds the values of each key and window into an `A`, starting from `init()`.
    /// Session windows also need [`WindowedGrouped::aggregate_sessions`]'s merger.
    pub fn aggregate<A: Data>(
        &self,
        name: &str,
        init: impl Fn() -> A + Send + Sync + 'static,
        adder: impl Fn(&K, &V, A) -> A + Send + Sync + 'static,
    ) -> Table<Windowed<K>, A, Late<K, V>> {
        self.materialize(name, aggregate_adder(init, adder), None)
    }

    /// `aggregate` for session windows: `merger` combines two sessions joined by a record.
    pub fn aggregate_sessions<A: Data>(
        &self,
        name: &str,
        init: impl Fn() -> A + Send + Sync + 'static,
        adder: impl Fn(&K, &V, A) -> A + Send + Sync + 'static,
        merger: impl Fn(&K, A, A) -> A + Send + Sync + 'static,
    ) -> Table<Windowed<K>, A, Late<K, V>> {
        self.materialize(name, aggregate_adder(init, adder), Some(Arc::new(merger)))
    }

    fn materialize<A: Data>(
        &self,
        name: &str,
        adder: Adder<K, V, A>,
        merger: Option<Merger<K, A>>,
    ) -> Table<Windowed<K>, A, Late<K, V>> {
        let _ = &self.merger;
        let input = input_for(&self.stream, name);
        let builder = input.builder.clone();
        if let Err(reason) = self.windows.validate() {
            builder.defer_error(TopologyError::config(name, reason));
        }
        let w = self.windows;
        let (store, emit, grace) = (name.to_string(), self.emit, w.grace_ms);
        let stores = [name];
        let at = Attach {
            operator: "WINDOW-AGGREGATE",
            name: Some(name.to_string()),
            parents: vec![(input.node, input.port.clone())],
            stores: &stores,
            terminal: true,
        };
        let node = match w.kind {
            WindowKind::Time { size_ms, .. } => {
                let retention = self
                    .retention
                    .unwrap_or(0)
                    .max(size_ms.saturating_add(grace));
                builder.add_store(StoreSpec::window::<K, A>(name, size_ms, retention));
                builder.add_processor::<K, V, Windowed<K>, A, _, _>(at, move || {
                    TimeWindowAggregate::new(store.clone(), w, retention, adder.clone(), emit)
                })
            }
            WindowKind::Sliding { difference_ms } => {
                let retention = difference_ms.saturating_add(grace);
                builder.add_store(StoreSpec::window::<K, Vec<V>>(name, 1, retention));
                builder.add_processor::<K, V, Windowed<K>, A, _, _>(at, move || {
                    SlidingAggregate::new(store.clone(), difference_ms, grace, adder.clone(), emit)
                })
            }
            WindowKind::Session { gap_ms } => {
                let retention = self
                    .retention
                    .unwrap_or(0)
                    .max(gap_ms.saturating_add(grace));
                let Some(merger) = merger else {
                    builder.defer_error(TopologyError::config(
                        name,
                        "session windows need a merger: use `aggregate_sessions`",
                    ));
                    return Table::new(builder, input.node, None);
                };
                builder.add_store(StoreSpec::session::<K, A>(name, retention));
                builder.add_processor::<K, V, Windowed<K>, A, _, _>(at, move || {
                    SessionAggregate::new(
                        store.clone(),
                        gap_ms,
                        grace,
                        retention,
                        adder.clone(),
                        merger.clone(),
                        emit,
                    )
                })
            }
        };
        Table::new(builder, node, Some(name.to_string()))
    }
}
