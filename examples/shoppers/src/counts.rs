//! The counts of one second: kept per window as [`GenderCounts`], sent to topic `result` as
//! [`SecondCounts`], the JSON array `[{"0":12},{"1":9},{"2":3}]` (a one-entry object per
//! gender code that occurred, in code order; a gender absent from the second is left out, as
//! a count by value leaves it out).

use crate::row::Gender;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::BTreeMap;

/// Records per gender in one second (the window store's value).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GenderCounts {
    /// Code `0`.
    pub female: u64,
    /// Code `1`.
    pub male: u64,
    /// Code `2` and empty.
    pub unknown: u64,
}

impl GenderCounts {
    /// These counts with one more record of `gender`.
    pub fn with(mut self, gender: Gender) -> Self {
        match gender {
            Gender::Female => self.female += 1,
            Gender::Male => self.male += 1,
            Gender::Unknown => self.unknown += 1,
        }
        self
    }

    /// The count of `gender`.
    pub fn of(&self, gender: Gender) -> u64 {
        match gender {
            Gender::Female => self.female,
            Gender::Male => self.male,
            Gender::Unknown => self.unknown,
        }
    }
}

/// One second's counts on topic `result`: `[{"0":12},{"1":9},{"2":3}]`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SecondCounts(pub GenderCounts);

const GENDERS: [Gender; 3] = [Gender::Female, Gender::Male, Gender::Unknown];

impl Serialize for SecondCounts {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let entries: Vec<BTreeMap<&str, u64>> = GENDERS
            .iter()
            .filter(|g| self.0.of(**g) > 0)
            .map(|g| BTreeMap::from([(g.code(), self.0.of(*g))]))
            .collect();
        entries.serialize(s)
    }
}

impl<'de> Deserialize<'de> for SecondCounts {
    /// Reads the array back; each gender at most once, each object with one entry.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let entries = Vec::<BTreeMap<String, u64>>::deserialize(d)?;
        let mut counts = GenderCounts::default();
        let mut seen = [false; 3];
        for entry in entries {
            if entry.len() != 1 {
                return Err(D::Error::custom(format!(
                    "each object holds one gender, not {}",
                    entry.len()
                )));
            }
            for (code, n) in entry {
                let gender = Gender::from_code(&code)
                    .ok_or_else(|| D::Error::custom(format!("`{code}` is not a gender code")))?;
                let at = gender as usize;
                if std::mem::replace(&mut seen[at], true) {
                    return Err(D::Error::custom(format!("gender {code} appears twice")));
                }
                match gender {
                    Gender::Female => counts.female = n,
                    Gender::Male => counts.male = n,
                    Gender::Unknown => counts.unknown = n,
                }
            }
        }
        Ok(Self(counts))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_array_lists_the_genders_that_occurred_in_code_order() {
        let c = GenderCounts {
            female: 12,
            male: 9,
            unknown: 3,
        };
        let text = serde_json::to_string(&SecondCounts(c)).unwrap();
        assert_eq!(text, r#"[{"0":12},{"1":9},{"2":3}]"#);
        let only = GenderCounts::default()
            .with(Gender::Male)
            .with(Gender::Male);
        assert_eq!(
            serde_json::to_string(&SecondCounts(only)).unwrap(),
            r#"[{"1":2}]"#
        );
        let back: SecondCounts = serde_json::from_str(r#"[{"2":3},{"0":12},{"1":9}]"#).unwrap();
        assert_eq!(back.0, c);
    }

    #[test]
    fn malformed_arrays_fail() {
        for bad in [
            r#"{"0":1}"#,
            r#"[{"0":1,"1":2}]"#,
            r#"[{"0":1},{"0":2}]"#,
            r#"[{"x":1}]"#,
            r#"[{"0":-1}]"#,
        ] {
            assert!(serde_json::from_str::<SecondCounts>(bad).is_err(), "{bad}");
        }
    }
}
