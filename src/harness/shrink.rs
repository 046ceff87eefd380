//! Shrinking: per failure group, the smallest case that still fails the same way.
//!
//! From the group's smallest case, greedy passes apply cuts in a fixed order: images (keep
//! one, drop one), boxes (drop all, half, one), layers (keep one, drop one), anchors (keep
//! one, drop one), classes (one, two, one fewer), grids (halve a layer in y, in x), options
//! (reset each option in effect to its default). Every candidate lies in the run's space (when
//! the case shrunk does) and is valid (the oracle evaluates it; an invalid one is skipped
//! without calling the port). The first candidate of a cut that still fails every way all the
//! group's cases share (its core) becomes the case and the cut is tried again on it; passes
//! repeat until one accepts nothing or the group's budget of port calls
//! ([`HarnessOptions::shrink_calls`]) is spent. Groups whose cases only time out are not
//! shrunk (each try could take the timeout).
//!
//! [`HarnessOptions::shrink_calls`]: super::HarnessOptions::shrink_calls

use ndarray::{Array2, Axis};

use super::groups::{Atom, atoms, describe as ways};
use super::judge::{Judge, Judged};
use super::outcome::{Conformance, Draft, MinimalCase};
use super::port::Port;
use crate::case::Case;
use crate::casegen::space::{Key, Val};
use crate::config::Config;
use crate::inputs::Prediction;

/// Shrinks every group of `c` (but those that only time out) and sets its minimal cases.
pub(crate) fn minimal(
    port: &mut dyn Port,
    judge: &mut Judge,
    judged: &[Judged],
    drafts: &[Draft],
    c: &mut Conformance,
) {
    let f32 = c.precision.is_some();
    for (g, d) in drafts.iter().enumerate() {
        if d.core.iter().all(|a| *a == Atom::TimedOut) {
            continue;
        }
        let Some(&start) = d.cases.iter().min_by_key(|&&i| size(&judged[i].case)) else {
            continue;
        };
        let from = &judged[start];
        let (mut case, how, calls) = shrink(port, judge, &from.case, &d.core, f32);
        let how = how.unwrap_or_else(|| atoms(&from.outcome, f32));
        let size = format!("{}; {}", describe(&case), ways(&how));
        case.name = format!("minimal-{}: {size} (shrunk from {})", g + 1, from.name);
        c.minimal.push(MinimalCase {
            group: g,
            from: from.name.clone(),
            size,
            case,
            port_calls: calls,
        });
    }
}

/// The smallest case found from `start` that still fails every way of `core`, how it fails
/// (`None`: nothing smaller found), and the port calls spent.
fn shrink(
    port: &mut dyn Port,
    judge: &mut Judge,
    start: &Case,
    core: &[Atom],
    f32: bool,
) -> (Case, Option<Vec<Atom>>, usize) {
    let mut s = Shrinking {
        current: start.clone(),
        how: None,
        calls: 0,
        budget: judge.opts.shrink_calls,
        in_space: judge.opts.space.contains(start),
    };
    loop {
        let mut accepted = false;
        for cut in CUTS {
            // One cut at a time until none of its candidates is accepted.
            while s.step(port, judge, cut(&s.current), core, f32) {
                accepted = true;
            }
        }
        if !accepted || s.calls >= s.budget {
            return (s.current, s.how, s.calls);
        }
    }
}

/// A shrinking in progress.
struct Shrinking {
    current: Case,
    how: Option<Vec<Atom>>,
    calls: usize,
    budget: usize,
    /// The start lies in the run's space, and so must every candidate (a given case outside
    /// it shrinks anywhere).
    in_space: bool,
}

impl Shrinking {
    /// Tries `candidates` in order; the first that fails every way of `core` becomes the
    /// current case (`true`). Candidates outside the space or refused by the oracle cost no
    /// call.
    fn step(
        &mut self,
        port: &mut dyn Port,
        judge: &mut Judge,
        candidates: Vec<Case>,
        core: &[Atom],
        f32: bool,
    ) -> bool {
        for candidate in candidates {
            if self.calls >= self.budget {
                return false;
            }
            if self.in_space && !judge.opts.space.contains(&candidate) {
                continue;
            }
            let Ok(oracle) = judge.oracle(&candidate) else {
                continue; // not a valid case
            };
            let (got, seconds) = judge.call(port, &candidate);
            self.calls += 1;
            let j = judge.judge(String::new(), candidate, &oracle, got, seconds);
            judge.recycle(oracle);
            let how = atoms(&j.outcome, f32);
            if core.iter().all(|a| how.contains(a)) {
                self.current = j.case;
                self.how = Some(how);
                return true;
            }
        }
        false
    }
}

/// The cuts, the largest first: each gives the smaller cases to try after a case.
const CUTS: [fn(&Case) -> Vec<Case>; 7] = [
    image_cuts,
    box_cuts,
    layer_cuts,
    anchor_cuts,
    class_cuts,
    grid_cuts,
    defaults,
];

/// How large a case is: its prediction values and its boxes.
fn size(c: &Case) -> usize {
    let values: usize = c
        .inputs
        .predictions
        .iter()
        .map(|p| p.shape().iter().product::<usize>())
        .sum();
    values + c.inputs.targets.nrows()
}

/// One image kept, or (from three) one left out.
fn image_cuts(c: &Case) -> Vec<Case> {
    let batch = c.inputs.batch_size();
    let mut out = Vec::new();
    if batch > 1 {
        out.extend((0..batch).map(|b| images(c, &[b])));
    }
    if batch > 2 {
        out.extend((0..batch).map(|b| images(c, &without(batch, b))));
    }
    out
}

/// No boxes, half of them, or one left out.
fn box_cuts(c: &Case) -> Vec<Case> {
    let nt = c.inputs.targets.nrows();
    let mut out = Vec::new();
    if nt > 0 {
        out.push(boxes(c, &[]));
    }
    if nt >= 4 {
        out.push(boxes(c, &(0..nt / 2).collect::<Vec<_>>()));
        out.push(boxes(c, &(nt / 2..nt).collect::<Vec<_>>()));
    }
    if nt > 1 {
        out.extend((0..nt).map(|k| boxes(c, &without(nt, k))));
    }
    out
}

/// One layer kept, or (from three) one left out.
fn layer_cuts(c: &Case) -> Vec<Case> {
    kept_or_left_out(c.config.nl(), |keep| layers(c, keep))
}

/// One anchor kept, or (from three) one left out.
fn anchor_cuts(c: &Case) -> Vec<Case> {
    kept_or_left_out(c.config.na(), |keep| anchors(c, keep))
}

/// `cut` of each one of `n` parts alone (from two), then of all but each one (from three).
fn kept_or_left_out(n: usize, cut: impl Fn(&[usize]) -> Case) -> Vec<Case> {
    let mut out = Vec::new();
    if n > 1 {
        out.extend((0..n).map(|k| cut(&[k])));
    }
    if n > 2 {
        out.extend((0..n).map(|k| cut(&without(n, k))));
    }
    out
}

/// One class, two, or one class less.
fn class_cuts(c: &Case) -> Vec<Case> {
    let nc = c.config.nc;
    let mut fewer = vec![1, 2, nc - 1];
    fewer.dedup();
    fewer
        .into_iter()
        .filter(|&k| k >= 1 && k < nc)
        .map(|k| classes(c, k))
        .collect()
}

/// Each layer's grid halved in y, or in x.
fn grid_cuts(c: &Case) -> Vec<Case> {
    (0..c.config.nl())
        .flat_map(|l| {
            [2, 3]
                .into_iter()
                .filter_map(move |axis| halved(c, l, axis))
        })
        .collect()
}

/// `0..n` without `k`.
fn without(n: usize, k: usize) -> Vec<usize> {
    (0..n).filter(|&i| i != k).collect()
}

/// `p` with only the entries `idx` along `axis`.
fn select(p: &Prediction, axis: usize, idx: &[usize]) -> Prediction {
    match p {
        Prediction::F32(a) => Prediction::F32(a.select(Axis(axis), idx)),
        Prediction::F64(a) => Prediction::F64(a.select(Axis(axis), idx)),
    }
}

/// The rows of `targets` that `keep` accepts, with column 0 (the image) mapped by `image`.
fn rows(
    targets: &Array2<f64>,
    keep: impl Fn(usize, f64) -> bool,
    image: impl Fn(f64) -> f64,
) -> Array2<f64> {
    let idx: Vec<usize> = (0..targets.nrows())
        .filter(|&k| keep(k, targets[[k, 0]]))
        .collect();
    let mut t = targets.select(Axis(0), &idx);
    t.column_mut(0).mapv_inplace(image);
    t
}

/// `c` with only the images `keep` (renumbered in order).
fn images(c: &Case, keep: &[usize]) -> Case {
    let mut out = c.clone();
    let pos = |b: f64| keep.iter().position(|&k| k as f64 == b);
    out.inputs.targets = rows(
        &c.inputs.targets,
        |_, b| pos(b).is_some(),
        |b| pos(b).unwrap_or(0) as f64,
    );
    out.inputs.predictions = c
        .inputs
        .predictions
        .iter()
        .map(|p| select(p, 0, keep))
        .collect();
    out
}

/// `c` with only the boxes (target rows) `keep`.
fn boxes(c: &Case, keep: &[usize]) -> Case {
    let mut out = c.clone();
    out.inputs.targets = rows(&c.inputs.targets, |k, _| keep.contains(&k), |b| b);
    out
}

/// `c` with only the layers `keep`.
fn layers(c: &Case, keep: &[usize]) -> Case {
    let mut out = c.clone();
    out.config.anchors = c.config.anchors.select(Axis(0), keep);
    out.inputs.predictions = keep
        .iter()
        .map(|&l| c.inputs.predictions[l].clone())
        .collect();
    out
}

/// `c` with only the anchors `keep` of every layer.
fn anchors(c: &Case, keep: &[usize]) -> Case {
    let mut out = c.clone();
    out.config.anchors = c.config.anchors.select(Axis(1), keep);
    out.inputs.predictions = c
        .inputs
        .predictions
        .iter()
        .map(|p| select(p, 1, keep))
        .collect();
    out
}

/// `c` with `k` classes: the class channels past `k` dropped, boxes of those classes given
/// class `class % k`.
fn classes(c: &Case, k: usize) -> Case {
    let mut out = c.clone();
    out.config.nc = k;
    let channels: Vec<usize> = (0..5 + k).collect();
    out.inputs.predictions = c
        .inputs
        .predictions
        .iter()
        .map(|p| select(p, 4, &channels))
        .collect();
    out.inputs
        .targets
        .column_mut(1)
        .mapv_inplace(|class| class % k as f64);
    out
}

/// `c` with layer `l`'s grid halved (rounded up) along `axis` (2: y, 3: x); `None` for a
/// grid one cell long there.
fn halved(c: &Case, l: usize, axis: usize) -> Option<Case> {
    let n = c.inputs.predictions[l].shape()[axis];
    if n < 2 {
        return None;
    }
    let keep: Vec<usize> = (0..n.div_ceil(2)).collect();
    let mut out = c.clone();
    out.inputs.predictions[l] = select(&c.inputs.predictions[l], axis, &keep);
    Some(out)
}

/// The value `key` takes by default: the configuration's, and for loss1's `gamma` the case
/// format's default 1.
fn default_of(key: Key) -> Option<Val> {
    match key {
        Key::SoftLossGamma => Some(Val::Number(1.0)),
        _ => key.of_config(&Config::default()),
    }
}

/// `c` with each option in effect that differs from its default reset to it.
fn defaults(c: &Case) -> Vec<Case> {
    let config_keys = Key::all().filter(|k| !matches!(k, Key::Nc | Key::Nl | Key::Na));
    config_keys
        .filter(|k| k.in_effect(&c.config))
        .filter_map(|k| {
            let d = default_of(k)?;
            (k.of_config(&c.config)? != d).then(|| {
                let mut out = c.clone();
                k.set(&mut out.config, d);
                out
            })
        })
        .collect()
}

/// A case's size in words: `1 image, 2 boxes, 1 layer of 4x4 cells, 1 anchor, nc 2`, then
/// every option in effect that differs from its default (`hyp.fl_gamma = 1.5`).
pub(crate) fn describe(c: &Case) -> String {
    let n = |k: usize, one: &str, many: &str| format!("{k} {}", if k == 1 { one } else { many });
    let grids: Vec<String> = c
        .inputs
        .predictions
        .iter()
        .map(|p| {
            let s = p.shape();
            format!("{}x{}", s[2], s[3])
        })
        .collect();
    let layers = match grids.as_slice() {
        [one] => format!("1 layer of {one} cells"),
        many => format!("{} layers of {} cells", many.len(), many.join(", ")),
    };
    let mut parts = vec![
        n(c.inputs.batch_size(), "image", "images"),
        n(c.inputs.targets.nrows(), "box", "boxes"),
        layers,
        n(c.config.na(), "anchor", "anchors"),
        format!("nc {}", c.config.nc),
    ];
    let options = Key::all().filter(|k| !matches!(k, Key::Nc | Key::Nl | Key::Na));
    for k in options.filter(|k| k.in_effect(&c.config)) {
        if let Some(v) = k.of_config(&c.config)
            && default_of(k) != Some(v)
        {
            parts.push(format!("{} = {v}", k.name()));
        }
    }
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::casegen::edge::edge_cases;

    #[test]
    fn every_candidate_is_smaller_and_valid() {
        for c in edge_cases(2).iter().take(12) {
            for cand in CUTS.iter().flat_map(|cut| cut(c)) {
                assert!(size(&cand) <= size(c), "{}", c.name);
                cand.config.validate().unwrap();
                cand.inputs.validate(&cand.config).unwrap();
            }
        }
    }

    #[test]
    fn sizes_are_said_in_words() {
        let c = edge_cases(0)
            .into_iter()
            .find(|c| c.name.starts_with("focal:"))
            .unwrap();
        let d = describe(&c);
        assert!(
            d.starts_with("2 images, 4 boxes, 1 layer of 8x8 cells, 3 anchors, nc 3"),
            "{d}"
        );
        assert!(d.ends_with("hyp.fl_gamma = 1.5"), "{d}");
        let one = anchors(&layers(&images(&boxes(&c, &[1]), &[0]), &[0]), &[2]);
        assert_eq!(
            describe(&classes(&one, 2)),
            "1 image, 1 box, 1 layer of 8x8 cells, 1 anchor, nc 2, hyp.fl_gamma = 1.5"
        );
    }
}
