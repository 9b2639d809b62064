//! The crate's single error type, [`ModelError`].

use std::path::PathBuf;

/// Everything that can go wrong while reading data, training, saving or loading a model.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// A file or directory the operation needs does not exist.
    #[error("missing file: {}", path.display())]
    MissingFile {
        /// The path that was looked for.
        path: PathBuf,
    },
    /// An I/O error on a file.
    #[error("I/O error on {}: {source}", path.display())]
    Io {
        /// The file involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A CSV record could not be read or parsed.
    #[error("CSV error in {}: {source}", path.display())]
    Csv {
        /// The file involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: csv::Error,
    },
    /// The metadata JSON could not be parsed or written.
    #[error("invalid metadata {}: {source}", path.display())]
    Metadata {
        /// The metadata file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: serde_json::Error,
    },
    /// The safetensors weights file is corrupt or unreadable.
    #[error("corrupt weights file {}: {reason}", path.display())]
    CorruptWeights {
        /// The weights file.
        path: PathBuf,
        /// What was wrong with it.
        reason: String,
    },
    /// The metadata and the weights (or a flight batch) disagree.
    #[error("metadata/weights mismatch: {0}")]
    Mismatch(String),
    /// The metadata was written by an unsupported format version.
    #[error("unsupported model format version {found} (this build reads version {supported})")]
    UnsupportedVersion {
        /// The version found in the metadata.
        found: u32,
        /// The version this build supports.
        supported: u32,
    },
    /// The training data was unusable (empty, no labels, ...).
    #[error("invalid training data: {0}")]
    Data(String),
    /// An invalid argument or option.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// An error from the candle tensor library.
    #[error("tensor error: {0}")]
    Tensor(#[from] candle_core::Error),
}

impl ModelError {
    /// Wraps an I/O error, turning "not found" into [`ModelError::MissingFile`].
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        let path = path.into();
        if source.kind() == std::io::ErrorKind::NotFound {
            ModelError::MissingFile { path }
        } else {
            ModelError::Io { path, source }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_found_becomes_missing_file() {
        let e = ModelError::io(
            "/nope",
            std::io::Error::new(std::io::ErrorKind::NotFound, "x"),
        );
        assert!(matches!(e, ModelError::MissingFile { .. }));
        assert!(e.to_string().contains("/nope"));
        let e = ModelError::io(
            "/nope",
            std::io::Error::new(std::io::ErrorKind::PermissionDenied, "x"),
        );
        assert!(matches!(e, ModelError::Io { .. }));
    }
}
