//! Committed positions: per task, the next offset of each input partition and the stream time.

use crate::error::Result;
use crate::processor::TaskId;
use crate::record::Timestamp;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::Arc;

/// What a task commits besides its stores.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Checkpoint {
    /// `(topic, partition) -> next offset to read`.
    pub offsets: HashMap<(String, u32), i64>,
    /// The task's stream time at the commit.
    pub stream_time: Timestamp,
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
