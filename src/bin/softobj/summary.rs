//! The default command: the embedded default batch through both assigners, with timings.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use soft_objectness::default_batch::DefaultBatch;
use soft_objectness::internals::loss::compute;
use soft_objectness::{Assigner, Config, Grid, Inputs, Named, Result, SoftBuilder, build_targets};

#[derive(clap::Args)]
pub struct Args {
    /// Boxes per image.
    #[arg(long, default_value_t = 8)]
    boxes: usize,
    /// Repetitions per stage; the median is reported.
    #[arg(long, default_value_t = 11)]
    reps: usize,
}

impl Default for Args {
    fn default() -> Self {
        Args { boxes: 8, reps: 11 }
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn time<T>(reps: usize, mut f: impl FnMut() -> Result<T>) -> Result<(T, Duration)> {
    // One untimed run first: it pays for page faults and wakes the thread pool.
    f()?;
    let mut times = Vec::with_capacity(reps);
    let mut last = None;
    for _ in 0..reps.max(1) {
        let t0 = Instant::now();
        last = Some(f()?);
        times.push(t0.elapsed());
    }
    Ok((last.expect("at least one repetition"), median(times)))
}

fn ms(d: Duration) -> String {
    format!("{:8.3} ms", d.as_secs_f64() * 1e3)
}

pub fn run(args: &Args) -> Result<ExitCode> {
    let reps = args.reps.max(1);
    let w = DefaultBatch::standard(args.boxes);
    let t0 = Instant::now();
    let (config, inputs) = w.build()?;
    let t_gen = t0.elapsed();
    println!(
        "soft-objectness default batch: {} images {}x{}, {} classes, {} boxes (seed {:#x}), YOLOv5s anchors, {} rayon threads",
        w.batch,
        w.width,
        w.height,
        w.nc,
        inputs.targets.nrows(),
        w.seed,
        rayon::current_num_threads()
    );
    println!("generated in {}\n", ms(t_gen));
    for assigner in [Assigner::Soft, Assigner::Yolov5] {
        let config = Config {
            assigner,
            ..config.clone()
        };
        report(&config, &inputs, reps)?;
    }
    Ok(ExitCode::SUCCESS)
}

fn report(config: &Config, inputs: &Inputs, reps: usize) -> Result<()> {
    println!(
        "== {} assigner: {}",
        config.assigner.name(),
        config.assigner.meaning()
    );
    let (_, t_validate) = time(reps, || {
        config.validate().and_then(|_| inputs.validate(config))
    })?;
    let grids = Grid::of(config, &inputs.view());
    let build = |builder| build_targets(config, inputs.targets.view(), &grids, builder);
    let (targets, t_build) = time(reps, || build(SoftBuilder::Vectorised))?;
    let t_loop = if config.assigner == Assigner::Soft {
        Some(time(reps, || build(SoftBuilder::Loop))?.1)
    } else {
        None
    };
    let balance = config.default_balance();
    let (e, t_loss) = time(reps, || {
        Ok(compute::compute(config, inputs, targets.clone(), &balance))
    })?;
    println!(
        "loss {:.6}  (lbox {:.6}  lobj {:.6}  lcls {:.6})",
        e.loss, e.lbox, e.lobj, e.lcls
    );
    println!("layer  grid     rows   positive       soft   negative   H_i        S_i");
    for (l, r) in e.layers.iter().enumerate() {
        let (_, _, ny, nx) = r.tobj.dim();
        println!(
            "P{}     {:>3}x{:<3} {:>6} {:>10} {:>10} {:>10}   {:.6}   {:.6}",
            l + 3,
            ny,
            nx,
            r.rows.len(),
            r.counts.positive,
            r.counts.soft,
            r.counts.negative,
            r.hard_loss,
            r.soft_loss
        );
    }
    println!("time (median of {reps}, after one untimed run):");
    println!("  validate            {}", ms(t_validate));
    println!("  targets (vectorised){}", ms(t_build));
    if let Some(t) = t_loop {
        println!("  targets (loop)      {}", ms(t));
    }
    println!("  loss + gradient     {}\n", ms(t_loss));
    Ok(())
}
