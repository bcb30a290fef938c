//! The compose project model: services with their image, build, healthcheck, command and
//! GPU reservations, merged over the project's compose files, every value spanned.
//!
//! Values are as written after variable interpolation; their span is the scalar they were
//! read from (the whole scalar when interpolation changed the text), in the file that
//! finally provided them after merging. Defaulted values (build context `.`, for one) carry
//! the span of the mapping that implied them.

use std::path::PathBuf;

use serde::{Serialize, Serializer};

use crate::source::{FileId, Span, Spanned};

#[derive(Clone, Debug, Serialize)]
pub struct ComposeProject {
    /// The compose files in merge order (base first).
    pub files: Vec<FileId>,
    /// The folder of the first compose file; relative paths are resolved against it.
    pub project_dir: PathBuf,
    /// The top-level `name:`, if any.
    pub name: Option<Spanned<String>>,
    /// Services in order of first appearance.
    pub services: Vec<Service>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Service {
    /// The service's name; span = its key in the first file that defines it.
    pub name: Spanned<String>,
    /// The service's entry (its key through its value) in each file that defines it; not
    /// part of the dump.
    #[serde(skip)]
    pub spans: Vec<Span>,
    pub image: Option<Spanned<String>>,
    pub build: Option<Build>,
    pub healthcheck: Option<Healthcheck>,
    /// Device reservations: `deploy.resources.reservations.devices` (appended over files),
    /// then the `gpus:` service key.
    pub gpus: Vec<DeviceReservation>,
    pub command: Option<Command>,
    pub entrypoint: Option<Command>,
    pub platform: Option<Spanned<String>>,
    pub profiles: Vec<Spanned<String>>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Build {
    /// The `build` value in the file that last contributed to it.
    pub span: Span,
    /// The context as written (after interpolation); `.` when not given.
    pub context: Spanned<String>,
    /// The context resolved against the project folder and normalised lexically (`.` and
    /// `..` removed); for a remote context (a git or HTTP URL) the context as written.
    pub context_path: PathBuf,
    /// Whether the context is a URL (git repository or tarball) rather than a folder.
    pub remote_context: bool,
    pub dockerfile: Option<Spanned<String>>,
    /// The Dockerfile resolved against `context_path` (an absolute `dockerfile` is kept);
    /// `context_path/Dockerfile` by default.
    pub dockerfile_path: PathBuf,
    /// `dockerfile_inline`: a Dockerfile given in the compose file itself.
    pub dockerfile_inline: Option<Spanned<String>>,
    pub target: Option<Spanned<String>>,
    pub args: Vec<BuildArg>,
}

/// One build argument, from mapping form (`KEY: value`) or list form (`- KEY=value`).
#[derive(Clone, Debug, Serialize)]
pub struct BuildArg {
    pub name: Spanned<String>,
    /// `None` for `- KEY` / `KEY:` (the value is taken from the environment by compose).
    pub value: Option<Spanned<String>>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Healthcheck {
    pub span: Span,
    /// The test command as a list: `["CMD", …]`, `["CMD-SHELL", "…"]` or `["NONE"]`; the
    /// string form is modelled as `["CMD-SHELL", <string>]` (both spanned on the string).
    pub test: Option<Spanned<Vec<Spanned<String>>>>,
    /// Whether the healthcheck is turned off: `disable: true`, or `test: ["NONE"]`.
    pub disable: bool,
    pub interval: Option<Spanned<String>>,
    pub timeout: Option<Spanned<String>>,
    pub start_period: Option<Spanned<String>>,
    pub retries: Option<Spanned<String>>,
}

/// A `command` or `entrypoint`.
#[derive(Clone, Debug, Serialize)]
pub struct Command {
    pub span: Span,
    /// Whether it was written as one string (which compose splits like a POSIX shell)
    /// rather than as a list.
    pub string_form: bool,
    /// The words. From the string form each word is spanned on its own text where the
    /// scalar's text maps one to one onto the file, otherwise on the whole string.
    pub words: Vec<Spanned<String>>,
}

/// Where a device reservation was declared.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceSource {
    /// `deploy.resources.reservations.devices[]`.
    Deploy,
    /// The `gpus:` service key (`gpus: all` or a list of devices).
    GpusKey,
}

#[derive(Clone, Debug, Serialize)]
pub struct DeviceReservation {
    pub span: Span,
    pub source: DeviceSource,
    pub driver: Option<Spanned<String>>,
    pub count: Option<Spanned<DeviceCount>>,
    pub device_ids: Vec<Spanned<String>>,
    /// For `gpus: all` this is `["gpu"]`, spanned on `all`.
    pub capabilities: Vec<Spanned<String>>,
}

/// A device `count`: a number or `all`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceCount {
    All,
    Number(u64),
}

impl Serialize for DeviceCount {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            DeviceCount::All => serializer.serialize_str("all"),
            DeviceCount::Number(n) => serializer.serialize_u64(*n),
        }
    }
}

impl ComposeProject {
    pub fn service(&self, name: &str) -> Option<&Service> {
        self.services.iter().find(|s| s.name.value == name)
    }
}
