//! weir-processors: built-in connectors and processors.
#![deny(missing_docs)]
