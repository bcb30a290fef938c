//! The repository model: plain data, every value with the span it was read from.
pub mod dockerfile;
