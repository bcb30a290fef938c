//! The commands of the `dockpolicy` binary: loading packs and configuration, checking a
//! repository, listing and explaining rules, running rule tests, dumping the model. Each returns the process's
//! exit code; output goes to the writers given, so tests can run them in-process.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::config::{parse_config, Config, ServiceSetting, CONFIG_FILE_NAME};
use crate::diag::{Diagnostic, Severity};
use crate::eval::engine::ParamValue;
use crate::eval::suppression::apply_suppressions;
use crate::eval::world::World;
use crate::lang::ast::Rule;
use crate::lang::check::{check_duplicate_ids, check_rule};
use crate::lang::pack::{bundled_packs, load_pack_dir, Pack, PackOrigin};
use crate::lang::schema::did_you_mean;
use crate::model::repository::Repository;
use crate::parse::repository::{load, LoadOptions, Loaded};
use crate::policy::Policy;
use crate::report::baseline::Baseline;
use crate::report::rule_doc::{default_severity, explanation, summary};
use crate::report::text::TextOptions;
use crate::report::{
    diagnostics, dump, github, json, path_prefix, sarif, size as size_report, text, CheckReport,
    EvaluatedRule, Format, ScannedPath,
};
use crate::rule_test::test_packs;
use crate::size::{parse_measured_sizes, MeasuredSize};
use crate::source::{normalize_path, Sources};

/// No finding at or above `--fail-on`, no error.
pub const EXIT_OK: u8 = 0;
/// Findings at or above `--fail-on`.
pub const EXIT_FINDINGS: u8 = 1;
/// A usage, configuration or input error.
pub const EXIT_INPUT_ERROR: u8 = 2;
/// A rule pack has an error.
pub const EXIT_RULE_ERROR: u8 = 3;

/// Which rules to load.
#[derive(Clone, Debug, Default)]
pub struct RuleOptions {
    /// `--rules PATH`, repeatable.
    pub packs: Vec<PathBuf>,
    /// `--no-default-rules`.
    pub no_default_rules: bool,
    /// `--config FILE`; otherwise `.dockpolicy.yaml` at the (first) scanned root.
    pub config: Option<PathBuf>,
}

/// The lowest severity that makes `check` exit 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailOn {
    Error,
    Warning,
    Note,
    None,
}

impl FailOn {
    fn fails(self, severity: Severity) -> bool {
        match self {
            FailOn::None => false,
            FailOn::Error => severity == Severity::Error,
            FailOn::Warning => severity != Severity::Note,
            FailOn::Note => true,
        }
    }
}

/// Loaded, checked rules with the files they were read from.
pub struct RuleSet {
    pub sources: Sources,
    pub packs: Vec<Pack>,
    pub config: Config,
    /// Parse, check and configuration errors, with spans into `sources`.
    pub diagnostics: Vec<Diagnostic>,
    /// Whether a rule pack (not the configuration) has an error.
    pub has_rule_errors: bool,
    /// Whether the configuration has an error.
    pub has_config_errors: bool,
}

impl RuleSet {
    /// The rules that passed the checker, in pack order.
    pub fn rules(&self) -> impl Iterator<Item = &Rule> {
        self.packs.iter().flat_map(|p| p.rules.iter())
    }
}

/// Loads the configuration, the bundled packs (unless turned off) and the user packs, and
/// checks every rule. Rules with errors are left out; their errors are in `diagnostics`.
pub fn load_rules(options: &RuleOptions, root: Option<&Path>) -> RuleSet {
    let mut configured = load_config(options, root);
    let packs = load_packs(options, &configured.config, &mut configured.sources);
    configured.with_packs(packs)
}

/// The configuration, read and parsed: the first step of [`load_rules`], which is all that
/// loading a repository needs.
struct Configured {
    sources: Sources,
    config: Config,
    diagnostics: Vec<Diagnostic>,
    has_config_errors: bool,
}

/// Reads `--config FILE`, else `.dockpolicy.yaml` at `root` when there is one.
fn load_config(options: &RuleOptions, root: Option<&Path>) -> Configured {
    let mut sources = Sources::new();
    let mut diagnostics = Vec::new();
    let config_path = options.config.clone().or_else(|| {
        root.map(|r| r.join(CONFIG_FILE_NAME))
            .filter(|p| p.is_file())
    });
    let mut config = Config {
        default_rules: true,
        ..Config::default()
    };
    let mut has_config_errors = false;
    if let Some(path) = &config_path {
        let rel = path.display().to_string();
        match sources.load(path, &rel) {
            Ok((file, warning)) => {
                diagnostics.extend(warning);
                let (parsed, config_diagnostics) = parse_config(file, path, sources.text(file));
                has_config_errors |= config_diagnostics.iter().any(Diagnostic::is_error);
                diagnostics.extend(config_diagnostics);
                config = parsed;
            }
            Err(diagnostic) => {
                has_config_errors = true;
                diagnostics.push(diagnostic);
            }
        }
    }
    Configured {
        sources,
        config,
        diagnostics,
        has_config_errors,
    }
}

/// The packs that `options` and `config` ask for, their rules checked.
struct LoadedPacks {
    /// The rules that passed the checker, in pack order.
    packs: Vec<Pack>,
    /// Pack folders that are not there: usage or configuration mistakes.
    missing: Vec<Diagnostic>,
    /// Parse and check errors of the rules.
    diagnostics: Vec<Diagnostic>,
}

/// Loads the bundled packs (unless turned off) and the user packs into `sources`, and checks
/// every rule; rules with errors are left out.
fn load_packs(options: &RuleOptions, config: &Config, sources: &mut Sources) -> LoadedPacks {
    let mut packs = Vec::new();
    let mut missing = Vec::new();
    let mut pack_diagnostics = Vec::new();
    if config.default_rules && !options.no_default_rules {
        let (bundled, bundled_diagnostics) = bundled_packs(sources);
        packs.extend(bundled);
        pack_diagnostics.extend(bundled_diagnostics);
    }
    let user_packs = config
        .packs
        .iter()
        .map(|p| p.value.clone())
        .chain(options.packs.iter().cloned())
        .collect::<Vec<_>>();
    for dir in user_packs {
        if !dir.is_dir() {
            missing.push(Diagnostic::error(format!(
                "{}: cannot read the folder: there is no rule pack folder at this path",
                dir.display()
            )));
            continue;
        }
        let (pack, diagnostics) = load_pack_dir(&dir, sources);
        packs.push(pack);
        pack_diagnostics.extend(diagnostics);
    }
    for pack in packs.iter_mut().filter(|pack| !pack.checked) {
        // Rules are checked in parallel; their diagnostics are kept in rule order.
        let checked: Vec<Vec<Diagnostic>> = pack.rules.par_iter().map(check_rule).collect();
        let mut checked = checked.into_iter();
        pack.rules.retain(|_| {
            let errors = checked.next().unwrap_or_default();
            let ok = !errors.iter().any(Diagnostic::is_error);
            pack_diagnostics.extend(errors);
            ok
        });
    }
    let all: Vec<(&Rule, &str)> = packs
        .iter()
        .flat_map(|p| p.rules.iter())
        .map(|r| (r, sources.get(r.file).map_or("", |f| f.rel_path.as_str())))
        .collect();
    pack_diagnostics.extend(check_duplicate_ids(all));
    LoadedPacks {
        packs,
        missing,
        diagnostics: pack_diagnostics,
    }
}

impl Configured {
    /// The rule set of this configuration and `loaded`: the configuration's diagnostics
    /// first, then the missing pack folders, then the rules' errors.
    fn with_packs(self, loaded: LoadedPacks) -> RuleSet {
        let has_rule_errors = loaded.diagnostics.iter().any(Diagnostic::is_error);
        let has_missing_packs = !loaded.missing.is_empty();
        let mut diagnostics = self.diagnostics;
        diagnostics.extend(loaded.missing);
        diagnostics.extend(loaded.diagnostics);
        RuleSet {
            sources: self.sources,
            packs: loaded.packs,
            config: self.config,
            diagnostics,
            has_rule_errors,
            has_config_errors: self.has_config_errors || has_missing_packs,
        }
    }
}

/// Where one format of `check` goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Output {
    pub format: Format,
    /// The file to write; standard output when `None`.
    pub file: Option<PathBuf>,
}

/// How `check` reports.
#[derive(Clone, Debug)]
pub struct CheckOptions {
    pub fail_on: FailOn,
    /// Each format requested, in order.
    pub outputs: Vec<Output>,
    pub text: TextOptions,
    /// `--baseline FILE.sarif`: findings whose fingerprints it holds are not reported.
    pub baseline: Option<PathBuf>,
    /// `--include-suppressed`: SARIF shows suppressed findings, with `suppressions`.
    pub include_suppressed: bool,
}

impl Default for CheckOptions {
    fn default() -> CheckOptions {
        CheckOptions {
            fail_on: FailOn::Note,
            outputs: vec![Output {
                format: Format::Text,
                file: None,
            }],
            text: TextOptions::default(),
            baseline: None,
            include_suppressed: false,
        }
    }
}

/// `dockpolicy check PATH...`: diagnostics go to `err` as they are found; each requested
/// format is rendered from every PATH's findings at the end.
pub fn check(
    paths: &[PathBuf],
    rule_options: &RuleOptions,
    load_options: &LoadOptions,
    options: &CheckOptions,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> u8 {
    let started = std::time::Instant::now();
    let baseline = match options.baseline.as_deref().map(Baseline::read).transpose() {
        Ok(baseline) => baseline,
        Err(problem) => {
            let _ = writeln!(err, "error: {problem}");
            return EXIT_INPUT_ERROR;
        }
    };
    let mut configured = load_config(rule_options, paths.first().map(PathBuf::as_path));
    let load_options = LoadOptions {
        exclude: configured.config.exclude.clone(),
        build_args: configured_build_args(&configured.config, load_options),
        ..load_options.clone()
    };
    // The rule packs are loaded and checked on another thread while this one loads the first
    // PATH: each needs only the configuration. (The model is loaded here, not in the thread
    // pool, because freeing memory on another thread than the one that allocated it is slow,
    // and the model is large.) Nothing is printed until both are done, so the output keeps
    // its order.
    let (packs, mut first_loaded) = std::thread::scope(|scope| {
        let config = &configured.config;
        let sources = &mut configured.sources;
        let packs = scope.spawn(|| load_packs(rule_options, config, sources));
        let first = paths
            .first()
            .map(|path| load_with_measured_sizes(path, &load_options, config));
        match packs.join() {
            Ok(packs) => (packs, first),
            Err(panic) => std::panic::resume_unwind(panic),
        }
    });
    let rule_set = configured.with_packs(packs);
    print_diagnostics(err, &rule_set.diagnostics, &rule_set.sources);
    let rules: Vec<&Rule> = rule_set.rules().collect();
    let (policy, policy_diagnostics) = Policy::new(&rule_set.config, &rules);
    print_diagnostics(err, &policy_diagnostics, &rule_set.sources);
    let mut input_errors = rule_set.has_config_errors || !policy_diagnostics.is_empty();
    let current_dir = std::env::current_dir().unwrap_or_default();
    let line_hashes =
        baseline.is_some() || options.outputs.iter().any(|o| o.format == Format::Sarif);
    // The services of every PATH: an override service is unknown only if no PATH has it.
    let mut service_names = BTreeSet::new();
    let mut scans = Vec::new();
    for path in paths {
        let (mut loaded, measured) = match first_loaded.take() {
            Some(first) => first,
            None => load_with_measured_sizes(path, &load_options, &rule_set.config),
        };
        let (world, size_diagnostics, mut service_diagnostics) = sized_world(
            &loaded.repository,
            &loaded.sources,
            &measured,
            &rule_set.config,
        );
        loaded.diagnostics.extend(size_diagnostics);
        let prefix = if paths.len() > 1 {
            path_prefix(&loaded.repository.root, &current_dir)
        } else {
            String::new()
        };
        print_path_diagnostics(err, &loaded.diagnostics, &loaded.sources, &prefix);
        print_diagnostics(err, &service_diagnostics, &rule_set.sources);
        input_errors |= loaded
            .diagnostics
            .iter()
            .chain(&service_diagnostics)
            .any(Diagnostic::is_error);
        let services = policy.service_map(&loaded.repository);
        let (mut findings, rule_diagnostics) = policy.evaluate(&world, services.as_ref());
        if let Some(services) = &services {
            service_names.extend(services.names().into_iter().map(String::from));
        }
        print_diagnostics(err, &rule_diagnostics, &rule_set.sources);
        // A rule stopped on this input (a pattern that does not compile, its step budget
        // spent) left its findings out: the run is not a success.
        input_errors |= rule_diagnostics.iter().any(Diagnostic::is_error);
        let suppression_diagnostics =
            apply_suppressions(&mut findings, &loaded.repository, &loaded.sources, &rules);
        print_path_diagnostics(err, &suppression_diagnostics, &loaded.sources, &prefix);
        input_errors |= suppression_diagnostics.iter().any(Diagnostic::is_error);
        loaded.diagnostics.extend(suppression_diagnostics);
        // Problems with spans into the configuration and the rule packs.
        service_diagnostics.extend(rule_diagnostics);
        scans.push(ScannedPath::new(
            prefix,
            loaded.sources,
            findings,
            loaded.diagnostics,
            service_diagnostics,
            line_hashes,
        ));
    }
    let unknown_services = policy.unknown_services(&service_names);
    print_diagnostics(err, &unknown_services, &rule_set.sources);
    let baseline_hidden = baseline.map_or(0, |baseline| baseline.hide(&mut scans));
    let mut report = CheckReport {
        rules: rule_set
            .packs
            .iter()
            .flat_map(|pack| {
                let bundled = matches!(pack.origin, PackOrigin::Bundled);
                pack.rules
                    .iter()
                    .map(move |rule| EvaluatedRule { rule, bundled })
            })
            .collect(),
        rule_sources: &rule_set.sources,
        rule_diagnostics: [
            rule_set.diagnostics.clone(),
            policy_diagnostics,
            unknown_services,
        ]
        .concat(),
        scans,
        exit_code: EXIT_OK,
        execution_successful: !rule_set.has_rule_errors && !input_errors,
        elapsed: started.elapsed(),
        baseline_hidden,
        include_suppressed: options.include_suppressed,
    };
    report.exit_code = if rule_set.has_rule_errors {
        EXIT_RULE_ERROR
    } else if input_errors {
        EXIT_INPUT_ERROR
    } else if report
        .findings()
        .any(|(_, reported)| options.fail_on.fails(reported.finding.severity))
    {
        EXIT_FINDINGS
    } else {
        EXIT_OK
    };
    match write_outputs(&report, options, out) {
        Ok(()) => report.exit_code,
        Err(problem) => {
            let _ = writeln!(err, "error: {problem}");
            report.exit_code.max(EXIT_INPUT_ERROR)
        }
    }
}

/// Renders `report` in every requested format, to its file or to `out`.
fn write_outputs(
    report: &CheckReport<'_>,
    options: &CheckOptions,
    out: &mut dyn Write,
) -> Result<(), String> {
    for output in &options.outputs {
        let text = match output.format {
            Format::Text => Ok(text::render(
                report,
                TextOptions {
                    color: options.text.color && output.file.is_none(),
                    ..options.text
                },
            )),
            Format::Json => json::render(report),
            Format::Sarif => sarif::render(report),
            Format::Github => Ok(github::render(report)),
        }
        .map_err(|e| format!("cannot serialise the report: {e}"))?;
        match &output.file {
            Some(file) => std::fs::write(file, text)
                .map_err(|e| format!("cannot write {}: {e}", file.display()))?,
            None => out
                .write_all(text.as_bytes())
                .map_err(|e| format!("cannot write to standard output: {e}"))?,
        }
    }
    Ok(())
}

/// How `dockpolicy size` prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SizeFormat {
    Text,
    Json,
}

/// The configuration's `build_args`, then the command line's `--build-arg`s (a later one of a
/// name wins).
fn configured_build_args(config: &Config, load_options: &LoadOptions) -> Vec<(String, String)> {
    config
        .build_args
        .iter()
        .chain(&load_options.build_args)
        .cloned()
        .collect()
}

/// `dockpolicy size PATH`: every service with its size, its DP3005 budget and its largest
/// parts, then each estimate's breakdown. Exit 1 when a service is over its budget, 2 on an
/// input or configuration error.
pub fn size(
    path: &Path,
    rule_options: &RuleOptions,
    load_options: &LoadOptions,
    format: SizeFormat,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> u8 {
    let rule_set = load_rules(rule_options, Some(path));
    print_diagnostics(err, &rule_set.diagnostics, &rule_set.sources);
    let rules: Vec<&Rule> = rule_set.rules().collect();
    let (policy, policy_diagnostics) = Policy::new(&rule_set.config, &rules);
    print_diagnostics(err, &policy_diagnostics, &rule_set.sources);
    // A service's budget is DP3005's `budget` for it: the global setting and the overrides
    // naming the service, else the rule's default; none when DP3005 is off for it.
    let budget_of = |service: &str| match policy.service_param("DP3005", "budget", service)? {
        ParamValue::Size(bytes) => Some(bytes),
        _ => None,
    };
    let load_options = LoadOptions {
        exclude: policy.exclude().clone(),
        build_args: configured_build_args(&rule_set.config, load_options),
        ..load_options.clone()
    };
    let (mut loaded, measured) = load_with_measured_sizes(path, &load_options, &rule_set.config);
    let (world, size_diagnostics, service_diagnostics) = sized_world(
        &loaded.repository,
        &loaded.sources,
        &measured,
        &rule_set.config,
    );
    loaded.diagnostics.extend(size_diagnostics);
    print_diagnostics(err, &loaded.diagnostics, &loaded.sources);
    print_diagnostics(err, &service_diagnostics, &rule_set.sources);
    let rows = size_report::service_sizes(&world, &budget_of);
    let rendered = match format {
        SizeFormat::Text => Ok(size_report::render_sizes(&rows)),
        SizeFormat::Json => serde_json::to_string_pretty(&rows).map(|t| t + "\n"),
    };
    match rendered {
        Ok(text) => {
            let _ = write!(out, "{text}");
        }
        Err(e) => {
            let _ = writeln!(err, "error: cannot serialise the sizes: {e}");
            return EXIT_INPUT_ERROR;
        }
    }
    let input_errors = rule_set.has_config_errors
        || !policy_diagnostics.is_empty()
        || loaded
            .diagnostics
            .iter()
            .chain(&service_diagnostics)
            .any(Diagnostic::is_error);
    if rule_set.has_rule_errors {
        EXIT_RULE_ERROR
    } else if input_errors {
        EXIT_INPUT_ERROR
    } else if rows.iter().any(|r| r.over_budget) {
        EXIT_FINDINGS
    } else {
        EXIT_OK
    }
}

/// Loads `path`, and the measured sizes of `--image-sizes` (else of the configuration's
/// `image_sizes`) into its sources, so that their diagnostics and the warnings about
/// unmatched entries point into that file; their problems join the load's diagnostics.
fn load_with_measured_sizes(
    path: &Path,
    load_options: &LoadOptions,
    config: &Config,
) -> (Loaded, Vec<MeasuredSize>) {
    let mut loaded = load(path, load_options);
    let Some(sizes_path) = load_options
        .image_sizes
        .clone()
        .or_else(|| config.image_sizes.as_ref().map(|p| p.value.clone()))
    else {
        return (loaded, Vec::new());
    };
    let sources = &mut loaded.sources;
    match sources.load(&sizes_path, &sizes_path.display().to_string()) {
        Ok((file, warning)) => {
            let (sizes, diagnostics) = parse_measured_sizes(file, sources.text(file));
            loaded
                .diagnostics
                .extend(diagnostics.into_iter().chain(warning));
            (loaded, sizes)
        }
        Err(diagnostic) => {
            loaded.diagnostics.push(diagnostic);
            (loaded, Vec::new())
        }
    }
}

/// The world rules and the size report read: the loaded model with the configuration's
/// `services:` added and the measured sizes applied. Also returns the problems with the
/// measured sizes (spans into `sources`) and with the configured services (spans into the
/// configuration).
fn sized_world<'m>(
    repository: &'m Repository,
    sources: &'m Sources,
    measured: &[MeasuredSize],
    config: &Config,
) -> (World<'m>, Vec<Diagnostic>, Vec<Diagnostic>) {
    let mut world = World::new(repository, sources);
    let service_diagnostics = configure_services(&mut world, &config.services);
    let size_diagnostics = world.apply_measured_sizes(measured);
    (world, size_diagnostics, service_diagnostics)
}

/// Writes `diagnostics` (whose spans point into `sources`) rustc-style to `err`.
fn print_diagnostics(err: &mut dyn Write, diagnostics: &[Diagnostic], sources: &Sources) {
    print_path_diagnostics(err, diagnostics, sources, "");
}

/// [`print_diagnostics`] for the files of one scanned PATH, named after `prefix` (the PATH,
/// when several are checked).
fn print_path_diagnostics(
    err: &mut dyn Write,
    diagnostics: &[Diagnostic],
    sources: &Sources,
    prefix: &str,
) {
    let database = diagnostics::SourceDatabase { sources, prefix };
    let _ = write!(err, "{}", diagnostics::render_in(diagnostics, &database));
}

/// Adds the configuration's `services:` to the world. A Dockerfile or target that is not
/// there is an error at the setting; a `context` other than the one the Dockerfile is read
/// with is a warning (its `COPY` sources are resolved in that one).
fn configure_services(world: &mut World<'_>, services: &[ServiceSetting]) -> Vec<Diagnostic> {
    let mut diagnostics = Vec::new();
    let repository = world.repository;
    for service in services {
        let wanted = normalize_path(&service.dockerfile.value);
        let Some(dockerfile) = repository
            .dockerfiles
            .iter()
            .position(|d| normalize_path(&repository.root.join(&d.path)) == wanted)
        else {
            diagnostics.push(
                Diagnostic::error(format!(
                    "service `{}`: no Dockerfile was found at `{}` in the scanned path",
                    service.name.value,
                    service.dockerfile.value.display()
                ))
                .with_span(service.dockerfile.span),
            );
            continue;
        };
        let Some(model) = repository.dockerfiles.get(dockerfile) else {
            continue;
        };
        let stage = match &service.target {
            Some(target) => match model.dockerfile.stage_by_name(&target.value) {
                Some(stage) => Some(stage.index),
                None => {
                    diagnostics.push(
                        Diagnostic::error(format!(
                            "service `{}`: `{}` has no stage `{}`",
                            service.name.value, model.path, target.value
                        ))
                        .with_span(target.span),
                    );
                    continue;
                }
            },
            None => model.final_stage,
        };
        let Some(stage) = stage else {
            continue;
        };
        if let Some(context) = &service.context {
            let wanted = normalize_path(&context.value);
            let same = model
                .context
                .and_then(|c| repository.contexts.get(c))
                .is_some_and(|c| normalize_path(&repository.root.join(&c.path)) == wanted);
            if !same {
                diagnostics.push(
                    Diagnostic::warning(format!(
                        "service `{}`: `{}` is read with the build context `{}`; its COPY sources are resolved there, not in this one",
                        service.name.value,
                        model.path,
                        model
                            .context
                            .and_then(|c| repository.contexts.get(c))
                            .map_or("(none)", |c| c.path.as_str())
                    ))
                    .with_span(context.span),
                );
            }
        }
        world.add_configured_service(&service.name.value, dockerfile, stage);
    }
    diagnostics
}

/// `dockpolicy rules`: ID, name, severity and summary of every loaded rule.
pub fn rules(rule_options: &RuleOptions, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    let rule_set = load_rules(rule_options, Some(Path::new(".")));
    print_diagnostics(err, &rule_set.diagnostics, &rule_set.sources);
    let mut rules: Vec<&Rule> = rule_set.rules().collect();
    rules.sort_by(|a, b| a.id.value.cmp(&b.id.value));
    let width = rules.iter().map(|r| r.name.value.len()).max().unwrap_or(0);
    for rule in &rules {
        let _ = writeln!(
            out,
            "{:<8} {:<width$} {:<8} {}",
            rule.id.value,
            rule.name.value,
            default_severity(rule).as_str(),
            summary(rule),
        );
    }
    exit_for_rule_set(&rule_set)
}

/// `dockpolicy explain ID`: a rule's full documentation.
pub fn explain(
    id: &str,
    rule_options: &RuleOptions,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> u8 {
    let rule_set = load_rules(rule_options, Some(Path::new(".")));
    print_diagnostics(err, &rule_set.diagnostics, &rule_set.sources);
    let wanted = id.to_ascii_uppercase();
    let Some(rule) = rule_set
        .rules()
        .find(|r| r.id.value == wanted || r.name.value == id)
    else {
        let ids: Vec<&str> = rule_set.rules().map(|r| r.id.value.as_str()).collect();
        let hint = did_you_mean(&wanted, ids.iter().copied())
            .map(|s| format!(" (did you mean `{s}`?)"))
            .unwrap_or_default();
        let _ = writeln!(err, "error: no loaded rule has the ID or name `{id}`{hint}");
        return EXIT_INPUT_ERROR;
    };
    let _ = write!(out, "{}", explanation(rule));
    exit_for_rule_set(&rule_set)
}

fn exit_for_rule_set(rule_set: &RuleSet) -> u8 {
    if rule_set.has_rule_errors {
        EXIT_RULE_ERROR
    } else if rule_set.has_config_errors {
        EXIT_INPUT_ERROR
    } else {
        EXIT_OK
    }
}

/// `dockpolicy test [PACK...]`: runs the fixtures of each PACK (a pack folder, or the name
/// of a bundled pack), or of the bundled packs when none is given, and prints one line per
/// rule and then `N passed, N failed`. `no_default_rules` leaves the bundled packs out (then
/// a PACK is needed); their fixtures are read below `bundled_root`, the source tree holding
/// `rules/`. Exit 1 on a failed rule test, 2 on a usage error, 3 on pack errors.
pub fn test(
    packs: &[PathBuf],
    no_default_rules: bool,
    bundled_root: &Path,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> u8 {
    let mut folders = Vec::new();
    let mut bundled_names = Vec::new();
    for pack in packs {
        if pack.is_dir() {
            folders.push(pack.clone());
        } else if !no_default_rules && is_bundled_pack_name(pack) {
            bundled_names.push(pack.to_string_lossy().into_owned());
        } else {
            let _ = writeln!(
                err,
                "error: {}: there is no rule pack folder at this path{}",
                pack.display(),
                if no_default_rules {
                    ""
                } else {
                    " (nor a bundled pack of this name)"
                }
            );
            return EXIT_INPUT_ERROR;
        }
    }
    if packs.is_empty() && no_default_rules {
        let _ = writeln!(
            err,
            "error: nothing to test: name a pack folder, or leave out `--no-default-rules`"
        );
        return EXIT_INPUT_ERROR;
    }
    // The bundled packs load only to be tested, so that a folder holding a copy of one (such
    // as `rules/dockerfile`) can be tested without clashing with the embedded rules.
    let options = RuleOptions {
        packs: folders,
        no_default_rules: !packs.is_empty() && bundled_names.is_empty(),
        config: None,
    };
    let rule_set = load_rules(&options, None);
    print_diagnostics(err, &rule_set.diagnostics, &rule_set.sources);
    let selected: Vec<&Pack> = rule_set
        .packs
        .iter()
        .filter(|pack| match &pack.origin {
            PackOrigin::Bundled => packs.is_empty() || bundled_names.contains(&pack.name),
            PackOrigin::Path(_) => true,
        })
        .collect();
    let report = test_packs(&selected, &rule_set.sources, bundled_root);
    let _ = write!(out, "{}", report.render());
    if rule_set.has_rule_errors {
        EXIT_RULE_ERROR
    } else if rule_set.has_config_errors {
        EXIT_INPUT_ERROR
    } else if !report.passed() {
        EXIT_FINDINGS
    } else {
        EXIT_OK
    }
}

/// Whether `name` is the name of a bundled pack (`dockerfile`).
fn is_bundled_pack_name(name: &Path) -> bool {
    let mut sources = Sources::new();
    bundled_packs(&mut sources)
        .0
        .iter()
        .any(|pack| Path::new(&pack.name) == name)
}

/// `dockpolicy dump PATH`.
pub fn dump(
    path: &Path,
    load_options: &LoadOptions,
    output: Option<&Path>,
    err: &mut dyn Write,
) -> u8 {
    let loaded = load(path, load_options);
    print_diagnostics(err, &loaded.diagnostics, &loaded.sources);
    let text = dump::dump(&loaded.repository, &loaded.diagnostics, &loaded.sources)
        .and_then(|document| serde_json::to_string_pretty(&document));
    let text = match text {
        Ok(text) => text + "\n",
        Err(e) => {
            let _ = writeln!(err, "error: cannot serialise the model: {e}");
            return EXIT_INPUT_ERROR;
        }
    };
    let written = match output {
        Some(file) => std::fs::write(file, text),
        None => std::io::stdout().lock().write_all(text.as_bytes()),
    };
    if let Err(e) = written {
        let _ = writeln!(err, "error: cannot write the dump: {e}");
        return EXIT_INPUT_ERROR;
    }
    if loaded.diagnostics.iter().any(Diagnostic::is_error) {
        EXIT_INPUT_ERROR
    } else {
        EXIT_OK
    }
}
