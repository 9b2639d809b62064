//! Schemas derived from Rust types: [`AvroSerde::derived`] and [`ConfluentAvroSerde::derived`]
//! for types with apache-avro's `#[derive(AvroSchema)]`.

use super::registry::{RegistryError, SchemaRegistry, SubjectKind};
use super::{AvroSerde, ConfluentAvroSerde};
use apache_avro::AvroSchema;
use std::sync::Arc;

impl<T: AvroSchema> AvroSerde<T> {
    /// A serde for the schema derived from `T` (`#[derive(AvroSchema)]`, apache-avro's derive,
    /// re-exported as [`AvroSchema`](super::AvroSchema)): the record's name is the type's,
    /// its fields the struct's in order, `Option<X>` a `["null", X]` union (add
    /// `#[avro(default = "null")]` to give the field a default for schema evolution). A nested
    /// record or enum does not take the enclosing type's namespace (apache-avro 0.21): give
    /// each named type its own `#[avro(namespace = "...")]`.
    ///
    /// ```
    /// use serde::{Deserialize, Serialize};
    /// use weir_processors::avro::{apache_avro, AvroSchema, AvroSerde};
    /// use weir_topology::Serde;
    ///
    /// #[derive(Debug, PartialEq, Serialize, Deserialize, AvroSchema)]
    /// struct Departure { flight: String, delay_min: i32, gate: Option<String> }
    ///
    /// let serde = AvroSerde::<Departure>::derived();
    /// let d = Departure { flight: "LH400".into(), delay_min: 12, gate: None };
    /// let bytes = serde.serialize(&d)?;
    /// assert_eq!(bytes, [10, b'L', b'H', b'4', b'0', b'0', 24, 0]);
    /// assert_eq!(serde.deserialize(&bytes)?, d);
    /// # Ok::<(), weir_topology::SerdeError>(())
    /// ```
    pub fn derived() -> Self {
        Self::with_schema(Arc::new(T::get_schema()))
    }
}

impl<T: AvroSchema> ConfluentAvroSerde<T> {
    /// Registers the schema derived from `T` (`#[derive(AvroSchema)]`, see
    /// [`AvroSerde::derived`]) under `<topic>-key` or
    /// `<topic>-value`, blocking the calling thread, and makes a serde that writes with it.
    pub fn derived(
        registry: &SchemaRegistry,
        topic: &str,
        kind: SubjectKind,
    ) -> Result<Self, RegistryError> {
        Self::with_schema(registry, topic, kind, T::get_schema())
    }

    /// [`derived`](Self::derived) for async code.
    pub async fn derived_async(
        registry: &SchemaRegistry,
        topic: &str,
        kind: SubjectKind,
    ) -> Result<Self, RegistryError> {
        Self::with_schema_async(registry, topic, kind, T::get_schema()).await
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::avro::registry_fixture::RegistryFixture;
    use apache_avro::Schema;
    use serde::{Deserialize, Serialize};
    use std::collections::HashMap;
    use weir_topology::Serde;

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, AvroSchema)]
    #[avro(namespace = "weir.test")]
    enum Status {
        OnTime,
        Delayed,
    }

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, AvroSchema)]
    #[avro(namespace = "weir.test")]
    struct Airport {
        code: String,
        elevation_m: i32,
    }

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, AvroSchema)]
    #[avro(namespace = "weir.test")]
    struct Leg {
        origin: Airport,
        seats: i64,
        load: f64,
        status: Status,
        gate: Option<String>,
        tags: Vec<String>,
        extra: HashMap<String, i32>,
        cancelled: bool,
    }

    const LEG: &str = r#"{"type": "record", "name": "Leg", "namespace": "weir.test", "fields": [
        {"name": "origin", "type": {"type": "record", "name": "Airport", "fields": [
            {"name": "code", "type": "string"}, {"name": "elevation_m", "type": "int"}]}},
        {"name": "seats", "type": "long"},
        {"name": "load", "type": "double"},
        {"name": "status", "type": {"type": "enum", "name": "Status", "symbols": ["OnTime", "Delayed"]}},
        {"name": "gate", "type": ["null", "string"]},
        {"name": "tags", "type": {"type": "array", "items": "string"}},
        {"name": "extra", "type": {"type": "map", "values": "int"}},
        {"name": "cancelled", "type": "boolean"}
    ]}"#;

    fn leg(i: i64) -> Leg {
        Leg {
            origin: Airport {
                code: format!("A{i}"),
                elevation_m: (i * 37 % 3000) as i32 - 100,
            },
            seats: i * 1_000_000_007,
            load: i as f64 / 7.0,
            status: if i % 2 == 0 {
                Status::OnTime
            } else {
                Status::Delayed
            },
            gate: (i % 3 == 0).then(|| format!("G{i}")),
            tags: (0..i % 4).map(|t| format!("t{t}")).collect(),
            // At most one entry, so that both serdes write the map's entries in one order.
            extra: (0..i % 2).map(|k| (format!("k{k}"), i as i32)).collect(),
            cancelled: i % 5 == 0,
        }
    }

    #[test]
    fn a_derived_schema_is_the_hand_written_one_and_round_trips() {
        let derived = AvroSerde::<Leg>::derived();
        let given = AvroSerde::<Leg>::new(LEG).unwrap();
        assert_eq!(
            derived.schema().canonical_form(),
            given.schema().canonical_form()
        );
        for i in -20..100 {
            let bytes = derived.serialize(&leg(i)).unwrap();
            assert_eq!(bytes, given.serialize(&leg(i)).unwrap(), "case {i}");
            assert_eq!(derived.deserialize(&bytes).unwrap(), leg(i), "case {i}");
            assert_eq!(given.deserialize(&bytes).unwrap(), leg(i), "case {i}");
        }
    }

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, AvroSchema)]
    #[avro(namespace = "weir.test")]
    struct R {
        id: i64,
        name: String,
    }

    /// `R` after a compatible change: a new optional field with a default.
    mod v2 {
        use super::*;
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, AvroSchema)]
        #[avro(namespace = "weir.test")]
        pub(super) struct R {
            pub(super) id: i64,
            pub(super) name: String,
            #[avro(default = "null")]
            pub(super) note: Option<String>,
        }
    }

    /// `R` after an incompatible change: a new field without a default.
    mod v3 {
        use super::*;
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, AvroSchema)]
        #[avro(namespace = "weir.test")]
        pub(super) struct R {
            pub(super) id: i64,
            pub(super) name: String,
            pub(super) gate: String,
        }
    }

    #[test]
    fn derived_schemas_are_registered_and_evolve_compatibly() {
        let fixture = RegistryFixture::start();
        let registry = SchemaRegistry::new(&fixture.url).unwrap();
        let old = ConfluentAvroSerde::<R>::derived(&registry, "t", SubjectKind::Value).unwrap();
        let new = ConfluentAvroSerde::<v2::R>::derived(&registry, "t", SubjectKind::Value).unwrap();
        assert_eq!(
            fixture.versions("t-value"),
            vec![old.schema_id(), new.schema_id()]
        );
        // What a fresh client fetches by id is the derived schema, the default included.
        let fresh = SchemaRegistry::new(&fixture.url).unwrap();
        for (id, schema) in [
            (old.schema_id(), R::get_schema()),
            (new.schema_id(), v2::R::get_schema()),
        ] {
            let fetched: &Schema = &fresh.schema_by_id_blocking(id).unwrap();
            assert_eq!(
                serde_json::to_value(fetched).unwrap(),
                serde_json::to_value(&schema).unwrap()
            );
        }
        let fetched = fresh.schema_by_id_blocking(new.schema_id()).unwrap();
        let text = serde_json::to_string(&*fetched).unwrap();
        assert!(text.contains(r#""default":null"#), "{text}");
        for i in 0..50 {
            let r = R {
                id: i,
                name: format!("n{i}"),
            };
            let read: v2::R = new.deserialize(&old.serialize(&r).unwrap()).unwrap();
            assert_eq!((read.id, read.name, read.note), (i, r.name.clone(), None));
            let r2 = v2::R {
                id: -i,
                name: format!("m{i}"),
                note: (i % 2 == 0).then(|| format!("x{i}")),
            };
            let read: R = old.deserialize(&new.serialize(&r2).unwrap()).unwrap();
            assert_eq!(
                read,
                R {
                    id: -i,
                    name: r2.name
                }
            );
        }
        let err = ConfluentAvroSerde::<v3::R>::derived(&registry, "t", SubjectKind::Value)
            .err()
            .unwrap();
        assert!(matches!(err, RegistryError::Incompatible { .. }), "{err:?}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_derived_key_schema_registers_from_async_code() {
        let fixture = RegistryFixture::start();
        let registry = SchemaRegistry::new(&fixture.url).unwrap();
        let key = ConfluentAvroSerde::<Airport>::derived_async(&registry, "a", SubjectKind::Key)
            .await
            .unwrap();
        assert_eq!(fixture.versions("a-key"), vec![key.schema_id()]);
        let airport = Airport {
            code: "MUC".into(),
            elevation_m: 453,
        };
        let bytes = key.serialize(&airport).unwrap();
        assert_eq!(&bytes[1..5], &key.schema_id().to_be_bytes());
        assert_eq!(key.deserialize(&bytes).unwrap(), airport);
    }
}
