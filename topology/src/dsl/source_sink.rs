//! `Source` and `Sink`: where a stream reads from and writes to (a topic or a connector), with
//! the serdes of its keys and values and how its records get their event time.

use crate::graph::Endpoint;
use crate::runtime::io::broker::{SinkConnector, SourceConnector};
use crate::serde::Serde;
use crate::time::TimestampExtractor;
use std::sync::Arc;

/// Where a stream reads from: a topic (of the broker the application runs against) or a
/// connector, with the serdes of its keys and values and how its records get their event time.
pub struct Source<K, V> {
    pub(crate) endpoint: Endpoint<dyn SourceConnector>,
    pub(crate) key_serde: Arc<dyn Serde<K>>,
    pub(crate) value_serde: Arc<dyn Serde<V>>,
    pub(crate) timestamps: TimestampExtractor<V>,
    pub(crate) name: Option<String>,
}

impl<K, V> Source<K, V> {
    /// Reads `topic` with these serdes; event time is the record timestamp unless set
    /// ([`Source::timestamps`]).
    ///
    /// ```
    /// # use weir_topology::prelude::*;
    /// # use weir_topology::testing::TopologyTestDriver;
    /// let builder = TopologyBuilder::new();
    /// builder
    ///     .stream(Source::topic("clicks", StringSerde, JsonSerde::<u32>::new()))
    ///     .to(Sink::topic("out", StringSerde, JsonSerde::<u32>::new()));
    /// let driver = TopologyTestDriver::new(builder.build()?)?;
    /// let clicks = driver.input_topic("clicks", StringSerde, JsonSerde::<u32>::new());
    /// let output = driver.output_topic("out", StringSerde, JsonSerde::<u32>::new());
    /// clicks.pipe("ann".into(), 7, 0)?;
    /// assert_eq!(output.read_key_values()?, vec![("ann".to_string(), 7)]);
    /// # Ok::<(), weir_topology::TopologyError>(())
    /// ```
    pub fn topic(
        topic: impl Into<String>,
        key_serde: impl Serde<K>,
        value_serde: impl Serde<V>,
    ) -> Self {
        Self {
            endpoint: Endpoint::Topic(topic.into()),
            key_serde: Arc::new(key_serde),
            value_serde: Arc::new(value_serde),
            timestamps: TimestampExtractor::RecordTime,
            name: None,
        }
    }

    /// Reads from a connector (files, custom sources) with these serdes.
    ///
    /// ```
    /// # use weir_topology::prelude::*;
    /// # use weir_topology::testing::TopologyTestDriver;
    /// # use std::sync::Arc;
    /// # use weir_topology::{connect::OutRecord, connect::TopicSource};
    /// # let record = OutRecord { partition: 0, key: Some(b"k".to_vec()), value: Some(b"hi".to_vec()), timestamp: 0, headers: vec![] };
    /// let other = MemoryBroker::new(1); // any connector: files, another cluster...
    /// // ... holding the record ("k", "hi") in its topic "words"
    /// # other.append("words", vec![record])?;
    /// # other.close_topic("words");
    /// let connector = Arc::new(TopicSource::new(Arc::new(other), "words"));
    /// let builder = TopologyBuilder::new();
    /// builder
    ///     .stream(Source::connector(connector, StringSerde, StringSerde))
    ///     .to(Sink::topic("out", StringSerde, StringSerde));
    /// let driver = TopologyTestDriver::new(builder.build()?)?;
    /// driver.commit()?; // runs the tasks: they read the connector
    /// let output = driver.output_topic("out", StringSerde, StringSerde);
    /// assert_eq!(output.read_values()?, ["hi"]);
    /// # Ok::<(), weir_topology::TopologyError>(())
    /// ```
    pub fn connector(
        connector: Arc<dyn SourceConnector>,
        key_serde: impl Serde<K>,
        value_serde: impl Serde<V>,
    ) -> Self {
        Self {
            endpoint: Endpoint::Connector(connector),
            key_serde: Arc::new(key_serde),
            value_serde: Arc::new(value_serde),
            timestamps: TimestampExtractor::RecordTime,
            name: None,
        }
    }

    /// Sets how records get their event time.
    ///
    /// ```
    /// # use weir_topology::prelude::*;
    /// # use weir_topology::testing::TopologyTestDriver;
    /// let builder = TopologyBuilder::new();
    /// let events = Source::topic("in", StringSerde, JsonSerde::<i64>::new())
    ///     .timestamps(TimestampExtractor::field(|event_ms: &i64| Some(*event_ms)));
    /// builder
    ///     .stream(events)
    ///     .to(Sink::topic("out", StringSerde, JsonSerde::<i64>::new()));
    /// let driver = TopologyTestDriver::new(builder.build()?)?;
    /// let input = driver.input_topic("in", StringSerde, JsonSerde::<i64>::new());
    /// let output = driver.output_topic("out", StringSerde, JsonSerde::<i64>::new());
    /// input.pipe("k".into(), 5_000, 0)?; // record timestamp 0, event time 5 s
    /// assert_eq!(output.read_all()?[0].timestamp(), 5_000);
    /// # Ok::<(), weir_topology::TopologyError>(())
    /// ```
    pub fn timestamps(mut self, extractor: TimestampExtractor<V>) -> Self {
        self.timestamps = extractor;
        self
    }

    /// Names the source node.
    ///
    /// ```
    /// # use weir_topology::prelude::*;
    /// # use weir_topology::testing::TopologyTestDriver;
    /// let builder = TopologyBuilder::new();
    /// builder
    ///     .stream(Source::topic("in", StringSerde, StringSerde).named("clicks"))
    ///     .to(Sink::topic("out", StringSerde, StringSerde));
    /// let topology = builder.build()?;
    /// assert!(topology.describe().contains("Source: clicks (topics: [in])"));
    /// # Ok::<(), weir_topology::TopologyError>(())
    /// ```
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }
}

/// Where a stream writes to: a topic or a connector, with serdes.
pub struct Sink<K, V> {
    pub(crate) endpoint: Endpoint<dyn SinkConnector>,
    pub(crate) key_serde: Arc<dyn Serde<K>>,
    pub(crate) value_serde: Arc<dyn Serde<V>>,
    pub(crate) name: Option<String>,
}

impl<K, V> Sink<K, V> {
    /// Writes to `topic` with these serdes (created with the input's partition count if missing).
    ///
    /// ```
    /// # use weir_topology::prelude::*;
    /// # use weir_topology::testing::TopologyTestDriver;
    /// let builder = TopologyBuilder::new();
    /// builder
    ///     .stream(Source::topic("words", StringSerde, StringSerde))
    ///     .map_values(|word| word.len() as u64)
    ///     .to(Sink::topic("lengths", StringSerde, JsonSerde::<u64>::new()));
    /// let driver = TopologyTestDriver::new(builder.build()?)?;
    /// let words = driver.input_topic("words", StringSerde, StringSerde);
    /// words.pipe("k".into(), "hello".into(), 0)?;
    /// let raw = driver.broker().records("lengths", 0); // the bytes JsonSerde wrote
    /// assert_eq!(raw[0].value.as_deref(), Some(&b"5"[..]));
    /// # Ok::<(), weir_topology::TopologyError>(())
    /// ```
    pub fn topic(
        topic: impl Into<String>,
        key_serde: impl Serde<K>,
        value_serde: impl Serde<V>,
    ) -> Self {
        Self {
            endpoint: Endpoint::Topic(topic.into()),
            key_serde: Arc::new(key_serde),
            value_serde: Arc::new(value_serde),
            name: None,
        }
    }

    /// Writes to a connector with these serdes.
    ///
    /// ```
    /// # use weir_topology::prelude::*;
    /// # use weir_topology::testing::TopologyTestDriver;
    /// # use std::sync::Arc;
    /// # use weir_topology::connect::TopicSink;
    /// let archive = MemoryBroker::new(1); // any connector: files, another cluster...
    /// archive.create_topic("archive", 1);
    /// let connector = Arc::new(TopicSink::new(Arc::new(archive.clone()), "archive"));
    /// let builder = TopologyBuilder::new();
    /// builder
    ///     .stream(Source::topic("in", StringSerde, StringSerde))
    ///     .to(Sink::connector(connector, StringSerde, StringSerde));
    /// let driver = TopologyTestDriver::new(builder.build()?)?;
    /// let input = driver.input_topic("in", StringSerde, StringSerde);
    /// input.pipe("k".into(), "hi".into(), 0)?;
    /// assert_eq!(archive.records("archive", 0)[0].value.as_deref(), Some(&b"hi"[..]));
    /// # Ok::<(), weir_topology::TopologyError>(())
    /// ```
    pub fn connector(
        connector: Arc<dyn SinkConnector>,
        key_serde: impl Serde<K>,
        value_serde: impl Serde<V>,
    ) -> Self {
        Self {
            endpoint: Endpoint::Connector(connector),
            key_serde: Arc::new(key_serde),
            value_serde: Arc::new(value_serde),
            name: None,
        }
    }

    /// Names the sink node.
    ///
    /// ```
    /// # use weir_topology::prelude::*;
    /// # use weir_topology::testing::TopologyTestDriver;
    /// let builder = TopologyBuilder::new();
    /// builder
    ///     .stream(Source::topic("in", StringSerde, StringSerde))
    ///     .to(Sink::topic("out", StringSerde, StringSerde).named("archive"));
    /// let topology = builder.build()?;
    /// assert!(topology.describe().contains("Sink: archive (topic: out)"));
    /// # Ok::<(), weir_topology::TopologyError>(())
    /// ```
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }
}
