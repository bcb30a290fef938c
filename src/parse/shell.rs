//! Splits the shell text of a Dockerfile `RUN` (or a heredoc body) into simple commands and
//! words, POSIX-sh style: quotes, escapes, expansions, operators, redirections, comments,
//! here-documents, subshells, groups and compound commands, and the strings of `sh -c '…'`,
//! which are parsed again so that their commands are modelled too. Every word keeps a map
//! from its unquoted text back to file offsets.
//!
//! Work is linear in the input times the `sh -c` nesting bound; nesting is tracked with
//! explicit stacks, and the only recursion (into `sh -c` strings) is bounded.

use std::ops::Range;

use crate::diag::Diagnostic;
use crate::model::shell::{
    file_name, Assignment, Command, Redirection, Separator, ShellScript, Word,
};
use crate::source::{FileId, MappedText, Span, Spanned, TextMap};

/// How many `sh -c` strings may be nested inside each other before we stop descending.
const MAX_SHELL_STRING_DEPTH: u32 = 8;
/// How many subshells, groups and compound commands may be open at once before we stop
/// tracking them (a diagnostic says so).
const MAX_NESTING: usize = 256;

/// Parses `script` into its simple commands.
pub fn parse_shell(script: &MappedText) -> ShellScript {
    let src = Src::from_mapped(script);
    let mut out = ShellScript::default();
    parse_src(&src, Nesting::default(), &mut out);
    out
}

/// Where a script being parsed sits: inside how much nesting, and inside which `sh -c`.
#[derive(Clone, Copy, Default)]
struct Nesting {
    depth: u32,
    parent: Option<usize>,
    string_level: u32,
}

fn parse_src(src: &Src<'_>, nesting: Nesting, out: &mut ShellScript) {
    let mut parser = Parser {
        lexer: Lexer::new(src),
        peeked: None,
        out,
        nesting,
        stack: Vec::new(),
        overflow: 0,
        mode: Mode::Normal,
        for_parens: 0,
        pattern_started: false,
        current: Pending::default(),
    };
    parser.run();
}

/// Logical text with the file offset of every byte (and one past the end).
struct Src<'a> {
    file: FileId,
    text: &'a str,
    offsets: Vec<u32>,
}

impl<'a> Src<'a> {
    fn from_mapped(script: &'a MappedText) -> Src<'a> {
        let offsets = (0..=script.text.len())
            .map(|i| u32::try_from(script.file_offset(i)).unwrap_or(u32::MAX))
            .collect();
        Src {
            file: script.file,
            text: &script.text,
            offsets,
        }
    }

    fn from_word(word: &'a Word) -> Src<'a> {
        let mut offsets = Vec::with_capacity(word.text.len() + 1);
        word.map.for_each_run(|file_offset, len| {
            offsets.extend((file_offset..file_offset + len).map(to_u32));
        });
        offsets.truncate(word.text.len());
        let end = offsets.last().map_or(word.span.start, |&last| last + 1);
        offsets.resize(word.text.len(), end);
        offsets.push(end);
        Src {
            file: word.span.file,
            text: &word.text,
            offsets,
        }
    }

    fn offset(&self, logical: usize) -> u32 {
        self.offsets
            .get(logical)
            .or(self.offsets.last())
            .copied()
            .unwrap_or(0)
    }

    fn span(&self, range: Range<usize>) -> Span {
        if range.end <= range.start {
            return Span::point(self.file, self.offset(range.start) as usize);
        }
        let start = self.offset(range.start) as usize;
        let end = self.offset(range.end - 1) as usize + 1;
        Span::new(self.file, start..end)
    }
}

fn to_u32(value: usize) -> u32 {
    u32::try_from(value).unwrap_or(u32::MAX)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    And,
    Or,
    Semicolon,
    CaseBreak,
    Pipe,
    Background,
    Newline,
    Open,
    Close,
}

enum Token {
    Word(Word, Range<usize>),
    Op(Op, Span),
    Redirect(Redirection),
}

/// A word being assembled from pieces of the source.
struct WordBuf {
    bytes: Vec<u8>,
    map: TextMap,
    expansions: Vec<Range<u32>>,
    quoted: bool,
}

impl WordBuf {
    fn new(file: FileId) -> WordBuf {
        WordBuf {
            bytes: Vec::new(),
            map: TextMap::new(file),
            expansions: Vec::new(),
            quoted: false,
        }
    }

    /// Appends the source bytes `range`, mapping each run of consecutive file offsets.
    fn push_src(&mut self, src: &Src<'_>, range: Range<usize>) {
        let Some(part) = src.text.as_bytes().get(range.clone()) else {
            return;
        };
        let mut run_start = range.start;
        for k in range.start + 1..range.end {
            if src.offset(k) != src.offset(k - 1).saturating_add(1) {
                self.map.push(src.offset(run_start) as usize, k - run_start);
                run_start = k;
            }
        }
        self.map
            .push(src.offset(run_start) as usize, range.end - run_start);
        self.bytes.extend_from_slice(part);
    }

    fn push_expansion(&mut self, src: &Src<'_>, range: Range<usize>) {
        let start = to_u32(self.bytes.len());
        self.push_src(src, range);
        self.expansions.push(start..to_u32(self.bytes.len()));
    }

    fn finish(self, span: Span) -> Word {
        let text = String::from_utf8(self.bytes)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
        Word {
            text,
            span,
            has_expansion: !self.expansions.is_empty(),
            quoted: self.quoted,
            expansions: self.expansions,
            map: self.map,
        }
    }
}

/// Frames of a nested scan over `$(…)`, `${…}`, double quotes and backticks.
#[derive(Clone, Copy, PartialEq, Eq)]
enum ScanFrame {
    Paren,
    Brace,
    DoubleQuote,
    Backtick,
}

struct Lexer<'s, 'a> {
    src: &'s Src<'a>,
    bytes: &'a [u8],
    pos: usize,
    /// Here-document delimiters waiting for the next line break, with their `<<-` flag.
    pending_heredocs: Vec<(String, bool, Span)>,
    diagnostics: Vec<Diagnostic>,
}

fn is_blank(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r')
}

/// Bytes that end an unquoted word.
fn ends_word(b: u8) -> bool {
    matches!(
        b,
        b' ' | b'\t' | b'\r' | b'\n' | b';' | b'&' | b'|' | b'<' | b'>' | b'(' | b')'
    )
}

fn is_name_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_'
}

fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

fn utf8_len(lead: u8) -> usize {
    match lead {
        0xF0..=0xFF => 4,
        0xE0..=0xEF => 3,
        0xC0..=0xDF => 2,
        _ => 1,
    }
}

impl<'s, 'a> Lexer<'s, 'a> {
    fn new(src: &'s Src<'a>) -> Lexer<'s, 'a> {
        Lexer {
            src,
            bytes: src.text.as_bytes(),
            pos: 0,
            pending_heredocs: Vec::new(),
            diagnostics: Vec::new(),
        }
    }

    fn byte(&self, i: usize) -> Option<u8> {
        self.bytes.get(i).copied()
    }

    fn find_byte(&self, needle: u8, from: usize) -> Option<usize> {
        self.bytes
            .get(from..)
            .and_then(|rest| rest.iter().position(|&b| b == needle))
            .map(|i| from + i)
    }

    fn error(&mut self, message: String, range: Range<usize>) {
        let span = self.src.span(range);
        self.diagnostics
            .push(Diagnostic::error(message).with_span(span));
    }

    fn next_token(&mut self) -> Option<Token> {
        loop {
            let b = self.byte(self.pos)?;
            if is_blank(b) {
                self.pos += 1;
            } else if b == b'\\' && self.byte(self.pos + 1) == Some(b'\n') {
                self.pos += 2;
            } else if b == b'#' {
                self.pos = self.find_byte(b'\n', self.pos).unwrap_or(self.bytes.len());
            } else {
                break;
            }
        }
        let start = self.pos;
        let b = self.byte(start)?;
        let next = self.byte(start + 1);
        let after = self.byte(start + 2);
        let (op, len) = match (b, next, after) {
            (b'\n', _, _) => {
                self.pos += 1;
                self.read_heredoc_bodies();
                return Some(Token::Op(Op::Newline, self.src.span(start..start + 1)));
            }
            (b'&', Some(b'&'), _) => (Op::And, 2),
            (b'&', Some(b'>'), _) => return Some(self.redirect(start)),
            (b'&', _, _) => (Op::Background, 1),
            (b'|', Some(b'|'), _) => (Op::Or, 2),
            (b'|', Some(b'&'), _) => (Op::Pipe, 2),
            (b'|', _, _) => (Op::Pipe, 1),
            (b';', Some(b';'), Some(b'&')) => (Op::CaseBreak, 3),
            (b';', Some(b';' | b'&'), _) => (Op::CaseBreak, 2),
            (b';', _, _) => (Op::Semicolon, 1),
            (b'(', _, _) => (Op::Open, 1),
            (b')', _, _) => (Op::Close, 1),
            (b'<' | b'>', _, _) => return Some(self.redirect(start)),
            (b'0'..=b'9', _, _) => {
                let digits_end = self.skip_while(start, |b| b.is_ascii_digit());
                if matches!(self.byte(digits_end), Some(b'<' | b'>')) {
                    return Some(self.redirect(start));
                }
                return Some(self.word());
            }
            _ => return Some(self.word()),
        };
        self.pos += len;
        Some(Token::Op(op, self.src.span(start..start + len)))
    }

    fn skip_while(&self, from: usize, keep: impl Fn(u8) -> bool) -> usize {
        let mut i = from;
        while self.byte(i).is_some_and(&keep) {
            i += 1;
        }
        i
    }

    /// A redirection starting at `start` (an optional descriptor number, then the operator).
    fn redirect(&mut self, start: usize) -> Token {
        let mut i = self.skip_while(start, |b| b.is_ascii_digit());
        let rest = self.bytes.get(i..).unwrap_or(&[]);
        const OPERATORS: [&[u8]; 12] = [
            b"&>>", b"<<<", b"<<-", b"&>", b"<<", b"<>", b"<&", b">>", b">&", b">|", b"<", b">",
        ];
        let len = OPERATORS
            .iter()
            .find(|op| rest.starts_with(op))
            .map_or(1, |op| op.len());
        i += len;
        self.pos = i;
        let operator_text = self.src.text.get(start..i).unwrap_or("").to_string();
        let operator = Spanned::new(operator_text, self.src.span(start..i));
        self.pos = self.skip_while(self.pos, is_blank);
        let target = match self.byte(self.pos) {
            Some(b) if !ends_word(b) => match self.word() {
                Token::Word(word, _) => Some(word),
                _ => None,
            },
            _ => None,
        };
        let span = target
            .as_ref()
            .map_or(operator.span, |t| operator.span.cover(t.span));
        match &target {
            None => {
                let range = start..i;
                self.error(
                    format!("the redirection `{}` has no target", operator.value),
                    range,
                );
            }
            Some(word) if operator.value.ends_with("<<") || operator.value.ends_with("<<-") => {
                let strip_tabs = operator.value.ends_with('-');
                self.pending_heredocs
                    .push((word.text.clone(), strip_tabs, span));
            }
            Some(_) => {}
        }
        Token::Redirect(Redirection {
            operator,
            target,
            span,
        })
    }

    /// Skips the bodies of pending here-documents, which start after a line break.
    fn read_heredoc_bodies(&mut self) {
        for (delimiter, strip_tabs, span) in std::mem::take(&mut self.pending_heredocs) {
            let mut found = false;
            while self.pos < self.bytes.len() {
                let line_end = self.find_byte(b'\n', self.pos).unwrap_or(self.bytes.len());
                let mut line = self.src.text.get(self.pos..line_end).unwrap_or("");
                self.pos = (line_end + 1).min(self.bytes.len());
                line = line.strip_suffix('\r').unwrap_or(line);
                if strip_tabs {
                    line = line.trim_start_matches('\t');
                }
                if line == delimiter {
                    found = true;
                    break;
                }
            }
            if !found {
                self.diagnostics.push(
                    Diagnostic::warning(format!(
                        "the here-document is not terminated by a `{delimiter}` line"
                    ))
                    .with_span(span),
                );
            }
        }
    }

    /// One word starting at `self.pos`.
    fn word(&mut self) -> Token {
        let start = self.pos;
        let mut word = WordBuf::new(self.src.file);
        while let Some(b) = self.byte(self.pos) {
            match b {
                b'(' if word.bytes.last().is_some_and(|&last| {
                    matches!(last, b'=' | b'@' | b'!' | b'+' | b'*' | b'?')
                }) =>
                {
                    // A bash array value `a=(x y)` or an extglob `@(a|b)`: kept as one word.
                    let end = self.scan_nested(self.pos + 1, ScanFrame::Paren);
                    word.push_src(self.src, self.pos..end);
                    self.pos = end;
                }
                _ if ends_word(b) => break,
                b'\\' => match self.byte(self.pos + 1) {
                    Some(b'\n') => self.pos += 2,
                    Some(escaped) => {
                        let end = (self.pos + 1 + utf8_len(escaped)).min(self.bytes.len());
                        word.push_src(self.src, self.pos + 1..end);
                        word.quoted = true;
                        self.pos = end;
                    }
                    None => {
                        word.push_src(self.src, self.pos..self.pos + 1);
                        self.pos += 1;
                    }
                },
                b'\'' => {
                    word.quoted = true;
                    let open = self.pos;
                    let close = match self.find_byte(b'\'', open + 1) {
                        Some(close) => close,
                        None => {
                            self.error("unterminated single quote".into(), open..self.bytes.len());
                            self.bytes.len()
                        }
                    };
                    word.push_src(self.src, open + 1..close);
                    self.pos = (close + 1).min(self.bytes.len());
                }
                b'"' => {
                    self.pos += 1;
                    self.double_quoted(&mut word, start);
                }
                b'$' if self.byte(self.pos + 1) == Some(b'\'') => self.ansi_c_quoted(&mut word),
                b'$' if self.byte(self.pos + 1) == Some(b'"') => {
                    self.pos += 2;
                    self.double_quoted(&mut word, start);
                }
                b'$' | b'`' => self.expansion(&mut word),
                _ => {
                    let end = self.skip_while(self.pos, |b| {
                        !ends_word(b) && !matches!(b, b'\\' | b'\'' | b'"' | b'$' | b'`')
                    });
                    word.push_src(self.src, self.pos..end);
                    self.pos = end;
                }
            }
        }
        let range = start..self.pos;
        let span = self.src.span(range.clone());
        Token::Word(word.finish(span), range)
    }

    /// The inside of a double-quoted string; `self.pos` is just after the opening quote.
    fn double_quoted(&mut self, word: &mut WordBuf, word_start: usize) {
        word.quoted = true;
        let open = self.pos.saturating_sub(1);
        loop {
            match self.byte(self.pos) {
                None => {
                    self.error(
                        "unterminated double quote".into(),
                        open.max(word_start)..self.bytes.len(),
                    );
                    return;
                }
                Some(b'"') => {
                    self.pos += 1;
                    return;
                }
                Some(b'\\') => match self.byte(self.pos + 1) {
                    Some(b'\n') => self.pos += 2,
                    Some(b'$' | b'`' | b'"' | b'\\') => {
                        word.push_src(self.src, self.pos + 1..self.pos + 2);
                        self.pos += 2;
                    }
                    _ => {
                        word.push_src(self.src, self.pos..self.pos + 1);
                        self.pos += 1;
                    }
                },
                Some(b'$' | b'`') => self.expansion(word),
                Some(_) => {
                    let end =
                        self.skip_while(self.pos, |b| !matches!(b, b'"' | b'\\' | b'$' | b'`'));
                    word.push_src(self.src, self.pos..end);
                    self.pos = end;
                }
            }
        }
    }

    /// `$'…'`: backslash escapes are kept as the escaped character.
    fn ansi_c_quoted(&mut self, word: &mut WordBuf) {
        word.quoted = true;
        let open = self.pos;
        self.pos += 2;
        loop {
            match self.byte(self.pos) {
                None => {
                    self.error("unterminated `$'` quote".into(), open..self.bytes.len());
                    return;
                }
                Some(b'\'') => {
                    self.pos += 1;
                    return;
                }
                Some(b'\\') => {
                    let len = self.byte(self.pos + 1).map_or(0, utf8_len);
                    let end = (self.pos + 1 + len).min(self.bytes.len());
                    word.push_src(self.src, self.pos + 1..end);
                    self.pos = end.max(self.pos + 1);
                }
                Some(_) => {
                    let end = self.skip_while(self.pos, |b| !matches!(b, b'\'' | b'\\'));
                    word.push_src(self.src, self.pos..end);
                    self.pos = end;
                }
            }
        }
    }

    /// `$name`, `${…}`, `$(…)`, `$((…))` or a backtick substitution at `self.pos`, kept
    /// literally in the word. A `$` that starts no expansion is a literal `$`.
    fn expansion(&mut self, word: &mut WordBuf) {
        let start = self.pos;
        let end = match (self.byte(start), self.byte(start + 1)) {
            (Some(b'`'), _) => Some(self.scan_nested(start + 1, ScanFrame::Backtick)),
            (_, Some(b'{')) => Some(self.scan_nested(start + 2, ScanFrame::Brace)),
            (_, Some(b'(')) => Some(self.scan_nested(start + 2, ScanFrame::Paren)),
            (_, Some(b)) if is_name_start(b) => Some(self.skip_while(start + 1, is_name_byte)),
            (_, Some(b'0'..=b'9' | b'@' | b'*' | b'#' | b'?' | b'$' | b'!' | b'-')) => {
                Some(start + 2)
            }
            _ => None,
        };
        match end {
            Some(end) => {
                word.push_expansion(self.src, start..end);
                self.pos = end;
            }
            None => {
                word.push_src(self.src, start..start + 1);
                self.pos = start + 1;
            }
        }
    }

    /// Finds the end (exclusive) of a nested construct whose body starts at `from`. Quotes,
    /// escapes and nested substitutions inside are skipped. An unterminated construct runs to
    /// the end of the text, with a diagnostic.
    fn scan_nested(&mut self, from: usize, frame: ScanFrame) -> usize {
        let mut stack = vec![frame];
        let mut i = from;
        while let (Some(b), Some(&top)) = (self.byte(i), stack.last()) {
            let next = self.byte(i + 1);
            match (top, b) {
                (_, b'\\') => i += 2,
                (ScanFrame::Paren | ScanFrame::Brace, b'\'') => {
                    i = self
                        .find_byte(b'\'', i + 1)
                        .map_or(self.bytes.len(), |q| q + 1);
                }
                (ScanFrame::Paren | ScanFrame::Brace, b'"') => {
                    stack.push(ScanFrame::DoubleQuote);
                    i += 1;
                }
                (ScanFrame::DoubleQuote, b'"') | (ScanFrame::Backtick, b'`') => {
                    stack.pop();
                    i += 1;
                }
                (ScanFrame::Backtick, _) => i += 1,
                (_, b'`') => {
                    stack.push(ScanFrame::Backtick);
                    i += 1;
                }
                (_, b'$') if next == Some(b'(') => {
                    stack.push(ScanFrame::Paren);
                    i += 2;
                }
                (_, b'$') if next == Some(b'{') => {
                    stack.push(ScanFrame::Brace);
                    i += 2;
                }
                (ScanFrame::Paren, b'(') => {
                    stack.push(ScanFrame::Paren);
                    i += 1;
                }
                (ScanFrame::Paren, b')') | (ScanFrame::Brace, b'}') => {
                    stack.pop();
                    i += 1;
                }
                _ => i += 1,
            }
        }
        if stack.is_empty() {
            return i.min(self.bytes.len());
        }
        let opener = match frame {
            ScanFrame::Paren => "`$(`",
            ScanFrame::Brace => "`${`",
            ScanFrame::DoubleQuote => "double quote",
            ScanFrame::Backtick => "backtick",
        };
        let start = from.saturating_sub(match frame {
            ScanFrame::Paren | ScanFrame::Brace => 2,
            _ => 1,
        });
        self.error(format!("unterminated {opener}"), start..self.bytes.len());
        self.bytes.len()
    }
}

/// Compound constructs whose commands are nested one level deeper.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Frame {
    Subshell,
    Group,
    If,
    Loop,
    Case,
}

impl Frame {
    fn opener(self) -> &'static str {
        match self {
            Frame::Subshell => "(",
            Frame::Group => "{",
            Frame::If => "if",
            Frame::Loop => "loop",
            Frame::Case => "case",
        }
    }

    fn closer(self) -> &'static str {
        match self {
            Frame::Subshell => ")",
            Frame::Group => "}",
            Frame::If => "fi",
            Frame::Loop => "done",
            Frame::Case => "esac",
        }
    }
}

/// What the words being read are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// Commands.
    Normal,
    /// `for NAME in …` up to the separator before `do`.
    ForHeader,
    /// `case WORD` up to `in`.
    CaseHeader,
    /// A `case` pattern up to its `)`.
    CasePattern,
    /// The name after `function`.
    FunctionName,
}

/// The simple command being assembled.
#[derive(Default)]
struct Pending {
    words: Vec<Word>,
    assignments: Vec<Assignment>,
    redirections: Vec<Redirection>,
    span: Option<Span>,
}

impl Pending {
    fn extend(&mut self, span: Span) {
        self.span = Some(self.span.map_or(span, |s| s.cover(span)));
    }

    fn has_command(&self) -> bool {
        !self.words.is_empty() || !self.assignments.is_empty()
    }
}

struct Parser<'s, 'a, 'o> {
    lexer: Lexer<'s, 'a>,
    peeked: Option<Token>,
    out: &'o mut ShellScript,
    nesting: Nesting,
    stack: Vec<(Frame, Span)>,
    /// Frames opened beyond [`MAX_NESTING`], counted but not tracked.
    overflow: u32,
    mode: Mode,
    /// Parentheses open in a `for ((…))` header.
    for_parens: u32,
    /// Whether the current `case` pattern has begun.
    pattern_started: bool,
    current: Pending,
}

impl Parser<'_, '_, '_> {
    fn next(&mut self) -> Option<Token> {
        self.peeked.take().or_else(|| self.lexer.next_token())
    }

    fn run(&mut self) {
        while let Some(token) = self.next() {
            match token {
                Token::Word(word, raw) => self.on_word(word, raw),
                Token::Op(op, span) => self.on_op(op, span),
                Token::Redirect(redirection) => {
                    if self.mode == Mode::Normal {
                        self.current.extend(redirection.span);
                        self.current.redirections.push(redirection);
                    }
                }
            }
        }
        self.finish(None);
        for (frame, span) in std::mem::take(&mut self.stack).into_iter().rev() {
            self.out.diagnostics.push(
                Diagnostic::warning(format!(
                    "`{}` is never closed by `{}`",
                    frame.opener(),
                    frame.closer()
                ))
                .with_span(span),
            );
        }
        self.out.diagnostics.append(&mut self.lexer.diagnostics);
    }

    fn on_word(&mut self, word: Word, raw: Range<usize>) {
        let plain = !word.quoted && !word.has_expansion;
        match self.mode {
            Mode::Normal => {}
            Mode::ForHeader => return,
            Mode::CaseHeader => {
                if plain && word.text == "in" {
                    self.mode = Mode::CasePattern;
                    self.pattern_started = false;
                }
                return;
            }
            Mode::CasePattern => {
                if plain && word.text == "esac" && !self.pattern_started {
                    self.mode = Mode::Normal;
                    self.close(Frame::Case, word.span);
                } else {
                    self.pattern_started = true;
                }
                return;
            }
            Mode::FunctionName => {
                self.mode = Mode::Normal;
                return;
            }
        }
        if plain && !self.current.has_command() && self.keyword(&word) {
            return;
        }
        self.current.extend(word.span);
        if self.current.words.is_empty() {
            if let Some(assignment) = split_assignment(&word, self.lexer.src.text.get(raw)) {
                self.current.assignments.push(assignment);
                return;
            }
        }
        self.current.words.push(word);
    }

    /// Handles a reserved word at the start of a command; false if `word` is not one.
    fn keyword(&mut self, word: &Word) -> bool {
        match word.text.as_str() {
            "if" => self.open(Frame::If, word.span),
            "while" | "until" => self.open(Frame::Loop, word.span),
            "for" | "select" => {
                self.open(Frame::Loop, word.span);
                self.mode = Mode::ForHeader;
                self.for_parens = 0;
            }
            "case" => {
                self.open(Frame::Case, word.span);
                self.mode = Mode::CaseHeader;
            }
            "{" => self.open(Frame::Group, word.span),
            "}" => self.close(Frame::Group, word.span),
            "fi" => self.close(Frame::If, word.span),
            "done" => self.close(Frame::Loop, word.span),
            "esac" => self.close(Frame::Case, word.span),
            "function" => self.mode = Mode::FunctionName,
            "then" | "else" | "elif" | "do" | "!" => {}
            _ => return false,
        }
        true
    }

    fn on_op(&mut self, op: Op, span: Span) {
        match self.mode {
            Mode::Normal => {}
            Mode::FunctionName => self.mode = Mode::Normal,
            Mode::ForHeader => {
                match op {
                    Op::Open => self.for_parens += 1,
                    Op::Close => self.for_parens = self.for_parens.saturating_sub(1),
                    Op::Semicolon | Op::Newline if self.for_parens == 0 => {
                        self.mode = Mode::Normal;
                    }
                    _ => {}
                }
                return;
            }
            Mode::CaseHeader => return,
            Mode::CasePattern => {
                if op == Op::Close {
                    self.mode = Mode::Normal;
                }
                return;
            }
        }
        let separator = match op {
            Op::And => Separator::And,
            Op::Or => Separator::Or,
            Op::Semicolon => Separator::Semicolon,
            Op::Pipe => Separator::Pipe,
            Op::Background => Separator::Background,
            Op::Newline => Separator::Newline,
            Op::CaseBreak => {
                self.finish(Some(Separator::CaseBreak));
                if self.stack.last().is_some_and(|&(f, _)| f == Frame::Case) {
                    self.mode = Mode::CasePattern;
                    self.pattern_started = false;
                }
                return;
            }
            Op::Open => {
                if self.current.has_command() {
                    if let Some(Token::Op(Op::Close, _)) = self.peek() {
                        // `name()`: a function definition; its body follows.
                        self.peeked = None;
                        self.current = Pending::default();
                        return;
                    }
                    self.out.diagnostics.push(
                        Diagnostic::warning("unexpected `(` inside a command").with_span(span),
                    );
                }
                self.finish(None);
                if matches!(self.peek(), Some(Token::Op(Op::Open, next)) if next.start == span.end)
                {
                    self.skip_arithmetic();
                    return;
                }
                self.open(Frame::Subshell, span);
                return;
            }
            Op::Close => {
                self.finish(None);
                self.close(Frame::Subshell, span);
                return;
            }
        };
        self.finish(Some(separator));
    }

    /// Skips an arithmetic command `(( … ))`; the first `(` was read and the second peeked.
    fn skip_arithmetic(&mut self) {
        let mut open: u32 = 1;
        while let Some(token) = self.next() {
            match token {
                Token::Op(Op::Open, _) => open += 1,
                Token::Op(Op::Close, _) => open -= 1,
                _ => {}
            }
            if open == 0 {
                return;
            }
        }
    }

    fn peek(&mut self) -> Option<&Token> {
        if self.peeked.is_none() {
            self.peeked = self.lexer.next_token();
        }
        self.peeked.as_ref()
    }

    fn open(&mut self, frame: Frame, span: Span) {
        if self.stack.len() >= MAX_NESTING {
            if self.overflow == 0 {
                self.out.diagnostics.push(
                    Diagnostic::warning(format!(
                        "commands are nested more than {MAX_NESTING} levels deep; deeper nesting is not tracked"
                    ))
                    .with_span(span),
                );
            }
            self.overflow = self.overflow.saturating_add(1);
            return;
        }
        self.stack.push((frame, span));
    }

    fn close(&mut self, frame: Frame, span: Span) {
        self.finish(None);
        if self.overflow > 0 {
            self.overflow -= 1;
            return;
        }
        if self.stack.last().is_some_and(|&(f, _)| f == frame) {
            self.stack.pop();
        } else {
            self.out.diagnostics.push(
                Diagnostic::warning(format!(
                    "`{}` without a matching `{}`",
                    frame.closer(),
                    frame.opener()
                ))
                .with_span(span),
            );
        }
    }

    fn depth(&self) -> u32 {
        self.nesting
            .depth
            .saturating_add(to_u32(self.stack.len()))
            .saturating_add(self.overflow)
    }

    /// Ends the current simple command and records it (and the commands of its `sh -c`
    /// string) if it has words or assignments.
    fn finish(&mut self, separator: Option<Separator>) {
        let pending = std::mem::take(&mut self.current);
        let (true, Some(span)) = (pending.has_command(), pending.span) else {
            return;
        };
        let command = Command {
            program_index: program_index(&pending.words),
            words: pending.words,
            assignments: pending.assignments,
            redirections: pending.redirections,
            span,
            depth: self.depth(),
            separator,
            parent: self.nesting.parent,
        };
        let string = shell_string(&command).cloned();
        let index = self.out.commands.len();
        let depth = command.depth;
        self.out.commands.push(command);
        let Some(string) = string else {
            return;
        };
        if self.nesting.string_level >= MAX_SHELL_STRING_DEPTH {
            self.out.diagnostics.push(
                Diagnostic::warning(format!(
                    "`sh -c` strings are nested more than {MAX_SHELL_STRING_DEPTH} deep; this one is not parsed"
                ))
                .with_span(string.span),
            );
            return;
        }
        let inner = Src::from_word(&string);
        let nesting = Nesting {
            depth: depth.saturating_add(1),
            parent: Some(index),
            string_level: self.nesting.string_level + 1,
        };
        parse_src(&inner, nesting, self.out);
    }
}

/// `NAME=value` as the leading word of a command. `raw` is the word as written: the name and
/// `=` must be unquoted.
fn split_assignment(word: &Word, raw: Option<&str>) -> Option<Assignment> {
    let raw = raw?.as_bytes();
    let eq = raw.iter().position(|&b| b == b'=')?;
    let name = raw.get(..eq)?;
    let first = *name.first()?;
    if !is_name_start(first) || !name.iter().all(|&b| is_name_byte(b)) {
        return None;
    }
    if word.text.as_bytes().get(..=eq) != raw.get(..=eq) {
        return None;
    }
    let name = word.spanned(0..eq)?;
    let mut value = word.sub_word(eq + 1..word.text.len());
    // The value as written, quotes included, runs from after `=` to the end of the word.
    let after_equals = word.span_of(eq..eq + 1).end as usize;
    value.span = Span::new(word.span.file, after_equals..word.span.end as usize);
    Some(Assignment {
        name,
        value,
        span: word.span,
    })
}

fn is_option(word: &Word) -> bool {
    word.text.len() > 1 && word.text.starts_with('-')
}

/// Skips options of a wrapper command starting at `i`; options in `with_argument` take the
/// next word. Returns the index after the options (and after `--`).
fn skip_options(words: &[Word], mut i: usize, with_argument: &[&str]) -> usize {
    while let Some(word) = words.get(i) {
        if word.text == "--" {
            return i + 1;
        }
        if !is_option(word) {
            break;
        }
        i += if with_argument.contains(&word.text.as_str()) {
            2
        } else {
            1
        };
    }
    i
}

/// The index of the program word once wrappers (`sudo`, `env`, `nice`, …) are skipped.
fn program_index(words: &[Word]) -> Option<usize> {
    let mut i = 0;
    loop {
        let word = words.get(i)?;
        if word.has_expansion {
            return Some(i);
        }
        i = match file_name(&word.text) {
            "sudo" => {
                let sudo_arguments = [
                    "-u",
                    "-g",
                    "-h",
                    "-p",
                    "-C",
                    "-D",
                    "-R",
                    "-T",
                    "-U",
                    "--user",
                    "--group",
                    "--host",
                    "--prompt",
                    "--chdir",
                    "--chroot",
                    "--close-from",
                    "--command-timeout",
                    "--other-user",
                ];
                skip_assignments(words, skip_options(words, i + 1, &sudo_arguments))
            }
            "env" => {
                let env_arguments = ["-u", "--unset", "-C", "--chdir"];
                let mut j = i + 1;
                loop {
                    let after = skip_assignments(words, skip_options(words, j, &env_arguments));
                    if after == j {
                        break j;
                    }
                    j = after;
                }
            }
            "nice" => skip_options(words, i + 1, &["-n"]),
            "timeout" => {
                let after = skip_options(words, i + 1, &["-s", "-k", "--signal", "--kill-after"]);
                after + 1
            }
            "exec" => skip_options(words, i + 1, &["-a"]),
            "nohup" | "time" | "command" | "builtin" | "eatmydata" => {
                skip_options(words, i + 1, &[])
            }
            _ => return Some(i),
        };
    }
}

fn skip_assignments(words: &[Word], mut i: usize) -> usize {
    while words.get(i).is_some_and(|w| {
        w.text.split_once('=').is_some_and(|(name, _)| {
            name.bytes().next().is_some_and(is_name_start) && name.bytes().all(is_name_byte)
        })
    }) {
        i += 1;
    }
    i
}

/// The command string of `sh -c '…'`, `bash -ec "…"`, `/bin/sh -o pipefail -c …`.
fn shell_string(command: &Command) -> Option<&Word> {
    let program = command.program()?;
    if program.has_expansion
        || !matches!(
            file_name(&program.text),
            "sh" | "bash" | "dash" | "ash" | "zsh" | "ksh" | "mksh"
        )
    {
        return None;
    }
    let mut has_c = false;
    let mut words = command.arguments().iter();
    while let Some(word) = words.next() {
        let text = word.text.as_str();
        if text == "--" {
            return if has_c { words.next() } else { None };
        }
        if text.starts_with("--") {
            if matches!(text, "--rcfile" | "--init-file") {
                words.next();
            }
            continue;
        }
        if text.len() > 1 && (text.starts_with('-') || text.starts_with('+')) {
            for flag in text.bytes().skip(1) {
                match flag {
                    b'c' if text.starts_with('-') => has_c = true,
                    b'o' | b'O' => {
                        words.next();
                    }
                    _ => {}
                }
            }
            continue;
        }
        return if has_c { Some(word) } else { None };
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const FILE: FileId = FileId(0);

    /// Parses `source[offset..]` as one contiguous piece.
    fn parse_at(source: &str, offset: usize) -> ShellScript {
        parse_shell(&MappedText::contiguous(FILE, &source[offset..], offset))
    }

    /// Builds the logical text of a `RUN` body the way the Dockerfile parser does: every
    /// line continuation (`\` + newline) is removed.
    fn continued(source: &str, offset: usize) -> MappedText {
        let mut mapped = MappedText::new(FILE);
        let body = &source[offset..];
        let mut start = 0;
        while let Some(i) = body[start..].find("\\\n") {
            mapped.push(&body[start..start + i], offset + start);
            start += i + 2;
        }
        mapped.push(&body[start..], offset + start);
        mapped
    }

    fn texts(command: &Command) -> Vec<&str> {
        command.words.iter().map(|w| w.text.as_str()).collect()
    }

    fn under(source: &str, span: Span) -> &str {
        &source[span.range()]
    }

    #[test]
    fn splits_on_operators() {
        let src = "RUN a 1 && b || c; d | e & f\ng";
        let script = parse_at(src, 4);
        let names: Vec<_> = script
            .commands
            .iter()
            .map(|c| c.words[0].text.as_str())
            .collect();
        assert_eq!(names, ["a", "b", "c", "d", "e", "f", "g"]);
        let seps: Vec<_> = script.commands.iter().map(|c| c.separator).collect();
        use Separator::*;
        assert_eq!(
            seps,
            [
                Some(And),
                Some(Or),
                Some(Semicolon),
                Some(Pipe),
                Some(Background),
                Some(Newline),
                None
            ]
        );
        assert_eq!(under(src, script.commands[0].span), "a 1");
        assert!(script.diagnostics.is_empty());
    }

    #[test]
    fn quotes_are_removed_and_spans_cover_them() {
        let src = r#"RUN echo 'a b' "c \"d\" \$e" f\ g x"y"z"#;
        let script = parse_at(src, 4);
        let command = &script.commands[0];
        assert_eq!(texts(command), ["echo", "a b", r#"c "d" $e"#, "f g", "xyz"]);
        assert_eq!(under(src, command.words[1].span), "'a b'");
        assert_eq!(under(src, command.words[2].span), r#""c \"d\" \$e""#);
        assert!(command.words[2].quoted && !command.words[2].has_expansion);
        // Parts of a word map back through quotes and escapes.
        let word = &command.words[2];
        assert_eq!(under(src, word.span_of(2..5)), r#""d\""#);
        assert_eq!(under(src, word.span_of(3..4)), "d");
        assert_eq!(under(src, command.words[4].span_of(1..2)), "y");
        assert!(!command.words[0].quoted);
    }

    #[test]
    fn expansions_are_kept_and_flagged() {
        let src = r#"RUN echo $HOME ${X:-"a b"} $(cat "f (1)" | wc) `date` "$(id -u)" $ 1"#;
        let script = parse_at(src, 4);
        let command = &script.commands[0];
        assert_eq!(
            texts(command),
            [
                "echo",
                "$HOME",
                r#"${X:-"a b"}"#,
                r#"$(cat "f (1)" | wc)"#,
                "`date`",
                "$(id -u)",
                "$",
                "1"
            ]
        );
        let flags: Vec<_> = command.words.iter().map(|w| w.has_expansion).collect();
        assert_eq!(flags, [false, true, true, true, true, true, false, false]);
        assert_eq!(command.words[5].expansions, vec![0..8]);
        assert_eq!(under(src, command.words[3].span), r#"$(cat "f (1)" | wc)"#);
        assert_eq!(script.commands.len(), 1);
    }

    #[test]
    fn assignments_and_redirections_are_not_words() {
        let src = "RUN DEBIAN_FRONTEND=noninteractive A='x y' apt-get install -y gcc > /dev/null 2>&1 <<<\"in\"";
        let script = parse_at(src, 4);
        let command = &script.commands[0];
        assert_eq!(texts(command), ["apt-get", "install", "-y", "gcc"]);
        assert_eq!(command.assignments.len(), 2);
        assert_eq!(command.assignments[0].name.value, "DEBIAN_FRONTEND");
        assert_eq!(
            under(src, command.assignments[0].name.span),
            "DEBIAN_FRONTEND"
        );
        assert_eq!(command.assignments[1].value.text, "x y");
        assert_eq!(under(src, command.assignments[1].value.span), "'x y'");
        let redirections: Vec<_> = command
            .redirections
            .iter()
            .map(|r| {
                (
                    r.operator.value.as_str(),
                    r.target.as_ref().map(|t| t.text.as_str()),
                )
            })
            .collect();
        assert_eq!(
            redirections,
            [
                (">", Some("/dev/null")),
                ("2>&", Some("1")),
                ("<<<", Some("in"))
            ]
        );
        assert_eq!(under(src, command.redirections[1].span), "2>&1");
        assert!(command.span.end as usize == src.len());
        // `a=b` after the program is an ordinary word.
        let script = parse_at("RUN make CC=gcc", 4);
        assert_eq!(texts(&script.commands[0]), ["make", "CC=gcc"]);
        // A quoted name is not an assignment.
        let script = parse_at("RUN 'A'=1 cmd", 4);
        assert_eq!(texts(&script.commands[0]), ["A=1", "cmd"]);
    }

    #[test]
    fn word_on_the_fifth_continued_line() {
        let src = "RUN apt-get update \\\n  && apt-get install -y \\\n    curl \\\n    git \\\n    gcc \\\n  && rm -rf /var/lib/apt/lists/*";
        let script = parse_shell(&continued(src, 4));
        assert_eq!(script.commands.len(), 3);
        let install = &script.commands[1];
        assert_eq!(
            texts(install),
            ["apt-get", "install", "-y", "curl", "git", "gcc"]
        );
        let gcc = &install.words[5];
        assert_eq!(under(src, gcc.span), "gcc");
        assert_eq!(src[..gcc.span.start as usize].matches('\n').count() + 1, 5);
        assert_eq!(
            under(src, install.span),
            "apt-get install -y \\\n    curl \\\n    git \\\n    gcc"
        );
    }

    #[test]
    fn compound_commands_are_flattened_with_depth() {
        let src = "RUN (cd /x && make) ; { a; b; } ; if test -f x; then c; else d; fi; \
                   for f in 1 2; do e $f; done; while true; do g; done; \
                   case $x in a|b) h ;; *) i ;; esac; function fn { j; }; k() { l; }; \
                   (( n = (1 + 2) * 3 )); ( (m) )";
        let script = parse_at(src, 4);
        let got: Vec<_> = script
            .commands
            .iter()
            .map(|c| (c.words[0].text.as_str(), c.depth))
            .collect();
        assert_eq!(
            got,
            [
                ("cd", 1),
                ("make", 1),
                ("a", 1),
                ("b", 1),
                ("test", 1),
                ("c", 1),
                ("d", 1),
                ("e", 1),
                ("true", 1),
                ("g", 1),
                ("h", 1),
                ("i", 1),
                ("j", 1),
                ("l", 1),
                ("m", 2)
            ]
        );
        assert!(script.diagnostics.is_empty(), "{:?}", script.diagnostics);
        let nested = parse_at("RUN ( ( a ) && { if x; then ( b ); fi; } )", 4);
        let depths: Vec<_> = nested
            .commands
            .iter()
            .map(|c| (c.words[0].text.as_str(), c.depth))
            .collect();
        assert_eq!(depths, [("a", 2), ("x", 3), ("b", 4)]);
    }

    #[test]
    fn comments_and_heredocs_are_skipped() {
        let src = "apt-get update # refresh && fake\ncat <<-EOF > /etc/x\n\tnot a command && neither\n\tEOF\necho done#not-comment";
        let script = parse_at(src, 0);
        let got: Vec<_> = script.commands.iter().map(texts).collect();
        assert_eq!(
            got,
            vec![
                vec!["apt-get", "update"],
                vec!["cat"],
                vec!["echo", "done#not-comment"]
            ]
        );
        assert!(script.diagnostics.is_empty());
    }

    #[test]
    fn heredoc_body_words_keep_file_spans() {
        // A `RUN <<EOF` body handed over as a mapped text of its own.
        let src = "RUN <<EOF\nset -e\npip install --no-cache-dir flask\nEOF\n";
        let body_start = src.find("set").unwrap();
        let body_end = src.rfind("EOF").unwrap();
        let script = parse_shell(&MappedText::contiguous(
            FILE,
            &src[body_start..body_end],
            body_start,
        ));
        assert_eq!(script.commands.len(), 2);
        assert_eq!(under(src, script.commands[1].words[3].span), "flask");
        assert_eq!(script.commands[1].separator, Some(Separator::Newline));
    }

    #[test]
    fn shell_strings_are_parsed_again() {
        let src = r#"RUN sh -c 'pip install flask && echo "ok"' && /bin/bash -o pipefail -ec "apt-get install -y \"gcc\"""#;
        let script = parse_at(src, 4);
        let got: Vec<_> = script
            .commands
            .iter()
            .map(|c| (texts(c), c.depth, c.parent))
            .collect();
        assert_eq!(got[0].0, ["sh", "-c", r#"pip install flask && echo "ok""#]);
        assert_eq!(got[1], (vec!["pip", "install", "flask"], 1, Some(0)));
        assert_eq!(got[2], (vec!["echo", "ok"], 1, Some(0)));
        assert_eq!(
            got[4],
            (vec!["apt-get", "install", "-y", "gcc"], 1, Some(3))
        );
        assert_eq!(under(src, script.commands[1].words[2].span), "flask");
        assert_eq!(under(src, script.commands[2].words[1].span), r#""ok""#);
        assert_eq!(under(src, script.commands[4].words[3].span), r#""gcc\""#);
        assert_eq!(under(src, script.commands[4].words[3].span_of(0..3)), "gcc");
        // Not a command string: no -c, or a script file.
        let script = parse_at("RUN bash script.sh 'a b' && sh -e -x install.sh", 4);
        assert_eq!(script.commands.len(), 2);
    }

    #[test]
    fn wrappers_are_skipped_to_find_the_program() {
        let script = parse_at(
            "RUN sudo -u root env -i A=1 B=2 nice -n 5 apt-get install x; time sh -c 'b'; command -v y",
            4,
        );
        let programs: Vec<_> = script
            .commands
            .iter()
            .map(|c| c.program().map(|w| w.text.as_str()))
            .collect();
        assert_eq!(
            programs,
            [Some("apt-get"), Some("sh"), Some("b"), Some("y")]
        );
        assert_eq!(script.commands[0].arguments()[0].text, "install");
    }

    #[test]
    fn unterminated_quotes_are_reported_and_commands_kept() {
        let src = "RUN apt-get install -y curl && echo 'oops";
        let script = parse_at(src, 4);
        assert_eq!(script.commands.len(), 2);
        assert_eq!(
            texts(&script.commands[0]),
            ["apt-get", "install", "-y", "curl"]
        );
        assert_eq!(script.diagnostics.len(), 1);
        let diagnostic = &script.diagnostics[0];
        assert!(diagnostic.message.contains("single quote"));
        assert_eq!(under(src, diagnostic.span.unwrap()), "'oops");
        for src in [
            "RUN echo \"abc",
            "RUN echo $(date",
            "RUN echo `x",
            "RUN echo ${a",
        ] {
            let script = parse_at(src, 4);
            assert_eq!(script.commands.len(), 1, "{src}");
            assert_eq!(script.diagnostics.len(), 1, "{src}");
        }
    }

    #[test]
    fn unbalanced_compounds_are_reported() {
        let script = parse_at("RUN ( a && b", 4);
        assert_eq!(script.commands.len(), 2);
        assert_eq!(script.diagnostics.len(), 1);
        let script = parse_at("RUN a ) ; fi", 4);
        assert_eq!(script.commands.len(), 1);
        assert_eq!(script.diagnostics.len(), 2);
    }

    #[test]
    fn nesting_is_bounded() {
        let deep = format!("RUN {}a{}", "( ".repeat(100_000), ")".repeat(100_000));
        let script = parse_at(&deep, 4);
        assert_eq!(script.commands.len(), 1);
        assert_eq!(script.diagnostics.len(), 1);
        let mut nested = "pip install x".to_string();
        for _ in 0..10 {
            nested = format!("sh -c {}", shell_quote(&nested));
        }
        let script = parse_at(&nested, 0);
        assert_eq!(script.commands.len(), MAX_SHELL_STRING_DEPTH as usize + 1);
        assert_eq!(script.diagnostics.len(), 1);
    }

    fn shell_quote(text: &str) -> String {
        format!("'{}'", text.replace('\'', r#"'"'"'"#))
    }

    #[test]
    fn long_continued_run_is_linear() {
        let mut src = String::from("RUN apt-get install -y \\\n");
        for i in 0..20_000 {
            src.push_str(&format!("    package-{i} \\\n"));
        }
        src.push_str("    last");
        let script = parse_shell(&continued(&src, 4));
        assert_eq!(script.commands[0].words.len(), 20_004);
        assert_eq!(under(&src, script.commands[0].words[20_003].span), "last");
    }

    /// Every shell-form `RUN` body and heredoc in the conformance vectors (valid Dockerfiles
    /// run through BuildKit's parser) parses without a diagnostic.
    #[test]
    fn conformance_run_bodies_parse_cleanly() {
        let mut bodies = Vec::new();
        for set in ["buildkit", "snippets"] {
            let path = format!(
                "{}/tests/conformance/dockerfile/{set}/expected.jsonl",
                env!("CARGO_MANIFEST_DIR")
            );
            let text = std::fs::read_to_string(&path).unwrap();
            for line in text.lines() {
                let file: serde_json::Value = serde_json::from_str(line).unwrap();
                let instructions = file["instructions"].as_array().cloned().unwrap_or_default();
                for instruction in instructions {
                    let is_shell_run = instruction["cmd"]
                        .as_str()
                        .unwrap()
                        .eq_ignore_ascii_case("run")
                        && instruction["json"] == false;
                    if !is_shell_run {
                        continue;
                    }
                    let heredocs = instruction["heredocs"].as_array().unwrap();
                    if heredocs.is_empty() {
                        bodies.push(instruction["value"][0].as_str().unwrap().to_string());
                    }
                    bodies.extend(heredocs.iter().map(|h| h.as_str().unwrap().to_string()));
                }
            }
        }
        assert!(bodies.len() > 100, "{}", bodies.len());
        let mut apt_installs = Vec::new();
        for body in &bodies {
            let script = parse_at(body, 0);
            assert!(
                script.diagnostics.is_empty(),
                "{body:?}: {:?}",
                script.diagnostics
            );
            for command in &script.commands {
                assert!(command.span.end as usize <= body.len());
                if command.program().is_some_and(|p| p.text == "apt-get")
                    && command.words.iter().any(|w| w.text == "install")
                {
                    apt_installs.push(texts(command).join(" "));
                }
            }
        }
        assert!(
            apt_installs.contains(
                &"apt-get --no-install-recommends install -y git golang ca-certificates"
                    .to_string()
            ),
            "{apt_installs:?}"
        );
    }

    proptest! {
        #[test]
        fn never_panics_and_spans_are_in_bounds(
            prefix in "[ a-zA-Z]{0,3}",
            body in r#"([a-z =$(){}`'"\\;&|<>#\n\t-]|sh -c |é|\\\n){0,60}"#,
            cut in 0usize..64,
        ) {
            let src = format!("{prefix}{body}");
            let offset = prefix.len();
            let body_text = &src[offset..];
            // Split the body into two pieces at a char boundary, dropping a char between them
            // when possible (like a removed continuation).
            let mut cut = cut.min(body_text.len());
            while !body_text.is_char_boundary(cut) { cut -= 1; }
            let mut mapped = MappedText::new(FILE);
            mapped.push(&body_text[..cut], offset);
            let rest = body_text[cut..].char_indices().nth(1).map_or(body_text.len(), |(i, _)| cut + i);
            mapped.push(&body_text[rest..], offset + rest);
            let script = parse_shell(&mapped);
            let check = |span: Span| -> Result<(), TestCaseError> {
                prop_assert!(span.end as usize <= src.len());
                prop_assert!(span.start <= span.end);
                prop_assert!(src.is_char_boundary(span.start as usize));
                prop_assert!(src.is_char_boundary(span.end as usize));
                Ok(())
            };
            for command in &script.commands {
                check(command.span)?;
                for word in &command.words {
                    check(word.span)?;
                    for i in 0..=word.text.len() {
                        if word.text.is_char_boundary(i) {
                            check(word.span_of(i..word.text.len()))?;
                            check(word.span_of(0..i))?;
                        }
                    }
                }
                for assignment in &command.assignments {
                    check(assignment.span)?;
                    check(assignment.name.span)?;
                    check(assignment.value.span)?;
                }
                for redirection in &command.redirections {
                    check(redirection.span)?;
                }
            }
            for diagnostic in &script.diagnostics {
                if let Some(span) = diagnostic.span { check(span)?; }
            }
        }
    }
}
