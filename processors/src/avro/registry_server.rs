//! An embedded schema registry: a small HTTP/1 server on a thread of its own that speaks the
//! subset of the Confluent Schema Registry REST API that weir's [`SchemaRegistry`] client,
//! weir's HTTP ingest and Python's `confluent-kafka` use, for demos and tests that have no
//! registry to talk to:
//!
//! - `POST /subjects/{subject}/versions` with `{"schema": "<schema text>"}` registers a schema
//!   (answer `{"id": N}`); registering a schema the subject already has answers its id again.
//! - `GET /schemas/ids/{id}` answers `{"schema": "<schema text>"}`, or 404 / 40403.
//!
//! Ids are global, as in the real registry: the same schema (compared as JSON) under two
//! subjects has one id. One compatibility rule is checked, BACKWARD on top-level record fields:
//! a field the subject's latest version lacks must have a default (409 otherwise). State lives
//! in memory only; the server stops when its [`RegistryServer`] is dropped.
//!
//! [`SchemaRegistry`]: super::SchemaRegistry

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use parking_lot::Mutex;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

/// The registry's media type, on every answer.
const MEDIA_TYPE: &str = "application/vnd.schemaregistry.v1+json";
/// The largest request body accepted (a schema), bytes.
const MAX_BODY_BYTES: usize = 1 << 20;

/// What the registry holds.
#[derive(Default)]
struct Registry {
    /// Schema texts; the id of `schemas[i]` is `i + 1`.
    schemas: Vec<String>,
    /// Subject to its versions' ids, oldest first.
    subjects: HashMap<String, Vec<u32>>,
    /// Every request, as "METHOD path".
    requests: Vec<String>,
}

type Shared = Arc<Mutex<Registry>>;

/// A running embedded schema registry; it stops when dropped.
///
/// ```
/// use weir_processors::avro::{RegistryServer, SchemaRegistry};
///
/// let server = RegistryServer::start("127.0.0.1:0".parse()?)?;
/// let client = SchemaRegistry::new(server.url())?;
/// # drop(client);
/// assert!(server.url().starts_with("http://127.0.0.1:"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct RegistryServer {
    url: String,
    addr: SocketAddr,
    state: Shared,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl RegistryServer {
    /// Starts a registry listening on `addr` (port 0: a free port) on a thread of its own.
    /// Fails when the address cannot be bound or the thread not started.
    pub fn start(addr: SocketAddr) -> std::io::Result<Self> {
        let listener = std::net::TcpListener::bind(addr)?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()?;
        let state: Shared = Arc::default();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let shared = state.clone();
        let thread = std::thread::Builder::new()
            .name("weir-registry-server".into())
            .spawn(move || {
                runtime.block_on(async move {
                    match tokio::net::TcpListener::from_std(listener) {
                        Ok(listener) => serve(listener, shared, stopped).await,
                        Err(e) => tracing::warn!("schema registry cannot listen: {e}"),
                    }
                });
            })?;
        Ok(Self {
            url: format!("http://{addr}"),
            addr,
            state,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// The registry's URL, `http://host:port`, for [`SchemaRegistry::new`](super::SchemaRegistry::new).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Every request so far, as "METHOD path", oldest first.
    pub fn requests(&self) -> Vec<String> {
        self.state.lock().requests.clone()
    }

    /// The ids registered under `subject`, oldest first.
    pub fn versions(&self, subject: &str) -> Vec<u32> {
        self.state
            .lock()
            .subjects
            .get(subject)
            .cloned()
            .unwrap_or_default()
    }

    /// The subjects registered so far, sorted.
    pub fn subjects(&self) -> Vec<String> {
        let mut subjects: Vec<String> = self.state.lock().subjects.keys().cloned().collect();
        subjects.sort();
        subjects
    }
}

impl Drop for RegistryServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl std::fmt::Debug for RegistryServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryServer")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

/// Accepts connections until `stopped`, one tokio task per connection.
async fn serve(
    listener: tokio::net::TcpListener,
    state: Shared,
    mut stopped: tokio::sync::oneshot::Receiver<()>,
) {
    loop {
        let accepted = tokio::select! {
            _ = &mut stopped => return,
            accepted = listener.accept() => accepted,
        };
        let Ok((stream, _)) = accepted else { continue };
        let state = state.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                let state = state.clone();
                async move { Ok::<_, std::convert::Infallible>(answer(&state, request).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// The answer to one request.
async fn answer(state: &Shared, request: Request<Incoming>) -> Response<Full<Bytes>> {
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    state.lock().requests.push(format!("{method} {path}"));
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let (status, body) = match (&method, segments.as_slice()) {
        (&Method::POST, ["subjects", subject, "versions"]) => {
            let subject = percent_decode(subject);
            match read_body(request).await {
                Ok(text) => register(&mut state.lock(), &subject, &text),
                Err(reply) => reply,
            }
        }
        (&Method::GET, ["schemas", "ids", id]) => by_id(&state.lock(), id),
        _ => error(
            StatusCode::NOT_FOUND,
            404,
            format!("HTTP 404 Not Found: {path}"),
        ),
    };
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static(MEDIA_TYPE),
    );
    response
}

type Reply = (StatusCode, Value);

fn error(status: StatusCode, code: i64, message: String) -> Reply {
    (status, json!({"error_code": code, "message": message}))
}

/// The request's body as text, at most [`MAX_BODY_BYTES`].
async fn read_body(request: Request<Incoming>) -> Result<String, Reply> {
    let collected = Limited::new(request.into_body(), MAX_BODY_BYTES)
        .collect()
        .await
        .map_err(|e| error(StatusCode::BAD_REQUEST, 400, format!("bad body: {e}")))?;
    String::from_utf8(collected.to_bytes().to_vec()).map_err(|_| {
        error(
            StatusCode::UNPROCESSABLE_ENTITY,
            42201,
            "body is not UTF-8".into(),
        )
    })
}

/// `%XX` escapes decoded (subjects are path segments); invalid escapes are kept as they are.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
        match (
            bytes[i],
            bytes.get(i + 1).copied().and_then(hex),
            bytes.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(high), Some(low)) => {
                out.push(high * 16 + low);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `POST /subjects/{subject}/versions`.
fn register(registry: &mut Registry, subject: &str, body: &str) -> Reply {
    let request: Value = match serde_json::from_str(body) {
        Ok(json) => json,
        Err(e) => {
            return error(
                StatusCode::UNPROCESSABLE_ENTITY,
                42201,
                format!("bad body: {e}"),
            )
        }
    };
    let Some(text) = request.get("schema").and_then(Value::as_str) else {
        return error(StatusCode::UNPROCESSABLE_ENTITY, 42201, "no schema".into());
    };
    let Ok(schema) = serde_json::from_str::<Value>(text) else {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            42201,
            "Invalid schema".into(),
        );
    };
    let same = |t: &String| serde_json::from_str::<Value>(t).ok().as_ref() == Some(&schema);
    let existing = registry.schemas.iter().position(same).map(|i| i as u32 + 1);
    let versions = registry.subjects.get(subject).cloned().unwrap_or_default();
    if let Some(id) = existing.filter(|id| versions.contains(id)) {
        return (StatusCode::OK, json!({"id": id}));
    }
    let latest = versions
        .last()
        .and_then(|id| registry.schemas.get(*id as usize - 1))
        .and_then(|text| serde_json::from_str::<Value>(text).ok());
    if let Some(field) = latest.and_then(|previous| new_field_without_default(&previous, &schema)) {
        let message = format!(
            "Schema being registered is incompatible with an earlier schema for subject \
             \"{subject}\": new field '{field}' has no default value"
        );
        return error(StatusCode::CONFLICT, 409, message);
    }
    let id = existing.unwrap_or_else(|| {
        registry.schemas.push(text.to_string());
        registry.schemas.len() as u32
    });
    registry
        .subjects
        .entry(subject.to_string())
        .or_default()
        .push(id);
    (StatusCode::OK, json!({"id": id}))
}

/// The first top-level field of `new` missing from `old` without a default.
fn new_field_without_default(old: &Value, new: &Value) -> Option<String> {
    let fields = |s: &Value| s.get("fields").and_then(Value::as_array).cloned();
    let old_names: Vec<String> = fields(old)
        .unwrap_or_default()
        .iter()
        .filter_map(|f| f.get("name")?.as_str().map(str::to_string))
        .collect();
    fields(new)?.iter().find_map(|f| {
        let name = f.get("name")?.as_str()?;
        (!old_names.iter().any(|n| n == name) && f.get("default").is_none())
            .then(|| name.to_string())
    })
}

/// `GET /schemas/ids/{id}`.
fn by_id(registry: &Registry, id: &str) -> Reply {
    let schema = id
        .parse::<u32>()
        .ok()
        .and_then(|id| id.checked_sub(1))
        .and_then(|i| registry.schemas.get(i as usize));
    match schema {
        Some(text) => (StatusCode::OK, json!({"schema": text})),
        None => error(
            StatusCode::NOT_FOUND,
            40403,
            format!("Schema {id} not found"),
        ),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::avro::{RegistryError, SchemaRegistry};

    const V1: &str = r#"{"type":"record","name":"R","fields":[{"name":"a","type":"int"}]}"#;
    const V2_OPTIONAL: &str = r#"{"type":"record","name":"R","fields":[{"name":"a","type":"int"},{"name":"b","type":["null","int"],"default":null}]}"#;
    const V2_REQUIRED: &str = r#"{"type":"record","name":"R","fields":[{"name":"a","type":"int"},{"name":"c","type":"int"}]}"#;

    fn body(schema: &str) -> String {
        json!({ "schema": schema }).to_string()
    }

    #[test]
    fn ids_are_global_and_registration_is_idempotent() {
        let mut registry = Registry::default();
        assert_eq!(
            register(&mut registry, "a-value", &body(V1)).1,
            json!({"id": 1})
        );
        assert_eq!(
            register(&mut registry, "a-value", &body(V1)).1,
            json!({"id": 1})
        );
        // The same schema, written differently, under another subject: the same id.
        let spaced = V1.replace(',', ", ");
        assert_eq!(
            register(&mut registry, "b-value", &body(&spaced)).1,
            json!({"id": 1})
        );
        assert_eq!(
            register(&mut registry, "a-value", &body(V2_OPTIONAL)).1,
            json!({"id": 2})
        );
        assert_eq!(registry.subjects["a-value"], vec![1, 2]);
        assert_eq!(by_id(&registry, "2").1, json!({ "schema": V2_OPTIONAL }));
    }

    #[test]
    fn a_new_field_without_default_is_a_conflict() {
        let mut registry = Registry::default();
        register(&mut registry, "t-value", &body(V1));
        let (status, answer) = register(&mut registry, "t-value", &body(V2_REQUIRED));
        assert_eq!(status, StatusCode::CONFLICT);
        assert!(
            answer["message"].as_str().unwrap().contains("'c'"),
            "{answer}"
        );
        // Under a fresh subject it is fine.
        assert_eq!(
            register(&mut registry, "u-value", &body(V2_REQUIRED)).0,
            StatusCode::OK
        );
    }

    #[test]
    fn bad_bodies_and_unknown_ids_are_errors() {
        let mut registry = Registry::default();
        assert_eq!(
            register(&mut registry, "t", "not json").0,
            StatusCode::UNPROCESSABLE_ENTITY
        );
        assert_eq!(
            register(&mut registry, "t", "{}").0,
            StatusCode::UNPROCESSABLE_ENTITY
        );
        let (status, answer) = register(&mut registry, "t", &body("{oops"));
        assert_eq!(
            (status, answer["message"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("Invalid schema"))
        );
        assert_eq!(by_id(&registry, "1").1["error_code"], 40403);
        assert_eq!(by_id(&registry, "x").0, StatusCode::NOT_FOUND);
        assert_eq!(by_id(&registry, "0").0, StatusCode::NOT_FOUND);
    }

    #[test]
    fn percent_escapes_in_subjects_are_decoded() {
        assert_eq!(percent_decode("a%2Db-value"), "a-b-value");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz"), "%zz");
    }

    #[test]
    fn the_client_registers_and_fetches_over_http() {
        let server = RegistryServer::start("127.0.0.1:0".parse().unwrap()).unwrap();
        let client = SchemaRegistry::new(server.url()).unwrap();
        let v1 = apache_avro::Schema::parse_str(V1).unwrap();
        let id = client.register_blocking("t-value", &v1).unwrap();
        assert_eq!(server.versions("t-value"), vec![id]);
        assert_eq!(server.subjects(), vec!["t-value".to_string()]);
        let v2 = apache_avro::Schema::parse_str(V2_REQUIRED).unwrap();
        let err = client.register_blocking("t-value", &v2).unwrap_err();
        assert!(matches!(err, RegistryError::Incompatible { .. }), "{err:?}");
        let fresh = SchemaRegistry::new(server.url()).unwrap();
        assert_eq!(*fresh.schema_by_id_blocking(id).unwrap(), v1);
        let unknown = fresh.schema_by_id_blocking(99).unwrap_err();
        assert!(
            matches!(unknown, RegistryError::UnknownId { id: 99 }),
            "{unknown:?}"
        );
        assert!(server
            .requests()
            .contains(&format!("GET /schemas/ids/{id}")));
    }
}
