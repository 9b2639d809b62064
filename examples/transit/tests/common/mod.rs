//! Checks of a demo run's outputs against a recomputation written here from the `.jsonl`
//! copies of the topics the producers wrote and the stations CSV (read with the `csv` crate
//! and `serde_json`, none of the example's logic): the stations on the board, the turnstile
//! summary, the last arrival per station and direction, the weather, the malformed events.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, dead_code)]

pub mod services;

use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The bundled stations.
pub fn shipped_stations() -> PathBuf {
    root().join("data/transit/stations.csv")
}

/// A fresh directory for one test's outputs.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("weir-transit-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The lines of a `.jsonl` file as JSON values.
pub fn lines(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// `status.json`.
pub fn status(out: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(out.join("status.json")).unwrap()).unwrap()
}

/// Station ids per line in order, from the CSV: (line, [(station_id, name)]).
pub fn expected_lines(csv_path: &Path) -> Vec<(String, Vec<(u64, String)>)> {
    let mut reader = csv::Reader::from_path(csv_path).unwrap();
    let headers = reader.headers().unwrap().clone();
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let mut by_line: BTreeMap<String, BTreeMap<(u64, u64), String>> = BTreeMap::new();
    for record in reader.records() {
        let r = record.unwrap();
        let line = ["red", "blue", "green"]
            .into_iter()
            .find(|l| &r[col(l)] == "true")
            .unwrap();
        let order: u64 = r[col("order")].parse().unwrap();
        let id: u64 = r[col("station_id")].parse().unwrap();
        by_line
            .entry(line.into())
            .or_default()
            .insert((order, id), r[col("station_name")].to_string());
    }
    ["blue", "red", "green"]
        .iter()
        .map(|l| {
            let stations = by_line.remove(*l).unwrap_or_default();
            (
                l.to_string(),
                stations
                    .into_iter()
                    .map(|((_, id), name)| (id, name))
                    .collect(),
            )
        })
        .collect()
}

/// The board's stations: (line, [(station_id, name)]).
pub fn board_lines(status: &Value) -> Vec<(String, Vec<(u64, String)>)> {
    status["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            let stations = l["stations"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| {
                    (
                        s["station_id"].as_u64().unwrap(),
                        s["name"].as_str().unwrap().to_string(),
                    )
                })
                .collect();
            (l["line"].as_str().unwrap().to_string(), stations)
        })
        .collect()
}

/// Every station row of the board by id.
pub fn board_stations(status: &Value) -> BTreeMap<u64, Value> {
    status["lines"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|l| l["stations"].as_array().unwrap().clone())
        .map(|s| (s["station_id"].as_u64().unwrap(), s))
        .collect()
}

/// The last arrival per (station, direction) in the arrival topics' copies, as the board shows
/// a train: `{"train_id", "train_status", "timestamp"}` (the key's timestamp).
pub fn last_arrivals(out: &Path) -> BTreeMap<(u64, String), Value> {
    let mut last = BTreeMap::new();
    for entry in std::fs::read_dir(out).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        if !name.starts_with("org.chicago.cta.station.arrivals.") {
            continue;
        }
        for record in lines(&path) {
            let v = &record["value"];
            let train = serde_json::json!({
                "train_id": v["train_id"],
                "train_status": v["train_status"],
                "timestamp": record["key"]["timestamp"],
            });
            last.insert(
                (
                    v["station_id"].as_u64().unwrap(),
                    v["direction"].as_str().unwrap().to_string(),
                ),
                train,
            );
        }
    }
    last
}

/// Turnstile entries per station in the turnstile topic's copy.
pub fn turnstile_counts(out: &Path) -> BTreeMap<u64, u64> {
    let mut counts = BTreeMap::new();
    for record in lines(&out.join("org.chicago.cta.station.turnstile.v1.jsonl")) {
        *counts
            .entry(record["value"]["station_id"].as_u64().unwrap())
            .or_default() += 1;
    }
    counts
}

/// Checks every output of a finished demo in `out` over `stations_csv` (plus `extra`
/// stations expected on the board, e.g. a row inserted while running).
pub fn check_outputs(out: &Path, stations_csv: &Path) {
    let status = status(out);
    assert_eq!(
        board_lines(&status),
        expected_lines(stations_csv),
        "the stations on the board"
    );
    let board = board_stations(&status);

    // The turnstile summary: the board, and the summary topic's last value per station.
    let counts = turnstile_counts(out);
    assert!(counts.values().sum::<u64>() > 0);
    for (id, station) in &board {
        assert_eq!(
            station["turnstile_entries"].as_u64().unwrap(),
            counts.get(id).copied().unwrap_or(0),
            "station {id}"
        );
    }
    let mut summary = BTreeMap::new();
    for record in lines(&out.join("TURNSTILE_SUMMARY.jsonl")) {
        summary.insert(
            record["key"].as_u64().unwrap(),
            record["value"].as_u64().unwrap(),
        );
    }
    assert_eq!(summary, counts, "TURNSTILE_SUMMARY");

    // The last arrival per station and direction.
    let last = last_arrivals(out);
    let mut placed = 0;
    for (id, station) in &board {
        for (direction, field) in [("a", "direction_a"), ("b", "direction_b")] {
            let expected = last
                .get(&(*id, direction.to_string()))
                .cloned()
                .unwrap_or(Value::Null);
            assert_eq!(
                station[field], expected,
                "station {id} direction {direction}"
            );
            placed += usize::from(!expected.is_null());
        }
    }
    assert!(placed > 100, "most stations saw trains: {placed}");

    // The weather: the last reading on the weather topic.
    let weather = lines(&out.join("org.chicago.cta.weather.v1.jsonl"));
    assert_eq!(status["weather"], weather.last().unwrap()["value"]);

    // The malformed events: set aside with their reasons.
    let dead = lines(&out.join("org.chicago.cta.dead-letters.jsonl"));
    assert_eq!(dead.len(), 2, "{dead:?}");
    let by_topic = |prefix: &str| {
        let letter = dead
            .iter()
            .find(|d| d["value"]["source"].as_str().unwrap().starts_with(prefix));
        letter.unwrap_or_else(|| panic!("no dead letter from {prefix}: {dead:?}"))["value"]["error"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let error = by_topic("org.chicago.cta.station.arrivals.");
    assert!(
        error.contains("bad value") && error.contains("Confluent wire format"),
        "{error}"
    );
    let error = by_topic("org.chicago.cta.station.turnstile.v1/0/");
    assert!(
        error.contains("bad value") && error.contains("schema id 999 is not registered"),
        "{error}"
    );
    let rejected = lines(&out.join("org.chicago.cta.arrivals.rejected.jsonl"));
    assert_eq!(rejected.len(), 1);
    assert_eq!(rejected[0]["key"], 99_999);
    assert!(rejected[0]["value"]["error"]
        .as_str()
        .unwrap()
        .contains("unknown station id 99999"));
}
