//! Property tests of the key encoding: byte order equals `Ord` over many random values, and
//! every encoded key decodes back to itself.
#![allow(clippy::unwrap_used, clippy::panic)]

use super::decoding::decode_key;
use super::encoding::encode_key;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Debug;

/// Checks that for every pair, byte order of the encodings equals `Ord`.
fn assert_order_preserved<T: Serialize + Ord + Debug>(values: &[T]) {
    let encoded: Vec<Vec<u8>> = values.iter().map(|v| encode_key(v).unwrap()).collect();
    for (a, ea) in values.iter().zip(&encoded) {
        for (b, eb) in values.iter().zip(&encoded) {
            assert_eq!(
                ea.cmp(eb),
                a.cmp(b),
                "order of {a:?} vs {b:?}: encoded {ea:?} vs {eb:?}"
            );
        }
    }
}

fn random_string(rng: &mut StdRng) -> String {
    const ALPHABET: &[char] = &['\0', '\u{1}', 'a', 'b', '\u{7f}', 'é', '\u{ff}', '😀'];
    let len = rng.gen_range(0..5);
    (0..len)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())])
        .collect()
}

fn random_i64(rng: &mut StdRng) -> i64 {
    match rng.gen_range(0..4) {
        0 => rng.gen(),
        1 => rng.gen_range(-300..300),
        2 => [i64::MIN, i64::MIN + 1, -1, 0, 1, i64::MAX - 1, i64::MAX][rng.gen_range(0..7)],
        _ => rng.gen::<i32>() as i64,
    }
}

#[test]
fn integers_keep_their_order() {
    let mut rng = StdRng::seed_from_u64(7);
    let i64s: Vec<i64> = (0..400).map(|_| random_i64(&mut rng)).collect();
    assert_order_preserved(&i64s);
    let mut u64s: Vec<u64> = (0..400).map(|_| rng.gen()).collect();
    u64s.extend([0, 1, 255, 256, u64::MAX]);
    assert_order_preserved(&u64s);
    assert_order_preserved(&(i8::MIN..=i8::MAX).collect::<Vec<_>>());
    assert_order_preserved(&(0..=u8::MAX).collect::<Vec<_>>());
    assert_order_preserved(&[i32::MIN, -70000, -1, 0, 1, 65536, i32::MAX]);
    assert_order_preserved(&[i16::MIN, -1, 0, 255, 256, i16::MAX]);
    assert_order_preserved(&[0u16, 255, 256, u16::MAX]);
    assert_order_preserved(&[0u32, 255, 256, u32::MAX]);
    assert_order_preserved(&[i128::MIN, -1, 0, i128::MAX]);
    assert_order_preserved(&[false, true]);
    assert_order_preserved(&['\0', 'a', 'é', '😀']);
}

#[test]
fn strings_keep_their_order_with_prefixes_and_escapes() {
    let mut rng = StdRng::seed_from_u64(11);
    let mut strings: Vec<String> = (0..400).map(|_| random_string(&mut rng)).collect();
    strings.extend(
        [
            "", "\0", "\0\0", "a", "a\0", "a\0\0", "a\u{1}", "ab", "a\u{ff}",
        ]
        .map(String::from),
    );
    assert_order_preserved(&strings);
}

#[test]
fn composite_keys_keep_their_order() {
    let mut rng = StdRng::seed_from_u64(13);
    let tuples: Vec<(String, i64)> = (0..300)
        .map(|_| (random_string(&mut rng), random_i64(&mut rng)))
        .collect();
    assert_order_preserved(&tuples);
    let nested: Vec<(u8, (String, bool), Option<i32>)> = (0..200)
        .map(|_| {
            let opt = rng.gen_bool(0.5).then(|| rng.gen_range(-3..3));
            (
                rng.gen_range(0..3),
                (random_string(&mut rng), rng.gen()),
                opt,
            )
        })
        .collect();
    assert_order_preserved(&nested);
    let bytes: Vec<Vec<u8>> = (0..300)
        .map(|_| {
            let len = rng.gen_range(0..4);
            (0..len)
                .map(|_| [0u8, 1, 0xFE, 0xFF][rng.gen_range(0..4)])
                .collect()
        })
        .collect();
    assert_order_preserved(&bytes);
    let strings: Vec<Vec<String>> = (0..200)
        .map(|_| {
            (0..rng.gen_range(0..3))
                .map(|_| random_string(&mut rng))
                .collect()
        })
        .collect();
    assert_order_preserved(&strings);
}

#[test]
fn floats_keep_their_total_order() {
    let floats = [
        f64::NEG_INFINITY,
        -1e10,
        -1.5,
        -0.0,
        0.0,
        1e-300,
        2.5,
        f64::INFINITY,
    ];
    let encoded: Vec<Vec<u8>> = floats.iter().map(|f| encode_key(f).unwrap()).collect();
    assert!(encoded.windows(2).all(|w| w[0] < w[1]), "{encoded:?}");
}

fn round_trip<T: Serialize + DeserializeOwned + PartialEq + Debug>(value: T) {
    let bytes = encode_key(&value).unwrap();
    let back: T = decode_key(&bytes).unwrap_or_else(|e| panic!("{value:?}: {e}"));
    assert_eq!(back, value, "round trip via {bytes:?}");
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
struct FlightKey {
    carrier: String,
    day: u16,
    delayed: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
enum Kind {
    Unit,
    Newtype(i32),
    Tuple(String, u8),
    Struct { a: i64, b: Vec<u8> },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Unit;

#[test]
fn primitives_round_trip() {
    let mut rng = StdRng::seed_from_u64(3);
    for _ in 0..200 {
        round_trip(rng.gen::<i64>());
        round_trip(rng.gen::<u64>());
        round_trip(rng.gen::<i8>());
        round_trip(rng.gen::<u16>());
        round_trip(rng.gen::<i32>());
        round_trip(rng.gen::<i128>());
        round_trip(rng.gen::<f64>() - 0.5);
        round_trip(rng.gen::<char>());
    }
    for v in [i64::MIN, -1, 0, i64::MAX] {
        round_trip(v);
    }
    round_trip(true);
    round_trip(false);
    round_trip(-2.5f32);
    round_trip(());
    round_trip(Unit);
}

#[test]
fn strings_bytes_and_collections_round_trip() {
    for s in ["", "\0", "a\0b", "\0\0\u{ff}", "é😀"] {
        round_trip(s.to_string());
        round_trip(s.as_bytes().to_vec());
    }
    round_trip(vec![0u8, 0xFF, 0, 0]);
    round_trip(Some("x".to_string()));
    round_trip(None::<String>);
    round_trip(vec![vec![1i64, -2], vec![]]);
    round_trip(BTreeMap::from([
        ("a".to_string(), 1u8),
        ("".to_string(), 2),
    ]));
}

#[test]
fn tuples_structs_and_enums_round_trip() {
    round_trip(("flight".to_string(), -7i64));
    round_trip((1u8, ("".to_string(), true), Some(-3i32)));
    round_trip(FlightKey {
        carrier: "AA\0".into(),
        day: 300,
        delayed: true,
    });
    for k in [
        Kind::Unit,
        Kind::Newtype(-1),
        Kind::Tuple("t".into(), 9),
        Kind::Struct { a: -5, b: vec![0] },
    ] {
        round_trip(k);
    }
}

#[test]
fn enum_and_struct_order_is_preserved() {
    let kinds = [
        Kind::Unit,
        Kind::Newtype(-1),
        Kind::Newtype(2),
        Kind::Tuple("".into(), 1),
        Kind::Tuple("a".into(), 0),
        Kind::Struct { a: 0, b: vec![] },
    ];
    for a in &kinds {
        for b in &kinds {
            let (ea, eb) = (encode_key(a).unwrap(), encode_key(b).unwrap());
            assert_eq!(ea.cmp(&eb), a.cmp(b), "{a:?} vs {b:?}");
        }
    }
}
