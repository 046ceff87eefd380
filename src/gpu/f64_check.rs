//! Wrapper of `shaders/f64_check.wgsl`: the emulated f64 addition on demand, so that the tests
//! can compare it bit for bit with the host's (run by [`super::testing::f64_add`]).

use bytemuck::{Pod, Zeroable};

use super::kernel::{Shader, Slot};

/// `shaders/f64_check.wgsl`.
pub(crate) struct F64Check;

impl Shader for F64Check {
    const NAME: &'static str = "f64_check";
    const BINDINGS: &'static [(&'static str, Slot)] = &[
        ("params", Slot::Uniform),
        ("a", Slot::Read),
        ("b", Slot::Read),
        ("sum", Slot::ReadWrite),
    ];
    const ENTRIES: &'static [&'static str] = &["add"];
    type Params = CheckParams;
}

/// `CheckParams` of the shader.
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable)]
pub(crate) struct CheckParams {
    pub(crate) n: u32,
    pub(crate) pad: [u32; 3],
}
