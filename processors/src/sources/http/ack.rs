//! [`Ack`]: the answer an [`HttpSource`](super::HttpSource) request waits for, settled record
//! by record as the commits of the tasks that read them release them from the topic's log
//! ([`super::log`]), and sent once all are.

use super::response::PartitionOffset;
use parking_lot::Mutex;
use std::sync::Arc;
use tokio::sync::oneshot;

/// The answer a request waits for: every record's partition and offset, once all are durable.
pub(crate) struct Ack {
    state: Mutex<AckState>,
}

struct AckState {
    remaining: usize,
    offsets: Vec<PartitionOffset>,
    done: Option<oneshot::Sender<Vec<PartitionOffset>>>,
}

impl Ack {
    /// An answer waiting for one record per entry of `offsets` (their partitions, no offsets
    /// yet), and the receiver it is sent to.
    pub(crate) fn new(
        offsets: Vec<PartitionOffset>,
    ) -> (Arc<Self>, oneshot::Receiver<Vec<PartitionOffset>>) {
        let (tx, rx) = oneshot::channel();
        let ack = Self {
            state: Mutex::new(AckState {
                remaining: offsets.len(),
                offsets,
                done: Some(tx),
            }),
        };
        (Arc::new(ack), rx)
    }

    /// Record `index` of the request is durable at `offset`.
    pub(crate) fn settle(&self, index: usize, offset: i64) {
        let mut state = self.state.lock();
        if let Some(slot) = state.offsets.get_mut(index) {
            slot.offset = Some(offset);
        }
        state.remaining = state.remaining.saturating_sub(1);
        if state.remaining == 0 {
            let offsets = std::mem::take(&mut state.offsets);
            if let Some(done) = state.done.take() {
                // The request may have timed out meanwhile: nobody listens any more.
                let _ = done.send(offsets);
            }
        }
    }
}
