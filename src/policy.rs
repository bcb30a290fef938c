//! The configuration applied to an evaluation (SPEC.md §10.2): which rules run where, at
//! which severity and with which params, and which paths are never reported on.
//!
//! Each place of the repository is in the scope of some overrides (by path glob or by
//! service). A rule is evaluated once per distinct param set that its scopes give it (the
//! global params, merged with those of the overrides that set params for it), and from each
//! run only the findings whose place gets exactly that param set are kept. Settings are then
//! applied per finding: a rule turned off for a place reports nothing there, a severity set
//! for a place is the finding's severity.

use std::collections::{BTreeSet, HashMap};

use foldhash::HashMap as FoldHashMap;

use crate::config::{check_rule_settings, param_values, Config, RuleSetting};
use crate::diag::{Diagnostic, Severity};
use crate::eval::engine::{evaluate, sort_findings, Finding, ParamValue, RuleRun};
use crate::eval::scope::ServiceMap;
use crate::eval::world::World;
use crate::lang::ast::{ExprKind, Rule};
use crate::lang::schema::did_you_mean;
use crate::model::repository::Repository;
use crate::parse::path_glob::PathGlobs;
use crate::source::Spanned;

/// Param values by rule ID, then by param name.
type Params = HashMap<String, HashMap<String, ParamValue>>;

/// The settings of one layer (the global one or an override), resolved against the rules.
#[derive(Debug, Default)]
struct Layer {
    enabled: HashMap<String, bool>,
    severity: HashMap<String, Severity>,
    params: Params,
}

impl Layer {
    fn new(rules: &[RuleSetting], params: Params) -> Layer {
        let mut layer = Layer {
            params,
            ..Layer::default()
        };
        for setting in rules {
            if let Some(enabled) = setting.enabled {
                layer.enabled.insert(setting.rule.value.clone(), enabled);
            }
            if let Some(severity) = setting.severity {
                layer.severity.insert(setting.rule.value.clone(), severity);
            }
        }
        layer
    }
}

/// An override: the services and paths it covers, and its layer.
#[derive(Debug)]
struct Scoped {
    services: Vec<Spanned<String>>,
    paths: PathGlobs,
    layer: Layer,
}

/// The configuration, checked against the loaded rules, ready to evaluate them.
#[derive(Debug)]
pub struct Policy<'r> {
    rules: Vec<&'r Rule>,
    global: Layer,
    overrides: Vec<Scoped>,
    exclude: PathGlobs,
}

impl<'r> Policy<'r> {
    /// Resolves `config` for `rules`. Settings for rules that are not loaded, unknown params
    /// and params of the wrong type (in every scope) are errors; the rest still applies.
    pub fn new(config: &Config, rules: &[&'r Rule]) -> (Policy<'r>, Vec<Diagnostic>) {
        let mut diagnostics = check_rule_settings(&config.rules, rules);
        let (params, param_diagnostics) = param_values(&config.params, rules);
        diagnostics.extend(param_diagnostics);
        let global = Layer::new(&config.rules, params);
        let mut overrides = Vec::new();
        for entry in &config.overrides {
            diagnostics.extend(check_rule_settings(&entry.rules, rules));
            let (params, param_diagnostics) = param_values(&entry.params, rules);
            diagnostics.extend(param_diagnostics);
            overrides.push(Scoped {
                services: entry.services.clone(),
                paths: entry.paths.clone(),
                layer: Layer::new(&entry.rules, params),
            });
        }
        let policy = Policy {
            rules: rules.to_vec(),
            global,
            overrides,
            exclude: config.exclude.clone(),
        };
        (policy, diagnostics)
    }

    /// The paths discovery leaves out and no finding is reported in.
    pub fn exclude(&self) -> &PathGlobs {
        &self.exclude
    }

    /// The value of `rule_id`'s param `name` for the service `service`: set globally or by
    /// the overrides naming the service (path overrides are not consulted), else the rule's
    /// default. `None` when the rule is not loaded, is off for the service, or has no such
    /// param (or its default is not a literal).
    pub fn service_param(&self, rule_id: &str, name: &str, service: &str) -> Option<ParamValue> {
        let rule = self.rules.iter().find(|r| r.id.value == rule_id)?;
        let services = BTreeSet::from([service]);
        let layers = self.layers("", &services);
        if !enabled(rule, &layers) {
            return None;
        }
        if let Some(value) = params(rule, &layers).remove(name) {
            return Some(value);
        }
        let param = rule.params.iter().find(|p| p.name.value == name)?;
        default_value(&param.default.kind)
    }

    /// The layers in force for a place (global first, then the overrides covering it).
    fn layers(&self, rel_path: &str, services: &BTreeSet<&str>) -> Vec<&Layer> {
        std::iter::once(&self.global)
            .chain(
                self.overrides
                    .iter()
                    .filter(|o| {
                        o.paths.matches(rel_path)
                            || o.services
                                .iter()
                                .any(|s| services.contains(s.value.as_str()))
                    })
                    .map(|o| &o.layer),
            )
            .collect()
    }

    /// Which services each place of `repository` belongs to, worked out only when an
    /// override names services (it costs a pass over every file and every finding); build it
    /// once per repository and give it to [`Policy::evaluate`] and, for its names, to
    /// [`Policy::unknown_services`].
    pub fn service_map(&self, repository: &Repository) -> Option<ServiceMap> {
        self.overrides
            .iter()
            .any(|o| !o.services.is_empty())
            .then(|| ServiceMap::new(repository))
    }

    /// Evaluates the rules over `world` with the configuration applied (`services` is
    /// [`Policy::service_map`] of the world's repository). Findings are sorted as
    /// [`evaluate`] sorts them; suppressions are not applied here. The diagnostics are the
    /// rules' problems (with spans into the rules' sources).
    pub fn evaluate(
        &self,
        world: &World<'_>,
        services: Option<&ServiceMap>,
    ) -> (Vec<Finding>, Vec<Diagnostic>) {
        let mut diagnostics = Vec::new();
        // Every combination of layers some place of the repository is under, and the one
        // each file is under as a whole; `None` for a file that holds compose service
        // entries, whose places are under their own.
        let mut combinations: Vec<Vec<&Layer>> = vec![vec![&self.global]];
        let mut combination_of_file: Vec<Option<usize>> = vec![Some(0); world.sources.len()];
        let places = if self.overrides.is_empty() {
            Vec::new()
        } else {
            world.sources.iter().collect()
        };
        for (file, source) in places {
            let sets = match services {
                Some(services) => services.service_sets(file, &source.rel_path),
                None => vec![BTreeSet::new()],
            };
            let mut combination = None;
            for set in &sets {
                let layers = self.layers(&source.rel_path, set);
                combination = Some(
                    match combinations.iter().position(|c| same_layers(c, &layers)) {
                        Some(found) => found,
                        None => {
                            combinations.push(layers);
                            combinations.len() - 1
                        }
                    },
                );
            }
            if let Some(slot) = combination_of_file.get_mut(file.0 as usize) {
                // One set: the file's own, which every place of it is under.
                *slot = combination.filter(|_| sets.len() == 1);
            }
        }
        // The distinct param sets of each rule, among the places where it is enabled.
        let param_sets: Vec<Vec<HashMap<String, ParamValue>>> = self
            .rules
            .iter()
            .map(|rule| {
                let mut sets: Vec<HashMap<String, ParamValue>> = Vec::new();
                for layers in &combinations {
                    if !enabled(rule, layers) {
                        continue;
                    }
                    let params = params(rule, layers);
                    if !sets.contains(&params) {
                        sets.push(params);
                    }
                }
                sets
            })
            .collect();
        // Whether each file is excluded, worked out at its first finding.
        let mut excluded: Vec<Option<bool>> = vec![None; world.sources.len()];
        let rounds = param_sets.iter().map(Vec::len).max().unwrap_or(0);
        let mut findings = Vec::new();
        let mut changed_severity = false;
        // Each round runs every rule with at most one param set, so a finding's rule ID tells
        // which param set produced it.
        for round in 0..rounds {
            let runs: Vec<RuleRun<'_>> = self
                .rules
                .iter()
                .zip(&param_sets)
                .filter_map(|(rule, sets)| {
                    Some(RuleRun {
                        rule,
                        params: sets.get(round)?.clone(),
                    })
                })
                .collect();
            let (mut round_findings, round_diagnostics) = evaluate(&runs, world);
            // The run of each rule ID (the first one, should an ID be defined twice).
            let mut run_of: FoldHashMap<&str, usize> = FoldHashMap::default();
            for (index, run) in runs.iter().enumerate() {
                run_of.entry(run.rule.id.value.as_str()).or_insert(index);
            }
            // What each run's findings under each combination of layers become, worked out
            // at the first finding of the run under the combination.
            let mut decisions: Vec<Vec<Option<Decision>>> = runs
                .iter()
                .map(|_| vec![None; combinations.len()])
                .collect();
            for diagnostic in round_diagnostics {
                if !diagnostics.contains(&diagnostic) {
                    diagnostics.push(diagnostic);
                }
            }
            // In place: most findings are kept, and a finding is large to move.
            round_findings.retain_mut(|finding| {
                let Some(&index) = run_of.get(&*finding.rule_id) else {
                    return false;
                };
                let file = finding.span.file.0 as usize;
                let rel_path = || {
                    world
                        .sources
                        .get(finding.span.file)
                        .map_or("", |f| f.rel_path.as_str())
                };
                let is_excluded = match excluded.get_mut(file) {
                    Some(Some(known)) => *known,
                    Some(slot) => *slot.insert(self.exclude.matches(rel_path())),
                    None => self.exclude.matches(rel_path()),
                };
                if is_excluded {
                    return false;
                }
                let decided = match (runs.get(index), combination_of_file.get(file)) {
                    (Some(run), Some(&Some(combination))) => {
                        match decisions
                            .get_mut(index)
                            .and_then(|by_combination| by_combination.get_mut(combination))
                        {
                            Some(Some(known)) => *known,
                            Some(slot) => *slot.insert(
                                combinations
                                    .get(combination)
                                    .and_then(|layers| decision(run, layers)),
                            ),
                            None => None,
                        }
                    }
                    // Compose service entries tell places of one file apart (as do files
                    // not loaded): the layers of this place.
                    (Some(run), _) => {
                        let at = services.map_or_else(BTreeSet::new, |services| {
                            services.services_at(finding.span, rel_path())
                        });
                        decision(run, &self.layers(rel_path(), &at))
                    }
                    (None, _) => None,
                };
                let Some(severity) = decided else {
                    return false;
                };
                if let Some(severity) = severity {
                    changed_severity |= finding.severity != severity;
                    finding.severity = severity;
                }
                true
            });
            if findings.is_empty() {
                findings = round_findings;
            } else {
                findings.append(&mut round_findings);
            }
        }
        if rounds > 1 {
            sort_findings(&mut findings, world.sources);
        } else if changed_severity {
            // One round's findings come sorted and without repeats from `evaluate`, and the
            // filter keeps their order: sorting them again would leave them as they are, so
            // only the repeats a changed severity might have made are removed.
            findings.dedup();
        }
        (findings, diagnostics)
    }

    /// A warning for each override service that is none of `names` (the services of every
    /// scanned repository), with a span into the configuration.
    pub fn unknown_services(&self, names: &BTreeSet<String>) -> Vec<Diagnostic> {
        self.overrides
            .iter()
            .flat_map(|o| &o.services)
            .filter(|service| !names.contains(&service.value))
            .map(|service| {
                let warning = Diagnostic::warning(format!(
                    "no service of the scanned repository is named `{}`",
                    service.value
                ))
                .with_span(service.span);
                match did_you_mean(&service.value, names.iter().map(String::as_str)) {
                    Some(name) => warning.with_help(format!("did you mean `{name}`?")),
                    None => warning.with_help(
                        "services are the compose services, and without compose the folders of Dockerfiles",
                    ),
                }
            })
            .collect()
    }
}

/// What becomes of a run's findings at a place: left out (`None`), or kept, with the
/// severity the place's layers set if they set one.
type Decision = Option<Option<Severity>>;

/// The [`Decision`] for the findings of `run` at a place under `layers`.
fn decision(run: &RuleRun<'_>, layers: &[&Layer]) -> Decision {
    (enabled(run.rule, layers) && params(run.rule, layers) == run.params)
        .then(|| severity(run.rule, layers))
}

fn same_layers(a: &[&Layer], b: &[&Layer]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| std::ptr::eq(*x, *y))
}

/// Whether `rule` runs under `layers` (the last layer that says wins; on by default).
fn enabled(rule: &Rule, layers: &[&Layer]) -> bool {
    layers
        .iter()
        .rev()
        .find_map(|layer| layer.enabled.get(&rule.id.value).copied())
        .unwrap_or(true)
}

/// The configured severity of `rule` under `layers`, if any layer sets one.
fn severity(rule: &Rule, layers: &[&Layer]) -> Option<Severity> {
    layers
        .iter()
        .rev()
        .find_map(|layer| layer.severity.get(&rule.id.value).copied())
}

/// The param values of `rule` under `layers`, param by param (later layers win).
fn params(rule: &Rule, layers: &[&Layer]) -> HashMap<String, ParamValue> {
    let mut values = HashMap::new();
    for layer in layers {
        if let Some(set) = layer.params.get(&rule.id.value) {
            values.extend(set.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
    }
    values
}

/// A param default written as a literal, as the value configuration would give.
fn default_value(default: &ExprKind) -> Option<ParamValue> {
    match default {
        ExprKind::Bool(b) => Some(ParamValue::Bool(*b)),
        ExprKind::Integer(n) => Some(ParamValue::Integer(*n)),
        ExprKind::String(s) => Some(ParamValue::String(s.clone())),
        ExprKind::Size(bytes) => Some(ParamValue::Size(*bytes)),
        ExprKind::List(items) => items
            .iter()
            .map(|item| default_value(&item.kind))
            .collect::<Option<Vec<_>>>()
            .map(ParamValue::List),
        _ => None,
    }
}
