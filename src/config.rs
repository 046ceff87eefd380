//! The method's configuration: hyper-parameters, anchors and the choices of spec section 1.

use ndarray::Array3;
use serde_json::{Map, Value, json};

use crate::array::{self, Limits};
use crate::error::{Error, Result, num};
use crate::json;
use crate::vocab::Named;

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

impl Hyp {
    /// Every value with its key in the case format, in the order of [`HYP_KEYS`].
    fn entries(&self) -> [(&'static str, f64); 8] {
        [
            ("box", self.box_gain),
            ("cls", self.cls),
            ("cls_pw", self.cls_pw),
            ("obj", self.obj),
            ("obj_pw", self.obj_pw),
            ("anchor_t", self.anchor_t),
            ("fl_gamma", self.fl_gamma),
            ("label_smoothing", self.label_smoothing),
        ]
    }

    /// The value of `hyp` key `key` (case format spelling: `box`, `cls_pw`, ...).
    pub(crate) fn get(&self, key: &str) -> Option<f64> {
        self.entries()
            .into_iter()
            .find(|&(k, _)| k == key)
            .map(|(_, v)| v)
    }

    /// Sets `hyp` key `key` (case format spelling) to `v`; `false` for an unknown key.
    pub(crate) fn set(&mut self, key: &str, v: f64) -> bool {
        let field = match key {
            "box" => &mut self.box_gain,
            "cls" => &mut self.cls,
            "cls_pw" => &mut self.cls_pw,
            "obj" => &mut self.obj,
            "obj_pw" => &mut self.obj_pw,
            "anchor_t" => &mut self.anchor_t,
            "fl_gamma" => &mut self.fl_gamma,
            "label_smoothing" => &mut self.label_smoothing,
            _ => return false,
        };
        *field = v;
        true
    }

    /// Every value finite within `[-MAX_PARAM, MAX_PARAM]`, `anchor_t > 1`, `fl_gamma >= 0`,
    /// `label_smoothing` in `[0, 1]`.
    fn validate(&self) -> Result<()> {
        for (name, v) in self.entries() {
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
        if self.anchor_t <= 1.0 {
            return Err(Error::invalid(
                "config.hyp.anchor_t",
                num(self.anchor_t),
                "must be greater than 1",
            ));
        }
        if self.fl_gamma < 0.0 {
            return Err(Error::invalid(
                "config.hyp.fl_gamma",
                num(self.fl_gamma),
                "must be >= 0",
            ));
        }
        if !(0.0..=1.0).contains(&self.label_smoothing) {
            return Err(Error::invalid(
                "config.hyp.label_smoothing",
                num(self.label_smoothing),
                "must lie in [0, 1] (class targets 1 - eps/2 and eps/2 must be probabilities)",
            ));
        }
        Ok(())
    }
}

/// Which target assigner builds the objectness targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Assigner {
    /// The soft-objectness assigner (spec section 4).
    #[default]
    Soft,
    /// The YOLOv5 v6.0 assigner (spec section 3).
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

impl Named for Assigner {
    const NAMES: &'static [(Self, &'static str, &'static str)] = &[
        (
            Assigner::Soft,
            "soft",
            "the soft-objectness assigner (spec section 4)",
        ),
        (
            Assigner::Yolov5,
            "yolov5",
            "the YOLOv5 v6.0 assigner (spec section 3)",
        ),
    ];
}

impl Named for Distance {
    const NAMES: &'static [(Self, &'static str, &'static str)] = &[
        (
            Distance::CellIndex,
            "cell_index",
            "integer cell offsets over half the cell range",
        ),
        (
            Distance::Continuous,
            "continuous",
            "cell centre to box centre over half the box size",
        ),
        (
            Distance::Diagonal,
            "diagonal",
            "cell centre to box centre over the box diagonal",
        ),
    ];
}

impl Named for Overlap {
    const NAMES: &'static [(Self, &'static str, &'static str)] = &[
        (
            Overlap::LastWrite,
            "last_write",
            "the last write in the largest-first order wins",
        ),
        (Overlap::Max, "max", "the largest score wins"),
    ];
}

impl Named for Ciou {
    const NAMES: &'static [(Self, &'static str, &'static str)] = &[
        (
            Ciou::V6,
            "v6.0",
            "YOLOv5 v6.0: sizes from the corners, heights with eps",
        ),
        (Ciou::V7, "v7.0", "YOLOv5 v7.0: the sizes as given"),
    ];
}

/// The kind of a [`Score`], its `kind` key in the case format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ScoreKind {
    Power,
    Gaussian,
}

impl Named for ScoreKind {
    const NAMES: &'static [(Self, &'static str, &'static str)] = &[
        (
            ScoreKind::Power,
            "power",
            "(d - 1)^n, n even; d > 2 skipped",
        ),
        (ScoreKind::Gaussian, "gaussian", "exp(-d^2 / (2 sigma^2))"),
    ];
}

impl Score {
    pub(crate) fn kind(self) -> ScoreKind {
        match self {
            Score::Power { .. } => ScoreKind::Power,
            Score::Gaussian { .. } => ScoreKind::Gaussian,
        }
    }
}

/// The kind of a [`SoftLoss`], its `kind` key in the case format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SoftLossKind {
    Loss1,
    Loss2,
    Loss3,
}

impl Named for SoftLossKind {
    const NAMES: &'static [(Self, &'static str, &'static str)] = &[
        (
            SoftLossKind::Loss1,
            "loss1",
            "-(1 - t)^gamma ln(1 - p + 1e-6)",
        ),
        (SoftLossKind::Loss2, "loss2", "BCE(t, p) - BCE(t, t)"),
        (SoftLossKind::Loss3, "loss3", "(1 - t) * loss2"),
    ];
}

impl SoftLoss {
    pub(crate) fn kind(self) -> SoftLossKind {
        match self {
            SoftLoss::Loss1 { .. } => SoftLossKind::Loss1,
            SoftLoss::Loss2 => SoftLossKind::Loss2,
            SoftLoss::Loss3 => SoftLossKind::Loss3,
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
/// The keys of `hyp` in the case format, in the order of [`Hyp::entries`].
pub(crate) const HYP_KEYS: &[&str] = &[
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

    /// Checks every configuration rule of spec section 8, and the magnitude bounds that keep
    /// the arithmetic finite (every parameter within `[-1e6, 1e6]`, anchors and `sigma` at
    /// least `1e-6`).
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
        self.validate_anchors()?;
        self.hyp.validate()?;
        self.validate_score()?;
        self.validate_soft_loss()
    }

    /// `anchors` is `[nl, na, 2]` with 1 to 5 layers, every value in
    /// `[MIN_POSITIVE_PARAM, MAX_PARAM]`.
    fn validate_anchors(&self) -> Result<()> {
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
        Ok(())
    }

    /// A Gaussian `sigma` in `[MIN_POSITIVE_PARAM, MAX_PARAM]`; a power `n` even, at most
    /// [`MAX_PARAM`].
    fn validate_score(&self) -> Result<()> {
        match self.score {
            Score::Gaussian { sigma } if !(sigma.is_finite() && sigma > 0.0) => {
                Err(Error::invalid(
                    "config.score.sigma",
                    num(sigma),
                    "must be a finite number > 0",
                ))
            }
            Score::Gaussian { sigma } if !(MIN_POSITIVE_PARAM..=MAX_PARAM).contains(&sigma) => Err(
                Error::invalid("config.score.sigma", num(sigma), "must lie in [1e-6, 1e6]"),
            ),
            Score::Power { n } if n % 2 != 0 || f64::from(n) > MAX_PARAM => Err(Error::invalid(
                "config.score.n",
                n,
                "must be a non-negative even integer (at most 1e6)",
            )),
            _ => Ok(()),
        }
    }

    /// loss1's `gamma` finite, in `[0, MAX_PARAM]`.
    fn validate_soft_loss(&self) -> Result<()> {
        let SoftLoss::Loss1 { gamma } = self.soft_loss else {
            return Ok(());
        };
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
            c.assigner = Assigner::from_json(v, "config.assigner")?;
        }
        if let Some(v) = map.get("distance") {
            c.distance = Distance::from_json(v, "config.distance")?;
        }
        if let Some(v) = map.get("score") {
            c.score = parse_score(v)?;
        }
        if let Some(v) = map.get("soft_loss") {
            c.soft_loss = parse_soft_loss(v)?;
        }
        if let Some(v) = map.get("overlap") {
            c.overlap = Overlap::from_json(v, "config.overlap")?;
        }
        if let Some(v) = map.get("autobalance") {
            c.autobalance = json::boolean(v, "config.autobalance")?;
        }
        if let Some(v) = map.get("ciou") {
            c.ciou = Ciou::from_json(v, "config.ciou")?;
        }
        c.validate()?;
        Ok(c)
    }

    /// The configuration as the case format writes it, every key explicit.
    pub fn to_json(&self) -> Value {
        let hyp: Map<String, Value> = self
            .hyp
            .entries()
            .into_iter()
            .map(|(k, v)| (k.to_string(), json!(v)))
            .collect();
        let score = match self.score {
            Score::Power { n } => json!({"kind": self.score.kind().name(), "n": n}),
            Score::Gaussian { sigma } => json!({"kind": self.score.kind().name(), "sigma": sigma}),
        };
        let soft_loss = match self.soft_loss {
            SoftLoss::Loss1 { gamma } => {
                json!({"kind": self.soft_loss.kind().name(), "gamma": gamma})
            }
            SoftLoss::Loss2 | SoftLoss::Loss3 => json!({"kind": self.soft_loss.kind().name()}),
        };
        json!({
            "nc": self.nc,
            "anchors": {"shape": self.anchors.shape(), "data": self.anchors.iter().copied().collect::<Vec<f64>>()},
            "hyp": hyp,
            "assigner": self.assigner.name(),
            "distance": self.distance.name(),
            "score": score,
            "soft_loss": soft_loss,
            "overlap": self.overlap.name(),
            "autobalance": self.autobalance,
            "ciou": self.ciou.name(),
        })
    }
}

/// The `kind` of the object `map` at `field`, from `T`'s table.
fn kind_of<T: Named>(map: &Map<String, Value>, field: &str) -> Result<T> {
    let v = map.get("kind").ok_or_else(|| Error::Missing {
        field: json::join(field, "kind"),
    })?;
    T::from_json(v, &json::join(field, "kind"))
}

fn parse_score(v: &Value) -> Result<Score> {
    let f = "config.score";
    let map = json::object(v, f)?;
    match kind_of::<ScoreKind>(map, f)? {
        ScoreKind::Power => {
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
        ScoreKind::Gaussian => {
            json::deny_unknown(map, f, &["kind", "sigma"])?;
            let sigma = json::opt_finite(map, f, "sigma", 1.0)?;
            Ok(Score::Gaussian { sigma })
        }
    }
}

fn parse_soft_loss(v: &Value) -> Result<SoftLoss> {
    let f = "config.soft_loss";
    let map = json::object(v, f)?;
    match kind_of::<SoftLossKind>(map, f)? {
        SoftLossKind::Loss1 => {
            json::deny_unknown(map, f, &["kind", "gamma"])?;
            Ok(SoftLoss::Loss1 {
                gamma: json::opt_finite(map, f, "gamma", 1.0)?,
            })
        }
        SoftLossKind::Loss2 => {
            json::deny_unknown(map, f, &["kind"])?;
            Ok(SoftLoss::Loss2)
        }
        SoftLossKind::Loss3 => {
            json::deny_unknown(map, f, &["kind"])?;
            Ok(SoftLoss::Loss3)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every value of every table has a name, and the names read back to the value.
    #[test]
    fn every_table_is_complete_and_reads_back() {
        fn round_trip<T: Named + std::fmt::Debug>(all: &[T]) {
            assert_eq!(T::NAMES.len(), all.len());
            for &v in all {
                assert!(!v.name().is_empty() && !v.meaning().is_empty(), "{v:?}");
                assert_eq!(T::parse("f", v.name()).unwrap(), v);
            }
        }
        round_trip(&[Assigner::Soft, Assigner::Yolov5]);
        round_trip(&[
            Distance::CellIndex,
            Distance::Continuous,
            Distance::Diagonal,
        ]);
        round_trip(&[Overlap::LastWrite, Overlap::Max]);
        round_trip(&[Ciou::V6, Ciou::V7]);
        round_trip(&[ScoreKind::Power, ScoreKind::Gaussian]);
        round_trip(&[
            SoftLossKind::Loss1,
            SoftLossKind::Loss2,
            SoftLossKind::Loss3,
        ]);
    }

    /// What the writer writes, the reader reads back, for every kind of score and soft loss.
    #[test]
    fn to_json_reads_back() {
        for (score, soft_loss) in [
            (Score::Power { n: 4 }, SoftLoss::Loss1 { gamma: 2.0 }),
            (Score::Gaussian { sigma: 0.5 }, SoftLoss::Loss3),
        ] {
            let c = Config {
                score,
                soft_loss,
                assigner: Assigner::Yolov5,
                ciou: Ciou::V7,
                ..Config::default()
            };
            assert_eq!(
                Config::from_json(&c.to_json(), None, &Limits::default()).unwrap(),
                c
            );
        }
    }
}
