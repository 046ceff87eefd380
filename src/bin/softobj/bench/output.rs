//! What `softobj bench` prints: a table of medians and minima per stage and pool, or JSON.

use std::time::Duration;

use serde_json::{Value, json};
use soft_objectness::Named;

use super::batch::Batch;
use super::stages::Stage;
use super::timing::Timing;

/// Everything the output reports besides the timings.
pub struct Summary<'a> {
    pub batch: &'a Batch,
    pub reps: usize,
    pub pinned: bool,
    /// The peak memory of the first evaluation, in bytes.
    pub peak: Option<u64>,
}

/// The report as JSON: the batch, then per stage and pool its name, threads, median and
/// minimum in seconds.
pub fn json(s: &Summary, timings: &[Timing]) -> Value {
    let stages: Vec<Value> = timings
        .iter()
        .map(|t| {
            json!({"stage": t.stage.name(), "threads": t.threads,
                   "median_s": t.median.as_secs_f64(), "min_s": t.min.as_secs_f64()})
        })
        .collect();
    json!({
        "batch": s.batch.name, "targets": s.batch.inputs.targets.nrows(),
        "dtype": s.batch.dtype(), "prediction_bytes": s.batch.prediction_bytes(),
        "reps": s.reps, "pinned": s.pinned, "stages": stages,
        "memory": {"peak_rss_increase_bytes": s.peak},
    })
}

/// The report as a table: one line per stage, a column pair (median, minimum in ms) per pool
/// and, with several pools, the speedup of the last over the first.
pub fn table(s: &Summary, stages: &[Stage], timings: &[Timing], pool_threads: &[usize]) -> String {
    let b = s.batch;
    let pred_bytes = b.prediction_bytes();
    let mut out = format!("softobj bench: {}\n", b.name);
    out.push_str(&format!(
        "{} targets, {} predictions ({:.1} MB), median and minimum of {} runs{}\n",
        b.inputs.targets.nrows(),
        b.dtype(),
        pred_bytes as f64 / 1e6,
        s.reps,
        if s.pinned {
            ", workers pinned one per CPU"
        } else {
            ""
        }
    ));
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let mut header = format!("{:<42}", "stage");
    for threads in pool_threads {
        header.push_str(&format!(" {:>19}", format!("{threads} thr: med / min ms")));
    }
    if pool_threads.len() > 1 {
        header.push_str("  speedup");
    }
    out.push_str(&format!("{header}\n"));
    for &stage in stages {
        let row: Vec<&Timing> = timings.iter().filter(|t| t.stage == stage).collect();
        let mut line = format!("{:<42}", stage.meaning());
        for t in &row {
            line.push_str(&format!(" {:>10.3} {:>8.3}", ms(t.median), ms(t.min)));
        }
        if row.len() > 1 {
            let first = row[0].median.as_secs_f64();
            let last = row[row.len() - 1].median.as_secs_f64();
            line.push_str(&format!("  {:>6.2}x", first / last));
        }
        out.push_str(&format!("{line}\n"));
    }
    out.push_str(&match s.peak {
        Some(p) => format!(
            "peak memory of the first evaluate: +{:.1} MB resident ({:.3}x the prediction arrays)",
            p as f64 / 1e6,
            p as f64 / pred_bytes as f64
        ),
        None => "peak memory: unavailable (needs Linux /proc/self/clear_refs)".into(),
    });
    out
}
