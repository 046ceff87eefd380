//! Small cases computed by hand from the formulas of the spec, so a reader can follow them.

mod common;

use common::evaluate_legal;
use ndarray::{Array3, Array5, array};
use soft_objectness::Grid;
use soft_objectness::internals::assign::matching::Matched;
use soft_objectness::internals::assign::score::{CellRange, distance};
use soft_objectness::internals::loss::iou::EPS as IOU_EPS;
use soft_objectness::{Config, Distance, Evaluation, Inputs, Prediction, Score, SoftLoss};

const LN2: f64 = std::f64::consts::LN_2;

/// Within 1e-14 relative: stricter than every `conformance::Tolerances` preset (F64 allows
/// 1e-12), since these values follow the spec's formulas in a few f64 operations.
fn close(got: f64, want: f64, what: &str) {
    assert!(
        (got - want).abs() <= 1e-14 * want.abs().max(1e-300),
        "{what}: got {got:e}, want {want:e}"
    );
}

/// The single layer's targets equal `want` exactly and its (positive, soft, negative) counts
/// equal `counts`.
fn assert_layer(e: &Evaluation, want: &[[f64; 4]; 4], counts: (u64, u64, u64)) {
    let tobj = &e.layers[0].tobj;
    for j in 0..4 {
        for i in 0..4 {
            assert_eq!(tobj[[0, 0, j, i]], want[j][i], "tobj at (cj {j}, ci {i})");
        }
    }
    let c = e.layers[0].counts;
    assert_eq!((c.positive, c.soft, c.negative), counts);
}

/// loss2 at p = 1/2 for target t (the logits are all zero).
fn loss2_at_half(t: f64) -> f64 {
    let cross = -t * (0.5f64 + 1e-6).ln() - (1.0 - t) * (0.5f64 + 1e-6).ln();
    let entropy = -t * (t + 1e-6).ln() - (1.0 - t) * (1.0 - t + 1e-6).ln();
    cross - entropy
}

/// One 2x2-cell box centred on a 4x4 grid, Gaussian score (sigma 1), zero logits.
///
/// `x, y, w, h = 0.5, 0.5, 0.5, 0.5` gives `gx, gy, gw, gh = 2, 2, 2, 2`: centre cell (2, 2),
/// columns and rows `trunc(1)..=trunc(3)` = 1..=3. `cell_index` distances are
/// `sqrt((dy/1.5)^2 + (dx/1.5)^2)`: 2/3 beside the centre, `sqrt(8)/3` on the corners.
#[test]
fn one_box_on_a_4x4_grid() {
    let config = Config {
        nc: 1,
        anchors: Array3::from_elem((1, 1, 2), 2.0),
        ..Config::default()
    };
    let inputs = Inputs {
        targets: array![[0.0, 0.0, 0.5, 0.5, 0.5, 0.5]],
        predictions: vec![Prediction::F64(Array5::zeros((1, 1, 4, 4, 6)))],
    };
    let e = evaluate_legal(&config, &inputs);
    let side = (-((2.0f64 / 3.0) * (2.0 / 3.0)) / 2.0).exp(); // exp(-2/9)
    let d_corner = ((1.0f64 / 1.5) * (1.0 / 1.5) + (1.0 / 1.5) * (1.0 / 1.5)).sqrt();
    let corner = (-(d_corner * d_corner) / 2.0).exp(); // exp(-4/9)
    #[rustfmt::skip]
    let want = [
        [0.0, 0.0,    0.0,    0.0   ],
        [0.0, corner, side,   corner],
        [0.0, side,   1.0,    side  ],
        [0.0, corner, side,   corner],
    ];
    assert_layer(&e, &want, (1, 8, 7));

    // Objectness: every hard cell has BCE(0, t) = ln 2; soft cells loss2 at p = 1/2.
    let h = LN2;
    let s = (4.0 * loss2_at_half(side) + 4.0 * loss2_at_half(corner)) / 8.0;
    close(e.layers[0].hard_loss, h, "H");
    close(e.layers[0].soft_loss, s, "S");

    // Box: sigmoid(0) = 1/2 gives pbox = (0.5, 0.5, 2, 2); tbox = (2 - 2, 2 - 2, 2, 2).
    // Overlap 1.5 x 1.5, union 2*2 + 2*2 - 2.25, enclosing box 2.5 x 2.5, centres 0.5 apart in
    // x and y, equal aspect ratios (v = 0).
    let hh = 2.0 + IOU_EPS;
    let inter = 1.5 * 1.5;
    let iou = inter / (2.0 * hh + 2.0 * hh - inter + IOU_EPS);
    let rho2 = (1.0 + 1.0) / 4.0;
    let c2 = 2.5 * 2.5 + 2.5 * 2.5 + IOU_EPS;
    let ciou = iou - rho2 / c2;
    close(e.layers[0].box_loss, 1.0 - ciou, "1 - CIoU");

    // Totals: one layer, balance 4; nc = 1 so no class loss; batch of one.
    close(e.lbox, 0.05 * (1.0 - ciou), "lbox");
    close(e.lobj, 4.0 * (h + s), "lobj");
    assert_eq!(e.lcls, 0.0);
    close(e.loss, e.lbox + e.lobj, "loss");
}

/// Two boxes on a 4x4 grid, power score n = 2: truncation shortens a box at the top-left edge,
/// the smaller box is written later and wins the shared cell, and `d == 1` gives exact zeros.
///
/// Box A: `gx, gy, gw, gh = 0.5, 0.5, 2, 2`: centre (0, 0), range `trunc(-0.5)..=trunc(1.5)` =
/// 0..=1 (width 2, not centred). Distances `sqrt(dy^2 + dx^2)` (half-range 1): scores
/// `(d - 1)^2` = 1, 0, 0, `(sqrt 2 - 1)^2`.
/// Box B: `2.5, 2.5, 2, 2`: centre (2, 2), range 1..=3 (9 cells, written first), distances over
/// a half-range of 1.5: scores `(2/3 - 1)^2 = 1/9` beside the centre, `(sqrt(8)/3 - 1)^2` on
/// the corners. Cell (1, 1) is in both: A, written later, wins.
#[test]
fn two_boxes_power_score_on_a_4x4_grid() {
    let config = Config {
        nc: 1,
        anchors: Array3::from_elem((1, 1, 2), 2.0),
        score: Score::Power { n: 2 },
        soft_loss: SoftLoss::Loss2,
        ..Config::default()
    };
    let inputs = Inputs {
        targets: array![
            [0.0, 0.0, 0.125, 0.125, 0.5, 0.5],
            [0.0, 0.0, 0.625, 0.625, 0.5, 0.5]
        ],
        predictions: vec![Prediction::F64(Array5::zeros((1, 1, 4, 4, 6)))],
    };
    let e = evaluate_legal(&config, &inputs);
    let a_diag = ((1.0f64 + 1.0).sqrt() - 1.0) * ((1.0f64 + 1.0).sqrt() - 1.0);
    let third: f64 = 1.0 / 1.5;
    let d_corner = (third * third + third * third).sqrt();
    let b_corner = (d_corner - 1.0) * (d_corner - 1.0);
    let b_side = (third - 1.0) * (third - 1.0);
    #[rustfmt::skip]
    let want = [
        [1.0, 0.0,      0.0,      0.0     ],
        [0.0, a_diag,   b_side,   b_corner],
        [0.0, b_side,   1.0,      b_side  ],
        [0.0, b_corner, b_side,   b_corner],
    ];
    assert_layer(&e, &want, (2, 8, 6));
    close(e.layers[0].hard_loss, LN2, "H");
    let s =
        (loss2_at_half(a_diag) + 4.0 * loss2_at_half(b_side) + 3.0 * loss2_at_half(b_corner)) / 8.0;
    close(e.layers[0].soft_loss, s, "S");
}

/// The worked example of spec section 4 (one box on an 8x8 layer), to the table's 4 digits.
#[test]
fn spec_worked_example() {
    let m = Matched {
        b: 0,
        class: 0,
        a: 0,
        gx: 0.40 * 8.0,
        gy: 0.55 * 8.0,
        gw: 0.43 * 8.0,
        gh: 0.30 * 8.0,
    };
    let r = CellRange::of(&m);
    assert_eq!(
        (r.gj, r.gi, r.gi1, r.gj1, r.width, r.height),
        (4, 3, 1, 3, 4, 3)
    );
    let grid = Grid {
        bs: 1,
        na: 1,
        ny: 8,
        nx: 8,
    };
    // (cj, ci, d, gaussian, power n = 10) from the table.
    #[rustfmt::skip]
    let table = [
        (3, 1, 1.2019, 0.4857, 1.12e-7), (3, 2, 0.8333, 0.7066, 1.65e-8), (3, 3, 0.6667, 0.8007, 1.69e-5), (3, 4, 0.8333, 0.7066, 1.65e-8),
        (4, 1, 1.0000, 0.6065, 0.0),     (4, 2, 0.5000, 0.8825, 9.77e-4),                                   (4, 4, 0.5000, 0.8825, 9.77e-4),
        (5, 1, 1.2019, 0.4857, 1.12e-7), (5, 2, 0.8333, 0.7066, 1.65e-8), (5, 3, 0.6667, 0.8007, 1.69e-5), (5, 4, 0.8333, 0.7066, 1.65e-8),
    ];
    for (cj, ci, d_want, g_want, p_want) in table {
        let d = distance(Distance::CellIndex, &m, &r, cj, ci, grid);
        assert!((d - d_want).abs() < 5e-5, "d at ({cj}, {ci}): {d}");
        let g = soft_objectness::internals::assign::score::score(Score::Gaussian { sigma: 1.0 }, d)
            .unwrap();
        assert!((g - g_want).abs() < 5e-5, "gaussian at ({cj}, {ci}): {g}");
        let p =
            soft_objectness::internals::assign::score::score(Score::Power { n: 10 }, d).unwrap();
        let rel = if p_want == 0.0 {
            p
        } else {
            (p - p_want).abs() / p_want
        };
        assert!(rel < 5e-3, "power at ({cj}, {ci}): {p}");
    }
    // (4, 1) sits exactly at d = 1: a hard negative with the power score.
    assert_eq!(distance(Distance::CellIndex, &m, &r, 4, 1, grid), 1.0);
}
