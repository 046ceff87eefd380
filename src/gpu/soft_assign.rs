//! Wrapper of `shaders/soft_assign.wgsl`: the soft assigner's claim, write or settle, and
//! centre passes.

use bytemuck::{Pod, Zeroable};

use super::exact::{ClassIntervals, Interval};
use super::kernel::{Pass, Shader, Slot};
use crate::config::{Overlap, Score};

/// `shaders/soft_assign.wgsl`.
pub(crate) struct SoftAssign;

impl Shader for SoftAssign {
    const NAME: &'static str = "soft_assign";
    const BINDINGS: &'static [(&'static str, Slot)] = &[
        ("params", Slot::Uniform),
        ("rows", Slot::Read),
        ("terms", Slot::Read),
        ("classes", Slot::Read),
        ("winner", Slot::ReadWrite),
        ("tobj", Slot::ReadWrite),
        ("tobj_u", Slot::ReadWrite),
    ];
    const ENTRIES: &'static [&'static str] = &["claim", "write", "settle", "centre"];
    type Params = SoftParams;
}

/// `OVERLAP_LAST_WRITE` of the shader: `SoftParams::overlap` of [`Overlap::LastWrite`].
pub(crate) const OVERLAP_LAST_WRITE: u32 = 0;
/// `OVERLAP_MAX` of the shader.
pub(crate) const OVERLAP_MAX: u32 = 1;
/// `SCORE_POWER` of the shader: `SoftParams::score_kind` of [`Score::Power`].
pub(crate) const SCORE_POWER: u32 = 0;
/// `SCORE_GAUSSIAN` of the shader.
pub(crate) const SCORE_GAUSSIAN: u32 = 1;

/// `SoftParams` of the shader.
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable)]
pub(crate) struct SoftParams {
    pub n_rows: u32,
    pub n_pairs: u32,
    pub nx: u32,
    pub ny: u32,
    pub overlap: u32,
    pub score_kind: u32,
    pub power_n: u32,
    pub two_sigma2: f32,
}

impl SoftParams {
    /// The shader's code of an overlap rule.
    pub(crate) fn overlap_code(o: Overlap) -> u32 {
        match o {
            Overlap::LastWrite => OVERLAP_LAST_WRITE,
            Overlap::Max => OVERLAP_MAX,
        }
    }

    /// `(score_kind, power_n, two_sigma2)` of a score; `2 sigma^2` clamped into the f32 range.
    pub(crate) fn score_fields(score: Score) -> (u32, u32, f32) {
        match score {
            Score::Power { n } => (SCORE_POWER, n, 1.0),
            Score::Gaussian { sigma } => {
                let two_sigma2 = 2.0 * (sigma * sigma);
                let clamped = two_sigma2.clamp(f64::from(f32::MIN_POSITIVE), f64::from(f32::MAX));
                (SCORE_GAUSSIAN, 0, clamped as f32)
            }
        }
    }

    /// Claim, then write (last_write) or settle (max) over the pairs, then the centres
    /// (`winner`, `tobj` and `tobj_u` cleared). Nothing when there are no rows.
    pub(crate) fn passes(&self) -> Vec<Pass> {
        if self.n_rows == 0 {
            return Vec::new();
        }
        let pairs = u64::from(self.n_pairs);
        let second = if self.overlap == OVERLAP_MAX {
            "settle"
        } else {
            "write"
        };
        vec![
            Pass {
                entry: "claim",
                n: pairs,
            },
            Pass {
                entry: second,
                n: pairs,
            },
            Pass {
                entry: "centre",
                n: u64::from(self.n_rows),
            },
        ]
    }
}

/// `SoftRow` of the shader.
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable)]
pub(crate) struct SoftRow {
    pub pair_start: u32,
    pub width: u32,
    pub height: u32,
    pub plane: u32,
    pub gi1: i32,
    pub gj1: i32,
    pub x_off: u32,
    pub y_off: u32,
    pub centre: u32,
    pub denom: f32,
    pub classes: u32,
    pub q_hi: f32,
    pub q_lo: f32,
    pub pad: [u32; 3],
}

/// `Term` of the shader: an f64's bit pattern as the (low, high) words that
/// `shaders/f64.wgsl` reads; every f64 the host uploads is one.
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable)]
pub(crate) struct Term {
    pub lo: u32,
    pub hi: u32,
}

impl Term {
    pub(crate) fn of(x: f64) -> Term {
        Term::of_bits(x.to_bits())
    }

    pub(crate) fn of_bits(b: u64) -> Term {
        Term {
            lo: b as u32,
            hi: (b >> 32) as u32,
        }
    }
}

/// `ScoreClasses` of the shader: four intervals of f64 bits, each `[lo, hi]` as (low, high)
/// word pairs.
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable)]
pub(crate) struct ScoreClasses {
    words: [Term; 8],
}

impl From<&ClassIntervals> for ScoreClasses {
    fn from(c: &ClassIntervals) -> ScoreClasses {
        let mut words = [Term::of_bits(0); 8];
        for (k, i) in [c.skip, c.one_a, c.zero, c.one_b].iter().enumerate() {
            let Interval { lo, hi } = *i;
            words[2 * k] = Term::of_bits(lo);
            words[2 * k + 1] = Term::of_bits(hi);
        }
        ScoreClasses { words }
    }
}
