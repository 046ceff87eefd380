//! Analytic gradients against central finite differences of the forward loss in f64, with the
//! quantities spec section 6 treats as constants (CIoU's alpha, the baseline's IoU target)
//! held fixed. Every channel of every layer, on small grids with boxes that leave the grid on
//! every side and boxes larger than the grid.

mod common;

use ndarray::{Array3, array};
use soft_objectness::SoftBuilder;
use soft_objectness::internals::loss::compute::{Constants, compute_with};
use soft_objectness::internals::loss::iou::{IouKind, bbox_iou_grad, bbox_iou_grad_with};
use soft_objectness::{
    Assigner, Config, Distance, EvalOptions, Hyp, Inputs, Overlap, Prediction, Score, SoftLoss,
    evaluate,
};

const EPS: f64 = 1e-6;

/// Tolerance of the comparison: `|fd - analytic| <= ATOL * max(1, max|analytic|) + RTOL * |analytic|`.
/// (Finite differences against the analytic gradient, not two implementations: no
/// `conformance::Tolerances` preset applies; these follow PyTorch's gradcheck in f64.)
const ATOL: f64 = 1e-7;
const RTOL: f64 = 1e-5;

/// Loss at `inputs` with the gradient constants of the base point.
fn frozen_loss(config: &Config, inputs: &Inputs, constants: &Constants) -> f64 {
    let targets = common::targets_of(config, inputs, SoftBuilder::Loop).unwrap();
    compute_with(
        config,
        inputs,
        targets,
        &config.default_balance(),
        Some(constants),
    )
    .loss
}

/// Checks every channel of every layer; returns the number of components checked.
fn check_gradient(config: &Config, inputs: &Inputs, what: &str) -> usize {
    let e = evaluate(config, inputs, &EvalOptions::default()).unwrap();
    let constants = Constants::of(&e);
    let dense = e.grad.to_dense();
    let scale = dense
        .iter()
        .flat_map(|g| g.iter())
        .fold(1.0f64, |m, v| m.max(v.abs()));
    let mut checked = 0;
    for (l, g) in dense.iter().enumerate() {
        let Prediction::F64(base) = &inputs.predictions[l] else {
            panic!("f64 predictions expected")
        };
        for (idx, &analytic) in g.indexed_iter() {
            let mut plus = inputs.clone();
            let mut minus = inputs.clone();
            let (b, a, y, x, c) = idx;
            let v = base[[b, a, y, x, c]];
            if let Prediction::F64(p) = &mut plus.predictions[l] {
                p[[b, a, y, x, c]] = v + EPS;
            }
            if let Prediction::F64(p) = &mut minus.predictions[l] {
                p[[b, a, y, x, c]] = v - EPS;
            }
            let fd = (frozen_loss(config, &plus, &constants)
                - frozen_loss(config, &minus, &constants))
                / (2.0 * EPS);
            let tol = ATOL * scale + RTOL * analytic.abs();
            assert!(
                (fd - analytic).abs() <= tol,
                "{what}: layer {l} index {idx:?}: analytic {analytic:e}, finite difference {fd:e}, tolerance {tol:e}"
            );
            checked += 1;
        }
    }
    checked
}

/// Small two-layer case: 2 images, 2 anchors, 3 classes, grids 5x4 and 3x2. Boxes leave the
/// image on every side, one is larger than the grid, one sits at x = 0 and y = 1 exactly.
fn gradient_case(seed: u64, nc: usize) -> Inputs {
    let mut rng = common::rng(seed);
    let targets = array![
        [0.0, 0.0, 0.45, 0.50, 0.40, 0.35],
        [0.0, 1.0, 0.05, 0.10, 0.35, 0.40], // leaves top and left
        [1.0, 2.0, 0.95, 0.92, 0.30, 0.30], // leaves bottom and right
        [1.0, 0.0, 0.50, 0.45, 1.60, 1.30], // larger than the grid
        [0.0, 2.0, 0.00, 1.00, 0.25, 0.20], // x = 0, y = 1 exactly
        [1.0, 1.0, 0.62, 0.30, 0.40, 0.35],
        [1.0, 1.0, 0.30, 0.62, 0.40, 0.35], // equal size to the previous row
    ];
    let mut t = targets;
    for mut row in t.outer_iter_mut() {
        row[1] = (row[1] as usize % nc) as f64;
    }
    let predictions = common::random_predictions(&mut rng, 2, 2, nc, &[(5, 4), (3, 2)], 1.5);
    Inputs {
        targets: t,
        predictions,
    }
}

fn base_config(nc: usize) -> Config {
    Config {
        nc,
        anchors: Array3::from_shape_vec((2, 2, 2), vec![1.2, 1.5, 2.5, 1.8, 0.9, 0.7, 1.6, 2.2])
            .unwrap(),
        hyp: Hyp {
            anchor_t: 1e3,
            ..Hyp::default()
        },
        ..Config::default()
    }
}

#[test]
fn soft_assigner_every_loss_score_and_distance() {
    let losses = [
        SoftLoss::Loss1 { gamma: 1.0 },
        SoftLoss::Loss1 { gamma: 2.5 },
        SoftLoss::Loss2,
        SoftLoss::Loss3,
    ];
    let scores = [
        Score::Power { n: 2 },
        Score::Power { n: 10 },
        Score::Gaussian { sigma: 0.5 },
        Score::Gaussian { sigma: 1.0 },
    ];
    let distances = [
        Distance::CellIndex,
        Distance::Continuous,
        Distance::Diagonal,
    ];
    let mut total = 0;
    let mut k = 0u64;
    for soft_loss in losses {
        for score in scores {
            for distance in distances {
                k += 1;
                let config = Config {
                    soft_loss,
                    score,
                    distance,
                    overlap: if k.is_multiple_of(2) {
                        Overlap::Max
                    } else {
                        Overlap::LastWrite
                    },
                    ..base_config(3)
                };
                let inputs = gradient_case(k, 3);
                let e = evaluate(&config, &inputs, &EvalOptions::default()).unwrap();
                assert!(
                    e.layers.iter().any(|l| l.counts.soft > 0),
                    "case {k} has soft cells"
                );
                total += check_gradient(
                    &config,
                    &inputs,
                    &format!("{soft_loss:?} {score:?} {distance:?}"),
                );
            }
        }
    }
    assert_eq!(total, 48 * 2 * 2 * (20 + 6) * 8);
}

#[test]
fn focal_label_smoothing_and_pos_weights() {
    for (i, assigner) in [Assigner::Soft, Assigner::Yolov5].into_iter().enumerate() {
        for fl_gamma in [0.0, 0.5, 1.5, 2.0] {
            for (label_smoothing, obj_pw, cls_pw) in
                [(0.0, 1.0, 1.0), (0.1, 0.7, 1.8), (0.2, 2.0, 0.5)]
            {
                let config = Config {
                    assigner,
                    hyp: Hyp {
                        fl_gamma,
                        label_smoothing,
                        obj_pw,
                        cls_pw,
                        anchor_t: 1e3,
                        ..Hyp::default()
                    },
                    soft_loss: SoftLoss::Loss3,
                    ..base_config(3)
                };
                let inputs = gradient_case(100 + i as u64, 3);
                check_gradient(
                    &config,
                    &inputs,
                    &format!("{assigner:?} focal {fl_gamma} ls {label_smoothing}"),
                );
            }
        }
    }
}

#[test]
fn yolov5_assigner_every_channel() {
    for seed in 0..4 {
        let config = Config {
            assigner: Assigner::Yolov5,
            ..base_config(3)
        };
        let inputs = gradient_case(200 + seed, 3);
        check_gradient(&config, &inputs, "yolov5");
    }
}

#[test]
fn single_class_autobalance_and_empty_layers() {
    // nc = 1: no class loss, class channels have zero gradient.
    let config = Config {
        autobalance: true,
        ..base_config(1)
    };
    let inputs = gradient_case(300, 1);
    check_gradient(&config, &inputs, "nc = 1");
    let e = evaluate(&config, &inputs, &EvalOptions::default()).unwrap();
    assert_eq!(e.lcls, 0.0);
    // No targets at all: only hard negatives.
    let empty = Inputs {
        targets: ndarray::Array2::zeros((0, 6)),
        ..gradient_case(301, 3)
    };
    check_gradient(&base_config(3), &empty, "no targets");
    // Anchors so large that layer 1 matches nothing.
    let mut config = base_config(3);
    config.hyp.anchor_t = 2.0;
    config.anchors.slice_mut(ndarray::s![1, .., ..]).fill(50.0);
    let inputs = gradient_case(302, 3);
    let e = evaluate(&config, &inputs, &EvalOptions::default()).unwrap();
    assert!(e.layers[1].rows.is_empty());
    check_gradient(&config, &inputs, "layer without matches");
}

#[test]
fn random_cases() {
    let mut checked = 0;
    for seed in 0..60 {
        let (config, inputs) = common::random_case(1000 + seed);
        checked += check_gradient(&config, &inputs, &format!("random case {}", 1000 + seed));
    }
    assert!(checked > 10_000, "{checked}");
}

/// f32 predictions give the gradient of their f64 widening.
#[test]
fn f32_predictions_widen_exactly() {
    let inputs = gradient_case(400, 3);
    let narrow = Inputs {
        predictions: inputs
            .predictions
            .iter()
            .map(|p| Prediction::F32(p.to_f64().mapv(|v| v as f32)))
            .collect(),
        ..inputs.clone()
    };
    let wide = Inputs {
        predictions: narrow
            .predictions
            .iter()
            .map(|p| Prediction::F64(p.to_f64()))
            .collect(),
        ..inputs
    };
    let config = base_config(3);
    let a = evaluate(&config, &narrow, &EvalOptions::default()).unwrap();
    let b = evaluate(&config, &wide, &EvalOptions::default()).unwrap();
    assert_eq!(a, b);
}

/// Each IoU kind's gradient against finite differences (CIoU's alpha fixed).
#[test]
fn iou_family_gradients() {
    let mut rng = common::rng(7);
    use rand::Rng;
    for _ in 0..2000 {
        let b1 = [
            rng.random_range(0.0..3.0),
            rng.random_range(0.0..3.0),
            rng.random_range(0.1..3.0),
            rng.random_range(0.1..3.0),
        ];
        let b2 = [
            rng.random_range(0.0..3.0),
            rng.random_range(0.0..3.0),
            rng.random_range(0.1..3.0),
            rng.random_range(0.1..3.0),
        ];
        for kind in [IouKind::Iou, IouKind::GIou, IouKind::DIou, IouKind::CIou] {
            let base = bbox_iou_grad(b1, b2, kind);
            let alpha = (kind == IouKind::CIou).then_some(base.alpha);
            for c in 0..4 {
                let (mut p, mut m) = (b1, b1);
                p[c] += EPS;
                m[c] -= EPS;
                let fd = (bbox_iou_grad_with(p, b2, kind, alpha).value
                    - bbox_iou_grad_with(m, b2, kind, alpha).value)
                    / (2.0 * EPS);
                assert!(
                    (fd - base.grad[c]).abs() <= 1e-7 + 1e-5 * base.grad[c].abs(),
                    "{kind:?} {b1:?} {b2:?} component {c}: analytic {}, fd {fd}",
                    base.grad[c]
                );
            }
        }
    }
}

/// The caller's-buffer writer gives `dense_layer` exactly (f64, scale 1), `scale * dense` rounded
/// once (f32, any scale), overwrites every element, and refuses a wrong layer or length.
#[test]
fn dense_gradient_written_into_a_buffer() {
    let mut shared_cells = 0;
    for (seed, assigner) in [
        (7, Assigner::Yolov5),
        (8, Assigner::Soft),
        (9, Assigner::Yolov5),
    ] {
        let config = Config {
            assigner,
            ..base_config(3)
        };
        let e = evaluate(&config, &gradient_case(seed, 3), &EvalOptions::default()).unwrap();
        for l in 0..e.layers.len() {
            let dense = e.grad.dense_layer(l);
            let want: Vec<f64> = dense.iter().copied().collect();
            let mut got = vec![f64::NAN; want.len()];
            e.grad.write_dense_into(l, 1.0, &mut got).unwrap();
            common::assert_bits_eq(&got, &want, &format!("f64 layer {l}"));
            let mut got32 = vec![f32::NAN; want.len()];
            e.grad.write_dense_into(l, 0.37, &mut got32).unwrap();
            for (k, (&g, &w)) in got32.iter().zip(&want).enumerate() {
                assert_eq!(
                    g.to_bits(),
                    ((w * 0.37) as f32).to_bits(),
                    "f32 layer {l} at {k}"
                );
            }
            let mut cells = std::collections::HashSet::new();
            shared_cells += e.grad.rows[l]
                .iter()
                .filter(|r| !cells.insert((r.b, r.a, r.gj, r.gi)))
                .count();
        }
        let err = e
            .grad
            .write_dense_into(0, 1.0, &mut [0.0_f64; 3])
            .unwrap_err();
        common::assert_error(&err, Some("grad[0]"), &["elements"]);
        let err = e
            .grad
            .write_dense_into(9, 1.0, &mut [0.0_f32; 3])
            .unwrap_err();
        common::assert_error(&err, Some("grad"), &["layer index"]);
    }
    assert!(
        shared_cells > 0,
        "no two rows share a cell: the summing path is untested"
    );
}
