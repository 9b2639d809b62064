//! What a demo run did: [`DemoSummary`] (also `<out>/summary.json`), made from the run's
//! counters and output files, and the text the binary prints.

use crate::apps::{DeadLetter, DEAD_LETTER_TOPIC, LINES_TOPIC, RESULTS_TOPIC};
use crate::charts::{chart_points, AveragesChart, SeriesPoints};
use crate::options::DemoOptions;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;
use weir::topology::{MetricsSnapshot, Result, TopologyError};

/// What a demo run did (also `<out>/summary.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DemoSummary {
    /// The first record's time, ms (processing time of the fast mode; the wall clock's else).
    pub start_ms: i64,
    /// Lines the producer sent to `test`.
    pub lines_sent: u64,
    /// Lines the streaming application read as samples.
    pub readings: u64,
    /// Lines it could not read, sent to the dead-letter topic.
    pub malformed: u64,
    /// Those lines, with the reasons.
    pub malformed_lines: Vec<DeadLetter>,
    /// Batches closed (each emits 7 results).
    pub batches: u64,
    /// Luminosity windows closed.
    pub luminosity_windows: u64,
    /// Results written to `results`.
    pub results: u64,
    /// Results the consumer read.
    pub consumed: u64,
    /// The last result of each name, as printed.
    pub last_results: BTreeMap<String, String>,
    /// Points of the chart, per series (`panel/series`).
    pub chart_points: BTreeMap<String, usize>,
    /// The chart's points themselves: panel, series, `(x ms, y)` in order (not in the file).
    #[serde(skip)]
    pub chart: Vec<SeriesPoints>,
}

/// One line of a `<topic>.jsonl` copy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TopicLine<K, V> {
    /// The record's key.
    pub key: K,
    /// The record's value.
    pub value: V,
    /// The record's timestamp, ms.
    pub timestamp: i64,
}

/// Reads a `<topic>.jsonl` copy back.
pub fn read_topic_lines<K, V>(path: &Path) -> Result<Vec<TopicLine<K, V>>>
where
    K: serde::de::DeserializeOwned,
    V: serde::de::DeserializeOwned,
{
    let text = std::fs::read_to_string(path)
        .map_err(|e| TopologyError::connector(path.display().to_string(), e))?;
    text.lines()
        .filter(|l| !l.is_empty())
        .map(|l| {
            serde_json::from_str(l)
                .map_err(|e| TopologyError::connector(path.display().to_string(), e))
        })
        .collect()
}

/// The summary of a finished run: its counters, the dead letters copied, and `<out>`'s files.
pub(crate) fn summarize(
    opts: &DemoOptions,
    start_ms: i64,
    produced: &MetricsSnapshot,
    stream: &MetricsSnapshot,
    consumed: &MetricsSnapshot,
    malformed_lines: Vec<DeadLetter>,
    chart: &AveragesChart,
) -> Result<DemoSummary> {
    let results: Vec<TopicLine<String, String>> =
        read_topic_lines(&opts.out.join(format!("{RESULTS_TOPIC}.jsonl")))?;
    let count = |name: &str| results.iter().filter(|r| r.key == name).count() as u64;
    let last_results = results
        .iter()
        .map(|r| (r.key.clone(), r.value.clone()))
        .collect();
    let chart = chart_points(chart);
    let chart_points = chart
        .iter()
        .map(|(panel, series, points)| (format!("{panel}/{series}"), points.len()))
        .collect();
    Ok(DemoSummary {
        start_ms,
        lines_sent: produced.processed,
        readings: stream.processed,
        malformed: stream.dead_lettered,
        malformed_lines,
        batches: count(crate::stats::TEMPERATURE_BY_BATCH),
        luminosity_windows: count(crate::stats::LUMINOSITY_BY_WINDOW),
        results: results.len() as u64,
        consumed: consumed.processed,
        last_results,
        chart_points,
        chart,
    })
}

/// The summary as printed by the binary.
pub fn summary_text(s: &DemoSummary, out: &Path) -> String {
    let mut text = format!(
        "producer: {} lines sent to `{LINES_TOPIC}`\n\
         streaming application: {} samples, {} batches, {} luminosity windows, {} results to `{RESULTS_TOPIC}`\n\
         malformed lines: {} (sent to `{DEAD_LETTER_TOPIC}`)\n",
        s.lines_sent, s.readings, s.batches, s.luminosity_windows, s.results, s.malformed
    );
    for letter in &s.malformed_lines {
        text.push_str(&format!(
            "  {} {}\n    {}\n",
            letter.source, letter.line, letter.error
        ));
    }
    text.push_str(&format!("consumer: {} results read\n", s.consumed));
    if !s.last_results.is_empty() {
        text.push_str("last results:\n");
        for name in crate::stats::RESULT_NAMES {
            if let Some(line) = s.last_results.get(name) {
                text.push_str(&format!("  {line}\n"));
            }
        }
    }
    text.push_str(&format!(
        "outputs in {}: test.jsonl, results.jsonl, {DEAD_LETTER_TOPIC}.jsonl, consumer.txt, summary.json, averages.png/.svg",
        out.display()
    ));
    text
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_text_lists_each_malformed_line_and_the_last_results_in_order() {
        let letter = DeadLetter {
            line: "\"7\",oops".into(),
            error: "bad value: sensor-line: expected 8 columns, found 2".into(),
            source: "test/0/6".into(),
        };
        let summary = DemoSummary {
            start_ms: 0,
            lines_sent: 10,
            readings: 9,
            malformed: 1,
            malformed_lines: vec![letter],
            batches: 1,
            luminosity_windows: 3,
            results: 10,
            consumed: 10,
            last_results: [
                (
                    "Gaps not one minute by batch",
                    "Gaps not one minute by batch: 0",
                ),
                ("Average CO2 by batch", "Average CO2 by batch: 450"),
            ]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
            chart_points: BTreeMap::new(),
            chart: Vec::new(),
        };
        let text = summary_text(&summary, Path::new("out"));
        assert!(text.contains("malformed lines: 1 (sent to `test-dead-letters`)"));
        assert!(text.contains("  test/0/6 \"7\",oops\n    bad value: sensor-line: expected 8"));
        let co2 = text.find("Average CO2 by batch: 450").unwrap();
        let gaps = text.find("Gaps not one minute by batch: 0").unwrap();
        assert!(co2 < gaps, "in the order a batch emits them");
    }

    #[test]
    fn topic_copies_read_back() {
        let dir = std::env::temp_dir().join(format!("weir-sensors-summary-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("results.jsonl");
        std::fs::write(
            &path,
            "{\"key\":\"a\",\"value\":\"a: 1\",\"timestamp\":4999}\n",
        )
        .unwrap();
        let lines: Vec<TopicLine<String, String>> = read_topic_lines(&path).unwrap();
        assert_eq!(lines[0].value, "a: 1");
        assert_eq!(lines[0].timestamp, 4_999);
        std::fs::write(&path, "not json\n").unwrap();
        assert!(read_topic_lines::<String, String>(&path).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
