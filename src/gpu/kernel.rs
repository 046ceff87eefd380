//! The one shape every kernel wrapper has: a shader file described by a [`Shader`] (its binding
//! table, its entry points, its parameter record), compiled once into a [`Kernel`] that binds
//! buffers in binding order and records dispatches of 64-wide workgroups.

use std::marker::PhantomData;

use bytemuck::Pod;

use super::shaders;

/// How a binding is declared in a kernel's WGSL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Slot {
    /// `var<uniform>`.
    Uniform,
    /// `var<storage, read>`.
    Read,
    /// `var<storage, read_write>`.
    ReadWrite,
}

/// A kernel file as the host sees it: written out from the binding table at the top of the
/// `.wgsl` file.
pub(crate) trait Shader {
    /// The file's stem in `shaders/` (and its name in the kernel table).
    const NAME: &'static str;
    /// Every binding of group 0, in binding order: its name in the WGSL and its declaration.
    const BINDINGS: &'static [(&'static str, Slot)];
    /// The entry points.
    const ENTRIES: &'static [&'static str];
    /// The record at binding 0 (`var<uniform> params`).
    type Params: Pod;
}

/// A buffer bound to one slot, with the bytes bound (at least 16, rounded up to 16).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Binding<'a> {
    pub buffer: &'a wgpu::Buffer,
    pub bytes: u64,
}

impl<'a> Binding<'a> {
    pub(crate) fn new(buffer: &'a wgpu::Buffer, bytes: u64) -> Binding<'a> {
        Binding { buffer, bytes }
    }
}

/// One dispatch of an entry point over `n` invocations.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Pass {
    pub entry: &'static str,
    pub n: u64,
}

/// A shader file compiled: its bind-group layout and a pipeline per entry point.
pub(crate) struct Kernel<S: Shader> {
    layout: wgpu::BindGroupLayout,
    pipelines: Vec<(&'static str, wgpu::ComputePipeline)>,
    shader: PhantomData<S>,
}

impl<S: Shader> Kernel<S> {
    /// Compiles the file's full source (with its preludes) and every entry point. Errors are
    /// reported through the device's error scopes.
    pub(crate) fn new(device: &wgpu::Device) -> Kernel<S> {
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some(S::NAME),
            source: wgpu::ShaderSource::Wgsl(shaders::full_source(S::NAME).into()),
        });
        let entries: Vec<wgpu::BindGroupLayoutEntry> = S::BINDINGS
            .iter()
            .enumerate()
            .map(|(i, &(_, slot))| layout_entry(i as u32, slot))
            .collect();
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some(S::NAME),
            entries: &entries,
        });
        let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some(S::NAME),
            bind_group_layouts: &[Some(&layout)],
            immediate_size: 0,
        });
        let pipelines = S::ENTRIES
            .iter()
            .map(|&entry| {
                (
                    entry,
                    pipeline(device, &pipeline_layout, &module, S::NAME, entry),
                )
            })
            .collect();
        Kernel {
            layout,
            pipelines,
            shader: PhantomData,
        }
    }

    /// A bind group of one buffer per binding, in binding order.
    pub(crate) fn bind(&self, device: &wgpu::Device, buffers: &[Binding]) -> wgpu::BindGroup {
        debug_assert_eq!(
            buffers.len(),
            S::BINDINGS.len(),
            "{}: one buffer per binding",
            S::NAME
        );
        let entries: Vec<wgpu::BindGroupEntry> = buffers
            .iter()
            .enumerate()
            .map(|(i, b)| wgpu::BindGroupEntry {
                binding: i as u32,
                resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                    buffer: b.buffer,
                    offset: 0,
                    size: wgpu::BufferSize::new(b.bytes.max(16).next_multiple_of(16)),
                }),
            })
            .collect();
        device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some(S::NAME),
            layout: &self.layout,
            entries: &entries,
        })
    }

    /// Records `n` invocations of `entry` (64 per workgroup; a second grid dimension when the
    /// first would exceed `max_per_dim`), in a compute pass of its own so that the passes are
    /// ordered. Returns the number of workgroups (`0` when `n == 0`).
    pub(crate) fn dispatch(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        group: &wgpu::BindGroup,
        pass: Pass,
        max_per_dim: u32,
    ) -> u64 {
        if pass.n == 0 {
            return 0;
        }
        let (x, y) = grid_of(pass.n, max_per_dim);
        let pipeline = &self
            .pipelines
            .iter()
            .find(|(e, _)| *e == pass.entry)
            .expect("every entry point is compiled")
            .1;
        let mut cpass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: Some(pass.entry),
            timestamp_writes: None,
        });
        cpass.set_pipeline(pipeline);
        cpass.set_bind_group(0, group, &[]);
        cpass.dispatch_workgroups(x, y, 1);
        u64::from(x) * u64::from(y)
    }

    /// Binds `buffers` and records `passes` in order.
    pub(crate) fn encode(
        &self,
        device: &wgpu::Device,
        encoder: &mut wgpu::CommandEncoder,
        buffers: &[Binding],
        passes: &[Pass],
        max_per_dim: u32,
    ) {
        let group = self.bind(device, buffers);
        for &pass in passes {
            self.dispatch(encoder, &group, pass, max_per_dim);
        }
    }
}

fn layout_entry(binding: u32, slot: Slot) -> wgpu::BindGroupLayoutEntry {
    let ty = match slot {
        Slot::Uniform => wgpu::BufferBindingType::Uniform,
        Slot::Read => wgpu::BufferBindingType::Storage { read_only: true },
        Slot::ReadWrite => wgpu::BufferBindingType::Storage { read_only: false },
    };
    wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::COMPUTE,
        ty: wgpu::BindingType::Buffer {
            ty,
            has_dynamic_offset: false,
            min_binding_size: None,
        },
        count: None,
    }
}

fn pipeline(
    device: &wgpu::Device,
    layout: &wgpu::PipelineLayout,
    module: &wgpu::ShaderModule,
    name: &str,
    entry: &str,
) -> wgpu::ComputePipeline {
    let label = format!("{name}::{entry}");
    device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
        label: Some(&label),
        layout: Some(layout),
        module,
        entry_point: Some(entry),
        compilation_options: Default::default(),
        cache: None,
    })
}

/// Workgroups `(x, y)` for `n` invocations of 64.
pub(crate) fn grid_of(n: u64, max_per_dim: u32) -> (u32, u32) {
    let groups = n.div_ceil(64).max(1);
    let x = groups.min(u64::from(max_per_dim.max(1)));
    let y = groups.div_ceil(x);
    (x as u32, y as u32)
}

/// The bind-group tables written out here agree with the WGSL declarations.
#[cfg(test)]
mod tests {
    use super::*;

    /// Every `@binding(i) var<...> name` of the kernel's own source, as (name, slot).
    fn declared(source: &str) -> Vec<(String, Slot)> {
        let mut v: Vec<(u32, String, Slot)> = source
            .lines()
            .filter_map(|l| {
                let rest = l.trim().strip_prefix("@group(0) @binding(")?;
                let (i, decl) = rest.split_once(')')?;
                let slot = if decl.contains("var<uniform>") {
                    Slot::Uniform
                } else if decl.contains("read_write") {
                    Slot::ReadWrite
                } else {
                    Slot::Read
                };
                let name = decl
                    .split('>')
                    .nth(1)?
                    .split(':')
                    .next()?
                    .trim()
                    .to_string();
                Some((i.parse().ok()?, name, slot))
            })
            .collect();
        v.sort_by_key(|x| x.0);
        v.into_iter().map(|(_, n, s)| (n, s)).collect()
    }

    fn check<S: Shader>() {
        let want: Vec<(String, Slot)> = S::BINDINGS
            .iter()
            .map(|&(n, s)| (n.to_string(), s))
            .collect();
        assert_eq!(declared(shaders::source(S::NAME)), want, "{}", S::NAME);
        for e in S::ENTRIES {
            assert!(
                shaders::source(S::NAME).contains(&format!("fn {e}(")),
                "{}::{e}",
                S::NAME
            );
        }
    }

    #[test]
    fn binding_tables_match_the_wgsl() {
        check::<super::super::soft_assign::SoftAssign>();
        check::<super::super::yolov5_assign::Yolov5Assign>();
        check::<super::super::box_cls::BoxCls>();
        check::<super::super::obj_loss::ObjLoss>();
        check::<super::super::f64_check::F64Check>();
    }

    #[test]
    fn grids_cover_every_invocation() {
        assert_eq!(grid_of(0, 65535), (1, 1));
        assert_eq!(grid_of(64, 65535), (1, 1));
        assert_eq!(grid_of(65, 65535), (2, 1));
        assert_eq!(grid_of(64 * 5, 2), (2, 3));
    }
}
