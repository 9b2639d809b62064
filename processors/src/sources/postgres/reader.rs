//! The partition reader the task polls: it takes the fetcher's batches from the channel,
//! waiting at most the poll's wait for the first, and hands out up to the records asked for.

use super::fetcher::Handover;
use async_trait::async_trait;
use std::collections::VecDeque;
use std::time::Duration;
use tokio::sync::mpsc;
use weir_topology::connect::{PartitionReader, Polled, RawRecord};
use weir_topology::{Result, TopologyError};

/// Reads the batches of one fetcher.
pub(crate) struct PostgresReader {
    name: String,
    batches: mpsc::Receiver<Handover>,
    pending: VecDeque<RawRecord>,
    /// The bulk load is complete: nothing follows `pending`.
    ended: bool,
}

impl PostgresReader {
    /// A reader of the batches from `batches`; `name` names the source in errors.
    pub(crate) fn new(name: String, batches: mpsc::Receiver<Handover>) -> Self {
        Self {
            name,
            batches,
            pending: VecDeque::new(),
            ended: false,
        }
    }

    /// Takes one handover into `pending`.
    fn accept(&mut self, handover: Option<Handover>) -> Result<()> {
        match handover {
            Some(Ok(batch)) => {
                self.pending.extend(batch.records);
                self.ended = batch.last;
                Ok(())
            }
            Some(Err(e)) => Err(TopologyError::connector(&self.name, e)),
            None => Err(TopologyError::connector(
                &self.name,
                "the PostgreSQL fetcher stopped without a reason",
            )),
        }
    }
}

#[async_trait]
impl PartitionReader for PostgresReader {
    async fn poll(&mut self, max_records: usize, max_wait_ms: u64) -> Result<Polled> {
        if self.pending.is_empty() && !self.ended {
            let wait = Duration::from_millis(max_wait_ms);
            match tokio::time::timeout(wait, self.batches.recv()).await {
                Ok(handover) => self.accept(handover)?,
                Err(_elapsed) => return Ok(Polled::default()),
            }
        }
        // Batches already waiting are taken too, up to the records asked for.
        while self.pending.len() < max_records && !self.ended {
            match self.batches.try_recv() {
                Ok(handover) => self.accept(Some(handover))?,
                Err(_) => break,
            }
        }
        let take = self.pending.len().min(max_records);
        let records: Vec<RawRecord> = self.pending.drain(..take).collect();
        Ok(Polled {
            end_of_stream: self.ended && self.pending.is_empty(),
            records,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::super::error::PostgresError;
    use super::super::fetcher::Batch;
    use super::*;

    fn record(offset: i64) -> RawRecord {
        RawRecord {
            key: None,
            value: Some(b"{}".to_vec().into()),
            timestamp: 0,
            headers: Vec::new(),
            offset,
        }
    }

    #[tokio::test]
    async fn batches_are_handed_out_in_order_up_to_the_limit_then_the_end() {
        let (tx, rx) = mpsc::channel(4);
        let mut reader = PostgresReader::new("pg".into(), rx);
        assert!(reader.poll(10, 1).await.unwrap().records.is_empty());
        tx.send(Ok(Batch {
            records: (0..3).map(record).collect(),
            last: false,
        }))
        .await
        .unwrap();
        tx.send(Ok(Batch {
            records: (3..5).map(record).collect(),
            last: true,
        }))
        .await
        .unwrap();
        let first = reader.poll(4, 100).await.unwrap();
        let offsets: Vec<i64> = first.records.iter().map(|r| r.offset).collect();
        assert_eq!(offsets, [0, 1, 2, 3]);
        assert!(!first.end_of_stream);
        let rest = reader.poll(4, 100).await.unwrap();
        assert_eq!(rest.records.len(), 1);
        assert!(rest.end_of_stream);
    }

    #[tokio::test]
    async fn a_fetcher_error_fails_the_poll_with_its_cause() {
        let (tx, rx) = mpsc::channel(4);
        let mut reader = PostgresReader::new("pg:t".into(), rx);
        tx.send(Err(PostgresError::config("x", "broken")))
            .await
            .unwrap();
        let err = reader.poll(10, 100).await.unwrap_err();
        assert!(err.to_string().contains("pg:t"), "{err}");
        let cause = std::error::Error::source(&err).unwrap().to_string();
        assert!(cause.contains("broken"), "{cause}");
        drop(tx);
        assert!(reader.poll(10, 100).await.is_err());
    }
}
