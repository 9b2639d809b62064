//! What the streaming application aggregates, and the named results it prints.
//!
//! - [`BatchStats`]: one 5-second batch (a tumbling window over the records' timestamps): the
//!   sums behind its averages, and its first and last sample dates with the irregular pairs
//!   between its own samples.
//! - [`SinceStart`]: the running aggregate over every batch closed so far. Folding a batch in
//!   also counts the pair made by the previous batch's last sample and this batch's first, so
//!   that a batch's gap count covers every consecutive pair whose later sample is in the batch.
//! - [`LightStats`]: the light sum and count of one 45-second window.

use serde::{Deserialize, Serialize};

use crate::reading::SensorReading;

/// Seconds between two regular samples.
pub const SAMPLE_INTERVAL_S: i64 = 60;

/// Result name: the batch's average temperature.
pub const TEMPERATURE_BY_BATCH: &str = "Average temperature by batch";
/// Result name: the batch's average humidity.
pub const HUMIDITY_BY_BATCH: &str = "Average humidity by batch";
/// Result name: the batch's average CO2.
pub const CO2_BY_BATCH: &str = "Average CO2 by batch";
/// Result name: the average temperature of every sample so far.
pub const TEMPERATURE_SINCE_START: &str = "Average temperature since start";
/// Result name: the average humidity of every sample so far.
pub const HUMIDITY_SINCE_START: &str = "Average humidity since start";
/// Result name: the average CO2 of every sample so far.
pub const CO2_SINCE_START: &str = "Average CO2 since start";
/// Result name: consecutive pairs not one minute apart, whose later sample is in the batch.
pub const IRREGULAR_GAPS_BY_BATCH: &str = "Gaps not one minute by batch";
/// Result name: the average light of a 45-second window.
pub const LUMINOSITY_BY_WINDOW: &str = "Average luminosity by 45 s window";

/// Every result name, in the order a closed batch emits them, then the window result.
pub const RESULT_NAMES: [&str; 8] = [
    TEMPERATURE_BY_BATCH,
    HUMIDITY_BY_BATCH,
    CO2_BY_BATCH,
    TEMPERATURE_SINCE_START,
    HUMIDITY_SINCE_START,
    CO2_SINCE_START,
    IRREGULAR_GAPS_BY_BATCH,
    LUMINOSITY_BY_WINDOW,
];

/// The value of a result as printed: `name: value`, the value in Rust's shortest form that
/// reads back to the same `f64` (integers without a fraction).
pub fn result_text(name: &str, value: f64) -> String {
    format!("{name}: {value}")
}

/// Sums of temperature, humidity and CO2 over some samples, and how many.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Sums {
    /// Samples added.
    pub count: u64,
    /// Sum of temperatures.
    pub temperature: f64,
    /// Sum of humidities.
    pub humidity: f64,
    /// Sum of CO2 values.
    pub co2: f64,
}

impl Sums {
    /// The averages (temperature, humidity, CO2); `None` without samples.
    pub fn averages(&self) -> Option<(f64, f64, f64)> {
        (self.count > 0).then(|| {
            let n = self.count as f64;
            (self.temperature / n, self.humidity / n, self.co2 / n)
        })
    }

    fn add(&mut self, other: &Sums) {
        self.count += other.count;
        self.temperature += other.temperature;
        self.humidity += other.humidity;
        self.co2 += other.co2;
    }
}

/// One batch, folded record by record in arrival order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct BatchStats {
    /// The batch's sums.
    pub sums: Sums,
    /// The first sample's date (seconds).
    pub first_date_s: Option<i64>,
    /// The last sample's date (seconds).
    pub last_date_s: Option<i64>,
    /// Pairs of consecutive samples of this batch not [`SAMPLE_INTERVAL_S`] apart.
    pub irregular_within: u64,
}

impl BatchStats {
    /// The batch with one more sample (the next in arrival order).
    pub fn with(mut self, r: &SensorReading) -> Self {
        if let Some(last) = self.last_date_s {
            self.irregular_within += u64::from(r.date_s - last != SAMPLE_INTERVAL_S);
        }
        self.first_date_s.get_or_insert(r.date_s);
        self.last_date_s = Some(r.date_s);
        self.sums.add(&Sums {
            count: 1,
            temperature: r.temperature,
            humidity: r.humidity,
            co2: r.co2,
        });
        self
    }
}

/// Everything since the application started, updated once per closed batch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct SinceStart {
    /// Batches folded in.
    pub batches: u64,
    /// Sums over every sample of those batches.
    pub sums: Sums,
    /// The last sample's date (seconds).
    pub last_date_s: Option<i64>,
    /// The batch folded in last.
    pub last_batch: BatchStats,
    /// Its irregular pairs, the one across its start included.
    pub last_batch_irregular: u64,
}

impl SinceStart {
    /// The running aggregate after one more batch.
    pub fn with(mut self, batch: &BatchStats) -> Self {
        let across = match (self.last_date_s, batch.first_date_s) {
            (Some(before), Some(first)) => u64::from(first - before != SAMPLE_INTERVAL_S),
            _ => 0,
        };
        self.batches += 1;
        self.sums.add(&batch.sums);
        if batch.last_date_s.is_some() {
            self.last_date_s = batch.last_date_s;
        }
        self.last_batch = *batch;
        self.last_batch_irregular = batch.irregular_within + across;
        self
    }

    /// The results of the batch folded in last, in [`RESULT_NAMES`] order (`name`, value).
    pub fn results(&self) -> Vec<(&'static str, f64)> {
        let (Some(batch), Some(total)) = (self.last_batch.sums.averages(), self.sums.averages())
        else {
            return Vec::new();
        };
        vec![
            (TEMPERATURE_BY_BATCH, batch.0),
            (HUMIDITY_BY_BATCH, batch.1),
            (CO2_BY_BATCH, batch.2),
            (TEMPERATURE_SINCE_START, total.0),
            (HUMIDITY_SINCE_START, total.1),
            (CO2_SINCE_START, total.2),
            (IRREGULAR_GAPS_BY_BATCH, self.last_batch_irregular as f64),
        ]
    }
}

/// Light over one window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct LightStats {
    /// Samples.
    pub count: u64,
    /// Sum of their light values.
    pub sum: f64,
}

impl LightStats {
    /// With one more sample.
    pub fn with(mut self, r: &SensorReading) -> Self {
        self.count += 1;
        self.sum += r.light;
        self
    }

    /// The average light; `None` without samples.
    pub fn average(&self) -> Option<f64> {
        (self.count > 0).then(|| self.sum / self.count as f64)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn reading(date_s: i64, temperature: f64, light: f64) -> SensorReading {
        SensorReading {
            id: 0,
            date: String::new(),
            date_s,
            temperature,
            humidity: 2.0 * temperature,
            light,
            co2: 400.0 + temperature,
            humidity_ratio: 0.004,
            occupancy: 0,
        }
    }

    #[test]
    fn batches_average_and_count_irregular_pairs_also_across_their_start() {
        let first = [(0, 20.0), (60, 22.0), (119, 24.0)]
            .iter()
            .fold(BatchStats::default(), |b, &(d, t)| {
                b.with(&reading(d, t, 0.0))
            });
        assert_eq!(first.irregular_within, 1);
        assert_eq!(first.sums.averages(), Some((22.0, 44.0, 422.0)));
        let second = [(180, 30.0), (240, 30.0)]
            .iter()
            .fold(BatchStats::default(), |b, &(d, t)| {
                b.with(&reading(d, t, 0.0))
            });
        let s = SinceStart::default().with(&first);
        assert_eq!(s.last_batch_irregular, 1, "no pair before the first sample");
        let s = s.with(&second);
        // 119 -> 180 is 61 s: the pair across the batches counts in the second.
        assert_eq!(s.last_batch_irregular, 1);
        assert_eq!(s.batches, 2);
        let results = s.results();
        assert_eq!(results.len(), 7);
        assert_eq!(results[0], (TEMPERATURE_BY_BATCH, 30.0));
        assert_eq!(results[3], (TEMPERATURE_SINCE_START, 126.0 / 5.0));
        assert_eq!(results[6], (IRREGULAR_GAPS_BY_BATCH, 1.0));
        assert!(SinceStart::default().results().is_empty());
    }

    #[test]
    fn light_and_text() {
        let l = LightStats::default()
            .with(&reading(0, 0.0, 400.0))
            .with(&reading(60, 0.0, 0.0));
        assert_eq!(l.average(), Some(200.0));
        assert_eq!(LightStats::default().average(), None);
        assert_eq!(
            result_text(CO2_BY_BATCH, 721.25),
            "Average CO2 by batch: 721.25"
        );
        assert_eq!(
            result_text(IRREGULAR_GAPS_BY_BATCH, 3.0),
            "Gaps not one minute by batch: 3"
        );
    }
}
