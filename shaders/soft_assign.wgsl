// soft_assign.wgsl: the soft assigner's per-(row, cell) work, spec section 4 rules 4 to 8.
// Prepended: math.wgsl, f64.wgsl. Wrapper: src/gpu/soft_assign.rs.
//
// Bindings (group 0):
//   0  params   uniform              SoftParams
//   1  rows     storage, read        SoftRow per matched row of the chunk, in write order
//                                    (stable largest-first), pair_start ascending
//   2  terms    storage, read        Term: each row's column terms X (width of them) and row
//                                    terms Y (height of them), as f64 bit patterns
//   3  classes  storage, read        ScoreClasses: the oracle's score class of S = X + Y
//   4  winner   storage, read_write  atomic u32 per cell: 1 + sequence number of its last writer
//   5  tobj     storage, read_write  atomic u32 per cell: the target t's f32 bit pattern
//   6  tobj_u   storage, read_write  atomic u32 per cell: 1 - t, stored as U_KEY - bits(1 - t)
//                                    (U_KEY in math.wgsl; 0 = never written)
//
// Entry points, in dispatch order:
//   claim   one invocation per (row, cell) pair. last_write: atomicMax(winner, seq + 1);
//           max: atomicMax(tobj, bits(t)) (f32 order is bit order for scores >= 0).
//   write   one per pair, last_write only: the pair whose seq + 1 won the cell stores t, 1 - t.
//   settle  one per pair, max only: the pairs whose t bits won the cell keep the smallest
//           1 - t (the largest score among those that round to the same f32).
//   centre  one per row: the row's clamped centre cell gets t = 1, 1 - t = 0.
// 1 - t is computed directly (an expm1 form) so that it keeps its relative precision for scores
// close to 1, where 1 - f32(t) would not; the soft losses use it wherever (1 - t) appears.
// The sequence number of a pair is its position in the write order of rules 3 and 4
// (rows largest first, then column offset outer, row offset inner), so the largest one that
// touches a cell is the spec's last write.

struct SoftParams {
    n_rows: u32,
    n_pairs: u32,
    nx: u32,
    ny: u32,
    overlap: u32,     // OVERLAP_LAST_WRITE or OVERLAP_MAX
    score_kind: u32,  // SCORE_POWER or SCORE_GAUSSIAN
    power_n: u32,
    two_sigma2: f32,  // 2 sigma^2
}

struct SoftRow {
    pair_start: u32, // sequence number of the row's first pair
    width: u32,
    height: u32,
    plane: u32,      // first cell of the row's (image, anchor) plane in the chunk
    gi1: i32,        // first column, unclamped (pre-clamped to +-2^30 on the host)
    gj1: i32,        // first row, unclamped
    x_off: u32,      // index of X(dw = 0) in terms
    y_off: u32,      // index of Y(dh = 0) in terms
    centre: u32,     // the clamped centre cell
    denom: f32,      // diagonal mode: the box diagonal; otherwise 1
    classes: u32,    // index into classes
    q_hi: f32,       // 4 denom^2 (the S of d = 2) as an f32 pair hi + lo
    q_lo: f32,
    pad0: u32,
    pad1: u32,
    pad2: u32,
}

struct Term {
    lo: u32, // f64 bit pattern, low word
    hi: u32, // f64 bit pattern, high word
}

// Closed intervals [lo, hi] of S (f64 bits); an empty one has lo > hi.
struct ScoreClasses {
    skip_lo: vec2<u32>,
    skip_hi: vec2<u32>,
    one_a_lo: vec2<u32>,
    one_a_hi: vec2<u32>,
    zero_lo: vec2<u32>,
    zero_hi: vec2<u32>,
    one_b_lo: vec2<u32>,
    one_b_hi: vec2<u32>,
}

@group(0) @binding(0) var<uniform> params: SoftParams;
@group(0) @binding(1) var<storage, read> rows: array<SoftRow>;
@group(0) @binding(2) var<storage, read> terms: array<Term>;
@group(0) @binding(3) var<storage, read> classes: array<ScoreClasses>;
@group(0) @binding(4) var<storage, read_write> winner: array<atomic<u32>>;
@group(0) @binding(5) var<storage, read_write> tobj: array<atomic<u32>>;
@group(0) @binding(6) var<storage, read_write> tobj_u: array<atomic<u32>>;

// SoftParams.overlap: config.overlap.
const OVERLAP_LAST_WRITE: u32 = 0u;
const OVERLAP_MAX: u32 = 1u;
// SoftParams.score_kind: config.score.
const SCORE_POWER: u32 = 0u;
const SCORE_GAUSSIAN: u32 = 1u;

fn u_key(u: f32) -> u32 {
    return U_KEY - bitcast<u32>(u);
}

struct Pair {
    row: u32,
    dw: u32,
    dh: u32,
    s: vec2<u32>, // S = X + Y, f64 bits
    cell: u32,
}

// The row owning pair p: the last row whose pair_start <= p.
fn find_row(p: u32) -> u32 {
    var lo = 0u;
    var hi = params.n_rows - 1u;
    loop {
        if (lo >= hi) {
            break;
        }
        let mid = hi - (hi - lo) / 2u;
        if (rows[mid].pair_start <= p) {
            lo = mid;
        } else {
            hi = mid - 1u;
        }
    }
    return lo;
}

fn locate(p: u32) -> Pair {
    var q: Pair;
    q.row = find_row(p);
    let r = rows[q.row];
    let local = p - r.pair_start;
    q.dw = local / r.height;
    q.dh = local - q.dw * r.height;
    let xt = terms[r.x_off + q.dw];
    let yt = terms[r.y_off + q.dh];
    q.s = f64_add(vec2<u32>(xt.lo, xt.hi), vec2<u32>(yt.lo, yt.hi));
    let ci = clamp(r.gi1 + i32(q.dw), 0, i32(params.nx) - 1);
    let cj = clamp(r.gj1 + i32(q.dh), 0, i32(params.ny) - 1);
    q.cell = r.plane + u32(cj) * params.nx + u32(ci);
    return q;
}

fn skipped(q: Pair) -> bool {
    let c = classes[rows[q.row].classes];
    return u64_in(q.s, c.skip_lo, c.skip_hi);
}

// (t, 1 - t) of a soft cell, each to f32 relative accuracy; t clamped into
// [MIN_NORMAL, BELOW_ONE] so that it stays soft.
fn soft_score(q: Pair, r: SoftRow) -> vec2<f32> {
    let sp = f64_to_f32_pair(q.s);
    let d = sqrt(sp.x) / r.denom;
    var t: f32;
    var u: f32;
    if (params.score_kind == SCORE_GAUSSIAN) {
        let x = -(d * d) / params.two_sigma2;
        t = exp_f(x);
        u = -expm1_f(x);
    } else {
        let b = d - 1.0;
        t = ipow_f(b, params.power_n);
        u = 1.0 - t;
        if (t > 0.5) {
            // 1 - |b|^n = -expm1(n ln(1 + e)) with e = |b| - 1: -d below d = 1, and above it
            // d - 2 = (S - 4 denom^2) / (denom (sqrt(S) + 2 denom)), S - 4 denom^2 in f32 pairs.
            var e = -d;
            if (b > 0.0) {
                e = ((sp.x - r.q_hi) + (sp.y - r.q_lo)) / (r.denom * (sqrt(sp.x) + 2.0 * r.denom));
            }
            u = -expm1_f(f32(params.power_n) * log1p_f(e));
        }
    }
    return vec2<f32>(clamp(t, MIN_NORMAL, BELOW_ONE), clamp(u, 0.0, 1.0));
}

// (bits of t, key of 1 - t) of a pair that is not skipped: exactly 1 or 0 where the oracle's
// f64 score is, otherwise the soft score.
fn cell_target(q: Pair) -> vec2<u32> {
    let r = rows[q.row];
    let c = classes[r.classes];
    if (u64_in(q.s, c.one_a_lo, c.one_a_hi) || u64_in(q.s, c.one_b_lo, c.one_b_hi)) {
        return vec2<u32>(ONE_BITS, u_key(0.0));
    }
    if (u64_in(q.s, c.zero_lo, c.zero_hi)) {
        return vec2<u32>(0u, u_key(1.0));
    }
    let tu = soft_score(q, r);
    return vec2<u32>(bitcast<u32>(tu.x), u_key(tu.y));
}

// Pair p, when it exists and is not skipped.
fn live_pair(p: u32, q: ptr<function, Pair>) -> bool {
    if (p >= params.n_pairs) {
        return false;
    }
    *q = locate(p);
    return !skipped(*q);
}

@compute @workgroup_size(64)
fn claim(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
         @builtin(local_invocation_id) lid: vec3<u32>) {
    let p = flat_id(wid, nwg, lid);
    var q: Pair;
    if (!live_pair(p, &q)) {
        return;
    }
    if (params.overlap == OVERLAP_MAX) {
        atomicMax(&tobj[q.cell], cell_target(q).x);
    } else {
        atomicMax(&winner[q.cell], p + 1u);
    }
}

@compute @workgroup_size(64)
fn write(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
         @builtin(local_invocation_id) lid: vec3<u32>) {
    let p = flat_id(wid, nwg, lid);
    var q: Pair;
    if (!live_pair(p, &q) || atomicLoad(&winner[q.cell]) != p + 1u) {
        return;
    }
    let v = cell_target(q);
    atomicStore(&tobj[q.cell], v.x);
    atomicStore(&tobj_u[q.cell], v.y);
}

@compute @workgroup_size(64)
fn settle(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
          @builtin(local_invocation_id) lid: vec3<u32>) {
    let p = flat_id(wid, nwg, lid);
    var q: Pair;
    if (!live_pair(p, &q)) {
        return;
    }
    let v = cell_target(q);
    if (atomicLoad(&tobj[q.cell]) == v.x) {
        atomicMax(&tobj_u[q.cell], v.y);
    }
}

@compute @workgroup_size(64)
fn centre(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
          @builtin(local_invocation_id) lid: vec3<u32>) {
    let k = flat_id(wid, nwg, lid);
    if (k >= params.n_rows) {
        return;
    }
    atomicStore(&tobj[rows[k].centre], ONE_BITS);
    atomicStore(&tobj_u[rows[k].centre], u_key(0.0));
}
