//! A task's inputs: fetching from each source's reader, decoding large batches ahead on helper
//! threads, and picking the next record (the oldest head across inputs) to process.

use super::decode::{BatchDecoder, CHUNK};
use super::Task;
use crate::error::{Result, TopologyError};
use crate::processor::PunctuationType;
use crate::runtime::app::finished::FinishedTopics;
use crate::runtime::io::broker::{PartitionReader, RawRecord, SourceConnector};
use crate::runtime::io::endpoints::SourceInput;
use std::collections::VecDeque;
use std::sync::Arc;

/// One input partition of a task and the records fetched from it.
pub(super) struct SourceBinding {
    /// The source node, in the task's arena.
    pub node: usize,
    pub topic: Arc<str>,
    pub partition: u32,
    pub reader: Box<dyn PartitionReader>,
    /// Records ready to process (decoded ahead, or to be decoded when processed).
    pub buffer: VecDeque<RawRecord>,
    /// A fetched batch to decode ahead before it joins `buffer` (see [`super::decode`]).
    pub incoming: Vec<RawRecord>,
    /// The source node's decoding, when batches are decoded ahead.
    pub decoder: Option<Arc<dyn BatchDecoder>>,
    /// The offset after the last record whose processing finished: what a commit records.
    pub next_offset: i64,
    /// The offset after the last record fetched (where the reader is).
    pub fetched_to: i64,
    /// A bounded source's end: records from this offset on are not read.
    pub stop_at: Option<i64>,
    /// A source that ends when idle: how long without a record, ms.
    pub idle_ms: Option<i64>,
    /// When the last record was fetched (or the task opened), wall-clock ms.
    pub last_record_wall: i64,
    /// An internal topic of a broker whose topics never end: once its writers have finished
    /// (in this process), the source reads up to the topic's end offset then, and ends.
    pub closes_with: Option<(Arc<FinishedTopics>, Arc<dyn SourceConnector>)>,
    pub ended: bool,
    /// A partition of a global table's topic (read by every task; does not keep it running).
    pub global: bool,
    /// A global table's partition is restoring until its records up to this offset (its end
    /// when the task opened) are processed: until then the task processes nothing else.
    pub restore_to: Option<i64>,
    /// Since when (wall clock, ms) this input has had nothing buffered (see `wait.rs`).
    pub empty_since: Option<i64>,
}

impl SourceBinding {
    /// Whether this global table partition still has records to process from before the task
    /// opened.
    pub fn restoring(&self) -> bool {
        self.restore_to
            .is_some_and(|end| self.next_offset < end && !self.ended)
    }

    /// Records fetched and not yet processed.
    pub fn pending(&self) -> usize {
        self.buffer.len() + self.incoming.len()
    }

    /// Whether a bounded source has fetched everything it reads: its end offset is reached,
    /// or no record came for its idle time (at wall-clock time `now`).
    fn bound_reached(&self, now: i64) -> bool {
        self.stop_at.is_some_and(|end| self.fetched_to >= end)
            || self
                .idle_ms
                .is_some_and(|idle| now.saturating_sub(self.last_record_wall) >= idle)
    }

    /// For an internal topic that never ends on its own: once its writers have finished, the
    /// source stops at the topic's end offset.
    async fn stop_if_closed(&mut self) -> Result<()> {
        let Some((finished, conn)) = &self.closes_with else {
            return Ok(());
        };
        if !finished.is_closed(&self.topic) {
            return Ok(());
        }
        if let Some(end) = conn.end_offset(self.partition).await? {
            self.stop_at = Some(self.stop_at.map_or(end, |s| s.min(end)));
        }
        self.closes_with = None;
        Ok(())
    }

    /// Keeps the records of a poll that lie before the source's end, and notes how far the
    /// reader got and when a record last arrived.
    fn take_polled(&mut self, mut records: Vec<RawRecord>, now: i64) -> Vec<RawRecord> {
        if let Some(last) = records.last() {
            self.fetched_to = self.fetched_to.max(last.offset + 1);
            self.last_record_wall = now;
        }
        if let Some(end) = self.stop_at {
            records.retain(|r| r.offset < end);
        }
        records
    }
}

impl Task {
    /// Reads up to `max_records` from each source whose buffer is low. Waits up to `max_wait_ms`
    /// only when nothing at all is buffered. Returns how many records arrived. With decoding
    /// ahead, a batch large enough to share goes to `incoming` (one batch at a time), to be
    /// decoded while the records before it are processed.
    pub(super) async fn fetch(&mut self, max_records: usize, max_wait_ms: u64) -> Result<usize> {
        let buffered = self.buffered();
        let open = self.sources.iter().filter(|s| !s.ended).count();
        let mut got = 0;
        let now = self.state.clock.now_ms();
        // Holding back for an empty input: give it a short wait of its own.
        let holding = self.holding(now);
        for s in self.sources.iter_mut().filter(|s| !s.ended) {
            s.stop_if_closed().await?;
            if s.bound_reached(now) {
                // A bounded source is done once what it fetched is processed.
                s.ended = s.pending() == 0;
                continue;
            }
            if !s.incoming.is_empty() || s.buffer.len() >= max_records {
                continue;
            }
            let wait = if buffered == 0 && open == 1 {
                max_wait_ms
            } else if holding && s.pending() == 0 {
                max_wait_ms.min(5)
            } else {
                0
            };
            let polled = s.reader.poll(max_records, wait).await?;
            if let Some(position) = s.reader.position() {
                s.fetched_to = s.fetched_to.max(position);
            }
            let records = s.take_polled(polled.records, self.state.clock.now_ms());
            got += records.len();
            if s.decoder.is_some() && records.len() >= 2 * CHUNK {
                s.incoming = records;
            } else {
                s.buffer.extend(records);
            }
            if polled.end_of_stream && s.pending() == 0 {
                s.ended = true;
            }
        }
        if got > 0 {
            self.last_input_wall = self.state.clock.now_ms();
        } else if buffered == 0 && open != 1 && max_wait_ms > 0 {
            // (No open source at all: a pattern source waiting for its first topic.)
            tokio::time::sleep(std::time::Duration::from_millis(max_wait_ms.min(5))).await;
        }
        Ok(got)
    }

    /// Records fetched and not yet processed, over all inputs.
    pub(super) fn buffered(&self) -> usize {
        self.sources.iter().map(SourceBinding::pending).sum()
    }

    /// Whether a source decodes ahead and has room for its next batch: fetching it now (without
    /// waiting) lets it be decoded while the task processes what it has.
    pub(super) fn can_fetch_ahead(&self) -> bool {
        self.sources
            .iter()
            .any(|s| s.decoder.is_some() && !s.ended && s.incoming.is_empty())
    }

    /// True when every source is finite and fully processed (global tables' partitions, which
    /// every task reads, do not keep a task running).
    pub fn input_ended(&self) -> bool {
        let mut own = self.sources.iter().filter(|s| !s.global).peekable();
        own.peek().is_some() && own.all(|s| s.ended && s.pending() == 0)
    }

    /// Processes up to `max` fetched records, oldest head first across sources. A source's
    /// incoming batch is decoded by helper threads while the task processes what is ready, and
    /// then by the task too.
    pub(super) fn process_buffered(&mut self, max: usize) -> Result<usize> {
        let waiting = self.sources.iter().position(|s| !s.incoming.is_empty());
        let Some(i) = waiting else {
            return self.process_ready(max, None);
        };
        let s = &mut self.sources[i];
        let incoming = std::mem::take(&mut s.incoming);
        let Some(decoder) = s.decoder.clone() else {
            s.buffer.extend(incoming);
            return self.process_ready(max, None);
        };
        let mut done = Ok(0);
        let decoded = decoder.decode(&incoming, self.decode_threads, &mut || {
            done = self.process_ready(max, Some(i));
        });
        self.accept_incoming(i, incoming, decoded);
        done
    }

    /// Hands a source node what was decoded of its incoming batch, and the batch to its buffer.
    fn accept_incoming(
        &mut self,
        source: usize,
        records: Vec<RawRecord>,
        decoded: Box<dyn std::any::Any + Send>,
    ) {
        let Some(s) = self.sources.get_mut(source) else {
            return;
        };
        if let Some(cell) = self.arena.get(s.node) {
            if let Ok(mut node) = cell.try_borrow_mut() {
                node.accept_decoded(decoded);
            }
        }
        s.buffer.extend(records);
    }

    /// The input whose next record is the oldest (the only one, with a single input).
    fn pick(&self) -> Option<usize> {
        if let [only] = self.sources.as_slice() {
            return (!only.buffer.is_empty()).then_some(0);
        }
        // While a global table restores, only its partitions are processed.
        let restoring = self.sources.iter().any(SourceBinding::restoring);
        self.sources
            .iter()
            .enumerate()
            .filter(|(_, s)| !restoring || s.restoring())
            .filter_map(|(i, s)| s.buffer.front().map(|r| (r.timestamp, i)))
            .min()
            .map(|(_, i)| i)
    }

    /// Processes up to `max` ready records, oldest head first across sources; stops early when
    /// source `waiting` (whose next records are being decoded) runs out. A record's offset
    /// counts as done only once its processing finished: a failure leaves it to be read again.
    fn process_ready(&mut self, max: usize, waiting: Option<usize>) -> Result<usize> {
        let mut done = 0;
        let now = self.state.clock.now_ms();
        while done < max {
            if waiting.is_some_and(|i| self.sources[i].buffer.is_empty()) {
                break;
            }
            if self.holding(now) {
                break;
            }
            let Some(i) = self.pick() else { break };
            let s = &mut self.sources[i];
            let Some(raw) = s.buffer.pop_front() else {
                break;
            };
            let offset = raw.offset;
            let node = s.node;
            let mut input = Some(SourceInput {
                raw,
                topic: s.topic.clone(),
                partition: s.partition,
            });
            self.dispatch(node, &mut input)?;
            self.sources[i].next_offset = offset + 1;
            self.punctuate(PunctuationType::StreamTime, self.state.stream_time)?;
            done += 1;
        }
        Ok(done)
    }

    fn dispatch(&mut self, node: usize, input: &mut dyn std::any::Any) -> Result<()> {
        super::node::dispatch(&self.arena, &mut self.state, node, input).map_err(|e| {
            TopologyError::Task {
                task: self.id.to_string(),
                source: Box::new(e),
            }
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::runtime::io::broker::{Broker, StartFrom};
    use crate::MemoryBroker;

    async fn binding(stop_at: Option<i64>, idle_ms: Option<i64>) -> SourceBinding {
        let broker = MemoryBroker::new(1);
        broker.create_topic("t", 1);
        SourceBinding {
            node: 0,
            topic: Arc::from("t"),
            partition: 0,
            reader: broker.reader("t", 0, StartFrom::Earliest).await.unwrap(),
            buffer: VecDeque::new(),
            incoming: Vec::new(),
            decoder: None,
            next_offset: 2,
            fetched_to: 2,
            stop_at,
            idle_ms,
            last_record_wall: 1_000,
            closes_with: None,
            ended: false,
            global: false,
            restore_to: None,
            empty_since: None,
        }
    }

    #[tokio::test]
    async fn a_global_partition_restores_until_its_start_end_is_processed() {
        let mut b = binding(None, None).await;
        assert!(!b.restoring(), "not a global table's partition");
        b.restore_to = Some(4);
        assert!(b.restoring(), "offset 2 of 4");
        b.next_offset = 4;
        assert!(!b.restoring(), "caught up");
        b.next_offset = 3;
        b.ended = true;
        assert!(
            !b.restoring(),
            "an ended partition has nothing left to restore"
        );
    }

    fn raw(offsets: std::ops::Range<i64>) -> Vec<RawRecord> {
        offsets
            .map(|offset| RawRecord {
                key: None,
                value: Some(vec![1].into()),
                timestamp: offset,
                headers: vec![],
                offset,
            })
            .collect()
    }

    #[tokio::test]
    async fn a_bounded_source_keeps_the_records_before_its_end_and_then_ends() {
        let mut s = binding(Some(6), None).await;
        assert!(!s.bound_reached(i64::MAX));
        let kept = s.take_polled(raw(2..5), 1_500);
        assert_eq!(kept.len(), 3);
        assert_eq!((s.fetched_to, s.last_record_wall), (5, 1_500));
        assert!(!s.bound_reached(1_500));
        // A producer wrote on after the start: only offset 5 is the source's.
        let kept = s.take_polled(raw(5..9), 1_600);
        assert_eq!(kept.iter().map(|r| r.offset).collect::<Vec<_>>(), [5]);
        assert_eq!(s.fetched_to, 9);
        assert!(s.bound_reached(1_600));
        // An empty poll changes nothing.
        assert!(s.take_polled(Vec::new(), 9_999).is_empty());
        assert_eq!(s.last_record_wall, 1_600);
    }

    #[tokio::test]
    async fn an_idle_source_ends_after_its_idle_time_without_a_record() {
        let mut s = binding(None, Some(500)).await;
        assert!(!s.bound_reached(1_499));
        assert!(s.bound_reached(1_500));
        s.take_polled(raw(2..3), 1_400);
        assert!(!s.bound_reached(1_899));
        assert!(s.bound_reached(1_900));
        let unbounded = binding(None, None).await;
        assert!(!unbounded.bound_reached(i64::MAX));
    }

    #[tokio::test]
    async fn a_source_at_or_past_its_end_offset_has_nothing_to_read() {
        let s = binding(Some(2), None).await;
        assert!(s.bound_reached(0));
        let empty_topic = binding(Some(0), None).await;
        assert!(empty_topic.bound_reached(0));
    }
}
