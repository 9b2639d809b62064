//! A sink that writes each whole record as one JSON line, `{"key":..,"value":..,"timestamp":..}`:
//! a copy of a topic that tools and tests read without a broker.
//!
//! It is a [`JsonLinesSink`] underneath, so it has the same two modes: [`RecordLinesSink::append`]
//! (at least once) and [`RecordLinesSink::exactly_once`] (each commit's lines staged, appended
//! once the commit is durable).

use super::json_lines::JsonLinesSink;
use serde::Serialize;
use std::path::Path;
use weir_topology::{Record, RecordSink, Result, TaskId, Timestamp};

/// One line of a [`RecordLinesSink`].
#[derive(Serialize)]
struct RecordLine<'a, K, V> {
    key: &'a K,
    value: &'a V,
    timestamp: Timestamp,
}

/// Appends `{"key","value","timestamp"}` of each record, one JSON object per line, in the order
/// written. Durable (fsync) at each commit.
///
/// ```
/// use weir_processors::RecordLinesSink;
/// use weir_topology::{Record, RecordSink};
///
/// let dir = std::env::temp_dir().join(format!("weir-record-lines-doc-{}", std::process::id()));
/// let path = dir.join("results.jsonl");
/// let mut sink = RecordLinesSink::append(&path)?;
/// sink.write(&Record::new("count".to_string(), 3_u64, 1_000))?;
/// RecordSink::<String, u64>::flush(&mut sink)?;
/// assert_eq!(
///     std::fs::read_to_string(&path)?,
///     "{\"key\":\"count\",\"value\":3,\"timestamp\":1000}\n"
/// );
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct RecordLinesSink {
    lines: JsonLinesSink,
}

impl RecordLinesSink {
    /// Appends to `path` (created with its parent directories when missing), at least once.
    pub fn append(path: impl AsRef<Path>) -> Result<Self> {
        Ok(Self {
            lines: JsonLinesSink::append(path)?,
        })
    }

    /// Appends to `path` exactly once (see [`JsonLinesSink::exactly_once`]). One process per file.
    pub fn exactly_once(path: impl AsRef<Path>) -> Result<Self> {
        Ok(Self {
            lines: JsonLinesSink::exactly_once(path)?,
        })
    }

    /// Writes one record as a line, outside a topology (a producer's copy of what it sent).
    pub fn write_record<K: Serialize, V: Serialize>(
        &mut self,
        record: &Record<K, V>,
    ) -> Result<()> {
        self.lines.write_value(&RecordLine {
            key: record.key(),
            value: record.value(),
            timestamp: record.timestamp(),
        })
    }

    /// Writes buffered lines and syncs the file.
    pub fn sync(&mut self) -> Result<()> {
        self.lines.sync()
    }
}

impl<K, V> RecordSink<K, V> for RecordLinesSink
where
    K: Serialize + Send + 'static,
    V: Serialize + Send + 'static,
{
    fn open(&mut self, _committed_generation: u64) -> Result<()> {
        self.lines.drop_torn_line()
    }

    fn open_task(&mut self, task: TaskId, committed_generation: u64) -> Result<()> {
        RecordSink::<K, V>::open_task(&mut self.lines, task, committed_generation)
    }

    fn committed(&mut self, generation: u64) -> Result<()> {
        RecordSink::<K, V>::committed(&mut self.lines, generation)
    }

    fn write(&mut self, record: &Record<K, V>) -> Result<()> {
        self.write_record(record)
    }

    fn flush(&mut self) -> Result<()> {
        self.sync()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn each_record_is_one_line_with_key_value_and_timestamp_in_order() {
        let dir = std::env::temp_dir().join(format!("weir-record-lines-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.join("topic.jsonl");
        let mut sink = RecordLinesSink::append(&path).unwrap();
        let none: Option<String> = None;
        sink.write_record(&Record::new(none, serde_json::json!([{"0": 2}]), 5))
            .unwrap();
        RecordSink::<String, i64>::write(&mut sink, &Record::new("b".into(), -1, 7)).unwrap();
        sink.sync().unwrap();
        let lines: Vec<serde_json::Value> = std::fs::read_to_string(&path)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(
            lines,
            [
                serde_json::json!({"key": null, "value": [{"0": 2}], "timestamp": 5}),
                serde_json::json!({"key": "b", "value": -1, "timestamp": 7}),
            ]
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_line_torn_by_a_crash_is_cut_off_when_opened_again() {
        let dir = std::env::temp_dir().join(format!("weir-record-torn-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("topic.jsonl");
        std::fs::write(
            &path,
            "{\"key\":1,\"value\":1,\"timestamp\":0}\n{\"key\":2,\"va",
        )
        .unwrap();
        let mut sink = RecordLinesSink::append(&path).unwrap();
        RecordSink::<i64, i64>::open(&mut sink, 0).unwrap();
        RecordSink::<i64, i64>::write(&mut sink, &Record::new(3, 3, 1)).unwrap();
        RecordSink::<i64, i64>::flush(&mut sink).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "{\"key\":1,\"value\":1,\"timestamp\":0}\n{\"key\":3,\"value\":3,\"timestamp\":1}\n"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
