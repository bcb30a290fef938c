//! Unit tests of the Dockerfile front end: spans pinned by the text they underline.

use proptest::prelude::*;

use super::*;
use crate::diag::Severity;
use crate::source::SourceFile;

fn parse(text: &str) -> ParsedDockerfile {
    parse_dockerfile(FileId(7), text)
}

fn under(text: &str, span: Span) -> &str {
    assert_eq!(span.file, FileId(7));
    &text[span.range()]
}

fn errors(parsed: &ParsedDockerfile) -> Vec<&str> {
    parsed
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| d.message.as_str())
        .collect()
}

fn lines(text: &str, span: Span) -> (usize, usize) {
    let source = SourceFile::new("Dockerfile".into(), "Dockerfile".into(), text.to_string());
    (
        source.line_column(span.start as usize).0,
        source.line_column((span.end as usize).saturating_sub(1)).0,
    )
}

#[test]
fn keyword_flags_and_values_underline_their_text() {
    let text = "FROM alpine\ncopy --from=build --chown=\"app:app\" --link a.txt /dst/\n";
    let parsed = parse(text);
    assert!(errors(&parsed).is_empty(), "{:?}", parsed.diagnostics);
    let copy = &parsed.dockerfile.instructions[1];
    assert_eq!(copy.keyword.value, "COPY");
    assert_eq!(under(text, copy.keyword.span), "copy");
    let flags: Vec<(&str, &str, Option<&str>)> = copy
        .flags
        .iter()
        .map(|f| {
            (
                under(text, f.span),
                under(text, f.name.span),
                f.value.as_ref().map(|v| under(text, v.span)),
            )
        })
        .collect();
    assert_eq!(
        flags,
        [
            ("--from=build", "from", Some("build")),
            ("--chown=\"app:app\"", "chown", Some("app:app")),
            ("--link", "link", None),
        ]
    );
    assert_eq!(
        copy.flag("chown")
            .and_then(|f| f.value.as_ref())
            .map(|v| v.value.as_str()),
        Some("app:app")
    );
    let values: Vec<&str> = copy.values.iter().map(|v| under(text, v.span)).collect();
    assert_eq!(values, ["a.txt", "/dst/"]);
    assert_eq!(
        under(text, copy.span),
        "copy --from=build --chown=\"app:app\" --link a.txt /dst/"
    );
}

#[test]
fn exec_form_values_underline_the_string_contents() {
    let text = "FROM alpine\nCMD [\"python\", \"-m\", \"app\"] # not a comment\n";
    let parsed = parse(text);
    let cmd = &parsed.dockerfile.instructions[1];
    assert_eq!(cmd.form, Form::Exec);
    let values: Vec<&str> = cmd.values.iter().map(|v| under(text, v.span)).collect();
    assert_eq!(values, ["python", "-m", "app"]);
}

#[test]
fn gcc_on_the_fifth_line_of_a_continued_run() {
    let text = concat!(
        "FROM debian\n",
        "RUN apt-get update \\\n",
        "    # install the toolchain\n",
        "    && apt-get install -y \\\n",
        "\n",
        "       gcc make \\\n",
        "    && rm -rf /var/lib/apt/lists/*\n",
    );
    let parsed = parse(text);
    let run = &parsed.dockerfile.instructions[1];
    let logical = &run.arguments.text;
    assert_eq!(
        logical,
        "apt-get update     && apt-get install -y        gcc make     && rm -rf /var/lib/apt/lists/*"
    );
    let at = logical.find("gcc").unwrap_or(0);
    let gcc = run.arguments.span(at..at + 3);
    assert_eq!(under(text, gcc), "gcc");
    assert_eq!(
        lines(text, gcc).0,
        6,
        "gcc is on the 5th line of the RUN (6th of the file)"
    );
    assert_eq!(lines(text, run.span), (2, 7));
    // Across removed continuation and empty lines the span covers what the user wrote.
    let y_gcc = run.arguments.span(logical.find("-y").unwrap_or(0)..at + 3);
    assert_eq!(under(text, y_gcc), "-y \\\n\n       gcc");
    // The empty line inside the continuation gives BuildKit's warning, pointing at it.
    let warning = parsed
        .diagnostics
        .iter()
        .find(|d| d.severity == Severity::Warning)
        .and_then(|d| d.span);
    assert_eq!(warning.map(|s| under(text, s)), Some("\n"));
}

#[test]
fn env_and_label_pairs() {
    let text = "FROM a\nENV A=1 B=\"two words\" \\\n  C=x\\ y\nLABEL maintainer John Doe\n";
    let parsed = parse(text);
    let env = &parsed.dockerfile.instructions[1];
    let pairs: Vec<(&str, &str)> = env
        .key_values()
        .into_iter()
        .map(|(k, v)| (under(text, k.span), under(text, v.span)))
        .collect();
    assert_eq!(pairs, [("A", "1"), ("B", "\"two words\""), ("C", "x\\ y")]);
    let values: Vec<&str> = env.values.iter().map(|v| v.value.as_str()).collect();
    assert_eq!(
        values,
        ["A", "1", "=", "B", "\"two words\"", "=", "C", "x\\ y", "="]
    );
    let label = &parsed.dockerfile.instructions[2];
    let values: Vec<&str> = label.values.iter().map(|v| v.value.as_str()).collect();
    assert_eq!(values, ["maintainer", "John Doe", ""]);
    assert_eq!(under(text, label.values[1].span), "John Doe");
}

#[test]
fn heredoc_bodies_and_markers() {
    let text = "FROM alpine\n\
RUN <<EOF cat <<-'END' > /x\n\
echo hi\n\
EOF\n\
\tline one\n\
\t\tline two\n\
\tEND\n\
COPY <<conf /etc/app.conf\n\
key=value\n\
conf\n";
    let parsed = parse(text);
    assert!(errors(&parsed).is_empty(), "{:?}", parsed.diagnostics);
    let run = &parsed.dockerfile.instructions[1];
    assert_eq!(run.heredocs.len(), 2);
    let first = &run.heredocs[0];
    assert_eq!(
        (first.name.value.as_str(), first.quoted, first.strip_tabs),
        ("EOF", false, false)
    );
    assert_eq!(under(text, first.marker_span), "<<EOF");
    assert_eq!(first.body.text, "echo hi\n");
    assert_eq!(under(text, first.body.full_span()), "echo hi\n");
    let second = &run.heredocs[1];
    assert_eq!(
        (second.name.value.as_str(), second.quoted, second.strip_tabs),
        ("END", true, true)
    );
    assert_eq!(under(text, second.marker_span), "<<-'END'");
    assert_eq!(under(text, second.name.span), "'END'");
    assert_eq!(second.body.text, "line one\nline two\n");
    let two = second.body.text.find("two").unwrap_or(0);
    assert_eq!(under(text, second.body.span(two..two + 3)), "two");
    assert_eq!(
        second.terminator_span.map(|s| under(text, s)),
        Some("\tEND")
    );
    assert_eq!(lines(text, run.span), (2, 7));
    assert_eq!(run.values[0].value, "<<EOF cat <<-'END' > /x");

    let copy = &parsed.dockerfile.instructions[2];
    assert_eq!(copy.heredocs[0].body.text, "key=value\n");
    let values: Vec<&str> = copy.values.iter().map(|v| v.value.as_str()).collect();
    assert_eq!(values, ["<<conf", "/etc/app.conf"]);
    assert_eq!(lines(text, copy.span), (8, 10));
}

#[test]
fn unterminated_heredoc_is_an_error_and_keeps_the_body() {
    let text = "FROM alpine\nRUN <<EOF\necho hi\n";
    let parsed = parse(text);
    assert_eq!(parsed.dockerfile.instructions.len(), 2);
    assert_eq!(
        parsed.dockerfile.instructions[1].heredocs[0].body.text,
        "echo hi\n"
    );
    let diagnostic = parsed.diagnostics.iter().find(|d| d.is_error());
    assert!(diagnostic.is_some_and(|d| d.message.starts_with("unterminated heredoc")));
    assert_eq!(
        diagnostic.and_then(|d| d.span).map(|s| under(text, s)),
        Some("<<EOF")
    );
}

#[test]
fn exec_form_runs_take_no_heredocs() {
    let text = "FROM alpine\nRUN [\"cat\", \"<<EOF\"]\nEOF\n";
    let parsed = parse(text);
    assert!(parsed.dockerfile.instructions[1].heredocs.is_empty());
    assert_eq!(parsed.dockerfile.instructions.len(), 3);
}

#[test]
fn stages_tags_aliases_and_lineage() {
    let text = "ARG CUDA=12.1\n\
ARG PY\n\
FROM --platform=$BUILDPLATFORM nvidia/cuda:${CUDA}-devel AS Builder\n\
RUN make\n\
FROM builder AS test\n\
FROM ghcr.io/org/python:3.12-slim@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa AS runtime\n\
COPY --from=test /out /app\n\
COPY --from=0 /a /b\n\
COPY --from=python:${PY} /c /d\n\
COPY --from=nginx:1.25 /e /f\n";
    let parsed = parse(text);
    assert!(errors(&parsed).is_empty(), "{:?}", parsed.diagnostics);
    let dockerfile = &parsed.dockerfile;
    assert_eq!(dockerfile.global_args, [0, 1]);
    assert_eq!(dockerfile.stages.len(), 3);

    let builder = &dockerfile.stages[0];
    let name = builder
        .name
        .as_ref()
        .map(|n| (n.value.as_str(), under(text, n.span)));
    assert_eq!(name, Some(("builder", "Builder")));
    assert_eq!(builder.base.expanded, "nvidia/cuda:12.1-devel");
    assert_eq!(builder.base.repository, "nvidia/cuda");
    assert!(!builder.base.unresolved);
    let tag = builder
        .base
        .tag
        .as_ref()
        .map(|t| (t.value.as_str(), under(text, t.span)));
    // A variable was substituted: the tag's span is the whole reference.
    assert_eq!(tag, Some(("12.1-devel", "nvidia/cuda:${CUDA}-devel")));
    assert_eq!(
        builder.platform.as_ref().map(|p| under(text, p.span)),
        Some("$BUILDPLATFORM")
    );
    assert_eq!(builder.instructions, 3..4);

    let test = &dockerfile.stages[1];
    assert_eq!(test.base_stage, Some(0));
    assert_eq!(test.lineage, [0]);

    let runtime = dockerfile.final_stage().expect("a final stage");
    assert_eq!(runtime.index, 2);
    assert_eq!(runtime.base.registry.as_deref(), Some("ghcr.io"));
    assert_eq!(runtime.base.repository, "org/python");
    assert_eq!(
        runtime.base.digest.as_deref(),
        Some("sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")
    );
    let tag = runtime.base.tag.as_ref().map(|t| under(text, t.span));
    assert_eq!(tag, Some("3.12-slim"));
    assert!(runtime.lineage.is_empty());
    type Resolved<'a> = (Option<usize>, Option<(&'a str, bool)>);
    let copies: Vec<Resolved> = runtime
        .copies_from
        .iter()
        .map(|c| {
            (
                c.stage,
                c.image
                    .as_ref()
                    .map(|i| (i.expanded.as_str(), i.unresolved)),
            )
        })
        .collect();
    assert_eq!(
        copies,
        [
            (Some(1), None),
            (Some(0), None),
            (None, Some(("python:${PY}", true))),
            (None, Some(("nginx:1.25", false))),
        ]
    );
    assert_eq!(under(text, runtime.copies_from[0].source.span), "test");
    assert_eq!(
        dockerfile.stage_by_name("RUNTIME").map(|s| s.index),
        Some(2)
    );
    assert_eq!(dockerfile.stage_of_instruction(3).map(|s| s.index), Some(0));
}

#[test]
fn scratch_and_instructions_before_from() {
    let text = "RUN echo early\nFROM scratch\nFROM alpine AS 1bad\nFOO bar\n";
    let parsed = parse(text);
    assert!(parsed.dockerfile.stages[0].base.is_scratch);
    let errors = errors(&parsed);
    assert!(errors
        .iter()
        .any(|e| e.starts_with("RUN comes before the first FROM")));
    assert!(errors
        .iter()
        .any(|e| e.starts_with("invalid name for build stage")));
    assert!(errors.contains(&"unknown instruction: FOO"));
}

#[test]
fn invalid_json_falls_back_to_shell_form_with_a_warning() {
    let text = "FROM a\nCMD ['echo', 'hi']\nCMD [\"a\", [\"b\"]]\n";
    let parsed = parse(text);
    let cmd = &parsed.dockerfile.instructions[1];
    assert_eq!(cmd.form, Form::Shell);
    assert_eq!(cmd.values[0].value, "['echo', 'hi']");
    assert!(parsed
        .diagnostics
        .iter()
        .any(|d| d.severity == Severity::Warning && d.message.contains("not a valid JSON array")));
    assert!(errors(&parsed)
        .contains(&"when using JSON array syntax, arrays must be comprised of strings only"));
}

#[test]
fn crlf_file() {
    let text = "FROM alpine\r\nRUN a \\\r\n  && b\r\nCMD [\"x\"]\r\n";
    let parsed = parse(text);
    let run = &parsed.dockerfile.instructions[1];
    assert_eq!(run.arguments.text, "a   && b");
    assert_eq!(under(text, run.span), "RUN a \\\r\n  && b");
    let b = run.arguments.text.len() - 1;
    assert_eq!(under(text, run.arguments.span(b..b + 1)), "b");
    assert_eq!(
        under(text, parsed.dockerfile.instructions[2].values[0].span),
        "x"
    );
    assert_eq!(lines(text, run.span), (2, 3));
}

#[test]
fn bom_file() {
    let text = "\u{FEFF}# syntax=docker/dockerfile:1\nFROM alpine\n";
    let parsed = parse(text);
    let directive = &parsed.dockerfile.directives[0];
    assert_eq!(under(text, directive.name.span), "syntax");
    assert_eq!(under(text, directive.value.span), "docker/dockerfile:1");
    let from = &parsed.dockerfile.instructions[0];
    assert_eq!(under(text, from.keyword.span), "FROM");
    assert_eq!(under(text, from.values[0].span), "alpine");
}

#[test]
fn backtick_escape() {
    let text = "# escape=`\nFROM mcr.microsoft.com/windows/servercore:ltsc2022\nRUN dir c:\\ `\n    && echo done\nCOPY a.txt c:\\app\\\n";
    let parsed = parse(text);
    assert_eq!(parsed.dockerfile.escape, '`');
    let run = &parsed.dockerfile.instructions[1];
    assert_eq!(run.arguments.text, "dir c:\\     && echo done");
    let done = run.arguments.text.find("done").unwrap_or(0);
    assert_eq!(under(text, run.arguments.span(done..done + 4)), "done");
    assert_eq!(lines(text, run.span), (3, 4));
    let copy = &parsed.dockerfile.instructions[2];
    let values: Vec<&str> = copy.values.iter().map(|v| under(text, v.span)).collect();
    assert_eq!(values, ["a.txt", "c:\\app\\"]);
    let tag = parsed.dockerfile.stages[0]
        .base
        .tag
        .as_ref()
        .map(|t| under(text, t.span));
    assert_eq!(tag, Some("ltsc2022"));
}

#[test]
fn directives_only_at_the_top() {
    let text = "# syntax=a\n# check=skip=all\n# escape=`\n# escape=\\\nFROM x\n";
    let parsed = parse(text);
    assert_eq!(
        errors(&parsed),
        ["only one escape parser directive can be used"]
    );
    let late = parse("FROM x\n# escape=`\nRUN a `\n");
    assert!(late.dockerfile.directives.is_empty());
    assert_eq!(late.dockerfile.escape, '\\');
    assert_eq!(late.dockerfile.instructions[1].arguments.text, "a `");
}

#[test]
fn onbuild_carries_its_trigger() {
    let text = "FROM a\nONBUILD COPY --from=b <<EOF /x\nhi\nEOF\nONBUILD FROM c\n";
    let parsed = parse(text);
    let onbuild = &parsed.dockerfile.instructions[1];
    let inner = onbuild.onbuild.as_deref().expect("a trigger");
    assert_eq!(under(text, inner.keyword.span), "COPY");
    assert_eq!(
        inner.flags[0].value.as_ref().map(|v| under(text, v.span)),
        Some("b")
    );
    assert_eq!(onbuild.heredocs[0].body.text, "hi\n");
    assert_eq!(inner.heredocs[0].body.text, "hi\n");
    assert_eq!(lines(text, onbuild.span), (2, 4));
    assert!(errors(&parsed).contains(&"FROM isn't allowed as an ONBUILD trigger"));
}

#[test]
fn empty_and_comment_only_files() {
    for text in ["", "# just a comment\n\n", "\u{FEFF}", "\\\n"] {
        let parsed = parse(text);
        assert!(!errors(&parsed).is_empty(), "{text:?}");
    }
}

/// Every span the parse produced, with what it belongs to.
fn all_spans(parsed: &ParsedDockerfile) -> Vec<Span> {
    fn instruction_spans(instruction: &Instruction, spans: &mut Vec<Span>) {
        spans.push(instruction.span);
        spans.push(instruction.keyword.span);
        spans.push(instruction.arguments.full_span());
        for flag in &instruction.flags {
            spans.extend([flag.span, flag.name.span]);
            spans.extend(flag.value.as_ref().map(|v| v.span));
        }
        spans.extend(instruction.values.iter().map(|v| v.span));
        for heredoc in &instruction.heredocs {
            spans.extend([
                heredoc.name.span,
                heredoc.marker_span,
                heredoc.body.full_span(),
            ]);
            spans.extend(heredoc.terminator_span);
        }
        if let Some(inner) = &instruction.onbuild {
            instruction_spans(inner, spans);
        }
    }
    let mut spans = Vec::new();
    let dockerfile = &parsed.dockerfile;
    for directive in &dockerfile.directives {
        spans.extend([directive.span, directive.name.span, directive.value.span]);
    }
    for instruction in &dockerfile.instructions {
        instruction_spans(instruction, &mut spans);
    }
    for stage in &dockerfile.stages {
        spans.extend(stage.name.as_ref().map(|n| n.span));
        spans.push(stage.base.raw.span);
        spans.extend(stage.base.tag.as_ref().map(|t| t.span));
        spans.extend(stage.platform.as_ref().map(|p| p.span));
        for copy in &stage.copies_from {
            spans.push(copy.source.span);
            spans.extend(
                copy.image
                    .as_ref()
                    .and_then(|i| i.tag.as_ref())
                    .map(|t| t.span),
            );
        }
    }
    spans.extend(parsed.diagnostics.iter().filter_map(|d| d.span));
    spans
}

fn assert_spans_valid(text: &str) {
    let parsed = parse(text);
    for span in all_spans(&parsed) {
        assert_eq!(span.file, FileId(7));
        assert!(
            span.start <= span.end && span.end as usize <= text.len(),
            "{span:?} in {text:?}"
        );
        assert!(
            text.get(span.range()).is_some(),
            "{span:?} not on char boundaries in {text:?}"
        );
    }
    for instruction in &parsed.dockerfile.instructions {
        // Every logical byte maps into the file.
        for (i, _) in instruction.arguments.text.char_indices() {
            let span = instruction.arguments.span(i..i + 1);
            assert!(span.end as usize <= text.len());
        }
    }
}

fn fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("FROM ".to_string()),
        Just("RUN ".to_string()),
        Just("copy ".to_string()),
        Just("ENV ".to_string()),
        Just("LABEL ".to_string()),
        Just("ONBUILD ".to_string()),
        Just("HEALTHCHECK CMD ".to_string()),
        Just("ARG ".to_string()),
        Just(" AS ".to_string()),
        Just("--from=".to_string()),
        Just("--mount=type=cache ".to_string()),
        Just("\\\n".to_string()),
        Just("`\n".to_string()),
        Just("\\ \t\r\n".to_string()),
        Just("\r\n".to_string()),
        Just("\n".to_string()),
        Just("<<EOF".to_string()),
        Just("<<-'EOF' ".to_string()),
        Just("\nEOF\n".to_string()),
        Just("\tEOF\n".to_string()),
        Just("\"".to_string()),
        Just("'".to_string()),
        Just("[\"a\", ".to_string()),
        Just("]".to_string()),
        Just("# escape=`\n".to_string()),
        Just("# c\n".to_string()),
        Just("#".to_string()),
        Just("$X ${Y:-z} ".to_string()),
        Just("a=b ".to_string()),
        Just("é\u{FFFD}\u{FEFF}\u{a0}".to_string()),
        "[a-z:/.@=-]{0,8}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn never_panics_on_random_text(text in "\\PC{0,200}") {
        assert_spans_valid(&text);
    }

    #[test]
    fn never_panics_on_dockerfile_fragments(parts in proptest::collection::vec(fragment(), 0..40)) {
        let text: String = parts.concat();
        assert_spans_valid(&text);
        let with_bom = format!("\u{FEFF}{text}");
        assert_spans_valid(&with_bom);
    }
}

#[test]
fn quirks_found_by_diffing_against_buildkit() {
    // extractBuilderFlags looks at bytes: a non-ASCII blank before `--` ends the flags.
    let parsed = parse("FROM a\nRUN \u{a0} --mount=type=cache,target=/x make\n");
    let run = &parsed.dockerfile.instructions[1];
    assert!(run.flags.is_empty());
    assert_eq!(run.values[0].value, "--mount=type=cache,target=/x make");
    // An empty delimiter is no heredoc; nothing after the line is swallowed.
    let parsed = parse("FROM a\nRUN cat <<\"\" x\nRUN b\n");
    assert_eq!(parsed.dockerfile.instructions.len(), 3);
    assert!(parsed.dockerfile.instructions[1].heredocs.is_empty());
    // HEALTHCHECK's type word also ends at an ASCII blank only.
    let parsed = parse("FROM a\nHEALTHCHECK CMD\u{a0}x\n");
    let values: Vec<&str> = parsed.dockerfile.instructions[1]
        .values
        .iter()
        .map(|v| v.value.as_str())
        .collect();
    assert_eq!(values, ["CMD\u{a0}x"]);
}
