//! `Stream<K, V>`: looking at records, splitting and merging streams, custom processors.

use super::builder::Attach;
use super::stream::{BranchPredicate, Stream};
use crate::data::Data;
use crate::ops::branch::{branch_port, Branch};
use crate::ops::pass_through::PassThrough;
use crate::ops::peek::Peek;
use crate::processor::Processor;
use std::sync::Arc;

impl<K: Data, V: Data> Stream<K, V> {
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
        self.branches(predicates.into_iter().map(Arc::from).collect())
    }

    /// A stream per predicate, each record going to the first that holds (shared by `branch`
    /// and `split`).
    pub(super) fn branches(
        &self,
        predicates: Vec<crate::ops::filter::Predicate<K, V>>,
    ) -> Vec<Stream<K, V>> {
        let ports: Vec<String> = (0..predicates.len()).map(branch_port).collect();
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
}
