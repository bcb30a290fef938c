//! The constant list of an `in` or `not in` (a literal list or a param), prepared when the
//! rule compiles so that a lookup compares a text only with the list's texts of its length.

use std::sync::Arc;

use crate::eval::value::Value;

/// The elements of a constant list, for `needle in list`: the texts of its strings, each
/// once, grouped by length, and the list itself for a needle that is not a string (a string
/// equals only a string, and by its text: see [`Value::equals`]).
pub struct Members<'r> {
    /// The list as written.
    list: Arc<Vec<Value<'r>>>,
    /// The distinct texts of the list's strings, shortest first, end to end: the texts of
    /// length `n` are consecutive chunks of `n` bytes.
    texts: Vec<u8>,
    /// For each length `n` up to that of the longest text, where the texts of length `n`
    /// start in `texts`; one more entry, the end of `texts`.
    starts: Vec<usize>,
    /// Whether the empty text is one of the texts (it takes no bytes of `texts`).
    empty: bool,
}

impl<'r> Members<'r> {
    pub fn new(list: Arc<Vec<Value<'r>>>) -> Members<'r> {
        let mut distinct: Vec<&str> = list.iter().filter_map(Value::as_str).collect();
        distinct.sort_unstable_by(|a, b| a.len().cmp(&b.len()).then_with(|| a.cmp(b)));
        distinct.dedup();
        let empty = distinct.first().is_some_and(|text| text.is_empty());
        let longest = distinct.last().map_or(0, |text| text.len());
        let mut texts = Vec::with_capacity(distinct.iter().map(|text| text.len()).sum());
        let mut starts = Vec::with_capacity(longest + 2);
        let mut next = distinct.iter().peekable();
        for length in 0..=longest {
            starts.push(texts.len());
            while let Some(text) = next.next_if(|text| text.len() == length) {
                texts.extend_from_slice(text.as_bytes());
            }
        }
        starts.push(texts.len());
        Members {
            list,
            texts,
            starts,
            empty,
        }
    }

    /// The list as written.
    #[cfg(test)]
    pub fn list(&self) -> &Arc<Vec<Value<'r>>> {
        &self.list
    }

    /// Whether `needle` is an element of the list: equal to one as [`Value::equals`] says.
    #[inline]
    pub fn contains(&self, needle: &Value<'_>) -> bool {
        match needle {
            Value::String(text, _) => self.contains_text(text.as_bytes()),
            _ => self.list.iter().any(|item| item.equals(needle)),
        }
    }

    /// Whether one of the texts is `text`.
    fn contains_text(&self, text: &[u8]) -> bool {
        let length = text.len();
        let (Some(&start), Some(&end)) = (self.starts.get(length), self.starts.get(length + 1))
        else {
            return false;
        };
        let Some(same_length) = self.texts.get(start..end) else {
            return false;
        };
        if length == 0 {
            return self.empty;
        }
        same_length
            .chunks_exact(length)
            .any(|candidate| candidate == text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::value::Entity;
    use proptest::prelude::*;
    use std::borrow::Cow;

    /// `needle in list` as the evaluator answers it for a list computed at evaluation.
    fn general(list: &[Value<'_>], needle: &Value<'_>) -> bool {
        let list = Value::list(list.to_vec());
        crate::eval::engine::contains(&list, needle)
    }

    fn text(text: &str) -> Value<'static> {
        Value::String(Cow::Owned(text.to_string()), None)
    }

    #[test]
    fn texts_are_grouped_by_length() {
        let list = vec![
            text("uv"),
            text("pip"),
            text("uv"),
            text(""),
            text("gcc"),
            Value::Integer(1),
        ];
        let members = Members::new(Arc::new(list));
        assert_eq!(members.texts, b"uvgccpip");
        assert_eq!(members.starts, [0, 0, 0, 2, 8]);
        assert!(members.contains(&text("")));
        assert!(members.contains(&text("pip")));
        assert!(!members.contains(&text("pi")));
        assert!(!members.contains(&text("pipx")));
        assert!(members.contains(&Value::Integer(1)));
        assert!(!members.contains(&Value::Null));
        let empty = Members::new(Arc::new(vec![text("a")]));
        assert_eq!(empty.starts, [0, 0, 1]);
        assert!(!empty.contains(&text("")));
    }

    fn value() -> impl Strategy<Value = Value<'static>> {
        let scalar = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            (0i64..3).prop_map(Value::Integer),
            (0u64..3).prop_map(Value::Size),
            (0usize..3).prop_map(|i| Value::Entity(Entity::Dockerfile(i))),
            "[aé]{0,3}|[a-c]{0,20}".prop_map(|t| text(&t)),
        ];
        scalar.prop_recursive(2, 8, 3, |inner| {
            proptest::collection::vec(inner, 0..3).prop_map(Value::list)
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2048))]
        /// The prepared list answers every needle as the evaluator's `contains` does for the
        /// same list computed at evaluation (a scan with [`Value::equals`]): strings (empty, non-ASCII, short and long, the list's own
        /// texts and others), scalars of every kind, entities, null and lists, in lists with
        /// elements of every kind and duplicates.
        #[test]
        fn prepared_members_agree_with_a_scan(
            list in proptest::collection::vec(value(), 0..12),
            needles in proptest::collection::vec(value(), 4),
            pick in 0usize..12,
        ) {
            let members = Members::new(Arc::new(list.clone()));
            let own = list.get(pick).cloned().unwrap_or(Value::Null);
            for needle in needles.iter().chain([&own]) {
                prop_assert_eq!(members.contains(needle), general(&list, needle), "{:?}", needle);
            }
        }
    }
}
