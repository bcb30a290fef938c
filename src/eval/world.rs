//! The model as rules see it: the top-level collections, the derived images, and the value of
//! every field the schema ([`crate::lang::schema`]) declares, for every kind of entity.

use std::borrow::Cow;
use std::sync::OnceLock;

use foldhash::HashMap;

use crate::diag::Diagnostic;
use crate::eval::scope::{implicit_service_name, root_folder_name};
use crate::eval::value::{write_human_size, Entity, SettingAt, Value};
use crate::lang::schema::{EntityKind, FieldName, COLLECTIONS};
use crate::model::context::{CopyOutcome, DockerIgnore, EntryKind};
use crate::model::dockerfile::{arg_declaration, Form, Instruction};
use crate::model::repository::{DockerfileModel, Repository, RunModel};
use crate::size::{estimate, Estimate, MeasuredSize};
use crate::source::{Sources, Span};

/// An image that is built: a stage of a Dockerfile, and the service that builds it if any.
#[derive(Clone, Debug)]
pub struct ImageInfo {
    pub dockerfile: usize,
    pub stage: usize,
    pub service: Option<usize>,
    /// The stage and every stage it is built FROM, in file order.
    pub stages: Vec<usize>,
}

/// The fields of each kind that are derived from the model by walking it (lists gathered
/// from several places, the last instruction of a kind): [`World`] computes each of them once
/// per entity, on first use, and shares the value with every rule on every thread.
const IMAGE_CACHED: &[FieldName] = &[
    FieldName::Stages,
    FieldName::Base,
    FieldName::Instructions,
    FieldName::Commands,
    FieldName::Installs,
    FieldName::Packages,
    FieldName::Copies,
    FieldName::Settings,
    FieldName::PipRequirements,
    FieldName::Requirements,
    FieldName::User,
    FieldName::UserInstruction,
    FieldName::Healthcheck,
    FieldName::Cmd,
    FieldName::Entrypoint,
];
const STAGE_CACHED: &[FieldName] = &[
    FieldName::Lineage,
    FieldName::Instructions,
    FieldName::Commands,
    FieldName::Installs,
    FieldName::Packages,
    FieldName::Copies,
    FieldName::Settings,
];
const DOCKERFILE_CACHED: &[FieldName] = &[
    FieldName::Stages,
    FieldName::Image,
    FieldName::Instructions,
    FieldName::Commands,
    FieldName::Installs,
    FieldName::Packages,
    FieldName::Copies,
];
const CONTEXT_CACHED: &[FieldName] = &[
    FieldName::Files,
    FieldName::PythonFiles,
    FieldName::Imports,
    FieldName::ImportedModules,
];
const REQUIREMENTS_FILE_CACHED: &[FieldName] = &[FieldName::AllRequirements];

/// Values of some fields of every entity of one kind, each computed on first use.
struct FieldCache<'m> {
    /// The slot of each field name among an entity's slots (indexed by `FieldName as
    /// usize`), or `None` for a field that is not cached.
    slot_of: [Option<usize>; FieldName::COUNT],
    /// The number of cached fields: the slots of entity `item` start at `item * width`.
    width: usize,
    slots: Vec<OnceLock<Value<'m>>>,
}

impl<'m> FieldCache<'m> {
    fn new(fields: &[FieldName], entities: usize) -> FieldCache<'m> {
        let mut slot_of = [None; FieldName::COUNT];
        for (slot, &field) in fields.iter().enumerate() {
            slot_of[field as usize] = Some(slot);
        }
        FieldCache {
            slot_of,
            width: fields.len(),
            slots: (0..entities * fields.len())
                .map(|_| OnceLock::new())
                .collect(),
        }
    }

    /// The slot of field `name` of entity `item`, or `None` when the field is not cached.
    fn slot(&self, item: usize, name: FieldName) -> Option<&OnceLock<Value<'m>>> {
        let field = self.slot_of[name as usize]?;
        self.slots.get(item * self.width + field)
    }
}

/// The repository with what rules derive from it. Derived values are computed once and
/// shared: the top-level collections and the fields listed above are filled in lazily, so a
/// `World` is shared by all rules (it is `Sync`) and no rule pays twice for a list.
pub struct World<'m> {
    pub repository: &'m Repository,
    pub sources: &'m Sources,
    pub images: Vec<ImageInfo>,
    /// The image that builds each (Dockerfile, stage), by its index in `images`.
    image_index: HashMap<(usize, usize), usize>,
    /// The image each service builds: compose services first, then the implicit services.
    service_images: Vec<Option<usize>>,
    /// Services without compose: the final image of each Dockerfile that no compose service
    /// builds (named after its folder), then the services the configuration names.
    /// `Entity::Service(i)` for `i` past the compose services is
    /// `extra_services[i - compose services]`.
    extra_services: Vec<ExtraService>,
    /// The scanned root folder's own name (see [`root_folder_name`]).
    root_name: Option<String>,
    /// The static size estimate of each image.
    /// Computed on first use: most runs read no size.
    estimates: Vec<OnceLock<Estimate>>,
    /// The 1-based line of each instruction of each Dockerfile (0 when its source is
    /// missing), computed on first use rather than searched for on every read.
    instruction_lines: Vec<OnceLock<Vec<u32>>>,
    /// The measured size of each service, from `--image-sizes`.
    measured: Vec<Option<u64>>,
    /// Where each context is located (see [`context_locations`]), computed once.
    context_locations: Vec<Option<Span>>,
    /// The index of the first stage of each Dockerfile among all stages (for `stage_fields`).
    stage_offsets: Vec<usize>,
    /// The top-level collections, in the order of [`COLLECTIONS`].
    collections: Vec<OnceLock<Value<'m>>>,
    image_fields: FieldCache<'m>,
    stage_fields: FieldCache<'m>,
    dockerfile_fields: FieldCache<'m>,
    context_fields: FieldCache<'m>,
    requirements_file_fields: FieldCache<'m>,
}

impl<'m> World<'m> {
    pub fn new(repository: &'m Repository, sources: &'m Sources) -> World<'m> {
        let mut images: Vec<ImageInfo> = Vec::new();
        let image_of = |dockerfile: usize, stage: usize| -> ImageInfo {
            let mut stages: Vec<usize> = repository
                .dockerfiles
                .get(dockerfile)
                .and_then(|d| d.dockerfile.stages.get(stage))
                .map(|s| s.lineage.clone())
                .unwrap_or_default();
            stages.push(stage);
            stages.sort_unstable();
            stages.dedup();
            ImageInfo {
                dockerfile,
                stage,
                service: None,
                stages,
            }
        };
        let mut image_index = HashMap::default();
        // A variant's images are the ones its services build.
        for (index, dockerfile) in repository.dockerfiles.iter().enumerate() {
            if let Some(stage) = dockerfile
                .final_stage
                .filter(|_| dockerfile.variant_of.is_none())
            {
                image_index.insert((index, stage), images.len());
                images.push(image_of(index, stage));
            }
        }
        let mut service_images = Vec::with_capacity(repository.services.len());
        for (service_index, service) in repository.services.iter().enumerate() {
            let image = match (service.dockerfile, service.image_stage) {
                (Some(dockerfile), Some(stage)) => {
                    let index = *image_index.entry((dockerfile, stage)).or_insert_with(|| {
                        images.push(image_of(dockerfile, stage));
                        images.len() - 1
                    });
                    if let Some(image) = images.get_mut(index) {
                        image.service.get_or_insert(service_index);
                    }
                    Some(index)
                }
                _ => None,
            };
            service_images.push(image);
        }
        let built_by_compose = repository.dockerfiles_built_by_compose();
        let mut extra_services = Vec::new();
        for (index, image) in images.iter().enumerate() {
            let built_by_compose = built_by_compose
                .get(image.dockerfile)
                .copied()
                .unwrap_or(false);
            let is_final = repository
                .dockerfiles
                .get(image.dockerfile)
                .is_some_and(|d| d.final_stage == Some(image.stage));
            if image.service.is_none() && !built_by_compose && is_final {
                extra_services.push(ExtraService {
                    image: index,
                    name: None,
                });
                service_images.push(Some(index));
            }
        }
        let estimates = images.iter().map(|_| OnceLock::new()).collect();
        let measured = vec![None; service_images.len()];
        let context_locations = context_locations(repository);
        let mut stage_offsets = Vec::with_capacity(repository.dockerfiles.len());
        let mut stage_count = 0;
        for dockerfile in &repository.dockerfiles {
            stage_offsets.push(stage_count);
            stage_count += dockerfile.dockerfile.stages.len();
        }
        World {
            repository,
            sources,
            image_fields: FieldCache::new(IMAGE_CACHED, images.len()),
            images,
            image_index,
            service_images,
            extra_services,
            root_name: root_folder_name(&repository.root),
            estimates,
            instruction_lines: repository
                .dockerfiles
                .iter()
                .map(|_| OnceLock::new())
                .collect(),
            measured,
            context_locations,
            stage_offsets,
            collections: COLLECTIONS.iter().map(|_| OnceLock::new()).collect(),
            stage_fields: FieldCache::new(STAGE_CACHED, stage_count),
            dockerfile_fields: FieldCache::new(DOCKERFILE_CACHED, repository.dockerfiles.len()),
            context_fields: FieldCache::new(CONTEXT_CACHED, repository.contexts.len()),
            requirements_file_fields: FieldCache::new(
                REQUIREMENTS_FILE_CACHED,
                repository.requirements_files.len(),
            ),
        }
    }

    /// The number of services: compose services, then implicit ones.
    pub fn service_count(&self) -> usize {
        self.service_images.len()
    }

    /// The image a service builds, if it builds one.
    pub fn service_image(&self, service: usize) -> Option<usize> {
        self.service_images.get(service).copied().flatten()
    }

    /// The name of a service: its compose key, or for an implicit service the name of the
    /// Dockerfile's folder (followed by `/<file>` when the file is not called `Dockerfile`).
    pub fn service_name(&self, service: usize) -> Option<&str> {
        if let Some(compose) = self.compose_service(service) {
            return Some(compose.name.value.as_str());
        }
        let extra = self.extra_service(service)?;
        if let Some(name) = &extra.name {
            return Some(name.as_str());
        }
        let image = self.images.get(extra.image)?;
        let path = self.dockerfile(image.dockerfile)?.path.as_str();
        match implicit_service_name(path) {
            // A Dockerfile at the scanned root: the root folder's name.
            "." => self.root_name.as_deref(),
            name => Some(name),
        }
    }

    fn extra_service(&self, service: usize) -> Option<&ExtraService> {
        let index = service.checked_sub(self.repository.services.len())?;
        self.extra_services.get(index)
    }

    /// The image of a service that is not a compose service.
    fn implicit_image(&self, service: usize) -> Option<&ImageInfo> {
        self.images.get(self.extra_service(service)?.image)
    }

    /// Adds the service `name` (from the configuration's `services:`) that builds stage
    /// `stage` of Dockerfile `dockerfile`. It takes the place of the implicit service of the
    /// same image, if there is one.
    pub fn add_configured_service(&mut self, name: &str, dockerfile: usize, stage: usize) {
        let existing = self.image_index.get(&(dockerfile, stage)).copied();
        let image = match existing {
            Some(image) => image,
            None => {
                let mut stages = self
                    .dockerfile(dockerfile)
                    .and_then(|d| d.dockerfile.stages.get(stage))
                    .map(|s| s.lineage.clone())
                    .unwrap_or_default();
                stages.push(stage);
                stages.sort_unstable();
                self.images.push(ImageInfo {
                    dockerfile,
                    stage,
                    service: None,
                    stages,
                });
                self.estimates.push(OnceLock::new());
                self.image_index
                    .insert((dockerfile, stage), self.images.len() - 1);
                self.images.len() - 1
            }
        };
        match self
            .extra_services
            .iter_mut()
            .find(|e| e.image == image && e.name.is_none())
        {
            Some(implicit) => implicit.name = Some(name.to_string()),
            None => {
                self.extra_services.push(ExtraService {
                    image,
                    name: Some(name.to_string()),
                });
                self.service_images.push(Some(image));
                self.measured.push(None);
            }
        }
    }

    /// The static estimate of image `image`.
    pub fn estimate(&self, image: usize) -> Option<&Estimate> {
        let info = self.images.get(image)?;
        let slot = self.estimates.get(image)?;
        Some(
            slot.get_or_init(|| {
                estimate(self.repository, self.sources, info.dockerfile, info.stage)
            }),
        )
    }

    /// The measured size of a service, if `--image-sizes` gave one.
    pub fn measured_size(&self, service: usize) -> Option<u64> {
        self.measured.get(service).copied().flatten()
    }

    /// The size of a service and how it is known: measured, else its image's estimate.
    pub fn service_size(&self, service: usize) -> Option<(u64, SizeKind)> {
        if let Some(bytes) = self.measured_size(service) {
            return Some((bytes, SizeKind::Measured));
        }
        let estimate = self.estimate(self.service_image(service)?)?;
        Some((estimate.total(), SizeKind::of(estimate)))
    }

    /// Matches measured sizes to services by service name, by the compose `image:` reference,
    /// or by the names compose gives the images it builds (`<project>-<service>`,
    /// `<project>_<service>`); a reference without a tag is `:latest`. Entries that match no
    /// service are warnings at their place.
    pub fn apply_measured_sizes(&mut self, sizes: &[MeasuredSize]) -> Vec<Diagnostic> {
        let mut diagnostics = Vec::new();
        for size in sizes {
            let mut matched = false;
            for service in 0..self.service_count() {
                let names = self.service_image_names(service);
                let hit = size
                    .names
                    .iter()
                    .any(|n| names.iter().any(|m| with_tag(m) == with_tag(n)));
                if hit {
                    if let Some(slot) = self.measured.get_mut(service) {
                        *slot = Some(size.bytes);
                    }
                    matched = true;
                }
            }
            if !matched {
                diagnostics.push(
                    Diagnostic::warning(format!(
                        "the measured size of `{}` matches no service",
                        size.names.join("`, `")
                    ))
                    .with_span(size.span)
                    .with_help(
                        "entries match a service by its name, its compose `image:`, or `<project>-<service>`",
                    ),
                );
            }
        }
        diagnostics
    }

    /// The names a measured size may give a service.
    fn service_image_names(&self, service: usize) -> Vec<String> {
        let mut names: Vec<String> = self
            .service_name(service)
            .map(String::from)
            .into_iter()
            .collect();
        let link = self.repository.services.get(service);
        if let Some(compose) = self.compose_service(service) {
            if let Some(image) = &compose.image {
                names.push(image.value.clone());
            }
            let project = link
                .and_then(|l| self.repository.compose_projects.get(l.project))
                .and_then(|p| {
                    p.name.as_ref().map(|n| n.value.clone()).or_else(|| {
                        p.project_dir
                            .file_name()
                            .map(|f| f.to_string_lossy().into_owned())
                    })
                });
            if let Some(project) = project {
                names.push(format!("{project}-{}", compose.name.value));
                names.push(format!("{project}_{}", compose.name.value));
            }
        }
        names
    }

    /// The list a top-level collection holds, built on first use; `None` for a name that is
    /// not a collection.
    pub fn collection_value(&self, name: &str) -> Option<Value<'m>> {
        let slot = COLLECTIONS
            .iter()
            .position(|(collection, _, _)| *collection == name)
            .and_then(|index| self.collections.get(index))?;
        Some(
            slot.get_or_init(|| entity_list(self.collection(name).unwrap_or_default()))
                .clone(),
        )
    }

    fn dockerfile(&self, index: usize) -> Option<&'m DockerfileModel> {
        self.repository.dockerfiles.get(index)
    }

    fn instruction(&self, dockerfile: usize, index: usize) -> Option<&'m Instruction> {
        self.dockerfile(dockerfile)?
            .dockerfile
            .instructions
            .get(index)
    }

    /// The elements of a top-level collection.
    pub fn collection(&self, name: &str) -> Option<Vec<Entity>> {
        let repo = self.repository;
        let all_dockerfiles = || 0..repo.dockerfiles.len();
        Some(match name {
            "dockerfiles" => all_dockerfiles().map(Entity::Dockerfile).collect(),
            "stages" => all_dockerfiles()
                .flat_map(|d| self.stage_entities(d))
                .collect(),
            "images" => (0..self.images.len()).map(Entity::Image).collect(),
            "instructions" => all_dockerfiles()
                .flat_map(|d| {
                    let count = repo
                        .dockerfiles
                        .get(d)
                        .map_or(0, |m| m.dockerfile.instructions.len());
                    (0..count).map(move |i| Entity::Instruction(d, i))
                })
                .collect(),
            "commands" => all_dockerfiles()
                .flat_map(|d| self.commands(d, None))
                .collect(),
            "installs" => all_dockerfiles()
                .flat_map(|d| self.installs(d, None))
                .collect(),
            "packages" => all_dockerfiles()
                .flat_map(|d| self.packages(d, None))
                .collect(),
            "copies" => all_dockerfiles()
                .flat_map(|d| self.copies(d, None))
                .collect(),
            "contexts" => (0..repo.contexts.len()).map(Entity::Context).collect(),
            "services" => (0..self.service_count()).map(Entity::Service).collect(),
            "requirements_files" => (0..repo.requirements_files.len())
                .map(Entity::RequirementsFile)
                .collect(),
            "requirements" => repo
                .requirements_files
                .iter()
                .enumerate()
                .flat_map(|(f, file)| {
                    (0..file.requirements.requirements.len())
                        .map(move |r| Entity::Requirement(f, r))
                })
                .collect(),
            "python_files" => (0..repo.python_files.len())
                .map(Entity::PythonFile)
                .collect(),
            "imports" => repo
                .python_files
                .iter()
                .enumerate()
                .flat_map(|(p, file)| (0..file.imports.len()).map(move |i| Entity::Import(p, i)))
                .collect(),
            _ => return None,
        })
    }

    fn stage_entities(&self, dockerfile: usize) -> Vec<Entity> {
        let count = self
            .dockerfile(dockerfile)
            .map_or(0, |d| d.dockerfile.stages.len());
        (0..count).map(|s| Entity::Stage(dockerfile, s)).collect()
    }

    /// Whether `stage` is one of `stages` (all stages when `None`).
    fn in_stages(stage: Option<usize>, stages: Option<&[usize]>) -> bool {
        match stages {
            None => true,
            Some(stages) => stage.is_some_and(|s| stages.contains(&s)),
        }
    }

    /// Entities of the `RUN`s of `stages`: `count` of each run, made by `make(run, item)`.
    fn run_entities(
        &self,
        dockerfile: usize,
        stages: Option<&[usize]>,
        count: impl Fn(&RunModel) -> usize,
        make: impl Fn(usize, usize) -> Entity,
    ) -> Vec<Entity> {
        let Some(model) = self.dockerfile(dockerfile) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (r, run) in model.runs.iter().enumerate() {
            if Self::in_stages(run.stage, stages) {
                out.extend((0..count(run)).map(|item| make(r, item)));
            }
        }
        out
    }

    fn commands(&self, d: usize, stages: Option<&[usize]>) -> Vec<Entity> {
        self.run_entities(
            d,
            stages,
            |run| run.commands.len(),
            |r, c| Entity::Command(d, r, c),
        )
    }

    fn installs(&self, d: usize, stages: Option<&[usize]>) -> Vec<Entity> {
        self.run_entities(
            d,
            stages,
            |run| run.installs.len(),
            |r, i| Entity::Install(d, r, i),
        )
    }

    fn packages(&self, dockerfile: usize, stages: Option<&[usize]>) -> Vec<Entity> {
        let Some(model) = self.dockerfile(dockerfile) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (r, run) in model.runs.iter().enumerate() {
            if !Self::in_stages(run.stage, stages) {
                continue;
            }
            for (i, install) in run.installs.iter().enumerate() {
                out.extend(
                    (0..install.packages.len()).map(|p| Entity::Package(dockerfile, r, i, p)),
                );
            }
        }
        out
    }

    fn copies(&self, dockerfile: usize, stages: Option<&[usize]>) -> Vec<Entity> {
        let Some(model) = self.dockerfile(dockerfile) else {
            return Vec::new();
        };
        model
            .copies
            .iter()
            .enumerate()
            .filter(|(_, copy)| Self::in_stages(copy.stage, stages))
            .map(|(c, _)| Entity::Copy(dockerfile, c))
            .collect()
    }

    fn pip_links(&self, dockerfile: usize, stages: Option<&[usize]>) -> Vec<Entity> {
        let Some(model) = self.dockerfile(dockerfile) else {
            return Vec::new();
        };
        model
            .pip_requirements
            .iter()
            .enumerate()
            .filter(|(_, link)| Self::in_stages(link.stage, stages))
            .map(|(l, _)| Entity::PipRequirements(dockerfile, l))
            .collect()
    }

    /// The instructions of `stages` (after each FROM, FROM included), in file order.
    fn stage_instructions(&self, dockerfile: usize, stages: &[usize]) -> Vec<Entity> {
        let Some(model) = self.dockerfile(dockerfile) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for &stage in stages {
            if let Some(stage) = model.dockerfile.stages.get(stage) {
                out.extend(
                    (stage.from..stage.instructions.end)
                        .map(|i| Entity::Instruction(dockerfile, i)),
                );
            }
        }
        out.sort_unstable_by_key(|e| match e {
            Entity::Instruction(_, i) => *i,
            _ => 0,
        });
        out
    }

    fn settings(&self, dockerfile: usize, stages: &[usize]) -> Vec<Entity> {
        let mut out = Vec::new();
        for entity in self.stage_instructions(dockerfile, stages) {
            let Entity::Instruction(d, i) = entity else {
                continue;
            };
            let Some(instruction) = self.instruction(d, i) else {
                continue;
            };
            if instruction.is("ENV") {
                out.extend(
                    (0..instruction.key_values().len())
                        .map(|p| Entity::from(SettingAt::Env(d, i, p))),
                );
            } else if instruction.is("ARG") {
                out.extend(
                    (0..instruction.values.len()).map(|v| Entity::from(SettingAt::Arg(d, i, v))),
                );
            }
        }
        out
    }

    /// The last instruction `keyword` among the instructions of `stages`.
    fn last_instruction(&self, dockerfile: usize, stages: &[usize], keyword: &str) -> Value<'m> {
        self.stage_instructions(dockerfile, stages)
            .into_iter()
            .rev()
            .find(|e| match e {
                Entity::Instruction(d, i) => {
                    self.instruction(*d, *i).is_some_and(|x| x.is(keyword))
                }
                _ => false,
            })
            .map_or(Value::Null, Value::Entity)
    }

    /// The requirements of requirements file `file` and of the files it includes.
    fn all_requirements(&self, file: usize) -> Vec<Entity> {
        self.repository
            .requirements_with_includes(file)
            .into_iter()
            .map(|(f, r)| Entity::Requirement(f, r))
            .collect()
    }

    fn image_requirements(&self, image: &ImageInfo) -> Vec<Entity> {
        let mut out = Vec::new();
        for link in self.pip_links(image.dockerfile, Some(&image.stages)) {
            if let Entity::PipRequirements(d, l) = link {
                let file = self
                    .dockerfile(d)
                    .and_then(|m| m.pip_requirements.get(l))
                    .and_then(|l| l.requirements_file);
                if let Some(file) = file {
                    for requirement in self.all_requirements(file) {
                        if !out.contains(&requirement) {
                            out.push(requirement);
                        }
                    }
                }
            }
        }
        out
    }

    fn context_imports(&self, context: usize) -> Vec<Entity> {
        let Some(model) = self.repository.contexts.get(context) else {
            return Vec::new();
        };
        model
            .python_files
            .iter()
            .flat_map(|&p| {
                let count = self
                    .repository
                    .python_files
                    .get(p)
                    .map_or(0, |f| f.imports.len());
                (0..count).map(move |i| Entity::Import(p, i))
            })
            .collect()
    }

    /// The location of an entity: where a finding about it points.
    pub fn span(&self, entity: Entity) -> Option<Span> {
        let repo = self.repository;
        match entity {
            Entity::Dockerfile(d) => Some(Span::point(self.dockerfile(d)?.dockerfile.file, 0)),
            Entity::Stage(d, s) => {
                let stage = self.dockerfile(d)?.dockerfile.stages.get(s)?;
                Some(self.instruction(d, stage.from)?.span)
            }
            Entity::ImageRef(d, s) => {
                Some(self.dockerfile(d)?.dockerfile.stages.get(s)?.base.raw.span)
            }
            Entity::Image(i) => {
                let image = self.images.get(i)?;
                self.span(Entity::Stage(image.dockerfile, image.stage))
            }
            Entity::Instruction(d, i) => Some(self.instruction(d, i)?.span),
            Entity::Flag(d, i, f) => Some(self.instruction(d, i)?.flags.get(f)?.span),
            Entity::Command(d, r, c) => {
                Some(self.dockerfile(d)?.runs.get(r)?.commands.get(c)?.span)
            }
            Entity::Install(d, r, i) => {
                Some(self.dockerfile(d)?.runs.get(r)?.installs.get(i)?.span)
            }
            Entity::Package(d, r, i, p) => Some(
                self.dockerfile(d)?
                    .runs
                    .get(r)?
                    .installs
                    .get(i)?
                    .packages
                    .get(p)?
                    .name
                    .span,
            ),
            Entity::SettingEnv(..) | Entity::SettingArg(..) | Entity::SettingCommand(..) => self
                .setting(entity.setting_at()?)
                .and_then(|((_, span), _, _)| span),
            Entity::PipRequirements(d, l) => {
                Some(self.dockerfile(d)?.pip_requirements.get(l)?.path.span)
            }
            Entity::Copy(d, c) => {
                let copy = self.dockerfile(d)?.copies.get(c)?;
                Some(self.instruction(d, copy.instruction)?.span)
            }
            Entity::CopySource(d, c, s) => Some(
                self.dockerfile(d)?
                    .copies
                    .get(c)?
                    .sources
                    .get(s)?
                    .source
                    .span,
            ),
            Entity::Context(c) => self.context_locations.get(c).copied().flatten(),
            Entity::ContextFile(c, _) => self.span(Entity::Context(c)),
            Entity::Dockerignore(c) => Some(dockerignore_location(
                repo.contexts.get(c)?.dockerignore.as_ref()?,
            )),
            Entity::IgnorePattern(c, p) => Some(
                repo.contexts
                    .get(c)?
                    .dockerignore
                    .as_ref()?
                    .patterns
                    .get(p)?
                    .span,
            ),
            Entity::RequirementsFile(f) => Some(Span::point(
                repo.requirements_files.get(f)?.requirements.file,
                0,
            )),
            Entity::Requirement(f, r) => Some(
                repo.requirements_files
                    .get(f)?
                    .requirements
                    .requirements
                    .get(r)?
                    .span,
            ),
            Entity::Service(s) => match self.compose_service(s) {
                Some(service) => Some(service.name.span),
                None => {
                    let image = self.implicit_image(s)?;
                    self.span(Entity::Stage(image.dockerfile, image.stage))
                }
            },
            Entity::SizeContributor(i, c) => self.estimate(i)?.contributors.get(c)?.span,
            Entity::Healthcheck(s) => Some(self.compose_service(s)?.healthcheck.as_ref()?.span),
            Entity::Gpu(s, g) => Some(self.compose_service(s)?.gpus.get(g)?.span),
            Entity::PythonFile(p) => Some(Span::point(repo.python_files.get(p)?.file, 0)),
            Entity::Import(p, i) => Some(repo.python_files.get(p)?.imports.get(i)?.module.span),
        }
    }

    fn compose_service(&self, service: usize) -> Option<&'m crate::model::compose::Service> {
        let link = self.repository.services.get(service)?;
        self.repository
            .compose_projects
            .get(link.project)?
            .services
            .get(link.service)
    }

    /// `(name, value, keyword)` of a setting, each string with its span.
    #[allow(clippy::type_complexity)]
    fn setting(
        &self,
        at: SettingAt,
    ) -> Option<(
        (&'m str, Option<Span>),
        Option<(&'m str, Option<Span>)>,
        &'static str,
    )> {
        match at {
            SettingAt::Env(d, i, p) => {
                let (name, value) = *self.instruction(d, i)?.key_values().get(p)?;
                Some((
                    (name.value.as_str(), Some(name.span)),
                    Some((value.value.as_str(), Some(value.span))),
                    "ENV",
                ))
            }
            SettingAt::Arg(d, i, v) => {
                let word = self.instruction(d, i)?.values.get(v)?;
                let (name, default) = arg_declaration(&word.value);
                let value = self
                    .dockerfile(d)?
                    .stage_arg_value(name, default.map(|default| (default, word.span)));
                Some(((name, Some(word.span)), value, "ARG"))
            }
            SettingAt::Command(d, r, i, s) => {
                let setting = self
                    .dockerfile(d)?
                    .runs
                    .get(r)?
                    .installs
                    .get(i)?
                    .environment
                    .get(s)?;
                Some((
                    (setting.name.value.as_str(), Some(setting.name.span)),
                    Some((setting.value.value.as_str(), Some(setting.value.span))),
                    "RUN",
                ))
            }
        }
    }

    /// A short name of an entity for messages.
    pub fn label(&self, entity: Entity) -> String {
        let mut out = String::new();
        self.write_label(entity, &mut out);
        out
    }

    /// Appends [`World::label`] of `entity` to `out`.
    pub fn write_label(&self, entity: Entity, out: &mut String) {
        let name = match entity {
            Entity::Stage(..) => FieldName::Label,
            Entity::Image(..)
            | Entity::Service(..)
            | Entity::Package(..)
            | Entity::Requirement(..)
            | Entity::SettingEnv(..)
            | Entity::SettingArg(..)
            | Entity::SettingCommand(..)
            | Entity::Flag(..) => FieldName::Name,
            Entity::ImageRef(..) | Entity::CopySource(..) | Entity::IgnorePattern(..) => {
                FieldName::Text
            }
            Entity::Import(..) => FieldName::Module,
            Entity::Dockerfile(..)
            | Entity::Context(..)
            | Entity::ContextFile(..)
            | Entity::Dockerignore(..)
            | Entity::RequirementsFile(..)
            | Entity::PythonFile(..)
            | Entity::PipRequirements(..) => FieldName::Path,
            Entity::Instruction(..) | Entity::Copy(..) => FieldName::Keyword,
            Entity::Command(..)
            | Entity::Install(..)
            | Entity::Healthcheck(..)
            | Entity::Gpu(..) => {
                if let Some(span) = self.span(entity) {
                    out.push_str(self.sources.slice(span));
                }
                return;
            }
            Entity::SizeContributor(i, c) => {
                if let Some(c) = self.estimate(i).and_then(|e| e.contributors.get(c)) {
                    out.push_str(&c.name);
                    match c.bytes {
                        Some(bytes) => {
                            out.push_str(" (");
                            write_human_size(bytes, out);
                            out.push(')');
                        }
                        None => out.push_str(" (size unknown)"),
                    }
                }
                return;
            }
        };
        if let Some(Value::String(text, _)) = self.field(entity, name) {
            out.push_str(&text);
        }
    }

    /// The kind of an entity.
    pub fn kind(entity: Entity) -> EntityKind {
        match entity {
            Entity::Dockerfile(..) => EntityKind::Dockerfile,
            Entity::Stage(..) => EntityKind::Stage,
            Entity::ImageRef(..) => EntityKind::ImageRef,
            Entity::Image(..) => EntityKind::Image,
            Entity::Instruction(..) => EntityKind::Instruction,
            Entity::Flag(..) => EntityKind::Flag,
            Entity::Command(..) => EntityKind::Command,
            Entity::Install(..) => EntityKind::Install,
            Entity::Package(..) => EntityKind::Package,
            Entity::SettingEnv(..) | Entity::SettingArg(..) | Entity::SettingCommand(..) => {
                EntityKind::Setting
            }
            Entity::PipRequirements(..) => EntityKind::PipRequirements,
            Entity::Copy(..) => EntityKind::Copy,
            Entity::CopySource(..) => EntityKind::CopySource,
            Entity::Context(..) => EntityKind::Context,
            Entity::ContextFile(..) => EntityKind::ContextFile,
            Entity::Dockerignore(..) => EntityKind::Dockerignore,
            Entity::IgnorePattern(..) => EntityKind::IgnorePattern,
            Entity::RequirementsFile(..) => EntityKind::RequirementsFile,
            Entity::Requirement(..) => EntityKind::Requirement,
            Entity::Service(..) => EntityKind::Service,
            Entity::Healthcheck(..) => EntityKind::Healthcheck,
            Entity::Gpu(..) => EntityKind::Gpu,
            Entity::PythonFile(..) => EntityKind::PythonFile,
            Entity::Import(..) => EntityKind::Import,
            Entity::SizeContributor(..) => EntityKind::SizeContributor,
        }
    }

    /// The value of field `name` of `entity`: `None` when the schema has no such field,
    /// `Some(Value::Null)` when the field is absent for this entity.
    ///
    /// The most read kinds (packages, requirements, installs, commands, instructions) go
    /// straight to their own small function rather than through [`World::compute_field`],
    /// whose frame is sized for every kind.
    #[inline]
    pub fn field(&self, entity: Entity, name: FieldName) -> Option<Value<'m>> {
        match entity {
            Entity::Package(d, r, i, p) => self.package_field(d, r, i, p, name),
            Entity::Requirement(f, r) => self.requirement_field(f, r, name),
            Entity::Install(d, r, i) => self.install_field(d, r, i, name),
            Entity::Command(d, r, c) => self.command_field(d, r, c, name),
            Entity::Instruction(d, i) => self.instruction_field(d, i, name),
            Entity::Image(..)
            | Entity::Stage(..)
            | Entity::Dockerfile(..)
            | Entity::Context(..)
            | Entity::RequirementsFile(..) => self.field_of_cached_kind(entity, name),
            _ => self.compute_field(entity, name),
        }
    }

    /// [`World::field`] of the field numbered `F` (`FieldName::X as u16`): one function for
    /// each field, in which the field functions of the most read kinds are inlined and reduce
    /// to reading that one field (the rules compiled to Rust, [`crate::eval::native`], read
    /// fields through it).
    #[inline]
    pub fn numbered_field<const F: u16>(&self, entity: Entity) -> Option<Value<'m>> {
        let &name = FieldName::ALL.get(usize::from(F))?;
        self.field_inline(entity, name)
    }

    /// [`World::field`], with the functions of the most read kinds inlined.
    #[inline(always)]
    fn field_inline(&self, entity: Entity, name: FieldName) -> Option<Value<'m>> {
        match entity {
            Entity::Package(d, r, i, p) => self.package_field_body(d, r, i, p, name),
            Entity::Requirement(f, r) => self.requirement_field_body(f, r, name),
            Entity::Install(d, r, i) => self.install_field_body(d, r, i, name),
            Entity::Command(d, r, c) => self.command_field_body(d, r, c, name),
            Entity::Instruction(d, i) => self.instruction_field_body(d, i, name),
            _ => self.field(entity, name),
        }
    }

    /// [`World::field`] of an entity of a kind with cached fields: a cached field is read
    /// from (or computed into) its slot, another one computed.
    fn field_of_cached_kind(&self, entity: Entity, name: FieldName) -> Option<Value<'m>> {
        let slot = match entity {
            Entity::Image(i) => self.image_fields.slot(i, name),
            Entity::Stage(d, s) => self
                .stage_offsets
                .get(d)
                .filter(|_| {
                    self.dockerfile(d)
                        .is_some_and(|m| s < m.dockerfile.stages.len())
                })
                .and_then(|offset| self.stage_fields.slot(offset + s, name)),
            Entity::Dockerfile(d) => self.dockerfile_fields.slot(d, name),
            Entity::Context(c) => self.context_fields.slot(c, name),
            Entity::RequirementsFile(f) => self.requirements_file_fields.slot(f, name),
            _ => None,
        };
        match slot {
            Some(slot) => Some(
                slot.get_or_init(|| self.compute_field(entity, name).unwrap_or(Value::Null))
                    .clone(),
            ),
            None => self.compute_field(entity, name),
        }
    }

    /// The value of a field that the schema declares (null if it did not).
    fn cached(&self, entity: Entity, name: FieldName) -> Value<'m> {
        self.field(entity, name).unwrap_or(Value::Null)
    }

    /// [`World::field`] without the cache.
    fn compute_field(&self, entity: Entity, name: FieldName) -> Option<Value<'m>> {
        match entity {
            Entity::Dockerfile(d) => self.dockerfile_field(d, name),
            Entity::Stage(d, s) => self.stage_field(d, s, name),
            Entity::ImageRef(d, s) => self.image_ref_field(d, s, name),
            Entity::Image(i) => self.image_field(i, name),
            Entity::Instruction(d, i) => self.instruction_field(d, i, name),
            Entity::Flag(d, i, f) => {
                let flag = self.instruction(d, i).and_then(|x| x.flags.get(f));
                Some(match name {
                    FieldName::Name => flag.map_or(Value::Null, |f| s(&f.name.value, f.name.span)),
                    FieldName::Value => opt(flag
                        .and_then(|f| f.value.as_ref())
                        .map(|v| s(&v.value, v.span))),
                    _ => return None,
                })
            }
            Entity::Command(d, r, c) => self.command_field(d, r, c, name),
            Entity::Install(d, r, i) => self.install_field(d, r, i, name),
            Entity::Package(d, r, i, p) => self.package_field(d, r, i, p, name),
            Entity::SettingEnv(..) | Entity::SettingArg(..) | Entity::SettingCommand(..) => {
                let at = entity.setting_at()?;
                let setting = self.setting(at);
                Some(match name {
                    FieldName::Name => opt(setting.map(|((n, span), _, _)| Value::str(n, span))),
                    FieldName::Value => opt(setting
                        .and_then(|(_, v, _)| v)
                        .map(|(v, span)| Value::str(v, span))),
                    FieldName::Keyword => opt(setting.map(|(_, _, k)| Value::str(k, None))),
                    FieldName::Instruction => match at {
                        SettingAt::Env(d, i, _) | SettingAt::Arg(d, i, _) => {
                            Value::Entity(Entity::Instruction(d, i))
                        }
                        SettingAt::Command(d, r, _, _) => self.run_instruction(d, r),
                    },
                    _ => return None,
                })
            }
            Entity::PipRequirements(d, l) => self.pip_field(d, l, name),
            Entity::Copy(d, c) => self.copy_field(d, c, name),
            Entity::CopySource(d, c, i) => self.copy_source_field(d, c, i, name),
            Entity::Context(c) => self.context_field(c, name),
            Entity::ContextFile(c, f) => {
                let file = self
                    .repository
                    .contexts
                    .get(c)
                    .and_then(|x| x.context.files.get(f));
                Some(match name {
                    FieldName::Path => opt(file.map(|f| Value::str(&f.rel_path, None))),
                    FieldName::Size => opt(file.map(|f| Value::Size(f.size))),
                    FieldName::Kind => opt(file.map(|f| {
                        Value::str(
                            match f.kind {
                                EntryKind::File => "file",
                                EntryKind::Dir => "dir",
                                EntryKind::Symlink => "symlink",
                                EntryKind::Other => "other",
                            },
                            None,
                        )
                    })),
                    FieldName::Excluded => opt(file.map(|f| Value::Bool(f.excluded_by.is_some()))),
                    _ => return None,
                })
            }
            Entity::Dockerignore(c) => {
                let context = self.repository.contexts.get(c);
                Some(match name {
                    FieldName::Path => opt(context
                        .and_then(|x| x.dockerignore_path.as_deref())
                        .map(|p| Value::str(p, None))),
                    FieldName::Patterns => {
                        let count = context
                            .and_then(|x| x.dockerignore.as_ref())
                            .map_or(0, |i| i.patterns.len());
                        entity_list((0..count).map(|p| Entity::IgnorePattern(c, p)))
                    }
                    _ => return None,
                })
            }
            Entity::IgnorePattern(c, p) => {
                let pattern = self
                    .repository
                    .contexts
                    .get(c)
                    .and_then(|x| x.dockerignore.as_ref())
                    .and_then(|i| i.patterns.get(p));
                Some(match name {
                    FieldName::Text => opt(pattern.map(|p| s(&p.text, p.text_span))),
                    FieldName::Exception => opt(pattern.map(|p| Value::Bool(p.exception))),
                    _ => return None,
                })
            }
            Entity::RequirementsFile(f) => {
                let file = self.repository.requirements_files.get(f);
                Some(match name {
                    FieldName::Path => opt(file.map(|x| Value::str(&x.path, None))),
                    FieldName::Requirements => {
                        let count = file.map_or(0, |x| x.requirements.requirements.len());
                        entity_list((0..count).map(|r| Entity::Requirement(f, r)))
                    }
                    FieldName::AllRequirements => entity_list(self.all_requirements(f)),
                    FieldName::Includes => Value::list(
                        file.map(|x| {
                            x.requirements
                                .includes
                                .iter()
                                .map(|i| s(&i.path.value, i.path.span))
                                .collect()
                        })
                        .unwrap_or_default(),
                    ),
                    _ => return None,
                })
            }
            Entity::Requirement(f, r) => self.requirement_field(f, r, name),
            Entity::Service(i) => self.service_field(i, name),
            Entity::SizeContributor(i, c) => self.size_contributor_field(i, c, name),
            Entity::Healthcheck(i) => {
                let check = self.compose_service(i).and_then(|x| x.healthcheck.as_ref());
                Some(match name {
                    FieldName::Test => Value::list(
                        check
                            .and_then(|c| c.test.as_ref())
                            .map(|t| t.value.iter().map(|w| s(&w.value, w.span)).collect())
                            .unwrap_or_default(),
                    ),
                    FieldName::Disabled => opt(check.map(|c| Value::Bool(c.disable))),
                    _ => return None,
                })
            }
            Entity::Gpu(i, g) => {
                let gpu = self.compose_service(i).and_then(|x| x.gpus.get(g));
                Some(match name {
                    FieldName::Driver => opt(gpu
                        .and_then(|g| g.driver.as_ref())
                        .map(|d| s(&d.value, d.span))),
                    FieldName::Count => opt(gpu.and_then(|g| g.count.as_ref()).map(|c| {
                        let text = match c.value {
                            crate::model::compose::DeviceCount::All => "all".to_string(),
                            crate::model::compose::DeviceCount::Number(n) => n.to_string(),
                        };
                        Value::String(Cow::Owned(text), Some(c.span))
                    })),
                    FieldName::Capabilities => Value::list(
                        gpu.map(|g| g.capabilities.iter().map(|c| s(&c.value, c.span)).collect())
                            .unwrap_or_default(),
                    ),
                    _ => return None,
                })
            }
            Entity::PythonFile(p) => {
                let file = self.repository.python_files.get(p);
                Some(match name {
                    FieldName::Path => opt(file.map(|f| Value::str(&f.path, None))),
                    FieldName::Imports => {
                        let count = file.map_or(0, |f| f.imports.len());
                        entity_list((0..count).map(|i| Entity::Import(p, i)))
                    }
                    _ => return None,
                })
            }
            Entity::Import(p, i) => {
                let import = self
                    .repository
                    .python_files
                    .get(p)
                    .and_then(|f| f.imports.get(i));
                Some(match name {
                    FieldName::Module => opt(import.map(|x| s(&x.module.value, x.module.span))),
                    FieldName::FullPath => opt(import.map(|x| Value::str(&x.full_path, None))),
                    FieldName::Relative => opt(import.map(|x| Value::Bool(x.relative))),
                    FieldName::File => Value::Entity(Entity::PythonFile(p)),
                    _ => return None,
                })
            }
        }
    }

    fn dockerfile_field(&self, d: usize, name: FieldName) -> Option<Value<'m>> {
        let model = self.dockerfile(d);
        Some(match name {
            FieldName::Path => opt(model.map(|m| Value::str(&m.path, None))),
            FieldName::Stages => entity_list(self.stage_entities(d)),
            FieldName::FinalStage => opt(model
                .and_then(|m| m.final_stage)
                .map(|s| Value::Entity(Entity::Stage(d, s)))),
            FieldName::Image => opt(model
                .and_then(|m| m.final_stage)
                .and_then(|stage| self.image_index.get(&(d, stage)))
                .map(|&i| Value::Entity(Entity::Image(i)))),
            FieldName::Instructions => {
                let count = model.map_or(0, |m| m.dockerfile.instructions.len());
                entity_list((0..count).map(|i| Entity::Instruction(d, i)))
            }
            FieldName::Commands => entity_list(self.commands(d, None)),
            FieldName::Installs => entity_list(self.installs(d, None)),
            FieldName::Packages => entity_list(self.packages(d, None)),
            FieldName::Copies => entity_list(self.copies(d, None)),
            FieldName::Context => opt(model
                .and_then(|m| m.context)
                .map(|c| Value::Entity(Entity::Context(c)))),
            _ => return None,
        })
    }

    fn stage_field(&self, d: usize, index: usize, name: FieldName) -> Option<Value<'m>> {
        let model = self.dockerfile(d);
        let stage = model.and_then(|m| m.dockerfile.stages.get(index));
        let only = [index];
        Some(match name {
            FieldName::Index => Value::Integer(i64::try_from(index).unwrap_or(i64::MAX)),
            FieldName::Name => opt(stage
                .and_then(|s| s.name.as_ref())
                .map(|n| s(&n.value, n.span))),
            FieldName::Label => match stage.and_then(|s| s.name.as_ref()) {
                Some(n) => s(&n.value, n.span),
                None => Value::String(Cow::Owned(format!("#{index}")), None),
            },
            FieldName::Base => Value::Entity(Entity::ImageRef(d, index)),
            FieldName::BaseStage => opt(stage
                .and_then(|s| s.base_stage)
                .map(|b| Value::Entity(Entity::Stage(d, b)))),
            FieldName::Platform => opt(stage
                .and_then(|s| s.platform.as_ref())
                .map(|p| s(&p.value, p.span))),
            FieldName::Lineage => entity_list(
                stage
                    .map(|s| {
                        s.lineage
                            .iter()
                            .map(|&l| Entity::Stage(d, l))
                            .collect::<Vec<_>>()
                    })
                    .unwrap_or_default(),
            ),
            FieldName::IsFinal => Value::Bool(model.and_then(|m| m.final_stage) == Some(index)),
            FieldName::From => opt(stage.map(|s| Value::Entity(Entity::Instruction(d, s.from)))),
            FieldName::Instructions => entity_list(
                stage
                    .map(|s| {
                        s.instructions
                            .clone()
                            .map(|i| Entity::Instruction(d, i))
                            .collect::<Vec<_>>()
                    })
                    .unwrap_or_default(),
            ),
            FieldName::Commands => entity_list(self.commands(d, Some(&only))),
            FieldName::Installs => entity_list(self.installs(d, Some(&only))),
            FieldName::Packages => entity_list(self.packages(d, Some(&only))),
            FieldName::Copies => entity_list(self.copies(d, Some(&only))),
            FieldName::Settings => entity_list(self.settings(d, &only)),
            FieldName::Dockerfile => Value::Entity(Entity::Dockerfile(d)),
            _ => return None,
        })
    }

    fn image_ref_field(&self, d: usize, index: usize, name: FieldName) -> Option<Value<'m>> {
        let base = self
            .dockerfile(d)
            .and_then(|m| m.dockerfile.stages.get(index))
            .map(|s| &s.base);
        let span = base.map(|b| b.raw.span);
        Some(match name {
            FieldName::Text => opt(base.map(|b| s(&b.raw.value, b.raw.span))),
            FieldName::Expanded => opt(base.map(|b| Value::str(&b.expanded, span))),
            FieldName::Registry => opt(base
                .and_then(|b| b.registry.as_deref())
                .map(|r| Value::str(r, span))),
            FieldName::Repository => opt(base.map(|b| Value::str(&b.repository, span))),
            FieldName::Name => opt(base.map(|b| match &b.registry {
                Some(registry) => {
                    Value::String(Cow::Owned(format!("{registry}/{}", b.repository)), span)
                }
                None => Value::str(&b.repository, span),
            })),
            FieldName::Tag => opt(base
                .and_then(|b| b.tag.as_ref())
                .map(|t| s(&t.value, t.span))),
            FieldName::Digest => opt(base
                .and_then(|b| b.digest.as_deref())
                .map(|x| Value::str(x, span))),
            FieldName::IsScratch => opt(base.map(|b| Value::Bool(b.is_scratch))),
            FieldName::Unresolved => opt(base.map(|b| Value::Bool(b.unresolved))),
            _ => return None,
        })
    }

    fn image_field(&self, i: usize, name: FieldName) -> Option<Value<'m>> {
        let Some(image) = self.images.get(i) else {
            return Some(Value::Null);
        };
        let d = image.dockerfile;
        let stages = image.stages.as_slice();
        Some(match name {
            FieldName::Name => match image.service.and_then(|s| self.compose_service(s)) {
                Some(service) => s(&service.name.value, service.name.span),
                None => opt(self.dockerfile(d).map(|m| Value::str(&m.path, None))),
            },
            FieldName::Dockerfile => Value::Entity(Entity::Dockerfile(d)),
            FieldName::Stage => Value::Entity(Entity::Stage(d, image.stage)),
            FieldName::Stages => entity_list(stages.iter().map(|&s| Entity::Stage(d, s))),
            FieldName::Base => {
                // The root of the lineage: the stage built from an external image.
                let root = self
                    .dockerfile(d)
                    .and_then(|m| m.dockerfile.stages.get(image.stage))
                    .map(|s| s.lineage.last().copied().unwrap_or(image.stage));
                opt(root.map(|r| Value::Entity(Entity::ImageRef(d, r))))
            }
            FieldName::Instructions => entity_list(self.stage_instructions(d, stages)),
            FieldName::Commands => entity_list(self.commands(d, Some(stages))),
            FieldName::Installs => entity_list(self.installs(d, Some(stages))),
            FieldName::Packages => entity_list(self.packages(d, Some(stages))),
            FieldName::Copies => entity_list(self.copies(d, Some(stages))),
            FieldName::Settings => entity_list(self.settings(d, stages)),
            FieldName::PipRequirements => entity_list(self.pip_links(d, Some(stages))),
            FieldName::Requirements => entity_list(self.image_requirements(image)),
            FieldName::User => match self.last_instruction(d, stages, "USER") {
                Value::Entity(Entity::Instruction(d, u)) => opt(self
                    .instruction(d, u)
                    .and_then(|x| x.values.first())
                    .map(|v| s(&v.value, v.span))),
                _ => Value::Null,
            },
            FieldName::UserInstruction => self.last_instruction(d, stages, "USER"),
            FieldName::Healthcheck => self.last_instruction(d, stages, "HEALTHCHECK"),
            FieldName::Cmd => self.last_instruction(d, stages, "CMD"),
            FieldName::Entrypoint => self.last_instruction(d, stages, "ENTRYPOINT"),
            FieldName::Service => opt(image.service.map(|s| Value::Entity(Entity::Service(s)))),
            FieldName::Size | FieldName::SizeKind | FieldName::MeasuredSize => {
                // Measured for a service that builds this image (compose or not).
                let measured = (0..self.service_count())
                    .filter(|&s| self.service_image(s) == Some(i))
                    .find_map(|s| self.measured_size(s));
                let estimate = self.estimate(i);
                self.size_value(name, measured, estimate)
            }
            FieldName::EstimatedSize => opt(self.estimate(i).map(|e| Value::Size(e.total()))),
            FieldName::SizeContributors => self.contributors(i, false),
            FieldName::LargestContributors => self.contributors(i, true),
            FieldName::Context => {
                let context = match image.service {
                    Some(s) => self.repository.services.get(s).and_then(|l| l.context),
                    None => self.dockerfile(d).and_then(|m| m.context),
                };
                opt(context.map(|c| Value::Entity(Entity::Context(c))))
            }
            _ => return None,
        })
    }

    #[inline(never)]
    fn instruction_field(&self, d: usize, i: usize, name: FieldName) -> Option<Value<'m>> {
        self.instruction_field_body(d, i, name)
    }

    /// [`World::instruction_field`], inlined where the field name is a constant (compiled rules).
    #[inline(always)]
    fn instruction_field_body(&self, d: usize, i: usize, name: FieldName) -> Option<Value<'m>> {
        let instruction = self.instruction(d, i);
        Some(match name {
            FieldName::Keyword => opt(instruction.map(|x| s(&x.keyword.value, x.keyword.span))),
            FieldName::Text => {
                opt(instruction
                    .map(|x| Value::str(&x.arguments.text, Some(x.arguments.full_span()))))
            }
            FieldName::Form => opt(instruction.map(|x| {
                Value::str(
                    if x.form == Form::Exec {
                        "exec"
                    } else {
                        "shell"
                    },
                    None,
                )
            })),
            FieldName::Values => Value::list(
                instruction
                    .map(|x| x.values.iter().map(|v| s(&v.value, v.span)).collect())
                    .unwrap_or_default(),
            ),
            FieldName::Flags => {
                let count = instruction.map_or(0, |x| x.flags.len());
                entity_list((0..count).map(|f| Entity::Flag(d, i, f)))
            }
            FieldName::Line => opt(self
                .instruction_line(d, i)
                .filter(|&line| line > 0)
                .map(|line| Value::Integer(i64::from(line)))),
            FieldName::Stage => opt(self
                .dockerfile(d)
                .and_then(|m| m.dockerfile.stage_of_instruction(i))
                .map(|s| Value::Entity(Entity::Stage(d, s.index)))),
            FieldName::Dockerfile => Value::Entity(Entity::Dockerfile(d)),
            _ => return None,
        })
    }

    /// The 1-based line of instruction `i` of Dockerfile `d` (0 when its source is missing).
    fn instruction_line(&self, d: usize, i: usize) -> Option<u32> {
        let lines = self.instruction_lines.get(d)?.get_or_init(|| {
            self.dockerfile(d).map_or_else(Vec::new, |m| {
                m.dockerfile
                    .instructions
                    .iter()
                    .map(|x| {
                        self.sources.get(x.span.file).map_or(0, |file| {
                            let line = file.line_index(x.span.start as usize) + 1;
                            u32::try_from(line).unwrap_or(u32::MAX)
                        })
                    })
                    .collect()
            })
        });
        lines.get(i).copied()
    }

    fn run_stage(&self, d: usize, r: usize) -> Value<'m> {
        opt(self
            .dockerfile(d)
            .and_then(|m| m.runs.get(r))
            .and_then(|run| run.stage)
            .map(|s| Value::Entity(Entity::Stage(d, s))))
    }

    fn run_instruction(&self, d: usize, r: usize) -> Value<'m> {
        opt(self
            .dockerfile(d)
            .and_then(|m| m.runs.get(r))
            .map(|run| Value::Entity(Entity::Instruction(d, run.instruction))))
    }

    #[inline(never)]
    fn command_field(&self, d: usize, r: usize, c: usize, name: FieldName) -> Option<Value<'m>> {
        self.command_field_body(d, r, c, name)
    }

    /// [`World::command_field`], inlined where the field name is a constant (compiled rules).
    #[inline(always)]
    fn command_field_body(
        &self,
        d: usize,
        r: usize,
        c: usize,
        name: FieldName,
    ) -> Option<Value<'m>> {
        let command = self
            .dockerfile(d)
            .and_then(|m| m.runs.get(r))
            .and_then(|run| run.commands.get(c));
        Some(match name {
            FieldName::Program => opt(command
                .and_then(|x| x.program())
                .map(|w| s(&w.text, w.span))),
            FieldName::Arguments => Value::list(
                command
                    .map(|x| x.arguments().iter().map(|w| s(&w.text, w.span)).collect())
                    .unwrap_or_default(),
            ),
            FieldName::Words => Value::list(
                command
                    .map(|x| x.words.iter().map(|w| s(&w.text, w.span)).collect())
                    .unwrap_or_default(),
            ),
            FieldName::Text => {
                opt(command.map(|x| Value::str(self.sources.slice(x.span), Some(x.span))))
            }
            FieldName::Instruction => self.run_instruction(d, r),
            FieldName::Stage => self.run_stage(d, r),
            _ => return None,
        })
    }

    #[inline(never)]
    fn install_field(&self, d: usize, r: usize, i: usize, name: FieldName) -> Option<Value<'m>> {
        self.install_field_body(d, r, i, name)
    }

    /// [`World::install_field`], inlined where the field name is a constant (compiled rules).
    #[inline(always)]
    fn install_field_body(
        &self,
        d: usize,
        r: usize,
        i: usize,
        name: FieldName,
    ) -> Option<Value<'m>> {
        let run = self.dockerfile(d).and_then(|m| m.runs.get(r));
        let install = run.and_then(|run| run.installs.get(i));
        Some(match name {
            FieldName::Manager => opt(install.map(|x| Value::str(x.manager.as_str(), None))),
            FieldName::Program => opt(install.map(|x| s(&x.program.value, x.program.span))),
            FieldName::Subcommand => opt(install
                .and_then(|x| x.subcommand.as_ref())
                .map(|c| s(&c.value, c.span))),
            FieldName::Flags => Value::list(
                install
                    .map(|x| {
                        x.flags
                            .iter()
                            .map(|f| Value::str(&f.name, Some(f.span)))
                            .collect()
                    })
                    .unwrap_or_default(),
            ),
            FieldName::Packages => {
                let count = install.map_or(0, |x| x.packages.len());
                entity_list((0..count).map(|p| Entity::Package(d, r, i, p)))
            }
            FieldName::RequirementFiles => {
                // The pip links of this RUN whose path is one of this command's files.
                let links = self.dockerfile(d).map(|m| {
                    m.pip_requirements
                        .iter()
                        .enumerate()
                        .filter(|(_, link)| {
                            run.is_some_and(|run| run.instruction == link.instruction)
                                && install.is_some_and(|x| {
                                    x.requirement_files
                                        .iter()
                                        .any(|f| f.path.span == link.path.span)
                                })
                        })
                        .map(|(l, _)| Entity::PipRequirements(d, l))
                        .collect::<Vec<_>>()
                });
                entity_list(links.unwrap_or_default())
            }
            FieldName::Command => {
                opt(install.map(|x| Value::Entity(Entity::Command(d, r, x.command_index))))
            }
            FieldName::Sources => Value::list(
                install
                    .map(|x| {
                        x.sources
                            .iter()
                            .map(|source| s(&source.target.value, source.target.span))
                            .collect()
                    })
                    .unwrap_or_default(),
            ),
            FieldName::Settings => {
                let count = install.map_or(0, |x| x.environment.len());
                entity_list((0..count).map(|e| Entity::from(SettingAt::Command(d, r, i, e))))
            }
            FieldName::CacheMounts => Value::list(
                run.map(|run| {
                    run.cache_mounts
                        .iter()
                        .map(|m| s(&m.value, m.span))
                        .collect()
                })
                .unwrap_or_default(),
            ),
            FieldName::Instruction => self.run_instruction(d, r),
            FieldName::Stage => self.run_stage(d, r),
            _ => return None,
        })
    }

    #[inline(never)]
    fn package_field(
        &self,
        d: usize,
        r: usize,
        i: usize,
        p: usize,
        name: FieldName,
    ) -> Option<Value<'m>> {
        self.package_field_body(d, r, i, p, name)
    }

    /// [`World::package_field`], inlined where the field name is a constant (compiled rules).
    #[inline(always)]
    fn package_field_body(
        &self,
        d: usize,
        r: usize,
        i: usize,
        p: usize,
        name: FieldName,
    ) -> Option<Value<'m>> {
        let package = self
            .dockerfile(d)
            .and_then(|m| m.runs.get(r))
            .and_then(|run| run.installs.get(i))
            .and_then(|x| x.packages.get(p));
        Some(match name {
            FieldName::Manager => opt(package.map(|x| Value::str(x.manager.as_str(), None))),
            FieldName::Name => opt(package.map(|x| s(&x.name.value, x.name.span))),
            FieldName::NormalizedName => {
                opt(package.map(|x| Value::str(&x.normalized_name, Some(x.name.span))))
            }
            FieldName::Version => opt(package
                .and_then(|x| x.version.as_ref())
                .map(|v| s(&v.value, v.span))),
            FieldName::Pinned => opt(package.map(|x| Value::Bool(x.pinned))),
            FieldName::Extras => Value::list(
                package
                    .map(|x| x.extras.iter().map(|e| Value::str(e, None)).collect())
                    .unwrap_or_default(),
            ),
            FieldName::Install => Value::Entity(Entity::Install(d, r, i)),
            FieldName::Instruction => self.run_instruction(d, r),
            FieldName::Stage => self.run_stage(d, r),
            _ => return None,
        })
    }

    fn pip_field(&self, d: usize, l: usize, name: FieldName) -> Option<Value<'m>> {
        let link = self.dockerfile(d).and_then(|m| m.pip_requirements.get(l));
        Some(match name {
            FieldName::Path => opt(link.map(|x| s(&x.path.value, x.path.span))),
            FieldName::Constraint => opt(link.map(|x| Value::Bool(x.constraint))),
            FieldName::ImagePath => opt(link.map(|x| Value::str(&x.image_path, Some(x.path.span)))),
            FieldName::Copied => opt(link.map(|x| Value::Bool(x.copied_by.is_some()))),
            FieldName::ContextPath => opt(link
                .and_then(|x| x.context_path.as_deref())
                .map(|p| Value::str(p, None))),
            FieldName::Copy => opt(link.and_then(|x| x.copied_by).and_then(|instruction| {
                let c = self
                    .dockerfile(d)?
                    .copies
                    .iter()
                    .position(|c| c.instruction == instruction)?;
                Some(Value::Entity(Entity::Copy(d, c)))
            })),
            FieldName::File => opt(link
                .and_then(|x| x.requirements_file)
                .map(|f| Value::Entity(Entity::RequirementsFile(f)))),
            FieldName::Requirements => match link.and_then(|x| x.requirements_file) {
                Some(f) => self.cached(Entity::RequirementsFile(f), FieldName::AllRequirements),
                None => Value::list(Vec::new()),
            },
            FieldName::Instruction => {
                opt(link.map(|x| Value::Entity(Entity::Instruction(d, x.instruction))))
            }
            FieldName::Stage => opt(link
                .and_then(|x| x.stage)
                .map(|s| Value::Entity(Entity::Stage(d, s)))),
            _ => return None,
        })
    }

    fn copy_field(&self, d: usize, c: usize, name: FieldName) -> Option<Value<'m>> {
        let copy = self.dockerfile(d).and_then(|m| m.copies.get(c));
        Some(match name {
            FieldName::Keyword => opt(copy
                .and_then(|x| self.instruction(d, x.instruction))
                .map(|x| s(&x.keyword.value, x.keyword.span))),
            FieldName::From => opt(copy
                .and_then(|x| x.from.as_ref())
                .map(|f| s(&f.value, f.span))),
            FieldName::FromStage => opt(copy
                .and_then(|x| x.from_stage)
                .map(|s| Value::Entity(Entity::Stage(d, s)))),
            FieldName::Sources => {
                let count = copy.map_or(0, |x| x.sources.len());
                entity_list((0..count).map(|i| Entity::CopySource(d, c, i)))
            }
            FieldName::Destination => opt(copy
                .and_then(|x| x.destination.as_ref())
                .map(|x| s(&x.value, x.span))),
            FieldName::DestinationPath => opt(copy.and_then(|x| {
                Some(Value::str(
                    x.destination_path.as_deref()?,
                    x.destination.as_ref().map(|d| d.span),
                ))
            })),
            FieldName::Instruction => {
                opt(copy.map(|x| Value::Entity(Entity::Instruction(d, x.instruction))))
            }
            FieldName::Stage => opt(copy
                .and_then(|x| x.stage)
                .map(|s| Value::Entity(Entity::Stage(d, s)))),
            _ => return None,
        })
    }

    fn copy_source_field(
        &self,
        d: usize,
        c: usize,
        i: usize,
        name: FieldName,
    ) -> Option<Value<'m>> {
        let model = self.dockerfile(d);
        let source = model
            .and_then(|m| m.copies.get(c))
            .and_then(|x| x.sources.get(i));
        let resolved = source.and_then(|x| x.resolved.as_ref());
        let context = model.and_then(|m| m.context);
        Some(match name {
            FieldName::Text => opt(source.map(|x| s(&x.source.value, x.source.span))),
            FieldName::Outcome => Value::str(
                match resolved.map(|r| r.outcome) {
                    Some(CopyOutcome::Found) => "found",
                    Some(CopyOutcome::NoMatch) => "no_match",
                    Some(CopyOutcome::NotFound) => "not_found",
                    None => "unresolved",
                },
                None,
            ),
            FieldName::Wildcard => opt(resolved.map(|r| Value::Bool(r.wildcard))),
            FieldName::Size => Value::Size(resolved.map_or(0, |r| r.size)),
            FieldName::Files => entity_list(match (resolved, context) {
                (Some(r), Some(context)) => r
                    .files
                    .iter()
                    .map(|&f| Entity::ContextFile(context, f))
                    .collect(),
                _ => Vec::new(),
            }),
            FieldName::Excluded => entity_list(match (resolved, context) {
                (Some(r), Some(context)) => r
                    .excluded
                    .iter()
                    .map(|e| Entity::ContextFile(context, e.file))
                    .collect(),
                _ => Vec::new(),
            }),
            FieldName::Copy => Value::Entity(Entity::Copy(d, c)),
            _ => return None,
        })
    }

    fn context_field(&self, c: usize, name: FieldName) -> Option<Value<'m>> {
        let context = self.repository.contexts.get(c);
        Some(match name {
            FieldName::Path => opt(context.map(|x| Value::str(&x.path, None))),
            FieldName::Dockerignore => opt(context
                .and_then(|x| x.dockerignore.as_ref())
                .map(|_| Value::Entity(Entity::Dockerignore(c)))),
            FieldName::TotalSize => opt(context.map(|x| Value::Size(x.context.total_size))),
            FieldName::SentSize => opt(context.map(|x| Value::Size(x.context.sent_size))),
            FieldName::Files => {
                let count = context.map_or(0, |x| x.context.files.len());
                entity_list((0..count).map(|f| Entity::ContextFile(c, f)))
            }
            FieldName::PythonFiles => entity_list(
                context
                    .map(|x| {
                        x.python_files
                            .iter()
                            .map(|&p| Entity::PythonFile(p))
                            .collect::<Vec<_>>()
                    })
                    .unwrap_or_default(),
            ),
            FieldName::Imports => entity_list(self.context_imports(c)),
            FieldName::ImportedModules => Value::list(self.imported_modules(c)),
            _ => return None,
        })
    }

    /// The top-level modules of the context's imports that are not relative, each once, in
    /// import order, located at the first import of each.
    fn imported_modules(&self, context: usize) -> Vec<Value<'m>> {
        let python_files = &self.repository.python_files;
        let imports = self
            .repository
            .contexts
            .get(context)
            .map_or(&[][..], |x| x.python_files.as_slice())
            .iter()
            .filter_map(|&p| python_files.get(p))
            .flat_map(|file| &file.imports)
            .filter(|import| !import.relative);
        let mut seen = std::collections::HashSet::new();
        imports
            .filter(|import| seen.insert(import.module.value.as_str()))
            .map(|import| s(&import.module.value, import.module.span))
            .collect()
    }

    #[inline(never)]
    fn requirement_field(&self, f: usize, r: usize, name: FieldName) -> Option<Value<'m>> {
        self.requirement_field_body(f, r, name)
    }

    /// [`World::requirement_field`], inlined where the field name is a constant (compiled rules).
    #[inline(always)]
    fn requirement_field_body(&self, f: usize, r: usize, name: FieldName) -> Option<Value<'m>> {
        let requirement = self
            .repository
            .requirements_files
            .get(f)
            .and_then(|x| x.requirements.requirements.get(r));
        Some(match name {
            FieldName::Name => opt(requirement
                .and_then(|x| x.name.as_ref())
                .map(|n| s(&n.value, n.span))),
            FieldName::NormalizedName => opt(requirement.and_then(|x| {
                Some(Value::str(
                    x.normalized_name.as_deref()?,
                    x.name.as_ref().map(|n| n.span),
                ))
            })),
            FieldName::Extras => Value::list(
                requirement
                    .map(|x| x.extras.iter().map(|e| s(&e.value, e.span)).collect())
                    .unwrap_or_default(),
            ),
            FieldName::Specifier => opt(requirement
                .and_then(|x| x.specifier.as_ref())
                .map(|v| s(&v.value, v.span))),
            FieldName::Marker => opt(requirement
                .and_then(|x| x.marker.as_ref())
                .map(|v| s(&v.value, v.span))),
            FieldName::Url => opt(requirement
                .and_then(|x| x.url.as_ref())
                .map(|v| s(&v.value, v.span))),
            FieldName::Editable => opt(requirement.map(|x| Value::Bool(x.editable))),
            FieldName::Text => opt(requirement.map(|x| Value::str(&x.text, Some(x.span)))),
            FieldName::Line => opt(requirement.map(|x| Value::Integer(i64::from(x.line)))),
            FieldName::Constraint => opt(requirement.map(|x| Value::Bool(x.constraint))),
            FieldName::File => Value::Entity(Entity::RequirementsFile(f)),
            _ => return None,
        })
    }

    fn service_field(&self, i: usize, name: FieldName) -> Option<Value<'m>> {
        let link = self.repository.services.get(i);
        let service = self.compose_service(i);
        let build = service.and_then(|x| x.build.as_ref());
        let implicit = self.implicit_image(i);
        Some(match name {
            FieldName::Name => match service {
                Some(x) => s(&x.name.value, x.name.span),
                None => opt(self
                    .service_name(i)
                    .map(|n| Value::String(Cow::Owned(n.to_string()), None))),
            },
            FieldName::Implicit => Value::Bool(service.is_none() && implicit.is_some()),
            FieldName::Size | FieldName::SizeKind | FieldName::MeasuredSize => {
                let estimate = self.service_image(i).and_then(|m| self.estimate(m));
                self.size_value(name, self.measured_size(i), estimate)
            }
            FieldName::EstimatedSize => opt(self
                .service_image(i)
                .and_then(|m| self.estimate(m))
                .map(|e| Value::Size(e.total()))),
            FieldName::SizeContributors | FieldName::LargestContributors => {
                match self.service_image(i) {
                    Some(image) => self.contributors(image, name == FieldName::LargestContributors),
                    None => Value::list(Vec::new()),
                }
            }
            FieldName::ImageName => opt(service
                .and_then(|x| x.image.as_ref())
                .map(|v| s(&v.value, v.span))),
            FieldName::Image => opt(self
                .service_images
                .get(i)
                .copied()
                .flatten()
                .map(|image| Value::Entity(Entity::Image(image)))),
            FieldName::BuildContext => opt(build.map(|b| s(&b.context.value, b.context.span))),
            FieldName::BuildDockerfile => opt(build
                .and_then(|b| b.dockerfile.as_ref())
                .map(|v| s(&v.value, v.span))),
            // An implicit service is made from a Dockerfile that exists, in its own folder.
            FieldName::ContextExists => opt(link
                .map(|l| l.context_exists)
                .or(implicit.map(|_| true))
                .map(Value::Bool)),
            FieldName::DockerfileExists => opt(link
                .map(|l| l.dockerfile_exists)
                .or(implicit.map(|_| true))
                .map(Value::Bool)),
            FieldName::DockerfileInline => {
                opt(build.map(|b| Value::Bool(b.dockerfile_inline.is_some())))
            }
            FieldName::Context => opt(link
                .and_then(|l| l.context)
                .or_else(|| self.dockerfile(implicit?.dockerfile)?.context)
                .map(|c| Value::Entity(Entity::Context(c)))),
            FieldName::Dockerfile => opt(link
                .and_then(|l| l.dockerfile)
                .or(implicit.map(|m| m.dockerfile))
                .map(|d| Value::Entity(Entity::Dockerfile(d)))),
            FieldName::Healthcheck => opt(service
                .and_then(|x| x.healthcheck.as_ref())
                .map(|_| Value::Entity(Entity::Healthcheck(i)))),
            FieldName::Gpus => {
                let count = service.map_or(0, |x| x.gpus.len());
                entity_list((0..count).map(|g| Entity::Gpu(i, g)))
            }
            FieldName::Requirements => match self.service_images.get(i).copied().flatten() {
                Some(image) => self.cached(Entity::Image(image), FieldName::Requirements),
                None => Value::list(Vec::new()),
            },
            FieldName::Imports => match link
                .and_then(|l| l.context)
                .or_else(|| self.dockerfile(implicit?.dockerfile)?.context)
            {
                Some(c) => self.cached(Entity::Context(c), FieldName::Imports),
                None => Value::list(Vec::new()),
            },
            _ => return None,
        })
    }

    /// `size`, `size_kind` or `measured_size` of an image or service.
    fn size_value(
        &self,
        name: FieldName,
        measured: Option<u64>,
        estimate: Option<&Estimate>,
    ) -> Value<'m> {
        match name {
            FieldName::MeasuredSize => opt(measured.map(Value::Size)),
            FieldName::Size => opt(measured
                .or_else(|| estimate.map(Estimate::total))
                .map(Value::Size)),
            _ => {
                let kind = match (measured, estimate) {
                    (Some(_), _) => Some(SizeKind::Measured),
                    (None, Some(estimate)) => Some(SizeKind::of(estimate)),
                    (None, None) => None,
                };
                opt(kind.map(|k| Value::str(k.as_str(), None)))
            }
        }
    }

    /// The contributors of image `image`'s estimate: all in image order, or the three
    /// largest known ones, largest first.
    fn contributors(&self, image: usize, largest: bool) -> Value<'m> {
        let Some(estimate) = self.estimate(image) else {
            return Value::list(Vec::new());
        };
        if largest {
            entity_list(
                estimate
                    .largest()
                    .into_iter()
                    .take(LARGEST_CONTRIBUTORS)
                    .map(|c| Entity::SizeContributor(image, c)),
            )
        } else {
            entity_list((0..estimate.contributors.len()).map(|c| Entity::SizeContributor(image, c)))
        }
    }

    fn size_contributor_field(&self, i: usize, c: usize, name: FieldName) -> Option<Value<'m>> {
        let contributor = self.estimate(i).and_then(|e| e.contributors.get(c));
        let row = contributor.and_then(|x| x.row.as_ref());
        Some(match name {
            FieldName::Name => {
                opt(contributor.map(|x| Value::String(Cow::Owned(x.name.clone()), x.span)))
            }
            FieldName::Kind => opt(contributor.map(|x| Value::str(x.kind.as_str(), None))),
            FieldName::Size => opt(contributor.and_then(|x| x.bytes).map(Value::Size)),
            FieldName::Unknown => opt(contributor.map(|x| Value::Bool(x.bytes.is_none()))),
            FieldName::Detail => {
                opt(contributor.map(|x| Value::String(Cow::Owned(x.detail.to_string()), None)))
            }
            FieldName::Table => opt(row.map(|r| Value::str(r.table, None))),
            FieldName::Row => opt(row.map(|r| Value::String(Cow::Owned(r.key.to_string()), None))),
            FieldName::Source => opt(row.map(|r| Value::String(Cow::Borrowed(r.source), None))),
            FieldName::Image => Value::Entity(Entity::Image(i)),
            _ => return None,
        })
    }

    /// Renders a value for a message template.
    pub fn display(&self, value: &Value<'_>) -> String {
        let mut out = String::new();
        self.write_display(value, &mut out);
        out
    }

    /// Appends [`World::display`] of `value` to `out`.
    pub fn write_display(&self, value: &Value<'_>, out: &mut String) {
        match value {
            Value::Null => out.push_str("none"),
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Integer(i) => out.push_str(itoa::Buffer::new().format(*i)),
            Value::Size(bytes) => write_human_size(*bytes, out),
            Value::String(text, _) => out.push_str(text),
            Value::List(items) => {
                for (index, item) in items.iter().enumerate() {
                    if index > 0 {
                        out.push_str(", ");
                    }
                    self.write_display(item, out);
                }
            }
            Value::Entity(entity) => self.write_label(*entity, out),
        }
    }
}

/// Where a `.dockerignore` is located: its first pattern (comments and blank lines above it
/// are not the file's point), or its start when it has none.
fn dockerignore_location(ignore: &DockerIgnore) -> Span {
    ignore
        .patterns
        .first()
        .map_or(Span::point(ignore.file, 0), |p| p.span)
}

/// Where each context is located: its `.dockerignore` (the first pattern), else the compose
/// `build.context` of the first service that names it, else the first instruction of the
/// first Dockerfile built with it (`docker build .` beside it). One pass over the services
/// and the Dockerfiles, not one per context.
fn context_locations(repo: &Repository) -> Vec<Option<Span>> {
    let mut named_by_service: Vec<Option<Span>> = vec![None; repo.contexts.len()];
    for link in &repo.services {
        let Some(slot) = link.context.and_then(|c| named_by_service.get_mut(c)) else {
            continue;
        };
        if slot.is_none() {
            *slot = repo
                .compose_projects
                .get(link.project)
                .and_then(|project| project.services.get(link.service))
                .and_then(|service| Some(service.build.as_ref()?.context.span));
        }
    }
    let mut built_by_dockerfile: Vec<Option<Span>> = vec![None; repo.contexts.len()];
    for dockerfile in &repo.dockerfiles {
        let Some(slot) = dockerfile
            .context
            .and_then(|c| built_by_dockerfile.get_mut(c))
        else {
            continue;
        };
        slot.get_or_insert_with(|| {
            dockerfile
                .dockerfile
                .instructions
                .first()
                .map_or(Span::point(dockerfile.dockerfile.file, 0), |i| i.span)
        });
    }
    repo.contexts
        .iter()
        .zip(named_by_service)
        .zip(built_by_dockerfile)
        .map(|((context, by_service), by_dockerfile)| {
            context
                .dockerignore
                .as_ref()
                .map(dockerignore_location)
                .or(by_service)
                .or(by_dockerfile)
        })
        .collect()
}

/// A service that is not a compose service.
#[derive(Clone, Debug)]
struct ExtraService {
    /// Index into the world's images.
    image: usize,
    /// The name the configuration gives it; `None` for an implicit service.
    name: Option<String>,
}

/// How many contributors `largest_contributors` lists.
const LARGEST_CONTRIBUTORS: usize = 3;

/// How an image's size is known.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SizeKind {
    /// Read from `--image-sizes`.
    Measured,
    /// The static estimate, every part known.
    Estimated,
    /// The static estimate with a part unknown: the image is at least this large.
    LowerBound,
}

impl SizeKind {
    pub fn of(estimate: &Estimate) -> SizeKind {
        if estimate.is_lower_bound() {
            SizeKind::LowerBound
        } else {
            SizeKind::Estimated
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SizeKind::Measured => "measured",
            SizeKind::Estimated => "estimated",
            SizeKind::LowerBound => "lower bound",
        }
    }
}

/// An image reference with `:latest` added when it has no tag (a `:` after the last `/`).
fn with_tag(reference: &str) -> String {
    let last = reference.rsplit('/').next().unwrap_or(reference);
    if last.contains(':') || reference.contains('@') {
        reference.to_string()
    } else {
        format!("{reference}:latest")
    }
}

fn s<'m>(text: &'m str, span: Span) -> Value<'m> {
    Value::str(text, Some(span))
}

fn opt(value: Option<Value<'_>>) -> Value<'_> {
    value.unwrap_or(Value::Null)
}

fn entity_list<'m>(entities: impl IntoIterator<Item = Entity>) -> Value<'m> {
    Value::list(entities.into_iter().map(Value::Entity).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lang::schema::{fields, Type, COLLECTIONS};
    use crate::parse::repository::{load, LoadOptions, Loaded};
    use std::collections::HashMap;
    use std::path::Path;

    fn has_type(value: &Value<'_>, ty: &Type) -> bool {
        match (value, ty) {
            (Value::Null, _) | (_, Type::Unknown) => true,
            (Value::Bool(_), Type::Bool)
            | (Value::Integer(_), Type::Integer)
            | (Value::String(..), Type::String)
            | (Value::Size(_), Type::Size) => true,
            (Value::List(items), Type::List(element)) => {
                items.iter().all(|item| has_type(item, element))
            }
            (Value::Entity(entity), Type::Entity(kind)) => World::kind(*entity) == *kind,
            _ => false,
        }
    }

    /// `Instruction.line`, read from the per-Dockerfile table, is the line of the
    /// instruction's start in its source.
    #[test]
    fn instruction_lines_are_the_lines_of_their_starts() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/quickstart");
        let loaded = load(&root, &LoadOptions::default());
        let world = World::new(&loaded.repository, &loaded.sources);
        let mut checked = 0;
        for (d, model) in loaded.repository.dockerfiles.iter().enumerate() {
            for (i, x) in model.dockerfile.instructions.iter().enumerate() {
                let file = loaded.sources.get(x.span.file).unwrap();
                let expected = file.line_index(x.span.start as usize) + 1;
                let Some(Value::Integer(line)) =
                    world.field(Entity::Instruction(d, i), FieldName::Line)
                else {
                    panic!("instruction {d}/{i} has no line");
                };
                assert_eq!(line, i64::try_from(expected).unwrap());
                checked += 1;
            }
            let past = model.dockerfile.instructions.len();
            assert!(matches!(
                world.field(Entity::Instruction(d, past), FieldName::Line),
                Some(Value::Null)
            ));
        }
        assert!(checked > 1);
    }

    /// Every field the schema declares is implemented, for every kind of entity, with a
    /// value of the declared type; fields it does not declare are not.
    #[test]
    fn the_world_implements_the_schema() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/quickstart");
        let loaded = load(&root, &LoadOptions::default());
        let world = World::new(&loaded.repository, &loaded.sources);
        let mut pending: Vec<Entity> = Vec::new();
        for (name, kind, _) in COLLECTIONS {
            let entities = world.collection(name).unwrap();
            assert!(entities.iter().all(|e| World::kind(*e) == *kind), "{name}");
            pending.extend(entities);
        }
        let mut seen: HashMap<EntityKind, usize> = HashMap::new();
        let mut visited = std::collections::HashSet::new();
        while let Some(entity) = pending.pop() {
            if !visited.insert(entity) || visited.len() > 20_000 {
                continue;
            }
            let kind = World::kind(entity);
            *seen.entry(kind).or_default() += 1;
            let declared = fields(kind);
            for &name in FieldName::ALL {
                // The kinds `World::field` dispatches itself agree with the general path.
                if !matches!(
                    kind,
                    EntityKind::Image
                        | EntityKind::Stage
                        | EntityKind::Dockerfile
                        | EntityKind::Context
                        | EntityKind::RequirementsFile
                ) {
                    assert_eq!(
                        format!("{:?}", world.field(entity, name)),
                        format!("{:?}", world.compute_field(entity, name)),
                        "{}.{}",
                        kind.name(),
                        name.name()
                    );
                }
                if !declared.iter().any(|f| f.id == name) {
                    assert!(
                        world.field(entity, name).is_none(),
                        "{}.{} is not in the schema",
                        kind.name(),
                        name.name()
                    );
                }
            }
            for field in declared {
                // Without the cache, which gives a cached field that is not implemented null.
                let implemented = world.compute_field(entity, field.id).is_some();
                assert!(
                    implemented,
                    "{}.{} is not implemented",
                    kind.name(),
                    field.name()
                );
                let value = world
                    .field(entity, field.id)
                    .unwrap_or_else(|| panic!("{}.{} has no value", kind.name(), field.name()));
                assert!(
                    has_type(&value, &field.ty),
                    "{}.{} is {value:?}, not a {}",
                    kind.name(),
                    field.name(),
                    field.ty
                );
                match value {
                    Value::Entity(e) => pending.push(e),
                    Value::List(items) => pending.extend(items.iter().filter_map(|v| match v {
                        Value::Entity(e) => Some(*e),
                        _ => None,
                    })),
                    _ => {}
                }
            }
            // Every entity can be reported somewhere and named in a message.
            if !matches!(entity, Entity::ContextFile(..)) {
                assert!(world.span(entity).is_some(), "{entity:?} has no location");
            }
            world.label(entity);
        }
        for kind in EntityKind::ALL {
            assert!(
                seen.contains_key(kind),
                "the example has no `{}`",
                kind.name()
            );
        }
    }

    /// A repository of `files` (path, text) written to a temporary folder, and loaded; the
    /// folder lives as long as the first value.
    fn load_files(files: &[(&str, &str)]) -> (tempfile::TempDir, Loaded) {
        let dir = tempfile::tempdir().unwrap();
        for (path, text) in files {
            let path = dir.path().join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        let loaded = load(dir.path(), &LoadOptions::default());
        (dir, loaded)
    }

    #[test]
    fn imported_modules_are_the_absolute_imports_of_a_context_once_each() {
        let (_dir, loaded) = load_files(&[
            ("Dockerfile", "FROM python:3.12-slim\nCOPY . .\n"),
            (
                "a.py",
                "import requests\nfrom . import local\nimport numpy.linalg\nimport requests\n",
            ),
            ("b.py", "from yaml import safe_load\nimport numpy\n"),
        ]);
        let world = World::new(&loaded.repository, &loaded.sources);
        let Some(Value::List(modules)) =
            world.field(Entity::Context(0), FieldName::ImportedModules)
        else {
            panic!()
        };
        let located: Vec<(String, &str, &str)> = modules
            .iter()
            .map(|module| {
                let Value::String(text, Some(span)) = module else {
                    panic!("{module:?}")
                };
                let file = loaded.sources.get(span.file).unwrap().rel_path.as_str();
                (text.to_string(), file, loaded.sources.slice(*span))
            })
            .collect();
        assert_eq!(
            located,
            [
                ("requests".to_string(), "a.py", "requests"),
                ("numpy".to_string(), "a.py", "numpy"),
                ("yaml".to_string(), "b.py", "yaml"),
            ]
        );
    }

    #[test]
    fn references_without_a_tag_are_latest() {
        assert_eq!(with_tag("acme/api"), "acme/api:latest");
        assert_eq!(with_tag("localhost:5000/api"), "localhost:5000/api:latest");
        assert_eq!(with_tag("acme/api:2"), "acme/api:2");
    }

    #[test]
    fn images_are_final_stages_and_service_targets() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/quickstart");
        let loaded = load(&root, &LoadOptions::default());
        let world = World::new(&loaded.repository, &loaded.sources);
        assert_eq!(world.images.len(), 2);
        let api = &world.images[0];
        assert_eq!(api.service, Some(0));
        // runtime is built FROM builder, which is built FROM base.
        assert_eq!(api.stages, [0, 1, 2]);
        let packages = world.image_field(0, FieldName::Packages).unwrap();
        let Value::List(packages) = packages else {
            panic!()
        };
        let names: Vec<String> = packages.iter().map(|p| world.display(p)).collect();
        assert!(names.contains(&"gcc".to_string()), "{names:?}");
        let base = world.image_field(0, FieldName::Base).unwrap();
        assert_eq!(world.display(&base), "python:${PYTHON_VERSION}-slim");
    }

    #[test]
    fn each_way_services_build_a_dockerfile_is_a_model_of_its_own() {
        let compose = "services:
  first:
    build: {context: ./app, args: {CUDA: devel, PIP_NO_CACHE_DIR: '1'}}
  plain:
    build: ./app
  again:
    build: {context: ./app, args: [CUDA=devel, PIP_NO_CACHE_DIR=1]}
  ignored:
    build: {context: ./app, args: {UNDECLARED: x, CUDA: runtime, FROM_ENV: null}}
  elsewhere:
    build: {context: ./other, dockerfile: ../app/Dockerfile}
";
        let dockerfile = "ARG CUDA=runtime\nFROM nvidia/cuda:12.3.1-${CUDA}\nARG CUDA\n\
                          ARG PIP_NO_CACHE_DIR=0\nWORKDIR /srv/${CUDA}\n\
                          COPY requirements.txt .\nRUN pip install -r requirements.txt\n";
        let (_dir, loaded) = load_files(&[
            ("compose.yaml", compose),
            ("app/Dockerfile", dockerfile),
            ("app/requirements.txt", "flask\n"),
            ("other/requirements.txt", "flask\n"),
        ]);
        assert!(loaded.diagnostics.is_empty(), "{:?}", loaded.diagnostics);
        let repository = &loaded.repository;
        let built: Vec<Option<usize>> = repository.services.iter().map(|s| s.dockerfile).collect();
        // `first` takes the file's model; `again` builds it the same way, `ignored` as
        // `plain` does (its arguments change nothing), `elsewhere` with another context.
        assert_eq!(built, [Some(0), Some(1), Some(0), Some(1), Some(2)]);
        let variants: Vec<Option<usize>> = repository
            .dockerfiles
            .iter()
            .map(|d| d.variant_of)
            .collect();
        assert_eq!(variants, [None, Some(0), Some(0)]);
        let args: Vec<(&str, &str)> = repository.dockerfiles[0]
            .build_args
            .iter()
            .map(|(name, value)| {
                let span = value.span.unwrap();
                (name.as_str(), &loaded.sources.text(span.file)[span.range()])
            })
            .collect();
        assert_eq!(args, [("CUDA", "devel"), ("PIP_NO_CACHE_DIR", "'1'")]);

        let world = World::new(repository, &loaded.sources);
        // One image per way: no image of the file's final stage beside them, no implicit
        // service.
        assert_eq!(world.images.len(), 3);
        assert_eq!(world.service_count(), 5);
        let base_of = |service: usize| {
            let image = world.service_image(service).unwrap();
            let base = world.image_field(image, FieldName::Base).unwrap();
            let Value::Entity(base) = base else { panic!() };
            world.display(&world.field(base, FieldName::Expanded).unwrap())
        };
        let bases: Vec<String> = (0..5).map(base_of).collect();
        assert_eq!(
            bases,
            [
                "nvidia/cuda:12.3.1-devel",
                "nvidia/cuda:12.3.1-runtime",
                "nvidia/cuda:12.3.1-devel",
                "nvidia/cuda:12.3.1-runtime",
                "nvidia/cuda:12.3.1-runtime",
            ]
        );
        // The stage's bare `ARG CUDA` and `WORKDIR` take the argument too.
        let image_paths: Vec<&str> = repository
            .dockerfiles
            .iter()
            .map(|d| d.pip_requirements[0].image_path.as_str())
            .collect();
        assert_eq!(
            image_paths,
            [
                "/srv/devel/requirements.txt",
                "/srv/runtime/requirements.txt",
                "/srv/runtime/requirements.txt"
            ]
        );
        // Each way reads the requirements of its own context.
        let installed: Vec<&str> = repository
            .dockerfiles
            .iter()
            .filter_map(|d| d.pip_requirements[0].requirements_file)
            .map(|file| repository.requirements_files[file].path.as_str())
            .collect();
        assert_eq!(
            installed,
            [
                "app/requirements.txt",
                "app/requirements.txt",
                "other/requirements.txt"
            ]
        );
        // The `ARG`'s value is the argument, underlined where the service gives it.
        let Value::List(settings) = world.image_field(0, FieldName::Settings).unwrap() else {
            panic!()
        };
        let values: Vec<(String, String)> = settings
            .iter()
            .map(|setting| {
                let Value::Entity(setting) = setting else {
                    panic!()
                };
                let name = world.field(*setting, FieldName::Name).unwrap();
                let Some(Value::String(value, Some(span))) =
                    world.field(*setting, FieldName::Value)
                else {
                    panic!()
                };
                let file = loaded.sources.text(span.file);
                (
                    world.display(&name),
                    format!("{value} at `{}`", &file[span.range()]),
                )
            })
            .collect();
        assert_eq!(
            values,
            [
                ("CUDA".into(), "devel at `devel`".into()),
                ("PIP_NO_CACHE_DIR".into(), "1 at `'1'`".into()),
            ]
        );
    }

    #[test]
    fn problems_only_the_defaults_cause_are_reported_when_something_builds_them() {
        let dockerfile = "ARG BASE=\nFROM ${BASE}\nRUN true\n";
        let tuned = "services:\n  app:\n    build: {context: ., args: {BASE: 'python:3.12'}}\n";
        let problems = |compose: &str| -> Vec<String> {
            let (_dir, loaded) =
                load_files(&[("compose.yaml", compose), ("Dockerfile", dockerfile)]);
            loaded
                .diagnostics
                .iter()
                .map(|d| d.message.clone())
                .collect()
        };
        assert_eq!(problems(tuned), Vec::<String>::new());
        let both = format!("{tuned}  plain:\n    build: .\n");
        assert_eq!(problems(&both), ["base name (${BASE}) should not be blank"]);
        assert_eq!(
            problems("services:\n  plain:\n    build: .\n"),
            ["base name (${BASE}) should not be blank"]
        );
    }

    #[test]
    fn a_setting_knows_the_instruction_that_sets_it() {
        let (_dir, loaded) = load_files(&[(
            "Dockerfile",
            "FROM python:3.12-slim\nARG PIP_NO_CACHE_DIR=1\nENV A=b\nRUN UV_NO_CACHE=1 uv pip install x\n",
        )]);
        let world = World::new(&loaded.repository, &loaded.sources);
        let Value::List(stage_settings) = world.image_field(0, FieldName::Settings).unwrap() else {
            panic!()
        };
        let Value::List(installs) = world.image_field(0, FieldName::Installs).unwrap() else {
            panic!()
        };
        let Some(Value::Entity(install)) = installs.first() else {
            panic!()
        };
        let Value::List(command_settings) = world.field(*install, FieldName::Settings).unwrap()
        else {
            panic!()
        };
        let mut keywords = Vec::new();
        for setting in stage_settings.iter().chain(command_settings.iter()) {
            let Value::Entity(setting) = setting else {
                panic!()
            };
            let Some(Value::Entity(instruction)) = world.field(*setting, FieldName::Instruction)
            else {
                panic!()
            };
            let Some(Value::String(keyword, _)) = world.field(instruction, FieldName::Keyword)
            else {
                panic!()
            };
            let Some(Value::Integer(line)) = world.field(instruction, FieldName::Line) else {
                panic!()
            };
            keywords.push((keyword.to_string(), line));
        }
        assert_eq!(
            keywords,
            [("ARG".into(), 2), ("ENV".into(), 3), ("RUN".into(), 4)]
        );
    }
}
