//! The GPU path (`Backend::Gpu`, cargo feature `gpu`) against the f64 CPU oracle.
//!
//! One module per subject; every test shares one device (`common`). The target runs under
//! its own harness (`harness = false`, libtest-mimic) so that a missing adapter shows in the
//! test output: without one every GPU test is reported as ignored, with the reason, unless
//! `SOFTOBJ_REQUIRE_GPU=1` (set by `.ci/run`), which makes them fail. The measured worst
//! errors are printed and recorded in docs/gpu.md. The usual arguments work (a name filter,
//! `--exact`, `--ignored`, `--list`, `--test-threads`).

use libtest_mimic::{Arguments, Trial};

#[cfg(not(feature = "gpu"))]
fn without_the_feature_the_gpu_is_a_clear_error() {
    use soft_objectness::{Backend, Error, GpuError, SoftBuilder, gpu};
    let e = Backend::gpu().unwrap_err();
    assert!(matches!(e, Error::Gpu(GpuError::NotCompiled)), "{e}");
    assert!(
        e.to_string().contains("not compiled with GPU support"),
        "{e}"
    );
    assert!(matches!(
        gpu::GpuContext::new(),
        Err(Error::Gpu(GpuError::NotCompiled))
    ));
    assert!(gpu::GpuContext::shared().is_err());
    let e = Backend::parse("backend", "gpu", SoftBuilder::default()).unwrap_err();
    assert!(matches!(e, Error::Gpu(GpuError::NotCompiled)), "{e}");
}

#[cfg(feature = "gpu")]
mod chunks;
#[cfg(feature = "gpu")]
mod ciou;
#[cfg(feature = "gpu")]
mod common;
#[cfg(feature = "gpu")]
mod errors;
#[cfg(feature = "gpu")]
mod exact;
#[cfg(feature = "gpu")]
mod fixtures;
#[cfg(feature = "gpu")]
mod memory;
#[cfg(feature = "gpu")]
mod random;
#[cfg(all(feature = "gpu", target_os = "linux"))]
mod reporting;

fn main() {
    quiet_device_select();
    let args = Arguments::from_args();
    #[cfg(feature = "gpu")]
    if !args.list
        && let Some(why) = common::why_ignored()
    {
        eprintln!("{why}");
    }
    libtest_mimic::run(&args, trials()).exit();
}

/// Without a display session, switches off Mesa's device-select layer, whose libwayland
/// prints `error: XDG_RUNTIME_DIR is invalid or not set` for every device opened; the tests
/// need no display (`softobj` does the same; a user's own setting is kept).
fn quiet_device_select() {
    if std::env::var_os("XDG_RUNTIME_DIR").is_none()
        && std::env::var_os("NODEVICE_SELECT").is_none()
    {
        // SAFETY: the first thing `main` does, before any other thread of this process exists.
        unsafe { std::env::set_var("NODEVICE_SELECT", "1") };
    }
}

#[cfg(not(feature = "gpu"))]
fn trials() -> Vec<Trial> {
    vec![Trial::test(
        "without_the_feature_the_gpu_is_a_clear_error",
        || {
            without_the_feature_the_gpu_is_a_clear_error();
            Ok(())
        },
    )]
}

/// `module::test` for each GPU test, named as the built-in harness would name it.
#[cfg(feature = "gpu")]
macro_rules! gpu_trials {
    ($($module:ident :: $test:ident),* $(,)?) => {
        vec![$(common::gpu_trial(
            concat!(stringify!($module), "::", stringify!($test)),
            $module::$test,
        )),*]
    };
}

#[cfg(feature = "gpu")]
fn trials() -> Vec<Trial> {
    let mut trials = gpu_trials![
        chunks::splitting_by_image_changes_no_target_or_gradient,
        chunks::two_dimensional_dispatch_changes_nothing,
        chunks::the_same_case_twice_is_bit_identical,
        ciou::the_gpu_follows_the_configured_release,
        errors::bad_input_gives_the_oracles_error_before_any_device_work,
        errors::an_empty_v7_box_is_refused_before_any_device_work,
        errors::a_lost_device_is_an_error_not_a_panic,
        exact::exact_comparisons_decide_like_the_oracle,
        exact::named_exact_cases,
        exact::emulated_f64_addition_is_exact,
        fixtures::every_fixture_matches_the_oracle,
        fixtures::standard_workload_matches_the_oracle,
        memory::a_thousand_evaluations_do_not_grow_memory,
        random::random_cases_match_the_oracle,
    ];
    #[cfg(feature = "cli")]
    trials.extend(gpu_trials![
        errors::cli_backend_gpu_answers_like_the_cpu,
        errors::an_unknown_adapter_name_says_what_exists,
    ]);
    #[cfg(target_os = "linux")]
    {
        let gpu_tests = trials.len();
        trials.push(Trial::test(
            "reporting::without_an_adapter_each_test_says_so",
            move || {
                reporting::without_an_adapter_each_test_says_so(gpu_tests);
                Ok(())
            },
        ));
    }
    // Run only in a process of its own, by `a_thousand_evaluations_do_not_grow_memory`.
    trials.push(
        common::gpu_trial("memory::memory_probe", memory::memory_probe).with_ignored_flag(true),
    );
    trials
}
