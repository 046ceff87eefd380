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
/// use soft_objectness::internals::loss::iou::{bbox_iou, IouKind};
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
/// use soft_objectness::Ciou;
/// use soft_objectness::internals::loss::iou::{IouKind, bbox_iou_grad_of};
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
    let f = Forward::of(release, box1, box2);
    let mut g = Adjoints::default();
    let (value, alpha) = f.measure(release, kind, alpha, &mut g);
    IouGrad {
        value,
        grad: f.backward(release, g),
        alpha,
    }
}

/// The quantities of the forward pass that the measures and the gradient share.
struct Forward {
    /// `box1`'s corners: `x -+ w / 2` (`a1`, `a2`) and `y -+ h / 2` (`c1`, `c2`).
    a1: f64,
    a2: f64,
    c1: f64,
    c2: f64,
    /// `box2`'s corners, likewise.
    t1: f64,
    t2: f64,
    u1: f64,
    u2: f64,
    /// The intersection's width and height before and after the clamp at 0, and its area.
    iw_raw: f64,
    ih_raw: f64,
    iw: f64,
    ih: f64,
    inter: f64,
    /// The sizes that enter `union` and CIoU's `v` (the release's).
    bw1: f64,
    bh1: f64,
    bw2: f64,
    bh2: f64,
    union: f64,
    iou: f64,
    /// The width and height of the smallest box enclosing both.
    cw: f64,
    ch: f64,
}

/// `d value / d` each intermediate quantity, accumulated in reverse order of the forward pass.
#[derive(Default)]
struct Adjoints {
    union: f64,
    bw1: f64,
    bh1: f64,
    cw: f64,
    ch: f64,
    a1: f64,
    a2: f64,
    c1: f64,
    c2: f64,
}

impl Forward {
    fn of(release: Ciou, [x1, y1, w1, h1]: [f64; 4], [x2, y2, w2, h2]: [f64; 4]) -> Forward {
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
        let (cw, ch) = (a2.max(t2) - a1.min(t1), c2.max(u2) - c1.min(u1));
        Forward {
            a1,
            a2,
            c1,
            c2,
            t1,
            t2,
            u1,
            u2,
            iw_raw,
            ih_raw,
            iw,
            ih,
            inter,
            bw1,
            bh1,
            bw2,
            bh2,
            union,
            iou: inter / union,
            cw,
            ch,
        }
    }

    /// The measure `kind` and CIoU's `alpha` (0 for the other kinds), with the adjoints of
    /// its penalty term added to `g`.
    fn measure(
        &self,
        release: Ciou,
        kind: IouKind,
        alpha: Option<f64>,
        g: &mut Adjoints,
    ) -> (f64, f64) {
        let (iou, union, cw, ch) = (self.iou, self.union, self.cw, self.ch);
        match kind {
            IouKind::Iou => (iou, 0.0),
            IouKind::GIou => {
                let c_area = cw * ch + EPS;
                // giou = iou - (c_area - union) / c_area
                g.union += 1.0 / c_area;
                let g_c_area = -union / (c_area * c_area);
                g.cw += g_c_area * ch;
                g.ch += g_c_area * cw;
                (iou - (c_area - union) / c_area, 0.0)
            }
            IouKind::DIou => {
                let (rho2, c2d) = self.distance(g);
                (iou - rho2 / c2d, 0.0)
            }
            IouKind::CIou => {
                let (rho2, c2d) = self.distance(g);
                let (v, alpha) = self.aspect(release, alpha, g);
                (iou - (rho2 / c2d + v * alpha), alpha)
            }
        }
    }

    /// DIoU's penalty `rho2 / c2d` as its two parts (the squared distance of the centres and
    /// the squared diagonal of the enclosing box), with the adjoints of `- rho2 / c2d`.
    fn distance(&self, g: &mut Adjoints) -> (f64, f64) {
        let (cw, ch) = (self.cw, self.ch);
        let c2d = cw * cw + ch * ch + EPS;
        let ex = self.t1 + self.t2 - self.a1 - self.a2;
        let ey = self.u1 + self.u2 - self.c1 - self.c2;
        let rho2 = (ex * ex + ey * ey) / 4.0;
        let g_rho2 = -1.0 / c2d;
        let g_c2d = rho2 / (c2d * c2d);
        g.cw += 2.0 * cw * g_c2d;
        g.ch += 2.0 * ch * g_c2d;
        let g_ex = g_rho2 * ex / 2.0;
        let g_ey = g_rho2 * ey / 2.0;
        g.a1 -= g_ex;
        g.a2 -= g_ex;
        g.c1 -= g_ey;
        g.c2 -= g_ey;
        (rho2, c2d)
    }

    /// CIoU's aspect term: `v` and `alpha` (given, or computed from `v` and the IoU), with the
    /// adjoints of `- v * alpha` (`alpha` a constant).
    fn aspect(&self, release: Ciou, alpha: Option<f64>, g: &mut Adjoints) -> (f64, f64) {
        let (bw1, bh1) = (self.bw1, self.bh1);
        let k = 4.0 / (PI * PI);
        let r1 = bw1 / bh1;
        let dv = (self.bw2 / self.bh2).atan() - r1.atan();
        let v = k * (dv * dv);
        let alpha = alpha.unwrap_or_else(|| v / (v - self.iou + (1.0 + EPS)));
        let g_v = -alpha;
        let g_dv = g_v * k * 2.0 * dv;
        let g_r1 = -g_dv / (1.0 + r1 * r1);
        g.bw1 += g_r1 / bh1;
        // d r1 / d bh1 = -bw1 / bh1^2. v7.0's bh1 is the box height itself, and `bh1 * bh1`
        // underflows to 0 once bh1 < 1.5e-162 (tw, th logits below about -187) while the
        // gradient is still finite: there it is `-r1 / bh1`, which is also how autograd's
        // division rounds. v6.0's bh1 is at least eps.
        g.bh1 += match release {
            Ciou::V6 => -g_r1 * bw1 / (bh1 * bh1),
            Ciou::V7 => -g_r1 * r1 / bh1,
        };
        (v, alpha)
    }

    /// `d value / d box1` from the penalty's adjoints `g`: back through `iou = inter / union`,
    /// the union, the clamped intersection and the enclosing box (`min` and `max` pass the
    /// gradient to the selected operand) to the corners, then to `(x, y, w, h)`.
    fn backward(&self, release: Ciou, mut g: Adjoints) -> [f64; 4] {
        let f = self;
        // iou = inter / union, whose adjoint is 1.
        let g_iou = 1.0;
        let mut g_inter = g_iou / f.union;
        g.union += -g_iou * f.inter / (f.union * f.union);
        // union = bw1 * bh1 + bw2 * bh2 - inter + eps
        g.bw1 += g.union * f.bh1;
        g.bh1 += g.union * f.bw1;
        g_inter -= g.union;
        // inter = clamp0(iw_raw) * clamp0(ih_raw)
        let g_iw = if f.iw_raw >= 0.0 { g_inter * f.ih } else { 0.0 };
        let g_ih = if f.ih_raw >= 0.0 { g_inter * f.iw } else { 0.0 };
        if f.a2 <= f.t2 {
            g.a2 += g_iw;
        }
        if f.a1 >= f.t1 {
            g.a1 -= g_iw;
        }
        if f.c2 <= f.u2 {
            g.c2 += g_ih;
        }
        if f.c1 >= f.u1 {
            g.c1 -= g_ih;
        }
        // the enclosing box
        if f.a2 >= f.t2 {
            g.a2 += g.cw;
        }
        if f.a1 <= f.t1 {
            g.a1 -= g.cw;
        }
        if f.c2 >= f.u2 {
            g.c2 += g.ch;
        }
        if f.c1 <= f.u1 {
            g.c1 -= g.ch;
        }
        g.into_box(release)
    }
}

impl Adjoints {
    /// The corners' and sizes' adjoints carried to `(x, y, w, h)`: the corners are `x -+ w / 2`
    /// and `y -+ h / 2`; the sizes are v6.0's `bw1 = a2 - a1`, `bh1 = c2 - c1 + eps`, v7.0's
    /// `bw1 = w1`, `bh1 = h1`.
    fn into_box(mut self, release: Ciou) -> [f64; 4] {
        match release {
            Ciou::V6 => {
                self.a2 += self.bw1;
                self.a1 -= self.bw1;
                self.c2 += self.bh1;
                self.c1 -= self.bh1;
                [
                    self.a1 + self.a2,
                    self.c1 + self.c2,
                    (self.a2 - self.a1) / 2.0,
                    (self.c2 - self.c1) / 2.0,
                ]
            }
            Ciou::V7 => [
                self.a1 + self.a2,
                self.c1 + self.c2,
                (self.a2 - self.a1) / 2.0 + self.bw1,
                (self.c2 - self.c1) / 2.0 + self.bh1,
            ],
        }
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
