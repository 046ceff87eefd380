//! The edge mix: a table of small cases (`ROWS`) that together cover every rule of the spec,
//! and [`edge_cases`], which turns each row into a [`Case`] with seeded predictions.

use ndarray::{Array2, Array3};

use super::random::{describe, quantize_coord, random_predictions, rng_for};
use crate::case::Case;
use crate::config::{
    Assigner, Ciou, Config, Distance, Hyp, Overlap, Score, SoftLoss, yolov5s_anchors,
};
use crate::inputs::{Inputs, Prediction};

/// The anchors of a row.
#[derive(Clone, Copy)]
enum Anchors {
    /// The YOLOv5s anchors (three layers of three).
    Yolov5s,
    /// Per layer, `(w, h)` of each anchor in grid units.
    Grid(&'static [&'static [(f64, f64)]]),
}

/// One case of the edge mix before its predictions are drawn. A row is the base row it
/// starts from ([`SOFT`], [`YOLOV5`], [`YOLOV5S`]) with the fields that make it an edge.
struct Row {
    /// The case's key: the start of its name and its file stem.
    key: &'static str,
    /// What the case exercises.
    why: &'static str,
    anchors: Anchors,
    nc: usize,
    assigner: Assigner,
    distance: Distance,
    score: Score,
    soft_loss: SoftLoss,
    overlap: Overlap,
    autobalance: bool,
    ciou: Ciou,
    hyp: Hyp,
    /// `(ny, nx)` of each layer.
    grids: &'static [(usize, usize)],
    batch: usize,
    /// Target rows `(image, class, x, y, w, h)`, before [`quantize_coord`].
    targets: &'static [[f64; 6]],
    /// Logits of magnitude 40 instead of standard normal ones.
    saturate: bool,
}

/// The spec's default `hyp`.
const HYP: Hyp = Hyp::DEFAULT;

/// Three anchors for an 8x8 grid (grid units): boxes of 1 to 12 cells match at least one.
const A8: &[(f64, f64)] = &[(1.5, 1.5), (3.0, 2.0), (2.0, 4.0)];

/// Anchors of 8 to 12 cells, for boxes larger than the 8x8 grid.
const LARGE: Anchors = Anchors::Grid(&[&[(9.0, 9.0), (12.0, 9.0), (8.0, 11.0)]]);

/// The grids of a 64x64 image at strides 8, 16, 32.
const G64: &[(usize, usize)] = &[(8, 8), (4, 4), (2, 2)];

/// The base of most rows: the soft assigner with spec defaults, one 8x8 layer, 3 classes,
/// 2 images, no targets.
const SOFT: Row = Row {
    key: "",
    why: "",
    anchors: Anchors::Grid(&[A8]),
    nc: 3,
    assigner: Assigner::Soft,
    distance: Distance::CellIndex,
    score: Score::Gaussian { sigma: 1.0 },
    soft_loss: SoftLoss::Loss2,
    overlap: Overlap::LastWrite,
    autobalance: false,
    ciou: Ciou::V6,
    hyp: HYP,
    grids: &[(8, 8)],
    batch: 2,
    targets: &[],
    saturate: false,
};

/// [`SOFT`] with the YOLOv5 assigner.
const YOLOV5: Row = Row {
    assigner: Assigner::Yolov5,
    ..SOFT
};

/// [`SOFT`] with the YOLOv5s anchors on a 64x64 image (three layers).
const YOLOV5S: Row = Row {
    anchors: Anchors::Yolov5s,
    grids: G64,
    ..SOFT
};

const fn power(n: u32) -> Score {
    Score::Power { n }
}

const fn gauss(sigma: f64) -> Score {
    Score::Gaussian { sigma }
}

/// A few ordinary boxes on two images (8x8 grid: 1.6 to 4 cells).
const ORDINARY: &[[f64; 6]] = &[
    [0.0, 0.0, 0.40, 0.55, 0.43, 0.30],
    [0.0, 2.0, 0.70, 0.25, 0.25, 0.35],
    [1.0, 1.0, 0.30, 0.60, 0.50, 0.40],
    [1.0, 0.0, 0.62, 0.42, 0.20, 0.22],
];

/// Boxes leaving the image on the left, right, top, bottom, and a centre outside.
const LEAVE_ALL: [[f64; 6]; 5] = [
    [0.0, 0.0, 0.05, 0.50, 0.40, 0.30],
    [0.0, 1.0, 0.95, 0.40, 0.40, 0.30],
    [1.0, 2.0, 0.50, 0.04, 0.30, 0.50],
    [1.0, 0.0, 0.45, 0.97, 0.30, 0.45],
    [1.0, 1.0, -0.05, -0.03, 0.30, 0.30],
];

/// Centres exactly on 0 and 1.
const XY01: &[[f64; 6]] = &[
    [0.0, 0.0, 0.0, 0.0, 0.30, 0.30],
    [0.0, 1.0, 1.0, 1.0, 0.30, 0.30],
    [1.0, 2.0, 0.0, 1.0, 0.25, 0.40],
    [1.0, 0.0, 1.0, 0.0, 0.40, 0.25],
    [1.0, 1.0, 0.5, 0.0, 0.30, 0.30],
    [1.0, 1.0, 1.0, 0.5, 0.30, 0.30],
];

/// Two boxes of equal size (equal cell counts) overlapping, in both orders.
/// (Dyadic values: exact after quantize_coord; 4x4 cells each on the 8x8 grid.)
const EQUAL: &[[f64; 6]] = &[
    [0.0, 0.0, 0.40625, 0.40625, 0.40625, 0.40625],
    [0.0, 1.0, 0.53125, 0.5, 0.40625, 0.40625],
    [1.0, 1.0, 0.53125, 0.5, 0.40625, 0.40625],
    [1.0, 0.0, 0.40625, 0.40625, 0.40625, 0.40625],
];

/// Many overlapping boxes.
const CROWDED: &[[f64; 6]] = &[
    [0.0, 0.0, 0.30, 0.30, 0.50, 0.50],
    [0.0, 1.0, 0.45, 0.40, 0.30, 0.35],
    [0.0, 2.0, 0.50, 0.50, 0.20, 0.20],
    [0.0, 0.0, 0.60, 0.55, 0.45, 0.40],
    [0.0, 1.0, 0.35, 0.60, 0.25, 0.50],
    [1.0, 2.0, 0.50, 0.50, 0.60, 0.60],
    [1.0, 0.0, 0.50, 0.50, 0.30, 0.30],
];

/// Boxes larger than the image.
const LARGER: &[[f64; 6]] = &[
    [0.0, 0.0, 0.50, 0.45, 1.50, 1.25],
    [1.0, 1.0, 0.30, 0.70, 1.20, 1.40],
];

/// gx, gy = 3.25, 4.25 and gw = gh = 1.5: the corner cell (5, 4) has continuous d = 2.36.
const SMALL: &[[f64; 6]] = &[
    [0.0, 0.0, 0.40625, 0.53125, 0.1875, 0.1875],
    [1.0, 2.0, 0.71875, 0.28125, 0.15625, 0.21875],
];

/// The edge mix, in the order of its files.
#[rustfmt::skip]
const ROWS: &[Row] = &[
    Row { key: "default-3-layers", why: "YOLOv5s anchors on a 64x64 image, spec defaults",
        targets: ORDINARY, ..YOLOV5S },
    Row { key: "leave-left",
        why: "box ranges leaving the grid on the left (trunc toward zero), a centre outside",
        score: power(10), targets: &[LEAVE_ALL[0], LEAVE_ALL[4]], ..SOFT },
    Row { key: "leave-right", why: "box range beyond the last column (clamped duplicates)",
        score: gauss(1.0), targets: &[LEAVE_ALL[1]], ..SOFT },
    Row { key: "leave-top", why: "box range above the first row",
        score: power(10), targets: &[LEAVE_ALL[2], LEAVE_ALL[4]], ..SOFT },
    Row { key: "leave-bottom", why: "box range below the last row",
        score: power(4), targets: &[LEAVE_ALL[3]], ..SOFT },
    Row { key: "leave-all-sides-yolov5", why: "baseline: neighbour cells and clamping on every side",
        targets: &LEAVE_ALL, ..YOLOV5 },
    Row { key: "xy-exactly-0-and-1",
        why: "centres exactly on the image border (gi = nx is clamped)",
        score: power(10), targets: XY01, ..SOFT },
    Row { key: "xy-exactly-0-and-1-yolov5", why: "baseline with centres exactly on the border",
        targets: XY01, ..YOLOV5 },
    Row { key: "larger-than-grid",
        why: "boxes larger than the image: ranges wider than the grid on both sides",
        anchors: LARGE, score: gauss(1.0), targets: LARGER, ..SOFT },
    Row { key: "larger-than-grid-continuous-power",
        why: "boxes larger than the image, continuous distance, power score",
        anchors: LARGE, distance: Distance::Continuous, score: power(10), targets: LARGER,
        ..SOFT },
    Row { key: "equal-cells-last-write",
        why: "equal cell counts overlapping: the stable order decides",
        score: power(10), targets: EQUAL, ..SOFT },
    Row { key: "equal-cells-max", why: "equal cell counts overlapping with overlap = max",
        score: power(10), overlap: Overlap::Max, targets: EQUAL, ..SOFT },
    Row { key: "empty-targets", why: "no targets at all: every cell a hard negative", ..SOFT },
    Row { key: "empty-targets-yolov5", why: "baseline with no targets", ..YOLOV5 },
    Row { key: "layer-without-matches",
        why: "a tiny box matches layer 0 only; layers 1 and 2 have no rows",
        targets: &[[0.0, 1.0, 0.40, 0.60, 0.05, 0.06], [1.0, 2.0, 0.70, 0.20, 0.05, 0.06]],
        ..YOLOV5S },
    Row { key: "power-d-above-2-continuous",
        why: "continuous distance, power score: corner cells with d > 2 are skipped",
        distance: Distance::Continuous, score: power(2), targets: SMALL, ..SOFT },
    // Quarter-cell boxes straddling cell corners: d up to 2.25; the second box puts a cell at
    // d = 2 (the boundary, kept: score 1).
    Row { key: "power-d-above-2-diagonal",
        why: "diagonal distance, power score: cells with d > 2 are skipped",
        anchors: Anchors::Grid(&[&[(0.3, 0.3)]]), distance: Distance::Diagonal, score: power(4),
        targets: &[[0.0, 0.0, 0.4921875, 0.4921875, 0.03125, 0.03125],
                   [1.0, 1.0, 0.25, 0.75, 0.03125, 0.03125]],
        ..SOFT },
    Row { key: "gaussian-tiny-sigma-underflow",
        why: "sigma 0.0105: scores underflow to subnormals (d = 0.4) and to exactly 0 inside boxes",
        score: gauss(0.0105), targets: ORDINARY, ..SOFT },
    Row { key: "gaussian-tiny-sigma-continuous", why: "sigma 0.05 with the continuous distance",
        distance: Distance::Continuous, score: gauss(0.05), targets: ORDINARY, ..SOFT },
    Row { key: "distance-cell-index", why: "cell_index distance, gaussian 0.5",
        score: gauss(0.5), targets: ORDINARY, ..SOFT },
    Row { key: "distance-continuous", why: "continuous distance, gaussian 0.5",
        distance: Distance::Continuous, score: gauss(0.5), targets: ORDINARY, ..SOFT },
    Row { key: "distance-diagonal", why: "diagonal distance, gaussian 0.5",
        distance: Distance::Diagonal, score: gauss(0.5), targets: ORDINARY, ..SOFT },
    Row { key: "score-power-0", why: "power n = 0: 0^0 = 1, every enumerated cell positive",
        score: power(0), targets: ORDINARY, ..SOFT },
    Row { key: "score-power-2", why: "power n = 2", score: power(2), targets: ORDINARY, ..SOFT },
    Row { key: "score-power-10", why: "power n = 10: cells at d = 1 exactly are hard negatives",
        score: power(10), targets: ORDINARY, ..SOFT },
    Row { key: "score-gaussian-2", why: "gaussian sigma 2",
        score: gauss(2.0), targets: ORDINARY, ..SOFT },
    Row { key: "loss1-gamma-0", why: "soft loss1 with gamma 0",
        soft_loss: SoftLoss::Loss1 { gamma: 0.0 }, targets: ORDINARY, ..SOFT },
    Row { key: "loss1-gamma-1", why: "soft loss1 with gamma 1 (the published loss1)",
        soft_loss: SoftLoss::Loss1 { gamma: 1.0 }, targets: ORDINARY, ..SOFT },
    Row { key: "loss1-gamma-2.5", why: "soft loss1 with gamma 2.5",
        score: power(2), soft_loss: SoftLoss::Loss1 { gamma: 2.5 }, targets: ORDINARY, ..SOFT },
    Row { key: "loss2", why: "soft loss2 (the default)", targets: ORDINARY, ..SOFT },
    Row { key: "loss3", why: "soft loss3",
        soft_loss: SoftLoss::Loss3, targets: ORDINARY, ..SOFT },
    Row { key: "overlap-last-write-crowded", why: "many overlapping boxes, last write wins",
        score: gauss(1.0), targets: CROWDED, ..SOFT },
    Row { key: "overlap-max-crowded", why: "many overlapping boxes, overlap = max",
        score: gauss(1.0), overlap: Overlap::Max, targets: CROWDED, ..SOFT },
    Row { key: "focal", why: "focal loss (fl_gamma 1.5) on hard cells and classes",
        hyp: Hyp { fl_gamma: 1.5, ..HYP }, targets: ORDINARY, ..SOFT },
    Row { key: "focal-yolov5", why: "baseline with focal loss",
        hyp: Hyp { fl_gamma: 1.5, ..HYP }, targets: ORDINARY, ..YOLOV5 },
    Row { key: "label-smoothing", why: "label smoothing 0.1 on the class targets",
        hyp: Hyp { label_smoothing: 0.1, ..HYP }, targets: ORDINARY, ..SOFT },
    Row { key: "pos-weights", why: "obj_pw 2.5 and cls_pw 0.6",
        hyp: Hyp { obj_pw: 2.5, cls_pw: 0.6, ..HYP }, targets: ORDINARY, ..SOFT },
    Row { key: "nc-1", why: "one class: no class loss", nc: 1,
        targets: &[[0.0, 0.0, 0.40, 0.55, 0.43, 0.30], [1.0, 0.0, 0.30, 0.60, 0.50, 0.40]],
        ..SOFT },
    Row { key: "autobalance",
        why: "autobalance over three layers (normalised by the stride-16 layer)",
        autobalance: true, targets: ORDINARY, ..YOLOV5S },
    Row { key: "autobalance-one-layer", why: "autobalance with one layer (normalised by layer 0)",
        autobalance: true, targets: ORDINARY, ..SOFT },
    Row { key: "anchor-t-boundary",
        why: "ratios exactly anchor_t (rejected, strict), just below (kept), zero sizes (never kept)",
        anchors: Anchors::Grid(&[&[(2.0, 2.0)]]),
        targets: &[[0.0, 0.0, 0.50, 0.50, 1.00, 0.25],
                   [0.0, 1.0, 0.50, 0.50, 0.0625, 0.25],
                   [0.0, 2.0, 0.40, 0.40, 0.96875, 0.25],
                   [1.0, 0.0, 0.50, 0.50, 0.0, 0.25],
                   [1.0, 1.0, 0.50, 0.50, 0.25, 0.0]],
        ..SOFT },
    Row { key: "cell-boundaries", why: "centres and box edges exactly on cell boundaries",
        score: power(2),
        targets: &[[0.0, 0.0, 0.50, 0.50, 0.25, 0.25],
                   [0.0, 1.0, 0.25, 0.75, 0.50, 0.25],
                   [1.0, 2.0, 0.375, 0.625, 0.25, 0.50]],
        ..SOFT },
    Row { key: "saturated-logits",
        why: "logits of magnitude 40: saturated sigmoids, the 1e-6 guards",
        saturate: true, targets: ORDINARY, ..SOFT },
    Row { key: "saturated-logits-yolov5", why: "baseline with saturated logits",
        saturate: true, targets: ORDINARY, ..YOLOV5 },
    Row { key: "three-images", why: "boxes on three images, the same box on two of them",
        batch: 3,
        targets: &[[0.0, 0.0, 0.40, 0.55, 0.43, 0.30],
                   [2.0, 0.0, 0.40, 0.55, 0.43, 0.30],
                   [2.0, 1.0, 0.70, 0.25, 0.25, 0.35]],
        ..SOFT },
    Row { key: "nonsquare-grid", why: "a 4x8 grid (rows differ from columns)",
        score: gauss(1.0), grids: &[(4, 8)], targets: ORDINARY, ..SOFT },
    Row { key: "two-layers-one-anchor", why: "nl = 2 (balance 4, 1), na = 1",
        anchors: Anchors::Grid(&[&[(3.0, 3.0)], &[(1.5, 1.5)]]), grids: &[(16, 16), (8, 8)],
        targets: ORDINARY, ..SOFT },
    Row { key: "five-layers", why: "nl = 5 (balance 4, 1, 0.25, 0.06, 0.02), a 1x1 layer",
        anchors: Anchors::Grid(&[&[(3.0, 3.0)], &[(2.0, 2.0)], &[(1.0, 1.0)], &[(0.6, 0.6)],
                                 &[(0.4, 0.4)]]),
        autobalance: true, grids: &[(16, 16), (8, 8), (4, 4), (2, 2), (1, 1)],
        targets: ORDINARY, ..SOFT },
    Row { key: "ciou-v7", why: "YOLOv5 v7.0's CIoU (sizes as given) in the box loss",
        ciou: Ciou::V7, targets: ORDINARY, ..YOLOV5S },
    Row { key: "ciou-v7-yolov5", why: "YOLOv5 v7.0's CIoU as the YOLOv5 assigner's objectness target",
        ciou: Ciou::V7, targets: ORDINARY, anchors: Anchors::Yolov5s, grids: G64, ..YOLOV5 },
];

impl Anchors {
    fn array(self) -> Array3<f64> {
        match self {
            Anchors::Yolov5s => yolov5s_anchors(),
            Anchors::Grid(layers) => {
                let na = layers[0].len();
                let mut a = Array3::zeros((layers.len(), na, 2));
                for (l, row) in layers.iter().enumerate() {
                    for (k, &(w, h)) in row.iter().enumerate() {
                        a[[l, k, 0]] = w;
                        a[[l, k, 1]] = h;
                    }
                }
                a
            }
        }
    }
}

impl Row {
    /// The case of row number `k`: its configuration, its targets quantized with
    /// [`quantize_coord`], predictions drawn from stream `2^32 + k` of `seed` (objectness
    /// shifted by -2), saturated to ±40 when the row asks.
    fn case(&self, seed: u64, k: usize) -> Case {
        let config = Config {
            nc: self.nc,
            anchors: self.anchors.array(),
            hyp: self.hyp,
            assigner: self.assigner,
            distance: self.distance,
            score: self.score,
            soft_loss: self.soft_loss,
            overlap: self.overlap,
            autobalance: self.autobalance,
            ciou: self.ciou,
        };
        let mut rng = rng_for(seed, (1 << 32) + k as u64);
        let mut targets = Array2::zeros((self.targets.len(), 6));
        for (r, row) in self.targets.iter().enumerate() {
            for (c, &v) in row.iter().enumerate() {
                targets[[r, c]] = if c >= 2 { quantize_coord(v) } else { v };
            }
        }
        let mut predictions = random_predictions(
            &mut rng,
            self.batch,
            config.na(),
            self.grids,
            config.nc,
            -2.0,
        );
        if self.saturate {
            for p in &mut predictions {
                if let Prediction::F32(a) = p {
                    a.mapv_inplace(|v| if v >= 0.0 { 40.0 } else { -40.0 });
                }
            }
        }
        Case {
            name: format!("{}: {} ({})", self.key, self.why, describe(&config)),
            config,
            inputs: Inputs {
                targets,
                predictions,
            },
            expected: None,
            warnings: Vec::new(),
        }
    }
}

/// The edge mix: a fixed list of small cases (names stable, predictions drawn from `seed`)
/// that together cover every rule of the spec: box ranges leaving each side, centres exactly
/// on 0 and 1, boxes larger than the grid, equal cell counts overlapping, empty targets,
/// layers without matches, power cells with `d > 2`, Gaussian underflow, each assigner,
/// distance, score, soft loss and overlap, focal loss, label smoothing, positive weights,
/// `nc = 1`, autobalance, `anchor_t` boundaries, cell boundaries, saturated logits, 1, 2 and
/// 5 layers, a non-square grid. Each case's name starts with its key (e.g. `leave-left`)
/// followed by what it exercises.
pub fn edge_cases(seed: u64) -> Vec<Case> {
    ROWS.iter()
        .enumerate()
        .map(|(k, row)| row.case(seed, k))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assign;
    use crate::assign::matching::match_layer;
    use crate::assign::score::{CellRange, distance};
    use crate::casegen::write::stem;
    use crate::eval::evaluate;
    use crate::options::{Backend, EvalOptions};
    use crate::targets::{Grid, SoftBuilder};

    fn evaluate_case(
        c: &Case,
        opts: &EvalOptions,
    ) -> crate::error::Result<crate::result::Evaluation> {
        evaluate(&c.config, &c.inputs, opts)
    }

    fn edge(key: &str) -> Case {
        edge_cases(5)
            .into_iter()
            .find(|c| stem(c) == key)
            .unwrap_or_else(|| panic!("no edge case {key}"))
    }

    /// Every matched row of every layer with its cell range.
    fn ranges(c: &Case) -> Vec<(usize, assign::matching::Matched, CellRange, Grid)> {
        let grids = Grid::of(&c.config, &c.inputs.view());
        let mut out = Vec::new();
        for (l, g) in grids.into_iter().enumerate() {
            for m in match_layer(&c.config, c.inputs.targets.view(), l, g) {
                out.push((l, m, CellRange::of(&m), g));
            }
        }
        out
    }

    #[test]
    fn edge_mix_evaluates_and_names_are_unique() {
        let cases = edge_cases(1);
        let mut stems: Vec<String> = cases.iter().map(stem).collect();
        stems.sort();
        stems.dedup();
        assert_eq!(stems.len(), cases.len());
        for c in &cases {
            let e = evaluate_case(c, &EvalOptions::default())
                .unwrap_or_else(|e| panic!("{}: {e}", c.name));
            assert!(e.loss.is_finite(), "{}", c.name);
            // Loop and vectorised builders agree on every edge case.
            let l = evaluate_case(
                c,
                &EvalOptions::with_backend(Backend::Cpu(SoftBuilder::Loop)),
            )
            .unwrap();
            assert_eq!(l, e, "{}", c.name);
        }
    }

    #[test]
    fn boxes_leave_each_side() {
        let side = |key: &str, f: &dyn Fn(&CellRange, &Grid) -> bool| {
            assert!(
                ranges(&edge(key)).iter().any(|(_, _, r, g)| f(r, g)),
                "{key}"
            );
        };
        side("leave-left", &|r, _| r.gi1 < 0);
        side("leave-right", &|r, g| r.gi1 + r.width > g.nx as i64);
        side("leave-top", &|r, _| r.gj1 < 0);
        side("leave-bottom", &|r, g| r.gj1 + r.height > g.ny as i64);
        side("larger-than-grid", &|r, g| {
            r.gi1 < 0 && r.gi1 + r.width > g.nx as i64 && r.gj1 < 0
        });
        let all = edge("leave-all-sides-yolov5");
        assert_eq!(all.config.assigner, Assigner::Yolov5);
        let t = &all.inputs.targets;
        let out = |c: usize, sign: f64| {
            t.outer_iter()
                .any(|r| (r[c] + sign * r[c + 2] / 2.0 - 0.5) * sign > 0.5)
        };
        assert!(out(2, -1.0) && out(2, 1.0) && out(3, -1.0) && out(3, 1.0));
    }

    #[test]
    fn exact_borders_and_boundaries() {
        let c = edge("xy-exactly-0-and-1");
        let t = &c.inputs.targets;
        for v in [0.0, 1.0] {
            assert!(t.column(2).iter().any(|&x| x == v) && t.column(3).iter().any(|&y| y == v));
        }
        // A centre at x = 1 has gi = nx, clamped to nx - 1.
        assert!(ranges(&c).iter().any(|(_, _, r, g)| r.gi == g.nx as i64));
        let b = ranges(&edge("cell-boundaries"));
        assert!(
            b.iter()
                .all(|(_, m, _, _)| m.gx.fract() == 0.0 || (m.gx - m.gw / 2.0).fract() == 0.0)
        );
    }

    #[test]
    fn equal_cell_counts_overlap() {
        for key in ["equal-cells-last-write", "equal-cells-max"] {
            let r = ranges(&edge(key));
            let same = r.iter().enumerate().any(|(i, (l, a, x, _))| {
                r[i + 1..].iter().any(|(l2, b, y, _)| {
                    l == l2
                        && a.b == b.b
                        && a.a == b.a
                        && x.cells() == y.cells()
                        && (x.gi1 - y.gi1).abs() < x.width
                })
            });
            assert!(same, "{key}");
        }
    }

    #[test]
    fn empty_targets_and_layers_without_rows() {
        for key in ["empty-targets", "empty-targets-yolov5"] {
            let e = evaluate_case(&edge(key), &EvalOptions::default()).unwrap();
            assert!(
                e.layers
                    .iter()
                    .all(|l| l.rows.is_empty() && l.counts.positive == 0)
            );
        }
        let e = evaluate_case(&edge("layer-without-matches"), &EvalOptions::default()).unwrap();
        assert!(!e.layers[0].rows.is_empty());
        assert!(e.layers[1].rows.is_empty() && e.layers[2].rows.is_empty());
    }

    #[test]
    fn power_cells_beyond_d_2_are_present() {
        for key in ["power-d-above-2-continuous", "power-d-above-2-diagonal"] {
            let c = edge(key);
            let far = ranges(&c).iter().any(|(_, m, r, g)| {
                (0..r.width).any(|dw| {
                    (0..r.height).any(|dh| {
                        distance(c.config.distance, m, r, r.gj1 + dh, r.gi1 + dw, *g) > 2.0
                    })
                })
            });
            assert!(far, "{key}");
        }
        // The diagonal case also has a cell at d = 2 exactly: kept, with score (2 - 1)^4 = 1.
        let c = edge("power-d-above-2-diagonal");
        let e = evaluate_case(&c, &EvalOptions::default()).unwrap();
        let (l, m, r, g) = ranges(&c)
            .into_iter()
            .find(|(_, m, _, _)| m.b == 1)
            .unwrap();
        assert_eq!(distance(c.config.distance, &m, &r, 5, 1, g), 2.0);
        assert_eq!(e.layers[l].tobj[[1, 0, 5, 1]], 1.0);
    }

    #[test]
    fn tiny_sigma_underflows_inside_boxes() {
        let c = edge("gaussian-tiny-sigma-underflow");
        let e = evaluate_case(&c, &EvalOptions::default()).unwrap();
        let t = &e.layers[0].tobj;
        let mut zero_inside = false;
        let mut subnormal = false;
        for (_, m, r, _) in ranges(&c) {
            for dw in 0..r.width {
                for dh in 0..r.height {
                    let (j, i) = (r.gj1 + dh, r.gi1 + dw);
                    if (0..8).contains(&j) && (0..8).contains(&i) {
                        let v = t[[m.b, m.a, j as usize, i as usize]];
                        zero_inside |= v == 0.0;
                        subnormal |= v > 0.0 && v < f64::MIN_POSITIVE;
                    }
                }
            }
        }
        assert!(zero_inside && subnormal);
    }

    #[test]
    fn options_of_the_edge_mix() {
        let cases = edge_cases(0);
        let has = |f: &dyn Fn(&Config) -> bool| cases.iter().any(|c| f(&c.config));
        assert!(has(&|c| c.assigner == Assigner::Yolov5));
        for d in [
            Distance::CellIndex,
            Distance::Continuous,
            Distance::Diagonal,
        ] {
            assert!(has(&|c| c.distance == d && c.assigner == Assigner::Soft));
        }
        for n in [0, 2, 4, 10] {
            assert!(has(&|c| c.score == Score::Power { n }));
        }
        assert!(has(
            &|c| matches!(c.score, Score::Gaussian { sigma } if sigma < 0.02)
        ));
        for l in [
            SoftLoss::Loss1 { gamma: 0.0 },
            SoftLoss::Loss1 { gamma: 1.0 },
            SoftLoss::Loss2,
            SoftLoss::Loss3,
        ] {
            assert!(has(&|c| c.soft_loss == l));
        }
        assert!(has(&|c| c.overlap == Overlap::Max));
        assert!(has(&|c| c.hyp.fl_gamma > 0.0));
        assert!(has(&|c| c.hyp.label_smoothing > 0.0));
        assert!(has(&|c| c.hyp.obj_pw != 1.0 && c.hyp.cls_pw != 1.0));
        assert!(has(&|c| c.nc == 1));
        assert!(has(&|c| c.autobalance && c.nl() == 3));
        assert!(has(&|c| c.autobalance && c.nl() == 1));
        for nl in [1, 2, 3, 5] {
            assert!(has(&|c| c.nl() == nl));
        }
        // power n = 10 puts a cell at d = 1 exactly: a hard negative inside a box.
        let e = evaluate_case(&edge("score-power-10"), &EvalOptions::default()).unwrap();
        assert!(e.layers[0].counts.soft > 0);
        // anchor_t boundary: of five boxes only the one just below the ratio is kept.
        let e = evaluate_case(&edge("anchor-t-boundary"), &EvalOptions::default()).unwrap();
        assert_eq!(e.layers[0].rows.len(), 1);
        assert_eq!(e.layers[0].rows[0].class, 2);
    }
}
