//! The producer's input and the consumer's output as plain text: [`LinesSource`], the data
//! lines of the CSV file as a one-partition finite source (offset = data line number), and
//! [`TextLinesSink`], which writes each record's value as a line of a text file.

use async_trait::async_trait;
use std::io::{BufRead, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use weir::processors::sources::file::open_maybe_gz;
use weir::topology::connect::{PartitionReader, Polled, RawRecord, SourceConnector, StartFrom};
use weir::topology::{Record, RecordSink, Result, TopologyError};

/// The data lines of a CSV file (`.gz` too): every line after the header, in file order;
/// at most `limit` of them when given. Empty lines are kept out; bytes that are not UTF-8 are
/// replaced (U+FFFD), which makes their line malformed where a number or date should be.
pub fn read_data_lines(path: &Path, limit: Option<usize>) -> Result<Vec<String>> {
    let err = |e: std::io::Error| TopologyError::connector(path.display().to_string(), e);
    let mut reader = open_maybe_gz(path)?;
    let mut lines = Vec::new();
    let mut buf = Vec::new();
    let mut header = true;
    loop {
        buf.clear();
        if reader.read_until(b'\n', &mut buf).map_err(err)? == 0 {
            break;
        }
        if std::mem::take(&mut header) {
            continue;
        }
        let text = String::from_utf8_lossy(&buf);
        let line = text.trim_end_matches('\n').trim_end_matches('\r');
        if line.is_empty() {
            continue;
        }
        if limit.is_some_and(|n| lines.len() >= n) {
            break;
        }
        lines.push(line.to_string());
    }
    Ok(lines)
}

/// Lines held in memory as a finite source of one partition: record `i` is line `i`, with no
/// key and timestamp 0 (a paced replay stamps the send time).
#[derive(Debug, Clone)]
pub struct LinesSource {
    name: String,
    lines: Arc<Vec<String>>,
}

impl LinesSource {
    /// A source named `name` over `lines`.
    pub fn new(name: impl Into<String>, lines: Vec<String>) -> Self {
        Self {
            name: name.into(),
            lines: Arc::new(lines),
        }
    }

    /// The number of lines.
    pub fn len(&self) -> usize {
        self.lines.len()
    }

    /// Whether there are no lines.
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }
}

#[async_trait]
impl SourceConnector for LinesSource {
    fn name(&self) -> String {
        self.name.clone()
    }

    async fn partitions(&self) -> Result<u32> {
        Ok(1)
    }

    async fn open(&self, partition: u32, start: StartFrom) -> Result<Box<dyn PartitionReader>> {
        if partition != 0 {
            return Err(TopologyError::connector(&self.name, "has one partition"));
        }
        let len = self.lines.len() as i64;
        let next = match start {
            StartFrom::Earliest | StartFrom::Timestamp(_) => 0,
            StartFrom::Latest => len,
            StartFrom::Offset(o) => o.clamp(0, len),
        };
        Ok(Box::new(LinesReader {
            lines: self.lines.clone(),
            next,
        }))
    }
}

struct LinesReader {
    lines: Arc<Vec<String>>,
    next: i64,
}

#[async_trait]
impl PartitionReader for LinesReader {
    async fn poll(&mut self, max_records: usize, _max_wait_ms: u64) -> Result<Polled> {
        let from = usize::try_from(self.next).unwrap_or(usize::MAX);
        let to = from
            .saturating_add(max_records.max(1))
            .min(self.lines.len());
        let records: Vec<RawRecord> = (from..to)
            .map(|i| RawRecord {
                key: None,
                value: Some(self.lines[i].as_bytes().to_vec().into()),
                timestamp: 0,
                headers: Vec::new(),
                offset: i as i64,
            })
            .collect();
        self.next = to as i64;
        Ok(Polled {
            end_of_stream: to >= self.lines.len(),
            records,
        })
    }
}

/// Writes each record's value as one line of a text file (created, or truncated, when the sink
/// opens); flushed at every commit.
pub struct TextLinesSink {
    path: PathBuf,
    out: BufWriter<std::fs::File>,
}

impl TextLinesSink {
    /// A sink writing to `path` (its directory is created when missing).
    pub fn create(path: &Path) -> Result<Self> {
        let err = |e: std::io::Error| TopologyError::connector(path.display().to_string(), e);
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(err)?;
        }
        let file = std::fs::File::create(path).map_err(err)?;
        Ok(Self {
            path: path.to_path_buf(),
            out: BufWriter::new(file),
        })
    }
}

impl<K: Send + 'static> RecordSink<K, String> for TextLinesSink {
    fn write(&mut self, record: &Record<K, String>) -> Result<()> {
        writeln!(self.out, "{}", record.value())
            .map_err(|e| TopologyError::connector(self.path.display().to_string(), e))
    }

    fn flush(&mut self) -> Result<()> {
        self.out
            .flush()
            .map_err(|e| TopologyError::connector(self.path.display().to_string(), e))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn lines_come_in_order_and_end_and_resume_at_an_offset() {
        let source = LinesSource::new("lines", vec!["a".into(), "b".into(), "c".into()]);
        assert_eq!(source.len(), 3);
        let mut reader = source.open(0, StartFrom::Earliest).await.unwrap();
        let first = reader.poll(2, 0).await.unwrap();
        let values: Vec<_> = first
            .records
            .iter()
            .map(|r| (r.offset, r.value.as_deref().unwrap().to_vec()))
            .collect();
        assert_eq!(values, [(0, b"a".to_vec()), (1, b"b".to_vec())]);
        assert!(!first.end_of_stream);
        let rest = reader.poll(10, 0).await.unwrap();
        assert_eq!(rest.records.len(), 1);
        assert!(rest.end_of_stream);
        let mut resumed = source.open(0, StartFrom::Offset(2)).await.unwrap();
        assert_eq!(resumed.poll(10, 0).await.unwrap().records[0].offset, 2);
        assert!(source.open(1, StartFrom::Earliest).await.is_err());
    }

    #[test]
    fn the_header_is_skipped_and_the_limit_applies() {
        let dir = std::env::temp_dir().join(format!("weir-sensors-lines-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("data.csv");
        std::fs::write(&path, b"\"id\",\"x\"\r\n\"1\",2\r\n\n\"2\",\xff3\n\"3\",4").unwrap();
        assert_eq!(
            read_data_lines(&path, None).unwrap(),
            ["\"1\",2", "\"2\",\u{fffd}3", "\"3\",4"]
        );
        assert_eq!(read_data_lines(&path, Some(2)).unwrap().len(), 2);
        let out = dir.join("out.txt");
        let mut sink = TextLinesSink::create(&out).unwrap();
        RecordSink::<(), String>::write(&mut sink, &Record::new((), "x: 1".into(), 0)).unwrap();
        RecordSink::<(), String>::flush(&mut sink).unwrap();
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "x: 1\n");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
