//! What the harness tests: a [`Port`], and why it may give no answer ([`PortFailure`]).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::answer::Answer;
use crate::case::Case;

/// Why a port gave no answer to a case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "failure", rename_all = "snake_case")]
#[non_exhaustive]
pub enum PortFailure {
    /// The port raised an error (an exception, a panic, a non-zero exit status).
    Raised {
        /// What kind (`IndexError`, `exit status 1`, `panic`): failures are grouped by it.
        kind: String,
        /// The message.
        message: String,
    },
    /// The port took longer than the timeout (it was stopped, or it answered late).
    TimedOut {
        /// The timeout, in seconds.
        seconds: f64,
    },
    /// The port's answer cannot be read as an answer (not an object, a value of the wrong
    /// type, no answer file).
    Malformed {
        /// What is wrong.
        what: String,
    },
}

impl PortFailure {
    /// A [`PortFailure::Raised`].
    pub fn raised(kind: impl Into<String>, message: impl Into<String>) -> PortFailure {
        PortFailure::Raised {
            kind: kind.into(),
            message: message.into(),
        }
    }
}

impl std::fmt::Display for PortFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PortFailure::Raised { kind, message } if message.is_empty() => {
                write!(f, "the port raised {kind}")
            }
            PortFailure::Raised { kind, message } => {
                write!(f, "the port raised {kind}: {message}")
            }
            PortFailure::TimedOut { seconds } => {
                write!(f, "the port took longer than the timeout ({seconds} s)")
            }
            PortFailure::Malformed { what } => write!(f, "the port's answer is malformed: {what}"),
        }
    }
}

/// An implementation under test: it answers cases.
pub trait Port {
    /// The answer to `case`. `timeout` is the time the port may take: a port that can be
    /// stopped (a child process, a thread) stops there and returns
    /// [`PortFailure::TimedOut`]; an answer that comes later is recorded as timed out anyway.
    ///
    /// # Errors
    /// What went wrong, as a [`PortFailure`]: a failing case, never an error of the harness.
    fn answer(
        &mut self,
        case: &Case,
        timeout: Option<Duration>,
    ) -> std::result::Result<Answer, PortFailure>;
}

impl<F> Port for F
where
    F: FnMut(&Case) -> std::result::Result<Answer, PortFailure>,
{
    fn answer(
        &mut self,
        case: &Case,
        _timeout: Option<Duration>,
    ) -> std::result::Result<Answer, PortFailure> {
        self(case)
    }
}
