//! The evaluator: runs every rule over the model in one pass, rules and parts of rules in
//! parallel, and returns the findings in a deterministic order. Work is bounded: each rule
//! may take at most [`MAX_STEPS`] steps (loop iterations, quantifier elements and expression
//! nodes), and expression depth is bounded by the parser, so no rule can loop forever or
//! blow the stack.

use std::borrow::Cow;
use std::collections::HashMap;
use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use rayon::prelude::*;
use serde::Serialize;

use crate::diag::{Diagnostic, Severity};
use crate::eval::compile::{
    compile, matcher, CompiledQuery, Loop, Node, Pattern, Patterns, Piece, Report,
};
use crate::eval::join::{Candidates, Index, IndexKey, Indexes, KeyId, Plan, SharedIndexes};
use crate::eval::members::Members;
use crate::eval::native::{self, Cx, NativeRule, RuleInRun, Stop};
use crate::eval::value::Value;
use crate::eval::world::World;
use crate::lang::ast::{BinaryOp, Expr, ExprKind, QuantifierKind, Rule};
use crate::lang::schema::FieldName;
use crate::source::{Sources, Span};

/// A part adds its steps to its rule's count in batches of this many (so the parts of a rule
/// do not contend for the count at every step); a part may thus run this many steps past
/// the budget before it stops.
const STEP_BATCH: u64 = 4096;

/// The bytes a message reserves for the value of each hole of its template.
const HOLE_CAPACITY: usize = 48;

/// The most steps one rule may take over one repository.
pub const MAX_STEPS: u64 = 50_000_000;

/// One finding of one rule.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The rule's ID and name, shared by all its findings.
    pub rule_id: Arc<str>,
    pub rule_name: Arc<str>,
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

/// A rule's ID, name and severity, as its findings carry them (the texts allocated once).
pub struct RuleIdentity {
    pub id: Arc<str>,
    pub name: Arc<str>,
    pub severity: Severity,
}

impl RuleIdentity {
    pub fn of(rule: &Rule) -> RuleIdentity {
        RuleIdentity {
            id: Arc::from(rule.id.value.as_str()),
            name: Arc::from(rule.name.value.as_str()),
            severity: rule
                .severity
                .as_ref()
                .map_or(Severity::Warning, |s| s.value),
        }
    }
}

/// Builds the findings of one rule over one world: the evaluator's and the compiled rules'
/// ([`crate::eval::native`]) `report`.
pub struct FindingOf<'a, 'm> {
    pub world: &'a World<'m>,
    pub rule: &'a RuleIdentity,
}

impl FindingOf<'_, '_> {
    /// Where the finding of a `report` of `target` is: at `target`, or else at the first of
    /// the `bound` variables that has a location; `None` (no finding) when none has one.
    pub fn locate<'v, 'x: 'v>(
        &self,
        target: &Value<'_>,
        mut bound: impl Iterator<Item = &'v Value<'x>>,
    ) -> Option<Span> {
        self.location(target)
            .or_else(|| bound.find_map(|value| self.location(value)))
    }

    /// The finding at `span` with its message, and a related location for each related
    /// value that has one (a list gives one per located element, the message followed by the
    /// element's label).
    pub fn finding(
        &self,
        span: Span,
        message: String,
        related_values: Vec<(Value<'_>, String)>,
    ) -> Finding {
        let mut related = Vec::new();
        for (value, message) in related_values {
            match &value {
                Value::List(items) => {
                    for item in items.iter() {
                        if let Some(span) = self.location(item) {
                            let mut text = String::with_capacity(message.len() + 16);
                            text.push_str(&message);
                            text.push_str(": ");
                            self.world.write_display(item, &mut text);
                            related.push(RelatedLocation {
                                span,
                                message: text,
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
        Finding {
            rule_id: Arc::clone(&self.rule.id),
            rule_name: Arc::clone(&self.rule.name),
            severity: self.rule.severity,
            message,
            span,
            related,
            suppression: None,
        }
    }

    /// Where a reported value is: its own span (an entity's, or a string's from a file).
    fn location(&self, value: &Value<'_>) -> Option<Span> {
        match value {
            Value::Entity(entity) => self.world.span(*entity),
            Value::String(_, Some(span)) => Some(*span),
            _ => None,
        }
    }
}

/// The room a message of `pieces` is made with: its text and a short value per hole, so
/// that it rarely grows.
pub(crate) fn message_capacity(pieces: &[Piece<'_>]) -> usize {
    pieces
        .iter()
        .map(|piece| match piece {
            Piece::Text(text) => text.len(),
            Piece::Hole(_) => HOLE_CAPACITY,
        })
        .sum()
}

/// Evaluates every rule over `world`, in parallel. Findings are deduplicated and sorted by
/// file, position, rule ID and message; problems (a rule that ran out of steps, an invalid
/// regular expression given by configuration) are diagnostics at the rule. A bundled rule
/// runs as the Rust it is compiled to ([`crate::eval::native`]), with its params' values,
/// which finds what the evaluator finds and counts only the elements its loops visit as
/// steps; the evaluator runs the others. Each rule has a budget of [`MAX_STEPS`].
pub fn evaluate(rules: &[RuleRun<'_>], world: &World<'_>) -> (Vec<Finding>, Vec<Diagnostic>) {
    evaluate_with(rules, world, MAX_STEPS, true)
}

/// [`evaluate`] with every rule in the evaluator (none as compiled Rust), within a budget of
/// `max_steps` steps per rule.
pub fn evaluate_with_budget(
    rules: &[RuleRun<'_>],
    world: &World<'_>,
    max_steps: u64,
) -> (Vec<Finding>, Vec<Diagnostic>) {
    evaluate_with(rules, world, max_steps, false)
}

/// The work is split into parts that run in parallel: each query of each rule, and a query
/// whose first loop is over a top-level collection into runs of that collection's elements
/// ([`split_query`]), so that one expensive rule does not leave the other cores idle. The
/// split depends only on the model, never on the number of threads, and a rule's parts share
/// its step budget: the result is the same on any number of cores.
pub(crate) fn evaluate_with(
    rules: &[RuleRun<'_>],
    world: &World<'_>,
    max_steps: u64,
    native: bool,
) -> (Vec<Finding>, Vec<Diagnostic>) {
    let patterns = Patterns::default();
    let prepared: Vec<PreparedRule<'_>> = rules
        .par_iter()
        .map(|run| PreparedRule::new(run, &patterns, native))
        .collect();
    let mut parts: Vec<Part<'_>> = prepared
        .iter()
        .enumerate()
        .flat_map(|(rule, prepared)| {
            prepared
                .splits_on()
                .into_iter()
                .enumerate()
                .flat_map(move |(query, splits_on)| split_query(world, rule, query, splits_on))
        })
        .collect();
    // The parts run in the order of where their runs start in their collections, every
    // rule's first run first (a stable sort keeps the rules' order among equals). The
    // collections list the model in the order of its files, so parts that follow each other
    // read the same Dockerfiles, while they are in the core's cache: run rule after rule
    // over the whole model, each rule read it from memory again (on 2,000 services this
    // order is a quarter faster for the same instructions).
    parts.sort_by_key(|part| {
        part.elements.as_ref().map_or(0, |(items, range)| {
            range.start.saturating_mul(MAX_PARTS) / items.len().max(1)
        })
    });
    let shared = SharedIndexes::default();
    let results: Vec<(usize, Vec<Finding>, Option<Diagnostic>)> = parts
        .par_iter()
        .map(|part| {
            let (findings, problem) =
                run_part(part, &prepared, world, &shared, &patterns, max_steps);
            (part.rule, findings, problem)
        })
        .collect();
    // Per rule, in the order of its parts: a rule that ran out of steps or met a problem
    // reports the diagnostic and none of its findings (which ones its parts had found
    // before stopping would depend on how the threads ran).
    let mut outcomes: Vec<(Vec<Vec<Finding>>, Option<Diagnostic>)> =
        prepared.iter().map(|_| (Vec::new(), None)).collect();
    for (rule, findings, problem) in results {
        if let Some((rule_findings, first_problem)) = outcomes.get_mut(rule) {
            rule_findings.push(findings);
            if first_problem.is_none() {
                *first_problem = problem;
            }
        }
    }
    let mut diagnostics = Vec::new();
    let mut kept = Vec::new();
    for (prepared, (rule_findings, problem)) in prepared.iter().zip(outcomes) {
        if prepared.spent.load(Ordering::Relaxed) > max_steps {
            diagnostics.push(
                Diagnostic::error(format!(
                    "rule `{}` stopped after {max_steps} steps; its findings are left out",
                    prepared.rule.id.value
                ))
                .with_span(prepared.rule.id.span)
                .with_help("narrow the collections it iterates, or the joins between them"),
            );
        } else if let Some(problem) = problem {
            diagnostics.push(problem);
        } else {
            kept.extend(rule_findings);
        }
    }
    // The findings are moved once, into a vector of the right size.
    let mut findings = Vec::with_capacity(kept.iter().map(Vec::len).sum());
    for part in kept {
        findings.extend(part);
    }
    sort_findings(&mut findings, world.sources);
    (findings, diagnostics)
}

/// A rule with its params' values, compiled, and the steps its parts have taken.
struct PreparedRule<'r> {
    rule: &'r Rule,
    identity: RuleIdentity,
    queries: Vec<CompiledQuery<'r>>,
    /// The rule compiled to Rust, when it is a bundled rule of the text the code was
    /// generated from (its parts then run that code instead of the evaluator), and the
    /// values of its params that code reads.
    native: Option<(&'static NativeRule, Vec<Value<'static>>)>,
    spent: AtomicU64,
}

impl<'r> PreparedRule<'r> {
    fn new(run: &RuleRun<'r>, patterns: &Patterns, native: bool) -> PreparedRule<'r> {
        let rule = run.rule;
        let params = rule_params(rule, &run.params);
        let native = native
            .then(|| native::find(&rule.id.value, rule.text_hash))
            .flatten()
            .map(|code| (code, params.iter().map(|(_, v)| v.to_static()).collect()));
        // A compiled rule's queries are not compiled again.
        let queries = match native {
            Some(_) => Vec::new(),
            None => compile(rule, &params, patterns),
        };
        PreparedRule {
            rule,
            identity: RuleIdentity::of(rule),
            queries,
            native,
            spent: AtomicU64::new(0),
        }
    }
}

impl PreparedRule<'_> {
    /// For each query, the top-level collection whose elements it can be given in runs
    /// ([`Loop::splits_on`] of its first loop, which the compiled rule was generated with).
    fn splits_on(&self) -> Vec<Option<&str>> {
        match &self.native {
            Some((native, _)) => native.queries.iter().map(|query| query.splits_on).collect(),
            None => self
                .queries
                .iter()
                .map(|query| query.bindings.first().and_then(Loop::splits_on))
                .collect(),
        }
    }
}

/// The value of each param of `rule`: the one `given` by configuration, else its default.
pub fn rule_params<'r>(
    rule: &'r Rule,
    given: &HashMap<String, ParamValue>,
) -> Vec<(&'r str, Value<'r>)> {
    rule.params
        .iter()
        .map(|param| {
            let value = match given.get(&param.name.value) {
                Some(value) => value.to_value(),
                None => literal(&param.default),
            };
            (param.name.value.as_str(), value)
        })
        .collect()
}

/// Work that runs on one thread: one query of one rule, over its first loop's elements
/// `elements` (all of them when `None`).
struct Part<'v> {
    rule: usize,
    query: usize,
    elements: Option<(Arc<Vec<Value<'v>>>, Range<usize>)>,
}

/// A top-level collection is split into runs of at least this many elements.
const MIN_PART_LEN: usize = 64;
/// And into at most this many runs: beyond, parts would not be busier, only more numerous
/// (each plans its own join indexes and counts the steps of building them).
const MAX_PARTS: usize = 32;

/// The parts of query `query` of rule `rule`: runs of the elements of the top-level
/// collection its first loop is over (`splits_on`: [`Loop::splits_on`]), else the whole
/// query.
fn split_query<'m>(
    world: &World<'m>,
    rule: usize,
    query: usize,
    splits_on: Option<&str>,
) -> Vec<Part<'m>> {
    let whole = || {
        vec![Part {
            rule,
            query,
            elements: None,
        }]
    };
    let Some(Value::List(items)) = splits_on.and_then(|name| world.collection_value(name)) else {
        return whole();
    };
    let count = (items.len() / MIN_PART_LEN).clamp(1, MAX_PARTS);
    let length = items.len().div_ceil(count);
    (0..count)
        .map(|index| Part {
            rule,
            query,
            elements: Some((
                Arc::clone(&items),
                index * length..((index + 1) * length).min(items.len()),
            )),
        })
        .collect()
}

/// Runs one part: its findings, and the problem that stopped it, if any.
fn run_part<'m: 'r, 'r>(
    part: &Part<'r>,
    rules: &[PreparedRule<'r>],
    world: &World<'m>,
    shared: &SharedIndexes<'r>,
    patterns: &Patterns,
    max_steps: u64,
) -> (Vec<Finding>, Option<Diagnostic>) {
    let Some(prepared) = rules.get(part.rule) else {
        return (Vec::new(), None);
    };
    if let Some((native, params)) = &prepared.native {
        let range = part.elements.as_ref().map(|(_, range)| range.clone());
        let rule = RuleInRun {
            file: prepared.rule.file,
            identity: &prepared.identity,
            params,
            spent: &prepared.spent,
            max_steps,
        };
        let mut cx = Cx::new(world, patterns, rule, range);
        let outcome = native
            .queries
            .get(part.query)
            .map_or(Ok(()), |query| (query.run)(&mut cx));
        // The last steps are added; a rule over its budget is reported as such.
        let counted = cx.count_steps();
        let problem = match outcome.and(counted) {
            Err(Stop::Problem(problem)) => Some(problem),
            Ok(()) | Err(Stop::OutOfSteps) => None,
        };
        return (cx.findings, problem);
    }
    let Some(query) = prepared.queries.get(part.query) else {
        return (Vec::new(), None);
    };
    let mut evaluator = Evaluator::new(world, prepared, patterns, shared, max_steps);
    match &part.elements {
        Some((items, range)) => {
            for item in items.get(range.clone()).unwrap_or_default() {
                if !evaluator.binding_element(query, 0, item.clone(), None) {
                    break;
                }
            }
        }
        None => evaluator.bindings(query, 0),
    }
    evaluator.count_steps();
    (evaluator.findings, evaluator.problem)
}

/// Sorts findings by file, position, rule ID, message and related locations (so the order does
/// not depend on the number of threads) and removes repeats.
pub fn sort_findings(findings: &mut Vec<Finding>, sources: &Sources) {
    // Files compare by their relative path's rank among the distinct paths (an unknown file
    // has the path "", the least), so that a comparison reads no path.
    let mut paths: Vec<&str> = sources
        .iter()
        .map(|(_, file)| file.rel_path.as_str())
        .chain([""])
        .collect();
    paths.sort_unstable();
    paths.dedup();
    let ranks: Vec<u32> = sources
        .iter()
        .map(|(_, file)| {
            let rank = paths
                .binary_search(&file.rel_path.as_str())
                .unwrap_or_default();
            u32::try_from(rank).unwrap_or(u32::MAX)
        })
        .collect();
    let path = |span: Span| ranks.get(span.file.0 as usize).copied().unwrap_or(0);
    // Each finding's file, start and end are packed once into a key, with its position last,
    // so that the keys are distinct and sorting them (unstable, parallel) is as stable as
    // sorting the findings. The related locations are part of the order so that equal
    // findings end up next to each other and every repeat is removed. The findings are then
    // moved once each (a finding is large: sorting them in place moves each many times).
    let keys = |finding: &Finding, position: usize| {
        let position = u32::try_from(position).unwrap_or(u32::MAX);
        u128::from(path(finding.span)) << 96
            | u128::from(finding.span.start) << 64
            | u128::from(finding.span.end) << 32
            | u128::from(position)
    };
    let mut order: Vec<u128> = findings
        .iter()
        .enumerate()
        .map(|(position, finding)| keys(finding, position))
        .collect();
    let mut slots: Vec<Option<Finding>> = findings.drain(..).map(Some).collect();
    let at = |key: u128| (key & u128::from(u32::MAX)) as usize;
    let finding = |key: u128| slots.get(at(key)).and_then(Option::as_ref);
    // Sorted by the keys alone, findings at the same place are next to each other in the
    // order they were found; each such run is then ordered by rule ID, message and related
    // locations (most places have one finding, so most keys are never compared again).
    order.par_sort_unstable();
    for run in order.chunk_by_mut(|a, b| a >> 32 == b >> 32) {
        if run.len() < 2 {
            continue;
        }
        run.sort_unstable_by(|&a, &b| {
            let (Some(x), Some(y)) = (finding(a), finding(b)) else {
                return a.cmp(&b);
            };
            (&x.rule_id, &x.message)
                .cmp(&(&y.rule_id, &y.message))
                .then_with(|| {
                    x.related
                        .iter()
                        .map(|r| (path(r.span), r.span.start, r.span.end, &r.message))
                        .cmp(
                            y.related
                                .iter()
                                .map(|r| (path(r.span), r.span.start, r.span.end, &r.message)),
                        )
                })
                .then(a.cmp(&b))
        });
    }
    findings.reserve(order.len());
    for key in order {
        let Some(next) = slots.get_mut(at(key)).and_then(Option::take) else {
            continue;
        };
        // Repeats are next to each other; only findings at the same place can be equal.
        if findings
            .last()
            .is_some_and(|last| last.span == next.span && *last == next)
        {
            continue;
        }
        findings.push(next);
    }
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

/// Evaluates one rule's compiled queries. Values live as long as both the model (`'m`) and
/// the rule (`'r`), so that strings are borrowed from either without copying.
struct Evaluator<'w, 'm, 'r> {
    world: &'w World<'m>,
    rule: &'w PreparedRule<'r>,
    /// The values of the variables bound, outermost first (a variable's slot is its depth).
    scopes: Vec<Value<'r>>,
    /// The arguments of the calls being evaluated (one stack instead of a list per call).
    arguments: Vec<Value<'r>>,
    /// The steps this part has taken, and how many of them are added to the rule's `spent`.
    steps: u64,
    steps_counted: u64,
    /// The step count at which [`Evaluator::step`] leaves its fast path: the end of the
    /// current batch, or 0 once the part is stopped (out of steps or a problem met), so
    /// that counting a step is one comparison.
    stop_at: u64,
    max_steps: u64,
    /// Set once the rule's `spent` is over `max_steps`: the part stops.
    out_of_steps: bool,
    /// The run's compiled patterns, where those computed at evaluation are found.
    patterns: &'w Patterns,
    indexes: Indexes<'r>,
    /// The indexes the other parts have built.
    shared: &'w SharedIndexes<'r>,
    findings: Vec<Finding>,
    /// The first problem met; evaluation of the rule stops at it.
    problem: Option<Diagnostic>,
}

impl<'w, 'm: 'r, 'r> Evaluator<'w, 'm, 'r> {
    /// An evaluator of one part of `rule`, with no variable bound and no step taken yet.
    fn new(
        world: &'w World<'m>,
        rule: &'w PreparedRule<'r>,
        patterns: &'w Patterns,
        shared: &'w SharedIndexes<'r>,
        max_steps: u64,
    ) -> Evaluator<'w, 'm, 'r> {
        Evaluator {
            world,
            rule,
            scopes: Vec::new(),
            arguments: Vec::new(),
            steps: 0,
            steps_counted: 0,
            stop_at: STEP_BATCH - 1,
            max_steps,
            out_of_steps: false,
            patterns,
            indexes: Indexes::default(),
            shared,
            findings: Vec::new(),
            problem: None,
        }
    }

    /// Counts a step; false once the rule's budget is spent or a problem stopped the part.
    #[inline]
    fn step(&mut self) -> bool {
        if self.steps < self.stop_at {
            self.steps += 1;
            return true;
        }
        self.slow_step()
    }

    /// Counts `count` steps, as that many calls of [`Evaluator::step`] would.
    fn steps(&mut self, count: u64) -> bool {
        if self.steps + count <= self.stop_at {
            self.steps += count;
            return true;
        }
        (0..count).all(|_| self.step())
    }

    /// [`Evaluator::step`] at the end of a batch or once the part is stopped: a stopped part
    /// takes no more steps; else the step ends the batch, which is added to the rule's.
    #[cold]
    #[inline(never)]
    fn slow_step(&mut self) -> bool {
        if self.problem.is_some() || self.out_of_steps {
            self.stop_at = 0;
            return false;
        }
        self.steps += 1;
        self.count_steps();
        !self.out_of_steps
    }

    /// Adds the steps taken since the last call to the rule's, notes whether the rule's
    /// budget is spent, and sets where the next batch ends.
    fn count_steps(&mut self) {
        let batch = self.steps - self.steps_counted;
        self.steps_counted = self.steps;
        let spent = self.rule.spent.fetch_add(batch, Ordering::Relaxed) + batch;
        if spent > self.max_steps {
            self.out_of_steps = true;
        }
        self.stop_at = if self.out_of_steps || self.problem.is_some() {
            0
        } else {
            self.steps_counted + STEP_BATCH - 1
        };
    }

    /// Stops the part at `problem` (the first one met is kept).
    fn raise(&mut self, problem: impl FnOnce() -> Diagnostic) {
        self.problem.get_or_insert_with(problem);
        self.stop_at = 0;
    }

    /// Iterates binding `index` of `query` and the ones after it. The condition is checked
    /// part by part as soon as the variables each part reads are bound, so a join is pruned
    /// early; since evaluation has no side effects this reports exactly what checking the
    /// whole condition at the innermost level would.
    fn bindings(&mut self, query: &CompiledQuery<'r>, index: usize) {
        let Some(binding) = query.bindings.get(index) else {
            if self.problem.is_none() && !self.out_of_steps {
                self.report(&query.report);
            }
            return;
        };
        // `for x in [a, b]`: each element is bound as it is computed, without a list (a
        // literal list is never shared, so it would be scanned anyway).
        if let Node::List(elements) = &binding.collection {
            if !self.step() {
                return;
            }
            for element in elements {
                let value = self.eval(element);
                if !self.binding_element(query, index, value, None) {
                    return;
                }
            }
            return;
        }
        let Value::List(items) = self.eval(&binding.collection) else {
            return;
        };
        match self.join_candidates(binding, &items) {
            Some(candidates) => {
                // The index found exactly the elements whose key equals the probe: the join
                // part holds for each of them and is not evaluated again.
                let known = binding.join.map(|join| join.part);
                for item in candidates.positions().filter_map(|p| items.get(p)) {
                    if !self.binding_element(query, index, item.clone(), known) {
                        return;
                    }
                }
            }
            None => {
                for item in items.iter() {
                    if !self.binding_element(query, index, item.clone(), None) {
                        return;
                    }
                }
            }
        }
    }

    /// Binds `item` to binding `index` and goes on with the next
    /// binding when its condition parts hold (part `known`, when given, is known to hold);
    /// false once the step budget is spent.
    fn binding_element(
        &mut self,
        query: &CompiledQuery<'r>,
        index: usize,
        item: Value<'r>,
        known: Option<usize>,
    ) -> bool {
        if !self.step() {
            return false;
        }
        self.scopes.push(item);
        let parts = query.bindings.get(index).map_or(&[][..], |b| &b.parts[..]);
        if self.all_hold(parts, known) {
            self.bindings(query, index + 1);
        }
        self.scopes.pop();
        true
    }

    /// Whether every part of `parts` holds, not evaluating part `known` (known to hold).
    fn all_hold(&mut self, parts: &[Node<'r>], known: Option<usize>) -> bool {
        parts
            .iter()
            .enumerate()
            .all(|(i, part)| Some(i) == known || self.holds(part))
    }

    /// The positions of `items` that `lp` needs to visit when it has a join key: those
    /// whose key equals the probe, found in an index of the list ([`crate::eval::join`]);
    /// `None` to visit them all.
    fn join_candidates(
        &mut self,
        lp: &Loop<'r>,
        items: &Arc<Vec<Value<'r>>>,
    ) -> Option<Candidates<'r>> {
        let join = lp.join?;
        let (element_key, probe) = join.sides(&lp.parts)?;
        // Loops whose keys read the same fields of the same list's elements share its index.
        let key = match join.path {
            Some(path) => KeyId::Path(path),
            None => KeyId::Node(node_address(element_key)),
        };
        // The index is looked up once; the loop holds it while it evaluates the probe.
        let index = match self.indexes.plan(items, key, lp.repeated) {
            Plan::Scan => return None,
            Plan::Lookup(index) => index,
            Plan::Build => {
                let index = match self.shared.get(items, key) {
                    // Built by another part: this one counts the steps building it took.
                    Some((index, steps)) => {
                        if !self.steps(steps) {
                            return None;
                        }
                        index
                    }
                    None => {
                        let before = self.steps;
                        let index = self.build_index(items, element_key).map(Arc::new);
                        if self.problem.is_some() {
                            return None;
                        }
                        if !self.out_of_steps {
                            self.shared
                                .insert(items, key, index.clone(), self.steps - before);
                        }
                        index
                    }
                };
                self.indexes.store(items, key, index.clone());
                index?
            }
        };
        let probe = self.eval(probe);
        Some(Candidates::new(index, probe))
    }

    /// The index of `items` by the value of `element_key` for each (evaluated with the
    /// element bound at the next slot), or `None` when a value is a list (which has no key)
    /// or the steps ran out.
    fn build_index(
        &mut self,
        items: &Arc<Vec<Value<'r>>>,
        element_key: &Node<'r>,
    ) -> Option<Index<'r>> {
        let keys = items.iter().map(|item| {
            if !self.step() {
                return None;
            }
            self.scopes.push(item.clone());
            let value = self.eval(element_key);
            self.scopes.pop();
            IndexKey::of(value)
        });
        Index::of_keys(items.len(), keys)
    }

    fn report(&mut self, report: &Report<'r>) {
        let rule: &'w PreparedRule<'r> = self.rule;
        let findings = FindingOf {
            world: self.world,
            rule: &rule.identity,
        };
        let target = self.eval(&report.target);
        let Some(span) = findings.locate(&target, self.scopes.iter()) else {
            return;
        };
        let message = self.template(&report.message);
        let related = report
            .related
            .iter()
            .map(|(target, template)| (self.eval(target), self.template(template)))
            .collect();
        self.findings.push(findings.finding(span, message, related));
    }

    fn template(&mut self, pieces: &[Piece<'r>]) -> String {
        let mut out = String::with_capacity(message_capacity(pieces));
        for piece in pieces {
            match piece {
                Piece::Text(text) => out.push_str(text),
                Piece::Hole(node) => {
                    let value = self.eval(node);
                    self.world.write_display(&value, &mut out);
                }
            }
        }
        out
    }

    /// The value of `node`. Each node evaluated counts a step (SPEC.md §9).
    fn eval(&mut self, node: &Node<'r>) -> Value<'r> {
        if !self.step() {
            return Value::Null;
        }
        self.value(node)
    }

    /// Whether `node` holds: `eval(node).is_true()`, counting the same steps, but conditions
    /// (`not`, `and`, `or`, comparisons, `matches`, quantifiers) are tested without building
    /// a value for each of their nodes.
    fn holds(&mut self, node: &Node<'r>) -> bool {
        if !self.step() {
            return false;
        }
        self.test(node)
    }

    /// [`Evaluator::holds`] once the step of `node` is counted.
    fn test(&mut self, node: &Node<'r>) -> bool {
        match node {
            Node::Not(operand) => !self.holds(operand),
            Node::And(left, right) => self.holds(left) && self.holds(right),
            Node::Or(left, right) => self.holds(left) || self.holds(right),
            Node::Compare(op, left, right) => self.compare(*op, left, right),
            Node::Member(negated, needle, members, _) => self.member(*negated, needle, members),
            Node::Matches(left, right, pattern) => self.matches(left, right, pattern),
            Node::Quantifier(kind, lp) => self.quantifier(*kind, lp).is_true(),
            Node::Const(value) | Node::Param(_, value) => value.is_true(),
            Node::Var(slot) => self.scopes.get(*slot).is_some_and(Value::is_true),
            _ => self.value(node).is_true(),
        }
    }

    /// [`Evaluator::eval`] once the step of `node` is counted.
    fn value(&mut self, node: &Node<'r>) -> Value<'r> {
        match node {
            Node::Const(value) | Node::Param(_, value) => value.clone(),
            Node::Var(slot) => self.scopes.get(*slot).cloned().unwrap_or(Value::Null),
            // The variable's step, then its value's field, read in place.
            Node::VarField(slot, field) => {
                if !self.step() {
                    return Value::Null;
                }
                self.var_field(*slot, *field)
            }
            Node::Field(base, field) => match self.eval(base) {
                Value::Entity(entity) => self.world.field(entity, *field).unwrap_or(Value::Null),
                _ => Value::Null,
            },
            // A top-level collection is built once by the world and shared (the list is
            // reference counted): rules that search a collection inside a loop stay linear
            // in its size.
            Node::Collection(name) => self.world.collection_value(name).unwrap_or(Value::Null),
            Node::List(items) => self.list(items),
            Node::Call(name, arguments) => self.call(name, arguments),
            Node::Quantifier(kind, lp) => self.quantifier(*kind, lp),
            Node::Not(_)
            | Node::And(..)
            | Node::Or(..)
            | Node::Compare(..)
            | Node::Member(..)
            | Node::Matches(..) => Value::Bool(self.test(node)),
        }
    }

    /// A list of the values of `items`.
    #[inline(never)]
    fn list(&mut self, items: &[Node<'r>]) -> Value<'r> {
        let values = items.iter().map(|item| self.eval(item)).collect();
        Value::list(values)
    }

    /// A call of the function `name`: a builtin of the world's, else one of [`call`]'s.
    #[inline(never)]
    fn call(&mut self, name: &str, arguments: &[Node<'r>]) -> Value<'r> {
        let first = self.arguments.len();
        for argument in arguments {
            let value = self.eval(argument);
            self.arguments.push(value);
        }
        let values = self.arguments.get(first..).unwrap_or_default();
        let result = call(self.world, name, values);
        self.arguments.truncate(first);
        result
    }

    /// `left OP right` for the comparison operators. Operands that are constants, variables
    /// or fields of variables (nearly all of them) are read in place once their steps are
    /// counted.
    fn compare(&mut self, op: BinaryOp, left: &Node<'r>, right: &Node<'r>) -> bool {
        if let (Some(l), Some(r)) = (read_steps(left), read_steps(right)) {
            if !self.steps(l + r) {
                return false;
            }
            return compare(op, &self.read(left), &self.read(right));
        }
        let a = self.operand(left);
        let b = self.operand(right);
        compare(op, &a, &b)
    }

    /// `needle in LIST` (`not in` when `negated`) for a constant list, looked up in its
    /// prepared `members`, counting the steps (and giving the answer when they run out) of
    /// [`Evaluator::compare`] with the list as a constant operand.
    fn member(&mut self, negated: bool, needle: &Node<'r>, members: &Members<'r>) -> bool {
        if let Some(steps) = read_steps(needle) {
            if !self.steps(steps + 1) {
                return false;
            }
            return members.contains(&self.read(needle)) != negated;
        }
        let value = self.eval(needle);
        if !self.step() {
            // The list is then null, which contains nothing.
            return negated;
        }
        members.contains(&value) != negated
    }

    /// The value of `node`, a constant, a variable or a field of a variable (any other node
    /// is null), read without evaluating it: its steps ([`read_steps`]) are counted apart.
    #[inline(always)]
    fn read<'a>(&'a self, node: &'a Node<'r>) -> Cow<'a, Value<'r>> {
        match node {
            Node::Const(value) | Node::Param(_, value) => Cow::Borrowed(value),
            Node::Var(slot) => self
                .scopes
                .get(*slot)
                .map_or(Cow::Owned(Value::Null), Cow::Borrowed),
            Node::VarField(slot, field) => Cow::Owned(self.var_field(*slot, *field)),
            _ => Cow::Owned(Value::Null),
        }
    }

    /// Field `field` of the value of the variable at `slot`.
    fn var_field(&self, slot: usize, field: FieldName) -> Value<'r> {
        match self.scopes.get(slot) {
            Some(Value::Entity(entity)) => self.world.field(*entity, field).unwrap_or(Value::Null),
            _ => Value::Null,
        }
    }

    /// The value of an operand: a constant is borrowed from the compiled rule instead of
    /// copied (the step is counted as [`Evaluator::eval`] would).
    fn operand<'n>(&mut self, node: &'n Node<'r>) -> Cow<'n, Value<'r>> {
        match node {
            Node::Const(value) | Node::Param(_, value) => {
                if !self.step() {
                    return Cow::Owned(Value::Null);
                }
                Cow::Borrowed(value)
            }
            _ => Cow::Owned(self.eval(node)),
        }
    }

    /// `left matches right`: false when `left` is not a string (`right` is then not
    /// evaluated); an invalid pattern stops the part.
    fn matches(&mut self, left: &Node<'r>, right: &Node<'r>, pattern: &Pattern) -> bool {
        // A constant pattern's text, when read in place.
        if let (Some(steps), Pattern::Constant(constant)) = (read_steps(left), pattern) {
            if !self.steps(steps) {
                return false;
            }
            let matched = match self.read(left).as_str() {
                Some(text) => constant.regex().map(|regex| regex.is_match(text)),
                None => return false,
            };
            return self.answer(matched);
        }
        let text = self.eval(left);
        let Some(text) = text.as_str() else {
            return false;
        };
        match pattern {
            Pattern::Constant(constant) => {
                let matched = constant.regex().map(|regex| regex.is_match(text));
                self.answer(matched)
            }
            Pattern::Dynamic(span) => self.matches_computed(text, right, *span),
        }
    }

    /// `text matches right` where the pattern `right` (written at `span`) is computed.
    #[inline(never)]
    fn matches_computed(&mut self, text: &str, right: &Node<'r>, span: Span) -> bool {
        match self.eval(right) {
            Value::String(pattern, _) => {
                let compiled = self.patterns.get(&pattern);
                let matched = matcher(&compiled, &pattern, span).map(|regex| regex.is_match(text));
                self.answer(matched)
            }
            _ => false,
        }
    }

    /// Whether a text matched, or false after stopping the part at the problem of a pattern
    /// that does not compile.
    fn answer(&mut self, matched: Result<bool, Diagnostic>) -> bool {
        matched.unwrap_or_else(|problem| {
            self.raise(|| problem);
            false
        })
    }

    /// `any`, `all` or `count` over the elements of `lp`'s collection.
    fn quantifier(&mut self, kind: QuantifierKind, lp: &Loop<'r>) -> Value<'r> {
        let Value::List(items) = self.eval(&lp.collection) else {
            return quantifier_total(kind, 0);
        };
        let candidates = self.join_candidates(lp, &items);
        let known = candidates.as_ref().and(lp.join).map(|join| join.part);
        let positions: &mut dyn Iterator<Item = usize> = match &candidates {
            Some(candidates) => &mut candidates.positions(),
            None => &mut (0..items.len()),
        };
        let mut count = 0i64;
        for position in positions {
            let Some(item) = items.get(position) else {
                continue;
            };
            if !self.step() {
                return Value::Null;
            }
            self.scopes.push(item.clone());
            let holds = self.all_hold(&lp.parts, known);
            self.scopes.pop();
            if let Some(answer) = tally(kind, holds, &mut count) {
                return answer;
            }
        }
        quantifier_total(kind, count)
    }
}

/// The steps evaluating `node` counts when it is a constant, a variable (one each) or a field
/// of a variable (two), which [`Evaluator::read`] reads in place; `None` for other nodes.
fn read_steps(node: &Node<'_>) -> Option<u64> {
    match node {
        Node::Const(_) | Node::Param(..) | Node::Var(_) => Some(1),
        Node::VarField(..) => Some(2),
        _ => None,
    }
}

/// A node's address: it names the node for the indexes of the loops it is the key of.
fn node_address(node: &Node<'_>) -> usize {
    node as *const Node<'_> as usize
}

/// `a OP b` for the comparison operators (`and`, `or` and `matches` are evaluated apart).
#[inline]
pub(crate) fn compare(op: BinaryOp, a: &Value<'_>, b: &Value<'_>) -> bool {
    match op {
        BinaryOp::Eq => a.equals(b),
        BinaryOp::Ne => !a.equals(b),
        BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge => {
            let ordering = match (a, b) {
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
        BinaryOp::In => contains(b, a),
        BinaryOp::NotIn => !contains(b, a),
        BinaryOp::And | BinaryOp::Or | BinaryOp::Matches => false,
    }
}

/// The answer of `any`, `all` or `count` once every element is visited without deciding it,
/// `count` of them holding (0 for an empty list or no list).
fn quantifier_total<'m>(kind: QuantifierKind, count: i64) -> Value<'m> {
    match kind {
        QuantifierKind::Any => Value::Bool(false),
        QuantifierKind::All => Value::Bool(true),
        QuantifierKind::Count => Value::Integer(count),
    }
}

/// What an element whose condition `holds` does to `any`, `all` or `count`: the answer when
/// it decides it (`any` of a true, `all` of a false), else `None`, having counted it.
fn tally<'m>(kind: QuantifierKind, holds: bool, count: &mut i64) -> Option<Value<'m>> {
    match (kind, holds) {
        (QuantifierKind::Any, true) => Some(Value::Bool(true)),
        (QuantifierKind::All, false) => Some(Value::Bool(false)),
        (QuantifierKind::Count, true) => {
            *count += 1;
            None
        }
        _ => None,
    }
}

/// `needle in haystack`: an element of a list, or a substring of a string.
#[inline]
pub(crate) fn contains(haystack: &Value<'_>, needle: &Value<'_>) -> bool {
    match haystack {
        // A string equals only a string of the same text: those are compared directly.
        Value::List(items) => match needle {
            Value::String(needle, _) => items
                .iter()
                .any(|item| matches!(item, Value::String(text, _) if text == needle)),
            _ => items.iter().any(|item| item.equals(needle)),
        },
        Value::String(text, _) => needle.as_str().is_some_and(|n| text.contains(n)),
        _ => false,
    }
}

/// A call of the function `name`: one of the world's ([`crate::eval::builtins`]), else a
/// string or list function.
pub(crate) fn call<'m>(world: &World<'_>, name: &str, arguments: &[Value<'m>]) -> Value<'m> {
    crate::eval::builtins::call(world, name, arguments)
        .unwrap_or_else(|| call_value_function(name, arguments))
}

/// The string and list functions, which read nothing of the world.
fn call_value_function<'m>(name: &str, arguments: &[Value<'m>]) -> Value<'m> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::value::Entity;
    use proptest::prelude::*;

    fn value() -> impl Strategy<Value = Value<'static>> {
        prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            (0i64..3).prop_map(Value::Integer),
            "[ab]{0,2}".prop_map(|text| Value::String(Cow::Owned(text), None)),
            (0usize..3).prop_map(|i| Value::Entity(Entity::Dockerfile(i))),
        ]
    }

    /// A node evaluated as the evaluator did before its fast paths: every node through one
    /// general `eval`, its operands evaluated as nodes, each step counted one by one (a field
    /// of a variable is the two nodes it was compiled from). Quantifiers scan (the generated
    /// ones have no join).
    struct Reference<'a, 'r> {
        world: &'a World<'r>,
        scopes: Vec<Value<'r>>,
        steps: u64,
    }

    impl<'r> Reference<'_, 'r> {
        fn eval(&mut self, node: &Node<'r>) -> Value<'r> {
            self.steps += 1;
            let field = |world: &World<'r>, base: Value<'r>, field: FieldName| match base {
                Value::Entity(entity) => world.field(entity, field).unwrap_or(Value::Null),
                _ => Value::Null,
            };
            match node {
                Node::Const(value) | Node::Param(_, value) => value.clone(),
                Node::Var(slot) => self.scopes.get(*slot).cloned().unwrap_or(Value::Null),
                Node::VarField(slot, name) => {
                    self.steps += 1;
                    let base = self.scopes.get(*slot).cloned().unwrap_or(Value::Null);
                    field(self.world, base, *name)
                }
                Node::Field(base, name) => {
                    let base = self.eval(base);
                    field(self.world, base, *name)
                }
                Node::Collection(name) => self.world.collection_value(name).unwrap_or(Value::Null),
                Node::List(items) => Value::list(items.iter().map(|i| self.eval(i)).collect()),
                Node::Call(name, arguments) => {
                    let values: Vec<Value<'r>> = arguments.iter().map(|a| self.eval(a)).collect();
                    call(self.world, name, &values)
                }
                Node::Quantifier(kind, lp) => {
                    assert!(lp.join.is_none());
                    let Value::List(items) = self.eval(&lp.collection) else {
                        return quantifier_total(*kind, 0);
                    };
                    let mut count = 0;
                    for item in items.iter() {
                        self.steps += 1;
                        self.scopes.push(item.clone());
                        let holds = lp.parts.iter().all(|part| self.eval(part).is_true());
                        self.scopes.pop();
                        if let Some(answer) = tally(*kind, holds, &mut count) {
                            return answer;
                        }
                    }
                    quantifier_total(*kind, count)
                }
                Node::Not(operand) => Value::Bool(!self.eval(operand).is_true()),
                Node::And(l, r) => Value::Bool(self.eval(l).is_true() && self.eval(r).is_true()),
                Node::Or(l, r) => Value::Bool(self.eval(l).is_true() || self.eval(r).is_true()),
                Node::Compare(op, l, r) => {
                    let (a, b) = (self.eval(l), self.eval(r));
                    Value::Bool(compare(*op, &a, &b))
                }
                // The list is a constant: one step.
                Node::Member(negated, needle, members, _) => {
                    let needle = self.eval(needle);
                    self.steps += 1;
                    let list = Value::List(Arc::clone(members.list()));
                    Value::Bool(contains(&list, &needle) != *negated)
                }
                Node::Matches(l, r, pattern) => {
                    let text = self.eval(l);
                    let Some(text) = text.as_str() else {
                        return Value::Bool(false);
                    };
                    let matches = |pattern: &str| {
                        regex::Regex::new(pattern).is_ok_and(|regex| regex.is_match(text))
                    };
                    Value::Bool(match pattern {
                        Pattern::Constant(constant) => {
                            constant.regex().is_ok_and(|regex| regex.is_match(text))
                        }
                        Pattern::Dynamic(_) => match self.eval(r) {
                            Value::String(pattern, _) => matches(&pattern),
                            _ => false,
                        },
                    })
                }
            }
        }
    }

    /// Expressions over `s` (a stage) and `c` (a command): constants, variables, fields of
    /// variables and of other nodes, lists, calls, quantifiers (whose conditions compare
    /// their element with constants only, so that they scan), and every operator.
    fn expression() -> impl Strategy<Value = String> {
        let leaf = prop_oneof![
            Just("s".to_string()),
            Just("c".to_string()),
            Just("null".to_string()),
            Just("true".to_string()),
            Just("false".to_string()),
            Just("1".to_string()),
            Just("\"apt-get\"".to_string()),
            Just("\"builder\"".to_string()),
            Just("[\"apt-get\", \"pip\", 1]".to_string()),
            Just("s.name".to_string()),
            Just("s.index".to_string()),
            Just("s.is_final".to_string()),
            Just("s.base".to_string()),
            Just("s.base_stage".to_string()),
            Just("c.program".to_string()),
            Just("c.arguments".to_string()),
            Just("c.words".to_string()),
            Just("c.stage".to_string()),
            Just("s.base.text".to_string()),
            Just("c.stage.name".to_string()),
            Just("c.stage.is_final".to_string()),
            Just("any(x in c.words where x == \"install\")".to_string()),
            Just("all(x in s.commands where x.program in [\"apt-get\", \"pip\"])".to_string()),
            Just("count(x in s.lineage where not x.is_final)".to_string()),
            Just("count(x in s.commands)".to_string()),
            Just("len(c.arguments)".to_string()),
            Just("lower(c.program)".to_string()),
        ];
        leaf.prop_recursive(4, 32, 2, |inner| {
            let op = prop_oneof![
                Just("=="),
                Just("!="),
                Just("<"),
                Just("<="),
                Just(">"),
                Just(">="),
                Just("in"),
                Just("not in"),
                Just("and"),
                Just("or"),
            ];
            prop_oneof![
                inner.clone().prop_map(|e| format!("(not {e})")),
                (inner.clone(), op, inner.clone()).prop_map(|(l, op, r)| format!("({l} {op} {r})")),
                inner
                    .clone()
                    .prop_map(|e| format!("({e} matches \"^(apt|pip)\")")),
                inner.clone().prop_map(|e| format!("({e} matches s.name)")),
                (inner.clone(), inner.clone()).prop_map(|(l, r)| format!("[{l}, {r}]")),
                inner
                    .clone()
                    .prop_map(|e| format!("starts_with({e}, \"a\")")),
                inner.prop_map(|e| format!("any(x in [s, c] where {e})")),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]
        /// `eval` and `holds`, with their fast paths, give what the general evaluation gives
        /// (`holds` its truth) and count exactly its steps.
        #[test]
        fn fast_paths_agree_with_the_general_evaluation(
            condition in expression(),
            stage in 0usize..8,
            command in 0usize..16,
        ) {
            use crate::lang::parser::parse_rule_file;
            use crate::source::FileId;
            let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/quickstart");
            let loaded = crate::parse::repository::load(&root, &Default::default());
            let world = World::new(&loaded.repository, &loaded.sources);
            let text = format!(
                "rule T1 t {{\n  severity warning\n  summary \"s\"\n  doc \"d\"\n  for s in stages\n  for c in commands\n  report {condition} \"x\"\n}}\n"
            );
            let (rule, diagnostics) = parse_rule_file(FileId(0), &text);
            prop_assert!(diagnostics.is_empty(), "{:?}", diagnostics);
            let Some(rule) = rule else {
                return Err(TestCaseError::fail("no rule"));
            };
            let patterns = Patterns::default();
            let run = RuleRun { rule: &rule, params: HashMap::new() };
            let prepared = PreparedRule::new(&run, &patterns, false);
            let node = &prepared.queries[0].report.target;
            let pick = |name: &str, index: usize| {
                let items = world.collection(name).unwrap_or_default();
                items.get(index % items.len().max(1)).map_or(Value::Null, |e| Value::Entity(*e))
            };
            let scopes = vec![pick("stages", stage), pick("commands", command)];
            let mut reference = Reference { world: &world, scopes: scopes.clone(), steps: 0 };
            let expected = reference.eval(node);
            let shared = SharedIndexes::default();
            let evaluator = || {
                let mut evaluator = Evaluator::new(&world, &prepared, &patterns, &shared, MAX_STEPS);
                evaluator.scopes = scopes.clone();
                evaluator
            };
            let mut general = evaluator();
            let value = general.eval(node);
            let mut boolean = evaluator();
            let holds = boolean.holds(node);
            // A computed pattern that is not a valid regular expression stops the part.
            if general.problem.is_some() || boolean.problem.is_some() {
                return Ok(());
            }
            prop_assert!(value.equals(&expected), "{}: {:?} vs {:?}", condition, value, expected);
            prop_assert_eq!(holds, expected.is_true(), "{}", condition);
            prop_assert_eq!(general.steps, reference.steps, "{}", condition);
            prop_assert_eq!(boolean.steps, reference.steps, "{}", condition);
        }

        /// `in` over a list is `Value::equals` with some element, whatever the values.
        #[test]
        fn in_a_list_is_equality_with_an_element(
            needle in value(),
            items in proptest::collection::vec(value(), 0..6),
        ) {
            let expected = items.iter().any(|item| item.equals(&needle));
            prop_assert_eq!(contains(&Value::list(items), &needle), expected);
        }

        /// `sort_findings` orders findings by file path, start, end, rule ID, message and
        /// related locations, and removes repeats, as a stable sort by those keys would.
        #[test]
        fn findings_are_sorted_by_place_then_rule_message_and_related(
            raw in proptest::collection::vec(
                (0u32..3, 0u32..3, 0u32..2, 0usize..2, 0usize..2,
                 proptest::collection::vec((0u32..3, 0u32..2, 0usize..2), 0..3)),
                0..24,
            ),
        ) {
            use crate::source::FileId;
            let mut sources = Sources::new();
            // Ids out of path order: the paths decide.
            for path in ["c/Dockerfile", "a/Dockerfile", "b/requirements.txt"] {
                sources.add(path.into(), path.into(), "0123456789".into());
            }
            let span = |file: u32, start: u32, len: u32| {
                let start = start as usize * 2;
                Span::new(FileId(file), start..start + len as usize)
            };
            let ids: [Arc<str>; 2] = ["DP2".into(), "DP1".into()];
            let messages = ["y", "x"];
            let findings: Vec<Finding> = raw
                .iter()
                .map(|(file, start, len, id, message, related)| Finding {
                    rule_id: Arc::clone(&ids[*id]),
                    rule_name: Arc::clone(&ids[*id]),
                    severity: Severity::Warning,
                    message: messages[*message].to_string(),
                    span: span(*file, *start, *len),
                    related: related
                        .iter()
                        .map(|(file, start, message)| RelatedLocation {
                            span: span(*file, *start, 1),
                            message: messages[*message].to_string(),
                        })
                        .collect(),
                    suppression: None,
                })
                .collect();
            let path = |span: Span| sources.get(span.file).map_or("", |f| f.rel_path.as_str());
            let key = |f: &Finding| {
                (
                    path(f.span),
                    f.span.start,
                    f.span.end,
                    f.rule_id.clone(),
                    f.message.clone(),
                    f.related
                        .iter()
                        .map(|r| (path(r.span), r.span.start, r.span.end, r.message.clone()))
                        .collect::<Vec<_>>(),
                )
            };
            let mut expected = findings.clone();
            expected.sort_by_key(key);
            expected.dedup();
            let mut sorted = findings;
            sort_findings(&mut sorted, &sources);
            prop_assert_eq!(sorted, expected);
        }
    }
}
