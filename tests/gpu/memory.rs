//! Repeated evaluations reuse their buffers and do not grow memory.

use soft_objectness::EvalOptions;
use soft_objectness::default_batch::DefaultBatch;
use soft_objectness::gpu::GpuContext;

use crate::common::on_gpu;
use crate::common::own_ctx;

/// Resident memory of this process, in bytes (Linux; `None` elsewhere).
fn rss() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = s.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

/// The body of the memory test, run alone in a child process by
/// `a_thousand_evaluations_do_not_grow_memory` (so that other tests do not disturb the
/// process's memory). Ignored when the suite runs.
pub(crate) fn memory_probe(_: &GpuContext) {
    let ctx = own_ctx();
    let (config, inputs) = DefaultBatch {
        batch: 2,
        width: 128,
        height: 128,
        nc: 4,
        boxes_per_image: 6,
        seed: 1,
    }
    .build()
    .unwrap();
    let opts = EvalOptions::default();
    let run = |n: usize| {
        for _ in 0..n {
            on_gpu(&ctx, &config, &inputs, &opts).unwrap();
        }
    };
    run(100);
    let (pool_bytes, pool_len) = ctx.pooled();
    let before = rss();
    run(1000);
    assert_eq!(ctx.pooled(), (pool_bytes, pool_len), "the buffer pool grew");
    if let (Some(b), Some(a)) = (before, rss()) {
        let growth = a.saturating_sub(b);
        println!(
            "memory probe: pool {pool_bytes} bytes in {pool_len} buffers; resident {b} -> {a} bytes over 1000 evaluations"
        );
        assert!(
            growth < 8 << 20,
            "resident memory grew by {growth} bytes over 1000 evaluations"
        );
    }
    ctx.release_buffers();
    assert_eq!(ctx.pooled(), (0, 0));
}

pub(crate) fn a_thousand_evaluations_do_not_grow_memory(_: &GpuContext) {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--ignored",
            "--exact",
            "memory::memory_probe",
            "--nocapture",
            "--test-threads=1",
        ])
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && text.contains("1 passed"), "{text}");
    for line in text
        .lines()
        .filter_map(|l| l.find("memory probe:").map(|i| &l[i..]))
    {
        println!("{line}");
    }
}
