//! Read-ahead for file partitions: a reader thread splits lines (or CSV records) into batches of
//! records while the task processes the previous ones, so file I/O and parsing leave the task's
//! thread.

use async_trait::async_trait;
use std::collections::VecDeque;
use tokio::sync::mpsc;
use weir_topology::{connect::PartitionReader, connect::Polled, connect::RawRecord, Result};

/// Lines per batch handed from the reader thread to the task.
const BATCH_LINES: usize = 4096;
/// Batches the reader thread may be ahead (bounds memory: a few MB of lines).
const BATCHES_AHEAD: usize = 4;

/// What the reader thread runs: a file read in batches of records.
pub(crate) trait BatchRead: Send + 'static {
    /// Up to `max_records` records, and whether the end of the file was reached.
    fn read_batch(&mut self, max_records: usize) -> Result<(Vec<RawRecord>, bool)>;
    /// The file's name, for the reader thread's name.
    fn file_name(&self) -> String;
}

/// A partition reader fed by a thread that reads ahead of it.
pub(crate) struct ReadAhead {
    /// Batches of records, each with whether it is the file's last.
    batches: mpsc::Receiver<Result<(Vec<RawRecord>, bool)>>,
    pending: VecDeque<RawRecord>,
    ended: bool,
}

impl ReadAhead {
    /// Starts a thread that reads `reader` to its end (or until this reader is dropped).
    pub(crate) fn spawn(mut reader: impl BatchRead) -> Result<Self> {
        let (tx, rx) = mpsc::channel(BATCHES_AHEAD);
        let name = format!("weir-read-{}", reader.file_name());
        std::thread::Builder::new()
            .name(name)
            .spawn(move || loop {
                let batch = reader.read_batch(BATCH_LINES);
                let last = !matches!(&batch, Ok((_, false)));
                // A send fails only when the task dropped its reader: stop reading then.
                if tx.blocking_send(batch).is_err() || last {
                    break;
                }
            })
            .map_err(|e| weir_topology::TopologyError::start("the file read-ahead thread", e))?;
        Ok(Self {
            batches: rx,
            pending: VecDeque::new(),
            ended: false,
        })
    }
}

#[async_trait]
impl PartitionReader for ReadAhead {
    async fn poll(&mut self, max_records: usize, _max_wait_ms: u64) -> Result<Polled> {
        if self.pending.is_empty() && !self.ended {
            match self.batches.recv().await {
                Some(batch) => {
                    let (records, last) = batch?;
                    self.pending = records.into();
                    self.ended = last;
                }
                None => self.ended = true,
            }
        }
        let records: Vec<RawRecord> = if self.pending.len() <= max_records {
            std::mem::take(&mut self.pending).into()
        } else {
            self.pending.drain(..max_records).collect()
        };
        let end_of_stream = self.ended && self.pending.is_empty();
        Ok(Polled {
            records,
            end_of_stream,
        })
    }
}
