//! Errors of the built-in connectors and processors, converted into the topology's error type
//! at the connector boundary so a failing file names itself.

use weir_topology::TopologyError;

/// A file connector error with the path.
pub(crate) fn file_error(path: &std::path::Path, e: impl std::fmt::Display) -> TopologyError {
    TopologyError::connector(path.display().to_string(), e)
}
