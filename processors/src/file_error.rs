//! Errors of the file connectors and sinks: the failing path becomes the connector name, so
//! an error names the file it is about.

use weir_topology::TopologyError;

/// A file connector error with the path.
pub(crate) fn file_error(
    path: &std::path::Path,
    e: impl Into<weir_topology::BoxError>,
) -> TopologyError {
    TopologyError::connector(path.display().to_string(), e)
}
