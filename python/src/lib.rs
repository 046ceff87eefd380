//! `soft_objectness._core`: the compiled half of the Python package `soft_objectness`.
//!
//! Every function here is a thin wrapper of the core crate: the configuration is read by
//! [`Config::from_json`], inputs are validated and evaluated by [`core_evaluate`] (predictions
//! borrowed from their numpy arrays, never copied, on the [`Backend`] named), answers are
//! judged by [`conformance::check`], cases are read, generated and written by [`Case`],
//! [`Answer`] and [`casegen`]. The GIL is released while the core works; core errors become
//! the exceptions of [`errors`] and a panic becomes `InternalError`. The Python package on top
//! (`python/py_src/soft_objectness`) adds the documented signatures, torch and list
//! conversions, and caching.

use std::path::{Path, PathBuf};

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use rayon::prelude::*;
use soft_objectness::conformance::{self, CheckOptions, Tolerances};
use soft_objectness::{
    Answer, Backend, Case, Config, EvalOptions, Grid, Limits, Named, SoftBuilder,
    build_targets as core_targets, casegen, default_batch, evaluate as core_evaluate,
};

mod config;
mod convert;
mod errors;
mod evaluation;
mod report;

use convert::{Borrowed, RowColumns};
use errors::{guarded, to_py};
use evaluation::PyEvaluation;

/// The soft builder named `name` (`"vectorised"` or `"loop"`).
fn builder_of(py: Python<'_>, name: &str) -> PyResult<SoftBuilder> {
    SoftBuilder::parse("builder", name).map_err(|e| to_py(py, e))
}

/// Runs `f` without the GIL as one job on rayon's pool, a panic caught as [`guarded`] catches
/// it. The core's parallel loops then start inside the pool: the calling thread hands the work
/// over once and is woken once, instead of once per loop (a Python `evaluate` made about 19
/// context switches fewer a call; `build_targets` at 8 boxes per image took 134 us a call
/// against 160 us, the two forms interleaved in one process: docs/performance.md).
fn pooled<T: Send>(
    py: Python<'_>,
    f: impl FnOnce() -> soft_objectness::Result<T> + Send,
) -> PyResult<T> {
    py.detach(|| guarded(|| rayon::scope(|_| f()))).into_py(py)
}

/// Evaluates borrowed inputs on the backend of `opts` without the GIL (on the CPU as one job
/// of rayon's pool).
fn run(
    py: Python<'_>,
    config: &Config,
    inputs: &Borrowed<'_>,
    opts: &EvalOptions,
) -> PyResult<soft_objectness::Evaluation> {
    let view = inputs.view();
    match opts.backend {
        Backend::Cpu(_) => pooled(py, || core_evaluate(config, &view, opts)),
        _ => py
            .detach(|| guarded(|| core_evaluate(config, &view, opts)))
            .into_py(py),
    }
}

/// Evaluates one batch; see `soft_objectness.evaluate`.
#[pyfunction]
#[pyo3(signature = (config, targets, predictions, builder = "vectorised", backend = "cpu", balance = None))]
fn evaluate<'py>(
    py: Python<'py>,
    config: &Bound<'py, PyAny>,
    targets: &Bound<'py, PyAny>,
    predictions: Vec<Bound<'py, PyAny>>,
    builder: &str,
    backend: &str,
    balance: Option<Vec<f64>>,
) -> PyResult<PyEvaluation> {
    let inputs = Borrowed::new(targets, &predictions)?;
    let config = config::read(config, inputs.nc_hint())?;
    let backend =
        Backend::parse("backend", backend, builder_of(py, builder)?).map_err(|e| to_py(py, e))?;
    let mut opts = EvalOptions::with_backend(backend);
    opts.balance = balance;
    let e = run(py, &config, &inputs, &opts)?;
    Ok(PyEvaluation { e, config })
}

/// The address of the first element the core reads of each prediction layer, through the
/// same borrowing as `evaluate` (tests use it to show that nothing is copied).
#[pyfunction]
fn _prediction_addresses<'py>(
    targets: &Bound<'py, PyAny>,
    predictions: Vec<Bound<'py, PyAny>>,
) -> PyResult<Vec<usize>> {
    let inputs = Borrowed::new(targets, &predictions)?;
    let view = inputs.view();
    Ok(view
        .predictions
        .iter()
        .map(|p| match p {
            soft_objectness::PredictionView::F32(a) => a.as_ptr() as usize,
            soft_objectness::PredictionView::F64(a) => a.as_ptr() as usize,
        })
        .collect())
}

/// The targets of every layer from the layer shapes alone (`(bs, na, ny, nx)`, or a
/// prediction's five-dimensional shape); see `soft_objectness.build_targets`.
#[pyfunction]
#[pyo3(signature = (config, targets, shapes, builder = "vectorised"))]
fn build_targets<'py>(
    py: Python<'py>,
    config: &Bound<'py, PyAny>,
    targets: &Bound<'py, PyAny>,
    shapes: Vec<Vec<usize>>,
    builder: &str,
) -> PyResult<Bound<'py, PyList>> {
    let builder = builder_of(py, builder)?;
    let t = convert::targets(targets)?;
    let config = config::read(config, None)?;
    let grids = grids_of(&shapes)?;
    let view = t.view();
    // The same pool job builds the targets and gathers the layers' rows into columns in
    // parallel (where they were just written); Python gets arrays that own the columns.
    let layers = pooled(py, || {
        let layers = core_targets(&config, view, &grids, builder)?;
        Ok(layers
            .into_par_iter()
            .enumerate()
            .map(|(l, t)| (t.tobj, RowColumns::new(&t.rows, &config, l)))
            .collect::<Vec<_>>())
    })?;
    let list = PyList::empty(py);
    for (tobj, rows) in layers {
        let d = PyDict::new(py);
        d.set_item("tobj", numpy::PyArray::from_owned_array(py, tobj))?;
        d.set_item("rows", rows.into_py(py)?)?;
        list.append(d)?;
    }
    Ok(list)
}

/// The grid of each layer shape: `(bs, na, ny, nx)`, or a prediction's five-dimensional shape.
fn grids_of(shapes: &[Vec<usize>]) -> PyResult<Vec<Grid>> {
    shapes
        .iter()
        .enumerate()
        .map(|(i, s)| match s[..] {
            [bs, na, ny, nx] | [bs, na, ny, nx, _] => Ok(Grid { bs, na, ny, nx }),
            _ => Err(pyo3::exceptions::PyTypeError::new_err(format!(
                "shapes[{i}]: expected (bs, na, ny, nx), got {s:?}"
            ))),
        })
        .collect()
}

/// Seconds of each of `reps` runs of the core's `build_targets` (vectorised builder) on the
/// same arguments as `build_targets`, each timed around the core call alone (no Python
/// conversion): the Rust builder measured in this process, for `bench/python_api.py`.
/// `in_pool`: the runs are made from a worker of rayon's global pool, back to back, as
/// `softobj bench` times its stages; otherwise from the calling thread (outside the pool, as
/// every Python call and a Rust program's main thread make them), each run handing its work to
/// the pool and waiting for it. The first error is the caller's.
#[pyfunction]
fn _time_build_targets<'py>(
    py: Python<'py>,
    config: &Bound<'py, PyAny>,
    targets: &Bound<'py, PyAny>,
    shapes: Vec<Vec<usize>>,
    reps: usize,
    in_pool: bool,
) -> PyResult<Vec<f64>> {
    let t = convert::targets(targets)?;
    let config = config::read(config, None)?;
    let grids = grids_of(&shapes)?;
    let view = t.view();
    let time = || {
        let mut seconds = Vec::with_capacity(reps);
        for _ in 0..reps {
            let t0 = std::time::Instant::now();
            let built = core_targets(&config, view, &grids, SoftBuilder::Vectorised)?;
            seconds.push(t0.elapsed().as_secs_f64());
            drop(std::hint::black_box(built));
        }
        Ok(seconds)
    };
    if in_pool {
        pooled(py, time)
    } else {
        py.detach(|| guarded(time)).into_py(py)
    }
}

/// Compares `answer` with the oracle's evaluation of the inputs; see `soft_objectness.check`.
#[pyfunction]
#[pyo3(signature = (config, targets, predictions, answer, tolerances, listed = 8, base_dir = None))]
#[allow(clippy::too_many_arguments)]
fn check<'py>(
    py: Python<'py>,
    config: &Bound<'py, PyAny>,
    targets: &Bound<'py, PyAny>,
    predictions: Vec<Bound<'py, PyAny>>,
    answer: &Bound<'py, PyAny>,
    tolerances: (f64, f64, f64, f64),
    listed: usize,
    base_dir: Option<PathBuf>,
) -> PyResult<Bound<'py, PyDict>> {
    let (rtol, atol, tobj_atol, grad_rtol) = tolerances;
    let mut opts = CheckOptions::default();
    opts.tolerances = Tolerances {
        rtol,
        atol,
        tobj_atol,
        grad_rtol,
    };
    opts.listed = listed;
    opts.validate().map_err(|e| to_py(py, e))?;
    let inputs = Borrowed::new(targets, &predictions)?;
    let config = config::read(config, inputs.nc_hint())?;
    let (answer, warnings) = convert::answer(answer, base_dir.as_deref())?;
    let view = inputs.view();
    let report = pooled(py, || conformance::check(&config, &view, &answer, &opts))?;
    let d = report::report_out(py, &report)?;
    d.set_item("warnings", warnings)?;
    Ok(d)
}

/// Reads a case file; returns the case as a dict and the reader's warnings.
#[pyfunction]
fn load_case<'py>(py: Python<'py>, path: PathBuf) -> PyResult<(Bound<'py, PyDict>, Vec<String>)> {
    let mut case = py
        .detach(|| guarded(|| Case::load(&path, &Limits::default())))
        .into_py(py)?;
    let warnings = std::mem::take(&mut case.warnings);
    Ok((convert::case_out(py, case)?, warnings))
}

/// Reads a case given as Python data in the JSON form (as `json.load` returns it: arrays as
/// `{"shape", "data"}` or `{"npy": FILE}`) through the case reader; returns it in the dict
/// form of `load_case` and the reader's warnings.
#[pyfunction]
#[pyo3(signature = (case, base_dir = None))]
fn read_case<'py>(
    py: Python<'py>,
    case: &Bound<'py, PyAny>,
    base_dir: Option<PathBuf>,
) -> PyResult<(Bound<'py, PyDict>, Vec<String>)> {
    let v = convert::value_of(case, "case", 0)?;
    let mut case = py
        .detach(|| guarded(|| Case::from_value(&v, base_dir.as_deref(), &Limits::default())))
        .into_py(py)?;
    let warnings = std::mem::take(&mut case.warnings);
    Ok((convert::case_out(py, case)?, warnings))
}

/// Reads an answer (a JSON answer, a case with `expected`, or an `--out` folder).
#[pyfunction]
fn load_answer<'py>(py: Python<'py>, path: PathBuf) -> PyResult<Bound<'py, PyDict>> {
    let a = py
        .detach(|| guarded(|| Answer::load(&path, &Limits::default())))
        .into_py(py)?;
    convert::answer_out(py, a)
}

/// An answer from Python data, read as `check` reads it; returns it in the dict form and the
/// reader's warnings.
#[pyfunction]
#[pyo3(signature = (answer, base_dir = None))]
fn read_answer<'py>(
    py: Python<'py>,
    answer: &Bound<'py, PyAny>,
    base_dir: Option<PathBuf>,
) -> PyResult<(Bound<'py, PyDict>, Vec<String>)> {
    let (a, warnings) = convert::answer(answer, base_dir.as_deref())?;
    Ok((convert::answer_out(py, a)?, warnings))
}

/// An array in the case format's JSON form (`{"shape", "data"}` or `{"npy": FILE}`) as a
/// numpy array (`.npy` files keep their dtype; inline data is float64).
#[pyfunction]
#[pyo3(signature = (obj, field, base_dir = None))]
fn read_array<'py>(
    py: Python<'py>,
    obj: &Bound<'py, PyAny>,
    field: &str,
    base_dir: Option<PathBuf>,
) -> PyResult<Bound<'py, PyAny>> {
    Ok(
        match convert::json_array(obj, field, base_dir.as_deref())? {
            soft_objectness::npy::NpyArray::F32(a) => {
                numpy::PyArray::from_owned_array(py, a).into_any()
            }
            soft_objectness::npy::NpyArray::F64(a) => {
                numpy::PyArray::from_owned_array(py, a).into_any()
            }
        },
    )
}

/// Writes a case as `softobj gen` does (`STEM.json`, with `npy` the layers as `STEM.pL.npy`);
/// returns the files written.
#[pyfunction]
#[pyo3(signature = (path, name, config, targets, predictions, expected = None, npy = false))]
#[allow(clippy::too_many_arguments)]
fn write_case<'py>(
    py: Python<'py>,
    path: PathBuf,
    name: String,
    config: &Bound<'py, PyAny>,
    targets: &Bound<'py, PyAny>,
    predictions: Vec<Bound<'py, PyAny>>,
    expected: Option<&Bound<'py, PyAny>>,
    npy: bool,
) -> PyResult<Vec<PathBuf>> {
    let inputs = Borrowed::new(targets, &predictions)?;
    let config = config::read(config, inputs.nc_hint())?;
    let expected = expected
        .filter(|e| !e.is_none())
        .map(|e| convert::answer(e, None).map(|(a, _)| a))
        .transpose()?;
    let view = inputs.view();
    let (dir, stem) = split_path(&path);
    py.detach(|| {
        guarded(|| {
            view.validate(&config)?;
            let case = Case {
                name,
                config: config.clone(),
                inputs: convert::owned(&view),
                expected,
                warnings: Vec::new(),
            };
            let opts = casegen::WriteOptions { npy, force: true };
            casegen::write_case(&case, &dir, &stem, &opts)
        })
    })
    .into_py(py)
}

/// The folder and the file stem of `path` (`DIR/STEM.json`, or `DIR/STEM`).
fn split_path(path: &Path) -> (PathBuf, String) {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "case".into());
    let stem = name.strip_suffix(".json").unwrap_or(&name).to_string();
    (dir, stem)
}

/// Cases as `softobj gen` makes them: `(file stem, case dict)` pairs.
#[pyfunction]
#[pyo3(signature = (count, seed = 0, edge = false, width = 64, height = 64, batch = 2, nc = 3, with_expected = false))]
#[allow(clippy::too_many_arguments)]
fn gen_cases<'py>(
    py: Python<'py>,
    count: u64,
    seed: u64,
    edge: bool,
    width: usize,
    height: usize,
    batch: usize,
    nc: usize,
    with_expected: bool,
) -> PyResult<Vec<(String, Bound<'py, PyDict>)>> {
    let cases = if edge {
        casegen::Cases::Edge
    } else {
        let image = format!("{width}x{height}");
        let shape = serde_json::json!({"image": image, "batch": batch, "nc": nc, "nl": 3, "na": 3});
        let space = guarded(|| casegen::CaseSpace::from_json(&shape)).into_py(py)?;
        casegen::Cases::Random { count, space }
    };
    let mut request = casegen::Generate::new(cases, seed);
    request.with_expected = with_expected;
    let cases = py
        .detach(|| guarded(|| casegen::generate(&request)))
        .into_py(py)?;
    cases
        .into_iter()
        .map(|g| Ok((g.stem, convert::case_out(py, g.case)?)))
        .collect()
}

/// The default batch of the benchmarks ([`default_batch::DefaultBatch`]) as a case dict.
#[pyfunction(name = "default_batch")]
#[pyo3(signature = (boxes_per_image = 8, batch = 16, size = 640, nc = 80, seed = default_batch::DefaultBatch::SEED))]
fn default_batch_case<'py>(
    py: Python<'py>,
    boxes_per_image: usize,
    batch: usize,
    size: usize,
    nc: usize,
    seed: u64,
) -> PyResult<Bound<'py, PyDict>> {
    let b = default_batch::DefaultBatch {
        batch,
        width: size,
        height: size,
        nc,
        boxes_per_image,
        seed,
    };
    let (config, inputs) = py.detach(|| guarded(|| b.build())).into_py(py)?;
    let case = Case {
        name: format!("default batch ({boxes_per_image} boxes per image)"),
        config,
        inputs,
        expected: None,
        warnings: Vec::new(),
    };
    convert::case_out(py, case)
}

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    errors::register(m)?;
    m.add_class::<PyEvaluation>()?;
    m.add_class::<config::PyConfig>()?;
    m.add_function(wrap_pyfunction!(evaluate, m)?)?;
    m.add_function(wrap_pyfunction!(_prediction_addresses, m)?)?;
    m.add_function(wrap_pyfunction!(build_targets, m)?)?;
    m.add_function(wrap_pyfunction!(_time_build_targets, m)?)?;
    m.add_function(wrap_pyfunction!(check, m)?)?;
    m.add_function(wrap_pyfunction!(load_case, m)?)?;
    m.add_function(wrap_pyfunction!(read_case, m)?)?;
    m.add_function(wrap_pyfunction!(load_answer, m)?)?;
    m.add_function(wrap_pyfunction!(read_answer, m)?)?;
    m.add_function(wrap_pyfunction!(read_array, m)?)?;
    m.add_function(wrap_pyfunction!(write_case, m)?)?;
    m.add_function(wrap_pyfunction!(gen_cases, m)?)?;
    m.add_function(wrap_pyfunction!(default_batch_case, m)?)?;
    let presets = PyDict::new(m.py());
    for (name, t) in [("f64", Tolerances::F64), ("f32", Tolerances::F32)] {
        presets.set_item(name, (t.rtol, t.atol, t.tobj_atol, t.grad_rtol))?;
    }
    m.add("PRESETS", presets)?;
    m.add("ANSWER_KEYS", Answer::KEYS.to_vec())?;
    m.add("CASE_KEYS", Case::KEYS.to_vec())?;
    m.add("FORMAT", Case::FORMAT)?;
    m.add("MAX_ELEMENTS", Limits::default().max_elements)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
