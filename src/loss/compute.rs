//! The whole loss of a batch (spec section 5) and its gradient (spec section 6).
//!
//! Per layer: the rows' box (CIoU) and class terms (rows in parallel, added in row order),
//! one pass counting the cell classes, then one pass over every cell for the objectness terms.
//! Reductions run over fixed chunks of cells whose partial sums are added in chunk order, so
//! results do not depend on the number of threads. f32 predictions are widened one value at a
//! time as they are read, never copied.
//!
//! The hot loops (every cell's objectness term, every row's class terms) run the BCE and the
//! soft losses through the vectorised `exp` / `log1p` / `ln` of `super::vmath` (within 1 ulp of
//! glibc, the same bits in any lane), one exponential shared by each term and its derivative;
//! the focal wrapper and loss1 go through the scalar reference functions. When `evaluate`
//! asks for it (`compute_checked`), the objectness pass also checks every prediction value
//! against spec 8's logit rule as it streams through the layer.

use ndarray::{Array4, ArrayView5, CowArray, Ix5};

use super::norm::{LayerSums, obj_scale};
use super::objectness::ObjPass;
use super::real::Real;
use super::rows::{RowTerms, row_terms};
use crate::config::{Assigner, Config};
use crate::grad::{Gradient, RowGrad};
use crate::inputs::{Inputs, InputsView, PredictionView};
use crate::result::{Counts, Evaluation, LayerResult};
use crate::targets::{LayerTargets, Row};
pub(crate) use crate::totals::totals;
use crate::workspace::Workspace;

/// The quantities spec section 6 treats as constants for gradients, taken from an evaluation:
/// CIoU's `alpha` of every row and the YOLOv5 assigner's IoU objectness targets.
///
/// Passing them to [`compute_with`] evaluates the loss as a function of the predictions with
/// these held fixed, whose finite differences are exactly what the analytic gradient computes.
#[derive(Debug, Clone, PartialEq)]
pub struct Constants {
    /// Per layer, per row, CIoU's `alpha`.
    pub alpha: Vec<Vec<f64>>,
    /// Per layer objectness targets.
    pub tobj: Vec<Array4<f64>>,
}

impl Constants {
    /// The constants of an evaluation.
    pub fn of(e: &Evaluation) -> Constants {
        Constants {
            alpha: e.layers.iter().map(|l| l.ciou_alpha.clone()).collect(),
            tobj: e.layers.iter().map(|l| l.tobj.clone()).collect(),
        }
    }
}

/// Evaluates the loss and its gradient from built targets.
///
/// `balance` is the layer weighting in force (spec 5); the updated one (after autobalance) is
/// reported in [`Evaluation::balance`]. Inputs must have been validated.
pub fn compute(
    config: &Config,
    inputs: &Inputs,
    targets: Vec<LayerTargets>,
    balance: &[f64],
) -> Evaluation {
    compute_with(config, inputs, targets, balance, None)
}

/// The loss alone: [`compute`] without any gradient work. Every loss, count and target is bit
/// for bit that of [`compute`]; the returned [`Evaluation::grad`] has no layers (`grad.obj`
/// and `grad.rows` are empty).
///
/// ```
/// use soft_objectness::{build_targets, default_batch::DefaultBatch, internals::loss::compute, Grid};
/// let small = DefaultBatch { batch: 2, width: 64, height: 64, nc: 3, boxes_per_image: 4, seed: 1 };
/// let (config, inputs) = small.build().unwrap();
/// let grids = Grid::of(&config, &inputs.view());
/// let targets = build_targets(&config, inputs.targets.view(), &grids, Default::default()).unwrap();
/// let balance = config.default_balance();
/// let f = compute::forward(&config, &inputs, targets.clone(), &balance);
/// let e = compute::compute(&config, &inputs, targets, &balance);
/// assert_eq!(f.loss.to_bits(), e.loss.to_bits());
/// assert!(f.grad.obj.is_empty() && f.grad.rows.is_empty());
/// ```
pub fn forward(
    config: &Config,
    inputs: &Inputs,
    targets: Vec<LayerTargets>,
    balance: &[f64],
) -> Evaluation {
    run(
        config,
        &inputs.view(),
        targets,
        balance,
        None,
        (false, false),
        &mut Workspace::new(),
    )
    .evaluation
}

/// [`compute`], optionally with the gradient-constant quantities held at given values.
pub fn compute_with(
    config: &Config,
    inputs: &Inputs,
    targets: Vec<LayerTargets>,
    balance: &[f64],
    constants: Option<&Constants>,
) -> Evaluation {
    run(
        config,
        &inputs.view(),
        targets,
        balance,
        constants,
        (true, false),
        &mut Workspace::new(),
    )
    .evaluation
}

/// [`compute`] on borrowed inputs with the gradient's buffers taken from `ws`.
pub fn compute_in(
    config: &Config,
    inputs: &InputsView,
    targets: Vec<LayerTargets>,
    balance: &[f64],
    ws: &mut Workspace,
) -> Evaluation {
    run(config, inputs, targets, balance, None, (true, false), ws).evaluation
}

/// [`compute_in`] on inputs whose prediction values have not been checked (their shapes and
/// the targets have): the objectness pass checks every value against spec 8's logit rule as
/// it reads it. When [`Checked::illegal`], the evaluation means nothing and the caller
/// reports the validation error instead.
pub(crate) fn compute_checked(
    config: &Config,
    inputs: &InputsView,
    targets: Vec<LayerTargets>,
    balance: &[f64],
    ws: &mut Workspace,
) -> Checked {
    run(config, inputs, targets, balance, None, (true, true), ws)
}

fn run(
    config: &Config,
    inputs: &InputsView,
    targets: Vec<LayerTargets>,
    balance: &[f64],
    constants: Option<&Constants>,
    (want_grad, check): (bool, bool),
    ws: &mut Workspace,
) -> Checked {
    let bs = inputs.batch_size() as f64;
    let mut illegal = false;
    let mut layers = Vec::with_capacity(targets.len());
    let mut grad = Gradient {
        obj: Vec::with_capacity(targets.len()),
        rows: Vec::with_capacity(targets.len()),
        no: 5 + config.nc,
    };
    for (l, (t, p)) in targets.into_iter().zip(&inputs.predictions).enumerate() {
        let fixed = constants.map(|c| (c.alpha[l].as_slice(), &c.tobj[l]));
        let obj_scale = obj_scale(&config.hyp, bs, balance[l]);
        // The objectness pass writes every element of the gradient buffer (a reused one, or
        // a fresh one's capacity): none is zeroed first.
        let g = match want_grad {
            true => ws.take(t.grid.cells()).unwrap_or_default(),
            false => Vec::new(),
        };
        let args = (config, l, t, obj_scale, fixed, g);
        let (res, gobj, grows, bad) = match p {
            PredictionView::F32(a) => layer_of::<f32>(a.view(), args, want_grad, check),
            PredictionView::F64(a) => layer_of::<f64>(a.view(), args, want_grad, check),
        };
        illegal |= bad;
        layers.push(res);
        if want_grad {
            grad.obj.push(gobj);
            grad.rows.push(grows);
        }
    }
    Checked {
        evaluation: totals(config, bs, balance, layers, grad),
        illegal,
    }
}

/// An evaluation and whether the loss pass met a prediction value that is not a legal logit
/// (always `false` when the pass did not check).
pub(crate) struct Checked {
    pub(crate) evaluation: Evaluation,
    pub(crate) illegal: bool,
}

/// A layer's result, the gradient's objectness channel and rows, and whether an illegal logit
/// was met.
type LayerOut = (LayerResult, Array4<f64>, Vec<RowGrad>, bool);

/// The arguments of [`layer`] besides the predictions.
type LayerArgs<'a> = (
    &'a Config,
    usize,
    LayerTargets,
    f64,
    Option<(&'a [f64], &'a Array4<f64>)>,
    Vec<f64>,
);

/// [`layer`] with its const parameters chosen at run time.
fn layer_of<T: Real>(pred: ArrayView5<T>, args: LayerArgs, grad: bool, check: bool) -> LayerOut {
    let (config, l, t, obj_scale, fixed, g) = args;
    match (grad, check) {
        (true, true) => layer::<T, true, true>(config, l, pred, t, obj_scale, fixed, g),
        (true, false) => layer::<T, true, false>(config, l, pred, t, obj_scale, fixed, g),
        (false, true) => layer::<T, false, true>(config, l, pred, t, obj_scale, fixed, g),
        (false, false) => layer::<T, false, false>(config, l, pred, t, obj_scale, fixed, g),
    }
}

/// One layer. `GRAD = false` skips every gradient (the returned gradient parts are empty);
/// with `GRAD`, `gobj` (any length and contents, a buffer to reuse) comes back holding the
/// `grid.cells()` objectness derivatives. With `CHECK`, the objectness pass checks every
/// prediction value of the layer (spec 8's logit rule) as it streams through them; the rows'
/// terms are computed on the values as they are (finite or not: nothing here panics on them)
/// and thrown away by the caller when the check fails.
fn layer<T: Real, const GRAD: bool, const CHECK: bool>(
    config: &Config,
    l: usize,
    pred: ArrayView5<T>,
    t: LayerTargets,
    obj_scale: f64,
    fixed: Option<(&[f64], &Array4<f64>)>,
    mut gobj: Vec<f64>,
) -> LayerOut {
    let pred: CowArray<T, Ix5> = pred.as_standard_layout();
    let flat = pred.as_slice().expect("standard layout");
    let LayerTargets {
        grid,
        mut tobj,
        rows,
    } = t;

    // Box and class terms of the rows: each row on its own (in parallel), added in row order.
    let terms = row_terms::<T, GRAD>(config, l, grid, &rows, flat, fixed.map(|f| f.0));
    let yolov5 = config.assigner == Assigner::Yolov5 && fixed.is_none();
    let row_sums = add_rows::<GRAD>(terms, &rows, yolov5.then_some(&mut tobj));
    if let Some((_, t)) = fixed {
        tobj.assign(t);
    }

    // Cell classes (exact comparisons, spec 4.9); integer sums, so any order gives the same.
    let tflat = tobj.as_slice().expect("tobj is built in standard layout");
    let counts = Counts::of_cells(tflat, config.assigner);
    let pass = ObjPass::of(config, counts, grid.cells(), obj_scale);

    // Objectness terms over every cell, in fixed chunks whose sums are added in chunk order.
    let sums = pass.run::<T, GRAD, CHECK>(flat, tflat, &mut gobj);
    debug_assert_eq!(gobj.len(), if GRAD { grid.cells() } else { 0 });
    let losses = LayerSums {
        hard: sums.hard,
        soft: sums.soft,
        boxes: row_sums.boxes,
        classes: row_sums.classes,
        counts,
        rows: rows.len(),
        cells: grid.cells(),
    }
    .losses(config);
    let gobj = if GRAD {
        Array4::from_shape_vec((grid.bs, grid.na, grid.ny, grid.nx), gobj)
            .expect("sized from the grid")
    } else {
        Array4::zeros((0, 0, 0, 0))
    };
    let result = LayerResult {
        tobj,
        rows,
        counts,
        hard_loss: losses.hard,
        soft_loss: losses.soft,
        box_loss: losses.boxes,
        cls_loss: losses.classes,
        ciou_alpha: row_sums.alpha,
    };
    (result, gobj, row_sums.grads, sums.illegal)
}

/// The rows' terms added up in row order.
struct RowSums {
    /// `1 - CIoU` summed over the rows.
    boxes: f64,
    /// The class BCE summed over the rows.
    classes: f64,
    /// CIoU's `alpha` per row.
    alpha: Vec<f64>,
    /// Per row, `d loss / d` its box and class channels (empty without `GRAD`).
    grads: Vec<RowGrad>,
}

/// Adds the rows' terms in row order; with `yolov5_tobj`, writes the YOLOv5 assigner's
/// objectness targets there on the way ([`yolov5_target`]).
fn add_rows<const GRAD: bool>(
    terms: Vec<RowTerms>,
    rows: &[Row],
    mut yolov5_tobj: Option<&mut Array4<f64>>,
) -> RowSums {
    let n = rows.len();
    let mut s = RowSums {
        boxes: 0.0,
        classes: 0.0,
        alpha: Vec::with_capacity(n),
        grads: Vec::with_capacity(if GRAD { n } else { 0 }),
    };
    for (r, term) in rows.iter().zip(terms) {
        s.boxes += 1.0 - term.ciou;
        s.classes += term.cls_sum;
        s.alpha.push(term.alpha);
        if let Some(tobj) = yolov5_tobj.as_deref_mut() {
            yolov5_target(tobj, r, term.ciou);
        }
        if GRAD {
            s.grads.push(term.grad);
        }
    }
    s
}

/// The YOLOv5 assigner's objectness target (spec 3): `max(CIoU, 0)` of the row at its cell;
/// rows are written in row order, so the later row wins a shared cell.
#[inline]
fn yolov5_target(tobj: &mut Array4<f64>, r: &Row, ciou: f64) {
    tobj[[r.b, r.a, r.gj, r.gi]] = ciou.max(0.0);
}
