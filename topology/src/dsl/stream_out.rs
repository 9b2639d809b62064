//! `Stream<K, V>`: where a stream ends — topics, connectors, typed sinks.

use super::builder::Sink;
use super::stream::Stream;
use crate::data::Data;
use crate::graph::{NodeArgs, NodeFactory, NodeRole, NodeSpec};
use crate::ops::sink::SinkProcessor;
use crate::runtime::io::endpoints::SinkNode;
use crate::runtime::task::node::Node;
use crate::sink::{RecordSink, SharedSink, SinkSupplier};
use crate::stores::type_pair;
use std::sync::Arc;

impl<K: Data, V: Data> Stream<K, V> {
    /// Writes the stream to a topic or connector.
    ///
    /// ```
    /// # use weir_topology::prelude::*;
    /// # use weir_topology::testing::TopologyTestDriver;
    /// let builder = TopologyBuilder::new();
    /// builder
    ///     .stream(Source::topic("words", StringSerde, StringSerde))
    ///     .map_values(|w| w.to_uppercase())
    ///     .to(Sink::topic("shouted", StringSerde, StringSerde));
    /// let driver = TopologyTestDriver::new(builder.build()?)?;
    /// let words = driver.input_topic("words", StringSerde, StringSerde);
    /// words.pipe("k".into(), "hello".into(), 0)?;
    /// let shouted = driver.output_topic("shouted", StringSerde, StringSerde);
    /// assert_eq!(shouted.read_values()?, ["HELLO"]);
    /// # Ok::<(), weir_topology::TopologyError>(())
    /// ```
    pub fn to(&self, sink: Sink<K, V>) {
        self.add_sink(sink, false);
    }

    pub(crate) fn add_sink(&self, sink: Sink<K, V>, internal: bool) -> usize {
        let name = sink
            .name
            .clone()
            .unwrap_or_else(|| self.builder.auto_name("sink"));
        let (ks, vs) = (sink.key_serde.clone(), sink.value_serde.clone());
        let topic_of = sink.topic_of.clone();
        let node_name = name.clone();
        let factory: NodeFactory = Arc::new(move |args: NodeArgs| {
            Box::new(SinkNode::<K, V> {
                name: node_name.clone(),
                outbox: args.outbox,
                key_serde: ks.clone(),
                value_serde: vs.clone(),
                keyless: Default::default(),
                topic_of: topic_of.clone(),
            }) as Box<dyn Node>
        });
        self.builder.push_node(NodeSpec {
            name,
            operator: "SINK",
            role: NodeRole::Sink {
                endpoint: sink.endpoint,
                types: type_pair::<K, V>(),
                internal,
                config: sink.topic_config,
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
    ///
    /// ```
    /// # use weir_topology::prelude::*;
    /// # use weir_topology::testing::TopologyTestDriver;
    /// use std::sync::{Arc, Mutex};
    /// /// Keeps the values it is given in a list that outlives the run.
    /// struct Collect(Arc<Mutex<Vec<u32>>>);
    /// impl RecordSink<String, u32> for Collect {
    ///     fn write(&mut self, record: &Record<String, u32>) -> weir_topology::Result<()> {
    ///         let mut seen = self.0.lock().map_err(|_| {
    ///             weir_topology::TopologyError::connector("collect", "lock poisoned")
    ///         })?;
    ///         seen.push(*record.value());
    ///         Ok(())
    ///     }
    /// }
    /// let seen = Arc::new(Mutex::new(Vec::new()));
    /// let list = seen.clone();
    /// let builder = TopologyBuilder::new();
    /// builder
    ///     .stream(Source::topic("sizes", StringSerde, JsonSerde::<u32>::new()))
    ///     .sink("collect", move || Collect(list.clone())); // one sink per task
    /// let driver = TopologyTestDriver::new(builder.build()?)?;
    /// let sizes = driver.input_topic("sizes", StringSerde, JsonSerde::<u32>::new());
    /// sizes.pipe("a".into(), 3, 0)?;
    /// sizes.pipe("b".into(), 5, 1)?;
    /// assert_eq!(*seen.lock().unwrap(), [3, 5]);
    /// # Ok::<(), weir_topology::TopologyError>(())
    /// ```
    pub fn sink<M, F: SinkSupplier<K, V, M>>(&self, name: &str, supplier: F) {
        let mut at = self.attach("RECORD-SINK", true);
        at.name = Some(name.to_string());
        self.builder
            .add_processor::<K, V, K, V, _, _>(at, move || SinkProcessor::new(supplier.make()));
    }

    /// Writes the stream to one sink instance shared by every task (a chart, a dashboard
    /// series): see [`SharedSink`] for what its calls mean. Keep a clone of `sink` to use it
    /// after the run.
    ///
    /// ```
    /// # use weir_topology::prelude::*;
    /// # use weir_topology::testing::{DriverConfig, TopologyTestDriver};
    /// /// The total of the values written by every task.
    /// struct Total(u64);
    /// impl RecordSink<String, u64> for Total {
    ///     fn write(&mut self, record: &Record<String, u64>) -> weir_topology::Result<()> {
    ///         self.0 += record.value();
    ///         Ok(())
    ///     }
    /// }
    /// let total = SharedSink::new(Total(0));
    /// let builder = TopologyBuilder::new();
    /// builder
    ///     .stream(Source::topic("amounts", StringSerde, JsonSerde::<u64>::new()))
    ///     .shared_sink("total", &total);
    /// let config = DriverConfig { partitions: 4, ..DriverConfig::default() };
    /// let driver = TopologyTestDriver::with_config(builder.build()?, config)?;
    /// let amounts = driver.input_topic("amounts", StringSerde, JsonSerde::<u64>::new());
    /// for (shop, amount) in [("north", 5), ("south", 7), ("east", 30)] {
    ///     amounts.pipe(shop.to_string(), amount, 0)?; // to different partitions, tasks
    /// }
    /// assert_eq!(total.with(|t| t.0), 42); // one sink saw every task's records
    /// # Ok::<(), weir_topology::TopologyError>(())
    /// ```
    pub fn shared_sink<S: RecordSink<K, V>>(&self, name: &str, sink: &SharedSink<S>) {
        let shared = sink.clone();
        self.sink(name, move || shared.handle());
    }
}
