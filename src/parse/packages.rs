//! Recognises package installs in parsed shell commands: apt-get/apt, apk, dnf/yum/microdnf,
//! pip (`pip`, `pip3.11`, `python3 -m pip`) and `uv pip`, conda/mamba/micromamba,
//! npm/yarn/pnpm. Options are read with each manager's table of options that take an
//! argument, so that option values are never mistaken for packages; every name, version
//! and path keeps the exact span of its text in the file.

use std::ops::Range;

use crate::model::package::{
    EnvironmentSetting, Flag, InstallCommand, Manager, PackageInstall, PipRequirementFile,
    SourceInstall, SourceKind,
};
use crate::model::requirements::normalize_name;
use crate::model::shell::{file_name, Command, Word};
use crate::source::Spanned;

/// Every package named by an install command among `commands`, in order.
pub fn package_installs(commands: &[Command]) -> Vec<PackageInstall> {
    install_commands(commands)
        .into_iter()
        .flat_map(|install| install.packages)
        .collect()
}

/// Every install command among `commands` (indexes refer to `commands`), in order.
pub fn install_commands(commands: &[Command]) -> Vec<InstallCommand> {
    commands
        .iter()
        .enumerate()
        .filter_map(|(index, command)| install_command(index, command))
        .collect()
}

/// How a manager's command line is read.
struct Syntax {
    manager: Manager,
    /// Short options that take an argument (attached or the next word).
    short_with_value: &'static [u8],
    /// Long options that take an argument (after `=` or the next word).
    long_with_value: &'static [&'static str],
    /// Subcommand word sequences that install packages.
    subcommands: &'static [&'static [&'static str]],
}

const APT: Syntax = Syntax {
    manager: Manager::Apt,
    short_with_value: b"octa",
    long_with_value: &[
        "--option",
        "--config-file",
        "--target-release",
        "--default-release",
        "--host-architecture",
    ],
    subcommands: &[&["install"]],
};

const APK: Syntax = Syntax {
    manager: Manager::Apk,
    short_with_value: b"Xpt",
    long_with_value: &[
        "--repository",
        "--root",
        "--virtual",
        "--arch",
        "--cache-dir",
        "--keys-dir",
        "--repositories-file",
        "--timeout",
        "--cache-max-age",
        "--from",
    ],
    subcommands: &[&["add"]],
};

const DNF_OPTIONS: &[&str] = &[
    "--setopt",
    "--enablerepo",
    "--disablerepo",
    "--repo",
    "--repoid",
    "--releasever",
    "--installroot",
    "--config",
    "--exclude",
    "--excludepkgs",
    "--downloaddir",
    "--destdir",
    "--color",
    "--debuglevel",
    "--errorlevel",
    "--rpmverbosity",
    "--forcearch",
    "--comment",
    "--advisory",
    "--advisories",
    "--bz",
    "--cve",
    "--sec-severity",
    "--secseverity",
    "--disableplugin",
    "--enableplugin",
    "--repofrompath",
    "--use-host-config",
];

const fn dnf_family(manager: Manager) -> Syntax {
    Syntax {
        manager,
        short_with_value: b"cxdeR",
        long_with_value: DNF_OPTIONS,
        subcommands: &[&["install"], &["groupinstall"], &["group", "install"]],
    }
}

const PIP_OPTIONS: &[&str] = &[
    "--requirement",
    "--constraint",
    "--editable",
    "--target",
    "--platform",
    "--python-version",
    "--implementation",
    "--abi",
    "--root",
    "--prefix",
    "--src",
    "--index-url",
    "--extra-index-url",
    "--find-links",
    "--upgrade-strategy",
    "--install-option",
    "--global-option",
    "--config-settings",
    "--no-binary",
    "--only-binary",
    "--progress-bar",
    "--log",
    "--log-file",
    "--proxy",
    "--retries",
    "--timeout",
    "--exists-action",
    "--trusted-host",
    "--cert",
    "--client-cert",
    "--cache-dir",
    "--python",
    "--report",
    "--root-user-action",
    "--keyring-provider",
    "--use-feature",
    "--use-deprecated",
    "--group",
    "--resume-retries",
];

const PIP: Syntax = Syntax {
    manager: Manager::Pip,
    short_with_value: b"rceitfC",
    long_with_value: PIP_OPTIONS,
    subcommands: &[&["install"]],
};

const UV: Syntax = Syntax {
    manager: Manager::Uv,
    short_with_value: b"rceifpCPb",
    long_with_value: &[
        "--requirement",
        "--requirements",
        "--constraint",
        "--constraints",
        "--override",
        "--overrides",
        "--build-constraint",
        "--build-constraints",
        "--editable",
        "--index-url",
        "--extra-index-url",
        "--index",
        "--default-index",
        "--find-links",
        "--python",
        "--target",
        "--prefix",
        "--no-binary",
        "--only-binary",
        "--python-version",
        "--python-platform",
        "--index-strategy",
        "--keyring-provider",
        "--resolution",
        "--prerelease",
        "--config-setting",
        "--config-settings",
        "--exclude-newer",
        "--link-mode",
        "--cache-dir",
        "--reinstall-package",
        "--refresh-package",
        "--upgrade-package",
        "--no-build-isolation-package",
        "--group",
        "--extra",
        "--directory",
        "--project",
        "--config-file",
        "--color",
        "--fork-strategy",
        "--torch-backend",
        "--allow-insecure-host",
    ],
    subcommands: &[&["pip", "install"]],
};

const CONDA_OPTIONS: &[&str] = &[
    "--channel",
    "--name",
    "--prefix",
    "--file",
    "--repodata-fn",
    "--solver",
    "--experimental-solver",
    "--revision",
    "--platform",
    "--subdir",
    "--root-prefix",
    "--rc-file",
];

const CONDA_SUBCOMMANDS: &[&[&str]] = &[&["install"], &["create"]];

const CONDA: Syntax = Syntax {
    manager: Manager::Conda,
    short_with_value: b"cnp",
    long_with_value: CONDA_OPTIONS,
    subcommands: CONDA_SUBCOMMANDS,
};

const MAMBA: Syntax = Syntax {
    manager: Manager::Mamba,
    short_with_value: b"cnpfr",
    long_with_value: CONDA_OPTIONS,
    subcommands: CONDA_SUBCOMMANDS,
};

const NPM: Syntax = Syntax {
    manager: Manager::Npm,
    short_with_value: b"w",
    long_with_value: &[
        "--registry",
        "--prefix",
        "--cache",
        "--userconfig",
        "--globalconfig",
        "--tag",
        "--workspace",
        "--omit",
        "--include",
        "--loglevel",
        "--install-strategy",
        "--before",
        "--script-shell",
        "--fetch-timeout",
        "--fetch-retries",
        "--location",
    ],
    subcommands: &[
        &["install"],
        &["i"],
        &["in"],
        &["ins"],
        &["inst"],
        &["insta"],
        &["instal"],
        &["isnt"],
        &["isnta"],
        &["isntal"],
        &["isntall"],
        &["add"],
        &["ci"],
        &["clean-install"],
        &["ic"],
        &["install-clean"],
        &["isntall-clean"],
    ],
};

const YARN: Syntax = Syntax {
    manager: Manager::Yarn,
    short_with_value: b"",
    long_with_value: &[
        "--cwd",
        "--registry",
        "--network-timeout",
        "--cache-folder",
        "--modules-folder",
        "--mutex",
        "--global-folder",
        "--prefix",
        "--link-folder",
        "--network-concurrency",
        "--use-yarnrc",
        "--mode",
    ],
    // A bare `yarn` installs the project's dependencies.
    subcommands: &[&["add"], &["global", "add"], &["install"], &[]],
};

const PNPM: Syntax = Syntax {
    manager: Manager::Pnpm,
    short_with_value: b"CF",
    long_with_value: &[
        "--dir",
        "--filter",
        "--store-dir",
        "--registry",
        "--reporter",
        "--virtual-store-dir",
        "--modules-dir",
        "--config-dir",
        "--loglevel",
        "--network-concurrency",
        "--child-concurrency",
    ],
    subcommands: &[&["add"], &["install"], &["i"]],
};

/// `pip`, `pip3`, `pip3.11`.
fn is_pip(name: &str) -> bool {
    is_versioned(name, "pip")
}

/// `python`, `python3`, `python3.11`.
fn is_python(name: &str) -> bool {
    is_versioned(name, "python")
}

fn is_versioned(name: &str, stem: &str) -> bool {
    name.strip_prefix(stem).is_some_and(|version| {
        version.is_empty()
            || (version.starts_with(|c: char| c.is_ascii_digit())
                && version.bytes().all(|b| b.is_ascii_digit() || b == b'.'))
    })
}

/// The manager of `command`, its program as written and the index of its first argument.
fn classify(command: &Command) -> Option<(&'static Syntax, Spanned<String>, usize)> {
    let index = command.program_index?;
    let program = command.words.get(index)?;
    if program.has_expansion {
        return None;
    }
    let name = file_name(&program.text);
    static DNF: Syntax = dnf_family(Manager::Dnf);
    static YUM: Syntax = dnf_family(Manager::Yum);
    static MICRODNF: Syntax = dnf_family(Manager::Microdnf);
    let syntax: &'static Syntax = match name {
        "apt-get" | "apt" => &APT,
        "apk" => &APK,
        "dnf" | "dnf5" => &DNF,
        "yum" => &YUM,
        "microdnf" => &MICRODNF,
        "uv" => &UV,
        "conda" => &CONDA,
        "mamba" | "micromamba" => &MAMBA,
        "npm" => &NPM,
        "yarn" => &YARN,
        "pnpm" => &PNPM,
        _ if is_pip(name) => &PIP,
        _ if is_python(name) => return python_module_pip(command, index),
        _ => return None,
    };
    Some((syntax, program.to_spanned(), index + 1))
}

/// `python3 -m pip …`: the interpreter's own options are skipped up to `-m pip`.
fn python_module_pip(
    command: &Command,
    index: usize,
) -> Option<(&'static Syntax, Spanned<String>, usize)> {
    let words = &command.words;
    let program = words.get(index)?;
    let mut i = index + 1;
    let (module, next) = loop {
        let word = words.get(i)?;
        let text = word.text.as_str();
        if text == "-m" {
            break (words.get(i + 1)?, i + 2);
        } else if let Some(module) = text.strip_prefix("-m") {
            if module != "pip" {
                return None;
            }
            break (word, i + 1);
        } else if matches!(text, "-W" | "-X") {
            i += 2;
        } else if text.len() > 1 && text.starts_with('-') && text != "-c" {
            i += 1;
        } else {
            return None;
        }
    };
    if !matches!(module.text.as_str(), "pip" | "-mpip") {
        return None;
    }
    let written: Vec<&str> = words
        .get(index..next)
        .unwrap_or(&[])
        .iter()
        .map(|w| w.text.as_str())
        .collect();
    let span = program.span.cover(module.span);
    Some((&PIP, Spanned::new(written.join(" "), span), next))
}

/// The options and positional arguments of a command line.
struct Arguments<'w> {
    flags: Vec<Flag>,
    /// For each flag, the word and byte range its value was read from.
    value_sources: Vec<Option<(&'w Word, Range<usize>)>>,
    positionals: Vec<&'w Word>,
}

impl<'w> Arguments<'w> {
    fn push(&mut self, name: String, word: &Word, value: Option<(&'w Word, Range<usize>)>) {
        self.flags.push(Flag {
            name,
            span: word.span,
            value: value
                .clone()
                .and_then(|(value_word, range)| value_of(value_word, range)),
        });
        self.value_sources.push(value);
    }
}

/// Reads options and positional arguments with `syntax`.
fn split_arguments<'w>(words: &'w [Word], syntax: &Syntax) -> Arguments<'w> {
    let mut arguments = Arguments {
        flags: Vec::new(),
        value_sources: Vec::new(),
        positionals: Vec::new(),
    };
    let mut options_ended = false;
    let mut i = 0;
    while let Some(word) = words.get(i) {
        i += 1;
        let text = word.text.as_str();
        if options_ended || !text.starts_with('-') || text == "-" || word.has_expansion_in(0..1) {
            arguments.positionals.push(word);
            continue;
        }
        if text == "--" {
            options_ended = true;
            continue;
        }
        if text.starts_with("--") {
            let (name, value) = match text.find('=') {
                Some(eq) => (&text[..eq], Some((word, eq + 1..text.len()))),
                None if syntax.long_with_value.contains(&text) => {
                    i += 1;
                    (text, words.get(i - 1).map(|w| (w, 0..w.text.len())))
                }
                None => (text, None),
            };
            arguments.push(name.to_string(), word, value);
            continue;
        }
        for (at, option) in text.char_indices().skip(1) {
            let name = format!("-{option}");
            let takes_value =
                option.is_ascii() && syntax.short_with_value.contains(&(option as u8));
            if !takes_value {
                arguments.push(name, word, None);
                continue;
            }
            let rest = at + option.len_utf8();
            let value = if rest < text.len() {
                let rest = if text[rest..].starts_with('=') {
                    rest + 1
                } else {
                    rest
                };
                Some((word, rest..text.len()))
            } else {
                i += 1;
                words.get(i - 1).map(|w| (w, 0..w.text.len()))
            };
            arguments.push(name, word, value);
            break;
        }
    }
    arguments
}

/// `range` of a word's unquoted text with its span; an empty value is spanned by the whole
/// word (`""`).
fn value_of(word: &Word, range: Range<usize>) -> Option<Spanned<String>> {
    if range.is_empty() {
        return Some(Spanned::new(String::new(), word.span));
    }
    word.spanned(range)
}

fn install_command(index: usize, command: &Command) -> Option<InstallCommand> {
    let (syntax, program, first_argument) = classify(command)?;
    let arguments = command.words.get(first_argument..).unwrap_or(&[]);
    let Arguments {
        flags,
        value_sources,
        positionals,
    } = split_arguments(arguments, syntax);
    let mut variable_arguments = Vec::new();
    // Variables before the subcommand may hold options; they are set aside.
    let mut rest = positionals.as_slice();
    while let Some((first, tail)) = rest.split_first() {
        if !first.has_expansion {
            break;
        }
        variable_arguments.push(first.to_spanned());
        rest = tail;
    }
    let subcommand = syntax.subcommands.iter().find(|sequence| {
        sequence.len() <= rest.len()
            && sequence
                .iter()
                .zip(rest)
                .all(|(expected, word)| word.text == *expected && !word.quoted)
            && (!sequence.is_empty() || rest.is_empty())
    })?;
    if subcommand.is_empty() && flags.iter().any(|f| is_information_flag(&f.name)) {
        return None;
    }
    let (subcommand_words, packages) = rest.split_at(subcommand.len());
    let subcommand = match (subcommand_words.first(), subcommand_words.last()) {
        (Some(first), Some(last)) => Some(Spanned::new(
            subcommand.join(" "),
            first.span.cover(last.span),
        )),
        _ => None,
    };
    let mut install = InstallCommand {
        manager: syntax.manager,
        program,
        subcommand,
        command_index: index,
        span: command.span,
        flags,
        packages: Vec::new(),
        requirement_files: Vec::new(),
        sources: Vec::new(),
        variable_arguments,
        unrecognized_arguments: Vec::new(),
        environment: environment(command),
    };
    if syntax.manager.is_python() {
        collect_pip_option_files(&mut install, &value_sources);
    }
    for word in packages {
        match classify_argument(syntax.manager, &word.text) {
            Argument::Package(spec) => {
                if word.has_expansion_in(spec.name.clone())
                    || word.has_expansion_in(spec.name.end..spec.name.end + 1)
                {
                    install.variable_arguments.push(word.to_spanned());
                    continue;
                }
                let Some(package) = package_install(syntax.manager, word, spec, &install) else {
                    install.unrecognized_arguments.push(word.to_spanned());
                    continue;
                };
                install.packages.push(package);
            }
            Argument::Source { kind, name, target } => {
                let Some(target) = value_of(word, target) else {
                    continue;
                };
                install.sources.push(SourceInstall {
                    manager: syntax.manager,
                    kind,
                    target,
                    name: name.and_then(|n| word.spanned(n)),
                    editable: false,
                    span: word.span,
                    command_index: index,
                });
            }
            Argument::Unrecognized if word.has_expansion => {
                install.variable_arguments.push(word.to_spanned());
            }
            Argument::Unrecognized => install.unrecognized_arguments.push(word.to_spanned()),
        }
    }
    Some(install)
}

/// The command's leading assignments and the `NAME=value` words of its wrappers.
fn environment(command: &Command) -> Vec<EnvironmentSetting> {
    let leading = command.assignments.iter().map(|a| EnvironmentSetting {
        name: a.name.clone(),
        value: Spanned::new(a.value.text.clone(), a.value.span),
    });
    let wrapper_words = command
        .words
        .get(..command.program_index.unwrap_or(0))
        .unwrap_or(&[]);
    let from_wrappers = wrapper_words.iter().filter_map(|word| {
        let eq = word.text.find('=')?;
        let name = &word.text[..eq];
        let valid = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if !valid {
            return None;
        }
        Some(EnvironmentSetting {
            name: word.spanned(0..eq)?,
            value: value_of(word, eq + 1..word.text.len())?,
        })
    });
    leading.chain(from_wrappers).collect()
}

fn is_information_flag(name: &str) -> bool {
    matches!(name, "-v" | "--version" | "-h" | "--help")
}

/// Records pip's `-r`, `-c` and `-e` option values as requirement files and source installs.
fn collect_pip_option_files(
    install: &mut InstallCommand,
    value_sources: &[Option<(&Word, Range<usize>)>],
) {
    for (flag, source) in install.flags.iter().zip(value_sources) {
        let (Some(value), Some((word, range))) = (&flag.value, source) else {
            continue;
        };
        let span = flag.span.cover(value.span);
        let constraint = match flag.name.as_str() {
            "-r" | "--requirement" | "--requirements" => false,
            "-c" | "--constraint" | "--constraints" => true,
            "-e" | "--editable" => {
                let (kind, name) = match classify_argument(Manager::Pip, &value.value) {
                    Argument::Source { kind, name, .. } => (kind, name),
                    _ => (SourceKind::Path, None),
                };
                let name = name.and_then(|name| {
                    word.spanned(range.start + name.start..range.start + name.end)
                });
                install.sources.push(SourceInstall {
                    manager: install.manager,
                    kind,
                    target: value.clone(),
                    name,
                    editable: true,
                    span,
                    command_index: install.command_index,
                });
                continue;
            }
            _ => continue,
        };
        install.requirement_files.push(PipRequirementFile {
            manager: install.manager,
            path: value.clone(),
            constraint,
            path_is_variable: word.has_expansion_in(range.clone()),
            span,
            command_index: install.command_index,
        });
    }
}

/// A package specification, as byte ranges of the unquoted argument.
struct Spec {
    name: Range<usize>,
    version: Option<Range<usize>>,
    pinned: bool,
    extras: Vec<Range<usize>>,
    marker: Option<Range<usize>>,
    qualifier: Option<Range<usize>>,
}

impl Spec {
    fn named(name: Range<usize>) -> Spec {
        Spec {
            name,
            version: None,
            pinned: false,
            extras: Vec::new(),
            marker: None,
            qualifier: None,
        }
    }
}

/// An install from `text` as a whole.
fn source(kind: SourceKind, text: &str) -> Argument {
    Argument::Source {
        kind,
        name: None,
        target: 0..text.len(),
    }
}

enum Argument {
    Package(Spec),
    /// A path, URL or repository (the byte range `target`), with the project name when it
    /// is given.
    Source {
        kind: SourceKind,
        name: Option<Range<usize>>,
        target: Range<usize>,
    },
    Unrecognized,
}

fn package_install(
    manager: Manager,
    word: &Word,
    spec: Spec,
    install: &InstallCommand,
) -> Option<PackageInstall> {
    let name = word.spanned(spec.name.clone())?;
    if name.value.is_empty() {
        return None;
    }
    let normalized_name = match manager {
        Manager::Pip | Manager::Uv => normalize_name(&name.value),
        Manager::Npm | Manager::Yarn | Manager::Pnpm => name.value.clone(),
        _ => name.value.to_lowercase(),
    };
    let version_is_variable = spec
        .version
        .as_ref()
        .is_some_and(|v| word.has_expansion_in(v.clone()));
    Some(PackageInstall {
        manager,
        normalized_name,
        version: spec.version.and_then(|v| word.spanned(v)),
        pinned: spec.pinned,
        version_is_variable,
        extras: spec
            .extras
            .into_iter()
            .filter_map(|e| word.text.get(e).map(str::to_string))
            .collect(),
        marker: spec.marker.and_then(|m| word.spanned(m)),
        qualifier: spec.qualifier.and_then(|q| word.spanned(q)),
        name,
        span: word.span,
        command_span: install.span,
        command_index: install.command_index,
    })
}

fn classify_argument(manager: Manager, text: &str) -> Argument {
    if text.is_empty() {
        return Argument::Unrecognized;
    }
    match manager {
        Manager::Apt => apt_argument(text),
        Manager::Apk => apk_argument(text),
        Manager::Dnf | Manager::Yum | Manager::Microdnf => rpm_argument(text),
        Manager::Pip | Manager::Uv => pip_argument(text),
        Manager::Conda | Manager::Mamba => conda_argument(text),
        Manager::Npm | Manager::Yarn | Manager::Pnpm => npm_argument(text),
    }
}

fn looks_like_path(text: &str) -> bool {
    text.starts_with(['.', '/', '~'])
}

fn url_kind(text: &str) -> Option<SourceKind> {
    const VCS: [&str; 5] = ["git+", "hg+", "svn+", "bzr+", "git://"];
    if VCS.iter().any(|prefix| text.starts_with(prefix)) {
        Some(SourceKind::Vcs)
    } else if text.contains("://") || text.starts_with("file:") {
        Some(SourceKind::Url)
    } else {
        None
    }
}

fn position_of(text: &str, from: usize, stops: &[u8]) -> usize {
    text.as_bytes()
        .iter()
        .enumerate()
        .skip(from)
        .find(|(_, b)| stops.contains(b))
        .map_or(text.len(), |(i, _)| i)
}

fn all_bytes(text: &str, range: Range<usize>, allowed: impl Fn(u8) -> bool) -> bool {
    text.as_bytes()
        .get(range)
        .is_some_and(|bytes| !bytes.is_empty() && bytes.iter().all(|&b| allowed(b)))
}

/// `name[:arch][=version | /release]`, or a `.deb` path.
fn apt_argument(text: &str) -> Argument {
    if looks_like_path(text) || text.ends_with(".deb") {
        return source(SourceKind::Path, text);
    }
    let end = position_of(text, 0, b"=/");
    let name_end = position_of(&text[..end], 0, b":");
    let name_ok = |b: u8| b.is_ascii_alphanumeric() || b"+.-_*?[]^$".contains(&b);
    if !all_bytes(text, 0..name_end, name_ok) {
        return Argument::Unrecognized;
    }
    let mut spec = Spec::named(0..name_end);
    if name_end < end {
        spec.qualifier = Some(name_end + 1..end);
    }
    match text.as_bytes().get(end) {
        Some(b'=') => {
            spec.version = Some(end + 1..text.len());
            spec.pinned = end + 1 < text.len() && !text.contains('*');
        }
        Some(_) => spec.qualifier = Some(end + 1..text.len()),
        None => {}
    }
    Argument::Package(spec)
}

/// `name[@tag][=version | ~version | >=version …]`, or an `.apk` path.
fn apk_argument(text: &str) -> Argument {
    if looks_like_path(text) || text.ends_with(".apk") {
        return source(SourceKind::Path, text);
    }
    let name_end = position_of(text, 0, b"=~<>@");
    let name_ok = |b: u8| b.is_ascii_alphanumeric() || b"+._-".contains(&b);
    if !all_bytes(text, 0..name_end, name_ok) {
        return Argument::Unrecognized;
    }
    let mut spec = Spec::named(0..name_end);
    let mut at = name_end;
    if text.as_bytes().get(at) == Some(&b'@') {
        let tag_end = position_of(text, at + 1, b"=~<>");
        spec.qualifier = Some(at + 1..tag_end);
        at = tag_end;
    }
    if at < text.len() {
        let rest = &text[at..];
        if rest.starts_with('=') && !rest.starts_with("=~") {
            spec.version = Some(at + 1..text.len());
            spec.pinned = at + 1 < text.len() && !rest.contains('*');
        } else {
            spec.version = Some(at..text.len());
        }
    }
    Argument::Package(spec)
}

/// dnf/yum package specifications keep their version inside the name (`pkg-1.2-3.el9`),
/// which cannot be split reliably, so the whole argument is the name. Group names
/// (`"Development Tools"`, `@development`) are names too.
fn rpm_argument(text: &str) -> Argument {
    if let Some(kind) = url_kind(text) {
        return source(kind, text);
    }
    // A leading `/` names a file that a package provides; only `.rpm` files are local.
    if text.ends_with(".rpm") {
        return source(SourceKind::Path, text);
    }
    let name_ok = |b: u8| b.is_ascii_alphanumeric() || b"@+._-:*?()/ ".contains(&b);
    if !all_bytes(text, 0..text.len(), name_ok) {
        return Argument::Unrecognized;
    }
    Argument::Package(Spec::named(0..text.len()))
}

fn skip_spaces(text: &str, mut i: usize) -> usize {
    while text
        .as_bytes()
        .get(i)
        .is_some_and(|b| b.is_ascii_whitespace())
    {
        i += 1;
    }
    i
}

fn trim_range(text: &str, range: Range<usize>) -> Range<usize> {
    let part = text.get(range.clone()).unwrap_or("");
    let start = range.start + (part.len() - part.trim_start().len());
    let end = range.end - (part.len() - part.trim_end().len());
    start..end.max(start)
}

/// A PEP 508 requirement, a URL or VCS reference, or a local path.
fn pip_argument(text: &str) -> Argument {
    let requirement = pep508_requirement(text);
    if let Some((name, Some(url))) = &requirement {
        let kind = url_kind(&text[url.clone()]).unwrap_or(SourceKind::Path);
        return Argument::Source {
            kind,
            name: Some(name.name.clone()),
            target: url.clone(),
        };
    }
    if let Some(kind) = url_kind(text) {
        return Argument::Source {
            kind,
            name: egg_name(text),
            target: 0..text.len(),
        };
    }
    let archive = [".whl", ".tar.gz", ".zip", ".tar.bz2", ".tgz"];
    if looks_like_path(text)
        || text.contains(['/', '\\'])
        || archive.iter().any(|a| text.ends_with(a))
    {
        return source(SourceKind::Path, text);
    }
    match requirement {
        Some((spec, None)) => Argument::Package(spec),
        _ => Argument::Unrecognized,
    }
}

/// The `#egg=name` fragment of a URL.
fn egg_name(text: &str) -> Option<Range<usize>> {
    let start = text.find("#egg=")? + "#egg=".len();
    let end = position_of(text, start, b"&");
    all_bytes(text, start..end, |b| {
        b.is_ascii_alphanumeric() || b"._-".contains(&b)
    })
    .then_some(start..end)
}

/// Parses `name [extras] specifiers ; marker` or `name [extras] @ url`. The second value is
/// the URL range of a direct reference.
fn pep508_requirement(text: &str) -> Option<(Spec, Option<Range<usize>>)> {
    let bytes = text.as_bytes();
    let start = skip_spaces(text, 0);
    if !bytes.get(start)?.is_ascii_alphanumeric() {
        return None;
    }
    let mut end = start;
    while bytes
        .get(end)
        .is_some_and(|b| b.is_ascii_alphanumeric() || b"._-".contains(b))
    {
        end += 1;
    }
    while end > start && bytes.get(end - 1).is_some_and(|b| b"._-".contains(b)) {
        end -= 1;
    }
    let mut spec = Spec::named(start..end);
    let mut at = skip_spaces(text, end);
    if bytes.get(at) == Some(&b'[') {
        let close = at + 1 + text.get(at + 1..)?.find(']')?;
        let mut item_start = at + 1;
        for item_end in (at + 1..=close).filter(|&i| i == close || bytes.get(i) == Some(&b',')) {
            let item = trim_range(text, item_start..item_end);
            if !item.is_empty() {
                spec.extras.push(item);
            }
            item_start = item_end + 1;
        }
        at = skip_spaces(text, close + 1);
    }
    if bytes.get(at) == Some(&b'@') {
        let url_end = text.get(at..)?.find(" ;").map_or(text.len(), |i| at + i);
        let url = trim_range(text, at + 1..url_end);
        return (!url.is_empty()).then_some((spec, Some(url)));
    }
    let marker_at = position_of(text, at, b";");
    let version = trim_range(text, at..marker_at);
    if !version.is_empty() {
        let version_text = &text[version.clone()];
        if !version_text.starts_with(['=', '<', '>', '!', '~', '(', '$']) {
            return None;
        }
        let exact = version_text
            .trim_start_matches('(')
            .trim_end_matches(')')
            .trim();
        spec.pinned =
            (exact.starts_with("==") && !exact.contains(['*', ','])) || exact.starts_with("===");
        spec.version = Some(version);
    }
    if marker_at < text.len() {
        let marker = trim_range(text, marker_at + 1..text.len());
        spec.marker = (!marker.is_empty()).then_some(marker);
    }
    Some((spec, None))
}

/// `[channel::]name[version][[build]]`, `name==1.2`, `"numpy 1.26.*"`, or a package file.
fn conda_argument(text: &str) -> Argument {
    if let Some(kind) = url_kind(text) {
        return source(kind, text);
    }
    if looks_like_path(text) || text.ends_with(".tar.bz2") || text.ends_with(".conda") {
        return source(SourceKind::Path, text);
    }
    let (qualifier, name_start) = match text.find("::") {
        Some(i) => (Some(0..i), i + 2),
        None => (None, 0),
    };
    let name_end = position_of(text, name_start, b"=<>!~ [");
    let name_ok = |b: u8| b.is_ascii_alphanumeric() || b"._-".contains(&b);
    if !all_bytes(text, name_start..name_end, name_ok) {
        return Argument::Unrecognized;
    }
    let mut spec = Spec::named(name_start..name_end);
    spec.qualifier = qualifier;
    let version = trim_range(text, name_end..text.len());
    if !version.is_empty() {
        let version_text = &text[version.clone()];
        let bare = version_text.starts_with(|c: char| c.is_ascii_digit());
        spec.pinned = !version_text.contains(['*', ',', '|', '<', '>', '!', '~'])
            && (bare || version_text.starts_with('='));
        spec.version = Some(version);
    }
    Argument::Package(spec)
}

/// `name[@version]`, `@scope/name[@version]`, or a path, URL, tarball or repository.
fn npm_argument(text: &str) -> Argument {
    const REPOSITORIES: [&str; 7] = [
        "git+",
        "git:",
        "github:",
        "gitlab:",
        "bitbucket:",
        "gist:",
        "git@",
    ];
    if REPOSITORIES.iter().any(|prefix| text.starts_with(prefix)) {
        return source(SourceKind::Vcs, text);
    }
    if text.contains("://") {
        return source(SourceKind::Url, text);
    }
    if looks_like_path(text)
        || text.starts_with("file:")
        || text.ends_with(".tgz")
        || text.ends_with(".tar.gz")
    {
        return source(SourceKind::Path, text);
    }
    let scoped = text.starts_with('@');
    let name_end = position_of(text, usize::from(scoped), b"@");
    let name = &text[..name_end];
    if !scoped && name.contains('/') {
        // `user/repo` is a GitHub shorthand.
        return source(SourceKind::Vcs, text);
    }
    let name_ok = |b: u8| b.is_ascii_alphanumeric() || b"._~-/@".contains(&b);
    let scope_ok = !scoped
        || name
            .split_once('/')
            .is_some_and(|(s, n)| s.len() > 1 && !n.is_empty());
    if !scope_ok || !all_bytes(text, 0..name_end, name_ok) {
        return Argument::Unrecognized;
    }
    let mut spec = Spec::named(0..name_end);
    if name_end + 1 < text.len() {
        spec.version = Some(name_end + 1..text.len());
        spec.pinned = is_exact_semver(&text[name_end + 1..]);
    }
    Argument::Package(spec)
}

/// `1.2.3`, `v1.2.3`, `1.2.3-rc.1`, `1.2.3+build`.
fn is_exact_semver(version: &str) -> bool {
    let version = version.strip_prefix('v').unwrap_or(version);
    let (core, suffix) = match version.find(['-', '+']) {
        Some(i) => (&version[..i], &version[i + 1..]),
        None => (version, ""),
    };
    let parts: Vec<&str> = core.split('.').collect();
    parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        && suffix
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-+".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::shell::parse_shell;
    use crate::source::{FileId, MappedText, Span};
    use proptest::prelude::*;

    const FILE: FileId = FileId(0);

    /// The logical text of `source[4..]` (after `RUN `) with line continuations removed.
    fn run_body(source: &str) -> MappedText {
        let mut mapped = MappedText::new(FILE);
        let mut start = 4;
        while let Some(i) = source[start..].find("\\\n") {
            mapped.push(&source[start..start + i], start);
            start += i + 2;
        }
        mapped.push(&source[start..], start);
        mapped
    }

    fn installs(source: &str) -> Vec<InstallCommand> {
        let script = parse_shell(&run_body(source));
        install_commands(&script.commands)
    }

    fn under(source: &str, span: Span) -> &str {
        &source[span.range()]
    }

    fn names(install: &InstallCommand) -> Vec<&str> {
        install
            .packages
            .iter()
            .map(|p| p.name.value.as_str())
            .collect()
    }

    fn flag_names(install: &InstallCommand) -> Vec<&str> {
        install.flags.iter().map(|f| f.name.as_str()).collect()
    }

    fn package<'a>(install: &'a InstallCommand, name: &str) -> &'a PackageInstall {
        install
            .packages
            .iter()
            .find(|p| p.name.value == name)
            .unwrap_or_else(|| panic!("{name} not installed: {:?}", names(install)))
    }

    #[test]
    fn apt_get_across_continued_lines() {
        let src = "RUN DEBIAN_FRONTEND=noninteractive apt-get -o Dpkg::Options::=--force-confnew install -qy --no-install-recommends \\\n    curl=7.88.1-10 \\\n    git/bookworm-backports \\\n    libssl-dev:amd64 \\\n    gcc \\\n    $(cat pkgs.txt) $EXTRA \\\n && apt-get update && apt install -y make";
        let all = installs(src);
        assert_eq!(all.len(), 2);
        let apt = &all[0];
        assert_eq!(apt.manager, Manager::Apt);
        assert_eq!(apt.program.value, "apt-get");
        assert_eq!(apt.subcommand.as_ref().unwrap().value, "install");
        assert_eq!(names(apt), ["curl", "git", "libssl-dev", "gcc"]);
        assert_eq!(
            flag_names(apt),
            ["-o", "-q", "-y", "--no-install-recommends"]
        );
        assert!(apt.has_flag(&["-y", "--yes"]));
        let option = apt.flag("-o").unwrap().value.as_ref().unwrap();
        assert_eq!(under(src, option.span), "Dpkg::Options::=--force-confnew");
        let gcc = package(apt, "gcc");
        assert_eq!(under(src, gcc.name.span), "gcc");
        assert_eq!(
            src[..gcc.name.span.start as usize].matches('\n').count() + 1,
            5
        );
        assert!(gcc.version.is_none() && !gcc.pinned);
        let curl = package(apt, "curl");
        assert_eq!(under(src, curl.version.as_ref().unwrap().span), "7.88.1-10");
        assert!(curl.pinned);
        assert_eq!(
            package(apt, "git").qualifier.as_ref().unwrap().value,
            "bookworm-backports"
        );
        assert_eq!(
            under(src, package(apt, "libssl-dev").name.span),
            "libssl-dev"
        );
        let variables: Vec<_> = apt
            .variable_arguments
            .iter()
            .map(|v| v.value.as_str())
            .collect();
        assert_eq!(variables, ["$(cat pkgs.txt)", "$EXTRA"]);
        assert!(under(src, apt.span).starts_with("DEBIAN_FRONTEND=noninteractive apt-get -o"));
        assert_eq!(apt.environment[0].name.value, "DEBIAN_FRONTEND");
        assert_eq!(under(src, apt.environment[0].value.span), "noninteractive");
        assert!(under(src, apt.span).ends_with("$EXTRA"));
        assert_eq!(gcc.command_span, apt.span);
        assert_eq!(all[1].program.value, "apt");
        assert_eq!(names(&all[1]), ["make"]);
        assert!(!all[1].has_flag(&["--no-install-recommends"]));
    }

    #[test]
    fn apt_install_from_command_substitution_has_no_names() {
        let all = installs("RUN apt-get install -y $(cat pkgs.txt) `cat more.txt`");
        assert!(all[0].packages.is_empty());
        assert_eq!(all[0].variable_arguments.len(), 2);
        let all = installs("RUN apt-get install -y ./vendor/tool.deb");
        assert_eq!(all[0].sources[0].kind, SourceKind::Path);
    }

    #[test]
    fn apk_add() {
        let src = "RUN apk add --no-cache --virtual .build-deps gcc musl-dev curl=8.5.0-r0 py3-pip~23 bash@edge && apk add -t .deps -X http://mirror/x make && apk update";
        let all = installs(src);
        assert_eq!(all.len(), 2);
        let apk = &all[0];
        assert_eq!(apk.manager, Manager::Apk);
        assert_eq!(names(apk), ["gcc", "musl-dev", "curl", "py3-pip", "bash"]);
        assert_eq!(
            apk.flag("--virtual").unwrap().value.as_ref().unwrap().value,
            ".build-deps"
        );
        assert!(apk.has_flag(&["--no-cache"]));
        let curl = package(apk, "curl");
        assert!(curl.pinned);
        assert_eq!(under(src, curl.version.as_ref().unwrap().span), "8.5.0-r0");
        let pip = package(apk, "py3-pip");
        assert_eq!(pip.version.as_ref().unwrap().value, "~23");
        assert!(!pip.pinned);
        let bash = package(apk, "bash");
        assert_eq!(under(src, bash.qualifier.as_ref().unwrap().span), "edge");
        assert_eq!(names(&all[1]), ["make"]);
        assert!(!all[1].has_flag(&["--no-cache"]));
    }

    #[test]
    fn dnf_yum_microdnf() {
        let src = "RUN dnf install -y --setopt=install_weak_deps=False --nodocs gcc python3-devel \
                   && yum -y install make /usr/bin/which https://x/y.rpm \
                   && microdnf --enablerepo crb install git && dnf clean all \
                   && yum groupinstall -y 'Development Tools' && dnf group install -y @rpm-development-tools";
        let all = installs(src);
        let managers: Vec<_> = all.iter().map(|i| i.manager).collect();
        assert_eq!(
            managers,
            [
                Manager::Dnf,
                Manager::Yum,
                Manager::Microdnf,
                Manager::Yum,
                Manager::Dnf
            ]
        );
        assert_eq!(
            under(src, all[3].packages[0].name.span),
            "Development Tools"
        );
        assert_eq!(all[4].subcommand.as_ref().unwrap().value, "group install");
        assert_eq!(names(&all[4]), ["@rpm-development-tools"]);
        assert_eq!(names(&all[0]), ["gcc", "python3-devel"]);
        let setopt = all[0].flag("--setopt").unwrap();
        assert_eq!(
            setopt.value.as_ref().unwrap().value,
            "install_weak_deps=False"
        );
        assert_eq!(
            under(src, setopt.value.as_ref().unwrap().span),
            "install_weak_deps=False"
        );
        assert!(all[0].has_flag(&["--nodocs"]));
        assert_eq!(names(&all[1]), ["make", "/usr/bin/which"]);
        assert_eq!(all[1].sources[0].kind, SourceKind::Url);
        assert!(all[1].has_flag(&["-y"]));
        assert_eq!(names(&all[2]), ["git"]);
        assert_eq!(
            all[2]
                .flag("--enablerepo")
                .unwrap()
                .value
                .as_ref()
                .unwrap()
                .value,
            "crb"
        );
    }

    #[test]
    fn pip_requirements_specifiers_and_options() {
        let src = r#"RUN pip install --no-cache-dir "numpy==1.26.0" 'aiohttp[speedups, dns]>=3' -r requirements.txt -rdev.txt --requirement=test.txt -c constraints.txt -i https://pypi.org/simple --extra-index-url https://x/simple -f /wheels -e . "git+https://github.com/a/b.git@v1#egg=bee" ./local/pkg pandas~=2.1 --target /opt/lib 'requests ; python_version>"3.8"' flask==$FLASK_VERSION $PKG "torch @ https://download/torch.whl" 'Django_REST.framework'"#;
        let all = installs(src);
        assert_eq!(all.len(), 1);
        let pip = &all[0];
        assert_eq!(pip.manager, Manager::Pip);
        assert!(pip.has_flag(&["--no-cache-dir"]));
        assert_eq!(
            names(pip),
            [
                "numpy",
                "aiohttp",
                "pandas",
                "requests",
                "flask",
                "Django_REST.framework"
            ]
        );
        let numpy = package(pip, "numpy");
        assert_eq!(under(src, numpy.name.span), "numpy");
        assert_eq!(under(src, numpy.span), r#""numpy==1.26.0""#);
        assert_eq!(under(src, numpy.version.as_ref().unwrap().span), "==1.26.0");
        assert!(numpy.pinned);
        let aiohttp = package(pip, "aiohttp");
        assert_eq!(under(src, aiohttp.name.span), "aiohttp");
        assert_eq!(aiohttp.extras, ["speedups", "dns"]);
        assert_eq!(aiohttp.version.as_ref().unwrap().value, ">=3");
        assert!(!aiohttp.pinned);
        assert!(!package(pip, "pandas").pinned);
        let requests = package(pip, "requests");
        assert_eq!(
            requests.marker.as_ref().unwrap().value,
            r#"python_version>"3.8""#
        );
        assert!(requests.version.is_none());
        let flask = package(pip, "flask");
        assert!(flask.version_is_variable && flask.pinned);
        assert_eq!(
            package(pip, "Django_REST.framework").normalized_name,
            "django-rest-framework"
        );
        let files: Vec<_> = pip
            .requirement_files
            .iter()
            .map(|f| (f.path.value.as_str(), f.constraint, under(src, f.path.span)))
            .collect();
        assert_eq!(
            files,
            [
                ("requirements.txt", false, "requirements.txt"),
                ("dev.txt", false, "dev.txt"),
                ("test.txt", false, "test.txt"),
                ("constraints.txt", true, "constraints.txt")
            ]
        );
        assert_eq!(under(src, pip.requirement_files[1].span), "-rdev.txt");
        let sources: Vec<_> = pip
            .sources
            .iter()
            .map(|s| {
                (
                    s.kind,
                    s.target.value.as_str(),
                    s.name.as_ref().map(|n| under(src, n.span)),
                    s.editable,
                )
            })
            .collect();
        assert_eq!(
            sources,
            [
                (SourceKind::Path, ".", None, true),
                (
                    SourceKind::Vcs,
                    "git+https://github.com/a/b.git@v1#egg=bee",
                    Some("bee"),
                    false
                ),
                (SourceKind::Path, "./local/pkg", None, false),
                (
                    SourceKind::Url,
                    "https://download/torch.whl",
                    Some("torch"),
                    false
                ),
            ]
        );
        assert_eq!(pip.sources[3].target.value, "https://download/torch.whl");
        let variables: Vec<_> = pip
            .variable_arguments
            .iter()
            .map(|v| v.value.as_str())
            .collect();
        assert_eq!(variables, ["$PKG"]);
        assert!(pip.unrecognized_arguments.is_empty());
        assert_eq!(
            pip.flag("--target").unwrap().value.as_ref().unwrap().value,
            "/opt/lib"
        );
    }

    #[test]
    fn pip_program_forms() {
        let src = "RUN python3.11 -m pip install -U pip && python -m pip --no-cache-dir install x \
                   && pip3.11 install y && /opt/venv/bin/pip install z && uv pip install --system ruff \
                   && python3 -u -m pip install w && python -c 'import pip' && python script.py install q \
                   && pip download d && pipx install p && python3 -mpip install v";
        let all = installs(src);
        let got: Vec<_> = all
            .iter()
            .map(|i| (i.manager, i.program.value.as_str(), names(i)))
            .collect();
        assert_eq!(
            got,
            [
                (Manager::Pip, "python3.11 -m pip", vec!["pip"]),
                (Manager::Pip, "python -m pip", vec!["x"]),
                (Manager::Pip, "pip3.11", vec!["y"]),
                (Manager::Pip, "/opt/venv/bin/pip", vec!["z"]),
                (Manager::Uv, "uv", vec!["ruff"]),
                (Manager::Pip, "python3 -u -m pip", vec!["w"]),
                (Manager::Pip, "python3 -mpip", vec!["v"]),
            ]
        );
        assert_eq!(under(src, all[0].program.span), "python3.11 -m pip");
        assert!(all[1].has_flag(&["--no-cache-dir"]));
        assert_eq!(all[4].subcommand.as_ref().unwrap().value, "pip install");
        assert!(all[4].has_flag(&["--system"]));
    }

    #[test]
    fn packages_inside_shell_strings_and_wrappers() {
        let src = "RUN sh -c 'pip install flask' && sudo -E env PIP_NO_CACHE_DIR=1 pip3 install gunicorn \
                   && /bin/bash -ec \"apt-get install -y \\\"gcc\\\"\"";
        let all = installs(src);
        assert_eq!(all.len(), 3);
        assert_eq!(under(src, all[0].packages[0].name.span), "flask");
        assert_eq!(under(src, all[1].packages[0].name.span), "gunicorn");
        let environment = &all[1].environment;
        assert_eq!(environment.len(), 1);
        assert_eq!(under(src, environment[0].name.span), "PIP_NO_CACHE_DIR");
        assert_eq!(under(src, environment[0].value.span), "1");
        assert_eq!(under(src, all[2].packages[0].name.span), "gcc");
        assert_eq!(all[2].packages[0].command_index, 4);
        assert_eq!(under(src, all[0].span), "pip install flask");
    }

    #[test]
    fn packages_in_a_heredoc_body() {
        let src = "RUN <<EOF\nset -eux\napt-get install -y \\\n  build-essential\npip install --user black==24.1.0\nEOF\n";
        let start = src.find("set").unwrap();
        let end = src.rfind("EOF").unwrap();
        let script = parse_shell(&MappedText::contiguous(FILE, &src[start..end], start));
        let packages = package_installs(&script.commands);
        let got: Vec<_> = packages
            .iter()
            .map(|p| (p.manager, under(src, p.name.span)))
            .collect();
        assert_eq!(
            got,
            [(Manager::Apt, "build-essential"), (Manager::Pip, "black")]
        );
        let installs = install_commands(&script.commands);
        assert!(installs[1].has_flag(&["--user"]));
        assert_eq!(
            under(src, packages[1].version.as_ref().unwrap().span),
            "==24.1.0"
        );
    }

    #[test]
    fn conda_and_mamba() {
        let src = r#"RUN conda install -y -c conda-forge -n base numpy=1.26 "scipy>=1.10" conda-forge::pandas "matplotlib 3.8.*" python==3.11.7 && mamba create -p /opt/env python=3.11 && micromamba install -f env.yml -y polars && conda env list"#;
        let all = installs(src);
        assert_eq!(all.len(), 3);
        let conda = &all[0];
        assert_eq!(conda.manager, Manager::Conda);
        assert_eq!(
            names(conda),
            ["numpy", "scipy", "pandas", "matplotlib", "python"]
        );
        assert_eq!(
            conda.flag("-c").unwrap().value.as_ref().unwrap().value,
            "conda-forge"
        );
        assert_eq!(
            conda.flag("-n").unwrap().value.as_ref().unwrap().value,
            "base"
        );
        let numpy = package(conda, "numpy");
        assert_eq!(numpy.version.as_ref().unwrap().value, "=1.26");
        assert!(numpy.pinned);
        assert!(!package(conda, "scipy").pinned);
        let pandas = package(conda, "pandas");
        assert_eq!(under(src, pandas.name.span), "pandas");
        assert_eq!(
            under(src, pandas.qualifier.as_ref().unwrap().span),
            "conda-forge"
        );
        let matplotlib = package(conda, "matplotlib");
        assert_eq!(matplotlib.version.as_ref().unwrap().value, "3.8.*");
        assert!(!matplotlib.pinned);
        assert!(package(conda, "python").pinned);
        assert_eq!(all[1].manager, Manager::Mamba);
        assert_eq!(all[1].subcommand.as_ref().unwrap().value, "create");
        assert_eq!(names(&all[1]), ["python"]);
        assert_eq!(names(&all[2]), ["polars"]);
        assert_eq!(
            all[2].flag("-f").unwrap().value.as_ref().unwrap().value,
            "env.yml"
        );
    }

    #[test]
    fn npm_yarn_pnpm() {
        let src = "RUN npm install -g --production --registry https://r express@4.18.2 @types/node@20 @scope/pkg lodash ./local user/repo github:a/b \
                   && npm ci --omit dev && npm run build && yarn add react@^18.2.0 && yarn global add typescript \
                   && pnpm add -D vite@5.0.0 && pnpm install --frozen-lockfile && yarn --frozen-lockfile && yarn build && yarn --version";
        let all = installs(src);
        let got: Vec<_> = all
            .iter()
            .map(|i| {
                (
                    i.manager,
                    i.subcommand.as_ref().map(|s| s.value.as_str()),
                    names(i),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                (
                    Manager::Npm,
                    Some("install"),
                    vec!["express", "@types/node", "@scope/pkg", "lodash"]
                ),
                (Manager::Npm, Some("ci"), vec![]),
                (Manager::Yarn, Some("add"), vec!["react"]),
                (Manager::Yarn, Some("global add"), vec!["typescript"]),
                (Manager::Pnpm, Some("add"), vec!["vite"]),
                (Manager::Pnpm, Some("install"), vec![]),
                (Manager::Yarn, None, vec![]),
            ]
        );
        let npm = &all[0];
        assert!(npm.has_flag(&["-g"]) && npm.has_flag(&["--production"]));
        let express = package(npm, "express");
        assert!(express.pinned);
        assert_eq!(under(src, express.version.as_ref().unwrap().span), "4.18.2");
        let types = package(npm, "@types/node");
        assert_eq!(under(src, types.name.span), "@types/node");
        assert!(!types.pinned);
        let kinds: Vec<_> = npm.sources.iter().map(|s| s.kind).collect();
        assert_eq!(kinds, [SourceKind::Path, SourceKind::Vcs, SourceKind::Vcs]);
        assert_eq!(
            all[1].flag("--omit").unwrap().value.as_ref().unwrap().value,
            "dev"
        );
        assert!(!package(&all[2], "react").pinned);
        assert!(package(&all[4], "vite").pinned);
        assert!(all[6].has_flag(&["--frozen-lockfile"]));
    }

    #[test]
    fn manager_names_serialize_lowercase() {
        let names = [Manager::Apt, Manager::Microdnf, Manager::Uv, Manager::Pnpm];
        let json = serde_json::to_string(&names).unwrap();
        assert_eq!(json, r#"["apt","microdnf","uv","pnpm"]"#);
        for manager in names {
            assert_eq!(
                serde_json::to_string(&manager).unwrap(),
                format!("\"{}\"", manager.as_str())
            );
        }
    }

    proptest! {
        #[test]
        fn never_panics_and_spans_are_in_bounds(
            program in prop::sample::select(vec![
                "apt-get install", "apk add", "dnf install", "pip install", "python3 -m pip install",
                "uv pip install", "conda install", "micromamba create", "npm i", "yarn global add",
                "pnpm add", "sudo env A=1 pip3 -q install", "sh -c 'pip install",
            ]),
            arguments in prop::collection::vec(
                r#"(-[a-zA-Z]{1,3}|--[a-z-]{1,8}(=[a-z.]{0,4})?|[a-zA-Z0-9@/._:~=<>!\[\],;$#+'" -]{0,12}|é)"#,
                0..8,
            ),
        ) {
            let src = format!("RUN {program} {}", arguments.join(" "));
            let script = parse_shell(&run_body(&src));
            let check = |span: Span| -> Result<(), TestCaseError> {
                prop_assert!(span.start <= span.end && span.end as usize <= src.len());
                prop_assert!(src.is_char_boundary(span.start as usize));
                prop_assert!(src.is_char_boundary(span.end as usize));
                Ok(())
            };
            for install in install_commands(&script.commands) {
                check(install.span)?;
                check(install.program.span)?;
                for flag in &install.flags {
                    check(flag.span)?;
                    if let Some(value) = &flag.value { check(value.span)?; }
                }
                for package in &install.packages {
                    check(package.name.span)?;
                    // The span starts at the name's first character and ends at its last.
                    let underlined = &src[package.name.span.range()];
                    let name = &package.name.value;
                    prop_assert!(underlined.len() >= name.len());
                    prop_assert_eq!(underlined.chars().next(), name.chars().next());
                    prop_assert_eq!(underlined.chars().last(), name.chars().last());
                    for part in [&package.version, &package.marker, &package.qualifier].into_iter().flatten() {
                        check(part.span)?;
                    }
                }
                for file in &install.requirement_files { check(file.path.span)?; check(file.span)?; }
                for source in &install.sources {
                    check(source.target.span)?;
                    if let Some(name) = &source.name { check(name.span)?; }
                }
                for argument in install.variable_arguments.iter().chain(&install.unrecognized_arguments) {
                    check(argument.span)?;
                }
            }
        }
    }
}
