//! The [`Evaluation`] from the words read back: each layer's targets, gradient, sums, counts
//! and row terms, then the totals every backend shares.

use ndarray::Array4;

use super::box_cls::RowOut;
use super::plan::LayerPlan;
use super::readback::{ChunkLayout, Part, U_KEY};
use super::record::{ChunkOut, Recorded};
use crate::config::Config;
use crate::grad::{Gradient, RowGrad};
use crate::inputs::InputsView;
use crate::loss::norm::{LayerSums, classes_scored};
use crate::result::{CellClass, Counts, Evaluation, LayerResult};

/// Builds the [`Evaluation`]: `words` holds each chunk's readback, then each layer's totals.
pub(crate) fn assemble(
    config: &Config,
    inputs: &InputsView,
    plans: Vec<LayerPlan>,
    rec: &Recorded,
    words: &[Vec<u32>],
    balance: &[f64],
) -> Evaluation {
    let n_chunks = rec.chunks.len();
    let mut layers = Vec::with_capacity(plans.len());
    let mut grad = Gradient {
        obj: Vec::with_capacity(plans.len()),
        rows: Vec::with_capacity(plans.len()),
        no: 5 + config.nc,
    };
    for (l, plan) in plans.into_iter().enumerate() {
        let mut acc = LayerWords::new(&plan, config.nc);
        for (ch, w) in rec.chunks.iter().zip(words).filter(|(ch, _)| ch.layer == l) {
            acc.add_chunk(ch, w);
        }
        let (layer, obj, rows) = acc.finish(plan, config, counts_of(&words[n_chunks + l]));
        layers.push(layer);
        grad.obj.push(obj);
        grad.rows.push(rows);
    }
    crate::totals::totals(config, inputs.batch_size() as f64, balance, layers, grad)
}

/// A layer's totals, read in the order of [`CellClass::index`].
fn counts_of(t: &[u32]) -> Counts {
    let n = |c: CellClass| u64::from(t[c.index()]);
    Counts {
        positive: n(CellClass::Positive),
        negative: n(CellClass::Negative),
        soft: n(CellClass::Soft),
    }
}

/// One layer's results gathered from its chunks.
struct LayerWords {
    /// Class gradients per row ([`classes_scored`]).
    classes: usize,
    image_cells: usize,
    soft_assigner: bool,
    tobj: Vec<f64>,
    gobj: Vec<f64>,
    hard_sum: f64,
    soft_sum: f64,
    row_out: Vec<RowOut>,
    cls_grad: Vec<f32>,
}

impl LayerWords {
    fn new(plan: &LayerPlan, nc: usize) -> LayerWords {
        let grid = plan.grid;
        let rows = plan.rows.len();
        let classes = classes_scored(nc);
        LayerWords {
            classes,
            image_cells: grid.na * grid.ny * grid.nx,
            soft_assigner: plan.soft.is_some(),
            tobj: vec![0.0; grid.cells()],
            gobj: vec![0.0; grid.cells()],
            hard_sum: 0.0,
            soft_sum: 0.0,
            row_out: vec![RowOut::default(); rows],
            cls_grad: vec![0.0; rows * classes],
        }
    }

    /// Copies one chunk's words into place; adds its partial sums in order, in f64.
    fn add_chunk(&mut self, ch: &ChunkOut, w: &[u32]) {
        let layout: ChunkLayout = ch.layout;
        let at = ch.b0 * self.image_cells;
        let cells = layout.cells as usize;
        let t = &w[layout.words(Part::Tobj)];
        let u = &w[layout.words(Part::TobjU)];
        for ((dst, &bits), &key) in self.tobj[at..at + cells].iter_mut().zip(t).zip(u) {
            *dst = target(self.soft_assigner, bits, key);
        }
        for (dst, &bits) in self.gobj[at..at + cells]
            .iter_mut()
            .zip(&w[layout.words(Part::Grad)])
        {
            *dst = f64::from(f32::from_bits(bits));
        }
        for pair in w[layout.words(Part::Partials)].chunks_exact(2) {
            self.hard_sum += f64::from(f32::from_bits(pair[0]));
            self.soft_sum += f64::from(f32::from_bits(pair[1]));
        }
        let outs: &[RowOut] = bytemuck::cast_slice(&w[layout.words(Part::RowOut)]);
        let cls = &w[layout.words(Part::ClsGrad)];
        for (j, &i) in ch.row_ids.iter().enumerate() {
            self.row_out[i] = outs[j];
            let k = layout.classes as usize;
            for c in 0..k {
                self.cls_grad[i * k + c] = f32::from_bits(cls[j * k + c]);
            }
        }
    }

    /// The layer's result, objectness gradient and row gradients.
    fn finish(
        self,
        plan: LayerPlan,
        config: &Config,
        counts: Counts,
    ) -> (LayerResult, Array4<f64>, Vec<RowGrad>) {
        let grid = plan.grid;
        let losses = LayerSums {
            hard: self.hard_sum,
            soft: self.soft_sum,
            boxes: self.row_out.iter().map(|r| f64::from(r.box_term)).sum(),
            classes: self.row_out.iter().map(|r| f64::from(r.cls_sum)).sum(),
            counts,
            rows: plan.rows.len(),
            cells: grid.cells(),
        }
        .losses(config);
        let row_grads = self.row_grads(&plan);
        let shape = (grid.bs, grid.na, grid.ny, grid.nx);
        let layer = LayerResult {
            tobj: Array4::from_shape_vec(shape, self.tobj).expect("sized from the grid"),
            rows: plan.rows,
            counts,
            hard_loss: losses.hard,
            soft_loss: losses.soft,
            box_loss: losses.boxes,
            cls_loss: losses.classes,
            ciou_alpha: self.row_out.iter().map(|r| f64::from(r.alpha)).collect(),
        };
        let obj = Array4::from_shape_vec(shape, self.gobj).expect("sized from the grid");
        (layer, obj, row_grads)
    }

    fn row_grads(&self, plan: &LayerPlan) -> Vec<RowGrad> {
        let k = self.classes;
        plan.rows
            .iter()
            .enumerate()
            .map(|(i, r)| RowGrad {
                b: r.b,
                a: r.a,
                gj: r.gj,
                gi: r.gi,
                xywh: self.row_out[i].grad.map(f64::from),
                cls: self.cls_grad[i * k..(i + 1) * k]
                    .iter()
                    .map(|&g| f64::from(g))
                    .collect(),
            })
            .collect()
    }
}

/// The reported target of a cell: a soft target close to 1 is `1 - (1 - t)`, from the `1 - t`
/// the shader computed to f32 relative accuracy.
fn target(soft_assigner: bool, bits: u32, key: u32) -> f64 {
    let t = f32::from_bits(bits);
    if soft_assigner && t > 0.5 && t < 1.0 {
        1.0 - f64::from(f32::from_bits(U_KEY - key))
    } else {
        f64::from(t)
    }
}
