//! The demo over a real Kafka-protocol broker (its own noida-db, `scripts/broker.sh`) with the
//! stations from the PostgreSQL of `scripts/test.sh`: the outputs against the recomputation in
//! `common`, a station row inserted into PostgreSQL while running appearing on the page, and a
//! restart of the status server from its state directory showing the same board.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::services::{free_addr, get, postgres_url, unique_table};
use std::sync::Arc;
use std::time::{Duration, Instant};
use weir::processors::{KafkaBroker, KafkaConfig};
use weir::topology::Broker;
use weir_example_testkit::OwnBroker;
use weir_transit::demo::{run_demo, TransitOptions};
use weir_transit::stations::{read_csv, write_csv, StationRow};
use weir_transit::status_server::restart_status_server;

/// The station inserted while the demo runs.
fn new_station() -> StationRow {
    StationRow {
        stop_id: 39_001,
        direction_id: "S".into(),
        stop_name: "Weir Junction (Forest Park-bound)".into(),
        station_name: "Weir Junction".into(),
        station_descriptive_name: "Weir Junction (Blue Line)".into(),
        station_id: 49_990,
        order: 34,
        red: false,
        blue: true,
        green: false,
    }
}

/// Waits until the page's board satisfies `done`.
async fn page_shows(
    web: std::net::SocketAddr,
    what: &str,
    done: impl Fn(&serde_json::Value) -> bool,
) {
    let start = Instant::now();
    loop {
        if let Ok((200, body)) = get(web, "/status.json").await {
            if serde_json::from_str(&body).is_ok_and(|board| done(&board)) {
                return;
            }
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the page never showed {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn stations_on(board: &serde_json::Value) -> Vec<u64> {
    common::board_stations(board).into_keys().collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_on_kafka_and_postgres_matches_and_follows_the_table() {
    let Some(url) = postgres_url("the_demo_on_kafka_and_postgres_matches_and_follows_the_table")
    else {
        return;
    };
    let broker = OwnBroker::start("transit-kafka");
    let kafka: Arc<dyn Broker> = Arc::new(
        KafkaBroker::connect(KafkaConfig::new(broker.address()))
            .await
            .unwrap(),
    );
    let table = unique_table("transit_stations");
    let rows = read_csv(&common::shipped_stations()).unwrap();
    assert_eq!(
        weir_transit::setup::setup(&url, &table, &rows)
            .await
            .unwrap(),
        rows.len() as u64
    );

    let out = common::temp_dir("kafka-out");
    let mut opts = TransitOptions::new(common::shipped_stations(), &out);
    opts.steps = 60;
    opts.pace = Duration::from_millis(40);
    opts.postgres = Some((url.clone(), table.clone()));
    let web = free_addr();
    opts.web = Some(web);
    let demo = tokio::spawn({
        let (opts, kafka) = (opts.clone(), kafka.clone());
        async move { run_demo(&opts, kafka).await }
    });

    // The stations on the page, then one more inserted into PostgreSQL while the demo runs.
    page_shows(web, "the stations", |b| {
        stations_on(b).len() == rows.len() / 2
    })
    .await;
    let client = weir_transit::setup::connect(&url).await.unwrap();
    weir_transit::setup::insert_rows(&client, &table, &[new_station()])
        .await
        .unwrap();
    page_shows(web, "the inserted station", |b| {
        stations_on(b).contains(&49_990)
    })
    .await;
    let summary = demo.await.unwrap().unwrap();
    assert!(!demo_running_after(&summary.page));

    // The outputs, with the inserted station expected at the end of the blue line.
    let expected_csv = out.join("expected-stations.csv");
    let mut expected = rows.clone();
    expected.push(new_station());
    write_csv(&expected_csv, &expected).unwrap();
    common::check_outputs(&out, &expected_csv);
    assert_eq!(
        (
            summary.dead_lettered,
            summary.unknown_station,
            summary.ingest_refused
        ),
        (2, 1, 2)
    );

    let (board, processed) = restart_status_server(&opts, kafka).await.unwrap();
    assert_eq!(processed, 0, "it resumed where it committed");
    assert_eq!(serde_json::to_value(&board).unwrap(), common::status(&out));
    client
        .batch_execute(&format!("DROP TABLE \"{table}\""))
        .await
        .unwrap();
    let _ = std::fs::remove_dir_all(&out);
}

/// The page is closed once the demo returned.
fn demo_running_after(page: &Option<String>) -> bool {
    let addr = page
        .as_deref()
        .unwrap()
        .trim_start_matches("http://")
        .trim_end_matches('/');
    std::net::TcpStream::connect(addr).is_ok()
}
