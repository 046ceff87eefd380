//! `exp` and `log1p` written so that a loop over a slice vectorises, and the BCE-with-logits of
//! spec section 5 built on them for the hot loops ([`bce_slice`]).
//!
//! # Method and error bound
//!
//! Both are the fdlibm algorithms (FreeBSD `e_exp.c` and `s_log1p.c`, the same constants, via
//! musl and the `libm` crate), written branch-free over the domain the loss uses:
//!
//! * [`exp_neg`]`(x)` for `x <= 0` (inputs above 0 are taken as 0, below -746 as -746, where
//!   the result is 0): `x = k ln2 + r`, `|r| <= ln2 / 2`, fdlibm's rational approximation of
//!   `exp(r)`, then `2^k` applied as `2^(k + 512)` (exact) and `2^-512` (one rounding, so
//!   subnormal results are rounded once). fdlibm: error below 1 ulp.
//! * [`log1p_unit`]`(e)` for `0 <= e <= 1`: below `sqrt(2) - 1`, `f = e` exactly; above,
//!   `1 + e = 2 (1 + f)` with the rounding of `1 + e` corrected by `c / u`, then fdlibm's
//!   polynomial in `s = f / (2 + f)`. fdlibm: error below 1 ulp.
//!
//! The tests compare both with glibc (itself within about 0.5 ulp) over the whole domain: the
//! largest difference measured is 1 ulp, and most results are the same bits.
//!
//! # Determinism
//!
//! Every element is a function of its own inputs through plain IEEE operations (`+ - * /`,
//! comparisons, bit casts; no fused multiply-add, which Rust never forms on its own), so it
//! gets the same bits in a vector lane or in the scalar tail, on any x86-64 (SSE2, AVX2 or
//! other) and on any other target: the result of a loop does not depend on where it is cut.
//! [`bce_slice`] runs an AVX2 copy of the same loop where the CPU has AVX2 (detected at run
//! time), only for speed.

/// `ln 2`, high part (trailing zeros, so `k * LN2_HI` is exact for `|k| < 2^20`).
const LN2_HI: f64 = f64::from_bits(0x3fe62e42_fee00000);
/// `ln 2 - LN2_HI`.
const LN2_LO: f64 = f64::from_bits(0x3dea39ef_35793c76);
/// `1 / ln 2`.
const INV_LN2: f64 = f64::from_bits(0x3ff71547_652b82fe);
/// `1.5 * 2^52`: adding it rounds a value of magnitude below `2^51` to an integer, which its
/// low mantissa bits then hold.
const SHIFT: f64 = 6_755_399_441_055_744.0;

// fdlibm e_exp.c
const P1: f64 = f64::from_bits(0x3FC55555_5555553E);
const P2: f64 = f64::from_bits(0xBF66C16C_16BEBD93);
const P3: f64 = f64::from_bits(0x3F11566A_AF25DE2C);
const P4: f64 = f64::from_bits(0xBEBBBD41_C5D26BF1);
const P5: f64 = f64::from_bits(0x3E663769_72BEA4D0);

// fdlibm e_log.c / s_log1p.c
const LG1: f64 = f64::from_bits(0x3FE55555_55555593);
const LG2: f64 = f64::from_bits(0x3FD99999_9997FA04);
const LG3: f64 = f64::from_bits(0x3FD24924_94229359);
const LG4: f64 = f64::from_bits(0x3FCC71C5_1D8E78AF);
const LG5: f64 = f64::from_bits(0x3FC74664_96CB03DE);
const LG6: f64 = f64::from_bits(0x3FC39A09_D078C69F);
const LG7: f64 = f64::from_bits(0x3FC2F112_DF3E5244);

/// `sqrt(2) - 1`: below it `log1p_unit` needs no reduction.
const SQRT2_M1: f64 = std::f64::consts::SQRT_2 - 1.0;
/// `2^-512`.
const TWO_M512: f64 = 7.458_340_731_200_207e-155;

/// `e^x` for `x <= 0` (see the module's documentation: below 1 ulp, same bits in any lane).
///
/// ```ignore
/// assert_eq!(exp_neg(0.0), 1.0);
/// assert_eq!(exp_neg(-800.0), 0.0);
/// ```
#[inline(always)]
pub(crate) fn exp_neg(x: f64) -> f64 {
    // Into [-746, 0]; NaN becomes 0 (its result is never used: inputs are validated).
    let x = if x < 0.0 { x } else { 0.0 };
    let x = if x > -746.0 { x } else { -746.0 };
    // k = round(x / ln2) in [-1077, 0], from the low bits of the shifted value.
    let shifted = x * INV_LN2 + SHIFT;
    let k = shifted.to_bits().wrapping_sub(SHIFT.to_bits());
    let kd = shifted - SHIFT;
    let hi = x - kd * LN2_HI;
    let lo = kd * LN2_LO;
    let r = hi - lo;
    let rr = r * r;
    let c = r - rr * (P1 + rr * (P2 + rr * (P3 + rr * (P4 + rr * P5))));
    let y = 1.0 + (r * c / (2.0 - c) - lo + hi);
    // 2^(k + 512) has a normal exponent for every k in range: y times it is exact, and the
    // final 2^-512 rounds once (into the subnormals where the result lies there).
    let scale = f64::from_bits(k.wrapping_add(1023 + 512) << 52);
    y * scale * TWO_M512
}

/// `ln(1 + e)` for `0 <= e <= 1`, given `u = 1 + e` (rounded) and `inv_u = 1 / u` (see the
/// module's documentation: below 1 ulp, same bits in any lane).
#[inline(always)]
pub(crate) fn log1p_unit(e: f64, u: f64, inv_u: f64) -> f64 {
    let small = e < SQRT2_M1;
    // Above sqrt(2) - 1: 1 + e = 2 (1 + f), u / 2 - 1 exact, and c = (1 + e) - u exact.
    let f = if small { e } else { u * 0.5 - 1.0 };
    let c = if small { 0.0 } else { (e - (u - 1.0)) * inv_u };
    let dk = if small { 0.0 } else { 1.0 };
    let hfsq = 0.5 * f * f;
    let s = f / (2.0 + f);
    let z = s * s;
    let w = z * z;
    let t1 = w * (LG2 + w * (LG4 + w * LG6));
    let t2 = z * (LG1 + w * (LG3 + w * (LG5 + w * LG7)));
    let r = t2 + t1;
    s * (hfsq + r) + (dk * LN2_LO + c) - hfsq + f + dk * LN2_HI
}

/// `ln(y)` for a positive normal `y` (the soft losses take it of `p + 1e-6` and the like:
/// `1e-6 <= y <= 1 + 1e-6`): fdlibm's `e_log.c`, `y = 2^k (1 + f)` with
/// `sqrt(2)/2 <= 1 + f < sqrt(2)` taken from the bits, then the polynomial of
/// [`log1p_unit`]. Below 1 ulp; same bits in any lane.
#[inline(always)]
pub(crate) fn ln_pos(y: f64) -> f64 {
    // Move the mantissa's cut from 1 to sqrt(2)/2: k is the exponent of y / (sqrt(2)/2).
    let ui = y.to_bits().wrapping_add((0x3ff0_0000 - 0x3fe6_a09e) << 32);
    let biased_k = ui >> 52;
    let m = f64::from_bits((ui & 0x000f_ffff_ffff_ffff).wrapping_add(0x3fe6_a09e << 32));
    // k as f64 without an integer conversion (exact: 2^52 + biased_k, minus 2^52 + 1023).
    let dk = f64::from_bits(0x4330_0000_0000_0000 | (biased_k & 0x7ff)) - (SHIFT / 1.5 + 1023.0);
    let f = m - 1.0;
    let hfsq = 0.5 * f * f;
    let s = f / (2.0 + f);
    let z = s * s;
    let w = z * z;
    let t1 = w * (LG2 + w * (LG4 + w * LG6));
    let t2 = z * (LG1 + w * (LG3 + w * (LG5 + w * LG7)));
    let r = t2 + t1;
    s * (hfsq + r) + dk * LN2_LO - hfsq + f + dk * LN2_HI
}

/// `EPS` of the soft losses (spec 5, faithful).
const SOFT_EPS: f64 = super::soft::EPS;

/// loss2 of spec 5 at logit `x`, target `t` (`BCE(t, p) - BCE(t, t)` with the `1e-6` guards)
/// and its derivative, as [`super::soft::soft_element`] computes it, with [`exp_neg`] and
/// [`ln_pos`]: `p = 1 / (1 + e)` for `x >= 0` (the reference's own formula, `e = exp(-x)`) and
/// `e / (1 + e)` below. `loss3` multiplies both by `1 - t` (loss3).
#[inline(always)]
fn soft2_one(x: f64, t: f64, loss3: bool) -> (f64, f64) {
    let e = exp_neg(-x.abs());
    let inv_u = 1.0 / (1.0 + e);
    let p = if x >= 0.0 { inv_u } else { e * inv_u };
    let dp = p * (1.0 - p);
    let (pe, qe) = (p + SOFT_EPS, 1.0 - p + SOFT_EPS);
    let cross = -t * ln_pos(pe) - (1.0 - t) * ln_pos(qe);
    let entropy = -t * ln_pos(t + SOFT_EPS) - (1.0 - t) * ln_pos(1.0 - t + SOFT_EPS);
    let g = (-t / pe + (1.0 - t) / qe) * dp;
    let l = cross - entropy;
    match loss3 {
        true => ((1.0 - t) * l, (1.0 - t) * g),
        false => (l, g),
    }
}

#[inline(always)]
fn soft2_loop(x: &[f64], t: &[f64], loss3: bool, loss: &mut [f64], grad: &mut [f64]) {
    let n = x.len();
    let (t, loss, grad) = (&t[..n], &mut loss[..n], &mut grad[..n]);
    for i in 0..n {
        let (l, g) = soft2_one(x[i], t[i], loss3);
        loss[i] = l;
        grad[i] = g;
    }
}

/// The BCE-with-logits element of spec section 5 (`gamma = 0`) and its derivative, with
/// [`exp_neg`] and [`log1p_unit`]: `e = exp(-|x|)`, the loss
/// `(1 - t) x + k (ln(1 + e) + max(-x, 0))`, `k = 1 + (w - 1) t`, and
/// `(1 - t) - k sigmoid(-x)` with `sigmoid(-x) = 1 / (1 + e)` for `x <= 0` and `e / (1 + e)`
/// above. The reference is [`super::bce::bce_element`] (glibc); this differs from it at the
/// ulp level.
#[inline(always)]
fn bce_one(x: f64, t: f64, w: f64) -> (f64, f64) {
    let e = exp_neg(-x.abs());
    let u = 1.0 + e;
    let inv_u = 1.0 / u;
    let lp = log1p_unit(e, u, inv_u);
    let k = 1.0 + (w - 1.0) * t;
    let neg = if x < 0.0 { -x } else { 0.0 };
    let loss = (1.0 - t) * x + k * (lp + neg);
    let sig = if x <= 0.0 { inv_u } else { e * inv_u };
    (loss, (1.0 - t) - k * sig)
}

#[inline(always)]
fn bce_loop(x: &[f64], t: &[f64], w: f64, loss: &mut [f64], grad: &mut [f64]) {
    let n = x.len();
    let (t, loss, grad) = (&t[..n], &mut loss[..n], &mut grad[..n]);
    for i in 0..n {
        let (l, g) = bce_one(x[i], t[i], w);
        loss[i] = l;
        grad[i] = g;
    }
}

/// The widest vector instructions this CPU has that the kernels are compiled for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Isa {
    Baseline,
    #[cfg(target_arch = "x86_64")]
    Avx2,
    #[cfg(target_arch = "x86_64")]
    Avx512,
}

/// Detected once (the standard library caches the CPU's features).
#[inline]
fn isa() -> Isa {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            return Isa::Avx512;
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            return Isa::Avx2;
        }
    }
    Isa::Baseline
}

/// `$name(args)` runs the loop `$body(args)` compiled for the widest [`Isa`] the CPU has. The
/// loops use no fused multiply-add and no approximate instruction (nothing the compiler may
/// choose by itself changes an IEEE result), so each element gets the same bits whichever
/// copy runs.
macro_rules! dispatch {
    ($(#[$doc:meta])* $name:ident => $body:ident ($($arg:ident: $ty:ty),*)) => {
        $(#[$doc])*
        pub(crate) fn $name($($arg: $ty),*) {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx2")]
                fn avx2($($arg: $ty),*) {
                    $body($($arg),*)
                }
                #[target_feature(enable = "avx512f")]
                fn avx512($($arg: $ty),*) {
                    $body($($arg),*)
                }
                match isa() {
                    // SAFETY: the CPU has AVX-512F (detected at run time by `isa`), the only
                    // requirement of this `target_feature` copy of the safe loop.
                    Isa::Avx512 => return unsafe { avx512($($arg),*) },
                    // SAFETY: the CPU has AVX2 (detected at run time by `isa`), likewise.
                    Isa::Avx2 => return unsafe { avx2($($arg),*) },
                    Isa::Baseline => {}
                }
            }
            $body($($arg),*)
        }
    };
}

dispatch! {
    /// The BCE-with-logits ([`bce_one`]: `gamma = 0`) of every `x[i]` with target `t[i]` and
    /// positive weight `w`: the loss into `loss[i]`, `d loss / d x[i]` into `grad[i]`. Each
    /// element's bits depend on that element alone (module documentation).
    ///
    /// # Panics
    /// When `t`, `loss` or `grad` is shorter than `x` (a bug of the caller, never user data).
    bce_slice => bce_loop(x: &[f64], t: &[f64], w: f64, loss: &mut [f64], grad: &mut [f64])
}

dispatch! {
    /// loss2 (or loss3 when `loss3`) of spec 5 and its derivative ([`soft2_one`]) of every
    /// `x[i]` with soft target `t[i]`, into `loss[i]` and `grad[i]`; per element bits, as
    /// [`bce_slice`].
    ///
    /// # Panics
    /// When `t`, `loss` or `grad` is shorter than `x` (a bug of the caller, never user data).
    soft2_slice => soft2_loop(x: &[f64], t: &[f64], loss3: bool, loss: &mut [f64], grad: &mut [f64])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loss::bce::bce_element;

    /// Distance in ulps between two finite f64 of the same sign (0 for equal bits).
    fn ulps(a: f64, b: f64) -> u64 {
        if a == b {
            return 0;
        }
        assert_eq!(a.is_sign_negative(), b.is_sign_negative(), "{a} {b}");
        a.to_bits().abs_diff(b.to_bits())
    }

    /// `ours` within 1 ulp of glibc's `theirs` at every point and equal to it at more than 9
    /// points in 10; prints the share.
    fn within_one_ulp_of_glibc(
        name: &str,
        points: &[f64],
        ours: impl Fn(f64) -> f64,
        theirs: impl Fn(f64) -> f64,
    ) {
        let mut same = 0;
        for &x in points {
            let (got, want) = (ours(x), theirs(x));
            let d = ulps(got, want);
            assert!(d <= 1, "{name}({x:e}): {got:e} vs glibc {want:e}, {d} ulps");
            same += usize::from(d == 0);
        }
        eprintln!("{name}: {same} of {} equal to glibc", points.len());
        assert!(
            same * 10 > points.len() * 9,
            "{same} of {} equal",
            points.len()
        );
    }

    fn lcg(s: &mut u64) -> f64 {
        *s = s
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (*s >> 11) as f64 / (1u64 << 53) as f64
    }

    /// exp_neg against glibc over its whole domain: a sweep of every range (uniform steps in
    /// each binade of |x| from 2^-60 to 746, the subnormal results, random points) is within
    /// 1 ulp, and at or below the tiniest magnitudes exactly equal.
    #[test]
    fn exp_neg_within_one_ulp_of_glibc() {
        let mut xs = vec![
            0.0,
            -0.0,
            -1e-300,
            -5e-324,
            -708.0,
            -708.396_418_532_264_1,
            -709.0,
        ];
        xs.extend([
            -744.0,
            -745.0,
            -745.1332191019411,
            -745.2,
            -746.0,
            -1e4,
            -3.4e38,
        ]);
        xs.extend([
            -f64::INFINITY,
            -0.5 * std::f64::consts::LN_2,
            -std::f64::consts::LN_2,
        ]);
        for b in -60..10 {
            let lo = 2f64.powi(b);
            for i in 0..2000 {
                let x = -(lo + lo * i as f64 / 2000.0);
                if x >= -746.0 {
                    xs.push(x);
                }
            }
        }
        let mut s = 1u64;
        for _ in 0..200_000 {
            xs.push(-746.0 * lcg(&mut s));
            xs.push(-40.0 * lcg(&mut s));
        }
        within_one_ulp_of_glibc("exp_neg", &xs, exp_neg, f64::exp);
        assert_eq!(exp_neg(1.0), 1.0, "positive inputs are taken as 0");
        assert!(
            exp_neg(f64::NAN).is_finite(),
            "NaN (never validated input) gives a number"
        );
    }

    /// log1p_unit against glibc over [0, 1]: every binade from 2^-1074 up, the reduction's
    /// boundary at sqrt(2) - 1, random points; within 1 ulp.
    #[test]
    fn log1p_unit_within_one_ulp_of_glibc() {
        let mut es = vec![
            0.0,
            5e-324,
            1e-310,
            f64::MIN_POSITIVE,
            1e-17,
            1.0,
            0.5,
            SQRT2_M1,
        ];
        let mut e = SQRT2_M1;
        for _ in 0..1000 {
            e = f64::from_bits(e.to_bits() + 1);
            es.push(e);
        }
        let mut e = SQRT2_M1;
        for _ in 0..1000 {
            e = f64::from_bits(e.to_bits() - 1);
            es.push(e);
        }
        for b in -1074..0 {
            let lo = 2f64.powi(b);
            for i in 0..200 {
                es.push(lo + lo * i as f64 / 200.0);
            }
        }
        let mut s = 2u64;
        for _ in 0..400_000 {
            es.push(lcg(&mut s));
        }
        let es: Vec<f64> = es.into_iter().map(|e| e.min(1.0)).collect();
        within_one_ulp_of_glibc(
            "log1p_unit",
            &es,
            |e| log1p_unit(e, 1.0 + e, 1.0 / (1.0 + e)),
            f64::ln_1p,
        );
    }

    /// ln_pos against glibc: every binade of the soft losses' range [1e-6, 1 + 1e-6] and
    /// beyond (2^-1022 to 2^1023), both sides of the reduction's cut at sqrt(2)/2, random
    /// points; within 1 ulp.
    #[test]
    fn ln_pos_within_one_ulp_of_glibc() {
        let mut ys = vec![1.0, 1e-6, 1.0 + 1e-6, 0.5, 2.0, f64::MIN_POSITIVE, f64::MAX];
        let cut = std::f64::consts::FRAC_1_SQRT_2;
        let (mut a, mut b) = (cut, cut);
        for _ in 0..1000 {
            (a, b) = (a.next_up(), b.next_down());
            ys.extend([a, b, 2.0 * a, 2.0 * b]);
        }
        for e in -1022..1023 {
            let lo = 2f64.powi(e);
            for i in 0..60 {
                ys.push(lo * (1.0 + i as f64 / 60.0));
            }
        }
        let mut s = 4u64;
        for _ in 0..300_000 {
            ys.push(lcg(&mut s) + 1e-6);
            ys.push(1e-6 * 10f64.powf(6.0 * lcg(&mut s)));
        }
        within_one_ulp_of_glibc("ln_pos", &ys, ln_pos, f64::ln);
    }

    /// The slice loss2 / loss3 against the reference `soft_element`: close to the ulp level
    /// over the logits and soft targets the loss meets (the guards keep every logarithm's
    /// argument at least 1e-6, so relative errors stay small).
    #[test]
    fn soft2_slice_close_to_soft_element() {
        use crate::config::SoftLoss;
        use crate::loss::soft::soft_element;
        let mut s = 5u64;
        let mut xs = vec![
            0.0, -0.0, 40.0, -40.0, 800.0, -800.0, 3.4e38, -3.4e38, 1e-300,
        ];
        let mut ts = vec![0.5, 0.5, 0.3, 0.7, 0.01, 0.99, 0.5, 0.5, 0.2];
        for _ in 0..100_000 {
            xs.push((lcg(&mut s) - 0.5) * 50.0);
            ts.push(lcg(&mut s).clamp(1e-9, 1.0 - 1e-9));
        }
        for (loss3, kind) in [(false, SoftLoss::Loss2), (true, SoftLoss::Loss3)] {
            let mut l = vec![0.0; xs.len()];
            let mut g = vec![0.0; xs.len()];
            soft2_slice(&xs, &ts, loss3, &mut l, &mut g);
            for i in 0..xs.len() {
                let (rl, rg) = soft_element(kind, xs[i], ts[i]);
                // One ulp of p moves `1 - p + 1e-6` (and `p + 1e-6`) by ulp(1) / 2 at most:
                // the formula's own sensitivity, which bounds how far two faithful
                // evaluations may differ.
                let p = crate::loss::bce::sigmoid(xs[i]);
                let sens = 1.0 + 1.0 / (p + 1e-6) + 1.0 / (1.0 - p + 1e-6);
                let tol = 8.0 * f64::EPSILON * sens;
                let (x, t) = (xs[i], ts[i]);
                assert!(
                    (l[i] - rl).abs() <= tol * (1.0 + rl.abs()),
                    "loss {x} {t}: {} {rl}",
                    l[i]
                );
                assert!(
                    (g[i] - rg).abs() <= tol * (1.0 + rg.abs()),
                    "grad {x} {t}: {} {rg}",
                    g[i]
                );
                let (mut l1, mut g1) = ([0.0], [0.0]);
                soft2_loop(&xs[i..=i], &ts[i..=i], loss3, &mut l1, &mut g1);
                assert_eq!(
                    (l1[0].to_bits(), g1[0].to_bits()),
                    (l[i].to_bits(), g[i].to_bits())
                );
            }
        }
    }

    /// Every compiled copy of the kernels gives the same bits (the CPU's widest and the
    /// baseline loop), on inputs of every kind, cut at every length up to 70.
    #[test]
    fn every_copy_gives_the_same_bits() {
        let mut s = 6u64;
        let xs: Vec<f64> = (0..4000).map(|_| (lcg(&mut s) - 0.5) * 90.0).collect();
        let ts: Vec<f64> = (0..4000).map(|i| [0.0, 1.0, lcg(&mut s)][i % 3]).collect();
        for n in 0..70 {
            let (x, t) = (&xs[n * 50..n * 50 + n], &ts[n * 50..n * 50 + n]);
            let (mut l1, mut g1, mut l2, mut g2) =
                (vec![0.0; n], vec![0.0; n], vec![0.0; n], vec![0.0; n]);
            bce_slice(x, t, 1.3, &mut l1, &mut g1);
            bce_loop(x, t, 1.3, &mut l2, &mut g2);
            assert_eq!(bits(&l1), bits(&l2));
            assert_eq!(bits(&g1), bits(&g2));
            soft2_slice(x, t, true, &mut l1, &mut g1);
            soft2_loop(x, t, true, &mut l2, &mut g2);
            assert_eq!(bits(&l1), bits(&l2));
            assert_eq!(bits(&g1), bits(&g2));
        }
    }

    fn bits(v: &[f64]) -> Vec<u64> {
        v.iter().map(|x| x.to_bits()).collect()
    }

    /// The slice BCE against the reference `bce_element`: within a few ulps in the loss and
    /// the gradient (relative to the terms' magnitudes), over the logits the loss meets.
    #[test]
    fn bce_slice_close_to_bce_element() {
        let mut xs = vec![
            0.0, -0.0, 1e-300, -1e-300, 0.5, -0.5, 30.0, -30.0, 709.0, 710.0,
        ];
        xs.extend([-745.0, -800.0, 1e6, -1e6, 3.4e38, -3.4e38, 36.7, -36.7]);
        let mut s = 3u64;
        for _ in 0..50_000 {
            xs.push((lcg(&mut s) - 0.5) * 60.0);
        }
        for t in [0.0, 1.0, 0.05, 0.95, 0.3] {
            for w in [1.0, 0.6, 1.8] {
                let ts = vec![t; xs.len()];
                let mut l = vec![0.0; xs.len()];
                let mut g = vec![0.0; xs.len()];
                bce_slice(&xs, &ts, w, &mut l, &mut g);
                for (i, &x) in xs.iter().enumerate() {
                    let (rl, rg) = bce_element(x, t, w, 0.0);
                    // The loss is (1 - t) x + k (softplus): the error scale is that of its
                    // largest part.
                    let scale = ((1.0 - t) * x).abs() + rl.abs() + f64::MIN_POSITIVE;
                    assert!(
                        (l[i] - rl).abs() <= 4.0 * f64::EPSILON * scale,
                        "loss x={x}"
                    );
                    assert!(
                        (g[i] - rg).abs() <= 4.0 * f64::EPSILON * (1.0 + w),
                        "grad x={x}"
                    );
                    // Per element bits, wherever the slice is cut.
                    let (mut l1, mut g1) = ([0.0], [0.0]);
                    bce_loop(&xs[i..=i], &ts[i..=i], w, &mut l1, &mut g1);
                    assert_eq!(l1[0].to_bits(), l[i].to_bits());
                    assert_eq!(g1[0].to_bits(), g[i].to_bits());
                }
            }
        }
    }
}
