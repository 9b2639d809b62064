//! Part files of one task partition in the output directory: naming and numbering
//! (`part-<partition>-<seq>.parquet`), crash leftovers (`*.parquet.tmp`), staged parts waiting
//! for their commit (`*.parquet.staged-<generation>`), and the open part that is written as
//! `.tmp`, then fsynced and renamed so readers only ever see whole files.

use crate::error::file_error;
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
const TMP_SUFFIX: &str = ".parquet.tmp";
const STAGED_INFIX: &str = ".parquet.staged-";

/// The file name of a part.
pub(crate) fn part_name(partition: u32, seq: u64) -> String {
    format!("part-{partition:05}-{seq:05}{SUFFIX}")
}

/// The sequence number of `name` when it is a part (or, with `tmp`, a leftover) of `partition`.
fn parse_seq(name: &str, partition: u32, tmp: bool) -> Option<u64> {
    let rest = name.strip_prefix(&format!("part-{partition:05}-"))?;
    let digits = rest.strip_suffix(if tmp { TMP_SUFFIX } else { SUFFIX })?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// The sequence number and generation of `name` when it is a staged part of `partition`.
fn parse_staged(name: &str, partition: u32) -> Option<(u64, u64)> {
    let rest = name.strip_prefix(&format!("part-{partition:05}-"))?;
    let (digits, generation) = rest.split_once(STAGED_INFIX)?;
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(digits) || !all_digits(generation) {
        return None;
    }
    Some((digits.parse().ok()?, generation.parse().ok()?))
}

/// The staged name of the part at `path`, waiting for commit `generation`.
pub(crate) fn staged_path(path: &Path, generation: u64) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".staged-{generation}"));
    path.with_file_name(name)
}

/// Numbering of one partition's parts in a directory.
pub(crate) struct PartFiles {
    dir: PathBuf,
    partition: u32,
    next_seq: u64,
}

impl PartFiles {
    /// Creates `dir` if needed, deletes this partition's leftover `.tmp` parts and continues the
    /// numbering after its highest existing part. Other partitions' files are left alone:
    /// their tasks may be writing right now.
    pub(crate) fn open(dir: &Path, partition: u32) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|e| file_error(dir, e))?;
        let mut next_seq = 0;
        for entry in std::fs::read_dir(dir).map_err(|e| file_error(dir, e))? {
            let entry = entry.map_err(|e| file_error(dir, e))?;
            let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
                continue;
            };
            if parse_seq(&name, partition, true).is_some() {
                let path = entry.path();
                std::fs::remove_file(&path).map_err(|e| file_error(&path, e))?;
                tracing::info!(path = %path.display(), "deleted an unfinished parquet part");
            } else if let Some(seq) = parse_seq(&name, partition, false)
                .or_else(|| parse_staged(&name, partition).map(|(seq, _)| seq))
            {
                next_seq = next_seq.max(seq.saturating_add(1));
            }
        }
        Ok(Self {
            dir: dir.to_path_buf(),
            partition,
            next_seq,
        })
    }

    /// Takes the next part number: its temporary and final paths.
    pub(crate) fn next(&mut self) -> (PathBuf, PathBuf) {
        let name = part_name(self.partition, self.next_seq);
        self.next_seq += 1;
        let path = self.dir.join(&name);
        let tmp = self.dir.join(format!("{name}.tmp"));
        (tmp, path)
    }

    /// After a restart whose last durable commit is `committed`: publishes the staged parts of
    /// durable commits (their rows are covered by the committed offsets) and deletes the others
    /// (their rows will be processed again). Returns the published paths.
    pub(crate) fn recover_staged(&self, committed: u64) -> Result<Vec<PathBuf>> {
        let dir = &self.dir;
        let mut published = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(|e| file_error(dir, e))? {
            let entry = entry.map_err(|e| file_error(dir, e))?;
            let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
                continue;
            };
            let Some((seq, generation)) = parse_staged(&name, self.partition) else {
                continue;
            };
            let staged = entry.path();
            if generation <= committed {
                let path = dir.join(part_name(self.partition, seq));
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

    /// The directory.
    pub(crate) fn partition(&self) -> u32 {
        self.partition
    }

    pub(crate) fn dir(&self) -> &Path {
        &self.dir
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
        let staged = staged_path(Path::new("d/part-00003-00012.parquet"), 7);
        assert_eq!(staged, Path::new("d/part-00003-00012.parquet.staged-7"));
        let name = staged.file_name().unwrap().to_str().unwrap();
        assert_eq!(parse_staged(name, 3), Some((12, 7)));
        assert_eq!(parse_staged(name, 4), None);
        assert_eq!(parse_staged("part-00003-00012.parquet.staged-", 3), None);
        assert_eq!(parse_seq("part-00003-00012.parquet", 3, false), Some(12));
        assert_eq!(
            parse_seq("part-00003-123456.parquet", 3, false),
            Some(123456)
        );
        assert_eq!(parse_seq("part-00003-00012.parquet", 4, false), None);
        assert_eq!(parse_seq("part-00003-00012.parquet.tmp", 3, false), None);
        assert_eq!(parse_seq("part-00003-00012.parquet.tmp", 3, true), Some(12));
        assert_eq!(parse_seq("part-00003-.parquet", 3, false), None);
        assert_eq!(parse_seq("part-00003-1x.parquet", 3, false), None);
    }
}
