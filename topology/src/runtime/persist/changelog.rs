//! Changelogs: every commit of a task's sled stores is also written to a changelog topic, so a
//! task whose local state directory is missing, or stale because another instance processed
//! its partition since, rebuilds its state from the log before it processes anything.
//!
//! # Format
//!
//! One topic per sub-topology with stores, `<application id>-<store>[-<store>...]-changelog`,
//! with as many partitions as the sub-topology has tasks; task `p` logs to partition `p`. A
//! commit appends, in order:
//! - one record per raw write to a store's sled tree: key = store name length (`u16`
//!   big-endian) ++ store name ++ raw tree key, value = raw tree value, or none (a tombstone)
//!   for a removal. The log is physical, so window expiry and entry counts replay exactly, and
//!   a compacted topic keeps the latest write per key;
//! - one commit marker: key `__weir_commit`, header `weir.changelog: commit`, value = the
//!   task's input offsets and stream time as JSON.
//!
//! A restore applies the writes of every complete commit (those followed by a marker) and
//! resumes from the last marker's offsets, so state and offsets agree: exactly-once state
//! survives the loss of the state directory. Writes after the last marker (a commit torn by a
//! crash while logging) are never applied; the task logs the committed values of those keys
//! again before it goes on, so the log also stays right under compaction.

use super::checkpoint::{Checkpoint, StoredCheckpoint};
use crate::error::{Result, TopologyError};
use crate::runtime::io::broker::{Broker, OutRecord, RawRecord, StartFrom};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use weir_state::sled::{RawChange, SledBackend};

/// The header that marks a commit marker.
pub const MARKER_HEADER: &str = "weir.changelog";
/// The key of every commit marker.
const MARKER_KEY: &[u8] = b"__weir_commit";
/// How many empty polls in a row (of up to 100 ms each) a restore tolerates before giving up.
const MAX_EMPTY_POLLS: u32 = 300;

/// The changelog topic of a sub-topology whose tasks own `stores`.
pub fn changelog_topic(application_id: &str, stores: &[String]) -> String {
    let mut names: Vec<&str> = stores.iter().map(String::as_str).collect();
    names.sort_unstable();
    format!("{application_id}-{}-changelog", names.join("-"))
}

/// One decoded changelog record.
#[derive(Debug, PartialEq)]
enum Entry {
    Write {
        store: String,
        key: Vec<u8>,
        value: Option<Vec<u8>>,
    },
    Commit(Checkpoint),
}

fn write_record(partition: u32, store: &str, change: &RawChange) -> Result<OutRecord> {
    let len = u16::try_from(store.len())
        .map_err(|_| TopologyError::config("changelog", format!("store name too long: {store}")))?;
    let mut key = Vec::with_capacity(2 + store.len() + change.0.len());
    key.extend_from_slice(&len.to_be_bytes());
    key.extend_from_slice(store.as_bytes());
    key.extend_from_slice(&change.0);
    Ok(OutRecord {
        partition,
        key: Some(key),
        value: change.1.clone(),
        timestamp: 0,
        headers: Vec::new(),
    })
}

fn marker_record(partition: u32, checkpoint: &Checkpoint) -> Result<OutRecord> {
    let commit = Checkpoint {
        changelog_end: None,
        ..checkpoint.clone()
    };
    let value = serde_json::to_vec(&StoredCheckpoint::from(&commit))
        .map_err(|e| TopologyError::config("changelog", format!("commit marker: {e}")))?;
    Ok(OutRecord {
        partition,
        key: Some(MARKER_KEY.to_vec()),
        value: Some(value),
        timestamp: 0,
        headers: vec![(MARKER_HEADER.to_string(), b"commit".to_vec())],
    })
}

fn decode(topic: &str, raw: RawRecord) -> Result<Entry> {
    let bad = |why: &str| {
        TopologyError::connector(
            topic,
            format!(
                "unreadable changelog record at offset {}: {why}",
                raw.offset
            ),
        )
    };
    if raw.headers.iter().any(|(n, _)| n == MARKER_HEADER) {
        let value = raw
            .value
            .as_deref()
            .ok_or_else(|| bad("marker without value"))?;
        let stored: StoredCheckpoint =
            serde_json::from_slice(value).map_err(|e| bad(&e.to_string()))?;
        return Ok(Entry::Commit(stored.into()));
    }
    let key = raw.key.as_deref().ok_or_else(|| bad("no key"))?;
    let (len, rest) = key
        .split_first_chunk::<2>()
        .ok_or_else(|| bad("short key"))?;
    let len = u16::from_be_bytes(*len) as usize;
    if rest.len() < len {
        return Err(bad("store name past the key's end"));
    }
    let store = std::str::from_utf8(&rest[..len]).map_err(|_| bad("store name not UTF-8"))?;
    Ok(Entry::Write {
        store: store.to_string(),
        key: rest[len..].to_vec(),
        value: raw.value.map(|v| v.to_vec()),
    })
}

/// The changelog partition of one task.
pub(crate) struct Changelog {
    broker: Arc<dyn Broker>,
    topic: String,
    partition: u32,
}

/// What reading a stretch of the log found.
#[derive(Default)]
struct Scan {
    /// The last commit marker's checkpoint.
    last_commit: Option<Checkpoint>,
    /// Keys written after the last marker (a torn commit).
    torn: BTreeSet<(String, Vec<u8>)>,
}

impl Changelog {
    pub fn new(broker: Arc<dyn Broker>, topic: String, partition: u32) -> Self {
        Self {
            broker,
            topic,
            partition,
        }
    }

    /// Logs one commit: the stores' raw writes, then a marker with `checkpoint`. Returns the
    /// log's end offset afterwards.
    pub async fn log(
        &self,
        writes: &[(&str, &[RawChange])],
        checkpoint: &Checkpoint,
    ) -> Result<i64> {
        let mut records = Vec::new();
        for (store, changes) in writes {
            for change in *changes {
                records.push(write_record(self.partition, store, change)?);
            }
        }
        records.push(marker_record(self.partition, checkpoint)?);
        // Wall-clock timestamps: a broker's time-based retention must not drop the log because
        // the event times it holds are old.
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        for r in &mut records {
            r.timestamp = now;
        }
        self.broker.produce(&self.topic, records).await?;
        self.broker.flush().await?;
        self.broker.end_offset(&self.topic, self.partition).await
    }

    /// Reads `[from, end)` in order, handing each entry to `f`.
    async fn read(
        &self,
        from: i64,
        end: i64,
        mut f: impl FnMut(Entry) -> Result<()>,
    ) -> Result<()> {
        if from >= end {
            return Ok(());
        }
        let mut reader = self
            .broker
            .reader(&self.topic, self.partition, StartFrom::Offset(from))
            .await?;
        let mut next = from;
        let mut empty = 0;
        while next < end {
            let polled = reader.poll(10_000, 100).await?;
            if polled.records.is_empty() {
                empty += 1;
                if empty >= MAX_EMPTY_POLLS || polled.end_of_stream {
                    return Err(TopologyError::connector(
                        &self.topic,
                        format!(
                            "changelog partition {} ends at {next}, expected {end}",
                            self.partition
                        ),
                    ));
                }
                continue;
            }
            empty = 0;
            for raw in polled.records {
                if raw.offset >= end {
                    return Ok(());
                }
                next = raw.offset + 1;
                f(decode(&self.topic, raw)?)?;
            }
        }
        Ok(())
    }

    /// Reads `[from, end)` without applying anything.
    async fn scan(&self, from: i64, end: i64) -> Result<Scan> {
        let mut scan = Scan::default();
        self.read(from, end, |entry| {
            match entry {
                Entry::Write { store, key, .. } => {
                    scan.torn.insert((store, key));
                }
                Entry::Commit(c) => {
                    scan.last_commit = Some(c);
                    scan.torn.clear();
                }
            }
            Ok(())
        })
        .await?;
        Ok(scan)
    }

    /// Empties `stores` and replays the whole log into them, commit by commit.
    async fn restore(&self, backend: &SledBackend, stores: &[String], end: i64) -> Result<Scan> {
        for store in stores {
            backend.clear_store(store, self.partition)?;
        }
        let mut scan = Scan::default();
        let mut segment: BTreeMap<String, Vec<RawChange>> = BTreeMap::new();
        let partition = self.partition;
        self.read(0, end, |entry| {
            match entry {
                Entry::Write { store, key, value } => {
                    scan.torn.insert((store.clone(), key.clone()));
                    segment.entry(store).or_default().push((key, value));
                }
                Entry::Commit(c) => {
                    for (store, changes) in std::mem::take(&mut segment) {
                        backend.apply_raw(&store, partition, changes)?;
                    }
                    scan.last_commit = Some(c);
                    scan.torn.clear();
                }
            }
            Ok(())
        })
        .await?;
        Ok(scan)
    }

    /// Logs the current values of `keys` (undoing a torn commit's writes in the log) and, for
    /// a log that lacks them, of every entry of `snapshot` stores, then a marker.
    async fn relog(
        &self,
        backend: &SledBackend,
        keys: &BTreeSet<(String, Vec<u8>)>,
        snapshot: &[String],
        checkpoint: &Checkpoint,
    ) -> Result<i64> {
        let mut writes: BTreeMap<&str, Vec<RawChange>> = BTreeMap::new();
        for (store, key) in keys {
            let value = backend.read_raw(store, self.partition, key)?;
            writes.entry(store).or_default().push((key.clone(), value));
        }
        for store in snapshot {
            let entries = backend.raw_entries(store, self.partition)?;
            writes.entry(store).or_default().extend(entries);
        }
        let writes: Vec<(&str, &[RawChange])> =
            writes.iter().map(|(s, c)| (*s, c.as_slice())).collect();
        self.log(&writes, checkpoint).await
    }

    /// Fails when records the task needs from `from` on were deleted from the log (by
    /// time- or size-based retention on a topic that is not compacted): restoring what is left
    /// would silently rebuild part of the state.
    async fn check_not_truncated(&self, from: i64) -> Result<()> {
        let start = self
            .broker
            .start_offset(&self.topic, self.partition)
            .await?;
        if start > from {
            return Err(TopologyError::connector(
                &self.topic,
                format!(
                    "changelog partition {} starts at offset {start}, but state must be \
                     rebuilt from offset {from}: the records before {start} were deleted \
                     (retention on a topic without cleanup.policy=compact?). Restoring the \
                     rest would lose state silently; give the topic cleanup.policy=compact, \
                     and delete it (with the state directory) to start the application afresh",
                    self.partition
                ),
            ));
        }
        Ok(())
    }

    /// Brings the local state of `stores` in line with the log before they open, and returns
    /// the checkpoint to resume from (`local`, or the one restored from the log).
    pub async fn recover(
        &self,
        backend: &SledBackend,
        stores: &[String],
        local: Option<Checkpoint>,
    ) -> Result<Option<Checkpoint>> {
        let end = self.broker.end_offset(&self.topic, self.partition).await?;
        let logged_to = local.as_ref().and_then(|c| c.changelog_end);
        if let (Some(cp), Some(at)) = (&local, logged_to) {
            if at == end {
                return Ok(local);
            }
            if at > end {
                tracing::warn!(
                    topic = %self.topic, partition = self.partition, at, end,
                    "changelog is shorter than the local state recorded; logging a snapshot"
                );
                let end = self.relog(backend, &BTreeSet::new(), stores, cp).await?;
                return Ok(Some(with_end(cp, end)));
            }
        }
        self.check_not_truncated(logged_to.unwrap_or(0)).await?;
        let tail = self.scan(logged_to.unwrap_or(0), end).await?;
        match (&local, tail.last_commit.is_some()) {
            // The local state is the latest: undo a torn commit's writes in the log, if any.
            (Some(cp), false) => {
                let snapshot = if logged_to.is_none() { stores } else { &[] };
                if tail.torn.is_empty() && snapshot.is_empty() {
                    return Ok(local);
                }
                let end = self.relog(backend, &tail.torn, snapshot, cp).await?;
                Ok(Some(with_end(cp, end)))
            }
            (None, false) if tail.torn.is_empty() => Ok(None),
            // No local state, or another instance committed since: the log wins.
            _ => {
                tracing::info!(
                    topic = %self.topic, partition = self.partition, end,
                    "restoring state from the changelog"
                );
                self.check_not_truncated(0).await?;
                let restored = self.restore(backend, stores, end).await?;
                let cp = restored.last_commit.clone().unwrap_or_default();
                let end = self.relog(backend, &restored.torn, &[], &cp).await?;
                Ok(restored.last_commit.map(|_| with_end(&cp, end)))
            }
        }
    }
}

/// `checkpoint`, recording that the log ends at `end`.
fn with_end(checkpoint: &Checkpoint, end: i64) -> Checkpoint {
    Checkpoint {
        changelog_end: Some(end),
        ..checkpoint.clone()
    }
}
