//! Rule tests (`dockpolicy test`): runs each rule of a pack over its fixtures and compares
//! the findings with the fixtures' annotations.
//!
//! A fixture is a folder beside its rule (`DP1001/` beside `DP1001.dpl`), a file whose name
//! contains `.fixture.` (read as a single Dockerfile, as `check FILE` reads one), or a
//! subfolder of the pack's top-level `fixtures/` folder (a mini repository that tests every
//! rule of the pack). Each is loaded as a repository and evaluated with the rule it belongs
//! to, every rule its annotations name, and (for `fixtures/`) every rule of the pack, with
//! the fixture's own `.dockpolicy.yaml` and inline suppressions applied as `check` applies
//! them.
//!
//! Annotations are `#` comments in any file of a fixture, about the next line that is
//! neither blank nor a comment: `# ruleid: ID[, ID…]` (a finding of ID starts on that line),
//! `# ok: ID` (none does), `# todoruleid: ID` (a known false negative: passes when absent,
//! noted "fixed?" when reported) and `# todook: ID` (a known false positive: tolerated, noted
//! "fixed?" when absent). Results are in pack order, rules in path order, places sorted.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::config::{parse_config, Config, CONFIG_FILE_NAME};
use crate::eval::suppression::apply_suppressions;
use crate::eval::world::World;
use crate::lang::ast::Rule;
use crate::lang::pack::{Pack, PackOrigin, PACK_FIXTURES_DIR};
use crate::parse::repository::{load, LoadOptions};
use crate::policy::Policy;
use crate::source::Sources;

/// Files of a fixture folder beyond this many are not read for annotations.
const MAX_FIXTURE_FILES: usize = 10_000;
/// Folders of a fixture deeper than this are not read for annotations.
const MAX_FIXTURE_DEPTH: usize = 32;
/// Files larger than this are not read for annotations (the loader refuses them too).
const MAX_FIXTURE_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// What an annotation expects on its line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Expectation {
    /// `# ruleid:` a finding starts on the line.
    RuleId,
    /// `# ok:` no finding starts on the line.
    Ok,
    /// `# todoruleid:` a finding should start on the line but the rule misses it.
    TodoRuleId,
    /// `# todook:` the rule reports the line but should not.
    TodoOk,
}

impl Expectation {
    const MARKERS: [(&'static str, Expectation); 4] = [
        ("ruleid:", Expectation::RuleId),
        ("ok:", Expectation::Ok),
        ("todoruleid:", Expectation::TodoRuleId),
        ("todook:", Expectation::TodoOk),
    ];
}

/// One rule ID of one annotation comment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Annotation {
    pub expectation: Expectation,
    pub rule_id: String,
    /// The 1-based line of the comment.
    pub comment_line: usize,
    /// The 1-based line it is about: the next line that is neither blank nor a comment;
    /// `None` when the file has no such line after it.
    pub line: Option<usize>,
}

/// The annotations of one file's text, in line order.
pub fn parse_annotations(text: &str) -> Vec<Annotation> {
    let lines: Vec<&str> = text.lines().collect();
    // The target of each line: the next code line at or after it, computed backwards once.
    let mut next_code = vec![None; lines.len() + 1];
    for (index, line) in lines.iter().enumerate().rev() {
        let trimmed = line.trim_start_matches('\u{feff}').trim();
        next_code[index] = if trimmed.is_empty() || trimmed.starts_with('#') {
            next_code[index + 1]
        } else {
            Some(index + 1)
        };
    }
    let mut annotations = Vec::new();
    for (index, line) in lines.iter().enumerate() {
        let Some(comment) = line
            .trim_start_matches('\u{feff}')
            .trim_start()
            .strip_prefix('#')
        else {
            continue;
        };
        let comment = comment.trim_start();
        let Some((expectation, ids)) = Expectation::MARKERS
            .iter()
            .find_map(|(marker, e)| comment.strip_prefix(marker).map(|ids| (*e, ids)))
        else {
            continue;
        };
        let line = next_code.get(index + 1).copied().flatten();
        for id in ids.split(',').map(str::trim).filter(|id| !id.is_empty()) {
            annotations.push(Annotation {
                expectation,
                rule_id: id.to_string(),
                comment_line: index + 1,
                line,
            });
        }
    }
    annotations
}

/// A line of a fixture file, shown as `path:line`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Place {
    pub file: String,
    pub line: usize,
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// The result of one rule over all its fixtures.
#[derive(Clone, Debug, Default, Serialize)]
pub struct RuleTestResult {
    pub pack: String,
    pub rule_id: String,
    pub rule_name: String,
    /// Lines annotated `# ruleid:`.
    pub expected: BTreeSet<Place>,
    /// Lines annotated `# ok:`.
    pub silent: BTreeSet<Place>,
    /// Lines where a finding of the rule starts.
    pub reported: BTreeSet<Place>,
    /// Expected but not reported.
    pub missing: BTreeSet<Place>,
    /// Reported on a line that is neither `ruleid` nor `todoruleid` nor `todook`.
    pub unexpected: BTreeSet<Place>,
    /// `todoruleid` lines now reported: the false negative may be fixed.
    pub fixed_false_negatives: BTreeSet<Place>,
    /// `todook` lines no longer reported: the false positive may be fixed.
    pub fixed_false_positives: BTreeSet<Place>,
    /// Other reasons the test fails: no `ruleid` fixture, a fixture that is not there, a
    /// rule that ran out of steps, contradictory annotations.
    pub problems: Vec<String>,
}

impl RuleTestResult {
    pub fn passed(&self) -> bool {
        self.missing.is_empty() && self.unexpected.is_empty() && self.problems.is_empty()
    }
}

/// The results of all rules of the packs tested.
#[derive(Clone, Debug, Default, Serialize)]
pub struct TestReport {
    /// One per rule, in pack order and then rule path order.
    pub results: Vec<RuleTestResult>,
    /// Problems that belong to no single rule (a pack without rules, an annotation naming a
    /// rule the pack does not have, a fixture that tests no rule); each fails the run.
    pub problems: Vec<String>,
}

impl TestReport {
    pub fn passed_count(&self) -> usize {
        self.results.iter().filter(|r| r.passed()).count()
    }

    pub fn failed_count(&self) -> usize {
        self.results.len() - self.passed_count()
    }

    /// Whether every rule passed and there is no other problem.
    pub fn passed(&self) -> bool {
        self.failed_count() == 0 && self.problems.is_empty()
    }

    /// The text `dockpolicy test` prints: one line per rule, the details of failures, the
    /// problems, then `N passed, N failed`.
    pub fn render(&self) -> String {
        let mut text = String::new();
        for result in &self.results {
            let word = if result.passed() { "PASS" } else { "FAIL" };
            text.push_str(&format!(
                "{word} {} {} ({} expected, {} silent)\n",
                result.rule_id,
                result.rule_name,
                result.expected.len(),
                result.silent.len()
            ));
            if !result.passed() {
                for problem in &result.problems {
                    text.push_str(&format!("    error: {problem}\n"));
                }
                if !result.missing.is_empty() || !result.unexpected.is_empty() {
                    push_places(
                        &mut text,
                        "expected",
                        result.expected.iter().map(|p| p.to_string()),
                    );
                    push_places(
                        &mut text,
                        "reported",
                        result.reported.iter().map(|p| p.to_string()),
                    );
                    push_places(
                        &mut text,
                        "missing",
                        result.missing.iter().map(|p| p.to_string()),
                    );
                    let unexpected = result.unexpected.iter().map(|place| {
                        if result.silent.contains(place) {
                            format!("{place} (annotated `ok`)")
                        } else {
                            place.to_string()
                        }
                    });
                    push_places(&mut text, "unexpected", unexpected);
                }
            }
            let fixed = (result.fixed_false_negatives.iter())
                .map(|place| format!("{place} (`todoruleid`, now reported)"))
                .chain(
                    (result.fixed_false_positives.iter())
                        .map(|place| format!("{place} (`todook`, no longer reported)")),
                );
            push_places(&mut text, "fixed?", fixed);
        }
        for problem in &self.problems {
            text.push_str(&format!("error: {problem}\n"));
        }
        text.push_str(&format!(
            "{} passed, {} failed\n",
            self.passed_count(),
            self.failed_count()
        ));
        text
    }
}

/// A detail line of a rule's result: `    missing:    a:1, a:3`, unless there is no place.
fn push_places(text: &mut String, label: &str, places: impl Iterator<Item = String>) {
    let places: Vec<String> = places.collect();
    if !places.is_empty() {
        let label = format!("{label}:");
        text.push_str(&format!("    {label:<12}{}\n", places.join(", ")));
    }
}

/// Runs the fixtures of `packs`. `sources` holds the packs' rule files; bundled packs'
/// fixtures (paths such as `rules/dockerfile/DP1005`) are read below `bundled_root`, the
/// source tree that holds `rules/`.
pub fn test_packs(packs: &[&Pack], sources: &Sources, bundled_root: &Path) -> TestReport {
    let mut report = TestReport::default();
    for pack in packs {
        test_pack(pack, sources, bundled_root, &mut report);
    }
    report
}

/// The annotations and findings gathered for one rule.
#[derive(Default)]
struct Tally {
    annotations: BTreeMap<Place, BTreeSet<Expectation>>,
    reported: BTreeSet<Place>,
    problems: Vec<String>,
}

fn test_pack(pack: &Pack, sources: &Sources, bundled_root: &Path, report: &mut TestReport) {
    if pack.rules.is_empty() {
        report
            .problems
            .push(format!("pack `{}` has no rules to test", pack.name));
        return;
    }
    let pack_root = match &pack.origin {
        PackOrigin::Bundled => Path::new("rules").join(&pack.name),
        PackOrigin::Path(dir) => dir.clone(),
    };
    let by_id: HashMap<&str, usize> = pack
        .rules
        .iter()
        .enumerate()
        .map(|(index, rule)| (rule.id.value.as_str(), index))
        .collect();
    let mut tallies: Vec<Tally> = pack.rules.iter().map(|_| Tally::default()).collect();
    for fixture in &pack.fixtures {
        let shown = display(fixture);
        let on_disk = match pack.origin {
            PackOrigin::Bundled => bundled_root.join(fixture),
            PackOrigin::Path(_) => fixture.clone(),
        };
        let owners = fixture_owners(pack, &pack_root, fixture, sources);
        if !on_disk.exists() {
            let problem = format!("the fixture {shown} is not there ({})", on_disk.display());
            push_problem(&owners, &mut tallies, &mut report.problems, problem);
            continue;
        }
        let files = annotated_files(&on_disk, &shown);
        let mut tested: BTreeSet<usize> = owners.iter().copied().collect();
        for (file, annotation, _) in &files {
            match by_id.get(annotation.rule_id.as_str()) {
                Some(&index) => {
                    tested.insert(index);
                }
                None => report.problems.push(format!(
                    "{file}:{}: `{}` is not a rule of pack `{}` (or it did not load)",
                    annotation.comment_line, annotation.rule_id, pack.name
                )),
            }
        }
        if tested.is_empty() {
            report.problems.push(format!(
                "the fixture {shown} belongs to no rule and its annotations name none"
            ));
            continue;
        }
        for (file, annotation, place) in files {
            let Some(&index) = by_id.get(annotation.rule_id.as_str()) else {
                continue;
            };
            let Some(tally) = tallies.get_mut(index) else {
                continue;
            };
            match place {
                Some(place) => {
                    tally
                        .annotations
                        .entry(place)
                        .or_default()
                        .insert(annotation.expectation);
                }
                None => tally.problems.push(format!(
                    "{file}:{}: the annotation has no line after it",
                    annotation.comment_line
                )),
            }
        }
        run_fixture(pack, &on_disk, &shown, &tested, &mut tallies);
    }
    for (rule, tally) in pack.rules.iter().zip(tallies) {
        report.results.push(result_of(pack, rule, tally));
    }
}

/// Adds `problem` to every owner's tally, or to the pack's problems when there is none.
fn push_problem(
    owners: &[usize],
    tallies: &mut [Tally],
    problems: &mut Vec<String>,
    problem: String,
) {
    if owners.is_empty() {
        problems.push(problem);
        return;
    }
    for &owner in owners {
        if let Some(tally) = tallies.get_mut(owner) {
            tally.problems.push(problem.clone());
        }
    }
}

/// The configuration of a fixture folder's `.dockpolicy.yaml` for `rules`, as `dockpolicy
/// check` on the folder would apply it (a rule whose params matter only when configured, such
/// as an allow-list, needs this for a fixture that fires); and the configuration's problems.
fn fixture_config(fixture: &Path, rules: &[&Rule]) -> (Config, Vec<String>) {
    let path = fixture.join(CONFIG_FILE_NAME);
    if !path.is_file() {
        return (Config::default(), Vec::new());
    }
    let mut sources = Sources::new();
    let file = match sources.load(&path, CONFIG_FILE_NAME) {
        Ok((file, _)) => file,
        Err(diagnostic) => return (Config::default(), vec![diagnostic.message]),
    };
    let (config, diagnostics) = parse_config(file, &path, sources.text(file));
    let ids: Vec<&str> = rules.iter().map(|r| r.id.value.as_str()).collect();
    (
        config.for_rules(&ids),
        diagnostics.into_iter().map(|d| d.message).collect(),
    )
}

/// Loads the fixture, evaluates the rules `tested` and records where each reported.
fn run_fixture(
    pack: &Pack,
    on_disk: &Path,
    shown: &str,
    tested: &BTreeSet<usize>,
    tallies: &mut [Tally],
) {
    let rules: Vec<&Rule> = tested
        .iter()
        .filter_map(|&index| pack.rules.get(index))
        .collect();
    let (config, mut config_problems) = fixture_config(on_disk, &rules);
    let (policy, policy_problems) = Policy::new(&config, &rules);
    config_problems.extend(policy_problems.into_iter().map(|d| d.message));
    for problem in config_problems {
        for &index in tested {
            if let Some(tally) = tallies.get_mut(index) {
                tally.problems.push(format!("{shown}: {problem}"));
            }
        }
    }
    let options = LoadOptions {
        exclude: policy.exclude().clone(),
        ..LoadOptions::default()
    };
    let loaded = load(on_disk, &options);
    let world = World::new(&loaded.repository, &loaded.sources);
    let services = policy.service_map(&loaded.repository);
    let (mut findings, mut problems) = policy.evaluate(&world, services.as_ref());
    problems.extend(apply_suppressions(
        &mut findings,
        &loaded.repository,
        &loaded.sources,
        &rules,
    ));
    let findings: Vec<_> = findings
        .into_iter()
        .filter(|f| f.suppression.is_none())
        .collect();
    let index_of: HashMap<&str, usize> = tested
        .iter()
        .filter_map(|&index| pack.rules.get(index).map(|r| (r.id.value.as_str(), index)))
        .collect();
    for finding in &findings {
        let (Some(&index), Some(file)) = (
            index_of.get(&*finding.rule_id),
            loaded.sources.get(finding.span.file),
        ) else {
            continue;
        };
        let place = Place {
            file: place_file(on_disk, shown, &file.rel_path),
            line: file.line_column(finding.span.start as usize).0,
        };
        if let Some(tally) = tallies.get_mut(index) {
            tally.reported.insert(place);
        }
    }
    for problem in problems.iter().filter(|p| p.is_error()) {
        for &index in tested {
            if let Some(tally) = tallies.get_mut(index) {
                tally
                    .problems
                    .push(format!("on {shown}: {}", problem.message));
            }
        }
    }
}

fn result_of(pack: &Pack, rule: &Rule, tally: Tally) -> RuleTestResult {
    let mut result = RuleTestResult {
        pack: pack.name.clone(),
        rule_id: rule.id.value.clone(),
        rule_name: rule.name.value.clone(),
        problems: tally.problems,
        ..RuleTestResult::default()
    };
    for (place, expectations) in &tally.annotations {
        let has = |e: Expectation| expectations.contains(&e);
        if has(Expectation::RuleId) && has(Expectation::Ok) {
            result
                .problems
                .push(format!("{place} is annotated both `ruleid` and `ok`"));
        }
        let reported = tally.reported.contains(place);
        if has(Expectation::RuleId) {
            result.expected.insert(place.clone());
            if !reported {
                result.missing.insert(place.clone());
            }
        }
        if has(Expectation::Ok) {
            result.silent.insert(place.clone());
        }
        if has(Expectation::TodoRuleId) && reported {
            result.fixed_false_negatives.insert(place.clone());
        }
        if has(Expectation::TodoOk) && !reported {
            result.fixed_false_positives.insert(place.clone());
        }
    }
    for place in &tally.reported {
        let tolerated = tally.annotations.get(place).is_some_and(|e| {
            e.contains(&Expectation::RuleId)
                || e.contains(&Expectation::TodoRuleId)
                || e.contains(&Expectation::TodoOk)
        });
        if !tolerated {
            result.unexpected.insert(place.clone());
        }
    }
    if result.expected.is_empty() {
        result.problems.insert(
            0,
            format!(
                "no `# ruleid: {}` annotation in any fixture of pack `{}`: every rule needs at \
                 least one line it must report",
                rule.id.value, pack.name
            ),
        );
    }
    result.reported = tally.reported;
    result
}

/// The rules a fixture belongs to: every rule for a subfolder of the pack's `fixtures/`,
/// the rule whose file is `NAME.dpl` beside a folder `NAME/` or a file `NAME.fixture.*`.
fn fixture_owners(pack: &Pack, pack_root: &Path, fixture: &Path, sources: &Sources) -> Vec<usize> {
    if fixture.parent() == Some(pack_root.join(PACK_FIXTURES_DIR).as_path()) {
        return (0..pack.rules.len()).collect();
    }
    let name = fixture
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let stem = name.split(".fixture.").next().unwrap_or_default();
    let rule_file = fixture.with_file_name(format!("{stem}.dpl"));
    pack.rules
        .iter()
        .enumerate()
        .filter(|(_, rule)| sources.get(rule.file).is_some_and(|f| f.path == rule_file))
        .map(|(index, _)| index)
        .collect()
}

/// Every annotation of every readable file of the fixture: `(shown file, annotation, place)`.
fn annotated_files(on_disk: &Path, shown: &str) -> Vec<(String, Annotation, Option<Place>)> {
    let mut found = Vec::new();
    for (path, rel) in fixture_files(on_disk) {
        let too_big = std::fs::metadata(&path).map_or(true, |m| m.len() > MAX_FIXTURE_FILE_BYTES);
        if too_big {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let file = place_file(on_disk, shown, &rel);
        for annotation in parse_annotations(&text) {
            let place = annotation.line.map(|line| Place {
                file: file.clone(),
                line,
            });
            found.push((file.clone(), annotation, place));
        }
    }
    found
}

/// The files of a fixture with their `/`-separated paths relative to it (a file fixture is
/// its own name), sorted; symbolic links are not followed and `.git` is not entered.
fn fixture_files(fixture: &Path) -> Vec<(PathBuf, String)> {
    if !fixture.is_dir() {
        let name = fixture
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        return vec![(fixture.to_path_buf(), name)];
    }
    let mut files = Vec::new();
    let mut pending = vec![(fixture.to_path_buf(), 0usize)];
    while let Some((folder, depth)) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&folder) else {
            continue;
        };
        for entry in entries.filter_map(Result::ok) {
            let path = entry.path();
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() && depth < MAX_FIXTURE_DEPTH && entry.file_name() != ".git" {
                pending.push((path, depth + 1));
            } else if kind.is_file() && files.len() < MAX_FIXTURE_FILES {
                let rel = path
                    .strip_prefix(fixture)
                    .map(display)
                    .unwrap_or_else(|_| display(&path));
                files.push((path, rel));
            }
        }
    }
    files.sort();
    files
}

/// How a file of a fixture is shown: the fixture's path, then the file's path inside it.
fn place_file(on_disk: &Path, shown: &str, rel: &str) -> String {
    if on_disk.is_dir() {
        format!("{shown}/{rel}")
    } else {
        shown.to_string()
    }
}

/// A path as reports show it: `/`-separated.
fn display(path: &Path) -> String {
    path.to_string_lossy().replace('\\', "/")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn targets(text: &str) -> Vec<(Expectation, String, Option<usize>)> {
        parse_annotations(text)
            .into_iter()
            .map(|a| (a.expectation, a.rule_id, a.line))
            .collect()
    }

    #[test]
    fn annotations_point_at_the_next_line_that_is_not_a_comment_or_blank() {
        let text = "FROM a\n# ruleid: DP1, DP2\n# a note\n\n  RUN x\n#ok:DP3\nRUN y\n";
        assert_eq!(
            targets(text),
            vec![
                (Expectation::RuleId, "DP1".into(), Some(5)),
                (Expectation::RuleId, "DP2".into(), Some(5)),
                (Expectation::Ok, "DP3".into(), Some(7)),
            ]
        );
    }

    #[test]
    fn todo_markers_and_a_trailing_annotation() {
        let text = "# todoruleid: A1\nx\n  # todook: B2\ny\n# ruleid: C3\n";
        assert_eq!(
            targets(text),
            vec![
                (Expectation::TodoRuleId, "A1".into(), Some(2)),
                (Expectation::TodoOk, "B2".into(), Some(4)),
                (Expectation::RuleId, "C3".into(), None),
            ]
        );
    }

    #[test]
    fn other_comments_are_not_annotations() {
        assert!(targets("# okay: A1\nx\n# rule: A1\ny\n# ruleid:\nz\n").is_empty());
    }
}
