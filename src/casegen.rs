//! Seeded case generation (`softobj gen`): random cases over every option, and the *edge mix*,
//! a fixed list of small cases that together exercise every rule of the spec.
//!
//! Everything is a function of the seed (and the case's index): the same seed gives the same
//! cases, bit for bit, and the same files byte for byte ([`case_json`]).
//!
//! Generated inputs are friendly to single-precision implementations: prediction logits are
//! multiples of `2^-10` and target coordinates multiples of `2^-12` (see [`quantize_logit`],
//! [`quantize_coord`]), so they are exact in f32, and `x * nx`, `gw / 2`, `gx - gw / 2` are
//! exact in f32 too for grids up to 2048 cells: an f32 port sees the oracle's cell ranges.
//!
//! ```
//! use soft_objectness::casegen::{GenOptions, edge_cases, random_case};
//! let opts = GenOptions::default();
//! let a = random_case(&opts, 3).unwrap();
//! assert_eq!(a, random_case(&opts, 3).unwrap()); // deterministic
//! assert!(soft_objectness::evaluate_case(&a, &Default::default()).is_ok());
//! let edges = edge_cases(opts.seed);
//! assert!(edges.iter().any(|c| c.name.starts_with("empty-targets")));
//! ```

use std::path::{Path, PathBuf};

use ndarray::{Array2, Array3, Array5};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Normal};
use serde_json::{Value, json};

use crate::answer::Answer;
use crate::case::{Case, FORMAT, Inputs, Prediction};
use crate::config::{
    Assigner, Config, Distance, Hyp, Overlap, Score, SoftLoss, YOLOV5S_STRIDES, yolov5s_anchors,
};
use crate::error::{Error, Result};

/// The shape of generated random cases.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GenOptions {
    /// Seed of every random choice.
    pub seed: u64,
    /// Image width in pixels, a multiple of 32 (the three YOLOv5s strides 8, 16, 32).
    pub width: usize,
    /// Image height in pixels, a multiple of 32.
    pub height: usize,
    /// Images per batch.
    pub batch: usize,
    /// Classes.
    pub nc: usize,
}

impl Default for GenOptions {
    /// Small cases: seed 0, 64x64 images (grids 8x8, 4x4, 2x2), batch 2, 3 classes.
    fn default() -> Self {
        GenOptions {
            seed: 0,
            width: 64,
            height: 64,
            batch: 2,
            nc: 3,
        }
    }
}

impl GenOptions {
    /// Checks the options.
    ///
    /// # Errors
    /// [`Error::Invalid`] naming `gen.image`, `gen.batch` or `gen.nc`.
    pub fn validate(&self) -> Result<()> {
        let (w, h) = (self.width, self.height);
        if w == 0 || h == 0 || w % 32 != 0 || h % 32 != 0 || w > 65536 || h > 65536 {
            return Err(Error::invalid(
                "gen.image",
                format!("{w}x{h}"),
                "width and height must be positive multiples of 32, at most 65536",
            ));
        }
        if self.batch == 0 || self.batch > 4096 {
            return Err(Error::invalid("gen.batch", self.batch, "must be 1 to 4096"));
        }
        if self.nc == 0 || self.nc > 100_000 {
            return Err(Error::invalid("gen.nc", self.nc, "must be 1 to 100000"));
        }
        // The stride-8 layer is the largest; refuse what a case could not hold.
        let elements = (self.batch as u64 * 3)
            .saturating_mul((w / 8) as u64 * (h / 8) as u64)
            .saturating_mul(5 + self.nc as u64);
        let limit = crate::Limits::default().max_elements;
        if elements > limit {
            return Err(Error::TooLarge {
                field: "gen (predictions of the stride-8 layer)".into(),
                elements,
                limit,
            });
        }
        Ok(())
    }
}

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
/// use soft_objectness::casegen::quantize_logit;
/// assert_eq!(quantize_logit(0.1), 102.0 / 1024.0);
/// assert_eq!(quantize_logit(0.1) as f32 as f64, quantize_logit(0.1));
/// ```
pub fn quantize_logit(x: f64) -> f64 {
    ((x.clamp(-64.0, 64.0) * 1024.0).round()) / 1024.0
}

/// Rounds a normalised coordinate to a multiple of `2^-12`.
///
/// ```
/// use soft_objectness::casegen::quantize_coord;
/// assert_eq!(quantize_coord(0.5), 0.5);
/// assert_eq!(quantize_coord(0.05), 205.0 / 4096.0);
/// ```
pub fn quantize_coord(x: f64) -> f64 {
    (x * 4096.0).round() / 4096.0
}

fn pick<T: Copy>(rng: &mut StdRng, xs: &[T]) -> T {
    xs[rng.random_range(0..xs.len())]
}

/// A short description of the options of a configuration, used in case names.
pub fn describe(c: &Config) -> String {
    let assigner = match c.assigner {
        Assigner::Soft => "soft",
        Assigner::Yolov5 => "yolov5",
    };
    let distance = match c.distance {
        Distance::CellIndex => "cell_index",
        Distance::Continuous => "continuous",
        Distance::Diagonal => "diagonal",
    };
    let score = match c.score {
        Score::Power { n } => format!("power n={n}"),
        Score::Gaussian { sigma } => format!("gaussian sigma={sigma}"),
    };
    let loss = match c.soft_loss {
        SoftLoss::Loss1 { gamma } => format!("loss1 gamma={gamma}"),
        SoftLoss::Loss2 => "loss2".into(),
        SoftLoss::Loss3 => "loss3".into(),
    };
    let overlap = match c.overlap {
        Overlap::LastWrite => "last_write",
        Overlap::Max => "max",
    };
    let mut s = if c.assigner == Assigner::Soft {
        format!("{assigner}, {distance}, {score}, {loss}, {overlap}")
    } else {
        assigner.to_string()
    };
    s.push_str(&format!(", nc={}", c.nc));
    if c.autobalance {
        s.push_str(", autobalance");
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

fn random_config(rng: &mut StdRng, nc: usize) -> Config {
    Config {
        nc,
        anchors: yolov5s_anchors(),
        hyp: Hyp {
            cls_pw: pick(rng, &[1.0, 1.0, 1.0, 0.7, 1.5]),
            obj_pw: pick(rng, &[1.0, 1.0, 1.0, 0.6, 2.0]),
            anchor_t: pick(rng, &[4.0, 4.0, 4.0, 3.0, 6.0]),
            fl_gamma: pick(rng, &[0.0, 0.0, 0.0, 1.5]),
            label_smoothing: pick(rng, &[0.0, 0.0, 0.0, 0.1]),
            ..Hyp::default()
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
                Distance::CellIndex,
                Distance::Continuous,
                Distance::Diagonal,
            ],
        ),
        score: if rng.random_bool(0.4) {
            Score::Power {
                n: pick(rng, &[0, 2, 4, 6, 10]),
            }
        } else {
            Score::Gaussian {
                sigma: pick(rng, &[0.05, 0.3, 0.5, 1.0, 1.0, 2.0]),
            }
        },
        soft_loss: pick(
            rng,
            &[
                SoftLoss::Loss1 { gamma: 0.0 },
                SoftLoss::Loss1 { gamma: 1.0 },
                SoftLoss::Loss1 { gamma: 2.0 },
                SoftLoss::Loss2,
                SoftLoss::Loss2,
                SoftLoss::Loss3,
            ],
        ),
        overlap: pick(rng, &[Overlap::LastWrite, Overlap::LastWrite, Overlap::Max]),
        autobalance: rng.random_bool(0.25),
        ciou: crate::config::Ciou::V6,
    }
}

/// Random boxes for `batch` images: mostly COCO-like boxes inside the image (log-normal sizes,
/// as the default batch), a quarter of them wild (leaving the image, larger than it, exactly
/// on its border), 0 to 8 per image; coordinates quantized with [`quantize_coord`].
pub fn random_targets(rng: &mut StdRng, batch: usize, nc: usize) -> Array2<f64> {
    let mut rows: Vec<[f64; 6]> = Vec::new();
    for b in 0..batch {
        let n = rng.random_range(0..=8usize);
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

/// Random case number `index` under `opts`: a random configuration (every assigner, distance,
/// score, soft loss, overlap, focal, label smoothing, positive weights, autobalance), YOLOv5s
/// anchors, [`random_targets`] and [`random_predictions`].
///
/// # Errors
/// [`GenOptions::validate`].
pub fn random_case(opts: &GenOptions, index: u64) -> Result<Case> {
    opts.validate()?;
    let mut rng = rng_for(opts.seed, index);
    let config = random_config(&mut rng, opts.nc);
    let targets = random_targets(&mut rng, opts.batch, opts.nc);
    let grids: Vec<(usize, usize)> = YOLOV5S_STRIDES
        .iter()
        .map(|&s| (opts.height / s as usize, opts.width / s as usize))
        .collect();
    let obj_shift = pick(&mut rng, &[-4.5, -2.0, 0.0]);
    let predictions = random_predictions(
        &mut rng,
        opts.batch,
        config.na(),
        &grids,
        opts.nc,
        obj_shift,
    );
    Ok(Case {
        name: format!(
            "random-{index:03} (seed {}, {}x{}, batch {}): {}",
            opts.seed,
            opts.width,
            opts.height,
            opts.batch,
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

/// One entry of the edge mix before its predictions are drawn.
struct Edge {
    name: &'static str,
    /// What the case exercises.
    why: &'static str,
    config: Config,
    grids: Vec<(usize, usize)>,
    batch: usize,
    targets: Vec<[f64; 6]>,
    /// Logits of magnitude 40 instead of standard normal ones.
    saturate: bool,
}

fn anchors(layers: &[&[(f64, f64)]]) -> Array3<f64> {
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

/// Three anchors for an 8x8 grid (grid units): boxes of 1 to 12 cells match at least one.
const A8: &[(f64, f64)] = &[(1.5, 1.5), (3.0, 2.0), (2.0, 4.0)];

fn one_layer() -> Config {
    Config {
        nc: 3,
        anchors: anchors(&[A8]),
        ..Config::default()
    }
}

fn yolov5s(nc: usize) -> Config {
    Config {
        nc,
        anchors: yolov5s_anchors(),
        ..Config::default()
    }
}

/// The grids of a 64x64 image at strides 8, 16, 32.
const G64: [(usize, usize); 3] = [(8, 8), (4, 4), (2, 2)];

/// A few ordinary boxes on two images (8x8 grid: 1.6 to 4 cells).
const ORDINARY: &[[f64; 6]] = &[
    [0.0, 0.0, 0.40, 0.55, 0.43, 0.30],
    [0.0, 2.0, 0.70, 0.25, 0.25, 0.35],
    [1.0, 1.0, 0.30, 0.60, 0.50, 0.40],
    [1.0, 0.0, 0.62, 0.42, 0.20, 0.22],
];

fn edge_list() -> Vec<Edge> {
    let soft = one_layer;
    let e = |name, why, config: Config, targets: &[[f64; 6]]| Edge {
        name,
        why,
        grids: if config.nl() == 3 {
            G64.to_vec()
        } else {
            vec![(8, 8)]
        },
        config,
        batch: 2,
        targets: targets.to_vec(),
        saturate: false,
    };
    let power = |n| Config {
        score: Score::Power { n },
        ..soft()
    };
    let gauss = |sigma| Config {
        score: Score::Gaussian { sigma },
        ..soft()
    };
    let baseline = || Config {
        assigner: Assigner::Yolov5,
        ..soft()
    };
    let leave_all: &[[f64; 6]] = &[
        [0.0, 0.0, 0.05, 0.50, 0.40, 0.30],
        [0.0, 1.0, 0.95, 0.40, 0.40, 0.30],
        [1.0, 2.0, 0.50, 0.04, 0.30, 0.50],
        [1.0, 0.0, 0.45, 0.97, 0.30, 0.45],
        [1.0, 1.0, -0.05, -0.03, 0.30, 0.30],
    ];
    let xy01: &[[f64; 6]] = &[
        [0.0, 0.0, 0.0, 0.0, 0.30, 0.30],
        [0.0, 1.0, 1.0, 1.0, 0.30, 0.30],
        [1.0, 2.0, 0.0, 1.0, 0.25, 0.40],
        [1.0, 0.0, 1.0, 0.0, 0.40, 0.25],
        [1.0, 1.0, 0.5, 0.0, 0.30, 0.30],
        [1.0, 1.0, 1.0, 0.5, 0.30, 0.30],
    ];
    // Two boxes of equal size (equal cell counts) overlapping, in both orders.
    // (Dyadic values: exact after quantize_coord; 4x4 cells each on the 8x8 grid.)
    let equal: &[[f64; 6]] = &[
        [0.0, 0.0, 0.40625, 0.40625, 0.40625, 0.40625],
        [0.0, 1.0, 0.53125, 0.5, 0.40625, 0.40625],
        [1.0, 1.0, 0.53125, 0.5, 0.40625, 0.40625],
        [1.0, 0.0, 0.40625, 0.40625, 0.40625, 0.40625],
    ];
    let crowded: &[[f64; 6]] = &[
        [0.0, 0.0, 0.30, 0.30, 0.50, 0.50],
        [0.0, 1.0, 0.45, 0.40, 0.30, 0.35],
        [0.0, 2.0, 0.50, 0.50, 0.20, 0.20],
        [0.0, 0.0, 0.60, 0.55, 0.45, 0.40],
        [0.0, 1.0, 0.35, 0.60, 0.25, 0.50],
        [1.0, 2.0, 0.50, 0.50, 0.60, 0.60],
        [1.0, 0.0, 0.50, 0.50, 0.30, 0.30],
    ];
    let larger: &[[f64; 6]] = &[
        [0.0, 0.0, 0.50, 0.45, 1.50, 1.25],
        [1.0, 1.0, 0.30, 0.70, 1.20, 1.40],
    ];
    // gx, gy = 3.25, 4.25 and gw = gh = 1.5: the corner cell (5, 4) has continuous d = 2.36.
    let small: &[[f64; 6]] = &[
        [0.0, 0.0, 0.40625, 0.53125, 0.1875, 0.1875],
        [1.0, 2.0, 0.71875, 0.28125, 0.15625, 0.21875],
    ];
    vec![
        e(
            "default-3-layers",
            "YOLOv5s anchors on a 64x64 image, spec defaults",
            yolov5s(3),
            ORDINARY,
        ),
        e(
            "leave-left",
            "box ranges leaving the grid on the left (trunc toward zero), a centre outside",
            power(10),
            &[leave_all[0], leave_all[4]],
        ),
        e(
            "leave-right",
            "box range beyond the last column (clamped duplicates)",
            gauss(1.0),
            &[leave_all[1]],
        ),
        e(
            "leave-top",
            "box range above the first row",
            power(10),
            &[leave_all[2], leave_all[4]],
        ),
        e(
            "leave-bottom",
            "box range below the last row",
            power(4),
            &[leave_all[3]],
        ),
        e(
            "leave-all-sides-yolov5",
            "baseline: neighbour cells and clamping on every side",
            baseline(),
            leave_all,
        ),
        e(
            "xy-exactly-0-and-1",
            "centres exactly on the image border (gi = nx is clamped)",
            power(10),
            xy01,
        ),
        e(
            "xy-exactly-0-and-1-yolov5",
            "baseline with centres exactly on the border",
            baseline(),
            xy01,
        ),
        e(
            "larger-than-grid",
            "boxes larger than the image: ranges wider than the grid on both sides",
            Config {
                anchors: anchors(&[&[(9.0, 9.0), (12.0, 9.0), (8.0, 11.0)]]),
                ..gauss(1.0)
            },
            larger,
        ),
        e(
            "larger-than-grid-continuous-power",
            "boxes larger than the image, continuous distance, power score",
            Config {
                anchors: anchors(&[&[(9.0, 9.0), (12.0, 9.0), (8.0, 11.0)]]),
                distance: Distance::Continuous,
                ..power(10)
            },
            larger,
        ),
        e(
            "equal-cells-last-write",
            "equal cell counts overlapping: the stable order decides",
            power(10),
            equal,
        ),
        e(
            "equal-cells-max",
            "equal cell counts overlapping with overlap = max",
            Config {
                overlap: Overlap::Max,
                ..power(10)
            },
            equal,
        ),
        e(
            "empty-targets",
            "no targets at all: every cell a hard negative",
            soft(),
            &[],
        ),
        e(
            "empty-targets-yolov5",
            "baseline with no targets",
            baseline(),
            &[],
        ),
        e(
            "layer-without-matches",
            "a tiny box matches layer 0 only; layers 1 and 2 have no rows",
            yolov5s(3),
            &[
                [0.0, 1.0, 0.40, 0.60, 0.05, 0.06],
                [1.0, 2.0, 0.70, 0.20, 0.05, 0.06],
            ],
        ),
        e(
            "power-d-above-2-continuous",
            "continuous distance, power score: corner cells with d > 2 are skipped",
            Config {
                distance: Distance::Continuous,
                ..power(2)
            },
            small,
        ),
        e(
            "power-d-above-2-diagonal",
            "diagonal distance, power score: cells with d > 2 are skipped",
            // Quarter-cell boxes straddling cell corners: d up to 2.25; the second box puts a
            // cell at d = 2 (the boundary, kept: score 1).
            Config {
                anchors: anchors(&[&[(0.3, 0.3)]]),
                distance: Distance::Diagonal,
                ..power(4)
            },
            &[
                [0.0, 0.0, 0.4921875, 0.4921875, 0.03125, 0.03125],
                [1.0, 1.0, 0.25, 0.75, 0.03125, 0.03125],
            ],
        ),
        e(
            "gaussian-tiny-sigma-underflow",
            "sigma 0.0105: scores underflow to subnormals (d = 0.4) and to exactly 0 inside boxes",
            gauss(0.0105),
            ORDINARY,
        ),
        e(
            "gaussian-tiny-sigma-continuous",
            "sigma 0.05 with the continuous distance",
            Config {
                distance: Distance::Continuous,
                ..gauss(0.05)
            },
            ORDINARY,
        ),
        e(
            "distance-cell-index",
            "cell_index distance, gaussian 0.5",
            gauss(0.5),
            ORDINARY,
        ),
        e(
            "distance-continuous",
            "continuous distance, gaussian 0.5",
            Config {
                distance: Distance::Continuous,
                ..gauss(0.5)
            },
            ORDINARY,
        ),
        e(
            "distance-diagonal",
            "diagonal distance, gaussian 0.5",
            Config {
                distance: Distance::Diagonal,
                ..gauss(0.5)
            },
            ORDINARY,
        ),
        e(
            "score-power-0",
            "power n = 0: 0^0 = 1, every enumerated cell positive",
            power(0),
            ORDINARY,
        ),
        e("score-power-2", "power n = 2", power(2), ORDINARY),
        e(
            "score-power-10",
            "power n = 10: cells at d = 1 exactly are hard negatives",
            power(10),
            ORDINARY,
        ),
        e("score-gaussian-2", "gaussian sigma 2", gauss(2.0), ORDINARY),
        e(
            "loss1-gamma-0",
            "soft loss1 with gamma 0",
            Config {
                soft_loss: SoftLoss::Loss1 { gamma: 0.0 },
                ..soft()
            },
            ORDINARY,
        ),
        e(
            "loss1-gamma-1",
            "soft loss1 with gamma 1 (the published loss1)",
            Config {
                soft_loss: SoftLoss::Loss1 { gamma: 1.0 },
                ..soft()
            },
            ORDINARY,
        ),
        e(
            "loss1-gamma-2.5",
            "soft loss1 with gamma 2.5",
            Config {
                soft_loss: SoftLoss::Loss1 { gamma: 2.5 },
                ..power(2)
            },
            ORDINARY,
        ),
        e("loss2", "soft loss2 (the default)", soft(), ORDINARY),
        e(
            "loss3",
            "soft loss3",
            Config {
                soft_loss: SoftLoss::Loss3,
                ..soft()
            },
            ORDINARY,
        ),
        e(
            "overlap-last-write-crowded",
            "many overlapping boxes, last write wins",
            gauss(1.0),
            crowded,
        ),
        e(
            "overlap-max-crowded",
            "many overlapping boxes, overlap = max",
            Config {
                overlap: Overlap::Max,
                ..gauss(1.0)
            },
            crowded,
        ),
        e(
            "focal",
            "focal loss (fl_gamma 1.5) on hard cells and classes",
            Config {
                hyp: Hyp {
                    fl_gamma: 1.5,
                    ..Hyp::default()
                },
                ..soft()
            },
            ORDINARY,
        ),
        e(
            "focal-yolov5",
            "baseline with focal loss",
            Config {
                hyp: Hyp {
                    fl_gamma: 1.5,
                    ..Hyp::default()
                },
                ..baseline()
            },
            ORDINARY,
        ),
        e(
            "label-smoothing",
            "label smoothing 0.1 on the class targets",
            Config {
                hyp: Hyp {
                    label_smoothing: 0.1,
                    ..Hyp::default()
                },
                ..soft()
            },
            ORDINARY,
        ),
        e(
            "pos-weights",
            "obj_pw 2.5 and cls_pw 0.6",
            Config {
                hyp: Hyp {
                    obj_pw: 2.5,
                    cls_pw: 0.6,
                    ..Hyp::default()
                },
                ..soft()
            },
            ORDINARY,
        ),
        e(
            "nc-1",
            "one class: no class loss",
            Config { nc: 1, ..soft() },
            &[
                [0.0, 0.0, 0.40, 0.55, 0.43, 0.30],
                [1.0, 0.0, 0.30, 0.60, 0.50, 0.40],
            ],
        ),
        e(
            "autobalance",
            "autobalance over three layers (normalised by the stride-16 layer)",
            Config {
                autobalance: true,
                ..yolov5s(3)
            },
            ORDINARY,
        ),
        e(
            "autobalance-one-layer",
            "autobalance with one layer (normalised by layer 0)",
            Config {
                autobalance: true,
                ..soft()
            },
            ORDINARY,
        ),
        e(
            "anchor-t-boundary",
            "ratios exactly anchor_t (rejected, strict), just below (kept), zero sizes (never kept)",
            Config {
                anchors: anchors(&[&[(2.0, 2.0)]]),
                ..soft()
            },
            &[
                [0.0, 0.0, 0.50, 0.50, 1.00, 0.25],
                [0.0, 1.0, 0.50, 0.50, 0.0625, 0.25],
                [0.0, 2.0, 0.40, 0.40, 0.96875, 0.25],
                [1.0, 0.0, 0.50, 0.50, 0.0, 0.25],
                [1.0, 1.0, 0.50, 0.50, 0.25, 0.0],
            ],
        ),
        e(
            "cell-boundaries",
            "centres and box edges exactly on cell boundaries",
            power(2),
            &[
                [0.0, 0.0, 0.50, 0.50, 0.25, 0.25],
                [0.0, 1.0, 0.25, 0.75, 0.50, 0.25],
                [1.0, 2.0, 0.375, 0.625, 0.25, 0.50],
            ],
        ),
        Edge {
            saturate: true,
            ..e(
                "saturated-logits",
                "logits of magnitude 40: saturated sigmoids, the 1e-6 guards",
                soft(),
                ORDINARY,
            )
        },
        Edge {
            saturate: true,
            ..e(
                "saturated-logits-yolov5",
                "baseline with saturated logits",
                baseline(),
                ORDINARY,
            )
        },
        Edge {
            batch: 3,
            ..e(
                "three-images",
                "boxes on three images, the same box on two of them",
                soft(),
                &[
                    [0.0, 0.0, 0.40, 0.55, 0.43, 0.30],
                    [2.0, 0.0, 0.40, 0.55, 0.43, 0.30],
                    [2.0, 1.0, 0.70, 0.25, 0.25, 0.35],
                ],
            )
        },
        Edge {
            grids: vec![(4, 8)],
            ..e(
                "nonsquare-grid",
                "a 4x8 grid (rows differ from columns)",
                gauss(1.0),
                ORDINARY,
            )
        },
        Edge {
            grids: vec![(16, 16), (8, 8)],
            ..e(
                "two-layers-one-anchor",
                "nl = 2 (balance 4, 1), na = 1",
                Config {
                    anchors: anchors(&[&[(3.0, 3.0)], &[(1.5, 1.5)]]),
                    ..soft()
                },
                ORDINARY,
            )
        },
        Edge {
            grids: vec![(16, 16), (8, 8), (4, 4), (2, 2), (1, 1)],
            ..e(
                "five-layers",
                "nl = 5 (balance 4, 1, 0.25, 0.06, 0.02), a 1x1 layer",
                Config {
                    anchors: anchors(&[
                        &[(3.0, 3.0)],
                        &[(2.0, 2.0)],
                        &[(1.0, 1.0)],
                        &[(0.6, 0.6)],
                        &[(0.4, 0.4)],
                    ]),
                    autobalance: true,
                    ..soft()
                },
                ORDINARY,
            )
        },
    ]
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
    edge_list()
        .into_iter()
        .enumerate()
        .map(|(k, e)| {
            let mut rng = rng_for(seed, (1 << 32) + k as u64);
            let mut targets = Array2::zeros((e.targets.len(), 6));
            for (r, row) in e.targets.iter().enumerate() {
                for (c, &v) in row.iter().enumerate() {
                    targets[[r, c]] = if c >= 2 { quantize_coord(v) } else { v };
                }
            }
            let mut predictions = random_predictions(
                &mut rng,
                e.batch,
                e.config.na(),
                &e.grids,
                e.config.nc,
                -2.0,
            );
            if e.saturate {
                for p in &mut predictions {
                    if let Prediction::F32(a) = p {
                        a.mapv_inplace(|v| if v >= 0.0 { 40.0 } else { -40.0 });
                    }
                }
            }
            Case {
                name: format!("{}: {} ({})", e.name, e.why, describe(&e.config)),
                config: e.config,
                inputs: Inputs {
                    targets,
                    predictions,
                },
                expected: None,
                warnings: Vec::new(),
            }
        })
        .collect()
}

/// The file-name stem of a case: its name up to the first `:` or space, made safe.
pub fn stem(case: &Case) -> String {
    let key: String = case
        .name
        .split([':', ' '])
        .next()
        .unwrap_or("")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if key.is_empty() { "case".into() } else { key }
}

/// A case as JSON (spec section 10), with `predictions` given explicitly (inline arrays or
/// `{"npy": FILE}` references) and `expected` when given.
pub fn case_json(case: &Case, predictions: Vec<Value>, expected: Option<&Answer>) -> Result<Value> {
    let t = &case.inputs.targets;
    let mut v = json!({
        "format": FORMAT,
        "name": case.name,
        "config": case.config.to_json(),
        "inputs": {
            "targets": {"shape": t.shape(), "data": t.iter().copied().collect::<Vec<f64>>()},
            "predictions": predictions,
        },
    });
    if let Some(e) = expected {
        v["expected"] = serde_json::to_value(e)?;
    }
    Ok(v)
}

/// Writes `case` as `DIR/STEM.json`; with `npy`, each prediction layer goes to
/// `DIR/STEM.p{l}.npy` (f32 or f64 as stored) and the JSON references it. Returns the files
/// written, the JSON first.
///
/// # Errors
/// [`Error::Io`] when a file cannot be written.
pub fn write_case(
    case: &Case,
    dir: &Path,
    stem: &str,
    npy: bool,
    expected: Option<&Answer>,
) -> Result<Vec<PathBuf>> {
    let json_path = dir.join(format!("{stem}.json"));
    let mut files = vec![json_path.clone()];
    let mut preds = Vec::with_capacity(case.inputs.predictions.len());
    for (l, p) in case.inputs.predictions.iter().enumerate() {
        if npy {
            let name = format!("{stem}.p{l}.npy");
            let path = dir.join(&name);
            match p {
                Prediction::F32(a) => crate::npy::write(&path, &a.clone().into_dyn())?,
                Prediction::F64(a) => crate::npy::write(&path, &a.clone().into_dyn())?,
            }
            files.push(path);
            preds.push(json!({ "npy": name }));
        } else {
            let a = p.to_f64();
            preds
                .push(json!({"shape": a.shape(), "data": a.iter().copied().collect::<Vec<f64>>()}));
        }
    }
    let v = case_json(case, preds, expected)?;
    let mut text = serde_json::to_string(&v)?;
    text.push('\n');
    std::fs::write(&json_path, text).map_err(|source| Error::Io {
        path: json_path.clone(),
        source,
    })?;
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assign::matching::match_layer;
    use crate::assign::score::{CellRange, distance};
    use crate::assign::{self, Builder};
    use crate::{EvalOptions, evaluate_case};

    fn edge(key: &str) -> Case {
        edge_cases(5)
            .into_iter()
            .find(|c| stem(c) == key)
            .unwrap_or_else(|| panic!("no edge case {key}"))
    }

    /// Every matched row of every layer with its cell range.
    fn ranges(c: &Case) -> Vec<(usize, assign::matching::Matched, CellRange, assign::Grid)> {
        let grids = assign::grids(&c.config, &c.inputs);
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
                &EvalOptions {
                    builder: Builder::Loop,
                    balance: None,
                },
            )
            .unwrap();
            assert_eq!(l, e, "{}", c.name);
        }
    }

    #[test]
    fn generation_is_deterministic_and_seed_dependent() {
        let o = GenOptions::default();
        assert_eq!(random_case(&o, 0).unwrap(), random_case(&o, 0).unwrap());
        assert_ne!(random_case(&o, 0).unwrap(), random_case(&o, 1).unwrap());
        let o2 = GenOptions { seed: 1, ..o };
        assert_ne!(random_case(&o, 0).unwrap(), random_case(&o2, 0).unwrap());
        assert_eq!(edge_cases(3), edge_cases(3));
        assert_ne!(edge_cases(3)[0].inputs, edge_cases(4)[0].inputs);
    }

    #[test]
    fn random_cases_cover_the_options_and_evaluate() {
        let o = GenOptions::default();
        let mut assigners = std::collections::BTreeSet::new();
        let mut distances = std::collections::BTreeSet::new();
        let (mut power, mut gauss, mut leaving, mut empty_image) = (0, 0, 0, 0);
        for i in 0..60 {
            let c = random_case(&o, i).unwrap();
            evaluate_case(&c, &EvalOptions::default()).unwrap();
            assigners.insert(format!("{:?}", c.config.assigner));
            distances.insert(format!("{:?}", c.config.distance));
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
            for b in 0..o.batch {
                if !c.inputs.targets.outer_iter().any(|r| r[0] == b as f64) {
                    empty_image += 1;
                }
            }
            for p in &c.inputs.predictions {
                assert!(matches!(p, Prediction::F32(_)));
            }
        }
        assert_eq!(assigners.len(), 2);
        assert_eq!(distances.len(), 3);
        assert!(
            power > 5 && gauss > 5 && leaving > 10 && empty_image > 0,
            "{power} {gauss} {leaving} {empty_image}"
        );
    }

    #[test]
    fn options_are_validated() {
        let bad = GenOptions {
            width: 100,
            ..GenOptions::default()
        };
        assert_eq!(random_case(&bad, 0).unwrap_err().field(), Some("gen.image"));
        let bad = GenOptions {
            batch: 0,
            ..GenOptions::default()
        };
        assert_eq!(bad.validate().unwrap_err().field(), Some("gen.batch"));
        let huge = GenOptions {
            width: 65536,
            height: 65536,
            batch: 16,
            nc: 80,
            seed: 0,
        };
        assert!(matches!(huge.validate(), Err(Error::TooLarge { .. })));
    }

    #[test]
    fn boxes_leave_each_side() {
        let side = |key: &str, f: &dyn Fn(&CellRange, &assign::Grid) -> bool| {
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

    #[test]
    fn written_files_load_back() {
        let dir = tempfile::tempdir().unwrap();
        let c = random_case(&GenOptions::default(), 2).unwrap();
        for npy in [false, true] {
            let stem = if npy { "b" } else { "a" };
            let files = write_case(&c, dir.path(), stem, npy, None).unwrap();
            assert_eq!(files.len(), if npy { 1 + c.config.nl() } else { 1 });
            let back = Case::load(&files[0]).unwrap();
            assert_eq!(back.inputs.targets, c.inputs.targets);
            for (x, y) in back.inputs.predictions.iter().zip(&c.inputs.predictions) {
                assert_eq!(x.to_f64(), y.to_f64());
            }
            assert_eq!(back.config, c.config);
        }
    }
}
