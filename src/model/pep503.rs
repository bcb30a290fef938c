//! PEP 503 normalisation of Python project names. Shared by the library (through
//! `model::requirements`) and by `build.rs`, which keys the bundled distribution-to-import
//! table by normalised name; so this module uses only `std`.

use std::borrow::Cow;

/// PEP 503 normalisation of a project name: lowercase, each run of `-`, `_` and `.`
/// replaced by a single `-`.
pub fn normalize_name(name: &str) -> String {
    normalized_name(name).into_owned()
}

/// [`normalize_name`] without a copy when `name` is already normalised (ASCII, no
/// uppercase, `_` or `.`, no `--`), as most names are.
pub fn normalized_name(name: &str) -> Cow<'_, str> {
    let mut after_dash = false;
    let normal = name.bytes().all(|b| {
        let ok = match b {
            b'-' => !after_dash,
            b'_' | b'.' | b'A'..=b'Z' => false,
            _ => b.is_ascii(),
        };
        after_dash = b == b'-';
        ok
    });
    if normal {
        return Cow::Borrowed(name);
    }
    let mut normalized = String::with_capacity(name.len());
    let mut in_separator_run = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !in_separator_run {
                normalized.push('-');
            }
            in_separator_run = true;
        } else {
            if c.is_ascii() {
                normalized.push(c.to_ascii_lowercase());
            } else {
                normalized.extend(c.to_lowercase());
            }
            in_separator_run = false;
        }
    }
    Cow::Owned(normalized)
}

#[cfg(test)]
mod tests {
    use super::{normalize_name, normalized_name};
    use proptest::prelude::*;
    use std::borrow::Cow;

    #[test]
    fn pep503_normalisation() {
        assert_eq!(
            normalize_name("Django_REST.framework"),
            "django-rest-framework"
        );
        assert_eq!(normalize_name("zope..-_Interface"), "zope-interface");
        assert_eq!(normalize_name("requests"), "requests");
        assert_eq!(normalize_name("ÀB-c"), "àb-c");
        assert!(matches!(
            normalized_name("zope-interface"),
            Cow::Borrowed(_)
        ));
        assert!(matches!(normalized_name("Zope"), Cow::Owned(_)));
    }

    /// The normalisation as PEP 503 writes it: `re.sub(r"[-_.]+", "-", name).lower()`.
    fn reference(name: &str) -> String {
        let separators = regex::Regex::new("[-_.]+").unwrap();
        separators.replace_all(name, "-").to_lowercase()
    }

    proptest! {
        #[test]
        fn normalisation_follows_the_reference(name in "[a-zA-Z0-9._Àé-]{0,12}") {
            prop_assert_eq!(normalized_name(&name).into_owned(), reference(&name));
        }
    }
}
