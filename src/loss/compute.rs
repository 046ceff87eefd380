//! The whole loss of a batch (spec section 5) and its gradient (spec section 6).
//!
//! Per layer: the rows' box (CIoU) and class terms (rows in parallel, added in row order),
//! one pass counting the cell classes, then one pass over every cell for the objectness terms.
//! Reductions run over fixed chunks of cells whose partial sums are added in chunk order, so
//! results do not depend on the number of threads. f32 predictions are widened one value at a
//! time as they are read, never copied.
//!
//! The hot loops share one exponential between a BCE term and its derivative
//! (`bce_shared`); the result is bit for bit that of [`bce_element`] (tested below).

use ndarray::{Array4, ArrayView5, CowArray, Ix5};
use rayon::prelude::*;

use super::bce::{bce_element, bce_with_logits, sigmoid};
use super::iou::{IouKind, bbox_iou_grad_with};
use super::soft::soft_element;
use crate::config::{Assigner, Config, SoftLoss};
use crate::grad::{Gradient, RowGrad};
use crate::inputs::{Inputs, InputsView, PredictionView};
use crate::result::{Counts, Evaluation, LayerResult};
use crate::targets::{LayerTargets, Row};
pub(crate) use crate::totals::totals;
use crate::workspace::Workspace;

/// Cells per reduction chunk (fixed, so that sums do not depend on the thread count).
const CHUNK: usize = 4096;

/// Prediction element types: f32 is widened to f64 element by element.
pub(crate) trait Real: Copy + Send + Sync + 'static {
    fn f(self) -> f64;
}
impl Real for f32 {
    #[inline]
    fn f(self) -> f64 {
        f64::from(self)
    }
}
impl Real for f64 {
    #[inline]
    fn f(self) -> f64 {
        self
    }
}

/// The quantities spec section 6 treats as constants for gradients, taken from an evaluation:
/// CIoU's `alpha` of every row and the baseline assigner's IoU objectness targets.
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
/// use soft_objectness::{assign, default_batch::{build, Workload}, loss::compute};
/// let (config, inputs) = build(&Workload { batch: 2, width: 64, height: 64, nc: 3, boxes_per_image: 4, seed: 1 });
/// let targets = assign::build(&config, &inputs, Default::default()).unwrap();
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
        false,
        &mut Workspace::new(),
    )
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
        true,
        &mut Workspace::new(),
    )
}

/// [`compute`] on borrowed inputs with the gradient's buffers taken from `ws`.
pub(crate) fn compute_in(
    config: &Config,
    inputs: &InputsView,
    targets: Vec<LayerTargets>,
    balance: &[f64],
    ws: &mut Workspace,
) -> Evaluation {
    run(config, inputs, targets, balance, None, true, ws)
}

impl Workspace {
    /// [`compute`] with this workspace's buffers (the gradient's objectness channel).
    pub fn compute(
        &mut self,
        config: &Config,
        inputs: &Inputs,
        targets: Vec<LayerTargets>,
        balance: &[f64],
    ) -> Evaluation {
        compute_in(config, &inputs.view(), targets, balance, self)
    }
}

fn run(
    config: &Config,
    inputs: &InputsView,
    targets: Vec<LayerTargets>,
    balance: &[f64],
    constants: Option<&Constants>,
    want_grad: bool,
    ws: &mut Workspace,
) -> Evaluation {
    let bs = inputs.batch_size() as f64;
    let h = &config.hyp;
    let mut layers = Vec::with_capacity(targets.len());
    let mut grad = Gradient {
        obj: Vec::with_capacity(targets.len()),
        rows: Vec::with_capacity(targets.len()),
        no: 5 + config.nc,
    };
    for (l, (t, p)) in targets.into_iter().zip(&inputs.predictions).enumerate() {
        let fixed = constants.map(|c| (c.alpha[l].as_slice(), &c.tobj[l]));
        let obj_scale = bs * h.obj * balance[l];
        // Every element of the gradient buffer is written, so a reused one needs no zeroing.
        let g = match want_grad {
            true => ws
                .take(t.grid.cells())
                .unwrap_or_else(|| vec![0.0; t.grid.cells()]),
            false => Vec::new(),
        };
        let r = match (p, want_grad) {
            (PredictionView::F32(a), true) => {
                layer::<f32, true>(config, l, a.view(), t, obj_scale, fixed, g)
            }
            (PredictionView::F32(a), false) => {
                layer::<f32, false>(config, l, a.view(), t, obj_scale, fixed, g)
            }
            (PredictionView::F64(a), true) => {
                layer::<f64, true>(config, l, a.view(), t, obj_scale, fixed, g)
            }
            (PredictionView::F64(a), false) => {
                layer::<f64, false>(config, l, a.view(), t, obj_scale, fixed, g)
            }
        };
        let (res, gobj, grows) = r;
        layers.push(res);
        if want_grad {
            grad.obj.push(gobj);
            grad.rows.push(grows);
        }
    }
    totals(config, bs, balance, layers, grad)
}

type LayerOut = (LayerResult, Array4<f64>, Vec<RowGrad>);

/// What one row contributes: its CIoU, its class loss sum (classes in order) and gradients.
struct RowTerms {
    ciou: f64,
    alpha: f64,
    cls_sum: f64,
    grad: RowGrad,
}

/// One layer. `GRAD = false` skips every gradient (the returned gradient parts are empty);
/// with `GRAD`, `gobj` holds `grid.cells()` values (any contents), all overwritten.
fn layer<T: Real, const GRAD: bool>(
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
    let no = 5 + config.nc;
    let h = &config.hyp;
    let bs = grid.bs as f64;
    let cell_of = |r: &Row| ((r.b * grid.na + r.a) * grid.ny + r.gj) * grid.nx + r.gi;

    // Box and class terms of the rows: each row on its own (in parallel), added in row order.
    let n = rows.len();
    let box_scale = if n > 0 {
        -h.box_gain * bs / n as f64
    } else {
        0.0
    };
    let cls_scale = if n > 0 {
        h.cls * bs / (n * config.nc) as f64
    } else {
        0.0
    };
    let (cp, cn) = (1.0 - 0.5 * h.label_smoothing, 0.5 * h.label_smoothing);
    let terms: Vec<RowTerms> = rows
        .par_iter()
        .enumerate()
        .with_min_len(8)
        .map(|(k, r)| {
            let ps = &flat[cell_of(r) * no..(cell_of(r) + 1) * no];
            let (anchor_w, anchor_h) = (config.anchors[[l, r.a, 0]], config.anchors[[l, r.a, 1]]);
            let s: [f64; 4] = [
                sigmoid(ps[0].f()),
                sigmoid(ps[1].f()),
                sigmoid(ps[2].f()),
                sigmoid(ps[3].f()),
            ];
            let pbox = [
                s[0] * 2.0 - 0.5,
                s[1] * 2.0 - 0.5,
                (s[2] * 2.0) * (s[2] * 2.0) * anchor_w,
                (s[3] * 2.0) * (s[3] * 2.0) * anchor_h,
            ];
            let ciou = bbox_iou_grad_with(pbox, r.tbox(), IouKind::CIou, fixed.map(|f| f.0[k]));
            let mut xywh = [0.0; 4];
            if GRAD {
                let dpbox = [
                    2.0 * s[0] * (1.0 - s[0]),
                    2.0 * s[1] * (1.0 - s[1]),
                    8.0 * s[2] * s[2] * (1.0 - s[2]) * anchor_w,
                    8.0 * s[3] * s[3] * (1.0 - s[3]) * anchor_h,
                ];
                xywh = std::array::from_fn(|c| box_scale * ciou.grad[c] * dpbox[c]);
            }
            let mut cls_sum = 0.0;
            let mut cls = Vec::new();
            if config.nc > 1 {
                if GRAD {
                    cls.reserve(config.nc);
                }
                for (c, x) in ps[5..].iter().enumerate() {
                    let target = if c == r.class { cp } else { cn };
                    if GRAD {
                        let (lv, gv) = bce_shared(x.f(), target, h.cls_pw, h.fl_gamma);
                        cls_sum += lv;
                        cls.push(cls_scale * gv);
                    } else {
                        cls_sum += bce_loss(x.f(), target, h.cls_pw, h.fl_gamma);
                    }
                }
            }
            RowTerms {
                ciou: ciou.value,
                alpha: ciou.alpha,
                cls_sum,
                grad: RowGrad {
                    b: r.b,
                    a: r.a,
                    gj: r.gj,
                    gi: r.gi,
                    xywh,
                    cls,
                },
            }
        })
        .collect();
    let mut box_sum = 0.0;
    let mut cls_sum = 0.0;
    let mut ciou_alpha = Vec::with_capacity(n);
    let mut row_grads = Vec::with_capacity(if GRAD { n } else { 0 });
    for (r, term) in rows.iter().zip(terms) {
        box_sum += 1.0 - term.ciou;
        cls_sum += term.cls_sum;
        ciou_alpha.push(term.alpha);
        // The baseline's objectness target: the later row wins a shared cell.
        if config.assigner == Assigner::Yolov5 && fixed.is_none() {
            tobj[[r.b, r.a, r.gj, r.gi]] = term.ciou.max(0.0);
        }
        if GRAD {
            row_grads.push(term.grad);
        }
    }
    if let Some((_, t)) = fixed {
        tobj.assign(t);
    }
    let box_loss = if n > 0 { box_sum / n as f64 } else { 0.0 };
    let cls_loss = if n > 0 && config.nc > 1 {
        cls_sum / (n * config.nc) as f64
    } else {
        0.0
    };

    // Cell classes (exact comparisons, spec 4.9); integer sums, so any order gives the same.
    let tflat = tobj.as_slice().expect("tobj is built in standard layout");
    let counts = Counts::of_cells(tflat, config.assigner);
    let soft_assigner = config.assigner == Assigner::Soft;
    let n_hard = if soft_assigner {
        counts.positive + counts.negative
    } else {
        grid.cells() as u64
    };
    let n_soft = if soft_assigner { counts.soft } else { 0 };
    let pass = ObjPass {
        no,
        soft_assigner,
        obj_pw: h.obj_pw,
        fl_gamma: h.fl_gamma,
        soft_loss: config.soft_loss,
        hard_scale: if n_hard > 0 {
            obj_scale / n_hard as f64
        } else {
            0.0
        },
        soft_scale: if n_soft > 0 {
            obj_scale / n_soft as f64
        } else {
            0.0
        },
    };

    // Objectness terms over every cell, in fixed chunks whose sums are added in chunk order.
    debug_assert_eq!(gobj.len(), if GRAD { grid.cells() } else { 0 });
    let partial: Vec<(f64, f64)> = if GRAD {
        gobj.par_chunks_mut(CHUNK)
            .zip(tflat.par_chunks(CHUNK))
            .enumerate()
            .map(|(c, (g, tc))| pass.chunk::<T, true>(&flat[c * CHUNK * no..], tc, g))
            .collect()
    } else {
        tflat
            .par_chunks(CHUNK)
            .enumerate()
            .map(|(c, tc)| pass.chunk::<T, false>(&flat[c * CHUNK * no..], tc, &mut []))
            .collect()
    };
    let (hard_sum, soft_sum) = partial
        .iter()
        .fold((0.0, 0.0), |(a, b), &(c, d)| (a + c, b + d));
    let hard_loss = if n_hard > 0 {
        hard_sum / n_hard as f64
    } else {
        0.0
    };
    let soft_loss = if n_soft > 0 {
        soft_sum / n_soft as f64
    } else {
        0.0
    };
    let gobj = if GRAD {
        Array4::from_shape_vec((grid.bs, grid.na, grid.ny, grid.nx), gobj)
            .expect("sized from the grid")
    } else {
        Array4::zeros((0, 0, 0, 0))
    };
    (
        LayerResult {
            tobj,
            rows,
            counts,
            hard_loss,
            soft_loss,
            box_loss,
            cls_loss,
            ciou_alpha,
        },
        gobj,
        row_grads,
    )
}

/// The constants of a layer's objectness pass.
struct ObjPass {
    no: usize,
    soft_assigner: bool,
    obj_pw: f64,
    fl_gamma: f64,
    soft_loss: SoftLoss,
    hard_scale: f64,
    soft_scale: f64,
}

impl ObjPass {
    /// One chunk of cells: `pred` starts at the chunk's first cell, `t` holds its targets and
    /// `g` (when `GRAD`) receives `d loss / d x_obj`. Returns the chunk's (hard, soft) sums.
    #[inline]
    fn chunk<T: Real, const GRAD: bool>(&self, pred: &[T], t: &[f64], g: &mut [f64]) -> (f64, f64) {
        let (mut hs, mut ss) = (0.0, 0.0);
        let xs = pred.iter().skip(4).step_by(self.no);
        for (k, (&tv, x)) in t.iter().zip(xs).enumerate() {
            prefetch(pred, (k + PREFETCH) * self.no + 4);
            let x = x.f();
            if !self.soft_assigner || tv == 0.0 || tv == 1.0 {
                if GRAD {
                    let (lv, gv) = bce_shared(x, tv, self.obj_pw, self.fl_gamma);
                    hs += lv;
                    g[k] = self.hard_scale * gv;
                } else {
                    hs += bce_loss(x, tv, self.obj_pw, self.fl_gamma);
                }
            } else {
                let (lv, gv) = soft_element(self.soft_loss, x, tv);
                ss += lv;
                if GRAD {
                    g[k] = self.soft_scale * gv;
                }
            }
        }
        (hs, ss)
    }
}

/// Cells ahead whose logit is prefetched: one cache line per cell, so the hardware
/// prefetchers (which stop at page boundaries) leave most of them to demand misses.
const PREFETCH: usize = 32;

/// Asks for the cache line of `data[i]` (no effect past the end, or off x86-64).
#[inline(always)]
fn prefetch<T>(data: &[T], i: usize) {
    #[cfg(target_arch = "x86_64")]
    if let Some(v) = data.get(i) {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        // SAFETY: SSE is part of the x86-64 baseline, and a prefetch never faults; the
        // pointer comes from a reference, so it is valid anyway.
        unsafe { _mm_prefetch::<_MM_HINT_T0>((v as *const T).cast::<i8>()) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (data, i);
}

/// [`bce_element`] with one exponential shared by the loss and its derivative, bit for bit
/// the same result: `e = exp(-|x|)` feeds `ln(1 + e)`, and the derivative's
/// `sigmoid(-x) = 1 / (1 + exp(x))` reuses it where `x <= 0` (there `exp(x)` is `e`). The
/// focal wrapper (`gamma > 0`) goes through [`bce_element`] itself.
#[inline(always)]
fn bce_shared(x: f64, t: f64, w: f64, gamma: f64) -> (f64, f64) {
    if gamma > 0.0 {
        return bce_element(x, t, w, gamma);
    }
    let e = (-x.abs()).exp();
    let k = 1.0 + (w - 1.0) * t;
    let loss = (1.0 - t) * x + k * (e.ln_1p() + (-x).max(0.0));
    let ex = if x <= 0.0 { e } else { x.exp() };
    (loss, (1.0 - t) - k * (1.0 / (1.0 + ex)))
}

/// The loss part of [`bce_element`], bit for bit, without its derivative.
#[inline]
fn bce_loss(x: f64, t: f64, w: f64, gamma: f64) -> f64 {
    if gamma > 0.0 {
        return bce_element(x, t, w, gamma).0;
    }
    bce_with_logits(x, t, w)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shared-exponential BCE is bit for bit [`bce_element`], on both sides of 0, at the
    /// extremes, with every pos_weight and target the losses use.
    #[test]
    fn bce_shared_is_bce_element() {
        let mut xs = vec![
            0.0, -0.0, 1e-300, -1e-300, 0.5, -0.5, 30.0, -30.0, 709.0, 710.0, -745.0, -800.0, 1e6,
            -1e6,
        ];
        let mut s = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..20_000 {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let u = (s >> 11) as f64 / (1u64 << 53) as f64;
            xs.push((u - 0.5) * 40.0);
        }
        for &x in &xs {
            for t in [0.0, 1.0, 0.05, 0.95, 0.3] {
                for w in [1.0, 0.6, 1.8] {
                    for gamma in [0.0, 1.5] {
                        let (l1, g1) = bce_element(x, t, w, gamma);
                        let (l2, g2) = bce_shared(x, t, w, gamma);
                        assert_eq!(
                            l1.to_bits(),
                            l2.to_bits(),
                            "loss at x={x} t={t} w={w} gamma={gamma}"
                        );
                        assert_eq!(
                            g1.to_bits(),
                            g2.to_bits(),
                            "grad at x={x} t={t} w={w} gamma={gamma}"
                        );
                        assert_eq!(l1.to_bits(), bce_loss(x, t, w, gamma).to_bits());
                    }
                }
            }
        }
    }
}
