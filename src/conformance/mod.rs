//! Conformance: does another implementation's answer conform to the oracle's (the `softobj
//! check` command, Python's `check`)?
//!
//! An implementation under test evaluates a case and writes an answer in the shape of spec
//! section 10 (`loss`, `lbox`, `lobj`, `lcls`, `tobj`, `counts`, `grad`, optionally the extra
//! keys of docs/decisions.md item 10). [`Answer::load`](crate::Answer::load) reads it (a bare
//! answer, a case file with `expected`, or a folder written by `softobj eval --out`) and
//! [`check`] runs the oracle on the case's inputs and measures the answer against it under
//! [`Tolerances`] (the rules, with their formulas).
//!
//! The [`Report`] it returns breaks each field's failures down by layer and channel
//! ([`Group`]), lists the first mismatches ([`Mismatch`] at a [`Location`]) with their input
//! logit and, for a `tobj` cell, the oracle row that wrote it ([`Writer`]), counts the cells
//! whose class changed ([`ClassChanges`]) and names the failure [`Pattern`]s it recognises.
//!
//! ```
//! use soft_objectness::conformance::{CheckOptions, Tolerances, check};
//! use soft_objectness::{Answer, EvalOptions, evaluate, default_batch::DefaultBatch};
//!
//! let (config, inputs) = DefaultBatch { batch: 1, width: 64, height: 64, nc: 3, ..DefaultBatch::standard(3) }.build().unwrap();
//! let oracle = evaluate(&config, &inputs, &EvalOptions::default()).unwrap();
//! let mut answer = Answer::from_evaluation(&oracle, &config);
//! let opts = CheckOptions::default(); // Tolerances::F64, every field
//! assert!(check(&config, &inputs, &answer, &opts).unwrap().conforms());
//!
//! // One gradient component 1% off: no longer conforming.
//! let g = &mut answer.grad.as_mut().unwrap()[0].data;
//! let k = (0..g.len()).max_by(|&i, &j| g[i].abs().total_cmp(&g[j].abs())).unwrap();
//! g[k] *= 1.01;
//! let report = check(&config, &inputs, &answer, &opts).unwrap();
//! assert!(!report.conforms());
//! println!("{report}");
//!
//! // While a port is half written: only the fields it writes.
//! answer.loss = None;
//! let mut partial = CheckOptions::default();
//! partial.only = Some(vec!["tobj".into(), "counts".into()]);
//! let report = check(&config, &inputs, &answer, &partial).unwrap();
//! assert!(report.conforms() && report.missing.is_empty());
//! ```

mod compare;
mod explain;
mod options;
mod patterns;
mod report;
mod tolerance;

pub use options::CheckOptions;
pub use report::{ClassChanges, FieldReport, Group, Location, Mismatch, Pattern, Report, Writer};
pub use tolerance::Tolerances;

pub(crate) use compare::compare;

use crate::answer::Answer;
use crate::config::Config;
use crate::error::Result;
use crate::eval::evaluate_cpu;
use crate::inputs::InputsView;
use crate::targets::SoftBuilder;
use crate::workspace::Workspace;

/// Runs the oracle on `inputs` (on the CPU, the default soft builder) and compares `answer`
/// with its evaluation under `opts`.
///
/// The fields come in the order of spec section 10, then the optional ones of
/// docs/decisions.md item 10; a required field the answer lacks goes to [`Report::missing`],
/// an optional one to [`Report::not_given`]; shape and layer-count disagreements become
/// [`Report::problems`]. Each listed `tobj` or `grad` mismatch shows the input logit of its
/// cell and channel, each `tobj` mismatch the oracle row that wrote the cell, and a
/// non-conforming answer is searched for the failure [`Report::patterns`].
///
/// # Errors
/// [`CheckOptions::validate`], then every error of [`crate::evaluate`] on the inputs (the
/// answer itself is never an error: whatever it holds is judged in the report).
pub fn check<'a>(
    config: &Config,
    inputs: impl Into<InputsView<'a>>,
    answer: &Answer,
    opts: &CheckOptions,
) -> Result<Report> {
    Workspace::new().check(config, inputs, answer, opts)
}

impl Workspace {
    /// [`check`] with this workspace's buffers for the oracle's evaluation.
    ///
    /// # Errors
    /// As [`check`].
    pub fn check<'a>(
        &mut self,
        config: &Config,
        inputs: impl Into<InputsView<'a>>,
        answer: &Answer,
        opts: &CheckOptions,
    ) -> Result<Report> {
        opts.validate()?;
        let inputs = inputs.into();
        let oracle = evaluate_cpu(config, &inputs, SoftBuilder::default(), None, self)?;
        let report = compare(config, &oracle, answer, Some(&inputs), opts);
        self.recycle(oracle);
        Ok(report)
    }
}
