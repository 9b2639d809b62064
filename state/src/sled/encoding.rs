//! An order-preserving key encoding: a serde `Serializer` whose output sorts, byte by byte,
//! exactly as the encoded values sort by `Ord`.
//!
//! The format (decoded by [`super::decoding`]) is not self-describing; like bincode it is driven
//! by the type being decoded:
//!
//! | type | bytes |
//! | --- | --- |
//! | `bool` | `0x00` / `0x01` |
//! | `u8`..`u128` | big-endian |
//! | `i8`..`i128` | big-endian with the sign bit flipped (so negatives sort first) |
//! | `f32`, `f64` | IEEE bits, all bits flipped when negative, else the sign bit flipped |
//! | `char` | its scalar value as a big-endian `u32` |
//! | `str`, bytes | every `0x00` escaped as `0x00 0xFF`, then the terminator `0x00 0x00` |
//! | `Option` | `0x00` for `None`, `0x01` then the value for `Some` |
//! | sequences, maps | `0x01` before every element (or key and value), `0x00` at the end |
//! | tuples, structs | their fields, concatenated |
//! | enums | the variant index as a big-endian `u32`, then the variant's fields |
//! | `()`, unit structs | nothing |
//!
//! The terminators make every encoding prefix-free and make a prefix sort before its extensions
//! (`"ab" < "abc"`, `[1] < [1, 0]`), so for strings, integers, bools, `Vec`s, `Option`s, tuples and
//! structs or enums with derived `Ord`, byte order equals `Ord`.

use serde::ser::{self, Serialize};
use std::fmt;
use std::hash::Hasher;

/// Why a key could not be encoded or decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyCodecError(pub String);

impl fmt::Display for KeyCodecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for KeyCodecError {}

impl ser::Error for KeyCodecError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Self(msg.to_string())
    }
}

/// Appends the order-preserving encoding of `key` to `out`.
pub fn encode_key_into<K: Serialize + ?Sized>(
    key: &K,
    out: &mut Vec<u8>,
) -> Result<(), KeyCodecError> {
    key.serialize(&mut KeySerializer { out })
}

/// Feeds `hasher` what the encoding of `key` is made of, without building it: keys with equal
/// encodings (so equal keys, for the types whose encoding follows `Ord`) hash the same.
pub fn hash_key<K: Serialize + ?Sized, H: Hasher>(
    key: &K,
    hasher: &mut H,
) -> Result<(), KeyCodecError> {
    key.serialize(&mut KeySerializer {
        out: &mut HashOut(hasher),
    })
}

/// Where an encoding goes: a byte buffer, or a hasher.
trait KeyOut {
    fn push(&mut self, byte: u8);
    fn extend_from_slice(&mut self, bytes: &[u8]);
    /// A string or byte string, escaped and terminated.
    fn escaped(&mut self, bytes: &[u8]);
}

impl KeyOut for Vec<u8> {
    fn push(&mut self, byte: u8) {
        Vec::push(self, byte);
    }
    fn extend_from_slice(&mut self, bytes: &[u8]) {
        Vec::extend_from_slice(self, bytes);
    }
    fn escaped(&mut self, bytes: &[u8]) {
        escape_into(bytes, self);
    }
}

/// A hasher fed the pieces of an encoding.
struct HashOut<'a, H>(&'a mut H);

impl<H: Hasher> KeyOut for HashOut<'_, H> {
    fn push(&mut self, byte: u8) {
        self.0.write_u8(byte);
    }
    fn extend_from_slice(&mut self, bytes: &[u8]) {
        self.0.write(bytes);
    }
    /// The length, then the bytes: prefix-free without escaping them one by one, so two keys
    /// of one type feed the same bytes only when their encodings are equal.
    fn escaped(&mut self, bytes: &[u8]) {
        self.0.write_usize(bytes.len());
        self.0.write(bytes);
    }
}

/// The order-preserving encoding of `key`.
pub fn encode_key<K: Serialize + ?Sized>(key: &K) -> Result<Vec<u8>, KeyCodecError> {
    let mut out = Vec::new();
    encode_key_into(key, &mut out)?;
    Ok(out)
}

/// Encodes a timestamp (or any `i64`) as 8 big-endian bytes with the sign bit flipped.
pub fn encode_i64(t: i64) -> [u8; 8] {
    ((t as u64) ^ (1 << 63)).to_be_bytes()
}

/// Appends escaped bytes and the `0x00 0x00` terminator.
fn escape_into(bytes: &[u8], out: &mut Vec<u8>) {
    for &b in bytes {
        out.push(b);
        if b == 0 {
            out.push(0xFF);
        }
    }
    out.extend_from_slice(&[0, 0]);
}

/// The serializer: appends to a byte buffer (or feeds a hasher).
struct KeySerializer<'a, O: ?Sized> {
    out: &'a mut O,
}

macro_rules! signed {
    ($name:ident, $t:ty, $u:ty) => {
        fn $name(self, v: $t) -> Result<(), KeyCodecError> {
            let flipped = (v as $u) ^ (1 << (<$u>::BITS - 1));
            self.out.extend_from_slice(&flipped.to_be_bytes());
            Ok(())
        }
    };
}

macro_rules! unsigned {
    ($name:ident, $t:ty) => {
        fn $name(self, v: $t) -> Result<(), KeyCodecError> {
            self.out.extend_from_slice(&v.to_be_bytes());
            Ok(())
        }
    };
}

impl<'a, 'b, O: KeyOut + ?Sized> ser::Serializer for &'a mut KeySerializer<'b, O> {
    type Ok = ();
    type Error = KeyCodecError;
    type SerializeSeq = Self;
    type SerializeTuple = Self;
    type SerializeTupleStruct = Self;
    type SerializeTupleVariant = Self;
    type SerializeMap = Self;
    type SerializeStruct = Self;
    type SerializeStructVariant = Self;

    fn serialize_bool(self, v: bool) -> Result<(), KeyCodecError> {
        self.out.push(u8::from(v));
        Ok(())
    }

    signed!(serialize_i8, i8, u8);
    signed!(serialize_i16, i16, u16);
    signed!(serialize_i32, i32, u32);
    signed!(serialize_i64, i64, u64);
    signed!(serialize_i128, i128, u128);
    unsigned!(serialize_u8, u8);
    unsigned!(serialize_u16, u16);
    unsigned!(serialize_u32, u32);
    unsigned!(serialize_u64, u64);
    unsigned!(serialize_u128, u128);

    fn serialize_f32(self, v: f32) -> Result<(), KeyCodecError> {
        let bits = v.to_bits();
        let bits = if bits >> 31 == 1 {
            !bits
        } else {
            bits ^ (1 << 31)
        };
        self.out.extend_from_slice(&bits.to_be_bytes());
        Ok(())
    }

    fn serialize_f64(self, v: f64) -> Result<(), KeyCodecError> {
        let bits = v.to_bits();
        let bits = if bits >> 63 == 1 {
            !bits
        } else {
            bits ^ (1 << 63)
        };
        self.out.extend_from_slice(&bits.to_be_bytes());
        Ok(())
    }

    fn serialize_char(self, v: char) -> Result<(), KeyCodecError> {
        self.serialize_u32(u32::from(v))
    }

    fn serialize_str(self, v: &str) -> Result<(), KeyCodecError> {
        self.out.escaped(v.as_bytes());
        Ok(())
    }

    fn serialize_bytes(self, v: &[u8]) -> Result<(), KeyCodecError> {
        self.out.escaped(v);
        Ok(())
    }

    fn serialize_none(self) -> Result<(), KeyCodecError> {
        self.out.push(0);
        Ok(())
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), KeyCodecError> {
        self.out.push(1);
        value.serialize(self)
    }

    fn serialize_unit(self) -> Result<(), KeyCodecError> {
        Ok(())
    }

    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), KeyCodecError> {
        Ok(())
    }

    fn serialize_unit_variant(
        self,
        _name: &'static str,
        variant_index: u32,
        _variant: &'static str,
    ) -> Result<(), KeyCodecError> {
        self.serialize_u32(variant_index)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<(), KeyCodecError> {
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        variant_index: u32,
        _variant: &'static str,
        value: &T,
    ) -> Result<(), KeyCodecError> {
        self.out.extend_from_slice(&variant_index.to_be_bytes());
        value.serialize(self)
    }

    fn serialize_seq(self, _len: Option<usize>) -> Result<Self, KeyCodecError> {
        Ok(self)
    }

    fn serialize_tuple(self, _len: usize) -> Result<Self, KeyCodecError> {
        Ok(self)
    }

    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self, KeyCodecError> {
        Ok(self)
    }

    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        variant_index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self, KeyCodecError> {
        self.out.extend_from_slice(&variant_index.to_be_bytes());
        Ok(self)
    }

    fn serialize_map(self, _len: Option<usize>) -> Result<Self, KeyCodecError> {
        Ok(self)
    }

    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<Self, KeyCodecError> {
        Ok(self)
    }

    fn serialize_struct_variant(
        self,
        _name: &'static str,
        variant_index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self, KeyCodecError> {
        self.out.extend_from_slice(&variant_index.to_be_bytes());
        Ok(self)
    }

    fn is_human_readable(&self) -> bool {
        false
    }
}

impl<O: KeyOut + ?Sized> ser::SerializeSeq for &mut KeySerializer<'_, O> {
    type Ok = ();
    type Error = KeyCodecError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Self::Error> {
        self.out.push(1);
        value.serialize(&mut **self)
    }
    fn end(self) -> Result<(), Self::Error> {
        self.out.push(0);
        Ok(())
    }
}

impl<O: KeyOut + ?Sized> ser::SerializeMap for &mut KeySerializer<'_, O> {
    type Ok = ();
    type Error = KeyCodecError;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Self::Error> {
        self.out.push(1);
        key.serialize(&mut **self)
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Self::Error> {
        value.serialize(&mut **self)
    }
    fn end(self) -> Result<(), Self::Error> {
        self.out.push(0);
        Ok(())
    }
}

macro_rules! concatenated {
    ($tr:ident, $method:ident $(, $key:ident)?) => {
        impl<O: KeyOut + ?Sized> ser::$tr for &mut KeySerializer<'_, O> {
            type Ok = ();
            type Error = KeyCodecError;
            fn $method<T: Serialize + ?Sized>(
                &mut self,
                $($key: &'static str,)?
                value: &T,
            ) -> Result<(), Self::Error> {
                value.serialize(&mut **self)
            }
            fn end(self) -> Result<(), Self::Error> {
                Ok(())
            }
        }
    };
}

concatenated!(SerializeTuple, serialize_element);
concatenated!(SerializeTupleStruct, serialize_field);
concatenated!(SerializeTupleVariant, serialize_field);
concatenated!(SerializeStruct, serialize_field, _key);
concatenated!(SerializeStructVariant, serialize_field, _key);

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::collections::hash_map::DefaultHasher;
    use std::collections::HashSet;

    fn hash<K: Serialize + ?Sized>(key: &K) -> u64 {
        let mut h = DefaultHasher::new();
        hash_key(key, &mut h).unwrap();
        h.finish()
    }

    /// Equal keys hash equal; keys of one type whose encodings differ (here: all of them) hash
    /// apart, including strings split differently across a tuple and nested sequences.
    #[test]
    fn keys_hash_as_their_encodings_tell_them_apart() {
        let strings = ["", "\0", "\0\0", "a", "a\0", "ab", "b", "é"];
        let (mut single, mut pairs, mut seqs) = (HashSet::new(), HashSet::new(), HashSet::new());
        for a in strings {
            assert_eq!(hash(a), hash(&a.to_string()), "{a:?}");
            assert!(single.insert(hash(a)), "{a:?}");
            for b in strings {
                assert!(pairs.insert(hash(&(a, b))), "({a:?}, {b:?})");
                assert!(seqs.insert(hash(&vec![a, b])), "[{a:?}, {b:?}]");
                assert!(
                    seqs.insert(hash(&vec![vec![a], vec![b]])),
                    "[[{a:?}], [{b:?}]]"
                );
            }
            assert!(seqs.insert(hash(&vec![a])), "[{a:?}]");
        }
        let mut numbers = HashSet::new();
        for n in [0u64, 1, 256, u64::MAX] {
            assert!(numbers.insert(hash(&Some(n))), "Some({n})");
        }
        assert!(numbers.insert(hash(&None::<u64>)));
        assert_eq!(hash(&(7u32, "x")), hash(&(7u32, "x".to_string())));
    }

    #[test]
    fn timestamps_encode_sign_flipped_big_endian() {
        assert_eq!(encode_i64(i64::MIN), [0; 8]);
        assert_eq!(
            encode_i64(-1),
            [0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]
        );
        assert_eq!(encode_i64(0), [0x80, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(encode_key(&-1i64).unwrap(), encode_i64(-1).to_vec());
        assert_eq!(encode_key("a\0").unwrap(), vec![b'a', 0, 0xFF, 0, 0]);
    }
}
