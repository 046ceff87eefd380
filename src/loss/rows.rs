//! The box (CIoU) and class terms of a layer's rows (spec section 5) with their gradients
//! (spec section 6): each row on its own, in parallel, then added in row order.

use rayon::prelude::*;

use super::bce::{bce_element, sigmoid};
use super::iou::{IouGrad, IouKind, bbox_iou_grad_of};
use super::norm::{class_targets, classes_scored, row_scales};
use super::real::Real;
use super::vmath::bce_slice;
use crate::config::{Ciou, Config, Hyp};
use crate::error::{Error, Result, num};
use crate::grad::RowGrad;
use crate::inputs::{InputsView, PredictionView};
use crate::prefetch::{self, Hint};
use crate::targets::{Grid, Row};

/// Rows ahead whose cell is prefetched.
const ROWS_AHEAD: usize = 4;

/// What one row contributes: its CIoU (and `alpha`), its class loss sum (classes in order) and
/// its gradient.
pub(crate) struct RowTerms {
    /// CIoU of the predicted box with the target box.
    pub(crate) ciou: f64,
    /// CIoU's `alpha` (a constant for gradients).
    pub(crate) alpha: f64,
    /// Class BCE summed over the classes.
    pub(crate) cls_sum: f64,
    /// `d loss / d` the row's box and class channels (empty without `GRAD`).
    pub(crate) grad: RowGrad,
}

/// The terms of every row of layer `l`: `flat` holds the layer's predictions in standard
/// layout, `fixed_alpha` CIoU's `alpha` per row when held constant (finite differences).
pub(crate) fn row_terms<T: Real, const GRAD: bool>(
    config: &Config,
    l: usize,
    grid: Grid,
    rows: &[Row],
    flat: &[T],
    fixed_alpha: Option<&[f64]>,
) -> Vec<RowTerms> {
    let no = 5 + config.nc;
    let h = &config.hyp;
    let cell_of = |r: &Row| ((r.b * grid.na + r.a) * grid.ny + r.gj) * grid.nx + r.gi;
    let (box_scale, cls_scale) = row_scales(h, grid.bs as f64, rows.len(), config.nc);
    let (cp, cn) = class_targets(h.label_smoothing);
    rows.par_iter()
        .enumerate()
        .with_min_len(8)
        .map(|(k, r)| {
            // The cell of a row a few ahead (rows are scattered over the layer: each cell is
            // a handful of demand misses otherwise). Hints only: nothing depends on them.
            if let Some(ahead) = rows.get(k + ROWS_AHEAD) {
                let c = cell_of(ahead) * no;
                let step = (64 / size_of::<T>()).max(1);
                for j in (c..c + no).step_by(step).chain([c + no - 1]) {
                    prefetch::line(flat, j, Hint::L1);
                }
            }
            let ps = &flat[cell_of(r) * no..(cell_of(r) + 1) * no];
            let anchor = [config.anchors[[l, r.a, 0]], config.anchors[[l, r.a, 1]]];
            let alpha = fixed_alpha.map(|a| a[k]);
            let (ciou, xywh) =
                box_term::<T, GRAD>(config.ciou, &ps[..4], anchor, r, alpha, box_scale);
            let mut cls = Vec::new();
            let cls_sum = match classes_scored(config.nc) {
                0 => 0.0,
                _ => class_terms::<T, GRAD>(&ps[5..], r.class, (cp, cn), h, cls_scale, &mut cls),
            };
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
        .collect()
}

/// The box term of one row (spec 5): the predicted box from the logits `xywh` and the row's
/// `anchor` (YOLOv5's `(2 sigmoid - 0.5, (2 sigmoid)^2 anchor)`), its CIoU with the row's
/// target box of the configured release, and with `GRAD` `d loss / d` the four logits
/// (`scale` times the chain rule through the sigmoids; zeros without `GRAD`).
#[inline]
fn box_term<T: Real, const GRAD: bool>(
    release: Ciou,
    xywh: &[T],
    [anchor_w, anchor_h]: [f64; 2],
    r: &Row,
    fixed_alpha: Option<f64>,
    scale: f64,
) -> (IouGrad, [f64; 4]) {
    let logits = [xywh[0].f(), xywh[1].f(), xywh[2].f(), xywh[3].f()];
    let (pbox, s) = predicted_box(logits, [anchor_w, anchor_h]);
    let ciou = bbox_iou_grad_of(release, pbox, r.tbox(), IouKind::CIou, fixed_alpha);
    let mut grad = [0.0; 4];
    if GRAD {
        let dpbox = [
            2.0 * s[0] * (1.0 - s[0]),
            2.0 * s[1] * (1.0 - s[1]),
            8.0 * s[2] * s[2] * (1.0 - s[2]) * anchor_w,
            8.0 * s[3] * s[3] * (1.0 - s[3]) * anchor_h,
        ];
        grad = std::array::from_fn(|c| scale * ciou.grad[c] * dpbox[c]);
    }
    (ciou, grad)
}

/// The predicted box `(x, y, w, h)` of a row from its four logits `xywh` and its `anchor`, as
/// YOLOv5 forms it (spec section 5): `(2 sigmoid - 0.5, (2 sigmoid)^2 anchor)`, the square
/// first; with the four sigmoids (the gradient's chain rule reuses them).
#[inline]
fn predicted_box(xywh: [f64; 4], [anchor_w, anchor_h]: [f64; 2]) -> ([f64; 4], [f64; 4]) {
    let s = xywh.map(sigmoid);
    let pbox = [
        s[0] * 2.0 - 0.5,
        s[1] * 2.0 - 0.5,
        (s[2] * 2.0) * (s[2] * 2.0) * anchor_w,
        (s[3] * 2.0) * (s[3] * 2.0) * anchor_h,
    ];
    (pbox, s)
}

/// Spec section 8 (revision 2.1): with `ciou: v7.0`, no matched row may have a predicted box
/// (as [`predicted_box`] forms it for the loss, in f64) whose width or height is exactly 0:
/// CIoU's `atan(w / h)` is undefined there. Box-size logits below -373.26 (anchors of 1 grid
/// unit and more) to -366.35 (an anchor of `1e-6`) underflow `(2 sigmoid(x))^2 anchor` to 0.
/// `layers` holds each layer's rows, in layer order; the first such row (layers in order, rows
/// in order, the width before the height) is refused naming its logit, the layer and the row.
/// v6.0 adds `eps` to the heights and is defined everywhere: nothing is refused.
///
/// The rows must be those of `inputs` (shapes validated), as the assigners build them.
///
/// # Errors
/// [`Error::Invalid`] naming `inputs.predictions[L] at [b, a, gj, gi, c]` (`c` 2 for the width,
/// 3 for the height), the matched row and the logit.
pub(crate) fn refuse_empty_boxes<'r>(
    config: &Config,
    inputs: &InputsView,
    layers: impl IntoIterator<Item = &'r [Row]>,
) -> Result<()> {
    if config.ciou != Ciou::V7 {
        return Ok(());
    }
    for (l, (rows, pred)) in layers.into_iter().zip(&inputs.predictions).enumerate() {
        let logit = |at: [usize; 5]| match pred {
            PredictionView::F32(p) => f64::from(p[at]),
            PredictionView::F64(p) => p[at],
        };
        for (k, r) in rows.iter().enumerate() {
            let at = |c: usize| [r.b, r.a, r.gj, r.gi, c];
            let xywh = [0, 1, 2, 3].map(|c| logit(at(c)));
            let anchor = [config.anchors[[l, r.a, 0]], config.anchors[[l, r.a, 1]]];
            let (pbox, _) = predicted_box(xywh, anchor);
            if let Some(c) = [2, 3].into_iter().find(|&c| pbox[c] == 0.0) {
                let side = if c == 2 { "width" } else { "height" };
                return Err(Error::invalid(
                    format!("inputs.predictions[{l}] at {:?}", at(c)),
                    num(xywh[c]),
                    format!(
                        "with ciou v7.0 a logit must not underflow the predicted {side} of \
                         matched row {k} to exactly 0 (CIoU is undefined there; spec section 8)"
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// Classes per block of the vectorised BCE.
const BLOCK: usize = 64;

/// Partial sums of a row's class losses: class `c` goes to `c % LANES`.
const LANES: usize = 8;

/// The class terms of one row (spec 5, with label smoothing's targets `(cp, cn)`): the sum of
/// the BCE over the classes `xs` (`class` is the row's), and with `GRAD` each `d loss / d x`
/// times `scale` pushed onto `grad`. Without focal (`gamma = 0`) the vectorised BCE
/// ([`super::vmath::bce_slice`]), summed over [`LANES`] partial sums; with it the scalar
/// reference, in class order.
fn class_terms<T: Real, const GRAD: bool>(
    xs: &[T],
    class: usize,
    (cp, cn): (f64, f64),
    h: &Hyp,
    scale: f64,
    grad: &mut Vec<f64>,
) -> f64 {
    if GRAD {
        grad.reserve(xs.len());
    }
    let target = |c: usize| if c == class { cp } else { cn };
    if h.fl_gamma > 0.0 {
        let mut sum = 0.0;
        for (c, x) in xs.iter().enumerate() {
            let (lv, gv) = bce_element(x.f(), target(c), h.cls_pw, h.fl_gamma);
            sum += lv;
            if GRAD {
                grad.push(scale * gv);
            }
        }
        return sum;
    }
    let mut lanes = [0.0; LANES];
    let (mut xb, mut tb, mut lb, mut gb) = ([0.0; BLOCK], [0.0; BLOCK], [0.0; BLOCK], [0.0; BLOCK]);
    for c0 in (0..xs.len()).step_by(BLOCK) {
        let m = BLOCK.min(xs.len() - c0);
        for i in 0..m {
            xb[i] = xs[c0 + i].f();
            tb[i] = target(c0 + i);
        }
        bce_slice(&xb[..m], &tb[..m], h.cls_pw, &mut lb[..m], &mut gb[..m]);
        for (i, &lv) in lb[..m].iter().enumerate() {
            lanes[i % LANES] += lv;
        }
        if GRAD {
            grad.extend(gb[..m].iter().map(|&gv| scale * gv));
        }
    }
    let [a, b, c, d, e, f, g, k] = lanes;
    ((a + b) + (c + d)) + ((e + f) + (g + k))
}
