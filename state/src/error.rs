//! The one error type of the state crate.

use thiserror::Error;

/// What can go wrong when reading or writing a state store.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum StateError {
    /// A value or key could not be encoded or decoded.
    #[error("store `{store}`: cannot encode or decode: {source}")]
    Codec {
        /// The store's name.
        store: String,
        /// What the codec said.
        #[source]
        source: BoxError,
    },
    /// The storage engine below the store failed (disk, sled, ...).
    #[error("store `{store}`: storage failed: {source}")]
    Storage {
        /// The store's name.
        store: String,
        /// What the engine said.
        #[source]
        source: BoxError,
    },
    /// A state directory was written by a different topology or store layout.
    #[error("store `{store}`: incompatible state: {reason}")]
    Incompatible {
        /// The store's name.
        store: String,
        /// What does not match.
        reason: String,
    },
    /// An argument was out of range (for example a window that ends before it starts).
    #[error("store `{store}`: invalid argument: {reason}")]
    InvalidArgument {
        /// The store's name.
        store: String,
        /// What is wrong with it.
        reason: String,
    },
}

/// The cause of an error, kept whole (its own `source()` chain included): any error, or a
/// message (`String` and `&str` convert into it).
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Short for `Result<T, StateError>`.
pub type StateResult<T> = Result<T, StateError>;
