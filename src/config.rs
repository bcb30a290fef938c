//! The configuration file, `.dockpolicy.yaml` at the scanned root (or `--config FILE`):
//! user rule packs, whether the bundled packs load, excluded paths, per-rule settings
//! (on/off, severity), param values, and overrides of the settings and params for some
//! services or paths (SPEC.md §10.2).
//!
//! ```yaml
//! packs: [policy/]          # user packs, relative to this file
//! default_rules: true       # false: only the user packs
//! exclude: ["vendor/**"]
//! rules: {DP1005: off, DP1006: {severity: error}}
//! params:
//!   DP1001:
//!     toolchain: [gcc, clang]
//! overrides:
//!   - services: [api]
//!     paths: ["docker/ml/**"]
//!     rules: {DP1002: off}
//!     params: {DP2006: {max_size: 8KB}}
//! image_sizes: sizes.json   # measured sizes (as --image-sizes), relative to this file
//! build_args: {PYTHON_VERSION: "3.12"}   # as --build-arg, for every Dockerfile
//! services:                 # services named here, beside compose's
//!   api: {dockerfile: docker/api/Dockerfile, target: prod}
//! ```
//!
//! Every value keeps its span, so that a wrong key or a value of the wrong type is reported
//! at its place in the file. Each key is one arm of [`ConfigParser::top_level`].

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::diag::{Diagnostic, Severity};
use crate::eval::engine::ParamValue;
use crate::lang::ast::{ExprKind, Rule};
use crate::lang::parser::size_in_bytes;
use crate::lang::schema::did_you_mean;
use crate::parse::path_glob::PathGlobs;
use crate::parse::yaml::{parse_yaml, YamlEntry, YamlNode, YamlValue};
use crate::source::{FileId, Span, Spanned};

/// The name of the configuration file looked for at the scanned root.
pub const CONFIG_FILE_NAME: &str = ".dockpolicy.yaml";

/// The top-level keys.
const TOP_LEVEL_KEYS: [&str; 9] = [
    "packs",
    "default_rules",
    "exclude",
    "rules",
    "params",
    "overrides",
    "image_sizes",
    "build_args",
    "services",
];

/// The keys of a configured service.
const SERVICE_KEYS: [&str; 3] = ["dockerfile", "context", "target"];

/// The keys of one override.
const OVERRIDE_KEYS: [&str; 4] = ["services", "paths", "rules", "params"];

/// The keys of a rule's settings in mapping form.
const RULE_SETTING_KEYS: [&str; 2] = ["enabled", "severity"];

/// A parsed configuration file.
#[derive(Clone, Debug, Default)]
pub struct Config {
    /// User packs, resolved against the configuration file's folder.
    pub packs: Vec<Spanned<PathBuf>>,
    /// Whether the bundled packs load (`default_rules: false` turns them off).
    pub default_rules: bool,
    /// `exclude: [GLOB]`: paths (relative to the scanned root) never read nor reported on.
    pub exclude: PathGlobs,
    /// `rules: {RULE: on | off | {enabled, severity}}`.
    pub rules: Vec<RuleSetting>,
    /// `params: {RULE: {NAME: VALUE}}`.
    pub params: Vec<ParamSetting>,
    /// `overrides: [{services, paths, rules, params}]`, in file order (later ones win).
    pub overrides: Vec<Override>,
    /// `image_sizes: FILE`, resolved against the configuration file's folder.
    pub image_sizes: Option<Spanned<PathBuf>>,
    /// `build_args: {NAME: VALUE}`: build arguments for every Dockerfile, as `--build-arg`
    /// (which wins over them), in file order.
    pub build_args: Vec<(String, String)>,
    /// `services: {NAME: {dockerfile, context, target}}`.
    pub services: Vec<ServiceSetting>,
}

/// A service named in the configuration: a Dockerfile (relative to the configuration file's
/// folder), optionally its build context and target stage.
#[derive(Clone, Debug)]
pub struct ServiceSetting {
    pub name: Spanned<String>,
    pub dockerfile: Spanned<PathBuf>,
    pub context: Option<Spanned<PathBuf>>,
    pub target: Option<Spanned<String>>,
}

/// One param value for one rule.
#[derive(Clone, Debug)]
pub struct ParamSetting {
    pub rule: Spanned<String>,
    pub name: Spanned<String>,
    pub value: YamlNode,
}

/// Whether a rule runs, and at which severity, as configured for one rule.
#[derive(Clone, Debug)]
pub struct RuleSetting {
    pub rule: Spanned<String>,
    pub enabled: Option<bool>,
    pub severity: Option<Severity>,
}

/// Settings and params for the findings of some services or paths only.
#[derive(Clone, Debug, Default)]
pub struct Override {
    /// Compose service names (without compose, a Dockerfile's folder name).
    pub services: Vec<Spanned<String>>,
    /// Path globs relative to the scanned root.
    pub paths: PathGlobs,
    pub rules: Vec<RuleSetting>,
    pub params: Vec<ParamSetting>,
}

impl Config {
    /// The configuration with the settings and params of the rules `ids` only (a rule test
    /// loads only the rules it tests, and settings for other rules are not errors there).
    pub fn for_rules(&self, ids: &[&str]) -> Config {
        let keep_rule = |s: &RuleSetting| ids.contains(&s.rule.value.as_str());
        let keep_param = |s: &ParamSetting| ids.contains(&s.rule.value.as_str());
        let mut config = self.clone();
        config.rules.retain(keep_rule);
        config.params.retain(keep_param);
        for entry in &mut config.overrides {
            entry.rules.retain(keep_rule);
            entry.params.retain(keep_param);
        }
        config
    }
}

/// Parses the configuration file `file` (read from `path`).
pub fn parse_config(file: FileId, path: &Path, text: &str) -> (Config, Vec<Diagnostic>) {
    let mut parser = ConfigParser {
        folder: path.parent().unwrap_or(Path::new(".")).to_path_buf(),
        diagnostics: Vec::new(),
    };
    let mut config = Config {
        default_rules: true,
        ..Config::default()
    };
    let (root, diagnostics) = parse_yaml(file, text);
    parser.diagnostics = diagnostics;
    let Some(root) = root else {
        return (config, parser.diagnostics);
    };
    match root.as_mapping() {
        Some(entries) => {
            for entry in entries {
                parser.top_level(entry, &mut config);
            }
        }
        None if root.is_null() => {}
        None => parser.error(
            format!(
                "the configuration must be a mapping, not {}",
                root.kind_name()
            ),
            root.span,
        ),
    }
    (config, parser.diagnostics)
}

struct ConfigParser {
    /// The configuration file's folder, which pack paths are relative to.
    folder: PathBuf,
    diagnostics: Vec<Diagnostic>,
}

impl ConfigParser {
    fn error(&mut self, message: impl Into<String>, span: Span) {
        self.diagnostics
            .push(Diagnostic::error(message).with_span(span));
    }

    fn unknown_key(&mut self, what: &str, key: &YamlNode, known: &[&str]) {
        let name = key.as_scalar().map_or("", |s| s.text.as_str());
        let help = did_you_mean(name, known.iter().copied())
            .map(|s| format!("did you mean `{s}`?"))
            .unwrap_or_else(|| format!("the keys are {}", code_list(known)));
        self.diagnostics.push(
            Diagnostic::error(format!("unknown {what} key `{name}`"))
                .with_span(key.span)
                .with_help(help),
        );
    }

    fn top_level(&mut self, entry: &YamlEntry, config: &mut Config) {
        let value = &entry.value;
        match key_text(entry) {
            "packs" => config.packs.extend(self.packs(value, "packs")),
            "default_rules" => match value.as_scalar().and_then(|s| s.as_bool()) {
                Some(enabled) => config.default_rules = enabled,
                None => self.error("`default_rules` must be true or false", value.span),
            },
            "exclude" => config.exclude = self.globs(value, "exclude"),
            // The list form is the old spelling of `packs`.
            "rules" if value.as_sequence().is_some() => {
                config.packs.extend(self.packs(value, "rules"))
            }
            "rules" => config.rules = self.rule_settings(value),
            "params" => config.params = self.params(value),
            "overrides" => match value.as_sequence() {
                Some(items) => {
                    for item in items {
                        if let Some(entry) = self.an_override(item) {
                            config.overrides.push(entry);
                        }
                    }
                }
                None => self.error(
                    "`overrides` must be a list of `{services, paths, rules, params}`",
                    value.span,
                ),
            },
            "image_sizes" => match value.as_scalar() {
                Some(scalar) => {
                    config.image_sizes =
                        Some(Spanned::new(self.folder.join(&scalar.text), value.span));
                }
                None => self.error(
                    "`image_sizes` must be the path of a measured-sizes file",
                    value.span,
                ),
            },
            "build_args" => config.build_args = self.build_args(value),
            "services" => {
                let services = self.services(value);
                config.services.extend(services);
            }
            _ => self.unknown_key("configuration", &entry.key, &TOP_LEVEL_KEYS),
        }
    }

    /// `build_args: {NAME: VALUE}`, each value a string (a number or boolean as written).
    fn build_args(&mut self, node: &YamlNode) -> Vec<(String, String)> {
        let Some(entries) = node.as_mapping() else {
            self.error("`build_args` must map argument names to values", node.span);
            return Vec::new();
        };
        let mut args = Vec::new();
        for entry in entries {
            match entry.value.as_scalar() {
                Some(value) => args.push((scalar_text(&entry.key).value, value.text.clone())),
                None => self.error(
                    format!(
                        "build argument `{}` must be a single value, a string or a number",
                        scalar_text(&entry.key).value
                    ),
                    entry.value.span,
                ),
            }
        }
        args
    }

    /// `services: {NAME: {dockerfile: PATH, context: PATH, target: STAGE}}`.
    fn services(&mut self, node: &YamlNode) -> Vec<ServiceSetting> {
        let Some(entries) = node.as_mapping() else {
            self.error(
                "`services` must map service names to `{dockerfile, context, target}`",
                node.span,
            );
            return Vec::new();
        };
        let mut services = Vec::new();
        for entry in entries {
            let name = scalar_text(&entry.key);
            let Some(fields) = entry.value.as_mapping() else {
                self.error(
                    format!(
                        "service `{}` must be a mapping with `dockerfile` (and optionally `context`, `target`)",
                        name.value
                    ),
                    entry.value.span,
                );
                continue;
            };
            let mut dockerfile = None;
            let mut context = None;
            let mut target = None;
            for field in fields {
                let key = key_text(field);
                if !SERVICE_KEYS.contains(&key) {
                    self.unknown_key("service", &field.key, &SERVICE_KEYS);
                    continue;
                }
                let Some(value) = field.value.as_scalar() else {
                    self.error(format!("`{key}` must be a string"), field.value.span);
                    continue;
                };
                let path = Spanned::new(self.folder.join(&value.text), field.value.span);
                match key {
                    "dockerfile" => dockerfile = Some(path),
                    "context" => context = Some(path),
                    _ => target = Some(Spanned::new(value.text.clone(), field.value.span)),
                }
            }
            match dockerfile {
                Some(dockerfile) => services.push(ServiceSetting {
                    name,
                    dockerfile,
                    context,
                    target,
                }),
                None => self.error(
                    format!("service `{}` needs a `dockerfile`", name.value),
                    entry.key.span,
                ),
            }
        }
        services
    }

    fn packs(&mut self, node: &YamlNode, key: &str) -> Vec<Spanned<PathBuf>> {
        self.strings(node, key, "rule pack folders")
            .into_iter()
            .map(|path| Spanned::new(self.folder.join(&path.value), path.span))
            .collect()
    }

    /// A list of strings (a single string is not accepted: it is too often a missing dash).
    fn strings(&mut self, node: &YamlNode, key: &str, what: &str) -> Vec<Spanned<String>> {
        let Some(items) = node.as_sequence() else {
            self.error(format!("`{key}` must be a list of {what}"), node.span);
            return Vec::new();
        };
        let mut strings = Vec::new();
        for item in items {
            match item.as_scalar() {
                Some(scalar) => strings.push(Spanned::new(scalar.text.clone(), item.span)),
                None => self.error(
                    format!(
                        "an element of `{key}` must be a string, not {}",
                        item.kind_name()
                    ),
                    item.span,
                ),
            }
        }
        strings
    }

    fn globs(&mut self, node: &YamlNode, key: &str) -> PathGlobs {
        let patterns = self.strings(node, key, "path globs");
        match PathGlobs::new(patterns.iter().map(|p| p.value.as_str())) {
            Ok(globs) => globs,
            Err((index, message)) => {
                let span = patterns.get(index).map_or(node.span, |p| p.span);
                self.diagnostics.push(
                    Diagnostic::error("this path glob is invalid")
                        .with_span(span)
                        .with_help(message),
                );
                PathGlobs::default()
            }
        }
    }

    /// `{RULE: on | off | true | false | {enabled: BOOL, severity: LEVEL}}`.
    fn rule_settings(&mut self, node: &YamlNode) -> Vec<RuleSetting> {
        let Some(entries) = node.as_mapping() else {
            self.error(
                "`rules` must map rule IDs to `on`, `off` or `{enabled, severity}` (or list rule packs, the old form of `packs`)",
                node.span,
            );
            return Vec::new();
        };
        let mut settings = Vec::new();
        for entry in entries {
            let rule = scalar_text(&entry.key);
            let mut setting = RuleSetting {
                rule,
                enabled: None,
                severity: None,
            };
            let value = &entry.value;
            if let Some(fields) = value.as_mapping() {
                for field in fields {
                    match key_text(field) {
                        "enabled" => setting.enabled = self.switch(&field.value, "enabled", false),
                        "severity" => setting.severity = self.severity(&field.value),
                        _ => self.unknown_key("rule setting", &field.key, &RULE_SETTING_KEYS),
                    }
                }
            } else {
                setting.enabled = self.switch(value, &setting.rule.value, true);
            }
            settings.push(setting);
        }
        settings
    }

    /// `on`/`off`/`true`/`false`; `what` is the value's key, `rule` whether that is a rule ID
    /// (which also takes a mapping).
    fn switch(&mut self, node: &YamlNode, what: &str, rule: bool) -> Option<bool> {
        let value = node
            .as_scalar()
            .filter(|s| s.plain)
            .and_then(|s| match s.text.as_str() {
                "on" => Some(true),
                "off" => Some(false),
                _ => s.as_bool(),
            });
        if value.is_none() {
            let alternatives = if rule {
                " (or `{enabled: …, severity: …}`)"
            } else {
                ""
            };
            self.diagnostics.push(
                Diagnostic::error(format!(
                    "`{what}` must be `on` or `off`{alternatives}, not {}",
                    node.kind_name()
                ))
                .with_span(node.span)
                .with_help("`true` and `false` work too"),
            );
        }
        value
    }

    fn severity(&mut self, node: &YamlNode) -> Option<Severity> {
        let severity = node.as_scalar().and_then(|s| match s.text.as_str() {
            "error" => Some(Severity::Error),
            "warning" => Some(Severity::Warning),
            "note" => Some(Severity::Note),
            _ => None,
        });
        if severity.is_none() {
            let help = node
                .as_scalar()
                .and_then(|s| did_you_mean(&s.text, ["error", "warning", "note"]))
                .map(|s| format!("did you mean `{s}`?"))
                .unwrap_or_else(|| "the severities are `error`, `warning` and `note`".into());
            self.diagnostics.push(
                Diagnostic::error("`severity` must be `error`, `warning` or `note`")
                    .with_span(node.span)
                    .with_help(help),
            );
        }
        severity
    }

    /// `{RULE: {NAME: VALUE}}`; the values are typed later, against the loaded rules.
    fn params(&mut self, node: &YamlNode) -> Vec<ParamSetting> {
        let Some(rules) = node.as_mapping() else {
            self.error("`params` must map rule IDs to their params", node.span);
            return Vec::new();
        };
        let mut settings = Vec::new();
        for rule in rules {
            let rule_id = scalar_text(&rule.key);
            let Some(params) = rule.value.as_mapping() else {
                self.error(
                    format!("the params of `{}` must be a mapping", rule_id.value),
                    rule.value.span,
                );
                continue;
            };
            for param in params {
                settings.push(ParamSetting {
                    rule: rule_id.clone(),
                    name: scalar_text(&param.key),
                    value: param.value.clone(),
                });
            }
        }
        settings
    }

    fn an_override(&mut self, node: &YamlNode) -> Option<Override> {
        let Some(entries) = node.as_mapping() else {
            self.error(
                format!(
                    "an override must be a mapping with `services` and/or `paths`, not {}",
                    node.kind_name()
                ),
                node.span,
            );
            return None;
        };
        let mut found = Override::default();
        let mut has_scope = false;
        for entry in entries {
            let value = &entry.value;
            match key_text(entry) {
                "services" => {
                    found.services = self.strings(value, "services", "service names");
                    has_scope = true;
                }
                "paths" => {
                    found.paths = self.globs(value, "paths");
                    has_scope = true;
                }
                "rules" => found.rules = self.rule_settings(value),
                "params" => found.params = self.params(value),
                _ => self.unknown_key("override", &entry.key, &OVERRIDE_KEYS),
            }
        }
        if !has_scope {
            self.diagnostics.push(
                Diagnostic::error("this override applies to nothing")
                    .with_span(node.span)
                    .with_help("give it `services: [NAME, …]` and/or `paths: [GLOB, …]`"),
            );
            return None;
        }
        Some(found)
    }
}

fn key_text(entry: &YamlEntry) -> &str {
    entry.key.as_scalar().map_or("", |s| s.text.as_str())
}

fn scalar_text(node: &YamlNode) -> Spanned<String> {
    Spanned::new(
        node.as_scalar().map(|s| s.text.clone()).unwrap_or_default(),
        node.span,
    )
}

fn code_list(names: &[&str]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    match quoted.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        _ => quoted.join(""),
    }
}

/// The error for a configured rule ID that no loaded rule has.
fn unknown_rule(rule: &Spanned<String>, rules: &[&Rule]) -> Diagnostic {
    let diagnostic = Diagnostic::error(format!("no loaded rule has the ID `{}`", rule.value))
        .with_span(rule.span);
    match did_you_mean(&rule.value, rules.iter().map(|r| r.id.value.as_str())) {
        Some(id) => diagnostic.with_help(format!("did you mean `{id}`?")),
        None => diagnostic,
    }
}

/// Errors for rule settings that name no loaded rule.
pub fn check_rule_settings(settings: &[RuleSetting], rules: &[&Rule]) -> Vec<Diagnostic> {
    settings
        .iter()
        .filter(|setting| !rules.iter().any(|r| r.id.value == setting.rule.value))
        .map(|setting| unknown_rule(&setting.rule, rules))
        .collect()
}

/// The param values configuration gives each loaded rule, by rule ID. A setting for a rule
/// that is not loaded, for a param the rule does not declare, or of the wrong type is an
/// error at the setting.
pub fn param_values(
    settings: &[ParamSetting],
    rules: &[&Rule],
) -> (
    HashMap<String, HashMap<String, ParamValue>>,
    Vec<Diagnostic>,
) {
    let mut values: HashMap<String, HashMap<String, ParamValue>> = HashMap::new();
    let mut diagnostics = Vec::new();
    for setting in settings {
        let Some(rule) = rules.iter().find(|r| r.id.value == setting.rule.value) else {
            diagnostics.push(unknown_rule(&setting.rule, rules));
            continue;
        };
        let Some(param) = rule
            .params
            .iter()
            .find(|p| p.name.value == setting.name.value)
        else {
            let names: Vec<&str> = rule.params.iter().map(|p| p.name.value.as_str()).collect();
            let help = did_you_mean(&setting.name.value, names.iter().copied())
                .map(|s| format!("did you mean `{s}`?"))
                .unwrap_or_else(|| {
                    if names.is_empty() {
                        format!("`{}` has no params", rule.id.value)
                    } else {
                        format!(
                            "the params of `{}` are {}",
                            rule.id.value,
                            names
                                .iter()
                                .map(|n| format!("`{n}`"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        )
                    }
                });
            diagnostics.push(
                Diagnostic::error(format!(
                    "rule `{}` has no param `{}`",
                    rule.id.value, setting.name.value
                ))
                .with_span(setting.name.span)
                .with_help(help),
            );
            continue;
        };
        match convert(&setting.value, &param.default.kind) {
            Ok(value) => {
                values
                    .entry(rule.id.value.clone())
                    .or_default()
                    .insert(param.name.value.clone(), value);
            }
            Err(expected) => diagnostics.push(
                Diagnostic::error(format!(
                    "`{}` of `{}` must be {expected}",
                    setting.name.value, rule.id.value
                ))
                .with_span(setting.value.span)
                .with_help("the type is the type of the param's default in the rule"),
            ),
        }
    }
    (values, diagnostics)
}

/// The configured value as the type of the param's default; `Err(what was expected)`.
fn convert(node: &YamlNode, default: &ExprKind) -> Result<ParamValue, String> {
    let scalar = node.as_scalar();
    match default {
        ExprKind::Bool(_) => scalar
            .filter(|s| s.plain)
            .and_then(|s| s.as_bool())
            .map(ParamValue::Bool)
            .ok_or_else(|| "true or false".into()),
        ExprKind::Integer(_) => scalar
            .filter(|s| s.plain)
            .and_then(|s| s.as_integer())
            .map(ParamValue::Integer)
            .ok_or_else(|| "an integer".into()),
        ExprKind::Size(_) => scalar
            .and_then(|s| match s.as_integer() {
                Some(bytes) => u64::try_from(bytes).ok(),
                None => size_in_bytes(&s.text).ok(),
            })
            .map(ParamValue::Size)
            .ok_or_else(|| "a size such as `300MB` or `1.5GiB`".into()),
        ExprKind::String(_) | ExprKind::Null => scalar
            .map(|s| ParamValue::String(s.text.clone()))
            .ok_or_else(|| "a string".into()),
        ExprKind::List(items) => {
            // An empty default list takes strings.
            const STRING: ExprKind = ExprKind::Null;
            let element = items.first().map_or(&STRING, |e| &e.kind);
            match &node.value {
                YamlValue::Sequence(nodes) => nodes
                    .iter()
                    .map(|n| convert(n, element))
                    .collect::<Result<Vec<_>, _>>()
                    .map(ParamValue::List)
                    .map_err(|inner| format!("a list whose elements are {inner}")),
                _ => Err("a list".into()),
            }
        }
        _ => Err("a literal".into()),
    }
}
