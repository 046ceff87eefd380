//! The whole loss of a batch (spec section 5) and its gradient (spec section 6).
//!
//! Per layer: the rows' box (CIoU) and class terms, then one pass over every cell for the
//! objectness terms. Reductions run over fixed chunks of cells whose partial sums are added in
//! chunk order, so results do not depend on the number of threads.

use ndarray::{Array4, ArrayView5, CowArray, Ix5};
use rayon::prelude::*;

use super::bce::{bce_element, sigmoid};
use super::iou::{IouKind, bbox_iou_grad};
use super::soft::soft_element;
use crate::assign::{LayerTargets, Row};
use crate::case::{Inputs, Prediction};
use crate::config::{Assigner, Config};
use crate::eval::{Counts, Evaluation, LayerResult};
use crate::grad::{Gradient, RowGrad};

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

/// Evaluates the loss and its gradient from built targets.
///
/// `balance` is the layer weighting in force (spec 5); the updated one (after autobalance) is
/// reported in [`Evaluation::balance`]. Inputs must have been validated.
pub fn compute(config: &Config, inputs: &Inputs, targets: Vec<LayerTargets>, balance: &[f64]) -> Evaluation {
    let bs = inputs.batch_size() as f64;
    let h = &config.hyp;
    let mut new_balance = balance.to_vec();
    let (mut lbox, mut lobj, mut lcls) = (0.0, 0.0, 0.0);
    let mut layers = Vec::with_capacity(targets.len());
    let mut grad = Gradient {
        obj: Vec::with_capacity(targets.len()),
        rows: Vec::with_capacity(targets.len()),
        no: 5 + config.nc,
    };
    for (l, (t, p)) in targets.into_iter().zip(&inputs.predictions).enumerate() {
        let r = match p {
            Prediction::F32(a) => layer::<f32>(config, l, a.view(), t, bs * h.obj * balance[l]),
            Prediction::F64(a) => layer::<f64>(config, l, a.view(), t, bs * h.obj * balance[l]),
        };
        let (res, gobj, grows) = r;
        lbox += res.box_loss;
        lcls += res.cls_loss;
        let obji = res.hard_loss + res.soft_loss;
        lobj += obji * balance[l];
        if config.autobalance && obji > 0.0 {
            new_balance[l] = new_balance[l] * 0.9999 + 0.0001 / obji;
        }
        layers.push(res);
        grad.obj.push(gobj);
        grad.rows.push(grows);
    }
    if config.autobalance {
        let ssi = if new_balance.len() > 1 { 1 } else { 0 };
        let s = new_balance[ssi];
        for b in &mut new_balance {
            *b /= s;
        }
    }
    let (lbox, lobj, lcls) = (lbox * h.box_gain, lobj * h.obj, lcls * h.cls);
    Evaluation {
        loss: (lbox + lobj + lcls) * bs,
        lbox,
        lobj,
        lcls,
        layers,
        balance: new_balance,
        grad,
    }
}

type LayerOut = (LayerResult, Array4<f64>, Vec<RowGrad>);

fn layer<T: Real>(config: &Config, l: usize, pred: ArrayView5<T>, t: LayerTargets, obj_scale: f64) -> LayerOut {
    let pred: CowArray<T, Ix5> = pred.as_standard_layout();
    let flat = pred.as_slice().expect("standard layout");
    let LayerTargets { grid, mut tobj, rows } = t;
    let no = 5 + config.nc;
    let h = &config.hyp;
    let bs = grid.bs as f64;
    let cell_of = |r: &Row| ((r.b * grid.na + r.a) * grid.ny + r.gj) * grid.nx + r.gi;

    // Box and class terms of the rows, in row order.
    let n = rows.len();
    let mut box_sum = 0.0;
    let mut cls_sum = 0.0;
    let mut row_grads = Vec::with_capacity(n);
    let box_scale = if n > 0 { -h.box_gain * bs / n as f64 } else { 0.0 };
    let cls_scale = if n > 0 { h.cls * bs / (n * config.nc) as f64 } else { 0.0 };
    let (cp, cn) = (1.0 - 0.5 * h.label_smoothing, 0.5 * h.label_smoothing);
    for r in &rows {
        let ps = &flat[cell_of(r) * no..(cell_of(r) + 1) * no];
        let (anchor_w, anchor_h) = (config.anchors[[l, r.a, 0]], config.anchors[[l, r.a, 1]]);
        let s: [f64; 4] = [sigmoid(ps[0].f()), sigmoid(ps[1].f()), sigmoid(ps[2].f()), sigmoid(ps[3].f())];
        let pbox = [
            s[0] * 2.0 - 0.5,
            s[1] * 2.0 - 0.5,
            (s[2] * 2.0) * (s[2] * 2.0) * anchor_w,
            (s[3] * 2.0) * (s[3] * 2.0) * anchor_h,
        ];
        let ciou = bbox_iou_grad(pbox, r.tbox(), IouKind::CIou);
        box_sum += 1.0 - ciou.value;
        let dpbox = [
            2.0 * s[0] * (1.0 - s[0]),
            2.0 * s[1] * (1.0 - s[1]),
            8.0 * s[2] * s[2] * (1.0 - s[2]) * anchor_w,
            8.0 * s[3] * s[3] * (1.0 - s[3]) * anchor_h,
        ];
        let xywh = std::array::from_fn(|c| box_scale * ciou.grad[c] * dpbox[c]);
        let mut cls = Vec::new();
        if config.nc > 1 {
            cls.reserve(config.nc);
            for c in 0..config.nc {
                let target = if c == r.class { cp } else { cn };
                let (lv, gv) = bce_element(ps[5 + c].f(), target, h.cls_pw, h.fl_gamma);
                cls_sum += lv;
                cls.push(cls_scale * gv);
            }
        }
        if config.assigner == Assigner::Yolov5 {
            tobj[[r.b, r.a, r.gj, r.gi]] = ciou.value.max(0.0);
        }
        row_grads.push(RowGrad {
            b: r.b,
            a: r.a,
            gj: r.gj,
            gi: r.gi,
            xywh,
            cls,
        });
    }
    let box_loss = if n > 0 { box_sum / n as f64 } else { 0.0 };
    let cls_loss = if n > 0 && config.nc > 1 { cls_sum / (n * config.nc) as f64 } else { 0.0 };

    // Cell classes (exact comparisons, spec 4.9).
    let tflat = tobj.as_slice().expect("tobj is built in standard layout");
    let counts = tflat
        .par_chunks(CHUNK)
        .map(|c| {
            let mut k = Counts::default();
            for &v in c {
                if v == 1.0 {
                    k.positive += 1;
                } else if v == 0.0 {
                    k.negative += 1;
                } else {
                    k.soft += 1;
                }
            }
            k
        })
        .collect::<Vec<_>>()
        .into_iter()
        .fold(Counts::default(), |a, b| a.add(b));
    let soft_assigner = config.assigner == Assigner::Soft;
    let counts = if soft_assigner {
        counts
    } else {
        // Baseline: positive = tobj > 0 (IoU targets need not be exactly 1).
        Counts {
            positive: counts.positive + counts.soft,
            negative: counts.negative,
            soft: 0,
        }
    };
    let n_hard = if soft_assigner { counts.positive + counts.negative } else { grid.cells() as u64 };
    let n_soft = if soft_assigner { counts.soft } else { 0 };
    let hard_scale = if n_hard > 0 { obj_scale / n_hard as f64 } else { 0.0 };
    let soft_scale = if n_soft > 0 { obj_scale / n_soft as f64 } else { 0.0 };

    // Objectness terms over every cell.
    let mut gobj = vec![0.0f64; grid.cells()];
    let partial: Vec<(f64, f64)> = gobj
        .par_chunks_mut(CHUNK)
        .zip(tflat.par_chunks(CHUNK))
        .enumerate()
        .map(|(ci, (g, tc))| {
            let (mut hs, mut ss) = (0.0, 0.0);
            let base = ci * CHUNK;
            for (k, (gk, &tv)) in g.iter_mut().zip(tc).enumerate() {
                let x = flat[(base + k) * no + 4].f();
                if !soft_assigner || tv == 0.0 || tv == 1.0 {
                    let (lv, gv) = bce_element(x, tv, h.obj_pw, h.fl_gamma);
                    hs += lv;
                    *gk = hard_scale * gv;
                } else {
                    let (lv, gv) = soft_element(config.soft_loss, x, tv);
                    ss += lv;
                    *gk = soft_scale * gv;
                }
            }
            (hs, ss)
        })
        .collect();
    let (hard_sum, soft_sum) = partial.iter().fold((0.0, 0.0), |(a, b), &(c, d)| (a + c, b + d));
    let hard_loss = if n_hard > 0 { hard_sum / n_hard as f64 } else { 0.0 };
    let soft_loss = if n_soft > 0 { soft_sum / n_soft as f64 } else { 0.0 };
    let gobj = Array4::from_shape_vec((grid.bs, grid.na, grid.ny, grid.nx), gobj).expect("sized from the grid");
    (
        LayerResult {
            tobj,
            rows,
            counts,
            hard_loss,
            soft_loss,
            box_loss,
            cls_loss,
        },
        gobj,
        row_grads,
    )
}
