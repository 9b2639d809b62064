//! Checks of a fast demo run's outputs against a recomputation written here from the
//! documented rules alone (none of the example's parsing or aggregation code is used):
//! line i is stamped `start + i × 100 ms`; a batch is the 5-second tumbling window of those
//! stamps, emitted when it closes with timestamp `end - 1`: its averages, the averages over all
//! samples of the batches so far, and the consecutive sample pairs (in arrival order, over the
//! valid lines) not 60 s apart whose later sample is in the batch; the luminosity windows are
//! 45 s long, start every 15 s, and emit their average light with timestamp `end - 1`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, dead_code)]

use serde_json::Value;
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use weir_sensors::demo::{DemoOptions, DemoSummary};

/// The repository root.
#[allow(unused_imports)] // not every test needs it
pub use weir_example_testkit::workspace_root as root;

/// The shipped data file.
pub fn shipped_data() -> PathBuf {
    root().join("data/sensors/occupancy.csv.gz")
}

/// The data lines of a CSV file (gzip or not), header dropped.
pub fn data_lines(path: &Path) -> Vec<String> {
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .unwrap()
        .read_to_end(&mut bytes)
        .unwrap();
    if path.extension().is_some_and(|e| e == "gz") {
        let mut text = Vec::new();
        flate2::read::MultiGzDecoder::new(&bytes[..])
            .read_to_end(&mut text)
            .unwrap();
        bytes = text;
    }
    let text = String::from_utf8_lossy(&bytes).into_owned();
    text.split('\n')
        .skip(1)
        .map(|l| l.trim_end_matches('\r').to_string())
        .filter(|l| !l.is_empty())
        .collect()
}

/// A sample as the test reads it: (date seconds, temperature, humidity, light, CO2).
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    pub date_s: i64,
    pub temperature: f64,
    pub humidity: f64,
    pub light: f64,
    pub co2: f64,
}

/// Seconds since the epoch of `YYYY-MM-DD HH:MM:SS`, counting days year by year.
fn seconds(date: &str) -> Option<i64> {
    let parts: Vec<&str> = date.split([' ', '-', ':']).collect();
    if parts.len() != 6 || date.len() != 19 {
        return None;
    }
    let n: Vec<i64> = parts
        .iter()
        .map(|p| {
            p.parse::<i64>()
                .ok()
                .filter(|_| p.bytes().all(|b| b.is_ascii_digit()))
        })
        .collect::<Option<_>>()?;
    let leap = |y: i64| (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let month_days = [
        31,
        if leap(n[0]) { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if !(1..=12).contains(&n[1]) || n[2] < 1 || n[2] > month_days[n[1] as usize - 1] {
        return None;
    }
    if n[3] > 23 || n[4] > 59 || n[5] > 59 || n[0] < 1970 {
        return None;
    }
    let mut days = 0;
    for y in 1970..n[0] {
        days += if leap(y) { 366 } else { 365 };
    }
    days += month_days[..n[1] as usize - 1].iter().sum::<i64>() + n[2] - 1;
    Some(days * 86_400 + n[3] * 3_600 + n[4] * 60 + n[5])
}

/// The sample of a line; `None` when it is malformed.
pub fn sample(line: &str) -> Option<Sample> {
    let f: Vec<&str> = line.split(',').collect();
    if f.len() != 8 {
        return None;
    }
    let unquote = |s: &str| s.trim_matches('"').to_string();
    unquote(f[0]).parse::<u64>().ok()?;
    let date_s = seconds(&unquote(f[1]))?;
    let num = |s: &str| s.parse::<f64>().ok().filter(|x| x.is_finite());
    let _ratio = num(f[6])?;
    if f[7] != "0" && f[7] != "1" {
        return None;
    }
    Some(Sample {
        date_s,
        temperature: num(f[2])?,
        humidity: num(f[3])?,
        light: num(f[4])?,
        co2: num(f[5])?,
    })
}

/// One expected result: name, timestamp, value.
pub type Expected = (String, i64, f64);

/// The results recomputed from the lines and their send times, per name in order.
pub fn recompute(lines: &[String], start_ms: i64) -> BTreeMap<String, Vec<(i64, f64)>> {
    let mut out: BTreeMap<String, Vec<(i64, f64)>> = BTreeMap::new();
    let stamped: Vec<(i64, Sample)> = lines
        .iter()
        .enumerate()
        .filter_map(|(i, l)| sample(l).map(|s| (start_ms + i as i64 * 100, s)))
        .collect();
    // Batches, in time order, with the irregular pairs whose later sample is in them.
    let mut batches: BTreeMap<i64, (Vec<Sample>, u64)> = BTreeMap::new();
    for (j, (ts, s)) in stamped.iter().enumerate() {
        let e = batches.entry(ts.div_euclid(5_000)).or_default();
        e.0.push(*s);
        if j > 0 && s.date_s - stamped[j - 1].1.date_s != 60 {
            e.1 += 1;
        }
    }
    let mut all: Vec<Sample> = Vec::new();
    let mean = |v: &[Sample], f: fn(&Sample) -> f64| v.iter().map(f).sum::<f64>() / v.len() as f64;
    let mut push =
        |name: &str, ts: i64, v: f64| out.entry(name.to_string()).or_default().push((ts, v));
    for (b, (samples, irregular)) in &batches {
        let ts = (b + 1) * 5_000 - 1;
        all.extend(samples);
        push(
            "Average temperature by batch",
            ts,
            mean(samples, |s| s.temperature),
        );
        push(
            "Average humidity by batch",
            ts,
            mean(samples, |s| s.humidity),
        );
        push("Average CO2 by batch", ts, mean(samples, |s| s.co2));
        push(
            "Average temperature since start",
            ts,
            mean(&all, |s| s.temperature),
        );
        push(
            "Average humidity since start",
            ts,
            mean(&all, |s| s.humidity),
        );
        push("Average CO2 since start", ts, mean(&all, |s| s.co2));
        push("Gaps not one minute by batch", ts, *irregular as f64);
    }
    // Luminosity windows [k*15 s, k*15 s + 45 s) holding at least one sample.
    let mut windows: BTreeMap<i64, (f64, u64)> = BTreeMap::new();
    for (ts, s) in &stamped {
        let last = ts.div_euclid(15_000);
        for k in last - 2..=last {
            let e = windows.entry(k).or_default();
            e.0 += s.light;
            e.1 += 1;
        }
    }
    for (k, (sum, n)) in windows {
        push(
            "Average luminosity by 45 s window",
            k * 15_000 + 45_000 - 1,
            sum / n as f64,
        );
    }
    out
}

#[allow(unused_imports)] // not every test reads JSON lines
pub use weir_example_testkit::jsonl;

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * b.abs().max(1.0)
}

/// Options of a fast demo over `data` writing to `out`.
pub fn fast_options(data: &Path, out: &Path) -> DemoOptions {
    DemoOptions::fast(data, out)
}

/// Checks everything a finished fast demo run wrote to `opts.out` and its summary.
pub fn check_outputs(opts: &DemoOptions, summary: &DemoSummary) {
    let out = &opts.out;
    let lines = data_lines(&opts.data);
    let lines: Vec<String> = lines
        .into_iter()
        .take(opts.rows.unwrap_or(usize::MAX))
        .collect();
    let start = summary.start_ms;
    if opts.start_ms.is_none() && opts.idle.is_none() {
        assert_eq!(start, 1_423_072_260_000, "the first sample's date");
    }

    // test.jsonl: every line, unparsed, no key, stamped start + i x 100 ms.
    let sent = jsonl(&out.join("test.jsonl"));
    assert_eq!(sent.len(), lines.len());
    for (i, (record, line)) in sent.iter().zip(&lines).enumerate() {
        assert_eq!(record["key"], Value::Null);
        assert_eq!(record["value"].as_str().unwrap(), line, "line {i}");
        assert_eq!(
            record["timestamp"].as_i64().unwrap(),
            start + i as i64 * 100
        );
    }

    // results.jsonl: per name, the recomputed sequence; key = name, value = "name: value".
    let expected = recompute(&lines, start);
    let results = jsonl(&out.join("results.jsonl"));
    let mut got: BTreeMap<String, Vec<(i64, f64)>> = BTreeMap::new();
    for r in &results {
        let key = r["key"].as_str().unwrap();
        let text = r["value"].as_str().unwrap();
        let value = text
            .strip_prefix(&format!("{key}: "))
            .unwrap_or_else(|| panic!("{text} is not `{key}: value`"));
        got.entry(key.to_string())
            .or_default()
            .push((r["timestamp"].as_i64().unwrap(), value.parse().unwrap()));
    }
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>()
    );
    for (name, want) in &expected {
        let have = &got[name];
        assert_eq!(have.len(), want.len(), "{name}");
        for ((ht, hv), (wt, wv)) in have.iter().zip(want) {
            assert_eq!(ht, wt, "{name}");
            assert!(close(*hv, *wv), "{name} at {ht}: {hv} != {wv}");
        }
    }
    // A batch's seven results come together, in this order, with one timestamp.
    let order = [
        "Average temperature by batch",
        "Average humidity by batch",
        "Average CO2 by batch",
        "Average temperature since start",
        "Average humidity since start",
        "Average CO2 since start",
        "Gaps not one minute by batch",
    ];
    let batch_rows: Vec<&Value> = results
        .iter()
        .filter(|r| r["key"] != "Average luminosity by 45 s window")
        .collect();
    for chunk in batch_rows.chunks(7) {
        let names: Vec<&str> = chunk.iter().map(|r| r["key"].as_str().unwrap()).collect();
        assert_eq!(names, order);
        assert!(chunk
            .iter()
            .all(|r| r["timestamp"] == chunk[0]["timestamp"]));
    }

    // consumer.txt: every result's value, in the order written.
    let consumed = std::fs::read_to_string(out.join("consumer.txt")).unwrap();
    let values: Vec<&str> = results
        .iter()
        .map(|r| r["value"].as_str().unwrap())
        .collect();
    assert_eq!(consumed.lines().collect::<Vec<_>>(), values);

    // The dead letters: exactly the malformed lines, in order, with a reason.
    let bad: Vec<(usize, &String)> = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| sample(l).is_none())
        .collect();
    let letters = jsonl(&out.join("test-dead-letters.jsonl"));
    assert_eq!(letters.len(), bad.len());
    for (letter, (i, line)) in letters.iter().zip(&bad) {
        assert_eq!(letter["value"]["line"].as_str().unwrap(), *line);
        assert!(letter["value"]["error"]
            .as_str()
            .unwrap()
            .contains("bad value"));
        assert_eq!(
            letter["value"]["source"].as_str().unwrap(),
            format!("test/0/{i}")
        );
        assert_eq!(
            letter["timestamp"].as_i64().unwrap(),
            start + *i as i64 * 100
        );
    }

    // The summary (returned and written) counts and lists the same.
    let written: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    let n = |name: &str| expected.get(name).map_or(0, Vec::len) as u64;
    assert_eq!(written["lines_sent"], lines.len() as u64);
    assert_eq!(summary.lines_sent, lines.len() as u64);
    assert_eq!(summary.readings, (lines.len() - bad.len()) as u64);
    assert_eq!(summary.malformed, bad.len() as u64);
    assert_eq!(written["malformed"], bad.len() as u64);
    let listed: Vec<&str> = summary
        .malformed_lines
        .iter()
        .map(|l| l.line.as_str())
        .collect();
    assert_eq!(
        listed,
        bad.iter().map(|(_, l)| l.as_str()).collect::<Vec<_>>()
    );
    assert_eq!(
        written["malformed_lines"].as_array().unwrap().len(),
        bad.len()
    );
    assert_eq!(summary.batches, n("Average temperature by batch"));
    assert_eq!(
        summary.luminosity_windows,
        n("Average luminosity by 45 s window")
    );
    assert_eq!(summary.results, results.len() as u64);
    assert_eq!(written["results"], results.len() as u64);
    assert_eq!(summary.consumed, results.len() as u64);
    for (name, text) in &summary.last_results {
        let (_, v) = expected[name].last().unwrap();
        assert_eq!(text, &format!("{name}: {}", got[name].last().unwrap().1));
        assert!(close(got[name].last().unwrap().1, *v));
    }

    // The chart: each average's points are its results (the gap count is not charted).
    let series = [
        (0, "by 5 s batch", "Average temperature by batch"),
        (0, "since start", "Average temperature since start"),
        (1, "by 5 s batch", "Average humidity by batch"),
        (1, "since start", "Average humidity since start"),
        (2, "by 5 s batch", "Average CO2 by batch"),
        (2, "since start", "Average CO2 since start"),
        (
            3,
            "45 s window, every 15 s",
            "Average luminosity by 45 s window",
        ),
    ];
    assert_eq!(summary.chart.len(), series.len());
    for (panel, name, result) in series {
        let (_, _, points) = summary
            .chart
            .iter()
            .find(|(p, s, _)| *p == panel && s == name)
            .unwrap_or_else(|| panic!("no series {panel}/{name}"));
        assert_eq!(points, &got[result], "{panel}/{name}");
        assert_eq!(
            summary.chart_points[&format!("{panel}/{name}")],
            points.len()
        );
        assert_eq!(
            written["chart_points"][format!("{panel}/{name}")],
            points.len()
        );
    }
    let png = std::fs::read(out.join("averages.png")).unwrap();
    assert!(png.starts_with(b"\x89PNG"));
    let svg = std::fs::read_to_string(out.join("averages.svg")).unwrap();
    assert!(svg.contains("<svg"));
    for name in [
        "by 5 s batch",
        "since start",
        "45 s window, every 15 s",
        "Temperature",
        "CO2",
    ] {
        assert!(svg.contains(name), "the SVG names {name}");
    }
}
