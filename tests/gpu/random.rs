//! Random cases of every option against the oracle.

use ndarray::{Array2, Array5};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Normal};
use soft_objectness::gpu::GpuContext;
use soft_objectness::internals::casegen::{ConfigSpace, random_config};
use soft_objectness::{Config, EvalOptions, Inputs, Prediction};

use crate::common::{Worst, check};

fn normal(rng: &mut StdRng, mean: f64, sd: f64) -> f64 {
    Normal::new(mean, sd).unwrap().sample(rng)
}

/// One random case: any assigner, distance mode, score, soft loss, overlap rule, focal on
/// or off; boxes leaving the grid, zero-sized, piled on one another; empty layers.
pub(crate) fn random_case(rng: &mut StdRng) -> (Config, Inputs, EvalOptions) {
    let nl = rng.random_range(1..=3usize);
    let na = rng.random_range(1..=3usize);
    let bs = rng.random_range(1..=3usize);
    let nc = rng.random_range(1..=4usize);
    // The one random configuration generator, with this suite's space (every option, both
    // CIoU releases).
    let config = random_config(rng, &ConfigSpace::GPU_CHECK, nl, na, nc);
    let nt = rng.random_range(0..=14usize);
    let crowd = (rng.random_range(0.2..0.8), rng.random_range(0.2..0.8));
    let mut targets = Array2::zeros((nt, 6));
    for mut row in targets.outer_iter_mut() {
        let (x, y) = if rng.random_bool(0.4) {
            // Piled on one centre, for overlaps.
            (
                crowd.0 + normal(rng, 0.0, 0.03),
                crowd.1 + normal(rng, 0.0, 0.03),
            )
        } else {
            (rng.random_range(-0.3..1.3), rng.random_range(-0.3..1.3))
        };
        let w = if rng.random_bool(0.05) {
            0.0
        } else {
            rng.random_range(0.02..1.2)
        };
        let h = if rng.random_bool(0.05) {
            0.0
        } else {
            rng.random_range(0.02..1.2)
        };
        row.assign(&ndarray::arr1(&[
            rng.random_range(0..bs) as f64,
            rng.random_range(0..nc) as f64,
            x,
            y,
            w,
            h,
        ]));
    }
    let f64_preds = rng.random_bool(0.3);
    let spread = if rng.random_bool(0.1) { 8.0 } else { 1.5 };
    let predictions = (0..nl)
        .map(|_| {
            let (ny, nx) = (rng.random_range(1..=12usize), rng.random_range(1..=12usize));
            let p = Array5::from_shape_fn((bs, na, ny, nx, 5 + nc), |(_, _, _, _, ch)| {
                normal(rng, if ch == 4 { -2.0 } else { 0.0 }, spread)
            });
            if f64_preds {
                Prediction::F64(p)
            } else {
                Prediction::F32(p.mapv(|v| v as f32))
            }
        })
        .collect();
    let balance = if rng.random_bool(0.2) {
        Some((0..nl).map(|_| rng.random_range(0.1..4.0)).collect())
    } else {
        None
    };
    (
        config,
        Inputs {
            targets,
            predictions,
        },
        {
            let mut opts = EvalOptions::default();
            opts.balance = balance;
            opts
        },
    )
}

pub(crate) fn random_cases_match_the_oracle(ctx: &GpuContext) {
    let mut rng = StdRng::seed_from_u64(0x6b0);
    let mut worst = Worst::default();
    for i in 0..400 {
        let (config, inputs, opts) = random_case(&mut rng);
        worst.merge(check(
            ctx,
            &format!("random case {i} ({config:?})"),
            &config,
            &inputs,
            &opts,
            true,
        ));
    }
    worst.print("random cases");
}
