//! Hooks for the GPU tests (`tests/gpu/`): not part of the supported API, and hidden from the
//! documentation. They reach paths that ordinary inputs cannot (a two-dimensional dispatch of
//! a small input, a lost device, the emulated f64 addition on its own).
#![doc(hidden)]

use super::context::GpuContext;
use crate::error::Result;

/// Lowers (or restores, up to the device's limit) the workgroups per dispatch dimension of
/// `ctx`, so that small inputs take the two-dimensional dispatch path that large ones need.
pub fn set_dispatch_limit(ctx: &GpuContext, workgroups: u32) {
    ctx.set_dispatch_limit(workgroups);
}

/// Destroys the device of `ctx`, as a driver reset would; every later evaluation on it answers
/// [`GpuError::DeviceLost`](crate::error::GpuError::DeviceLost) (or the error that reports the
/// destroyed device).
pub fn destroy_device(ctx: &GpuContext) {
    ctx.device.destroy();
}

/// `a[i] + b[i]` by the shaders' emulated f64 addition (`shaders/f64.wgsl`), for
/// non-negative operands.
///
/// # Errors
/// [`Error::Gpu`](crate::Error::Gpu) on a device error, or when the slices differ in length or
/// are longer than the binding limit allows.
pub fn f64_add(ctx: &GpuContext, a: &[f64], b: &[f64]) -> Result<Vec<f64>> {
    ctx.f64_add(a, b)
}
