//! The GPU path (`Backend::Gpu`, cargo feature `gpu`) against the f64 CPU oracle.
//!
//! One module per subject; every test shares one device (`common`). Without an adapter the device tests print why and pass,
//! unless `SOFTOBJ_REQUIRE_GPU=1` (set by `.ci/run`), which makes them fail. The measured worst
//! errors are printed (`-- --nocapture`) and recorded in docs/gpu.md.

#[cfg(not(feature = "gpu"))]
#[test]
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
