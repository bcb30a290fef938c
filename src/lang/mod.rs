//! The rule language: syntax tree, parser, packs, schema of what rules may read, and checker.

pub mod ast;
pub mod check;
mod lexer;
pub mod pack;
mod pack_layout;
pub mod parser;
mod prebuilt;
pub mod schema;
mod syntax_error;
