//! Seeded random cases on small grids: every option (the configuration space
//! [`ConfigSpace::EVERY_OPTION`] of `casegen`), boxes that leave the grid on every side, exact
//! 0 and 1 coordinates, zero sizes, duplicated boxes (equal cell counts), empty target lists and
//! layers without matches.

use ndarray::{Array2, Array5};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use soft_objectness::internals::casegen::{ConfigSpace, random_config};
use soft_objectness::{Config, Inputs, Prediction};

pub fn rng(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
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

/// Random f64 logits, uniform in `[-scale, scale)`, for the given grids.
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

/// A whole random case on small grids: 1 to 3 layers of 1 to 9 cells a side, 1 to 3 anchors,
/// 1 to 4 classes, 1 to 3 images, 0 to 12 targets.
pub fn random_case(seed: u64) -> (Config, Inputs) {
    let mut rng = rng(seed);
    let nl = rng.random_range(1..=3);
    let na = rng.random_range(1..=3);
    let nc = rng.random_range(1..=4);
    let bs = rng.random_range(1..=3);
    let grids: Vec<(usize, usize)> = (0..nl)
        .map(|_| (rng.random_range(1..=9), rng.random_range(1..=9)))
        .collect();
    let config = random_config(&mut rng, &ConfigSpace::EVERY_OPTION, nl, na, nc);
    let nt = [0, 1, 2, 3, 5, 8, 12][rng.random_range(0..7)];
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
