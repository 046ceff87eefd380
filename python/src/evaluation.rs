//! The result of an evaluation as a Python object; arrays are built on request (the Python
//! layer caches them), so that an evaluation costs what the core's costs.

use numpy::PyArray;
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

    /// The answer of this evaluation, as `softobj eval` prints it.
    fn to_answer<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let a = py
            .detach(|| guarded(|| Ok(Answer::from_evaluation(&self.e, &self.config))))
            .into_py(py)?;
        answer_out(py, a)
    }
}
