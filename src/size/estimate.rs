//! The static estimate of an image's size: its base image, the OS packages and Python
//! packages its stages install, the files it copies from the build context and from other
//! stages. Each part is a [`Contributor`] with its bytes (or unknown), the table row the
//! figure comes from, and the span that brought it in. Nothing is guessed: a part without a
//! figure is unknown, and the total is then a lower bound.

use std::borrow::Cow;
use std::cell::Cell;
use std::str::FromStr;

use pep440_rs::Version;

use serde::Serialize;

use crate::model::dockerfile::{arg_declaration, ImageRef};
use crate::model::package::{InstallCommand, Manager};
use crate::model::repository::{CopyModel, DockerfileModel, Repository, RunModel};
use crate::model::requirements::normalized_name;
use crate::source::{Sources, Span, Spanned};

use super::detail::{Detail, RowKey};
use super::tables::{
    tables, BaseKind, PypiDependency, PypiRow, Tables, BASE_IMAGES_TABLE, BYTECODE_PYTHONS,
    DEBIAN_APT_LISTS_TABLE, DEBIAN_CLOSURES_TABLE, PYPI_TABLE,
};

/// What kind of part of an image a contributor is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ContributorKind {
    /// The base image of the image's first stage.
    Base,
    /// An OS package with the dependencies it adds.
    OsPackage,
    /// A Python distribution with the dependencies it adds, or the bytecode pip compiles for
    /// the distributions of one install.
    PythonPackage,
    /// A package of another manager (conda, npm, yarn, pnpm).
    Package,
    /// Wheels pip keeps in its cache (`pip install` without `--no-cache-dir`).
    PipCache,
    /// Files a `COPY`/`ADD` takes from the build context.
    Copy,
    /// Files a `COPY --from` takes from another stage or image.
    CopyFrom,
    /// Files a `RUN` command writes that no table sizes: downloads, clones, unpacked
    /// archives, builds, model downloads.
    RunOutput,
}

impl ContributorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ContributorKind::Base => "base",
            ContributorKind::OsPackage => "os_package",
            ContributorKind::PythonPackage => "python_package",
            ContributorKind::Package => "package",
            ContributorKind::PipCache => "pip_cache",
            ContributorKind::Copy => "copy",
            ContributorKind::CopyFrom => "copy_from",
            ContributorKind::RunOutput => "run_output",
        }
    }
}

/// The table row a figure was read from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RowRef {
    /// The table, e.g. `data/pypi-packages.tsv`.
    pub table: &'static str,
    /// The row's key, e.g. `numpy`, `build-essential (with Recommends)`.
    pub key: RowKey,
    /// Where the row's figure comes from, as the table says (borrowed from the bundled
    /// tables).
    pub source: &'static str,
}

/// One part of an image.
#[derive(Clone, Debug, Serialize)]
pub struct Contributor {
    pub kind: ContributorKind,
    /// What it is: `python:3.11-slim`, `build-essential`, `numpy`, `COPY . .`.
    pub name: String,
    /// Its size in bytes, or `None` when unknown.
    pub bytes: Option<u64>,
    /// How the figure was made: `119 packages with Recommends`, `numpy 2.4.6 (pinned ==1.26.2)`.
    pub detail: Detail,
    /// The table row it comes from, if it comes from a table.
    pub row: Option<RowRef>,
    /// The text that brought it into the image: the `FROM` reference, the package's name, the
    /// requirement line, the `COPY`.
    pub span: Option<Span>,
    /// The figure is known to be lower than the real size (a compressed base image size, or a
    /// stage's known content of a path that `RUN`s may add to).
    pub at_least: bool,
}

/// The estimate of one image.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Estimate {
    /// In image order: the base, then the instructions of the stages in file order.
    pub contributors: Vec<Contributor>,
}

impl Estimate {
    /// The sum of the known parts.
    pub fn total(&self) -> u64 {
        self.contributors.iter().filter_map(|c| c.bytes).sum()
    }

    /// Whether the real size can only be larger than [`Estimate::total`]: some part is
    /// unknown or only known from below.
    pub fn is_lower_bound(&self) -> bool {
        self.contributors
            .iter()
            .any(|c| c.bytes.is_none() || c.at_least)
    }

    /// The indices of the contributors with a known size, largest first (ties in image
    /// order).
    pub fn largest(&self) -> Vec<usize> {
        let mut known: Vec<usize> = (0..self.contributors.len())
            .filter(|&i| self.contributors.get(i).is_some_and(|c| c.bytes.is_some()))
            .collect();
        known.sort_by_key(|&i| std::cmp::Reverse(self.contributors.get(i).and_then(|c| c.bytes)));
        known
    }
}

/// Estimates the image that stage `stage` of Dockerfile `dockerfile` builds (`sources` are
/// the repository's files, for the line numbers the details give).
pub fn estimate(
    repository: &Repository,
    sources: &Sources,
    dockerfile: usize,
    stage: usize,
) -> Estimate {
    let Some(model) = repository.dockerfiles.get(dockerfile) else {
        return Estimate::default();
    };
    let stages = image_stages(model, stage);
    let root = model
        .dockerfile
        .stages
        .get(stage)
        .map_or(stage, |s| s.lineage.last().copied().unwrap_or(stage));
    let base = model.dockerfile.stages.get(root).map(|s| &s.base);
    let image = base
        .filter(|base| !base.unresolved && !base.is_scratch)
        .map(image_name);
    let mut lists = LISTS.take();
    lists.apt_counted.clear();
    lists.extras_followed.clear();
    lists.pending.clear();
    lists.distributions.clear();
    let mut estimator = Estimator {
        tables: tables(),
        repository,
        sources,
        model,
        stages: &stages,
        python_minor: image.as_deref().and_then(python_minor),
        debian_release: image.as_deref().and_then(debian_release),
        env_settings: env_settings(model, &stages),
        arg_settings: arg_settings(model, &stages),
        apt_counted: lists.apt_counted,
        python_installed: Vec::new(),
        extras_followed: lists.extras_followed,
        apt_lists_listed: false,
        pending: lists.pending,
        distributions: lists.distributions,
        contributors: Vec::with_capacity(2 * lists.parts),
    };
    if let Some(base) = base {
        estimator.base(base, image);
    }
    estimator.instructions();
    LISTS.set(Lists {
        parts: estimator.contributors.len(),
        apt_counted: estimator.apt_counted,
        extras_followed: estimator.extras_followed,
        pending: estimator.pending,
        distributions: estimator.distributions,
    });
    Estimate {
        contributors: estimator.contributors,
    }
}

/// What an estimate leaves to the next one on its thread: the work lists that borrow nothing
/// from the model (the next estimate empties them and fills them again without allocating),
/// and how many parts its image has.
#[derive(Default)]
struct Lists {
    /// The next image's list of parts starts with room for twice as many (the images of a
    /// repository are alike), so that it seldom grows: growing copies every part found so
    /// far (some tens, a quarter of a kilobyte each), and an image's list is kept as long as
    /// the run.
    parts: usize,
    apt_counted: Vec<bool>,
    extras_followed: Vec<bool>,
    pending: Vec<&'static PypiDependency>,
    distributions: Vec<&'static PypiRow>,
}

thread_local! {
    static LISTS: Cell<Lists> = Cell::new(Lists::default());
}

/// The `ENV` settings of `stages` in file order: `(instruction, name, value)`.
fn env_settings<'m>(
    model: &'m DockerfileModel,
    stages: &[usize],
) -> Vec<(usize, &'m str, &'m str)> {
    let instructions = &model.dockerfile.instructions;
    stages
        .iter()
        .filter_map(|&stage| model.dockerfile.stages.get(stage))
        .flat_map(|stage| stage.instructions.clone())
        .filter_map(|i| Some((i, instructions.get(i)?)))
        .filter(|(_, instruction)| instruction.is("ENV"))
        .flat_map(|(i, instruction)| {
            instruction
                .key_values()
                .into_iter()
                .map(move |(key, value)| (i, key.value.as_str(), value.value.as_str()))
        })
        .collect()
}

/// The `ARG`s with a value of `stages` in file order: `(instruction, stage, name, value)`.
/// The value is the build argument of that name the Dockerfile is built with (compose
/// `build.args`), else the default the `ARG` gives, else the default of the same name's `ARG`
/// before the first `FROM`.
fn arg_settings<'m>(
    model: &'m DockerfileModel,
    stages: &[usize],
) -> Vec<(usize, usize, &'m str, &'m str)> {
    let instructions = &model.dockerfile.instructions;
    stages
        .iter()
        .filter_map(|&stage| Some((stage, model.dockerfile.stages.get(stage)?)))
        .flat_map(|(stage, model)| model.instructions.clone().map(move |i| (stage, i)))
        .filter_map(|(stage, i)| Some((stage, i, instructions.get(i).filter(|x| x.is("ARG"))?)))
        .flat_map(|(stage, i, instruction)| {
            instruction.values.iter().map(move |word| (i, stage, word))
        })
        .filter_map(|(i, stage, word)| {
            let (name, default) = arg_declaration(&word.value);
            let (value, _) = model.stage_arg_value(name, default.map(|d| (d, word.span)))?;
            Some((i, stage, name, value))
        })
        .collect()
}

/// `stage` and every stage it is built FROM, in file order.
fn image_stages(model: &DockerfileModel, stage: usize) -> Vec<usize> {
    let mut stages = model
        .dockerfile
        .stages
        .get(stage)
        .map(|s| s.lineage.clone())
        .unwrap_or_default();
    stages.push(stage);
    stages.sort_unstable();
    stages.dedup();
    stages
}

struct Estimator<'a> {
    tables: &'static Tables,
    repository: &'a Repository,
    sources: &'a Sources,
    model: &'a DockerfileModel,
    stages: &'a [usize],
    /// The CPython 3.X whose bytecode pip writes, when the base image says (`python:3.10-slim`).
    python_minor: Option<u32>,
    /// The Debian release of the base image, when its tag says (`python:3.11-slim-bookworm`).
    debian_release: Option<&'static str>,
    /// The `ENV` settings of the image's stages in file order, as `(instruction, name,
    /// value)`: collected once, for [`Estimator::environment`].
    env_settings: Vec<(usize, &'a str, &'a str)>,
    /// The `ARG`s with a value of the image's stages in file order, as `(instruction, stage,
    /// name, value)` ([`arg_settings`]).
    arg_settings: Vec<(usize, usize, &'a str, &'a str)>,
    /// Debian packages already counted in this image, by id (filled at the first apt
    /// install).
    apt_counted: Vec<bool>,
    /// Python distributions already counted in this image, by the id of their row, with the
    /// version the estimate assumes installed and the `RUN` that installed it (allocated at
    /// the first Python requirement).
    python_installed: Vec<Option<InstalledDistribution<'a>>>,
    /// The extras whose requirements were followed, by number ([`PypiRow::first_extra`];
    /// filled at the first Python requirement).
    extras_followed: Vec<bool>,
    /// Whether apt's package lists left in a layer were listed already.
    apt_lists_listed: bool,
    /// The distributions still to follow while counting a Python requirement, as the rows'
    /// requirements that ask for them: kept between requirements so that following them does
    /// not allocate.
    pending: Vec<&'static PypiDependency>,
    /// The rows of the distributions the current pip install added, in the order counted
    /// (kept between installs so that collecting them does not allocate).
    distributions: Vec<&'static PypiRow>,
    contributors: Vec<Contributor>,
}

/// A Python distribution installed in the image.
#[derive(Clone, Copy)]
struct InstalledDistribution<'a> {
    /// The version: the `==` pin of the request, the table row's version (the newest
    /// release, what pip picks) for a request without a version and for a dependency, `None`
    /// for a range (`>=2`), whose version the estimate does not guess.
    version: Option<&'a str>,
    /// The `RUN` (layer) that installed it, by instruction index.
    run: usize,
}

/// What installing one Python requirement added; the rows of the distributions it added
/// (the requirement's own first) are appended to [`Estimator::distributions`].
#[derive(Default)]
struct PythonAdded {
    installed: u64,
    wheels: u64,
}

impl<'a> Estimator<'a> {
    fn in_image(&self, stage: Option<usize>) -> bool {
        stage.is_some_and(|s| self.stages.contains(&s))
    }

    /// The 1-based line where instruction `instruction` of the Dockerfile starts (0 when its
    /// file is not loaded).
    fn line_of(&self, instruction: usize) -> usize {
        let dockerfile = &self.model.dockerfile;
        dockerfile
            .instructions
            .get(instruction)
            .zip(self.sources.get(dockerfile.file))
            .map_or(0, |(instruction, file)| {
                file.line_index(instruction.span.start as usize) + 1
            })
    }

    /// The base image of the first stage of the lineage; `image` is its table key
    /// ([`image_name`]) unless it is `scratch` or holds a variable without a value.
    fn base(&mut self, base: &ImageRef, image: Option<String>) {
        let span = Some(base.raw.span);
        if base.is_scratch {
            return;
        }
        let tables = self.tables;
        let found = image.and_then(|image| {
            let row = tables.base_image(&image).or_else(|| {
                let minor = minor_reference(&image)?;
                tables.base_image(&minor)
            })?;
            Some((image, row))
        });
        let contributor = match found {
            Some((image, row)) => Contributor {
                kind: ContributorKind::Base,
                bytes: Some(row.bytes),
                detail: Detail::BaseImage {
                    kind: row.kind,
                    other_reference: (row.image != image).then_some(row.image),
                },
                name: image,
                row: Some(RowRef {
                    table: BASE_IMAGES_TABLE,
                    key: RowKey::Name(row.image),
                    source: row.source,
                }),
                span,
                at_least: row.kind == BaseKind::Compressed,
            },
            None => Contributor {
                kind: ContributorKind::Base,
                name: base.expanded.clone(),
                bytes: None,
                detail: Detail::Fixed(if base.unresolved {
                    "the reference holds a variable without a value"
                } else {
                    "not in the base image table"
                }),
                row: None,
                span,
                at_least: false,
            },
        };
        self.contributors.push(contributor);
    }

    /// Every `RUN` and `COPY` of the image's stages, in file order.
    fn instructions(&mut self) {
        enum Step<'m> {
            Run(&'m RunModel),
            Copy(&'m CopyModel),
        }
        let model = self.model;
        let mut steps: Vec<(usize, Step<'a>)> = Vec::new();
        steps.extend(
            model
                .runs
                .iter()
                .filter(|r| self.in_image(r.stage))
                .map(|r| (r.instruction, Step::Run(r))),
        );
        steps.extend(
            model
                .copies
                .iter()
                .filter(|c| self.in_image(c.stage))
                .map(|c| (c.instruction, Step::Copy(c))),
        );
        steps.sort_by_key(|(instruction, _)| *instruction);
        for (_, step) in steps {
            match step {
                Step::Run(run) => {
                    for install in &run.installs {
                        self.install(run, install);
                    }
                    self.run_outputs(run);
                }
                Step::Copy(copy) => self.copy(copy),
            }
        }
    }

    fn install(&mut self, run: &'a RunModel, install: &'a InstallCommand) {
        // Packages named by a variable (`$PKGS`), and installs of what a manifest lists
        // (`npm install`, `yarn`): their size cannot be read from the Dockerfile.
        for argument in &install.variable_arguments {
            self.contributors.push(Contributor {
                kind: self.package_kind(install.manager),
                name: argument.value.clone(),
                bytes: None,
                detail: Detail::Fixed("packages named by a variable"),
                row: None,
                span: Some(argument.span),
                at_least: false,
            });
        }
        let from_manifest = install.packages.is_empty()
            && install.requirement_files.is_empty()
            && install.sources.is_empty()
            && install.variable_arguments.is_empty();
        if from_manifest {
            let subcommand = install.subcommand.as_ref().map_or("", |s| s.value.as_str());
            self.contributors.push(Contributor {
                kind: self.package_kind(install.manager),
                name: format!("{} {subcommand}", install.program.value)
                    .trim_end()
                    .to_string(),
                bytes: None,
                detail: Detail::Fixed(
                    "installs what a manifest lists (package.json, environment.yml, …)",
                ),
                row: None,
                span: Some(install.span),
                at_least: false,
            });
            return;
        }
        match install.manager {
            Manager::Apt => {
                self.apt_install(install);
                self.apt_lists(run, install);
            }
            Manager::Pip | Manager::Uv => self.pip_install(run, install),
            _ => {
                for package in &install.packages {
                    self.contributors.push(Contributor {
                        kind: self.package_kind(install.manager),
                        name: package.name.value.clone(),
                        bytes: None,
                        detail: Detail::NoTable(install.manager),
                        row: None,
                        span: Some(package.name.span),
                        at_least: false,
                    });
                }
            }
        }
    }

    fn package_kind(&self, manager: Manager) -> ContributorKind {
        match manager {
            Manager::Apt | Manager::Apk | Manager::Dnf | Manager::Yum | Manager::Microdnf => {
                ContributorKind::OsPackage
            }
            Manager::Pip | Manager::Uv => ContributorKind::PythonPackage,
            _ => ContributorKind::Package,
        }
    }

    fn apt_install(&mut self, install: &InstallCommand) {
        let recommends = !install.has_flag(&["--no-install-recommends"]);
        for package in &install.packages {
            let name = &package.normalized_name;
            let Some(row) = self.tables.debian_closure(name, recommends) else {
                self.contributors.push(Contributor {
                    kind: ContributorKind::OsPackage,
                    name: package.name.value.clone(),
                    bytes: None,
                    detail: Detail::Fixed("not in the Debian package table"),
                    row: None,
                    span: Some(package.name.span),
                    at_least: false,
                });
                continue;
            };
            let mut bytes = 0;
            // Every member has a row in the package table (the build checks it).
            let mut added = 0;
            if self.apt_counted.is_empty() {
                self.apt_counted
                    .resize(self.tables.debian_packages.len(), false);
            }
            let (counted, packages) = (&mut self.apt_counted, self.tables.debian_packages);
            for &id in row.member_ids {
                if let Some(slot @ false) = counted.get_mut(id) {
                    *slot = true;
                    bytes += packages.get(id).map_or(0, |p| p.installed_bytes);
                    added += 1;
                }
            }
            let version = row.version;
            self.contributors.push(Contributor {
                kind: ContributorKind::OsPackage,
                name: package.name.value.clone(),
                bytes: Some(bytes),
                detail: Detail::DebianClosure {
                    package: row.package,
                    version,
                    recommends,
                    members: row.members.len(),
                    added,
                },
                row: Some(RowRef {
                    table: DEBIAN_CLOSURES_TABLE,
                    key: RowKey::DebianClosure {
                        package: row.package,
                        recommends,
                    },
                    source: row.source,
                }),
                span: Some(package.name.span),
                at_least: false,
            });
        }
    }

    /// The package lists `apt-get update` leaves when the `RUN` neither removes
    /// `/var/lib/apt/lists` nor keeps them on a cache mount (once per image): the measured
    /// lists of the base's Debian release, unknown when the release is not known or not
    /// measured (Ubuntu, Debian images whose tag names no release).
    fn apt_lists(&mut self, run: &RunModel, install: &InstallCommand) {
        let removed = |path: &str| {
            path.strip_prefix("/var/lib/apt").is_some_and(|rest| {
                matches!(rest, "" | "/" | "/*" | "/lists" | "/lists/" | "/lists/*")
            })
        };
        let cached = run
            .cache_mounts
            .iter()
            .any(|m| m.value.contains("/var/lib/apt"));
        let cleaned = run.commands.iter().any(|command| {
            command.program_name() == Some("rm")
                && command.arguments().iter().any(|a| removed(&a.text))
        });
        if cached || cleaned || self.apt_lists_listed {
            return;
        }
        self.apt_lists_listed = true;
        let row = self
            .debian_release
            .and_then(|release| Some((release, self.tables.release_apt_lists(release)?)));
        self.contributors.push(Contributor {
            kind: ContributorKind::OsPackage,
            name: "apt package lists".into(),
            bytes: row.map(|(_, row)| row.bytes),
            detail: Detail::AptLists {
                release: row.map(|(release, _)| release),
            },
            row: row.map(|(release, row)| RowRef {
                table: DEBIAN_APT_LISTS_TABLE,
                key: RowKey::Name(release),
                source: row.source,
            }),
            span: Some(install.program.span),
            at_least: false,
        });
    }

    fn pip_install(&mut self, run: &'a RunModel, install: &'a InstallCommand) {
        let mut wheels = 0;
        self.distributions.clear();
        for package in &install.packages {
            let version = package.version.as_ref().map(|v| v.value.as_str());
            let added = self.python_requirement(
                run,
                &package.normalized_name,
                &package.name.value,
                &package.extras,
                version,
                Some(package.name.span),
            );
            if let Some(added) = added {
                wheels += added.wheels;
            }
        }
        for file in &install.requirement_files {
            if file.constraint {
                continue;
            }
            let link = self.model.pip_requirements.iter().find(|link| {
                link.instruction == run.instruction && link.path.span == file.path.span
            });
            let Some(requirements_file) = link.and_then(|l| l.requirements_file) else {
                self.contributors.push(Contributor {
                    kind: ContributorKind::PythonPackage,
                    name: format!("-r {}", file.path.value),
                    bytes: None,
                    detail: Detail::Fixed("the requirements file is not in the build context"),
                    row: None,
                    span: Some(file.path.span),
                    at_least: false,
                });
                continue;
            };
            let repository = self.repository;
            for (f, r) in repository.requirements_with_includes(requirements_file) {
                let Some(requirement) = repository
                    .requirements_files
                    .get(f)
                    .and_then(|file| file.requirements.requirements.get(r))
                else {
                    continue;
                };
                if requirement.constraint {
                    continue;
                }
                let (Some(name), Some(normalized)) =
                    (&requirement.name, &requirement.normalized_name)
                else {
                    self.unknown_source(&requirement.text, requirement.span);
                    continue;
                };
                if requirement.url.is_some() {
                    self.unknown_source(&requirement.text, requirement.span);
                    continue;
                }
                let version = requirement.specifier.as_ref().map(|s| s.value.as_str());
                if let Some(added) = self.python_requirement(
                    run,
                    normalized,
                    &name.value,
                    &requirement.extras,
                    version,
                    Some(requirement.span),
                ) {
                    wheels += added.wheels;
                }
            }
        }
        for source in &install.sources {
            self.unknown_source(&source.target.value, source.span);
        }
        // Each distribution installed has one wheel in the cache.
        let installed = std::mem::take(&mut self.distributions);
        let wheel_rows = installed.len();
        self.bytecode(run, install, &installed);
        self.distributions = installed;
        if install.manager == Manager::Pip && wheels > 0 && !self.pip_cache_disabled(run, install) {
            self.contributors.push(Contributor {
                kind: ContributorKind::PipCache,
                name: "pip cache".into(),
                bytes: Some(wheels),
                detail: Detail::PipCache { wheels: wheel_rows },
                row: Some(RowRef {
                    table: PYPI_TABLE,
                    key: RowKey::Name("wheel_bytes"),
                    source: "the wheel sizes of the rows of the packages above",
                }),
                span: Some(install.span),
                at_least: false,
            });
        }
    }

    /// Commands that write files no table sizes (a download, a clone, an unpacked archive, a
    /// build, a model download): each is an unknown part, so the estimate is a lower bound
    /// rather than silently short.
    fn run_outputs(&mut self, run: &RunModel) {
        for command in &run.commands {
            let Some(name) = command.program_name() else {
                continue;
            };
            let arguments = command.arguments();
            let has = |word: &str| arguments.iter().any(|a| a.text == word);
            let writes = match name {
                "wget" | "aria2c" | "git-lfs" => true,
                "curl" => {
                    arguments.iter().map(|a| a.text.as_str()).any(|a| {
                        matches!(a, "-o" | "-O" | "--output" | "--remote-name")
                            || (a.starts_with('-')
                                && !a.starts_with("--")
                                && a.contains(['o', 'O']))
                    }) || !command.redirections.is_empty()
                }
                "git" => has("clone") || has("pull") || has("fetch"),
                // `tar xzf`, `tar -xzf`, `tar --extract`: an option group holding `x`.
                "tar" => {
                    has("--extract")
                        || has("--get")
                        || arguments.iter().enumerate().any(|(i, a)| {
                            let a = a.text.as_str();
                            let group = a.strip_prefix('-').filter(|g| !g.starts_with('-'));
                            let group = group.or((i == 0).then_some(a));
                            group.is_some_and(|g| {
                                g.contains('x') && g.chars().all(|c| c.is_ascii_alphabetic())
                            })
                        })
                }
                "unzip" | "make" | "cmake" | "ninja" | "cargo" | "go" | "mvn" | "gradle" => true,
                "spacy" | "huggingface-cli" | "hf" => has("download"),
                _ if name.starts_with("python") => {
                    (has("-m") && (has("spacy") && has("download") || has("nltk.downloader")))
                        || (has("-c")
                            && arguments.iter().any(|a| {
                                a.text.contains(".download(") || a.text.contains("from_pretrained(")
                            }))
                }
                _ => false,
            };
            if writes {
                self.contributors.push(Contributor {
                    kind: ContributorKind::RunOutput,
                    name: {
                        let mut text = String::new();
                        push_joined(
                            &mut text,
                            std::iter::once(name)
                                .chain(arguments.iter().map(|a| a.text.as_str()).take(2)),
                            " ",
                        );
                        text
                    },
                    bytes: None,
                    detail: Detail::Fixed("writes files of a size no table gives (a download, clone, archive, build or model)"),
                    row: None,
                    span: Some(command.span),
                    at_least: false,
                });
            }
        }
    }

    /// An install from a URL, a path or version control: its size is not known statically.
    fn unknown_source(&mut self, text: &str, span: Span) {
        self.contributors.push(Contributor {
            kind: ContributorKind::PythonPackage,
            name: text.to_string(),
            bytes: None,
            detail: Detail::Fixed(
                "installed from a URL, path or repository: built or downloaded at build time",
            ),
            row: None,
            span: Some(span),
            at_least: false,
        });
    }

    /// The `.pyc` files the install's byte-compile step writes for the distributions it added
    /// (`compiled_cp3X` of their rows, for the image's CPython 3.X). pip compiles unless
    /// `--no-compile`, or `PIP_NO_COMPILE`/`PIP_COMPILE` set to a false value (pip reads
    /// both as its store_false/store_true options: `PIP_NO_COMPILE=1` leaves compiling on);
    /// `uv pip install` compiles only with `--compile-bytecode` or `UV_COMPILE_BYTECODE`.
    /// Without a known Python version, the smallest of the versions' figures, as a lower
    /// bound.
    fn bytecode(
        &mut self,
        run: &RunModel,
        install: &InstallCommand,
        distributions: &[&'static PypiRow],
    ) {
        let falsy = |value: &str| {
            matches!(
                value.to_ascii_lowercase().as_str(),
                "0" | "false" | "f" | "no" | "n" | "off"
            )
        };
        let compiles = match install.manager {
            Manager::Pip => {
                !install.has_flag(&["--no-compile"])
                    && !self
                        .environment(run, install, "PIP_NO_COMPILE")
                        .is_some_and(falsy)
                    && !self
                        .environment(run, install, "PIP_COMPILE")
                        .is_some_and(falsy)
            }
            Manager::Uv => {
                install.has_flag(&["--compile-bytecode", "--compile"])
                    || self
                        .environment(run, install, "UV_COMPILE_BYTECODE")
                        .is_some_and(|v| !v.is_empty() && !falsy(v))
            }
            _ => false,
        };
        if !compiles || distributions.is_empty() {
            return;
        }
        let column = self
            .python_minor
            .and_then(|minor| BYTECODE_PYTHONS.iter().position(|&m| m == minor));
        let rows = distributions.iter();
        let bytes = match column {
            Some(column) => rows
                .filter_map(|row| row.compiled_bytes.get(column))
                .sum::<u64>(),
            None => rows
                .filter_map(|row| row.compiled_bytes.iter().min())
                .sum::<u64>(),
        };
        let python = column.and(self.python_minor);
        // A setting that is often taken to stop this: pip's compile step ignores it.
        let dont_write_bytecode = install.manager == Manager::Pip
            && self
                .environment(run, install, "PYTHONDONTWRITEBYTECODE")
                .is_some_and(|value| !value.is_empty());
        self.contributors.push(Contributor {
            kind: ContributorKind::PythonPackage,
            name: "pip bytecode".into(),
            bytes: Some(bytes),
            detail: Detail::Bytecode {
                manager: install.manager,
                distributions: distributions.len(),
                python,
                dont_write_bytecode,
            },
            row: Some(RowRef {
                table: PYPI_TABLE,
                key: RowKey::Bytecode {
                    python,
                    distributions: names(distributions),
                },
                source: "the .pyc files and RECORD lines pip's compile step writes for each row's wheel, measured by compiling the wheel's .py files with that CPython",
            }),
            span: Some(install.span),
            at_least: column.is_none(),
        });
    }

    /// The value of the environment variable `name` for an install: the command's own
    /// setting, else the last `ENV` of the image's stages before the `RUN`, else the last
    /// `ARG` of the `RUN`'s stage before it (an `ARG` is in the environment of the `RUN`s of
    /// its stage after it, and an `ENV` of the same name overrides it).
    fn environment<'s>(
        &'s self,
        run: &RunModel,
        install: &'s InstallCommand,
        name: &str,
    ) -> Option<&'s str> {
        if let Some(setting) = install
            .environment
            .iter()
            .rev()
            .find(|s| s.name.value == name)
        {
            return Some(setting.value.value.as_str());
        }
        self.env_settings
            .iter()
            .rev()
            .find(|&&(instruction, key, _)| instruction < run.instruction && key == name)
            .map(|&(_, _, value)| value)
            .or_else(|| {
                self.arg_settings
                    .iter()
                    .rev()
                    .find(|&&(instruction, stage, key, _)| {
                        instruction < run.instruction && Some(stage) == run.stage && key == name
                    })
                    .map(|&(_, _, _, value)| value)
            })
    }

    /// Whether pip keeps no cache for this install: `--no-cache-dir`, `PIP_NO_CACHE_DIR` for
    /// the command or in an `ENV` of the image (with any value: pip's `_handle_no_cache_dir`
    /// disables the cache for false values too), or a cache mount on the `RUN`.
    fn pip_cache_disabled(&self, run: &RunModel, install: &InstallCommand) -> bool {
        install.has_flag(&["--no-cache-dir"])
            || !run.cache_mounts.is_empty()
            || self
                .environment(run, install, "PIP_NO_CACHE_DIR")
                .is_some_and(|value| !value.is_empty())
    }

    /// Counts a Python requirement and the dependencies it brings that are not counted yet.
    /// A requirement pinned to another version than the one an earlier `RUN` installed is
    /// counted again: pip replaces the files, but the earlier layer keeps the old ones.
    /// `None` when the distribution is not in the table (an unknown contributor is added).
    fn python_requirement<E: ExtraName>(
        &mut self,
        run: &RunModel,
        normalized: &str,
        written: &str,
        extras: &[E],
        version: Option<&'a str>,
        span: Option<Span>,
    ) -> Option<PythonAdded> {
        let tables = self.tables;
        let Some((id, row)) = tables.pypi_row(normalized) else {
            self.contributors.push(Contributor {
                kind: ContributorKind::PythonPackage,
                name: written.to_string(),
                bytes: None,
                detail: Detail::Fixed("not in the PyPI wheel table"),
                row: None,
                span,
                at_least: false,
            });
            return None;
        };
        let pin = version.and_then(exact_pin);
        let requested = match version {
            None => Some(row.version),
            Some(_) => pin,
        };
        if self.python_installed.is_empty() {
            self.python_installed = vec![None; tables.pypi_rows.len()];
            self.extras_followed.resize(tables.pypi_extras(), false);
            // An install counts each row at most once.
            self.distributions.reserve(tables.pypi_rows.len());
        }
        let replaced = pin.and_then(|pin| self.replaced(id, pin, run));
        let mut added = PythonAdded::default();
        let first = self.distributions.len();
        // The requirement itself, at the version asked; then the dependencies, which pip
        // installs at the newest release (the row's). They are followed by row id, with
        // extras borrowed from the static tables, so that following them neither hashes nor
        // allocates names.
        let mut pending = std::mem::take(&mut self.pending);
        pending.clear();
        self.follow(
            id,
            extras,
            Some(requested),
            run.instruction,
            &mut added,
            &mut pending,
        );
        while let Some(dependency) = pending.pop() {
            // A dependency counted (by an earlier step of this requirement) adds nothing
            // unless it asks for extras.
            let counted = matches!(self.python_installed.get(dependency.id), Some(Some(_)));
            if !(counted && dependency.extras.is_empty()) {
                self.follow(
                    dependency.id,
                    dependency.extras,
                    None,
                    run.instruction,
                    &mut added,
                    &mut pending,
                );
            }
        }
        self.pending = pending;
        let counted = self.distributions.get(first..).unwrap_or_default();
        let own_first = counted
            .first()
            .is_some_and(|first| first.distribution == row.distribution);
        let added_names = names(counted);
        let asked = version.map(str::to_string);
        let distribution = row.distribution;
        let version = row.version;
        let detail = if let (Some((earlier_version, earlier_run)), Some(pin)) = (replaced, pin) {
            Detail::Replaces {
                distribution,
                pin: pin.to_string(),
                earlier_version: earlier_version.to_string(),
                earlier_line: self.line_of(earlier_run),
                version,
                added: added_names,
            }
        } else if !own_first {
            Detail::ExtrasOfCounted {
                distribution,
                version,
                asked,
                added: added_names,
            }
        } else {
            Detail::PythonRequirement {
                distribution,
                version,
                asked,
                added: added_names,
            }
        };
        self.contributors.push(Contributor {
            kind: ContributorKind::PythonPackage,
            name: written.to_string(),
            bytes: Some(added.installed),
            detail,
            row: Some(RowRef {
                table: PYPI_TABLE,
                key: RowKey::Name(distribution),
                source: row.source,
            }),
            span,
            at_least: false,
        });
        Some(added)
    }

    /// One step of counting a Python requirement: counts distribution `id` in `run` (at
    /// `version`, the row's when `None`) unless it is counted already, in which case its
    /// dependencies are not queued again; then queues on `pending` the requirements of those
    /// of its `extras` that were not followed yet.
    fn follow<E: ExtraName>(
        &mut self,
        id: usize,
        extras: &[E],
        version: Option<Option<&'a str>>,
        run: usize,
        added: &mut PythonAdded,
        pending: &mut Vec<&'static PypiDependency>,
    ) {
        let Some(row) = self.tables.pypi_rows.get(id) else {
            return;
        };
        if let Some(slot @ None) = self.python_installed.get_mut(id) {
            *slot = Some(InstalledDistribution {
                version: version.unwrap_or(Some(row.version)),
                run,
            });
            added.installed += row.installed_bytes;
            added.wheels += row.wheel_bytes;
            self.distributions.push(row);
            // A dependency counted already adds nothing unless it asks for extras.
            let installed = &self.python_installed;
            pending.extend(row.dependencies.iter().filter(|d| {
                !d.extras.is_empty() || installed.get(d.id).is_some_and(Option::is_none)
            }));
        }
        for extra in extras {
            let Some((number, dependencies)) = row.extra(&extra.extra_name()) else {
                continue;
            };
            if let Some(followed @ false) = self.extras_followed.get_mut(number) {
                *followed = true;
                pending.extend(dependencies);
            }
        }
    }

    /// Whether a request pinned to `pin` replaces distribution `id` installed by an earlier
    /// `RUN`: it does when the version installed there is known and another one. The earlier
    /// installation is then forgotten, so that the request counts it again, and its version
    /// and line are returned. In the same `RUN` the pin only changes the version installed
    /// (one layer holds only the last files).
    fn replaced(&mut self, id: usize, pin: &'a str, run: &RunModel) -> Option<(&'a str, usize)> {
        let slot = self.python_installed.get_mut(id)?;
        let earlier = slot.as_mut()?;
        if earlier.run == run.instruction {
            earlier.version = Some(pin);
            return None;
        }
        let version = earlier
            .version
            .filter(|version| !same_version(version, pin))?;
        let earlier_run = earlier.run;
        *slot = None;
        Some((version, earlier_run))
    }

    fn copy(&mut self, copy: &CopyModel) {
        let instruction = self.model.dockerfile.instructions.get(copy.instruction);
        let span = instruction.map(|i| i.span);
        let keyword = instruction.map_or("COPY", |i| i.keyword.value.as_str());
        let name = |from: Option<&str>| {
            let mut name = String::from(keyword);
            if let Some(from) = from {
                name.push_str(" --from=");
                name.push_str(from);
            }
            name.push(' ');
            push_joined(
                &mut name,
                copy.sources.iter().map(|s| s.source.value.as_str()),
                " ",
            );
            name
        };
        if let Some(from) = &copy.from {
            let name = name(Some(&from.value));
            self.contributors.push(match copy.from_stage {
                Some(stage) => self.copy_from_stage(copy, stage, name, span),
                None => Contributor {
                    kind: ContributorKind::CopyFrom,
                    name,
                    bytes: None,
                    detail: Detail::Fixed("copied from another image"),
                    row: None,
                    span,
                    at_least: false,
                },
            });
            return;
        }
        let mut bytes = 0;
        let mut files = 0;
        let mut unknown: Vec<String> = Vec::new();
        for source in &copy.sources {
            if let Some(resolved) = &source.resolved {
                bytes += resolved.size;
                files += resolved.files.len();
                continue;
            }
            let heredoc = instruction.and_then(|i| {
                i.heredocs
                    .iter()
                    .find(|h| source.source.value.strip_prefix("<<") == Some(&h.name.value))
            });
            match heredoc {
                Some(heredoc) => {
                    bytes += heredoc.body.text.len() as u64;
                    files += 1;
                }
                None => unknown.push(source.source.value.clone()),
            }
        }
        let name = name(None);
        self.contributors.push(if unknown.is_empty() {
            Contributor {
                kind: ContributorKind::Copy,
                name,
                bytes: Some(bytes),
                detail: Detail::ContextFiles { files },
                row: None,
                span,
                at_least: false,
            }
        } else {
            Contributor {
                kind: ContributorKind::Copy,
                name,
                bytes: None,
                detail: Detail::NotInContext { sources: unknown },
                row: None,
                span,
                at_least: false,
            }
        });
    }

    /// `COPY --from=stage PATH`: what the stage's own `COPY`s put under PATH is known; what
    /// its `RUN`s write there is not, so with any `RUN` in that stage the figure is a lower
    /// bound, and without any known content it is unknown.
    fn copy_from_stage(
        &self,
        copy: &CopyModel,
        stage: usize,
        name: String,
        span: Option<Span>,
    ) -> Contributor {
        let from_stages = image_stages(self.model, stage);
        let in_from = |s: Option<usize>| s.is_some_and(|s| from_stages.contains(&s));
        let mut bytes = 0;
        let mut matched = 0;
        for source in &copy.sources {
            let path = source.source.value.trim_end_matches('/');
            for inner in self.model.copies.iter().filter(|c| in_from(c.stage)) {
                if inner.from.is_some() {
                    continue;
                }
                let Some(destination) = &inner.destination_path else {
                    continue;
                };
                let destination = destination.trim_end_matches('/');
                let under = destination == path
                    || path.is_empty()
                    || destination
                        .strip_prefix(path)
                        .is_some_and(|rest| rest.starts_with('/'));
                if under {
                    matched += 1;
                    bytes += inner
                        .sources
                        .iter()
                        .filter_map(|s| s.resolved.as_ref())
                        .map(|r| r.size)
                        .sum::<u64>();
                }
            }
        }
        let runs = self.model.runs.iter().any(|r| in_from(r.stage));
        if matched == 0 {
            return Contributor {
                kind: ContributorKind::CopyFrom,
                name,
                bytes: None,
                detail: Detail::Fixed("made by the other stage's RUN instructions"),
                row: None,
                span,
                at_least: false,
            };
        }
        Contributor {
            kind: ContributorKind::CopyFrom,
            name,
            bytes: Some(bytes),
            detail: Detail::FromStage { matched, runs },
            row: None,
            span,
            at_least: runs,
        }
    }
}

/// An extra a requirement asks for, by the name the table's rows give it: the PEP 503 name of
/// an extra as written (`Standard` → `standard`; not copied when already normal), the name
/// itself for an extra a row's requirement asks for.
trait ExtraName {
    fn extra_name(&self) -> Cow<'_, str>;
}

impl ExtraName for String {
    fn extra_name(&self) -> Cow<'_, str> {
        normalized_name(self)
    }
}

impl ExtraName for Spanned<String> {
    fn extra_name(&self) -> Cow<'_, str> {
        normalized_name(&self.value)
    }
}

impl ExtraName for &'static str {
    fn extra_name(&self) -> Cow<'_, str> {
        Cow::Borrowed(self)
    }
}

/// The distributions of PyPI rows.
fn names(rows: &[&'static PypiRow]) -> Vec<&'static str> {
    rows.iter().map(|row| row.distribution).collect()
}

/// Appends `items` to `out`, separated by `separator`.
fn push_joined<'s>(out: &mut String, items: impl Iterator<Item = &'s str>, separator: &str) {
    for (i, item) in items.enumerate() {
        if i > 0 {
            out.push_str(separator);
        }
        out.push_str(item);
    }
}

/// The version of an exact pin (`==2.1.4`, `===2.1.4`, `(==2.1.4)`); `None` for other
/// specifiers (`>=2`, `==2.*`, `==2.1,!=2.1.1`).
fn exact_pin(specifier: &str) -> Option<&str> {
    let specifier = specifier
        .trim()
        .trim_start_matches('(')
        .trim_end_matches(')')
        .trim();
    let version = specifier
        .strip_prefix("===")
        .or_else(|| specifier.strip_prefix("=="))?
        .trim();
    (!version.is_empty() && !version.contains([',', '*'])).then_some(version)
}

/// Whether two versions are the same release as pip compares them (`2.1` and `2.1.0` are);
/// versions PEP 440 cannot read are compared as text.
fn same_version(a: &str, b: &str) -> bool {
    // The same text is the same release whether PEP 440 reads it or not.
    if a == b {
        return true;
    }
    match (Version::from_str(a), Version::from_str(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// `repository:tag` of a base image (`registry/repository:tag` off Docker Hub, without the
/// `library/` prefix), the key of the base image table.
fn image_name(base: &ImageRef) -> String {
    let tag = base.tag.as_ref().map_or("latest", |t| t.value.as_str());
    let registry = base
        .registry
        .as_deref()
        .filter(|r| *r != "docker.io" && *r != "index.docker.io");
    let repository = base
        .repository
        .strip_prefix("library/")
        .unwrap_or(&base.repository);
    match registry {
        Some(registry) => format!("{registry}/{repository}:{tag}"),
        None => format!("{repository}:{tag}"),
    }
}

/// The X of an official `python:3.X…` base image (`python:3.10-slim`, `python:3.11.9`, as
/// [`image_name`] writes it), whose interpreter pip compiles with; `None` for other images and
/// floating tags (`python:3`).
fn python_minor(image: &str) -> Option<u32> {
    let tag = image.strip_prefix("python:3.")?;
    let digits: String = tag.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// The Debian release of a base image whose tag names it (`python:3.11-slim-bookworm`,
/// `debian:bookworm-slim`, `debian:12`, as [`image_name`] writes it); only releases whose
/// lists the tables measure.
fn debian_release(image: &str) -> Option<&'static str> {
    let (repository, tag) = image.rsplit_once(':')?;
    let bookworm = tag.split(['-', '.']).any(|part| part == "bookworm")
        || (repository == "debian"
            && (tag == "12" || tag.starts_with("12.") || tag.starts_with("12-")));
    bookworm.then_some("bookworm")
}

/// The row a base image reference not in the table may be found under: the reference with
/// the patch version dropped (`python:3.11.9-slim` → `python:3.11-slim`), for a tag that has
/// one.
fn minor_reference(image: &str) -> Option<String> {
    let (repository, tag) = image.rsplit_once(':')?;
    let (version, variant) = match tag.find('-') {
        Some(dash) => tag.split_at(dash),
        None => (tag, ""),
    };
    let parts: Vec<&str> = version.split('.').collect();
    if parts.len() == 3 && parts.iter().all(|p| p.chars().all(|c| c.is_ascii_digit())) {
        Some(format!("{repository}:{}.{}{variant}", parts[0], parts[1]))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::{exact_pin, minor_reference, same_version};

    #[test]
    fn only_exact_pins_name_a_version() {
        assert_eq!(exact_pin("==2.1.4"), Some("2.1.4"));
        assert_eq!(exact_pin("===2.1.4"), Some("2.1.4"));
        assert_eq!(exact_pin("(== 2.1.4)"), Some("2.1.4"));
        assert_eq!(exact_pin(">=2"), None);
        assert_eq!(exact_pin("==2.*"), None);
        assert_eq!(exact_pin("!=2.1.5,==2.1.4"), None);
        assert_eq!(exact_pin("~=2.1"), None);
        // Parentheses, however many, and any white space around them are not the version.
        assert_eq!(exact_pin("((==1.0))"), Some("1.0"));
        assert_eq!(exact_pin("\t( ==\u{a0}1.0 )\u{a0}"), Some("1.0"));
        assert_eq!(exact_pin("()"), None);
        assert_eq!(exact_pin("== "), None);
        assert!(same_version("2.1", "2.1.0"));
        assert!(!same_version("2.1.4", "2.1.5"));
        assert!(same_version("not a version", "not a version"));
    }

    #[test]
    fn patch_versions_fall_back_to_the_minor_row() {
        assert_eq!(
            minor_reference("python:3.11.9-slim").as_deref(),
            Some("python:3.11-slim")
        );
        assert_eq!(
            minor_reference("python:3.11.9").as_deref(),
            Some("python:3.11")
        );
        assert_eq!(minor_reference("python:3.11-slim"), None);
        assert_eq!(minor_reference("ubuntu:22.04"), None);
        assert_eq!(minor_reference("python:3.x.9-slim"), None);
    }
}
