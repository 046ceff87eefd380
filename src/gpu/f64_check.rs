//! Wrapper of `shaders/f64_check.wgsl`: the emulated f64 addition on demand, so that the tests
//! can compare it bit for bit with the host's.

use bytemuck::{Pod, Zeroable};

use super::pool::Role;
use super::{Compiled, ErrorScopes, GpuContext, Slot};
use crate::error::{Error, Result};

/// The binding table of `f64_check.wgsl`: params, a, b, sum.
const SLOTS: &[Slot] = &[Slot::Uniform, Slot::Read, Slot::Read, Slot::ReadWrite];

#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable)]
struct CheckParams {
    n: u32,
    pad: [u32; 3],
}

/// The compiled kernel.
pub(crate) struct F64Check {
    kernel: Compiled,
}

impl F64Check {
    pub(crate) fn new(device: &wgpu::Device) -> F64Check {
        F64Check {
            kernel: Compiled::new(device, "f64_check", SLOTS, &["add"]),
        }
    }
}

fn words(v: &[f64]) -> Vec<[u32; 2]> {
    v.iter()
        .map(|x| [x.to_bits() as u32, (x.to_bits() >> 32) as u32])
        .collect()
}

impl GpuContext {
    /// `a[i] + b[i]` by the shaders' emulated f64 addition (`shaders/f64.wgsl`), for
    /// non-negative operands. For the tests of the exactness strategy.
    ///
    /// # Errors
    /// [`Error::Gpu`] on a device error or when the slices differ in length or are too long.
    #[doc(hidden)]
    pub fn f64_add_on_device(&self, a: &[f64], b: &[f64]) -> Result<Vec<f64>> {
        if a.len() != b.len() || (a.len() as u64) * 8 > self.binding_limit() {
            return Err(Error::Gpu(format!(
                "f64 check: {} and {} operands",
                a.len(),
                b.len()
            )));
        }
        let mut state = self.lock()?;
        self.health()?;
        let scopes = ErrorScopes::push(&self.device);
        let bytes = (a.len() as u64 * 8).max(16);
        let storage = wgpu::BufferUsages::STORAGE
            | wgpu::BufferUsages::COPY_DST
            | wgpu::BufferUsages::COPY_SRC;
        let max = self.limits.max_buffer_size;
        let dev = &self.device;
        let params = state.pool.get(
            dev,
            (Role::Check, 0, 0),
            16,
            wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            max,
        );
        let ba = state
            .pool
            .get(dev, (Role::Check, 1, 0), bytes, storage, max);
        let bb = state
            .pool
            .get(dev, (Role::Check, 2, 0), bytes, storage, max);
        let out = state
            .pool
            .get(dev, (Role::Check, 3, 0), bytes, storage, max);
        let rb = state.pool.get(
            dev,
            (Role::Check, 4, 0),
            bytes,
            wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            max,
        );
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
        let kernel = &self.kernels.f64_check.kernel;
        let group = kernel.bind(
            dev,
            &[(&params, 16), (&ba, bytes), (&bb, bytes), (&out, bytes)],
        );
        let mut enc = dev.create_command_encoder(&wgpu::CommandEncoderDescriptor {
            label: Some("f64 check"),
        });
        kernel.dispatch(
            &mut enc,
            "add",
            &group,
            a.len() as u64,
            self.limits.max_compute_workgroups_per_dimension,
        );
        enc.copy_buffer_to_buffer(&out, 0, &rb, 0, bytes);
        self.queue.submit([enc.finish()]);
        let data = self.read_back(&[(rb, bytes)]);
        scopes.pop("f64 check")?;
        let data = data?;
        Ok(data[0]
            .chunks_exact(2)
            .take(a.len())
            .map(|p| f64::from_bits(u64::from(p[0]) | (u64::from(p[1]) << 32)))
            .collect())
    }
}
