//! `Table::suppress(until_time_limit)` against a reference written here from its definition:
//! a key's updates wait until stream time is the limit past the first of them and then leave as
//! one change; a bounded buffer sends its oldest keys early. Seeded random table updates with
//! deletes and out-of-order times.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::time::Duration;
use weir_topology::prelude::*;
use weir_topology::testing::TopologyTestDriver;
use weir_topology::{BufferConfig, Nullable, Suppressed};

fn values() -> Nullable<u32> {
    Nullable::new(JsonSerde::<u32>::new())
}

fn topology(suppressed: Suppressed) -> Topology {
    let b = TopologyBuilder::new();
    b.table(
        Source::topic("prices", StringSerde, JsonSerde::<u32>::new()),
        "prices",
    )
    .suppress("prices-held", suppressed)
    .to_changelog_stream()
    .to(Sink::topic("settled", StringSerde, values()));
    b.build().unwrap()
}

/// One buffered key of the reference.
struct Held {
    key: String,
    since: i64,
    prior: Option<u32>,
    new: Option<u32>,
}

/// What leaves the suppression, from its definition, for `updates` read as a table.
fn reference(
    updates: &[(String, Option<u32>, i64)],
    limit: i64,
    max_keys: Option<usize>,
) -> Vec<(String, Option<u32>)> {
    let mut table = std::collections::BTreeMap::new();
    let mut held: Vec<Held> = Vec::new();
    let mut out = Vec::new();
    let mut stream_time = i64::MIN;
    // Sends the key held longest (ties: the smaller key), unless nothing visible changed.
    let send_oldest = |held: &mut Vec<Held>, out: &mut Vec<(String, Option<u32>)>| {
        let oldest = (0..held.len())
            .min_by(|&a, &b| (held[a].since, &held[a].key).cmp(&(held[b].since, &held[b].key)))
            .unwrap();
        let h = held.remove(oldest);
        if h.prior.is_some() || h.new.is_some() {
            out.push((h.key, h.new));
        }
    };
    for (key, value, t) in updates {
        stream_time = stream_time.max(*t);
        let old = match value {
            Some(v) => table.insert(key.clone(), *v),
            None => table.remove(key),
        };
        // Deleting a missing row changes nothing and starts no wait; time moves on anyway.
        match held.iter_mut().find(|h| &h.key == key) {
            Some(h) => h.new = *value,
            None if old.is_none() && value.is_none() => {}
            None => held.push(Held {
                key: key.clone(),
                since: *t,
                prior: old,
                new: *value,
            }),
        }
        while held.iter().any(|h| h.since <= stream_time - limit) {
            send_oldest(&mut held, &mut out);
        }
        while max_keys.is_some_and(|max| held.len() > max) {
            send_oldest(&mut held, &mut out);
        }
    }
    out
}

#[test]
fn suppressed_updates_equal_the_reference() {
    let mut sent_total = 0;
    for seed in 0..30_u64 {
        let mut rng = StdRng::seed_from_u64(seed);
        let limit = rng.gen_range(500..5_000_i64);
        let max_keys = (seed % 3 == 0).then(|| rng.gen_range(1..4_usize));
        let buffer = max_keys.map_or_else(BufferConfig::unbounded, BufferConfig::max_records);
        let suppressed = Suppressed::until_time_limit(Duration::from_millis(limit as u64), buffer);
        let driver = TopologyTestDriver::new(topology(suppressed)).unwrap();
        let input = driver.input_topic("prices", StringSerde, values());
        let mut now = 0;
        let mut updates = Vec::new();
        for _ in 0..300 {
            now += rng.gen_range(0..1_000);
            let t = (now - rng.gen_range(0..2_000)).max(0);
            let key = format!("k{}", rng.gen_range(0..8));
            let value = rng.gen_bool(0.8).then(|| rng.gen_range(0..5));
            input.pipe(key.clone(), value, t).unwrap();
            updates.push((key, value, t));
        }
        let expected = reference(&updates, limit, max_keys);
        let settled = driver.output_topic("settled", StringSerde, values());
        let got = settled.read_key_values().unwrap();
        let first_difference = got.iter().zip(&expected).position(|(a, b)| a != b);
        assert_eq!(
            got,
            expected,
            "seed {seed}, limit {limit}, max keys {max_keys:?}, first difference at {first_difference:?}"
        );
        sent_total += expected.len();
    }
    assert!(
        sent_total > 1_000,
        "the runs must send plenty: {sent_total}"
    );
}

#[test]
fn a_full_buffer_set_to_shut_down_stops_with_an_error_naming_it() {
    let buffer = BufferConfig::max_records(1).shut_down_when_full();
    let suppressed = Suppressed::until_time_limit(Duration::from_secs(60), buffer);
    let driver = TopologyTestDriver::new(topology(suppressed)).unwrap();
    let input = driver.input_topic("prices", StringSerde, values());
    input.pipe("tea".into(), Some(1), 0).unwrap();
    let err = input.pipe("jam".into(), Some(2), 1).unwrap_err();
    assert!(err.to_string().contains("prices-held"), "{err}");
}

#[test]
fn describe_shows_the_suppression_and_its_buffer_store() {
    let t = topology(Suppressed::until_time_limit(
        Duration::from_secs(1),
        BufferConfig::unbounded(),
    ));
    let text = t.describe();
    assert!(
        text.contains("TABLE-SUPPRESS") || text.contains("prices-held"),
        "{text}"
    );
    assert!(text.contains("prices-held"), "{text}");
}
