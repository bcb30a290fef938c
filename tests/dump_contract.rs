//! The contract of `dockpolicy dump`: the JSON layout other tools read, run through the built
//! binary on `examples/quickstart` and on small repositories written to temporary folders.
//! Every location is checked by the text it underlines, not only by its numbers.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

const BINARY: &str = env!("CARGO_BIN_EXE_dockpolicy");

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `dockpolicy` with `args` in the crate's folder.
fn run(args: &[&str]) -> Output {
    Command::new(BINARY)
        .args(args)
        .current_dir(manifest_dir())
        .output()
        .expect("the binary runs")
}

fn json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}); stderr:\n{}",
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The quickstart dump, checked to have exited 0 without diagnostics.
fn quickstart() -> Value {
    let output = run(&["dump", "examples/quickstart"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let dump = json(&output);
    assert_eq!(dump["diagnostics"], Value::Array(Vec::new()));
    dump
}

fn dockerfile<'a>(dump: &'a Value, path: &str) -> &'a Value {
    dump["dockerfiles"]
        .as_array()
        .expect("`dockerfiles` is an array")
        .iter()
        .find(|d| d["path"] == path)
        .unwrap_or_else(|| panic!("no dockerfile {path}"))
}

/// A resolved span as `(path, start_line, start_column, end_line, end_column, text)`.
fn location(span: &Value) -> (&str, u64, u64, u64, u64, &str) {
    (
        span["path"].as_str().expect("span path"),
        span["start_line"].as_u64().expect("start_line"),
        span["start_column"].as_u64().expect("start_column"),
        span["end_line"].as_u64().expect("end_line"),
        span["end_column"].as_u64().expect("end_column"),
        span["text"].as_str().expect("span text"),
    )
}

fn index(value: &Value) -> usize {
    usize::try_from(value.as_u64().expect("an index")).expect("fits")
}

#[test]
fn dockerfiles_are_listed_by_relative_slash_separated_path() {
    let dump = quickstart();
    let paths: Vec<&str> = dump["dockerfiles"]
        .as_array()
        .expect("`dockerfiles` is an array")
        .iter()
        .map(|d| d["path"].as_str().expect("path is a string"))
        .collect();
    assert_eq!(paths, ["api/Dockerfile", "worker/Dockerfile"]);
    assert_eq!(dump["version"], 1);

    // The same paths when the repository is named by an absolute path.
    let absolute = manifest_dir().join("examples/quickstart");
    let output = run(&["dump", absolute.to_str().expect("UTF-8 path")]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let dump = json(&output);
    let paths: Vec<&str> = dump["dockerfiles"]
        .as_array()
        .expect("array")
        .iter()
        .map(|d| d["path"].as_str().expect("path"))
        .collect();
    assert_eq!(paths, ["api/Dockerfile", "worker/Dockerfile"]);
    for dockerfile in dump["dockerfiles"].as_array().expect("array") {
        for instruction in dockerfile["instructions"].as_array().expect("array") {
            assert_eq!(instruction["span"]["path"], dockerfile["path"]);
        }
    }
}

#[test]
fn instructions_carry_keyword_lines_and_columns_as_buildkit_counts_them() {
    let dump = quickstart();
    let api = dockerfile(&dump, "api/Dockerfile");
    let rows: Vec<(&str, u64, u64, u64, u64)> = api["instructions"]
        .as_array()
        .expect("instructions")
        .iter()
        .map(|i| {
            (
                i["keyword"].as_str().expect("keyword"),
                i["start_line"].as_u64().expect("start_line"),
                i["end_line"].as_u64().expect("end_line"),
                i["start_column"].as_u64().expect("start_column"),
                i["end_column"].as_u64().expect("end_column"),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("ARG", 2, 2, 1, 24),
            ("FROM", 4, 4, 1, 43),
            ("ENV", 5, 5, 1, 36),
            ("WORKDIR", 6, 6, 1, 13),
            ("FROM", 9, 9, 1, 21),
            // A continued RUN spans all its lines.
            ("RUN", 10, 15, 1, 35),
            ("COPY", 16, 16, 1, 24),
            ("RUN", 17, 17, 1, 36),
            ("FROM", 20, 20, 1, 24),
            ("COPY", 21, 21, 1, 30),
            ("COPY", 22, 22, 1, 17),
            // A heredoc RUN ends at its terminator.
            ("RUN", 23, 26, 1, 4),
            ("CMD", 27, 27, 1, 33),
        ]
    );
    let instructions = api["instructions"].as_array().expect("instructions");
    let continued = &instructions[5];
    assert_eq!(
        location(&continued["span"]),
        (
            "api/Dockerfile",
            10,
            1,
            15,
            35,
            "RUN apt-get update \\\n    && apt-get install -y \\\n        build-essential \\\n        \
             libpq-dev \\\n        gcc \\\n    && rm -rf /var/lib/apt/lists/*"
        )
    );
    let heredoc = &instructions[11];
    assert_eq!(
        heredoc["span"]["text"],
        "RUN <<EOF\npip install gunicorn\npython -c \"import app\"\nEOF"
    );
    assert_eq!(
        location(&heredoc["heredocs"][0]["terminator_span"]),
        ("api/Dockerfile", 26, 1, 26, 4, "EOF")
    );
    assert_eq!(
        location(&instructions[8]["keyword_span"]),
        ("api/Dockerfile", 20, 1, 20, 5, "FROM")
    );

    let worker = dockerfile(&dump, "worker/Dockerfile");
    let keywords: Vec<&str> = worker["instructions"]
        .as_array()
        .expect("instructions")
        .iter()
        .map(|i| i["keyword"].as_str().expect("keyword"))
        .collect();
    assert_eq!(keywords, ["FROM", "RUN", "COPY", "RUN", "COPY", "CMD"]);
}

#[test]
fn keywords_are_upper_case_whatever_their_spelling() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        dir.path().join("Dockerfile"),
        "from alpine AS base\nRun apk add \\\n  curl\n",
    )
    .expect("write");
    let output = run(&["dump", dir.path().to_str().expect("UTF-8 path")]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let dump = json(&output);
    let instructions = dockerfile(&dump, "Dockerfile")["instructions"]
        .as_array()
        .expect("instructions");
    let keywords: Vec<(&str, &str)> = instructions
        .iter()
        .map(|i| {
            (
                i["keyword"].as_str().expect("keyword"),
                i["keyword_span"]["text"].as_str().expect("text"),
            )
        })
        .collect();
    assert_eq!(keywords, [("FROM", "from"), ("RUN", "Run")]);
    assert_eq!(instructions[1]["start_line"], 2);
    assert_eq!(instructions[1]["end_line"], 3);
}

#[test]
fn stages_carry_their_lineage() {
    let dump = quickstart();
    let api = dockerfile(&dump, "api/Dockerfile");
    let stages = api["stages"].as_array().expect("stages");
    let summary: Vec<(&str, Value, Value)> = stages
        .iter()
        .map(|s| {
            (
                s["name"]["value"].as_str().expect("stage name"),
                s["base_stage"].clone(),
                s["lineage"].clone(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("base", Value::Null, serde_json::json!([])),
            ("builder", serde_json::json!(0), serde_json::json!([0])),
            ("runtime", serde_json::json!(1), serde_json::json!([1, 0])),
        ]
    );
    assert_eq!(
        location(&stages[2]["name"]["span"]),
        ("api/Dockerfile", 20, 17, 20, 24, "runtime")
    );
    assert_eq!(
        location(&stages[2]["base"]["raw"]["span"]),
        ("api/Dockerfile", 20, 6, 20, 13, "builder")
    );
    assert_eq!(stages[0]["base"]["expanded"], "python:3.11-slim");
    assert_eq!(api["final_stage"], 2);
    // `COPY --from=builder` in the runtime stage names stage 1.
    let copies_from = stages[2]["copies_from"].as_array().expect("copies_from");
    assert_eq!(copies_from.len(), 1);
    assert_eq!(copies_from[0]["stage"], 1);
    assert_eq!(
        location(&copies_from[0]["source"]["span"]),
        ("api/Dockerfile", 21, 13, 21, 20, "builder")
    );

    let worker = dockerfile(&dump, "worker/Dockerfile");
    assert_eq!(worker["stages"][0]["lineage"], serde_json::json!([]));
    assert_eq!(worker["final_stage"], 0);
}

#[test]
fn packages_of_the_final_image_with_exact_locations() {
    let dump = quickstart();
    let api = dockerfile(&dump, "api/Dockerfile");
    let final_stage = index(&api["final_stage"]);
    let stage = &api["stages"][final_stage];
    let mut in_image: BTreeSet<usize> = BTreeSet::from([final_stage]);
    in_image.extend(
        stage["lineage"]
            .as_array()
            .expect("lineage")
            .iter()
            .map(index),
    );
    assert_eq!(in_image, BTreeSet::from([0, 1, 2]));

    let mut packages = Vec::new();
    for run in api["runs"].as_array().expect("runs") {
        if !in_image.contains(&index(&run["stage"])) {
            continue;
        }
        for install in run["installs"].as_array().expect("installs") {
            for package in install["packages"].as_array().expect("packages") {
                assert_eq!(package["name"]["span"], package["span"]);
                packages.push((
                    index(&run["stage"]),
                    package["manager"].as_str().expect("manager"),
                    package["name"]["value"].as_str().expect("name"),
                    location(&package["name"]["span"]),
                ));
            }
        }
    }
    let file = "api/Dockerfile";
    assert_eq!(
        packages,
        [
            (
                1,
                "apt",
                "build-essential",
                (file, 12, 9, 12, 24, "build-essential")
            ),
            (1, "apt", "libpq-dev", (file, 13, 9, 13, 18, "libpq-dev")),
            // The gcc of the builder stage ships in the runtime image.
            (1, "apt", "gcc", (file, 14, 9, 14, 12, "gcc")),
            // gunicorn is installed inside the heredoc of the runtime stage.
            (2, "pip", "gunicorn", (file, 24, 13, 24, 21, "gunicorn")),
        ]
    );

    // Each RUN names its instruction and stage; the heredoc install keeps its command span.
    let runs = api["runs"].as_array().expect("runs");
    let heredoc_run = runs
        .iter()
        .find(|r| r["instruction"] == 11)
        .expect("the heredoc RUN");
    assert_eq!(heredoc_run["stage"], 2);
    assert_eq!(
        location(&heredoc_run["installs"][0]["span"]),
        (file, 24, 1, 24, 21, "pip install gunicorn")
    );
    let apt_run = runs
        .iter()
        .find(|r| r["instruction"] == 5)
        .expect("apt RUN");
    assert_eq!(
        apt_run["installs"][0]["subcommand"]["span"]["text"],
        "install"
    );
    assert_eq!(apt_run["installs"][0]["program"]["span"]["text"], "apt-get");
}

#[test]
fn services_link_to_contexts_dockerfiles_and_image_stages() {
    let dump = quickstart();
    let services = dump["services"].as_array().expect("services");
    let mut linked = Vec::new();
    for service in services {
        let dockerfile = &dump["dockerfiles"][index(&service["dockerfile"])];
        let context = &dump["contexts"][index(&service["context"])];
        let stage = &dockerfile["stages"][index(&service["image_stage"])];
        assert_eq!(service["context_exists"], true);
        assert_eq!(service["dockerfile_exists"], true);
        // The Dockerfile is built with the service's context.
        assert_eq!(dockerfile["context"], service["context"]);
        linked.push((
            service["name"].as_str().expect("name"),
            context["path"].as_str().expect("context path"),
            dockerfile["path"].as_str().expect("dockerfile path"),
            stage["index"].as_u64().expect("stage index"),
            stage["name"]["value"].clone(),
        ));
    }
    assert_eq!(
        linked,
        [
            ("api", "api", "api/Dockerfile", 2, Value::from("runtime")),
            ("worker", "worker", "worker/Dockerfile", 0, Value::Null),
        ]
    );
    let project = &dump["compose_projects"][0];
    let api = &project["services"][index(&services[0]["service"])];
    assert_eq!(
        location(&api["name"]["span"]),
        ("compose.yaml", 3, 3, 3, 6, "api")
    );
    assert_eq!(
        location(&api["build"]["context"]["span"]),
        ("compose.yaml", 5, 16, 5, 21, "./api")
    );
    let worker = &project["services"][index(&services[1]["service"])];
    assert_eq!(
        location(&worker["build"]["context"]["span"]),
        ("compose.yaml", 15, 12, 15, 20, "./worker")
    );
    // The api context honours its .dockerignore.
    let api_context = &dump["contexts"][index(&services[0]["context"])];
    assert_eq!(api_context["dockerignore_path"], "api/.dockerignore");
}

#[test]
fn pip_install_r_links_to_the_requirements_file() {
    let dump = quickstart();
    let requirements = dump["requirements_files"]
        .as_array()
        .expect("requirements_files");
    for (path, image_path, copied_by, word) in [
        (
            "api/Dockerfile",
            "/srv/requirements.txt",
            6,
            ("api/Dockerfile", 17, 20, 17, 36, "requirements.txt"),
        ),
        (
            "worker/Dockerfile",
            "/tmp/requirements.txt",
            2,
            ("worker/Dockerfile", 4, 21, 4, 42, "/tmp/requirements.txt"),
        ),
    ] {
        let dockerfile = dockerfile(&dump, path);
        let links = dockerfile["pip_requirements"]
            .as_array()
            .expect("pip_requirements");
        assert_eq!(links.len(), 1, "{path}");
        let link = &links[0];
        assert_eq!(location(&link["path"]["span"]), word);
        assert_eq!(link["image_path"], image_path);
        assert_eq!(link["copied_by"], copied_by);
        assert_eq!(link["context_path"], "requirements.txt");
        assert_eq!(link["constraint"], false);
        let file = &requirements[index(&link["requirements_file"])];
        let folder = path.trim_end_matches("Dockerfile");
        assert_eq!(file["path"], format!("{folder}requirements.txt"));
        // `copied_by` is the COPY that put the file into the image.
        let copy = &dockerfile["instructions"][index(&link["copied_by"])];
        assert_eq!(copy["keyword"], "COPY");
    }
}

#[test]
fn var_overrides_compose_interpolation_defaults() {
    let image = |dump: &Value| dump["compose_projects"][0]["services"][0]["image"].clone();
    let dump = quickstart();
    assert_eq!(image(&dump)["value"], "example/api:latest");

    let output = run(&[
        "dump",
        "examples/quickstart",
        "--var",
        "TAG=2024.1",
        "--var",
        "PYTHON_VERSION=3.12",
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let dump = json(&output);
    let image = image(&dump);
    assert_eq!(image["value"], "example/api:2024.1");
    // The span still underlines what is written in the file.
    assert_eq!(
        location(&image["span"]),
        ("compose.yaml", 8, 12, 8, 38, "example/api:${TAG:-latest}")
    );
    let arg = &dump["compose_projects"][0]["services"][0]["build"]["args"][0];
    assert_eq!(arg["name"]["value"], "PYTHON_VERSION");
    assert_eq!(arg["value"]["value"], "3.12");
    assert_eq!(arg["value"]["span"]["text"], "${PYTHON_VERSION:-3.11}");
}

#[test]
fn output_file_receives_the_same_json() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("model.json");
    let output = run(&[
        "dump",
        "examples/quickstart",
        "-o",
        file.to_str().expect("UTF-8 path"),
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(output.stdout.is_empty(), "nothing is printed with -o");
    let written: Value =
        serde_json::from_slice(&std::fs::read(&file).expect("the file is written"))
            .expect("the file holds JSON");
    assert_eq!(written, quickstart());

    // `--output` is the long spelling; an unwritable target exits 2.
    let missing = dir.path().join("no/such/folder/model.json");
    let output = run(&[
        "dump",
        "examples/quickstart",
        "--output",
        missing.to_str().expect("UTF-8 path"),
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("cannot write"),
        "{}",
        stderr(&output)
    );
}

/// A repository with one malformed and one valid Dockerfile.
fn malformed_repository() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    std::fs::create_dir_all(root.join("bad")).expect("mkdir");
    std::fs::create_dir_all(root.join("good")).expect("mkdir");
    std::fs::write(
        root.join("bad/Dockerfile"),
        "FROM alpine\n  FOO bar\nRUN echo hi\n",
    )
    .expect("write");
    std::fs::write(
        root.join("good/Dockerfile"),
        "FROM alpine\nRUN apk add curl\nCMD [\"curl\"]\n",
    )
    .expect("write");
    dir
}

#[test]
fn malformed_dockerfile_exits_2_naming_file_line_and_column() {
    let dir = malformed_repository();
    let output = run(&["dump", dir.path().to_str().expect("UTF-8 path")]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    let text = stderr(&output);
    assert!(text.contains("error: unknown instruction: FOO"), "{text}");
    assert!(text.contains("bad/Dockerfile:2:3"), "{text}");
    assert!(text.contains("FOO bar"), "{text}");
    // The model is still printed, with the diagnostic and both files.
    let dump = json(&output);
    let diagnostics = dump["diagnostics"].as_array().expect("diagnostics");
    assert_eq!(diagnostics.len(), 1, "{diagnostics:?}");
    assert_eq!(diagnostics[0]["severity"], "error");
    assert_eq!(
        location(&diagnostics[0]["span"]),
        ("bad/Dockerfile", 2, 3, 2, 6, "FOO")
    );
    let good = dockerfile(&dump, "good/Dockerfile");
    assert_eq!(good["instructions"].as_array().expect("array").len(), 3);
    let bad = dockerfile(&dump, "bad/Dockerfile");
    let keywords: Vec<&str> = bad["instructions"]
        .as_array()
        .expect("array")
        .iter()
        .map(|i| i["keyword"].as_str().expect("keyword"))
        .collect();
    assert_eq!(keywords, ["FROM", "FOO", "RUN"]);
}

/// `dump` of `path` on `threads` rayon threads: its exit code, standard output and standard
/// error.
fn dump_on_threads(path: &Path, threads: usize) -> (Option<i32>, String, String) {
    let output = Command::new(BINARY)
        .args(["dump", path.to_str().expect("UTF-8 path")])
        .env("RAYON_NUM_THREADS", threads.to_string())
        .output()
        .expect("the binary runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    (output.status.code(), stdout, stderr(&output))
}

/// Loading parses Dockerfiles and splits RUNs in parallel: the model and the order of the
/// problems (file by file, in discovery order) are the same on any number of threads.
#[test]
fn the_model_and_its_problems_do_not_depend_on_the_number_of_threads() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    let files: [(&str, &[u8]); 5] = [
        (
            "a/Dockerfile",
            b"FROM alpine\n  FOO bar\nRUN echo 'unterminated\n",
        ),
        ("b/Dockerfile", b"FROM alpine\x00\nRUN true\n"),
        (
            "c/Dockerfile",
            b"COPY . .\nFROM alpine AS x\nFROM alpine AS x\n",
        ),
        (
            "d/Dockerfile",
            b"FROM python:3.12-slim\nRUN pip install flask && apt-get install -y gcc\n",
        ),
        ("e/Dockerfile", b"FROM alpine\nBAR baz\n"),
    ];
    for (path, bytes) in files {
        let path = root.join(path);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, bytes).expect("write");
    }
    let one = dump_on_threads(root, 1);
    assert_eq!(one.0, Some(2), "{}", one.2);
    let positions: Vec<usize> = [
        "a/Dockerfile",
        "b/Dockerfile",
        "c/Dockerfile",
        "e/Dockerfile",
    ]
    .iter()
    .map(|file| {
        one.2
            .find(file)
            .unwrap_or_else(|| panic!("{file} in {}", one.2))
    })
    .collect();
    assert!(positions.is_sorted(), "{positions:?}\n{}", one.2);
    assert_eq!(dump_on_threads(root, 4), one);
    for example in ["quickstart", "pc2", "acgs1", "size-demo"] {
        let path = manifest_dir().join("examples").join(example);
        assert_eq!(
            dump_on_threads(&path, 4),
            dump_on_threads(&path, 1),
            "{example}"
        );
    }
}

/// A Dockerfile's model as the `--build-arg` test compares it: its path, its base image, and
/// its build arguments with the text each is located at (or none).
type Model = (String, String, Vec<(String, Value)>);

/// `--build-arg` builds every Dockerfile that declares the `ARG` with the value, over a
/// compose service's `build.args`, as `docker compose build --build-arg` does.
#[test]
fn build_args_on_the_command_line_apply_to_every_dockerfile() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    let dockerfile = "ARG BASE=python:3.11\nARG TAG\nFROM ${BASE}-slim\nRUN true\n";
    let compose = "services:\n  svc:\n    build:\n      context: ./svc\n      args:\n        \
                   BASE: python:3.10\n        TAG: v1\n";
    for (path, text) in [
        ("compose.yaml", compose),
        ("svc/Dockerfile", dockerfile),
        ("solo/Dockerfile", dockerfile),
    ] {
        let path = root.join(path);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    }
    let root = root.to_str().expect("UTF-8 path");
    let models = |args: &[&str]| -> Vec<Model> {
        let output = run(&[&["dump", root][..], args].concat());
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
        let dump = json(&output);
        let mut models: Vec<Model> = dump["dockerfiles"]
            .as_array()
            .expect("dockerfiles")
            .iter()
            .map(|d| {
                let args = d["build_args"]
                    .as_array()
                    .expect("build_args")
                    .iter()
                    .map(|pair| {
                        let name = pair[0].as_str().expect("name").to_string();
                        let value = pair[1]["value"].as_str().expect("value");
                        (name, serde_json::json!([value, pair[1]["span"]["text"]]))
                    })
                    .collect();
                let base = d["stages"][0]["base"]["expanded"].as_str().expect("base");
                (
                    d["path"].as_str().expect("path").to_string(),
                    base.to_string(),
                    args,
                )
            })
            .collect();
        models.sort_by(|a, b| a.0.cmp(&b.0));
        models
    };
    let compose_only = models(&[]);
    assert_eq!(
        compose_only,
        [
            ("solo/Dockerfile".into(), "python:3.11-slim".into(), vec![]),
            (
                "svc/Dockerfile".into(),
                "python:3.10-slim".into(),
                vec![
                    (
                        "BASE".into(),
                        serde_json::json!(["python:3.10", "python:3.10"])
                    ),
                    ("TAG".into(), serde_json::json!(["v1", "v1"])),
                ]
            ),
        ]
    );
    let given = models(&[
        "--build-arg",
        "BASE=python:3.12",
        "--build-arg",
        "UNDECLARED=x",
    ]);
    assert_eq!(
        given,
        [
            (
                "solo/Dockerfile".into(),
                "python:3.12-slim".into(),
                vec![("BASE".into(), serde_json::json!(["python:3.12", null]))]
            ),
            (
                "svc/Dockerfile".into(),
                "python:3.12-slim".into(),
                vec![
                    ("BASE".into(), serde_json::json!(["python:3.12", null])),
                    ("TAG".into(), serde_json::json!(["v1", "v1"])),
                ]
            ),
        ]
    );
    let wrong = run(&["dump", root, "--build-arg", "NO_EQUALS_SIGN"]);
    assert_eq!(wrong.status.code(), Some(2));
}

#[test]
fn missing_path_exits_2() {
    let missing = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/no-such-repository");
    let output = run(&["dump", missing.to_str().expect("UTF-8 path")]);
    assert_eq!(output.status.code(), Some(2));
    let text = stderr(&output);
    assert!(text.contains("no-such-repository"), "{text}");
    assert!(text.contains("cannot read the path"), "{text}");
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        &["dump"][..],
        &["dump", "examples/quickstart", "--var", "NO_EQUALS_SIGN"],
        &["dump", "examples/quickstart", "--no-such-flag"],
        &["no-such-command"],
    ] {
        let output = run(args);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert!(output.stdout.is_empty(), "{args:?}");
        assert!(stderr(&output).contains("error"), "{args:?}");
    }
    let help = run(&["--help"]);
    assert_eq!(help.status.code(), Some(0));
}

#[test]
fn images_list_the_packages_of_each_built_image() {
    let dump = quickstart();
    let images = dump["images"].as_array().unwrap();
    let api = images.iter().find(|i| i["name"] == "api").unwrap();
    // runtime (2) is built FROM builder (1), built FROM base (0).
    assert_eq!(api["stages"], serde_json::json!([0, 1, 2]));
    let packages: Vec<(&str, u64, u64, u64, &str)> = api["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let (_, line, column, _, _, text) = location(&p["name"]["span"]);
            (
                p["manager"].as_str().unwrap(),
                p["stage"].as_u64().unwrap(),
                line,
                column,
                text,
            )
        })
        .collect();
    assert!(packages.contains(&("apt", 1, 14, 9, "gcc")), "{packages:?}");
    assert!(
        packages.contains(&("pip", 2, 24, 13, "gunicorn")),
        "{packages:?}"
    );
    let worker = images.iter().find(|i| i["name"] == "worker").unwrap();
    assert_eq!(worker["packages"][0]["name"]["value"], "python3-pip");
}
