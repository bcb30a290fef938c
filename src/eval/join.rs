//! Equality joins by index. A loop (`for q in L` or `any(q in L where …)`) whose condition
//! keeps only the elements with `q.f… == x.g…`, where `x.g…` does not read `q`, visits only the
//! elements of an index of `L` by `q.f…` that equal the probe `x.g…`, instead of scanning `L`
//! once per row of the enclosing loops. The result is the same: the other elements fail that
//! part of the condition, and evaluation has no side effects.
//!
//! Only lists that the world shares (its collections and derived fields, which are the same
//! list every time they are read) are indexed, and only once a loop scans the same list a
//! second time with the same key, so that one-off scans cost nothing extra.

use std::borrow::Cow;
use std::sync::{Arc, Weak};

use foldhash::HashMap;

use crate::eval::value::{Entity, Value};
use crate::lang::ast::{BinaryOp, Expr, ExprKind};

/// Lists shorter than this are scanned: an index would not pay for itself.
pub const MIN_INDEXED_LEN: usize = 8;

/// A condition part `element_key == probe` that a loop over `variable` can look up.
#[derive(Clone, Copy)]
pub struct JoinKey<'r> {
    /// `q.f…`: reads only the loop variable.
    pub element_key: &'r Expr,
    /// `x.g…`: does not read the loop variable.
    pub probe: &'r Expr,
}

/// The first part of `parts` of the form `variable.f… == name.g…` (either way round) where
/// `name` is another variable, a param or a collection.
pub fn find_join_key<'r>(variable: &str, parts: &[&'r Expr]) -> Option<JoinKey<'r>> {
    parts.iter().find_map(|part| match &part.kind {
        ExprKind::Binary(BinaryOp::Eq, left, right) => match (path_root(left), path_root(right)) {
            (Some(l), Some(r)) if l == variable && r != variable => Some(JoinKey {
                element_key: left,
                probe: right,
            }),
            (Some(l), Some(r)) if r == variable && l != variable => Some(JoinKey {
                element_key: right,
                probe: left,
            }),
            _ => None,
        },
        _ => None,
    })
}

/// The name at the root of a path `name.f.g…` with at least one field.
fn path_root(expr: &Expr) -> Option<&str> {
    let ExprKind::Field(first, _) = &expr.kind else {
        return None;
    };
    let mut base: &Expr = first;
    loop {
        match &base.kind {
            ExprKind::Field(inner, _) => base = inner,
            ExprKind::Name(name) => return Some(name),
            _ => return None,
        }
    }
}

/// A value as a hash key, with the equality of [`Value::equals`]; lists have none.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum IndexKey<'v> {
    Null,
    Bool(bool),
    Integer(i64),
    Size(u64),
    Str(Cow<'v, str>),
    Entity(Entity),
}

impl<'v> IndexKey<'v> {
    pub fn of(value: &Value<'v>) -> Option<IndexKey<'v>> {
        Some(match value {
            Value::Null => IndexKey::Null,
            Value::Bool(b) => IndexKey::Bool(*b),
            Value::Integer(i) => IndexKey::Integer(*i),
            Value::Size(s) => IndexKey::Size(*s),
            Value::String(text, _) => IndexKey::Str(text.clone()),
            Value::Entity(entity) => IndexKey::Entity(*entity),
            Value::List(_) => return None,
        })
    }
}

/// The positions of a list's elements by key, in list order.
pub type Positions<'v> = HashMap<IndexKey<'v>, Vec<usize>>;

/// Where a list stands for one key expression.
enum Entry<'v> {
    /// Scanned once; the weak reference keeps its address from being reused.
    Seen(Weak<Vec<Value<'v>>>),
    /// Indexed, or `None` when an element's key is a list. The list is kept alive with its
    /// index, so that its address names it.
    Indexed {
        _list: Arc<Vec<Value<'v>>>,
        positions: Option<Positions<'v>>,
    },
}

/// The indexes of one rule's evaluation, by list and key expression.
#[derive(Default)]
pub struct Indexes<'v> {
    entries: HashMap<(usize, usize), Entry<'v>>,
}

/// What to do with a loop over a list.
pub enum Plan<'a, 'v> {
    /// Scan every element.
    Scan,
    /// Build the index now (this is the second scan).
    Build,
    /// Look the probe up in this index.
    Lookup(&'a Positions<'v>),
}

impl<'v> Indexes<'v> {
    fn key(list: &Arc<Vec<Value<'v>>>, element_key: &Expr) -> (usize, usize) {
        (
            Arc::as_ptr(list) as usize,
            element_key as *const Expr as usize,
        )
    }

    /// How to loop over `list` with the join key `element_key`.
    pub fn plan(&mut self, list: &Arc<Vec<Value<'v>>>, element_key: &Expr) -> Plan<'_, 'v> {
        // A list only this loop holds is computed afresh each time: never the same twice.
        if list.len() < MIN_INDEXED_LEN || Arc::strong_count(list) < 2 {
            return Plan::Scan;
        }
        let key = Self::key(list, element_key);
        let seen_before = match self.entries.get(&key) {
            Some(Entry::Indexed { .. }) => true,
            Some(Entry::Seen(weak)) => weak.upgrade().is_some_and(|l| Arc::ptr_eq(&l, list)),
            None => false,
        };
        if !seen_before {
            self.entries.insert(key, Entry::Seen(Arc::downgrade(list)));
            return Plan::Scan;
        }
        match self.entries.get(&key) {
            Some(Entry::Indexed {
                positions: Some(positions),
                ..
            }) => Plan::Lookup(positions),
            Some(Entry::Indexed {
                positions: None, ..
            }) => Plan::Scan,
            _ => Plan::Build,
        }
    }

    /// Stores the index of `list` (`None`: it cannot be indexed).
    pub fn store(
        &mut self,
        list: &Arc<Vec<Value<'v>>>,
        element_key: &Expr,
        positions: Option<Positions<'v>>,
    ) {
        self.entries.insert(
            Self::key(list, element_key),
            Entry::Indexed {
                _list: Arc::clone(list),
                positions,
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::{FileId, Span};

    fn expr(kind: ExprKind) -> Expr {
        Expr {
            kind,
            span: Span::point(FileId(0), 0),
        }
    }

    fn path(root: &str, fields: &[&str]) -> Expr {
        let mut e = expr(ExprKind::Name(root.into()));
        for field in fields {
            e = expr(ExprKind::Field(
                Box::new(e),
                crate::source::Spanned {
                    value: field.to_string(),
                    span: Span::point(FileId(0), 0),
                },
            ));
        }
        e
    }

    #[test]
    fn a_join_key_compares_a_path_of_the_variable_with_another_path() {
        let eq = |l: Expr, r: Expr| expr(ExprKind::Binary(BinaryOp::Eq, Box::new(l), Box::new(r)));
        let keyed = eq(path("p", &["name"]), path("q", &["install", "name"]));
        let mirrored = eq(path("q", &["name"]), path("p", &["name"]));
        let same_side = eq(path("q", &["a"]), path("q", &["b"]));
        let literal = eq(path("q", &["a"]), expr(ExprKind::String("x".into())));
        assert!(find_join_key("q", &[&same_side, &literal]).is_none());
        let key = find_join_key("q", &[&same_side, &keyed]).unwrap();
        assert!(std::ptr::eq(
            key.probe,
            match &keyed.kind {
                ExprKind::Binary(_, l, _) => l.as_ref(),
                _ => unreachable!(),
            }
        ));
        let key = find_join_key("q", &[&mirrored]).unwrap();
        assert!(matches!(&key.element_key.kind, ExprKind::Field(..)));
        assert_eq!(path_root(key.element_key), Some("q"));
        assert_eq!(path_root(key.probe), Some("p"));
    }

    #[test]
    fn a_list_is_indexed_on_its_second_scan_only_when_shared() {
        let key = path("q", &["name"]);
        let list = Arc::new((0..10).map(Value::Integer).collect::<Vec<_>>());
        let mut indexes = Indexes::default();
        // Only this loop holds it: scanned every time.
        assert!(matches!(indexes.plan(&list, &key), Plan::Scan));
        assert!(matches!(indexes.plan(&list, &key), Plan::Scan));
        let shared = Arc::clone(&list);
        assert!(matches!(indexes.plan(&shared, &key), Plan::Scan));
        assert!(matches!(indexes.plan(&shared, &key), Plan::Build));
        let mut positions = Positions::default();
        positions.insert(IndexKey::Integer(3), vec![3]);
        indexes.store(&shared, &key, Some(positions));
        match indexes.plan(&shared, &key) {
            Plan::Lookup(found) => assert_eq!(found[&IndexKey::Integer(3)], [3]),
            _ => panic!("expected a lookup"),
        }
        let short = Arc::new(vec![Value::Null]);
        let _other = Arc::clone(&short);
        assert!(matches!(indexes.plan(&short, &key), Plan::Scan));
        assert!(matches!(indexes.plan(&short, &key), Plan::Scan));
    }
}
