//! The case format of spec section 10: one JSON document with a configuration, inputs and
//! (in fixtures) the expected answer, read with the validation of spec section 8.

use std::path::{Path, PathBuf};

use ndarray::{Array2, Ix2, Ix5};
use serde_json::{Map, Value, json};

use crate::answer::{Answer, read_expected};
use crate::array::Limits;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::inputs::{Inputs, Prediction, target_warning};
use crate::json;
use crate::npy::{NpyArray, read_value};

/// A whole case: configuration, inputs and, in fixtures, the expected answer.
///
/// ```
/// use soft_objectness::{Case, Limits};
/// let text = r#"{"format": "soft-objectness-case/1", "config": {"nc": 1,
///   "anchors": {"shape": [1, 1, 2], "data": [1.0, 1.0]}},
///   "inputs": {"targets": {"shape": [1, 6], "data": [0, 0, 0.5, 0.5, 0.5, 0.5]},
///   "predictions": [{"shape": [1, 1, 2, 2, 6], "data": [
///     0,0,0,0,0,0, 0,0,0,0,0,0, 0,0,0,0,0,0, 0,0,0,0,0,0]}]}}"#;
/// let case = Case::from_json_str(text, None, &Limits::default()).unwrap();
/// assert_eq!(case.inputs.batch_size(), 1);
/// assert!(case.warnings.is_empty());
/// ```
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
    /// What the reader noticed without refusing the case (spec section 10): unknown top-level
    /// keys, targets that look like pixel coordinates. Empty for a case built in memory.
    pub warnings: Vec<String>,
}

impl Case {
    /// The format tag every case carries.
    pub const FORMAT: &'static str = "soft-objectness-case/1";

    /// The top-level keys of a case; any other earns a warning. `description`, `generator`
    /// and `coverage` are the fixtures' metadata (docs/fixtures.md), free-form and never read.
    pub const KEYS: [&'static str; 8] = [
        "format",
        "name",
        "config",
        "inputs",
        "expected",
        "description",
        "generator",
        "coverage",
    ];

    /// Reads and validates a case file (`.json`); `{"npy": FILE}` arrays are resolved beside
    /// it. The file's size is checked against [`Limits::max_json_bytes`] before it is read.
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be read, [`Error::JsonTooLarge`] for a file over the
    /// limit, [`Error::Json`] (line 1, column 1) for a file that is not UTF-8 text, then as
    /// [`Case::from_json_str`].
    pub fn load(path: impl AsRef<Path>, limits: &Limits) -> Result<Case> {
        let path = path.as_ref();
        let text = crate::array::read_json_file(path, limits)?;
        let dir = path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        Case::from_json_str(&text, Some(&dir), limits)
    }

    /// Parses a case from JSON text and validates it; `{"npy": FILE}` array references are
    /// resolved relative to `base_dir` (the current directory when `None`).
    ///
    /// # Errors
    /// [`Error::JsonTooLarge`] when the text is longer than [`Limits::max_json_bytes`]
    /// (checked before parsing), malformed JSON ([`Error::Json`] with line and column), then
    /// as [`Case::from_value`].
    pub fn from_json_str(text: &str, base_dir: Option<&Path>, limits: &Limits) -> Result<Case> {
        let v = crate::array::parse_json(text, limits)?;
        Case::from_value(&v, base_dir, limits)
    }

    /// Builds and validates a case from a parsed JSON value; `{"npy": FILE}` array references
    /// are resolved relative to `base_dir` (the current directory when `None`).
    ///
    /// # Errors
    /// An unknown format, any field of the wrong type, unknown `config` keys, every rule of
    /// spec section 8, and the errors of the answer reader for `expected`.
    pub fn from_value(v: &Value, base_dir: Option<&Path>, limits: &Limits) -> Result<Case> {
        let top = json::object(v, "(case)")?;
        check_format(top)?;
        let name = match top.get("name") {
            Some(n) => json::string(n, "name")?.to_string(),
            None => String::new(),
        };
        let (targets, predictions) = read_inputs(top, base_dir, limits)?;
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
            Some(e) => Some(read_expected(e, base_dir, limits)?),
        };
        let mut warnings = json::unknown_keys(top, "case", &Case::KEYS);
        warnings.extend(target_warning(inputs.targets.view()));
        Ok(Case {
            name,
            config,
            inputs,
            expected,
            warnings,
        })
    }

    /// The case as JSON, predictions inline (without `expected` unless `with_expected`).
    ///
    /// # Errors
    /// [`Error::Json`] when `expected` cannot be written as JSON.
    pub fn to_json(&self, with_expected: bool) -> Result<Value> {
        let predictions = self.inputs.predictions.iter().map(inline).collect();
        let expected = self.expected.as_ref().filter(|_| with_expected);
        case_json(self, predictions, expected)
    }
}

/// A prediction layer as an inline `{"shape", "data"}` array (f64, row-major).
pub(crate) fn inline(p: &Prediction) -> Value {
    let a = p.to_f64();
    json!({"shape": a.shape(), "data": a.iter().copied().collect::<Vec<f64>>()})
}

/// A case as JSON (spec section 10), with `predictions` given explicitly (inline arrays or
/// `{"npy": FILE}` references) and `expected` when given: the one writer of the format.
pub(crate) fn case_json(
    case: &Case,
    predictions: Vec<Value>,
    expected: Option<&Answer>,
) -> Result<Value> {
    let t = &case.inputs.targets;
    let mut v = json!({
        "format": Case::FORMAT,
        "name": case.name,
        "config": case.config.to_json(),
        "inputs": {
            "targets": {"shape": t.shape(), "data": t.iter().copied().collect::<Vec<f64>>()},
            "predictions": predictions,
        },
    });
    if let Some(e) = expected {
        v["expected"] = serde_json::to_value(e)?;
    }
    Ok(v)
}

/// The `format` key: present and [`Case::FORMAT`].
fn check_format(top: &Map<String, Value>) -> Result<()> {
    let f = top.get("format").ok_or_else(|| Error::Missing {
        field: "format".into(),
    })?;
    let s = json::string(f, "format")?;
    if s != Case::FORMAT {
        return Err(Error::UnknownValue {
            field: "format".into(),
            value: json::shorten(s),
            accepted: Case::FORMAT.into(),
        });
    }
    Ok(())
}

/// The `inputs` object: the targets `[nt, 6]` (an empty array of any shape is no targets)
/// and one prediction layer per item of `predictions`.
fn read_inputs(
    top: &Map<String, Value>,
    base_dir: Option<&Path>,
    limits: &Limits,
) -> Result<(Array2<f64>, Vec<Prediction>)> {
    let inputs_v = top.get("inputs").ok_or_else(|| Error::Missing {
        field: "inputs".into(),
    })?;
    let im = json::object(inputs_v, "inputs")?;
    let targets_v = im.get("targets").ok_or_else(|| Error::Missing {
        field: "inputs.targets".into(),
    })?;
    let targets = read_value(targets_v, "inputs.targets", base_dir, limits)?.into_f64();
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
        let a = read_value(p, &field, base_dir, limits)?;
        predictions.push(into_layer(a, &field)?);
    }
    Ok((targets, predictions))
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

#[cfg(test)]
mod tests {
    use super::*;

    impl Case {
        fn from_json_str_default(text: &str) -> Result<Case> {
            Case::from_json_str(text, None, &Limits::default())
        }
    }

    fn one_box(extra: &str, xywh: &str) -> String {
        format!(
            r#"{{"format": "soft-objectness-case/1", {extra}"config": {{"nc": 1,
              "anchors": {{"shape": [1, 1, 2], "data": [1.0, 1.0]}}}},
              "inputs": {{"targets": {{"shape": [1, 6], "data": [0, 0, {xywh}]}},
              "predictions": [{{"shape": [1, 1, 2, 2, 6], "data": [{}]}}]}}}}"#,
            vec!["0"; 24].join(", ")
        )
    }

    #[test]
    fn unknown_top_level_keys_and_pixel_targets_warn() {
        let plain = Case::from_json_str_default(&one_box("", "0.5, 0.5, 0.5, 0.5")).unwrap();
        assert!(plain.warnings.is_empty(), "{:?}", plain.warnings);
        let meta = one_box(
            r#""description": "d", "coverage": [], "#,
            "0.5, 0.5, 0.5, 0.5",
        );
        assert!(
            Case::from_json_str_default(&meta)
                .unwrap()
                .warnings
                .is_empty()
        );
        let typo =
            Case::from_json_str_default(&one_box(r#""expectd": {}, "#, "0.5, 0.5, 0.5, 0.5"))
                .unwrap();
        assert_eq!(typo.warnings.len(), 1);
        assert!(
            typo.warnings[0].contains("`expectd`"),
            "{:?}",
            typo.warnings
        );
        let pixels = Case::from_json_str_default(&one_box("", "320, 240, 0.5, 64")).unwrap();
        assert_eq!(pixels.warnings.len(), 1);
        assert!(
            pixels.warnings[0].contains("row 0 (x) is 320"),
            "{:?}",
            pixels.warnings
        );
    }

    #[test]
    fn non_finite_tokens_are_refused_naming_field_and_index() {
        let text = one_box("", "0.5, NaN, 0.5, 0.5");
        let e = Case::from_json_str_default(&text).unwrap_err().to_string();
        assert!(
            e.contains("inputs.targets.data[3]") && e.contains("NaN"),
            "{e}"
        );
        let text = one_box("", "0.5, 0.5, -Infinity, 0.5");
        let e = Case::from_json_str_default(&text).unwrap_err().to_string();
        assert!(
            e.contains("inputs.targets.data[4]") && e.contains("-inf"),
            "{e}"
        );
    }
}
