//! Equality joins by index. A loop (`for q in L` or `any(q in L where …)`) whose condition
//! keeps only the elements with `q.f… == x.g…`, where `x.g…` does not read `q`, visits only the
//! elements of an index of `L` by `q.f…` that equal the probe `x.g…`, instead of scanning `L`
//! once per row of the enclosing loops. The result is the same: the other elements fail that
//! part of the condition, and evaluation has no side effects.
//!
//! Only lists that the world shares (its collections and derived fields, which are the same
//! list every time they are read) are indexed, and only once a loop scans the same list a
//! second time with the same key, so that one-off scans cost nothing extra — or at its first
//! scan when the loop is known to come back to the same list (its collection does not read
//! the variable of the loop around it).

use std::borrow::Cow;
use std::sync::{Arc, Weak};

use foldhash::HashMap;

use crate::eval::value::{Entity, Value};

/// Lists shorter than this are scanned: an index would not pay for itself.
pub const MIN_INDEXED_LEN: usize = 8;

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

/// The elements of a list that a loop visits: those whose key equals the probe's, found in
/// the list's index (which the loop holds while it visits them).
pub struct Candidates<'v> {
    index: Arc<Positions<'v>>,
    /// The probe's key; `None` for a list, which equals no element's key.
    probe: Option<IndexKey<'v>>,
}

impl<'v> Candidates<'v> {
    pub fn new(index: Arc<Positions<'v>>, probe: &Value<'v>) -> Candidates<'v> {
        Candidates {
            index,
            probe: IndexKey::of(probe),
        }
    }

    /// The positions to visit, in list order.
    pub fn positions(&self) -> &[usize] {
        self.probe
            .as_ref()
            .and_then(|key| self.index.get(key))
            .map_or(&[], Vec::as_slice)
    }
}

/// Where a list stands for one key expression.
enum Entry<'v> {
    /// Scanned once; the weak reference keeps its address from being reused.
    Seen(Weak<Vec<Value<'v>>>),
    /// Indexed, or `None` when an element's key is a list. The list is kept alive with its
    /// index, so that its address names it.
    Indexed {
        _list: Arc<Vec<Value<'v>>>,
        positions: Option<Arc<Positions<'v>>>,
    },
}

/// The indexes of one rule's evaluation, by list and key expression (its address in the
/// compiled rule, [`crate::eval::compile`]).
#[derive(Default)]
pub struct Indexes<'v> {
    entries: HashMap<(usize, usize), Entry<'v>>,
}

/// What to do with a loop over a list.
pub enum Plan<'v> {
    /// Scan every element.
    Scan,
    /// Build the index now (this is the second scan).
    Build,
    /// Look the probe up in this index (shared, so that the loop holds it while it
    /// evaluates the probe).
    Lookup(Arc<Positions<'v>>),
}

impl<'v> Indexes<'v> {
    fn key(list: &Arc<Vec<Value<'v>>>, element_key: usize) -> (usize, usize) {
        (Arc::as_ptr(list) as usize, element_key)
    }

    /// How to loop over `list` with the join key `element_key`. A loop known to scan the
    /// same list again (`repeated`: its collection does not depend on the loop around it)
    /// builds the index at once instead of at its second scan.
    pub fn plan(
        &mut self,
        list: &Arc<Vec<Value<'v>>>,
        element_key: usize,
        repeated: bool,
    ) -> Plan<'v> {
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
            if repeated {
                return Plan::Build;
            }
            self.entries.insert(key, Entry::Seen(Arc::downgrade(list)));
            return Plan::Scan;
        }
        match self.entries.get(&key) {
            Some(Entry::Indexed {
                positions: Some(positions),
                ..
            }) => Plan::Lookup(Arc::clone(positions)),
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
        element_key: usize,
        positions: Option<Arc<Positions<'v>>>,
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

    #[test]
    fn a_list_is_indexed_on_its_second_scan_only_when_shared() {
        let key = 1;
        let list = Arc::new((0..10).map(Value::Integer).collect::<Vec<_>>());
        let mut indexes = Indexes::default();
        // Only this loop holds it: scanned every time.
        assert!(matches!(indexes.plan(&list, key, false), Plan::Scan));
        assert!(matches!(indexes.plan(&list, key, true), Plan::Scan));
        let shared = Arc::clone(&list);
        assert!(matches!(indexes.plan(&shared, key, false), Plan::Scan));
        assert!(matches!(indexes.plan(&shared, key, false), Plan::Build));
        // Another key of the same list has its own entry; a loop known to come back to the
        // list builds its index at the first scan.
        assert!(matches!(indexes.plan(&shared, 2, false), Plan::Scan));
        assert!(matches!(indexes.plan(&shared, 3, true), Plan::Build));
        let mut positions = Positions::default();
        positions.insert(IndexKey::Integer(3), vec![3]);
        indexes.store(&shared, key, Some(Arc::new(positions)));
        match indexes.plan(&shared, key, false) {
            Plan::Lookup(found) => {
                assert_eq!(
                    Candidates::new(Arc::clone(&found), &Value::Integer(3)).positions(),
                    [3]
                );
                assert!(Candidates::new(Arc::clone(&found), &Value::Integer(4))
                    .positions()
                    .is_empty());
                let list = Value::list(vec![Value::Integer(3)]);
                assert!(Candidates::new(found, &list).positions().is_empty());
            }
            _ => panic!("expected a lookup"),
        }
        let short = Arc::new(vec![Value::Null]);
        let _other = Arc::clone(&short);
        assert!(matches!(indexes.plan(&short, key, true), Plan::Scan));
        assert!(matches!(indexes.plan(&short, key, true), Plan::Scan));
    }
}
