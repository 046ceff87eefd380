//! Seeded random cases for the test suites: small grids, every option, boxes that leave the
//! grid on every side, exact 0 and 1 coordinates, zero sizes, duplicated boxes (equal cell
//! counts), empty target lists and layers without matches.
#![allow(dead_code)]

use ndarray::{Array2, Array3, Array5};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use soft_objectness::{
    Assigner, Config, Distance, Hyp, Inputs, Overlap, Prediction, Score, SoftLoss,
};

pub fn rng(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}

fn pick<T: Copy>(rng: &mut StdRng, xs: &[T]) -> T {
    xs[rng.random_range(0..xs.len())]
}

/// A random configuration covering every option.
pub fn random_config(rng: &mut StdRng, nl: usize, na: usize, nc: usize) -> Config {
    let mut anchors = Array3::zeros((nl, na, 2));
    for v in anchors.iter_mut() {
        *v = pick(rng, &[0.3, 0.7, 1.0, 1.5, 2.5, 4.0]) * rng.random_range(0.8..1.25);
    }
    Config {
        nc,
        anchors,
        hyp: Hyp {
            box_gain: 0.05,
            cls: 0.5,
            cls_pw: pick(rng, &[1.0, 1.0, 0.7, 2.0]),
            obj: 1.0,
            obj_pw: pick(rng, &[1.0, 1.0, 0.6, 1.8]),
            anchor_t: pick(rng, &[2.0, 4.0, 4.0, 20.0, 1e3]),
            fl_gamma: pick(rng, &[0.0, 0.0, 1.5, 0.5]),
            label_smoothing: pick(rng, &[0.0, 0.0, 0.1]),
        },
        assigner: pick(
            rng,
            &[
                Assigner::Soft,
                Assigner::Soft,
                Assigner::Soft,
                Assigner::Yolov5,
            ],
        ),
        distance: pick(
            rng,
            &[
                Distance::CellIndex,
                Distance::Continuous,
                Distance::Diagonal,
            ],
        ),
        score: if rng.random_bool(0.5) {
            Score::Power {
                n: pick(rng, &[0, 2, 4, 10]),
            }
        } else {
            Score::Gaussian {
                sigma: pick(rng, &[0.05, 0.5, 1.0, 3.0]),
            }
        },
        soft_loss: pick(
            rng,
            &[
                SoftLoss::Loss1 { gamma: 1.0 },
                SoftLoss::Loss1 { gamma: 0.5 },
                SoftLoss::Loss2,
                SoftLoss::Loss3,
            ],
        ),
        overlap: pick(rng, &[Overlap::LastWrite, Overlap::LastWrite, Overlap::Max]),
        autobalance: rng.random_bool(0.3),
    }
}

/// One coordinate: mostly inside, sometimes outside on either side, sometimes exactly 0 or 1.
fn coord(rng: &mut StdRng) -> f64 {
    match rng.random_range(0..10) {
        0 => 0.0,
        1 => 1.0,
        2 => rng.random_range(-0.4..0.0),
        3 => rng.random_range(1.0..1.4),
        _ => rng.random_range(0.0..1.0),
    }
}

/// One size: mostly moderate, sometimes zero, tiny, or larger than the image.
fn size(rng: &mut StdRng) -> f64 {
    match rng.random_range(0..12) {
        0 => 0.0,
        1 => rng.random_range(1.0..1.8),
        2 => rng.random_range(0.001..0.05),
        _ => rng.random_range(0.05..0.9),
    }
}

/// Random targets; some boxes duplicated (same size, other place) so equal cell counts occur.
pub fn random_targets(rng: &mut StdRng, bs: usize, nc: usize, nt: usize) -> Array2<f64> {
    let mut t = Array2::zeros((nt, 6));
    for k in 0..nt {
        let (w, h) = if k > 0 && rng.random_bool(0.25) {
            (t[[k - 1, 4]], t[[k - 1, 5]])
        } else {
            (size(rng), size(rng))
        };
        let row = [
            rng.random_range(0..bs) as f64,
            rng.random_range(0..nc) as f64,
            coord(rng),
            coord(rng),
            w,
            h,
        ];
        for (c, v) in row.into_iter().enumerate() {
            t[[k, c]] = v;
        }
    }
    t
}

/// Random f64 logits for the given grids.
pub fn random_predictions(
    rng: &mut StdRng,
    bs: usize,
    na: usize,
    nc: usize,
    grids: &[(usize, usize)],
    scale: f64,
) -> Vec<Prediction> {
    grids
        .iter()
        .map(|&(ny, nx)| {
            let mut p = Array5::<f64>::zeros((bs, na, ny, nx, 5 + nc));
            for v in p.iter_mut() {
                *v = rng.random_range(-1.0..1.0) * scale;
            }
            Prediction::F64(p)
        })
        .collect()
}

/// A whole random case on small grids.
pub fn random_case(seed: u64) -> (Config, Inputs) {
    let mut rng = rng(seed);
    let nl = rng.random_range(1..=3);
    let na = rng.random_range(1..=3);
    let nc = rng.random_range(1..=4);
    let bs = rng.random_range(1..=3);
    let grids: Vec<(usize, usize)> = (0..nl)
        .map(|_| (rng.random_range(1..=9), rng.random_range(1..=9)))
        .collect();
    let config = random_config(&mut rng, nl, na, nc);
    let nt = pick(&mut rng, &[0, 1, 2, 3, 5, 8, 12]);
    let targets = random_targets(&mut rng, bs, nc, nt);
    let predictions = random_predictions(&mut rng, bs, na, nc, &grids, 2.0);
    (
        config,
        Inputs {
            targets,
            predictions,
        },
    )
}

/// Bitwise equality of two f64 slices, with the first difference on failure.
pub fn assert_bits_eq(got: &[f64], want: &[f64], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            g.to_bits() == w.to_bits(),
            "{what}: index {i}: got {g:e}, expected {w:e}"
        );
    }
}
