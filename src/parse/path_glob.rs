//! Path globs of the configuration (`exclude`, the `paths` of an override): `/`-separated
//! paths relative to the scanned root, matched with `globset` (`*` and `?` stay inside one
//! path segment, `**` crosses segments, `{a,b}` alternates). A path matches when it or one
//! of the folders above it matches, so `vendor` and `vendor/**` both cover everything below
//! `vendor/`.

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};

/// A compiled list of path globs.
#[derive(Clone, Debug, Default)]
pub struct PathGlobs {
    set: GlobSet,
    patterns: Vec<String>,
}

impl PathGlobs {
    /// Compiles `patterns`; `Err((index, message))` names the first invalid one.
    pub fn new<'a>(
        patterns: impl IntoIterator<Item = &'a str>,
    ) -> Result<PathGlobs, (usize, String)> {
        let mut builder = GlobSetBuilder::new();
        let mut kept = Vec::new();
        for (index, pattern) in patterns.into_iter().enumerate() {
            let trimmed = pattern.trim_start_matches("./").trim_end_matches('/');
            let glob = GlobBuilder::new(trimmed)
                .literal_separator(true)
                .backslash_escape(true)
                .build()
                .map_err(|e| (index, e.kind().to_string()))?;
            builder.add(glob);
            kept.push(pattern.to_string());
        }
        let set = builder.build().map_err(|e| (0, e.to_string()))?;
        Ok(PathGlobs {
            set,
            patterns: kept,
        })
    }

    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// Whether `path` (relative, `/`-separated) or a folder above it matches a glob.
    pub fn matches(&self, path: &str) -> bool {
        if self.is_empty() {
            return false;
        }
        let path = path.trim_start_matches("./");
        self.set.is_match(path)
            || path
                .match_indices('/')
                .any(|(end, _)| self.set.is_match(&path[..end]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_matches_by_itself_or_by_a_folder_above_it() {
        let globs = PathGlobs::new(["vendor/**", "docker/*/Dockerfile", "legacy"]).unwrap();
        assert!(globs.matches("vendor/a/Dockerfile"));
        assert!(globs.matches("docker/ml/Dockerfile"));
        assert!(!globs.matches("docker/ml/sub/Dockerfile"));
        assert!(globs.matches("legacy/requirements.txt"));
        assert!(globs.matches("legacy"));
        assert!(!globs.matches("legacy2/Dockerfile"));
        assert!(!globs.matches("src/vendor.txt"));
    }

    #[test]
    fn an_invalid_glob_names_its_index() {
        let error = PathGlobs::new(["ok/**", "a[b"]).unwrap_err();
        assert_eq!(error.0, 1);
    }

    #[test]
    fn no_globs_match_nothing() {
        assert!(!PathGlobs::default().matches("Dockerfile"));
    }
}
