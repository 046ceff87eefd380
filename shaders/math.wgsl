// math.wgsl: f32 helpers that every kernel shares. src/gpu/shaders.rs prepends this file to
// each kernel's source before compiling it.
//
// Bindings: none (a library, not a kernel).
//
// The transcendental functions are written out here (range reduction plus a short series)
// instead of calling WGSL's exp / log / atan: the Vulkan precision rules allow, for example,
// 4096 ULP for atan and an absolute error of 2^-21 for log near 1, and drivers differ. These
// versions are accurate to a few ULP wherever the kernels use them, on every driver. Losses
// are formed so that no term cancels (see docs/gpu.md, "error budget").

const PI: f32 = 3.14159265358979;
const LN2_HI: f32 = 0.693145751953125;
const LN2_LO: f32 = 1.4286068203094173e-6;
const LOG2E: f32 = 1.4426950408889634;
// Smallest positive normal f32 and largest f32 below 1: the clamps that keep a soft score soft.
const MIN_NORMAL: f32 = 1.17549435e-38;
const BELOW_ONE: f32 = 0.99999994;
const ONE_BITS: u32 = 0x3f800000u;
// tobj_u holds U_KEY - bits(1 - t): the larger key, the smaller 1 - t; 0 = never written.
const U_KEY: u32 = 0x7f800000u;
// The cell classes, in the order of the host's CellClass::index (and of the totals).
const CLASS_POSITIVE: u32 = 0u;
const CLASS_NEGATIVE: u32 = 1u;
const CLASS_SOFT: u32 = 2u;
// YOLOv5's focal-loss alpha (loss::bce::FOCAL_ALPHA on the host).
const FOCAL_ALPHA: f32 = 0.25;

// The invocation index of a (possibly two-dimensional) dispatch of 64-wide workgroups.
fn flat_id(wid: vec3<u32>, nwg: vec3<u32>, lid: vec3<u32>) -> u32 {
    return (wid.y * nwg.x + wid.x) * 64u + lid.x;
}

// The workgroup index of a (possibly two-dimensional) dispatch.
fn group_id(wid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return wid.y * nwg.x + wid.x;
}

// e^x for x <= 88 (larger x are clamped; the kernels never pass them). Cody-Waite reduction
// x = n ln2 + r, |r| <= ln2 / 2, then a degree-7 Taylor polynomial (truncation < 6e-9).
fn exp_f(x_in: f32) -> f32 {
    let x = min(x_in, 88.0);
    if (x < -104.0) {
        return 0.0;
    }
    let n = round(x * LOG2E);
    let r = (x - n * LN2_HI) - n * LN2_LO;
    let p = 1.0 + r * (1.0 + r * (0.5 + r * (0.16666667 + r * (0.041666668 + r * (0.008333334
        + r * (0.0013888889 + r * 0.0001984127))))));
    return ldexp(p, i32(n));
}

// e^x - 1 without cancellation: a degree-9 Taylor polynomial for |x| < 0.35 (truncation
// < 1e-11 relative), exp_f(x) - 1 otherwise (where |e^x - 1| > 0.29).
fn expm1_f(x: f32) -> f32 {
    if (abs(x) < 0.35) {
        return x * (1.0 + x * (0.5 + x * (0.16666667 + x * (0.041666668 + x * (0.008333334
            + x * (0.0013888889 + x * (0.0001984127 + x * (2.4801587e-5 + x * 2.7557319e-6))))))));
    }
    return exp_f(x) - 1.0;
}

// ln(x) for normal x > 0: x = m 2^e with m in [sqrt(1/2), sqrt(2)), then
// ln m = 2 atanh(u), u = (m - 1) / (m + 1), |u| <= 0.1716 (series truncation < 1e-10).
fn ln_f(x: f32) -> f32 {
    let fe = frexp(x);
    var m = fe.fract;
    var e = f32(fe.exp);
    if (m < 0.70710678) {
        m = m * 2.0;
        e = e - 1.0;
    }
    let u = (m - 1.0) / (m + 1.0);
    let u2 = u * u;
    let s = 2.0 * u * (1.0 + u2 * (0.33333334 + u2 * (0.2 + u2 * (0.14285715 + u2 * (0.11111111
        + u2 * 0.09090909)))));
    return e * LN2_HI + (e * LN2_LO + s);
}

// ln(1 + z) for z > -1, accurate for small z: 2 atanh(z / (2 + z)) as a series when |z| < 0.4
// (|u| <= 0.25, truncation < 2e-11), otherwise ln_f(1 + z) (relative error < 2e-7).
fn log1p_f(z: f32) -> f32 {
    if (abs(z) < 0.4) {
        let u = z / (2.0 + z);
        let u2 = u * u;
        return 2.0 * u * (1.0 + u2 * (0.33333334 + u2 * (0.2 + u2 * (0.14285715 + u2 * (0.11111111
            + u2 * (0.09090909 + u2 * (0.07692308 + u2 * 0.06666667)))))));
    }
    return ln_f(1.0 + z);
}

// b^e for b >= 0, e >= 0, with 0^0 = 1 (as f64 powf).
fn pow_f(b: f32, e: f32) -> f32 {
    if (e == 0.0) {
        return 1.0;
    }
    if (b < MIN_NORMAL) {
        return 0.0;
    }
    return exp_f(e * ln_f(b));
}

// x^n by binary exponentiation, least significant bit first (docs/decisions.md item 1).
fn ipow_f(x: f32, n: u32) -> f32 {
    var r = 1.0;
    var b = x;
    var k = n;
    loop {
        if (k == 0u) {
            break;
        }
        if ((k & 1u) == 1u) {
            r = r * b;
        }
        b = b * b;
        k = k >> 1u;
    }
    return r;
}

// atan(x): reduced to [0, 1] by 1/x, then to |z| <= tan(pi/8) by (z - 1) / (z + 1), then the
// odd Taylor series to z^21 (truncation < 5e-10).
fn atan_f(x: f32) -> f32 {
    var z = abs(x);
    let inv = z > 1.0;
    if (inv) {
        z = 1.0 / z;
    }
    var off = 0.0;
    if (z > 0.41421356) {
        z = (z - 1.0) / (z + 1.0);
        off = PI / 4.0;
    }
    let z2 = z * z;
    let s = z * (1.0 + z2 * (-0.33333334 + z2 * (0.2 + z2 * (-0.14285715 + z2 * (0.11111111
        + z2 * (-0.09090909 + z2 * (0.07692308 + z2 * (-0.06666667 + z2 * (0.05882353
        + z2 * (-0.05263158 + z2 * 0.04761905))))))))));
    var r = off + s;
    if (inv) {
        r = PI / 2.0 - r;
    }
    return select(r, -r, x < 0.0);
}

// (sigmoid(x), sigmoid(-x)) = (p, 1 - p), each without cancellation.
fn sigmoid2(x: f32) -> vec2<f32> {
    let e = exp_f(-abs(x));
    let inv = 1.0 / (1.0 + e);
    if (x >= 0.0) {
        return vec2<f32>(inv, e * inv);
    }
    return vec2<f32>(e * inv, inv);
}

// BCE-with-logits of logit x, target t, positive weight w, wrapped in the YOLOv5 focal loss when
// gamma > 0; returns (loss, d loss / dx). The loss is written as
// (1 - t) softplus(x) + w t softplus(-x), which equals the spec's stable form
// (1 - t) x + (1 + (w - 1) t) (ln(1 + e^-|x|) + max(-x, 0)) but has no cancelling terms; the
// derivative (1 - t) p - w t (1 - p) likewise.
fn bce_element(x: f32, t: f32, w: f32, gamma: f32) -> vec2<f32> {
    let e = exp_f(-abs(x));
    let lp = log1p_f(e);
    let inv = 1.0 / (1.0 + e);
    var p = inv;
    var q1 = e * inv;
    if (x < 0.0) {
        p = e * inv;
        q1 = inv;
    }
    let l = (1.0 - t) * (max(x, 0.0) + lp) + w * t * (max(-x, 0.0) + lp);
    let g = (1.0 - t) * p - w * t * q1;
    if (gamma <= 0.0) {
        return vec2<f32>(l, g);
    }
    // Focal: alpha (1 - p_t)^gamma with 1 - p_t = t (1 - p) + (1 - t) p.
    let alpha = t * FOCAL_ALPHA + (1.0 - t) * (1.0 - FOCAL_ALPHA);
    let q = t * q1 + (1.0 - t) * p;
    let m = pow_f(q, gamma);
    var dm = 0.0;
    if (q > 0.0) {
        // gamma q^(gamma - 1) dq/dx with dq/dx = -(2t - 1) p (1 - p), written through m / q.
        dm = -gamma * m * (2.0 * t - 1.0) * (p * q1 / q);
    }
    return vec2<f32>(l * alpha * m, alpha * (g * m + l * dm));
}
