//! Test hooks, not API: the submodule `soft_objectness._core._testing`, for the package's tests
//! and `bench/python_api.py`.

use pyo3::prelude::*;
use soft_objectness::{PredictionView, SoftBuilder};

use crate::arrays::Borrowed;
use crate::config;
use crate::errors::{Result, detached, pooled};
use crate::evaluation::grids_of;

/// The address of the first element the core reads of each prediction layer, through the same
/// borrowing as `evaluate` (the tests show with it that nothing is copied).
#[pyfunction]
pub fn prediction_addresses(
    targets: &Bound<'_, PyAny>,
    predictions: &Bound<'_, PyAny>,
) -> Result<Vec<usize>> {
    let inputs = Borrowed::new(targets, predictions)?;
    let view = inputs.view();
    Ok(view
        .predictions
        .iter()
        .map(|p| match p {
            PredictionView::F32(a) => a.as_ptr() as usize,
            PredictionView::F64(a) => a.as_ptr() as usize,
        })
        .collect())
}

/// Seconds of each of `reps` runs of the core's `build_targets` (vectorised builder) on the
/// same arguments as `build_targets`, each timed around the core call alone (no Python
/// conversion): the Rust builder measured in this process, for `bench/python_api.py`.
/// `in_pool`: the runs are made from a worker of rayon's global pool, back to back, as
/// `softobj bench` times its stages; otherwise from the calling thread (outside the pool, as
/// every Python call and a Rust program's main thread make them), each run handing its work to
/// the pool and waiting for it. The first error is the caller's.
#[pyfunction]
pub fn time_build_targets(
    py: Python<'_>,
    config: &Bound<'_, PyAny>,
    targets: &Bound<'_, PyAny>,
    shapes: &Bound<'_, PyAny>,
    reps: usize,
    in_pool: bool,
) -> Result<Vec<f64>> {
    let t = crate::arrays::targets(targets)?;
    let config = config::read(config, None)?;
    let grids = grids_of(shapes)?;
    let view = t.view();
    let time = || {
        let mut seconds = Vec::with_capacity(reps);
        for _ in 0..reps {
            let t0 = std::time::Instant::now();
            let built =
                soft_objectness::build_targets(&config, view, &grids, SoftBuilder::Vectorised)?;
            seconds.push(t0.elapsed().as_secs_f64());
            drop(std::hint::black_box(built));
        }
        Ok(seconds)
    };
    if in_pool {
        pooled(py, time)
    } else {
        detached(py, time)
    }
}
