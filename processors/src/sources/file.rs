//! Line-oriented file sources: JSON lines or plain text, optionally gzip-compressed (CSV files
//! have [`CsvSource`]). Each file is one partition; a record's offset is its line number.

use super::csv::{CsvSource, WallClockStamped};
use super::read_ahead::{BatchRead, ReadAhead};
use crate::file_error::file_error;
use async_trait::async_trait;
use flate2::read::MultiGzDecoder;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use weir_topology::connect::Bytes;
use weir_topology::{
    connect::PartitionReader, connect::RawRecord, connect::SourceConnector, connect::StartFrom,
    Result, Timestamp, TopologyError,
};

/// Reads files line by line; one partition per file. Finite: readers report end-of-stream at EOF.
#[derive(Debug, Clone)]
pub struct FileSource {
    name: String,
    paths: Vec<PathBuf>,
    time: LineTime,
}

/// Where the timestamp of each line's record comes from (a timestamp extractor on the
/// [`Source`](weir_topology::Source) can still take one from the value).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum LineTime {
    /// The wall clock when the task takes the record (as a producer stamps what it sends).
    #[default]
    WallClock,
    /// The line's position: line `i` of its file (0-based, empty lines counted) gets
    /// `start + i * step_ms`, a file without times replayed as evenly spaced events.
    LineNumber {
        /// The first line's timestamp, ms.
        start: Timestamp,
        /// Milliseconds between lines.
        step_ms: i64,
    },
}

impl FileSource {
    /// Every line of each file is a record value (JSON lines, plain text), stamped with the
    /// wall clock when read (see [`FileSource::timestamps`]).
    pub fn lines(paths: impl IntoIterator<Item = impl Into<PathBuf>>) -> Self {
        let paths: Vec<PathBuf> = paths.into_iter().map(Into::into).collect();
        Self {
            name: describe(&paths),
            paths,
            time: LineTime::default(),
        }
    }

    /// Where each record's timestamp comes from (default [`LineTime::WallClock`]).
    ///
    /// ```
    /// # use weir_processors::{FileSource, LineTime};
    /// # use weir_topology::connect::{SourceConnector, StartFrom};
    /// # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
    /// let path = std::env::temp_dir().join(format!("weir-doc-lines-{}.txt", std::process::id()));
    /// std::fs::write(&path, "a\nb\nc\n")?;
    /// let source = FileSource::lines([&path]).timestamps(LineTime::LineNumber {
    ///     start: 1_000,
    ///     step_ms: 100,
    /// });
    /// let mut reader = source.open(0, StartFrom::Earliest).await?;
    /// let stamps: Vec<i64> = reader.poll(10, 1_000).await?.records.iter().map(|r| r.timestamp).collect();
    /// assert_eq!(stamps, [1_000, 1_100, 1_200]);
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn timestamps(mut self, time: LineTime) -> Self {
        self.time = time;
        self
    }

    /// CSV files: a [`CsvSource`] (a header row mapped onto a struct, quoted fields with line
    /// breaks, timestamps from a column).
    pub fn csv(paths: impl IntoIterator<Item = impl Into<PathBuf>>) -> CsvSource {
        CsvSource::new(paths)
    }

    /// The files of `dir` whose names start with `prefix` and end with one of `suffixes`, sorted.
    pub fn find(dir: &Path, prefix: &str, suffixes: &[&str]) -> Result<Vec<PathBuf>> {
        let entries = std::fs::read_dir(dir).map_err(|e| file_error(dir, e))?;
        let mut found = Vec::new();
        for entry in entries {
            let path = entry.map_err(|e| file_error(dir, e))?.path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if name.starts_with(prefix) && suffixes.iter().any(|s| name.ends_with(s)) {
                found.push(path);
            }
        }
        found.sort();
        Ok(found)
    }
}

/// A connector name for `paths`: the path of a single file, else the number of files.
pub(crate) fn describe(paths: &[PathBuf]) -> String {
    match paths {
        [one] => one.display().to_string(),
        _ => format!("{} files", paths.len()),
    }
}

/// Opens `path`, decompressing `.gz` files.
pub fn open_maybe_gz(path: &Path) -> Result<Box<dyn BufRead + Send>> {
    Ok(Box::new(BufReader::with_capacity(1 << 20, open_raw(path)?)))
}

/// Opens `path` unbuffered, decompressing `.gz` files.
pub(crate) fn open_raw(path: &Path) -> Result<Box<dyn Read + Send>> {
    let file = File::open(path).map_err(|e| file_error(path, e))?;
    Ok(if path.extension().is_some_and(|e| e == "gz") {
        Box::new(MultiGzDecoder::new(file))
    } else {
        Box::new(file)
    })
}

/// The partitions of a source with a file per partition: one per path, at least one path.
pub(crate) fn file_partitions(name: &str, paths: &[PathBuf]) -> Result<u32> {
    if paths.is_empty() {
        return Err(TopologyError::connector(name, "no input files"));
    }
    Ok(paths.len() as u32)
}

/// The file of `partition` of a source with a file per partition.
pub(crate) fn partition_file<'a>(
    name: &str,
    paths: &'a [PathBuf],
    partition: u32,
) -> Result<&'a PathBuf> {
    paths
        .get(partition as usize)
        .ok_or_else(|| TopologyError::connector(name, format!("no partition {partition}")))
}

#[async_trait]
impl SourceConnector for FileSource {
    fn name(&self) -> String {
        self.name.clone()
    }

    async fn partitions(&self) -> Result<u32> {
        file_partitions(&self.name, &self.paths)
    }

    async fn open(&self, partition: u32, start: StartFrom) -> Result<Box<dyn PartitionReader>> {
        let path = partition_file(&self.name, &self.paths, partition)?.clone();
        let mut reader = FileReader {
            input: open_raw(&path)?,
            path,
            next_offset: 0,
            chunk: Bytes::new(),
            eof: false,
            time: self.time,
        };
        if let StartFrom::Offset(o) = start {
            while reader.next_offset < o {
                if reader.next_line()?.is_none() {
                    break;
                }
                reader.next_offset += 1;
            }
        }
        let read_ahead = ReadAhead::spawn(reader)?;
        Ok(match self.time {
            LineTime::WallClock => Box::new(WallClockStamped(read_ahead)),
            LineTime::LineNumber { .. } => Box::new(read_ahead),
        })
    }
}

/// Bytes read from a file at a time: records are slices of these chunks, so a line costs no
/// copy and no allocation of its own.
const CHUNK_BYTES: u64 = 1 << 20;

/// Reads one file's lines as records, in the reader thread of [`ReadAhead`].
pub(crate) struct FileReader {
    input: Box<dyn Read + Send>,
    path: PathBuf,
    next_offset: i64,
    /// Read and not yet handed out; whole lines, then maybe the start of one.
    chunk: Bytes,
    eof: bool,
    time: LineTime,
}

impl FileReader {
    /// The next line without its line break (`\n` or `\r\n`), or `None` at end of file.
    fn next_line(&mut self) -> Result<Option<Bytes>> {
        loop {
            if let Some(end) = memchr::memchr(b'\n', &self.chunk) {
                let mut line = self.chunk.split_to(end + 1);
                line.truncate(end);
                while line.last() == Some(&b'\r') {
                    line.truncate(line.len() - 1);
                }
                return Ok(Some(line));
            }
            if self.eof {
                // A last line without a line break.
                return Ok((!self.chunk.is_empty()).then(|| std::mem::take(&mut self.chunk)));
            }
            self.refill()?;
        }
    }

    /// Reads the next chunk after the unfinished line left in `chunk` (the only bytes copied).
    fn refill(&mut self) -> Result<()> {
        let mut next = Vec::with_capacity(self.chunk.len() + CHUNK_BYTES as usize);
        next.extend_from_slice(&self.chunk);
        let read = (&mut self.input)
            .take(CHUNK_BYTES)
            .read_to_end(&mut next)
            .map_err(|e| file_error(&self.path, e))?;
        self.eof = read == 0;
        self.chunk = Bytes::from(next);
        Ok(())
    }
}

/// The name of the file at `path`, for a reader thread's name.
pub(crate) fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

impl BatchRead for FileReader {
    fn file_name(&self) -> String {
        file_name(&self.path)
    }

    fn read_batch(&mut self, max_records: usize) -> Result<(Vec<RawRecord>, bool)> {
        let mut records = Vec::with_capacity(max_records);
        while records.len() < max_records {
            let offset = self.next_offset;
            let Some(value) = self.next_line()? else {
                return Ok((records, true));
            };
            if value.is_empty() {
                self.next_offset += 1;
                continue;
            }
            records.push(RawRecord {
                key: None,
                value: Some(value),
                timestamp: match self.time {
                    // Stamped when the task takes it (`WallClockStamped`).
                    LineTime::WallClock => 0,
                    LineTime::LineNumber { start, step_ms } => {
                        start.saturating_add(offset.saturating_mul(step_ms))
                    }
                },
                headers: Vec::new(),
                offset,
            });
            self.next_offset += 1;
        }
        Ok((records, false))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::io::Write;
    use weir_topology::Clock;

    fn temp(name: &str, body: &[u8]) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("weir-file-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join(name);
        std::fs::write(&p, body).unwrap();
        p
    }

    #[tokio::test]
    async fn reads_lines_in_batches_and_resumes_at_an_offset() {
        let p = temp("a.jsonl", b"{\"a\":1}\n{\"a\":2}\r\n\n{\"a\":3}");
        let src = FileSource::lines([p.clone()]);
        assert_eq!(src.partitions().await.unwrap(), 1);
        let mut r = src.open(0, StartFrom::Earliest).await.unwrap();
        let first = r.poll(2, 0).await.unwrap();
        assert_eq!(first.records.len(), 2);
        assert_eq!(first.records[1].value.as_deref(), Some(&b"{\"a\":2}"[..]));
        let rest = r.poll(10, 0).await.unwrap();
        assert_eq!(rest.records.len(), 1);
        assert_eq!(rest.records[0].offset, 3);
        assert!(rest.end_of_stream);
        let mut resumed = src.open(0, StartFrom::Offset(3)).await.unwrap();
        let again = resumed.poll(10, 0).await.unwrap();
        assert_eq!(again.records.len(), 1);
        assert_eq!(again.records[0].value.as_deref(), Some(&b"{\"a\":3}"[..]));
    }

    #[tokio::test]
    async fn reads_gzip_lines() {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(b"1,2\n3,4\n").unwrap();
        let p = temp("b.txt.gz", &enc.finish().unwrap());
        let src = FileSource::lines([p]);
        let mut r = src.open(0, StartFrom::Earliest).await.unwrap();
        let got = r.poll(10, 0).await.unwrap();
        let rows: Vec<&[u8]> = got
            .records
            .iter()
            .map(|r| r.value.as_deref().unwrap())
            .collect();
        assert_eq!(rows, vec![&b"1,2"[..], &b"3,4"[..]]);
    }

    #[tokio::test]
    async fn lines_are_stamped_with_the_wall_clock_or_by_position() {
        let p = temp("c.txt", b"x\n\ny\n");
        let before = weir_topology::SystemClock.now_ms();
        let mut r = FileSource::lines([p.clone()])
            .open(0, StartFrom::Earliest)
            .await
            .unwrap();
        let got = r.poll(10, 1_000).await.unwrap().records;
        let after = weir_topology::SystemClock.now_ms();
        assert_eq!(got.len(), 2);
        assert!(
            got.iter().all(|r| (before..=after).contains(&r.timestamp)),
            "{got:?}"
        );

        let by_line = FileSource::lines([p]).timestamps(LineTime::LineNumber {
            start: 500,
            step_ms: 10,
        });
        let mut r = by_line.open(0, StartFrom::Offset(1)).await.unwrap();
        let got = r.poll(10, 1_000).await.unwrap().records;
        let stamps: Vec<i64> = got.iter().map(|r| r.timestamp).collect();
        assert_eq!(stamps, [520], "line 2 (0-based), after the empty line 1");
    }

    #[tokio::test]
    async fn a_missing_file_is_an_error_naming_it() {
        let src = FileSource::lines(["/nonexistent/weir.jsonl"]);
        let err = src.open(0, StartFrom::Earliest).await.err().unwrap();
        assert!(err.to_string().contains("/nonexistent/weir.jsonl"));
    }
}
