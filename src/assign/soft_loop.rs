//! The soft assigner as a plain loop (spec section 4): the readable reference that the
//! vectorised builder and the shaders are checked against.
//!
//! One distance per enumerated cell, in the spec's order; its score goes through a memo
//! (`score::Memo`, crate-private), a cache of a pure function that changes no bit.

use ndarray::Array4;

use super::matching::Matched;
use super::score::{self, CellRange, clamp_cell};
use crate::config::{Config, Distance};
use crate::error::Result;
use crate::targets::{Grid, LayerTargets};

/// Builds one layer's soft targets, one cell at a time.
///
/// ```
/// use soft_objectness::{Config, Score, Distance, Grid, internals::assign::{matching::Matched, soft_loop}};
/// let config = Config { score: Score::Power { n: 10 }, distance: Distance::CellIndex, ..Config::default() };
/// // The spec's worked example on an 8x8 layer.
/// let m = Matched { b: 0, class: 0, a: 0, gx: 3.2, gy: 4.4, gw: 3.44, gh: 2.4 };
/// let t = soft_loop::build_layer(&config, &[m], Grid { bs: 1, na: 1, ny: 8, nx: 8 }).unwrap();
/// assert_eq!(t.tobj[[0, 0, 4, 3]], 1.0); // centre
/// assert_eq!(t.tobj[[0, 0, 4, 1]], 0.0); // d == 1 exactly: a hard negative
/// assert!(t.tobj[[0, 0, 4, 2]] > 0.0 && t.tobj[[0, 0, 4, 2]] < 1.0); // soft
/// ```
///
/// # Errors
/// [`crate::Error::TooLarge`] when the rows cover more than [`score::MAX_PAIRS`] cells.
pub fn build_layer(config: &Config, matched: &[Matched], grid: Grid) -> Result<LayerTargets> {
    let mut tobj = Array4::<f64>::zeros((grid.bs, grid.na, grid.ny, grid.nx));
    let (ranges, order) = score::ranges_and_order(matched)?;
    // Scores are remembered by the bits of what they are a function of alone (cells of one
    // layer repeat distances): the squared distance `s`, since `d = sqrt(s)` (so that a
    // repeated cell costs no square root), or in `diagonal` mode `d = sqrt(s) / denom`. One
    // copy of the loop per kind of key (the closures are inlined into it), so that the choice
    // is not made per cell.
    let kind = config.score;
    // The two calls share their arguments but the closures; a macro, because passing the
    // shared ones as a struct costs stack reloads in the hot loop (docs/performance.md).
    macro_rules! write_cells_with {
        ($key:expr, $score:expr) => {
            write_cells(
                config, matched, &ranges, &order, grid, &mut tobj, $key, $score,
            )
        };
    }
    match config.distance {
        mode @ (Distance::CellIndex | Distance::Continuous) => write_cells_with!(
            |m, r, cj, ci| score::distance_parts(mode, m, r, cj, ci, grid).0,
            |s| score::score(kind, s.sqrt())
        ),
        Distance::Diagonal => write_cells_with!(
            |m, r, cj, ci| score::distance(Distance::Diagonal, m, r, cj, ci, grid),
            |d| score::score(kind, d)
        ),
    }
    let rows = score::centre_rows(matched, &ranges, grid);
    for row in &rows {
        tobj[[row.b, row.a, row.gj, row.gi]] = 1.0;
    }
    Ok(LayerTargets { grid, tobj, rows })
}

/// Every row's cells in write order (spec 4.3 and 4.4): `key` of each cell, its score
/// `score(key)` (`None`: skipped) through a memo, written under the overlap rule (spec 4.7).
#[allow(clippy::too_many_arguments)]
fn write_cells(
    config: &Config,
    matched: &[Matched],
    ranges: &[CellRange],
    order: &[usize],
    grid: Grid,
    tobj: &mut Array4<f64>,
    key: impl Fn(&Matched, &CellRange, i64, i64) -> f64,
    score: impl Fn(f64) -> Option<f64>,
) {
    let mut score_of = score::Memo::new(|k| score(k).unwrap_or(f64::NAN));
    let cells = tobj
        .as_slice_mut()
        .expect("a new array is in standard layout");
    for &k in order {
        let (m, r) = (&matched[k], &ranges[k]);
        // The row's (image, anchor) plane, row-major.
        let plane = &mut cells[(m.b * grid.na + m.a) * grid.plane()..][..grid.plane()];
        for dw in 0..r.width {
            for dh in 0..r.height {
                let (cj, ci) = (r.gj1 + dh, r.gi1 + dw);
                let s = score_of.get(key(m, r, cj, ci));
                if s.is_nan() {
                    continue; // skipped (spec 4.6); no score is NaN
                }
                let cell = &mut plane[clamp_cell(cj, grid.ny) * grid.nx + clamp_cell(ci, grid.nx)];
                score::write(config.overlap, cell, s);
            }
        }
    }
}
