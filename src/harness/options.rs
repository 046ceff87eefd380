//! How the harness runs: [`HarnessOptions`], and the cases they make.

use std::time::Duration;

use crate::case::Case;
use crate::casegen::write::stem;
use crate::casegen::{CaseSpace, Cases, Generate, generate};
use crate::conformance::{CheckOptions, Tolerances};
use crate::error::{Error, Result};

/// How [`run`](super::run) tests a port.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct HarnessOptions {
    /// The cases to run; `None` (the default): the edge mix (those within `space`) and
    /// `count` random cases within `space`.
    pub cases: Option<Vec<Case>>,
    /// How many random cases (default 100).
    pub count: u64,
    /// The seed of the random cases and of the edge mix's predictions (default 0).
    pub seed: u64,
    /// What the port supports (default: every case).
    pub space: CaseSpace,
    /// The tolerances (default [`Tolerances::F64`]).
    pub tolerances: Tolerances,
    /// The fields the port answers (default `None`: every field; see
    /// [`CheckOptions::only`]).
    pub only: Option<Vec<String>>,
    /// Shrink each failure group to a minimal case (default `true`).
    pub shrink: bool,
    /// The time the port may take per case (default 10 s; `None`: no limit).
    pub timeout: Option<Duration>,
    /// The most port calls spent shrinking one group (default 200).
    pub shrink_calls: usize,
}

impl Default for HarnessOptions {
    fn default() -> Self {
        HarnessOptions {
            cases: None,
            count: 100,
            seed: 0,
            space: CaseSpace::default(),
            tolerances: Tolerances::F64,
            only: None,
            shrink: true,
            timeout: Some(Duration::from_secs(10)),
            shrink_calls: 200,
        }
    }
}

impl HarnessOptions {
    /// Checks the tolerances and `only` ([`CheckOptions::validate`]) and the timeout.
    ///
    /// # Errors
    /// As [`CheckOptions::validate`]; [`Error::Invalid`] naming `timeout` when it is zero.
    pub fn validate(&self) -> Result<()> {
        self.check_options(Tolerances::F64).validate()?;
        self.check_options(self.tolerances).validate()?;
        if self.timeout.is_some_and(|t| t.is_zero()) {
            return Err(Error::invalid("timeout", 0, "must be more than 0 seconds"));
        }
        Ok(())
    }

    /// The comparison's options under `tolerances`, with this run's `only`.
    pub(crate) fn check_options(&self, tolerances: Tolerances) -> CheckOptions {
        CheckOptions {
            tolerances,
            only: self.only.clone(),
            ..CheckOptions::default()
        }
    }

    /// The cases of the run with their names (file stems: `edge-03-leave-top`, `case-007`,
    /// a given case's name up to its first `:` or space), and how many edge cases lie
    /// outside the space.
    pub(crate) fn cases(&self) -> Result<(Vec<(String, Case)>, usize)> {
        if let Some(cases) = &self.cases {
            let named = cases.iter().map(|c| (stem(c), c.clone())).collect();
            return Ok((named, 0));
        }
        let edge = generate(&Generate::new(Cases::Edge, self.seed))?;
        let before = edge.len();
        let mut all: Vec<(String, Case)> = edge
            .into_iter()
            .filter(|g| self.space.contains(&g.case))
            .map(|g| (g.stem, g.case))
            .collect();
        let left_out = before - all.len();
        let random = Cases::Random {
            count: self.count,
            space: self.space.clone(),
        };
        let random = generate(&Generate::new(random, self.seed))?;
        all.extend(random.into_iter().map(|g| (g.stem, g.case)));
        Ok((all, left_out))
    }
}
