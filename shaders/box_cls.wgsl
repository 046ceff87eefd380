// box_cls.wgsl: box (CIoU) and class losses of the matched rows and their gradients, spec
// section 5 and docs/decisions.md item 4. Prepended: math.wgsl, rows.wgsl. Wrapper: src/gpu/box_cls.rs.
//
// Bindings (group 0):
//   0  params    uniform              BoxParams
//   1  pred      storage, read        f32 predictions of the chunk, [cells, no] row-major
//   2  rows      storage, read        BoxRow per row of the chunk, in emission order
//   3  row_out   storage, read_write  RowOut per row: CIoU, 1 - CIoU, class-loss sum, CIoU's
//                                     alpha, the scaled gradient of tx, ty, tw, th
//   4  cls_grad  storage, read_write  f32 [rows, nc]: the scaled gradient of the class logits
//
// Entry point: main, one invocation per row.

struct BoxParams {
    n_rows: u32,
    no: u32,
    nc: u32,
    pad0: u32,
    cls_pw: f32,
    fl_gamma: f32,
    box_scale: f32, // -box * bs / n
    cls_scale: f32, // cls * bs / (n * nc)
    cp: f32,        // class target at the row's class
    cn: f32,        // class target elsewhere
    pad1: u32,
    pad2: u32,
}

@group(0) @binding(0) var<uniform> params: BoxParams;
@group(0) @binding(1) var<storage, read> pred: array<f32>;
@group(0) @binding(2) var<storage, read> rows: array<BoxRow>;
@group(0) @binding(3) var<storage, read_write> row_out: array<RowOut>;
@group(0) @binding(4) var<storage, read_write> cls_grad: array<f32>;

// loss::iou::EPS on the host.
const CIOU_EPS: f32 = 1e-7;

struct Ciou {
    value: f32,
    alpha: f32,
    grad: vec4<f32>, // d value / d (x, y, w, h) of box 1
}

// YOLOv5 v6.0 CIoU of box1 = (x, y, w, h) (prediction) and box2 (target) through the corners
// (docs/decisions.md item 4; widths and heights as given, see below), with its reverse-mode
// gradient with respect to box1 (alpha constant; clamp, min and max pass
// the gradient to the selected operand), as src/loss/iou.rs.
fn ciou_grad(b1: vec4<f32>, b2: vec4<f32>) -> Ciou {
    let a1 = b1.x - b1.z / 2.0;
    let a2 = b1.x + b1.z / 2.0;
    let c1 = b1.y - b1.w / 2.0;
    let c2 = b1.y + b1.w / 2.0;
    let t1 = b2.x - b2.z / 2.0;
    let t2 = b2.x + b2.z / 2.0;
    let u1 = b2.y - b2.w / 2.0;
    let u2 = b2.y + b2.w / 2.0;

    let iw_raw = min(a2, t2) - max(a1, t1);
    let ih_raw = min(c2, u2) - max(c1, u1);
    let iw = max(iw_raw, 0.0);
    let ih = max(ih_raw, 0.0);
    let inter = iw * ih;
    // The widths and heights are taken as given, not as corner differences: in f32,
    // (x + w/2) - (x - w/2) loses every digit of a tiny predicted box, whose aspect ratio then
    // drives v. The f64 oracle's corner differences equal w and h to ~1e-16.
    let bw1 = b1.z;
    let bh1 = b1.w + CIOU_EPS;
    let bw2 = b2.z;
    let bh2 = b2.w + CIOU_EPS;
    let uni = bw1 * bh1 + bw2 * bh2 - inter + CIOU_EPS;
    let iou = inter / uni;

    let cw = max(a2, t2) - min(a1, t1);
    let ch = max(c2, u2) - min(c1, u1);
    let c2d = cw * cw + ch * ch + CIOU_EPS;
    let ex = t1 + t2 - a1 - a2;
    let ey = u1 + u2 - c1 - c2;
    let rho2 = (ex * ex + ey * ey) / 4.0;
    let g_rho2 = -1.0 / c2d;
    let g_c2d = rho2 / (c2d * c2d);
    let g_cw = 2.0 * cw * g_c2d;
    let g_ch = 2.0 * ch * g_c2d;
    let g_ex = g_rho2 * ex / 2.0;
    let g_ey = g_rho2 * ey / 2.0;
    var g_a1 = -g_ex;
    var g_a2 = -g_ex;
    var g_c1 = -g_ey;
    var g_c2 = -g_ey;

    let k = 4.0 / (PI * PI);
    let r1 = bw1 / bh1;
    let dv = atan_f(bw2 / bh2) - atan_f(r1);
    let v = k * (dv * dv);
    let alpha = v / (v - iou + (1.0 + CIOU_EPS));
    let g_dv = -alpha * k * 2.0 * dv;
    let g_r1 = -g_dv / (1.0 + r1 * r1);
    var g_bw1 = g_r1 / bh1;
    var g_bh1 = -g_r1 * bw1 / (bh1 * bh1);
    let value = iou - (rho2 / c2d + v * alpha);

    var g_inter = 1.0 / uni;
    let g_union = -inter / (uni * uni);
    g_bw1 += g_union * bh1;
    g_bh1 += g_union * bw1;
    g_inter -= g_union;
    let g_iw = select(0.0, g_inter * ih, iw_raw >= 0.0);
    let g_ih = select(0.0, g_inter * iw, ih_raw >= 0.0);
    if (a2 <= t2) { g_a2 += g_iw; }
    if (a1 >= t1) { g_a1 -= g_iw; }
    if (c2 <= u2) { g_c2 += g_ih; }
    if (c1 >= u1) { g_c1 -= g_ih; }
    if (a2 >= t2) { g_a2 += g_cw; }
    if (a1 <= t1) { g_a1 -= g_cw; }
    if (c2 >= u2) { g_c2 += g_ch; }
    if (c1 <= u1) { g_c1 -= g_ch; }
    // The corners carry the position terms; bw1 = w and bh1 = h + eps pass straight to w and
    // h (never through a2 - a1, whose two huge opposite terms would cancel in x for a tiny box).
    var out: Ciou;
    out.value = value;
    out.alpha = alpha;
    out.grad = vec4<f32>(g_a1 + g_a2, g_c1 + g_c2, (g_a2 - g_a1) / 2.0 + g_bw1, (g_c2 - g_c1) / 2.0 + g_bh1);
    return out;
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
    let r = flat_id(wid, nwg, lid);
    if (r >= params.n_rows) {
        return;
    }
    let row = rows[r];
    let base = row.cell * params.no;
    let s0 = sigmoid2(pred[base]);
    let s1 = sigmoid2(pred[base + 1u]);
    let s2 = sigmoid2(pred[base + 2u]);
    let s3 = sigmoid2(pred[base + 3u]);
    let pbox = vec4<f32>(
        s0.x * 2.0 - 0.5,
        s1.x * 2.0 - 0.5,
        (s2.x * 2.0) * (s2.x * 2.0) * row.anchor_w,
        (s3.x * 2.0) * (s3.x * 2.0) * row.anchor_h,
    );
    let c = ciou_grad(pbox, vec4<f32>(row.tx, row.ty, row.tw, row.th));
    // d pbox / d logits; s (1 - s) is formed as sigmoid(x) sigmoid(-x).
    let dpbox = vec4<f32>(
        2.0 * s0.x * s0.y,
        2.0 * s1.x * s1.y,
        8.0 * s2.x * s2.x * s2.y * row.anchor_w,
        8.0 * s3.x * s3.x * s3.y * row.anchor_h,
    );
    var out: RowOut;
    out.ciou = c.value;
    out.box_term = 1.0 - c.value;
    out.g = params.box_scale * c.grad * dpbox;
    var cls_sum = 0.0;
    if (params.nc > 1u) {
        for (var k = 0u; k < params.nc; k = k + 1u) {
            let t = select(params.cn, params.cp, k == row.cls);
            let lg = bce_element(pred[base + 5u + k], t, params.cls_pw, params.fl_gamma);
            cls_sum += lg.x;
            cls_grad[r * params.nc + k] = params.cls_scale * lg.y;
        }
    }
    out.cls_sum = cls_sum;
    out.alpha = c.alpha;
    row_out[r] = out;
}
