//! The model of pip requirements files (`requirements.txt`, constraints files).
//!
//! One [`RequirementsFile`] per file read, holding its requirements, the files it includes
//! with `-r`/`-c`, and the index and install options it sets, each with the span it came from.
//! The values are what pip 26 reads from the file (see `parse::requirements`); where pip
//! rewrites a value (the specifier order, marker quoting) the model keeps pip's form and the
//! span points at what the user wrote.

use serde::Serialize;

use crate::source::{FileId, Span, Spanned};

pub use super::pep503::{normalize_name, normalized_name};

/// One requirements or constraints file.
#[derive(Clone, Debug, Serialize)]
pub struct RequirementsFile {
    pub file: FileId,
    /// True when the file was read as a constraints file (`-c`).
    pub constraint: bool,
    pub requirements: Vec<Requirement>,
    pub includes: Vec<Include>,
    /// Options that apply to the whole install (`--index-url`, `--pre`, ...), in file order.
    pub options: Vec<FileOption>,
}

/// Whether an include names a requirements file (`-r`) or a constraints file (`-c`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IncludeKind {
    Requirement,
    Constraint,
}

/// A `-r path` or `-c path` line.
#[derive(Clone, Debug, Serialize)]
pub struct Include {
    pub kind: IncludeKind,
    /// The path as written (after `${VAR}` expansion), relative to the including file.
    pub path: Spanned<String>,
    /// The included file once it was loaded; `None` when it is missing, a URL, a cycle, or
    /// the file was parsed on its own.
    pub resolved: Option<FileId>,
    /// 1-based number of the line the include starts on, counted as pip counts lines.
    pub line: u32,
}

/// The install options a requirements file may set for the whole run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FileOptionKind {
    IndexUrl,
    ExtraIndexUrl,
    NoIndex,
    FindLinks,
    NoBinary,
    OnlyBinary,
    PreferBinary,
    RequireHashes,
    Pre,
    TrustedHost,
    UseFeature,
}

/// One option on an option line, such as `--extra-index-url https://...`.
#[derive(Clone, Debug, Serialize)]
pub struct FileOption {
    pub kind: FileOptionKind,
    /// The flag as written (`-i`, `--index-url`, or an abbreviation such as `--extra-index`).
    pub flag: Spanned<String>,
    /// The option's value, for options that take one.
    pub value: Option<Spanned<String>>,
    pub line: u32,
}

/// One requirement line: a PEP 508 requirement, a URL or path, or an editable (`-e`).
#[derive(Clone, Debug, Serialize)]
pub struct Requirement {
    /// The requirement text (without per-requirement options such as `--hash`); for a line
    /// continued with `\` it covers all the lines it spans.
    pub span: Span,
    /// The whole logical line, options included.
    pub line_span: Span,
    /// The requirement string exactly as pip passes it on (after comment removal, line
    /// joining and `${VAR}` expansion).
    pub text: String,
    /// 1-based number of the line the requirement starts on, counted as pip counts lines.
    pub line: u32,
    /// The project name as written, spanning only the name (`aiohttp` in
    /// `aiohttp[speedups]>=3.9`). For a wheel file it is pip's name from the file name;
    /// for a URL it comes from `#egg=`. `None` for an unnamed URL or path.
    pub name: Option<Spanned<String>>,
    /// The PEP 503 normalised name: lowercase, runs of `-`, `_`, `.` replaced by `-`.
    pub normalized_name: Option<String>,
    /// Extras as written, in order.
    pub extras: Vec<Spanned<String>>,
    /// The version specifier in pip's form (`<3,>=2.0`: sorted, no spaces); the span covers
    /// what the user wrote.
    pub specifier: Option<Spanned<String>>,
    /// The environment marker in pip's (packaging's) form (`python_version < "3.9"`).
    pub marker: Option<Spanned<String>>,
    /// The URL or path to install from, for URL, path and editable requirements.
    pub url: Option<Spanned<String>>,
    pub editable: bool,
    /// True when the requirement came from a constraints file (`-c`).
    pub constraint: bool,
    /// `--hash` values, `algorithm:digest`.
    pub hashes: Vec<Spanned<String>>,
    /// `--config-settings` values, `KEY=VALUE`.
    pub config_settings: Vec<Spanned<String>>,
    /// `--global-option` values.
    pub global_options: Vec<Spanned<String>>,
}
