//! [`ParquetSink`]: a typed sink writing one directory of Parquet part files, one finished part
//! per commit.

use super::buffers::ColumnBuffers;
use super::parts::{OpenPart, PartFiles};
use super::schema::ParquetRecord;
use arrow2::datatypes::Schema;
use arrow2::io::parquet::write::{CompressionOptions, Version, WriteOptions};
use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use weir_topology::{Record, RecordSink, Result, TaskId, TopologyError};

/// The page compression of the written files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Compression {
    /// Snappy: fast, moderate ratio (the default, as in Spark and pyarrow).
    #[default]
    Snappy,
    /// Zstandard at its default level: smaller files, a little slower.
    Zstd,
    /// No compression.
    Uncompressed,
}

impl Compression {
    fn to_parquet(self) -> CompressionOptions {
        match self {
            Compression::Snappy => CompressionOptions::Snappy,
            Compression::Zstd => CompressionOptions::Zstd(None),
            Compression::Uncompressed => CompressionOptions::Uncompressed,
        }
    }
}

/// Options of a [`ParquetSink`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParquetOptions {
    /// Page compression.
    pub compression: Compression,
    /// Rows per row group: a row group is written when this many rows are buffered (and at
    /// every commit). Default 65 536.
    pub row_group_rows: usize,
}

impl Default for ParquetOptions {
    fn default() -> Self {
        Self {
            compression: Compression::default(),
            row_group_rows: 64 * 1024,
        }
    }
}

impl ParquetOptions {
    /// Sets the compression.
    pub fn with_compression(mut self, compression: Compression) -> Self {
        self.compression = compression;
        self
    }

    /// Sets the rows per row group (at least 1).
    pub fn with_row_group_rows(mut self, rows: usize) -> Self {
        self.row_group_rows = rows.max(1);
        self
    }

    fn write_options(&self) -> WriteOptions {
        WriteOptions {
            write_statistics: true,
            compression: self.compression.to_parquet(),
            // Data page v1: read by every Parquet reader, old ones included.
            version: Version::V1,
            data_pagesize_limit: None,
        }
    }
}

/// Writes the values of a stream as Parquet files under one directory (e.g.
/// `out/flights.parquet/`), the layout Spark, pyarrow, DuckDB and pandas read as one data set.
///
/// Values are buffered in columns; a row group is written every
/// [`row_group_rows`](ParquetOptions::row_group_rows) rows; at each commit
/// ([`RecordSink::flush`]) the current part is finished and published atomically (written as
/// the hidden `.part-<partition>-<seq>.parquet.tmp`, fsynced, renamed), and later rows go to a
/// new part. A commit with no new rows writes nothing. Parts are named after the partition of
/// the task the sink serves (given by [`RecordSink::open_task`], or
/// [`ParquetSink::open_partition`] outside a topology) and numbered after those already in the
/// directory, so several tasks share a directory and a restart never overwrites a part; an
/// unfinished part of the same partition (a crash) is deleted when the partition is opened.
/// Unpublished files start with `.`, so readers of the directory never see them. Keys and
/// timestamps are not written: put what you need in the value type.
pub struct ParquetSink<T: ParquetRecord> {
    dir: PathBuf,
    /// The numbering of the partition served, once known.
    parts: Option<PartFiles>,
    options: ParquetOptions,
    write_options: WriteOptions,
    schema: Schema,
    buffers: ColumnBuffers,
    open: Option<OpenPart>,
    published: Vec<PathBuf>,
    /// In a topology: the task's last durable commit (parts are staged until the next one).
    generation: Option<u64>,
    /// Parts finished for the next commit: (staged path, final path).
    staged: Vec<(PathBuf, PathBuf)>,
    _record: PhantomData<fn(T)>,
}

impl<T: ParquetRecord> ParquetSink<T> {
    /// A sink writing to directory `dir` (created if missing; nothing in it is touched until
    /// the partition is known). In a topology, attach it with `Stream::sink`, which makes one
    /// per task: `move || ParquetSink::<Flight>::new(&dir, options)`.
    pub fn new(dir: impl AsRef<Path>, options: ParquetOptions) -> Result<Self> {
        let dir = dir.as_ref();
        let fields = T::schema();
        if fields.is_empty() {
            return Err(TopologyError::connector(
                dir.display().to_string(),
                "the parquet record type declares no column",
            ));
        }
        std::fs::create_dir_all(dir).map_err(|e| crate::file_error::file_error(dir, e))?;
        let buffers = ColumnBuffers::new(fields);
        Ok(Self {
            dir: dir.to_path_buf(),
            schema: buffers.arrow_schema(),
            buffers,
            parts: None,
            write_options: options.write_options(),
            options: ParquetOptions {
                row_group_rows: options.row_group_rows.max(1),
                ..options
            },
            open: None,
            published: Vec::new(),
            generation: None,
            staged: Vec::new(),
            _record: PhantomData,
        })
    }

    /// Names the parts after `partition` (outside a topology; in one, the task's partition is
    /// used), deleting that partition's unfinished parts and numbering after its existing ones.
    /// Fails while a part of another partition is being written.
    pub fn open_partition(&mut self, partition: u32) -> Result<()> {
        match &self.parts {
            Some(parts) if parts.partition() == partition => return Ok(()),
            Some(parts) if self.open.is_some() || !self.staged.is_empty() => {
                return Err(TopologyError::connector(
                    self.dir.display().to_string(),
                    format!(
                        "cannot switch to partition {partition} while a part of partition {} is unpublished",
                        parts.partition()
                    ),
                ));
            }
            _ => {}
        }
        self.parts = Some(PartFiles::open(&self.dir, partition)?);
        Ok(())
    }

    /// The directory written.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Appends one value (a row group is written when enough rows are buffered).
    pub fn write_value(&mut self, value: &T) -> Result<()> {
        value.append(&mut self.buffers);
        self.buffers
            .end_row()
            .map_err(|e| TopologyError::connector(self.dir.display().to_string(), e))?;
        if self.buffers.rows() >= self.options.row_group_rows || self.buffers.strings_full() {
            self.write_row_group()?;
        }
        Ok(())
    }

    /// Rows accepted but not yet in a published part.
    pub fn pending_rows(&self) -> usize {
        self.buffers.rows()
    }

    /// The parts this sink has published, oldest first.
    pub fn published(&self) -> &[PathBuf] {
        &self.published
    }

    /// Finishes and publishes the current part, if any row was written since the last one.
    pub fn finish_part(&mut self) -> Result<Option<PathBuf>> {
        if self.buffers.rows() > 0 {
            self.write_row_group()?;
        }
        let Some(part) = self.open.take() else {
            return Ok(None);
        };
        let path = part.finish()?;
        tracing::debug!(path = %path.display(), "published a parquet part");
        self.published.push(path.clone());
        Ok(Some(path))
    }

    /// Finishes the current part under its staged name for commit `generation`; it is
    /// published by [`ParquetSink::publish_staged`] once that commit is durable.
    fn stage_part(&mut self, generation: u64) -> Result<()> {
        if self.buffers.rows() > 0 {
            self.write_row_group()?;
        }
        let Some(part) = self.open.take() else {
            return Ok(());
        };
        let path = part.path().to_path_buf();
        let staged = part.finish_as(super::parts::staged_path(&path, generation))?;
        self.staged.push((staged, path));
        Ok(())
    }

    /// Publishes every staged part (their commit is durable).
    fn publish_staged(&mut self) -> Result<()> {
        for (staged, path) in std::mem::take(&mut self.staged) {
            super::parts::publish(&staged, &path)?;
            tracing::debug!(path = %path.display(), "published a parquet part");
            self.published.push(path);
        }
        Ok(())
    }

    fn write_row_group(&mut self) -> Result<()> {
        let chunk = self.buffers.take_chunk();
        let part = match self.open.take() {
            Some(part) => part,
            None => {
                let Some(parts) = self.parts.as_mut() else {
                    return Err(TopologyError::connector(
                        self.dir.display().to_string(),
                        "no partition to name the parts after: attach the sink with `Stream::sink`, \
                         or call `open_partition` first",
                    ));
                };
                let (tmp, path) = parts.next();
                OpenPart::create(tmp, path, &self.schema, self.write_options)?
            }
        };
        let part = self.open.insert(part);
        part.write_row_group(chunk)
    }
}

/// In a topology the sink is exactly-once: a part is finished under a staged name at each
/// commit's flush and published (renamed) only once the commit is durable; after a crash, parts
/// staged for durable commits are published and the others deleted, since their rows are
/// processed again.
impl<K: Send + 'static, T: ParquetRecord> RecordSink<K, T> for ParquetSink<T> {
    /// Recovers the staged parts of the partition opened with
    /// [`ParquetSink::open_partition`] (in a topology, `open_task` opens the task's).
    fn open(&mut self, committed_generation: u64) -> Result<()> {
        let Some(parts) = &self.parts else {
            return Err(TopologyError::connector(
                self.dir.display().to_string(),
                "opened without a partition: call `open_partition` first",
            ));
        };
        let recovered = parts.recover_staged(committed_generation)?;
        self.generation = Some(committed_generation);
        self.published.extend(recovered);
        Ok(())
    }

    /// Parts are named after the partition of the task the sink serves: a restarted task must
    /// find its own staged parts, whatever order the tasks made their sinks in.
    fn open_task(&mut self, task: TaskId, committed_generation: u64) -> Result<()> {
        self.open_partition(task.partition)?;
        RecordSink::<K, T>::open(self, committed_generation)
    }

    fn write(&mut self, record: &Record<K, T>) -> Result<()> {
        self.write_value(record.value())
    }

    fn flush(&mut self) -> Result<()> {
        match self.generation {
            Some(g) => self.stage_part(g + 1),
            None => self.finish_part().map(|_| ()),
        }
    }

    fn committed(&mut self, generation: u64) -> Result<()> {
        self.generation = Some(generation);
        self.publish_staged()
    }

    fn close(&mut self) -> Result<()> {
        self.finish_part().map(|_| ())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use arrow2::array::{Array, BooleanArray, PrimitiveArray, Utf8Array};
    use arrow2::datatypes::DataType;
    use arrow2::io::parquet::read;
    use std::fs::File;

    #[derive(Debug, Clone, PartialEq)]
    struct Flight {
        id: i64,
        carrier: Option<String>,
        delay: Option<f64>,
        cancelled: Option<bool>,
        label: Option<u8>,
    }
    crate::parquet_record!(Flight { id, carrier, delay => "delay_min", cancelled, label });

    fn flight(i: i64) -> Flight {
        Flight {
            id: i,
            carrier: (i % 7 != 0).then(|| format!("C{}", i % 5)),
            delay: (i % 3 != 0).then_some(i as f64 * 0.5),
            cancelled: (i % 4 != 0).then_some(i % 2 == 0),
            label: (i % 5 != 0).then_some((i % 3) as u8),
        }
    }

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("weir-parquet-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    /// A sink on `dir` naming its parts after `partition`, as outside a topology.
    fn sink_on(dir: &Path, partition: u32, options: ParquetOptions) -> ParquetSink<Flight> {
        let mut sink = ParquetSink::<Flight>::new(dir, options).unwrap();
        sink.open_partition(partition).unwrap();
        sink
    }

    fn col<A: 'static>(array: &dyn Array) -> &A {
        array.as_any().downcast_ref::<A>().unwrap()
    }

    /// Reads a file back with arrow2's reader: its schema, row-group count and rows.
    fn read_back(path: &Path) -> (arrow2::datatypes::Schema, usize, Vec<Flight>) {
        let mut file = File::open(path).unwrap();
        let metadata = read::read_metadata(&mut file).unwrap();
        let schema = read::infer_schema(&metadata).unwrap();
        let groups = metadata.row_groups.len();
        let reader =
            read::FileReader::new(file, metadata.row_groups, schema.clone(), None, None, None);
        let mut rows = Vec::new();
        for chunk in reader {
            let chunk = chunk.unwrap();
            let a = chunk.arrays();
            let ids = col::<PrimitiveArray<i64>>(a[0].as_ref());
            let carriers = col::<Utf8Array<i32>>(a[1].as_ref());
            let delays = col::<PrimitiveArray<f64>>(a[2].as_ref());
            let cancelled = col::<BooleanArray>(a[3].as_ref());
            let labels = col::<PrimitiveArray<u8>>(a[4].as_ref());
            for i in 0..chunk.len() {
                rows.push(Flight {
                    id: ids.value(i),
                    carrier: carriers.get(i).map(str::to_owned),
                    delay: delays.get(i),
                    cancelled: cancelled.get(i),
                    label: labels.get(i),
                });
            }
        }
        (schema, groups, rows)
    }

    fn write(sink: &mut ParquetSink<Flight>, ids: std::ops::Range<i64>) {
        for i in ids {
            RecordSink::<String, Flight>::write(sink, &Record::new(format!("k{i}"), flight(i), i))
                .unwrap();
        }
    }

    fn flush(sink: &mut ParquetSink<Flight>) {
        RecordSink::<String, Flight>::flush(sink).unwrap();
    }

    #[test]
    fn two_commits_make_two_parts_with_nulls_read_back() {
        let dir = temp_dir("roundtrip").join("flight.parquet");
        let options = ParquetOptions::default().with_row_group_rows(100);
        let mut sink = sink_on(&dir, 0, options);
        write(&mut sink, 0..250);
        assert_eq!(
            sink.pending_rows(),
            50,
            "two full row groups already written"
        );
        flush(&mut sink);
        flush(&mut sink); // an empty commit publishes nothing
        write(&mut sink, 250..310);
        flush(&mut sink);
        RecordSink::<String, Flight>::close(&mut sink).unwrap();

        let names: Vec<_> = sink
            .published()
            .iter()
            .map(|p| p.file_name().unwrap().to_owned())
            .collect();
        assert_eq!(
            names,
            ["part-00000-00000.parquet", "part-00000-00001.parquet"]
        );
        let mut listed: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        listed.sort();
        assert_eq!(listed, names, "no temporary file is left");

        let (schema, groups, rows) = read_back(&sink.published()[0]);
        let types: Vec<_> = schema
            .fields
            .iter()
            .map(|f| (f.name.as_str(), f.data_type.clone(), f.is_nullable))
            .collect();
        assert_eq!(
            types,
            vec![
                ("id", DataType::Int64, true),
                ("carrier", DataType::Utf8, true),
                ("delay_min", DataType::Float64, true),
                ("cancelled", DataType::Boolean, true),
                ("label", DataType::UInt8, true),
            ]
        );
        assert_eq!(groups, 3);
        assert_eq!(rows, (0..250).map(flight).collect::<Vec<_>>());
        assert!(rows
            .iter()
            .any(|r| r.carrier.is_none() && r.delay.is_none()));

        let (_, groups, rows) = read_back(&sink.published()[1]);
        assert_eq!(groups, 1);
        assert_eq!(rows, (250..310).map(flight).collect::<Vec<_>>());
    }

    #[test]
    fn every_compression_round_trips() {
        for (i, compression) in [
            Compression::Snappy,
            Compression::Zstd,
            Compression::Uncompressed,
        ]
        .into_iter()
        .enumerate()
        {
            let dir = temp_dir(&format!("codec{i}"));
            let options = ParquetOptions::default().with_compression(compression);
            let mut sink = sink_on(&dir, 7, options);
            write(&mut sink, 0..200);
            let part = sink.finish_part().unwrap().unwrap();
            assert_eq!(part.file_name().unwrap(), "part-00007-00000.parquet");
            assert_eq!(
                read_back(&part).2,
                (0..200).map(flight).collect::<Vec<_>>(),
                "{compression:?}"
            );
        }
    }

    #[test]
    fn reopening_continues_numbering_and_deletes_own_leftovers() {
        let dir = temp_dir("reopen");
        let mut sink = sink_on(&dir, 1, ParquetOptions::default());
        write(&mut sink, 0..10);
        flush(&mut sink);
        write(&mut sink, 10..20);
        flush(&mut sink);
        // A crash while writing part 2, and another task's unfinished part.
        write(&mut sink, 20..30);
        sink.write_row_group().unwrap();
        drop(sink);
        assert!(dir.join(".part-00001-00002.parquet.tmp").exists());
        std::fs::write(dir.join(".part-00002-00000.parquet.tmp"), b"other task").unwrap();
        std::fs::write(dir.join("part-00002-00004.parquet"), b"other task").unwrap();

        let mut sink = sink_on(&dir, 1, ParquetOptions::default());
        assert!(
            !dir.join(".part-00001-00002.parquet.tmp").exists(),
            "own leftover deleted"
        );
        assert!(
            dir.join(".part-00002-00000.parquet.tmp").exists(),
            "other partition untouched"
        );
        write(&mut sink, 30..35);
        flush(&mut sink);
        assert_eq!(sink.published()[0], dir.join("part-00001-00002.parquet"));
        assert_eq!(
            read_back(&sink.published()[0]).2,
            (30..35).map(flight).collect::<Vec<_>>()
        );
        assert_eq!(read_back(&dir.join("part-00001-00001.parquet")).2.len(), 10);
    }

    #[test]
    fn a_mistyped_record_is_an_error_and_skipped() {
        struct Bad(i64);
        impl ParquetRecord for Bad {
            fn schema() -> Vec<super::super::ParquetField> {
                vec![super::super::ParquetField::new(
                    "s",
                    super::super::ColumnType::Utf8,
                )]
            }
            fn append(&self, cols: &mut ColumnBuffers) {
                cols.push(&self.0);
            }
        }
        let dir = temp_dir("bad");
        let mut sink = ParquetSink::<Bad>::new(&dir, ParquetOptions::default()).unwrap();
        sink.open_partition(0).unwrap();
        let err = sink.write_value(&Bad(1)).unwrap_err().to_string();
        assert!(err.contains("column `s` is Utf8"), "{err}");
        assert_eq!(sink.pending_rows(), 0);
        assert_eq!(sink.finish_part().unwrap(), None);
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    fn write_rows(sink: &mut ParquetSink<Flight>, range: std::ops::Range<i64>) {
        for i in range {
            RecordSink::<(), Flight>::write(sink, &Record::new((), flight(i), 0)).unwrap();
        }
    }

    #[test]
    fn in_a_topology_parts_are_published_only_when_their_commit_is_durable() {
        let dir = temp_dir("staged");
        let mut sink = sink_on(&dir, 2, ParquetOptions::default());
        RecordSink::<(), Flight>::open(&mut sink, 0).unwrap();
        write_rows(&mut sink, 0..10);
        RecordSink::<(), Flight>::flush(&mut sink).unwrap();
        assert_eq!(names(&dir), vec![".part-00002-00000.parquet.staged-1"]);
        RecordSink::<(), Flight>::committed(&mut sink, 1).unwrap();
        assert_eq!(names(&dir), vec!["part-00002-00000.parquet"]);
        // A crash after staging for commit 2: whether that commit became durable decides.
        write_rows(&mut sink, 10..15);
        RecordSink::<(), Flight>::flush(&mut sink).unwrap();
        drop(sink);
        let staged = dir.join(".part-00002-00001.parquet.staged-2");
        let kept = std::fs::read(&staged).unwrap();

        let mut lost = sink_on(&dir, 2, ParquetOptions::default());
        RecordSink::<(), Flight>::open(&mut lost, 1).unwrap();
        assert_eq!(names(&dir), vec!["part-00002-00000.parquet"]);
        drop(lost);

        std::fs::write(&staged, &kept).unwrap();
        let mut durable = sink_on(&dir, 2, ParquetOptions::default());
        RecordSink::<(), Flight>::open(&mut durable, 2).unwrap();
        assert_eq!(
            names(&dir),
            vec!["part-00002-00000.parquet", "part-00002-00001.parquet"]
        );
        assert_eq!(durable.published().len(), 1);
        // Numbering goes on after every part, staged or published.
        write_rows(&mut durable, 15..16);
        RecordSink::<(), Flight>::flush(&mut durable).unwrap();
        assert!(dir.join(".part-00002-00002.parquet.staged-3").exists());
        let _ = std::fs::remove_dir_all(&dir);
    }

    fn task(partition: u32) -> TaskId {
        TaskId {
            subtopology: 0,
            partition,
        }
    }

    /// Every task makes its sink with the same `new(dir, options)`: making and opening one
    /// must not touch the part another task is writing (the old `new(dir, 0, ..)` deleted
    /// partition 0's `.tmp` part, and task 0's publish then failed).
    #[test]
    fn two_tasks_opening_at_once_keep_each_others_files() {
        let dir = temp_dir("two-tasks");
        let mut a = ParquetSink::<Flight>::new(&dir, ParquetOptions::default()).unwrap();
        RecordSink::<(), Flight>::open_task(&mut a, task(0), 0).unwrap();
        write_rows(&mut a, 0..10);
        a.write_row_group().unwrap(); // task 0's part is being written
        let mut b = ParquetSink::<Flight>::new(&dir, ParquetOptions::default()).unwrap();
        RecordSink::<(), Flight>::open_task(&mut b, task(1), 0).unwrap();
        write_rows(&mut b, 10..15);
        b.write_row_group().unwrap();
        for sink in [&mut a, &mut b] {
            RecordSink::<(), Flight>::flush(sink).unwrap();
            RecordSink::<(), Flight>::committed(sink, 1).unwrap();
        }
        assert_eq!(
            names(&dir),
            vec!["part-00000-00000.parquet", "part-00001-00000.parquet"]
        );
        assert_eq!(
            read_back(&a.published()[0]).2,
            (0..10).map(flight).collect::<Vec<_>>()
        );
        assert_eq!(
            read_back(&b.published()[0]).2,
            (10..15).map(flight).collect::<Vec<_>>()
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Files left by a version that used visible names (`part-….parquet.tmp`,
    /// `part-….parquet.staged-G`) are recovered like hidden ones: nothing is lost on upgrade.
    #[test]
    fn parts_left_under_the_old_visible_names_are_recovered() {
        let dir = temp_dir("upgrade");
        let mut old = sink_on(&dir, 3, ParquetOptions::default());
        write_rows(&mut old, 0..5);
        let durable = old.finish_part().unwrap().unwrap();
        write_rows(&mut old, 5..8);
        let lost = old.finish_part().unwrap().unwrap();
        let name = |p: &Path, suffix: &str| {
            let mut n = p.file_name().unwrap().to_os_string();
            n.push(suffix);
            p.with_file_name(n)
        };
        std::fs::rename(&durable, name(&durable, ".staged-2")).unwrap();
        std::fs::rename(&lost, name(&lost, ".staged-3")).unwrap();
        std::fs::write(dir.join("part-00003-00002.parquet.tmp"), b"torn").unwrap();

        let mut sink = ParquetSink::<Flight>::new(&dir, ParquetOptions::default()).unwrap();
        RecordSink::<(), Flight>::open_task(&mut sink, task(3), 2).unwrap();
        assert_eq!(names(&dir), vec!["part-00003-00000.parquet"]);
        assert_eq!(sink.published(), std::slice::from_ref(&durable));
        assert_eq!(
            read_back(&durable).2,
            (0..5).map(flight).collect::<Vec<_>>()
        );
        write_rows(&mut sink, 10..11);
        RecordSink::<(), Flight>::flush(&mut sink).unwrap();
        assert!(dir.join(".part-00003-00002.parquet.staged-3").exists());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn rows_need_a_partition_to_name_their_part() {
        let dir = temp_dir("no-partition");
        let options = ParquetOptions::default().with_row_group_rows(1);
        let mut sink = ParquetSink::<Flight>::new(&dir, options).unwrap();
        let err = sink.write_value(&flight(1)).unwrap_err().to_string();
        assert!(err.contains("open_partition"), "{err}");
        assert!(names(&dir).is_empty());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
