//! Attribution: which features separate a group's failing cases from the other cases (those
//! that conform and those that fail another way).
//!
//! A feature that holds on `n_f` of the cases and on `a` of the group's `n_g` cases scores
//! `a / (n_g + n_f - a)` (the Jaccard index of the two sets: 1 when the feature holds exactly
//! on the group). Features that fail more often
//! with than without them are kept, ranked by score, then by simplicity. Where no single
//! feature scores 0.9, pairs of features that each hold on at least 80% of the group are tried
//! too, scored as if two more cases without the failure had the pair (a pair fits small
//! groups by chance more easily than a single feature does), and kept when they score at
//! least 0.1 better than every single one. A feature that
//! holds on part of another's cases only (an option of the soft assigner within `assigner =
//! soft`) ranks above it only when it scores 0.1 better: the more general one explains as
//! much with less luck. Suspects scoring less than half the best are left out.

use super::features::{Feature, distinct_on};

/// One feature weighed against a group.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Scored {
    pub feature: Feature,
    /// `(the group's cases with it, all cases with it)`.
    pub with: (usize, usize),
    /// `(the group's cases without it, all cases without it)`.
    pub without: (usize, usize),
    pub score: f64,
}

impl Scored {
    /// `fails on 14/14 cases with hyp.fl_gamma > 0 and on 0/36 without`.
    pub(crate) fn sentence(&self) -> String {
        format!(
            "fails on {}/{} cases with {} and on {}/{} without",
            self.with.0, self.with.1, self.feature.text, self.without.0, self.without.1
        )
    }
}

/// Single features at least this good are not paired.
const GOOD: f64 = 0.9;
/// A pair must beat the best single feature by this much.
const PAIR_GAIN: f64 = 0.1;
/// A feature of a pair holds on at least this share of the group.
const PAIR_RECALL: f64 = 0.8;
/// At most this many features are paired.
const PAIRED: usize = 12;
/// Cases a pair's score counts against it.
const PAIR_PENALTY: usize = 2;
/// Single features better than this separate well (see also [`GOOD`]).
pub(crate) const WELL: f64 = GOOD;

/// Fewer failing cases than this are too few to attribute.
pub(crate) const MIN_GROUP: usize = 2;
/// Fewer cases in all than this are too few to attribute.
pub(crate) const MIN_CASES: usize = 10;

/// The best `keep` features separating `group` (indices of the `n` cases) from the other
/// cases, best first; none when every case is in the group, or when there are too few cases
/// ([`MIN_GROUP`], [`MIN_CASES`]) for any feature to mean something.
pub(crate) fn suspects(
    features: &[Feature],
    group: &[usize],
    n: usize,
    keep: usize,
) -> Vec<Scored> {
    if group.len() < MIN_GROUP || n < MIN_CASES || group.len() >= n {
        return Vec::new();
    }
    let universe: Vec<usize> = (0..n).collect();
    let mut in_group = vec![false; n];
    group.iter().for_each(|&i| in_group[i] = true);
    let weigh = |f: &Feature| weigh(f, &universe, &in_group, group.len());
    let mut singles: Vec<Scored> = distinct_on(features, &universe)
        .into_iter()
        .filter_map(&weigh)
        .collect();
    sort(&mut singles, &universe);
    let best = singles.first().map_or(0.0, |s| s.score);
    if best < GOOD && group.len() >= 2 {
        let pairs = pairs(&singles, group.len(), best, &weigh);
        singles.extend(pairs);
        sort(&mut singles, &universe);
    }
    let best = singles.first().map_or(0.0, |s| s.score);
    singles.retain(|s| s.score >= best / 2.0);
    singles.truncate(keep);
    singles
}

/// The feature `f` weighed on `universe`; `None` when it fails no more often with than
/// without.
fn weigh(f: &Feature, universe: &[usize], in_group: &[bool], n_group: usize) -> Option<Scored> {
    let (mut a, mut n_with) = (0, 0);
    for &i in universe.iter().filter(|&&i| f.holds[i]) {
        n_with += 1;
        a += usize::from(in_group[i]);
    }
    let (c, n_without) = (n_group - a, universe.len() - n_with);
    // a / n_with > c / n_without, without dividing.
    if a == 0 || a * n_without <= c * n_with {
        return None;
    }
    let penalty = if f.rank == 3 { PAIR_PENALTY } else { 0 };
    Some(Scored {
        feature: f.clone(),
        with: (a, n_with),
        without: (c, n_without),
        score: a as f64 / (n_group + n_with - a + penalty) as f64,
    })
}

/// Pairs of the single features that each hold on most of the group and, together, score
/// clearly better than `best`.
fn pairs(
    singles: &[Scored],
    n_group: usize,
    best: f64,
    weigh: &dyn Fn(&Feature) -> Option<Scored>,
) -> Vec<Scored> {
    let frequent: Vec<&Scored> = singles
        .iter()
        .filter(|s| s.with.0 as f64 >= PAIR_RECALL * n_group as f64)
        .take(PAIRED)
        .collect();
    let mut out = Vec::new();
    for (i, x) in frequent.iter().enumerate() {
        for y in &frequent[i + 1..] {
            if let Some(p) = weigh(&x.feature.and(&y.feature))
                && p.score >= best + PAIR_GAIN
            {
                out.push(p);
            }
        }
    }
    out
}

/// A feature that must beat another by this much when it holds on part of its cases only.
const SPECIFIC_GAIN: f64 = 0.1;

/// Best score first (less [`SPECIFIC_GAIN`] for a single feature that holds within a more
/// general single feature nearly as good), then the simpler feature, then the more cases with
/// it failing.
fn sort(v: &mut [Scored], universe: &[usize]) {
    let within = |f: &Feature, g: &Feature| {
        f.rank < 3
            && g.rank < 3
            && universe.iter().all(|&i| !f.holds[i] || g.holds[i])
            && universe.iter().any(|&i| g.holds[i] && !f.holds[i])
    };
    let ranked: Vec<f64> = v
        .iter()
        .map(|x| {
            let general = v
                .iter()
                .any(|y| y.score > x.score - SPECIFIC_GAIN && within(&x.feature, &y.feature));
            x.score - if general { SPECIFIC_GAIN } else { 0.0 }
        })
        .collect();
    let mut order: Vec<usize> = (0..v.len()).collect();
    order.sort_by(|&i, &j| {
        let (x, y) = (&v[i], &v[j]);
        ranked[j]
            .total_cmp(&ranked[i])
            .then(x.feature.rank.cmp(&y.feature.rank))
            .then(y.with.0.cmp(&x.with.0))
    });
    let sorted: Vec<Scored> = order.iter().map(|&i| v[i].clone()).collect();
    v.clone_from_slice(&sorted);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feature(text: &str, rank: u8, holds: &[u8]) -> Feature {
        Feature {
            parts: vec![text.into()],
            text: text.into(),
            keys: vec![text.split(' ').next().unwrap().to_string()],
            rank,
            holds: holds.iter().map(|&h| h == 1).collect(),
        }
    }

    #[test]
    fn the_feature_that_holds_on_the_group_comes_first() {
        // Cases 0-3 fail; 4-9 pass.
        let fs = [
            feature("assigner = soft", 0, &[1, 1, 1, 0, 1, 1, 1, 0, 0, 1]),
            feature("hyp.fl_gamma > 0", 0, &[1, 1, 1, 1, 0, 0, 0, 0, 0, 0]),
            feature("nl = 1", 0, &[0, 0, 0, 0, 1, 1, 0, 0, 0, 0]),
        ];
        let s = suspects(&fs, &[0, 1, 2, 3], 10, 5);
        assert_eq!(s[0].feature.text, "hyp.fl_gamma > 0");
        assert_eq!(
            s[0].sentence(),
            "fails on 4/4 cases with hyp.fl_gamma > 0 and on 0/6 without"
        );
        assert_eq!(s[0].score, 1.0);
        // nl = 1 fails less often with than without: not a suspect.
        assert!(s.iter().all(|x| x.feature.text != "nl = 1"));
        assert!(suspects(&fs[..1], &[0, 1, 2], 3, 5).is_empty());
        assert!(suspects(&fs, &[0], 10, 5).is_empty()); // one case: too few
        assert!(suspects(&fs[..2], &[0, 1], 5, 5).is_empty()); // five cases: too few
    }

    #[test]
    fn a_pair_is_tried_when_no_single_feature_separates() {
        // The group is power & continuous: cases 0-9. Power alone: 0-9 and 10-14; continuous
        // alone: 0-9 and 15-19; neither: 20-29.
        let holds = |extra: std::ops::Range<usize>| -> Vec<u8> {
            (0..30)
                .map(|i| u8::from(i < 10 || extra.contains(&i)))
                .collect()
        };
        let fs = [
            feature("score.kind = power", 0, &holds(10..15)),
            feature("distance = continuous", 0, &holds(15..20)),
        ];
        let group: Vec<usize> = (0..10).collect();
        let s = suspects(&fs, &group, 30, 5);
        assert_eq!(
            s[0].feature.text,
            "score.kind = power and distance = continuous"
        );
        assert_eq!(s[0].feature.keys, ["score.kind", "distance"]);
        assert_eq!((s[0].with, s[0].without), ((10, 10), (0, 20)));
        assert_eq!(s[0].score, 10.0 / 12.0); // 10 / (10 + 10 - 10 + 2): a pair pays two cases
        assert_eq!(s.len(), 3);
        assert_eq!(s[1].score, 10.0 / 15.0);
    }

    #[test]
    fn features_alike_on_the_cases_count_once_the_simplest_kept() {
        let fs = [
            feature("nc <= 1", 1, &[1, 1, 0, 0, 0, 0, 0, 0, 0, 0]),
            feature("nc = 1", 0, &[1, 1, 0, 0, 0, 0, 0, 0, 0, 0]),
        ];
        let s = suspects(&fs, &[0, 1], 10, 5);
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].feature.text, "nc = 1");
    }
}
