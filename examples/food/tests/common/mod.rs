//! Checks of a demo run's outputs against a recomputation written here from the survey CSV
//! alone (read with the `csv` crate, none of the example's types or functions): `Food.jsonl`,
//! `Food-dead-letters.jsonl`, `summary.csv`, the tables, the points each chart was given, and
//! what the SVG files draw. Shared by the tests on embedded topics and on Kafka.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, dead_code)]

use serde_json::{json, Value};

mod outputs;
#[allow(unused_imports)] // not every test checks a whole run
pub use outputs::check_outputs;
use std::io::Read;
use std::path::{Path, PathBuf};

/// The repository root.
#[allow(unused_imports)] // not every test needs it
pub use weir_example_testkit::workspace_root as root;

/// The shipped survey, by a path through this package's directory: the producer's diagram in
/// the README shows the path as given.
pub fn shipped_data() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data/food/food_survey.csv.gz")
}

/// A fresh directory for one test's outputs.
pub fn temp_dir(name: &str) -> PathBuf {
    weir_example_testkit::fresh_dir(&format!("food-{name}"))
}

pub const HEADER: [&str; 8] = [
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
    pub food: Vec<Value>,
    /// Raw CSV rows the producer must set aside: (line, raw text).
    pub bad_rows: Vec<(u64, String)>,
    /// Answers the consumer must set aside: (row number, part of the reason).
    pub bad_answers: Vec<(usize, &'static str)>,
    /// Counted answers: (gender, nationality, age), in order.
    pub answers: Vec<(String, String, f64)>,
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

    /// Participants per case-normalised nationality, first-seen order.
    pub fn nationality_counts(&self) -> Vec<(String, u64)> {
        let mut out = Vec::new();
        for (_, n, _) in &self.answers {
            bump(&mut out, n, |c: Option<u64>| c.unwrap_or(0) + 1);
        }
        out
    }

    /// Participants and total age per gender, first-seen order.
    pub fn age_sums(&self) -> Vec<(String, (u64, f64))> {
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
    pub fn scatter(&self) -> Vec<(String, Vec<(f64, f64)>)> {
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
