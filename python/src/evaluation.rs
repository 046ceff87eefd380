//! Evaluating and building targets: `evaluate`, `build_targets` and the [`PyEvaluation`] they
//! return, whose arrays are built on first access and cached, so that an evaluation costs what
//! the core's costs.

use numpy::{
    PyArray, PyArrayDescrMethods, PyArrayDyn, PyArrayMethods, PyUntypedArray,
    PyUntypedArrayMethods, dtype,
};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyList, PySequence};
use rayon::prelude::*;
use soft_objectness::{
    Answer, Backend, Config, EvalOptions, Evaluation, GradElement, Grid, InputsView, Named,
    SoftBuilder,
};

use crate::arrays::{Borrowed, from_tensor, is_tensor, type_error, type_name};
use crate::config;
use crate::errors::{Result, detached, pooled};
use crate::outputs::{RowColumns, answer_out, counts_out};

/// The oracle's result for one batch (spec section 7).
///
/// Scalars and per layer lists are plain Python values; arrays are float64 numpy arrays built
/// on first access and cached (`grad` is dense and large: ask for it only when needed).
#[pyclass(module = "soft_objectness", name = "Evaluation", frozen)]
pub struct PyEvaluation {
    pub(crate) e: Evaluation,
    pub(crate) config: Config,
    counts: PyOnceLock<Py<PyList>>,
    tobj: PyOnceLock<Py<PyList>>,
    rows: PyOnceLock<Py<PyList>>,
    grad: PyOnceLock<Py<PyList>>,
}

/// The cached list in `cell`, built by `build` on first use.
fn cached<'py>(
    py: Python<'py>,
    cell: &PyOnceLock<Py<PyList>>,
    build: impl FnOnce() -> Result<Bound<'py, PyList>>,
) -> Result<Bound<'py, PyList>> {
    let list = cell.get_or_try_init(py, || build().map(Bound::unbind))?;
    Ok(list.bind(py).clone())
}

impl PyEvaluation {
    /// The evaluation `e` made under `config`.
    pub fn new(e: Evaluation, config: Config) -> Self {
        PyEvaluation {
            e,
            config,
            counts: PyOnceLock::new(),
            tobj: PyOnceLock::new(),
            rows: PyOnceLock::new(),
            grad: PyOnceLock::new(),
        }
    }
}

#[pymethods]
impl PyEvaluation {
    /// `(lbox + lobj + lcls) * bs`.
    #[getter]
    fn loss(&self) -> f64 {
        self.e.loss
    }

    /// The box loss after its gain.
    #[getter]
    fn lbox(&self) -> f64 {
        self.e.lbox
    }

    /// The objectness loss after its gain.
    #[getter]
    fn lobj(&self) -> f64 {
        self.e.lobj
    }

    /// The class loss after its gain.
    #[getter]
    fn lcls(&self) -> f64 {
        self.e.lcls
    }

    /// The layer balance after the autobalance update.
    #[getter]
    fn balance(&self) -> Vec<f64> {
        self.e.balance.clone()
    }

    /// Per layer mean hard objectness loss `H_i`.
    #[getter]
    fn hard_loss(&self) -> Vec<f64> {
        self.e.layers.iter().map(|l| l.hard_loss).collect()
    }

    /// Per layer mean soft objectness loss `S_i`.
    #[getter]
    fn soft_loss(&self) -> Vec<f64> {
        self.e.layers.iter().map(|l| l.soft_loss).collect()
    }

    /// Per layer cell counts `{"positive", "negative", "soft"}`.
    #[getter]
    fn counts<'py>(&self, py: Python<'py>) -> Result<Bound<'py, PyList>> {
        cached(py, &self.counts, || {
            let list = PyList::empty(py);
            for l in &self.e.layers {
                list.append(counts_out(py, &l.counts)?)?;
            }
            Ok(list)
        })
    }

    /// Per layer objectness targets `[bs, na, ny, nx]`, float64.
    #[getter]
    fn tobj<'py>(&self, py: Python<'py>) -> Result<Bound<'py, PyList>> {
        cached(py, &self.tobj, || {
            let list = PyList::empty(py);
            for l in &self.e.layers {
                list.append(PyArray::from_array(py, &l.tobj))?;
            }
            Ok(list)
        })
    }

    /// Per layer matched rows as a dict of arrays: `b, a, gj, gi, class` (int64 `[n]`), `tbox`
    /// (`[n, 4]`: `gx - gi, gy - gj, gw, gh`) and `anchor` (`[n, 2]`, grid units).
    #[getter]
    fn rows<'py>(&self, py: Python<'py>) -> Result<Bound<'py, PyList>> {
        cached(py, &self.rows, || {
            let list = PyList::empty(py);
            for (l, layer) in self.e.layers.iter().enumerate() {
                list.append(RowColumns::new(&layer.rows, &self.config, l).into_dict(py)?)?;
            }
            Ok(list)
        })
    }

    /// Per layer `d loss / d predictions`, float64, shaped like the predictions (dense: built
    /// on first access, without the GIL).
    #[getter]
    fn grad<'py>(&self, py: Python<'py>) -> Result<Bound<'py, PyList>> {
        cached(py, &self.grad, || {
            let dense = detached(py, || Ok(self.e.grad.to_dense()))?;
            let list = PyList::empty(py);
            for g in dense {
                list.append(PyArray::from_owned_array(py, g))?;
            }
            Ok(list)
        })
    }

    /// Writes `scale * grad` into the caller's arrays, one per layer, without building
    /// `grad`: the memory-speed form a training loop's backward wants.
    ///
    /// Args:
    ///     out: per layer a writable, C-contiguous float32 or float64 numpy array or CPU torch
    ///         tensor of the layer's prediction shape (the predictions' own dtype is the usual
    ///         choice). Every element is overwritten; each component is computed in float64,
    ///         multiplied by `scale` and rounded once to the array's dtype.
    ///     scale: a factor applied to every component (`grad_output` in a backward).
    ///
    /// Raises:
    ///     TypeError: an array is not an array, has another dtype, or is not C-contiguous.
    ///     ValueError: the wrong number of arrays, a wrong shape, or a read-only array.
    #[pyo3(signature = (out, scale = 1.0))]
    fn grad_into(&self, py: Python<'_>, out: &Bound<'_, PyAny>, scale: f64) -> Result<()> {
        if out.is_instance_of::<PyUntypedArray>() || is_tensor(out) {
            return Err(type_error(
                "out: expected a list of arrays, one per layer; got a single array".into(),
            ));
        }
        let out = out.cast::<PySequence>()?;
        let nl = self.e.layers.len();
        if out.len()? != nl {
            return Err(PyValueError::new_err(format!(
                "out: expected {nl} arrays (one per layer), got {}",
                out.len()?
            ))
            .into());
        }
        for (l, obj) in out.try_iter()?.enumerate() {
            let (obj, arg) = (obj?, format!("out[{l}]"));
            let obj = if is_tensor(&obj) {
                from_tensor(&obj, &arg, false)?
            } else {
                obj
            };
            write_layer(py, &self.e, l, &obj, scale, &arg)?;
        }
        Ok(())
    }

    /// The answer of this evaluation as `softobj eval` prints it (a dict shaped like a case's
    /// `expected`, arrays as numpy arrays), for `write_answer` or `check`.
    fn to_answer<'py>(&self, py: Python<'py>) -> Result<Bound<'py, PyDict>> {
        let a = detached(py, || Ok(Answer::from_evaluation(&self.e, &self.config)))?;
        answer_out(py, a)
    }

    fn __repr__(&self) -> String {
        let e = &self.e;
        format!(
            "Evaluation(loss={:?}, lbox={:?}, lobj={:?}, lcls={:?}, layers={})",
            e.loss,
            e.lbox,
            e.lobj,
            e.lcls,
            e.layers.len()
        )
    }
}

/// Layer `l` of the gradient into `obj`, checked: a writable C-contiguous float32 or float64
/// array of the layer's shape; written without the GIL.
fn write_layer(
    py: Python<'_>,
    e: &Evaluation,
    l: usize,
    obj: &Bound<'_, PyAny>,
    scale: f64,
    arg: &str,
) -> Result<()> {
    let a = obj.cast::<PyUntypedArray>().map_err(|_| {
        type_error(format!(
            "{arg}: expected a writable numpy array or CPU torch tensor, got {}",
            type_name(obj)
        ))
    })?;
    let (bs, na, ny, nx) = e.grad.obj[l].dim();
    let want = [bs, na, ny, nx, e.grad.no];
    if a.shape() != want {
        return Err(PyValueError::new_err(format!(
            "{arg}: shape mismatch: expected {want:?} (the layer's predictions), got {:?}",
            a.shape()
        ))
        .into());
    }
    if !a.is_c_contiguous() {
        return Err(type_error(format!(
            "{arg}: not C-contiguous; the gradient is written in standard layout \
             (numpy.empty(shape, dtype) or torch.empty(shape) give one)"
        )));
    }
    let dt = a.dtype();
    if dt.is_equiv_to(&dtype::<f32>(py)) {
        return write_typed::<f32>(py, e, l, obj, scale, arg);
    }
    if dt.is_equiv_to(&dtype::<f64>(py)) {
        return write_typed::<f64>(py, e, l, obj, scale, arg);
    }
    Err(PyTypeError::new_err(format!(
        "{arg}: dtype {} cannot hold the gradient; use float32 or float64",
        crate::arrays::dtype_name(a)
    ))
    .into())
}

/// [`write_layer`] once the element type is known: borrow `obj` writable, write without the GIL.
fn write_typed<T: GradElement + numpy::Element>(
    py: Python<'_>,
    e: &Evaluation,
    l: usize,
    obj: &Bound<'_, PyAny>,
    scale: f64,
    arg: &str,
) -> Result<()> {
    let refused = |e: &dyn std::fmt::Display| PyValueError::new_err(format!("{arg}: {e}"));
    let mut w = obj
        .cast::<PyArrayDyn<T>>()?
        .try_readwrite()
        .map_err(|e| refused(&e))?;
    let out = w.as_slice_mut().map_err(|e| refused(&e))?;
    detached(py, || e.grad.write_dense_into(l, scale, out))
}

/// The options of an evaluation from the names of its builder and backend (the GPU's device is
/// opened without the GIL, once per process).
pub fn eval_options(
    py: Python<'_>,
    builder: &str,
    backend: &str,
    balance: Option<Vec<f64>>,
) -> Result<EvalOptions> {
    let builder = SoftBuilder::parse("builder", builder)?;
    let backend = detached(py, || Backend::parse("backend", backend, builder))?;
    let opts = EvalOptions::with_backend(backend);
    Ok(match balance {
        Some(b) => opts.balance(b),
        None => opts,
    })
}

/// Evaluates `inputs` under `config` without the GIL (on the CPU as one job of rayon's pool).
pub fn run(
    py: Python<'_>,
    config: Config,
    inputs: &InputsView<'_>,
    opts: &EvalOptions,
) -> Result<PyEvaluation> {
    let e = match opts.backend {
        Backend::Cpu(_) => pooled(py, || soft_objectness::evaluate(&config, inputs, opts))?,
        _ => detached(py, || soft_objectness::evaluate(&config, inputs, opts))?,
    };
    Ok(PyEvaluation::new(e, config))
}

/// Evaluates the loss, targets and gradient of one batch.
///
/// Args:
///     config: the case format's `config` (same keys, defaults, validation and messages as a
///         case file; `nc` may be left out, it is then read from the predictions), or a
///         `Config` read once (what a training loop passes: no reading per call). `anchors`
///         may be a numpy array `[nl, na, 2]` or `{"shape", "data"}`.
///     targets: `[nt, 6]` rows `(image, class, x, y, w, h)`, normalised. Any real dtype or a
///         nested list (converted once to float64: they are small).
///     predictions: one `[bs, na, ny, nx, 5 + nc]` array per layer. float32 and float64 numpy
///         arrays (any strides) and CPU torch tensors are read where they lie, never copied;
///         nested lists are converted once to float64; other dtypes (float16, integers) are
///         refused with a `TypeError` naming the argument, dtype and layout; CUDA tensors are
///         refused (pass `t.detach().cpu()`). Do not modify the arrays from another thread
///         while the call runs.
///     builder: the soft assigner's builder, `"vectorised"` or `"loop"` (same bits).
///     backend: `"cpu"` (the float64 oracle) or `"gpu"` (the WGSL shaders in float32, through
///         wgpu; the predictions are uploaded from where they lie).
///     balance: the layer balance in force (autobalance state from an earlier evaluation);
///         default the configuration's.
///
/// Raises:
///     CaseError: a rule of the case format or spec section 8 is broken, or an unknown
///         builder or backend; the message names the field, e.g. `inputs.predictions[1] at
///         [0, 2, 3, 4, 5]: must be a finite number (got NaN)`.
///     TypeError: an argument is not an array, or not of a dtype the oracle reads.
///     GpuError: `backend="gpu"` without a usable adapter.
#[pyfunction]
#[pyo3(signature = (config, targets, predictions, *, builder = "vectorised", backend = "cpu", balance = None))]
pub fn evaluate(
    py: Python<'_>,
    config: &Bound<'_, PyAny>,
    targets: &Bound<'_, PyAny>,
    predictions: &Bound<'_, PyAny>,
    builder: &str,
    backend: &str,
    balance: Option<Vec<f64>>,
) -> Result<PyEvaluation> {
    let inputs = Borrowed::new(targets, predictions)?;
    let config = config::read(config, inputs.nc_hint())?;
    let opts = eval_options(py, builder, backend, balance)?;
    run(py, config, &inputs.view(), &opts)
}

/// The targets of every layer from the layer shapes alone (no predictions): what a training
/// loop needs before its own loss.
///
/// Args:
///     config: as for `evaluate` (`nc` required), a dict or a `Config`.
///     targets: as for `evaluate`.
///     shapes: per layer `(bs, na, ny, nx)` of non-negative integers; a prediction's 5-D shape
///         works too (its first four entries are used).
///     builder: `"vectorised"` or `"loop"`.
///
/// Returns:
///     Per layer `{"tobj": [bs, na, ny, nx] float64, "rows": {b, a, gj, gi, tbox, anchor,
///     class}}`, the same as an evaluation's `tobj` and `rows` (for the `yolov5` assigner
///     `tobj` is zeros: its targets are the IoUs of the predictions).
#[pyfunction]
#[pyo3(signature = (config, targets, shapes, *, builder = "vectorised"))]
pub fn build_targets<'py>(
    py: Python<'py>,
    config: &Bound<'py, PyAny>,
    targets: &Bound<'py, PyAny>,
    shapes: &Bound<'py, PyAny>,
    builder: &str,
) -> Result<Bound<'py, PyList>> {
    let builder = SoftBuilder::parse("builder", builder)?;
    let t = crate::arrays::targets(targets)?;
    let config = config::read(config, None)?;
    let grids = grids_of(shapes)?;
    let view = t.view();
    // The same pool job builds the targets and gathers the layers' rows into columns in
    // parallel (where they were just written); Python gets arrays that own the columns.
    let layers = pooled(py, || {
        let layers = soft_objectness::build_targets(&config, view, &grids, builder)?;
        Ok(layers
            .into_par_iter()
            .enumerate()
            .map(|(l, t)| (t.tobj, RowColumns::new(&t.rows, &config, l)))
            .collect::<Vec<_>>())
    })?;
    let list = PyList::empty(py);
    for (tobj, rows) in layers {
        let d = PyDict::new(py);
        d.set_item("tobj", PyArray::from_owned_array(py, tobj))?;
        d.set_item("rows", rows.into_dict(py)?)?;
        list.append(d)?;
    }
    Ok(list)
}

/// The grid of each layer shape: `(bs, na, ny, nx)`, or a prediction's five-dimensional shape,
/// every entry a non-negative integer (an error names `shapes[i][j]`).
pub fn grids_of(shapes: &Bound<'_, PyAny>) -> Result<Vec<Grid>> {
    let not_a_shape = |i: usize, got: String| {
        type_error(format!("shapes[{i}]: expected (bs, na, ny, nx), got {got}"))
    };
    let mut grids = Vec::new();
    for (i, shape) in shapes
        .extract::<Vec<Bound<'_, PyAny>>>()?
        .iter()
        .enumerate()
    {
        let items: Vec<Bound<'_, PyAny>> = shape
            .extract()
            .map_err(|_| not_a_shape(i, type_name(shape)))?;
        let dims = items
            .iter()
            .enumerate()
            .map(|(j, d)| dim(d, i, j))
            .collect::<Result<Vec<usize>>>()?;
        match dims[..] {
            [bs, na, ny, nx] | [bs, na, ny, nx, _] => grids.push(Grid { bs, na, ny, nx }),
            _ => return Err(not_a_shape(i, format!("{dims:?}"))),
        }
    }
    Ok(grids)
}

/// Entry `j` of layer shape `i`: an integer from 0 up (an error names `shapes[i][j]`).
fn dim(obj: &Bound<'_, PyAny>, i: usize, j: usize) -> Result<usize> {
    if let Ok(n) = obj.extract::<usize>() {
        return Ok(n);
    }
    let field = format!("shapes[{i}][{j}]");
    Err(match obj.extract::<i128>() {
        Ok(n) => soft_objectness::Error::invalid(field, n, "must be a non-negative integer"),
        Err(_) => soft_objectness::Error::Type {
            field,
            expected: "a non-negative integer".into(),
            got: type_name(obj),
        },
    }
    .into())
}
