//! `setup --postgres URL`: creates the `stations` table (the CTA stops list's columns) when
//! missing and fills it from the stations CSV; rows already there (by `stop_id`) are kept.

use crate::stations::StationRow;
use weir::topology::{Result, TopologyError};

fn pg_error(what: &str, e: tokio_postgres::Error) -> TopologyError {
    TopologyError::connector(format!("postgres: {what}"), e)
}

/// `name` as a quoted SQL identifier.
fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Connects to `url` (no TLS); the connection runs on a task of its own.
pub async fn connect(url: &str) -> Result<tokio_postgres::Client> {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .map_err(|e| pg_error("connect", e))?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            eprintln!("postgres connection: {e}");
        }
    });
    Ok(client)
}

/// Creates `table` when missing.
pub async fn create_table(client: &tokio_postgres::Client, table: &str) -> Result<()> {
    let sql = format!(
        "CREATE TABLE IF NOT EXISTS {} (stop_id integer PRIMARY KEY, direction_id text NOT NULL, \
         stop_name text NOT NULL, station_name text NOT NULL, station_descriptive_name text NOT NULL, \
         station_id integer NOT NULL, \"order\" integer NOT NULL, red boolean NOT NULL, \
         blue boolean NOT NULL, green boolean NOT NULL)",
        quote(table)
    );
    client
        .batch_execute(&sql)
        .await
        .map_err(|e| pg_error("create table", e))
}

/// Inserts `rows` into `table` (a row whose `stop_id` is there already is skipped); returns
/// how many were inserted.
pub async fn insert_rows(
    client: &tokio_postgres::Client,
    table: &str,
    rows: &[StationRow],
) -> Result<u64> {
    let sql = format!(
        "INSERT INTO {} (stop_id, direction_id, stop_name, station_name, station_descriptive_name, \
         station_id, \"order\", red, blue, green) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
         ON CONFLICT (stop_id) DO NOTHING",
        quote(table)
    );
    let statement = client
        .prepare(&sql)
        .await
        .map_err(|e| pg_error("prepare insert", e))?;
    let mut inserted = 0;
    for row in rows {
        let int = |n: u32| {
            i32::try_from(n).map_err(|_| {
                TopologyError::config(
                    "stations",
                    format!("{n} is too large for an integer column"),
                )
            })
        };
        inserted += client
            .execute(
                &statement,
                &[
                    &int(row.stop_id)?,
                    &row.direction_id,
                    &row.stop_name,
                    &row.station_name,
                    &row.station_descriptive_name,
                    &int(row.station_id)?,
                    &int(row.order)?,
                    &row.red,
                    &row.blue,
                    &row.green,
                ],
            )
            .await
            .map_err(|e| pg_error("insert", e))?;
    }
    Ok(inserted)
}

/// Creates `table` at `url` and fills it with `rows`; returns how many rows were inserted.
pub async fn setup(url: &str, table: &str, rows: &[StationRow]) -> Result<u64> {
    let client = connect(url).await?;
    create_table(&client, table).await?;
    insert_rows(&client, table, rows).await
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_quoted() {
        assert_eq!(quote("stations"), "\"stations\"");
        assert_eq!(quote("a\"b"), "\"a\"\"b\"");
    }
}
