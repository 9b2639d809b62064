//! The PostgreSQL source's errors, and which failures are worth retrying: a lost or refused
//! connection, a server shutting down or out of connections are transient; refused
//! credentials, a missing table or column, a type the source cannot map are not.

use tokio_postgres::error::SqlState;

/// What went wrong in the PostgreSQL source.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PostgresError {
    /// A setting is missing or invalid.
    #[error("PostgreSQL source setting `{setting}`: {reason}")]
    Config {
        /// The setting.
        setting: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The server refused the user, the password or the missing client certificate: never
    /// retried.
    #[error(
        "PostgreSQL at {server} refused user `{user}`: {message} (check the user and password \
         of the connection string, and sslcert/sslkey where the server requires a client \
         certificate)"
    )]
    Credentials {
        /// `host:port/database`.
        server: String,
        /// The user.
        user: String,
        /// The server's message.
        message: String,
        /// The client's error.
        #[source]
        source: tokio_postgres::Error,
    },
    /// The server could not be reached (or lost the connection) for longer than the retry
    /// deadline.
    #[error(
        "PostgreSQL at {server} unreachable for {seconds} s ({attempts} attempts), last: {message}"
    )]
    Unavailable {
        /// `host:port/database`.
        server: String,
        /// How long the source tried.
        seconds: u64,
        /// How many attempts failed.
        attempts: u32,
        /// The last failure.
        message: String,
        /// The last failure's error.
        #[source]
        source: tokio_postgres::Error,
    },
    /// TLS failed: the server's certificate was refused, the handshake failed, or the server
    /// does not accept TLS while `sslmode` requires it. Never retried.
    #[error("PostgreSQL at {server}, TLS with sslmode `{sslmode}`: {message}")]
    Tls {
        /// `host:port/database`.
        server: String,
        /// The mode (`require`, `verify-ca`, `verify-full`...).
        sslmode: &'static str,
        /// What failed, with a hint and the client's error.
        message: String,
        /// The client's error.
        #[source]
        source: tokio_postgres::Error,
    },
    /// The server reported an error that retrying will not cure (a missing table or column, a
    /// syntax error in the query, a missing privilege...).
    #[error("PostgreSQL at {server}, {doing}: {message}")]
    Server {
        /// `host:port/database`.
        server: String,
        /// What the source was doing.
        doing: &'static str,
        /// The server's message.
        message: String,
        /// The client's error.
        #[source]
        source: tokio_postgres::Error,
    },
    /// The query lacks a column the settings name, or it has the wrong type.
    #[error("the {role} column `{column}`: {problem}")]
    Column {
        /// The setting that names it (`incrementing`, `timestamp`, `key_columns`...).
        role: &'static str,
        /// The column.
        column: String,
        /// What is wrong.
        problem: String,
    },
    /// A column has a type the source does not map.
    #[error(
        "column `{column}` has type `{type_name}`, which the PostgreSQL source does not map: \
         read it through a query that casts it (for example `{column}::text`)"
    )]
    UnsupportedType {
        /// The column.
        column: String,
        /// Its PostgreSQL type.
        type_name: String,
    },
    /// A row's value cannot be a position (a negative id, a timestamp before 1970...).
    #[error("row with {column} = {value}: {problem}")]
    Position {
        /// The column.
        column: String,
        /// The value, as text.
        value: String,
        /// Why it cannot be a position.
        problem: String,
    },
    /// A value's bytes are not what its type promises (a server bug or a protocol mismatch).
    #[error("column `{column}`: malformed {type_name} value")]
    Malformed {
        /// The column.
        column: String,
        /// Its type.
        type_name: &'static str,
    },
}

impl PostgresError {
    /// A setting error.
    pub(crate) fn config(setting: &'static str, reason: impl Into<String>) -> Self {
        Self::Config {
            setting,
            reason: reason.into(),
        }
    }
}

/// A failure of one attempt: either worth another (`Transient`) or final.
#[derive(Debug)]
pub(crate) enum Failure {
    /// Lost or refused connection, server shutting down or out of connections.
    Transient(tokio_postgres::Error),
    /// Retrying will not help.
    Fatal(PostgresError),
}

impl From<PostgresError> for Failure {
    fn from(error: PostgresError) -> Self {
        Failure::Fatal(error)
    }
}

/// Classifies a client error met while `doing` something with the server `server` as `user`.
pub(crate) fn classify(
    error: tokio_postgres::Error,
    server: &str,
    user: &str,
    doing: &'static str,
) -> Failure {
    let Some(code) = error.code().cloned() else {
        return classify_client_side(error, server, user, doing);
    };
    let message = error
        .as_db_error()
        .map(|db| db.message().to_string())
        .unwrap_or_default();
    if is_credentials(&code) {
        return Failure::Fatal(PostgresError::Credentials {
            server: server.to_string(),
            user: user.to_string(),
            message,
            source: error,
        });
    }
    if is_transient(&code) {
        return Failure::Transient(error);
    }
    Failure::Fatal(PostgresError::Server {
        server: server.to_string(),
        doing,
        message,
        source: error,
    })
}

/// Errors without an SQL state: the client's own (I/O, a closed connection, a timeout, an
/// authentication the client cannot perform...).
fn classify_client_side(
    error: tokio_postgres::Error,
    server: &str,
    user: &str,
    doing: &'static str,
) -> Failure {
    let text = error.to_string();
    if error.is_closed()
        || matches!(
            text.as_str(),
            "error communicating with the server"
                | "error connecting to server"
                | "timeout waiting for server"
        )
    {
        return Failure::Transient(error);
    }
    if text == "authentication error" {
        let message = describe(&error);
        return Failure::Fatal(PostgresError::Credentials {
            server: server.to_string(),
            user: user.to_string(),
            message,
            source: error,
        });
    }
    Failure::Fatal(PostgresError::Server {
        server: server.to_string(),
        doing,
        message: describe(&error),
        source: error,
    })
}

/// The error with its causes: `error connecting to server: Connection refused (os error 111)`.
pub(crate) fn describe(error: &tokio_postgres::Error) -> String {
    if let Some(db) = error.as_db_error() {
        return db.message().to_string();
    }
    let mut text = error.to_string();
    let mut cause = std::error::Error::source(error);
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

/// 28000 invalid_authorization_specification, 28P01 invalid_password.
fn is_credentials(code: &SqlState) -> bool {
    code.code().starts_with("28")
}

/// Connection exceptions (class 08), insufficient resources (53: too many connections, out of
/// memory or disk), operator intervention (57: admin or crash shutdown, cannot connect now,
/// but not a cancelled query), serialization failures and deadlocks (40001, 40P01).
fn is_transient(code: &SqlState) -> bool {
    let c = code.code();
    c.starts_with("08")
        || c.starts_with("53")
        || (c.starts_with("57") && *code != SqlState::QUERY_CANCELED)
        || *code == SqlState::T_R_SERIALIZATION_FAILURE
        || *code == SqlState::T_R_DEADLOCK_DETECTED
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sql_states_are_sorted_into_credentials_transient_and_fatal() {
        assert!(is_credentials(&SqlState::INVALID_PASSWORD));
        assert!(is_credentials(
            &SqlState::INVALID_AUTHORIZATION_SPECIFICATION
        ));
        assert!(!is_credentials(&SqlState::UNDEFINED_TABLE));
        for transient in [
            SqlState::ADMIN_SHUTDOWN,
            SqlState::CRASH_SHUTDOWN,
            SqlState::CANNOT_CONNECT_NOW,
            SqlState::TOO_MANY_CONNECTIONS,
            SqlState::CONNECTION_FAILURE,
            SqlState::T_R_SERIALIZATION_FAILURE,
        ] {
            assert!(is_transient(&transient), "{transient:?}");
        }
        for fatal in [
            SqlState::UNDEFINED_TABLE,
            SqlState::UNDEFINED_COLUMN,
            SqlState::SYNTAX_ERROR,
            SqlState::INSUFFICIENT_PRIVILEGE,
            SqlState::QUERY_CANCELED,
            SqlState::INVALID_PASSWORD,
        ] {
            assert!(!is_transient(&fatal), "{fatal:?}");
        }
    }

    #[test]
    fn messages_name_the_setting_column_and_type() {
        let e = PostgresError::config("poll_interval", "must be above zero");
        assert_eq!(
            e.to_string(),
            "PostgreSQL source setting `poll_interval`: must be above zero"
        );
        let e = PostgresError::UnsupportedType {
            column: "span".into(),
            type_name: "interval".into(),
        };
        assert!(e.to_string().contains("`span::text`"));
    }
}
