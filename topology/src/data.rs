//! The bounds on keys and values that flow through a topology.

use serde::de::DeserializeOwned;
use serde::Serialize;
use std::hash::Hash;

/// What a value needs: cloneable (fan-out), sendable (tasks run on threads), serializable
/// (stores, repartition topics).
pub trait Data: Clone + Send + Serialize + DeserializeOwned + 'static {}
impl<T: Clone + Send + Serialize + DeserializeOwned + 'static> Data for T {}

/// What a key needs on top of [`Data`]: a total order (stores are ordered) and hashing.
pub trait Key: Data + Ord + Eq + Hash {}
impl<T: Data + Ord + Eq + Hash> Key for T {}
