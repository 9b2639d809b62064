//! A sink that appends each record's value as one JSON line to a file, flushed at every commit.
//! Several tasks may append to one file: whole lines are written under a per-file lock.
//!
//! [`JsonLinesSink::append`] is at-least-once: lines reach the file at each flush, a line torn
//! by a crash is cut off when a task opens the file again, and the lines of a commit that did
//! not complete are written again when the task reprocesses them. [`JsonLinesSink::exactly_once`]
//! stages each commit's lines per task and appends them once the commit is durable (see
//! `staged_lines`): after any crash, every line is in the file exactly once.

use super::lines_file::LinesFile;
use crate::file_error::file_error;
use serde::Serialize;
use std::path::Path;
use weir_topology::{Record, RecordSink, Result, TaskId};

/// Appends `serde_json` of each value, one per line. Durable (fsync) at each commit.
pub struct JsonLinesSink {
    file: LinesFile,
}

/// How much of `content` is whole lines: up to its last line break.
fn whole_lines(content: &[u8]) -> usize {
    content
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1)
}

impl JsonLinesSink {
    /// Appends to `path` (created with its parent directories when missing).
    pub fn append(path: impl AsRef<Path>) -> Result<Self> {
        Ok(Self {
            file: LinesFile::open(path.as_ref(), false)?,
        })
    }

    /// Appends to `path` exactly once: in a topology, each commit's lines are staged under
    /// `<path>.staged/` and appended when the commit is durable. One process per file.
    pub fn exactly_once(path: impl AsRef<Path>) -> Result<Self> {
        Ok(Self {
            file: LinesFile::open(path.as_ref(), true)?,
        })
    }

    /// Writes one value as a line.
    pub fn write_value<V: Serialize>(&mut self, value: &V) -> Result<()> {
        serde_json::to_writer(&mut self.file.buffer, value)
            .map_err(|e| file_error(self.file.path(), e))?;
        self.file.buffer.push(b'\n');
        self.file.write_out_if_full()
    }

    /// Writes buffered lines and syncs the file.
    pub fn sync(&mut self) -> Result<()> {
        self.file.write_out(true)
    }

    /// Cuts off a last line without its line break (a write torn by a crash).
    pub fn drop_torn_line(&mut self) -> Result<()> {
        self.file.cut_torn_tail(whole_lines)
    }
}

impl<K: Send + 'static, V: Serialize + Send + 'static> RecordSink<K, V> for JsonLinesSink {
    fn open(&mut self, _committed_generation: u64) -> Result<()> {
        self.drop_torn_line()
    }

    fn open_task(&mut self, task: TaskId, committed_generation: u64) -> Result<()> {
        self.file.open_task(task, committed_generation, whole_lines)
    }

    fn committed(&mut self, generation: u64) -> Result<()> {
        self.file.committed(generation)
    }

    fn write(&mut self, record: &Record<K, V>) -> Result<()> {
        self.write_value(record.value())
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
    fn appends_one_json_line_per_record() {
        let dir = std::env::temp_dir().join(format!("weir-jsonl-{}", std::process::id()));
        let path = dir.join("sub/out.jsonl");
        let _ = std::fs::remove_file(&path);
        let mut sink = JsonLinesSink::append(&path).unwrap();
        let mut other = JsonLinesSink::append(&path).unwrap();
        other.write_value(&serde_json::json!({"b": 0})).unwrap();
        RecordSink::<(), _>::write(&mut sink, &Record::new((), serde_json::json!({"a": 1}), 0))
            .unwrap();
        RecordSink::<(), _>::write(&mut sink, &Record::new((), serde_json::json!({"a": 2}), 0))
            .unwrap();
        RecordSink::<(), serde_json::Value>::flush(&mut sink).unwrap();
        other.sync().unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "{\"a\":1}\n{\"a\":2}\n{\"b\":0}\n"
        );
    }

    #[test]
    fn a_new_file_and_its_new_directories_are_made_durable() {
        let dir = std::env::temp_dir().join(format!("weir-jsonl-dur-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        super::super::staged_lines::take_steps();
        JsonLinesSink::append(dir.join("new/out.jsonl")).unwrap();
        let top = dir.file_name().unwrap().to_string_lossy().into_owned();
        assert_eq!(
            super::super::staged_lines::take_steps(),
            [format!("sync-dir {top}"), "sync-dir new".into()],
            "`new` in its parent, then `out.jsonl` in `new`"
        );
        JsonLinesSink::append(dir.join("new/out.jsonl")).unwrap();
        assert!(super::super::staged_lines::take_steps().is_empty());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn exactly_once_lines_appear_at_the_commit_and_survive_a_crash_once() {
        let dir = std::env::temp_dir().join(format!("weir-jsonl-eo-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.join("out.jsonl");
        let task = TaskId {
            subtopology: 0,
            partition: 2,
        };
        let line = |v: i64| Record::new((), serde_json::json!({ "v": v }), 0);
        let mut sink = JsonLinesSink::exactly_once(&path).unwrap();
        RecordSink::<(), serde_json::Value>::open_task(&mut sink, task, 0).unwrap();
        RecordSink::<(), _>::write(&mut sink, &line(1)).unwrap();
        RecordSink::<(), serde_json::Value>::flush(&mut sink).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "");
        RecordSink::<(), serde_json::Value>::committed(&mut sink, 1).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "{\"v\":1}\n");
        // Commit 2 is flushed and becomes durable, then the process dies before `committed`;
        // commit 3 is flushed but never durable.
        RecordSink::<(), _>::write(&mut sink, &line(2)).unwrap();
        RecordSink::<(), serde_json::Value>::flush(&mut sink).unwrap();
        sink.file.staging.as_mut().unwrap().1 = 3;
        RecordSink::<(), _>::write(&mut sink, &line(3)).unwrap();
        RecordSink::<(), serde_json::Value>::flush(&mut sink).unwrap();
        drop(sink);
        let mut restarted = JsonLinesSink::exactly_once(&path).unwrap();
        RecordSink::<(), serde_json::Value>::open_task(&mut restarted, task, 2).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "{\"v\":1}\n{\"v\":2}\n"
        );
        // The task reprocesses record 3 into commit 3.
        RecordSink::<(), _>::write(&mut restarted, &line(3)).unwrap();
        RecordSink::<(), serde_json::Value>::flush(&mut restarted).unwrap();
        RecordSink::<(), serde_json::Value>::committed(&mut restarted, 3).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "{\"v\":1}\n{\"v\":2}\n{\"v\":3}\n"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_torn_last_line_is_cut_off_on_open() {
        let dir = std::env::temp_dir().join(format!("weir-jsonl-torn-{}", std::process::id()));
        let path = dir.join("out.jsonl");
        let _ = std::fs::remove_file(&path);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(&path, "{\"a\":1}\n{\"a\":").unwrap();
        let mut sink = JsonLinesSink::append(&path).unwrap();
        RecordSink::<(), serde_json::Value>::open(&mut sink, 3).unwrap();
        sink.write_value(&serde_json::json!({"a": 2})).unwrap();
        sink.sync().unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "{\"a\":1}\n{\"a\":2}\n"
        );
        RecordSink::<(), serde_json::Value>::open(&mut sink, 3).unwrap();
        assert_eq!(std::fs::read(&path).unwrap().len(), 16);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
