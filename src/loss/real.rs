//! The element types of predictions: f32 is widened to f64 one value at a time as it is read.

use crate::inputs::Logit;

/// A prediction element: f32 or f64, read as f64.
pub(crate) trait Real: Logit + Send + Sync + 'static {
    /// The value in f64 (exact).
    fn f(self) -> f64;
}

impl Real for f32 {
    #[inline]
    fn f(self) -> f64 {
        f64::from(self)
    }
}

impl Real for f64 {
    #[inline]
    fn f(self) -> f64 {
        self
    }
}
