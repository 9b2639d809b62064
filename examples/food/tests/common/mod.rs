//! Checks of a demo run's outputs against a recomputation written here from the survey CSV
//! alone (read with the `csv` crate, none of the example's types or functions): `Food.jsonl`,
//! `Food-dead-letters.jsonl`, `summary.csv`, the tables, the points each chart was given, and
//! what the SVG files draw. Shared by the tests on embedded topics and on Kafka.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, dead_code)]

use serde_json::{json, Value};
use std::io::Read;
use std::path::{Path, PathBuf};
use weir_food::summary::DemoSummary;

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The shipped survey.
pub fn shipped_data() -> PathBuf {
    root().join("data/food/food_survey.csv.gz")
}

/// A fresh directory for one test's outputs.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("weir-food-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

const HEADER: [&str; 8] = [
    "Timestamp",
    "Participant_ID",
    "Gender",
    "Nationality",
    "Age",
    "Food",
    "Juice",
    "Dessert",
];

/// One data row of the file: its 0-based number, the line it starts on, its fields.
struct FileRow {
    number: usize,
    line: u64,
    fields: Vec<String>,
    raw: String,
}

fn read_text(path: &Path) -> String {
    let mut text = String::new();
    let file = std::fs::File::open(path).unwrap();
    if path.extension().is_some_and(|e| e == "gz") {
        flate2::read::GzDecoder::new(file)
            .read_to_string(&mut text)
            .unwrap();
    } else {
        std::io::BufReader::new(file)
            .read_to_string(&mut text)
            .unwrap();
    }
    text
}

fn file_rows(path: &Path) -> Vec<FileRow> {
    let text = read_text(path);
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(text.as_bytes());
    assert_eq!(reader.headers().unwrap(), HEADER.as_slice());
    let lines: Vec<&str> = text.lines().collect();
    reader
        .records()
        .enumerate()
        .map(|(number, r)| {
            let r = r.unwrap();
            let line = r.position().unwrap().line();
            FileRow {
                number,
                line,
                fields: r.iter().map(str::to_string).collect(),
                raw: lines[line as usize - 1].to_string(),
            }
        })
        .collect()
}

/// The test's own reading of an age: trimmed, a finite number from 0 to 150.
fn age_of(text: &str) -> Result<f64, &'static str> {
    let t = text.trim();
    if t.is_empty() {
        return Err("Age is blank");
    }
    match t.parse::<f64>() {
        Ok(a) if a.is_finite() && (0.0..=150.0).contains(&a) => Ok(a),
        Ok(_) => Err("is not an age"),
        Err(_) => Err("is not a number"),
    }
}

/// The test's own case normalisation of a nationality.
fn nationality_of(text: &str) -> String {
    let words: Vec<String> = text
        .split(' ')
        .filter(|w| !w.trim().is_empty())
        .map(|w| {
            let w = w.trim().to_lowercase();
            let mut c = w.chars();
            let first: String = c.next().unwrap().to_uppercase().collect();
            first + c.as_str()
        })
        .collect();
    if words.is_empty() {
        "(blank)".into()
    } else {
        words.join(" ")
    }
}

fn gender_of(text: &str) -> String {
    if text.trim().is_empty() {
        "(blank)".into()
    } else {
        text.into()
    }
}

/// Adds `n` to `key`'s entry, keys in first-seen order.
fn bump<V: Copy>(entries: &mut Vec<(String, V)>, key: &str, f: impl Fn(Option<V>) -> V) {
    match entries.iter_mut().find(|(k, _)| k == key) {
        Some(e) => e.1 = f(Some(e.1)),
        None => entries.push((key.to_string(), f(None))),
    }
}

/// What a run on `data` must have written, recomputed.
pub struct Expected {
    /// `Food.jsonl` lines as JSON.
    food: Vec<Value>,
    /// Raw CSV rows the producer must set aside: (line, raw text).
    bad_rows: Vec<(u64, String)>,
    /// Answers the consumer must set aside: (row number, reason part, JSON value).
    bad_answers: Vec<(usize, &'static str)>,
    /// Counted answers: (gender, nationality, age), in order.
    answers: Vec<(String, String, f64)>,
}

impl Expected {
    /// Recomputes from the file at `data`, rows stamped from `start_ms`, one ms apart.
    pub fn of(data: &Path, start_ms: i64) -> Self {
        let (mut food, mut bad_rows, mut bad_answers, mut answers) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for row in file_rows(data) {
            if row.fields.len() != HEADER.len() {
                bad_rows.push((row.line, row.raw.clone()));
                continue;
            }
            let value: serde_json::Map<String, Value> = HEADER
                .iter()
                .zip(&row.fields)
                .map(|(c, f)| (c.to_string(), Value::from(f.as_str())))
                .collect();
            food.push(json!({
                "key": row.number.to_string(),
                "value": value,
                "timestamp": start_ms + row.number as i64,
            }));
            match age_of(&row.fields[4]) {
                Ok(age) => answers.push((
                    gender_of(&row.fields[2]),
                    nationality_of(&row.fields[3]),
                    age,
                )),
                Err(why) => bad_answers.push((row.number, why)),
            }
        }
        Self {
            food,
            bad_rows,
            bad_answers,
            answers,
        }
    }

    /// Participants per gender, first-seen order.
    pub fn gender_counts(&self) -> Vec<(String, u64)> {
        let mut out = Vec::new();
        for (g, _, _) in &self.answers {
            bump(&mut out, g, |n: Option<u64>| n.unwrap_or(0) + 1);
        }
        out
    }

    fn nationality_counts(&self) -> Vec<(String, u64)> {
        let mut out = Vec::new();
        for (_, n, _) in &self.answers {
            bump(&mut out, n, |c: Option<u64>| c.unwrap_or(0) + 1);
        }
        out
    }

    fn age_sums(&self) -> Vec<(String, (u64, f64))> {
        let mut out = Vec::new();
        for (g, _, a) in &self.answers {
            bump(&mut out, g, |s: Option<(u64, f64)>| {
                let (n, t) = s.unwrap_or((0, 0.0));
                (n + 1, t + a)
            });
        }
        out
    }

    /// The scatter points per series `NN Name`, in order.
    fn scatter(&self) -> Vec<(String, Vec<(f64, f64)>)> {
        let mut rows: Vec<String> = Vec::new();
        let mut series: Vec<(String, Vec<(f64, f64)>)> = Vec::new();
        for (_, n, a) in &self.answers {
            let row = match rows.iter().position(|r| r == n) {
                Some(i) => i + 1,
                None => {
                    rows.push(n.clone());
                    rows.len()
                }
            };
            let name = format!("{row:02} {n}");
            match series.iter_mut().find(|(s, _)| *s == name) {
                Some(s) => s.1.push((row as f64, *a)),
                None => series.push((name, vec![(row as f64, *a)])),
            }
        }
        series.sort_by(|a, b| a.0.cmp(&b.0));
        series
    }

    /// Rows the producer or the consumer sets aside.
    pub fn set_aside(&self) -> usize {
        self.bad_rows.len() + self.bad_answers.len()
    }
}

fn read_jsonl(path: &Path) -> Vec<(String, Value)> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| (l.to_string(), serde_json::from_str(l).unwrap()))
        .collect()
}

/// The `(x, y, width, height)` of the `<rect>`s of `svg` filled with `fill`, wider than 20 px
/// (the legend's swatches are narrower).
fn bars(svg: &str, fill: &str) -> Vec<(f64, f64, f64, f64)> {
    let attr = |tag: &str, name: &str| -> f64 {
        let start = tag.find(&format!(" {name}=\"")).unwrap() + name.len() + 3;
        let end = start + tag[start..].find('"').unwrap();
        tag[start..end].parse().unwrap()
    };
    svg.split("<rect")
        .skip(1)
        .map(|t| &t[..t.find("/>").unwrap()])
        .filter(|t| t.contains(&format!("fill=\"{fill}\"")))
        .map(|t| {
            (
                attr(t, "x"),
                attr(t, "y"),
                attr(t, "width"),
                attr(t, "height"),
            )
        })
        .filter(|r| r.2 > 20.0)
        .collect()
}

/// Checks every output of a finished demo run against the recomputation.
pub fn check_outputs(data: &Path, start_ms: i64, summary: &DemoSummary) {
    let expected = Expected::of(data, start_ms);
    let out = &summary.out;

    // The producer sent every row that fits the header, keyed by its number, and kept a copy.
    assert_eq!(summary.produce.sent, expected.food.len() as u64);
    assert_eq!(
        summary.produce.dead_lettered,
        expected.bad_rows.len() as u64
    );
    let food = read_jsonl(&out.join("Food.jsonl"));
    let got: Vec<&Value> = food.iter().map(|(_, v)| v).collect();
    assert_eq!(got, expected.food.iter().collect::<Vec<_>>());
    for (line, _) in &food {
        // Each value object lists the columns in the file's order.
        let at: Vec<usize> = HEADER
            .iter()
            .map(|c| line.find(&format!("\"{c}\":")).unwrap())
            .collect();
        assert!(at.windows(2).all(|w| w[0] < w[1]), "{line}");
    }

    // The consumer counted the answers with a usable age and set the others aside.
    let c = &summary.consume;
    assert_eq!(c.answers, expected.answers.len() as u64);
    assert_eq!(c.dead_lettered, expected.bad_answers.len() as u64);
    let genders = expected.gender_counts();
    assert_eq!(c.gender, genders);
    assert_eq!(c.nationality, expected.nationality_counts());
    let sums = expected.age_sums();
    assert_eq!(c.age_by_gender.len(), sums.len());
    for ((g, stats), (eg, (n, total))) in c.age_by_gender.iter().zip(&sums) {
        assert_eq!(g, eg);
        assert_eq!(stats.participants, *n);
        assert!((stats.total_age - total).abs() < 1e-9);
        assert!((stats.mean_age - total / *n as f64).abs() < 1e-9, "{g}");
    }

    // summary.csv: Gender,count, most participants first, ties by name.
    let mut rows = genders.clone();
    rows.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut csv_text = String::from("Gender,count\n");
    for (g, n) in &rows {
        csv_text.push_str(&format!("{g},{n}\n"));
    }
    assert_eq!(
        std::fs::read_to_string(out.join("summary.csv")).unwrap(),
        csv_text
    );

    // The dead letters: the producer's rows first (it ran first), then the consumer's.
    let letters = read_jsonl(&out.join("Food-dead-letters.jsonl"));
    assert_eq!(letters.len(), expected.set_aside());
    assert_eq!(c.dead_letters.len(), expected.set_aside());
    for ((_, got), (line, raw)) in letters.iter().zip(&expected.bad_rows) {
        assert_eq!(got["key"], "");
        assert_eq!(got["value"]["value"].as_str().unwrap().trim_end(), raw);
        let source = got["value"]["source"].as_str().unwrap();
        assert!(source.ends_with(&format!("/0/{line}")), "{source}");
        assert!(got["value"]["error"].as_str().unwrap().contains("fields"));
    }
    let consumer_letters = &letters[expected.bad_rows.len()..];
    for ((_, got), (number, why)) in consumer_letters.iter().zip(&expected.bad_answers) {
        let key = number.to_string();
        assert_eq!(got["key"], key.as_str());
        let sent = expected
            .food
            .iter()
            .find(|f| f["key"] == key.as_str())
            .unwrap();
        let value: Value = serde_json::from_str(got["value"]["value"].as_str().unwrap()).unwrap();
        assert_eq!(value, sent["value"]);
        let error = got["value"]["error"].as_str().unwrap();
        assert!(error.contains(why), "{error} should say {why}");
    }
    for ((key, letter), (_, line)) in c.dead_letters.iter().zip(&letters) {
        assert_eq!(line["key"], key.as_str());
        assert_eq!(line["value"]["error"], letter.error.as_str());
    }

    // The gender charts were given the final count of each gender, in first-seen order.
    for data in [
        &c.charts.gender_bar,
        &c.charts.gender_pie,
        &c.charts.gender_line,
    ] {
        let values = data.category_values(0).unwrap();
        let names: Vec<&str> = genders.iter().map(|(g, _)| g.as_str()).collect();
        assert_eq!(values.categories(), names.as_slice());
        assert_eq!(values.series(), ["participants"]);
        for (i, (_, n)) in genders.iter().enumerate() {
            assert_eq!(values.value(i, "participants"), Some(*n as f64));
        }
    }
    // The scatter plot was given a point per counted answer: (nationality row, age).
    let scatter: Vec<(String, Vec<(f64, f64)>)> = c
        .charts
        .scatter
        .scatter_series(0)
        .map(|(name, points)| (name.to_string(), points.iter().copied().collect()))
        .collect();
    assert_eq!(scatter, expected.scatter());

    // And the files draw them.
    let svg = |name: &str| std::fs::read_to_string(out.join(format!("{name}.svg"))).unwrap();
    for name in [
        "gender_bar",
        "gender_pie",
        "gender_line",
        "age_nationality_scatter",
    ] {
        let png = std::fs::read(out.join(format!("{name}.png"))).unwrap();
        assert!(png.starts_with(b"\x89PNG"), "{name}.png");
    }
    let bar = svg("gender_bar");
    let drawn = bars(&bar, "#1F77B4");
    assert_eq!(drawn.len(), genders.len(), "a bar per gender");
    let total: u64 = genders.iter().map(|(_, n)| n).sum();
    for (rect, (g, n)) in drawn.iter().zip(&genders) {
        assert!(bar.contains(g.as_str()));
        // Heights in proportion to the counts (first bar as the unit).
        let ratio = rect.3 / drawn[0].3;
        let want = *n as f64 / genders[0].1 as f64;
        assert!((ratio - want).abs() < 0.03, "{g}: {ratio} vs {want}");
    }
    let pie = svg("gender_pie");
    assert_eq!(pie.matches("<polygon").count(), genders.len());
    for (g, n) in &genders {
        let share = format!("{g} {:.0}%", *n as f64 / total as f64 * 100.0);
        assert!(pie.contains(&share), "the pie lacks {share}");
    }
    let line = svg("gender_line");
    assert!(line.contains("<polyline"), "a line over the categories");
    for (g, _) in &genders {
        assert!(line.contains(g.as_str()));
    }
    let plot = svg("age_nationality_scatter");
    let series = expected.scatter();
    // A circle per answer, and one per legend entry.
    assert_eq!(
        plot.matches("<circle").count(),
        expected.answers.len() + series.len()
    );
    for (name, _) in &series {
        assert!(plot.contains(name.as_str()), "the legend lacks {name}");
    }
}
