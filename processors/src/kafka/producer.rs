//! The sending side of `KafkaBroker`'s sinks (Kafka's producer accumulator): records queue per
//! partition, and one sender per partition writes them in order, in requests of up to
//! `produce_max_bytes`, once the oldest has waited `linger`. `flush` sends at once and waits for
//! every record queued before it was called.
//!
//! One request per partition is in flight at a time, so a retried request can never overtake
//! the next one. While a request is out, the partition's next records pile up for the next
//! ones; request sizes stay out of rskafka's delayed-ACK band (see [`super::request::FITS_ONE_WRITE`]). A task
//! never waits for the broker unless `send_buffer_bytes` of its records are unacknowledged.

use super::error::KafkaError;
use super::request::{sized, take_request, write_request, SendSettings};
use parking_lot::Mutex;
use rskafka::client::partition::PartitionClient;
use rskafka::client::Client;
use rskafka::record::Record;
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{watch, Notify, Semaphore};
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// Queued records of every partition written through [`Producer::send`].
pub(crate) struct Producer {
    settings: SendSettings,
    cluster: Arc<Client>,
    /// Bytes of queued, unacknowledged records may not exceed `buffer_bytes`.
    buffer: Arc<Semaphore>,
    queues: Mutex<HashMap<(String, i32), Arc<PartitionQueue>>>,
}

/// One partition's queue and the state of its sender.
struct PartitionQueue {
    name: String,
    client: Arc<PartitionClient>,
    state: Mutex<QueueState>,
    /// Wakes the sender: records queued, a flush asked, or the producer closed.
    wake: Notify,
    /// How many of the records ever queued are acknowledged (or failed: see `failed`).
    acked: watch::Sender<u64>,
    sender: Mutex<Option<JoinHandle<()>>>,
}

#[derive(Default)]
struct QueueState {
    records: VecDeque<(Record, usize)>,
    bytes: usize,
    /// When the oldest queued record was queued.
    oldest: Option<Instant>,
    /// Records ever queued; the sender has taken `taken` of them.
    queued: u64,
    taken: u64,
    /// A flush wants the first `flush_upto` records sent without lingering.
    flush_upto: u64,
    /// The first failure: every later send and flush of this partition reports it.
    failed: Option<String>,
    /// Queued bytes beyond what their `send` could take from the buffer (a call bigger than
    /// the whole buffer): released bytes are first set against them.
    uncharged: usize,
    closed: bool,
}

/// What the sender does next.
enum Step {
    Idle,
    Linger(Duration),
    Send {
        batch: Vec<Record>,
        bytes: usize,
        upto: u64,
    },
    Exit,
}

impl Producer {
    pub(crate) fn new(cluster: Arc<Client>, settings: SendSettings) -> Self {
        let buffer = Arc::new(Semaphore::new(settings.buffer_bytes));
        Self {
            settings,
            cluster,
            buffer,
            queues: Mutex::new(HashMap::new()),
        }
    }

    /// The settings the senders write with.
    pub(crate) fn settings(&self) -> &SendSettings {
        &self.settings
    }

    /// Queues `records` for `topic`/`partition` (whose client is `client`). Waits only while
    /// the send buffer is full; fails when an earlier batch of the partition failed.
    pub(crate) async fn send(
        &self,
        topic: &str,
        partition: i32,
        client: Arc<PartitionClient>,
        records: Vec<Record>,
    ) -> Result<(), KafkaError> {
        let queue = self.queue(topic, partition, client);
        let (sized, bytes) = sized(records);
        // A call bigger than the whole buffer takes all of it rather than waiting forever; the
        // bytes it could not be charged for are not given back either (`uncharged`).
        let permits = bytes.min(self.settings.buffer_bytes).min(u32::MAX as usize) as u32;
        let acquired = match self.buffer.try_acquire_many(permits) {
            Ok(p) => Ok(p),
            Err(_) => {
                // The buffer is full: lingering records go out now (as Kafka's producer does
                // when its buffer is exhausted), or their bytes would keep this call waiting.
                self.send_all_now();
                self.buffer.acquire_many(permits).await
            }
        };
        match acquired {
            Ok(p) => p.forget(),
            Err(_) => return Err(closed_error(&queue.name)),
        }
        {
            let mut s = queue.state.lock();
            if let Some(e) = &s.failed {
                let e = failed_error(&queue.name, e);
                drop(s);
                self.buffer.add_permits(permits as usize);
                return Err(e);
            }
            if s.records.is_empty() {
                s.oldest = Some(Instant::now());
            }
            s.queued += sized.len() as u64;
            s.bytes += bytes;
            s.uncharged += bytes - permits as usize;
            s.records.extend(sized);
        }
        self.ensure_sender(&queue);
        queue.wake.notify_one();
        Ok(())
    }

    /// Tells every partition's sender to send what is queued now, without lingering; returns
    /// each queue with the number of records it must have acknowledged for that.
    fn send_all_now(&self) -> Vec<(Arc<PartitionQueue>, u64)> {
        let queues: Vec<Arc<PartitionQueue>> = self.queues.lock().values().cloned().collect();
        let mut waits = Vec::with_capacity(queues.len());
        for q in queues {
            let target = {
                let mut s = q.state.lock();
                s.flush_upto = s.flush_upto.max(s.queued);
                s.queued
            };
            self.ensure_sender(&q);
            q.wake.notify_one();
            waits.push((q, target));
        }
        waits
    }

    /// Sends everything queued so far without lingering and waits until all of it is settled:
    /// acknowledged by the broker, or failed. The first failure of any partition is the error.
    pub(crate) async fn flush(&self) -> Result<(), KafkaError> {
        let mut first_failure = None;
        for (q, target) in self.send_all_now() {
            let mut acked = q.acked.subscribe();
            // The sender lives as long as the queue, which we hold: the channel stays open.
            let _ = acked.wait_for(|a| *a >= target).await;
            if let Some(e) = &q.state.lock().failed {
                first_failure.get_or_insert_with(|| failed_error(&q.name, e));
            }
        }
        first_failure.map_or(Ok(()), Err)
    }

    /// Stops the senders once their queues are empty.
    pub(crate) fn close(&self) {
        for q in self.queues.lock().values() {
            q.state.lock().closed = true;
            q.wake.notify_one();
        }
        self.buffer.close();
    }

    fn queue(
        &self,
        topic: &str,
        partition: i32,
        client: Arc<PartitionClient>,
    ) -> Arc<PartitionQueue> {
        let mut queues = self.queues.lock();
        queues
            .entry((topic.to_string(), partition))
            .or_insert_with(|| {
                Arc::new(PartitionQueue {
                    name: format!("{topic}/{partition}"),
                    client,
                    state: Mutex::new(QueueState::default()),
                    wake: Notify::new(),
                    acked: watch::Sender::new(0),
                    sender: Mutex::new(None),
                })
            })
            .clone()
    }

    /// Starts the partition's sender, or a new one when the runtime that ran the last one has
    /// shut down (a broker may outlive a runtime, as in tests).
    fn ensure_sender(&self, queue: &Arc<PartitionQueue>) {
        let mut sender = queue.sender.lock();
        if sender.as_ref().is_some_and(|h| !h.is_finished()) {
            return;
        }
        let job = SenderJob {
            queue: queue.clone(),
            cluster: self.cluster.clone(),
            buffer: self.buffer.clone(),
            settings: self.settings.clone(),
        };
        *sender = Some(tokio::spawn(job.run()));
    }
}

impl Drop for Producer {
    fn drop(&mut self) {
        self.close();
    }
}

fn failed_error(name: &str, e: &str) -> KafkaError {
    KafkaError::Fatal {
        operation: format!("produce {name}"),
        reason: format!(
            "an earlier batch could not be written, so this partition takes no more records: {e}"
        ),
    }
}

fn closed_error(name: &str) -> KafkaError {
    KafkaError::Fatal {
        operation: format!("produce {name}"),
        reason: "the producer is closed".into(),
    }
}

/// The sender of one partition.
struct SenderJob {
    queue: Arc<PartitionQueue>,
    cluster: Arc<Client>,
    buffer: Arc<Semaphore>,
    settings: SendSettings,
}

impl SenderJob {
    async fn run(self) {
        loop {
            match self.next_step() {
                Step::Exit => return,
                Step::Idle => self.queue.wake.notified().await,
                Step::Linger(d) => {
                    let _ = tokio::time::timeout(d, self.queue.wake.notified()).await;
                }
                Step::Send { batch, bytes, upto } => {
                    let result = self.write(batch).await;
                    self.release(bytes);
                    let acked = match result {
                        Ok(()) => upto,
                        // The records queued behind the batch are dropped with it: a flush
                        // waiting for them must see them settled.
                        Err(e) => self.fail(e.to_string()),
                    };
                    self.queue.acked.send_replace(acked);
                }
            }
        }
    }

    fn next_step(&self) -> Step {
        let mut s = self.queue.state.lock();
        if s.records.is_empty() {
            return if s.closed { Step::Exit } else { Step::Idle };
        }
        let waited = s.oldest.map_or(Duration::MAX, |t| t.elapsed());
        let due = s.bytes >= self.settings.max_request_bytes
            || s.flush_upto > s.taken
            || waited >= self.settings.linger
            || s.closed;
        if !due {
            return Step::Linger(self.settings.linger - waited);
        }
        let queued = s.bytes;
        let (batch, bytes) = take_request(&mut s.records, queued, self.settings.max_request_bytes);
        s.bytes -= bytes;
        s.taken += batch.len() as u64;
        // What is left has waited as long: it goes out right after this batch.
        if s.records.is_empty() {
            s.oldest = None;
        }
        Step::Send {
            batch,
            bytes,
            upto: s.taken,
        }
    }

    async fn write(&self, batch: Vec<Record>) -> Result<(), KafkaError> {
        let op = format!("produce {}", self.queue.name);
        write_request(
            &self.cluster,
            &self.queue.client,
            &op,
            batch,
            &self.settings,
        )
        .await
        .map(drop)
    }

    /// Records the failure and drops the partition's queued records: the flush that waits for
    /// them reports the failure, so the task does not commit past them. Returns how many
    /// records are now settled (acknowledged, failed or dropped).
    fn fail(&self, e: String) -> u64 {
        let mut s = self.queue.state.lock();
        tracing::error!(partition = %self.queue.name, error = %e, "kafka: sink batch failed");
        s.failed.get_or_insert(e);
        let dropped = std::mem::take(&mut s.records);
        let bytes = std::mem::take(&mut s.bytes);
        s.taken += dropped.len() as u64;
        s.oldest = None;
        let settled = s.taken;
        drop(s);
        self.release(bytes);
        settled
    }

    /// Gives `bytes` of acknowledged (or dropped) records back to the send buffer.
    fn release(&self, bytes: usize) {
        let mut s = self.queue.state.lock();
        let uncharged = s.uncharged.min(bytes);
        s.uncharged -= uncharged;
        drop(s);
        self.buffer.add_permits(bytes - uncharged);
    }
}
