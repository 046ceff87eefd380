//! Numeric extremes of legal input never give NaN or infinity in any output (loss parts, tobj,
//! hard and soft losses, dense gradient, autobalanced balance), and the loop and vectorised
//! builders agree bit for bit on them. Property tests (seeded, 256 cases each) draw random legal
//! cases mixing ordinary values with the extremes; named tests pin each extreme down.

mod common;

use common::evaluate_legal;
use ndarray::{Array2, Array3, Array5};
use proptest::prelude::*;
use proptest::test_runner::RngSeed;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use soft_objectness::internals::casegen::{ConfigSpace, random_config, rng_for};
use soft_objectness::{
    Assigner, Ciou, Config, Distance, Hyp, Inputs, Overlap, Prediction, Score, SoftLoss,
};

// ---------------------------------------------------------------------------------------------
// Strategies for legal cases

/// Everything but the targets and logits.
#[derive(Debug, Clone)]
struct Shape {
    config: Config,
    bs: usize,
    grids: Vec<(usize, usize)>,
}

/// The shape drawn from `seed`: 1 to 3 layers of 1 to 12 cells a side (often 1), 1 to 3
/// anchors, 1 to 4 classes, 1 or 2 images, and a configuration from
/// [`ConfigSpace::EXTREME`] (legal extremes mixed with ordinary values).
fn shape_of(seed: u64) -> Shape {
    let mut rng = rng_for(seed, 0);
    let nl = rng.random_range(1..=3usize);
    let na = rng.random_range(1..=3usize);
    let nc = rng.random_range(1..=4usize);
    let bs = rng.random_range(1..=2usize);
    let config = random_config(&mut rng, &ConfigSpace::EXTREME, nl, na, nc);
    let side = |rng: &mut StdRng| {
        if rng.random_bool(0.5) {
            1
        } else {
            rng.random_range(1..=12usize)
        }
    };
    let grids = (0..nl).map(|_| (side(&mut rng), side(&mut rng))).collect();
    Shape { config, bs, grids }
}

fn shape() -> impl Strategy<Value = Shape> {
    any::<u64>().prop_map(shape_of)
}

fn coord() -> impl Strategy<Value = f64> {
    prop_oneof![4 => -0.5..1.5, 1 => prop::sample::select(vec![0.0, 0.5, 1.0, -1.0, 2.0])]
}

fn size() -> impl Strategy<Value = f64> {
    prop_oneof![
        4 => 0.0..1.0,
        1 => prop::sample::select(vec![0.0, 1e-9, 1e-6, 1.0]), // zero width, tiny, the whole image
        1 => 1.0..3.0,
    ]
}

/// A target row `(image, class, x, y, w, h)`.
fn row(bs: usize, nc: usize) -> impl Strategy<Value = [f64; 6]> {
    (0..bs, 0..nc, coord(), coord(), size(), size())
        .prop_map(|(b, c, x, y, w, h)| [b as f64, c as f64, x, y, w, h])
}

/// How the logits of a layer are filled (from a seeded generator, not element by element).
#[derive(Debug, Clone, Copy)]
enum Logits {
    /// Standard normal times a scale.
    Normal(f64),
    /// One extreme value everywhere (saturated predictions, denormal losses).
    Constant(f64),
    /// Each element one of the extremes.
    Extremes,
}

fn logits() -> impl Strategy<Value = (Logits, u64, bool)> {
    let extremes = vec![1e4, -1e4, 740.0, -740.0, 37.0, -37.0, 0.0, -700.0];
    (
        prop_oneof![
            2 => prop_oneof![Just(1.0), Just(5.0), Just(100.0)].prop_map(Logits::Normal),
            1 => prop::sample::select(extremes).prop_map(Logits::Constant),
            1 => Just(Logits::Extremes),
        ],
        any::<u64>(),
        any::<bool>(),
    )
}

fn fill(
    shape: (usize, usize, usize, usize, usize),
    how: Logits,
    seed: u64,
    f32_layer: bool,
) -> Prediction {
    const EXTREMES: [f64; 9] = [1e4, -1e4, 740.0, -740.0, 37.0, -37.0, 0.0, -0.5, 3.0];
    let mut rng = StdRng::seed_from_u64(seed);
    let a = Array5::from_shape_simple_fn(shape, || match how {
        // Box-Muller from two uniforms: a standard normal without extra dependencies.
        Logits::Normal(scale) => {
            let (u, v): (f64, f64) = (rng.random::<f64>().max(1e-12), rng.random());
            scale * (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
        }
        Logits::Constant(c) => c,
        Logits::Extremes => EXTREMES[rng.random_range(0..EXTREMES.len())],
    });
    if f32_layer {
        Prediction::F32(a.mapv(|v| v as f32))
    } else {
        Prediction::F64(a)
    }
}

fn build(shape: &Shape, rows: &[[f64; 6]], logits: (Logits, u64, bool)) -> Inputs {
    let c = &shape.config;
    let mut targets = Array2::zeros((rows.len(), 6));
    for (k, r) in rows.iter().enumerate() {
        targets.row_mut(k).assign(&ndarray::arr1(r));
    }
    let predictions = shape
        .grids
        .iter()
        .enumerate()
        .map(|(l, &(ny, nx))| {
            fill(
                (shape.bs, c.na(), ny, nx, 5 + c.nc),
                logits.0,
                logits.1 ^ l as u64,
                logits.2,
            )
        })
        .collect();
    Inputs {
        targets,
        predictions,
    }
}

fn legal_case(
    max_targets: usize,
) -> impl Strategy<Value = (Shape, Vec<[f64; 6]>, (Logits, u64, bool))> {
    shape().prop_flat_map(move |s| {
        let (bs, nc) = (s.bs, s.config.nc);
        (
            Just(s),
            prop::collection::vec(row(bs, nc), 0..=max_targets),
            logits(),
        )
    })
}

/// Batch 1 with hundreds of targets in its one image.
fn crowded_case() -> impl Strategy<Value = (Shape, Vec<[f64; 6]>, (Logits, u64, bool))> {
    shape().prop_flat_map(|mut s| {
        s.bs = 1;
        let nc = s.config.nc;
        (
            Just(s),
            prop::collection::vec(row(1, nc), 100..=400),
            logits(),
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, rng_seed: RngSeed::Fixed(0x5eed_0007), ..ProptestConfig::default() })]

    /// Random legal cases mixing ordinary values and extremes: finite outputs, builders agree.
    #[test]
    fn legal_cases_give_finite_outputs_and_builders_agree((shape, rows, logits) in legal_case(12)) {
        let inputs = build(&shape, &rows, logits);
        evaluate_legal(&shape.config, &inputs);
    }

    /// Batch 1 with 100 to 400 targets in one image.
    #[test]
    fn crowded_images_give_finite_outputs_and_builders_agree((shape, rows, logits) in crowded_case()) {
        let inputs = build(&shape, &rows, logits);
        evaluate_legal(&shape.config, &inputs);
    }
}

// ---------------------------------------------------------------------------------------------
// Each extreme named

/// One layer, one anchor, `nc` 3, on an `n x n` grid, with the given targets and constant logits.
fn one_layer(config: Config, n: usize, targets: Array2<f64>, logit: f64) -> (Config, Inputs) {
    let inputs = Inputs {
        targets,
        predictions: vec![Prediction::F64(Array5::from_elem(
            (1, config.na(), n, n, 5 + config.nc),
            logit,
        ))],
    };
    (config, inputs)
}

fn small_config() -> Config {
    Config {
        nc: 3,
        anchors: Array3::from_elem((1, 1, 2), 2.0),
        ..Config::default()
    }
}

fn box_at(x: f64, y: f64, w: f64, h: f64) -> Array2<f64> {
    ndarray::array![[0.0, 1.0, x, y, w, h]]
}

#[test]
fn saturated_logits_of_plus_and_minus_1e4() {
    for logit in [1e4, -1e4] {
        for soft_loss in [
            SoftLoss::Loss1 { gamma: 1.0 },
            SoftLoss::Loss2,
            SoftLoss::Loss3,
        ] {
            for fl_gamma in [0.0, 1.5, 10.0] {
                let config = Config {
                    soft_loss,
                    hyp: Hyp {
                        fl_gamma,
                        ..Hyp::default()
                    },
                    autobalance: true,
                    ..small_config()
                };
                let (c, i) = one_layer(config, 8, box_at(0.4, 0.55, 0.43, 0.3), logit);
                let e = evaluate_legal(&c, &i);
                assert!(e.layers[0].counts.soft > 0);
            }
        }
    }
}

#[test]
fn sigma_from_1e_minus_3_to_1e3() {
    for sigma in [1e-6, 1e-3, 0.1, 1.0, 1e3, 1e6] {
        for distance in [
            Distance::CellIndex,
            Distance::Continuous,
            Distance::Diagonal,
        ] {
            let config = Config {
                score: Score::Gaussian { sigma },
                distance,
                ..small_config()
            };
            let (c, i) = one_layer(config, 8, box_at(0.4, 0.55, 0.43, 0.3), 0.3);
            let e = evaluate_legal(&c, &i);
            if sigma >= 1e3 {
                // A flat Gaussian: every covered cell scores (almost) 1.
                assert!(e.layers[0].tobj.iter().filter(|&&t| t > 0.999).count() > 1);
            }
        }
    }
}

#[test]
fn power_n_up_to_100_and_loss1_gamma_up_to_10() {
    for n in [0, 2, 10, 50, 100] {
        for gamma in [0.0, 1.0, 10.0] {
            let config = Config {
                score: Score::Power { n },
                soft_loss: SoftLoss::Loss1 { gamma },
                ..small_config()
            };
            let (c, i) = one_layer(config, 8, box_at(0.4, 0.55, 0.6, 0.5), -2.0);
            evaluate_legal(&c, &i);
        }
    }
}

#[test]
fn tiny_and_huge_anchors() {
    for (anchor, w) in [(1e-6, 1e-7), (1e-3, 1e-4), (1e3, 0.9), (1e6, 1.0)] {
        for distance in [
            Distance::CellIndex,
            Distance::Continuous,
            Distance::Diagonal,
        ] {
            let config = Config {
                anchors: Array3::from_elem((1, 1, 2), anchor),
                hyp: Hyp {
                    anchor_t: 1e6,
                    ..Hyp::default()
                },
                distance,
                ..small_config()
            };
            let (c, i) = one_layer(config, 8, box_at(0.5, 0.5, w, w), 1.0);
            let e = evaluate_legal(&c, &i);
            assert_eq!(e.layers[0].rows.len(), 1, "anchor {anchor}, w {w}: matched");
        }
    }
}

#[test]
fn boxes_of_zero_width_are_never_matched() {
    let t = ndarray::array![
        [0.0, 0.0, 0.5, 0.5, 0.0, 0.3],
        [0.0, 1.0, 0.5, 0.5, 0.3, 0.0],
        [0.0, 2.0, 0.5, 0.5, 0.0, 0.0]
    ];
    for assigner in [Assigner::Soft, Assigner::Yolov5] {
        let config = Config {
            assigner,
            hyp: Hyp {
                anchor_t: 1e6,
                ..Hyp::default()
            },
            ..small_config()
        };
        let (c, i) = one_layer(config, 8, t.clone(), 0.0);
        let e = evaluate_legal(&c, &i);
        assert!(e.layers[0].rows.is_empty());
        assert_eq!(e.layers[0].counts.negative, 64);
    }
}

#[test]
fn boxes_covering_the_whole_grid() {
    for (w, anchor) in [(1.0, 8.0), (3.0, 24.0)] {
        for score in [Score::Gaussian { sigma: 1.0 }, Score::Power { n: 2 }] {
            let config = Config {
                anchors: Array3::from_elem((1, 1, 2), anchor),
                score,
                ..small_config()
            };
            let (c, i) = one_layer(config, 8, box_at(0.5, 0.5, w, w), -3.0);
            let e = evaluate_legal(&c, &i);
            assert_eq!(e.layers[0].counts.positive, 1);
            if matches!(score, Score::Gaussian { .. }) {
                assert_eq!(e.layers[0].counts.soft, 63, "every other cell is soft");
            }
        }
    }
}

#[test]
fn a_single_cell_grid() {
    for t in [
        box_at(0.5, 0.5, 0.5, 0.5),
        box_at(0.0, 1.0, 2.0, 2.0),
        box_at(-0.5, 1.5, 0.9, 0.9),
    ] {
        for assigner in [Assigner::Soft, Assigner::Yolov5] {
            let config = Config {
                assigner,
                anchors: Array3::from_elem((1, 1, 2), 1.0),
                ..small_config()
            };
            let (c, i) = one_layer(config, 1, t.clone(), 0.5);
            let e = evaluate_legal(&c, &i);
            assert_eq!(e.layers[0].tobj.len(), 1);
        }
    }
}

#[test]
fn batch_1_with_300_targets_in_one_image() {
    let mut rng = StdRng::seed_from_u64(7);
    let t = Array2::from_shape_fn((300, 6), |(_, c)| match c {
        0 => 0.0,
        1 => rng.random_range(0..3) as f64,
        2 | 3 => rng.random_range(-0.2..1.2),
        _ => rng.random_range(0.0..0.5),
    });
    for overlap in [Overlap::LastWrite, Overlap::Max] {
        let config = Config {
            overlap,
            ..small_config()
        };
        let (c, i) = one_layer(config, 16, t.clone(), -4.5);
        let e = evaluate_legal(&c, &i);
        assert!(e.layers[0].rows.len() > 100);
    }
}

/// Regression: a layer whose every cell is a positive with logit 740 (a 1x1 grid with one
/// target) has a hard loss `ln(1 + e^-740)`, about 4e-322 (a denormal), and the autobalance
/// update `0.0001 / (H + S)` overflowed to infinity (an infinite balance, NaN after the
/// normalisation). The update is now skipped when it would overflow, as it is when `H + S == 0`.
#[test]
fn autobalance_with_a_denormal_layer_loss_stays_finite() {
    let config = Config {
        nc: 2,
        anchors: Array3::from_elem((2, 1, 2), 1.0),
        autobalance: true,
        ..Config::default()
    };
    let inputs = Inputs {
        targets: ndarray::array![[0.0, 1.0, 0.5, 0.5, 1.0, 1.0]],
        predictions: vec![
            Prediction::F64(Array5::from_elem((1, 1, 1, 1, 7), 740.0)),
            Prediction::F64(Array5::from_elem((1, 1, 2, 2, 7), -3.0)),
        ],
    };
    let e = evaluate_legal(&config, &inputs);
    let (h0, s0) = (e.layers[0].hard_loss, e.layers[0].soft_loss);
    assert_eq!(s0, 0.0);
    assert!(h0 > 0.0 && h0 < 1e-320, "H_0 = {h0:e} is a denormal");
    assert!((0.0001 / h0).is_infinite());
    // Layer 0 keeps its weight; both are divided by layer 1's updated weight.
    let obj1 = e.layers[1].hard_loss + e.layers[1].soft_loss;
    let b1 = 0.9999 + 0.0001 / obj1;
    assert_eq!(e.balance, vec![4.0 / b1, 1.0]);
}

/// Two boxes (rows 0 and 1 of a 4 x 4 layer, at cells (1, 1) and (2, 2)) with every logit 0
/// but the box-size logits `(tw, th)` of row 1's cell; `f32` predictions when `single`.
fn two_rows(ciou: Ciou, tw: f64, th: f64, single: bool) -> (Config, Inputs) {
    let config = Config {
        nc: 1,
        anchors: Array3::from_elem((1, 1, 2), 2.0),
        ciou,
        ..Config::default()
    };
    let mut p = Array5::<f64>::zeros((1, 1, 4, 4, 6));
    p[[0, 0, 2, 2, 2]] = tw;
    p[[0, 0, 2, 2, 3]] = th;
    let predictions = vec![if single {
        Prediction::F32(p.mapv(|x| x as f32))
    } else {
        Prediction::F64(p)
    }];
    let targets = ndarray::array![
        [0.0, 0.0, 0.3, 0.3, 0.5, 0.5],
        [0.0, 0.0, 0.7, 0.7, 0.5, 0.5]
    ];
    (
        config,
        Inputs {
            targets,
            predictions,
        },
    )
}

/// YOLOv5 v7.0's CIoU takes the box sizes as given: box-size logits below about -355 underflow
/// the predicted size `(2 sigmoid(x))^2 anchor` to exactly 0, where CIoU is undefined
/// (`atan(0 / 0)` is NaN in YOLOv5 v7.0 itself). Spec revision 2.1 refuses such a case as a
/// validation error naming the layer, the row and the logit (spec section 8), on every CPU
/// entry point, f32 or f64; v6.0 (whose heights carry `eps`) is defined on the same input.
#[test]
fn ciou_v7_refuses_a_predicted_box_that_underflows_to_nothing() {
    use soft_objectness::conformance::{CheckOptions, check};
    use soft_objectness::{Answer, Backend, Error, EvalOptions, SoftBuilder, Workspace, evaluate};
    let opts = EvalOptions::default();
    for single in [false, true] {
        let (c6, inputs) = two_rows(Ciou::V6, -400.0, -400.0, single);
        let v6 = evaluate(&c6, &inputs, &opts).unwrap();
        assert!(v6.loss.is_finite() && v6.layers[0].rows.len() == 2);
        let (c7, _) = two_rows(Ciou::V7, -400.0, -400.0, single);
        let want = "inputs.predictions[0] at [0, 0, 2, 2, 2]: with ciou v7.0 a logit must not \
                    underflow the predicted width of matched row 1 to exactly 0 (CIoU is \
                    undefined there; spec section 8) (got -400)";
        let e = evaluate(&c7, &inputs, &opts).unwrap_err();
        assert!(matches!(e, Error::Invalid { .. }), "{e:?}");
        assert_eq!(e.to_string(), want);
        assert_eq!(e.field(), Some("inputs.predictions[0] at [0, 0, 2, 2, 2]"));
        // The same error from every way in: the loop builder, a workspace, the conformance check.
        let lp = EvalOptions::with_backend(Backend::Cpu(SoftBuilder::Loop));
        let e = evaluate(&c7, &inputs, &lp).unwrap_err();
        assert_eq!(e.to_string(), want);
        let e = Workspace::new().evaluate(&c7, &inputs, &opts).unwrap_err();
        assert_eq!(e.to_string(), want);
        let answer = Answer::from_evaluation(&v6, &c6);
        let e = check(&c7, &inputs, &answer, &CheckOptions::default()).unwrap_err();
        assert_eq!(e.to_string(), want);
        // The height alone, and the baseline assigner (whose rows include neighbour cells).
        let (c7, inputs) = two_rows(Ciou::V7, 0.0, -1000.0, single);
        let e = evaluate(&c7, &inputs, &opts).unwrap_err().to_string();
        assert!(
            e.starts_with("inputs.predictions[0] at [0, 0, 2, 2, 3]: ")
                && e.contains("the predicted height of matched row 1 ")
                && e.ends_with("(got -1000)"),
            "{e}"
        );
        let yolo = Config {
            assigner: Assigner::Yolov5,
            ..c7.clone()
        };
        let e = evaluate(&yolo, &inputs, &opts).unwrap_err();
        assert_eq!(e.field(), Some("inputs.predictions[0] at [0, 0, 2, 2, 3]"));
    }
}

/// The refusal comes last in spec section 8's order: a target or a logit that breaks an
/// earlier rule, anywhere, is the error named (as `Inputs::validate` names it).
#[test]
fn ciou_v7_an_earlier_rule_is_named_before_an_empty_box() {
    use soft_objectness::{EvalOptions, evaluate};
    let (config, base) = two_rows(Ciou::V7, -400.0, -400.0, false);
    let mut nan = base.clone();
    if let Prediction::F64(p) = &mut nan.predictions[0] {
        p[[0, 0, 3, 3, 5]] = f64::NAN;
    }
    let mut class = base.clone();
    class.targets[[1, 1]] = 1.0;
    for inputs in [nan, class] {
        let want = inputs.validate(&config).unwrap_err().to_string();
        let got = evaluate(&config, &inputs, &EvalOptions::default()).unwrap_err();
        assert_eq!(got.to_string(), want);
        assert!(!want.contains("ciou"), "{want}");
    }
}

/// The boundary is where the f64 size the loss computes becomes exactly 0, within the range
/// the spec gives (about -355 to -373, the anchor deciding): the largest refused logit is
/// found by bisection through `evaluate`, its size is 0, and at the next f64 up the size is
/// positive and v7.0's answer finite.
#[test]
fn ciou_v7_refuses_exactly_where_the_size_is_zero() {
    use soft_objectness::{EvalOptions, evaluate};
    let refused = |x: f64| {
        let (config, inputs) = two_rows(Ciou::V7, x, 0.0, false);
        match evaluate(&config, &inputs, &EvalOptions::default()) {
            // `evaluate` refuses a result that is not finite: an answer is a finite one.
            Ok(_) => false,
            Err(e) => {
                assert!(e.to_string().contains("predicted width"), "{e}");
                true
            }
        }
    };
    let (mut lo, mut hi) = (-400.0_f64, -300.0_f64);
    assert!(refused(lo) && !refused(hi));
    while hi.next_down() > lo {
        let mid = lo + (hi - lo) / 2.0;
        let mid = if mid == lo || mid == hi {
            lo.next_up()
        } else {
            mid
        };
        if refused(mid) { lo = mid } else { hi = mid }
    }
    let size = |x: f64| {
        let s = 1.0 / (1.0 + (-x).exp());
        (s * 2.0) * (s * 2.0) * 2.0
    };
    assert_eq!(size(lo), 0.0, "{lo}");
    assert!(size(hi) > 0.0, "{hi}");
    assert!((-374.0..-366.0).contains(&lo), "{lo}");
}
