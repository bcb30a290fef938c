//! Compose files (`compose.yaml` and its overrides) into the [`ComposeProject`] model.
//!
//! Each file is read into a spanned YAML tree ([`crate::parse::yaml`]), the keys we model are
//! read from it into one layer per file, and the layers are merged in order with compose's
//! rules: a later file overrides scalars and lists such as `command`, `entrypoint` and
//! `healthcheck.test`; it merges mappings (`build`, `build.args` by name, `healthcheck`);
//! device reservations are appended. The YAML tags `!reset` (drop the value) and `!override`
//! (replace instead of merge) on a service's keys are honoured. Values are interpolated
//! ([`crate::parse::interpolate`]); keys never are. Unknown keys are ignored; a modelled key
//! of the wrong type is an error diagnostic and is skipped. Interpolation errors are only
//! found in the values we model.

use std::collections::HashMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use crate::diag::{Diagnostic, Severity};
use crate::model::compose::{
    Build, BuildArg, Command, ComposeProject, DeviceCount, DeviceReservation, DeviceSource,
    Healthcheck, Service,
};
use crate::parse::interpolate::Interpolation;
use crate::parse::yaml::{parse_yaml, YamlNode, YamlValue};
use crate::source::{normalize_path, FileId, Span, Spanned};

/// One compose file to read.
#[derive(Clone, Copy, Debug)]
pub struct ComposeInput<'a> {
    pub file: FileId,
    pub path: &'a Path,
    pub text: &'a str,
}

/// Base file names compose looks for, in its order of preference (compose-go's
/// `DefaultFileNames`).
pub const COMPOSE_FILE_NAMES: [&str; 4] = [
    "compose.yaml",
    "compose.yml",
    "docker-compose.yml",
    "docker-compose.yaml",
];

/// Override file names, in compose's order of preference (`DefaultOverrideFileNames`).
pub const COMPOSE_OVERRIDE_FILE_NAMES: [&str; 4] = [
    "compose.override.yml",
    "compose.override.yaml",
    "docker-compose.override.yml",
    "docker-compose.override.yaml",
];

/// Which of the compose files found in one folder compose would read, and in which order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ComposeFileOrder {
    /// The base file, then the override file if there is one. Empty without a base file.
    pub files: Vec<String>,
    /// Compose files present that compose would not read (a second base or override name).
    pub ignored: Vec<String>,
}

/// Given the names of the compose files in one folder, picks what `docker compose` reads
/// without `-f`: the most preferred base name, then the most preferred override name (only
/// one of each is read; compose warns about the others).
pub fn compose_file_order<S: AsRef<str>>(names: &[S]) -> ComposeFileOrder {
    let present = |candidates: &[&str]| -> Vec<String> {
        candidates
            .iter()
            .filter(|c| names.iter().any(|n| n.as_ref() == **c))
            .map(|c| c.to_string())
            .collect()
    };
    let bases = present(&COMPOSE_FILE_NAMES);
    let overrides = present(&COMPOSE_OVERRIDE_FILE_NAMES);
    let mut files = Vec::new();
    let mut ignored = Vec::new();
    let mut bases = bases.into_iter();
    match bases.next() {
        Some(base) => {
            files.push(base);
            ignored.extend(bases);
            let mut overrides = overrides.into_iter();
            files.extend(overrides.next());
            ignored.extend(overrides);
        }
        None => ignored.extend(overrides),
    }
    ComposeFileOrder { files, ignored }
}

/// Reads and merges `files` (base first) into one project.
pub fn parse_compose(
    files: &[ComposeInput<'_>],
    env: &Interpolation,
) -> (ComposeProject, Vec<Diagnostic>) {
    let project_dir = files
        .first()
        .and_then(|f| f.path.parent())
        .filter(|p| !p.as_os_str().is_empty())
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    let mut diagnostics = Vec::new();
    let mut name = None;
    let mut services: Vec<ServiceLayer> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for input in files {
        let (root, yaml_diagnostics) = parse_yaml(input.file, input.text);
        diagnostics.extend(yaml_diagnostics);
        let mut reader = Reader {
            text: input.text,
            env,
            diagnostics: &mut diagnostics,
        };
        let Some(root) = root else { continue };
        let file = reader.read_file(&root);
        if file.name.is_some() {
            name = file.name;
        }
        for layer in file.services {
            match index.get(&layer.name.value) {
                Some(&i) => {
                    if let Some(base) = services.get_mut(i) {
                        base.merge(layer);
                    }
                }
                None => {
                    index.insert(layer.name.value.clone(), services.len());
                    services.push(layer);
                }
            }
        }
    }
    let services = services
        .into_iter()
        .map(|layer| layer.finish(&project_dir))
        .collect();
    let project = ComposeProject {
        files: files.iter().map(|f| f.file).collect(),
        project_dir,
        name,
        services,
    };
    (project, diagnostics)
}

/// A value of one file's layer: absent, reset with `!reset`, set to replace with
/// `!override`, or set to merge with what earlier files said.
#[derive(Debug)]
enum Field<T> {
    Absent,
    Reset,
    Replace(T),
    Merge(T),
}

impl<T> Field<T> {
    /// Applies a later file's `over` to `self`; `merge` combines two set values.
    fn apply(&mut self, over: Field<T>, merge: impl FnOnce(&mut T, T)) {
        match over {
            Field::Absent => {}
            Field::Reset => *self = Field::Reset,
            Field::Replace(value) => *self = Field::Replace(value),
            Field::Merge(value) => match self {
                Field::Replace(base) | Field::Merge(base) => merge(base, value),
                Field::Absent | Field::Reset => *self = Field::Merge(value),
            },
        }
    }

    fn into_option(self) -> Option<T> {
        match self {
            Field::Replace(value) | Field::Merge(value) => Some(value),
            Field::Absent | Field::Reset => None,
        }
    }
}

fn replace<T>(base: &mut T, over: T) {
    *base = over;
}

struct FileLayer {
    name: Option<Spanned<String>>,
    services: Vec<ServiceLayer>,
}

struct ServiceLayer {
    name: Spanned<String>,
    /// The service's entry (key through value) in each file that defines it.
    spans: Vec<Span>,
    image: Field<Spanned<String>>,
    build: Field<BuildLayer>,
    healthcheck: Field<HealthcheckLayer>,
    devices: Field<Vec<DeviceReservation>>,
    gpus: Field<Vec<DeviceReservation>>,
    command: Field<Command>,
    entrypoint: Field<Command>,
    platform: Field<Spanned<String>>,
    profiles: Field<Vec<Spanned<String>>>,
}

struct BuildLayer {
    span: Span,
    context: Option<Spanned<String>>,
    dockerfile: Option<Spanned<String>>,
    dockerfile_inline: Option<Spanned<String>>,
    target: Option<Spanned<String>>,
    args: Vec<BuildArg>,
}

struct HealthcheckLayer {
    span: Span,
    test: Option<Spanned<Vec<Spanned<String>>>>,
    disable: Option<bool>,
    interval: Option<Spanned<String>>,
    timeout: Option<Spanned<String>>,
    start_period: Option<Spanned<String>>,
    retries: Option<Spanned<String>>,
}

impl ServiceLayer {
    fn merge(&mut self, over: ServiceLayer) {
        self.spans.extend(over.spans);
        self.image.apply(over.image, replace);
        self.build.apply(over.build, BuildLayer::merge);
        self.healthcheck
            .apply(over.healthcheck, HealthcheckLayer::merge);
        self.devices
            .apply(over.devices, |base, more| base.extend(more));
        self.gpus.apply(over.gpus, replace);
        self.command.apply(over.command, replace);
        self.entrypoint.apply(over.entrypoint, replace);
        self.platform.apply(over.platform, replace);
        self.profiles.apply(over.profiles, |base, more| {
            for profile in more {
                if !base.iter().any(|p| p.value == profile.value) {
                    base.push(profile);
                }
            }
        });
    }

    fn finish(self, project_dir: &Path) -> Service {
        let mut gpus = self.devices.into_option().unwrap_or_default();
        gpus.extend(self.gpus.into_option().unwrap_or_default());
        Service {
            name: self.name,
            spans: self.spans,
            image: self.image.into_option(),
            build: self.build.into_option().map(|b| b.finish(project_dir)),
            healthcheck: self.healthcheck.into_option().map(HealthcheckLayer::finish),
            gpus,
            command: self.command.into_option(),
            entrypoint: self.entrypoint.into_option(),
            platform: self.platform.into_option(),
            profiles: self.profiles.into_option().unwrap_or_default(),
        }
    }
}

impl BuildLayer {
    fn merge(&mut self, over: BuildLayer) {
        self.span = over.span;
        override_option(&mut self.context, over.context);
        override_option(&mut self.dockerfile, over.dockerfile);
        override_option(&mut self.dockerfile_inline, over.dockerfile_inline);
        override_option(&mut self.target, over.target);
        for arg in over.args {
            match self
                .args
                .iter_mut()
                .find(|a| a.name.value == arg.name.value)
            {
                Some(existing) => *existing = arg,
                None => self.args.push(arg),
            }
        }
    }

    fn finish(self, project_dir: &Path) -> Build {
        let context = self
            .context
            .unwrap_or_else(|| Spanned::new(".".to_string(), self.span));
        let remote_context = is_remote_context(&context.value);
        let context_path = if remote_context {
            PathBuf::from(&context.value)
        } else {
            normalize_path(&project_dir.join(&context.value))
        };
        let dockerfile_path = match &self.dockerfile {
            Some(dockerfile) if remote_context => PathBuf::from(&dockerfile.value),
            Some(dockerfile) => normalize_path(&context_path.join(&dockerfile.value)),
            None if remote_context => PathBuf::from("Dockerfile"),
            None => context_path.join("Dockerfile"),
        };
        Build {
            span: self.span,
            context,
            context_path,
            remote_context,
            dockerfile: self.dockerfile,
            dockerfile_path,
            dockerfile_inline: self.dockerfile_inline,
            target: self.target,
            args: self.args,
        }
    }
}

impl HealthcheckLayer {
    fn merge(&mut self, over: HealthcheckLayer) {
        self.span = over.span;
        override_option(&mut self.test, over.test);
        override_option(&mut self.disable, over.disable);
        override_option(&mut self.interval, over.interval);
        override_option(&mut self.timeout, over.timeout);
        override_option(&mut self.start_period, over.start_period);
        override_option(&mut self.retries, over.retries);
    }

    fn finish(self) -> Healthcheck {
        let none_test = self
            .test
            .as_ref()
            .and_then(|t| t.value.first())
            .is_some_and(|w| w.value == "NONE");
        Healthcheck {
            span: self.span,
            disable: self.disable.unwrap_or(false) || none_test,
            test: self.test,
            interval: self.interval,
            timeout: self.timeout,
            start_period: self.start_period,
            retries: self.retries,
        }
    }
}

fn override_option<T>(base: &mut Option<T>, over: Option<T>) {
    if over.is_some() {
        *base = over;
    }
}

/// Whether a build context is a URL (git repository or tarball) rather than a folder.
fn is_remote_context(context: &str) -> bool {
    context.contains("://") || context.starts_with("git@") || context.starts_with("github.com/")
}

/// A scalar's text after interpolation, with what is needed to span parts of it.
struct ScalarText {
    value: String,
    span: Span,
    /// Where `value` starts in the file when it is the file's text byte for byte.
    exact_start: Option<usize>,
}

impl ScalarText {
    /// The file span of `range` of the value, or the whole scalar when the value does not
    /// map onto the file one to one.
    fn sub_span(&self, range: Range<usize>) -> Span {
        match self.exact_start {
            Some(start) => Span::new(self.span.file, start + range.start..start + range.end),
            None => self.span,
        }
    }

    fn spanned(&self, range: Range<usize>) -> Spanned<String> {
        let text = self.value.get(range.clone()).unwrap_or("").to_string();
        Spanned::new(text, self.sub_span(range))
    }
}

struct Reader<'a> {
    text: &'a str,
    env: &'a Interpolation,
    diagnostics: &'a mut Vec<Diagnostic>,
}

impl Reader<'_> {
    fn error(&mut self, message: impl Into<String>, span: Span) {
        self.diagnostics
            .push(Diagnostic::error(message).with_span(span));
    }

    fn wrong_type(&mut self, key: &str, expected: &str, node: &YamlNode) {
        self.error(
            format!("`{key}` must be {expected}, not {}", node.kind_name()),
            node.span,
        );
    }

    fn read_file(&mut self, root: &YamlNode) -> FileLayer {
        let mut layer = FileLayer {
            name: None,
            services: Vec::new(),
        };
        let entries = match &root.value {
            YamlValue::Mapping(entries) => entries,
            YamlValue::Null => return layer,
            _ => {
                self.wrong_type("the compose file", "a mapping", root);
                return layer;
            }
        };
        for entry in entries {
            match key_text(&entry.key) {
                Some("name") => layer.name = self.string("name", &entry.value),
                Some("services") => match &entry.value.value {
                    YamlValue::Mapping(services) => {
                        for service in services {
                            if let Some(service) = self.read_service(&service.key, &service.value) {
                                layer.services.push(service);
                            }
                        }
                    }
                    YamlValue::Null => {}
                    _ => self.wrong_type("services", "a mapping", &entry.value),
                },
                _ => {}
            }
        }
        layer
    }

    fn read_service(&mut self, key: &YamlNode, value: &YamlNode) -> Option<ServiceLayer> {
        let Some(name) = key.as_scalar() else {
            self.error("a service name must be a string", key.span);
            return None;
        };
        let mut layer = ServiceLayer {
            name: Spanned::new(name.text.clone(), key.span),
            spans: vec![key.span.cover(value.span)],
            image: Field::Absent,
            build: Field::Absent,
            healthcheck: Field::Absent,
            devices: Field::Absent,
            gpus: Field::Absent,
            command: Field::Absent,
            entrypoint: Field::Absent,
            platform: Field::Absent,
            profiles: Field::Absent,
        };
        let entries = match &value.value {
            YamlValue::Mapping(entries) => entries,
            YamlValue::Null => return Some(layer),
            _ => {
                self.wrong_type(&format!("services.{}", name.text), "a mapping", value);
                return Some(layer);
            }
        };
        for entry in entries {
            let Some(key) = key_text(&entry.key) else {
                continue;
            };
            let node = &entry.value;
            match key {
                "image" => layer.image = self.field(node, |r, n| r.strict_string("image", n)),
                "build" => layer.build = self.field(node, Reader::build),
                "healthcheck" => layer.healthcheck = self.field(node, Reader::healthcheck),
                "deploy" => layer.devices = self.field(node, Reader::deploy_devices),
                "gpus" => layer.gpus = self.field(node, Reader::gpus),
                "command" => layer.command = self.field(node, |r, n| r.command("command", n)),
                "entrypoint" => {
                    layer.entrypoint = self.field(node, |r, n| r.command("entrypoint", n));
                }
                "platform" => layer.platform = self.field(node, |r, n| r.string("platform", n)),
                "profiles" => {
                    layer.profiles = self.field(node, |r, n| r.string_list("profiles", n));
                }
                _ => {}
            }
        }
        Some(layer)
    }

    /// Reads a service key, honouring `!reset` and `!override`.
    fn field<T>(
        &mut self,
        node: &YamlNode,
        read: impl FnOnce(&mut Self, &YamlNode) -> Option<T>,
    ) -> Field<T> {
        match node.tag.as_deref() {
            Some("!reset") => Field::Reset,
            Some("!override") => read(self, node).map_or(Field::Absent, Field::Replace),
            _ => read(self, node).map_or(Field::Absent, Field::Merge),
        }
    }

    /// A scalar's text, interpolated; `None` (with a diagnostic) for a collection.
    fn scalar(&mut self, key: &str, node: &YamlNode) -> Option<ScalarText> {
        let scalar = match &node.value {
            YamlValue::Scalar(scalar) => scalar,
            YamlValue::Null => return None,
            _ => {
                self.wrong_type(key, "a string", node);
                return None;
            }
        };
        let interpolated = match self.env.interpolate(&scalar.text) {
            Ok(done) => done,
            Err(error) => {
                self.error(error.message, node.span);
                return None;
            }
        };
        for name in &interpolated.unset {
            self.diagnostics.push(
                Diagnostic::new(
                    Severity::Note,
                    format!("variable `{name}` is not set; compose substitutes an empty string"),
                )
                .with_span(node.span),
            );
        }
        let exact_start = if interpolated.value == scalar.text {
            let written = self.text.get(node.span.range()).unwrap_or("");
            let start = node.span.start as usize;
            if written == scalar.text {
                Some(start)
            } else if written.len() == scalar.text.len() + 2
                && written.get(1..written.len() - 1) == Some(scalar.text.as_str())
            {
                Some(start + 1)
            } else {
                None
            }
        } else {
            None
        };
        Some(ScalarText {
            value: interpolated.value,
            span: node.span,
            exact_start,
        })
    }

    fn string(&mut self, key: &str, node: &YamlNode) -> Option<Spanned<String>> {
        self.scalar(key, node)
            .map(|text| Spanned::new(text.value, text.span))
    }

    /// Like [`Reader::string`], but a number or boolean is a type error too (the compose
    /// schema types these keys as strings).
    fn strict_string(&mut self, key: &str, node: &YamlNode) -> Option<Spanned<String>> {
        if let Some(scalar) = node.as_scalar() {
            if scalar.plain && (scalar.as_bool().is_some() || scalar.as_integer().is_some()) {
                self.wrong_type(key, "a string", node);
                return None;
            }
        }
        self.string(key, node)
    }

    fn string_list(&mut self, key: &str, node: &YamlNode) -> Option<Vec<Spanned<String>>> {
        match &node.value {
            YamlValue::Sequence(items) => Some(
                items
                    .iter()
                    .filter_map(|item| self.string(key, item))
                    .collect(),
            ),
            YamlValue::Null => None,
            _ => {
                self.wrong_type(key, "a list of strings", node);
                None
            }
        }
    }

    fn build(&mut self, node: &YamlNode) -> Option<BuildLayer> {
        let mut layer = BuildLayer {
            span: node.span,
            context: None,
            dockerfile: None,
            dockerfile_inline: None,
            target: None,
            args: Vec::new(),
        };
        match &node.value {
            YamlValue::Scalar(_) => {
                layer.context = self.strict_string("build", node);
                return layer.context.is_some().then_some(layer);
            }
            YamlValue::Mapping(entries) => {
                for entry in entries {
                    let value = &entry.value;
                    match key_text(&entry.key) {
                        Some("context") => {
                            layer.context = self.strict_string("build.context", value)
                        }
                        Some("dockerfile") => {
                            layer.dockerfile = self.strict_string("build.dockerfile", value);
                        }
                        Some("dockerfile_inline") => {
                            layer.dockerfile_inline = self.string("build.dockerfile_inline", value);
                        }
                        Some("target") => layer.target = self.strict_string("build.target", value),
                        Some("args") => layer.args = self.build_args(value),
                        _ => {}
                    }
                }
            }
            YamlValue::Null => return None,
            YamlValue::Sequence(_) => {
                self.wrong_type("build", "a string or a mapping", node);
                return None;
            }
        }
        Some(layer)
    }

    fn build_args(&mut self, node: &YamlNode) -> Vec<BuildArg> {
        let mut args: Vec<BuildArg> = Vec::new();
        match &node.value {
            YamlValue::Mapping(entries) => {
                for entry in entries {
                    let Some(name) = entry.key.as_scalar() else {
                        self.error("a build argument name must be a string", entry.key.span);
                        continue;
                    };
                    let name = Spanned::new(name.text.clone(), entry.key.span);
                    let value = match entry.value.value {
                        YamlValue::Null => self.variable(&name),
                        _ => self.string("build.args", &entry.value),
                    };
                    args.push(BuildArg { name, value });
                }
            }
            YamlValue::Sequence(items) => {
                for item in items {
                    let Some(text) = self.scalar("build.args", item) else {
                        continue;
                    };
                    let arg = match text.value.find('=') {
                        Some(eq) => BuildArg {
                            name: text.spanned(0..eq),
                            value: Some(text.spanned(eq + 1..text.value.len())),
                        },
                        None => {
                            let name = text.spanned(0..text.value.len());
                            let value = self.variable(&name);
                            BuildArg { name, value }
                        }
                    };
                    match args.iter_mut().find(|a| a.name.value == arg.name.value) {
                        Some(existing) => *existing = arg,
                        None => args.push(arg),
                    }
                }
            }
            YamlValue::Null => {}
            YamlValue::Scalar(_) => self.wrong_type("build.args", "a mapping or a list", node),
        }
        args
    }

    /// The value of the variable `name` (`.env`, `--var`), located at the name: what compose
    /// gives a build argument written without a value.
    fn variable(&self, name: &Spanned<String>) -> Option<Spanned<String>> {
        let value = self.env.get(&name.value)?;
        Some(Spanned::new(value.to_string(), name.span))
    }

    fn healthcheck(&mut self, node: &YamlNode) -> Option<HealthcheckLayer> {
        let entries = match &node.value {
            YamlValue::Mapping(entries) => entries,
            YamlValue::Null => return None,
            _ => {
                self.wrong_type("healthcheck", "a mapping", node);
                return None;
            }
        };
        let mut layer = HealthcheckLayer {
            span: node.span,
            test: None,
            disable: None,
            interval: None,
            timeout: None,
            start_period: None,
            retries: None,
        };
        for entry in entries {
            let value = &entry.value;
            match key_text(&entry.key) {
                Some("test") => layer.test = self.healthcheck_test(value),
                Some("disable") => {
                    if let Some(text) = self.scalar("healthcheck.disable", value) {
                        match text.value.as_str() {
                            "true" | "True" | "TRUE" => layer.disable = Some(true),
                            "false" | "False" | "FALSE" => layer.disable = Some(false),
                            _ => self.wrong_type("healthcheck.disable", "a boolean", value),
                        }
                    }
                }
                Some("interval") => layer.interval = self.string("healthcheck.interval", value),
                Some("timeout") => layer.timeout = self.string("healthcheck.timeout", value),
                Some("start_period") => {
                    layer.start_period = self.string("healthcheck.start_period", value);
                }
                Some("retries") => layer.retries = self.string("healthcheck.retries", value),
                _ => {}
            }
        }
        Some(layer)
    }

    fn healthcheck_test(&mut self, node: &YamlNode) -> Option<Spanned<Vec<Spanned<String>>>> {
        match &node.value {
            YamlValue::Scalar(_) => {
                let text = self.string("healthcheck.test", node)?;
                let words = vec![Spanned::new("CMD-SHELL".to_string(), text.span), text];
                Some(Spanned::new(words, node.span))
            }
            YamlValue::Sequence(_) => {
                let words = self.string_list("healthcheck.test", node)?;
                Some(Spanned::new(words, node.span))
            }
            YamlValue::Null => None,
            YamlValue::Mapping(_) => {
                self.wrong_type("healthcheck.test", "a string or a list", node);
                None
            }
        }
    }

    fn command(&mut self, key: &str, node: &YamlNode) -> Option<Command> {
        match &node.value {
            YamlValue::Scalar(_) => {
                let text = self.scalar(key, node)?;
                let words = match split_shell_words(&text.value) {
                    Ok(ranges) => ranges
                        .into_iter()
                        .map(|(word, raw)| Spanned::new(word, text.sub_span(raw)))
                        .collect(),
                    Err(message) => {
                        self.error(format!("`{key}`: {message}"), node.span);
                        Vec::new()
                    }
                };
                Some(Command {
                    span: node.span,
                    string_form: true,
                    words,
                })
            }
            YamlValue::Sequence(_) => Some(Command {
                span: node.span,
                string_form: false,
                words: self.string_list(key, node)?,
            }),
            YamlValue::Null => None,
            YamlValue::Mapping(_) => {
                self.wrong_type(key, "a string or a list", node);
                None
            }
        }
    }

    /// `deploy.resources.reservations.devices`.
    fn deploy_devices(&mut self, node: &YamlNode) -> Option<Vec<DeviceReservation>> {
        let resources = self.child(node, "deploy", "resources")?;
        let reservations = self.child(resources, "deploy.resources", "reservations")?;
        let devices = self.child(reservations, "deploy.resources.reservations", "devices")?;
        self.devices(
            "deploy.resources.reservations.devices",
            devices,
            DeviceSource::Deploy,
        )
    }

    /// The value of `child` in the mapping `node` (the value of `key`).
    fn child<'n>(&mut self, node: &'n YamlNode, key: &str, child: &str) -> Option<&'n YamlNode> {
        match &node.value {
            YamlValue::Mapping(_) => node.get(child).map(|entry| &entry.value),
            YamlValue::Null => None,
            _ => {
                self.wrong_type(key, "a mapping", node);
                None
            }
        }
    }

    fn gpus(&mut self, node: &YamlNode) -> Option<Vec<DeviceReservation>> {
        if let YamlValue::Scalar(_) = node.value {
            let text = self.scalar("gpus", node)?;
            if text.value != "all" {
                self.error(
                    format!(
                        "`gpus` must be `all` or a list of devices, not `{}`",
                        text.value
                    ),
                    node.span,
                );
                return None;
            }
            return Some(vec![DeviceReservation {
                span: node.span,
                source: DeviceSource::GpusKey,
                driver: None,
                count: Some(Spanned::new(DeviceCount::All, node.span)),
                device_ids: Vec::new(),
                capabilities: vec![Spanned::new("gpu".to_string(), node.span)],
            }]);
        }
        self.devices("gpus", node, DeviceSource::GpusKey)
    }

    fn devices(
        &mut self,
        key: &str,
        node: &YamlNode,
        source: DeviceSource,
    ) -> Option<Vec<DeviceReservation>> {
        let items = match &node.value {
            YamlValue::Sequence(items) => items,
            YamlValue::Null => return None,
            _ => {
                self.wrong_type(key, "a list of devices", node);
                return None;
            }
        };
        let mut devices = Vec::with_capacity(items.len());
        for item in items {
            let Some(entries) = item.as_mapping() else {
                self.wrong_type(key, "a list of mappings", item);
                continue;
            };
            let mut device = DeviceReservation {
                span: item.span,
                source,
                driver: None,
                count: None,
                device_ids: Vec::new(),
                capabilities: Vec::new(),
            };
            for entry in entries {
                let value = &entry.value;
                match key_text(&entry.key) {
                    Some("driver") => device.driver = self.string("driver", value),
                    Some("count") => device.count = self.device_count(value),
                    Some("device_ids") => {
                        device.device_ids =
                            self.string_list("device_ids", value).unwrap_or_default();
                    }
                    Some("capabilities") => {
                        device.capabilities =
                            self.string_list("capabilities", value).unwrap_or_default();
                    }
                    _ => {}
                }
            }
            devices.push(device);
        }
        Some(devices)
    }

    fn device_count(&mut self, node: &YamlNode) -> Option<Spanned<DeviceCount>> {
        let text = self.scalar("count", node)?;
        let count = if text.value == "all" {
            DeviceCount::All
        } else if let Ok(n) = text.value.parse::<u64>() {
            DeviceCount::Number(n)
        } else {
            self.error(
                format!("`count` must be a number or `all`, not `{}`", text.value),
                node.span,
            );
            return None;
        };
        Some(Spanned::new(count, text.span))
    }
}

/// The text of a scalar key.
fn key_text(key: &YamlNode) -> Option<&str> {
    key.as_scalar().map(|s| s.text.as_str())
}

/// Splits a command string into words as compose does (go-shellwords: blanks separate
/// words, single quotes are literal, double quotes and backslashes escape). Each word comes
/// with the byte range of its raw text in `input`.
fn split_shell_words(input: &str) -> Result<Vec<(String, Range<usize>)>, String> {
    let mut words = Vec::new();
    let mut current: Option<(String, usize)> = None;
    let mut chars = input.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            ' ' | '\t' | '\n' | '\r' => {
                if let Some((word, start)) = current.take() {
                    words.push((word, start..i));
                }
            }
            '\'' => {
                let word = &mut current.get_or_insert_with(|| (String::new(), i)).0;
                loop {
                    match chars.next() {
                        Some((_, '\'')) => break,
                        Some((_, ch)) => word.push(ch),
                        None => return Err("a single quote is not closed".to_string()),
                    }
                }
            }
            '"' => {
                let word = &mut current.get_or_insert_with(|| (String::new(), i)).0;
                loop {
                    match chars.next() {
                        Some((_, '"')) => break,
                        Some((_, '\\')) => match chars.next() {
                            Some((_, ch @ ('"' | '\\' | '$' | '`'))) => word.push(ch),
                            Some((_, ch)) => {
                                word.push('\\');
                                word.push(ch);
                            }
                            None => return Err("a double quote is not closed".to_string()),
                        },
                        Some((_, ch)) => word.push(ch),
                        None => return Err("a double quote is not closed".to_string()),
                    }
                }
            }
            '\\' => {
                let word = &mut current.get_or_insert_with(|| (String::new(), i)).0;
                if let Some((_, ch)) = chars.next() {
                    word.push(ch);
                }
            }
            other => current
                .get_or_insert_with(|| (String::new(), i))
                .0
                .push(other),
        }
    }
    if let Some((word, start)) = current {
        words.push((word, start..input.len()));
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_order_follows_compose_preferences() {
        let order = compose_file_order(&[
            "docker-compose.yml",
            "compose.override.yaml",
            "compose.yaml",
            "docker-compose.override.yml",
        ]);
        assert_eq!(order.files, ["compose.yaml", "compose.override.yaml"]);
        assert_eq!(
            order.ignored,
            ["docker-compose.yml", "docker-compose.override.yml"]
        );
        let order = compose_file_order(&["docker-compose.yaml", "docker-compose.yml"]);
        assert_eq!(order.files, ["docker-compose.yml"]);
        let order = compose_file_order(&["compose.override.yml"]);
        assert!(order.files.is_empty());
    }

    #[test]
    fn shell_words_keep_raw_ranges() {
        let input = r#"python -c 'print(1)' "a b"\ c"#;
        let words = split_shell_words(input).expect("words");
        let texts: Vec<&str> = words.iter().map(|(w, _)| w.as_str()).collect();
        assert_eq!(texts, ["python", "-c", "print(1)", "a b c"]);
        assert_eq!(&input[words[2].1.clone()], "'print(1)'");
        assert!(split_shell_words("echo 'open").is_err());
    }

    #[test]
    fn paths_normalise_lexically() {
        assert_eq!(
            normalize_path(Path::new("/p/./a/../b")),
            PathBuf::from("/p/b")
        );
        assert_eq!(
            normalize_path(Path::new("../x/./y")),
            PathBuf::from("../x/y")
        );
        assert_eq!(normalize_path(Path::new("/..")), PathBuf::from("/"));
        assert_eq!(normalize_path(Path::new("./.")), PathBuf::from("."));
    }

    const BASE: &str = r#"name: demo
services:
  web:
    build:
      context: ./app
      dockerfile: docker/Dockerfile.prod
      target: runtime
      args:
        PY_VERSION: "3.12"
        NOVALUE:
    image: "registry/web:${TAG:-latest}"
    command: python -m app --port 80
    healthcheck:
      test: ["CMD", "curl", "-f", "http://localhost"]
      interval: 30s
    deploy:
      resources:
        reservations:
          devices:
            - driver: nvidia
              count: 1
              capabilities: [gpu]
  worker:
    build: ../worker
    gpus: all
"#;

    const OVERRIDE: &str = r#"services:
  web:
    build:
      args:
        PY_VERSION: "3.11"
        EXTRA: x
    healthcheck:
      test: ["NONE"]
  db:
    image: postgres:16
"#;

    fn project(texts: &[&str], env: &Interpolation) -> (ComposeProject, Vec<Diagnostic>) {
        let paths = [
            Path::new("/proj/compose.yaml"),
            Path::new("/proj/compose.override.yaml"),
        ];
        let inputs: Vec<ComposeInput<'_>> = texts
            .iter()
            .zip(paths.iter().cycle())
            .enumerate()
            .map(|(i, (text, path))| ComposeInput {
                file: FileId(i as u32),
                path,
                text,
            })
            .collect();
        parse_compose(&inputs, env)
    }

    fn single(text: &str) -> (ComposeProject, Vec<Diagnostic>) {
        project(&[text], &Interpolation::new())
    }

    /// The text `span` underlines, in whichever of `texts` it points into.
    fn under<'t>(texts: &[&'t str], span: Span) -> &'t str {
        &texts[span.file.0 as usize][span.range()]
    }

    #[test]
    fn merged_project_spans_point_at_the_right_file() {
        let texts = [BASE, OVERRIDE];
        let (project, diags) = project(&texts, &Interpolation::new());
        assert!(diags.iter().all(|d| !d.is_error()), "{diags:?}");
        assert_eq!(
            project.name.as_ref().map(|n| n.value.as_str()),
            Some("demo")
        );
        let names: Vec<&str> = project
            .services
            .iter()
            .map(|s| s.name.value.as_str())
            .collect();
        assert_eq!(names, ["web", "worker", "db"]);

        let web = project.service("web").expect("web");
        assert_eq!(under(&texts, web.name.span), "web");
        assert_eq!(web.name.span.file, FileId(0));

        let build = web.build.as_ref().expect("build");
        assert_eq!(under(&texts, build.context.span), "./app");
        assert_eq!(build.context_path, PathBuf::from("/proj/app"));
        let dockerfile = build.dockerfile.as_ref().expect("dockerfile");
        assert_eq!(under(&texts, dockerfile.span), "docker/Dockerfile.prod");
        assert_eq!(
            build.dockerfile_path,
            PathBuf::from("/proj/app/docker/Dockerfile.prod")
        );
        assert_eq!(
            build.target.as_ref().map(|t| t.value.as_str()),
            Some("runtime")
        );

        // build.args merged by name: the override's value wins and points into the override.
        let arg_names: Vec<&str> = build.args.iter().map(|a| a.name.value.as_str()).collect();
        assert_eq!(arg_names, ["PY_VERSION", "NOVALUE", "EXTRA"]);
        let py = build.args[0].value.as_ref().expect("value");
        assert_eq!(py.value, "3.11");
        assert_eq!(py.span.file, FileId(1));
        assert_eq!(under(&texts, py.span), "\"3.11\"");
        assert_eq!(under(&texts, build.args[1].name.span), "NOVALUE");
        assert!(build.args[1].value.is_none());

        // Interpolated value: the span is the original scalar.
        let image = web.image.as_ref().expect("image");
        assert_eq!(image.value, "registry/web:latest");
        assert_eq!(under(&texts, image.span), "\"registry/web:${TAG:-latest}\"");

        let command = web.command.as_ref().expect("command");
        assert!(command.string_form);
        let words: Vec<&str> = command.words.iter().map(|w| w.value.as_str()).collect();
        assert_eq!(words, ["python", "-m", "app", "--port", "80"]);
        assert_eq!(under(&texts, command.words[2].span), "app");

        // healthcheck.test is replaced by the override; interval is kept from the base.
        let health = web.healthcheck.as_ref().expect("healthcheck");
        assert!(health.disable);
        let test = health.test.as_ref().expect("test");
        assert_eq!(under(&texts, test.span), "[\"NONE\"]");
        assert_eq!(test.span.file, FileId(1));
        assert_eq!(
            health.interval.as_ref().map(|i| i.value.as_str()),
            Some("30s")
        );

        assert_eq!(web.gpus.len(), 1);
        let gpu = &web.gpus[0];
        assert_eq!(gpu.source, DeviceSource::Deploy);
        assert!(under(&texts, gpu.span).starts_with("driver: nvidia"));
        assert!(under(&texts, gpu.span).ends_with("capabilities: [gpu]"));
        let count = gpu.count.as_ref().expect("count");
        assert_eq!(count.value, DeviceCount::Number(1));
        assert_eq!(under(&texts, count.span), "1");
        assert_eq!(under(&texts, gpu.capabilities[0].span), "gpu");
        assert_eq!(
            under(&texts, gpu.driver.as_ref().expect("driver").span),
            "nvidia"
        );

        let worker = project.service("worker").expect("worker");
        let build = worker.build.as_ref().expect("build");
        assert_eq!(under(&texts, build.context.span), "../worker");
        assert_eq!(build.context_path, PathBuf::from("/worker"));
        assert_eq!(build.dockerfile_path, PathBuf::from("/worker/Dockerfile"));
        assert_eq!(
            worker.gpus[0].count.as_ref().map(|c| c.value),
            Some(DeviceCount::All)
        );
        assert_eq!(under(&texts, worker.gpus[0].span), "all");

        let db = project.service("db").expect("db");
        assert_eq!(db.name.span.file, FileId(1));
        assert_eq!(
            under(&texts, db.image.as_ref().expect("image").span),
            "postgres:16"
        );
    }

    #[test]
    fn list_form_args_are_spanned_on_name_and_value() {
        let text = "services:\n  app:\n    build:\n      args:\n        - PY=3.12\n        - \"QUOTED=a b\"\n        - BARE\n        - ${NAME}=x\n";
        let env = Interpolation::from_pairs([("NAME", "FROM_ENV")]);
        let (project, diags) = project(&[text], &env);
        assert!(diags.is_empty(), "{diags:?}");
        let build = project.services[0].build.as_ref().expect("build");
        assert_eq!(build.context.value, ".");
        assert_eq!(build.context_path, PathBuf::from("/proj"));
        let args = &build.args;
        assert_eq!(&text[args[0].name.span.range()], "PY");
        assert_eq!(
            &text[args[0].value.as_ref().expect("v").span.range()],
            "3.12"
        );
        assert_eq!(&text[args[1].name.span.range()], "QUOTED");
        assert_eq!(
            &text[args[1].value.as_ref().expect("v").span.range()],
            "a b"
        );
        assert_eq!(&text[args[2].name.span.range()], "BARE");
        assert!(args[2].value.is_none());
        // Interpolated items are spanned on the whole scalar.
        assert_eq!(args[3].name.value, "FROM_ENV");
        assert_eq!(&text[args[3].name.span.range()], "${NAME}=x");
    }

    #[test]
    fn args_without_a_value_take_the_variable_of_their_name() {
        let text = "services:\n  app:\n    build:\n      args:\n        - NAME\n        - UNSET\n  map:\n    build:\n      args:\n        NAME:\n        OTHER: [x]\n";
        let env = Interpolation::from_pairs([("NAME", "from-env"), ("OTHER", "unused")]);
        let (project, diags) = project(&[text], &env);
        let values = |service: usize| -> Vec<(String, Option<(String, &str)>)> {
            let build = project.services[service].build.as_ref().expect("build");
            build
                .args
                .iter()
                .map(|arg| {
                    let value = arg.value.as_ref();
                    let value = value.map(|v| (v.value.clone(), &text[v.span.range()]));
                    (arg.name.value.clone(), value)
                })
                .collect()
        };
        // The value is located at the name that asks for it.
        assert_eq!(
            values(0),
            [
                ("NAME".into(), Some(("from-env".into(), "NAME"))),
                ("UNSET".into(), None)
            ]
        );
        // A value of the wrong type is an error, not a reason to look the variable up.
        assert_eq!(
            values(1),
            [
                ("NAME".into(), Some(("from-env".into(), "NAME"))),
                ("OTHER".into(), None)
            ]
        );
        let errors: Vec<&str> = diags
            .iter()
            .map(|d| &text[d.span.expect("span").range()])
            .collect();
        assert_eq!(errors, ["[x]"]);
    }

    #[test]
    fn wrong_types_are_errors_with_spans() {
        let text = "services:\n  a:\n    build: 42\n    image: [x]\n  b:\n    deploy:\n      resources:\n        reservations:\n          devices:\n            - count: many\n";
        let (project, diags) = single(text);
        assert_eq!(project.services.len(), 2);
        let errors: Vec<&str> = diags
            .iter()
            .filter(|d| d.is_error())
            .map(|d| &text[d.span.expect("span").range()])
            .collect();
        assert_eq!(errors, ["42", "[x]", "many"]);
        assert!(project.services[0].build.is_none());
        let (_, diags) = single("services: []\n");
        assert_eq!(diags.len(), 1);
        assert_eq!(
            &"services: []\n"[diags[0].span.expect("span").range()],
            "[]"
        );
    }

    #[test]
    fn build_list_is_an_error_but_a_quoted_number_is_a_context() {
        let (project, diags) = single("services:\n  a:\n    build: '42'\n");
        assert!(diags.is_empty(), "{diags:?}");
        let build = project.services[0].build.as_ref().expect("build");
        assert_eq!(build.context_path, PathBuf::from("/proj/42"));
        let (project, diags) = single("services:\n  a:\n    build: [x]\n");
        assert!(project.services[0].build.is_none());
        assert_eq!(diags.len(), 1);
        assert!(diags[0]
            .message
            .contains("`build` must be a string or a mapping"));
    }

    #[test]
    fn broken_yaml_reports_the_line_and_keeps_what_was_read() {
        let text = "services:\n  web:\n    image: nginx\n  api:\n    image: \"unterminated\n";
        let (project, diags) = single(text);
        let error = diags.iter().find(|d| d.is_error()).expect("error");
        let file = crate::source::SourceFile::new(PathBuf::new(), "c".into(), text.into());
        let (line, _) = file.line_column(error.span.expect("span").start as usize);
        assert!(line >= 5, "line {line}");
        let web = project.service("web").expect("web");
        assert_eq!(web.image.as_ref().map(|i| i.value.as_str()), Some("nginx"));

        let text = "services:\n  web:\n    image: nginx\n   bad indent: x\n";
        let (_, diags) = single(text);
        let error = diags.iter().find(|d| d.is_error()).expect("error");
        let file = crate::source::SourceFile::new(PathBuf::new(), "c".into(), text.into());
        let (line, _) = file.line_column(error.span.expect("span").start as usize);
        assert_eq!(line, 4);
    }

    #[test]
    fn interpolation_errors_point_at_the_value() {
        let text = "services:\n  web:\n    image: \"${IMAGE:?set IMAGE}\"\n    platform: $UNSET\n";
        let (project, diags) = single(text);
        let error = diags.iter().find(|d| d.is_error()).expect("error");
        assert_eq!(
            &text[error.span.expect("span").range()],
            "\"${IMAGE:?set IMAGE}\""
        );
        assert!(error.message.contains("set IMAGE"));
        let note = diags
            .iter()
            .find(|d| d.severity == Severity::Note)
            .expect("note");
        assert_eq!(&text[note.span.expect("span").range()], "$UNSET");
        let web = &project.services[0];
        assert!(web.image.is_none());
        assert_eq!(web.platform.as_ref().map(|p| p.value.as_str()), Some(""));
    }

    #[test]
    fn reset_and_override_tags() {
        let base = "services:\n  web:\n    image: a\n    build:\n      context: ./a\n      target: t\n    command: [x]\n";
        let over = "services:\n  web:\n    image: !reset null\n    build: !override\n      context: ./b\n    command: y z\n";
        let texts = [base, over];
        let (project, diags) = project(&texts, &Interpolation::new());
        assert!(diags.is_empty(), "{diags:?}");
        let web = &project.services[0];
        assert!(web.image.is_none());
        let build = web.build.as_ref().expect("build");
        assert_eq!(under(&texts, build.context.span), "./b");
        assert!(build.target.is_none());
        let command = web.command.as_ref().expect("command");
        assert_eq!(under(&texts, command.span), "y z");
    }

    #[test]
    fn anchors_merge_keys_and_alias_bombs() {
        let text = "x-base: &base\n  image: py:3.12\n  build: ./svc\nservices:\n  a:\n    <<: *base\n    image: override\n  b: *base\n";
        let (project, diags) = single(text);
        assert!(diags.is_empty(), "{diags:?}");
        let a = project.service("a").expect("a");
        assert_eq!(a.image.as_ref().map(|i| i.value.as_str()), Some("override"));
        let context = &a.build.as_ref().expect("build").context;
        assert_eq!(&text[context.span.range()], "./svc");
        let b = project.service("b").expect("b");
        assert_eq!(
            &text[b.image.as_ref().expect("image").span.range()],
            "py:3.12"
        );

        let mut bomb = String::from("x-0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
        for level in 1..10 {
            let refs = vec![format!("*a{}", level - 1); 9].join(", ");
            bomb.push_str(&format!("x-{level}: &a{level} [{refs}]\n"));
        }
        bomb.push_str("services:\n  web:\n    command: *a9\n    image: ok\n");
        let started = std::time::Instant::now();
        let (project, diags) = single(&bomb);
        assert!(started.elapsed().as_secs() < 5);
        assert!(diags
            .iter()
            .any(|d| d.is_error() && d.message.contains("expand")));
        let web = project.service("web").expect("web");
        assert_eq!(web.image.as_ref().map(|i| i.value.as_str()), Some("ok"));
    }

    #[test]
    fn string_test_and_gpu_list_and_absolute_dockerfile() {
        let text = "services:\n  g:\n    build:\n      context: .\n      dockerfile: /abs/Dockerfile\n    healthcheck:\n      test: curl -f http://x || exit 1\n      disable: false\n    gpus:\n      - driver: nvidia\n        device_ids: ['0', '1']\n";
        let (project, diags) = single(text);
        assert!(diags.is_empty(), "{diags:?}");
        let g = &project.services[0];
        let build = g.build.as_ref().expect("build");
        assert_eq!(build.dockerfile_path, PathBuf::from("/abs/Dockerfile"));
        let health = g.healthcheck.as_ref().expect("hc");
        assert!(!health.disable);
        let test = health.test.as_ref().expect("test");
        assert_eq!(test.value[0].value, "CMD-SHELL");
        assert_eq!(
            &text[test.value[1].span.range()],
            "curl -f http://x || exit 1"
        );
        assert_eq!(g.gpus[0].source, DeviceSource::GpusKey);
        let ids: Vec<&str> = g.gpus[0]
            .device_ids
            .iter()
            .map(|d| &text[d.span.range()])
            .collect();
        assert_eq!(ids, ["'0'", "'1'"]);
    }

    /// Every span in the serialised project and the diagnostics lies in its file on char
    /// boundaries.
    fn assert_spans_in_bounds(texts: &[&str], project: &ComposeProject, diags: &[Diagnostic]) {
        fn walk(value: &serde_json::Value, spans: &mut Vec<(usize, usize, usize)>) {
            match value {
                serde_json::Value::Object(map) => {
                    if let (Some(f), Some(s), Some(e), 3) =
                        (map.get("file"), map.get("start"), map.get("end"), map.len())
                    {
                        if let (Some(f), Some(s), Some(e)) = (f.as_u64(), s.as_u64(), e.as_u64()) {
                            spans.push((f as usize, s as usize, e as usize));
                            return;
                        }
                    }
                    map.values().for_each(|v| walk(v, spans));
                }
                serde_json::Value::Array(items) => items.iter().for_each(|v| walk(v, spans)),
                _ => {}
            }
        }
        let mut spans = Vec::new();
        walk(&serde_json::to_value(project).expect("json"), &mut spans);
        walk(&serde_json::to_value(diags).expect("json"), &mut spans);
        for (file, start, end) in spans {
            let text = texts[file];
            assert!(
                start <= end && end <= text.len(),
                "{start}..{end} in {}",
                text.len()
            );
            assert!(text.is_char_boundary(start) && text.is_char_boundary(end));
        }
    }

    #[test]
    fn sample_project_spans_are_in_bounds() {
        let texts = [BASE, OVERRIDE];
        let (project, diags) = project(&texts, &Interpolation::new());
        assert_spans_in_bounds(&texts, &project, &diags);
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_text_never_panics(text in "[a-z:{}\\[\\]\"' \n\t\\-&*!<|>#$é,.0-9\r]{0,300}") {
            let (project, diags) = single(&text);
            assert_spans_in_bounds(&[&text], &project, &diags);
        }

        #[test]
        fn mutated_compose_file_never_panics(
            at in 0usize..BASE.len(),
            insert in "[a-z:{}\\[\\]\"' \n\\-&*!<|>#$ü,.0-9]{0,12}",
            cut in 0usize..20,
        ) {
            let at = (0..=at).rev().find(|i| BASE.is_char_boundary(*i)).unwrap_or(0);
            let end = (at + cut).min(BASE.len());
            let end = (end..=BASE.len()).find(|i| BASE.is_char_boundary(*i)).unwrap_or(BASE.len());
            let text = format!("{}{}{}", &BASE[..at], insert, &BASE[end..]);
            let env = Interpolation::from_pairs([("TAG", "1")]);
            let (project, diags) = project(&[&text, OVERRIDE], &env);
            assert_spans_in_bounds(&[&text, OVERRIDE], &project, &diags);
        }
    }
}
