//! The random space and its restrictions: [`CaseSpace`] narrows the random cases to what a port
//! supports, key by key, in the case format's spelling.

use std::collections::BTreeMap;
use std::fmt;

use rand::Rng;
use serde_json::Value;

use crate::case::Case;
use crate::config::{
    Assigner, Ciou, Config, Distance, HYP_KEYS, MAX_PARAM, Overlap, Score, ScoreKind, SoftLoss,
    SoftLossKind,
};
use crate::default_batch::validate_shape;
use crate::error::{Error, Result, num};
use crate::json;
use crate::vocab::Named;

/// A key of the space: an option of the configuration or a shape of the case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Key {
    Assigner,
    ScoreKind,
    ScoreSigma,
    ScoreN,
    Distance,
    SoftLossKind,
    SoftLossGamma,
    Overlap,
    Ciou,
    Autobalance,
    /// `hyp.<HYP_KEYS[i]>`.
    Hyp(usize),
    Nc,
    Nl,
    Na,
    Batch,
    Image,
}

/// One value of a key.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Val {
    /// A name of a vocabulary table.
    Name(&'static str),
    /// A number.
    Number(f64),
    /// `true` or `false`.
    Bool(bool),
    /// A whole number.
    Count(usize),
    /// An image of `width x height` pixels.
    Image(usize, usize),
}

impl fmt::Display for Val {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Val::Name(s) => f.write_str(s),
            Val::Number(x) => f.write_str(&num(x)),
            Val::Bool(b) => write!(f, "{b}"),
            Val::Count(n) => write!(f, "{n}"),
            Val::Image(w, h) => write!(f, "{w}x{h}"),
        }
    }
}

/// Every key with its name and meaning, in the order of [`CaseSpace::KEYS`].
const TABLE: [(Key, &str, &str); 23] = [
    (Key::Assigner, "assigner", "config.assigner: soft, yolov5"),
    (
        Key::ScoreKind,
        "score.kind",
        "config.score.kind: power, gaussian (soft assigner)",
    ),
    (
        Key::ScoreSigma,
        "score.sigma",
        "config.score.sigma: a number > 0 (Gaussian scores)",
    ),
    (
        Key::ScoreN,
        "score.n",
        "config.score.n: an even whole number (power scores)",
    ),
    (
        Key::Distance,
        "distance",
        "config.distance: cell_index, continuous, diagonal (soft assigner)",
    ),
    (
        Key::SoftLossKind,
        "soft_loss.kind",
        "config.soft_loss.kind: loss1, loss2, loss3 (soft assigner)",
    ),
    (
        Key::SoftLossGamma,
        "soft_loss.gamma",
        "config.soft_loss.gamma: a number >= 0 (loss1)",
    ),
    (
        Key::Overlap,
        "overlap",
        "config.overlap: last_write, max (soft assigner)",
    ),
    (Key::Ciou, "ciou", "config.ciou: v6.0, v7.0"),
    (
        Key::Autobalance,
        "autobalance",
        "config.autobalance: true, false",
    ),
    (Key::Hyp(0), "hyp.box", "config.hyp.box: a number"),
    (Key::Hyp(1), "hyp.cls", "config.hyp.cls: a number"),
    (Key::Hyp(2), "hyp.cls_pw", "config.hyp.cls_pw: a number"),
    (Key::Hyp(3), "hyp.obj", "config.hyp.obj: a number"),
    (Key::Hyp(4), "hyp.obj_pw", "config.hyp.obj_pw: a number"),
    (
        Key::Hyp(5),
        "hyp.anchor_t",
        "config.hyp.anchor_t: a number > 1",
    ),
    (
        Key::Hyp(6),
        "hyp.fl_gamma",
        "config.hyp.fl_gamma: a number >= 0",
    ),
    (
        Key::Hyp(7),
        "hyp.label_smoothing",
        "config.hyp.label_smoothing: a number in [0, 1]",
    ),
    (Key::Nc, "nc", "config.nc: classes, 1 to 100000"),
    (
        Key::Nl,
        "nl",
        "layers (the anchors' first dimension), 1 to 5",
    ),
    (Key::Na, "na", "anchors per layer, 1 to 16"),
    (Key::Batch, "batch", "images per case, 1 to 4096"),
    (
        Key::Image,
        "image",
        "WxH in pixels, multiples of 32: the finest layer is W/8 x H/8 cells",
    ),
];

impl Key {
    /// Every key, in the order of [`CaseSpace::KEYS`].
    pub(crate) fn all() -> impl Iterator<Item = Key> {
        TABLE.iter().map(|&(k, _, _)| k)
    }

    /// The key as the case format spells it (`hyp.fl_gamma`, `score.kind`, `nl`).
    pub(crate) fn name(self) -> &'static str {
        TABLE
            .iter()
            .find(|&&(k, _, _)| k == self)
            .map_or("", |&(_, name, _)| name)
    }

    fn parse(name: &str) -> Result<Key> {
        TABLE
            .iter()
            .find(|&&(_, n, _)| n == name)
            .map(|&(k, _, _)| k)
            .ok_or_else(|| Error::UnknownKey {
                field: "space".into(),
                key: json::shorten(name),
                accepted: TABLE.map(|(_, n, _)| n).join(", "),
            })
    }

    /// The key's value in `config`, whether or not it is in effect (`None` for a parameter of
    /// another kind, and for the keys of the inputs' shape).
    pub(crate) fn of_config(self, c: &Config) -> Option<Val> {
        Some(match (self, c.score, c.soft_loss) {
            (Key::Assigner, ..) => Val::Name(c.assigner.name()),
            (Key::ScoreKind, ..) => Val::Name(c.score.kind().name()),
            (Key::ScoreSigma, Score::Gaussian { sigma }, _) => Val::Number(sigma),
            (Key::ScoreN, Score::Power { n }, _) => Val::Number(f64::from(n)),
            (Key::Distance, ..) => Val::Name(c.distance.name()),
            (Key::SoftLossKind, ..) => Val::Name(c.soft_loss.kind().name()),
            (Key::SoftLossGamma, _, SoftLoss::Loss1 { gamma }) => Val::Number(gamma),
            (Key::Overlap, ..) => Val::Name(c.overlap.name()),
            (Key::Ciou, ..) => Val::Name(c.ciou.name()),
            (Key::Autobalance, ..) => Val::Bool(c.autobalance),
            (Key::Hyp(i), ..) => Val::Number(c.hyp.get(HYP_KEYS[i])?),
            (Key::Nc, ..) => Val::Count(c.nc),
            (Key::Nl, ..) => Val::Count(c.nl()),
            (Key::Na, ..) => Val::Count(c.na()),
            _ => return None,
        })
    }

    /// Whether the key changes anything in a case of `config`: the options of the soft
    /// assigner only under it, a score's or soft loss's parameter only with its kind.
    pub(crate) fn in_effect(self, c: &Config) -> bool {
        let soft = c.assigner == Assigner::Soft;
        match self {
            Key::ScoreKind | Key::Distance | Key::SoftLossKind | Key::Overlap => soft,
            Key::ScoreSigma => soft && matches!(c.score, Score::Gaussian { .. }),
            Key::ScoreN => soft && matches!(c.score, Score::Power { .. }),
            Key::SoftLossGamma => soft && matches!(c.soft_loss, SoftLoss::Loss1 { .. }),
            _ => true,
        }
    }

    /// The key's value in `case` when it is in effect ([`Key::in_effect`]).
    pub(crate) fn of_case(self, case: &Case) -> Option<Val> {
        if !self.in_effect(&case.config) {
            return None;
        }
        let shape = case.inputs.predictions.first().map(|p| p.shape());
        match self {
            Key::Batch => shape.map(|s| Val::Count(s[0])),
            Key::Image => shape.map(|s| Val::Image(s[3] * 8, s[2] * 8)),
            _ => self.of_config(&case.config),
        }
    }

    /// Sets the key in `config` to `v` (a value of this key): a parameter only where its kind
    /// is configured, a kind with its parameter's default (sigma 1, n 2, gamma 1).
    pub(crate) fn set(self, c: &mut Config, v: Val) {
        match (self, v) {
            (Key::Assigner, Val::Name(s)) => c.assigner = named(s),
            (Key::Distance, Val::Name(s)) => c.distance = named(s),
            (Key::Overlap, Val::Name(s)) => c.overlap = named(s),
            (Key::Ciou, Val::Name(s)) => c.ciou = named(s),
            (Key::Autobalance, Val::Bool(b)) => c.autobalance = b,
            (Key::Hyp(i), Val::Number(x)) => {
                c.hyp.set(HYP_KEYS[i], x);
            }
            (Key::Nc, Val::Count(n)) => c.nc = n,
            (Key::ScoreKind, Val::Name(s)) if s != c.score.kind().name() => {
                c.score = match named::<ScoreKind>(s) {
                    ScoreKind::Power => Score::Power { n: 2 },
                    ScoreKind::Gaussian => Score::Gaussian { sigma: 1.0 },
                }
            }
            (Key::ScoreSigma, Val::Number(x)) => {
                if let Score::Gaussian { sigma } = &mut c.score {
                    *sigma = x;
                }
            }
            (Key::ScoreN, Val::Number(x)) => {
                if let Score::Power { n } = &mut c.score {
                    *n = x as u32;
                }
            }
            (Key::SoftLossKind, Val::Name(s)) if s != c.soft_loss.kind().name() => {
                c.soft_loss = match named::<SoftLossKind>(s) {
                    SoftLossKind::Loss1 => SoftLoss::Loss1 { gamma: 1.0 },
                    SoftLossKind::Loss2 => SoftLoss::Loss2,
                    SoftLossKind::Loss3 => SoftLoss::Loss3,
                }
            }
            (Key::SoftLossGamma, Val::Number(x)) => {
                if let SoftLoss::Loss1 { gamma } = &mut c.soft_loss {
                    *gamma = x;
                }
            }
            _ => {}
        }
    }

    /// Reads one value of this key from its text, checked against the key's vocabulary or
    /// range; errors name `space.KEY`.
    fn value(self, text: &str) -> Result<Val> {
        let field = format!("space.{}", self.name());
        let s = text.trim();
        match self {
            Key::Assigner => name_of::<Assigner>(&field, s),
            Key::ScoreKind => name_of::<ScoreKind>(&field, s),
            Key::Distance => name_of::<Distance>(&field, s),
            Key::SoftLossKind => name_of::<SoftLossKind>(&field, s),
            Key::Overlap => name_of::<Overlap>(&field, s),
            Key::Ciou => name_of::<Ciou>(&field, s),
            Key::Autobalance => match s {
                "true" => Ok(Val::Bool(true)),
                "false" => Ok(Val::Bool(false)),
                _ => Err(Error::invalid(&field, s, "must be true or false")),
            },
            Key::ScoreSigma | Key::ScoreN | Key::SoftLossGamma | Key::Hyp(_) => {
                let x: f64 = s
                    .parse()
                    .map_err(|_| Error::invalid(&field, s, "must be a number"))?;
                self.check_number(&field, x).map(|()| Val::Number(x))
            }
            Key::Nc | Key::Nl | Key::Na | Key::Batch => {
                let n: usize = s
                    .parse()
                    .map_err(|_| Error::invalid(&field, s, "must be a whole number"))?;
                self.check_count(&field, n).map(|()| Val::Count(n))
            }
            Key::Image => {
                let bad = || Error::invalid(&field, s, "must be WxH in pixels, e.g. 64x96");
                let (w, h) = s.split_once(['x', 'X']).ok_or_else(bad)?;
                let w: usize = w.trim().parse().map_err(|_| bad())?;
                let h: usize = h.trim().parse().map_err(|_| bad())?;
                validate_shape(&field, w, h, 1, 1)?;
                Ok(Val::Image(w, h))
            }
        }
    }

    /// A number of a configuration key, checked by the configuration's own rules
    /// ([`Config::validate`]) with the error renamed to `field`.
    fn check_number(self, field: &str, x: f64) -> Result<()> {
        let mut c = Config::default();
        match self {
            Key::ScoreSigma => c.score = Score::Gaussian { sigma: x },
            Key::ScoreN => {
                if !(x >= 0.0 && x.fract() == 0.0 && x <= MAX_PARAM) {
                    return Err(Error::invalid(
                        field,
                        num(x),
                        "must be a non-negative even integer (at most 1e6)",
                    ));
                }
                c.score = Score::Power { n: x as u32 };
            }
            Key::SoftLossGamma => c.soft_loss = SoftLoss::Loss1 { gamma: x },
            Key::Hyp(i) => {
                c.hyp.set(HYP_KEYS[i], x);
            }
            _ => {}
        }
        c.validate().map_err(|e| match e {
            Error::Invalid { reason, .. } => Error::invalid(field, num(x), reason),
            other => other,
        })
    }

    /// A count of a shape key within its range.
    fn check_count(self, field: &str, n: usize) -> Result<()> {
        let (lo, hi) = match self {
            Key::Nl => (1, 5),
            Key::Na => (1, 16),
            Key::Nc => (1, 100_000),
            _ => (1, 4096),
        };
        if (lo..=hi).contains(&n) {
            Ok(())
        } else {
            Err(Error::invalid(field, n, format!("must be {lo} to {hi}")))
        }
    }
}

/// The value of `T` named `s` (a name of its table).
fn named<T: Named>(s: &str) -> T {
    T::parse("", s).unwrap_or(T::NAMES[0].0)
}

/// `s` as a name of `T`'s table, in its canonical `'static` spelling.
fn name_of<T: Named>(field: &str, s: &str) -> Result<Val> {
    T::parse(field, s).map(|v| Val::Name(v.name()))
}

/// A restriction of the random space: for some keys of the case format (the configuration's
/// options, and the shape keys `nl`, `na`, `batch`, `image`), the values a random case may
/// take. A key not restricted varies over its whole random range; an empty space
/// ([`CaseSpace::default`]) is every case.
///
/// Written as `KEY=VALUE,KEY=VALUE` with `|` between allowed values (`softobj gen --where`,
/// `softobj conform --where`), or as a JSON object whose values are a value or a list of
/// values (Python's `space=`). The keys are [`CaseSpace::KEYS`]; a parameter (`score.sigma`,
/// `score.n`, `soft_loss.gamma`) restricts the cases whose kind has it, and the options of the
/// soft assigner (`score.*`, `distance`, `soft_loss.*`, `overlap`) restrict its cases only.
///
/// ```
/// use soft_objectness::casegen::CaseSpace;
/// let space = CaseSpace::parse("assigner=yolov5,ciou=v6.0,hyp.fl_gamma=0,nl=1|3").unwrap();
/// assert_eq!(space.to_string(), "assigner=yolov5,ciou=v6.0,hyp.fl_gamma=0,nl=1|3");
/// let same = CaseSpace::from_json(&serde_json::json!(
///     {"assigner": "yolov5", "ciou": "v6.0", "hyp.fl_gamma": 0, "nl": [1, 3]})).unwrap();
/// assert_eq!(space, same);
/// let err = CaseSpace::parse("distance=manhattan").unwrap_err();
/// assert_eq!(err.field(), Some("space.distance"));
/// let err = CaseSpace::parse("hyp.gamma=1").unwrap_err();
/// assert!(err.to_string().starts_with("space: unknown key `hyp.gamma`"), "{err}");
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CaseSpace {
    allowed: BTreeMap<Key, Vec<Val>>,
}

impl CaseSpace {
    /// Every key with what it restricts: `(key, meaning)`.
    pub const KEYS: [(&'static str, &'static str); 23] = {
        let mut out = [("", ""); 23];
        let mut k = 0;
        while k < 23 {
            out[k] = (TABLE[k].1, TABLE[k].2);
            k += 1;
        }
        out
    };

    /// Reads `KEY=VALUE,KEY=V1|V2,...` (spaces around names and values are ignored; an empty
    /// text is every case).
    ///
    /// # Errors
    /// [`Error::Invalid`] naming `space` for an item without `=` or a key given twice,
    /// [`Error::UnknownKey`] for an unknown key, and an error naming `space.KEY` for a value
    /// outside the key's vocabulary or range.
    pub fn parse(text: &str) -> Result<CaseSpace> {
        let mut space = CaseSpace::default();
        for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (key, values) = item
                .split_once('=')
                .ok_or_else(|| Error::invalid("space", item, "expected KEY=VALUE or KEY=V1|V2"))?;
            space.restrict(key.trim(), values.split('|'))?;
        }
        Ok(space)
    }

    /// Reads a JSON object `{KEY: VALUE or [VALUE, ...]}`: names as strings, numbers,
    /// `true`/`false`, images as `"WxH"`.
    ///
    /// # Errors
    /// [`Error::Type`] for anything but an object of scalars or lists of scalars, then as
    /// [`CaseSpace::parse`].
    pub fn from_json(v: &Value) -> Result<CaseSpace> {
        let mut space = CaseSpace::default();
        for (key, value) in json::object(v, "space")? {
            let field = format!("space.{key}");
            let items = match value {
                Value::Array(items) => items.iter().collect(),
                scalar => vec![scalar],
            };
            let texts = items
                .into_iter()
                .map(|item| match item {
                    Value::String(s) => Ok(s.clone()),
                    Value::Number(n) => Ok(n.to_string()),
                    Value::Bool(b) => Ok(b.to_string()),
                    other => Err(json::type_err(&field, "a name, number or boolean", other)),
                })
                .collect::<Result<Vec<String>>>()?;
            space.restrict(key, texts.iter().map(String::as_str))?;
        }
        Ok(space)
    }

    /// Restricts `key` to `values` (texts as in [`CaseSpace::parse`]).
    fn restrict<'a>(&mut self, key: &str, values: impl Iterator<Item = &'a str>) -> Result<()> {
        let k = Key::parse(key)?;
        if self.allowed.contains_key(&k) {
            return Err(Error::invalid("space", key, "the key is given twice"));
        }
        let mut vals: Vec<Val> = Vec::new();
        for v in values {
            let v = k.value(v)?;
            if !vals.contains(&v) {
                vals.push(v);
            }
        }
        if vals.is_empty() {
            return Err(Error::invalid(
                format!("space.{key}"),
                "[]",
                "needs at least one value",
            ));
        }
        self.allowed.insert(k, vals);
        Ok(())
    }

    /// Whether no key is restricted (every case).
    pub fn is_everything(&self) -> bool {
        self.allowed.is_empty()
    }

    /// Whether `case` lies in the space: every restricted key that is in effect in the case has
    /// an allowed value (the image by its finest layer: `W/8 x H/8` cells).
    pub fn contains(&self, case: &Case) -> bool {
        self.allowed
            .iter()
            .all(|(k, vals)| k.of_case(case).is_none_or(|v| vals.contains(&v)))
    }

    /// The allowed values of `key`, when it is restricted.
    pub(crate) fn allowed(&self, key: Key) -> Option<&[Val]> {
        self.allowed.get(&key).map(Vec::as_slice)
    }

    /// `drawn` when `key` allows it; otherwise one of the allowed values (one `random_range`
    /// draw when there are several).
    pub(crate) fn choose<R: Rng + ?Sized>(&self, rng: &mut R, key: Key, drawn: Val) -> Val {
        match self.allowed(key) {
            Some(vals) if !vals.contains(&drawn) => match vals {
                [one] => *one,
                _ => vals[rng.random_range(0..vals.len())],
            },
            _ => drawn,
        }
    }
}

impl fmt::Display for CaseSpace {
    /// The text [`CaseSpace::parse`] reads (`every case` for an empty space is not readable:
    /// it is the empty text).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (k, vals)) in self.allowed.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            let vals: Vec<String> = vals.iter().map(Val::to_string).collect();
            write!(f, "{}={}", k.name(), vals.join("|"))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_reads_its_values_and_refuses_others() {
        let ok = [
            ("assigner", "soft|yolov5"),
            ("score.kind", "power"),
            ("score.sigma", "0.5|2"),
            ("score.n", "0|4"),
            ("distance", "cell_index|diagonal"),
            ("soft_loss.kind", "loss1"),
            ("soft_loss.gamma", "0"),
            ("overlap", "max"),
            ("ciou", "v7.0"),
            ("autobalance", "false"),
            ("hyp.box", "-1"),
            ("hyp.anchor_t", "3"),
            ("hyp.label_smoothing", "0.1"),
            ("nc", "1"),
            ("nl", "5"),
            ("na", "4"),
            ("batch", "3"),
            ("image", "64x96"),
        ];
        for (k, v) in ok {
            let s = CaseSpace::parse(&format!("{k}={v}")).unwrap();
            assert_eq!(s.to_string(), format!("{k}={v}"));
        }
        let bad = [
            ("assigner=baseline", "space.assigner"),
            ("score.sigma=0", "space.score.sigma"),
            ("score.sigma=x", "space.score.sigma"),
            ("score.n=3", "space.score.n"),
            ("soft_loss.gamma=-1", "space.soft_loss.gamma"),
            ("autobalance=yes", "space.autobalance"),
            ("hyp.anchor_t=1", "space.hyp.anchor_t"),
            ("hyp.label_smoothing=2", "space.hyp.label_smoothing"),
            ("hyp.fl_gamma=nan", "space.hyp.fl_gamma"),
            ("nl=6", "space.nl"),
            ("na=0", "space.na"),
            ("batch=1.5", "space.batch"),
            ("image=100x64", "space.image.width"),
            ("image=64", "space.image"),
            ("fl_gamma=1", "space"),
            ("assigner", "space"),
            ("nl=1,nl=2", "space"),
        ];
        for (text, field) in bad {
            let e = CaseSpace::parse(text).unwrap_err();
            assert_eq!(e.field(), Some(field), "{text}: {e}");
        }
        assert!(CaseSpace::parse(" ").unwrap().is_everything());
        let e = CaseSpace::from_json(&serde_json::json!({"nl": []})).unwrap_err();
        assert_eq!(e.field(), Some("space.nl"));
        let e = CaseSpace::from_json(&serde_json::json!({"nl": {"a": 1}})).unwrap_err();
        assert_eq!(e.field(), Some("space.nl"));
        let e = CaseSpace::from_json(&serde_json::json!([1])).unwrap_err();
        assert_eq!(e.field(), Some("space"));
    }

    #[test]
    fn a_case_is_in_the_space_by_the_keys_in_effect() {
        let edge = crate::casegen::edge::edge_cases(0);
        let soft = &edge[1]; // leave-left: soft, one layer of three anchors, power 10
        assert_eq!(soft.config.assigner, Assigner::Soft);
        let yolo = edge
            .iter()
            .find(|c| c.config.assigner == Assigner::Yolov5)
            .unwrap();
        let s = CaseSpace::parse("distance=diagonal").unwrap();
        assert!(!s.contains(soft) && s.contains(yolo));
        let s = CaseSpace::parse("score.sigma=0.5").unwrap();
        assert!(s.contains(soft)); // a power score has no sigma
        let s = CaseSpace::parse("nl=1,na=3,batch=2,image=64x64,score.n=10").unwrap();
        assert!(s.contains(soft), "{s}");
        let s = CaseSpace::parse("image=64x32").unwrap();
        assert!(!s.contains(soft));
    }

    #[test]
    fn set_and_of_config_agree() {
        let mut c = Config::default();
        for (key, v) in [
            (Key::Assigner, Val::Name("yolov5")),
            (Key::ScoreKind, Val::Name("power")),
            (Key::ScoreN, Val::Number(4.0)),
            (Key::SoftLossKind, Val::Name("loss1")),
            (Key::SoftLossGamma, Val::Number(2.5)),
            (Key::Distance, Val::Name("continuous")),
            (Key::Overlap, Val::Name("max")),
            (Key::Ciou, Val::Name("v7.0")),
            (Key::Autobalance, Val::Bool(true)),
            (Key::Hyp(6), Val::Number(1.5)),
            (Key::Nc, Val::Count(7)),
        ] {
            key.set(&mut c, v);
            assert_eq!(key.of_config(&c), Some(v), "{key:?}");
        }
        assert_eq!(Key::ScoreSigma.of_config(&c), None);
        assert!(!Key::ScoreN.in_effect(&c)); // yolov5
    }
}
