// f64_check.wgsl: runs f64.wgsl's emulated addition on pairs of doubles, so that the tests can
// compare it bit for bit with the host's f64 addition. Prepended: math.wgsl, f64.wgsl.
// Wrapper: src/gpu/f64_check.rs.
//
// Bindings (group 0):
//   0  params  uniform              CheckParams
//   1  a       storage, read        vec2<u32> per pair: first operand (f64 bits: low, high)
//   2  b       storage, read        vec2<u32> per pair: second operand
//   3  sum     storage, read_write  vec2<u32> per pair: f64_add(a, b)
//
// Entry point: add, one invocation per pair.

struct CheckParams {
    n: u32,
    pad0: u32,
    pad1: u32,
    pad2: u32,
}

@group(0) @binding(0) var<uniform> params: CheckParams;
@group(0) @binding(1) var<storage, read> a: array<vec2<u32>>;
@group(0) @binding(2) var<storage, read> b: array<vec2<u32>>;
@group(0) @binding(3) var<storage, read_write> sum: array<vec2<u32>>;

@compute @workgroup_size(64)
fn add(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
       @builtin(local_invocation_id) lid: vec3<u32>) {
    let i = flat_id(wid, nwg, lid);
    if (i >= params.n) {
        return;
    }
    sum[i] = f64_add(a[i], b[i]);
}
