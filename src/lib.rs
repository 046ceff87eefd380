//! # soft-objectness
//!
//! Reference implementation and test oracle of the **Soft-Objectness loss**, a variant of the
//! YOLOv5 training loss in which every grid cell inside a ground-truth box receives a soft
//! objectness target from its normalised distance to the box centre.
//!
//! The contract is `docs/spec.md`; `docs/architecture.md` maps each of its rules to the one
//! function that implements it and gives the floors the modules stand on.
//!
//! What a user needs is at the root, one path for each: the configuration ([`Config`],
//! [`Hyp`], [`Assigner`], [`Score`], [`Distance`], [`SoftLoss`], [`Overlap`], [`Ciou`]), the
//! inputs ([`Inputs`], [`InputsView`]), how to run ([`EvalOptions`], [`Backend`],
//! [`SoftBuilder`]), the actions ([`evaluate`], [`build_targets`], and [`Workspace`] for
//! their reusing forms), what they return ([`Evaluation`], [`LayerTargets`], ...), the case
//! and answer formats ([`Case`], [`Answer`]) and the one error type ([`Error`]). Every enum's
//! names come from one table ([`Named`]). The tools around the oracle are modules:
//! [`conformance`] (does another implementation's answer conform? [`conformance::check`]),
//! [`casegen`] (seeded cases within a [`casegen::CaseSpace`]), [`harness`] (what is wrong with
//! a port: [`harness::run`]), [`default_batch`] (the batch the benchmarks measure), [`gpu`]
//! (the device), [`npy`] (`.npy` arrays) and `plot` (feature `plot`).
//!
//! The CLI (`softobj`, feature `cli`) sits on top; its subcommands are named for what a user
//! does: `eval` runs [`evaluate`], `gen` runs [`casegen`], `check` runs [`conformance`],
//! `conform` runs the [`harness`], `summary` and `bench` time the [`default_batch`].
//!
//! ```
//! use soft_objectness::{evaluate, Config, EvalOptions, Inputs, Prediction};
//! use ndarray::{array, Array5};
//!
//! // One layer of 8x8 cells, one anchor of 3x3 cells, two classes.
//! let config = Config { nc: 2, anchors: ndarray::Array3::from_elem((1, 1, 2), 3.0), ..Config::default() };
//! let inputs = Inputs {
//!     targets: array![[0.0, 1.0, 0.40, 0.55, 0.43, 0.30]], // image, class, x, y, w, h
//!     predictions: vec![Prediction::F32(Array5::zeros((1, 1, 8, 8, 7)))],
//! };
//! let e = evaluate(&config, &inputs, &EvalOptions::default()).unwrap();
//! assert_eq!(e.layers[0].tobj[[0, 0, 4, 3]], 1.0); // the centre cell
//! assert!(e.layers[0].tobj[[0, 0, 4, 2]] > 0.5); // a soft neighbour
//! let dense = e.grad.to_dense(); // d loss / d predictions, [1, 1, 8, 8, 7]
//! assert_eq!(dense[0].shape(), &[1, 1, 8, 8, 7]);
//! ```
#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod answer;
mod array;
mod assign;
mod case;
pub mod casegen;
mod config;
pub mod conformance;
pub mod default_batch;
mod error;
mod eval;
pub mod gpu;
mod grad;
pub mod harness;
mod inputs;
#[doc(hidden)]
pub mod internals;
mod json;
mod loss;
pub mod npy;
mod options;
#[cfg(feature = "plot")]
#[cfg_attr(docsrs, doc(cfg(feature = "plot")))]
pub mod plot;
mod prefetch;
mod result;
mod targets;
mod totals;
mod vocab;
mod workspace;

pub use answer::{Answer, MatchedRow};
pub use array::{JsonArray, Limits};
pub use case::Case;
pub use config::{Assigner, Ciou, Config, Distance, Hyp, Overlap, Score, SoftLoss};
pub use error::{Error, GpuError, GpuLimit, Result};
pub use eval::{build_targets, evaluate};
pub use grad::{GradElement, Gradient, RowGrad};
pub use inputs::{Inputs, InputsView, Prediction, PredictionView};
pub use options::{Backend, BackendKind, EvalOptions};
pub use result::{CellClass, Counts, Evaluation, LayerResult};
pub use targets::{Grid, LayerTargets, Row, SoftBuilder};
pub use vocab::Named;
pub use workspace::Workspace;
