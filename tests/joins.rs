//! Stream-table joins: inner joins drop unmatched records, left joins keep them with `None`;
//! the table is read from a topic with `TopologyBuilder::table` or produced by an aggregation.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use weir::topology::prelude::*;
use weir::topology::testing::{DriverConfig, TopologyTestDriver};

fn s(v: &str) -> String {
    v.to_string()
}

fn join_topology() -> Topology {
    let b = TopologyBuilder::new();
    let users = b.table(
        Source::topic("users", StringSerde, StringSerde),
        "users-store",
    );
    assert_eq!(users.store_name(), Some("users-store"));
    let clicks = b.stream(Source::topic(
        "clicks",
        StringSerde,
        JsonSerde::<i64>::new(),
    ));
    clicks
        .join(&users, |clicks, name| format!("{name} clicked {clicks}"))
        .to(Sink::topic("enriched", StringSerde, StringSerde));
    clicks
        .left_join(&users, |clicks, name: Option<&String>| match name {
            Some(n) => format!("{n} clicked {clicks}"),
            None => format!("anonymous clicked {clicks}"),
        })
        .to(Sink::topic("enriched-left", StringSerde, StringSerde));
    b.build().unwrap()
}

fn run_join(partitions: u32) {
    let driver = TopologyTestDriver::with_config(
        join_topology(),
        DriverConfig {
            partitions,
            ..Default::default()
        },
    )
    .unwrap();
    let users = driver.input_topic("users", StringSerde, StringSerde);
    let clicks = driver.input_topic("clicks", StringSerde, JsonSerde::<i64>::new());
    users.pipe(s("u1"), s("Ann"), 0).unwrap();
    users.pipe(s("u2"), s("Bob"), 1).unwrap();
    clicks.pipe(s("u1"), 3, 2).unwrap();
    clicks.pipe(s("u3"), 7, 3).unwrap(); // no such user
    clicks.pipe(s("u2"), 1, 4).unwrap();
    users.pipe(s("u1"), s("Annie"), 5).unwrap(); // the table changes
    users.pipe(s("u3"), s("Cid"), 6).unwrap();
    clicks.pipe(s("u1"), 4, 7).unwrap();
    clicks.pipe(s("u3"), 8, 8).unwrap();

    let mut inner = driver
        .output_topic("enriched", StringSerde, StringSerde)
        .read_all()
        .unwrap()
        .into_iter()
        .map(|r| (r.timestamp(), r.key().clone(), r.value().clone()))
        .collect::<Vec<_>>();
    let mut left = driver
        .output_topic("enriched-left", StringSerde, StringSerde)
        .read_all()
        .unwrap()
        .into_iter()
        .map(|r| (r.timestamp(), r.key().clone(), r.value().clone()))
        .collect::<Vec<_>>();
    // With several partitions the output topic is read partition by partition: order by time.
    inner.sort();
    left.sort();
    assert_eq!(
        inner,
        vec![
            (2, s("u1"), s("Ann clicked 3")),
            (4, s("u2"), s("Bob clicked 1")),
            (7, s("u1"), s("Annie clicked 4")),
            (8, s("u3"), s("Cid clicked 8")),
        ]
    );
    assert_eq!(
        left,
        vec![
            (2, s("u1"), s("Ann clicked 3")),
            (3, s("u3"), s("anonymous clicked 7")),
            (4, s("u2"), s("Bob clicked 1")),
            (7, s("u1"), s("Annie clicked 4")),
            (8, s("u3"), s("Cid clicked 8")),
        ]
    );
    assert_eq!(
        driver.kv_entries::<String, String>("users-store").unwrap(),
        vec![
            (s("u1"), s("Annie")),
            (s("u2"), s("Bob")),
            (s("u3"), s("Cid"))
        ]
    );
    assert_eq!(driver.metrics().processed, 9);
}

#[test]
fn inner_join_drops_unmatched_and_left_join_keeps_them_with_none() {
    run_join(1);
}

#[test]
fn joins_are_co_partitioned_over_three_partitions() {
    run_join(3);
}

#[test]
fn a_stream_joins_an_aggregated_table() {
    let b = TopologyBuilder::new();
    let purchases = b.stream(Source::topic(
        "purchases",
        StringSerde,
        JsonSerde::<i64>::new(),
    ));
    let totals = purchases.group_by_key().reduce("totals", |a, b| a + b);
    let visits = b.stream(Source::topic("visits", StringSerde, StringSerde));
    visits
        .left_join(&totals, |page, total: Option<&i64>| {
            format!("{page}:{}", total.copied().unwrap_or(0))
        })
        .to(Sink::topic("visits-with-totals", StringSerde, StringSerde));
    let driver = TopologyTestDriver::new(b.build().unwrap()).unwrap();
    let purchases = driver.input_topic("purchases", StringSerde, JsonSerde::<i64>::new());
    let visits = driver.input_topic("visits", StringSerde, StringSerde);
    visits.pipe(s("c1"), s("home"), 0).unwrap();
    purchases.pipe(s("c1"), 30, 1).unwrap();
    purchases.pipe(s("c1"), 12, 2).unwrap();
    visits.pipe(s("c1"), s("cart"), 3).unwrap();
    visits.pipe(s("c2"), s("home"), 4).unwrap();
    let out = driver.output_topic("visits-with-totals", StringSerde, StringSerde);
    assert_eq!(
        out.read_key_values().unwrap(),
        vec![
            (s("c1"), s("home:0")),
            (s("c1"), s("cart:42")),
            (s("c2"), s("home:0"))
        ]
    );
}
