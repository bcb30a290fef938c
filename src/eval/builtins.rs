//! Built-in functions that need more than their arguments: the repository (`not_excluded`
//! runs a context's `.dockerignore`), a bundled data table (`import_names`), or glob matching.
//! The simple string functions live in [`crate::eval::engine`].

use std::borrow::Cow;
use std::sync::LazyLock;

use foldhash::HashMap;

use crate::eval::value::{Entity, Value};
use crate::eval::world::World;
use crate::model::requirements::{normalize_name, normalized_name};
use crate::parse::dockerignore::{go_clean, go_match};

/// `data/python-dist-to-import.tsv`: distributions whose top-level modules are not their
/// PEP 503 name with `_` for `-`, verified from their wheels' RECORD files.
const DIST_TO_IMPORT: &str = include_str!("../../data/python-dist-to-import.tsv");

/// Normalised distribution name → top-level modules, read once from [`DIST_TO_IMPORT`].
static IMPORT_NAMES: LazyLock<HashMap<String, Vec<&'static str>>> = LazyLock::new(|| {
    let mut table = HashMap::default();
    let mut header_seen = false;
    for line in DIST_TO_IMPORT.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        if !header_seen {
            // `distribution  normalized  import_names  …`
            header_seen = true;
            continue;
        }
        let mut columns = line.split('\t');
        let (Some(distribution), Some(_), Some(modules)) =
            (columns.next(), columns.next(), columns.next())
        else {
            continue;
        };
        let modules: Vec<&'static str> = modules
            .split(',')
            .map(str::trim)
            .filter(|m| !m.is_empty())
            .collect();
        if !modules.is_empty() {
            table.insert(normalize_name(distribution), modules);
        }
    }
    table
});

/// The top-level modules distribution `name` installs, plus the modules the `dist=module`
/// strings of `extra` give it.
pub fn import_names(name: &str, extra: &[&str]) -> Vec<Cow<'static, str>> {
    let normalized = normalized_name(name);
    let mut modules: Vec<Cow<'static, str>> = match IMPORT_NAMES.get(normalized.as_ref()) {
        Some(known) => known.iter().map(|&m| Cow::Borrowed(m)).collect(),
        None => vec![Cow::Owned(normalized.replace('-', "_"))],
    };
    for mapping in extra {
        if let Some((dist, module)) = mapping.split_once('=') {
            let module = module.trim();
            if normalized_name(dist.trim()) == normalized
                && !module.is_empty()
                && !modules.iter().any(|m| m == module)
            {
                modules.push(Cow::Owned(module.to_string()));
            }
        }
    }
    modules
}

/// The values of the `key:value` strings of `map` whose key is `key`.
pub fn values_for<'a>(map: &[&'a str], key: &str) -> Vec<&'a str> {
    map.iter()
        .filter_map(|entry| entry.split_once(':'))
        .filter(|(k, _)| k.trim() == key)
        .map(|(_, v)| v.trim())
        .collect()
}

/// Whether `path`, or its last components (as many as a pattern has), matches one of the
/// globs `patterns` (Go `filepath.Match`). A bad pattern matches nothing.
pub fn path_matches(path: &str, patterns: &[&str]) -> bool {
    // A clean path (no empty component) ends with its last components as they are: no copy.
    let bytes = path.as_bytes();
    let clean = bytes.first() != Some(&b'/')
        && bytes.last() != Some(&b'/')
        && !bytes.windows(2).any(|pair| pair == b"//");
    // Most patterns are one component: the tail they match is the same for all of them.
    let name = path
        .rfind('/')
        .map_or(path, |slash| path.get(slash + 1..).unwrap_or(""));
    patterns.iter().any(|pattern| {
        let pattern = if pattern.starts_with('/') || pattern.ends_with('/') {
            pattern.trim_matches('/')
        } else {
            pattern
        };
        let wanted = pattern.bytes().filter(|&b| b == b'/').count() + 1;
        let tail = if clean && wanted == 1 {
            Cow::Borrowed(name)
        } else if clean {
            match last_components(path, wanted) {
                Some(tail) => Cow::Borrowed(tail),
                None => return false,
            }
        } else {
            let components: Vec<&str> = path.split('/').filter(|c| !c.is_empty()).collect();
            let Some(first) = components.len().checked_sub(wanted) else {
                return false;
            };
            Cow::Owned(components.get(first..).unwrap_or_default().join("/"))
        };
        go_match(pattern.as_bytes(), tail.as_bytes()).unwrap_or(false)
    })
}

/// The last `wanted` components of a path without empty components, or `None` when it has
/// fewer.
fn last_components(path: &str, wanted: usize) -> Option<&str> {
    let mut components = 1;
    for (slash, _) in path.rmatch_indices('/') {
        if components == wanted {
            return path.get(slash + 1..);
        }
        components += 1;
    }
    (components == wanted).then_some(path)
}

/// The strings of a string or a list value.
fn strings<'v>(value: Option<&'v Value<'_>>) -> Vec<&'v str> {
    match value {
        Some(Value::List(items)) => items.iter().filter_map(Value::as_str).collect(),
        Some(other) => other.as_str().into_iter().collect(),
        None => Vec::new(),
    }
}

fn string_list<'m>(items: impl IntoIterator<Item = impl Into<Cow<'m, str>>>) -> Value<'m> {
    Value::list(
        items
            .into_iter()
            .map(|s| Value::String(s.into(), None))
            .collect(),
    )
}

/// Calls built-in function `name` of this module; `None` when it is not one of them.
pub fn call<'v>(world: &World<'_>, name: &str, arguments: &[Value<'v>]) -> Option<Value<'v>> {
    let text = |i: usize| arguments.get(i).and_then(Value::as_str);
    Some(match name {
        "choose" => {
            let pick = if matches!(arguments.first(), Some(Value::Bool(true))) {
                1
            } else {
                2
            };
            arguments.get(pick).cloned().unwrap_or(Value::Null)
        }
        "normalize_name" => text(0).map_or(Value::Null, |t| {
            Value::String(Cow::Owned(normalize_name(t)), None)
        }),
        "values_for" => match text(1) {
            Some(key) => string_list(
                values_for(&strings(arguments.first()), key)
                    .into_iter()
                    .map(String::from),
            ),
            None => Value::list(Vec::new()),
        },
        "path_matches" => {
            Value::Bool(text(0).is_some_and(|path| path_matches(path, &strings(arguments.get(1)))))
        }
        "not_excluded" => {
            let paths = strings(arguments.get(1));
            let ignore = match arguments.first() {
                Some(Value::Entity(Entity::Dockerignore(c))) => world
                    .repository
                    .contexts
                    .get(*c)
                    .and_then(|x| x.dockerignore.as_ref()),
                _ => None,
            };
            string_list(
                paths
                    .into_iter()
                    .filter(|path| !ignore.is_some_and(|i| i.is_excluded(&go_clean(path))))
                    .map(String::from),
            )
        }
        "import_names" => match text(0) {
            Some(name) => string_list(import_names(name, &strings(arguments.get(1)))),
            None => Value::list(Vec::new()),
        },
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::repository::{load, LoadOptions};

    #[test]
    fn import_names_come_from_the_table_or_the_normalised_name() {
        assert_eq!(import_names("scikit-learn", &[]), ["sklearn"]);
        assert_eq!(import_names("Pillow", &[]), ["PIL"]);
        assert_eq!(import_names("PyYAML", &[]), ["_yaml", "yaml"]);
        assert_eq!(import_names("python_dateutil", &[]), ["dateutil"]);
        assert_eq!(import_names("z3-solver", &[]), ["z3"]);
        assert_eq!(import_names("SymPy", &[]), ["isympy", "sympy"]);
        // Not in the table: the normalised name with `_`.
        assert_eq!(import_names("Flask-SQLAlchemy", &[]), ["flask_sqlalchemy"]);
        assert_eq!(import_names("pandas", &[]), ["pandas"]);
        // Configured mappings add modules, keyed by the normalised name.
        assert_eq!(
            import_names("my_dist", &["My.Dist = mymodule", "other=x", "broken"]),
            ["my_dist", "mymodule"]
        );
    }

    #[test]
    fn values_for_reads_a_map_written_as_a_list() {
        let map = ["api:pandas", "api: numpy", "worker:torch", "plain"];
        assert_eq!(values_for(&map, "api"), ["pandas", "numpy"]);
        assert!(values_for(&map, "web").is_empty());
    }

    #[test]
    fn path_matches_the_last_components() {
        assert!(path_matches("app/.env", &[".env"]));
        assert!(path_matches(".env", &[".env"]));
        assert!(!path_matches("app/.env.example", &[".env"]));
        assert!(path_matches("certs/server.pem", &["*.pem"]));
        assert!(path_matches("home/.aws/credentials", &[".aws/credentials"]));
        assert!(!path_matches("credentials", &[".aws/credentials"]));
        assert!(path_matches("keys/id_rsa.pub", &["id_rsa*"]));
        assert!(!path_matches("app/main.py", &["*.pem"]));
        assert!(!path_matches("a", &["["])); // a bad pattern matches nothing

        // Paths with empty components are read as their components.
        assert!(path_matches(
            "/home//.aws/credentials/",
            &[".aws/credentials"]
        ));
        assert!(!path_matches("//credentials", &[".aws/credentials"]));
        assert!(path_matches("a/b/c.pem", &["b/*.pem"]));
        assert!(!path_matches("a/b/c.pem", &["a/*.pem"]));
        assert!(path_matches("a/b/c.pem", &["a/b/c.pem"]));
        assert!(!path_matches("b/c.pem", &["a/b/c.pem"]));

        // A list matches when one of its patterns does.
        assert!(path_matches("keys/id_rsa", &["*.pem", "[", "id_rsa*"]));
        assert!(path_matches("/a//b.pem", &["x", "a/*.pem"]));
        assert!(!path_matches("keys/id_rsa", &[]));
    }

    #[test]
    fn not_excluded_runs_the_dockerignore() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("Dockerfile"), "FROM scratch\nCOPY . .\n").unwrap();
        std::fs::write(
            dir.path().join(".dockerignore"),
            ".git\n**/__pycache__/\n*.py[cod]\n",
        )
        .unwrap();
        let loaded = load(dir.path(), &LoadOptions::default());
        let world = World::new(&loaded.repository, &loaded.sources);
        let wanted = Value::list(
            [".git", "__pycache__", "*.pyc", ".env", "node_modules"]
                .into_iter()
                .map(|s| Value::str(s, None))
                .collect(),
        );
        let result = call(
            &world,
            "not_excluded",
            &[Value::Entity(Entity::Dockerignore(0)), wanted.clone()],
        )
        .unwrap();
        assert_eq!(world.display(&result), ".env, node_modules");
        // Without a .dockerignore nothing is excluded.
        let none = call(&world, "not_excluded", &[Value::Null, wanted]).unwrap();
        assert_eq!(
            world.display(&none),
            ".git, __pycache__, *.pyc, .env, node_modules"
        );
    }

    #[test]
    fn choose_picks_by_the_condition() {
        let dir = tempfile::tempdir().unwrap();
        let loaded = load(dir.path(), &LoadOptions::default());
        let world = World::new(&loaded.repository, &loaded.sources);
        let args = |c: Value<'static>| [c, Value::str("yes", None), Value::str("no", None)];
        let pick = |c| world.display(&call(&world, "choose", &args(c)).unwrap());
        assert_eq!(pick(Value::Bool(true)), "yes");
        assert_eq!(pick(Value::Bool(false)), "no");
        assert_eq!(pick(Value::Null), "no");
    }
}
