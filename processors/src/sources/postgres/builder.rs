//! [`PostgresConfigBuilder`]: the PostgreSQL source's settings one by one, and the checks that
//! [`PostgresConfigBuilder::build`] makes before a [`PostgresConfig`] exists.

use super::client_cert::ClientCert;
use super::config::{Mode, NumericMapping, Origin, PostgresConfig, RetryPolicy, TemporalMapping};
use super::conninfo::take_tls_params;
use super::error::PostgresError;
use super::tls::{RootCert, SslMode, Tls};
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

/// Builds a [`PostgresConfig`]; [`PostgresConfigBuilder::build`] checks the settings.
#[derive(Debug, Clone)]
#[must_use]
pub struct PostgresConfigBuilder {
    pub(super) url: String,
    pub(super) ssl_mode: Option<SslMode>,
    pub(super) ssl_root_cert: Option<PathBuf>,
    pub(super) ssl_cert: Option<PathBuf>,
    pub(super) ssl_key: Option<PathBuf>,
    pub(super) origin: Option<Origin>,
    pub(super) mode: Option<Mode>,
    pub(super) key_columns: Vec<String>,
    pub(super) poll_interval: Duration,
    pub(super) batch_max_rows: usize,
    pub(super) timestamp_delay: Duration,
    pub(super) numeric: NumericMapping,
    pub(super) temporal: TemporalMapping,
    pub(super) retry: RetryPolicy,
}

impl PostgresConfigBuilder {
    /// Reads the table (or view) `name`, optionally schema-qualified: `"stations"`,
    /// `"transit.stations"`. Names are used as written (quoted), so case matters.
    pub fn table(mut self, name: impl Into<String>) -> Self {
        self.origin = Some(Origin::Table(name.into()));
        self
    }

    /// Reads the rows of a `SELECT` (for example a join, or casts of unmapped types); the
    /// source wraps it, so it may not end with a semicolon.
    pub fn query(mut self, sql: impl Into<String>) -> Self {
        self.origin = Some(Origin::Query(sql.into()));
        self
    }

    /// Bulk mode: one load of every row, in no particular order; the partition then ends.
    pub fn bulk(mut self) -> Self {
        self.mode = Some(Mode::Bulk {
            order_by: Vec::new(),
        });
        self
    }

    /// Bulk mode, ordered by `columns` (unique together: then a restart resumes exactly).
    pub fn bulk_ordered_by<S: Into<String>>(
        mut self,
        columns: impl IntoIterator<Item = S>,
    ) -> Self {
        self.mode = Some(Mode::Bulk {
            order_by: columns.into_iter().map(Into::into).collect(),
        });
        self
    }

    /// Incrementing mode on the strictly increasing integer `column`.
    pub fn incrementing(mut self, column: impl Into<String>) -> Self {
        self.mode = Some(Mode::Incrementing {
            column: column.into(),
        });
        self
    }

    /// Timestamp mode on the last-modified `column`.
    pub fn timestamp(mut self, column: impl Into<String>) -> Self {
        self.mode = Some(Mode::Timestamp {
            column: column.into(),
        });
        self
    }

    /// Timestamp+incrementing mode on the last-modified `timestamp` column and the strictly
    /// increasing `incrementing` column.
    pub fn timestamp_incrementing(
        mut self,
        timestamp: impl Into<String>,
        incrementing: impl Into<String>,
    ) -> Self {
        self.mode = Some(Mode::TimestampIncrementing {
            timestamp: timestamp.into(),
            incrementing: incrementing.into(),
        });
        self
    }

    /// The columns that make the record key: none (the default) gives no key, one gives its
    /// JSON value (`42`, `"abc"`), several a JSON object of them.
    pub fn key_columns<S: Into<String>>(mut self, columns: impl IntoIterator<Item = S>) -> Self {
        self.key_columns = columns.into_iter().map(Into::into).collect();
        self
    }

    /// How long the source waits between two queries once it has read every row. Default 5 s.
    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval;
        self
    }

    /// Most rows one query returns (and one batch handed to the task holds). Default 1,000.
    pub fn batch_max_rows(mut self, rows: usize) -> Self {
        self.batch_max_rows = rows;
        self
    }

    /// Timestamp modes: rows are read only once their timestamp is this much older than the
    /// server's clock, leaving transactions that started earlier time to commit. Default 0.
    pub fn timestamp_delay(mut self, delay: Duration) -> Self {
        self.timestamp_delay = delay;
        self
    }

    /// How `numeric` columns appear ([`NumericMapping::String`] unless set).
    pub fn numeric(mut self, mapping: NumericMapping) -> Self {
        self.numeric = mapping;
        self
    }

    /// How dates and times appear ([`TemporalMapping::Epoch`] unless set).
    pub fn temporal(mut self, mapping: TemporalMapping) -> Self {
        self.temporal = mapping;
        self
    }

    /// How failures to reach the server are retried.
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Whether and how to use TLS (see [`SslMode`]); takes precedence over the connection
    /// string's `sslmode`. Default: the connection string's, else [`SslMode::Prefer`].
    pub fn ssl_mode(mut self, mode: SslMode) -> Self {
        self.ssl_mode = Some(mode);
        self
    }

    /// The PEM file of the CA certificates the server's certificate must be signed by; takes
    /// precedence over the connection string's `sslrootcert`. Without it, `verify-ca` and
    /// `verify-full` trust the system's CAs, and `prefer` and `require` check nothing.
    pub fn ssl_root_cert(mut self, path: impl Into<PathBuf>) -> Self {
        self.ssl_root_cert = Some(path.into());
        self
    }

    /// The PEM file of the client certificate (then any intermediates) shown to a server that
    /// asks for one (`cert` authentication, or `clientcert=` in its `pg_hba.conf`); takes
    /// precedence over the connection string's `sslcert`. Needs [`ssl_key`](Self::ssl_key).
    pub fn ssl_cert(mut self, path: impl Into<PathBuf>) -> Self {
        self.ssl_cert = Some(path.into());
        self
    }

    /// The PEM file of the client certificate's private key (unencrypted: PKCS#8, PKCS#1 or
    /// SEC1); takes precedence over the connection string's `sslkey`. Needs
    /// [`ssl_cert`](Self::ssl_cert).
    pub fn ssl_key(mut self, path: impl Into<PathBuf>) -> Self {
        self.ssl_key = Some(path.into());
        self
    }

    /// Checks the settings: a connection string that parses, a table or a query, a mode,
    /// non-empty column names, positive intervals and sizes, an `sslmode` that fits the
    /// `sslrootcert`, whose certificates are loaded here, and both or neither of `sslcert` and
    /// `sslkey`, loaded here too (the key must be the certificate's).
    pub fn build(self) -> Result<PostgresConfig, PostgresError> {
        let (conninfo, url_tls) =
            take_tls_params(&self.url).map_err(|e| PostgresError::config("url", e))?;
        let mut connection = tokio_postgres::Config::from_str(&conninfo).map_err(|e| {
            PostgresError::config("url", format!("not a PostgreSQL connection string ({e})"))
        })?;
        if connection.get_hosts().is_empty() {
            return Err(PostgresError::config("url", "no host"));
        }
        if connection.get_user().is_none() {
            return Err(PostgresError::config("url", "no user"));
        }
        if connection.get_connect_timeout().is_none() {
            connection.connect_timeout(Duration::from_secs(10));
        }
        if connection.get_application_name().is_none() {
            connection.application_name("weir");
        }
        let ssl_mode = match (self.ssl_mode, url_tls.sslmode) {
            (Some(mode), _) => mode,
            (None, Some(name)) => SslMode::parse(&name)?,
            (None, None) => SslMode::default(),
        };
        let root = match (self.ssl_root_cert, url_tls.sslrootcert) {
            (Some(path), _) => Some(RootCert::File(path)),
            (None, value) => value.as_deref().map(RootCert::parse),
        };
        let identity = ClientCert::pair(
            self.ssl_cert.or(url_tls.sslcert.map(PathBuf::from)),
            self.ssl_key.or(url_tls.sslkey.map(PathBuf::from)),
        )?;
        let tls = Tls::new(ssl_mode, root, identity)?;
        // libpq never uses TLS over a Unix socket (nor does the server accept it).
        let unix_only = connection
            .get_hosts()
            .iter()
            .all(|host| !matches!(host, tokio_postgres::config::Host::Tcp(_)));
        connection.ssl_mode(if unix_only {
            SslMode::Disable.negotiated()
        } else {
            ssl_mode.negotiated()
        });
        let origin = self
            .origin
            .ok_or_else(|| PostgresError::config("table", "set a table or a query to read"))?;
        match &origin {
            Origin::Table(name) => check_name("table", name)?,
            Origin::Query(sql) if sql.trim().is_empty() => {
                return Err(PostgresError::config("query", "empty"))
            }
            Origin::Query(sql) if sql.trim_end().ends_with(';') => {
                return Err(PostgresError::config("query", "remove the final semicolon"))
            }
            Origin::Query(_) => {}
        }
        let mode = self.mode.ok_or_else(|| {
            PostgresError::config(
                "mode",
                "set a mode: bulk, incrementing, timestamp or timestamp_incrementing",
            )
        })?;
        check_mode_columns(&mode)?;
        for column in &self.key_columns {
            check_name("key_columns", column)?;
        }
        if self.poll_interval.is_zero() {
            return Err(PostgresError::config("poll_interval", "must be above zero"));
        }
        if self.batch_max_rows == 0 {
            return Err(PostgresError::config(
                "batch_max_rows",
                "must be at least 1",
            ));
        }
        check_retry(&self.retry)?;
        Ok(PostgresConfig {
            connection,
            tls,
            origin,
            mode,
            key_columns: self.key_columns,
            poll_interval: self.poll_interval,
            batch_max_rows: self.batch_max_rows,
            timestamp_delay: self.timestamp_delay,
            numeric: self.numeric,
            temporal: self.temporal,
            retry: self.retry,
        })
    }
}

fn check_mode_columns(mode: &Mode) -> Result<(), PostgresError> {
    match mode {
        Mode::Bulk { order_by } => order_by.iter().try_for_each(|c| check_name("order_by", c)),
        Mode::Incrementing { column } => check_name("incrementing", column),
        Mode::Timestamp { column } => check_name("timestamp", column),
        Mode::TimestampIncrementing {
            timestamp,
            incrementing,
        } => {
            check_name("timestamp", timestamp)?;
            check_name("incrementing", incrementing)?;
            if timestamp == incrementing {
                return Err(PostgresError::config(
                    "incrementing",
                    "must be another column than the timestamp",
                ));
            }
            Ok(())
        }
    }
}

fn check_name(setting: &'static str, name: &str) -> Result<(), PostgresError> {
    if name.is_empty() || name.split('.').any(str::is_empty) {
        return Err(PostgresError::config(
            setting,
            format!("`{name}` is not a name"),
        ));
    }
    if name.contains('\0') {
        return Err(PostgresError::config(setting, "a name cannot contain NUL"));
    }
    Ok(())
}

fn check_retry(retry: &RetryPolicy) -> Result<(), PostgresError> {
    if retry.initial_backoff.is_zero() {
        return Err(PostgresError::config(
            "retry.initial_backoff",
            "must be above zero",
        ));
    }
    if retry.max_backoff < retry.initial_backoff {
        return Err(PostgresError::config(
            "retry.max_backoff",
            "must be at least retry.initial_backoff",
        ));
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    const URL: &str = "postgres://ann:secret@127.0.0.1:5433/transit";

    #[test]
    fn a_complete_builder_gives_its_settings_and_defaults() {
        let config = PostgresConfig::builder(URL)
            .table("transit.stations")
            .incrementing("stop_id")
            .key_columns(["stop_id"])
            .build()
            .unwrap();
        assert_eq!(
            config.mode(),
            &Mode::Incrementing {
                column: "stop_id".into()
            }
        );
        assert_eq!(config.server(), "127.0.0.1:5433/transit");
        assert_eq!(config.user(), "ann");
        assert_eq!(config.poll_interval, Duration::from_secs(5));
        assert_eq!(config.batch_max_rows, 1000);
        assert_eq!(config.numeric, NumericMapping::String);
        assert_eq!(config.temporal, TemporalMapping::Epoch);
        assert_eq!(
            config.connection.get_connect_timeout(),
            Some(&Duration::from_secs(10))
        );
    }

    #[test]
    fn the_server_description_never_shows_the_password() {
        let config = PostgresConfig::builder(URL)
            .table("t")
            .bulk()
            .build()
            .unwrap();
        assert!(!format!("{} {}", config.server(), config.user()).contains("secret"));
    }

    #[test]
    fn each_missing_or_bad_setting_is_named() {
        let cases: Vec<(PostgresConfigBuilder, &str)> = vec![
            (
                PostgresConfig::builder("no such thing").table("t").bulk(),
                "url",
            ),
            (
                PostgresConfig::builder("postgres://127.0.0.1/db")
                    .table("t")
                    .bulk(),
                "url",
            ),
            (PostgresConfig::builder(URL).bulk(), "table"),
            (PostgresConfig::builder(URL).table("t"), "mode"),
            (PostgresConfig::builder(URL).table("a..b").bulk(), "table"),
            (PostgresConfig::builder(URL).query(" ").bulk(), "query"),
            (
                PostgresConfig::builder(URL).query("select 1;").bulk(),
                "query",
            ),
            (
                PostgresConfig::builder(URL).table("t").incrementing(""),
                "incrementing",
            ),
            (
                PostgresConfig::builder(URL)
                    .table("t")
                    .timestamp_incrementing("x", "x"),
                "incrementing",
            ),
            (
                PostgresConfig::builder(URL)
                    .table("t")
                    .bulk()
                    .key_columns([""]),
                "key_columns",
            ),
            (
                PostgresConfig::builder(URL)
                    .table("t")
                    .bulk()
                    .poll_interval(Duration::ZERO),
                "poll_interval",
            ),
            (
                PostgresConfig::builder(URL)
                    .table("t")
                    .bulk()
                    .batch_max_rows(0),
                "batch_max_rows",
            ),
            (
                PostgresConfig::builder(URL)
                    .table("t")
                    .bulk()
                    .retry(RetryPolicy {
                        max_backoff: Duration::from_millis(1),
                        ..RetryPolicy::default()
                    }),
                "retry.max_backoff",
            ),
        ];
        for (builder, setting) in cases {
            match builder.build() {
                Err(PostgresError::Config { setting: s, .. }) => assert_eq!(s, setting),
                other => panic!("expected an error on {setting}, got {other:?}"),
            }
        }
    }

    #[test]
    fn tls_comes_from_the_connection_string_unless_the_builder_says_otherwise() {
        use tokio_postgres::config::SslMode as Negotiated;
        let build = |url: &str, f: fn(PostgresConfigBuilder) -> PostgresConfigBuilder| {
            f(PostgresConfig::builder(url).table("t").bulk()).build()
        };
        let plain = build(URL, |b| b).unwrap();
        assert_eq!(plain.ssl_mode(), SslMode::Prefer);
        assert_eq!(plain.connection.get_ssl_mode(), Negotiated::Prefer);
        let url = format!("{URL}?sslmode=require&application_name=app");
        let require = build(&url, |b| b).unwrap();
        assert_eq!(require.ssl_mode(), SslMode::Require);
        assert_eq!(require.connection.get_ssl_mode(), Negotiated::Require);
        assert_eq!(require.connection.get_application_name(), Some("app"));
        let disabled = build(&url, |b| b.ssl_mode(SslMode::Disable)).unwrap();
        assert_eq!(disabled.connection.get_ssl_mode(), Negotiated::Disable);
        // The builder's root certificate replaces the string's: the missing file is the one named.
        let err = build(
            &format!("{URL}?sslmode=verify-full&sslrootcert=/nonexistent/a.pem"),
            |b| b.ssl_root_cert("/nonexistent/b.pem"),
        )
        .unwrap_err();
        assert!(err.to_string().contains("/nonexistent/b.pem"), "{err}");
        let err = build(&format!("{URL}?sslmode=verify_full"), |b| b).unwrap_err();
        assert!(err.to_string().contains("`sslmode`"), "{err}");
        // Over a Unix socket, as in libpq, no TLS is negotiated whatever the mode.
        let unix = build("host=/run/postgresql user=u sslmode=require", |b| b).unwrap();
        assert_eq!(unix.ssl_mode(), SslMode::Require);
        assert_eq!(unix.connection.get_ssl_mode(), Negotiated::Disable);
    }

    #[test]
    fn the_mode_names_its_columns() {
        let mode = Mode::TimestampIncrementing {
            timestamp: "updated".into(),
            incrementing: "id".into(),
        };
        assert_eq!(mode.timestamp_column(), Some("updated"));
        assert_eq!(mode.incrementing_column(), Some("id"));
        let bulk = Mode::Bulk { order_by: vec![] };
        assert_eq!(
            (bulk.timestamp_column(), bulk.incrementing_column()),
            (None, None)
        );
    }
}
