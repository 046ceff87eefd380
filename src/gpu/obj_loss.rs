//! Wrapper of `shaders/obj_loss.wgsl`: cell classes and counts, objectness loss and gradient.

use bytemuck::{Pod, Zeroable};

use super::kernel::{Pass, Shader, Slot};
use crate::config::SoftLoss;

/// `shaders/obj_loss.wgsl`.
pub(crate) struct ObjLoss;

impl Shader for ObjLoss {
    const NAME: &'static str = "obj_loss";
    const BINDINGS: &'static [(&'static str, Slot)] = &[
        ("params", Slot::Uniform),
        ("pred", Slot::Read),
        ("tobj", Slot::Read),
        ("tobj_u", Slot::Read),
        ("totals", Slot::ReadWrite),
        ("grad", Slot::ReadWrite),
        ("partials", Slot::ReadWrite),
    ];
    const ENTRIES: &'static [&'static str] = &["count", "loss"];
    type Params = ObjParams;
}

/// `SOFT_LOSS1` of the shader: `ObjParams::soft_kind` of [`SoftLoss::Loss1`].
pub(crate) const SOFT_LOSS1: u32 = 0;
/// `SOFT_LOSS2` of the shader.
pub(crate) const SOFT_LOSS2: u32 = 1;
/// `SOFT_LOSS3` of the shader.
pub(crate) const SOFT_LOSS3: u32 = 2;

/// The shader's code of a soft loss.
pub(crate) fn soft_kind(loss: SoftLoss) -> u32 {
    match loss {
        SoftLoss::Loss1 { .. } => SOFT_LOSS1,
        SoftLoss::Loss2 => SOFT_LOSS2,
        SoftLoss::Loss3 => SOFT_LOSS3,
    }
}

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

impl ObjParams {
    /// The count pass of one chunk (the layer's totals cleared).
    pub(crate) fn count(&self) -> Pass {
        Pass {
            entry: "count",
            n: u64::from(self.n_cells),
        }
    }

    /// The loss pass of one chunk, after every chunk's count.
    pub(crate) fn loss(&self) -> Pass {
        Pass {
            entry: "loss",
            n: u64::from(self.n_cells),
        }
    }
}
