//! The dashboard server under hostile or careless clients, over real sockets on 127.0.0.1:
//! hundreds of idle connections and a slow-header ("slowloris") client neither stop a normal
//! client nor stay open past the timeouts; a connection limit holds; a `Host` that names
//! another site is refused (DNS rebinding); a configured token is required on every endpoint;
//! store queries come a page at a time. Every loop is bounded.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::Value;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use weir_processors::sinks::chart::{ChartSpec, Panel};
use weir_processors::{Dashboard, DashboardConfig, DashboardServer};
use weir_state::memory::InMemoryKeyValueStore;
use weir_topology::KvStore;

/// How long a normal request may take while the server is under siege.
const PROMPT: Duration = Duration::from_secs(2);

struct Answer {
    status: u16,
    head: String,
    body: String,
}

/// One `GET` with `Connection: close` and extra header lines; reads until the server closes.
async fn get(addr: SocketAddr, path: &str, host: &str, extra: &str) -> Answer {
    let exchange = async {
        let mut conn = TcpStream::connect(addr).await.unwrap();
        let request =
            format!("GET {path} HTTP/1.1\r\nHost: {host}\r\n{extra}Connection: close\r\n\r\n");
        conn.write_all(request.as_bytes()).await.unwrap();
        let mut raw = Vec::new();
        conn.read_to_end(&mut raw).await.unwrap();
        String::from_utf8_lossy(&raw).to_string()
    };
    let text = tokio::time::timeout(Duration::from_secs(20), exchange)
        .await
        .expect("the server answered in time");
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    Answer {
        status,
        head: head.to_owned(),
        body: body.to_owned(),
    }
}

async fn local(addr: SocketAddr, path: &str) -> Answer {
    get(addr, path, &addr.to_string(), "").await
}

async fn start(config: DashboardConfig) -> (Dashboard, DashboardServer) {
    let dashboard = Dashboard::new();
    let chart = dashboard
        .chart("c", ChartSpec::new("live", vec![Panel::new("count")]))
        .unwrap();
    chart.publish(0, "k", 1_000, 1.0);
    let server = DashboardServer::start(dashboard.clone(), config.port(0))
        .await
        .unwrap();
    (dashboard, server)
}

/// Waits (bounded) until the server closes `conn`: true when it did within `within`.
async fn closed_within(conn: &mut TcpStream, within: Duration) -> bool {
    closed_by(conn, Instant::now() + within).await
}

/// Waits until the server closes `conn`: true when it did by `deadline`.
async fn closed_by(conn: &mut TcpStream, deadline: Instant) -> bool {
    let mut buf = [0u8; 1024];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, conn.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            // A 408 or similar answer before the close: keep reading.
            Ok(Ok(_)) => continue,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_and_slowloris_clients_neither_block_others_nor_stay() {
    let timeout = Duration::from_secs(3);
    let (_dashboard, server) = start(DashboardConfig::new().header_read_timeout(timeout)).await;
    let addr = server.local_addr();
    let mut idle = Vec::new();
    for _ in 0..500 {
        idle.push(TcpStream::connect(addr).await.unwrap());
    }
    // A slowloris client: one byte of a request's headers every second, never the end.
    let slowloris = tokio::spawn(async move {
        let mut conn = TcpStream::connect(addr).await.unwrap();
        let started = Instant::now();
        for byte in b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaa".iter() {
            if conn.write_all(&[*byte]).await.is_err() {
                return Some(started.elapsed());
            }
            let mut buf = [0u8; 256];
            match tokio::time::timeout(Duration::from_secs(1), conn.read(&mut buf)).await {
                Ok(Ok(0)) | Ok(Err(_)) => return Some(started.elapsed()),
                _ => {}
            }
        }
        None
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    for path in ["/", "/api/series", "/", "/api/stores/none"] {
        let asked = Instant::now();
        let answer = local(addr, path).await;
        assert!(
            answer.status == 200 || answer.status == 404,
            "{path}: {}",
            answer.status
        );
        assert!(
            asked.elapsed() < PROMPT,
            "{path} took {:?}",
            asked.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    // The idle connections end once the header-read timeout is over (not before).
    let mut closed = 0;
    let deadline = Instant::now() + timeout + Duration::from_secs(5);
    for conn in &mut idle {
        if closed_by(conn, deadline).await {
            closed += 1;
        }
    }
    assert_eq!(
        closed, 500,
        "every idle connection was closed by the server"
    );
    let cut = slowloris
        .await
        .unwrap()
        .expect("the slowloris client was cut off");
    assert!(
        cut >= timeout - Duration::from_millis(500) && cut < timeout + Duration::from_secs(5),
        "cut off after {cut:?}"
    );
    assert_eq!(local(addr, "/api/series").await.status, 200);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn silent_connections_end_after_the_idle_timeout() {
    let config = DashboardConfig::new()
        .header_read_timeout(Duration::from_secs(60))
        .idle_timeout(Duration::from_secs(1));
    let (_dashboard, server) = start(config).await;
    let mut conn = TcpStream::connect(server.local_addr()).await.unwrap();
    // Half a request, then silence.
    conn.write_all(b"GET / HTTP/1.1\r\n").await.unwrap();
    let started = Instant::now();
    assert!(closed_within(&mut conn, Duration::from_secs(10)).await);
    let after = started.elapsed();
    assert!(
        after >= Duration::from_millis(800) && after < Duration::from_secs(5),
        "closed after {after:?}"
    );
    // An event stream with nothing new is kept alive by its comments, not closed.
    let mut events = TcpStream::connect(server.local_addr()).await.unwrap();
    let request = format!(
        "GET /events HTTP/1.1\r\nHost: {}\r\n\r\n",
        server.local_addr()
    );
    events.write_all(request.as_bytes()).await.unwrap();
    assert!(!closed_within(&mut events, Duration::from_secs(3)).await);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn connections_beyond_the_limit_wait_for_a_free_slot() {
    let config = DashboardConfig::new()
        .max_connections(4)
        .header_read_timeout(Duration::from_secs(1));
    let (_dashboard, server) = start(config).await;
    let addr = server.local_addr();
    let mut idle = Vec::new();
    for _ in 0..4 {
        idle.push(TcpStream::connect(addr).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let asked = Instant::now();
    assert_eq!(local(addr, "/api/series").await.status, 200);
    let waited = asked.elapsed();
    assert!(
        waited >= Duration::from_millis(700) && waited < Duration::from_secs(5),
        "the fifth connection was served after {waited:?}, once an idle one timed out"
    );
    server.stop().await.unwrap();
}

#[tokio::test]
async fn a_host_naming_another_site_is_refused() {
    let config = DashboardConfig::new().allow_host("dash.example");
    let (_dashboard, server) = start(config).await;
    let addr = server.local_addr();
    let port = addr.port();
    for host in ["evil.example", &format!("evil.example:{port}"), ""] {
        for path in ["/", "/api/series", "/events", "/api/stores/x"] {
            let answer = get(addr, path, host, "").await;
            assert_eq!(answer.status, 421, "{host} {path}");
            assert!(answer.body.contains("Host"), "{}", answer.body);
        }
    }
    for host in [
        format!("localhost:{port}"),
        format!("127.0.0.1:{port}"),
        format!("dash.example:{port}"),
    ] {
        assert_eq!(
            get(addr, "/api/series", &host, "").await.status,
            200,
            "{host}"
        );
    }
    server.stop().await.unwrap();
}

#[tokio::test]
async fn a_configured_token_is_required_on_every_endpoint() {
    let (_dashboard, server) = start(DashboardConfig::new().token("s3cret")).await;
    let addr = server.local_addr();
    let host = addr.to_string();
    for path in ["/", "/events", "/api/series", "/api/stores/x", "/nope"] {
        let answer = local(addr, path).await;
        assert_eq!(answer.status, 401, "{path}");
        let wrong = get(addr, path, &host, "Authorization: Bearer s3cre\r\n").await;
        assert_eq!(wrong.status, 401, "{path}");
    }
    let bearer = get(
        addr,
        "/api/series",
        &host,
        "Authorization: Bearer s3cret\r\n",
    )
    .await;
    assert_eq!(bearer.status, 200);
    // The page opened with the token sets a cookie that the event stream then carries.
    let page = local(addr, "/?token=s3cret").await;
    assert_eq!(page.status, 200);
    let cookie = page
        .head
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(": ")?;
            name.eq_ignore_ascii_case("set-cookie").then_some(value)
        })
        .expect("a token cookie")
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let mut events = TcpStream::connect(addr).await.unwrap();
    let request = format!("GET /events HTTP/1.1\r\nHost: {host}\r\nCookie: {cookie}\r\n\r\n");
    events.write_all(request.as_bytes()).await.unwrap();
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(10), events.read(&mut buf))
        .await
        .unwrap()
        .unwrap();
    let head = String::from_utf8_lossy(&buf[..n]);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    drop(events);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn stores_are_read_a_page_at_a_time() {
    let (dashboard, server) = start(DashboardConfig::new()).await;
    let addr = server.local_addr();
    let mut instances = Vec::new();
    for partition in 0..3u32 {
        let store = KvStore::<String, u64>::new(Box::new(InMemoryKeyValueStore::new("counts")));
        for i in 0..25u64 {
            store
                .lock()
                .put(format!("p{partition}-k{i:02}"), i)
                .unwrap();
        }
        instances.push((partition, store.erase()));
    }
    let instances = Arc::new(instances);
    dashboard.add_store_source(Arc::new(move |name: &str| match name {
        "counts" => instances.iter().rev().cloned().collect(),
        _ => vec![],
    }));
    dashboard.query_key_value::<String, u64>("counts");

    let mut keys = Vec::new();
    let mut path = "/api/stores/counts?limit=7".to_owned();
    for _ in 0..100 {
        let answer = local(addr, &path).await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        let page: Value = serde_json::from_str(&answer.body).unwrap();
        let entries: Vec<&Value> = page["partitions"]
            .as_array()
            .unwrap()
            .iter()
            .inspect(|p| assert_eq!(p["len"], 25))
            .flat_map(|p| p["entries"].as_array().unwrap())
            .collect();
        assert!(entries.len() <= 7, "{}", answer.body);
        keys.extend(
            entries
                .iter()
                .map(|e| e["key"].as_str().unwrap().to_owned()),
        );
        match page["next"].as_str() {
            Some(next) => path = format!("/api/stores/counts?limit=7&after={next}"),
            None => break,
        }
    }
    let expected: Vec<String> = (0..3)
        .flat_map(|p| (0..25).map(move |i| format!("p{p}-k{i:02}")))
        .collect();
    assert_eq!(
        keys, expected,
        "every entry once, in partition then key order"
    );

    let all = local(addr, "/api/stores/counts").await;
    let all: Value = serde_json::from_str(&all.body).unwrap();
    assert!(all["next"].is_null(), "the default page holds 75 entries");
    for bad in ["limit=x", "after=zz", "after=5b5d"] {
        let answer = local(addr, &format!("/api/stores/counts?{bad}")).await;
        assert_eq!(answer.status, 400, "{bad}: {}", answer.body);
    }
    server.stop().await.unwrap();
}
