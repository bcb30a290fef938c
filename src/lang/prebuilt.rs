//! The bundled rules' syntax trees as Rust code, so that a run does not parse the bundled
//! packs: parsing and checking their rule files was the largest fixed cost of a run (about 20
//! million instructions, more than loading a small repository). [`rules`] is generated from
//! `rules/` by a test, which also checks that every tree is the one the parser makes and that
//! the checker finds nothing in it. A tree is used only for the exact text it was generated
//! from (by hash): a changed rule file is parsed and checked as any other.

#[cfg(test)]
mod generate;
#[rustfmt::skip]
mod rules;

use super::ast::Rule;
use crate::source::FileId;

/// The syntax tree of the bundled rule file `path` whose text has hash `text_hash`, with its
/// spans in `file`, when it was generated from that text.
pub fn rule(path: &str, text_hash: u64, file: FileId) -> Option<Rule> {
    rules::RULES
        .iter()
        .find(|(p, hash, _)| *p == path && *hash == text_hash)
        .map(|(_, _, build)| build(file))
}
