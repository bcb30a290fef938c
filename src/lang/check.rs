//! The checker: runs when packs load, before anything is evaluated. It resolves every name
//! against the schema (unknown collections, fields, functions and params are errors with a
//! "did you mean"), infers the type of every expression (a size compared with a string is an
//! error), checks the metadata a rule must have, and finds rule IDs defined twice.

use std::collections::HashMap;

use crate::diag::Diagnostic;
use crate::lang::ast::{BinaryOp, Expr, ExprKind, QuantifierKind, Rule, TemplatePart};
use crate::lang::schema::{
    did_you_mean, fields, find_field, find_function, Field, Parameter, Type, COLLECTIONS,
};
use crate::source::Span;

/// Checks one rule; returns its errors (empty when the rule can be evaluated).
pub fn check_rule(rule: &Rule) -> Vec<Diagnostic> {
    let mut checker = Checker {
        diagnostics: Vec::new(),
        scopes: Vec::new(),
        params: HashMap::new(),
    };
    checker.metadata(rule);
    for param in &rule.params {
        let ty = checker.literal_type(&param.default);
        if COLLECTIONS
            .iter()
            .any(|(name, _, _)| *name == param.name.value)
        {
            checker.error(
                param.name.span,
                format!("param `{}` has the name of a collection", param.name.value),
                None,
            );
        }
        if checker
            .params
            .insert(param.name.value.clone(), ty)
            .is_some()
        {
            checker.error(
                param.name.span,
                format!("param `{}` is declared twice", param.name.value),
                None,
            );
        }
    }
    for query in &rule.queries {
        // Each query binds its own variables: they are unknown to the next one.
        let outer = checker.scopes.len();
        for binding in &query.bindings {
            let ty = checker.type_of(&binding.collection);
            let element = checker.element_type(&ty, binding.collection.span, "for");
            checker.bind(&binding.variable.value, binding.variable.span, element);
        }
        if let Some(condition) = &query.condition {
            let ty = checker.type_of(condition);
            checker.expect_bool(&ty, condition.span, "the condition after `where`");
        }
        let report = &query.report;
        let target = checker.type_of(&report.target);
        checker.expect_located(&target, report.target.span);
        checker.template(&report.message.parts);
        for related in &report.related {
            let target = checker.type_of(&related.target);
            // `related` also takes a list: one related location per element.
            let target = match target {
                Type::List(element) => *element,
                other => other,
            };
            checker.expect_located(&target, related.target.span);
            checker.template(&related.message.parts);
        }
        checker.scopes.truncate(outer);
    }
    checker.diagnostics
}

/// Rule IDs defined more than once across all loaded rules: an error at every repeat, with
/// the first definition named.
pub fn check_duplicate_ids<'a>(
    rules: impl IntoIterator<Item = (&'a Rule, &'a str)>,
) -> Vec<Diagnostic> {
    let mut first: HashMap<&str, &str> = HashMap::new();
    let mut diagnostics = Vec::new();
    for (rule, path) in rules {
        match first.get(rule.id.value.as_str()) {
            Some(first_path) => diagnostics.push(
                Diagnostic::error(format!(
                    "rule ID `{}` is already defined in {first_path}",
                    rule.id.value
                ))
                .with_span(rule.id.span)
                .with_help("every rule needs its own ID; rename one of them"),
            ),
            None => {
                first.insert(rule.id.value.as_str(), path);
            }
        }
    }
    diagnostics
}

struct Checker {
    diagnostics: Vec<Diagnostic>,
    /// Variables bound by `for` and quantifiers, innermost last.
    scopes: Vec<(String, Type)>,
    params: HashMap<String, Type>,
}

impl Checker {
    fn error(&mut self, span: Span, message: String, help: Option<String>) {
        let diagnostic = Diagnostic::error(message).with_span(span);
        self.diagnostics.push(match help {
            Some(help) => diagnostic.with_help(help),
            None => diagnostic,
        });
    }

    fn metadata(&mut self, rule: &Rule) {
        let missing = [
            ("severity", rule.severity.is_none()),
            ("summary", rule.summary.is_none()),
            ("doc", rule.doc.is_none()),
        ];
        for (name, is_missing) in missing {
            if is_missing {
                self.error(
                    rule.id.span,
                    format!("rule `{}` has no `{name}`", rule.id.value),
                    Some(format!(
                        "every rule needs `severity`, `summary` and `doc`; add a `{name}` line"
                    )),
                );
            }
        }
        if rule
            .summary
            .as_ref()
            .is_some_and(|s| s.value.trim().is_empty())
        {
            self.error(
                rule.id.span,
                format!("rule `{}` has an empty `summary`", rule.id.value),
                None,
            );
        }
    }

    fn bind(&mut self, name: &str, span: Span, ty: Type) {
        if self.scopes.iter().any(|(bound, _)| bound == name) {
            self.error(
                span,
                format!("`{name}` is already bound by an enclosing `for` or quantifier"),
                Some("choose another name".into()),
            );
        } else if self.params.contains_key(name) {
            self.error(
                span,
                format!("`{name}` is a param of this rule; a variable of that name would hide it"),
                Some("choose another name".into()),
            );
        }
        self.scopes.push((name.to_string(), ty));
    }

    /// The element type of a collection iterated by `for` or a quantifier.
    fn element_type(&mut self, ty: &Type, span: Span, what: &str) -> Type {
        match ty {
            Type::List(element) => (**element).clone(),
            Type::Unknown => Type::Unknown,
            other => {
                self.error(
                    span,
                    format!("`{what}` needs a collection here, but this is {}", a(other)),
                    None,
                );
                Type::Unknown
            }
        }
    }

    fn expect_bool(&mut self, ty: &Type, span: Span, what: &str) {
        if !matches!(ty, Type::Bool | Type::Unknown) {
            self.error(
                span,
                format!("{what} must be true or false, but this is {}", a(ty)),
                Some("compare it with something, e.g. `== \"x\"` or `!= null`".into()),
            );
        }
    }

    fn expect_located(&mut self, ty: &Type, span: Span) {
        if !matches!(ty, Type::Entity(_) | Type::String | Type::Unknown) {
            self.error(
                span,
                format!("`report` and `related` need an entity or a string read from a file, but this is {}", a(ty)),
                Some("report the entity (e.g. `report pkg`) or one of its fields (e.g. `report pkg.name`)".into()),
            );
        }
    }

    fn template(&mut self, parts: &[TemplatePart]) {
        for part in parts {
            if let TemplatePart::Hole(expr) = part {
                self.type_of(expr);
            }
        }
    }

    /// The type of a param's default: a literal or a list of literals.
    fn literal_type(&mut self, expr: &Expr) -> Type {
        match &expr.kind {
            ExprKind::Null
            | ExprKind::Bool(_)
            | ExprKind::Integer(_)
            | ExprKind::String(_)
            | ExprKind::Size(_) => self.type_of(expr),
            ExprKind::List(items) => {
                for item in items {
                    self.literal_type(item);
                }
                self.type_of(expr)
            }
            _ => {
                self.error(
                    expr.span,
                    "a param's default must be a literal or a list of literals".into(),
                    None,
                );
                Type::Unknown
            }
        }
    }

    fn lookup(&mut self, name: &str, span: Span) -> Type {
        if let Some((_, ty)) = self.scopes.iter().rev().find(|(bound, _)| bound == name) {
            return ty.clone();
        }
        if let Some(ty) = self.params.get(name) {
            return ty.clone();
        }
        if let Some((_, kind, _)) = COLLECTIONS.iter().find(|(c, _, _)| *c == name) {
            return Type::list(Type::Entity(*kind));
        }
        // Params in name order: `did_you_mean` picks the first of equally close names, and a
        // map's order changes from run to run.
        let mut params: Vec<String> = self.params.keys().cloned().collect();
        params.sort();
        let known: Vec<String> = self
            .scopes
            .iter()
            .map(|(n, _)| n.clone())
            .chain(params)
            .chain(COLLECTIONS.iter().map(|(c, _, _)| c.to_string()))
            .collect();
        let help = did_you_mean(name, known.iter().map(String::as_str))
            .map(|s| format!("did you mean `{s}`?"))
            .or_else(|| {
                Some(format!(
                    "names are variables bound by `for`, params, or the collections {}",
                    COLLECTIONS
                        .iter()
                        .map(|(c, _, _)| format!("`{c}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            });
        self.error(span, format!("unknown name `{name}`"), help);
        Type::Unknown
    }

    fn type_of(&mut self, expr: &Expr) -> Type {
        match &expr.kind {
            ExprKind::Null => Type::Unknown,
            ExprKind::Bool(_) => Type::Bool,
            ExprKind::Integer(_) => Type::Integer,
            ExprKind::String(_) => Type::String,
            ExprKind::Size(_) => Type::Size,
            ExprKind::List(items) => {
                let mut element = Type::Unknown;
                for item in items {
                    let ty = self.type_of(item);
                    if element == Type::Unknown {
                        element = ty;
                    } else if !element.compatible(&ty) {
                        self.error(
                            item.span,
                            format!("a list cannot mix {element} and {ty}"),
                            None,
                        );
                    }
                }
                Type::list(element)
            }
            ExprKind::Name(name) => self.lookup(name, expr.span),
            ExprKind::Field(base, name) => {
                let base_type = self.type_of(base);
                self.field_type(&base_type, name.value.as_str(), name.span)
            }
            ExprKind::Call(name, arguments) => {
                self.call(name.value.as_str(), name.span, arguments, expr.span)
            }
            ExprKind::Quantifier(quantifier) => {
                let collection = self.type_of(&quantifier.collection);
                let keyword = match quantifier.kind {
                    QuantifierKind::Any => "any",
                    QuantifierKind::All => "all",
                    QuantifierKind::Count => "count",
                };
                let element = self.element_type(&collection, quantifier.collection.span, keyword);
                self.bind(
                    &quantifier.variable.value,
                    quantifier.variable.span,
                    element,
                );
                if let Some(condition) = &quantifier.condition {
                    let ty = self.type_of(condition);
                    self.expect_bool(&ty, condition.span, "the condition after `where`");
                }
                self.scopes.pop();
                match quantifier.kind {
                    QuantifierKind::Any | QuantifierKind::All => Type::Bool,
                    QuantifierKind::Count => Type::Integer,
                }
            }
            ExprKind::Not(operand) => {
                let ty = self.type_of(operand);
                self.expect_bool(&ty, operand.span, "the operand of `not`");
                Type::Bool
            }
            ExprKind::Binary(op, left, right) => self.binary(*op, left, right),
        }
    }

    fn field_type(&mut self, base: &Type, name: &str, span: Span) -> Type {
        match base {
            Type::Unknown => Type::Unknown,
            Type::Entity(kind) => match find_field(*kind, name) {
                Some(field) => field.ty,
                None => {
                    let all = fields(*kind);
                    let help = did_you_mean(name, all.iter().map(Field::name))
                        .map(|s| format!("did you mean `{s}`?"))
                        .unwrap_or_else(|| {
                            format!(
                                "the fields of `{}` are {}",
                                kind.name(),
                                all.iter()
                                    .map(|f| format!("`{}`", f.name()))
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            )
                        });
                    self.error(
                        span,
                        format!("`{}` has no field `{name}`", kind.name()),
                        Some(help),
                    );
                    Type::Unknown
                }
            },
            Type::List(_) => {
                self.error(
                    span,
                    format!("`.{name}` is read from {}, which has no fields", a(base)),
                    Some(format!(
                        "iterate it: `any(x in … where x.{name} …)`, or `for x in …`"
                    )),
                );
                Type::Unknown
            }
            other => {
                self.error(
                    span,
                    format!("`.{name}` is read from {}, which has no fields", a(other)),
                    None,
                );
                Type::Unknown
            }
        }
    }

    fn call(&mut self, name: &str, name_span: Span, arguments: &[Expr], span: Span) -> Type {
        let argument_types: Vec<Type> = arguments.iter().map(|a| self.type_of(a)).collect();
        let Some(function) = find_function(name) else {
            let names: Vec<&str> = crate::lang::schema::functions()
                .iter()
                .map(|f| f.name)
                .collect();
            let help = did_you_mean(name, names.iter().copied())
                .map(|s| format!("did you mean `{s}`?"))
                .unwrap_or_else(|| {
                    format!(
                        "the functions are {}",
                        names
                            .iter()
                            .map(|n| format!("`{n}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                });
            self.error(name_span, format!("unknown function `{name}`"), Some(help));
            return Type::Unknown;
        };
        if arguments.len() != function.parameters.len() {
            self.error(
                span,
                format!(
                    "`{name}` takes {} argument{}, but {} {} given",
                    function.parameters.len(),
                    if function.parameters.len() == 1 {
                        ""
                    } else {
                        "s"
                    },
                    arguments.len(),
                    if arguments.len() == 1 { "is" } else { "are" }
                ),
                None,
            );
            return function.result;
        }
        for ((argument, ty), parameter) in arguments
            .iter()
            .zip(&argument_types)
            .zip(function.parameters)
        {
            let fits = match parameter {
                Parameter::Any => true,
                Parameter::String => matches!(ty, Type::String | Type::Unknown),
                Parameter::Bool => matches!(ty, Type::Bool | Type::Unknown),
                Parameter::Entity(kind) => {
                    matches!(ty, Type::Unknown) || *ty == Type::Entity(*kind)
                }
                Parameter::StringOrList => {
                    matches!(ty, Type::String | Type::List(_) | Type::Unknown)
                }
            };
            if !fits {
                self.error(
                    argument.span,
                    format!("`{name}` needs a {parameter} here, but this is {}", a(ty)),
                    None,
                );
            }
        }
        if function.result == Type::Unknown {
            // A call whose result is one of its arguments (`coalesce`) has their common type.
            let mut common = Type::Unknown;
            for (argument, ty) in arguments.iter().zip(&argument_types) {
                if common == Type::Unknown {
                    common = ty.clone();
                } else if !common.compatible(ty) {
                    self.error(
                        argument.span,
                        format!("`{name}` needs arguments of one type, but this is {} and the first is {}", a(ty), a(&common)),
                        None,
                    );
                }
            }
            return common;
        }
        function.result
    }

    fn binary(&mut self, op: BinaryOp, left: &Expr, right: &Expr) -> Type {
        let left_type = self.type_of(left);
        let right_type = self.type_of(right);
        match op {
            BinaryOp::And | BinaryOp::Or => {
                let word = if op == BinaryOp::And { "and" } else { "or" };
                self.expect_bool(&left_type, left.span, &format!("each side of `{word}`"));
                self.expect_bool(&right_type, right.span, &format!("each side of `{word}`"));
            }
            BinaryOp::Eq | BinaryOp::Ne => {
                if !left_type.compatible(&right_type) {
                    self.error(
                        left.span.cover(right.span),
                        format!("cannot compare {} with {}", a(&left_type), a(&right_type)),
                        None,
                    );
                }
            }
            BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge => {
                let ordered = matches!(
                    (&left_type, &right_type),
                    (Type::Integer, Type::Integer)
                        | (Type::Size, Type::Size)
                        | (Type::String, Type::String)
                        | (
                            Type::Unknown,
                            Type::Integer | Type::Size | Type::String | Type::Unknown
                        )
                        | (Type::Integer | Type::Size | Type::String, Type::Unknown)
                );
                if !ordered {
                    self.error(
                        left.span.cover(right.span),
                        format!("cannot order {} and {}", a(&left_type), a(&right_type)),
                        Some("`<`, `<=`, `>` and `>=` compare two integers, two sizes or two strings".into()),
                    );
                }
            }
            BinaryOp::In | BinaryOp::NotIn => match &right_type {
                Type::List(element) => {
                    if !left_type.compatible(element) {
                        self.error(
                            left.span.cover(right.span),
                            format!("cannot look for {} in {}", a(&left_type), a(&right_type)),
                            None,
                        );
                    }
                }
                Type::String if matches!(left_type, Type::String | Type::Unknown) => {}
                Type::Unknown => {}
                other => self.error(
                    right.span,
                    format!(
                        "`in` needs a list (or a string to search in), but this is {}",
                        a(other)
                    ),
                    None,
                ),
            },
            BinaryOp::Matches => {
                if !matches!(left_type, Type::String | Type::Unknown) {
                    self.error(
                        left.span,
                        format!(
                            "`matches` needs a string on its left, but this is {}",
                            a(&left_type)
                        ),
                        None,
                    );
                }
                if !matches!(right_type, Type::String | Type::Unknown) {
                    self.error(right.span, format!("`matches` needs a regular expression string on its right, but this is {}", a(&right_type)), None);
                }
                if let ExprKind::String(pattern) = &right.kind {
                    if let Some(help) = invalid_pattern_help(pattern) {
                        self.error(
                            right.span,
                            "this regular expression is invalid".into(),
                            Some(help),
                        );
                    }
                }
            }
        }
        Type::Bool
    }
}

/// The type with its indefinite article: `an integer`, `a string`, `a list of package`.
fn a(ty: &Type) -> String {
    let name = ty.to_string();
    let article = if name.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    };
    format!("{article} {name}")
}

/// Checks a pattern's syntax exactly as `regex::Regex::new` does (the same parser, with the
/// same settings, and the same error text), without compiling it: compiling costs ten times
/// as much, and the evaluator compiles a pattern when a match first needs it. The one way a
/// pattern can pass here and still fail to compile, a compiled form over the regex crate's
/// size limit, the evaluator reports with the pattern's span. Returns the help for an invalid
/// pattern.
fn invalid_pattern_help(pattern: &str) -> Option<String> {
    regex_automata::util::syntax::parse_with(pattern, &pattern_syntax())
        .err()
        .map(regex_error_help)
}

/// The syntax settings of `matches` patterns: the `regex` crate's for a `&str` pattern, so
/// that a pattern means what that crate documents. The checker parses with them and the
/// evaluator compiles with them.
pub fn pattern_syntax() -> regex_automata::util::syntax::Config {
    regex_automata::util::syntax::Config::new().utf8(true)
}

/// The regex crate's explanation of why a pattern is invalid (a `regex::Error` or a
/// `regex_syntax::Error`, whose texts are the same): its last line, without the `error: `
/// prefix.
pub fn regex_error_help(error: impl std::fmt::Display) -> String {
    let text = error.to_string();
    let last = text.lines().last().unwrap_or("").trim();
    last.strip_prefix("error: ").unwrap_or(last).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// What `Regex::new` says of a pattern: `None` when it compiles, the help otherwise;
    /// `Some(None)` for a compiled form that is too big (not a syntax error).
    fn compiled(pattern: &str) -> Option<Option<String>> {
        match regex::Regex::new(pattern) {
            Ok(_) => None,
            Err(regex::Error::CompiledTooBig(_)) => Some(None),
            Err(e) => Some(Some(regex_error_help(e))),
        }
    }

    fn checked(pattern: &str) -> Option<String> {
        invalid_pattern_help(pattern)
    }

    #[test]
    fn syntax_errors_read_as_the_regex_crate_words_them() {
        for pattern in [
            "gcc(-[0-9]+",
            "a)",
            "[z-a]",
            "x{2,1}",
            "*a",
            r"\p{Nope}",
            r"\1",
            "(?<n>a)(?<n>b)",
            "a{1000000}",
            "(?z)",
            r"\",
            "[",
            "(?i)caf\u{e9}",
            "^(a|b)+$",
        ] {
            match compiled(pattern) {
                Some(Some(help)) => assert_eq!(checked(pattern), Some(help), "{pattern}"),
                Some(None) | None => assert_eq!(checked(pattern), None, "{pattern}"),
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]
        /// The syntax check accepts what `Regex::new` compiles and refuses, with the same help,
        /// what it refuses as a syntax error.
        #[test]
        fn the_syntax_check_agrees_with_regex_new(pattern in r"[a-c0-9()\[\]{}|*+?^$.,:\\<>=!-]{0,12}") {
            match compiled(&pattern) {
                Some(Some(help)) => prop_assert_eq!(checked(&pattern), Some(help)),
                Some(None) | None => prop_assert_eq!(checked(&pattern), None),
            }
        }
    }
}
