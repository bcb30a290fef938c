//! What BuildKit's dispatcher derives from the parse tree: build stages (`FROM … AS name`),
//! global `ARG`s substituted into base images, `COPY --from` sources, and the argument
//! checks that make it reject an instruction the parser accepted.

use std::sync::LazyLock;

use regex::Regex;

use crate::diag::Diagnostic;
use crate::model::dockerfile::{arg_declaration, CopyFrom, Form, ImageRef, Instruction, Stage};
use crate::source::{Span, Spanned};

use super::instruction::is_known_keyword;

/// How deeply `${A:-${B:-…}}` defaults are expanded.
const MAX_EXPANSION_DEPTH: usize = 16;

/// A global `ARG`: its name and default value (expanded), `None` without a default.
type GlobalArg = (String, Option<String>);

/// Splits the instructions into stages; returns the indices of the global `ARG`s and the
/// stages. A build argument (name, value) replaces the default of the global `ARG`s of its
/// name, as BuildKit's `--build-arg` does: literally, not expanded. Reports instructions
/// BuildKit's dispatcher rejects.
pub(crate) fn build_stages(
    text: &str,
    instructions: &[Instruction],
    escape: char,
    build_args: &[(String, String)],
    diagnostics: &mut Vec<Diagnostic>,
) -> (Vec<usize>, Vec<Stage>) {
    let mut global_args = Vec::new();
    let mut vars: Vec<GlobalArg> = Vec::new();
    let mut stages: Vec<Stage> = Vec::new();
    for (index, instruction) in instructions.iter().enumerate() {
        check_instruction(instruction, diagnostics);
        if instruction.is("FROM") {
            if let Some(previous) = stages.last_mut() {
                previous.instructions.end = index;
            }
            let stage = new_stage(
                text,
                index,
                instruction,
                &stages,
                &vars,
                escape,
                diagnostics,
            );
            stages.push(stage);
        } else if stages.is_empty() {
            if instruction.is("ARG") {
                global_args.push(index);
                declare_args(instruction, escape, build_args, &mut vars);
            } else if is_known_keyword(&instruction.keyword.value) {
                diagnostics.push(
                    Diagnostic::error(format!(
                        "{} comes before the first FROM: only ARG may precede FROM",
                        instruction.keyword.value
                    ))
                    .with_span(instruction.keyword.span),
                );
            }
        }
    }
    if let Some(last) = stages.last_mut() {
        last.instructions.end = instructions.len();
    }
    resolve_copies(text, instructions, &mut stages, &vars, escape, diagnostics);
    for index in 0..stages.len() {
        let mut lineage = Vec::new();
        let mut current = stages.get(index).and_then(|s| s.base_stage);
        while let Some(base) = current {
            if lineage.len() >= stages.len() || base >= index {
                break;
            }
            lineage.push(base);
            current = stages.get(base).and_then(|s| s.base_stage);
        }
        if let Some(stage) = stages.get_mut(index) {
            stage.lineage = lineage;
        }
    }
    (global_args, stages)
}

fn declare_args(
    instruction: &Instruction,
    escape: char,
    build_args: &[(String, String)],
    vars: &mut Vec<GlobalArg>,
) {
    for word in &instruction.values {
        let (name, default) = arg_declaration(&word.value);
        let given = build_args.iter().find(|(arg, _)| arg == name);
        let value = match (given, default) {
            (Some((_, value)), _) => Some(value.clone()),
            (None, Some(default)) => {
                let mut expander = Expander::new(vars, escape);
                let expanded = expander.expand(default, 0);
                (!expander.unresolved).then_some(expanded)
            }
            (None, None) => None,
        };
        vars.retain(|(existing, _)| existing != name);
        vars.push((name.to_string(), value));
    }
}

fn new_stage(
    text: &str,
    index: usize,
    instruction: &Instruction,
    earlier: &[Stage],
    vars: &[GlobalArg],
    escape: char,
    diagnostics: &mut Vec<Diagnostic>,
) -> Stage {
    let values = &instruction.values;
    let mut name = None;
    match values.as_slice() {
        [_] => {}
        [_, keyword, alias] if keyword.value.eq_ignore_ascii_case("as") => {
            let lower = alias.value.to_lowercase();
            if !is_valid_stage_name(&lower) {
                diagnostics.push(
                    Diagnostic::error(format!(
                        "invalid name for build stage: {:?}, name can't start with a number or contain symbols",
                        alias.value
                    ))
                    .with_span(alias.span),
                );
            } else if earlier
                .iter()
                .any(|s| s.name.as_ref().is_some_and(|n| n.value == lower))
            {
                diagnostics.push(
                    Diagnostic::error(format!("duplicate stage name {lower:?}"))
                        .with_span(alias.span),
                );
            }
            name = Some(Spanned::new(lower, alias.span));
        }
        _ => diagnostics.push(
            Diagnostic::error("FROM requires either one or three arguments")
                .with_span(instruction.arguments.full_span()),
        ),
    }
    let raw = values
        .first()
        .cloned()
        .unwrap_or_else(|| Spanned::new(String::new(), instruction.arguments.full_span()));
    let base = image_ref(text, raw, vars, escape);
    let base_stage = earlier
        .iter()
        .position(|s| s.name.as_ref().is_some_and(|n| n.value == base.expanded));
    if base_stage.is_none() && !base.unresolved {
        if let Some(problem) = reference_problem(&base.expanded) {
            let substituted = base.expanded != base.raw.value;
            let message = if base.expanded.is_empty() {
                format!("base name ({}) should not be blank", base.raw.value)
            } else {
                format!("failed to parse stage name {:?}: {problem}", base.expanded)
            };
            diagnostics.push(
                Diagnostic::error(message)
                .with_span(base.raw.span)
                .with_help(if substituted {
                    "this is the reference after the `ARG`s are substituted; BuildKit stops the build here"
                } else {
                    "BuildKit stops the build here"
                }),
            );
        }
    }
    Stage {
        index: earlier.len(),
        name,
        from: index,
        instructions: index + 1..index + 1,
        base,
        platform: instruction.flag("platform").and_then(|f| f.value.clone()),
        base_stage,
        lineage: Vec::new(),
        copies_from: Vec::new(),
    }
}

/// An image reference as distribution/reference's `ReferenceRegexp` accepts it: an optional
/// domain (host names, IPv6 addresses, a port) followed by `/`, lower-case path components
/// joined by `.`, `_`, `__` or dashes (domain and path are group 1, the name), an optional
/// tag and an optional digest.
const REFERENCE: &str = concat!(
    r"^((?:(?:(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])",
    r"(?:\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*|\[[a-fA-F0-9:]+\])",
    r"(?::[0-9]+)?/)?",
    r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*)",
    r"(?::[a-zA-Z0-9_][a-zA-Z0-9_.-]{0,127})?",
    r"(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?$",
);

static REFERENCE_PATTERN: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(REFERENCE).ok());

/// Why `reference.ParseNormalizedNamed`, which BuildKit's dispatcher calls on a `FROM` that
/// names no stage, rejects `reference`; `None` when it accepts it.
fn reference_problem(reference: &str) -> Option<String> {
    if reference.is_empty() {
        return Some("base name should not be blank".to_string());
    }
    // `ParseNormalizedNamed` refuses a reference that is an image ID before it parses it.
    if reference.len() == 64 && reference.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Some(
            "invalid repository name, cannot specify 64-byte hexadecimal strings".to_string(),
        );
    }
    let pattern = REFERENCE_PATTERN.as_ref()?;
    if let Some(name) = pattern.captures(reference).and_then(|c| c.get(1)) {
        return (name.len() > 255)
            .then(|| "repository name must not be more than 255 characters".to_string());
    }
    let lower = reference.to_ascii_lowercase();
    if lower != reference && pattern.is_match(&lower) {
        return Some("invalid reference format: repository name must be lowercase".to_string());
    }
    Some("invalid reference format".to_string())
}

/// BuildKit's `validStageName`: `^[a-z][a-z0-9-_.]*$`.
fn is_valid_stage_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '.'))
}

fn resolve_copies(
    text: &str,
    instructions: &[Instruction],
    stages: &mut [Stage],
    vars: &[GlobalArg],
    escape: char,
    diagnostics: &mut Vec<Diagnostic>,
) {
    let names: Vec<Option<String>> = stages
        .iter()
        .map(|s| s.name.as_ref().map(|n| n.value.clone()))
        .collect();
    for stage in stages.iter_mut() {
        let range = stage.instructions.clone();
        for index in range {
            let Some(instruction) = instructions.get(index) else {
                continue;
            };
            if !instruction.is("COPY") {
                continue;
            }
            let Some(source) = instruction.flag("from").and_then(|f| f.value.clone()) else {
                continue;
            };
            let mut expander = Expander::new(vars, escape);
            let expanded = expander.expand(&source.value, 0);
            let mut copy = CopyFrom {
                instruction: index,
                source: source.clone(),
                stage: None,
                image: None,
            };
            if let Ok(number) = expanded.parse::<i64>() {
                match usize::try_from(number).ok().filter(|&n| n < names.len()) {
                    Some(n) if n == stage.index => diagnostics.push(
                        Diagnostic::error(format!(
                            "circular dependency: COPY --from={expanded} refers to its own stage"
                        ))
                        .with_span(source.span),
                    ),
                    Some(n) => copy.stage = Some(n),
                    None => diagnostics.push(
                        Diagnostic::error(format!("invalid stage index {number}"))
                            .with_span(source.span),
                    ),
                }
            } else {
                let lower = expanded.to_lowercase();
                match names
                    .iter()
                    .position(|n| n.as_deref() == Some(lower.as_str()))
                {
                    Some(n) if n == stage.index => diagnostics.push(
                        Diagnostic::error(format!(
                            "circular dependency: COPY --from={expanded} refers to its own stage"
                        ))
                        .with_span(source.span),
                    ),
                    Some(n) => copy.stage = Some(n),
                    None => copy.image = Some(image_ref(text, source, vars, escape)),
                }
            }
            stage.copies_from.push(copy);
        }
    }
}

/// Parses an image reference with Docker's grammar after substituting global `ARG`s.
fn image_ref(text: &str, raw: Spanned<String>, vars: &[GlobalArg], escape: char) -> ImageRef {
    let mut expander = Expander::new(vars, escape);
    let expanded = expander.expand(&raw.value, 0);
    let (name, digest) = match expanded.split_once('@') {
        Some((name, digest)) => (name, Some(digest.to_string())),
        None => (expanded.as_str(), None),
    };
    let last_slash = name.rfind('/');
    let tag_at = name
        .rfind(':')
        .filter(|&colon| last_slash.is_none_or(|slash| colon > slash));
    let (path, tag) = match tag_at {
        Some(colon) => (&name[..colon], Some((&name[colon + 1..], colon + 1))),
        None => (name, None),
    };
    let (registry, repository) = match path.split_once('/') {
        Some((first, rest))
            if first.contains('.') || first.contains(':') || first == "localhost" =>
        {
            (Some(first.to_string()), rest.to_string())
        }
        _ => (None, path.to_string()),
    };
    // The tag's own span, when the raw text in the file is the reference verbatim.
    let written_verbatim =
        !expander.substituted && text.get(raw.span.range()) == Some(raw.value.as_str());
    let tag = tag.map(|(tag, offset)| {
        let span = if written_verbatim {
            let start = raw.span.start as usize + offset;
            Span::new(raw.span.file, start..start + tag.len())
        } else {
            raw.span
        };
        Spanned::new(tag.to_string(), span)
    });
    ImageRef {
        is_scratch: expanded == "scratch",
        unresolved: expander.unresolved,
        registry,
        repository,
        tag,
        digest,
        expanded: expanded.clone(),
        raw,
    }
}

/// Substitutes global `ARG` defaults into a word as BuildKit's shell lexer does for `FROM`:
/// `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:+alt}`, `${VAR+alt}`,
/// quotes removed, escapes applied. Variables without a known value are kept as written and
/// mark the result unresolved.
struct Expander<'a> {
    vars: &'a [GlobalArg],
    escape: char,
    /// A variable, quote or escape changed the text.
    substituted: bool,
    unresolved: bool,
}

impl<'a> Expander<'a> {
    fn new(vars: &'a [GlobalArg], escape: char) -> Expander<'a> {
        Expander {
            vars,
            escape,
            substituted: false,
            unresolved: false,
        }
    }

    /// `Some(Some(value))` for an ARG with a default, `Some(None)` for one without.
    fn lookup(&self, name: &str) -> Option<Option<&str>> {
        self.vars
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_deref())
    }

    fn expand(&mut self, word: &str, depth: usize) -> String {
        let chars: Vec<char> = word.chars().collect();
        let mut out = String::new();
        let mut i = 0;
        while let Some(&c) = chars.get(i) {
            if c == self.escape {
                self.substituted = true;
                match chars.get(i + 1) {
                    Some(&next) => out.push(next),
                    None => out.push(c),
                }
                i += 2;
            } else if c == '\'' {
                self.substituted = true;
                i += 1;
                while let Some(&q) = chars.get(i) {
                    i += 1;
                    if q == '\'' {
                        break;
                    }
                    out.push(q);
                }
            } else if c == '"' {
                self.substituted = true;
                i += 1;
                while let Some(&q) = chars.get(i) {
                    if q == '"' {
                        i += 1;
                        break;
                    }
                    if q == self.escape
                        && chars
                            .get(i + 1)
                            .is_some_and(|&n| n == '"' || n == '$' || n == self.escape)
                    {
                        out.extend(chars.get(i + 1));
                        i += 2;
                    } else if q == '$' {
                        i = self.variable(&chars, i, depth, &mut out);
                    } else {
                        out.push(q);
                        i += 1;
                    }
                }
            } else if c == '$' {
                i = self.variable(&chars, i, depth, &mut out);
            } else {
                out.push(c);
                i += 1;
            }
        }
        out
    }

    /// Expands the variable reference at `chars[start]` (a `$`) into `out`; returns the index
    /// after it.
    fn variable(&mut self, chars: &[char], start: usize, depth: usize, out: &mut String) -> usize {
        let is_name_char = |c: &char| c.is_ascii_alphanumeric() || *c == '_';
        match chars.get(start + 1) {
            Some('{') => {
                let mut nesting = 0usize;
                let mut close = None;
                for (offset, c) in chars.iter().enumerate().skip(start + 2) {
                    match c {
                        '{' => nesting += 1,
                        '}' if nesting == 0 => {
                            close = Some(offset);
                            break;
                        }
                        '}' => nesting -= 1,
                        _ => {}
                    }
                }
                let Some(close) = close else {
                    self.unresolved = true;
                    out.extend(chars.get(start..).unwrap_or(&[]));
                    return chars.len();
                };
                let inner = chars.get(start + 2..close).unwrap_or(&[]);
                let name_len = inner.iter().take_while(|c| is_name_char(c)).count();
                let name: String = inner.iter().take(name_len).collect();
                let rest: String = inner.iter().skip(name_len).collect();
                let original: String = chars.get(start..=close).unwrap_or(&[]).iter().collect();
                self.substitute(&name, &rest, &original, depth, out);
                close + 1
            }
            Some(c) if c.is_ascii_alphabetic() || *c == '_' => {
                let name_len = chars
                    .get(start + 1..)
                    .unwrap_or(&[])
                    .iter()
                    .take_while(|c| is_name_char(c))
                    .count();
                let name: String = chars
                    .get(start + 1..start + 1 + name_len)
                    .unwrap_or(&[])
                    .iter()
                    .collect();
                self.substitute(&name, "", &format!("${name}"), depth, out);
                start + 1 + name_len
            }
            _ => {
                out.push('$');
                start + 1
            }
        }
    }

    fn substitute(
        &mut self,
        name: &str,
        modifier: &str,
        original: &str,
        depth: usize,
        out: &mut String,
    ) {
        self.substituted = true;
        let value = self.lookup(name).flatten().map(str::to_string);
        let (operator, word) = [":-", ":+", ":?", "-", "+", "?"]
            .iter()
            .find_map(|op| modifier.strip_prefix(op).map(|w| (*op, w)))
            .unwrap_or(("", modifier));
        if operator.is_empty() && !modifier.is_empty() {
            // Pattern operations (`${V#x}`, `${V/x/y}`) are not evaluated.
            self.unresolved = true;
            out.push_str(original);
            return;
        }
        let use_word = match operator {
            ":-" => value.as_deref().is_none_or(str::is_empty),
            "-" => value.is_none(),
            ":+" => value.as_deref().is_some_and(|v| !v.is_empty()),
            "+" => value.is_some(),
            _ => false,
        };
        if use_word {
            if depth >= MAX_EXPANSION_DEPTH {
                self.unresolved = true;
                out.push_str(word);
            } else {
                let expanded = self.expand(word, depth + 1);
                out.push_str(&expanded);
            }
        } else if matches!(operator, ":+" | "+") {
            // The alternative is not used: the result is empty.
        } else if matches!(operator, ":-" | "-") {
            out.push_str(value.as_deref().unwrap_or(""));
        } else if let Some(value) = value {
            out.push_str(&value);
        } else {
            self.unresolved = true;
            out.push_str(original);
        }
    }
}

/// The argument checks of BuildKit's instruction parsers (`instructions/parse.go`).
fn check_instruction(instruction: &Instruction, diagnostics: &mut Vec<Diagnostic>) {
    let keyword = instruction.keyword.value.as_str();
    let count = instruction.values.len();
    let mut error = |message: String| {
        diagnostics.push(Diagnostic::error(message).with_span(instruction.span));
    };
    match keyword {
        "COPY" | "ADD" if count < 2 && (count == 1 || instruction.form == Form::Shell) => error(format!(
            "{keyword} requires at least two arguments, but only one was provided. Destination could not be determined"
        )),
        "USER" | "WORKDIR" | "STOPSIGNAL" | "MAINTAINER" if count != 1 => {
            error(format!("{keyword} requires exactly one argument"))
        }
        "ARG" | "EXPOSE" | "VOLUME" | "ENV" | "LABEL" | "ONBUILD" | "FROM" | "HEALTHCHECK"
            if count == 0 && instruction.onbuild.is_none() && instruction.arguments.is_empty() =>
        {
            error(format!("{keyword} requires at least one argument"))
        }
        "SHELL" if instruction.form != Form::Exec => {
            error("SHELL requires the arguments to be in JSON form".to_string())
        }
        "HEALTHCHECK" => match instruction.values.first().map(|v| v.value.to_uppercase()) {
            Some(kind) if kind == "NONE" && count > 1 => {
                error("HEALTHCHECK NONE takes no arguments".to_string())
            }
            Some(kind) if kind == "CMD" && count < 2 => {
                error("Missing command after HEALTHCHECK CMD".to_string())
            }
            Some(kind) if kind != "NONE" && kind != "CMD" => error(format!(
                "Unknown type {kind:?} in HEALTHCHECK (try CMD)"
            )),
            _ => {}
        },
        _ => {}
    }
    if let Some(inner) = &instruction.onbuild {
        match inner.keyword.value.as_str() {
            "ONBUILD" => error("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed".to_string()),
            "FROM" | "MAINTAINER" => error(format!(
                "{} isn't allowed as an ONBUILD trigger",
                inner.keyword.value
            )),
            _ => {}
        }
        check_instruction(inner, diagnostics);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::FileId;

    /// Each problem's message and the text of `text` it underlines.
    fn problems<'t>(text: &'t str, diagnostics: &'t [Diagnostic]) -> Vec<(&'t str, &'t str)> {
        diagnostics
            .iter()
            .map(|d| {
                let span = d.span.unwrap_or(Span::point(FileId(0), 0));
                (d.message.as_str(), &text[span.range()])
            })
            .collect()
    }

    fn expand(word: &str, vars: &[(&str, Option<&str>)]) -> (String, bool) {
        let vars: Vec<GlobalArg> = vars
            .iter()
            .map(|(n, v)| (n.to_string(), v.map(str::to_string)))
            .collect();
        let mut expander = Expander::new(&vars, '\\');
        let out = expander.expand(word, 0);
        (out, expander.unresolved)
    }

    #[test]
    fn expands_global_args() {
        let vars = [("V", Some("3.19")), ("E", Some("")), ("U", None)];
        assert_eq!(expand("alpine:$V", &vars), ("alpine:3.19".into(), false));
        assert_eq!(expand("alpine:${V}", &vars), ("alpine:3.19".into(), false));
        assert_eq!(expand("a:${U:-1.0}", &vars), ("a:1.0".into(), false));
        assert_eq!(expand("a:${E:-x}", &vars), ("a:x".into(), false));
        assert_eq!(expand("a:${E-x}", &vars), ("a:".into(), false));
        assert_eq!(expand("a${V:+-slim}", &vars), ("a-slim".into(), false));
        assert_eq!(expand("a${U:+-slim}", &vars), ("a".into(), false));
        assert_eq!(expand("${U}/img", &vars), ("${U}/img".into(), true));
        assert_eq!(expand("$NOPE", &vars), ("$NOPE".into(), true));
        assert_eq!(expand("\"x\"'y'", &vars), ("xy".into(), false));
        assert_eq!(expand("${A:-${V}}", &vars), ("3.19".into(), false));
    }

    #[test]
    fn build_arguments_replace_the_defaults_of_global_args_literally() {
        let text = "ARG BASE=python:3.12-slim\nARG TAG\nARG KEEP=3.19\n\
                    FROM ${BASE} AS app\nFROM ubuntu:${TAG}\nFROM alpine:${KEEP}\n";
        let args = [
            ("BASE".to_string(), "nvidia/cuda:12.3.1-devel".to_string()),
            ("TAG".to_string(), "${KEEP}".to_string()),
            ("UNDECLARED".to_string(), "x".to_string()),
        ];
        let parsed = super::super::parse_dockerfile_with_args(FileId(0), text, &args);
        // `${KEEP}`, given literally, is no image reference: BuildKit stops there.
        assert_eq!(
            problems(text, &parsed.diagnostics),
            [(
                "failed to parse stage name \"ubuntu:${KEEP}\": invalid reference format",
                "ubuntu:${TAG}"
            )]
        );
        let bases: Vec<(&str, &str, bool)> = parsed
            .dockerfile
            .stages
            .iter()
            .map(|s| {
                let base = &s.base;
                (
                    &text[base.raw.span.range()],
                    base.expanded.as_str(),
                    base.unresolved,
                )
            })
            .collect();
        assert_eq!(
            bases,
            [
                ("${BASE}", "nvidia/cuda:12.3.1-devel", false),
                // The value is taken as given, not expanded again.
                ("ubuntu:${TAG}", "ubuntu:${KEEP}", false),
                ("alpine:${KEEP}", "alpine:3.19", false),
            ]
        );
        let cuda = &parsed.dockerfile.stages[0].base;
        let tag = cuda.tag.as_ref().map(|t| &text[t.span.range()]);
        // The tag came from the argument: it is underlined where the reference is written.
        assert_eq!(
            (cuda.repository.as_str(), tag),
            ("nvidia/cuda", Some("${BASE}"))
        );

        let defaults = super::super::parse_dockerfile(FileId(0), text);
        let expanded: Vec<&str> = defaults
            .dockerfile
            .stages
            .iter()
            .map(|s| s.base.expanded.as_str())
            .collect();
        assert_eq!(
            expanded,
            ["python:3.12-slim", "ubuntu:${TAG}", "alpine:3.19"]
        );
    }

    proptest::proptest! {
        /// A build argument replaces its `ARG`'s default as written: passing the defaults
        /// changes nothing, and another value appears in the reference as given.
        #[test]
        fn build_arguments_are_substituted_as_given(
            a in "[a-z0-9.]{1,8}",
            b in "[a-z0-9.]{0,8}",
            given in "[a-z0-9.$}{-]{0,10}",
            stage_alias in proptest::bool::ANY,
        ) {
            let alias = if stage_alias { " AS app" } else { "" };
            let text = format!("ARG A={a}\nARG B={b}\nFROM img:${{A}}-${{B}}{alias}\nRUN true\n");
            let parse = |args: &[(&str, &str)]| {
                let args: Vec<(String, String)> =
                    args.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect();
                super::super::parse_dockerfile_with_args(FileId(0), &text, &args).dockerfile
            };
            let plain = parse(&[]);
            let same = parse(&[("A", &a), ("B", &b)]);
            let expanded = |d: &crate::model::dockerfile::Dockerfile| -> Vec<String> {
                d.stages.iter().map(|s| s.base.expanded.clone()).collect()
            };
            proptest::prop_assert_eq!(expanded(&plain), vec![format!("img:{a}-{b}")]);
            proptest::prop_assert_eq!(expanded(&same), expanded(&plain));
            let other = parse(&[("A", &given), ("UNDECLARED", "x")]);
            proptest::prop_assert_eq!(expanded(&other), vec![format!("img:{given}-{b}")]);
            // The reference is still underlined where it is written.
            let raw = &other.stages[0].base.raw;
            proptest::prop_assert_eq!(&text[raw.span.range()], "img:${A}-${B}");
        }
    }

    #[test]
    fn base_images_must_be_references_buildkit_can_parse() {
        let digest = "a".repeat(64);
        for valid in [
            "python:3.12-slim".to_string(),
            "nvcr.io/nvidia/cuda:12.3.1-cudnn8-devel-ubuntu22.04".into(),
            format!("localhost:5000/team/app:1.2@sha256:{digest}"),
            "Registry.Example.com/app".into(),
            "[::1]:5000/app".into(),
            "my_app__x/a--b.c:Latest_1".into(),
            "scratch".into(),
        ] {
            assert_eq!(reference_problem(&valid), None, "{valid}");
        }
        let invalid = [
            ("python:3.12 bad-slim", "invalid reference format"),
            (
                "ghcr.io/Org/app",
                "invalid reference format: repository name must be lowercase",
            ),
            ("app-", "invalid reference format"),
            ("app@sha256:abc", "invalid reference format"),
            ("app:-tag", "invalid reference format"),
            ("", "base name should not be blank"),
        ];
        for (reference, problem) in invalid {
            assert_eq!(
                reference_problem(reference).as_deref(),
                Some(problem),
                "{reference}"
            );
        }
        assert_eq!(
            reference_problem(&digest).as_deref(),
            Some("invalid repository name, cannot specify 64-byte hexadecimal strings")
        );
        assert!(reference_problem(&format!("{}/a", "a".repeat(255))).is_some());

        // Reported at the reference as written, with or without substitution; a stage name,
        // an unresolved variable and a valid reference are not reported.
        let text = "ARG BAD=\"py thon\"\nARG UNSET\nARG EMPTY=\nFROM Python:3\nFROM ${BAD}\n\
                    FROM ${UNSET}\nFROM alpine AS b_1\nFROM b_1\nFROM ${EMPTY}\n";
        let parsed = super::super::parse_dockerfile(FileId(0), text);
        assert_eq!(
            problems(text, &parsed.diagnostics),
            [
                (
                    "failed to parse stage name \"Python:3\": invalid reference format: repository name must be lowercase",
                    "Python:3"
                ),
                ("failed to parse stage name \"py thon\": invalid reference format", "${BAD}"),
                ("base name (${EMPTY}) should not be blank", "${EMPTY}"),
            ]
        );
    }

    #[test]
    fn image_reference_grammar() {
        let text = "localhost:5000/team/app:1.2@sha256:abc";
        let raw = Spanned::new(text.to_string(), Span::new(FileId(0), 0..text.len()));
        let image = image_ref(text, raw, &[], '\\');
        assert_eq!(image.registry.as_deref(), Some("localhost:5000"));
        assert_eq!(image.repository, "team/app");
        assert_eq!(image.digest.as_deref(), Some("sha256:abc"));
        let tag = image.tag.as_ref().map(|t| &text[t.span.range()]);
        assert_eq!(tag, Some("1.2"));

        let text = "nvidia/cuda:12.1-devel";
        let raw = Spanned::new(text.to_string(), Span::new(FileId(0), 0..text.len()));
        let image = image_ref(text, raw, &[], '\\');
        assert_eq!(image.registry, None);
        assert_eq!(image.repository, "nvidia/cuda");
        assert!(!image.is_scratch && !image.unresolved);
    }
}
