//! The Dockerfile model: instructions as BuildKit's parser sees them, and the build stages
//! they form, every value with the span it was read from.
//!
//! The instruction layer mirrors BuildKit's parse tree (`cmd`, flags, value list, heredocs,
//! start and end line); the stage layer mirrors what BuildKit's dispatcher derives from it
//! (stage names, base images with global `ARG`s substituted, `COPY --from` sources).

use std::ops::Range;

use serde::Serialize;

use crate::source::{FileId, MappedText, Span, Spanned};

/// One parsed Dockerfile.
#[derive(Clone, Debug, Serialize)]
pub struct Dockerfile {
    pub file: FileId,
    /// Parser directives (`# syntax=`, `# escape=`, `# check=`) from the top of the file.
    pub directives: Vec<Directive>,
    /// The escape character in force: `\` unless `# escape=` chose a backtick.
    pub escape: char,
    /// Every instruction in file order (including ones BuildKit's dispatcher would reject).
    pub instructions: Vec<Instruction>,
    /// Indices into `instructions` of the `ARG`s before the first `FROM`.
    pub global_args: Vec<usize>,
    /// The build stages, one per `FROM`, in file order.
    pub stages: Vec<Stage>,
}

impl Dockerfile {
    /// The stage that is built when no target is given: the last one.
    pub fn final_stage(&self) -> Option<&Stage> {
        self.stages.last()
    }

    /// The stage named `name` (compared as BuildKit does: stage names are lower-case).
    pub fn stage_by_name(&self, name: &str) -> Option<&Stage> {
        let name = name.to_ascii_lowercase();
        self.stages
            .iter()
            .find(|stage| stage.name.as_ref().is_some_and(|n| n.value == name))
    }

    /// The stage that instruction `index` belongs to, if it comes after a `FROM`.
    pub fn stage_of_instruction(&self, index: usize) -> Option<&Stage> {
        self.stages
            .iter()
            .find(|stage| stage.from == index || stage.instructions.contains(&index))
    }

    /// The default of the last `ARG` named `name` with one before the first `FROM`, as
    /// written, and the span of its `NAME=default` word.
    pub fn global_arg_default(&self, name: &str) -> Option<(&str, Span)> {
        self.global_args
            .iter()
            .rev()
            .filter_map(|&index| self.instructions.get(index))
            .flat_map(|instruction| instruction.values.iter().rev())
            .find_map(|word| match arg_declaration(&word.value) {
                (declared, Some(default)) if declared == name => Some((default, word.span)),
                _ => None,
            })
    }
}

/// The name and default of one word of an `ARG`: `NAME=default` or a bare `NAME`.
pub fn arg_declaration(word: &str) -> (&str, Option<&str>) {
    match word.split_once('=') {
        Some((name, default)) => (name, Some(default)),
        None => (word, None),
    }
}

/// A parser directive such as `# syntax=docker/dockerfile:1`.
#[derive(Clone, Debug, Serialize)]
pub struct Directive {
    /// The directive's name, lower-cased (`syntax`, `escape`, `check`).
    pub name: Spanned<String>,
    pub value: Spanned<String>,
    /// The whole comment line.
    pub span: Span,
}

/// Whether an instruction's arguments were given as a JSON array (exec form) or as text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Form {
    Shell,
    Exec,
}

/// One instruction, from its keyword through its last continuation line and heredocs.
#[derive(Clone, Debug, Serialize)]
pub struct Instruction {
    /// The keyword upper-cased (`RUN`); the span is the keyword as written.
    pub keyword: Spanned<String>,
    /// The whole instruction: its first line's first character through the end of its last
    /// continuation line or heredoc terminator. The lines of `span.start` and `span.end - 1`
    /// are BuildKit's `start_line` and `end_line`.
    pub span: Span,
    /// `--name[=value]` flags before the arguments, in order.
    pub flags: Vec<Flag>,
    pub form: Form,
    /// The text after the keyword and flags, with line continuations, comment lines and empty
    /// continuation lines removed exactly as BuildKit joins them, and trimmed. For `RUN` in
    /// shell form this is the script the shell runs.
    pub arguments: MappedText,
    /// BuildKit's value list for this instruction: JSON-decoded strings in exec form (the
    /// span is the literal's content, without its quotes), whitespace-separated words for
    /// `FROM`/`COPY`/`ADD`/`EXPOSE`/`VOLUME`, `key, value, separator` triples for `ENV` and
    /// `LABEL` (separator `=` or an empty string for the legacy `KEY value` form), the whole
    /// argument text for `RUN`/`CMD`/`USER`/... in shell form. Empty for `ONBUILD`.
    pub values: Vec<Spanned<String>>,
    /// Heredocs opened on the instruction line, in order.
    pub heredocs: Vec<Heredoc>,
    /// For `ONBUILD`, the trigger instruction it carries.
    pub onbuild: Option<Box<Instruction>>,
}

impl Instruction {
    /// Whether this is the instruction `keyword` (given upper-case, e.g. `"RUN"`).
    pub fn is(&self, keyword: &str) -> bool {
        self.keyword.value == keyword
    }

    /// The flag `--name`, if given (the last one wins, as in BuildKit).
    pub fn flag(&self, name: &str) -> Option<&Flag> {
        self.flags.iter().rev().find(|flag| flag.name.value == name)
    }

    /// For `ENV` and `LABEL`: the `(key, value)` pairs of the value list.
    pub fn key_values(&self) -> Vec<(&Spanned<String>, &Spanned<String>)> {
        if !(self.is("ENV") || self.is("LABEL")) {
            return Vec::new();
        }
        self.values
            .chunks(3)
            .filter_map(|triple| match triple {
                [key, value, ..] => Some((key, value)),
                _ => None,
            })
            .collect()
    }
}

/// A `--name` or `--name=value` flag. Quotes and escapes inside it are removed from the
/// values (as BuildKit does); the spans cover the text as written.
#[derive(Clone, Debug, Serialize)]
pub struct Flag {
    pub name: Spanned<String>,
    pub value: Option<Spanned<String>>,
    pub span: Span,
}

/// A heredoc (`<<EOF` … `EOF`) attached to a `RUN`, `COPY` or `ADD`.
#[derive(Clone, Debug, Serialize)]
pub struct Heredoc {
    /// The delimiter word with quotes removed (`EOF`).
    pub name: Spanned<String>,
    /// The delimiter was quoted (`<<"EOF"`, `<<'EOF'`): the body is not expanded.
    pub quoted: bool,
    /// `<<-EOF`: leading tabs are stripped from the body lines and the terminator.
    pub strip_tabs: bool,
    /// The `<<EOF` token on the instruction line.
    pub marker_span: Span,
    /// The body lines (each with its line ending) after tab stripping.
    pub body: MappedText,
    /// The terminator line, when the heredoc was terminated before the end of the file.
    pub terminator_span: Option<Span>,
}

/// One build stage: a `FROM` and the instructions up to the next `FROM`.
#[derive(Clone, Debug, Serialize)]
pub struct Stage {
    /// 0-based position among the stages (what `COPY --from=0` refers to).
    pub index: usize,
    /// The `AS` alias, lower-cased as BuildKit does; the span is the alias as written.
    pub name: Option<Spanned<String>>,
    /// Index of the `FROM` instruction in [`Dockerfile::instructions`].
    pub from: usize,
    /// Indices of the instructions after `FROM` that belong to this stage.
    pub instructions: Range<usize>,
    pub base: ImageRef,
    /// The `--platform` flag of `FROM`.
    pub platform: Option<Spanned<String>>,
    /// The earlier stage that `FROM` names, when it names one instead of an image.
    pub base_stage: Option<usize>,
    /// The stages this one is built from, transitively, nearest first.
    pub lineage: Vec<usize>,
    /// Every `COPY --from=…` in this stage.
    pub copies_from: Vec<CopyFrom>,
}

/// A `COPY --from=<source>` and what the source resolved to.
#[derive(Clone, Debug, Serialize)]
pub struct CopyFrom {
    /// Index of the `COPY` instruction in [`Dockerfile::instructions`].
    pub instruction: usize,
    /// The flag's value.
    pub source: Spanned<String>,
    /// The stage named by alias or numeric index.
    pub stage: Option<usize>,
    /// The image, when the source names no stage.
    pub image: Option<ImageRef>,
}

/// An image reference as written in `FROM` or `COPY --from`, parsed with Docker's grammar.
#[derive(Clone, Debug, Serialize)]
pub struct ImageRef {
    /// The reference as written.
    pub raw: Spanned<String>,
    /// The reference with global `ARG` defaults substituted and quotes removed.
    pub expanded: String,
    /// The registry host (`ghcr.io`, `localhost:5000`), when one is given.
    pub registry: Option<String>,
    /// The repository path without registry, tag or digest (`nvidia/cuda`, `python`).
    pub repository: String,
    /// The tag. Its span is the tag inside `raw` when no variable was substituted in the
    /// reference, otherwise the whole of `raw`.
    pub tag: Option<Spanned<String>>,
    /// The digest after `@` (`sha256:…`).
    pub digest: Option<String>,
    /// `FROM scratch`: no base image.
    pub is_scratch: bool,
    /// A variable without a known value remains in `expanded`.
    pub unresolved: bool,
}
