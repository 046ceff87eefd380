//! The soft assigner vectorised (spec section 4, same rules as [`super::soft_loop`]).
//!
//! Three differences in algorithm, none in result:
//! * **Parallel over planes.** A row writes only to its own `(image, anchor)` plane, so rows
//!   are bucketed by plane (a stable counting sort, in matching order) and planes are filled
//!   in parallel, each by one thread that puts its rows in write order (largest first, stable:
//!   the restriction of spec 4.3's order to the plane) and zeroes the plane just before
//!   writing it. The last-write rule holds and the result does not depend on the number of
//!   threads.
//! * **Score tables.** In `cell_index` mode a row's scores depend only on its `width`,
//!   `height` and the offsets `|gi - ci|`, `|gj - cj|`, so the rows of one size share one table
//!   of scores, each computed once; a row inside the grid copies each of its grid rows from the
//!   table in one run.
//! * **Separable distances.** In the other modes every distance is `sqrt(X(column) +
//!   Y(row))` (over a per-row constant for `diagonal`), so a row's `width` column terms and
//!   `height` row terms are computed once and combined per cell. IEEE addition is commutative,
//!   so the sum rounds exactly as the literal formula does.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use ndarray::Array4;
use rayon::prelude::*;

use super::matching::Matched;
use super::score::{self, CellRange, MAX_PAIRS, Memo, Separable, clamp_cell, index_term, write};
use crate::array::zeroed;
use crate::config::{Config, Distance, Overlap};
use crate::error::Result;
use crate::targets::{Grid, LayerTargets};

/// Builds one layer's soft targets; bit-identical to [`super::soft_loop::build_layer`].
///
/// # Errors
/// [`crate::Error::TooLarge`] when the rows cover more than [`score::MAX_PAIRS`] cells.
pub fn build_layer(config: &Config, matched: &[Matched], grid: Grid) -> Result<LayerTargets> {
    build_layer_in(config, matched, grid, Vec::new(), &mut Vec::new())
}

/// [`build_layer`] into the allocation of `data` (a buffer lent by a [`crate::Workspace`], or
/// an empty `Vec`): its contents are ignored, every plane is zeroed by the thread that fills
/// it, just before filling it, so that the plane is still in that core's cache for its writes.
/// The score tables are written into the allocation of `scores` (contents ignored), which
/// gets it back when the layer is built.
pub(crate) fn build_layer_in(
    config: &Config,
    matched: &[Matched],
    grid: Grid,
    mut data: Vec<f64>,
    scores: &mut Vec<f64>,
) -> Result<LayerTargets> {
    let ranges = score::ranges(matched)?;
    let rows = score::centre_rows(matched, &ranges, grid);
    let planes = grid.bs * grid.na;
    let plane_of = |k: usize| matched[k].b * grid.na + matched[k].a;

    // Stable counting sort of the rows by plane, in matching order.
    let mut start = vec![0usize; planes + 1];
    for m in matched {
        start[m.b * grid.na + m.a + 1] += 1;
    }
    for p in 0..planes {
        start[p + 1] += start[p];
    }
    let mut fill = start.clone();
    let mut bucketed = vec![0usize; matched.len()];
    for k in 0..matched.len() {
        let p = plane_of(k);
        bucketed[fill[p]] = k;
        fill[p] += 1;
    }

    let mut tables = match config.distance {
        Distance::CellIndex => Tables::new(config, &ranges, std::mem::take(scores)),
        _ => Tables::default(),
    };
    let cells = grid.cells();
    data.clear();
    data.reserve_exact(cells);
    if grid.plane() > 0 {
        data.spare_capacity_mut()[..cells]
            .par_chunks_mut(grid.plane())
            .enumerate()
            .for_each_init(Scratch::default, |scratch, (p, plane)| {
                let plane = zeroed(plane);
                // Write order (spec 4.3) within the plane: largest first, ties in matching
                // order (the bucket is in matching order, so sorting the packed keys is the
                // stable sort by size, without a stable sort's cost).
                let mut order = std::mem::take(&mut scratch.order);
                order.clear();
                order.extend(
                    bucketed[start[p]..start[p + 1]]
                        .iter()
                        .map(|&k| (MAX_PAIRS - ranges[k].cells()) << ROW_BITS | k as u64),
                );
                order.sort_unstable();
                for &key in &order {
                    let k = (key & ROW_MASK) as usize;
                    let table = tables.of_row(k);
                    fill_row(config, &matched[k], &ranges[k], grid, plane, scratch, table);
                }
                for &key in &order {
                    let k = (key & ROW_MASK) as usize;
                    plane[rows[k].gj * grid.nx + rows[k].gi] = 1.0;
                }
                scratch.order = order;
            });
    }
    // SAFETY: the planes partition the first `cells` elements (`cells` is a whole number of
    // planes) and `zeroed` initialised each of them; with empty planes `cells` is 0.
    unsafe { data.set_len(cells) };
    if tables.scores.capacity() > 0 {
        *scores = std::mem::take(&mut tables.scores); // (other modes leave `scores` as it was)
    }
    let tobj = Array4::from_shape_vec((grid.bs, grid.na, grid.ny, grid.nx), data)
        .expect("buffer sized from the grid");
    Ok(LayerTargets { grid, tobj, rows })
}

/// Bits of a plane's sort key that hold the row (matched index); `MAX_PAIRS - cells` (at
/// most 29 bits) sits above them. Every row covers at least one cell and [`score::ranges`]
/// refused layers of more than [`MAX_PAIRS`] (`2^28`) cells, so row indices fit.
const ROW_BITS: u32 = 32;
const _: () = assert!(MAX_PAIRS <= 1 << ROW_BITS && MAX_PAIRS < 1 << (64 - ROW_BITS));

/// The row of a plane's sort key.
const ROW_MASK: u64 = (1 << ROW_BITS) - 1;

/// Buffers of [`fill_row`], one set per rayon job (reused across the planes it fills).
#[derive(Default)]
struct Scratch {
    /// The plane's rows in write order, as sort keys (see [`ROW_BITS`]).
    order: Vec<u64>,
    /// Column terms `X(dw)` (or, in `cell_index` mode, `X` by `|gi - ci|`).
    xs: Vec<f64>,
    /// Row terms `Y(dh)` (or by `|gj - cj|`).
    ys: Vec<f64>,
    /// Clamped column of each `dw`.
    cols: Vec<usize>,
    /// Offset in the plane of the clamped row of each `dh`.
    row_at: Vec<usize>,
}

/// Writes one row's cells into its plane; `table` is its size's score table in `cell_index`
/// mode (see [`Tables`]), if it has one. Column offset outer, row offset inner (spec 4.4):
/// clamped cells repeat, and the last write wins.
fn fill_row(
    config: &Config,
    m: &Matched,
    r: &CellRange,
    grid: Grid,
    plane: &mut [f64],
    s: &mut Scratch,
    table: Option<Table>,
) {
    let inside = r.gi1 >= 0
        && r.gj1 >= 0
        && r.gi1 + r.width <= grid.nx as i64
        && r.gj1 + r.height <= grid.ny as i64;
    if let (true, Some(t)) = (inside, table) {
        return fill_inside(config.overlap, r, grid.nx, plane, t);
    }
    s.cols.clear();
    s.cols
        .extend((0..r.width).map(|dw| clamp_cell(r.gi1 + dw, grid.nx)));
    s.row_at.clear();
    s.row_at
        .extend((0..r.height).map(|dh| clamp_cell(r.gj1 + dh, grid.ny) * grid.nx));
    if let Some(t) = table {
        return fill_from_table(config.overlap, r, plane, s, t);
    }
    // The row's column terms X(ci) and row terms Y(cj), combined per cell.
    let distance = Separable::of(config.distance, m, r, grid);
    distance.range_terms(r, &mut s.xs, &mut s.ys);
    let (diagonal, denom) = (distance.denom.is_some(), distance.denom.unwrap_or(1.0));
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

/// [`fill_row`] for a `cell_index` row whose cells all lie inside the grid, from its table.
///
/// No cell is clamped, so the row's cells are distinct and the order in which they are
/// written cannot matter: they are written grid row by grid row, each as one run copied from
/// the table's mirrored row.
fn fill_inside(overlap: Overlap, r: &CellRange, nx: usize, plane: &mut [f64], t: Table) {
    // In range: 0 <= gi1 <= gi <= gi1 + width - 1 and gi1 + width <= nx (checked by the
    // caller), and gi - gi1 < kx.
    let (gi1, width) = (r.gi1 as usize, r.width as usize);
    let first = t.kx - 1 - (r.gi - r.gi1) as usize;
    for dh in 0..r.height {
        let iy = (r.gj - (r.gj1 + dh)).unsigned_abs() as usize;
        let run = &t.scores[iy * t.stride() + first..][..width];
        let at = (r.gj1 + dh) as usize * nx + gi1;
        let cells = &mut plane[at..at + width];
        match overlap {
            Overlap::LastWrite if !t.skips => cells.copy_from_slice(run),
            Overlap::LastWrite => {
                for (c, &v) in cells.iter_mut().zip(run) {
                    *c = if v.is_nan() { *c } else { v };
                }
            }
            // `f64::max` returns the other argument when one is NaN: a skipped cell keeps its
            // value.
            Overlap::Max => {
                for (c, &v) in cells.iter_mut().zip(run) {
                    write(overlap, c, v);
                }
            }
        }
    }
}

/// Largest score table of one size (entries); rows of larger boxes score cell by cell.
const TABLE_MAX: usize = 1 << 15;

/// Entries of all the score tables of one layer at most (16 MB); rows whose size comes after
/// the budget is spent score cell by cell.
const TABLES_MAX: usize = 1 << 21;

/// A `cell_index` score table, its rows mirrored: the score of offsets `(ix, iy) = (|gi - ci|,
/// |gj - cj|)` at `iy * (2 kx - 1) + kx - 1 +- ix`, so that the cells of one grid row of a box
/// are one contiguous run; `NaN` where the cell is skipped (a score is never `NaN`).
#[derive(Clone, Copy)]
struct Table<'a> {
    /// Offsets `ix < kx`.
    kx: usize,
    /// Scores, row by row (a span of [`Tables::scores`]).
    scores: &'a [f64],
    /// Whether any cell is skipped (any score is `NaN`).
    skips: bool,
}

impl Table<'_> {
    /// Entries per row, `2 kx - 1`.
    fn stride(&self) -> usize {
        2 * self.kx - 1
    }

    /// The score of offsets `(ix, iy)`, `None` for a skipped cell.
    fn get(&self, ix: usize, iy: usize) -> Option<f64> {
        Some(self.scores[iy * self.stride() + self.kx - 1 + ix]).filter(|v| !v.is_nan())
    }
}

/// The `cell_index` score tables of one layer. A row's scores depend only on its `width`,
/// `height` and the offsets `|gi - ci|`, `|gj - cj|` (`(-k / h)^2` is `(k / h)^2` bit for bit),
/// so all the rows of one size share one table: each of its scores is computed once, not once
/// per cell of every row. The tables of a layer share one buffer: a layer of many boxes has
/// hundreds of sizes, most of them a few dozen entries, and an allocation each would cost more
/// than their scores. A [`crate::Workspace`] keeps the buffer between builds (see there).
#[derive(Default)]
struct Tables {
    /// Per row (matched index): its size's table (an index into `spans`), if it has one.
    of_row: Vec<Option<usize>>,
    /// Per size with a table, in order of first appearance.
    spans: Vec<Span>,
    /// Every table's scores.
    scores: Vec<f64>,
}

/// Where a table lies in [`Tables::scores`].
#[derive(Clone, Copy)]
struct Span {
    /// Offsets `ix < kx`.
    kx: usize,
    /// First entry.
    start: usize,
    /// Entries, `(2 kx - 1) ky`.
    len: usize,
    /// Whether any cell is skipped.
    skips: bool,
}

/// The largest `|gi - ci|` and `|gj - cj|` of a row, plus one. `gi1 <= gi <= gi1 + width - 1`
/// (trunc is monotonic).
fn extents(r: &CellRange) -> (i64, i64) {
    let kx = (r.gi - r.gi1).max(r.gi1 + r.width - 1 - r.gi) + 1;
    let ky = (r.gj - r.gj1).max(r.gj1 + r.height - 1 - r.gj) + 1;
    (kx, ky)
}

/// A multiplicative hash for the packed `(width, height)` keys of [`Tables::new`] (std's
/// default SipHash is several times slower, and these keys come from validated boxes, not
/// from an adversary who could only slow the build down, never change its result).
#[derive(Default)]
struct SizeHasher(u64);

impl Hasher for SizeHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }

    fn write_u64(&mut self, v: u64) {
        self.0 = (self.0.rotate_left(5) ^ v).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

/// Fills `out` (`(2 kx - 1) ky` entries) with the mirrored table of size `(w, h)` and offsets
/// up to `(kx, ky)`; `xs` is scratch. Returns whether any cell is skipped.
fn fill_table(
    (w, h, kx, ky): (i64, i64, i64, i64),
    out: &mut [f64],
    xs: &mut Vec<f64>,
    cache: &mut Memo<impl Fn(f64) -> f64>,
) -> bool {
    let kx = kx as usize;
    debug_assert_eq!(out.len(), (2 * kx - 1) * ky as usize);
    let (hw, hh) = (w as f64 / 2.0, h as f64 / 2.0);
    xs.clear();
    xs.extend((0..kx).map(|k| index_term(k as i64, hw)));
    let stride = 2 * kx - 1;
    let mut skips = false;
    for (iy, row) in out.chunks_exact_mut(stride).enumerate() {
        let y = index_term(iy as i64, hh);
        for (ix, &x) in xs.iter().enumerate() {
            let v = cache.get(x + y);
            skips |= v.is_nan();
            row[kx - 1 + ix] = v;
            row[kx - 1 - ix] = v;
        }
    }
    skips
}

impl Tables {
    /// `ranges` must have passed [`score::ranges`] (no row covers more than
    /// [`score::MAX_PAIRS`] cells, so widths and heights fit in 32 bits). The scores are
    /// written into the allocation of `scores` (contents ignored).
    fn new(config: &Config, ranges: &[CellRange], mut scores: Vec<f64>) -> Tables {
        // Distinct sizes with the largest offsets their rows need.
        let mut index: HashMap<u64, usize, BuildHasherDefault<SizeHasher>> =
            HashMap::with_capacity_and_hasher(ranges.len(), BuildHasherDefault::default());
        let mut sizes: Vec<(i64, i64, i64, i64)> = Vec::new();
        let mut of_size = Vec::with_capacity(ranges.len());
        for r in ranges {
            let (kx, ky) = extents(r);
            let key = (r.width as u64) << 32 | r.height as u64;
            let i = *index.entry(key).or_insert_with(|| {
                sizes.push((r.width, r.height, 0, 0));
                sizes.len() - 1
            });
            sizes[i].2 = sizes[i].2.max(kx);
            sizes[i].3 = sizes[i].3.max(ky);
            of_size.push(i);
        }
        // Sizes with a table, and where each table starts in the shared buffer.
        let mut budget = TABLES_MAX;
        let mut span_of = vec![None; sizes.len()];
        let mut spans = Vec::with_capacity(sizes.len());
        let mut total = 0;
        for (i, &(_, _, kx, ky)) in sizes.iter().enumerate() {
            let len = (2 * kx - 1).saturating_mul(ky) as usize;
            if len <= TABLE_MAX && len <= budget {
                budget -= len;
                span_of[i] = Some(spans.len());
                spans.push(Span {
                    kx: kx as usize,
                    start: total,
                    len,
                    skips: false,
                });
                total += len;
            }
        }
        // Scores through a memo keyed by the squared distance `s = X + Y`: the score is a
        // function of the bits of `s` alone, and the tables of one layer repeat the same `s`
        // many times (`X = (2 ix / width)^2` is the same for every size of the same ratio).
        // One pass with one memo for the layer: the layers are already built in parallel, and
        // parallel jobs with a memo each would share fewer scores.
        let kind = config.score;
        let mut cache = Memo::new(|s: f64| score::score(kind, s.sqrt()).unwrap_or(f64::NAN));
        scores.clear();
        scores.resize(total, 0.0);
        let mut xs = Vec::new();
        for (&size, span) in sizes.iter().zip(&span_of) {
            if let Some(j) = *span {
                let t = spans[j];
                let out = &mut scores[t.start..t.start + t.len];
                spans[j].skips = fill_table(size, out, &mut xs, &mut cache);
            }
        }
        let of_row = of_size.into_iter().map(|i| span_of[i]).collect();
        Tables {
            of_row,
            spans,
            scores,
        }
    }

    /// The table of row `k` (matched index), if its size has one.
    fn of_row(&self, k: usize) -> Option<Table<'_>> {
        let t = self.spans[self.of_row.get(k).copied().flatten()?];
        Some(Table {
            kx: t.kx,
            scores: &self.scores[t.start..t.start + t.len],
            skips: t.skips,
        })
    }
}

/// [`fill_row`] for a `cell_index` row that leaves the grid: its scores from its size's
/// table by offset from the centre, cell by cell in the order of [`fill_row`].
fn fill_from_table(overlap: Overlap, r: &CellRange, plane: &mut [f64], s: &Scratch, t: Table) {
    for (dw, &ci) in s.cols.iter().enumerate() {
        let ix = (r.gi - (r.gi1 + dw as i64)).unsigned_abs() as usize;
        for (dh, &at) in s.row_at.iter().enumerate() {
            let iy = (r.gj - (r.gj1 + dh as i64)).unsigned_abs() as usize;
            if let Some(v) = t.get(ix, iy) {
                write(overlap, &mut plane[at + ci], v);
            }
        }
    }
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
        let mut scores = vec![f64::NAN; 1 << 13];
        let stale = build_layer_in(config, matched, grid, vec![0.5; grid.cells()], &mut scores)
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
            let (kx, ky) = extents(&CellRange::of(&big));
            assert!(((2 * kx - 1) * ky) as usize > TABLE_MAX);
            same_as_loop(&config, &[big, row(3.5, 4.5, 3.0, 2.0)], grid);
            // 80 distinct sizes of about 28 700 entries each: the budget runs out near the end.
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
            let t = Tables::new(&config, &ranges, Vec::new());
            assert!(t.of_row.iter().any(Option::is_none) && t.of_row.iter().any(Option::is_some));
            same_as_loop(&config, &many, grid);
        }
    }

    /// Boxes whose cell range touches the grid's edges exactly (no clamping: the table runs),
    /// overlapping boxes of one size in one plane, both overlap rules, both scores: the loop
    /// builder's targets bit for bit.
    #[test]
    fn rows_inside_the_grid_match_the_loop_builder_up_to_the_edges() {
        let grid = Grid {
            bs: 2,
            na: 2,
            ny: 9,
            nx: 12,
        };
        let row = |b: usize, a: usize, gx: f64, gy: f64, gw: f64, gh: f64| Matched {
            b,
            class: 0,
            a,
            gx,
            gy,
            gw,
            gh,
        };
        let matched = [
            // Columns 0..=11 and rows 0..=8: the whole grid, nothing clamped.
            row(0, 0, 6.0, 4.5, 11.9, 8.9),
            // Same size, other centres: one table, two runs each side of the centre.
            row(0, 0, 2.5, 2.5, 3.0, 3.0),
            row(0, 0, 9.5, 6.5, 3.0, 3.0),
            // Flush with the right and bottom edges, centre off the middle of the range.
            row(1, 1, 10.9, 7.9, 2.1, 2.1),
            // Flush with the left and top edges.
            row(1, 0, 1.0, 1.0, 2.0, 2.0),
            // One past the right edge: clamped, the general path.
            row(1, 1, 11.5, 4.0, 1.2, 3.0),
        ];
        for r in &matched[..5] {
            let r = CellRange::of(r);
            assert!(r.gi1 >= 0 && r.gj1 >= 0 && r.gi1 + r.width <= 12 && r.gj1 + r.height <= 9);
        }
        for score in [Score::Gaussian { sigma: 0.7 }, Score::Power { n: 2 }] {
            for overlap in [Overlap::LastWrite, Overlap::Max] {
                let config = Config {
                    score,
                    overlap,
                    distance: Distance::CellIndex,
                    ..Config::default()
                };
                same_as_loop(&config, &matched, grid);
            }
        }
    }

    /// The memo returns `f(x)` bit for bit, also after collisions (many more distinct
    /// arguments than slots, each asked twice, in two orders).
    #[test]
    fn the_memo_changes_no_bit() {
        for kind in [Score::Gaussian { sigma: 1.3 }, Score::Power { n: 6 }] {
            let f = |s: f64| score::score(kind, s.sqrt()).unwrap_or(f64::NAN);
            let mut memo = Memo::new(f);
            let values: Vec<f64> = (0..20_000)
                .map(|i| (i as f64 * 0.618_034).fract() * 4.5)
                .collect();
            for &s in values.iter().chain(values.iter().rev()) {
                assert_eq!(memo.get(s).to_bits(), f(s).to_bits(), "s = {s}");
            }
        }
    }
}
