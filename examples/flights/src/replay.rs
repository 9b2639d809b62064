//! The producer's source: the [`TickBatcher`]'s ticks as a finite source whose records carry
//! their tick's time, replayed by weir's [`Paced`] at those times: as fast as possible on a
//! simulated clock (`--fast`), or on the wall clock, one tick every 5 real seconds.

use crate::producer::{Produced, TickBatcher, TICK_SECONDS};
use async_trait::async_trait;
use parking_lot::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use weir::processors::{Paced, PacedExt};
use weir::topology::{
    connect::PartitionReader, connect::Polled, connect::RawRecord, connect::SourceConnector,
    connect::StartFrom, ManualClock, Result, TopologyError,
};

/// How ticks are paced.
#[derive(Clone)]
pub enum Pace {
    /// Ticks follow each other without sleeping; the simulated clock moves 5 s per tick.
    Fast(ManualClock),
    /// One tick every 5 seconds of real time.
    Realtime,
}

struct State {
    batcher: TickBatcher,
    ticks_left: u64,
    next_tick: i64,
    drained: bool,
    offset: i64,
}

/// The ticks as a one-partition, finite source: each poll gives the next tick's records, sent
/// at the tick's time (`ts`), then the pending batch one tick after the last.
pub struct TickSource {
    state: Arc<Mutex<State>>,
    ticks_sent: Arc<AtomicU64>,
}

/// The producer's source: the ticks, each sent when the pace's clock reaches its time.
pub struct Replay {
    paced: Paced<TickSource>,
    ticks_sent: Arc<AtomicU64>,
}

impl Replay {
    /// `ticks` ticks starting at `start_s` (Unix seconds), paced by `pace`.
    pub fn new(batcher: TickBatcher, ticks: u64, start_s: i64, pace: Pace) -> Self {
        let ticks_sent = Arc::new(AtomicU64::new(0));
        let source = TickSource {
            state: Arc::new(Mutex::new(State {
                batcher,
                ticks_left: ticks,
                next_tick: start_s,
                drained: false,
                offset: 0,
            })),
            ticks_sent: ticks_sent.clone(),
        };
        // A tick is due when the clock shows its time; ticks before now go at once.
        let paced = source.paced_by_timestamps().at_record_times();
        let paced = match pace {
            Pace::Fast(clock) => paced.simulated(clock),
            Pace::Realtime => paced,
        };
        Self { paced, ticks_sent }
    }

    /// The number of ticks sent so far, all their records handed over (shared counter, for
    /// progress lines).
    pub fn ticks_sent(&self) -> Arc<AtomicU64> {
        self.ticks_sent.clone()
    }
}

#[async_trait]
impl SourceConnector for Replay {
    fn name(&self) -> String {
        self.paced.name()
    }
    async fn partitions(&self) -> Result<u32> {
        self.paced.partitions().await
    }
    async fn open(&self, partition: u32, start: StartFrom) -> Result<Box<dyn PartitionReader>> {
        self.paced.open(partition, start).await
    }
}

#[async_trait]
impl SourceConnector for TickSource {
    fn name(&self) -> String {
        "flight-replay".into()
    }

    async fn partitions(&self) -> Result<u32> {
        Ok(1)
    }

    async fn open(&self, partition: u32, _start: StartFrom) -> Result<Box<dyn PartitionReader>> {
        if partition != 0 {
            return Err(TopologyError::connector(
                "flight-replay",
                "has one partition",
            ));
        }
        Ok(Box::new(TickReader {
            state: self.state.clone(),
            ticks_sent: self.ticks_sent.clone(),
        }))
    }
}

struct TickReader {
    state: Arc<Mutex<State>>,
    ticks_sent: Arc<AtomicU64>,
}

/// Messages for `produced`; the record timestamp is the send time (`sent_s`), which for the
/// pending batch is one tick after its `ts`.
fn to_raw(produced: Vec<Produced>, sent_s: i64, offset: &mut i64) -> Vec<RawRecord> {
    produced
        .into_iter()
        .map(|p| {
            let raw = RawRecord {
                key: Some(p.key.as_bytes().to_vec()),
                value: Some(p.value_json().into()),
                timestamp: sent_s * 1000,
                headers: Vec::new(),
                offset: *offset,
            };
            *offset += 1;
            raw
        })
        .collect()
}

#[async_trait]
impl PartitionReader for TickReader {
    async fn poll(&mut self, _max_records: usize, _max_wait_ms: u64) -> Result<Polled> {
        let mut s = self.state.lock();
        let now_s = s.next_tick;
        // `Paced` asks for the next tick once it has sent all of the one before: count that one.
        if s.offset > 0 && !s.drained {
            self.ticks_sent.fetch_add(1, Ordering::Relaxed);
        }
        let produced = if s.ticks_left > 0 {
            s.ticks_left -= 1;
            s.batcher.tick(now_s)
        } else if !s.drained {
            s.drained = true;
            s.batcher.drain()
        } else {
            return Ok(Polled {
                records: Vec::new(),
                end_of_stream: true,
            });
        };
        s.next_tick = now_s + TICK_SECONDS;
        let mut offset = s.offset;
        let records = to_raw(produced, now_s, &mut offset);
        s.offset = offset;
        Ok(Polled {
            records,
            end_of_stream: false,
        })
    }
}
