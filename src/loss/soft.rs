//! The losses on soft cells (spec section 5), each with its derivative with respect to the
//! objectness logit. `p = sigmoid(x)`, `t` the soft target; the `1e-6` guards are faithful.

use super::bce::sigmoid;
use crate::config::SoftLoss;

/// The `1e-6` inside the logarithms of the soft losses (spec section 5, faithful).
pub const EPS: f64 = 1e-6;

/// The element loss of `kind` at logit `x`, target `t`, and `d loss / dx`.
///
/// ```
/// use soft_objectness::{SoftLoss, internals::loss::soft::soft_element};
/// // loss2 is (almost) zero where the prediction equals the target.
/// let t: f64 = 0.3;
/// let x = (t / (1.0 - t)).ln();
/// assert!(soft_element(SoftLoss::Loss2, x, t).0.abs() < 1e-5);
/// ```
#[inline]
pub fn soft_element(kind: SoftLoss, x: f64, t: f64) -> (f64, f64) {
    let p = sigmoid(x);
    let dp = p * (1.0 - p);
    match kind {
        SoftLoss::Loss1 { gamma } => {
            let w = (1.0 - t).powf(gamma);
            (-w * (1.0 - p + EPS).ln(), w * dp / (1.0 - p + EPS))
        }
        SoftLoss::Loss2 => loss2(p, dp, t),
        SoftLoss::Loss3 => {
            let (l, g) = loss2(p, dp, t);
            ((1.0 - t) * l, (1.0 - t) * g)
        }
    }
}

#[inline]
fn loss2(p: f64, dp: f64, t: f64) -> (f64, f64) {
    let cross = -t * (p + EPS).ln() - (1.0 - t) * (1.0 - p + EPS).ln();
    let entropy = -t * (t + EPS).ln() - (1.0 - t) * (1.0 - t + EPS).ln();
    let g = (-t / (p + EPS) + (1.0 - t) / (1.0 - p + EPS)) * dp;
    (cross - entropy, g)
}
