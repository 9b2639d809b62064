//! The producer's source: a connector that emits one tick of the [`TickBatcher`] per poll,
//! either as fast as possible on a simulated clock (`--fast`) or every 5 real seconds.

use crate::producer::{Produced, TickBatcher, TICK_SECONDS};
use async_trait::async_trait;
use parking_lot::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use weir::topology::{
    connect::PartitionReader, connect::Polled, connect::RawRecord, connect::SourceConnector,
    connect::StartFrom, Clock, ManualClock, Result, SystemClock, TopologyError,
};

/// How ticks are paced.
#[derive(Clone)]
pub enum Pace {
    /// Ticks follow each other without sleeping; the simulated clock moves 5 s per tick.
    Fast(ManualClock),
    /// One tick every 5 seconds of real time, stamped with the real time.
    Realtime,
}

struct State {
    batcher: TickBatcher,
    ticks_left: u64,
    next_tick: i64,
    drained: bool,
    offset: i64,
}

/// Replays the batcher's ticks as a one-partition, finite source.
pub struct Replay {
    state: Arc<Mutex<State>>,
    pace: Pace,
    ticks_sent: Arc<AtomicU64>,
}

impl Replay {
    /// `ticks` ticks starting at `start_s` (Unix seconds), paced by `pace`.
    pub fn new(batcher: TickBatcher, ticks: u64, start_s: i64, pace: Pace) -> Self {
        Self {
            state: Arc::new(Mutex::new(State {
                batcher,
                ticks_left: ticks,
                next_tick: start_s,
                drained: false,
                offset: 0,
            })),
            pace,
            ticks_sent: Arc::new(AtomicU64::new(0)),
        }
    }

    /// The number of ticks sent so far (shared counter, for progress lines).
    pub fn ticks_sent(&self) -> Arc<AtomicU64> {
        self.ticks_sent.clone()
    }
}

#[async_trait]
impl SourceConnector for Replay {
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
        Ok(Box::new(ReplayReader {
            state: self.state.clone(),
            pace: self.pace.clone(),
            ticks_sent: self.ticks_sent.clone(),
        }))
    }
}

struct ReplayReader {
    state: Arc<Mutex<State>>,
    pace: Pace,
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
impl PartitionReader for ReplayReader {
    async fn poll(&mut self, _max_records: usize, max_wait_ms: u64) -> Result<Polled> {
        let due = self.state.lock().next_tick;
        let now_s = match &self.pace {
            Pace::Fast(clock) => {
                clock.set(due * 1000);
                due
            }
            Pace::Realtime => {
                let now = SystemClock.now_ms() / 1000;
                if now < due {
                    let wait = ((due - now) as u64 * 1000).min(max_wait_ms.max(1));
                    tokio::time::sleep(std::time::Duration::from_millis(wait)).await;
                    return Ok(Polled::default());
                }
                now
            }
        };
        let mut s = self.state.lock();
        let produced = if s.ticks_left > 0 {
            s.ticks_left -= 1;
            self.ticks_sent.fetch_add(1, Ordering::Relaxed);
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
