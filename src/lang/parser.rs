//! The rule-file parser: text of one `.dpl` file → [`Rule`] plus diagnostics.
//!
//! Three steps: a linear lexical pre-pass ([`super::lexer`]) that reports lexical mistakes and
//! bounds nesting; pest with `grammar/dpl.pest`; and a walk over pest's pairs that builds the
//! syntax tree, checks what the grammar cannot (metadata given twice, numbers that do not fit,
//! `any`/`all` without a condition) and parses the `{expr}` holes of messages. Every node's
//! span is the exact text it came from; a parenthesised expression's span includes its
//! parentheses.

use std::collections::HashMap;

use pest::iterators::{Pair, Pairs};
use pest::Parser as _;

use super::ast::{
    BinaryOp, Binding, Expr, ExprKind, Param, Quantifier, QuantifierKind, Query, Related, Report,
    Rule, Template, TemplatePart,
};
use super::lexer;
use super::syntax_error;
use crate::diag::{Diagnostic, Severity};
use crate::source::{FileId, Span, Spanned};

/// Rule files larger than this are refused.
pub const MAX_RULE_FILE_BYTES: usize = 1024 * 1024;

/// The pest parser generated from `grammar/dpl.pest`.
pub(crate) mod grammar {
    #[derive(pest_derive::Parser)]
    #[grammar = "../grammar/dpl.pest"]
    pub struct DplParser;
}

use grammar::{DplParser, Rule as G};

use crate::source::text_hash;

/// Parses one rule file. Returns the rule when the file has no errors, and every diagnostic
/// found (a rule is only returned when none of them is an error).
pub fn parse_rule_file(file: FileId, text: &str) -> (Option<Rule>, Vec<Diagnostic>) {
    if text.len() > MAX_RULE_FILE_BYTES {
        let diagnostic = Diagnostic::error(format!(
            "the rule file is larger than {} MiB",
            MAX_RULE_FILE_BYTES / (1024 * 1024)
        ))
        .with_span(Span::point(file, 0))
        .with_help("a rule file holds one rule; split large documentation out of it");
        return (None, vec![diagnostic]);
    }
    let lexed = lexer::lex(file, text, 0..text.len());
    if !lexed.errors.is_empty() {
        return (None, lexed.errors);
    }
    if let Some(too_deep) = lexer::check_expression_depth(file, text, &lexed.tokens) {
        return (None, vec![too_deep]);
    }
    let pairs = match DplParser::parse(G::file, text) {
        Ok(pairs) => pairs,
        Err(error) => {
            let diagnostic = syntax_error::describe(file, text, 0, &lexed.tokens, &error);
            return (None, vec![diagnostic]);
        }
    };
    let mut builder = Builder {
        file,
        text,
        base: 0,
        tokens: lexed.tokens,
        diagnostics: Vec::new(),
    };
    let rule = pairs
        .into_iter()
        .next()
        .and_then(|file_pair| file_pair.into_inner().find(|p| p.as_rule() == G::rule_def))
        .and_then(|rule_def| builder.rule(rule_def));
    let has_errors = builder.diagnostics.iter().any(Diagnostic::is_error);
    (rule.filter(|_| !has_errors), builder.diagnostics)
}

/// Builds syntax-tree nodes from pest pairs. `base` is added to pest's offsets: message holes
/// are parsed from a slice of the file.
struct Builder<'t> {
    file: FileId,
    /// The whole file.
    text: &'t str,
    base: usize,
    /// The tokens of the text being built (the file, or a message hole).
    tokens: Vec<lexer::Token>,
    diagnostics: Vec<Diagnostic>,
}

/// Metadata seen so far, for the "given twice" check.
#[derive(Default)]
struct Seen {
    first: HashMap<&'static str, Span>,
}

impl Builder<'_> {
    /// The span of a pair's text. pest lets a pair end after whitespace and comments that
    /// an optional part skipped before failing; the span ends with the pair's last token.
    fn span(&self, pair: &Pair<'_, G>) -> Span {
        let s = pair.as_span();
        let (start, end) = (self.base + s.start(), self.base + s.end());
        let last = self.tokens.partition_point(|t| t.end <= end);
        let end = match last.checked_sub(1).and_then(|i| self.tokens.get(i)) {
            Some(token) if token.end > start => token.end,
            _ => end,
        };
        Span::new(self.file, start..end)
    }

    fn spanned(&self, pair: &Pair<'_, G>) -> Spanned<String> {
        Spanned::new(pair.as_str().to_string(), self.span(pair))
    }

    fn error(&mut self, message: impl Into<String>, span: Span) {
        self.diagnostics
            .push(Diagnostic::error(message).with_span(span));
    }

    fn rule(&mut self, pair: Pair<'_, G>) -> Option<Rule> {
        let span = self.span(&pair);
        let mut id = None;
        let mut name = None;
        let mut severity = None;
        let mut summary = None;
        let mut tags = Vec::new();
        let mut doc = None;
        let mut params: Vec<Param> = Vec::new();
        let mut queries = Vec::new();
        let mut seen = Seen::default();
        for child in pair.into_inner() {
            match child.as_rule() {
                G::rule_id => id = Some(self.spanned(&child)),
                G::rule_name => name = Some(self.spanned(&child)),
                G::severity_item => {
                    let mut inner = child.into_inner();
                    let keyword = inner.next();
                    let level = inner.next();
                    if let (Some(keyword), Some(level)) = (keyword, level) {
                        self.once(&mut seen, "severity", &keyword);
                        let value = match level.as_str() {
                            "warning" => Severity::Warning,
                            "note" => Severity::Note,
                            _ => Severity::Error,
                        };
                        severity.get_or_insert(Spanned::new(value, self.span(&level)));
                    }
                }
                G::tags_item => {
                    let mut inner = child.into_inner();
                    if let Some(keyword) = inner.next() {
                        let first = self.once(&mut seen, "tags", &keyword);
                        let list = inner.next().into_iter().flat_map(Pair::into_inner);
                        let strings: Vec<_> = list
                            .filter(|p| p.as_rule() == G::string)
                            .map(|p| Spanned::new(unescape(string_body(p.as_str())), self.span(&p)))
                            .collect();
                        if first {
                            tags = strings;
                        }
                    }
                }
                G::summary_item => {
                    let mut inner = child.into_inner();
                    if let (Some(keyword), Some(string)) = (inner.next(), inner.next()) {
                        self.once(&mut seen, "summary", &keyword);
                        let value = unescape(string_body(string.as_str()));
                        summary.get_or_insert(Spanned::new(value, self.span(&string)));
                    }
                }
                G::doc_item => {
                    let mut inner = child.into_inner();
                    if let (Some(keyword), Some(body)) = (inner.next(), inner.next()) {
                        self.once(&mut seen, "doc", &keyword);
                        let value = if body.as_rule() == G::block_string {
                            dedent(block_body(body.as_str()))
                        } else {
                            unescape(string_body(body.as_str()))
                        };
                        doc.get_or_insert(Spanned::new(value, self.span(&body)));
                    }
                }
                G::param_item => {
                    if let Some(param) = self.param(child) {
                        if let Some(earlier) =
                            params.iter().find(|p| p.name.value == param.name.value)
                        {
                            let first = earlier.name.span;
                            self.twice(
                                format!("parameter `{}` is defined twice", param.name.value),
                                param.name.span,
                                first,
                            );
                        } else {
                            params.push(param);
                        }
                    }
                }
                G::query => queries.extend(self.query(child)),
                _ => {}
            }
        }
        if queries.is_empty() {
            return None;
        }
        Some(Rule {
            file: self.file,
            text_hash: text_hash(self.text),
            id: id?,
            name: name?,
            severity,
            summary,
            tags,
            doc,
            params,
            queries,
            span,
        })
    }

    /// Records a metadata keyword; reports it when it was already given. Returns whether
    /// this was the first time.
    fn once(&mut self, seen: &mut Seen, key: &'static str, keyword: &Pair<'_, G>) -> bool {
        let span = self.span(keyword);
        match seen.first.get(key) {
            Some(&first) => {
                self.twice(format!("metadata `{key}` is given twice"), span, first);
                false
            }
            None => {
                seen.first.insert(key, span);
                true
            }
        }
    }

    /// An error at the repeat and a note at the first occurrence.
    fn twice(&mut self, message: String, repeat: Span, first: Span) {
        let (line, _) = line_column(self.text, first.start as usize);
        self.diagnostics.push(
            Diagnostic::error(message)
                .with_span(repeat)
                .with_help(format!(
                    "it is first given on line {line}; keep one of them"
                )),
        );
        self.diagnostics
            .push(Diagnostic::new(Severity::Note, "first given here").with_span(first));
    }

    fn param(&mut self, pair: Pair<'_, G>) -> Option<Param> {
        let span = self.span(&pair);
        let mut name = None;
        let mut default = None;
        for child in pair.into_inner() {
            match child.as_rule() {
                G::ident => name = Some(self.spanned(&child)),
                G::kw_param | G::assign => {}
                _ => default = self.expr_node(child),
            }
        }
        Some(Param {
            name: name?,
            default: default?,
            span,
        })
    }

    fn query(&mut self, pair: Pair<'_, G>) -> Option<Query> {
        let mut bindings = Vec::new();
        let mut condition = None;
        let mut report: Option<Report> = None;
        for child in pair.into_inner() {
            match child.as_rule() {
                G::binding => {
                    let span = self.span(&child);
                    let mut variable = None;
                    let mut collection = None;
                    for part in child.into_inner() {
                        match part.as_rule() {
                            G::ident => variable = Some(self.spanned(&part)),
                            G::expr => collection = self.expr_node(part),
                            _ => {}
                        }
                    }
                    if let (Some(variable), Some(collection)) = (variable, collection) {
                        bindings.push(Binding {
                            variable,
                            collection,
                            span,
                        });
                    }
                }
                G::where_clause => {
                    condition = child
                        .into_inner()
                        .find(|p| p.as_rule() == G::expr)
                        .and_then(|p| self.expr_node(p));
                }
                G::report_clause => {
                    let span = self.span(&child);
                    if let Some((target, message)) = self.target_and_message(child) {
                        report = Some(Report {
                            target,
                            message,
                            related: Vec::new(),
                            span,
                        });
                    }
                }
                G::related_clause => {
                    let span = self.span(&child);
                    let related = self.target_and_message(child);
                    if let (Some(report), Some((target, message))) = (report.as_mut(), related) {
                        report.related.push(Related {
                            target,
                            message,
                            span,
                        });
                        report.span = report.span.cover(span);
                    }
                }
                _ => {}
            }
        }
        Some(Query {
            bindings,
            condition,
            report: report?,
        })
    }

    fn target_and_message(&mut self, pair: Pair<'_, G>) -> Option<(Expr, Template)> {
        let mut target = None;
        let mut message = None;
        for child in pair.into_inner() {
            match child.as_rule() {
                G::expr => target = self.expr_node(child),
                G::message => message = self.template(&child),
                _ => {}
            }
        }
        Some((target?, message?))
    }

    // ------------------------------------------------------------ expressions

    /// Builds any expression-level pair: an `expr`, a `postfix` or a primary.
    ///
    /// An `expr` or `postfix` holding a single child (the usual case) is walked through in a
    /// loop and each construct is built by a function of its own, so that one bracket level
    /// costs two small stack frames even in debug builds.
    fn expr_node(&mut self, pair: Pair<'_, G>) -> Option<Expr> {
        let mut pair = pair;
        while matches!(pair.as_rule(), G::expr | G::postfix) {
            let mut inner = pair.clone().into_inner();
            match (inner.next(), inner.next()) {
                (Some(only), None) => pair = only,
                _ => break,
            }
        }
        match pair.as_rule() {
            G::expr => self.operators(pair),
            G::postfix => self.postfix(pair),
            G::paren => self.parenthesised(pair),
            G::list | G::literal_list => self.list(pair),
            G::name => self.name_or_call(pair),
            G::quantifier => self.quantifier(pair),
            _ => self.literal(&pair),
        }
    }

    /// An `expr` with operators: the grammar's precedence levels are silent, so its children
    /// are the operands (`postfix` pairs) and operators in source order. `or` chains `and`
    /// chains (both left-associative) of operands; an operand is `not`s before at most one
    /// comparison (SPEC.md §7.3).
    #[inline(never)]
    fn operators(&mut self, pair: Pair<'_, G>) -> Option<Expr> {
        let mut parts = pair.into_inner().peekable();
        let mut disjunction: Option<Expr> = None;
        loop {
            let mut conjunction = self.operand(&mut parts)?;
            while parts.next_if(|p| p.as_rule() == G::kw_and).is_some() {
                let right = self.operand(&mut parts)?;
                conjunction = binary(BinaryOp::And, conjunction, right);
            }
            disjunction = Some(match disjunction {
                Some(left) => binary(BinaryOp::Or, left, conjunction),
                None => conjunction,
            });
            if parts.next_if(|p| p.as_rule() == G::kw_or).is_none() {
                return disjunction;
            }
        }
    }

    /// `not* left (op right)?` from the children of an `expr`.
    fn operand(&mut self, parts: &mut std::iter::Peekable<Pairs<'_, G>>) -> Option<Expr> {
        let mut nots = Vec::new();
        while let Some(not) = parts.next_if(|p| p.as_rule() == G::kw_not) {
            nots.push(self.span(&not));
        }
        let mut expr = self.expr_node(parts.next()?)?;
        if let Some(op) = parts.peek().and_then(|p| binary_op(p.as_rule())) {
            parts.next();
            let right = self.expr_node(parts.next()?)?;
            expr = binary(op, expr, right);
        }
        for not in nots.into_iter().rev() {
            let span = not.cover(expr.span);
            expr = Expr {
                kind: ExprKind::Not(Box::new(expr)),
                span,
            };
        }
        Some(expr)
    }

    #[inline(never)]
    fn postfix(&mut self, pair: Pair<'_, G>) -> Option<Expr> {
        let mut inner = pair.into_inner();
        let mut expr = self.expr_node(inner.next()?)?;
        for part in inner {
            if part.as_rule() == G::field_name {
                let field = self.spanned(&part);
                let span = expr.span.cover(field.span);
                expr = Expr {
                    kind: ExprKind::Field(Box::new(expr), field),
                    span,
                };
            }
        }
        Some(expr)
    }

    #[inline(never)]
    fn parenthesised(&mut self, pair: Pair<'_, G>) -> Option<Expr> {
        let span = self.span(&pair);
        let inner = pair.into_inner().find(|p| p.as_rule() == G::expr)?;
        let mut expr = self.expr_node(inner)?;
        expr.span = span;
        Some(expr)
    }

    #[inline(never)]
    fn list(&mut self, pair: Pair<'_, G>) -> Option<Expr> {
        let span = self.span(&pair);
        let mut items = Vec::new();
        for child in pair.into_inner() {
            if !matches!(child.as_rule(), G::lbrack | G::rbrack | G::comma) {
                items.push(self.expr_node(child)?);
            }
        }
        Some(Expr {
            kind: ExprKind::List(items),
            span,
        })
    }

    /// A `name` pair: an identifier, followed by `(` and arguments when it is a call.
    #[inline(never)]
    fn name_or_call(&mut self, pair: Pair<'_, G>) -> Option<Expr> {
        let span = self.span(&pair);
        let mut inner = pair.into_inner();
        let function = self.spanned(&inner.next()?);
        let Some(_lparen) = inner.next() else {
            // A name's pair may end after the whitespace that the failed `(` skipped: the
            // identifier is the name.
            return Some(Expr {
                span: function.span,
                kind: ExprKind::Name(function.value),
            });
        };
        let mut arguments = Vec::new();
        for child in inner {
            if child.as_rule() == G::expr {
                arguments.push(self.expr_node(child)?);
            }
        }
        Some(Expr {
            kind: ExprKind::Call(function, arguments),
            span,
        })
    }

    #[inline(never)]
    fn literal(&mut self, pair: &Pair<'_, G>) -> Option<Expr> {
        let span = self.span(pair);
        let kind = match pair.as_rule() {
            G::kw_true => ExprKind::Bool(true),
            G::kw_false => ExprKind::Bool(false),
            G::kw_null => ExprKind::Null,
            G::string => ExprKind::String(unescape(string_body(pair.as_str()))),
            G::integer => match pair.as_str().parse::<i64>() {
                Ok(value) => ExprKind::Integer(value),
                Err(_) => {
                    let message =
                        format!("the integer `{}` does not fit in 64 bits", pair.as_str());
                    self.error(message, span);
                    return None;
                }
            },
            G::size => match size_in_bytes(pair.as_str()) {
                Ok(bytes) => ExprKind::Size(bytes),
                Err(message) => {
                    self.error(message, span);
                    return None;
                }
            },
            _ => return None,
        };
        Some(Expr { kind, span })
    }

    #[inline(never)]
    fn quantifier(&mut self, pair: Pair<'_, G>) -> Option<Expr> {
        let span = self.span(&pair);
        let mut kind = None;
        let mut variable = None;
        let mut exprs = Vec::new();
        let mut keyword = None;
        for child in pair.into_inner() {
            match child.as_rule() {
                G::quantifier_kind => {
                    keyword = Some(self.span(&child));
                    kind = match child.as_str() {
                        "any" => Some(QuantifierKind::Any),
                        "all" => Some(QuantifierKind::All),
                        _ => Some(QuantifierKind::Count),
                    };
                }
                G::ident => variable = Some(self.spanned(&child)),
                G::expr => exprs.push(child),
                _ => {}
            }
        }
        let kind = kind?;
        let mut exprs = exprs.into_iter();
        let collection = self.expr_node(exprs.next()?)?;
        let condition = match exprs.next() {
            Some(condition) => Some(self.expr_node(condition)?),
            None => None,
        };
        if condition.is_none() && kind != QuantifierKind::Count {
            let word = if kind == QuantifierKind::Any {
                "any"
            } else {
                "all"
            };
            self.diagnostics.push(
                Diagnostic::error(format!("`{word}` needs a condition"))
                    .with_span(keyword.unwrap_or(span))
                    .with_help(format!(
                        "write `{word}(x in COLLECTION where CONDITION)`; only `count` may leave \
                         out `where`"
                    )),
            );
            return None;
        }
        Some(Expr {
            kind: ExprKind::Quantifier(Box::new(Quantifier {
                kind,
                variable: variable?,
                collection,
                condition,
            })),
            span,
        })
    }

    // ------------------------------------------------------------ messages

    /// A message string: literal text and `{expr}` holes, each hole parsed on its own.
    fn template(&mut self, pair: &Pair<'_, G>) -> Option<Template> {
        let span = self.span(pair);
        let raw = pair.as_str();
        // The body without its quotes, at this file offset.
        let body_start = self.base + pair.as_span().start() + 1;
        let body = raw.get(1..raw.len().saturating_sub(1)).unwrap_or("");
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut ok = true;
        let bytes = body.as_bytes();
        let mut at = 0;
        let mut text_start = 0;
        while at < bytes.len() {
            match bytes.get(at..(at + 2).min(bytes.len())) {
                Some(b"{{") | Some(b"}}") => {
                    literal.push_str(&unescape(body.get(text_start..at).unwrap_or("")));
                    literal.push(if bytes.get(at) == Some(&b'{') {
                        '{'
                    } else {
                        '}'
                    });
                    at += 2;
                    text_start = at;
                }
                Some(b"\\u") => {
                    at += body
                        .get(at..)
                        .and_then(|rest| rest.find('}'))
                        .map_or(2, |close| close + 1)
                }
                Some([b'\\', _]) => at += 2,
                Some([b'{', ..]) => {
                    literal.push_str(&unescape(body.get(text_start..at).unwrap_or("")));
                    let Some(close) = body.get(at..).and_then(|rest| rest.find('}')) else {
                        self.diagnostics.push(
                            Diagnostic::error("unclosed `{` in the message")
                                .with_span(Span::new(
                                    self.file,
                                    body_start + at..body_start + at + 1,
                                ))
                                .with_help(
                                    "close the hole with `}`, or write `{{` for a literal brace",
                                ),
                        );
                        return None;
                    };
                    if !literal.is_empty() {
                        parts.push(TemplatePart::Text(std::mem::take(&mut literal)));
                    }
                    let hole = body_start + at + 1..body_start + at + close;
                    match self.hole(hole) {
                        Some(expr) => parts.push(TemplatePart::Hole(expr)),
                        None => ok = false,
                    }
                    at += close + 1;
                    text_start = at;
                }
                Some([b'}', ..]) => {
                    self.diagnostics.push(
                        Diagnostic::error("unmatched `}` in the message")
                            .with_span(Span::new(self.file, body_start + at..body_start + at + 1))
                            .with_help("write `}}` for a literal brace"),
                    );
                    return None;
                }
                _ => at += 1,
            }
        }
        literal.push_str(&unescape(body.get(text_start..).unwrap_or("")));
        if !literal.is_empty() {
            parts.push(TemplatePart::Text(literal));
        }
        ok.then_some(Template { parts, span })
    }

    /// Parses the expression of a message hole at `range` of the file.
    fn hole(&mut self, range: std::ops::Range<usize>) -> Option<Expr> {
        let text = self.text.get(range.clone())?;
        let lexed = lexer::lex(self.file, self.text, range.clone());
        if text.trim().is_empty() {
            let at = range.start.saturating_sub(1);
            self.diagnostics.push(
                Diagnostic::error("empty `{}` in the message")
                    .with_span(Span::new(self.file, at..range.end + 1))
                    .with_help("put an expression inside, such as `{pkg.name}`, or write `{{}}` for literal braces"),
            );
            return None;
        }
        if let Some(first) = lexed.errors.into_iter().next() {
            let first = if text.contains('\\') {
                first.with_help("a `{…}` hole holds an expression without strings or escapes")
            } else {
                first
            };
            self.diagnostics.push(first);
            return None;
        }
        if let Some(too_deep) = lexer::check_expression_depth(self.file, self.text, &lexed.tokens) {
            self.diagnostics.push(too_deep);
            return None;
        }
        match DplParser::parse(G::hole, text) {
            Ok(mut pairs) => {
                let hole = pairs.next()?;
                let expr = hole.into_inner().find(|p| p.as_rule() == G::expr)?;
                let outer_base = std::mem::replace(&mut self.base, range.start);
                let outer_tokens = std::mem::replace(&mut self.tokens, lexed.tokens);
                let built = self.expr_node(expr);
                self.base = outer_base;
                self.tokens = outer_tokens;
                built
            }
            Err(error) => {
                let diagnostic = syntax_error::describe(
                    self.file,
                    self.text,
                    range.start,
                    &lexed.tokens,
                    &error,
                );
                self.diagnostics.push(diagnostic);
                None
            }
        }
    }
}

fn binary(op: BinaryOp, left: Expr, right: Expr) -> Expr {
    let span = left.span.cover(right.span);
    Expr {
        kind: ExprKind::Binary(op, Box::new(left), Box::new(right)),
        span,
    }
}

fn binary_op(rule: G) -> Option<BinaryOp> {
    Some(match rule {
        G::op_eq => BinaryOp::Eq,
        G::op_ne => BinaryOp::Ne,
        G::op_lt => BinaryOp::Lt,
        G::op_le => BinaryOp::Le,
        G::op_gt => BinaryOp::Gt,
        G::op_ge => BinaryOp::Ge,
        G::kw_in => BinaryOp::In,
        G::op_not_in => BinaryOp::NotIn,
        G::kw_matches => BinaryOp::Matches,
        _ => return None,
    })
}

/// 1-based line and column (in chars) of `offset` in `text`.
pub(crate) fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset.min(text.len())).unwrap_or("");
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// The text between the quotes of a `"…"` token.
fn string_body(token: &str) -> &str {
    token.get(1..token.len().saturating_sub(1)).unwrap_or("")
}

/// The text between the `"""` of a block token.
fn block_body(token: &str) -> &str {
    token.get(3..token.len().saturating_sub(3)).unwrap_or("")
}

/// Resolves `\" \\ \n \t \u{…}` (the lexer has checked them; anything else is kept as is).
fn unescape(body: &str) -> String {
    let mut out = String::with_capacity(body.len());
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('u') => {
                let rest = chars.as_str();
                let scalar = rest
                    .strip_prefix('{')
                    .and_then(|r| r.split_once('}'))
                    .and_then(|(hex, _)| u32::from_str_radix(hex, 16).ok())
                    .and_then(char::from_u32);
                match scalar {
                    Some(scalar) => {
                        out.push(scalar);
                        let skip = rest.find('}').map_or(0, |i| i + 1);
                        chars = rest.get(skip..).unwrap_or("").chars();
                    }
                    None => out.push_str("\\u"),
                }
            }
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

/// A `"""` block's text: a first line that is blank (the rest of the opening line) and a
/// last line that is only indentation are dropped, then the indentation common to all
/// non-blank lines is removed, as is trailing space. Lines are joined with `\n`.
fn dedent(body: &str) -> String {
    let mut lines: Vec<&str> = body
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .collect();
    if lines.len() > 1 && lines.first().is_some_and(|l| l.trim().is_empty()) {
        lines.remove(0);
    }
    if lines.len() > 1 && lines.last().is_some_and(|l| l.trim().is_empty()) {
        lines.pop();
    }
    let indent = lines
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start_matches([' ', '\t']).len())
        .min()
        .unwrap_or(0);
    let mut out = String::with_capacity(body.len());
    for (i, line) in lines.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(line.get(indent..).unwrap_or("").trim_end());
    }
    out
}

/// The bytes of a size literal such as `300MB` or `1.5GiB`.
pub fn size_in_bytes(literal: &str) -> Result<u64, String> {
    let unit_start = literal
        .find(|c: char| c.is_ascii_alphabetic())
        .unwrap_or(literal.len());
    let (number, unit) = literal.split_at(unit_start);
    let multiplier: u128 = match unit {
        "B" => 1,
        "KB" => 1_000,
        "MB" => 1_000_000,
        "GB" => 1_000_000_000,
        "TB" => 1_000_000_000_000,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        "TiB" => 1 << 40,
        _ => return Err(format!("unknown size unit `{unit}`")),
    };
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    let too_large = || format!("the size `{literal}` does not fit in 64 bits");
    // More digits than this cannot fit anyway; refusing them keeps the arithmetic exact.
    if whole.len() > 24 || fraction.len() > 24 {
        return Err(too_large());
    }
    let whole: u128 = whole.parse().map_err(|_| too_large())?;
    let scale = 10u128.pow(u32::try_from(fraction.len()).unwrap_or(0));
    let fraction_value: u128 = if fraction.is_empty() {
        0
    } else {
        fraction.parse().map_err(|_| too_large())?
    };
    let fraction_bytes = fraction_value * multiplier;
    if fraction_bytes % scale != 0 {
        return Err(format!(
            "the size `{literal}` is not a whole number of bytes"
        ));
    }
    let bytes = whole
        .checked_mul(multiplier)
        .and_then(|b| b.checked_add(fraction_bytes / scale))
        .ok_or_else(too_large)?;
    u64::try_from(bytes).map_err(|_| too_large())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_exact() {
        assert_eq!(size_in_bytes("300MB"), Ok(300_000_000));
        assert_eq!(size_in_bytes("1.5GiB"), Ok(1_610_612_736));
        assert_eq!(size_in_bytes("10KiB"), Ok(10_240));
        assert_eq!(size_in_bytes("512B"), Ok(512));
        assert!(size_in_bytes("1.5B").is_err());
        assert!(size_in_bytes("99999999TB").is_err());
        assert!(size_in_bytes("99999999999999999999999999999B").is_err());
    }

    #[test]
    fn unescape_handles_every_escape() {
        assert_eq!(
            unescape(r#"a\"b\\c\nd\te\u{e9}\u{1F600}"#),
            "a\"b\\c\nd\te\u{e9}\u{1F600}"
        );
    }

    #[test]
    fn dedent_removes_common_indentation() {
        assert_eq!(
            dedent("\n  ## What\n    code\n  end\n  "),
            "## What\n  code\nend"
        );
        assert_eq!(dedent("one line"), "one line");
        assert_eq!(dedent(""), "");
    }

    #[test]
    fn line_column_counts_from_one() {
        assert_eq!(line_column("ab\ncé d", 7), (2, 4));
    }
}
