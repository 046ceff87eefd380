//! How to run an evaluation: where (the [`Backend`]: the CPU with its soft builder, or a GPU
//! device) and with which layer balance.

use crate::error::Result;
use crate::gpu::GpuContext;
use crate::vocab::Named;

use crate::targets::SoftBuilder;

/// Where an evaluation runs.
///
/// ```
/// use soft_objectness::{Backend, Named, SoftBuilder};
/// let cpu = Backend::parse("backend", "cpu", SoftBuilder::Loop).unwrap();
/// assert_eq!(cpu.name(), "cpu");
/// assert!(matches!(cpu, Backend::Cpu(SoftBuilder::Loop)));
/// // "gpu" opens the process-wide device, or names why there is none.
/// match Backend::parse("backend", "gpu", SoftBuilder::default()) {
///     Ok(gpu) => assert_eq!(gpu.name(), "gpu"),
///     Err(e) => eprintln!("no GPU here: {e}"),
/// }
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Backend {
    /// The f64 oracle on the CPU, with its soft builder.
    Cpu(SoftBuilder),
    /// The f32 WGSL shaders on a GPU device (cargo feature `gpu`; docs/gpu.md), with the
    /// oracle's exact cell classes. The GPU has a builder of its own.
    Gpu(GpuContext),
}

impl Default for Backend {
    /// The CPU with the vectorised soft builder.
    fn default() -> Self {
        Backend::Cpu(SoftBuilder::default())
    }
}

/// The kinds of [`Backend`], by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendKind {
    /// [`Backend::Cpu`].
    Cpu,
    /// [`Backend::Gpu`].
    Gpu,
}

impl Named for BackendKind {
    const NAMES: &'static [(Self, &'static str, &'static str)] = &[
        (BackendKind::Cpu, "cpu", "the f64 oracle on the CPU"),
        (
            BackendKind::Gpu,
            "gpu",
            "f32 WGSL shaders through wgpu (WGPU_BACKEND, WGPU_ADAPTER_NAME choose the adapter)",
        ),
    ];
}

impl Backend {
    /// The GPU backend on the process-wide device, opened on first use.
    ///
    /// # Errors
    /// [`GpuError::NoAdapter`](crate::GpuError::NoAdapter) (and the other reasons of
    /// `GpuContext::new`) when no device can be opened, [`GpuError::NotCompiled`](
    /// crate::GpuError::NotCompiled) without the cargo feature `gpu`.
    pub fn gpu() -> Result<Backend> {
        Ok(Backend::Gpu(GpuContext::shared()?))
    }

    /// The backend named `name` in [`BackendKind`]'s table: `"cpu"` with soft builder
    /// `builder`, or `"gpu"` ([`Backend::gpu`]; `builder` does not apply there).
    ///
    /// # Errors
    /// [`Error::UnknownValue`](crate::Error::UnknownValue) naming `field` for another name; as
    /// [`Backend::gpu`] for `"gpu"`.
    pub fn parse(field: &str, name: &str, builder: SoftBuilder) -> Result<Backend> {
        match BackendKind::parse(field, name)? {
            BackendKind::Cpu => Ok(Backend::Cpu(builder)),
            BackendKind::Gpu => Backend::gpu(),
        }
    }

    /// Which kind of backend this is.
    pub fn kind(&self) -> BackendKind {
        match self {
            Backend::Cpu(_) => BackendKind::Cpu,
            Backend::Gpu(_) => BackendKind::Gpu,
        }
    }

    /// Its name: `"cpu"` or `"gpu"`.
    pub fn name(&self) -> &'static str {
        self.kind().name()
    }
}

/// Options of an evaluation ([`crate::evaluate`]): where it runs and the layer balance in
/// force.
///
/// ```
/// use soft_objectness::{Backend, EvalOptions, SoftBuilder};
/// let opts = EvalOptions::with_backend(Backend::Cpu(SoftBuilder::Loop)).balance(vec![4.0, 1.0, 0.4]);
/// assert!(matches!(opts.backend, Backend::Cpu(SoftBuilder::Loop)));
/// assert_eq!(opts.balance.as_deref(), Some(&[4.0, 1.0, 0.4][..]));
/// ```
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct EvalOptions {
    /// Where the evaluation runs (default: the CPU, vectorised soft builder).
    pub backend: Backend,
    /// The layer balance in force (autobalance state from an earlier evaluation); `None` uses
    /// [`crate::Config::default_balance`].
    pub balance: Option<Vec<f64>>,
}

impl EvalOptions {
    /// The default options on `backend`.
    pub fn with_backend(backend: Backend) -> EvalOptions {
        EvalOptions {
            backend,
            balance: None,
        }
    }

    /// The same options with the layer balance in force set to `balance`.
    pub fn balance(self, balance: Vec<f64>) -> EvalOptions {
        EvalOptions {
            balance: Some(balance),
            ..self
        }
    }
}
