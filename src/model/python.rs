//! The model of a Python source file's imports: which top-level modules it needs.
//!
//! Rules compare these with the requirements installed into an image (a module imported
//! but never installed, a requirement never imported). Names are as written; mapping an
//! import name to a distribution (`yaml` → `PyYAML`) is the rules' business.

use serde::Serialize;

use crate::source::Spanned;

/// How the import was written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportKind {
    /// `import a.b`
    Import,
    /// `from a.b import c`
    From,
    /// `__import__("a.b")` or `importlib.import_module("a.b")` with a string literal.
    Dynamic,
}

/// One imported module.
#[derive(Clone, Debug, Serialize)]
pub struct Import {
    /// The top-level module name (`b` for `import b.c as d`), spanning that name only. For a
    /// relative import it is the dots and the first name as written (`.`, `..pkg`).
    pub module: Spanned<String>,
    /// The whole dotted path (`b.c`; `..pkg.sub` for a relative import).
    pub full_path: String,
    /// True for `from . import x` and `from .m import y`: a module of the project itself.
    pub relative: bool,
    pub kind: ImportKind,
}
