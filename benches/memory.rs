//! Peak heap of an evaluation, measured by a counting global allocator (not a criterion
//! benchmark): `cargo bench --bench memory`.
//!
//! For the default batch (batch 16, 640x640, 80 classes) at 8 and 32 boxes per image, with
//! f32 and f64 predictions, it prints the largest number of bytes allocated at once during
//! `evaluate` beyond what was allocated before it (the predictions themselves), as a fraction of
//! the prediction arrays, and fails (exit code 1) when the whole footprint, predictions
//! included, passes 1.3 times the prediction arrays (the memory budget of docs/performance.md). No f64 copy of f32
//! predictions and no dense gradient may appear, or the check fails.

use std::alloc::{GlobalAlloc, Layout, System};
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use soft_objectness::default_batch::DefaultBatch;
use soft_objectness::{EvalOptions, Prediction, Workspace, evaluate};

/// The system allocator, counting the bytes in use and their peak.
struct Counting;

static IN_USE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(n: usize) {
    let now = IN_USE.fetch_add(n, Relaxed) + n;
    PEAK.fetch_max(now, Relaxed);
}

// SAFETY: every call is forwarded to `System` unchanged; only counters are updated.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        IN_USE.fetch_sub(layout.size(), Relaxed);
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            if new_size >= layout.size() {
                grew(new_size - layout.size());
            } else {
                IN_USE.fetch_sub(layout.size() - new_size, Relaxed);
            }
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Peak bytes in use while `f` runs, beyond those in use when it starts.
fn peak_during<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let base = IN_USE.load(Relaxed);
    PEAK.store(base, Relaxed);
    let out = f();
    (out, PEAK.load(Relaxed) - base)
}

const LIMIT: f64 = 1.3;

fn main() -> ExitCode {
    // `cargo bench` passes `--bench`; any other argument is a filter, which this ignores.
    let mut ok = true;
    println!(
        "peak heap of evaluate (counting allocator), default batch: batch 16, 640x640, 80 classes"
    );
    println!(
        "{:>6} {:>5} {:>14} {:>14} {:>10} {:>12} {:>14}",
        "boxes", "dtype", "predictions MB", "eval peak MB", "extra", "with preds", "workspace MB"
    );
    for boxes in [8, 32] {
        for dtype in ["f32", "f64"] {
            let (config, mut inputs) = DefaultBatch::standard(boxes).build().unwrap();
            if dtype == "f64" {
                for p in &mut inputs.predictions {
                    *p = Prediction::F64(p.to_f64());
                }
            }
            let pred: usize = inputs
                .predictions
                .iter()
                .map(|p| match p {
                    Prediction::F32(a) => a.len() * 4,
                    Prediction::F64(a) => a.len() * 8,
                })
                .sum();
            let opts = EvalOptions::default();
            let (e, peak) = peak_during(|| evaluate(&config, &inputs, &opts).unwrap());
            // Steady state of a loop with a workspace: the peak of the second evaluation.
            let mut ws = Workspace::new();
            ws.recycle(e);
            let (e, ws_peak) = peak_during(|| ws.evaluate(&config, &inputs, &opts).unwrap());
            drop(e);
            let extra = peak as f64 / pred as f64;
            let total = (pred + peak) as f64 / pred as f64;
            ok &= total <= LIMIT;
            println!(
                "{boxes:>6} {dtype:>5} {:>14.1} {:>14.2} {:>9.3}x {:>11.3}x {:>14.2}",
                pred as f64 / 1e6,
                peak as f64 / 1e6,
                extra,
                total,
                ws_peak as f64 / 1e6
            );
        }
    }
    if ok {
        println!("ok: every evaluation stays within {LIMIT}x the prediction arrays");
        ExitCode::SUCCESS
    } else {
        println!("FAILED: an evaluation needs more than {LIMIT}x the prediction arrays");
        ExitCode::FAILURE
    }
}
