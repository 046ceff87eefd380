//! The configuration: read from the case format's `config` dict by the core's reader on every
//! call, or once into a `Config` object that later calls take as it is (a training loop's
//! choice: the reading and validation then cost nothing per batch).

use pyo3::prelude::*;
use pyo3::types::PyDict;
use soft_objectness::{Config, Limits};

use crate::arrays::value_of;
use crate::errors::Result;

/// A configuration read and validated once.
///
/// `Config(config, nc=None)` reads a dict in the case format's `config` shape with the case
/// reader's defaults, validation and messages (a `CaseError` names the field); `nc` fills a
/// missing `nc`. Every function that takes a configuration takes this object too, as it is:
/// a training loop reads its configuration once instead of once per batch.
///
/// >>> cfg = Config({"nc": 2, "anchors": {"shape": [1, 1, 2], "data": [3.0, 3.0]}})
/// >>> cfg.nc, cfg.nl, cfg.na
/// (2, 1, 1)
/// >>> cfg.to_dict()["assigner"]
/// 'soft'

#[pyclass(module = "soft_objectness", name = "Config", frozen)]
pub struct PyConfig {
    pub(crate) config: Config,
}

#[pymethods]
impl PyConfig {
    /// Reads `config` (a dict in the case format's `config` shape, or a `Config`) with the
    /// case reader's defaults, validation and messages; `nc` fills a missing `nc`.
    #[new]
    #[pyo3(signature = (config, nc = None))]
    fn new(config: &Bound<'_, PyAny>, nc: Option<usize>) -> Result<Self> {
        Ok(Self {
            config: read(config, nc)?,
        })
    }

    /// Every key explicit, as a case file's `config` (arrays as `{"shape", "data"}`).
    fn to_dict<'py>(&self, py: Python<'py>) -> Result<Bound<'py, PyDict>> {
        Ok(pythonize::pythonize(py, &self.config.to_json())?.cast_into::<PyDict>()?)
    }

    /// Number of classes.
    #[getter]
    fn nc(&self) -> usize {
        self.config.nc
    }

    /// Number of detection layers.
    #[getter]
    fn nl(&self) -> usize {
        self.config.nl()
    }

    /// Anchors per layer.
    #[getter]
    fn na(&self) -> usize {
        self.config.na()
    }

    fn __repr__(&self) -> String {
        format!("Config({})", self.config.to_json())
    }
}

/// The configuration of a call: a `Config` object as it is, or a dict through the core's
/// reader (`nc_hint`, from the predictions, fills a missing `nc`).
pub fn read(obj: &Bound<'_, PyAny>, nc_hint: Option<usize>) -> Result<Config> {
    if let Ok(c) = obj.cast::<PyConfig>() {
        return Ok(c.get().config.clone());
    }
    let v = value_of(obj, "config")?;
    Ok(Config::from_json(&v, nc_hint, &Limits::default())?)
}
