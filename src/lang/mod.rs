//! The rule language: syntax tree, parser, schema of what rules may read, and checker.

pub mod ast;
pub mod check;
pub mod schema;
