//! Which services a place in the repository belongs to, for configuration overrides scoped
//! by service (SPEC.md §10.2).
//!
//! A place belongs to a compose service when it is inside the service's entry of a compose
//! file, in the Dockerfile the service builds, in a requirements file that Dockerfile
//! installs (`pip install -r`, and the files those include), or in another file of the
//! service's build context (files that are themselves Dockerfiles, compose or requirements
//! files belong only through the links above). A Dockerfile that no compose service builds
//! is the service named after its folder (followed by `/<file>` when the file is not called
//! `Dockerfile`), with its context and requirements files.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::Path;

use crate::model::repository::{DockerfileModel, Repository};
use crate::source::{FileId, Span};

/// The services of every place of one repository.
#[derive(Debug, Default)]
pub struct ServiceMap {
    /// Whole files that belong to services (Dockerfiles, requirements files).
    files: HashMap<FileId, BTreeSet<String>>,
    /// Build-context folders (relative to the root, `.` for the root) and their services.
    contexts: HashMap<String, BTreeSet<String>>,
    /// The Dockerfiles, compose and requirements files, which belong only through links.
    inputs: HashSet<FileId>,
    /// Each service's entry in a compose file.
    entries: Vec<(Span, String)>,
}

impl ServiceMap {
    pub fn new(repository: &Repository) -> ServiceMap {
        let mut map = ServiceMap::default();
        map.inputs
            .extend(repository.dockerfiles.iter().map(|d| d.dockerfile.file));
        map.inputs.extend(
            repository
                .requirements_files
                .iter()
                .map(|r| r.requirements.file),
        );
        for project in &repository.compose_projects {
            map.inputs.extend(project.files.iter().copied());
        }
        for link in &repository.services {
            let service = repository
                .compose_projects
                .get(link.project)
                .and_then(|p| p.services.get(link.service));
            if let Some(service) = service {
                for span in &service.spans {
                    map.entries.push((*span, link.name.clone()));
                }
            }
            if let Some(context) = link.context.and_then(|c| repository.contexts.get(c)) {
                map.add_context(&context.path, &link.name);
            }
            if let Some(index) = link.dockerfile {
                map.add_dockerfile(repository, index, &link.name);
            }
        }
        let built = repository.dockerfiles_built_by_compose();
        for (index, dockerfile) in repository.dockerfiles.iter().enumerate() {
            if built.get(index).copied().unwrap_or(true) {
                continue;
            }
            let Some(name) = implicit_name(repository, dockerfile) else {
                continue;
            };
            if let Some(context) = dockerfile.context.and_then(|c| repository.contexts.get(c)) {
                map.add_context(&context.path, &name);
            }
            map.add_dockerfile(repository, index, &name);
        }
        map
    }

    /// Records the Dockerfile `index` and the requirements files it installs as `service`'s.
    fn add_dockerfile(&mut self, repository: &Repository, index: usize, service: &str) {
        let Some(dockerfile) = repository.dockerfiles.get(index) else {
            return;
        };
        self.add_file(dockerfile.dockerfile.file, service);
        // The files a requirements file includes are followed too.
        let installed = dockerfile
            .pip_requirements
            .iter()
            .filter_map(|link| link.requirements_file)
            .flat_map(|file| repository.requirements_file_with_includes(file));
        for file in installed {
            if let Some(requirements) = repository.requirements_files.get(file) {
                self.add_file(requirements.requirements.file, service);
            }
        }
    }

    fn add_context(&mut self, folder: &str, service: &str) {
        self.contexts
            .entry(folder.to_string())
            .or_default()
            .insert(service.to_string());
    }

    fn add_file(&mut self, file: FileId, service: &str) {
        self.files
            .entry(file)
            .or_default()
            .insert(service.to_string());
    }

    /// The services a whole file belongs to (without the compose entries inside it).
    fn file_services(&self, file: FileId, rel_path: &str) -> BTreeSet<&str> {
        let mut services: BTreeSet<&str> = self
            .files
            .get(&file)
            .map(|names| names.iter().map(String::as_str).collect())
            .unwrap_or_default();
        if !self.inputs.contains(&file) {
            // The folders `rel_path` is inside: the root, each of its parents, and itself.
            let folders = std::iter::once(".")
                .chain(
                    rel_path
                        .match_indices('/')
                        .filter_map(|(i, _)| rel_path.get(..i)),
                )
                .chain(std::iter::once(rel_path));
            services.extend(
                folders
                    .filter_map(|folder| self.contexts.get(folder))
                    .flatten()
                    .map(String::as_str),
            );
        }
        services
    }

    /// The names of every service of the repository, sorted.
    pub fn names(&self) -> BTreeSet<&str> {
        self.files
            .values()
            .flatten()
            .chain(self.contexts.values().flatten())
            .chain(self.entries.iter().map(|(_, service)| service))
            .map(String::as_str)
            .collect()
    }

    /// The services the place where `span` starts belongs to (`rel_path` is its file's).
    pub fn services_at(&self, span: Span, rel_path: &str) -> BTreeSet<&str> {
        let mut services = self.file_services(span.file, rel_path);
        services.extend(
            self.entries
                .iter()
                .filter(|(entry, _)| {
                    entry.file == span.file && entry.start <= span.start && span.start < entry.end
                })
                .map(|(_, service)| service.as_str()),
        );
        services
    }

    /// Every set of services that some place of `file` belongs to: the file's own, and for
    /// each compose service entry in it, that one added.
    pub fn service_sets(&self, file: FileId, rel_path: &str) -> Vec<BTreeSet<&str>> {
        let base = self.file_services(file, rel_path);
        let mut sets = vec![base.clone()];
        for (entry, service) in &self.entries {
            if entry.file == file {
                let mut set = base.clone();
                set.insert(service.as_str());
                sets.push(set);
            }
        }
        sets
    }
}

/// The name of a Dockerfile's folder: the service it stands for without compose (for a
/// Dockerfile at the root, the root folder's own name).
fn implicit_name(repository: &Repository, dockerfile: &DockerfileModel) -> Option<String> {
    match implicit_service_name(&dockerfile.path) {
        "." => root_folder_name(&repository.root),
        name => Some(name.to_string()),
    }
}

/// The name of the implicit service of Dockerfile `path`: its folder's name, followed by
/// `/<file>` when the file is not called `Dockerfile` (the scanned root's folder is `.`).
pub fn implicit_service_name(path: &str) -> &str {
    let (folder, file) = path.rsplit_once('/').unwrap_or((".", path));
    if file == "Dockerfile" {
        folder.rsplit('/').next().unwrap_or(folder)
    } else if folder == "." {
        path
    } else {
        let folder_start = folder.rfind('/').map_or(0, |i| i + 1);
        &path[folder_start..]
    }
}

/// The name of the scanned root folder itself (`.` resolved to the real folder).
pub fn root_folder_name(root: &Path) -> Option<String> {
    let root = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
    root.file_name()
        .map(|name| name.to_string_lossy().into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn implicit_services_are_named_after_the_dockerfile_folder() {
        assert_eq!(implicit_service_name("services/api/Dockerfile"), "api");
        assert_eq!(
            implicit_service_name("docker/gpu/Dockerfile.multistage"),
            "gpu/Dockerfile.multistage"
        );
        assert_eq!(implicit_service_name("Dockerfile.prod"), "Dockerfile.prod");
        assert_eq!(implicit_service_name("Dockerfile"), ".");
    }

    use crate::parse::repository::{load, LoadOptions};
    use crate::source::Sources;

    fn services_of(map: &ServiceMap, sources: &Sources, path: &str) -> Vec<String> {
        let (file, source) = sources.iter().find(|(_, f)| f.rel_path == path).unwrap();
        map.file_services(file, &source.rel_path)
            .into_iter()
            .map(str::to_string)
            .collect()
    }

    #[test]
    fn a_file_belongs_to_the_contexts_it_is_inside() {
        let mut map = ServiceMap::default();
        map.add_context("api", "api");
        map.add_context("api/app", "app");
        map.add_context(".", "all");
        let services = |path| {
            map.file_services(FileId(0), path)
                .into_iter()
                .collect::<Vec<_>>()
        };
        assert_eq!(services("api/app/main.py"), ["all", "api", "app"]);
        assert_eq!(services("api/main.py"), ["all", "api"]);
        assert_eq!(services("api"), ["all", "api"]);
        // A folder whose name starts with a context's is not inside it.
        assert_eq!(services("api2/main.py"), ["all"]);
        assert_eq!(services("ap"), ["all"]);
    }

    #[test]
    fn files_belong_to_the_services_that_build_them() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for (path, text) in [
            (
                "compose.yaml",
                "services:\n  api:\n    build: api\n  worker:\n    build:\n      context: worker\n",
            ),
            (
                "api/Dockerfile",
                "FROM python\nCOPY requirements.txt .\nRUN pip install -r requirements.txt\n",
            ),
            ("api/requirements.txt", "-r base.txt\nflask\n"),
            ("api/base.txt", "requests\n"),
            ("api/.dockerignore", "*.pyc\n"),
            ("worker/Dockerfile", "FROM python\n"),
            ("tools/Dockerfile", "FROM alpine\n"),
        ] {
            std::fs::create_dir_all(root.join(path).parent().unwrap()).unwrap();
            std::fs::write(root.join(path), text).unwrap();
        }
        let loaded = load(root, &LoadOptions::default());
        let map = ServiceMap::new(&loaded.repository);
        let sources = &loaded.sources;
        assert_eq!(services_of(&map, sources, "api/Dockerfile"), ["api"]);
        assert_eq!(services_of(&map, sources, "api/requirements.txt"), ["api"]);
        assert_eq!(services_of(&map, sources, "api/base.txt"), ["api"]);
        assert_eq!(services_of(&map, sources, "api/.dockerignore"), ["api"]);
        assert_eq!(services_of(&map, sources, "worker/Dockerfile"), ["worker"]);
        assert_eq!(services_of(&map, sources, "tools/Dockerfile"), ["tools"]);
        assert!(services_of(&map, sources, "compose.yaml").is_empty());
        let (compose, _) = sources
            .iter()
            .find(|(_, f)| f.rel_path == "compose.yaml")
            .unwrap();
        let text = sources.text(compose);
        let at = |needle: &str| {
            let offset = text.find(needle).unwrap();
            map.services_at(Span::new(compose, offset..offset + 1), "compose.yaml")
                .into_iter()
                .collect::<Vec<_>>()
        };
        assert_eq!(at("build: api"), ["api"]);
        assert_eq!(at("context: worker"), ["worker"]);
        assert_eq!(at("services:"), Vec::<&str>::new());
        assert_eq!(map.service_sets(compose, "compose.yaml").len(), 3);
        assert_eq!(
            map.names().into_iter().collect::<Vec<_>>(),
            ["api", "tools", "worker"]
        );
    }
}
