//! The GPU path (`soft_objectness::gpu`, cargo feature `gpu`) against the f64 CPU oracle.
//!
//! One module per subject; every test shares one device (`common`). Without an adapter the device tests print why and pass,
//! unless `SOFTOBJ_REQUIRE_GPU=1` (set by `.ci/run`), which makes them fail. The measured worst
//! errors are printed (`-- --nocapture`) and recorded in docs/gpu.md.

#[cfg(not(feature = "gpu"))]
#[test]
fn without_the_feature_the_gpu_is_a_clear_error() {
    use soft_objectness::gpu::{self, GpuError};
    use soft_objectness::{Config, Error, EvalOptions, Inputs, Prediction};
    let config = Config {
        nc: 2,
        anchors: ndarray::Array3::from_elem((1, 1, 2), 3.0),
        ..Config::default()
    };
    let inputs = Inputs {
        targets: ndarray::array![[0.0, 1.0, 0.4, 0.55, 0.43, 0.3]],
        predictions: vec![Prediction::F32(ndarray::Array5::zeros((1, 1, 8, 8, 7)))],
    };
    let e = gpu::evaluate(None, &config, &inputs, &EvalOptions::default()).unwrap_err();
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
}

#[cfg(feature = "gpu")]
mod chunks;
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
