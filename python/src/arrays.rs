//! Python arrays in: the inputs of an evaluation, borrowed where they lie, and JSON-like data.
//!
//! Conversion policy (docs/python.md, "Arrays"), in this one place for every argument:
//!
//! * predictions: float32 or float64 numpy arrays of any strides are read where they lie (no
//!   copy); CPU torch tensors through `tensor.detach().numpy()` (a view, no copy); nested lists
//!   are converted once to float64; float16, integer and other dtypes are refused with a
//!   `TypeError` naming the argument, its dtype and layout; a CUDA tensor is refused with what
//!   to do.
//! * targets (`[nt, 6]`, small): any real dtype or nested list, converted once to float64 when
//!   it is not float64 already.
//! * torch is never imported: a tensor is recognised by its type's module.

use std::path::PathBuf;

use ndarray::{ArrayView2, Ix2, Ix5};
use numpy::{
    PyArray, PyArrayDescrMethods, PyArrayMethods, PyReadonlyArray, PyUntypedArray,
    PyUntypedArrayMethods, dtype,
};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyBytes, PyDict, PyFloat, PyInt, PyList, PySequence, PyString, PyTuple};
use serde_json::{Map, Number, Value, json};
use soft_objectness::{InputsView, PredictionView};

use crate::errors::Result;

/// Deepest nesting of a configuration, a case or an answer given as Python data.
const MAX_DEPTH: usize = 64;

/// The type of `obj`, for messages.
pub fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type()
        .fully_qualified_name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "?".into())
}

/// A `TypeError` with `msg`, as the binding's error.
pub fn type_error(msg: String) -> crate::errors::Error {
    PyTypeError::new_err(msg).into()
}

/// Whether `obj` is a torch tensor (recognised by its type's module: torch is never imported).
pub fn is_tensor(obj: &Bound<'_, PyAny>) -> bool {
    let module = obj
        .get_type()
        .module()
        .map(|m| m.to_string())
        .unwrap_or_default();
    module.split('.').next() == Some("torch")
        && obj.hasattr("detach").unwrap_or(false)
        && obj.hasattr("device").unwrap_or(false)
}

/// A tensor's memory as a numpy array (no copy, for a CPU tensor); a device tensor is refused,
/// or copied to the host when `to_host` (answers, which are read once).
pub fn from_tensor<'py>(
    obj: &Bound<'py, PyAny>,
    arg: &str,
    to_host: bool,
) -> Result<Bound<'py, PyAny>> {
    let device = obj.getattr("device")?;
    let on_cpu = match device.getattr("type") {
        Ok(t) => t.extract::<String>().is_ok_and(|t| t == "cpu"),
        Err(_) => true,
    };
    let mut t = obj.call_method0("detach")?;
    if !on_cpu {
        if !to_host {
            return Err(type_error(format!(
                "{arg}: a torch tensor on {device}; the oracle reads host memory: pass \
                 `{arg}.detach().cpu()` (one copy to the host), or evaluate on the CPU"
            )));
        }
        t = t.call_method0("cpu")?;
    }
    t.call_method0("numpy").map_err(|e| {
        let dt = obj
            .getattr("dtype")
            .map(|d| d.to_string())
            .unwrap_or_default();
        type_error(format!(
            "{arg}: torch dtype {dt} has no numpy view ({e}); convert once with `{arg}.float()`"
        ))
    })
}

/// `numpy.asarray(obj, dtype)`.
fn asarray<'py>(obj: &Bound<'py, PyAny>, dtype: Option<&str>) -> PyResult<Bound<'py, PyAny>> {
    static ASARRAY: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    let py = obj.py();
    let f = ASARRAY.get_or_try_init(py, || {
        py.import("numpy")?.getattr("asarray").map(Bound::unbind)
    })?;
    f.bind(py).call1((obj, dtype))
}

/// A nested list as a float64 array, converted once.
fn from_list<'py>(obj: &Bound<'py, PyAny>, arg: &str) -> Result<Bound<'py, PyAny>> {
    asarray(obj, Some("float64")).map_err(|e| {
        type_error(format!(
            "{arg}: a list that is not a rectangular array of numbers ({e})"
        ))
    })
}

/// Whether `obj` offers numpy's array protocols (without being a numpy array).
fn array_like(obj: &Bound<'_, PyAny>) -> bool {
    obj.hasattr("__array_interface__").unwrap_or(false) || obj.hasattr("__array__").unwrap_or(false)
}

/// `obj` as a numpy array where it is one, a tensor, a list or array-like (see the module's
/// policy); anything else is handed on as it is, to be refused by its reader.
fn host_array<'py>(obj: &Bound<'py, PyAny>, arg: &str) -> Result<Bound<'py, PyAny>> {
    if obj.is_instance_of::<PyUntypedArray>() {
        Ok(obj.clone())
    } else if is_tensor(obj) {
        from_tensor(obj, arg, false)
    } else if obj.is_instance_of::<PyList>() || obj.is_instance_of::<PyTuple>() {
        from_list(obj, arg)
    } else if array_like(obj) {
        Ok(asarray(obj, None)?)
    } else {
        Ok(obj.clone())
    }
}

/// `obj` as a path when it is a `str` or an `os.PathLike`.
pub fn path_of(obj: &Bound<'_, PyAny>) -> Result<Option<PathBuf>> {
    if obj.is_instance_of::<PyString>() || obj.hasattr("__fspath__")? {
        return Ok(Some(obj.extract()?));
    }
    Ok(None)
}

/// How an array lies in memory, for messages.
fn layout(a: &Bound<'_, PyUntypedArray>) -> String {
    let mut s = if a.is_c_contiguous() {
        "C-contiguous".to_string()
    } else if a.is_fortran_contiguous() {
        "Fortran-contiguous".to_string()
    } else {
        format!("strided, strides {:?} bytes", a.strides())
    };
    if !a.is_aligned() {
        s.push_str(", unaligned");
    }
    s
}

/// The dtype of an array, for messages (`float16`, `int64`, `>f4`).
pub fn dtype_name(a: &Bound<'_, PyUntypedArray>) -> String {
    a.dtype()
        .str()
        .map(|s| s.to_string())
        .unwrap_or_else(|_| "?".into())
}

/// One prediction layer, borrowed from its numpy array for as long as this value lives.
pub enum Pred<'py> {
    /// float32.
    F32(PyReadonlyArray<'py, f32, Ix5>),
    /// float64.
    F64(PyReadonlyArray<'py, f64, Ix5>),
}

impl Pred<'_> {
    /// The core's view of the same memory.
    pub fn view(&self) -> PredictionView<'_> {
        match self {
            Pred::F32(a) => PredictionView::F32(a.as_array()),
            Pred::F64(a) => PredictionView::F64(a.as_array()),
        }
    }
}

/// Prediction layer `i`, borrowed: a float32 or float64 array with five dimensions, any
/// strides, aligned. Anything else is refused with a `TypeError` naming the argument, dtype and
/// layout (the shape with a `CaseError`, as the case reader words it).
fn prediction<'py>(obj: &Bound<'py, PyAny>, i: usize) -> Result<Pred<'py>> {
    let arg = format!("predictions[{i}]");
    let obj = host_array(obj, &arg)?;
    let py = obj.py();
    let a = obj.cast::<PyUntypedArray>().map_err(|_| {
        type_error(format!(
            "{arg}: expected a numpy array (float32 or float64) or a CPU torch tensor, got {}",
            type_name(&obj)
        ))
    })?;
    if a.ndim() != 5 {
        return Err(soft_objectness::Error::shape(
            format!("inputs.predictions[{i}]"),
            "[bs, na, ny, nx, 5 + nc] (five dimensions)",
            format!("{:?}", a.shape()),
        )
        .into());
    }
    let refuse = |why: &str| {
        type_error(format!(
            "{arg}: dtype {}, {}: {why}",
            dtype_name(a),
            layout(a)
        ))
    };
    if !a.is_aligned() {
        return Err(refuse(
            "an unaligned array cannot be read in place; pass a copy (numpy.ascontiguousarray)",
        ));
    }
    let dt = a.dtype();
    let borrow = |e: numpy::BorrowError| PyValueError::new_err(format!("{arg}: {e}"));
    if dt.is_equiv_to(&dtype::<f32>(py)) {
        let t = obj.cast::<PyArray<f32, Ix5>>()?;
        return Ok(Pred::F32(t.try_readonly().map_err(borrow)?));
    }
    if dt.is_equiv_to(&dtype::<f64>(py)) {
        let t = obj.cast::<PyArray<f64, Ix5>>()?;
        return Ok(Pred::F64(t.try_readonly().map_err(borrow)?));
    }
    Err(refuse(
        "predictions are read where they lie as float32 or float64 (native byte order); \
         convert once with .astype(numpy.float32)",
    ))
}

/// The predictions argument: a list (or tuple, or other sequence) of layers, each borrowed.
fn predictions<'py>(obj: &Bound<'py, PyAny>) -> Result<Vec<Pred<'py>>> {
    const LIST: &str = "predictions: expected a list of arrays, one per layer";
    if obj.is_instance_of::<PyUntypedArray>() || is_tensor(obj) {
        return Err(type_error(format!(
            "{LIST}; got a single array (wrap it in a list)"
        )));
    }
    let seq = obj
        .cast::<PySequence>()
        .ok()
        .filter(|_| !obj.is_instance_of::<PyString>() && !obj.is_instance_of::<PyBytes>());
    let Some(seq) = seq else {
        let name = obj
            .get_type()
            .name()
            .map(|n| n.to_string())
            .unwrap_or_default();
        return Err(type_error(format!("{LIST}; got {name}")));
    };
    let mut layers = Vec::with_capacity(seq.len().unwrap_or(0));
    for (i, item) in seq.try_iter()?.enumerate() {
        layers.push(prediction(&item?, i)?);
    }
    Ok(layers)
}

/// The targets `[nt, 6]`: a float64 numpy array of any strides, or an empty array of any shape
/// (no targets, as in a case file).
pub enum Targets<'py> {
    /// Borrowed.
    Array(PyReadonlyArray<'py, f64, Ix2>),
    /// No targets.
    Empty,
}

impl Targets<'_> {
    /// The core's view.
    pub fn view(&self) -> ArrayView2<'_, f64> {
        match self {
            Targets::Array(a) => a.as_array(),
            Targets::Empty => ArrayView2::from_shape((0, 6), &[]).expect("an empty [0, 6] view"),
        }
    }
}

/// The targets argument, converted to float64 once when it is another real dtype (see
/// [`Targets`]).
pub fn targets<'py>(obj: &Bound<'py, PyAny>) -> Result<Targets<'py>> {
    let obj = host_array(obj, "targets")?;
    let py = obj.py();
    let a = obj.cast::<PyUntypedArray>().map_err(|_| {
        type_error(format!(
            "targets: expected a numpy array [nt, 6], got {}",
            type_name(&obj)
        ))
    })?;
    let dt = a.dtype();
    let obj = if dt.is_equiv_to(&dtype::<f64>(py)) {
        obj.clone()
    } else if matches!(dt.kind(), b'f' | b'i' | b'u') {
        obj.call_method1("astype", ("float64",))?
    } else {
        return Err(type_error(format!(
            "targets: dtype {} is not a real number type; expected float64 [nt, 6]",
            dtype_name(a)
        )));
    };
    let a = obj.cast::<PyUntypedArray>()?;
    if a.is_empty() && a.ndim() != 2 {
        return Ok(Targets::Empty);
    }
    if a.ndim() != 2 {
        let shape = format!("{:?}", a.shape());
        return Err(soft_objectness::Error::shape("inputs.targets", "[nt, 6]", shape).into());
    }
    if !a.is_aligned() {
        return Err(type_error(format!(
            "targets: dtype {}, {}: expected aligned float64",
            dtype_name(a),
            layout(a)
        )));
    }
    let ro = obj.cast::<PyArray<f64, Ix2>>()?.try_readonly();
    Ok(Targets::Array(ro.map_err(|e| {
        PyValueError::new_err(format!("targets: {e}"))
    })?))
}

/// The predictions and targets arguments, borrowed.
pub struct Borrowed<'py> {
    /// Targets.
    pub targets: Targets<'py>,
    /// One per layer.
    pub predictions: Vec<Pred<'py>>,
}

impl Borrowed<'_> {
    /// Borrows every layer of `predictions`, then `targets`.
    pub fn new<'py>(
        targets_obj: &Bound<'py, PyAny>,
        predictions_obj: &Bound<'py, PyAny>,
    ) -> Result<Borrowed<'py>> {
        let predictions = predictions(predictions_obj)?;
        Ok(Borrowed {
            targets: targets(targets_obj)?,
            predictions,
        })
    }

    /// `nc` from the first layer's channels (`5 + nc`), as a case file without `config.nc`.
    pub fn nc_hint(&self) -> Option<usize> {
        self.predictions
            .first()
            .and_then(|p| p.view().shape()[4].checked_sub(5))
    }

    /// The core's view of every array.
    pub fn view(&self) -> InputsView<'_> {
        InputsView {
            targets: self.targets.view(),
            predictions: self.predictions.iter().map(Pred::view).collect(),
        }
    }
}

/// A float as JSON; non-finite values as the tokens the case reader names in its messages.
fn float(f: f64) -> Value {
    Number::from_f64(f).map(Value::Number).unwrap_or_else(|| {
        let token = if f.is_nan() {
            "NaN"
        } else if f > 0.0 {
            "Infinity"
        } else {
            "-Infinity"
        };
        Value::String(token.into())
    })
}

/// A JSON-like Python value (dict with str keys, list, tuple, str, int, float, bool, None;
/// numpy or torch arrays and scalars through their `tolist`) as a JSON value, `path` naming it
/// in errors. Arrays become `{"shape", "data"}` objects, the case format's arrays.
pub fn value_of(obj: &Bound<'_, PyAny>, path: &str) -> Result<Value> {
    value_at(obj, path, 0)
}

fn value_at(obj: &Bound<'_, PyAny>, path: &str, depth: usize) -> Result<Value> {
    if depth > MAX_DEPTH {
        let msg = format!("{path}: nested more than {MAX_DEPTH} levels deep");
        return Err(PyValueError::new_err(msg).into());
    }
    if obj.is_none() {
        return Ok(Value::Null);
    }
    if let Ok(b) = obj.cast::<PyBool>() {
        return Ok(Value::Bool(b.is_true()));
    }
    if obj.is_instance_of::<PyInt>() {
        if let Ok(v) = obj.extract::<u64>() {
            return Ok(Value::from(v));
        }
        if let Ok(v) = obj.extract::<i64>() {
            return Ok(Value::from(v));
        }
        return Ok(float(obj.extract::<f64>()?));
    }
    if let Ok(f) = obj.cast::<PyFloat>() {
        return Ok(float(f.value()));
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(Value::String(s.extract::<String>()?));
    }
    if let Ok(d) = obj.cast::<PyDict>() {
        let mut m = Map::new();
        for (k, v) in d.iter() {
            let key: String = k.extract().map_err(|_| {
                type_error(format!(
                    "{path}: keys must be strings, got {}",
                    type_name(&k)
                ))
            })?;
            let child = format!("{path}.{key}");
            m.insert(key, value_at(&v, &child, depth + 1)?);
        }
        return Ok(Value::Object(m));
    }
    if obj.is_instance_of::<PyList>() || obj.is_instance_of::<PyTuple>() {
        let mut items = Vec::new();
        for (i, x) in obj.try_iter()?.enumerate() {
            items.push(value_at(&x?, &format!("{path}[{i}]"), depth + 1)?);
        }
        return Ok(Value::Array(items));
    }
    if obj.hasattr("tolist")? && obj.hasattr("shape")? {
        let shape: Vec<usize> = obj.getattr("shape")?.extract()?;
        if shape.is_empty() {
            return value_at(&obj.call_method0("tolist")?, path, depth + 1);
        }
        let flat = obj.call_method1("reshape", (-1,))?.call_method0("tolist")?;
        let data = value_at(&flat, path, depth + 1)?;
        return Ok(json!({"shape": shape, "data": data}));
    }
    Err(type_error(format!(
        "{path}: expected JSON-like data (dict, list, str, number, bool, None or an array), got {}",
        type_name(obj)
    )))
}
