//! SQL types to JSON, as Kafka Connect's JDBC source maps them (then written by its JSON
//! converter): values arrive in PostgreSQL's binary format and are written as JSON text.
//!
//! | PostgreSQL | JSON |
//! | --- | --- |
//! | `smallint`, `integer`, `bigint`, `oid` | number |
//! | `real`, `double precision` | number (`NaN`, `±Infinity` as strings) |
//! | `numeric` | string `"12.50"` by default, or number `12.50` ([`NumericMapping`]) |
//! | `boolean` | `true` / `false` |
//! | `text`, `varchar`, `char(n)`, `name`, `"char"`, enums, `citext` | string |
//! | `uuid` | string |
//! | `json`, `jsonb` | the JSON value itself |
//! | `bytea` | base64 string |
//! | `timestamp`, `timestamptz` | epoch milliseconds by default, or ISO 8601 ([`TemporalMapping`]) |
//! | `date` | days since 1970-01-01, or `"2024-05-01"` |
//! | `time` | milliseconds since midnight, or `"12:30:00.25"` |
//! | SQL `NULL` | `null` |
//!
//! Infinite dates and timestamps are the strings `"infinity"` and `"-infinity"`. Other types
//! (arrays, intervals, network addresses...) are refused when the source starts: cast them.

use super::config::{NumericMapping, TemporalMapping};
use super::position::PG_EPOCH_MICROS;
use base64::Engine;
use std::io::Write;
use tokio_postgres::types::{Kind, Type};

/// Days from 0001-01-01 (chrono's "CE" day 1) to 1970-01-01.
const CE_DAYS_TO_1970: i32 = 719_163;
/// Days from 1970-01-01 to 2000-01-01.
const DAYS_1970_TO_2000: i32 = 10_957;

/// What a column is, for its JSON form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ColumnKind {
    Bool,
    Int2,
    Int4,
    Int8,
    Oid,
    Float4,
    Float8,
    Numeric,
    Text,
    Char,
    Bytea,
    Uuid,
    Json,
    Jsonb,
    Date,
    Time,
    Timestamp,
    Timestamptz,
}

impl ColumnKind {
    /// The kind of a column of type `ty` (domains by their base type), if the source maps it.
    pub(crate) fn of(ty: &Type) -> Option<Self> {
        let kind = match *ty {
            Type::BOOL => Self::Bool,
            Type::INT2 => Self::Int2,
            Type::INT4 => Self::Int4,
            Type::INT8 => Self::Int8,
            Type::OID => Self::Oid,
            Type::FLOAT4 => Self::Float4,
            Type::FLOAT8 => Self::Float8,
            Type::NUMERIC => Self::Numeric,
            Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN => Self::Text,
            Type::CHAR => Self::Char,
            Type::BYTEA => Self::Bytea,
            Type::UUID => Self::Uuid,
            Type::JSON => Self::Json,
            Type::JSONB => Self::Jsonb,
            Type::DATE => Self::Date,
            Type::TIME => Self::Time,
            Type::TIMESTAMP => Self::Timestamp,
            Type::TIMESTAMPTZ => Self::Timestamptz,
            _ => {
                return match ty.kind() {
                    Kind::Domain(base) => Self::of(base),
                    // Enum labels and citext travel as text.
                    Kind::Enum(_) => Some(Self::Text),
                    Kind::Simple if ty.name() == "citext" => Some(Self::Text),
                    _ => None,
                };
            }
        };
        Some(kind)
    }

    /// The type's name in messages.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Bool => "boolean",
            Self::Int2 => "smallint",
            Self::Int4 => "integer",
            Self::Int8 => "bigint",
            Self::Oid => "oid",
            Self::Float4 => "real",
            Self::Float8 => "double precision",
            Self::Numeric => "numeric",
            Self::Text => "text",
            Self::Char => "\"char\"",
            Self::Bytea => "bytea",
            Self::Uuid => "uuid",
            Self::Json => "json",
            Self::Jsonb => "jsonb",
            Self::Date => "date",
            Self::Time => "time",
            Self::Timestamp => "timestamp",
            Self::Timestamptz => "timestamptz",
        }
    }

    /// Whether the column holds an integer (an incrementing column must).
    pub(crate) fn is_integer(self) -> bool {
        matches!(self, Self::Int2 | Self::Int4 | Self::Int8)
    }

    /// Whether the column holds a timestamp (a timestamp column must).
    pub(crate) fn is_timestamp(self) -> bool {
        matches!(self, Self::Timestamp | Self::Timestamptz)
    }
}

/// How numbers and instants are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Mappings {
    pub numeric: NumericMapping,
    pub temporal: TemporalMapping,
}

/// A value's bytes do not match its type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Malformed;

/// An integer column's value.
pub(crate) fn read_integer(kind: ColumnKind, raw: &[u8]) -> Result<i64, Malformed> {
    match kind {
        ColumnKind::Int2 => Ok(i16::from_be_bytes(fixed(raw)?).into()),
        ColumnKind::Int4 => Ok(i32::from_be_bytes(fixed(raw)?).into()),
        ColumnKind::Int8 => Ok(i64::from_be_bytes(fixed(raw)?)),
        _ => Err(Malformed),
    }
}

/// A timestamp column's value in microseconds since 1970 (`None`: ±infinity).
pub(crate) fn read_timestamp_micros(raw: &[u8]) -> Result<Option<i64>, Malformed> {
    let pg = i64::from_be_bytes(fixed(raw)?);
    if pg == i64::MIN || pg == i64::MAX {
        return Ok(None);
    }
    Ok(Some(pg.saturating_add(PG_EPOCH_MICROS)))
}

fn fixed<const N: usize>(raw: &[u8]) -> Result<[u8; N], Malformed> {
    raw.try_into().map_err(|_| Malformed)
}

/// Appends the JSON form of a value of kind `kind` (`None`: SQL `NULL`).
pub(crate) fn write_json(
    out: &mut Vec<u8>,
    kind: ColumnKind,
    raw: Option<&[u8]>,
    mappings: Mappings,
) -> Result<(), Malformed> {
    let Some(raw) = raw else {
        out.extend_from_slice(b"null");
        return Ok(());
    };
    match kind {
        ColumnKind::Bool => out.extend_from_slice(if raw.first() == Some(&1) {
            b"true"
        } else {
            b"false"
        }),
        ColumnKind::Int2 | ColumnKind::Int4 | ColumnKind::Int8 => {
            write_display(out, read_integer(kind, raw)?)
        }
        ColumnKind::Oid => write_display(out, u32::from_be_bytes(fixed(raw)?)),
        ColumnKind::Float4 => write_float(out, f32::from_be_bytes(fixed(raw)?).into(), true),
        ColumnKind::Float8 => write_float(out, f64::from_be_bytes(fixed(raw)?), false),
        ColumnKind::Numeric => write_numeric(out, raw, mappings.numeric)?,
        ColumnKind::Text => write_string(out, &String::from_utf8_lossy(raw)),
        ColumnKind::Char => write_string(out, &String::from_utf8_lossy(raw)),
        ColumnKind::Bytea => {
            write_string(out, &base64::engine::general_purpose::STANDARD.encode(raw))
        }
        ColumnKind::Uuid => write_string(out, &uuid_text(fixed(raw)?)),
        ColumnKind::Json => out.extend_from_slice(raw),
        // jsonb: a version byte (1), then the text.
        ColumnKind::Jsonb => match raw.split_first() {
            Some((1, text)) => out.extend_from_slice(text),
            _ => return Err(Malformed),
        },
        ColumnKind::Date => write_date(out, i32::from_be_bytes(fixed(raw)?), mappings.temporal),
        ColumnKind::Time => write_time(out, i64::from_be_bytes(fixed(raw)?), mappings.temporal)?,
        ColumnKind::Timestamp | ColumnKind::Timestamptz => {
            let zone = (kind == ColumnKind::Timestamptz).then_some("Z");
            write_timestamp(
                out,
                i64::from_be_bytes(fixed(raw)?),
                zone,
                mappings.temporal,
            )?
        }
    }
    Ok(())
}

fn write_display(out: &mut Vec<u8>, value: impl std::fmt::Display) {
    // Writing to a Vec cannot fail.
    let _ = write!(out, "{value}");
}

/// A JSON string (escaped).
pub(crate) fn write_string(out: &mut Vec<u8>, text: &str) {
    // Serializing a &str into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, text);
}

/// Finite floats as the shortest JSON number that reads back the same (`f32` for `real`);
/// `NaN` and the infinities as strings.
fn write_float(out: &mut Vec<u8>, value: f64, single: bool) {
    if value.is_nan() {
        write_string(out, "NaN");
    } else if value.is_infinite() {
        write_string(out, if value > 0.0 { "Infinity" } else { "-Infinity" });
    } else if single {
        let _ = serde_json::to_writer(&mut *out, &(value as f32));
    } else {
        let _ = serde_json::to_writer(&mut *out, &value);
    }
}

fn write_numeric(out: &mut Vec<u8>, raw: &[u8], mapping: NumericMapping) -> Result<(), Malformed> {
    match numeric_text(raw)? {
        Numeric::Finite(text) if mapping == NumericMapping::Number => {
            out.extend_from_slice(text.as_bytes())
        }
        Numeric::Finite(text) => write_string(out, &text),
        Numeric::Special(text) => write_string(out, text),
    }
    Ok(())
}

/// A `numeric` value.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Numeric {
    /// Its decimal text, with the column's scale: `-12.50`.
    Finite(String),
    /// `NaN`, `Infinity` or `-Infinity`.
    Special(&'static str),
}

/// Decodes the binary `numeric`: digit count, weight (of the first digit, in powers of
/// 10,000), sign, display scale, then base-10,000 digits.
pub(crate) fn numeric_text(raw: &[u8]) -> Result<Numeric, Malformed> {
    let word = |i: usize| -> Result<u16, Malformed> {
        let bytes = raw.get(2 * i..2 * i + 2).ok_or(Malformed)?;
        Ok(u16::from_be_bytes([bytes[0], bytes[1]]))
    };
    let ndigits = usize::from(word(0)?);
    let weight = i64::from(word(1)? as i16);
    let sign = word(2)?;
    let scale = usize::from(word(3)?);
    match sign {
        0x0000 | 0x4000 => {}
        0xC000 => return Ok(Numeric::Special("NaN")),
        0xD000 => return Ok(Numeric::Special("Infinity")),
        0xF000 => return Ok(Numeric::Special("-Infinity")),
        _ => return Err(Malformed),
    }
    let digits: Vec<u16> = (0..ndigits)
        .map(|i| word(4 + i))
        .collect::<Result<_, _>>()?;
    if digits.iter().any(|&d| d > 9999) {
        return Err(Malformed);
    }
    let digit = |index: i64| -> u16 {
        usize::try_from(index)
            .ok()
            .and_then(|i| digits.get(i).copied())
            .unwrap_or(0)
    };
    let mut text = String::new();
    if sign == 0x4000 {
        text.push('-');
    }
    if weight < 0 {
        text.push('0');
    } else {
        for index in 0..=weight {
            if index == 0 {
                text.push_str(&digit(index).to_string());
            } else {
                text.push_str(&format!("{:04}", digit(index)));
            }
        }
    }
    if scale > 0 {
        text.push('.');
        let mut fraction = String::with_capacity(scale + 4);
        let mut index = weight + 1;
        while fraction.len() < scale {
            fraction.push_str(&format!("{:04}", digit(index)));
            index += 1;
        }
        fraction.truncate(scale);
        text.push_str(&fraction);
    }
    Ok(Numeric::Finite(text))
}

fn uuid_text(b: [u8; 16]) -> String {
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

fn write_date(out: &mut Vec<u8>, days_since_2000: i32, temporal: TemporalMapping) {
    match days_since_2000 {
        i32::MAX => return write_string(out, "infinity"),
        i32::MIN => return write_string(out, "-infinity"),
        _ => {}
    }
    let days = days_since_2000.saturating_add(DAYS_1970_TO_2000);
    match temporal {
        TemporalMapping::Epoch => write_display(out, days),
        TemporalMapping::Iso => {
            let date =
                chrono::NaiveDate::from_num_days_from_ce_opt(days.saturating_add(CE_DAYS_TO_1970));
            match date {
                Some(date) => write_string(out, &date.format("%Y-%m-%d").to_string()),
                None => write_display(out, days),
            }
        }
    }
}

fn write_time(out: &mut Vec<u8>, micros: i64, temporal: TemporalMapping) -> Result<(), Malformed> {
    match temporal {
        TemporalMapping::Epoch => write_display(out, micros.div_euclid(1000)),
        TemporalMapping::Iso => {
            let seconds = u32::try_from(micros.div_euclid(1_000_000)).map_err(|_| Malformed)?;
            let nanos =
                u32::try_from(micros.rem_euclid(1_000_000) * 1000).map_err(|_| Malformed)?;
            let time = chrono::NaiveTime::from_num_seconds_from_midnight_opt(seconds, nanos)
                .ok_or(Malformed)?;
            write_string(out, &time.format("%H:%M:%S%.f").to_string());
        }
    }
    Ok(())
}

fn write_timestamp(
    out: &mut Vec<u8>,
    micros_since_2000: i64,
    zone: Option<&str>,
    temporal: TemporalMapping,
) -> Result<(), Malformed> {
    let micros = match micros_since_2000 {
        i64::MAX | i64::MIN => {
            let text = if micros_since_2000 > 0 {
                "infinity"
            } else {
                "-infinity"
            };
            write_string(out, text);
            return Ok(());
        }
        pg => pg.saturating_add(PG_EPOCH_MICROS),
    };
    match temporal {
        TemporalMapping::Epoch => write_display(out, micros.div_euclid(1000)),
        TemporalMapping::Iso => {
            let instant = chrono::DateTime::from_timestamp_micros(micros).ok_or(Malformed)?;
            let text = instant.naive_utc().format("%Y-%m-%dT%H:%M:%S%.f");
            write_string(out, &format!("{text}{}", zone.unwrap_or("")));
        }
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn json(kind: ColumnKind, raw: &[u8], mappings: Mappings) -> String {
        let mut out = Vec::new();
        write_json(&mut out, kind, Some(raw), mappings).unwrap();
        String::from_utf8(out).unwrap()
    }

    fn epoch() -> Mappings {
        Mappings::default()
    }

    fn iso() -> Mappings {
        Mappings {
            numeric: NumericMapping::Number,
            temporal: TemporalMapping::Iso,
        }
    }

    /// The binary `numeric` of sign, weight, scale and base-10,000 digits.
    fn numeric(sign: u16, weight: i16, scale: u16, digits: &[u16]) -> Vec<u8> {
        let mut raw = Vec::new();
        for w in [digits.len() as u16, weight as u16, sign, scale] {
            raw.extend_from_slice(&w.to_be_bytes());
        }
        for d in digits {
            raw.extend_from_slice(&d.to_be_bytes());
        }
        raw
    }

    #[test]
    fn numerics_keep_every_digit_and_their_scale() {
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (numeric(0, 0, 2, &[12, 5000]), "12.50"),
            (numeric(0x4000, 0, 2, &[12, 5000]), "-12.50"),
            (numeric(0, 1, 0, &[1, 2]), "10002"),
            (numeric(0, -2, 8, &[1234]), "0.00001234"),
            (numeric(0, 0, 0, &[]), "0"),
            (numeric(0, -1, 3, &[]), "0.000"),
            (numeric(0, 2, 1, &[9999, 0, 1]), "999900000001.0"),
            (numeric(0, 0, 5, &[3, 1415, 9265]), "3.14159"),
        ];
        for (raw, text) in cases {
            assert_eq!(numeric_text(&raw).unwrap(), Numeric::Finite(text.into()));
            assert_eq!(
                json(ColumnKind::Numeric, &raw, epoch()),
                format!("\"{text}\"")
            );
            assert_eq!(json(ColumnKind::Numeric, &raw, iso()), text);
        }
        assert_eq!(
            json(ColumnKind::Numeric, &numeric(0xC000, 0, 0, &[]), iso()),
            "\"NaN\""
        );
        assert_eq!(numeric_text(&[0, 1]), Err(Malformed));
        assert_eq!(numeric_text(&numeric(0x1234, 0, 0, &[])), Err(Malformed));
        assert_eq!(numeric_text(&numeric(0, 0, 0, &[10_000])), Err(Malformed));
    }

    #[test]
    fn integers_floats_booleans_and_nulls() {
        assert_eq!(
            json(ColumnKind::Int2, &(-7i16).to_be_bytes(), epoch()),
            "-7"
        );
        assert_eq!(
            json(ColumnKind::Int4, &70_000i32.to_be_bytes(), epoch()),
            "70000"
        );
        assert_eq!(
            json(ColumnKind::Int8, &i64::MIN.to_be_bytes(), epoch()),
            i64::MIN.to_string()
        );
        assert_eq!(
            json(ColumnKind::Float4, &0.1f32.to_be_bytes(), epoch()),
            "0.1"
        );
        assert_eq!(
            json(ColumnKind::Float8, &2.5f64.to_be_bytes(), epoch()),
            "2.5"
        );
        assert_eq!(
            json(ColumnKind::Float8, &f64::NAN.to_be_bytes(), epoch()),
            "\"NaN\""
        );
        assert_eq!(
            json(
                ColumnKind::Float8,
                &f64::NEG_INFINITY.to_be_bytes(),
                epoch()
            ),
            "\"-Infinity\""
        );
        assert_eq!(json(ColumnKind::Bool, &[1], epoch()), "true");
        assert_eq!(json(ColumnKind::Bool, &[0], epoch()), "false");
        let mut out = Vec::new();
        write_json(&mut out, ColumnKind::Int4, None, epoch()).unwrap();
        assert_eq!(out, b"null");
        assert_eq!(
            write_json(&mut out, ColumnKind::Int4, Some(&[1, 2]), epoch()),
            Err(Malformed)
        );
    }

    #[test]
    fn texts_bytes_uuids_and_json() {
        assert_eq!(
            json(ColumnKind::Text, "a \"q\"\n".as_bytes(), epoch()),
            r#""a \"q\"\n""#
        );
        assert_eq!(json(ColumnKind::Bytea, &[0, 255, 1], epoch()), "\"AP8B\"");
        let uuid: Vec<u8> = (0u8..16).collect();
        assert_eq!(
            json(ColumnKind::Uuid, &uuid, epoch()),
            "\"00010203-0405-0607-0809-0a0b0c0d0e0f\""
        );
        assert_eq!(
            json(ColumnKind::Json, br#"{"a":[1]}"#, epoch()),
            r#"{"a":[1]}"#
        );
        assert_eq!(
            json(ColumnKind::Jsonb, b"\x01{\"a\": 1}", epoch()),
            r#"{"a": 1}"#
        );
    }

    #[test]
    fn instants_as_epoch_numbers_or_iso_strings() {
        // 2024-05-01T12:30:00.250Z, in microseconds since 2000-01-01.
        let micros_1970 = 1_714_566_600_250_000i64;
        let pg = (micros_1970 - PG_EPOCH_MICROS).to_be_bytes();
        assert_eq!(json(ColumnKind::Timestamptz, &pg, epoch()), "1714566600250");
        assert_eq!(
            json(ColumnKind::Timestamptz, &pg, iso()),
            "\"2024-05-01T12:30:00.250Z\""
        );
        assert_eq!(
            json(ColumnKind::Timestamp, &pg, iso()),
            "\"2024-05-01T12:30:00.250\""
        );
        assert_eq!(
            json(ColumnKind::Timestamp, &i64::MAX.to_be_bytes(), epoch()),
            "\"infinity\""
        );
        // Before 1970: milliseconds round down.
        let before = (-1_500 - PG_EPOCH_MICROS).to_be_bytes();
        assert_eq!(json(ColumnKind::Timestamp, &before, epoch()), "-2");
        // 2024-05-01 is day 8887 since 2000-01-01, day 19844 since 1970-01-01.
        assert_eq!(
            json(ColumnKind::Date, &8887i32.to_be_bytes(), epoch()),
            "19844"
        );
        assert_eq!(
            json(ColumnKind::Date, &8887i32.to_be_bytes(), iso()),
            "\"2024-05-01\""
        );
        assert_eq!(
            json(ColumnKind::Date, &i32::MIN.to_be_bytes(), iso()),
            "\"-infinity\""
        );
        let time = (12 * 3_600_000_000i64 + 30 * 60_000_000 + 250_000).to_be_bytes();
        assert_eq!(json(ColumnKind::Time, &time, epoch()), "45000250");
        assert_eq!(json(ColumnKind::Time, &time, iso()), "\"12:30:00.250\"");
    }

    #[test]
    fn types_map_to_kinds_and_others_are_refused() {
        assert_eq!(ColumnKind::of(&Type::VARCHAR), Some(ColumnKind::Text));
        assert_eq!(
            ColumnKind::of(&Type::TIMESTAMPTZ),
            Some(ColumnKind::Timestamptz)
        );
        assert_eq!(ColumnKind::of(&Type::INTERVAL), None);
        assert_eq!(ColumnKind::of(&Type::INT4_ARRAY), None);
        assert!(ColumnKind::Int2.is_integer() && !ColumnKind::Numeric.is_integer());
        assert!(ColumnKind::Timestamp.is_timestamp() && !ColumnKind::Date.is_timestamp());
        assert_eq!(read_integer(ColumnKind::Int4, &5i32.to_be_bytes()), Ok(5));
        assert_eq!(read_timestamp_micros(&i64::MIN.to_be_bytes()), Ok(None));
        assert_eq!(
            read_timestamp_micros(&0i64.to_be_bytes()),
            Ok(Some(PG_EPOCH_MICROS))
        );
    }
}
