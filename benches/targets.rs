//! Target building on the default batch (batch 16, 640x640, 80 classes, YOLOv5s anchors) at
//! 8 and 32 boxes per image: anchor matching, the vectorised soft builder (fresh buffers and a
//! [`Workspace`]), the loop soft builder, and the YOLOv5 assigner.
//!
//! `cargo bench --bench targets`; docs/performance.md has the figures.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use soft_objectness::default_batch::DefaultBatch;
use soft_objectness::internals::assign::matching;
use soft_objectness::{Assigner, Config, Grid, SoftBuilder, Workspace, build_targets};

fn targets(c: &mut Criterion) {
    let mut g = c.benchmark_group("targets");
    g.warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    for boxes in [8, 32] {
        let (config, inputs) = DefaultBatch::standard(boxes).build().unwrap();
        let soft = Config {
            assigner: Assigner::Soft,
            ..config.clone()
        };
        let base = Config {
            assigner: Assigner::Yolov5,
            ..config
        };
        let t = inputs.targets.view();
        let grids = Grid::of(&soft, &inputs.view());
        g.bench_function(BenchmarkId::new("anchor_matching", boxes), |b| {
            b.iter(|| {
                let m: Vec<_> = grids
                    .iter()
                    .enumerate()
                    .map(|(l, &grid)| matching::match_layer(&soft, inputs.targets.view(), l, grid))
                    .collect();
                black_box(m)
            })
        });
        g.bench_function(BenchmarkId::new("soft_vectorised", boxes), |b| {
            b.iter(|| build_targets(&soft, t, &grids, SoftBuilder::Vectorised).unwrap())
        });
        let mut ws = Workspace::new();
        g.bench_function(BenchmarkId::new("soft_vectorised_workspace", boxes), |b| {
            b.iter(|| {
                let built = ws
                    .build_targets(&soft, t, &grids, SoftBuilder::Vectorised)
                    .unwrap();
                ws.recycle_targets(black_box(built));
            })
        });
        g.bench_function(BenchmarkId::new("soft_loop", boxes), |b| {
            b.iter(|| build_targets(&soft, t, &grids, SoftBuilder::Loop).unwrap())
        });
        g.bench_function(BenchmarkId::new("yolov5", boxes), |b| {
            b.iter(|| build_targets(&base, t, &grids, SoftBuilder::Vectorised).unwrap())
        });
    }
    g.finish();
}

criterion_group!(benches, targets);
criterion_main!(benches);
