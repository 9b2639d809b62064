//! `TopologyBuilder::build` validates the graph and returns a typed error, never panics.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;
use weir::topology::prelude::*;
use weir::topology::{StoreSpec, TopologyError, Windows};

fn ints(b: &TopologyBuilder, topic: &str) -> Stream<String, i64> {
    b.stream(Source::topic(topic, StringSerde, JsonSerde::<i64>::new()))
}

fn int_sink(topic: &str) -> Sink<String, i64> {
    Sink::topic(topic, StringSerde, JsonSerde::<i64>::new())
}

/// A processor that passes records on.
struct Pass;
impl Processor<String, i64> for Pass {
    fn process(
        &mut self,
        record: Record<String, i64>,
        ctx: &mut dyn ProcessorContext<String, i64>,
    ) -> weir::topology::Result<()> {
        ctx.forward(record)
    }
}

#[test]
fn a_valid_topology_builds() {
    let b = TopologyBuilder::new();
    ints(&b, "in").filter(|_, v| *v > 0).to(int_sink("out"));
    let t = b.build().unwrap();
    assert_eq!(t.subtopologies().len(), 1);
}

#[test]
fn an_empty_topology_is_rejected() {
    let err = TopologyBuilder::new().build().unwrap_err();
    assert!(matches!(err, TopologyError::Empty), "{err}");
}

#[test]
fn duplicate_node_names_are_rejected() {
    let b = TopologyBuilder::new();
    let s = ints(&b, "in");
    s.filter(|_, v| *v > 0).named("step").to(int_sink("a"));
    s.map_values(|v| v + 1).named("step").to(int_sink("b"));
    match b.build().unwrap_err() {
        TopologyError::DuplicateName { name, what } => {
            assert_eq!(name, "step");
            assert_eq!(what, "node");
        }
        other => panic!("unexpected error {other}"),
    }
}

#[test]
fn duplicate_sink_and_source_names_are_rejected() {
    let b = TopologyBuilder::new();
    b.stream(Source::topic("in", StringSerde, JsonSerde::<i64>::new()).named("io"))
        .to(int_sink("out").named("io"));
    assert!(matches!(
        b.build().unwrap_err(),
        TopologyError::DuplicateName { ref name, what: "node" } if name == "io"
    ));
}

#[test]
fn duplicate_store_names_are_rejected() {
    let b = TopologyBuilder::new();
    b.add_store(StoreSpec::key_value::<String, i64>("shared"));
    b.add_store(StoreSpec::key_value::<String, u64>("shared"));
    ints(&b, "in").to(int_sink("out"));
    match b.build().unwrap_err() {
        TopologyError::DuplicateName { name, what } => {
            assert_eq!(name, "shared");
            assert_eq!(what, "store");
        }
        other => panic!("unexpected error {other}"),
    }
}

#[test]
fn two_aggregations_with_one_name_are_rejected() {
    let b = TopologyBuilder::new();
    ints(&b, "a").group_by_key().count("counts");
    ints(&b, "b").group_by_key().count("counts");
    // Both the node name and the store name repeat: both are reported.
    match b.build().unwrap_err() {
        TopologyError::Invalid(errors) => {
            let whats: Vec<_> = errors
                .iter()
                .map(|e| match e {
                    TopologyError::DuplicateName { name, what } if name == "counts" => *what,
                    other => panic!("unexpected error {other}"),
                })
                .collect();
            assert_eq!(whats, vec!["node", "store"]);
        }
        other => panic!("unexpected error {other}"),
    }
}

#[test]
fn build_reports_every_problem_not_only_the_first() {
    let b = TopologyBuilder::new();
    ints(&b, "in").filter(|_, v| *v > 0); // dangling
    ints(&b, "in2")
        .process::<String, i64, _>(|| Echo, &["nowhere"])
        .to(int_sink("out"));
    b.stream(Source::topic("in", StringSerde, JsonSerde::<u64>::new()))
        .foreach(|_, _| ()); // `in` read with another value type
    let err = b.build().unwrap_err();
    let TopologyError::Invalid(errors) = &err else {
        panic!("expected every problem, got {err}");
    };
    assert_eq!(errors.len(), 3, "{err}");
    assert!(
        matches!(errors[0], TopologyError::MissingStore { .. }),
        "{err}"
    );
    assert!(matches!(errors[1], TopologyError::Dangling { .. }), "{err}");
    assert!(
        matches!(errors[2], TopologyError::TypeMismatch { .. }),
        "{err}"
    );
    let message = err.to_string();
    assert!(
        message.starts_with("3 problems in the topology:\n  1. "),
        "{message}"
    );
}

/// Forwards every record.
struct Echo;
impl Processor<String, i64, String, i64> for Echo {
    fn process(
        &mut self,
        record: Record<String, i64>,
        ctx: &mut dyn ProcessorContext<String, i64>,
    ) -> weir::topology::Result<()> {
        ctx.forward(record)
    }
}

#[test]
fn a_store_used_by_process_must_be_defined() {
    let b = TopologyBuilder::new();
    ints(&b, "in")
        .process(|| Pass, &["nope"])
        .named("custom")
        .to(int_sink("out"));
    match b.build().unwrap_err() {
        TopologyError::MissingStore { node, store } => {
            assert_eq!(node, "custom");
            assert_eq!(store, "nope");
        }
        other => panic!("unexpected error {other}"),
    }
}

#[test]
fn a_store_defined_with_add_store_satisfies_process() {
    let b = TopologyBuilder::new();
    b.add_store(StoreSpec::key_value::<String, i64>("mine"));
    ints(&b, "in")
        .process(|| Pass, &["mine"])
        .to(int_sink("out"));
    assert!(b.build().is_ok());
}

#[test]
fn a_dangling_filter_is_rejected() {
    let b = TopologyBuilder::new();
    let s = ints(&b, "in");
    s.to(int_sink("out"));
    s.filter(|_, v| *v > 0).named("lonely-filter");
    match b.build().unwrap_err() {
        TopologyError::Dangling { node, reason } => {
            assert_eq!(node, "lonely-filter");
            assert!(reason.contains("FILTER"), "{reason}");
        }
        other => panic!("unexpected error {other}"),
    }
}

#[test]
fn a_source_with_no_consumer_is_dangling() {
    let b = TopologyBuilder::new();
    let _unused = b.stream(Source::topic("in", StringSerde, JsonSerde::<i64>::new()).named("src"));
    assert!(matches!(
        b.build().unwrap_err(),
        TopologyError::Dangling { ref node, .. } if node == "src"
    ));
}

#[test]
fn the_same_topic_with_two_types_is_rejected() {
    let b = TopologyBuilder::new();
    b.stream(Source::topic("t", StringSerde, StringSerde))
        .to(Sink::topic("out", StringSerde, StringSerde));
    ints(&b, "in").to(Sink::topic("t", StringSerde, JsonSerde::<i64>::new()));
    match b.build().unwrap_err() {
        TopologyError::TypeMismatch {
            topic,
            first,
            second,
        } => {
            assert_eq!(topic, "t");
            assert!(
                first.contains("String") && second.contains("i64"),
                "{first} / {second}"
            );
        }
        other => panic!("unexpected error {other}"),
    }
}

#[test]
fn the_same_topic_with_one_type_is_fine() {
    let b = TopologyBuilder::new();
    ints(&b, "in").to(int_sink("t"));
    b.stream(Source::topic("t", StringSerde, JsonSerde::<i64>::new()))
        .to(int_sink("u"));
    assert!(b.build().is_ok());
}

fn window_error(windows: Windows) -> TopologyError {
    let b = TopologyBuilder::new();
    ints(&b, "in")
        .group_by_key()
        .windowed_by(windows)
        .count("bad-windows")
        .to_stream()
        .to(Sink::topic(
            "out",
            JsonSerde::<Windowed<String>>::new(),
            JsonSerde::<u64>::new(),
        ));
    b.build().unwrap_err()
}

#[test]
fn invalid_windows_are_rejected() {
    let cases = [
        TumblingWindows::of(Duration::ZERO),
        HoppingWindows::of(Duration::from_secs(5), Duration::from_secs(10)),
        HoppingWindows::of(Duration::from_secs(5), Duration::ZERO),
        SlidingWindows::of(Duration::ZERO),
    ];
    for w in cases {
        match window_error(w) {
            TopologyError::Config { key, reason } => {
                assert_eq!(key, "bad-windows");
                assert!(!reason.is_empty());
            }
            other => panic!("unexpected error for {w:?}: {other}"),
        }
    }
    let mut negative = TumblingWindows::of(Duration::from_secs(1));
    negative.grace_ms = -1;
    assert!(matches!(
        window_error(negative),
        TopologyError::Config { .. }
    ));
}

#[test]
fn invalid_session_windows_are_rejected() {
    // A session aggregate without a merger does not compile (see `SessionWindowedGrouped`).
    let b = TopologyBuilder::new();
    ints(&b, "in")
        .group_by_key()
        .windowed_by(SessionWindows::with_gap(Duration::ZERO))
        .aggregate("sessions", || 0i64, |_, v, acc| acc + v, |_, a, b| a + b)
        .to_stream()
        .to(Sink::topic(
            "out",
            JsonSerde::<Windowed<String>>::new(),
            JsonSerde::<i64>::new(),
        ));
    match b.build().unwrap_err() {
        TopologyError::Config { key, reason } => {
            assert_eq!(key, "sessions");
            assert!(reason.contains("gap"), "{reason}");
        }
        other => panic!("unexpected error {other}"),
    }
}

#[test]
fn joining_a_table_that_is_not_materialized_is_rejected() {
    let b = TopologyBuilder::new();
    let table = ints(&b, "t")
        .group_by_key()
        .count("counts")
        .map_values(|c| c * 2);
    assert_eq!(table.store_name(), None);
    ints(&b, "in")
        .join(&table, |v, c| *v + *c as i64)
        .to(int_sink("out"));
    assert!(matches!(
        b.build().unwrap_err(),
        TopologyError::Config { .. }
    ));
}

#[test]
fn errors_have_readable_messages() {
    let b = TopologyBuilder::new();
    b.add_store(StoreSpec::key_value::<String, i64>("s"));
    b.add_store(StoreSpec::key_value::<String, i64>("s"));
    ints(&b, "in").to(int_sink("out"));
    let msg = b.build().unwrap_err().to_string();
    assert!(msg.contains("duplicate name `s`"), "{msg}");
}
