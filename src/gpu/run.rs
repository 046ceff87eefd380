//! One evaluation on the device, start to end: build the rows on the host (with the CPU path's
//! rules on them), plan the chunks, record every pass ([`super::record`]), submit, read back
//! once, assemble the [`Evaluation`] and refuse a result that is not finite (the same rule as
//! the CPU path).

use super::assemble::assemble;
use super::context::{GpuContext, Inner};
use super::plan::{self, BufferLimits};
use super::record::{Recorded, Recorder, TOTALS_BYTES};
use super::scopes::ErrorScopes;
use crate::config::Config;
use crate::error::Result;
use crate::inputs::InputsView;
use crate::result::Evaluation;

/// Evaluates validated inputs on `ctx`'s device with the layer balance in force: the GPU
/// backend's one entry point. The predictions are read from the borrowed arrays (f32 ones
/// uploaded as they are, f64 ones converted chunk by chunk while uploading).
///
/// # Errors
/// [`GpuError`](crate::error::GpuError) as [`super::evaluate`] documents, and
/// [`Error::NonFinite`](crate::Error::NonFinite) for a result that is not finite.
pub(crate) fn run(
    ctx: &GpuContext,
    config: &Config,
    inputs: &InputsView,
    balance: Vec<f64>,
) -> Result<Evaluation> {
    ctx.inner().evaluate(config, inputs, &balance)
}

impl Inner {
    fn evaluate(
        &self,
        config: &Config,
        inputs: &InputsView,
        balance: &[f64],
    ) -> Result<Evaluation> {
        let rows = plan::rows(config, inputs)?;
        let mut state = self.lock()?;
        self.health()?;
        let limits = BufferLimits {
            storage: state.binding_limit,
            buffer: self.limits.max_buffer_size,
            max_per_dim: state.max_per_dim,
        };
        let plans = plan::plan(config, inputs, rows, limits)?;
        let scopes = ErrorScopes::push(&self.device);
        let recorded = Recorder::new(self, &mut state.pool, limits.max_per_dim, config)
            .and_then(|r| r.record(inputs, &plans, balance));
        let read = recorded.and_then(|rec| {
            let words = self.read_back(&readback_list(&rec))?;
            Ok((rec, words))
        });
        scopes.pop("evaluating on the device")?;
        self.health()?;
        let (rec, words) = read?;
        crate::totals::finite_or_error(assemble(config, inputs, plans, &rec, &words, balance))
    }
}

/// Every readback buffer with its bytes: the chunks in order, then the layers' totals.
fn readback_list(rec: &Recorded) -> Vec<(wgpu::Buffer, u64)> {
    let chunks = rec
        .chunks
        .iter()
        .map(|c| (c.readback.clone(), c.layout.total()));
    let totals = rec.totals.iter().map(|t| (t.clone(), TOTALS_BYTES));
    chunks.chain(totals).collect()
}
