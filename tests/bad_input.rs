//! Hostile and broken repositories through `load()`: binary and oversized files, pathological
//! nesting, YAML bombs, include cycles, symbolic-link loops, unreadable files and missing
//! build contexts. For each: no panic, no hang, a diagnostic that names the file (with line
//! and column when the problem is inside it), and the rest of the repository still modelled.

use std::path::Path;
use std::time::Instant;

use dockpolicy::diag::{Diagnostic, Severity};
use dockpolicy::model::context::{CopyOutcome, EntryKind};
use dockpolicy::parse::repository::{load, LoadOptions, Loaded};
use dockpolicy::report::{diagnostics, dump};

/// A valid Dockerfile put beside every broken input; it must always be modelled in full.
const SIBLING: &str = "FROM alpine:3.19\nRUN apk add --no-cache curl\nCOPY app.py /app/\nCMD [\"python\", \"/app/app.py\"]\n";
const SIBLING_INSTRUCTIONS: usize = 4;

/// A temporary repository holding the valid sibling at `ok/`.
fn repository() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    write(dir.path(), "ok/Dockerfile", SIBLING);
    write(dir.path(), "ok/app.py", "import requests\n");
    dir
}

fn write(root: &Path, rel: &str, contents: impl AsRef<[u8]>) {
    let path = root.join(rel);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("mkdir");
    }
    std::fs::write(path, contents).expect("write");
}

/// Loads `root`, reporting how long it took.
fn load_timed(root: &Path, what: &str) -> Loaded {
    let started = Instant::now();
    let loaded = load(root, &LoadOptions::default());
    eprintln!("{what}: loaded in {:?}", started.elapsed());
    assert_spans_inside_files(&loaded);
    loaded
}

/// Every diagnostic span lies inside its file, on character boundaries.
fn assert_spans_inside_files(loaded: &Loaded) {
    for diagnostic in &loaded.diagnostics {
        if let Some(span) = diagnostic.span {
            let file = loaded.sources.get(span.file).expect("span file is loaded");
            assert!(
                file.text.get(span.range()).is_some(),
                "{diagnostic:?} lies outside {}",
                file.rel_path
            );
        }
    }
}

/// The rendered diagnostics and the JSON dump are produced without panicking.
fn assert_reports(loaded: &Loaded) -> String {
    let rendered = diagnostics::render(&loaded.diagnostics, &loaded.sources);
    dump::dump(&loaded.repository, &loaded.diagnostics, &loaded.sources).expect("dump");
    rendered
}

fn assert_sibling_modelled(loaded: &Loaded) {
    let sibling = loaded
        .repository
        .dockerfiles
        .iter()
        .find(|d| d.path == "ok/Dockerfile")
        .expect("the valid sibling is modelled");
    assert_eq!(
        sibling.dockerfile.instructions.len(),
        SIBLING_INSTRUCTIONS,
        "{:?}",
        loaded.diagnostics
    );
    let curl: Vec<&str> = sibling
        .packages()
        .map(|(_, package)| loaded.sources.slice(package.name.span))
        .collect();
    assert_eq!(curl, ["curl"]);
    let copy = sibling.copies.first().expect("the COPY is modelled");
    let resolved = copy.sources[0].resolved.as_ref().expect("resolved");
    assert_eq!(resolved.files.len(), 1, "app.py is found in ok/");
}

/// Where a diagnostic points: file, line, column and the underlined text.
fn location(loaded: &Loaded, diagnostic: &Diagnostic) -> Option<(String, usize, usize, String)> {
    let span = diagnostic.span?;
    let file = loaded.sources.get(span.file)?;
    let (line, column) = file.line_column(span.range().start);
    Some((
        file.rel_path.clone(),
        line,
        column,
        file.slice(span).to_string(),
    ))
}

/// The diagnostics about the file `rel`: pointing into it, or naming it in the message.
fn diagnostics_about<'a>(loaded: &'a Loaded, rel: &str) -> Vec<&'a Diagnostic> {
    loaded
        .diagnostics
        .iter()
        .filter(|d| {
            location(loaded, d).is_some_and(|(path, ..)| path == rel) || d.message.contains(rel)
        })
        .collect()
}

/// The one diagnostic about `rel` whose message contains `needle`.
fn diagnostic<'a>(loaded: &'a Loaded, rel: &str, needle: &str) -> &'a Diagnostic {
    diagnostics_about(loaded, rel)
        .into_iter()
        .find(|d| d.message.contains(needle))
        .unwrap_or_else(|| {
            panic!(
                "no diagnostic about {rel} containing {needle:?}: {:#?}",
                loaded.diagnostics
            )
        })
}

/// Deterministic pseudo-random bytes (xorshift64).
fn random_bytes(len: usize, mut state: u64) -> Vec<u8> {
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state.to_le_bytes()[0]
        })
        .collect()
}

#[test]
fn random_bytes_named_dockerfile() {
    let dir = repository();
    let mut bytes = random_bytes(64 * 1024, 0x9E37_79B9_7F4A_7C15);
    bytes[100] = 0;
    write(dir.path(), "binary/Dockerfile", &bytes);
    // The same noise without NUL bytes is not binary: it is read as (invalid) UTF-8 text.
    let noise: Vec<u8> = random_bytes(64 * 1024, 42)
        .into_iter()
        .map(|b| b.max(1))
        .collect();
    write(dir.path(), "noise/Dockerfile", &noise);
    let loaded = load_timed(dir.path(), "random bytes");
    let binary = diagnostic(&loaded, "binary/Dockerfile", "binary");
    assert_eq!(binary.severity, Severity::Error);
    assert!(loaded
        .repository
        .dockerfiles
        .iter()
        .all(|d| d.path != "binary/Dockerfile"));
    let invalid = diagnostic(&loaded, "noise/Dockerfile", "not valid UTF-8");
    assert_eq!(invalid.severity, Severity::Warning);
    assert!(loaded
        .repository
        .dockerfiles
        .iter()
        .any(|d| d.path == "noise/Dockerfile"));
    assert_sibling_modelled(&loaded);
    let rendered = assert_reports(&loaded);
    assert!(rendered.contains("binary/Dockerfile"), "{rendered}");
}

#[test]
fn invalid_utf8_dockerfile_is_modelled_with_a_warning() {
    let dir = repository();
    write(
        dir.path(),
        "latin1/Dockerfile",
        b"FROM alpine\n# caf\xe9\nRUN echo caf\xe9 && apk add git\n",
    );
    let loaded = load_timed(dir.path(), "invalid UTF-8");
    let warning = diagnostic(&loaded, "latin1/Dockerfile", "not valid UTF-8");
    assert_eq!(warning.severity, Severity::Warning);
    let (path, line, column, _) = location(&loaded, warning).expect("points into the file");
    assert_eq!((path.as_str(), line, column), ("latin1/Dockerfile", 1, 1));
    let model = loaded
        .repository
        .dockerfiles
        .iter()
        .find(|d| d.path == "latin1/Dockerfile")
        .expect("modelled");
    assert_eq!(model.dockerfile.instructions.len(), 2);
    let run = &model.dockerfile.instructions[1];
    assert_eq!(
        loaded.sources.slice(run.span),
        "RUN echo caf\u{FFFD} && apk add git"
    );
    let git: Vec<&str> = model
        .packages()
        .map(|(_, p)| loaded.sources.slice(p.name.span))
        .collect();
    assert_eq!(git, ["git"]);
    assert!(!loaded.diagnostics.iter().any(Diagnostic::is_error));
    assert_sibling_modelled(&loaded);
    assert_reports(&loaded);
}

const FIFTY_MB: usize = 50 * 1024 * 1024;

#[test]
fn fifty_megabyte_single_line_dockerfile() {
    let dir = repository();
    let mut text = String::with_capacity(FIFTY_MB + 64);
    text.push_str("FROM alpine\nRUN apk add git && echo ");
    while text.len() < FIFTY_MB {
        text.push_str("abcdefghijklmnopqrstuvwxyz0123456789-");
    }
    text.push_str(" && apk add make\n");
    write(dir.path(), "huge/Dockerfile", &text);
    let run_len = text.len() - "FROM alpine\n".len() - 1;
    drop(text);
    let loaded = load_timed(dir.path(), "50 MB Dockerfile line");
    let model = loaded
        .repository
        .dockerfiles
        .iter()
        .find(|d| d.path == "huge/Dockerfile")
        .expect("modelled");
    assert_eq!(model.dockerfile.instructions.len(), 2);
    let run = &model.dockerfile.instructions[1];
    assert_eq!(run.span.len(), run_len);
    assert!(loaded.sources.slice(run.span).ends_with("&& apk add make"));
    let packages: Vec<(&str, usize, usize)> = model
        .packages()
        .map(|(_, p)| {
            let file = loaded.sources.get(p.name.span.file).expect("file");
            let (line, column) = file.line_column(p.name.span.range().start);
            (file.slice(p.name.span), line, column)
        })
        .collect();
    assert_eq!(packages.len(), 2);
    assert_eq!(packages[0], ("git", 2, 13));
    assert_eq!(packages[1].0, "make");
    assert_eq!(packages[1].1, 2);
    assert_sibling_modelled(&loaded);
}

#[test]
fn fifty_megabyte_requirements_line() {
    let dir = repository();
    let mut text = String::with_capacity(FIFTY_MB + 64);
    text.push_str("flask==3.0.0\nrequests[");
    while text.len() < FIFTY_MB {
        text.push_str("extra,");
    }
    text.push_str("last]>=2\nnumpy\n");
    write(dir.path(), "huge/requirements.txt", &text);
    drop(text);
    let loaded = load_timed(dir.path(), "50 MB requirements line");
    let model = loaded
        .repository
        .requirements_files
        .iter()
        .find(|r| r.path == "huge/requirements.txt")
        .expect("modelled");
    let names: Vec<&str> = model
        .requirements
        .requirements
        .iter()
        .filter_map(|r| r.name.as_ref())
        .map(|name| loaded.sources.slice(name.span))
        .collect();
    assert_eq!(names, ["flask", "numpy"]);
    // pep508_rs would copy the 50 MB string once per extra: refused at the `[` instead.
    let refused = diagnostic(&loaded, "huge/requirements.txt", "extras in a requirement");
    let (_, line, column, text) = location(&loaded, refused).expect("points into the file");
    assert_eq!((line, column, text.as_str()), (2, 9, "["));
    assert_sibling_modelled(&loaded);
}

#[test]
fn twenty_thousand_continuation_lines() {
    let dir = repository();
    let mut text = String::from("FROM debian\nRUN apt-get install -y \\\n");
    for i in 0..20_000 {
        text.push_str(&format!("    pkg{i} \\\n"));
    }
    text.push_str("    last\nCMD [\"bash\"]\n");
    write(dir.path(), "long/Dockerfile", &text);
    let loaded = load_timed(dir.path(), "20,000 continuation lines");
    let model = loaded
        .repository
        .dockerfiles
        .iter()
        .find(|d| d.path == "long/Dockerfile")
        .expect("modelled");
    assert_eq!(model.dockerfile.instructions.len(), 3);
    let run = &model.dockerfile.instructions[1];
    let lines = |span: dockpolicy::source::Span| {
        let file = loaded.sources.get(span.file).expect("file");
        let end = span.range().end.saturating_sub(1);
        (
            file.line_column(span.range().start).0,
            file.line_column(end).0,
        )
    };
    assert_eq!(lines(run.span), (2, 20_003));
    let packages: Vec<_> = model.packages().map(|(_, p)| p).collect();
    assert_eq!(packages.len(), 20_001);
    let file = loaded.sources.get(model.dockerfile.file).expect("file");
    let last = packages.last().expect("last");
    assert_eq!(file.slice(last.name.span), "last");
    assert_eq!(file.line_column(last.name.span.range().start), (20_003, 5));
    let middle = packages[12_345];
    assert_eq!(file.slice(middle.name.span), "pkg12345");
    assert_eq!(
        file.line_column(middle.name.span.range().start),
        (12_348, 5)
    );
    assert_eq!(
        lines(model.dockerfile.instructions[2].span),
        (20_004, 20_004)
    );
    assert_sibling_modelled(&loaded);
}

/// `s` as one single-quoted shell word.
fn single_quoted(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

#[test]
fn deeply_nested_quotes_and_sh_c_strings() {
    let dir = repository();
    // Quotes alternating 50 deep: `sh -c "sh -c 'sh -c "...'"` is not real nesting for a
    // shell, but it is what people write by mistake; it must not confuse the parser.
    let mut alternating = String::from("apk add curl");
    for level in 0..50 {
        let quote = if level % 2 == 0 { '\'' } else { '"' };
        alternating = format!("sh -c {quote}{alternating}{quote}");
    }
    // Real nesting, each level quoted for the next: beyond the parser's `sh -c` depth.
    let mut nested = String::from("pip install flask");
    for _ in 0..12 {
        nested = format!("sh -c {}", single_quoted(&nested));
    }
    // Real nesting within the bound: the innermost install is still found.
    let mut shallow = String::from("apk add jq");
    for _ in 0..6 {
        shallow = format!("sh -c {}", single_quoted(&shallow));
    }
    let text =
        format!("FROM alpine\nRUN {alternating}\nRUN {nested}\nRUN {shallow}\nRUN echo done\n");
    write(dir.path(), "quotes/Dockerfile", &text);
    let loaded = load_timed(dir.path(), "nested quotes");
    let model = loaded
        .repository
        .dockerfiles
        .iter()
        .find(|d| d.path == "quotes/Dockerfile")
        .expect("modelled");
    assert_eq!(model.dockerfile.instructions.len(), 5);
    let deep = diagnostic(&loaded, "quotes/Dockerfile", "nested more than");
    let (_, line, _, _) = location(&loaded, deep).expect("points into the file");
    assert_eq!(line, 3, "{deep:?}");
    let jq: Vec<(&str, usize)> = model
        .packages()
        .filter(|(run, _)| run.instruction == 3)
        .map(|(_, p)| {
            let file = loaded.sources.get(p.name.span.file).expect("file");
            (
                file.slice(p.name.span),
                file.line_column(p.name.span.range().start).0,
            )
        })
        .collect();
    assert_eq!(jq, [("jq", 4)]);
    assert_sibling_modelled(&loaded);
    assert_reports(&loaded);
}

#[test]
fn subshells_and_substitutions_nested_100k_deep() {
    let dir = repository();
    let depth = 100_000;
    let subshells = format!("{}apk add curl{}", "(".repeat(depth), ")".repeat(depth));
    let spaced = format!("{}apk add git{}", "( ".repeat(depth), " )".repeat(depth));
    let substitutions = format!("echo {}x{}", "$(".repeat(depth), ")".repeat(depth));
    let groups = format!("{}true{}", "{ ".repeat(depth), "; }".repeat(depth));
    let backticks = format!("echo {}", "`".repeat(depth));
    let text = format!(
        "FROM alpine\nRUN {subshells}\nRUN {spaced}\nRUN {substitutions}\nRUN {groups}\nRUN {backticks}\n"
    );
    write(dir.path(), "deep/Dockerfile", &text);
    let loaded = load_timed(dir.path(), "100k nested subshells");
    let model = loaded
        .repository
        .dockerfiles
        .iter()
        .find(|d| d.path == "deep/Dockerfile")
        .expect("modelled");
    assert_eq!(model.dockerfile.instructions.len(), 6);
    assert_eq!(model.runs.len(), 5);
    let deep = diagnostics_about(&loaded, "deep/Dockerfile");
    assert!(
        deep.iter().any(|d| d.message.contains("nested more than")),
        "{deep:#?}"
    );
    for diagnostic in &deep {
        let (_, line, _, _) = location(&loaded, diagnostic).expect("points into the file");
        assert!((2..=6).contains(&line), "{diagnostic:?}");
    }
    assert_sibling_modelled(&loaded);
}

/// A compose file at the root building the valid sibling, followed by `rest`.
fn compose_with(rest: &str) -> String {
    format!("services:\n  ok:\n    build: ./ok\n    image: example/ok\n{rest}")
}

/// The `ok` service of the root compose file builds `ok/Dockerfile` in the `ok` context.
fn assert_ok_service_linked(loaded: &Loaded) {
    let link = loaded
        .repository
        .services
        .iter()
        .find(|s| s.name == "ok")
        .expect("the ok service is modelled");
    let dockerfile = &loaded.repository.dockerfiles[link.dockerfile.expect("linked")];
    assert_eq!(dockerfile.path, "ok/Dockerfile");
    let context = &loaded.repository.contexts[link.context.expect("linked")];
    assert_eq!(context.path, "ok");
    assert_eq!(link.image_stage, Some(0));
}

#[test]
fn yaml_nesting_and_alias_bombs() {
    let dir = repository();
    // 100,000 nested flow sequences in one compose file.
    let nesting = compose_with(&format!(
        "  deep:\n    command: {}{}\n",
        "[".repeat(100_000),
        "]".repeat(100_000)
    ));
    write(dir.path(), "compose.yaml", &nesting);
    // A billion laughs in another project.
    let mut bomb = String::from("x-0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for level in 1..12 {
        let refs = vec![format!("*a{}", level - 1); 10].join(", ");
        bomb.push_str(&format!("x-{level}: &a{level} [{refs}]\n"));
    }
    bomb.push_str("services:\n  laughs:\n    image: lol\n    command: *a11\n");
    write(dir.path(), "bomb/compose.yaml", &bomb);
    let loaded = load_timed(dir.path(), "YAML bombs");

    // saphyr's own flow-nesting limit stops the scan first.
    let deep = diagnostic(&loaded, "compose.yaml", "recursion limit exceeded");
    assert!(deep.is_error());
    let (_, line, column, _) = location(&loaded, deep).expect("points into the file");
    assert_eq!(line, 6);
    assert!(column > 256, "column {column}");
    // Block mappings nested 2,000 deep stop at the model's own depth bound.
    let levels: String = (0..2_000)
        .map(|i| format!("{}k{i}:\n", " ".repeat(i + 4)))
        .collect();
    write(
        dir.path(),
        "block/compose.yaml",
        format!("services:\n  web:\n    image: nginx\n  nested:\n{levels}"),
    );
    let loaded = load_timed(dir.path(), "YAML bombs");
    let block = diagnostic(&loaded, "block/compose.yaml", "nesting is deeper than 256");
    let (_, line, column, _) = location(&loaded, block).expect("points into the file");
    assert_eq!((line, column), (259, 259));
    assert!(loaded
        .repository
        .compose_projects
        .iter()
        .any(|p| p.services.iter().any(|s| s.name.value == "web")));
    assert_ok_service_linked(&loaded);

    let laughs = diagnostic(&loaded, "bomb/compose.yaml", "expand to more than");
    let (_, line, column, text) = location(&loaded, laughs).expect("points into the file");
    // The budget runs out while the anchors themselves are being built.
    assert_eq!((line, column, text.as_str()), (5, 46, "*a3"));
    let project = loaded
        .repository
        .compose_projects
        .iter()
        .find(|p| p.services.iter().any(|s| s.name.value == "laughs"))
        .expect("the bomb's project is modelled");
    assert_eq!(
        project.services[0].image.as_ref().map(|i| i.value.as_str()),
        Some("lol")
    );
    assert_sibling_modelled(&loaded);
    assert_reports(&loaded);
}

#[test]
fn broken_yaml_reports_line_and_column_and_keeps_the_rest() {
    let dir = repository();
    write(
        dir.path(),
        "compose.yaml",
        compose_with("  bad: [unclosed\n  db:\n    image: postgres\n"),
    );
    write(
        dir.path(),
        "other/Dockerfile",
        "FROM python:3.12\nRUN pip install flask\n",
    );
    let loaded = load_timed(dir.path(), "broken YAML");
    let syntax = diagnostic(&loaded, "compose.yaml", "invalid YAML");
    assert!(syntax.is_error());
    let (path, line, column, _) = location(&loaded, syntax).expect("points into the file");
    assert_eq!((path.as_str(), line, column), ("compose.yaml", 6, 5));
    let wrong_type = diagnostic(&loaded, "compose.yaml", "`services.bad` must be a mapping");
    let (_, line, column, text) = location(&loaded, wrong_type).expect("points into the file");
    assert_eq!((line, column), (5, 8));
    assert!(text.starts_with("[unclosed"), "{text:?}");
    // The service before the error is modelled and linked; the Dockerfiles are all there.
    assert_ok_service_linked(&loaded);
    let other = loaded
        .repository
        .dockerfiles
        .iter()
        .find(|d| d.path == "other/Dockerfile")
        .expect("modelled");
    assert_eq!(other.dockerfile.instructions.len(), 2);
    assert_sibling_modelled(&loaded);
    let rendered = assert_reports(&loaded);
    assert!(rendered.contains("compose.yaml:6:5"), "{rendered}");
}

#[test]
fn requirements_include_cycle() {
    let dir = repository();
    write(
        dir.path(),
        "svc/requirements.txt",
        "-r requirements-dev.txt\nflask\n",
    );
    write(
        dir.path(),
        "svc/requirements-dev.txt",
        "pytest\n-r requirements.txt\n-r ./requirements-dev.txt\n",
    );
    write(
        dir.path(),
        "svc/Dockerfile",
        "FROM python:3.12\nCOPY requirements*.txt /srv/\nRUN pip install -r /srv/requirements-dev.txt\n",
    );
    let loaded = load_timed(dir.path(), "requirements cycle");
    let names = |path: &str| -> Vec<String> {
        let file = loaded
            .repository
            .requirements_files
            .iter()
            .find(|r| r.path == path)
            .unwrap_or_else(|| panic!("{path} is modelled"));
        file.requirements
            .requirements
            .iter()
            .filter_map(|r| r.name.as_ref())
            .map(|n| loaded.sources.slice(n.span).to_string())
            .collect()
    };
    assert_eq!(names("svc/requirements.txt"), ["flask"]);
    assert_eq!(names("svc/requirements-dev.txt"), ["pytest"]);
    let cycles: Vec<(String, usize, usize, String, &str)> = loaded
        .diagnostics
        .iter()
        .filter(|d| d.message.contains("includes itself"))
        .map(|d| {
            let (path, line, column, text) = location(&loaded, d).expect("points into the file");
            (path, line, column, text, d.message.as_str())
        })
        .collect();
    let dev = "svc/requirements-dev.txt";
    assert_eq!(
        cycles,
        [
            // requirements-dev.txt is read first (discovery sorts by name).
            (
                "svc/requirements.txt".to_string(),
                1,
                4,
                "requirements-dev.txt".to_string(),
                "`requirements-dev.txt` includes itself: svc/requirements-dev.txt -> svc/requirements.txt -> svc/requirements-dev.txt"
            ),
            (
                dev.to_string(),
                3,
                4,
                "./requirements-dev.txt".to_string(),
                "`./requirements-dev.txt` includes itself: svc/requirements-dev.txt -> svc/requirements-dev.txt"
            ),
        ]
    );
    // `pip install -r` in the Dockerfile is traced to the file in the cycle.
    let svc = loaded
        .repository
        .dockerfiles
        .iter()
        .find(|d| d.path == "svc/Dockerfile")
        .expect("modelled");
    let link = svc.pip_requirements.first().expect("traced");
    let file = &loaded.repository.requirements_files[link.requirements_file.expect("linked")];
    assert_eq!(file.path, "svc/requirements-dev.txt");
    assert_sibling_modelled(&loaded);
}

#[cfg(unix)]
#[test]
fn symlink_loops_in_the_tree_and_in_a_build_context() {
    use std::os::unix::fs::symlink;
    let dir = repository();
    let root = dir.path();
    write(
        root,
        "svc/Dockerfile",
        "FROM python:3.12\nCOPY . /app\nCOPY loop/app.py /srv/\nCOPY self/x /x\nRUN pip install -r /app/requirements.txt\n",
    );
    write(root, "svc/app.py", "import flask\n");
    write(root, "svc/requirements.txt", "flask\n");
    // A link to an ancestor (a cycle for anyone following links), a link to itself, and
    // two links pointing at each other.
    symlink(root, root.join("svc/loop")).expect("symlink");
    symlink("self", root.join("svc/self")).expect("symlink");
    symlink("pong", root.join("svc/ping")).expect("symlink");
    symlink("ping", root.join("svc/pong")).expect("symlink");
    symlink("..", root.join("ok/up")).expect("symlink");
    let loaded = load_timed(root, "symlink loops");
    let svc = loaded
        .repository
        .dockerfiles
        .iter()
        .find(|d| d.path == "svc/Dockerfile")
        .expect("modelled");
    assert_eq!(svc.dockerfile.instructions.len(), 5);
    let context = &loaded.repository.contexts[svc.context.expect("context")];
    assert_eq!(context.path, "svc");
    // The links are entries of the context, not followed into.
    let mut names: Vec<&str> = context
        .context
        .files
        .iter()
        .map(|f| f.rel_path.as_str())
        .collect();
    names.sort_unstable();
    assert!(names.len() < 20, "{names:?}");
    for expected in ["Dockerfile", "app.py", "requirements.txt"] {
        assert!(names.contains(&expected), "{names:?}");
    }
    // `pip install -r` is traced through `COPY . /app` although the context has loops.
    let link = svc.pip_requirements.first().expect("traced");
    assert_eq!(link.context_path.as_deref(), Some("requirements.txt"));
    // Discovery did not walk into the loops: each Dockerfile once.
    let mut paths: Vec<&str> = loaded
        .repository
        .dockerfiles
        .iter()
        .map(|d| d.path.as_str())
        .collect();
    paths.sort_unstable();
    assert_eq!(paths, ["ok/Dockerfile", "svc/Dockerfile"]);
    // The links are recorded as links with their targets, not followed.
    let links: Vec<(&str, Option<&str>)> = context
        .context
        .files
        .iter()
        .filter(|f| f.kind == EntryKind::Symlink)
        .map(|f| (f.rel_path.as_str(), f.link_target.as_deref()))
        .collect();
    assert_eq!(links.len(), 4, "{links:?}");
    assert!(links.contains(&("self", Some("self"))), "{links:?}");
    assert!(links.contains(&("ping", Some("pong"))), "{links:?}");
    // COPY through a link that leaves the context or loops finds nothing (BuildKit resolves
    // links inside the context root), and does not hang.
    let outcomes: Vec<(&str, CopyOutcome)> = svc
        .copies
        .iter()
        .map(|copy| {
            let resolved = copy.sources[0].resolved.as_ref().expect("resolved");
            (copy.sources[0].source.value.as_str(), resolved.outcome)
        })
        .collect();
    assert_eq!(
        outcomes,
        [
            (".", CopyOutcome::Found),
            ("loop/app.py", CopyOutcome::NotFound),
            ("self/x", CopyOutcome::NotFound),
        ]
    );
    assert_sibling_modelled(&loaded);
    assert_reports(&loaded);
}

#[test]
fn file_over_the_size_limit_is_refused() {
    let dir = repository();
    let path = dir.path().join("big/Dockerfile");
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    {
        use std::io::Write;
        let mut file = std::fs::File::create(&path).expect("create");
        file.write_all(b"FROM alpine\nRUN echo big\n")
            .expect("write");
        // Sparse: 65 MiB without writing them.
        file.set_len(65 * 1024 * 1024).expect("set_len");
    }
    write(dir.path(), "big/requirements.txt", "flask\n");
    let loaded = load_timed(dir.path(), "over 64 MiB");
    let refused = diagnostic(&loaded, "big/Dockerfile", "larger than 64 MiB");
    assert!(refused.is_error());
    assert!(loaded
        .repository
        .dockerfiles
        .iter()
        .all(|d| d.path != "big/Dockerfile"));
    // The requirements file beside it is read.
    assert!(loaded
        .repository
        .requirements_files
        .iter()
        .any(|r| r.path == "big/requirements.txt"));
    assert_sibling_modelled(&loaded);
    let rendered = assert_reports(&loaded);
    assert!(rendered.contains("big/Dockerfile"), "{rendered}");
}

#[cfg(unix)]
#[test]
fn unreadable_file_is_reported() {
    use std::os::unix::fs::PermissionsExt;
    let dir = repository();
    write(dir.path(), "locked/Dockerfile", "FROM alpine\n");
    write(dir.path(), "locked/requirements.txt", "flask\n");
    for name in ["Dockerfile", "requirements.txt"] {
        let path = dir.path().join("locked").join(name);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o000)).expect("chmod");
    }
    if std::fs::read(dir.path().join("locked/Dockerfile")).is_ok() {
        eprintln!("skipped: permissions are not enforced for this user (root)");
        return;
    }
    let loaded = load_timed(dir.path(), "unreadable");
    for rel in ["locked/Dockerfile", "locked/requirements.txt"] {
        let denied = diagnostic(&loaded, rel, "cannot read the file");
        assert!(denied.is_error());
        assert!(denied.message.contains("ermission denied"), "{denied:?}");
    }
    assert_sibling_modelled(&loaded);
    assert_reports(&loaded);
}

#[test]
fn missing_build_contexts() {
    let dir = repository();
    let root = dir.path();
    write(
        root,
        "app/Dockerfile",
        "FROM python:3.12\nCOPY requirements.txt /srv/\nCOPY --from=no-such-image /x /x\nRUN pip install -r /srv/requirements.txt\n",
    );
    write(root, "app/requirements.txt", "flask\n");
    let app_dockerfile = root.join("app/Dockerfile");
    write(
        root,
        "compose.yaml",
        compose_with(&format!(
            "  gone:\n    build: ./does-not-exist\n  elsewhere:\n    build:\n      context: ./missing\n      dockerfile: {}\n",
            app_dockerfile.display()
        )),
    );
    let loaded = load_timed(root, "missing contexts");
    let warnings: Vec<(usize, usize, String)> = loaded
        .diagnostics
        .iter()
        .filter(|d| d.message.contains("is not a folder that exists"))
        .map(|d| {
            let (path, line, column, text) = location(&loaded, d).expect("points into the file");
            assert_eq!(path, "compose.yaml");
            assert_eq!(d.severity, Severity::Warning);
            (line, column, text)
        })
        .collect();
    assert_eq!(
        warnings,
        [
            (6, 12, "./does-not-exist".to_string()),
            (9, 16, "./missing".to_string()),
        ]
    );
    let service = |name: &str| {
        loaded
            .repository
            .services
            .iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("service {name}"))
    };
    let gone = service("gone");
    assert!(!gone.context_exists && gone.context.is_none() && gone.dockerfile.is_none());
    // The service whose context is missing still links its (absolute) Dockerfile; the
    // Dockerfile's COPY is then resolved in its own folder.
    let elsewhere = service("elsewhere");
    assert!(!elsewhere.context_exists && elsewhere.context.is_none());
    assert!(elsewhere.dockerfile_exists);
    let app = &loaded.repository.dockerfiles[elsewhere.dockerfile.expect("linked")];
    assert_eq!(app.path, "app/Dockerfile");
    assert_eq!(app.dockerfile.instructions.len(), 4);
    assert_eq!(elsewhere.image_stage, Some(0));
    let resolved = app.copies[0].sources[0]
        .resolved
        .as_ref()
        .expect("resolved in app/");
    assert_eq!(resolved.files.len(), 1);
    // `COPY --from` an image is not resolved in any context.
    assert_eq!(app.copies[1].from_stage, None);
    assert!(app.copies[1].sources[0].resolved.is_none());
    assert_eq!(
        app.pip_requirements[0].context_path.as_deref(),
        Some("requirements.txt")
    );
    assert_ok_service_linked(&loaded);
    assert_sibling_modelled(&loaded);
    assert!(!loaded.diagnostics.iter().any(Diagnostic::is_error));
    let rendered = assert_reports(&loaded);
    assert!(rendered.contains("compose.yaml:6:12"), "{rendered}");
}
