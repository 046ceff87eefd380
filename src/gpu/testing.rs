//! Hooks for the GPU tests (`tests/gpu/`): not part of the supported API, and hidden from the
//! documentation. They reach paths that ordinary inputs cannot (a two-dimensional dispatch of
//! a small input, a lost device, the emulated f64 addition on its own).
#![doc(hidden)]

use super::context::{GpuContext, Inner};
use super::f64_check::CheckParams;
use super::kernel::{Binding, Pass};
use super::pool::{Pool, Role};
use super::scopes::ErrorScopes;
use super::soft_assign::Term;
use crate::error::{GpuError, Result};

/// Lowers (or restores, up to the device's limit) the workgroups per dispatch dimension of
/// `ctx`, so that small inputs take the two-dimensional dispatch path that large ones need.
pub fn set_dispatch_limit(ctx: &GpuContext, workgroups: u32) {
    ctx.set_dispatch_limit(workgroups);
}

/// Destroys the device of `ctx`, as a driver reset would; every later evaluation on it answers
/// [`GpuError::DeviceLost`](crate::error::GpuError::DeviceLost) (or the error that reports the
/// destroyed device).
pub fn destroy_device(ctx: &GpuContext) {
    ctx.inner().device.destroy();
}

/// `a[i] + b[i]` by the shaders' emulated f64 addition (`shaders/f64.wgsl`), for
/// non-negative operands.
///
/// # Errors
/// [`Error::Gpu`](crate::Error::Gpu) on a device error, or when the slices differ in length or
/// are longer than the binding limit allows.
pub fn f64_add(ctx: &GpuContext, a: &[f64], b: &[f64]) -> Result<Vec<f64>> {
    ctx.inner().f64_add(a, b)
}

/// The bit patterns of `v` as the shader reads them.
fn words(v: &[f64]) -> Vec<Term> {
    v.iter().map(|&x| Term::of(x)).collect()
}

const STORAGE: wgpu::BufferUsages = wgpu::BufferUsages::STORAGE
    .union(wgpu::BufferUsages::COPY_DST)
    .union(wgpu::BufferUsages::COPY_SRC);

const UNIFORM: wgpu::BufferUsages = wgpu::BufferUsages::UNIFORM.union(wgpu::BufferUsages::COPY_DST);
const READBACK: wgpu::BufferUsages =
    wgpu::BufferUsages::MAP_READ.union(wgpu::BufferUsages::COPY_DST);

impl Inner {
    /// `a[i] + b[i]` by the shaders' emulated f64 addition (`shaders/f64.wgsl`), for
    /// non-negative operands.
    pub(crate) fn f64_add(&self, a: &[f64], b: &[f64]) -> Result<Vec<f64>> {
        if a.len() != b.len() || (a.len() as u64) * 8 > self.binding_limit() {
            let message = format!("{} and {} operands", a.len(), b.len());
            return Err(GpuError::wgpu("f64 check", message).into());
        }
        let mut state = self.lock()?;
        self.health()?;
        let scopes = ErrorScopes::push(&self.device);
        let readback = self.submit_add(&mut state.pool, a, b);
        let data = self.read_back(&[readback]);
        scopes.pop("f64 check")?;
        Ok(data?[0]
            .chunks_exact(2)
            .take(a.len())
            .map(|p| f64::from_bits(u64::from(p[0]) | (u64::from(p[1]) << 32)))
            .collect())
    }

    /// Uploads the operands, records the addition and the copy of the sums, and submits;
    /// returns the readback buffer and its bytes.
    fn submit_add(&self, pool: &mut Pool, a: &[f64], b: &[f64]) -> (wgpu::Buffer, u64) {
        let bytes = (a.len() as u64 * 8).max(16);
        let (dev, max) = (&self.device, self.limits.max_buffer_size);
        let mut get = |slot, bytes, usage| pool.get(dev, (Role::Check, slot, 0), bytes, usage, max);
        let [params, ba, bb, out, rb] = [
            get(0, 16, UNIFORM),
            get(1, bytes, STORAGE),
            get(2, bytes, STORAGE),
            get(3, bytes, STORAGE),
            get(4, bytes, READBACK),
        ];
        let p = CheckParams {
            n: a.len() as u32,
            pad: [0; 3],
        };
        self.queue.write_buffer(&params, 0, bytemuck::bytes_of(&p));
        if !a.is_empty() {
            self.queue
                .write_buffer(&ba, 0, bytemuck::cast_slice(&words(a)));
            self.queue
                .write_buffer(&bb, 0, bytemuck::cast_slice(&words(b)));
        }
        let bindings = [
            Binding::new(&params, 16),
            Binding::new(&ba, bytes),
            Binding::new(&bb, bytes),
            Binding::new(&out, bytes),
        ];
        let mut enc = dev.create_command_encoder(&wgpu::CommandEncoderDescriptor {
            label: Some("f64 check"),
        });
        let pass = Pass {
            entry: "add",
            n: a.len() as u64,
        };
        let max_per_dim = self.limits.max_compute_workgroups_per_dimension;
        self.kernels
            .f64_check
            .encode(dev, &mut enc, &bindings, &[pass], max_per_dim);
        enc.copy_buffer_to_buffer(&out, 0, &rb, 0, bytes);
        self.queue.submit([enc.finish()]);
        (rb, bytes)
    }
}
