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
}
