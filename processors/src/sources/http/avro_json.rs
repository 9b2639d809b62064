//! Avro's JSON encoding read into Avro values under a schema, as the REST proxy reads the
//! records of an Avro request: a union is `null` or `{"branch": value}` (the branch named by
//! its type: `"string"`, `"long"`, a record's full name...), `bytes` and `fixed` are strings of
//! code points 0-255, an enum is its symbol, a missing record field takes its default.
//! Logical types take their underlying type's JSON form (a `timestamp-millis` is a number).

use apache_avro::schema::{Name, ResolvedSchema, Schema, UnionSchema};
use apache_avro::types::Value;
use serde_json::Value as Json;
use std::collections::HashMap;

/// Named types of a schema by full name, for references.
pub(crate) struct Names<'s>(HashMap<Name, &'s Schema>);

impl<'s> Names<'s> {
    /// The named types defined in `schema`.
    pub(crate) fn of(schema: &'s Schema) -> Result<Self, String> {
        let resolved = ResolvedSchema::try_from(schema).map_err(|e| e.to_string())?;
        Ok(Self(resolved.get_names().clone()))
    }
}

/// The Avro value `json` (in Avro's JSON encoding) stands for under `schema`; the error says
/// where (a field path) and why it does not fit.
pub(crate) fn json_to_avro(json: &Json, schema: &Schema, names: &Names) -> Result<Value, String> {
    convert(json, schema, names, "$")
}

fn mismatch(at: &str, expected: &str, json: &Json) -> String {
    let mut shown = json.to_string();
    if shown.len() > 60 {
        let cut = (0..=60)
            .rev()
            .find(|&i| shown.is_char_boundary(i))
            .unwrap_or(0);
        shown.truncate(cut);
        shown.push_str("...");
    }
    format!("{at}: expected {expected}, got {shown}")
}

fn convert(json: &Json, schema: &Schema, names: &Names, at: &str) -> Result<Value, String> {
    let int = |json: &Json| -> Result<i32, String> {
        json.as_i64()
            .and_then(|n| i32::try_from(n).ok())
            .ok_or_else(|| mismatch(at, "an int", json))
    };
    let long = |json: &Json| json.as_i64().ok_or_else(|| mismatch(at, "a long", json));
    Ok(match schema {
        Schema::Null => match json {
            Json::Null => Value::Null,
            _ => return Err(mismatch(at, "null", json)),
        },
        Schema::Boolean => Value::Boolean(
            json.as_bool()
                .ok_or_else(|| mismatch(at, "a boolean", json))?,
        ),
        Schema::Int => Value::Int(int(json)?),
        Schema::Long => Value::Long(long(json)?),
        Schema::Float => {
            Value::Float(json.as_f64().ok_or_else(|| mismatch(at, "a float", json))? as f32)
        }
        Schema::Double => Value::Double(
            json.as_f64()
                .ok_or_else(|| mismatch(at, "a double", json))?,
        ),
        Schema::Bytes => Value::Bytes(code_points(json, at)?),
        Schema::String => Value::String(string(json, at)?.to_string()),
        Schema::Array(array) => {
            let items = json
                .as_array()
                .ok_or_else(|| mismatch(at, "an array", json))?;
            let values = items
                .iter()
                .enumerate()
                .map(|(i, item)| convert(item, &array.items, names, &format!("{at}[{i}]")))
                .collect::<Result<_, _>>()?;
            Value::Array(values)
        }
        Schema::Map(map) => {
            let entries = json
                .as_object()
                .ok_or_else(|| mismatch(at, "a map (object)", json))?;
            let values = entries
                .iter()
                .map(|(k, v)| {
                    Ok((
                        k.clone(),
                        convert(v, &map.types, names, &format!("{at}.{k}"))?,
                    ))
                })
                .collect::<Result<_, String>>()?;
            Value::Map(values)
        }
        Schema::Union(union) => convert_union(json, union, names, at)?,
        Schema::Record(record) => {
            let object = json
                .as_object()
                .ok_or_else(|| mismatch(at, "a record (object)", json))?;
            let mut fields = Vec::with_capacity(record.fields.len());
            for field in &record.fields {
                let path = format!("{at}.{}", field.name);
                let value = match (object.get(&field.name), &field.default) {
                    (Some(v), _) => convert(v, &field.schema, names, &path)?,
                    (None, Some(default)) => convert_default(default, &field.schema, names, &path)?,
                    (None, None) => return Err(format!("{path}: missing field without a default")),
                };
                fields.push((field.name.clone(), value));
            }
            Value::Record(fields)
        }
        Schema::Enum(e) => {
            let symbol = string(json, at)?;
            let index = e.symbols.iter().position(|s| s == symbol).ok_or_else(|| {
                format!("{at}: {symbol:?} is not a symbol of enum {}", e.name.name)
            })?;
            Value::Enum(index as u32, symbol.to_string())
        }
        Schema::Fixed(fixed) => {
            let bytes = code_points(json, at)?;
            if bytes.len() != fixed.size {
                return Err(format!(
                    "{at}: fixed {} takes {} bytes, got {}",
                    fixed.name.name,
                    fixed.size,
                    bytes.len()
                ));
            }
            Value::Fixed(fixed.size, bytes)
        }
        Schema::Decimal(decimal) => {
            let bytes = code_points(json, at)?;
            if let Schema::Fixed(fixed) = decimal.inner.as_ref() {
                if bytes.len() != fixed.size {
                    return Err(format!("{at}: decimal fixed takes {} bytes", fixed.size));
                }
            }
            Value::Decimal(apache_avro::Decimal::from(bytes))
        }
        Schema::Uuid => {
            let text = string(json, at)?;
            Value::Uuid(
                apache_avro::Uuid::parse_str(text).map_err(|e| format!("{at}: not a UUID: {e}"))?,
            )
        }
        Schema::Date => Value::Date(int(json)?),
        Schema::TimeMillis => Value::TimeMillis(int(json)?),
        Schema::TimeMicros => Value::TimeMicros(long(json)?),
        Schema::TimestampMillis => Value::TimestampMillis(long(json)?),
        Schema::TimestampMicros => Value::TimestampMicros(long(json)?),
        Schema::TimestampNanos => Value::TimestampNanos(long(json)?),
        Schema::LocalTimestampMillis => Value::LocalTimestampMillis(long(json)?),
        Schema::LocalTimestampMicros => Value::LocalTimestampMicros(long(json)?),
        Schema::LocalTimestampNanos => Value::LocalTimestampNanos(long(json)?),
        Schema::Ref { name } => {
            let target = names
                .0
                .get(name)
                .ok_or_else(|| format!("{at}: unknown type {name}"))?;
            convert(json, target, names, at)?
        }
        Schema::BigDecimal | Schema::Duration => {
            return Err(format!(
                "{at}: the {schema:?} type is not supported in requests"
            ))
        }
    })
}

/// A union: `null` for its null branch, else `{"branch name": value}`.
fn convert_union(
    json: &Json,
    union: &UnionSchema,
    names: &Names,
    at: &str,
) -> Result<Value, String> {
    let variants = union.variants();
    if json.is_null() {
        let i = variants
            .iter()
            .position(|s| matches!(s, Schema::Null))
            .ok_or_else(|| format!("{at}: null is not a branch of the union"))?;
        return Ok(Value::Union(i as u32, Box::new(Value::Null)));
    }
    let object = json
        .as_object()
        .filter(|o| o.len() == 1)
        .ok_or_else(|| mismatch(at, "a union branch ({\"type\": value}) or null", json))?;
    let Some((branch, inner)) = object.iter().next() else {
        return Err(mismatch(at, "a union branch", json));
    };
    let i = variants
        .iter()
        .position(|s| branch_names(s).iter().any(|n| n == branch))
        .ok_or_else(|| format!("{at}: {branch:?} is not a branch of the union"))?;
    let value = convert(inner, &variants[i], names, &format!("{at}<{branch}>"))?;
    Ok(Value::Union(i as u32, Box::new(value)))
}

/// A field's default: for a union, a value of its first branch, not wrapped.
fn convert_default(
    default: &Json,
    schema: &Schema,
    names: &Names,
    at: &str,
) -> Result<Value, String> {
    match schema {
        Schema::Union(union) => {
            let first = union
                .variants()
                .first()
                .ok_or_else(|| format!("{at}: empty union"))?;
            Ok(Value::Union(
                0,
                Box::new(convert(default, first, names, at)?),
            ))
        }
        _ => convert(default, schema, names, at),
    }
}

/// The names a union branch of type `schema` goes by: its type's name (a named type's full
/// name, and its short name too).
fn branch_names(schema: &Schema) -> Vec<String> {
    let named = |name: &Name| vec![name.fullname(None), name.name.clone()];
    match schema {
        Schema::Null => vec!["null".into()],
        Schema::Boolean => vec!["boolean".into()],
        Schema::Int | Schema::Date | Schema::TimeMillis => vec!["int".into()],
        Schema::Long
        | Schema::TimeMicros
        | Schema::TimestampMillis
        | Schema::TimestampMicros
        | Schema::TimestampNanos
        | Schema::LocalTimestampMillis
        | Schema::LocalTimestampMicros
        | Schema::LocalTimestampNanos => vec!["long".into()],
        Schema::Float => vec!["float".into()],
        Schema::Double => vec!["double".into()],
        Schema::Bytes | Schema::BigDecimal => vec!["bytes".into()],
        Schema::String | Schema::Uuid => vec!["string".into()],
        Schema::Array(_) => vec!["array".into()],
        Schema::Map(_) => vec!["map".into()],
        Schema::Record(r) => named(&r.name),
        Schema::Enum(e) => named(&e.name),
        Schema::Fixed(f) => named(&f.name),
        Schema::Decimal(d) => branch_names(&d.inner),
        Schema::Ref { name } => named(name),
        Schema::Union(_) | Schema::Duration => Vec::new(),
    }
}

fn string<'a>(json: &'a Json, at: &str) -> Result<&'a str, String> {
    json.as_str().ok_or_else(|| mismatch(at, "a string", json))
}

/// Avro's JSON form of bytes: a string whose code points are the bytes (0-255).
fn code_points(json: &Json, at: &str) -> Result<Vec<u8>, String> {
    string(json, at)?
        .chars()
        .map(|c| {
            u8::try_from(u32::from(c)).map_err(|_| format!("{at}: code point {c:?} is not a byte"))
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema(text: &str) -> Schema {
        Schema::parse_str(text).unwrap()
    }

    fn to_avro(json: Json, schema: &Schema) -> Result<Value, String> {
        json_to_avro(&json, schema, &Names::of(schema).unwrap())
    }

    const FLIGHT: &str = r#"{"type":"record","name":"Flight","namespace":"weir.test","fields":[
        {"name":"callsign","type":"string"},
        {"name":"altitude","type":["null","int"],"default":null},
        {"name":"kind","type":{"type":"enum","name":"Kind","symbols":["CARGO","PAX"]}},
        {"name":"seen","type":{"type":"long","logicalType":"timestamp-millis"}},
        {"name":"tags","type":{"type":"array","items":"string"},"default":[]},
        {"name":"raw","type":"bytes","default":""},
        {"name":"next","type":["null","Flight"],"default":null}]}"#;

    #[test]
    fn records_unions_enums_defaults_and_references_convert() {
        let s = schema(FLIGHT);
        let v = to_avro(
            json!({"callsign":"LH400","altitude":{"int":3000},"kind":"PAX","seen":1700000000000i64,
                   "raw":"\u{0}\u{ff}",
                   "next":{"weir.test.Flight":{"callsign":"X","kind":"CARGO","seen":1}}}),
            &s,
        )
        .unwrap();
        let bytes = apache_avro::to_avro_datum(&s, v.clone()).unwrap();
        let back = apache_avro::from_avro_datum(&s, &mut &bytes[..], None).unwrap();
        assert_eq!(back, v);
        let Value::Record(fields) = v else {
            panic!("a record")
        };
        assert_eq!(fields[1].1, Value::Union(1, Box::new(Value::Int(3000))));
        assert_eq!(fields[2].1, Value::Enum(1, "PAX".into()));
        assert_eq!(fields[4].1, Value::Array(vec![]));
        assert_eq!(fields[5].1, Value::Bytes(vec![0, 255]));
    }

    #[test]
    fn values_that_do_not_fit_say_where() {
        let s = schema(FLIGHT);
        let cases = [
            (json!({"kind":"PAX","seen":1}), "$.callsign: missing field"),
            (
                json!({"callsign":1,"kind":"PAX","seen":1}),
                "$.callsign: expected a string",
            ),
            (
                json!({"callsign":"a","kind":"BUS","seen":1}),
                "not a symbol",
            ),
            (
                json!({"callsign":"a","kind":"PAX","seen":1,"altitude":3000}),
                "union branch",
            ),
            (
                json!({"callsign":"a","kind":"PAX","seen":1,"altitude":{"string":"x"}}),
                "not a branch",
            ),
            (
                json!({"callsign":"a","kind":"PAX","seen":"soon"}),
                "$.seen: expected a long",
            ),
            (
                json!({"callsign":"a","kind":"PAX","seen":1,"raw":"\u{100}"}),
                "not a byte",
            ),
            (json!([1]), "$: expected a record"),
        ];
        for (json, expected) in cases {
            let e = to_avro(json.clone(), &s).unwrap_err();
            assert!(e.contains(expected), "{json}: {e}");
        }
        assert!(to_avro(json!(1i64 << 40), &schema("\"int\"")).is_err());
    }

    #[test]
    fn primitives_maps_and_fixed() {
        assert_eq!(
            to_avro(json!(null), &schema("\"null\"")).unwrap(),
            Value::Null
        );
        assert_eq!(
            to_avro(json!(2.5), &schema("\"double\"")).unwrap(),
            Value::Double(2.5)
        );
        let m = to_avro(json!({"a":1}), &schema(r#"{"type":"map","values":"long"}"#)).unwrap();
        assert_eq!(m, Value::Map([("a".to_string(), Value::Long(1))].into()));
        let f = schema(r#"{"type":"fixed","name":"Two","size":2}"#);
        assert_eq!(
            to_avro(json!("ab"), &f).unwrap(),
            Value::Fixed(2, b"ab".to_vec())
        );
        assert!(to_avro(json!("abc"), &f).is_err());
        assert_eq!(
            to_avro(json!(null), &schema(r#"["string","null"]"#)).unwrap(),
            Value::Union(1, Box::new(Value::Null))
        );
    }
}
