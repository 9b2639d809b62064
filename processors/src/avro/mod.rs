//! Avro serdes (feature `avro`): [`AvroSerde`] for raw Avro binary under a known schema, and
//! [`ConfluentAvroSerde`] for the Confluent wire format with a [`SchemaRegistry`].
//!
//! # Registry calls from synchronous serdes
//!
//! [`Serde`](weir_topology::Serde) calls are synchronous and run on the task's thread (a tokio
//! worker in an application). The design keeps registry traffic off that path:
//!
//! - The writer schema is registered when the serde is made ([`ConfluentAvroSerde::new`],
//!   or [`ConfluentAvroSerde::new_async`] from async code), before any record flows; writing
//!   never calls the registry.
//! - Schemas are cached both ways for the life of the [`SchemaRegistry`] (ids are immutable),
//!   so a reader calls the registry once per writer schema id it meets, usually once or twice
//!   in a topic's life.
//! - That one call runs on the registry client's own thread (a single-threaded tokio runtime
//!   of its own, see the `http` module): the serde waits on a channel, announced to tokio
//!   with `block_in_place` on a multi-threaded runtime so the worker's other tasks move
//!   elsewhere meanwhile. The caller's runtime is never asked to drive the request, so the wait
//!   cannot deadlock a current-thread runtime or the test driver (which has none), and each
//!   request has a timeout (10 s by default, [`SchemaRegistry::with_timeout`]).

mod confluent;
mod http;
mod registry;
mod serde;
pub mod wire;

pub use confluent::ConfluentAvroSerde;
pub use registry::{RegistryError, SchemaRegistry, SubjectKind};
pub use serde::{AvroError, AvroSerde};

/// The registry fixture the unit tests share with the crate's integration tests.
#[cfg(test)]
#[path = "../../tests/avro_support/registry_fixture.rs"]
mod registry_fixture;
