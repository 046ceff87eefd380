//! Writing cases to disk: file stems, the case JSON, and `.npy` prediction files, never over an
//! existing file unless asked to.

use std::path::{Path, PathBuf};

use serde_json::json;

use crate::case::{Case, case_json, inline};
use crate::error::{Error, Result};
use crate::inputs::Prediction;

/// The file-name stem of a case: its name up to the first `:` or space, made safe.
pub(crate) fn stem(case: &Case) -> String {
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

/// How [`write_case`] writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WriteOptions {
    /// Each prediction layer in a `.npy` file of its own (f32 or f64 as stored), referenced
    /// from the JSON, instead of inline.
    pub npy: bool,
    /// Overwrite files that already exist; without it an existing file is an error and
    /// nothing of the case is written.
    pub force: bool,
}

/// Writes `case` as `DIR/STEM.json` (its `expected` included when present); with
/// [`WriteOptions::npy`], each prediction layer goes to `DIR/STEM.p{l}.npy` and the JSON
/// references it. `dir` is created when missing. Returns the files written, the JSON first.
///
/// ```
/// use soft_objectness::casegen::{Cases, Generate, WriteOptions, generate, write_case};
/// use soft_objectness::{Case, Limits};
/// let dir = std::env::temp_dir().join(format!("write-case-doc-{}", std::process::id()));
/// let g = generate(&Generate::new(Cases::Edge, 1)).unwrap().remove(0);
/// let opts = WriteOptions { npy: true, force: false };
/// let files = write_case(&g.case, &dir, &g.stem, &opts).unwrap();
/// assert_eq!(Case::load(&files[0], &Limits::default()).unwrap().inputs, g.case.inputs);
/// assert!(write_case(&g.case, &dir, &g.stem, &opts).is_err()); // never over a file
/// std::fs::remove_dir_all(&dir).unwrap();
/// ```
///
/// # Errors
/// [`Error::Io`] naming the first file of the case that exists already (without `force`),
/// before anything is written, or a folder or file that cannot be written.
pub fn write_case(
    case: &Case,
    dir: &Path,
    stem: &str,
    opts: &WriteOptions,
) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).map_err(|source| Error::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    if !opts.force {
        refuse_existing(dir, stem)?;
    }
    let json_path = dir.join(format!("{stem}.json"));
    let mut files = vec![json_path.clone()];
    let mut preds = Vec::with_capacity(case.inputs.predictions.len());
    for (l, p) in case.inputs.predictions.iter().enumerate() {
        if !opts.npy {
            preds.push(inline(p));
            continue;
        }
        let name = format!("{stem}.p{l}.npy");
        let path = dir.join(&name);
        match p {
            Prediction::F32(a) => crate::npy::write(&path, &a.clone().into_dyn())?,
            Prediction::F64(a) => crate::npy::write(&path, &a.clone().into_dyn())?,
        }
        files.push(path);
        preds.push(json!({ "npy": name }));
    }
    let v = case_json(case, preds, case.expected.as_ref())?;
    let mut text = serde_json::to_string(&v)?;
    text.push('\n');
    std::fs::write(&json_path, text).map_err(|source| Error::Io {
        path: json_path.clone(),
        source,
    })?;
    Ok(files)
}

/// An error naming the first file of case `stem` already in `dir` (`STEM.json`, or
/// `STEM.pL.npy` for the `.npy` layers).
fn refuse_existing(dir: &Path, stem: &str) -> Result<()> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(()); // nothing there yet
    };
    let (json, npy) = (format!("{stem}.json"), format!("{stem}.p"));
    let mut existing: Vec<String> = entries
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|f| *f == json || (f.starts_with(&npy) && f.ends_with(".npy")))
        .collect();
    existing.sort();
    match existing.first() {
        None => Ok(()),
        Some(f) => Err(Error::Io {
            path: dir.join(f),
            source: std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                "already exists; overwrite with `force` (softobj gen --force), or choose \
                 another folder",
            ),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::array::Limits;
    use crate::casegen::{CaseSpace, random_case};

    #[test]
    fn written_files_load_back_and_are_not_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let c = random_case(&CaseSpace::default(), 0, 2).unwrap();
        for npy in [false, true] {
            let stem = if npy { "b" } else { "a" };
            let opts = WriteOptions { npy, force: false };
            let files = write_case(&c, dir.path(), stem, &opts).unwrap();
            assert_eq!(files.len(), if npy { 1 + c.config.nl() } else { 1 });
            let back = Case::load(&files[0], &Limits::default()).unwrap();
            assert_eq!(back.inputs.targets, c.inputs.targets);
            for (x, y) in back.inputs.predictions.iter().zip(&c.inputs.predictions) {
                assert_eq!(x.to_f64(), y.to_f64());
            }
            assert_eq!(back.config, c.config);
            let err = write_case(&c, dir.path(), stem, &opts).unwrap_err();
            assert!(err.to_string().contains(&format!("{stem}.")), "{err}");
            let forced = WriteOptions { npy, force: true };
            assert_eq!(write_case(&c, dir.path(), stem, &forced).unwrap(), files);
        }
    }
}
