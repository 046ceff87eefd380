// yolov5_assign.wgsl: the YOLOv5 assigner's objectness target, spec section 3:
// tobj = max(CIoU, 0) of each row at its clamped cell, the later row in emission order winning
// where rows share a cell. Prepended: math.wgsl, rows.wgsl. Wrapper: src/gpu/yolov5_assign.rs.
//
// Bindings (group 0):
//   0  params   uniform              Yolov5Params
//   1  rows     storage, read        BoxRow per row of the chunk, in emission order
//   2  row_out  storage, read        RowOut per row, written by box_cls.wgsl (CIoU first)
//   3  winner   storage, read_write  atomic u32 per cell: 1 + index of the last row at the cell
//   4  tobj     storage, read_write  atomic u32 per cell: the target's f32 bit pattern
//
// Entry points, in dispatch order, one invocation per row:
//   claim  atomicMax(winner[cell], row + 1)
//   write  the winning row stores max(CIoU, 0)

struct Yolov5Params {
    n_rows: u32,
    pad0: u32,
    pad1: u32,
    pad2: u32,
}

@group(0) @binding(0) var<uniform> params: Yolov5Params;
@group(0) @binding(1) var<storage, read> rows: array<BoxRow>;
@group(0) @binding(2) var<storage, read> row_out: array<RowOut>;
@group(0) @binding(3) var<storage, read_write> winner: array<atomic<u32>>;
@group(0) @binding(4) var<storage, read_write> tobj: array<atomic<u32>>;

@compute @workgroup_size(64)
fn claim(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
         @builtin(local_invocation_id) lid: vec3<u32>) {
    let r = flat_id(wid, nwg, lid);
    if (r >= params.n_rows) {
        return;
    }
    atomicMax(&winner[rows[r].cell], r + 1u);
}

@compute @workgroup_size(64)
fn write(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
         @builtin(local_invocation_id) lid: vec3<u32>) {
    let r = flat_id(wid, nwg, lid);
    if (r >= params.n_rows) {
        return;
    }
    let cell = rows[r].cell;
    if (atomicLoad(&winner[cell]) == r + 1u) {
        atomicStore(&tobj[cell], bitcast<u32>(max(row_out[r].ciou, 0.0)));
    }
}
