//! A linear pre-pass over a rule file before pest sees it.
//!
//! It finds the lexical mistakes that a grammar can only report vaguely (unterminated strings,
//! unknown escapes, unknown size units, stray characters) with messages of their own, bounds
//! bracket nesting so that the recursive-descent parser can never exhaust the stack, and keeps
//! the token boundaries that syntax errors use to name and underline the offending token.

use crate::diag::Diagnostic;
use crate::source::{FileId, Span};

/// Deepest nesting of `(`, `[`, `{` (message holes included) a rule file may use.
pub const MAX_NESTING: usize = 64;

/// The deepest syntax tree an expression may produce (operators chain without brackets:
/// `a or b or …` nests one level per `or`). Trees stay shallow enough for every later
/// recursive pass, drop included.
pub const MAX_EXPRESSION_DEPTH: usize = 256;

/// Lexing stops after this many errors: the rest would mostly be noise.
const MAX_LEXICAL_ERRORS: usize = 20;

/// The units a size literal may carry, case-sensitive.
pub const SIZE_UNITS: [&str; 9] = ["B", "KB", "MB", "GB", "TB", "KiB", "MiB", "GiB", "TiB"];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenKind {
    /// A keyword, identifier, rule ID or kebab-case name.
    Word,
    Number,
    String,
    /// A `"""` block.
    Block,
    Punct,
}

/// One token, by absolute byte offsets into the rule file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Token {
    pub kind: TokenKind,
    pub start: usize,
    pub end: usize,
}

pub struct Lexed {
    pub tokens: Vec<Token>,
    pub errors: Vec<Diagnostic>,
}

/// Lexes `text[range]` of the file (whose full text is `text`), returning absolute offsets.
pub fn lex(file: FileId, text: &str, range: std::ops::Range<usize>) -> Lexed {
    let mut lexer = Lexer {
        file,
        text,
        bytes: text.as_bytes(),
        pos: range.start,
        end: range.end.min(text.len()),
        tokens: Vec::new(),
        errors: Vec::new(),
        brackets: 0,
    };
    lexer.run();
    Lexed {
        tokens: lexer.tokens,
        errors: lexer.errors,
    }
}

struct Lexer<'a> {
    file: FileId,
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
    end: usize,
    tokens: Vec<Token>,
    errors: Vec<Diagnostic>,
    /// Open brackets in code (unbalanced closers are the grammar's business).
    brackets: usize,
}

/// Whether lexing goes on after a token.
enum Flow {
    Continue,
    Stop,
}

impl Lexer<'_> {
    fn byte(&self, at: usize) -> Option<u8> {
        if at < self.end {
            self.bytes.get(at).copied()
        } else {
            None
        }
    }

    fn span(&self, start: usize, end: usize) -> Span {
        Span::new(self.file, start..end)
    }

    /// The end of the (possibly multi-byte) character starting at `at`.
    fn char_end(&self, at: usize) -> usize {
        let mut next = at + 1;
        while next < self.end && !self.text.is_char_boundary(next) {
            next += 1;
        }
        next.min(self.end)
    }

    fn error(&mut self, diagnostic: Diagnostic) -> Flow {
        self.errors.push(diagnostic);
        if self.errors.len() >= MAX_LEXICAL_ERRORS {
            Flow::Stop
        } else {
            Flow::Continue
        }
    }

    fn push(&mut self, kind: TokenKind, start: usize, end: usize) {
        self.tokens.push(Token { kind, start, end });
    }

    fn too_deep(&mut self, at: usize) -> Flow {
        self.errors.push(
            Diagnostic::error(format!(
                "brackets are nested more than {MAX_NESTING} levels deep"
            ))
            .with_span(self.span(at, at + 1))
            .with_help("split the condition into simpler parts"),
        );
        Flow::Stop
    }

    fn run(&mut self) {
        while let Some(b) = self.byte(self.pos) {
            let flow = match b {
                b' ' | b'\t' | b'\r' | b'\n' => {
                    self.pos += 1;
                    Flow::Continue
                }
                b'#' => {
                    while self.byte(self.pos).is_some_and(|b| b != b'\n') {
                        self.pos += 1;
                    }
                    Flow::Continue
                }
                b'"' if self
                    .text
                    .get(self.pos..self.end)
                    .is_some_and(|rest| rest.starts_with("\"\"\"")) =>
                {
                    self.block()
                }
                b'"' => self.string(),
                b'a'..=b'z' | b'A'..=b'Z' | b'_' => {
                    self.word();
                    Flow::Continue
                }
                b'0'..=b'9' => self.number(),
                b'-' if self.byte(self.pos + 1).is_some_and(|b| b.is_ascii_digit()) => {
                    self.number()
                }
                _ => self.punct(b),
            };
            if let Flow::Stop = flow {
                return;
            }
        }
    }

    fn block(&mut self) -> Flow {
        let start = self.pos;
        let body = start + 3;
        match self
            .text
            .get(body..self.end)
            .and_then(|rest| rest.find("\"\"\""))
        {
            Some(close) => {
                self.pos = body + close + 3;
                self.push(TokenKind::Block, start, self.pos);
                Flow::Continue
            }
            None => {
                self.errors.push(
                    Diagnostic::error("unterminated `\"\"\"` block")
                        .with_span(self.span(start, body))
                        .with_help("close the block with `\"\"\"` on a line of its own"),
                );
                Flow::Stop
            }
        }
    }

    fn string(&mut self) -> Flow {
        let start = self.pos;
        let mut at = start + 1;
        // Message holes nest like brackets; `{{` and `}}` are literal braces.
        let mut holes = 0usize;
        loop {
            match self.byte(at) {
                None | Some(b'\n') => {
                    let line_end = if self.byte(at.saturating_sub(1)) == Some(b'\r') {
                        at - 1
                    } else {
                        at
                    };
                    self.errors.push(
                        Diagnostic::error("unterminated string")
                            .with_span(self.span(start, line_end.max(start + 1)))
                            .with_help(
                                "close the string with `\"`; a string cannot span lines \
                                 (a `\"\"\"` block can)",
                            ),
                    );
                    return Flow::Stop;
                }
                Some(b'"') => break,
                Some(b'\\') => match self.escape(at) {
                    Ok(next) => at = next,
                    Err(diagnostic) => {
                        if let Flow::Stop = self.error(diagnostic) {
                            return Flow::Stop;
                        }
                        at += 1;
                    }
                },
                Some(b'{') if self.byte(at + 1) == Some(b'{') => at += 2,
                Some(b'}') if holes == 0 && self.byte(at + 1) == Some(b'}') => at += 2,
                Some(opener @ (b'{' | b'(' | b'[')) => {
                    if opener == b'{' || holes > 0 {
                        holes += 1;
                        if self.brackets + holes > MAX_NESTING {
                            return self.too_deep(at);
                        }
                    }
                    at += 1;
                }
                Some(b'}' | b')' | b']') => {
                    holes = holes.saturating_sub(1);
                    at += 1;
                }
                Some(_) => at += 1,
            }
        }
        self.pos = at + 1;
        self.push(TokenKind::String, start, self.pos);
        Flow::Continue
    }

    /// Checks the escape starting with the backslash at `at`; returns where it ends.
    fn escape(&self, at: usize) -> Result<usize, Diagnostic> {
        let help = "the escapes are `\\\"`, `\\\\`, `\\n`, `\\t` and `\\u{…}` (1 to 6 hex digits)";
        match self.byte(at + 1) {
            Some(b'"' | b'\\' | b'n' | b't') => Ok(at + 2),
            Some(b'u') => {
                let digits_start = at + 3;
                let mut close = digits_start;
                while self.byte(close).is_some_and(|b| b.is_ascii_hexdigit()) {
                    close += 1;
                }
                let well_formed = self.byte(at + 2) == Some(b'{')
                    && self.byte(close) == Some(b'}')
                    && (1..=6).contains(&(close - digits_start));
                let scalar = self
                    .text
                    .get(digits_start..close)
                    .and_then(|hex| u32::from_str_radix(hex, 16).ok())
                    .and_then(char::from_u32);
                if well_formed && scalar.is_some() {
                    Ok(close + 1)
                } else {
                    let end = if self.byte(close) == Some(b'}') {
                        close + 1
                    } else {
                        (at + 2).min(self.end)
                    };
                    Err(Diagnostic::error("invalid unicode escape")
                        .with_span(self.span(at, end))
                        .with_help(help))
                }
            }
            Some(b'\n') | None => Err(Diagnostic::error("unknown escape `\\`")
                .with_span(self.span(at, at + 1))
                .with_help(help)),
            Some(_) => {
                let end = self.char_end(at + 1);
                let shown = self.text.get(at..end).unwrap_or("\\");
                Err(Diagnostic::error(format!("unknown escape `{shown}`"))
                    .with_span(self.span(at, end))
                    .with_help(help))
            }
        }
    }

    fn word(&mut self) {
        let start = self.pos;
        let mut at = start;
        loop {
            match self.byte(at) {
                Some(b) if b.is_ascii_alphanumeric() || b == b'_' => at += 1,
                Some(b'-') if self.byte(at + 1).is_some_and(|b| b.is_ascii_alphanumeric()) => {
                    at += 1
                }
                _ => break,
            }
        }
        self.pos = at;
        self.push(TokenKind::Word, start, at);
    }

    fn number(&mut self) -> Flow {
        let start = self.pos;
        let mut at = start;
        let negative = self.byte(at) == Some(b'-');
        if negative {
            at += 1;
        }
        let digits = |lexer: &Self, mut at: usize| {
            while lexer.byte(at).is_some_and(|b| b.is_ascii_digit()) {
                at += 1;
            }
            at
        };
        at = digits(self, at);
        let mut fraction = false;
        if self.byte(at) == Some(b'.') && self.byte(at + 1).is_some_and(|b| b.is_ascii_digit()) {
            fraction = true;
            at = digits(self, at + 1);
        }
        let unit_start = at;
        while self
            .byte(at)
            .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            at += 1;
        }
        self.pos = at;
        self.push(TokenKind::Number, start, at);
        let unit = self.text.get(unit_start..at).unwrap_or("");
        let number = self.text.get(start..at).unwrap_or("");
        let span = self.span(start, at);
        let units_help = "size units are case-sensitive: `B`, `KB`, `MB`, `GB`, `TB` (powers of \
                          1000) and `KiB`, `MiB`, `GiB`, `TiB` (powers of 1024)";
        if !unit.is_empty() && !SIZE_UNITS.contains(&unit) {
            self.error(
                Diagnostic::error(format!("unknown size unit `{unit}` in `{number}`"))
                    .with_span(span)
                    .with_help(units_help),
            )
        } else if negative && !unit.is_empty() {
            self.error(
                Diagnostic::error(format!("a size cannot be negative: `{number}`")).with_span(span),
            )
        } else if fraction && unit.is_empty() {
            self.error(
                Diagnostic::error(format!("`{number}` is not a whole number"))
                    .with_span(span)
                    .with_help(format!(
                        "numbers are integers; a fraction needs a size unit, as in `{number}GB`"
                    )),
            )
        } else {
            Flow::Continue
        }
    }

    fn punct(&mut self, b: u8) -> Flow {
        let start = self.pos;
        let two = self
            .text
            .get(start..(start + 2).min(self.end))
            .unwrap_or("");
        let width = match (b, two) {
            (_, "==" | "!=" | "<=" | ">=") => 2,
            (b'(' | b'[' | b'{', _) => {
                self.brackets += 1;
                if self.brackets > MAX_NESTING {
                    return self.too_deep(start);
                }
                1
            }
            (b')' | b']' | b'}', _) => {
                self.brackets = self.brackets.saturating_sub(1);
                1
            }
            (b',' | b'.' | b'=' | b'<' | b'>', _) => 1,
            _ => {
                let end = self.char_end(start);
                let shown = self.text.get(start..end).unwrap_or("?").to_string();
                let (message, help) = match (b, two) {
                    (_, "&&") => ("unexpected `&&`".to_string(), Some("write `and`")),
                    (_, "||") => ("unexpected `||`".to_string(), Some("write `or`")),
                    (b'!', _) => (
                        "unexpected `!`".to_string(),
                        Some("write `not` to negate, `!=` to compare"),
                    ),
                    (b'\'', _) => (
                        "unexpected `'`".to_string(),
                        Some("strings are written in double quotes: \"…\""),
                    ),
                    _ if shown.chars().any(char::is_control) => (
                        format!("unexpected character `{}`", shown.escape_debug()),
                        None,
                    ),
                    _ => (format!("unexpected character `{shown}`"), None),
                };
                let width = if two == "&&" || two == "||" {
                    2
                } else {
                    end - start
                };
                let mut diagnostic =
                    Diagnostic::error(message).with_span(self.span(start, start + width));
                if let Some(help) = help {
                    diagnostic = diagnostic.with_help(help);
                }
                self.pos = start + width;
                return self.error(diagnostic);
            }
        };
        self.pos = start + width;
        self.push(TokenKind::Punct, start, self.pos);
        Flow::Continue
    }
}

/// Refuses token streams whose expressions could nest deeper than [`MAX_EXPRESSION_DEPTH`].
///
/// An upper bound, computed in one pass: within one bracket level, one expression's tree is
/// at most one level deeper per operator, so the depth is bounded by the operators counted
/// since the last separator (`,` or a clause keyword) on every enclosing level plus the
/// number of enclosing brackets.
pub fn check_expression_depth(file: FileId, text: &str, tokens: &[Token]) -> Option<Diagnostic> {
    let mut levels: Vec<usize> = vec![0];
    let mut operators = 0usize;
    for token in tokens {
        let word = text.get(token.start..token.end).unwrap_or("");
        match word {
            "(" | "[" | "{" => levels.push(0),
            ")" | "]" | "}" if levels.len() > 1 => {
                operators -= levels.pop().unwrap_or(0);
            }
            "," | "for" | "where" | "report" | "related" | "param" => {
                if let Some(level) = levels.last_mut() {
                    operators -= *level;
                    *level = 0;
                }
            }
            "or" | "and" | "not" | "in" | "matches" | "." | "==" | "!=" | "<" | "<=" | ">"
            | ">=" => {
                if let Some(level) = levels.last_mut() {
                    *level += 1;
                    operators += 1;
                }
            }
            _ => {}
        }
        if operators + levels.len() > MAX_EXPRESSION_DEPTH {
            return Some(
                Diagnostic::error(format!(
                    "this expression nests more than {MAX_EXPRESSION_DEPTH} levels deep"
                ))
                .with_span(Span::new(file, token.start..token.end))
                .with_help(
                    "split it into simpler conditions, or use `in [...]` for long alternatives",
                ),
            );
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lex_all(text: &str) -> Lexed {
        lex(FileId(0), text, 0..text.len())
    }

    fn token_texts(text: &str) -> Vec<&str> {
        lex_all(text)
            .tokens
            .iter()
            .map(|t| &text[t.start..t.end])
            .collect()
    }

    #[test]
    fn splits_words_numbers_strings_and_punctuation() {
        assert_eq!(
            token_texts("rule DP1 a-b { x.y >= 1.5GiB # c\n \"s{x}\" \"\"\"d\"\"\" }"),
            [
                "rule",
                "DP1",
                "a-b",
                "{",
                "x",
                ".",
                "y",
                ">=",
                "1.5GiB",
                "\"s{x}\"",
                "\"\"\"d\"\"\"",
                "}"
            ]
        );
    }

    #[test]
    fn nesting_is_bounded_in_code_and_in_message_holes() {
        let deep = format!("{}x", "(".repeat(MAX_NESTING + 1));
        let lexed = lex_all(&deep);
        let span = lexed.errors[0].span.unwrap();
        assert_eq!(span.start as usize, MAX_NESTING);
        let hole = format!("\"{{{}\"", "(".repeat(MAX_NESTING));
        assert_eq!(lex_all(&hole).errors.len(), 1);
        let literal = format!("\"{}\"", "(".repeat(MAX_NESTING * 2));
        assert!(lex_all(&literal).errors.is_empty());
    }

    #[test]
    fn escapes_are_checked() {
        let text = r#""a\qb" "\u{110000}" "\u{1F600}""#;
        let lexed = lex_all(text);
        let shown: Vec<&str> = lexed
            .errors
            .iter()
            .map(|e| &text[e.span.unwrap().range()])
            .collect();
        assert_eq!(shown, ["\\q", "\\u{110000}"]);
    }
}
