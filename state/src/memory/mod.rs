//! In-memory stores: ordered maps, fast, lost when the process ends.

mod kv;
mod session;
mod window;
mod windows;

pub use kv::InMemoryKeyValueStore;
pub use session::InMemorySessionStore;
pub use window::InMemoryWindowStore;
