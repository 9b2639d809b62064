//! The dashboard's WebSocket feed over a raw TCP connection (no client library, so the test
//! sees the protocol itself): the handshake succeeds from the dashboard's own origin and from
//! non-browser clients (no `Origin`), is refused (403) from another site's page, and the first
//! message is the snapshot, followed by the points published afterwards (time and scatter
//! points). Then a page in headless Chromium, driven over the DevTools protocol in real time,
//! receives scatter points over its WebSocket (and over Server-Sent Events) and must draw a
//! circle per point where it belongs.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::Value;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use weir_example_testkit::browser;
use weir_processors::sinks::chart::{ChartSpec, Panel, Point};
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
    let xy = dashboard
        .chart(
            "xy",
            ChartSpec::new("xy", vec![Panel::scatter("humidity", "temperature")]),
        )
        .unwrap();
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
        xy.publish_point(&Point::xy(0, "room", 41.5, -2.25));
        let points = message(&mut stream).await;
        let point = &points["data"][0];
        assert_eq!(
            (&point["series"], &point["x"], &point["y"], &point["panel"]),
            (&"room".into(), &41.5.into(), &(-2.25).into(), &0.into()),
            "a scatter point: {points}"
        );
    }
    server.stop().await.unwrap();
}

/// The page's scatter panels as drawn: per panel its plot area, circles (with the series
/// their title names and their fill), x tick labels and legend; and the feed's counters.
const SCATTER_STATE: &str = r#"JSON.stringify({
  updates: updates,
  received: received,
  feed: document.getElementById("feed").textContent,
  panels: [...document.querySelectorAll("g.scatter-panel")].map(g => {
    const plot = g.querySelector("rect.axis");
    return {
      plot: ["x", "y", "width", "height"].map(a => +plot.getAttribute(a)),
      circles: [...g.querySelectorAll("circle.point")].map(c => ({
        series: c.querySelector("title").textContent.split(":")[0],
        fill: c.getAttribute("fill"), cx: +c.getAttribute("cx"), cy: +c.getAttribute("cy") })),
      ticks: [...g.querySelectorAll("text.xtick")].map(t => [t.textContent, +t.getAttribute("x")]),
      legend: [...g.querySelectorAll("text.legend")].map(t => t.textContent),
    };
  }),
})"#;

const WEATHER: [&str; 3] = ["dry", "humid", "wet"];

/// The points published to the scatter chart: panel 0 with numeric x (positive and negative,
/// out of order), panel 1 with x = a weather category's index. Series `s0`..`s2`.
fn scatter_points() -> Vec<Point> {
    (0..40)
        .flat_map(|i: i32| {
            let series = format!("s{}", i % 3);
            let x = f64::from((i * 7) % 23) * 0.5 - 3.0;
            let y = f64::from((i * 13) % 17) + 0.25 * f64::from(i);
            [
                Point::xy(0, series.clone(), x, y),
                Point::xy(1, series, f64::from(i % 3), f64::from(i)),
            ]
        })
        .collect()
}

/// The circles of a drawn panel, in the page's drawing order (series by name, then arrival),
/// paired with the `(x, y)` of the point each stands for.
fn drawn_pairs<'a>(panel: &'a Value, points: &[Point], index: usize) -> Vec<(&'a Value, f64, f64)> {
    let mut expected: Vec<(String, usize, f64, f64)> = points
        .iter()
        .enumerate()
        .filter_map(|(order, p)| match p {
            Point::Xy {
                panel,
                series,
                x,
                y,
            } if *panel == index => Some((series.clone(), order, *x, *y)),
            _ => None,
        })
        .collect();
    expected.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
    let circles = panel["circles"].as_array().unwrap();
    assert_eq!(
        circles.len(),
        expected.len(),
        "a circle per point of panel {index}"
    );
    circles
        .iter()
        .zip(expected)
        .map(|(c, (series, _, x, y))| {
            assert_eq!(c["series"], series.as_str(), "panel {index}: {c}");
            (c, x, y)
        })
        .collect()
}

/// Checks that `screen = a * value + b` for every pair, with `a` of the given sign: the line
/// through the smallest and the largest value, within the page's 0.1 px rounding.
fn linear(pairs: &[(f64, f64)], positive: bool) {
    let by_value = |a: &&(f64, f64), b: &&(f64, f64)| a.0.total_cmp(&b.0);
    let (lo, hi) = (
        pairs.iter().min_by(by_value).unwrap(),
        pairs.iter().max_by(by_value).unwrap(),
    );
    assert!(hi.0 - lo.0 >= 1.0, "two distinct values");
    let a = (hi.1 - lo.1) / (hi.0 - lo.0);
    let b = lo.1 - a * lo.0;
    assert_eq!(a > 0.0, positive, "direction of the axis: {a}");
    for &(v, s) in pairs {
        assert!(
            (a * v + b - s).abs() < 0.2,
            "{v} drawn at {s}, not {}",
            a * v + b
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_draws_scatter_points_received_live_where_they_belong() {
    let Some(chromium) = browser::chromium() else {
        return;
    };
    let work = std::env::temp_dir().join(format!("weir-scatter-page-{}", std::process::id()));
    let points = scatter_points();
    for feed in ["WebSocket", "SSE"] {
        let dashboard = Dashboard::new();
        let server = DashboardServer::start(dashboard.clone(), DashboardConfig::new().port(0))
            .await
            .unwrap();
        let url = match feed {
            "SSE" => format!("{}?feed=sse", server.url()),
            _ => server.url(),
        };
        let profile = work.join(feed);
        let mut page = browser::Browser::open(&chromium, &profile, &url, 1280, 900).await;
        let ready = format!(
            r#"document.getElementById("feed").textContent === "{feed}"
               && document.getElementById("status").textContent === "live""#
        );
        page.wait_for(&ready, Duration::from_secs(30)).await;
        let spec = ChartSpec::new(
            "Temperature against humidity",
            vec![
                Panel::scatter("humidity", "temperature"),
                Panel::scatter("weather", "rain").with_x_categories(WEATHER),
            ],
        );
        let chart = dashboard.chart("xy", spec).unwrap();
        page.wait_for("charts.length === 1", Duration::from_secs(30))
            .await;
        // Published while the page is open: every point reaches it as a live update.
        for point in &points {
            assert!(chart.publish_point(point));
        }
        let all = format!(
            r#"document.querySelectorAll("circle.point").length === {}"#,
            points.len()
        );
        page.wait_for(&all, Duration::from_secs(30)).await;
        let state: Value =
            serde_json::from_str(page.eval(SCATTER_STATE).await.as_str().unwrap()).unwrap();
        assert_eq!(state["feed"], feed);
        assert_eq!(state["received"], points.len(), "{feed}: {state}");
        assert!(
            state["updates"].as_u64().unwrap() >= 1,
            "{feed}: live updates"
        );
        let panels = state["panels"].as_array().unwrap();
        assert_eq!(panels.len(), 2, "{state}");

        let mut fills = std::collections::BTreeMap::new();
        for (index, panel) in panels.iter().enumerate() {
            let pairs = drawn_pairs(panel, &points, index);
            let xs: Vec<(f64, f64)> = pairs
                .iter()
                .map(|(c, x, _)| (*x, c["cx"].as_f64().unwrap()))
                .collect();
            let ys: Vec<(f64, f64)> = pairs
                .iter()
                .map(|(c, _, y)| (*y, c["cy"].as_f64().unwrap()))
                .collect();
            linear(&xs, true);
            // SVG's y grows downwards: a larger y is drawn higher.
            linear(&ys, false);
            let plot: Vec<f64> = serde_json::from_value(panel["plot"].clone()).unwrap();
            for (c, _, _) in &pairs {
                let (cx, cy) = (c["cx"].as_f64().unwrap(), c["cy"].as_f64().unwrap());
                assert!(
                    cx >= plot[0] && cx <= plot[0] + plot[2],
                    "inside the plot: {c}"
                );
                assert!(
                    cy >= plot[1] && cy <= plot[1] + plot[3],
                    "inside the plot: {c}"
                );
                // One colour per series, the same in both panels.
                let fill = fills
                    .entry(c["series"].as_str().unwrap().to_owned())
                    .or_insert(c["fill"].clone());
                assert_eq!(&c["fill"], &*fill, "{c}");
            }
            assert_eq!(panel["legend"], serde_json::json!(["s0", "s1", "s2"]));
            if index == 1 {
                // The x axis names the categories, each at the x of its points.
                let ticks = panel["ticks"].as_array().unwrap();
                let names: Vec<&str> = ticks.iter().map(|t| t[0].as_str().unwrap()).collect();
                assert_eq!(names, WEATHER);
                for (c, x, _) in &pairs {
                    let at = ticks[*x as usize][1].as_f64().unwrap();
                    assert!(
                        (c["cx"].as_f64().unwrap() - at).abs() < 0.11,
                        "{c} under {at}"
                    );
                }
            }
        }
        let distinct: std::collections::BTreeSet<String> =
            fills.values().map(Value::to_string).collect();
        assert_eq!(distinct.len(), 3, "a colour per series: {fills:?}");

        let shot = page.screenshot().await;
        let (w, h, colours, ink) = browser::png_stats(&shot);
        assert!(
            w >= 1000 && h >= 600 && colours > 10 && ink > 0.01,
            "{w}x{h} {colours} {ink}"
        );
        let out = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("dashboard-scatter");
        std::fs::create_dir_all(&out).unwrap();
        std::fs::write(out.join(format!("scatter-{feed}.png")), shot).unwrap();
        drop(page);
        server.stop().await.unwrap();
    }
    let _ = std::fs::remove_dir_all(&work);
}
