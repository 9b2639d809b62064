//! Topic configurations on a real Kafka-protocol broker (`WEIR_KAFKA_BROKERS`, started by
//! `scripts/test.sh`): the topics weir creates get the settings their use needs (changelogs
//! compacted, repartition topics without time-based retention, sinks what the user asked for),
//! as the broker itself and a third-party client (kafka-python's admin client) describe them;
//! an existing changelog that is not compacted is left alone and warned about; repartition
//! topics are purged up to the committed positions.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod kafka_support;

use kafka_support::{brokers_env, config as kafka_config, now_ms, repo_root};
use std::collections::BTreeMap;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use weir_processors::KafkaBroker;
use weir_topology::connect::{kafka_partition, OutRecord};
use weir_topology::persist::changelog_topic;
use weir_topology::prelude::*;
use weir_topology::TopicConfig;

const PARTITIONS: u32 = 2;

/// Counts records per value: the grouping changes the key, so the counts read a repartition
/// topic; the counts go to `out`, kept forever.
fn topology(input: &str, out: &str) -> Topology {
    let b = TopologyBuilder::new();
    b.stream(Source::topic(input, StringSerde, StringSerde).until(Until::EndOffsetsAtStart))
        .group_by(|_, colour| colour.clone())
        .count("per-colour")
        .to_stream()
        .to(Sink::topic(out, StringSerde, JsonSerde::<u64>::new()).config("retention.ms", "-1"));
    b.build().unwrap()
}

fn input_records(n: usize) -> Vec<OutRecord> {
    let colours = ["red", "green", "blue"];
    (0..n)
        .map(|i| {
            let key = format!("item-{i}");
            OutRecord {
                partition: kafka_partition(Some(key.as_bytes()), PARTITIONS),
                key: Some(key.into_bytes()),
                value: Some(colours[i % 3].as_bytes().to_vec()),
                timestamp: now_ms() - 3_600_000 + i as i64,
                headers: Vec::new(),
            }
        })
        .collect()
}

async fn described(kafka: &KafkaBroker, topic: &str) -> TopicConfig {
    kafka
        .topic_config(topic)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("{topic} does not exist"))
}

/// kafka-python's `describe_configs` of `topic`: name -> value.
fn described_by_kafka_python(topic: &str) -> BTreeMap<String, String> {
    let python = repo_root().join(".cache/broker/venv/bin/python3");
    assert!(
        python.exists(),
        "{} is missing: run scripts/broker.sh and scripts/kafka_python.sh (scripts/test.sh does)",
        python.display()
    );
    let script = r#"
import json, sys
from kafka.admin import KafkaAdminClient, ConfigResource, ConfigResourceType
admin = KafkaAdminClient(bootstrap_servers=sys.argv[1])
answer = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, sys.argv[2])])[0]
resource = answer.resources[0]
assert resource[0] == 0, resource
print(json.dumps({entry[0]: entry[1] for entry in resource[4]}))
"#;
    let out = Command::new(&python)
        .args(["-c", script, &brokers_env().unwrap(), topic])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "kafka-python describe_configs failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Collects what the application logs, to find its warnings.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Logs {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// One application's topics on the test command's broker.
struct App {
    kafka: Arc<KafkaBroker>,
    app: String,
    input: String,
    out: String,
}

impl App {
    /// Connects and writes `records` input records to a new input topic.
    async fn new(prefix: &str, records: usize) -> Self {
        let Some(brokers) = brokers_env() else {
            panic!("WEIR_KAFKA_BROKERS is not set: run the tests with scripts/test.sh, which starts a broker");
        };
        let kafka = Arc::new(KafkaBroker::connect(kafka_config(&brokers)).await.unwrap());
        let id = format!("{prefix}-{}-{}", std::process::id(), now_ms());
        let app = Self {
            kafka,
            app: id.clone(),
            input: format!("{id}-in"),
            out: format!("{id}-out"),
        };
        app.kafka
            .ensure_topic(&app.input, PARTITIONS)
            .await
            .unwrap();
        let written = input_records(records);
        app.kafka.produce(&app.input, written).await.unwrap();
        app
    }

    fn changelog(&self) -> String {
        changelog_topic(&self.app, &["per-colour".to_string()])
    }

    /// Runs the topology over the input (bounded) with sled state and changelogs.
    async fn run(&self, purge_every: Option<Duration>) {
        let dir = std::env::temp_dir().join(format!("weir-topic-configs-{}", self.app));
        let config = StreamsConfig::new(self.app.as_str())
            .state_dir(&dir)
            .unwrap()
            .changelogs(true)
            .commit_interval(Duration::from_millis(100))
            .repartition_purge_interval(purge_every);
        let streams = Streams::new(topology(&self.input, &self.out), self.kafka.clone(), config);
        tokio::time::timeout(Duration::from_secs(60), streams.run())
            .await
            .expect("the bounded run ends")
            .unwrap();
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[tokio::test(flavor = "current_thread")]
async fn weir_creates_its_topics_with_the_settings_they_need() {
    let run = App::new("cfg", 300).await;
    let (kafka, app, out) = (&run.kafka, &run.app, &run.out);
    // A changelog made by hand, not compacted: weir leaves it as it is and says so.
    let changelog = run.changelog();
    kafka.ensure_topic(&changelog, PARTITIONS).await.unwrap();

    let logs = Logs::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    run.run(Some(Duration::ZERO)).await;

    // The repartition topic: deletion without time-based retention, purged once read.
    let repartition: Vec<String> = kafka
        .topics()
        .await
        .unwrap()
        .into_iter()
        .map(|(t, _)| t)
        .filter(|t| t.starts_with(app.as_str()) && t.ends_with("-repartition"))
        .collect();
    assert_eq!(repartition.len(), 1, "{repartition:?}");
    let repartition = &repartition[0];
    let settings = described(kafka, repartition).await;
    assert_eq!(settings.get("cleanup.policy"), Some("delete"));
    assert_eq!(settings.get("retention.ms"), Some("-1"));
    let python = described_by_kafka_python(repartition);
    assert_eq!(python.get("retention.ms").map(String::as_str), Some("-1"));
    let mut purged = 0;
    for p in 0..PARTITIONS {
        let start = kafka.start_offset(repartition, p).await.unwrap();
        let end = kafka.end_offset(repartition, p).await.unwrap();
        assert!(start <= end);
        purged += start;
    }
    assert!(purged > 0, "the repartition topic was not purged");

    // The sink: what the user asked for.
    assert_eq!(described(kafka, out).await.get("retention.ms"), Some("-1"));
    let python = described_by_kafka_python(out);
    assert_eq!(python.get("retention.ms").map(String::as_str), Some("-1"));

    // The changelog made by hand keeps its settings, and the application warned about it.
    assert_eq!(
        described(kafka, &changelog).await.get("cleanup.policy"),
        Some("delete")
    );
    let logged = logs.text();
    assert!(
        logged.contains(&format!("the existing changelog topic `{changelog}`"))
            && logged.contains("cleanup.policy: wanted `compact`, the topic has `delete`"),
        "no warning about the changelog in:\n{logged}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changelog_weir_creates_is_compacted() {
    let run = App::new("cmp", 30).await;
    run.run(None).await;
    let kafka = &run.kafka;
    let changelog = run.changelog();
    assert_eq!(
        described(kafka, &changelog).await.get("cleanup.policy"),
        Some("compact")
    );
    let python = described_by_kafka_python(&changelog);
    assert_eq!(
        python.get("cleanup.policy").map(String::as_str),
        Some("compact")
    );
    // A topic that does not exist has no settings.
    let missing = format!("{}-missing", run.app);
    assert_eq!(kafka.topic_config(&missing).await.unwrap(), None);
}
