//! Rule packs: a folder of `.dpl` files, one rule per file, with fixtures beside them.
//!
//! The bundled packs under the repository's `rules/` folder are embedded in the binary at
//! build time by `build.rs` (a generated `include_str!` table; cargo reruns it whenever
//! anything under `rules/` changes); their syntax trees are built by generated code rather
//! than parsed ([`super::prebuilt`]), unless a file's text is not the one the code was
//! generated from. User packs are read from disk. Every file is parsed on its own, so a
//! broken rule file yields diagnostics and never hides the others; the files of a pack are
//! parsed in parallel, and their rules and diagnostics kept in path order.

use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::Serialize;

use super::ast::Rule;
use super::pack_layout::list_pack;
pub use super::pack_layout::PACK_FIXTURES_DIR;
use super::parser::parse_rule_file;
use crate::diag::Diagnostic;
use crate::source::{text_hash, FileId, Sources};

/// Where a pack came from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PackOrigin {
    /// Embedded in the binary from `rules/<name>/`.
    Bundled,
    /// Read from this folder.
    Path(PathBuf),
}

/// A named set of rules.
#[derive(Clone, Debug, Serialize)]
pub struct Pack {
    pub name: String,
    pub origin: PackOrigin,
    /// The rules that parsed without errors, in path order.
    pub rules: Vec<Rule>,
    /// Whether every rule is known to pass the checker already (a bundled pack whose trees
    /// were all prebuilt from the texts a test checked), so that loading does not check them
    /// again.
    #[serde(skip)]
    pub checked: bool,
    /// Fixture folders, `*.fixture.*` files and the subfolders of the pack's top-level
    /// `fixtures/` folder (for `dockpolicy test`), in path order. For a
    /// bundled pack these are paths in the source repository (`rules/<pack>/…`); they are not
    /// embedded.
    pub fixtures: Vec<PathBuf>,
}

/// One bundled pack, as embedded by `build.rs`.
struct BundledPack {
    name: &'static str,
    /// `(path such as rules/dockerfile/DP1001.dpl, text)`.
    rules: &'static [(&'static str, &'static str)],
    fixtures: &'static [&'static str],
}

include!(concat!(env!("OUT_DIR"), "/bundled_packs.rs"));

/// Loads every rule file of the pack folder `dir` (recursively, in path order) into `sources`
/// and parses each. The pack is named after the folder.
pub fn load_pack_dir(dir: &Path, sources: &mut Sources) -> (Pack, Vec<Diagnostic>) {
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| dir.to_string_lossy().into_owned());
    let mut diagnostics = Vec::new();
    let listing = list_pack(dir);
    for (path, problem) in &listing.problems {
        diagnostics.push(Diagnostic::error(format!("{}: {problem}", display(path))));
    }
    let mut files = Vec::new();
    for path in &listing.rules {
        let shown = display(path);
        match sources.load(path, &shown) {
            Ok((id, warning)) => {
                diagnostics.extend(warning);
                files.push(id);
            }
            Err(diagnostic) => diagnostics.push(diagnostic),
        }
    }
    let rules = parse_files(&files, sources, &mut diagnostics);
    let pack = Pack {
        name,
        origin: PackOrigin::Path(dir.to_path_buf()),
        rules,
        checked: false,
        fixtures: listing.fixtures,
    };
    (pack, diagnostics)
}

/// The packs embedded from `rules/`, in name order, their files added to `sources` under
/// paths such as `rules/dockerfile/DP1001.dpl`. A file of the text the prebuilt syntax trees
/// were generated from is not parsed: its tree is built ([`super::prebuilt`]).
pub fn bundled_packs(sources: &mut Sources) -> (Vec<Pack>, Vec<Diagnostic>) {
    let mut diagnostics = Vec::new();
    let packs = BUNDLED_PACKS
        .iter()
        .map(|bundled| {
            let mut rules = Vec::with_capacity(bundled.rules.len());
            let mut checked = true;
            for (path, text) in bundled.rules {
                let file = sources.add(PathBuf::from(path), path.to_string(), text.to_string());
                match super::prebuilt::rule(path, text_hash(text), file) {
                    Some(rule) => rules.push(rule),
                    // A text the trees were not generated from (only while `rules/` is edited).
                    None => {
                        checked = false;
                        let (rule, found) = parse_rule_file(file, text);
                        diagnostics.extend(found);
                        rules.extend(rule);
                    }
                }
            }
            Pack {
                name: bundled.name.to_string(),
                origin: PackOrigin::Bundled,
                rules,
                checked,
                fixtures: bundled.fixtures.iter().map(PathBuf::from).collect(),
            }
        })
        .collect();
    (packs, diagnostics)
}

/// The path and text of every bundled rule file, pack by pack, in path order.
#[cfg(test)]
pub fn bundled_texts() -> impl Iterator<Item = (&'static str, &'static str)> {
    BUNDLED_PACKS
        .iter()
        .flat_map(|bundled| bundled.rules.iter().copied())
}

/// Parses the rule files `files` of `sources` in parallel: their rules, in the order of
/// `files`, with the diagnostics of each file added to `diagnostics` in that order.
fn parse_files(
    files: &[FileId],
    sources: &Sources,
    diagnostics: &mut Vec<Diagnostic>,
) -> Vec<Rule> {
    let parsed: Vec<(Option<Rule>, Vec<Diagnostic>)> = files
        .par_iter()
        .map(|&file| parse_rule_file(file, sources.text(file)))
        .collect();
    let mut rules = Vec::with_capacity(parsed.len());
    for (rule, found) in parsed {
        diagnostics.extend(found);
        rules.extend(rule);
    }
    rules
}

/// A path as reports show it: `/`-separated.
fn display(path: &Path) -> String {
    path.to_string_lossy().replace('\\', "/")
}
