//! HTTP ingest (feature `http`): the Confluent REST Proxy v2 produce API,
//! `POST /topics/{topic}` (and `POST /topics/{topic}/partitions/{partition}`) with `application/vnd.kafka.json.v2+json` or
//! `application/vnd.kafka.avro.v2+json` bodies (`{"records":[{"key":..,"value":..,
//! "partition":..}], "value_schema":..}`), answered as the proxy answers
//! (`{"offsets":[{"partition":0,"offset":7,"error_code":null,"error":null}],
//! "key_schema_id":null,"value_schema_id":3}`), in two modes:
//!
//! - [`HttpSource`]: the topics are sources of a topology. A request is answered only once
//!   the task that read its records committed past them (their processing, state and outputs
//!   durable): the source's partition readers learn of each commit from the runtime
//!   (`PartitionReader::committed`), so the topology and its `StreamsConfig` need nothing
//!   more than `Source::connector(http.topic(..))`.
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
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # tokio::runtime::Runtime::new()?.block_on(async {
//! use serde::{Deserialize, Serialize};
//! use std::sync::Arc;
//! use std::time::Duration;
//! use weir_processors::sources::http::{HttpSource, HttpSourceConfig};
//! use weir_topology::prelude::*;
//!
//! #[derive(Debug, Clone, Serialize, Deserialize)]
//! struct Reading {
//!     sensor: String,
//!     celsius: f64,
//! }
//!
//! // Port 0 picks a free port here; the default is 8082.
//! let http = HttpSource::start(HttpSourceConfig::new().port(0).topic("readings", 2))?;
//! let builder = TopologyBuilder::new();
//! builder
//!     .stream(Source::connector(http.topic("readings")?, JsonSerde::<String>::new(), JsonSerde::<Reading>::new()))
//!     .filter(|_, r| r.celsius > 30.0)
//!     .to(Sink::topic("hot", JsonSerde::<String>::new(), JsonSerde::<Reading>::new()));
//! let broker = MemoryBroker::new(2);
//! // A request waits for the commit after its records: commit often.
//! let config = StreamsConfig::new("readings").commit_interval(Duration::from_millis(20));
//! let streams = Arc::new(Streams::new(builder.build()?, Arc::new(broker.clone()), config));
//! let running = tokio::spawn({
//!     let streams = streams.clone();
//!     async move { streams.run().await }
//! });
//!
//! // What `curl -H 'Content-Type: application/vnd.kafka.json.v2+json' -d "$BODY"
//! // http://127.0.0.1:8082/topics/readings` sends:
//! let body = r#"{"records":[{"key":"s1","value":{"sensor":"s1","celsius":31.5}},
//!                           {"key":"s2","value":{"sensor":"s2","celsius":12.0}}]}"#;
//! let answer = post(http.local_addr(), "/topics/readings", body).await?;
//! // Answered once the task committed past both records: the hot one is in "hot" already.
//! assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
//! assert!(answer.contains(r#""offsets":[{"partition":"#), "{answer}");
//! assert_eq!(broker.len("hot"), 1);
//!
//! streams.shutdown_handle().trigger();
//! running.await??;
//! http.stop().await;
//! # Ok::<_, Box<dyn std::error::Error>>(())
//! # })
//! # }
//! # /// A bare HTTP/1.1 POST (what curl sends); the whole answer, head and body.
//! # async fn post(addr: std::net::SocketAddr, path: &str, body: &str) -> std::io::Result<String> {
//! #     use std::io::{Read, Write};
//! #     let request = format!(
//! #         "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: {}\r\n\
//! #          Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
//! #         weir_processors::sources::http::JSON_V2,
//! #         body.len()
//! #     );
//! #     tokio::task::spawn_blocking(move || {
//! #         let mut stream = std::net::TcpStream::connect(addr)?;
//! #         stream.write_all(request.as_bytes())?;
//! #         let mut answer = String::new();
//! #         stream.read_to_string(&mut answer)?;
//! #         Ok(answer)
//! #     })
//! #     .await?
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
