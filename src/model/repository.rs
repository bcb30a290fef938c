//! The linked repository: every input of a scanned path and the links between them.
//!
//! A compose service links to its build context, its Dockerfile and the stage that is its
//! image; a Dockerfile links to the context it is built with; each `RUN` is split into
//! commands and package installs; each `COPY`/`ADD` source is resolved in the context; each
//! `pip install -r FILE` is traced through `WORKDIR` and the `COPY` that put FILE into the
//! image back to a requirements file of the context; each context lists its Python files
//! and what they import. Indices (`context`, `dockerfile`, `stage`, `instruction`, …) point
//! into the vectors of [`Repository`] and [`Dockerfile`].

use std::path::PathBuf;

use serde::Serialize;

use crate::model::compose::ComposeProject;
use crate::model::context::{BuildContext, CopySource, DockerIgnore};
use crate::model::dockerfile::Dockerfile;
use crate::model::package::{InstallCommand, PackageInstall};
use crate::model::python::Import;
use crate::model::requirements::RequirementsFile;
use crate::model::shell::Command;
use crate::source::{FileId, Span, Spanned};

/// The model of one scanned path.
#[derive(Clone, Debug, Serialize)]
pub struct Repository {
    /// The directory paths are reported relative to.
    pub root: PathBuf,
    pub dockerfiles: Vec<DockerfileModel>,
    pub contexts: Vec<ContextModel>,
    pub requirements_files: Vec<RequirementsModel>,
    pub compose_projects: Vec<ComposeProject>,
    /// Every compose service, linked to what it builds.
    pub services: Vec<ServiceLink>,
    pub python_files: Vec<PythonFile>,
}

impl Repository {
    /// For each Dockerfile, whether a compose service builds it (those that none builds are
    /// services of their own, named after their folder).
    pub fn dockerfiles_built_by_compose(&self) -> Vec<bool> {
        let mut built = vec![false; self.dockerfiles.len()];
        for dockerfile in self.services.iter().filter_map(|link| link.dockerfile) {
            if let Some(flag) = built.get_mut(dockerfile) {
                *flag = true;
            }
        }
        built
    }

    /// Requirements file `file` and the files it includes with `-r`/`-c`, transitively, each
    /// once, in the order they are reached (indexes into `requirements_files`).
    pub fn requirements_file_with_includes(&self, file: usize) -> Vec<usize> {
        let mut out = Vec::new();
        let mut pending = vec![file];
        while let Some(file) = pending.pop() {
            if out.contains(&file) {
                continue;
            }
            let Some(model) = self.requirements_files.get(file) else {
                continue;
            };
            out.push(file);
            for include in &model.requirements.includes {
                let included = include.resolved.and_then(|id| {
                    self.requirements_files
                        .iter()
                        .position(|f| f.requirements.file == id)
                });
                pending.extend(included);
            }
        }
        out
    }

    /// The requirements `(file, requirement)` of requirements file `file` and of the files it
    /// includes (see [`Repository::requirements_file_with_includes`]).
    pub fn requirements_with_includes(&self, file: usize) -> Vec<(usize, usize)> {
        self.requirements_file_with_includes(file)
            .into_iter()
            .flat_map(|file| {
                let count = self
                    .requirements_files
                    .get(file)
                    .map_or(0, |f| f.requirements.requirements.len());
                (0..count).map(move |r| (file, r))
            })
            .collect()
    }
}

/// One Dockerfile with what was derived from it.
#[derive(Clone, Debug, Serialize)]
pub struct DockerfileModel {
    /// Relative to the scanned root, `/`-separated.
    pub path: String,
    /// Instructions, stages and their lineage, as parsed.
    #[serde(flatten)]
    pub dockerfile: Dockerfile,
    /// The stage built when no target is given (the last one).
    pub final_stage: Option<usize>,
    /// The build context this Dockerfile is built with: the context of the compose service
    /// that builds it this way (the first one, for the first model), otherwise the
    /// Dockerfile's own folder (`docker build .`).
    pub context: Option<usize>,
    /// The build arguments it is built with (compose `build.args` and `--build-arg` that its
    /// `ARG`s declare and whose values are not their defaults): name and value, in the order
    /// given.
    pub build_args: Vec<(String, BuildArgValue)>,
    /// For a Dockerfile that services build in more than one way (another context, other
    /// build arguments), the model of the first way when this one is another: the same
    /// file, analysed again.
    pub variant_of: Option<usize>,
    /// Every `RUN`, split into commands and install commands.
    pub runs: Vec<RunModel>,
    /// Every `COPY`/`ADD`, with its sources resolved in the build context.
    pub copies: Vec<CopyModel>,
    /// Every `pip install -r FILE`, traced back to the requirements file it installs.
    pub pip_requirements: Vec<PipRequirementsLink>,
}

/// The value of a build argument, and where it is given (`None`: on the command line or in
/// the configuration file, which are not sources of the repository).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BuildArgValue {
    pub value: String,
    pub span: Option<Span>,
}

impl From<String> for BuildArgValue {
    /// A value given on the command line.
    fn from(value: String) -> BuildArgValue {
        BuildArgValue { value, span: None }
    }
}

impl DockerfileModel {
    /// The value of a stage's `ARG` named `name` with `default` (`None` for a bare `ARG`),
    /// and where it is written: the build argument of that name the file is built with, else
    /// `default`, else the default of the same name's `ARG` before the first `FROM`.
    pub fn stage_arg_value<'a>(
        &'a self,
        name: &str,
        default: Option<(&'a str, Span)>,
    ) -> Option<(&'a str, Option<Span>)> {
        let given = self
            .build_args
            .iter()
            .find(|(arg, _)| arg == name)
            .map(|(_, value)| (value.value.as_str(), value.span));
        given.or_else(|| {
            default
                .or_else(|| self.dockerfile.global_arg_default(name))
                .map(|(value, span)| (value, Some(span)))
        })
    }

    /// Every package installed by a `RUN` of the file, with the run it is in.
    pub fn packages(&self) -> impl Iterator<Item = (&RunModel, &PackageInstall)> {
        self.runs.iter().flat_map(|run| {
            run.installs
                .iter()
                .flat_map(move |install| install.packages.iter().map(move |p| (run, p)))
        })
    }
}

/// The shell commands of one `RUN` (its shell form and every heredoc run as a script).
#[derive(Clone, Debug, Serialize)]
pub struct RunModel {
    pub instruction: usize,
    pub stage: Option<usize>,
    pub commands: Vec<Command>,
    pub installs: Vec<InstallCommand>,
    /// The `--mount=type=cache` targets of this `RUN`.
    pub cache_mounts: Vec<Spanned<String>>,
}

/// One `COPY` or `ADD`.
#[derive(Clone, Debug, Serialize)]
pub struct CopyModel {
    pub instruction: usize,
    pub stage: Option<usize>,
    /// `--from`: the stage index when it names an earlier stage.
    pub from_stage: Option<usize>,
    /// `--from` as written, when given.
    pub from: Option<Spanned<String>>,
    pub sources: Vec<CopySourceModel>,
    pub destination: Option<Spanned<String>>,
    /// The destination as an absolute path in the image (after `WORKDIR`).
    pub destination_path: Option<String>,
    /// Whether the destination is a directory (ends with `/`, or several sources).
    pub destination_is_dir: bool,
}

/// One source of a `COPY`/`ADD`.
#[derive(Clone, Debug, Serialize)]
pub struct CopySourceModel {
    pub source: Spanned<String>,
    /// The source resolved in the build context; `None` for `--from`, heredocs and URLs.
    pub resolved: Option<CopySource>,
}

/// A `pip install -r FILE` traced to the file in the build context.
#[derive(Clone, Debug, Serialize)]
pub struct PipRequirementsLink {
    pub stage: Option<usize>,
    pub instruction: usize,
    /// The `FILE` word as written.
    pub path: Spanned<String>,
    pub constraint: bool,
    /// `FILE` as an absolute path in the image (after `WORKDIR`).
    pub image_path: String,
    /// The `COPY`/`ADD` instruction that put the file there, if one did.
    pub copied_by: Option<usize>,
    /// The file's path in the build context, if it was copied from there.
    pub context_path: Option<String>,
    /// Index into [`Repository::requirements_files`].
    pub requirements_file: Option<usize>,
}

/// A build context with its `.dockerignore`.
#[derive(Clone, Debug, Serialize)]
pub struct ContextModel {
    /// Relative to the scanned root, `/`-separated (`.` for the root itself).
    pub path: String,
    /// The `.dockerignore` in effect (relative path), if any.
    pub dockerignore_path: Option<String>,
    pub dockerignore: Option<DockerIgnore>,
    #[serde(flatten)]
    pub context: BuildContext,
    /// Indices into [`Repository::python_files`] of the Python files the context sends.
    pub python_files: Vec<usize>,
}

/// A requirements file (found by name or pulled in by `pip install -r` or `-r`/`-c`).
#[derive(Clone, Debug, Serialize)]
pub struct RequirementsModel {
    /// Relative to the scanned root, `/`-separated.
    pub path: String,
    #[serde(flatten)]
    pub requirements: RequirementsFile,
}

/// A Python source file of a build context and what it imports.
#[derive(Clone, Debug, Serialize)]
pub struct PythonFile {
    pub path: String,
    pub file: FileId,
    pub context: usize,
    pub imports: Vec<Import>,
}

/// A compose service linked to what it builds.
#[derive(Clone, Debug, Serialize)]
pub struct ServiceLink {
    pub name: String,
    /// Index into [`Repository::compose_projects`] and that project's `services`.
    pub project: usize,
    pub service: usize,
    pub context: Option<usize>,
    pub dockerfile: Option<usize>,
    /// The stage that is the service's image (`build.target`, else the final stage).
    pub image_stage: Option<usize>,
    /// Whether `build.context` names a folder that exists.
    pub context_exists: bool,
    /// Whether the Dockerfile `build.dockerfile` names exists.
    pub dockerfile_exists: bool,
}
