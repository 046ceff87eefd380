//! `softobj bench`: the Rust side's time per stage, on the standard workload (batch 16,
//! 640x640, 80 classes, YOLOv5s anchors, f32 predictions) or on a case file. No Python is
//! involved; `bench/vs_pytorch.py` runs this with `--dump DIR --json` so that PyTorch and the
//! oracle see identical inputs.
//!
//! Each stage runs once untimed, then `--reps` times; the table gives the median and the
//! minimum. Outputs are dropped after the clock stops, and inputs a stage consumes (the built
//! targets of the loss stages) are cloned before it starts.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use crate::pin;
use clap::ValueEnum;
use ndarray::{Array2, ArrayD};
use serde_json::{Value, json};
use soft_objectness::assign::{self, matching};
use soft_objectness::default_batch::{self, Workload};
use soft_objectness::loss::compute;
use soft_objectness::{
    Assigner, Case, Config, Error, EvalOptions, Inputs, Prediction, Result, SoftBuilder, Workspace,
    evaluate, npy,
};

/// One timed stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Stage {
    /// `Config::validate` and `Inputs::validate` (every prediction value is checked).
    Validate,
    /// Anchor matching of every layer.
    Match,
    /// Soft targets of every layer, vectorised builder.
    SoftVec,
    /// The same, buffers reused from a workspace.
    SoftVecWs,
    /// Soft targets of every layer, loop builder.
    SoftLoop,
    /// Baseline YOLOv5 targets (rows and neighbour cells) of every layer.
    Baseline,
    /// Loss forward from built targets, no gradient.
    Forward,
    /// Loss forward and the sparse gradient from built targets.
    ForwardGrad,
    /// The same, gradient buffers reused from a workspace.
    ForwardGradWs,
    /// `evaluate`: validation, targets, loss and gradient.
    Evaluate,
    /// `Workspace::evaluate`, each result recycled.
    EvaluateWs,
    /// The sparse gradient expanded to dense f64 arrays (not in the default set).
    Dense,
    /// `Gradient::write_dense_into`: every layer's dense gradient written into a caller's
    /// buffer of the predictions' shape and element type (the buffer reused across runs).
    DenseInto,
    /// Filling a buffer of the predictions' size and element type with zeros, in parallel:
    /// the floor of any dense write.
    Fill,
}

impl Stage {
    const DEFAULT: [Stage; 13] = [
        Stage::Validate,
        Stage::Match,
        Stage::SoftVec,
        Stage::SoftVecWs,
        Stage::SoftLoop,
        Stage::Baseline,
        Stage::Forward,
        Stage::ForwardGrad,
        Stage::ForwardGradWs,
        Stage::Evaluate,
        Stage::EvaluateWs,
        Stage::DenseInto,
        Stage::Fill,
    ];

    fn key(self) -> &'static str {
        match self {
            Stage::Validate => "validate",
            Stage::Match => "match",
            Stage::SoftVec => "soft_vec",
            Stage::SoftVecWs => "soft_vec_ws",
            Stage::SoftLoop => "soft_loop",
            Stage::Baseline => "baseline",
            Stage::Forward => "forward",
            Stage::ForwardGrad => "forward_grad",
            Stage::ForwardGradWs => "forward_grad_ws",
            Stage::Evaluate => "evaluate",
            Stage::EvaluateWs => "evaluate_ws",
            Stage::Dense => "dense",
            Stage::DenseInto => "dense_into",
            Stage::Fill => "fill",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Stage::Validate => "validate (config, every input value)",
            Stage::Match => "anchor matching",
            Stage::SoftVec => "soft targets, vectorised builder",
            Stage::SoftVecWs => "  the same, workspace buffers",
            Stage::SoftLoop => "soft targets, loop builder",
            Stage::Baseline => "baseline YOLOv5 targets",
            Stage::Forward => "loss forward (targets given)",
            Stage::ForwardGrad => "loss forward + gradient (targets given)",
            Stage::ForwardGradWs => "  the same, workspace buffers",
            Stage::Evaluate => "evaluate (all of the above, vectorised)",
            Stage::EvaluateWs => "  the same, workspace buffers",
            Stage::Dense => "gradient to dense f64 arrays",
            Stage::DenseInto => "dense gradient into a caller's buffer",
            Stage::Fill => "  fill a buffer of that size (floor)",
        }
    }
}

#[derive(clap::Args)]
pub struct Args {
    /// Boxes per image of the standard workload.
    #[arg(long, default_value_t = 8)]
    boxes: usize,
    /// Image width and height of the workload in pixels (a multiple of 32).
    #[arg(long, default_value_t = 640)]
    size: usize,
    /// Time this case file instead of the standard workload.
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
    #[arg(long, value_enum, value_delimiter = ',')]
    only: Vec<Stage>,
    /// Write the inputs (case.json + .npy) and the oracle's outputs (tobj, losses, baseline
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

struct Timing {
    stage: Stage,
    threads: usize,
    median: Duration,
    min: Duration,
}

pub fn run(args: &Args) -> Result<ExitCode> {
    let (name, mut config, mut inputs) = match &args.case {
        Some(path) => {
            let case = Case::load(path)?;
            (format!("case {}", path.display()), case.config, case.inputs)
        }
        None => {
            if args.size == 0 || !args.size.is_multiple_of(32) {
                return Err(Error::invalid(
                    "--size",
                    args.size,
                    "must be a positive multiple of 32",
                ));
            }
            let w = Workload {
                width: args.size,
                height: args.size,
                ..Workload::standard(args.boxes)
            };
            let (config, inputs) = default_batch::build(&w);
            let name = format!(
                "standard workload: {} images {}x{}, {} classes, {} boxes/image (seed {:#x})",
                w.batch, w.width, w.height, w.nc, w.boxes_per_image, w.seed
            );
            (name, config, inputs)
        }
    };
    if args.f64 {
        for p in &mut inputs.predictions {
            *p = Prediction::F64(p.to_f64());
        }
    }
    config.validate()?;
    inputs.validate(&config)?;
    let pred_bytes: usize = inputs.predictions.iter().map(prediction_bytes).sum();
    // Peak memory before anything else has run, so that no freed memory is reused.
    let peak = peak_rss_increase(|| {
        let e = evaluate(&config, &inputs, &EvalOptions::default());
        black_box(e.is_ok());
    });
    if let Some(dir) = &args.dump {
        dump(dir, &name, &config, &inputs)?;
    }
    if config.assigner != Assigner::Soft {
        config = Config {
            assigner: Assigner::Soft,
            ..config
        };
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
    let reps = args.reps.max(1);
    let mut timings = Vec::new();
    let mut pool_threads = Vec::new();
    let cpus = match args.pin {
        true => {
            Some(pin::allowed_cpus().map_err(|e| Error::invalid("--pin", true, e.to_string()))?)
        }
        false => None,
    };
    for &n in &pools {
        let pool = thread_pool(n, cpus.as_deref())?;
        let threads = pool.current_num_threads();
        pool_threads.push(threads);
        pool.install(|| -> Result<()> {
            let mut ws = Workspace::new();
            let mut scratch = Scratch::default();
            for &stage in &stages {
                let mut times = Vec::with_capacity(reps);
                warm_up(stage, &config, &inputs, &mut ws, &mut scratch)?;
                for _ in 0..reps {
                    times.push(run_stage(stage, &config, &inputs, &mut ws, &mut scratch)?);
                }
                times.sort();
                timings.push(Timing {
                    stage,
                    threads,
                    median: times[times.len() / 2],
                    min: times[0],
                });
            }
            Ok(())
        })?;
    }

    let nt = inputs.targets.nrows();
    let dtype = match inputs.predictions.first() {
        Some(Prediction::F64(_)) => "f64",
        _ => "f32",
    };
    if args.json {
        let stages: Vec<Value> = timings
            .iter()
            .map(|t| {
                json!({"stage": t.stage.key(), "threads": t.threads,
                       "median_s": t.median.as_secs_f64(), "min_s": t.min.as_secs_f64()})
            })
            .collect();
        let v = json!({
            "workload": name, "targets": nt, "dtype": dtype, "prediction_bytes": pred_bytes,
            "reps": reps, "pinned": args.pin, "stages": stages,
            "memory": {"peak_rss_increase_bytes": peak},
        });
        println!("{v}");
        return Ok(ExitCode::SUCCESS);
    }
    println!("softobj bench: {name}");
    println!(
        "{nt} targets, {dtype} predictions ({:.1} MB), median and minimum of {reps} runs{}",
        pred_bytes as f64 / 1e6,
        if args.pin {
            ", workers pinned one per CPU"
        } else {
            ""
        }
    );
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let mut header = format!("{:<42}", "stage");
    for threads in &pool_threads {
        header.push_str(&format!(" {:>19}", format!("{threads} thr: med / min ms")));
    }
    if pool_threads.len() > 1 {
        header.push_str("  speedup");
    }
    println!("{header}");
    for &stage in &stages {
        let row: Vec<&Timing> = timings.iter().filter(|t| t.stage == stage).collect();
        let mut line = format!("{:<42}", stage.label());
        for t in &row {
            line.push_str(&format!(" {:>10.3} {:>8.3}", ms(t.median), ms(t.min)));
        }
        if row.len() > 1 {
            let first = row[0].median.as_secs_f64();
            let last = row[row.len() - 1].median.as_secs_f64();
            line.push_str(&format!("  {:>6.2}x", first / last));
        }
        println!("{line}");
    }
    match peak {
        Some(b) => println!(
            "peak memory of the first evaluate: +{:.1} MB resident ({:.3}x the prediction arrays)",
            b as f64 / 1e6,
            b as f64 / pred_bytes as f64
        ),
        None => println!("peak memory: unavailable (needs Linux /proc/self/clear_refs)"),
    }
    Ok(ExitCode::SUCCESS)
}

/// A rayon pool of `n` workers (rayon's default size for 0), worker `i` pinned to `cpus[i]`
/// when `cpus` is given.
fn thread_pool(n: usize, cpus: Option<&[usize]>) -> Result<rayon::ThreadPool> {
    let failed =
        |e: String| Error::invalid("--threads", n, format!("cannot start a thread pool: {e}"));
    let mut builder = rayon::ThreadPoolBuilder::new().num_threads(n);
    let errors = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    if let Some(cpus) = cpus {
        let threads = if n == 0 {
            rayon::current_num_threads()
        } else {
            n
        };
        if threads > cpus.len() {
            return Err(Error::invalid(
                "--threads",
                threads,
                format!(
                    "--pin puts one worker per CPU, and this process may use {} CPUs",
                    cpus.len()
                ),
            ));
        }
        let cpus = cpus.to_vec();
        let errors = errors.clone();
        builder = builder.num_threads(threads).start_handler(move |i| {
            if let Err(e) = pin::pin_current_thread(cpus[i]) {
                let mut errors = errors.lock().unwrap_or_else(|p| p.into_inner());
                errors.push(format!("worker {i} on CPU {}: {e}", cpus[i]));
            }
        });
    }
    let pool = builder.build().map_err(|e| failed(e.to_string()))?;
    // Every worker has run its start handler once each has run a job.
    pool.broadcast(|_| ());
    let errors = errors.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(e) = errors.first() {
        return Err(Error::invalid("--pin", true, format!("cannot pin {e}")));
    }
    Ok(pool)
}

fn prediction_bytes(p: &Prediction) -> usize {
    match p {
        Prediction::F32(a) => a.len() * 4,
        Prediction::F64(a) => a.len() * 8,
    }
}

/// Untimed runs of a stage before its timed ones: at least [`WARM_UP_RUNS`] and at least
/// [`WARM_UP`] of them (after validation's 137 MB read and one untimed run, 15 timed runs of
/// the vectorised builder gave a median of 0.071 to 0.079 ms instead of 0.060).
fn warm_up(
    stage: Stage,
    config: &Config,
    inputs: &Inputs,
    ws: &mut Workspace,
    scratch: &mut Scratch,
) -> Result<()> {
    let start = Instant::now();
    let mut runs = 0;
    while runs < WARM_UP_RUNS || start.elapsed() < WARM_UP {
        run_stage(stage, config, inputs, ws, scratch)?;
        runs += 1;
    }
    Ok(())
}

/// Fewest untimed runs of a stage.
const WARM_UP_RUNS: usize = 3;

/// Shortest warm-up of a stage.
const WARM_UP: Duration = Duration::from_millis(20);

/// What the dense stages keep between runs: the caller's buffer (one per element type, every
/// layer's gradient one after the other, written once before any run so that no page fault
/// is timed) and the evaluation whose gradient is written.
#[derive(Default)]
struct Scratch {
    f32: Vec<f32>,
    f64: Vec<f64>,
    eval: Option<soft_objectness::Evaluation>,
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

/// Runs one stage once and returns the time it took.
fn run_stage(
    stage: Stage,
    config: &Config,
    inputs: &Inputs,
    ws: &mut Workspace,
    scratch: &mut Scratch,
) -> Result<Duration> {
    let balance = config.default_balance();
    let t0 = Instant::now();
    let elapsed = match stage {
        Stage::Validate => {
            config.validate()?;
            inputs.validate(config)?;
            t0.elapsed()
        }
        Stage::Match => {
            let grids = assign::grids(config, inputs);
            let m: Vec<_> = grids
                .iter()
                .enumerate()
                .map(|(l, &g)| matching::match_layer(config, inputs.targets.view(), l, g))
                .collect();
            let d = t0.elapsed();
            black_box(m);
            d
        }
        Stage::SoftVec | Stage::SoftLoop | Stage::Baseline => {
            let (assigner, builder) = match stage {
                Stage::SoftVec => (Assigner::Soft, SoftBuilder::Vectorised),
                Stage::SoftLoop => (Assigner::Soft, SoftBuilder::Loop),
                _ => (Assigner::Yolov5, SoftBuilder::Vectorised),
            };
            let config = Config {
                assigner,
                ..config.clone()
            };
            let t0 = Instant::now();
            let t = assign::build(&config, inputs, builder)?;
            let d = t0.elapsed();
            black_box(t);
            d
        }
        Stage::SoftVecWs => {
            let t = ws.build(config, inputs, SoftBuilder::Vectorised)?;
            let d = t0.elapsed();
            ws.recycle_targets(black_box(t));
            d
        }
        Stage::Forward | Stage::ForwardGrad | Stage::ForwardGradWs => {
            let t = ws.build(config, inputs, SoftBuilder::Vectorised)?;
            let t0 = Instant::now();
            let e = match stage {
                Stage::Forward => compute::forward(config, inputs, t, &balance),
                Stage::ForwardGrad => compute::compute(config, inputs, t, &balance),
                _ => ws.compute(config, inputs, t, &balance),
            };
            let d = t0.elapsed();
            ws.recycle(black_box(e));
            d
        }
        Stage::Evaluate => {
            let e = evaluate(config, inputs, &EvalOptions::default())?;
            let d = t0.elapsed();
            black_box(e);
            d
        }
        Stage::EvaluateWs => {
            let e = ws.evaluate(config, inputs, &EvalOptions::default())?;
            let d = t0.elapsed();
            ws.recycle(black_box(e));
            d
        }
        Stage::DenseInto => {
            if scratch.eval.is_none() {
                scratch.eval = Some(evaluate(config, inputs, &EvalOptions::default())?);
            }
            let e = scratch.eval.take().expect("set just above");
            let (mut b32, mut b64) = scratch.buffers(inputs);
            let t0 = Instant::now();
            for (l, p) in inputs.predictions.iter().enumerate() {
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
            scratch.eval = Some(e);
            d
        }
        Stage::Fill => {
            use rayon::prelude::*;
            let (b32, b64) = scratch.buffers(inputs);
            let t0 = Instant::now();
            b32.par_chunks_mut(1 << 16).for_each(|c| c.fill(0.0));
            b64.par_chunks_mut(1 << 16).for_each(|c| c.fill(0.0));
            let d = t0.elapsed();
            black_box((b32.first(), b64.first()));
            d
        }
        Stage::Dense => {
            let e = evaluate(config, inputs, &EvalOptions::default())?;
            let t0 = Instant::now();
            let g = e.grad.to_dense();
            let d = t0.elapsed();
            black_box(g);
            d
        }
    };
    Ok(elapsed)
}

/// The increase of the peak resident set size while `f` runs, in bytes (Linux: the peak is
/// reset through `/proc/self/clear_refs`); `None` where that is unavailable.
fn peak_rss_increase(f: impl FnOnce()) -> Option<u64> {
    fn status_kb(key: &str) -> Option<u64> {
        let s = std::fs::read_to_string("/proc/self/status").ok()?;
        let line = s.lines().find(|l| l.starts_with(key))?;
        line[key.len()..]
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .ok()
    }
    std::fs::write("/proc/self/clear_refs", "5").ok()?;
    let before = status_kb("VmRSS:")?;
    f();
    let peak = status_kb("VmHWM:")?;
    Some(peak.saturating_sub(before) * 1024)
}

/// Writes the inputs as a case with `.npy` arrays and the oracle's outputs beside it.
fn dump(dir: &Path, name: &str, config: &Config, inputs: &Inputs) -> Result<()> {
    let io = |source| Error::Io {
        path: dir.to_path_buf(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(io)?;
    npy::write(&dir.join("targets.npy"), &inputs.targets.clone().into_dyn())?;
    let mut preds = Vec::new();
    for (l, p) in inputs.predictions.iter().enumerate() {
        let file = format!("pred{l}.npy");
        match p {
            Prediction::F32(a) => npy::write(&dir.join(&file), &a.clone().into_dyn())?,
            Prediction::F64(a) => npy::write(&dir.join(&file), &a.clone().into_dyn())?,
        }
        preds.push(json!({"npy": file}));
    }
    let soft = Config {
        assigner: Assigner::Soft,
        ..config.clone()
    };
    let case = json!({
        "format": soft_objectness::case::FORMAT,
        "name": name,
        "config": soft.to_json(),
        "inputs": {"targets": {"npy": "targets.npy"}, "predictions": preds},
    });
    write_json(&dir.join("case.json"), &case)?;

    // The oracle: soft targets, losses and the objectness gradient; baseline rows.
    let e = evaluate(&soft, inputs, &EvalOptions::default())?;
    let mut tobj_files = Vec::new();
    let mut grad_files = Vec::new();
    for (l, layer) in e.layers.iter().enumerate() {
        let file = format!("tobj{l}.npy");
        npy::write(&dir.join(&file), &layer.tobj.clone().into_dyn())?;
        tobj_files.push(file);
        let file = format!("grad_obj{l}.npy");
        npy::write(&dir.join(&file), &e.grad.obj[l].clone().into_dyn())?;
        grad_files.push(file);
    }
    let baseline = Config {
        assigner: Assigner::Yolov5,
        ..config.clone()
    };
    let rows = assign::build(&baseline, inputs, SoftBuilder::Vectorised)?;
    let mut row_files = Vec::new();
    for (l, t) in rows.iter().enumerate() {
        let mut a = Array2::<f64>::zeros((t.rows.len(), 9));
        for (k, r) in t.rows.iter().enumerate() {
            let tb = r.tbox();
            let v = [
                r.b as f64,
                r.a as f64,
                r.gj as f64,
                r.gi as f64,
                tb[0],
                tb[1],
                tb[2],
                tb[3],
                r.class as f64,
            ];
            for (c, x) in v.into_iter().enumerate() {
                a[[k, c]] = x;
            }
        }
        let file = format!("baseline_rows{l}.npy");
        let a: ArrayD<f64> = a.into_dyn();
        npy::write(&dir.join(&file), &a)?;
        row_files.push(file);
    }
    let oracle = json!({
        "loss": e.loss, "lbox": e.lbox, "lobj": e.lobj, "lcls": e.lcls,
        "hard_loss": e.layers.iter().map(|l| l.hard_loss).collect::<Vec<_>>(),
        "soft_loss": e.layers.iter().map(|l| l.soft_loss).collect::<Vec<_>>(),
        "counts": e.layers.iter().map(|l| l.counts).collect::<Vec<_>>(),
        "tobj": tobj_files,
        "grad_obj": grad_files,
        "baseline_rows": row_files,
        "baseline_row_columns": ["b", "a", "gj", "gi", "tx", "ty", "tw", "th", "class"],
    });
    write_json(&dir.join("oracle.json"), &oracle)
}

fn write_json(path: &Path, v: &Value) -> Result<()> {
    let text = serde_json::to_string_pretty(v).map_err(Error::from)?;
    std::fs::write(path, text).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
            "baseline_rows0.npy",
        ] {
            assert!(out.join(f).is_file(), "{f} missing");
        }
        let case = Case::load(out.join("case.json")).unwrap();
        let (config, inputs) = default_batch::build(&Workload {
            width: 64,
            height: 64,
            ..Workload::standard(3)
        });
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
        assert!(run(&a).unwrap_err().to_string().contains("--size"));
    }
}
