//! IoU, GIoU, DIoU and CIoU of two `(x, y, w, h)` boxes (YOLOv5 `bbox_iou`, eps 1e-7) as
//! either release computes it (spec section 5), with the gradient with respect to the first
//! box.

use std::f64::consts::PI;

use crate::config::Ciou;

/// Epsilon of YOLOv5 v6.0 `bbox_iou`.
pub const EPS: f64 = 1e-7;

/// Which overlap measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IouKind {
    /// Intersection over union.
    Iou,
    /// Generalised IoU.
    GIou,
    /// Distance IoU.
    DIou,
    /// Complete IoU (CIoU's `alpha` is a constant for gradients, as in YOLOv5).
    CIou,
}

/// The value and `d value / d box1`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IouGrad {
    /// The measure.
    pub value: f64,
    /// Derivative with respect to `box1 = (x, y, w, h)`.
    pub grad: [f64; 4],
    /// CIoU's `alpha` (0 for the other kinds).
    pub alpha: f64,
}

/// The overlap measure of `box1` (prediction) and `box2` (target).
///
/// ```
/// use soft_objectness::loss::iou::{bbox_iou, IouKind};
/// let b = [1.0, 1.0, 2.0, 2.0];
/// assert!((bbox_iou(b, b, IouKind::CIou) - 1.0).abs() < 1e-6);
/// let far = [10.0, 10.0, 2.0, 2.0];
/// assert!(bbox_iou(b, far, IouKind::GIou) < 0.0);
/// ```
pub fn bbox_iou(box1: [f64; 4], box2: [f64; 4], kind: IouKind) -> f64 {
    bbox_iou_grad(box1, box2, kind).value
}

/// [`bbox_iou`] with its gradient with respect to `box1`, by reverse-mode differentiation of
/// the same expression (`clamp`, `min` and `max` pass the gradient to the selected operand).
pub fn bbox_iou_grad(box1: [f64; 4], box2: [f64; 4], kind: IouKind) -> IouGrad {
    bbox_iou_grad_with(box1, box2, kind, None)
}

/// [`bbox_iou_grad`] with CIoU's `alpha` given instead of computed (`None` computes it). With
/// the alpha of a base point held fixed, central finite differences of the value match the
/// gradient, which is how the gradient checks treat `alpha` as a constant. YOLOv5 v6.0's
/// formula ([`bbox_iou_grad_of`] chooses the release).
pub fn bbox_iou_grad_with(
    box1: [f64; 4],
    box2: [f64; 4],
    kind: IouKind,
    alpha: Option<f64>,
) -> IouGrad {
    bbox_iou_grad_of(Ciou::V6, box1, box2, kind, alpha)
}

/// [`bbox_iou_grad_with`] as YOLOv5 release `release` computes it. Both form the corners
/// `x -+ w / 2`; they differ in the sizes of `union` and CIoU's `v`: v6.0 recomputes them from
/// the corners with `eps` added to the heights, v7.0 takes them as given.
///
/// ```
/// use soft_objectness::config::Ciou;
/// use soft_objectness::loss::iou::{IouKind, bbox_iou_grad_of};
/// let (p, t) = ([1.2, 0.9, 2.0, 1.5], [1.0, 1.0, 2.2, 1.4]);
/// let v6 = bbox_iou_grad_of(Ciou::V6, p, t, IouKind::CIou, None).value;
/// let v7 = bbox_iou_grad_of(Ciou::V7, p, t, IouKind::CIou, None).value;
/// assert!(v6 != v7 && (v6 - v7).abs() < 1e-6);
/// ```
pub fn bbox_iou_grad_of(
    release: Ciou,
    box1: [f64; 4],
    box2: [f64; 4],
    kind: IouKind,
    alpha: Option<f64>,
) -> IouGrad {
    let [x1, y1, w1, h1] = box1;
    let [x2, y2, w2, h2] = box2;
    let (a1, a2, c1, c2) = (x1 - w1 / 2.0, x1 + w1 / 2.0, y1 - h1 / 2.0, y1 + h1 / 2.0);
    let (t1, t2, u1, u2) = (x2 - w2 / 2.0, x2 + w2 / 2.0, y2 - h2 / 2.0, y2 + h2 / 2.0);

    let iw_raw = a2.min(t2) - a1.max(t1);
    let ih_raw = c2.min(u2) - c1.max(u1);
    let (iw, ih) = (iw_raw.max(0.0), ih_raw.max(0.0));
    let inter = iw * ih;
    let (bw1, bh1, bw2, bh2) = match release {
        Ciou::V6 => (a2 - a1, c2 - c1 + EPS, t2 - t1, u2 - u1 + EPS),
        Ciou::V7 => (w1, h1, w2, h2),
    };
    let union = bw1 * bh1 + bw2 * bh2 - inter + EPS;
    let iou = inter / union;

    // Adjoints of the intermediate quantities.
    let mut g_iou = 1.0;
    let mut g_union = 0.0;
    let (mut g_bw1, mut g_bh1) = (0.0, 0.0);
    let (mut g_cw, mut g_ch) = (0.0, 0.0);
    let (mut g_a1, mut g_a2, mut g_c1, mut g_c2) = (0.0, 0.0, 0.0, 0.0);

    let mut alpha_out = 0.0;
    let cw = a2.max(t2) - a1.min(t1);
    let ch = c2.max(u2) - c1.min(u1);
    let value = match kind {
        IouKind::Iou => iou,
        IouKind::GIou => {
            let c_area = cw * ch + EPS;
            // giou = iou - (c_area - union) / c_area
            g_union += 1.0 / c_area;
            let g_c_area = -union / (c_area * c_area);
            g_cw += g_c_area * ch;
            g_ch += g_c_area * cw;
            iou - (c_area - union) / c_area
        }
        IouKind::DIou | IouKind::CIou => {
            let c2d = cw * cw + ch * ch + EPS;
            let ex = t1 + t2 - a1 - a2;
            let ey = u1 + u2 - c1 - c2;
            let rho2 = (ex * ex + ey * ey) / 4.0;
            // value = iou - rho2 / c2d [- v alpha]
            let g_rho2 = -1.0 / c2d;
            let g_c2d = rho2 / (c2d * c2d);
            g_cw += 2.0 * cw * g_c2d;
            g_ch += 2.0 * ch * g_c2d;
            let g_ex = g_rho2 * ex / 2.0;
            let g_ey = g_rho2 * ey / 2.0;
            g_a1 -= g_ex;
            g_a2 -= g_ex;
            g_c1 -= g_ey;
            g_c2 -= g_ey;
            if kind == IouKind::DIou {
                iou - rho2 / c2d
            } else {
                let k = 4.0 / (PI * PI);
                let r1 = bw1 / bh1;
                let dv = (bw2 / bh2).atan() - r1.atan();
                let v = k * (dv * dv);
                let alpha = alpha.unwrap_or_else(|| v / (v - iou + (1.0 + EPS)));
                alpha_out = alpha;
                let g_v = -alpha;
                let g_dv = g_v * k * 2.0 * dv;
                let g_r1 = -g_dv / (1.0 + r1 * r1);
                g_bw1 += g_r1 / bh1;
                // d r1 / d bh1 = -bw1 / bh1^2. v7.0's bh1 is the box height itself, and
                // `bh1 * bh1` underflows to 0 once bh1 < 1.5e-162 (tw, th logits below about
                // -187) while the gradient is still finite: there it is `-r1 / bh1`, which is
                // also how autograd's division rounds. v6.0's bh1 is at least eps.
                g_bh1 += match release {
                    Ciou::V6 => -g_r1 * bw1 / (bh1 * bh1),
                    Ciou::V7 => -g_r1 * r1 / bh1,
                };
                iou - (rho2 / c2d + v * alpha)
            }
        }
    };

    // iou = inter / union
    let mut g_inter = g_iou / union;
    g_union += -g_iou * inter / (union * union);
    g_iou = 0.0;
    let _ = g_iou;
    // union = bw1 * bh1 + bw2 * bh2 - inter + eps
    g_bw1 += g_union * bh1;
    g_bh1 += g_union * bw1;
    g_inter -= g_union;
    // inter = clamp0(iw_raw) * clamp0(ih_raw)
    let g_iw = if iw_raw >= 0.0 { g_inter * ih } else { 0.0 };
    let g_ih = if ih_raw >= 0.0 { g_inter * iw } else { 0.0 };
    if a2 <= t2 {
        g_a2 += g_iw;
    }
    if a1 >= t1 {
        g_a1 -= g_iw;
    }
    if c2 <= u2 {
        g_c2 += g_ih;
    }
    if c1 >= u1 {
        g_c1 -= g_ih;
    }
    // convex box
    if a2 >= t2 {
        g_a2 += g_cw;
    }
    if a1 <= t1 {
        g_a1 -= g_cw;
    }
    if c2 >= u2 {
        g_c2 += g_ch;
    }
    if c1 <= u1 {
        g_c1 -= g_ch;
    }
    // corners from centre and size; the sizes: v6.0 `bw1 = a2 - a1`, `bh1 = c2 - c1 + eps`,
    // v7.0 `bw1 = w1`, `bh1 = h1`
    let grad = match release {
        Ciou::V6 => {
            g_a2 += g_bw1;
            g_a1 -= g_bw1;
            g_c2 += g_bh1;
            g_c1 -= g_bh1;
            [
                g_a1 + g_a2,
                g_c1 + g_c2,
                (g_a2 - g_a1) / 2.0,
                (g_c2 - g_c1) / 2.0,
            ]
        }
        Ciou::V7 => [
            g_a1 + g_a2,
            g_c1 + g_c2,
            (g_a2 - g_a1) / 2.0 + g_bw1,
            (g_c2 - g_c1) / 2.0 + g_bh1,
        ],
    };
    IouGrad {
        value,
        grad,
        alpha: alpha_out,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// v7.0's heights are the box's own: below about 1.5e-162 `h * h` underflows to 0, yet the
    /// gradient is finite (the fixture exporter's torch module agrees on these inputs).
    #[test]
    fn v7_gradient_stays_finite_where_the_height_squared_underflows() {
        let t = [1.0, 1.0, 0.5, 0.5];
        for (w, h) in [
            (1e-87, 1e-217),
            (1e-170, 1e-170),
            (0.3, 1e-200),
            (1e-200, 0.3),
        ] {
            let g = bbox_iou_grad_of(Ciou::V7, [1.1, 0.9, w, h], t, IouKind::CIou, None);
            assert!(g.value.is_finite(), "value at w {w:e}, h {h:e}");
            assert!(
                g.grad.iter().all(|v| v.is_finite()),
                "{:?} at w {w:e}, h {h:e}",
                g.grad
            );
        }
    }

    /// With alpha held, central differences of the v7.0 value match its gradient.
    #[test]
    fn v7_gradient_matches_central_differences() {
        let (p, t) = ([1.2, 0.9, 2.0, 1.5], [1.0, 1.0, 2.2, 1.4]);
        let g = bbox_iou_grad_of(Ciou::V7, p, t, IouKind::CIou, None);
        let eps = 1e-6;
        for c in 0..4 {
            let (mut hi, mut lo) = (p, p);
            hi[c] += eps;
            lo[c] -= eps;
            let f = |b| bbox_iou_grad_of(Ciou::V7, b, t, IouKind::CIou, Some(g.alpha)).value;
            let fd = (f(hi) - f(lo)) / (2.0 * eps);
            assert!(
                (fd - g.grad[c]).abs() < 1e-8,
                "channel {c}: {fd} vs {}",
                g.grad[c]
            );
        }
    }
}
