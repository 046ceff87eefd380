//! The method's configuration: hyper-parameters, anchors and the choices of spec section 1.

use ndarray::Array3;
use serde_json::{Map, Value, json};

use crate::array::{self, Limits};
use crate::error::{Error, Result, num};
use crate::json;

/// YOLOv5 hyper-parameters (`hyp.scratch` defaults).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hyp {
    /// Box loss gain (`box`).
    pub box_gain: f64,
    /// Class loss gain (`cls`).
    pub cls: f64,
    /// Class BCE positive weight.
    pub cls_pw: f64,
    /// Objectness loss gain.
    pub obj: f64,
    /// Objectness BCE positive weight.
    pub obj_pw: f64,
    /// Anchor-matching ratio threshold (strict).
    pub anchor_t: f64,
    /// Focal-loss gamma; 0 turns focal off.
    pub fl_gamma: f64,
    /// Label-smoothing epsilon of the class targets.
    pub label_smoothing: f64,
}

impl Hyp {
    /// YOLOv5's `hyp.scratch` values (spec section 1), usable in constants.
    pub const DEFAULT: Hyp = Hyp {
        box_gain: 0.05,
        cls: 0.5,
        cls_pw: 1.0,
        obj: 1.0,
        obj_pw: 1.0,
        anchor_t: 4.0,
        fl_gamma: 0.0,
        label_smoothing: 0.0,
    };
}

impl Default for Hyp {
    fn default() -> Self {
        Hyp::DEFAULT
    }
}

/// Which target assigner builds the objectness targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Assigner {
    /// The soft-objectness assigner (spec section 4).
    #[default]
    Soft,
    /// The baseline YOLOv5 v6.0 assigner (spec section 3).
    Yolov5,
}

/// How the normalised distance `d` of a cell to the box centre is measured (spec 4.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Distance {
    /// Integer cell offsets over half the cell range (the shipped code).
    #[default]
    CellIndex,
    /// Cell centre to box centre over half the box size (the published formula).
    Continuous,
    /// Cell centre to box centre over the box diagonal, in image units (the loop builder).
    Diagonal,
}

/// The soft score of a cell at distance `d` (spec 4.6).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Score {
    /// `(d - 1)^n`, `n` even; cells with `d > 2` are skipped.
    Power {
        /// The even exponent.
        n: u32,
    },
    /// `exp(-d^2 / (2 sigma^2))`.
    Gaussian {
        /// Width, > 0.
        sigma: f64,
    },
}

impl Default for Score {
    fn default() -> Self {
        Score::Gaussian { sigma: 1.0 }
    }
}

/// The loss applied to soft cells (spec 5).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum SoftLoss {
    /// `-(1 - t)^gamma ln(1 - p + 1e-6)`.
    Loss1 {
        /// Exponent, >= 0.
        gamma: f64,
    },
    /// BCE(t, p) - BCE(t, t), both with the `1e-6` guards.
    #[default]
    Loss2,
    /// `(1 - t) * loss2`.
    Loss3,
}

/// How a cell written by several boxes is resolved (spec 4.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Overlap {
    /// The last write in the stable largest-first order wins (faithful).
    #[default]
    LastWrite,
    /// The largest score wins (order independent).
    Max,
}

/// Which YOLOv5 release's CIoU the box loss uses (spec section 5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Ciou {
    /// YOLOv5 v6.0 (the release the method was published on): box sizes recomputed from the
    /// corners, heights with `+ eps`.
    #[default]
    V6,
    /// YOLOv5 v7.0: the sizes as given (no `eps`).
    V7,
}

impl Ciou {
    /// The name in the case format: `"v6.0"` or `"v7.0"`.
    pub fn name(self) -> &'static str {
        match self {
            Ciou::V6 => "v6.0",
            Ciou::V7 => "v7.0",
        }
    }
}

/// YOLOv5s default anchors in pixels, per layer `(w, h)` pairs.
pub const YOLOV5S_ANCHORS_PX: [[f64; 6]; 3] = [
    [10.0, 13.0, 16.0, 30.0, 33.0, 23.0],
    [30.0, 61.0, 62.0, 45.0, 59.0, 119.0],
    [116.0, 90.0, 156.0, 198.0, 373.0, 326.0],
];

/// YOLOv5s strides of the three detection layers.
pub const YOLOV5S_STRIDES: [f64; 3] = [8.0, 16.0, 32.0];

/// YOLOv5s default anchors in grid units (pixels / stride), shape `[3, 3, 2]`.
pub fn yolov5s_anchors() -> Array3<f64> {
    let mut a = Array3::zeros((3, 3, 2));
    for (l, row) in YOLOV5S_ANCHORS_PX.iter().enumerate() {
        for k in 0..3 {
            a[[l, k, 0]] = row[2 * k] / YOLOV5S_STRIDES[l];
            a[[l, k, 1]] = row[2 * k + 1] / YOLOV5S_STRIDES[l];
        }
    }
    a
}

/// The complete configuration of one evaluation (spec sections 1 and 10).
///
/// ```
/// let c = soft_objectness::Config::default();
/// assert_eq!(c.nc, 80);
/// assert_eq!(c.anchors.shape(), &[3, 3, 2]);
/// assert!(c.validate().is_ok());
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Number of classes.
    pub nc: usize,
    /// Anchors `[nl, na, 2]` in grid units of their layer.
    pub anchors: Array3<f64>,
    /// Hyper-parameters.
    pub hyp: Hyp,
    /// Target assigner.
    pub assigner: Assigner,
    /// Distance mode of the soft assigner.
    pub distance: Distance,
    /// Score kind of the soft assigner.
    pub score: Score,
    /// Loss on soft cells.
    pub soft_loss: SoftLoss,
    /// Overlap rule of the soft assigner.
    pub overlap: Overlap,
    /// YOLOv5 autobalance of the layer weights.
    pub autobalance: bool,
    /// Which YOLOv5 release's CIoU (box loss, and the YOLOv5 assigner's objectness target).
    pub ciou: Ciou,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            nc: 80,
            anchors: yolov5s_anchors(),
            hyp: Hyp::default(),
            assigner: Assigner::default(),
            distance: Distance::default(),
            score: Score::default(),
            soft_loss: SoftLoss::default(),
            overlap: Overlap::default(),
            autobalance: false,
            ciou: Ciou::default(),
        }
    }
}

/// Bounds of legal parameter magnitudes (defined here, beyond spec section 8): anchors,
/// `anchor_t`, `sigma`, every `hyp` value, `fl_gamma`, loss1's `gamma` and the power `n` lie
/// within `[-MAX_PARAM, MAX_PARAM]` (positive ones also at least [`MIN_POSITIVE_PARAM`]), so that
/// no square, product or quotient of the arithmetic under- or overflows f64 (docs/reliability.md).
pub const MAX_PARAM: f64 = 1e6;

/// Smallest legal anchor side and Gaussian `sigma` (see [`MAX_PARAM`]).
pub const MIN_POSITIVE_PARAM: f64 = 1e-6;

/// Largest legal number of classes (so that `5 + nc` and `rows * nc` cannot overflow).
pub const MAX_CLASSES: usize = u32::MAX as usize;

const CONFIG_KEYS: &[&str] = &[
    "nc",
    "anchors",
    "hyp",
    "assigner",
    "distance",
    "score",
    "soft_loss",
    "overlap",
    "autobalance",
    "ciou",
];
const HYP_KEYS: &[&str] = &[
    "box",
    "cls",
    "cls_pw",
    "obj",
    "obj_pw",
    "anchor_t",
    "fl_gamma",
    "label_smoothing",
];

impl Config {
    /// Number of detection layers.
    pub fn nl(&self) -> usize {
        self.anchors.shape()[0]
    }

    /// Number of anchors per layer.
    pub fn na(&self) -> usize {
        self.anchors.shape()[1]
    }

    /// Layer weights before any autobalance update (spec 5).
    pub fn default_balance(&self) -> Vec<f64> {
        if self.nl() == 3 {
            vec![4.0, 1.0, 0.4]
        } else {
            [4.0, 1.0, 0.25, 0.06, 0.02]
                .iter()
                .copied()
                .take(self.nl())
                .collect()
        }
    }

    /// Checks every configuration rule of spec section 8, and the magnitude bounds of
    /// [`MAX_PARAM`] that keep the arithmetic finite.
    ///
    /// ```
    /// use soft_objectness::{Config, Score};
    /// let bad = Config { score: Score::Gaussian { sigma: 0.0 }, ..Config::default() };
    /// let err = bad.validate().unwrap_err();
    /// assert_eq!(err.field(), Some("config.score.sigma"));
    /// assert!(err.to_string().contains("got 0"));
    /// ```
    ///
    /// # Errors
    /// [`Error::Invalid`] or [`Error::Shape`] naming the field and value.
    pub fn validate(&self) -> Result<()> {
        if self.nc == 0 {
            return Err(Error::invalid("config.nc", 0, "must be at least 1"));
        }
        if self.nc > MAX_CLASSES {
            return Err(Error::invalid(
                "config.nc",
                self.nc,
                format!("must be at most {MAX_CLASSES}"),
            ));
        }
        let s = self.anchors.shape();
        if s.len() != 3 || s[2] != 2 || s[1] == 0 {
            return Err(Error::shape(
                "config.anchors",
                "[nl, na, 2] with na >= 1",
                format!("{s:?}"),
            ));
        }
        if !(1..=5).contains(&s[0]) {
            return Err(Error::invalid(
                "config.anchors",
                format!("nl = {}", s[0]),
                "the number of layers must be 1 to 5",
            ));
        }
        for ((l, a, k), &v) in self.anchors.indexed_iter() {
            let field = format!("config.anchors[{l}][{a}][{k}]");
            if !v.is_finite() {
                return Err(Error::invalid(field, num(v), "must be a finite number"));
            }
            if v <= 0.0 {
                return Err(Error::invalid(field, num(v), "anchors must be positive"));
            }
            if !(MIN_POSITIVE_PARAM..=MAX_PARAM).contains(&v) {
                return Err(Error::invalid(
                    field,
                    num(v),
                    "anchors must lie in [1e-6, 1e6] grid units",
                ));
            }
        }
        let h = &self.hyp;
        for (name, v) in [
            ("box", h.box_gain),
            ("cls", h.cls),
            ("cls_pw", h.cls_pw),
            ("obj", h.obj),
            ("obj_pw", h.obj_pw),
            ("anchor_t", h.anchor_t),
            ("fl_gamma", h.fl_gamma),
            ("label_smoothing", h.label_smoothing),
        ] {
            if !v.is_finite() {
                return Err(Error::invalid(
                    format!("config.hyp.{name}"),
                    num(v),
                    "must be a finite number",
                ));
            }
            if v.abs() > MAX_PARAM {
                return Err(Error::invalid(
                    format!("config.hyp.{name}"),
                    num(v),
                    "must lie in [-1e6, 1e6]",
                ));
            }
        }
        if h.anchor_t <= 1.0 {
            return Err(Error::invalid(
                "config.hyp.anchor_t",
                num(h.anchor_t),
                "must be greater than 1",
            ));
        }
        if h.fl_gamma < 0.0 {
            return Err(Error::invalid(
                "config.hyp.fl_gamma",
                num(h.fl_gamma),
                "must be >= 0",
            ));
        }
        if !(0.0..=1.0).contains(&h.label_smoothing) {
            return Err(Error::invalid(
                "config.hyp.label_smoothing",
                num(h.label_smoothing),
                "must lie in [0, 1] (class targets 1 - eps/2 and eps/2 must be probabilities)",
            ));
        }
        match self.score {
            Score::Gaussian { sigma } if !(sigma.is_finite() && sigma > 0.0) => {
                return Err(Error::invalid(
                    "config.score.sigma",
                    num(sigma),
                    "must be a finite number > 0",
                ));
            }
            Score::Gaussian { sigma } if !(MIN_POSITIVE_PARAM..=MAX_PARAM).contains(&sigma) => {
                return Err(Error::invalid(
                    "config.score.sigma",
                    num(sigma),
                    "must lie in [1e-6, 1e6]",
                ));
            }
            Score::Power { n } if n % 2 != 0 || f64::from(n) > MAX_PARAM => {
                return Err(Error::invalid(
                    "config.score.n",
                    n,
                    "must be a non-negative even integer (at most 1e6)",
                ));
            }
            _ => {}
        }
        if let SoftLoss::Loss1 { gamma } = self.soft_loss {
            if !(gamma.is_finite() && gamma >= 0.0) {
                return Err(Error::invalid(
                    "config.soft_loss.gamma",
                    num(gamma),
                    "must be a finite number >= 0",
                ));
            }
            if gamma > MAX_PARAM {
                return Err(Error::invalid(
                    "config.soft_loss.gamma",
                    num(gamma),
                    "must be at most 1e6",
                ));
            }
        }
        Ok(())
    }

    /// Reads `config` from a case's JSON, applying the defaults of spec section 1. `nc` may be
    /// omitted when `nc_hint` (from the predictions) is given. Unknown keys are errors.
    ///
    /// # Errors
    /// Any type, unknown key or unknown value, naming its field path; then [`Config::validate`].
    pub fn from_json(v: &Value, nc_hint: Option<usize>, limits: &Limits) -> Result<Config> {
        let f = "config";
        let map = json::object(v, f)?;
        json::deny_unknown(map, f, CONFIG_KEYS)?;
        let nc = match map.get("nc") {
            Some(v) => json::count(v, "config.nc")? as usize,
            None => nc_hint.ok_or_else(|| Error::Missing {
                field: "config.nc".into(),
            })?,
        };
        let mut c = Config {
            nc,
            ..Config::default()
        };
        if let Some(v) = map.get("anchors") {
            let a = array::parse(v, "config.anchors", limits)?;
            c.anchors = a
                .into_dimensionality()
                .map_err(|e| Error::shape("config.anchors", "[nl, na, 2]", e.to_string()))?;
        }
        if let Some(v) = map.get("hyp") {
            let hm = json::object(v, "config.hyp")?;
            json::deny_unknown(hm, "config.hyp", HYP_KEYS)?;
            let d = Hyp::default();
            let p = "config.hyp";
            c.hyp = Hyp {
                box_gain: json::opt_finite(hm, p, "box", d.box_gain)?,
                cls: json::opt_finite(hm, p, "cls", d.cls)?,
                cls_pw: json::opt_finite(hm, p, "cls_pw", d.cls_pw)?,
                obj: json::opt_finite(hm, p, "obj", d.obj)?,
                obj_pw: json::opt_finite(hm, p, "obj_pw", d.obj_pw)?,
                anchor_t: json::opt_finite(hm, p, "anchor_t", d.anchor_t)?,
                fl_gamma: json::opt_finite(hm, p, "fl_gamma", d.fl_gamma)?,
                label_smoothing: json::opt_finite(hm, p, "label_smoothing", d.label_smoothing)?,
            };
        }
        if let Some(v) = map.get("assigner") {
            c.assigner = match json::choice(v, "config.assigner", &["soft", "yolov5"])? {
                "soft" => Assigner::Soft,
                _ => Assigner::Yolov5,
            };
        }
        if let Some(v) = map.get("distance") {
            c.distance = match json::choice(
                v,
                "config.distance",
                &["cell_index", "continuous", "diagonal"],
            )? {
                "cell_index" => Distance::CellIndex,
                "continuous" => Distance::Continuous,
                _ => Distance::Diagonal,
            };
        }
        if let Some(v) = map.get("score") {
            c.score = parse_score(v)?;
        }
        if let Some(v) = map.get("soft_loss") {
            c.soft_loss = parse_soft_loss(v)?;
        }
        if let Some(v) = map.get("overlap") {
            c.overlap = match json::choice(v, "config.overlap", &["last_write", "max"])? {
                "last_write" => Overlap::LastWrite,
                _ => Overlap::Max,
            };
        }
        if let Some(v) = map.get("autobalance") {
            c.autobalance = json::boolean(v, "config.autobalance")?;
        }
        if let Some(v) = map.get("ciou") {
            c.ciou = match json::choice(v, "config.ciou", &["v6.0", "v7.0"])? {
                "v6.0" => Ciou::V6,
                _ => Ciou::V7,
            };
        }
        c.validate()?;
        Ok(c)
    }

    /// The configuration as the case format writes it, every key explicit.
    pub fn to_json(&self) -> Value {
        let h = &self.hyp;
        json!({
            "nc": self.nc,
            "anchors": {"shape": self.anchors.shape(), "data": self.anchors.iter().copied().collect::<Vec<f64>>()},
            "hyp": {"box": h.box_gain, "cls": h.cls, "cls_pw": h.cls_pw, "obj": h.obj, "obj_pw": h.obj_pw,
                    "anchor_t": h.anchor_t, "fl_gamma": h.fl_gamma, "label_smoothing": h.label_smoothing},
            "assigner": match self.assigner { Assigner::Soft => "soft", Assigner::Yolov5 => "yolov5" },
            "distance": match self.distance {
                Distance::CellIndex => "cell_index", Distance::Continuous => "continuous", Distance::Diagonal => "diagonal"
            },
            "score": match self.score {
                Score::Power { n } => json!({"kind": "power", "n": n}),
                Score::Gaussian { sigma } => json!({"kind": "gaussian", "sigma": sigma}),
            },
            "soft_loss": match self.soft_loss {
                SoftLoss::Loss1 { gamma } => json!({"kind": "loss1", "gamma": gamma}),
                SoftLoss::Loss2 => json!({"kind": "loss2"}),
                SoftLoss::Loss3 => json!({"kind": "loss3"}),
            },
            "overlap": match self.overlap { Overlap::LastWrite => "last_write", Overlap::Max => "max" },
            "autobalance": self.autobalance,
            "ciou": self.ciou.name(),
        })
    }
}

fn kind_of<'a>(map: &Map<String, Value>, field: &str, accepted: &[&'a str]) -> Result<&'a str> {
    let v = map.get("kind").ok_or_else(|| Error::Missing {
        field: json::join(field, "kind"),
    })?;
    json::choice(v, &json::join(field, "kind"), accepted)
}

fn parse_score(v: &Value) -> Result<Score> {
    let f = "config.score";
    let map = json::object(v, f)?;
    match kind_of(map, f, &["power", "gaussian"])? {
        "power" => {
            json::deny_unknown(map, f, &["kind", "n"])?;
            let nv = map.get("n").ok_or_else(|| Error::Missing {
                field: "config.score.n".into(),
            })?;
            let n = json::f64_of(nv, "config.score.n")?;
            if !(n.is_finite() && n >= 0.0 && n.fract() == 0.0 && n % 2.0 == 0.0 && n <= 1e6) {
                return Err(Error::invalid(
                    "config.score.n",
                    nv,
                    "must be a non-negative even integer (at most 1e6)",
                ));
            }
            Ok(Score::Power { n: n as u32 })
        }
        _ => {
            json::deny_unknown(map, f, &["kind", "sigma"])?;
            let sigma = json::opt_finite(map, f, "sigma", 1.0)?;
            Ok(Score::Gaussian { sigma })
        }
    }
}

fn parse_soft_loss(v: &Value) -> Result<SoftLoss> {
    let f = "config.soft_loss";
    let map = json::object(v, f)?;
    match kind_of(map, f, &["loss1", "loss2", "loss3"])? {
        "loss1" => {
            json::deny_unknown(map, f, &["kind", "gamma"])?;
            Ok(SoftLoss::Loss1 {
                gamma: json::opt_finite(map, f, "gamma", 1.0)?,
            })
        }
        "loss2" => {
            json::deny_unknown(map, f, &["kind"])?;
            Ok(SoftLoss::Loss2)
        }
        _ => {
            json::deny_unknown(map, f, &["kind"])?;
            Ok(SoftLoss::Loss3)
        }
    }
}
