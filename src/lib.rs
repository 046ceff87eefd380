//! # soft-objectness
//!
//! Reference implementation and test oracle of the **Soft-Objectness loss**, a variant of the
//! YOLOv5 training loss in which every grid cell inside a ground-truth box receives a soft
//! objectness target from its normalised distance to the box centre.
//!
//! The contract is `docs/spec.md`. The pieces, in the order a batch flows through them:
//!
//! * [`case`] and [`config`]: the case format (JSON, `.npy` arrays) and validation;
//! * [`assign`]: anchor matching, the baseline YOLOv5 assigner, and the soft assigner twice
//!   (a readable loop and a vectorised, parallel builder that agree bit for bit);
//! * [`loss`]: BCE, focal, soft losses, IoU family, and the whole loss with balance;
//! * [`grad`]: the analytic gradient with respect to every prediction channel;
//! * [`eval`]: one call that does all of the above ([`workspace`] reuses its buffers);
//! * [`gpu`]: the same evaluation through WGSL compute shaders (feature `gpu`);
//! * [`answer`], [`conformance`], [`casegen`]: the oracle's answer format, the comparison of
//!   another implementation's answer against it, and seeded case generation;
//! * [`default_batch`]: the embedded standard workload that `softobj` runs by default.
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

pub mod answer;
pub mod array;
pub mod assign;
pub mod case;
pub mod casegen;
pub mod config;
pub mod conformance;
pub mod default_batch;
pub mod error;
pub mod eval;
pub mod gpu;
pub mod grad;
mod json;
pub mod loss;
pub mod npy;
#[cfg(feature = "plot")]
pub mod plot;
pub mod workspace;

pub use answer::Answer;
pub use array::{JsonArray, Limits};
pub use assign::Builder;
pub use case::{Case, Inputs, Prediction};
pub use config::{Assigner, Config, Distance, Hyp, Overlap, Score, SoftLoss};
pub use error::{Error, Result};
pub use eval::{Counts, EvalOptions, Evaluation, evaluate, evaluate_case};
pub use workspace::Workspace;
