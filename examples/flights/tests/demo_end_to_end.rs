//! Runs the demo in fast mode on embedded topics, then checks its outputs against an
//! independent recomputation: every produced record is kept exactly once, and each key's final
//! result per window equals the count and accuracy recomputed from the kept records.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use weir::topology::MemoryBroker;
use weir_flights::demo::{read_jsonl, run_demo, DemoOptions};
use weir_flights::producer::TickBatcher;
use weir_flights::rows::load_by_day;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A record's identity: key, ts and the columns that identify a flight.
fn identity(key: &str, row: &Value) -> String {
    format!(
        "{key}|{}|{}-{}-{}|{}|{}|{}|{}",
        row["ts"], row["YEAR"], row["MONTH"], row["DAY"], row["AIRLINE"], row["FLIGHT_NUMBER"],
        row["ORIGIN_AIRPORT"], row["SCHEDULED_DEPARTURE"]
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_outputs_match_an_independent_recomputation() {
    let out = std::env::temp_dir().join(format!("weir-demo-e2e-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let start = 1_700_000_040; // a multiple of 120 s: 360 s of event time = 3 windows
    let opts = DemoOptions {
        data: root().join("data"),
        out: out.clone(),
        model: root().join("models"),
        fast: true,
        duration_s: 360,
        seed: 7,
        start_s: Some(start),
        partitions: 3,
        progress: false,
    };
    let summary = run_demo(&opts, MemoryBroker::new(3)).await.unwrap();
    assert_eq!(summary.ticks, 72);
    assert_eq!(summary.stream.skipped, 0);
    assert_eq!(summary.stream.late, 0, "the grace period accepts the pending batch");

    // What the producer must have sent, recomputed with the batching rules alone.
    let (by_day, _) = load_by_day(&opts.data).unwrap();
    let mut batcher = TickBatcher::new(by_day, opts.seed);
    let mut expected: HashMap<String, usize> = HashMap::new();
    let mut sent = 0;
    for tick in 0..72 {
        for p in batcher.tick(start + tick * 5).into_iter().chain(if tick == 71 { batcher.drain() } else { Vec::new() }) {
            let v: Value = serde_json::from_slice(&p.value_json()).unwrap();
            *expected.entry(identity(&p.key, &v)).or_default() += 1;
            sent += 1;
        }
    }
    assert_eq!(summary.produced, sent as u64);

    // Every produced record is kept exactly once, with prediction, probability and label.
    let kept: Vec<Value> = read_jsonl(&out.join("flights.jsonl")).unwrap();
    assert_eq!(kept.len(), sent, "none lost, none duplicated");
    let mut seen: HashMap<String, usize> = HashMap::new();
    for f in &kept {
        let key = f["DAY_OF_WEEK"].as_i64().unwrap().to_string();
        *seen.entry(identity(&key, f)).or_default() += 1;
        assert!(f["prediction"] == 0 || f["prediction"] == 1);
        let p = f["probability"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&p));
        let label = match f["ARRIVAL_DELAY"].as_f64() {
            Some(d) => Value::from(u8::from(d > 15.0)),
            None => Value::Null,
        };
        assert_eq!(f["label"], label);
    }
    assert_eq!(seen, expected);

    // Recompute count and accuracy per tracked key and 2-minute window from the kept records.
    let mut recomputed: BTreeMap<(String, i64), (u64, u64, u64)> = BTreeMap::new();
    for f in &kept {
        let key = f["DAY_OF_WEEK"].as_i64().unwrap().to_string();
        if !["1", "2", "3"].contains(&key.as_str()) {
            continue;
        }
        let ts = f["ts"].as_i64().unwrap();
        let e = recomputed.entry((key, ts - ts.rem_euclid(120))).or_default();
        e.0 += 1;
        if !f["label"].is_null() {
            e.1 += 1;
            e.2 += u64::from(f["label"] == f["prediction"]);
        }
    }
    assert_eq!(recomputed.len(), 9, "3 keys x 3 windows");
    let rows: Vec<Value> = read_jsonl(&out.join("results.jsonl")).unwrap();
    let mut last: BTreeMap<(String, i64), Value> = BTreeMap::new();
    for r in rows {
        let k = (r["key"].as_str().unwrap().to_string(), r["window_start"].as_i64().unwrap());
        last.insert(k, r);
    }
    assert_eq!(last.keys().collect::<Vec<_>>(), recomputed.keys().collect::<Vec<_>>());
    for (k, (count, labelled, correct)) in &recomputed {
        let row = &last[k];
        assert_eq!(row["countFlightRecords"].as_u64().unwrap(), *count, "{k:?}");
        let acc = *correct as f64 / *labelled as f64;
        assert!((row["accumMeanAccuracy"].as_f64().unwrap() - acc).abs() < 1e-9, "{k:?}");
        assert_eq!(row["window_end"].as_i64().unwrap(), k.1 + 120);
    }

    // The consumer saw every record of keys 1-3 and its counts never exceed a window's worth.
    let counts: Vec<Value> = read_jsonl(&out.join("consumer.jsonl")).unwrap();
    assert!(!counts.is_empty());
    assert!(counts.iter().all(|c| ["1", "2", "3"].contains(&c["key"].as_str().unwrap())));
    let _ = std::fs::remove_dir_all(&out);
}
