//! The objectness terms of every cell of a layer (spec section 5): BCE on hard cells, the
//! configured soft loss on soft cells, with `d loss / d x_obj` (spec section 6).
//!
//! Cells are taken in fixed chunks whose partial sums are added in chunk order, so the result
//! does not depend on the number of threads.

use rayon::prelude::*;

use super::bce::bce_element;
use super::real::Real;
use super::soft::soft_element;
use super::vmath::{bce_slice, soft2_slice};
use crate::array::zeroed;
use crate::config::SoftLoss;
use crate::inputs::any_illegal;
use crate::prefetch::{self, Hint};

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

/// What one chunk of cells gives: the hard and soft loss sums, and (when checked) whether any
/// of its prediction values is not a legal logit.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ChunkSums {
    pub(crate) hard: f64,
    pub(crate) soft: f64,
    pub(crate) illegal: bool,
}

/// Cells per block: the unit of the vectorised BCE inside a chunk (a multiple of [`LANES`]).
const BLOCK: usize = 64;

/// Partial sums of the hard losses in a chunk: cell `k` of the chunk goes to `k % LANES`.
const LANES: usize = 8;

impl ObjPass {
    /// One chunk of cells: `pred` starts at the chunk's first cell, `t` holds its targets and
    /// `g` (when `GRAD`) receives `d loss / d x_obj`. With `CHECK`, every prediction value of
    /// the chunk's cells (all channels) is checked against the logit rule of spec 8 on the
    /// way (the data is streamed once, block by block, and the objectness logits are then
    /// read from cache).
    ///
    /// Hard cells (`gamma = 0`) go through the vectorised BCE ([`super::vmath::bce_slice`]),
    /// summed over [`LANES`] partial sums by position in the chunk; soft cells through the
    /// vectorised loss2 / loss3 ([`super::vmath::soft2_slice`]), summed in cell order; the
    /// focal wrapper and loss1 through the scalar reference functions, in cell order. Every
    /// sum depends on the chunk alone, never on threads.
    #[inline]
    pub(crate) fn chunk<T: Real, const GRAD: bool, const CHECK: bool>(
        &self,
        pred: &[T],
        t: &[f64],
        g: &mut [f64],
    ) -> ChunkSums {
        let no = self.no;
        let n = t.len();
        let mut out = ChunkSums::default();
        let mut lanes = [0.0; LANES];
        let (mut xs, mut lb, mut gb) = ([0.0; BLOCK], [0.0; BLOCK], [0.0; BLOCK]);
        let (mut at, mut sx, mut st) = ([0usize; BLOCK], [0.0; BLOCK], [0.0; BLOCK]);
        for b0 in (0..n).step_by(BLOCK) {
            let m = BLOCK.min(n - b0);
            if CHECK {
                out.illegal |= any_illegal(&pred[b0 * no..(b0 + m) * no]);
            }
            for (i, x) in xs[..m].iter_mut().enumerate() {
                if !CHECK {
                    prefetch::line(pred, (b0 + i + PREFETCH) * no + 4, Hint::L2);
                }
                *x = pred[(b0 + i) * no + 4].f();
            }
            let (xs, tb) = (&xs[..m], &t[b0..b0 + m]);
            let soft = |tv: f64| self.soft_assigner & (tv != 0.0) & (tv != 1.0);
            if self.fl_gamma > 0.0 {
                // The focal wrapper: the scalar reference, cell by cell.
                for (i, (&x, &tv)) in xs.iter().zip(tb).enumerate() {
                    if soft(tv) {
                        continue;
                    }
                    let (lv, gv) = bce_element(x, tv, self.obj_pw, self.fl_gamma);
                    out.hard += lv;
                    if GRAD {
                        g[b0 + i] = self.hard_scale * gv;
                    }
                }
            } else {
                bce_slice(xs, tb, self.obj_pw, &mut lb[..m], &mut gb[..m]);
                // Cell `i` of the block (a multiple of LANES into the chunk) goes to lane
                // `i % LANES`, in cell order: groups of LANES cells add lane by lane (which
                // vectorises), a last partial group likewise.
                for (l8, t8) in lb[..m].chunks(LANES).zip(tb.chunks(LANES)) {
                    for (j, (&lv, &tv)) in l8.iter().zip(t8).enumerate() {
                        lanes[j] += if soft(tv) { 0.0 } else { lv };
                    }
                }
                if GRAD {
                    for (d, &gv) in g[b0..b0 + m].iter_mut().zip(&gb[..m]) {
                        *d = self.hard_scale * gv;
                    }
                }
            }
            if !self.soft_assigner {
                continue;
            }
            let loss3 = match self.soft_loss {
                SoftLoss::Loss2 => false,
                SoftLoss::Loss3 => true,
                SoftLoss::Loss1 { .. } => {
                    // loss1's power: the scalar reference, cell by cell.
                    for (i, (&x, &tv)) in xs.iter().zip(tb).enumerate() {
                        if soft(tv) {
                            let (lv, gv) = soft_element(self.soft_loss, x, tv);
                            out.soft += lv;
                            if GRAD {
                                g[b0 + i] = self.soft_scale * gv;
                            }
                        }
                    }
                    continue;
                }
            };
            // The block's soft cells, packed, through the vectorised loss2 / loss3.
            // Branch-free: every cell is written at `k`, which moves on past soft cells only
            // (`k <= i < BLOCK`, so the writes stay in the arrays).
            let mut k = 0;
            for (i, (&x, &tv)) in xs.iter().zip(tb).enumerate() {
                (at[k], sx[k], st[k]) = (i, x, tv);
                k += usize::from(soft(tv));
            }
            soft2_slice(&sx[..k], &st[..k], loss3, &mut lb[..k], &mut gb[..k]);
            for j in 0..k {
                out.soft += lb[j];
                if GRAD {
                    g[b0 + at[j]] = self.soft_scale * gb[j];
                }
            }
        }
        let [a, b, c, d, e, f, g_, h] = lanes;
        out.hard += ((a + b) + (c + d)) + ((e + f) + (g_ + h));
        out
    }
}

/// Cells ahead whose logit is prefetched (to the L2) when the pass reads only the logits:
/// one cache line per cell, which the hardware prefetchers, stopping at page boundaries,
/// leave to demand misses. 256 cells (87 KB at 80 classes) ahead. With the L1 hint the pass
/// stalled on the prefetches themselves (the L1's miss buffers full: about 40% of forward +
/// gradient); with the L2 hint forward + gradient took 15-25% less time on one thread (an
/// isolated gather of the logits: 0.8 ms against 3 ms). The checking pass streams every
/// channel and needs none.
const PREFETCH: usize = 256;

impl ObjPass {
    /// The sums over every cell: `flat` holds the layer's predictions in standard layout,
    /// `tflat` its targets; with `GRAD`, `gobj` (any length and contents) is made to hold
    /// every `d loss / d x_obj`, one per cell; with `CHECK`, every value of `flat` is checked
    /// against the logit rule ([`ChunkSums::illegal`]).
    pub(crate) fn run<T: Real, const GRAD: bool, const CHECK: bool>(
        &self,
        flat: &[T],
        tflat: &[f64],
        gobj: &mut Vec<f64>,
    ) -> ChunkSums {
        let no = self.no;
        let partial: Vec<ChunkSums> = if GRAD {
            let cells = tflat.len();
            let run_chunk = |(c, (g, tc)): (usize, (&mut [f64], &[f64]))| {
                self.chunk::<T, true, CHECK>(&flat[c * CHUNK * no..], tc, g)
            };
            if gobj.len() == cells {
                // A reused buffer: every element is overwritten.
                gobj.par_chunks_mut(CHUNK)
                    .zip(tflat.par_chunks(CHUNK))
                    .enumerate()
                    .map(run_chunk)
                    .collect()
            } else {
                // A fresh one is written chunk by chunk where it is computed (each chunk's
                // part zeroed there first, in cache, instead of the whole buffer in a pass
                // of its own).
                gobj.clear();
                gobj.reserve_exact(cells);
                let partial = gobj.spare_capacity_mut()[..cells]
                    .par_chunks_mut(CHUNK)
                    .zip(tflat.par_chunks(CHUNK))
                    .enumerate()
                    .map(|(c, (g, tc))| run_chunk((c, (zeroed(g), tc))))
                    .collect();
                // SAFETY: the chunks above cover the first `cells` elements of the spare
                // capacity (reserved just above), and each was initialised by `zeroed`.
                unsafe { gobj.set_len(cells) };
                partial
            }
        } else {
            tflat
                .par_chunks(CHUNK)
                .enumerate()
                .map(|(c, tc)| self.chunk::<T, false, CHECK>(&flat[c * CHUNK * no..], tc, &mut []))
                .collect()
        };
        partial.iter().fold(ChunkSums::default(), |s, p| ChunkSums {
            hard: s.hard + p.hard,
            soft: s.soft + p.soft,
            illegal: s.illegal | p.illegal,
        })
    }
}
