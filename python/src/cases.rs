//! Cases in: a case argument (a path, or a dict in the array form or the JSON form) read by the
//! core's case reader or borrowed where its arrays lie, and the functions on whole cases: `load_case`, `evaluate_case`, `write_case`, `gen_cases`,
//! `default_batch`.

use std::path::{Path, PathBuf};

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyMapping};
use soft_objectness::casegen::{self, CaseSpace, Cases, Generate, WriteOptions};
use soft_objectness::default_batch::DefaultBatch;
use soft_objectness::{
    Answer, Case, Config, Inputs, InputsView, Limits, Prediction, PredictionView,
};

use crate::arrays::{Borrowed, path_of, type_error, type_name, value_of};
use crate::config;
use crate::errors::{Result, detached, warn};
use crate::evaluation::{PyEvaluation, eval_options, run};
use crate::outputs::case_out;

/// Where a case's inputs lie: read into memory by the case reader, or borrowed from the
/// caller's arrays.
enum Source<'py> {
    Owned(Inputs),
    Borrowed(Borrowed<'py>),
}

/// A case argument, read.
pub struct CaseInput<'py> {
    /// The configuration, read and validated.
    pub config: Config,
    inputs: Source<'py>,
    name: String,
    expected: Option<Answer>,
    /// The folder of a case read from a file (its answer's `{"npy": FILE}` references resolve
    /// there); `None` for a dict.
    pub base_dir: Option<PathBuf>,
}

impl<'py> CaseInput<'py> {
    /// Reads `obj`: a path (the case reader, `.npy` references beside the file), a dict in the
    /// array form as `load_case` returns it (arrays taken where they lie), or a dict in the JSON
    /// form as `json.load` gives it (the case reader, references in the current directory).
    /// `expected` is read only when `with_expected`. The reader's warnings become
    /// `CaseWarning`s.
    pub fn read(obj: &Bound<'py, PyAny>, with_expected: bool) -> Result<Self> {
        let py = obj.py();
        let (case, base_dir) = if let Some(path) = path_of(obj)? {
            let case = detached(py, || Case::load(&path, &Limits::default()))?;
            let dir = std::path::absolute(&path)
                .ok()
                .and_then(|p| p.parent().map(Path::to_path_buf));
            (case, dir)
        } else {
            let d = as_dict(obj)?;
            if is_array_form(&d)? {
                return Self::borrowed(&d, with_expected);
            }
            let v = value_of(&d, "case")?;
            let case = detached(py, || Case::from_value(&v, None, &Limits::default()))?;
            (case, None)
        };
        warn(py, &case.warnings)?;
        Ok(CaseInput {
            config: case.config,
            inputs: Source::Owned(case.inputs),
            name: case.name,
            expected: case.expected,
            base_dir,
        })
    }

    /// A case dict in the array form, its arrays borrowed.
    fn borrowed(d: &Bound<'py, PyDict>, with_expected: bool) -> Result<Self> {
        let py = d.py();
        let inputs = d.get_item("inputs")?.expect("the array form has inputs");
        let empty = PyList::empty(py).into_any();
        let preds = inputs.get_item("predictions").unwrap_or(empty);
        let inputs = Borrowed::new(&inputs.get_item("targets")?, &preds)?;
        let config = match d.get_item("config")? {
            Some(c) if !c.is_none() => c,
            _ => PyDict::new(py).into_any(),
        };
        let config = config::read(&config, inputs.nc_hint())?;
        let name = match d.get_item("name")? {
            Some(n) => n.str()?.to_string(),
            None => String::new(),
        };
        let expected = match d.get_item("expected")? {
            Some(e) if with_expected && !e.is_none() => Some(crate::answers::read(&e, None)?),
            _ => None,
        };
        Ok(CaseInput {
            config,
            inputs: Source::Borrowed(inputs),
            name,
            expected,
            base_dir: None,
        })
    }

    /// The core's view of the inputs.
    pub fn view(&self) -> InputsView<'_> {
        match &self.inputs {
            Source::Owned(i) => i.view(),
            Source::Borrowed(b) => b.view(),
        }
    }

    /// The case, validated, its inputs owned (copied from borrowed arrays).
    pub fn into_case(self, py: Python<'_>) -> Result<Case> {
        let view = self.view();
        detached(py, || view.validate(&self.config))?;
        let inputs = match self.inputs {
            Source::Owned(i) => i,
            Source::Borrowed(b) => owned(&b.view()),
        };
        Ok(Case {
            name: self.name,
            config: self.config,
            inputs,
            expected: self.expected,
            warnings: Vec::new(),
        })
    }
}

/// `obj` as a dict (a mapping is copied into one).
fn as_dict<'py>(obj: &Bound<'py, PyAny>) -> Result<Bound<'py, PyDict>> {
    if let Ok(d) = obj.cast::<PyDict>() {
        return Ok(d.clone());
    }
    let m = obj.cast::<PyMapping>().map_err(|_| {
        type_error(format!(
            "case: expected a dict or a path, got {}",
            type_name(obj)
        ))
    })?;
    let d = PyDict::new(obj.py());
    d.update(m)?;
    Ok(d)
}

/// Whether a case dict holds its inputs as arrays (numpy, torch, lists) rather than in the JSON
/// form (`{"shape", "data"}` or `{"npy": FILE}` objects).
fn is_array_form(case: &Bound<'_, PyDict>) -> Result<bool> {
    let Some(inputs) = case.get_item("inputs")? else {
        return Ok(false);
    };
    let Ok(inputs) = inputs.cast::<PyMapping>() else {
        return Ok(false);
    };
    let json_like = |v: &Bound<'_, PyAny>| v.is_none() || v.is_instance_of::<PyMapping>();
    let Ok(targets) = inputs.get_item("targets") else {
        return Ok(false);
    };
    if json_like(&targets) {
        return Ok(false);
    }
    if let Ok(preds) = inputs.get_item("predictions")
        && (preds.is_instance_of::<PyList>() || preds.is_instance_of::<pyo3::types::PyTuple>())
    {
        for p in preds.try_iter()? {
            if json_like(&p?) {
                return Ok(false);
            }
        }
    }
    Ok(true)
}

/// An owned copy of borrowed inputs (a case to be written holds its arrays).
fn owned(view: &InputsView<'_>) -> Inputs {
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

/// Reads a case file (spec section 10) as the command line does.
///
/// Returns a dict shaped like the file: `format`, `name`, `config` (every key explicit),
/// `inputs` (`targets` float64 `[nt, 6]`, `predictions` in the precision they were stored in,
/// `.npy` references resolved beside the file) and `expected` when the case has one (as
/// `load_answer` returns it). The reader's warnings become `CaseWarning`s.
#[pyfunction]
pub fn load_case(py: Python<'_>, path: PathBuf) -> Result<Bound<'_, PyDict>> {
    let mut case = detached(py, || Case::load(&path, &Limits::default()))?;
    warn(py, &std::mem::take(&mut case.warnings))?;
    case_out(py, case)
}

/// `evaluate` on a case: a path, a dict as `load_case` returns it (arrays taken where they
/// lie), or a dict in the JSON form (as `json.load` gives it; read by the case reader,
/// `{"npy": FILE}` references relative to the current directory).
#[pyfunction]
#[pyo3(signature = (case, *, builder = "vectorised", backend = "cpu", balance = None))]
pub fn evaluate_case(
    py: Python<'_>,
    case: &Bound<'_, PyAny>,
    builder: &str,
    backend: &str,
    balance: Option<Vec<f64>>,
) -> Result<PyEvaluation> {
    let c = CaseInput::read(case, false)?;
    let opts = eval_options(py, builder, backend, balance)?;
    run(py, c.config.clone(), &c.view(), &opts)
}

/// Writes a case as `softobj gen` does: `path` (`STEM.json`) and, with `npy`, each prediction
/// layer as `STEM.pL.npy` beside it in its own precision. `case` is a path or a dict in either
/// form; its `expected`, when present, is written too. The case is validated first (a case the
/// oracle would refuse raises `CaseError`). An existing file is refused (`FileExistsError`)
/// unless `force`, before anything is written. Returns the files written.
#[pyfunction]
#[pyo3(signature = (path, case, npy = false, *, force = false))]
pub fn write_case(
    py: Python<'_>,
    path: PathBuf,
    case: &Bound<'_, PyAny>,
    npy: bool,
    force: bool,
) -> Result<Vec<String>> {
    let case = CaseInput::read(case, true)?.into_case(py)?;
    let (dir, stem) = split_path(&path);
    let files = detached(py, || {
        casegen::write_case(&case, &dir, &stem, &WriteOptions { npy, force })
    })?;
    Ok(files.iter().map(|f| f.display().to_string()).collect())
}

/// The folder and the file stem of `path` (`DIR/STEM.json`, or `DIR/STEM`).
fn split_path(path: &Path) -> (PathBuf, String) {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "case".into());
    let stem = name.strip_suffix(".json").unwrap_or(&name).to_string();
    (dir, stem)
}

/// Cases as `softobj gen` makes them, bit for bit: `count` random cases over every option and
/// shape (1 to 5 layers of 1 to 4 anchors, 1 to 4 images, non-square too, 1 to 8 classes),
/// narrowed by `space` (a dict of the case format's keys, `{"assigner": "yolov5",
/// "hyp.fl_gamma": 0, "nl": [1, 2]}`: `softobj gen --where`), or with `edge` the edge mix (a
/// fixed list covering every rule of the spec; `count` ignored, `space` refused).
/// `with_expected` adds the oracle's answer. With `out`, each case is also written there under
/// the command line's file name (`case-000.json`, `edge-00-KEY.json`; with `npy` the layers as
/// `.npy` files), an existing file refused unless `force`. Returns the cases as `load_case`
/// would read them.
#[pyfunction]
#[pyo3(signature = (count = 10, seed = 0, edge = false, *, space = None, with_expected = false, out = None, npy = false, force = false))]
#[allow(clippy::too_many_arguments)]
pub fn gen_cases<'py>(
    py: Python<'py>,
    count: u64,
    seed: u64,
    edge: bool,
    space: Option<&Bound<'py, PyAny>>,
    with_expected: bool,
    out: Option<PathBuf>,
    npy: bool,
    force: bool,
) -> Result<Vec<Bound<'py, PyDict>>> {
    let space = space.map(space_of).transpose()?;
    let cases = match (edge, space) {
        (false, space) => Cases::Random {
            count,
            space: space.unwrap_or_default(),
        },
        (true, None) => Cases::Edge,
        (true, Some(s)) => {
            return Err(soft_objectness::Error::invalid(
                "space",
                s,
                "applies to random cases: the edge mix is a fixed list (edge=True takes no space)",
            )
            .into());
        }
    };
    let mut request = Generate::new(cases, seed);
    request.with_expected = with_expected;
    let generated = detached(py, || {
        let generated = casegen::generate(&request)?;
        if let Some(dir) = &out {
            let opts = WriteOptions { npy, force };
            for g in &generated {
                casegen::write_case(&g.case, dir, &g.stem, &opts)?;
            }
        }
        Ok(generated)
    })?;
    generated
        .into_iter()
        .map(|g| case_out(py, g.case))
        .collect()
}

/// The `space` argument: a dict of the case format's keys, read by the core
/// ([`CaseSpace::from_json`]: errors name `space.KEY`).
pub fn space_of(obj: &Bound<'_, PyAny>) -> Result<CaseSpace> {
    let v: serde_json::Value = pythonize::depythonize(obj)?;
    Ok(CaseSpace::from_json(&v)?)
}

/// The default batch of `softobj bench` as a case dict (YOLOv5s anchors, float32 predictions).
/// Left out, `batch` (16), `size` (640: images of 640x640), `nc` (80) and `seed` are the
/// benchmarks'. A shape the default batch refuses (`size` a positive multiple of 32, ...)
/// raises `CaseError` naming `default_batch.FIELD`.
#[pyfunction]
#[pyo3(signature = (boxes_per_image = 8, *, batch = None, size = None, nc = None, seed = None))]
pub fn default_batch(
    py: Python<'_>,
    boxes_per_image: usize,
    batch: Option<usize>,
    size: Option<usize>,
    nc: Option<usize>,
    seed: Option<u64>,
) -> Result<Bound<'_, PyDict>> {
    let s = DefaultBatch::standard(boxes_per_image);
    let b = DefaultBatch {
        batch: batch.unwrap_or(s.batch),
        width: size.unwrap_or(s.width),
        height: size.unwrap_or(s.height),
        nc: nc.unwrap_or(s.nc),
        seed: seed.unwrap_or(s.seed),
        ..s
    };
    let (config, inputs) = detached(py, || b.build())?;
    let case = Case {
        name: format!("default batch ({boxes_per_image} boxes per image)"),
        config,
        inputs,
        expected: None,
        warnings: Vec::new(),
    };
    case_out(py, case)
}
