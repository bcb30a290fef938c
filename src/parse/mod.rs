//! Front ends that turn input files into the model, reporting problems as diagnostics.
pub mod compose;
pub mod discover;
pub mod interpolate;
pub mod yaml;
