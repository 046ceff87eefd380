//! Seeded random cases: the random streams, the one random configuration generator
//! ([`random_config`] over a [`ConfigSpace`]), random targets and predictions, and whole random
//! cases for `softobj gen` within a [`CaseSpace`].

use ndarray::{Array2, Array3, Array5};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Normal};

use super::space::{CaseSpace, Key, Val};
use crate::array::Limits;
use crate::case::Case;
use crate::config::{
    Assigner, Ciou, Config, Distance, Hyp, Overlap, Score, ScoreKind, SoftLoss, SoftLossKind,
    yolov5s_anchors,
};
use crate::error::{Error, Result};
use crate::inputs::{Inputs, Prediction};
use crate::vocab::Named;

/// The random stream of case `stream` under `seed`: a ChaCha key made of both, so that
/// distinct `(seed, stream)` pairs never share a stream.
pub fn rng_for(seed: u64, stream: u64) -> StdRng {
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&seed.to_le_bytes());
    key[8..16].copy_from_slice(&stream.to_le_bytes());
    key[16..].copy_from_slice(b"soft-objectness!");
    StdRng::from_seed(key)
}

/// Rounds a logit to a multiple of `2^-10` within `[-64, 64]` (exact in f32 and in short
/// decimal).
///
/// ```
/// use soft_objectness::internals::casegen::quantize_logit;
/// assert_eq!(quantize_logit(0.1), 102.0 / 1024.0);
/// assert_eq!(quantize_logit(0.1) as f32 as f64, quantize_logit(0.1));
/// ```
pub fn quantize_logit(x: f64) -> f64 {
    ((x.clamp(-64.0, 64.0) * 1024.0).round()) / 1024.0
}

/// Rounds a normalised coordinate to a multiple of `2^-12`.
///
/// ```
/// use soft_objectness::internals::casegen::quantize_coord;
/// assert_eq!(quantize_coord(0.5), 0.5);
/// assert_eq!(quantize_coord(0.05), 205.0 / 4096.0);
/// ```
pub fn quantize_coord(x: f64) -> f64 {
    (x * 4096.0).round() / 4096.0
}

/// One of `xs`, each equally likely (one `random_range` draw).
fn pick<T: Copy, R: Rng + ?Sized>(rng: &mut R, xs: &[T]) -> T {
    xs[rng.random_range(0..xs.len())]
}

/// The distribution of one number of a random configuration.
///
/// Each variant consumes the random stream in a fixed way (written beside it), so a
/// [`ConfigSpace`] and a seed give the same configuration on every platform.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Draw {
    /// Always this value; draws nothing.
    Just(f64),
    /// One of the values, each equally likely (repeat a value to weight it); one
    /// `random_range(0..len)` draw.
    Pick(&'static [f64]),
    /// Uniform in `[lo, hi)`; one `random_range(lo..hi)` draw.
    Uniform(f64, f64),
    /// `exp` of a uniform draw in `[ln lo, ln hi)`, clamped to `[lo, hi]`.
    LogUniform(f64, f64),
    /// One of the distributions, chosen with the given weights (one `random_range(0..total)`
    /// draw), then drawn from.
    Mix(&'static [(u32, Draw)]),
    /// The product of two draws, the left one drawn first.
    Times(&'static Draw, &'static Draw),
    /// The absolute value of a draw.
    Abs(&'static Draw),
    /// Any 64 bits as an f64: NaN, infinities and subnormals included (fuzzing only; such
    /// configurations are refused by validation).
    Bits,
}

impl Draw {
    /// Draws one number.
    ///
    /// ```
    /// use soft_objectness::internals::casegen::{Draw, rng_for};
    /// let mut rng = rng_for(0, 0);
    /// assert_eq!(Draw::Just(2.0).sample(&mut rng), 2.0);
    /// let x = Draw::Mix(&[(1, Draw::Pick(&[1.0, 2.0])), (3, Draw::Uniform(5.0, 6.0))])
    ///     .sample(&mut rng);
    /// assert!(x == 1.0 || x == 2.0 || (5.0..6.0).contains(&x));
    /// ```
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        match *self {
            Draw::Just(v) => v,
            Draw::Pick(xs) => pick(rng, xs),
            Draw::Uniform(lo, hi) => rng.random_range(lo..hi),
            Draw::LogUniform(lo, hi) => rng.random_range(lo.ln()..hi.ln()).exp().clamp(lo, hi),
            Draw::Mix(parts) => {
                let total: u32 = parts.iter().map(|&(w, _)| w).sum();
                let mut k = rng.random_range(0..total);
                for (w, d) in parts {
                    if k < *w {
                        return d.sample(rng);
                    }
                    k -= w;
                }
                unreachable!("k < total")
            }
            Draw::Times(a, b) => {
                let a = a.sample(rng);
                a * b.sample(rng)
            }
            Draw::Abs(d) => d.sample(rng).abs(),
            Draw::Bits => f64::from_bits(rng.random::<u64>()),
        }
    }
}

/// A soft loss to pick, its `gamma` drawn when it is loss1.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SoftLossDraw {
    /// [`SoftLoss::Loss1`] with a drawn `gamma`.
    Loss1(Draw),
    /// [`SoftLoss::Loss2`].
    Loss2,
    /// [`SoftLoss::Loss3`].
    Loss3,
}

/// Where the anchors of a random configuration come from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Anchors {
    /// The YOLOv5s anchors (3 layers, 3 anchors; the `nl` and `na` of [`random_config`] are
    /// not used); draws nothing.
    Yolov5s,
    /// `nl x na` anchors, every width and height drawn in turn.
    Each(Draw),
}

/// The distribution of a random [`Config`]: one entry per option.
///
/// [`random_config`] draws the entries in the order of the fields; the presets are the spaces
/// of `softobj gen` ([`ConfigSpace::GEN`]), of the property tests
/// ([`ConfigSpace::EVERY_OPTION`]), of the numeric-extremes tests ([`ConfigSpace::EXTREME`])
/// and of the GPU-against-oracle random cases ([`ConfigSpace::GPU_CHECK`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ConfigSpace {
    /// The anchors.
    pub anchors: Anchors,
    /// [`Hyp::box_gain`].
    pub box_gain: Draw,
    /// [`Hyp::cls`].
    pub cls: Draw,
    /// [`Hyp::cls_pw`].
    pub cls_pw: Draw,
    /// [`Hyp::obj`].
    pub obj: Draw,
    /// [`Hyp::obj_pw`].
    pub obj_pw: Draw,
    /// [`Hyp::anchor_t`].
    pub anchor_t: Draw,
    /// [`Hyp::fl_gamma`].
    pub fl_gamma: Draw,
    /// [`Hyp::label_smoothing`].
    pub label_smoothing: Draw,
    /// The assigners, picked uniformly (repeat one to weight it).
    pub assigner: &'static [Assigner],
    /// The distance modes, picked uniformly.
    pub distance: &'static [Distance],
    /// The probability of a power score (else Gaussian); one `random_bool` draw.
    pub power: f64,
    /// The power's `n` (truncated to `u32`).
    pub power_n: Draw,
    /// The Gaussian's `sigma`.
    pub sigma: Draw,
    /// The soft losses, picked uniformly.
    pub soft_loss: &'static [SoftLossDraw],
    /// The overlap rules, picked uniformly.
    pub overlap: &'static [Overlap],
    /// The probability of autobalance; one `random_bool` draw.
    pub autobalance: f64,
    /// The probability of YOLOv5 v7.0's CIoU (else v6.0); one `random_bool` draw, the last.
    pub ciou_v7: f64,
}

/// The even numbers 0 to 100 (power scores' `n`).
const EVEN_0_TO_100: [f64; 51] = {
    let mut a = [0.0; 51];
    let mut k = 0;
    while k < 51 {
        a[k] = 2.0 * k as f64;
        k += 1;
    }
    a
};

const SOFT_3_YOLOV5_1: &[Assigner] = &[
    Assigner::Soft,
    Assigner::Soft,
    Assigner::Soft,
    Assigner::Yolov5,
];

const EVERY_DISTANCE: &[Distance] = &[
    Distance::CellIndex,
    Distance::Continuous,
    Distance::Diagonal,
];

impl ConfigSpace {
    /// `softobj gen`: anchors of 0.75 to 6 cells (multiples of 1/4, exact in f32) and the values
    /// a YOLOv5 user sets (mostly the defaults; focal 1.5, label smoothing 0.1, positive
    /// weights, `anchor_t` 3 and 6 now and then).
    pub const GEN: ConfigSpace = ConfigSpace {
        anchors: Anchors::Each(Draw::Pick(&[
            0.75, 1.0, 1.25, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0,
        ])),
        box_gain: Draw::Just(0.05),
        cls: Draw::Just(0.5),
        cls_pw: Draw::Pick(&[1.0, 1.0, 1.0, 0.7, 1.5]),
        obj: Draw::Just(1.0),
        obj_pw: Draw::Pick(&[1.0, 1.0, 1.0, 0.6, 2.0]),
        anchor_t: Draw::Pick(&[4.0, 4.0, 4.0, 3.0, 6.0]),
        fl_gamma: Draw::Pick(&[0.0, 0.0, 0.0, 1.5]),
        label_smoothing: Draw::Pick(&[0.0, 0.0, 0.0, 0.1]),
        assigner: SOFT_3_YOLOV5_1,
        distance: &[
            Distance::CellIndex,
            Distance::CellIndex,
            Distance::Continuous,
            Distance::Diagonal,
        ],
        power: 0.4,
        power_n: Draw::Pick(&[0.0, 2.0, 4.0, 6.0, 10.0]),
        sigma: Draw::Pick(&[0.05, 0.3, 0.5, 1.0, 1.0, 2.0]),
        soft_loss: &[
            SoftLossDraw::Loss1(Draw::Just(0.0)),
            SoftLossDraw::Loss1(Draw::Just(1.0)),
            SoftLossDraw::Loss1(Draw::Just(2.0)),
            SoftLossDraw::Loss2,
            SoftLossDraw::Loss2,
            SoftLossDraw::Loss3,
        ],
        overlap: &[Overlap::LastWrite, Overlap::LastWrite, Overlap::Max],
        autobalance: 0.25,
        ciou_v7: 0.25,
    };

    /// Property tests on small grids: anchors of 0.24 to 5 cells, every option, `anchor_t`
    /// from 2 to 1000.
    pub const EVERY_OPTION: ConfigSpace = ConfigSpace {
        anchors: Anchors::Each(Draw::Times(
            &Draw::Pick(&[0.3, 0.7, 1.0, 1.5, 2.5, 4.0]),
            &Draw::Uniform(0.8, 1.25),
        )),
        box_gain: Draw::Just(0.05),
        cls: Draw::Just(0.5),
        cls_pw: Draw::Pick(&[1.0, 1.0, 0.7, 2.0]),
        obj: Draw::Just(1.0),
        obj_pw: Draw::Pick(&[1.0, 1.0, 0.6, 1.8]),
        anchor_t: Draw::Pick(&[2.0, 4.0, 4.0, 20.0, 1e3]),
        fl_gamma: Draw::Pick(&[0.0, 0.0, 1.5, 0.5]),
        label_smoothing: Draw::Pick(&[0.0, 0.0, 0.1]),
        assigner: SOFT_3_YOLOV5_1,
        distance: EVERY_DISTANCE,
        power: 0.5,
        power_n: Draw::Pick(&[0.0, 2.0, 4.0, 10.0]),
        sigma: Draw::Pick(&[0.05, 0.5, 1.0, 3.0]),
        soft_loss: &[
            SoftLossDraw::Loss1(Draw::Just(1.0)),
            SoftLossDraw::Loss1(Draw::Just(0.5)),
            SoftLossDraw::Loss2,
            SoftLossDraw::Loss3,
        ],
        overlap: &[Overlap::LastWrite, Overlap::LastWrite, Overlap::Max],
        autobalance: 0.3,
        ciou_v7: 0.25,
    };

    /// Legal numeric extremes mixed with ordinary values: anchors from `1e-6` to `1e6` cells,
    /// power `n` up to 100, `sigma` from `1e-6` to `1e6`, loss1 `gamma` and `fl_gamma` up to
    /// 10, positive weights 0.1 to 10, `anchor_t` up to `1e6`, label smoothing 0 to 1.
    pub const EXTREME: ConfigSpace = ConfigSpace {
        anchors: Anchors::Each(Draw::Mix(&[
            (3, Draw::Uniform(0.5, 12.0)),
            (2, Draw::LogUniform(1e-3, 1e3)),
            (1, Draw::Pick(&[1e-6, 1e-3, 1e3, 1e6])),
        ])),
        box_gain: Draw::Just(0.05),
        cls: Draw::Just(0.5),
        cls_pw: Draw::Mix(&[(1, Draw::Just(1.0)), (1, Draw::Uniform(0.1, 10.0))]),
        obj: Draw::Just(1.0),
        obj_pw: Draw::Mix(&[(1, Draw::Just(1.0)), (1, Draw::Uniform(0.1, 10.0))]),
        anchor_t: Draw::Mix(&[
            (3, Draw::Just(4.0)),
            (2, Draw::Uniform(1.0001, 10.0)),
            (1, Draw::Just(1e6)),
        ]),
        fl_gamma: Draw::Mix(&[
            (1, Draw::Just(0.0)),
            (1, Draw::Uniform(0.0, 10.0)),
            (1, Draw::Just(10.0)),
        ]),
        label_smoothing: Draw::Mix(&[
            (1, Draw::Just(0.0)),
            (1, Draw::Uniform(0.0, 1.0)),
            (1, Draw::Just(1.0)),
        ]),
        assigner: SOFT_3_YOLOV5_1,
        distance: EVERY_DISTANCE,
        power: 0.5,
        power_n: Draw::Mix(&[(1, Draw::Pick(&EVEN_0_TO_100)), (1, Draw::Just(100.0))]),
        sigma: Draw::Mix(&[
            (1, Draw::LogUniform(1e-3, 1e3)),
            (1, Draw::Pick(&[1e-6, 1e-3, 1.0, 1e3, 1e6])),
        ]),
        soft_loss: &[
            SoftLossDraw::Loss1(Draw::Mix(&[
                (1, Draw::Uniform(0.0, 10.0)),
                (1, Draw::Just(0.0)),
                (1, Draw::Just(10.0)),
            ])),
            SoftLossDraw::Loss2,
            SoftLossDraw::Loss3,
        ],
        overlap: &[Overlap::LastWrite, Overlap::Max],
        autobalance: 0.5,
        // v6.0 only: with v7.0 (sizes as given, no eps) box-size logits below about -355
        // underflow the predicted box to 0 x 0, where CIoU is undefined (atan(0 / 0), NaN in
        // YOLOv5 v7.0 itself): the oracle refuses such inputs (docs/spec.md section 8).
        ciou_v7: 0.0,
    };

    /// GPU against the oracle: anchors of 0.4 to 5 cells, gains `cls` and `obj` drawn too,
    /// power `n` up to 20.
    pub const GPU_CHECK: ConfigSpace = ConfigSpace {
        anchors: Anchors::Each(Draw::Uniform(0.4, 5.0)),
        box_gain: Draw::Just(0.05),
        cls: Draw::Uniform(0.2, 1.0),
        cls_pw: Draw::Pick(&[1.0, 0.6, 2.0]),
        obj: Draw::Uniform(0.5, 1.5),
        obj_pw: Draw::Pick(&[1.0, 0.5, 2.5]),
        anchor_t: Draw::Pick(&[4.0, 2.5, 6.0]),
        fl_gamma: Draw::Mix(&[(7, Draw::Just(0.0)), (3, Draw::Pick(&[1.0, 1.5, 2.0]))]),
        label_smoothing: Draw::Mix(&[(7, Draw::Just(0.0)), (3, Draw::Just(0.1))]),
        assigner: &[
            Assigner::Yolov5,
            Assigner::Soft,
            Assigner::Soft,
            Assigner::Soft,
            Assigner::Soft,
        ],
        distance: EVERY_DISTANCE,
        power: 0.5,
        power_n: Draw::Pick(&[0.0, 2.0, 4.0, 6.0, 10.0, 20.0]),
        sigma: Draw::Pick(&[0.03, 0.3, 0.5, 1.0, 2.0, 5.0]),
        soft_loss: &[
            SoftLossDraw::Loss1(Draw::Pick(&[0.0, 1.0, 2.5])),
            SoftLossDraw::Loss2,
            SoftLossDraw::Loss3,
        ],
        overlap: &[Overlap::Max, Overlap::LastWrite],
        autobalance: 0.3,
        ciou_v7: 0.25,
    };
}

/// A random configuration with `nc` classes drawn from `space`: the anchors (`nl` layers of
/// `na`, unless [`Anchors::Yolov5s`]), then each `hyp` value, the assigner, distance, score,
/// soft loss, overlap and autobalance, in that order.
///
/// The one random configuration generator of the crate, its tests and its fuzz targets: each
/// passes the [`ConfigSpace`] it needs.
///
/// ```
/// use soft_objectness::internals::casegen::{ConfigSpace, random_config, rng_for};
/// let c = random_config(&mut rng_for(7, 0), &ConfigSpace::EVERY_OPTION, 2, 1, 4);
/// assert_eq!((c.nl(), c.na(), c.nc), (2, 1, 4));
/// assert!(c.validate().is_ok());
/// assert_eq!(c, random_config(&mut rng_for(7, 0), &ConfigSpace::EVERY_OPTION, 2, 1, 4));
/// ```
pub fn random_config<R: Rng + ?Sized>(
    rng: &mut R,
    space: &ConfigSpace,
    nl: usize,
    na: usize,
    nc: usize,
) -> Config {
    let anchors = match space.anchors {
        Anchors::Yolov5s => yolov5s_anchors(),
        Anchors::Each(d) => {
            let mut a = Array3::zeros((nl, na, 2));
            for v in a.iter_mut() {
                *v = d.sample(rng);
            }
            a
        }
    };
    let hyp = Hyp {
        box_gain: space.box_gain.sample(rng),
        cls: space.cls.sample(rng),
        cls_pw: space.cls_pw.sample(rng),
        obj: space.obj.sample(rng),
        obj_pw: space.obj_pw.sample(rng),
        anchor_t: space.anchor_t.sample(rng),
        fl_gamma: space.fl_gamma.sample(rng),
        label_smoothing: space.label_smoothing.sample(rng),
    };
    let assigner = pick(rng, space.assigner);
    let distance = pick(rng, space.distance);
    let score = if rng.random_bool(space.power) {
        Score::Power {
            n: space.power_n.sample(rng) as u32,
        }
    } else {
        Score::Gaussian {
            sigma: space.sigma.sample(rng),
        }
    };
    let soft_loss = match pick(rng, space.soft_loss) {
        SoftLossDraw::Loss1(gamma) => SoftLoss::Loss1 {
            gamma: gamma.sample(rng),
        },
        SoftLossDraw::Loss2 => SoftLoss::Loss2,
        SoftLossDraw::Loss3 => SoftLoss::Loss3,
    };
    let overlap = pick(rng, space.overlap);
    let autobalance = rng.random_bool(space.autobalance);
    let ciou = if rng.random_bool(space.ciou_v7) {
        Ciou::V7
    } else {
        Ciou::V6
    };
    Config {
        nc,
        anchors,
        hyp,
        assigner,
        distance,
        score,
        soft_loss,
        overlap,
        autobalance,
        ciou,
    }
}
/// A short description of the options of a configuration, used in case names.
pub(crate) fn describe(c: &Config) -> String {
    let assigner = c.assigner.name();
    let distance = c.distance.name();
    let score = match c.score {
        Score::Power { n } => format!("{} n={n}", c.score.kind().name()),
        Score::Gaussian { sigma } => format!("{} sigma={sigma}", c.score.kind().name()),
    };
    let loss = match c.soft_loss {
        SoftLoss::Loss1 { gamma } => format!("{} gamma={gamma}", c.soft_loss.kind().name()),
        SoftLoss::Loss2 | SoftLoss::Loss3 => c.soft_loss.kind().name().to_string(),
    };
    let overlap = c.overlap.name();
    let mut s = if c.assigner == Assigner::Soft {
        format!("{assigner}, {distance}, {score}, {loss}, {overlap}")
    } else {
        assigner.to_string()
    };
    s.push_str(&format!(", nc={}", c.nc));
    if c.autobalance {
        s.push_str(", autobalance");
    }
    if c.ciou == Ciou::V7 {
        s.push_str(", CIoU v7.0");
    }
    let h = &c.hyp;
    if h.fl_gamma > 0.0 {
        s.push_str(&format!(", focal {}", h.fl_gamma));
    }
    if h.label_smoothing > 0.0 {
        s.push_str(&format!(", label smoothing {}", h.label_smoothing));
    }
    if h.obj_pw != 1.0 || h.cls_pw != 1.0 {
        s.push_str(&format!(", obj_pw {} cls_pw {}", h.obj_pw, h.cls_pw));
    }
    if h.anchor_t != 4.0 {
        s.push_str(&format!(", anchor_t {}", h.anchor_t));
    }
    s
}

/// Random boxes for `batch` images: mostly COCO-like boxes inside the image (log-normal sizes,
/// as the default batch), a quarter of them wild (leaving the image, larger than it, centres
/// exactly on its border or corners), 0 to 8 per image (none in one image of five);
/// coordinates quantized with [`quantize_coord`].
pub fn random_targets(rng: &mut StdRng, batch: usize, nc: usize) -> Array2<f64> {
    let mut rows: Vec<[f64; 6]> = Vec::new();
    for b in 0..batch {
        let n = pick(rng, &[0, 0, 1, 1, 2, 2, 3, 4, 6, 8]);
        let coco = crate::default_batch::random_targets(rng, 1, nc, n);
        for k in 0..n {
            let mut r = [
                b as f64,
                coco[[k, 1]],
                coco[[k, 2]],
                coco[[k, 3]],
                coco[[k, 4]],
                coco[[k, 5]],
            ];
            if rng.random_bool(0.25) {
                let coord = |rng: &mut StdRng| match rng.random_range(0..8) {
                    0 => 0.0,
                    1 => 1.0,
                    _ => rng.random_range(-0.15..1.15),
                };
                r[2] = coord(rng);
                r[3] = coord(rng);
                r[4] = rng.random_range(0.01..1.3);
                r[5] = rng.random_range(0.01..1.3);
            }
            for v in &mut r[2..] {
                *v = quantize_coord(*v);
            }
            rows.push(r);
        }
    }
    let mut t = Array2::zeros((rows.len(), 6));
    for (k, r) in rows.iter().enumerate() {
        for (c, &v) in r.iter().enumerate() {
            t[[k, c]] = v;
        }
    }
    t
}

/// Random predictions for the given grids `(ny, nx)`: standard normal logits, objectness
/// shifted by `obj_shift`, quantized with [`quantize_logit`]; stored as f32 (exactly).
pub fn random_predictions(
    rng: &mut StdRng,
    batch: usize,
    na: usize,
    grids: &[(usize, usize)],
    nc: usize,
    obj_shift: f64,
) -> Vec<Prediction> {
    let normal = Normal::new(0.0f64, 1.0).expect("valid normal");
    grids
        .iter()
        .map(|&(ny, nx)| {
            let mut p = Array5::<f32>::zeros((batch, na, ny, nx, 5 + nc));
            for (i, v) in p.iter_mut().enumerate() {
                let z = normal.sample(rng);
                let z = if i % (5 + nc) == 4 { z + obj_shift } else { z };
                *v = quantize_logit(z) as f32;
            }
            Prediction::F32(p)
        })
        .collect()
}

/// Image sides of random cases, in pixels (the finest layer has `side / 8` cells).
const SIDES: &[usize] = &[32, 64, 64, 96, 128];

/// The shape of one random case.
struct Shape {
    width: usize,
    height: usize,
    batch: usize,
    nl: usize,
    na: usize,
    nc: usize,
}

impl Shape {
    /// Draws the image (width, then height), the batch, `nl`, `na` and `nc`, each within
    /// `space`: 32 to 128 pixels a side, 1 to 4 images, 1 to 5 layers of 1 to 4 anchors, 1 to
    /// 8 classes.
    fn draw(rng: &mut StdRng, space: &CaseSpace) -> Result<Shape> {
        let drawn = Val::Image(pick(rng, SIDES), pick(rng, SIDES));
        let Val::Image(width, height) = space.choose(rng, Key::Image, drawn) else {
            unreachable!("an image key holds images")
        };
        let mut count = |key: Key, xs: &[usize]| {
            let drawn = Val::Count(pick(rng, xs));
            match space.choose(rng, key, drawn) {
                Val::Count(n) => n,
                _ => unreachable!("a count key holds counts"),
            }
        };
        let shape = Shape {
            width,
            height,
            batch: count(Key::Batch, &[1, 1, 2, 2, 3, 4]),
            nl: count(Key::Nl, &[1, 2, 3, 3, 4, 5]),
            na: count(Key::Na, &[1, 2, 3, 3, 4]),
            nc: count(Key::Nc, &[1, 2, 3, 3, 5, 8]),
        };
        let cells: usize = shape.grids().iter().map(|&(ny, nx)| ny * nx).sum();
        let elements = [shape.batch, shape.na, cells, 5 + shape.nc]
            .iter()
            .fold(1u64, |a, &n| a.saturating_mul(n as u64));
        let limit = Limits::default().max_elements;
        if elements > limit {
            return Err(Error::TooLarge {
                field: "space (the predictions of a random case)".into(),
                elements,
                limit,
            });
        }
        Ok(shape)
    }

    /// The grid `(ny, nx)` of each layer: `H/8 x W/8` cells, each further layer half the one
    /// before (rounded up), as YOLOv5's strides 8, 16, 32, ... on a padded image.
    fn grids(&self) -> Vec<(usize, usize)> {
        let (mut ny, mut nx) = (self.height / 8, self.width / 8);
        (0..self.nl)
            .map(|_| {
                let g = (ny, nx);
                (ny, nx) = (ny.div_ceil(2), nx.div_ceil(2));
                g
            })
            .collect()
    }
}

/// Narrows the options of `c` to `space`: each restricted key keeps its drawn value when
/// allowed, else takes one of the allowed ones; a score or soft loss whose kind changes draws
/// its parameter from [`ConfigSpace::GEN`] first.
fn restrict_config(rng: &mut StdRng, space: &CaseSpace, c: &mut Config) {
    for key in Key::all() {
        if space.allowed(key).is_none()
            || matches!(key, Key::Image | Key::Batch | Key::Nl | Key::Na | Key::Nc)
        {
            continue;
        }
        let Some(drawn) = key.of_config(c) else {
            continue; // a parameter of the kind not drawn
        };
        let v = space.choose(rng, key, drawn);
        if v == drawn {
            continue;
        }
        key.set(c, v);
        let space_gen = &ConfigSpace::GEN;
        match (key, c.score.kind(), c.soft_loss.kind()) {
            (Key::ScoreKind, ScoreKind::Power, _) => {
                c.score = Score::Power {
                    n: space_gen.power_n.sample(rng) as u32,
                }
            }
            (Key::ScoreKind, ScoreKind::Gaussian, _) => {
                c.score = Score::Gaussian {
                    sigma: space_gen.sigma.sample(rng),
                }
            }
            (Key::SoftLossKind, _, SoftLossKind::Loss1) => {
                c.soft_loss = SoftLoss::Loss1 {
                    gamma: Draw::Pick(&[0.0, 1.0, 2.0]).sample(rng),
                }
            }
            _ => {}
        }
    }
}

/// Random case number `index` of seed `seed` within `space`: a random shape (image, batch,
/// layers, anchors, classes), a random configuration from [`ConfigSpace::GEN`] (every
/// assigner, distance, score, soft loss, overlap, focal, label smoothing, positive weights,
/// autobalance, CIoU release) narrowed to `space`, [`random_targets`] and
/// [`random_predictions`].
///
/// # Errors
/// [`Error::TooLarge`] when the space's shape makes predictions over the element limit.
pub fn random_case(space: &CaseSpace, seed: u64, index: u64) -> Result<Case> {
    let mut rng = rng_for(seed, index);
    let shape = Shape::draw(&mut rng, space)?;
    let mut config = random_config(&mut rng, &ConfigSpace::GEN, shape.nl, shape.na, shape.nc);
    restrict_config(&mut rng, space, &mut config);
    let targets = random_targets(&mut rng, shape.batch, shape.nc);
    let obj_shift = pick(&mut rng, &[-4.5, -2.0, 0.0]);
    let predictions = random_predictions(
        &mut rng,
        shape.batch,
        shape.na,
        &shape.grids(),
        shape.nc,
        obj_shift,
    );
    let layers = |n: usize, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
    Ok(Case {
        name: format!(
            "random-{index:03} (seed {seed}, {}x{}, batch {}, {} of {}): {}",
            shape.width,
            shape.height,
            shape.batch,
            layers(shape.nl, "layer"),
            layers(shape.na, "anchor"),
            describe(&config)
        ),
        config,
        inputs: Inputs {
            targets,
            predictions,
        },
        expected: None,
        warnings: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::casegen::edge_cases;
    use crate::eval::evaluate;
    use crate::options::EvalOptions;
    use std::collections::BTreeSet;

    fn every() -> CaseSpace {
        CaseSpace::default()
    }

    #[test]
    fn generation_is_deterministic_and_seed_dependent() {
        let o = every();
        assert_eq!(
            random_case(&o, 0, 0).unwrap(),
            random_case(&o, 0, 0).unwrap()
        );
        assert_ne!(
            random_case(&o, 0, 0).unwrap(),
            random_case(&o, 0, 1).unwrap()
        );
        assert_ne!(
            random_case(&o, 0, 0).unwrap(),
            random_case(&o, 1, 0).unwrap()
        );
        assert_eq!(edge_cases(3), edge_cases(3));
        assert_ne!(edge_cases(3)[0].inputs, edge_cases(4)[0].inputs);
    }

    #[test]
    fn random_cases_cover_the_options_and_shapes_and_evaluate() {
        let mut seen: [BTreeSet<String>; 8] = Default::default();
        let (mut power, mut gauss, mut leaving, mut empty_image, mut nonsquare) = (0, 0, 0, 0, 0);
        for i in 0..80 {
            let c = random_case(&every(), 0, i).unwrap();
            evaluate(&c.config, &c.inputs, &EvalOptions::default()).unwrap();
            let p = c.inputs.predictions[0].shape();
            for (set, v) in seen.iter_mut().zip([
                format!("{:?}", c.config.assigner),
                format!("{:?}", c.config.distance),
                c.config.nl().to_string(),
                c.config.na().to_string(),
                p[0].to_string(),
                c.config.nc.to_string(),
                format!("{:?}", c.config.ciou),
                c.config.autobalance.to_string(),
            ]) {
                set.insert(v);
            }
            nonsquare += usize::from(p[2] != p[3]);
            match c.config.score {
                Score::Power { .. } => power += 1,
                Score::Gaussian { .. } => gauss += 1,
            }
            for r in c.inputs.targets.outer_iter() {
                if r[2] - r[4] / 2.0 < 0.0 || r[2] + r[4] / 2.0 > 1.0 {
                    leaving += 1;
                }
                for v in r.iter() {
                    assert_eq!(*v as f32 as f64, *v);
                    assert_eq!((*v * 4096.0).fract(), 0.0);
                }
            }
            for b in 0..p[0] {
                if !c.inputs.targets.outer_iter().any(|r| r[0] == b as f64) {
                    empty_image += 1;
                }
            }
            for a in c.config.anchors.iter() {
                assert_eq!(*a as f32 as f64, *a);
            }
            for p in &c.inputs.predictions {
                assert!(matches!(p, Prediction::F32(_)));
            }
        }
        let sizes: Vec<usize> = seen.iter().map(BTreeSet::len).collect();
        // assigners, distances, nl 1-5, na 1-4, batch 1-4, nc of five values, CIoU, autobalance
        assert_eq!(sizes, [2, 3, 5, 4, 4, 5, 2, 2], "{seen:?}");
        assert!(seen[5].contains("1"));
        assert!(
            power > 5 && gauss > 5 && leaving > 10 && empty_image > 5 && nonsquare > 10,
            "{power} {gauss} {leaving} {empty_image} {nonsquare}"
        );
    }

    #[test]
    fn random_cases_stay_in_their_space() {
        let texts = [
            "assigner=yolov5,ciou=v6.0,hyp.fl_gamma=0,hyp.label_smoothing=0,autobalance=false",
            "score.kind=power,score.n=2|4,distance=continuous|diagonal",
            "score.kind=gaussian,score.sigma=0.5,soft_loss.kind=loss1,soft_loss.gamma=2",
            "nl=2,na=1,batch=1,nc=1,image=64x32",
            "overlap=max,hyp.obj_pw=2|0.5",
        ];
        for text in texts {
            let space = CaseSpace::parse(text).unwrap();
            for i in 0..25 {
                let c = random_case(&space, 3, i).unwrap();
                assert!(space.contains(&c), "{text}: {}", c.name);
                evaluate(&c.config, &c.inputs, &EvalOptions::default()).unwrap();
            }
        }
        let c = random_case(&CaseSpace::parse("nl=2,image=64x32").unwrap(), 0, 0).unwrap();
        let grids: Vec<[usize; 5]> = c.inputs.predictions.iter().map(|p| p.shape()).collect();
        assert_eq!(
            (grids[0][2], grids[0][3], grids[1][2], grids[1][3]),
            (4, 8, 2, 4)
        );
        let huge = CaseSpace::parse("image=8192x8192,batch=4096").unwrap();
        assert!(matches!(
            random_case(&huge, 0, 0),
            Err(Error::TooLarge { .. })
        ));
    }

    #[test]
    fn every_preset_gives_valid_configurations_in_its_stream_order() {
        for space in [
            ConfigSpace::GEN,
            ConfigSpace::EVERY_OPTION,
            ConfigSpace::EXTREME,
            ConfigSpace::GPU_CHECK,
        ] {
            for seed in 0..200 {
                let c = random_config(&mut rng_for(seed, 9), &space, 2, 3, 4);
                c.validate()
                    .unwrap_or_else(|e| panic!("{space:?} seed {seed}: {e}"));
                assert_eq!(c, random_config(&mut rng_for(seed, 9), &space, 2, 3, 4));
            }
        }
    }
}
