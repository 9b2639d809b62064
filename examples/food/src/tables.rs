//! The consumer's table values and the collectors that keep what a run ends with:
//! [`AgeStats`] (participants and ages of a gender), [`Latest`] (a table's latest value per key,
//! in first-seen order) and [`Collect`] (every record of a stream, in order).

use serde::{Deserialize, Serialize};
use weir::topology::{Record, RecordSink, Result};

/// The ages of a group of participants.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct AgeStats {
    /// Participants counted.
    pub participants: u64,
    /// The sum of their ages, years.
    pub total_age: f64,
    /// Their mean age, years (0 with no participant).
    pub mean_age: f64,
}

impl AgeStats {
    /// These statistics with one more participant of age `age`.
    pub fn with(self, age: f64) -> Self {
        let participants = self.participants + 1;
        let total_age = self.total_age + age;
        Self {
            participants,
            total_age,
            mean_age: total_age / participants as f64,
        }
    }
}

/// A sink keeping the latest value of each key, keys in the order they first came: the final
/// state of a table fed by its updates.
#[derive(Debug, Clone)]
pub struct Latest<K, V> {
    entries: Vec<(K, V)>,
}

impl<K, V> Default for Latest<K, V> {
    fn default() -> Self {
        Self {
            entries: Vec::new(),
        }
    }
}

impl<K: PartialEq, V> Latest<K, V> {
    /// Sets the value of `key`.
    pub fn set(&mut self, key: K, value: V) {
        match self.entries.iter_mut().find(|(k, _)| *k == key) {
            Some(entry) => entry.1 = value,
            None => self.entries.push((key, value)),
        }
    }

    /// The entries, keys in first-seen order.
    pub fn entries(&self) -> &[(K, V)] {
        &self.entries
    }
}

impl<K, V> RecordSink<K, V> for Latest<K, V>
where
    K: Clone + PartialEq + Send + 'static,
    V: Clone + Send + 'static,
{
    fn write(&mut self, record: &Record<K, V>) -> Result<()> {
        self.set(record.key().clone(), record.value().clone());
        Ok(())
    }
}

/// A sink keeping every record's key and value, in the order written.
#[derive(Debug, Clone)]
pub struct Collect<K, V> {
    records: Vec<(K, V)>,
}

impl<K, V> Default for Collect<K, V> {
    fn default() -> Self {
        Self {
            records: Vec::new(),
        }
    }
}

impl<K, V> Collect<K, V> {
    /// The records, in the order written.
    pub fn records(&self) -> &[(K, V)] {
        &self.records
    }
}

impl<K, V> RecordSink<K, V> for Collect<K, V>
where
    K: Clone + Send + 'static,
    V: Clone + Send + 'static,
{
    fn write(&mut self, record: &Record<K, V>) -> Result<()> {
        self.records
            .push((record.key().clone(), record.value().clone()));
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn age_stats_keep_count_sum_and_mean() {
        let s = [20.0, 25.0, 33.0]
            .into_iter()
            .fold(AgeStats::default(), AgeStats::with);
        assert_eq!(s.participants, 3);
        assert_eq!(s.total_age, 78.0);
        assert_eq!(s.mean_age, 26.0);
    }

    #[test]
    fn latest_keeps_first_seen_order_and_the_last_value() {
        let mut latest = Latest::default();
        for (k, v) in [("b", 1), ("a", 1), ("b", 2), ("c", 1), ("a", 5)] {
            latest.write(&Record::new(k.to_string(), v, 0)).unwrap();
        }
        let got: Vec<(&str, i32)> = latest
            .entries()
            .iter()
            .map(|(k, v)| (k.as_str(), *v))
            .collect();
        assert_eq!(got, [("b", 2), ("a", 5), ("c", 1)]);
    }

    #[test]
    fn collect_keeps_every_record_in_order() {
        let mut all = Collect::default();
        for (k, v) in [("b", 1), ("b", 1), ("a", 2)] {
            all.write(&Record::new(k.to_string(), v, 0)).unwrap();
        }
        assert_eq!(all.records().len(), 3);
        assert_eq!(all.records()[2], ("a".to_string(), 2));
    }
}
