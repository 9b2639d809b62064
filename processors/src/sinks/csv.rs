//! A sink that writes each record's value as one CSV row (RFC 4180 quoting: fields with the
//! delimiter, a quote or a line break are quoted, quotes doubled) under a header row, flushed
//! at every commit. Several tasks may write one file; the header is written once, before the
//! first row. Like [`JsonLinesSink`](super::json_lines::JsonLinesSink): [`CsvSink::append`] is
//! at-least-once, [`CsvSink::exactly_once`] stages each commit's rows and appends them once the
//! commit is durable, so after any crash every row is in the file exactly once.

use super::lines_file::LinesFile;
use crate::file_error::file_error;
use serde::Serialize;
use std::fs::File;
use std::io::{Read, Write};
use std::path::Path;
use weir_topology::{Record, RecordSink, Result, TaskId, TopologyError};

/// Writes values as CSV rows under a header; see the module documentation.
///
/// ```
/// use weir_processors::sinks::csv::CsvSink;
/// use weir_topology::prelude::*;
/// use weir_topology::testing::TopologyTestDriver;
///
/// #[derive(Clone, serde::Serialize, serde::Deserialize)]
/// struct Summary { gender: String, count: u64 }
///
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("summary.csv");
/// let builder = TopologyBuilder::new();
/// let out = path.clone();
/// builder
///     .stream(Source::topic("in", StringSerde, JsonSerde::<Summary>::new()))
///     .sink("summary-file", move || CsvSink::exactly_once(&out));
/// let driver = TopologyTestDriver::new(builder.build()?)?;
/// let input = driver.input_topic("in", StringSerde, JsonSerde::<Summary>::new());
/// input.pipe("f".into(), Summary { gender: "Female, 18-25".into(), count: 3 }, 0)?;
/// input.pipe("m".into(), Summary { gender: "Male \"M\"".into(), count: 4 }, 0)?;
/// driver.commit()?; // the commit is durable: its rows reach the file
/// let written = std::fs::read_to_string(&path)?;
/// assert_eq!(written, "gender,count\n\"Female, 18-25\",3\n\"Male \"\"M\"\"\",4\n");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct CsvSink {
    file: LinesFile,
    delimiter: u8,
    /// The header row (with its line break), once known: given, or from the first value.
    header: Option<Vec<u8>>,
    /// Whether the file is known to start with the header.
    header_checked: bool,
}

/// A CSV writer into `out` (rows end with `\n`; a small buffer: it writes a row or two).
fn encoder<W: Write>(delimiter: u8, with_header: bool, out: W) -> csv::Writer<W> {
    csv::WriterBuilder::new()
        .has_headers(with_header)
        .delimiter(delimiter)
        .terminator(csv::Terminator::Any(b'\n'))
        .buffer_capacity(256)
        .from_writer(out)
}

/// How much of `content` is whole CSV records: up to its last line break outside quotes. With
/// RFC 4180 quoting every quote toggles between inside and outside a quoted field (a doubled
/// quote toggles twice), so parity tells where a line break is.
fn whole_records(content: &[u8]) -> usize {
    let mut inside = false;
    let mut end = 0;
    for i in memchr::memchr2_iter(b'"', b'\n', content) {
        match content[i] {
            b'"' => inside = !inside,
            _ if !inside => end = i + 1,
            _ => {}
        }
    }
    end
}

impl CsvSink {
    /// Appends to `path` (created with its parent directories when missing), at least once.
    pub fn append(path: impl AsRef<Path>) -> Result<Self> {
        Self::open(path.as_ref(), false)
    }

    /// Appends to `path` exactly once: in a topology, each commit's rows are staged under
    /// `<path>.staged/` and appended when the commit is durable. One process per file.
    pub fn exactly_once(path: impl AsRef<Path>) -> Result<Self> {
        Self::open(path.as_ref(), true)
    }

    fn open(path: &Path, exactly_once: bool) -> Result<Self> {
        Ok(Self {
            file: LinesFile::open(path, exactly_once)?,
            delimiter: b',',
            header: None,
            header_checked: false,
        })
    }

    /// The header row is `columns` (by default: the field names of the first value, which must
    /// then be a struct or a map).
    pub fn columns<S: AsRef<str>>(mut self, columns: &[S]) -> Result<Self> {
        let mut header = Vec::new();
        let mut w = encoder(self.delimiter, false, &mut header);
        w.write_record(columns.iter().map(AsRef::as_ref))
            .and_then(|()| Ok(w.flush()?))
            .map_err(|e| file_error(self.file.path(), e))?;
        drop(w);
        self.header = Some(header);
        Ok(self)
    }

    /// Fields are separated by `delimiter` (default `,`). Set it before [`CsvSink::columns`].
    pub fn delimiter(mut self, delimiter: u8) -> Self {
        self.delimiter = delimiter;
        self
    }

    /// The header row of `value`'s type: what csv writes before `value` with a header, minus
    /// the row itself.
    fn header_of<V: Serialize>(&self, value: &V) -> Result<Vec<u8>> {
        let encode = |with_header| {
            let mut out = Vec::new();
            let mut w = encoder(self.delimiter, with_header, &mut out);
            w.serialize(value)
                .and_then(|()| Ok(w.flush()?))
                .map_err(|e| file_error(self.file.path(), e))?;
            drop(w);
            Ok::<_, TopologyError>(out)
        };
        let (both, row) = (encode(true)?, encode(false)?);
        Ok(both[..both.len().saturating_sub(row.len())].to_vec())
    }

    /// Makes sure the file starts with the header: writes it (durably) into an empty file or
    /// over a header torn by a crash; a file with another header is an error.
    fn ensure_header(&mut self) -> Result<()> {
        let Some(header) = &self.header else {
            return Ok(());
        };
        let path = self.file.path().to_path_buf();
        self.file.locked(|file| {
            let mut start = Vec::new();
            File::open(&path)
                .and_then(|f| f.take(header.len() as u64).read_to_end(&mut start))
                .map_err(|e| file_error(&path, e))?;
            let len = file.metadata().map_err(|e| file_error(&path, e))?.len();
            if start == *header {
                return Ok(());
            }
            // Empty, or only part of the header (a crash while it was written).
            if len == start.len() as u64 && header.starts_with(&start) {
                file.set_len(0).map_err(|e| file_error(&path, e))?;
                file.write_all(header).map_err(|e| file_error(&path, e))?;
                return file.sync_data().map_err(|e| file_error(&path, e));
            }
            Err(TopologyError::connector(
                path.display().to_string(),
                format!(
                    "the file does not start with the header {:?}: another file's rows?",
                    String::from_utf8_lossy(header).trim_end()
                ),
            ))
        })?;
        self.header_checked = true;
        Ok(())
    }

    /// Writes one value as a row (the header first, if the file has none yet).
    pub fn write_value<V: Serialize>(&mut self, value: &V) -> Result<()> {
        if !self.header_checked {
            if self.header.is_none() {
                self.header = Some(self.header_of(value)?);
            }
            self.ensure_header()?;
        }
        let before = self.file.buffer.len();
        let mut w = encoder(self.delimiter, false, &mut self.file.buffer);
        let encoded = w.serialize(value).and_then(|()| Ok(w.flush()?));
        drop(w);
        if let Err(e) = encoded {
            // No part of a row that failed half-way (a nested struct, a map key...).
            self.file.buffer.truncate(before);
            return Err(file_error(self.file.path(), e));
        }
        self.file.write_out_if_full()
    }

    /// Writes buffered rows and syncs the file.
    pub fn sync(&mut self) -> Result<()> {
        self.file.write_out(true)
    }
}

impl<K: Send + 'static, V: Serialize + Send + 'static> RecordSink<K, V> for CsvSink {
    fn open(&mut self, _committed_generation: u64) -> Result<()> {
        self.ensure_header()?;
        self.file.cut_torn_tail(whole_records)
    }

    /// The header first (when given): the rows of a commit recovered here go after it.
    fn open_task(&mut self, task: TaskId, committed_generation: u64) -> Result<()> {
        self.ensure_header()?;
        self.file
            .open_task(task, committed_generation, whole_records)
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
    use serde::Deserialize;

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    struct Row {
        name: String,
        n: Option<i64>,
    }

    fn row(name: &str, n: Option<i64>) -> Record<(), Row> {
        Record::new(
            (),
            Row {
                name: name.into(),
                n,
            },
            0,
        )
    }

    fn scratch(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("weir-csv-sink-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir.join("out.csv")
    }

    const TASK: TaskId = TaskId {
        subtopology: 0,
        partition: 1,
    };

    #[test]
    fn rows_are_quoted_as_rfc_4180_under_one_header() {
        let path = scratch("quote");
        let mut a = CsvSink::append(&path).unwrap();
        let mut b = CsvSink::append(&path).unwrap();
        RecordSink::<(), Row>::open(&mut a, 0).unwrap();
        a.write(&row("a,b", Some(1))).unwrap();
        a.write(&row("say \"hi\"\nnow", None)).unwrap();
        RecordSink::<(), Row>::flush(&mut a).unwrap();
        b.write(&row("é", Some(-2))).unwrap();
        RecordSink::<(), Row>::flush(&mut b).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "name,n\n\"a,b\",1\n\"say \"\"hi\"\"\nnow\",\n\u{e9},-2\n"
        );
    }

    #[test]
    fn given_columns_are_the_header_even_before_any_row_and_another_header_is_refused() {
        let path = scratch("columns");
        let mut sink = CsvSink::exactly_once(&path)
            .unwrap()
            .delimiter(b';')
            .columns(&["name", "n"])
            .unwrap();
        RecordSink::<(), Row>::open_task(&mut sink, TASK, 0).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "name;n\n");
        let other = CsvSink::append(&path).unwrap().columns(&["x"]).unwrap();
        let mut other = other;
        let err = RecordSink::<(), Row>::open(&mut other, 0).unwrap_err();
        assert!(
            err.to_string().contains("does not start with the header"),
            "{err}"
        );
    }

    #[test]
    fn a_torn_header_is_rewritten_and_a_torn_row_cut_off() {
        let path = scratch("torn");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, "na").unwrap();
        let mut sink = CsvSink::append(&path).unwrap();
        RecordSink::<(), Row>::open(&mut sink, 0).unwrap();
        sink.write(&row("x\ny", Some(1))).unwrap();
        sink.sync().unwrap();
        // A crash in the middle of a row whose quoted field holds a line break.
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        f.write_all(b"\"p\nq").unwrap();
        let mut again = CsvSink::append(&path).unwrap();
        RecordSink::<(), Row>::open(&mut again, 0).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "name,n\n\"x\ny\",1\n"
        );
    }

    #[test]
    fn whole_records_end_at_the_last_line_break_outside_quotes() {
        assert_eq!(whole_records(b""), 0);
        assert_eq!(whole_records(b"a,b\n1,2"), 4);
        assert_eq!(whole_records(b"a\n\"x\ny\"\"\n"), 2);
        assert_eq!(whole_records(b"a\n\"x\ny\"\"\"\n"), 10);
    }

    #[test]
    fn exactly_once_rows_appear_at_the_commit_and_survive_a_crash_once() {
        let path = scratch("eo");
        let mut sink = CsvSink::exactly_once(&path).unwrap();
        RecordSink::<(), Row>::open_task(&mut sink, TASK, 0).unwrap();
        sink.write(&row("one", Some(1))).unwrap();
        RecordSink::<(), Row>::flush(&mut sink).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "name,n\n");
        RecordSink::<(), Row>::committed(&mut sink, 1).unwrap();
        sink.write(&row("two", Some(2))).unwrap();
        RecordSink::<(), Row>::flush(&mut sink).unwrap();
        // Commit 2 became durable, then the process died before `committed`.
        drop(sink);
        let mut restarted = CsvSink::exactly_once(&path).unwrap();
        RecordSink::<(), Row>::open_task(&mut restarted, TASK, 2).unwrap();
        restarted.write(&row("three", None)).unwrap();
        RecordSink::<(), Row>::flush(&mut restarted).unwrap();
        RecordSink::<(), Row>::committed(&mut restarted, 3).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "name,n\none,1\ntwo,2\nthree,\n"
        );
    }

    #[test]
    fn a_value_that_is_not_a_row_is_an_error_and_leaves_nothing_behind() {
        #[derive(Serialize)]
        struct Nested {
            name: String,
            inner: std::collections::BTreeMap<String, i32>,
        }
        let path = scratch("nested");
        let mut sink = CsvSink::append(&path)
            .unwrap()
            .columns(&["name", "inner"])
            .unwrap();
        let inner = [("a".to_string(), 1)].into_iter().collect();
        let nested = Record::new(
            (),
            Nested {
                name: "x".into(),
                inner,
            },
            0,
        );
        assert!(sink.write(&nested).is_err());
        assert!(sink.file.buffer.is_empty());
    }
}
