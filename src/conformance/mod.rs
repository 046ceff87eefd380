//! Conformance: how far another implementation's answer is from the oracle's (the
//! `softobj check` command).
//!
//! An implementation under test evaluates a case and writes an answer in the shape of spec
//! section 10 (`loss`, `lbox`, `lobj`, `lcls`, `tobj`, `counts`, `grad`, optionally the extra
//! keys of docs/decisions.md item 10). [`load_answer`] reads it (a bare answer, a case file with
//! `expected`, or a folder written by `softobj eval --out` with `.npy` arrays; the answer
//! format and its I/O live in [`crate::answer`]) and [`compare`] measures it against an
//! [`Evaluation`](crate::Evaluation) of the oracle under [`Tolerances`].
//!
//! The pieces: [`Tolerances`] (the rules, with their formulas), [`compare_with`] (one
//! comparison per field of the answer; [`compare_scoped`] with the case's inputs and a choice
//! of fields), the [`Report`] it returns, with failures broken down by layer and channel
//! ([`Group`]), each listed mismatch with its input logit and the oracle row that wrote a
//! `tobj` cell ([`Writer`], found by [`writer`]), and the failure [`Pattern`]s recognised.
//!
//! ```
//! use soft_objectness::conformance::{Tolerances, compare};
//! use soft_objectness::{Answer, EvalOptions, evaluate, default_batch::{Workload, build}};
//!
//! let (config, inputs) = build(&Workload { batch: 1, width: 64, height: 64, nc: 3, boxes_per_image: 3, seed: 7 });
//! let oracle = evaluate(&config, &inputs, &EvalOptions::default()).unwrap();
//! let mut answer = Answer::from_evaluation(&oracle, &config);
//! assert!(compare(&config, &oracle, &answer, &Tolerances::F64).conforms());
//!
//! // One gradient component 1% off: no longer conforming.
//! let g = &mut answer.grad.as_mut().unwrap()[0].data;
//! let k = (0..g.len()).max_by(|&i, &j| g[i].abs().total_cmp(&g[j].abs())).unwrap();
//! g[k] *= 1.01;
//! let report = compare(&config, &oracle, &answer, &Tolerances::F64);
//! assert!(!report.conforms());
//! println!("{report}");
//! ```

mod compare;
mod explain;
mod patterns;
mod report;
mod tolerance;

pub use compare::{CompareOptions, Scope, compare, compare_scoped, compare_with};
pub use explain::writer;
pub use report::{
    CHANNEL_KINDS, ClassChanges, FieldReport, Group, Location, Mismatch, Pattern, Report, Writer,
    channel_kind, short,
};
pub use tolerance::Tolerances;

// The answer format and the cell classes have their own modules; these paths stay valid.
pub use crate::answer::{
    OPTIONAL, REQUIRED, answer_file, answer_from_value, load_answer, write_answer_dir,
};
pub use crate::result::CellClass;
