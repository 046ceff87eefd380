//! The vocabulary: every enum whose values have names (in the case format, on the command line,
//! in Python) lists them once, in one table of [`Named::NAMES`], and is read, written and
//! described from that table alone.
//!
//! ```
//! use soft_objectness::{Assigner, Named, SoftBuilder};
//! assert_eq!(Assigner::Yolov5.name(), "yolov5");
//! assert_eq!(Assigner::parse("config.assigner", "soft").unwrap(), Assigner::Soft);
//! let err = SoftBuilder::parse("builder", "fast").unwrap_err();
//! assert_eq!(err.to_string(), "builder: unknown value `fast` (accepted: vectorised, loop)");
//! ```

use serde_json::Value;

use crate::error::{Error, Result};
use crate::json;

/// An enum whose values have names: one table of `(value, name, meaning)` from which its
/// names are written ([`Named::name`]), read ([`Named::parse`]) and listed ([`Named::names`]).
pub trait Named: Copy + PartialEq + 'static {
    /// Every value with its name and a one-line meaning, in the order they are listed.
    const NAMES: &'static [(Self, &'static str, &'static str)];

    /// The value's name.
    fn name(self) -> &'static str {
        Self::NAMES
            .iter()
            .find(|(v, _, _)| *v == self)
            .map_or("", |&(_, name, _)| name)
    }

    /// What the value means, in one line.
    fn meaning(self) -> &'static str {
        Self::NAMES
            .iter()
            .find(|(v, _, _)| *v == self)
            .map_or("", |&(_, _, meaning)| meaning)
    }

    /// Every name, in the order of the table.
    fn names() -> Vec<&'static str> {
        Self::NAMES.iter().map(|&(_, name, _)| name).collect()
    }

    /// The value named `name`.
    ///
    /// # Errors
    /// [`Error::UnknownValue`] naming `field`, the value and the accepted names.
    fn parse(field: &str, name: &str) -> Result<Self> {
        Self::NAMES
            .iter()
            .find(|&&(_, n, _)| n == name)
            .map(|&(v, _, _)| v)
            .ok_or_else(|| Error::UnknownValue {
                field: field.into(),
                value: json::shorten(name),
                accepted: Self::names().join(", "),
            })
    }

    /// The value named by the JSON string `v`.
    ///
    /// # Errors
    /// [`Error::Type`] when `v` is not a string, then as [`Named::parse`].
    fn from_json(v: &Value, field: &str) -> Result<Self> {
        let s = v.as_str().ok_or_else(|| {
            json::type_err(
                field,
                &format!("a string, one of: {}", Self::names().join(", ")),
                v,
            )
        })?;
        Self::parse(field, s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, Copy, PartialEq)]
    enum Toy {
        A,
        B,
    }

    impl Named for Toy {
        const NAMES: &'static [(Self, &'static str, &'static str)] =
            &[(Toy::A, "a", "the first"), (Toy::B, "b", "the second")];
    }

    #[test]
    fn a_table_reads_writes_and_refuses() {
        assert_eq!((Toy::B.name(), Toy::B.meaning()), ("b", "the second"));
        assert_eq!(Toy::names(), ["a", "b"]);
        assert_eq!(Toy::parse("f", "a").unwrap(), Toy::A);
        let e = Toy::parse("f", "c").unwrap_err().to_string();
        assert_eq!(e, "f: unknown value `c` (accepted: a, b)");
        let e = Toy::from_json(&serde_json::json!(1), "f").unwrap_err();
        assert_eq!(
            e.to_string(),
            "f: expected a string, one of: a, b, got number 1"
        );
        assert_eq!(
            Toy::from_json(&serde_json::json!("b"), "f").unwrap(),
            Toy::B
        );
    }
}
