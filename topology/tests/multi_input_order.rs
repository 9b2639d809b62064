//! Multi-input order (`StreamsConfig::max_task_idle`, Kafka Streams' `max.task.idle.ms`): a task
//! reading two topics holds back while one of them is empty, so that records are processed in
//! timestamp order across both even when one topic's records arrive later; without it, the task
//! processes what it has.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use parking_lot::Mutex;
use std::sync::Arc;
use std::time::Duration;
use weir_topology::connect::OutRecord;
use weir_topology::prelude::*;

fn records(timestamps: impl Iterator<Item = i64>) -> Vec<OutRecord> {
    timestamps
        .map(|t| OutRecord {
            partition: 0,
            key: Some(b"k".to_vec()),
            value: Some(t.to_string().into_bytes()),
            timestamp: t,
            headers: vec![],
        })
        .collect()
}

/// The timestamps in the order a merge of `left` and `right` processed them, when `right`'s
/// records arrive 300 ms after the application started, or (`after_left`) once all of `left`
/// was processed (at most 5 s).
async fn processing_order(max_task_idle: Duration, after_left: bool) -> Vec<i64> {
    let broker = MemoryBroker::new(1);
    broker.create_topic("left", 1);
    broker.create_topic("right", 1);
    broker
        .append("left", records((0..10).map(|i| i * 2)))
        .unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let b = TopologyBuilder::new();
    let left = b.stream(Source::topic("left", StringSerde, StringSerde));
    let right = b.stream(Source::topic("right", StringSerde, StringSerde));
    let log = seen.clone();
    left.merge(&right)
        .foreach(move |_, v| log.lock().push(v.parse::<i64>().unwrap()));
    let config = StreamsConfig::new("order").max_task_idle(max_task_idle);
    let streams = Streams::new(b.build().unwrap(), Arc::new(broker.clone()), config);
    let progress = seen.clone();
    let late_writer = tokio::spawn(async move {
        let started = std::time::Instant::now();
        tokio::time::sleep(Duration::from_millis(300)).await;
        while after_left && progress.lock().len() < 10 && started.elapsed() < Duration::from_secs(5)
        {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        broker
            .append("right", records((0..10).map(|i| i * 2 + 1)))
            .unwrap();
        broker.close_topic("left");
        broker.close_topic("right");
    });
    streams.run().await.unwrap();
    late_writer.await.unwrap();
    let order = seen.lock().clone();
    order
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_an_idle_limit_records_are_processed_in_time_order_across_inputs() {
    let order = processing_order(Duration::from_secs(5), false).await;
    assert_eq!(order, (0..20).collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_one_the_task_processes_what_it_has() {
    let order = processing_order(Duration::ZERO, true).await;
    let expected: Vec<i64> = (0..10)
        .map(|i| i * 2)
        .chain((0..10).map(|i| i * 2 + 1))
        .collect();
    assert_eq!(order, expected, "the left records came first");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_input_that_stays_empty_holds_the_task_back_only_for_the_limit() {
    let broker = MemoryBroker::new(1);
    broker.create_topic("left", 1);
    broker.create_topic("right", 1);
    broker.append("left", records(0..5)).unwrap();
    let b = TopologyBuilder::new();
    let left = b.stream(Source::topic("left", StringSerde, StringSerde));
    let right = b.stream(Source::topic("right", StringSerde, StringSerde));
    left.merge(&right).group_by_key().count("counts");
    let config = StreamsConfig::new("held").max_task_idle(Duration::from_millis(200));
    let streams = Arc::new(Streams::new(
        b.build().unwrap(),
        Arc::new(broker.clone()),
        config,
    ));
    let running = {
        let streams = streams.clone();
        tokio::spawn(async move { streams.run().await })
    };
    let started = std::time::Instant::now();
    let count = || -> u64 {
        streams
            .store("counts")
            .iter()
            .map(|(_, h)| {
                let s = h.downcast::<KvStore<String, u64>>().unwrap();
                let n = s.lock().get(&"k".to_string()).unwrap().unwrap_or(0);
                n
            })
            .sum()
    };
    while count() < 5 {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the task never went on"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        started.elapsed() >= Duration::from_millis(150),
        "processed before the idle limit: {:?}",
        started.elapsed()
    );
    broker.close_topic("left");
    broker.close_topic("right");
    running.await.unwrap().unwrap();
}
