//! Precision: does a port compute in float32? Its answers then hold only float32 values, or
//! fail nearly every case by errors the `f32` preset accepts.

use std::fmt;

use serde::Serialize;

use crate::answer::Answer;
use crate::conformance::Tolerances;

/// The tolerances of the `f32` re-judgement when `t` is tighter than the `f32` preset in some
/// tolerance: each the looser of `t`'s and the preset's. `None` when `t` is already as loose.
pub(crate) fn rejudging(t: &Tolerances) -> Option<Tolerances> {
    let p = Tolerances::F32;
    let loose = Tolerances {
        rtol: t.rtol.max(p.rtol),
        atol: t.atol.max(p.atol),
        tobj_atol: t.tobj_atol.max(p.tobj_atol),
        grad_rtol: t.grad_rtol.max(p.grad_rtol),
    };
    (loose != *t).then_some(loose)
}

/// Calls `f` with each compared field's name and each of its numbers (counts and the integers
/// of `matched` left out).
fn each_value(a: &Answer, only: Option<&[String]>, mut f: impl FnMut(&'static str, f64)) {
    let wants = |name: &str| only.is_none_or(|o| o.iter().any(|k| k == name));
    for (name, v) in [
        ("loss", a.loss),
        ("lbox", a.lbox),
        ("lobj", a.lobj),
        ("lcls", a.lcls),
    ] {
        if let Some(v) = v.filter(|_| wants(name)) {
            f(name, v);
        }
    }
    for (name, arrays) in [("tobj", &a.tobj), ("grad", &a.grad)] {
        for arr in arrays.iter().flatten().filter(|_| wants(name)) {
            arr.data.iter().for_each(|&v| f(name, v));
        }
    }
    for (name, vs) in [
        ("hard_loss", &a.hard_loss),
        ("soft_loss", &a.soft_loss),
        ("balance", &a.balance),
    ] {
        for &v in vs.iter().flatten().filter(|_| wants(name)) {
            f(name, v);
        }
    }
    for row in a
        .matched
        .iter()
        .flatten()
        .flatten()
        .filter(|_| wants("matched"))
    {
        row.tbox
            .iter()
            .chain(&row.anchor)
            .for_each(|&v| f("matched", v));
    }
}

/// Whether every finite number of the answer's computed values (losses, per-layer losses,
/// balance, gradient; not `tobj` and `matched`, which a port may take from targets built in
/// float64) is a float32 value, and some is not a whole number (an answer of zeros and ones
/// says nothing).
pub(crate) fn exact_f32(a: &Answer, only: Option<&[String]>) -> bool {
    let (mut all, mut fractional) = (true, false);
    each_value(a, only, |name, v| {
        if v.is_finite() && name != "tobj" && name != "matched" {
            all &= f64::from(v as f32) == v;
            fractional |= v.fract() != 0.0;
        }
    });
    all && fractional
}

/// The compared fields that hold a NaN or an infinity, in the answer's order.
pub(crate) fn non_finite(a: &Answer, only: Option<&[String]>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    each_value(a, only, |name, v| {
        if !v.is_finite() && !out.iter().any(|o| o == name) {
            out.push(name.to_string());
        }
    });
    out
}

/// The finding that a port computes in float32.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Precision {
    /// Cases the port answered.
    pub answered: usize,
    /// Of those, the ones that fail under the run's tolerances.
    pub failing: usize,
    /// Of the failing ones, those whose every value is a float32 value.
    pub exact_f32: usize,
    /// Of the failing ones, those that conform under the `f32` preset.
    pub within_f32: usize,
    /// Of the failing ones, those that still fail under the `f32` preset: the groups.
    pub still_failing: usize,
    /// The tolerances of the re-judgement: the `f32` preset (or the run's where looser).
    pub tolerances: Tolerances,
}

impl fmt::Display for Precision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the answers look computed in float32: of {} failing answers, {} hold only float32 \
             values and {} conform under the f32 preset. Compute and accumulate in float64 to \
             meet the f64 preset, or judge the port with the f32 preset (--f32, \
             preset=\"f32\"). ",
            self.failing, self.exact_f32, self.within_f32
        )?;
        match self.still_failing {
            0 => write!(
                f,
                "Judged again under the f32 preset, every answer conforms. "
            )?,
            n => write!(
                f,
                "Judged again under the f32 preset, {n} still fail: the groups below. "
            )?,
        }
        write!(
            f,
            "Differences below float32 resolution cannot be attributed; rerun your port in \
             float64 to see them."
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejudging_loosens_to_the_preset() {
        assert_eq!(rejudging(&Tolerances::F64), Some(Tolerances::F32));
        assert_eq!(rejudging(&Tolerances::F32), None);
        let loose = Tolerances {
            rtol: 1e-3,
            ..Tolerances::F64
        };
        let r = rejudging(&loose).unwrap();
        assert_eq!((r.rtol, r.grad_rtol), (1e-3, Tolerances::F32.grad_rtol));
    }

    #[test]
    fn float32_values_and_non_finite_fields() {
        let (config, e) = crate::default_batch::small_evaluation();
        let mut a = Answer::from_evaluation(&e, &config);
        assert!(!exact_f32(&a, None));
        let round = |v: &mut f64| *v = f64::from(*v as f32);
        for v in [&mut a.loss, &mut a.lbox, &mut a.lobj, &mut a.lcls]
            .into_iter()
            .flatten()
        {
            round(v);
        }
        for arr in a.tobj.iter_mut().chain(&mut a.grad).flatten() {
            arr.data.iter_mut().for_each(round);
        }
        for v in [&mut a.hard_loss, &mut a.soft_loss, &mut a.balance]
            .into_iter()
            .flatten()
        {
            v.iter_mut().for_each(round);
        }
        for row in a.matched.iter_mut().flatten().flatten() {
            row.tbox.iter_mut().chain(&mut row.anchor).for_each(round);
        }
        assert!(exact_f32(&a, None));
        assert!(non_finite(&a, None).is_empty());
        a.lobj = Some(f64::NAN);
        a.grad.as_mut().unwrap()[1].data[3] = f64::INFINITY;
        assert_eq!(non_finite(&a, None), ["lobj", "grad"]);
        assert_eq!(non_finite(&a, Some(&["grad".to_string()])), ["grad"]);
    }
}
