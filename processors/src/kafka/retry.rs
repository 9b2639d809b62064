//! Retries with capped exponential backoff and a total deadline around every broker call.
//!
//! rskafka is built with a zero retry deadline, so each of its calls is one attempt (it still
//! drops a broken connection from its cache, and the next attempt reconnects); this module decides
//! what is retried, how long to wait, and when to give up with [`KafkaError::RetriesExhausted`].

use super::config::RetryConfig;
use super::error::{classify, describe, Class, KafkaError};
use rskafka::client::error::Error as ClientError;
use rskafka::client::Client;
use std::future::Future;
use std::time::{Duration, Instant};

/// Why a retried call stopped without a result.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The broker answered `OffsetOutOfRange` (only fetches see it).
    OutOfRange,
    /// Anything else: fatal, or transient past the deadline.
    Kafka(KafkaError),
}

/// The waits between attempts: `initial`, doubling, capped at `max`.
pub(crate) fn backoff(cfg: &RetryConfig, attempt: u32) -> Duration {
    let factor = 1u32.checked_shl(attempt.min(20)).unwrap_or(u32::MAX);
    cfg.initial_backoff
        .checked_mul(factor)
        .unwrap_or(cfg.max_backoff)
        .min(cfg.max_backoff)
}

/// Runs `call` until it succeeds, fails for good, or transient failures outlast the deadline.
/// Every attempt is bounded by `request_timeout` plus `extra` (a fetch's own wait time).
pub(crate) async fn retry_classified<T, F, Fut>(
    cfg: &RetryConfig,
    operation: &str,
    extra: Duration,
    mut call: F,
) -> Result<T, Failure>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, ClientError>>,
{
    let started = Instant::now();
    let mut attempts = 0u32;
    loop {
        attempts += 1;
        let last = match tokio::time::timeout(cfg.request_timeout + extra, call()).await {
            Ok(Ok(v)) => {
                if attempts > 1 {
                    tracing::info!(operation, attempts, "kafka: recovered");
                }
                return Ok(v);
            }
            Ok(Err(e)) => match classify(&e) {
                Class::Transient => e.to_string(),
                Class::OffsetOutOfRange => return Err(Failure::OutOfRange),
                Class::Fatal => {
                    return Err(Failure::Kafka(KafkaError::Fatal {
                        operation: operation.to_string(),
                        reason: describe(&e),
                    }))
                }
            },
            Err(_) => format!("no answer within {:?}", cfg.request_timeout + extra),
        };
        let elapsed = started.elapsed();
        if elapsed >= cfg.deadline {
            return Err(Failure::Kafka(KafkaError::RetriesExhausted {
                operation: operation.to_string(),
                attempts,
                elapsed,
                deadline: cfg.deadline,
                last,
            }));
        }
        let wait = backoff(cfg, attempts - 1).min(cfg.deadline - elapsed);
        if attempts == 1 {
            tracing::warn!(operation, error = %last, "kafka: transient failure, retrying");
        } else {
            tracing::debug!(operation, attempts, error = %last, ?wait, "kafka: still failing");
        }
        tokio::time::sleep(wait).await;
    }
}

/// Passes `result` on; when it says the client's metadata lacks the topic or partition, first
/// refreshes rskafka's cached cluster metadata. rskafka looks partition leaders up in that cache
/// and renews it only when connecting to the leader fails, so a view taken while a restarted
/// broker was still loading would otherwise stay wrong for every later attempt.
pub(crate) async fn refresh_if_stale<T>(
    client: &Client,
    result: Result<T, ClientError>,
) -> Result<T, ClientError> {
    if let Err(ClientError::InvalidResponse(m)) = &result {
        if m.contains("metadata") {
            if let Err(e) = client.list_topics().await {
                tracing::debug!("kafka: metadata refresh failed: {e}");
            }
        }
    }
    result
}

/// [`retry_classified`] for calls where an out-of-range offset is just another fatal error.
pub(crate) async fn retry<T, F, Fut>(
    cfg: &RetryConfig,
    operation: &str,
    call: F,
) -> Result<T, KafkaError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, ClientError>>,
{
    match retry_classified(cfg, operation, Duration::ZERO, call).await {
        Ok(v) => Ok(v),
        Err(Failure::Kafka(e)) => Err(e),
        Err(Failure::OutOfRange) => Err(KafkaError::Fatal {
            operation: operation.to_string(),
            reason: "offset out of range".into(),
        }),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use rskafka::client::error::{ProtocolError, RequestContext, RequestError};
    use std::sync::atomic::{AtomicU32, Ordering};

    fn cfg(deadline_ms: u64) -> RetryConfig {
        RetryConfig {
            initial_backoff: Duration::from_millis(5),
            max_backoff: Duration::from_millis(20),
            deadline: Duration::from_millis(deadline_ms),
            request_timeout: Duration::from_millis(200),
        }
    }

    fn refused() -> ClientError {
        ClientError::Request(RequestError::IO(std::io::Error::new(
            std::io::ErrorKind::ConnectionRefused,
            "connection refused",
        )))
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let c = cfg(1000);
        let waits: Vec<u64> = (0..6).map(|a| backoff(&c, a).as_millis() as u64).collect();
        assert_eq!(waits, vec![5, 10, 20, 20, 20, 20]);
        assert_eq!(backoff(&c, u32::MAX), Duration::from_millis(20));
    }

    #[tokio::test]
    async fn transient_failures_are_retried_until_success() {
        let calls = AtomicU32::new(0);
        let got = retry(&cfg(5_000), "produce t/0", || {
            let n = calls.fetch_add(1, Ordering::SeqCst);
            async move {
                if n < 3 {
                    Err(refused())
                } else {
                    Ok(n)
                }
            }
        })
        .await
        .unwrap();
        assert_eq!(got, 3);
    }

    #[tokio::test]
    async fn the_deadline_ends_retries_with_a_typed_error() {
        let started = Instant::now();
        let err = retry(&cfg(150), "fetch t/1", || async { Err::<(), _>(refused()) })
            .await
            .unwrap_err();
        assert!(started.elapsed() >= Duration::from_millis(150));
        assert!(started.elapsed() < Duration::from_secs(2));
        match &err {
            KafkaError::RetriesExhausted {
                operation,
                attempts,
                last,
                ..
            } => {
                assert_eq!(operation, "fetch t/1");
                assert!(*attempts >= 3, "{attempts}");
                assert!(last.contains("connection refused"), "{last}");
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(err.to_string().contains("gave up after"), "{err}");
    }

    #[tokio::test]
    async fn fatal_errors_and_out_of_range_stop_at_once() {
        let calls = AtomicU32::new(0);
        let server = |p| ClientError::ServerError {
            protocol_error: p,
            error_message: None,
            request: RequestContext::Topic("t".into()),
            response: None,
            is_virtual: false,
        };
        let r = retry_classified(&cfg(5_000), "fetch t/0", Duration::ZERO, || {
            calls.fetch_add(1, Ordering::SeqCst);
            let e = server(ProtocolError::OffsetOutOfRange);
            async move { Err::<(), _>(e) }
        })
        .await;
        assert!(matches!(r, Err(Failure::OutOfRange)));
        let r = retry(&cfg(5_000), "produce t/0", || {
            calls.fetch_add(1, Ordering::SeqCst);
            let e = server(ProtocolError::TopicAuthorizationFailed);
            async move { Err::<(), _>(e) }
        })
        .await;
        assert!(matches!(r, Err(KafkaError::Fatal { .. })));
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_hung_request_times_out_and_is_retried() {
        let calls = AtomicU32::new(0);
        let got = retry(&cfg(5_000), "metadata", || {
            let n = calls.fetch_add(1, Ordering::SeqCst);
            async move {
                if n == 0 {
                    tokio::time::sleep(Duration::from_secs(60)).await;
                }
                Ok::<_, ClientError>(n)
            }
        })
        .await
        .unwrap();
        assert_eq!(got, 1);
    }
}
