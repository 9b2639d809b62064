//! The streaming application stopped half-way and restarted on its state directory continues
//! its counts: it reads only what it had not processed, and its final per-key, per-window
//! results and its Parquet rows equal those of an uninterrupted run.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use weir::topology::{
    connect::OutRecord, connect::RawRecord, MemoryBroker, MetricsSnapshot, Streams,
};
use weir_example_testkit::workspace_root;
use weir_flights::apps::{producer, streaming, FLIGHT_TOPIC};
use weir_flights::charts::accuracy_chart;
use weir_flights::demo::{app_config, read_jsonl, replay, DemoOptions};
use weir_models::Model;

const PARTITIONS: u32 = 3;

fn options(out: &Path) -> DemoOptions {
    DemoOptions {
        data: workspace_root().join("data"),
        out: out.to_path_buf(),
        model: workspace_root().join("models"),
        fast: true,
        duration_s: 360,
        seed: 11,
        start_s: Some(1_700_000_040),
        partitions: PARTITIONS,
        progress: false,
    }
}

/// Every record the producer sends for `opts`, per partition.
async fn produced(opts: &DemoOptions) -> Vec<Vec<RawRecord>> {
    let broker = MemoryBroker::new(PARTITIONS);
    broker.create_topic(FLIGHT_TOPIC, PARTITIONS);
    let (replay, _, _) = replay(opts).unwrap();
    let app = Streams::new(
        producer(replay).unwrap(),
        Arc::new(broker.clone()),
        app_config("flights-producer", opts),
    );
    app.run().await.unwrap();
    (0..PARTITIONS)
        .map(|p| broker.records(FLIGHT_TOPIC, p))
        .collect()
}

/// Appends `records[p][range]` of every partition `p` to `flightTopic`.
fn copy(broker: &MemoryBroker, records: &[Vec<RawRecord>], half: usize) {
    for (p, part) in records.iter().enumerate() {
        let mid = part.len() / 2;
        let slice = if half == 0 {
            &part[..mid]
        } else {
            &part[mid..]
        };
        let out = slice
            .iter()
            .map(|r| OutRecord {
                partition: p as u32,
                key: r.key.clone(),
                value: r.value.as_deref().map(<[u8]>::to_vec),
                timestamp: r.timestamp,
                headers: r.headers.clone(),
            })
            .collect();
        broker.append(FLIGHT_TOPIC, out).unwrap();
    }
}

/// Runs the streaming application on `broker` with its state in `out/state`: to the end of a
/// closed topic, or, with `stop_at`, until it processed that many records and is idle.
async fn run_stream(
    broker: &MemoryBroker,
    opts: &DemoOptions,
    stop_at: Option<u64>,
) -> MetricsSnapshot {
    let model = Arc::new(Model::load(&opts.model).unwrap());
    let chart = accuracy_chart(&opts.out, None).unwrap();
    let config = app_config("flights-stream", opts)
        .state_dir(opts.out.join("state"))
        .unwrap();
    let app = Arc::new(Streams::new(
        streaming(&opts.out, model, &chart).unwrap(),
        Arc::new(broker.clone()),
        config,
    ));
    let Some(n) = stop_at else {
        return app.run().await.unwrap();
    };
    let runner = tokio::spawn({
        let app = app.clone();
        async move { app.run().await }
    });
    let mut waited = 0;
    while app.metrics().processed < n {
        tokio::time::sleep(Duration::from_millis(50)).await;
        waited += 50;
        assert!(waited < 60_000, "stuck at {:?}", app.metrics());
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    app.shutdown_handle().trigger();
    runner.await.unwrap().unwrap()
}

/// The last result row per (key, window start) of `out/results.jsonl`.
fn final_results(out: &Path) -> BTreeMap<(String, i64), (u64, f64)> {
    let rows: Vec<Value> = read_jsonl(&out.join("results.jsonl")).unwrap();
    assert!(!rows.is_empty());
    rows.iter()
        .map(|r| {
            (
                (
                    r["key"].as_str().unwrap().to_string(),
                    r["window_start"].as_i64().unwrap(),
                ),
                (
                    r["countFlightRecords"].as_u64().unwrap(),
                    r["accumMeanAccuracy"].as_f64().unwrap(),
                ),
            )
        })
        .collect()
}

/// Rows in the Parquet parts under `out/flight.parquet`.
fn parquet_rows(out: &Path) -> usize {
    let mut rows = 0;
    for entry in std::fs::read_dir(out.join("flight.parquet")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "parquet") {
            let mut file = std::fs::File::open(&path).unwrap();
            let meta = arrow2::io::parquet::read::read_metadata(&mut file).unwrap();
            rows += meta.num_rows;
        }
    }
    rows
}

fn fresh(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "weir-flights-restart-{name}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_stream_continues_its_counts() {
    let (whole, halves) = (fresh("whole"), fresh("halves"));
    let records = produced(&options(&whole)).await;
    let total: usize = records.iter().map(Vec::len).sum();
    let first: usize = records.iter().map(|p| p.len() / 2).sum();
    assert!(first > 0 && first < total);

    let uninterrupted = MemoryBroker::new(PARTITIONS);
    uninterrupted.create_topic(FLIGHT_TOPIC, PARTITIONS);
    copy(&uninterrupted, &records, 0);
    copy(&uninterrupted, &records, 1);
    uninterrupted.close_topic(FLIGHT_TOPIC);
    let m = run_stream(&uninterrupted, &options(&whole), None).await;
    assert_eq!(m.processed as usize, total);

    let broker = MemoryBroker::new(PARTITIONS);
    broker.create_topic(FLIGHT_TOPIC, PARTITIONS);
    copy(&broker, &records, 0);
    let before = run_stream(&broker, &options(&halves), Some(first as u64)).await;
    assert_eq!(before.processed as usize, first);
    copy(&broker, &records, 1);
    broker.close_topic(FLIGHT_TOPIC);
    let after = run_stream(&broker, &options(&halves), None).await;
    assert_eq!(
        after.processed as usize,
        total - first,
        "resumed at the committed offsets"
    );

    let (expected, got) = (final_results(&whole), final_results(&halves));
    assert_eq!(got.len(), expected.len());
    for (key, (count, accuracy)) in &expected {
        let (c, a) = got[key];
        assert_eq!(c, *count, "{key:?}");
        assert!((a - accuracy).abs() < 1e-9, "{key:?}: {a} vs {accuracy}");
    }
    // Every result line once: the same lines as the uninterrupted run, none twice.
    let lines = |out: &Path| {
        let mut rows = std::fs::read_to_string(out.join("results.jsonl"))
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect::<Vec<_>>();
        rows.sort();
        rows
    };
    assert_eq!(lines(&halves), lines(&whole));
    assert_eq!(parquet_rows(&whole), total);
    assert_eq!(
        parquet_rows(&halves),
        total,
        "no Parquet row lost or written twice"
    );
    let _ = std::fs::remove_dir_all(&whole);
    let _ = std::fs::remove_dir_all(&halves);
}
