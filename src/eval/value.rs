//! Values that rule expressions evaluate to, and the entities of the model they refer to.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::sync::Arc;

use crate::source::Span;

/// A reference to one entity of the model, by indices into the repository's vectors.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Entity {
    Dockerfile(usize),
    /// Dockerfile, stage.
    Stage(usize, usize),
    /// The base reference of (Dockerfile, stage).
    ImageRef(usize, usize),
    /// Index into the world's images.
    Image(usize),
    /// Dockerfile, instruction.
    Instruction(usize, usize),
    /// Dockerfile, instruction, flag.
    Flag(usize, usize, usize),
    /// Dockerfile, run, command.
    Command(usize, usize, usize),
    /// Dockerfile, run, install.
    Install(usize, usize, usize),
    /// Dockerfile, run, install, package.
    Package(usize, usize, usize, usize),
    // An environment setting has one variant for each place it is written in ([`SettingAt`],
    // which converts to and from them), not one holding a `SettingAt`: an entity's tag is
    // then a word of its own rather than a niche of the nested enum's, and matching an
    // entity (the world's most frequent work) is one load.
    /// A setting: Dockerfile, `ENV` instruction, pair.
    SettingEnv(usize, usize, usize),
    /// A setting: Dockerfile, `ARG` instruction, value.
    SettingArg(usize, usize, usize),
    /// A setting: Dockerfile, run, install, setting.
    SettingCommand(usize, usize, usize, usize),
    /// Dockerfile, pip link.
    PipRequirements(usize, usize),
    /// Dockerfile, copy.
    Copy(usize, usize),
    /// Dockerfile, copy, source.
    CopySource(usize, usize, usize),
    Context(usize),
    /// Context, file.
    ContextFile(usize, usize),
    /// The `.dockerignore` of a context.
    Dockerignore(usize),
    /// Context, pattern.
    IgnorePattern(usize, usize),
    RequirementsFile(usize),
    /// Requirements file, requirement.
    Requirement(usize, usize),
    Service(usize),
    /// The healthcheck of a service.
    Healthcheck(usize),
    /// Service, reservation.
    Gpu(usize, usize),
    PythonFile(usize),
    /// Python file, import.
    Import(usize, usize),
    /// Image, contributor of its size estimate.
    SizeContributor(usize, usize),
}

impl Entity {
    /// Where the setting is written, when the entity is one.
    pub fn setting_at(self) -> Option<SettingAt> {
        match self {
            Entity::SettingEnv(d, i, p) => Some(SettingAt::Env(d, i, p)),
            Entity::SettingArg(d, i, v) => Some(SettingAt::Arg(d, i, v)),
            Entity::SettingCommand(d, r, i, s) => Some(SettingAt::Command(d, r, i, s)),
            _ => None,
        }
    }
}

impl From<SettingAt> for Entity {
    fn from(at: SettingAt) -> Entity {
        match at {
            SettingAt::Env(d, i, p) => Entity::SettingEnv(d, i, p),
            SettingAt::Arg(d, i, v) => Entity::SettingArg(d, i, v),
            SettingAt::Command(d, r, i, s) => Entity::SettingCommand(d, r, i, s),
        }
    }
}

/// Where an environment setting is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SettingAt {
    /// Dockerfile, `ENV` instruction, pair.
    Env(usize, usize, usize),
    /// Dockerfile, `ARG` instruction, value.
    Arg(usize, usize, usize),
    /// Dockerfile, run, install, setting.
    Command(usize, usize, usize, usize),
}

/// A value: null, a scalar, a list or an entity. Strings read from a file keep their span.
/// Lists are shared (`Arc`), so that the world can compute a list once and hand it to every
/// rule on every thread.
#[derive(Clone, Debug)]
pub enum Value<'m> {
    Null,
    Bool(bool),
    Integer(i64),
    Size(u64),
    String(Cow<'m, str>, Option<Span>),
    List(Arc<Vec<Value<'m>>>),
    Entity(Entity),
}

impl<'m> Value<'m> {
    pub fn str(text: &'m str, span: Option<Span>) -> Value<'m> {
        Value::String(Cow::Borrowed(text), span)
    }

    pub fn list(items: Vec<Value<'m>>) -> Value<'m> {
        Value::List(Arc::new(items))
    }

    /// The value with its strings copied: it borrows nothing.
    pub fn to_static(&self) -> Value<'static> {
        match self {
            Value::Null => Value::Null,
            Value::Bool(b) => Value::Bool(*b),
            Value::Integer(i) => Value::Integer(*i),
            Value::Size(s) => Value::Size(*s),
            Value::String(text, span) => Value::String(Cow::Owned(text.to_string()), *span),
            Value::List(items) => Value::list(items.iter().map(Value::to_static).collect()),
            Value::Entity(entity) => Value::Entity(*entity),
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// `true` only for the boolean true; null and everything else is false.
    pub fn is_true(&self) -> bool {
        matches!(self, Value::Bool(true))
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(text, _) => Some(text),
            _ => None,
        }
    }

    /// Equality as rules see it: strings by text (not span), entities by identity.
    #[inline]
    pub fn equals(&self, other: &Value<'_>) -> bool {
        match (self, other) {
            (Value::Null, Value::Null) => true,
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::Integer(a), Value::Integer(b)) => a == b,
            (Value::Size(a), Value::Size(b)) => a == b,
            (Value::String(a, _), Value::String(b, _)) => a == b,
            (Value::List(a), Value::List(b)) => {
                a.len() == b.len() && a.iter().zip(b.iter()).all(|(x, y)| x.equals(y))
            }
            (Value::Entity(a), Value::Entity(b)) => a == b,
            _ => false,
        }
    }
}

/// A size in bytes as people read it: `1.2 GB`, `340 MB`, `12 kB`, `512 B` (powers of 1000).
pub fn human_size(bytes: u64) -> String {
    let mut out = String::new();
    write_human_size(bytes, &mut out);
    out
}

/// Appends [`human_size`] of `bytes` to `out`: the bytes divided by the largest unit they
/// reach, to one decimal below 100 and to none above.
pub fn write_human_size(bytes: u64, out: &mut String) {
    const UNITS: [(&str, f64); 4] = [("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)];
    for (unit, scale) in UNITS {
        let value = bytes as f64 / scale;
        if value >= 1.0 {
            let _ = if value >= 100.0 {
                write!(out, "{value:.0} {unit}")
            } else {
                write!(out, "{value:.1} {unit}")
            };
            return;
        }
    }
    out.push_str(itoa::Buffer::new().format(bytes));
    out.push_str(" B");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_people_read_them() {
        assert_eq!(human_size(512), "512 B");
        assert_eq!(human_size(1_500), "1.5 kB");
        assert_eq!(human_size(340_000_000), "340 MB");
        assert_eq!(human_size(1_234_000_000), "1.2 GB");
        assert_eq!(human_size(0), "0 B");
        assert_eq!(human_size(999), "999 B");
        let mut out = String::from("size: ");
        write_human_size(18_446_744_073_709_551_615, &mut out);
        assert_eq!(out, "size: 18446744 TB");
        assert_eq!(human_size(99_960), "100.0 kB");
        assert_eq!(human_size(999_600_000), "1000 MB");
        // Exactly halfway: as the floating point value is formatted.
        assert_eq!(human_size(1_250), format!("{:.1} kB", 1.25f64));
        assert_eq!(human_size(100_500), format!("{:.0} kB", 100.5f64));
    }

    /// The size as `human_size` has always formatted it (`format!` of the floating point
    /// division), for any number of bytes: the reference the writer into a buffer keeps to.
    fn float_size(bytes: u64) -> String {
        const UNITS: [(&str, f64); 4] = [("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)];
        for (unit, scale) in UNITS {
            let value = bytes as f64 / scale;
            if value >= 1.0 {
                return if value >= 100.0 {
                    format!("{value:.0} {unit}")
                } else {
                    format!("{value:.1} {unit}")
                };
            }
        }
        format!("{bytes} B")
    }

    proptest::proptest! {
        /// The size written into a buffer is the reference's, at every scale
        /// and next to the rounding boundaries.
        #[test]
        fn sizes_are_those_of_the_floating_point_division(
            mantissa in 0u64..2_000_000,
            exponent in 0u32..14,
            nudge in 0u64..3,
        ) {
            let bytes = mantissa
                .saturating_mul(10u64.pow(exponent))
                .saturating_add(nudge)
                .saturating_sub(1);
            proptest::prop_assert_eq!(human_size(bytes), float_size(bytes));
            proptest::prop_assert_eq!(human_size(bytes / 7 * 5), float_size(bytes / 7 * 5));
        }

        #[test]
        fn any_size_is_that_of_the_floating_point_division(bytes in proptest::prelude::any::<u64>()) {
            proptest::prop_assert_eq!(human_size(bytes), float_size(bytes));
        }
    }

    #[test]
    fn settings_convert_to_entities_and_back() {
        for at in [
            SettingAt::Env(1, 2, 3),
            SettingAt::Arg(1, 2, 3),
            SettingAt::Command(1, 2, 3, 4),
        ] {
            assert_eq!(Entity::from(at).setting_at(), Some(at));
        }
        assert_eq!(Entity::Command(1, 2, 3).setting_at(), None);
        // The tag is a word of its own: an entity is its tag and four indices.
        assert_eq!(
            std::mem::size_of::<Entity>(),
            5 * std::mem::size_of::<usize>()
        );
    }

    #[test]
    fn strings_compare_by_text() {
        let a = Value::str("gcc", None);
        let b = Value::String(Cow::Owned("gcc".into()), None);
        assert!(a.equals(&b));
        assert!(!a.equals(&Value::Null));
    }
}
