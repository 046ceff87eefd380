//! The case format of spec section 10: one JSON document with a configuration, inputs and
//! (in fixtures) the expected answer; validation of spec section 8.

use std::path::{Path, PathBuf};

use ndarray::{Array2, Array5, ArrayView5, Ix2, Ix5};
use serde_json::{Value, json};

use crate::answer::Answer;
use crate::array::{self, Limits};
use crate::config::Config;
use crate::error::{Error, Result, num};
use crate::json;
use crate::npy::NpyArray;

/// Largest legal logit magnitude: `f32::MAX` (see [`Prediction::first_illegal_logit`]).
pub const MAX_LOGIT: f64 = f32::MAX as f64;

/// Largest legal magnitude of a target's `x`, `y`, `w`, `h` (normalised units; defined here so
/// that grid coordinates stay far from the range of `i64` and of f64 squares).
pub const MAX_COORD: f64 = 1e6;

/// The format tag every case carries.
pub const FORMAT: &str = "soft-objectness-case/1";

/// One detection layer's raw predictions `[bs, na, ny, nx, 5 + nc]`, kept in the precision
/// they arrived in (f32 predictions are widened element by element, never copied).
#[derive(Debug, Clone, PartialEq)]
pub enum Prediction {
    /// Single precision.
    F32(Array5<f32>),
    /// Double precision.
    F64(Array5<f64>),
}

impl Prediction {
    /// The shape `[bs, na, ny, nx, no]`.
    pub fn shape(&self) -> [usize; 5] {
        let s = match self {
            Prediction::F32(a) => a.shape(),
            Prediction::F64(a) => a.shape(),
        };
        [s[0], s[1], s[2], s[3], s[4]]
    }

    /// The first non-finite element, as `(index, value)`.
    pub fn first_non_finite(&self) -> Option<([usize; 5], f64)> {
        self.first_where(|x| !x.is_finite())
    }

    /// The first element that is not a legal logit, as `(index, value)`: legal logits are
    /// finite and no larger in magnitude than `f32::MAX` (every finite f32 is legal; the bound
    /// keeps sums of losses over a layer finite).
    pub fn first_illegal_logit(&self) -> Option<([usize; 5], f64)> {
        // `|`, not `||`: branch-free, so the scan vectorises; inf is caught by the comparison.
        self.first_where(|x| x.is_nan() | (x.abs() > MAX_LOGIT))
    }

    fn first_where(&self, bad: impl Fn(f64) -> bool + Copy + Sync) -> Option<([usize; 5], f64)> {
        fn find<T: Copy + Into<f64> + Send + Sync>(
            a: &ArrayView5<T>,
            bad: impl Fn(f64) -> bool + Copy + Sync,
        ) -> Option<([usize; 5], f64)> {
            use rayon::prelude::*;
            let Some(flat) = a.as_slice() else {
                return a
                    .indexed_iter()
                    .find(|(_, x)| bad((**x).into()))
                    .map(|((i, j, k, l, m), x)| ([i, j, k, l, m], (*x).into()));
            };
            // Fixed chunks searched in parallel; the first chunk with a hit gives the first index.
            let pos = flat
                .par_chunks(1 << 16)
                .enumerate()
                .find_map_first(|(c, chunk)| {
                    // A branch-free scan first (it vectorises: ~10x faster than `position`),
                    // the exact position only in a chunk that has a hit.
                    if !chunk.iter().fold(false, |hit, x| hit | bad((*x).into())) {
                        return None;
                    }
                    chunk
                        .iter()
                        .position(|x| bad((*x).into()))
                        .map(|p| c * (1 << 16) + p)
                })?;
            let s = a.shape();
            let mut idx = [0usize; 5];
            let mut rest = pos;
            for d in (0..5).rev() {
                idx[d] = rest % s[d];
                rest /= s[d];
            }
            Some((idx, flat[pos].into()))
        }
        match self {
            Prediction::F32(a) => find(&a.view(), bad),
            Prediction::F64(a) => find(&a.view(), bad),
        }
    }

    /// A copy in f64.
    pub fn to_f64(&self) -> Array5<f64> {
        match self {
            Prediction::F32(a) => a.mapv(f64::from),
            Prediction::F64(a) => a.clone(),
        }
    }
}

/// The inputs of one evaluation (spec section 1).
#[derive(Debug, Clone, PartialEq)]
pub struct Inputs {
    /// `[nt, 6]` rows `(image, class, x, y, w, h)`, normalised.
    pub targets: Array2<f64>,
    /// One array per layer.
    pub predictions: Vec<Prediction>,
}

impl Inputs {
    /// Batch size (first dimension of the predictions).
    pub fn batch_size(&self) -> usize {
        self.predictions.first().map_or(0, |p| p.shape()[0])
    }

    /// Checks the inputs against spec section 8 and the configuration.
    ///
    /// # Errors
    /// The first rule broken, naming the field, row and value.
    pub fn validate(&self, config: &Config) -> Result<()> {
        let (nl, na, nc) = (config.nl(), config.na(), config.nc);
        if self.predictions.len() != nl {
            return Err(Error::shape(
                "inputs.predictions",
                format!("{nl} layers (config.anchors has {nl})"),
                format!("{} layers", self.predictions.len()),
            ));
        }
        let bs = self.batch_size();
        for (i, p) in self.predictions.iter().enumerate() {
            let s = p.shape();
            let field = format!("inputs.predictions[{i}]");
            let no = nc.saturating_add(5);
            let want = format!("[{bs}, {na}, ny >= 1, nx >= 1, {no}] (batch, na, grid, 5 + nc)");
            if s[0] != bs || s[1] != na || s[2] == 0 || s[3] == 0 || s[4] != no || bs == 0 {
                return Err(Error::shape(field, want, format!("{s:?}")));
            }
            if s[2] > i32::MAX as usize / 2 || s[3] > i32::MAX as usize / 2 {
                return Err(Error::invalid(field, format!("{s:?}"), "grid too large"));
            }
            if let Some((idx, v)) = p.first_illegal_logit() {
                let reason = if v.is_finite() {
                    "a logit must not exceed f32::MAX (3.4028235e38) in magnitude"
                } else {
                    "must be a finite number"
                };
                return Err(Error::invalid(
                    format!("{field} at {idx:?}"),
                    num(v),
                    reason,
                ));
            }
        }
        if self.targets.ncols() != 6 {
            return Err(Error::shape(
                "inputs.targets",
                "[nt, 6]",
                format!("{:?}", self.targets.shape()),
            ));
        }
        const COLS: [&str; 6] = ["image", "class", "x", "y", "w", "h"];
        for (r, row) in self.targets.outer_iter().enumerate() {
            for (c, &v) in row.iter().enumerate() {
                let field = || format!("inputs.targets row {r} ({})", COLS[c]);
                if !v.is_finite() {
                    return Err(Error::invalid(field(), num(v), "must be a finite number"));
                }
                match c {
                    0 if !(v.fract() == 0.0 && v >= 0.0 && v < bs as f64) => {
                        return Err(Error::invalid(
                            field(),
                            num(v),
                            format!("must be an integer image index in 0..{bs}"),
                        ));
                    }
                    1 if !(v.fract() == 0.0 && v >= 0.0 && v < nc as f64) => {
                        return Err(Error::invalid(
                            field(),
                            num(v),
                            format!("must be an integer class in 0..{nc}"),
                        ));
                    }
                    4 | 5 if v < 0.0 => {
                        return Err(Error::invalid(field(), num(v), "must not be negative"));
                    }
                    2..=5 if v.abs() > MAX_COORD => {
                        return Err(Error::invalid(
                            field(),
                            num(v),
                            "must lie within [-1e6, 1e6] (normalised coordinates)",
                        ));
                    }
                    _ => {}
                }
            }
        }
        Ok(())
    }
}

/// A whole case: configuration, inputs and, in fixtures, the expected answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    /// Free-text name.
    pub name: String,
    /// Configuration.
    pub config: Config,
    /// Inputs.
    pub inputs: Inputs,
    /// The expected answer, when the case is a fixture.
    pub expected: Option<Answer>,
}

impl Case {
    /// Parses a case from JSON text and validates it.
    ///
    /// ```
    /// let text = r#"{"format": "soft-objectness-case/1", "config": {"nc": 1,
    ///   "anchors": {"shape": [1, 1, 2], "data": [1.0, 1.0]}},
    ///   "inputs": {"targets": {"shape": [1, 6], "data": [0, 0, 0.5, 0.5, 0.5, 0.5]},
    ///   "predictions": [{"shape": [1, 1, 2, 2, 6], "data": [
    ///     0,0,0,0,0,0, 0,0,0,0,0,0, 0,0,0,0,0,0, 0,0,0,0,0,0]}]}}"#;
    /// let case = soft_objectness::Case::from_json_str(text).unwrap();
    /// assert_eq!(case.inputs.batch_size(), 1);
    /// ```
    ///
    /// # Errors
    /// Malformed JSON ([`Error::Json`] with line and column), an unknown format, any field of
    /// the wrong type, unknown `config` keys, and every rule of spec section 8.
    pub fn from_json_str(text: &str) -> Result<Case> {
        Self::from_json_str_with(text, &Limits::default(), None)
    }

    /// Like [`Case::from_json_str`], with explicit limits, resolving `{"npy": FILE}` array
    /// references relative to `base_dir` (the current directory when `None`).
    ///
    /// # Errors
    /// As [`Case::from_json_str`]; [`Error::JsonTooLarge`] when the text is longer than
    /// [`Limits::max_json_bytes`] (checked before parsing).
    pub fn from_json_str_with(
        text: &str,
        limits: &Limits,
        base_dir: Option<&Path>,
    ) -> Result<Case> {
        if text.len() as u64 > limits.max_json_bytes {
            return Err(Error::JsonTooLarge {
                what: "JSON text".into(),
                bytes: text.len() as u64,
                limit: limits.max_json_bytes,
            });
        }
        let v: Value = serde_json::from_str(text)?;
        Self::from_value(&v, limits, base_dir)
    }

    /// Reads and validates a case file (`.json`); `{"npy": FILE}` arrays are resolved beside it.
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be read, then as [`Case::from_json_str`].
    pub fn load(path: impl AsRef<Path>) -> Result<Case> {
        Self::load_with(path, &Limits::default())
    }

    /// [`Case::load`] with explicit limits. The file's size is checked against
    /// [`Limits::max_json_bytes`] before it is read.
    ///
    /// # Errors
    /// As [`Case::load`]; [`Error::JsonTooLarge`] for a file over the limit, and
    /// [`Error::Json`] (line 1, column 1) for a file that is not UTF-8 text.
    pub fn load_with(path: impl AsRef<Path>, limits: &Limits) -> Result<Case> {
        let path = path.as_ref();
        let io = |source| Error::Io {
            path: path.to_path_buf(),
            source,
        };
        let meta = std::fs::metadata(path).map_err(io)?;
        if meta.is_file() && meta.len() > limits.max_json_bytes {
            return Err(Error::JsonTooLarge {
                what: path.display().to_string(),
                bytes: meta.len(),
                limit: limits.max_json_bytes,
            });
        }
        // Read at most one byte past the limit, so that a pipe or device cannot exhaust memory.
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(
            &mut std::io::Read::take(
                std::fs::File::open(path).map_err(io)?,
                limits.max_json_bytes.saturating_add(1),
            ),
            &mut bytes,
        )
        .map_err(io)?;
        if bytes.len() as u64 > limits.max_json_bytes {
            return Err(Error::JsonTooLarge {
                what: path.display().to_string(),
                bytes: bytes.len() as u64,
                limit: limits.max_json_bytes,
            });
        }
        let text = String::from_utf8(bytes).map_err(|e| {
            let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
            let line = 1 + valid.iter().filter(|&&b| b == b'\n').count();
            let column = 1 + valid.iter().rev().take_while(|&&b| b != b'\n').count();
            Error::Json {
                line,
                column,
                message: format!("not UTF-8 text (byte {})", valid.len()),
            }
        })?;
        let dir = path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        Self::from_json_str_with(&text, limits, Some(&dir))
    }

    /// Builds a case from a parsed JSON value.
    pub fn from_value(v: &Value, limits: &Limits, base_dir: Option<&Path>) -> Result<Case> {
        let top = json::object(v, "(case)")?;
        match top.get("format") {
            None => {
                return Err(Error::Missing {
                    field: "format".into(),
                });
            }
            Some(f) => {
                let s = json::string(f, "format")?;
                if s != FORMAT {
                    return Err(Error::UnknownValue {
                        field: "format".into(),
                        value: json::shorten(s),
                        accepted: FORMAT.into(),
                    });
                }
            }
        }
        let name = match top.get("name") {
            Some(n) => json::string(n, "name")?.to_string(),
            None => String::new(),
        };
        let inputs_v = top.get("inputs").ok_or_else(|| Error::Missing {
            field: "inputs".into(),
        })?;
        let im = json::object(inputs_v, "inputs")?;
        let targets_v = im.get("targets").ok_or_else(|| Error::Missing {
            field: "inputs.targets".into(),
        })?;
        let targets = read_array(targets_v, "inputs.targets", limits, base_dir)?.into_f64();
        let targets: Array2<f64> = if targets.is_empty() && targets.ndim() != 2 {
            Array2::zeros((0, 6))
        } else {
            let shape = targets.shape().to_vec();
            targets
                .into_dimensionality::<Ix2>()
                .map_err(|_| Error::shape("inputs.targets", "[nt, 6]", format!("{shape:?}")))?
        };
        let preds_v = im.get("predictions").ok_or_else(|| Error::Missing {
            field: "inputs.predictions".into(),
        })?;
        let items = preds_v
            .as_array()
            .ok_or_else(|| json::type_err("inputs.predictions", "an array of layers", preds_v))?;
        let mut predictions = Vec::with_capacity(items.len());
        for (i, p) in items.iter().enumerate() {
            let field = format!("inputs.predictions[{i}]");
            let a = read_array(p, &field, limits, base_dir)?;
            predictions.push(into_layer(a, &field)?);
        }
        let nc_hint = predictions
            .first()
            .and_then(|p| p.shape()[4].checked_sub(5));
        let config_v = top.get("config").cloned().unwrap_or_else(|| json!({}));
        let config = Config::from_json(&config_v, nc_hint, limits)?;
        let inputs = Inputs {
            targets,
            predictions,
        };
        inputs.validate(&config)?;
        let expected = match top.get("expected") {
            None | Some(Value::Null) => None,
            Some(e) => Some(Answer::from_json(e)?),
        };
        Ok(Case {
            name,
            config,
            inputs,
            expected,
        })
    }

    /// The case as JSON (without `expected` unless `with_expected`).
    pub fn to_json(&self, with_expected: bool) -> Value {
        let preds: Vec<Value> = self
            .inputs
            .predictions
            .iter()
            .map(|p| {
                let a = p.to_f64();
                json!({"shape": a.shape(), "data": a.iter().copied().collect::<Vec<f64>>()})
            })
            .collect();
        let mut v = json!({
            "format": FORMAT,
            "name": self.name,
            "config": self.config.to_json(),
            "inputs": {
                "targets": {"shape": self.inputs.targets.shape(), "data": self.inputs.targets.iter().copied().collect::<Vec<f64>>()},
                "predictions": preds,
            },
        });
        if with_expected && let Some(e) = &self.expected {
            v["expected"] = serde_json::to_value(e).unwrap_or(Value::Null);
        }
        v
    }
}

/// A prediction layer from an array read in the precision it was stored in.
fn into_layer(a: NpyArray, field: &str) -> Result<Prediction> {
    let bad = |s: &[usize]| {
        Error::shape(
            field,
            "[bs, na, ny, nx, 5 + nc] (five dimensions)",
            format!("{s:?}"),
        )
    };
    let s = a.shape().to_vec();
    Ok(match a {
        NpyArray::F32(a) => Prediction::F32(a.into_dimensionality::<Ix5>().map_err(|_| bad(&s))?),
        NpyArray::F64(a) => Prediction::F64(a.into_dimensionality::<Ix5>().map_err(|_| bad(&s))?),
    })
}

/// Reads an array given inline (`{"shape", "data"}`) or by reference (`{"npy": FILE}`).
///
/// A reference must be a relative path without `..` components, resolved in `base_dir`
/// (defined here: a case from elsewhere must not read files outside its own directory).
/// Shared by cases and answers ([`crate::conformance`]).
pub(crate) fn read_array(
    v: &Value,
    field: &str,
    limits: &Limits,
    base_dir: Option<&Path>,
) -> Result<NpyArray> {
    if let Some(obj) = v.as_object()
        && let Some(file) = obj.get("npy")
    {
        let npy_field = json::join(field, "npy");
        let name = json::string(file, &npy_field)?;
        let rel = Path::new(name);
        let inside = !name.is_empty()
            && rel.components().all(|c| {
                matches!(
                    c,
                    std::path::Component::Normal(_) | std::path::Component::CurDir
                )
            });
        if !inside {
            return Err(Error::invalid(
                npy_field,
                format!("{:?}", json::shorten(name)),
                "must be a relative path inside the case's directory (no `..`, no absolute path)",
            ));
        }
        let dir = base_dir.unwrap_or_else(|| Path::new("."));
        return crate::npy::read(&dir.join(rel), field, limits);
    }
    Ok(NpyArray::F64(array::parse(v, field, limits)?))
}
