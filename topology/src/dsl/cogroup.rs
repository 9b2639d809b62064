//! Cogroup: several grouped streams, each with its own value type and aggregator, folded into
//! one result per key in one store (Kafka Streams' `cogroup`), without windows or per window.

use super::builder::{Attach, TopologyBuilder};
use super::grouped::Grouped;
use super::table::{OldValues, Table};
use crate::data::{Data, Key};
use crate::ops::aggregate::{Adder, KeyedAggregate};
use crate::ops::cogroup::{Aggregator, CogroupValue};
use crate::ops::map::MapValues;
use crate::ops::session_aggregate::{Merger, SessionWindowLogic};
use crate::ops::window_aggregate::TimeWindowLogic;
use crate::ops::window_core::WindowedAggregate;
use crate::stores::StoreSpec;
use crate::windows::{EmitStrategy, SessionWindows, WindowKind, Windowed, Windows};
use crate::TopologyError;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

/// One input of a cogroup, attached when the aggregation is: its node, whether its key changed
/// since its source, and how to attach it for the aggregation `name` as its `index`-th input
/// (repartitioned when its key changed, keys written with the serde upstream of `partner`, then
/// tagged with its aggregator). `attach` returns the tagging node and the input's node.
struct CogroupInput {
    node: usize,
    key_changed: bool,
    attach: AttachInput,
}

/// See [`CogroupInput`]: `(name, index, partner)` to `(tagging node, input node)`.
type AttachInput = Box<dyn Fn(&str, usize, Option<usize>) -> (usize, usize)>;

/// Grouped streams folded together into one result per key: made by [`Grouped::cogroup`], grown
/// by [`Cogrouped::cogroup`], and materialized by [`Cogrouped::aggregate`] (or per window,
/// after [`Cogrouped::windowed_by`]).
///
/// ```
/// # use weir_topology::prelude::*;
/// # use weir_topology::testing::TopologyTestDriver;
/// #[derive(Clone, Default, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
/// struct Customer { orders: u64, spent: u64, visits: u64 }
///
/// let builder = TopologyBuilder::new();
/// let orders = builder.stream(Source::topic("orders", StringSerde, JsonSerde::<u64>::new()));
/// let visits = builder.stream(Source::topic("visits", StringSerde, StringSerde));
/// orders
///     .group_by_key()
///     .cogroup(|_, amount, c: Customer| Customer { orders: c.orders + 1, spent: c.spent + amount, ..c })
///     .cogroup(&visits.group_by_key(), |_, _page, c| Customer { visits: c.visits + 1, ..c })
///     .aggregate("customers", Customer::default);
/// let driver = TopologyTestDriver::new(builder.build()?)?;
/// driver.input_topic("orders", StringSerde, JsonSerde::<u64>::new()).pipe("ann".into(), 30, 0)?;
/// driver.input_topic("visits", StringSerde, StringSerde).pipe("ann".into(), "home".into(), 1)?;
/// let customers: Vec<(String, Customer)> = driver.kv_entries("customers")?;
/// assert_eq!(customers, [("ann".to_string(), Customer { orders: 1, spent: 30, visits: 1 })]);
/// # Ok::<(), weir_topology::TopologyError>(())
/// ```
pub struct Cogrouped<K, A> {
    builder: TopologyBuilder,
    inputs: Vec<CogroupInput>,
    emit: EmitStrategy,
    _types: PhantomData<fn() -> (K, A)>,
}

impl<K: Key, V: Data> Grouped<K, V> {
    /// Starts a cogroup: this grouped stream's values fold into an `A` with `aggregator`; more
    /// grouped streams join with [`Cogrouped::cogroup`]. All inputs must be co-partitioned
    /// (checked when the topology is planned); an input whose key changed is repartitioned.
    pub fn cogroup<A: Data>(
        &self,
        aggregator: impl Fn(&K, &V, A) -> A + Send + Sync + 'static,
    ) -> Cogrouped<K, A> {
        Cogrouped {
            builder: self.stream.builder.clone(),
            inputs: vec![tagged_input(self, Arc::new(aggregator))],
            emit: self.emit,
            _types: PhantomData,
        }
    }
}

/// How `grouped` joins a cogroup: its stream (repartitioned if needed), then a node that pairs
/// each value with `aggregator`.
fn tagged_input<K: Key, V: Data, A: Data>(
    grouped: &Grouped<K, V>,
    aggregator: Aggregator<K, V, A>,
) -> CogroupInput {
    let stream = grouped.stream.clone();
    CogroupInput {
        node: stream.node,
        key_changed: stream.key_changed,
        attach: Box::new(move |name, index, partner| {
            let input = stream.repartitioned_for_join(&format!("{name}-{index}"), partner);
            let aggregator = aggregator.clone();
            let node = input
                .builder
                .add_processor::<K, V, K, CogroupValue<K, A>, _, _>(
                    Attach {
                        operator: "COGROUP",
                        name: None,
                        parents: vec![(input.node, input.port.clone())],
                        stores: &[],
                        terminal: false,
                    },
                    move || {
                        let aggregator = aggregator.clone();
                        MapValues {
                            f: Arc::new(move |_, v: V| CogroupValue::new(v, aggregator.clone())),
                        }
                    },
                );
            (node, input.node)
        }),
    }
}

impl<K: Key, A: Data> Cogrouped<K, A> {
    /// Adds `grouped` to the cogroup: its values fold into the same result with `aggregator`.
    pub fn cogroup<V: Data>(
        mut self,
        grouped: &Grouped<K, V>,
        aggregator: impl Fn(&K, &V, A) -> A + Send + Sync + 'static,
    ) -> Self {
        self.inputs
            .push(tagged_input(grouped, Arc::new(aggregator)));
        self
    }

    /// When results go downstream (default: the first grouped stream's, on update once per
    /// commit).
    pub fn emit(mut self, emit: EmitStrategy) -> Self {
        self.emit = emit;
        self
    }

    /// The result per key, starting from `init()` and folded with each input's aggregator in
    /// the order the records arrive, in the key-value store `name`.
    pub fn aggregate(
        &self,
        name: &str,
        init: impl Fn() -> A + Send + Sync + 'static,
    ) -> Table<K, A> {
        let adder = fold_from::<K, A>(init);
        let (emit, store) = (self.emit, name.to_string());
        self.builder.add_store(StoreSpec::key_value::<K, A>(name));
        let node = self.attach_aggregation("COGROUP-AGGREGATE", name, move || {
            KeyedAggregate::new(store.clone(), adder.clone(), emit)
        });
        Table::of_changes(self.builder.clone(), node, Some(name.to_string()))
    }

    /// Aggregates per key and window: tumbling or hopping [`Windows`], or [`SessionWindows`].
    /// Sliding windows are refused when the topology is built (their store keeps each input
    /// value, which a cogroup's values of several types cannot be).
    pub fn windowed_by<W: Copy>(self, windows: W) -> WindowedCogrouped<K, A, W> {
        WindowedCogrouped {
            cogrouped: self,
            windows,
            retention: None,
        }
    }

    /// Attaches every input, requires them co-partitioned, and adds the aggregation node with
    /// all the tagged inputs as parents.
    fn attach_aggregation<KOut, VOut, P, F>(
        &self,
        operator: &'static str,
        name: &str,
        supplier: F,
    ) -> usize
    where
        KOut: Clone + Send + 'static,
        VOut: Clone + Send + 'static,
        P: crate::processor::Processor<K, CogroupValue<K, A>, KOut, VOut>,
        F: Fn() -> P + Send + Sync + 'static,
    {
        // Repartitioned inputs write their keys as the first input read straight from its
        // topic does, so that equal keys land in equal partitions on every input.
        let partner = self.inputs.iter().find(|i| !i.key_changed).map(|i| i.node);
        let attached: Vec<(usize, usize)> = self
            .inputs
            .iter()
            .enumerate()
            .map(|(i, input)| (input.attach)(name, i, partner))
            .collect();
        if attached.len() > 1 {
            let inputs: Vec<usize> = attached.iter().map(|(_, input)| *input).collect();
            self.builder.require_copartitioned(&inputs);
        }
        let stores = [name];
        self.builder
            .add_processor::<K, CogroupValue<K, A>, KOut, VOut, _, _>(
                Attach {
                    operator,
                    name: Some(name.to_string()),
                    parents: attached.iter().map(|(tag, _)| (*tag, None)).collect(),
                    stores: &stores,
                    terminal: true,
                },
                supplier,
            )
    }
}

/// The adder of a cogroup's aggregation: each tagged value folds itself into the result.
fn fold_from<K: 'static, A: 'static>(
    init: impl Fn() -> A + Send + Sync + 'static,
) -> Adder<K, CogroupValue<K, A>, A> {
    Arc::new(move |k, step: CogroupValue<K, A>, old| step.fold(k, old.unwrap_or_else(&init)))
}

/// A cogroup with windows, ready to aggregate into a table keyed by [`Windowed`]. Late records
/// are counted and dropped (a cogroup's inputs have several value types: there is no one late
/// stream to give them to).
pub struct WindowedCogrouped<K, A, W> {
    cogrouped: Cogrouped<K, A>,
    windows: W,
    retention: Option<i64>,
}

impl<K: Key, A: Data, W> WindowedCogrouped<K, A, W> {
    /// Keeps windows (for queries) at least `retention` after they start; at least the window
    /// size plus grace (time windows) or gap plus grace (sessions) in any case.
    pub fn retention(mut self, retention: Duration) -> Self {
        self.retention = Some(i64::try_from(retention.as_millis()).unwrap_or(i64::MAX));
        self
    }
}

impl<K: Key, A: Data> WindowedCogrouped<K, A, Windows> {
    /// The result per key and window, starting from `init()` in each window, in the window
    /// store `name`.
    pub fn aggregate(
        &self,
        name: &str,
        init: impl Fn() -> A + Send + Sync + 'static,
    ) -> Table<Windowed<K>, A> {
        let c = &self.cogrouped;
        let w = self.windows;
        let (store, emit, adder) = (name.to_string(), c.emit, fold_from::<K, A>(init));
        let size_ms = match w.kind {
            WindowKind::Time { size_ms, .. } => size_ms,
            WindowKind::Sliding { .. } => {
                c.builder.defer_error(TopologyError::config(
                    name,
                    "a cogroup takes tumbling, hopping or session windows, not sliding windows",
                ));
                1
            }
        };
        if let Err(reason) = w.validate() {
            c.builder.defer_error(TopologyError::config(name, reason));
        }
        let retention = self
            .retention
            .unwrap_or(0)
            .max(size_ms.saturating_add(w.grace_ms));
        c.builder
            .add_store(StoreSpec::window::<K, A>(name, size_ms, retention));
        let old_values = OldValues::default();
        let asked = old_values.clone();
        let node = c.attach_aggregation("COGROUP-WINDOW-AGGREGATE", name, move || {
            let logic = TimeWindowLogic::new(store.clone(), w, retention, adder.clone());
            WindowedAggregate::new(logic, emit).with_old_values(asked.wanted())
        });
        Table::windowed(c.builder.clone(), node, Some(name.to_string()), old_values)
    }
}

impl<K: Key, A: Data> WindowedCogrouped<K, A, SessionWindows> {
    /// The result per key and session, starting from `init()` in each session; two sessions that
    /// a record bridges combine with `merger`. In the session store `name`.
    pub fn aggregate(
        &self,
        name: &str,
        init: impl Fn() -> A + Send + Sync + 'static,
        merger: impl Fn(&K, A, A) -> A + Send + Sync + 'static,
    ) -> Table<Windowed<K>, A> {
        let c = &self.cogrouped;
        let w = self.windows;
        if let Err(reason) = w.validate() {
            c.builder.defer_error(TopologyError::config(name, reason));
        }
        let retention = self
            .retention
            .unwrap_or(0)
            .max(w.gap_ms.saturating_add(w.grace_ms));
        let (store, emit, adder) = (name.to_string(), c.emit, fold_from::<K, A>(init));
        let merger: Merger<K, A> = Arc::new(merger);
        c.builder
            .add_store(StoreSpec::session::<K, A>(name, retention));
        let old_values = OldValues::default();
        let asked = old_values.clone();
        let node = c.attach_aggregation("COGROUP-SESSION-AGGREGATE", name, move || {
            let (a, m) = (adder.clone(), merger.clone());
            WindowedAggregate::new(
                SessionWindowLogic::new(store.clone(), w, retention, a, m),
                emit,
            )
            .with_old_values(asked.wanted())
        });
        Table::windowed(c.builder.clone(), node, Some(name.to_string()), old_values)
    }
}
