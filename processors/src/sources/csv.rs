//! CSV files as a source ([`CsvSource`]): RFC 4180 records (quoted fields with commas, doubled
//! quotes and line breaks), a header row mapped onto a serde struct by column name (or explicit
//! columns), a key from a column, and each record's timestamp from a column, the row's position
//! or the wall clock. One partition per file; a record's offset is the line it starts on.

use super::csv_records::{CsvRecord, CsvRecords};
use super::file::{describe, file_name, file_partitions, open_raw, partition_file};
use super::read_ahead::{BatchRead, ReadAhead};
pub use super::time_format::TimeFormat;
use async_trait::async_trait;
use parking_lot::Mutex;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use weir_topology::connect::{PartitionReader, Polled, RawRecord, SourceConnector, StartFrom};
use weir_topology::{Clock, CsvSerde, Result, SystemClock, Timestamp, TopologyError};

/// Where each record's timestamp comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RowTime {
    /// The wall clock when the task takes the record (as a producer stamps a record it sends).
    WallClock,
    /// The text of a column, read in a [`TimeFormat`]. A row whose column is missing or
    /// unreadable goes to the application's error handler.
    Column {
        /// The column's name.
        column: String,
        /// How its text reads.
        format: TimeFormat,
    },
    /// The row's position: data row `i` (0-based, header excluded) gets `start + i * step_ms`.
    RowNumber {
        /// The first row's timestamp, ms.
        start: Timestamp,
        /// Milliseconds between rows.
        step_ms: i64,
    },
}

/// CSV files, one partition per file (gzip-compressed when named `.gz`); every record's value
/// is its exact bytes in the file (decode them with [`CsvSource::value_serde`]).
///
/// A record's offset is the line it starts on (1-based; the header is line 1), so a bad row's
/// offset in logs, errors and dead letters is its line number, and a restarted application
/// resumes after the last committed row. Rows that do not fit the header (a missing column,
/// text where a number goes) fail in the value serde and go to the application's
/// [`ErrorHandler`](weir_topology::ErrorHandler), counted as skipped; so do rows whose
/// timestamp column cannot be read (they reach the handler as unreadable records, without a
/// value: their bytes are in the `weir.csv.row` header).
///
/// ```
/// use std::sync::Arc;
/// use weir_processors::sources::csv::{CsvSource, TimeFormat};
/// use weir_topology::prelude::*;
/// use weir_topology::testing::TopologyTestDriver;
///
/// #[derive(Clone, serde::Serialize, serde::Deserialize)]
/// struct Reading { room: String, #[serde(rename = "Temperature")] celsius: f64 }
///
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("readings.csv");
/// std::fs::write(&path, "\"room\",\"date\",\"Temperature\"\n\
///                        \"hall, east\",\"2015-02-04 17:51:00\",23.18\n\
///                        \"kitchen\",\"2015-02-04 17:52:00\",22.5\n")?;
/// let csv = CsvSource::new([&path])
///     .key_column("room")
///     .timestamp_column("date", TimeFormat::pattern("%Y-%m-%d %H:%M:%S"));
/// let builder = TopologyBuilder::new();
/// builder
///     .stream(Source::connector(Arc::new(csv.clone()), StringSerde, csv.value_serde::<Reading>()?))
///     .map_values(|r| r.celsius)
///     .to(Sink::topic("celsius", StringSerde, JsonSerde::<f64>::new()));
/// let driver = TopologyTestDriver::new(builder.build()?)?;
/// driver.commit()?; // reads the file
/// let out = driver.output_topic("celsius", StringSerde, JsonSerde::<f64>::new()).read_all()?;
/// assert_eq!(out[0].key(), "hall, east");
/// assert_eq!((*out[0].value(), out[0].timestamp()), (23.18, 1_423_072_260_000));
/// assert_eq!(out[1].timestamp() - out[0].timestamp(), 60_000);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct CsvSource {
    name: String,
    paths: Vec<PathBuf>,
    /// Given columns (the files have no header row), or `None`: the first row is the header.
    columns: Option<Vec<String>>,
    delimiter: u8,
    key_column: Option<String>,
    time: RowTime,
    /// The first file's header, read once.
    header: Arc<Mutex<Option<Arc<Vec<String>>>>>,
}

impl CsvSource {
    /// The CSV files `paths`, each with a header row; keyless records stamped with the wall
    /// clock, until set otherwise.
    pub fn new(paths: impl IntoIterator<Item = impl Into<PathBuf>>) -> Self {
        let paths: Vec<PathBuf> = paths.into_iter().map(Into::into).collect();
        Self {
            name: describe(&paths),
            paths,
            columns: None,
            delimiter: b',',
            key_column: None,
            time: RowTime::WallClock,
            header: Arc::new(Mutex::new(None)),
        }
    }

    /// The files have no header row: their columns are `columns`, in order.
    ///
    /// ```
    /// # use weir_processors::sources::csv::CsvSource;
    /// let csv = CsvSource::new(["plain.csv"]).columns(&["id", "name"]);
    /// assert_eq!(csv.header()?, ["id", "name"]);
    /// # Ok::<(), weir_topology::TopologyError>(())
    /// ```
    pub fn columns<S: AsRef<str>>(mut self, columns: &[S]) -> Self {
        self.columns = Some(columns.iter().map(|c| c.as_ref().to_string()).collect());
        self
    }

    /// Fields are separated by `delimiter` (default `,`).
    pub fn delimiter(mut self, delimiter: u8) -> Self {
        self.delimiter = delimiter;
        self
    }

    /// Each record's key is the text of `column` (decode it with `StringSerde`); by default
    /// records have no key.
    pub fn key_column(mut self, column: impl Into<String>) -> Self {
        self.key_column = Some(column.into());
        self
    }

    /// Where each record's timestamp comes from (default [`RowTime::WallClock`]).
    pub fn timestamps(mut self, time: RowTime) -> Self {
        self.time = time;
        self
    }

    /// Each record's timestamp is the text of `column`, read in `format`.
    pub fn timestamp_column(self, column: impl Into<String>, format: TimeFormat) -> Self {
        self.timestamps(RowTime::Column {
            column: column.into(),
            format,
        })
    }

    /// Data row `i` (0-based) gets timestamp `start + i * step`: a file without times replayed
    /// as evenly spaced events.
    pub fn timestamps_by_row(self, start: Timestamp, step: Duration) -> Self {
        let step_ms = i64::try_from(step.as_millis()).unwrap_or(i64::MAX);
        self.timestamps(RowTime::RowNumber { start, step_ms })
    }

    /// The columns: the given ones, or the first file's header row (read once).
    pub fn header(&self) -> Result<Vec<String>> {
        Ok(self.expected_header()?.to_vec())
    }

    /// A serde for the values of this source: each row mapped onto `V`'s fields by column name.
    pub fn value_serde<V: Serialize + DeserializeOwned + 'static>(&self) -> Result<CsvSerde<V>> {
        Ok(CsvSerde::with_columns(&self.header()?).delimiter(self.delimiter))
    }

    fn expected_header(&self) -> Result<Arc<Vec<String>>> {
        if let Some(columns) = &self.columns {
            return Ok(Arc::new(columns.clone()));
        }
        let mut cached = self.header.lock();
        if let Some(h) = &*cached {
            return Ok(h.clone());
        }
        let first = self
            .paths
            .first()
            .ok_or_else(|| TopologyError::connector(&self.name, "no input files"))?;
        let header = read_header(first, self.delimiter)?.ok_or_else(|| {
            TopologyError::connector(first.display().to_string(), "no header row")
        })?;
        let header = Arc::new(header);
        *cached = Some(header.clone());
        Ok(header)
    }

    /// The index of `column` in `header`.
    fn column_index(&self, header: &[String], column: &str) -> Result<usize> {
        header.iter().position(|c| c == column).ok_or_else(|| {
            TopologyError::connector(
                &self.name,
                format!("no column `{column}` among the columns {header:?}"),
            )
        })
    }
}

/// The first row of `records`, as strings: `None` when there is none.
fn header_of(records: &mut CsvRecords, path: &std::path::Path) -> Result<Option<Vec<String>>> {
    let Some(row) = records.next_record()? else {
        return Ok(None);
    };
    row.strings().map(Some).ok_or_else(|| {
        TopologyError::connector(path.display().to_string(), "header row is not UTF-8")
    })
}

fn read_header(path: &std::path::Path, delimiter: u8) -> Result<Option<Vec<String>>> {
    let mut records = CsvRecords::new(open_raw(path)?, path.to_path_buf(), delimiter);
    header_of(&mut records, path)
}

#[async_trait]
impl SourceConnector for CsvSource {
    fn name(&self) -> String {
        self.name.clone()
    }

    async fn partitions(&self) -> Result<u32> {
        file_partitions(&self.name, &self.paths)
    }

    async fn open(&self, partition: u32, start: StartFrom) -> Result<Box<dyn PartitionReader>> {
        let path = partition_file(&self.name, &self.paths, partition)?;
        let header = self.expected_header()?;
        let mut records = CsvRecords::new(open_raw(path)?, path.clone(), self.delimiter);
        if self.columns.is_none() {
            let found = header_of(&mut records, path)?;
            if found.as_ref().is_some_and(|h| h != &*header) {
                return Err(TopologyError::connector(
                    path.display().to_string(),
                    format!("its header {found:?} differs from the first file's {header:?}"),
                ));
            }
        }
        let key = match &self.key_column {
            Some(column) => Some(self.column_index(&header, column)?),
            None => None,
        };
        let time = match &self.time {
            RowTime::WallClock => Stamp::Later,
            RowTime::Column { column, format } => Stamp::Column {
                index: self.column_index(&header, column)?,
                column: column.clone(),
                format: format.clone(),
            },
            RowTime::RowNumber { start, step_ms } => Stamp::Row {
                start: *start,
                step_ms: *step_ms,
            },
        };
        let reader = CsvFileReader {
            records,
            path: path.clone(),
            key,
            time,
            resume_at_line: match start {
                StartFrom::Offset(o) => o,
                _ => 0,
            },
            row: 0,
        };
        let read_ahead = ReadAhead::spawn(reader)?;
        Ok(match self.time {
            RowTime::WallClock => Box::new(WallClockStamped(read_ahead)),
            _ => Box::new(read_ahead),
        })
    }
}

/// How the reader thread stamps a row.
enum Stamp {
    /// Stamped when the task takes it ([`WallClockStamped`]).
    Later,
    Column {
        index: usize,
        column: String,
        format: TimeFormat,
    },
    Row {
        start: Timestamp,
        step_ms: i64,
    },
}

/// Reads one file's rows as records, in the reader thread of [`ReadAhead`].
struct CsvFileReader {
    records: CsvRecords,
    path: PathBuf,
    key: Option<usize>,
    time: Stamp,
    /// Rows starting before this line were processed before a restart.
    resume_at_line: i64,
    /// The next data row's index in the file (0-based).
    row: i64,
}

impl CsvFileReader {
    /// The record of `row`, data row number `index`; a placeholder for the error handler when
    /// its timestamp cannot be read.
    fn to_record(&self, row: CsvRecord, index: i64) -> RawRecord {
        let offset = i64::try_from(row.line).unwrap_or(i64::MAX);
        let timestamp = match &self.time {
            Stamp::Later => Ok(0),
            Stamp::Row { start, step_ms } => index
                .checked_mul(*step_ms)
                .and_then(|d| d.checked_add(*start))
                .ok_or_else(|| format!("row {index}'s timestamp is out of range")),
            Stamp::Column {
                index,
                column,
                format,
            } => match row.field(*index).map(std::str::from_utf8) {
                Some(Ok(text)) => format
                    .parse(text)
                    .map_err(|e| format!("column `{column}`: {e}")),
                Some(Err(_)) => Err(format!("column `{column}` is not UTF-8")),
                None => Err(format!("no column `{column}` ({} fields)", row.len())),
            },
        };
        match timestamp {
            Ok(timestamp) => RawRecord {
                key: self.key.and_then(|k| row.field(k)).map(<[u8]>::to_vec),
                value: Some(row.raw),
                timestamp,
                headers: Vec::new(),
                offset,
            },
            Err(reason) => {
                let reason = format!("{} line {}: {reason}", self.path.display(), row.line);
                let mut placeholder = RawRecord::unreadable(offset, reason);
                placeholder
                    .headers
                    .push(("weir.csv.row".into(), row.raw.to_vec()));
                placeholder
            }
        }
    }
}

impl BatchRead for CsvFileReader {
    fn file_name(&self) -> String {
        file_name(&self.path)
    }

    fn read_batch(&mut self, max_records: usize) -> Result<(Vec<RawRecord>, bool)> {
        let mut out = Vec::with_capacity(max_records);
        while out.len() < max_records {
            let Some(row) = self.records.next_record()? else {
                return Ok((out, true));
            };
            let index = self.row;
            self.row += 1;
            if (row.line as i64) < self.resume_at_line {
                continue;
            }
            out.push(self.to_record(row, index));
        }
        Ok((out, false))
    }
}

/// Stamps each record with the wall clock as the task takes it.
pub(crate) struct WallClockStamped(pub(crate) ReadAhead);

#[async_trait]
impl PartitionReader for WallClockStamped {
    async fn poll(&mut self, max_records: usize, max_wait_ms: u64) -> Result<Polled> {
        let mut polled = self.0.poll(max_records, max_wait_ms).await?;
        let now = SystemClock.now_ms();
        for r in polled.records.iter_mut().filter(|r| r.value.is_some()) {
            r.timestamp = now;
        }
        Ok(polled)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn temp(name: &str, body: &[u8]) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("weir-csv-src-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join(name);
        std::fs::write(&p, body).unwrap();
        p
    }

    async fn read_all(src: &CsvSource, start: StartFrom) -> Vec<RawRecord> {
        let mut r = src.open(0, start).await.unwrap();
        let mut out = Vec::new();
        loop {
            let p = r.poll(2, 0).await.unwrap();
            out.extend(p.records);
            if p.end_of_stream {
                return out;
            }
        }
    }

    const SENSORS: &[u8] = b"\"id\",\"date\",\"Temperature\"\r\n\
        \"1\",\"2015-02-04 17:51:00\",23.18\r\n\
        \"2\",\"2015-02-04 17:52:00\",\"23,15\"\r\n\
        \"3\",\"yesterday\",23.1\r\n\
        \"4\",\"2015-02-04 17:54:59\",\"multi\nline\"\r\n";

    #[tokio::test]
    async fn keys_timestamps_and_offsets_come_from_the_rows() {
        let p = temp("sensors.csv", SENSORS);
        let src = CsvSource::new([&p])
            .key_column("id")
            .timestamp_column("date", TimeFormat::pattern("%Y-%m-%d %H:%M:%S"));
        assert_eq!(src.header().unwrap(), ["id", "date", "Temperature"]);
        let got = read_all(&src, StartFrom::Earliest).await;
        let offsets: Vec<i64> = got.iter().map(|r| r.offset).collect();
        assert_eq!(offsets, [2, 3, 4, 5]);
        assert_eq!(got[1].key.as_deref(), Some(&b"2"[..]));
        assert_eq!(got[1].timestamp - got[0].timestamp, 60_000);
        assert_eq!(
            got[1].value.as_deref(),
            Some(&b"\"2\",\"2015-02-04 17:52:00\",\"23,15\""[..])
        );
        // An unreadable time: a placeholder with the reason, the line and the row.
        let reason = got[2].unreadable_reason().unwrap();
        assert!(
            reason.contains("line 4") && reason.contains("`yesterday`"),
            "{reason}"
        );
        assert!(got[2]
            .headers
            .iter()
            .any(|(k, v)| k == "weir.csv.row" && v.starts_with(b"\"3\"")));
        assert_eq!(
            got[3].value.as_deref().map(|v| v.ends_with(b"line\"")),
            Some(true)
        );
        // Resuming after line 3 (committed offset 4) starts with the row of line 4.
        let resumed = read_all(&src, StartFrom::Offset(4)).await;
        assert_eq!(resumed.iter().map(|r| r.offset).collect::<Vec<_>>(), [4, 5]);
    }

    #[tokio::test]
    async fn rows_decode_by_column_name_and_bad_rows_fail_in_the_serde() {
        #[derive(Debug, PartialEq, serde::Deserialize, serde::Serialize)]
        struct Reading {
            #[serde(rename = "Temperature")]
            temperature: f64,
            id: u32,
        }
        let p = temp(
            "typed.csv",
            b"id,Temperature,extra\n1,20.5,x\n2,warm,y\n3\n",
        );
        let src = CsvSource::new([&p]).timestamps_by_row(1_000, Duration::from_secs(2));
        let serde = src.value_serde::<Reading>().unwrap();
        let got = read_all(&src, StartFrom::Earliest).await;
        use weir_topology::Serde;
        let decoded: Vec<_> = got
            .iter()
            .map(|r| serde.deserialize(r.value.as_deref().unwrap()).ok())
            .collect();
        assert_eq!(
            decoded[0],
            Some(Reading {
                temperature: 20.5,
                id: 1
            })
        );
        assert_eq!(decoded[1..], [None, None]);
        let times: Vec<i64> = got.iter().map(|r| r.timestamp).collect();
        assert_eq!(times, [1_000, 3_000, 5_000]);
    }

    #[tokio::test]
    async fn explicit_columns_read_every_line_and_headers_must_agree() {
        let p = temp("plain.csv", b"1;a\n2;b\n");
        let src = CsvSource::new([&p])
            .columns(&["n", "s"])
            .delimiter(b';')
            .key_column("s");
        let got = read_all(&src, StartFrom::Earliest).await;
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].key.as_deref(), Some(&b"a"[..]));
        let a = temp("a.csv", b"x,y\n1,2\n");
        let b = temp("b.csv", b"y,x\n1,2\n");
        let two = CsvSource::new([&a, &b]);
        assert_eq!(two.partitions().await.unwrap(), 2);
        let err = two.open(1, StartFrom::Earliest).await.err().unwrap();
        assert!(
            err.to_string().contains("differs from the first file's"),
            "{err}"
        );
        let no_key = CsvSource::new([&a]).key_column("z");
        let err = no_key.open(0, StartFrom::Earliest).await.err().unwrap();
        assert!(err.to_string().contains("no column `z`"), "{err}");
    }

    #[tokio::test]
    async fn gzip_files_and_wall_clock_stamps() {
        use std::io::Write;
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(b"x,y\n1,\"2\n3\"\n").unwrap();
        let p = temp("z.csv.gz", &enc.finish().unwrap());
        let before = SystemClock.now_ms();
        let got = read_all(&FileSource::csv([&p]), StartFrom::Earliest).await;
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].value.as_deref(), Some(&b"1,\"2\n3\""[..]));
        assert!(got[0].timestamp >= before && got[0].timestamp <= SystemClock.now_ms());
    }

    use crate::FileSource;
}
