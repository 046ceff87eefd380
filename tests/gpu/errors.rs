//! Errors: the oracle's validation first, a lost device, an unknown adapter name; the CLI.

#[cfg(feature = "cli")]
use std::path::Path;

use ndarray::{Array3, Array5};
use soft_objectness::GpuError;
use soft_objectness::gpu::GpuContext;
use soft_objectness::internals::gpu as testing;
use soft_objectness::{
    Ciou, Config, Distance, Error, EvalOptions, Inputs, Prediction, Score, evaluate,
};

use crate::common::on_gpu;
use crate::common::{one_box, own_ctx};

pub(crate) fn bad_input_gives_the_oracles_error_before_any_device_work(ctx: &GpuContext) {
    let good = || {
        let config = Config {
            nc: 2,
            anchors: Array3::from_elem((1, 1, 2), 3.0),
            ..Config::default()
        };
        let inputs = Inputs {
            targets: ndarray::array![[0.0, 1.0, 0.4, 0.55, 0.43, 0.3]],
            predictions: vec![Prediction::F32(Array5::zeros((1, 1, 8, 8, 7)))],
        };
        (config, inputs, EvalOptions::default())
    };
    let mut cases: Vec<(&str, Config, Inputs, EvalOptions)> = Vec::new();
    let (mut c, i, o) = good();
    c.score = Score::Gaussian { sigma: -1.0 };
    cases.push(("sigma", c, i, o));
    let (mut c, i, o) = good();
    c.score = Score::Power { n: 3 };
    cases.push(("odd n", c, i, o));
    let (c, mut i, o) = good();
    i.targets[[0, 0]] = 1.0;
    cases.push(("image", c, i, o));
    let (c, mut i, o) = good();
    i.targets[[0, 4]] = f64::NAN;
    cases.push(("nan", c, i, o));
    let (c, mut i, o) = good();
    i.predictions[0] = Prediction::F32(Array5::zeros((1, 1, 8, 8, 6)));
    cases.push(("shape", c, i, o));
    let (c, i, mut o) = good();
    o.balance = Some(vec![1.0, 2.0]);
    cases.push(("balance length", c, i, o));
    let (c, i, mut o) = good();
    o.balance = Some(vec![-1.0]);
    cases.push(("balance value", c, i, o));
    for (what, config, inputs, opts) in cases {
        let cpu = evaluate(&config, &inputs, &opts).unwrap_err().to_string();
        let gpu = on_gpu(ctx, &config, &inputs, &opts)
            .unwrap_err()
            .to_string();
        assert_eq!(gpu, cpu, "{what}");
    }
}

/// Spec section 8 (revision 2.1): with `ciou: v7.0`, a matched row whose predicted width or
/// height underflows to exactly 0 in f64 is refused with the CPU path's error, naming the
/// layer, the row and the logit; on the host, before any device work, so even a lost device
/// answers with it. v6.0 evaluates the same input.
pub(crate) fn an_empty_v7_box_is_refused_before_any_device_work(ctx: &GpuContext) {
    let case = |ciou| {
        let config = Config {
            nc: 2,
            anchors: Array3::from_elem((2, 1, 2), 3.0),
            ciou,
            ..Config::default()
        };
        let mut p1 = Array5::<f32>::zeros((2, 1, 4, 4, 7));
        p1[[1, 0, 1, 2, 3]] = -400.0;
        let inputs = Inputs {
            targets: ndarray::array![
                [0.0, 1.0, 0.4, 0.55, 0.43, 0.3],
                [1.0, 0.0, 0.6, 0.4, 0.4, 0.5]
            ],
            predictions: vec![
                Prediction::F32(Array5::zeros((2, 1, 8, 8, 7))),
                Prediction::F32(p1),
            ],
        };
        (config, inputs)
    };
    let opts = EvalOptions::default();
    let (c6, inputs) = case(Ciou::V6);
    let gpu6 = on_gpu(ctx, &c6, &inputs, &opts).unwrap();
    assert!(gpu6.loss.is_finite());
    let (c7, _) = case(Ciou::V7);
    let cpu = evaluate(&c7, &inputs, &opts).unwrap_err();
    assert!(
        matches!(cpu, Error::Invalid { .. })
            && cpu.to_string().starts_with(
                "inputs.predictions[1] at [1, 0, 1, 2, 3]: with ciou v7.0 a logit must not \
                 underflow the predicted height of matched row 1 to exactly 0"
            ),
        "{cpu}"
    );
    let gpu = on_gpu(ctx, &c7, &inputs, &opts).unwrap_err();
    assert!(matches!(gpu, Error::Invalid { .. }), "{gpu:?}");
    assert_eq!(gpu.to_string(), cpu.to_string());
    let lost = own_ctx();
    testing::destroy_device(&lost);
    let e = on_gpu(&lost, &c7, &inputs, &opts).unwrap_err();
    assert_eq!(e.to_string(), cpu.to_string());
    // The v6.0 case reaches the device, which fails.
    let e = on_gpu(&lost, &c6, &inputs, &opts).unwrap_err();
    assert!(matches!(e, Error::Gpu(_)), "{e}");
}

pub(crate) fn a_lost_device_is_an_error_not_a_panic(_: &GpuContext) {
    let lost = own_ctx();
    let (config, inputs) = one_box(
        Score::Power { n: 10 },
        Distance::CellIndex,
        [0.4, 0.55, 0.43, 0.3],
    );
    on_gpu(&lost, &config, &inputs, &EvalOptions::default()).unwrap();
    testing::destroy_device(&lost);
    for _ in 0..2 {
        let e = on_gpu(&lost, &config, &inputs, &EvalOptions::default()).unwrap_err();
        assert!(matches!(e, Error::Gpu(GpuError::DeviceLost { .. })), "{e}");
        println!("after destroy: {e}");
    }
}

#[cfg(feature = "cli")]
pub(crate) fn cli_backend_gpu_answers_like_the_cpu(_: &GpuContext) {
    let case = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/worked_example_power10.json");
    if !case.exists() {
        eprintln!("skipping: {} is missing", case.display());
        return;
    }
    let run = |backend: &str| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_softobj"))
            .args([
                "eval",
                case.to_str().unwrap(),
                "--compact",
                "--backend",
                backend,
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{backend}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    let (g, c) = (run("gpu"), run("cpu"));
    assert_eq!(g["counts"], c["counts"]);
    let (gl, cl) = (g["loss"].as_f64().unwrap(), c["loss"].as_f64().unwrap());
    assert!((gl - cl).abs() <= 2e-5 * cl.abs(), "{gl} vs {cl}");
}

#[cfg(feature = "cli")]
pub(crate) fn an_unknown_adapter_name_says_what_exists(_: &GpuContext) {
    let case = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/worked_example_power10.json");
    if !case.exists() {
        return;
    }
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_softobj"))
        .args(["eval", case.to_str().unwrap(), "--backend", "gpu"])
        .env("WGPU_ADAPTER_NAME", "no such adapter 1234")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("WGPU_ADAPTER_NAME") && err.contains("matches none"),
        "{err}"
    );
}
