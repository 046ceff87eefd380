//! The tolerance flags of `softobj check` and `softobj conform`: a preset and overrides.

use soft_objectness::conformance::Tolerances;

#[derive(clap::Args)]
pub struct ToleranceArgs {
    /// Use the tolerances of a float32 implementation (losses 2e-5 relative, tobj 2e-5,
    /// gradients 1e-4 of the largest component; counts and cell classes still exact).
    #[arg(long)]
    f32: bool,
    /// Relative tolerance of the losses (default 1e-12, or 2e-5 with --f32).
    #[arg(long, value_name = "R")]
    rtol: Option<f64>,
    /// Absolute tolerance of the losses (default 0).
    #[arg(long, value_name = "A")]
    atol: Option<f64>,
    /// Absolute tolerance of every tobj cell (default 0, or 2e-5 with --f32).
    #[arg(long, value_name = "T")]
    tobj_atol: Option<f64>,
    /// Gradient tolerance relative to the largest component (default 1e-10, or 1e-4 with --f32).
    #[arg(long, value_name = "G")]
    grad_rtol: Option<f64>,
}

impl ToleranceArgs {
    /// The preset (`--f32` or the f64 one) with the overrides given (not yet validated).
    pub fn tolerances(&self) -> Tolerances {
        let base = if self.f32 {
            Tolerances::F32
        } else {
            Tolerances::F64
        };
        Tolerances {
            rtol: self.rtol.unwrap_or(base.rtol),
            atol: self.atol.unwrap_or(base.atol),
            tobj_atol: self.tobj_atol.unwrap_or(base.tobj_atol),
            grad_rtol: self.grad_rtol.unwrap_or(base.grad_rtol),
        }
    }
}
