//! Committed positions: per task, the next offset of each input partition and the stream time.
//!
//! [`InMemoryCheckpoints`] keeps them in memory; [`SledCheckpoints`] keeps them in the sled
//! database of the stores (the tree `__weir_checkpoints`, one JSON record per task id), where a
//! task's commit writes them in the same atomic transaction as its store changes.

use crate::error::{Result, TopologyError};
use crate::processor::TaskId;
use crate::record::Timestamp;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Arc;
use weir_state::sled::SledBackend;
use weir_state::StagedWrites;

/// What a task commits besides its stores.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Checkpoint {
    /// `(topic, partition) -> next offset to read`.
    pub offsets: HashMap<(String, u32), i64>,
    /// The task's stream time at the commit.
    pub stream_time: Timestamp,
    /// With a changelog: its end offset once this commit's changes were logged.
    pub changelog_end: Option<i64>,
    /// The commit's number: the task's first commit is 1.
    pub generation: u64,
}

/// Where checkpoints are kept. Persistent stores write them in the same atomic batch as state.
pub trait CheckpointStore: Send + Sync {
    /// The last checkpoint of `task`, if any.
    fn load(&self, task: TaskId) -> Result<Option<Checkpoint>>;
    /// Records `checkpoint` as the task's latest.
    fn save(&self, task: TaskId, checkpoint: &Checkpoint) -> Result<()>;
}

/// Checkpoints in memory: survive a restart of the application object, not of the process.
#[derive(Debug, Clone, Default)]
pub struct InMemoryCheckpoints(Arc<Mutex<HashMap<TaskId, Checkpoint>>>);

impl CheckpointStore for InMemoryCheckpoints {
    fn load(&self, task: TaskId) -> Result<Option<Checkpoint>> {
        Ok(self.0.lock().get(&task).cloned())
    }
    fn save(&self, task: TaskId, checkpoint: &Checkpoint) -> Result<()> {
        self.0.lock().insert(task, checkpoint.clone());
        Ok(())
    }
}

/// The on-disk form of a [`Checkpoint`] (JSON: readable with any sled tool).
#[derive(Serialize, Deserialize)]
pub(crate) struct StoredCheckpoint {
    offsets: Vec<(String, u32, i64)>,
    stream_time: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    changelog_end: Option<i64>,
    #[serde(default)]
    generation: u64,
}

impl From<&Checkpoint> for StoredCheckpoint {
    fn from(checkpoint: &Checkpoint) -> Self {
        let mut offsets: Vec<(String, u32, i64)> = checkpoint
            .offsets
            .iter()
            .map(|((t, p), o)| (t.clone(), *p, *o))
            .collect();
        offsets.sort();
        Self {
            offsets,
            stream_time: checkpoint.stream_time,
            changelog_end: checkpoint.changelog_end,
            generation: checkpoint.generation,
        }
    }
}

impl From<StoredCheckpoint> for Checkpoint {
    fn from(stored: StoredCheckpoint) -> Self {
        Self {
            offsets: stored
                .offsets
                .into_iter()
                .map(|(t, p, o)| ((t, p), o))
                .collect(),
            stream_time: stored.stream_time,
            changelog_end: stored.changelog_end,
            generation: stored.generation,
        }
    }
}

/// Checkpoints in the sled database of a [`SledBackend`], next to the stores. A task's commit
/// puts its checkpoint in the same atomic transaction as its store changes
/// (`SledCheckpoints::commit`); [`CheckpointStore::save`] writes one on its own.
#[derive(Debug, Clone)]
pub struct SledCheckpoints {
    backend: SledBackend,
}

impl SledCheckpoints {
    /// Checkpoints in `backend`'s database.
    pub fn new(backend: SledBackend) -> Self {
        Self { backend }
    }

    /// The backend the checkpoints live in.
    pub fn backend(&self) -> &SledBackend {
        &self.backend
    }

    fn encode(task: TaskId, checkpoint: &Checkpoint) -> Result<Vec<u8>> {
        serde_json::to_vec(&StoredCheckpoint::from(checkpoint))
            .map_err(|e| TopologyError::config("checkpoint", format!("task {task}: {e}")))
    }

    /// Commits `checkpoint` for `task` together with its stores' `staged` writes, atomically.
    pub(crate) fn commit(
        &self,
        task: TaskId,
        checkpoint: &Checkpoint,
        staged: Vec<StagedWrites>,
    ) -> Result<()> {
        let bytes = Self::encode(task, checkpoint)?;
        Ok(self
            .backend
            .commit_staged(staged, &task.to_string(), bytes)?)
    }
}

impl CheckpointStore for SledCheckpoints {
    fn load(&self, task: TaskId) -> Result<Option<Checkpoint>> {
        let Some(bytes) = self.backend.read_checkpoint(&task.to_string())? else {
            return Ok(None);
        };
        let stored: StoredCheckpoint = serde_json::from_slice(&bytes).map_err(|e| {
            TopologyError::config(
                "checkpoint",
                format!("task {task}: unreadable checkpoint in the state directory: {e}"),
            )
        })?;
        Ok(Some(stored.into()))
    }

    fn save(&self, task: TaskId, checkpoint: &Checkpoint) -> Result<()> {
        let bytes = Self::encode(task, checkpoint)?;
        Ok(self.backend.write_checkpoint(&task.to_string(), bytes)?)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use weir_state::sled::SledOptions;

    fn task(p: u32) -> TaskId {
        TaskId {
            subtopology: 1,
            partition: p,
        }
    }

    fn checkpoint() -> Checkpoint {
        let mut offsets = HashMap::new();
        offsets.insert(("in".to_string(), 3), 42);
        offsets.insert(("other".to_string(), 3), 7);
        Checkpoint {
            offsets,
            stream_time: -5,
            changelog_end: Some(12),
            generation: 4,
        }
    }

    #[test]
    fn in_memory_checkpoints_round_trip() {
        let c = InMemoryCheckpoints::default();
        assert_eq!(c.load(task(3)).unwrap(), None);
        c.save(task(3), &checkpoint()).unwrap();
        assert_eq!(c.load(task(3)).unwrap(), Some(checkpoint()));
    }

    #[test]
    fn sled_checkpoints_survive_reopening_and_commit_as_a_batch() {
        let dir = std::env::temp_dir().join(format!("weir-checkpoints-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        {
            let c = SledCheckpoints::new(SledBackend::open(&dir, SledOptions::default()).unwrap());
            assert_eq!(c.load(task(3)).unwrap(), None);
            c.save(task(3), &checkpoint()).unwrap();
            let mut later = checkpoint();
            later.stream_time = 100;
            c.commit(task(4), &later, Vec::new()).unwrap();
        }
        let c = SledCheckpoints::new(SledBackend::open(&dir, SledOptions::default()).unwrap());
        assert_eq!(c.load(task(3)).unwrap(), Some(checkpoint()));
        assert_eq!(c.load(task(4)).unwrap().unwrap().stream_time, 100);
        c.backend()
            .write_checkpoint("1_5", b"not json".to_vec())
            .unwrap();
        assert!(c
            .load(task(5))
            .unwrap_err()
            .to_string()
            .contains("unreadable"));
        drop(c);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
