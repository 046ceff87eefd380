//! The device: adapter choice from the environment, device and queue, the compiled kernels, the
//! buffer pool, and the device's health (lost, or an error outside a scope).

use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use super::box_cls::BoxCls;
use super::f64_check::F64Check;
use super::kernel::Kernel;
use super::obj_loss::ObjLoss;
use super::pool::Pool;
use super::scopes::ErrorScopes;
use super::soft_assign::SoftAssign;
use super::yolov5_assign::Yolov5Assign;
use crate::error::{GpuError, Result};

/// A GPU device with the compiled kernels and a pool of reusable buffers.
///
/// A handle: cloning it is cheap and every clone uses the same device, kernels and buffers.
/// Open one per process (or use [`GpuContext::shared`]) and pass it to
/// [`evaluate`](crate::evaluate) as [`Backend::Gpu`](crate::Backend::Gpu); it is `Send + Sync`, and evaluations on one device run one at
/// a time.
#[derive(Clone)]
pub struct GpuContext {
    inner: Arc<Inner>,
}

/// What a [`GpuContext`] handle shares: the device, its queue and limits, the compiled kernels,
/// the buffer pool and the device's health.
pub(crate) struct Inner {
    pub(crate) device: wgpu::Device,
    pub(crate) queue: wgpu::Queue,
    info: wgpu::AdapterInfo,
    pub(crate) limits: wgpu::Limits,
    pub(crate) kernels: Kernels,
    state: Mutex<State>,
    lost: Arc<Mutex<Option<String>>>,
    uncaptured: Arc<Mutex<Vec<String>>>,
}

impl std::fmt::Debug for GpuContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GpuContext")
            .field("adapter", &self.inner.info.name)
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
    pub(crate) soft_assign: Kernel<SoftAssign>,
    pub(crate) yolov5_assign: Kernel<Yolov5Assign>,
    pub(crate) obj_loss: Kernel<ObjLoss>,
    pub(crate) box_cls: Kernel<BoxCls>,
    pub(crate) f64_check: Kernel<F64Check>,
}

impl Kernels {
    fn new(device: &wgpu::Device) -> Kernels {
        Kernels {
            soft_assign: Kernel::new(device),
            yolov5_assign: Kernel::new(device),
            obj_loss: Kernel::new(device),
            box_cls: Kernel::new(device),
            f64_check: Kernel::new(device),
        }
    }
}

static SHARED: OnceLock<std::result::Result<GpuContext, GpuError>> = OnceLock::new();

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

/// The adapter chosen by `WGPU_ADAPTER_NAME` (a case-insensitive substring of its name), or
/// else by `WGPU_BACKEND` and `WGPU_POWER_PREF` (high performance by default).
async fn choose_adapter(instance: &wgpu::Instance) -> Result<wgpu::Adapter> {
    match std::env::var("WGPU_ADAPTER_NAME") {
        Ok(name) if !name.trim().is_empty() => adapter_named(instance, name).await,
        _ => {
            let options = wgpu::RequestAdapterOptions {
                power_preference: wgpu::PowerPreference::from_env()
                    .unwrap_or(wgpu::PowerPreference::HighPerformance),
                ..Default::default()
            };
            let adapter = instance.request_adapter(&options).await;
            Ok(adapter.map_err(|e| GpuError::NoAdapter {
                cause: e.to_string(),
            })?)
        }
    }
}

async fn adapter_named(instance: &wgpu::Instance, name: String) -> Result<wgpu::Adapter> {
    let want = name.trim().to_lowercase();
    let backends = wgpu::Backends::from_env().unwrap_or(wgpu::Backends::all());
    let adapters = instance.enumerate_adapters(backends).await;
    let found: Vec<String> = adapters.iter().map(|a| a.get_info().name).collect();
    let chosen = adapters
        .into_iter()
        .find(|a| a.get_info().name.to_lowercase().contains(&want));
    Ok(chosen.ok_or(GpuError::AdapterNotFound { name, found })?)
}

/// Records a lost device and errors raised outside an error scope, instead of panicking.
type Watch = (Arc<Mutex<Option<String>>>, Arc<Mutex<Vec<String>>>);

fn watch(device: &wgpu::Device) -> Watch {
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
    (lost, uncaptured)
}

impl GpuContext {
    /// Opens the adapter chosen by the environment (`WGPU_BACKEND`, `WGPU_ADAPTER_NAME`,
    /// `WGPU_POWER_PREF`; by default the high-performance adapter of any backend) and
    /// compiles every kernel.
    ///
    /// # Errors
    /// [`GpuError::NoAdapter`] or [`GpuError::AdapterNotFound`] when no adapter is found (the
    /// message says how to get one), [`GpuError::Wgpu`] when the device cannot be created or a
    /// kernel fails to compile.
    pub fn new() -> Result<GpuContext> {
        pollster::block_on(Self::open())
    }

    /// A handle to the process-wide context, opened on first use; later calls return a handle
    /// to the same device (or the same error).
    ///
    /// # Errors
    /// As [`GpuContext::new`].
    pub fn shared() -> Result<GpuContext> {
        let opened = SHARED.get_or_init(|| {
            GpuContext::new().map_err(|e| match e {
                crate::Error::Gpu(g) => g,
                other => GpuError::wgpu("opening the device", other),
            })
        });
        Ok(opened.clone()?)
    }

    /// The device this handle shares.
    pub(crate) fn inner(&self) -> &Inner {
        &self.inner
    }

    async fn open() -> Result<GpuContext> {
        let instance =
            wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
        let adapter = choose_adapter(&instance).await?;
        let info = adapter.get_info();
        let limits = adapter.limits();
        let descriptor = wgpu::DeviceDescriptor {
            label: Some("soft-objectness"),
            required_features: wgpu::Features::empty(),
            required_limits: limits.clone(),
            ..Default::default()
        };
        let (device, queue) = adapter.request_device(&descriptor).await.map_err(|e| {
            GpuError::wgpu(
                format!("cannot open a device on adapter {:?}", info.name),
                e,
            )
        })?;
        let (lost, uncaptured) = watch(&device);
        let scope = ErrorScopes::push(&device);
        let kernels = Kernels::new(&device);
        scope.pop("compiling the kernels")?;
        let state = State {
            pool: Pool::default(),
            binding_limit: device_binding_max(&limits),
            max_per_dim: limits.max_compute_workgroups_per_dimension,
        };
        let inner = Inner {
            device,
            queue,
            info,
            limits,
            kernels,
            state: Mutex::new(state),
            lost,
            uncaptured,
        };
        Ok(GpuContext {
            inner: Arc::new(inner),
        })
    }

    /// The adapter in use, e.g. `"llvmpipe (LLVM 19.1.7, 256 bits)" (Vulkan, Cpu)`.
    pub fn adapter(&self) -> String {
        format!(
            "{:?} ({:?}, {:?})",
            self.inner.info.name, self.inner.info.backend, self.inner.info.device_type
        )
    }

    /// The largest storage binding a chunk may use, in bytes (the device's limit unless
    /// lowered with [`GpuContext::set_binding_limit`]).
    pub fn binding_limit(&self) -> u64 {
        self.inner.binding_limit()
    }

    /// Lowers (or restores, up to the device's limit) the largest storage binding a chunk
    /// may use, so that inputs are split into more chunks of images; for tests of the
    /// splitting and for devices shared with other work.
    pub fn set_binding_limit(&self, bytes: u64) {
        let device_max = device_binding_max(&self.inner.limits);
        if let Ok(mut s) = self.inner.lock() {
            s.binding_limit = (bytes - bytes % 256).clamp(256, device_max);
        }
    }

    /// Lowers (or restores, up to the device's limit) the workgroups per dispatch dimension.
    pub(crate) fn set_dispatch_limit(&self, workgroups: u32) {
        let device_max = self.inner.limits.max_compute_workgroups_per_dimension;
        if let Ok(mut s) = self.inner.lock() {
            s.max_per_dim = workgroups.clamp(1, device_max);
        }
    }

    /// Bytes and count of the buffers kept for reuse between evaluations.
    pub fn pooled(&self) -> (u64, usize) {
        self.inner
            .lock()
            .map(|s| (s.pool.bytes(), s.pool.len()))
            .unwrap_or((0, 0))
    }

    /// Releases every buffer kept for reuse (the next evaluation allocates afresh).
    pub fn release_buffers(&self) {
        if let Ok(mut s) = self.inner.lock() {
            s.pool.clear();
        }
    }
}

impl Inner {
    /// The largest storage binding a chunk may use, in bytes.
    pub(crate) fn binding_limit(&self) -> u64 {
        self.lock().map(|s| s.binding_limit).unwrap_or(0)
    }

    pub(crate) fn lock(&self) -> Result<MutexGuard<'_, State>> {
        self.state.lock().map_err(|_| {
            GpuError::wgpu(
                "locking the GPU context",
                "poisoned by a panic in another thread",
            )
            .into()
        })
    }

    /// An error when the device has been lost or reported an error outside a scope.
    pub(crate) fn health(&self) -> Result<()> {
        if let Some(reason) = self.lost.lock().ok().and_then(|l| l.clone()) {
            return Err(GpuError::DeviceLost { reason }.into());
        }
        let mut u = self
            .uncaptured
            .lock()
            .map_err(|_| GpuError::wgpu("reading the device's error log", "poisoned"))?;
        if u.is_empty() {
            return Ok(());
        }
        let message = u.join("; ");
        u.clear();
        Err(GpuError::wgpu("device error", message).into())
    }
}
