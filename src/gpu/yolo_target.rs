//! Wrapper of `shaders/yolo_target.wgsl`: the baseline assigner's objectness target.

use bytemuck::{Pod, Zeroable};

use super::{Compiled, Slot};

/// The binding table of `yolo_target.wgsl`: params, rows, row_out, winner, tobj.
const SLOTS: &[Slot] = &[
    Slot::Uniform,
    Slot::Read,
    Slot::Read,
    Slot::ReadWrite,
    Slot::ReadWrite,
];

/// `YoloParams` of the shader.
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable)]
pub(crate) struct YoloParams {
    pub n_rows: u32,
    pub pad: [u32; 3],
}

/// The buffers of one chunk, each with its size in bytes.
pub(crate) struct YoloBuffers<'a> {
    pub params: (&'a wgpu::Buffer, u64),
    pub rows: (&'a wgpu::Buffer, u64),
    pub row_out: (&'a wgpu::Buffer, u64),
    pub winner: (&'a wgpu::Buffer, u64),
    pub tobj: (&'a wgpu::Buffer, u64),
}

/// The compiled kernel.
pub(crate) struct YoloTarget {
    kernel: Compiled,
}

impl YoloTarget {
    pub(crate) fn new(device: &wgpu::Device) -> YoloTarget {
        YoloTarget {
            kernel: Compiled::new(device, "yolo_target", SLOTS, &["claim", "write"]),
        }
    }

    /// Records claim then write, one invocation per row, after `box_cls` has filled `row_out`.
    /// `winner` and `tobj` must have been cleared.
    pub(crate) fn encode(
        &self,
        device: &wgpu::Device,
        encoder: &mut wgpu::CommandEncoder,
        b: &YoloBuffers,
        p: &YoloParams,
        max_per_dim: u32,
    ) {
        if p.n_rows == 0 {
            return;
        }
        let group = self
            .kernel
            .bind(device, &[b.params, b.rows, b.row_out, b.winner, b.tobj]);
        let n = u64::from(p.n_rows);
        self.kernel
            .dispatch(encoder, "claim", &group, n, max_per_dim);
        self.kernel
            .dispatch(encoder, "write", &group, n, max_per_dim);
    }
}
