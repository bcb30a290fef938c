//! PEP 503 normalisation of Python project names. Shared by the library (through
//! `model::requirements`) and by `build.rs`, which keys the bundled distribution-to-import
//! table by normalised name; so this module uses only `std`.

/// PEP 503 normalisation of a project name: lowercase, each run of `-`, `_` and `.`
/// replaced by a single `-`.
pub fn normalize_name(name: &str) -> String {
    let mut normalized = String::with_capacity(name.len());
    let mut in_separator_run = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !in_separator_run {
                normalized.push('-');
            }
            in_separator_run = true;
        } else {
            normalized.extend(c.to_lowercase());
            in_separator_run = false;
        }
    }
    normalized
}

#[cfg(test)]
mod tests {
    use super::normalize_name;

    #[test]
    fn pep503_normalisation() {
        assert_eq!(
            normalize_name("Django_REST.framework"),
            "django-rest-framework"
        );
        assert_eq!(normalize_name("zope..-_Interface"), "zope-interface");
        assert_eq!(normalize_name("requests"), "requests");
    }
}
