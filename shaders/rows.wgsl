// rows.wgsl: the row records shared by box_cls.wgsl (which writes RowOut) and
// yolov5_assign.wgsl (which reads it). src/gpu/shaders.rs prepends this file to both.
//
// Bindings: none (declarations only). Host twins: BoxRow and RowOut in src/gpu/box_cls.rs.

// One row of the box and class losses.
struct BoxRow {
    cell: u32,      // the row's clamped cell in the chunk
    cls: u32,       // class
    anchor_w: f32,  // anchor, grid units
    anchor_h: f32,
    tx: f32,        // box target (gx - gi, gy - gj, gw, gh)
    ty: f32,
    tw: f32,
    th: f32,
}

// What box_cls.wgsl computes for one row.
struct RowOut {
    ciou: f32,
    box_term: f32,  // 1 - CIoU
    cls_sum: f32,   // the row's class BCE summed over the classes, in order
    alpha: f32,     // CIoU's alpha (a constant for gradients)
    g: vec4<f32>,   // scaled d loss / d (tx, ty, tw, th)
}
