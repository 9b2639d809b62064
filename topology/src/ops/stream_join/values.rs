//! The values of one join slot: most slots hold one value, kept inline (no allocation, and no
//! pointer to follow when the slot is read); a second value moves them to a vector. Serialized
//! exactly as a `Vec<V>` (a sequence), so stores written before this type existed read the same.

use serde::de::{Deserialize, Deserializer, SeqAccess, Visitor};
use serde::ser::{Serialize, Serializer};
use std::fmt;
use std::marker::PhantomData;

/// The values of one slot, in arrival order.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Values<V> {
    /// Exactly one value.
    One(V),
    /// Any number of values (two or more once pushed to; as read from a store, any).
    Many(Vec<V>),
}

impl<V> Values<V> {
    /// Appends `value`.
    pub fn push(&mut self, value: V) {
        match self {
            Self::Many(values) => values.push(value),
            Self::One(_) => {
                let Self::One(first) = std::mem::replace(self, Self::Many(Vec::with_capacity(2)))
                else {
                    return;
                };
                *self = Self::Many(vec![first, value]);
            }
        }
    }

    /// Appends every value of `other`.
    pub fn extend(&mut self, other: Self) {
        match other {
            Self::One(v) => self.push(v),
            Self::Many(values) => values.into_iter().for_each(|v| self.push(v)),
        }
    }

    /// The values as a slice.
    pub fn as_slice(&self) -> &[V] {
        match self {
            Self::One(v) => std::slice::from_ref(v),
            Self::Many(values) => values,
        }
    }
}

impl<V: Serialize> Serialize for Values<V> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.as_slice())
    }
}

impl<'de, V: Deserialize<'de>> Deserialize<'de> for Values<V> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Seq<V>(PhantomData<V>);

        impl<'de, V: Deserialize<'de>> Visitor<'de> for Seq<V> {
            type Value = Values<V>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a sequence of values")
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Values<V>, A::Error> {
                let Some(first) = seq.next_element()? else {
                    return Ok(Values::Many(Vec::new()));
                };
                let Some(second) = seq.next_element()? else {
                    return Ok(Values::One(first));
                };
                let mut values = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024) + 2);
                values.push(first);
                values.push(second);
                while let Some(v) = seq.next_element()? {
                    values.push(v);
                }
                Ok(Values::Many(values))
            }
        }

        deserializer.deserialize_seq(Seq(PhantomData))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn pushes_keep_arrival_order() {
        let mut v = Values::One(1);
        assert_eq!(v.as_slice(), [1]);
        v.push(2);
        v.extend(Values::One(3));
        v.extend(Values::Many(vec![4, 5]));
        assert_eq!(v.as_slice(), [1, 2, 3, 4, 5]);
    }

    /// The encodings of a `Vec` and of `Values` are the same bytes, both ways, in bincode (the
    /// sled stores) and JSON.
    #[test]
    fn encodes_as_a_vec() {
        for n in 0..4u64 {
            let vec: Vec<String> = (0..n).map(|i| format!("v{i}")).collect();
            let values = match n {
                1 => Values::One("v0".to_string()),
                _ => Values::Many(vec.clone()),
            };
            let bytes = bincode::serialize(&vec).unwrap();
            assert_eq!(bincode::serialize(&values).unwrap(), bytes, "{n} values");
            let back: Values<String> = bincode::deserialize(&bytes).unwrap();
            assert_eq!(back.as_slice(), vec.as_slice(), "{n} values");
            assert_eq!(matches!(back, Values::One(_)), n == 1);
            let json = serde_json::to_string(&vec).unwrap();
            assert_eq!(serde_json::to_string(&values).unwrap(), json);
            let back: Values<String> = serde_json::from_str(&json).unwrap();
            assert_eq!(back.as_slice(), vec.as_slice());
        }
    }
}
