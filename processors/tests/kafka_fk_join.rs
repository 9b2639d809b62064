//! A bounded run with a foreign-key table join ends, on the in-memory broker and on a real
//! Kafka-protocol broker (`WEIR_KAFKA_BROKERS`, started by `scripts/test.sh`; without it only
//! the in-memory part runs): its subscription and response topics run in a cycle between the
//! two tables' tasks, and close once the cycle is quiet. The joined table it leaves is compared
//! with a reference computed here from the inputs' last values.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod kafka_support;

use kafka_support::{brokers_env, config as kafka_config, now_ms};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use weir_processors::KafkaBroker;
use weir_topology::connect::{kafka_partition, OutRecord};
use weir_topology::prelude::*;
use weir_topology::{StartPosition, Until};

type Order = (String, u32); // (customer, amount)

/// Updates of orders (key, Some((customer, amount)) or a deletion) and customers (key, name or
/// a deletion), in the order they are written.
type Updates = Vec<(bool, String, Option<Vec<u8>>)>;

fn updates(seed: u64, n: usize) -> Updates {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..n)
        .map(|_| {
            if rng.gen_bool(0.6) {
                let key = format!("o{}", rng.gen_range(0..20));
                let order: Option<Order> = rng
                    .gen_bool(0.85)
                    .then(|| (format!("c{}", rng.gen_range(0..6)), rng.gen_range(1..100)));
                (true, key, order.map(|o| serde_json::to_vec(&o).unwrap()))
            } else {
                let key = format!("c{}", rng.gen_range(0..6));
                let name = rng
                    .gen_bool(0.8)
                    .then(|| format!("n{}", rng.gen_range(0..50)));
                (false, key, name.map(String::into_bytes))
            }
        })
        .collect()
}

/// The inner foreign-key join of the last orders with the last customers.
fn reference(all: &Updates) -> BTreeMap<String, String> {
    let (mut orders, mut customers) = (BTreeMap::new(), BTreeMap::new());
    for (is_order, key, value) in all {
        let table = if *is_order {
            &mut orders
        } else {
            &mut customers
        };
        match value {
            Some(v) => drop(table.insert(key.clone(), v.clone())),
            None => drop(table.remove(key)),
        }
    }
    let mut joined = BTreeMap::new();
    for (key, order) in &orders {
        let (customer, amount): Order = serde_json::from_slice(order).unwrap();
        if let Some(name) = customers.get(&customer) {
            let name = String::from_utf8(name.clone()).unwrap();
            joined.insert(key.clone(), format!("{name}:{amount}"));
        }
    }
    joined
}

fn topology(orders: &str, customers: &str) -> Topology {
    let bounded = |topic: &str| {
        Source::topic(topic, StringSerde, StringSerde)
            .start_from(StartPosition::Earliest)
            .until(Until::EndOffsetsAtStart)
    };
    let b = TopologyBuilder::new();
    let orders = b
        .table(bounded(orders), "orders-raw")
        .map_values(|v| serde_json::from_str::<Order>(&v).unwrap_or_default())
        .materialized("orders");
    let customers = b.table(bounded(customers), "customers");
    orders
        .join_on(
            &customers,
            |(c, _)| c.clone(),
            |(_, amount), name| format!("{name}:{amount}"),
        )
        .materialized("joined");
    b.build().unwrap()
}

/// Writes `all` to `orders` (3 partitions) and `customers` (2), runs the application to its
/// end (within a minute) and returns its joined table.
async fn run(b: Arc<dyn Broker>, app: &str, all: &Updates) -> BTreeMap<String, String> {
    let (orders, customers) = (format!("{app}-orders"), format!("{app}-customers"));
    b.ensure_topic(&orders, 3).await.unwrap();
    b.ensure_topic(&customers, 2).await.unwrap();
    for (i, (is_order, key, value)) in all.iter().enumerate() {
        let (topic, partitions) = if *is_order {
            (&orders, 3)
        } else {
            (&customers, 2)
        };
        let record = OutRecord {
            partition: kafka_partition(Some(key.as_bytes()), partitions),
            key: Some(key.clone().into_bytes()),
            value: value.clone(),
            timestamp: 1_000 + i as i64,
            headers: vec![],
        };
        b.produce(topic, vec![record]).await.unwrap();
    }
    let config = StreamsConfig::new(app)
        .commit_interval(Duration::from_millis(200))
        .poll_records(20);
    let streams = Streams::new(topology(&orders, &customers), b, config);
    tokio::time::timeout(Duration::from_secs(60), streams.run())
        .await
        .expect("a bounded run with a foreign-key join returns")
        .unwrap();
    let mut joined = BTreeMap::new();
    for (_, h) in streams.store("joined") {
        let store = h.downcast::<KvStore<String, String>>().unwrap();
        joined.extend(store.lock().all().unwrap());
    }
    joined
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bounded_foreign_key_join_ends_with_the_joined_table() {
    let all = updates(3, 300);
    let expected = reference(&all);
    assert!(expected.len() > 3, "a test that joins: {expected:?}");
    let memory = run(Arc::new(MemoryBroker::new(1)), "fk-memory", &all).await;
    assert_eq!(memory, expected, "in memory");
    let Some(addr) = brokers_env() else {
        eprintln!("WEIR_KAFKA_BROKERS is not set, the Kafka part is skipped");
        return;
    };
    let kafka = KafkaBroker::connect(kafka_config(&addr)).await.unwrap();
    let app = format!("fk-kafka-{}-{}", std::process::id(), now_ms());
    let joined = run(Arc::new(kafka), &app, &all).await;
    assert_eq!(joined, expected, "on Kafka");
}
