//! The features of a case that attribution weighs: every option value in effect (names,
//! numbers against their default and against thresholds), the shape (`nl`, `na`, `batch`,
//! `nc`), and facts of its boxes and cells.

use std::collections::BTreeMap;

use crate::case::Case;
use crate::casegen::space::{Key, Val};
use crate::config::{Assigner, Config};
use crate::error::num;
use crate::result::Evaluation;

/// Facts of one case that no option states: read from its targets, grids and the oracle's
/// evaluation.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Facts {
    /// Some image has no box.
    image_without_boxes: bool,
    /// No image has a box.
    no_boxes: bool,
    /// Some layer has no matched row.
    layer_without_rows: bool,
    /// The soft assigner, and some layer has no soft cell.
    layer_without_soft_cells: bool,
    /// Some box reaches beyond the image.
    box_leaving: bool,
    /// Some box centre lies on the image's border.
    centre_on_border: bool,
    /// Some layer's grid is not square.
    nonsquare: bool,
}

impl Facts {
    /// The facts of `case`, whose oracle evaluation is `oracle`.
    pub(crate) fn of(case: &Case, oracle: &Evaluation) -> Facts {
        let t = &case.inputs.targets;
        let batch = case.inputs.batch_size();
        let with_boxes = |b: usize| t.outer_iter().any(|r| r[0] == b as f64);
        let rows = t.outer_iter();
        let out = |c: f64, s: f64| c - s / 2.0 < 0.0 || c + s / 2.0 > 1.0;
        let edge = |c: f64| c == 0.0 || c == 1.0;
        Facts {
            image_without_boxes: (0..batch).any(|b| !with_boxes(b)),
            no_boxes: t.nrows() == 0,
            layer_without_rows: oracle.layers.iter().any(|l| l.rows.is_empty()),
            layer_without_soft_cells: case.config.assigner == Assigner::Soft
                && oracle.layers.iter().any(|l| l.counts.soft == 0),
            box_leaving: rows.clone().any(|r| out(r[2], r[4]) || out(r[3], r[5])),
            centre_on_border: rows.clone().any(|r| edge(r[2]) || edge(r[3])),
            nonsquare: case.inputs.predictions.iter().any(|p| {
                let s = p.shape();
                s[2] != s[3]
            }),
        }
    }
}

/// A feature: a condition on a case, in words, with the config keys it names.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Feature {
    /// The condition as a sentence writes it after "with": `hyp.fl_gamma > 0`.
    pub text: String,
    /// The config keys it names, as the case format spells them (`nl` and `na` for the
    /// anchors' shape); empty for a fact of the boxes.
    pub keys: Vec<String>,
    /// Simplicity, the lower the simpler: 0 an option's value, 1 a threshold, 2 a fact, 3 a
    /// pair of features.
    pub rank: u8,
    /// Whether it holds, per case.
    pub holds: Vec<bool>,
    /// The single features it is made of (itself, or both of a pair), by their texts.
    pub parts: Vec<String>,
}

impl Feature {
    fn new(text: String, keys: &[&str], rank: u8, holds: Vec<bool>) -> Feature {
        Feature {
            parts: vec![text.clone()],
            text,
            keys: keys.iter().map(|k| k.to_string()).collect(),
            rank,
            holds,
        }
    }

    /// Both `self` and `other`.
    pub(crate) fn and(&self, other: &Feature) -> Feature {
        let mut keys = self.keys.clone();
        keys.extend(
            other
                .keys
                .iter()
                .filter(|k| !self.keys.contains(k))
                .cloned(),
        );
        Feature {
            text: format!("{} and {}", self.text, other.text),
            keys,
            rank: 3,
            holds: self
                .holds
                .iter()
                .zip(&other.holds)
                .map(|(a, b)| *a && *b)
                .collect(),
            parts: [self.parts.clone(), other.parts.clone()].concat(),
        }
    }
}

/// Every feature of `cases` (each with its facts) that holds on some case and not on all.
pub(crate) fn features(cases: &[(&Case, Facts)]) -> Vec<Feature> {
    let mut out = Vec::new();
    for key in Key::all().filter(|k| *k != Key::Image) {
        let values: Vec<Option<Val>> = cases.iter().map(|(c, _)| key.of_case(c)).collect();
        match values.iter().flatten().next() {
            Some(Val::Number(_)) => numbers(key, &values, &mut out),
            Some(Val::Count(_)) => counts(key, &values, &mut out),
            Some(_) => names(key, &values, &mut out),
            None => {}
        }
    }
    let shape: Vec<(usize, usize)> = cases
        .iter()
        .map(|(c, _)| (c.config.nl(), c.config.na()))
        .collect();
    out.push(Feature::new(
        "na > nl".into(),
        &["nl", "na"],
        2,
        shape.iter().map(|&(nl, na)| na > nl).collect(),
    ));
    out.push(Feature::new(
        "nl > na".into(),
        &["nl", "na"],
        2,
        shape.iter().map(|&(nl, na)| nl > na).collect(),
    ));
    facts(cases, &mut out);
    out.retain(|f| f.holds.iter().any(|&h| h) && !f.holds.iter().all(|&h| h));
    out
}

/// `key = v` for every value `v` of a named or boolean key, and `key != v` where it has three
/// values or more.
fn names(key: Key, values: &[Option<Val>], out: &mut Vec<Feature>) {
    let mut distinct: Vec<Val> = Vec::new();
    for v in values.iter().flatten() {
        if !distinct.contains(v) {
            distinct.push(*v);
        }
    }
    let k = key.name();
    for v in &distinct {
        let holds = values.iter().map(|x| x.as_ref() == Some(v)).collect();
        out.push(Feature::new(format!("{k} = {v}"), &[k], 0, holds));
        if distinct.len() >= 3 {
            let holds = values.iter().map(|x| x.is_some_and(|x| x != *v)).collect();
            out.push(Feature::new(format!("{k} != {v}"), &[k], 0, holds));
        }
    }
}

/// A numeric option: against its default (`hyp.fl_gamma > 0`, `hyp.obj_pw != 1`), each value
/// where there are few, and the thresholds between its values (`score.sigma <= 0.05`).
fn numbers(key: Key, values: &[Option<Val>], out: &mut Vec<Feature>) {
    let xs: Vec<Option<f64>> = values
        .iter()
        .map(|v| match v {
            Some(Val::Number(x)) => Some(*x),
            _ => None,
        })
        .collect();
    let k = key.name();
    if let Some(Val::Number(d)) = key.of_config(&Config::default()) {
        let above = xs.iter().flatten().all(|&x| x >= d);
        let op = if above { ">" } else { "!=" };
        let holds = xs.iter().map(|x| x.is_some_and(|x| x != d)).collect();
        out.push(Feature::new(format!("{k} {op} {}", num(d)), &[k], 0, holds));
    }
    ordered(k, &xs, out);
}

/// A count of the shape (`nl`, `na`, `batch`, `nc`): each value, and the thresholds.
fn counts(key: Key, values: &[Option<Val>], out: &mut Vec<Feature>) {
    let xs: Vec<Option<f64>> = values
        .iter()
        .map(|v| match v {
            Some(Val::Count(n)) => Some(*n as f64),
            _ => None,
        })
        .collect();
    ordered(key.name(), &xs, out);
}

/// `k = v` for each of at most 12 distinct values, `k <= v` and `k >= v` at each cut between
/// them (when there are three values or more).
fn ordered(k: &str, xs: &[Option<f64>], out: &mut Vec<Feature>) {
    let mut distinct: Vec<f64> = xs.iter().flatten().copied().collect();
    distinct.sort_by(f64::total_cmp);
    distinct.dedup();
    if distinct.len() <= 12 {
        for &v in &distinct {
            let holds = xs.iter().map(|x| *x == Some(v)).collect();
            out.push(Feature::new(format!("{k} = {}", num(v)), &[k], 0, holds));
        }
    }
    if distinct.len() < 3 {
        return;
    }
    for w in distinct.windows(2) {
        let (lo, hi) = (w[0], w[1]);
        let holds = xs.iter().map(|x| x.is_some_and(|x| x <= lo)).collect();
        out.push(Feature::new(format!("{k} <= {}", num(lo)), &[k], 1, holds));
        let holds = xs.iter().map(|x| x.is_some_and(|x| x >= hi)).collect();
        out.push(Feature::new(format!("{k} >= {}", num(hi)), &[k], 1, holds));
    }
}

/// A fact: its words, the keys it names, whether it holds.
type Fact = (&'static str, &'static [&'static str], fn(&Facts) -> bool);

/// The facts of the cases as features.
fn facts(cases: &[(&Case, Facts)], out: &mut Vec<Feature>) {
    let table: [Fact; 7] = [
        ("an image without boxes", &[], |f| f.image_without_boxes),
        ("no boxes", &[], |f| f.no_boxes),
        ("a layer without matched rows", &[], |f| {
            f.layer_without_rows
        }),
        (
            "assigner = soft and a layer without soft cells",
            &["assigner"],
            |f| f.layer_without_soft_cells,
        ),
        ("a box reaching beyond the image", &[], |f| f.box_leaving),
        ("a box centre on the image border", &[], |f| {
            f.centre_on_border
        }),
        ("a non-square grid", &[], |f| f.nonsquare),
    ];
    for (text, keys, holds) in table {
        let h = cases.iter().map(|(_, f)| holds(f)).collect();
        out.push(Feature::new(text.into(), keys, 2, h));
    }
}

/// The features that hold on exactly the same cases among `universe` keep only the simplest
/// (lowest rank, then first): `nc = 1` and `nc <= 1` are one feature.
pub(crate) fn distinct_on<'f>(features: &'f [Feature], universe: &[usize]) -> Vec<&'f Feature> {
    let mut seen: BTreeMap<Vec<bool>, usize> = BTreeMap::new();
    let mut out: Vec<&Feature> = Vec::new();
    for f in features {
        let pattern: Vec<bool> = universe.iter().map(|&i| f.holds[i]).collect();
        if !pattern.iter().any(|&h| h) || pattern.iter().all(|&h| h) {
            continue;
        }
        match seen.get(&pattern) {
            Some(&k) if out[k].rank <= f.rank => {}
            Some(&k) => out[k] = f,
            None => {
                seen.insert(pattern, out.len());
                out.push(f);
            }
        }
    }
    out
}
