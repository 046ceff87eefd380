//! Checking an answer: `check`, the tolerance presets, and the conformance [`PyReport`] with
//! each listed value's place, the input logit there and the oracle row that wrote it (as the
//! core's comparison found them; nothing is judged here).

use std::sync::OnceLock;

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString};
use soft_objectness::Named;
use soft_objectness::conformance::{
    self, CheckOptions, FieldReport, Location, Mismatch, Report, Tolerances,
};

use crate::cases::CaseInput;
use crate::errors::{Result, pooled};

/// The tolerance presets by name, as `softobj check` has them (`--f32` for `f32`).
pub const PRESETS: [(&str, Tolerances); 2] = [("f64", Tolerances::F64), ("f32", Tolerances::F32)];

/// Whether an answer conforms to the oracle, and how far off each field is: what `check`
/// returns, `softobj check`'s report.
///
/// A mismatch dict (in `fields[i]["worst"]`, `fields[i]["first_failures"]` and `failures`)
/// has `location` (the report's words), `kind` (`scalar`, `layer`, `cell`, `channel`,
/// `count`, `row`), the indices that apply (`layer`, `image`, `anchor`, `y`, `x`, `channel`,
/// `row`, `item`, `class`), `got`, `want`, `allowed`, `classes` (oracle class, answer class:
/// `tobj` cells), `logit`, the input prediction at that place (the objectness channel for a
/// `tobj` cell), and `writer`, the oracle row that wrote a `tobj` cell (in words; None when
/// none did).
#[pyclass(module = "soft_objectness", name = "Report", frozen)]
pub struct PyReport {
    report: Report,
    preset: String,
    text: OnceLock<String>,
}

impl PyReport {
    /// The report `report`, made under the tolerances `preset` names (`f64`, `f32`, `custom`).
    pub fn new(report: Report, preset: impl Into<String>) -> Self {
        PyReport {
            report,
            preset: preset.into(),
            text: OnceLock::new(),
        }
    }
}

#[pymethods]
impl PyReport {
    /// The answer conforms: every required field present, no structural problem, every value
    /// within tolerance, no `tobj` cell changing class.
    #[getter]
    fn ok(&self) -> bool {
        self.report.conforms()
    }

    /// One line: `conforms` or what fails.
    #[getter]
    fn verdict(&self) -> String {
        self.report.verdict()
    }

    /// The report `softobj check` prints (also `str(report)`).
    #[getter]
    fn text(&self) -> &str {
        self.text.get_or_init(|| self.report.to_string())
    }

    /// The tolerances applied, `{"rtol", "atol", "tobj_atol", "grad_rtol"}`.
    #[getter]
    fn tolerances<'py>(&self, py: Python<'py>) -> Result<Bound<'py, PyAny>> {
        Ok(pythonize::pythonize(py, &self.report.tolerances)?)
    }

    /// Which tolerances: `f64`, `f32` (the presets) or `custom` (a preset with overrides).
    #[getter]
    fn preset(&self) -> &str {
        &self.preset
    }

    /// One dict per compared field, in the answer format's order: `field`, `rule` (the
    /// formula), `passed`, `compared`, `failed`, `max_abs_err`, `max_rel_err`, `worst` and
    /// `first_failures` (mismatch dicts).
    #[getter]
    fn fields<'py>(&self, py: Python<'py>) -> Result<Bound<'py, PyList>> {
        let list = PyList::empty(py);
        for f in &self.report.fields {
            list.append(field_out(py, f)?)?;
        }
        Ok(list)
    }

    /// Required fields the answer lacks.
    #[getter]
    fn missing(&self) -> Vec<String> {
        self.report.missing.clone()
    }

    /// Optional fields the answer lacks (not a failure).
    #[getter]
    fn not_given(&self) -> Vec<String> {
        self.report.not_given.clone()
    }

    /// Structural problems (layer counts, shapes); any is a failure.
    #[getter]
    fn problems(&self) -> Vec<String> {
        self.report.problems.clone()
    }

    /// The named failure patterns the comparison recognised, in words.
    #[getter]
    fn patterns(&self) -> Vec<String> {
        self.report.patterns.iter().map(|p| p.to_string()).collect()
    }

    /// `tobj` cells whose class changed, in words (`none` when none did).
    #[getter]
    fn class_changes(&self) -> String {
        self.report.class_changes.to_string()
    }

    /// The fields checked when `check` was given `only`; None when every field was.
    #[getter]
    fn only(&self) -> Option<Vec<String>> {
        self.report.only.clone()
    }

    /// Per field `{"abs": max_abs_err, "rel": max_rel_err}`.
    #[getter]
    fn worst<'py>(&self, py: Python<'py>) -> Result<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        for f in &self.report.fields {
            let w = PyDict::new(py);
            w.set_item("abs", f.max_abs_err)?;
            w.set_item("rel", f.max_rel_err)?;
            d.set_item(&f.field, w)?;
        }
        Ok(d)
    }

    /// The first failures of every field, each mismatch dict with its `field`.
    #[getter]
    fn failures<'py>(&self, py: Python<'py>) -> Result<Bound<'py, PyList>> {
        let list = PyList::empty(py);
        for f in &self.report.fields {
            for m in &f.first_failures {
                let d = mismatch_out(py, m)?;
                d.set_item("field", &f.field)?;
                list.append(d)?;
            }
        }
        Ok(list)
    }

    /// The report of one field (`loss`, `tobj`, `grad`, ...), or None when not compared.
    fn field<'py>(&self, py: Python<'py>, name: &str) -> Result<Option<Bound<'py, PyDict>>> {
        let f = self.report.fields.iter().find(|f| f.field == name);
        f.map(|f| field_out(py, f)).transpose()
    }

    fn __str__(&self) -> &str {
        self.text()
    }

    fn __repr__(&self) -> String {
        format!("<Report {}>", self.report.verdict())
    }
}

/// Judges another implementation's answer to a case: the same code as `softobj check`.
///
/// Args:
///     case: a path or a case dict (either form).
///     answer: a dict shaped like a case's `expected` (numpy or torch values, or the JSON
///         form; `{"npy": FILE}` references resolved beside a case file given by path, else
///         in the current directory), an `Evaluation`, or a path to an answer.
///     preset: `"f64"` or `"f32"` (`PRESETS`); the rules are those of `softobj check --help`
///         and docs/oracle-guide.md.
///     only: the answer fields to check (a name or a list of names of the answer format:
///         `loss`, `tobj`, `grad`, ...; `softobj check --only`); the others are neither
///         compared nor missing. None: every field.
///     listed: how many failures to list per field.
///     **tolerances: `rtol`, `atol`, `tobj_atol`, `grad_rtol` overriding the preset.
///
/// Returns:
///     A `Report`; `report.ok` says whether the answer conforms.
#[pyfunction]
#[pyo3(signature = (case, answer, preset = "f64", *, only = None, listed = 8, **tolerances))]
pub fn check(
    py: Python<'_>,
    case: &Bound<'_, PyAny>,
    answer: &Bound<'_, PyAny>,
    preset: &str,
    only: Option<&Bound<'_, PyAny>>,
    listed: usize,
    tolerances: Option<&Bound<'_, PyDict>>,
) -> Result<PyReport> {
    let mut opts = CheckOptions::default();
    opts.tolerances = tolerances_of(preset, tolerances)?;
    opts.listed = listed;
    opts.only = only.map(fields_of).transpose()?;
    opts.validate()?;
    let case = CaseInput::read(case, false)?;
    let answer = crate::answers::read(answer, case.base_dir.as_deref())?;
    let view = case.view();
    let report = pooled(py, || {
        conformance::check(&case.config, &view, &answer, &opts)
    })?;
    Ok(PyReport::new(report, preset_name(preset, tolerances)))
}

/// The name of the tolerances of `preset` with `overrides`: the preset's, or `custom`.
pub fn preset_name(preset: &str, overrides: Option<&Bound<'_, PyDict>>) -> String {
    let custom = overrides.is_some_and(|t| !t.is_empty());
    if custom { "custom" } else { preset }.into()
}

/// The tolerances of preset `name` with `overrides` by name (the fields of [`Tolerances`]).
pub fn tolerances_of(name: &str, overrides: Option<&Bound<'_, PyDict>>) -> Result<Tolerances> {
    let Some(&(_, preset)) = PRESETS.iter().find(|(n, _)| *n == name) else {
        let accepted: Vec<&str> = PRESETS.iter().map(|(n, _)| *n).collect();
        return Err(soft_objectness::Error::UnknownValue {
            field: "preset".into(),
            value: name.into(),
            accepted: accepted.join(", "),
        }
        .into());
    };
    let Some(overrides) = overrides else {
        return Ok(preset);
    };
    let py = overrides.py();
    let t = pythonize::pythonize(py, &preset)?.cast_into::<PyDict>()?;
    for (k, v) in overrides.iter() {
        if !t.contains(&k)? {
            let accepted: Vec<String> = t.keys().iter().map(|k| k.to_string()).collect();
            return Err(PyTypeError::new_err(format!(
                "unknown tolerance {} (accepted: {}, with preset, only and listed)",
                k.repr()?,
                accepted.join(", ")
            ))
            .into());
        }
        t.set_item(k, v.extract::<f64>()?)?;
    }
    Ok(pythonize::depythonize(t.as_any())?)
}

/// The `only` argument: a field name or a sequence of them.
pub fn fields_of(obj: &Bound<'_, PyAny>) -> Result<Vec<String>> {
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(vec![s.extract::<String>()?]);
    }
    Ok(obj.extract()?)
}

/// One listed value as a dict (see [`PyReport`]).
fn mismatch_out<'py>(py: Python<'py>, m: &Mismatch) -> Result<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("location", m.at.to_string())?;
    match &m.at {
        Location::Scalar => d.set_item("kind", "scalar")?,
        Location::Layer { layer } => {
            d.set_item("kind", "layer")?;
            d.set_item("layer", layer)?;
        }
        Location::Cell {
            layer,
            image,
            anchor,
            y,
            x,
        } => place(&d, "cell", [*layer, *image, *anchor, *y, *x, 4])?,
        Location::Channel {
            layer,
            image,
            anchor,
            y,
            x,
            channel,
        } => place(&d, "channel", [*layer, *image, *anchor, *y, *x, *channel])?,
        Location::Count { layer, class } => {
            d.set_item("kind", "count")?;
            d.set_item("layer", layer)?;
            d.set_item("class", class.name())?;
        }
        Location::Row { layer, row, item } => {
            d.set_item("kind", "row")?;
            d.set_item("layer", layer)?;
            d.set_item("row", row)?;
            d.set_item("item", item)?;
        }
        _ => d.set_item("kind", "other")?,
    }
    d.set_item("got", m.got)?;
    d.set_item("want", m.want)?;
    d.set_item("allowed", m.allowed)?;
    d.set_item("classes", m.classes.map(|(w, g)| (w.name(), g.name())))?;
    d.set_item("logit", m.logit)?;
    d.set_item("writer", m.writer.as_ref().map(|w| w.to_string()))?;
    Ok(d)
}

/// A place in a prediction: `kind` and its six indices (a `tobj` cell is channel 4, objectness).
fn place(d: &Bound<'_, PyDict>, kind: &str, at: [usize; 6]) -> Result<()> {
    d.set_item("kind", kind)?;
    for (k, v) in ["layer", "image", "anchor", "y", "x", "channel"]
        .into_iter()
        .zip(at)
    {
        d.set_item(k, v)?;
    }
    Ok(())
}

/// The report of one field as a dict (see [`PyReport::fields`]).
fn field_out<'py>(py: Python<'py>, f: &FieldReport) -> Result<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("field", &f.field)?;
    d.set_item("rule", &f.rule)?;
    d.set_item("passed", f.passed())?;
    d.set_item("compared", f.compared)?;
    d.set_item("failed", f.failed)?;
    d.set_item("max_abs_err", f.max_abs_err)?;
    d.set_item("max_rel_err", f.max_rel_err)?;
    let worst = f.worst.as_ref().map(|w| mismatch_out(py, w)).transpose()?;
    d.set_item("worst", worst)?;
    let list = PyList::empty(py);
    for m in &f.first_failures {
        list.append(mismatch_out(py, m)?)?;
    }
    d.set_item("first_failures", list)?;
    Ok(d)
}

/// The presets as `{name: {"rtol", "atol", "tobj_atol", "grad_rtol"}}`.
pub fn presets(py: Python<'_>) -> Result<Bound<'_, PyDict>> {
    let d = PyDict::new(py);
    for (name, t) in PRESETS {
        d.set_item(name, pythonize::pythonize(py, &t)?)?;
    }
    Ok(d)
}
