//! What the line-oriented file sinks (JSON lines, CSV) share: one handle per file in the
//! process, a buffer of whole records, and the two delivery modes: appends synced at each
//! commit (at-least-once, a torn tail cut off on open), or each commit's records staged per task
//! and appended once the commit is durable (exactly once, see `staged_lines`).

use super::staged_lines::{create_dir_all_durably, parent_dir, sync_dir, StagedLines};
use crate::file_error::file_error;
use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use weir_topology::{Result, TaskId, TopologyError};

/// Bytes buffered before they are written out early (always at record boundaries).
const BUFFER_BYTES: usize = 1 << 20;

/// One open handle per file in this process, shared by the sinks that append to it.
fn shared_file(path: &Path) -> Result<Arc<Mutex<File>>> {
    static FILES: OnceLock<Mutex<HashMap<PathBuf, Arc<Mutex<File>>>>> = OnceLock::new();
    let files = FILES.get_or_init(|| Mutex::new(HashMap::new()));
    let mut files = files.lock().map_err(|_| {
        TopologyError::connector(path.display().to_string(), "file registry poisoned")
    })?;
    if let Some(f) = files.get(path) {
        return Ok(f.clone());
    }
    let created = !path.exists();
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| file_error(path, e))?;
    // The new file's name must be durable, or lines synced into it could vanish with it.
    if created {
        sync_dir(parent_dir(path))?;
    }
    let f = Arc::new(Mutex::new(file));
    files.insert(path.to_path_buf(), f.clone());
    Ok(f)
}

/// A file of records appended by one sink instance (one per task), through the shared handle.
pub(crate) struct LinesFile {
    path: PathBuf,
    file: Arc<Mutex<File>>,
    /// Whole records not written out yet.
    pub buffer: Vec<u8>,
    /// Exactly-once: whether to stage, and once the task is known, its staging and the
    /// generation being staged (the next commit's).
    exactly_once: bool,
    pub(crate) staging: Option<(StagedLines, u64)>,
}

impl LinesFile {
    /// Appends to `path` (created with its parent directories when missing); `exactly_once`:
    /// stages each commit's records under `<path>.staged/`.
    pub fn open(path: &Path, exactly_once: bool) -> Result<Self> {
        create_dir_all_durably(parent_dir(path))?;
        let file = shared_file(path)?;
        Ok(Self {
            path: path.to_path_buf(),
            file,
            buffer: Vec::with_capacity(1 << 16),
            exactly_once,
            staging: None,
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` on the shared file under its lock (nobody appends meanwhile).
    pub fn locked<R>(&self, f: impl FnOnce(&mut File) -> Result<R>) -> Result<R> {
        let mut file = self.file.lock().map_err(|_| {
            TopologyError::connector(self.path.display().to_string(), "file lock poisoned")
        })?;
        f(&mut file)
    }

    /// Writes the buffer out when it has grown large.
    pub fn write_out_if_full(&mut self) -> Result<()> {
        if self.buffer.len() >= BUFFER_BYTES {
            self.write_out(false)?;
        }
        Ok(())
    }

    /// Writes the buffer out: staged for the next commit (exactly once), else appended (and
    /// with `sync`, the file synced).
    pub fn write_out(&mut self, sync: bool) -> Result<()> {
        if let Some((staging, generation)) = &self.staging {
            if !self.buffer.is_empty() {
                staging.stage(*generation, &self.buffer)?;
                self.buffer.clear();
            }
            return Ok(());
        }
        let buffer = std::mem::take(&mut self.buffer);
        let path = &self.path;
        let written = self.locked(|file| {
            if !buffer.is_empty() {
                file.write_all(&buffer).map_err(|e| file_error(path, e))?;
            }
            if sync {
                file.sync_data().map_err(|e| file_error(path, e))?;
            }
            Ok(())
        });
        // Keep the buffer's capacity; on a failure its lines are lost with the task's commit.
        self.buffer = buffer;
        self.buffer.clear();
        written
    }

    /// Cuts the file back to its first `complete(content)` bytes: a last record torn by a crash.
    pub fn cut_torn_tail(&mut self, complete: fn(&[u8]) -> usize) -> Result<()> {
        let path = &self.path;
        self.locked(|file| {
            let content = std::fs::read(path).map_err(|e| file_error(path, e))?;
            let keep = complete(&content);
            if keep >= content.len() {
                return Ok(());
            }
            file.set_len(keep as u64).map_err(|e| file_error(path, e))?;
            file.sync_data().map_err(|e| file_error(path, e))?;
            tracing::warn!(path = %path.display(), "cut off a torn last record");
            Ok(())
        })
    }

    /// The task is known: with exactly once, recovers its staging after commit
    /// `committed_generation`; else cuts a torn tail.
    pub fn open_task(
        &mut self,
        task: TaskId,
        committed_generation: u64,
        complete: fn(&[u8]) -> usize,
    ) -> Result<()> {
        if !self.exactly_once {
            return self.cut_torn_tail(complete);
        }
        let staging = StagedLines::new(&self.path, self.file.clone(), task.to_string())?;
        staging.recover(committed_generation)?;
        self.staging = Some((staging, committed_generation + 1));
        Ok(())
    }

    /// Commit `generation` is durable: publishes what was staged for it.
    pub fn committed(&mut self, generation: u64) -> Result<()> {
        if let Some((staging, next)) = &mut self.staging {
            staging.publish(generation)?;
            *next = generation + 1;
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("weir-lines-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir.join("deep/out.txt")
    }

    #[test]
    fn appends_share_one_handle_and_a_torn_tail_is_cut_to_what_the_format_says() {
        let path = scratch("append");
        let mut a = LinesFile::open(&path, false).unwrap();
        let mut b = LinesFile::open(&path, false).unwrap();
        a.buffer.extend_from_slice(b"one|");
        b.buffer.extend_from_slice(b"two|");
        b.write_out(true).unwrap();
        a.write_out(true).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two|one|");
        a.buffer.extend_from_slice(b"thr");
        a.write_out(false).unwrap();
        // The format's records end with `|`: the torn `thr` goes.
        let records = |c: &[u8]| c.iter().rposition(|&b| b == b'|').map_or(0, |i| i + 1);
        b.cut_torn_tail(records).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two|one|");
        b.cut_torn_tail(records).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two|one|");
    }

    #[test]
    fn exactly_once_stages_until_the_commit() {
        let path = scratch("staged");
        let mut f = LinesFile::open(&path, true).unwrap();
        let task = TaskId {
            subtopology: 1,
            partition: 0,
        };
        f.open_task(task, 4, |c| c.len()).unwrap();
        f.buffer.extend_from_slice(b"row\n");
        f.write_out(true).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"");
        f.committed(5).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"row\n");
    }
}
