//! What a listed mismatch is shown with, so that a failure points at its cause: the input
//! logit of its cell and channel, and for a `tobj` cell the oracle row that wrote it
//! ([`writer`]) and its distance `d`.

use super::report::{Location, Mismatch, Report, Writer};
use crate::assign::matching::Matched;
use crate::assign::score;
use crate::config::{Assigner, Config, Overlap};
use crate::inputs::{InputsView, PredictionView};
use crate::result::Evaluation;
use crate::targets::{Grid, Row};

/// Fills [`Mismatch::logit`] (with `inputs`) and, for `tobj` cells, [`Mismatch::writer`] of
/// every kept mismatch of `report`.
pub(crate) fn annotate(
    report: &mut Report,
    config: &Config,
    oracle: &Evaluation,
    inputs: Option<&InputsView>,
) {
    for field in &mut report.fields {
        for m in field.kept_mut() {
            explain(m, config, oracle, inputs);
        }
    }
}

fn explain(m: &mut Mismatch, config: &Config, oracle: &Evaluation, inputs: Option<&InputsView>) {
    let (layer, image, anchor, y, x, channel) = match m.at {
        Location::Cell {
            layer,
            image,
            anchor,
            y,
            x,
        } => {
            m.writer = writer(config, oracle, layer, [image, anchor, y, x]);
            (layer, image, anchor, y, x, 4)
        }
        Location::Channel {
            layer,
            image,
            anchor,
            y,
            x,
            channel,
        } => (layer, image, anchor, y, x, channel),
        _ => return,
    };
    m.logit = inputs
        .and_then(|i| i.predictions.get(layer))
        .and_then(|p| logit(*p, [image, anchor, y, x, channel]));
}

/// The prediction at `at`, when inside the array.
fn logit(p: PredictionView, at: [usize; 5]) -> Option<f64> {
    match p {
        PredictionView::F32(a) => a.get(at).map(|&v| f64::from(v)),
        PredictionView::F64(a) => a.get(at).copied(),
    }
}

/// Which row of the oracle's layer `layer` wrote `tobj[cell]` (`cell = [image, anchor, y,
/// x]`), by the rules of spec section 4 replayed for that one cell; `None` when no row wrote
/// it (its target is the initial 0) or the cell is outside the layer.
pub(crate) fn writer(
    config: &Config,
    oracle: &Evaluation,
    layer: usize,
    cell: [usize; 4],
) -> Option<Writer> {
    let l = oracle.layers.get(layer)?;
    let (bs, na, ny, nx) = l.tobj.dim();
    let [b, a, y, x] = cell;
    if b >= bs || a >= na || y >= ny || x >= nx {
        return None;
    }
    let at_cell = |r: &Row| (r.b, r.a, r.gj, r.gi) == (b, a, y, x);
    if config.assigner == Assigner::Yolov5 {
        let row = l.rows.iter().rposition(at_cell)?;
        return Some(Writer {
            row,
            centre: false,
            d: None,
        });
    }
    let grid = Grid { bs, na, ny, nx };
    let matched: Vec<Matched> = l
        .rows
        .iter()
        .map(|r| Matched {
            b: r.b,
            class: r.class,
            a: r.a,
            gx: r.gxywh[0],
            gy: r.gxywh[1],
            gw: r.gxywh[2],
            gh: r.gxywh[3],
        })
        .collect();
    let (ranges, order) = score::ranges_and_order(&matched).ok()?;
    let d = |k: usize, cj: i64, ci: i64| {
        score::distance(config.distance, &matched[k], &ranges[k], cj, ci, grid)
    };
    // The centre pass comes last (spec 4.8): the last row centred here wins.
    if let Some(k) = l.rows.iter().rposition(at_cell) {
        let r = &ranges[k];
        return Some(Writer {
            row: k,
            centre: true,
            d: Some(d(k, r.gj, r.gi)),
        });
    }
    // Otherwise the scores, in write order (spec 4.3, 4.4) under the overlap rule (4.7).
    let mut best: Option<(f64, Writer)> = None;
    for &k in &order {
        let (m, r) = (&matched[k], &ranges[k]);
        if (m.b, m.a) != (b, a) {
            continue;
        }
        for ci in clamped_to(r.gi1, r.width, x, nx) {
            for cj in clamped_to(r.gj1, r.height, y, ny) {
                let dist = d(k, cj, ci);
                let Some(s) = score::score(config.score, dist) else {
                    continue;
                };
                let wins = match (config.overlap, &best) {
                    (Overlap::LastWrite, _) | (Overlap::Max, None) => true,
                    (Overlap::Max, Some((top, _))) => s > *top,
                };
                if wins {
                    let w = Writer {
                        row: k,
                        centre: false,
                        d: Some(dist),
                    };
                    best = Some((s, w));
                }
            }
        }
    }
    best.map(|(_, w)| w)
}

/// The indices of `first..first + len` (unclamped, ascending) that clamp to `c` on an axis of
/// `n` cells: only `c` inside the grid, everything beyond an edge at that edge.
fn clamped_to(first: i64, len: i64, c: usize, n: usize) -> std::ops::RangeInclusive<i64> {
    let last = first.saturating_add(len - 1);
    let c = c as i64;
    let lo = if c == 0 { first } else { c.max(first) };
    let hi = if c == n as i64 - 1 { last } else { c.min(last) };
    lo..=hi
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Distance, Score};
    use crate::inputs::Inputs;

    #[test]
    fn a_centre_cell_was_written_by_the_centre_pass() {
        let (config, oracle) = crate::default_batch::small_evaluation();
        let row = &oracle.layers[0].rows[0];
        let w = writer(&config, &oracle, 0, [row.b, row.a, row.gj, row.gi]).unwrap();
        assert!(w.centre);
        assert!(writer(&config, &oracle, 0, [99, 0, 0, 0]).is_none());
    }

    #[test]
    fn clamping_gathers_the_cells_beyond_an_edge() {
        assert_eq!(clamped_to(-3, 6, 0, 8), -3..=0);
        assert_eq!(clamped_to(-3, 6, 2, 8), 2..=2);
        assert!(clamped_to(-3, 6, 5, 8).is_empty());
        assert_eq!(clamped_to(5, 6, 7, 8), 7..=10);
        assert_eq!(clamped_to(-2, 6, 0, 1), -2..=3);
    }

    /// Every non-zero `tobj` cell of the spec's worked example has a writer whose score is the
    /// cell's value, and the cell at `d = 1` (power score) is written with a 0.
    #[test]
    fn writers_reproduce_the_worked_example() {
        use crate::eval::evaluate;
        use crate::inputs::Prediction;
        use ndarray::{Array2, Array5};
        let mut config = Config {
            score: Score::Power { n: 10 },
            distance: Distance::CellIndex,
            nc: 1,
            anchors: ndarray::Array3::from_elem((1, 1, 2), 1.0),
            ..Config::default()
        };
        config.hyp.anchor_t = 1e3;
        let inputs = Inputs {
            targets: Array2::from_shape_vec((1, 6), vec![0.0, 0.0, 0.40, 0.55, 0.43, 0.30])
                .unwrap(),
            predictions: vec![Prediction::F64(Array5::zeros((1, 1, 8, 8, 6)))],
        };
        let e = evaluate(&config, &inputs, &crate::EvalOptions::default()).unwrap();
        let centre = writer(&config, &e, 0, [0, 0, 4, 3]).unwrap();
        assert_eq!(
            centre,
            Writer {
                row: 0,
                centre: true,
                d: Some(0.0)
            }
        );
        let w = writer(&config, &e, 0, [0, 0, 4, 1]).unwrap();
        assert_eq!((w.row, w.centre, w.d), (0, false, Some(1.0)));
        assert_eq!(e.layers[0].tobj[[0, 0, 4, 1]], 0.0);
        let w = writer(&config, &e, 0, [0, 0, 3, 3]).unwrap();
        assert!((w.d.unwrap() - 2.0 / 3.0).abs() < 1e-15, "{w:?}");
        assert_eq!(writer(&config, &e, 0, [0, 0, 0, 0]), None);
        assert_eq!(writer(&config, &e, 0, [0, 0, 8, 0]), None);
    }
}
