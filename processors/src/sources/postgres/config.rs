//! The PostgreSQL source's settings: what to read (a table or a query), how to follow it (the
//! mode), how rows become records (key columns, numeric and temporal mappings), how often to
//! poll, how connection failures are retried, and TLS. Built with [`PostgresConfig::builder`] and
//! validated by [`PostgresConfigBuilder::build`] (in `builder`).

pub use super::builder::PostgresConfigBuilder;
use super::tls::{SslMode, Tls};
use std::time::Duration;

/// How the source follows its table (Kafka Connect JDBC's `mode`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Mode {
    /// Reads the whole table (or query) once, then the partition ends. `order_by` columns make
    /// the order, and so a restart in the middle of the load, exact.
    Bulk {
        /// The columns the load is ordered by (none: the server's order).
        order_by: Vec<String>,
    },
    /// Reads rows whose strictly increasing integer `column` is above the last one read: new
    /// rows are picked up, updated rows are not.
    Incrementing {
        /// The strictly increasing column (smallint, integer or bigint, never negative).
        column: String,
    },
    /// Reads rows whose `column` (timestamp or timestamptz) is past the last one read: new
    /// and updated rows, when every insert and update sets it.
    Timestamp {
        /// The last-modified column.
        column: String,
    },
    /// Reads rows whose (`timestamp` second, `incrementing`) pair is past the last one read:
    /// new and updated rows, each exactly once per change, even when rows share a timestamp.
    TimestampIncrementing {
        /// The last-modified column (timestamp or timestamptz).
        timestamp: String,
        /// The strictly increasing column (integer, from 0 to 2^31 - 1).
        incrementing: String,
    },
}

impl Mode {
    /// The timestamp column, in the timestamp modes.
    pub fn timestamp_column(&self) -> Option<&str> {
        match self {
            Mode::Timestamp { column } => Some(column),
            Mode::TimestampIncrementing { timestamp, .. } => Some(timestamp),
            _ => None,
        }
    }

    /// The incrementing column, in the incrementing modes.
    pub fn incrementing_column(&self) -> Option<&str> {
        match self {
            Mode::Incrementing { column } => Some(column),
            Mode::TimestampIncrementing { incrementing, .. } => Some(incrementing),
            _ => None,
        }
    }
}

/// How `numeric` (decimal) columns appear in the JSON value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum NumericMapping {
    /// A JSON string with every digit and the column's scale: `"12.50"` (exact in any reader;
    /// `NaN` and `±Infinity` as `"NaN"`, `"Infinity"`, `"-Infinity"`). The default.
    #[default]
    String,
    /// A JSON number with every digit: `12.50` (a reader into `f64` rounds it); `NaN` and
    /// `±Infinity`, which JSON numbers cannot hold, stay strings.
    Number,
}

/// How `timestamp`, `timestamptz`, `date` and `time` columns appear in the JSON value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum TemporalMapping {
    /// Numbers, as the JDBC connector's logical types come out of Kafka's JSON converter:
    /// timestamps as epoch milliseconds (`timestamp` without time zone read as UTC), dates as
    /// days since 1970-01-01, times as milliseconds since midnight. The default.
    #[default]
    Epoch,
    /// ISO 8601 strings: `"2024-05-01T12:30:00.25Z"` (timestamptz, in UTC),
    /// `"2024-05-01T12:30:00.25"` (timestamp), `"2024-05-01"`, `"12:30:00.25"`.
    Iso,
}

/// How failures to reach the server are retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The first wait after a failure; each further wait doubles. Default 100 ms.
    pub initial_backoff: Duration,
    /// The longest wait between two attempts. Default 5 s.
    pub max_backoff: Duration,
    /// The source fails for good once the server has been unreachable for this long. Default 60 s.
    pub deadline: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
            deadline: Duration::from_secs(60),
        }
    }
}

/// What the source reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Origin {
    /// A table or view, optionally schema-qualified (`schema.table`).
    Table(String),
    /// A `SELECT` whose rows are read as those of a table.
    Query(String),
}

/// The PostgreSQL source's validated settings.
#[derive(Debug, Clone)]
pub struct PostgresConfig {
    pub(crate) connection: tokio_postgres::Config,
    pub(crate) tls: Tls,
    pub(crate) origin: Origin,
    pub(crate) mode: Mode,
    pub(crate) key_columns: Vec<String>,
    pub(crate) poll_interval: Duration,
    pub(crate) batch_max_rows: usize,
    pub(crate) timestamp_delay: Duration,
    pub(crate) numeric: NumericMapping,
    pub(crate) temporal: TemporalMapping,
    pub(crate) retry: RetryPolicy,
}

impl PostgresConfig {
    /// Settings for the server at `url`: a `postgres://user:password@host:port/db` URL or a
    /// `host=... user=...` string, with libpq's `sslmode`, `sslrootcert`, `sslcert` and `sslkey`
    /// among its parameters if need be (`?sslmode=verify-full&sslrootcert=/etc/weir/pg-ca.pem`).
    /// Then say what to read (`table` or `query`) and how (a mode).
    pub fn builder(url: impl Into<String>) -> PostgresConfigBuilder {
        PostgresConfigBuilder {
            url: url.into(),
            ssl_mode: None,
            ssl_root_cert: None,
            ssl_cert: None,
            ssl_key: None,
            origin: None,
            mode: None,
            key_columns: Vec::new(),
            poll_interval: Duration::from_secs(5),
            batch_max_rows: 1000,
            timestamp_delay: Duration::ZERO,
            numeric: NumericMapping::default(),
            temporal: TemporalMapping::default(),
            retry: RetryPolicy::default(),
        }
    }

    /// The mode.
    pub fn mode(&self) -> &Mode {
        &self.mode
    }

    /// The TLS mode (`sslmode`).
    pub fn ssl_mode(&self) -> SslMode {
        self.tls.mode
    }

    /// The server, without credentials: `host:port/database` (for logs and errors).
    pub fn server(&self) -> String {
        use tokio_postgres::config::Host;
        let hosts: Vec<String> = self
            .connection
            .get_hosts()
            .iter()
            .enumerate()
            .map(|(i, host)| {
                let port = self.connection.get_ports().get(i).copied().unwrap_or(5432);
                match host {
                    Host::Tcp(name) => format!("{name}:{port}"),
                    #[cfg(unix)]
                    Host::Unix(path) => format!("{}:{port}", path.display()),
                }
            })
            .collect();
        let db = self.connection.get_dbname().or(self.connection.get_user());
        format!("{}/{}", hosts.join(","), db.unwrap_or(""))
    }

    /// The user name the source connects as.
    pub fn user(&self) -> &str {
        self.connection.get_user().unwrap_or("")
    }
}
