//! The serde `Deserializer` of the order-preserving key encoding written by
//! [`super::encoding`], so keys read back from sled decode to the values that were stored.
//!
//! Like bincode, the format is driven by the target type: `deserialize_any` (untagged enums,
//! `serde_json::Value`, `#[serde(flatten)]`) is not supported.

use super::encoding::KeyCodecError;
use serde::de::{
    self, DeserializeOwned, DeserializeSeed, EnumAccess, IntoDeserializer, MapAccess, SeqAccess,
    VariantAccess, Visitor,
};

impl de::Error for KeyCodecError {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        Self(msg.to_string())
    }
}

/// Decodes a key from exactly `bytes` (trailing bytes are an error).
pub fn decode_key<K: DeserializeOwned>(bytes: &[u8]) -> Result<K, KeyCodecError> {
    let mut de = KeyDeserializer { input: bytes };
    let key = K::deserialize(&mut de)?;
    if de.input.is_empty() {
        Ok(key)
    } else {
        let n = de.input.len();
        Err(KeyCodecError(format!("{n} trailing bytes after the key")))
    }
}

/// Decodes 8 big-endian sign-flipped bytes back into an `i64`.
pub fn decode_i64(bytes: &[u8]) -> Result<i64, KeyCodecError> {
    let arr: [u8; 8] = bytes
        .try_into()
        .map_err(|_| KeyCodecError(format!("expected 8 bytes, found {}", bytes.len())))?;
    Ok((u64::from_be_bytes(arr) ^ (1 << 63)) as i64)
}

/// The deserializer: consumes a byte slice from the front.
struct KeyDeserializer<'de> {
    input: &'de [u8],
}

impl<'de> KeyDeserializer<'de> {
    fn take<const N: usize>(&mut self) -> Result<[u8; N], KeyCodecError> {
        if self.input.len() < N {
            return Err(KeyCodecError(format!(
                "key ends early: needed {N} bytes, {} left",
                self.input.len()
            )));
        }
        let (head, rest) = self.input.split_at(N);
        self.input = rest;
        let mut arr = [0u8; N];
        arr.copy_from_slice(head);
        Ok(arr)
    }

    fn byte(&mut self) -> Result<u8, KeyCodecError> {
        Ok(self.take::<1>()?[0])
    }

    /// Reads an escaped, `0x00 0x00`-terminated byte string.
    fn escaped(&mut self) -> Result<Vec<u8>, KeyCodecError> {
        let mut out = Vec::new();
        loop {
            let b = self.byte()?;
            if b != 0 {
                out.push(b);
                continue;
            }
            match self.byte()? {
                0x00 => return Ok(out),
                0xFF => out.push(0),
                other => {
                    return Err(KeyCodecError(format!(
                        "bad escape 0x00 0x{other:02x} in a string"
                    )))
                }
            }
        }
    }

    fn marker(&mut self) -> Result<bool, KeyCodecError> {
        match self.byte()? {
            0 => Ok(false),
            1 => Ok(true),
            other => Err(KeyCodecError(format!("bad marker byte 0x{other:02x}"))),
        }
    }
}

macro_rules! signed {
    ($name:ident, $visit:ident, $t:ty, $u:ty) => {
        fn $name<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, KeyCodecError> {
            let raw = <$u>::from_be_bytes(self.take()?);
            visitor.$visit((raw ^ (1 << (<$u>::BITS - 1))) as $t)
        }
    };
}

macro_rules! unsigned {
    ($name:ident, $visit:ident, $t:ty) => {
        fn $name<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, KeyCodecError> {
            visitor.$visit(<$t>::from_be_bytes(self.take()?))
        }
    };
}

impl<'de> de::Deserializer<'de> for &mut KeyDeserializer<'de> {
    type Error = KeyCodecError;

    fn deserialize_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, KeyCodecError> {
        Err(KeyCodecError(
            "the key encoding is not self-describing (deserialize_any)".into(),
        ))
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, KeyCodecError> {
        visitor.visit_bool(self.marker()?)
    }

    signed!(deserialize_i8, visit_i8, i8, u8);
    signed!(deserialize_i16, visit_i16, i16, u16);
    signed!(deserialize_i32, visit_i32, i32, u32);
    signed!(deserialize_i64, visit_i64, i64, u64);
    signed!(deserialize_i128, visit_i128, i128, u128);
    unsigned!(deserialize_u8, visit_u8, u8);
    unsigned!(deserialize_u16, visit_u16, u16);
    unsigned!(deserialize_u32, visit_u32, u32);
    unsigned!(deserialize_u64, visit_u64, u64);
    unsigned!(deserialize_u128, visit_u128, u128);

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, KeyCodecError> {
        let bits = u32::from_be_bytes(self.take()?);
        let bits = if bits >> 31 == 1 {
            bits ^ (1 << 31)
        } else {
            !bits
        };
        visitor.visit_f32(f32::from_bits(bits))
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, KeyCodecError> {
        let bits = u64::from_be_bytes(self.take()?);
        let bits = if bits >> 63 == 1 {
            bits ^ (1 << 63)
        } else {
            !bits
        };
        visitor.visit_f64(f64::from_bits(bits))
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, KeyCodecError> {
        let raw = u32::from_be_bytes(self.take()?);
        let c =
            char::from_u32(raw).ok_or_else(|| KeyCodecError(format!("0x{raw:x} is not a char")))?;
        visitor.visit_char(c)
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, KeyCodecError> {
        self.deserialize_string(visitor)
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, KeyCodecError> {
        let bytes = self.escaped()?;
        let s = String::from_utf8(bytes).map_err(|e| KeyCodecError(e.to_string()))?;
        visitor.visit_string(s)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, KeyCodecError> {
        self.deserialize_byte_buf(visitor)
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, KeyCodecError> {
        visitor.visit_byte_buf(self.escaped()?)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, KeyCodecError> {
        if self.marker()? {
            visitor.visit_some(self)
        } else {
            visitor.visit_none()
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, KeyCodecError> {
        visitor.visit_unit()
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, KeyCodecError> {
        visitor.visit_unit()
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, KeyCodecError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, KeyCodecError> {
        visitor.visit_seq(Marked { de: self })
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, KeyCodecError> {
        visitor.visit_seq(Fixed {
            de: self,
            left: len,
        })
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, KeyCodecError> {
        self.deserialize_tuple(len, visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, KeyCodecError> {
        visitor.visit_map(Marked { de: self })
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, KeyCodecError> {
        self.deserialize_tuple(fields.len(), visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, KeyCodecError> {
        visitor.visit_enum(self)
    }

    fn deserialize_identifier<V: Visitor<'de>>(
        self,
        visitor: V,
    ) -> Result<V::Value, KeyCodecError> {
        self.deserialize_u32(visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, KeyCodecError> {
        self.deserialize_any(v)
    }

    fn is_human_readable(&self) -> bool {
        false
    }
}

/// A sequence or map whose elements are each preceded by `0x01` and which ends with `0x00`.
struct Marked<'a, 'de> {
    de: &'a mut KeyDeserializer<'de>,
}

impl<'de> SeqAccess<'de> for Marked<'_, 'de> {
    type Error = KeyCodecError;
    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, KeyCodecError> {
        if self.de.marker()? {
            seed.deserialize(&mut *self.de).map(Some)
        } else {
            Ok(None)
        }
    }
}

impl<'de> MapAccess<'de> for Marked<'_, 'de> {
    type Error = KeyCodecError;
    fn next_key_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, KeyCodecError> {
        self.next_element_seed(seed)
    }
    fn next_value_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<T::Value, KeyCodecError> {
        seed.deserialize(&mut *self.de)
    }
}

/// A tuple or struct: a known number of concatenated fields.
struct Fixed<'a, 'de> {
    de: &'a mut KeyDeserializer<'de>,
    left: usize,
}

impl<'de> SeqAccess<'de> for Fixed<'_, 'de> {
    type Error = KeyCodecError;
    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, KeyCodecError> {
        if self.left == 0 {
            return Ok(None);
        }
        self.left -= 1;
        seed.deserialize(&mut *self.de).map(Some)
    }
    fn size_hint(&self) -> Option<usize> {
        Some(self.left)
    }
}

impl<'de> EnumAccess<'de> for &mut KeyDeserializer<'de> {
    type Error = KeyCodecError;
    type Variant = Self;
    fn variant_seed<T: DeserializeSeed<'de>>(
        self,
        seed: T,
    ) -> Result<(T::Value, Self), KeyCodecError> {
        let index = u32::from_be_bytes(self.take()?);
        let value = seed.deserialize(index.into_deserializer())?;
        Ok((value, self))
    }
}

impl<'de> VariantAccess<'de> for &mut KeyDeserializer<'de> {
    type Error = KeyCodecError;
    fn unit_variant(self) -> Result<(), KeyCodecError> {
        Ok(())
    }
    fn newtype_variant_seed<T: DeserializeSeed<'de>>(
        self,
        seed: T,
    ) -> Result<T::Value, KeyCodecError> {
        seed.deserialize(self)
    }
    fn tuple_variant<V: Visitor<'de>>(
        self,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, KeyCodecError> {
        visitor.visit_seq(Fixed {
            de: self,
            left: len,
        })
    }
    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, KeyCodecError> {
        visitor.visit_seq(Fixed {
            de: self,
            left: fields.len(),
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::sled::encoding::encode_i64;

    #[test]
    fn malformed_input_is_an_error_not_a_panic() {
        assert!(decode_key::<i64>(&[1, 2, 3]).is_err());
        assert!(decode_key::<String>(b"abc").is_err(), "missing terminator");
        assert!(decode_key::<String>(&[b'a', 0, 7]).is_err(), "bad escape");
        assert!(decode_key::<String>(&[0xFF, 0, 0]).is_err(), "not UTF-8");
        assert!(decode_key::<bool>(&[2]).is_err());
        assert!(decode_key::<u8>(&[1, 2]).is_err(), "trailing bytes");
        assert!(decode_key::<char>(&0xD800u32.to_be_bytes()).is_err());
        assert!(
            decode_key::<Result<u8, u8>>(&9u32.to_be_bytes()).is_err(),
            "unknown variant"
        );
        assert!(decode_i64(&[0; 7]).is_err());
        assert_eq!(decode_i64(&encode_i64(-42)).unwrap(), -42);
    }
}
