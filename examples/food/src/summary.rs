//! What a run did: the producer's and the consumer's summaries, `summary.csv` (`Gender,count`)
//! and the lines the command prints.

use crate::apps::{DeadLetter, DEAD_LETTER_TOPIC, FOOD_TOPIC};
use crate::charts::{ChartsData, CHART_NAMES};
use crate::tables::AgeStats;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use weir::topology::{Result, TopologyError};

/// What the producer did.
#[derive(Debug, Clone)]
pub struct ProduceSummary {
    /// The survey file read.
    pub data: PathBuf,
    /// Rows sent to `Food`.
    pub sent: u64,
    /// Rows that did not fit the header, sent to the dead-letter topic.
    pub dead_lettered: u64,
    /// Records `Food` held before this run (a Kafka topic keeps earlier runs' rows).
    pub earlier_records: i64,
}

/// What the consumer found.
#[derive(Debug, Clone)]
pub struct ConsumeSummary {
    /// Answers read and counted.
    pub answers: u64,
    /// Records set aside (no usable age, a missing column), sent to the dead-letter topic.
    pub dead_lettered: u64,
    /// Participants per gender, genders in first-seen order.
    pub gender: Vec<(String, u64)>,
    /// Participants per case-normalised nationality, in first-seen order.
    pub nationality: Vec<(String, u64)>,
    /// Age statistics per gender, in first-seen order.
    pub age_by_gender: Vec<(String, AgeStats)>,
    /// The points each chart was given.
    pub charts: ChartsData,
    /// The dead-letter topic's records (key as text, and the letter), from both applications
    /// and earlier runs on the same broker.
    pub dead_letters: Vec<(String, DeadLetter)>,
}

/// What the demo did.
#[derive(Debug, Clone)]
pub struct DemoSummary {
    /// The producer's part.
    pub produce: ProduceSummary,
    /// The consumer's part.
    pub consume: ConsumeSummary,
    /// The output directory.
    pub out: PathBuf,
}

/// The rows of `summary.csv`: participants per gender, most first, ties by name.
pub fn summary_rows(gender: &[(String, u64)]) -> Vec<(String, u64)> {
    let mut rows = gender.to_vec();
    rows.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    rows
}

/// Writes `Gender,count` and the [`summary_rows`] to `path`.
pub fn write_summary_csv(path: &Path, gender: &[(String, u64)]) -> Result<()> {
    let fail = |e: &dyn std::fmt::Display| {
        TopologyError::connector(path.display().to_string(), e.to_string())
    };
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_path(path)
        .map_err(|e| fail(&e))?;
    writer
        .write_record(["Gender", "count"])
        .map_err(|e| fail(&e))?;
    for (g, n) in summary_rows(gender) {
        writer
            .write_record([g, n.to_string()])
            .map_err(|e| fail(&e))?;
    }
    writer.flush().map_err(|e| fail(&e))
}

/// The producer's lines.
pub fn produce_report(p: &ProduceSummary) -> String {
    let mut s = format!(
        "produce: {} rows of {} to topic {FOOD_TOPIC}, {} set aside to {DEAD_LETTER_TOPIC}\n",
        p.sent,
        p.data.display(),
        p.dead_lettered
    );
    if p.earlier_records > 0 {
        let _ = writeln!(
            s,
            "note: {FOOD_TOPIC} already held {} records of earlier runs; consume reads them too",
            p.earlier_records
        );
    }
    s
}

fn pairs<T>(items: &[(String, T)], show: impl Fn(&T) -> String) -> String {
    items
        .iter()
        .map(|(k, v)| format!("{k} {}", show(v)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The consumer's lines: counts, mean ages, the dead letters and the outputs.
pub fn consume_report(c: &ConsumeSummary, out: &Path) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "consume: {} answers counted, {} set aside to {DEAD_LETTER_TOPIC}",
        c.answers, c.dead_lettered
    );
    let _ = writeln!(
        s,
        "participants per gender: {}",
        pairs(&summary_rows(&c.gender), u64::to_string)
    );
    let _ = writeln!(
        s,
        "mean age per gender: {}",
        pairs(&c.age_by_gender, |a| format!("{:.1}", a.mean_age))
    );
    let mut nationality = c.nationality.clone();
    nationality.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let _ = writeln!(
        s,
        "participants per nationality (case normalised): {}",
        pairs(&nationality, u64::to_string)
    );
    let _ = writeln!(
        s,
        "{DEAD_LETTER_TOPIC}: {} records (in no count and no chart)",
        c.dead_letters.len()
    );
    for (key, letter) in &c.dead_letters {
        let key = if key.is_empty() { "-" } else { key.as_str() };
        let _ = writeln!(
            s,
            "  {} key {key}: {} | {}",
            letter.source,
            letter.error,
            letter.value.trim_end()
        );
    }
    let charts: Vec<String> = CHART_NAMES
        .iter()
        .map(|n| format!("{n}.png/.svg"))
        .collect();
    let _ = writeln!(
        s,
        "outputs in {}: {FOOD_TOPIC}.jsonl, {DEAD_LETTER_TOPIC}.jsonl, summary.csv, {}",
        out.display(),
        charts.join(", ")
    );
    s
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_lists_most_participants_first() {
        let gender = [("Male".to_string(), 120), ("Female".to_string(), 167)];
        let rows = summary_rows(&gender);
        assert_eq!(rows[0], ("Female".to_string(), 167));
        let dir = std::env::temp_dir().join(format!("weir-food-summary-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("summary.csv");
        write_summary_csv(&path, &gender).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "Gender,count\nFemale,167\nMale,120\n"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn ties_go_by_name() {
        let gender = [
            ("b".to_string(), 2),
            ("a".to_string(), 2),
            ("c".to_string(), 3),
        ];
        let names: Vec<String> = summary_rows(&gender).into_iter().map(|r| r.0).collect();
        assert_eq!(names, ["c", "a", "b"]);
    }
}
