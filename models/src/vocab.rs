//! Learnt encoders: categorical vocabularies with an "other" bucket, and mean/std normalisers.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use serde::{Deserialize, Serialize};

/// A categorical vocabulary; values not in it map to the trailing "other" bucket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(from = "Vec<String>", into = "Vec<String>")]
pub struct Vocab {
    values: Vec<String>,
    /// Values of up to 7 bytes, packed into a `u64` (see [`pack`]): one integer compare.
    short: HashMap<u64, usize, BuildHasherDefault<Fnv1a>>,
    /// Longer values.
    long: HashMap<String, usize, BuildHasherDefault<Fnv1a>>,
}

/// Packs a string of at most 7 bytes and its length into a `u64` (distinct strings, distinct keys).
#[inline]
fn pack(value: &str) -> Option<u64> {
    let b = value.as_bytes();
    (b.len() <= 7).then(|| {
        b.iter()
            .rev()
            .fold(b.len() as u64, |k, &c| (k << 8) | u64::from(c))
    })
}

/// FNV-1a for strings, multiply-fold for packed codes: fast hashing of the short airline and
/// airport codes (vocabularies are learnt from trusted training data, no DoS concern).
#[derive(Debug, Clone, Copy)]
pub struct Fnv1a(u64);

impl Default for Fnv1a {
    fn default() -> Self {
        Fnv1a(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for Fnv1a {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }

    /// Packed keys: one multiply and a fold, mixing into both the low and the high bits.
    fn write_u64(&mut self, x: u64) {
        let h = (self.0 ^ x).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        self.0 = h ^ (h >> 29);
    }
}

impl From<Vec<String>> for Vocab {
    fn from(values: Vec<String>) -> Self {
        let mut short = HashMap::default();
        let mut long = HashMap::default();
        for (i, v) in values.iter().enumerate() {
            match pack(v) {
                Some(k) => short.entry(k).or_insert(i),
                None => long.entry(v.clone()).or_insert(i),
            };
        }
        Vocab {
            values,
            short,
            long,
        }
    }
}

impl From<Vocab> for Vec<String> {
    fn from(v: Vocab) -> Self {
        v.values
    }
}

impl Vocab {
    /// Learns the values seen at least `min_count` times, most frequent first (ties by name).
    pub fn fit<'a>(values: impl Iterator<Item = &'a str>, min_count: usize) -> Self {
        let mut counts: HashMap<&str, usize> = HashMap::new();
        for v in values {
            *counts.entry(v).or_insert(0) += 1;
        }
        let mut kept: Vec<(&str, usize)> = counts
            .into_iter()
            .filter(|&(_, c)| c >= min_count)
            .collect();
        kept.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        Vocab::from(
            kept.into_iter()
                .map(|(v, _)| v.to_string())
                .collect::<Vec<_>>(),
        )
    }

    /// Number of slots: the known values plus the "other" bucket.
    pub fn slots(&self) -> usize {
        self.values.len() + 1
    }

    /// Slot of `value`: its index, or the "other" bucket for unseen values.
    pub fn slot(&self, value: &str) -> usize {
        let found = match pack(value) {
            Some(k) => self.short.get(&k),
            None => self.long.get(value),
        };
        found.copied().unwrap_or(self.values.len())
    }

    /// The known values.
    pub fn values(&self) -> &[String] {
        &self.values
    }
}

/// Mean and standard deviation of a numeric input, learnt on the training data.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Norm {
    /// Mean (also the imputed value for missing inputs).
    pub mean: f64,
    /// Standard deviation (at least a small positive number).
    pub std: f64,
}

impl Norm {
    /// Mean and standard deviation of the finite values; `(0, 1)` when there are none.
    pub fn fit(values: impl Iterator<Item = f64>) -> Self {
        let (mut n, mut sum, mut sq) = (0.0f64, 0.0f64, 0.0f64);
        for v in values.filter(|v| v.is_finite()) {
            n += 1.0;
            sum += v;
            sq += v * v;
        }
        if n < 1.0 {
            return Norm {
                mean: 0.0,
                std: 1.0,
            };
        }
        let mean = sum / n;
        let var = (sq / n - mean * mean).max(0.0);
        Norm {
            mean,
            std: var.sqrt().max(1e-6),
        }
    }

    /// Standardised value and a missing flag (missing or non-finite values give `(0, 1)`).
    pub(crate) fn z(&self, v: Option<f64>) -> (f32, f32) {
        match v.filter(|v| v.is_finite()) {
            Some(v) => (((v - self.mean) / self.std) as f32, 0.0),
            None => (0.0, 1.0),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn vocabulary_respects_min_count_and_serde() {
        let mut codes = vec!["UA"; 3];
        codes.extend(["AA"; 3]);
        codes.extend(["B6", "ZZ"]);
        let v = Vocab::fit(codes.into_iter(), 2);
        assert_eq!(v.values(), ["AA", "UA"]);
        assert_eq!(v.slots(), 3);
        assert_eq!(v.slot("ZZ"), 2);
        let json = serde_json::to_string(&v).unwrap();
        assert_eq!(json, r#"["AA","UA"]"#);
        let back: Vocab = serde_json::from_str(&json).unwrap();
        assert_eq!(back, v);
        assert_eq!(back.slot("UA"), 1);
        let long = Vocab::from(vec!["A-VERY-LONG-CODE".to_string(), "X".to_string()]);
        assert_eq!(long.slot("A-VERY-LONG-CODE"), 0);
        assert_eq!(long.slot("X"), 1);
        assert_eq!(long.slot("X\0"), 2);
        assert_eq!(long.slot(""), 2);
    }

    #[test]
    fn norm_handles_empty_and_constant_inputs() {
        let n = Norm::fit(std::iter::empty());
        assert_eq!((n.mean, n.std), (0.0, 1.0));
        let c = Norm::fit([2.0, 2.0, f64::NAN].into_iter());
        assert_eq!(c.mean, 2.0);
        assert!(c.std > 0.0);
    }
}
