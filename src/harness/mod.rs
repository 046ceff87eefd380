//! The porter's harness: run a port of the method (another implementation) over many cases and
//! say what is wrong with it: which option of the configuration its failures follow, where in
//! the answer they show, whether it computes in float32, and the smallest case that still fails
//! the same way (`softobj conform`, Python's `conformance` and `assert_port_conforms`).
//!
//! A [`Port`] answers a [`Case`] (a closure `FnMut(&Case) -> Result<Answer, PortFailure>` is
//! one). [`run`] gives it the edge mix and `count` random cases within a
//! [`CaseSpace`](crate::casegen::CaseSpace) (or the cases given), judges every answer with
//! the oracle ([`conformance::check`](crate::conformance::check)'s comparison), and returns a
//! [`Conformance`]:
//!
//! * **groups** ([`FailureGroup`]): the failing cases by how they fail (the port raised, timed
//!   out or answered something unreadable; which fields are missing, malformed, non-finite or
//!   wrong, and for `grad` which channel kinds), groups that blame the same option merged;
//! * **suspects** ([`Suspect`]): per group, the features of the cases (every option value in
//!   them, thresholds of the numeric ones, the shape, boxes and cells) ranked by how well they
//!   separate the group's cases from the conforming ones, each in one sentence that names the
//!   config key: `fails on 14/14 cases with hyp.fl_gamma > 0 and on 0/36 without`; pairs of
//!   features where no single one separates well;
//! * **where**: per group the failing fields, layers and gradient channel kinds, and the named
//!   [`Pattern`](crate::conformance::Pattern)s, counted over its cases;
//! * **precision** ([`Precision`]): answers that hold only float32 values, or that fail nearly
//!   every case within the `f32` preset, look computed in float32; the groups and suspects are
//!   then those of the `f32` preset, so a real bug is not hidden behind the precision finding;
//! * **minimal** ([`MinimalCase`]): per group, the case shrunk while it fails the same way.
//!
//! The harness never fails for what the port does: a port that raises, hangs, returns NaN,
//! wrong shapes or missing keys gives failing cases with their reasons. It fails only for bad
//! options (and for given cases the oracle refuses).
//!
//! ```
//! use soft_objectness::harness::{HarnessOptions, PortFailure, run};
//! use soft_objectness::{Answer, Case, EvalOptions, evaluate};
//!
//! // A port that ignores focal loss: the oracle's answer, with lobj scaled when it is on.
//! let mut port = |case: &Case| -> Result<Answer, PortFailure> {
//!     let e = evaluate(&case.config, &case.inputs, &EvalOptions::default())
//!         .map_err(|e| PortFailure::raised("Error", e.to_string()))?;
//!     let mut a = Answer::from_evaluation(&e, &case.config);
//!     if case.config.hyp.fl_gamma > 0.0 {
//!         a.lobj = a.lobj.map(|v| v * 3.0);
//!     }
//!     Ok(a)
//! };
//! let mut opts = HarnessOptions::default();
//! opts.count = 30;
//! opts.only = Some(vec!["lobj".into(), "lbox".into()]);
//! let c = run(&mut port, &opts).unwrap();
//! assert!(!c.ok);
//! assert_eq!(c.suspects[0].keys, ["hyp.fl_gamma"]);
//! assert!(c.suspects[0].sentence.starts_with("fails on "));
//! assert!(c.minimal[0].size.contains("1 image"), "{}", c.minimal[0].size);
//! println!("{c}");
//! ```

mod attribution;
mod features;
mod groups;
mod judge;
mod options;
mod outcome;
mod port;
mod precision;
mod shrink;

pub use groups::Count;
pub use options::HarnessOptions;
pub use outcome::{CaseResult, Conformance, FailureGroup, MinimalCase, Suspect};
pub use port::{Port, PortFailure};
pub use precision::Precision;

use std::time::Instant;

use crate::answer::Answer;
use crate::case::Case;
use crate::error::{Error, Result};
use judge::{Judge, Judged};

/// Runs `port` over the cases of `opts`, judges every answer, attributes the failures and
/// (with [`HarnessOptions::shrink`]) shrinks each failure group to a minimal case.
///
/// # Errors
/// [`HarnessOptions::validate`]; a given case the oracle refuses (with its name); never for
/// what the port does.
pub fn run(port: &mut dyn Port, opts: &HarnessOptions) -> Result<Conformance> {
    opts.validate()?;
    let t0 = Instant::now();
    let (cases, left_out) = opts.cases()?;
    let mut judge = Judge::new(opts);
    let mut judged = Vec::with_capacity(cases.len());
    for (name, case) in cases {
        let oracle = judge.oracle(&case).map_err(|e| named_error(&case, e))?;
        let (got, seconds) = judge.call(port, &case);
        judged.push(judge.judge(name, case, &oracle, got, seconds));
        judge.recycle(oracle);
    }
    let (mut c, drafts) = outcome::analyse(&judged, opts, left_out);
    if opts.shrink {
        shrink::minimal(port, &mut judge, &judged, &drafts, &mut c);
    }
    c.port_calls = judge.calls;
    c.port_seconds = judge.port_seconds;
    c.seconds = t0.elapsed().as_secs_f64();
    Ok(c)
}

/// Judges answers given without a port (`softobj check CASES/ ANSWERS/ --summary`): the same
/// comparisons, groups, suspects, where and precision as [`run`], no shrinking. Each entry is
/// a case's name (its file stem), the case, and the answer or why there is none.
///
/// # Errors
/// [`HarnessOptions::validate`]; a case the oracle refuses (with its name).
pub fn summarise(
    answers: Vec<(String, Case, std::result::Result<Answer, PortFailure>)>,
    opts: &HarnessOptions,
) -> Result<Conformance> {
    opts.validate()?;
    let t0 = Instant::now();
    let mut judge = Judge::new(opts);
    let mut judged: Vec<Judged> = Vec::with_capacity(answers.len());
    for (name, case, got) in answers {
        let oracle = judge.oracle(&case).map_err(|e| named_error(&case, e))?;
        judged.push(judge.judge(name, case, &oracle, got, 0.0));
        judge.recycle(oracle);
    }
    let (mut c, _) = outcome::analyse(&judged, opts, 0);
    c.seconds = t0.elapsed().as_secs_f64();
    Ok(c)
}

/// The oracle's error on a case, with the case's name in front.
fn named_error(case: &Case, e: Error) -> Error {
    Error::invalid(
        format!("case `{}`", crate::json::shorten(&case.name)),
        "(the case)",
        format!("the oracle refuses it: {e}"),
    )
}
