//! [`AvroSerde`]: values of a serde type as raw Avro binary (no container, no header) under one
//! schema, plus the encode and decode steps the Confluent serde shares.

use apache_avro::types::Value;
use apache_avro::Schema;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::io::Cursor;
use std::marker::PhantomData;
use std::sync::Arc;
use weir_topology::{Serde, SerdeError};

/// The name [`AvroSerde`] reports in errors and `describe()`.
const AVRO: &str = "avro";

/// Values of `T` as raw Avro binary under one schema: the datum only, no object container file
/// header and no schema id (see [`ConfluentAvroSerde`](super::ConfluentAvroSerde) for the
/// registry's wire format). Both sides must know the schema.
///
/// A value is checked against the schema when it is written (a value that does not fit is an
/// error, not bad bytes), and a read must use up all the bytes.
///
/// ```
/// use serde::{Deserialize, Serialize};
/// use weir_processors::avro::AvroSerde;
/// use weir_topology::Serde;
///
/// #[derive(Debug, PartialEq, Serialize, Deserialize)]
/// struct Departure {
///     flight: String,
///     delay_min: i32,
///     gate: Option<String>,
/// }
///
/// let serde = AvroSerde::<Departure>::new(r#"{
///     "type": "record", "name": "Departure",
///     "fields": [
///         {"name": "flight", "type": "string"},
///         {"name": "delay_min", "type": "int"},
///         {"name": "gate", "type": ["null", "string"], "default": null}
///     ]}"#)?;
/// let d = Departure { flight: "LH400".into(), delay_min: 12, gate: None };
/// let bytes = serde.serialize(&d)?;
/// // Avro binary: a length-prefixed string, a zig-zag int, the union's branch index.
/// assert_eq!(bytes, [10, b'L', b'H', b'4', b'0', b'0', 24, 0]);
/// assert_eq!(serde.deserialize(&bytes)?, d);
/// # Ok::<(), weir_topology::SerdeError>(())
/// ```
pub struct AvroSerde<T> {
    schema: Arc<Schema>,
    _t: PhantomData<fn() -> T>,
}

impl<T> AvroSerde<T> {
    /// A serde for the schema in `schema_json` (an Avro schema as JSON text). A schema that does
    /// not parse is an error naming what is wrong with it.
    pub fn new(schema_json: &str) -> Result<Self, SerdeError> {
        let schema = parse_schema(schema_json).map_err(|e| SerdeError::new(AVRO, e))?;
        Ok(Self::with_schema(Arc::new(schema)))
    }

    /// A serde for an already parsed schema.
    pub fn with_schema(schema: Arc<Schema>) -> Self {
        Self {
            schema,
            _t: PhantomData,
        }
    }

    /// The schema values are written and read with.
    pub fn schema(&self) -> &Schema {
        &self.schema
    }
}

impl<T> Clone for AvroSerde<T> {
    fn clone(&self) -> Self {
        Self::with_schema(self.schema.clone())
    }
}

impl<T: Serialize + DeserializeOwned + 'static> Serde<T> for AvroSerde<T> {
    fn serialize(&self, value: &T) -> Result<Vec<u8>, SerdeError> {
        let mut out = Vec::new();
        encode_datum(&self.schema, value, &mut out).map_err(|e| SerdeError::new(AVRO, e))?;
        Ok(out)
    }
    fn deserialize(&self, bytes: &[u8]) -> Result<T, SerdeError> {
        decode_datum(&self.schema, &self.schema, bytes).map_err(|e| SerdeError::new(AVRO, e))
    }
    fn name(&self) -> &'static str {
        AVRO
    }
}

/// Why an Avro schema or datum was refused.
#[derive(Debug, thiserror::Error)]
pub enum AvroError {
    /// The schema text is not a valid Avro schema.
    #[error("invalid Avro schema: {0}")]
    Schema(#[source] apache_avro::Error),
    /// The value does not fit the schema (a missing field, a wrong type, ...).
    #[error("value does not fit the Avro schema: {0}")]
    DoesNotFit(#[source] apache_avro::Error),
    /// The bytes are not a datum of the (writer) schema.
    #[error("bytes are not an Avro datum of the writer schema: {0}")]
    BadDatum(#[source] apache_avro::Error),
    /// The writer's schema cannot be resolved to the reader's (incompatible schemas).
    #[error("writer schema cannot be read with the reader schema: {0}")]
    Resolution(#[source] apache_avro::Error),
    /// The decoded value does not fit the Rust type.
    #[error("Avro value does not fit the Rust type: {0}")]
    WrongType(#[source] apache_avro::Error),
    /// The datum ended before the bytes did.
    #[error("{0} bytes left over after the Avro datum")]
    TrailingBytes(usize),
}

/// Parses an Avro schema from its JSON text.
pub(crate) fn parse_schema(schema_json: &str) -> Result<Schema, AvroError> {
    Schema::parse_str(schema_json).map_err(AvroError::Schema)
}

/// Appends the Avro binary encoding of `value` under `schema` to `out`.
pub(crate) fn encode_datum<T: Serialize>(
    schema: &Schema,
    value: &T,
    out: &mut Vec<u8>,
) -> Result<(), AvroError> {
    // Fast path: serialize straight to Avro binary against the schema, no `Value` tree. It
    // cannot follow references to named types defined elsewhere in the schema; on any error,
    // undo what it wrote and take the general path (which also words errors better).
    let start = out.len();
    if apache_avro::write_avro_datum_ref(schema, value, out).is_ok() {
        return Ok(());
    }
    out.truncate(start);
    let value = apache_avro::to_value(value).map_err(AvroError::DoesNotFit)?;
    // Resolving checks the value against the schema and picks union branches and enum symbols.
    let value = value.resolve(schema).map_err(AvroError::DoesNotFit)?;
    let bytes = apache_avro::to_avro_datum(schema, value).map_err(AvroError::DoesNotFit)?;
    out.extend_from_slice(&bytes);
    Ok(())
}

/// Decodes the datum in `bytes` written with `writer`, resolved to `reader` (Avro schema
/// resolution: defaults fill fields the writer lacked, fields the reader lacks are skipped).
pub(crate) fn decode_datum<T: DeserializeOwned>(
    writer: &Schema,
    reader: &Schema,
    bytes: &[u8],
) -> Result<T, AvroError> {
    let mut cursor = Cursor::new(bytes);
    let value: Value =
        apache_avro::from_avro_datum(writer, &mut cursor, None).map_err(AvroError::BadDatum)?;
    let left = bytes.len() - usize::try_from(cursor.position()).unwrap_or(bytes.len());
    if left > 0 {
        return Err(AvroError::TrailingBytes(left));
    }
    let value = if std::ptr::eq(writer, reader) {
        value
    } else {
        value.resolve(reader).map_err(AvroError::Resolution)?
    };
    apache_avro::from_value(&value).map_err(AvroError::WrongType)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use std::collections::HashMap;

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    enum Status {
        OnTime,
        Delayed,
    }

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    struct Leg {
        origin: String,
        seats: i64,
        load: f64,
        status: Status,
        gate: Option<String>,
        tags: Vec<String>,
        extra: HashMap<String, i32>,
        cancelled: bool,
    }

    const LEG: &str = r#"{"type": "record", "name": "Leg", "fields": [
        {"name": "origin", "type": "string"},
        {"name": "seats", "type": "long"},
        {"name": "load", "type": "double"},
        {"name": "status", "type": {"type": "enum", "name": "Status", "symbols": ["OnTime", "Delayed"]}},
        {"name": "gate", "type": ["null", "string"], "default": null},
        {"name": "tags", "type": {"type": "array", "items": "string"}},
        {"name": "extra", "type": {"type": "map", "values": "int"}},
        {"name": "cancelled", "type": "boolean"}
    ]}"#;

    fn leg(i: i64) -> Leg {
        Leg {
            origin: format!("A{i}"),
            seats: i * 1_000_000_007,
            load: i as f64 / 7.0,
            status: if i % 2 == 0 {
                Status::OnTime
            } else {
                Status::Delayed
            },
            gate: (i % 3 == 0).then(|| format!("G{i}")),
            tags: (0..i % 4).map(|t| format!("t{t}")).collect(),
            extra: (0..i % 3)
                .map(|k| (format!("k{k}"), k as i32 - 1))
                .collect(),
            cancelled: i % 5 == 0,
        }
    }

    #[test]
    fn every_kind_of_field_round_trips() {
        let serde = AvroSerde::<Leg>::new(LEG).unwrap();
        for i in -20..200 {
            let bytes = serde.serialize(&leg(i)).unwrap();
            assert_eq!(serde.deserialize(&bytes).unwrap(), leg(i), "case {i}");
        }
    }

    #[test]
    fn encoding_is_avro_binary() {
        #[derive(Serialize, Deserialize, PartialEq, Debug)]
        struct P {
            n: i64,
            s: String,
            o: Option<i32>,
        }
        let serde = AvroSerde::<P>::new(
            r#"{"type":"record","name":"P","fields":[{"name":"n","type":"long"},
            {"name":"s","type":"string"},{"name":"o","type":["null","int"]}]}"#,
        )
        .unwrap();
        let p = P {
            n: -3,
            s: "hé".into(),
            o: Some(64),
        };
        // zig-zag -3 = 5; "hé" is 3 UTF-8 bytes (length 6 zig-zag); branch 1 then zig-zag 64 = 128.
        assert_eq!(
            serde.serialize(&p).unwrap(),
            [5, 6, b'h', 0xc3, 0xa9, 2, 0x80, 0x01]
        );
    }

    #[test]
    fn bad_schema_is_a_clear_error() {
        let err = AvroSerde::<Leg>::new(r#"{"type": "record", "name": "X"}"#)
            .err()
            .unwrap();
        assert_eq!(err.serde, "avro");
        assert!(err.to_string().contains("invalid Avro schema"), "{err}");
        assert!(AvroSerde::<Leg>::new("not json").is_err());
    }

    #[test]
    fn value_that_does_not_fit_is_an_error() {
        #[derive(Serialize, Deserialize)]
        struct Other {
            origin: i32,
        }
        let serde = AvroSerde::<Other>::new(LEG).unwrap();
        let err = serde.serialize(&Other { origin: 1 }).unwrap_err();
        assert!(err.to_string().contains("does not fit"), "{err}");
    }

    #[test]
    fn truncated_and_trailing_bytes_are_errors() {
        let serde = AvroSerde::<Leg>::new(LEG).unwrap();
        let bytes = serde.serialize(&leg(7)).unwrap();
        for cut in 0..bytes.len() {
            assert!(serde.deserialize(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        let err = serde.deserialize(&longer).unwrap_err();
        assert!(err.to_string().contains("1 bytes left over"), "{err}");
    }

    #[test]
    fn resolution_fills_defaults_and_skips_unknown_fields() {
        #[derive(Serialize, Deserialize, PartialEq, Debug)]
        struct Old {
            id: i64,
        }
        #[derive(Serialize, Deserialize, PartialEq, Debug)]
        struct New {
            id: i64,
            note: Option<String>,
        }
        let old =
            parse_schema(r#"{"type":"record","name":"R","fields":[{"name":"id","type":"long"}]}"#)
                .unwrap();
        let new = parse_schema(
            r#"{"type":"record","name":"R","fields":[{"name":"id","type":"long"},
            {"name":"note","type":["null","string"],"default":null}]}"#,
        )
        .unwrap();
        let mut bytes = Vec::new();
        encode_datum(&old, &Old { id: 9 }, &mut bytes).unwrap();
        let read: New = decode_datum(&old, &new, &bytes).unwrap();
        assert_eq!(read, New { id: 9, note: None });
        let mut bytes = Vec::new();
        encode_datum(
            &new,
            &New {
                id: 4,
                note: Some("x".into()),
            },
            &mut bytes,
        )
        .unwrap();
        let read: Old = decode_datum(&new, &old, &bytes).unwrap();
        assert_eq!(read, Old { id: 4 });
    }

    #[test]
    fn fast_and_general_encodings_agree_also_with_named_type_references() {
        #[derive(Serialize, Deserialize, PartialEq, Debug, Clone)]
        struct Point {
            x: f64,
            y: f64,
        }
        #[derive(Serialize, Deserialize, PartialEq, Debug, Clone)]
        struct Segment {
            from: Point,
            to: Point,
            label: Option<String>,
        }
        // `to` refers to the type `Point` by name.
        let schema = parse_schema(
            r#"{"type":"record","name":"Segment","fields":[
            {"name":"from","type":{"type":"record","name":"Point","fields":[
                {"name":"x","type":"double"},{"name":"y","type":"double"}]}},
            {"name":"to","type":"Point"},
            {"name":"label","type":["null","string"],"default":null}]}"#,
        )
        .unwrap();
        let segment = Segment {
            from: Point { x: 1.5, y: -2.0 },
            to: Point { x: 0.0, y: 1e300 },
            label: Some("a".into()),
        };
        let mut fast = vec![9];
        encode_datum(&schema, &segment, &mut fast).unwrap();
        assert_eq!(fast[0], 9, "appends after what was there");
        let general = apache_avro::to_avro_datum(
            &schema,
            apache_avro::to_value(&segment)
                .unwrap()
                .resolve(&schema)
                .unwrap(),
        )
        .unwrap();
        assert_eq!(&fast[1..], &general[..]);
        assert_eq!(
            decode_datum::<Segment>(&schema, &schema, &fast[1..]).unwrap(),
            segment
        );
        let serde = AvroSerde::<Leg>::new(LEG).unwrap();
        for i in 0..50 {
            let value = apache_avro::to_value(leg(i)).unwrap();
            let general =
                apache_avro::to_avro_datum(serde.schema(), value.resolve(serde.schema()).unwrap())
                    .unwrap();
            let fast = serde.serialize(&leg(i)).unwrap();
            // A map's entries come in HashMap order, which may differ between the two walks.
            if leg(i).extra.len() <= 1 {
                assert_eq!(fast, general, "case {i}");
            }
            assert_eq!(serde.deserialize(&fast).unwrap(), leg(i), "case {i}");
        }
    }
}
