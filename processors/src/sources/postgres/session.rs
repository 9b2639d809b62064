//! A connection to the server ready to read: connected, set to UTC, the mode's statement
//! prepared and its columns checked; and the backoff between attempts to get one.

use super::config::{Mode, PostgresConfig, RetryPolicy};
use super::error::{classify, describe, Failure, PostgresError};
use super::position::Position;
use super::rows::{Layout, RawCell};
use super::sql::{latest_statement, select_statement};
use super::tls::{is_tls_error, SslMode};
use std::future::Future;
use std::time::{Duration, Instant};
use tokio_postgres::config::SslMode as Negotiated;
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{Client, NoTls, Row, RowStream, Statement};
use tokio_postgres_rustls::MakeRustlsConnect;

/// A connection with the source's statement prepared.
pub(crate) struct Session {
    client: Client,
    statement: Statement,
    /// How the statement's rows become records.
    pub layout: Layout,
    server: String,
    user: String,
}

impl Session {
    /// Connects, sets the session's time zone to UTC (`timestamp` columns are read as UTC),
    /// prepares the statement and checks its columns against the settings.
    pub(crate) async fn open(config: &PostgresConfig) -> Result<Self, Failure> {
        let server = config.server();
        let user = config.user().to_string();
        let client = connect(config, &server, &user).await?;
        client
            .batch_execute("SET TIME ZONE 'UTC'")
            .await
            .map_err(|e| classify(e, &server, &user, "setting the time zone"))?;
        let statement = client
            .prepare(&select_statement(config))
            .await
            .map_err(|e| classify(e, &server, &user, "preparing the source's query"))?;
        let columns: Vec<(String, Type)> = statement
            .columns()
            .iter()
            .map(|c| (c.name().to_string(), c.type_().clone()))
            .collect();
        let layout = Layout::new(&columns, config)?;
        Ok(Self {
            client,
            statement,
            layout,
            server,
            user,
        })
    }

    /// Runs the statement with `params`; rows stream in as the server sends them.
    pub(crate) async fn query(&self, params: &[&(dyn ToSql + Sync)]) -> Result<RowStream, Failure> {
        self.client
            .query_raw(&self.statement, params.iter().copied())
            .await
            .map_err(|e| self.failure(e, "running the source's query"))
    }

    /// Classifies an error of this session.
    pub(crate) fn failure(&self, error: tokio_postgres::Error, doing: &'static str) -> Failure {
        classify(error, &self.server, &self.user, doing)
    }

    /// A row's values, undecoded.
    pub(crate) fn cells<'r>(&self, row: &'r Row) -> Result<Vec<Option<&'r [u8]>>, Failure> {
        (0..self.layout.width())
            .map(|i| {
                row.try_get::<_, RawCell<'r>>(i)
                    .map(|cell| cell.0)
                    .map_err(|e| self.failure(e, "reading a row"))
            })
            .collect()
    }

    /// Where "only rows added from now on" starts: after the largest id (incrementing), at
    /// the server's clock (timestamp modes), at the end of the load (bulk).
    pub(crate) async fn latest(&self, config: &PostgresConfig) -> Result<Position, Failure> {
        let row = self
            .client
            .query_one(&latest_statement(config), &[])
            .await
            .map_err(|e| self.failure(e, "finding the latest position"))?;
        let value: Option<i64> = row
            .try_get(0)
            .map_err(|e| self.failure(e, "finding the latest position"))?;
        Ok(match &config.mode {
            Mode::Bulk { .. } => Position::Bulk { next_row: i64::MAX },
            Mode::Incrementing { .. } => Position::Incrementing {
                next_id: value.map_or(0, |max| max.saturating_add(1)),
            },
            Mode::Timestamp { .. } => Position::Timestamp { from_micros: value },
            Mode::TimestampIncrementing { .. } => Position::TimestampIncrementing {
                after: value.map(|micros| (micros.div_euclid(1_000_000), i64::MAX)),
            },
        })
    }
}

/// Connects as the TLS settings say (see `tls.rs`); with `prefer`, a failed handshake is
/// followed by a plain connection, as in libpq.
async fn connect(config: &PostgresConfig, server: &str, user: &str) -> Result<Client, Failure> {
    let classify = |error: tokio_postgres::Error| {
        if is_tls_error(&error) {
            config.tls.failure(error, server)
        } else {
            classify(error, server, user, "connecting")
        }
    };
    let tls = match config.tls.client_config() {
        Some(tls) if config.connection.get_ssl_mode() != Negotiated::Disable => tls,
        _ => {
            return connect_with(&config.connection, NoTls, server)
                .await
                .map_err(classify)
        }
    };
    let tls = MakeRustlsConnect::new(tls.clone());
    match connect_with(&config.connection, tls, server)
        .await
        .map_err(classify)
    {
        Err(Failure::Fatal(PostgresError::Tls { message, .. }))
            if config.tls.mode == SslMode::Prefer =>
        {
            tracing::warn!(
                server = %server,
                error = %message,
                "TLS to PostgreSQL failed; connecting without TLS (sslmode prefer)"
            );
            let mut plain = config.connection.clone();
            plain.ssl_mode(Negotiated::Disable);
            connect_with(&plain, NoTls, server).await.map_err(classify)
        }
        other => other,
    }
}

/// Connects with `tls` and drives the connection in a task of its own.
async fn connect_with<T>(
    connection: &tokio_postgres::Config,
    tls: T,
    server: &str,
) -> Result<Client, tokio_postgres::Error>
where
    T: tokio_postgres::tls::MakeTlsConnect<tokio_postgres::Socket>,
    tokio_postgres::Connection<tokio_postgres::Socket, T::Stream>:
        Future<Output = Result<(), tokio_postgres::Error>> + Send + 'static,
{
    let (client, connection) = connection.connect(tls).await?;
    let log_server = server.to_string();
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::debug!(server = %log_server, error = %describe(&e), "PostgreSQL connection ended");
        }
    });
    Ok(client)
}

/// Waits between attempts: doubling from the initial backoff up to the maximum, until the
/// server has been unreachable for longer than the deadline.
#[derive(Debug)]
pub(crate) struct Backoff {
    policy: RetryPolicy,
    failing_since: Option<Instant>,
    attempts: u32,
    next: Duration,
}

impl Backoff {
    /// No failure yet.
    pub(crate) fn new(policy: RetryPolicy) -> Self {
        Self {
            policy,
            failing_since: None,
            attempts: 0,
            next: policy.initial_backoff,
        }
    }

    /// Whether the last attempt failed.
    pub(crate) fn failing(&self) -> bool {
        self.failing_since.is_some()
    }

    /// An attempt worked: the next failure starts over.
    pub(crate) fn succeeded(&mut self) {
        *self = Self::new(self.policy);
    }

    /// A transient failure of the server `server`: the wait before the next attempt, or the
    /// final error once the deadline has passed.
    pub(crate) fn failed(
        &mut self,
        error: tokio_postgres::Error,
        server: &str,
    ) -> Result<Duration, PostgresError> {
        let since = *self.failing_since.get_or_insert_with(Instant::now);
        self.attempts += 1;
        let elapsed = since.elapsed();
        if elapsed >= self.policy.deadline {
            return Err(PostgresError::Unavailable {
                server: server.to_string(),
                seconds: elapsed.as_secs(),
                attempts: self.attempts,
                message: describe(&error),
                source: error,
            });
        }
        let wait = self.next.min(self.policy.deadline.saturating_sub(elapsed));
        self.next = (self.next * 2).min(self.policy.max_backoff);
        Ok(wait)
    }

    /// How many attempts failed in a row.
    pub(crate) fn attempts(&self) -> u32 {
        self.attempts
    }
}

/// Opens a session, retrying transient failures as `policy` says; refused credentials and
/// other final errors return at once.
pub(crate) async fn open_with_retry(config: &PostgresConfig) -> Result<Session, PostgresError> {
    let mut backoff = Backoff::new(config.retry);
    loop {
        match Session::open(config).await {
            Ok(session) => return Ok(session),
            Err(Failure::Fatal(e)) => return Err(e),
            Err(Failure::Transient(e)) => {
                let message = describe(&e);
                let wait = backoff.failed(e, &config.server())?;
                tracing::warn!(
                    server = %config.server(),
                    attempt = backoff.attempts(),
                    retry_in_ms = wait.as_millis() as u64,
                    error = %message,
                    "PostgreSQL unreachable; retrying"
                );
                tokio::time::sleep(wait).await;
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// A client-side error (no server involved): connecting to a closed port.
    async fn refused() -> tokio_postgres::Error {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let url = format!("postgres://u@127.0.0.1:{port}/db");
        tokio_postgres::connect(&url, NoTls).await.err().unwrap()
    }

    #[tokio::test]
    async fn backoff_doubles_up_to_its_maximum_then_gives_up_at_the_deadline() {
        let policy = RetryPolicy {
            initial_backoff: Duration::from_millis(10),
            max_backoff: Duration::from_millis(40),
            deadline: Duration::from_millis(300),
        };
        let mut backoff = Backoff::new(policy);
        let mut waits = Vec::new();
        for _ in 0..4 {
            waits.push(backoff.failed(refused().await, "s").unwrap().as_millis());
        }
        assert_eq!(waits, [10, 20, 40, 40]);
        assert!(backoff.failing());
        backoff.succeeded();
        assert!(!backoff.failing());
        assert_eq!(
            backoff.failed(refused().await, "s").unwrap(),
            Duration::from_millis(10)
        );
        tokio::time::sleep(Duration::from_millis(320)).await;
        let err = backoff.failed(refused().await, "db:5432/x").unwrap_err();
        assert!(
            matches!(err, PostgresError::Unavailable { attempts: 2, .. }),
            "{err}"
        );
        assert!(err.to_string().contains("db:5432/x unreachable"), "{err}");
    }

    #[tokio::test]
    async fn a_closed_port_is_transient() {
        let failure = classify(refused().await, "s", "u", "connecting");
        assert!(matches!(failure, Failure::Transient(_)), "{failure:?}");
    }
}
