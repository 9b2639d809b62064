//! Checks of a fast demo run's outputs against an independent recomputation, shared by the
//! demo's end-to-end tests on embedded topics and on Kafka: every produced record is kept
//! exactly once in the Parquet data set (read back with arrow2, typed columns), each key's
//! final result per window equals the count and accuracy recomputed from the Parquet rows, and
//! the charts are written.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, dead_code)]

use arrow2::array::{Array, PrimitiveArray, Utf8Array};
use arrow2::datatypes::{DataType, Field};
use arrow2::io::parquet::read;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use weir_flights::demo::{read_jsonl, DemoOptions, DemoSummary};
use weir_flights::producer::TickBatcher;
use weir_flights::rows::load_by_day;

/// The repository root.
#[allow(unused_imports)] // not every test needs it
pub use weir_example_testkit::workspace_root as root;

/// A record's identity: key, ts and the columns that identify a flight.
fn identity(key: &str, row: &Value) -> String {
    format!(
        "{key}|{}|{}-{}-{}|{}|{}|{}|{}",
        row["ts"],
        row["YEAR"],
        row["MONTH"],
        row["DAY"],
        row["AIRLINE"],
        row["FLIGHT_NUMBER"],
        row["ORIGIN_AIRPORT"],
        row["SCHEDULED_DEPARTURE"]
    )
}

/// The designed Parquet columns: the CSV columns, then `ts`, `prediction`, `probability`, `label`.
fn expected_columns() -> Vec<(&'static str, DataType)> {
    use DataType::{Float64, Int64, UInt8, Utf8};
    vec![
        ("YEAR", Int64),
        ("MONTH", Int64),
        ("DAY", Int64),
        ("DAY_OF_WEEK", Int64),
        ("AIRLINE", Utf8),
        ("FLIGHT_NUMBER", Int64),
        ("TAIL_NUMBER", Utf8),
        ("ORIGIN_AIRPORT", Utf8),
        ("DESTINATION_AIRPORT", Utf8),
        ("SCHEDULED_DEPARTURE", Int64),
        ("DEPARTURE_TIME", Int64),
        ("DEPARTURE_DELAY", Float64),
        ("AIR_TIME", Float64),
        ("DISTANCE", Float64),
        ("SCHEDULED_ARRIVAL", Int64),
        ("ARRIVAL_TIME", Int64),
        ("ARRIVAL_DELAY", Float64),
        ("CANCELLED", Int64),
        ("TEMPERATURE", Float64),
        ("WIND_SPEED", Float64),
        ("VISIBILITY", Float64),
        ("PRECIPITATION", Float64),
        ("ts", Int64),
        ("prediction", UInt8),
        ("probability", Float64),
        ("label", UInt8),
    ]
}

/// One cell of an arrow2 array as JSON (null for a null).
fn cell(array: &dyn Array, i: usize) -> Value {
    let any = array.as_any();
    match array.data_type() {
        DataType::Int64 => any
            .downcast_ref::<PrimitiveArray<i64>>()
            .unwrap()
            .get(i)
            .map_or(Value::Null, Value::from),
        DataType::Float64 => any
            .downcast_ref::<PrimitiveArray<f64>>()
            .unwrap()
            .get(i)
            .map_or(Value::Null, Value::from),
        DataType::UInt8 => any
            .downcast_ref::<PrimitiveArray<u8>>()
            .unwrap()
            .get(i)
            .map_or(Value::Null, Value::from),
        DataType::Utf8 => any
            .downcast_ref::<Utf8Array<i32>>()
            .unwrap()
            .get(i)
            .map_or(Value::Null, Value::from),
        other => panic!("unexpected column type {other:?}"),
    }
}

/// Every part file of a Parquet data set directory: the part names, each file's schema, and
/// all rows as JSON objects keyed by column name.
fn read_parquet_dir(dir: &Path) -> (Vec<String>, Vec<Vec<Field>>, Vec<Value>) {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let (mut schemas, mut rows) = (Vec::new(), Vec::new());
    for name in &names {
        assert!(
            name.starts_with("part-") && name.ends_with(".parquet"),
            "unexpected file {name}"
        );
        let mut file = std::fs::File::open(dir.join(name)).unwrap();
        let metadata = read::read_metadata(&mut file).unwrap();
        let schema = read::infer_schema(&metadata).unwrap();
        let reader =
            read::FileReader::new(file, metadata.row_groups, schema.clone(), None, None, None);
        for chunk in reader {
            let chunk = chunk.unwrap();
            for i in 0..chunk.len() {
                let row: Map<String, Value> = schema
                    .fields
                    .iter()
                    .zip(chunk.arrays())
                    .map(|(f, a)| (f.name.clone(), cell(a.as_ref(), i)))
                    .collect();
                rows.push(Value::Object(row));
            }
        }
        schemas.push(schema.fields);
    }
    (names, schemas, rows)
}

/// Options of a fast 6-minute demo (3 windows) writing to `out`, starting at `start` (Unix
/// seconds, a multiple of 120).
pub fn fast_options(out: &Path, partitions: u32, start: i64) -> DemoOptions {
    DemoOptions {
        data: root().join("data"),
        out: out.to_path_buf(),
        model: root().join("models"),
        fast: true,
        duration_s: 360,
        seed: 7,
        start_s: Some(start),
        partitions,
        progress: false,
    }
}

/// A first tick for embedded topics: a multiple of 120 s, so 360 s of event time are 3 windows.
pub const START: i64 = 1_700_000_040;

/// A first tick near now (brokers drop records older than their retention), a multiple of 120 s.
pub fn recent_start() -> i64 {
    let now = weir_example_testkit::now_ms().div_euclid(1000);
    now - now.rem_euclid(120) - 600
}

/// Checks everything a finished fast demo run wrote to `opts.out`.
pub fn check_outputs(opts: &DemoOptions, summary: &DemoSummary) {
    let (out, start) = (opts.out.clone(), opts.start_s.unwrap());
    assert_eq!(summary.ticks, 72);
    assert_eq!(summary.stream.skipped, 0);
    assert_eq!(
        summary.stream.late, 0,
        "the grace period accepts the pending batch"
    );

    // What the producer must have sent, recomputed with the batching rules alone.
    let (by_day, _) = load_by_day(&opts.data).unwrap();
    let mut batcher = TickBatcher::new(by_day, opts.seed);
    let mut expected: HashMap<String, usize> = HashMap::new();
    let mut sent = 0;
    for tick in 0..72 {
        for p in batcher
            .tick(start + tick * 5)
            .into_iter()
            .chain(if tick == 71 {
                batcher.drain()
            } else {
                Vec::new()
            })
        {
            let v: Value = serde_json::from_slice(&p.value_json()).unwrap();
            *expected.entry(identity(&p.key, &v)).or_default() += 1;
            sent += 1;
        }
    }
    assert_eq!(summary.produced, sent as u64);

    // Every produced record is kept exactly once in the Parquet data set, one sink (one
    // partition number) per task, with the designed nullable columns.
    let (parts, schemas, kept) = read_parquet_dir(&out.join("flight.parquet"));
    assert!(!parts.is_empty());
    let partitions: BTreeSet<&str> = parts
        .iter()
        .map(|p| &p["part-".len()..p.len() - "-00000.parquet".len()])
        .collect();
    assert!(
        partitions.len() <= opts.partitions as usize,
        "one partition number per task: {parts:?}"
    );
    let expected_schema = expected_columns();
    for fields in &schemas {
        let got: Vec<(&str, DataType)> = fields
            .iter()
            .map(|f| (f.name.as_str(), f.data_type().clone()))
            .collect();
        assert_eq!(got, expected_schema);
        assert!(fields.iter().all(|f| f.is_nullable));
    }
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

    // Recompute count and accuracy per tracked key and 2-minute window from the Parquet rows.
    let mut recomputed: BTreeMap<(String, i64), (u64, u64, u64)> = BTreeMap::new();
    for f in &kept {
        let key = f["DAY_OF_WEEK"].as_i64().unwrap().to_string();
        if !["1", "2", "3"].contains(&key.as_str()) {
            continue;
        }
        let ts = f["ts"].as_i64().unwrap();
        let e = recomputed
            .entry((key, ts - ts.rem_euclid(120)))
            .or_default();
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
        let k = (
            r["key"].as_str().unwrap().to_string(),
            r["window_start"].as_i64().unwrap(),
        );
        last.insert(k, r);
    }
    assert_eq!(
        last.keys().collect::<Vec<_>>(),
        recomputed.keys().collect::<Vec<_>>()
    );
    for (k, (count, labelled, correct)) in &recomputed {
        let row = &last[k];
        assert_eq!(row["countFlightRecords"].as_u64().unwrap(), *count, "{k:?}");
        let acc = *correct as f64 / *labelled as f64;
        assert!(
            (row["accumMeanAccuracy"].as_f64().unwrap() - acc).abs() < 1e-9,
            "{k:?}"
        );
        assert_eq!(row["window_end"].as_i64().unwrap(), k.1 + 120);
    }

    // The consumer saw every record of keys 1-3 and its counts never exceed a window's worth.
    let counts: Vec<Value> = read_jsonl(&out.join("consumer.jsonl")).unwrap();
    assert!(!counts.is_empty());
    assert!(counts
        .iter()
        .all(|c| ["1", "2", "3"].contains(&c["key"].as_str().unwrap())));

    // Both charts are written as PNG and SVG, with one legend entry per tracked key.
    for chart in ["accuracy", "consumer"] {
        let png = std::fs::read(out.join(format!("{chart}.png"))).unwrap();
        assert!(png.starts_with(b"\x89PNG"), "{chart}.png is a PNG");
        let svg = std::fs::read_to_string(out.join(format!("{chart}.svg"))).unwrap();
        assert!(
            svg.starts_with("<svg") || svg.contains("<svg"),
            "{chart}.svg is an SVG"
        );
        for key in ["key 1", "key 2", "key 3"] {
            assert!(svg.contains(key), "{chart}.svg names {key}");
        }
    }
}
