//! Wrapper of `shaders/obj_loss.wgsl`: cell classes and counts, objectness loss and gradient.

use bytemuck::{Pod, Zeroable};

use super::{Compiled, Slot};

/// The binding table of `obj_loss.wgsl`: params, pred, tobj, tobj_u, totals, grad, partials.
const SLOTS: &[Slot] = &[
    Slot::Uniform,
    Slot::Read,
    Slot::Read,
    Slot::Read,
    Slot::ReadWrite,
    Slot::ReadWrite,
    Slot::ReadWrite,
];

/// `ObjParams` of the shader.
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable)]
pub(crate) struct ObjParams {
    pub n_cells: u32,
    pub no: u32,
    pub soft_assigner: u32,
    pub soft_kind: u32,
    pub layer_cells: u32,
    pub pad: [u32; 3],
    pub obj_pw: f32,
    pub fl_gamma: f32,
    pub obj_scale: f32,
    pub loss1_gamma: f32,
}

/// The buffers of one chunk (totals: of the layer), each with its size in bytes.
pub(crate) struct ObjBuffers<'a> {
    pub params: (&'a wgpu::Buffer, u64),
    pub pred: (&'a wgpu::Buffer, u64),
    pub tobj: (&'a wgpu::Buffer, u64),
    pub tobj_u: (&'a wgpu::Buffer, u64),
    pub totals: (&'a wgpu::Buffer, u64),
    pub grad: (&'a wgpu::Buffer, u64),
    pub partials: (&'a wgpu::Buffer, u64),
}

/// The compiled kernel.
pub(crate) struct ObjLoss {
    kernel: Compiled,
}

impl ObjLoss {
    pub(crate) fn new(device: &wgpu::Device) -> ObjLoss {
        ObjLoss {
            kernel: Compiled::new(device, "obj_loss", SLOTS, &["count", "loss"]),
        }
    }

    pub(crate) fn bind(&self, device: &wgpu::Device, b: &ObjBuffers) -> wgpu::BindGroup {
        self.kernel.bind(
            device,
            &[
                b.params, b.pred, b.tobj, b.tobj_u, b.totals, b.grad, b.partials,
            ],
        )
    }

    /// Records the count pass of one chunk (the layer's totals must have been cleared).
    pub(crate) fn encode_count(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        group: &wgpu::BindGroup,
        p: &ObjParams,
        max_per_dim: u32,
    ) {
        self.kernel
            .dispatch(encoder, "count", group, u64::from(p.n_cells), max_per_dim);
    }

    /// Records the loss pass of one chunk, after every chunk's count; returns the workgroups
    /// (the number of partial pairs written).
    pub(crate) fn encode_loss(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        group: &wgpu::BindGroup,
        p: &ObjParams,
        max_per_dim: u32,
    ) -> u64 {
        self.kernel
            .dispatch(encoder, "loss", group, u64::from(p.n_cells), max_per_dim)
    }
}
