//! The rule language's syntax: every construct parsed into the syntax tree with exact spans,
//! every kind of syntax error rendered for rule authors (insta snapshots), the SPEC's EBNF in
//! step with the pest grammar, packs on disk and bundled, and a parser that never panics.

use std::path::PathBuf;

use dockpolicy::diag::{Diagnostic, Severity};
use dockpolicy::lang::ast::{
    BinaryOp, Expr, ExprKind, QuantifierKind, Rule, Template, TemplatePart,
};
use dockpolicy::lang::pack::{bundled_packs, load_pack_dir, PackOrigin};
use dockpolicy::lang::parser::parse_rule_file;
use dockpolicy::report::diagnostics::render;
use dockpolicy::source::{Sources, Span};
use proptest::prelude::*;

const EXAMPLE: &str = r#"# comment to end of line
rule DP1001 toolchain-in-final-image {
  severity error                       # error | warning | note
  tags ["size", "security",]
  summary "Compilers and build toolchains ship in the final image"
  doc """
  ## What it does
    Flags compilers.
  """
  param toolchain = ["build-essential", "gcc", "g++"]
  param max_size = 300MB

  for img in images
  for pkg in img.packages
  where pkg.manager in ["apt", "apk"] and pkg.name in toolchain
    and not any(s in img.stages where s.name == "builder")
  report pkg.name "`{pkg.name}` is installed in stage `{pkg.stage.name}`"
  related img.base "the final image is built from here"
}
"#;

fn parse(text: &str) -> (Option<Rule>, Vec<Diagnostic>, Sources) {
    let mut sources = Sources::new();
    let file = sources.add(PathBuf::from("rule.dpl"), "rule.dpl".into(), text.into());
    let (rule, diagnostics) = parse_rule_file(file, text);
    (rule, diagnostics, sources)
}

fn parse_ok(text: &str) -> Rule {
    let (rule, diagnostics, sources) = parse(text);
    assert!(diagnostics.is_empty(), "{}", render(&diagnostics, &sources));
    rule.expect("a rule")
}

/// A rule whose condition is `condition`.
fn condition(condition: &str) -> (Expr, String) {
    let text = format!("rule DP1 r {{\n  for x in xs\n  where {condition}\n  report x \"m\"\n}}\n");
    let rule = parse_ok(&text);
    (
        rule.queries[0].condition.clone().expect("a condition"),
        text,
    )
}

fn under(text: &str, span: Span) -> &str {
    &text[span.range()]
}

fn hole(template: &Template, index: usize) -> &Expr {
    let holes: Vec<&Expr> = template
        .parts
        .iter()
        .filter_map(|p| match p {
            TemplatePart::Hole(e) => Some(e),
            TemplatePart::Text(_) => None,
        })
        .collect();
    holes[index]
}

// ------------------------------------------------------------------ constructs

#[test]
fn the_example_rule_parses_with_exact_spans() {
    let rule = parse_ok(EXAMPLE);
    let t = EXAMPLE;
    assert_eq!(under(t, rule.id.span), "DP1001");
    assert_eq!(rule.id.value, "DP1001");
    assert_eq!(under(t, rule.name.span), "toolchain-in-final-image");
    assert!(under(t, rule.span).starts_with("rule DP1001"));
    assert!(under(t, rule.span).ends_with("built from here\"\n}"));
    let severity = rule.severity.expect("severity");
    assert_eq!(severity.value, Severity::Error);
    assert_eq!(under(t, severity.span), "error");
    let tags: Vec<(&str, &str)> = rule
        .tags
        .iter()
        .map(|s| (s.value.as_str(), under(t, s.span)))
        .collect();
    assert_eq!(tags, [("size", "\"size\""), ("security", "\"security\"")]);
    let summary = rule.summary.expect("summary");
    assert_eq!(
        summary.value,
        "Compilers and build toolchains ship in the final image"
    );
    assert_eq!(
        under(t, summary.span),
        "\"Compilers and build toolchains ship in the final image\""
    );
    let doc = rule.doc.expect("doc");
    assert_eq!(doc.value, "## What it does\n  Flags compilers.");
    assert!(under(t, doc.span).starts_with("\"\"\"\n  ## What"));
    assert!(under(t, doc.span).ends_with("\"\"\""));

    assert_eq!(rule.params.len(), 2);
    assert_eq!(under(t, rule.params[0].name.span), "toolchain");
    assert_eq!(
        under(t, rule.params[0].span),
        "param toolchain = [\"build-essential\", \"gcc\", \"g++\"]"
    );
    let ExprKind::List(items) = &rule.params[0].default.kind else {
        panic!("a list")
    };
    assert_eq!(under(t, items[1].span), "\"gcc\"");
    assert!(matches!(
        rule.params[1].default.kind,
        ExprKind::Size(300_000_000)
    ));
    assert_eq!(under(t, rule.params[1].default.span), "300MB");

    assert_eq!(rule.queries.len(), 1);
    let query = &rule.queries[0];
    assert_eq!(query.bindings.len(), 2);
    assert_eq!(under(t, query.bindings[0].span), "for img in images");
    assert_eq!(under(t, query.bindings[1].variable.span), "pkg");
    assert_eq!(under(t, query.bindings[1].collection.span), "img.packages");
    let condition = query.condition.as_ref().expect("condition");
    assert!(under(t, condition.span).starts_with("pkg.manager in"));
    assert!(under(t, condition.span).ends_with("s.name == \"builder\")"));
    // `a and b and not c` is `(a and b) and (not c)`.
    let ExprKind::Binary(BinaryOp::And, left, right) = &condition.kind else {
        panic!("and")
    };
    assert!(matches!(left.kind, ExprKind::Binary(BinaryOp::And, _, _)));
    assert_eq!(
        under(t, right.span),
        "not any(s in img.stages where s.name == \"builder\")"
    );
    let ExprKind::Not(quantified) = &right.kind else {
        panic!("not")
    };
    let ExprKind::Quantifier(quantifier) = &quantified.kind else {
        panic!("quantifier")
    };
    assert_eq!(quantifier.kind, QuantifierKind::Any);
    assert_eq!(under(t, quantifier.variable.span), "s");
    assert_eq!(under(t, quantifier.collection.span), "img.stages");
    let inner = quantifier.condition.as_ref().expect("where");
    assert_eq!(under(t, inner.span), "s.name == \"builder\"");

    let report = &query.report;
    assert_eq!(under(t, report.target.span), "pkg.name");
    assert!(under(t, report.span).starts_with("report pkg.name"));
    assert!(under(t, report.span).ends_with("built from here\""));
    assert_eq!(
        under(t, report.message.span),
        "\"`{pkg.name}` is installed in stage `{pkg.stage.name}`\""
    );
    let texts: Vec<&str> = report
        .message
        .parts
        .iter()
        .filter_map(|p| match p {
            TemplatePart::Text(s) => Some(s.as_str()),
            TemplatePart::Hole(_) => None,
        })
        .collect();
    assert_eq!(texts, ["`", "` is installed in stage `", "`"]);
    assert_eq!(under(t, hole(&report.message, 0).span), "pkg.name");
    assert_eq!(under(t, hole(&report.message, 1).span), "pkg.stage.name");
    assert_eq!(report.related.len(), 1);
    assert_eq!(under(t, report.related[0].target.span), "img.base");
    assert_eq!(
        under(t, report.related[0].span),
        "related img.base \"the final image is built from here\""
    );
}

#[test]
fn metadata_comes_in_any_order_and_is_optional() {
    let text = "rule AB12 x-1 {\n  summary \"s\"\n  param p = 1\n  severity note\n  tags []\n  for x in xs report x \"m\"\n}";
    let rule = parse_ok(text);
    assert_eq!(rule.severity.map(|s| s.value), Some(Severity::Note));
    assert!(rule.tags.is_empty());
    assert_eq!(under(text, rule.name.span), "x-1");
    let bare = parse_ok("rule X1 y { for x in xs report x \"m\" }");
    assert!(bare.severity.is_none() && bare.summary.is_none() && bare.doc.is_none());
    assert!(bare.queries[0].condition.is_none());
}

#[test]
fn warning_severity_and_one_line_doc() {
    let text = "rule X1 y {\n severity warning\n doc \"plain \\\"doc\\\"\"\n for x in xs report x \"m\"\n}";
    let rule = parse_ok(text);
    assert_eq!(rule.severity.map(|s| s.value), Some(Severity::Warning));
    let doc = rule.doc.expect("doc");
    assert_eq!(doc.value, "plain \"doc\"");
    assert_eq!(under(text, doc.span), "\"plain \\\"doc\\\"\"");
}

#[test]
fn literals() {
    let (e, t) = condition("[1, -2, \"a\\u{e9}\\n\", true, false, null, 1.5GiB, 10KiB, 512B,]");
    let ExprKind::List(items) = &e.kind else {
        panic!("list")
    };
    assert_eq!(
        under(&t, e.span),
        "[1, -2, \"a\\u{e9}\\n\", true, false, null, 1.5GiB, 10KiB, 512B,]"
    );
    assert!(matches!(items[0].kind, ExprKind::Integer(1)));
    assert!(matches!(items[1].kind, ExprKind::Integer(-2)));
    assert_eq!(under(&t, items[1].span), "-2");
    assert!(matches!(&items[2].kind, ExprKind::String(s) if s == "a\u{e9}\n"));
    assert_eq!(under(&t, items[2].span), "\"a\\u{e9}\\n\"");
    assert!(matches!(items[3].kind, ExprKind::Bool(true)));
    assert!(matches!(items[4].kind, ExprKind::Bool(false)));
    assert!(matches!(items[5].kind, ExprKind::Null));
    assert_eq!(under(&t, items[5].span), "null");
    assert!(matches!(items[6].kind, ExprKind::Size(1_610_612_736)));
    assert_eq!(under(&t, items[6].span), "1.5GiB");
    assert!(matches!(items[7].kind, ExprKind::Size(10_240)));
    assert!(matches!(items[8].kind, ExprKind::Size(512)));
}

#[test]
fn comparisons_and_membership() {
    let cases = [
        ("a == b", BinaryOp::Eq),
        ("a != b", BinaryOp::Ne),
        ("a < b", BinaryOp::Lt),
        ("a <= b", BinaryOp::Le),
        ("a > b", BinaryOp::Gt),
        ("a >= b", BinaryOp::Ge),
        ("a in b", BinaryOp::In),
        ("a not in b", BinaryOp::NotIn),
        ("a matches b", BinaryOp::Matches),
    ];
    for (source, expected) in cases {
        let (e, t) = condition(source);
        let ExprKind::Binary(op, left, right) = &e.kind else {
            panic!("{source}")
        };
        assert_eq!(*op, expected, "{source}");
        assert_eq!(under(&t, e.span), source);
        assert_eq!(under(&t, left.span), "a");
        assert_eq!(under(&t, right.span), "b");
    }
}

#[test]
fn precedence_or_and_not_comparison() {
    // not binds looser than comparison and tighter than and; and tighter than or.
    let (e, t) = condition("a or not b == c and d");
    let ExprKind::Binary(BinaryOp::Or, a, rest) = &e.kind else {
        panic!("or at the top")
    };
    assert_eq!(under(&t, a.span), "a");
    assert_eq!(under(&t, rest.span), "not b == c and d");
    let ExprKind::Binary(BinaryOp::And, not, d) = &rest.kind else {
        panic!("and below or")
    };
    assert_eq!(under(&t, d.span), "d");
    let ExprKind::Not(comparison) = &not.kind else {
        panic!("not")
    };
    assert_eq!(under(&t, comparison.span), "b == c");
    // Left associative chains.
    let (e, t) = condition("a or b or c");
    let ExprKind::Binary(BinaryOp::Or, left, _) = &e.kind else {
        panic!("or")
    };
    assert_eq!(under(&t, left.span), "a or b");
    // Repeated not.
    let (e, t) = condition("not not a");
    let ExprKind::Not(inner) = &e.kind else {
        panic!("not")
    };
    assert_eq!(under(&t, inner.span), "not a");
}

/// An expression of `or`, `and`, `not` and comparisons over atoms, for the precedence proptest.
#[derive(Clone, Debug)]
enum Tree {
    Atom(&'static str),
    Not(Box<Tree>),
    Compare(&'static str, Box<Tree>, Box<Tree>),
    And(Box<Tree>, Box<Tree>),
    Or(Box<Tree>, Box<Tree>),
}

const ATOMS: [&str; 7] = ["a", "b.c", "f(a, b)", "g()", "\"s\"", "10", "true"];
const COMPARE: [&str; 9] = ["==", "!=", "<", "<=", ">", ">=", "in", "not in", "matches"];

fn tree() -> impl Strategy<Value = Tree> {
    prop::sample::select(ATOMS.to_vec())
        .prop_map(Tree::Atom)
        .prop_recursive(6, 40, 2, |inner| {
            prop_oneof![
                inner.clone().prop_map(|t| Tree::Not(Box::new(t))),
                (
                    prop::sample::select(COMPARE.to_vec()),
                    inner.clone(),
                    inner.clone()
                )
                    .prop_map(|(op, l, r)| Tree::Compare(
                        op,
                        Box::new(l),
                        Box::new(r)
                    )),
                (inner.clone(), inner.clone())
                    .prop_map(|(l, r)| Tree::And(Box::new(l), Box::new(r))),
                (inner.clone(), inner).prop_map(|(l, r)| Tree::Or(Box::new(l), Box::new(r))),
            ]
        })
}

/// The source of `tree` with the fewest parentheses that SPEC.md §7.3 needs in a place that
/// takes precedence level `min` or higher (joined by `gap`), and the outline the parser must
/// build for it: each operator node with the text under its span.
fn print(tree: &Tree, min: u8, gap: &str) -> (String, String) {
    let (level, text, outline) = match tree {
        Tree::Atom(atom) => (5, atom.to_string(), None),
        Tree::Not(operand) => {
            let (t, o) = print(operand, 3, gap);
            (
                3,
                format!("not{gap}{t}"),
                Some(("Not".to_string(), vec![o])),
            )
        }
        Tree::Compare(op, l, r) => {
            let ((lt, lo), (rt, ro)) = (print(l, 5, gap), print(r, 5, gap));
            let name = match *op {
                "==" => "Eq",
                "!=" => "Ne",
                "<" => "Lt",
                "<=" => "Le",
                ">" => "Gt",
                ">=" => "Ge",
                "in" => "In",
                "not in" => "NotIn",
                _ => "Matches",
            };
            (
                4,
                format!("{lt}{gap}{op}{gap}{rt}"),
                Some((name.to_string(), vec![lo, ro])),
            )
        }
        Tree::And(l, r) => {
            let ((lt, lo), (rt, ro)) = (print(l, 2, gap), print(r, 3, gap));
            (
                2,
                format!("{lt}{gap}and{gap}{rt}"),
                Some(("And".to_string(), vec![lo, ro])),
            )
        }
        Tree::Or(l, r) => {
            let ((lt, lo), (rt, ro)) = (print(l, 1, gap), print(r, 2, gap));
            (
                1,
                format!("{lt}{gap}or{gap}{rt}"),
                Some(("Or".to_string(), vec![lo, ro])),
            )
        }
    };
    let text = if level < min {
        format!("({text})")
    } else {
        text
    };
    let outline = match outline {
        Some((name, children)) => format!("({name}[{text}] {})", children.join(" ")),
        None => text.clone(),
    };
    (text, outline)
}

/// The outline of a parsed expression, as [`print`] writes it.
fn outline(expr: &Expr, text: &str) -> String {
    let under = under(text, expr.span);
    match &expr.kind {
        ExprKind::Not(operand) => format!("(Not[{under}] {})", outline(operand, text)),
        ExprKind::Binary(op, l, r) => {
            format!(
                "({op:?}[{under}] {} {})",
                outline(l, text),
                outline(r, text)
            )
        }
        _ => under.to_string(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// The parser builds the tree by precedence from the operands and operators of an `expr`:
    /// a minimally parenthesised expression parses to the tree it was printed from, every
    /// node spanning its exact text (parentheses included, whitespace and comments not).
    #[test]
    fn precedence_builds_the_printed_tree(
        tree in tree(),
        gap in prop::sample::select(vec![" ", "\n    ", "  # note\n  "]),
    ) {
        let (source, expected) = print(&tree, 1, gap);
        let (e, t) = condition(&source);
        prop_assert_eq!(outline(&e, &t), expected);
    }
}

#[test]
fn parentheses_are_part_of_the_span() {
    let (e, t) = condition("(a or b) and c");
    let ExprKind::Binary(BinaryOp::And, left, _) = &e.kind else {
        panic!("and")
    };
    assert_eq!(under(&t, left.span), "(a or b)");
    assert!(matches!(left.kind, ExprKind::Binary(BinaryOp::Or, _, _)));
    assert_eq!(under(&t, e.span), "(a or b) and c");
}

#[test]
fn field_access_allows_keywords_as_field_names() {
    let (e, t) = condition("img.count.doc == x");
    let ExprKind::Binary(_, left, _) = &e.kind else {
        panic!("binary")
    };
    let ExprKind::Field(base, field) = &left.kind else {
        panic!("field")
    };
    assert_eq!(field.value, "doc");
    assert_eq!(under(&t, field.span), "doc");
    assert_eq!(under(&t, base.span), "img.count");
    assert_eq!(under(&t, left.span), "img.count.doc");
}

#[test]
fn calls() {
    let (e, t) = condition("starts_with(pkg.name, \"lib\",)");
    let ExprKind::Call(function, arguments) = &e.kind else {
        panic!("call")
    };
    assert_eq!(under(&t, function.span), "starts_with");
    assert_eq!(arguments.len(), 2);
    assert_eq!(under(&t, arguments[0].span), "pkg.name");
    assert_eq!(under(&t, e.span), "starts_with(pkg.name, \"lib\",)");
    let (e, _) = condition("now()");
    assert!(matches!(&e.kind, ExprKind::Call(_, args) if args.is_empty()));
}

#[test]
fn quantifiers() {
    let (e, t) = condition("count(p in img.packages) > 3 and all(s in img.stages where s.user)");
    let ExprKind::Binary(BinaryOp::And, left, right) = &e.kind else {
        panic!("and")
    };
    let ExprKind::Binary(BinaryOp::Gt, count, _) = &left.kind else {
        panic!(">")
    };
    assert_eq!(under(&t, count.span), "count(p in img.packages)");
    let ExprKind::Quantifier(q) = &count.kind else {
        panic!("count")
    };
    assert_eq!(q.kind, QuantifierKind::Count);
    assert!(q.condition.is_none());
    let ExprKind::Quantifier(q) = &right.kind else {
        panic!("all")
    };
    assert_eq!(q.kind, QuantifierKind::All);
    assert_eq!(under(&t, right.span), "all(s in img.stages where s.user)");
    assert_eq!(
        under(&t, q.condition.as_ref().expect("where").span),
        "s.user"
    );
}

#[test]
fn message_templates() {
    let text = "rule X1 y {\n for x in xs\n report x \"a \\\"q\\\" {{lit}} {x.name} \\u{41}{ count(p in x.ps) }\"\n}";
    let rule = parse_ok(text);
    let message = &rule.queries[0].report.message;
    assert_eq!(message.parts.len(), 4);
    assert!(matches!(&message.parts[0], TemplatePart::Text(s) if s == "a \"q\" {lit} "));
    assert!(matches!(&message.parts[2], TemplatePart::Text(s) if s == " A"));
    assert_eq!(under(text, hole(message, 0).span), "x.name");
    assert_eq!(under(text, hole(message, 1).span), "count(p in x.ps)");
    let ExprKind::Quantifier(q) = &hole(message, 1).kind else {
        panic!("count")
    };
    assert_eq!(under(text, q.collection.span), "x.ps");
}

#[test]
fn crlf_and_comments_everywhere() {
    let text = "# head\r\nrule X1 y { # a\r\n for x in xs # b\r\n where x.a # c\r\n  == 1\r\n report x \"m\" # d\r\n}\r\n# tail\r\n";
    let rule = parse_ok(text);
    assert_eq!(
        under(
            text,
            rule.queries[0].condition.as_ref().expect("where").span
        ),
        "x.a # c\r\n  == 1"
    );
}

// ------------------------------------------------------------------ syntax errors

/// The rendered diagnostics for `text`, which must not parse.
fn errors(text: &str) -> String {
    let (rule, diagnostics, sources) = parse(text);
    assert!(rule.is_none(), "{text}");
    assert!(diagnostics.iter().any(Diagnostic::is_error), "{text}");
    render(&diagnostics, &sources)
}

const R: &str = "rule DP1 r {\n";

#[test]
fn syntax_error_snapshots() {
    let cases: Vec<(&str, String)> = vec![
        ("empty_file", String::new()),
        ("no_rule_keyword", "check DP1 r {}".into()),
        ("missing_rule_id", "rule toolchain {\n}".into()),
        ("bad_rule_name", "rule DP1 Toolchain {\n}".into()),
        (
            "missing_open_brace",
            "rule DP1 r\n  for x in xs report x \"m\"\n".into(),
        ),
        ("unknown_body_item", format!("{R}  title \"t\"\n}}")),
        (
            "query_without_for",
            format!("{R}  where x report x \"m\"\n}}"),
        ),
        ("bad_severity", format!("{R}  severity fatal\n}}")),
        ("tags_not_a_list", format!("{R}  tags \"size\"\n}}")),
        ("tags_missing_comma", format!("{R}  tags [\"a\" \"b\"]\n}}")),
        ("summary_not_a_string", format!("{R}  summary 3\n}}")),
        ("doc_not_a_string", format!("{R}  doc size\n}}")),
        (
            "summary_given_twice",
            format!("{R}  summary \"a\"\n  summary \"b\"\n  for x in xs report x \"m\"\n}}"),
        ),
        (
            "param_defined_twice",
            format!("{R}  param p = 1\n  param p = 2\n  for x in xs report x \"m\"\n}}"),
        ),
        ("param_without_name", format!("{R}  param = 3\n}}")),
        ("param_keyword_name", format!("{R}  param count = 3\n}}")),
        ("param_without_equals", format!("{R}  param p 3\n}}")),
        ("param_not_literal", format!("{R}  param p = other\n}}")),
        (
            "param_list_not_literal",
            format!("{R}  param p = [1, other]\n}}"),
        ),
        (
            "for_without_variable",
            format!("{R}  for 3 in xs report x \"m\"\n}}"),
        ),
        (
            "for_without_in",
            format!("{R}  for x xs report x \"m\"\n}}"),
        ),
        (
            "for_without_collection",
            format!("{R}  for x in report x \"m\"\n}}"),
        ),
        ("for_without_report", format!("{R}  for x in xs\n}}")),
        (
            "where_without_condition",
            format!("{R}  for x in xs where\n}}"),
        ),
        (
            "condition_without_report",
            format!("{R}  for x in xs where x.a\n}}"),
        ),
        (
            "report_without_value",
            format!("{R}  for x in xs report \"m\"\n}}"),
        ),
        (
            "report_without_message",
            format!("{R}  for x in xs report x\n}}"),
        ),
        (
            "related_without_message",
            format!("{R}  for x in xs report x \"m\" related x\n}}"),
        ),
        (
            "metadata_after_query",
            format!("{R}  for x in xs report x \"m\"\n  summary \"late\"\n}}"),
        ),
        (
            "missing_close_brace",
            format!("{R}  for x in xs report x \"m\"\n"),
        ),
        (
            "two_rules",
            format!("{R}  for x in xs report x \"m\"\n}}\nrule DP2 s {{}}\n"),
        ),
        (
            "assign_instead_of_eq",
            format!("{R}  for x in xs where x.a = 1 report x \"m\"\n}}"),
        ),
        (
            "chained_comparison",
            format!("{R}  for x in xs where 1 < x.a < 3 report x \"m\"\n}}"),
        ),
        (
            "not_without_in",
            format!("{R}  for x in xs where x.a not xs report x \"m\"\n}}"),
        ),
        (
            "comparison_without_right",
            format!("{R}  for x in xs where x.a ==\n}}"),
        ),
        (
            "and_without_right",
            format!("{R}  for x in xs where x.a and report x \"m\"\n}}"),
        ),
        (
            "field_without_name",
            format!("{R}  for x in xs where x. == 1 report x \"m\"\n}}"),
        ),
        (
            "upper_case_name",
            format!("{R}  for x in xs where myVar report x \"m\"\n}}"),
        ),
        (
            "unclosed_paren",
            format!("{R}  for x in xs where (x.a or x.b report x \"m\"\n}}"),
        ),
        (
            "unclosed_list",
            format!("{R}  for x in xs where x.a in [1, 2 report x \"m\"\n}}"),
        ),
        (
            "call_missing_comma",
            format!("{R}  for x in xs where f(a b) report x \"m\"\n}}"),
        ),
        (
            "any_without_paren",
            format!("{R}  for x in xs where any s in x.a report x \"m\"\n}}"),
        ),
        (
            "any_without_variable",
            format!("{R}  for x in xs where any(3 in x.a) report x \"m\"\n}}"),
        ),
        (
            "any_without_where",
            format!("{R}  for x in xs where any(s in x.a) report x \"m\"\n}}"),
        ),
        ("unterminated_string", format!("{R}  summary \"abc\n}}")),
        ("unterminated_block", format!("{R}  doc \"\"\"\n  text\n}}")),
        ("unknown_escape", format!("{R}  summary \"a\\qb\"\n}}")),
        (
            "bad_unicode_escape",
            format!("{R}  summary \"a\\u{{d800}}\"\n}}"),
        ),
        ("unknown_size_unit", format!("{R}  param max = 300mb\n}}")),
        ("fraction_without_unit", format!("{R}  param max = 1.5\n}}")),
        (
            "fractional_bytes",
            format!("{R}  param max = 1.5B\n  for x in xs report x \"m\"\n}}"),
        ),
        (
            "integer_too_large",
            format!("{R}  param max = 99999999999999999999\n  for x in xs report x \"m\"\n}}"),
        ),
        (
            "double_ampersand",
            format!("{R}  for x in xs where x.a && x.b report x \"m\"\n}}"),
        ),
        ("single_quotes", format!("{R}  summary 'a'\n}}")),
        (
            "stray_character",
            format!("{R}  for x in xs where x.a == $b report x \"m\"\n}}"),
        ),
        (
            "message_unclosed_hole",
            format!("{R}  for x in xs report x \"a {{x.name\"\n}}"),
        ),
        (
            "message_unmatched_brace",
            format!("{R}  for x in xs report x \"a }} b\"\n}}"),
        ),
        (
            "message_empty_hole",
            format!("{R}  for x in xs report x \"a {{}} b\"\n}}"),
        ),
        (
            "message_bad_hole",
            format!("{R}  for x in xs report x \"a {{x.name ==}} b\"\n}}"),
        ),
        (
            "message_string_in_hole",
            format!("{R}  for x in xs report x \"a {{x == \\\"b\\\"}}\"\n}}"),
        ),
        (
            "nesting_too_deep",
            format!(
                "{R}  for x in xs where {}x{} report x \"m\"\n}}",
                "(".repeat(70),
                ")".repeat(70)
            ),
        ),
        (
            "file_too_large",
            format!("{R}  doc \"\"\"{}\"\"\"\n}}", "x".repeat(1024 * 1024)),
        ),
    ];
    for (name, text) in cases {
        let mut rendered = errors(&text);
        if name == "file_too_large" || name == "nesting_too_deep" {
            // Keep the snapshot readable: the long source line is not the point.
            rendered = rendered
                .lines()
                .map(|l| l.chars().take(100).collect::<String>() + "\n")
                .collect();
        }
        insta::assert_snapshot!(name, rendered);
    }
}

#[test]
fn no_message_names_a_grammar_rule() {
    let grammar = include_str!("../grammar/dpl.pest");
    let rule_names: Vec<&str> = grammar
        .lines()
        .filter_map(|l| l.split_once(" = ").map(|(name, _)| name.trim()))
        .filter(|n| n.contains('_') && !n.starts_with("//"))
        .collect();
    assert!(rule_names.contains(&"rule_id"));
    let broken = [
        "",
        "rule",
        "rule X1",
        "rule X1 a",
        "rule X1 a {",
        "rule X1 a { for",
        "rule X1 a { for x",
        "rule X1 a { for x in",
        "rule X1 a { for x in y",
        "rule X1 a { for x in y report",
        "rule X1 a { for x in y report x",
        "rule X1 a { for x in y report x \"m\"",
        "rule X1 a { param",
        "rule X1 a { param p",
        "rule X1 a { param p =",
        "rule X1 a { for x in y where any(",
        "rule X1 a { for x in y where any(s in",
        "rule X1 a { for x in y where any(s in t where",
        "rule X1 a { for x in y where f(",
        "rule X1 a { for x in y where [",
        "rule X1 a { for x in y where x.",
    ];
    for text in broken {
        let (_, diagnostics, _) = parse(text);
        assert!(!diagnostics.is_empty(), "{text}");
        for diagnostic in &diagnostics {
            let words = format!(
                "{} {}",
                diagnostic.message,
                diagnostic.help.clone().unwrap_or_default()
            );
            for name in &rule_names {
                assert!(!words.contains(name), "{text:?}: {words}");
            }
            assert!(!words.contains("EOI") && !words.contains("SOI"), "{words}");
        }
    }
}

// ------------------------------------------------------------------ the SPEC's grammar

#[test]
fn spec_ebnf_names_the_grammar_rules() {
    let spec = include_str!("../SPEC.md");
    let section = spec
        .split("## 7. The rule language: lexis and grammar")
        .nth(1)
        .expect("SPEC.md §7");
    let ebnf = section
        .split("```ebnf")
        .nth(1)
        .and_then(|s| s.split("```").next())
        .expect("an ebnf block");
    let defined = |text: &str, separator: &str| -> Vec<String> {
        let mut names: Vec<String> = text
            .lines()
            .filter_map(|l| l.split_once(separator))
            .map(|(name, _)| name.trim().to_string())
            .filter(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
            .collect();
        names.sort();
        names
    };
    let grammar = include_str!("../grammar/dpl.pest");
    // Grammar rules that EBNF writes as terminals or leaves out: tokens and pest plumbing.
    let tokens_only = |name: &String| {
        !(name.starts_with("kw_")
            || name.starts_with("op_")
            || matches!(
                name.as_str(),
                "WHITESPACE"
                    | "ident_char"
                    | "keyword"
                    | "escape"
                    | "lbrace"
                    | "rbrace"
                    | "lbrack"
                    | "rbrack"
                    | "lparen"
                    | "rparen"
                    | "comma"
                    | "dot"
                    | "assign"
                    | "hole"
            ))
    };
    let grammar_names: Vec<String> = defined(grammar, " = ")
        .into_iter()
        .filter(tokens_only)
        .collect();
    let ebnf_names = defined(ebnf, " ::= ");
    assert_eq!(ebnf_names, grammar_names);
}

// ------------------------------------------------------------------ packs

#[test]
fn a_pack_folder_loads_every_rule_and_skips_fixtures() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pack = dir.path().join("mypack");
    let write = |rel: &str, text: &str| {
        let path = pack.join(rel);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    };
    write("b.dpl", "rule B1 b { for x in xs report x \"m\" }");
    write("a.dpl", "rule A1 a { for x in xs report x \"m\" }");
    write("broken.dpl", "rule C1 c { for x in xs }");
    write("nested/d.dpl", "rule D1 d { for x in xs report x \"m\" }");
    write("a/Dockerfile", "FROM alpine\n");
    write("a/inner.dpl", "not a rule: a fixture folder");
    write("b.fixture.dpl", "not a rule either");
    write("README.md", "# docs");
    let mut sources = Sources::new();
    let (loaded, diagnostics) = load_pack_dir(&pack, &mut sources);
    assert_eq!(loaded.name, "mypack");
    assert_eq!(loaded.origin, PackOrigin::Path(pack.clone()));
    let ids: Vec<&str> = loaded.rules.iter().map(|r| r.id.value.as_str()).collect();
    assert_eq!(ids, ["A1", "B1", "D1"]);
    assert_eq!(
        loaded.fixtures,
        [pack.join("a"), pack.join("b.fixture.dpl")]
    );
    assert_eq!(diagnostics.len(), 1, "{}", render(&diagnostics, &sources));
    let text = render(&diagnostics, &sources);
    assert!(
        text.contains("expected `for`, `where` or `report`"),
        "{text}"
    );
    assert!(text.contains("broken.dpl:1:25"), "{text}");
    // Spans point into the loaded files.
    let d1 = &loaded.rules[2];
    assert_eq!(sources.slice(d1.id.span), "D1");
}

#[test]
fn a_missing_pack_folder_is_a_diagnostic() {
    let mut sources = Sources::new();
    let (pack, diagnostics) =
        load_pack_dir(std::path::Path::new("/nonexistent/pack"), &mut sources);
    assert!(pack.rules.is_empty());
    assert_eq!(diagnostics.len(), 1);
    assert!(diagnostics[0].message.contains("cannot read the folder"));
}

#[test]
fn bundled_packs_mirror_the_rules_folder_and_parse_cleanly() {
    let mut sources = Sources::new();
    let (packs, diagnostics) = bundled_packs(&mut sources);
    assert!(diagnostics.is_empty(), "{}", render(&diagnostics, &sources));
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("rules");
    let mut folders: Vec<String> = std::fs::read_dir(&root)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .filter(|e| e.path().is_dir())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    folders.sort();
    let names: Vec<&str> = packs.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, folders);
    for pack in &packs {
        assert_eq!(pack.origin, PackOrigin::Bundled);
        for rule in &pack.rules {
            let path = &sources.get(rule.file).expect("file").rel_path;
            assert!(path.starts_with(&format!("rules/{}/", pack.name)), "{path}");
            assert!(path.ends_with(".dpl"), "{path}");
        }
    }
}

// ------------------------------------------------------------------ never panic

/// Every span in the tree, to check that each lies inside the file on char boundaries.
fn spans_of_rule(rule: &Rule) -> Vec<Span> {
    let mut spans = vec![rule.span, rule.id.span, rule.name.span];
    spans.extend(rule.severity.as_ref().map(|s| s.span));
    spans.extend(rule.summary.as_ref().map(|s| s.span));
    spans.extend(rule.doc.as_ref().map(|s| s.span));
    spans.extend(rule.tags.iter().map(|s| s.span));
    for param in &rule.params {
        spans.extend([param.span, param.name.span]);
        spans_of_expr(&param.default, &mut spans);
    }
    for query in &rule.queries {
        for binding in &query.bindings {
            spans.extend([binding.span, binding.variable.span]);
            spans_of_expr(&binding.collection, &mut spans);
        }
        if let Some(condition) = &query.condition {
            spans_of_expr(condition, &mut spans);
        }
        let report = &query.report;
        spans.push(report.span);
        spans_of_expr(&report.target, &mut spans);
        spans_of_template(&report.message, &mut spans);
        for related in &report.related {
            spans.push(related.span);
            spans_of_expr(&related.target, &mut spans);
            spans_of_template(&related.message, &mut spans);
        }
    }
    spans
}

fn spans_of_template(template: &Template, spans: &mut Vec<Span>) {
    spans.push(template.span);
    for part in &template.parts {
        if let TemplatePart::Hole(expr) = part {
            spans_of_expr(expr, spans);
        }
    }
}

fn spans_of_expr(expr: &Expr, spans: &mut Vec<Span>) {
    spans.push(expr.span);
    match &expr.kind {
        ExprKind::List(items) | ExprKind::Call(_, items) => {
            items.iter().for_each(|e| spans_of_expr(e, spans))
        }
        ExprKind::Field(base, field) => {
            spans.push(field.span);
            spans_of_expr(base, spans);
        }
        ExprKind::Quantifier(q) => {
            spans.push(q.variable.span);
            spans_of_expr(&q.collection, spans);
            if let Some(c) = &q.condition {
                spans_of_expr(c, spans);
            }
        }
        ExprKind::Not(inner) => spans_of_expr(inner, spans),
        ExprKind::Binary(_, l, r) => {
            spans_of_expr(l, spans);
            spans_of_expr(r, spans);
        }
        _ => {}
    }
}

fn check_never_panics(text: &str) {
    let (rule, diagnostics, sources) = parse(text);
    let mut spans: Vec<Span> = diagnostics.iter().filter_map(|d| d.span).collect();
    if let Some(rule) = &rule {
        spans.extend(spans_of_rule(rule));
    }
    for span in spans {
        assert!(span.end as usize <= text.len(), "{span:?} in {text:?}");
        assert!(
            text.is_char_boundary(span.start as usize),
            "{span:?} in {text:?}"
        );
        assert!(
            text.is_char_boundary(span.end as usize),
            "{span:?} in {text:?}"
        );
    }
    let _ = render(&diagnostics, &sources);
}

/// Pieces of the language to build mutations from.
const PIECES: &[&str] = &[
    "rule", "DP1", "x-y", "{", "}", "(", ")", "[", "]", ",", ".", "==", "=", "not", "in", "and",
    "or", "any", "count", "where", "for", "report", "related", "param", "severity", "error", "\"",
    "\"\"\"", "{{", "}}", "\\", "\\u{", "1.5", "3MB", "-", "#", "\n", "é", "x", " ", "\"{", "}\"",
    "matches", "null",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(600))]

    #[test]
    fn random_text_never_panics(text in "\\PC{0,200}") {
        check_never_panics(&text);
    }

    #[test]
    fn mutated_rules_never_panic(
        edits in prop::collection::vec((0usize..EXAMPLE.len(), 0usize..8, 0usize..PIECES.len()), 1..6)
    ) {
        let mut text = EXAMPLE.to_string();
        for (at, remove, piece) in edits {
            let mut at = at.min(text.len());
            while !text.is_char_boundary(at) { at -= 1; }
            let mut end = (at + remove).min(text.len());
            while !text.is_char_boundary(end) { end += 1; }
            text.replace_range(at..end, PIECES[piece]);
        }
        check_never_panics(&text);
    }
}

/// The stack that the deepest nesting the lexer lets through needs at most, in debug builds:
/// pest runs without its own stack probe (Cargo.toml), so this bound is what keeps the parser
/// from overflowing. Test threads have 2 MiB, the main thread 8 MiB.
const PARSE_STACK: usize = 512 * 1024;

#[test]
fn the_deepest_nesting_allowed_parses_on_a_small_stack() {
    // 63 brackets inside the rule's `{` (or the message hole's) reach the limit of 64.
    let depth = 63;
    let nested =
        |open: &str, close: &str| format!("{}x{}", open.repeat(depth), close.repeat(depth));
    let conditions = [
        nested("(", ")"),
        nested("[", "]"),
        nested("f(", ")"),
        nested("any(y in ", " where y)"),
        nested("not (a == b or ", ")"),
        nested("(x.y and ", ")"),
    ];
    let mut texts: Vec<String> = conditions
        .iter()
        .map(|c| format!("{R}  for x in xs where {c} report x \"m\"\n}}"))
        .collect();
    let hole = format!("{}x{}", "(".repeat(depth - 1), ")".repeat(depth - 1));
    texts.push(format!("{R}  for x in xs report x \"{{{hole}}}\"\n}}"));
    let parsed = std::thread::Builder::new()
        .stack_size(PARSE_STACK)
        .spawn(move || texts.iter().map(|t| parse(t).1.len()).collect::<Vec<_>>())
        .expect("a thread")
        .join()
        .expect("no overflow");
    assert_eq!(parsed, vec![0; 7]);
}

#[test]
fn deep_nesting_everywhere_is_refused_not_overflowed() {
    for (open, close) in [("(", ")"), ("[", "]"), ("{", "}"), ("not ", "")] {
        let deep = format!(
            "{R}  for x in xs where {}x{} report x \"m\"\n}}",
            open.repeat(100_000),
            close.repeat(100_000)
        );
        check_never_panics(&deep);
    }
    let hole = format!(
        "{R}  for x in xs report x \"{{{}x\"\n}}",
        "(".repeat(100_000)
    );
    check_never_panics(&hole);
    for chain in ["not ", "x or ", "x and ", "x."] {
        let long = format!(
            "{R}  for x in xs where {}x report x \"m\"\n}}",
            chain.repeat(100_000)
        );
        check_never_panics(&long);
        assert!(errors(&long).contains("nests more than 256 levels deep"));
    }
    // The limits themselves parse.
    let deepest = format!(
        "{R}  for x in xs where {}x{} report x \"m\"\n}}",
        "(".repeat(63),
        ")".repeat(63)
    );
    assert!(parse(&deepest).0.is_some());
    let longest = format!(
        "{R}  for x in xs where {}x report x \"m\"\n}}",
        "x or ".repeat(200)
    );
    assert!(parse(&longest).0.is_some());
}

#[test]
fn the_spec_example_parses() {
    let spec = include_str!("../SPEC.md");
    let example = spec
        .split("### 7.4 Constructs by example")
        .nth(1)
        .and_then(|s| s.split("```").nth(1))
        .expect("the example");
    let rule = parse_ok(example);
    assert_eq!(rule.params.len(), 3);
    assert_eq!(rule.queries.len(), 2);
    assert_eq!(rule.queries[0].bindings.len(), 2);
    assert_eq!(rule.queries[1].bindings.len(), 1);
}

#[test]
fn a_rule_holds_several_queries_each_with_its_own_clauses() {
    let t = "rule X1 y {\n  for a in xs\n  where a.n == 1\n  report a \"first\"\n  related a \"r\"\n  for b in ys\n  for c in b.zs\n  report c \"second\"\n}\n";
    let rule = parse_ok(t);
    let [first, second] = &rule.queries[..] else {
        panic!("two queries")
    };
    assert_eq!(under(t, first.bindings[0].span), "for a in xs");
    assert_eq!(first.report.related.len(), 1);
    assert_eq!(
        under(t, first.report.span),
        "report a \"first\"\n  related a \"r\""
    );
    assert_eq!(second.bindings.len(), 2);
    assert!(second.condition.is_none());
    assert_eq!(under(t, second.report.span), "report c \"second\"");
}
