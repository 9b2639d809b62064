//! An independent recomputation of what a demo run must write, shared by the end-to-end tests
//! (embedded topics, Kafka, the browser): the `sex` records are recomputed from the log file
//! itself (split on commas, each column checked by hand), the per-second counts from
//! `sex.jsonl`, and the chart's points from those counts. None of it calls the example's code.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, dead_code)]

use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use weir_shoppers::demo::DemoSummary;
use weir_shoppers::options::Options;

/// The repository root.
#[allow(unused_imports)] // not every test needs it
pub use weir_example_testkit::workspace_root as root;

/// The bundled log.
pub fn log() -> PathBuf {
    root().join("data/shoppers/user_log.csv.gz")
}

/// Fast options: the first `rows` rows of `data`, 10 a second from `start_ms`, into `out`.
pub fn fast_options(data: &Path, out: &Path, rows: u64, start_ms: i64) -> Options {
    let mut opts = Options::demo(data.to_path_buf(), out.to_path_buf());
    opts.rows = Some(rows);
    opts.start_ms = Some(start_ms);
    opts
}

/// A fresh directory under the system's temporary directory.
pub fn temp_dir(name: &str) -> PathBuf {
    weir_example_testkit::fresh_dir(&format!("shoppers-{name}"))
}

/// The text of a log file (gunzipped when it ends in `.gz`).
pub fn read_log(path: &Path) -> String {
    let bytes = std::fs::read(path).unwrap();
    if path.extension().is_some_and(|e| e == "gz") {
        let mut text = String::new();
        flate2::read::GzDecoder::new(&bytes[..])
            .read_to_string(&mut text)
            .unwrap();
        text
    } else {
        String::from_utf8(bytes).unwrap()
    }
}

/// What the producer must do with the first `rows` data rows of `log`: the gender field of
/// each well-formed row with its send time (row `i` at `start + i * 100 ms`), and the line
/// numbers (1-based, the header is line 1) of the malformed rows.
pub fn expected_sex(log: &str, rows: usize, start_ms: i64) -> (Vec<(String, i64)>, Vec<usize>) {
    let (mut sent, mut malformed) = (Vec::new(), Vec::new());
    let mut lines = log.lines();
    let header = lines.next().unwrap();
    assert_eq!(
        header,
        "user_id,item_id,cat_id,merchant_id,brand_id,month,day,action,age_range,gender,province"
    );
    for (i, line) in lines.take(rows).enumerate() {
        match gender_of(line) {
            Some(g) => sent.push((g, start_ms + i as i64 * 100)),
            None => malformed.push(i + 2),
        }
    }
    (sent, malformed)
}

/// A row's gender field when the row is well formed.
fn gender_of(line: &str) -> Option<String> {
    let f: Vec<&str> = line.split(',').collect();
    if f.len() != 11 {
        return None;
    }
    let number = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let optional = |s: &str| s.is_empty() || number(s);
    let ok = number(f[0])
        && number(f[1])
        && number(f[2])
        && number(f[3])
        && optional(f[4])
        && number(f[5])
        && number(f[6])
        && number(f[7])
        && optional(f[8])
        && ["", "0", "1", "2"].contains(&f[9]);
    ok.then(|| f[9].to_owned())
}

#[allow(unused_imports)] // not every test reads JSON lines
pub use weir_example_testkit::jsonl;

/// Per second (start ms): the records of `0`, `1` and `2`-or-empty among `sex` records.
pub fn recount(sex: &[Value]) -> BTreeMap<i64, [u64; 3]> {
    let mut seconds: BTreeMap<i64, [u64; 3]> = BTreeMap::new();
    for r in sex {
        let ts = r["timestamp"].as_i64().unwrap();
        let slot = match r["value"].as_str().unwrap() {
            "0" => 0,
            "1" => 1,
            "2" | "" => 2,
            other => panic!("{other} on sex"),
        };
        seconds.entry(ts - ts.rem_euclid(1000)).or_default()[slot] += 1;
    }
    seconds
}

/// The `result` record of one second: `[{"0":n},{"1":n},{"2":n}]` without zero counts.
pub fn result_record(second: i64, counts: [u64; 3]) -> Value {
    let entries: Vec<Value> = counts
        .iter()
        .enumerate()
        .filter(|(_, n)| **n > 0)
        .map(|(g, n)| json!({ g.to_string(): n }))
        .collect();
    json!({ "key": null, "value": entries, "timestamp": second })
}

/// Checks everything a finished fast run wrote to `opts.out`, and the chart's points on the
/// dashboard (`snapshot`, as `GET /api/series` answers), against the recomputation.
pub fn check_outputs(opts: &Options, summary: &DemoSummary, snapshot: &Value) {
    let start = opts.start_ms.unwrap();
    let rows = opts.rows.unwrap() as usize;
    let (sent, malformed) = expected_sex(&read_log(&opts.data), rows, start);

    // sex.jsonl: every well-formed row's gender, null key, send time start + i * 100 ms.
    let sex = jsonl(&opts.out.join("sex.jsonl"));
    let got: Vec<(String, i64)> = sex
        .iter()
        .map(|r| {
            assert!(r["key"].is_null(), "{r}");
            (
                r["value"].as_str().unwrap().to_owned(),
                r["timestamp"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(got, sent, "sex.jsonl");
    assert_eq!(summary.producer.processed, sent.len() as u64);
    assert_eq!(summary.producer.skipped, malformed.len() as u64);
    let lines: Vec<usize> = summary
        .malformed_rows
        .iter()
        .map(|d| d.source.rsplit('/').next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(
        lines, malformed,
        "the malformed rows in the dead-letter topic"
    );
    let log = read_log(&opts.data);
    let log_lines: Vec<&str> = log.lines().collect();
    for (d, line) in summary.malformed_rows.iter().zip(&malformed) {
        assert_eq!(d.value, log_lines[line - 1], "dead letter of line {line}");
        assert!(!d.error.is_empty());
    }

    // result.jsonl: one record per second that had a gender, in order.
    let seconds = recount(&sex);
    let expected: Vec<Value> = seconds.iter().map(|(s, c)| result_record(*s, *c)).collect();
    assert_eq!(
        jsonl(&opts.out.join("result.jsonl")),
        expected,
        "result.jsonl"
    );
    assert_eq!(summary.seconds, seconds.len() as u64);
    assert_eq!(summary.stream.processed, sent.len() as u64);
    assert_eq!(summary.stream.skipped, 0);
    assert!(summary.bad_values.is_empty() && summary.bad_results.is_empty());
    assert_eq!(summary.web.processed, seconds.len() as u64);

    // The chart: girls and boys per second, unknown excluded.
    let (girls, boys) = expected_points(&seconds);
    let (got_girls, got_boys) = chart_points(snapshot);
    assert_eq!(got_girls, girls, "girls on the chart");
    assert_eq!(got_boys, boys, "boys on the chart");
    for ext in ["png", "svg"] {
        let path = opts.out.join(format!("shoppers_per_second.{ext}"));
        assert!(
            std::fs::metadata(&path).unwrap().len() > 1000,
            "{}",
            path.display()
        );
    }
}

/// A chart series: `(x ms, y)` points.
pub type Series = Vec<(i64, f64)>;

/// The chart's series recomputed: `(second, girls)` and `(second, boys)`.
pub fn expected_points(seconds: &BTreeMap<i64, [u64; 3]>) -> (Series, Series) {
    let series = |g: usize| seconds.iter().map(|(s, c)| (*s, c[g] as f64)).collect();
    (series(0), series(1))
}

/// The `girls` and `boys` series of the dashboard's one chart.
pub fn chart_points(snapshot: &Value) -> (Series, Series) {
    let charts = snapshot["charts"].as_array().unwrap();
    assert_eq!(charts.len(), 1, "{snapshot}");
    assert_eq!(charts[0]["title"], "Shoppers per second by gender");
    let series = &charts[0]["panels"][0]["series"];
    let names: Vec<&String> = series.as_object().unwrap().keys().collect();
    assert_eq!(names, ["boys", "girls"], "unknown is not drawn");
    let points = |name: &str| {
        series[name]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| (p[0].as_i64().unwrap(), p[1].as_f64().unwrap()))
            .collect()
    };
    (points("girls"), points("boys"))
}
