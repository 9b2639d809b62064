//! [`SchemaRegistry`]: a client of the Confluent Schema Registry's REST API, the subset the
//! serdes need: register a schema under a subject (`POST /subjects/{subject}/versions`) and
//! fetch a schema by id (`GET /schemas/ids/{id}`), both cached for the client's lifetime
//! (a registered schema never changes its id, and an id never changes its schema).

use super::http::{Answer, HttpClient};
use super::serde::{parse_schema, AvroError};
use apache_avro::Schema;
use hyper::{Method, StatusCode};
use parking_lot::{Mutex, RwLock};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// Which half of a record a schema describes: the subject is `<topic>-key` or `<topic>-value`
/// (the registry's TopicNameStrategy).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubjectKind {
    /// The record's key: subject `<topic>-key`.
    Key,
    /// The record's value: subject `<topic>-value`.
    Value,
}

impl SubjectKind {
    /// The subject of `topic` under the TopicNameStrategy.
    ///
    /// ```
    /// use weir_processors::avro::SubjectKind;
    /// assert_eq!(SubjectKind::Value.subject("flights"), "flights-value");
    /// assert_eq!(SubjectKind::Key.subject("flights"), "flights-key");
    /// ```
    pub fn subject(self, topic: &str) -> String {
        match self {
            Self::Key => format!("{topic}-key"),
            Self::Value => format!("{topic}-value"),
        }
    }
}

/// Why a schema registry call failed.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The registry URL is not `http://host[:port][/path]`.
    #[error("invalid schema registry URL {url:?}: {reason}")]
    BadUrl {
        /// The URL given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The schema registered under `subject` is incompatible with the subject's earlier
    /// versions (HTTP 409): change the schema compatibly (e.g. give a new field a default).
    #[error("schema is incompatible with an earlier version of subject {subject:?}: {message}")]
    Incompatible {
        /// The subject.
        subject: String,
        /// The registry's explanation.
        message: String,
    },
    /// No schema has this id (HTTP 404): the bytes were written against another registry,
    /// or are not in the Confluent wire format.
    #[error("schema id {id} is not registered in the schema registry")]
    UnknownId {
        /// The id looked up.
        id: u32,
    },
    /// Any other error answer.
    #[error("schema registry answered {status} to {url} (error code {error_code:?}): {message}")]
    Status {
        /// The request's URL.
        url: String,
        /// The HTTP status.
        status: u16,
        /// The registry's `error_code`, when the body had one.
        error_code: Option<i64>,
        /// The registry's `message`, or the body.
        message: String,
    },
    /// A success answer that is not what the API promises.
    #[error("unexpected answer from the schema registry to {url}: {reason}")]
    BadAnswer {
        /// The request's URL.
        url: String,
        /// What was wrong with it.
        reason: String,
    },
    /// A schema (ours, or one fetched by `id`) is not a valid Avro schema.
    #[error("schema {id:?} is not usable: {source}")]
    Schema {
        /// The id of a fetched schema; `None` for a local one.
        id: Option<u32>,
        /// Why.
        #[source]
        source: AvroError,
    },
    /// A fetched schema is of another type (`PROTOBUF`, `JSON`).
    #[error("schema id {id} is a {schema_type} schema, not AVRO")]
    NotAvro {
        /// The id.
        id: u32,
        /// Its `schemaType`.
        schema_type: String,
    },
    /// The request did not complete in time.
    #[error("schema registry request {url} timed out after {after:?}")]
    Timeout {
        /// The request's URL.
        url: String,
        /// The timeout.
        after: Duration,
    },
    /// A transport failure, with the URL it happened on.
    #[error("schema registry request {url} failed: {source}")]
    At {
        /// The request's URL.
        url: String,
        /// What failed.
        #[source]
        source: Box<RegistryError>,
    },
    /// The TCP connection failed.
    #[error("could not connect: {0}")]
    Connect(#[source] std::io::Error),
    /// An HTTP protocol error.
    #[error("HTTP error: {0}")]
    Http(#[source] hyper::Error),
    /// The request could not be built.
    #[error("could not build the request: {0}")]
    Request(String),
    /// The client's thread or runtime could not start.
    #[error("could not start the schema registry client thread: {0}")]
    Thread(#[source] std::io::Error),
    /// The client's thread is gone (it panicked, or the process is shutting down).
    #[error("the schema registry client thread is gone")]
    ClientGone,
}

impl RegistryError {
    /// Attaches the request's URL to a transport error.
    pub(crate) fn at(self, url: &str) -> Self {
        match self {
            Self::Connect(_) | Self::Http(_) | Self::Request(_) => Self::At {
                url: url.to_string(),
                source: Box::new(self),
            },
            other => other,
        }
    }
}

/// A schema registry client: cheap to clone (clones share the caches and the client thread).
///
/// Register and fetch come in two forms: `async` ones for async code, and `_blocking` ones
/// for synchronous code such as a serde. Both run the HTTP request on the client's own thread;
/// see the [module docs](super) for why.
#[derive(Clone)]
pub struct SchemaRegistry {
    inner: Arc<Inner>,
}

struct Inner {
    client: HttpClient,
    /// The URL's path prefix ("" or "/prefix").
    base_path: String,
    /// (subject, schema JSON) to id.
    ids: Mutex<HashMap<(String, String), u32>>,
    /// id to schema.
    schemas: RwLock<HashMap<u32, Arc<Schema>>>,
}

/// A request to the registry: method, path (after the base path), body.
type Call = (Method, String, Option<String>);

impl SchemaRegistry {
    /// The default time allowed for one request.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

    /// A client of the registry at `url` (`http://host:port`, optionally with a path prefix).
    /// Starts the client thread; connects only when a request is made.
    pub fn new(url: &str) -> Result<Self, RegistryError> {
        Self::with_timeout(url, Self::DEFAULT_TIMEOUT)
    }

    /// [`new`](Self::new) with `timeout` for each request.
    pub fn with_timeout(url: &str, timeout: Duration) -> Result<Self, RegistryError> {
        let (authority, base_path) = split_url(url)?;
        Ok(Self {
            inner: Arc::new(Inner {
                client: HttpClient::start(authority, timeout)?,
                base_path,
                ids: Mutex::new(HashMap::new()),
                schemas: RwLock::new(HashMap::new()),
            }),
        })
    }

    /// Registers `schema` under `subject` (or finds it there) and returns its id.
    pub async fn register(&self, subject: &str, schema: &Schema) -> Result<u32, RegistryError> {
        let (text, key) = self.schema_key(subject, schema)?;
        if let Some(id) = self.inner.ids.lock().get(&key) {
            return Ok(*id);
        }
        let (method, path, body) = self.register_call(subject, &text)?;
        let answer = self.inner.client.call(method, path.clone(), body).await?;
        self.registered(subject, schema, key, &path, answer)
    }

    /// [`register`](Self::register), blocking the calling thread.
    pub fn register_blocking(&self, subject: &str, schema: &Schema) -> Result<u32, RegistryError> {
        let (text, key) = self.schema_key(subject, schema)?;
        if let Some(id) = self.inner.ids.lock().get(&key) {
            return Ok(*id);
        }
        let (method, path, body) = self.register_call(subject, &text)?;
        let answer = self
            .inner
            .client
            .call_blocking(method, path.clone(), body)?;
        self.registered(subject, schema, key, &path, answer)
    }

    /// The schema registered with `id`.
    pub async fn schema_by_id(&self, id: u32) -> Result<Arc<Schema>, RegistryError> {
        if let Some(schema) = self.cached_schema(id) {
            return Ok(schema);
        }
        let (method, path, body) = self.by_id_call(id);
        let answer = self.inner.client.call(method, path.clone(), body).await?;
        self.fetched(id, &path, answer)
    }

    /// [`schema_by_id`](Self::schema_by_id), blocking the calling thread.
    pub fn schema_by_id_blocking(&self, id: u32) -> Result<Arc<Schema>, RegistryError> {
        if let Some(schema) = self.cached_schema(id) {
            return Ok(schema);
        }
        let (method, path, body) = self.by_id_call(id);
        let answer = self
            .inner
            .client
            .call_blocking(method, path.clone(), body)?;
        self.fetched(id, &path, answer)
    }

    /// The schema with `id` if this client has seen it (registered or fetched it) before.
    pub fn cached_schema(&self, id: u32) -> Option<Arc<Schema>> {
        self.inner.schemas.read().get(&id).cloned()
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.inner.client.authority())
    }

    fn schema_key(
        &self,
        subject: &str,
        schema: &Schema,
    ) -> Result<(String, (String, String)), RegistryError> {
        // The full JSON form, defaults and all (the canonical form would drop the defaults
        // that schema resolution and compatibility checks need).
        let text =
            serde_json::to_string(schema).map_err(|e| RegistryError::Request(e.to_string()))?;
        Ok((text.clone(), (subject.to_string(), text)))
    }

    fn register_call(&self, subject: &str, schema_text: &str) -> Result<Call, RegistryError> {
        let body = serde_json::json!({ "schema": schema_text }).to_string();
        let path = format!(
            "{}/subjects/{}/versions",
            self.inner.base_path,
            escape_path(subject)
        );
        Ok((Method::POST, path, Some(body)))
    }

    fn by_id_call(&self, id: u32) -> Call {
        (
            Method::GET,
            format!("{}/schemas/ids/{id}", self.inner.base_path),
            None,
        )
    }

    fn registered(
        &self,
        subject: &str,
        schema: &Schema,
        key: (String, String),
        path: &str,
        answer: Answer,
    ) -> Result<u32, RegistryError> {
        let url = self.url(path);
        if answer.status == StatusCode::CONFLICT {
            let (_, message) = error_body(&answer.body);
            return Err(RegistryError::Incompatible {
                subject: subject.to_string(),
                message,
            });
        }
        let body = success_body(&url, answer)?;
        let id = body
            .get("id")
            .and_then(serde_json::Value::as_u64)
            .and_then(|id| u32::try_from(id).ok())
            .ok_or_else(|| RegistryError::BadAnswer {
                url,
                reason: format!("no schema id in {body}"),
            })?;
        self.inner.ids.lock().insert(key, id);
        self.inner
            .schemas
            .write()
            .insert(id, Arc::new(schema.clone()));
        Ok(id)
    }

    fn fetched(&self, id: u32, path: &str, answer: Answer) -> Result<Arc<Schema>, RegistryError> {
        if answer.status == StatusCode::NOT_FOUND {
            return Err(RegistryError::UnknownId { id });
        }
        let url = self.url(path);
        let body = success_body(&url, answer)?;
        let schema_type = body
            .get("schemaType")
            .and_then(|t| t.as_str())
            .unwrap_or("AVRO");
        if schema_type != "AVRO" {
            return Err(RegistryError::NotAvro {
                id,
                schema_type: schema_type.to_string(),
            });
        }
        let text = body.get("schema").and_then(|s| s.as_str()).ok_or_else(|| {
            RegistryError::BadAnswer {
                url,
                reason: format!("no schema text in {body}"),
            }
        })?;
        let schema = Arc::new(parse_schema(text).map_err(|source| RegistryError::Schema {
            id: Some(id),
            source,
        })?);
        self.inner.schemas.write().insert(id, schema.clone());
        Ok(schema)
    }
}

/// The JSON body of a 2xx answer; any other status is an error with the registry's message.
fn success_body(url: &str, answer: Answer) -> Result<serde_json::Value, RegistryError> {
    if !answer.status.is_success() {
        let (error_code, message) = error_body(&answer.body);
        return Err(RegistryError::Status {
            url: url.to_string(),
            status: answer.status.as_u16(),
            error_code,
            message,
        });
    }
    serde_json::from_str(&answer.body).map_err(|e| RegistryError::BadAnswer {
        url: url.to_string(),
        reason: format!("body is not JSON ({e}): {:?}", answer.body),
    })
}

/// The registry's `{"error_code": .., "message": ..}`, or the raw body.
fn error_body(body: &str) -> (Option<i64>, String) {
    match serde_json::from_str::<serde_json::Value>(body) {
        Ok(json) => (
            json.get("error_code").and_then(|c| c.as_i64()),
            json.get("message")
                .and_then(|m| m.as_str())
                .map_or_else(|| body.to_string(), str::to_string),
        ),
        Err(_) => (None, body.to_string()),
    }
}

/// `http://host[:port][/prefix]` into `host:port` (port 80 if none) and the prefix.
fn split_url(url: &str) -> Result<(String, String), RegistryError> {
    let bad = |reason: &str| RegistryError::BadUrl {
        url: url.to_string(),
        reason: reason.to_string(),
    };
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| bad("only http:// URLs are supported"))?;
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    if authority.is_empty() {
        return Err(bad("no host"));
    }
    let authority = if authority
        .rsplit_once(':')
        .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
    {
        authority.to_string()
    } else if authority.contains(':') && !authority.ends_with(']') {
        return Err(bad("the port is not a number"));
    } else {
        format!("{authority}:80")
    };
    Ok((authority, path.trim_end_matches('/').to_string()))
}

/// Percent-encodes what is not unreserved in a path segment.
fn escape_path(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for byte in segment.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::avro::registry_fixture::RegistryFixture;

    const V1: &str = r#"{"type":"record","name":"R","fields":[{"name":"id","type":"long"}]}"#;
    const V2: &str = r#"{"type":"record","name":"R","fields":[{"name":"id","type":"long"},
        {"name":"note","type":["null","string"],"default":null}]}"#;
    const V2_NO_DEFAULT: &str = r#"{"type":"record","name":"R","fields":[{"name":"id","type":"long"},
        {"name":"note","type":"string"}]}"#;

    fn schema(text: &str) -> Schema {
        Schema::parse_str(text).unwrap()
    }

    #[test]
    fn register_then_fetch_by_id_from_a_fresh_client() {
        let fixture = RegistryFixture::start();
        let writer = SchemaRegistry::new(&fixture.url).unwrap();
        let id1 = writer.register_blocking("t-value", &schema(V1)).unwrap();
        let id2 = writer.register_blocking("t-value", &schema(V2)).unwrap();
        assert_ne!(id1, id2);
        assert_eq!(fixture.versions("t-value"), vec![id1, id2]);
        let reader = SchemaRegistry::new(&fixture.url).unwrap();
        assert_eq!(*reader.schema_by_id_blocking(id2).unwrap(), schema(V2));
        assert_eq!(*reader.schema_by_id_blocking(id1).unwrap(), schema(V1));
        // The registered schema keeps its default (not the canonical form, which drops it).
        let fetched = serde_json::to_string(&*reader.schema_by_id_blocking(id2).unwrap()).unwrap();
        assert!(fetched.contains("\"default\":null"), "{fetched}");
    }

    #[test]
    fn both_directions_are_cached() {
        let fixture = RegistryFixture::start();
        let registry = SchemaRegistry::new(&fixture.url).unwrap();
        let id = registry.register_blocking("t-key", &schema(V1)).unwrap();
        for _ in 0..5 {
            assert_eq!(
                registry.register_blocking("t-key", &schema(V1)).unwrap(),
                id
            );
            registry.schema_by_id_blocking(id).unwrap();
        }
        let other = SchemaRegistry::new(&fixture.url).unwrap();
        for _ in 0..5 {
            other.schema_by_id_blocking(id).unwrap();
        }
        assert_eq!(
            fixture.requests(),
            vec![
                "POST /subjects/t-key/versions".to_string(),
                format!("GET /schemas/ids/{id}")
            ]
        );
    }

    #[test]
    fn incompatible_schema_is_a_clear_error() {
        let fixture = RegistryFixture::start();
        let registry = SchemaRegistry::new(&fixture.url).unwrap();
        registry.register_blocking("t-value", &schema(V1)).unwrap();
        let err = registry
            .register_blocking("t-value", &schema(V2_NO_DEFAULT))
            .unwrap_err();
        match &err {
            RegistryError::Incompatible { subject, message } => {
                assert_eq!(subject, "t-value");
                assert!(message.contains("'note' has no default"), "{message}");
            }
            other => panic!("not Incompatible: {other:?}"),
        }
        // Another subject has no earlier version: the same schema is fine there.
        registry
            .register_blocking("u-value", &schema(V2_NO_DEFAULT))
            .unwrap();
    }

    #[test]
    fn unknown_id_and_unreachable_registry_are_errors() {
        let fixture = RegistryFixture::start();
        let registry = SchemaRegistry::new(&fixture.url).unwrap();
        let err = registry.schema_by_id_blocking(42).unwrap_err();
        assert!(
            matches!(err, RegistryError::UnknownId { id: 42 }),
            "{err:?}"
        );
        let url = fixture.url.clone();
        drop(fixture);
        let gone = SchemaRegistry::new(&url).unwrap();
        let err = gone.schema_by_id_blocking(1).unwrap_err();
        assert!(err.to_string().contains("could not connect"), "{err}");
        assert!(std::error::Error::source(&err).is_some());
    }

    #[tokio::test]
    async fn async_calls_on_a_current_thread_runtime() {
        let fixture = RegistryFixture::start();
        let registry = SchemaRegistry::new(&fixture.url).unwrap();
        let id = registry.register("t-value", &schema(V1)).await.unwrap();
        let fresh = SchemaRegistry::new(&fixture.url).unwrap();
        assert_eq!(*fresh.schema_by_id(id).await.unwrap(), schema(V1));
        // A blocking call on a current-thread runtime does not deadlock: the client has its own.
        let fresh = SchemaRegistry::new(&fixture.url).unwrap();
        assert_eq!(*fresh.schema_by_id_blocking(id).unwrap(), schema(V1));
    }

    #[test]
    fn urls() {
        assert_eq!(
            split_url("http://h:8081").unwrap(),
            ("h:8081".into(), "".into())
        );
        assert_eq!(
            split_url("http://h/sr/").unwrap(),
            ("h:80".into(), "/sr".into())
        );
        assert_eq!(
            split_url("http://[::1]:1/").unwrap(),
            ("[::1]:1".into(), "".into())
        );
        assert!(split_url("https://h:1").is_err());
        assert!(split_url("http://h:x").is_err());
        assert!(split_url("http:///x").is_err());
        assert_eq!(escape_path("a b/c-d.e"), "a%20b%2Fc-d.e");
    }
}
