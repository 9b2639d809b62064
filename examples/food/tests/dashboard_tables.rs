//! `--dashboard` shows the consumer's tables and charts: after a demo run with a dashboard,
//! each store's page (what `/api/stores/{name}` serves) holds the counts and ages recomputed
//! from the CSV in `common`, the four charts are on the dashboard, and the live scatter chart
//! holds a point per counted answer (nationality row, age), as recomputed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;
use weir::processors::Dashboard;
use weir::topology::MemoryBroker;
use weir_food::demo::{run_demo, FoodOptions};

/// The entries of store `name` as the dashboard serves them, by key.
fn entries(dashboard: &Dashboard, name: &str) -> BTreeMap<String, Value> {
    let page = dashboard.query_store(name, 1_000, None).unwrap();
    assert_eq!(page["kind"], "key_value");
    assert!(page["next"].is_null(), "one page");
    page["partitions"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["entries"].as_array().unwrap().clone())
        .map(|e| (e["key"].as_str().unwrap().to_string(), e["value"].clone()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_serves_the_tables_and_charts() {
    let out = common::temp_dir("dashboard");
    let mut opts = FoodOptions::new(common::shipped_data(), &out);
    opts.start_ms = Some(1_700_000_000_000);
    let dashboard = Dashboard::new();
    run_demo(&opts, Arc::new(MemoryBroker::new(1)), Some(&dashboard))
        .await
        .unwrap();
    let expected = common::Expected::of(&opts.data, 1_700_000_000_000);

    let gender = entries(&dashboard, "participants-by-gender");
    let want: BTreeMap<String, Value> = expected
        .gender_counts()
        .into_iter()
        .map(|(g, n)| (g, Value::from(n)))
        .collect();
    assert_eq!(gender, want);
    let nationality = entries(&dashboard, "participants-by-nationality");
    let want: BTreeMap<String, Value> = expected
        .nationality_counts()
        .into_iter()
        .map(|(n, c)| (n, Value::from(c)))
        .collect();
    assert_eq!(nationality, want);
    let ages = entries(&dashboard, "age-by-gender");
    let sums = expected.age_sums();
    assert_eq!(ages.len(), sums.len());
    for (g, (n, total)) in sums {
        let got = &ages[&g];
        assert_eq!(got["participants"], n);
        assert!((got["total_age"].as_f64().unwrap() - total).abs() < 1e-9);
        assert!((got["mean_age"].as_f64().unwrap() - total / n as f64).abs() < 1e-9);
    }

    let charts: Vec<String> = dashboard
        .chart_list()
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    assert_eq!(
        charts,
        [
            "gender_bar",
            "gender_pie",
            "gender_line",
            "age_nationality_scatter"
        ]
    );
    assert!(dashboard.points_published() > 0);

    // The scatter plot is live too: the page gets its points as the files do.
    let snapshot = dashboard.snapshot();
    let panel = &snapshot["charts"][3]["panels"][0];
    assert_eq!(panel["kind"], "scatter");
    let live: Vec<(String, Vec<(f64, f64)>)> = panel["scatter"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(name, points)| {
            (
                name.clone(),
                serde_json::from_value(points.clone()).unwrap(),
            )
        })
        .collect();
    let want = expected.scatter();
    assert_eq!(live, want);
    let answers: usize = want.iter().map(|(_, p)| p.len()).sum();
    assert_eq!(
        answers,
        expected.answers.len(),
        "a point per counted answer"
    );
    let _ = std::fs::remove_dir_all(&out);
}
