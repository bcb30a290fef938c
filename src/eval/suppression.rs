//! Inline suppressions (SPEC.md §10.3): `#` comment lines in Dockerfiles, requirements,
//! compose and `.dockerignore` files that silence findings of named rules, with a required
//! reason.
//!
//! ```text
//! # dockpolicy ignore=DP1003,DP1005 -- the base image pins these itself
//! # dockpolicy ignore-stage=DP3002 -- the build stage runs as root on purpose
//! # dockpolicy ignore-file=DP2006 -- the context holds the model weights
//! ```
//!
//! `ignore` covers the next instruction of a Dockerfile (with its continuation lines; a
//! comment inside a `RUN` continuation, which BuildKit strips, also refers to the instruction
//! after it) or the next line of another file that is neither blank nor a comment; `ignore-stage`, written right before a `FROM`, the whole stage; `ignore-file` the
//! whole file. A finding is covered when its primary location starts in the region. Silenced
//! findings keep their place in the list with a [`Suppression`]; a suppression without a
//! reason is an error and silences nothing, one that silences nothing or names no loaded rule
//! is a warning.

use crate::diag::Diagnostic;
use crate::eval::engine::{Finding, Suppression, SuppressionKind};
use crate::lang::ast::Rule;
use crate::lang::schema::did_you_mean;
use crate::model::dockerfile::Dockerfile;
use crate::model::repository::Repository;
use crate::source::{FileId, Sources, Span};

/// What a suppression comment covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Form {
    Next,
    Stage,
    File,
}

impl Form {
    fn keyword(self) -> &'static str {
        match self {
            Form::Next => "ignore",
            Form::Stage => "ignore-stage",
            Form::File => "ignore-file",
        }
    }
}

/// The kind of file a comment is in, which decides what "next" means.
#[derive(Clone, Copy, Debug)]
enum FileKind<'m> {
    Dockerfile(&'m Dockerfile),
    /// A requirements, compose or `.dockerignore` file: line based.
    Lines,
}

/// One parsed suppression comment.
#[derive(Debug)]
struct Comment {
    form: Form,
    /// The comment from `#` to the end of its line.
    span: Span,
    /// The loaded rules it names: the ID (names are resolved to IDs), where it is written,
    /// and whether it silenced something.
    rules: Vec<(String, Span, bool)>,
    reason: Option<String>,
    /// Where a finding must start to be silenced; `None` when nothing follows.
    region: Option<Span>,
    /// Whether the comment is misplaced (an error already says so).
    misplaced: bool,
    /// Whether it is in a Dockerfile (where "next" means the next instruction).
    in_dockerfile: bool,
}

/// Reads the suppression comments of the repository's Dockerfiles, requirements, compose and
/// `.dockerignore` files, marks the findings they silence, and returns the problems with the comments.
pub fn apply_suppressions(
    findings: &mut [Finding],
    repository: &Repository,
    sources: &Sources,
    rules: &[&Rule],
) -> Vec<Diagnostic> {
    let mut diagnostics = Vec::new();
    let mut files: Vec<(FileId, FileKind<'_>)> = repository
        .dockerfiles
        .iter()
        .map(|d| (d.dockerfile.file, FileKind::Dockerfile(&d.dockerfile)))
        .collect();
    files.extend(
        repository
            .requirements_files
            .iter()
            .map(|r| (r.requirements.file, FileKind::Lines)),
    );
    for project in &repository.compose_projects {
        files.extend(project.files.iter().map(|&file| (file, FileKind::Lines)));
    }
    files.extend(
        repository
            .contexts
            .iter()
            .filter_map(|c| c.dockerignore.as_ref())
            .map(|ignore| (ignore.file, FileKind::Lines)),
    );
    files.sort_by_key(|(file, _)| *file);
    files.dedup_by_key(|(file, _)| *file);
    let mut comments = Vec::new();
    for (file, kind) in files {
        comments.extend(read_comments(file, kind, sources, rules, &mut diagnostics));
    }
    for finding in findings.iter_mut().filter(|f| f.suppression.is_none()) {
        let covering = comments.iter_mut().find(|comment| {
            comment.reason.is_some()
                && comment.region.is_some_and(|region| {
                    region.file == finding.span.file
                        && region.start <= finding.span.start
                        && finding.span.start < region.end
                })
                && comment
                    .rules
                    .iter()
                    .any(|(id, _, _)| **id == *finding.rule_id)
        });
        let Some(comment) = covering else {
            continue;
        };
        for (id, _, used) in &mut comment.rules {
            if **id == *finding.rule_id {
                *used = true;
            }
        }
        finding.suppression = Some(Suppression {
            kind: SuppressionKind::InSource,
            justification: comment.reason.clone().unwrap_or_default(),
            span: Some(comment.span),
        });
    }
    for comment in &comments {
        if comment.reason.is_none() || comment.misplaced {
            continue;
        }
        for (id, id_span, used) in &comment.rules {
            if !used {
                let place = match comment.form {
                    Form::Next if comment.in_dockerfile => "starts on the next instruction",
                    Form::Next => "starts on the next line",
                    Form::Stage => "starts in the next stage",
                    Form::File => "is in this file",
                };
                diagnostics.push(
                    Diagnostic::warning(format!(
                        "`# dockpolicy {}={id}` silences nothing: no {id} finding {place}",
                        comment.form.keyword()
                    ))
                    .with_span(*id_span)
                    .with_help("remove the suppression, or move it where the finding is"),
                );
            }
        }
    }
    diagnostics.sort_by_key(|d| d.span.map(|s| (s.file, s.start)));
    diagnostics
}

/// The suppression comments of one file, each with the region it covers.
fn read_comments(
    file: FileId,
    kind: FileKind<'_>,
    sources: &Sources,
    rules: &[&Rule],
    diagnostics: &mut Vec<Diagnostic>,
) -> Vec<Comment> {
    let Some(source) = sources.get(file) else {
        return Vec::new();
    };
    let text = source.text.as_str();
    let mut heredoc_bodies: Option<Vec<Span>> = None;
    let mut comments = Vec::new();
    // Only a line that holds `dockpolicy` can be a suppression: the lines are found by
    // searching for the word (most files have none), not by reading every line.
    let mut next_line_start = 0;
    for hit in memchr::memmem::find_iter(text.as_bytes(), b"dockpolicy") {
        if hit < next_line_start {
            continue;
        }
        let line_start = memchr::memrchr(b'\n', text.as_bytes().get(..hit).unwrap_or_default())
            .map_or(0, |newline| newline + 1);
        let line_end = memchr::memchr(b'\n', text.as_bytes().get(hit..).unwrap_or_default())
            .map_or(text.len(), |newline| hit + newline + 1);
        next_line_start = line_end;
        let line = text.get(line_start..line_end).unwrap_or_default();
        let content = line.trim_end_matches(['\n', '\r']);
        let trimmed = content.trim_start();
        let Some(body) = trimmed.strip_prefix('#') else {
            continue;
        };
        let Some(directive) = body.trim_start().strip_prefix("dockpolicy") else {
            continue;
        };
        if !(directive.is_empty() || directive.starts_with([' ', '\t'])) {
            continue;
        }
        let hash = line_start + (content.len() - trimmed.len());
        let span = Span::new(file, hash..line_start + content.trim_end().len());
        let heredoc_bodies = heredoc_bodies.get_or_insert_with(|| match kind {
            FileKind::Dockerfile(dockerfile) => dockerfile
                .instructions
                .iter()
                .flat_map(|i| i.heredocs.iter().map(|h| h.body.full_span()))
                .collect(),
            FileKind::Lines => Vec::new(),
        });
        if heredoc_bodies
            .iter()
            .any(|body| body.start <= span.start && span.start < body.end)
        {
            continue;
        }
        let Some(mut comment) = parse_comment(text, directive.trim(), span, rules, diagnostics)
        else {
            continue;
        };
        comment.in_dockerfile = matches!(kind, FileKind::Dockerfile(_));
        match region(&comment, kind, text, line_start + line.len()) {
            Ok(region) => comment.region = region,
            Err(problem) => {
                diagnostics.push(problem);
                comment.misplaced = true;
            }
        }
        comments.push(comment);
    }
    comments
}

/// Parses `ignore=ID[,ID…] -- reason`: `directive` is the text after `# dockpolicy`, a
/// slice of the file's `text`.
fn parse_comment(
    text: &str,
    directive: &str,
    span: Span,
    rules: &[&Rule],
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<Comment> {
    let (head, reason) = match directive.split_once("--") {
        Some((head, reason)) => (head.trim(), Some(reason.trim())),
        None => (directive, None),
    };
    let form = [Form::Stage, Form::File, Form::Next]
        .into_iter()
        .find(|form| {
            head.strip_prefix(form.keyword())
                .is_some_and(|rest| rest.trim_start().starts_with('='))
        });
    let Some(form) = form else {
        diagnostics.push(
            Diagnostic::warning("this `# dockpolicy` comment is not a suppression")
                .with_span(span)
                .with_help(
                    "write `# dockpolicy ignore=ID -- reason` (or `ignore-stage=`, `ignore-file=`)",
                ),
        );
        return None;
    };
    let ids = head
        .get(form.keyword().len()..)
        .unwrap_or("")
        .trim_start()
        .trim_start_matches('=');
    let mut resolved = Vec::new();
    for name in ids.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let start = offset_in(text, name);
        let name_span = Span::new(span.file, start..start + name.len());
        let rule = rules
            .iter()
            .find(|r| r.id.value.eq_ignore_ascii_case(name) || r.name.value == name);
        match rule {
            Some(rule) => resolved.push((rule.id.value.clone(), name_span, false)),
            None => {
                let candidates = rules
                    .iter()
                    .flat_map(|r| [r.id.value.as_str(), r.name.value.as_str()]);
                let diagnostic = Diagnostic::warning(format!(
                    "`# dockpolicy {}={name}` names no loaded rule",
                    form.keyword()
                ))
                .with_span(name_span);
                diagnostics.push(match did_you_mean(name, candidates) {
                    Some(close) => diagnostic.with_help(format!("did you mean `{close}`?")),
                    None => diagnostic.with_help("`dockpolicy rules` lists the rule IDs and names"),
                });
            }
        }
    }
    if resolved.is_empty() && ids.trim().is_empty() {
        diagnostics.push(
            Diagnostic::error("this suppression names no rule")
                .with_span(span)
                .with_help(format!(
                    "write `# dockpolicy {}=ID -- reason`; several IDs are separated by commas",
                    form.keyword()
                )),
        );
        return None;
    }
    let reason = reason.filter(|r| !r.is_empty()).map(str::to_string);
    if reason.is_none() {
        diagnostics.push(
            Diagnostic::error("this suppression has no reason, so it silences nothing")
                .with_span(span)
                .with_help(format!(
                    "say why after ` -- `: `# dockpolicy {}={} -- REASON`",
                    form.keyword(),
                    ids.trim()
                )),
        );
    }
    Some(Comment {
        form,
        span,
        rules: resolved,
        reason,
        region: None,
        misplaced: false,
        in_dockerfile: false,
    })
}

/// What a comment covers (`None`: nothing follows it), or why it is misplaced; `after` is
/// the offset of the line after the comment.
fn region(
    comment: &Comment,
    kind: FileKind<'_>,
    text: &str,
    after: usize,
) -> Result<Option<Span>, Diagnostic> {
    let file = comment.span.file;
    match (comment.form, kind) {
        (Form::File, _) => Ok(Some(Span::new(file, 0..text.len()))),
        (Form::Next, FileKind::Dockerfile(dockerfile)) => Ok(dockerfile
            .instructions
            .iter()
            .find(|i| i.span.start as usize >= after)
            .map(|i| i.span)),
        (Form::Stage, FileKind::Dockerfile(dockerfile)) => {
            let next = dockerfile
                .instructions
                .iter()
                .position(|i| i.span.start as usize >= after);
            let stage = next.and_then(|index| dockerfile.stages.iter().find(|s| s.from == index));
            let from = stage.and_then(|s| Some((s, dockerfile.instructions.get(s.from)?)));
            let Some((stage, from)) = from else {
                return Err(
                    Diagnostic::error("`ignore-stage` must come right before a `FROM`")
                        .with_span(comment.span)
                        .with_help(
                            "use `ignore=` for one instruction, `ignore-file=` for the whole file",
                        ),
                );
            };
            let last = stage
                .instructions
                .clone()
                .last()
                .and_then(|index| dockerfile.instructions.get(index))
                .map_or(from.span, |i| i.span);
            Ok(Some(from.span.cover(last)))
        }
        (Form::Stage, FileKind::Lines) => Err(Diagnostic::error(
            "`ignore-stage` works only in Dockerfiles",
        )
        .with_span(comment.span)
        .with_help("use `ignore=` for the next line, `ignore-file=` for the whole file")),
        (Form::Next, FileKind::Lines) => Ok(next_line(file, text, after)),
    }
}

/// The first line from `after` on that is neither blank nor a comment, with the lines a
/// trailing `\` continues it onto.
fn next_line(file: FileId, text: &str, after: usize) -> Option<Span> {
    let rest = text.get(after..)?;
    let mut offset = after;
    let mut start = None;
    for line in rest.split_inclusive('\n') {
        let line_start = offset;
        offset += line.len();
        let content = line.trim_end_matches(['\n', '\r']);
        if start.is_none() {
            let trimmed = content.trim_start();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            start = Some(line_start);
        }
        if !content.ends_with('\\') {
            return start.map(|s| Span::new(file, s..line_start + content.len()));
        }
    }
    start.map(|s| Span::new(file, s..text.len()))
}

/// Where `inner`, a slice of `outer`, starts in it.
fn offset_in(outer: &str, inner: &str) -> usize {
    (inner.as_ptr() as usize).saturating_sub(outer.as_ptr() as usize)
}
