//! The loop and vectorised soft builders agree bit for bit; `overlap = max` is independent of
//! target order; results do not depend on the number of threads.

mod common;

use common::{assert_bits_eq, random_case};
use proptest::prelude::*;
use soft_objectness::SoftBuilder;
use soft_objectness::{
    Assigner, Backend, Config, EvalOptions, Evaluation, Inputs, Overlap, evaluate,
};

fn soft(mut config: Config) -> Config {
    config.assigner = Assigner::Soft;
    config
}

fn check_builders_agree(config: &Config, inputs: &Inputs) {
    let a = common::targets_of(config, inputs, SoftBuilder::Loop).unwrap();
    let b = common::targets_of(config, inputs, SoftBuilder::Vectorised).unwrap();
    assert_eq!(a.len(), b.len());
    for (l, (x, y)) in a.iter().zip(&b).enumerate() {
        assert_eq!(x.rows, y.rows, "layer {l}: matched rows differ");
        assert_bits_eq(
            x.tobj.as_slice().unwrap(),
            y.tobj.as_slice().unwrap(),
            &format!("layer {l} tobj"),
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 600, ..ProptestConfig::default() })]

    /// Random cases: boxes outside the grid on every side, duplicates with equal cell counts,
    /// empty target lists, layers without matches, every distance/score/overlap option.
    #[test]
    fn loop_and_vectorised_agree(seed in any::<u64>()) {
        let (config, inputs) = random_case(seed);
        check_builders_agree(&soft(config), &inputs);
    }

    /// `overlap = max` gives the same targets for every order of the targets.
    #[test]
    fn overlap_max_is_order_independent(seed in any::<u64>(), perm_seed in any::<u64>()) {
        let (config, inputs) = random_case(seed);
        let config = Config { overlap: Overlap::Max, ..soft(config) };
        let n = inputs.targets.nrows();
        let mut order: Vec<usize> = (0..n).collect();
        // Fisher-Yates with a simple LCG so the permutation is reproducible.
        let mut s = perm_seed | 1;
        for i in (1..n).rev() {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            order.swap(i, (s >> 33) as usize % (i + 1));
        }
        let permuted = Inputs { targets: inputs.targets.select(ndarray::Axis(0), &order), ..inputs.clone() };
        let a = common::targets_of(&config, &inputs, SoftBuilder::Vectorised).unwrap();
        let b = common::targets_of(&config, &permuted, SoftBuilder::Loop).unwrap();
        for (l, (x, y)) in a.iter().zip(&b).enumerate() {
            assert_bits_eq(x.tobj.as_slice().unwrap(), y.tobj.as_slice().unwrap(), &format!("layer {l} tobj"));
        }
    }
}

/// Overlapping boxes with equal cell counts: the stable order makes the later target win.
#[test]
fn equal_cell_counts_keep_target_order() {
    use ndarray::{Array3, Array5, array};
    use soft_objectness::internals::assign::score::gaussian;
    use soft_objectness::{Prediction, Score};
    let config = Config {
        nc: 1,
        anchors: Array3::from_elem((1, 1, 2), 2.0),
        score: Score::Gaussian { sigma: 1.0 },
        ..Config::default()
    };
    // On an 8x8 grid, box A covers columns 1..=3 and rows 2..=4 (centre (3, 2)), box B columns
    // 3..=5 and rows 3..=5 (centre (4, 4)): 9 cells each. Cell (3, 3) is in both, at
    // d = 2/3 from A's centre and d = sqrt(2) * 2/3 from B's.
    let a = [0.0, 0.0, 2.5 / 8.0, 3.5 / 8.0, 0.25, 0.25];
    let b = [0.0, 0.0, 4.5 / 8.0, 4.5 / 8.0, 0.25, 0.25];
    let preds = vec![Prediction::F64(Array5::zeros((1, 1, 8, 8, 6)))];
    let ab = Inputs {
        targets: array![a, b],
        predictions: preds.clone(),
    };
    let ba = Inputs {
        targets: array![b, a],
        predictions: preds,
    };
    let score_a = gaussian(
        ((0.0f64 / 1.5).powi(2) + (-1.0f64 / 1.5).powi(2)).sqrt(),
        1.0,
    );
    let score_b = gaussian(
        ((1.0f64 / 1.5).powi(2) + (1.0f64 / 1.5).powi(2)).sqrt(),
        1.0,
    );
    assert_ne!(score_a, score_b);
    for builder in [SoftBuilder::Loop, SoftBuilder::Vectorised] {
        let t = common::targets_of(&config, &ab, builder).unwrap();
        assert_eq!(
            t[0].tobj[[0, 0, 3, 3]],
            score_b,
            "{builder:?}: B written last wins"
        );
        let u = common::targets_of(&config, &ba, builder).unwrap();
        assert_eq!(
            u[0].tobj[[0, 0, 3, 3]],
            score_a,
            "{builder:?}: A written last wins"
        );
        // With overlap = max the larger score wins either way.
        let max = Config {
            overlap: Overlap::Max,
            ..config.clone()
        };
        let m = common::targets_of(&max, &ab, builder).unwrap();
        assert_eq!(m[0].tobj[[0, 0, 3, 3]], score_a.max(score_b));
    }
}

fn eval_in_pool(
    threads: usize,
    config: &Config,
    inputs: &Inputs,
    builder: SoftBuilder,
) -> Evaluation {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    pool.install(|| {
        evaluate(
            config,
            inputs,
            &EvalOptions::with_backend(Backend::Cpu(builder)),
        )
        .unwrap()
    })
}

fn assert_evaluations_identical(a: &Evaluation, b: &Evaluation) {
    assert_bits_eq(
        &[a.loss, a.lbox, a.lobj, a.lcls],
        &[b.loss, b.lbox, b.lobj, b.lcls],
        "loss parts",
    );
    assert_bits_eq(&a.balance, &b.balance, "balance");
    for (l, (x, y)) in a.layers.iter().zip(&b.layers).enumerate() {
        assert_bits_eq(
            x.tobj.as_slice().unwrap(),
            y.tobj.as_slice().unwrap(),
            &format!("layer {l} tobj"),
        );
        assert_eq!(x.counts, y.counts);
        assert_bits_eq(
            &[x.hard_loss, x.soft_loss],
            &[y.hard_loss, y.soft_loss],
            "H, S",
        );
    }
    for (l, (x, y)) in a
        .grad
        .to_dense()
        .iter()
        .zip(b.grad.to_dense().iter())
        .enumerate()
    {
        assert_bits_eq(
            x.as_slice().unwrap(),
            y.as_slice().unwrap(),
            &format!("layer {l} grad"),
        );
    }
}

/// Bit-identical results with 1, 2 and 3 threads, on a workload large enough to be split into
/// many chunks (the standard 640x640 batch, 4 images).
#[test]
fn results_do_not_depend_on_thread_count() {
    use soft_objectness::default_batch::DefaultBatch;
    for assigner in [Assigner::Soft, Assigner::Yolov5] {
        let (config, inputs) = DefaultBatch {
            batch: 4,
            ..DefaultBatch::standard(16)
        }
        .build()
        .unwrap();
        let config = Config {
            assigner,
            autobalance: true,
            ..config
        };
        let one = eval_in_pool(1, &config, &inputs, SoftBuilder::Vectorised);
        let two = eval_in_pool(2, &config, &inputs, SoftBuilder::Vectorised);
        let three = eval_in_pool(3, &config, &inputs, SoftBuilder::Vectorised);
        assert_evaluations_identical(&one, &two);
        assert_evaluations_identical(&one, &three);
        let looped = eval_in_pool(2, &config, &inputs, SoftBuilder::Loop);
        assert_evaluations_identical(&one, &looped);
    }
}

/// Many random small cases, whole evaluations, with 1 and 2 threads.
#[test]
fn random_cases_do_not_depend_on_thread_count() {
    for seed in 0..100 {
        let (config, inputs) = random_case(seed);
        let one = eval_in_pool(1, &config, &inputs, SoftBuilder::Vectorised);
        let two = eval_in_pool(2, &config, &inputs, SoftBuilder::Loop);
        assert_evaluations_identical(&one, &two);
    }
}
