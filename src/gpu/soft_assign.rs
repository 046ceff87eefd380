//! Wrapper of `shaders/soft_assign.wgsl`: the soft assigner's claim, write and centre passes.

use bytemuck::{Pod, Zeroable};

use super::exact::{Interval, ScoreClasses};
use super::{Compiled, Slot};

/// The binding table of `soft_assign.wgsl`: params, rows, terms, classes, winner, tobj, tobj_u.
const SLOTS: &[Slot] = &[
    Slot::Uniform,
    Slot::Read,
    Slot::Read,
    Slot::Read,
    Slot::ReadWrite,
    Slot::ReadWrite,
    Slot::ReadWrite,
];

/// `SoftParams` of the shader.
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable)]
pub(crate) struct SoftParams {
    pub n_rows: u32,
    pub n_pairs: u32,
    pub nx: u32,
    pub ny: u32,
    pub overlap_max: u32,
    pub score_kind: u32,
    pub power_n: u32,
    pub two_sigma2: f32,
}

/// `SoftRow` of the shader.
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable)]
pub(crate) struct SoftRow {
    pub pair_start: u32,
    pub width: u32,
    pub height: u32,
    pub plane: u32,
    pub gi1: i32,
    pub gj1: i32,
    pub x_off: u32,
    pub y_off: u32,
    pub centre: u32,
    pub denom: f32,
    pub classes: u32,
    pub q_hi: f32,
    pub q_lo: f32,
    pub pad: [u32; 3],
}

/// `Term` of the shader: an f64 term's bit pattern.
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable)]
pub(crate) struct Term {
    pub lo: u32,
    pub hi: u32,
}

impl Term {
    pub(crate) fn of(x: f64) -> Term {
        let b = x.to_bits();
        Term {
            lo: b as u32,
            hi: (b >> 32) as u32,
        }
    }
}

/// `ScoreClasses` of the shader: four intervals of f64 bits, each `[lo, hi]` as (low, high)
/// word pairs.
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable)]
pub(crate) struct GpuClasses {
    words: [[u32; 2]; 8],
}

impl From<&ScoreClasses> for GpuClasses {
    fn from(c: &ScoreClasses) -> GpuClasses {
        let w = |v: u64| [v as u32, (v >> 32) as u32];
        let mut words = [[0; 2]; 8];
        for (k, i) in [c.skip, c.one_a, c.zero, c.one_b].iter().enumerate() {
            let Interval { lo, hi } = *i;
            words[2 * k] = w(lo);
            words[2 * k + 1] = w(hi);
        }
        GpuClasses { words }
    }
}

/// The buffers of one chunk, each with its size in bytes.
pub(crate) struct SoftBuffers<'a> {
    pub params: (&'a wgpu::Buffer, u64),
    pub rows: (&'a wgpu::Buffer, u64),
    pub terms: (&'a wgpu::Buffer, u64),
    pub classes: (&'a wgpu::Buffer, u64),
    pub winner: (&'a wgpu::Buffer, u64),
    pub tobj: (&'a wgpu::Buffer, u64),
    pub tobj_u: (&'a wgpu::Buffer, u64),
}

/// The compiled kernel.
pub(crate) struct SoftAssign {
    kernel: Compiled,
}

impl SoftAssign {
    pub(crate) fn new(device: &wgpu::Device) -> SoftAssign {
        SoftAssign {
            kernel: Compiled::new(
                device,
                "soft_assign",
                SLOTS,
                &["claim", "write", "settle", "centre"],
            ),
        }
    }

    /// Records the passes of one chunk: claim, then write (last_write) or settle (max) over the
    /// pairs, then the centres. `winner`, `tobj` and `tobj_u` must have been cleared.
    pub(crate) fn encode(
        &self,
        device: &wgpu::Device,
        encoder: &mut wgpu::CommandEncoder,
        b: &SoftBuffers,
        p: &SoftParams,
        max_per_dim: u32,
    ) {
        if p.n_rows == 0 {
            return;
        }
        let group = self.kernel.bind(
            device,
            &[
                b.params, b.rows, b.terms, b.classes, b.winner, b.tobj, b.tobj_u,
            ],
        );
        let pairs = u64::from(p.n_pairs);
        self.kernel
            .dispatch(encoder, "claim", &group, pairs, max_per_dim);
        let second = if p.overlap_max == 0 {
            "write"
        } else {
            "settle"
        };
        self.kernel
            .dispatch(encoder, second, &group, pairs, max_per_dim);
        self.kernel
            .dispatch(encoder, "centre", &group, u64::from(p.n_rows), max_per_dim);
    }
}
