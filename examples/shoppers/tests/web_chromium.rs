//! The page in a real browser: headless Chromium opens the chart page before the demo starts,
//! the demo runs (900 rows: 90 seconds of simulated time) while the page receives each second's
//! points over its WebSocket, and then the chart the page holds and draws (its series, one line
//! per gender with a vertex per second) must equal the girls and boys per second recomputed
//! independently from `sex.jsonl`. A screenshot of the page is checked (not blank) and kept
//! under the target directory; with `WEIR_SHOPPERS_SCREENSHOT=PATH` it is also written to PATH
//! (how `examples/shoppers/shoppers.png` is made).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use weir::processors::{Dashboard, DashboardConfig, DashboardServer};
use weir::topology::MemoryBroker;
use weir_example_testkit::browser;
use weir_shoppers::apps::{chart_spec, CHART_ID};
use weir_shoppers::demo::run_demo;

/// What the page holds: its chart as the dashboard's snapshot has it, the lines it drew
/// (series name and vertex count), the live `points` messages it received and its feed.
const PAGE_STATE: &str = r#"JSON.stringify({
  updates: updates,
  received: received,
  feed: document.getElementById("feed").textContent,
  charts: charts.map(c => ({ title: c.title,
    panels: c.panels.map(p => ({ series: Object.fromEntries(p.series) })) })),
  lines: [...document.querySelectorAll("polyline.series")].map(l => ({
    name: l.querySelector("title").textContent,
    vertices: l.getAttribute("points").trim().split(" ").length })),
})"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_draws_each_seconds_girls_and_boys_as_recomputed_from_sex_jsonl() {
    let Some(chromium) = browser::chromium() else {
        return;
    };
    let work = common::temp_dir("chromium");
    let dashboard = Dashboard::new();
    let server = DashboardServer::start(dashboard.clone(), DashboardConfig::new().port(0))
        .await
        .unwrap();
    let url = server.url();
    let mut page = browser::Browser::open(&chromium, &work.join("profile"), &url, 1280, 600).await;
    page.wait_for(
        r#"document.getElementById("feed").textContent === "WebSocket"
           && document.getElementById("status").textContent === "live""#,
        Duration::from_secs(30),
    )
    .await;

    // The chart is on the page before the run: every point then reaches it as a live update.
    dashboard.chart(CHART_ID, chart_spec()).unwrap();
    page.wait_for("charts.length === 1", Duration::from_secs(30))
        .await;

    let opts = common::fast_options(&common::log(), &work.join("out"), 900, 1_700_000_000_000);
    let summary = run_demo(&opts, Arc::new(MemoryBroker::new(1)), &dashboard)
        .await
        .unwrap();
    common::check_outputs(&opts, &summary, &dashboard.snapshot());

    // Every point published has reached the page, and the page has drawn them.
    let published = dashboard.points_published();
    page.wait_for(
        &format!("received === {published}"),
        Duration::from_secs(30),
    )
    .await;
    let drawn = r#"(() => {
        const lines = [...document.querySelectorAll("polyline.series")];
        return lines.length === 2 && lines.every(l =>
            l.getAttribute("points").trim().split(" ").length
              === charts[0].panels[0].series.get(l.querySelector("title").textContent).length);
    })()"#;
    page.wait_for(drawn, Duration::from_secs(10)).await;
    let state: Value = serde_json::from_str(page.eval(PAGE_STATE).await.as_str().unwrap()).unwrap();
    println!(
        "page: {} points received in {} live updates over its {}",
        state["received"], state["updates"], state["feed"]
    );
    assert!(
        state["updates"].as_u64().unwrap() > 0,
        "points arrived live over the WebSocket, not only in the first snapshot"
    );
    assert_eq!(state["feed"], "WebSocket");

    // The page's chart against the recomputation from sex.jsonl.
    let seconds = common::recount(&common::jsonl(&opts.out.join("sex.jsonl")));
    let (girls, boys) = common::expected_points(&seconds);
    assert_eq!(seconds.len(), 90);
    let (page_girls, page_boys) = common::chart_points(&json!({ "charts": state["charts"] }));
    assert_eq!(page_girls, girls, "girls on the page");
    assert_eq!(page_boys, boys, "boys on the page");
    let mut lines: Vec<(String, u64)> = state["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["name"].as_str().unwrap().to_owned(),
                l["vertices"].as_u64().unwrap(),
            )
        })
        .collect();
    lines.sort();
    assert_eq!(
        lines,
        [("boys".to_owned(), 90), ("girls".to_owned(), 90)],
        "a line per gender, a vertex per second"
    );

    // The page's whole height at 1280 pixels wide.
    page.call(
        "Emulation.setDeviceMetricsOverride",
        json!({ "width": 1280, "height": 430, "deviceScaleFactor": 1, "mobile": false }),
    )
    .await;
    let shot = page.screenshot().await;
    let (w, h, colours, ink) = browser::png_stats(&shot);
    let kept = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("shoppers.png");
    std::fs::write(&kept, &shot).unwrap();
    println!(
        "screenshot {}: {w}x{h}, {colours} colours, {:.1}% ink",
        kept.display(),
        ink * 100.0
    );
    assert_eq!((w, h), (1280, 430));
    assert!(colours > 20, "more than a blank page: {colours} colours");
    assert!(ink > 0.03, "lines and text drawn: {ink:.3}");
    if let Some(path) = std::env::var_os("WEIR_SHOPPERS_SCREENSHOT") {
        std::fs::write(&path, &shot).unwrap();
    }
    drop(page);
    server.stop().await.unwrap();
    let _ = std::fs::remove_dir_all(&work);
}
