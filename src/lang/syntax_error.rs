//! Syntax errors in words a rule author knows.
//!
//! pest reports the position where parsing got furthest and the grammar rules it could have
//! matched there. This module turns that set, together with the token before the position
//! (the keyword that opened the clause, usually), into a message such as "expected a
//! condition after `where`", underlines the offending token and adds a help line where one
//! helps. No message ever names a grammar rule.

use pest::error::{ErrorVariant, InputLocation};

use super::lexer::{Token, TokenKind};
use super::parser::grammar::Rule as G;
use super::parser::line_column;
use crate::diag::Diagnostic;
use crate::source::{FileId, Span};

const KEYWORDS: [&str; 21] = [
    "rule", "for", "in", "where", "report", "related", "and", "or", "not", "true", "false", "null",
    "any", "all", "count", "matches", "param", "severity", "tags", "summary", "doc",
];

const COMPARISONS: [&str; 6] = ["==", "!=", "<", "<=", ">", ">="];

/// What the parser was looking at when it failed.
struct Context<'a> {
    text: &'a str,
    expected: Vec<G>,
    /// The token that could not be parsed, `None` at the end of the input.
    offending: Option<Token>,
    /// The tokens before it, nearest last.
    before: &'a [Token],
}

impl Context<'_> {
    fn expects(&self, rule: G) -> bool {
        self.expected.contains(&rule)
    }

    fn expects_any(&self, rules: &[G]) -> bool {
        rules.iter().any(|r| self.expects(*r))
    }

    fn token_text(&self, token: Token) -> &str {
        self.text.get(token.start..token.end).unwrap_or("")
    }

    fn offending_text(&self) -> Option<&str> {
        self.offending.map(|t| self.token_text(t))
    }

    /// The `n`th token before the offending one (0 = the one right before).
    fn back(&self, n: usize) -> Option<&str> {
        let index = self.before.len().checked_sub(n + 1)?;
        self.before.get(index).map(|t| self.token_text(*t))
    }

    fn previous(&self) -> Option<&str> {
        self.back(0)
    }

    /// The innermost bracket opened before the failure and not closed: its text and line.
    fn open_bracket(&self) -> Option<(&str, usize)> {
        let mut stack = Vec::new();
        for token in self.before {
            match self.token_text(*token) {
                "(" | "[" | "{" => stack.push(*token),
                ")" | "]" | "}" => {
                    stack.pop();
                }
                _ => {}
            }
        }
        let open = stack.last()?;
        Some((self.token_text(*open), line_column(self.text, open.start).0))
    }

    /// The clause keyword (`for`, `where`, `report`, `related`) the failure is inside.
    fn clause(&self) -> Option<&str> {
        let mut depth = 0usize;
        for token in self.before.iter().rev() {
            match self.token_text(*token) {
                ")" | "]" => depth += 1,
                "(" | "[" => depth = depth.saturating_sub(1),
                word @ ("for" | "where" | "report" | "related" | "param") if depth == 0 => {
                    return Some(word)
                }
                _ => {}
            }
        }
        None
    }
}

/// Rules that mean "an expression could start here".
const EXPRESSION_START: [G; 11] = [
    G::expr,
    G::postfix,
    G::quantifier,
    G::name,
    G::paren,
    G::list,
    G::size,
    G::integer,
    G::kw_true,
    G::kw_null,
    G::quantifier_kind,
];

/// Turns a pest error on `text` (at file offset `base`) into a diagnostic for the author.
pub(crate) fn describe(
    file: FileId,
    text: &str,
    base: usize,
    tokens: &[Token],
    error: &pest::error::Error<G>,
) -> Diagnostic {
    let relative = match error.location {
        InputLocation::Pos(pos) => pos,
        InputLocation::Span((start, _)) => start,
    };
    let pos = base + relative;
    let expected = match &error.variant {
        ErrorVariant::ParsingError { positives, .. } => positives.clone(),
        ErrorVariant::CustomError { .. } => Vec::new(),
    };
    let split = tokens.partition_point(|t| t.end <= pos);
    let offending = tokens.get(split).copied();
    let context = Context {
        text,
        expected,
        offending,
        before: tokens.get(..split).unwrap_or(&[]),
    };
    let (message, help) = message(&context);
    // A message string where the reported value belongs: underline the string.
    let misplaced_message = context.expects(G::message)
        && matches!(context.back(1), Some("report" | "related"))
        && context.previous().is_some_and(|p| p.starts_with('"'));
    let offending = if misplaced_message {
        context.before.last().copied()
    } else {
        offending
    };
    let span = match offending {
        Some(token) => Span::new(file, token.start..token.end),
        None => Span::point(file, pos.min(text.len())),
    };
    let diagnostic = Diagnostic::error(message).with_span(span);
    match help {
        Some(help) => diagnostic.with_help(help),
        None => diagnostic,
    }
}

fn code(text: &str) -> String {
    format!("`{text}`")
}

/// The help for metadata written after the query began.
fn metadata_note(word: &str) -> Option<String> {
    matches!(word, "severity" | "tags" | "summary" | "doc" | "param")
        .then(|| format!("metadata such as `{word}` comes before the first `for`"))
}

/// The message and help for a parse failure.
fn message(cx: &Context<'_>) -> (String, Option<String>) {
    let found = cx.offending_text();
    let previous = cx.previous();
    let after = |what: &str| match previous {
        Some(previous) => format!("expected {what} after `{previous}`"),
        None => format!("expected {what}"),
    };
    let keyword_note = |word: &str| {
        KEYWORDS
            .contains(&word)
            .then(|| format!("`{word}` is a keyword and cannot be used as a name"))
    };

    // Mistakes recognisable from the offending token alone.
    if let Some(found) = found {
        if found == "=" && cx.expects(G::op_eq) {
            return (
                "expected `==` to compare, found `=`".into(),
                Some("`=` only gives a parameter its default".into()),
            );
        }
        if COMPARISONS.contains(&found) && !cx.expects(G::op_eq) && cx.expects(G::kw_and) {
            return (
                format!("comparison operators cannot be chained: unexpected `{found}`"),
                Some("join two comparisons with `and`, as in `a < b and b < c`".into()),
            );
        }
        if found == "not" && cx.expects(G::op_not_in) {
            return (
                "expected `in` after `not`".into(),
                Some("`x not in LIST` tests that a value is absent from a list".into()),
            );
        }
    }

    if cx.expects(G::kw_rule) {
        return (
            "expected `rule` at the start of the file".into(),
            Some("a rule file holds one rule: `rule DP1001 some-name { … }`".into()),
        );
    }
    if cx.expects(G::rule_id) {
        return (
            after("a rule ID such as `DP1001`"),
            Some("a rule ID is upper-case letters followed by digits".into()),
        );
    }
    if cx.expects(G::rule_name) {
        return (
            "expected a kebab-case rule name such as `toolchain-in-final-image` after the rule ID"
                .into(),
            Some("a rule name is lower-case letters and digits in words joined by `-`".into()),
        );
    }
    if cx.expects(G::lbrace) {
        return (after("`{` to open the rule's body"), None);
    }
    if cx.expects(G::severity_level) {
        return (
            "`severity` must be `error`, `warning` or `note`".into(),
            None,
        );
    }
    if cx.expects(G::kw_severity) || cx.expects(G::kw_summary) {
        let metadata = ["severity", "tags", "summary", "doc", "param"];
        let help = match found {
            Some(word @ ("where" | "report" | "related")) => Some(format!(
                "a query starts with `for VARIABLE in COLLECTION`, before `{word}`"
            )),
            Some(word) if metadata.contains(&word) => None,
            _ => Some(
                "a rule's body is metadata (`severity`, `tags`, `summary`, `doc`, `param`) \
                 followed by the query `for … [where …] report …`"
                    .into(),
            ),
        };
        return (
            "expected metadata (`severity`, `tags`, `summary`, `doc`, `param`) or `for`".into(),
            help,
        );
    }
    if previous == Some("tags") {
        return (
            "expected a list of strings after `tags`, such as `[\"size\", \"security\"]`".into(),
            None,
        );
    }
    if previous == Some("summary") {
        return (after("a string"), None);
    }
    if previous == Some("doc") {
        return (after("a string or a `\"\"\"` block"), None);
    }
    if cx.expects(G::ident) && previous == Some("param") {
        return (after("a parameter name"), found.and_then(keyword_note));
    }
    if cx.expects(G::assign) {
        let name = previous.map_or(String::new(), |p| format!(" `{p}`"));
        return (format!("expected `=` after the parameter name{name}"), None);
    }
    if cx.clause() == Some("param") && cx.expects(G::integer) {
        return (
            "expected a value for the parameter: a string, number, size, `true`, `false`, \
             `null` or a list of them"
                .into(),
            Some("a parameter's default is a literal; configuration can override it".into()),
        );
    }
    if cx.expects(G::ident) && previous == Some("for") {
        return (after("a variable name"), found.and_then(keyword_note));
    }
    if cx.expects(G::ident) && matches!(previous, Some("(")) {
        let quantifier = cx.back(1).unwrap_or("any");
        return (
            format!("expected a variable name after `{quantifier}(`"),
            Some(format!(
                "write `{quantifier}(x in COLLECTION where CONDITION)`"
            )),
        );
    }
    if cx.expects(G::kw_in) && previous == Some("not") {
        return (
            after("`in`"),
            Some("`x not in LIST` tests that a value is absent from a list".into()),
        );
    }
    if cx.expects(G::kw_in) && !cx.expects(G::dot) {
        let variable = previous.unwrap_or("the variable");
        return (
            format!("expected `in` after the variable `{variable}`"),
            Some(format!("write `{variable} in COLLECTION`")),
        );
    }
    if cx.expects(G::field_name) {
        return (
            after("a field name"),
            Some("field names are lower-case words, as in `pkg.name`".into()),
        );
    }
    if cx.expects(G::lparen) && matches!(previous, Some("any" | "all" | "count")) {
        let word = previous.unwrap_or("any");
        return (
            after("`(`"),
            Some(format!("write `{word}(x in COLLECTION where CONDITION)`")),
        );
    }
    if cx.expects_any(&EXPRESSION_START) || cx.expects(G::string) && !cx.expects(G::message) {
        let what = match previous {
            Some("where") => "a condition".to_string(),
            Some("in") => "a collection".to_string(),
            Some("report") => "the value to report".to_string(),
            Some("related") => "the related value".to_string(),
            Some(op) if COMPARISONS.contains(&op) || op == "matches" => "a value".to_string(),
            _ => "an expression".to_string(),
        };
        let lower_case_help = found
            .filter(|f| f.chars().any(|c| c.is_ascii_uppercase()))
            .map(|_| "names are lower-case letters, digits and `_`".to_string());
        let help = match previous {
            Some("report" | "related") => {
                Some("the value's span is where the finding points: `report pkg.name \"…\"`".into())
            }
            Some("in") => Some(
                "a collection is a name such as `images` or a field such as `img.packages`".into(),
            ),
            _ => lower_case_help,
        };
        return (after(&what), help);
    }
    if cx.expects(G::message)
        && matches!(cx.back(1), Some("report" | "related"))
        && previous.is_some_and(|p| p.starts_with('"'))
    {
        let clause = cx.back(1).unwrap_or("report");
        return (
            format!("expected the value to {clause} before the message"),
            Some(format!(
                "write `{clause} VALUE \"message\"`; the value's span is where the finding points"
            )),
        );
    }
    if cx.expects(G::message) {
        let clause = cx.clause().unwrap_or("report");
        let value = if clause == "related" {
            "related"
        } else {
            "reported"
        };
        return (
            format!("expected a message string after the {value} value"),
            Some(format!("write `{clause} VALUE \"message with {{holes}}\"`")),
        );
    }
    if cx.expects(G::kw_report) {
        let what = if cx.expects(G::kw_where) {
            "expected `for`, `where` or `report` after the `for` clause"
        } else {
            "expected `report` after the condition"
        };
        let help = found
            .and_then(metadata_note)
            .or_else(|| Some("a query ends with `report VALUE \"message\"`".into()));
        return (what.into(), help);
    }
    if cx.expects(G::kw_where) {
        let word = cx.back(3).unwrap_or("any");
        return (
            format!("expected `where` and a condition in `{word}(…)`"),
            Some(format!("write `{word}(x in COLLECTION where CONDITION)`")),
        );
    }
    if cx.expects(G::rparen) {
        let line = cx.open_bracket().map(|(_, line)| line).unwrap_or(1);
        return (
            format!("expected `)` to close the `(` on line {line}"),
            None,
        );
    }
    if cx.expects(G::rbrack) {
        let line = cx.open_bracket().map(|(_, line)| line).unwrap_or(1);
        let what = if cx.expects(G::comma) {
            "`,` or `]`"
        } else {
            "`]`"
        };
        return (
            format!("expected {what} to close the list opened on line {line}"),
            None,
        );
    }
    if cx.expects(G::rbrace) {
        let help = match found {
            Some("rule") => Some("a rule file holds exactly one rule".into()),
            Some(word) => metadata_note(word),
            None => None,
        };
        return (
            "expected `related`, another `for … report` query, or the `}` that closes the rule"
                .into(),
            help,
        );
    }
    if cx.expects(G::EOI) {
        return (
            "expected the end of the file after the rule's closing `}`".into(),
            Some("a rule file holds exactly one rule".into()),
        );
    }
    // A fallback that still never names a grammar rule.
    let unexpected = match cx.offending {
        Some(token) if matches!(token.kind, TokenKind::String | TokenKind::Block) => {
            "unexpected string".to_string()
        }
        Some(token) => format!("unexpected {}", code(cx.token_text(token))),
        None => "unexpected end of file".to_string(),
    };
    (unexpected, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyword_list_matches_the_grammar() {
        let grammar = include_str!("../../grammar/dpl.pest");
        for keyword in KEYWORDS {
            assert!(
                grammar.contains(&format!("\"{keyword}\" ~ !ident_char"))
                    || grammar.contains(&format!("\"{keyword}\" |"))
                    || grammar.contains(&format!("| \"{keyword}\"")),
                "{keyword}"
            );
        }
    }
}
