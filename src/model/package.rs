//! Package installs recognised in shell commands: which manager, which packages (name,
//! version, extras, each with the exact span of its text), which flags the install command
//! was given, which pip requirement files it reads and which local paths or URLs it
//! installs from.

use serde::Serialize;

use crate::source::{Span, Spanned};

/// A package manager. apt-get and apt are both `apt`; mamba and micromamba are `mamba`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Manager {
    Apt,
    Apk,
    Dnf,
    Yum,
    Microdnf,
    Pip,
    Uv,
    Conda,
    Mamba,
    Npm,
    Yarn,
    Pnpm,
}

impl Manager {
    /// The lowercase name used in JSON and in rules.
    pub fn as_str(self) -> &'static str {
        match self {
            Manager::Apt => "apt",
            Manager::Apk => "apk",
            Manager::Dnf => "dnf",
            Manager::Yum => "yum",
            Manager::Microdnf => "microdnf",
            Manager::Pip => "pip",
            Manager::Uv => "uv",
            Manager::Conda => "conda",
            Manager::Mamba => "mamba",
            Manager::Npm => "npm",
            Manager::Yarn => "yarn",
            Manager::Pnpm => "pnpm",
        }
    }

    /// Whether packages of this manager come from PyPI (pip and `uv pip`).
    pub fn is_python(self) -> bool {
        matches!(self, Manager::Pip | Manager::Uv)
    }
}

/// One install command, such as `apt-get install -y --no-install-recommends gcc` or
/// `pip install --no-cache-dir -r requirements.txt`.
#[derive(Clone, Debug, Serialize)]
pub struct InstallCommand {
    pub manager: Manager,
    /// The program as written: `apt-get`, `pip3`, `/opt/venv/bin/pip`, `python3 -m pip`.
    pub program: Spanned<String>,
    /// The subcommand: `install`, `add`, `ci`, `create`, `global add`, `pip install`; `None`
    /// for a bare `yarn`.
    pub subcommand: Option<Spanned<String>>,
    /// Index of the command in [`crate::model::shell::ShellScript::commands`].
    pub command_index: usize,
    /// The whole command.
    pub span: Span,
    /// Every option given, before or after the subcommand, in order. Clusters of short
    /// options are split (`-qy` gives `-q` and `-y`).
    pub flags: Vec<Flag>,
    pub packages: Vec<PackageInstall>,
    /// `-r`/`--requirement` and `-c`/`--constraint` files (pip and uv).
    pub requirement_files: Vec<PipRequirementFile>,
    /// Installs from local paths, archives, URLs and version control.
    pub sources: Vec<SourceInstall>,
    /// Arguments whose package name comes from a variable or command substitution
    /// (`$PKGS`, `$(cat pkgs.txt)`); no name is invented for them.
    pub variable_arguments: Vec<Spanned<String>>,
    /// Arguments that are neither options nor recognisable package specifications.
    pub unrecognized_arguments: Vec<Spanned<String>>,
    /// Environment set for this command only: leading `NAME=value` assignments and the
    /// settings of wrappers such as `env PIP_NO_CACHE_DIR=1` or `sudo NAME=value`.
    pub environment: Vec<EnvironmentSetting>,
}

/// A `NAME=value` setting in effect for one command.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EnvironmentSetting {
    pub name: Spanned<String>,
    /// The value, unquoted.
    pub value: Spanned<String>,
}

impl InstallCommand {
    /// The first flag called `name` (`--no-cache-dir`, `-y`, `--setopt`).
    pub fn flag(&self, name: &str) -> Option<&Flag> {
        self.flags.iter().find(|f| f.name == name)
    }

    /// Whether any of `names` was given.
    pub fn has_flag(&self, names: &[&str]) -> bool {
        self.flags.iter().any(|f| names.contains(&f.name.as_str()))
    }
}

/// An option of an install command.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Flag {
    /// The option name: `--no-install-recommends`, `-y`, `--setopt` (without any `=value`).
    pub name: String,
    /// The option word as written.
    pub span: Span,
    /// Its argument, attached (`--setopt=x`, `-rreq.txt`) or the next word (`-o X`).
    pub value: Option<Spanned<String>>,
}

/// One package named on an install command.
#[derive(Clone, Debug, Serialize)]
pub struct PackageInstall {
    pub manager: Manager,
    /// The name exactly as written (`numpy` in `"numpy==1.26.0"`, `@types/node` in
    /// `@types/node@20`), with the span of the name only.
    pub name: Spanned<String>,
    /// The name for comparisons: PEP 503-normalised for pip and uv, lowercased for the
    /// system managers and conda, unchanged for npm, yarn and pnpm.
    pub normalized_name: String,
    /// The version requirement. For pip/uv and conda the specifier as written with its
    /// operators (`==1.26.0`, `>=3,<4`); for apt and apk `=` pins and npm/yarn/pnpm `@`, the
    /// text after the separator (`7.88.1-10`, `^18.2.0`); apk's other operators are kept
    /// (`~1.2`, `>=1.2`).
    pub version: Option<Spanned<String>>,
    /// The version selects exactly one release (`==1.2.3`, apt `=1.2-1`, npm `@1.2.3`).
    pub pinned: bool,
    /// The version comes from a variable or command substitution.
    pub version_is_variable: bool,
    /// PEP 508 extras (`speedups` in `aiohttp[speedups]`).
    pub extras: Vec<String>,
    /// A PEP 508 environment marker (the text after `;`).
    pub marker: Option<Spanned<String>>,
    /// Where the package is taken from, when the specification says so: a conda channel
    /// (`conda-forge` in `conda-forge::numpy`), an apk repository tag (`edge` in `curl@edge`),
    /// an apt target release or architecture (`bookworm-backports` in `git/bookworm-backports`).
    pub qualifier: Option<Spanned<String>>,
    /// The whole argument word as written.
    pub span: Span,
    /// The whole install command.
    pub command_span: Span,
    /// Index of the command in [`crate::model::shell::ShellScript::commands`].
    pub command_index: usize,
}

/// A pip requirements (`-r`) or constraints (`-c`) file named on an install command.
#[derive(Clone, Debug, Serialize)]
pub struct PipRequirementFile {
    pub manager: Manager,
    /// The path as given (relative to the working directory of the RUN).
    pub path: Spanned<String>,
    /// `-c`/`--constraint` rather than `-r`/`--requirement`.
    pub constraint: bool,
    /// The path contains a variable or command substitution.
    pub path_is_variable: bool,
    /// The option and its path, as written.
    pub span: Span,
    pub command_index: usize,
}

/// What a source install points at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    /// A local directory or archive: `.`, `./pkg`, `dist/x.whl`, `./x.deb`.
    Path,
    /// An archive URL: `https://…/x.tar.gz`, `file:///…`.
    Url,
    /// Version control: `git+https://…`, `github:user/repo`, `user/repo` (npm).
    Vcs,
}

/// An install from a path, URL or repository instead of a package index.
#[derive(Clone, Debug, Serialize)]
pub struct SourceInstall {
    pub manager: Manager,
    pub kind: SourceKind,
    /// The path or URL, unquoted, with its span.
    pub target: Spanned<String>,
    /// The project name when it is given (`#egg=name`, `name @ url`).
    pub name: Option<Spanned<String>>,
    /// `-e`/`--editable`.
    pub editable: bool,
    /// The argument as written.
    pub span: Span,
    pub command_index: usize,
}
