//! Commit, close and abort. A commit flushes the nodes (caches forward their results), hands
//! sink records over and waits until the sinks hold them, then makes the stores' changes and
//! the input offsets durable together through the task's
//! [`Committer`](crate::runtime::persist::commit::Committer); only then are the nodes
//! told (exactly-once sinks publish what they staged), and then the readers (a source that
//! holds something until its records are committed releases it). A task that failed is
//! aborted: it never commits past a record it did not finish.

use super::step::StepLimits;
use super::Task;
use crate::error::Result;
use crate::runtime::persist::checkpoint::Checkpoint;

impl Task {
    /// Whether a commit is due: the commit interval has passed since the last commit, or the
    /// stores buffer as many writes as a commit may hold.
    pub fn commit_due(&self, limits: &StepLimits) -> bool {
        let now = self.state.clock.now_ms();
        let interval = limits
            .commit_interval_ms
            .is_some_and(|ms| now - self.last_commit_wall >= ms);
        interval
            || limits
                .max_buffered_writes
                .is_some_and(|max| self.buffered_writes() >= max)
    }

    /// How many writes the task's stores buffer for the next commit.
    pub fn buffered_writes(&self) -> usize {
        self.state
            .stores
            .values()
            .map(|s| s.buffered_writes())
            .sum()
    }

    /// Commits everything processed so far (see the module docs).
    pub async fn commit(&mut self) -> Result<()> {
        self.flush_nodes()?;
        self.drain_outboxes().await?;
        self.flush_sinks().await?;
        let mut checkpoint = Checkpoint {
            offsets: self
                .sources
                .iter()
                .map(|s| ((s.topic.to_string(), s.partition), s.next_offset))
                .collect(),
            stream_time: self.state.stream_time,
            changelog_end: None,
            generation: self.state.generation + 1,
        };
        self.committer
            .commit(self.id, &self.state.stores, &mut checkpoint)
            .await?;
        self.state.generation = checkpoint.generation;
        self.state.metrics.add_commit();
        self.last_commit_wall = self.state.clock.now_ms();
        self.each_node("committed", |_, node, arena, state| {
            node.committed(arena, state)
        })?;
        for source in &mut self.sources {
            source.reader.committed(source.next_offset).await?;
        }
        Ok(())
    }

    /// Commits, then closes every node and hands on what closing produced.
    pub async fn close(&mut self) -> Result<()> {
        self.commit().await?;
        self.each_node("close", |_, node, arena, state| node.close(arena, state))?;
        self.drain_outboxes().await?;
        self.flush_sinks().await
    }

    /// Gives up a task that failed, without committing: its stores' uncommitted changes, its
    /// nodes' buffers and its sinks' staged outputs are dropped, and a restart resumes from the
    /// last commit, reprocessing every record after it.
    pub fn abort(self) {
        tracing::warn!(task = %self.id, "task failed: closing without a commit");
    }
}
