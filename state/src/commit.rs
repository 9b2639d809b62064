//! Atomic commits of a task's stores, whatever the backend. A store that buffers its writes
//! ([`StagedStore`]) stages them for a commit ([`StagedWrites`]); the backend then applies every
//! stage of a task together with the task's checkpoint, or none of them
//! ([`crate::sled::SledBackend::commit_staged`]). Stores that write through (the in-memory ones)
//! have nothing to stage.

use crate::sled::{Committable, PendingBatch, RawChange};
use crate::StateResult;

/// The writes a store buffered since its last commit, staged to join an atomic commit.
#[derive(Debug)]
pub struct StagedWrites(pub(crate) PendingBatch);

impl StagedWrites {
    /// The raw writes, in order: what a changelog records.
    pub fn changes(&self) -> &[RawChange] {
        self.0.changes()
    }
}

/// A store whose writes reach its backend only through commits.
pub trait StagedStore: Send {
    /// Stages the writes buffered since the last commit without dropping them (reads keep
    /// seeing them); `None` when there are none.
    fn stage(&mut self) -> StateResult<Option<StagedWrites>>;
    /// The staged writes are durable: the store may drop its buffer.
    fn stage_committed(&mut self);
    /// Never write early: buffered writes reach the backend only through commits, so state
    /// never gets ahead of the committed offsets.
    fn defer_flushes(&mut self);
    /// How many writes are buffered for the next commit (the runtime commits early when a
    /// task's stores hold too many: a commit's size is what it costs in memory).
    fn buffered(&self) -> usize;
}

impl<T: Committable> StagedStore for T {
    fn stage(&mut self) -> StateResult<Option<StagedWrites>> {
        Ok(self.prepare_batch()?.map(StagedWrites))
    }
    fn stage_committed(&mut self) {
        self.batch_committed();
    }
    fn defer_flushes(&mut self) {
        Committable::defer_flushes(self);
    }
    fn buffered(&self) -> usize {
        Committable::buffered(self)
    }
}

impl crate::sled::SledBackend {
    /// Applies `staged` and the checkpoint `key = value` in one transaction, then makes them
    /// durable: either all of them are on disk, or none.
    pub fn commit_staged(
        &self,
        staged: Vec<StagedWrites>,
        key: &str,
        value: Vec<u8>,
    ) -> StateResult<()> {
        let mut batches: Vec<PendingBatch> = staged.into_iter().map(|s| s.0).collect();
        batches.push(self.checkpoint_batch(key, value)?);
        self.commit_atomically(batches)
    }
}
