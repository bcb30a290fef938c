//! Front ends that turn input files into the model, reporting problems as diagnostics.
pub mod dockerfile;
