//! A PostgreSQL source, like Kafka Connect's JDBC source connector: a table (or a query) read
//! once (`bulk`) or followed by polling (`incrementing`, `timestamp`, `timestamp+incrementing`),
//! each row a record whose value is a JSON object by column name (so `JsonSerde<MyRow>` reads
//! it into a serde struct), whose key is made of chosen columns, and whose timestamp is the
//! timestamp column's (timestamp modes) or the wall clock at the read.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use serde::{Deserialize, Serialize};
//! use std::sync::Arc;
//! use std::time::Duration;
//! use weir_processors::sources::postgres::{PostgresConfig, PostgresSource};
//! use weir_topology::prelude::*;
//!
//! #[derive(Debug, Clone, Serialize, Deserialize)]
//! struct Station {
//!     stop_id: i32,
//!     stop_name: String,
//!     red: bool,
//! }
//!
//! let config = PostgresConfig::builder("postgres://weir:secret@127.0.0.1:5432/transit")
//!     .table("stations")
//!     .incrementing("stop_id")
//!     .key_columns(["stop_id"])
//!     .poll_interval(Duration::from_secs(1))
//!     .build()?;
//! let builder = TopologyBuilder::new();
//! builder
//!     .stream(Source::connector(
//!         Arc::new(PostgresSource::new(config)),
//!         JsonSerde::<i32>::new(),
//!         JsonSerde::<Station>::new(),
//!     ))
//!     .to(Sink::topic("org.chicago.cta.stations", JsonSerde::<i32>::new(), JsonSerde::<Station>::new()));
//! let broker = Arc::new(MemoryBroker::new(1));
//! let streams = Streams::new(builder.build()?, broker, StreamsConfig::new("stations").state_dir("state")?);
//! streams.run_until_ctrl_c().await?;
//! # Ok(())
//! # }
//! ```
//!
//! # Positions: committed with the task, never skipped or repeated
//!
//! The source's position (the last id, timestamp, or both) is the record's offset: the task
//! commits the offset after the last record it finished together with its state (one sled
//! transaction with `StreamsConfig::state_dir`), and a restarted task opens the source at that
//! offset. So position and state cannot disagree, and a restart neither skips nor repeats a
//! row, whatever the moment of the crash. Offsets are plain `i64`s, so each mode packs its
//! position into one (`position.rs`):
//!
//! - **incrementing**: the offset is the id (`WHERE id >= committed ORDER BY id LIMIT n`).
//!   Ids must be 0 or more. A row inserted with an id below one already read (a transaction
//!   that committed after a later one) is missed, as with the JDBC connector.
//! - **timestamp+incrementing**: the position is the pair (timestamp, id); rows are read in
//!   (timestamp *second*, id) order and the offset is `second << 31 | id`, which holds both
//!   exactly for seconds from 1970 to 2106 and ids up to 2^31 - 1 (`serial`'s range); a row
//!   outside fails the source with a clear error rather than a wrong position. Truncating to
//!   the second costs nothing in exactness, because a second is read only once it is over
//!   (and `timestamp_delay` has passed): no row can join it afterwards. Each insert or update
//!   (with a new timestamp) is read exactly once, even among rows sharing a timestamp.
//! - **timestamp**: rows are read in timestamp order, a millisecond only once it is over; the
//!   offset is `millisecond << 21 | i`, where the millisecond's last row takes the largest
//!   `i`. A restart after a whole millisecond resumes after it; a restart in the middle of a
//!   millisecond shared by several rows reads that millisecond again, repeating the rows of it
//!   that were done: rows with equal timestamps cannot be told apart by their position, the
//!   limit of this mode (the JDBC connector's too). Use timestamp+incrementing to avoid it.
//! - **bulk**: the offset is the row's index in the load; a restart skips that many rows of
//!   the query (`OFFSET`), which is exact when the load is ordered (`bulk_ordered_by`) and the
//!   table did not change meanwhile. The partition ends after the last row.
//!
//! # Types
//!
//! Values are mapped as the JDBC connector's types come out of Kafka's JSON converter (the
//! table in `types.rs`): integers and floats as JSON numbers, `numeric` as a decimal string
//! (`"12.50"`, exact; [`NumericMapping::Number`] for a JSON number), text and `uuid` as strings,
//! booleans, `json`/`jsonb` inline, `bytea` as base64, timestamps as epoch milliseconds
//! (`timestamp` without time zone read as UTC), dates as days since 1970, times as
//! milliseconds since midnight ([`TemporalMapping::Iso`] for ISO 8601 strings), `NULL` as
//! `null`. Any other type fails the source at start, naming the column: cast it in a query.
//!
//! # Failures
//!
//! [`PostgresSource`] connects when the application plans its tasks, so a wrong password, a
//! missing table or column, or an unmapped type fail the start with a [`PostgresError`] that
//! says which. A lost connection (a server restart, `pg_terminate_backend`, a network
//! failure) is retried with exponential backoff, logged as a `tracing` warning, and the
//! source resumes from the last batch it handed over; after [`RetryPolicy::deadline`] without
//! success the task fails with [`PostgresError::Unavailable`].
//!
//! # TLS
//!
//! libpq's `sslmode` and `sslrootcert`, in the connection string or from the builder
//! ([`PostgresConfigBuilder::ssl_mode`], [`PostgresConfigBuilder::ssl_root_cert`], which take
//! precedence). TLS is rustls with the *ring* provider (as the Kafka client's), over
//! tokio-postgres-rustls, which gives SCRAM-SHA-256-PLUS its channel binding.
//!
//! | `sslmode` | TLS | the server's certificate |
//! | --- | --- | --- |
//! | `disable` | never | — |
//! | `prefer` (default) | when the server offers it; plain if the handshake fails | not checked; with `sslrootcert`, its CA (else plain) |
//! | `require` | always | not checked; with `sslrootcert`, its CA |
//! | `verify-ca` | always | signed by a CA of `sslrootcert` (default: the system's) |
//! | `verify-full` | always | that, and it names the host as written (DNS name or IP address) |
//!
//! `sslrootcert` is a PEM file of CA certificates, or `system` (the system's trust store, as in
//! libpq 16; `verify-full` only). Unlike libpq, `verify-ca` and `verify-full` without it trust
//! the system's CAs rather than `~/.postgresql/root.crt`. A Unix-socket host never uses TLS (as
//! in libpq). An unreadable or invalid `sslrootcert`, or a mode that does not fit it, fails
//! [`PostgresConfigBuilder::build`]; a refused certificate, a failed handshake or a server that
//! does not accept TLS while the mode requires it fail the start at once (no retry) with
//! [`PostgresError::Tls`], which says which.
//!
//! A client certificate, for a server that asks for one (`cert` authentication, or
//! `clientcert=` in `pg_hba.conf`): libpq's `sslcert` and `sslkey` (PEM files, the key
//! unencrypted), in the connection string or from the builder
//! ([`PostgresConfigBuilder::ssl_cert`], [`PostgresConfigBuilder::ssl_key`], which take
//! precedence); libpq's defaults under `~/.postgresql/` are not read. Both or neither; an
//! unreadable or invalid file, a key that is not the certificate's, or either with `disable`
//! fails [`PostgresConfigBuilder::build`], naming the file. A certificate the server refuses
//! fails the start at once with [`PostgresError::Tls`]; none where the server requires one,
//! with [`PostgresError::Credentials`] (the server's message says so).
//!
//! ```no_run
//! use weir_processors::sources::postgres::{PostgresConfig, SslMode};
//!
//! // In the connection string (percent-encode the path if it needs it)...
//! let config = PostgresConfig::builder(
//!     "postgres://weir:secret@db.example.com/transit?sslmode=verify-full&sslrootcert=/etc/weir/pg-ca.pem",
//! )
//! .table("stations")
//! .bulk()
//! .build()?;
//! assert_eq!(config.ssl_mode(), SslMode::VerifyFull);
//! // ...or from the builder.
//! let config = PostgresConfig::builder("postgres://weir:secret@db.example.com/transit")
//!     .ssl_mode(SslMode::VerifyFull)
//!     .ssl_root_cert("/etc/weir/pg-ca.pem")
//!     .table("stations")
//!     .bulk()
//!     .build()?;
//! # Ok::<(), weir_processors::sources::postgres::PostgresError>(())
//! ```

mod builder;
mod client_cert;
mod config;
mod conninfo;
mod error;
mod fetcher;
mod position;
mod reader;
mod rows;
mod session;
mod sql;
mod tls;
mod types;

pub use config::{
    Mode, NumericMapping, PostgresConfig, PostgresConfigBuilder, RetryPolicy, TemporalMapping,
};
pub use error::PostgresError;
pub use tls::SslMode;

use async_trait::async_trait;
use config::Origin;
use fetcher::Fetcher;
use position::Position;
use reader::PostgresReader;
use std::sync::Arc;
use tokio::sync::mpsc;
use weir_topology::connect::{PartitionReader, SourceConnector, StartFrom};
use weir_topology::{Result, TopologyError};

/// Batches the fetcher may be ahead of the task.
const BATCHES_AHEAD: usize = 4;

/// A table or query of a PostgreSQL database as a source connector with one partition (see
/// the [module docs](self)).
#[derive(Debug, Clone)]
pub struct PostgresSource {
    config: Arc<PostgresConfig>,
    name: String,
}

impl PostgresSource {
    /// A source with these settings, named `postgres:<table>` (or `postgres:query-<hash>`):
    /// the name under which the task commits its position, so it must not change between runs
    /// (see [`PostgresSource::named`]).
    pub fn new(config: PostgresConfig) -> Self {
        let name = match &config.origin {
            Origin::Table(table) => format!("postgres:{table}"),
            Origin::Query(sql) => format!("postgres:query-{:016x}", fnv1a(sql.as_bytes())),
        };
        Self {
            config: Arc::new(config),
            name,
        }
    }

    /// The same source under another name (two sources of one table in one application
    /// need two names).
    ///
    /// ```
    /// use weir_processors::sources::postgres::{PostgresConfig, PostgresSource};
    /// use weir_topology::connect::SourceConnector;
    ///
    /// let config = PostgresConfig::builder("postgres://weir@localhost/transit")
    ///     .table("stations")
    ///     .bulk()
    ///     .build()?;
    /// assert_eq!(PostgresSource::new(config.clone()).name(), "postgres:stations");
    /// assert_eq!(PostgresSource::new(config).named("stations-copy").name(), "stations-copy");
    /// # Ok::<(), weir_processors::sources::postgres::PostgresError>(())
    /// ```
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// The settings.
    pub fn config(&self) -> &PostgresConfig {
        &self.config
    }
}

#[async_trait]
impl SourceConnector for PostgresSource {
    fn name(&self) -> String {
        self.name.clone()
    }

    /// One partition. Connects first (retrying an unreachable server), so that refused
    /// credentials, a missing table or column and unmapped types fail the start.
    async fn partitions(&self) -> Result<u32> {
        session::open_with_retry(&self.config)
            .await
            .map_err(|e| TopologyError::connector(&self.name, e))?;
        Ok(1)
    }

    async fn open(&self, partition: u32, start: StartFrom) -> Result<Box<dyn PartitionReader>> {
        if partition != 0 {
            return Err(TopologyError::connector(
                &self.name,
                format!("no partition {partition}: a PostgreSQL source has one"),
            ));
        }
        let mode = &self.config.mode;
        let (position, from_latest) = match start {
            StartFrom::Earliest => (Position::beginning(mode), false),
            StartFrom::Offset(next) => (Position::after_commit(mode, next), false),
            StartFrom::Latest => (Position::beginning(mode), true),
            StartFrom::Timestamp(ms) => (Position::from_timestamp(mode, ms), false),
        };
        let (tx, rx) = mpsc::channel(BATCHES_AHEAD);
        let fetcher = Fetcher::new(self.config.clone(), position, from_latest, tx);
        tokio::spawn(fetcher.run());
        Ok(Box::new(PostgresReader::new(self.name.clone(), rx)))
    }
}

/// FNV-1a: a stable hash of a query's text, for the source's default name.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn config(f: impl FnOnce(PostgresConfigBuilder) -> PostgresConfigBuilder) -> PostgresConfig {
        f(PostgresConfig::builder("postgres://u:pw@127.0.0.1:1/db"))
            .build()
            .unwrap()
    }

    #[test]
    fn names_are_stable_and_hold_no_credentials() {
        let table = PostgresSource::new(config(|b| b.table("transit.stations").bulk()));
        assert_eq!(table.name(), "postgres:transit.stations");
        let query = |sql: &str| PostgresSource::new(config(|b| b.query(sql).bulk())).name();
        assert_eq!(query("SELECT 1"), query("SELECT 1"));
        assert_ne!(query("SELECT 1"), query("SELECT 2"));
        assert!(!query("SELECT 1").contains("pw"));
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
    }

    #[tokio::test]
    async fn only_partition_zero_opens() {
        let source = PostgresSource::new(config(|b| b.table("t").incrementing("id")));
        let err = source.open(1, StartFrom::Earliest).await.err().unwrap();
        assert!(err.to_string().contains("postgres:t"), "{err}");
    }
}
