//! Kafka's default partitioner: murmur2 of the key, as the Java client computes it, so weir
//! places keys on the same partitions as every other Kafka client.

/// Kafka's default partitioner for keyed records: murmur2 of the key bytes, made positive,
/// modulo the partition count. Keyless records go to partition 0 here (sinks spread them; see
/// `StickyPartition`).
pub fn kafka_partition(key: Option<&[u8]>, partitions: u32) -> u32 {
    match key {
        Some(k) if partitions > 0 => ((murmur2(k) & 0x7fff_ffff) as u32) % partitions,
        _ => 0,
    }
}

/// The 32-bit murmur2 hash as Kafka's Java client computes it (seed 0x9747b28c).
pub fn murmur2(data: &[u8]) -> i32 {
    const M: u32 = 0x5bd1_e995;
    const R: u32 = 24;
    let len = data.len();
    let mut h: u32 = 0x9747_b28c ^ (len as u32);
    let mut chunks = data.chunks_exact(4);
    for c in &mut chunks {
        let mut k = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    let rest = chunks.remainder();
    if rest.len() >= 3 {
        h ^= (rest[2] as u32) << 16;
    }
    if rest.len() >= 2 {
        h ^= (rest[1] as u32) << 8;
    }
    if !rest.is_empty() {
        h ^= rest[0] as u32;
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn murmur2_matches_kafka_reference_values() {
        // Reference values from Kafka's own UtilsTest for Utils.murmur2.
        assert_eq!(murmur2(b"21"), -973932308);
        assert_eq!(murmur2(b"foobar"), -790332482);
        assert_eq!(murmur2(b"a-little-bit-long-string"), -985981536);
        assert_eq!(murmur2(b"a-little-bit-longer-string"), -1486304829);
        assert_eq!(
            murmur2(b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8"),
            -58897971
        );
        assert_eq!(murmur2(b"abc"), 479470107);
    }

    #[test]
    fn partitions_are_in_range() {
        for k in 0..100u32 {
            let key = k.to_string();
            assert!(kafka_partition(Some(key.as_bytes()), 7) < 7);
        }
        assert_eq!(kafka_partition(None, 7), 0);
    }
}
