//! Discovery: which files of a scanned path are inputs, and of which kind.
//!
//! A directory is walked honouring `.gitignore` (also outside a git checkout, as a
//! repository's ignore rules are meant to apply wherever it is scanned), without following
//! symbolic links (so links cannot loop) and to a bounded depth. A single file is classified
//! by its name. Build contexts, their `.dockerignore` and the requirements files that `-r`
//! pulls in are found later, when Dockerfiles and compose files are linked. Paths the
//! configuration excludes are not walked.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::diag::Diagnostic;
use crate::parse::compose::{compose_file_order, COMPOSE_FILE_NAMES, COMPOSE_OVERRIDE_FILE_NAMES};
use crate::parse::path_glob::PathGlobs;

/// Directories deeper than this below the scanned root are not walked.
pub const MAX_WALK_DEPTH: usize = 64;

/// Walks stop after this many entries, with a diagnostic.
pub const MAX_WALK_ENTRIES: usize = 500_000;

/// The kind of input a file name denotes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum InputKind {
    Dockerfile,
    Requirements,
    Compose,
}

/// Classifies a file by its name: `Dockerfile`, `Dockerfile.*`, `*.Dockerfile`,
/// `*.dockerfile`, `Containerfile`, `Containerfile.*`; `requirements*.txt`; the compose file
/// names compose looks for and their `*.override.*` files.
pub fn classify(file_name: &str) -> Option<InputKind> {
    if file_name.ends_with(".dockerignore") {
        return None;
    }
    let is_dockerfile = ["Dockerfile", "Containerfile"].iter().any(|base| {
        file_name == *base
            || file_name
                .strip_prefix(base)
                .is_some_and(|rest| rest.len() > 1 && rest.starts_with('.'))
    }) || file_name
        .strip_suffix(".Dockerfile")
        .or_else(|| file_name.strip_suffix(".dockerfile"))
        .is_some_and(|stem| !stem.is_empty());
    if is_dockerfile {
        return Some(InputKind::Dockerfile);
    }
    if file_name.starts_with("requirements") && file_name.ends_with(".txt") {
        return Some(InputKind::Requirements);
    }
    if is_compose_file(file_name) {
        return Some(InputKind::Compose);
    }
    None
}

fn is_compose_file(file_name: &str) -> bool {
    COMPOSE_FILE_NAMES.contains(&file_name) || COMPOSE_OVERRIDE_FILE_NAMES.contains(&file_name)
}

/// The inputs found under one scanned root.
#[derive(Debug, Default)]
pub struct Discovered {
    /// The directory that relative paths are reported against.
    pub root: PathBuf,
    pub dockerfiles: Vec<PathBuf>,
    pub requirements: Vec<PathBuf>,
    /// Compose projects: the compose files of one folder, in the order compose merges them.
    pub compose_projects: Vec<Vec<PathBuf>>,
}

/// Finds the inputs below `path` (a directory, or a single file whose folder becomes the root),
/// leaving out the files and folders that `exclude` matches (relative to the root). A single
/// file named on the command line is read even when excluded.
pub fn discover(path: &Path, exclude: &PathGlobs) -> (Discovered, Vec<Diagnostic>) {
    let mut diagnostics = Vec::new();
    let metadata = match std::fs::metadata(path) {
        Ok(metadata) => metadata,
        Err(e) => {
            diagnostics.push(Diagnostic::error(format!(
                "{}: cannot read the path: {e}",
                path.display()
            )));
            return (Discovered::default(), diagnostics);
        }
    };
    let mut found = Discovered::default();
    let mut compose_files = Vec::new();
    if metadata.is_file() {
        found.root = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        match classify(name) {
            Some(kind) => found.push(kind, path.to_path_buf(), &mut compose_files),
            // A file named on the command line is read as a Dockerfile whatever its name,
            // as `docker build -f` and hadolint do.
            None => found.dockerfiles.push(path.to_path_buf()),
        }
    } else {
        found.root = path.to_path_buf();
        walk(
            path,
            exclude,
            &mut found,
            &mut compose_files,
            &mut diagnostics,
        );
    }
    found.compose_projects = group_compose_files(compose_files);
    (found, diagnostics)
}

impl Discovered {
    fn push(&mut self, kind: InputKind, path: PathBuf, compose_files: &mut Vec<PathBuf>) {
        match kind {
            InputKind::Dockerfile => self.dockerfiles.push(path),
            InputKind::Requirements => self.requirements.push(path),
            InputKind::Compose => compose_files.push(path),
        }
    }
}

fn walk(
    root: &Path,
    exclude: &PathGlobs,
    found: &mut Discovered,
    compose_files: &mut Vec<PathBuf>,
    diagnostics: &mut Vec<Diagnostic>,
) {
    // The filter runs on the walker's threads, which need owned values.
    let (filter_root, exclude) = (root.to_path_buf(), exclude.clone());
    let walker = ignore::WalkBuilder::new(root)
        .hidden(false)
        .parents(false)
        .git_ignore(true)
        .git_global(false)
        .git_exclude(true)
        .require_git(false)
        .ignore(false)
        .follow_links(false)
        .max_depth(Some(MAX_WALK_DEPTH))
        .sort_by_file_name(|a, b| a.cmp(b))
        .filter_entry(move |entry| {
            entry.file_name() != ".git"
                && (entry.depth() == 0
                    || !exclude.matches(&relative_path(&filter_root, entry.path())))
        })
        .build();
    for (count, entry) in walker.enumerate() {
        if count >= MAX_WALK_ENTRIES {
            diagnostics.push(Diagnostic::error(format!(
                "{}: stopped after {MAX_WALK_ENTRIES} entries; scan a smaller path",
                root.display()
            )));
            break;
        }
        let entry = match entry {
            Ok(entry) => entry,
            Err(e) => {
                diagnostics.push(Diagnostic::warning(format!("cannot walk: {e}")));
                continue;
            }
        };
        if !entry.file_type().is_some_and(|t| t.is_file()) {
            continue;
        }
        let Some(name) = entry.file_name().to_str() else {
            continue;
        };
        if let Some(kind) = classify(name) {
            found.push(kind, entry.into_path(), compose_files);
        }
    }
}

/// Groups compose files by folder, each group in the order compose reads them (see
/// [`compose_file_order`]); files compose would not read are left out.
fn group_compose_files(files: Vec<PathBuf>) -> Vec<Vec<PathBuf>> {
    let mut by_folder: BTreeMap<PathBuf, Vec<String>> = BTreeMap::new();
    for file in files {
        if let (Some(folder), Some(name)) =
            (file.parent(), file.file_name().and_then(|n| n.to_str()))
        {
            by_folder
                .entry(folder.to_path_buf())
                .or_default()
                .push(name.to_string());
        }
    }
    by_folder
        .into_iter()
        .map(|(folder, names)| {
            compose_file_order(&names)
                .files
                .iter()
                .map(|name| folder.join(name))
                .collect::<Vec<_>>()
        })
        .filter(|group| !group.is_empty())
        .collect()
}

/// `path` relative to `root`, `/`-separated, for reports.
pub fn relative_path(root: &Path, path: &Path) -> String {
    let relative = path.strip_prefix(root).unwrap_or(path);
    let parts: Vec<String> = relative
        .components()
        .filter(|c| !matches!(c, std::path::Component::CurDir))
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts.is_empty() {
        ".".to_string()
    } else {
        parts.join("/")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_input_names() {
        for name in [
            "Dockerfile",
            "Dockerfile.prod",
            "api.Dockerfile",
            "api.dockerfile",
            "Containerfile",
        ] {
            assert_eq!(classify(name), Some(InputKind::Dockerfile), "{name}");
        }
        for name in [
            "Dockerfile.dockerignore",
            "Dockerfile.",
            "Dockerfiles",
            ".dockerfile",
        ] {
            assert_eq!(classify(name), None, "{name}");
        }
        assert_eq!(classify("requirements.txt"), Some(InputKind::Requirements));
        assert_eq!(
            classify("requirements-dev.txt"),
            Some(InputKind::Requirements)
        );
        assert_eq!(
            classify("docker-compose.override.yml"),
            Some(InputKind::Compose)
        );
        assert_eq!(classify("compose.yaml"), Some(InputKind::Compose));
        assert_eq!(classify("compose.override.json"), None);
    }

    #[test]
    fn walks_honouring_gitignore_and_groups_compose_files() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("svc/build")).unwrap();
        std::fs::write(root.join(".gitignore"), "build/\n").unwrap();
        std::fs::write(root.join("svc/Dockerfile"), "FROM alpine\n").unwrap();
        std::fs::write(root.join("svc/build/Dockerfile"), "FROM alpine\n").unwrap();
        std::fs::write(root.join("svc/requirements.txt"), "flask\n").unwrap();
        std::fs::write(root.join("compose.override.yaml"), "services: {}\n").unwrap();
        std::fs::write(root.join("compose.yaml"), "services: {}\n").unwrap();
        std::fs::write(root.join("docker-compose.yml"), "services: {}\n").unwrap();
        std::fs::write(
            root.join("svc/docker-compose.override.yml"),
            "services: {}\n",
        )
        .unwrap();
        let (found, diagnostics) = discover(root, &PathGlobs::default());
        assert!(diagnostics.is_empty(), "{diagnostics:?}");
        let rel = |paths: &[PathBuf]| -> Vec<String> {
            paths.iter().map(|p| relative_path(root, p)).collect()
        };
        assert_eq!(rel(&found.dockerfiles), ["svc/Dockerfile"]);
        assert_eq!(rel(&found.requirements), ["svc/requirements.txt"]);
        assert_eq!(found.compose_projects.len(), 1);
        assert_eq!(
            rel(&found.compose_projects[0]),
            ["compose.yaml", "compose.override.yaml"]
        );
    }

    #[test]
    fn excluded_paths_are_not_walked() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("vendor/lib")).unwrap();
        std::fs::create_dir_all(root.join("svc")).unwrap();
        std::fs::write(root.join("vendor/lib/Dockerfile"), "FROM alpine\n").unwrap();
        std::fs::write(root.join("svc/Dockerfile"), "FROM alpine\n").unwrap();
        std::fs::write(root.join("svc/requirements-dev.txt"), "pytest\n").unwrap();
        let exclude = PathGlobs::new(["vendor/**", "**/requirements-dev.txt"]).unwrap();
        let (found, _) = discover(root, &exclude);
        let rel = |paths: &[PathBuf]| -> Vec<String> {
            paths.iter().map(|p| relative_path(root, p)).collect()
        };
        assert_eq!(rel(&found.dockerfiles), ["svc/Dockerfile"]);
        assert!(found.requirements.is_empty());
    }

    #[cfg(unix)]
    #[test]
    fn symlink_loops_do_not_hang() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("a")).unwrap();
        std::os::unix::fs::symlink(dir.path(), dir.path().join("a/loop")).unwrap();
        std::fs::write(dir.path().join("a/Dockerfile"), "FROM alpine\n").unwrap();
        let (found, _) = discover(dir.path(), &PathGlobs::default());
        assert_eq!(found.dockerfiles.len(), 1);
    }

    #[test]
    fn a_single_file_is_read_as_a_dockerfile() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("build.docker");
        std::fs::write(&file, "FROM alpine\n").unwrap();
        let (found, _) = discover(&file, &PathGlobs::default());
        assert_eq!(found.dockerfiles, [file]);
        assert_eq!(found.root, dir.path());
    }

    #[test]
    fn a_missing_path_is_a_diagnostic() {
        let (found, diagnostics) =
            discover(Path::new("/nonexistent/dockpolicy"), &PathGlobs::default());
        assert!(found.dockerfiles.is_empty());
        assert!(diagnostics[0].message.contains("cannot read the path"));
    }
}
