//! Records a Kafka client cannot read: a timestamp beyond chrono's range makes rskafka reject
//! every fetch that includes it. Such a record must reach the error handler (the dead-letter
//! topic, with its offset) and the partition must go on past it. And a committed offset that
//! retention deleted must fail loudly under `offset_reset = none`.
//! Uses the broker of `scripts/test.sh`; skipped when `WEIR_KAFKA_BROKERS` is not set.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod kafka_support;
#[path = "kafka_support/raw_produce.rs"]
mod raw_produce;

use kafka_support::*;
use raw_produce::{produce_raw, RawOut};
use std::sync::Arc;
use std::time::{Duration, Instant};
use weir_processors::{KafkaBroker, OffsetReset};
use weir_topology::prelude::*;
use weir_topology::{connect::RawRecord, connect::StartFrom};

/// A readable record, stamped within the last hour: the broker's time-based retention (7 days
/// by default) would delete records stamped earlier whenever its cleaner runs, and the test
/// would read nothing.
fn good(i: i64) -> RawOut {
    RawOut {
        key: format!("k{i}").into_bytes(),
        value: i.to_string().into_bytes(),
        timestamp: now_ms() - 3_600_000 + i,
    }
}

fn hostile(i: i64, timestamp: i64) -> RawOut {
    RawOut {
        timestamp,
        ..good(i)
    }
}

/// Offsets 0..=2 good (one batch), 3 with `i64::MAX` alone, 4 good, then a batch of 5..=7 whose
/// middle record (6) is far in the past (-2^62 ms), then 8 good.
async fn load(addr: &str, topic: &str) {
    produce_raw(addr, topic, 0, &[good(0), good(1), good(2)]).await;
    produce_raw(addr, topic, 0, &[hostile(3, i64::MAX)]).await;
    produce_raw(addr, topic, 0, &[good(4)]).await;
    produce_raw(addr, topic, 0, &[good(5), hostile(6, -(1 << 62)), good(7)]).await;
    produce_raw(addr, topic, 0, &[good(8)]).await;
}

/// The offsets handed over as unreadable: the two bad records, and the records before them
/// that rskafka cannot give either. rskafka converts the timestamps of everything a fetch
/// answers (from the requested offset on), so a record is unreadable when a fetch from it
/// always includes a bad one: a Kafka broker answers a one-byte fetch with one batch (KIP-74),
/// which leaves 5 (the bad 6's batch-mate) too; noida-db answers with the rest of the
/// partition whatever the size asked, which leaves everything up to the last bad record. Past
/// it, every record reads.
fn assert_placeholders(placeholders: &[i64]) {
    let kafka = [3, 5, 6];
    let whole_rest = [0, 1, 2, 3, 4, 5, 6];
    assert!(
        placeholders == kafka || placeholders == whole_rest,
        "unreadable offsets {placeholders:?}"
    );
}

/// Polls until 9 offsets were handed out (or the deadline).
async fn read_nine(b: &KafkaBroker, topic: &str) -> Vec<RawRecord> {
    let mut r = b.reader(topic, 0, StartFrom::Earliest).await.unwrap();
    let mut out = Vec::new();
    let started = Instant::now();
    while out.len() < 9 && started.elapsed() < Duration::from_secs(20) {
        out.extend(r.poll(100, 100).await.unwrap().records);
    }
    out
}

#[tokio::test]
async fn unreadable_timestamps_become_placeholders_and_the_partition_goes_on() {
    if !kafka_available("kafka_hostile_timestamp") {
        return;
    }
    let addr = brokers_env().unwrap();
    let b = connect(&addr).await;
    let topic = format!("hostile-ts-{}", now_ms());
    b.ensure_topic(&topic, 1).await.unwrap();
    load(&addr, &topic).await;

    let records = read_nine(&b, &topic).await;
    let offsets: Vec<i64> = records.iter().map(|r| r.offset).collect();
    assert_eq!(
        offsets,
        (0..=8).collect::<Vec<_>>(),
        "every offset, once, in order"
    );
    let placeholders: Vec<i64> = records
        .iter()
        .filter(|r| r.unreadable_reason().is_some())
        .map(|r| r.offset)
        .collect();
    assert_placeholders(&placeholders);
    for r in &records {
        match r.unreadable_reason() {
            Some(reason) => {
                assert!(reason.contains("timestamp"), "{reason}");
                assert!(reason.contains(&format!("offset {}", r.offset)), "{reason}");
                assert_eq!(r.value, None);
            }
            None => assert_eq!(r.value.as_deref(), Some(r.offset.to_string().as_bytes())),
        }
    }
    drop_topic(&b, &topic).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_record_goes_to_the_dead_letter_topic_with_its_offset() {
    if !kafka_available("kafka_hostile_timestamp") {
        return;
    }
    let addr = brokers_env().unwrap();
    let b = connect(&addr).await;
    let stamp = now_ms();
    let (input, output, dlq) = (
        format!("hostile-in-{stamp}"),
        format!("hostile-out-{stamp}"),
        format!("hostile-dlq-{stamp}"),
    );
    for t in [&input, &output, &dlq] {
        b.ensure_topic(t, 1).await.unwrap();
    }
    load(&addr, &input).await;

    let builder = TopologyBuilder::new();
    builder
        .stream(Source::topic(&input, StringSerde, JsonSerde::<i64>::new()))
        .map_values(|v| v * 10)
        .to(Sink::topic(&output, StringSerde, JsonSerde::<i64>::new()));
    let dir = scratch("hostile-ts");
    let config = StreamsConfig::new(format!("hostile-{stamp}"))
        .state_dir(dir.join("state"))
        .unwrap()
        .commit_interval(Duration::from_millis(100))
        .error_handler(ErrorHandler::DeadLetter(dlq.clone()));
    let streams = Arc::new(Streams::new(builder.build().unwrap(), b.clone(), config));
    let shutdown = streams.shutdown_handle();
    let runner = tokio::spawn({
        let s = streams.clone();
        async move { s.run().await }
    });
    let started = Instant::now();
    let mut out: Vec<(u32, RawRecord)> = Vec::new();
    // Records 7 and 8 follow every unreadable one: once they are out, all were handled.
    while out.last().and_then(|(_, r)| r.value.as_deref()) != Some(&b"80"[..]) {
        if runner.is_finished() || started.elapsed() > Duration::from_secs(30) {
            shutdown.trigger();
            panic!(
                "stuck at {} records: {:?}",
                out.len(),
                runner.await.unwrap()
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        out = read_all(&b, &output).await;
    }
    shutdown.trigger();
    let metrics = runner.await.unwrap().unwrap();

    let values: Vec<i64> = out
        .iter()
        .map(|(_, r)| serde_json::from_slice(r.value.as_deref().unwrap()).unwrap())
        .collect();
    let dead: Vec<i64> = read_all(&b, &dlq)
        .await
        .into_iter()
        .map(|(_, r)| {
            assert!(r.unreadable_reason().is_some(), "the reason travels along");
            let source = r.headers.iter().find(|(k, _)| k == "weir.source").unwrap();
            let source = String::from_utf8(source.1.clone()).unwrap();
            let offset = source.strip_prefix(&format!("{input}/0/")).unwrap();
            offset.parse().unwrap()
        })
        .collect();
    assert_placeholders(&dead);
    let processed: Vec<i64> = (0..=8).filter(|o| !dead.contains(o)).collect();
    let expected: Vec<i64> = processed.iter().map(|o| o * 10).collect();
    assert_eq!(values, expected, "every readable record, once, in order");
    assert_eq!(metrics.dead_lettered, dead.len() as u64);
    for t in [&input, &output, &dlq] {
        drop_topic(&b, t).await;
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_deleted_committed_offset_fails_under_reset_none_and_resets_otherwise() {
    if !kafka_available("kafka_hostile_timestamp") {
        return;
    }
    let addr = brokers_env().unwrap();
    let b = connect(&addr).await;
    let topic = format!("deleted-commit-{}", now_ms());
    b.ensure_topic(&topic, 1).await.unwrap();
    let pairs: Vec<(String, i64)> = (0..10).map(|i| ("k".to_string(), i)).collect();
    b.produce(&topic, keyed(&pairs, 1)).await.unwrap();
    b.delete_records_before(&topic, 0, 6).await.unwrap();

    let strict = KafkaBroker::connect(config(&addr).offset_reset(OffsetReset::None))
        .await
        .unwrap();
    let err = match strict.reader(&topic, 0, StartFrom::Offset(2)).await {
        Ok(_) => panic!("a reader past deleted records under offset_reset = none"),
        Err(e) => e.to_string(),
    };
    for part in [
        format!("{topic}/0"),
        "committed offset 2".into(),
        "log start 6".into(),
    ] {
        assert!(err.contains(&part), "`{part}` in: {err}");
    }
    // Not below the log start: no error.
    strict
        .reader(&topic, 0, StartFrom::Offset(6))
        .await
        .unwrap();

    let mut lenient = b.reader(&topic, 0, StartFrom::Offset(2)).await.unwrap();
    let first = lenient.poll(100, 500).await.unwrap().records[0].offset;
    assert_eq!(first, 6, "offset_reset = earliest resumes at the log start");
    drop_topic(&b, &topic).await;
}
