//! The GPU device when the crate is built without the `gpu` feature: it can never be created,
//! and every entry point answers [`GpuError::NotCompiled`].

use crate::config::Config;
use crate::error::{GpuError, Result};
use crate::inputs::Inputs;
use crate::result::Evaluation;

/// Stand-in for the GPU device when the crate is built without the `gpu` feature: it can
/// never be created, and every entry point answers [`GpuError::NotCompiled`].
#[derive(Debug)]
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
    pub fn shared() -> Result<&'static GpuContext> {
        Err(GpuError::NotCompiled.into())
    }

    pub(super) fn evaluate_validated(
        &self,
        _: &Config,
        _: &Inputs,
        _: Vec<f64>,
    ) -> Result<Evaluation> {
        Err(GpuError::NotCompiled.into())
    }
}
