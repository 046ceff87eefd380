//! The soft assigner vectorised (spec section 4, same rules as [`super::soft_loop`]).
//!
//! Two differences in algorithm, none in result:
//! * **Separable distances.** Every distance mode is `sqrt(X(column) + Y(row))` (over a
//!   per-row constant for `diagonal`), so a row's `width` column terms and `height` row terms
//!   are computed once and combined per cell. IEEE addition is commutative, so the sum rounds
//!   exactly as the literal formula does.
//! * **Parallel over planes.** A row writes only to its own `(image, anchor)` plane, so rows
//!   are bucketed by plane (a stable counting sort that keeps the largest-first order) and
//!   planes are filled in parallel, each by one thread in write order: the last-write rule
//!   holds and the result does not depend on the number of threads.

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

    let mut data = vec![0.0f64; grid.cells()];
    if grid.plane() > 0 {
        data.par_chunks_mut(grid.plane()).enumerate().for_each(|(p, plane)| {
            let mut xs = Vec::new();
            let mut ys = Vec::new();
            for &k in &bucketed[start[p]..start[p + 1]] {
                fill_row(config, &matched[k], &ranges[k], grid, plane, &mut xs, &mut ys);
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

/// Writes one row's cells into its plane, column offset outer, row offset inner.
fn fill_row(
    config: &Config,
    m: &Matched,
    r: &CellRange,
    grid: Grid,
    plane: &mut [f64],
    xs: &mut Vec<f64>,
    ys: &mut Vec<f64>,
) {
    let (nx, ny) = (grid.nx as f64, grid.ny as f64);
    xs.clear();
    ys.clear();
    // Column terms X(ci) and row terms Y(cj), squared, as the literal formula writes them.
    let mut denom = 1.0;
    match config.distance {
        Distance::CellIndex => {
            let (hw, hh) = (r.width as f64 / 2.0, r.height as f64 / 2.0);
            xs.extend((0..r.width).map(|dw| sq((r.gi - (r.gi1 + dw)) as f64 / hw)));
            ys.extend((0..r.height).map(|dh| sq((r.gj - (r.gj1 + dh)) as f64 / hh)));
        }
        Distance::Continuous => {
            let (hw, hh) = (m.gw / 2.0, m.gh / 2.0);
            xs.extend((0..r.width).map(|dw| sq((m.gx - (r.gi1 + dw) as f64 - 0.5) / hw)));
            ys.extend((0..r.height).map(|dh| sq((m.gy - (r.gj1 + dh) as f64 - 0.5) / hh)));
        }
        Distance::Diagonal => {
            xs.extend((0..r.width).map(|dw| sq((m.gx - (r.gi1 + dw) as f64 - 0.5) / nx)));
            ys.extend((0..r.height).map(|dh| sq((m.gy - (r.gj1 + dh) as f64 - 0.5) / ny)));
            denom = (sq(m.gw / nx) + sq(m.gh / ny)).sqrt();
        }
    }
    let diagonal = config.distance == Distance::Diagonal;
    let cols: Vec<usize> = (0..r.width).map(|dw| clamp_cell(r.gi1 + dw, grid.nx)).collect();
    for (dw, &x) in xs.iter().enumerate() {
        let ci = cols[dw];
        for (dh, &y) in ys.iter().enumerate() {
            let mut d = (x + y).sqrt();
            if diagonal {
                d /= denom;
            }
            let Some(s) = score::score(config.score, d) else { continue };
            let cell = &mut plane[clamp_cell(r.gj1 + dh as i64, grid.ny) * grid.nx + ci];
            match config.overlap {
                Overlap::LastWrite => *cell = s,
                Overlap::Max => *cell = cell.max(s),
            }
        }
    }
}

#[inline]
fn sq(x: f64) -> f64 {
    x * x
}
