//! Exactly-once appends to a file that several tasks share: each task stages the lines of a
//! commit in a file of its own and appends them to the shared file only once the commit is
//! durable; a journal makes the append itself safe against a crash half-way.
//!
//! Under `<file>.staged/`: `<writer>-<generation>.lines` (lines staged for a commit),
//! `<writer>.published` (the last generation of that writer appended) and `journal` (the writer,
//! generation and file length of the append in progress). Appends run under the in-process lock
//! of the shared file, so a journal seen while holding that lock is a crashed process's.
//!
//! Durable against power loss as well as a process crash: each file is fsynced before it is
//! renamed into place, and the staging directory is fsynced after every creation, rename or
//! removal whose loss would matter (a file's fsync does not make its name durable). The order is
//! journal (durable) → append → shared file fsync → marker (durable) → journal removed (durable)
//! → staged lines removed.

use crate::file_error::file_error;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use weir_topology::{Result, TopologyError};

/// One task's staging for a shared lines file.
pub(crate) struct StagedLines {
    path: PathBuf,
    dir: PathBuf,
    file: Arc<Mutex<File>>,
    writer: String,
}

// What the durability steps did, in order, on this thread (tests check the order).
#[cfg(test)]
thread_local! {
    static STEPS: std::cell::RefCell<Vec<String>> = const { std::cell::RefCell::new(Vec::new()) };
}

#[cfg(test)]
fn step(what: &str, path: &Path) {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
    STEPS.with(|s| {
        s.borrow_mut()
            .push(format!("{what} {}", name.unwrap_or_default()))
    });
}

#[cfg(not(test))]
fn step(_: &str, _: &Path) {}

/// The steps recorded on this thread since the last call.
#[cfg(test)]
pub(crate) fn take_steps() -> Vec<String> {
    STEPS.with(|s| std::mem::take(&mut *s.borrow_mut()))
}

/// Makes the entries of directory `dir` durable: files created, renamed or removed in it. A
/// file's own fsync does not cover its name.
pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    step("sync-dir", dir);
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| file_error(dir, e))
}

/// The directory holding `path` (`.` for a bare file name).
pub(crate) fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// `create_dir_all`, with each directory it creates made durable in its parent.
pub(crate) fn create_dir_all_durably(dir: &Path) -> Result<()> {
    let mut missing = Vec::new();
    let mut at = Some(dir);
    while let Some(d) = at.filter(|d| !d.as_os_str().is_empty() && !d.exists()) {
        missing.push(d);
        at = d.parent();
    }
    std::fs::create_dir_all(dir).map_err(|e| file_error(dir, e))?;
    for d in missing.iter().rev() {
        sync_dir(parent_dir(d))?;
    }
    Ok(())
}

/// Replaces `path` with `body` durably: a synced temporary file renamed over it, then the
/// directory synced.
fn write_atomically(path: &Path, body: &[u8]) -> Result<()> {
    let tmp = path.with_extension("tmp");
    let mut f = File::create(&tmp).map_err(|e| file_error(&tmp, e))?;
    f.write_all(body).map_err(|e| file_error(&tmp, e))?;
    f.sync_all().map_err(|e| file_error(&tmp, e))?;
    step("rename", path);
    std::fs::rename(&tmp, path).map_err(|e| file_error(path, e))?;
    sync_dir(parent_dir(path))
}

/// The lines `writer` staged for `generation`, in staging directory `dir`.
fn staged_file(dir: &Path, writer: &str, generation: u64) -> PathBuf {
    dir.join(format!("{writer}-{generation}.lines"))
}

fn remove_if_present(path: &Path) -> Result<()> {
    step("remove", path);
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(file_error(path, e)),
    }
}

impl StagedLines {
    /// Staging for `path`, whose shared handle is `file`, as writer `writer` (stable across
    /// restarts: the task id).
    pub fn new(path: &Path, file: Arc<Mutex<File>>, writer: String) -> Result<Self> {
        let mut dir = path.as_os_str().to_owned();
        dir.push(".staged");
        let dir = PathBuf::from(dir);
        create_dir_all_durably(&dir)?;
        Ok(Self {
            path: path.to_path_buf(),
            dir,
            file,
            writer,
        })
    }

    fn staged_path(&self, generation: u64) -> PathBuf {
        staged_file(&self.dir, &self.writer, generation)
    }

    fn published_path(&self) -> PathBuf {
        self.dir.join(format!("{}.published", self.writer))
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, File>> {
        self.file.lock().map_err(|_| {
            TopologyError::connector(self.path.display().to_string(), "file lock poisoned")
        })
    }

    /// The last generation this writer appended (0 when none).
    fn published(&self) -> Result<u64> {
        let p = self.published_path();
        match std::fs::read_to_string(&p) {
            Ok(s) => s.trim().parse().map_err(|_| {
                TopologyError::connector(p.display().to_string(), "not a generation number")
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
            Err(e) => Err(file_error(&p, e)),
        }
    }

    /// Appends `bytes` to the lines staged for `generation`, durably.
    pub fn stage(&self, generation: u64, bytes: &[u8]) -> Result<()> {
        let p = self.staged_path(generation);
        let created = !p.exists();
        let mut f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&p)
            .map_err(|e| file_error(&p, e))?;
        f.write_all(bytes).map_err(|e| file_error(&p, e))?;
        step("sync", &p);
        f.sync_data().map_err(|e| file_error(&p, e))?;
        // A new file: its name must be durable before the commit that counts on it is.
        if created {
            sync_dir(&self.dir)?;
        }
        Ok(())
    }

    /// Commit `generation` is durable: appends what was staged for it to the shared file.
    pub fn publish(&self, generation: u64) -> Result<()> {
        let mut file = self.lock()?;
        self.publish_locked(&mut file, &self.writer, generation)
    }

    /// The append, with the shared file locked: journal, append, sync, marker, journal gone.
    fn publish_locked(&self, file: &mut File, writer: &str, generation: u64) -> Result<()> {
        let staged = staged_file(&self.dir, writer, generation);
        let bytes = match std::fs::read(&staged) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(file_error(&staged, e)),
        };
        let io = |e| file_error(&self.path, e);
        let start = file.metadata().map_err(io)?.len();
        let journal = self.dir.join("journal");
        write_atomically(
            &journal,
            format!("{writer} {generation} {start}").as_bytes(),
        )?;
        step("append", &self.path);
        file.write_all(&bytes).map_err(io)?;
        file.sync_data().map_err(io)?;
        let marker = self.dir.join(format!("{writer}.published"));
        write_atomically(&marker, generation.to_string().as_bytes())?;
        // The journal's removal must be durable before the staged lines go: a journal that came
        // back without them would cut the shared file back with nothing to append again.
        remove_if_present(&journal)?;
        sync_dir(&self.dir)?;
        // A staged file that comes back is dropped by `recover` (its generation is published).
        remove_if_present(&staged)
    }

    /// After a restart on commit `committed`: finishes an append a crash interrupted (the
    /// shared file is cut back to where it started, then the append is redone), appends this
    /// writer's staged lines of durable commits not appended yet, and drops those of commits
    /// that never became durable (their records are processed again).
    pub fn recover(&self, committed: u64) -> Result<()> {
        let mut file = self.lock()?;
        let journal = self.dir.join("journal");
        if let Ok(text) = std::fs::read_to_string(&journal) {
            let bad = || TopologyError::connector(journal.display().to_string(), "unreadable");
            let mut parts = text.split_whitespace();
            let (Some(writer), Some(generation), Some(start)) =
                (parts.next(), parts.next(), parts.next())
            else {
                return Err(bad());
            };
            let generation: u64 = generation.parse().map_err(|_| bad())?;
            let start: u64 = start.parse().map_err(|_| bad())?;
            file.set_len(start).map_err(|e| file_error(&self.path, e))?;
            tracing::warn!(path = %self.path.display(), writer, generation,
                "redoing an append a crash interrupted");
            self.publish_locked(&mut file, writer, generation)?;
            // Gone already unless the staged lines were missing (never, by the order above).
            remove_if_present(&journal)?;
        }
        // A marker past the committed generation is from before a state reset.
        let published = self.published()?.min(committed);
        let prefix = format!("{}-", self.writer);
        let mut staged: Vec<u64> = std::fs::read_dir(&self.dir)
            .map_err(|e| file_error(&self.dir, e))?
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().into_string().ok()?;
                name.strip_prefix(&prefix)?
                    .strip_suffix(".lines")?
                    .parse()
                    .ok()
            })
            .collect();
        staged.sort_unstable();
        for generation in staged {
            if generation > published && generation <= committed {
                self.publish_locked(&mut file, &self.writer, generation)?;
            } else {
                remove_if_present(&self.staged_path(generation))?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn setup(name: &str) -> (PathBuf, Arc<Mutex<File>>) {
        let dir = std::env::temp_dir().join(format!("weir-staged-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("out.jsonl");
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .unwrap();
        (path, Arc::new(Mutex::new(file)))
    }

    fn read(path: &Path) -> String {
        std::fs::read_to_string(path).unwrap()
    }

    #[test]
    fn lines_reach_the_file_only_when_their_commit_is_published() {
        let (path, file) = setup("publish");
        let s = StagedLines::new(&path, file, "0_0".into()).unwrap();
        s.stage(1, b"a\n").unwrap();
        s.stage(1, b"b\n").unwrap();
        assert_eq!(read(&path), "");
        s.publish(1).unwrap();
        assert_eq!(read(&path), "a\nb\n");
        // Publishing again (nothing staged) changes nothing.
        s.publish(1).unwrap();
        assert_eq!(read(&path), "a\nb\n");
    }

    #[test]
    fn every_rename_creation_and_journal_removal_is_made_durable_in_order() {
        let (path, file) = setup("durable");
        let s = StagedLines::new(&path, file, "0_2".into()).unwrap();
        take_steps();
        s.stage(1, b"a\n").unwrap();
        s.stage(1, b"b\n").unwrap();
        assert_eq!(
            take_steps(),
            [
                "sync 0_2-1.lines",
                "sync-dir out.jsonl.staged", // the new staged file's name
                "sync 0_2-1.lines",
            ]
        );
        s.publish(1).unwrap();
        assert_eq!(
            take_steps(),
            [
                "rename journal",
                "sync-dir out.jsonl.staged", // the journal, before the append
                "append out.jsonl",
                "rename 0_2.published",
                "sync-dir out.jsonl.staged", // the marker, before the journal goes
                "remove journal",
                "sync-dir out.jsonl.staged", // the journal gone, before the staged lines
                "remove 0_2-1.lines",
            ]
        );
        assert_eq!(read(&path), "a\nb\n");
    }

    #[test]
    fn created_directories_are_made_durable_in_their_parents() {
        let (path, _) = setup("dirs");
        let deep = parent_dir(&path).join("x/y");
        take_steps();
        create_dir_all_durably(&deep).unwrap();
        assert!(deep.is_dir());
        let top = format!("sync-dir weir-staged-{}-dirs", std::process::id());
        // `x` in the scratch directory, then `y` in `x`.
        assert_eq!(take_steps(), [top.as_str(), "sync-dir x"]);
        create_dir_all_durably(&deep).unwrap();
        assert!(take_steps().is_empty(), "nothing created, nothing to sync");
    }

    #[test]
    fn recovery_publishes_durable_commits_once_and_drops_the_rest() {
        let (path, file) = setup("recover");
        let s = StagedLines::new(&path, file.clone(), "0_1".into()).unwrap();
        s.stage(1, b"one\n").unwrap();
        s.publish(1).unwrap();
        // Crash after commit 2 became durable, before its lines were appended; commit 3 was
        // staged but never committed.
        s.stage(2, b"two\n").unwrap();
        s.stage(3, b"three\n").unwrap();
        let again = StagedLines::new(&path, file.clone(), "0_1".into()).unwrap();
        again.recover(2).unwrap();
        assert_eq!(read(&path), "one\ntwo\n");
        // A second recovery (another restart) appends nothing twice.
        again.recover(2).unwrap();
        assert_eq!(read(&path), "one\ntwo\n");
        assert!(!again.staged_path(3).exists());
    }

    #[test]
    fn an_append_torn_by_a_crash_is_cut_back_and_redone() {
        let (path, file) = setup("torn");
        let other = StagedLines::new(&path, file.clone(), "0_0".into()).unwrap();
        other.stage(1, b"other\n").unwrap();
        other.publish(1).unwrap();
        let s = StagedLines::new(&path, file.clone(), "0_1".into()).unwrap();
        s.stage(4, b"x1\nx2\nx3\n").unwrap();
        // The crash: journal written, half of the lines appended, no marker.
        write_atomically(&s.dir.join("journal"), b"0_1 4 6").unwrap();
        file.lock().unwrap().write_all(b"x1\nx").unwrap();
        // Recovery runs in whichever task opens first, even another writer's.
        other.recover(1).unwrap();
        assert_eq!(read(&path), "other\nx1\nx2\nx3\n");
        s.recover(4).unwrap();
        assert_eq!(read(&path), "other\nx1\nx2\nx3\n");
        assert!(!s.dir.join("journal").exists());
    }
}
