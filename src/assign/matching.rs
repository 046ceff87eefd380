//! Anchor matching (spec section 2), shared by every assigner.

use ndarray::ArrayView2;

use crate::config::Config;
use crate::targets::Grid;

/// A (anchor, target) pair kept by the ratio test, in grid units of its layer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Matched {
    /// Image index.
    pub b: usize,
    /// Class index.
    pub class: usize,
    /// Anchor index.
    pub a: usize,
    /// Box centre x in grid units.
    pub gx: f64,
    /// Box centre y in grid units.
    pub gy: f64,
    /// Box width in grid units.
    pub gw: f64,
    /// Box height in grid units.
    pub gh: f64,
}

/// The matched rows of layer `l`, anchor-major (all targets for anchor 0, then anchor 1, ...).
///
/// A pair is kept when `max(rw, 1/rw, rh, 1/rh) < anchor_t` with `rw = gw / anchor_w`,
/// `rh = gh / anchor_h` (spec section 2, the quotients and reciprocals rounded as written); a
/// zero width or height (`-0.0` included) is never kept. `targets` has the six columns
/// `(image, class, x, y, w, h)` of validated inputs ([`crate::Inputs::validate`]); with any
/// other number of columns nothing matches, and an anchor that is not positive and finite
/// (validation refuses those) matches nothing.
///
/// ```
/// use soft_objectness::{Config, Grid, internals::assign::matching::match_layer};
/// let config = Config::default();
/// let targets = ndarray::array![[0.0, 3.0, 0.5, 0.5, 0.05, 0.05]];
/// let grid = Grid { bs: 1, na: 3, ny: 80, nx: 80 };
/// let m = match_layer(&config, targets.view(), 0, grid);
/// assert_eq!(m.len(), 3); // a 4x4-cell box fits all three small anchors
/// assert_eq!((m[0].gx, m[0].class), (40.0, 3));
/// ```
pub fn match_layer(
    config: &Config,
    targets: ArrayView2<f64>,
    l: usize,
    grid: Grid,
) -> Vec<Matched> {
    let (nx, ny) = (grid.nx as f64, grid.ny as f64);
    let anchor_t = config.hyp.anchor_t;
    let targets = targets.as_standard_layout();
    let rows = targets
        .as_slice()
        .expect("a standard-layout array is contiguous");
    if targets.ncols() != 6 {
        return Vec::new(); // validation refuses these: nothing matches
    }
    // Box sizes in grid units, then the ratio test for every target at once as two interval
    // tests (a loop without branches or divisions over contiguous values, which the compiler
    // vectorises), then the kept rows.
    let gw: Vec<f64> = rows.chunks_exact(6).map(|t| t[4] * nx).collect();
    let gh: Vec<f64> = rows.chunks_exact(6).map(|t| t[5] * ny).collect();
    let mut keep = vec![false; gw.len()];
    let mut out = Vec::with_capacity(config.na() * targets.nrows());
    for a in 0..config.na() {
        let (aw, ah) = (config.anchors[[l, a, 0]], config.anchors[[l, a, 1]]);
        let ((w0, w1), (h0, h1)) = (kept_sizes(aw, anchor_t), kept_sizes(ah, anchor_t));
        for ((k, &w), &h) in keep.iter_mut().zip(&gw).zip(&gh) {
            *k = (w >= w0) & (w <= w1) & (h >= h0) & (h <= h1);
        }
        for ((t, _), (&gw, &gh)) in rows
            .chunks_exact(6)
            .zip(&keep)
            .zip(gw.iter().zip(&gh))
            .filter(|((_, k), _)| **k)
        {
            out.push(Matched {
                b: t[0] as usize,
                class: t[1] as usize,
                a,
                gx: t[2] * nx,
                gy: t[3] * ny,
                gw,
                gh,
            });
        }
    }
    out
}

/// The ratio test of one size against one anchor, as spec section 2 writes it: `max(r, 1/r) <
/// anchor_t` with `r = size / anchor`, both quotients rounded; the size must be positive (a
/// zero size gives an infinite ratio; `-0.0` would give `1/r = -inf` and pass).
pub fn ratio_kept(size: f64, anchor: f64, anchor_t: f64) -> bool {
    let r = size / anchor;
    size > 0.0 && r.max(1.0 / r) < anchor_t
}

/// The sizes that pass [`ratio_kept`] against `anchor`: exactly the floats `s` with `lo <= s
/// <= hi` (none when `lo > hi`), so that matching needs no division per target.
///
/// Why one interval: for `0 < s <= anchor`, `r <= 1 <= 1/r` (rounding is monotonic and 1 is a
/// float), so the test is `fl(1/r) < anchor_t`, which can only turn from false to true as `s`
/// grows; for `s >= anchor`, `1/r <= 1 <= r` and the test is `r < anchor_t`, which can only
/// turn from true to false. The two ends are found by searching the bits of the floats (their
/// order is the order of the non-negative floats) from the estimates `anchor / anchor_t` and
/// `anchor * anchor_t`, with [`ratio_kept`] itself as the judge, so the interval is the
/// literal test's, not an approximation of it.
///
/// ```
/// use soft_objectness::internals::assign::matching::{kept_sizes, ratio_kept};
/// let (lo, hi) = kept_sizes(3.7, 4.0);
/// assert!(ratio_kept(lo, 3.7, 4.0) && !ratio_kept(lo.next_down(), 3.7, 4.0));
/// assert!(ratio_kept(hi, 3.7, 4.0) && !ratio_kept(hi.next_up(), 3.7, 4.0));
/// ```
pub fn kept_sizes(anchor: f64, anchor_t: f64) -> (f64, f64) {
    // An anchor validation refuses, or `anchor_t <= 1` (or NaN): nothing passes, not even
    // `s = anchor` (ratio 1), so no size does.
    if !(anchor > 0.0 && anchor.is_finite() && ratio_kept(anchor, anchor, anchor_t)) {
        return (f64::INFINITY, 0.0);
    }
    let kept = |bits: u64| ratio_kept(f64::from_bits(bits), anchor, anchor_t);
    let at = anchor.to_bits();
    // Below the anchor: the last size refused (`+0.0` is), then the next float up.
    let lo = last_true(|b| !kept(b), 0, at, (anchor / anchor_t).to_bits()) + 1;
    // Above: the last size kept before infinity (never kept: its ratio is infinite).
    let hi = last_true(
        kept,
        at,
        f64::INFINITY.to_bits(),
        (anchor * anchor_t).to_bits(),
    );
    (f64::from_bits(lo), f64::from_bits(hi))
}

/// The largest `x` in `a..b` with `pred(x)`, for a `pred` true at `a`, false at `b` and true
/// then false in between: a gallop from `guess` to bracket the change, then a bisection.
fn last_true(pred: impl Fn(u64) -> bool, mut a: u64, mut b: u64, guess: u64) -> u64 {
    if guess > a && guess < b {
        if pred(guess) {
            a = guess;
            let mut step = 1u64;
            while let Some(x) = a.checked_add(step).filter(|&x| x < b) {
                if !pred(x) {
                    b = x;
                    break;
                }
                a = x;
                step = step.saturating_mul(2);
            }
        } else {
            b = guess;
            let mut step = 1u64;
            while let Some(x) = b.checked_sub(step).filter(|&x| x > a) {
                if pred(x) {
                    a = x;
                    break;
                }
                b = x;
                step = step.saturating_mul(2);
            }
        }
    }
    while b - a > 1 {
        let m = a + (b - a) / 2;
        if pred(m) {
            a = m;
        } else {
            b = m;
        }
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;
    use rand::{Rng, SeedableRng, rngs::StdRng};

    /// The interval is the literal test's: at its ends, one float beyond them, a few floats
    /// around them and at random sizes, for random anchors (tiny, huge, subnormal) and ratios.
    #[test]
    fn kept_sizes_is_the_literal_ratio_test() {
        let mut rng = StdRng::seed_from_u64(11);
        let mut anchors = vec![1.0, 3.7, 10.0, 1e-310, 5e-324, 1e300, f64::MAX];
        anchors.extend((0..300).map(|_| 10f64.powf(rng.random_range(-12.0..12.0))));
        let ratios = [4.0, 1.0 + f64::EPSILON, 1.5, 2.91, 6.0, 1e10, 1e300];
        for &anchor in &anchors {
            for &t in &ratios {
                let (lo, hi) = kept_sizes(anchor, t);
                let literal = |s: f64| ratio_kept(s, anchor, t);
                assert!(lo <= hi && literal(lo) && literal(hi), "{anchor} {t}");
                let mut probes = vec![0.0, -0.0, anchor, f64::INFINITY, f64::MAX];
                for end in [lo, hi] {
                    let mut below = end;
                    let mut above = end;
                    for _ in 0..4 {
                        below = below.next_down();
                        above = above.next_up();
                        probes.extend([below, above]);
                    }
                }
                probes.extend((0..200).map(|_| anchor * 10f64.powf(rng.random_range(-2.0..2.0))));
                for s in probes {
                    let interval = s >= lo && s <= hi;
                    assert_eq!(interval, literal(s), "anchor {anchor} t {t} size {s:e}");
                }
            }
        }
        // anchor_t <= 1, NaN, and anchors validation refuses: nothing passes.
        for (anchor, t) in [
            (3.0, 1.0),
            (3.0, 0.5),
            (3.0, f64::NAN),
            (0.0, 4.0),
            (-2.0, 4.0),
        ] {
            let (lo, hi) = kept_sizes(anchor, t);
            assert!(lo > hi, "{anchor} {t}");
        }
        for (anchor, t) in [(f64::NAN, 4.0), (f64::INFINITY, 4.0)] {
            let (lo, hi) = kept_sizes(anchor, t);
            assert!(lo > hi, "{anchor} {t}");
        }
    }

    /// `match_layer` keeps exactly the pairs of the literal formula, in anchor-major order,
    /// including sizes one float either side of every anchor's thresholds; a `-0.0` size is
    /// a zero size and never kept.
    #[test]
    fn match_layer_keeps_the_literal_pairs() {
        let config = Config::default();
        let grid = Grid {
            bs: 2,
            na: 3,
            ny: 32,
            nx: 32,
        };
        // Powers of two: `w / nx * nx` is `w` exactly.
        let (nx, ny) = (32.0, 32.0);
        let t = config.hyp.anchor_t;
        let mut rows = Vec::new();
        for a in 0..3 {
            let (aw, ah) = (config.anchors[[1, a, 0]], config.anchors[[1, a, 1]]);
            let ((w0, w1), (h0, h1)) = (kept_sizes(aw, t), kept_sizes(ah, t));
            for w in [w0.next_down(), w0, w1, w1.next_up(), aw] {
                for h in [h0.next_down(), h0, h1, h1.next_up(), ah] {
                    rows.push([1.0, 2.0, 0.5, 0.5, w / nx, h / ny]);
                }
            }
        }
        rows.extend([
            [0.0, 1.0, 0.5, 0.5, -0.0, 0.1],
            [0.0, 1.0, 0.5, 0.5, 0.1, 0.0],
        ]);
        let targets = Array2::from_shape_vec((rows.len(), 6), rows.concat()).unwrap();
        let got = match_layer(&config, targets.view(), 1, grid);
        let mut want = Vec::new();
        for a in 0..3 {
            let (aw, ah) = (config.anchors[[1, a, 0]], config.anchors[[1, a, 1]]);
            let mut own = 0;
            for (k, r) in targets.outer_iter().enumerate() {
                let (gw, gh) = (r[4] * nx, r[5] * ny);
                if ratio_kept(gw, aw, t) && ratio_kept(gh, ah, t) {
                    want.push((a, gw.to_bits(), gh.to_bits()));
                    own += usize::from(k / 25 == a);
                }
            }
            // Of the 25 sizes built around this anchor's thresholds, 3 x 3 are inside: the
            // test tells an interval one float too wide or too narrow.
            assert_eq!(own, 9, "anchor {a}");
        }
        let got: Vec<_> = got
            .iter()
            .map(|m| (m.a, m.gw.to_bits(), m.gh.to_bits()))
            .collect();
        assert_eq!(got, want);
        assert!(
            got.iter()
                .all(|&(_, w, h)| w != (-0.0f64).to_bits() && h != 0)
        );
    }
}
