//! Failure patterns that name a common bug ([`Pattern`]): each detector asks whether the
//! answer becomes conforming (under the same tolerances) once the suspected bug is undone.

use super::report::{CHANNEL_KINDS, FieldReport, Pattern, Report, channel_kind};
use crate::answer::Answer;
use crate::array::JsonArray;
use crate::config::Assigner;
use crate::result::{CellClass, Evaluation};

/// The patterns of a non-conforming `answer`, given its `report` against `oracle`.
pub(crate) fn recognise(
    report: &Report,
    oracle: &Evaluation,
    assigner: Assigner,
    answer: &Answer,
) -> Vec<Pattern> {
    let mut found = Vec::new();
    let field = |name: &str| report.fields.iter().find(|f| f.field == name);
    let mut transposed = false;
    if let (Some(f), Some(got)) = (field("tobj"), answer.tobj.as_deref()) {
        let layers = tobj_transposed(f, got, oracle, assigner, report.tolerances.tobj_atol);
        if !layers.is_empty() {
            transposed = true;
            found.push(Pattern::TobjTransposed { layers });
        }
        let counts_right = field("counts").is_none_or(FieldReport::passed);
        if !transposed && !f.passed() && report.class_changes.total() == 0 && counts_right {
            found.push(Pattern::SoftValuesWrong { cells: f.failed });
        }
    }
    if let (Some(f), Some(got)) = (field("grad"), answer.grad.as_deref()) {
        found.extend(grad_patterns(f, got, oracle, report.tolerances.grad_rtol));
    }
    found
}

/// The failing square layers of `tobj` whose answer equals the oracle's with `x` and `y`
/// swapped, cell classes included.
fn tobj_transposed(
    f: &FieldReport,
    got: &[JsonArray],
    oracle: &Evaluation,
    assigner: Assigner,
    atol: f64,
) -> Vec<usize> {
    let class = |v| CellClass::of(v, assigner);
    let failing = f.breakdown.iter().filter(|g| g.failed > 0);
    failing
        .map(|g| g.layer)
        .filter(|&l| {
            let (Some(got), Some(layer)) = (got.get(l), oracle.layers.get(l)) else {
                return false;
            };
            let want = &layer.tobj;
            let (bs, na, ny, nx) = want.dim();
            if ny != nx || got.shape != want.shape() {
                return false;
            }
            let mut k = 0;
            for b in 0..bs {
                for a in 0..na {
                    for y in 0..ny {
                        for x in 0..nx {
                            let (g, w) = (got.data[k], want[[b, a, x, y]]);
                            k += 1;
                            let close = (g - w).abs() <= atol;
                            if !close || class(g) != class(w) {
                                return false;
                            }
                        }
                    }
                }
            }
            true
        })
        .collect()
}

/// Obj and class channels exchanged, then a constant factor per channel kind, for the layers
/// and channel kinds that fail.
fn grad_patterns(
    f: &FieldReport,
    got: &[JsonArray],
    oracle: &Evaluation,
    grad_rtol: f64,
) -> Vec<Pattern> {
    let Some(g_max) = f.relative_to else {
        return Vec::new();
    };
    let allowed = grad_rtol * g_max;
    let mut found = Vec::new();
    let mut failing_layers: Vec<usize> = f
        .breakdown
        .iter()
        .filter(|g| g.failed > 0)
        .map(|g| g.layer)
        .collect();
    failing_layers.dedup();
    let mut exchanged: Vec<(&str, Vec<usize>)> = Vec::new();
    // Constant factors by channel kind, merged across layers that share the factor.
    let mut factors: Vec<(usize, f64, Vec<usize>)> = Vec::new();
    for l in failing_layers {
        let Some(got) = got.get(l) else { continue };
        let want = oracle.grad.dense_layer(l);
        if got.shape != want.shape() {
            continue;
        }
        let want = want.as_standard_layout();
        let Some(want) = want.as_slice() else {
            continue;
        };
        let no = got.shape[4];
        let layout = [
            ("obj <-> cls 0", swap_obj_cls0 as fn(usize, usize) -> usize),
            ("obj last", obj_last),
        ]
        .into_iter()
        .find(|(_, permute)| permuted_fits(&got.data, want, no, allowed, *permute));
        if let Some((name, _)) = layout {
            match exchanged.iter_mut().find(|(n, _)| *n == name) {
                Some((_, layers)) => layers.push(l),
                None => exchanged.push((name, vec![l])),
            }
            continue;
        }
        let kinds = f.breakdown.iter().filter(|g| g.layer == l && g.failed > 0);
        for kind in kinds.filter_map(|g| {
            let c = g.channel.as_deref()?;
            CHANNEL_KINDS.iter().position(|k| *k == c)
        }) {
            let Some(r) = factor(&got.data, want, no, kind, allowed) else {
                continue;
            };
            let same = |x: f64| (x - r).abs() <= 1e-6 * r.abs();
            match factors.iter_mut().find(|(k, x, _)| *k == kind && same(*x)) {
                Some((_, _, layers)) => layers.push(l),
                None => factors.push((kind, r, vec![l])),
            }
        }
    }
    for (layout, layers) in exchanged {
        found.push(Pattern::ObjClsExchanged {
            layers,
            layout: layout.into(),
        });
    }
    for (kind, factor, layers) in factors {
        found.push(Pattern::ChannelFactor {
            layers,
            channel: CHANNEL_KINDS[kind].into(),
            factor,
        });
    }
    found
}

// Channel arrangements an answer may have used by mistake: `f(c, no)` is the oracle's
// channel that the answer's channel `c` (of `no`) holds.

/// Objectness and the first class swapped.
fn swap_obj_cls0(c: usize, _no: usize) -> usize {
    match c {
        4 => 5,
        5 => 4,
        c => c,
    }
}

/// `tx, ty, tw, th, cls.., obj`.
fn obj_last(c: usize, no: usize) -> usize {
    match c {
        c if c < 4 => c,
        c if c == no - 1 => 4,
        c => c + 1,
    }
}

/// Whether one layer of the answer's gradient `got`, its channels read through `permute`, is
/// within `allowed` of the oracle's `want` everywhere (NaN never fits); `no` channels.
fn permuted_fits(
    got: &[f64],
    want: &[f64],
    no: usize,
    allowed: f64,
    permute: fn(usize, usize) -> usize,
) -> bool {
    no >= 6
        && got
            .chunks(no)
            .zip(want.chunks(no))
            .all(|(g, w)| (0..no).all(|c| (g[c] - w[permute(c, no)]).abs() <= allowed))
}

/// The constant `got / want` of channel kind `kind` in one layer (`no` channels), when one
/// explains every value of that kind within `allowed` (and is not 1): estimated at the
/// largest `|want|`.
fn factor(got: &[f64], want: &[f64], no: usize, kind: usize, allowed: f64) -> Option<f64> {
    let pairs = || {
        got.iter()
            .zip(want)
            .enumerate()
            .filter(move |(k, _)| channel_kind(k % no) == kind)
            .map(|(_, (&g, &w))| (g, w))
    };
    let (g, w) = pairs().max_by(|a, b| a.1.abs().total_cmp(&b.1.abs()))?;
    let r = g / w;
    if !r.is_finite() || r == 1.0 {
        return None;
    }
    // `r * want` rounds: allow what the tolerance allows, scaled with the factor.
    let slack = allowed.max(f64::MIN_POSITIVE) * r.abs().max(1.0);
    pairs()
        .all(|(g, w)| (g - r * w).abs() <= slack)
        .then_some(r)
}
