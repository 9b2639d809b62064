//! The SQL the source runs: the table (or the wrapped query) with the mode's conditions, order
//! and limit. Names are always quoted, so they are used exactly as configured.
//!
//! | mode | parameters | statement |
//! | --- | --- | --- |
//! | bulk | `$1` rows to skip | `SELECT * FROM src [ORDER BY cols] OFFSET $1` (streamed) |
//! | incrementing | `$1` next id | `... WHERE id >= $1 ORDER BY id LIMIT n` |
//! | timestamp | `$1` from, `$2` delay (s) | `... WHERE ts >= $1 AND ts < cutoff(ms) ORDER BY ts` (streamed) |
//! | timestamp+incrementing | `$1` second, `$2` next second, `$3` id, `$4` delay (s) | `... WHERE ts >= $1 AND (ts >= $2 OR id > $3) AND ts < cutoff(s) ORDER BY date_trunc('second', ts), id LIMIT n` |
//!
//! The cutoff is the server's clock less the delay, truncated to the position's resolution,
//! so a millisecond (timestamp mode) or a second (timestamp+incrementing) is read only once
//! it is over and no row can join it any more.

use super::config::{Mode, Origin, PostgresConfig};

/// `name` as a quoted identifier: `"Stop ""A"""`.
pub(crate) fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A possibly schema-qualified name, each part quoted: `"transit"."stations"`.
pub(crate) fn quote_qualified(name: &str) -> String {
    name.split('.')
        .map(quote_ident)
        .collect::<Vec<_>>()
        .join(".")
}

/// What the statement selects from.
fn from_clause(origin: &Origin) -> String {
    match origin {
        Origin::Table(name) => quote_qualified(name),
        Origin::Query(sql) => format!("({sql}) AS weir_source"),
    }
}

/// The statement of the configured mode (parameters as in the module docs).
pub(crate) fn select_statement(config: &PostgresConfig) -> String {
    let from = from_clause(&config.origin);
    let limit = config.batch_max_rows;
    match &config.mode {
        Mode::Bulk { order_by } => {
            let order = if order_by.is_empty() {
                String::new()
            } else {
                let columns: Vec<String> = order_by.iter().map(|c| quote_ident(c)).collect();
                format!(" ORDER BY {}", columns.join(", "))
            };
            format!("SELECT * FROM {from}{order} OFFSET $1::bigint")
        }
        Mode::Incrementing { column } => {
            let id = quote_ident(column);
            format!("SELECT * FROM {from} WHERE {id} >= $1::bigint ORDER BY {id} LIMIT {limit}")
        }
        Mode::Timestamp { column } => {
            let ts = quote_ident(column);
            format!(
                "SELECT * FROM {from} WHERE {ts} >= $1 AND {ts} < {} ORDER BY {ts}",
                cutoff("milliseconds", 2)
            )
        }
        Mode::TimestampIncrementing {
            timestamp,
            incrementing,
        } => {
            let (ts, id) = (quote_ident(timestamp), quote_ident(incrementing));
            format!(
                "SELECT * FROM {from} WHERE {ts} >= $1 AND ({ts} >= $2 OR {id} > $3::bigint) \
                 AND {ts} < {} ORDER BY date_trunc('second', {ts}), {id} LIMIT {limit}",
                cutoff("second", 4)
            )
        }
    }
}

/// The server's clock less the delay in parameter `$param` (seconds), truncated to `unit`.
fn cutoff(unit: &str, param: usize) -> String {
    format!("date_trunc('{unit}', now() - make_interval(secs => ${param}::float8))")
}

/// The statement that finds where "only new rows" starts: the largest id (incrementing modes)
/// or the server's clock (timestamp modes).
pub(crate) fn latest_statement(config: &PostgresConfig) -> String {
    let from = from_clause(&config.origin);
    match &config.mode {
        Mode::Incrementing { column } => {
            format!("SELECT max({})::bigint FROM {from}", quote_ident(column))
        }
        _ => "SELECT (extract(epoch from now()) * 1000000)::bigint".to_string(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn config(
        f: impl FnOnce(super::super::PostgresConfigBuilder) -> super::super::PostgresConfigBuilder,
    ) -> PostgresConfig {
        f(PostgresConfig::builder("postgres://u@localhost/db").batch_max_rows(500))
            .build()
            .unwrap()
    }

    #[test]
    fn names_are_quoted_and_their_quotes_doubled() {
        assert_eq!(quote_ident("stop_id"), "\"stop_id\"");
        assert_eq!(quote_ident("Stop \"A\""), "\"Stop \"\"A\"\"\"");
        assert_eq!(
            quote_qualified("transit.Stations"),
            "\"transit\".\"Stations\""
        );
    }

    #[test]
    fn each_mode_has_its_conditions_order_and_limit() {
        let bulk = config(|b| b.table("s.t").bulk_ordered_by(["a", "b"]));
        assert_eq!(
            select_statement(&bulk),
            "SELECT * FROM \"s\".\"t\" ORDER BY \"a\", \"b\" OFFSET $1::bigint"
        );
        let inc = config(|b| b.query("SELECT id, name FROM t").incrementing("id"));
        assert_eq!(
            select_statement(&inc),
            "SELECT * FROM (SELECT id, name FROM t) AS weir_source WHERE \"id\" >= $1::bigint \
             ORDER BY \"id\" LIMIT 500"
        );
        let ts = config(|b| b.table("t").timestamp("at"));
        assert_eq!(
            select_statement(&ts),
            "SELECT * FROM \"t\" WHERE \"at\" >= $1 AND \"at\" < date_trunc('milliseconds', \
             now() - make_interval(secs => $2::float8)) ORDER BY \"at\""
        );
        let both = config(|b| b.table("t").timestamp_incrementing("at", "id"));
        let sql = select_statement(&both);
        assert!(
            sql.contains("\"at\" >= $1 AND (\"at\" >= $2 OR \"id\" > $3::bigint)"),
            "{sql}"
        );
        assert!(sql.contains("date_trunc('second', now() - make_interval(secs => $4::float8))"));
        assert!(sql.ends_with("ORDER BY date_trunc('second', \"at\"), \"id\" LIMIT 500"));
    }

    #[test]
    fn the_latest_position_is_the_largest_id_or_the_clock() {
        let inc = config(|b| b.table("t").incrementing("id"));
        assert_eq!(
            latest_statement(&inc),
            "SELECT max(\"id\")::bigint FROM \"t\""
        );
        let ts = config(|b| b.table("t").timestamp("at"));
        assert!(latest_statement(&ts).contains("now()"));
    }
}
