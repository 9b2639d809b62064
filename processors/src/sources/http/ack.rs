//! [`CommitAcknowledger`]: the processor that answers HTTP requests once the task committed
//! past their records.
//!
//! A source connector's reader is not told when the task commits (the `PartitionReader`
//! trait has no such call), but a processor is: [`Processor::committed`] runs after each
//! durable commit. The acknowledger, placed right after the HTTP source, reads the task's
//! checkpoint at that moment (from the checkpoint store [`HttpSource::track_commits`] made sure
//! of) and releases the records before the committed offset of each HTTP topic the task reads:
//! exactly the records whose processing, state changes and outputs the commit made durable,
//! including records the source's serde could not read (the error handler skipped them, and
//! the commit moved past them).
//!
//! [`HttpSource::track_commits`]: super::HttpSource::track_commits

use super::connector::connector_name;
use super::source::SourceShared;
use std::marker::PhantomData;
use std::sync::Arc;
use weir_topology::{Processor, ProcessorContext, Record, Result, TopologyError};

/// Passes records on unchanged and, after each commit of its task, answers the HTTP requests
/// whose records the commit covers. Attach it with `process_values(source.acknowledger(), &[])`
/// right after the HTTP source (in the same sub-topology).
pub struct CommitAcknowledger<K, V> {
    shared: Arc<SourceShared>,
    _records: PhantomData<fn(K, V)>,
}

impl<K, V> CommitAcknowledger<K, V> {
    pub(crate) fn new(shared: Arc<SourceShared>) -> Self {
        Self {
            shared,
            _records: PhantomData,
        }
    }
}

impl<K: Send + 'static, V: Send + 'static> Processor<K, V> for CommitAcknowledger<K, V> {
    fn init(&mut self, ctx: &mut dyn ProcessorContext<K, V>) -> Result<()> {
        if self.shared.checkpoints().is_none() {
            return Err(TopologyError::config(
                ctx.node_name(),
                "the HTTP source cannot see the application's commits: pass the StreamsConfig \
                 through HttpSource::track_commits (after state_dir)",
            ));
        }
        self.shared.acknowledger_started();
        Ok(())
    }

    fn process(
        &mut self,
        record: Record<K, V>,
        ctx: &mut dyn ProcessorContext<K, V>,
    ) -> Result<()> {
        ctx.forward(record)
    }

    fn committed(&mut self, ctx: &mut dyn ProcessorContext<K, V>) -> Result<()> {
        let Some(store) = self.shared.checkpoints() else {
            return Ok(());
        };
        let task = ctx.task_id();
        let Some(checkpoint) = store.load(task)? else {
            return Err(TopologyError::config(
                ctx.node_name(),
                format!(
                    "task {task} committed, but the checkpoint store HttpSource::track_commits \
                     was given holds nothing for it: call track_commits last, after state_dir"
                ),
            ));
        };
        let mut reads_http = false;
        for log in self.shared.topics() {
            let key = (connector_name(log.name()), task.partition);
            if let Some(&next) = checkpoint.offsets.get(&key) {
                log.committed(task.partition, next);
                reads_http = true;
            }
        }
        if !reads_http {
            return Err(TopologyError::config(
                ctx.node_name(),
                format!(
                    "task {task} reads no HTTP topic: attach the acknowledger right after \
                     Source::connector(http.topic(..)), before any repartition"
                ),
            ));
        }
        Ok(())
    }
}
