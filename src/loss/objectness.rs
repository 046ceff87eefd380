//! The objectness terms of every cell of a layer (spec section 5): BCE on hard cells, the
//! configured soft loss on soft cells, with `d loss / d x_obj` (spec section 6).
//!
//! Cells are taken in fixed chunks whose partial sums are added in chunk order, so the result
//! does not depend on the number of threads.

use rayon::prelude::*;

use super::bce::bce_element;
use super::norm::{hard_cells, mean, soft_cells};
use super::real::Real;
use super::soft::soft_element;
use super::vmath::{bce_slice, soft2_slice};
use crate::array::zeroed;
use crate::config::{Assigner, Config, SoftLoss};
use crate::inputs::any_illegal;
use crate::prefetch::{self, Hint};
use crate::result::Counts;

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
    /// The pass of a layer of `cells` cells with cell classes `counts` and objectness gain
    /// `obj_scale` ([`super::norm::obj_scale`]): its gradient scales are that gain's means over
    /// the hard and the soft cells.
    pub(crate) fn of(config: &Config, counts: Counts, cells: usize, obj_scale: f64) -> ObjPass {
        let h = &config.hyp;
        ObjPass {
            no: 5 + config.nc,
            soft_assigner: config.assigner == Assigner::Soft,
            obj_pw: h.obj_pw,
            fl_gamma: h.fl_gamma,
            soft_loss: config.soft_loss,
            hard_scale: mean(obj_scale, hard_cells(config.assigner, counts, cells)),
            soft_scale: mean(obj_scale, soft_cells(config.assigner, counts)),
        }
    }
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
        let n = t.len();
        let mut out = ChunkSums::default();
        let mut lanes = [0.0; LANES];
        let mut s = Scratch {
            xs: [0.0; BLOCK],
            lb: [0.0; BLOCK],
            gb: [0.0; BLOCK],
            at: [0; BLOCK],
            sx: [0.0; BLOCK],
            st: [0.0; BLOCK],
        };
        for b0 in (0..n).step_by(BLOCK) {
            let m = BLOCK.min(n - b0);
            if CHECK {
                out.illegal |= any_illegal(&pred[b0 * self.no..(b0 + m) * self.no]);
            }
            self.gather::<T, CHECK>(pred, b0, &mut s.xs[..m]);
            let (xs, tb) = (&s.xs[..m], &t[b0..b0 + m]);
            if self.fl_gamma > 0.0 {
                self.hard_focal::<GRAD>(xs, tb, b0, g, &mut out);
            } else {
                let (lb, gb) = (&mut s.lb[..m], &mut s.gb[..m]);
                self.hard_vectorised::<GRAD>(xs, tb, b0, g, &mut lanes, (lb, gb));
            }
            if !self.soft_assigner {
                continue;
            }
            let loss3 = match self.soft_loss {
                SoftLoss::Loss2 => false,
                SoftLoss::Loss3 => true,
                SoftLoss::Loss1 { .. } => {
                    self.soft_scalar::<GRAD>(xs, tb, b0, g, &mut out);
                    continue;
                }
            };
            let packed = (&mut s.at, &mut s.sx, &mut s.st);
            let lg = (&mut s.lb, &mut s.gb);
            self.soft_vectorised::<GRAD>(xs, tb, loss3, b0, g, &mut out, packed, lg);
        }
        let [a, b, c, d, e, f, g_, h] = lanes;
        out.hard += ((a + b) + (c + d)) + ((e + f) + (g_ + h));
        out
    }

    /// Whether a cell of target `tv` is soft: the soft class of
    /// [`CellClass::of`](crate::result::CellClass::of) (spec 4.9), written without branches for
    /// the hot loop. Never under YOLOv5, whose targets `max(CIoU, 0)` are positive or negative
    /// (a test holds the two to agree).
    #[inline(always)]
    fn is_soft(&self, tv: f64) -> bool {
        self.soft_assigner & (tv != 0.0) & (tv != 1.0)
    }

    /// The objectness logits of cells `b0..b0 + xs.len()` of the chunk into `xs`, widened to
    /// f64. Without `CHECK` (the logits alone are read) the logit [`PREFETCH`] cells ahead is
    /// prefetched; the checking pass has just streamed every channel of the block.
    #[inline(always)]
    fn gather<T: Real, const CHECK: bool>(&self, pred: &[T], b0: usize, xs: &mut [f64]) {
        let no = self.no;
        for (i, x) in xs.iter_mut().enumerate() {
            if !CHECK {
                prefetch::line(pred, (b0 + i + PREFETCH) * no + 4, Hint::L2);
            }
            *x = pred[(b0 + i) * no + 4].f();
        }
    }

    /// The hard cells of a block under the focal wrapper: the scalar reference, cell by cell,
    /// added to `out.hard` in cell order.
    #[inline(always)]
    fn hard_focal<const GRAD: bool>(
        &self,
        xs: &[f64],
        tb: &[f64],
        b0: usize,
        g: &mut [f64],
        out: &mut ChunkSums,
    ) {
        for (i, (&x, &tv)) in xs.iter().zip(tb).enumerate() {
            if self.is_soft(tv) {
                continue;
            }
            let (lv, gv) = bce_element(x, tv, self.obj_pw, self.fl_gamma);
            out.hard += lv;
            if GRAD {
                g[b0 + i] = self.hard_scale * gv;
            }
        }
    }

    /// The hard cells of a block without focal (`gamma = 0`): the vectorised BCE of every cell
    /// into `lb` and `gb`, the hard ones' losses added to `lanes`. Cell `i` of the block (a
    /// multiple of [`LANES`] into the chunk) goes to lane `i % LANES`, in cell order: groups
    /// of `LANES` cells add lane by lane (which vectorises), a last partial group likewise.
    /// Every cell's gradient is written (a soft cell's is overwritten by the soft pass).
    #[inline(always)]
    fn hard_vectorised<const GRAD: bool>(
        &self,
        xs: &[f64],
        tb: &[f64],
        b0: usize,
        g: &mut [f64],
        lanes: &mut [f64; LANES],
        (lb, gb): (&mut [f64], &mut [f64]),
    ) {
        bce_slice(xs, tb, self.obj_pw, lb, gb);
        for (l8, t8) in lb.chunks(LANES).zip(tb.chunks(LANES)) {
            for (j, (&lv, &tv)) in l8.iter().zip(t8).enumerate() {
                lanes[j] += if self.is_soft(tv) { 0.0 } else { lv };
            }
        }
        if GRAD {
            for (d, &gv) in g[b0..b0 + xs.len()].iter_mut().zip(gb.iter()) {
                *d = self.hard_scale * gv;
            }
        }
    }

    /// The soft cells of a block under loss1: the scalar reference, cell by cell, added to
    /// `out.soft` in cell order.
    #[inline(always)]
    fn soft_scalar<const GRAD: bool>(
        &self,
        xs: &[f64],
        tb: &[f64],
        b0: usize,
        g: &mut [f64],
        out: &mut ChunkSums,
    ) {
        for (i, (&x, &tv)) in xs.iter().zip(tb).enumerate() {
            if self.is_soft(tv) {
                let (lv, gv) = soft_element(self.soft_loss, x, tv);
                out.soft += lv;
                if GRAD {
                    g[b0 + i] = self.soft_scale * gv;
                }
            }
        }
    }

    /// The soft cells of a block under loss2 or loss3 (`loss3`): packed into `(at, sx, st)`
    /// (cell, logit, target), through the vectorised loss into `(lb, gb)`, added to
    /// `out.soft` in cell order. The packing is branch-free: every cell is written at `k`,
    /// which moves on past soft cells only (`k <= i < BLOCK`, so the writes stay in the
    /// arrays).
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn soft_vectorised<const GRAD: bool>(
        &self,
        xs: &[f64],
        tb: &[f64],
        loss3: bool,
        b0: usize,
        g: &mut [f64],
        out: &mut ChunkSums,
        (at, sx, st): Packed,
        (lb, gb): (&mut [f64; BLOCK], &mut [f64; BLOCK]),
    ) {
        let mut k = 0;
        for (i, (&x, &tv)) in xs.iter().zip(tb).enumerate() {
            (at[k], sx[k], st[k]) = (i, x, tv);
            k += usize::from(self.is_soft(tv));
        }
        soft2_slice(&sx[..k], &st[..k], loss3, &mut lb[..k], &mut gb[..k]);
        for j in 0..k {
            out.soft += lb[j];
            if GRAD {
                g[b0 + at[j]] = self.soft_scale * gb[j];
            }
        }
    }
}

/// A block's soft cells packed: cell in the block, logit, target.
type Packed<'a> = (
    &'a mut [usize; BLOCK],
    &'a mut [f64; BLOCK],
    &'a mut [f64; BLOCK],
);

/// The per-block buffers of [`ObjPass::chunk`]: the logits, the losses and derivatives of the
/// vectorised functions, and the packed soft cells.
struct Scratch {
    xs: [f64; BLOCK],
    lb: [f64; BLOCK],
    gb: [f64; BLOCK],
    at: [usize; BLOCK],
    sx: [f64; BLOCK],
    st: [f64; BLOCK],
}

/// Cells ahead whose logit is prefetched (to the L2) when the pass reads only the logits:
/// one cache line per cell, which the hardware prefetchers, stopping at page boundaries,
/// leave to demand misses. 256 cells (87 KB at 80 classes) ahead. The hint is the L2's, not
/// the L1's: this many lines in flight fill the L1's miss buffers, and the pass would then
/// stall on the prefetches themselves (docs/performance.md has the measurements). The
/// checking pass streams every channel and needs none.
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::result::CellClass;

    /// `is_soft` is `CellClass::of`'s soft class for every target an assigner produces.
    #[test]
    fn soft_cells_are_the_cell_class_rule() {
        let targets = [
            0.0,
            -0.0,
            1.0,
            0.5,
            1e-300,
            5e-324,
            1.0 - f64::EPSILON / 2.0,
            0.999,
        ];
        for assigner in [Assigner::Soft, Assigner::Yolov5] {
            let config = Config {
                assigner,
                ..Config::default()
            };
            let pass = ObjPass::of(&config, Counts::default(), 1, 1.0);
            for t in targets {
                let class = CellClass::of(t, assigner);
                assert_eq!(
                    pass.is_soft(t),
                    class == CellClass::Soft,
                    "{assigner:?} {t}"
                );
            }
        }
    }
}
