//! Binary cross-entropy with logits (stable form, `pos_weight`) and the YOLOv5 focal wrapper,
//! each with its derivative with respect to the logit.

/// Focal-loss alpha of YOLOv5 v6.0.
pub const FOCAL_ALPHA: f64 = 0.25;

/// `sigmoid(x) = 1 / (1 + e^{-x})`.
#[inline]
pub fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// BCE-with-logits of logit `x`, target `t`, positive weight `w`, in the stable form
/// `(1 - t) x + (1 + (w - 1) t) (ln(1 + e^{-|x|}) + max(-x, 0))`.
///
/// ```
/// use soft_objectness::internals::loss::bce::bce_with_logits;
/// let x: f64 = 0.3;
/// let p = 1.0 / (1.0 + (-x).exp());
/// let naive = -(0.7 * p.ln() + 0.3 * (1.0 - p).ln());
/// assert!((bce_with_logits(x, 0.7, 1.0) - naive).abs() < 1e-15);
/// assert!(bce_with_logits(-1e4, 1.0, 1.0).is_finite());
/// ```
#[inline]
pub fn bce_with_logits(x: f64, t: f64, w: f64) -> f64 {
    (1.0 - t) * x + (1.0 + (w - 1.0) * t) * ((-x.abs()).exp().ln_1p() + (-x).max(0.0))
}

/// `d bce_with_logits / dx = (1 - t) - (1 + (w - 1) t) sigmoid(-x)`.
#[inline]
pub fn bce_with_logits_grad(x: f64, t: f64, w: f64) -> f64 {
    (1.0 - t) - (1.0 + (w - 1.0) * t) * sigmoid(-x)
}

/// BCE-with-logits, wrapped in the focal loss when `gamma > 0`:
/// `bce * (t alpha + (1 - t)(1 - alpha)) * (1 - p_t)^gamma`, `p_t = t p + (1 - t)(1 - p)`.
/// Returns the element loss and its derivative with respect to `x`.
///
/// ```
/// use soft_objectness::internals::loss::bce::{bce_element, bce_with_logits};
/// assert_eq!(bce_element(0.5, 1.0, 1.0, 0.0).0, bce_with_logits(0.5, 1.0, 1.0));
/// assert!(bce_element(0.5, 1.0, 1.0, 2.0).0 < bce_with_logits(0.5, 1.0, 1.0));
/// ```
#[inline]
pub fn bce_element(x: f64, t: f64, w: f64, gamma: f64) -> (f64, f64) {
    let l = bce_with_logits(x, t, w);
    let g = bce_with_logits_grad(x, t, w);
    if gamma <= 0.0 {
        return (l, g);
    }
    let p = sigmoid(x);
    let p_t = t * p + (1.0 - t) * (1.0 - p);
    let alpha = t * FOCAL_ALPHA + (1.0 - t) * (1.0 - FOCAL_ALPHA);
    let q = 1.0 - p_t;
    let m = q.powf(gamma);
    // d q / dx = -(2t - 1) p (1 - p); the limit of gamma q^(gamma-1) dq/dx at q = 0 is 0.
    let dm = if q > 0.0 {
        gamma * q.powf(gamma - 1.0) * (-(2.0 * t - 1.0) * p * (1.0 - p))
    } else {
        0.0
    };
    (l * alpha * m, alpha * (g * m + l * dm))
}

/// [`bce_element`] with one exponential shared by the loss and its derivative, bit for bit
/// the same result: `e = exp(-|x|)` feeds `ln(1 + e)`, and the derivative's
/// `sigmoid(-x) = 1 / (1 + exp(x))` reuses it where `x <= 0` (there `exp(x)` is `e`). The
/// focal wrapper (`gamma > 0`) goes through [`bce_element`] itself.
#[inline(always)]
pub fn bce_shared(x: f64, t: f64, w: f64, gamma: f64) -> (f64, f64) {
    if gamma > 0.0 {
        return bce_element(x, t, w, gamma);
    }
    let e = (-x.abs()).exp();
    let k = 1.0 + (w - 1.0) * t;
    let loss = (1.0 - t) * x + k * (e.ln_1p() + (-x).max(0.0));
    let ex = if x <= 0.0 { e } else { x.exp() };
    (loss, (1.0 - t) - k * (1.0 / (1.0 + ex)))
}

/// The loss part of [`bce_element`], bit for bit, without its derivative.
#[inline]
pub fn bce_loss(x: f64, t: f64, w: f64, gamma: f64) -> f64 {
    if gamma > 0.0 {
        return bce_element(x, t, w, gamma).0;
    }
    bce_with_logits(x, t, w)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shared-exponential BCE is bit for bit [`bce_element`], on both sides of 0, at the
    /// extremes, with every pos_weight and target the losses use.
    #[test]
    fn bce_shared_is_bce_element() {
        let mut xs = vec![
            0.0, -0.0, 1e-300, -1e-300, 0.5, -0.5, 30.0, -30.0, 709.0, 710.0, -745.0, -800.0, 1e6,
            -1e6,
        ];
        let mut s = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..20_000 {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let u = (s >> 11) as f64 / (1u64 << 53) as f64;
            xs.push((u - 0.5) * 40.0);
        }
        for &x in &xs {
            for t in [0.0, 1.0, 0.05, 0.95, 0.3] {
                for w in [1.0, 0.6, 1.8] {
                    for gamma in [0.0, 1.5] {
                        let (l1, g1) = bce_element(x, t, w, gamma);
                        let (l2, g2) = bce_shared(x, t, w, gamma);
                        assert_eq!(
                            l1.to_bits(),
                            l2.to_bits(),
                            "loss at x={x} t={t} w={w} gamma={gamma}"
                        );
                        assert_eq!(
                            g1.to_bits(),
                            g2.to_bits(),
                            "grad at x={x} t={t} w={w} gamma={gamma}"
                        );
                        assert_eq!(l1.to_bits(), bce_loss(x, t, w, gamma).to_bits());
                    }
                }
            }
        }
    }
}
