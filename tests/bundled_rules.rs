//! Every bundled rule against its fixtures: a `# ruleid: ID` comment expects a finding of
//! rule ID on the next line that is not a comment, a `# ok: ID` comment expects none there,
//! and every rule has at least one of each. A `.dockpolicy.yaml` in a fixture folder gives
//! the rule its params there, as the configuration file does for `dockpolicy check`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use dockpolicy::cli::{load_rules, RuleOptions};
use dockpolicy::config::{param_values, parse_config, CONFIG_FILE_NAME};
use dockpolicy::eval::engine::ParamValue;
use dockpolicy::eval::engine::{evaluate, RuleRun};
use dockpolicy::eval::world::World;
use dockpolicy::parse::repository::{load, LoadOptions};

/// `(file, line)` pairs expected by the annotations `marker` (`ruleid` or `ok`) for `id`.
fn annotations(dir: &Path, marker: &str, id: &str) -> BTreeSet<(String, usize)> {
    let mut expected = BTreeSet::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(path) = stack.pop() {
        if path.is_dir() {
            stack.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
            continue;
        }
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let rel = path
            .strip_prefix(dir)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        let lines: Vec<&str> = text.lines().collect();
        for (index, line) in lines.iter().enumerate() {
            let Some(ids) = line.trim().strip_prefix(&format!("# {marker}:")) else {
                continue;
            };
            if !ids.split(',').any(|i| i.trim() == id) {
                continue;
            }
            let target = (index + 1..lines.len())
                .find(|&i| !lines[i].trim_start().starts_with('#'))
                .unwrap_or(index + 1);
            expected.insert((rel.clone(), target + 1));
        }
    }
    expected
}

/// The params the fixture folder's `.dockpolicy.yaml` gives rule `rule`, if it has one.
fn fixture_params(
    fixtures: &Path,
    rule: &dockpolicy::lang::ast::Rule,
) -> std::collections::HashMap<String, ParamValue> {
    let path = fixtures.join(CONFIG_FILE_NAME);
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Default::default();
    };
    let mut sources = dockpolicy::source::Sources::new();
    let (file, _) = sources.load(&path, CONFIG_FILE_NAME).unwrap();
    let (config, diagnostics) = parse_config(file, &path, &text);
    assert!(
        diagnostics.is_empty(),
        "{}: {diagnostics:?}",
        path.display()
    );
    let (mut values, diagnostics) = param_values(&config.params, &[rule]);
    assert!(
        diagnostics.is_empty(),
        "{}: {diagnostics:?}",
        path.display()
    );
    values.remove(&rule.id.value).unwrap_or_default()
}

#[test]
fn every_bundled_rule_passes_its_fixtures() {
    let rule_set = load_rules(&RuleOptions::default(), None);
    assert!(
        rule_set.diagnostics.is_empty(),
        "{:?}",
        rule_set.diagnostics
    );
    let rules_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
    let mut checked = 0;
    for pack in &rule_set.packs {
        for rule in &pack.rules {
            let file = rule_set.sources.get(rule.file).unwrap();
            let rel = PathBuf::from(file.rel_path.strip_prefix("rules/").unwrap());
            let fixtures = rules_dir.join(rel.with_extension(""));
            assert!(
                fixtures.is_dir(),
                "{} has no fixture folder {}",
                rule.id.value,
                fixtures.display()
            );
            let id = rule.id.value.as_str();
            let expected = annotations(&fixtures, "ruleid", id);
            let silent = annotations(&fixtures, "ok", id);
            assert!(!expected.is_empty(), "{id} has no `# ruleid:` fixture");
            assert!(!silent.is_empty(), "{id} has no `# ok:` fixture");

            let loaded = load(&fixtures, &LoadOptions::default());
            let world = World::new(&loaded.repository, &loaded.sources);
            let run = [RuleRun {
                rule,
                params: fixture_params(&fixtures, rule),
            }];
            let (findings, problems) = evaluate(&run, &world);
            assert!(problems.is_empty(), "{problems:?}");
            let reported: BTreeSet<(String, usize)> = findings
                .iter()
                .map(|f| {
                    let source = loaded.sources.get(f.span.file).unwrap();
                    (
                        source.rel_path.clone(),
                        source.line_column(f.span.start as usize).0,
                    )
                })
                .collect();
            assert_eq!(
                reported, expected,
                "{id}: reported vs expected (file, line)"
            );
            assert!(
                reported.is_disjoint(&silent),
                "{id} fires on an `# ok:` line"
            );
            checked += 1;
        }
    }
    assert!(checked >= 3, "only {checked} bundled rules were checked");
}
