//! Records that cannot be read go to the error handler: log and continue, fail, or dead-letter.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use weir::topology::prelude::*;
use weir::topology::testing::{DriverConfig, TopologyTestDriver};
use weir::topology::{connect::OutRecord, TopologyError};

fn driver(handler: ErrorHandler) -> TopologyTestDriver {
    let b = TopologyBuilder::new();
    b.stream(Source::topic("in", StringSerde, JsonSerde::<i64>::new()))
        .map_values(|v| v * 2)
        .to(Sink::topic("out", StringSerde, JsonSerde::<i64>::new()));
    TopologyTestDriver::with_config(
        b.build().unwrap(),
        DriverConfig {
            error_handler: handler,
            ..Default::default()
        },
    )
    .unwrap()
}

fn s(v: &str) -> String {
    v.to_string()
}

#[test]
fn log_and_continue_skips_and_counts_bad_records() {
    let d = driver(ErrorHandler::LogAndContinue);
    let input = d.input_topic("in", StringSerde, JsonSerde::<i64>::new());
    input.pipe(s("a"), 1, 0).unwrap();
    input.pipe_raw(&s("b"), b"not json", 1).unwrap();
    input.pipe(s("c"), 3, 2).unwrap();
    input.pipe_raw(&s("d"), b"{\"x\": 1}", 3).unwrap();
    input.pipe(s("e"), 5, -7).unwrap(); // a negative timestamp cannot be used either
    input.pipe(s("f"), 6, 4).unwrap();
    let out = d.output_topic("out", StringSerde, JsonSerde::<i64>::new());
    assert_eq!(
        out.read_key_values().unwrap(),
        vec![(s("a"), 2), (s("c"), 6), (s("f"), 12)]
    );
    let m = d.metrics();
    assert_eq!(m.skipped, 3);
    assert_eq!(m.processed, 3);
    assert_eq!(m.dead_lettered, 0);
}

#[test]
fn a_bad_key_is_skipped_too() {
    let d = driver(ErrorHandler::LogAndContinue);
    // Invalid UTF-8 in the key: StringSerde cannot read it.
    d.broker()
        .append(
            "in",
            vec![OutRecord {
                partition: 0,
                key: Some(vec![0xff, 0xfe]),
                value: Some(b"5".to_vec()),
                timestamp: 0,
                headers: Vec::new(),
            }],
        )
        .unwrap();
    d.commit().unwrap();
    let input = d.input_topic("in", StringSerde, JsonSerde::<i64>::new());
    input.pipe(s("ok"), 1, 1).unwrap();
    let out = d.output_topic("out", StringSerde, JsonSerde::<i64>::new());
    assert_eq!(out.read_key_values().unwrap(), vec![(s("ok"), 2)]);
    assert_eq!(d.metrics().skipped, 1);
    assert_eq!(d.metrics().processed, 1);
}

#[test]
fn fail_returns_the_error_from_pipe() {
    let d = driver(ErrorHandler::Fail);
    let input = d.input_topic("in", StringSerde, JsonSerde::<i64>::new());
    input.pipe(s("a"), 1, 0).unwrap();
    let err = input.pipe_raw(&s("b"), b"not json", 1).unwrap_err();
    let inner = match &err {
        TopologyError::Task { source, .. } => source.as_ref(),
        other => other,
    };
    match inner {
        TopologyError::BadRecord { reason, offset, .. } => {
            assert!(reason.contains("bad value"), "{reason}");
            assert_eq!(*offset, 1);
        }
        other => panic!("unexpected error {other}"),
    }
    assert_eq!(d.metrics().processed, 1);
    let out = d.output_topic("out", StringSerde, JsonSerde::<i64>::new());
    assert_eq!(out.read_key_values().unwrap(), vec![(s("a"), 2)]);
}

#[test]
fn dead_letter_writes_the_raw_record_with_an_error_header() {
    let d = driver(ErrorHandler::DeadLetter(s("dlq")));
    assert!(d.broker().topics().contains(&s("dlq")));
    let input = d.input_topic("in", StringSerde, JsonSerde::<i64>::new());
    input.pipe(s("a"), 1, 0).unwrap();
    input.pipe_raw(&s("b"), b"not json", 17).unwrap();
    input.pipe(s("c"), 3, 20).unwrap();
    let out = d.output_topic("out", StringSerde, JsonSerde::<i64>::new());
    assert_eq!(
        out.read_key_values().unwrap(),
        vec![(s("a"), 2), (s("c"), 6)]
    );

    let broker = d.broker();
    assert_eq!(broker.len("dlq"), 1);
    let dead = &broker.records("dlq", 0)[0];
    assert_eq!(dead.key.as_deref(), Some(&b"b"[..]));
    assert_eq!(dead.value.as_deref(), Some(&b"not json"[..]));
    assert_eq!(dead.timestamp, 17);
    let error = dead
        .headers
        .iter()
        .find(|(name, _)| name == "weir.error")
        .map(|(_, v)| String::from_utf8_lossy(v).to_string())
        .expect("a weir.error header");
    assert!(error.contains("bad value"), "{error}");

    let m = d.metrics();
    assert_eq!(m.dead_lettered, 1);
    assert_eq!(m.skipped, 1);
    assert_eq!(m.processed, 2);
}

/// A record stamped far in the future goes to the error handler instead of moving stream time
/// so far that every later record would be late and every window expire.
#[test]
fn a_far_future_timestamp_is_dead_lettered_and_time_does_not_jump() {
    let b = TopologyBuilder::new();
    b.stream(Source::topic("in", StringSerde, JsonSerde::<i64>::new()))
        .group_by_key()
        .windowed_by(TumblingWindows::of(std::time::Duration::from_secs(10)))
        .emit(EmitStrategy::OnEveryRecord)
        .count("per-10s")
        .to_stream()
        .map(|w, n| (w.key, n))
        .to(Sink::topic("out", StringSerde, JsonSerde::<u64>::new()));
    let d = TopologyTestDriver::with_config(
        b.build().unwrap(),
        DriverConfig {
            error_handler: ErrorHandler::DeadLetter("bad".into()),
            start_wall_clock_ms: 1_000_000,
            max_future_skew_ms: Some(60_000),
            ..Default::default()
        },
    )
    .unwrap();
    let input = d.input_topic("in", StringSerde, JsonSerde::<i64>::new());
    input.pipe(s("a"), 1, 1_000_000).unwrap();
    input.pipe(s("a"), 2, i64::MAX - 1).unwrap(); // hostile
    input
        .pipe(s("a"), 3, 1_000_060 + 3 * 24 * 3_600_000)
        .unwrap(); // three days ahead
    input.pipe(s("a"), 4, 1_001_000).unwrap(); // still counts: time did not jump
    let out = d.output_topic("out", StringSerde, JsonSerde::<u64>::new());
    assert_eq!(
        out.read_key_values().unwrap(),
        vec![(s("a"), 1), (s("a"), 2)]
    );
    let m = d.metrics();
    assert_eq!(
        (m.processed, m.skipped, m.dead_lettered, m.late),
        (2, 2, 2, 0)
    );
    let dead = d.broker().records("bad", 0);
    assert_eq!(dead.len(), 2);
    let reason = dead[0]
        .headers
        .iter()
        .find(|(k, _)| k == "weir.error")
        .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
        .unwrap();
    assert!(reason.contains("ahead of the wall clock"), "{reason}");
}
