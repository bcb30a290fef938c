//! The build context: the `.dockerignore` pattern list, the files the context directory
//! holds, which of them BuildKit would send, and what a COPY/ADD source resolves to.
//!
//! Plain data. The matching logic (a port of moby/patternmatcher), the directory walk and
//! COPY source resolution live in `parse::dockerignore` and `parse::context`.

use std::path::PathBuf;
use std::sync::Arc;

use regex::Regex;
use serde::Serialize;

use crate::source::{FileId, Span};

/// A parsed `.dockerignore` (or `<Dockerfile>.dockerignore`) file: its patterns in order.
#[derive(Clone, Debug, Serialize)]
pub struct DockerIgnore {
    /// The file the patterns were read from.
    pub file: FileId,
    pub patterns: Vec<IgnorePattern>,
    /// Whether any pattern is a `!` exception.
    pub has_exceptions: bool,
    /// Whether every `!` exception is a literal path (optionally ending in `/*` or `/**`).
    /// BuildKit then skips walking excluded directories that no exception points into.
    pub literal_exceptions_only: bool,
    /// False when BuildKit rejects the pattern list (an invalid pattern): the build fails.
    pub valid: bool,
}

/// One pattern line.
#[derive(Clone, Debug, Serialize)]
pub struct IgnorePattern {
    /// The pattern as written, trimmed, including a leading `!`.
    pub span: Span,
    /// The pattern text after the `!` (trimmed), as written.
    pub text_span: Span,
    /// The pattern as BuildKit uses it: cleaned like a path, without `!` and leading `/`.
    pub text: String,
    /// A `!` line: paths it matches are re-included (patternmatcher calls it an exclusion).
    pub exception: bool,
    /// How the pattern is matched.
    pub kind: PatternKind,
    /// The compiled pattern when `kind` is [`PatternKind::Regex`], shared by every pattern
    /// of the process with the same expression (one `Regex` keeps one pool of match caches,
    /// so a shared one builds its cache once instead of once per pattern).
    #[serde(skip)]
    pub regex: Option<Arc<Regex>>,
}

/// How patternmatcher matches a pattern against a path.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PatternKind {
    /// No wildcard: the path must equal the pattern.
    Exact,
    /// `prefix**`: the path must start with the prefix.
    Prefix,
    /// `**suffix` with no other wildcard: the path must end with the suffix.
    Suffix,
    /// Anything else: a regular expression translated from the glob.
    Regex,
    /// Rejected by BuildKit; never matches.
    Invalid,
}

/// The outcome of matching one path against a [`DockerIgnore`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct IgnoreMatch {
    /// Whether the path is left out of the build context.
    pub excluded: bool,
    /// The index of the pattern that decided (the last one that matched the path or one of
    /// its parents); `None` when no pattern matched.
    pub pattern: Option<usize>,
}

/// A build context directory as BuildKit would transfer it.
#[derive(Clone, Debug, Serialize)]
pub struct BuildContext {
    /// The context directory.
    pub root: PathBuf,
    /// The ignore file applied, if any.
    pub dockerignore: Option<DockerIgnore>,
    /// Every entry found, in walk order (parents before children, names sorted bytewise).
    pub files: Vec<ContextFile>,
    /// Total size of the regular files found (excluded ones included; contents of excluded
    /// directories that were not walked are not counted).
    pub total_size: u64,
    /// Total size of the regular files that are sent (not excluded).
    pub sent_size: u64,
    /// Number of regular files that are sent.
    pub sent_files: usize,
    /// Whether the walk stopped early (too many entries or too deep); see the diagnostics.
    pub truncated: bool,
}

/// One entry of a build context.
#[derive(Clone, Debug, Serialize)]
pub struct ContextFile {
    /// The path relative to the context root, `/`-separated, without a leading `./`.
    pub rel_path: String,
    pub kind: EntryKind,
    /// Size in bytes (of the link itself for a symlink; 0 for a directory).
    pub size: u64,
    /// The `.dockerignore` pattern that excludes this entry, if it is excluded.
    pub excluded_by: Option<usize>,
    /// For a directory: whether its contents were walked. BuildKit does not descend into an
    /// excluded directory when no `!` exception could re-include anything below it, and
    /// neither do we.
    pub walked: bool,
    /// For a symlink: its target as stored in the link (never followed).
    pub link_target: Option<String>,
}

/// What kind of filesystem entry a [`ContextFile`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    File,
    Dir,
    Symlink,
    /// A socket, FIFO or device.
    Other,
}

/// What a COPY/ADD source path resolves to in a build context.
#[derive(Clone, Debug, Serialize)]
pub struct CopySource {
    /// The source as written in the Dockerfile.
    pub source: String,
    /// The source relative to the context root after cleaning (`""` is the whole context).
    pub cleaned: String,
    /// Whether the source has `*`, `?` or `[` wildcards.
    pub wildcard: bool,
    /// Indices into [`BuildContext::files`] of the sent regular files and symlinks copied.
    pub files: Vec<usize>,
    /// Total size of those files.
    pub size: u64,
    /// Entries that match the source but are excluded by `.dockerignore`, with the pattern.
    pub excluded: Vec<ExcludedMatch>,
    pub outcome: CopyOutcome,
}

/// An entry a COPY source would have copied had `.dockerignore` not excluded it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct ExcludedMatch {
    /// Index into [`BuildContext::files`].
    pub file: usize,
    /// Index into the [`DockerIgnore`] patterns.
    pub pattern: usize,
}

/// Whether BuildKit can resolve a COPY/ADD source.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CopyOutcome {
    /// The source exists in the sent context.
    Found,
    /// A wildcard matched nothing that is sent. BuildKit copies nothing and succeeds; the
    /// legacy builder fails with "no source files were specified".
    NoMatch,
    /// The path (or, for a wildcard, the directory before the first wildcard) is not in the
    /// sent context: BuildKit fails ("not found" / "no such file or directory").
    NotFound,
}
