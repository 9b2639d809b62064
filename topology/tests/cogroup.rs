//! Cogroup against a reference written here from its definition: every input's records fold
//! into one result per key (and window) with that input's own aggregator, in arrival order;
//! seeded random inputs with several keys, partitions, re-keyed inputs, out-of-order and late
//! records.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use weir_topology::prelude::*;
use weir_topology::testing::{DriverConfig, TopologyTestDriver};
use weir_topology::TopologyError;

/// The cogroup's result: what two inputs of different types add up to per customer.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
struct Customer {
    orders: u64,
    spent: u64,
    pages: Vec<String>,
}

fn add_order(c: Customer, amount: u64) -> Customer {
    Customer {
        orders: c.orders + 1,
        spent: c.spent + amount,
        ..c
    }
}

fn add_page(mut c: Customer, page: &str) -> Customer {
    c.pages.push(page.to_string());
    c
}

/// One input record of the random runs.
#[derive(Clone, Debug)]
enum Input {
    Order(String, u64, i64),
    Visit(String, String, i64),
}

impl Input {
    fn key(&self) -> &str {
        match self {
            Input::Order(k, ..) | Input::Visit(k, ..) => k,
        }
    }
    fn time(&self) -> i64 {
        match self {
            Input::Order(.., t) | Input::Visit(.., t) => *t,
        }
    }
    fn fold(&self, c: Customer) -> Customer {
        match self {
            Input::Order(_, amount, _) => add_order(c, *amount),
            Input::Visit(_, page, _) => add_page(c, page),
        }
    }
}

/// `n` records over `keys` keys, times rising by up to 3 s with up to `jitter` ms out of order.
fn random_inputs(seed: u64, n: usize, keys: u32, jitter: i64) -> Vec<Input> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut now = 0_i64;
    (0..n)
        .map(|_| {
            now += rng.gen_range(0..3_000);
            let t = (now - rng.gen_range(0..=jitter)).max(0);
            let key = format!("c{}", rng.gen_range(0..keys));
            if rng.gen_bool(0.5) {
                Input::Order(key, rng.gen_range(1..100), t)
            } else {
                Input::Visit(key, format!("p{}", rng.gen_range(0..5)), t)
            }
        })
        .collect()
}

fn pipe_all(driver: &TopologyTestDriver, inputs: &[Input], visit_key: impl Fn(&str) -> String) {
    let orders = driver.input_topic("orders", StringSerde, JsonSerde::<u64>::new());
    let visits = driver.input_topic("visits", StringSerde, StringSerde);
    for input in inputs {
        match input {
            Input::Order(k, amount, t) => orders.pipe(k.clone(), *amount, *t).unwrap(),
            Input::Visit(k, page, t) => visits.pipe(visit_key(k), page.clone(), *t).unwrap(),
        }
    }
}

fn config(partitions: u32) -> DriverConfig {
    DriverConfig {
        partitions,
        ..DriverConfig::default()
    }
}

/// Orders keyed by customer; visits keyed by customer too, or (`rekeyed`) by `page@customer`
/// and re-keyed by the customer before grouping, so that they go through a repartition topic.
fn customers_topology(rekeyed: bool) -> Topology {
    let b = TopologyBuilder::new();
    let orders = b.stream(Source::topic(
        "orders",
        StringSerde,
        JsonSerde::<u64>::new(),
    ));
    let visits = b.stream(Source::topic("visits", StringSerde, StringSerde));
    let visits = if rekeyed {
        visits.group_by(|k, _| k.split('@').nth(1).unwrap_or_default().to_string())
    } else {
        visits.group_by_key()
    };
    orders
        .group_by_key()
        .emit(EmitStrategy::OnEveryRecord)
        .cogroup(|_, amount, c: Customer| add_order(c, *amount))
        .cogroup(&visits, |_, page, c| add_page(c, page))
        .aggregate("customers", Customer::default)
        .to_stream()
        .to(Sink::topic(
            "customers",
            StringSerde,
            JsonSerde::<Customer>::new(),
        ));
    b.build().unwrap()
}

#[test]
fn every_update_equals_the_reference_fold_in_arrival_order() {
    for seed in 0..20 {
        let inputs = random_inputs(seed, 300, 12, 0);
        let driver = TopologyTestDriver::with_config(customers_topology(false), config(3)).unwrap();
        pipe_all(&driver, &inputs, str::to_string);
        // Per key, every update in arrival order (the output topic's partitions interleave
        // keys differently; each key stays in one partition, in order).
        let mut reference: BTreeMap<String, Customer> = BTreeMap::new();
        let mut expected: BTreeMap<String, Vec<Customer>> = BTreeMap::new();
        for input in &inputs {
            let c = reference.remove(input.key()).unwrap_or_default();
            let c = input.fold(c);
            expected
                .entry(input.key().to_string())
                .or_default()
                .push(c.clone());
            reference.insert(input.key().to_string(), c);
        }
        let out = driver.output_topic("customers", StringSerde, JsonSerde::<Customer>::new());
        let mut updates: BTreeMap<String, Vec<Customer>> = BTreeMap::new();
        for (k, c) in out.read_key_values().unwrap() {
            updates.entry(k).or_default().push(c);
        }
        assert!(
            updates == expected,
            "seed {seed}: the updates differ from the reference"
        );
        let stored: Vec<(String, Customer)> = driver.kv_entries("customers").unwrap();
        assert_eq!(
            stored,
            reference.into_iter().collect::<Vec<_>>(),
            "seed {seed}"
        );
    }
}

#[test]
fn an_input_whose_key_changed_is_repartitioned_before_the_cogroup() {
    let topology = customers_topology(true);
    let description = topology.describe();
    assert!(
        description.contains("customers-1-repartition"),
        "{description}"
    );
    assert!(!description.contains("customers-0-repartition"));
    assert!(description.contains("COGROUP"), "{description}");
    let inputs = random_inputs(7, 500, 9, 0);
    let driver = TopologyTestDriver::with_config(topology, config(4)).unwrap();
    pipe_all(&driver, &inputs, |customer| format!("home@{customer}"));
    let mut reference: BTreeMap<String, Customer> = BTreeMap::new();
    for input in &inputs {
        let c = reference.remove(input.key()).unwrap_or_default();
        let c = match input {
            Input::Visit(..) => add_page(c, input_page(input)),
            order => order.fold(c),
        };
        reference.insert(input.key().to_string(), c);
    }
    let stored: Vec<(String, Customer)> = driver.kv_entries("customers").unwrap();
    assert_eq!(stored, reference.into_iter().collect::<Vec<_>>());
}

fn input_page(input: &Input) -> &str {
    match input {
        Input::Visit(_, page, _) => page,
        Input::Order(..) => "",
    }
}

/// Per key and window, the cogroup of orders and visits: tumbling (advance = size) or hopping.
fn windowed_topology(size: i64, advance: i64, grace: i64) -> Topology {
    let b = TopologyBuilder::new();
    let orders = b.stream(Source::topic(
        "orders",
        StringSerde,
        JsonSerde::<u64>::new(),
    ));
    let visits = b.stream(Source::topic("visits", StringSerde, StringSerde));
    let ms = |v: i64| Duration::from_millis(v as u64);
    orders
        .group_by_key()
        .cogroup(|_, amount, c: Customer| add_order(c, *amount))
        .cogroup(&visits.group_by_key(), |_, page, c| add_page(c, page))
        .windowed_by(HoppingWindows::of(ms(size), ms(advance)).grace(ms(grace)))
        .retention(Duration::from_secs(86_400)) // keep every window for the comparison
        .aggregate("customers-per-window", Customer::default);
    b.build().unwrap()
}

#[test]
fn windowed_results_equal_the_reference_with_late_records_dropped() {
    let (grace, mut late_seen) = (2_000, 0);
    for (seed, (size, advance)) in [(10_000, 10_000), (10_000, 5_000), (6_000, 2_000)]
        .into_iter()
        .enumerate()
    {
        let inputs = random_inputs(100 + seed as u64, 600, 5, 15_000);
        let driver =
            TopologyTestDriver::with_config(windowed_topology(size, advance, grace), config(1))
                .unwrap();
        pipe_all(&driver, &inputs, str::to_string);
        // The reference: a record at t belongs to every window [s, s + size) with s a multiple
        // of `advance`; it is dropped from a window closed when it arrives (s + size + grace at
        // or before the stream time, the largest time seen so far, its own included).
        let mut reference: BTreeMap<(String, i64), Customer> = BTreeMap::new();
        let mut stream_time = i64::MIN;
        for input in &inputs {
            let t = input.time();
            stream_time = stream_time.max(t);
            let first = (t - size + advance).div_euclid(advance) * advance; // weir keeps windows before 0
            for start in (first..=t).step_by(advance as usize) {
                if start + size <= t {
                    continue;
                }
                if start + size + grace <= stream_time {
                    late_seen += 1;
                    continue;
                }
                let c = reference
                    .remove(&(input.key().to_string(), start))
                    .unwrap_or_default();
                reference.insert((input.key().to_string(), start), input.fold(c));
            }
        }
        let stored: Vec<(String, i64, Customer)> =
            driver.window_entries("customers-per-window").unwrap();
        let expected: Vec<(String, i64, Customer)> =
            reference.into_iter().map(|((k, s), c)| (k, s, c)).collect();
        assert_eq!(stored, expected, "size {size} advance {advance}");
    }
    assert!(
        late_seen > 50,
        "the inputs must exercise late records: {late_seen}"
    );
}

#[test]
fn session_windows_merge_with_the_merger() {
    let b = TopologyBuilder::new();
    let orders = b.stream(Source::topic(
        "orders",
        StringSerde,
        JsonSerde::<u64>::new(),
    ));
    let visits = b.stream(Source::topic("visits", StringSerde, StringSerde));
    orders
        .group_by_key()
        .cogroup(|_, amount, c: Customer| add_order(c, *amount))
        .cogroup(&visits.group_by_key(), |_, page, c| add_page(c, page))
        .windowed_by(
            SessionWindows::with_gap(Duration::from_secs(10)).grace(Duration::from_secs(30)),
        )
        .retention(Duration::from_secs(86_400))
        .aggregate("sessions", Customer::default, |_, a, b| Customer {
            orders: a.orders + b.orders,
            spent: a.spent + b.spent,
            pages: [a.pages, b.pages].concat(),
        });
    let driver = TopologyTestDriver::new(b.build().unwrap()).unwrap();
    let inputs = [
        Input::Order("ann".into(), 5, 0),
        Input::Visit("ann".into(), "home".into(), 18_000),
        Input::Visit("ann".into(), "cart".into(), 9_000), // within the gap of both: merges them
        Input::Order("ann".into(), 7, 60_000),
    ];
    pipe_all(&driver, &inputs, str::to_string);
    let mut sessions: Vec<(String, Window, Customer)> = driver.session_entries("sessions").unwrap();
    for (_, _, c) in &mut sessions {
        c.pages.sort(); // the merger's order of the two sides is not part of the contract
    }
    let pages = |p: &[&str]| p.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(
        sessions,
        [
            (
                "ann".to_string(),
                Window::new(0, 18_000),
                Customer {
                    orders: 1,
                    spent: 5,
                    pages: pages(&["cart", "home"]),
                }
            ),
            (
                "ann".to_string(),
                Window::new(60_000, 60_000),
                Customer {
                    orders: 1,
                    spent: 7,
                    pages: vec![],
                }
            ),
        ]
    );
}

#[test]
fn sliding_windows_are_refused_with_a_clear_error() {
    let b = TopologyBuilder::new();
    let orders = b.stream(Source::topic(
        "orders",
        StringSerde,
        JsonSerde::<u64>::new(),
    ));
    orders
        .group_by_key()
        .cogroup(|_, amount, total: u64| total + amount)
        .windowed_by(SlidingWindows::of(Duration::from_secs(5)))
        .aggregate("sliding", || 0);
    let err = b.build().expect_err("sliding windows must be refused");
    assert!(err.to_string().contains("sliding"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inputs_with_different_partition_counts_are_refused() {
    let broker = MemoryBroker::new(1);
    broker.create_topic("orders", 3);
    broker.create_topic("visits", 2);
    let streams = Streams::new(
        customers_topology(false),
        Arc::new(broker),
        StreamsConfig::new("cogroup-app"),
    );
    let err = streams.run().await.expect_err("planning must fail");
    assert!(
        matches!(&err, TopologyError::NotCopartitioned { .. }),
        "unexpected error: {err}"
    );
}
