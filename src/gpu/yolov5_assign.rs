//! Wrapper of `shaders/yolov5_assign.wgsl`: the YOLOv5 assigner's objectness target.

use bytemuck::{Pod, Zeroable};

use super::kernel::{Pass, Shader, Slot};

/// `shaders/yolov5_assign.wgsl`.
pub(crate) struct Yolov5Assign;

impl Shader for Yolov5Assign {
    const NAME: &'static str = "yolov5_assign";
    const BINDINGS: &'static [(&'static str, Slot)] = &[
        ("params", Slot::Uniform),
        ("rows", Slot::Read),
        ("row_out", Slot::Read),
        ("winner", Slot::ReadWrite),
        ("tobj", Slot::ReadWrite),
    ];
    const ENTRIES: &'static [&'static str] = &["claim", "write"];
    type Params = Yolov5Params;
}

/// `Yolov5Params` of the shader.
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable)]
pub(crate) struct Yolov5Params {
    pub n_rows: u32,
    pub pad: [u32; 3],
}

impl Yolov5Params {
    /// Claim then write, one invocation per row, after `box_cls` has filled `row_out`
    /// (`winner` and `tobj` cleared).
    pub(crate) fn passes(&self) -> [Pass; 2] {
        let n = u64::from(self.n_rows);
        [Pass { entry: "claim", n }, Pass { entry: "write", n }]
    }
}
