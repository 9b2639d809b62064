//! [`ConfluentAvroSerde`]: Avro in the Confluent wire format, with the writer schema
//! registered in a schema registry and the readers' schemas fetched from it by id.

use super::registry::{RegistryError, SchemaRegistry, SubjectKind};
use super::serde::{decode_datum, encode_datum, parse_schema};
use super::wire::{split_header, write_header, HEADER_LEN};
use apache_avro::Schema;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::marker::PhantomData;
use std::sync::Arc;
use weir_topology::{Serde, SerdeError};

/// The name [`ConfluentAvroSerde`] reports in errors and `describe()`.
const CONFLUENT_AVRO: &str = "confluent-avro";

/// Values of `T` in the Confluent wire format: byte 0, the writer schema's registry id
/// (4 bytes, big-endian), then the Avro binary datum; what Confluent's `KafkaAvroSerializer`
/// and the other Confluent clients write and read.
///
/// It writes with its own schema, registered under the topic's subject when the serde is
/// made. It reads bytes written with any schema id: the writer schema is fetched from the
/// registry once per id and resolved to its own (Avro schema resolution), so a reader whose
/// schema has a new field with a default reads records written before the field existed,
/// and an older reader skips the field in newer records.
///
/// ```no_run
/// use serde::{Deserialize, Serialize};
/// use weir_processors::avro::{ConfluentAvroSerde, SchemaRegistry, SubjectKind};
///
/// #[derive(Serialize, Deserialize)]
/// struct Departure { flight: String, delay_min: i32 }
///
/// let registry = SchemaRegistry::new("http://127.0.0.1:8081")?;
/// let serde = ConfluentAvroSerde::<Departure>::new(
///     &registry,
///     "departures",
///     SubjectKind::Value,
///     r#"{"type": "record", "name": "Departure", "fields": [
///         {"name": "flight", "type": "string"}, {"name": "delay_min", "type": "int"}]}"#,
/// )?; // registered under the subject "departures-value"
/// # Ok::<(), weir_processors::avro::RegistryError>(())
/// ```
pub struct ConfluentAvroSerde<T> {
    registry: SchemaRegistry,
    schema: Arc<Schema>,
    id: u32,
    _t: PhantomData<fn() -> T>,
}

impl<T> ConfluentAvroSerde<T> {
    /// Registers `schema_json` under `<topic>-key` or `<topic>-value` (blocking the calling
    /// thread for the registry's answer) and makes a serde that writes with it and reads into
    /// it. An incompatible schema is [`RegistryError::Incompatible`].
    pub fn new(
        registry: &SchemaRegistry,
        topic: &str,
        kind: SubjectKind,
        schema_json: &str,
    ) -> Result<Self, RegistryError> {
        let schema = local_schema(schema_json)?;
        let id = registry.register_blocking(&kind.subject(topic), &schema)?;
        Ok(Self::with_id(registry, schema, id))
    }

    /// [`new`](Self::new) for async code: waits for the registry without blocking.
    pub async fn new_async(
        registry: &SchemaRegistry,
        topic: &str,
        kind: SubjectKind,
        schema_json: &str,
    ) -> Result<Self, RegistryError> {
        let schema = local_schema(schema_json)?;
        let id = registry.register(&kind.subject(topic), &schema).await?;
        Ok(Self::with_id(registry, schema, id))
    }

    /// Makes a serde from an already parsed schema: registers `schema` under `<topic>-key` or
    /// `<topic>-value` (blocking the calling thread) as [`new`](Self::new) does.
    pub fn with_schema(
        registry: &SchemaRegistry,
        topic: &str,
        kind: SubjectKind,
        schema: Schema,
    ) -> Result<Self, RegistryError> {
        let id = registry.register_blocking(&kind.subject(topic), &schema)?;
        Ok(Self::with_id(registry, schema, id))
    }

    /// [`with_schema`](Self::with_schema) for async code: waits for the registry without
    /// blocking.
    pub async fn with_schema_async(
        registry: &SchemaRegistry,
        topic: &str,
        kind: SubjectKind,
        schema: Schema,
    ) -> Result<Self, RegistryError> {
        let id = registry.register(&kind.subject(topic), &schema).await?;
        Ok(Self::with_id(registry, schema, id))
    }

    fn with_id(registry: &SchemaRegistry, schema: Schema, id: u32) -> Self {
        Self {
            registry: registry.clone(),
            schema: Arc::new(schema),
            id,
            _t: PhantomData,
        }
    }

    /// The registry id of the schema this serde writes with.
    pub fn schema_id(&self) -> u32 {
        self.id
    }

    /// The schema this serde writes with and reads into.
    pub fn schema(&self) -> &Schema {
        &self.schema
    }
}

impl<T> Clone for ConfluentAvroSerde<T> {
    fn clone(&self) -> Self {
        Self {
            registry: self.registry.clone(),
            schema: self.schema.clone(),
            id: self.id,
            _t: PhantomData,
        }
    }
}

fn local_schema(schema_json: &str) -> Result<Schema, RegistryError> {
    parse_schema(schema_json).map_err(|source| RegistryError::Schema { id: None, source })
}

impl<T: Serialize + DeserializeOwned + 'static> Serde<T> for ConfluentAvroSerde<T> {
    fn serialize(&self, value: &T) -> Result<Vec<u8>, SerdeError> {
        let mut out = Vec::with_capacity(HEADER_LEN + 64);
        write_header(self.id, &mut out);
        encode_datum(&self.schema, value, &mut out)
            .map_err(|e| SerdeError::new(CONFLUENT_AVRO, e))?;
        Ok(out)
    }
    fn deserialize(&self, bytes: &[u8]) -> Result<T, SerdeError> {
        let (id, datum) = split_header(bytes).map_err(|e| SerdeError::new(CONFLUENT_AVRO, e))?;
        let writer = if id == self.id {
            self.schema.clone()
        } else {
            // Once per id for the registry's lifetime: later records hit the cache.
            self.registry
                .schema_by_id_blocking(id)
                .map_err(|e| SerdeError::new(CONFLUENT_AVRO, e))?
        };
        decode_datum(&writer, &self.schema, datum).map_err(|e| SerdeError::new(CONFLUENT_AVRO, e))
    }
    fn name(&self) -> &'static str {
        CONFLUENT_AVRO
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::avro::registry_fixture::RegistryFixture;
    use serde::Deserialize;

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    struct V1 {
        id: i64,
        name: String,
    }

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    struct V2 {
        id: i64,
        name: String,
        note: Option<String>,
    }

    const S1: &str = r#"{"type":"record","name":"R","fields":[{"name":"id","type":"long"},
        {"name":"name","type":"string"}]}"#;
    const S2: &str = r#"{"type":"record","name":"R","fields":[{"name":"id","type":"long"},
        {"name":"name","type":"string"},{"name":"note","type":["null","string"],"default":null}]}"#;

    #[test]
    fn writes_the_wire_format_with_the_registered_id() {
        let fixture = RegistryFixture::start();
        let registry = SchemaRegistry::new(&fixture.url).unwrap();
        let serde = ConfluentAvroSerde::<V1>::new(&registry, "t", SubjectKind::Value, S1).unwrap();
        assert_eq!(fixture.versions("t-value"), vec![serde.schema_id()]);
        let value = V1 {
            id: 1,
            name: "a".into(),
        };
        let bytes = serde.serialize(&value).unwrap();
        let mut expected = vec![0];
        expected.extend_from_slice(&serde.schema_id().to_be_bytes());
        expected.extend_from_slice(&[2, 2, b'a']);
        assert_eq!(bytes, expected);
        assert_eq!(serde.deserialize(&bytes).unwrap(), value);
    }

    #[test]
    fn old_and_new_readers_read_each_others_records() {
        let fixture = RegistryFixture::start();
        let old = ConfluentAvroSerde::<V1>::new(
            &SchemaRegistry::new(&fixture.url).unwrap(),
            "t",
            SubjectKind::Value,
            S1,
        )
        .unwrap();
        let new = ConfluentAvroSerde::<V2>::new(
            &SchemaRegistry::new(&fixture.url).unwrap(),
            "t",
            SubjectKind::Value,
            S2,
        )
        .unwrap();
        assert_ne!(old.schema_id(), new.schema_id());
        for i in 0..100 {
            let v1 = V1 {
                id: i,
                name: format!("n{i}"),
            };
            let read: V2 = new.deserialize(&old.serialize(&v1).unwrap()).unwrap();
            assert_eq!(
                read,
                V2 {
                    id: i,
                    name: v1.name.clone(),
                    note: None
                }
            );
            let v2 = V2 {
                id: i,
                name: format!("m{i}"),
                note: (i % 2 == 0).then(|| "x".into()),
            };
            let read: V1 = old.deserialize(&new.serialize(&v2).unwrap()).unwrap();
            assert_eq!(
                read,
                V1 {
                    id: i,
                    name: v2.name
                }
            );
        }
        // Each reader fetched the other's schema once.
        let fetches = fixture
            .requests()
            .iter()
            .filter(|r| r.starts_with("GET"))
            .count();
        assert_eq!(fetches, 2, "{:?}", fixture.requests());
    }

    #[test]
    fn key_and_value_subjects_and_incompatible_schemas() {
        let fixture = RegistryFixture::start();
        let registry = SchemaRegistry::new(&fixture.url).unwrap();
        let key =
            ConfluentAvroSerde::<String>::new(&registry, "t", SubjectKind::Key, r#""string""#)
                .unwrap();
        assert_eq!(fixture.versions("t-key"), vec![key.schema_id()]);
        assert_eq!(
            key.deserialize(&key.serialize(&"k".to_string()).unwrap())
                .unwrap(),
            "k"
        );
        ConfluentAvroSerde::<V2>::new(&registry, "t", SubjectKind::Value, S2).unwrap();
        // S1 lacks no field S2 had... but going from S2 to a schema with a new required field fails.
        let s3 = S2.replace("]}", r#",{"name":"gate","type":"string"}]}"#);
        let err = ConfluentAvroSerde::<V2>::new(&registry, "t", SubjectKind::Value, &s3)
            .err()
            .unwrap();
        assert!(matches!(err, RegistryError::Incompatible { .. }), "{err:?}");
        let err = ConfluentAvroSerde::<V2>::new(&registry, "t", SubjectKind::Value, "{oops")
            .err()
            .unwrap();
        assert!(
            matches!(err, RegistryError::Schema { id: None, .. }),
            "{err:?}"
        );
    }

    #[test]
    fn bad_bytes_and_unknown_ids_are_serde_errors() {
        let fixture = RegistryFixture::start();
        let registry = SchemaRegistry::new(&fixture.url).unwrap();
        let serde = ConfluentAvroSerde::<V1>::new(&registry, "t", SubjectKind::Value, S1).unwrap();
        let err = serde.deserialize(b"{\"id\":1}").unwrap_err();
        assert_eq!(err.serde, "confluent-avro");
        assert!(err.to_string().contains("magic byte"), "{err}");
        assert!(serde.deserialize(&[0, 0, 0]).is_err());
        let err = serde
            .deserialize(&[0, 0, 0, 0, 99, 2, 2, b'a'])
            .unwrap_err();
        assert!(
            err.to_string().contains("schema id 99 is not registered"),
            "{err}"
        );
        let mut good = serde
            .serialize(&V1 {
                id: 1,
                name: "a".into(),
            })
            .unwrap();
        good.pop();
        assert!(serde.deserialize(&good).is_err());
    }
}
