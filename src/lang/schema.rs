//! The schema of what rules may read: the top-level collections, every entity type with its
//! fields and their types, and the built-in functions. The checker resolves names against
//! it; the evaluator implements every field it declares (a test keeps the two in step), and
//! SPEC.md's schema section is generated from it.

use std::fmt;

/// The type of a value. Every field may also be `null` (absent); see SPEC.md.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Type {
    Bool,
    Integer,
    String,
    Size,
    List(Box<Type>),
    Entity(EntityKind),
    /// The type of `null` and of an empty list's elements: compatible with every type.
    Unknown,
}

impl Type {
    pub fn list(of: Type) -> Type {
        Type::List(Box::new(of))
    }

    /// Whether a value of type `self` can be compared with one of type `other` by `==`.
    pub fn compatible(&self, other: &Type) -> bool {
        match (self, other) {
            (Type::Unknown, _) | (_, Type::Unknown) => true,
            (Type::List(a), Type::List(b)) => a.compatible(b),
            (a, b) => a == b,
        }
    }
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Type::Bool => f.write_str("bool"),
            Type::Integer => f.write_str("integer"),
            Type::String => f.write_str("string"),
            Type::Size => f.write_str("size"),
            Type::List(of) => write!(f, "list of {of}"),
            Type::Entity(kind) => write!(f, "{}", kind.name()),
            Type::Unknown => f.write_str("null"),
        }
    }
}

macro_rules! entity_kinds {
    ($($variant:ident => $name:literal: $doc:literal,)*) => {
        /// The kinds of entity the model exposes to rules.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum EntityKind {
            $($variant,)*
        }

        impl EntityKind {
            pub const ALL: &'static [EntityKind] = &[$(EntityKind::$variant,)*];

            /// The name rules and SPEC.md use for the kind.
            pub fn name(self) -> &'static str {
                match self {
                    $(EntityKind::$variant => $name,)*
                }
            }

            pub fn doc(self) -> &'static str {
                match self {
                    $(EntityKind::$variant => $doc,)*
                }
            }
        }
    };
}

entity_kinds! {
    Dockerfile => "dockerfile": "A Dockerfile. Its location is the whole file's first line.",
    Stage => "stage": "A build stage: a `FROM` and the instructions up to the next one. Located at its `FROM`.",
    ImageRef => "image_ref": "An image reference as written in `FROM` or `COPY --from`. Located at the reference.",
    Image => "image": "An image that is built: the final stage of a Dockerfile, or the stage a compose service builds (`build.target`). Its stages are that stage and every stage it is built FROM. Located at the `FROM` of its stage.",
    Instruction => "instruction": "A Dockerfile instruction. Located at the whole instruction.",
    Flag => "flag": "A flag of an instruction (`--mount=…`). Located at the flag.",
    Command => "command": "A simple shell command of a `RUN` (split on `&&`, `;`, `|`, …; including `sh -c` strings and heredoc scripts). Located at the command.",
    Install => "install": "A package-manager install command (`apt-get install`, `pip install`, …). Located at the command.",
    Package => "package": "A package named by an install command. Located at the package's name.",
    Setting => "setting": "An environment variable set for one command (`PIP_NO_CACHE_DIR=1 pip …`) or by `ENV`/`ARG`. Located at the name.",
    PipRequirements => "pip_requirements": "A `pip install -r FILE` (or `-c FILE`), traced to the requirements file of the build context. Located at FILE.",
    Copy => "copy": "A `COPY` or `ADD` instruction. Located at the instruction.",
    CopySource => "copy_source": "One source of a `COPY`/`ADD`, resolved in the build context. Located at the source as written.",
    Context => "context": "A build context with its `.dockerignore`. Located at its `.dockerignore`; without one, at the compose `build.context` that names it, else at the first instruction of the Dockerfile built with it.",
    ContextFile => "context_file": "A file or folder of a build context.",
    Dockerignore => "dockerignore": "A `.dockerignore` file. Located at its first pattern (its first line when it has none).",
    IgnorePattern => "ignore_pattern": "A line of a `.dockerignore`. Located at the pattern.",
    RequirementsFile => "requirements_file": "A pip requirements file. Located at its first line.",
    Requirement => "requirement": "A requirement line of a requirements file. Located at the requirement.",
    Service => "service": "A service: a compose service (located at its key in the compose file), or, for each Dockerfile that no compose service builds, its final image, named after the Dockerfile's folder (`api` for `services/api/Dockerfile`, `gpu/Dockerfile.multistage` for other file names; located at the final `FROM`).",
    Healthcheck => "healthcheck": "A compose service's `healthcheck`. Located at the `healthcheck` value.",
    Gpu => "gpu": "A GPU device reservation of a compose service. Located at the reservation.",
    PythonFile => "python_file": "A Python source file of a build context. Located at its first line.",
    Import => "import": "A module a Python file imports. Located at the module's name.",
    SizeContributor => "size_contributor": "One part of an image's size estimate: the base image, an OS package with the dependencies it adds, a Python package with its dependencies, pip's cache, the files of a `COPY`. Located at what brought it in: the `FROM` reference, the package's name, the requirement, the instruction.",
}

macro_rules! field_names {
    ($($variant:ident => $name:literal,)*) => {
        /// The name of a field of some kind of entity: the schema declares each kind's fields
        /// with it and the evaluator dispatches on it, so reading a field compares no strings
        /// (a rule's `.name` is resolved with [`FieldName::from_name`]).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum FieldName {
            $($variant,)*
        }

        impl FieldName {
            pub const ALL: &'static [FieldName] = &[$(FieldName::$variant,)*];

            /// The number of field names (`name as usize` is below it).
            pub const COUNT: usize = FieldName::ALL.len();

            /// The name rules and SPEC.md use for the field.
            pub fn name(self) -> &'static str {
                match self {
                    $(FieldName::$variant => $name,)*
                }
            }

            /// The field name `name`, if some kind of entity has a field of that name.
            pub fn from_name(name: &str) -> Option<FieldName> {
                match name {
                    $($name => Some(FieldName::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

// Every field name of the schema, once: the variant and the name rules use (in name order).
field_names! {
    AllRequirements => "all_requirements",
    Arguments => "arguments",
    Base => "base",
    BaseStage => "base_stage",
    BuildContext => "build_context",
    BuildDockerfile => "build_dockerfile",
    CacheMounts => "cache_mounts",
    Capabilities => "capabilities",
    Cmd => "cmd",
    Command => "command",
    Commands => "commands",
    Constraint => "constraint",
    Context => "context",
    ContextExists => "context_exists",
    ContextPath => "context_path",
    Copied => "copied",
    Copies => "copies",
    Copy => "copy",
    Count => "count",
    Destination => "destination",
    DestinationPath => "destination_path",
    Detail => "detail",
    Digest => "digest",
    Disabled => "disabled",
    Dockerfile => "dockerfile",
    DockerfileExists => "dockerfile_exists",
    DockerfileInline => "dockerfile_inline",
    Dockerignore => "dockerignore",
    Driver => "driver",
    Editable => "editable",
    Entrypoint => "entrypoint",
    EstimatedSize => "estimated_size",
    Exception => "exception",
    Excluded => "excluded",
    Expanded => "expanded",
    Extras => "extras",
    File => "file",
    Files => "files",
    FinalStage => "final_stage",
    Flags => "flags",
    Form => "form",
    From => "from",
    FromStage => "from_stage",
    FullPath => "full_path",
    Gpus => "gpus",
    Healthcheck => "healthcheck",
    Image => "image",
    ImageName => "image_name",
    ImagePath => "image_path",
    Implicit => "implicit",
    ImportedModules => "imported_modules",
    Imports => "imports",
    Includes => "includes",
    Index => "index",
    Install => "install",
    Installs => "installs",
    Instruction => "instruction",
    Instructions => "instructions",
    IsFinal => "is_final",
    IsScratch => "is_scratch",
    Keyword => "keyword",
    Kind => "kind",
    Label => "label",
    LargestContributors => "largest_contributors",
    Line => "line",
    Lineage => "lineage",
    Manager => "manager",
    Marker => "marker",
    MeasuredSize => "measured_size",
    Module => "module",
    Name => "name",
    NormalizedName => "normalized_name",
    Outcome => "outcome",
    Packages => "packages",
    Path => "path",
    Patterns => "patterns",
    Pinned => "pinned",
    PipRequirements => "pip_requirements",
    Platform => "platform",
    Program => "program",
    PythonFiles => "python_files",
    Registry => "registry",
    Relative => "relative",
    Repository => "repository",
    RequirementFiles => "requirement_files",
    Requirements => "requirements",
    Row => "row",
    SentSize => "sent_size",
    Service => "service",
    Settings => "settings",
    Size => "size",
    SizeContributors => "size_contributors",
    SizeKind => "size_kind",
    Source => "source",
    Sources => "sources",
    Specifier => "specifier",
    Stage => "stage",
    Stages => "stages",
    Subcommand => "subcommand",
    Table => "table",
    Tag => "tag",
    Test => "test",
    Text => "text",
    TotalSize => "total_size",
    Unknown => "unknown",
    Unresolved => "unresolved",
    Url => "url",
    User => "user",
    UserInstruction => "user_instruction",
    Value => "value",
    Values => "values",
    Version => "version",
    Wildcard => "wildcard",
    Words => "words",
}

/// One field of an entity.
#[derive(Clone, Debug)]
pub struct Field {
    pub id: FieldName,
    pub ty: Type,
    pub doc: &'static str,
}

impl Field {
    pub fn name(&self) -> &'static str {
        self.id.name()
    }
}

fn field(id: FieldName, ty: Type, doc: &'static str) -> Field {
    Field { id, ty, doc }
}

fn entity(kind: EntityKind) -> Type {
    Type::Entity(kind)
}

fn entities(kind: EntityKind) -> Type {
    Type::list(Type::Entity(kind))
}

/// The fields of entities of `kind`.
/// The fields of an image's size that a service has too (after its own `size`).
#[rustfmt::skip]
fn size_fields() -> [Field; 5] {
    use EntityKind as K;
    use FieldName as F;
    use Type::{Size, String};
    [
        field(F::SizeKind, String, "`measured`, `estimated`, or `lower bound` (an estimate with an unknown part: the image is at least `size`)."),
        field(F::MeasuredSize, Size, "The measured size, or null."),
        field(F::EstimatedSize, Size, "The static estimate: the sum of the known contributors."),
        field(F::SizeContributors, entities(K::SizeContributor), "The parts of the estimate, in image order (the base first)."),
        field(F::LargestContributors, entities(K::SizeContributor), "The three largest parts of known size, largest first."),
    ]
}

pub fn fields(kind: EntityKind) -> Vec<Field> {
    use EntityKind as K;
    use FieldName as F;
    use Type::{Bool, Integer, Size, String};
    match kind {
        K::Dockerfile => vec![
            field(F::Path, String, "Path relative to the scanned root, `/`-separated."),
            field(F::Stages, entities(K::Stage), "Its build stages in file order."),
            field(F::FinalStage, entity(K::Stage), "The last stage (built when no target is given)."),
            field(F::Image, entity(K::Image), "The image its final stage builds."),
            field(F::Instructions, entities(K::Instruction), "Every instruction in file order."),
            field(F::Commands, entities(K::Command), "Every shell command of every `RUN`."),
            field(F::Installs, entities(K::Install), "Every install command of every `RUN`."),
            field(F::Packages, entities(K::Package), "Every package installed by a `RUN`."),
            field(F::Copies, entities(K::Copy), "Every `COPY` and `ADD`."),
            field(F::Context, entity(K::Context), "The build context it is built with."),
        ],
        K::Stage => vec![
            field(F::Index, Integer, "0-based position among the stages."),
            field(F::Name, String, "The `AS` alias (lower-case), or null."),
            field(F::Label, String, "The alias, or `#N` for a stage without one (for messages)."),
            field(F::Base, entity(K::ImageRef), "The `FROM` reference."),
            field(F::BaseStage, entity(K::Stage), "The earlier stage `FROM` names, or null for an image."),
            field(F::Platform, String, "`--platform`, or null."),
            field(F::Lineage, entities(K::Stage), "The stages it is built FROM, transitively, nearest first."),
            field(F::IsFinal, Bool, "Whether it is the last stage of its Dockerfile."),
            field(F::From, entity(K::Instruction), "Its `FROM` instruction."),
            field(F::Instructions, entities(K::Instruction), "Its instructions after the `FROM`."),
            field(F::Commands, entities(K::Command), "The shell commands of its `RUN`s."),
            field(F::Installs, entities(K::Install), "The install commands of its `RUN`s."),
            field(F::Packages, entities(K::Package), "The packages its `RUN`s install."),
            field(F::Copies, entities(K::Copy), "Its `COPY` and `ADD` instructions."),
            field(F::Settings, entities(K::Setting), "Its `ENV` and `ARG` settings."),
            field(F::Dockerfile, entity(K::Dockerfile), "The Dockerfile it is in."),
        ],
        K::ImageRef => vec![
            field(F::Text, String, "As written."),
            field(F::Expanded, String, "With the global `ARG`s substituted: the build arguments, else the defaults."),
            field(F::Registry, String, "e.g. `ghcr.io`, or null for Docker Hub."),
            field(F::Repository, String, "e.g. `nvidia/cuda`, `python`."),
            field(F::Name, String, "Registry and repository without tag or digest, e.g. `ghcr.io/acme/base`, `python`."),
            field(F::Tag, String, "e.g. `3.11-slim`, or null (located at the tag)."),
            field(F::Digest, String, "e.g. `sha256:…`, or null."),
            field(F::IsScratch, Bool, "`FROM scratch`."),
            field(F::Unresolved, Bool, "A variable in the reference has no known value."),
        ],
        K::Image => vec![
            field(F::Name, String, "The service's name, or the Dockerfile's path."),
            field(F::Dockerfile, entity(K::Dockerfile), "The Dockerfile that builds it."),
            field(F::Stage, entity(K::Stage), "The stage that is the image."),
            field(F::Stages, entities(K::Stage), "That stage and every stage it is built FROM, in file order."),
            field(F::Base, entity(K::ImageRef), "The external image at the root of its stages."),
            field(F::Instructions, entities(K::Instruction), "The instructions of its stages, in file order."),
            field(F::Commands, entities(K::Command), "The shell commands of its stages."),
            field(F::Installs, entities(K::Install), "The install commands of its stages."),
            field(F::Packages, entities(K::Package), "The packages installed in its stages, in file order."),
            field(F::Copies, entities(K::Copy), "The `COPY`/`ADD` of its stages."),
            field(F::Settings, entities(K::Setting), "The `ENV`/`ARG` settings of its stages."),
            field(F::PipRequirements, entities(K::PipRequirements), "The `pip install -r` of its stages."),
            field(F::Requirements, entities(K::Requirement), "The requirements its `pip install -r` files install (with their includes)."),
            field(F::User, String, "The value of the last `USER` of its stages, or null (root)."),
            field(F::UserInstruction, entity(K::Instruction), "That `USER` instruction, or null."),
            field(F::Healthcheck, entity(K::Instruction), "The last `HEALTHCHECK` of its stages, or null."),
            field(F::Cmd, entity(K::Instruction), "The last `CMD` of its stages, or null."),
            field(F::Entrypoint, entity(K::Instruction), "The last `ENTRYPOINT` of its stages, or null."),
            field(F::Service, entity(K::Service), "The compose service that builds it, or null."),
            field(F::Context, entity(K::Context), "The build context."),
            field(F::Size, Size, "The measured size of a service that builds it (`--image-sizes`), else the static estimate."),
        ]
        .into_iter()
        .chain(size_fields())
        .collect(),
        K::Instruction => vec![
            field(F::Keyword, String, "Upper-case, e.g. `RUN` (located at the keyword)."),
            field(F::Text, String, "The arguments, continuations removed."),
            field(F::Form, String, "`shell` or `exec`."),
            field(F::Values, Type::list(String), "BuildKit's value list (exec-form strings, words, `ENV` triples)."),
            field(F::Flags, entities(K::Flag), "Its flags."),
            field(F::Line, Integer, "1-based line of the keyword."),
            field(F::Stage, entity(K::Stage), "The stage it is in, or null before the first `FROM`."),
            field(F::Dockerfile, entity(K::Dockerfile), "The Dockerfile it is in."),
        ],
        K::Flag => vec![
            field(F::Name, String, "Without the dashes, e.g. `mount`."),
            field(F::Value, String, "The value, or null for a bare flag."),
        ],
        K::Command => vec![
            field(F::Program, String, "The program run (after `sudo`, `env`, …)."),
            field(F::Arguments, Type::list(String), "The words after the program."),
            field(F::Words, Type::list(String), "All words, quotes removed (each located)."),
            field(F::Text, String, "The command as written."),
            field(F::Instruction, entity(K::Instruction), "The `RUN`."),
            field(F::Stage, entity(K::Stage), "The stage of the `RUN`."),
        ],
        K::Install => vec![
            field(F::Manager, String, "`apt`, `apk`, `dnf`, `yum`, `microdnf`, `pip`, `uv`, `conda`, `mamba`, `npm`, `yarn`, `pnpm`."),
            field(F::Program, String, "As written, e.g. `python3 -m pip`."),
            field(F::Subcommand, String, "e.g. `install`, `add`."),
            field(F::Flags, Type::list(String), "Every option given, e.g. `--no-cache-dir` (each located)."),
            field(F::Packages, entities(K::Package), "The packages it names."),
            field(F::RequirementFiles, entities(K::PipRequirements), "Its `-r`/`-c` files."),
            field(F::Command, entity(K::Command), "The shell command."),
            field(F::Sources, Type::list(String), "The local paths, archives, URLs and VCS requirements it installs from (each located)."),
            field(F::Settings, entities(K::Setting), "Variables set for this command (`PIP_NO_CACHE_DIR=1 pip …`)."),
            field(F::CacheMounts, Type::list(String), "The targets of the `RUN`'s `--mount=type=cache`."),
            field(F::Instruction, entity(K::Instruction), "The `RUN`."),
            field(F::Stage, entity(K::Stage), "The stage of the `RUN`."),
        ],
        K::Package => vec![
            field(F::Manager, String, "As for `install.manager`."),
            field(F::Name, String, "As written (located at the name)."),
            field(F::NormalizedName, String, "PEP 503 for pip/uv, lower-case for system managers."),
            field(F::Version, String, "The version requirement, or null."),
            field(F::Pinned, Bool, "Pinned to one version."),
            field(F::Extras, Type::list(String), "PEP 508 extras."),
            field(F::Install, entity(K::Install), "The install command."),
            field(F::Instruction, entity(K::Instruction), "The `RUN`."),
            field(F::Stage, entity(K::Stage), "The stage of the `RUN`."),
        ],
        K::Setting => vec![
            field(F::Name, String, "The variable's name (located)."),
            field(F::Value, String, "Its value; for an `ARG`, the build argument, else its default, else the default of the global `ARG` of its name (located where written), or null."),
            field(F::Keyword, String, "`ENV`, `ARG`, or `RUN` for a per-command setting."),
            field(F::Instruction, entity(K::Instruction), "The `ENV`, `ARG` or `RUN` that sets it."),
        ],
        K::PipRequirements => vec![
            field(F::Path, String, "FILE as written (located)."),
            field(F::Constraint, Bool, "`-c` rather than `-r`."),
            field(F::ImagePath, String, "FILE as an absolute path in the image."),
            field(F::Copied, Bool, "A `COPY`/`ADD` from the context put FILE there."),
            field(F::ContextPath, String, "FILE's path in the build context, or null."),
            field(F::Copy, entity(K::Copy), "The `COPY`/`ADD` that put it there, or null."),
            field(F::File, entity(K::RequirementsFile), "The requirements file, or null."),
            field(F::Requirements, entities(K::Requirement), "The requirements it installs, with includes."),
            field(F::Instruction, entity(K::Instruction), "The `RUN`."),
            field(F::Stage, entity(K::Stage), "The stage of the `RUN`."),
        ],
        K::Copy => vec![
            field(F::Keyword, String, "`COPY` or `ADD`."),
            field(F::From, String, "`--from`, or null."),
            field(F::FromStage, entity(K::Stage), "The stage `--from` names, or null."),
            field(F::Sources, entities(K::CopySource), "Its sources."),
            field(F::Destination, String, "As written."),
            field(F::DestinationPath, String, "Absolute in the image, after `WORKDIR`."),
            field(F::Instruction, entity(K::Instruction), "The instruction."),
            field(F::Stage, entity(K::Stage), "Its stage."),
        ],
        K::CopySource => vec![
            field(F::Text, String, "As written."),
            field(F::Outcome, String, "`found`, `no_match` (a wildcard matched nothing), `not_found` (the build fails), or `unresolved` (`--from`, heredoc, URL, or no context)."),
            field(F::Wildcard, Bool, "Has `*`, `?` or `[`."),
            field(F::Size, Size, "Total size of the files it sends."),
            field(F::Files, entities(K::ContextFile), "The files it sends."),
            field(F::Excluded, entities(K::ContextFile), "Matching files that `.dockerignore` excludes."),
            field(F::Copy, entity(K::Copy), "Its `COPY`/`ADD`."),
        ],
        K::Context => vec![
            field(F::Path, String, "Relative to the scanned root."),
            field(F::Dockerignore, entity(K::Dockerignore), "The `.dockerignore` in effect, or null."),
            field(F::TotalSize, Size, "Size of every file in it."),
            field(F::SentSize, Size, "Size of what is sent after `.dockerignore`."),
            field(F::Files, entities(K::ContextFile), "Every entry."),
            field(F::PythonFiles, entities(K::PythonFile), "The Python files it sends."),
            field(F::Imports, entities(K::Import), "What those Python files import."),
            field(F::ImportedModules, Type::list(String), "The top-level modules of those imports that are not relative, each once, in the order of `imports` (located at the first import of each)."),
        ],
        K::ContextFile => vec![
            field(F::Path, String, "Relative to the context root."),
            field(F::Size, Size, "Size in bytes."),
            field(F::Kind, String, "`file`, `dir` or `symlink`."),
            field(F::Excluded, Bool, "Excluded by `.dockerignore`."),
        ],
        K::Dockerignore => vec![
            field(F::Path, String, "Relative to the scanned root."),
            field(F::Patterns, entities(K::IgnorePattern), "Its patterns in order."),
        ],
        K::IgnorePattern => vec![
            field(F::Text, String, "The cleaned pattern."),
            field(F::Exception, Bool, "A `!` line."),
        ],
        K::RequirementsFile => vec![
            field(F::Path, String, "Relative to the scanned root."),
            field(F::Requirements, entities(K::Requirement), "Its own requirements."),
            field(F::AllRequirements, entities(K::Requirement), "Its requirements and those of the files it includes with `-r`."),
            field(F::Includes, Type::list(String), "The `-r`/`-c` paths (located)."),
        ],
        K::Requirement => vec![
            field(F::Name, String, "As written (located at the name), or null for a URL without a name."),
            field(F::NormalizedName, String, "PEP 503."),
            field(F::Extras, Type::list(String), "PEP 508 extras."),
            field(F::Specifier, String, "e.g. `==2.31.0`, or null."),
            field(F::Marker, String, "The environment marker, or null."),
            field(F::Url, String, "For `name @ url`, VCS and path requirements, or null."),
            field(F::Editable, Bool, "`-e`."),
            field(F::Text, String, "The requirement as written."),
            field(F::Line, Integer, "1-based line the requirement starts on."),
            field(F::Constraint, Bool, "It comes from a constraints file (`-c`): it limits versions and installs nothing."),
            field(F::File, entity(K::RequirementsFile), "The file it is in."),
        ],
        K::Service => vec![
            field(F::Name, String, "The service's key (located), or the folder name of an implicit service."),
            field(F::Implicit, Bool, "Made from a Dockerfile that no compose service builds."),
            field(F::ImageName, String, "The `image:` value, or null."),
            field(F::Image, entity(K::Image), "The image it builds, or null."),
            field(F::BuildContext, String, "`build.context` as written, or null."),
            field(F::BuildDockerfile, String, "`build.dockerfile` as written, or null."),
            field(F::ContextExists, Bool, "`build.context` names an existing folder."),
            field(F::DockerfileExists, Bool, "The Dockerfile it names exists."),
            field(F::DockerfileInline, Bool, "`build.dockerfile_inline` gives the Dockerfile."),
            field(F::Context, entity(K::Context), "Its build context, or null."),
            field(F::Dockerfile, entity(K::Dockerfile), "Its Dockerfile, or null."),
            field(F::Healthcheck, entity(K::Healthcheck), "Its `healthcheck`, or null."),
            field(F::Gpus, entities(K::Gpu), "Its GPU reservations."),
            field(F::Requirements, entities(K::Requirement), "The requirements its image installs."),
            field(F::Imports, entities(K::Import), "The imports of the Python files of its context."),
            field(F::Size, Size, "Its measured size (`--image-sizes`), else its image's static estimate; null for a service that builds nothing and was not measured."),
        ]
        .into_iter()
        .chain(size_fields())
        .collect(),
        K::Healthcheck => vec![
            field(F::Test, Type::list(String), "The test command."),
            field(F::Disabled, Bool, "`disable: true` or `test: [\"NONE\"]`."),
        ],
        K::Gpu => vec![
            field(F::Driver, String, "e.g. `nvidia`, or null."),
            field(F::Count, String, "A number or `all`, or null."),
            field(F::Capabilities, Type::list(String), "e.g. `gpu`."),
        ],
        K::PythonFile => vec![
            field(F::Path, String, "Relative to the scanned root."),
            field(F::Imports, entities(K::Import), "What it imports."),
        ],
        K::SizeContributor => vec![
            field(F::Name, String, "What it is: `python:3.11-slim`, `build-essential`, `numpy`, `COPY app/ ./app/` (located)."),
            field(F::Kind, String, "`base`, `os_package`, `python_package`, `package` (conda, npm, …), `pip_cache`, `copy`, `copy_from` or `run_output` (files a `RUN` command writes, size unknown)."),
            field(F::Size, Size, "Its size, or null when unknown."),
            field(F::Unknown, Bool, "Its size is unknown (the estimate is then a lower bound)."),
            field(F::Detail, String, "How the figure was made (version, packages of the closure, files)."),
            field(F::Table, String, "The bundled table the figure comes from, or null."),
            field(F::Row, String, "The row's key in that table, or null."),
            field(F::Source, String, "Where the row's figure comes from, or null."),
            field(F::Image, entity(K::Image), "The image it is part of."),
        ],
        K::Import => vec![
            field(F::Module, String, "The top-level module (located)."),
            field(F::FullPath, String, "The whole dotted path."),
            field(F::Relative, Bool, "A relative import (the project's own module)."),
            field(F::File, entity(K::PythonFile), "The file."),
        ],
    }
}

/// The field `name` of entities of `kind`.
pub fn find_field(kind: EntityKind, name: &str) -> Option<Field> {
    let id = FieldName::from_name(name)?;
    fields(kind).into_iter().find(|f| f.id == id)
}

/// The top-level collections a rule can iterate, with the kind of their elements.
pub const COLLECTIONS: &[(&str, EntityKind, &str)] = &[
    ("dockerfiles", EntityKind::Dockerfile, "Every Dockerfile."),
    ("stages", EntityKind::Stage, "Every stage of every Dockerfile."),
    ("images", EntityKind::Image, "Every image that is built: each Dockerfile's final stage, and each stage a compose service builds."),
    ("instructions", EntityKind::Instruction, "Every instruction."),
    ("commands", EntityKind::Command, "Every shell command of every `RUN`."),
    ("installs", EntityKind::Install, "Every install command."),
    ("packages", EntityKind::Package, "Every installed package."),
    ("copies", EntityKind::Copy, "Every `COPY` and `ADD`."),
    ("contexts", EntityKind::Context, "Every build context."),
    ("services", EntityKind::Service, "Every compose service, then one service per Dockerfile that no compose service builds."),
    ("requirements_files", EntityKind::RequirementsFile, "Every requirements file."),
    ("requirements", EntityKind::Requirement, "Every requirement of every requirements file."),
    ("python_files", EntityKind::PythonFile, "Every Python file of every build context."),
    ("imports", EntityKind::Import, "Every import of every Python file."),
];

/// A built-in function's signature: argument types (`None`: any type) and result type.
#[derive(Clone, Debug)]
pub struct Function {
    pub name: &'static str,
    pub parameters: &'static [Parameter],
    pub result: Type,
    pub doc: &'static str,
}

/// The accepted types of one argument of a built-in function.
#[derive(Clone, Copy, Debug)]
pub enum Parameter {
    String,
    /// A string or a list.
    StringOrList,
    /// Any value.
    Any,
    /// True or false.
    Bool,
    /// An entity of one kind.
    Entity(EntityKind),
}

impl fmt::Display for Parameter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Parameter::String => "string",
            Parameter::StringOrList => "string or list",
            Parameter::Any => "any value",
            Parameter::Bool => "bool",
            Parameter::Entity(kind) => kind.name(),
        })
    }
}

/// The built-in functions.
pub fn functions() -> Vec<Function> {
    use Parameter as P;
    vec![
        Function {
            name: "lower",
            parameters: &[P::String],
            result: Type::String,
            doc: "The string in lower case.",
        },
        Function {
            name: "upper",
            parameters: &[P::String],
            result: Type::String,
            doc: "The string in upper case.",
        },
        Function {
            name: "starts_with",
            parameters: &[P::String, P::String],
            result: Type::Bool,
            doc: "Whether the first string starts with the second.",
        },
        Function {
            name: "ends_with",
            parameters: &[P::String, P::String],
            result: Type::Bool,
            doc: "Whether the first string ends with the second.",
        },
        Function {
            name: "contains",
            parameters: &[P::StringOrList, P::Any],
            result: Type::Bool,
            doc: "Whether the string contains the substring, or the list the element.",
        },
        Function {
            name: "len",
            parameters: &[P::StringOrList],
            result: Type::Integer,
            doc: "The number of characters of a string or elements of a list (0 for null).",
        },
        Function {
            name: "exists",
            parameters: &[P::Any],
            result: Type::Bool,
            doc: "Whether the value is not null.",
        },
        Function {
            name: "coalesce",
            parameters: &[P::Any, P::Any],
            // The checker gives a call the arguments' common type (they must be compatible).
            result: Type::Unknown,
            doc: "The first argument that is not null (with its location), else the second; both of one type.",
        },
        Function {
            name: "choose",
            parameters: &[P::Bool, P::String, P::String],
            result: Type::String,
            doc: "The first string when the condition is true, else the second.",
        },
        Function {
            name: "normalize_name",
            parameters: &[P::String],
            result: Type::String,
            doc: "A distribution name normalised as PEP 503 says (`Foo_Bar` is `foo-bar`).",
        },
        Function {
            name: "values_for",
            parameters: &[P::StringOrList, P::String],
            result: Type::list(Type::String),
            doc: "A map written as a list of `key:value` strings: the values whose key is the given one.",
        },
        Function {
            name: "path_matches",
            parameters: &[P::String, P::StringOrList],
            result: Type::Bool,
            doc: "Whether the `/`-separated path, or its last components (as many as the pattern has), matches the glob pattern (Go `filepath.Match`: `*`, `?`, `[a-z]`), or one of a list of patterns.",
        },
        Function {
            name: "not_excluded",
            parameters: &[P::Entity(EntityKind::Dockerignore), P::StringOrList],
            result: Type::list(Type::String),
            doc: "Those of the paths (relative to the context root) that the `.dockerignore` does not exclude.",
        },
        Function {
            name: "import_names",
            parameters: &[P::String, P::StringOrList],
            result: Type::list(Type::String),
            doc: "The top-level modules a distribution installs: from the bundled table of names that differ (`Pillow` gives `PIL`), else its PEP 503 name with `_` for `-`; plus those the list of `dist=module` strings gives it.",
        },
    ]
}

pub fn find_function(name: &str) -> Option<Function> {
    functions().into_iter().find(|f| f.name == name)
}

/// The closest of `candidates` to `name` by edit distance, if close enough to suggest.
pub fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|candidate| (edit_distance(name, candidate), candidate))
        .filter(|&(distance, candidate)| distance <= (candidate.len().max(name.len()) / 3).max(1))
        .min_by_key(|&(distance, _)| distance)
        .map(|(_, candidate)| candidate)
}

/// The optimal string alignment distance: insertions, deletions, substitutions and
/// transpositions of two adjacent characters (`nmae` is one edit from `name`) each count one.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut before_previous: Vec<usize> = Vec::new();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, &ca) in a.iter().enumerate() {
        let mut current = vec![i + 1];
        for (j, &cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != cb);
            let deletion = previous[j + 1] + 1;
            let insertion = current[j] + 1;
            let mut best = substitution.min(deletion).min(insertion);
            let swapped = i > 0 && j > 0 && a.get(i - 1) == Some(&cb) && b.get(j - 1) == Some(&ca);
            if swapped {
                if let Some(&two_back) = before_previous.get(j - 1) {
                    best = best.min(two_back + 1);
                }
            }
            current.push(best);
        }
        before_previous = std::mem::replace(&mut previous, current);
    }
    previous.last().copied().unwrap_or(0)
}

/// The schema as Markdown, for SPEC.md (a test keeps SPEC.md equal to it).
pub fn markdown() -> String {
    let mut out = String::from(
        "### Collections\n\n| collection | element | content |\n| --- | --- | --- |\n",
    );
    for (name, kind, doc) in COLLECTIONS {
        out.push_str(&format!("| `{name}` | `{}` | {doc} |\n", kind.name()));
    }
    for kind in EntityKind::ALL {
        out.push_str(&format!(
            "\n### `{}`\n\n{}\n\n| field | type | content |\n| --- | --- | --- |\n",
            kind.name(),
            kind.doc()
        ));
        for field in fields(*kind) {
            out.push_str(&format!(
                "| `{}` | {} | {} |\n",
                field.name(),
                field.ty,
                field.doc
            ));
        }
    }
    out.push_str("\n### Functions\n\n| function | arguments | result | content |\n| --- | --- | --- | --- |\n");
    for function in functions() {
        let parameters: Vec<String> = function.parameters.iter().map(|p| p.to_string()).collect();
        out.push_str(&format!(
            "| `{}` | {} | {} | {} |\n",
            function.name,
            parameters.join(", "),
            match function.result {
                Type::Unknown => "as its arguments".to_string(),
                ref result => result.to_string(),
            },
            function.doc
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions_are_close_names() {
        assert_eq!(
            did_you_mean("pakages", ["packages", "stages"]),
            Some("packages")
        );
        assert_eq!(did_you_mean("xyz", ["packages", "stages"]), None);
        // A transposition is one edit, even in a short name.
        assert_eq!(did_you_mean("nmae", ["name", "stage"]), Some("name"));
        assert_eq!(edit_distance("ab", "ba"), 1);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
    }

    #[test]
    fn field_names_are_unique_per_kind() {
        for kind in EntityKind::ALL {
            let names: Vec<FieldName> = fields(*kind).iter().map(|f| f.id).collect();
            let unique: std::collections::HashSet<FieldName> = names.iter().copied().collect();
            assert_eq!(names.len(), unique.len(), "{}", kind.name());
        }
    }

    /// Each field name is spelled once, round-trips through its text, and is a field of some
    /// kind (the list of names has no leftover).
    #[test]
    fn field_names_are_the_schemas() {
        let used: std::collections::HashSet<FieldName> = EntityKind::ALL
            .iter()
            .flat_map(|kind| fields(*kind))
            .map(|f| f.id)
            .collect();
        for &name in FieldName::ALL {
            assert_eq!(FieldName::from_name(name.name()), Some(name));
            assert!(
                used.contains(&name),
                "`{}` is no field of any kind",
                name.name()
            );
        }
        assert_eq!(used.len(), FieldName::COUNT);
        assert_eq!(FieldName::from_name("no_such_field"), None);
        assert_eq!(FieldName::from_name("Path"), None);
        let id = find_field(EntityKind::Image, "size_contributors").map(|f| f.id);
        assert_eq!(id, Some(FieldName::SizeContributors));
        assert!(find_field(EntityKind::Flag, "size_contributors").is_none());
    }
}
