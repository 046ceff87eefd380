// f64.wgsl: IEEE 754 binary64 addition of two non-negative doubles, emulated with u32 pairs, so
// that the soft assigner can form the oracle's f64 sum S = X + Y bit for bit (docs/gpu.md,
// "exactness"). src/gpu/shaders.rs prepends this file to the kernels that need it.
//
// Bindings: none (a library, not a kernel).
//
// A double is vec2<u32>(low word, high word) of its bit pattern. For non-negative doubles the
// numeric order is the order of the bit patterns read as u64, which u64_lt compares.

const F64_EXP_INF: u32 = 0x7ffu;

fn u64_lt(a: vec2<u32>, b: vec2<u32>) -> bool {
    return a.y < b.y || (a.y == b.y && a.x < b.x);
}

// lo <= v <= hi.
fn u64_in(v: vec2<u32>, lo: vec2<u32>, hi: vec2<u32>) -> bool {
    return !u64_lt(v, lo) && !u64_lt(hi, v);
}

fn u64_add(a: vec2<u32>, b: vec2<u32>) -> vec2<u32> {
    let lo = a.x + b.x;
    let carry = select(0u, 1u, lo < a.x);
    return vec2<u32>(lo, a.y + b.y + carry);
}

// v << s for s in 0..=63 (WGSL shifts by the count modulo 32, hence the cases).
fn u64_shl(v: vec2<u32>, s: u32) -> vec2<u32> {
    if (s == 0u) {
        return v;
    }
    if (s >= 32u) {
        return vec2<u32>(0u, v.x << (s - 32u));
    }
    return vec2<u32>(v.x << s, (v.y << s) | (v.x >> (32u - s)));
}

// v >> s for s in 0..=63.
fn u64_shr(v: vec2<u32>, s: u32) -> vec2<u32> {
    if (s == 0u) {
        return v;
    }
    if (s >= 32u) {
        return vec2<u32>(v.y >> (s - 32u), 0u);
    }
    return vec2<u32>((v.x >> s) | (v.y << (32u - s)), v.y >> s);
}

// fl(x + y), round to nearest, ties to even, for non-negative finite or infinite x and y
// (subnormals included). Mantissas carry three extra bits (guard, round, sticky), enough for
// the addition of two numbers of the same sign.
fn f64_add(x: vec2<u32>, y: vec2<u32>) -> vec2<u32> {
    var a = x;
    var b = y;
    if (u64_lt(a, b)) {
        a = y;
        b = x;
    }
    if ((a.y >> 20u) >= F64_EXP_INF) {
        return a;
    }
    if (b.x == 0u && b.y == 0u) {
        return a;
    }
    var ea = a.y >> 20u;
    var eb = b.y >> 20u;
    var ma = vec2<u32>(a.x, a.y & 0xfffffu);
    var mb = vec2<u32>(b.x, b.y & 0xfffffu);
    if (ea == 0u) {
        ea = 1u;
    } else {
        ma.y = ma.y | 0x100000u;
    }
    if (eb == 0u) {
        eb = 1u;
    } else {
        mb.y = mb.y | 0x100000u;
    }
    ma = u64_shl(ma, 3u);
    mb = u64_shl(mb, 3u);
    let d = ea - eb;
    var bs = vec2<u32>(1u, 0u); // b non-zero and shifted out entirely: only the sticky bit
    if (d < 60u) {
        bs = u64_shr(mb, d);
        if (any(u64_shl(bs, d) != mb)) {
            bs.x = bs.x | 1u;
        }
    }
    var m = u64_add(ma, bs);
    var e = ea;
    if ((m.y & 0x1000000u) != 0u) {
        let lost = m.x & 1u;
        m = u64_shr(m, 1u);
        m.x = m.x | lost;
        e = e + 1u;
    }
    let grs = m.x & 7u;
    m = u64_shr(m, 3u);
    if (grs > 4u || (grs == 4u && (m.x & 1u) == 1u)) {
        m = u64_add(m, vec2<u32>(1u, 0u));
        if ((m.y & 0x200000u) != 0u) {
            m = u64_shr(m, 1u);
            e = e + 1u;
        }
    }
    if ((m.y & 0x100000u) == 0u) {
        e = 0u; // both operands subnormal and the sum still is
    }
    if (e >= F64_EXP_INF) {
        return vec2<u32>(0u, F64_EXP_INF << 20u);
    }
    return vec2<u32>(m.x, (e << 20u) | (m.y & 0xfffffu));
}

// A non-negative double as an unevaluated f32 sum hi + lo (48 significant bits): hi holds the
// top 24 bits of the mantissa, lo the next 29 rounded to f32. Doubles below the f32 normal range
// give (0, 0); above it, hi saturates at the largest f32.
fn f64_to_f32_pair(v: vec2<u32>) -> vec2<f32> {
    let e = i32((v.y >> 20u) & 0x7ffu) - 1023;
    if (e < -126) {
        return vec2<f32>(0.0, 0.0);
    }
    if (e > 127) {
        return vec2<f32>(3.4028235e38, 0.0);
    }
    let hi = bitcast<f32>((u32(e + 127) << 23u) | ((v.y & 0xfffffu) << 3u) | (v.x >> 29u));
    let lo = ldexp(f32(v.x & 0x1fffffffu), e - 52);
    return vec2<f32>(hi, lo);
}
