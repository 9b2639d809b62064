//! The produce routes, `POST /topics/{topic}` and `POST /topics/{topic}/partitions/{p}`, and
//! the gate every request passes first (the bearer token, then a place among the requests in
//! flight: 429 when there is none). A request is read in the REST proxy's order of checks: content type (415), topic (404),
//! body size (413), body (400/422), schemas and records (422), then stored and answered once
//! durable.

use super::ingest::{now_ms, route, Ingest};
use super::request::{embedded_format, json_records, parse_body, EmbeddedFormat, PreparedRecord};
use super::response::{ProduceResponse, RestError};
use super::stats::{IngestStats, Refusal};
use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderMap};
use axum::middleware::{from_fn_with_state, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use std::sync::atomic::AtomicU32;
use std::sync::Arc;
use tokio::sync::Semaphore;

/// What the handlers share.
pub(crate) struct App {
    pub(crate) ingest: Arc<dyn Ingest>,
    pub(crate) stats: Arc<IngestStats>,
    pub(crate) max_body_bytes: usize,
    /// How long reading a body may take (a client trickling its body holds a place in flight).
    pub(crate) body_read_timeout: std::time::Duration,
    /// The next partition of a keyless record.
    pub(crate) turn: AtomicU32,
    #[cfg(feature = "avro")]
    pub(crate) registry: Option<crate::avro::SchemaRegistry>,
    #[cfg(feature = "avro")]
    pub(crate) schemas: super::avro_body::SchemaCache,
}

/// What every request passes before its handler.
#[derive(Clone)]
pub(crate) struct Gate {
    pub(crate) token: Option<Arc<str>>,
    /// One permit per request in flight.
    pub(crate) in_flight: Arc<Semaphore>,
    pub(crate) max_in_flight: usize,
    pub(crate) stats: Arc<IngestStats>,
}

pub(crate) fn router(app: Arc<App>, gate: Gate) -> Router {
    Router::new()
        .route(
            "/topics/{topic}",
            post(produce).fallback(method_not_allowed),
        )
        .route(
            "/topics/{topic}/partitions/{partition}",
            post(produce_to_partition).fallback(method_not_allowed),
        )
        .fallback(not_found)
        .with_state(app)
        .layer(from_fn_with_state(gate, gated))
}

/// The token check, then a place in flight held until the answer is ready.
async fn gated(State(gate): State<Gate>, request: Request, next: Next) -> Response {
    if let Some(token) = &gate.token {
        if !bearer_matches(request.headers(), token) {
            gate.stats.refused(Refusal::Other);
            return RestError::unauthorized().into_response();
        }
    }
    let Ok(_permit) = gate.in_flight.clone().try_acquire_owned() else {
        gate.stats.refused(Refusal::Throttled);
        return RestError::too_many_requests(gate.max_in_flight).into_response();
    };
    next.run(request).await
}

/// Whether the `Authorization` header is `Bearer <token>` (compared in constant time).
pub(crate) fn bearer_matches(headers: &HeaderMap, token: &str) -> bool {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.strip_prefix("Bearer "))
        .is_some_and(|given| constant_time_eq(given.trim().as_bytes(), token.as_bytes()))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn not_found() -> Response {
    RestError::not_found().into_response()
}

async fn method_not_allowed() -> Response {
    RestError::method_not_allowed().into_response()
}

/// `POST /topics/{topic}`: each record to the partition it names, else by key, else in turn.
async fn produce(
    State(app): State<Arc<App>>,
    topic: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let Ok(Path(topic)) = topic else {
        app.stats.refused(Refusal::Other);
        return RestError::topic_not_found().into_response();
    };
    answer(&app, &topic, None, &headers, body).await
}

/// `POST /topics/{topic}/partitions/{partition}`: every record to that partition.
async fn produce_to_partition(
    State(app): State<Arc<App>>,
    path: Result<Path<(String, String)>, PathRejection>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let Ok(Path((topic, partition))) = path else {
        app.stats.refused(Refusal::Other);
        return RestError::topic_not_found().into_response();
    };
    let Ok(partition) = partition.parse::<i64>() else {
        app.stats.refused(Refusal::Other);
        return RestError::partition_not_found(-1).into_response();
    };
    answer(&app, &topic, Some(partition), &headers, body).await
}

/// Handles a produce request and counts how it went.
async fn answer(
    app: &App,
    topic: &str,
    partition: Option<i64>,
    headers: &HeaderMap,
    body: Body,
) -> Response {
    match handle(app, topic, partition, headers, body).await {
        Ok(response) => {
            app.stats.accepted(response.offsets.len());
            response.into_response()
        }
        Err(e) => {
            app.stats.refused(refusal_of(&e));
            e.into_response()
        }
    }
}

/// What a refused request counts as, from its error.
fn refusal_of(e: &RestError) -> Refusal {
    match e.error_code {
        400 | 422 => Refusal::MalformedRequest,
        40402 | 42201 | 42202 | 42203 => Refusal::MalformedRecord,
        429 => Refusal::Throttled,
        50003 => Refusal::TimedOut,
        _ => Refusal::Other,
    }
}

async fn handle(
    app: &App,
    topic: &str,
    partition: Option<i64>,
    headers: &HeaderMap,
    body: Body,
) -> Result<ProduceResponse, RestError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .map(|h| h.to_str().unwrap_or("(not text)"));
    let format = embedded_format(content_type)?;
    let partitions = app
        .ingest
        .partitions(topic)
        .await?
        .ok_or_else(RestError::topic_not_found)?;
    if let Some(p) = partition.filter(|p| !(0..i64::from(partitions)).contains(p)) {
        return Err(RestError::partition_not_found(p));
    }
    let bytes = tokio::time::timeout(
        app.body_read_timeout,
        read_body(headers, body, app.max_body_bytes),
    )
    .await
    .map_err(|_| RestError::request_timeout(app.body_read_timeout))??;
    let body = parse_body(&bytes)?;
    let arrived = now_ms();
    let (records, key_schema_id, value_schema_id) = match format {
        EmbeddedFormat::Json => (json_records(body)?, None, None),
        EmbeddedFormat::Avro => avro_records(app, topic, body).await?,
    };
    let mut records = records;
    if partition.is_some() {
        for r in &mut records {
            r.partition = partition;
        }
    }
    let routed = route(records, partitions, &app.turn, arrived)?;
    let offsets = app.ingest.ingest(topic, routed).await?;
    Ok(ProduceResponse {
        offsets,
        key_schema_id,
        value_schema_id,
    })
}

type Encoded = (Vec<PreparedRecord>, Option<u32>, Option<u32>);

#[cfg(feature = "avro")]
async fn avro_records(
    app: &App,
    topic: &str,
    body: super::request::ProduceBody,
) -> Result<Encoded, RestError> {
    let Some(registry) = &app.registry else {
        return Err(RestError::unsupported_media_type(
            "application/vnd.kafka.avro.v2+json (this server has no schema registry)",
        ));
    };
    let encoded = super::avro_body::avro_records(registry, &app.schemas, topic, body).await?;
    Ok((
        encoded.records,
        encoded.key_schema_id,
        encoded.value_schema_id,
    ))
}

#[cfg(not(feature = "avro"))]
async fn avro_records(
    _app: &App,
    _topic: &str,
    _body: super::request::ProduceBody,
) -> Result<Encoded, RestError> {
    Err(RestError::unsupported_media_type(
        "application/vnd.kafka.avro.v2+json (weir was built without the avro feature)",
    ))
}

/// The body, refused with 413 beyond `limit` bytes (by its announced length at once).
async fn read_body(headers: &HeaderMap, body: Body, limit: usize) -> Result<Vec<u8>, RestError> {
    let announced = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.trim().parse::<u64>().ok());
    if announced.is_some_and(|n| n > limit as u64) {
        return Err(RestError::too_large(limit));
    }
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes().to_vec()),
        Err(e) if e.is::<LengthLimitError>() => Err(RestError::too_large(limit)),
        Err(e) => Err(RestError::malformed_json(format!(
            "could not read the body: {e}"
        ))),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn the_bearer_token_must_match_exactly() {
        let mut headers = HeaderMap::new();
        assert!(!bearer_matches(&headers, "s3cret"));
        for (given, ok) in [
            ("Bearer s3cret", true),
            ("Bearer  s3cret ", true),
            ("Bearer s3cre", false),
            ("Bearer s3cret2", false),
            ("Basic s3cret", false),
            ("s3cret", false),
        ] {
            headers.insert(header::AUTHORIZATION, HeaderValue::from_str(given).unwrap());
            assert_eq!(bearer_matches(&headers, "s3cret"), ok, "{given}");
        }
    }

    #[test]
    fn refusals_are_classified_by_error_code() {
        assert_eq!(
            refusal_of(&RestError::malformed_json("x")),
            Refusal::MalformedRequest
        );
        assert_eq!(
            refusal_of(&RestError::value_schema_missing()),
            Refusal::MalformedRecord
        );
        assert_eq!(
            refusal_of(&RestError::partition_not_found(9)),
            Refusal::MalformedRecord
        );
        assert_eq!(refusal_of(&RestError::retriable("late")), Refusal::TimedOut);
        assert_eq!(refusal_of(&RestError::topic_not_found()), Refusal::Other);
    }

    #[tokio::test]
    async fn bodies_over_the_limit_are_413_announced_or_not() {
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from_static("11"));
        let e = read_body(&headers, Body::from(vec![b'x'; 11]), 10)
            .await
            .unwrap_err();
        assert_eq!(e.error_code, 413);
        let e = read_body(&HeaderMap::new(), Body::from(vec![b'x'; 11]), 10)
            .await
            .unwrap_err();
        assert_eq!(e.error_code, 413);
        let ok = read_body(&HeaderMap::new(), Body::from(vec![b'x'; 10]), 10)
            .await
            .unwrap();
        assert_eq!(ok.len(), 10);
    }
}
