//! Shell commands found in a Dockerfile `RUN` body or heredoc: simple commands split on
//! `&&`, `||`, `;`, `|`, `&` and newlines, with their words (quotes removed, spans kept),
//! leading `VAR=value` assignments and redirections. Commands inside subshells, groups,
//! `if`/`for`/`while`/`case` bodies and `sh -c '…'` strings are included, flattened, with
//! their nesting depth.

use std::ops::Range;

use serde::Serialize;

use crate::diag::Diagnostic;
use crate::source::{Span, Spanned, TextMap};

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

    /// The program's file name, as a shell looks it up (`/usr/bin/pip3` → `pip3`).
    pub fn program_name(&self) -> Option<&str> {
        self.program().map(|word| file_name(&word.text))
    }
}

/// The last component of a `/`-separated path (`/bin/rm` → `rm`, `/usr/` → ``).
pub fn file_name(path: &str) -> &str {
    // A byte scan: names are short, and `/` is ASCII, so what follows it starts a character.
    match path.bytes().rposition(|b| b == b'/') {
        Some(slash) => path.get(slash + 1..).unwrap_or_default(),
        None => path,
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

#[cfg(test)]
mod tests {
    use super::file_name;
    use proptest::prelude::*;

    #[test]
    fn file_names_are_the_last_part_of_a_path() {
        for path in ["rm", "/bin/rm", "./rm", "/usr/", "", "/", "a//b", "é/ü"] {
            assert_eq!(file_name(path), path.rsplit('/').next().unwrap_or(""));
        }
        assert_eq!(file_name("/usr/bin/pip3"), "pip3");
    }

    proptest! {
        #[test]
        fn file_name_is_the_last_split_part(path in "[a/é.\\-]{0,12}") {
            prop_assert_eq!(file_name(&path), path.rsplit('/').next().unwrap_or(""));
        }
    }
}
