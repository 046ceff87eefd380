//! The soft assigner vectorised (spec section 4, same rules as [`super::soft_loop`]).
//!
//! Two differences in algorithm, none in result:
//! * **Separable distances.** Every distance mode is `sqrt(X(column) + Y(row))` (over a
//!   per-row constant for `diagonal`), so a row's `width` column terms and `height` row terms
//!   are computed once and combined per cell. IEEE addition is commutative, so the sum rounds
//!   exactly as the literal formula does. In `cell_index` mode the terms depend only on the
//!   box size and on `|gi - ci|`, `|gj - cj|`, so the rows of one size share one table of
//!   scores, each computed once.
//! * **Parallel over planes.** A row writes only to its own `(image, anchor)` plane, so rows
//!   are bucketed by plane (a stable counting sort that keeps the largest-first order) and
//!   planes are filled in parallel, each by one thread in write order: the last-write rule
//!   holds and the result does not depend on the number of threads. A reused buffer
//!   ([`crate::Workspace`]) is zeroed plane by plane by the same threads.

use std::collections::HashMap;

use ndarray::Array4;
use rayon::prelude::*;

use super::matching::Matched;
use super::score::{self, CellRange, clamp_cell};
use super::soft_loop::centre_rows;
use super::{Grid, LayerTargets};
use crate::config::{Config, Distance, Overlap};
use crate::error::Result;

/// Builds one layer's soft targets; bit-identical to [`super::soft_loop::build_layer`].
///
/// # Errors
/// [`crate::Error::TooLarge`] when the rows cover more than [`score::MAX_PAIRS`] cells.
pub fn build_layer(config: &Config, matched: &[Matched], grid: Grid) -> Result<LayerTargets> {
    build_layer_in(config, matched, grid, (zeros(grid.cells()), true))
}

/// `n` zeros, written in parallel: `vec![0.0; n]` would zero on one thread whenever the
/// allocator reuses memory (a `memset` that kept the builder from scaling with threads).
pub(crate) fn zeros(n: usize) -> Vec<f64> {
    let mut v = Vec::with_capacity(n);
    v.par_extend(rayon::iter::repeat_n(0.0, n));
    v
}

/// [`build_layer`] into a given buffer of `grid.cells()` values; `zeroed` tells whether it
/// already holds zeros (from [`zeros`]); otherwise (a buffer reused from a
/// [`crate::Workspace`]) every plane is zeroed by the thread that fills it.
pub(crate) fn build_layer_in(
    config: &Config,
    matched: &[Matched],
    grid: Grid,
    (mut data, zeroed): (Vec<f64>, bool),
) -> Result<LayerTargets> {
    let (ranges, order) = score::ranges_and_order(matched)?;
    let rows = centre_rows(matched, &ranges, grid);
    let planes = grid.bs * grid.na;
    let plane_of = |k: usize| matched[k].b * grid.na + matched[k].a;

    // Stable counting sort of the ordered rows by plane.
    let mut start = vec![0usize; planes + 1];
    for &k in &order {
        start[plane_of(k) + 1] += 1;
    }
    for p in 0..planes {
        start[p + 1] += start[p];
    }
    let mut fill = start.clone();
    let mut bucketed = vec![0usize; order.len()];
    for &k in &order {
        let p = plane_of(k);
        bucketed[fill[p]] = k;
        fill[p] += 1;
    }

    let tables = match config.distance {
        Distance::CellIndex => Tables::new(config, &ranges),
        _ => Tables::default(),
    };
    debug_assert_eq!(data.len(), grid.cells());
    if grid.plane() > 0 {
        data.par_chunks_mut(grid.plane()).enumerate().for_each_init(
            Scratch::default,
            |scratch, (p, plane)| {
                if !zeroed {
                    plane.fill(0.0);
                }
                for &k in &bucketed[start[p]..start[p + 1]] {
                    let table = tables
                        .of_row
                        .get(k)
                        .copied()
                        .flatten()
                        .map(|i| &tables.tables[i]);
                    fill_row(config, &matched[k], &ranges[k], grid, plane, scratch, table);
                }
                for &k in &bucketed[start[p]..start[p + 1]] {
                    plane[rows[k].gj * grid.nx + rows[k].gi] = 1.0;
                }
            },
        );
    }
    let tobj = Array4::from_shape_vec((grid.bs, grid.na, grid.ny, grid.nx), data)
        .expect("buffer sized from the grid");
    Ok(LayerTargets { grid, tobj, rows })
}

/// Buffers of [`fill_row`], one set per rayon job (reused across the planes it fills).
#[derive(Default)]
struct Scratch {
    /// Column terms `X(dw)` (or, in `cell_index` mode, `X` by `|gi - ci|`).
    xs: Vec<f64>,
    /// Row terms `Y(dh)` (or by `|gj - cj|`).
    ys: Vec<f64>,
    /// Clamped column of each `dw`.
    cols: Vec<usize>,
    /// Offset in the plane of the clamped row of each `dh`.
    row_at: Vec<usize>,
}

/// Writes one row's cells into its plane, column offset outer, row offset inner; `table` is
/// its size's score table in `cell_index` mode (see [`Tables`]), if it has one.
fn fill_row(
    config: &Config,
    m: &Matched,
    r: &CellRange,
    grid: Grid,
    plane: &mut [f64],
    s: &mut Scratch,
    table: Option<&Table>,
) {
    let (nx, ny) = (grid.nx as f64, grid.ny as f64);
    s.cols.clear();
    s.cols
        .extend((0..r.width).map(|dw| clamp_cell(r.gi1 + dw, grid.nx)));
    s.row_at.clear();
    s.row_at
        .extend((0..r.height).map(|dh| clamp_cell(r.gj1 + dh, grid.ny) * grid.nx));
    s.xs.clear();
    s.ys.clear();
    // Column terms X(ci) and row terms Y(cj), squared, as the literal formula writes them.
    let mut denom = 1.0;
    match config.distance {
        Distance::CellIndex => return fill_cell_index(config, r, plane, s, table),
        Distance::Continuous => {
            let (hw, hh) = (m.gw / 2.0, m.gh / 2.0);
            s.xs.extend((0..r.width).map(|dw| sq((m.gx - (r.gi1 + dw) as f64 - 0.5) / hw)));
            s.ys.extend((0..r.height).map(|dh| sq((m.gy - (r.gj1 + dh) as f64 - 0.5) / hh)));
        }
        Distance::Diagonal => {
            s.xs.extend((0..r.width).map(|dw| sq((m.gx - (r.gi1 + dw) as f64 - 0.5) / nx)));
            s.ys.extend((0..r.height).map(|dh| sq((m.gy - (r.gj1 + dh) as f64 - 0.5) / ny)));
            denom = (sq(m.gw / nx) + sq(m.gh / ny)).sqrt();
        }
    }
    let diagonal = config.distance == Distance::Diagonal;
    for (&x, &ci) in s.xs.iter().zip(&s.cols) {
        for (&y, &at) in s.ys.iter().zip(&s.row_at) {
            let mut d = (x + y).sqrt();
            if diagonal {
                d /= denom;
            }
            if let Some(v) = score::score(config.score, d) {
                write(config.overlap, &mut plane[at + ci], v);
            }
        }
    }
}

/// Largest score table of one size (entries); rows of larger boxes score cell by cell.
const TABLE_MAX: i64 = 1 << 14;

/// Entries of all the score tables of one layer at most (16 MB); rows whose size comes after
/// the budget is spent score cell by cell.
const TABLES_MAX: usize = 1 << 20;

/// A `cell_index` score table: `(ky, scores)`, the score of offsets `(|gi - ci|, |gj - cj|)` at
/// `ix * ky + iy`, `None` where the cell is skipped.
type Table = (usize, Vec<Option<f64>>);

/// The `cell_index` score tables of one layer. A row's scores depend only on its `width`,
/// `height` and the offsets `|gi - ci|`, `|gj - cj|` (`(-k / h)^2` is `(k / h)^2` bit for bit),
/// so all the rows of one size share one table: each distinct score is computed once (2.5 to
/// 4 times fewer `exp` calls than one table per row on the standard batch).
#[derive(Default)]
struct Tables {
    /// Per row (matched index): its size's table, if it has one.
    of_row: Vec<Option<usize>>,
    /// Per size, in order of first appearance.
    tables: Vec<Table>,
}

/// The largest `|gi - ci|` and `|gj - cj|` of a row, plus one. `gi1 <= gi <= gi1 + width - 1`
/// (trunc is monotonic).
fn extents(r: &CellRange) -> (i64, i64) {
    let kx = (r.gi - r.gi1).max(r.gi1 + r.width - 1 - r.gi) + 1;
    let ky = (r.gj - r.gj1).max(r.gj1 + r.height - 1 - r.gj) + 1;
    (kx, ky)
}

impl Tables {
    fn new(config: &Config, ranges: &[CellRange]) -> Tables {
        // Distinct sizes with the largest offsets their rows need.
        let mut index: HashMap<(i64, i64), usize> = HashMap::new();
        let mut sizes: Vec<(i64, i64, i64, i64)> = Vec::new();
        let mut of_row = Vec::with_capacity(ranges.len());
        for r in ranges {
            let (kx, ky) = extents(r);
            let i = *index.entry((r.width, r.height)).or_insert_with(|| {
                sizes.push((r.width, r.height, 0, 0));
                sizes.len() - 1
            });
            sizes[i].2 = sizes[i].2.max(kx);
            sizes[i].3 = sizes[i].3.max(ky);
            of_row.push(i);
        }
        let mut budget = TABLES_MAX;
        let keep: Vec<bool> = sizes
            .iter()
            .map(|&(_, _, kx, ky)| {
                let n = (kx * ky) as usize;
                let fits = kx * ky <= TABLE_MAX && n <= budget;
                if fits {
                    budget -= n;
                }
                fits
            })
            .collect();
        let tables = sizes
            .par_iter()
            .zip(&keep)
            .map(|(&(w, h, kx, ky), &keep)| {
                if !keep {
                    return (0, Vec::new());
                }
                let (hw, hh) = (w as f64 / 2.0, h as f64 / 2.0);
                let ys: Vec<f64> = (0..ky).map(|k| sq(k as f64 / hh)).collect();
                let mut t = Vec::with_capacity((kx * ky) as usize);
                for k in 0..kx {
                    let x = sq(k as f64 / hw);
                    t.extend(
                        ys.iter()
                            .map(|&y| score::score(config.score, (x + y).sqrt())),
                    );
                }
                (ky as usize, t)
            })
            .collect();
        let of_row = of_row.into_iter().map(|i| keep[i].then_some(i)).collect();
        Tables { of_row, tables }
    }
}

/// [`fill_row`] in `cell_index` mode: scores from the row's size's table, or (a box too large
/// for one) from its column and row terms cell by cell, the same arithmetic.
fn fill_cell_index(
    config: &Config,
    r: &CellRange,
    plane: &mut [f64],
    s: &mut Scratch,
    table: Option<&Table>,
) {
    let (kx, ky) = extents(r);
    if table.is_none() {
        let (hw, hh) = (r.width as f64 / 2.0, r.height as f64 / 2.0);
        s.xs.extend((0..kx).map(|k| sq(k as f64 / hw)));
        s.ys.extend((0..ky).map(|k| sq(k as f64 / hh)));
    }
    for (dw, &ci) in s.cols.iter().enumerate() {
        let ix = (r.gi - (r.gi1 + dw as i64)).unsigned_abs() as usize;
        for (dh, &at) in s.row_at.iter().enumerate() {
            let iy = (r.gj - (r.gj1 + dh as i64)).unsigned_abs() as usize;
            let v = match table {
                Some((stride, t)) => t[ix * stride + iy],
                None => score::score(config.score, (s.xs[ix] + s.ys[iy]).sqrt()),
            };
            if let Some(v) = v {
                write(config.overlap, &mut plane[at + ci], v);
            }
        }
    }
}

/// Writes `v` into a cell under the overlap rule (spec 4.7).
#[inline]
fn write(overlap: Overlap, cell: &mut f64, v: f64) {
    match overlap {
        Overlap::LastWrite => *cell = v,
        Overlap::Max => *cell = cell.max(v),
    }
}

#[inline]
fn sq(x: f64) -> f64 {
    x * x
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assign::soft_loop;
    use crate::config::Score;

    fn same_as_loop(config: &Config, matched: &[Matched], grid: Grid) {
        let want = soft_loop::build_layer(config, matched, grid).unwrap().tobj;
        let fresh = build_layer(config, matched, grid).unwrap().tobj;
        // A reused buffer full of stale values, as a workspace lends it.
        let stale = build_layer_in(config, matched, grid, (vec![0.5; grid.cells()], false))
            .unwrap()
            .tobj;
        for got in [fresh, stale] {
            assert!(
                want.iter()
                    .zip(got.iter())
                    .all(|(a, b)| a.to_bits() == b.to_bits())
            );
        }
    }

    /// A box too large for a score table, and more distinct box sizes than the tables' budget
    /// holds: the cell-by-cell scores are the loop builder's, bit for bit.
    #[test]
    fn score_table_fallbacks_match_the_loop_builder() {
        let grid = Grid {
            bs: 1,
            na: 1,
            ny: 16,
            nx: 16,
        };
        let row = |gx: f64, gy: f64, gw: f64, gh: f64| Matched {
            b: 0,
            class: 0,
            a: 0,
            gx,
            gy,
            gw,
            gh,
        };
        for score in [Score::Gaussian { sigma: 1.0 }, Score::Power { n: 4 }] {
            let config = Config {
                score,
                distance: Distance::CellIndex,
                ..Config::default()
            };
            // Offsets up to 151 x 141: more than TABLE_MAX entries.
            let big = row(8.3, 7.6, 300.0, 280.0);
            assert!(extents(&CellRange::of(&big)).0 * extents(&CellRange::of(&big)).1 > TABLE_MAX);
            same_as_loop(&config, &[big, row(3.5, 4.5, 3.0, 2.0)], grid);
            // 80 distinct sizes of about 14 500 entries each: the budget runs out near the end.
            let many: Vec<Matched> = (0..80)
                .map(|i| {
                    row(
                        8.0,
                        8.5,
                        230.0 + 2.0 * (i % 10) as f64,
                        230.0 + 2.0 * (i / 10) as f64,
                    )
                })
                .collect();
            let ranges: Vec<CellRange> = many.iter().map(CellRange::of).collect();
            let t = Tables::new(&config, &ranges);
            assert!(t.of_row.iter().any(Option::is_none) && t.of_row.iter().any(Option::is_some));
            same_as_loop(&config, &many, grid);
        }
    }
}
