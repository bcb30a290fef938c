//! The rule language: syntax tree, parser, schema of what rules may read, and checker.

pub mod ast;
mod lexer;
pub mod pack;
mod pack_layout;
pub mod parser;
mod syntax_error;
