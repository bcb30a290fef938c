//! Front ends that turn input files into the model, reporting problems as diagnostics.

pub mod compose;
pub mod context;
pub mod discover;
pub mod dockerfile;
pub mod dockerignore;
pub mod interpolate;
pub mod packages;
pub mod path_glob;
pub mod python_imports;
pub mod repository;
pub mod requirements;
pub mod shell;
pub mod yaml;
