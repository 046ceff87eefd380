//! The oracle's exact comparisons (cell classes) reproduced by the f32 shaders: adversarial
//! cases, the named cases of spec section 4, and the emulated f64 addition.

use ndarray::{Array2, Array3, Array5};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use soft_objectness::gpu::GpuContext;
use soft_objectness::internals::gpu as testing;
use soft_objectness::{
    Assigner, Config, Distance, EvalOptions, Hyp, Inputs, Overlap, Prediction, Score, SoftLoss,
    evaluate,
};

use crate::common::on_gpu;
use crate::common::{Tolerance, Worst, check, compare, one_box};

/// Cases on the edges of the exact comparisons: box coordinates on exact binary fractions
/// of a cell (so that `d` hits 0, 1 and 2 exactly) or a hair off them, scores that round to
/// 1 or underflow in f32 but not in f64, or underflow in f64. The cell classes must be the
/// oracle's; the values are compared where the f32 error budget holds (power `n <= 20`).
fn edge_case(rng: &mut StdRng) -> (Config, Inputs, bool) {
    let (ny, nx) = [(8, 8), (16, 16), (1, 9), (5, 1), (3, 7)][rng.random_range(0..5)];
    let score = match rng.random_range(0..8) {
        0 => Score::Power { n: 2 },
        1 => Score::Power { n: 10 },
        2 => Score::Power { n: 1000 },
        3 => Score::Power { n: 1_000_000 },
        4 => Score::Gaussian { sigma: 1e4 },
        5 => Score::Gaussian { sigma: 5e5 },
        6 => Score::Gaussian { sigma: 0.02 },
        _ => Score::Gaussian { sigma: 0.25 },
    };
    let values = !matches!(score, Score::Power { n } if n > 20);
    let config = Config {
        nc: 1,
        anchors: Array3::from_elem((1, 1, 2), 2.0),
        hyp: Hyp {
            anchor_t: 100.0,
            ..Hyp::default()
        },
        assigner: Assigner::Soft,
        distance: [
            Distance::CellIndex,
            Distance::Continuous,
            Distance::Diagonal,
        ][rng.random_range(0..3)],
        score,
        soft_loss: SoftLoss::Loss2,
        overlap: if rng.random_bool(0.5) {
            Overlap::Max
        } else {
            Overlap::LastWrite
        },
        autobalance: false,
        ciou: Default::default(),
    };
    let nt = rng.random_range(1..=5usize);
    let mut targets = Array2::zeros((nt, 6));
    for mut row in targets.outer_iter_mut() {
        // Grid units on sixteenths of a cell, sometimes a hair off.
        let q = |rng: &mut StdRng, lo: i32, hi: i32| {
            let v = f64::from(rng.random_range(lo..=hi)) / 16.0;
            if rng.random_bool(0.2) {
                v + [1e-12, -1e-12, 1e-9][rng.random_range(0..3)]
            } else {
                v
            }
        };
        let gx = q(rng, -24, 16 * nx as i32 + 24);
        let gy = q(rng, -24, 16 * ny as i32 + 24);
        let gw = q(rng, 2, 16 * nx as i32 + 32).abs().max(1.0 / 16.0);
        let gh = q(rng, 2, 16 * ny as i32 + 32).abs().max(1.0 / 16.0);
        row.assign(&ndarray::arr1(&[
            0.0,
            0.0,
            gx / nx as f64,
            gy / ny as f64,
            gw / nx as f64,
            gh / ny as f64,
        ]));
    }
    let p = Array5::from_shape_fn((1, 1, ny, nx, 6), |_| rng.random_range(-3.0f32..3.0));
    (
        config,
        Inputs {
            targets,
            predictions: vec![Prediction::F32(p)],
        },
        values,
    )
}

pub(crate) fn exact_comparisons_decide_like_the_oracle(ctx: &GpuContext) {
    let mut rng = StdRng::seed_from_u64(0xed9e);
    let mut worst = Worst::default();
    for i in 0..300 {
        let (config, inputs, values) = edge_case(&mut rng);
        let name = format!(
            "edge case {i} ({:?}, {:?}, targets {:?})",
            config.score, config.distance, inputs.targets
        );
        worst.merge(check(
            ctx,
            &name,
            &config,
            &inputs,
            &EvalOptions::default(),
            values,
        ));
    }
    worst.print("edge cases");
}

pub(crate) fn named_exact_cases(ctx: &GpuContext) {
    let tobj = |config: &Config, inputs: &Inputs| {
        let g = on_gpu(ctx, config, inputs, &EvalOptions::default()).unwrap();
        let c = evaluate(config, inputs, &EvalOptions::default()).unwrap();
        compare("named", config, &g, &c, Tolerance::GPU_F32, true).unwrap();
        (g.layers[0].tobj.clone(), c.layers[0].tobj.clone())
    };
    let example = [0.40, 0.55, 0.43, 0.30];
    // Power score at d == 1 exactly: a hard negative, its neighbours soft.
    let (c, i) = one_box(Score::Power { n: 10 }, Distance::CellIndex, example);
    let (g, _) = tobj(&c, &i);
    assert_eq!(g[[0, 0, 4, 1]], 0.0);
    assert!(g[[0, 0, 3, 1]] > 0.0 && g[[0, 0, 3, 1]] < 1.0);
    // Power score at d == 2 exactly (continuous mode, a box leaving the image on the left):
    // the score is exactly 1, a positive that is not the centre.
    let (c, i) = one_box(
        Score::Power { n: 10 },
        Distance::Continuous,
        [-0.5 / 8.0, 2.5 / 8.0, 1.0 / 8.0, 1.0 / 8.0],
    );
    let (g, o) = tobj(&c, &i);
    assert_eq!(o[[0, 0, 3, 0]], 1.0, "the oracle scores the d == 2 cell 1");
    assert_eq!(g[[0, 0, 3, 0]], 1.0);
    // A huge sigma: f64 scores just below 1 (f32 would round them to 1) stay soft.
    let (c, i) = one_box(Score::Gaussian { sigma: 1e5 }, Distance::CellIndex, example);
    let (g, o) = tobj(&c, &i);
    assert!(o[[0, 0, 4, 2]] < 1.0 && (o[[0, 0, 4, 2]] as f32) == 1.0);
    assert!(g[[0, 0, 4, 2]] < 1.0);
    // A large power: f64 scores far below the f32 range stay soft (positive).
    let (c, i) = one_box(Score::Power { n: 600 }, Distance::CellIndex, example);
    let (g, o) = tobj(&c, &i);
    assert!(o[[0, 0, 4, 2]] > 0.0 && (o[[0, 0, 4, 2]] as f32) == 0.0);
    assert!(g[[0, 0, 4, 2]] > 0.0);
    // A tiny sigma: f64 underflows to exactly 0 (hard) where d is large enough.
    let (c, i) = one_box(
        Score::Gaussian { sigma: 0.02 },
        Distance::CellIndex,
        example,
    );
    let (g, o) = tobj(&c, &i);
    assert_eq!(o[[0, 0, 3, 1]], 0.0);
    assert_eq!(g[[0, 0, 3, 1]], 0.0);
}

pub(crate) fn emulated_f64_addition_is_exact(ctx: &GpuContext) {
    let mut rng = StdRng::seed_from_u64(64);
    let special = [
        0.0,
        f64::MIN_POSITIVE,
        f64::MIN_POSITIVE / 3.0,
        5e-324,
        1.0,
        1.0 + f64::EPSILON,
        2.0 - f64::EPSILON,
        4.0,
        f64::MAX,
        f64::INFINITY,
        0.1,
        0.2,
    ];
    let mut a = Vec::new();
    let mut b = Vec::new();
    for &x in &special {
        for &y in &special {
            a.push(x);
            b.push(y);
        }
    }
    for _ in 0..200_000 {
        let draw = |rng: &mut StdRng| match rng.random_range(0..4) {
            0 => f64::from_bits(rng.random_range(0..0x7ff0_0000_0000_0000u64)),
            1 => rng.random::<f64>() * 8.0,
            2 => f64::from_bits(rng.random_range(0..0x0020_0000_0000_0000u64)), // subnormal and tiny
            _ => (rng.random_range(0..64u32) as f64) / f64::from(rng.random_range(1..64u32)),
        };
        let x = draw(&mut rng);
        // Partners close in exponent, to exercise rounding ties and carries.
        let y = if rng.random_bool(0.5) {
            f64::from_bits(x.to_bits() ^ rng.random_range(0..1u64 << 20))
        } else {
            draw(&mut rng)
        };
        a.push(x);
        b.push(y);
    }
    let s = testing::f64_add(ctx, &a, &b).unwrap();
    for i in 0..a.len() {
        assert_eq!(
            s[i].to_bits(),
            (a[i] + b[i]).to_bits(),
            "{:e} + {:e}: got {:e}, expected {:e}",
            a[i],
            b[i],
            s[i],
            a[i] + b[i]
        );
    }
}
