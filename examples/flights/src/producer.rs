//! The producer: replays flight rows in ticks. Every tick, for each key, A in [70, 100] rows go
//! into batch X(t) and B in [5, 10] rows into the pending batch Y(t), all stamped with the tick's
//! time; X(t) is sent with Y(t-1), so the stream is out of order by design.

use crate::rows::Row;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Seconds between ticks.
pub const TICK_SECONDS: i64 = 5;

/// One record the producer sends.
#[derive(Debug, Clone, PartialEq)]
pub struct Produced {
    /// The key: the day of week as a string ("1" = Sunday).
    pub key: String,
    /// The tick's time, Unix seconds.
    pub ts: i64,
    /// The CSV row.
    pub row: Arc<Row>,
}

impl Produced {
    /// The message value: the row plus `ts`, as JSON.
    pub fn value_json(&self) -> Vec<u8> {
        let mut obj = (*self.row).clone();
        obj.insert("ts".into(), Value::from(self.ts));
        serde_json::to_vec(&obj).unwrap_or_default()
    }
}

struct KeyQueue {
    key: String,
    rows: Vec<Arc<Row>>,
    next: usize,
}

impl KeyQueue {
    /// The next `n` rows, starting again from the first when the rows run out.
    fn take(&mut self, n: usize, ts: i64, out: &mut Vec<Produced>) {
        for _ in 0..n {
            if self.rows.is_empty() {
                return;
            }
            if self.next >= self.rows.len() {
                self.next = 0;
            }
            out.push(Produced {
                key: self.key.clone(),
                ts,
                row: self.rows[self.next].clone(),
            });
            self.next += 1;
        }
    }
}

/// The batching rules of the producer, without any I/O: feed it tick times, get what to send.
pub struct TickBatcher {
    keys: Vec<KeyQueue>,
    rng: StdRng,
    pending: Vec<Produced>,
}

impl TickBatcher {
    /// A batcher over rows grouped by key, with a seeded random generator.
    pub fn new(by_key: BTreeMap<String, Vec<Row>>, seed: u64) -> Self {
        Self {
            keys: by_key
                .into_iter()
                .map(|(key, rows)| KeyQueue {
                    key,
                    rows: rows.into_iter().map(Arc::new).collect(),
                    next: 0,
                })
                .collect(),
            rng: StdRng::seed_from_u64(seed),
            pending: Vec::new(),
        }
    }

    /// The records to send at the tick of time `now` (seconds): X(now) then the pending
    /// Y(previous tick); Y(now) is kept for the next tick.
    pub fn tick(&mut self, now: i64) -> Vec<Produced> {
        let mut x = Vec::new();
        let mut y = Vec::new();
        for q in &mut self.keys {
            let a = self.rng.gen_range(70..=100);
            let b = self.rng.gen_range(5..=10);
            q.take(a, now, &mut x);
            q.take(b, now, &mut y);
        }
        let previous = std::mem::replace(&mut self.pending, y);
        x.extend(previous);
        x
    }

    /// The pending batch, sent after the last tick so that no record is held back forever.
    pub fn drain(&mut self) -> Vec<Produced> {
        std::mem::take(&mut self.pending)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn rows(n: usize, tag: &str) -> Vec<Row> {
        (0..n)
            .map(|i| {
                let mut r = Row::new();
                r.insert("i".into(), Value::from(i));
                r.insert("tag".into(), Value::from(tag));
                r
            })
            .collect()
    }

    fn batcher(n: usize) -> TickBatcher {
        let by_key: BTreeMap<String, Vec<Row>> = (1..=7)
            .map(|k| (k.to_string(), rows(n, &k.to_string())))
            .collect();
        TickBatcher::new(by_key, 7)
    }

    fn count_by_key(out: &[Produced], ts: i64) -> BTreeMap<String, usize> {
        let mut m = BTreeMap::new();
        for p in out.iter().filter(|p| p.ts == ts) {
            *m.entry(p.key.clone()).or_insert(0) += 1;
        }
        m
    }

    #[test]
    fn batch_sizes_are_in_range_and_the_pending_batch_comes_one_tick_later() {
        let mut b = batcher(10_000);
        let first = b.tick(100);
        // Tick 1 sends X(100) only.
        let x1 = count_by_key(&first, 100);
        assert_eq!(x1.len(), 7);
        assert!(x1.values().all(|n| (70..=100).contains(n)), "{x1:?}");
        assert_eq!(first.len(), x1.values().sum::<usize>());
        let second = b.tick(105);
        let x2 = count_by_key(&second, 105);
        let y1 = count_by_key(&second, 100);
        assert!(x2.values().all(|n| (70..=100).contains(n)));
        assert!(y1.values().all(|n| (5..=10).contains(n)), "{y1:?}");
        // X(t) first, then Y(t-1): a record's ts can be older than the records before it.
        let first_old = second.iter().position(|p| p.ts == 100).unwrap();
        assert!(second[..first_old].iter().all(|p| p.ts == 105));
        assert!(second[first_old..].iter().all(|p| p.ts == 100));
        let y2 = b.drain();
        assert!(y2.iter().all(|p| p.ts == 105));
        assert!(count_by_key(&y2, 105)
            .values()
            .all(|n| (5..=10).contains(n)));
    }

    #[test]
    fn keys_keep_file_order_across_x_and_y_and_wrap_around() {
        let mut b = batcher(150);
        let mut all = Vec::new();
        for t in 0..4 {
            all.extend(b.tick(t * 5));
        }
        all.extend(b.drain());
        // A stable sort by ts puts each tick's X(t) (sent at t) before its Y(t) (sent at t+1):
        // per key, that is the order rows were taken from the file.
        all.sort_by_key(|p| p.ts);
        let mut by_key: BTreeMap<String, Vec<u64>> = BTreeMap::new();
        for p in &all {
            by_key
                .entry(p.key.clone())
                .or_default()
                .push(p.row["i"].as_u64().unwrap());
        }
        for (key, idx) in by_key {
            assert!(
                idx.len() > 150,
                "key {key} wrapped around ({} rows)",
                idx.len()
            );
            for (n, i) in idx.iter().enumerate() {
                assert_eq!(*i, n as u64 % 150, "key {key}: row {n} out of file order");
            }
        }
    }

    #[test]
    fn one_timestamp_per_key_per_tick_and_seeds_reproduce() {
        let out = batcher(500).tick(42);
        assert!(out.iter().all(|p| p.ts == 42));
        let again = batcher(500).tick(42);
        assert_eq!(out, again);
        let v: Value = serde_json::from_slice(&out[0].value_json()).unwrap();
        assert_eq!(v["ts"], Value::from(42));
        assert_eq!(v["tag"], Value::from(out[0].key.as_str()));
    }
}
