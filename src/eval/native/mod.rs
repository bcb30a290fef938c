//! The bundled rules compiled to Rust, and what that code calls. A bundled rule runs as the
//! functions [`rules`] holds for it, with the params' values of each run: its compiled queries
//! ([`crate::eval::compile`]) printed as Rust by the generator, with the evaluator's own
//! helpers for every value (field reads, comparisons, `in`, patterns, functions, messages and
//! findings), so that it finds exactly what the evaluator finds, without walking a tree or
//! binding a scope stack. It counts a step for each element its loops visit, within the
//! rule's budget, so that no input makes a bundled rule run without end.
//! A rule whose text differs from the one the code was generated from (a user pack's copy of
//! a bundled rule) runs in the evaluator.

#[cfg(test)]
mod generate;
mod rules;

use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::diag::Diagnostic;
use crate::eval::compile::{matcher, ConstantPattern, Patterns};
use crate::eval::engine::{self, Finding, FindingOf, RuleIdentity};
use crate::eval::join::{Candidates, Index, IndexKey, Indexes, KeyId, KeyPath, Plan, Positions};
use crate::eval::members::Members;
use crate::eval::value::Value;
use crate::eval::world::World;
use crate::lang::ast::BinaryOp;
use crate::lang::schema::FieldName;
use crate::source::{FileId, Span};

/// One query of a compiled rule: its function, and the top-level collection its first loop
/// is over, whose elements it can be given in runs (as the evaluator splits a query), when
/// that loop has no join.
pub struct NativeQuery {
    pub run: for<'w, 'm> fn(&mut Cx<'w, 'm>) -> Result<(), Stop>,
    pub splits_on: Option<&'static str>,
}

/// A bundled rule compiled to Rust: its ID, the hash of the text it was compiled from, and a
/// function for each of its queries.
pub struct NativeRule {
    pub id: &'static str,
    pub source_hash: u64,
    pub queries: &'static [NativeQuery],
}

/// The compiled rule `id`, if it was compiled from a text of hash `text_hash`.
pub fn find(id: &str, text_hash: u64) -> Option<&'static NativeRule> {
    rules::RULES
        .iter()
        .find(|rule| rule.id == id && rule.source_hash == text_hash)
}

/// Why a compiled query stopped before its end.
pub enum Stop {
    /// A problem: an invalid regular expression (the rule's findings are left out).
    Problem(Diagnostic),
    /// The rule's budget is spent (the evaluation reports it, and leaves the findings out).
    OutOfSteps,
}

impl From<Diagnostic> for Stop {
    fn from(problem: Diagnostic) -> Stop {
        Stop::Problem(problem)
    }
}

/// The steps a part counts before it adds them to its rule's.
const STEP_BATCH: u64 = 4096;

/// The rule a compiled query runs for, in one run of it.
pub struct RuleInRun<'w> {
    /// The rule's file, for the spans of its patterns.
    pub file: FileId,
    /// What its findings carry.
    pub identity: &'w RuleIdentity,
    /// The value of each of its params in this run (configured or default), in the order
    /// the rule declares them.
    pub params: &'w [Value<'static>],
    /// The steps all its parts have taken, and its budget.
    pub spent: &'w AtomicU64,
    pub max_steps: u64,
}

/// What a compiled query runs with: the world, the run's patterns, the rule, and the findings
/// it has made.
pub struct Cx<'w, 'm> {
    world: &'w World<'m>,
    patterns: &'w Patterns,
    rule: RuleInRun<'w>,
    /// The indexes of the lists the query's joins have looked up (as the evaluator's part
    /// keeps them: [`Indexes`]).
    indexes: Indexes<'m>,
    /// How many keys the query has made that name no field path.
    other_keys: usize,
    /// The run of the elements of the first loop's collection this part visits (all of them
    /// when `None`).
    range: Option<Range<usize>>,
    /// The steps this part has taken and not yet added to the rule's.
    steps: u64,
    pub findings: Vec<Finding>,
}

impl<'w, 'm> Cx<'w, 'm> {
    pub fn new(
        world: &'w World<'m>,
        patterns: &'w Patterns,
        rule: RuleInRun<'w>,
        range: Option<Range<usize>>,
    ) -> Cx<'w, 'm> {
        Cx {
            world,
            patterns,
            rule,
            indexes: Indexes::default(),
            other_keys: 0,
            range,
            steps: 0,
            findings: Vec::new(),
        }
    }

    /// What names the index of a join whose element key reads `fields`.
    pub fn key(&mut self, fields: &[FieldName]) -> KeyId {
        KeyPath::of(fields.iter().copied()).map_or_else(
            || {
                self.other_keys += 1;
                KeyId::Node(self.other_keys)
            },
            KeyId::Path,
        )
    }

    /// The positions of `items` that a loop with a join visits, and whether they are those
    /// an index found (which pass the join part): when and how the evaluator would index the
    /// list ([`Indexes::plan`]; `repeated`: the loop's collection does not read the variable
    /// of the loop around it), the index keyed by `element_key` of each element and looked
    /// up with the `probe`; else all of them.
    pub fn join(
        &mut self,
        items: &Arc<Vec<Value<'m>>>,
        key: KeyId,
        repeated: bool,
        element_key: impl Fn(&Self, &Value<'m>) -> Value<'m>,
        probe: impl FnOnce(&Self) -> Value<'m>,
    ) -> (Visit<'m>, bool) {
        let index = match self.indexes.plan(items, key, repeated) {
            Plan::Scan => None,
            Plan::Lookup(index) => Some(index),
            Plan::Build => {
                // A list has no key: then the loop scans.
                let keys = items
                    .iter()
                    .map(|item| IndexKey::of(element_key(self, item)));
                let index = Index::of_keys(items.len(), keys).map(Arc::new);
                self.indexes.store(items, key, index.clone());
                index
            }
        };
        match index {
            Some(index) => {
                let candidates = Candidates::new(index, probe(self));
                (Visit::Found(candidates.into_positions()), true)
            }
            None => (Visit::All(0..items.len()), false),
        }
    }

    /// Counts a step: one element visited by a loop. Stops the part once the rule's steps
    /// are over its budget.
    #[inline]
    pub fn step(&mut self) -> Result<(), Stop> {
        self.steps += 1;
        if self.steps < STEP_BATCH {
            return Ok(());
        }
        self.count_steps()
    }

    /// Adds the steps taken since the last call to the rule's; `Stop::OutOfSteps` once they
    /// are over its budget.
    #[cold]
    pub fn count_steps(&mut self) -> Result<(), Stop> {
        let spent = self.rule.spent.fetch_add(self.steps, Ordering::Relaxed) + self.steps;
        self.steps = 0;
        if spent > self.rule.max_steps {
            return Err(Stop::OutOfSteps);
        }
        Ok(())
    }

    /// The span `start..end` of the rule's file.
    pub fn span(&self, start: u32, end: u32) -> Span {
        Span {
            file: self.rule.file,
            start,
            end,
        }
    }

    /// Field number `F` (`FieldName::X as u16`) of `value` (null unless it is an entity).
    #[inline(always)]
    pub fn field<const F: u16>(&self, value: &Value<'m>) -> Value<'m> {
        match value {
            Value::Entity(entity) => self
                .world
                .numbered_field::<F>(*entity)
                .unwrap_or(Value::Null),
            _ => Value::Null,
        }
    }

    /// The elements of the first loop's collection that this part visits.
    pub fn part<'i>(&self, items: &'i [Value<'m>]) -> &'i [Value<'m>] {
        match &self.range {
            Some(range) => items.get(range.clone()).unwrap_or_default(),
            None => items,
        }
    }

    /// A top-level collection.
    pub fn collection(&self, name: &str) -> Value<'m> {
        self.world.collection_value(name).unwrap_or(Value::Null)
    }

    /// A call of the function `name`.
    pub fn call(&self, name: &str, arguments: &[Value<'m>]) -> Value<'m> {
        engine::call(self.world, name, arguments)
    }

    #[inline(always)]
    pub fn compare(&self, op: BinaryOp, a: &Value<'_>, b: &Value<'_>) -> bool {
        engine::compare(op, a, b)
    }

    /// A constant list prepared for `in`.
    pub fn members(&self, items: Vec<Value<'static>>) -> Members<'static> {
        Members::new(Arc::new(items))
    }

    /// A constant pattern written at `span`, compiled when a match first needs it.
    pub fn pattern(&self, text: &str, span: Span) -> ConstantPattern {
        ConstantPattern::new(text, span, self.patterns)
    }

    /// The value of param number `index` in this run.
    pub fn param(&self, index: usize) -> Value<'static> {
        self.rule.params.get(index).cloned().unwrap_or(Value::Null)
    }

    /// Param number `index`, a list (as configuration checks), prepared for `in`.
    pub fn param_members(&self, index: usize) -> Members<'static> {
        match self.param(index) {
            Value::List(items) => Members::new(items),
            _ => Members::new(Arc::new(Vec::new())),
        }
    }

    /// Param number `index`, a string (as configuration checks), as the pattern of a
    /// `matches` written at `span`, compiled when a match first needs it.
    pub fn param_pattern(&self, index: usize, span: Span) -> ConstantPattern {
        let param = self.param(index);
        self.pattern(param.as_str().unwrap_or_default(), span)
    }

    /// `text matches pattern`: false when `text` is not a string; an invalid pattern is the
    /// problem that stops the rule.
    pub fn matches(&self, pattern: &ConstantPattern, text: &Value<'_>) -> Result<bool, Diagnostic> {
        match text.as_str() {
            Some(text) => pattern.regex().map(|regex| regex.is_match(text)),
            None => Ok(false),
        }
    }

    /// `text matches pattern` for a pattern computed at evaluation, written at `span`.
    pub fn matches_computed(
        &self,
        text: &Value<'_>,
        pattern: &Value<'_>,
        span: Span,
    ) -> Result<bool, Diagnostic> {
        match (text.as_str(), pattern) {
            (Some(text), Value::String(pattern, _)) => {
                let compiled = self.patterns.get(pattern);
                matcher(&compiled, pattern, span).map(|regex| regex.is_match(text))
            }
            _ => Ok(false),
        }
    }

    /// Appends `value` as a message shows it.
    pub fn display(&self, value: &Value<'_>, out: &mut String) {
        self.world.write_display(value, out);
    }

    /// Where the finding of a report of `target` is ([`FindingOf::locate`]): `None` for no
    /// finding.
    pub fn locate(&self, target: &Value<'m>, bound: &[&Value<'m>]) -> Option<Span> {
        self.findings_of().locate(target, bound.iter().copied())
    }

    /// Reports a finding at `span` with `message` and the `related` values.
    pub fn report(&mut self, span: Span, message: String, related: Vec<(Value<'m>, String)>) {
        let finding = self.findings_of().finding(span, message, related);
        self.findings.push(finding);
    }

    fn findings_of(&self) -> FindingOf<'w, 'm> {
        FindingOf {
            world: self.world,
            rule: self.rule.identity,
        }
    }
}

/// The positions of a list that a loop with a join visits ([`Cx::join`]).
pub enum Visit<'m> {
    All(Range<usize>),
    Found(Positions<Arc<Index<'m>>>),
}

impl Iterator for Visit<'_> {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        match self {
            Visit::All(range) => range.next(),
            Visit::Found(positions) => positions.next(),
        }
    }
}

#[cfg(test)]
mod tests;
