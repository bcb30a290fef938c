//! A rule's documentation as `explain` prints it and SARIF's rule metadata carries it.

use crate::config::CONFIG_FILE_NAME;
use crate::diag::Severity;
use crate::lang::ast::Rule;

/// The severity a rule declares (`warning` when it declares none).
pub fn default_severity(rule: &Rule) -> Severity {
    rule.severity
        .as_ref()
        .map_or(Severity::Warning, |s| s.value)
}

/// The rule's summary, or `""`.
pub fn summary(rule: &Rule) -> &str {
    rule.summary.as_ref().map_or("", |s| s.value.as_str())
}

/// The text `explain` prints: ID, name, severity, summary, tags, the Markdown doc and the
/// params. It is Markdown too, and SARIF's `help` carries it.
pub fn explanation(rule: &Rule) -> String {
    let mut text = format!(
        "{} {} ({})\n\n{}\n",
        rule.id.value,
        rule.name.value,
        default_severity(rule).as_str(),
        summary(rule)
    );
    if !rule.tags.is_empty() {
        let tags: Vec<&str> = rule.tags.iter().map(|t| t.value.as_str()).collect();
        text.push_str(&format!("\nTags: {}\n", tags.join(", ")));
    }
    if let Some(doc) = &rule.doc {
        text.push_str(&format!("\n{}\n", doc.value.trim_end()));
    }
    if !rule.params.is_empty() {
        text.push_str("\n## Params\n\n");
        for param in &rule.params {
            text.push_str(&format!(
                "- `{}` (configure under `params: {{{}: {{{}: …}}}}` in `{CONFIG_FILE_NAME}`)\n",
                param.name.value, rule.id.value, param.name.value
            ));
        }
    }
    text
}

/// The longest description GitHub shows in full.
const MAX_DESCRIPTION_CHARS: usize = 1024;

/// What the rule reports: the first section of its doc (under its first heading, e.g.
/// "What it does", up to the next heading or code block), lines of a paragraph joined, at
/// most 1,024 characters; the summary when the rule has no doc.
pub fn full_description(rule: &Rule) -> String {
    let doc = rule.doc.as_ref().map_or("", |d| d.value.as_str());
    let section = doc
        .lines()
        .map(str::trim)
        .skip_while(|line| line.is_empty() || line.starts_with('#'))
        .take_while(|line| !line.starts_with('#') && !line.starts_with("```"));
    let mut paragraphs: Vec<String> = vec![String::new()];
    for line in section {
        let last = paragraphs.len() - 1;
        if line.is_empty() {
            if !paragraphs[last].is_empty() {
                paragraphs.push(String::new());
            }
        } else {
            if !paragraphs[last].is_empty() {
                // A list item keeps its own line; other lines join their paragraph.
                let item = line.starts_with("- ") || line.starts_with("* ");
                paragraphs[last].push(if item { '\n' } else { ' ' });
            }
            paragraphs[last].push_str(line);
        }
    }
    let text = paragraphs
        .into_iter()
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("\n\n");
    let text = if text.is_empty() {
        summary(rule).to_string()
    } else {
        text
    };
    if text.chars().count() <= MAX_DESCRIPTION_CHARS {
        return text;
    }
    let mut cut: String = text.chars().take(MAX_DESCRIPTION_CHARS - 1).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lang::parser::parse_rule_file;
    use crate::source::FileId;

    #[test]
    fn the_full_description_is_the_first_section_with_list_items_on_their_own_lines() {
        let text = r#"rule DP9 test {
  severity note
  summary "s"
  doc """
  ## What it does
  Reports two
  things:

  - the first,
    wrapped;
  - the second.

  ## Why is this bad?
  Not part of it.
  """
  for d in dockerfiles report d "m"
}
"#;
        let (rule, diagnostics) = parse_rule_file(FileId(0), text);
        assert!(diagnostics.is_empty(), "{diagnostics:?}");
        let rule = rule.unwrap_or_else(|| unreachable!("the rule parses"));
        assert_eq!(
            full_description(&rule),
            "Reports two things:\n\n- the first, wrapped;\n- the second."
        );
    }
}
