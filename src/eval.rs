//! One evaluation: validate, assign targets, compute the loss and its gradient.

use ndarray::Array4;
use serde::{Deserialize, Serialize};

use crate::assign::{Builder, Row};
use crate::case::{Case, Inputs};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::grad::Gradient;
use crate::workspace::Workspace;

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
    /// CIoU's `alpha` per row (a constant for gradients).
    pub ciou_alpha: Vec<f64>,
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
/// wrong length or with an entry that is not a finite number >= 0, a layer whose boxes cover too
/// many cells, or [`Error::NonFinite`] when a result would not be finite (only possible with a
/// balance passed in `opts` that scales the loss past the f64 range).
pub fn evaluate(config: &Config, inputs: &Inputs, opts: &EvalOptions) -> Result<Evaluation> {
    evaluate_in(config, inputs, opts, &mut Workspace::new())
}

/// [`evaluate`] with its large buffers taken from `ws` ([`Workspace::evaluate`]); bit for bit
/// the same result.
pub(crate) fn evaluate_in(
    config: &Config,
    inputs: &Inputs,
    opts: &EvalOptions,
    ws: &mut Workspace,
) -> Result<Evaluation> {
    config.validate()?;
    inputs.validate(config)?;
    let balance = balance_in_force(config, opts)?;
    let targets = ws.build(config, inputs, opts.builder)?;
    finite_or_error(ws.compute(config, inputs, targets, &balance))
}

/// The balance in force: `opts.balance` (one finite entry `>= 0` per layer) or the default.
/// Shared by every backend.
pub(crate) fn balance_in_force(config: &Config, opts: &EvalOptions) -> Result<Vec<f64>> {
    let Some(b) = &opts.balance else {
        return Ok(config.default_balance());
    };
    if b.len() != config.nl() {
        return Err(Error::shape(
            "balance",
            format!("{} entries", config.nl()),
            format!("{}", b.len()),
        ));
    }
    match b
        .iter()
        .enumerate()
        .find(|(_, v)| !(v.is_finite() && **v >= 0.0))
    {
        Some((i, v)) => Err(Error::invalid(
            format!("balance[{i}]"),
            v,
            "must be a finite number >= 0",
        )),
        None => Ok(b.clone()),
    }
}

/// `e`, or [`Error::NonFinite`] naming its first output that is not finite. Shared by every
/// backend.
pub(crate) fn finite_or_error(e: Evaluation) -> Result<Evaluation> {
    match first_non_finite(&e) {
        None => Ok(e),
        Some((output, value)) => Err(Error::NonFinite { output, value }),
    }
}

/// The first output of `e` that is not finite (validated inputs with the default balance never
/// have one; see docs/reliability.md), named like the answer's keys.
fn first_non_finite(e: &Evaluation) -> Option<(String, f64)> {
    let scalars = [
        ("loss", e.loss),
        ("lbox", e.lbox),
        ("lobj", e.lobj),
        ("lcls", e.lcls),
    ];
    if let Some((name, v)) = scalars.iter().find(|(_, v)| !v.is_finite()) {
        return Some((name.to_string(), *v));
    }
    if let Some((i, v)) = e.balance.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        return Some((format!("balance[{i}]"), *v));
    }
    for (l, r) in e.layers.iter().enumerate() {
        for (name, v) in [
            ("hard_loss", r.hard_loss),
            ("soft_loss", r.soft_loss),
            ("box_loss", r.box_loss),
            ("cls_loss", r.cls_loss),
        ] {
            if !v.is_finite() {
                return Some((format!("{name}[{l}]"), v));
            }
        }
    }
    for (l, g) in e.grad.obj.iter().enumerate() {
        // A branch-free scan first (it vectorises); the index only for a layer that has a hit.
        if !g.iter().fold(false, |bad, v| bad | !v.is_finite()) {
            continue;
        }
        if let Some((idx, v)) = g.indexed_iter().find(|(_, v)| !v.is_finite()) {
            return Some((
                format!("grad[{l}] objectness at {:?}", <[usize; 4]>::from(idx)),
                *v,
            ));
        }
    }
    for (l, rows) in e.grad.rows.iter().enumerate() {
        for r in rows {
            if let Some(v) = r.xywh.iter().chain(&r.cls).find(|v| !v.is_finite()) {
                return Some((
                    format!(
                        "grad[{l}] at [{}, {}, {}, {}] (box or class)",
                        r.b, r.a, r.gj, r.gi
                    ),
                    *v,
                ));
            }
        }
    }
    None
}

/// [`evaluate`] on a whole case.
///
/// # Errors
/// As [`evaluate`].
pub fn evaluate_case(case: &Case, opts: &EvalOptions) -> Result<Evaluation> {
    evaluate(&case.config, &case.inputs, opts)
}
