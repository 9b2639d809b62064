//! The REST proxy's answers: a produce response (`{"offsets":[...],"key_schema_id":..,
//! "value_schema_id":..}`) and its error body (`{"error_code":..,"message":..}`), with the
//! proxy's error codes: the HTTP status times 100 plus a sub-code (40401 topic not found,
//! 42201 key schema missing, ...), or the bare status for generic HTTP errors.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// The content type of every answer (the REST proxy's v2 JSON).
pub const RESPONSE_CONTENT_TYPE: &str = "application/vnd.kafka.v2+json";

/// Where one record of a produce request went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PartitionOffset {
    /// The partition.
    pub partition: Option<u32>,
    /// The record's offset in it (`None` when it could not be told).
    pub offset: Option<i64>,
    /// Always `None`: a request either succeeds as a whole or gets an error answer.
    pub error_code: Option<i64>,
    /// Always `None`, as `error_code`.
    pub error: Option<&'static str>,
}

impl PartitionOffset {
    /// A record stored at `offset` of `partition`.
    pub fn stored(partition: u32, offset: Option<i64>) -> Self {
        Self {
            partition: Some(partition),
            offset,
            error_code: None,
            error: None,
        }
    }
}

/// The answer to a successful produce request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProduceResponse {
    /// One entry per record, in request order.
    pub offsets: Vec<PartitionOffset>,
    /// The registry id of the key schema (Avro), else `None`.
    pub key_schema_id: Option<u32>,
    /// The registry id of the value schema (Avro), else `None`.
    pub value_schema_id: Option<u32>,
}

impl IntoResponse for ProduceResponse {
    fn into_response(self) -> Response {
        match serde_json::to_vec(&self) {
            Ok(body) => json_response(StatusCode::OK, body),
            Err(e) => RestError::internal(format!("cannot write the answer: {e}")).into_response(),
        }
    }
}

/// An error answer: an HTTP status, the REST proxy's `error_code` and a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{status} (error code {error_code}): {message}")]
pub struct RestError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The REST proxy's error code.
    pub error_code: i64,
    /// What went wrong.
    pub message: String,
}

/// The error body.
#[derive(Serialize)]
struct ErrorBody<'a> {
    error_code: i64,
    message: &'a str,
}

impl RestError {
    /// An error with `status`, `error_code` and `message`.
    pub fn new(status: StatusCode, error_code: i64, message: impl Into<String>) -> Self {
        Self {
            status,
            error_code,
            message: message.into(),
        }
    }

    /// A generic HTTP error: the error code is the status.
    fn plain(status: StatusCode, message: impl Into<String>) -> Self {
        Self::new(status, i64::from(status.as_u16()), message)
    }

    /// 404, 40401.
    pub fn topic_not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, 40401, "Topic not found.")
    }

    /// 404, 40402.
    pub fn partition_not_found(partition: i64) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            40402,
            format!("Partition not found. (partition {partition})"),
        )
    }

    /// 404, 404: no such route.
    pub fn not_found() -> Self {
        Self::plain(StatusCode::NOT_FOUND, "HTTP 404 Not Found")
    }

    /// 405, 405.
    pub fn method_not_allowed() -> Self {
        Self::plain(
            StatusCode::METHOD_NOT_ALLOWED,
            "HTTP 405 Method Not Allowed",
        )
    }

    /// 400, 400: the body is not JSON.
    pub fn malformed_json(detail: impl std::fmt::Display) -> Self {
        Self::plain(StatusCode::BAD_REQUEST, format!("Malformed JSON: {detail}"))
    }

    /// 422, 422: JSON of the wrong shape (a field of the wrong type, no records...).
    pub fn unprocessable(detail: impl Into<String>) -> Self {
        Self::plain(StatusCode::UNPROCESSABLE_ENTITY, detail)
    }

    /// 422, 42201.
    pub fn key_schema_missing() -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            42201,
            "Request includes keys but does not include key schema",
        )
    }

    /// 422, 42202.
    pub fn value_schema_missing() -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            42202,
            "Request includes values but does not include value schema",
        )
    }

    /// 422, 42203: a record does not convert to Avro under its schema.
    pub fn conversion_failed(detail: impl std::fmt::Display) -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            42203,
            format!("Conversion of JSON to Avro failed: {detail}"),
        )
    }

    /// 422, 42205.
    pub fn invalid_schema(detail: impl std::fmt::Display) -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            42205,
            format!("Invalid schema: {detail}"),
        )
    }

    /// 413, 413.
    pub fn too_large(limit: usize) -> Self {
        Self::plain(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("Request body is larger than {limit} bytes"),
        )
    }

    /// 408, 408: the body did not arrive in time.
    pub fn request_timeout(after: std::time::Duration) -> Self {
        Self::plain(
            StatusCode::REQUEST_TIMEOUT,
            format!("The request body did not arrive within {after:?}"),
        )
    }

    /// 415, 415.
    pub fn unsupported_media_type(got: &str) -> Self {
        Self::plain(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!(
                "HTTP 415 Unsupported Media Type: {got:?} (use application/vnd.kafka.json.v2+json \
                 or application/vnd.kafka.avro.v2+json)"
            ),
        )
    }

    /// 401, 401.
    pub fn unauthorized() -> Self {
        Self::plain(
            StatusCode::UNAUTHORIZED,
            "Unauthorized: a valid 'Authorization: Bearer' token is required",
        )
    }

    /// 429, 429.
    pub fn too_many_requests(limit: usize) -> Self {
        Self::plain(
            StatusCode::TOO_MANY_REQUESTS,
            format!("Too many requests: {limit} are in flight; retry later"),
        )
    }

    /// 500, 50002: the broker refused the records.
    pub fn broker(detail: impl std::fmt::Display) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            50002,
            format!("Kafka error: {detail}"),
        )
    }

    /// 500, 50003: a failure worth a retry (no acknowledgement in time, the application
    /// restarting).
    pub fn retriable(detail: impl std::fmt::Display) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            50003,
            format!("Retriable Kafka error: {detail}"),
        )
    }

    /// 500, 500.
    pub fn internal(detail: impl Into<String>) -> Self {
        Self::plain(StatusCode::INTERNAL_SERVER_ERROR, detail)
    }

    /// The JSON body.
    pub fn body(&self) -> Vec<u8> {
        let body = ErrorBody {
            error_code: self.error_code,
            message: &self.message,
        };
        // Two plain fields: serializing cannot fail, but stays fallible-free anyway.
        serde_json::to_vec(&body).unwrap_or_else(|_| b"{\"error_code\":500}".to_vec())
    }
}

impl IntoResponse for RestError {
    fn into_response(self) -> Response {
        let mut response = json_response(self.status, self.body());
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"weir\""),
            );
        }
        response
    }
}

/// A JSON answer with the REST proxy's content type.
fn json_response(status: StatusCode, body: Vec<u8>) -> Response {
    let mut response = (status, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(RESPONSE_CONTENT_TYPE),
    );
    response
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    #[test]
    fn produce_responses_have_the_rest_proxy_shape() {
        let r = ProduceResponse {
            offsets: vec![PartitionOffset::stored(1, Some(7))],
            key_schema_id: None,
            value_schema_id: Some(3),
        };
        let v: Value = serde_json::to_value(&r).unwrap();
        assert_eq!(
            v,
            json!({"offsets":[{"partition":1,"offset":7,"error_code":null,"error":null}],
                   "key_schema_id":null,"value_schema_id":3})
        );
    }

    #[test]
    fn errors_carry_status_code_and_message() {
        let e = RestError::topic_not_found();
        assert_eq!(e.status, StatusCode::NOT_FOUND);
        let v: Value = serde_json::from_slice(&e.body()).unwrap();
        assert_eq!(v, json!({"error_code":40401,"message":"Topic not found."}));
        assert_eq!(RestError::too_large(10).error_code, 413);
        assert_eq!(
            RestError::malformed_json("x").status,
            StatusCode::BAD_REQUEST
        );
        assert_eq!(RestError::key_schema_missing().error_code, 42201);
        assert_eq!(RestError::value_schema_missing().error_code, 42202);
        assert_eq!(RestError::conversion_failed("x").error_code, 42203);
        assert_eq!(RestError::broker("down").error_code, 50002);
        assert_eq!(RestError::retriable("later").error_code, 50003);
        assert_eq!(RestError::too_many_requests(2).error_code, 429);
    }

    #[test]
    fn answers_are_json_with_the_proxy_content_type() {
        let response = RestError::unauthorized().into_response();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            RESPONSE_CONTENT_TYPE
        );
        assert!(response.headers().contains_key(header::WWW_AUTHENTICATE));
    }
}
