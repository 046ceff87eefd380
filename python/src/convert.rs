//! Python objects to the core's types and back.
//!
//! Predictions are borrowed where they lie ([`Pred`], [`PredictionView`]): float32 and float64
//! arrays of any strides, never copied. Everything else the binding receives is small (a
//! configuration, targets, answers to compare) and is converted once.

use std::path::{Path, PathBuf};

use ndarray::{Array2, ArrayD, ArrayView2, Ix2, Ix5, IxDyn};
use numpy::{
    PyArray, PyArrayDescrMethods, PyArrayMethods, PyReadonlyArray, PyUntypedArray,
    PyUntypedArrayMethods, dtype,
};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use serde_json::{Map, Number, Value, json};
use soft_objectness::npy::{self, NpyArray};
use soft_objectness::{
    Answer, Case, Config, Counts, Error, Inputs, InputsView, JsonArray, Limits, Prediction,
    PredictionView, Row,
};

use crate::errors::to_py;

/// Deepest nesting of a configuration or an answer.
const MAX_DEPTH: usize = 64;

/// The type of `obj`, for messages.
pub fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type()
        .fully_qualified_name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "?".into())
}

/// `parent.key`.
fn join(parent: &str, key: &str) -> String {
    format!("{parent}.{key}")
}

/// A float as JSON; non-finite values as the tokens the case reader names in its messages.
fn float(f: f64) -> Value {
    Number::from_f64(f).map(Value::Number).unwrap_or_else(|| {
        Value::String(
            if f.is_nan() {
                "NaN"
            } else if f > 0.0 {
                "Infinity"
            } else {
                "-Infinity"
            }
            .into(),
        )
    })
}

/// A JSON-like Python value (dict with str keys, list, tuple, str, int, float, bool, None;
/// numpy or torch arrays and scalars through their `tolist`) as a JSON value. Arrays become
/// `{"shape", "data"}` objects, the case format's arrays.
pub fn value_of(obj: &Bound<'_, PyAny>, path: &str, depth: usize) -> PyResult<Value> {
    if depth > MAX_DEPTH {
        return Err(PyValueError::new_err(format!(
            "{path}: nested more than {MAX_DEPTH} levels deep"
        )));
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
                PyTypeError::new_err(format!(
                    "{path}: keys must be strings, got {}",
                    type_name(&k)
                ))
            })?;
            let child = join(path, &key);
            m.insert(key, value_of(&v, &child, depth + 1)?);
        }
        return Ok(Value::Object(m));
    }
    if obj.is_instance_of::<PyList>() || obj.is_instance_of::<PyTuple>() {
        let mut items = Vec::new();
        for (i, x) in obj.try_iter()?.enumerate() {
            items.push(value_of(&x?, &format!("{path}[{i}]"), depth + 1)?);
        }
        return Ok(Value::Array(items));
    }
    if obj.hasattr("tolist")? && obj.hasattr("shape")? {
        let shape: Vec<usize> = obj.getattr("shape")?.extract()?;
        if shape.is_empty() {
            return value_of(&obj.call_method0("tolist")?, path, depth + 1);
        }
        let flat = obj.call_method1("reshape", (-1,))?.call_method0("tolist")?;
        let data = value_of(&flat, path, depth + 1)?;
        return Ok(json!({"shape": shape, "data": data}));
    }
    Err(PyTypeError::new_err(format!(
        "{path}: expected JSON-like data (dict, list, str, number, bool, None or an array), got {}",
        type_name(obj)
    )))
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
fn dtype_name(a: &Bound<'_, PyUntypedArray>) -> String {
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

/// Prediction layer `i`: a numpy array of float32 or float64 with five dimensions, any strides,
/// aligned. Anything else is refused with a `TypeError` naming the argument, dtype and layout
/// (the shape with a `CaseError`, as the case reader words it).
pub fn prediction<'py>(obj: &Bound<'py, PyAny>, i: usize) -> PyResult<Pred<'py>> {
    let py = obj.py();
    let arg = format!("predictions[{i}]");
    let a = obj.cast::<PyUntypedArray>().map_err(|_| {
        PyTypeError::new_err(format!(
            "{arg}: expected a numpy array (float32 or float64) or a CPU torch tensor, got {}",
            type_name(obj)
        ))
    })?;
    if a.ndim() != 5 {
        return Err(to_py(
            py,
            Error::shape(
                format!("inputs.predictions[{i}]"),
                "[bs, na, ny, nx, 5 + nc] (five dimensions)",
                format!("{:?}", a.shape()),
            ),
        ));
    }
    let refuse = |why: &str| {
        PyTypeError::new_err(format!(
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

/// The targets argument (see [`Targets`]).
pub fn targets<'py>(obj: &Bound<'py, PyAny>) -> PyResult<Targets<'py>> {
    let py = obj.py();
    let a = obj.cast::<PyUntypedArray>().map_err(|_| {
        PyTypeError::new_err(format!(
            "targets: expected a numpy array [nt, 6], got {}",
            type_name(obj)
        ))
    })?;
    if a.is_empty() && a.ndim() != 2 {
        return Ok(Targets::Empty);
    }
    if a.ndim() != 2 {
        return Err(to_py(
            py,
            Error::shape("inputs.targets", "[nt, 6]", format!("{:?}", a.shape())),
        ));
    }
    if !a.is_aligned() || !a.dtype().is_equiv_to(&dtype::<f64>(py)) {
        return Err(PyTypeError::new_err(format!(
            "targets: dtype {}, {}: expected aligned float64",
            dtype_name(a),
            layout(a)
        )));
    }
    let t = obj.cast::<PyArray<f64, Ix2>>()?;
    let ro = t
        .try_readonly()
        .map_err(|e| PyValueError::new_err(format!("targets: {e}")))?;
    Ok(Targets::Array(ro))
}

/// The predictions and targets arguments, borrowed.
pub struct Borrowed<'py> {
    /// Targets.
    pub targets: Targets<'py>,
    /// One per layer.
    pub predictions: Vec<Pred<'py>>,
}

impl Borrowed<'_> {
    /// Borrows `targets` and every layer of `predictions`.
    pub fn new<'py>(
        targets_obj: &Bound<'py, PyAny>,
        predictions: &[Bound<'py, PyAny>],
    ) -> PyResult<Borrowed<'py>> {
        let predictions = predictions
            .iter()
            .enumerate()
            .map(|(i, p)| prediction(p, i))
            .collect::<PyResult<Vec<_>>>()?;
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

/// An owned copy of borrowed inputs (for the GPU backend and for writing a case).
pub fn owned(view: &InputsView<'_>) -> Inputs {
    Inputs {
        targets: view.targets.to_owned(),
        predictions: view
            .predictions
            .iter()
            .map(|p| match p {
                PredictionView::F32(a) => Prediction::F32(a.to_owned()),
                PredictionView::F64(a) => Prediction::F64(a.to_owned()),
            })
            .collect(),
    }
}

/// An array in the case format's JSON form: `{"shape": [..], "data": [..]}` (the element count
/// checked against the reader's limit before anything is allocated) or `{"npy": FILE}`
/// (resolved against `base`, else the current directory).
pub fn json_array(obj: &Bound<'_, PyAny>, field: &str, base: Option<&Path>) -> PyResult<NpyArray> {
    let py = obj.py();
    let err = |e: Error| to_py(py, e);
    let d = obj.cast::<PyDict>().map_err(|_| {
        err(Error::Type {
            field: field.into(),
            expected: "an array (`{\"shape\", \"data\"}`, `{\"npy\": FILE}` or a numpy array)"
                .into(),
            got: type_name(obj),
        })
    })?;
    let limits = Limits::default();
    if let Some(f) = d.get_item("npy")? {
        let name: String = f.extract().map_err(|_| {
            err(Error::Type {
                field: join(field, "npy"),
                expected: "a file name".into(),
                got: type_name(&f),
            })
        })?;
        let path = base.map_or_else(|| PathBuf::from(&name), |b| b.join(&name));
        return npy::read(&path, field, &limits).map_err(err);
    }
    let get = |key: &str| -> PyResult<Bound<'_, PyAny>> {
        d.get_item(key)?.ok_or_else(|| {
            err(Error::Missing {
                field: join(field, key),
            })
        })
    };
    let shape_obj = get("shape")?;
    let shape: Vec<usize> = shape_obj.extract().map_err(|_| {
        err(Error::Type {
            field: join(field, "shape"),
            expected: "an array of non-negative integers".into(),
            got: type_name(&shape_obj),
        })
    })?;
    let elements = shape
        .iter()
        .try_fold(1u64, |acc, &n| acc.checked_mul(n as u64))
        .unwrap_or(u64::MAX);
    if elements > limits.max_elements {
        return Err(err(Error::TooLarge {
            field: field.into(),
            elements,
            limit: limits.max_elements,
        }));
    }
    let data_obj = get("data")?;
    let data: Vec<f64> = data_obj.extract().map_err(|_| {
        err(Error::Type {
            field: join(field, "data"),
            expected: "an array of numbers".into(),
            got: type_name(&data_obj),
        })
    })?;
    let a = JsonArray { shape, data }.to_array(field).map_err(err)?;
    Ok(NpyArray::F64(a))
}

/// A per layer array of an answer (`tobj`, `grad`) as the answer format holds it: a numpy
/// array of any real dtype (copied to float64) or the JSON form.
fn layer_array(obj: &Bound<'_, PyAny>, field: &str, base: Option<&Path>) -> PyResult<JsonArray> {
    let py = obj.py();
    if let Ok(a) = obj.cast::<PyUntypedArray>() {
        let a64 = if a.dtype().is_equiv_to(&dtype::<f64>(py)) {
            obj.clone()
        } else {
            obj.call_method1("astype", ("float64",)).map_err(|_| {
                PyTypeError::new_err(format!(
                    "{field}: dtype {} cannot be read as float64",
                    dtype_name(a)
                ))
            })?
        };
        let t = a64.cast::<PyArray<f64, IxDyn>>()?;
        let ro = t
            .try_readonly()
            .map_err(|e| PyValueError::new_err(format!("{field}: {e}")))?;
        let v = ro.as_array();
        return Ok(JsonArray {
            shape: v.shape().to_vec(),
            data: v.iter().copied().collect(),
        });
    }
    let a = json_array(obj, field, base)?.into_f64();
    Ok(JsonArray {
        shape: a.shape().to_vec(),
        data: a.into_raw_vec_and_offset().0,
    })
}

/// An answer from a Python dict shaped like a case's `expected` (or a case holding one), read
/// by the core's answer reader ([`Answer::from_json_str`]: every field by name, NaN and
/// infinities kept so that the comparison judges them, unknown keys warned about). Layers of
/// `tobj` and `grad` given as numpy arrays skip the JSON text and are copied to float64 once.
/// Returns the answer and the reader's warnings.
pub fn answer(obj: &Bound<'_, PyAny>, base: Option<&Path>) -> PyResult<(Answer, Vec<String>)> {
    let py = obj.py();
    let top = obj.cast::<PyDict>().map_err(|_| {
        to_py(
            py,
            Error::Type {
                field: "(answer)".into(),
                expected: "an answer object (spec section 10) or a case with `expected`".into(),
                got: type_name(obj),
            },
        )
    })?;
    // A case holding the answer: its `expected` (the core's reader names the same errors).
    let (d, prefix) = match top.get_item("format")? {
        Some(_) => match top.get_item("expected")? {
            Some(e) => match e.cast_into::<PyDict>() {
                Ok(e) => (e, "expected"),
                Err(e) => {
                    return Err(to_py(
                        py,
                        Error::Type {
                            field: "expected".into(),
                            expected: "an answer object".into(),
                            got: type_name(e.into_inner().as_any()),
                        },
                    ));
                }
            },
            None => {
                return Err(to_py(
                    py,
                    Error::Missing {
                        field: "expected".into(),
                    },
                ));
            }
        },
        None => (top.clone(), "answer"),
    };
    let rest = PyDict::new(py);
    let (mut tobj, mut grad) = (None, None);
    for (k, v) in d.iter() {
        let key: String = k.extract().unwrap_or_default();
        let layers = (key == "tobj" || key == "grad") && has_numpy_layer(&v);
        if !layers {
            rest.set_item(k, v)?;
            continue;
        }
        let field = format!("{prefix}.{key}");
        let mut out = Vec::new();
        for (i, item) in v.try_iter()?.enumerate() {
            out.push(layer_array(&item?, &format!("{field}[{i}]"), base)?);
        }
        if key == "tobj" {
            tobj = Some(out);
        } else {
            grad = Some(out);
        }
    }
    let text = json_text(&rest.into_any())?;
    let mut a = Answer::from_json_str(&text, base, &Limits::default()).map_err(|e| to_py(py, e))?;
    if tobj.is_some() {
        a.tobj = tobj;
    }
    if grad.is_some() {
        a.grad = grad;
    }
    let warnings = std::mem::take(&mut a.warnings);
    Ok((a, warnings))
}

/// Whether `v` is a list of layers holding at least one numpy array.
fn has_numpy_layer(v: &Bound<'_, PyAny>) -> bool {
    (v.is_instance_of::<PyList>() || v.is_instance_of::<PyTuple>())
        && v.try_iter()
            .map(|it| it.flatten().any(|x| x.cast::<PyUntypedArray>().is_ok()))
            .unwrap_or(false)
}

/// `obj` as JSON text through Python's `json` module (which writes NaN and infinities as the
/// tokens the core's reader accepts).
fn json_text(obj: &Bound<'_, PyAny>) -> PyResult<String> {
    let py = obj.py();
    let dumps = py.import("json")?.getattr("dumps")?;
    dumps.call1((obj,)).and_then(|t| t.extract()).map_err(|e| {
        PyTypeError::new_err(format!(
            "answer: not JSON-like data (numbers, lists, dicts; tobj and grad layers may be \
             numpy arrays): {e}"
        ))
    })
}

/// A numpy array owning `a`'s buffer (no copy).
fn array_out<'py, D: ndarray::Dimension>(
    py: Python<'py>,
    a: ndarray::Array<f64, D>,
) -> Bound<'py, PyAny> {
    PyArray::from_owned_array(py, a).into_any()
}

/// A per layer array of an answer as a numpy array of its shape.
fn json_array_out<'py>(py: Python<'py>, a: JsonArray) -> PyResult<Bound<'py, PyAny>> {
    let arr = ArrayD::from_shape_vec(IxDyn(&a.shape), a.data)
        .map_err(|e| PyValueError::new_err(e.to_string()))?;
    Ok(array_out(py, arr))
}

/// An answer as a Python dict: `tobj` and `grad` as lists of float64 numpy arrays, the rest as
/// the answer format has it (counts and matched rows as dicts).
pub fn answer_out<'py>(py: Python<'py>, mut a: Answer) -> PyResult<Bound<'py, PyDict>> {
    let (tobj, grad) = (a.tobj.take(), a.grad.take());
    let d = pythonize::pythonize(py, &a)?.cast_into::<PyDict>()?;
    for (key, layers) in [("tobj", tobj), ("grad", grad)] {
        if let Some(layers) = layers {
            let list = PyList::empty(py);
            for l in layers {
                list.append(json_array_out(py, l)?)?;
            }
            d.set_item(key, list)?;
        }
    }
    // Keep the answer format's key order: scalars, tobj, counts, grad, then the optional keys.
    let ordered = PyDict::new(py);
    for key in Answer::KEYS {
        if let Some(v) = d.get_item(key)? {
            ordered.set_item(key, v)?;
        }
    }
    Ok(ordered)
}

/// Counts as `{"positive", "negative", "soft"}`.
pub fn counts_out<'py>(py: Python<'py>, c: &Counts) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("positive", c.positive)?;
    d.set_item("negative", c.negative)?;
    d.set_item("soft", c.soft)?;
    Ok(d)
}

/// The rows of one layer as columns, gathered in one pass without the GIL: the cell
/// (`b`, `a`, `gj`, `gi`), the box target `tbox` (`[n, 4]`, row-major), the matched `anchor`
/// (`[n, 2]`, grid units) and the `class`.
pub struct RowColumns {
    cell: [Vec<i64>; 4],
    tbox: Vec<f64>,
    anchor: Vec<f64>,
    class: Vec<i64>,
}

impl RowColumns {
    /// Names of the columns of [`RowColumns::cell`].
    const CELL: [&'static str; 4] = ["b", "a", "gj", "gi"];

    /// The columns of `rows`, layer `l` of `config`.
    pub fn new(rows: &[Row], config: &Config, l: usize) -> Self {
        let n = rows.len();
        let mut cell: [Vec<i64>; 4] = std::array::from_fn(|_| Vec::with_capacity(n));
        let (mut tbox, mut anchor) = (Vec::with_capacity(4 * n), Vec::with_capacity(2 * n));
        let mut class = Vec::with_capacity(n);
        let anchors = config.anchors.index_axis(ndarray::Axis(0), l);
        for r in rows {
            for (column, v) in cell.iter_mut().zip([r.b, r.a, r.gj, r.gi]) {
                column.push(v as i64);
            }
            tbox.extend_from_slice(&r.tbox());
            anchor.extend_from_slice(&[anchors[[r.a, 0]], anchors[[r.a, 1]]]);
            class.push(r.class as i64);
        }
        Self {
            cell,
            tbox,
            anchor,
            class,
        }
    }

    /// The columns as a dict of numpy arrays, in the answer format's order (the vectors moved
    /// into the arrays, not copied).
    pub fn into_py(self, py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
        let n = self.class.len();
        let d = PyDict::new(py);
        for (name, column) in Self::CELL.into_iter().zip(self.cell) {
            d.set_item(name, PyArray::from_vec(py, column))?;
        }
        let tbox = Array2::from_shape_vec((n, 4), self.tbox).expect("4 values a row");
        let anchor = Array2::from_shape_vec((n, 2), self.anchor).expect("2 values a row");
        d.set_item("tbox", array_out(py, tbox))?;
        d.set_item("anchor", array_out(py, anchor))?;
        d.set_item("class", PyArray::from_vec(py, self.class))?;
        Ok(d)
    }
}

/// The rows of layer `l` as a dict of arrays (see [`RowColumns`]).
pub fn rows_out<'py>(
    py: Python<'py>,
    rows: &[Row],
    config: &Config,
    l: usize,
) -> PyResult<Bound<'py, PyDict>> {
    RowColumns::new(rows, config, l).into_py(py)
}

/// A case as a Python dict in the case format's shape, arrays as numpy arrays (predictions in
/// the precision they were stored in), the configuration with every key explicit.
pub fn case_out<'py>(py: Python<'py>, case: Case) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("format", Case::FORMAT)?;
    d.set_item("name", &case.name)?;
    d.set_item("config", pythonize::pythonize(py, &case.config.to_json())?)?;
    let inputs = PyDict::new(py);
    inputs.set_item("targets", array_out(py, case.inputs.targets))?;
    let preds = PyList::empty(py);
    for p in case.inputs.predictions {
        match p {
            Prediction::F32(a) => preds.append(PyArray::from_owned_array(py, a))?,
            Prediction::F64(a) => preds.append(PyArray::from_owned_array(py, a))?,
        }
    }
    inputs.set_item("predictions", preds)?;
    d.set_item("inputs", inputs)?;
    if let Some(e) = case.expected {
        d.set_item("expected", answer_out(py, e)?)?;
    }
    Ok(d)
}
