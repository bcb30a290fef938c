//! The repository model: plain data, every value with the span it was read from.

pub mod compose;
pub mod context;
pub mod dockerfile;
pub mod package;
mod pep503;
pub mod python;
pub mod repository;
pub mod requirements;
pub mod shell;
