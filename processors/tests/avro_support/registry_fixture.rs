//! A schema registry fixture for the Avro tests: an axum server on a thread of its own that
//! speaks the subset of the Confluent Schema Registry REST API weir's client (and Python's
//! `confluent-kafka`) use: `POST /subjects/{subject}/versions`, `GET /schemas/ids/{id}`, with
//! one compatibility rule (BACKWARD, top-level record fields only): a field that the subject's
//! latest version lacks must have a default. Ids are global: the same schema text under two
//! subjects gets one id, as in the real registry.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

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
type Reply = (StatusCode, [(&'static str, &'static str); 1], String);

/// A running fixture; stops when dropped.
pub struct RegistryFixture {
    /// `http://127.0.0.1:port`.
    pub url: String,
    state: Shared,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl RegistryFixture {
    /// Starts a fixture on a free loopback port.
    pub fn start() -> Self {
        let state: Shared = Arc::default();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let app = Router::new()
            .route("/subjects/{subject}/versions", post(register))
            .route("/schemas/ids/{id}", get(by_id))
            .with_state(state.clone());
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                axum::serve(listener, app)
                    .with_graceful_shutdown(async move {
                        let _ = stopped.await;
                    })
                    .await
                    .unwrap();
            });
        });
        Self {
            url,
            state,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// Every request so far, as "METHOD path".
    pub fn requests(&self) -> Vec<String> {
        self.state.lock().unwrap().requests.clone()
    }

    /// The ids registered under `subject`, oldest first.
    pub fn versions(&self, subject: &str) -> Vec<u32> {
        let state = self.state.lock().unwrap();
        state.subjects.get(subject).cloned().unwrap_or_default()
    }
}

impl Drop for RegistryFixture {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn reply(status: StatusCode, body: serde_json::Value) -> Reply {
    let media = ("content-type", "application/vnd.schemaregistry.v1+json");
    (status, [media], body.to_string())
}

fn error(status: StatusCode, code: i64, message: String) -> Reply {
    reply(
        status,
        serde_json::json!({"error_code": code, "message": message}),
    )
}

async fn register(State(state): State<Shared>, Path(subject): Path<String>, body: String) -> Reply {
    let mut registry = state.lock().unwrap();
    registry
        .requests
        .push(format!("POST /subjects/{subject}/versions"));
    let request: serde_json::Value = match serde_json::from_str(&body) {
        Ok(json) => json,
        Err(e) => {
            return error(
                StatusCode::UNPROCESSABLE_ENTITY,
                42201,
                format!("bad body: {e}"),
            )
        }
    };
    let Some(text) = request.get("schema").and_then(|s| s.as_str()) else {
        return error(StatusCode::UNPROCESSABLE_ENTITY, 42201, "no schema".into());
    };
    let Ok(schema) = serde_json::from_str::<serde_json::Value>(text) else {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            42201,
            "Invalid schema".into(),
        );
    };
    let same =
        |t: &String| serde_json::from_str::<serde_json::Value>(t).ok() == Some(schema.clone());
    let existing = registry.schemas.iter().position(same).map(|i| i as u32 + 1);
    let versions = registry.subjects.get(&subject).cloned().unwrap_or_default();
    if let Some(id) = existing.filter(|id| versions.contains(id)) {
        return reply(StatusCode::OK, serde_json::json!({"id": id}));
    }
    if let Some(latest) = versions.last() {
        let previous: serde_json::Value =
            serde_json::from_str(&registry.schemas[*latest as usize - 1]).unwrap();
        if let Some(field) = new_field_without_default(&previous, &schema) {
            let message = format!(
                "Schema being registered is incompatible with an earlier schema for subject \
                 \"{subject}\": new field '{field}' has no default value"
            );
            return error(StatusCode::CONFLICT, 409, message);
        }
    }
    let id = existing.unwrap_or_else(|| {
        registry.schemas.push(text.to_string());
        registry.schemas.len() as u32
    });
    registry.subjects.entry(subject).or_default().push(id);
    reply(StatusCode::OK, serde_json::json!({"id": id}))
}

/// The first top-level field of `new` missing from `old` without a default.
fn new_field_without_default(old: &serde_json::Value, new: &serde_json::Value) -> Option<String> {
    let fields = |s: &serde_json::Value| s.get("fields").and_then(|f| f.as_array()).cloned();
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

async fn by_id(State(state): State<Shared>, Path(id): Path<u32>) -> Reply {
    let mut registry = state.lock().unwrap();
    registry.requests.push(format!("GET /schemas/ids/{id}"));
    match id
        .checked_sub(1)
        .and_then(|i| registry.schemas.get(i as usize))
    {
        Some(text) => reply(StatusCode::OK, serde_json::json!({"schema": text})),
        None => error(
            StatusCode::NOT_FOUND,
            40403,
            format!("Schema {id} not found"),
        ),
    }
}
