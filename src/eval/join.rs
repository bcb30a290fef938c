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
//! the variable of the loop around it). An index is named by its list and the fields its key
//! reads from the element ([`KeyPath`]): loops that join the same list on the same fields
//! (`for q in img.packages where q.normalized_name == …` and
//! `any(e in img.packages where e.normalized_name == …)`) share it.
//!
//! Each part of a rule ([`crate::eval::engine`]) decides for itself when to index a list, so
//! that the steps it counts do not depend on the other parts; but it takes the index from
//! [`SharedIndexes`] when another part (of any rule) has built it, and counts the steps that
//! building it took.

use std::borrow::Cow;
use std::ops::Deref;
use std::sync::{Arc, Mutex, Weak};

use foldhash::{HashMap, HashMapExt};

use crate::eval::value::{Entity, Value};
use crate::lang::schema::FieldName;

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
    /// The key of `value` (taken, so that a string is not copied), or `None` for a list.
    pub fn of(value: Value<'v>) -> Option<IndexKey<'v>> {
        Some(match value {
            Value::Null => IndexKey::Null,
            Value::Bool(b) => IndexKey::Bool(b),
            Value::Integer(i) => IndexKey::Integer(i),
            Value::Size(s) => IndexKey::Size(s),
            Value::String(text, _) => IndexKey::Str(text),
            Value::Entity(entity) => IndexKey::Entity(entity),
            Value::List(_) => return None,
        })
    }
}

/// The fields a join key reads from the loop's element (`q.instruction.line` reads
/// `[Instruction, Line]`), packed one byte per field: two loops whose keys read the same
/// fields of the elements of the same list index it the same way, so they share its index.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct KeyPath(u64);

// A field is packed as its number plus one, in a byte.
const _: () = assert!(FieldName::COUNT < u8::MAX as usize);

impl KeyPath {
    /// The path of `fields`, read from the element outwards; `None` when they are too
    /// many to pack (more than eight).
    pub fn of(fields: impl IntoIterator<Item = FieldName>) -> Option<KeyPath> {
        let mut packed = 0u64;
        for field in fields {
            if packed >> 56 != 0 {
                return None;
            }
            packed = (packed << 8) | (field as u64 + 1);
        }
        Some(KeyPath(packed))
    }
}

/// What names an index of a list: the path its key reads from the element, or, for a key
/// that [`KeyPath`] cannot pack, the address of the key expression in the compiled rule
/// ([`crate::eval::compile`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyId {
    Path(KeyPath),
    Node(usize),
}

/// Marks the end of a chain of positions in [`Index::next`].
const END: usize = usize::MAX;

/// The positions of a list's elements by key, in list order: each key's first and last
/// positions, and for each position the next one with the same key. Building it allocates
/// two tables whatever the number of keys.
pub struct Index<'v> {
    ends: HashMap<IndexKey<'v>, (usize, usize)>,
    next: Vec<usize>,
}

impl<'v> Index<'v> {
    /// An empty index for a list of `len` elements.
    pub fn with_capacity(len: usize) -> Index<'v> {
        Index {
            ends: HashMap::with_capacity(len),
            next: Vec::with_capacity(len),
        }
    }

    /// The index of a list of `len` elements whose keys are `keys`, in list order; `None` as
    /// soon as a key is `None` (a list, which has no key, or a key not computed).
    pub fn of_keys(
        len: usize,
        keys: impl IntoIterator<Item = Option<IndexKey<'v>>>,
    ) -> Option<Index<'v>> {
        let mut index = Index::with_capacity(len);
        for key in keys {
            index.push(key?);
        }
        Some(index)
    }

    /// Adds the next element of the list, whose key is `key`.
    pub fn push(&mut self, key: IndexKey<'v>) {
        let position = self.next.len();
        self.next.push(END);
        let (_, last) = self.ends.entry(key).or_insert((position, position));
        if *last != position {
            if let Some(link) = self.next.get_mut(*last) {
                *link = position;
            }
            *last = position;
        }
    }

    /// The first position whose key is `key` (`END` for none).
    fn first(&self, key: Option<&IndexKey<'v>>) -> usize {
        key.and_then(|key| self.ends.get(key))
            .map_or(END, |&(first, _)| first)
    }
}

/// The positions of one key in an [`Index`], read from the index borrowed or held
/// (`Arc<Index>`, for a loop that visits them while it evaluates other things).
pub struct Positions<I> {
    index: I,
    at: usize,
}

impl<'v, I: Deref<Target = Index<'v>>> Iterator for Positions<I> {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        let position = self.at;
        self.at = *self.index.next.get(position)?;
        Some(position)
    }
}

/// The elements of a list that a loop visits: those whose key equals the probe's, found in
/// the list's index (which the loop holds while it visits them).
pub struct Candidates<'v> {
    index: Arc<Index<'v>>,
    /// The probe's key; `None` for a list, which equals no element's key.
    probe: Option<IndexKey<'v>>,
}

impl<'v> Candidates<'v> {
    pub fn new(index: Arc<Index<'v>>, probe: Value<'v>) -> Candidates<'v> {
        Candidates {
            index,
            probe: IndexKey::of(probe),
        }
    }

    /// The positions to visit, in list order, holding the index.
    pub fn into_positions(self) -> Positions<Arc<Index<'v>>> {
        Positions {
            at: self.index.first(self.probe.as_ref()),
            index: self.index,
        }
    }

    /// The positions to visit, in list order.
    pub fn positions(&self) -> Positions<&Index<'v>> {
        Positions {
            at: self.index.first(self.probe.as_ref()),
            index: &self.index,
        }
    }
}

/// Where a list stands for one key.
enum Entry<'v> {
    /// Scanned once; the weak reference keeps its address from being reused.
    Seen(Weak<Vec<Value<'v>>>),
    /// Indexed, or `None` when an element's key is a list. The list is kept alive with its
    /// index, so that its address names it.
    Indexed {
        _list: Arc<Vec<Value<'v>>>,
        index: Option<Arc<Index<'v>>>,
    },
}

/// The indexes of one rule part's evaluation, by list and key: the loops of the part whose
/// keys read the same path from the same list share one index.
#[derive(Default)]
pub struct Indexes<'v> {
    entries: HashMap<(usize, KeyId), Entry<'v>>,
}

/// What to do with a loop over a list.
pub enum Plan<'v> {
    /// Scan every element.
    Scan,
    /// Build the index now (this is the second scan).
    Build,
    /// Look the probe up in this index (shared, so that the loop holds it while it
    /// evaluates the probe).
    Lookup(Arc<Index<'v>>),
}

impl<'v> Indexes<'v> {
    fn key(list: &Arc<Vec<Value<'v>>>, key: KeyId) -> (usize, KeyId) {
        (Arc::as_ptr(list) as usize, key)
    }

    /// How to loop over `list` with the join key `key`. A loop known to scan the same list
    /// again (`repeated`: its collection does not depend on the loop around it) builds the
    /// index at once instead of at its second scan.
    pub fn plan(&mut self, list: &Arc<Vec<Value<'v>>>, key: KeyId, repeated: bool) -> Plan<'v> {
        // A list only this loop holds is computed afresh each time: never the same twice.
        if list.len() < MIN_INDEXED_LEN || Arc::strong_count(list) < 2 {
            return Plan::Scan;
        }
        let key = Self::key(list, key);
        let seen_before = match self.entries.get(&key) {
            Some(Entry::Indexed {
                index: Some(index), ..
            }) => return Plan::Lookup(Arc::clone(index)),
            Some(Entry::Indexed { index: None, .. }) => return Plan::Scan,
            Some(Entry::Seen(weak)) => weak.upgrade().is_some_and(|l| Arc::ptr_eq(&l, list)),
            None => false,
        };
        if seen_before || repeated {
            return Plan::Build;
        }
        self.entries.insert(key, Entry::Seen(Arc::downgrade(list)));
        Plan::Scan
    }

    /// Stores the index of `list` by `key` (`None`: it cannot be indexed).
    pub fn store(&mut self, list: &Arc<Vec<Value<'v>>>, key: KeyId, index: Option<Arc<Index<'v>>>) {
        self.entries.insert(
            Self::key(list, key),
            Entry::Indexed {
                _list: Arc::clone(list),
                index,
            },
        );
    }
}

/// An index built by some part, with the steps building it took (its list is kept alive
/// so that its address names it).
struct Built<'v> {
    _list: Arc<Vec<Value<'v>>>,
    index: Option<Arc<Index<'v>>>,
    steps: u64,
}

/// The indexes every part of an evaluation has built, by list and key, for the other parts
/// to take instead of building them again.
#[derive(Default)]
pub struct SharedIndexes<'v> {
    built: Mutex<HashMap<(usize, KeyId), Built<'v>>>,
}

impl<'v> SharedIndexes<'v> {
    /// The index of `list` by `key` that a part has built (`None` inside: it cannot be
    /// indexed), and the steps building it took.
    pub fn get(
        &self,
        list: &Arc<Vec<Value<'v>>>,
        key: KeyId,
    ) -> Option<(Option<Arc<Index<'v>>>, u64)> {
        let built = self.built.lock().ok()?;
        let found = built.get(&Indexes::key(list, key))?;
        Some((found.index.clone(), found.steps))
    }

    /// Shares the index of `list` by `key`, which took `steps` steps to build.
    pub fn insert(
        &self,
        list: &Arc<Vec<Value<'v>>>,
        key: KeyId,
        index: Option<Arc<Index<'v>>>,
        steps: u64,
    ) {
        if let Ok(mut built) = self.built.lock() {
            built.insert(
                Indexes::key(list, key),
                Built {
                    _list: Arc::clone(list),
                    index,
                    steps,
                },
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(fields: &[FieldName]) -> KeyId {
        KeyId::Path(KeyPath::of(fields.iter().copied()).expect("a short path"))
    }

    fn index_of(keys: &[i64]) -> Arc<Index<'static>> {
        let mut index = Index::with_capacity(keys.len());
        for &key in keys {
            index.push(IndexKey::Integer(key));
        }
        Arc::new(index)
    }

    #[test]
    fn a_list_is_indexed_on_its_second_scan_only_when_shared() {
        let key = path(&[FieldName::Name]);
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
        assert!(matches!(
            indexes.plan(&shared, KeyId::Node(2), false),
            Plan::Scan
        ));
        assert!(matches!(
            indexes.plan(&shared, KeyId::Node(3), true),
            Plan::Build
        ));
        indexes.store(&shared, key, Some(index_of(&[0, 1, 2, 3])));
        match indexes.plan(&shared, key, false) {
            Plan::Lookup(found) => {
                let positions = |probe| {
                    Candidates::new(Arc::clone(&found), probe)
                        .positions()
                        .collect::<Vec<_>>()
                };
                assert_eq!(positions(Value::Integer(3)), [3]);
                assert!(positions(Value::Integer(4)).is_empty());
                assert!(positions(Value::list(vec![Value::Integer(3)])).is_empty());
            }
            _ => panic!("expected a lookup"),
        }
        let short = Arc::new(vec![Value::Null]);
        let _other = Arc::clone(&short);
        assert!(matches!(indexes.plan(&short, key, true), Plan::Scan));
        assert!(matches!(indexes.plan(&short, key, true), Plan::Scan));
    }

    #[test]
    fn loops_whose_keys_read_the_same_fields_share_an_index() {
        let list = Arc::new((0..10).map(Value::Integer).collect::<Vec<_>>());
        let _shared = Arc::clone(&list);
        let mut indexes = Indexes::default();
        // `q.normalized_name` of one loop and `e.normalized_name` of another.
        let name = path(&[FieldName::NormalizedName]);
        assert!(matches!(indexes.plan(&list, name, true), Plan::Build));
        indexes.store(&list, name, Some(index_of(&[1; 10])));
        assert!(matches!(
            indexes.plan(&list, path(&[FieldName::NormalizedName]), true),
            Plan::Lookup(_)
        ));
        // Other fields, or the same fields in another order, are another index.
        for other in [
            path(&[FieldName::Name]),
            path(&[FieldName::Instruction, FieldName::Line]),
            path(&[FieldName::Line, FieldName::Instruction]),
        ] {
            assert!(matches!(indexes.plan(&list, other, true), Plan::Build));
        }
        // So is another list by the same fields.
        let another = Arc::new((0..10).map(Value::Integer).collect::<Vec<_>>());
        let _held = Arc::clone(&another);
        assert!(matches!(indexes.plan(&another, name, true), Plan::Build));
    }

    #[test]
    fn key_paths_pack_up_to_eight_fields() {
        let fields = |n| std::iter::repeat_n(FieldName::Name, n);
        assert_ne!(KeyPath::of(fields(1)), KeyPath::of(fields(2)));
        assert!(KeyPath::of(fields(8)).is_some());
        assert!(KeyPath::of(fields(9)).is_none());
        assert_ne!(
            KeyPath::of([FieldName::Name, FieldName::Line]),
            KeyPath::of([FieldName::Line, FieldName::Name])
        );
    }

    proptest::proptest! {
        /// An index finds exactly the positions whose key equals the probe, in list order.
        #[test]
        fn an_index_finds_what_a_scan_finds(
            keys in proptest::collection::vec(0i64..5, 0..40),
            probe in 0i64..6,
        ) {
            let found: Vec<usize> = Candidates::new(index_of(&keys), Value::Integer(probe))
                .positions()
                .collect();
            let scanned: Vec<usize> = (0..keys.len()).filter(|&p| keys[p] == probe).collect();
            proptest::prop_assert_eq!(found, scanned);
        }
    }
}
