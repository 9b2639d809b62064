//! Reading a produce request: its content type (the embedded format), its body
//! (`{"records":[{"key":..,"value":..,"partition":..}], "key_schema":.., ...}`) and, for JSON,
//! each record's key and value as JSON text: the bytes `JsonSerde` reads.

use super::response::RestError;
use serde::Deserialize;
use serde_json::Value;

/// The content type of JSON records.
pub const JSON_V2: &str = "application/vnd.kafka.json.v2+json";
/// The content type of Avro records.
pub const AVRO_V2: &str = "application/vnd.kafka.avro.v2+json";

/// How the records of a request are embedded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmbeddedFormat {
    /// JSON values, stored as their JSON text.
    Json,
    /// JSON in Avro's JSON encoding under a schema, stored in the Confluent wire format.
    Avro,
}

/// The embedded format a `Content-Type` header names (parameters such as `charset` aside).
pub(crate) fn embedded_format(content_type: Option<&str>) -> Result<EmbeddedFormat, RestError> {
    let raw = content_type.unwrap_or("");
    let essence = raw.split(';').next().unwrap_or("").trim();
    if essence.eq_ignore_ascii_case(JSON_V2) {
        Ok(EmbeddedFormat::Json)
    } else if essence.eq_ignore_ascii_case(AVRO_V2) {
        Ok(EmbeddedFormat::Avro)
    } else {
        Err(RestError::unsupported_media_type(raw))
    }
}

/// A produce request's body. (The schema fields are only read with the `avro` feature.)
#[derive(Debug, Deserialize)]
#[cfg_attr(not(feature = "avro"), allow(dead_code))]
pub(crate) struct ProduceBody {
    /// The records.
    pub records: Vec<BodyRecord>,
    /// The key schema (Avro), as JSON text.
    #[serde(default)]
    pub key_schema: Option<String>,
    /// The value schema (Avro), as JSON text.
    #[serde(default)]
    pub value_schema: Option<String>,
    /// The registry id of the key schema (Avro).
    #[serde(default)]
    pub key_schema_id: Option<u32>,
    /// The registry id of the value schema (Avro).
    #[serde(default)]
    pub value_schema_id: Option<u32>,
}

/// One record of a request; a missing key or value is `null`.
#[derive(Debug, Deserialize)]
pub(crate) struct BodyRecord {
    #[serde(default)]
    pub key: Option<Value>,
    #[serde(default)]
    pub value: Option<Value>,
    #[serde(default)]
    pub partition: Option<i64>,
}

/// A record ready for a partition: its bytes and, when the request chose one, its partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreparedRecord {
    /// The partition the request asked for (checked against the topic's count later).
    pub partition: Option<i64>,
    /// The key bytes (`None`: a null key).
    pub key: Option<Vec<u8>>,
    /// The value bytes (`None`: a null value).
    pub value: Option<Vec<u8>>,
}

/// Parses a body: not JSON is 400, JSON of another shape or without records is 422.
pub(crate) fn parse_body(bytes: &[u8]) -> Result<ProduceBody, RestError> {
    let body: ProduceBody = serde_json::from_slice(bytes).map_err(|e| match e.classify() {
        serde_json::error::Category::Data => RestError::unprocessable(e.to_string()),
        _ => RestError::malformed_json(e),
    })?;
    if body.records.is_empty() {
        return Err(RestError::unprocessable("records may not be empty"));
    }
    Ok(body)
}

/// The records of a JSON request: key and value as compact JSON text.
pub(crate) fn json_records(body: ProduceBody) -> Result<Vec<PreparedRecord>, RestError> {
    body.records
        .into_iter()
        .map(|r| {
            Ok(PreparedRecord {
                partition: r.partition,
                key: r.key.as_ref().map(json_text).transpose()?,
                value: r.value.as_ref().map(json_text).transpose()?,
            })
        })
        .collect()
}

fn json_text(v: &Value) -> Result<Vec<u8>, RestError> {
    serde_json::to_vec(v).map_err(|e| RestError::internal(format!("cannot write JSON: {e}")))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use axum::http::StatusCode;

    #[test]
    fn content_types_name_the_embedded_format() {
        assert_eq!(
            embedded_format(Some(JSON_V2)).unwrap(),
            EmbeddedFormat::Json
        );
        assert_eq!(
            embedded_format(Some("Application/VND.kafka.avro.v2+json; charset=utf-8")).unwrap(),
            EmbeddedFormat::Avro
        );
        for other in [None, Some("application/json"), Some("text/plain")] {
            let e = embedded_format(other).unwrap_err();
            assert_eq!(
                (e.status, e.error_code),
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, 415)
            );
        }
    }

    #[test]
    fn json_records_become_their_json_text() {
        let body = parse_body(
            br#"{"records":[{"key":"k1","value":{"a":1, "b":[true,null]}},
                            {"value":2,"partition":1},{"key":null}]}"#,
        )
        .unwrap();
        let records = json_records(body).unwrap();
        assert_eq!(records[0].key.as_deref(), Some(&b"\"k1\""[..]));
        assert_eq!(
            records[0].value.as_deref(),
            Some(&br#"{"a":1,"b":[true,null]}"#[..])
        );
        assert_eq!(records[0].partition, None);
        assert_eq!(
            (records[1].key.as_deref(), records[1].partition),
            (None, Some(1))
        );
        assert_eq!(
            (records[2].key.as_deref(), records[2].value.as_deref()),
            (None, None)
        );
    }

    #[test]
    fn malformed_bodies_are_400_and_misshapen_ones_422() {
        for bad in [
            &b"{\"records\": ["[..],
            b"not json",
            b"",
            b"{\"records\":[}",
        ] {
            let e = parse_body(bad).unwrap_err();
            assert_eq!(
                (e.status, e.error_code),
                (StatusCode::BAD_REQUEST, 400),
                "{bad:?}"
            );
        }
        for shape in [
            &b"{\"records\": 5}"[..],
            b"{}",
            b"[1,2]",
            b"{\"records\":[{\"partition\":\"x\"}]}",
            b"{\"records\":[]}",
        ] {
            let e = parse_body(shape).unwrap_err();
            assert_eq!(
                (e.status, e.error_code),
                (StatusCode::UNPROCESSABLE_ENTITY, 422),
                "{:?}",
                String::from_utf8_lossy(shape)
            );
        }
    }

    #[test]
    fn schema_fields_are_read() {
        let body =
            parse_body(br#"{"value_schema":"\"int\"","key_schema_id":4,"records":[{"value":1}]}"#)
                .unwrap();
        assert_eq!(body.value_schema.as_deref(), Some("\"int\""));
        assert_eq!(body.key_schema_id, Some(4));
        assert_eq!((body.key_schema, body.value_schema_id), (None, None));
    }
}
