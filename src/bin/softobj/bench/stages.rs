//! The stages `softobj bench` times, each run once by [`run_stage`] and timed around the work
//! alone: outputs are dropped after the clock stops, and inputs a stage consumes (the built
//! targets of the loss stages) are made before it starts. The builders and losses on their own
//! are reached through the crate's test hooks (`soft_objectness::internals`).

use std::hint::black_box;
use std::time::{Duration, Instant};

use soft_objectness::internals::assign::{self, matching};
use soft_objectness::internals::loss::compute;
use soft_objectness::{
    Assigner, Config, EvalOptions, Evaluation, Grid, Inputs, LayerTargets, Named, Prediction,
    Result, SoftBuilder, Workspace, evaluate,
};

/// One timed stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Validate,
    Match,
    SoftVec,
    SoftVecWs,
    SoftLoop,
    Yolov5,
    Forward,
    ForwardGrad,
    ForwardGradWs,
    Evaluate,
    EvaluateWs,
    Dense,
    DenseInto,
    Fill,
}

impl Named for Stage {
    /// Each stage's name (for `--only` and in the JSON) and its line in the table.
    const NAMES: &'static [(Self, &'static str, &'static str)] = &[
        (
            Stage::Validate,
            "validate",
            "validate (config, every input value)",
        ),
        (Stage::Match, "match", "anchor matching"),
        (
            Stage::SoftVec,
            "soft-vec",
            "soft targets, vectorised builder",
        ),
        (
            Stage::SoftVecWs,
            "soft-vec-ws",
            "  the same, workspace buffers",
        ),
        (Stage::SoftLoop, "soft-loop", "soft targets, loop builder"),
        (
            Stage::Yolov5,
            "yolov5",
            "YOLOv5 targets (rows and neighbour cells)",
        ),
        (Stage::Forward, "forward", "loss forward (targets given)"),
        (
            Stage::ForwardGrad,
            "forward-grad",
            "loss forward + gradient (targets given)",
        ),
        (
            Stage::ForwardGradWs,
            "forward-grad-ws",
            "  the same, workspace buffers",
        ),
        (
            Stage::Evaluate,
            "evaluate",
            "evaluate (all of the above, vectorised)",
        ),
        (
            Stage::EvaluateWs,
            "evaluate-ws",
            "  the same, workspace buffers",
        ),
        (Stage::Dense, "dense", "gradient to dense f64 arrays"),
        (
            Stage::DenseInto,
            "dense-into",
            "dense gradient into a caller's buffer",
        ),
        (Stage::Fill, "fill", "  fill a buffer of that size (floor)"),
    ];
}

impl Stage {
    /// The stages timed without `--only` (all but [`Stage::Dense`]).
    pub const DEFAULT: [Stage; 13] = [
        Stage::Validate,
        Stage::Match,
        Stage::SoftVec,
        Stage::SoftVecWs,
        Stage::SoftLoop,
        Stage::Yolov5,
        Stage::Forward,
        Stage::ForwardGrad,
        Stage::ForwardGradWs,
        Stage::Evaluate,
        Stage::EvaluateWs,
        Stage::DenseInto,
        Stage::Fill,
    ];
}

/// What the dense stages keep between runs: the caller's buffer (one per element type, every
/// layer's gradient one after the other, written once before any run so that no page fault
/// is timed) and the evaluation whose gradient is written.
#[derive(Default)]
pub struct Scratch {
    f32: Vec<f32>,
    f64: Vec<f64>,
    eval: Option<Evaluation>,
}

impl Scratch {
    /// The buffers sized for `inputs` (allocated and written once).
    fn buffers(&mut self, inputs: &Inputs) -> (&mut [f32], &mut [f64]) {
        let (mut n32, mut n64) = (0, 0);
        for p in &inputs.predictions {
            match p {
                Prediction::F32(a) => n32 += a.len(),
                Prediction::F64(a) => n64 += a.len(),
            }
        }
        if self.f32.len() != n32 {
            self.f32 = vec![1.0; n32];
        }
        if self.f64.len() != n64 {
            self.f64 = vec![1.0; n64];
        }
        (&mut self.f32, &mut self.f64)
    }
}

/// Everything a stage may use: the batch and the buffers kept between runs.
pub struct Bench<'a> {
    pub config: &'a Config,
    pub inputs: &'a Inputs,
    pub ws: Workspace,
    pub scratch: Scratch,
}

/// The time of `f`'s work, its output dropped after the clock stops.
fn timed<T>(f: impl FnOnce() -> Result<T>) -> Result<Duration> {
    let t0 = Instant::now();
    let out = f()?;
    let d = t0.elapsed();
    black_box(out);
    Ok(d)
}

/// Runs one stage once and returns the time it took.
pub fn run_stage(stage: Stage, b: &mut Bench) -> Result<Duration> {
    let (config, inputs) = (b.config, b.inputs);
    let opts = EvalOptions::default();
    match stage {
        Stage::Validate => timed(|| {
            config.validate()?;
            inputs.validate(config)
        }),
        Stage::Match => timed(|| {
            let grids = Grid::of(config, &inputs.view());
            Ok(grids
                .iter()
                .enumerate()
                .map(|(l, &g)| matching::match_layer(config, inputs.targets.view(), l, g))
                .collect::<Vec<_>>())
        }),
        Stage::SoftVec => build(config, inputs, Assigner::Soft, SoftBuilder::Vectorised),
        Stage::SoftLoop => build(config, inputs, Assigner::Soft, SoftBuilder::Loop),
        Stage::Yolov5 => build(config, inputs, Assigner::Yolov5, SoftBuilder::Vectorised),
        Stage::SoftVecWs => {
            let t0 = Instant::now();
            let t = build_in(config, inputs, SoftBuilder::Vectorised, &mut b.ws)?;
            let d = t0.elapsed();
            b.ws.recycle_targets(black_box(t));
            Ok(d)
        }
        Stage::Forward | Stage::ForwardGrad | Stage::ForwardGradWs => loss(stage, b),
        Stage::Evaluate => timed(|| evaluate(config, inputs, &opts)),
        Stage::EvaluateWs => {
            let t0 = Instant::now();
            let e = b.ws.evaluate(config, inputs, &opts)?;
            let d = t0.elapsed();
            b.ws.recycle(black_box(e));
            Ok(d)
        }
        Stage::DenseInto => dense_into(b),
        Stage::Fill => fill(b),
        Stage::Dense => {
            let e = evaluate(config, inputs, &opts)?;
            timed(|| Ok(e.grad.to_dense()))
        }
    }
}

/// Every layer's targets of validated inputs with `builder`, the buffers taken from `ws`.
fn build_in(
    config: &Config,
    inputs: &Inputs,
    builder: SoftBuilder,
    ws: &mut Workspace,
) -> Result<Vec<LayerTargets>> {
    let grids = Grid::of(config, &inputs.view());
    assign::build_in(config, inputs.targets.view(), &grids, builder, ws)
}

/// Every layer's targets under `assigner` with `builder`, in fresh buffers.
fn build(
    config: &Config,
    inputs: &Inputs,
    assigner: Assigner,
    builder: SoftBuilder,
) -> Result<Duration> {
    let config = Config {
        assigner,
        ..config.clone()
    };
    timed(|| build_in(&config, inputs, builder, &mut Workspace::new()))
}

/// The loss from built targets: forward only, with the gradient, or with the gradient's
/// buffers from the workspace.
fn loss(stage: Stage, b: &mut Bench) -> Result<Duration> {
    let (config, inputs) = (b.config, b.inputs);
    let balance = config.default_balance();
    let t = build_in(config, inputs, SoftBuilder::Vectorised, &mut b.ws)?;
    let t0 = Instant::now();
    let e = match stage {
        Stage::Forward => compute::forward(config, inputs, t, &balance),
        Stage::ForwardGrad => compute::compute(config, inputs, t, &balance),
        _ => compute::compute_in(config, &inputs.view(), t, &balance, &mut b.ws),
    };
    let d = t0.elapsed();
    b.ws.recycle(black_box(e));
    Ok(d)
}

/// `Gradient::write_dense_into`: every layer's dense gradient written into a caller's buffer
/// of the predictions' shape and element type (the buffer reused across runs).
fn dense_into(b: &mut Bench) -> Result<Duration> {
    if b.scratch.eval.is_none() {
        b.scratch.eval = Some(evaluate(b.config, b.inputs, &EvalOptions::default())?);
    }
    let Some(e) = b.scratch.eval.take() else {
        return Ok(Duration::ZERO);
    };
    let (mut b32, mut b64) = b.scratch.buffers(b.inputs);
    let t0 = Instant::now();
    for (l, p) in b.inputs.predictions.iter().enumerate() {
        match p {
            Prediction::F32(a) => {
                let (now, rest) = b32.split_at_mut(a.len());
                e.grad.write_dense_into(l, 1.0, now)?;
                b32 = rest;
            }
            Prediction::F64(a) => {
                let (now, rest) = b64.split_at_mut(a.len());
                e.grad.write_dense_into(l, 1.0, now)?;
                b64 = rest;
            }
        }
    }
    let d = t0.elapsed();
    b.scratch.eval = Some(e);
    Ok(d)
}

/// Filling a buffer of the predictions' size and element type with zeros, in parallel: the
/// floor of any dense write.
fn fill(b: &mut Bench) -> Result<Duration> {
    use rayon::prelude::*;
    let (b32, b64) = b.scratch.buffers(b.inputs);
    let t0 = Instant::now();
    b32.par_chunks_mut(1 << 16).for_each(|c| c.fill(0.0));
    b64.par_chunks_mut(1 << 16).for_each(|c| c.fill(0.0));
    let d = t0.elapsed();
    black_box((b32.first(), b64.first()));
    Ok(d)
}
