//! The build context: which ignore file applies, what the context directory holds and what
//! BuildKit sends of it, and what a COPY/ADD source resolves to.
//!
//! The walk never follows symlinks (BuildKit sends them as links), so link loops cannot make
//! it loop; it is bounded in entries and depth. Excluded directories are not descended into
//! when BuildKit would not descend either (no `!` exception could re-include anything below).

use std::fs;
use std::path::{Path, PathBuf};

use crate::diag::Diagnostic;
use crate::model::context::{
    BuildContext, ContextFile, CopyOutcome, CopySource, DockerIgnore, EntryKind, ExcludedMatch,
};
use crate::parse::dockerignore::{go_clean, go_match};

/// The walk stops after this many entries (with a diagnostic).
pub const MAX_CONTEXT_ENTRIES: usize = 200_000;

/// Directories nested deeper than this are not walked (with a diagnostic).
pub const MAX_CONTEXT_DEPTH: usize = 64;

/// The ignore file BuildKit applies to a build of `dockerfile` with context `context_root`:
/// `<Dockerfile name>.dockerignore` beside the Dockerfile if it exists (it replaces the
/// context's file, never merges with it), else `<context>/.dockerignore` if it exists.
pub fn dockerignore_path(dockerfile: &Path, context_root: &Path) -> Option<PathBuf> {
    if let Some(name) = dockerfile.file_name() {
        let mut specific = name.to_os_string();
        specific.push(".dockerignore");
        let specific = dockerfile.with_file_name(specific);
        if specific.is_file() {
            return Some(specific);
        }
    }
    let root = context_root.join(".dockerignore");
    root.is_file().then_some(root)
}

/// One directory being walked: its remaining entries and what its patterns matched.
struct Frame {
    rel_dir: String,
    entries: std::vec::IntoIter<(String, PathBuf)>,
    parent_matches: Option<Vec<bool>>,
    depth: usize,
}

/// Walks the context directory `root` and applies `ignore` to every entry.
pub fn scan_context(root: &Path, ignore: Option<&DockerIgnore>) -> (BuildContext, Vec<Diagnostic>) {
    let mut diagnostics = Vec::new();
    let mut context = BuildContext {
        root: root.to_path_buf(),
        dockerignore: ignore.cloned(),
        files: Vec::new(),
        total_size: 0,
        sent_size: 0,
        sent_files: 0,
        truncated: false,
    };
    let mut stack = Vec::new();
    match read_dir_sorted(root) {
        Ok(entries) => stack.push(Frame {
            rel_dir: String::new(),
            entries: entries.into_iter(),
            parent_matches: None,
            depth: 1,
        }),
        Err(e) => diagnostics.push(Diagnostic::error(format!(
            "cannot read the build context {}: {e}",
            root.display()
        ))),
    }
    while let Some(frame) = stack.last_mut() {
        let Some((name, path)) = frame.entries.next() else {
            stack.pop();
            continue;
        };
        if context.files.len() >= MAX_CONTEXT_ENTRIES {
            diagnostics.push(Diagnostic::warning(format!(
                "the build context {} has more than {MAX_CONTEXT_ENTRIES} entries; the rest were not scanned",
                root.display()
            )));
            context.truncated = true;
            break;
        }
        let rel_path = if frame.rel_dir.is_empty() {
            name
        } else {
            format!("{}/{name}", frame.rel_dir)
        };
        let depth = frame.depth;
        let (decision, matches) = match ignore {
            Some(ignore) => {
                let (decision, matches) =
                    ignore.match_with_parent(&rel_path, frame.parent_matches.as_deref());
                (Some(decision), Some(matches))
            }
            None => (None, None),
        };
        let excluded_by = decision.filter(|d| d.excluded).and_then(|d| d.pattern);
        let excluded = decision.is_some_and(|d| d.excluded);
        let metadata = match fs::symlink_metadata(&path) {
            Ok(metadata) => metadata,
            Err(e) => {
                if !excluded {
                    diagnostics.push(Diagnostic::warning(format!(
                        "cannot read {} in the build context: {e}",
                        path.display()
                    )));
                }
                continue;
            }
        };
        let file_type = metadata.file_type();
        let kind = if file_type.is_symlink() {
            EntryKind::Symlink
        } else if file_type.is_dir() {
            EntryKind::Dir
        } else if file_type.is_file() {
            EntryKind::File
        } else {
            EntryKind::Other
        };
        let link_target = (kind == EntryKind::Symlink).then(|| {
            fs::read_link(&path)
                .map_or_else(|_| String::new(), |t| t.to_string_lossy().into_owned())
        });
        let size = if kind == EntryKind::Dir {
            0
        } else {
            metadata.len()
        };
        if kind == EntryKind::File {
            context.total_size += size;
            if !excluded {
                context.sent_size += size;
                context.sent_files += 1;
            }
        }
        let mut walked = false;
        if kind == EntryKind::Dir {
            let skipped =
                excluded && ignore.is_some_and(|ignore| ignore.skips_excluded_dir(&rel_path));
            if !skipped {
                if depth >= MAX_CONTEXT_DEPTH {
                    diagnostics.push(Diagnostic::warning(format!(
                        "{} is nested more than {MAX_CONTEXT_DEPTH} directories deep in the build context; its contents were not scanned",
                        path.display()
                    )));
                    context.truncated = true;
                } else {
                    match read_dir_sorted(&path) {
                        Ok(entries) => {
                            walked = true;
                            stack.push(Frame {
                                rel_dir: rel_path.clone(),
                                entries: entries.into_iter(),
                                parent_matches: matches,
                                depth: depth + 1,
                            });
                        }
                        // BuildKit ignores unreadable directories it excludes.
                        Err(e) if !excluded => diagnostics.push(Diagnostic::warning(format!(
                            "cannot read the directory {} in the build context: {e}",
                            path.display()
                        ))),
                        Err(_) => {}
                    }
                }
            }
        }
        context.files.push(ContextFile {
            rel_path,
            kind,
            size,
            excluded_by,
            walked,
            link_target,
        });
    }
    (context, diagnostics)
}

/// The entries of `dir` as (name, path), sorted by name bytewise as BuildKit walks them.
fn read_dir_sorted(dir: &Path) -> std::io::Result<Vec<(String, PathBuf)>> {
    let mut entries = Vec::new();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        entries.push((
            entry.file_name().to_string_lossy().into_owned(),
            entry.path(),
        ));
    }
    entries.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    Ok(entries)
}

/// fsutil's `containsWildcards`: an unescaped `*`, `?` or `[`.
fn contains_wildcards(component: &str) -> bool {
    let mut bytes = component.bytes();
    while let Some(b) = bytes.next() {
        match b {
            b'\\' => {
                bytes.next();
            }
            b'*' | b'?' | b'[' => return true,
            _ => {}
        }
    }
    false
}

/// Whether `path` is `dir` itself or below it (`dir == ""` is the context root).
fn is_within(path: &str, dir: &str) -> bool {
    dir.is_empty()
        || path
            .strip_prefix(dir)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// The part of `path` below `dir` (`path` must be strictly within `dir`).
fn below<'a>(path: &'a str, dir: &str) -> &'a str {
    if dir.is_empty() {
        path
    } else {
        path.get(dir.len() + 1..).unwrap_or("")
    }
}

impl BuildContext {
    /// Which entries exist in the context BuildKit sends: entries not excluded, and
    /// excluded directories that still hold a sent entry (BuildKit recreates them).
    fn present_entries(&self) -> Vec<bool> {
        let mut present: Vec<bool> = self.files.iter().map(|f| f.excluded_by.is_none()).collect();
        let mut dirs: Vec<usize> = Vec::new();
        for (index, file) in self.files.iter().enumerate() {
            while let Some(&top) = dirs.last() {
                let dir = self.files.get(top).map_or("", |f| f.rel_path.as_str());
                if is_within(&file.rel_path, dir) {
                    break;
                }
                dirs.pop();
            }
            if file.excluded_by.is_none() {
                for &dir in dirs.iter().rev() {
                    match present.get_mut(dir) {
                        Some(slot) if !*slot => *slot = true,
                        _ => break,
                    }
                }
            }
            if file.kind == EntryKind::Dir {
                dirs.push(index);
            }
        }
        present
    }

    /// Resolves a COPY/ADD source the way BuildKit does: relative to the context root
    /// (leading `/` and `./` dropped, cleaned, `..` cannot leave the root), Go
    /// `filepath.Match` wildcards per path component, a directory meaning its contents.
    pub fn resolve_copy_source(&self, source: &str) -> CopySource {
        let absolute = go_clean(&format!("/{source}"));
        let cleaned = absolute.strip_prefix('/').unwrap_or(&absolute).to_string();
        let components: Vec<&str> = if cleaned.is_empty() {
            Vec::new()
        } else {
            cleaned.split('/').collect()
        };
        let literal_len = components
            .iter()
            .position(|c| contains_wildcards(c))
            .unwrap_or(components.len());
        let literal = components.get(..literal_len).unwrap_or(&[]).join("/");
        let wildcard_part = components.get(literal_len..).unwrap_or(&[]).join("/");
        let mut result = CopySource {
            source: source.to_string(),
            cleaned,
            wildcard: !wildcard_part.is_empty(),
            files: Vec::new(),
            size: 0,
            excluded: Vec::new(),
            outcome: CopyOutcome::NotFound,
        };
        let present = self.present_entries();
        let is_present = |index: usize| present.get(index).copied().unwrap_or(false);

        // The literal part must exist: the context root always does.
        let base = if literal.is_empty() {
            None
        } else {
            match self.files.iter().position(|f| f.rel_path == literal) {
                Some(index) if is_present(index) => Some(index),
                Some(index) => {
                    if self
                        .files
                        .get(index)
                        .is_some_and(|f| f.kind == EntryKind::Dir)
                    {
                        self.note_excluded(index, &mut result);
                    }
                    self.collect(index, &present, &mut result);
                    return result;
                }
                None => {
                    self.note_excluded_ancestor(&literal, &mut result);
                    return result;
                }
            }
        };
        if !result.wildcard {
            result.outcome = CopyOutcome::Found;
            match base {
                Some(index) => self.collect(index, &present, &mut result),
                None => self.collect_within("", &present, &mut result),
            }
            return result;
        }
        if base.is_some_and(|index| {
            self.files
                .get(index)
                .is_some_and(|f| f.kind != EntryKind::Dir)
        }) {
            // Walking a file below the literal part finds nothing to match.
            result.outcome = CopyOutcome::NoMatch;
            return result;
        }
        // BuildKit walks the literal directory and copies every entry whose path below it
        // matches the wildcard part; a matching directory is copied whole.
        let mut matched_dir: Option<&str> = None;
        let mut found = false;
        for (index, file) in self.files.iter().enumerate() {
            if !is_within(&file.rel_path, &literal) || file.rel_path == literal {
                continue;
            }
            if let Some(dir) = matched_dir {
                if is_within(&file.rel_path, dir) {
                    self.take(index, is_present(index), &mut result);
                    continue;
                }
                matched_dir = None;
            }
            let relative = below(&file.rel_path, &literal);
            if go_match(wildcard_part.as_bytes(), relative.as_bytes()) != Ok(true) {
                continue;
            }
            if is_present(index) {
                found = true;
            }
            self.take(index, is_present(index), &mut result);
            if file.kind == EntryKind::Dir {
                matched_dir = Some(&file.rel_path);
            }
        }
        result.outcome = if found {
            CopyOutcome::Found
        } else {
            CopyOutcome::NoMatch
        };
        result
    }

    /// Adds entry `index` and, for a directory, everything below it.
    fn collect(&self, index: usize, present: &[bool], result: &mut CopySource) {
        let Some(file) = self.files.get(index) else {
            return;
        };
        if file.kind == EntryKind::Dir {
            self.collect_within(&file.rel_path, present, result);
        } else {
            self.take(index, present.get(index).copied().unwrap_or(false), result);
        }
    }

    /// Adds every entry strictly below `dir` (`""`: the whole context).
    fn collect_within(&self, dir: &str, present: &[bool], result: &mut CopySource) {
        for (index, file) in self.files.iter().enumerate() {
            if is_within(&file.rel_path, dir) && file.rel_path != dir {
                self.take(index, present.get(index).copied().unwrap_or(false), result);
            }
        }
    }

    /// Records entry `index` as copied (if present) or excluded.
    fn take(&self, index: usize, present: bool, result: &mut CopySource) {
        let Some(file) = self.files.get(index) else {
            return;
        };
        if present {
            if matches!(file.kind, EntryKind::File | EntryKind::Symlink) {
                result.files.push(index);
                if file.kind == EntryKind::File {
                    result.size += file.size;
                }
            }
        } else {
            self.note_excluded(index, result);
        }
    }

    fn note_excluded(&self, index: usize, result: &mut CopySource) {
        if let Some(pattern) = self.files.get(index).and_then(|f| f.excluded_by) {
            result.excluded.push(ExcludedMatch {
                file: index,
                pattern,
            });
        }
    }

    /// For a path that was not walked: the excluded, unwalked directory it lies in.
    fn note_excluded_ancestor(&self, path: &str, result: &mut CopySource) {
        let ancestor = self.files.iter().position(|f| {
            f.kind == EntryKind::Dir
                && !f.walked
                && f.rel_path != path
                && is_within(path, &f.rel_path)
        });
        if let Some(index) = ancestor {
            self.note_excluded(index, result);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::dockerignore::parse_dockerignore;
    use crate::source::FileId;

    fn write(root: &Path, rel: &str, contents: &str) {
        let path = root.join(rel);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).expect("mkdir");
        }
        fs::write(path, contents).expect("write");
    }

    fn ignore(text: &str) -> DockerIgnore {
        let (ignore, diags) = parse_dockerignore(FileId(0), text);
        assert!(diags.is_empty(), "{diags:?}");
        ignore
    }

    fn paths(context: &BuildContext, indices: &[usize]) -> Vec<String> {
        indices
            .iter()
            .map(|&i| context.files[i].rel_path.clone())
            .collect()
    }

    fn sample() -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        write(root, "Dockerfile", "FROM scratch\n");
        write(root, "requirements.txt", "flask\n");
        write(root, "app/main.py", "print(1)\n");
        write(root, "app/sub/util.py", "x = 1\n");
        write(root, "app/__pycache__/main.pyc", "bytecode");
        write(root, ".git/config", "[core]\n");
        write(root, ".git/objects/ab/cdef", "blob");
        write(
            root,
            "node_modules/left-pad/index.js",
            "module.exports = 1\n",
        );
        write(root, "docs/guide.md", "# guide\n");
        write(root, "docs/keep.md", "# keep\n");
        write(root, ".env", "SECRET=1\n");
        dir
    }

    #[test]
    fn scan_applies_dockerignore_and_skips_excluded_dirs() {
        let dir = sample();
        let ignore = ignore(".git\nnode_modules\n**/__pycache__\ndocs\n!docs/keep.md\n.env\n");
        let (context, diags) = scan_context(dir.path(), Some(&ignore));
        assert!(diags.is_empty(), "{diags:?}");
        let find = |p: &str| context.files.iter().find(|f| f.rel_path == p);
        let git = find(".git").expect(".git");
        assert_eq!((git.excluded_by, git.walked), (Some(0), false));
        assert!(find(".git/config").is_none());
        let modules = find("node_modules").expect("node_modules");
        assert_eq!((modules.excluded_by, modules.walked), (Some(1), false));
        // `docs` is excluded but walked: an exception points below it.
        let docs = find("docs").expect("docs");
        assert_eq!((docs.excluded_by, docs.walked), (Some(3), true));
        assert_eq!(find("docs/guide.md").expect("guide").excluded_by, Some(3));
        assert_eq!(find("docs/keep.md").expect("keep").excluded_by, None);
        let pycache = find("app/__pycache__").expect("pycache");
        assert_eq!((pycache.excluded_by, pycache.walked), (Some(2), false));
        assert_eq!(find(".env").expect(".env").excluded_by, Some(5));
        let sent: Vec<&str> = context
            .files
            .iter()
            .filter(|f| f.kind == EntryKind::File && f.excluded_by.is_none())
            .map(|f| f.rel_path.as_str())
            .collect();
        assert_eq!(
            sent,
            vec![
                "Dockerfile",
                "app/main.py",
                "app/sub/util.py",
                "docs/keep.md",
                "requirements.txt"
            ]
        );
        assert_eq!(context.sent_files, 5);
        let expected: u64 = [
            "FROM scratch\n",
            "print(1)\n",
            "x = 1\n",
            "# keep\n",
            "flask\n",
        ]
        .iter()
        .map(|s| s.len() as u64)
        .sum();
        assert_eq!(context.sent_size, expected);
        assert!(context.total_size > context.sent_size);
        let json = serde_json::to_value(&context).expect("json");
        assert_eq!(json["dockerignore"]["patterns"][4]["text"], "docs/keep.md");
        assert_eq!(json["dockerignore"]["patterns"][4]["kind"], "exact");
        assert_eq!(json["files"][0]["kind"], "file");
    }

    #[test]
    fn scan_without_dockerignore_sends_everything() {
        let dir = sample();
        let (context, diags) = scan_context(dir.path(), None);
        assert!(diags.is_empty());
        assert!(context.files.iter().all(|f| f.excluded_by.is_none()));
        assert_eq!(context.sent_size, context.total_size);
        assert!(context
            .files
            .iter()
            .any(|f| f.rel_path == ".git/objects/ab/cdef"));
    }

    #[cfg(unix)]
    #[test]
    fn symlink_loops_are_recorded_not_followed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        write(root, "a/file.txt", "x");
        std::os::unix::fs::symlink("..", root.join("a/up")).expect("symlink");
        std::os::unix::fs::symlink("self", root.join("self")).expect("symlink");
        let (context, diags) = scan_context(root, None);
        assert!(diags.is_empty(), "{diags:?}");
        let up = context
            .files
            .iter()
            .find(|f| f.rel_path == "a/up")
            .expect("link");
        assert_eq!(up.kind, EntryKind::Symlink);
        assert_eq!(up.link_target.as_deref(), Some(".."));
        assert_eq!(context.files.len(), 4);
    }

    #[test]
    fn deep_nesting_is_bounded() {
        let dir = tempfile::tempdir().expect("tempdir");
        let deep = (0..MAX_CONTEXT_DEPTH + 3)
            .map(|i| format!("d{i}"))
            .collect::<Vec<_>>()
            .join("/");
        fs::create_dir_all(dir.path().join(&deep)).expect("mkdir");
        let (context, diags) = scan_context(dir.path(), None);
        assert!(context.truncated);
        assert_eq!(diags.len(), 1);
        assert_eq!(context.files.len(), MAX_CONTEXT_DEPTH);
    }

    #[test]
    fn copy_sources_resolve_like_buildkit() {
        let dir = sample();
        let ignore = ignore(".git\nnode_modules\n**/__pycache__\ndocs\n!docs/keep.md\n.env\n");
        let (context, _) = scan_context(dir.path(), Some(&ignore));

        let plain = context.resolve_copy_source("./requirements.txt");
        assert_eq!(plain.outcome, CopyOutcome::Found);
        assert_eq!(plain.cleaned, "requirements.txt");
        assert_eq!(paths(&context, &plain.files), vec!["requirements.txt"]);
        assert_eq!(plain.size, 6);

        let escape = context.resolve_copy_source("../../requirements.txt");
        assert_eq!(escape.outcome, CopyOutcome::Found);

        let app = context.resolve_copy_source("/app/");
        assert_eq!(
            paths(&context, &app.files),
            vec!["app/main.py", "app/sub/util.py"]
        );
        assert_eq!(
            paths(&context, &[app.excluded[0].file]),
            vec!["app/__pycache__"]
        );
        assert_eq!(app.excluded.len(), 1);

        let env = context.resolve_copy_source(".env");
        assert_eq!(env.outcome, CopyOutcome::NotFound);
        assert_eq!(env.excluded.len(), 1);
        assert_eq!(env.excluded[0].pattern, 5);

        let inside_skipped = context.resolve_copy_source("node_modules/left-pad/index.js");
        assert_eq!(inside_skipped.outcome, CopyOutcome::NotFound);
        assert_eq!(inside_skipped.excluded[0].pattern, 1);

        let missing = context.resolve_copy_source("alembic.ini");
        assert_eq!(missing.outcome, CopyOutcome::NotFound);
        assert!(missing.excluded.is_empty());

        let docs = context.resolve_copy_source("docs");
        assert_eq!(docs.outcome, CopyOutcome::Found);
        assert_eq!(paths(&context, &docs.files), vec!["docs/keep.md"]);

        let whole = context.resolve_copy_source(".");
        assert_eq!(whole.outcome, CopyOutcome::Found);
        assert_eq!(whole.files.len(), 5);
        assert_eq!(whole.size, context.sent_size);
        assert!(whole
            .excluded
            .iter()
            .any(|m| context.files[m.file].rel_path == ".env"));
    }

    #[test]
    fn copy_wildcards_match_per_component() {
        let dir = sample();
        let ignore = ignore(".env\n");
        let (context, _) = scan_context(dir.path(), Some(&ignore));

        let py = context.resolve_copy_source("app/*.py");
        assert!(py.wildcard);
        assert_eq!(paths(&context, &py.files), vec!["app/main.py"]);

        let dirs = context.resolve_copy_source("app/s*");
        assert_eq!(paths(&context, &dirs.files), vec!["app/sub/util.py"]);

        let none = context.resolve_copy_source("requirements*.lock");
        assert_eq!(none.outcome, CopyOutcome::NoMatch);
        assert!(none.files.is_empty());

        let excluded = context.resolve_copy_source(".e*");
        assert_eq!(excluded.outcome, CopyOutcome::NoMatch);
        assert_eq!(excluded.excluded.len(), 1);

        let missing_dir = context.resolve_copy_source("config/*.yaml");
        assert_eq!(missing_dir.outcome, CopyOutcome::NotFound);
    }

    #[test]
    fn dockerfile_specific_ignore_file_takes_precedence() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        write(root, "build/app.Dockerfile", "FROM scratch\n");
        let dockerfile = root.join("build/app.Dockerfile");
        assert_eq!(dockerignore_path(&dockerfile, root), None);
        write(root, ".dockerignore", "*.md\n");
        assert_eq!(
            dockerignore_path(&dockerfile, root),
            Some(root.join(".dockerignore"))
        );
        write(root, "build/app.Dockerfile.dockerignore", "docs\n");
        assert_eq!(
            dockerignore_path(&dockerfile, root),
            Some(root.join("build/app.Dockerfile.dockerignore"))
        );
    }
}
