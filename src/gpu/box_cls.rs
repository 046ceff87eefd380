//! Wrapper of `shaders/box_cls.wgsl`: CIoU box loss and class BCE of the rows, with gradients.

use bytemuck::{Pod, Zeroable};

use super::kernel::{Pass, Shader, Slot};

/// `shaders/box_cls.wgsl`.
pub(crate) struct BoxCls;

impl Shader for BoxCls {
    const NAME: &'static str = "box_cls";
    const BINDINGS: &'static [(&'static str, Slot)] = &[
        ("params", Slot::Uniform),
        ("pred", Slot::Read),
        ("rows", Slot::Read),
        ("row_out", Slot::ReadWrite),
        ("cls_grad", Slot::ReadWrite),
    ];
    const ENTRIES: &'static [&'static str] = &["main"];
    type Params = BoxParams;
}

/// `BoxParams` of the shader.
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable)]
pub(crate) struct BoxParams {
    pub n_rows: u32,
    pub no: u32,
    pub nc: u32,
    pub pad0: u32,
    pub cls_pw: f32,
    pub fl_gamma: f32,
    pub box_scale: f32,
    pub cls_scale: f32,
    pub cp: f32,
    pub cn: f32,
    pub pad1: u32,
    pub pad2: u32,
}

impl BoxParams {
    /// One invocation per row.
    pub(crate) fn passes(&self) -> [Pass; 1] {
        [Pass {
            entry: "main",
            n: u64::from(self.n_rows),
        }]
    }
}

/// `BoxRow` of `shaders/rows.wgsl` (read by `box_cls.wgsl` and `yolov5_assign.wgsl`).
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable)]
pub(crate) struct BoxRow {
    pub cell: u32,
    pub cls: u32,
    pub anchor_w: f32,
    pub anchor_h: f32,
    pub tbox: [f32; 4],
}

/// `RowOut` of `shaders/rows.wgsl`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, Pod, Zeroable)]
pub(crate) struct RowOut {
    pub ciou: f32,
    pub box_term: f32,
    pub cls_sum: f32,
    pub alpha: f32,
    pub grad: [f32; 4],
}
