//! The objectness terms of every cell of a layer (spec section 5): BCE on hard cells, the
//! configured soft loss on soft cells, with `d loss / d x_obj` (spec section 6).
//!
//! Cells are taken in fixed chunks whose partial sums are added in chunk order, so the result
//! does not depend on the number of threads.

use rayon::prelude::*;

use super::bce::{bce_loss, bce_shared};
use super::real::Real;
use super::soft::soft_element;
use crate::config::SoftLoss;

/// Cells per reduction chunk (fixed, so that sums do not depend on the thread count).
pub(crate) const CHUNK: usize = 4096;

/// The constants of a layer's objectness pass.
pub(crate) struct ObjPass {
    pub(crate) no: usize,
    pub(crate) soft_assigner: bool,
    pub(crate) obj_pw: f64,
    pub(crate) fl_gamma: f64,
    pub(crate) soft_loss: SoftLoss,
    pub(crate) hard_scale: f64,
    pub(crate) soft_scale: f64,
}

impl ObjPass {
    /// One chunk of cells: `pred` starts at the chunk's first cell, `t` holds its targets and
    /// `g` (when `GRAD`) receives `d loss / d x_obj`. Returns the chunk's (hard, soft) sums.
    #[inline]
    pub(crate) fn chunk<T: Real, const GRAD: bool>(
        &self,
        pred: &[T],
        t: &[f64],
        g: &mut [f64],
    ) -> (f64, f64) {
        let (mut hs, mut ss) = (0.0, 0.0);
        let xs = pred.iter().skip(4).step_by(self.no);
        for (k, (&tv, x)) in t.iter().zip(xs).enumerate() {
            prefetch(pred, (k + PREFETCH) * self.no + 4);
            let x = x.f();
            if !self.soft_assigner || tv == 0.0 || tv == 1.0 {
                if GRAD {
                    let (lv, gv) = bce_shared(x, tv, self.obj_pw, self.fl_gamma);
                    hs += lv;
                    g[k] = self.hard_scale * gv;
                } else {
                    hs += bce_loss(x, tv, self.obj_pw, self.fl_gamma);
                }
            } else {
                let (lv, gv) = soft_element(self.soft_loss, x, tv);
                ss += lv;
                if GRAD {
                    g[k] = self.soft_scale * gv;
                }
            }
        }
        (hs, ss)
    }
}

/// Cells ahead whose logit is prefetched: one cache line per cell, so the hardware
/// prefetchers (which stop at page boundaries) leave most of them to demand misses.
const PREFETCH: usize = 32;

/// Asks for the cache line of `data[i]` (no effect past the end, or off x86-64).
#[inline(always)]
fn prefetch<T>(data: &[T], i: usize) {
    #[cfg(target_arch = "x86_64")]
    if let Some(v) = data.get(i) {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        // SAFETY: SSE is part of the x86-64 baseline, and a prefetch never faults; the
        // pointer comes from a reference, so it is valid anyway.
        unsafe { _mm_prefetch::<_MM_HINT_T0>((v as *const T).cast::<i8>()) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (data, i);
}

impl ObjPass {
    /// The (hard, soft) sums over every cell: `flat` holds the layer's predictions in standard
    /// layout, `tflat` its targets; with `GRAD`, `gobj` (one value per cell, any contents)
    /// receives every `d loss / d x_obj`.
    pub(crate) fn run<T: Real, const GRAD: bool>(
        &self,
        flat: &[T],
        tflat: &[f64],
        gobj: &mut [f64],
    ) -> (f64, f64) {
        let no = self.no;
        let partial: Vec<(f64, f64)> = if GRAD {
            gobj.par_chunks_mut(CHUNK)
                .zip(tflat.par_chunks(CHUNK))
                .enumerate()
                .map(|(c, (g, tc))| self.chunk::<T, true>(&flat[c * CHUNK * no..], tc, g))
                .collect()
        } else {
            tflat
                .par_chunks(CHUNK)
                .enumerate()
                .map(|(c, tc)| self.chunk::<T, false>(&flat[c * CHUNK * no..], tc, &mut []))
                .collect()
        };
        partial
            .iter()
            .fold((0.0, 0.0), |(a, b), &(c, d)| (a + c, b + d))
    }
}
