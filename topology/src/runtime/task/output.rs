//! A task's outputs: records its sink nodes serialized into outboxes, handed to the sinks'
//! connectors (and bad records to the dead-letter topic).

use super::Task;
use crate::error::{Result, TopologyError};

impl Task {
    /// Records waiting in sink outboxes.
    pub fn pending_output(&self) -> usize {
        self.state
            .outboxes
            .iter()
            .map(|o| o.records.len())
            .sum::<usize>()
            + self.state.dead_letters.len()
    }

    /// Hands buffered sink records to their connectors. A failure stops the task before its
    /// next commit, so the records are read and produced again after a restart.
    pub async fn drain_outboxes(&mut self) -> Result<()> {
        for (i, outbox) in self.state.outboxes.iter_mut().enumerate() {
            if outbox.records.is_empty() {
                continue;
            }
            let records = std::mem::take(&mut outbox.records);
            self.sinks[i].write(records).await?;
        }
        if !self.state.dead_letters.is_empty() {
            let records = std::mem::take(&mut self.state.dead_letters);
            match &self.dead_letter {
                Some(dl) => dl.write(records).await?,
                None => {
                    return Err(TopologyError::config(
                        "error_handler",
                        "dead-letter handler without a dead-letter topic",
                    ))
                }
            }
        }
        Ok(())
    }

    /// Makes everything handed to the sinks durable (at-least-once outputs).
    pub(super) async fn flush_sinks(&mut self) -> Result<()> {
        for s in &self.sinks {
            s.flush().await?;
        }
        if let Some(dl) = &self.dead_letter {
            dl.flush().await?;
        }
        Ok(())
    }
}
