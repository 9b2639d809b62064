//! HTTP ingest's refusals over TCP: the REST proxy's error statuses and bodies, a body that
//! trickles in (408), the bearer token (401), and 429 when the requests in flight or the
//! records held reach their limits.
#![cfg(feature = "http")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod http_support;

use http_support::{futures_like_join, post, request};
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use weir_processors::sources::http::{HttpForwarder, HttpSource, HttpSourceConfig, JSON_V2};
use weir_topology::prelude::*;

/// A request and the answer expected: method, path, headers, body, status, error code.
type ErrorCase<'a> = (&'a str, &'a str, Vec<(&'a str, &'a str)>, Vec<u8>, u16, i64);

#[tokio::test]
async fn errors_have_the_rest_proxy_status_code_and_body() {
    let config = HttpSourceConfig::new()
        .port(0)
        .topic("readings", 2)
        .max_body_bytes(1_000)
        .ack_timeout(Duration::from_millis(100));
    let http = HttpSource::start(config).unwrap();
    let addr = http.local_addr();
    let json_ct = [("Content-Type", JSON_V2)];
    let cases: Vec<ErrorCase> = vec![
        (
            "POST",
            "/topics/nope",
            json_ct.to_vec(),
            br#"{"records":[{"value":1}]}"#.to_vec(),
            404,
            40401,
        ),
        (
            "POST",
            "/topics/readings",
            vec![("Content-Type", "text/plain")],
            b"{}".to_vec(),
            415,
            415,
        ),
        ("POST", "/topics/readings", vec![], b"{}".to_vec(), 415, 415),
        (
            "POST",
            "/topics/readings",
            json_ct.to_vec(),
            vec![b' '; 1_001],
            413,
            413,
        ),
        (
            "POST",
            "/topics/readings",
            json_ct.to_vec(),
            b"{\"records\": [".to_vec(),
            400,
            400,
        ),
        (
            "POST",
            "/topics/readings",
            json_ct.to_vec(),
            b"{\"records\": 3}".to_vec(),
            422,
            422,
        ),
        (
            "POST",
            "/topics/readings",
            json_ct.to_vec(),
            b"{\"records\": []}".to_vec(),
            422,
            422,
        ),
        (
            "POST",
            "/topics/readings",
            json_ct.to_vec(),
            br#"{"records":[{"value":1,"partition":2}]}"#.to_vec(),
            404,
            40402,
        ),
        ("GET", "/topics/readings", vec![], Vec::new(), 405, 405),
        ("GET", "/elsewhere", vec![], Vec::new(), 404, 404),
    ];
    for (method, path, headers, body, status, code) in cases {
        let (got, answer) = request(addr, method, path, &headers, &body).await;
        assert_eq!(
            (got, answer["error_code"].as_i64()),
            (status, Some(code)),
            "{method} {path}: {answer}"
        );
        assert!(answer["message"].is_string(), "{answer}");
        assert_eq!(
            answer.as_object().unwrap().len(),
            2,
            "only error_code and message: {answer}"
        );
    }
    let counts = http.counts();
    assert_eq!(counts.malformed_requests, 3);
    assert_eq!(counts.malformed_records, 1);
    assert_eq!(counts.accepted_requests, 0);
    assert_eq!(
        http.held_records(),
        0,
        "refused requests leave nothing behind"
    );
}

#[tokio::test]
async fn a_body_that_trickles_in_is_408() {
    let config = HttpSourceConfig::new()
        .port(0)
        .topic("readings", 1)
        .header_read_timeout(Duration::from_millis(200));
    let http = HttpSource::start(config).unwrap();
    let mut stream = tokio::net::TcpStream::connect(http.local_addr())
        .await
        .unwrap();
    let head = format!(
        "POST /topics/readings HTTP/1.1\r\nHost: x\r\nContent-Type: {JSON_V2}\r\nContent-Length: 100\r\n\r\n{{\"rec"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let started = Instant::now();
    let _ = stream.read_to_end(&mut answer).await;
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(text.contains("\"error_code\":408"), "{text}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn the_bearer_token_is_required_when_set() {
    let broker = MemoryBroker::new(1);
    broker.create_topic("events", 1);
    let config = HttpSourceConfig::new().port(0).token("s3cret");
    let proxy = HttpForwarder::start(config, Arc::new(broker.clone())).unwrap();
    let addr = proxy.local_addr();
    let body = br#"{"records":[{"value":{"n":1}}]}"#;
    for auth in [None, Some("Bearer wrong"), Some("Basic s3cret")] {
        let mut headers = vec![("Content-Type", JSON_V2)];
        headers.extend(auth.map(|a| ("Authorization", a)));
        let (status, answer) = request(addr, "POST", "/topics/events", &headers, body).await;
        assert_eq!(
            (status, answer["error_code"].as_i64()),
            (401, Some(401)),
            "{auth:?}"
        );
    }
    assert!(broker.is_empty("events"));
    let headers = [
        ("Content-Type", JSON_V2),
        ("Authorization", "Bearer s3cret"),
    ];
    let (status, answer) = request(addr, "POST", "/topics/events", &headers, body).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(broker.len("events"), 1);
    proxy.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_beyond_the_in_flight_limit_get_429() {
    // No application commits, so each request stays in flight until its timeout.
    let config = HttpSourceConfig::new()
        .port(0)
        .topic("readings", 1)
        .max_in_flight(3)
        .ack_timeout(Duration::from_millis(1_500));
    let http = HttpSource::start(config).unwrap();
    let addr = http.local_addr();
    let body = json!({"records": [{"value": 1}]});
    let waiting: Vec<_> = (0..3)
        .map(|_| {
            let body = body.clone();
            tokio::spawn(async move { post(addr, "readings", JSON_V2, &body).await })
        })
        .collect();
    // Wait until the three hold their places (their records are in the log).
    let started = Instant::now();
    while http.held_records() < 3 {
        assert!(started.elapsed() < Duration::from_secs(5));
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let refused: Vec<_> = (0..5)
        .map(|_| {
            let body = body.clone();
            async move { post(addr, "readings", JSON_V2, &body).await }
        })
        .collect();
    for (status, answer) in futures_like_join(refused).await {
        assert_eq!(
            (status, answer["error_code"].as_i64()),
            (429, Some(429)),
            "{answer}"
        );
    }
    assert!(
        started.elapsed() < Duration::from_millis(1_400),
        "429 comes at once"
    );
    for w in waiting {
        assert_eq!(w.await.unwrap().0, 500, "the held requests time out");
    }
    assert_eq!(http.counts().throttled_requests, 5);
    // Places free again once those are answered.
    let (status, _) = post(addr, "readings", JSON_V2, &body).await;
    assert_eq!(status, 500, "served (and timed out), not throttled");
}

#[tokio::test]
async fn records_held_beyond_the_limit_get_429() {
    let config = HttpSourceConfig::new()
        .port(0)
        .topic("readings", 1)
        .max_held_records(3)
        .ack_timeout(Duration::from_millis(100));
    let http = HttpSource::start(config).unwrap();
    let four = json!({"records": [{"value": 1}, {"value": 2}, {"value": 3}, {"value": 4}]});
    let (status, answer) = post(http.local_addr(), "readings", JSON_V2, &four).await;
    assert_eq!(
        (status, answer["error_code"].as_i64()),
        (429, Some(429)),
        "{answer}"
    );
}
