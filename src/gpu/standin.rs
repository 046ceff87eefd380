//! The GPU device when the crate is built without the `gpu` feature: it can never be created,
//! and every entry point answers [`GpuError::NotCompiled`].

use crate::config::Config;
use crate::error::{GpuError, Result};
use crate::inputs::InputsView;
use crate::result::Evaluation;

/// Stand-in for the GPU device when the crate is built without the `gpu` feature: it can
/// never be created, and every entry point answers [`GpuError::NotCompiled`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct GpuContext {}

impl GpuContext {
    /// Always [`GpuError::NotCompiled`]: the crate was built without the `gpu` feature.
    ///
    /// # Errors
    /// Always.
    pub fn new() -> Result<GpuContext> {
        Err(GpuError::NotCompiled.into())
    }

    /// Always [`GpuError::NotCompiled`]: the crate was built without the `gpu` feature.
    ///
    /// # Errors
    /// Always.
    pub fn shared() -> Result<GpuContext> {
        Err(GpuError::NotCompiled.into())
    }
}

/// Always [`GpuError::NotCompiled`]: the crate was built without the `gpu` feature.
pub(crate) fn run(_: &GpuContext, _: &Config, _: &InputsView, _: Vec<f64>) -> Result<Evaluation> {
    Err(GpuError::NotCompiled.into())
}
