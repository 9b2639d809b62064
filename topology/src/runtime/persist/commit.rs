//! One commit interface for every store backend. A [`Committer`] makes a task's store changes
//! and its [`Checkpoint`] (input offsets, stream time) durable together:
//! - in memory ([`MemoryCommitter`]): the stores are flushed, then the checkpoint is saved to the
//!   configured [`CheckpointStore`]; offsets are only restored for tasks without stores, whose
//!   state cannot be lost;
//! - on sled ([`SledCommitter`]): every store's buffered writes and the checkpoint go into one
//!   atomic transaction, logged first to the changelog topic when changelogs are on.

use super::changelog::Changelog;
use super::checkpoint::{Checkpoint, CheckpointStore, SledCheckpoints};
use crate::error::Result;
use crate::processor::TaskId;
use crate::runtime::io::broker::Broker;
use crate::stores::StoreHandle;
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::Arc;
use weir_state::{StateError, StoreBackend};

/// Where and how a task's commits become durable.
#[async_trait]
pub(crate) trait Committer: Send {
    /// Prepares a store the task opened (sled: its writes reach disk only through commits).
    fn adopt(&self, store: &StoreHandle);
    /// Makes the stores' changes and `checkpoint` durable together; fills in what the backend
    /// adds to the checkpoint (the changelog's end).
    async fn commit(
        &mut self,
        task: TaskId,
        stores: &HashMap<String, StoreHandle>,
        checkpoint: &mut Checkpoint,
    ) -> Result<()>;
}

/// What a task needs to find its last commit.
pub(crate) struct CommitEnv<'a> {
    pub backend: &'a StoreBackend,
    pub checkpoints: Arc<dyn CheckpointStore>,
    /// The broker and topic of the sub-topology's changelog, when changelogs are on.
    pub changelog: Option<(Arc<dyn Broker>, String)>,
}

/// The committer of task `id` (owning `stores`) and the checkpoint it resumes from, if any.
pub(crate) async fn restore(
    env: CommitEnv<'_>,
    id: TaskId,
    stores: &[String],
) -> Result<(Box<dyn Committer>, Option<Checkpoint>)> {
    match env.backend {
        StoreBackend::Sled(backend) => {
            let (committer, loaded) = SledCommitter::restore(
                SledCheckpoints::new(backend.clone()),
                env.changelog,
                id,
                stores,
            )
            .await?;
            Ok((Box::new(committer), loaded))
        }
        StoreBackend::InMemory => {
            // Offsets are only worth restoring together with the state they belong to: a
            // stateful task with stores in memory re-reads its input.
            let loaded = if stores.is_empty() {
                env.checkpoints.load(id)?
            } else {
                None
            };
            let committer = MemoryCommitter {
                checkpoints: env.checkpoints,
            };
            Ok((Box::new(committer), loaded))
        }
    }
}

/// Commits of in-memory stores: flush, then save the checkpoint.
pub(crate) struct MemoryCommitter {
    checkpoints: Arc<dyn CheckpointStore>,
}

#[async_trait]
impl Committer for MemoryCommitter {
    fn adopt(&self, _store: &StoreHandle) {}

    async fn commit(
        &mut self,
        task: TaskId,
        stores: &HashMap<String, StoreHandle>,
        checkpoint: &mut Checkpoint,
    ) -> Result<()> {
        for store in stores.values() {
            store.flush()?;
        }
        self.checkpoints.save(task, checkpoint)
    }
}

/// Commits of sled stores: one atomic transaction over the stores and the checkpoint (which
/// lives in the same database, whatever `StreamsConfig::checkpoints` says), so state and
/// offsets never disagree.
pub(crate) struct SledCommitter {
    checkpoints: SledCheckpoints,
    /// The task's changelog partition, when changelogs are on.
    changelog: Option<Changelog>,
    /// Where the changelog ended after the last logged commit.
    changelog_end: Option<i64>,
    /// The offsets of the last commit logged to the changelog.
    logged_offsets: Option<HashMap<(String, u32), i64>>,
}

impl SledCommitter {
    async fn restore(
        checkpoints: SledCheckpoints,
        changelog: Option<(Arc<dyn Broker>, String)>,
        id: TaskId,
        stores: &[String],
    ) -> Result<(Self, Option<Checkpoint>)> {
        let mut loaded = checkpoints.load(id)?;
        if loaded.is_some() {
            check_stores_present(&checkpoints, id, stores)?;
        }
        let changelog = match changelog {
            Some((broker, topic)) => {
                let log = Changelog::new(broker, topic, id.partition);
                let recovered = log
                    .recover(checkpoints.backend(), stores, loaded.clone())
                    .await?;
                if recovered != loaded {
                    if let Some(c) = &recovered {
                        checkpoints.save(id, c)?;
                    }
                    loaded = recovered;
                }
                Some(log)
            }
            None => None,
        };
        let committer = Self {
            checkpoints,
            changelog,
            changelog_end: loaded.as_ref().and_then(|c| c.changelog_end),
            logged_offsets: loaded.as_ref().map(|c| c.offsets.clone()),
        };
        Ok((committer, loaded))
    }
}

#[async_trait]
impl Committer for SledCommitter {
    fn adopt(&self, store: &StoreHandle) {
        store.defer_flushes();
    }

    async fn commit(
        &mut self,
        task: TaskId,
        stores: &HashMap<String, StoreHandle>,
        checkpoint: &mut Checkpoint,
    ) -> Result<()> {
        checkpoint.changelog_end = self.changelog_end;
        let mut staged = Vec::with_capacity(stores.len());
        let mut names = Vec::with_capacity(stores.len());
        for (name, store) in stores {
            match store.stage()? {
                Some(writes) => {
                    names.push(name.as_str());
                    staged.push(writes);
                }
                // A store that writes through (none on sled today): flush it on its own first.
                None => store.flush()?,
            }
        }
        // The changelog first: what is committed locally is always in the log too.
        if let Some(log) = &self.changelog {
            if !staged.is_empty() || self.logged_offsets.as_ref() != Some(&checkpoint.offsets) {
                let writes: Vec<_> = names
                    .iter()
                    .zip(&staged)
                    .map(|(n, b)| (*n, b.changes()))
                    .collect();
                let end = log.log(&writes, checkpoint).await?;
                checkpoint.changelog_end = Some(end);
                self.changelog_end = Some(end);
                self.logged_offsets = Some(checkpoint.offsets.clone());
            }
        }
        self.checkpoints.commit(task, checkpoint, staged)?;
        for store in stores.values() {
            store.stage_committed();
        }
        Ok(())
    }
}

/// A task that committed offsets before must find every one of its stores in the state
/// directory: a missing one means the topology changed (a store was renamed or added), and
/// resuming from the offsets would silently start that store empty.
fn check_stores_present(cp: &SledCheckpoints, id: TaskId, stores: &[String]) -> Result<()> {
    let backend = cp.backend();
    for name in stores {
        if !backend.has_store(name, id.partition)? {
            let found = backend.stores_of_partition(id.partition)?;
            return Err(StateError::Incompatible {
                store: name.clone(),
                reason: format!(
                    "the state directory holds committed offsets for task {id} but no store \
                     `{name}` (it has: {}); was a store renamed or the topology changed? \
                     Use a fresh state directory or the previous topology",
                    if found.is_empty() {
                        "none".to_string()
                    } else {
                        found.join(", ")
                    }
                ),
            }
            .into());
        }
    }
    Ok(())
}
