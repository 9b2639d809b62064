//! Avro serdes (feature `avro`): [`AvroSerde`] for raw Avro binary under a known schema, and
//! [`ConfluentAvroSerde`] for the Confluent wire format with a [`SchemaRegistry`]; and
//! [`RegistryServer`], an embedded schema registry for demos and tests without one.
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
mod derived;
mod http;
mod registry;
mod registry_server;
mod serde;
pub mod wire;

/// The apache-avro crate weir uses. `#[derive(AvroSchema)]` writes code that names
/// `apache_avro`: `use weir_processors::avro::apache_avro;` next to the derive brings it into
/// scope without a dependency of one's own.
pub use apache_avro;
/// apache-avro's schema trait and its derive macro (`#[derive(AvroSchema)]`, with the
/// `#[avro(...)]` attributes: `namespace`, `doc`, `alias`, a field's `default` as JSON), for
/// [`AvroSerde::derived`] and [`ConfluentAvroSerde::derived`].
pub use apache_avro::AvroSchema;
pub use confluent::ConfluentAvroSerde;
pub use registry::{RegistryError, SchemaRegistry, SubjectKind};
pub use registry_server::RegistryServer;
pub use serde::{AvroError, AvroSerde};

/// The unit tests' registry: an embedded [`RegistryServer`] on a free loopback port, with the
/// same surface as the integration tests' fixture (`tests/avro_support/registry_fixture.rs`).
#[cfg(test)]
pub(crate) mod registry_fixture {
    use super::RegistryServer;

    /// A running registry; stops when dropped.
    pub(crate) struct RegistryFixture {
        /// `http://127.0.0.1:port`.
        pub url: String,
        server: RegistryServer,
    }

    impl RegistryFixture {
        /// Starts a registry on a free loopback port.
        #[allow(clippy::expect_used)]
        pub(crate) fn start() -> Self {
            let addr = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
            let server = RegistryServer::start(addr).expect("the registry starts");
            Self {
                url: server.url().to_string(),
                server,
            }
        }

        /// Every request so far, as "METHOD path".
        pub(crate) fn requests(&self) -> Vec<String> {
            self.server.requests()
        }

        /// The ids registered under `subject`, oldest first.
        pub(crate) fn versions(&self, subject: &str) -> Vec<u32> {
            self.server.versions(subject)
        }
    }
}
