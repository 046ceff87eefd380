//! The GPU path: the oracle's per-cell work as f32 WGSL compute shaders run through wgpu
//! (Vulkan, Metal, DX12), returning the same [`Evaluation`] as the CPU path.
//!
//! Anchor matching, cell ranges, the stable largest-first sort and row emission run on the host
//! (they are O(targets)); every per-cell and per-(row, cell) step runs in a shader:
//!
//! | shader (`shaders/`) | wrapper | work |
//! |---|---|---|
//! | `soft_assign.wgsl` | `soft_assign.rs` | soft targets: score, last-write / max overlap, centres |
//! | `yolo_target.wgsl` | `yolo_target.rs` | baseline target: IoU at the rows' cells, later rows win |
//! | `box_cls.wgsl` | `box_cls.rs` | CIoU box loss and class BCE of the rows, with gradients |
//! | `obj_loss.wgsl` | `obj_loss.rs` | cell classes and counts, objectness loss and gradient |
//! | `math.wgsl`, `f64.wgsl`, `rows.wgsl` | `shaders.rs` (the table) | preludes: f32 maths, emulated f64 addition, row records |
//! | `f64_check.wgsl` | `f64_check.rs` | the emulated addition on demand, for the tests |
//!
//! `run.rs` plans the chunks, fills the buffers, records every pass in one submission and
//! assembles the [`Evaluation`]; `pool.rs` keeps the buffers for reuse.
//!
//! The cell classes (positive, negative, soft) are those of the f64 oracle, decided exactly
//! (`exact.rs`, docs/gpu.md); values agree to f32 accuracy. Inputs are validated exactly
//! as on the CPU path before anything is dispatched.
//!
//! Everything here needs the cargo feature `gpu`. Without it the same API exists and every
//! entry point answers [`Error::Gpu`](crate::Error::Gpu) ("not compiled with GPU support").
//!
//! ```
//! use soft_objectness::{gpu, Config, EvalOptions, Inputs, Prediction, Error};
//! use ndarray::{array, Array5};
//! let config = Config { nc: 2, anchors: ndarray::Array3::from_elem((1, 1, 2), 3.0), ..Config::default() };
//! let inputs = Inputs {
//!     targets: array![[0.0, 1.0, 0.40, 0.55, 0.43, 0.30]],
//!     predictions: vec![Prediction::F32(Array5::zeros((1, 1, 8, 8, 7)))],
//! };
//! match gpu::evaluate(None, &config, &inputs, &EvalOptions::default()) {
//!     Ok(e) => {
//!         let cpu = soft_objectness::evaluate(&config, &inputs, &EvalOptions::default()).unwrap();
//!         assert_eq!(e.layers[0].counts, cpu.layers[0].counts);
//!         assert!((e.loss - cpu.loss).abs() <= 2e-5 * cpu.loss);
//!     }
//!     // No GPU adapter here, or built without the `gpu` feature.
//!     Err(Error::Gpu(reason)) => eprintln!("skipped: {reason}"),
//!     Err(e) => panic!("{e}"),
//! }
//! ```

use crate::case::Inputs;
use crate::config::Config;
use crate::error::Result;
use crate::eval::{EvalOptions, Evaluation};

#[cfg(feature = "gpu")]
mod box_cls;
#[cfg(feature = "gpu")]
mod exact;
#[cfg(feature = "gpu")]
mod f64_check;
#[cfg(feature = "gpu")]
mod obj_loss;
#[cfg(feature = "gpu")]
mod pool;
#[cfg(feature = "gpu")]
mod run;
#[cfg(feature = "gpu")]
pub mod shaders;
#[cfg(feature = "gpu")]
mod soft_assign;
#[cfg(feature = "gpu")]
mod yolo_target;

#[cfg(feature = "gpu")]
pub use device::GpuContext;
#[cfg(not(feature = "gpu"))]
pub use standin::GpuContext;

/// Evaluates a case on the GPU: the same validation, the same [`Evaluation`] as
/// [`crate::evaluate`], with f32 losses and gradients and the oracle's exact cell classes.
///
/// `ctx` is the device to use; `None` uses a process-wide one created on first use
/// ([`GpuContext::shared`]). `opts.builder` is ignored (the GPU has its own builder);
/// `opts.balance` is honoured.
///
/// # Errors
/// Every validation error of [`crate::evaluate`] (before any device work), then
/// [`Error::Gpu`](crate::Error::Gpu) when no adapter is found, the build lacks the `gpu`
/// feature, an input does not fit the device's buffer limits even split by image, a value is
/// outside the f32 range, or the device reports an error or is lost.
pub fn evaluate(
    ctx: Option<&GpuContext>,
    config: &Config,
    inputs: &Inputs,
    opts: &EvalOptions,
) -> Result<Evaluation> {
    config.validate()?;
    inputs.validate(config)?;
    let balance = crate::eval::balance_in_force(config, opts)?;
    let ctx = match ctx {
        Some(c) => c,
        None => GpuContext::shared()?,
    };
    ctx.evaluate_validated(config, inputs, balance)
}

/// The message of a missing adapter: what to install and which variables select one.
pub const NO_ADAPTER_HELP: &str = "no GPU adapter found; install a Vulkan driver (on Debian or Ubuntu, Mesa's lavapipe \
     runs on the CPU: `apt-get install mesa-vulkan-drivers libvulkan1`), or choose one with \
     WGPU_BACKEND (vulkan, metal, dx12) and WGPU_ADAPTER_NAME";

#[cfg(not(feature = "gpu"))]
mod standin {
    use super::*;
    use crate::error::Error;

    const NOT_COMPILED: &str =
        "not compiled with GPU support: rebuild with `--features gpu` (cargo feature `gpu`)";

    /// Stand-in for the GPU device when the crate is built without the `gpu` feature: it can
    /// never be created, and every entry point answers [`Error::Gpu`].
    #[derive(Debug)]
    pub struct GpuContext {
        _private: (),
    }

    impl GpuContext {
        /// Always [`Error::Gpu`]: the crate was built without the `gpu` feature.
        ///
        /// # Errors
        /// Always.
        pub fn new() -> Result<GpuContext> {
            Err(Error::Gpu(NOT_COMPILED.into()))
        }

        /// Always [`Error::Gpu`]: the crate was built without the `gpu` feature.
        ///
        /// # Errors
        /// Always.
        pub fn shared() -> Result<&'static GpuContext> {
            Err(Error::Gpu(NOT_COMPILED.into()))
        }

        pub(super) fn evaluate_validated(
            &self,
            _: &Config,
            _: &Inputs,
            _: Vec<f64>,
        ) -> Result<Evaluation> {
            Err(Error::Gpu(NOT_COMPILED.into()))
        }
    }
}

#[cfg(feature = "gpu")]
mod device {
    use std::sync::{Arc, Mutex, OnceLock};

    use super::pool::Pool;
    use super::*;
    use crate::error::Error;

    /// A GPU device with the compiled kernels and a pool of reusable buffers.
    ///
    /// Create one per process (or use [`GpuContext::shared`]) and pass it to [`evaluate`]; it is
    /// `Send + Sync`, and evaluations on one context run one at a time.
    pub struct GpuContext {
        pub(crate) device: wgpu::Device,
        pub(crate) queue: wgpu::Queue,
        info: wgpu::AdapterInfo,
        pub(crate) limits: wgpu::Limits,
        pub(crate) kernels: Kernels,
        pub(crate) state: Mutex<State>,
        lost: Arc<Mutex<Option<String>>>,
        uncaptured: Arc<Mutex<Vec<String>>>,
    }

    impl std::fmt::Debug for GpuContext {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("GpuContext")
                .field("adapter", &self.info.name)
                .finish_non_exhaustive()
        }
    }

    /// The mutable part of a context: the buffer pool and the limits the work is split by.
    #[derive(Debug)]
    pub(crate) struct State {
        pub(crate) pool: Pool,
        pub(crate) binding_limit: u64,
        /// Workgroups per dispatch dimension before a second dimension is used.
        pub(crate) max_per_dim: u32,
    }

    /// Every compiled kernel.
    pub(crate) struct Kernels {
        pub(crate) soft_assign: soft_assign::SoftAssign,
        pub(crate) yolo_target: yolo_target::YoloTarget,
        pub(crate) obj_loss: obj_loss::ObjLoss,
        pub(crate) box_cls: box_cls::BoxCls,
        pub(crate) f64_check: f64_check::F64Check,
    }

    static SHARED: OnceLock<std::result::Result<GpuContext, String>> = OnceLock::new();

    /// Largest binding the chunking plans for, whatever the device allows: keeps every index
    /// of a chunk well inside u32.
    const MAX_BINDING: u64 = 1 << 31;

    /// The largest binding the device allows (and [`MAX_BINDING`]), a multiple of 256.
    fn device_binding_max(limits: &wgpu::Limits) -> u64 {
        let m = limits
            .max_storage_buffer_binding_size
            .min(limits.max_buffer_size)
            .min(MAX_BINDING);
        (m - m % 256).max(256)
    }

    impl GpuContext {
        /// Opens the adapter chosen by the environment (`WGPU_BACKEND`, `WGPU_ADAPTER_NAME`,
        /// `WGPU_POWER_PREF`; by default the high-performance adapter of any backend) and
        /// compiles every kernel.
        ///
        /// # Errors
        /// [`Error::Gpu`] when no adapter is found (the message says how to get one), the device
        /// cannot be created, or a kernel fails to compile.
        pub fn new() -> Result<GpuContext> {
            pollster::block_on(Self::open())
        }

        /// The process-wide context, created on first use; later calls return the same one (or
        /// the same error).
        ///
        /// # Errors
        /// As [`GpuContext::new`].
        pub fn shared() -> Result<&'static GpuContext> {
            SHARED
                .get_or_init(|| GpuContext::new().map_err(|e| e.to_string()))
                .as_ref()
                .map_err(|e| Error::Gpu(e.trim_start_matches("gpu: ").to_string()))
        }

        async fn open() -> Result<GpuContext> {
            let instance = wgpu::Instance::new(
                wgpu::InstanceDescriptor::new_without_display_handle_from_env(),
            );
            let adapter = match std::env::var("WGPU_ADAPTER_NAME") {
                Ok(name) if !name.trim().is_empty() => {
                    let want = name.trim().to_lowercase();
                    let backends = wgpu::Backends::from_env().unwrap_or(wgpu::Backends::all());
                    let adapters = instance.enumerate_adapters(backends).await;
                    let names: Vec<String> = adapters.iter().map(|a| a.get_info().name).collect();
                    adapters
                        .into_iter()
                        .find(|a| a.get_info().name.to_lowercase().contains(&want))
                        .ok_or_else(|| {
                            Error::Gpu(format!(
                                "WGPU_ADAPTER_NAME={name:?} matches none of the adapters found ({})",
                                if names.is_empty() { "none; ".to_string() + NO_ADAPTER_HELP } else { names.join(", ") }
                            ))
                        })?
                }
                _ => instance
                    .request_adapter(&wgpu::RequestAdapterOptions {
                        power_preference: wgpu::PowerPreference::from_env()
                            .unwrap_or(wgpu::PowerPreference::HighPerformance),
                        ..Default::default()
                    })
                    .await
                    .map_err(|e| Error::Gpu(format!("{NO_ADAPTER_HELP} ({e})")))?,
            };
            let info = adapter.get_info();
            let limits = adapter.limits();
            let (device, queue) = adapter
                .request_device(&wgpu::DeviceDescriptor {
                    label: Some("soft-objectness"),
                    required_features: wgpu::Features::empty(),
                    required_limits: limits.clone(),
                    ..Default::default()
                })
                .await
                .map_err(|e| {
                    Error::Gpu(format!(
                        "cannot open a device on adapter {:?}: {e}",
                        info.name
                    ))
                })?;
            let lost = Arc::new(Mutex::new(None));
            let lost_cb = Arc::clone(&lost);
            device.set_device_lost_callback(move |reason, message| {
                if let Ok(mut l) = lost_cb.lock() {
                    *l = Some(format!("{reason:?}: {message}"));
                }
            });
            let uncaptured = Arc::new(Mutex::new(Vec::new()));
            let uncaptured_cb = Arc::clone(&uncaptured);
            device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
                if let Ok(mut u) = uncaptured_cb.lock() {
                    u.push(e.to_string());
                }
            }));
            let scope = ErrorScopes::push(&device);
            let kernels = Kernels {
                soft_assign: soft_assign::SoftAssign::new(&device),
                yolo_target: yolo_target::YoloTarget::new(&device),
                obj_loss: obj_loss::ObjLoss::new(&device),
                box_cls: box_cls::BoxCls::new(&device),
                f64_check: f64_check::F64Check::new(&device),
            };
            scope.pop("compiling the kernels")?;
            let binding_limit = device_binding_max(&limits);
            let max_per_dim = limits.max_compute_workgroups_per_dimension;
            Ok(GpuContext {
                device,
                queue,
                info,
                limits,
                kernels,
                state: Mutex::new(State {
                    pool: Pool::default(),
                    binding_limit,
                    max_per_dim,
                }),
                lost,
                uncaptured,
            })
        }

        /// The adapter in use, e.g. `"llvmpipe (LLVM 19.1.7, 256 bits)" (Vulkan, Cpu)`.
        pub fn adapter(&self) -> String {
            format!(
                "{:?} ({:?}, {:?})",
                self.info.name, self.info.backend, self.info.device_type
            )
        }

        /// The largest storage binding a chunk may use, in bytes (the device's limit unless
        /// lowered with [`GpuContext::set_binding_limit`]).
        pub fn binding_limit(&self) -> u64 {
            self.lock().map(|s| s.binding_limit).unwrap_or(0)
        }

        /// Lowers (or restores, up to the device's limit) the largest storage binding a chunk
        /// may use, so that inputs are split into more chunks of images; for tests of the
        /// splitting and for devices shared with other work.
        pub fn set_binding_limit(&self, bytes: u64) {
            let device_max = device_binding_max(&self.limits);
            if let Ok(mut s) = self.lock() {
                s.binding_limit = (bytes - bytes % 256).clamp(256, device_max);
            }
        }

        /// Lowers (or restores, up to the device's limit) the workgroups per dispatch
        /// dimension, so that small inputs take the two-dimensional dispatch path that large ones
        /// need. For tests.
        #[doc(hidden)]
        pub fn set_dispatch_limit(&self, workgroups: u32) {
            let device_max = self.limits.max_compute_workgroups_per_dimension;
            if let Ok(mut s) = self.lock() {
                s.max_per_dim = workgroups.clamp(1, device_max);
            }
        }

        /// Bytes and count of the buffers kept for reuse between evaluations.
        pub fn pooled(&self) -> (u64, usize) {
            self.lock()
                .map(|s| (s.pool.bytes(), s.pool.len()))
                .unwrap_or((0, 0))
        }

        /// Releases every buffer kept for reuse (the next evaluation allocates afresh).
        pub fn release_buffers(&self) {
            if let Ok(mut s) = self.lock() {
                s.pool.clear();
            }
        }

        /// Destroys the device, as a driver reset would; every later evaluation answers
        /// [`Error::Gpu`]. For tests of the lost-device path.
        #[doc(hidden)]
        pub fn destroy_device_for_test(&self) {
            self.device.destroy();
        }

        pub(crate) fn lock(&self) -> Result<std::sync::MutexGuard<'_, State>> {
            self.state.lock().map_err(|_| {
                Error::Gpu("the context's state was poisoned by a panic in another thread".into())
            })
        }

        /// An error when the device has been lost or reported an error outside a scope.
        pub(crate) fn health(&self) -> Result<()> {
            if let Some(reason) = self.lost.lock().ok().and_then(|l| l.clone()) {
                return Err(Error::Gpu(format!(
                    "device lost ({reason}); create a new GpuContext"
                )));
            }
            let mut u = self
                .uncaptured
                .lock()
                .map_err(|_| Error::Gpu("error log poisoned".into()))?;
            if !u.is_empty() {
                let msg = u.join("; ");
                u.clear();
                return Err(Error::Gpu(format!("device error: {msg}")));
            }
            Ok(())
        }

        pub(super) fn evaluate_validated(
            &self,
            config: &Config,
            inputs: &Inputs,
            balance: Vec<f64>,
        ) -> Result<Evaluation> {
            run::evaluate(self, config, inputs, balance)
        }

        /// Waits for the submitted work and copies `(buffer, bytes)` back as 32-bit words, every
        /// buffer mapped at once and unmapped again.
        pub(crate) fn read_back(&self, buffers: &[(wgpu::Buffer, u64)]) -> Result<Vec<Vec<u32>>> {
            let (tx, rx) = std::sync::mpsc::channel();
            for (i, (b, size)) in buffers.iter().enumerate() {
                let tx = tx.clone();
                b.slice(..*size).map_async(wgpu::MapMode::Read, move |r| {
                    let _ = tx.send((i, r.is_ok()));
                });
            }
            drop(tx);
            let polled = self.device.poll(wgpu::PollType::wait_indefinitely());
            let mut mapped = vec![false; buffers.len()];
            for (i, ok) in rx.try_iter() {
                mapped[i] = ok;
            }
            let result = (|| {
                polled.map_err(|e| Error::Gpu(format!("waiting for the device: {e}")))?;
                self.health()?;
                if let Some(i) = mapped.iter().position(|&m| !m) {
                    return Err(Error::Gpu(format!(
                        "reading results back failed (buffer {i} could not be mapped)"
                    )));
                }
                buffers
                    .iter()
                    .map(|(b, size)| {
                        let view = b
                            .slice(..*size)
                            .get_mapped_range()
                            .map_err(|e| Error::Gpu(format!("reading results back: {e}")))?;
                        let n = (*size / 4) as usize;
                        let mut words = vec![0u32; n];
                        bytemuck::cast_slice_mut::<u32, u8>(&mut words)
                            .copy_from_slice(&view[..n * 4]);
                        Ok(words)
                    })
                    .collect::<Result<Vec<_>>>()
            })();
            for ((b, _), m) in buffers.iter().zip(&mapped) {
                if *m {
                    b.unmap();
                }
            }
            result
        }
    }

    /// Validation, out-of-memory and internal error scopes around a piece of device work.
    pub(crate) struct ErrorScopes {
        scopes: [Option<wgpu::ErrorScopeGuard>; 3],
    }

    impl ErrorScopes {
        pub(crate) fn push(device: &wgpu::Device) -> ErrorScopes {
            ErrorScopes {
                scopes: [
                    Some(device.push_error_scope(wgpu::ErrorFilter::Validation)),
                    Some(device.push_error_scope(wgpu::ErrorFilter::OutOfMemory)),
                    Some(device.push_error_scope(wgpu::ErrorFilter::Internal)),
                ],
            }
        }

        /// Pops the scopes (innermost first) and reports the first error caught.
        pub(crate) fn pop(mut self, doing: &str) -> Result<()> {
            let mut first = None;
            for s in self.scopes.iter_mut().rev() {
                if let Some(guard) = s.take()
                    && let Some(e) = pollster::block_on(guard.pop())
                {
                    first.get_or_insert(e);
                }
            }
            match first {
                None => Ok(()),
                Some(e) => Err(Error::Gpu(format!("{doing}: {e}"))),
            }
        }
    }

    impl Drop for ErrorScopes {
        fn drop(&mut self) {
            // Guards left (an early return) pop innermost first.
            for s in self.scopes.iter_mut().rev() {
                drop(s.take());
            }
        }
    }

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

    /// One kernel file compiled: its bind-group layout (written out from the binding table) and
    /// a pipeline per entry point.
    pub(crate) struct Compiled {
        name: &'static str,
        slots: &'static [Slot],
        layout: wgpu::BindGroupLayout,
        pipelines: Vec<(&'static str, wgpu::ComputePipeline)>,
    }

    impl Compiled {
        pub(crate) fn new(
            device: &wgpu::Device,
            name: &'static str,
            slots: &'static [Slot],
            entries: &[&'static str],
        ) -> Compiled {
            let kernel = shaders::Kernel::named(name).expect("every kernel is in the table");
            let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
                label: Some(name),
                source: wgpu::ShaderSource::Wgsl(kernel.full_source().into()),
            });
            let layout_entries: Vec<wgpu::BindGroupLayoutEntry> = slots
                .iter()
                .enumerate()
                .map(|(i, slot)| wgpu::BindGroupLayoutEntry {
                    binding: i as u32,
                    visibility: wgpu::ShaderStages::COMPUTE,
                    ty: wgpu::BindingType::Buffer {
                        ty: match slot {
                            Slot::Uniform => wgpu::BufferBindingType::Uniform,
                            Slot::Read => wgpu::BufferBindingType::Storage { read_only: true },
                            Slot::ReadWrite => {
                                wgpu::BufferBindingType::Storage { read_only: false }
                            }
                        },
                        has_dynamic_offset: false,
                        min_binding_size: None,
                    },
                    count: None,
                })
                .collect();
            let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
                label: Some(name),
                entries: &layout_entries,
            });
            let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
                label: Some(name),
                bind_group_layouts: &[Some(&layout)],
                immediate_size: 0,
            });
            let pipelines = entries
                .iter()
                .map(|&entry| {
                    let label = format!("{name}::{entry}");
                    let p = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                        label: Some(&label),
                        layout: Some(&pipeline_layout),
                        module: &module,
                        entry_point: Some(entry),
                        compilation_options: Default::default(),
                        cache: None,
                    });
                    (entry, p)
                })
                .collect();
            Compiled {
                name,
                slots,
                layout,
                pipelines,
            }
        }

        /// A bind group of `(buffer, bytes)` per binding, in binding order.
        pub(crate) fn bind(
            &self,
            device: &wgpu::Device,
            buffers: &[(&wgpu::Buffer, u64)],
        ) -> wgpu::BindGroup {
            debug_assert_eq!(
                buffers.len(),
                self.slots.len(),
                "{}: one buffer per binding",
                self.name
            );
            let entries: Vec<wgpu::BindGroupEntry> = buffers
                .iter()
                .enumerate()
                .map(|(i, (b, size))| wgpu::BindGroupEntry {
                    binding: i as u32,
                    resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                        buffer: b,
                        offset: 0,
                        size: wgpu::BufferSize::new((*size).max(16).next_multiple_of(16)),
                    }),
                })
                .collect();
            device.create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some(self.name),
                layout: &self.layout,
                entries: &entries,
            })
        }

        /// Records `n` invocations of `entry` (64 per workgroup; a second grid dimension when
        /// the first would exceed the device's limit), each in its own compute pass so that the
        /// passes are ordered. Returns the number of workgroups (`0` when `n == 0`).
        pub(crate) fn dispatch(
            &self,
            encoder: &mut wgpu::CommandEncoder,
            entry: &str,
            group: &wgpu::BindGroup,
            n: u64,
            max_per_dim: u32,
        ) -> u64 {
            if n == 0 {
                return 0;
            }
            let (x, y) = grid_of(n, max_per_dim);
            let pipeline = &self
                .pipelines
                .iter()
                .find(|(e, _)| *e == entry)
                .expect("entry point compiled")
                .1;
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some(entry),
                timestamp_writes: None,
            });
            pass.set_pipeline(pipeline);
            pass.set_bind_group(0, group, &[]);
            pass.dispatch_workgroups(x, y, 1);
            u64::from(x) * u64::from(y)
        }
    }

    /// Workgroups `(x, y)` for `n` invocations of 64.
    pub(crate) fn grid_of(n: u64, max_per_dim: u32) -> (u32, u32) {
        let groups = n.div_ceil(64).max(1);
        let x = groups.min(u64::from(max_per_dim.max(1)));
        let y = groups.div_ceil(x);
        (x as u32, y as u32)
    }
}

#[cfg(feature = "gpu")]
pub(crate) use device::{Compiled, ErrorScopes, Slot, grid_of};
