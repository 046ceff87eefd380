//! The soft assigner's per-row cell ranges (spec 4.1, 4.2), distance modes (4.5) and scores
//! (4.6), written exactly in the order of the spec so that every implementation rounds alike.

use super::matching::Matched;
use crate::config::{Distance, Overlap, Score};
use crate::error::{Error, Result};
use crate::targets::{Grid, Row};

/// Most (row, cell) pairs one layer may enumerate before evaluation is refused.
pub const MAX_PAIRS: u64 = 1 << 28;

/// The block of cells a matched row covers (unclamped; it may leave the grid).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CellRange {
    /// Centre column `trunc(gx)`.
    pub gi: i64,
    /// Centre row `trunc(gy)`.
    pub gj: i64,
    /// First column `trunc(gx - gw/2)`.
    pub gi1: i64,
    /// First row `trunc(gy - gh/2)`.
    pub gj1: i64,
    /// Columns `gi2 - gi1 + 1`.
    pub width: i64,
    /// Rows `gj2 - gj1 + 1`.
    pub height: i64,
}

impl CellRange {
    /// The cell range of one matched row (spec 4.1 and 4.2).
    ///
    /// ```
    /// use soft_objectness::internals::assign::{matching::Matched, score::CellRange};
    /// // The spec's worked example: gx, gy, gw, gh = 3.2, 4.4, 3.44, 2.4.
    /// let m = Matched { b: 0, class: 0, a: 0, gx: 3.2, gy: 4.4, gw: 3.44, gh: 2.4 };
    /// let r = CellRange::of(&m);
    /// assert_eq!((r.gi, r.gj, r.gi1, r.gj1, r.width, r.height), (3, 4, 1, 3, 4, 3));
    /// ```
    pub fn of(m: &Matched) -> CellRange {
        // `as` rounds toward zero (and saturates): `trunc` without a libm call.
        let t = |v: f64| v as i64;
        let (gi1, gi2) = (t(m.gx - m.gw / 2.0), t(m.gx + m.gw / 2.0));
        let (gj1, gj2) = (t(m.gy - m.gh / 2.0), t(m.gy + m.gh / 2.0));
        CellRange {
            gi: t(m.gx),
            gj: t(m.gy),
            gi1,
            gj1,
            width: gi2 - gi1 + 1,
            height: gj2 - gj1 + 1,
        }
    }

    /// `width * height`, saturating.
    pub fn cells(&self) -> u64 {
        (self.width as u64).saturating_mul(self.height as u64)
    }
}

/// The ranges of every matched row, refusing a layer that would enumerate more than
/// [`MAX_PAIRS`] cells (so that no row covers more than `MAX_PAIRS` cells either).
pub(crate) fn ranges(matched: &[Matched]) -> Result<Vec<CellRange>> {
    let ranges: Vec<CellRange> = matched.iter().map(CellRange::of).collect();
    let total = ranges
        .iter()
        .fold(0u64, |acc, r| acc.saturating_add(r.cells()));
    if total > MAX_PAIRS {
        return Err(Error::TooLarge {
            field: "inputs.targets (cells covered by the boxes of one layer)".into(),
            elements: total,
            limit: MAX_PAIRS,
        });
    }
    Ok(ranges)
}

/// The ranges of every matched row ([`ranges`]) and the stable largest-first order (spec 4.3).
pub(crate) fn ranges_and_order(matched: &[Matched]) -> Result<(Vec<CellRange>, Vec<usize>)> {
    let ranges = ranges(matched)?;
    // Largest first; the row index breaks ties, so the (unstable, faster) sort of these unique
    // keys is the stable sort of the cell counts: equal counts keep their matching order.
    // Packed in one integer: `MAX_PAIRS - cells` (no row covers more than `MAX_PAIRS` cells)
    // above the row index.
    let mut keyed: Vec<u128> = ranges
        .iter()
        .enumerate()
        .map(|(i, r)| ((MAX_PAIRS - r.cells()) as u128) << 64 | i as u128)
        .collect();
    keyed.sort_unstable();
    Ok((
        ranges,
        keyed.into_iter().map(|k| k as u64 as usize).collect(),
    ))
}

/// `x * x`, the square every distance formula writes (shared so that all paths round alike).
#[inline]
pub(crate) fn sq(x: f64) -> f64 {
    x * x
}

/// The distance `d` of cell `(cj, ci)` (unclamped) for row `m` with range `r` (spec 4.5), one
/// cell at a time: `sqrt(s) / denom` of [`distance_parts`].
pub fn distance(mode: Distance, m: &Matched, r: &CellRange, cj: i64, ci: i64, grid: Grid) -> f64 {
    let (s, denom) = distance_parts(mode, m, r, cj, ci, grid);
    s.sqrt() / denom
}

/// The two parts of [`distance`]: the squared distance `s` (the sum of the two squared terms
/// of spec 4.5) and the divisor of its square root, `1` except in `diagonal` mode, where it is
/// the box's normalised diagonal. `sqrt(s) / 1.0` is `sqrt(s)` exactly, so in the other modes
/// the score is a function of the bits of `s` alone.
///
/// ```
/// use soft_objectness::{Distance, Grid, internals::assign::{matching::Matched, score::{CellRange, distance_parts}}};
/// let m = Matched { b: 0, class: 0, a: 0, gx: 3.2, gy: 4.4, gw: 3.44, gh: 2.4 };
/// let r = CellRange::of(&m);
/// let grid = Grid { bs: 1, na: 1, ny: 8, nx: 8 };
/// // Cell (cj, ci) = (4, 1): two columns left of the centre column of a 4-wide range.
/// assert_eq!(distance_parts(Distance::CellIndex, &m, &r, 4, 1, grid), (1.0, 1.0));
/// ```
#[inline]
pub fn distance_parts(
    mode: Distance,
    m: &Matched,
    r: &CellRange,
    cj: i64,
    ci: i64,
    grid: Grid,
) -> (f64, f64) {
    let (nx, ny) = (grid.nx as f64, grid.ny as f64);
    match mode {
        Distance::CellIndex => {
            let y = index_term(r.gj - cj, r.height as f64 / 2.0);
            (y + index_term(r.gi - ci, r.width as f64 / 2.0), 1.0)
        }
        Distance::Continuous => {
            let x = offset_term(m.gx, ci, m.gw / 2.0);
            (x + offset_term(m.gy, cj, m.gh / 2.0), 1.0)
        }
        Distance::Diagonal => {
            let x = offset_term(m.gx, ci, nx);
            (x + offset_term(m.gy, cj, ny), diagonal(m, nx, ny))
        }
    }
}

/// `(offset / half)^2`: the `cell_index` term of a cell `offset` cells from the centre cell
/// (spec 4.5), `half` the range's width (or height) over 2. `(-k / h)^2` is `(k / h)^2` bit for
/// bit, so a term depends on `|offset|` alone (the vectorised builder's score tables rest on
/// this).
#[inline]
pub(crate) fn index_term(offset: i64, half: f64) -> f64 {
    sq(offset as f64 / half)
}

/// `((centre - c - 0.5) / scale)^2`: the `continuous` and `diagonal` term of column (or grid
/// row) `c` (spec 4.5), `centre` the box centre in grid units and `scale` its half width
/// (`continuous`) or the grid's width (`diagonal`; heights for grid rows).
#[inline]
fn offset_term(centre: f64, c: i64, scale: f64) -> f64 {
    sq((centre - c as f64 - 0.5) / scale)
}

/// The `diagonal` mode's divisor (spec 4.5): the box's diagonal in units of the grid's.
#[inline]
fn diagonal(m: &Matched, nx: f64, ny: f64) -> f64 {
    (sq(m.gw / nx) + sq(m.gh / ny)).sqrt()
}

/// One axis of spec 4.5's distance: the squared term of a column (or a grid row).
#[derive(Debug, Clone, Copy)]
enum Axis {
    /// `cell_index`: [`index_term`] of `centre - c`, `centre` the centre cell's index.
    Index { centre: i64, half: f64 },
    /// `continuous` and `diagonal`: [`offset_term`].
    Offset { centre: f64, scale: f64 },
}

impl Axis {
    /// The terms of `first..first + n` into `out` (cleared first).
    fn terms(self, first: i64, n: i64, out: &mut Vec<f64>) {
        out.clear();
        match self {
            Axis::Index { centre, half } => {
                out.extend((first..first + n).map(|c| index_term(centre - c, half)));
            }
            Axis::Offset { centre, scale } => {
                out.extend((first..first + n).map(|c| offset_term(centre, c, scale)));
            }
        }
    }
}

/// Spec 4.5's distance of one matched row in separable form: `d = sqrt(X(ci) + Y(cj))`, over
/// `denom` in `diagonal` mode. Every mode is a sum of a column term and a row term (IEEE
/// addition is commutative, so the sum rounds as the spec's formula does), so a row's
/// `width` column terms and `height` row terms are computed once and combined per cell. The
/// terms ([`index_term`], [`offset_term`], [`diagonal`]) are the ones [`distance_parts`] adds
/// per cell for the loop builder; the vectorised builder and the GPU host (which uploads them)
/// take a row's terms from here, so all agree bit for bit.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Separable {
    x: Axis,
    y: Axis,
    /// The `diagonal` mode's divisor, the box's normalised diagonal; `None` in the others.
    pub(crate) denom: Option<f64>,
}

impl Separable {
    /// The distance of row `m` with range `r` on `grid` in `mode`.
    #[inline]
    pub(crate) fn of(mode: Distance, m: &Matched, r: &CellRange, grid: Grid) -> Separable {
        let (nx, ny) = (grid.nx as f64, grid.ny as f64);
        let offset = |centre, scale| Axis::Offset { centre, scale };
        match mode {
            Distance::CellIndex => Separable {
                x: Axis::Index {
                    centre: r.gi,
                    half: r.width as f64 / 2.0,
                },
                y: Axis::Index {
                    centre: r.gj,
                    half: r.height as f64 / 2.0,
                },
                denom: None,
            },
            Distance::Continuous => Separable {
                x: offset(m.gx, m.gw / 2.0),
                y: offset(m.gy, m.gh / 2.0),
                denom: None,
            },
            Distance::Diagonal => Separable {
                x: offset(m.gx, nx),
                y: offset(m.gy, ny),
                denom: Some(diagonal(m, nx, ny)),
            },
        }
    }

    /// The row's terms over its range `r`: `xs[dw]` of column `gi1 + dw`, `ys[dh]` of grid
    /// row `gj1 + dh` (both cleared first), so that `xs[dw] + ys[dh]` is the `s` of
    /// [`distance_parts`] for cell `(gj1 + dh, gi1 + dw)`, bit for bit.
    pub(crate) fn range_terms(&self, r: &CellRange, xs: &mut Vec<f64>, ys: &mut Vec<f64>) {
        self.x.terms(r.gi1, r.width, xs);
        self.y.terms(r.gj1, r.height, ys);
    }
}

/// `x^n` by binary exponentiation, least significant bit first (docs/decisions.md item 1):
/// the one evaluation order every implementation shares. `ipow(x, 0) == 1`.
///
/// ```
/// use soft_objectness::internals::assign::score::ipow;
/// assert_eq!(ipow(0.0, 0), 1.0);
/// assert_eq!(ipow(-0.5, 2), 0.25);
/// assert_eq!(ipow(2.0, 10), 1024.0);
/// ```
pub fn ipow(x: f64, n: u32) -> f64 {
    let (mut r, mut b, mut k) = (1.0, x, n);
    while k > 0 {
        if k & 1 == 1 {
            r *= b;
        }
        b *= b;
        k >>= 1;
    }
    r
}

/// The Gaussian score `exp(-(d*d) / (2 * (sigma*sigma)))`.
#[inline]
pub fn gaussian(d: f64, sigma: f64) -> f64 {
    (-(d * d) / (2.0 * (sigma * sigma))).exp()
}

/// The score of a cell at distance `d` (spec 4.6); `None` when the cell is skipped
/// (power score with `d > 2`).
///
/// ```
/// use soft_objectness::{Score, internals::assign::score::score};
/// assert_eq!(score(Score::Power { n: 10 }, 1.0), Some(0.0));
/// assert_eq!(score(Score::Power { n: 2 }, 2.5), None);
/// assert_eq!(score(Score::Gaussian { sigma: 1.0 }, 0.0), Some(1.0));
/// ```
#[inline]
pub fn score(kind: Score, d: f64) -> Option<f64> {
    match kind {
        Score::Power { n } => (d <= 2.0).then(|| ipow(d - 1.0, n)),
        Score::Gaussian { sigma } => Some(gaussian(d, sigma)),
    }
}

/// A memo of a pure function of one `f64`, remembered by the argument's bits in a small
/// direct-mapped cache: a hit returns exactly what the function returned for those bits, so a
/// memo changes no result, only how often `sqrt`, divisions and `exp` run. The builders score
/// through one, since the cells of a layer repeat the same distances many times.
pub(crate) struct Memo<F> {
    f: F,
    /// `(bits of the argument, value)`; a slot never written holds a key no argument has.
    slots: Vec<(u64, f64)>,
}

impl<F: Fn(f64) -> f64> Memo<F> {
    /// log2 of the slots (32 KB).
    const BITS: u32 = 11;
    /// The bits of a NaN with a full payload: arguments are finite, and a NaN argument would
    /// only miss (its value is computed, never looked up wrongly: keys compare as bits).
    const EMPTY: u64 = u64::MAX;

    pub(crate) fn new(f: F) -> Memo<F> {
        Memo {
            f,
            slots: vec![(Self::EMPTY, 0.0); 1 << Self::BITS],
        }
    }

    /// `f(x)`.
    #[inline]
    pub(crate) fn get(&mut self, x: f64) -> f64 {
        let key = x.to_bits();
        let slot = (key.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> (64 - Self::BITS)) as usize;
        let (k, v) = self.slots[slot];
        if k == key && key != Self::EMPTY {
            return v;
        }
        let v = (self.f)(x);
        self.slots[slot] = (key, v);
        v
    }
}

/// Writes score `v` into a cell under the overlap rule (spec 4.7): `last_write` replaces the
/// cell's value, `max` keeps the larger. Both soft builders write through it.
#[inline]
pub(crate) fn write(overlap: Overlap, cell: &mut f64, v: f64) {
    match overlap {
        Overlap::LastWrite => *cell = v,
        Overlap::Max => *cell = cell.max(v),
    }
}

/// Clamps a cell index to `0..n`.
#[inline]
pub(crate) fn clamp_cell(c: i64, n: usize) -> usize {
    c.clamp(0, n as i64 - 1) as usize
}
/// The matched rows in matching order, each at its clamped centre cell (spec 4.8 and 5).
pub fn centre_rows(matched: &[Matched], ranges: &[CellRange], grid: Grid) -> Vec<Row> {
    matched
        .iter()
        .zip(ranges)
        .map(|(m, r)| Row {
            b: m.b,
            a: m.a,
            class: m.class,
            gj: clamp_cell(r.gj, grid.ny),
            gi: clamp_cell(r.gi, grid.nx),
            gxywh: [m.gx, m.gy, m.gw, m.gh],
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    /// Spec 4.5's distance written as the spec writes it, one cell at a time.
    fn spec_distance(mode: Distance, m: &Matched, r: &CellRange, cj: i64, ci: i64, g: Grid) -> f64 {
        let (nx, ny) = (g.nx as f64, g.ny as f64);
        match mode {
            Distance::CellIndex => {
                let y = (r.gj - cj) as f64 / (r.height as f64 / 2.0);
                let x = (r.gi - ci) as f64 / (r.width as f64 / 2.0);
                (y * y + x * x).sqrt()
            }
            Distance::Continuous => {
                let x = (m.gx - ci as f64 - 0.5) / (m.gw / 2.0);
                let y = (m.gy - cj as f64 - 0.5) / (m.gh / 2.0);
                (x * x + y * y).sqrt()
            }
            Distance::Diagonal => {
                let x = (m.gx - ci as f64 - 0.5) / nx;
                let y = (m.gy - cj as f64 - 0.5) / ny;
                let diag = ((m.gw / nx) * (m.gw / nx) + (m.gh / ny) * (m.gh / ny)).sqrt();
                (x * x + y * y).sqrt() / diag
            }
        }
    }

    /// A row's separable terms, added per cell, and [`distance`] are the spec's formula bit
    /// for bit, over random boxes in every mode (cells inside and outside the grid).
    #[test]
    fn separable_terms_are_the_spec_distance() {
        let grid = Grid {
            bs: 1,
            na: 1,
            ny: 13,
            nx: 17,
        };
        let mut rng = StdRng::seed_from_u64(5);
        let (mut xs, mut ys) = (Vec::new(), Vec::new());
        for _ in 0..200 {
            let m = Matched {
                b: 0,
                class: 0,
                a: 0,
                gx: rng.random_range(-3.0..20.0),
                gy: rng.random_range(-3.0..16.0),
                gw: rng.random_range(0.1..9.0),
                gh: rng.random_range(0.1..9.0),
            };
            let r = CellRange::of(&m);
            for mode in [
                Distance::CellIndex,
                Distance::Continuous,
                Distance::Diagonal,
            ] {
                let sep = Separable::of(mode, &m, &r, grid);
                sep.range_terms(&r, &mut xs, &mut ys);
                for (dw, &x) in xs.iter().enumerate() {
                    for (dh, &y) in ys.iter().enumerate() {
                        let (cj, ci) = (r.gj1 + dh as i64, r.gi1 + dw as i64);
                        let want = spec_distance(mode, &m, &r, cj, ci, grid);
                        let d = (x + y).sqrt() / sep.denom.unwrap_or(1.0);
                        let at = format!("{mode:?} {m:?} dw {dw} dh {dh}");
                        assert_eq!(d.to_bits(), want.to_bits(), "{at}");
                        let one = distance(mode, &m, &r, cj, ci, grid);
                        assert_eq!(one.to_bits(), want.to_bits(), "{at}");
                    }
                }
            }
        }
    }
}
