//! The records of an Avro request, written as a REST proxy writes them to Kafka: the key and
//! value schemas are registered under `<topic>-key` / `<topic>-value` (or looked up by the
//! ids the request gives), and each key and value becomes the Confluent wire format (magic
//! byte, schema id, Avro binary), which [`ConfluentAvroSerde`](crate::avro::ConfluentAvroSerde)
//! reads.

use super::avro_json::{json_to_avro, Names};
use super::request::{PreparedRecord, ProduceBody};
use super::response::RestError;
use crate::avro::{wire, RegistryError, SchemaRegistry, SubjectKind};
use apache_avro::Schema;
use axum::http::StatusCode;
use parking_lot::Mutex;
use serde_json::Value as Json;
use std::collections::HashMap;
use std::sync::Arc;

/// Parsed schemas by their text, so that clients sending the same schema with every request
/// do not pay for parsing it each time. Bounded: emptied when it reaches its capacity.
#[derive(Default)]
pub(crate) struct SchemaCache(Mutex<HashMap<String, Arc<Schema>>>);

const SCHEMA_CACHE_CAPACITY: usize = 256;

impl SchemaCache {
    fn parse(&self, text: &str) -> Result<Arc<Schema>, RestError> {
        if let Some(schema) = self.0.lock().get(text) {
            return Ok(schema.clone());
        }
        let schema = Arc::new(Schema::parse_str(text).map_err(RestError::invalid_schema)?);
        let mut cache = self.0.lock();
        if cache.len() >= SCHEMA_CACHE_CAPACITY {
            cache.clear();
        }
        cache.insert(text.to_string(), schema.clone());
        Ok(schema)
    }
}

/// An Avro request's records in the wire format, and the schema ids used.
pub(crate) struct AvroRecords {
    pub records: Vec<PreparedRecord>,
    pub key_schema_id: Option<u32>,
    pub value_schema_id: Option<u32>,
}

/// Registers or looks up the request's schemas and encodes its records. The error counts as
/// one malformed record when a record does not fit its schema.
pub(crate) async fn avro_records(
    registry: &SchemaRegistry,
    cache: &SchemaCache,
    topic: &str,
    body: ProduceBody,
) -> Result<AvroRecords, RestError> {
    let key = side_schema(
        registry,
        cache,
        topic,
        SubjectKind::Key,
        &body.key_schema,
        body.key_schema_id,
    )
    .await?;
    let value = side_schema(
        registry,
        cache,
        topic,
        SubjectKind::Value,
        &body.value_schema,
        body.value_schema_id,
    )
    .await?;
    let key_names = key
        .as_ref()
        .map(|(_, s)| Names::of(s))
        .transpose()
        .map_err(RestError::invalid_schema)?;
    let value_names = value
        .as_ref()
        .map(|(_, s)| Names::of(s))
        .transpose()
        .map_err(RestError::invalid_schema)?;
    let mut records = Vec::with_capacity(body.records.len());
    for (i, record) in body.records.into_iter().enumerate() {
        let key_bytes = match (&record.key, &key, &key_names) {
            (None, _, _) => None,
            (Some(json), Some((id, schema)), Some(names)) => {
                Some(encode(json, *id, schema, names, i, "key")?)
            }
            (Some(_), _, _) => return Err(RestError::key_schema_missing()),
        };
        let value_bytes = match (&record.value, &value, &value_names) {
            (None, _, _) => None,
            (Some(json), Some((id, schema)), Some(names)) => {
                Some(encode(json, *id, schema, names, i, "value")?)
            }
            (Some(_), _, _) => return Err(RestError::value_schema_missing()),
        };
        records.push(PreparedRecord {
            partition: record.partition,
            key: key_bytes,
            value: value_bytes,
        });
    }
    Ok(AvroRecords {
        records,
        key_schema_id: key.map(|(id, _)| id),
        value_schema_id: value.map(|(id, _)| id),
    })
}

/// One side's schema and id: by id when the request gives one, else the schema text
/// registered under the topic's subject, else none.
async fn side_schema(
    registry: &SchemaRegistry,
    cache: &SchemaCache,
    topic: &str,
    kind: SubjectKind,
    text: &Option<String>,
    id: Option<u32>,
) -> Result<Option<(u32, Arc<Schema>)>, RestError> {
    if let Some(id) = id {
        let schema = registry.schema_by_id(id).await.map_err(registry_error)?;
        return Ok(Some((id, schema)));
    }
    let Some(text) = text else {
        return Ok(None);
    };
    let schema = cache.parse(text)?;
    let id = registry
        .register(&kind.subject(topic), &schema)
        .await
        .map_err(registry_error)?;
    Ok(Some((id, schema)))
}

/// A registry failure as the REST proxy reports it.
fn registry_error(e: RegistryError) -> RestError {
    match e {
        RegistryError::UnknownId { id } => RestError::new(
            StatusCode::NOT_FOUND,
            40403,
            format!("Schema {id} not found."),
        ),
        RegistryError::Incompatible { .. } => {
            RestError::new(StatusCode::CONFLICT, 409, e.to_string())
        }
        RegistryError::Schema { .. } | RegistryError::NotAvro { .. } => {
            RestError::invalid_schema(e)
        }
        other => RestError::retriable(format!("schema registry: {other}")),
    }
}

/// `json` under `schema` in the wire format with `id`.
fn encode(
    json: &Json,
    id: u32,
    schema: &Schema,
    names: &Names,
    index: usize,
    side: &str,
) -> Result<Vec<u8>, RestError> {
    let value = json_to_avro(json, schema, names)
        .map_err(|e| RestError::conversion_failed(format!("record {index} {side}: {e}")))?;
    let datum = apache_avro::to_avro_datum(schema, value)
        .map_err(|e| RestError::conversion_failed(format!("record {index} {side}: {e}")))?;
    let mut out = Vec::with_capacity(wire::HEADER_LEN + datum.len());
    wire::write_header(id, &mut out);
    out.extend_from_slice(&datum);
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_cache_parses_once_and_refuses_bad_schemas() {
        let cache = SchemaCache::default();
        let a = cache.parse("\"int\"").unwrap();
        let b = cache.parse("\"int\"").unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        let e = cache.parse("{\"type\":\"nope\"}").unwrap_err();
        assert_eq!(
            (e.status, e.error_code),
            (StatusCode::UNPROCESSABLE_ENTITY, 42205)
        );
    }

    #[test]
    fn encoding_frames_the_datum_with_the_schema_id() {
        let schema = Schema::parse_str("\"long\"").unwrap();
        let names = Names::of(&schema).unwrap();
        let bytes = encode(&json!(3), 7, &schema, &names, 0, "value").unwrap();
        assert_eq!(bytes, [0, 0, 0, 0, 7, 6]);
        let e = encode(&json!("x"), 7, &schema, &names, 2, "value").unwrap_err();
        assert_eq!(e.error_code, 42203);
        assert!(e.message.contains("record 2 value"), "{}", e.message);
    }

    #[test]
    fn registry_failures_map_to_rest_proxy_codes() {
        assert_eq!(
            registry_error(RegistryError::UnknownId { id: 3 }).error_code,
            40403
        );
        let incompatible = RegistryError::Incompatible {
            subject: "t-value".into(),
            message: "no".into(),
        };
        assert_eq!(registry_error(incompatible).status, StatusCode::CONFLICT);
        assert_eq!(registry_error(RegistryError::ClientGone).error_code, 50003);
    }
}
