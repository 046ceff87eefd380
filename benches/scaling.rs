//! Scaling sweeps (docs/performance.md): batch 16, 80 classes, YOLOv5s anchors; soft targets
//! (vectorised builder) and a whole evaluation, over the boxes per image at 640x640 and over the
//! image size at 8 boxes per image. Cost should grow linearly in boxes and in cells.
//!
//! `cargo bench --bench scaling`; `bench/sweep.py` draws the log-log figure from `softobj bench`.

use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use soft_objectness::default_batch::DefaultBatch;
use soft_objectness::{EvalOptions, Grid, SoftBuilder, build_targets, evaluate};

fn sweep(c: &mut Criterion, group: &str, points: &[DefaultBatch], key: fn(&DefaultBatch) -> usize) {
    let mut g = c.benchmark_group(group);
    g.warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(10);
    for w in points {
        let (config, inputs) = w.build().unwrap();
        let opts = EvalOptions::default();
        let grids = Grid::of(&config, &inputs.view());
        g.throughput(Throughput::Elements(key(w) as u64));
        g.bench_with_input(BenchmarkId::new("soft_targets", key(w)), &(), |b, _| {
            b.iter(|| {
                build_targets(
                    &config,
                    inputs.targets.view(),
                    &grids,
                    SoftBuilder::Vectorised,
                )
                .unwrap()
            })
        });
        g.bench_with_input(BenchmarkId::new("evaluate", key(w)), &(), |b, _| {
            b.iter(|| evaluate(&config, &inputs, &opts).unwrap())
        });
    }
    g.finish();
}

fn scaling(c: &mut Criterion) {
    let boxes: Vec<DefaultBatch> = [2, 8, 32, 128]
        .iter()
        .map(|&n| DefaultBatch::standard(n))
        .collect();
    sweep(c, "scaling_boxes", &boxes, |w| w.boxes_per_image * w.batch);
    let sizes: Vec<DefaultBatch> = [160, 320, 640, 1280]
        .iter()
        .map(|&px| DefaultBatch {
            width: px,
            height: px,
            ..DefaultBatch::standard(8)
        })
        .collect();
    sweep(c, "scaling_cells", &sizes, |w| w.width * w.height);
}

criterion_group!(benches, scaling);
criterion_main!(benches);
