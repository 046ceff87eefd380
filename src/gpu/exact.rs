//! How the f32 shaders classify soft-assigner cells exactly as the f64 oracle does.
//!
//! Every distance mode is separable: `d = sqrt(X(column) + Y(row))` (over a per-row constant in
//! `diagonal` mode). The host takes a row's `width` column terms and `height` row terms in f64
//! from [`crate::assign::score::Separable`], the terms both CPU builders use (O(width + height)
//! per row), and uploads their bit patterns. The shader adds `X + Y` in emulated f64 (`shaders/f64.wgsl`), which gives the oracle's `S` bit for
//! bit. The oracle's class of the cell (skipped, exactly 0, exactly 1, or soft) is a function of
//! `S` alone, and a piecewise monotone one, so it is a handful of closed intervals of `S`,
//! found here by bisection over the f64 bit patterns with the oracle's own [`score::score`].
//! The shader compares `S` with the intervals; only a soft score is computed in f32, and it is
//! clamped into `[MIN_NORMAL, 1 - 2^-24]` so that it stays soft.

use crate::assign::score;
use crate::config::{Assigner, Score};
use crate::result::CellClass;

const SKIP: Option<CellClass> = None;
const ZERO: Option<CellClass> = Some(CellClass::Negative);
const ONE: Option<CellClass> = Some(CellClass::Positive);
#[cfg(test)]
const SOFT: Option<CellClass> = Some(CellClass::Soft);

/// Bit pattern of `+inf`; for non-negative doubles, numeric order is bit-pattern order.
const INF: u64 = 0x7ff0_0000_0000_0000;

/// The class of the cell whose score is at `S = X + Y`, exactly as the oracle computes it:
/// `None` where the power score skips the cell (`d > 2`: never written).
pub(crate) fn class_at(kind: Score, denom: Option<f64>, s_bits: u64) -> Option<CellClass> {
    let s = f64::from_bits(s_bits);
    let mut d = s.sqrt();
    if let Some(q) = denom {
        d /= q;
    }
    score::score(kind, d).map(|t| CellClass::of(t, Assigner::Soft))
}

/// A closed interval of f64 bit patterns; empty when `lo > hi`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Interval {
    pub lo: u64,
    pub hi: u64,
}

impl Interval {
    const EMPTY: Interval = Interval {
        lo: u64::MAX,
        hi: 0,
    };

    #[cfg(test)]
    fn contains(&self, v: u64) -> bool {
        self.lo <= v && v <= self.hi
    }

    fn is_empty(&self) -> bool {
        self.lo > self.hi
    }

    /// The smallest interval holding both (`self` below `other`).
    fn hull(self, other: Interval) -> Interval {
        match (self.is_empty(), other.is_empty()) {
            (false, false) => Interval {
                lo: self.lo,
                hi: other.hi,
            },
            (false, true) => self,
            (true, false) => other,
            (true, true) => Interval::EMPTY,
        }
    }
}

/// The classes of one score function of `S` as intervals of `S`; `S` outside all of them is
/// soft. The shader's twin is `ScoreClasses` (`soft_assign.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ClassIntervals {
    pub skip: Interval,
    pub one_a: Interval,
    pub zero: Interval,
    pub one_b: Interval,
}

/// Largest `v` in `[lo, hi]` with `pred(v)`, for `pred` true on a prefix of the range; `None`
/// when `pred(lo)` is false.
fn last_true(lo: u64, hi: u64, pred: impl Fn(u64) -> bool) -> Option<u64> {
    if lo > hi || !pred(lo) {
        return None;
    }
    let (mut a, mut b) = (lo, hi);
    while a < b {
        let mid = b - (b - a) / 2;
        if pred(mid) {
            a = mid;
        } else {
            b = mid - 1;
        }
    }
    Some(a)
}

/// Smallest `v` in `[lo, hi]` with `pred(v)`, for `pred` true on a suffix of the range.
fn first_true(lo: u64, hi: u64, pred: impl Fn(u64) -> bool) -> Option<u64> {
    if lo > hi || !pred(hi) {
        return None;
    }
    match last_true(lo, hi, |v| !pred(v)) {
        None => Some(lo),
        Some(v) => Some(v + 1),
    }
}

fn interval(lo: Option<u64>, hi: Option<u64>) -> Interval {
    match (lo, hi) {
        (Some(lo), Some(hi)) if lo <= hi => Interval { lo, hi },
        _ => Interval::EMPTY,
    }
}

impl ClassIntervals {
    /// The classes of `score(kind, sqrt(S) [/ denom])` over every `S` in `[0, +inf]`.
    ///
    /// Monotonicity, on which the bisections rest: `d` is non-decreasing in `S` (correctly
    /// rounded `sqrt` and division by a positive constant); the Gaussian score is
    /// non-increasing in `d`; the power score of even `n` is `ipow(|fl(d - 1)|, n)`, non-increasing
    /// for `d <= 1` and non-decreasing for `d >= 1` (every rounding is monotone).
    pub(crate) fn new(kind: Score, denom: Option<f64>) -> ClassIntervals {
        let class = |v: u64| class_at(kind, denom, v);
        match kind {
            Score::Gaussian { .. } => ClassIntervals {
                skip: Interval::EMPTY,
                one_a: interval(Some(0), last_true(0, INF, |v| class(v) == ONE)),
                zero: interval(first_true(0, INF, |v| class(v) == ZERO), Some(INF)),
                one_b: Interval::EMPTY,
            },
            Score::Power { n } => Self::power(n, denom, class),
        }
    }

    /// The power score's classes: skipped above the largest kept `S`; below it a left branch
    /// (`d <= 1`: one, soft, zero as `S` grows) and a right branch (zero, soft, one).
    fn power(
        n: u32,
        denom: Option<f64>,
        class: impl Fn(u64) -> Option<CellClass>,
    ) -> ClassIntervals {
        let skip_lo = first_true(0, INF, |v| class(v) == SKIP);
        let only = |skip, one_a| ClassIntervals {
            skip,
            one_a,
            zero: Interval::EMPTY,
            one_b: Interval::EMPTY,
        };
        let skip = interval(skip_lo, Some(INF));
        let kept_hi = match skip_lo {
            Some(0) => return only(skip, Interval::EMPTY),
            Some(v) => v - 1,
            None => INF,
        };
        if n == 0 {
            return only(skip, Interval { lo: 0, hi: kept_hi });
        }
        let d_le_1 = |v: u64| {
            let mut d = f64::from_bits(v).sqrt();
            if let Some(q) = denom {
                d /= q;
            }
            d <= 1.0
        };
        // Left branch [0, mid] (d <= 1), right branch [mid + 1, kept_hi].
        let mid = last_true(0, kept_hi, d_le_1);
        let (one_a, zero_left) = match mid {
            None => (Interval::EMPTY, Interval::EMPTY),
            Some(mid) => (
                interval(Some(0), last_true(0, mid, |v| class(v) == ONE)),
                interval(first_true(0, mid, |v| class(v) == ZERO), Some(mid)),
            ),
        };
        let right_lo = mid.map_or(0, |m| m + 1);
        let (zero_right, one_b) = if right_lo > kept_hi {
            (Interval::EMPTY, Interval::EMPTY)
        } else {
            (
                interval(
                    Some(right_lo),
                    last_true(right_lo, kept_hi, |v| class(v) == ZERO),
                ),
                interval(
                    first_true(right_lo, kept_hi, |v| class(v) == ONE),
                    Some(kept_hi),
                ),
            )
        };
        ClassIntervals {
            skip,
            one_a,
            zero: zero_left.hull(zero_right),
            one_b,
        }
    }

    /// The class the shader assigns to `S` (the same tests as `shaders/soft_assign.wgsl`).
    #[cfg(test)]
    pub(crate) fn classify(&self, s_bits: u64) -> Option<CellClass> {
        if self.skip.contains(s_bits) {
            SKIP
        } else if self.one_a.contains(s_bits) || self.one_b.contains(s_bits) {
            ONE
        } else if self.zero.contains(s_bits) {
            ZERO
        } else {
            SOFT
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    fn kinds() -> Vec<Score> {
        let mut v: Vec<Score> = [0u32, 2, 4, 10, 64, 1000, 1_000_000]
            .iter()
            .map(|&n| Score::Power { n })
            .collect();
        v.extend(
            [1e-9, 1e-3, 0.1, 0.5, 1.0, 3.0, 1e4, 1e8, 1e150]
                .iter()
                .map(|&sigma| Score::Gaussian { sigma }),
        );
        v
    }

    /// Points to probe: random doubles over the whole range, random S in [0, 8], and every
    /// interval end with its neighbours.
    fn probes(c: &ClassIntervals, rng: &mut StdRng) -> Vec<u64> {
        let mut p: Vec<u64> = (0..2000).map(|_| rng.random_range(0..=INF)).collect();
        p.extend((0..2000).map(|_| (rng.random::<f64>() * 8.0).to_bits()));
        p.extend([0, 1, 2, INF - 1, INF, 1f64.to_bits(), 4f64.to_bits()]);
        for i in [c.skip, c.one_a, c.zero, c.one_b] {
            for e in [i.lo, i.hi] {
                if e <= INF {
                    for k in 0..4u64 {
                        p.push(e.saturating_sub(k).min(INF));
                        p.push(e.saturating_add(k).min(INF));
                    }
                }
            }
        }
        p
    }

    #[test]
    fn intervals_reproduce_the_oracle_class() {
        let mut rng = StdRng::seed_from_u64(11);
        let denoms = [
            None,
            Some(1.0),
            Some(0.3),
            Some(7.5),
            Some(1e-30),
            Some(1e30),
        ];
        for kind in kinds() {
            for denom in denoms {
                let c = ClassIntervals::new(kind, denom);
                for s in probes(&c, &mut rng) {
                    assert_eq!(
                        c.classify(s),
                        class_at(kind, denom, s),
                        "{kind:?} denom {denom:?} S = {:e} ({s:#x}) classes {c:?}",
                        f64::from_bits(s)
                    );
                }
            }
        }
    }

    #[test]
    fn known_boundaries() {
        // Power: d = 1 (S = 1) is exactly 0; d = 2 (S = 4) is exactly 1 and kept; d = 0 is 1.
        let c = ClassIntervals::new(Score::Power { n: 10 }, None);
        assert_eq!(c.classify(1f64.to_bits()), ZERO);
        assert_eq!(c.classify(4f64.to_bits()), ONE);
        assert_eq!(c.classify(0), ONE);
        assert_eq!(c.classify(4.5f64.to_bits()), SKIP);
        assert_eq!(c.classify(2f64.to_bits()), SOFT);
        // Gaussian: S = 0 is 1; a huge S underflows to exactly 0; a moderate one is soft.
        let g = ClassIntervals::new(Score::Gaussian { sigma: 1.0 }, None);
        assert_eq!(g.classify(0), ONE);
        assert_eq!(g.classify(2000f64.to_bits()), ZERO);
        assert_eq!(g.classify(1e-300f64.to_bits()), ONE);
        assert_eq!(g.classify(2f64.to_bits()), SOFT);
    }
}
