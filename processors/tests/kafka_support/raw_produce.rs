//! A Kafka Produce request written by hand (RecordBatch v2, Produce v3), for records that no
//! client library will send: timestamps outside chrono's range (rskafka takes a `DateTime`).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// One record of a hand-made batch: key, value, and its raw timestamp in ms.
pub struct RawOut {
    pub key: Vec<u8>,
    pub value: Vec<u8>,
    pub timestamp: i64,
}

fn varint(out: &mut Vec<u8>, v: i64) {
    let mut z = ((v << 1) ^ (v >> 63)) as u64; // zigzag
    loop {
        let byte = (z & 0x7f) as u8;
        z >>= 7;
        if z == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// A RecordBatch v2 of `records`, offsets from 0, timestamps as given (first + deltas).
pub fn record_batch(records: &[RawOut]) -> Vec<u8> {
    let first = records[0].timestamp;
    let max = records.iter().map(|r| r.timestamp).max().unwrap();
    let mut body = Vec::new(); // from `attributes` on: what the CRC covers
    body.extend(0i16.to_be_bytes()); // attributes: no compression, create time
    body.extend((records.len() as i32 - 1).to_be_bytes()); // last offset delta
    body.extend(first.to_be_bytes());
    body.extend(max.to_be_bytes());
    body.extend((-1i64).to_be_bytes()); // producer id
    body.extend((-1i16).to_be_bytes()); // producer epoch
    body.extend((-1i32).to_be_bytes()); // base sequence
    body.extend((records.len() as i32).to_be_bytes());
    for (i, r) in records.iter().enumerate() {
        let mut rec = vec![0u8]; // attributes
        varint(&mut rec, r.timestamp.wrapping_sub(first));
        varint(&mut rec, i as i64);
        varint(&mut rec, r.key.len() as i64);
        rec.extend(&r.key);
        varint(&mut rec, r.value.len() as i64);
        rec.extend(&r.value);
        varint(&mut rec, 0); // headers
        varint(&mut body, rec.len() as i64);
        body.extend(rec);
    }
    let mut batch = Vec::new();
    batch.extend(0i64.to_be_bytes()); // base offset
    batch.extend((4 + 1 + 4 + body.len() as i32).to_be_bytes()); // batch length
    batch.extend((-1i32).to_be_bytes()); // partition leader epoch
    batch.push(2); // magic
    batch.extend(crc32c::crc32c(&body).to_be_bytes());
    batch.extend(body);
    batch
}

fn string(out: &mut Vec<u8>, s: &str) {
    out.extend((s.len() as i16).to_be_bytes());
    out.extend(s.as_bytes());
}

/// Sends one batch of `records` to `topic`/`partition` on the broker at `addr` (which must lead
/// the partition) and checks the answer's error code.
pub async fn produce_raw(addr: &str, topic: &str, partition: i32, records: &[RawOut]) {
    let batch = record_batch(records);
    let mut req = Vec::new();
    req.extend(0i16.to_be_bytes()); // api key: Produce
    req.extend(3i16.to_be_bytes()); // version 3
    req.extend(7i32.to_be_bytes()); // correlation id
    string(&mut req, "weir-raw-produce");
    req.extend((-1i16).to_be_bytes()); // transactional id: null
    req.extend((-1i16).to_be_bytes()); // acks: all
    req.extend(10_000i32.to_be_bytes()); // timeout
    req.extend(1i32.to_be_bytes()); // one topic
    string(&mut req, topic);
    req.extend(1i32.to_be_bytes()); // one partition
    req.extend(partition.to_be_bytes());
    req.extend((batch.len() as i32).to_be_bytes());
    req.extend(batch);
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(&(req.len() as i32).to_be_bytes())
        .await
        .unwrap();
    stream.write_all(&req).await.unwrap();
    let len = stream.read_i32().await.unwrap();
    let mut resp = vec![0u8; len as usize];
    stream.read_exact(&mut resp).await.unwrap();
    // correlation id, topics(1), name, partitions(1), partition, error code
    let name_len = i16::from_be_bytes([resp[8], resp[9]]) as usize;
    let at = 10 + name_len + 4 + 4;
    let code = i16::from_be_bytes([resp[at], resp[at + 1]]);
    assert_eq!(code, 0, "produce answered error code {code}");
}
