//! Reusable buffers for repeated evaluations (a training loop, a benchmark).
//!
//! An evaluation hands its large arrays to the caller: every layer's `tobj` and the dense
//! objectness channel of the gradient (together `2 * 8` bytes per cell, 6.5 MB for the default
//! batch of 16 images at 640x640). Fresh arrays of that size come from the operating system as
//! untouched pages, and the first write to each page costs a page fault (about a microsecond
//! each, some 1600 per evaluation of the default batch). A [`Workspace`] keeps the buffers of
//! evaluations given back with [`Workspace::recycle`] and lends them to the next evaluation it
//! runs, so that a loop of evaluations touches the same memory every time.
//!
//! Results never depend on the workspace: a recycled buffer is overwritten (or zeroed) in full
//! before it is read, so every evaluation is bit for bit that of [`crate::evaluate`].

use crate::result::Evaluation;
use crate::targets::LayerTargets;

/// Spare buffers kept at most (the largest are kept).
const MAX_SPARE: usize = 16;

/// Values of the largest score-table buffer kept per layer (2 MB; the default batch's take
/// 10 to 60 KB).
const MAX_TABLE_SCORES: usize = 1 << 18;

/// Buffers lent to evaluations and given back by the caller.
///
/// ```
/// use soft_objectness::{EvalOptions, Workspace, default_batch::DefaultBatch, evaluate};
/// let small = DefaultBatch { batch: 2, width: 64, height: 64, nc: 3, boxes_per_image: 4, seed: 1 };
/// let (config, inputs) = small.build().unwrap();
/// let mut ws = Workspace::new();
/// let opts = EvalOptions::default();
/// let first = ws.evaluate(&config, &inputs, &opts).unwrap();
/// let loss = first.loss;
/// ws.recycle(first); // its tobj and gradient buffers serve the next evaluation
/// assert!(ws.spare_bytes() > 0);
/// let again = ws.evaluate(&config, &inputs, &opts).unwrap();
/// assert_eq!(again.loss.to_bits(), loss.to_bits());
/// assert_eq!(again, evaluate(&config, &inputs, &opts).unwrap());
/// ```
#[derive(Debug, Default)]
pub struct Workspace {
    spare: Vec<Vec<f64>>,
    /// Per layer, the buffer of the vectorised builder's `cell_index` score tables. Kept
    /// because glibc hands freed memory back to the kernel once more than 128 KB lies free at
    /// the top of the heap, and a workspace's evaluations free nothing else large: without it
    /// every build page-faults the table back in (docs/performance.md, "Memory").
    table_scores: Vec<Vec<f64>>,
}

impl Workspace {
    /// An empty workspace: the first evaluation allocates as [`crate::evaluate`] does.
    pub fn new() -> Workspace {
        Workspace::default()
    }

    /// Keeps the large buffers of a finished evaluation (every `tobj` and gradient layer).
    pub fn recycle(&mut self, e: Evaluation) {
        for layer in e.layers {
            self.put(layer.tobj.into_raw_vec_and_offset().0);
        }
        for g in e.grad.obj {
            self.put(g.into_raw_vec_and_offset().0);
        }
    }

    /// Keeps the `tobj` buffers of targets that were not passed on to a loss.
    pub fn recycle_targets(&mut self, targets: Vec<LayerTargets>) {
        for t in targets {
            self.put(t.tobj.into_raw_vec_and_offset().0);
        }
    }

    /// Bytes held for reuse.
    pub fn spare_bytes(&self) -> usize {
        self.spare
            .iter()
            .chain(&self.table_scores)
            .map(|v| v.capacity() * size_of::<f64>())
            .sum()
    }

    pub(crate) fn put(&mut self, v: Vec<f64>) {
        if v.capacity() == 0 {
            return;
        }
        self.spare.push(v);
        if self.spare.len() > MAX_SPARE {
            self.spare.sort_by_key(|v| std::cmp::Reverse(v.capacity()));
            self.spare.truncate(MAX_SPARE);
        }
    }

    /// The score-table buffer of layer `l` kept from an earlier build (contents stale), or
    /// an empty one.
    pub(crate) fn take_table_scores(&mut self, l: usize) -> Vec<f64> {
        self.table_scores
            .get_mut(l)
            .map(std::mem::take)
            .unwrap_or_default()
    }

    /// Keeps the score-table buffer of layer `l` unless it holds more than
    /// [`MAX_TABLE_SCORES`] values (a batch of huge boxes does not pin its memory).
    pub(crate) fn put_table_scores(&mut self, l: usize, scores: Vec<f64>) {
        if scores.capacity() > MAX_TABLE_SCORES {
            return;
        }
        if self.table_scores.len() <= l {
            self.table_scores.resize_with(l + 1, Vec::new);
        }
        self.table_scores[l] = scores;
    }

    /// A spare buffer of `len` values with its old contents (the caller must write or zero
    /// every element): the smallest that fits, or `None`.
    pub(crate) fn take(&mut self, len: usize) -> Option<Vec<f64>> {
        let best = (0..self.spare.len())
            .filter(|&i| self.spare[i].capacity() >= len)
            .min_by_key(|&i| self.spare[i].capacity())?;
        let mut v = self.spare.swap_remove(best);
        // Only elements past the old length are written here (with zeros).
        v.truncate(len);
        v.resize(len, 0.0);
        Some(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_at_most_max_spare_buffers() {
        let mut ws = Workspace::new();
        for _ in 0..20 {
            ws.put(vec![0.0; 4]);
        }
        assert_eq!(ws.spare.len(), MAX_SPARE);
    }

    #[test]
    fn take_prefers_the_smallest_fit() {
        let mut ws = Workspace::new();
        ws.put(vec![1.0; 100]);
        ws.put(vec![2.0; 10]);
        let v = ws.take(8).unwrap();
        assert_eq!((v.len(), v[0]), (8, 2.0));
        assert!(ws.take(200).is_none());
        let v = ws.take(150 - 100).unwrap();
        assert_eq!((v.len(), v[0]), (50, 1.0));
        assert_eq!(ws.spare_bytes(), 0);
        ws.put(vec![3.0; 4]);
        ws.put(Vec::with_capacity(64));
        let v = ws.take(6).unwrap();
        assert_eq!(v, vec![0.0; 6]); // grown past its old length with zeros
    }
}
