//! Headless Chromium driven over the DevTools protocol, for the examples' browser tests (the
//! `browser` feature): the page runs in real time (no virtual time budget, which does not wait
//! for WebSocket messages), the test evaluates JavaScript in it and captures screenshots.
//!
//! Chromium is `/usr/bin/chromium` (or `$WEIR_CHROMIUM`). When it is missing the test is skipped
//! with a message, unless `WEIR_REQUIRE_CHROMIUM=1` (set by `scripts/test.sh`, which installs
//! it), where a missing browser fails the test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use base64::Engine;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message;

/// The longest the browser may take to start, or a call to answer.
const LIMIT: Duration = Duration::from_secs(60);

/// Chromium's path, `None` (with a message) when it is missing and not required.
pub fn chromium() -> Option<PathBuf> {
    let path = PathBuf::from(
        std::env::var("WEIR_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned()),
    );
    if path.exists() {
        return Some(path);
    }
    if std::env::var("WEIR_REQUIRE_CHROMIUM").as_deref() == Ok("1") {
        panic!(
            "Chromium is required (WEIR_REQUIRE_CHROMIUM=1) but {} does not exist: \
             run scripts/chromium.sh",
            path.display()
        );
    }
    eprintln!(
        "skipped: no Chromium at {} (run scripts/chromium.sh, or set WEIR_CHROMIUM)",
        path.display()
    );
    None
}

/// A headless Chromium showing one page, killed when dropped.
pub struct Browser {
    child: Child,
    socket: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
    next_id: u64,
}

impl Browser {
    /// Starts Chromium on `url` with a fresh profile in `profile`, `width` x `height` pixels,
    /// and connects to the page's DevTools endpoint.
    pub async fn open(chromium: &Path, profile: &Path, url: &str, width: u32, height: u32) -> Self {
        let _ = std::fs::remove_dir_all(profile);
        std::fs::create_dir_all(profile).unwrap();
        let child = Command::new(chromium)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-dev-shm-usage",
                "--hide-scrollbars",
                "--remote-debugging-port=0",
                "--remote-allow-origins=*",
            ])
            .arg(format!("--window-size={width},{height}"))
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg(url)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromium");
        // Chromium writes the port it listens on to the profile.
        let port_file = profile.join("DevToolsActivePort");
        let started = Instant::now();
        let port: u16 = loop {
            if let Some(port) = std::fs::read_to_string(&port_file)
                .ok()
                .and_then(|t| t.lines().next().and_then(|l| l.trim().parse().ok()))
            {
                break port;
            }
            assert!(
                started.elapsed() < LIMIT,
                "Chromium did not start a DevTools endpoint"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        let ws_url = loop {
            let targets: Value = serde_json::from_str(&http_get(port, "/json/list").await).unwrap();
            let page = targets.as_array().unwrap().iter().find(|t| {
                t["type"] == "page" && t["url"].as_str().is_some_and(|u| u.starts_with(url))
            });
            if let Some(page) = page {
                break page["webSocketDebuggerUrl"].as_str().unwrap().to_owned();
            }
            assert!(started.elapsed() < LIMIT, "no page for {url}: {targets}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        let (socket, _) = tokio_tungstenite::connect_async(ws_url.as_str())
            .await
            .unwrap();
        Self {
            child,
            socket,
            next_id: 1,
        }
    }

    /// Calls a DevTools method and returns its result (events in between are skipped).
    pub async fn call(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        let message = json!({ "id": id, "method": method, "params": params }).to_string();
        self.socket
            .send(Message::Text(message.into()))
            .await
            .unwrap();
        let deadline = Instant::now() + LIMIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let next = tokio::time::timeout(left, self.socket.next())
                .await
                .unwrap_or_else(|_| panic!("{method} did not answer within {LIMIT:?}"));
            let Some(Ok(Message::Text(text))) = next else {
                continue;
            };
            let answer: Value = serde_json::from_str(&text).unwrap();
            if answer["id"] == id {
                assert!(answer.get("error").is_none(), "{method}: {answer}");
                return answer["result"].clone();
            }
        }
    }

    /// The value of a JavaScript expression evaluated in the page (JSON-serializable), or the
    /// exception it threw.
    pub async fn try_eval(&mut self, expression: &str) -> Result<Value, Value> {
        let result = self
            .call(
                "Runtime.evaluate",
                json!({ "expression": expression, "returnByValue": true }),
            )
            .await;
        match result.get("exceptionDetails") {
            Some(e) => Err(e.clone()),
            None => Ok(result["result"]["value"].clone()),
        }
    }

    /// The value of a JavaScript expression evaluated in the page (JSON-serializable).
    pub async fn eval(&mut self, expression: &str) -> Value {
        self.try_eval(expression)
            .await
            .unwrap_or_else(|e| panic!("{expression}: {e}"))
    }

    /// Waits until `expression` is true in the page (an exception counts as false: the page
    /// may still be loading), up to `limit`.
    pub async fn wait_for(&mut self, expression: &str, limit: Duration) {
        let started = Instant::now();
        while self.try_eval(expression).await != Ok(json!(true)) {
            assert!(
                started.elapsed() < limit,
                "still not true after {limit:?}: {expression}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// A PNG screenshot of the page.
    pub async fn screenshot(&mut self) -> Vec<u8> {
        let shot = self
            .call("Page.captureScreenshot", json!({ "format": "png" }))
            .await;
        base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().unwrap())
            .unwrap()
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The body of `GET path` on the DevTools HTTP endpoint (which keeps the connection open:
/// the body is read up to its `Content-Length`).
async fn http_get(port: u16, path: &str) -> String {
    let mut conn = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n");
    conn.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = tokio::time::timeout(LIMIT, conn.read(&mut chunk))
            .await
            .unwrap()
            .unwrap();
        assert!(n > 0, "the DevTools endpoint closed the connection early");
        raw.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&raw);
        let Some((head, body)) = text.split_once("\r\n\r\n") else {
            continue;
        };
        let length: usize = head
            .lines()
            .find_map(|l| {
                let (name, value) = l.split_once(':')?;
                name.eq_ignore_ascii_case("content-length")
                    .then(|| value.trim().parse().ok())?
            })
            .expect("a Content-Length");
        if body.len() >= length {
            return body.to_owned();
        }
    }
}

/// Decodes a PNG: (width, height, distinct colours, share of non-white pixels).
pub fn png_stats(bytes: &[u8]) -> (u32, u32, usize, f64) {
    let decoder = png::Decoder::new(bytes);
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    let channels = info.color_type.samples();
    let pixels: Vec<&[u8]> = buf[..info.buffer_size()].chunks(channels).collect();
    let colours: std::collections::HashSet<&[u8]> = pixels.iter().copied().collect();
    let ink = pixels
        .iter()
        .filter(|p| p[..3].iter().any(|&c| c < 240))
        .count();
    (
        info.width,
        info.height,
        colours.len(),
        ink as f64 / pixels.len() as f64,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `width` x 1 RGB PNG whose first `inked` pixels are black, the rest white.
    fn strip(width: u32, inked: u32) -> Vec<u8> {
        let mut out = Vec::new();
        let mut encoder = png::Encoder::new(&mut out, width, 1);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().unwrap();
        let data: Vec<u8> = (0..width)
            .flat_map(|x| {
                if x < inked {
                    [0, 0, 0]
                } else {
                    [255, 255, 255]
                }
            })
            .collect();
        writer.write_image_data(&data).unwrap();
        writer.finish().unwrap();
        out
    }

    #[test]
    fn png_stats_counts_colours_and_ink() {
        assert_eq!(png_stats(&strip(4, 1)), (4, 1, 2, 0.25));
        assert_eq!(png_stats(&strip(5, 0)), (5, 1, 1, 0.0));
    }

    #[test]
    fn a_missing_chromium_is_skipped_unless_required() {
        if std::env::var_os("WEIR_CHROMIUM").is_some()
            || std::env::var_os("WEIR_REQUIRE_CHROMIUM").is_some()
        {
            return; // the outcome depends on the machine's browser
        }
        assert_eq!(
            chromium().is_some(),
            Path::new("/usr/bin/chromium").exists()
        );
    }
}
