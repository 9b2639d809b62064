//! One row of the shopping log (`user_id,item_id,cat_id,merchant_id,brand_id,month,day,action,
//! age_range,gender,province`) and the gender it carries: what is a valid row, what is a valid
//! gender, and how a gender travels on topic `sex`.
//!
//! The rules (see the README):
//! - a row must have all 11 columns, numbers where numbers go (`brand_id` and `age_range` may be
//!   empty) and a gender that is empty, `0`, `1` or `2`; any other row is malformed: the
//!   producer counts it and sends its line to the dead-letter topic;
//! - an empty gender is the data set's "not recorded": the producer sends it as it is (an empty
//!   value) and the stream counts it with `2`, unknown;
//! - on topic `sex`, a value that is none of `""`, `"0"`, `"1"`, `"2"` (another producer's
//!   record, say) is malformed too: the stream counts it and sends it to its dead-letter topic.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use weir::topology::{Serde, SerdeError};

/// The columns of the shopping log, in order.
pub const COLUMNS: [&str; 11] = [
    "user_id",
    "item_id",
    "cat_id",
    "merchant_id",
    "brand_id",
    "month",
    "day",
    "action",
    "age_range",
    "gender",
    "province",
];

/// A shopper's gender as the data set codes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Gender {
    /// `0`.
    Female,
    /// `1`.
    Male,
    /// `2` (and, on topic `sex`, an empty value).
    Unknown,
}

impl Gender {
    /// The data set's code: `"0"`, `"1"` or `"2"`.
    pub fn code(self) -> &'static str {
        match self {
            Self::Female => "0",
            Self::Male => "1",
            Self::Unknown => "2",
        }
    }

    /// The gender of a code (`"0"`, `"1"`, `"2"`); `None` for anything else.
    pub fn from_code(code: &str) -> Option<Self> {
        match code {
            "0" => Some(Self::Female),
            "1" => Some(Self::Male),
            "2" => Some(Self::Unknown),
            _ => None,
        }
    }
}

impl Serialize for Gender {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for Gender {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Self::from_code(&text).ok_or_else(|| {
            serde::de::Error::custom(format!("gender `{text}` is not 0, 1, 2 or empty"))
        })
    }
}

/// One row of the shopping log. Empty `brand_id`, `age_range` and `gender` read as `None`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogRow {
    /// The shopper.
    pub user_id: u64,
    /// The item.
    pub item_id: u64,
    /// The item's category.
    pub cat_id: u64,
    /// The seller.
    pub merchant_id: u64,
    /// The item's brand, when known.
    pub brand_id: Option<u64>,
    /// Month of the action (written with two digits, `05`..`11`).
    pub month: u8,
    /// Day of the month (two digits).
    pub day: u8,
    /// 0 click, 1 add to cart, 2 purchase, 3 add to favourites.
    pub action: u8,
    /// Age band (0 and empty unknown, 1 under 18, 2 18-24 ... 8 over 50).
    pub age_range: Option<u8>,
    /// The shopper's gender; `None` when the column is empty.
    pub gender: Option<Gender>,
    /// The province of the shopper's address (Chinese name).
    pub province: String,
}

impl LogRow {
    /// What the producer sends to topic `sex`: the gender column as written (`""` when empty).
    pub fn gender_field(&self) -> String {
        self.gender.map(Gender::code).unwrap_or_default().to_owned()
    }
}

/// The values of topic `sex`: `"0"`, `"1"`, `"2"` as written; an empty value reads as
/// [`Gender::Unknown`]; anything else fails (the stream's error handler sends it to the
/// dead-letter topic). Writes the code.
#[derive(Debug, Clone, Copy, Default)]
pub struct GenderSerde;

impl Serde<Gender> for GenderSerde {
    fn serialize(&self, value: &Gender) -> Result<Vec<u8>, SerdeError> {
        Ok(value.code().as_bytes().to_vec())
    }

    fn deserialize(&self, bytes: &[u8]) -> Result<Gender, SerdeError> {
        if bytes.is_empty() {
            return Ok(Gender::Unknown);
        }
        std::str::from_utf8(bytes)
            .ok()
            .and_then(Gender::from_code)
            .ok_or_else(|| {
                let shown = String::from_utf8_lossy(&bytes[..bytes.len().min(40)]).into_owned();
                SerdeError::new("gender", format!("`{shown}` is not 0, 1, 2 or empty"))
            })
    }

    fn name(&self) -> &'static str {
        "gender"
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use weir::topology::CsvSerde;

    fn csv() -> CsvSerde<LogRow> {
        CsvSerde::with_columns(&COLUMNS)
    }

    #[test]
    fn rows_read_with_empty_columns_and_two_digit_dates() {
        let row = csv()
            .deserialize("328862,323294,833,2882,,08,29,0,,,内蒙古".as_bytes())
            .unwrap();
        assert_eq!((row.month, row.day), (8, 29));
        assert_eq!(
            (row.brand_id, row.age_range, row.gender),
            (None, None, None)
        );
        assert_eq!(row.gender_field(), "");
        assert_eq!(row.province, "内蒙古");
        let row = csv()
            .deserialize("1,2,3,4,5,11,11,2,3,1,上海".as_bytes())
            .unwrap();
        assert_eq!(row.gender, Some(Gender::Male));
        assert_eq!(row.gender_field(), "1");
    }

    #[test]
    fn malformed_rows_fail() {
        for line in [
            "1,2,3,4,5,11,11,2,3,1",          // a missing column
            "1,2,3,4,5,11,11,2,3,1,上海,x",   // one too many
            "u1,2,3,4,5,11,11,2,3,1,上海",    // text where a number goes
            "1,2,3,4,5,11,11,2,3,f,上海",     // a gender that is no code
            "1,2,3,4,5,11,11,2,3,3,上海",     // nor this
            "1,2,3,4,5,11,11,click,3,1,上海", // text for the action
        ] {
            assert!(csv().deserialize(line.as_bytes()).is_err(), "{line}");
        }
    }

    #[test]
    fn the_sex_topic_reads_codes_and_empty_as_unknown() {
        let s = GenderSerde;
        assert_eq!(s.deserialize(b"0").unwrap(), Gender::Female);
        assert_eq!(s.deserialize(b"1").unwrap(), Gender::Male);
        assert_eq!(s.deserialize(b"2").unwrap(), Gender::Unknown);
        assert_eq!(s.deserialize(b"").unwrap(), Gender::Unknown);
        for bad in [&b"3"[..], b" 1", b"male", b"\xff"] {
            let err = s.deserialize(bad).unwrap_err().to_string();
            assert!(err.contains("is not 0, 1, 2 or empty"), "{err}");
        }
        assert_eq!(s.serialize(&Gender::Male).unwrap(), b"1");
    }
}
