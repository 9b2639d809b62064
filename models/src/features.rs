//! Feature extraction: turns a [`Flight`] into a fixed-width `f32` vector.
//!
//! Only what is known at departure time is used: `DEPARTURE_DELAY`, `DISTANCE`, the scheduled
//! departure hour, `MONTH`, `DAY_OF_WEEK`, `AIRLINE`, `ORIGIN_AIRPORT`, `DESTINATION_AIRPORT`
//! and the four weather columns. Missing numbers are imputed with the training mean and flagged
//! by an indicator feature; categories use a vocabulary learnt on the training data plus an
//! "other" bucket for unseen values.

use serde::{Deserialize, Serialize};

use crate::flight::Flight;
pub use crate::vocab::{Norm, Vocab};

/// Departure delays are clamped to this range (minutes) before transformation.
const DELAY_CLAMP: (f64, f64) = (-60.0, 360.0);
/// Scale (minutes) applied to delay features.
const DELAY_SCALE: f32 = 30.0;
/// Knots (minutes) of the piecewise-linear departure-delay hinge features.
pub(crate) const DELAY_KNOTS: [f32; 14] = [
    -10.0, -5.0, 0.0, 5.0, 10.0, 15.0, 20.0, 25.0, 30.0, 40.0, 60.0, 90.0, 120.0, 180.0,
];
/// Names of the weather columns, in feature order.
pub const WEATHER_COLUMNS: [&str; 4] = ["TEMPERATURE", "WIND_SPEED", "VISIBILITY", "PRECIPITATION"];

/// The learnt feature specification: vocabularies and normalisation constants.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureSpec {
    /// Carrier vocabulary.
    pub airlines: Vocab,
    /// Origin airport vocabulary.
    pub origins: Vocab,
    /// Destination airport vocabulary.
    pub destinations: Vocab,
    /// Normalisation of `ln(DISTANCE)`.
    pub log_distance: Norm,
    /// Normalisation of the weather columns, in [`WEATHER_COLUMNS`] order.
    pub weather: [Norm; 4],
}

/// Number of dense (non one-hot) features; they come first in the vector.
pub const DENSE_DIM: usize = 4 + DELAY_KNOTS.len() + 3 + 2 + 6 + 16;
/// Number of one-hot (categorical) fields: hour, day of week, airline, origin, destination.
pub const CATEGORICAL_FIELDS: usize = 5;
/// Hour slots (24 hours + invalid) and day-of-week slots (7 days + invalid).
const HOUR_SLOTS: usize = 25;
const DOW_SLOTS: usize = 8;
/// `sin` and `cos` of `2 pi m / 12` for months 1..=12.
const MONTH_SIN: [f32; 12] = [
    0.5,
    0.866_025_4,
    1.0,
    0.866_025_4,
    0.5,
    0.0,
    -0.5,
    -0.866_025_4,
    -1.0,
    -0.866_025_4,
    -0.5,
    0.0,
];
const MONTH_COS: [f32; 12] = [
    0.866_025_4,
    0.5,
    0.0,
    -0.5,
    -0.866_025_4,
    -1.0,
    -0.866_025_4,
    -0.5,
    0.0,
    0.5,
    0.866_025_4,
    1.0,
];

impl FeatureSpec {
    /// Learns vocabularies (values seen at least `min_count` times) and normalisation constants.
    pub fn fit(flights: &[Flight], min_count: usize) -> Self {
        let weather = [0, 1, 2, 3].map(|i| Norm::fit(flights.iter().filter_map(|f| weather(f)[i])));
        FeatureSpec {
            airlines: Vocab::fit(flights.iter().map(|f| f.airline.as_str()), min_count),
            origins: Vocab::fit(flights.iter().map(|f| f.origin_airport.as_str()), min_count),
            destinations: Vocab::fit(
                flights.iter().map(|f| f.destination_airport.as_str()),
                min_count,
            ),
            log_distance: Norm::fit(flights.iter().filter_map(log_distance)),
            weather,
        }
    }

    /// Slots of the one-hot fields, in order: hour, day of week, airline, origin, destination.
    pub fn categorical_slots(&self) -> [usize; CATEGORICAL_FIELDS] {
        [
            HOUR_SLOTS,
            DOW_SLOTS,
            self.airlines.slots(),
            self.origins.slots(),
            self.destinations.slots(),
        ]
    }

    /// Width of the feature vector: [`DENSE_DIM`] dense features, then the one-hot blocks.
    pub fn dim(&self) -> usize {
        DENSE_DIM + self.categorical_slots().iter().sum::<usize>()
    }

    /// Writes the features of `flight` into `out`, which must hold exactly [`Self::dim`] values.
    ///
    /// Never fails: missing or odd inputs are imputed and flagged. Slots beyond `out.len()`
    /// are silently dropped, so callers must size `out` with [`Self::dim`].
    pub fn extract_into(&self, flight: &Flight, out: &mut [f32]) {
        out.fill(0.0);
        let (dense, onehot) = out.split_at_mut(DENSE_DIM.min(out.len()));
        let hot = self.extract_sparse(flight, dense);
        let mut offset = 0;
        for (slot, width) in hot.into_iter().zip(self.categorical_slots()) {
            if let Some(v) = onehot.get_mut(offset + slot) {
                *v = 1.0;
            }
            offset += width;
        }
    }

    /// Sparse form for fast inference: writes the [`DENSE_DIM`] dense features into `dense`
    /// and returns, for each one-hot field (see [`Self::categorical_slots`]), the index of its
    /// hot slot within that field.
    pub fn extract_sparse(
        &self,
        flight: &Flight,
        dense: &mut [f32],
    ) -> [usize; CATEGORICAL_FIELDS] {
        let mut buf = [0.0f32; DENSE_DIM];
        let mut w = Writer {
            out: &mut buf,
            pos: 0,
        };
        // Departure delay: missing flag, raw, hinges, log, clipped positive part.
        let delay = flight.departure_delay.filter(|d| d.is_finite());
        let d = delay.unwrap_or(0.0).clamp(DELAY_CLAMP.0, DELAY_CLAMP.1) as f32;
        let inv = 1.0 / DELAY_SCALE;
        let dp = d.clamp(0.0, 60.0) * inv; // 0..2, used in interactions
        w.push(f32::from(u8::from(delay.is_none())));
        w.push(d * inv);
        for k in DELAY_KNOTS {
            w.push((d - k).max(0.0) * inv);
        }
        w.push(d.max(0.0).ln_1p() / 3.0);
        w.push(dp);
        // Distance.
        let (ld, ld_missing) = self.log_distance.z(log_distance(flight));
        w.push(ld);
        w.push(ld_missing);
        w.push(ld * dp);
        // Scheduled hour: centred hour and its interaction with the delay.
        let hour = flight.scheduled_hour();
        let hc = hour.map_or(0.0, |h| (h as f32 - 13.0) / 5.0);
        w.push(hc);
        w.push(hc * dp);
        // Month as a cycle (months 10-12 are never seen in training) and its interactions.
        let m = usize::try_from(flight.month - 1).ok().filter(|&m| m < 12);
        let (ms, mc) = m.map_or((0.0, 0.0), |m| (MONTH_SIN[m], MONTH_COS[m]));
        for v in [ms, mc, ms * dp, mc * dp, ms * ld, mc * ld] {
            w.push(v);
        }
        // Weather: z-scores, missing flags, rain / low-visibility flags, interactions.
        let raw = weather(flight);
        let z: [(f32, f32); 4] = [0, 1, 2, 3].map(|i| self.weather[i].z(raw[i]));
        for (v, _) in z {
            w.push(v);
        }
        for (_, miss) in z {
            w.push(miss);
        }
        let rain = f32::from(u8::from(raw[3].is_some_and(|p| p > 0.0)));
        let low_vis = f32::from(u8::from(raw[2].is_some_and(|v| v < 10.0)));
        w.push(rain);
        w.push(low_vis);
        for v in [z[0].0, z[1].0, z[2].0, rain, low_vis] {
            w.push(v * dp);
        }
        w.push(z[0].0 * ld);
        let n = dense.len().min(DENSE_DIM);
        dense[..n].copy_from_slice(&buf[..n]);
        // One-hot fields.
        let dow = usize::try_from(flight.day_of_week - 1)
            .ok()
            .filter(|&d| d < 7);
        [
            hour.unwrap_or(24),
            dow.unwrap_or(7),
            self.airlines.slot(&flight.airline),
            self.origins.slot(&flight.origin_airport),
            self.destinations.slot(&flight.destination_airport),
        ]
    }

    /// Extracts a batch row-major into `out`, resizing it to `flights.len() * dim`.
    pub fn extract_batch(&self, flights: &[Flight], out: &mut Vec<f32>) {
        let dim = self.dim();
        out.resize(flights.len() * dim, 0.0);
        for (f, row) in flights.iter().zip(out.chunks_exact_mut(dim)) {
            self.extract_into(f, row);
        }
    }
}

/// `ln(DISTANCE)` when the distance is present and positive.
fn log_distance(f: &Flight) -> Option<f64> {
    f.distance
        .filter(|d| d.is_finite() && *d > 0.0)
        .map(|d| f64::from((d as f32).ln()))
}

/// The weather columns in [`WEATHER_COLUMNS`] order.
fn weather(f: &Flight) -> [Option<f64>; 4] {
    [f.temperature, f.wind_speed, f.visibility, f.precipitation]
}

/// Sequential writer over the dense features that ignores writes past the end.
struct Writer<'a> {
    out: &'a mut [f32; DENSE_DIM],
    pos: usize,
}

impl Writer<'_> {
    #[inline(always)]
    fn push(&mut self, v: f32) {
        if self.pos < DENSE_DIM {
            self.out[self.pos] = v;
        }
        self.pos += 1;
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn flight(airline: &str, origin: &str, dest: &str, delay: Option<f64>) -> Flight {
        Flight {
            year: 2013,
            month: 5,
            day: 1,
            day_of_week: 3,
            airline: airline.into(),
            origin_airport: origin.into(),
            destination_airport: dest.into(),
            scheduled_departure: 1730,
            departure_delay: delay,
            distance: Some(1000.0),
            temperature: Some(60.0),
            wind_speed: Some(10.0),
            visibility: Some(10.0),
            precipitation: Some(0.0),
            ..Flight::default()
        }
    }

    fn spec() -> FeatureSpec {
        let mut flights = Vec::new();
        for i in 0..30 {
            flights.push(flight("AA", "JFK", "LAX", Some(f64::from(i))));
            flights.push(flight("UA", "EWR", "ORD", Some(-5.0)));
        }
        flights.push(flight("ZZ", "LGA", "BOS", Some(0.0)));
        FeatureSpec::fit(&flights, 2)
    }

    fn value(spec: &FeatureSpec, f: &Flight, name: &str) -> f32 {
        let names = spec.feature_names();
        let i = names.iter().position(|n| n == name).unwrap();
        let mut out = vec![0.0; spec.dim()];
        spec.extract_into(f, &mut out);
        out[i]
    }

    #[test]
    fn unseen_categories_use_other_bucket() {
        let s = spec();
        let f = flight("XX", "SFO", "NOWHERE", Some(3.0));
        assert_eq!(value(&s, &f, "airline_other"), 1.0);
        assert_eq!(value(&s, &f, "origin_other"), 1.0);
        assert_eq!(value(&s, &f, "dest_other"), 1.0);
        assert_eq!(value(&s, &f, "airline_AA"), 0.0);
        let known = flight("AA", "JFK", "LAX", Some(3.0));
        assert_eq!(value(&s, &known, "airline_AA"), 1.0);
        assert_eq!(value(&s, &known, "airline_other"), 0.0);
    }

    #[test]
    fn missing_values_are_imputed_and_flagged() {
        let s = spec();
        let mut f = flight("AA", "JFK", "LAX", None);
        f.distance = None;
        f.temperature = None;
        f.wind_speed = Some(f64::NAN);
        f.visibility = None;
        f.precipitation = None;
        let mut out = vec![0.0; s.dim()];
        s.extract_into(&f, &mut out);
        assert!(out.iter().all(|v| v.is_finite()));
        assert_eq!(value(&s, &f, "delay_missing"), 1.0);
        assert_eq!(value(&s, &f, "delay"), 0.0);
        assert_eq!(value(&s, &f, "distance_missing"), 1.0);
        assert_eq!(value(&s, &f, "temperature_missing"), 1.0);
        assert_eq!(value(&s, &f, "wind_speed_missing"), 1.0);
        assert_eq!(value(&s, &f, "temperature"), 0.0);
        assert_eq!(value(&s, &f, "rain"), 0.0);
        let present = flight("AA", "JFK", "LAX", Some(12.0));
        assert_eq!(value(&s, &present, "delay_missing"), 0.0);
        assert_eq!(value(&s, &present, "temperature_missing"), 0.0);
    }

    #[test]
    fn delay_transforms() {
        let s = spec();
        let f = flight("AA", "JFK", "LAX", Some(45.0));
        assert!((value(&s, &f, "delay") - 1.5).abs() < 1e-6);
        assert!((value(&s, &f, "delay_hinge_30") - 0.5).abs() < 1e-6);
        assert_eq!(value(&s, &f, "delay_hinge_60"), 0.0);
        assert!((value(&s, &f, "delay_pos60") - 1.5).abs() < 1e-6);
        let huge = flight("AA", "JFK", "LAX", Some(5000.0));
        assert!(
            (value(&s, &huge, "delay") - 12.0).abs() < 1e-6,
            "clamped to 360 min"
        );
    }

    #[test]
    fn odd_calendar_values_do_not_panic() {
        let s = spec();
        let mut f = flight("AA", "JFK", "LAX", Some(1.0));
        f.month = 13;
        f.day_of_week = 0;
        f.scheduled_departure = -1;
        assert_eq!(value(&s, &f, "dow_other"), 1.0);
        assert_eq!(value(&s, &f, "hour_other"), 1.0);
        assert_eq!(value(&s, &f, "month_sin"), 0.0);
        f.month = 12;
        f.day_of_week = 1;
        f.scheduled_departure = 2359;
        assert_eq!(value(&s, &f, "dow_1"), 1.0);
        assert_eq!(value(&s, &f, "hour_23"), 1.0);
        assert_eq!(value(&s, &f, "month_cos"), 1.0);
    }

    #[test]
    fn sparse_and_dense_extraction_agree() {
        let s = spec();
        let f = flight("UA", "EWR", "ORD", Some(20.0));
        let mut full = vec![0.0; s.dim()];
        s.extract_into(&f, &mut full);
        let mut dense = vec![0.0; DENSE_DIM];
        let hot = s.extract_sparse(&f, &mut dense);
        assert_eq!(&full[..DENSE_DIM], &dense[..]);
        let ones: Vec<usize> = full[DENSE_DIM..]
            .iter()
            .enumerate()
            .filter(|(_, &v)| v == 1.0)
            .map(|(i, _)| i)
            .collect();
        let slots = s.categorical_slots();
        let mut offset = 0;
        let mut expected = Vec::new();
        for (h, w) in hot.iter().zip(slots) {
            expected.push(offset + h);
            offset += w;
        }
        assert_eq!(ones, expected);
        // A too-short buffer is tolerated (extra slots dropped), never a panic.
        let mut short = vec![0.0; 3];
        s.extract_into(&f, &mut short);
    }
}
