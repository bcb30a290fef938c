//! A rule's queries compiled for evaluation, once per run of the rule: variables resolved to
//! slots of the scope stack, params and literal lists folded into constants (the constant
//! list of an `in` prepared for lookups: [`Members`]), constant regular expressions shared
//! by text (and compiled when a match first needs one), each condition split into the parts
//! checked as soon as the variables they read are bound, and the equality join each loop can
//! use found ahead of time. The evaluator ([`crate::eval::engine`]) then looks nothing up by
//! name.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use regex_automata::hybrid;
use regex_automata::nfa::thompson::{self, pikevm, pikevm::PikeVM, WhichCaptures};
use regex_automata::util::pool::{Pool, PoolGuard};
use regex_automata::{Anchored, Input, MatchKind};

use crate::diag::Diagnostic;
use crate::eval::join::KeyPath;
use crate::eval::members::Members;
use crate::eval::value::Value;
use crate::lang::ast::{
    BinaryOp, Expr, ExprKind, QuantifierKind, Query, Rule, Template, TemplatePart,
};
use crate::lang::check::{pattern_syntax, regex_error_help};
use crate::lang::schema::{FieldName, COLLECTIONS};
use crate::source::Span;

/// One query: its loops, outermost first, and what it reports.
pub struct CompiledQuery<'r> {
    pub bindings: Vec<Loop<'r>>,
    pub report: Report<'r>,
}

/// A loop over a collection: `for x in COLL` or the elements of a quantifier. The element is
/// pushed on the scope stack, so a loop's variable is the slot at the depth of the loop.
pub struct Loop<'r> {
    pub collection: Node<'r>,
    /// The parts of the condition checked for each element: of a `for`, the `and`-ed parts
    /// whose last variable read is this one; of a quantifier, its whole condition.
    pub parts: Vec<Node<'r>>,
    /// A part `element.f… == probe.g…` by which the loop may look its elements up.
    pub join: Option<Join>,
    /// Whether the collection does not read the variable of the loop around this one, so
    /// that the loop scans the same list once for each element of that loop.
    pub repeated: bool,
}

impl<'r> Loop<'r> {
    /// The top-level collection this loop is over, when it looks no element up by a join
    /// key: as a query's first loop, its elements can be split into runs that run apart.
    pub fn splits_on(&self) -> Option<&'r str> {
        match (&self.collection, self.join) {
            (Node::Collection(name), None) => Some(name),
            _ => None,
        }
    }
}

/// Which part of a loop's condition is its join key, on which side of the `==` the loop's
/// element is, and the fields the element's side reads (`None` when too many to pack).
#[derive(Clone, Copy, Debug)]
pub struct Join {
    pub part: usize,
    pub element_on_left: bool,
    pub path: Option<KeyPath>,
}

impl Join {
    /// The element's key and the probe of `parts`' join part.
    pub fn sides<'a, 'r>(self, parts: &'a [Node<'r>]) -> Option<(&'a Node<'r>, &'a Node<'r>)> {
        match parts.get(self.part)? {
            Node::Compare(BinaryOp::Eq, left, right) if self.element_on_left => Some((left, right)),
            Node::Compare(BinaryOp::Eq, left, right) => Some((right, left)),
            _ => None,
        }
    }
}

/// `report TARGET "message"` and its related locations.
pub struct Report<'r> {
    pub target: Node<'r>,
    pub message: Vec<Piece<'r>>,
    pub related: Vec<(Node<'r>, Vec<Piece<'r>>)>,
}

/// A part of a message template.
pub enum Piece<'r> {
    Text(&'r str),
    Hole(Node<'r>),
}

/// A compiled expression. The tag is a byte of its own (`repr(u8)`), so that telling the
/// kind of a node is one load, not a decoding of the niche in a constant's value.
#[repr(u8)]
pub enum Node<'r> {
    /// A literal, or a list of literals.
    Const(Value<'r>),
    /// A param: its position among the rule's params and its value in this run. The
    /// evaluator reads it as a constant; a compiled rule reads the value its run gives it
    /// ([`crate::eval::native::Cx::param`]), so that one compiled rule serves every value.
    Param(usize, Value<'r>),
    /// A variable: the slot of the scope stack it is bound to.
    Var(usize),
    /// A top-level collection.
    Collection(&'r str),
    List(Vec<Node<'r>>),
    /// A field of a variable's value (a field of any other node is a [`Node::Field`]): the
    /// evaluator reads it in place, counting the steps of both nodes.
    VarField(usize, FieldName),
    Field(Box<Node<'r>>, FieldName),
    Call(&'r str, Vec<Node<'r>>),
    /// `any`/`all`/`count`: the kind and the loop over its elements.
    Quantifier(QuantifierKind, Box<Loop<'r>>),
    Not(Box<Node<'r>>),
    And(Box<Node<'r>>, Box<Node<'r>>),
    Or(Box<Node<'r>>, Box<Node<'r>>),
    /// `==`, `!=`, `<`, `<=`, `>`, `>=`, `in`, `not in`.
    Compare(BinaryOp, Box<Node<'r>>, Box<Node<'r>>),
    /// `needle in LIST`, or `not in` when the flag is set, where the list is a constant
    /// (a literal list or a param, whose position the last field gives), its elements
    /// prepared for the lookup. It takes the steps of the [`Node::Compare`] it stands for,
    /// the list's being one constant's.
    Member(bool, Box<Node<'r>>, Box<Members<'r>>, Option<usize>),
    Matches(Box<Node<'r>>, Box<Node<'r>>, Pattern),
}

/// The pattern of a `matches`.
pub enum Pattern {
    /// A constant pattern.
    Constant(ConstantPattern),
    /// Computed at evaluation; compiled on first use. The span is the pattern's.
    Dynamic(Span),
}

/// A constant pattern of a `matches`, compiled when a match first needs it: a run compiles
/// only the patterns it reaches (compiling one costs far more than most matches), and the
/// places of a run's rules that test the same pattern share one compilation ([`Patterns`]).
pub struct ConstantPattern {
    text: String,
    /// Where this `matches` writes the pattern.
    span: Span,
    compiled: CompiledPattern,
}

impl ConstantPattern {
    /// Pattern `text`, written at `span`, compiled (when first needed) with `patterns`.
    pub fn new(text: &str, span: Span, patterns: &Patterns) -> ConstantPattern {
        ConstantPattern {
            text: text.to_string(),
            span,
            compiled: patterns.get(text),
        }
    }

    /// The pattern as written.
    #[cfg(test)]
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Where the pattern is written.
    #[cfg(test)]
    pub fn span(&self) -> Span {
        self.span
    }

    /// The compiled pattern, or the problem to raise when it is not a valid regular
    /// expression (a pattern given by configuration can be invalid).
    pub fn regex(&self) -> Result<&Matcher, Diagnostic> {
        matcher(&self.compiled, &self.text, self.span)
    }
}

/// The matcher of `compiled`, pattern `text` written at `span`, compiled on first use; or the
/// problem to raise when it is not a valid regular expression.
pub fn matcher<'c>(
    compiled: &'c CompiledPattern,
    text: &str,
    span: Span,
) -> Result<&'c Matcher, Diagnostic> {
    match compiled.get_or_init(|| build_matcher(text)) {
        Ok(regex) => Ok(regex),
        Err(e) => Err(invalid_regex(text, span, e.clone())),
    }
}

/// The patterns of a run's rules by text, each compiled at most once for all the rules and
/// parts that test it (two bundled rules test the same pattern), when a match first needs it:
/// the constant ones, found when the rules compile, and those computed at evaluation.
#[derive(Default)]
pub struct Patterns(Mutex<HashMap<String, CompiledPattern>>);

/// A pattern's compilation, made by the first match that needs it.
pub type CompiledPattern = Arc<OnceLock<Result<Matcher, regex::Error>>>;

impl Patterns {
    /// The compilation of `pattern`, shared with every other place that tests it.
    pub fn get(&self, pattern: &str) -> CompiledPattern {
        let mut patterns = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(compiled) = patterns.get(pattern) {
            return Arc::clone(compiled);
        }
        Arc::clone(patterns.entry(pattern.to_string()).or_default())
    }
}

/// Compiles the queries of `rule`, with the values of its params; its constant patterns are
/// those of `patterns`.
pub fn compile<'r>(
    rule: &'r Rule,
    params: &[(&'r str, Value<'r>)],
    patterns: &Patterns,
) -> Vec<CompiledQuery<'r>> {
    let mut compiler = Compiler {
        params,
        scope: Vec::new(),
        patterns,
    };
    rule.queries
        .iter()
        .map(|query| compiler.query(query))
        .collect()
}

struct Compiler<'p, 'r> {
    params: &'p [(&'r str, Value<'r>)],
    /// The variables bound where the expression being compiled is evaluated, outermost first.
    scope: Vec<&'r str>,
    patterns: &'p Patterns,
}

impl<'r> Compiler<'_, 'r> {
    fn query(&mut self, query: &'r Query) -> CompiledQuery<'r> {
        let groups = conjuncts_by_binding(query);
        let mut bindings = Vec::new();
        for (index, binding) in query.bindings.iter().enumerate() {
            let collection = self.expr(&binding.collection);
            self.scope.push(&binding.variable.value);
            let parts: Vec<Node<'r>> = groups
                .get(index)
                .map(|group| group.iter().map(|part| self.expr(part)).collect())
                .unwrap_or_default();
            let join = find_join(index, &parts);
            let repeated = index > 0 && !reads_slot(&collection, index - 1);
            bindings.push(Loop {
                collection,
                parts,
                join,
                repeated,
            });
        }
        let report = &query.report;
        let report = Report {
            target: self.expr(&report.target),
            message: self.template(&report.message),
            related: report
                .related
                .iter()
                .map(|r| (self.expr(&r.target), self.template(&r.message)))
                .collect(),
        };
        self.scope.clear();
        CompiledQuery { bindings, report }
    }

    fn template(&mut self, template: &'r Template) -> Vec<Piece<'r>> {
        template
            .parts
            .iter()
            .map(|part| match part {
                TemplatePart::Text(text) => Piece::Text(text),
                TemplatePart::Hole(expr) => Piece::Hole(self.expr(expr)),
            })
            .collect()
    }

    /// A name: the innermost variable of that name, else a param, else a collection (a name
    /// that is none of these, which the checker rejects, is null).
    fn name(&self, name: &'r str) -> Node<'r> {
        if let Some(slot) = self.scope.iter().rposition(|bound| *bound == name) {
            return Node::Var(slot);
        }
        if let Some(index) = self.params.iter().position(|(param, _)| *param == name) {
            let value = self
                .params
                .get(index)
                .map_or(Value::Null, |(_, v)| v.clone());
            return Node::Param(index, value);
        }
        if COLLECTIONS
            .iter()
            .any(|(collection, _, _)| *collection == name)
        {
            return Node::Collection(name);
        }
        Node::Const(Value::Null)
    }

    fn expr(&mut self, expr: &'r Expr) -> Node<'r> {
        let boxed = |node: Node<'r>| Box::new(node);
        match &expr.kind {
            ExprKind::Null => Node::Const(Value::Null),
            ExprKind::Bool(b) => Node::Const(Value::Bool(*b)),
            ExprKind::Integer(i) => Node::Const(Value::Integer(*i)),
            ExprKind::String(s) => Node::Const(Value::str(s, None)),
            ExprKind::Size(s) => Node::Const(Value::Size(*s)),
            // A list of literals is one constant; a list with a param is made where it is
            // read, so that the compiled rules read the param's value there.
            ExprKind::List(items) => {
                let items: Vec<Node<'r>> = items.iter().map(|item| self.expr(item)).collect();
                if items.iter().all(|item| matches!(item, Node::Const(_))) {
                    let values = items
                        .into_iter()
                        .map(|item| match item {
                            Node::Const(value) => value,
                            _ => Value::Null,
                        })
                        .collect();
                    Node::Const(Value::list(values))
                } else {
                    Node::List(items)
                }
            }
            ExprKind::Name(name) => self.name(name),
            // A name that is no field (which the checker rejects) is null.
            ExprKind::Field(base, name) => match FieldName::from_name(&name.value) {
                Some(field) => match self.expr(base) {
                    Node::Var(slot) => Node::VarField(slot, field),
                    base => Node::Field(boxed(base), field),
                },
                None => Node::Const(Value::Null),
            },
            ExprKind::Call(name, arguments) => Node::Call(
                &name.value,
                arguments.iter().map(|a| self.expr(a)).collect(),
            ),
            ExprKind::Quantifier(quantifier) => {
                let collection = self.expr(&quantifier.collection);
                let slot = self.scope.len();
                self.scope.push(&quantifier.variable.value);
                let mut conjuncts = Vec::new();
                if let Some(condition) = &quantifier.condition {
                    split_and(condition, &mut conjuncts);
                }
                let parts: Vec<Node<'r>> = conjuncts.iter().map(|c| self.expr(c)).collect();
                self.scope.pop();
                // An `all` holds only if every element passes, so it scans.
                let join = match quantifier.kind {
                    QuantifierKind::All => None,
                    QuantifierKind::Any | QuantifierKind::Count => find_join(slot, &parts),
                };
                let repeated = slot > 0 && !reads_slot(&collection, slot - 1);
                Node::Quantifier(
                    quantifier.kind,
                    Box::new(Loop {
                        collection,
                        parts,
                        join,
                        repeated,
                    }),
                )
            }
            ExprKind::Not(operand) => Node::Not(boxed(self.expr(operand))),
            ExprKind::Binary(op, left, right) => {
                let l = boxed(self.expr(left));
                let r = boxed(self.expr(right));
                match op {
                    BinaryOp::And => Node::And(l, r),
                    BinaryOp::Or => Node::Or(l, r),
                    BinaryOp::Matches => {
                        let pattern = match r.as_ref() {
                            Node::Const(Value::String(pattern, _))
                            | Node::Param(_, Value::String(pattern, _)) => Pattern::Constant(
                                ConstantPattern::new(pattern, right.span, self.patterns),
                            ),
                            _ => Pattern::Dynamic(right.span),
                        };
                        Node::Matches(l, r, pattern)
                    }
                    BinaryOp::In | BinaryOp::NotIn => match *r {
                        Node::Const(Value::List(list)) => Node::Member(
                            *op == BinaryOp::NotIn,
                            l,
                            Box::new(Members::new(list)),
                            None,
                        ),
                        Node::Param(index, Value::List(list)) => Node::Member(
                            *op == BinaryOp::NotIn,
                            l,
                            Box::new(Members::new(list)),
                            Some(index),
                        ),
                        r => Node::Compare(*op, l, boxed(r)),
                    },
                    _ => Node::Compare(*op, l, r),
                }
            }
        }
    }
}

/// A compiled `matches` pattern: it only answers whether a text matches, as
/// `regex::Regex::is_match` does, with the engines `Regex` would answer it with (a lazy DFA,
/// and the PikeVM where the lazy DFA gives up), without the ones `Regex` also builds to
/// find where matches start and end or to skip ahead with a literal prefilter.
pub struct Matcher {
    /// The length in bytes of the shortest text the pattern can match: a shorter text is
    /// answered without a search (as `Regex` does).
    min_len: usize,
    /// The lazy DFA `Regex` would search with, or `None` when the NFA is too big for its
    /// cache (`Regex` then does without one too): forward, or, for a pattern whose every
    /// match ends at the end of the text but not all start at its start, reverse, searching
    /// from the end of the text for a match ending there (which fails as soon as no match
    /// can end there, where a forward search reads the whole text).
    dfa: Option<hybrid::dfa::DFA>,
    /// Whether `dfa` is the reverse lazy DFA.
    reverse: bool,
    /// For the searches the lazy DFA gives up: a text with a non-ASCII byte when the pattern
    /// has a Unicode word boundary, or a cache cleared too often for too little progress.
    pikevm: PikeVM,
    /// The search caches of the threads matching at once (the matcher is shared across
    /// threads), each made when first needed.
    caches: Pool<Caches>,
}

/// The mutable state of one search: a cache for each engine, made when it first searches.
#[derive(Default)]
struct Caches {
    dfa: Option<hybrid::dfa::Cache>,
    pikevm: Option<pikevm::Cache>,
}

impl Matcher {
    /// Whether `text` has a match (anywhere, as `Regex::is_match`): the lazy DFA stops at the
    /// first match state; where it gives up, the PikeVM answers.
    pub fn is_match(&self, text: &str) -> bool {
        if text.len() < self.min_len {
            return false;
        }
        let input = Input::new(text).earliest(true);
        let mut caches = self.caches.get();
        let answer = match self.dfa_search(&mut caches, &input) {
            Some(answer) => answer,
            None => self.pikevm_search(&mut caches, &input),
        };
        PoolGuard::put(caches);
        answer
    }

    /// The lazy DFA's answer, or `None` when there is no lazy DFA or it gave up.
    fn dfa_search(&self, caches: &mut Caches, input: &Input<'_>) -> Option<bool> {
        let dfa = self.dfa.as_ref()?;
        let cache = caches.dfa.get_or_insert_with(|| dfa.create_cache());
        let found = if self.reverse {
            dfa.try_search_rev(cache, &input.clone().anchored(Anchored::Yes))
        } else {
            dfa.try_search_fwd(cache, input)
        };
        found.ok().map(|found| found.is_some())
    }

    /// The PikeVM's answer (it never gives up).
    fn pikevm_search(&self, caches: &mut Caches, input: &Input<'_>) -> bool {
        let cache = caches
            .pikevm
            .get_or_insert_with(|| self.pikevm.create_cache());
        self.pikevm.is_match(cache, input.clone())
    }
}

/// Compiles a `matches` pattern as `regex::Regex::new` does (same syntax, same settings, same
/// errors, same answers), but for `is_match` alone: the syntax of `pattern_syntax`; the
/// forward and reverse NFAs `Regex` builds (the forward one with its capture states, which
/// the engines here skip over), each within the regex crate's size limit; the one lazy DFA
/// `Regex` would search with to answer `is_match` (same cache capacity, same settings); and
/// a PikeVM over the forward NFA. What is not built: the literal prefilter, the other lazy
/// DFA, the one-pass DFA and the backtracker, and each engine's cache until a search needs
/// it.
pub fn build_matcher(pattern: &str) -> Result<Matcher, regex::Error> {
    let hir = regex_automata::util::syntax::parse_with(pattern, &pattern_syntax())
        .map_err(|error| regex::Error::Syntax(error.to_string()))?;
    // `Regex::new` builds both NFAs, and refuses the pattern when either is over the size
    // limit.
    let (nfa, reverse_nfa) = NFA_COMPILERS.with(|[forward, reverse]| {
        let nfa = forward.build_from_hir(&hir).map_err(nfa_error)?;
        let reverse_nfa = reverse.build_from_hir(&hir).map_err(nfa_error)?;
        Ok::<_, regex::Error>((nfa, reverse_nfa))
    })?;
    // A reverse NFA always anchored at its start is a pattern always anchored at the end.
    let reverse = reverse_nfa.is_always_start_anchored() && !nfa.is_always_start_anchored();
    let dfa_config = hybrid::dfa::Config::new()
        .unicode_word_boundary(true)
        .cache_capacity(2 * (1 << 20))
        .minimum_cache_clear_count(Some(3))
        .minimum_bytes_per_state(Some(10));
    let (dfa_config, dfa_nfa) = if reverse {
        (dfa_config.match_kind(MatchKind::All), reverse_nfa)
    } else {
        (dfa_config.match_kind(MatchKind::LeftmostFirst), nfa.clone())
    };
    let dfa = hybrid::dfa::Builder::new()
        .configure(dfa_config)
        .build_from_nfa(dfa_nfa)
        .ok();
    let pikevm = PikeVM::new_from_nfa(nfa).map_err(nfa_error)?;
    Ok(Matcher {
        min_len: hir.properties().minimum_len().unwrap_or(0),
        dfa,
        reverse,
        pikevm,
        caches: Pool::new(Caches::default),
    })
}

thread_local! {
    /// The NFA compilers of `matches` patterns, forward and reverse, with `Regex::new`'s
    /// settings, one pair per thread: a compiler keeps its scratch space from one NFA to the
    /// next (it clears it at the start of each), and making that space (a table of 10,000
    /// entries for compiling Unicode classes) and dropping it for each pattern cost about a
    /// third of compiling a bundled pattern.
    static NFA_COMPILERS: [thompson::Compiler; 2] = [
        nfa_compiler(thompson::Config::new().which_captures(WhichCaptures::All)),
        nfa_compiler(thompson::Config::new().which_captures(WhichCaptures::None).reverse(true)),
    ];
}

fn nfa_compiler(config: thompson::Config) -> thompson::Compiler {
    let mut compiler = thompson::Compiler::new();
    compiler.configure(
        config
            .utf8(true)
            .nfa_size_limit(Some(10 * (1 << 20)))
            .shrink(false),
    );
    compiler
}

/// The error `Regex::new` gives when its NFA does not build: over the size limit, or (for the
/// failures no pattern within that limit meets) the text of its engine's error.
fn nfa_error(error: thompson::BuildError) -> regex::Error {
    match error.size_limit() {
        Some(limit) => regex::Error::CompiledTooBig(limit),
        None => regex::Error::Syntax("error building NFA".to_string()),
    }
}

/// The problem of a pattern that does not compile.
pub fn invalid_regex(pattern: &str, span: Span, error: regex::Error) -> Diagnostic {
    Diagnostic::error(format!("`{pattern}` is not a valid regular expression"))
        .with_span(span)
        .with_help(regex_error_help(error))
}

/// Whether `node` reads the variable at `slot`.
fn reads_slot(node: &Node<'_>, slot: usize) -> bool {
    match node {
        Node::Var(s) | Node::VarField(s, _) => *s == slot,
        Node::Const(_) | Node::Param(..) | Node::Collection(_) => false,
        Node::List(items) | Node::Call(_, items) => items.iter().any(|i| reads_slot(i, slot)),
        Node::Field(base, _) | Node::Not(base) | Node::Member(_, base, ..) => {
            reads_slot(base, slot)
        }
        Node::And(l, r) | Node::Or(l, r) | Node::Compare(_, l, r) | Node::Matches(l, r, _) => {
            reads_slot(l, slot) || reads_slot(r, slot)
        }
        Node::Quantifier(_, lp) => {
            reads_slot(&lp.collection, slot) || lp.parts.iter().any(|p| reads_slot(p, slot))
        }
    }
}

/// The root of a path `root.f.g…` with at least one field: a variable's slot, or `None` for
/// a param or collection.
enum Root {
    Var(usize),
    Other,
}

fn path_root(node: &Node<'_>) -> Option<Root> {
    match node {
        Node::VarField(slot, _) => Some(Root::Var(*slot)),
        Node::Field(base, _) => match &**base {
            Node::Const(_) | Node::Param(..) | Node::Collection(_) => Some(Root::Other),
            base => path_root(base),
        },
        _ => None,
    }
}

/// The first part of the form `element.f… == other.g…` (either way round), where `element`
/// is the loop's variable (at `slot`) and `other` is another variable, a param or a
/// collection.
fn find_join(slot: usize, parts: &[Node<'_>]) -> Option<Join> {
    let is_loop = |root: &Root| matches!(root, Root::Var(s) if *s == slot);
    parts.iter().enumerate().find_map(|(part, node)| {
        let Node::Compare(BinaryOp::Eq, left, right) = node else {
            return None;
        };
        let (element_on_left, element) = match (path_root(left)?, path_root(right)?) {
            (l, r) if is_loop(&l) && !is_loop(&r) => (true, left),
            (l, r) if is_loop(&r) && !is_loop(&l) => (false, right),
            _ => return None,
        };
        Some(Join {
            part,
            element_on_left,
            path: KeyPath::of(fields_read(element)),
        })
    })
}

/// The fields a path `x.f.g…` reads, from `x` outwards.
pub fn fields_read(path: &Node<'_>) -> Vec<FieldName> {
    let mut fields = Vec::new();
    let mut node = path;
    while let Node::Field(base, field) = node {
        fields.push(*field);
        node = base;
    }
    if let Node::VarField(_, field) = node {
        fields.push(*field);
    }
    fields.reverse();
    fields
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
    match &expr.kind {
        ExprKind::Name(name) => names.push(name),
        ExprKind::List(items) | ExprKind::Call(_, items) => {
            items.iter().for_each(|item| names_read(item, names))
        }
        ExprKind::Field(base, _) | ExprKind::Not(base) => names_read(base, names),
        ExprKind::Binary(_, left, right) => {
            names_read(left, names);
            names_read(right, names);
        }
        ExprKind::Quantifier(quantifier) => {
            names_read(&quantifier.collection, names);
            if let Some(condition) = &quantifier.condition {
                names_read(condition, names);
            }
        }
        ExprKind::Null
        | ExprKind::Bool(_)
        | ExprKind::Integer(_)
        | ExprKind::String(_)
        | ExprKind::Size(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lang::parser::parse_rule_file;
    use crate::source::FileId;

    fn rule(body: &str) -> Rule {
        let text = format!(
            "rule T1 test-rule {{\n  severity warning\n  summary \"s\"\n  doc \"d\"\n{body}\n}}\n"
        );
        let (rule, diagnostics) = parse_rule_file(FileId(0), &text);
        assert!(diagnostics.is_empty(), "{diagnostics:?}");
        rule.expect("a rule")
    }

    #[test]
    fn names_resolve_to_slots_params_collections_and_fields() {
        let rule = rule(
            "  param wanted = [\"gcc\", \"g++\"]\n  for img in images\n  for pkg in img.packages\n  where pkg.name in wanted and any(c in pkg.stage.commands where c.program == pkg.name)\n  report pkg \"{pkg.name}\"",
        );
        let params = [("wanted", Value::list(vec![Value::str("gcc", None)]))];
        let queries = compile(&rule, &params, &Patterns::default());
        let [query] = queries.as_slice() else {
            panic!("one query");
        };
        let [images, packages] = query.bindings.as_slice() else {
            panic!("two loops");
        };
        assert!(matches!(images.collection, Node::Collection("images")));
        assert!(matches!(
            &packages.collection,
            Node::VarField(0, FieldName::Packages)
        ));
        // Both parts read `pkg` (slot 1): they are checked in the second loop.
        assert!(images.parts.is_empty());
        let [member, quantifier] = packages.parts.as_slice() else {
            panic!("two parts");
        };
        // The param (the first) is the configured value, prepared for lookups.
        let Node::Member(false, _, wanted, Some(0)) = member else {
            panic!("an `in`");
        };
        assert!(wanted.contains(&Value::str("gcc", None)));
        assert!(!wanted.contains(&Value::str("g++", None)));
        // The quantifier's variable is the slot after `pkg`; its condition compares it with
        // `pkg`, so the quantifier can look its elements up.
        let Node::Quantifier(QuantifierKind::Any, lp) = quantifier else {
            panic!("an `any`");
        };
        let join = lp.join.expect("a join");
        // Both collections read the loop around them: a new list each time.
        assert!(!packages.repeated && !lp.repeated);
        let (element, probe) = join.sides(&lp.parts).expect("sides");
        assert!(matches!(element, Node::VarField(2, FieldName::Program)));
        assert!(matches!(probe, Node::VarField(1, FieldName::Name)));
    }

    #[test]
    fn a_join_needs_the_loop_variable_on_one_side_only() {
        let rule = rule(
            "  for a in packages\n  for b in packages\n  where b.name == b.version and a.name == b.name\n  report a \"x\"",
        );
        let queries = compile(&rule, &[], &Patterns::default());
        let b = &queries[0].bindings[1];
        // `b.name == b.version` reads only `b`: not a key; `a.name == b.name` is, mirrored.
        let join = b.join.expect("a join");
        assert_eq!(join.part, 1);
        assert!(!join.element_on_left);
        assert!(queries[0].bindings[0].join.is_none());
        // `packages` does not depend on `a`: the inner loop scans the same list for each `a`.
        assert!(b.repeated);
        assert!(!queries[0].bindings[0].repeated);
    }

    #[test]
    fn joins_on_the_same_fields_of_their_elements_have_the_same_key_path() {
        let rule = rule(
            "  for a in packages\n  for q in packages\n  where q.normalized_name == a.normalized_name\n    and any(e in packages where q.normalized_name == e.normalized_name)\n    and any(n in packages where n.name == q.normalized_name)\n    and any(i in packages where i.instruction.line == q.instruction.line)\n  report a \"x\"",
        );
        let queries = compile(&rule, &[], &Patterns::default());
        let q = &queries[0].bindings[1];
        let path = |lp: &Loop<'_>| lp.join.and_then(|join| join.path);
        let quantifiers: Vec<&Loop<'_>> = q
            .parts
            .iter()
            .filter_map(|part| match part {
                Node::Quantifier(_, lp) => Some(&**lp),
                _ => None,
            })
            .collect();
        let [e, n, i] = quantifiers.as_slice() else {
            panic!("three quantifiers");
        };
        // The element is on either side: the path is what the key reads from it.
        assert!(path(q).is_some());
        assert_eq!(path(q), path(e));
        assert_eq!(path(q), KeyPath::of([FieldName::NormalizedName]));
        assert_ne!(path(n), path(q));
        assert_eq!(
            path(i),
            KeyPath::of([FieldName::Instruction, FieldName::Line])
        );
    }

    #[test]
    fn constant_patterns_compile_once_when_needed_and_bad_ones_wait_for_evaluation() {
        let rule = rule(
            "  param pattern = \"(\"\n  param gcc = \"^gcc\"\n  for p in packages\n  where p.name matches \"^gcc\" or p.name matches pattern or p.name matches p.version or p.version matches gcc\n  report p \"x\"",
        );
        let params = [
            ("pattern", Value::str("(", None)),
            ("gcc", Value::str("^gcc", None)),
        ];
        let queries = compile(&rule, &params, &Patterns::default());
        let Node::Or(left, same) = &queries[0].bindings[0].parts[0] else {
            panic!("an `or`");
        };
        let Node::Or(left, dynamic) = &**left else {
            panic!("an `or`");
        };
        let Node::Or(compiled, invalid) = &**left else {
            panic!("an `or`");
        };
        let (
            Node::Matches(_, _, Pattern::Constant(compiled)),
            Node::Matches(_, _, Pattern::Constant(same)),
        ) = (&**compiled, &**same)
        else {
            panic!("constant patterns");
        };
        // Nothing is compiled before a match needs it; the same text is compiled once.
        assert!(compiled.compiled.get().is_none());
        assert!(Arc::ptr_eq(&compiled.compiled, &same.compiled));
        assert!(compiled.regex().is_ok_and(|r| r.is_match("gcc-12")));
        assert!(same.compiled.get().is_some());
        let Node::Matches(_, _, Pattern::Constant(invalid)) = &**invalid else {
            panic!("a constant pattern");
        };
        assert!(invalid
            .regex()
            .is_err_and(|d| d.message == "`(` is not a valid regular expression"));
        assert!(matches!(
            &**dynamic,
            Node::Matches(_, _, Pattern::Dynamic(_))
        ));
    }

    #[test]
    fn the_rules_of_a_run_share_the_compilation_of_a_pattern() {
        let first = rule("  for p in packages\n  where p.name matches \"^gcc\"\n  report p \"x\"");
        let second =
            rule("  for p in packages\n  where p.version matches \"^gcc\"\n  report p \"y\"");
        let pattern = |queries: &[CompiledQuery<'_>]| match &queries[0].bindings[0].parts[0] {
            Node::Matches(_, _, Pattern::Constant(pattern)) => Arc::clone(&pattern.compiled),
            _ => panic!("a constant pattern"),
        };
        let patterns = Patterns::default();
        let (first, second) = (
            compile(&first, &[], &patterns),
            compile(&second, &[], &patterns),
        );
        assert!(Arc::ptr_eq(&pattern(&first), &pattern(&second)));
        // Another run compiles its own.
        let third = rule("  for p in packages\n  where p.name matches \"^gcc\"\n  report p \"z\"");
        let other = compile(&third, &[], &Patterns::default());
        assert!(!Arc::ptr_eq(&pattern(&first), &pattern(&other)));
    }

    /// What `Regex::new` says of `pattern` and of each text, against the matcher: the same
    /// error, or the same answers, both from `is_match` and from each of its engines alone
    /// (the lazy DFA where it does not give up, the PikeVM always).
    fn agrees_with_regex_new(pattern: &str, texts: &[String]) -> Result<(), String> {
        match (build_matcher(pattern), regex::Regex::new(pattern)) {
            (Ok(matcher), Ok(regex)) => {
                for text in texts {
                    let expected = regex.is_match(text);
                    let input = Input::new(text).earliest(true);
                    let mut caches = Caches::default();
                    let dfa = matcher.dfa_search(&mut caches, &input);
                    let pikevm = matcher.pikevm_search(&mut caches, &input);
                    let answer = matcher.is_match(text);
                    if answer != expected
                        || pikevm != expected
                        || dfa.is_some_and(|d| d != expected)
                    {
                        return Err(format!(
                            "{pattern:?} on {text:?}: regex {expected}, is_match {answer}, \
                             lazy DFA {dfa:?}, PikeVM {pikevm}"
                        ));
                    }
                }
                Ok(())
            }
            (Err(ours), Err(theirs)) if ours.to_string() == theirs.to_string() => Ok(()),
            (ours, theirs) => Err(format!(
                "{pattern:?}: {:?} vs {:?}",
                ours.err(),
                theirs.err()
            )),
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2048))]
        /// A matcher accepts the patterns `Regex::new` accepts, refuses the others with the
        /// same error, and answers every text as the `Regex` does: patterns of ASCII syntax,
        /// case-insensitive ones, and ones with word boundaries, Unicode classes and
        /// non-ASCII letters over texts with non-ASCII letters (where the lazy DFA gives up
        /// at a Unicode word boundary).
        #[test]
        fn matchers_agree_with_regex_new(
            pattern in r"[a-c0-9()\[\]{}|*+?^$.\\-]{0,10}|\(\?i\)[a-cA-C.*|]{0,6}|(\\[bBwdsWDS]|[a-cé ß^$.*?|()]|\(\?[imsu-]{1,3}\)){0,8}",
            texts in proptest::collection::vec("[a-cA-C0-9.\\- éÉßſ\n_]{0,8}", 4),
        ) {
            proptest::prop_assert_eq!(agrees_with_regex_new(&pattern, &texts), Ok(()));
        }
    }

    fn texts(texts: &[&str]) -> Vec<String> {
        texts.iter().map(|text| text.to_string()).collect()
    }

    #[test]
    fn the_pikevm_answers_where_the_lazy_dfa_gives_up() {
        // The lazy DFA does not know Unicode word boundaries: it quits at a non-ASCII byte.
        let matcher = build_matcher(r"\bfoo\b").expect("a pattern");
        assert!(matcher.dfa.is_some());
        for (text, expected) in [
            ("éfoo", false),
            ("é foo", true),
            ("foo", true),
            ("xfoo", false),
        ] {
            let input = Input::new(text).earliest(true);
            let mut caches = Caches::default();
            let gives_up = !text.is_ascii();
            assert_eq!(
                matcher.dfa_search(&mut caches, &input).is_none(),
                gives_up,
                "{text}"
            );
            assert_eq!(matcher.is_match(text), expected, "{text}");
        }
        let all = texts(&["éfoo", "é foo", "fooé", "foo é", "ÉFOO", "foo", "xfoo"]);
        assert_eq!(agrees_with_regex_new(r"\bfoo\b", &all), Ok(()));
        assert_eq!(agrees_with_regex_new(r"(?i)\Bß\b|\bk\B", &all), Ok(()));
        // So does the reverse one.
        let reverse = build_matcher(r"\bfoo$").expect("a pattern");
        assert!(reverse.reverse);
        let input = Input::new("éfoo").earliest(true);
        assert!(reverse.dfa_search(&mut Caches::default(), &input).is_none());
        assert_eq!(agrees_with_regex_new(r"\bfoo$", &all), Ok(()));
    }

    #[test]
    fn a_pattern_too_big_for_the_lazy_dfa_cache_is_matched_by_the_pikevm() {
        let pattern = "a{80000}|b";
        let matcher = build_matcher(pattern).expect("a pattern");
        assert!(matcher.dfa.is_none());
        assert_eq!(
            agrees_with_regex_new(pattern, &texts(&["b", "", "c", "aaa", "xbx"])),
            Ok(())
        );
    }

    #[test]
    fn patterns_over_the_size_limit_are_refused_as_regex_new_refuses_them() {
        // `\pL{600}`: the NFA is too big; `\w{230}`: the NFA fits, but not its reverse,
        // which `Regex::new` builds too.
        for pattern in [r"\pL{600}", r"\w{230}"] {
            assert!(
                matches!(build_matcher(pattern), Err(regex::Error::CompiledTooBig(_))),
                "{pattern}"
            );
            assert_eq!(agrees_with_regex_new(pattern, &[]), Ok(()));
        }
        assert_eq!(agrees_with_regex_new(r"\w{200}", &texts(&["w"])), Ok(()));
    }

    #[test]
    fn a_pattern_anchored_at_the_end_only_is_searched_in_reverse_from_the_end() {
        for (pattern, reverse) in [
            (r"\.whl$", true),
            (r"(^|/)python[0-9.]*$", true),
            (r"^library/[^/]+$", false),
            (r"gcc|clang$", false),
            (r"(?m)gcc$", false),
            (r"gcc", false),
        ] {
            let matcher = build_matcher(pattern).expect("a pattern");
            assert_eq!(matcher.reverse, reverse, "{pattern}");
            assert!(matcher.dfa.is_some(), "{pattern}");
            let all = texts(&[
                "a.whl",
                "a.whl/",
                "/usr/bin/python3",
                "python3.12x",
                "gcc",
                "",
            ]);
            assert_eq!(agrees_with_regex_new(pattern, &all), Ok(()));
        }
    }

    #[test]
    fn texts_shorter_than_any_match_are_not_searched() {
        let matcher = build_matcher("abc|de").expect("a pattern");
        assert_eq!(matcher.min_len, 2);
        assert!(!matcher.is_match("d"));
        assert!(matcher.is_match("de"));
        // A pattern that matches nothing has no shortest match: texts are searched.
        let nothing = build_matcher(r"[^\s\S]").expect("a pattern");
        assert_eq!(nothing.min_len, 0);
        assert!(!nothing.is_match("abc"));
    }
}
