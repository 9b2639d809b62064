//! The flight-delay example.
