//! The case format of spec section 10: one JSON document with a configuration, inputs and
//! (in fixtures) the expected answer, read with the validation of spec section 8.

use std::path::{Path, PathBuf};

use ndarray::{Array2, Ix2, Ix5};
use serde_json::{Value, json};

use crate::answer::Answer;
use crate::array::Limits;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::json;
use crate::npy::NpyArray;

// The in-memory inputs live in [`crate::inputs`]; these paths stay valid.
pub use crate::inputs::{Inputs, MAX_COORD, MAX_LOGIT, Prediction, target_warning};
pub(crate) use crate::npy::read_value as read_array;

/// The format tag every case carries.
pub const FORMAT: &str = "soft-objectness-case/1";

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
    /// What the reader noticed without refusing the case (spec section 10): unknown top-level
    /// keys, targets that look like pixel coordinates. Empty for a case built in memory.
    pub warnings: Vec<String>,
}

/// The top-level keys of a case; any other earns a warning. `description`, `generator` and
/// `coverage` are the fixtures' metadata (docs/fixtures.md), free-form and never read.
pub const CASE_KEYS: [&str; 8] = [
    "format",
    "name",
    "config",
    "inputs",
    "expected",
    "description",
    "generator",
    "coverage",
];

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
        let v = json::parse(text)?;
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
        let file = std::fs::File::open(path).map_err(io)?;
        let text = crate::array::read_json_text(file, &path.display().to_string(), limits)?;
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
            Some(e) => Some(Answer::from_json_with(e, limits, base_dir)?),
        };
        let mut warnings = json::unknown_keys(top, "case", &CASE_KEYS);
        warnings.extend(target_warning(inputs.targets.view()));
        Ok(Case {
            name,
            config,
            inputs,
            expected,
            warnings,
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

#[cfg(test)]
mod tests {
    use super::*;

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
        let plain = Case::from_json_str(&one_box("", "0.5, 0.5, 0.5, 0.5")).unwrap();
        assert!(plain.warnings.is_empty(), "{:?}", plain.warnings);
        let meta = one_box(
            r#""description": "d", "coverage": [], "#,
            "0.5, 0.5, 0.5, 0.5",
        );
        assert!(Case::from_json_str(&meta).unwrap().warnings.is_empty());
        let typo =
            Case::from_json_str(&one_box(r#""expectd": {}, "#, "0.5, 0.5, 0.5, 0.5")).unwrap();
        assert_eq!(typo.warnings.len(), 1);
        assert!(
            typo.warnings[0].contains("`expectd`"),
            "{:?}",
            typo.warnings
        );
        let pixels = Case::from_json_str(&one_box("", "320, 240, 0.5, 64")).unwrap();
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
        let e = Case::from_json_str(&text).unwrap_err().to_string();
        assert!(
            e.contains("inputs.targets.data[3]") && e.contains("NaN"),
            "{e}"
        );
        let text = one_box("", "0.5, 0.5, -Infinity, 0.5");
        let e = Case::from_json_str(&text).unwrap_err().to_string();
        assert!(
            e.contains("inputs.targets.data[4]") && e.contains("-inf"),
            "{e}"
        );
    }
}
