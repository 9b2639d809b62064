//! The sink's compression codecs against the real broker: records written with each codec read
//! back identical (keys, values, headers, timestamps). Skipped when `WEIR_KAFKA_BROKERS` is unset.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod kafka_support;

use kafka_support::*;
use weir_processors::{KafkaBroker, SinkCompression};
use weir_topology::{connect::OutRecord, Broker};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_codec_round_trips() {
    if !kafka_available("kafka_compression") {
        return;
    }
    let addr = brokers_env().unwrap();
    let tag = now_ms();
    for codec in [
        SinkCompression::None,
        SinkCompression::Gzip,
        SinkCompression::Lz4,
        SinkCompression::Snappy,
        SinkCompression::Zstd,
    ] {
        let b = KafkaBroker::connect(config(&addr).compression(codec))
            .await
            .unwrap();
        let topic = format!("codec-{codec:?}-{tag}").to_lowercase();
        b.ensure_topic(&topic, 2).await.unwrap();
        // Repetitive values: compressible, and large enough to span several batches.
        let pairs: Vec<(String, i64)> = (0..3_000)
            .map(|i| (format!("key-{}", i % 11), i * 1_000))
            .collect();
        let mut sent: Vec<OutRecord> = keyed(&pairs, 2);
        for (i, r) in sent.iter_mut().enumerate() {
            r.headers.push(("n".into(), i.to_string().into_bytes()));
        }
        b.produce(&topic, sent.clone()).await.unwrap();
        let mut got: Vec<OutRecord> = read_all(&b, &topic)
            .await
            .into_iter()
            .map(|(p, r)| OutRecord {
                partition: p,
                key: r.key,
                value: r.value.as_deref().map(<[u8]>::to_vec),
                timestamp: r.timestamp,
                headers: r.headers,
            })
            .collect();
        let order = |r: &OutRecord| {
            let n = &r.headers.iter().find(|(k, _)| k == "n").unwrap().1;
            String::from_utf8(n.clone())
                .unwrap()
                .parse::<usize>()
                .unwrap()
        };
        got.sort_by_key(order);
        // rskafka keeps a record's headers in a map: they come back sorted by name.
        for r in sent.iter_mut() {
            r.headers.sort();
        }
        assert_eq!(got.len(), sent.len(), "{codec:?}");
        let differ = got.iter().zip(&sent).filter(|(a, b)| a != b).count();
        assert_eq!(
            differ,
            0,
            "{codec:?}: first: {:?} vs {:?}",
            got.first(),
            sent.first()
        );
    }
}
