//! The `http-ingest` case: `--clients` concurrent HTTP clients (keep-alive connections, plain
//! HTTP/1.1 over TCP) each post `--requests` batches of `--batch` JSON records to the REST
//! proxy's produce API, and each waits for its answer before the next post. Records/s over the
//! whole run and the p50/p99 request latency (post to complete answer).
//!
//! `--mode topology` (default): an `HttpSource` read by a topology (source, `map_values`,
//! topic sink) on the in-memory broker, committing every `--commit-ms`; a request
//! is answered once the commit covering its records is durable, so its latency includes up to
//! one commit interval. `--mode forward`: the stand-alone `HttpForwarder` in front of the
//! in-memory broker (answered once the broker stored the records). Every answer must be 200
//! and every record must reach the output.

use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use weir::processors::sources::http::{HttpForwarder, HttpSource, HttpSourceConfig, JSON_V2};
use weir::topology::prelude::*;
use weir::topology::{Result, TopologyError};

/// The case's settings.
#[derive(clap::Args)]
pub struct Options {
    /// Concurrent clients.
    #[arg(long, default_value_t = 50)]
    pub clients: usize,
    /// Records per request.
    #[arg(long, default_value_t = 100)]
    pub batch: usize,
    /// Requests per client.
    #[arg(long, default_value_t = 100)]
    pub requests: usize,
    /// `topology` (an HttpSource read by a topology) or `forward` (HttpForwarder to a broker).
    #[arg(long, default_value = "topology")]
    pub mode: String,
    /// The topology's commit interval, ms (`--mode topology`).
    #[arg(long, default_value_t = 20)]
    pub commit_ms: u64,
    /// Partitions of the ingest topic.
    #[arg(long, default_value_t = 2)]
    pub partitions: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Reading {
    sensor: String,
    celsius: f64,
    seq: u64,
}

/// Runs the case; returns its BENCH line.
pub async fn run(o: &Options) -> Result<String> {
    let broker = MemoryBroker::new(o.partitions);
    broker.create_topic("readings", o.partitions);
    broker.create_topic("readings-out", o.partitions);
    let config = HttpSourceConfig::new()
        .port(0)
        .topic("readings", o.partitions)
        .max_in_flight(o.clients.max(1) * 2);
    let (addr, stop): (SocketAddr, Stopper) = match o.mode.as_str() {
        "topology" => start_topology(config, &broker, o.commit_ms)?,
        "forward" => {
            let proxy = HttpForwarder::start(config, Arc::new(broker.clone()))?;
            (
                proxy.local_addr(),
                Box::new(move || Box::pin(async move { proxy.stop().await })),
            )
        }
        other => {
            return Err(TopologyError::config(
                "mode",
                format!("{other:?}: topology or forward"),
            ))
        }
    };
    let started = Instant::now();
    let clients: Vec<_> = (0..o.clients)
        .map(|c| tokio::spawn(client(addr, c, o.batch, o.requests)))
        .collect();
    let mut latencies = Vec::with_capacity(o.clients * o.requests);
    for c in clients {
        let mine = c
            .await
            .map_err(|e| TopologyError::process("client", e.to_string()))??;
        latencies.extend(mine);
    }
    let seconds = started.elapsed().as_secs_f64();
    stop().await;
    let records = (o.clients * o.requests * o.batch) as u64;
    let output_topic = if o.mode == "topology" {
        "readings-out"
    } else {
        "readings"
    };
    let stored = broker.len(output_topic) as u64;
    if stored != records {
        return Err(TopologyError::process(
            "http-ingest",
            format!("{stored} records reached {output_topic}, {records} were acknowledged"),
        ));
    }
    if latencies.is_empty() {
        return Err(TopologyError::config(
            "clients",
            "no requests: give --clients and --requests above 0",
        ));
    }
    latencies.sort_unstable();
    let pct =
        |p: f64| latencies[((latencies.len() - 1) as f64 * p).round() as usize].as_secs_f64() * 1e3;
    Ok(format!(
        "BENCH case=http-ingest mode={} clients={} batch={} requests={} records={records} \
         seconds={seconds:.3} records_per_sec={:.0} p50_ms={:.2} p99_ms={:.2} max_ms={:.2}{}",
        o.mode,
        o.clients,
        o.batch,
        latencies.len(),
        records as f64 / seconds,
        pct(0.50),
        pct(0.99),
        pct(1.0),
        if o.mode == "topology" {
            format!(" commit_ms={}", o.commit_ms)
        } else {
            String::new()
        },
    ))
}

type Stopper =
    Box<dyn FnOnce() -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> + Send>;

/// An HttpSource and a topology reading it, running in the background.
fn start_topology(
    config: HttpSourceConfig,
    broker: &MemoryBroker,
    commit_ms: u64,
) -> Result<(SocketAddr, Stopper)> {
    let http = HttpSource::start(config)?;
    let builder = TopologyBuilder::new();
    builder
        .stream(Source::connector(
            http.topic("readings")?,
            JsonSerde::<String>::new(),
            JsonSerde::<Reading>::new(),
        ))
        .map_values(|r| Reading {
            celsius: r.celsius * 1.8 + 32.0,
            ..r
        })
        .to(Sink::topic(
            "readings-out",
            JsonSerde::<String>::new(),
            JsonSerde::<Reading>::new(),
        ));
    let config =
        StreamsConfig::new("http-ingest").commit_interval(Duration::from_millis(commit_ms));
    let streams = Arc::new(Streams::new(
        builder.build()?,
        Arc::new(broker.clone()),
        config,
    ));
    let running = {
        let streams = streams.clone();
        tokio::spawn(async move { streams.run().await })
    };
    let addr = http.local_addr();
    let stop: Stopper = Box::new(move || {
        Box::pin(async move {
            streams.shutdown_handle().trigger();
            let _ = running.await;
            http.stop().await;
        })
    });
    Ok((addr, stop))
}

/// One client: `requests` posts of `batch` records on one keep-alive connection; the latency
/// of each.
async fn client(
    addr: SocketAddr,
    id: usize,
    batch: usize,
    requests: usize,
) -> Result<Vec<Duration>> {
    let io = |e: std::io::Error| TopologyError::connector("http-ingest client", e);
    let mut stream = TcpStream::connect(addr).await.map_err(io)?;
    stream.set_nodelay(true).map_err(io)?;
    let mut latencies = Vec::with_capacity(requests);
    let mut buffer = Vec::with_capacity(16 * 1024);
    for r in 0..requests {
        let records: Vec<serde_json::Value> = (0..batch)
            .map(|i| {
                let sensor = format!("sensor-{}", (id * 7 + i) % 500);
                let seq = (r * batch + i) as u64;
                serde_json::json!({"key": sensor, "value": Reading { sensor: sensor.clone(), celsius: 20.0 + (seq % 15) as f64, seq }})
            })
            .collect();
        let body = serde_json::json!({ "records": records }).to_string();
        let request = format!(
            "POST /topics/readings HTTP/1.1\r\nHost: {addr}\r\nContent-Type: {JSON_V2}\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        let sent = Instant::now();
        stream.write_all(request.as_bytes()).await.map_err(io)?;
        let status = read_answer(&mut stream, &mut buffer).await?;
        latencies.push(sent.elapsed());
        if status != 200 {
            return Err(TopologyError::process(
                "http-ingest client",
                format!("answer {status}: {}", String::from_utf8_lossy(&buffer)),
            ));
        }
    }
    Ok(latencies)
}

/// Reads one answer (headers, then `Content-Length` bytes of body into `buffer`); its status.
async fn read_answer(stream: &mut TcpStream, buffer: &mut Vec<u8>) -> Result<u16> {
    let bad = |why: &str| TopologyError::process("http-ingest client", why.to_string());
    buffer.clear();
    let mut chunk = [0u8; 8192];
    let header_end = loop {
        if let Some(i) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = stream
            .read(&mut chunk)
            .await
            .map_err(|e| TopologyError::connector("http-ingest client", e))?;
        if n == 0 {
            return Err(bad("the server closed the connection"));
        }
        buffer.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buffer[..header_end]).to_ascii_lowercase();
    let status: u16 = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad("no status"))?;
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| bad("no content-length"))?;
    while buffer.len() < header_end + length {
        let n = stream
            .read(&mut chunk)
            .await
            .map_err(|e| TopologyError::connector("http-ingest client", e))?;
        if n == 0 {
            return Err(bad("the answer was cut short"));
        }
        buffer.extend_from_slice(&chunk[..n]);
    }
    buffer.drain(..header_end);
    Ok(status)
}
