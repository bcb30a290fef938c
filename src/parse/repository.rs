//! Loading and linking a repository: discovery, every front end, and the links between their
//! results (see [`crate::model::repository`]).
//!
//! Files are read once into [`Sources`], one after another in a fixed order; the parsing that
//! needs nothing but a file's text (Dockerfiles, RUN bodies, Python imports) runs in
//! parallel, so the model and the order of its problems do not depend on the number of
//! threads. Every problem becomes a [`Diagnostic`] and the rest of the repository is still
//! modelled.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::diag::Diagnostic;
use crate::model::compose::BuildArg;
use crate::model::context::{CopyOutcome, DockerIgnore};
use crate::model::dockerfile::{arg_declaration, Dockerfile, Form, Instruction};
use crate::model::python::Import;
use crate::model::repository::{
    BuildArgValue, ContextModel, CopyModel, CopySourceModel, DockerfileModel, PipRequirementsLink,
    PythonFile, Repository, RequirementsModel, RunModel, ServiceLink,
};
use crate::model::shell::{file_name, Command};
use crate::parse::compose::{parse_compose, ComposeInput};
use crate::parse::context::{dockerignore_path, scan_context};
use crate::parse::discover::{discover, relative_path};
use crate::parse::dockerfile::{parse_dockerfile_with_args, ParsedDockerfile};
use crate::parse::dockerignore::parse_dockerignore;
use crate::parse::interpolate::{parse_dotenv, Interpolation};
use crate::parse::packages::install_commands;
use crate::parse::path_glob::PathGlobs;
use crate::parse::python_imports::parse_imports;
use crate::parse::requirements::load_requirements;
use crate::parse::shell::parse_shell;
use crate::source::{normalize_path, FileId, MappedText, Sources};

/// Python files larger than this are not read for imports (generated or vendored code).
const MAX_PYTHON_FILE_BYTES: u64 = 2 * 1024 * 1024;

/// Contexts with more Python files than this are sampled up to this many, with a warning.
const MAX_PYTHON_FILES_PER_CONTEXT: usize = 20_000;

/// How to load a repository.
#[derive(Clone, Debug, Default)]
pub struct LoadOptions {
    /// Variables for compose interpolation. They override the `.env` file beside the compose
    /// files; the process environment is not read, so results do not depend on the machine.
    pub variables: BTreeMap<String, String>,
    /// Paths (globs relative to the scanned root) that discovery leaves out. Files reached
    /// through links (a service's Dockerfile, a requirements file a Dockerfile installs) are
    /// still read, so that what is modelled stays complete.
    pub exclude: PathGlobs,
    /// `--image-sizes FILE`: measured image sizes. `load` does not read it; the commands that
    /// report sizes do, after loading (it overrides the configuration's `image_sizes`).
    pub image_sizes: Option<PathBuf>,
    /// `--build-arg NAME=VALUE` (and the configuration's `build_args` before them): build
    /// arguments for every Dockerfile whose `ARG`s declare them, over a compose service's
    /// `build.args` of the same name. A later one of a name wins.
    pub build_args: Vec<(String, String)>,
}

/// A loaded repository: the model, the files it points into, and the problems found.
#[derive(Debug)]
pub struct Loaded {
    pub repository: Repository,
    pub sources: Sources,
    pub diagnostics: Vec<Diagnostic>,
}

/// Discovers, parses and links everything below `path`.
pub fn load(path: &Path, options: &LoadOptions) -> Loaded {
    let (found, diagnostics) = discover(path, &options.exclude);
    let mut linker = Linker {
        root: found.root.clone(),
        sources: Sources::new(),
        diagnostics,
        repository: Repository {
            root: found.root.clone(),
            dockerfiles: Vec::new(),
            contexts: Vec::new(),
            requirements_files: Vec::new(),
            compose_projects: Vec::new(),
            services: Vec::new(),
            python_files: Vec::new(),
        },
        dockerfile_by_path: HashMap::new(),
        context_by_key: HashMap::new(),
        requirements_by_path: HashMap::new(),
        builds: HashMap::new(),
        first_builds: HashSet::new(),
        command_line_args: given_build_args(&[], &options.build_args),
    };
    for project in &found.compose_projects {
        linker.load_compose(project, options);
    }
    linker.dockerfiles(&found.dockerfiles);
    for requirements in &found.requirements {
        linker.requirements(requirements);
    }
    linker.link_services();
    // A RUN's commands and installs follow from its text alone: the RUNs of all Dockerfiles
    // are split in parallel (a variant's are its first model's), then each Dockerfile is
    // linked in turn.
    let runs: Vec<Vec<(RunModel, Vec<Diagnostic>)>> = linker
        .repository
        .dockerfiles
        .par_iter()
        .map(|model| match model.variant_of {
            Some(_) => Vec::new(),
            None => split_runs(&model.dockerfile),
        })
        .collect();
    for (index, runs) in runs.into_iter().enumerate() {
        linker.analyse_dockerfile(index, runs);
    }
    find_imports(&mut linker.repository.python_files, &linker.sources);
    Loaded {
        repository: linker.repository,
        sources: linker.sources,
        diagnostics: linker.diagnostics,
    }
}

/// A way a Dockerfile is built: its first model, the context, and the build arguments that
/// change it (name, value).
type BuildWay = (usize, Option<usize>, Vec<(String, String)>);

struct Linker {
    root: PathBuf,
    sources: Sources,
    diagnostics: Vec<Diagnostic>,
    repository: Repository,
    dockerfile_by_path: HashMap<PathBuf, usize>,
    /// Contexts by (context root, `.dockerignore` in effect).
    context_by_key: HashMap<(PathBuf, Option<PathBuf>), usize>,
    requirements_by_path: HashMap<PathBuf, usize>,
    /// The model of each way a service builds a Dockerfile.
    builds: HashMap<BuildWay, usize>,
    /// The Dockerfiles (first models) that a service builds.
    first_builds: HashSet<usize>,
    /// `--build-arg`s: every Dockerfile is built with those its `ARG`s declare.
    command_line_args: Vec<(String, BuildArgValue)>,
}

impl Linker {
    fn rel(&self, path: &Path) -> String {
        relative_path(&self.root, path)
    }

    /// Loads a file into the sources, or records why it could not be.
    fn load_file(&mut self, path: &Path) -> Option<FileId> {
        if let Some(id) = self.sources.find(path) {
            return Some(id);
        }
        let rel = self.rel(path);
        match self.sources.load(path, &rel) {
            Ok((id, warning)) => {
                self.diagnostics.extend(warning);
                Some(id)
            }
            Err(diagnostic) => {
                self.diagnostics.push(diagnostic);
                None
            }
        }
    }

    fn load_compose(&mut self, files: &[PathBuf], options: &LoadOptions) {
        let ids: Vec<(FileId, &PathBuf)> = files
            .iter()
            .filter_map(|path| Some((self.load_file(path)?, path)))
            .collect();
        let Some(first) = files.first() else {
            return;
        };
        let project_dir = first.parent().map(Path::to_path_buf).unwrap_or_default();
        let variables = self.dotenv(&project_dir, options);
        let inputs: Vec<ComposeInput<'_>> = ids
            .iter()
            .map(|&(file, path)| ComposeInput {
                file,
                path,
                text: self.sources.text(file),
            })
            .collect();
        let (project, diagnostics) = parse_compose(&inputs, &variables);
        self.diagnostics.extend(diagnostics);
        self.repository.compose_projects.push(project);
    }

    /// The interpolation variables of a compose project: its `.env` file, overridden by the
    /// variables given explicitly.
    fn dotenv(&mut self, project_dir: &Path, options: &LoadOptions) -> Interpolation {
        let path = project_dir.join(".env");
        let entries = if path.is_file() {
            match self.load_file(&path) {
                Some(file) => {
                    let (entries, diagnostics) = parse_dotenv(file, self.sources.text(file));
                    self.diagnostics.extend(diagnostics);
                    entries
                }
                None => Vec::new(),
            }
        } else {
            Vec::new()
        };
        let (variables, diagnostics) =
            Interpolation::from_dotenv(&entries, options.variables.clone());
        self.diagnostics.extend(diagnostics);
        variables
    }

    /// Parses the Dockerfile at `path` once; returns its index.
    fn dockerfile(&mut self, path: &Path) -> Option<usize> {
        let key = normalize_path(path);
        if let Some(&index) = self.dockerfile_by_path.get(&key) {
            return Some(index);
        }
        self.dockerfiles(&[path.to_path_buf()]);
        self.dockerfile_by_path.get(&key).copied()
    }

    /// Parses the Dockerfiles at `paths` that are not parsed yet: read in turn, so that
    /// their file IDs follow the order of `paths`, then parsed in parallel. The problems are
    /// reported in the same order as when each file is read and parsed in turn.
    fn dockerfiles(&mut self, paths: &[PathBuf]) {
        let earlier = std::mem::take(&mut self.diagnostics);
        let mut files = Vec::with_capacity(paths.len());
        let mut reading = HashSet::new();
        for path in paths {
            let key = normalize_path(path);
            if self.dockerfile_by_path.contains_key(&key) || !reading.insert(key.clone()) {
                continue;
            }
            let file = self.load_file(path);
            files.push((key, path, file, std::mem::take(&mut self.diagnostics)));
        }
        self.diagnostics = earlier;
        let sources = &self.sources;
        let pairs = arg_pairs(&self.command_line_args);
        let parsed: Vec<Option<ParsedDockerfile>> = files
            .par_iter()
            .map(|&(_, _, file, _)| {
                file.map(|file| parse_dockerfile_with_args(file, sources.text(file), &pairs))
            })
            .collect();
        for ((key, path, _, problems), parsed) in files.into_iter().zip(parsed) {
            self.diagnostics.extend(problems);
            if let Some(parsed) = parsed {
                self.add_dockerfile(key, path, parsed);
            }
        }
    }

    /// Adds the model of the Dockerfile at `path` (normalised: `key`); returns its index.
    fn add_dockerfile(&mut self, key: PathBuf, path: &Path, parsed: ParsedDockerfile) -> usize {
        self.diagnostics.extend(parsed.diagnostics);
        let build_args = changing_build_args(&parsed.dockerfile, &self.command_line_args);
        let index = self.repository.dockerfiles.len();
        let final_stage = parsed.dockerfile.stages.len().checked_sub(1);
        self.repository.dockerfiles.push(DockerfileModel {
            path: self.rel(path),
            dockerfile: parsed.dockerfile,
            final_stage,
            context: None,
            build_args,
            variant_of: None,
            runs: Vec::new(),
            copies: Vec::new(),
            pip_requirements: Vec::new(),
        });
        self.dockerfile_by_path.insert(key, index);
        index
    }

    /// Loads a requirements file and what it includes; returns the index of `path`.
    fn requirements(&mut self, path: &Path) -> Option<usize> {
        let key = normalize_path(path);
        if let Some(&index) = self.requirements_by_path.get(&key) {
            return Some(index);
        }
        let (files, diagnostics) = load_requirements(path, &self.root, &mut self.sources);
        self.diagnostics.extend(diagnostics);
        for requirements in files {
            let Some(source) = self.sources.get(requirements.file) else {
                continue;
            };
            let file_key = normalize_path(&source.path);
            if self.requirements_by_path.contains_key(&file_key) {
                continue;
            }
            let model = RequirementsModel {
                path: source.rel_path.clone(),
                requirements,
            };
            self.requirements_by_path
                .insert(file_key, self.repository.requirements_files.len());
            self.repository.requirements_files.push(model);
        }
        self.requirements_by_path.get(&key).copied()
    }

    /// The context rooted at `root` as the Dockerfile at `dockerfile` sees it (the
    /// `.dockerignore` depends on both); scanned once.
    fn context(&mut self, root: &Path, dockerfile: &Path) -> Option<usize> {
        let root = normalize_path(root);
        let ignore_path = dockerignore_path(dockerfile, &root);
        let key = (root.clone(), ignore_path.clone());
        if let Some(&index) = self.context_by_key.get(&key) {
            return Some(index);
        }
        if !root.is_dir() {
            return None;
        }
        let dockerignore = ignore_path
            .as_deref()
            .and_then(|path| self.dockerignore(path));
        let (context, diagnostics) = scan_context(&root, dockerignore.as_ref());
        self.diagnostics.extend(diagnostics);
        let index = self.repository.contexts.len();
        self.repository.contexts.push(ContextModel {
            path: self.rel(&root),
            dockerignore_path: ignore_path.as_deref().map(|p| self.rel(p)),
            dockerignore,
            context,
            python_files: Vec::new(),
        });
        self.context_by_key.insert(key, index);
        self.python_files(index);
        Some(index)
    }

    fn dockerignore(&mut self, path: &Path) -> Option<DockerIgnore> {
        let file = self.load_file(path)?;
        let (ignore, diagnostics) = parse_dockerignore(file, self.sources.text(file));
        self.diagnostics.extend(diagnostics);
        Some(ignore)
    }

    /// Reads the Python files that context `index` sends.
    fn python_files(&mut self, index: usize) {
        let Some(context) = self.repository.contexts.get(index) else {
            return;
        };
        let root = context.context.root.clone();
        let candidates: Vec<String> = context
            .context
            .files
            .iter()
            .filter(|f| f.excluded_by.is_none() && f.rel_path.ends_with(".py"))
            .filter(|f| f.size <= MAX_PYTHON_FILE_BYTES)
            .map(|f| f.rel_path.clone())
            .collect();
        if candidates.len() > MAX_PYTHON_FILES_PER_CONTEXT {
            self.diagnostics.push(Diagnostic::warning(format!(
                "{}: the context has {} Python files; only the first {MAX_PYTHON_FILES_PER_CONTEXT} are read for imports",
                self.rel(&root),
                candidates.len()
            )));
        }
        for rel_path in candidates.into_iter().take(MAX_PYTHON_FILES_PER_CONTEXT) {
            let path = root.join(&rel_path);
            let Some(file) = self.load_file(&path) else {
                continue;
            };
            let python_index = self.repository.python_files.len();
            // The imports are found once every file is read ([`find_imports`]).
            self.repository.python_files.push(PythonFile {
                path: self.rel(&path),
                file,
                context: index,
                imports: Vec::new(),
            });
            if let Some(context) = self.repository.contexts.get_mut(index) {
                context.python_files.push(python_index);
            }
        }
    }

    /// Links every compose service to its context, Dockerfile and image stage.
    fn link_services(&mut self) {
        // Taken out while linking (loading Dockerfiles and contexts needs `self` mutably) and
        // put back after, rather than copied.
        let projects = std::mem::take(&mut self.repository.compose_projects);
        for (project_index, project) in projects.iter().enumerate() {
            for (service_index, service) in project.services.iter().enumerate() {
                let mut link = ServiceLink {
                    name: service.name.value.clone(),
                    project: project_index,
                    service: service_index,
                    context: None,
                    dockerfile: None,
                    image_stage: None,
                    context_exists: false,
                    dockerfile_exists: false,
                };
                if let Some(build) = service.build.as_ref().filter(|b| !b.remote_context) {
                    link.context_exists = build.context_path.is_dir();
                    link.dockerfile_exists =
                        build.dockerfile_inline.is_none() && build.dockerfile_path.is_file();
                    if link.dockerfile_exists {
                        link.dockerfile = self.dockerfile(&build.dockerfile_path);
                    }
                    if link.context_exists {
                        link.context = self.context(&build.context_path, &build.dockerfile_path);
                    } else {
                        self.diagnostics.push(
                            Diagnostic::warning(format!(
                                "the build context `{}` of service `{}` is not a folder that exists",
                                build.context.value, service.name.value
                            ))
                            .with_span(build.context.span)
                            .with_help("`docker compose build` fails for this service"),
                        );
                    }
                    if let Some(dockerfile) = link.dockerfile {
                        let built = self.built_as(dockerfile, link.context, &build.args);
                        link.dockerfile = Some(built);
                        if let Some(model) = self.repository.dockerfiles.get(built) {
                            link.image_stage = match &build.target {
                                Some(target) => model
                                    .dockerfile
                                    .stage_by_name(&target.value)
                                    .map(|stage| stage.index),
                                None => model.final_stage,
                            };
                        }
                    }
                }
                self.repository.services.push(link);
            }
        }
        self.repository.compose_projects = projects;
    }

    /// The model of Dockerfile `base` as a service builds it: with `context` and the build
    /// arguments of `args` that change it. The first service that builds a Dockerfile takes
    /// its model (parsed again with the arguments, if any); a later service that builds it
    /// with another context or other arguments gets a model of its own, a variant, and one
    /// that builds it the same way shares the model.
    fn built_as(&mut self, base: usize, context: Option<usize>, args: &[BuildArg]) -> usize {
        let Some(model) = self.repository.dockerfiles.get(base) else {
            return base;
        };
        let given = given_build_args(args, &self.command_line_args);
        let build_args = changing_build_args(&model.dockerfile, &given);
        let key = (base, context, arg_pairs(&build_args));
        if let Some(&index) = self.builds.get(&key) {
            return index;
        }
        let taken = !self.first_builds.insert(base);
        if !taken && arg_pairs(&model.build_args) == key.2 {
            // The first service, with the arguments it was parsed with: the model as parsed.
            if let Some(model) = self.repository.dockerfiles.get_mut(base) {
                model.context = context;
            }
            self.builds.insert(key, base);
            return base;
        }
        let file = model.dockerfile.file;
        let path = model.path.clone();
        let text = self.sources.text(file);
        let parsed = parse_dockerfile_with_args(file, text, &key.2);
        if !taken {
            // The file is built with these arguments, not with the ones it was parsed with:
            // the problems only those cause (a base image that is no reference) are not
            // reported.
            let before = parse_dockerfile_with_args(file, text, &arg_pairs(&model.build_args));
            self.diagnostics.retain(|problem| {
                !before.diagnostics.contains(problem) || parsed.diagnostics.contains(problem)
            });
        }
        // The text is the one parsed before: only problems that the arguments cause are new.
        for problem in parsed.diagnostics {
            if !self.diagnostics.contains(&problem) {
                self.diagnostics.push(problem);
            }
        }
        let dockerfile = parsed.dockerfile;
        let final_stage = dockerfile.stages.len().checked_sub(1);
        let index = if taken {
            self.repository.dockerfiles.push(DockerfileModel {
                path,
                dockerfile,
                final_stage,
                context,
                build_args,
                variant_of: Some(base),
                runs: Vec::new(),
                copies: Vec::new(),
                pip_requirements: Vec::new(),
            });
            self.repository.dockerfiles.len() - 1
        } else {
            if let Some(model) = self.repository.dockerfiles.get_mut(base) {
                model.dockerfile = dockerfile;
                model.final_stage = final_stage;
                model.context = context;
                model.build_args = build_args;
            }
            base
        };
        self.builds.insert(key, index);
        index
    }

    /// Splits the RUNs, resolves the COPY sources and traces `pip install -r` of one
    /// Dockerfile, in the context it is built with.
    fn analyse_dockerfile(&mut self, index: usize, split: Vec<(RunModel, Vec<Diagnostic>)>) {
        let Some(model) = self.repository.dockerfiles.get(index) else {
            return;
        };
        let dockerfile_path = self
            .sources
            .get(model.dockerfile.file)
            .map(|f| f.path.clone())
            .unwrap_or_default();
        let context = match model.context {
            Some(context) => Some(context),
            None => {
                let folder = dockerfile_path
                    .parent()
                    .map(Path::to_path_buf)
                    .unwrap_or_default();
                self.context(&folder, &dockerfile_path)
            }
        };
        let Some(model) = self.repository.dockerfiles.get(index) else {
            return;
        };
        let dockerfile = &model.dockerfile;
        let stage_of = stage_index_by_instruction(dockerfile);
        let workdirs = working_directories(model);
        let build_context = context.and_then(|c| self.repository.contexts.get(c));

        let first = model
            .variant_of
            .and_then(|first| self.repository.dockerfiles.get(first));
        let runs: Vec<RunModel> = match first {
            // The same text: the first model's RUNs, linked before this one.
            Some(first) => first.runs.clone(),
            None => split
                .into_iter()
                .map(|(run, diagnostics)| {
                    self.diagnostics.extend(diagnostics);
                    run
                })
                .collect(),
        };
        let mut copies = Vec::new();
        for (instruction_index, instruction) in dockerfile.instructions.iter().enumerate() {
            let stage = stage_of.get(instruction_index).copied().flatten();
            if instruction.is("COPY") || instruction.is("ADD") {
                let workdir = workdirs.get(instruction_index).map_or("/", String::as_str);
                copies.push(copy_model(
                    dockerfile,
                    instruction,
                    instruction_index,
                    stage,
                    workdir,
                    build_context,
                ));
            }
        }

        let mut pip_links = Vec::new();
        for run in &runs {
            let workdir = workdirs.get(run.instruction).map_or("/", String::as_str);
            for install in &run.installs {
                for file in &install.requirement_files {
                    if file.path_is_variable {
                        continue;
                    }
                    let image_path = join_image_path(workdir, &file.path.value);
                    let origin = trace_copy(dockerfile, &copies, run, &image_path, build_context);
                    pip_links.push((
                        PipRequirementsLink {
                            stage: run.stage,
                            instruction: run.instruction,
                            path: file.path.clone(),
                            constraint: file.constraint,
                            image_path,
                            copied_by: origin.as_ref().map(|o| o.0),
                            context_path: origin.as_ref().map(|o| o.1.clone()),
                            requirements_file: None,
                        },
                        build_context.map(|c| c.context.root.clone()),
                    ));
                }
            }
        }
        let mut resolved_links = Vec::new();
        for (mut link, root) in pip_links {
            if let (Some(root), Some(rel)) = (root, link.context_path.as_deref()) {
                link.requirements_file = self.requirements(&root.join(rel));
            }
            resolved_links.push(link);
        }
        if let Some(model) = self.repository.dockerfiles.get_mut(index) {
            model.context = context;
            model.runs = runs;
            model.copies = copies;
            model.pip_requirements = resolved_links;
        }
    }
}

/// The build arguments of `given` that change `dockerfile`: those whose name an `ARG`
/// declares, unless every such `ARG` has that value as its default already (a stage's `ARG`
/// without one has the default of the same name's `ARG` before the first `FROM`).
fn changing_build_args(
    dockerfile: &Dockerfile,
    given: &[(String, BuildArgValue)],
) -> Vec<(String, BuildArgValue)> {
    let declared: Vec<(&str, Option<&str>)> = dockerfile
        .instructions
        .iter()
        .filter(|instruction| instruction.is("ARG"))
        .flat_map(|instruction| &instruction.values)
        .map(|word| {
            let (name, default) = arg_declaration(&word.value);
            let global = || dockerfile.global_arg_default(name).map(|(text, _)| text);
            (name, default.or_else(global))
        })
        .collect();
    given
        .iter()
        .filter(|(arg, value)| {
            let mut defaults = declared
                .iter()
                .filter(|(name, _)| name == arg)
                .map(|&(_, default)| default)
                .peekable();
            defaults.peek().is_some()
                && !defaults.all(|default| default == Some(value.value.as_str()))
        })
        .cloned()
        .collect()
}

/// The build arguments a service gives: its `build.args` that have a value, with the
/// `--build-arg`s of the command line over them (as `docker compose build --build-arg`; a
/// later one of a name wins).
fn given_build_args(
    args: &[BuildArg],
    command_line: &[(String, impl Into<BuildArgValue> + Clone)],
) -> Vec<(String, BuildArgValue)> {
    let mut given: Vec<(String, BuildArgValue)> = args
        .iter()
        .filter_map(|arg| {
            let value = arg.value.as_ref()?;
            let value = BuildArgValue {
                value: value.value.clone(),
                span: Some(value.span),
            };
            Some((arg.name.value.clone(), value))
        })
        .collect();
    for (name, value) in command_line {
        let value: BuildArgValue = value.clone().into();
        match given.iter_mut().find(|(given, _)| given == name) {
            Some((_, existing)) => *existing = value,
            None => given.push((name.clone(), value)),
        }
    }
    given
}

/// The (name, value) pairs of `args`, as the parser takes them.
fn arg_pairs(args: &[(String, BuildArgValue)]) -> Vec<(String, String)> {
    args.iter()
        .map(|(name, value)| (name.clone(), value.value.clone()))
        .collect()
}

/// The stage of every instruction (`None` before the first `FROM`).
fn stage_index_by_instruction(dockerfile: &Dockerfile) -> Vec<Option<usize>> {
    let mut stages = vec![None; dockerfile.instructions.len()];
    for stage in &dockerfile.stages {
        for index in stage.from..stage.instructions.end {
            if let Some(slot) = stages.get_mut(index) {
                *slot = Some(stage.index);
            }
        }
    }
    stages
}

/// The working directory in effect at every instruction: `/` at a `FROM` of an image, the
/// base stage's final directory at a `FROM` of a stage, changed by each `WORKDIR` (relative
/// ones join the current directory). `$VAR` and `${VAR}` are expanded from the `ENV` and
/// `ARG` values ([`DockerfileModel::stage_arg_value`]) of the stage and its lineage where
/// known.
fn working_directories(model: &DockerfileModel) -> Vec<String> {
    let dockerfile = &model.dockerfile;
    let mut workdirs = vec!["/".to_string(); dockerfile.instructions.len()];
    let mut final_workdir: Vec<String> = Vec::with_capacity(dockerfile.stages.len());
    let mut final_env: Vec<HashMap<String, String>> = Vec::with_capacity(dockerfile.stages.len());
    for stage in &dockerfile.stages {
        let inherited = stage.base_stage.and_then(|base| {
            Some((
                final_workdir.get(base)?.clone(),
                final_env.get(base)?.clone(),
            ))
        });
        let (mut workdir, mut env) = inherited.unwrap_or_else(|| ("/".to_string(), HashMap::new()));
        for index in stage.from..stage.instructions.end {
            let Some(instruction) = dockerfile.instructions.get(index) else {
                continue;
            };
            if instruction.is("WORKDIR") {
                if let Some(value) = instruction.values.first() {
                    workdir = join_image_path(&workdir, &expand_variables(&value.value, &env));
                }
            } else if instruction.is("ENV") {
                for (key, value) in instruction.key_values() {
                    env.insert(key.value.clone(), expand_variables(&value.value, &env));
                }
            } else if instruction.is("ARG") {
                for word in &instruction.values {
                    let (name, default) = arg_declaration(&word.value);
                    if let Some((value, _)) =
                        model.stage_arg_value(name, default.map(|d| (d, word.span)))
                    {
                        env.entry(name.to_string())
                            .or_insert_with(|| value.trim_matches('"').to_string());
                    }
                }
            }
            if let Some(slot) = workdirs.get_mut(index) {
                slot.clone_from(&workdir);
            }
        }
        final_workdir.push(workdir);
        final_env.push(env);
    }
    workdirs
}

/// Substitutes `$NAME` and `${NAME}` from `env`; unknown variables are left as written.
fn expand_variables(text: &str, env: &HashMap<String, String>) -> String {
    if !text.contains('$') {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(position) = rest.find('$') {
        out.push_str(&rest[..position]);
        let after = &rest[position + 1..];
        let (name, consumed) = if let Some(braced) = after.strip_prefix('{') {
            match braced.find('}') {
                Some(end) => (&braced[..end], end + 2),
                None => ("", 0),
            }
        } else {
            let end = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            (&after[..end], end)
        };
        match env.get(name).filter(|_| !name.is_empty()) {
            Some(value) => out.push_str(value),
            None => out.push_str(&rest[position..position + 1 + consumed]),
        }
        rest = &after[consumed..];
    }
    out.push_str(rest);
    out
}

/// `path` resolved against the directory `base` in the image, normalised lexically.
fn join_image_path(base: &str, path: &str) -> String {
    let joined = if path.starts_with('/') {
        path.to_string()
    } else {
        format!("{base}/{path}")
    };
    let mut parts: Vec<&str> = Vec::new();
    for part in joined.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            part => parts.push(part),
        }
    }
    format!("/{}", parts.join("/"))
}

/// Finds the imports of every Python file, in parallel (linking reads none of them).
fn find_imports(files: &mut [PythonFile], sources: &Sources) {
    let imports: Vec<Vec<Import>> = files
        .par_iter()
        .map(|python| parse_imports(python.file, sources.text(python.file)))
        .collect();
    for (python, imports) in files.iter_mut().zip(imports) {
        python.imports = imports;
    }
}

/// Every `RUN` of `dockerfile`, split into commands and installs ([`run_model`]).
fn split_runs(dockerfile: &Dockerfile) -> Vec<(RunModel, Vec<Diagnostic>)> {
    let stage_of = stage_index_by_instruction(dockerfile);
    dockerfile
        .instructions
        .iter()
        .enumerate()
        .filter(|(_, instruction)| instruction.is("RUN"))
        .map(|(index, instruction)| {
            run_model(instruction, index, stage_of.get(index).copied().flatten())
        })
        .collect()
}

/// The commands of one `RUN`: its shell form, and each heredoc that is run as a script;
/// with the shell parser's diagnostics (unterminated quotes and the like).
fn run_model(
    instruction: &Instruction,
    index: usize,
    stage: Option<usize>,
) -> (RunModel, Vec<Diagnostic>) {
    let mut commands: Vec<Command> = Vec::new();
    let mut diagnostics = Vec::new();
    if instruction.form == Form::Shell {
        let script = parse_shell(&instruction.arguments);
        let heredoc_scripts = heredocs_run_as_scripts(instruction, &script.commands);
        commands.extend(script.commands);
        diagnostics.extend(script.diagnostics);
        for body in heredoc_scripts {
            let script = parse_shell(body);
            commands.extend(script.commands);
            diagnostics.extend(script.diagnostics);
        }
    }
    let installs = install_commands(&commands);
    let cache_mounts = instruction
        .flags
        .iter()
        .filter(|flag| flag.name.value == "mount")
        .filter_map(|flag| flag.value.as_ref())
        .filter(|value| value.value.split(',').any(|part| part == "type=cache"))
        .cloned()
        .collect();
    let run = RunModel {
        instruction: index,
        stage,
        commands,
        installs,
        cache_mounts,
    };
    (run, diagnostics)
}

/// Shells whose standard input is a script.
const SHELLS: [&str; 7] = ["sh", "bash", "dash", "ash", "zsh", "ksh", "mksh"];

/// The heredoc bodies of a `RUN` that a shell executes: all of them when the command is
/// only heredoc markers (BuildKit runs each body as a script, unless it starts with a
/// shebang for another interpreter), and a heredoc fed to a shell (`bash <<EOF`).
fn heredocs_run_as_scripts<'a>(
    instruction: &'a Instruction,
    commands: &[Command],
) -> Vec<&'a MappedText> {
    let only_markers = commands.iter().all(|command| command.words.is_empty());
    instruction
        .heredocs
        .iter()
        .filter(|heredoc| {
            if only_markers {
                return shebang_is_shell(&heredoc.body.text);
            }
            commands.iter().any(|command| {
                let is_shell = command.program_name().is_some_and(|p| SHELLS.contains(&p))
                    && command.arguments().is_empty();
                is_shell
                    && command.redirections.iter().any(|redirection| {
                        redirection.operator.value.starts_with("<<")
                            && redirection
                                .target
                                .as_ref()
                                .is_some_and(|t| t.text == heredoc.name.value)
                    })
            })
        })
        .map(|heredoc| &heredoc.body)
        .collect()
}

fn shebang_is_shell(body: &str) -> bool {
    let Some(shebang) = body.strip_prefix("#!") else {
        return true;
    };
    let line = shebang.lines().next().unwrap_or("");
    let mut words = line.split_whitespace();
    let mut program = file_name(words.next().unwrap_or(""));
    if program == "env" {
        program = words.next().unwrap_or("");
    }
    SHELLS.contains(&program)
}

/// A `COPY`/`ADD` with its sources resolved in the build context.
fn copy_model(
    dockerfile: &Dockerfile,
    instruction: &Instruction,
    index: usize,
    stage: Option<usize>,
    workdir: &str,
    context: Option<&ContextModel>,
) -> CopyModel {
    let from = instruction.flag("from").and_then(|f| f.value.clone());
    let from_stage = stage
        .and_then(|s| dockerfile.stages.get(s))
        .and_then(|s| s.copies_from.iter().find(|c| c.instruction == index))
        .and_then(|c| c.stage);
    let heredoc_names: Vec<&str> = instruction
        .heredocs
        .iter()
        .map(|h| h.name.value.as_str())
        .collect();
    let (sources, destination) = match instruction.values.split_last() {
        Some((destination, sources)) => (sources, Some(destination.clone())),
        None => (&[][..], None),
    };
    let sources = sources
        .iter()
        .map(|source| {
            let is_heredoc = source
                .value
                .strip_prefix("<<")
                .map(|rest| rest.trim_start_matches('-').trim_matches(['"', '\'']))
                .is_some_and(|name| heredoc_names.contains(&name));
            let is_remote = source.value.contains("://") || source.value.starts_with("git@");
            let resolved = if from.is_some() || is_heredoc || is_remote {
                None
            } else {
                context.map(|c| c.context.resolve_copy_source(&source.value))
            };
            CopySourceModel {
                source: source.clone(),
                resolved,
            }
        })
        .collect::<Vec<_>>();
    let destination_is_dir = sources.len() > 1
        || destination
            .as_ref()
            .is_some_and(|d| d.value.ends_with('/') || d.value == "." || d.value == "..");
    let destination_path = destination
        .as_ref()
        .map(|d| join_image_path(workdir, &d.value));
    CopyModel {
        instruction: index,
        stage,
        from_stage,
        from,
        sources,
        destination,
        destination_path,
        destination_is_dir,
    }
}

/// Which `COPY`/`ADD` from the build context put `image_path` into the image of `run`'s
/// stage (searching the stage, then the stages it is built FROM), and the file's path in
/// the context. The last copy before the `RUN` that could have written the path wins.
fn trace_copy(
    dockerfile: &Dockerfile,
    copies: &[CopyModel],
    run: &RunModel,
    image_path: &str,
    context: Option<&ContextModel>,
) -> Option<(usize, String)> {
    let context = context?;
    let stage = dockerfile.stages.get(run.stage?)?;
    let mut searched: Vec<usize> = vec![stage.index];
    searched.extend(stage.lineage.iter().copied());
    copies
        .iter()
        .rev()
        .filter(|copy| copy.instruction < run.instruction)
        .filter(|copy| copy.stage.is_some_and(|s| searched.contains(&s)))
        .filter(|copy| copy.from.is_none())
        .find_map(|copy| {
            let destination = copy.destination_path.as_deref()?;
            copy.sources.iter().find_map(|source| {
                let resolved = source.resolved.as_ref()?;
                if resolved.outcome != CopyOutcome::Found {
                    return None;
                }
                let candidate = context_path_for(
                    &resolved.cleaned,
                    resolved.files.len() == 1 && !resolved.wildcard,
                    destination,
                    copy.destination_is_dir || resolved.wildcard,
                    image_path,
                )?;
                let sent = resolved.files.iter().any(|&f| {
                    context
                        .context
                        .files
                        .get(f)
                        .is_some_and(|file| file.rel_path == candidate)
                });
                sent.then_some((copy.instruction, candidate))
            })
        })
}

/// The context path that a copy of `source` to `destination` would have placed at
/// `image_path`, if it could have. A single file copied to a non-directory destination
/// lands at the destination itself; otherwise a file lands at `destination/<name>` and a
/// directory's contents under `destination/`.
fn context_path_for(
    source: &str,
    source_is_single_file: bool,
    destination: &str,
    destination_is_dir: bool,
    image_path: &str,
) -> Option<String> {
    if source_is_single_file && !destination_is_dir && !destination.ends_with('/') {
        return (image_path == destination).then(|| source.to_string());
    }
    let rest = image_path
        .strip_prefix(destination.trim_end_matches('/'))?
        .strip_prefix('/')?;
    if source_is_single_file {
        let name = source.rsplit('/').next()?;
        return (rest == name).then(|| source.to_string());
    }
    // A directory (or the whole context) or a wildcard: the file keeps its path below the
    // source directory; for a wildcard, its name below the wildcard's folder.
    let folder = if source.contains(['*', '?', '[']) {
        source.rsplit_once('/').map_or("", |(folder, _)| folder)
    } else {
        source
    };
    Some(if folder.is_empty() {
        rest.to_string()
    } else {
        format!("{folder}/{rest}")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_paths_join_and_normalise() {
        assert_eq!(
            join_image_path("/srv", "requirements.txt"),
            "/srv/requirements.txt"
        );
        assert_eq!(join_image_path("/srv/app", "../req.txt"), "/srv/req.txt");
        assert_eq!(join_image_path("/srv", "/tmp/r.txt"), "/tmp/r.txt");
        assert_eq!(join_image_path("/", "."), "/");
    }

    #[test]
    fn variables_expand_where_known() {
        let env = HashMap::from([("APP".to_string(), "/srv/app".to_string())]);
        assert_eq!(expand_variables("$APP/x", &env), "/srv/app/x");
        assert_eq!(expand_variables("${APP}/x", &env), "/srv/app/x");
        assert_eq!(expand_variables("$OTHER/x", &env), "$OTHER/x");
        assert_eq!(expand_variables("${broken", &env), "${broken");
    }

    #[test]
    fn copied_files_map_back_to_the_context() {
        // COPY requirements.txt .  (WORKDIR /srv)
        assert_eq!(
            context_path_for(
                "requirements.txt",
                true,
                "/srv",
                true,
                "/srv/requirements.txt"
            ),
            Some("requirements.txt".into())
        );
        // COPY reqs/base.txt /tmp/requirements.txt
        assert_eq!(
            context_path_for(
                "reqs/base.txt",
                true,
                "/tmp/requirements.txt",
                false,
                "/tmp/requirements.txt"
            ),
            Some("reqs/base.txt".into())
        );
        // COPY . /app
        assert_eq!(
            context_path_for("", false, "/app", true, "/app/requirements/prod.txt"),
            Some("requirements/prod.txt".into())
        );
        // COPY requirements*.txt /app/
        assert_eq!(
            context_path_for(
                "requirements*.txt",
                false,
                "/app",
                true,
                "/app/requirements-dev.txt"
            ),
            Some("requirements-dev.txt".into())
        );
        assert_eq!(
            context_path_for("app.py", true, "/srv", true, "/srv/requirements.txt"),
            None
        );
    }
}
