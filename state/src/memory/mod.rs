//! In-memory stores: ordered maps (and a hash table for window stores read by key), fast, lost
//! when the process ends.

mod hash_window;
mod kv;
mod session;
mod window;
mod windows;

pub use hash_window::InMemoryHashWindowStore;
pub use kv::InMemoryKeyValueStore;
pub use session::InMemorySessionStore;
pub use window::InMemoryWindowStore;
