//! The PostgreSQL source against a real PostgreSQL (`WEIR_POSTGRES_URL`, started by
//! `scripts/test.sh`; skipped with a message when unset): every mode reads every row and
//! picks up rows inserted (and, in the timestamp modes, updated) while it runs; a failure in
//! the middle of a load and a restart from the state directory neither lose nor repeat a row;
//! types map as documented; a killed connection is survived; bad credentials fail at once.
#![cfg(feature = "postgres")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod postgres_support;

use postgres_support::*;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use weir_processors::sources::postgres::{
    PostgresConfig, PostgresConfigBuilder, PostgresError, PostgresSource, TemporalMapping,
};
use weir_topology::prelude::*;

/// Creates `table (id serial, name text, at timestamptz)` with `rows` rows: row `i` has
/// `at` = 2024-01-01 plus `i * step_ms` milliseconds.
async fn table_with_rows(url: &str, table: &str, rows: i64, step_ms: i64) {
    let db = admin(url).await;
    db.batch_execute(&format!(
        "CREATE TABLE {table} (id serial PRIMARY KEY, name text NOT NULL, at timestamptz NOT NULL);
         INSERT INTO {table} (name, at)
           SELECT 'row ' || i, '2024-01-01'::timestamptz + i * interval '{step_ms} milliseconds'
           FROM generate_series(1, {rows}) AS i;"
    ))
    .await
    .unwrap();
}

fn ids(values: &[serde_json::Value]) -> Vec<i64> {
    values.iter().map(|v| v["id"].as_i64().unwrap()).collect()
}

fn source(
    url: &str,
    f: impl FnOnce(PostgresConfigBuilder) -> PostgresConfigBuilder,
) -> PostgresSource {
    let builder = PostgresConfig::builder(url)
        .poll_interval(Duration::from_millis(100))
        .batch_max_rows(64)
        .key_columns(["id"]);
    PostgresSource::new(f(builder).build().unwrap())
}

/// Each polling mode reads the table, then rows inserted while it runs; the timestamp modes
/// also read a row again when an update moves its timestamp.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_polling_mode_reads_the_table_then_new_and_updated_rows() {
    let Some(url) = postgres_url("every_polling_mode_reads_the_table_then_new_and_updated_rows")
    else {
        return;
    };
    for mode in ["incrementing", "timestamp", "timestamp+incrementing"] {
        let table = unique_table("poll");
        // Several rows per millisecond and per second: ties in both timestamp modes.
        table_with_rows(&url, &table, 250, 3).await;
        let src = source(&url, |b| {
            let b = b.table(&table);
            match mode {
                "incrementing" => b.incrementing("id"),
                "timestamp" => b.timestamp("at"),
                _ => b.timestamp_incrementing("at", "id"),
            }
        });
        let pipeline = start(src, busy_config(mode), None, None);
        pipeline.wait_for(250).await;
        assert_eq!(
            ids(&pipeline.values()),
            (1..=250).collect::<Vec<_>>(),
            "{mode}"
        );
        let db = admin(&url).await;
        db.batch_execute(&format!(
            "INSERT INTO {table} (name, at) SELECT 'new ' || i, clock_timestamp() - interval '2 seconds'
               FROM generate_series(1, 40) AS i;
             UPDATE {table} SET name = 'updated', at = clock_timestamp() - interval '2 seconds' WHERE id = 7;"
        ))
        .await
        .unwrap();
        let updated = mode != "incrementing";
        pipeline.wait_for(290 + usize::from(updated)).await;
        // Nothing more comes: wait a few polls.
        tokio::time::sleep(Duration::from_millis(400)).await;
        let values = pipeline.values();
        let mut expected: Vec<i64> = (1..=290).collect();
        if updated {
            expected.push(7);
        }
        let mut got = ids(&values);
        got.sort_unstable();
        expected.sort_unstable();
        assert_eq!(
            got, expected,
            "{mode}: every row once, the updated one twice"
        );
        if updated {
            assert!(
                values
                    .iter()
                    .any(|v| v["id"] == 7 && v["name"] == "updated"),
                "{mode}"
            );
        }
        let offsets: Vec<i64> = pipeline.output().iter().map(|r| r.offset).collect();
        assert!(
            offsets.windows(2).all(|w| w[0] < w[1]),
            "{mode}: offsets increase"
        );
        let (result, _, _) = pipeline.stop().await;
        result.unwrap();
    }
}

/// Bulk mode loads the table once, in the requested order, and the partition ends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_mode_loads_the_table_once_and_ends() {
    let Some(url) = postgres_url("bulk_mode_loads_the_table_once_and_ends") else {
        return;
    };
    let table = unique_table("bulk");
    table_with_rows(&url, &table, 1000, 1).await;
    let src = source(&url, |b| b.table(&table).bulk_ordered_by(["id"]));
    let pipeline = start(src, busy_config("bulk"), None, None);
    // The run ends by itself: the bulk load is a finite partition.
    let result = tokio::time::timeout(Duration::from_secs(60), &mut { pipeline.run })
        .await
        .expect("the bulk load ends");
    result.unwrap().unwrap();
    let out = pipeline.broker.records("out", 0);
    let got: Vec<i64> = out
        .iter()
        .map(|r| {
            serde_json::from_slice::<serde_json::Value>(r.value.as_deref().unwrap()).unwrap()["id"]
                .as_i64()
                .unwrap()
        })
        .collect();
    assert_eq!(got, (1..=1000).collect::<Vec<_>>());
    let offsets: Vec<i64> = out.iter().map(|r| r.offset).collect();
    assert_eq!(offsets, (0..1000).collect::<Vec<_>>());
}

/// A task that fails in the middle of a load stops without committing; restarted from its
/// state directory, it reads from the position committed with its state: every row counted
/// exactly once in the store, in each mode that claims it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_in_the_middle_of_a_load_neither_loses_nor_repeats_a_row() {
    let Some(url) =
        postgres_url("a_restart_in_the_middle_of_a_load_neither_loses_nor_repeats_a_row")
    else {
        return;
    };
    const ROWS: usize = 3000;
    for mode in ["incrementing", "timestamp+incrementing", "bulk"] {
        let table = unique_table("restart");
        // 7 rows per second: the failure lands inside a second in timestamp+incrementing.
        table_with_rows(&url, &table, ROWS as i64, 143).await;
        let make = || {
            source(&url, |b| {
                let b = b.table(&table);
                match mode {
                    "incrementing" => b.incrementing("id"),
                    "bulk" => b.bulk_ordered_by(["id"]),
                    _ => b.timestamp_incrementing("at", "id"),
                }
            })
        };
        let dir = scratch("restart");
        let config = || busy_config("restart").state_dir(&dir).unwrap();
        let first = start(make(), config(), None, Some(fail_at(1234)));
        let failed = tokio::time::timeout(Duration::from_secs(60), first.run)
            .await
            .unwrap()
            .unwrap();
        let err = failed.unwrap_err();
        assert!(
            err.to_string().contains("injected") || format!("{err:?}").contains("injected"),
            "{mode}: {err}"
        );
        drop(first.streams);
        let second = start(make(), config(), Some(first.broker.clone()), None);
        let deadline = Instant::now() + Duration::from_secs(60);
        while seen(&second.streams).len() < ROWS {
            assert!(
                Instant::now() < deadline,
                "{mode}: only {} rows",
                seen(&second.streams).len()
            );
            assert!(
                !second.run.is_finished() || mode == "bulk",
                "{mode}: stopped early"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let (result, _, streams) = second.stop().await;
        result.unwrap();
        let counts = seen(&streams);
        let expected: BTreeMap<Vec<u8>, u64> = (1..=ROWS)
            .map(|id| (id.to_string().into_bytes(), 1))
            .collect();
        assert_eq!(counts, expected, "{mode}: every row counted once");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct TypedRow {
    id: i64,
    small: Option<i16>,
    big: Option<i64>,
    price: Option<String>,
    ratio: Option<f64>,
    label: Option<String>,
    fixed: Option<String>,
    flag: Option<bool>,
    at: Option<i64>,
    local: Option<i64>,
    day: Option<i32>,
    tick: Option<i64>,
    doc: Option<serde_json::Value>,
    raw: Option<String>,
    uid: Option<String>,
}

/// Every mapped type, with a row of values and a row of nulls, read into a serde struct, and
/// the same table with ISO timestamps.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn types_map_as_documented_nulls_included() {
    let Some(url) = postgres_url("types_map_as_documented_nulls_included") else {
        return;
    };
    let table = unique_table("types");
    let db = admin(&url).await;
    db.batch_execute(&format!(
        "CREATE TABLE {table} (id bigserial, small smallint, big bigint, price numeric(10,2),
           ratio double precision, label varchar(20), fixed char(3), flag boolean,
           at timestamptz, local timestamp, day date, tick time, doc jsonb, raw bytea, uid uuid);
         INSERT INTO {table} (small, big, price, ratio, label, fixed, flag, at, local, day, tick, doc, raw, uid)
           VALUES (-3, 9007199254740993, 12.5, 0.25, 'h\u{e9} \"q\"', 'ab', true,
             '2024-05-01 12:30:00.25+02', '2024-05-01 12:30:00.25', '2024-05-01', '12:30:00.25',
             '{{\"a\": [1, 2]}}', '\\x00ff01', '00010203-0405-0607-0809-0a0b0c0d0e0f');
         INSERT INTO {table} DEFAULT VALUES;"
    ))
    .await
    .unwrap();
    let pipeline = start(
        source(&url, |b| b.table(&table).incrementing("id")),
        busy_config("types"),
        None,
        None,
    );
    pipeline.wait_for(2).await;
    let rows: Vec<TypedRow> = pipeline
        .output()
        .iter()
        .map(|r| {
            JsonSerde::<TypedRow>::new()
                .deserialize(r.value.as_deref().unwrap())
                .unwrap()
        })
        .collect();
    let out = pipeline.output();
    let (result, _, _) = pipeline.stop().await;
    result.unwrap();
    assert_eq!(
        rows[0],
        TypedRow {
            id: 1,
            small: Some(-3),
            big: Some(9_007_199_254_740_993),
            price: Some("12.50".into()),
            ratio: Some(0.25),
            label: Some("hé \"q\"".into()),
            fixed: Some("ab ".into()),
            flag: Some(true),
            at: Some(1_714_559_400_250),    // 10:30:00.25 UTC
            local: Some(1_714_566_600_250), // read as UTC
            day: Some(19_844),
            tick: Some(45_000_250),
            doc: Some(serde_json::json!({"a": [1, 2]})),
            raw: Some("AP8B".into()),
            uid: Some("00010203-0405-0607-0809-0a0b0c0d0e0f".into()),
        }
    );
    let nulls: serde_json::Value =
        serde_json::from_slice(out[1].value.as_deref().unwrap()).unwrap();
    let object = nulls.as_object().unwrap();
    assert_eq!(object.len(), 15);
    assert!(
        object.iter().all(|(k, v)| k == "id" || v.is_null()),
        "{nulls}"
    );
    assert_eq!(out[0].key.as_deref(), Some(&b"1"[..]));

    let iso = PostgresSource::new(
        PostgresConfig::builder(&url)
            .table(&table)
            .bulk_ordered_by(["id"])
            .temporal(TemporalMapping::Iso)
            .build()
            .unwrap(),
    );
    let pipeline = start(iso, busy_config("types-iso"), None, None);
    pipeline.run.await.unwrap().unwrap();
    let first: serde_json::Value = serde_json::from_slice(
        pipeline.broker.records("out", 0)[0]
            .value
            .as_deref()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(first["at"], "2024-05-01T10:30:00.250Z");
    assert_eq!(first["local"], "2024-05-01T12:30:00.250");
    assert_eq!(first["day"], "2024-05-01");
    assert_eq!(first["tick"], "12:30:00.250");
}

/// The server ends the source's connection (`pg_terminate_backend`): the source reconnects
/// and goes on, every row once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_connection_is_survived() {
    let Some(url) = postgres_url("a_killed_connection_is_survived") else {
        return;
    };
    let table = unique_table("kill");
    table_with_rows(&url, &table, 100, 1).await;
    let app_name = unique_table("weir_kill");
    let src = source(&with_param(&url, "application_name", &app_name), |b| {
        b.table(&table).incrementing("id")
    });
    let pipeline = start(src, busy_config("kill"), None, None);
    pipeline.wait_for(100).await;
    let db = admin(&url).await;
    let killed: Vec<tokio_postgres::Row> = db
        .query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
            &[&app_name],
        )
        .await
        .unwrap();
    assert!(!killed.is_empty(), "the source's connection was found");
    db.batch_execute(&format!(
        "INSERT INTO {table} (name, at) SELECT 'after', now() FROM generate_series(1, 50)"
    ))
    .await
    .unwrap();
    pipeline.wait_for(150).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(ids(&pipeline.values()), (1..=150).collect::<Vec<_>>());
    let (result, _, _) = pipeline.stop().await;
    result.unwrap();
}

/// A wrong password fails the start at once, saying so; so does a missing table.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_credentials_fail_at_once_with_a_clear_message() {
    let Some(url) = postgres_url("bad_credentials_fail_at_once_with_a_clear_message") else {
        return;
    };
    let started = Instant::now();
    let src = source(&with_password(&url, "wrong"), |b| {
        b.table("anything").incrementing("id")
    });
    let pipeline = start(src, busy_config("credentials"), None, None);
    let err = tokio::time::timeout(Duration::from_secs(10), pipeline.run)
        .await
        .expect("fails at once")
        .unwrap()
        .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    let text = format!(
        "{err}: {}",
        std::error::Error::source(&err)
            .map(|s| s.to_string())
            .unwrap_or_default()
    );
    assert!(text.contains("refused user `weirpg`"), "{text}");
    assert!(text.contains("password authentication failed"), "{text}");
    assert!(!text.contains("wrong"), "the password is not shown: {text}");
    let cause = std::error::Error::source(&err).unwrap();
    assert!(matches!(
        cause.downcast_ref::<PostgresError>(),
        Some(PostgresError::Credentials { .. })
    ));

    let missing = source(&url, |b| b.table("no_such_table").incrementing("id"));
    let pipeline = start(missing, busy_config("missing"), None, None);
    let err = tokio::time::timeout(Duration::from_secs(10), pipeline.run)
        .await
        .unwrap()
        .unwrap()
        .unwrap_err();
    let text = format!(
        "{err}: {}",
        std::error::Error::source(&err)
            .map(|s| s.to_string())
            .unwrap_or_default()
    );
    assert!(
        text.contains("relation \"no_such_table\" does not exist"),
        "{text}"
    );
}
