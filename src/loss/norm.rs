//! How a layer's sums become its losses and gradient scales (spec sections 5 and 6): every loss
//! term is a mean over its set (rows, rows x classes, hard cells, soft cells), and an empty set
//! adds 0 instead of 0 / 0. Shared by the CPU loss and the GPU host.

/// `total / n`, or 0 when the set is empty: a layer's mean over `n` items, and the per-item
/// scale of its gradient (`gain * bs / n`).
///
/// ```
/// use soft_objectness::loss::norm::mean;
/// assert_eq!(mean(3.0, 2), 1.5);
/// assert_eq!(mean(3.0, 0), 0.0);
/// ```
#[inline]
pub fn mean(total: f64, n: u64) -> f64 {
    if n > 0 { total / n as f64 } else { 0.0 }
}

/// The class targets `(positive, negative)` with label smoothing `eps` (YOLOv5's
/// `smooth_BCE`): `(1 - eps / 2, eps / 2)`.
///
/// ```
/// use soft_objectness::loss::norm::class_targets;
/// assert_eq!(class_targets(0.0), (1.0, 0.0));
/// assert_eq!(class_targets(0.2), (0.9, 0.1));
/// ```
#[inline]
pub fn class_targets(eps: f64) -> (f64, f64) {
    (1.0 - 0.5 * eps, 0.5 * eps)
}
