//! Answers in: an answer argument (an `Evaluation`, a path, or a dict) read by the core's
//! answer reader; `load_answer` and `write_answer`.

use std::path::{Path, PathBuf};

use ndarray::IxDyn;
use numpy::{
    PyArray, PyArrayDescrMethods, PyArrayMethods, PyUntypedArray, PyUntypedArrayMethods, dtype,
};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple};
use soft_objectness::{Answer, JsonArray, Limits, npy};

use crate::arrays::{dtype_name, from_tensor, is_tensor, path_of, type_error, type_name, value_of};
use crate::errors::{Result, detached, warn};
use crate::evaluation::PyEvaluation;
use crate::outputs::answer_out;

/// The answer argument of `check` and `write_answer`: an `Evaluation`, a path to an answer, or
/// a dict (see [`from_dict`]); `{"npy": FILE}` references of a dict resolve in `base` (the
/// current directory when `None`). The reader's warnings become `CaseWarning`s.
pub fn read(obj: &Bound<'_, PyAny>, base: Option<&Path>) -> Result<Answer> {
    let mut a = read_quiet(obj, base)?;
    warn(obj.py(), &std::mem::take(&mut a.warnings))?;
    Ok(a)
}

/// [`read`] with the reader's warnings left in the answer's `warnings` (the harness reads an
/// answer per case and raises no warning for each).
pub fn read_quiet(obj: &Bound<'_, PyAny>, base: Option<&Path>) -> Result<Answer> {
    let py = obj.py();
    let a = if let Ok(e) = obj.cast::<PyEvaluation>() {
        let e = e.get();
        detached(py, || Ok(Answer::from_evaluation(&e.e, &e.config)))?
    } else if let Some(path) = path_of(obj)? {
        detached(py, || Answer::load(&path, &Limits::default()))?
    } else if obj.is_instance_of::<PyDict>() {
        from_dict(obj, base)?
    } else {
        return Err(type_error(format!(
            "answer: expected a dict, an Evaluation or a path, got {}",
            type_name(obj)
        )));
    };
    Ok(a)
}

/// An answer from a Python dict shaped like a case's `expected` (or a case holding one), read
/// by the core's answer reader ([`Answer::from_json_str`]: every field by name, NaN and
/// infinities kept so that the comparison judges them, unknown keys warned about, `.npy`
/// references under the core's path rule). Layers of `tobj` and `grad` given as numpy arrays
/// or torch tensors skip the JSON text and are copied to float64 once.
fn from_dict(obj: &Bound<'_, PyAny>, base: Option<&Path>) -> Result<Answer> {
    let py = obj.py();
    let top = obj.cast::<PyDict>()?;
    // A case holding the answer: its `expected` (the core's reader names the same errors).
    let (d, prefix) = match top.get_item("expected")? {
        Some(e) if top.contains("format")? && e.is_instance_of::<PyDict>() => {
            (e.cast_into::<PyDict>()?, "expected")
        }
        _ => (top.clone(), "answer"),
    };
    let rest = PyDict::new(py);
    let (mut tobj, mut grad) = (None, None);
    for (k, v) in d.iter() {
        let key: String = k.extract().unwrap_or_default();
        if !((key == "tobj" || key == "grad") && has_array_layer(&v)) {
            rest.set_item(k, v)?;
            continue;
        }
        let mut out = Vec::new();
        for (i, item) in v.try_iter()?.enumerate() {
            out.push(layer_array(&item?, &format!("{prefix}.{key}[{i}]"), base)?);
        }
        *(if key == "tobj" { &mut tobj } else { &mut grad }) = Some(out);
    }
    // A case holding the answer is read as one (the case's other keys are not the answer's).
    let text = if prefix == "answer" {
        json_text(&rest)?
    } else {
        let case = PyDict::new(py);
        case.set_item("format", top.get_item("format")?)?;
        case.set_item("expected", rest)?;
        json_text(&case)?
    };
    let mut a = detached(py, || {
        Answer::from_json_str(&text, base, &Limits::default())
    })?;
    a.tobj = tobj.or(a.tobj);
    a.grad = grad.or(a.grad);
    Ok(a)
}

/// Whether `v` is a list of layers holding at least one numpy array or torch tensor.
fn has_array_layer(v: &Bound<'_, PyAny>) -> bool {
    (v.is_instance_of::<PyList>() || v.is_instance_of::<PyTuple>())
        && v.try_iter().is_ok_and(|mut it| {
            it.any(|x| x.is_ok_and(|x| x.is_instance_of::<PyUntypedArray>() || is_tensor(&x)))
        })
}

/// A per layer array of an answer (`tobj`, `grad`) as the answer format holds it: a numpy
/// array or a torch tensor of any real dtype (copied to float64), or the JSON form read by the
/// core's array reader.
fn layer_array(obj: &Bound<'_, PyAny>, field: &str, base: Option<&Path>) -> Result<JsonArray> {
    let py = obj.py();
    let obj = if is_tensor(obj) {
        from_tensor(obj, field, true)?
    } else {
        obj.clone()
    };
    let Ok(a) = obj.cast::<PyUntypedArray>() else {
        let v = value_of(&obj, field)?;
        let a = npy::read_value(&v, field, base, &Limits::default())?.into_f64();
        return Ok(JsonArray {
            shape: a.shape().to_vec(),
            data: a.into_raw_vec_and_offset().0,
        });
    };
    let a64 = if a.dtype().is_equiv_to(&dtype::<f64>(py)) {
        obj.clone()
    } else {
        obj.call_method1("astype", ("float64",)).map_err(|_| {
            type_error(format!(
                "{field}: dtype {} cannot be read as float64",
                dtype_name(a)
            ))
        })?
    };
    let ro = a64
        .cast::<PyArray<f64, IxDyn>>()?
        .try_readonly()
        .map_err(|e| PyValueError::new_err(format!("{field}: {e}")))?;
    let v = ro.as_array();
    Ok(JsonArray {
        shape: v.shape().to_vec(),
        data: v.iter().copied().collect(),
    })
}

/// `obj` as JSON text through Python's `json` module (which writes NaN and infinities as the
/// tokens the core's reader accepts; numpy and torch values through their `tolist`).
fn json_text(obj: &Bound<'_, PyAny>) -> Result<String> {
    let py = obj.py();
    let tolist = py
        .import("operator")?
        .getattr("methodcaller")?
        .call1(("tolist",))?;
    let kwargs = PyDict::new(py);
    kwargs.set_item("default", tolist)?;
    let dumps = py.import("json")?.getattr("dumps")?;
    let text = dumps.call((obj,), Some(&kwargs)).map_err(|e| {
        PyTypeError::new_err(format!(
            "answer: not JSON-like data (numbers, lists, dicts, numpy or torch values): {e}"
        ))
    })?;
    Ok(text.extract()?)
}

/// Reads an answer: a JSON answer (`softobj eval` output), a case file with `expected`, or a
/// folder written by `softobj eval --out`. `tobj` and `grad` come back as lists of float64
/// numpy arrays, the rest as the answer format has it; the reader's warnings become
/// `CaseWarning`s.
#[pyfunction]
pub fn load_answer(py: Python<'_>, path: PathBuf) -> Result<Bound<'_, PyDict>> {
    let mut a = detached(py, || Answer::load(&path, &Limits::default()))?;
    warn(py, &std::mem::take(&mut a.warnings))?;
    answer_out(py, a)
}

/// Writes an answer as one JSON file that `softobj check` and `load_answer` read.
///
/// `answer` is an `Evaluation`, a path to an answer, or a dict shaped like a case's
/// `expected` whose values may be numpy or torch scalars and arrays, or the JSON form.
/// Non-finite values are written as the tokens `NaN`, `Infinity` and `-Infinity` (spec
/// revision 2: the reader accepts them, and such an answer does not conform). Returns the path
/// written.
#[pyfunction]
pub fn write_answer<'py>(
    path: &Bound<'py, PyAny>,
    answer: &Bound<'py, PyAny>,
) -> Result<Bound<'py, PyAny>> {
    let py = path.py();
    let file: PathBuf = path.extract()?;
    let a = read(answer, None)?;
    let mut text = json_text(&pythonize::pythonize(py, &a)?)?;
    text.push('\n');
    detached(py, || {
        std::fs::write(&file, text).map_err(|source| soft_objectness::Error::Io {
            path: file.clone(),
            source,
        })
    })?;
    Ok(py.import("os")?.getattr("fspath")?.call1((path,))?)
}
