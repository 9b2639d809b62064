//! The engine shared by the sled window and session stores: entries addressed by a key and one
//! or two timestamps, a time index for expiry, a write cache and an expiry watermark.
//!
//! An entry is `(key, t1, t2)`: windows use `t1 = start` (and no `t2`), sessions `t1 = end,
//! t2 = start`. Data keys are `0x01 ++ enc(key) ++ ts(t1) [++ ts(t2)]`, index keys
//! `0x02 ++ ts(t1) ++ enc(key) [++ ts(t2)]`. Expiry is on `t1`.

use super::commit::{Committable, PendingBatch, TreeChanges};
use super::encoding::{encode_i64, encode_key_into};
use super::{
    codec_err, commit, decode_key, decode_value, encode_value, read_len, storage_err, Slot, DATA,
    INDEX,
};
use crate::{StateResult, StoreKey, StoreValue, Timestamp};
use std::collections::BTreeMap;
use std::ops::Bound;

mod update;

type Times = (Timestamp, Timestamp);

/// A sled tree of timed entries behind a write cache.
pub(crate) struct TimedTree<K, V> {
    pub(crate) name: String,
    tree: ::sled::Tree,
    /// How many timestamps follow the key in a data key: 1 (windows) or 2 (sessions).
    times: usize,
    cache: BTreeMap<K, BTreeMap<Times, Slot<V>>>,
    cached: usize,
    max_cached: usize,
    /// Whether early flushes are off (the store commits through its batch only).
    deferred: bool,
    /// Sled entries whose `t1` is below this are expired; the next flush deletes them.
    watermark: Timestamp,
    len: u64,
}

impl<K, V> std::fmt::Debug for TimedTree<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TimedTree")
            .field("name", &self.name)
            .field("cached", &self.cached)
            .field("watermark", &self.watermark)
            .field("len", &self.len)
            .finish()
    }
}

impl<K: StoreKey, V: StoreValue> TimedTree<K, V> {
    pub(crate) fn open(
        name: &str,
        tree: ::sled::Tree,
        times: usize,
        max_cached: usize,
    ) -> StateResult<Self> {
        let len = read_len(name, &tree)?;
        Ok(Self {
            name: name.to_string(),
            tree,
            times,
            cache: BTreeMap::new(),
            cached: 0,
            max_cached,
            deferred: false,
            watermark: Timestamp::MIN,
            len,
        })
    }

    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    fn enc(&self, key: &K) -> StateResult<Vec<u8>> {
        let mut out = Vec::new();
        encode_key_into(key, &mut out).map_err(|e| codec_err(&self.name, e))?;
        Ok(out)
    }

    fn data_key(&self, enc_k: &[u8], (t1, t2): Times) -> Vec<u8> {
        let mut out = Vec::with_capacity(1 + enc_k.len() + 8 * self.times);
        out.push(DATA);
        out.extend_from_slice(enc_k);
        out.extend_from_slice(&encode_i64(t1));
        if self.times == 2 {
            out.extend_from_slice(&encode_i64(t2));
        }
        out
    }

    fn index_key(&self, enc_k: &[u8], (t1, t2): Times) -> Vec<u8> {
        let mut out = Vec::with_capacity(1 + enc_k.len() + 8 * self.times);
        out.push(INDEX);
        out.extend_from_slice(&encode_i64(t1));
        out.extend_from_slice(enc_k);
        if self.times == 2 {
            out.extend_from_slice(&encode_i64(t2));
        }
        out
    }

    fn ts(&self, bytes: &[u8]) -> StateResult<Timestamp> {
        super::decoding::decode_i64(bytes).map_err(|e| codec_err(&self.name, e))
    }

    /// Splits a data key into the encoded key and its times.
    fn split_data<'a>(&self, bytes: &'a [u8]) -> StateResult<(&'a [u8], Times)> {
        let n = bytes.len();
        let suffix = 8 * self.times;
        if n < 1 + suffix {
            return Err(codec_err(&self.name, "data key too short"));
        }
        let t1 = self.ts(&bytes[n - suffix..n - suffix + 8])?;
        let t2 = if self.times == 2 {
            self.ts(&bytes[n - 8..])?
        } else {
            0
        };
        Ok((&bytes[1..n - suffix], (t1, t2)))
    }

    /// Splits an index key into the encoded key and its times.
    fn split_index<'a>(&self, bytes: &'a [u8]) -> StateResult<(&'a [u8], Times)> {
        let n = bytes.len();
        let tail = 8 * (self.times - 1);
        if n < 9 + tail {
            return Err(codec_err(&self.name, "index key too short"));
        }
        let t1 = self.ts(&bytes[1..9])?;
        let t2 = if self.times == 2 {
            self.ts(&bytes[n - 8..])?
        } else {
            0
        };
        Ok((&bytes[9..n - tail], (t1, t2)))
    }

    fn cached_slot(&self, key: &K, times: Times) -> Option<&Slot<V>> {
        self.cache.get(key).and_then(|slots| slots.get(&times))
    }

    fn sled_contains(&self, enc_k: &[u8], times: Times) -> StateResult<bool> {
        if times.0 < self.watermark {
            return Ok(false);
        }
        self.tree
            .contains_key(self.data_key(enc_k, times))
            .map_err(|e| storage_err(&self.name, e))
    }

    fn visible(&self, key: &K, times: Times) -> StateResult<bool> {
        match self.cached_slot(key, times) {
            Some(slot) => Ok(matches!(slot, Slot::Put(_))),
            None => self.sled_contains(&self.enc(key)?, times),
        }
    }

    pub(crate) fn get(&self, key: &K, times: Times) -> StateResult<Option<V>> {
        match self.cached_slot(key, times) {
            Some(Slot::Put(v)) => return Ok(Some(v.clone())),
            Some(Slot::Delete) => return Ok(None),
            None => {}
        }
        if times.0 < self.watermark {
            return Ok(None);
        }
        let k = self.data_key(&self.enc(key)?, times);
        match self.tree.get(k).map_err(|e| storage_err(&self.name, e))? {
            Some(bytes) => Ok(Some(decode_value(&self.name, &bytes)?)),
            None => Ok(None),
        }
    }

    fn set_slot(&mut self, key: K, times: Times, slot: Slot<V>) -> StateResult<()> {
        if self
            .cache
            .entry(key)
            .or_default()
            .insert(times, slot)
            .is_none()
        {
            self.cached += 1;
        }
        if !self.deferred && self.cached >= self.max_cached {
            self.flush()?;
        }
        Ok(())
    }

    pub(crate) fn put(&mut self, key: K, times: Times, value: V) -> StateResult<()> {
        if !self.visible(&key, times)? {
            self.len += 1;
        }
        self.set_slot(key, times, Slot::Put(value))
    }

    /// Deletes the entry; returns whether it existed.
    pub(crate) fn delete(&mut self, key: &K, times: Times) -> StateResult<bool> {
        if !self.visible(key, times)? {
            return Ok(false);
        }
        self.len = self.len.saturating_sub(1);
        self.set_slot(key.clone(), times, Slot::Delete)?;
        Ok(true)
    }

    /// The entries of `key` with times in `[lo, hi]`, ordered by times.
    pub(crate) fn scan_key(&self, key: &K, lo: Times, hi: Times) -> StateResult<Vec<(Times, V)>> {
        if lo > hi {
            return Ok(Vec::new());
        }
        let enc_k = self.enc(key)?;
        let slots = self.cache.get(key);
        let mut merged = BTreeMap::new();
        let range = self.data_key(&enc_k, lo)..=self.data_key(&enc_k, hi);
        for entry in self.tree.range(range) {
            let (k, v) = entry.map_err(|e| storage_err(&self.name, e))?;
            let (_, times) = self.split_data(&k)?;
            if times.0 >= self.watermark && !slots.is_some_and(|s| s.contains_key(&times)) {
                merged.insert(times, decode_value::<V>(&self.name, &v)?);
            }
        }
        for (times, slot) in slots.into_iter().flat_map(|s| s.range(lo..=hi)) {
            if let Slot::Put(v) = slot {
                merged.insert(*times, v.clone());
            }
        }
        Ok(merged.into_iter().collect())
    }

    /// Every entry whose `t1` lies in `[from, to]`, ordered by key then times; reads the index.
    pub(crate) fn scan_time(
        &self,
        from: Timestamp,
        to: Timestamp,
    ) -> StateResult<Vec<(K, Times, V)>> {
        if from > to {
            return Ok(Vec::new());
        }
        let mut merged = BTreeMap::new();
        let lo_t = from.max(self.watermark);
        if lo_t <= to {
            let lo = Bound::Included(vec![INDEX].into_iter().chain(encode_i64(lo_t)).collect());
            let hi = match to.checked_add(1) {
                Some(t) => Bound::Excluded([INDEX].into_iter().chain(encode_i64(t)).collect()),
                None => Bound::Excluded(vec![INDEX + 1]),
            };
            for entry in self.tree.range::<Vec<u8>, _>((lo, hi)) {
                let (ik, _) = entry.map_err(|e| storage_err(&self.name, e))?;
                let (enc_k, times) = self.split_index(&ik)?;
                let key: K = decode_key(&self.name, enc_k)?;
                if self.cached_slot(&key, times).is_some() {
                    continue;
                }
                let data = self.tree.get(self.data_key(enc_k, times));
                if let Some(v) = data.map_err(|e| storage_err(&self.name, e))? {
                    merged.insert((key, times), decode_value::<V>(&self.name, &v)?);
                }
            }
        }
        for (key, slots) in &self.cache {
            for (times, slot) in slots.range((from, Timestamp::MIN)..=(to, Timestamp::MAX)) {
                if let Slot::Put(v) = slot {
                    merged.insert((key.clone(), *times), v.clone());
                }
            }
        }
        Ok(merged.into_iter().map(|((k, t), v)| (k, t, v)).collect())
    }

    /// Every entry, ordered by key then times; scans the data entries.
    pub(crate) fn scan_all(&self) -> StateResult<Vec<(K, Times, V)>> {
        let mut merged = BTreeMap::new();
        for entry in self.tree.range([DATA]..[DATA + 1]) {
            let (k, v) = entry.map_err(|e| storage_err(&self.name, e))?;
            let (enc_k, times) = self.split_data(&k)?;
            if times.0 < self.watermark {
                continue;
            }
            let key: K = decode_key(&self.name, enc_k)?;
            if self.cached_slot(&key, times).is_none() {
                merged.insert((key, times), decode_value::<V>(&self.name, &v)?);
            }
        }
        for (key, slots) in &self.cache {
            for (times, slot) in slots {
                if let Slot::Put(v) = slot {
                    merged.insert((key.clone(), *times), v.clone());
                }
            }
        }
        Ok(merged.into_iter().map(|((k, t), v)| (k, t, v)).collect())
    }

    /// Expires every entry whose `t1` is below `before`; returns how many were visible.
    ///
    /// Costs one index scan over the newly expired sled entries plus one pass over the cache;
    /// the sled deletes happen at the next flush.
    pub(crate) fn expire_before(&mut self, before: Timestamp) -> StateResult<usize> {
        let mut expired = 0usize;
        if before > self.watermark {
            let lo: Vec<u8> = [INDEX]
                .into_iter()
                .chain(encode_i64(self.watermark))
                .collect();
            let hi: Vec<u8> = [INDEX].into_iter().chain(encode_i64(before)).collect();
            for entry in self.tree.range(lo..hi) {
                let (ik, _) = entry.map_err(|e| storage_err(&self.name, e))?;
                if self.cache.is_empty() {
                    expired += 1;
                    continue;
                }
                let (enc_k, times) = self.split_index(&ik)?;
                let key: K = decode_key(&self.name, enc_k)?;
                if self.cached_slot(&key, times).is_none() {
                    expired += 1;
                }
            }
            self.watermark = before;
        }
        let mut removed_slots = 0usize;
        self.cache.retain(|_, slots| {
            let keep = slots.split_off(&(before, Timestamp::MIN));
            removed_slots += slots.len();
            expired += slots.values().filter(|s| matches!(s, Slot::Put(_))).count();
            *slots = keep;
            !slots.is_empty()
        });
        self.cached -= removed_slots;
        self.len = self.len.saturating_sub(expired as u64);
        Ok(expired)
    }

    /// Writes the cache and the pending expiry to sled in one batch and makes it durable.
    pub(crate) fn flush(&mut self) -> StateResult<()> {
        if !self.pending() {
            return Ok(());
        }
        let batch = self.encode_pending()?;
        commit(&self.name, &self.tree, batch, self.len)?;
        self.clear_pending();
        Ok(())
    }

    fn pending(&self) -> bool {
        !self.cache.is_empty() || self.watermark != Timestamp::MIN
    }

    fn clear_pending(&mut self) {
        self.cache.clear();
        self.cached = 0;
        self.watermark = Timestamp::MIN;
    }

    /// The cache and the pending expiry as one batch (without the entry count).
    fn encode_pending(&self) -> StateResult<TreeChanges> {
        let mut batch = TreeChanges::default();
        if self.watermark > Timestamp::MIN {
            let hi: Vec<u8> = [INDEX]
                .into_iter()
                .chain(encode_i64(self.watermark))
                .collect();
            for entry in self.tree.range(vec![INDEX]..hi) {
                let (ik, _) = entry.map_err(|e| storage_err(&self.name, e))?;
                let (enc_k, times) = self.split_index(&ik)?;
                batch.remove(self.data_key(enc_k, times));
                batch.remove(ik.to_vec());
            }
        }
        for (key, slots) in &self.cache {
            let enc_k = self.enc(key)?;
            for (&times, slot) in slots {
                let (dk, ik) = (self.data_key(&enc_k, times), self.index_key(&enc_k, times));
                match slot {
                    Slot::Put(v) => {
                        batch.insert(dk, encode_value(&self.name, v)?);
                        batch.insert(ik, Vec::new());
                    }
                    Slot::Delete => {
                        batch.remove(dk);
                        batch.remove(ik.to_vec());
                    }
                }
            }
        }
        Ok(batch)
    }
}

impl<K: StoreKey, V: StoreValue> Committable for TimedTree<K, V> {
    fn prepare_batch(&mut self) -> StateResult<Option<PendingBatch>> {
        if !self.pending() {
            return Ok(None);
        }
        let batch = self.encode_pending()?;
        Ok(Some(PendingBatch::with_len(&self.tree, batch, self.len)))
    }

    fn batch_committed(&mut self) {
        self.clear_pending();
    }

    fn defer_flushes(&mut self) {
        self.deferred = true;
    }

    fn buffered(&self) -> usize {
        self.cached
    }
}

#[cfg(test)]
impl<K, V> TimedTree<K, V> {
    /// How many raw entries (data, index and bookkeeping) the sled tree holds.
    pub(crate) fn tree_len(&self) -> usize {
        self.tree.len()
    }
}
