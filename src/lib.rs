//! dockpolicy: a declarative policy engine for container build inputs.
//!
//! The crate reads a repository (Dockerfiles, build contexts and `.dockerignore` files,
//! compose files, Python requirements and sources), builds one model in which every value
//! carries the span it came from, and evaluates rule packs over it. Modules depend on each
//! other one way only: `source`/`diag` ← `model` ← `parse` ← `size` ← `eval`.
#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::todo)
)]

// The pest parser of the rule language is generated for `no_std` (see Cargo.toml) and names
// `alloc::boxed::Box`.
extern crate alloc;

pub mod cli;
pub mod config;
pub mod diag;
pub mod eval;
pub mod lang;
pub mod model;
pub mod parse;
pub mod policy;
pub mod report;
pub mod rule_test;
pub mod size;
pub mod source;
#[cfg(test)]
mod test_support;
