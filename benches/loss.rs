//! The loss on the default batch (batch 16, 640x640, 80 classes) at 8 and 32 boxes per
//! image, f32 and f64 predictions: validation, the forward alone, forward + sparse gradient
//! (fresh buffers and a [`Workspace`]), and whole evaluations.
//!
//! `cargo bench --bench loss`; docs/performance.md has the figures.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BatchSize, BenchmarkId, Criterion, criterion_group, criterion_main};
use soft_objectness::default_batch::DefaultBatch;
use soft_objectness::internals::loss::compute;
use soft_objectness::{EvalOptions, Grid, Prediction, SoftBuilder, Workspace, evaluate};

fn loss(c: &mut Criterion) {
    let mut g = c.benchmark_group("loss");
    g.warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4))
        .sample_size(30);
    for boxes in [8, 32] {
        for dtype in ["f32", "f64"] {
            let (config, mut inputs) = DefaultBatch::standard(boxes).build().unwrap();
            if dtype == "f64" {
                for p in &mut inputs.predictions {
                    *p = Prediction::F64(p.to_f64());
                }
            }
            let id = |name: &str| BenchmarkId::new(format!("{name}/{dtype}"), boxes);
            let balance = config.default_balance();
            let grids = Grid::of(&config, &inputs.view());
            let t = inputs.targets.view();
            let targets =
                soft_objectness::build_targets(&config, t, &grids, SoftBuilder::Vectorised)
                    .unwrap();
            let opts = EvalOptions::default();
            g.bench_function(id("validate"), |b| {
                b.iter(|| inputs.validate(&config).unwrap())
            });
            g.bench_function(id("forward"), |b| {
                b.iter_batched(
                    || targets.clone(),
                    |t| compute::forward(&config, &inputs, t, &balance),
                    BatchSize::LargeInput,
                )
            });
            g.bench_function(id("forward_grad"), |b| {
                b.iter_batched(
                    || targets.clone(),
                    |t| compute::compute(&config, &inputs, t, &balance),
                    BatchSize::LargeInput,
                )
            });
            let mut ws = Workspace::new();
            g.bench_function(id("forward_grad_workspace"), |b| {
                b.iter_custom(|iters| {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        let built = ws
                            .build_targets(&config, t, &grids, SoftBuilder::Vectorised)
                            .unwrap();
                        let t0 = Instant::now();
                        let e =
                            compute::compute_in(&config, &inputs.view(), built, &balance, &mut ws);
                        total += t0.elapsed();
                        ws.recycle(black_box(e));
                    }
                    total
                })
            });
            g.bench_function(id("evaluate"), |b| {
                b.iter(|| evaluate(&config, &inputs, &opts).unwrap())
            });
            g.bench_function(id("evaluate_workspace"), |b| {
                b.iter(|| {
                    let e = ws.evaluate(&config, &inputs, &opts).unwrap();
                    ws.recycle(black_box(e));
                })
            });
        }
    }
    g.finish();
}

criterion_group!(benches, loss);
criterion_main!(benches);
