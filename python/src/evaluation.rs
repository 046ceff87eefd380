//! The result of an evaluation as a Python object; arrays are built on request (the Python
//! layer caches them), so that an evaluation costs what the core's costs.

use numpy::{
    PyArray, PyArrayDescrMethods, PyArrayDyn, PyArrayMethods, PyUntypedArray,
    PyUntypedArrayMethods, dtype,
};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use soft_objectness::{Answer, Config, Evaluation};

use crate::convert::{answer_out, counts_out, rows_out};
use crate::errors::guarded;

/// One evaluation: the core's [`Evaluation`] and the configuration it ran under.
#[pyclass(module = "soft_objectness._core", name = "Evaluation", frozen)]
pub struct PyEvaluation {
    pub(crate) e: Evaluation,
    pub(crate) config: Config,
}

#[pymethods]
impl PyEvaluation {
    /// `(lbox + lobj + lcls) * bs`.
    #[getter]
    fn loss(&self) -> f64 {
        self.e.loss
    }

    /// Box loss after its gain.
    #[getter]
    fn lbox(&self) -> f64 {
        self.e.lbox
    }

    /// Objectness loss after its gain.
    #[getter]
    fn lobj(&self) -> f64 {
        self.e.lobj
    }

    /// Class loss after its gain.
    #[getter]
    fn lcls(&self) -> f64 {
        self.e.lcls
    }

    /// The balance after the autobalance update.
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

    /// Number of layers.
    #[getter]
    fn layers(&self) -> usize {
        self.e.layers.len()
    }

    /// Per layer cell counts.
    fn counts<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let list = PyList::empty(py);
        for l in &self.e.layers {
            list.append(counts_out(py, &l.counts)?)?;
        }
        Ok(list)
    }

    /// Per layer objectness targets `[bs, na, ny, nx]` (float64 copies).
    fn tobj<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let list = PyList::empty(py);
        for l in &self.e.layers {
            list.append(PyArray::from_array(py, &l.tobj))?;
        }
        Ok(list)
    }

    /// Per layer rows as arrays.
    fn rows<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let list = PyList::empty(py);
        for (l, layer) in self.e.layers.iter().enumerate() {
            list.append(rows_out(py, &layer.rows, &self.config, l)?)?;
        }
        Ok(list)
    }

    /// Per layer dense gradient `[bs, na, ny, nx, 5 + nc]` (float64; built without the GIL).
    fn grad<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let dense = py
            .detach(|| guarded(|| Ok(self.e.grad.to_dense())))
            .into_py(py)?;
        let list = PyList::empty(py);
        for g in dense {
            list.append(PyArray::from_owned_array(py, g))?;
        }
        Ok(list)
    }

    /// Writes the dense gradient times `scale` into the caller's arrays, one per layer, every
    /// element overwritten (float32 or float64, writable, C-contiguous, the layer's shape).
    #[pyo3(signature = (out, scale = 1.0))]
    fn grad_into(&self, py: Python<'_>, out: Vec<Bound<'_, PyAny>>, scale: f64) -> PyResult<()> {
        let nl = self.e.layers.len();
        if out.len() != nl {
            return Err(PyValueError::new_err(format!(
                "out: expected {nl} arrays (one per layer), got {}",
                out.len()
            )));
        }
        for (l, obj) in out.iter().enumerate() {
            write_layer(py, &self.e, l, obj, scale)?;
        }
        Ok(())
    }

    /// The answer of this evaluation, as `softobj eval` prints it.
    fn to_answer<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let a = py
            .detach(|| guarded(|| Ok(Answer::from_evaluation(&self.e, &self.config))))
            .into_py(py)?;
        answer_out(py, a)
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
) -> PyResult<()> {
    let arg = format!("out[{l}]");
    let a = obj.cast::<PyUntypedArray>().map_err(|_| {
        PyTypeError::new_err(format!(
            "{arg}: expected a writable numpy array or CPU torch tensor, got {}",
            crate::convert::type_name(obj)
        ))
    })?;
    let (bs, na, ny, nx) = e.grad.obj[l].dim();
    let want = [bs, na, ny, nx, e.grad.no];
    if a.shape() != want {
        return Err(PyValueError::new_err(format!(
            "{arg}: shape mismatch: expected {want:?} (the layer's predictions), got {:?}",
            a.shape()
        )));
    }
    if !a.is_c_contiguous() {
        return Err(PyTypeError::new_err(format!(
            "{arg}: not C-contiguous; the gradient is written in standard layout \
             (numpy.empty(shape, dtype) or torch.empty(shape) give one)"
        )));
    }
    let busy = |e: numpy::BorrowError| PyValueError::new_err(format!("{arg}: {e}"));
    let dt = a.dtype();
    if dt.is_equiv_to(&dtype::<f32>(py)) {
        let mut w = obj
            .cast::<PyArrayDyn<f32>>()?
            .try_readwrite()
            .map_err(busy)?;
        let out = w
            .as_slice_mut()
            .map_err(|e| PyValueError::new_err(format!("{arg}: {e}")))?;
        return py
            .detach(|| guarded(|| e.grad.write_dense_into(l, scale, out)))
            .into_py(py);
    }
    if dt.is_equiv_to(&dtype::<f64>(py)) {
        let mut w = obj
            .cast::<PyArrayDyn<f64>>()?
            .try_readwrite()
            .map_err(busy)?;
        let out = w
            .as_slice_mut()
            .map_err(|e| PyValueError::new_err(format!("{arg}: {e}")))?;
        return py
            .detach(|| guarded(|| e.grad.write_dense_into(l, scale, out)))
            .into_py(py);
    }
    Err(PyTypeError::new_err(format!(
        "{arg}: dtype {} cannot hold the gradient; use float32 or float64",
        dt.str()
            .map(|s| s.to_string())
            .unwrap_or_else(|_| "?".into())
    )))
}
