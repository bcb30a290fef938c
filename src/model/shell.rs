//! Shell commands found in a Dockerfile `RUN` body or heredoc: simple commands split on
//! `&&`, `||`, `;`, `|`, `&` and newlines, with their words (quotes removed, spans kept),
//! leading `VAR=value` assignments and redirections. Commands inside subshells, groups,
//! `if`/`for`/`while`/`case` bodies and `sh -c '…'` strings are included, flattened, with
//! their nesting depth.

use std::ops::Range;

use serde::Serialize;

use crate::diag::Diagnostic;
use crate::source::{FileId, Span, Spanned};

/// The commands of one shell script, in source order (an `sh -c` command comes before the
/// commands of its string), and the problems found while reading it.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ShellScript {
    pub commands: Vec<Command>,
    pub diagnostics: Vec<Diagnostic>,
}

/// The operator that ends a simple command.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Separator {
    /// `&&`
    And,
    /// `||`
    Or,
    /// `;`
    Semicolon,
    /// `|` or `|&`
    Pipe,
    /// `&`
    Background,
    /// A line break.
    Newline,
    /// `;;`, `;&` or `;;&` at the end of a `case` branch.
    CaseBreak,
}

/// One simple command.
#[derive(Clone, Debug, Serialize)]
pub struct Command {
    /// The words after the leading assignments, redirections left out.
    pub words: Vec<Word>,
    /// Leading `NAME=value` words, in order.
    pub assignments: Vec<Assignment>,
    pub redirections: Vec<Redirection>,
    /// From the first to the last token of the command, as written.
    pub span: Span,
    /// How many subshells, groups, compound commands and `sh -c` strings enclose it.
    pub depth: u32,
    /// Index in `words` of the program that runs once wrappers such as `sudo`, `env VAR=x`,
    /// `nice`, `time` or `exec` (with their options) are skipped; `None` if there is none.
    pub program_index: Option<usize>,
    /// The operator that ended the command; `None` at the end of the script or before a
    /// closing `)`, `}` or keyword.
    pub separator: Option<Separator>,
    /// Index in [`ShellScript::commands`] of the `sh -c` command whose string holds this one.
    pub parent: Option<usize>,
}

impl Command {
    /// The program word (see [`Command::program_index`]).
    pub fn program(&self) -> Option<&Word> {
        self.program_index.and_then(|i| self.words.get(i))
    }

    /// The words after the program.
    pub fn arguments(&self) -> &[Word] {
        self.program_index
            .and_then(|i| self.words.get(i + 1..))
            .unwrap_or(&[])
    }
}

/// A leading `NAME=value` word of a command.
#[derive(Clone, Debug, Serialize)]
pub struct Assignment {
    pub name: Spanned<String>,
    /// The value with quotes removed (possibly empty).
    pub value: Word,
    /// The whole word as written.
    pub span: Span,
}

/// A redirection such as `> /dev/null`, `2>&1`, `<<<"text"` or `<<EOF`.
#[derive(Clone, Debug, Serialize)]
pub struct Redirection {
    /// The operator as written, with its file-descriptor number: `>`, `2>&`, `&>>`, `<<-`.
    pub operator: Spanned<String>,
    /// The target word (file, descriptor, here-string or here-document delimiter).
    pub target: Option<Word>,
    pub span: Span,
}

/// One shell word.
#[derive(Clone, Debug, Serialize)]
pub struct Word {
    /// The text with quotes and escaping backslashes removed. Expansions (`$VAR`, `${…}`,
    /// `$(…)`, backticks) are kept literally.
    pub text: String,
    /// The whole word as written, quotes included.
    pub span: Span,
    /// The word contains a parameter expansion, command substitution or arithmetic.
    pub has_expansion: bool,
    /// Some of the word was quoted or escaped.
    pub quoted: bool,
    /// Byte ranges of `text` that are expansions.
    pub expansions: Vec<Range<u32>>,
    /// Maps every byte of `text` back to the file.
    #[serde(skip)]
    pub map: TextMap,
}

impl Word {
    /// The file span of the bytes `range` of [`Word::text`]. A range that spans a quote or a
    /// removed backslash covers it, so the span underlines what the user wrote.
    pub fn span_of(&self, range: Range<usize>) -> Span {
        self.map.span(range)
    }

    /// `text[range]` with its file span; `None` if `range` is not on char boundaries.
    pub fn spanned(&self, range: Range<usize>) -> Option<Spanned<String>> {
        let part = self.text.get(range.clone())?;
        Some(Spanned::new(part.to_string(), self.span_of(range)))
    }

    /// Whether any expansion overlaps the bytes `range` of [`Word::text`].
    pub fn has_expansion_in(&self, range: Range<usize>) -> bool {
        self.expansions
            .iter()
            .any(|e| (e.start as usize) < range.end && range.start < e.end as usize)
    }

    /// The word as a spanned string (unquoted text, whole-word span).
    pub fn to_spanned(&self) -> Spanned<String> {
        Spanned::new(self.text.clone(), self.span)
    }

    /// The part `range` of the word as a word of its own (e.g. the value of `NAME=value`).
    /// An empty or invalid range gives an empty word at the range start.
    pub fn sub_word(&self, range: Range<usize>) -> Word {
        let text = self.text.get(range.clone()).unwrap_or("").to_string();
        let end = range.start + text.len();
        let expansions: Vec<Range<u32>> = self
            .expansions
            .iter()
            .filter(|e| (e.start as usize) < end && range.start < e.end as usize)
            .map(|e| {
                let start = (e.start as usize).max(range.start) - range.start;
                let stop = (e.end as usize).min(end) - range.start;
                to_u32(start)..to_u32(stop)
            })
            .collect();
        Word {
            span: self.span_of(range.start..end),
            has_expansion: !expansions.is_empty(),
            quoted: self.quoted,
            expansions,
            map: self.map.slice(range.start..end),
            text,
        }
    }
}

fn to_u32(value: usize) -> u32 {
    u32::try_from(value).unwrap_or(u32::MAX)
}

/// Maps the bytes of a derived string (an unquoted word) to file offsets: a list of runs,
/// each mapping consecutive logical bytes to consecutive file bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TextMap {
    pub file: FileId,
    /// `(logical offset, file offset)` where each run starts, in increasing logical order.
    runs: Vec<(u32, u32)>,
    len: u32,
}

impl TextMap {
    pub fn new(file: FileId) -> TextMap {
        TextMap {
            file,
            runs: Vec::new(),
            len: 0,
        }
    }

    /// Appends `len` logical bytes that are the file's bytes `file_offset..file_offset + len`.
    pub fn push(&mut self, file_offset: usize, len: usize) {
        if len == 0 {
            return;
        }
        let file_offset = to_u32(file_offset);
        let continues_last = self.runs.last().is_some_and(|&(l, f)| {
            u64::from(f) + u64::from(self.len - l) == u64::from(file_offset)
        });
        if !continues_last {
            self.runs.push((self.len, file_offset));
        }
        self.len = self.len.saturating_add(to_u32(len));
    }

    /// The number of logical bytes mapped.
    pub fn len(&self) -> usize {
        self.len as usize
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The file offset of logical byte `logical` (one past the end maps one past the last byte).
    pub fn file_offset(&self, logical: usize) -> usize {
        let logical_u32 = to_u32(logical);
        let index = match self.runs.binary_search_by_key(&logical_u32, |&(l, _)| l) {
            Ok(i) => i,
            Err(0) => return self.runs.first().map_or(0, |&(_, f)| f as usize),
            Err(next) => next - 1,
        };
        match self.runs.get(index) {
            Some(&(l, f)) => f as usize + logical.saturating_sub(l as usize),
            None => 0,
        }
    }

    /// The file span of the logical `range`; it covers any gap between its ends.
    pub fn span(&self, range: Range<usize>) -> Span {
        let end = range.end.min(self.len as usize);
        if end <= range.start {
            return Span::point(self.file, self.file_offset(range.start.min(self.len())));
        }
        let start = self.file_offset(range.start);
        let last = self.file_offset(end - 1) + 1;
        Span::new(self.file, start..last.max(start))
    }

    /// The logical sub-range `range` as a map of its own.
    pub fn slice(&self, range: Range<usize>) -> TextMap {
        let mut sliced = TextMap::new(self.file);
        let end = range.end.min(self.len());
        for (i, &(logical, file)) in self.runs.iter().enumerate() {
            let run_end = self
                .runs
                .get(i + 1)
                .map_or(self.len(), |&(l, _)| l as usize);
            let (lo, hi) = (range.start.max(logical as usize), end.min(run_end));
            if lo < hi {
                sliced.push(file as usize + (lo - logical as usize), hi - lo);
            }
        }
        sliced
    }

    /// Calls `f(file_offset, len)` for every run, in order.
    pub fn for_each_run(&self, mut f: impl FnMut(usize, usize)) {
        for (i, &(logical, file)) in self.runs.iter().enumerate() {
            let run_end = self
                .runs
                .get(i + 1)
                .map_or(self.len(), |&(l, _)| l as usize);
            f(file as usize, run_end.saturating_sub(logical as usize));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_map_merges_and_spans_gaps() {
        let mut map = TextMap::new(FileId(0));
        map.push(10, 2);
        map.push(12, 3);
        map.push(20, 2);
        assert_eq!(map.runs.len(), 2);
        assert_eq!(map.file_offset(4), 14);
        assert_eq!(map.file_offset(5), 20);
        assert_eq!(map.span(3..6).range(), 13..21);
        assert_eq!(map.span(7..9).range(), 22..22);
        let tail = map.slice(4..7);
        assert_eq!(tail.len(), 3);
        assert_eq!(tail.span(0..3).range(), 14..22);
        let mut runs = Vec::new();
        tail.for_each_run(|f, l| runs.push((f, l)));
        assert_eq!(runs, vec![(14, 1), (20, 2)]);
    }
}
