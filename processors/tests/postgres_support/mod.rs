//! Shared helpers of the PostgreSQL source tests: the servers of `scripts/test.sh`
//! (`WEIR_POSTGRES_URL`, and `WEIR_POSTGRES_SSL_URL` with TLS on), tables of their own, a
//! pipeline from a source to a memory topic, and a fake server for TLS handshakes.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod tls_server;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use weir_processors::sources::postgres::PostgresSource;
use weir_topology::connect::RawRecord;
use weir_topology::prelude::*;
use weir_topology::{BytesSerde, KvStore, TopologyError};

/// The server's URL, or `None` (the test then skips, saying why) unless `WEIR_REQUIRE_POSTGRES=1`
/// (set by `scripts/test.sh`), where a missing server fails the test.
pub fn postgres_url(test: &str) -> Option<String> {
    match std::env::var("WEIR_POSTGRES_URL") {
        Ok(url) => Some(url),
        Err(_) if std::env::var("WEIR_REQUIRE_POSTGRES").as_deref() == Ok("1") => {
            panic!("{test}: WEIR_REQUIRE_POSTGRES=1 but WEIR_POSTGRES_URL is not set")
        }
        Err(_) => {
            eprintln!(
                "skipping {test}: WEIR_POSTGRES_URL is not set (run scripts/test.sh, which installs \
                 and starts PostgreSQL, or scripts/postgres.sh start DIR)"
            );
            None
        }
    }
}

/// The server with TLS on (`WEIR_POSTGRES_SSL_URL`, from `scripts/postgres.sh start DIR ssl`)
/// and its CA certificate (`WEIR_POSTGRES_SSL_CA`, that DIR's `ca.pem`), or `None` (the test
/// then skips, saying why) unless `WEIR_REQUIRE_POSTGRES=1`.
pub fn postgres_ssl_server(test: &str) -> Option<(String, std::path::PathBuf)> {
    match (
        std::env::var("WEIR_POSTGRES_SSL_URL"),
        std::env::var("WEIR_POSTGRES_SSL_CA"),
    ) {
        (Ok(url), Ok(ca)) => Some((url, ca.into())),
        _ if std::env::var("WEIR_REQUIRE_POSTGRES").as_deref() == Ok("1") => panic!(
            "{test}: WEIR_REQUIRE_POSTGRES=1 but WEIR_POSTGRES_SSL_URL or WEIR_POSTGRES_SSL_CA \
             is not set"
        ),
        _ => {
            eprintln!(
                "skipping {test}: WEIR_POSTGRES_SSL_URL / WEIR_POSTGRES_SSL_CA are not set (run \
                 scripts/test.sh, or scripts/postgres.sh start DIR ssl and use DIR/ca.pem)"
            );
            None
        }
    }
}

/// A client of the test server, for setting tables up.
pub async fn admin(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    client
}

/// A table name no other test (or run) uses.
pub fn unique_table(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!(
        "{prefix}_{}_{}_{nanos}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    )
}

/// `url` with its password replaced.
pub fn with_password(url: &str, password: &str) -> String {
    let (scheme_user, rest) = url.split_once('@').unwrap();
    let (scheme, user_password) = scheme_user.split_at(scheme_user.find("//").unwrap() + 2);
    let user = user_password.split(':').next().unwrap();
    format!("{scheme}{user}:{password}@{rest}")
}

/// `url` with `?key=value` added.
pub fn with_param(url: &str, key: &str, value: &str) -> String {
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}{key}={value}")
}

/// A scratch directory.
pub fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(unique_table(&format!("weir-pg-{name}")));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A running application: the source, optionally through `stage`, to the memory topic `out`
/// and into the store `seen` (count per key).
pub struct Pipeline {
    pub streams: Arc<Streams>,
    pub broker: MemoryBroker,
    pub run: tokio::task::JoinHandle<weir_topology::Result<()>>,
}

/// What sits between the source and the outputs.
pub type Stage = Arc<dyn Fn(&Vec<u8>) -> weir_topology::Result<()> + Send + Sync>;

struct StageProcessor(Stage);
impl Processor<Vec<u8>, Vec<u8>, Vec<u8>, Vec<u8>> for StageProcessor {
    fn process(
        &mut self,
        record: Record<Vec<u8>, Vec<u8>>,
        ctx: &mut dyn ProcessorContext<Vec<u8>, Vec<u8>>,
    ) -> weir_topology::Result<()> {
        (self.0)(record.value())?;
        ctx.forward(record)
    }
}

/// Starts `source` into the topic `out` of a new memory broker (or `broker`), counting each
/// key in the store `seen`.
pub fn start(
    source: PostgresSource,
    config: StreamsConfig,
    broker: Option<MemoryBroker>,
    stage: Option<Stage>,
) -> Pipeline {
    let builder = TopologyBuilder::new();
    let stage = stage.unwrap_or_else(|| Arc::new(|_| Ok(())));
    let rows = builder
        .stream(Source::connector(Arc::new(source), BytesSerde, BytesSerde))
        .process_values(move || StageProcessor(stage.clone()), &[]);
    rows.to(Sink::topic("out", BytesSerde, BytesSerde));
    rows.group_by_key()
        .emit(EmitStrategy::OnEveryRecord)
        .count("seen");
    let topology = builder.build().unwrap();
    let broker = broker.unwrap_or_else(|| {
        let b = MemoryBroker::new(1);
        b.create_topic("out", 1);
        b
    });
    let streams = Arc::new(Streams::new(topology, Arc::new(broker.clone()), config));
    let running = streams.clone();
    let run = tokio::spawn(async move { running.run().await.map(|_| ()) });
    Pipeline {
        streams,
        broker,
        run,
    }
}

/// A failure injected at the `at`-th row (once).
pub fn fail_at(at: usize) -> Stage {
    let seen = Arc::new(AtomicU32::new(0));
    Arc::new(move |_| {
        if seen.fetch_add(1, Ordering::SeqCst) + 1 == at as u32 {
            return Err(TopologyError::process("stage", "injected failure"));
        }
        Ok(())
    })
}

impl Pipeline {
    /// The records of `out` so far.
    pub fn output(&self) -> Vec<RawRecord> {
        self.broker.records("out", 0)
    }

    /// The values of `out` as JSON.
    pub fn values(&self) -> Vec<serde_json::Value> {
        self.output()
            .iter()
            .map(|r| serde_json::from_slice(r.value.as_deref().unwrap()).unwrap())
            .collect()
    }

    /// Waits until `out` holds at least `n` records (panics after 60 s).
    pub async fn wait_for(&self, n: usize) {
        let start = Instant::now();
        while self.broker.len("out") < n {
            if self.run.is_finished() {
                panic!(
                    "the application stopped with {} of {n} records",
                    self.broker.len("out")
                );
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "only {} of {n} records after 60 s",
                self.broker.len("out")
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Stops the application gracefully (it commits) and returns how it ended.
    pub async fn stop(self) -> (weir_topology::Result<()>, MemoryBroker, Arc<Streams>) {
        self.streams.shutdown_handle().trigger();
        let result = self.run.await.unwrap();
        (result, self.broker, self.streams)
    }
}

/// The store `seen`: how many times each key went through.
pub fn seen(streams: &Streams) -> std::collections::BTreeMap<Vec<u8>, u64> {
    let mut all = std::collections::BTreeMap::new();
    for (_, handle) in streams.store("seen") {
        let store = handle.downcast::<KvStore<Vec<u8>, u64>>().unwrap();
        all.extend(store.lock().all().unwrap());
    }
    all
}

/// A config that commits often and polls small batches.
pub fn busy_config(app: &str) -> StreamsConfig {
    StreamsConfig::new(app)
        .commit_interval(Duration::from_millis(5))
        .poll_records(50)
}
