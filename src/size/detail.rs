//! The texts of an estimate's parts that only a report reads: how each figure was made
//! ([`Detail`]) and the key of the table row it comes from ([`RowKey`]). They hold their
//! parts and are written when displayed: `dockpolicy check` sums most estimates without
//! reading a single detail, so building every text up front was most of an estimate's cost.

use std::fmt::{self, Display, Formatter};

use serde::{Serialize, Serializer};

use crate::model::package::Manager;

use super::tables::BaseKind;

/// How a contributor's figure was made: `119 packages with Recommends`,
/// `numpy 1.26.2 (asked: ==1.26.2)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Detail {
    /// A text that needs no parts.
    Fixed(&'static str),
    /// A base image's row: `uncompressed size`, or `uncompressed size of `python:3.11-slim``
    /// when the row is another reference's (the patch version dropped).
    BaseImage {
        kind: BaseKind,
        other_reference: Option<&'static str>,
    },
    /// Packages of a manager the tables do not cover.
    NoTable(Manager),
    /// A Debian package with its dependency closure, of which `added` packages were not
    /// counted by an earlier install of the image.
    DebianClosure {
        package: &'static str,
        version: &'static str,
        recommends: bool,
        members: usize,
        added: usize,
    },
    /// The apt lists a `RUN` leaves, of the base's Debian release when known.
    AptLists { release: Option<&'static str> },
    /// A Python requirement and the distributions it added (the requirement's own first).
    PythonRequirement {
        distribution: &'static str,
        version: &'static str,
        /// The version the requirement asks for, as written.
        asked: Option<String>,
        added: Vec<&'static str>,
    },
    /// A Python requirement whose distribution is counted already, and the distributions its
    /// extras add (none when they add nothing).
    ExtrasOfCounted {
        distribution: &'static str,
        version: &'static str,
        asked: Option<String>,
        added: Vec<&'static str>,
    },
    /// A pinned requirement replacing another version an earlier `RUN` installed.
    Replaces {
        distribution: &'static str,
        pin: String,
        earlier_version: String,
        earlier_line: usize,
        version: &'static str,
        /// The distributions it added, its own first.
        added: Vec<&'static str>,
    },
    /// The wheels an install leaves in pip's cache.
    PipCache { wheels: usize },
    /// The bytecode an install compiles for `distributions` distributions, on CPython
    /// 3.`python` (`None`: the smallest figure of the table's versions).
    Bytecode {
        manager: Manager,
        distributions: usize,
        python: Option<u32>,
        /// Whether `PYTHONDONTWRITEBYTECODE` is set for a pip install (whose compile step
        /// ignores it).
        dont_write_bytecode: bool,
    },
    /// The files a `COPY` takes from the build context.
    ContextFiles { files: usize },
    /// Sources of a `COPY` that are not in the build context.
    NotInContext { sources: Vec<String> },
    /// What `matched` `COPY`s of another stage put under the path, and whether its `RUN`s
    /// may add more.
    FromStage { matched: usize, runs: bool },
}

impl Display for Detail {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Detail::Fixed(text) => f.write_str(text),
            Detail::BaseImage {
                kind,
                other_reference: None,
            } => write!(f, "{} size", kind.as_str()),
            Detail::BaseImage {
                kind,
                other_reference: Some(image),
            } => write!(f, "{} size of `{image}`", kind.as_str()),
            Detail::NoTable(manager) => write!(f, "no size table for {}", manager.as_str()),
            Detail::DebianClosure {
                package,
                version,
                recommends,
                members,
                added,
            } => {
                let with = with_or_without(*recommends);
                write!(
                    f,
                    "{package} {version} and its dependencies {with} Recommends: "
                )?;
                if added == members {
                    write!(f, "{added} packages")
                } else {
                    write!(f, "{members} packages, {added} not counted above")
                }
            }
            Detail::AptLists {
                release: Some(release),
            } => write!(
                f,
                "/var/lib/apt/lists is not removed in this RUN: the {release} lists"
            ),
            Detail::AptLists { release: None } => f.write_str(
                "/var/lib/apt/lists is not removed in this RUN (lists of an unknown release)",
            ),
            Detail::PythonRequirement {
                distribution,
                version,
                asked,
                added,
            } => {
                write!(f, "{distribution} {version}")?;
                write_asked(f, asked.as_deref())?;
                if added.len() > 1 {
                    f.write_str(" and ")?;
                    write_dependencies(f, added)?;
                }
                Ok(())
            }
            Detail::ExtrasOfCounted {
                distribution,
                version,
                asked,
                added,
            } => {
                write!(f, "{distribution} {version}")?;
                if added.is_empty() {
                    return f.write_str(" is counted already");
                }
                write_asked(f, asked.as_deref())?;
                f.write_str(" is counted already; its extras add ")?;
                write_list(f, added.iter())
            }
            Detail::Replaces {
                distribution,
                pin,
                earlier_version,
                earlier_line,
                version,
                added,
            } => {
                write!(
                    f,
                    "{distribution} {pin} replaces {distribution} {earlier_version} installed by the RUN on line {earlier_line}; that layer keeps the old files (the table's figure is for {distribution} {version}"
                )?;
                if added.len() > 1 {
                    f.write_str(" and ")?;
                    write_dependencies(f, added)?;
                }
                f.write_str(")")
            }
            Detail::PipCache { wheels } => write!(
                f,
                "the {wheels} wheels this install downloads stay in /root/.cache/pip (no --no-cache-dir)"
            ),
            Detail::Bytecode {
                manager,
                distributions,
                python,
                dont_write_bytecode,
            } => {
                let compiler = match manager {
                    Manager::Uv => "uv --compile-bytecode compiles",
                    _ => "pip byte-compiles (no --no-compile)",
                };
                let noun = if *distributions == 1 {
                    "distribution"
                } else {
                    "distributions"
                };
                write!(
                    f,
                    "{compiler} the .py files of the {distributions} {noun} above into __pycache__/*.pyc, for "
                )?;
                match python {
                    Some(minor) => write!(f, "CPython 3.{minor}")?,
                    None => f.write_str(
                        "the smallest figure of CPython 3.10 to 3.13: the base image does not tell its Python",
                    )?,
                }
                if *dont_write_bytecode {
                    f.write_str(" (PYTHONDONTWRITEBYTECODE does not stop pip's compile step)")?;
                }
                Ok(())
            }
            Detail::ContextFiles { files } => write!(
                f,
                "{files} {} of the build context, after .dockerignore",
                if *files == 1 { "file" } else { "files" }
            ),
            Detail::NotInContext { sources } => {
                f.write_str("not in the build context: ")?;
                write_list(f, sources.iter())
            }
            Detail::FromStage { matched, runs } => {
                write!(f, "what {matched} COPY of that stage put there")?;
                if *runs {
                    f.write_str("; its RUNs may add more")?;
                }
                Ok(())
            }
        }
    }
}

/// The key of the table row a figure was read from: `numpy`,
/// `build-essential (with Recommends)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RowKey {
    /// A row named by one cell (a base image, a distribution, a Debian release, a column).
    Name(&'static str),
    /// A Debian package's closure with or without Recommends.
    DebianClosure {
        package: &'static str,
        recommends: bool,
    },
    /// The bytecode column of CPython 3.`python` (`None`: the smallest of the columns) in the
    /// rows of `distributions`, listed by name.
    Bytecode {
        python: Option<u32>,
        distributions: Vec<&'static str>,
    },
}

impl Display for RowKey {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            RowKey::Name(name) => f.write_str(name),
            RowKey::DebianClosure {
                package,
                recommends,
            } => write!(f, "{package} ({} Recommends)", with_or_without(*recommends)),
            RowKey::Bytecode {
                python,
                distributions,
            } => {
                match python {
                    Some(minor) => write!(f, "compiled_cp3{minor} of ")?,
                    None => f.write_str("smallest of compiled_cp310 … compiled_cp313 of ")?,
                }
                write_list(f, sorted(distributions).iter())
            }
        }
    }
}

impl Serialize for Detail {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl Serialize for RowKey {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

fn with_or_without(recommends: bool) -> &'static str {
    if recommends {
        "with"
    } else {
        "without"
    }
}

/// ` (asked: ==1.2)` after a requirement that names a version.
fn write_asked(f: &mut Formatter<'_>, asked: Option<&str>) -> fmt::Result {
    match asked {
        Some(asked) => write!(f, " (asked: {asked})"),
        None => Ok(()),
    }
}

/// `2 dependencies: a, b`: the distributions after the first (the requirement's own), by
/// name.
fn write_dependencies(f: &mut Formatter<'_>, added: &[&'static str]) -> fmt::Result {
    let dependencies = added.get(1..).unwrap_or_default();
    write!(f, "{} dependencies: ", dependencies.len())?;
    write_list(f, sorted(dependencies).iter())
}

fn sorted(names: &[&'static str]) -> Vec<&'static str> {
    let mut names = names.to_vec();
    names.sort_unstable();
    names
}

/// The items separated by `, `.
fn write_list<T: AsRef<str>>(f: &mut Formatter<'_>, items: impl Iterator<Item = T>) -> fmt::Result {
    for (i, item) in items.enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        f.write_str(item.as_ref())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{Detail, RowKey};
    use crate::model::package::Manager;
    use crate::size::tables::BaseKind;

    #[test]
    fn details_read_as_sentences() {
        let cases = [
            (
                Detail::BaseImage {
                    kind: BaseKind::Compressed,
                    other_reference: Some("python:3.11-slim"),
                },
                "compressed size of `python:3.11-slim`",
            ),
            (Detail::NoTable(Manager::Apk), "no size table for apk"),
            (
                Detail::DebianClosure {
                    package: "gcc",
                    version: "4:12.2.0-3",
                    recommends: false,
                    members: 12,
                    added: 3,
                },
                "gcc 4:12.2.0-3 and its dependencies without Recommends: 12 packages, 3 not counted above",
            ),
            (
                Detail::AptLists { release: None },
                "/var/lib/apt/lists is not removed in this RUN (lists of an unknown release)",
            ),
            (
                Detail::PythonRequirement {
                    distribution: "pandas",
                    version: "2.2.3",
                    asked: Some(">=2".into()),
                    added: vec!["pandas", "tzdata", "numpy"],
                },
                "pandas 2.2.3 (asked: >=2) and 2 dependencies: numpy, tzdata",
            ),
            (
                Detail::ExtrasOfCounted {
                    distribution: "aiohttp",
                    version: "3.14.5",
                    asked: Some("==3.9.1".into()),
                    added: vec!["brotli", "aiodns"],
                },
                "aiohttp 3.14.5 (asked: ==3.9.1) is counted already; its extras add brotli, aiodns",
            ),
            (
                Detail::ExtrasOfCounted {
                    distribution: "aiohttp",
                    version: "3.14.5",
                    asked: Some("==3.9.1".into()),
                    added: Vec::new(),
                },
                "aiohttp 3.14.5 is counted already",
            ),
            (
                Detail::Replaces {
                    distribution: "aiohttp",
                    pin: "3.9".into(),
                    earlier_version: "3.8".into(),
                    earlier_line: 2,
                    version: "3.14.5",
                    added: vec!["aiohttp", "brotli"],
                },
                "aiohttp 3.9 replaces aiohttp 3.8 installed by the RUN on line 2; that layer keeps the old files (the table's figure is for aiohttp 3.14.5 and 1 dependencies: brotli)",
            ),
            (
                Detail::Bytecode {
                    manager: Manager::Uv,
                    distributions: 1,
                    python: None,
                    dont_write_bytecode: false,
                },
                "uv --compile-bytecode compiles the .py files of the 1 distribution above into __pycache__/*.pyc, for the smallest figure of CPython 3.10 to 3.13: the base image does not tell its Python",
            ),
            (
                Detail::NotInContext {
                    sources: vec!["app/".into(), "main.py".into()],
                },
                "not in the build context: app/, main.py",
            ),
            (
                Detail::FromStage {
                    matched: 2,
                    runs: true,
                },
                "what 2 COPY of that stage put there; its RUNs may add more",
            ),
        ];
        for (detail, text) in cases {
            assert_eq!(detail.to_string(), text);
        }
    }

    #[test]
    fn bytecode_rows_list_distributions_by_name() {
        let key = RowKey::Bytecode {
            python: Some(12),
            distributions: vec!["requests", "idna", "certifi"],
        };
        assert_eq!(key.to_string(), "compiled_cp312 of certifi, idna, requests");
        let key = RowKey::DebianClosure {
            package: "curl",
            recommends: true,
        };
        assert_eq!(key.to_string(), "curl (with Recommends)");
    }
}
