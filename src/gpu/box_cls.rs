//! Wrapper of `shaders/box_cls.wgsl`: CIoU box loss and class BCE of the rows, with gradients.

use bytemuck::{Pod, Zeroable};

use super::{Compiled, Slot};

/// The binding table of `box_cls.wgsl`: params, pred, rows, row_out, cls_grad.
const SLOTS: &[Slot] = &[
    Slot::Uniform,
    Slot::Read,
    Slot::Read,
    Slot::ReadWrite,
    Slot::ReadWrite,
];

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

/// `BoxRow` of the shader (also read by `yolo_target.wgsl`).
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable)]
pub(crate) struct BoxRow {
    pub cell: u32,
    pub cls: u32,
    pub anchor_w: f32,
    pub anchor_h: f32,
    pub tbox: [f32; 4],
}

/// `RowOut` of the shader.
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable)]
pub(crate) struct RowOut {
    pub ciou: f32,
    pub box_term: f32,
    pub cls_sum: f32,
    pub alpha: f32,
    pub grad: [f32; 4],
}

/// The buffers of one chunk, each with its size in bytes.
pub(crate) struct BoxBuffers<'a> {
    pub params: (&'a wgpu::Buffer, u64),
    pub pred: (&'a wgpu::Buffer, u64),
    pub rows: (&'a wgpu::Buffer, u64),
    pub row_out: (&'a wgpu::Buffer, u64),
    pub cls_grad: (&'a wgpu::Buffer, u64),
}

/// The compiled kernel.
pub(crate) struct BoxCls {
    kernel: Compiled,
}

impl BoxCls {
    pub(crate) fn new(device: &wgpu::Device) -> BoxCls {
        BoxCls {
            kernel: Compiled::new(device, "box_cls", SLOTS, &["main"]),
        }
    }

    /// Records one invocation per row.
    pub(crate) fn encode(
        &self,
        device: &wgpu::Device,
        encoder: &mut wgpu::CommandEncoder,
        b: &BoxBuffers,
        p: &BoxParams,
        max_per_dim: u32,
    ) {
        if p.n_rows == 0 {
            return;
        }
        let group = self
            .kernel
            .bind(device, &[b.params, b.pred, b.rows, b.row_out, b.cls_grad]);
        self.kernel
            .dispatch(encoder, "main", &group, u64::from(p.n_rows), max_per_dim);
    }
}
