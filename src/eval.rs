//! One evaluation: validate, assign targets, compute the loss and its gradient.

use ndarray::Array4;
use serde::{Deserialize, Serialize};

use crate::assign::{self, Builder, Row};
use crate::case::{Case, Inputs};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::grad::Gradient;
use crate::loss::compute;

/// Cell classes of one layer (spec 4.9; baseline: positive = `tobj > 0`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Counts {
    /// Cells with `tobj == 1` (baseline: `tobj > 0`).
    pub positive: u64,
    /// Cells with `tobj == 0`.
    pub negative: u64,
    /// Cells with `0 < tobj < 1` (soft assigner only).
    pub soft: u64,
}

impl Counts {
    pub(crate) fn add(self, o: Counts) -> Counts {
        Counts {
            positive: self.positive + o.positive,
            negative: self.negative + o.negative,
            soft: self.soft + o.soft,
        }
    }
}

/// Everything one layer reports.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerResult {
    /// Objectness targets `[bs, na, ny, nx]`.
    pub tobj: Array4<f64>,
    /// Rows of the box and class losses.
    pub rows: Vec<Row>,
    /// Cell classes.
    pub counts: Counts,
    /// `H_i`: mean hard objectness loss (baseline: mean over every cell).
    pub hard_loss: f64,
    /// `S_i`: mean soft objectness loss (0 for the baseline).
    pub soft_loss: f64,
    /// Mean `1 - CIoU` over the rows (before the box gain).
    pub box_loss: f64,
    /// Mean class BCE over rows and classes (before the class gain).
    pub cls_loss: f64,
}

/// The result of [`evaluate`] (spec section 7).
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    /// `(lbox + lobj + lcls) * bs`.
    pub loss: f64,
    /// Box loss after its gain.
    pub lbox: f64,
    /// Objectness loss after its gain.
    pub lobj: f64,
    /// Class loss after its gain.
    pub lcls: f64,
    /// Per layer details.
    pub layers: Vec<LayerResult>,
    /// The balance after the autobalance update (unchanged without autobalance).
    pub balance: Vec<f64>,
    /// `d loss / d predictions`, sparse; see [`Gradient::to_dense`].
    pub grad: Gradient,
}

/// Options of [`evaluate`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EvalOptions {
    /// Which soft builder to run.
    pub builder: Builder,
    /// The layer balance in force (autobalance state from an earlier evaluation); `None` uses
    /// [`Config::default_balance`].
    pub balance: Option<Vec<f64>>,
}

/// Validates the inputs, builds the targets and computes the loss and gradient.
///
/// ```
/// use soft_objectness::{evaluate, Config, EvalOptions, Inputs, Prediction};
/// use ndarray::{array, Array5};
/// let config = Config { nc: 2, anchors: ndarray::Array3::from_elem((1, 1, 2), 2.0), ..Config::default() };
/// let inputs = Inputs {
///     targets: array![[0.0, 1.0, 0.5, 0.5, 0.5, 0.5]],
///     predictions: vec![Prediction::F64(Array5::zeros((1, 1, 4, 4, 7)))],
/// };
/// let e = evaluate(&config, &inputs, &EvalOptions::default()).unwrap();
/// assert_eq!(e.layers[0].counts.positive, 1);
/// assert!(e.layers[0].counts.soft > 0);
/// assert!(e.loss > 0.0);
/// ```
///
/// # Errors
/// Any rule of spec section 8 ([`Config::validate`], [`Inputs::validate`]), a balance of the
/// wrong length, or a layer whose boxes cover too many cells.
pub fn evaluate(config: &Config, inputs: &Inputs, opts: &EvalOptions) -> Result<Evaluation> {
    config.validate()?;
    inputs.validate(config)?;
    let balance = match &opts.balance {
        None => config.default_balance(),
        Some(b) => {
            if b.len() != config.nl() {
                return Err(Error::shape("balance", format!("{} entries", config.nl()), format!("{}", b.len())));
            }
            if let Some(v) = b.iter().find(|v| !v.is_finite()) {
                return Err(Error::invalid("balance", v, "must be finite"));
            }
            b.clone()
        }
    };
    let targets = assign::build(config, inputs, opts.builder)?;
    Ok(compute::compute(config, inputs, targets, &balance))
}

/// [`evaluate`] on a whole case.
///
/// # Errors
/// As [`evaluate`].
pub fn evaluate_case(case: &Case, opts: &EvalOptions) -> Result<Evaluation> {
    evaluate(&case.config, &case.inputs, opts)
}
