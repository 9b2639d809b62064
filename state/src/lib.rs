//! weir-state: the state stores behind weir's stateful operators.
//!
//! Three store shapes, each a trait with an in-memory implementation:
//! [`KeyValueStore`] (one value per key, ordered), [`WindowStore`] (values per key and fixed-size
//! window) and [`SessionStore`] (values per key and session). Keys and values are plain Rust types.
//! The persistent implementations in [`sled`] encode keys with an order-preserving encoding and
//! values with bincode. [`conformance`] is the test suite every implementation passes.
#![deny(missing_docs)]

mod backend;
mod commit;
pub mod conformance;
mod error;
mod kv;
pub mod memory;
mod session;
pub mod sled;
mod window;

pub use backend::{StoreBackend, StoreKey, StoreValue};
pub use commit::{StagedStore, StagedWrites};
pub use error::{BoxError, StateError, StateResult};
pub use kv::KeyValueStore;
pub use session::SessionStore;
pub use window::{Timestamp, Window, WindowStore};
