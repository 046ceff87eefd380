//! The soft assigner vectorised (spec section 4, same rules as [`super::soft_loop`]).
//!
//! Two differences in algorithm, none in result:
//! * **Separable distances.** Every distance mode is `sqrt(X(column) + Y(row))` (over a
//!   per-row constant for `diagonal`), so a row's `width` column terms and `height` row terms
//!   are computed once and combined per cell. IEEE addition is commutative, so the sum rounds
//!   exactly as the literal formula does. In `cell_index` mode the terms depend only on
//!   `|gi - ci|` and `|gj - cj|`, so each distinct pair is scored once, in a small table.
//! * **Parallel over planes.** A row writes only to its own `(image, anchor)` plane, so rows
//!   are bucketed by plane (a stable counting sort that keeps the largest-first order) and
//!   planes are filled in parallel, each by one thread in write order: the last-write rule
//!   holds and the result does not depend on the number of threads. A reused buffer
//!   ([`crate::Workspace`]) is zeroed plane by plane by the same threads.

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
/// already holds zeros (a fresh allocation, whose untouched pages are then left alone),
/// otherwise every plane is zeroed by the thread that fills it.
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

    debug_assert_eq!(data.len(), grid.cells());
    if grid.plane() > 0 {
        data.par_chunks_mut(grid.plane())
            .enumerate()
            .for_each(|(p, plane)| {
                if !zeroed {
                    plane.fill(0.0);
                }
                let mut scratch = Scratch::default();
                for &k in &bucketed[start[p]..start[p + 1]] {
                    fill_row(config, &matched[k], &ranges[k], grid, plane, &mut scratch);
                }
                for &k in &bucketed[start[p]..start[p + 1]] {
                    plane[rows[k].gj * grid.nx + rows[k].gi] = 1.0;
                }
            });
    }
    let tobj = Array4::from_shape_vec((grid.bs, grid.na, grid.ny, grid.nx), data)
        .expect("buffer sized from the grid");
    Ok(LayerTargets { grid, tobj, rows })
}

/// Per-thread buffers of [`fill_row`].
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
    /// `cell_index` scores by `(|gi - ci|, |gj - cj|)`; `None` where skipped.
    table: Vec<Option<f64>>,
}

/// Writes one row's cells into its plane, column offset outer, row offset inner.
fn fill_row(
    config: &Config,
    m: &Matched,
    r: &CellRange,
    grid: Grid,
    plane: &mut [f64],
    s: &mut Scratch,
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
        Distance::CellIndex => return fill_cell_index(config, r, plane, s),
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

/// Largest score table of [`fill_cell_index`] (entries); larger boxes score cell by cell.
const TABLE_MAX: i64 = 1 << 14;

/// [`fill_row`] in `cell_index` mode. X and Y depend on the column and row offsets only through
/// `|gi - ci|` and `|gj - cj|` (`(-k / h)^2` is `(k / h)^2` bit for bit), so each distinct pair
/// is scored once, in a small table: about a quarter of the cells of a large box.
fn fill_cell_index(config: &Config, r: &CellRange, plane: &mut [f64], s: &mut Scratch) {
    let (hw, hh) = (r.width as f64 / 2.0, r.height as f64 / 2.0);
    // gi1 <= gi <= gi1 + width - 1 (trunc is monotonic), so these are the largest |offsets| + 1.
    let kx = (r.gi - r.gi1).max(r.gi1 + r.width - 1 - r.gi) + 1;
    let ky = (r.gj - r.gj1).max(r.gj1 + r.height - 1 - r.gj) + 1;
    s.xs.extend((0..kx).map(|k| sq(k as f64 / hw)));
    s.ys.extend((0..ky).map(|k| sq(k as f64 / hh)));
    let tabled = kx * ky <= TABLE_MAX;
    s.table.clear();
    if tabled {
        for &x in &s.xs {
            s.table.extend(
                s.ys.iter()
                    .map(|&y| score::score(config.score, (x + y).sqrt())),
            );
        }
    }
    let ky = ky as usize;
    for (dw, &ci) in s.cols.iter().enumerate() {
        let ix = (r.gi - (r.gi1 + dw as i64)).unsigned_abs() as usize;
        for (dh, &at) in s.row_at.iter().enumerate() {
            let iy = (r.gj - (r.gj1 + dh as i64)).unsigned_abs() as usize;
            let v = if tabled {
                s.table[ix * ky + iy]
            } else {
                score::score(config.score, (s.xs[ix] + s.ys[iy]).sqrt())
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
