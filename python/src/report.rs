//! A conformance [`Report`] as Python data, each listed value with its place, the input logit
//! there and the oracle row that wrote it (as the core's comparison found them).

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use soft_objectness::Named;
use soft_objectness::conformance::{FieldReport, Location, Mismatch, Report};

/// One listed value: `location` (the report's words), `kind`, the indices that apply
/// (`layer`, `image`, `anchor`, `y`, `x`, `channel`, `row`, `item`, `class`), `got`, `want`,
/// `allowed`, `classes` (oracle, answer) for `tobj` cells, `logit`: the prediction at that
/// place (channel 4, objectness, for a `tobj` cell), and `writer`: the oracle row that wrote
/// a `tobj` cell, in words (None when none did).
fn mismatch<'py>(py: Python<'py>, m: &Mismatch) -> PyResult<Bound<'py, PyDict>> {
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
        } => cell(&d, "cell", [*layer, *image, *anchor, *y, *x, 4])?,
        Location::Channel {
            layer,
            image,
            anchor,
            y,
            x,
            channel,
        } => cell(&d, "channel", [*layer, *image, *anchor, *y, *x, *channel])?,
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

fn field<'py>(py: Python<'py>, f: &FieldReport) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("field", &f.field)?;
    d.set_item("rule", &f.rule)?;
    d.set_item("passed", f.passed())?;
    d.set_item("compared", f.compared)?;
    d.set_item("failed", f.failed)?;
    d.set_item("max_abs_err", f.max_abs_err)?;
    d.set_item("max_rel_err", f.max_rel_err)?;
    match &f.worst {
        Some(w) => d.set_item("worst", mismatch(py, w)?)?,
        None => d.set_item("worst", py.None())?,
    }
    let list = PyList::empty(py);
    for m in &f.first_failures {
        list.append(mismatch(py, m)?)?;
    }
    d.set_item("first_failures", list)?;
    Ok(d)
}

/// The whole report: `conforms`, `verdict`, `text` (what `softobj check` prints), `tolerances`,
/// `fields` (one dict per compared field), `class_changes` (the report's words and the 3x3
/// matrix, oracle class by answer class), `missing`, `not_given`, `problems`, `patterns` (the
/// named failure patterns the comparison recognised, in words).
pub fn report_out<'py>(py: Python<'py>, r: &Report) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("conforms", r.conforms())?;
    d.set_item("verdict", r.verdict())?;
    d.set_item("text", r.to_string())?;
    let t = PyDict::new(py);
    t.set_item("rtol", r.tolerances.rtol)?;
    t.set_item("atol", r.tolerances.atol)?;
    t.set_item("tobj_atol", r.tolerances.tobj_atol)?;
    t.set_item("grad_rtol", r.tolerances.grad_rtol)?;
    d.set_item("tolerances", t)?;
    let fields = PyList::empty(py);
    for f in &r.fields {
        fields.append(field(py, f)?)?;
    }
    d.set_item("fields", fields)?;
    d.set_item("class_changes", r.class_changes.to_string())?;
    d.set_item(
        "class_change_matrix",
        r.class_changes.0.map(|row| row.to_vec()).to_vec(),
    )?;
    d.set_item("missing", &r.missing)?;
    d.set_item("not_given", &r.not_given)?;
    d.set_item("problems", &r.problems)?;
    let patterns: Vec<String> = r.patterns.iter().map(|p| p.to_string()).collect();
    d.set_item("patterns", patterns)?;
    Ok(d)
}

/// A place in a prediction: `kind` and its six indices (a `tobj` cell is channel 4, objectness).
fn cell(d: &Bound<'_, PyDict>, kind: &str, at: [usize; 6]) -> PyResult<()> {
    d.set_item("kind", kind)?;
    for (k, v) in ["layer", "image", "anchor", "y", "x", "channel"]
        .into_iter()
        .zip(at)
    {
        d.set_item(k, v)?;
    }
    Ok(())
}
