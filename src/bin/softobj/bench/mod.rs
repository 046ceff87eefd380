//! `softobj bench`: the Rust side's time per stage, on the default batch (batch 16, 640x640,
//! 80 classes, YOLOv5s anchors, f32 predictions) or on a case file. No Python is involved;
//! `bench/vs_pytorch.py` runs this with `--dump DIR --json` so that PyTorch and the oracle see
//! identical inputs.
//!
//! Each stage runs untimed a few times, then `--reps` times; the table gives the median and the
//! minimum. The parts: `batch` (what is timed, and `--dump`), `stages` (each stage's work),
//! `timing` (pools, warm-up, repetitions, peak memory), `output` (the table and the JSON).

mod batch;
mod output;
mod stages;
mod timing;

use std::hint::black_box;
use std::path::PathBuf;
use std::process::ExitCode;

use soft_objectness::{EvalOptions, Result, Workspace, evaluate};

use crate::vocab::named;
use batch::Batch;
use stages::{Bench, Scratch, Stage};
use timing::{Plan, peak_rss_increase, time_all};

#[derive(clap::Args)]
pub struct Args {
    /// Boxes per image of the default batch.
    #[arg(long, default_value_t = 8)]
    boxes: usize,
    /// Image width and height of the default batch in pixels (a multiple of 32).
    #[arg(long, default_value_t = 640)]
    size: usize,
    /// Time this case file instead of the default batch.
    #[arg(long, conflicts_with_all = ["boxes", "size"])]
    case: Option<PathBuf>,
    /// Timed repetitions per stage (after untimed warm-up runs: at least 3, and at least
    /// 20 ms of them).
    #[arg(long, default_value_t = 21)]
    reps: usize,
    /// Widen f32 predictions to f64 before timing.
    #[arg(long)]
    f64: bool,
    /// Rayon pool sizes to time every stage with, e.g. `1,2` (default: one pool of rayon's
    /// default size, `RAYON_NUM_THREADS` or the number of CPUs).
    #[arg(long, value_delimiter = ',', value_parser = parse_threads)]
    threads: Vec<usize>,
    /// Pin worker `i` of each pool to the `i`-th CPU this process may use (Linux; at most one
    /// worker per CPU). Without it the scheduler sometimes keeps both workers of a 2-thread
    /// pool on one CPU for a whole process (docs/performance.md, "Threads").
    #[arg(long)]
    pin: bool,
    /// Only these stages (comma separated).
    #[arg(long, value_delimiter = ',', value_parser = named::<Stage>())]
    only: Vec<Stage>,
    /// Write the inputs (case.json + .npy) and the oracle's outputs (tobj, losses, YOLOv5
    /// rows, objectness gradient) to DIR before timing.
    #[arg(long)]
    dump: Option<PathBuf>,
    /// Print JSON on stdout instead of the table.
    #[arg(long)]
    json: bool,
}

/// A pool size of at least 1 (omitting `--threads` gives rayon's default size).
fn parse_threads(s: &str) -> std::result::Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(0) => Err("0 threads: give at least 1 (omit --threads for rayon's default)".into()),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("expected a number of threads >= 1, got {s:?}")),
    }
}

pub fn run(args: &Args) -> Result<ExitCode> {
    let batch = Batch::of(args)?;
    // Peak memory before anything else has run, so that no freed memory is reused.
    let peak = peak_rss_increase(|| {
        let e = evaluate(&batch.config, &batch.inputs, &EvalOptions::default());
        black_box(e.is_ok());
    });
    if let Some(dir) = &args.dump {
        batch.dump(dir)?;
    }
    let stages: Vec<Stage> = if args.only.is_empty() {
        Stage::DEFAULT.to_vec()
    } else {
        args.only.clone()
    };
    let pools = if args.threads.is_empty() {
        vec![0]
    } else {
        args.threads.clone()
    };
    let plan = Plan {
        stages: &stages,
        pools: &pools,
        reps: args.reps.max(1),
        pin: args.pin,
    };
    let config = batch.soft();
    let mut bench = Bench {
        config: &config,
        inputs: &batch.inputs,
        ws: Workspace::new(),
        scratch: Scratch::default(),
    };
    let (timings, pool_threads) = time_all(&plan, &mut bench)?;
    let summary = output::Summary {
        batch: &batch,
        reps: plan.reps,
        pinned: args.pin,
        peak,
    };
    if args.json {
        println!("{}", output::json(&summary, &timings));
    } else {
        println!(
            "{}",
            output::table(&summary, &stages, &timings, &pool_threads)
        );
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;
    use soft_objectness::default_batch::DefaultBatch;
    use soft_objectness::{Case, Limits};

    fn args(dir: Option<PathBuf>, case: Option<PathBuf>) -> Args {
        Args {
            boxes: 3,
            size: 64,
            case,
            reps: 1,
            f64: false,
            threads: vec![1, 2],
            pin: false,
            only: Vec::new(),
            dump: dir,
            json: true,
        }
    }

    /// `--dump` writes a case that loads back to the same inputs, with the oracle's outputs
    /// beside it, and `--case` times that case through every default stage.
    #[test]
    fn dump_then_time_the_dumped_case() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("w");
        run(&args(Some(out.clone()), None)).unwrap();
        for f in [
            "case.json",
            "oracle.json",
            "targets.npy",
            "pred0.npy",
            "tobj2.npy",
            "grad_obj1.npy",
            "yolov5_rows0.npy",
        ] {
            assert!(out.join(f).is_file(), "{f} missing");
        }
        let case = Case::load(out.join("case.json"), &Limits::default()).unwrap();
        let (config, inputs) = DefaultBatch {
            width: 64,
            height: 64,
            ..DefaultBatch::standard(3)
        }
        .build()
        .unwrap();
        assert_eq!(case.inputs, inputs);
        let oracle: Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("oracle.json")).unwrap())
                .unwrap();
        let e = evaluate(&config, &inputs, &EvalOptions::default()).unwrap();
        assert_eq!(oracle["loss"].as_f64(), Some(e.loss));
        assert_eq!(
            oracle["counts"][0]["soft"].as_u64(),
            Some(e.layers[0].counts.soft)
        );
        run(&args(None, Some(out.join("case.json")))).unwrap();
    }

    #[test]
    fn bad_size_is_refused() {
        let a = Args {
            size: 100,
            ..args(None, None)
        };
        let err = run(&a).unwrap_err();
        assert_eq!(err.field(), Some("default_batch.width"), "{err}");
    }
}
