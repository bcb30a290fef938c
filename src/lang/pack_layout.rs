//! Which files in a rule pack's folder are rules and which are rule fixtures.
//!
//! Shared by the library and by `build.rs` (which embeds the bundled packs), so that both
//! agree: every `*.dpl` file is a rule, searched recursively, except fixtures — a folder named
//! after a sibling rule file's stem (`DP1001.dpl` beside `DP1001/`) and any file whose name
//! contains `.fixture.` (`DP1001.fixture.Dockerfile`) — and, at the top of the pack, the
//! subfolders of a folder named `fixtures/` (mini repositories that test every rule of the
//! pack; `fixtures/` itself is never searched for rules). This module uses only `std`.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// The pack-level folder whose subfolders are fixtures for every rule of the pack.
pub const PACK_FIXTURES_DIR: &str = "fixtures";

/// Folders deeper than this inside a pack are not searched.
pub const MAX_PACK_DEPTH: usize = 16;
/// A pack folder holding more entries than this is cut short.
pub const MAX_PACK_ENTRIES: usize = 20_000;

/// The files of one pack folder, each list sorted by path.
#[derive(Debug, Default)]
pub struct PackListing {
    pub rules: Vec<PathBuf>,
    pub fixtures: Vec<PathBuf>,
    /// Folders that could not be read or limits reached: the path and what happened.
    pub problems: Vec<(PathBuf, String)>,
}

/// Lists `dir` recursively.
pub fn list_pack(dir: &Path) -> PackListing {
    let mut listing = PackListing::default();
    let mut pending = vec![(dir.to_path_buf(), 0usize)];
    let mut entries_seen = 0usize;
    while let Some((folder, depth)) = pending.pop() {
        let entries = match std::fs::read_dir(&folder) {
            Ok(entries) => entries,
            Err(error) => {
                listing
                    .problems
                    .push((folder, format!("cannot read the folder: {error}")));
                continue;
            }
        };
        let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        entries_seen += paths.len();
        if entries_seen > MAX_PACK_ENTRIES {
            listing.problems.push((
                folder,
                format!("the pack holds more than {MAX_PACK_ENTRIES} entries; the rest is skipped"),
            ));
            break;
        }
        paths.sort();
        let rule_stems: HashSet<String> = paths
            .iter()
            .filter(|p| is_rule_file(p))
            .filter_map(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
            .collect();
        for path in paths {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            if path.is_dir() {
                if rule_stems.contains(&name) {
                    listing.fixtures.push(path);
                } else if depth == 0 && name == PACK_FIXTURES_DIR {
                    list_pack_fixtures(&path, &mut listing);
                } else if depth + 1 > MAX_PACK_DEPTH {
                    listing.problems.push((
                        path,
                        format!("folders deeper than {MAX_PACK_DEPTH} levels are not searched"),
                    ));
                } else {
                    pending.push((path, depth + 1));
                }
            } else if name.contains(".fixture.") {
                listing.fixtures.push(path);
            } else if is_rule_file(&path) {
                listing.rules.push(path);
            }
        }
    }
    listing.rules.sort();
    listing.fixtures.sort();
    listing
}

/// The subfolders of the pack-level `fixtures/` folder, each a fixture.
fn list_pack_fixtures(dir: &Path, listing: &mut PackListing) {
    match std::fs::read_dir(dir) {
        Ok(entries) => listing.fixtures.extend(
            entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_dir()),
        ),
        Err(error) => listing.problems.push((
            dir.to_path_buf(),
            format!("cannot read the folder: {error}"),
        )),
    }
}

/// A `*.dpl` file that is not a fixture.
fn is_rule_file(path: &Path) -> bool {
    let name = path.file_name().map(|n| n.to_string_lossy());
    path.extension().is_some_and(|e| e == "dpl")
        && name.is_some_and(|n| !n.contains(".fixture."))
        && !path.is_dir()
}
