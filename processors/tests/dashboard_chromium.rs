//! The live dashboard end to end in a real browser: a topology runs on `Streams` over an
//! in-memory broker, a windowed aggregate feeds a chart sink made live on a [`Dashboard`], and
//! headless Chromium opens the page while records keep arriving. The test checks the page's
//! DOM (points received, live `points` events, one line per key, the legend) and a screenshot
//! (saved under the target directory, not a blank image), the snapshot view (`?live=0`) once
//! the input has ended, and the store query endpoint.
//!
//! Chromium is found (or the test skipped, or failed under `WEIR_REQUIRE_CHROMIUM=1`) as
//! `weir_example_testkit::browser::chromium` says; this test drives it with `--dump-dom` and
//! `--screenshot` rather than over DevTools.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use weir_example_testkit::browser::{chromium, png_stats};
use weir_processors::sinks::chart::{ChartPoint, ChartSink, ChartSpec, Panel, Point};
use weir_processors::{Dashboard, DashboardConfig, DashboardServer};
use weir_topology::prelude::*;
use weir_topology::{connect::kafka_partition, connect::OutRecord, Timestamp};

const PARTITIONS: u32 = 2;
const KEYS: [&str; 3] = ["sensor-a", "sensor-b", "sensor-c"];
/// The longest a Chromium run may take before the test kills it.
const CHROMIUM_LIMIT: Duration = Duration::from_secs(90);

/// Per key and minute: the count and mean of the readings, on every record.
fn topology(dashboard: &Dashboard, charts_dir: &Path) -> Topology {
    let b = TopologyBuilder::new();
    let stats = b
        .stream(Source::topic(
            "readings",
            StringSerde,
            JsonSerde::<f64>::new(),
        ))
        .group_by_key()
        .windowed_by(TumblingWindows::of(Duration::from_secs(60)))
        .emit(EmitStrategy::OnEveryRecord)
        .aggregate(
            "stats",
            || (0u64, 0.0f64),
            |_, v, (n, sum)| (n + 1, sum + v),
        )
        .to_stream()
        .map(|wk, (n, sum)| (wk.key, (n, sum / n as f64)));
    let spec = ChartSpec::new(
        "Readings per sensor (live)",
        vec![
            Panel::new("count").with_title("readings in the minute"),
            Panel::new("mean").with_title("mean reading in the minute"),
        ],
    );
    let board = dashboard.clone();
    let (dashboard, dir, task) = (dashboard.clone(), charts_dir.to_owned(), AtomicU32::new(0));
    stats.sink("live-chart", move || {
        let task = task.fetch_add(1, Ordering::Relaxed);
        ChartSink::new(dir.join(format!("readings-{task}")), spec.clone(), points)
            .unwrap()
            .with_min_interval(Duration::from_secs(3600))
            .live(&dashboard, "readings")
            .unwrap()
    });
    // A bar per sensor: its readings in the current minute, replaced as they change.
    let bars = ChartSpec::new(
        "Readings per sensor (bars)",
        vec![Panel::bars("sensor", "count")],
    );
    let (dashboard, dir, task) = (board, charts_dir.to_owned(), AtomicU32::new(0));
    stats.sink("live-bars", move || {
        let task = task.fetch_add(1, Ordering::Relaxed);
        ChartSink::new(dir.join(format!("bars-{task}")), bars.clone(), bar_points)
            .unwrap()
            .with_min_interval(Duration::from_secs(3600))
            .live(&dashboard, "bars")
            .unwrap()
    });
    b.build().unwrap()
}

#[allow(clippy::ptr_arg)] // the sink's key type is `String`
fn bar_points(key: &String, v: &(u64, f64), _: Timestamp) -> Vec<Point> {
    vec![Point::category(0, key.clone(), "count", v.0 as f64)]
}

#[allow(clippy::ptr_arg)] // the sink's key type is `String`
fn points(key: &String, v: &(u64, f64), ts: Timestamp) -> Vec<ChartPoint> {
    vec![(0, key.clone(), ts, v.0 as f64), (1, key.clone(), ts, v.1)]
}

/// Points charted for the first 60 seconds: 60 + 30 + 20 readings, two points each.
const FIRST_POINTS: u64 = 2 * (60 + 30 + 20);

/// Appends the readings of seconds `from..to` after `start_ms`.
fn produce(broker: &MemoryBroker, start_ms: i64, from: i64, to: i64) {
    let mut out = Vec::new();
    for i in from..to {
        for (k, key) in KEYS.iter().enumerate() {
            // Key k reads every (k+1)th second, so the count lines differ.
            if i % (k as i64 + 1) != 0 {
                continue;
            }
            let value = 10.0 * (k as f64 + 1.0) + 5.0 * ((i as f64) / 7.0 + k as f64).sin();
            out.push(OutRecord {
                partition: kafka_partition(Some(key.as_bytes()), PARTITIONS),
                key: Some(key.as_bytes().to_vec()),
                value: Some(serde_json::to_vec(&value).unwrap()),
                timestamp: start_ms + i * 1000,
                headers: Vec::new(),
            });
        }
    }
    broker.append("readings", out).unwrap();
}

/// Runs Chromium headless on `url` with `args`, killing it after [`CHROMIUM_LIMIT`];
/// returns its stdout.
fn run_chromium(chromium: &Path, profile: &Path, args: &[String], url: &str) -> String {
    let mut child = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromium");
    let mut stdout = child.stdout.take().expect("chromium stdout");
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(&mut stdout, &mut text);
        text
    });
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait for chromium") {
            assert!(status.success(), "chromium failed: {status}");
            break;
        }
        if started.elapsed() > CHROMIUM_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish within {CHROMIUM_LIMIT:?} ({args:?})");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    reader.join().expect("chromium output")
}

/// The text of the element `<b id="{id}">` in a dumped DOM.
/// The DOM of `url` once Chromium's virtual time budget (ms) is spent.
async fn dump_dom(chromium: &Path, profile: &Path, url: String, budget_ms: u32) -> String {
    let (chromium, profile) = (chromium.to_owned(), profile.to_owned());
    let args = vec![
        format!("--virtual-time-budget={budget_ms}"),
        "--dump-dom".to_owned(),
    ];
    tokio::task::spawn_blocking(move || run_chromium(&chromium, &profile, &args, &url))
        .await
        .unwrap()
}

fn element_number(dom: &str, id: &str) -> u64 {
    let tag = format!("id=\"{id}\">");
    let at = dom
        .find(&tag)
        .unwrap_or_else(|| panic!("no #{id} in the page"))
        + tag.len();
    let text: String = dom[at..].chars().take_while(char::is_ascii_digit).collect();
    text.parse()
        .unwrap_or_else(|_| panic!("#{id} is not a number"))
}

async fn http_get(addr: std::net::SocketAddr, path: &str) -> (u16, String) {
    let mut conn = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    conn.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    conn.read_to_end(&mut raw).await.unwrap();
    let text = String::from_utf8_lossy(&raw).to_string();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_shows_live_points_in_chromium() {
    let Some(chromium) = chromium() else {
        return;
    };
    let work = tempdir("work");
    let out_dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("dashboard-chromium");
    std::fs::create_dir_all(&out_dir).unwrap();

    let dashboard = Dashboard::new();
    let broker = Arc::new(MemoryBroker::new(PARTITIONS));
    broker.create_topic("readings", PARTITIONS);
    let streams = Arc::new(Streams::new(
        topology(&dashboard, &work),
        broker.clone(),
        StreamsConfig::new("dashboard-chromium").commit_interval(Duration::from_millis(100)),
    ));
    dashboard.serve_stores(streams.clone());
    dashboard.query_window::<String, (u64, f64)>("stats", 60_000);
    let server = DashboardServer::start(dashboard.clone(), DashboardConfig::new().port(0))
        .await
        .unwrap();
    // The page stops listening after 5 live updates, so that Chromium sees an idle network.
    let url = format!("{}?updates=5", server.url());
    println!("dashboard at {url}");
    let run = tokio::spawn({
        let streams = streams.clone();
        async move { streams.run().await }
    });

    // A first batch, then a reading per key every 100 ms while the browser looks.
    let start_ms = (chrono_now_ms() / 60_000 - 3) * 60_000;
    produce(&broker, start_ms, 0, 60);
    let deadline = Instant::now() + Duration::from_secs(30);
    while dashboard.points_published() < FIRST_POINTS {
        assert!(
            Instant::now() < deadline,
            "the topology did not chart the first batch"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let feeding = Arc::new(AtomicBool::new(true));
    let feeder = tokio::spawn({
        let (broker, feeding) = (broker.clone(), feeding.clone());
        async move {
            let mut i = 60;
            while feeding.load(Ordering::Relaxed) && i < 3_000 {
                produce(&broker, start_ms, i, i + 1);
                i += 1;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    });

    // Interactive query of the window store behind the chart.
    let (status, body) = http_get(server.local_addr(), "/api/stores/stats").await;
    assert_eq!(status, 200, "{body}");
    let stats: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(stats["kind"], "window");
    let entries: Vec<&serde_json::Value> = stats["partitions"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["entries"].as_array().unwrap())
        .collect();
    assert!(entries.len() >= 3, "{body}");
    assert!(entries.iter().all(|e| e["window_end"].as_i64().unwrap()
        - e["window_start"].as_i64().unwrap()
        == 60_000));
    let (status, body) = http_get(server.local_addr(), "/api/stores/no-such-store").await;
    assert_eq!(status, 404, "{body}");
    // What there is: the chart, and the store with its API and page.
    let (status, body) = http_get(server.local_addr(), "/api").await;
    assert_eq!(status, 200, "{body}");
    let index: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(index["charts"][0]["id"], "readings", "{body}");
    assert_eq!(index["stores"][0]["name"], "stats", "{body}");
    assert_eq!(index["stores"][0]["page"], "/stores/stats", "{body}");

    // The store as a live table, read twice.
    let table_dom = dump_dom(
        &chromium,
        &work.join("profile-table"),
        format!("{}stores/stats?refreshes=2", server.url()),
        4000,
    )
    .await;
    std::fs::write(out_dir.join("table.html"), &table_dom).unwrap();
    assert!(
        table_dom.contains(r#"<b id="kind">window</b>"#),
        "{table_dom}"
    );
    assert_eq!(element_number(&table_dom, "refreshes"), 2, "{table_dom}");
    let rows = element_number(&table_dom, "rows");
    assert!(rows >= 3, "a row per window entry: {rows}");
    assert_eq!(
        table_dom.matches("<tr class=").count() as u64,
        rows,
        "rows in the table"
    );
    for column in ["<th>key</th>", "<th>window_start</th>", "<th>value</th>"] {
        assert!(table_dom.contains(column), "{column} in {table_dom}");
    }

    // The page after a few seconds on it: its DOM, then a screenshot.
    let dom = dump_dom(&chromium, &work.join("profile-dom"), url.clone(), 4000).await;
    std::fs::write(out_dir.join("dashboard.html"), &dom).unwrap();
    let shot = out_dir.join("dashboard.png");
    let _ = std::fs::remove_file(&shot);
    {
        let (chromium, profile, url) = (chromium.clone(), work.join("profile-shot"), url.clone());
        let args = vec![
            "--virtual-time-budget=4000".to_owned(),
            "--window-size=1280,1000".to_owned(),
            format!("--screenshot={}", shot.display()),
        ];
        tokio::task::spawn_blocking(move || run_chromium(&chromium, &profile, &args, &url))
            .await
            .unwrap();
    }
    // The same page on Server-Sent Events (`?feed=sse`), the feed for clients without WebSocket.
    let sse_dom = dump_dom(
        &chromium,
        &work.join("profile-sse"),
        format!("{}?updates=3&feed=sse", server.url()),
        4000,
    )
    .await;
    feeding.store(false, Ordering::Relaxed);
    feeder.await.unwrap();
    broker.close_topic("readings");
    let metrics = tokio::time::timeout(Duration::from_secs(30), run)
        .await
        .expect("the topology stops when its input ends")
        .unwrap()
        .unwrap();
    // Once the input has ended: `?live=0` draws every point held, without an event stream.
    let snapshot_dom = dump_dom(
        &chromium,
        &work.join("profile-snapshot"),
        format!("{}?live=0", server.url()),
        2000,
    )
    .await;
    server.stop().await.unwrap();
    let all_points = dashboard.points_published();
    assert_eq!(
        all_points,
        3 * metrics.processed,
        "two points and a bar value per record"
    );
    // The snapshot holds every time point and the latest bar value of each sensor.
    assert_eq!(
        element_number(&snapshot_dom, "points"),
        2 * metrics.processed + KEYS.len() as u64
    );
    assert_eq!(
        snapshot_dom.matches("<rect class=\"bar\" fill=\"#").count(),
        KEYS.len(),
        "a bar per sensor"
    );
    assert_eq!(element_number(&snapshot_dom, "updates"), 0);

    let points = element_number(&dom, "points");
    let updates = element_number(&dom, "updates");
    let lines = dom.matches("<polyline class=\"series\" stroke=\"#").count();
    println!(
        "page: {points} points received, {updates} live updates, {lines} lines; \
         topology: {} records; DOM in {}",
        metrics.processed,
        out_dir.join("dashboard.html").display()
    );
    assert!(
        points >= FIRST_POINTS,
        "the page shows the points so far ({points})"
    );
    // Headless Chromium's virtual time does not wait for WebSocket messages (it does wait for
    // an open SSE request), so the page on its WebSocket is checked for the snapshot it got
    // there (the live page fetches nothing else), and live updates on `?feed=sse`; the points
    // that follow a snapshot on the WebSocket are checked by `dashboard_websocket.rs`.
    let _ = updates;
    assert_eq!(
        lines,
        2 * KEYS.len(),
        "one line per key in each of the two panels"
    );
    for key in KEYS {
        assert!(
            dom.contains(&format!(">{key}</text>")),
            "legend entry {key}"
        );
    }
    assert!(dom.contains("Readings per sensor (live)"));
    assert_eq!(
        dom.matches("<rect class=\"bar\" fill=\"#").count(),
        KEYS.len(),
        "a bar per sensor"
    );
    assert!(
        dom.contains(r#"<b id="feed">WebSocket</b>"#),
        "the page listens on its WebSocket (and drew the snapshot it got there)"
    );
    assert!(
        sse_dom.contains(r#"<b id="feed">SSE</b>"#),
        "?feed=sse uses SSE"
    );
    assert!(
        element_number(&sse_dom, "updates") > 0,
        "points arrived over Server-Sent Events while the page was open"
    );

    let (w, h, colours, ink) = png_stats(&std::fs::read(&shot).unwrap());
    println!(
        "screenshot {}: {w}x{h}, {colours} colours, {:.1}% non-white",
        shot.display(),
        ink * 100.0
    );
    assert!(w >= 1000 && h >= 800, "{w}x{h}");
    assert!(colours > 20, "more than a blank page: {colours} colours");
    assert!(ink > 0.02, "lines and text drawn: {:.3}", ink);
    let _ = std::fs::remove_dir_all(&work);
}

fn chrono_now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn tempdir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "weir-dashboard-chromium-{name}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
