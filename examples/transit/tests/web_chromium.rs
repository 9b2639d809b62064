//! The status page in headless Chromium: during a demo the page fills and updates live (the
//! turnstile counts grow); then the status server restarted on the demo's state serves the
//! page again, and its DOM shows exactly `status.json`: every line, every station in order
//! with its last trains and turnstile count, and the weather. The screenshot is
//! `examples/transit/status.png` (written where `WEIR_TRANSIT_SCREENSHOT` says).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use weir_example_testkit::browser;

use common::services::free_addr;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use weir::topology::{Broker, MemoryBroker};
use weir_transit::demo::{run_demo, TransitOptions};
use weir_transit::status_server::StatusServer;

/// The page's rows as the DOM shows them: per line, [order, name, train a, train b, entries].
const ROWS: &str = r#"JSON.stringify([...document.querySelectorAll('.line')].map(l => [l.id,
  [...l.querySelectorAll('tr[data-station]')].map(r => [...r.cells].map(c => c.textContent))]))"#;
const ENTRIES: &str =
    "[...document.querySelectorAll('td.entries')].reduce((n, c) => n + Number(c.textContent), 0)";

/// A train as the page writes it: `BL004 13:45` (UTC), or a dash.
fn train(seen: &Value) -> String {
    if seen.is_null() {
        return "—".into();
    }
    let ms = seen["timestamp"].as_i64().unwrap();
    let minutes = ms.div_euclid(60_000).rem_euclid(24 * 60);
    format!(
        "{} {:02}:{:02}",
        seen["train_id"].as_str().unwrap(),
        minutes / 60,
        minutes % 60
    )
}

/// What the page must show for `status`.
fn expected_rows(status: &Value) -> Value {
    let lines: Vec<Value> = status["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            let rows: Vec<Value> = l["stations"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| {
                    json!([
                        s["order"].to_string(),
                        s["name"],
                        train(&s["direction_a"]),
                        train(&s["direction_b"]),
                        s["turnstile_entries"].to_string()
                    ])
                })
                .collect();
            json!([format!("line-{}", l["line"].as_str().unwrap()), rows])
        })
        .collect();
    Value::Array(lines)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_updates_live_and_shows_the_board() {
    let Some(chromium) = browser::chromium() else {
        return;
    };
    let out = common::temp_dir("chromium");
    let mut opts = TransitOptions::new(common::shipped_stations(), &out);
    opts.steps = 120;
    opts.pace = Duration::from_millis(50);
    let web = free_addr();
    opts.web = Some(web);
    let broker: Arc<dyn Broker> = Arc::new(MemoryBroker::new(1));
    let demo = tokio::spawn({
        let (opts, broker) = (opts.clone(), broker.clone());
        async move { run_demo(&opts, broker).await }
    });

    // Live: the page fills while the demo runs, and its counts grow.
    let url = format!("http://{web}/");
    let profile = out.join("profile");
    let mut page = loop {
        if common::services::get(web, "/").await.is_ok() {
            break browser::Browser::open(&chromium, &profile, &url, 1680, 1000).await;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    page.wait_for(
        "document.querySelectorAll('tr[data-station]').length === 96",
        Duration::from_secs(30),
    )
    .await;
    page.wait_for(&format!("{ENTRIES} > 0"), Duration::from_secs(30))
        .await;
    let first = page.eval(ENTRIES).await.as_u64().unwrap();
    page.wait_for(&format!("{ENTRIES} > {first}"), Duration::from_secs(30))
        .await;
    demo.await.unwrap().unwrap();

    // The final board, served again by the restarted status server.
    let server = StatusServer::start(&opts, broker, Some(free_addr()))
        .await
        .unwrap();
    let again = server.url().unwrap();
    page.call("Page.navigate", json!({ "url": again })).await;
    let status = common::status(&out);
    let expected = expected_rows(&status).to_string();
    page.wait_for(
        &format!("{ROWS} === {}", serde_json::to_string(&expected).unwrap()),
        Duration::from_secs(30),
    )
    .await;
    let weather = page
        .eval("document.getElementById('weather').textContent")
        .await;
    let w = &status["weather"];
    let text = format!(
        "Weather: {:.1} °F, {}",
        w["temperature"].as_f64().unwrap(),
        w["status"].as_str().unwrap().replace('_', " ")
    );
    assert_eq!(weather, json!(text));

    page.call(
        "Emulation.setDeviceMetricsOverride",
        json!({ "width": 1680, "height": 820, "deviceScaleFactor": 1, "mobile": false }),
    )
    .await;
    let shot = page.screenshot().await;
    let (w, h, colours, ink) = browser::png_stats(&shot);
    let kept = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("transit-status.png");
    std::fs::write(&kept, &shot).unwrap();
    println!(
        "screenshot {}: {w}x{h}, {colours} colours, {:.1}% ink",
        kept.display(),
        ink * 100.0
    );
    assert_eq!((w, h), (1680, 820));
    assert!(colours > 20, "more than a blank page: {colours} colours");
    assert!(ink > 0.03, "tables and text drawn: {ink:.3}");
    if let Some(path) = std::env::var_os("WEIR_TRANSIT_SCREENSHOT") {
        std::fs::write(&path, &shot).unwrap();
    }
    drop(page);
    server.stop().await.unwrap();
    let _ = std::fs::remove_dir_all(&out);
}
