//! The configuration file, `.dockpolicy.yaml` at the scanned root (or `--config FILE`):
//! user rule packs, whether the bundled packs load, and param values per rule.
//!
//! ```yaml
//! rules: [policy/]          # user packs, relative to this file
//! default_rules: true       # false: only the user packs
//! params:
//!   DP1001:
//!     toolchain: [gcc, clang]
//! image_sizes: sizes.json   # measured sizes (as --image-sizes), relative to this file
//! services:                 # services named here, beside compose's
//!   api: {dockerfile: docker/api/Dockerfile, target: prod}
//! ```
//!
//! Every value keeps its span, so that a wrong key or a param of the wrong type is reported
//! at its place in the file.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::diag::Diagnostic;
use crate::eval::engine::ParamValue;
use crate::lang::ast::{ExprKind, Rule};
use crate::lang::parser::size_in_bytes;
use crate::lang::schema::did_you_mean;
use crate::parse::yaml::{parse_yaml, YamlNode, YamlValue};
use crate::source::{FileId, Spanned};

/// The name of the configuration file looked for at the scanned root.
pub const CONFIG_FILE_NAME: &str = ".dockpolicy.yaml";

/// A parsed configuration file.
#[derive(Clone, Debug, Default)]
pub struct Config {
    /// User packs, resolved against the configuration file's folder.
    pub packs: Vec<Spanned<PathBuf>>,
    /// Whether the bundled packs load (`default_rules: false` turns them off).
    pub default_rules: bool,
    /// `params: {RULE: {NAME: VALUE}}`.
    pub params: Vec<ParamSetting>,
    /// `image_sizes: FILE`, resolved against the configuration file's folder.
    pub image_sizes: Option<Spanned<PathBuf>>,
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

/// Parses the configuration file `file` (read from `path`).
pub fn parse_config(file: FileId, path: &Path, text: &str) -> (Config, Vec<Diagnostic>) {
    let mut config = Config {
        default_rules: true,
        ..Config::default()
    };
    let (root, mut diagnostics) = parse_yaml(file, text);
    let Some(root) = root else {
        return (config, diagnostics);
    };
    let folder = path.parent().unwrap_or(Path::new("."));
    let Some(entries) = root.as_mapping() else {
        if !root.is_null() {
            diagnostics.push(
                Diagnostic::error(format!(
                    "the configuration must be a mapping, not a {}",
                    root.kind_name()
                ))
                .with_span(root.span),
            );
        }
        return (config, diagnostics);
    };
    for entry in entries {
        let key = entry.key.as_scalar().map_or("", |s| s.text.as_str());
        match key {
            "rules" => match entry.value.as_sequence() {
                Some(items) => {
                    for item in items {
                        match item.as_scalar() {
                            Some(scalar) => config
                                .packs
                                .push(Spanned::new(folder.join(&scalar.text), item.span)),
                            None => diagnostics.push(
                                Diagnostic::error("a rule pack must be a path")
                                    .with_span(item.span),
                            ),
                        }
                    }
                }
                None => diagnostics.push(
                    Diagnostic::error("`rules` must be a list of rule pack folders")
                        .with_span(entry.value.span),
                ),
            },
            "default_rules" => match entry.value.as_scalar().and_then(|s| s.as_bool()) {
                Some(value) => config.default_rules = value,
                None => diagnostics.push(
                    Diagnostic::error("`default_rules` must be true or false")
                        .with_span(entry.value.span),
                ),
            },
            "params" => match entry.value.as_mapping() {
                Some(rules) => {
                    for rule in rules {
                        let rule_id = scalar_text(&rule.key);
                        let Some(params) = rule.value.as_mapping() else {
                            diagnostics.push(
                                Diagnostic::error(format!(
                                    "the params of `{}` must be a mapping",
                                    rule_id.value
                                ))
                                .with_span(rule.value.span),
                            );
                            continue;
                        };
                        for param in params {
                            config.params.push(ParamSetting {
                                rule: rule_id.clone(),
                                name: scalar_text(&param.key),
                                value: param.value.clone(),
                            });
                        }
                    }
                }
                None => diagnostics.push(
                    Diagnostic::error("`params` must map rule IDs to their params")
                        .with_span(entry.value.span),
                ),
            },
            "image_sizes" => match entry.value.as_scalar() {
                Some(scalar) => {
                    config.image_sizes =
                        Some(Spanned::new(folder.join(&scalar.text), entry.value.span));
                }
                None => diagnostics.push(
                    Diagnostic::error("`image_sizes` must be the path of a measured-sizes file")
                        .with_span(entry.value.span),
                ),
            },
            "services" => {
                config
                    .services
                    .extend(parse_services(&entry.value, folder, &mut diagnostics))
            }
            other => {
                let keys = [
                    "rules",
                    "default_rules",
                    "params",
                    "image_sizes",
                    "services",
                ];
                let help = did_you_mean(other, keys)
                    .map(|s| format!("did you mean `{s}`?"))
                    .unwrap_or_else(|| {
                        "the keys are `rules`, `default_rules`, `params`, `image_sizes` and `services`"
                            .into()
                    });
                diagnostics.push(
                    Diagnostic::error(format!("unknown configuration key `{other}`"))
                        .with_span(entry.key.span)
                        .with_help(help),
                );
            }
        }
    }
    (config, diagnostics)
}

/// `services: {NAME: {dockerfile: PATH, context: PATH, target: STAGE}}`.
fn parse_services(
    node: &YamlNode,
    folder: &Path,
    diagnostics: &mut Vec<Diagnostic>,
) -> Vec<ServiceSetting> {
    let Some(entries) = node.as_mapping() else {
        diagnostics.push(
            Diagnostic::error(
                "`services` must map service names to `{dockerfile, context, target}`",
            )
            .with_span(node.span),
        );
        return Vec::new();
    };
    let mut services = Vec::new();
    for entry in entries {
        let name = scalar_text(&entry.key);
        let Some(fields) = entry.value.as_mapping() else {
            diagnostics.push(
                Diagnostic::error(format!(
                    "service `{}` must be a mapping with `dockerfile` (and optionally `context`, `target`)",
                    name.value
                ))
                .with_span(entry.value.span),
            );
            continue;
        };
        let mut dockerfile = None;
        let mut context = None;
        let mut target = None;
        for field in fields {
            let key = field.key.as_scalar().map_or("", |s| s.text.as_str());
            let Some(value) = field.value.as_scalar() else {
                diagnostics.push(
                    Diagnostic::error(format!("`{key}` must be a string"))
                        .with_span(field.value.span),
                );
                continue;
            };
            let path = || Spanned::new(folder.join(&value.text), field.value.span);
            match key {
                "dockerfile" => dockerfile = Some(path()),
                "context" => context = Some(path()),
                "target" => target = Some(Spanned::new(value.text.clone(), field.value.span)),
                other => {
                    let help = did_you_mean(other, ["dockerfile", "context", "target"])
                        .map(|s| format!("did you mean `{s}`?"))
                        .unwrap_or_else(|| {
                            "the keys are `dockerfile`, `context` and `target`".into()
                        });
                    diagnostics.push(
                        Diagnostic::error(format!("unknown service key `{other}`"))
                            .with_span(field.key.span)
                            .with_help(help),
                    );
                }
            }
        }
        match dockerfile {
            Some(dockerfile) => services.push(ServiceSetting {
                name,
                dockerfile,
                context,
                target,
            }),
            None => diagnostics.push(
                Diagnostic::error(format!("service `{}` needs a `dockerfile`", name.value))
                    .with_span(entry.key.span),
            ),
        }
    }
    services
}

fn scalar_text(node: &YamlNode) -> Spanned<String> {
    Spanned::new(
        node.as_scalar().map(|s| s.text.clone()).unwrap_or_default(),
        node.span,
    )
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
            let help = did_you_mean(
                &setting.rule.value,
                rules.iter().map(|r| r.id.value.as_str()),
            )
            .map(|s| format!("did you mean `{s}`?"));
            let diagnostic = Diagnostic::error(format!(
                "no loaded rule has the ID `{}`",
                setting.rule.value
            ))
            .with_span(setting.rule.span);
            diagnostics.push(match help {
                Some(help) => diagnostic.with_help(help),
                None => diagnostic,
            });
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
