// obj_loss.wgsl: the objectness loss over every cell and its gradient, spec section 5:
// hard BCE with pos_weight (focal when fl_gamma > 0) on hard cells, loss1 / loss2 / loss3 on soft
// cells, each term over its own count. Prepended: math.wgsl. Wrapper: src/gpu/obj_loss.rs.
//
// Bindings (group 0):
//   0  params    uniform              ObjParams
//   1  pred      storage, read        f32 predictions of the chunk, [cells, no] row-major
//   2  tobj      storage, read        u32 per cell: the target t's f32 bit pattern
//   3  tobj_u    storage, read        u32 per cell: 1 - t as U_KEY - bits(1 - t), for
//                                     soft cells (soft_assign.wgsl)
//   4  totals    storage, read_write  atomic u32 [3] for the whole layer: positive, negative,
//                                     soft (written by count, read by loss)
//   5  grad      storage, read_write  f32 per cell: d loss / d x_obj, scaled
//   6  partials  storage, read_write  f32 [workgroups, 2]: the workgroup's hard and soft sums
//
// Entry points, in dispatch order, one invocation per cell (every chunk's count before any
// chunk's loss, since the loss scales need the layer's counts):
//   count  classifies its cell (soft assigner: 1, 0, else soft; YOLOv5: > 0, 0), reduces the
//          classes in workgroup memory and adds them to totals (integer atomics: exact).
//   loss   element loss and scaled gradient; the workgroup's sums are reduced in workgroup
//          memory as a fixed tree, so the partials do not depend on scheduling. The host adds
//          the partials in f64, in order.

struct ObjParams {
    n_cells: u32,       // cells of this chunk
    no: u32,
    soft_assigner: u32, // 1: soft classes; 0: YOLOv5 (every cell hard)
    soft_kind: u32,     // SOFT_LOSS1, SOFT_LOSS2 or SOFT_LOSS3
    layer_cells: u32,   // cells of the whole layer (the YOLOv5 hard count)
    pad0: u32,
    pad1: u32,
    pad2: u32,
    obj_pw: f32,
    fl_gamma: f32,
    obj_scale: f32,     // bs * obj * balance_i
    loss1_gamma: f32,
}

@group(0) @binding(0) var<uniform> params: ObjParams;
@group(0) @binding(1) var<storage, read> pred: array<f32>;
@group(0) @binding(2) var<storage, read> tobj: array<u32>;
@group(0) @binding(3) var<storage, read> tobj_u: array<u32>;
@group(0) @binding(4) var<storage, read_write> totals: array<atomic<u32>>;
@group(0) @binding(5) var<storage, read_write> grad: array<f32>;
@group(0) @binding(6) var<storage, read_write> partials: array<f32>;

// ObjParams.soft_kind: config.soft_loss.
const SOFT_LOSS1: u32 = 0u;
const SOFT_LOSS2: u32 = 1u;
const SOFT_LOSS3: u32 = 2u;
// The soft losses' guard against ln(0) (loss::soft on the host, spec section 5).
const SOFT_EPS: f32 = 1e-6;

var<workgroup> counts_wg: array<vec4<u32>, 64>;
var<workgroup> sums_wg: array<vec2<f32>, 64>;

// The cell's class: CLASS_POSITIVE, CLASS_NEGATIVE or CLASS_SOFT.
fn class_of(bits: u32) -> u32 {
    if (params.soft_assigner == 1u) {
        if (bits == ONE_BITS) {
            return CLASS_POSITIVE;
        }
        if (bits == 0u) {
            return CLASS_NEGATIVE;
        }
        return CLASS_SOFT;
    }
    return select(CLASS_POSITIVE, CLASS_NEGATIVE, bits == 0u);
}

// Soft-cell element loss at logit x, target t in (0, 1) with u = 1 - t, and its derivative
// (spec 5): loss2 = t ln((t + eps) / (p + eps)) + u ln((u + eps) / (1 - p + eps)), the spec's
// cross entropy minus entropy regrouped so that the near-equal logarithms never cancel, with
// t - p taken as (1 - p) - u when both are close to 1.
fn soft_element(x: f32, t: f32, u: f32) -> vec2<f32> {
    let s = sigmoid2(x);
    let p = s.x;
    let q1 = s.y; // 1 - p
    let dp = p * q1;
    if (params.soft_kind == SOFT_LOSS1) {
        let w = pow_f(u, params.loss1_gamma);
        let a = q1 + SOFT_EPS;
        return vec2<f32>(-w * ln_f(a), w * dp / a);
    }
    var tp = t - p;
    if (t > 0.5 && p > 0.5) {
        tp = q1 - u;
    }
    let l2 = t * log1p_f(tp / (p + SOFT_EPS)) + u * log1p_f(-tp / (q1 + SOFT_EPS));
    let g2 = dp * (u / (q1 + SOFT_EPS) - t / (p + SOFT_EPS));
    if (params.soft_kind == SOFT_LOSS2) {
        return vec2<f32>(l2, g2);
    }
    return vec2<f32>(u * l2, u * g2);
}

@compute @workgroup_size(64)
fn count(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
         @builtin(local_invocation_id) lid: vec3<u32>) {
    let i = flat_id(wid, nwg, lid);
    var c = vec4<u32>(0u);
    if (i < params.n_cells) {
        let k = class_of(tobj[i]);
        c[k] = 1u;
    }
    counts_wg[lid.x] = c;
    workgroupBarrier();
    for (var s = 32u; s > 0u; s = s >> 1u) {
        if (lid.x < s) {
            counts_wg[lid.x] = counts_wg[lid.x] + counts_wg[lid.x + s];
        }
        workgroupBarrier();
    }
    if (lid.x == 0u) {
        let t = counts_wg[0];
        if (t.x > 0u) { atomicAdd(&totals[CLASS_POSITIVE], t.x); }
        if (t.y > 0u) { atomicAdd(&totals[CLASS_NEGATIVE], t.y); }
        if (t.z > 0u) { atomicAdd(&totals[CLASS_SOFT], t.z); }
    }
}

@compute @workgroup_size(64)
fn loss(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
    let i = flat_id(wid, nwg, lid);
    var sums = vec2<f32>(0.0);
    if (i < params.n_cells) {
        let n_pos = atomicLoad(&totals[CLASS_POSITIVE]);
        let n_neg = atomicLoad(&totals[CLASS_NEGATIVE]);
        let n_soft = atomicLoad(&totals[CLASS_SOFT]);
        var n_hard = params.layer_cells;
        if (params.soft_assigner == 1u) {
            n_hard = n_pos + n_neg;
        }
        let bits = tobj[i];
        let t = bitcast<f32>(bits);
        let x = pred[i * params.no + 4u];
        if (params.soft_assigner == 1u && class_of(bits) == CLASS_SOFT) {
            let lg = soft_element(x, t, bitcast<f32>(U_KEY - tobj_u[i]));
            sums.y = lg.x;
            grad[i] = params.obj_scale / f32(n_soft) * lg.y;
        } else {
            let lg = bce_element(x, t, params.obj_pw, params.fl_gamma);
            sums.x = lg.x;
            grad[i] = params.obj_scale / f32(n_hard) * lg.y;
        }
    }
    sums_wg[lid.x] = sums;
    workgroupBarrier();
    for (var s = 32u; s > 0u; s = s >> 1u) {
        if (lid.x < s) {
            sums_wg[lid.x] = sums_wg[lid.x] + sums_wg[lid.x + s];
        }
        workgroupBarrier();
    }
    if (lid.x == 0u) {
        let g = group_id(wid, nwg);
        partials[2u * g] = sums_wg[0].x;
        partials[2u * g + 1u] = sums_wg[0].y;
    }
}
