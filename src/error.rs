//! The crate's one error type.
//!
//! Every variant names the field it is about with a *field path* such as
//! `config.score.sigma`, `inputs.predictions[1]` or `inputs.targets row 3 (class)`, so that a
//! user can find the offending value in their case file.

use std::path::PathBuf;

/// Everything that can go wrong when reading, validating or evaluating a case.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A value is present and well typed but breaks a rule of the spec (section 8).
    #[error("{field}: {reason} (got {value})")]
    Invalid {
        /// Field path, e.g. `inputs.targets row 3 (class)`.
        field: String,
        /// The offending value as written.
        value: String,
        /// The rule it breaks.
        reason: String,
    },
    /// A value has the wrong JSON type or structure.
    #[error("{field}: expected {expected}, got {got}")]
    Type {
        /// Field path.
        field: String,
        /// What was expected, e.g. `a number`.
        expected: String,
        /// A short description of what was found.
        got: String,
    },
    /// An array's shape disagrees with its data or with the rest of the case.
    #[error("{field}: shape mismatch: expected {expected}, got {got}")]
    Shape {
        /// Field path.
        field: String,
        /// The expected shape or length.
        expected: String,
        /// The actual shape or length.
        got: String,
    },
    /// A required field is absent.
    #[error("{field}: missing required field")]
    Missing {
        /// Field path.
        field: String,
    },
    /// A key inside `config` that the format does not know (a misspelt option).
    #[error("{field}: unknown key `{key}` (accepted: {accepted})")]
    UnknownKey {
        /// Path of the object holding the key.
        field: String,
        /// The unknown key.
        key: String,
        /// The accepted keys, comma separated.
        accepted: String,
    },
    /// A string option whose value is not one of the accepted ones.
    #[error("{field}: unknown value `{value}` (accepted: {accepted})")]
    UnknownValue {
        /// Field path.
        field: String,
        /// The unknown value.
        value: String,
        /// The accepted values, comma separated.
        accepted: String,
    },
    /// An array would be larger than the configured element limit; refused before allocating.
    #[error("{field}: {elements} elements exceed the limit of {limit} (see Limits::max_elements)")]
    TooLarge {
        /// Field path.
        field: String,
        /// The requested element count (saturated at `u64::MAX` on overflow).
        elements: u64,
        /// The limit in force.
        limit: u64,
    },
    /// Malformed JSON.
    #[error("invalid JSON at line {line} column {column}: {message}")]
    Json {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// The parser's message.
        message: String,
    },
    /// Malformed `.npy` file.
    #[error("invalid .npy {path}: {message} (at byte {offset})")]
    Npy {
        /// The file.
        path: PathBuf,
        /// Byte offset where reading failed.
        offset: usize,
        /// What is wrong.
        message: String,
    },
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The GPU path is unavailable or failed.
    #[error("gpu: {0}")]
    Gpu(String),
}

impl Error {
    /// Shorthand for [`Error::Invalid`].
    pub fn invalid(field: impl Into<String>, value: impl ToString, reason: impl Into<String>) -> Self {
        Error::Invalid {
            field: field.into(),
            value: value.to_string(),
            reason: reason.into(),
        }
    }

    /// Shorthand for [`Error::Shape`].
    pub fn shape(field: impl Into<String>, expected: impl Into<String>, got: impl Into<String>) -> Self {
        Error::Shape {
            field: field.into(),
            expected: expected.into(),
            got: got.into(),
        }
    }

    /// The field path the error is about, when it has one.
    pub fn field(&self) -> Option<&str> {
        match self {
            Error::Invalid { field, .. }
            | Error::Type { field, .. }
            | Error::Shape { field, .. }
            | Error::Missing { field }
            | Error::UnknownKey { field, .. }
            | Error::UnknownValue { field, .. }
            | Error::TooLarge { field, .. } => Some(field),
            _ => None,
        }
    }
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error::Json {
            line: e.line(),
            column: e.column(),
            message: e.to_string(),
        }
    }
}

/// `Result` with the crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
