//! How `softobj bench` times: a rayon pool per `--threads` size (workers pinned with `--pin`),
//! untimed warm-up runs, then `--reps` timed runs of each stage; and the peak memory of one
//! evaluation.

use std::time::{Duration, Instant};

use soft_objectness::{Error, Result, Workspace};

use super::stages::{Bench, Scratch, Stage, run_stage};
use crate::pin;

/// The median and minimum time of one stage on one pool.
pub struct Timing {
    pub stage: Stage,
    pub threads: usize,
    pub median: Duration,
    pub min: Duration,
}

/// Fewest untimed runs of a stage.
const WARM_UP_RUNS: usize = 3;

/// Shortest warm-up of a stage.
const WARM_UP: Duration = Duration::from_millis(20);

/// What to time: the stages, on which pool sizes, how often, pinned or not.
pub struct Plan<'a> {
    pub stages: &'a [Stage],
    /// Pool sizes (0: rayon's default size).
    pub pools: &'a [usize],
    pub reps: usize,
    pub pin: bool,
}

/// Times every stage on every pool: the timings, and each pool's number of threads.
pub fn time_all(plan: &Plan, bench: &mut Bench) -> Result<(Vec<Timing>, Vec<usize>)> {
    let cpus = match plan.pin {
        true => {
            Some(pin::allowed_cpus().map_err(|e| Error::invalid("--pin", true, e.to_string()))?)
        }
        false => None,
    };
    let mut timings = Vec::new();
    let mut pool_threads = Vec::new();
    for &n in plan.pools {
        let pool = thread_pool(n, cpus.as_deref())?;
        let threads = pool.current_num_threads();
        pool_threads.push(threads);
        bench.ws = Workspace::new();
        bench.scratch = Scratch::default();
        pool.install(|| -> Result<()> {
            for &stage in plan.stages {
                let mut times = Vec::with_capacity(plan.reps);
                warm_up(stage, bench)?;
                for _ in 0..plan.reps {
                    times.push(run_stage(stage, bench)?);
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
    Ok((timings, pool_threads))
}

/// Untimed runs of a stage before its timed ones: at least [`WARM_UP_RUNS`] and at least
/// [`WARM_UP`] of them, so that the first timed run finds its caches and pages as the later
/// ones do (docs/performance.md).
fn warm_up(stage: Stage, bench: &mut Bench) -> Result<()> {
    let start = Instant::now();
    let mut runs = 0;
    while runs < WARM_UP_RUNS || start.elapsed() < WARM_UP {
        run_stage(stage, bench)?;
        runs += 1;
    }
    Ok(())
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

/// The increase of the peak resident set size while `f` runs, in bytes (Linux: the peak is
/// reset through `/proc/self/clear_refs`); `None` where that is unavailable.
pub fn peak_rss_increase(f: impl FnOnce()) -> Option<u64> {
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
