//! How a check compares: [`CheckOptions`].

use super::tolerance::Tolerances;
use crate::answer::Answer;
use crate::error::{Error, Result};

/// How [`check`](super::check) compares.
///
/// ```
/// use soft_objectness::conformance::{CheckOptions, Tolerances};
/// let mut opts = CheckOptions::default();
/// opts.tolerances = Tolerances::F32;
/// opts.only = Some(vec!["gradient".into()]);
/// assert_eq!(opts.validate().unwrap_err().field(), Some("only"));
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct CheckOptions {
    /// The tolerances (default [`Tolerances::F64`]).
    pub tolerances: Tolerances,
    /// How many failures to list per field (default 8).
    pub listed: usize,
    /// Check only these fields (names of [`Answer::KEYS`]); the others are neither compared
    /// nor missing. `None` (the default): every field.
    pub only: Option<Vec<String>>,
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions {
            tolerances: Tolerances::F64,
            listed: 8,
            only: None,
        }
    }
}

impl CheckOptions {
    /// Checks the tolerances ([`Tolerances::validate`]) and that every field of `only` is a
    /// key of an answer.
    ///
    /// # Errors
    /// [`Error::Invalid`] naming the tolerance, [`Error::UnknownValue`] naming `only`.
    pub fn validate(&self) -> Result<()> {
        self.tolerances.validate()?;
        for f in self.only.iter().flatten() {
            if !Answer::KEYS.contains(&f.as_str()) {
                return Err(Error::UnknownValue {
                    field: "only".into(),
                    value: crate::json::shorten(f),
                    accepted: Answer::KEYS.join(", "),
                });
            }
        }
        Ok(())
    }

    /// Whether field `name` is checked.
    pub(crate) fn wants(&self, name: &str) -> bool {
        self.only
            .as_ref()
            .is_none_or(|o| o.iter().any(|f| f == name))
    }
}
