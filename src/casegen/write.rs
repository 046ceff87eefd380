//! Writing cases to disk: file stems, the case JSON, and `.npy` prediction files.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::answer::Answer;
use crate::case::{Case, FORMAT};
use crate::error::{Error, Result};
use crate::inputs::Prediction;

/// The file-name stem of a case: its name up to the first `:` or space, made safe.
pub fn stem(case: &Case) -> String {
    let key: String = case
        .name
        .split([':', ' '])
        .next()
        .unwrap_or("")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if key.is_empty() { "case".into() } else { key }
}

/// A case as JSON (spec section 10), with `predictions` given explicitly (inline arrays or
/// `{"npy": FILE}` references) and `expected` when given.
pub fn case_json(case: &Case, predictions: Vec<Value>, expected: Option<&Answer>) -> Result<Value> {
    let t = &case.inputs.targets;
    let mut v = json!({
        "format": FORMAT,
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

/// Writes `case` as `DIR/STEM.json`; with `npy`, each prediction layer goes to
/// `DIR/STEM.p{l}.npy` (f32 or f64 as stored) and the JSON references it. Returns the files
/// written, the JSON first.
///
/// # Errors
/// [`Error::Io`] when a file cannot be written.
pub fn write_case(
    case: &Case,
    dir: &Path,
    stem: &str,
    npy: bool,
    expected: Option<&Answer>,
) -> Result<Vec<PathBuf>> {
    let json_path = dir.join(format!("{stem}.json"));
    let mut files = vec![json_path.clone()];
    let mut preds = Vec::with_capacity(case.inputs.predictions.len());
    for (l, p) in case.inputs.predictions.iter().enumerate() {
        if npy {
            let name = format!("{stem}.p{l}.npy");
            let path = dir.join(&name);
            match p {
                Prediction::F32(a) => crate::npy::write(&path, &a.clone().into_dyn())?,
                Prediction::F64(a) => crate::npy::write(&path, &a.clone().into_dyn())?,
            }
            files.push(path);
            preds.push(json!({ "npy": name }));
        } else {
            let a = p.to_f64();
            preds
                .push(json!({"shape": a.shape(), "data": a.iter().copied().collect::<Vec<f64>>()}));
        }
    }
    let v = case_json(case, preds, expected)?;
    let mut text = serde_json::to_string(&v)?;
    text.push('\n');
    std::fs::write(&json_path, text).map_err(|source| Error::Io {
        path: json_path.clone(),
        source,
    })?;
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::casegen::{GenOptions, random_case};

    #[test]
    fn written_files_load_back() {
        let dir = tempfile::tempdir().unwrap();
        let c = random_case(&GenOptions::default(), 2).unwrap();
        for npy in [false, true] {
            let stem = if npy { "b" } else { "a" };
            let files = write_case(&c, dir.path(), stem, npy, None).unwrap();
            assert_eq!(files.len(), if npy { 1 + c.config.nl() } else { 1 });
            let back = Case::load(&files[0]).unwrap();
            assert_eq!(back.inputs.targets, c.inputs.targets);
            for (x, y) in back.inputs.predictions.iter().zip(&c.inputs.predictions) {
                assert_eq!(x.to_f64(), y.to_f64());
            }
            assert_eq!(back.config, c.config);
        }
    }
}
