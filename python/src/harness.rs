//! The porter's harness from Python: `conformance` runs a Python callable (the [`PyPort`]
//! adapter) through the core's harness and returns the [`PyConformance`] it finds.

use std::sync::OnceLock;
use std::time::Duration;

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use soft_objectness::harness::{self, CaseResult, Conformance, HarnessOptions, MinimalCase};

use crate::cases::{CaseInput, space_of};
use crate::errors::{Result, detached};
use crate::outputs::case_out;
use crate::port::PyPort;
use crate::report::{PyReport, fields_of, preset_name, tolerances_of};

/// What the harness finds about a port: `conformance` returns it.
///
/// `str(c)` is the diagnosis a person reads first: the tally, the float32 finding, then per
/// failure group how its cases fail, its suspects (the options the failures follow, each in
/// one sentence naming the config key: `fails on 14/14 cases with hyp.fl_gamma > 0 and on
/// 0/36 without`), where in the answer, an example and its smallest case. `to_dict()` is the
/// whole finding as plain data (`softobj conform --json`).
#[pyclass(module = "soft_objectness", name = "Conformance", frozen)]
pub struct PyConformance {
    c: Conformance,
    preset: String,
    text: OnceLock<String>,
}

#[pymethods]
impl PyConformance {
    /// Every case conforms under the run's tolerances.
    #[getter]
    fn ok(&self) -> bool {
        self.c.ok
    }

    /// The diagnosis (also `str(c)`).
    #[getter]
    fn text(&self) -> &str {
        self.text.get_or_init(|| self.c.to_string())
    }

    /// One dict per case, in the order run: `name` (a file stem: `edge-03-leave-top`,
    /// `case-007`), `description` (the case's own name), `conforms`, `verdict` (one line),
    /// `failing` (the fields that fail or are missing), `report` (a `Report`, None when the
    /// port gave no answer), `failure` (why it gave none: `{"failure": "raised", "kind",
    /// "message"}`, `{"failure": "timed_out", "seconds"}`, `{"failure": "malformed", "what"}`;
    /// None when it answered), `groups` (indices of `groups`), `float32_values`, `seconds` (in
    /// the port).
    #[getter]
    fn cases<'py>(&self, py: Python<'py>) -> Result<Bound<'py, PyList>> {
        let list = PyList::empty(py);
        for c in &self.c.cases {
            list.append(self.case_out(py, c)?)?;
        }
        Ok(list)
    }

    /// The failing cases grouped by how they fail, the largest group first: `how`, `core`
    /// (the ways every case of the group fails), `cases` (indices of `cases`), `example`, and
    /// where: `fields`, `layers`, `channels` (of the gradient), `patterns` (each a list of
    /// `{"what", "cases"}`), `class_changes`, `f32` (judged under the `f32` preset after the
    /// float32 finding).
    #[getter]
    fn groups<'py>(&self, py: Python<'py>) -> Result<Bound<'py, PyAny>> {
        Ok(pythonize::pythonize(py, &self.c.groups)?)
    }

    /// The suspects, best first (every group's best, then every group's second, ...): `group`,
    /// `feature` (`hyp.fl_gamma > 0`), `keys` (the config keys it names, as the case format
    /// spells them), `with` and `without` (`(failing, all)` cases with and without it),
    /// `score` (0 to 1), `sentence`.
    #[getter]
    fn suspects<'py>(&self, py: Python<'py>) -> Result<Bound<'py, PyAny>> {
        Ok(pythonize::pythonize(py, &self.c.suspects)?)
    }

    /// Per group shrunk, its smallest failing case: `group`, `from` (the case it was shrunk
    /// from), `size` (`1 image, 1 box, 1 layer of 4x4 cells, 1 anchor, nc 2; lobj fails`),
    /// `case` (a case dict as `load_case` returns it: `write_case` writes it), `port_calls`.
    #[getter]
    fn minimal<'py>(&self, py: Python<'py>) -> Result<Bound<'py, PyList>> {
        let list = PyList::empty(py);
        for m in &self.c.minimal {
            list.append(minimal_out(py, m)?)?;
        }
        Ok(list)
    }

    /// The float32 finding (`answered`, `failing`, `exact_f32`, `within_f32`,
    /// `still_failing`, `tolerances`), or None when the answers do not look computed in
    /// float32.
    #[getter]
    fn precision<'py>(&self, py: Python<'py>) -> Result<Bound<'py, PyAny>> {
        Ok(pythonize::pythonize(py, &self.c.precision)?)
    }

    /// The tolerances applied, `{"rtol", "atol", "tobj_atol", "grad_rtol"}`.
    #[getter]
    fn tolerances<'py>(&self, py: Python<'py>) -> Result<Bound<'py, PyAny>> {
        Ok(pythonize::pythonize(py, &self.c.tolerances)?)
    }

    /// Which tolerances: `f64`, `f32` (the presets) or `custom` (a preset with overrides).
    #[getter]
    fn preset(&self) -> &str {
        &self.preset
    }

    /// The fields judged when `only` was given; None when every field was.
    #[getter]
    fn only(&self) -> Option<Vec<String>> {
        self.c.only.clone()
    }

    /// The random space as `softobj gen --where` writes it (empty: every case).
    #[getter]
    fn space(&self) -> &str {
        &self.c.space
    }

    /// Edge cases outside the space, left out.
    #[getter]
    fn left_out(&self) -> usize {
        self.c.left_out
    }

    /// Calls of the port, shrinking included.
    #[getter]
    fn port_calls(&self) -> usize {
        self.c.port_calls
    }

    /// Seconds spent in the port (waiting for its replies).
    #[getter]
    fn port_seconds(&self) -> f64 {
        self.c.port_seconds
    }

    /// Seconds of the whole run.
    #[getter]
    fn seconds(&self) -> f64 {
        self.c.seconds
    }

    /// The whole finding as plain data (lists, dicts, numbers, strings; a minimal case in the
    /// JSON form of the case format): what `softobj conform --json` prints.
    fn to_dict<'py>(&self, py: Python<'py>) -> Result<Bound<'py, PyAny>> {
        Ok(pythonize::pythonize(py, &self.c)?)
    }

    fn __str__(&self) -> &str {
        self.text()
    }

    fn __repr__(&self) -> String {
        let n = self.c.cases.len();
        let failing = self.c.cases.iter().filter(|c| !c.conforms).count();
        format!("<Conformance: {failing} of {n} cases do not conform>")
    }
}

impl PyConformance {
    /// One case's dict (see [`PyConformance::cases`]).
    fn case_out<'py>(&self, py: Python<'py>, c: &CaseResult) -> Result<Bound<'py, PyDict>> {
        let mut plain = c.clone();
        let report = plain.report.take();
        let d = pythonize::pythonize(py, &plain)?.cast_into::<PyDict>()?;
        let report = report.map(|r| PyReport::new(r, self.preset.clone()));
        d.set_item("report", report)?;
        if !d.contains("failure")? {
            d.set_item("failure", py.None())?;
        }
        Ok(d)
    }
}

/// A minimal case's dict, its case as `load_case` returns one.
fn minimal_out<'py>(py: Python<'py>, m: &MinimalCase) -> Result<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("group", m.group)?;
    d.set_item("from", &m.from)?;
    d.set_item("size", &m.size)?;
    d.set_item("case", case_out(py, m.case.clone())?)?;
    d.set_item("port_calls", m.port_calls)?;
    Ok(d)
}

/// Runs a port of the method over many cases and says what is wrong with it: which option its
/// failures follow, where in the answer they show, whether it computes in float32, and the
/// smallest case that still fails the same way (`softobj conform` for a Python callable).
///
/// Args:
///     port: a callable `port(config, targets, predictions) -> answer`: `config` the case
///         format's config dict (every key explicit, `anchors` as `{"shape", "data"}`),
///         `targets` a float64 array `[nt, 6]`, `predictions` a list of arrays `[bs, na, ny,
///         nx, 5 + nc]` (fresh copies: the port may change them); the answer a dict as
///         `check` takes it (`loss`, `lbox`, `lobj`, `lcls`, `tobj`, `counts`, `grad`, ...).
///         It runs on a daemon thread of its own, one call at a time.
///     cases: the cases to run (paths or case dicts); None: the edge mix (the cases within
///         `space`) and `count` random cases within `space`.
///     preset, only, **tolerances: as `check` takes them.
///     count, seed: the random cases (`gen_cases(count, seed, space=space)`).
///     space: what the port supports, a dict of the case format's keys (`gen_cases`).
///     shrink: shrink each failure group to its smallest failing case.
///     timeout: seconds the port may take per case (None: no limit); a call past it is
///         abandoned, still running on its thread, and the case fails as timed out.
///     shrink_calls: the most port calls spent shrinking one group.
///
/// Returns:
///     A `Conformance`. A port that raises, hangs, returns NaN, wrong shapes or misses keys
///     gives failing cases with their reasons: only bad arguments raise (and Ctrl-C, which
///     stops the run with `KeyboardInterrupt`).
#[pyfunction]
#[pyo3(
    signature = (port, cases = None, *, preset = "f64", only = None, count = 100, seed = 0, space = None, shrink = true, timeout = Some(10.0), shrink_calls = 200, **tolerances),
    text_signature = "(port, cases=None, *, preset='f64', only=None, count=100, seed=0, space=None, shrink=True, timeout=10.0, shrink_calls=200, **tolerances)"
)]
#[allow(clippy::too_many_arguments)]
pub fn conformance(
    py: Python<'_>,
    port: &Bound<'_, PyAny>,
    cases: Option<&Bound<'_, PyAny>>,
    preset: &str,
    only: Option<&Bound<'_, PyAny>>,
    count: u64,
    seed: u64,
    space: Option<&Bound<'_, PyAny>>,
    shrink: bool,
    timeout: Option<f64>,
    shrink_calls: usize,
    tolerances: Option<&Bound<'_, PyDict>>,
) -> Result<PyConformance> {
    let mut opts = HarnessOptions::default();
    opts.tolerances = tolerances_of(preset, tolerances)?;
    opts.only = only.map(fields_of).transpose()?;
    opts.count = count;
    opts.seed = seed;
    opts.space = space.map(space_of).transpose()?.unwrap_or_default();
    opts.shrink = shrink;
    opts.timeout = timeout.map(seconds).transpose()?;
    opts.shrink_calls = shrink_calls;
    opts.cases = cases.map(|c| cases_of(py, c)).transpose()?;
    opts.validate()?;
    let mut p = PyPort::new(port)?;
    let found = detached(py, || harness::run(&mut p, &opts));
    p.finish(py)?;
    Ok(PyConformance {
        c: found?,
        preset: preset_name(preset, tolerances),
        text: OnceLock::new(),
    })
}

/// The `timeout` argument: seconds, finite and positive.
fn seconds(s: f64) -> Result<Duration> {
    if s.is_finite() && s > 0.0 {
        return Ok(Duration::from_secs_f64(s));
    }
    Err(soft_objectness::Error::invalid(
        "timeout",
        s,
        "must be a number of seconds > 0 (None: no limit)",
    )
    .into())
}

/// The `cases` argument: an iterable of cases (paths or dicts), each read and validated.
fn cases_of(py: Python<'_>, obj: &Bound<'_, PyAny>) -> Result<Vec<soft_objectness::Case>> {
    let mut out = Vec::new();
    for item in obj.try_iter()? {
        out.push(CaseInput::read(&item?, false)?.into_case(py)?);
    }
    Ok(out)
}
