//! The services of the tests that need them: the PostgreSQL server of `scripts/test.sh`
//! (`WEIR_POSTGRES_URL`), a free port, a plain HTTP GET. (The broker is the testkit's
//! `OwnBroker`.)
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, dead_code)]

/// The PostgreSQL server's URL, or `None` (the test then skips, saying why) unless
/// `WEIR_REQUIRE_POSTGRES=1` (set by `scripts/test.sh`), where a missing server fails the test.
pub fn postgres_url(test: &str) -> Option<String> {
    match std::env::var("WEIR_POSTGRES_URL") {
        Ok(url) => Some(url),
        Err(_) if std::env::var("WEIR_REQUIRE_POSTGRES").as_deref() == Ok("1") => {
            panic!("{test}: WEIR_REQUIRE_POSTGRES=1 but WEIR_POSTGRES_URL is not set")
        }
        Err(_) => {
            eprintln!(
                "skipping {test}: WEIR_POSTGRES_URL is not set (run scripts/test.sh, which installs \
                 and starts PostgreSQL, or scripts/postgres.sh start DIR)"
            );
            None
        }
    }
}

/// A table name no other run uses.
pub fn unique_table(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("{prefix}_{}_{nanos}", std::process::id())
}

/// A free loopback address (bound and released).
pub fn free_addr() -> std::net::SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

/// `GET http://{addr}{path}`: the status and the body.
pub async fn get(addr: std::net::SocketAddr, path: &str) -> std::io::Result<(u16, String)> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await?;
    let text = String::from_utf8_lossy(&answer).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    Ok((status, body.to_string()))
}
