//! The evaluator: runs every rule over the model in one pass, rules in parallel, and returns
//! the findings in a deterministic order. Work is bounded: each rule may take at most
//! [`MAX_STEPS`] steps (loop iterations, quantifier elements and expression nodes), and
//! expression depth is bounded by the parser, so no rule can loop forever or blow the stack.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use foldhash::HashMap as FastMap;

use rayon::prelude::*;
use regex::Regex;
use serde::Serialize;

use crate::diag::{Diagnostic, Severity};
use crate::eval::join::{find_join_key, IndexKey, Indexes, JoinKey, Plan, Positions};
use crate::eval::value::Value;
use crate::eval::world::World;
use crate::lang::ast::{
    BinaryOp, Expr, ExprKind, Quantifier, QuantifierKind, Query, Rule, Template, TemplatePart,
};
use crate::lang::check::regex_error_help;
use crate::source::{Sources, Span};

/// The most steps one rule may take over one repository.
pub const MAX_STEPS: u64 = 50_000_000;

/// One finding of one rule.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub rule_id: String,
    pub rule_name: String,
    pub severity: Severity,
    pub message: String,
    pub span: Span,
    pub related: Vec<RelatedLocation>,
    /// Set when an inline comment or the configuration silences the finding: it is then left
    /// out of the exit code and of the reports, except SARIF with `--include-suppressed`.
    pub suppression: Option<Suppression>,
}

/// Why a finding is silenced.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Suppression {
    pub kind: SuppressionKind,
    /// The reason the user wrote (required for inline suppressions).
    pub justification: String,
    /// The comment or configuration entry that silences the finding.
    pub span: Option<Span>,
}

/// Where a suppression was written (SARIF's `suppression.kind`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum SuppressionKind {
    /// A `# dockpolicy ignore=…` comment in the file of the finding.
    InSource,
    /// The configuration file or a baseline.
    External,
}

/// A secondary location of a finding.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RelatedLocation {
    pub span: Span,
    pub message: String,
}

/// A param value given by configuration instead of the rule's default.
#[derive(Clone, Debug, PartialEq)]
pub enum ParamValue {
    Bool(bool),
    Integer(i64),
    String(String),
    Size(u64),
    List(Vec<ParamValue>),
}

impl ParamValue {
    fn to_value<'m>(&self) -> Value<'m> {
        match self {
            ParamValue::Bool(b) => Value::Bool(*b),
            ParamValue::Integer(i) => Value::Integer(*i),
            ParamValue::String(s) => Value::String(Cow::Owned(s.clone()), None),
            ParamValue::Size(s) => Value::Size(*s),
            ParamValue::List(items) => {
                Value::list(items.iter().map(ParamValue::to_value).collect())
            }
        }
    }
}

/// A rule to evaluate, with the param values configuration gives it.
pub struct RuleRun<'r> {
    pub rule: &'r Rule,
    pub params: HashMap<String, ParamValue>,
}

/// Evaluates every rule over `world`, in parallel. Findings are deduplicated and sorted by
/// file, position, rule ID and message; problems (a rule that ran out of steps, an invalid
/// regular expression given by configuration) are diagnostics at the rule.
pub fn evaluate(rules: &[RuleRun<'_>], world: &World<'_>) -> (Vec<Finding>, Vec<Diagnostic>) {
    evaluate_with_budget(rules, world, MAX_STEPS)
}

/// [`evaluate`] with a budget of `max_steps` steps per rule instead of [`MAX_STEPS`].
pub fn evaluate_with_budget(
    rules: &[RuleRun<'_>],
    world: &World<'_>,
    max_steps: u64,
) -> (Vec<Finding>, Vec<Diagnostic>) {
    let results: Vec<(Vec<Finding>, Vec<Diagnostic>)> = rules
        .par_iter()
        .map(|run| evaluate_rule(run, world, max_steps))
        .collect();
    let mut findings = Vec::new();
    let mut diagnostics = Vec::new();
    for (rule_findings, rule_diagnostics) in results {
        findings.extend(rule_findings);
        diagnostics.extend(rule_diagnostics);
    }
    sort_findings(&mut findings, world.sources);
    (findings, diagnostics)
}

/// Sorts findings by file, position, rule ID, message and related locations (so the order does
/// not depend on the number of threads) and removes repeats.
pub fn sort_findings(findings: &mut Vec<Finding>, sources: &Sources) {
    let path = |span: Span| sources.get(span.file).map_or("", |f| f.rel_path.as_str());
    // The related locations are part of the order, so that equal findings end up next to
    // each other and `dedup` removes every repeat.
    findings.sort_by(|a, b| {
        (
            path(a.span),
            a.span.start,
            a.span.end,
            &a.rule_id,
            &a.message,
        )
            .cmp(&(
                path(b.span),
                b.span.start,
                b.span.end,
                &b.rule_id,
                &b.message,
            ))
            .then_with(|| {
                let related = |r: &RelatedLocation| {
                    (path(r.span), r.span.start, r.span.end, r.message.clone())
                };
                a.related
                    .iter()
                    .map(related)
                    .cmp(b.related.iter().map(related))
            })
    });
    findings.dedup();
}

fn evaluate_rule(
    run: &RuleRun<'_>,
    world: &World<'_>,
    max_steps: u64,
) -> (Vec<Finding>, Vec<Diagnostic>) {
    let rule = run.rule;
    let params = rule
        .params
        .iter()
        .map(|param| {
            let value = match run.params.get(&param.name.value) {
                Some(value) => value.to_value(),
                None => literal(&param.default),
            };
            (param.name.value.as_str(), value)
        })
        .collect();
    let Some(first) = rule.queries.first() else {
        return (Vec::new(), Vec::new());
    };
    let mut evaluator = Evaluator {
        world,
        rule,
        query: first,
        params,
        scopes: Vec::new(),
        steps: 0,
        max_steps,
        regexes: FastMap::default(),
        constants: constant_lists(rule),
        conjuncts: Vec::new(),
        quantifier_joins: FastMap::default(),
        indexes: Indexes::default(),
        findings: Vec::new(),
        problem: None,
    };
    // The queries run in order, sharing the step budget; their findings are one list.
    for query in &rule.queries {
        evaluator.query = query;
        evaluator.conjuncts = conjuncts_by_binding(query);
        evaluator.bindings(0);
    }
    let diagnostics = evaluator.problem.take().into_iter().collect();
    (evaluator.findings, diagnostics)
}

/// The value of a literal expression (a param default); strings borrow the rule's text.
fn literal(expr: &Expr) -> Value<'_> {
    match &expr.kind {
        ExprKind::Bool(b) => Value::Bool(*b),
        ExprKind::Integer(i) => Value::Integer(*i),
        ExprKind::String(s) => Value::str(s, None),
        ExprKind::Size(s) => Value::Size(*s),
        ExprKind::List(items) => Value::list(items.iter().map(literal).collect()),
        _ => Value::Null,
    }
}

/// Evaluates one rule. Values live as long as both the model (`'m`) and the rule (`'r`), so
/// that strings are borrowed from either without copying.
struct Evaluator<'w, 'm, 'r> {
    world: &'w World<'m>,
    rule: &'r Rule,
    /// The query being evaluated.
    query: &'r Query,
    /// The rule's params (a rule has a handful: a list is faster than a map).
    params: Vec<(&'r str, Value<'r>)>,
    scopes: Vec<(&'r str, Value<'r>)>,
    steps: u64,
    max_steps: u64,
    regexes: FastMap<String, Option<Regex>>,
    /// The value of each list literal whose elements are all literals (by address), built
    /// once instead of at every evaluation.
    constants: FastMap<usize, Value<'r>>,
    /// The `and`-ed parts of the query's condition, grouped by the binding after which all the
    /// variables they read are bound (see [`conjuncts_by_binding`]).
    conjuncts: Vec<Vec<&'r Expr>>,
    /// The join key of each `any`/`count` met so far (by address), if it has one.
    quantifier_joins: FastMap<usize, Option<JoinKey<'r>>>,
    indexes: Indexes<'r>,
    findings: Vec<Finding>,
    /// The first problem met; evaluation of the rule stops at it.
    problem: Option<Diagnostic>,
}

impl<'m: 'r, 'r> Evaluator<'_, 'm, 'r> {
    /// Counts a step; false once the budget is spent (and records why).
    fn step(&mut self) -> bool {
        if self.problem.is_some() {
            return false;
        }
        self.steps += 1;
        if self.steps > self.max_steps {
            self.problem = Some(
                Diagnostic::error(format!(
                    "rule `{}` stopped after {} steps; its findings are incomplete",
                    self.rule.id.value, self.max_steps
                ))
                .with_span(self.rule.id.span)
                .with_help("narrow the collections it iterates, or the joins between them"),
            );
            return false;
        }
        true
    }

    /// Iterates binding `index` and the ones after it. The condition is checked part by
    /// part as soon as the variables each part reads are bound, so a join is pruned early;
    /// since evaluation has no side effects this reports exactly what checking the whole
    /// condition at the innermost level would.
    fn bindings(&mut self, index: usize) {
        let query = self.query;
        let Some(binding) = query.bindings.get(index) else {
            if self.problem.is_none() {
                self.report();
            }
            return;
        };
        let Value::List(items) = self.eval(&binding.collection) else {
            return;
        };
        let parts = self.conjuncts.get(index).map_or(0, Vec::len);
        let variable = binding.variable.value.as_str();
        let join = self
            .conjuncts
            .get(index)
            .and_then(|parts| find_join_key(variable, parts));
        let visit = self.join_candidates(variable, &items, join);
        let positions: Box<dyn Iterator<Item = usize>> = match visit {
            Some(positions) => Box::new(positions.into_iter()),
            None => Box::new(0..items.len()),
        };
        for position in positions {
            let Some(item) = items.get(position) else {
                continue;
            };
            if !self.step() {
                return;
            }
            self.scopes.push((variable, item.clone()));
            if (0..parts).all(|part| self.conjunct(index, part)) {
                self.bindings(index + 1);
            }
            self.scopes.pop();
        }
    }

    /// The positions of `items` that a loop over `variable` needs to visit when its
    /// condition has the join key `join`: those whose key equals the probe, found in an index
    /// of the list ([`crate::eval::join`]); `None` to visit them all.
    fn join_candidates(
        &mut self,
        variable: &'r str,
        items: &Arc<Vec<Value<'r>>>,
        join: Option<JoinKey<'r>>,
    ) -> Option<Vec<usize>> {
        let join = join?;
        match self.indexes.plan(items, join.element_key) {
            Plan::Scan => return None,
            Plan::Lookup(_) => {}
            Plan::Build => {
                let positions = self.build_index(variable, items, join.element_key);
                if self.problem.is_some() {
                    return None;
                }
                self.indexes.store(items, join.element_key, positions);
            }
        }
        let probe = self.eval(join.probe);
        let Plan::Lookup(positions) = self.indexes.plan(items, join.element_key) else {
            return None;
        };
        // A list never equals an element's key (lists are not indexed): nothing to visit.
        Some(
            IndexKey::of(&probe)
                .and_then(|key| positions.get(&key).cloned())
                .unwrap_or_default(),
        )
    }

    /// The positions of `items` by the value of `element_key` for each, or `None` when a
    /// value is a list (which has no key).
    fn build_index(
        &mut self,
        variable: &'r str,
        items: &Arc<Vec<Value<'r>>>,
        element_key: &'r Expr,
    ) -> Option<Positions<'r>> {
        let mut positions = Positions::default();
        for (position, item) in items.iter().enumerate() {
            if !self.step() {
                return None;
            }
            self.scopes.push((variable, item.clone()));
            let value = self.eval(element_key);
            self.scopes.pop();
            positions
                .entry(IndexKey::of(&value)?)
                .or_default()
                .push(position);
        }
        Some(positions)
    }

    /// The join key of an `any` or `count` (an `all` holds only if every element passes,
    /// so it scans).
    fn quantifier_join(&mut self, quantifier: &'r Quantifier) -> Option<JoinKey<'r>> {
        if quantifier.kind == QuantifierKind::All {
            return None;
        }
        let condition = quantifier.condition.as_ref()?;
        *self
            .quantifier_joins
            .entry(quantifier as *const Quantifier as usize)
            .or_insert_with(|| {
                let mut parts = Vec::new();
                split_and(condition, &mut parts);
                find_join_key(&quantifier.variable.value, &parts)
            })
    }

    /// Whether part `part` of the conjuncts checked after binding `index` holds.
    fn conjunct(&mut self, index: usize, part: usize) -> bool {
        let expr = self.conjuncts.get(index).and_then(|parts| parts.get(part));
        match expr {
            Some(expr) => {
                let expr: &'r Expr = expr;
                self.eval(expr).is_true()
            }
            None => true,
        }
    }

    /// Where a reported value is: its own span, or else the first bound entity's.
    fn location(&self, value: &Value<'_>) -> Option<Span> {
        match value {
            Value::Entity(entity) => self.world.span(*entity),
            Value::String(_, Some(span)) => Some(*span),
            _ => None,
        }
    }

    fn report(&mut self) {
        let report = &self.query.report;
        let target = self.eval(&report.target);
        let fallback = self
            .scopes
            .iter()
            .find_map(|(_, value)| self.location(value));
        let Some(span) = self.location(&target).or(fallback) else {
            return;
        };
        let message = self.template(&report.message);
        let mut related = Vec::new();
        for secondary in &report.related {
            let value = self.eval(&secondary.target);
            let message = self.template(&secondary.message);
            match &value {
                // A list gives one related location per located element, the message
                // followed by the element's label.
                Value::List(items) => {
                    for item in items.iter() {
                        if let Some(span) = self.location(item) {
                            related.push(RelatedLocation {
                                span,
                                message: format!("{message}: {}", self.world.display(item)),
                            });
                        }
                    }
                }
                _ => {
                    if let Some(span) = self.location(&value) {
                        related.push(RelatedLocation { span, message });
                    }
                }
            }
        }
        self.findings.push(Finding {
            rule_id: self.rule.id.value.clone(),
            rule_name: self.rule.name.value.clone(),
            severity: self
                .rule
                .severity
                .as_ref()
                .map_or(Severity::Warning, |s| s.value),
            message,
            span,
            related,
            suppression: None,
        });
    }

    fn template(&mut self, template: &'r Template) -> String {
        let mut out = String::new();
        for part in &template.parts {
            match part {
                TemplatePart::Text(text) => out.push_str(text),
                TemplatePart::Hole(expr) => {
                    let value = self.eval(expr);
                    out.push_str(&self.world.display(&value));
                }
            }
        }
        out
    }

    fn lookup(&mut self, name: &'r str) -> Value<'r> {
        if let Some((_, value)) = self.scopes.iter().rev().find(|(bound, _)| *bound == name) {
            return value.clone();
        }
        if let Some((_, value)) = self.params.iter().find(|(param, _)| *param == name) {
            return value.clone();
        }
        // A top-level collection is built once by the world and shared (the list is reference
        // counted): rules that search a collection inside a loop stay linear in its size.
        self.world.collection_value(name).unwrap_or(Value::Null)
    }

    fn eval(&mut self, expr: &'r Expr) -> Value<'r> {
        if !self.step() {
            return Value::Null;
        }
        match &expr.kind {
            ExprKind::Null => Value::Null,
            ExprKind::Bool(_) | ExprKind::Integer(_) | ExprKind::String(_) | ExprKind::Size(_) => {
                literal(expr)
            }
            ExprKind::List(items) => {
                if let Some(constant) = self.constants.get(&address(expr)) {
                    return constant.clone();
                }
                let values = items.iter().map(|item| self.eval(item)).collect();
                Value::list(values)
            }
            ExprKind::Name(name) => self.lookup(name),
            ExprKind::Field(base, name) => match self.eval(base) {
                Value::Entity(entity) => crate::lang::schema::FieldName::from_name(&name.value)
                    .and_then(|field| self.world.field(entity, field))
                    .unwrap_or(Value::Null),
                _ => Value::Null,
            },
            ExprKind::Call(name, arguments) => {
                let values: Vec<Value<'r>> = arguments.iter().map(|a| self.eval(a)).collect();
                crate::eval::builtins::call(self.world, &name.value, &values)
                    .unwrap_or_else(|| call(&name.value, &values))
            }
            ExprKind::Quantifier(quantifier) => {
                let items = match self.eval(&quantifier.collection) {
                    Value::List(items) => items,
                    _ => return empty_quantifier(quantifier.kind),
                };
                let variable = quantifier.variable.value.as_str();
                let join = self.quantifier_join(quantifier);
                let visit = self.join_candidates(variable, &items, join);
                let positions: Box<dyn Iterator<Item = usize>> = match visit {
                    Some(positions) => Box::new(positions.into_iter()),
                    None => Box::new(0..items.len()),
                };
                let mut count = 0i64;
                for position in positions {
                    let Some(item) = items.get(position) else {
                        continue;
                    };
                    if !self.step() {
                        return Value::Null;
                    }
                    self.scopes.push((variable, item.clone()));
                    let holds = match &quantifier.condition {
                        Some(condition) => self.eval(condition).is_true(),
                        None => true,
                    };
                    self.scopes.pop();
                    match (quantifier.kind, holds) {
                        (QuantifierKind::Any, true) => return Value::Bool(true),
                        (QuantifierKind::All, false) => return Value::Bool(false),
                        (QuantifierKind::Count, true) => count += 1,
                        _ => {}
                    }
                }
                match quantifier.kind {
                    QuantifierKind::Any => Value::Bool(false),
                    QuantifierKind::All => Value::Bool(true),
                    QuantifierKind::Count => Value::Integer(count),
                }
            }
            ExprKind::Not(operand) => Value::Bool(!self.eval(operand).is_true()),
            ExprKind::Binary(op, left, right) => self.binary(*op, left, right),
        }
    }

    fn binary(&mut self, op: BinaryOp, left: &'r Expr, right: &'r Expr) -> Value<'r> {
        match op {
            BinaryOp::And => {
                return Value::Bool(self.eval(left).is_true() && self.eval(right).is_true())
            }
            BinaryOp::Or => {
                return Value::Bool(self.eval(left).is_true() || self.eval(right).is_true())
            }
            _ => {}
        }
        let a = self.eval(left);
        let b = self.eval(right);
        let result = match op {
            BinaryOp::Eq => a.equals(&b),
            BinaryOp::Ne => !a.equals(&b),
            BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge => {
                let ordering = match (&a, &b) {
                    (Value::Integer(x), Value::Integer(y)) => Some(x.cmp(y)),
                    (Value::Size(x), Value::Size(y)) => Some(x.cmp(y)),
                    (Value::String(x, _), Value::String(y, _)) => Some(x.cmp(y)),
                    _ => None,
                };
                ordering.is_some_and(|o| match op {
                    BinaryOp::Lt => o.is_lt(),
                    BinaryOp::Le => o.is_le(),
                    BinaryOp::Gt => o.is_gt(),
                    _ => o.is_ge(),
                })
            }
            BinaryOp::In => contains(&b, &a),
            BinaryOp::NotIn => !contains(&b, &a),
            BinaryOp::Matches => match (a.as_str(), b.as_str()) {
                (Some(text), Some(pattern)) => self
                    .regex(pattern, right.span)
                    .is_some_and(|regex| regex.is_match(text)),
                _ => false,
            },
            BinaryOp::And | BinaryOp::Or => false,
        };
        Value::Bool(result)
    }

    /// The compiled pattern, compiled once per rule; an invalid one (from configuration) is a
    /// problem that stops the rule.
    fn regex(&mut self, pattern: &str, span: Span) -> Option<&Regex> {
        if !self.regexes.contains_key(pattern) {
            let compiled = match Regex::new(pattern) {
                Ok(regex) => Some(regex),
                Err(e) => {
                    self.problem.get_or_insert_with(|| {
                        Diagnostic::error(format!("`{pattern}` is not a valid regular expression"))
                            .with_span(span)
                            .with_help(regex_error_help(e))
                    });
                    None
                }
            };
            self.regexes.insert(pattern.to_string(), compiled);
        }
        self.regexes.get(pattern).and_then(Option::as_ref)
    }
}

/// An expression's address: it names the node for the evaluator's per-node caches.
fn address(expr: &Expr) -> usize {
    expr as *const Expr as usize
}

/// Whether an expression is a literal, or a list of them.
fn is_constant(expr: &Expr) -> bool {
    match &expr.kind {
        ExprKind::Null
        | ExprKind::Bool(_)
        | ExprKind::Integer(_)
        | ExprKind::String(_)
        | ExprKind::Size(_) => true,
        ExprKind::List(items) => items.iter().all(is_constant),
        _ => false,
    }
}

/// The value of every list literal of the rule's queries made only of literals, by address.
fn constant_lists<'r>(rule: &'r Rule) -> FastMap<usize, Value<'r>> {
    let mut constants = FastMap::default();
    let mut visit = |expr: &'r Expr| {
        if matches!(expr.kind, ExprKind::List(_)) && is_constant(expr) {
            constants.insert(address(expr), literal(expr));
        }
    };
    for query in &rule.queries {
        let report = &query.report;
        let templates =
            std::iter::once(&report.message).chain(report.related.iter().map(|r| &r.message));
        let holes = templates
            .flat_map(|t| t.parts.iter())
            .filter_map(|part| match part {
                TemplatePart::Hole(expr) => Some(expr),
                TemplatePart::Text(_) => None,
            });
        let roots = query
            .bindings
            .iter()
            .map(|b| &b.collection)
            .chain(&query.condition)
            .chain(std::iter::once(&report.target))
            .chain(report.related.iter().map(|r| &r.target))
            .chain(holes);
        for root in roots {
            walk(root, &mut visit);
        }
    }
    constants
}

/// Calls `visit` on `expr` and every expression inside it.
fn walk<'e>(expr: &'e Expr, visit: &mut impl FnMut(&'e Expr)) {
    visit(expr);
    match &expr.kind {
        ExprKind::List(items) | ExprKind::Call(_, items) => {
            items.iter().for_each(|item| walk(item, visit))
        }
        ExprKind::Field(base, _) | ExprKind::Not(base) => walk(base, visit),
        ExprKind::Binary(_, left, right) => {
            walk(left, visit);
            walk(right, visit);
        }
        ExprKind::Quantifier(quantifier) => {
            walk(&quantifier.collection, visit);
            if let Some(condition) = &quantifier.condition {
                walk(condition, visit);
            }
        }
        ExprKind::Null
        | ExprKind::Bool(_)
        | ExprKind::Integer(_)
        | ExprKind::String(_)
        | ExprKind::Size(_)
        | ExprKind::Name(_) => {}
    }
}

/// The top-level `and` operands of a query's condition, grouped by the index of the last
/// binding whose variable they read (parts that read none go with the first binding).
fn conjuncts_by_binding(query: &Query) -> Vec<Vec<&Expr>> {
    let mut groups: Vec<Vec<&Expr>> = vec![Vec::new(); query.bindings.len().max(1)];
    let mut parts = Vec::new();
    if let Some(condition) = &query.condition {
        split_and(condition, &mut parts);
    }
    for part in parts {
        let mut names = Vec::new();
        names_read(part, &mut names);
        let level = query
            .bindings
            .iter()
            .rposition(|b| names.contains(&b.variable.value.as_str()))
            .unwrap_or(0);
        if let Some(group) = groups.get_mut(level) {
            group.push(part);
        }
    }
    groups
}

fn split_and<'e>(expr: &'e Expr, parts: &mut Vec<&'e Expr>) {
    match &expr.kind {
        ExprKind::Binary(BinaryOp::And, left, right) => {
            split_and(left, parts);
            split_and(right, parts);
        }
        _ => parts.push(expr),
    }
}

/// Every name an expression reads (variables, params, collections).
fn names_read<'e>(expr: &'e Expr, names: &mut Vec<&'e str>) {
    walk(expr, &mut |e| {
        if let ExprKind::Name(name) = &e.kind {
            names.push(name);
        }
    });
}

fn empty_quantifier<'m>(kind: QuantifierKind) -> Value<'m> {
    match kind {
        QuantifierKind::Any => Value::Bool(false),
        QuantifierKind::All => Value::Bool(true),
        QuantifierKind::Count => Value::Integer(0),
    }
}

/// `needle in haystack`: an element of a list, or a substring of a string.
fn contains(haystack: &Value<'_>, needle: &Value<'_>) -> bool {
    match haystack {
        Value::List(items) => items.iter().any(|item| item.equals(needle)),
        Value::String(text, _) => needle.as_str().is_some_and(|n| text.contains(n)),
        _ => false,
    }
}

fn call<'m>(name: &str, arguments: &[Value<'m>]) -> Value<'m> {
    let text = |i: usize| arguments.get(i).and_then(Value::as_str);
    match name {
        "lower" => text(0).map_or(Value::Null, |t| {
            Value::String(Cow::Owned(t.to_lowercase()), None)
        }),
        "upper" => text(0).map_or(Value::Null, |t| {
            Value::String(Cow::Owned(t.to_uppercase()), None)
        }),
        "starts_with" => {
            Value::Bool(matches!((text(0), text(1)), (Some(a), Some(b)) if a.starts_with(b)))
        }
        "ends_with" => {
            Value::Bool(matches!((text(0), text(1)), (Some(a), Some(b)) if a.ends_with(b)))
        }
        "contains" => Value::Bool(match (arguments.first(), arguments.get(1)) {
            (Some(haystack), Some(needle)) => contains(haystack, needle),
            _ => false,
        }),
        "len" => Value::Integer(match arguments.first() {
            Some(Value::String(t, _)) => i64::try_from(t.chars().count()).unwrap_or(i64::MAX),
            Some(Value::List(items)) => i64::try_from(items.len()).unwrap_or(i64::MAX),
            _ => 0,
        }),
        "exists" => Value::Bool(arguments.first().is_some_and(|v| !v.is_null())),
        "coalesce" => arguments
            .iter()
            .find(|v| !v.is_null())
            .cloned()
            .unwrap_or(Value::Null),
        _ => Value::Null,
    }
}
