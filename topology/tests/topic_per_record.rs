//! `Sink::topic_per_record` in the test driver: records reach the topics they name, and a name
//! Kafka would refuse stops the task with an error naming it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use weir_topology::prelude::*;
use weir_topology::testing::TopologyTestDriver;

fn routed() -> TopologyTestDriver {
    let builder = TopologyBuilder::new();
    builder
        .stream(Source::topic("events", StringSerde, StringSerde))
        .to(Sink::topic_per_record(
            |_, kind| format!("events.{kind}"),
            StringSerde,
            StringSerde,
        ));
    TopologyTestDriver::new(builder.build().unwrap()).unwrap()
}

#[test]
fn each_record_reaches_the_topic_it_names_in_order() {
    let driver = routed();
    let events = driver.input_topic("events", StringSerde, StringSerde);
    for (i, kind) in ["click", "view", "click", "buy", "view"].iter().enumerate() {
        events
            .pipe(format!("e{i}"), kind.to_string(), i as i64)
            .unwrap();
    }
    let read = |topic: &str| -> Vec<String> {
        let out = driver.output_topic(topic, StringSerde, StringSerde);
        out.read_key_values()
            .unwrap()
            .into_iter()
            .map(|(k, _)| k)
            .collect()
    };
    assert_eq!(read("events.click"), ["e0", "e2"]);
    assert_eq!(read("events.view"), ["e1", "e4"]);
    assert_eq!(read("events.buy"), ["e3"]);
    assert!(driver.topology().describe().contains("chosen per record"));
}

#[test]
fn a_topic_name_kafka_refuses_is_an_error_naming_it() {
    let driver = routed();
    let events = driver.input_topic("events", StringSerde, StringSerde);
    let err = events
        .pipe("e0".into(), "no such/kind".into(), 0)
        .unwrap_err();
    assert!(err.to_string().contains("events.no such/kind"), "{err}");
}
