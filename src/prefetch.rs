//! Software prefetches for the gathers over the predictions: hints only, they never change a
//! result. Off x86-64 they do nothing.
//!
//! The loss reads one cache line per cell for its objectness logit (cells are `5 + nc`
//! values apart: 340 bytes at 80 classes) and a few lines of each row's cell, scattered.
//! The hardware prefetchers fetch neither in time (they stop at 4 KiB pages), so each would
//! be a demand miss. [`line`] asks for a line ahead of its use. With [`Hint::L2`] the request
//! is held by the L2's miss buffers, which are more than the L1's: a gather of every cell's
//! logit a few hundred cells ahead keeps that many lines in flight, more than the L1 can
//! (docs/performance.md has the measurements).

/// Where a prefetched line goes.
#[derive(Clone, Copy)]
pub(crate) enum Hint {
    /// Every cache level (`prefetcht0`).
    L1,
    /// The L2 and beyond, not the L1 (`prefetcht1`).
    L2,
}

/// Asks for the cache line of `data[i]`; nothing when `i` is past the end.
#[inline(always)]
pub(crate) fn line<T>(data: &[T], i: usize, hint: Hint) {
    #[cfg(target_arch = "x86_64")]
    if let Some(v) = data.get(i) {
        use std::arch::x86_64::{_MM_HINT_T0, _MM_HINT_T1, _mm_prefetch};
        let p = (v as *const T).cast::<i8>();
        // SAFETY: SSE is part of the x86-64 baseline, and a prefetch never faults (it is a
        // hint); the pointer comes from a reference into `data`, so it is valid anyway.
        unsafe {
            match hint {
                Hint::L1 => _mm_prefetch::<_MM_HINT_T0>(p),
                Hint::L2 => _mm_prefetch::<_MM_HINT_T1>(p),
            }
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (data, i, hint);
}
