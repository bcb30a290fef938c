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

/// One field of an entity.
#[derive(Clone, Debug)]
pub struct Field {
    pub name: &'static str,
    pub ty: Type,
    pub doc: &'static str,
}

fn field(name: &'static str, ty: Type, doc: &'static str) -> Field {
    Field { name, ty, doc }
}

fn entity(kind: EntityKind) -> Type {
    Type::Entity(kind)
}

fn entities(kind: EntityKind) -> Type {
    Type::list(Type::Entity(kind))
}

/// The fields of entities of `kind`.
pub fn fields(kind: EntityKind) -> Vec<Field> {
    use EntityKind as K;
    use Type::{Bool, Integer, Size, String};
    match kind {
        K::Dockerfile => vec![
            field("path", String, "Path relative to the scanned root, `/`-separated."),
            field("stages", entities(K::Stage), "Its build stages in file order."),
            field("final_stage", entity(K::Stage), "The last stage (built when no target is given)."),
            field("image", entity(K::Image), "The image its final stage builds."),
            field("instructions", entities(K::Instruction), "Every instruction in file order."),
            field("commands", entities(K::Command), "Every shell command of every `RUN`."),
            field("installs", entities(K::Install), "Every install command of every `RUN`."),
            field("packages", entities(K::Package), "Every package installed by a `RUN`."),
            field("copies", entities(K::Copy), "Every `COPY` and `ADD`."),
            field("context", entity(K::Context), "The build context it is built with."),
        ],
        K::Stage => vec![
            field("index", Integer, "0-based position among the stages."),
            field("name", String, "The `AS` alias (lower-case), or null."),
            field("label", String, "The alias, or `#N` for a stage without one (for messages)."),
            field("base", entity(K::ImageRef), "The `FROM` reference."),
            field("base_stage", entity(K::Stage), "The earlier stage `FROM` names, or null for an image."),
            field("platform", String, "`--platform`, or null."),
            field("lineage", entities(K::Stage), "The stages it is built FROM, transitively, nearest first."),
            field("is_final", Bool, "Whether it is the last stage of its Dockerfile."),
            field("from", entity(K::Instruction), "Its `FROM` instruction."),
            field("instructions", entities(K::Instruction), "Its instructions after the `FROM`."),
            field("commands", entities(K::Command), "The shell commands of its `RUN`s."),
            field("installs", entities(K::Install), "The install commands of its `RUN`s."),
            field("packages", entities(K::Package), "The packages its `RUN`s install."),
            field("copies", entities(K::Copy), "Its `COPY` and `ADD` instructions."),
            field("settings", entities(K::Setting), "Its `ENV` and `ARG` settings."),
            field("dockerfile", entity(K::Dockerfile), "The Dockerfile it is in."),
        ],
        K::ImageRef => vec![
            field("text", String, "As written."),
            field("expanded", String, "With global `ARG` defaults substituted."),
            field("registry", String, "e.g. `ghcr.io`, or null for Docker Hub."),
            field("repository", String, "e.g. `nvidia/cuda`, `python`."),
            field("name", String, "Registry and repository without tag or digest, e.g. `ghcr.io/acme/base`, `python`."),
            field("tag", String, "e.g. `3.11-slim`, or null (located at the tag)."),
            field("digest", String, "e.g. `sha256:…`, or null."),
            field("is_scratch", Bool, "`FROM scratch`."),
            field("unresolved", Bool, "A variable in the reference has no known value."),
        ],
        K::Image => vec![
            field("name", String, "The service's name, or the Dockerfile's path."),
            field("dockerfile", entity(K::Dockerfile), "The Dockerfile that builds it."),
            field("stage", entity(K::Stage), "The stage that is the image."),
            field("stages", entities(K::Stage), "That stage and every stage it is built FROM, in file order."),
            field("base", entity(K::ImageRef), "The external image at the root of its stages."),
            field("instructions", entities(K::Instruction), "The instructions of its stages, in file order."),
            field("commands", entities(K::Command), "The shell commands of its stages."),
            field("installs", entities(K::Install), "The install commands of its stages."),
            field("packages", entities(K::Package), "The packages installed in its stages, in file order."),
            field("copies", entities(K::Copy), "The `COPY`/`ADD` of its stages."),
            field("settings", entities(K::Setting), "The `ENV`/`ARG` settings of its stages."),
            field("pip_requirements", entities(K::PipRequirements), "The `pip install -r` of its stages."),
            field("requirements", entities(K::Requirement), "The requirements its `pip install -r` files install (with their includes)."),
            field("user", String, "The value of the last `USER` of its stages, or null (root)."),
            field("user_instruction", entity(K::Instruction), "That `USER` instruction, or null."),
            field("healthcheck", entity(K::Instruction), "The last `HEALTHCHECK` of its stages, or null."),
            field("cmd", entity(K::Instruction), "The last `CMD` of its stages, or null."),
            field("entrypoint", entity(K::Instruction), "The last `ENTRYPOINT` of its stages, or null."),
            field("service", entity(K::Service), "The compose service that builds it, or null."),
            field("context", entity(K::Context), "The build context."),
            field("size", Size, "The measured size of a service that builds it (`--image-sizes`), else the static estimate."),
            field("size_kind", String, "`measured`, `estimated`, or `lower bound` (an estimate with an unknown part: the image is at least `size`)."),
            field("measured_size", Size, "The measured size, or null."),
            field("estimated_size", Size, "The static estimate: the sum of the known contributors."),
            field("size_contributors", entities(K::SizeContributor), "The parts of the estimate, in image order (the base first)."),
            field("largest_contributors", entities(K::SizeContributor), "The three largest parts of known size, largest first."),
        ],
        K::Instruction => vec![
            field("keyword", String, "Upper-case, e.g. `RUN` (located at the keyword)."),
            field("text", String, "The arguments, continuations removed."),
            field("form", String, "`shell` or `exec`."),
            field("values", Type::list(String), "BuildKit's value list (exec-form strings, words, `ENV` triples)."),
            field("flags", entities(K::Flag), "Its flags."),
            field("line", Integer, "1-based line of the keyword."),
            field("stage", entity(K::Stage), "The stage it is in, or null before the first `FROM`."),
            field("dockerfile", entity(K::Dockerfile), "The Dockerfile it is in."),
        ],
        K::Flag => vec![
            field("name", String, "Without the dashes, e.g. `mount`."),
            field("value", String, "The value, or null for a bare flag."),
        ],
        K::Command => vec![
            field("program", String, "The program run (after `sudo`, `env`, …)."),
            field("arguments", Type::list(String), "The words after the program."),
            field("words", Type::list(String), "All words, quotes removed (each located)."),
            field("text", String, "The command as written."),
            field("instruction", entity(K::Instruction), "The `RUN`."),
            field("stage", entity(K::Stage), "The stage of the `RUN`."),
        ],
        K::Install => vec![
            field("manager", String, "`apt`, `apk`, `dnf`, `yum`, `microdnf`, `pip`, `uv`, `conda`, `mamba`, `npm`, `yarn`, `pnpm`."),
            field("program", String, "As written, e.g. `python3 -m pip`."),
            field("subcommand", String, "e.g. `install`, `add`."),
            field("flags", Type::list(String), "Every option given, e.g. `--no-cache-dir` (each located)."),
            field("packages", entities(K::Package), "The packages it names."),
            field("requirement_files", entities(K::PipRequirements), "Its `-r`/`-c` files."),
            field("command", entity(K::Command), "The shell command."),
            field("sources", Type::list(String), "The local paths, archives, URLs and VCS requirements it installs from (each located)."),
            field("settings", entities(K::Setting), "Variables set for this command (`PIP_NO_CACHE_DIR=1 pip …`)."),
            field("cache_mounts", Type::list(String), "The targets of the `RUN`'s `--mount=type=cache`."),
            field("instruction", entity(K::Instruction), "The `RUN`."),
            field("stage", entity(K::Stage), "The stage of the `RUN`."),
        ],
        K::Package => vec![
            field("manager", String, "As for `install.manager`."),
            field("name", String, "As written (located at the name)."),
            field("normalized_name", String, "PEP 503 for pip/uv, lower-case for system managers."),
            field("version", String, "The version requirement, or null."),
            field("pinned", Bool, "Pinned to one version."),
            field("extras", Type::list(String), "PEP 508 extras."),
            field("install", entity(K::Install), "The install command."),
            field("instruction", entity(K::Instruction), "The `RUN`."),
            field("stage", entity(K::Stage), "The stage of the `RUN`."),
        ],
        K::Setting => vec![
            field("name", String, "The variable's name (located)."),
            field("value", String, "Its value, or null for an `ARG` without default."),
            field("keyword", String, "`ENV`, `ARG`, or `RUN` for a per-command setting."),
            field("instruction", entity(K::Instruction), "The `ENV`, `ARG` or `RUN` that sets it."),
        ],
        K::PipRequirements => vec![
            field("path", String, "FILE as written (located)."),
            field("constraint", Bool, "`-c` rather than `-r`."),
            field("image_path", String, "FILE as an absolute path in the image."),
            field("copied", Bool, "A `COPY`/`ADD` from the context put FILE there."),
            field("context_path", String, "FILE's path in the build context, or null."),
            field("copy", entity(K::Copy), "The `COPY`/`ADD` that put it there, or null."),
            field("file", entity(K::RequirementsFile), "The requirements file, or null."),
            field("requirements", entities(K::Requirement), "The requirements it installs, with includes."),
            field("instruction", entity(K::Instruction), "The `RUN`."),
            field("stage", entity(K::Stage), "The stage of the `RUN`."),
        ],
        K::Copy => vec![
            field("keyword", String, "`COPY` or `ADD`."),
            field("from", String, "`--from`, or null."),
            field("from_stage", entity(K::Stage), "The stage `--from` names, or null."),
            field("sources", entities(K::CopySource), "Its sources."),
            field("destination", String, "As written."),
            field("destination_path", String, "Absolute in the image, after `WORKDIR`."),
            field("instruction", entity(K::Instruction), "The instruction."),
            field("stage", entity(K::Stage), "Its stage."),
        ],
        K::CopySource => vec![
            field("text", String, "As written."),
            field("outcome", String, "`found`, `no_match` (a wildcard matched nothing), `not_found` (the build fails), or `unresolved` (`--from`, heredoc, URL, or no context)."),
            field("wildcard", Bool, "Has `*`, `?` or `[`."),
            field("size", Size, "Total size of the files it sends."),
            field("files", entities(K::ContextFile), "The files it sends."),
            field("excluded", entities(K::ContextFile), "Matching files that `.dockerignore` excludes."),
            field("copy", entity(K::Copy), "Its `COPY`/`ADD`."),
        ],
        K::Context => vec![
            field("path", String, "Relative to the scanned root."),
            field("dockerignore", entity(K::Dockerignore), "The `.dockerignore` in effect, or null."),
            field("total_size", Size, "Size of every file in it."),
            field("sent_size", Size, "Size of what is sent after `.dockerignore`."),
            field("files", entities(K::ContextFile), "Every entry."),
            field("python_files", entities(K::PythonFile), "The Python files it sends."),
            field("imports", entities(K::Import), "What those Python files import."),
        ],
        K::ContextFile => vec![
            field("path", String, "Relative to the context root."),
            field("size", Size, "Size in bytes."),
            field("kind", String, "`file`, `dir` or `symlink`."),
            field("excluded", Bool, "Excluded by `.dockerignore`."),
        ],
        K::Dockerignore => vec![
            field("path", String, "Relative to the scanned root."),
            field("patterns", entities(K::IgnorePattern), "Its patterns in order."),
        ],
        K::IgnorePattern => vec![
            field("text", String, "The cleaned pattern."),
            field("exception", Bool, "A `!` line."),
        ],
        K::RequirementsFile => vec![
            field("path", String, "Relative to the scanned root."),
            field("requirements", entities(K::Requirement), "Its own requirements."),
            field("all_requirements", entities(K::Requirement), "Its requirements and those of the files it includes with `-r`."),
            field("includes", Type::list(String), "The `-r`/`-c` paths (located)."),
        ],
        K::Requirement => vec![
            field("name", String, "As written (located at the name), or null for a URL without a name."),
            field("normalized_name", String, "PEP 503."),
            field("extras", Type::list(String), "PEP 508 extras."),
            field("specifier", String, "e.g. `==2.31.0`, or null."),
            field("marker", String, "The environment marker, or null."),
            field("url", String, "For `name @ url`, VCS and path requirements, or null."),
            field("editable", Bool, "`-e`."),
            field("text", String, "The requirement as written."),
            field("line", Integer, "1-based line the requirement starts on."),
            field("constraint", Bool, "It comes from a constraints file (`-c`): it limits versions and installs nothing."),
            field("file", entity(K::RequirementsFile), "The file it is in."),
        ],
        K::Service => vec![
            field("name", String, "The service's key (located), or the folder name of an implicit service."),
            field("implicit", Bool, "Made from a Dockerfile that no compose service builds."),
            field("image_name", String, "The `image:` value, or null."),
            field("image", entity(K::Image), "The image it builds, or null."),
            field("build_context", String, "`build.context` as written, or null."),
            field("build_dockerfile", String, "`build.dockerfile` as written, or null."),
            field("context_exists", Bool, "`build.context` names an existing folder."),
            field("dockerfile_exists", Bool, "The Dockerfile it names exists."),
            field("dockerfile_inline", Bool, "`build.dockerfile_inline` gives the Dockerfile."),
            field("context", entity(K::Context), "Its build context, or null."),
            field("dockerfile", entity(K::Dockerfile), "Its Dockerfile, or null."),
            field("healthcheck", entity(K::Healthcheck), "Its `healthcheck`, or null."),
            field("gpus", entities(K::Gpu), "Its GPU reservations."),
            field("requirements", entities(K::Requirement), "The requirements its image installs."),
            field("imports", entities(K::Import), "The imports of the Python files of its context."),
            field("size", Size, "Its measured size (`--image-sizes`), else its image's static estimate; null for a service that builds nothing and was not measured."),
            field("size_kind", String, "`measured`, `estimated`, or `lower bound` (an estimate with an unknown part: the image is at least `size`)."),
            field("measured_size", Size, "The measured size, or null."),
            field("estimated_size", Size, "The static estimate: the sum of the known contributors."),
            field("size_contributors", entities(K::SizeContributor), "The parts of the estimate, in image order (the base first)."),
            field("largest_contributors", entities(K::SizeContributor), "The three largest parts of known size, largest first."),
        ],
        K::Healthcheck => vec![
            field("test", Type::list(String), "The test command."),
            field("disabled", Bool, "`disable: true` or `test: [\"NONE\"]`."),
        ],
        K::Gpu => vec![
            field("driver", String, "e.g. `nvidia`, or null."),
            field("count", String, "A number or `all`, or null."),
            field("capabilities", Type::list(String), "e.g. `gpu`."),
        ],
        K::PythonFile => vec![
            field("path", String, "Relative to the scanned root."),
            field("imports", entities(K::Import), "What it imports."),
        ],
        K::SizeContributor => vec![
            field("name", String, "What it is: `python:3.11-slim`, `build-essential`, `numpy`, `COPY app/ ./app/` (located)."),
            field("kind", String, "`base`, `os_package`, `python_package`, `package` (conda, npm, …), `pip_cache`, `copy`, `copy_from` or `run_output` (files a `RUN` command writes, size unknown)."),
            field("size", Size, "Its size, or null when unknown."),
            field("unknown", Bool, "Its size is unknown (the estimate is then a lower bound)."),
            field("detail", String, "How the figure was made (version, packages of the closure, files)."),
            field("table", String, "The bundled table the figure comes from, or null."),
            field("row", String, "The row's key in that table, or null."),
            field("source", String, "Where the row's figure comes from, or null."),
            field("image", entity(K::Image), "The image it is part of."),
        ],
        K::Import => vec![
            field("module", String, "The top-level module (located)."),
            field("full_path", String, "The whole dotted path."),
            field("relative", Bool, "A relative import (the project's own module)."),
            field("file", entity(K::PythonFile), "The file."),
        ],
    }
}

/// The field `name` of entities of `kind`.
pub fn find_field(kind: EntityKind, name: &str) -> Option<Field> {
    fields(kind).into_iter().find(|f| f.name == name)
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
            parameters: &[P::String, P::String],
            result: Type::Bool,
            doc: "Whether the `/`-separated path, or its last components (as many as the pattern has), matches the glob pattern (Go `filepath.Match`: `*`, `?`, `[a-z]`).",
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
                field.name, field.ty, field.doc
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
            let names: Vec<&str> = fields(*kind).iter().map(|f| f.name).collect();
            let mut unique = names.clone();
            unique.sort_unstable();
            unique.dedup();
            assert_eq!(names.len(), unique.len(), "{}", kind.name());
        }
    }
}
