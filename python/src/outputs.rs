//! Core values as Python objects: a case and an answer as dicts in the case format's shape
//! (arrays as numpy arrays, moved, not copied), counts, and a layer's rows as columns.

use ndarray::{Array2, ArrayD, IxDyn};
use numpy::PyArray;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use soft_objectness::{Answer, Case, Config, Counts, JsonArray, Named, Prediction, Row};

use crate::errors::Result;

/// A per layer array of an answer as a numpy array of its shape.
fn json_array_out(py: Python<'_>, a: JsonArray) -> Result<Bound<'_, PyAny>> {
    let arr = ArrayD::from_shape_vec(IxDyn(&a.shape), a.data)
        .map_err(|e| PyValueError::new_err(e.to_string()))?;
    Ok(PyArray::from_owned_array(py, arr).into_any())
}

/// An answer as a Python dict in the answer format's key order: `tobj` and `grad` as lists of
/// float64 numpy arrays, the rest as the answer format has it (counts and matched rows as
/// dicts).
pub fn answer_out(py: Python<'_>, mut a: Answer) -> Result<Bound<'_, PyDict>> {
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
    let ordered = PyDict::new(py);
    for key in Answer::KEYS {
        if let Some(v) = d.get_item(key)? {
            ordered.set_item(key, v)?;
        }
    }
    Ok(ordered)
}

/// A case as a Python dict in the case format's shape, arrays as numpy arrays (predictions in
/// the precision they were stored in), the configuration with every key explicit.
pub fn case_out(py: Python<'_>, case: Case) -> Result<Bound<'_, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("format", Case::FORMAT)?;
    d.set_item("name", &case.name)?;
    d.set_item("config", pythonize::pythonize(py, &case.config.to_json())?)?;
    let inputs = PyDict::new(py);
    inputs.set_item(
        "targets",
        PyArray::from_owned_array(py, case.inputs.targets),
    )?;
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

/// Counts as `{"positive", "negative", "soft"}`, keyed by the cell classes' names.
pub fn counts_out<'py>(py: Python<'py>, c: &Counts) -> Result<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    for class in soft_objectness::CellClass::ALL {
        d.set_item(class.name(), c.get(class))?;
    }
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
    pub fn into_dict(self, py: Python<'_>) -> Result<Bound<'_, PyDict>> {
        let n = self.class.len();
        let d = PyDict::new(py);
        for (name, column) in Self::CELL.into_iter().zip(self.cell) {
            d.set_item(name, PyArray::from_vec(py, column))?;
        }
        let tbox = Array2::from_shape_vec((n, 4), self.tbox).expect("4 values a row");
        let anchor = Array2::from_shape_vec((n, 2), self.anchor).expect("2 values a row");
        d.set_item("tbox", PyArray::from_owned_array(py, tbox))?;
        d.set_item("anchor", PyArray::from_owned_array(py, anchor))?;
        d.set_item("class", PyArray::from_vec(py, self.class))?;
        Ok(d)
    }
}
