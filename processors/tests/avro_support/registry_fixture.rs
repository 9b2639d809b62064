//! The schema registry of the Avro tests: weir's embedded [`RegistryServer`] on a free loopback
//! port (the REST subset weir's client and Python's `confluent-kafka` use; see its docs).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use weir_processors::avro::RegistryServer;

/// A running registry; stops when dropped.
pub struct RegistryFixture {
    /// `http://127.0.0.1:port`.
    pub url: String,
    server: RegistryServer,
}

impl RegistryFixture {
    /// Starts a registry on a free loopback port.
    pub fn start() -> Self {
        let server = RegistryServer::start("127.0.0.1:0".parse().unwrap()).unwrap();
        Self {
            url: server.url().to_string(),
            server,
        }
    }

    /// Every request so far, as "METHOD path".
    pub fn requests(&self) -> Vec<String> {
        self.server.requests()
    }

    /// The ids registered under `subject`, oldest first.
    pub fn versions(&self, subject: &str) -> Vec<u32> {
        self.server.versions(subject)
    }
}
