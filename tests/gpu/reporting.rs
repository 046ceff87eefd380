//! How the GPU tests report a machine without an adapter: this test binary run again with
//! the Vulkan driver hidden.

use std::process::{Command, Output};

/// This test binary, run with the Vulkan loader pointed at no driver and `require` as
/// `SOFTOBJ_REQUIRE_GPU`, with every test but the GPU tests skipped.
fn without_an_adapter(require: &str) -> (Output, String) {
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--skip", "reporting::", "--test-threads=1"])
        .env("WGPU_BACKEND", "vulkan")
        .env("VK_ICD_FILENAMES", "/nonexistent")
        .env("VK_DRIVER_FILES", "/nonexistent")
        .env("SOFTOBJ_REQUIRE_GPU", require)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    (out, text)
}

/// Without an adapter every GPU test is reported as ignored with the reason (and the run
/// passes); with `SOFTOBJ_REQUIRE_GPU=1` every one fails, saying why.
pub(crate) fn without_an_adapter_each_test_says_so(gpu_tests: usize) {
    let (out, text) = without_an_adapter("0");
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("GPU tests ignored: no GPU adapter found"),
        "{text}"
    );
    let ignored = text
        .lines()
        .filter(|l| {
            l.ends_with("ignored (no GPU adapter; SOFTOBJ_REQUIRE_GPU=1 makes this a failure)")
        })
        .count();
    assert_eq!(ignored, gpu_tests, "{text}");
    assert!(text.contains(" 0 passed; 0 failed;"), "{text}");

    let (out, text) = without_an_adapter("1");
    assert!(!out.status.success(), "{text}");
    let failed = text
        .lines()
        .filter(|l| l.starts_with("SOFTOBJ_REQUIRE_GPU=1 but no GPU adapter: "))
        .count();
    assert_eq!(failed, gpu_tests, "{text}");
    assert!(
        text.contains(&format!(" 0 passed; {gpu_tests} failed;")),
        "{text}"
    );
}
