//! The dashboard's WebSocket feed over a raw TCP connection (no client library, so the test
//! sees the protocol itself): the handshake succeeds from the dashboard's own origin and from
//! non-browser clients (no `Origin`), is refused (403) from another site's page, and the first
//! message is the snapshot, followed by the points published afterwards.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use weir_processors::sinks::chart::{ChartSpec, Panel};
use weir_processors::{Dashboard, DashboardConfig, DashboardServer};

/// Sends a WebSocket handshake for `/ws`; returns the stream and the response head.
async fn handshake(addr: std::net::SocketAddr, origin: Option<&str>) -> (TcpStream, String) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let origin = origin
        .map(|o| format!("Origin: {o}\r\n"))
        .unwrap_or_default();
    let request = format!(
        "GET /ws HTTP/1.1\r\nHost: {addr}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n{origin}\r\n"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut byte = [0u8; 1];
        let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut byte))
            .await
            .expect("a response")
            .unwrap();
        assert_eq!(n, 1, "the connection closed in the response head");
        head.push(byte[0]);
    }
    (stream, String::from_utf8(head).unwrap())
}

/// Reads one unmasked server frame; returns its opcode and payload.
async fn frame(stream: &mut TcpStream) -> (u8, Vec<u8>) {
    let mut head = [0u8; 2];
    stream.read_exact(&mut head).await.unwrap();
    assert_eq!(head[0] & 0x80, 0x80, "a final frame");
    assert_eq!(head[1] & 0x80, 0, "server frames are not masked");
    let len = match head[1] & 0x7f {
        126 => u64::from(stream.read_u16().await.unwrap()),
        127 => stream.read_u64().await.unwrap(),
        n => u64::from(n),
    };
    let mut payload = vec![0u8; usize::try_from(len).unwrap()];
    stream.read_exact(&mut payload).await.unwrap();
    (head[0] & 0x0f, payload)
}

/// The next text message as JSON, skipping pings.
async fn message(stream: &mut TcpStream) -> serde_json::Value {
    loop {
        let (opcode, payload) = tokio::time::timeout(Duration::from_secs(10), frame(stream))
            .await
            .expect("a message");
        match opcode {
            0x1 => return serde_json::from_slice(&payload).unwrap(),
            0x9 => continue,
            other => panic!("unexpected opcode {other}"),
        }
    }
}

#[tokio::test]
async fn the_websocket_feed_sends_a_snapshot_then_points_to_its_own_origin_only() {
    let dashboard = Dashboard::new();
    let chart = dashboard
        .chart(
            "counts",
            ChartSpec::new("counts", vec![Panel::new("count")]),
        )
        .unwrap();
    chart.publish(0, "a", 1_700_000_000_000, 1.0);
    let server = DashboardServer::start(dashboard.clone(), DashboardConfig::new().port(0))
        .await
        .unwrap();
    let addr = server.local_addr();

    let (_, refused) = handshake(addr, Some("http://evil.example")).await;
    assert!(refused.starts_with("HTTP/1.1 403"), "{refused}");

    for origin in [None, Some(format!("http://{addr}"))] {
        let (mut stream, head) = handshake(addr, origin.as_deref()).await;
        assert!(head.starts_with("HTTP/1.1 101"), "{origin:?}: {head}");
        assert!(
            head.contains("sec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo="),
            "the RFC 6455 accept key: {head}"
        );
        let snapshot = message(&mut stream).await;
        assert_eq!(snapshot["type"], "snapshot");
        assert_eq!(
            snapshot["data"]["charts"][0]["title"], "counts",
            "{snapshot}"
        );
        chart.publish(0, "b", 1_700_000_001_000, 2.0);
        let points = message(&mut stream).await;
        assert_eq!(points["type"], "points");
        let point = &points["data"][0];
        assert_eq!(
            (&point[3], &point[5]),
            (&"b".into(), &2.0.into()),
            "{points}"
        );
    }
    server.stop().await.unwrap();
}
