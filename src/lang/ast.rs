//! The syntax tree of a rule file (`.dpl`): one rule with its metadata, params and query.
//! Every node carries the span of its text in the rule file, so that the checker and the
//! evaluator can point at the exact token.

use serde::Serialize;

use crate::diag::Severity;
use crate::source::{FileId, Span, Spanned};

/// One rule, as written in one `.dpl` file.
#[derive(Clone, Debug, Serialize)]
pub struct Rule {
    pub file: FileId,
    /// [`crate::source::text_hash`] of the rule file's text: the rules compiled to Rust
    /// ([`crate::eval::native`]) run only for the text they were compiled from.
    #[serde(skip)]
    pub text_hash: u64,
    /// `[A-Z]+[0-9]+`, e.g. `DP1001`.
    pub id: Spanned<String>,
    /// kebab-case, e.g. `toolchain-in-final-image`.
    pub name: Spanned<String>,
    pub severity: Option<Spanned<Severity>>,
    pub summary: Option<Spanned<String>>,
    pub tags: Vec<Spanned<String>>,
    /// Markdown; the common leading indentation of a `"""` block is removed.
    pub doc: Option<Spanned<String>>,
    pub params: Vec<Param>,
    /// One or more queries; the rule's findings are the union of theirs.
    pub queries: Vec<Query>,
    /// The whole rule.
    pub span: Span,
}

/// `param NAME = EXPR`: a value the rule uses by name, which configuration can override.
#[derive(Clone, Debug, Serialize)]
pub struct Param {
    pub name: Spanned<String>,
    /// A literal (string, number, size, boolean, null, or a list of literals).
    pub default: Expr,
    pub span: Span,
}

/// `for x in COLL [for y in COLL2 …] [where COND] report TARGET "message" [related …]`.
#[derive(Clone, Debug, Serialize)]
pub struct Query {
    /// One or more bindings; later collections may use earlier variables (a join).
    pub bindings: Vec<Binding>,
    pub condition: Option<Expr>,
    pub report: Report,
}

/// `for VAR in COLLECTION`.
#[derive(Clone, Debug, Serialize)]
pub struct Binding {
    pub variable: Spanned<String>,
    pub collection: Expr,
    pub span: Span,
}

/// `report TARGET "message {expr}"` followed by any number of `related TARGET "message"`.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// The value whose span is the finding's location.
    pub target: Expr,
    pub message: Template,
    pub related: Vec<Related>,
    pub span: Span,
}

/// `related TARGET "message"`: a secondary location of the finding.
#[derive(Clone, Debug, Serialize)]
pub struct Related {
    pub target: Expr,
    pub message: Template,
    pub span: Span,
}

/// A message template: literal text and `{expr}` holes (`{{` and `}}` are literal braces).
#[derive(Clone, Debug, Serialize)]
pub struct Template {
    pub parts: Vec<TemplatePart>,
    pub span: Span,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TemplatePart {
    Text(String),
    Hole(Expr),
}

#[derive(Clone, Debug, Serialize)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ExprKind {
    Null,
    Bool(bool),
    Integer(i64),
    String(String),
    /// A size literal (`300MB`, `1.5GiB`), in bytes. Decimal units are powers of 1000,
    /// binary units (`KiB`, `MiB`, `GiB`, `TiB`) powers of 1024; `B` is bytes.
    Size(u64),
    List(Vec<Expr>),
    /// A variable bound by `for` or a quantifier, a param, or a top-level collection.
    Name(String),
    /// `base.field`; null-safe: a field of null is null.
    Field(Box<Expr>, Spanned<String>),
    /// `name(args…)`: a built-in function.
    Call(Spanned<String>, Vec<Expr>),
    /// `any(x in COLL where COND)`, `all(…)`, `count(x in COLL [where COND])`.
    Quantifier(Box<Quantifier>),
    Not(Box<Expr>),
    Binary(BinaryOp, Box<Expr>, Box<Expr>),
}

#[derive(Clone, Debug, Serialize)]
pub struct Quantifier {
    pub kind: QuantifierKind,
    pub variable: Spanned<String>,
    pub collection: Expr,
    pub condition: Option<Expr>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum QuantifierKind {
    Any,
    All,
    Count,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BinaryOp {
    Or,
    And,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    In,
    NotIn,
    Matches,
}
