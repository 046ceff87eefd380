//! How a layer's sums become its losses and gradient scales (spec sections 5 and 6): every loss
//! term is a mean over its set (rows, rows x classes, hard cells, soft cells), and an empty set
//! adds 0 instead of 0 / 0. Shared by the CPU loss and the GPU host.

use crate::config::{Assigner, Config, Hyp};
use crate::result::Counts;

/// `total / n`, or 0 when the set is empty: a layer's mean over `n` items, and the per-item
/// scale of its gradient (`gain * bs / n`).
///
/// ```
/// use soft_objectness::internals::loss::norm::mean;
/// assert_eq!(mean(3.0, 2), 1.5);
/// assert_eq!(mean(3.0, 0), 0.0);
/// ```
#[inline]
pub fn mean(total: f64, n: u64) -> f64 {
    if n > 0 { total / n as f64 } else { 0.0 }
}

/// The class targets `(positive, negative)` with label smoothing `eps` (YOLOv5's
/// `smooth_BCE`): `(1 - eps / 2, eps / 2)`.
///
/// ```
/// use soft_objectness::internals::loss::norm::class_targets;
/// assert_eq!(class_targets(0.0), (1.0, 0.0));
/// assert_eq!(class_targets(0.2), (0.9, 0.1));
/// ```
#[inline]
pub fn class_targets(eps: f64) -> (f64, f64) {
    (1.0 - 0.5 * eps, 0.5 * eps)
}

/// The classes a row's class loss runs over (spec 5): all `nc` of them, or none when
/// `nc <= 1` (a single class has no class loss). Every backend scores, and returns the
/// gradients of, this many classes per row.
#[inline]
pub(crate) fn classes_scored(nc: usize) -> usize {
    if nc > 1 { nc } else { 0 }
}

/// `bs * obj * balance`: a layer's objectness gain before its mean (spec 5 and 6).
#[inline]
pub(crate) fn obj_scale(h: &Hyp, bs: f64, balance: f64) -> f64 {
    bs * h.obj * balance
}

/// The gradient scales of a layer's `rows` rows (spec 6): the box term's `-box * bs / rows`
/// and the class terms' `cls * bs / (rows * nc)`.
#[inline]
pub(crate) fn row_scales(h: &Hyp, bs: f64, rows: usize, nc: usize) -> (f64, f64) {
    let n = rows as u64;
    (mean(-h.box_gain * bs, n), mean(h.cls * bs, n * nc as u64))
}

/// The cells a layer's hard objectness loss is a mean over (spec 5): the positive and
/// negative cells under the soft assigner, every one of the layer's `cells` under YOLOv5.
#[inline]
pub(crate) fn hard_cells(assigner: Assigner, counts: Counts, cells: usize) -> u64 {
    match assigner {
        Assigner::Soft => counts.positive + counts.negative,
        Assigner::Yolov5 => cells as u64,
    }
}

/// The cells a layer's soft loss is a mean over (spec 5): the soft cells under the soft
/// assigner, none under YOLOv5.
#[inline]
pub(crate) fn soft_cells(assigner: Assigner, counts: Counts) -> u64 {
    match assigner {
        Assigner::Soft => counts.soft,
        Assigner::Yolov5 => 0,
    }
}

/// What every backend sums over one layer: the totals its four losses are means of. The CPU
/// loss and the GPU host each fill one (in their own order of addition) and
/// [`LayerSums::losses`] turns it into the layer's losses for both.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LayerSums {
    /// The objectness loss summed over the hard cells.
    pub(crate) hard: f64,
    /// The soft loss summed over the soft cells (0 under YOLOv5).
    pub(crate) soft: f64,
    /// `1 - CIoU` summed over the rows.
    pub(crate) boxes: f64,
    /// The class BCE summed over the rows and classes (0 when `nc <= 1`).
    pub(crate) classes: f64,
    /// The layer's cell classes.
    pub(crate) counts: Counts,
    /// The layer's rows.
    pub(crate) rows: usize,
    /// The layer's cells, `bs * na * ny * nx`.
    pub(crate) cells: usize,
}

/// A layer's four losses before the gains: `H_i`, `S_i`, the box and the class loss.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct LayerLosses {
    pub(crate) hard: f64,
    pub(crate) soft: f64,
    pub(crate) boxes: f64,
    pub(crate) classes: f64,
}

impl LayerSums {
    /// The layer's losses (spec 5): each sum's mean over its set ([`hard_cells`],
    /// [`soft_cells`], the rows, the rows times [`classes_scored`]), an empty set giving 0
    /// (so no class loss when `nc <= 1`).
    pub(crate) fn losses(&self, config: &Config) -> LayerLosses {
        let class_terms = self.rows * classes_scored(config.nc);
        LayerLosses {
            hard: mean(
                self.hard,
                hard_cells(config.assigner, self.counts, self.cells),
            ),
            soft: mean(self.soft, soft_cells(config.assigner, self.counts)),
            boxes: mean(self.boxes, self.rows as u64),
            classes: mean(self.classes, class_terms as u64),
        }
    }
}
