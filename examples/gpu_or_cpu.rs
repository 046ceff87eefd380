//! Evaluate on the GPU when one is there, and fall back to the CPU oracle when not.
//!
//! ```sh
//! cargo run --release --example gpu_or_cpu -- fixtures/soft_default.json
//! ```
//!
//! The GPU path (WGSL through wgpu: Vulkan, Metal, DX12; Mesa's lavapipe on a machine without a
//! GPU) computes in f32 with the oracle's exact cell classes. Without an adapter, or in a build
//! without the `gpu` feature, it answers `Error::Gpu` with a `GpuError` saying which; any other
//! error (a bad case, a device lost mid-way) is not a reason to fall back.

use std::process::ExitCode;

use soft_objectness::conformance::{CheckOptions, Tolerances, check};
use soft_objectness::{
    Answer, Backend, Case, Error, EvalOptions, Evaluation, GpuError, Limits, evaluate,
};

/// The GPU's evaluation, or `None` when this machine or build has no GPU path.
fn on_the_gpu(case: &Case) -> Result<Option<Evaluation>, Error> {
    let backend = match Backend::gpu() {
        Ok(b) => b,
        Err(Error::Gpu(GpuError::NoAdapter { .. } | GpuError::NotCompiled)) => return Ok(None),
        Err(e) => return Err(e),
    };
    let opts = EvalOptions::with_backend(backend);
    evaluate(&case.config, &case.inputs, &opts).map(Some)
}

fn main() -> ExitCode {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "fixtures/soft_default.json".to_string());
    let run = || -> Result<(), Error> {
        let case = Case::load(&path, &Limits::default())?;
        let cpu = evaluate(&case.config, &case.inputs, &EvalOptions::default())?;
        match on_the_gpu(&case)? {
            Some(g) => {
                let answer = Answer::from_evaluation(&g, &case.config);
                let mut opts = CheckOptions::default();
                opts.tolerances = Tolerances::F32;
                let report = check(&case.config, &case.inputs, &answer, &opts)?;
                println!(
                    "GPU loss {:.7} (CPU {:.9}): {}",
                    g.loss,
                    cpu.loss,
                    report.verdict()
                );
            }
            None => println!("no GPU path here; CPU loss {:.9}", cpu.loss),
        }
        Ok(())
    };
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{path}: {e}");
            ExitCode::from(2)
        }
    }
}
