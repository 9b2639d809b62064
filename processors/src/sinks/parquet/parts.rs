//! Part files of one task partition in the output directory: naming and numbering
//! (`part-<partition>-<seq>.parquet`), the part being written (`.part-….parquet.tmp`), parts
//! staged until their commit is durable (`.part-….parquet.staged-<generation>`), and crash
//! leftovers of both. Unpublished files start with `.`, which dataset readers (pyarrow, Spark,
//! DuckDB, pandas) skip, so readers of the directory only ever see whole, committed parts.
//! Recovery also handles the visible names earlier versions used (`part-….parquet.tmp`,
//! `part-….parquet.staged-<generation>`), so an upgrade loses nothing.

use crate::file_error::file_error;
use arrow2::array::Array;
use arrow2::chunk::Chunk;
use arrow2::datatypes::Schema;
use arrow2::io::parquet::write::{
    transverse, Encoding, FileWriter, RowGroupIterator, WriteOptions,
};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use weir_topology::Result;

const SUFFIX: &str = ".parquet";
const TMP_SUFFIX: &str = ".tmp";
const STAGED_INFIX: &str = ".staged-";
/// The prefix of unpublished files: hidden from dataset readers.
const HIDDEN: &str = ".";

/// The file name of a part.
pub(crate) fn part_name(partition: u32, seq: u64) -> String {
    format!("part-{partition:05}-{seq:05}{SUFFIX}")
}

/// What a file of the directory is to one partition's parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PartFile {
    /// `part-<p>-<seq>.parquet`: published.
    Published(u64),
    /// `.part-<p>-<seq>.parquet.tmp` (or, from earlier versions, without the dot): being
    /// written, or left unfinished by a crash.
    Unfinished(u64),
    /// `.part-<p>-<seq>.parquet.staged-<generation>` (or without the dot): finished, waiting
    /// for commit `generation`.
    Staged(u64, u64),
}

fn all_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// Classifies `name` when it is a part file of `partition`.
fn classify(name: &str, partition: u32) -> Option<PartFile> {
    let (hidden, visible) = match name.strip_prefix(HIDDEN) {
        Some(rest) => (true, rest),
        None => (false, name),
    };
    let rest = visible.strip_prefix(&format!("part-{partition:05}-"))?;
    let (digits, tail) = rest.split_once(SUFFIX)?;
    if !all_digits(digits) {
        return None;
    }
    let seq = digits.parse().ok()?;
    if tail.is_empty() {
        return (!hidden).then_some(PartFile::Published(seq));
    }
    if tail == TMP_SUFFIX {
        return Some(PartFile::Unfinished(seq));
    }
    let generation = tail.strip_prefix(STAGED_INFIX).filter(|g| all_digits(g))?;
    Some(PartFile::Staged(seq, generation.parse().ok()?))
}

/// The hidden name of the part at `path` while it is written.
fn tmp_path(path: &Path) -> PathBuf {
    hidden_path(path, TMP_SUFFIX)
}

/// The hidden staged name of the part at `path`, waiting for commit `generation`.
pub(crate) fn staged_path(path: &Path, generation: u64) -> PathBuf {
    hidden_path(path, &format!("{STAGED_INFIX}{generation}"))
}

fn hidden_path(path: &Path, suffix: &str) -> PathBuf {
    let mut name = std::ffi::OsString::from(HIDDEN);
    name.push(path.file_name().unwrap_or_default());
    name.push(suffix);
    path.with_file_name(name)
}

/// Numbering of one partition's parts in a directory.
pub(crate) struct PartFiles {
    dir: PathBuf,
    partition: u32,
    next_seq: u64,
}

impl PartFiles {
    /// Creates `dir` if needed, deletes this partition's unfinished parts (a crash's) and
    /// continues the numbering after its highest existing part. Other partitions' files are
    /// left alone: their tasks may be writing right now.
    pub(crate) fn open(dir: &Path, partition: u32) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|e| file_error(dir, e))?;
        let mut next_seq = 0;
        for (path, file) in Self::list(dir, partition)? {
            let seq = match file {
                PartFile::Unfinished(_) => {
                    std::fs::remove_file(&path).map_err(|e| file_error(&path, e))?;
                    tracing::info!(path = %path.display(), "deleted an unfinished parquet part");
                    continue;
                }
                PartFile::Published(seq) | PartFile::Staged(seq, _) => seq,
            };
            next_seq = next_seq.max(seq.saturating_add(1));
        }
        Ok(Self {
            dir: dir.to_path_buf(),
            partition,
            next_seq,
        })
    }

    /// The part files of `partition` in `dir`.
    fn list(dir: &Path, partition: u32) -> Result<Vec<(PathBuf, PartFile)>> {
        let mut files = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(|e| file_error(dir, e))? {
            let entry = entry.map_err(|e| file_error(dir, e))?;
            let name = entry.file_name();
            if let Some(file) = name.to_str().and_then(|n| classify(n, partition)) {
                files.push((entry.path(), file));
            }
        }
        Ok(files)
    }

    /// Takes the next part number: its temporary (hidden) and final paths.
    pub(crate) fn next(&mut self) -> (PathBuf, PathBuf) {
        let path = self.dir.join(part_name(self.partition, self.next_seq));
        self.next_seq += 1;
        (tmp_path(&path), path)
    }

    /// After a restart whose last durable commit is `committed`: publishes the staged parts of
    /// durable commits (their rows are covered by the committed offsets) and deletes the others
    /// (their rows will be processed again). Returns the published paths.
    pub(crate) fn recover_staged(&self, committed: u64) -> Result<Vec<PathBuf>> {
        let mut published = Vec::new();
        for (staged, file) in Self::list(&self.dir, self.partition)? {
            let PartFile::Staged(seq, generation) = file else {
                continue;
            };
            if generation <= committed {
                let path = self.dir.join(part_name(self.partition, seq));
                publish(&staged, &path)?;
                tracing::info!(path = %path.display(), "published a part staged before a restart");
                published.push(path);
            } else {
                std::fs::remove_file(&staged).map_err(|e| file_error(&staged, e))?;
                tracing::info!(path = %staged.display(), "deleted a part of an uncommitted commit");
            }
        }
        published.sort();
        Ok(published)
    }

    /// The partition whose parts these are.
    pub(crate) fn partition(&self) -> u32 {
        self.partition
    }
}

/// A part being written to its `.tmp` path.
pub(crate) struct OpenPart {
    writer: FileWriter<BufWriter<File>>,
    tmp: PathBuf,
    path: PathBuf,
}

impl OpenPart {
    /// Creates the temporary file and writes the Parquet header.
    pub(crate) fn create(
        tmp: PathBuf,
        path: PathBuf,
        schema: &Schema,
        options: WriteOptions,
    ) -> Result<Self> {
        let file = File::create(&tmp).map_err(|e| file_error(&tmp, e))?;
        let writer = FileWriter::try_new(
            BufWriter::with_capacity(1 << 20, file),
            schema.clone(),
            options,
        )
        .map_err(|e| file_error(&tmp, e))?;
        Ok(Self { writer, tmp, path })
    }

    /// Writes one chunk as one row group.
    pub(crate) fn write_row_group(&mut self, chunk: Chunk<Box<dyn Array>>) -> Result<()> {
        let schema = self.writer.schema().clone();
        let options = self.writer.options();
        let encodings = schema
            .fields
            .iter()
            .map(|f| transverse(&f.data_type, |_| Encoding::Plain))
            .collect();
        let groups =
            RowGroupIterator::try_new(std::iter::once(Ok(chunk)), &schema, options, encodings)
                .map_err(|e| file_error(&self.tmp, e))?;
        for group in groups {
            let group = group.map_err(|e| file_error(&self.tmp, e))?;
            self.writer
                .write(group)
                .map_err(|e| file_error(&self.tmp, e))?;
        }
        Ok(())
    }

    /// The part's final path.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Writes the footer, fsyncs, renames the file to its final name and fsyncs the directory.
    pub(crate) fn finish(self) -> Result<PathBuf> {
        let path = self.path.clone();
        self.finish_as(path)
    }

    /// [`OpenPart::finish`], renaming to `target` (a staged name, say) instead.
    pub(crate) fn finish_as(mut self, target: PathBuf) -> Result<PathBuf> {
        let tmp = self.tmp;
        self.writer.end(None).map_err(|e| file_error(&tmp, e))?;
        let mut out = self.writer.into_inner();
        out.flush().map_err(|e| file_error(&tmp, e))?;
        out.get_ref().sync_all().map_err(|e| file_error(&tmp, e))?;
        drop(out);
        publish(&tmp, &target)?;
        Ok(target)
    }
}

/// Renames `from` to `to` and makes the rename durable.
pub(crate) fn publish(from: &Path, to: &Path) -> Result<()> {
    std::fs::rename(from, to).map_err(|e| file_error(to, e))?;
    match to.parent() {
        Some(dir) => sync_dir(dir),
        None => Ok(()),
    }
}

/// Makes a rename in `dir` durable (a no-op where directories cannot be opened).
fn sync_dir(dir: &Path) -> Result<()> {
    match File::open(dir) {
        Ok(d) => d.sync_all().or_else(|e| {
            // Some platforms and file systems refuse fsync on directories.
            if e.kind() == std::io::ErrorKind::InvalidInput
                || e.kind() == std::io::ErrorKind::PermissionDenied
            {
                Ok(())
            } else {
                Err(file_error(dir, e))
            }
        }),
        Err(_) => Ok(()),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_back() {
        assert_eq!(part_name(3, 12), "part-00003-00012.parquet");
        let path = Path::new("d/part-00003-00012.parquet");
        let staged = staged_path(path, 7);
        assert_eq!(staged, Path::new("d/.part-00003-00012.parquet.staged-7"));
        assert_eq!(tmp_path(path), Path::new("d/.part-00003-00012.parquet.tmp"));
        let name = staged.file_name().unwrap().to_str().unwrap();
        assert_eq!(classify(name, 3), Some(PartFile::Staged(12, 7)));
        assert_eq!(classify(name, 4), None);
        assert_eq!(classify(".part-00003-00012.parquet.staged-", 3), None);
        assert_eq!(
            classify("part-00003-00012.parquet", 3),
            Some(PartFile::Published(12))
        );
        assert_eq!(
            classify("part-00003-123456.parquet", 3),
            Some(PartFile::Published(123456))
        );
        assert_eq!(classify("part-00003-00012.parquet", 4), None);
        assert_eq!(classify(".part-00003-00012.parquet", 3), None);
        assert_eq!(
            classify(".part-00003-00012.parquet.tmp", 3),
            Some(PartFile::Unfinished(12))
        );
        assert_eq!(classify("part-00003-.parquet", 3), None);
        assert_eq!(classify("part-00003-1x.parquet", 3), None);
        assert_eq!(classify("part-00003-00012.parquet.bak", 3), None);
    }

    #[test]
    fn names_of_earlier_versions_are_still_recognized() {
        assert_eq!(
            classify("part-00003-00012.parquet.tmp", 3),
            Some(PartFile::Unfinished(12))
        );
        assert_eq!(
            classify("part-00003-00012.parquet.staged-7", 3),
            Some(PartFile::Staged(12, 7))
        );
    }

    /// Unpublished names must start with `.` or `_`, which pyarrow, Spark and DuckDB skip.
    #[test]
    fn unpublished_names_are_hidden_from_dataset_readers() {
        let (tmp, path) = PartFiles {
            dir: PathBuf::from("d"),
            partition: 1,
            next_seq: 4,
        }
        .next();
        assert_eq!(path, Path::new("d/part-00001-00004.parquet"));
        for hidden in [tmp, staged_path(&path, 2)] {
            let name = hidden.file_name().unwrap().to_str().unwrap().to_owned();
            assert!(name.starts_with('.') || name.starts_with('_'), "{name}");
        }
    }
}
