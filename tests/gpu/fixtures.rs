//! The fixtures and the default batch against the oracle.

use soft_objectness::gpu::GpuContext;
use std::path::Path;

use soft_objectness::default_batch::DefaultBatch;

use soft_objectness::{Assigner, Case, Config, EvalOptions, Limits, evaluate};

use crate::common::on_gpu;
use crate::common::{Worst, check};

pub(crate) fn every_fixture_matches_the_oracle(ctx: &GpuContext) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|e| e == "json"));
    files.sort();
    let mut worst = Worst::default();
    for f in &files {
        let name = f.file_name().unwrap().to_string_lossy().to_string();
        let case = Case::load(f, &Limits::default()).unwrap_or_else(|e| panic!("{name}: {e}"));
        worst.merge(check(
            ctx,
            &name,
            &case.config,
            &case.inputs,
            &EvalOptions::default(),
            true,
        ));
    }
    worst.print("fixtures");
}

pub(crate) fn standard_workload_matches_the_oracle(ctx: &GpuContext) {
    let (config, inputs) = DefaultBatch::standard(32).build().unwrap();
    let mut worst = Worst::default();
    worst.merge(check(
        ctx,
        "default batch (soft)",
        &config,
        &inputs,
        &EvalOptions::default(),
        true,
    ));
    let opts = EvalOptions::default();
    let t = std::time::Instant::now();
    on_gpu(ctx, &config, &inputs, &opts).unwrap();
    let t_gpu = t.elapsed();
    let t = std::time::Instant::now();
    evaluate(&config, &inputs, &opts).unwrap();
    println!(
        "default batch, one evaluation: GPU path {:.1} ms on {}, CPU oracle {:.1} ms",
        t_gpu.as_secs_f64() * 1e3,
        ctx.adapter(),
        t.elapsed().as_secs_f64() * 1e3
    );
    let yolov5 = Config {
        assigner: Assigner::Yolov5,
        ..config
    };
    worst.merge(check(
        ctx,
        "default batch (YOLOv5)",
        &yolov5,
        &inputs,
        &EvalOptions::default(),
        true,
    ));
    worst.print("default batch (batch 16, 640x640, 80 classes, 32 boxes per image)");
}
