//! A sink that appends each record's value as one JSON line to a file, flushed at every commit.

use crate::error::file_error;
use serde::Serialize;
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use weir_topology::{Record, RecordSink, Result};

/// Appends `serde_json` of each value, one per line. Durable (fsync) at each commit.
pub struct JsonLinesSink {
    path: PathBuf,
    out: BufWriter<File>,
}

impl JsonLinesSink {
    /// Appends to `path` (created with its parent directories when missing).
    pub fn append(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| file_error(dir, e))?;
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| file_error(&path, e))?;
        Ok(Self {
            out: BufWriter::with_capacity(1 << 16, file),
            path,
        })
    }

    /// Writes one value as a line.
    pub fn write_value<V: Serialize>(&mut self, value: &V) -> Result<()> {
        serde_json::to_writer(&mut self.out, value).map_err(|e| file_error(&self.path, e))?;
        self.out.write_all(b"\n").map_err(|e| file_error(&self.path, e))
    }

    /// Flushes buffered lines and syncs the file.
    pub fn sync(&mut self) -> Result<()> {
        self.out.flush().map_err(|e| file_error(&self.path, e))?;
        self.out
            .get_ref()
            .sync_data()
            .map_err(|e| file_error(&self.path, e))
    }
}

impl<K: Send + 'static, V: Serialize + Send + 'static> RecordSink<K, V> for JsonLinesSink {
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
        RecordSink::<(), _>::write(&mut sink, &Record::new((), serde_json::json!({"a": 1}), 0)).unwrap();
        RecordSink::<(), _>::write(&mut sink, &Record::new((), serde_json::json!({"a": 2}), 0)).unwrap();
        RecordSink::<(), serde_json::Value>::flush(&mut sink).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "{\"a\":1}\n{\"a\":2}\n");
    }
}
