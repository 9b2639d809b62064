//! HTTP ingest (feature `http`): the Confluent REST Proxy v2 produce API,
//! `POST /topics/{topic}` (and `POST /topics/{topic}/partitions/{partition}`) with `application/vnd.kafka.json.v2+json` or
//! `application/vnd.kafka.avro.v2+json` bodies (`{"records":[{"key":..,"value":..,
//! "partition":..}], "value_schema":..}`), answered as the proxy answers
//! (`{"offsets":[{"partition":0,"offset":7,"error_code":null,"error":null}],
//! "key_schema_id":null,"value_schema_id":3}`), in two modes:
//!
//! - [`HttpSource`]: the topics are sources of a topology. A request is answered only once
//!   the task that read its records committed past them (their processing, state and outputs
//!   durable), through the [`CommitAcknowledger`] placed after the source.
//! - [`HttpForwarder`]: a stand-alone proxy producing to a [`Broker`](weir_topology::Broker)'s
//!   topics, answering once the broker stored the records.
//!
//! JSON records are stored as their JSON text (what `JsonSerde` reads); Avro records are
//! converted from Avro's JSON encoding under the request's schema (registered under
//! `<topic>-value` / `<topic>-key`, or given by id) and stored in the Confluent wire format
//! (what `ConfluentAvroSerde` reads), as the REST proxy writes them to Kafka.
//!
//! Errors carry the proxy's codes and body `{"error_code":..,"message":..}`: 401 without the
//! bearer token (when one is set), 404/40401 for a topic not served, 404/40402 for a record's
//! partition that does not exist, 413 for a body over the limit, 415 for another content type,
//! 400 for a body that is not JSON and 422 for one of the wrong shape, 422/42201 and 42202 for
//! keys or values without a schema, 42203 for a record that does not fit its schema, 42205 for
//! a schema that does not parse, 429 when the in-flight limit is reached, 500/50002 when the
//! broker refuses the records and 500/50003 when they were not durable in time. Refused
//! requests and malformed records are counted ([`IngestCounts`]).
//!
//! The server listens on `127.0.0.1:8082` by default, runs on a thread of its own, bounds its
//! connections, the requests in flight and the records held uncommitted.
//!
//! An [`HttpSource`] keeps the records it received in memory until the task commits past them
//! (it is not a log that survives the process: a request is answered only once its records
//! are durable, so a crash before that loses nothing the client was told is stored; the client
//! retries). Its partitions are read by the application instance in the same process: run it
//! with every partition in that instance (the default, one instance). Latency is at most about
//! one commit interval plus processing, so a short `StreamsConfig::commit_interval` (tens of
//! milliseconds) suits it.
//!
//! ```no_run
//! # async fn run() -> weir_topology::Result<()> {
//! use serde::{Deserialize, Serialize};
//! use std::sync::Arc;
//! use weir_processors::sources::http::{HttpSource, HttpSourceConfig};
//! use weir_topology::prelude::*;
//!
//! #[derive(Debug, Clone, Serialize, Deserialize)]
//! struct Reading {
//!     sensor: String,
//!     celsius: f64,
//! }
//!
//! let http = HttpSource::start(HttpSourceConfig::new().port(8082).topic("readings", 2))?;
//! let builder = TopologyBuilder::new();
//! builder
//!     .stream(Source::connector(http.topic("readings")?, JsonSerde::<String>::new(), JsonSerde::<Reading>::new()))
//!     .process_values(http.acknowledger(), &[]) // answers the requests after each commit
//!     .filter(|_, r| r.celsius > 30.0)
//!     .to(Sink::topic("hot", JsonSerde::<String>::new(), JsonSerde::<Reading>::new()));
//! let config = http.track_commits(StreamsConfig::new("readings").state_dir("state")?);
//! let streams = Streams::new(builder.build()?, Arc::new(MemoryBroker::new(2)), config);
//! streams.run_until_ctrl_c().await?;
//! // curl -H 'Content-Type: application/vnd.kafka.json.v2+json' \
//! //   -d '{"records":[{"key":"s1","value":{"sensor":"s1","celsius":31.5}}]}' \
//! //   http://127.0.0.1:8082/topics/readings
//! # Ok(())
//! # }
//! ```

mod ack;
#[cfg(feature = "avro")]
mod avro_body;
#[cfg(feature = "avro")]
mod avro_json;
mod config;
mod connector;
mod forward;
mod ingest;
mod log;
mod request;
mod response;
mod routes;
mod server;
mod source;
mod stats;

pub use ack::CommitAcknowledger;
pub use config::{
    HttpSourceConfig, DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_HELD_RECORDS, DEFAULT_MAX_IN_FLIGHT,
    DEFAULT_PORT,
};
pub use connector::HttpTopicSource;
pub use forward::HttpForwarder;
pub use request::{EmbeddedFormat, AVRO_V2, JSON_V2};
pub use response::{PartitionOffset, ProduceResponse, RestError, RESPONSE_CONTENT_TYPE};
pub use source::HttpSource;
pub use stats::IngestCounts;
